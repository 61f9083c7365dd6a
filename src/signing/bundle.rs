//! The exported bundle: everything needed to check one convention offline, in one JSON file.
//!
//! A bundle carries its own public key, so it proves integrity (nothing was edited since the
//! platform sealed it) but not origin: someone who rewrites a bundle can re-seal it with a key
//! of their own. [`verify_bundle_against`] closes that gap when the verifier knows the
//! platform's published key.

use serde_json::Value;

use super::audit::AuditEvent;
use super::verify::{Finding, StoredSignature, StoredVersion, Verification, verify_convention};

/// The only format this code reads and writes.
pub const BUNDLE_FORMAT: &str = "convention-flux-bundle/1";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Bundle {
    /// [`BUNDLE_FORMAT`].
    pub format: String,
    pub exported_at: String,
    /// The platform's public key, hex.
    pub public_key: String,
    /// A free description for the reader (id, title, state, parties); `id`, when an integer,
    /// is checked against every row.
    pub convention: Value,
    pub versions: Vec<StoredVersion>,
    pub signatures: Vec<StoredSignature>,
    pub audit: Vec<AuditEvent>,
    /// The signed PDFs of every locked version: the whole convention and each réservataire's
    /// annex. Absent from the bundles written before them, which verify as they did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<BundleDocument>,
}

/// A signed PDF in a bundle: exactly the bytes the platform renders for that version and
/// scope, which `verify` checks like `verify FICHIER.pdf` and against the bundle's records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BundleDocument {
    /// The version's number.
    pub version: i64,
    /// The version's SHA-256.
    pub version_hash: String,
    /// The réservataire whose annex this is; absent for the whole convention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annexe: Option<String>,
    /// « convention-2-version-3.pdf », « convention-2-version-3-annexe-etat.pdf ».
    pub file_name: String,
    /// The SHA-256 of the PDF.
    pub sha256: String,
    /// The PDF, base64.
    pub pdf_base64: String,
}

/// A bundle file that cannot be read, with where.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "paquet de vérification illisible : JSON mal formé ou tronqué à la ligne {line}, colonne {column}"
    )]
    Syntax { line: usize, column: usize },
    #[error(
        "paquet de vérification illisible à {path} (ligne {line}, colonne {column}) : {message}"
    )]
    Data {
        /// Where in the bundle, e.g. `versions[3].record.party` (`.` is the whole file).
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// Reads a bundle, naming the JSON path of the first thing that does not fit.
pub fn parse_bundle(text: &str) -> Result<Bundle, BundleError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let bundle: Bundle = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        bundle_error(path, &inner)
    })?;
    deserializer
        .end()
        .map_err(|e| bundle_error(".".to_owned(), &e))?;
    Ok(bundle)
}

fn bundle_error(path: String, e: &serde_json::Error) -> BundleError {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    match e.classify() {
        Category::Data => BundleError::Data {
            path,
            line,
            column,
            message: french_data_error(e),
        },
        Category::Syntax | Category::Eof | Category::Io => BundleError::Syntax { line, column },
    }
}

/// serde's messages are English; the common ones are translated, the rest quoted.
fn french_data_error(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let message = full
        .rfind(" at line ")
        .map_or(full.as_str(), |i| &full[..i]);
    let quoted = |rest: &str| rest.split('`').nth(1).unwrap_or(rest).to_owned();
    if let Some(rest) = message.strip_prefix("missing field ") {
        format!("champ « {} » manquant", quoted(rest))
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        match rest.split_once(", expected ") {
            Some((found, expected)) => {
                format!("type inattendu ({found}) ; attendu : {expected}")
            }
            None => format!("type inattendu ({rest})"),
        }
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        format!("valeur inattendue ({rest})")
    } else {
        format!("donnée invalide ({message})")
    }
}

