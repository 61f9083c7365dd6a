//! Command line: `serve`, `demo`, `migrate`, `import`, `eligibility`, `assiette`,
//! `conversion`, `solve`, `check`. Every failure the user can fix ends with a French message and
//! exit code 2; internal failures with exit code 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::auth::{LoginLimiter, TokenKeys};
use crate::config::{Secret, Settings};
use crate::demo::demo_territory;
use crate::domain::eligibility::french_date;
use crate::domain::text::{io_reason, parse_date};
use crate::domain::{ExperimentWindow, Siren};
use crate::http::{AppState, Server, shutdown_signal};
use crate::import::{ImportError, ImportKind};
use crate::policy::experiment::ExperimentPolicy;
use crate::render::Templates;
use crate::services::ServiceError;
use crate::services::conventions::Platform;
use crate::services::conventions::prebuild::{Prebuilder, Timing};
use crate::services::eligibility::epci_eligibility;
use crate::services::import::{ImportSummary, Progress, Stage, import_file};
use crate::signing::PlatformKey;
use crate::store::{Repository, connect};

mod conventions;

#[derive(Debug, Parser)]
#[command(
    name = "convention-flux",
    version,
    about = "Convention unique de gestion en flux des réservations de logements sociaux"
)]
pub struct Cli {
    /// Fichier de configuration TOML (sinon : valeurs par défaut et variables CONVENTION_FLUX_*).
    #[arg(long, global = true, env = "CONVENTION_FLUX_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Démarre le serveur web.
    Serve,
    /// Crée le territoire de démonstration (fichiers CSV sous examples/demo), l'importe et démarre le serveur.
    Demo {
        /// Dossier où écrire les fichiers CSV de démonstration.
        #[arg(long, default_value = "examples/demo")]
        dir: PathBuf,
        /// Écrit et importe les fichiers sans démarrer le serveur.
        #[arg(long)]
        no_serve: bool,
    },
    /// Applique les migrations de la base de données.
    Migrate,
    /// Importe un fichier CSV (epci, communes, qpv, bailleurs, reservataires, logements,
    /// reservations_stock, liberations, exclusions).
    Import {
        /// Type de fichier.
        kind: ImportKind,
        /// Chemin du fichier CSV.
        file: PathBuf,
        /// SIREN du bailleur (obligatoire pour logements, reservations_stock, liberations, exclusions).
        #[arg(long)]
        bailleur: Option<Siren>,
    },
    /// Vérifie l'éligibilité d'un EPCI à l'expérimentation.
    Eligibility {
        /// SIREN de l'EPCI.
        siren: Siren,
        /// Date examinée (AAAA-MM-JJ), aujourd'hui par défaut.
        #[arg(long, value_parser = parse_cli_date)]
        date: Option<NaiveDate>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Calcule l'assiette (base annuelle du flux) d'un bailleur par segment.
    Assiette {
        /// SIREN du bailleur.
        #[arg(long)]
        bailleur: Siren,
        /// Année N de la convention.
        #[arg(long)]
        year: i32,
        /// Nombre d'années d'historique des libérations (N-3 à N-1 par défaut).
        #[arg(long, default_value_t = crate::flux::assiette::DEFAULT_LOOKBACK)]
        lookback: u32,
        /// Axes des segments, parmi commune, typologie, qpv, financement (commune et qpv toujours).
        #[arg(long, default_value = "commune,typologie,qpv")]
        axes: crate::flux::segment::SegmentAxes,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Calcule à partir des fichiers logements.csv, liberations.csv et exclusions.csv de ce
        /// dossier, sans base de données.
        #[arg(long)]
        from_dir: Option<PathBuf>,
    },
    /// Convertit l'état des lieux (droits de réservation en stock) d'un bailleur en taux de
    /// départ de chaque réservataire pour l'année N (méthode flux ou stock).
    Conversion {
        /// SIREN du bailleur.
        #[arg(long)]
        bailleur: Siren,
        /// Année N de la convention.
        #[arg(long)]
        year: i32,
        /// flux : par les libérations qu'apporte chaque droit (par défaut) ; stock : par les
        /// logements tels qu'ils sont.
        #[arg(long, default_value = "flux")]
        method: crate::flux::conversion::Method,
        /// Nombre d'années d'historique des libérations (N-3 à N-1 par défaut).
        #[arg(long, default_value_t = crate::flux::assiette::DEFAULT_LOOKBACK)]
        lookback: u32,
        #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
        format: OutputFormat,
    },
    /// Vérifie les plafonds et la cohérence avec la CIA d'un scénario et produit le tableau des
    /// flux (rapport JSON sur la sortie standard ; code 2 si le scénario est invalide).
    Solve {
        /// Fichier du scénario (JSON, schéma 1), ou - pour l'entrée standard.
        scenario: PathBuf,
        #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
        format: OutputFormat,
    },
    /// Vérifie les fichiers de politique (policies/*.toml).
    Check,
    /// Vérifie la chaîne d'audit, l'empreinte de chaque version et le sceau de chaque signature :
    /// de toute la base, d'un dossier de preuve exporté ou d'un PDF de la convention (hors
    /// ligne). Code 2 si une anomalie est trouvée.
    Verify {
        /// Dossier de preuve (JSON) produit par export-bundle, ou PDF produit par document
        /// (vérifié : empreinte du texte joint, sceaux, rendu identique octet pour octet) ;
        /// sans lui, la base entière.
        bundle: Option<PathBuf>,
        /// Clé publique de la plateforme (hexadécimal) à laquelle comparer celle du dossier ;
        /// par défaut celle du fichier de clé configuré, s'il existe.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Écrit le document de la convention en PDF/A (articles, annexes, certificat de signature),
    /// ou l'annexe d'un réservataire seule ; vérifiable hors ligne par `verify FICHIER.pdf`.
    Document {
        /// Numéro de la convention.
        convention: i64,
        /// Numéro de la version (par défaut : la version courante).
        #[arg(long)]
        version: Option<i64>,
        /// Identifiant d'un réservataire (par exemple etat, commune-69801) : son annexe seule.
        #[arg(long)]
        annexe: Option<String>,
        /// Fichier PDF à écrire.
        #[arg(long)]
        output: PathBuf,
    },
    /// Écrit le dossier de preuve autonome d'une convention (versions, signatures, journal
    /// d'audit, clé publique), vérifiable hors ligne par `verify`.
    ExportBundle {
        /// Numéro de la convention.
        convention: i64,
        /// Fichier de sortie (sinon la sortie standard).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Crée le compte d'un membre du secrétariat d'une CIL (mot de passe lu sur l'entrée
    /// standard ou dans CONVENTION_FLUX_PASSWORD).
    CreateAccount {
        #[arg(long)]
        email: String,
        /// Prénom et nom.
        #[arg(long)]
        name: String,
        /// SIREN de l'EPCI dont la personne anime la CIL.
        #[arg(long)]
        epci: Siren,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

fn parse_cli_date(value: &str) -> Result<NaiveDate, String> {
    parse_date(value).ok_or_else(|| format!("« {value} » n'est pas une date AAAA-MM-JJ"))
}

/// A failure of a command: `User` is the user's to fix (exit 2), `Internal` is ours (exit 1).
#[derive(Debug)]
pub enum Failure {
    User(String),
    Internal(String),
}

impl From<ServiceError> for Failure {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Store(e) => Failure::Internal(e.to_string()),
            ServiceError::Import(ImportError::Rows { errors }) => {
                let mut text = ImportError::rows_message(errors.len());
                for error in &errors {
                    text.push_str("\n  - ");
                    text.push_str(&error.to_string());
                }
                Failure::User(text)
            }
            other => Failure::User(other.to_string()),
        }
    }
}

impl Failure {
    pub fn exit(self) -> ExitCode {
        match self {
            Failure::User(message) => {
                eprintln!("erreur : {message}");
                ExitCode::from(2)
            }
            Failure::Internal(message) => {
                eprintln!("erreur interne : {message}");
                ExitCode::from(1)
            }
        }
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli, settings: Settings) -> Result<(), Failure> {
    match cli.command {
        Command::Serve => {
            let (listener, settings) = bind(&settings).await?;
            let store = open_store(&settings).await?;
            let window = experiment_window(&settings, false)?;
            serve(&settings, store, window, listener, false).await
        }
        Command::Demo { dir, no_serve } => demo(settings, &dir, no_serve).await,
        Command::Migrate => {
            let store = open_store(&settings).await?;
            println!("Base de données à jour ({:?}).", store.backend());
            store.close().await;
            Ok(())
        }
        Command::Import {
            kind,
            file,
            bailleur,
        } => {
            let store = open_store(&settings).await?;
            let summary = import_path(store.as_ref(), kind, &file, bailleur, true).await;
            store.close().await;
            println!("{}", summary?.message);
            Ok(())
        }
        Command::Eligibility {
            siren,
            date,
            format,
        } => {
            let store = open_store(&settings).await?;
            let window = experiment_window(&settings, false)?;
            let date = date.unwrap_or_else(|| chrono::Local::now().date_naive());
            let result = epci_eligibility(store.as_ref(), &siren, &window, date).await;
            store.close().await;
            print_eligibility(&result?, format);
            Ok(())
        }
        Command::Assiette {
            bailleur,
            year,
            lookback,
            axes,
            format,
            from_dir,
        } => {
            assiette(
                &settings,
                &bailleur,
                year,
                lookback,
                axes,
                format,
                from_dir.as_deref(),
            )
            .await
        }
        Command::Conversion {
            bailleur,
            year,
            method,
            lookback,
            format,
        } => {
            let request = crate::services::conversion::Request {
                bailleur,
                year,
                method,
                lookback,
            };
            conversion(&settings, &request, format).await
        }
        Command::Solve { scenario, format } => solve(&settings, &scenario, format),
        Command::Check => check_policies(&settings),
        Command::Verify { bundle, public_key } => {
            conventions::verify(&settings, bundle.as_deref(), public_key.as_deref()).await
        }
        Command::Document {
            convention,
            version,
            annexe,
            output,
        } => conventions::document(&settings, convention, version, annexe, &output).await,
        Command::ExportBundle { convention, output } => {
            conventions::export_bundle(&settings, convention, output.as_deref()).await
        }
        Command::CreateAccount { email, name, epci } => {
            conventions::create_account(&settings, &email, &name, &epci).await
        }
    }
}

fn solve(settings: &Settings, path: &Path, format: OutputFormat) -> Result<(), Failure> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(|e| {
            Failure::User(format!(
                "lecture de l'entrée standard impossible : {}",
                io_reason(&e)
            ))
        })?
    } else {
        std::fs::read_to_string(path).map_err(|e| {
            Failure::User(format!(
                "lecture du scénario {} impossible : {}",
                path.display(),
                io_reason(&e)
            ))
        })?
    };
    let (scenario, report) = crate::services::solve::solve_scenario(&text, &settings.policies_dir)
        .map_err(|e| Failure::User(format!("scénario {} : {e}", path.display())))?;
    match format {
        OutputFormat::Json => println!(
            "{}",
            report
                .to_readable_json()
                .map_err(|e| Failure::Internal(e.to_string()))?
        ),
        OutputFormat::Text => {
            let names = |id: &str| {
                scenario
                    .reservataires
                    .iter()
                    .find(|r| r.id == id)
                    .map_or_else(
                        || "Bailleur (flux non réservé)".to_owned(),
                        |r| format!("{} ({id})", r.name),
                    )
            };
            print!("{}", report.to_text(&names));
        }
    }
    Ok(())
}

fn check_policies(settings: &Settings) -> Result<(), Failure> {
    let dir = &settings.policies_dir;
    let experiment = ExperimentPolicy::load(dir).map_err(|e| Failure::User(e.to_string()))?;
    println!(
        "experiment.toml : valide (durée {} ans, rapport {} mois avant le terme).",
        experiment.duration_years, experiment.report_months_before_end
    );
    let policies =
        crate::policy::rules::check_directory(dir).map_err(|e| Failure::User(e.to_string()))?;
    for policy in policies {
        println!(
            "{}.toml : valide — {} règle(s), empreinte {}{}",
            policy.id,
            policy.rules.len(),
            policy.digest(),
            policy
                .extends
                .as_deref()
                .map(|base| format!(", étend « {base} »"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn print_eligibility(result: &crate::domain::Eligibility, format: OutputFormat) {
    if format == OutputFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(result).unwrap_or_default()
        );
        return;
    }
    println!(
        "{} (SIREN {}) au {} : {}",
        result.epci_name,
        result.epci_siren,
        french_date(result.date),
        if result.eligible {
            "éligible à l'expérimentation"
        } else {
            "non éligible à l'expérimentation"
        }
    );
    for condition in &result.conditions {
        let mark = if condition.met {
            "[remplie]"
        } else {
            "[NON remplie]"
        };
        println!("  {mark} {}", condition.explanation);
    }
    if let Some(deadline) = result.report_deadline {
        println!(
            "  Rapport d'évaluation au Parlement au plus tard le {}.",
            french_date(deadline)
        );
    }
}

/// The assiette from the files of `from_dir`, or else from the database, printed as a French
/// table or as JSON.
async fn assiette(
    settings: &Settings,
    bailleur: &Siren,
    year: i32,
    lookback: u32,
    axes: crate::flux::segment::SegmentAxes,
    format: OutputFormat,
    from_dir: Option<&Path>,
) -> Result<(), Failure> {
    use crate::services::assiette::{PatrimoineCsv, compute, compute_from_csv, french_table};
    let report = if let Some(dir) = from_dir {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| {
                Failure::User(format!(
                    "lecture du fichier {} impossible : {}",
                    path.display(),
                    io_reason(&e)
                ))
            })
        };
        let logements = read("logements.csv")?;
        let liberations = read("liberations.csv")?;
        let exclusions_path = dir.join("exclusions.csv");
        let exclusions = if exclusions_path.exists() {
            Some(read("exclusions.csv")?)
        } else {
            None
        };
        let files = PatrimoineCsv {
            logements: &logements,
            liberations: &liberations,
            exclusions: exclusions.as_deref(),
        };
        compute_from_csv(files, bailleur, year, lookback, axes)?
    } else {
        let store = open_store(settings).await?;
        let result = compute(store.as_ref(), bailleur, year, lookback, axes).await;
        store.close().await;
        result?
    };
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Failure::Internal(e.to_string()))?
        ),
        OutputFormat::Text => print!("{}", french_table(&report)),
    }
    Ok(())
}

