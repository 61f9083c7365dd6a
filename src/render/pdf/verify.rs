//! `convention-flux verify FICHIER.pdf`: checks offline that a PDF is exactly the rendering of
//! a sealed version — the embedded version text has the hash the PDF declares, each signature's
//! seal is the platform's, and rendering the version again from the embedded inputs gives the
//! same bytes. Every problem is a French sentence; the checks go on after the first one.

use super::{
    INPUTS_FORMAT_1, INPUTS_NAME, RenderInputs, VERSION_NAME, attachments, generator, render_text,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::signing::{
    Bundle, Finding, PUBLIC_FORM, SignatureRecord, Verification, sha256_hex, verify_bundle,
    verify_bundle_against, verify_seal,
};

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
    let value: serde_json::Value = match serde_json::from_slice(&files.inputs) {
        Ok(v) => v,
        Err(e) => {
            check.problems.push(format!(
                "la pièce jointe {INPUTS_NAME} n'est pas lisible ({e}) : elle a été modifiée"
            ));
            return check;
        }
    };
    let legacy = value["format"] == INPUTS_FORMAT_1;
    let declared = value["sources"]["hash"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
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
    if legacy {
        legacy_seals(&mut check, &value, &declared, trusted_key);
        check.problems.push(format!(
            "ce PDF est au format antérieur « {INPUTS_FORMAT_1} », qui joignait les enregistrements de signature complets (adresses électroniques et IP, navigateurs) ; « {} » ne le rend plus à l'identique : demandez le document à nouveau à la plateforme, ou vérifiez-le avec le logiciel qui l'a produit (« {} »)",
            generator(),
            value["generator"].as_str().unwrap_or("?")
        ));
        return check;
    }
    let inputs: RenderInputs = match serde_json::from_value(value) {
        Ok(i) => i,
        Err(e) => {
            check.problems.push(format!(
                "la pièce jointe {INPUTS_NAME} n'est pas lisible ({e}) : elle a été modifiée"
            ));
            return check;
        }
    };
    let key = key_to_use(&mut check, &inputs.sources.public_key, trusted_key);
    for s in &inputs.sources.signatures {
        let record = &s.record;
        seal(
            &mut check,
            &key,
            (&record.party_name, &record.signer_name),
            (&record.version_hash, &declared),
            (&record.canonical(), &s.seal),
        );
        if record.form != PUBLIC_FORM {
            check.problems.push(format!(
                "la signature de {} ({}) n'est pas un extrait public « {PUBLIC_FORM} »",
                record.party_name, record.signer_name
            ));
        }
    }
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

/// The key the seals are checked with: `trusted_key`, or the one the PDF declares (said in
/// the report); a PDF declaring another key than the trusted one is a problem.
fn key_to_use(check: &mut PdfCheck, declared_key: &str, trusted_key: Option<&str>) -> String {
    let declared_key = declared_key.trim();
    match trusted_key.map(str::trim) {
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
    }
}

/// One signature: on this version (`hashes`: the signature's, the version's), its seal the
/// platform's (`sealed`: the canonical text, the seal).
fn seal(
    check: &mut PdfCheck,
    key: &str,
    (party, signer): (&str, &str),
    (signed_hash, version_hash): (&str, &str),
    (text, seal): (&str, &str),
) {
    check.checked_signatures += 1;
    let who = format!("la signature de {party} ({signer})");
    if signed_hash != version_hash {
        check.problems.push(format!(
            "{who} porte sur l'empreinte {signed_hash}, et non sur celle de cette version"
        ));
    }
    if let Err(e) = verify_seal(key, text, seal) {
        check
            .problems
            .push(format!("{who} : le sceau ne correspond pas ({e})"));
    }
}

/// The seals of a PDF of format `/1`, which embedded the whole signature records.
fn legacy_seals(
    check: &mut PdfCheck,
    inputs: &serde_json::Value,
    declared: &str,
    trusted_key: Option<&str>,
) {
    #[derive(serde::Deserialize)]
    struct Sealed {
        record: SignatureRecord,
        seal: String,
    }
    let key = key_to_use(
        check,
        inputs["sources"]["public_key"].as_str().unwrap_or_default(),
        trusted_key,
    );
    match serde_json::from_value::<Vec<Sealed>>(inputs["sources"]["signatures"].clone()) {
        Ok(signatures) => {
            for s in signatures {
                let r = &s.record;
                seal(
                    check,
                    &key,
                    (&r.party_name, &r.signer_name),
                    (&r.version_hash, declared),
                    (&r.canonical(), &s.seal),
                );
            }
        }
        Err(e) => check.problems.push(format!(
            "les signatures de la pièce jointe {INPUTS_NAME} ne sont pas lisibles ({e}) : elle a été modifiée"
        )),
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

/// A bundle checked whole: [`verify_bundle_against`] `trusted_key` (or [`verify_bundle`] with
/// its own key when none is given), then its signed PDFs ([`verify_bundle_documents`]).
pub fn verify_bundle_with_documents(bundle: &Bundle, trusted_key: Option<&str>) -> Verification {
    let mut verification = match trusted_key {
        Some(key) => verify_bundle_against(bundle, key),
        None => verify_bundle(bundle),
    };
    if bundle.format == crate::signing::BUNDLE_FORMAT {
        let key = trusted_key.unwrap_or(&bundle.public_key);
        verification.merge(verify_bundle_documents(bundle, key));
    }
    verification
}

/// The signed PDFs of a bundle: each is readable, has the SHA-256 it declares, is exactly the
/// rendering of a locked version of the bundle, of the version and scope it declares
/// ([`verify_pdf`] against `key`), and each signature it publishes is the public extract of a
/// signature record of the bundle. When the bundle carries PDFs at all (the bundles written
/// before them carry none), every locked version has its whole document and every annex.
pub fn verify_bundle_documents(bundle: &Bundle, key: &str) -> Verification {
    let convention_id = bundle
        .convention
        .get("id")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    let mut findings = Vec::new();
    let mut finding = |location: String, problem: String| {
        findings.push(Finding {
            convention_id,
            location,
            problem,
        });
    };
    for d in &bundle.documents {
        let location = format!("document « {} » du paquet", d.file_name);
        let Ok(bytes) = BASE64.decode(d.pdf_base64.trim()) else {
            finding(
                location,
                "le PDF n'est pas encodé en base64 : il a été modifié".into(),
            );
            continue;
        };
        let actual = sha256_hex(&bytes);
        if actual != d.sha256 {
            finding(
                location.clone(),
                format!(
                    "le PDF a l'empreinte SHA-256 {actual}, et non {} que le paquet déclare : il a été modifié",
                    d.sha256
                ),
            );
        }
        match bundle
            .versions
            .iter()
            .find(|v| v.number == d.version && v.hash == d.version_hash)
        {
            Some(v) if v.locked => {}
            Some(_) => finding(
                location.clone(),
                format!("la version n° {} n'est pas verrouillée", d.version),
            ),
            None => finding(
                location.clone(),
                format!(
                    "aucune version n° {} d'empreinte {} dans le paquet",
                    d.version, d.version_hash
                ),
            ),
        }
        let check = verify_pdf(&bytes, Some(key));
        for p in &check.problems {
            finding(location.clone(), p.clone());
        }
        if check.hash.as_deref().is_some_and(|h| h != d.version_hash) {
            finding(
                location.clone(),
                "le PDF est celui d'une autre version que celle que le paquet déclare".into(),
            );
        }
        let Some(inputs) = attachments(&bytes)
            .ok()
            .and_then(|f| serde_json::from_slice::<RenderInputs>(&f.inputs).ok())
        else {
            continue; // already reported by verify_pdf
        };
        if inputs.annexe != d.annexe {
            finding(
                location.clone(),
                format!(
                    "le PDF est {}, et non {} comme le paquet le déclare",
                    scope_words(inputs.annexe.as_deref()),
                    scope_words(d.annexe.as_deref())
                ),
            );
        }
        for s in &inputs.sources.signatures {
            let of_bundle = bundle
                .signatures
                .iter()
                .any(|b| b.record.public_extract() == s.record);
            if !of_bundle {
                finding(
                    location.clone(),
                    format!(
                        "la signature de {} ({}) qu'il publie n'est l'extrait d'aucun enregistrement de signature du paquet",
                        s.record.party_name, s.record.signer_name
                    ),
                );
            }
        }
    }
    if !bundle.documents.is_empty() {
        for v in bundle.versions.iter().filter(|v| v.locked) {
            let reservataires: Vec<Option<String>> =
                serde_json::from_str::<serde_json::Value>(&v.document)
                    .ok()
                    .and_then(|doc| {
                        doc["scenario"]["reservataires"].as_array().map(|rs| {
                            rs.iter()
                                .filter_map(|r| r["id"].as_str().map(|id| Some(id.to_owned())))
                                .collect()
                        })
                    })
                    .unwrap_or_default();
            for scope in std::iter::once(None).chain(reservataires) {
                let present = bundle.documents.iter().any(|d| {
                    d.version == v.number && d.version_hash == v.hash && d.annexe == scope
                });
                if !present {
                    finding(
                        format!("version n° {} (id {})", v.number, v.id),
                        format!(
                            "le paquet ne contient pas son PDF signé : {}",
                            scope_words(scope.as_deref())
                        ),
                    );
                }
            }
        }
    }
    Verification {
        checked_documents: bundle.documents.len(),
        findings,
        ..Verification::default()
    }
}

fn scope_words(annexe: Option<&str>) -> String {
    match annexe {
        None => "la convention entière".to_owned(),
        Some(party) => format!("l'annexe de « {party} »"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::render::document::{DocumentInputs, Scope, convention_document};
    use crate::services::conventions::document::TypedDocument;
    use crate::services::conventions::document::tests::solved_document;
    use crate::signing::{PlatformKey, PublicSignature};

    fn record(hash: &str) -> SignatureRecord {
        SignatureRecord {
            convention_id: 1,
            version_hash: hash.to_owned(),
            party: "etat".into(),
            party_name: "État".into(),
            signer_id: 3,
            signer_name: "Camille Martin".into(),
            signer_email: "camille.martin@example.org".into(),
            mandate: "Préfet, par délégation".into(),
            signed_at: "2026-11-23T12:00:00.123Z".into(),
            ip: "192.0.2.10".into(),
            user_agent: "Navigateur d'essai".into(),
            method: "mot_de_passe".into(),
            document_sha256: None,
        }
    }

    #[test]
    fn a_pdf_of_the_earlier_format_has_its_seals_checked_and_is_said_not_reproducible() {
        let (text, hash) = solved_document(1, "25").seal_text().unwrap();
        let doc: TypedDocument = serde_json::from_str(&text).unwrap();
        let key = PlatformKey::from_seed([5; 32]);
        let public_key = key.public_key_hex();
        let r = record(&hash);
        let seal = key.seal(&r.canonical());
        let sources = DocumentInputs {
            hash: hash.clone(),
            locked: true,
            approval_required: false,
            parties: Vec::new(),
            members: Vec::new(),
            signatures: vec![PublicSignature::of(&r, &seal, &key)],
            communes: BTreeMap::new(),
            epci: None,
            stock: None,
            approval: None,
            experiment_years: 3,
            public_key: public_key.clone(),
        };
        let inputs = RenderInputs::new(sources, &Scope::Whole);
        let pdf = super::super::render(&text, &doc, &inputs).unwrap();
        let check = verify_pdf(&pdf, Some(&public_key));
        assert!(check.is_ok(), "{}", check.to_french_text());
        assert_eq!(check.checked_signatures, 1);
        for personal in ["192.0.2.10", "example.org", "Navigateur"] {
            assert!(!serde_json::to_string(&inputs).unwrap().contains(personal));
        }

        // The same document with inputs of format /1: the whole records.
        let d = convention_document(&inputs.sources.sources(&doc), &Scope::Whole).unwrap();
        let legacy = |record: &SignatureRecord| {
            let mut old = serde_json::to_value(&inputs).unwrap();
            old["format"] = INPUTS_FORMAT_1.into();
            old["sources"]["signatures"] =
                serde_json::json!([{"id": 1, "round_id": 1, "record": record, "seal": seal}]);
            super::super::write(
                &d,
                &doc.created_at,
                text.as_bytes(),
                serde_json::to_vec(&old).unwrap(),
            )
            .unwrap()
        };
        let check = verify_pdf(&legacy(&r), Some(&public_key));
        assert_eq!(check.checked_signatures, 1);
        assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
        assert!(
            check.problems[0].contains("format antérieur « convention-flux-pdf/1 »"),
            "{:?}",
            check.problems
        );
        // A record of format /1 edited after its seal: named too.
        let edited = SignatureRecord {
            mandate: "Maire".into(),
            ..r.clone()
        };
        let check = verify_pdf(&legacy(&edited), Some(&public_key));
        assert_eq!(check.problems.len(), 2, "{:?}", check.problems);
        assert!(
            check.problems[0]
                .contains("la signature de État (Camille Martin) : le sceau ne correspond pas"),
            "{:?}",
            check.problems
        );
    }
}
