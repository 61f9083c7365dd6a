//! `convention-flux verify FICHIER.pdf`: checks offline that a PDF is exactly the rendering of
//! a sealed version — the embedded version text has the hash the PDF declares, each signature's
//! seal is the platform's, and rendering the version again from the embedded inputs gives the
//! same bytes. Every problem is a French sentence; the checks go on after the first one.

use super::{INPUTS_NAME, RenderInputs, VERSION_NAME, attachments, generator, render_text};
use crate::signing::{sha256_hex, verify_seal};

/// What the verification of a PDF found.
#[derive(Debug, Clone, Default)]
pub struct PdfCheck {
    /// Convention and version numbers, when the attachments could be read.
    pub convention: Option<i64>,
    pub version: Option<i64>,
    /// The version hash the PDF declares.
    pub hash: Option<String>,
    pub checked_signatures: usize,
    /// The embedded public key was used: no trusted key was given.
    pub own_key: Option<String>,
    pub problems: Vec<String>,
}

impl PdfCheck {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report for a person.
    pub fn to_french_text(&self) -> String {
        let mut text = String::new();
        if let (Some(c), Some(v), Some(h)) = (self.convention, self.version, &self.hash) {
            text.push_str(&format!(
                "Document de la convention n° {c}, version n° {v}, empreinte SHA-256 {h}.\n"
            ));
        }
        if let Some(key) = &self.own_key {
            text.push_str(&format!(
                "Attention : aucune clé publique de référence (--public-key) ; les sceaux sont vérifiés avec la clé que le PDF déclare, {key}.\n"
            ));
        }
        if self.is_ok() {
            let signatures = match self.checked_signatures {
                0 => "aucune signature à vérifier".to_owned(),
                1 => "1 signature vérifiée".to_owned(),
                n => format!("{n} signatures vérifiées"),
            };
            text.push_str(&format!(
                "Aucune anomalie : le texte joint a l'empreinte déclarée, {signatures}, et le rendu de la version est identique à ce fichier, octet pour octet.\n"
            ));
        } else {
            text.push_str(&crate::domain::text::agree_units(&format!(
                "{} anomalie(s) :\n",
                self.problems.len()
            )));
            for p in &self.problems {
                text.push_str(&format!("- {p}\n"));
            }
        }
        text
    }
}

/// Verifies `pdf` against the platform key `trusted_key` (hex), or the key the PDF declares
/// when none is given (then said in the report).
pub fn verify_pdf(pdf: &[u8], trusted_key: Option<&str>) -> PdfCheck {
    let mut check = PdfCheck::default();
    let files = match attachments(pdf) {
        Ok(f) => f,
        Err(e) => {
            check.problems.push(e.to_string());
            return check;
        }
    };
    let inputs: RenderInputs = match serde_json::from_slice(&files.inputs) {
        Ok(i) => i,
        Err(e) => {
            check.problems.push(format!(
                "la pièce jointe {INPUTS_NAME} n'est pas lisible ({e}) : elle a été modifiée"
            ));
            return check;
        }
    };
    let declared = inputs.sources.hash.clone();
    check.hash = Some(declared.clone());
    let actual = sha256_hex(&files.version);
    if actual != declared {
        check.problems.push(format!(
            "le texte de la version joint ({VERSION_NAME}) a l'empreinte SHA-256 {actual}, et non {declared} que le document déclare : il a été modifié"
        ));
    }
    let Ok(version_text) = String::from_utf8(files.version) else {
        check.problems.push(format!(
            "le texte de la version joint ({VERSION_NAME}) n'est pas de l'UTF-8"
        ));
        return check;
    };
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&version_text) {
        check.convention = v["convention"].as_i64();
        check.version = v["number"].as_i64();
    }
    seals(&mut check, &inputs, trusted_key);
    match render_text(&version_text, &inputs) {
        Ok(again) if again == pdf => {}
        Ok(again) => check
            .problems
            .push(difference(pdf, &again, &inputs.generator)),
        Err(e) => check.problems.push(format!(
            "le document ne peut pas être rendu à nouveau à partir des pièces jointes : {e}"
        )),
    }
    check
}

/// Each signature: on this version, its seal the platform's.
fn seals(check: &mut PdfCheck, inputs: &RenderInputs, trusted_key: Option<&str>) {
    let declared_key = inputs.sources.public_key.trim();
    let key = match trusted_key.map(str::trim) {
        Some(k) => {
            if !k.eq_ignore_ascii_case(declared_key) {
                check.problems.push(format!(
                    "la clé publique que le PDF déclare ({declared_key}) n'est pas celle de la plateforme ({k})"
                ));
            }
            k.to_owned()
        }
        None => {
            check.own_key = Some(declared_key.to_owned());
            declared_key.to_owned()
        }
    };
    for s in &inputs.sources.signatures {
        check.checked_signatures += 1;
        let who = format!(
            "la signature de {} ({})",
            s.record.party_name, s.record.signer_name
        );
        if s.record.version_hash != inputs.sources.hash {
            check.problems.push(format!(
                "{who} porte sur l'empreinte {}, et non sur celle de cette version",
                s.record.version_hash
            ));
        }
        if let Err(e) = verify_seal(&key, &s.record.canonical(), &s.seal) {
            check
                .problems
                .push(format!("{who} : le sceau ne correspond pas ({e})"));
        }
    }
}

/// Where the file and its rendering part.
fn difference(file: &[u8], again: &[u8], rendered_by: &str) -> String {
    let first = file
        .iter()
        .zip(again)
        .position(|(a, b)| a != b)
        .unwrap_or(file.len().min(again.len()));
    let mut text = format!(
        "le fichier n'est pas exactement le rendu de la version et des données jointes : il en diffère à partir de l'octet n° {} ({} octets dans le fichier, {} dans le rendu)",
        first + 1,
        file.len(),
        again.len()
    );
    let here = generator();
    if rendered_by != here {
        text.push_str(&format!(
            " ; il a été produit par « {rendered_by} » et vérifié avec « {here} », dont la mise en page peut différer"
        ));
    }
    text
}
