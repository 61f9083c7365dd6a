//! Reading a spreadsheet's CSV export as French users produce it: `;` or `,` (or tab) as
//! separator, UTF-8 with or without BOM or Windows-1252, headers in any case and with or
//! without accents (DESIGN §4.0).

use csv::StringRecord;

use super::{FileError, RowError, excerpt};
use crate::domain::InvalidValue;
use crate::domain::text::fold_label;

/// The file decoded to text, with what was detected.
#[derive(Debug, Clone)]
pub struct DecodedText {
    pub text: String,
    pub encoding: &'static str,
}

/// Decodes the bytes of an uploaded file: UTF-8 (a BOM is dropped) when they are valid UTF-8,
/// Windows-1252 otherwise (the encoding Excel uses for « CSV (séparateur : point-virgule) »).
pub fn decode(bytes: &[u8]) -> Result<DecodedText, FileError> {
    if bytes.is_empty() {
        return Err(FileError::new("le fichier est vide"));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(FileError::new(
            "le fichier est un classeur Excel (XLSX) ou une archive, pas un CSV : dans le tableur, choisissez « Enregistrer sous » puis « CSV (séparateur : point-virgule) »",
        ));
    }
    if bytes.contains(&0) {
        return Err(FileError::new(
            "le fichier contient des données binaires (octet nul) : ce n'est pas un fichier texte CSV (UTF-16 n'est pas accepté : enregistrez en UTF-8 ou Windows-1252)",
        ));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let text = std::str::from_utf8(rest).map_err(|e| {
            FileError::new(format!(
                "le fichier annonce l'encodage UTF-8 (BOM) mais l'octet {} n'est pas de l'UTF-8 valide",
                e.valid_up_to() + 3
            ))
        })?;
        return Ok(DecodedText {
            text: text.to_owned(),
            encoding: "UTF-8 (avec BOM)",
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(DecodedText {
            text: text.to_owned(),
            encoding: "UTF-8",
        }),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            Ok(DecodedText {
                text: text.into_owned(),
                encoding: "Windows-1252",
            })
        }
    }
}

/// Picks the separator from the header line: the most frequent of `;`, `,` and tab outside
/// quotes (`;` when there is none, so that a one-column file still reads).
pub fn detect_separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let mut counts = [(b';', 0usize), (b',', 0), (b'\t', 0)];
    let mut in_quotes = false;
    for b in header.bytes() {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            for (sep, n) in &mut counts {
                if b == *sep {
                    *n += 1;
                }
            }
        }
    }
    counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(sep, n)| (*n, *sep == b';'))
        .map_or(b';', |(sep, _)| *sep)
}

/// A quoted value that does not close on the line where it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenQuote {
    /// Line of the opening quote, the header being line 1.
    pub line: u64,
    /// Position of the field on that line, from 0.
    pub field: usize,
    /// The line where the quote opens.
    pub text: String,
}

/// Finds the first quoted value that runs past the end of its line. No column of these files
/// holds a line break, and an unbalanced quote makes the reader swallow the following lines
/// into one value (a commune's name took in the next line, its EPCI came out empty and a row
/// was lost): such a file is refused rather than read. The quoting rule is the reader's: a
/// quote opens a value only at the start of a field, `""` inside it is a literal quote.
pub fn unbalanced_quote(text: &str, separator: u8) -> Option<OpenQuote> {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
    }
    let bytes = text.as_bytes();
    let (mut line, mut field, mut line_start) = (1u64, 0usize, 0usize);
    let mut opened = (1u64, 0usize, 0usize);
    let mut state = State::FieldStart;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if state == State::Quoted {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                // After the closing quote the reader keeps any other character literally.
                state = State::Unquoted;
            } else if b == b'\n' || b == b'\r' {
                break;
            }
        } else if b == separator {
            field += 1;
            state = State::FieldStart;
        } else if b == b'\n' {
            line += 1;
            field = 0;
            line_start = i + 1;
            state = State::FieldStart;
        } else if b == b'"' && state == State::FieldStart {
            opened = (line, field, line_start);
            state = State::Quoted;
        } else if b != b'\r' {
            state = State::Unquoted;
        }
        i += 1;
    }
    if state != State::Quoted {
        return None;
    }
    let (line, field, start) = opened;
    let rest = &text[start..];
    let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
    Some(OpenQuote {
        line,
        field,
        text: rest[..end].to_owned(),
    })
}

