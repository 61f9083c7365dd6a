//! The report as readable JSON: indented like `serde_json::to_string_pretty`, with the fields in
//! their declared order, but a list of numbers (a row of the flux table, the columns of a group
//! of ties, a run `[first, last]`) kept on one line. One number per line made the metropolitan
//! report five times longer: 5.2 MB instead of 1.1 MB.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};

/// `value` as readable JSON (see the module).
///
/// # Errors
/// Those of `value`'s serialization.
pub fn to_readable_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let text = Rc::new(RefCell::new(Vec::new()));
    let formatter = NumbersOnOneLine {
        pretty: PrettyFormatter::new(),
        text: Rc::clone(&text),
        open: Vec::new(),
    };
    let mut serializer =
        serde_json::Serializer::with_formatter(Shared(Rc::clone(&text)), formatter);
    value.serialize(&mut serializer)?;
    drop(serializer);
    let bytes = std::mem::take(&mut *text.borrow_mut());
    // Only `serde_json` wrote, and whitespace was removed between numbers and brackets only.
    Ok(String::from_utf8(bytes).expect("JSON text is UTF-8"))
}

/// The output, shared by the serializer (which writes) and the formatter (which joins the lines
/// of a list of numbers once it is complete).
struct Shared(Rc<RefCell<Vec<u8>>>);

impl io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Open {
    Object,
    Array {
        /// Where the list starts in the output.
        start: usize,
        items: usize,
        /// Only numbers so far, or pairs of numbers.
        numbers: bool,
    },
}

struct NumbersOnOneLine {
    pretty: PrettyFormatter<'static>,
    text: Rc<RefCell<Vec<u8>>>,
    open: Vec<Open>,
}

impl NumbersOnOneLine {
    /// A value starts: a list holding anything but numbers is written one item per line.
    fn value(&mut self, number: bool) {
        if let Some(Open::Array { numbers, .. }) = self.open.last_mut() {
            *numbers &= number;
        }
    }
}

macro_rules! number {
    ($($method:ident: $t:ty),+) => {
        $(
            fn $method<W: ?Sized + io::Write>(&mut self, w: &mut W, value: $t) -> io::Result<()> {
                self.value(true);
                self.pretty.$method(w, value)
            }
        )+
    };
}

impl Formatter for NumbersOnOneLine {
    number!(
        write_i8: i8, write_i16: i16, write_i32: i32, write_i64: i64, write_i128: i128,
        write_u8: u8, write_u16: u16, write_u32: u32, write_u64: u64, write_u128: u128,
        write_f32: f32, write_f64: f64
    );

    fn write_number_str<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        value: &str,
    ) -> io::Result<()> {
        self.value(true);
        self.pretty.write_number_str(w, value)
    }

    fn write_null<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.value(false);
        self.pretty.write_null(w)
    }

    fn write_bool<W: ?Sized + io::Write>(&mut self, w: &mut W, value: bool) -> io::Result<()> {
        self.value(false);
        self.pretty.write_bool(w, value)
    }

    fn begin_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.value(false);
        self.pretty.begin_string(w)
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.pretty.write_string_fragment(w, fragment)
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        self.pretty.write_char_escape(w, escape)
    }

    fn write_byte_array<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        value: &[u8],
    ) -> io::Result<()> {
        self.value(false);
        self.pretty.write_byte_array(w, value)
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.value(false);
        self.pretty.write_raw_fragment(w, fragment)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.value(false);
        self.open.push(Open::Object);
        self.pretty.begin_object(w)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open.pop();
        self.pretty.end_object(w)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        // Whether a list inside a list keeps the outer one on one line is known at its end.
        let start = self.text.borrow().len();
        self.open.push(Open::Array {
            start,
            items: 0,
            numbers: true,
        });
        self.pretty.begin_array(w)
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if let Some(Open::Array { items, .. }) = self.open.last_mut() {
            *items += 1;
        }
        self.pretty.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array(w)?;
        let Some(Open::Array {
            start,
            items,
            numbers,
        }) = self.open.pop()
        else {
            return Ok(());
        };
        if numbers && items > 0 {
            let mut text = self.text.borrow_mut();
            let mut kept = start;
            for i in start..text.len() {
                let byte = text[i];
                if byte != b' ' && byte != b'\n' {
                    text[kept] = byte;
                    kept += 1;
                }
            }
            text.truncate(kept);
        }
        // A pair of numbers is a run of columns: it stays on its list's line.
        self.value(numbers && items == 2);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn lists_of_numbers_and_runs_stay_on_one_line_the_rest_is_indented() {
        let value = json!({
            "z": [[1, 2, 3], [4, 5, 6]],
            "a": [[0, 2], 5, [7, 10]],
            "n": [1.5, -2],
            "s": ["x", "y"],
            "o": [{"k": [1]}],
            "e": [],
            "m": [1, "x"],
        });
        let text = to_readable_json(&value).unwrap();
        let expected = concat!(
            "{\n",
            "  \"a\": [[0,2],5,[7,10]],\n",
            "  \"e\": [],\n",
            "  \"m\": [\n    1,\n    \"x\"\n  ],\n",
            "  \"n\": [1.5,-2],\n",
            "  \"o\": [\n    {\n      \"k\": [1]\n    }\n  ],\n",
            "  \"s\": [\n    \"x\",\n    \"y\"\n  ],\n",
            "  \"z\": [\n    [1,2,3],\n    [4,5,6]\n  ]\n",
            "}"
        );
        assert_eq!(text, expected);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
    }

    #[test]
    fn strings_keep_their_spaces_and_escapes() {
        let value = json!({"texte": "a b\n\"c\"", "liste": [" 1 ", "2"]});
        let text = to_readable_json(&value).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
        assert!(text.contains(r#""a b\n\"c\"""#), "{text}");
    }
}