/// The conversion of the état des lieux into rates, from the database, as JSON or French text.
async fn conversion(
    settings: &Settings,
    request: &crate::services::conversion::Request,
    format: OutputFormat,
) -> Result<(), Failure> {
    use crate::services::conversion::{Names, compute, french_text};
    let store = open_store(settings).await?;
    let result = match format {
        OutputFormat::Json => compute(store.as_ref(), request).await.map(|c| (c, None)),
        // The text names réservataires and communes: their names are read with the data.
        OutputFormat::Text => tokio::try_join!(
            compute(store.as_ref(), request),
            Names::read(store.as_ref())
        )
        .map(|(c, names)| (c, Some(names))),
    };
    store.close().await;
    let (report, names) = result?;
    match names {
        None => println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Failure::Internal(e.to_string()))?
        ),
        Some(names) => print!("{}", french_text(&report, &names)),
    }
    Ok(())
}

async fn open_store(settings: &Settings) -> Result<Arc<dyn Repository>, Failure> {
    connect(&settings.database_url).await.map_err(|e| match e {
        crate::store::StoreError::InvalidUrl(_) => Failure::User(e.to_string()),
        other => Failure::Internal(other.to_string()),
    })
}

fn experiment_window(settings: &Settings, demo: bool) -> Result<ExperimentWindow, Failure> {
    let policy =
        ExperimentPolicy::load(&settings.policies_dir).map_err(|e| Failure::User(e.to_string()))?;
    let operator_date = settings.experiment_publication_date;
    if demo && operator_date.is_none() && policy.publication_date.is_none() {
        // The demo needs a window to show an eligible EPCI; the date is marked as illustrative
        // wherever it is shown.
        return Ok(policy.window(NaiveDate::from_ymd_opt(2026, 3, 1), true));
    }
    Ok(policy.window(operator_date, false))
}

