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

/// Longest text each kind of field accepts, in characters (docs/securite-limites.md). Far above
/// any real use, low enough that no field can fill a page or a hashed document on its own.
pub mod limits {
    /// Names of people, organisations and réservataires.
    pub const NAME: usize = 200;
    /// Titles of conventions and clauses.
    pub const TITLE: usize = 300;
    /// Identifiers chosen by a user (clause ids).
    pub const IDENTIFIER: usize = 64;
    /// A signatory's mandate (« par délégation du préfet, arrêté n° … »).
    pub const MANDATE: usize = 500;
    /// Reasons and motives of a decision or a version.
    pub const REASON: usize = 2_000;
    /// A comment, an objection or its resolution.
    pub const COMMENT: usize = 10_000;
    /// The text of one clause.
    pub const CLAUSE: usize = 20_000;
    /// An e-mail address (RFC 5321).
    pub const EMAIL: usize = 254;
}

/// Checks a free text: at most `max` characters and no control characters other than line
/// breaks and tabs when `multiline`. The error names the field in the user's words (`label`).
pub fn check_text(value: &str, label: &str, max: usize, multiline: bool) -> Result<(), String> {
    let count = value.chars().count();
    if count > max {
        return Err(format!(
            "{label} : {count} caractères, au plus {max} sont admis"
        ));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(format!("{label} : caractère de contrôle non admis"));
    }
    Ok(())
}

/// Checks an e-mail address: one `@`, a local part of at most 64 characters without spaces or
/// quotes, a domain of letters, digits and hyphens in dot-separated labels ending in a name of
/// two letters or more. Stricter than RFC 5322 on purpose: the address goes into mail headers.
pub fn check_email(value: &str, label: &str) -> Result<(), String> {
    let email = value.trim();
    let refused = || {
        Err(format!(
            "{label} : « {} » n'est pas une adresse électronique valide (forme attendue : prenom.nom@exemple.gouv.fr)",
            email.chars().take(limits::EMAIL).collect::<String>()
        ))
    };
    if email.is_empty() || email.len() > limits::EMAIL {
        return refused();
    }
    let Some((local, domain)) = email.split_once('@') else {
        return refused();
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    if local_ok && domain_ok {
        Ok(())
    } else {
        refused()
    }
}

/// Parses a percentage as every form, body and file writes it: digits, optionally a comma or a
/// point and at most 4 decimals, between 0 and 100 (`25`, `25,5`, `0.0125`). Exponents (`1e2`),
/// signs and spaces inside are refused, so that one value has one written form. Returns the
/// value without trailing zeros; the error says what is wrong, without the field's name.
pub fn parse_percent(value: &str) -> Result<rust_decimal::Decimal, String> {
    let text = value.trim();
    let shown: String = text.chars().take(40).collect();
    let (integer, decimals) = match text.find([',', '.']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(integer) || decimals.is_some_and(|d| !digits(d)) {
        return Err(format!(
            "« {shown} » n'est pas un pourcentage (chiffres, puis éventuellement une virgule ou un point et au plus 4 décimales, ex. 25,5)"
        ));
    }
    if decimals.is_some_and(|d| d.trim_end_matches('0').len() > 4) {
        return Err(format!("« {shown} » a plus de 4 décimales"));
    }
    let canonical = match decimals {
        Some(d) => format!("{integer}.{d}"),
        None => integer.to_owned(),
    };
    let parsed: rust_decimal::Decimal = canonical
        .parse()
        .map_err(|_| format!("« {shown} » n'est pas compris entre 0 et 100"))?;
    if parsed > rust_decimal::Decimal::ONE_HUNDRED {
        return Err(format!("« {shown} » n'est pas compris entre 0 et 100"));
    }
    Ok(parsed.normalize())
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

/// "de" before a party's name, elided before a vowel: « la proposition de Commune de Rivolay »,
/// « la proposition d'Action Logement Services », « la proposition d'État – contingent
/// préfectoral » (never « de État »), contracted before « le » and « les »: « la proposition du
/// bailleur » (never « de le bailleur »).
pub fn de_name(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("le ") {
        return format!("du {rest}");
    }
    if let Some(rest) = name.strip_prefix("les ") {
        return format!("des {rest}");
    }
    let vowel = name
        .chars()
        .next()
        .is_some_and(|c| "aeiouyàâéèêëîïôùûAEIOUYÀÂÉÈÊËÎÏÔÙÛ".contains(c));
    if vowel {
        format!("d'{name}")
    } else {
        format!("de {name}")
    }
}

/// A message as a user reads it, on its own: a capital first letter and a final full stop.
/// The services word their messages as fragments (« adresse électronique : obligatoire ») so
/// that they can be quoted inside another sentence; a banner, an error page, the API's
/// `message` and a field's error show them through this function.
pub fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?', '…']) {
        out.push('.');
    }
    out
}

/// « 1 ligne », « 0 ligne », « 12 lignes »: a count and its noun (or noun phrase) in the French
/// singular below 2, the plural otherwise.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n < 2 { one } else { many })
}

