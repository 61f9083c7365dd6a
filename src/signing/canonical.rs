//! Canonical JSON and SHA-256 identities.
//!
//! A version is identified by the SHA-256 of its text, so the same content must always produce
//! the same bytes, on any machine and in any year: object keys sorted by their UTF-8 bytes, no
//! insignificant whitespace, strings escaped exactly as serde_json escapes them, integers
//! written as-is. Floating-point numbers are refused rather than normalised: their text form
//! differs between libraries, and shares and objectives are decimals that must keep every digit
//! (DESIGN §5: `rust_decimal` serialised as strings).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// A value that has no canonical form, with the JSON path of the culprit.
#[derive(Debug, thiserror::Error)]
pub enum CanonicalError {
    /// A float (or an integer beyond 64 bits) somewhere in the value.
    #[error(
        "nombre non entier à {path} : les décimaux doivent être des chaînes (valeur : {number})"
    )]
    NonInteger {
        /// JSON Pointer (RFC 6901) of the number, « (racine) » for the value itself.
        path: String,
        number: String,
    },
    /// The Rust value could not be turned into JSON at all (a map with non-string keys…).
    #[error("valeur impossible à écrire en JSON : {0}")]
    Serialize(String),
}

/// The canonical text of `value`.
pub fn canonical_json(value: &Value) -> Result<String, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    let mut path = String::new();
    write_value(&mut out, value, &mut path)?;
    // Only valid UTF-8 was written: serde_json's escaper and ASCII punctuation.
    String::from_utf8(out).map_err(|e| CanonicalError::Serialize(e.to_string()))
}

/// The canonical text of any serialisable value (goes through `serde_json::Value`).
pub fn to_canonical<T: serde::Serialize>(value: &T) -> Result<String, CanonicalError> {
    let value =
        serde_json::to_value(value).map_err(|e| CanonicalError::Serialize(e.to_string()))?;
    canonical_json(&value)
}

/// SHA-256 of `bytes`, lowercase hexadecimal (64 characters).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

/// `path` is the JSON Pointer of `value`; it is only read when an error is reported, and is
/// restored to its entry length on return so siblings reuse the same buffer.
fn write_value(out: &mut Vec<u8>, value: &Value, path: &mut String) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if !(n.is_i64() || n.is_u64()) {
                return Err(CanonicalError::NonInteger {
                    path: display_path(path),
                    number: n.to_string(),
                });
            }
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::String(s) => write_string(out, s)?,
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                write_value(out, item, path)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // serde_json's map is ordered by key unless the `preserve_order` feature is switched
            // on somewhere in the dependency graph: sort explicitly so that can never change a hash.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key)?;
                out.push(b':');
                let len = path.len();
                path.push('/');
                path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                write_value(out, item, path)?;
                path.truncate(len);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(out: &mut Vec<u8>, s: &str) -> Result<(), CanonicalError> {
    serde_json::to_writer(&mut *out, s).map_err(|e| CanonicalError::Serialize(e.to_string()))
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(racine)".to_owned()
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_by_utf8_bytes_at_every_depth() {
        let value = json!({
            "b": 1, "a": {"z": 0, "é": 1, "B": 2}, "\u{E000}": 3, "😀": 4, "A": [{"y": 1, "x": 2}]
        });
        // Byte order, not UTF-16 order: U+E000 (EE 80 80) comes before U+1F600 (F0 9F 98 80),
        // whereas RFC 8785 (UTF-16 code units) would put the emoji first.
        assert_eq!(
            canonical_json(&value).unwrap(),
            "{\"A\":[{\"x\":2,\"y\":1}],\"a\":{\"B\":2,\"z\":0,\"é\":1},\"b\":1,\"\u{E000}\":3,\"😀\":4}"
        );
    }

    #[test]
    fn strings_are_escaped_like_serde_json_and_nothing_else() {
        let value = json!({"k\"ey": "a\"b\\c\n\t\u{1}é/€"});
        assert_eq!(
            canonical_json(&value).unwrap(),
            r#"{"k\"ey":"a\"b\\c\n\t\u0001é/€"}"#
        );
    }

    #[test]
    fn no_insignificant_whitespace_and_text_input_layout_is_irrelevant() {
        let spaced: Value =
            serde_json::from_str("{ \"b\" : [ 1 , 2 ,\n 3 ] ,\t\"a\" : null , \"c\": \" x \" }")
                .unwrap();
        assert_eq!(
            canonical_json(&spaced).unwrap(),
            r#"{"a":null,"b":[1,2,3],"c":" x "}"#
        );
    }

    #[test]
    fn integers_are_written_as_is_including_extremes() {
        let value = json!([0, -1, i64::MIN, u64::MAX, true, false, null]);
        assert_eq!(
            canonical_json(&value).unwrap(),
            format!("[0,-1,{},{},true,false,null]", i64::MIN, u64::MAX)
        );
    }

    #[test]
    fn a_float_is_refused_with_its_json_pointer() {
        let value = json!({"report": {"ok": 1, "x": 0.5}});
        let err = canonical_json(&value).unwrap_err();
        assert!(
            matches!(&err, CanonicalError::NonInteger { path, .. } if path == "/report/x"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "nombre non entier à /report/x : les décimaux doivent être des chaînes (valeur : 0.5)"
        );

        let in_array = json!({"a/b": [1, {"c~": 2.0}]});
        let err = canonical_json(&in_array).unwrap_err();
        assert!(
            matches!(&err, CanonicalError::NonInteger { path, .. } if path == "/a~1b/1/c~0"),
            "{err:?}"
        );

        let err = canonical_json(&json!(1.5)).unwrap_err();
        assert!(err.to_string().contains("à (racine)"), "{err}");
    }

    #[test]
    fn to_canonical_goes_through_serde_and_refuses_non_string_map_keys() {
        #[derive(serde::Serialize)]
        struct Share {
            reservataire: &'static str,
            share: rust_decimal::Decimal,
        }
        let share = Share {
            reservataire: "etat",
            share: rust_decimal::Decimal::new(2500, 2),
        };
        assert_eq!(
            to_canonical(&share).unwrap(),
            r#"{"reservataire":"etat","share":"25.00"}"#
        );

        let mut bad = std::collections::BTreeMap::new();
        bad.insert((1, 2), "x");
        assert!(matches!(
            to_canonical(&bad),
            Err(CanonicalError::Serialize(_))
        ));
        assert!(to_canonical(&1.25_f64).is_err());
    }

    #[test]
    fn hash_of_a_fixed_document_is_stable() {
        let document = json!({"parent": null, "number": 1, "shares": {"etat": "25.00", "commune-69801": "10.5"}, "titre": "Convention « flux »"});
        let canonical = canonical_json(&document).unwrap();
        let literal = r#"{"number":1,"parent":null,"shares":{"commune-69801":"10.5","etat":"25.00"},"titre":"Convention « flux »"}"#;
        assert_eq!(canonical, literal);
        // Computed outside Rust: printf '%s' "$literal" | sha256sum
        let expected = "32f3719110d25bcae477bd40ba1608ff4eb1ab4f73cef67d49415e4d442c33ed";
        assert_eq!(sha256_hex(literal.as_bytes()), expected);
        // And through sha2 directly, so `hex` is checked too.
        let direct: String = Sha256::digest(literal.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(direct, expected);
        assert_eq!(sha256_hex(canonical.as_bytes()), expected);
    }

    #[test]
    fn sha256_hex_of_empty_input_is_the_published_value() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