/// Checks a bundle on its own: format, then [`verify_convention`] with the bundle's public key,
/// then that every row belongs to the convention the bundle describes.
pub fn verify_bundle(bundle: &Bundle) -> Verification {
    let described = bundle.convention.get("id").and_then(Value::as_i64);
    if bundle.format != BUNDLE_FORMAT {
        // Another format may mean other rules: checking it with these would mislead.
        return Verification {
            findings: vec![Finding {
                convention_id: described.unwrap_or(0),
                location: "en-tête du paquet".to_owned(),
                problem: format!(
                    "format inconnu « {} » : ce vérificateur ne lit que « {BUNDLE_FORMAT} » ; \
                     rien d'autre n'a été vérifié",
                    bundle.format
                ),
            }],
            ..Verification::default()
        };
    }
    let mut verification = verify_convention(
        &bundle.public_key,
        &bundle.versions,
        &bundle.signatures,
        &bundle.audit,
    );
    if let Some(id) = described {
        let mut foreign: Vec<i64> = bundle
            .versions
            .iter()
            .map(|v| v.convention_id)
            .chain(bundle.signatures.iter().map(|s| s.record.convention_id))
            .chain(bundle.audit.iter().map(|e| e.convention_id))
            .filter(|&c| c != id)
            .collect();
        foreign.sort_unstable();
        foreign.dedup();
        for other in foreign {
            verification.findings.push(Finding {
                convention_id: id,
                location: "contenu du paquet".to_owned(),
                problem: format!(
                    "contient des lignes de la convention {other} alors qu'il décrit la \
                     convention {id}"
                ),
            });
        }
    }
    verification
}

