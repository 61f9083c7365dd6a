//! Prépare une base SQLite neuve pour l'essai de charge (`scripts/charge.sh`) : importe le
//! territoire de démonstration, crée le compte du secrétariat de la CIL de l'EPCI de démonstration,
//! ouvre une convention avec cinq réservataires et écrit, dans le dossier donné, la base, les clés
//! de la plateforme et un fichier `charge.env` (identifiant de la convention, identifiants de
//! connexion, jeton de session).
//!
//! Utilise la bibliothèque directement : aucune étape manuelle, aucun serveur.
//!
//! ```text
//! cargo run --release --example charge_preparation -- --dossier /tmp/charge
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use convention_flux::auth::{LoginLimiter, TokenKeys};
use convention_flux::config::{Secret, Settings};
use convention_flux::demo::demo_territory;
use convention_flux::services::conventions::drafting::{self, CreateConvention};
use convention_flux::services::conventions::members::{SESSION_SECS, authenticate, create_account};
use convention_flux::services::conventions::{Platform, current_version};
use convention_flux::services::import::{NoProgress, import_file};
use convention_flux::signing::PlatformKey;
use convention_flux::store::connect;
use convention_flux::store::conventions::NewOrganisation;

/// SIREN de l'EPCI de démonstration (`src/demo/territory.rs`).
const EPCI: &str = "200999803";
const ANNEE: i32 = 2027;
const COURRIEL: &str = "secretariat@charge.test";
const MOT_DE_PASSE: &str = "mot de passe pour essai de charge 2027";
const RESERVATAIRES: [&str; 5] = [
    "etat",
    "commune-69801",
    "commune-69802",
    "action-logement",
    "departement-69",
];

#[derive(Parser)]
#[command(about = "Prépare la base et les comptes de l'essai de charge (scripts/charge.sh).")]
struct Options {
    /// Dossier (créé s'il manque) où écrire la base `charge.db`, les clés et `charge.env`.
    #[arg(long)]
    dossier: PathBuf,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("erreur : démarrage de l'exécuteur asynchrone impossible : {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(prepare(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("erreur : préparation de l'essai de charge : {message}");
            ExitCode::FAILURE
        }
    }
}

async fn prepare(options: Options) -> Result<(), String> {
    let dir = options.dossier;
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("création du dossier {} impossible : {e}", dir.display()))?;
    let database = dir.join("charge.db");
    if database.exists() {
        return Err(format!(
            "la base {} existe déjà : l'essai part d'une base neuve, choisissez un autre dossier",
            database.display()
        ));
    }
    let settings = Settings {
        database_url: Secret::new(format!("sqlite://{}", database.display())),
        platform_key_path: dir.join("cle-plateforme-ed25519.txt"),
        session_key_path: dir.join("cle-sessions.txt"),
        ..Settings::default()
    };
    let store = connect(&settings.database_url)
        .await
        .map_err(|e| format!("ouverture de la base {} : {e}", database.display()))?;

    let territory = demo_territory(ANNEE);
    for file in &territory.files {
        let bailleur = file
            .kind
            .needs_bailleur()
            .then(|| territory.bailleur_siren.clone());
        import_file(
            store.as_ref(),
            file.kind,
            file.csv.as_bytes().to_vec(),
            bailleur,
            Arc::new(NoProgress),
        )
        .await
        .map_err(|e| format!("import du fichier de démonstration {:?} : {e}", file.kind))?;
    }

    let platform = Platform {
        store: Arc::clone(&store),
        policies_dir: settings.policies_dir.clone(),
        key: Arc::new(
            PlatformKey::load_or_create(&settings.platform_key_path)
                .map_err(|e| format!("clé de la plateforme : {e}"))?,
        ),
        tokens: Arc::new(
            TokenKeys::load_or_create(&settings.session_key_path)
                .map_err(|e| format!("clé des sessions : {e}"))?,
        ),
        limiter: Arc::new(LoginLimiter::new(5, 900)),
        base_url: settings.public_base_url(settings.listen),
    };
    let user_id = create_account(
        &platform,
        COURRIEL,
        "Secrétariat de l'essai de charge",
        NewOrganisation {
            kind: "epci".into(),
            name: "EPCI de démonstration".into(),
            reference: EPCI.into(),
        },
        MOT_DE_PASSE,
    )
    .await
    .map_err(|e| format!("création du compte du secrétariat : {e}"))?;
    let now = chrono::Utc::now().timestamp();
    let token = platform
        .tokens
        .issue(user_id, now, SESSION_SECS)
        .map_err(|e| format!("émission du jeton de session : {e}"))?;
    let caller = authenticate(&platform, &token)
        .await
        .map_err(|e| format!("vérification du jeton de session : {e}"))?;
    let id = drafting::create(
        &platform,
        &caller,
        CreateConvention {
            epci: EPCI.into(),
            bailleur: territory.bailleur_siren.as_str().into(),
            year: ANNEE,
            title: Some(format!("Convention de l'essai de charge {ANNEE}")),
            reservataires: RESERVATAIRES.iter().map(|r| (*r).to_owned()).collect(),
            approval_required: None,
        },
    )
    .await
    .map_err(|e| format!("ouverture de la convention : {e}"))?;
    let version = current_version(&platform, &caller, id)
        .await
        .map_err(|e| format!("lecture de la version courante : {e}"))?;
    store.close().await;

    let env = format!(
        "CHARGE_BASE={}\nCHARGE_CONVENTION={id}\nCHARGE_COURRIEL={COURRIEL}\n\
         CHARGE_MOT_DE_PASSE='{MOT_DE_PASSE}'\nCHARGE_JETON={token}\n",
        database.display()
    );
    let env_path = dir.join("charge.env");
    std::fs::write(&env_path, env)
        .map_err(|e| format!("écriture de {} impossible : {e}", env_path.display()))?;
    println!(
        "Base prête : {} (territoire de démonstration {ANNEE}).",
        database.display()
    );
    println!(
        "Convention n° {id} ouverte avec {} réservataires ; version n° {} de {} octets.",
        RESERVATAIRES.len(),
        version.number,
        version.document.len()
    );
    println!(
        "Compte du secrétariat : {COURRIEL} (mot de passe dans {}).",
        env_path.display()
    );
    Ok(())
}
