//! Prépare une base SQLite neuve pour l'essai de charge (`scripts/charge.sh`) : importe le
//! territoire de démonstration, crée le compte du secrétariat de la CIL de l'EPCI de démonstration,
//! ouvre une convention et écrit, dans le dossier donné, la base, les clés de la plateforme et un
//! fichier `charge.env` (identifiant de la convention, identifiants de connexion, jeton de
//! session).
//!
//! Deux tailles (`--taille`) :
//! - `demo` (par défaut) : le territoire de démonstration (20 communes, 8 000 logements) et une
//!   convention de cinq réservataires, en rédaction ;
//! - `maximale` : le plus grand cas réel (DESIGN §6) — 110 communes dont 39 QPV, un bailleur de
//!   120 000 logements (plus de 777 segments commune × typologie × QPV), environ 47 000 droits
//!   en stock, trois ans de libérations, des exclusions, et une convention de 150 réservataires
//!   (État, fonctionnaires, EPCI, chaque commune sur son territoire, Action Logement,
//!   département, région, autres organismes) en concertation, où chaque partie a un compte et a
//!   publié sa proposition : la version courante porte le rapport du solveur et le tableau des
//!   flux. Compter quelques minutes.
//!
//! `--conventions N` (1 par défaut) mesure la vue de la CIL (ticket 20) : la CIA de l'EPCI est
//! d'abord enregistrée (objectifs 25 / 50 / 25 %, 30 % hors QPV au premier quartile à
//! Valmont-sur-Saône et à Bellecombe-les-Vignes), puis, après la convention préparée comme ci-dessus,
//! N − 1 autres conventions sont ouvertes sur le même EPCI et la même année, avec les mêmes
//! réservataires et le même bailleur, en rédaction : elles partent des taux convertis, leur
//! tableau des flux a donc la même taille. Le même bailleur suffit : la vue lit et pèse la version
//! courante de chaque convention, quel que soit son bailleur. Sans l'option, rien ne change.
//!
//! Utilise la bibliothèque directement (les services d'import et des conventions) : aucune
//! étape manuelle, aucun serveur. Le territoire est déterministe (générateurs à graine fixe).
//!
//! ```text
//! cargo run --release --example charge_preparation -- --dossier /tmp/charge --taille maximale
//! cargo run --release --example charge_preparation -- --dossier /tmp/cil --taille maximale \
//!     --conventions 10
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use std::time::Instant;

use clap::{Parser, ValueEnum};
use convention_flux::auth::{LoginLimiter, TokenKeys};
use convention_flux::config::{Secret, Settings};
use convention_flux::demo::{DemoSize, DemoTerritory, demo_territory_sized};
use convention_flux::domain::Siren;
use convention_flux::domain::convention::{Role, Transition};
use convention_flux::flux::scenario::{RawCommitments, RawObjectives};
use convention_flux::services::cia::{self, CiaChange, TerritorialEntry};
use convention_flux::services::conventions::document::ProposalBody;
use convention_flux::services::conventions::drafting::{self, CreateConvention, TransitionRequest};
use convention_flux::services::conventions::members::{add_member, create_account, login};
use convention_flux::services::conventions::{Caller, Platform, current_version};
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Taille {
    /// Territoire de démonstration, convention de cinq réservataires en rédaction.
    Demo,
    /// Plus grand cas réel : 120 000 logements, 150 réservataires ayant publié leur proposition.
    Maximale,
}

#[derive(Parser)]
#[command(about = "Prépare la base et les comptes de l'essai de charge (scripts/charge.sh).")]
struct Options {
    /// Dossier (créé s'il manque) où écrire la base `charge.db`, les clés et `charge.env`.
    #[arg(long)]
    dossier: PathBuf,
    /// Taille du territoire et de la convention.
    #[arg(long, value_enum, default_value_t = Taille::Demo)]
    taille: Taille,
    /// Nombre de conventions sur l'EPCI et l'année (vue de la CIL) : au-delà de la première,
    /// ouvertes en rédaction avec les mêmes réservataires, après l'enregistrement d'une CIA.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=50))]
    conventions: u32,
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

    let size = match options.taille {
        Taille::Demo => DemoSize::Demo,
        Taille::Maximale => DemoSize::Maximal,
    };
    let started = Instant::now();
    let territory = demo_territory_sized(ANNEE, size);
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
    println!(
        "Territoire importé en {:.1} s : {} réservataires au registre.",
        started.elapsed().as_secs_f64(),
        territory.reservataires.len()
    );

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
        versions: Default::default(),
        signing_digests: Default::default(),
        prebuild: None,
        base_url: settings.public_base_url(settings.listen),
    };
    create_account(
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
    // A recorded session, as a sign-in makes: a token alone is refused since sessions can be
    // revoked.
    let session = login(&platform, COURRIEL, MOT_DE_PASSE, "charge_preparation")
        .await
        .map_err(|e| format!("connexion du secrétariat : {e}"))?;
    let token = session.token;
    let caller = Caller { user: session.user };
    let reservataires: Vec<String> = match options.taille {
        Taille::Demo => RESERVATAIRES.iter().map(|r| (*r).to_owned()).collect(),
        Taille::Maximale => territory.reservataires.clone(),
    };
    if options.conventions > 1 {
        record_cia(&platform, &caller).await?;
    }
    let create = |title: String| CreateConvention {
        epci: EPCI.into(),
        bailleur: territory.bailleur_siren.as_str().into(),
        year: ANNEE,
        title: Some(title),
        reservataires: reservataires.clone(),
        approval_required: None,
        method: None,
    };
    let id = drafting::create(
        &platform,
        &caller,
        create(format!("Convention de l'essai de charge {ANNEE}")),
    )
    .await
    .map_err(|e| format!("ouverture de la convention : {e}"))?;
    if options.taille == Taille::Maximale {
        publish_every_proposal(&platform, &caller, id, &territory).await?;
    }
    for n in 2..=options.conventions {
        let began = Instant::now();
        let other = drafting::create(
            &platform,
            &caller,
            create(format!("Convention de l'essai de charge {ANNEE}, n° {n}")),
        )
        .await
        .map_err(|e| format!("ouverture de la convention n° {n} de l'EPCI : {e}"))?;
        println!(
            "Convention n° {other} ouverte en rédaction ({n} sur {}) en {:.1} s.",
            options.conventions,
            began.elapsed().as_secs_f64()
        );
    }
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
    let report_bytes = serde_json::from_str::<serde_json::Value>(&version.document)
        .ok()
        .and_then(|d| serde_json::to_string(&d["report"]).ok())
        .map_or(0, |r| r.len());
    println!(
        "Convention n° {id} ouverte avec {} réservataires ; version n° {} de {} octets, \
         dont {report_bytes} octets de rapport du solveur ; préparée en {:.1} s.",
        reservataires.len(),
        version.number,
        version.document.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "Compte du secrétariat : {COURRIEL} (mot de passe dans {}).",
        env_path.display()
    );
    Ok(())
}