/// [`verify_bundle`], and the bundle's key must be `trusted_public_key_hex` (the key the
/// platform publishes): otherwise its seals prove nothing about who made them.
pub fn verify_bundle_against(bundle: &Bundle, trusted_public_key_hex: &str) -> Verification {
    let mut verification = verify_bundle(bundle);
    if !bundle
        .public_key
        .trim()
        .eq_ignore_ascii_case(trusted_public_key_hex.trim())
    {
        verification.findings.insert(
            0,
            Finding {
                convention_id: bundle
                    .convention
                    .get("id")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                location: "clé publique du paquet".to_owned(),
                problem: format!(
                    "n'est pas la clé publiée de la plateforme ({}) : les sceaux de ce paquet \
                     ne prouvent pas qu'il vient de la plateforme",
                    trusted_public_key_hex.trim()
                ),
            },
        );
    }
    verification
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::PlatformKey;
    use crate::signing::fixtures::{Fixture, fixture};
    use serde_json::json;

    fn bundle_of(f: Fixture) -> Bundle {
        Bundle {
            format: BUNDLE_FORMAT.to_owned(),
            exported_at: "2026-12-01T10:00:00.000Z".to_owned(),
            public_key: f.key.public_key_hex(),
            convention: json!({"id": 7, "titre": "Convention 2027", "etat": "signee"}),
            versions: f.versions,
            signatures: f.signatures,
            audit: f.events,
            documents: Vec::new(),
        }
    }

    #[test]
    fn exported_bundle_round_trips_and_verifies() {
        let bundle = bundle_of(fixture());
        let text = serde_json::to_string_pretty(&bundle).unwrap();
        let parsed = parse_bundle(&text).unwrap();
        let v = verify_bundle(&parsed);
        assert!(v.is_ok(), "{}", v.to_french_text());
        assert_eq!(
            (v.checked_versions, v.checked_signatures, v.checked_events),
            (3, 4, 9)
        );
        let key = PlatformKey::from_seed([42; 32]).public_key_hex();
        assert!(verify_bundle_against(&parsed, &key.to_uppercase()).is_ok());
    }

    #[test]
    fn a_bundle_written_before_the_documents_reads_and_verifies() {
        let mut value = serde_json::to_value(bundle_of(fixture())).unwrap();
        assert!(value.get("documents").is_none(), "no empty list written");
        let parsed = parse_bundle(&value.to_string()).unwrap();
        assert!(parsed.documents.is_empty());
        assert!(verify_bundle(&parsed).is_ok());
        value["documents"] = json!([{"version": 3, "version_hash": "ab", "file_name": "c.pdf",
                                     "sha256": "cd", "pdf_base64": ""}]);
        let parsed = parse_bundle(&value.to_string()).unwrap();
        assert_eq!(parsed.documents[0].annexe, None);
        assert_eq!(parsed.documents[0].file_name, "c.pdf");
    }

    #[test]
    fn unknown_format_is_refused_without_other_checks() {
        let mut bundle = bundle_of(fixture());
        bundle.format = "convention-flux-bundle/2".to_owned();
        bundle.versions[0].hash = "0".repeat(64);
        let v = verify_bundle(&bundle);
        assert_eq!(v.findings.len(), 1, "{v:#?}");
        assert_eq!(v.findings[0].location, "en-tête du paquet");
        assert_eq!(v.findings[0].convention_id, 7);
        assert!(v.findings[0].problem.contains("convention-flux-bundle/2"));
        assert!(!v.is_ok());
    }

    #[test]
    fn a_version_edited_in_the_file_is_named() {
        let text = serde_json::to_string_pretty(&bundle_of(fixture())).unwrap();
        let edited = text.replacen(r#"\"30.00\""#, r#"\"35.00\""#, 1);
        assert_ne!(edited, text);
        let v = verify_bundle(&parse_bundle(&edited).unwrap());
        assert_eq!(v.findings.len(), 1, "{v:#?}");
        assert_eq!(v.findings[0].location, "version n° 3 (id 13)");
    }

    #[test]
    fn rows_of_another_convention_are_named() {
        let mut bundle = bundle_of(fixture());
        bundle.convention = json!({"id": 9});
        let v = verify_bundle(&bundle);
        assert_eq!(v.findings.len(), 1, "{v:#?}");
        assert_eq!(v.findings[0].location, "contenu du paquet");
        assert!(v.findings[0].problem.contains("convention 7"));
    }

    #[test]
    fn a_bundle_resealed_with_another_key_passes_alone_but_not_against_the_published_key() {
        let f = fixture();
        let published = f.key.public_key_hex();
        let forger = PlatformKey::from_seed([9; 32]);
        let mut bundle = bundle_of(f);
        for s in &mut bundle.signatures {
            s.record.mandate = "Mandat inventé".to_owned();
            s.seal = forger.seal(&s.record.canonical());
        }
        bundle.public_key = forger.public_key_hex();
        assert!(verify_bundle(&bundle).is_ok());
        let v = verify_bundle_against(&bundle, &published);
        assert_eq!(v.findings.len(), 1, "{v:#?}");
        assert_eq!(v.findings[0].location, "clé publique du paquet");
    }

    #[test]
    fn parse_errors_name_the_json_path() {
        let mut value = serde_json::to_value(bundle_of(fixture())).unwrap();
        value["versions"][1]["number"] = json!("2");
        let err = parse_bundle(&value.to_string()).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(&err, BundleError::Data { path, .. } if path == "versions[1].number"),
            "{message}"
        );
        assert!(message.contains("type inattendu"), "{message}");

        let mut value = serde_json::to_value(bundle_of(fixture())).unwrap();
        value["signatures"][2]["record"]
            .as_object_mut()
            .unwrap()
            .remove("mandate");
        let err = parse_bundle(&value.to_string()).unwrap_err();
        assert_eq!(
            err.to_string().split(" (ligne").next().unwrap(),
            "paquet de vérification illisible à signatures[2].record"
        );
        assert!(
            err.to_string().ends_with("champ « mandate » manquant"),
            "{err}"
        );

        let text = serde_json::to_string(&bundle_of(fixture())).unwrap();
        let err = parse_bundle(&text[..text.len() / 2]).unwrap_err();
        assert!(matches!(err, BundleError::Syntax { .. }), "{err:?}");
        let err = parse_bundle(&format!("{text} {{}}")).unwrap_err();
        assert!(matches!(err, BundleError::Syntax { .. }), "{err:?}");
    }
}
