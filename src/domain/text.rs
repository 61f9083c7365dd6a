//! Text helpers shared by the parsers: French spreadsheets write « Année », « ANNEE » or
//! « annee » for the same column, and « Oui », « O » or « 1 » for the same answer.

/// Lower-case, accent-free, `_`-separated form of a label: `« Année de construction »` →
/// `annee_de_construction`. Used to match column headers and identifiers.
pub fn fold_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut pending_separator = false;
    for c in label.chars() {
        let folded = fold_accented(c);
        if folded.is_empty() && !c.is_ascii_alphanumeric() {
            // '+' is meaningful in « T6+ » and is kept; other punctuation separates words.
            if c == '+' {
                out.push('+');
                pending_separator = false;
            } else if !out.is_empty() {
                pending_separator = true;
            }
            continue;
        }
        if pending_separator {
            out.push('_');
            pending_separator = false;
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push_str(folded);
        }
    }
    out
}

/// The ASCII lower-case form of an accented letter, `""` for anything else.
fn fold_accented(c: char) -> &'static str {
    match c {
        'a' | 'A' | 'à' | 'À' | 'â' | 'Â' | 'ä' | 'Ä' | 'á' | 'Á' | 'ã' | 'Ã' | 'å' | 'Å' => {
            "a"
        }
        'ç' | 'Ç' => "c",
        'é' | 'É' | 'è' | 'È' | 'ê' | 'Ê' | 'ë' | 'Ë' => "e",
        'î' | 'Î' | 'ï' | 'Ï' | 'í' | 'Í' | 'ì' | 'Ì' => "i",
        'ô' | 'Ô' | 'ö' | 'Ö' | 'ó' | 'Ó' | 'ò' | 'Ò' | 'õ' | 'Õ' => "o",
        'ù' | 'Ù' | 'û' | 'Û' | 'ü' | 'Ü' | 'ú' | 'Ú' => "u",
        'ÿ' | 'Ÿ' | 'ý' | 'Ý' => "y",
        'ñ' | 'Ñ' => "n",
        'œ' | 'Œ' => "oe",
        'æ' | 'Æ' => "ae",
        _ => "",
    }
}

/// Parses a yes/no answer as spreadsheets write it.
pub fn parse_yes_no(value: &str) -> Option<bool> {
    match fold_label(value).as_str() {
        "oui" | "o" | "1" | "vrai" | "true" | "yes" | "y" | "x" => Some(true),
        "non" | "n" | "0" | "faux" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// Parses a date written `AAAA-MM-JJ` or, as French spreadsheets export it, `JJ/MM/AAAA`.
pub fn parse_date(value: &str) -> Option<chrono::NaiveDate> {
    let value = value.trim();
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(value, "%d/%m/%Y"))
        .ok()
        .filter(|d| (1800..=2200).contains(&chrono::Datelike::year(d)))
}

/// The reason of a file error in French: the system's own message is in English (« No such
/// file or directory (os error 2) »), which a user of a French tool should not have to read.
pub fn io_reason(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let reason = match error.kind() {
        ErrorKind::NotFound => "fichier ou dossier introuvable",
        ErrorKind::PermissionDenied => "accès refusé",
        ErrorKind::IsADirectory => "c'est un dossier, pas un fichier",
        ErrorKind::NotADirectory => "un élément du chemin n'est pas un dossier",
        ErrorKind::AlreadyExists => "le fichier existe déjà",
        ErrorKind::InvalidData => "contenu illisible (texte UTF-8 attendu)",
        ErrorKind::StorageFull => "disque plein",
        ErrorKind::ReadOnlyFilesystem => "système de fichiers en lecture seule",
        ErrorKind::UnexpectedEof => "fin de fichier inattendue",
        ErrorKind::AddrInUse => "adresse déjà utilisée",
        ErrorKind::AddrNotAvailable => "adresse non disponible sur cette machine",
        _ => return format!("erreur du système ({error})"),
    };
    reason.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_are_told_in_french() {
        use std::io::{Error, ErrorKind};
        assert_eq!(
            io_reason(&Error::from(ErrorKind::NotFound)),
            "fichier ou dossier introuvable"
        );
        assert_eq!(
            io_reason(&Error::from(ErrorKind::PermissionDenied)),
            "accès refusé"
        );
        let missing = std::fs::read_to_string("/chemin/qui/n/existe/pas.json").unwrap_err();
        assert_eq!(io_reason(&missing), "fichier ou dossier introuvable");
        let dir = std::fs::read_to_string(std::env::temp_dir()).unwrap_err();
        assert_eq!(io_reason(&dir), "c'est un dossier, pas un fichier");
        // Kinds with no French wording keep the system's message, marked as such.
        let other = io_reason(&Error::other("panne"));
        assert_eq!(other, "erreur du système (panne)");
    }

    #[test]
    fn labels_fold_case_accents_and_punctuation() {
        assert_eq!(fold_label("Année de construction"), "annee_de_construction");
        assert_eq!(fold_label("  RPLS_ID "), "rpls_id");
        assert_eq!(fold_label("Hors-flux"), "hors_flux");
        assert_eq!(fold_label("Réservataire"), "reservataire");
        assert_eq!(fold_label("T6+"), "t6+");
        assert_eq!(fold_label("Œuvre"), "oeuvre");
    }

    #[test]
    fn yes_no_answers() {
        assert_eq!(parse_yes_no("Oui"), Some(true));
        assert_eq!(parse_yes_no("NON"), Some(false));
        assert_eq!(parse_yes_no("0"), Some(false));
        assert_eq!(parse_yes_no("peut-être"), None);
    }

    #[test]
    fn dates_in_both_forms() {
        let d = chrono::NaiveDate::from_ymd_opt(2025, 3, 9).unwrap();
        assert_eq!(parse_date("2025-03-09"), Some(d));
        assert_eq!(parse_date("09/03/2025"), Some(d));
        assert_eq!(parse_date("2025-02-30"), None);
        assert_eq!(parse_date("9 mars 2025"), None);
        assert_eq!(parse_date("0025-03-09"), None);
    }
}
