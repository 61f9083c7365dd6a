//! The report as readable JSON: indented like `serde_json::to_string_pretty`, with the fields in
//! their declared order, but a list of numbers (a row of the flux table, the columns of a group
//! of ties, a run `[first, last]`) kept on one line. One number per line made the metropolitan
//! report five times longer: 5.2 MB instead of 1.1 MB.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};

/// `value` as readable JSON (see the module).
///
/// # Errors
/// Those of `value`'s serialization.
pub fn to_readable_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let text = Rc::new(RefCell::new(Vec::new()));
    let formatter = NumbersOnOneLine {
        text: Rc::clone(&text),
        open: Vec::new(),
    };
    let mut serializer =
        serde_json::Serializer::with_formatter(Shared(Rc::clone(&text)), formatter);
    value.serialize(&mut serializer)?;
    drop(serializer);
    let bytes = std::mem::take(&mut *text.borrow_mut());
    // Only `serde_json` wrote, and line ends were placed between items only.
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
    Object {
        keys: bool,
    },
    Array {
        /// Where the list starts in the output.
        start: usize,
        items: usize,
        /// Still on one line: only numbers and pairs of numbers so far.
        one_line: bool,
    },
}

struct NumbersOnOneLine {
    text: Rc<RefCell<Vec<u8>>>,
    open: Vec<Open>,
}

const SPACES: &[u8] = &[b' '; 64];

/// A line end and the indentation of a value at `depth`, two spaces a level.
fn new_line(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    let mut width = 2 * depth;
    while width > 0 {
        let n = width.min(SPACES.len());
        out.extend_from_slice(&SPACES[..n]);
        width -= n;
    }
}

fn write_new_line<W: ?Sized + io::Write>(w: &mut W, depth: usize) -> io::Result<()> {
    let mut line = Vec::with_capacity(1 + 2 * depth);
    new_line(&mut line, depth);
    w.write_all(&line)
}

impl NumbersOnOneLine {
    /// A value that is not a number starts: the list holding it goes one item per line.
    fn not_a_number(&mut self) {
        let depth = self.open.len();
        if let Some(Open::Array {
            start,
            one_line: one_line @ true,
            ..
        }) = self.open.last_mut()
        {
            *one_line = false;
            let start = *start;
            let end = self.text.borrow().len();
            self.one_item_per_line(start, end, depth);
        }
    }

    /// Lays out again, one item per line at `depth`, the list written on one line from `start`
    /// to `end`: `[` then numbers and pairs of numbers, each followed by a comma but the last
    /// (or all, when the item after them is being written).
    fn one_item_per_line(&self, start: usize, end: usize, depth: usize) {
        let mut text = self.text.borrow_mut();
        let rest = text.split_off(end);
        let items = text.split_off(start + 1);
        let mut level = 0;
        let mut first = true;
        for piece in items.split(|&byte| {
            match byte {
                b'[' => level += 1,
                b']' => level -= 1,
                _ => {}
            }
            byte == b',' && level == 0
        }) {
            if !first {
                text.push(b',');
            }
            first = false;
            new_line(&mut text, depth);
            text.extend_from_slice(piece);
        }
        text.extend_from_slice(&rest);
    }
}

macro_rules! number {
    ($($method:ident: $t:ty),+) => {
        $(
            fn $method<W: ?Sized + io::Write>(&mut self, w: &mut W, value: $t) -> io::Result<()> {
                CompactFormatter.$method(w, value)
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
        CompactFormatter.write_number_str(w, value)
    }

    fn write_null<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.not_a_number();
        CompactFormatter.write_null(w)
    }

    fn write_bool<W: ?Sized + io::Write>(&mut self, w: &mut W, value: bool) -> io::Result<()> {
        self.not_a_number();
        CompactFormatter.write_bool(w, value)
    }

    fn begin_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        // Also called for the keys of an object, where no list is open.
        self.not_a_number();
        CompactFormatter.begin_string(w)
    }

    fn write_byte_array<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        value: &[u8],
    ) -> io::Result<()> {
        self.not_a_number();
        CompactFormatter.write_byte_array(w, value)
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.not_a_number();
        CompactFormatter.write_raw_fragment(w, fragment)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.not_a_number();
        self.open.push(Open::Object { keys: false });
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if let Some(Open::Object { keys: true }) = self.open.pop() {
            write_new_line(w, self.open.len())?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if let Some(Open::Object { keys }) = self.open.last_mut() {
            *keys = true;
        }
        if !first {
            w.write_all(b",")?;
        }
        write_new_line(w, self.open.len())
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        // Whether a list inside a list keeps the outer one on one line is known at its end.
        let start = self.text.borrow().len();
        self.open.push(Open::Array {
            start,
            items: 0,
            one_line: true,
        });
        w.write_all(b"[")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        let depth = self.open.len();
        let Some(Open::Array {
            items, one_line, ..
        }) = self.open.last_mut()
        else {
            return Ok(());
        };
        *items += 1;
        if !first {
            w.write_all(b",")?;
        }
        if *one_line {
            Ok(())
        } else {
            write_new_line(w, depth)
        }
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        let Some(Open::Array {
            start,
            items,
            one_line,
        }) = self.open.pop()
        else {
            return w.write_all(b"]");
        };
        if !one_line {
            write_new_line(w, self.open.len())?;
        }
        w.write_all(b"]")?;
        // A pair of numbers is a run of columns: it stays on its list's line. Anything else in
        // a list puts that list one item per line.
        if one_line && items == 2 {
            return Ok(());
        }
        let depth = self.open.len();
        if let Some(Open::Array {
            one_line: outer @ true,
            start: outer_start,
            ..
        }) = self.open.last_mut()
        {
            *outer = false;
            let outer_start = *outer_start;
            self.one_item_per_line(outer_start, start, depth);
        }
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
            "w": [1, [1, 2, 3]],
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
            "  \"w\": [\n    1,\n    [1,2,3]\n  ],\n",
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
