//! Commands around conventions: verification of the database, of a bundle or of a PDF, the
//! document as a PDF, bundle export, account creation, and the demo's conventions.

use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;

use super::{Failure, open_store, platform};
use crate::config::Settings;
use crate::demo::DemoTerritory;
use crate::domain::Siren;
use crate::domain::text::io_reason;
use crate::render::document::Scope;
use crate::render::pdf::{verify_bundle_with_documents, verify_pdf};
use crate::services::conventions::convention_document;
use crate::services::conventions::verification::{bundle, verify_database};
use crate::services::conventions::{demo, members};
use crate::signing::{PlatformKey, Verification, parse_bundle};
use crate::store::Repository;
use crate::store::conventions::NewOrganisation;

fn report(verification: &Verification) -> Result<(), Failure> {
    println!("{}", verification.to_french_text());
    if verification.is_ok() {
        Ok(())
    } else {
        let n = verification.findings.len();
        Err(Failure::User(if n > 1 {
            format!("{n} anomalies trouvées : voir ci-dessus")
        } else {
            format!("{n} anomalie trouvée : voir ci-dessus")
        }))
    }
}

/// The configured platform key, only if its file exists (verification never creates one).
fn existing_public_key(settings: &Settings) -> Result<Option<String>, Failure> {
    if !settings.platform_key_path.exists() {
        return Ok(None);
    }
    PlatformKey::load_or_create(&settings.platform_key_path)
        .map(|k| Some(k.public_key_hex()))
        .map_err(|e| Failure::User(e.to_string()))
}

pub async fn verify(
    settings: &Settings,
    bundle_path: Option<&Path>,
    public_key: Option<&str>,
) -> Result<(), Failure> {
    let trusted = match public_key {
        Some(key) => Some(key.trim().to_owned()),
        None => existing_public_key(settings)?,
    };
    if let Some(path) = bundle_path {
        let bytes = std::fs::read(path).map_err(|e| {
            Failure::User(format!(
                "lecture de {} impossible : {}",
                path.display(),
                io_reason(&e)
            ))
        })?;
        if bytes.starts_with(b"%PDF") {
            return verify_pdf_file(path, &bytes, trusted.as_deref());
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            Failure::User(format!(
                "{} n'est ni un dossier de preuve (JSON) ni un PDF",
                path.display()
            ))
        })?;
        let bundle = parse_bundle(&text)
            .map_err(|e| Failure::User(format!("dossier {} : {e}", path.display())))?;
        if trusted.is_none() {
            println!(
                "Attention : aucune clé publique de référence (--public-key) ; le dossier est vérifié avec sa propre clé {}.",
                bundle.public_key
            );
        }
        // Checking the signed PDFs renders each of them again: off the async executor.
        let verification = tokio::task::spawn_blocking(move || {
            verify_bundle_with_documents(&bundle, trusted.as_deref())
        })
        .await
        .map_err(|e| Failure::Internal(e.to_string()))?;
        return report(&verification);
    }
    let key = trusted.ok_or_else(|| {
        Failure::User(format!(
            "clé de la plateforme introuvable ({}) : indiquez --public-key",
            settings.platform_key_path.display()
        ))
    })?;
    let store = open_store(settings).await?;
    let result = verify_database(store.as_ref(), &key).await;
    store.close().await;
    report(&result?)
}

/// `verify FICHIER.pdf`: the PDF is exactly the rendering of a sealed version.
fn verify_pdf_file(path: &Path, bytes: &[u8], trusted: Option<&str>) -> Result<(), Failure> {
    let check = verify_pdf(bytes, trusted);
    println!("{}", check.to_french_text());
    if check.is_ok() {
        Ok(())
    } else {
        Err(Failure::User(format!(
            "{} n'est pas exactement le document d'une version scellée : voir ci-dessus",
            path.display()
        )))
    }
}

/// `document ID [--version N] [--annexe PARTY] --output FICHIER.pdf`.
pub async fn document(
    settings: &Settings,
    convention: i64,
    version: Option<i64>,
    annexe: Option<String>,
    output: &Path,
) -> Result<(), Failure> {
    // The PDF carries the platform's public key: never one made up here.
    if existing_public_key(settings)?.is_none() {
        return Err(Failure::User(format!(
            "clé de la plateforme introuvable ({}) : le document porte sa clé publique",
            settings.platform_key_path.display()
        )));
    }
    let scope = match annexe.as_deref().map(str::trim) {
        None | Some("") => Scope::Whole,
        Some(party) => Scope::Annex(party.to_owned()),
    };
    let store = open_store(settings).await?;
    let result = match platform(settings, Arc::clone(&store)) {
        Ok(p) => convention_document::pdf(&p, convention, version, &scope)
            .await
            .map_err(Failure::from),
        Err(e) => Err(e),
    };
    store.close().await;
    let bytes = result?;
    std::fs::write(output, &bytes).map_err(|e| {
        Failure::User(format!(
            "écriture de {} impossible : {}",
            output.display(),
            io_reason(&e)
        ))
    })?;
    eprintln!(
        "Document de la convention n° {convention} écrit dans {} ({} octets, SHA-256 {}).",
        output.display(),
        bytes.len(),
        crate::signing::sha256_hex(&bytes)
    );
    Ok(())
}