/// Reads and imports one file, with a progress bar on the terminal when `show_progress`.
pub async fn import_path(
    store: &dyn Repository,
    kind: ImportKind,
    file: &Path,
    bailleur: Option<Siren>,
    show_progress: bool,
) -> Result<ImportSummary, Failure> {
    let bytes = std::fs::read(file).map_err(|e| {
        Failure::User(format!(
            "lecture du fichier {} impossible : {}",
            file.display(),
            io_reason(&e)
        ))
    })?;
    let progress: Arc<dyn Progress> = if show_progress {
        Arc::new(TerminalProgress::new(file))
    } else {
        Arc::new(crate::services::import::NoProgress)
    };
    let result = import_file(store, kind, bytes, bailleur, Arc::clone(&progress)).await;
    drop(progress);
    result.map_err(|e| match e {
        ServiceError::Import(error) => {
            Failure::from(ServiceError::Import(error)).prefixed(&file.display().to_string())
        }
        other => other.into(),
    })
}

impl Failure {
    fn prefixed(self, prefix: &str) -> Self {
        match self {
            Failure::User(m) => Failure::User(format!("{prefix} : {m}")),
            other => other,
        }
    }
}

/// A progress bar on standard error (hidden when it is not a terminal).
struct TerminalProgress {
    bar: ProgressBar,
}