/// The CIA of the EPCI, recorded before the conventions so that they restate it: the objectives
/// of L.441-1 and two territorial rates, so that the CIL's view has territorial lines.
async fn record_cia(platform: &Platform, secretariat: &Caller) -> Result<(), String> {
    let epci: Siren = EPCI
        .parse()
        .map_err(|e| format!("SIREN de l'EPCI {EPCI} : {e}"))?;
    let territorial = ["69801", "69802"]
        .into_iter()
        .map(|commune| TerritorialEntry {
            objective: "q1_hors_qpv".into(),
            commune: commune.into(),
            qpv: None,
            min: "30".into(),
        })
        .collect();
    let change = CiaChange {
        concluded_on: Some(format!("{}-06-30", ANNEE - 1)),
        reference: "CIA de l'essai de charge".into(),
        objectives: RawObjectives {
            q1_hors_qpv_min: "25".into(),
            non_q1_qpv_min: "50".into(),
            priority_min: "25".into(),
        },
        territorial,
        bailleurs: vec![],
        reason: Some("Essai de charge de la vue de la CIL".into()),
        based_on: None,
    };
    let version = cia::record(platform, secretariat, &epci, change)
        .await
        .map_err(|e| format!("enregistrement de la CIA de l'EPCI : {e}"))?;
    println!(
        "CIA de l'EPCI enregistrée (version n° {}, deux taux territorialisés).",
        version.number
    );
    Ok(())
}

/// The share each party proposes, by the kind its identifier names: about the stock shares of
/// the état des lieux, a commune's share applying to its own territory only.
fn proposed_share(party: &str) -> &'static str {
    match party {
        "etat" => "25",
        "etat-fonctionnaires" => "3",
        "action-logement" => "20",
        "metropole-val-de-saone" => "3",
        "departement-69" => "2",
        p if p.starts_with("commune-") => "15",
        p if p.starts_with("region-") => "1",
        _ => "0.2",
    }
}

/// Every réservataire of the largest convention gets an account, is made signatory for its
/// party, and publishes its proposal during the concertation, as the parties would.
async fn publish_every_proposal(
    platform: &Platform,
    secretariat: &Caller,
    id: i64,
    territory: &DemoTerritory,
) -> Result<(), String> {
    let started = Instant::now();
    let mut members = Vec::with_capacity(territory.reservataires.len());
    for party in &territory.reservataires {
        let user_id = create_account(
            platform,
            &format!("{party}@charge.test"),
            &format!("Représentant de « {party} »"),
            NewOrganisation {
                kind: "reservataire".into(),
                name: format!("Organisation {party}"),
                reference: party.clone(),
            },
            MOT_DE_PASSE,
        )
        .await
        .map_err(|e| format!("création du compte de « {party} » : {e}"))?;
        add_member(
            platform,
            secretariat,
            id,
            user_id,
            Role::Signatory,
            party,
            &format!("pour « {party} », par délégation"),
        )
        .await
        .map_err(|e| format!("ajout de « {party} » à la convention : {e}"))?;
        let user = platform
            .store
            .user_by_id(user_id)
            .await
            .map_err(|e| format!("lecture du compte de « {party} » : {e}"))?
            .ok_or_else(|| format!("compte de « {party} » introuvable"))?;
        members.push((party, Caller { user }));
    }
    println!(
        "{} comptes créés et ajoutés à la convention en {:.1} s.",
        members.len(),
        started.elapsed().as_secs_f64()
    );
    drafting::transition(
        platform,
        secretariat,
        id,
        Transition::Open,
        TransitionRequest { reason: None },
    )
    .await
    .map_err(|e| format!("ouverture de la concertation : {e}"))?;
    let started = Instant::now();
    for (n, (party, member)) in members.iter().enumerate() {
        let body = ProposalBody {
            share: Some(proposed_share(party).into()),
            overrides: vec![],
            commitments: RawCommitments {
                priority: "30".into(),
                q1_hors_qpv: "30".into(),
                non_q1_qpv: "55".into(),
            },
        };
        drafting::save_proposal(platform, member, id, party, body, true)
            .await
            .map_err(|e| format!("publication de la proposition de « {party} » : {e}"))?;
        if (n + 1) % 25 == 0 {
            println!(
                "{} propositions publiées ({:.1} s)",
                n + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