pub async fn export_bundle(
    settings: &Settings,
    convention: i64,
    output: Option<&Path>,
) -> Result<(), Failure> {
    // The bundle carries the platform's public key: never one made up here.
    existing_public_key(settings)?.ok_or_else(|| {
        Failure::User(format!(
            "clé de la plateforme introuvable ({})",
            settings.platform_key_path.display()
        ))
    })?;
    let store = open_store(settings).await?;
    let result = match platform(settings, Arc::clone(&store)) {
        Ok(p) => bundle(&p, convention).await.map_err(Failure::from),
        Err(e) => Err(e),
    };
    store.close().await;
    let text =
        serde_json::to_string_pretty(&result?).map_err(|e| Failure::Internal(e.to_string()))?;
    match output {
        Some(path) => {
            std::fs::write(path, text + "\n").map_err(|e| {
                Failure::User(format!(
                    "écriture de {} impossible : {}",
                    path.display(),
                    io_reason(&e)
                ))
            })?;
            eprintln!("Dossier de preuve écrit dans {}.", path.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}

pub async fn create_account(
    settings: &Settings,
    email: &str,
    name: &str,
    epci: &Siren,
) -> Result<(), Failure> {
    let password = match std::env::var("CONVENTION_FLUX_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprintln!("Mot de passe (au moins 12 caractères), puis Entrée et Ctrl-D :");
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| {
                Failure::User(format!(
                    "lecture du mot de passe impossible : {}",
                    io_reason(&e)
                ))
            })?;
            text.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    let store = open_store(settings).await?;
    let facts = store.epci_facts(epci).await;
    let result = match facts {
        Ok(Some(facts)) => {
            let p = platform(settings, Arc::clone(&store))?;
            members::create_account(
                &p,
                email,
                name,
                NewOrganisation {
                    kind: "epci".into(),
                    name: facts.epci.name.clone(),
                    reference: epci.as_str().into(),
                },
                &password,
            )
            .await
            .map_err(Failure::from)
        }
        Ok(None) => Err(Failure::User(format!(
            "EPCI {epci} inconnu : importez d'abord le fichier epci"
        ))),
        Err(e) => Err(Failure::Internal(e.to_string())),
    };
    store.close().await;
    let id = result?;
    println!("Compte n° {id} créé pour {email} (secrétariat de la CIL de l'EPCI {epci}).");
    Ok(())
}

/// Seeds the demo accounts and conventions and prints how to sign in.
pub async fn seed_demo(
    settings: &Settings,
    store: &Arc<dyn Repository>,
    territory: &DemoTerritory,
) -> Result<(), Failure> {
    let p = platform(settings, Arc::clone(store))?;
    let name = store
        .epci_facts(&territory.epci_siren)
        .await
        .map_err(|e| Failure::Internal(e.to_string()))?
        .map(|f| f.epci.name)
        .unwrap_or_default();
    let second = territory
        .second_bailleur
        .as_ref()
        .map(|b| demo::SecondBailleur {
            siren: b.siren.as_str(),
            name: &b.name,
        });
    let seeded = demo::seed(
        &p,
        territory.epci_siren.as_str(),
        &name,
        territory.bailleur_siren.as_str(),
        second,
        territory.year,
    )
    .await?;
    println!(
        "Conventions de démonstration : n° {} (signée par toutes les parties), n° {} (en concertation).",
        seeded.signed, seeded.in_concertation
    );
    if let (Some(id), Some(second)) = (seeded.second_bailleur, &territory.second_bailleur) {
        println!(
            "Convention du second bailleur, {} : n° {id} (en concertation).",
            second.name
        );
    }
    println!(
        "Comptes de démonstration (mot de passe commun : {}) :",
        demo::DEMO_PASSWORD
    );
    for account in &seeded.accounts {
        println!(
            "  {:<45} {} — {}",
            account.email, account.name, account.role
        );
    }
    Ok(())
}