impl TerminalProgress {
    fn new(file: &Path) -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{prefix} {msg} [{bar:30}] {bytes}/{total_bytes}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(
            file.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar }
    }
}

impl Progress for TerminalProgress {
    fn stage(&self, stage: Stage) {
        self.bar.set_message(stage.label());
    }

    fn bytes(&self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The DSFR comes from npm (`npm ci`, never copied into the repository). The demo installs it
/// when it is missing and npm is available; otherwise the pages work unstyled and we say so.
fn ensure_web_assets(settings: &Settings, install: bool) {
    let css = settings
        .web_assets_dir
        .join("@gouvfr/dsfr/dist/dsfr.min.css");
    if css.exists() {
        return;
    }
    if install && Path::new("package-lock.json").exists() {
        eprintln!("Installation du système de design de l'État (DSFR) par npm ci…");
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .status();
        match status {
            Ok(s) if s.success() && css.exists() => return,
            Ok(_) => eprintln!("npm ci a échoué."),
            Err(e) => eprintln!("npm est introuvable ({e})."),
        }
    }
    eprintln!(
        "Attention : DSFR absent de {} (lancez `npm ci` dans le dossier du projet) : les pages s'afficheront sans leur mise en forme.",
        settings.web_assets_dir.display()
    );
}

/// Binds the listening address, and returns the settings whose `base_url` is the address the
/// e-mails' links must use: the operator's, or the one actually bound (port 0 gives a free port,
/// known only now).
async fn bind(settings: &Settings) -> Result<(tokio::net::TcpListener, Settings), Failure> {
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| {
            Failure::User(format!(
                "écoute sur {} impossible ({}) : choisissez une autre adresse avec CONVENTION_FLUX_LISTEN",
                settings.listen,
                io_reason(&e)
            ))
        })?;
    let bound = listener
        .local_addr()
        .map_err(|e| Failure::Internal(e.to_string()))?;
    let mut settings = settings.clone();
    settings.base_url = Some(settings.public_base_url(bound));
    settings.listen = bound;
    Ok((listener, settings))
}

async fn serve(
    settings: &Settings,
    store: Arc<dyn Repository>,
    window: ExperimentWindow,
    listener: tokio::net::TcpListener,
    demo: bool,
) -> Result<(), Failure> {
    ensure_web_assets(settings, false);
    let mut state = app_state(settings, Arc::clone(&store), window)?;
    if demo {
        // The demo's pages show its outbox (« Courriels envoyés »): never a served platform's.
        let templates = Templates::new().map_err(|e| Failure::Internal(e.to_string()))?;
        state.templates = Arc::new(templates.with_demo_mode(true));
    }
    // The signed PDFs of a version locked just before the process stopped, in the background.
    let pending = crate::services::conventions::signing::spawn_pending_signed_documents(
        state.platform.clone(),
    );
    let server = Server::from_listener(listener, settings, state);
    let address = server
        .local_addr()
        .map_err(|e| Failure::Internal(e.to_string()))?;
    println!("convention-flux est disponible à l'adresse http://{address}/ (Ctrl-C pour arrêter).");
    tracing::info!(%address, backend = ?store.backend(), "serveur démarré");
    let (stop_mail, stopped) = tokio::sync::watch::channel(false);
    let worker = match &settings.smtp_url {
        Some(url) => {
            let mailer = crate::mail::Mailer::new(url, &settings.mail_from)
                .map_err(|e| Failure::User(e.to_string()))?
                .with_reminders(crate::mail::Reminders {
                    days_before_deadline: settings.reminder_days_before_deadline,
                    base_url: settings.public_base_url(settings.listen),
                });
            Some(tokio::spawn(crate::mail::run_worker(
                Arc::clone(&store),
                mailer,
                Duration::from_secs(settings.mail_poll_secs.max(1)),
                stopped,
            )))
        }
        None => {
            // On the error stream: standard output carries only the address line, which
            // scripts and tests read and may then close.
            eprintln!(
                "Aucun serveur SMTP configuré (CONVENTION_FLUX_SMTP_URL) : les courriels restent dans la boîte d'envoi."
            );
            None
        }
    };
    let result = server.run(shutdown_signal()).await;
    pending.abort();
    let _ = stop_mail.send(true);
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    store.close().await;
    result.map_err(|e| Failure::Internal(e.to_string()))
}

pub fn app_state(
    settings: &Settings,
    store: Arc<dyn Repository>,
    window: ExperimentWindow,
) -> Result<AppState, Failure> {
    let templates = Templates::new().map_err(|e| Failure::Internal(e.to_string()))?;
    let mut platform = platform(settings, store)?;
    // The server builds each new version's workbook ahead, on the runtime it serves from.
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let versions = Arc::clone(&platform.versions);
        let store = Arc::clone(&platform.store);
        let prebuilder = Prebuilder::start(runtime, store, versions, Timing::default())
            .map_err(|e| Failure::Internal(format!("préparation des classeurs XLSX : {e}")))?;
        platform.prebuild = Some(Arc::new(prebuilder));
    }
    Ok(AppState::new(
        platform,
        Arc::new(templates),
        window,
        settings.operator_token.as_ref(),
        Duration::from_secs(settings.request_timeout_secs),
    )
    .with_assets_dir(&settings.web_assets_dir))
}