impl OpenQuote {
    /// The problem as a row error, the column named from the header line when it can be.
    pub fn row_error(&self, header_line: &str, separator: u8) -> RowError {
        let column = if self.line > 1 {
            header_line
                .split(char::from(separator))
                .nth(self.field)
                .map(|t| t.trim().trim_matches('"').to_owned())
                .unwrap_or_default()
        } else {
            String::new()
        };
        RowError::new(
            self.line,
            &column,
            &self.text,
            "guillemet ouvert et non refermé sur la même ligne : la suite du fichier serait lue comme faisant partie de cette valeur",
            "une valeur entre guillemets refermée sur sa ligne (retirez le guillemet isolé, ou doublez-le s'il fait partie de la valeur : \"\")",
        )
    }
}

pub fn separator_label(separator: u8) -> &'static str {
    match separator {
        b';' => "point-virgule",
        b',' => "virgule",
        b'\t' => "tabulation",
        _ => "autre",
    }
}

/// One expected column: its canonical name (DESIGN §4.0) and the other names it may bear
/// (RPLS export, older templates). Names are compared after `fold_label`.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
}

pub const fn required(name: &'static str, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec {
        name,
        aliases,
        required: true,
    }
}

pub const fn optional(name: &'static str, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec {
        name,
        aliases,
        required: false,
    }
}

/// The columns of a file matched against the expected ones.
#[derive(Debug)]
pub struct Header {
    /// For each expected column, its position in the file and its title as written there.
    found: Vec<Option<(usize, String)>>,
    width: usize,
}

