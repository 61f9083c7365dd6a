//! Writing the demo files as a French spreadsheet would export them: `;`, UTF-8, `\n`.

pub struct CsvWriter {
    text: String,
}

impl CsvWriter {
    pub fn new(header: &[&str]) -> Self {
        let mut writer = Self {
            text: String::new(),
        };
        writer.row(header);
        writer
    }

    /// The demo's values never hold a separator, a quote or a line break, so nothing is quoted.
    pub fn row(&mut self, fields: &[&str]) {
        debug_assert!(
            fields.iter().all(|f| !f.contains([';', '"', '\n', '\r'])),
            "a demo value needs quoting: {fields:?}"
        );
        self.text.push_str(&fields.join(";"));
        self.text.push('\n');
    }

    pub fn finish(self) -> String {
        self.text
    }
}

pub fn yes_no(value: bool) -> &'static str {
    if value { "oui" } else { "non" }
}