/// Writes « 23,3 logement(s) » as « 23,3 logements » and « 1 ménage(s) » as « 1 ménage »: a
/// word ending in « (s) » takes the singular after a number below 2, the plural otherwise
/// (the solver's report keeps « (s) », its contract; the pages speak French).
pub fn agree_units(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("(s)") {
        let before = &rest[..at];
        let word_start = before.rfind(|c: char| !c.is_alphabetic()).map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
        let number = before[..word_start]
            .trim_end()
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .map(|n| n.replace(',', "."))
            .and_then(|n| n.parse::<f64>().ok());
        out.push_str(before);
        if number.is_none_or(|n| n.abs() >= 2.0) {
            out.push('s');
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out
}

/// Replaces, in one pass from left to right, each occurrence of an id by its words; where two
/// ids start at the same place, the first listed wins (list the longest first).
pub fn replace_words(text: &str, words: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (id, name) in words {
            if !id.is_empty() && rest.starts_with(id.as_str()) {
                out.push_str(name);
                rest = &rest[id.len()..];
                continue 'scan;
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_count_takes_the_french_singular_below_two() {
        use super::count;
        assert_eq!(count(0, "ligne", "lignes"), "0 ligne");
        assert_eq!(count(1, "droit a", "droits ont"), "1 droit a");
        assert_eq!(count(2, "droit a", "droits ont"), "2 droits ont");
    }

    #[test]
    fn units_agree_with_their_number() {
        use super::agree_units;
        assert_eq!(
            agree_units("Hors QPV, 23,3 logement(s) manquants ; écart de 1 ménage(s)"),
            "Hors QPV, 23,3 logements manquants ; écart de 1 ménage"
        );
        assert_eq!(agree_units("0,5 logement(s)"), "0,5 logement");
        assert_eq!(agree_units("2 logement(s)"), "2 logements");
        assert_eq!(agree_units("des logement(s)"), "des logements");
        assert_eq!(agree_units("rien à accorder"), "rien à accorder");
        assert_eq!(agree_units("(s)"), "s");
    }

    #[test]
    fn de_is_elided_before_a_vowel() {
        use super::de_name;
        assert_eq!(
            de_name("Action Logement Services"),
            "d'Action Logement Services"
        );
        assert_eq!(
            de_name("État – contingent préfectoral"),
            "d'État – contingent préfectoral"
        );
        assert_eq!(de_name("Commune de Rivolay"), "de Commune de Rivolay");
        // The home page names the bailleur's party « le bailleur ».
        assert_eq!(de_name("le bailleur"), "du bailleur");
        assert_eq!(de_name("les communes"), "des communes");
        assert_eq!(de_name("la commune"), "de la commune");
        assert_eq!(de_name("Les Essarts-sur-Saône"), "de Les Essarts-sur-Saône");
        assert_eq!(de_name(""), "de ");
    }

    #[test]
    fn a_message_reads_as_a_sentence() {
        use super::sentence;
        assert_eq!(
            sentence("adresse électronique : obligatoire"),
            "Adresse électronique : obligatoire."
        );
        assert_eq!(sentence("écart trop grand."), "Écart trop grand.");
        assert_eq!(
            sentence(" « abc » n'est pas un numéro "),
            "« abc » n'est pas un numéro."
        );
        assert_eq!(sentence("Déjà fait !"), "Déjà fait !");
        assert_eq!(sentence(""), "");
    }

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
    fn percentages_have_one_syntax() {
        use rust_decimal::Decimal;
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(parse_percent("25"), Ok(d("25")));
        assert_eq!(parse_percent(" 25,5 "), Ok(d("25.5")));
        assert_eq!(parse_percent("25.50"), Ok(d("25.5")));
        assert_eq!(parse_percent("0,0125"), Ok(d("0.0125")));
        assert_eq!(parse_percent("100"), Ok(d("100")));
        assert_eq!(parse_percent("12.345600"), Ok(d("12.3456")));
        assert_eq!(parse_percent("25,5").unwrap().to_string(), "25.5");
        for refused in [
            "1e2", "1E1", "-5", "+5", "", " ", "25 %", "2 5", ",5", "5,", "25,5,1", "0x10", "NaN",
            "inf", "١٢",
        ] {
            let e = parse_percent(refused).unwrap_err();
            assert!(e.contains("n'est pas un pourcentage"), "{refused:?}: {e}");
        }
        assert!(
            parse_percent("12,34567")
                .unwrap_err()
                .contains("4 décimales")
        );
        assert!(
            parse_percent("100,01")
                .unwrap_err()
                .contains("entre 0 et 100")
        );
        assert!(parse_percent("99999999999999999999999999999999").is_err());
    }

    #[test]
    fn texts_have_a_length_limit_and_no_control_characters() {
        assert!(check_text("Préfet du Rhône", "nom", 200, false).is_ok());
        let long = "é".repeat(201);
        let e = check_text(&long, "nom du réservataire", 200, false).unwrap_err();
        assert_eq!(
            e,
            "nom du réservataire : 201 caractères, au plus 200 sont admis"
        );
        assert!(check_text(&"é".repeat(200), "nom", 200, false).is_ok());
        assert!(check_text("a\u{0}b", "nom", 200, false).is_err());
        assert!(check_text("ligne 1\nligne 2", "nom", 200, false).is_err());
        assert!(check_text("ligne 1\r\nligne 2\t.", "texte", 200, true).is_ok());
    }

    #[test]
    fn email_addresses_are_checked() {
        for ok in [
            "claire.dupont@rhone.gouv.fr",
            "a+b@x-y.fr",
            " secretariat@cil.test ",
        ] {
            assert!(check_email(ok, "adresse électronique").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "claire",
            "claire@",
            "@rhone.gouv.fr",
            "claire@rhone",
            "claire@@rhone.fr",
            "claire dupont@rhone.fr",
            "claire@rhone..fr",
            "claire@-rhone.fr",
            "claire@rhone.f",
            "claire@rhone.fr\r\nBcc: x@y.fr",
            "\"x\"@rhone.fr",
            ".claire@rhone.fr",
            "clai..re@rhone.fr",
            "claire@rhone.fr>",
        ] {
            let e = check_email(bad, "adresse électronique").unwrap_err();
            assert!(e.starts_with("adresse électronique : "), "{bad:?}: {e}");
        }
        let long = format!("{}@x.fr", "a".repeat(65));
        assert!(check_email(&long, "adresse").is_err());
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