impl Header {
    /// Matches the header record against `spec`; names every missing or repeated column.
    pub fn resolve(record: &StringRecord, spec: &[ColumnSpec]) -> Result<Self, FileError> {
        let titles: Vec<String> = record.iter().map(|t| t.trim().to_owned()).collect();
        let folded: Vec<String> = titles.iter().map(|t| fold_label(t)).collect();
        let mut found = Vec::with_capacity(spec.len());
        let mut problems = Vec::new();
        for column in spec {
            let matches: Vec<usize> = folded
                .iter()
                .enumerate()
                .filter(|(_, f)| {
                    **f == fold_label(column.name)
                        || column.aliases.iter().any(|a| **f == fold_label(a))
                })
                .map(|(i, _)| i)
                .collect();
            match matches.as_slice() {
                [] if column.required => problems.push(missing_column_message(column)),
                [] => found.push(None),
                [i] => found.push(Some((*i, titles[*i].clone()))),
                several => {
                    let names: Vec<String> = several
                        .iter()
                        .map(|i| format!("« {} » (colonne {})", excerpt(&titles[*i]), i + 1))
                        .collect();
                    problems.push(format!(
                        "la colonne « {} » apparaît plusieurs fois : {}",
                        column.name,
                        names.join(", ")
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(Self {
                found,
                width: titles.len(),
            })
        } else {
            // An unreadable header may be one huge line: quote a bounded part of it.
            const LISTED: usize = 30;
            let mut seen = titles
                .iter()
                .take(LISTED)
                .map(|t| format!("« {} »", excerpt(t)))
                .collect::<Vec<_>>()
                .join(", ");
            if titles.len() > LISTED {
                seen.push_str(&format!("… ({} colonnes en tout)", titles.len()));
            }
            Err(FileError::new(format!(
                "ligne 1 (en-tête) : {}. Colonnes lues : {seen}",
                problems.join(" ; ")
            )))
        }
    }
}

fn missing_column_message(column: &ColumnSpec) -> String {
    if column.aliases.is_empty() {
        format!("colonne obligatoire « {} » absente", column.name)
    } else {
        format!(
            "colonne obligatoire « {} » absente (noms acceptés : {}, {})",
            column.name,
            column.name,
            column.aliases.join(", ")
        )
    }
}

/// One data row being parsed: reads fields by expected-column index and records every
/// problem with its line, column and value.
pub struct Row<'a> {
    record: &'a StringRecord,
    header: &'a Header,
    pub line: u64,
    errors: &'a mut Vec<RowError>,
    failed: bool,
}

impl<'a> Row<'a> {
    pub fn new(
        record: &'a StringRecord,
        header: &'a Header,
        line: u64,
        errors: &'a mut Vec<RowError>,
    ) -> Self {
        let mut row = Self {
            record,
            header,
            line,
            errors,
            failed: false,
        };
        if record.len() > header.width {
            let extra = record.len() - header.width;
            row.fail(
                "",
                record.iter().skip(header.width).collect::<Vec<_>>().join(" | "),
                format!("{extra} champ(s) de plus que l'en-tête"),
                format!(
                    "{} champs comme l'en-tête (un séparateur dans une valeur doit être entre guillemets)",
                    header.width
                ),
            );
        }
        row
    }

    /// True when every field of the record is blank (a trailing `;;;;` line of a spreadsheet).
    pub fn is_blank(record: &StringRecord) -> bool {
        record.iter().all(|f| clean(f).is_empty())
    }

    /// The trimmed value of an expected column, `""` when the column or the field is absent.
    pub fn raw(&self, column: usize) -> &'a str {
        match &self.header.found[column] {
            Some((i, _)) => clean(self.record.get(*i).unwrap_or("")),
            None => "",
        }
    }

    pub fn title(&self, spec: &[ColumnSpec], column: usize) -> String {
        match &self.header.found[column] {
            Some((_, title)) => title.clone(),
            None => spec[column].name.to_owned(),
        }
    }

    /// A mandatory value, parsed.
    pub fn required<T>(
        &mut self,
        spec: &[ColumnSpec],
        column: usize,
        parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
    ) -> Option<T> {
        let value = self.raw(column);
        if value.is_empty() {
            let title = self.title(spec, column);
            let expected = parse("").err().map_or("une valeur", |e| e.expected);
            self.fail(
                &title,
                String::new(),
                "valeur obligatoire absente".into(),
                expected.into(),
            );
            return None;
        }
        self.parse_value(spec, column, value, parse)
    }

    /// An optional value: `Some(None)` when empty, `None` when present but invalid.
    pub fn optional<T>(
        &mut self,
        spec: &[ColumnSpec],
        column: usize,
        parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
    ) -> Option<Option<T>> {
        let value = self.raw(column);
        if value.is_empty() {
            return Some(None);
        }
        self.parse_value(spec, column, value, parse).map(Some)
    }

    fn parse_value<T>(
        &mut self,
        spec: &[ColumnSpec],
        column: usize,
        value: &str,
        parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
    ) -> Option<T> {
        match parse(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let title = self.title(spec, column);
                self.fail(
                    &title,
                    value.to_owned(),
                    "valeur invalide".into(),
                    e.expected.into(),
                );
                None
            }
        }
    }

    /// Records a problem on this row.
    pub fn fail(&mut self, column: &str, value: String, message: String, expected: String) {
        self.failed = true;
        self.errors
            .push(RowError::new(self.line, column, &value, message, expected));
    }

    /// Records a problem on the value of an expected column.
    pub fn fail_on(
        &mut self,
        spec: &[ColumnSpec],
        column: usize,
        message: String,
        expected: String,
    ) {
        let title = self.title(spec, column);
        let value = self.raw(column).to_owned();
        self.fail(&title, value, message, expected);
    }

    pub fn failed(&self) -> bool {
        self.failed
    }
}

/// Trims spaces, including the non-breaking ones spreadsheets put around numbers.
fn clean(field: &str) -> &str {
    field.trim_matches(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}')
}

/// Parses a whole number written with optional thousands spaces (`1 234`).
pub fn parse_count(value: &str) -> Result<i64, InvalidValue> {
    let digits: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
        .collect();
    digits
        .parse::<i64>()
        .ok()
        .filter(|n| (0..=10_000_000).contains(n))
        .ok_or(InvalidValue::expected(
            "un nombre entier positif ou nul (ex. 12)",
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected() {
        let utf8 = decode("année;typologie\n".as_bytes()).unwrap();
        assert_eq!(utf8.encoding, "UTF-8");
        let bom = decode(b"\xEF\xBB\xBFann\xC3\xA9e\n").unwrap();
        assert_eq!(bom.encoding, "UTF-8 (avec BOM)");
        assert_eq!(bom.text, "année\n");
        let cp1252 = decode(b"ann\xE9e;\x80\n").unwrap();
        assert_eq!(cp1252.encoding, "Windows-1252");
        assert_eq!(cp1252.text, "année;€\n");
    }

    #[test]
    fn non_csv_files_are_refused_with_a_reason() {
        assert!(decode(b"").unwrap_err().to_string().contains("vide"));
        assert!(
            decode(b"PK\x03\x04rest")
                .unwrap_err()
                .to_string()
                .contains("Excel")
        );
        assert!(decode(b"a\0b").unwrap_err().to_string().contains("binaire"));
        assert!(
            decode(b"\xEF\xBB\xBF\xE9t\xE9")
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
    }

    #[test]
    fn separators_are_detected_outside_quotes() {
        assert_eq!(detect_separator("a;b;c\n1;2;3"), b';');
        assert_eq!(detect_separator("a,b,c\n"), b',');
        assert_eq!(detect_separator("\"x;y\",b,c\n"), b',');
        assert_eq!(detect_separator("a\tb\n"), b'\t');
        assert_eq!(detect_separator("seule\n"), b';');
    }

    #[test]
    fn headers_match_aliases_and_name_missing_columns() {
        let spec = [
            required("rpls_id", &["identifiant_rpls"]),
            required("annee_construction", &[]),
            optional("hors_flux", &[]),
        ];
        let ok = StringRecord::from(vec!["Identifiant RPLS", "Année construction"]);
        let header = Header::resolve(&ok, &spec).unwrap();
        assert_eq!(header.found[0].as_ref().unwrap().0, 0);
        assert!(header.found[2].is_none());
        let missing = StringRecord::from(vec!["rpls"]);
        let error = Header::resolve(&missing, &spec).unwrap_err().to_string();
        assert!(error.contains("« rpls_id » absente"), "{error}");
        assert!(error.contains("« annee_construction » absente"), "{error}");
        let twice = StringRecord::from(vec!["rpls_id", "RPLS_ID", "annee_construction"]);
        let error = Header::resolve(&twice, &spec).unwrap_err().to_string();
        assert!(error.contains("plusieurs fois"), "{error}");
    }

    #[test]
    fn an_unbalanced_quote_is_found_on_the_line_where_it_opens() {
        let text = "commune;nom;epci\n69801;Bellecombe;200999803\n69802;\"Sainte-Foy;200999803\n69803;Lyon;200999803\n";
        let open = unbalanced_quote(text, b';').expect("unbalanced quote");
        assert_eq!((open.line, open.field), (3, 1));
        assert_eq!(open.text, "69802;\"Sainte-Foy;200999803");
        let error = open.row_error("commune;nom;epci", b';');
        assert_eq!((error.line, error.column.as_str()), (3, "nom"));
        // Two unbalanced quotes balance each other over the lines between: still refused,
        // at the first one.
        let text = "a;b\n1;\"x\n2;y\"\n3;z\n";
        assert_eq!(unbalanced_quote(text, b';').map(|o| o.line), Some(2));
        // Closed quotes, doubled quotes, a quote inside an unquoted value, CRLF: accepted.
        for fine in [
            "a;b\r\n\"1;2\";\"dit \"\"x\"\"\"\r\n3;4\r\n",
            "a,b\n1,l'\"île\"\n",
            "a;b\n\"\";2\n",
        ] {
            assert_eq!(unbalanced_quote(fine, fine.as_bytes()[1]), None, "{fine}");
        }
        assert_eq!(
            unbalanced_quote("a;b\n1;\"2", b';').map(|o| o.line),
            Some(2)
        );
    }

    #[test]
    fn quoted_values_are_bounded() {
        let long = "x".repeat(50_000);
        let error = RowError::new(2, &long, &long, "m", "e");
        assert!(error.value.chars().count() < 250, "{}", error.value.len());
        assert!(error.value.starts_with(&"x".repeat(200)));
        assert!(error.value.contains("50000 caractères"), "{}", error.value);
        assert!(error.column.chars().count() < 250);
        assert_eq!(RowError::new(2, "c", "court", "m", "e").value, "court");
        // Cut on a character, not inside one.
        let accents = "é".repeat(300);
        assert!(
            RowError::new(2, "", &accents, "m", "e")
                .value
                .starts_with(&"é".repeat(200))
        );
    }

    #[test]
    fn counts_accept_thousands_spaces() {
        assert_eq!(parse_count("1 234"), Ok(1234));
        assert_eq!(parse_count("1\u{a0}234"), Ok(1234));
        assert!(parse_count("-3").is_err());
        assert!(parse_count("2,5").is_err());
    }
}