/// The keys (created at first start) and shared parts of the convention use cases.
pub fn platform(settings: &Settings, store: Arc<dyn Repository>) -> Result<Platform, Failure> {
    let key = PlatformKey::load_or_create(&settings.platform_key_path)
        .map_err(|e| Failure::User(e.to_string()))?;
    let tokens = TokenKeys::load_or_create(&settings.session_key_path)
        .map_err(|e| Failure::User(e.to_string()))?;
    Ok(Platform {
        store,
        policies_dir: settings.policies_dir.clone(),
        key: Arc::new(key),
        tokens: Arc::new(tokens),
        limiter: Arc::new(LoginLimiter::new(5, 900)),
        versions: Default::default(),
        signing_digests: Default::default(),
        prebuild: None,
        base_url: settings.public_base_url(settings.listen),
    })
}

/// The demo year: the convention being prepared is for next year.
const DEMO_YEAR: i32 = 2027;

async fn demo(settings: Settings, dir: &Path, no_serve: bool) -> Result<(), Failure> {
    let territory = demo_territory(DEMO_YEAR);
    // Bound before the demo conventions are seeded: their e-mails link to the served address.
    let (listener, mut settings) = if no_serve {
        (None, settings)
    } else {
        let (listener, settings) = bind(&settings).await?;
        (Some(listener), settings)
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::User(format!(
            "création du dossier {} impossible : {}",
            dir.display(),
            io_reason(&e)
        ))
    })?;
    let store = open_store(&settings).await?;
    println!("Territoire de démonstration (convention {DEMO_YEAR}) :");
    for file in &territory.files {
        let path = dir.join(file.kind.file_name());
        std::fs::write(&path, &file.csv).map_err(|e| {
            Failure::User(format!(
                "écriture de {} impossible : {}",
                path.display(),
                io_reason(&e)
            ))
        })?;
        let bailleur = file
            .kind
            .needs_bailleur()
            .then(|| territory.bailleur_siren.clone());
        let summary = import_path(store.as_ref(), file.kind, &path, bailleur, true).await?;
        println!("  {}", summary.message);
    }
    if let Some(second) = &territory.second_bailleur {
        let folder = dir.join(&second.folder);
        std::fs::create_dir_all(&folder).map_err(|e| {
            Failure::User(format!(
                "création du dossier {} impossible : {}",
                folder.display(),
                io_reason(&e)
            ))
        })?;
        println!("Second bailleur, {} :", second.name);
        for file in &second.files {
            let path = folder.join(file.kind.file_name());
            std::fs::write(&path, &file.csv).map_err(|e| {
                Failure::User(format!(
                    "écriture de {} impossible : {}",
                    path.display(),
                    io_reason(&e)
                ))
            })?;
            let summary = import_path(
                store.as_ref(),
                file.kind,
                &path,
                Some(second.siren.clone()),
                true,
            )
            .await?;
            println!("  {}", summary.message);
        }
    }
    println!("Fichiers CSV écrits dans {}.", dir.display());
    conventions::seed_demo(&settings, &store, &territory).await?;
    let Some(listener) = listener else {
        store.close().await;
        return Ok(());
    };
    ensure_web_assets(&settings, true);
    if settings.operator_token.is_none() {
        let token = random_token().map_err(Failure::Internal)?;
        println!(
            "Jeton d'exploitation de cette session de démonstration (API d'import) : {}",
            token.expose()
        );
        settings.operator_token = Some(token);
    }
    match &territory.second_bailleur {
        Some(second) => println!(
            "EPCI de démonstration : SIREN {} ; bailleurs : SIREN {} et {}.",
            territory.epci_siren, territory.bailleur_siren, second.siren
        ),
        None => println!(
            "EPCI de démonstration : SIREN {} ; bailleur : SIREN {}.",
            territory.epci_siren, territory.bailleur_siren
        ),
    }
    println!(
        "CIA de l'EPCI (deux versions enregistrées, reprises par les conventions) : /epci/{0}/cia ; vue de la CIL (toutes les conventions face aux objectifs) : /epci/{0}/cil",
        territory.epci_siren
    );
    let window = experiment_window(&settings, true)?;
    serve(&settings, store, window, listener, true).await
}

fn random_token() -> Result<Secret, String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| format!("générateur aléatoire indisponible : {e}"))?;
    Ok(Secret::new(
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    ))
}
