//! Client de charge : N connexions simultanées, chacune sur sa propre connexion HTTP maintenue
//! (keep-alive) et faisant ses requêtes l'une après l'autre, pendant une durée fixée après une
//! mise en route. Compte les réussites (statut 200) et les échecs (tout le reste, signalé),
//! enregistre chaque latence et affiche le débit et les centiles exacts (rang le plus proche sur
//! les mesures triées). Sort en erreur au moindre échec.
//!
//! ```text
//! cargo run --release --example charge -- --base http://127.0.0.1:8080 --convention 1 \
//!     --courriel secretariat@charge.test --mot-de-passe '…'
//! ```
//!
//! Sans `--chemin` ni `--pages`, alterne `/api/conventions/{id}/version` et
//! `/api/conventions/{id}/table`. Les pages HTML reçoivent le jeton aussi en cookie de session ;
//! `--separement` mesure chaque chemin seul, l'un après l'autre ; `--pid-serveur` lit à la fin
//! le pic de mémoire résidente du serveur (`VmHWM` de `/proc/PID/status`).
//!
//! ```text
//! … --separement --connexions 8 --pid-serveur 1234 \
//!     --pages '/,/conventions/{id},/conventions/{id}/assiette,/api/conventions/{id}/table.xlsx'
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderValue};
use serde_json::json;

#[derive(Parser, Clone)]
#[command(about = "Client de charge de l'API des conventions (scripts/charge.sh).")]
struct Options {
    /// Adresse du serveur, par exemple http://127.0.0.1:8080.
    #[arg(long)]
    base: String,
    /// Jeton de session (sinon, --courriel et --mot-de-passe pour se connecter).
    #[arg(long, env = "CHARGE_JETON", hide_env_values = true)]
    jeton: Option<String>,
    /// Adresse électronique du compte, pour se connecter (POST /api/session).
    #[arg(long)]
    courriel: Option<String>,
    /// Mot de passe du compte.
    #[arg(long, env = "CHARGE_MOT_DE_PASSE", hide_env_values = true)]
    mot_de_passe: Option<String>,
    /// Identifiant de la convention lue.
    #[arg(long)]
    convention: i64,
    /// Nombre de connexions simultanées (une requête à la fois sur chacune).
    #[arg(long, default_value_t = 64)]
    connexions: usize,
    /// Durée de la mesure, en secondes.
    #[arg(long, default_value_t = 20.0)]
    duree: f64,
    /// Mise en route avant la mesure (requêtes faites mais non comptées), en secondes.
    #[arg(long, default_value_t = 3.0)]
    mise_en_route: f64,
    /// Chemin à interroger (à répéter ; `{id}` est remplacé par la convention). Par défaut :
    /// /api/conventions/{id}/version et /api/conventions/{id}/table, en alternance.
    #[arg(long = "chemin")]
    chemins: Vec<String>,
    /// Chemins séparés par des virgules (ajoutés à ceux de --chemin), par exemple
    /// `/,/conventions/{id},/conventions/{id}/assiette`.
    #[arg(long, value_delimiter = ',')]
    pages: Vec<String>,
    /// Mesure chaque chemin seul, l'un après l'autre (mise en route et durée pour chacun),
    /// au lieu de les alterner.
    #[arg(long)]
    separement: bool,
    /// Identifiant du processus du serveur (sur cette machine) : son pic de mémoire résidente
    /// est lu à la fin.
    #[arg(long)]
    pid_serveur: Option<u32>,
    /// Fils d'exécution du client (0 : un par cœur).
    #[arg(long, default_value_t = 0)]
    fils: usize,
    /// Écrit aussi les résultats dans ce fichier JSON.
    #[arg(long)]
    sortie_json: Option<PathBuf>,
}

/// What one worker saw.
#[derive(Default)]
struct Tally {
    /// Latency of each successful measured request, in microseconds, per path index.
    latencies: Vec<Vec<u64>>,
    /// Failures (measured or during warm-up), by description.
    failures: BTreeMap<String, u64>,
    warmup_failures: u64,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if options.fils > 0 {
        builder.worker_threads(options.fils);
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("erreur : démarrage de l'exécuteur asynchrone impossible : {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("erreur : {message}");
            ExitCode::FAILURE
        }
    }
}

fn secs(value: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("{what} : « {value} » n'est pas une durée en secondes"))
}

/// A client that keeps exactly one connection open to the server.
fn one_connection_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .pool_idle_timeout(None)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("création du client HTTP impossible : {e}"))
}

async fn run(options: Options) -> Result<bool, String> {
    if options.connexions == 0 {
        return Err("--connexions doit valoir au moins 1".into());
    }
    let measure = secs(options.duree, "--duree")?;
    let warmup = secs(options.mise_en_route, "--mise-en-route")?;
    if measure.is_zero() {
        return Err("--duree doit être positive".into());
    }
    let base = options.base.trim_end_matches('/').to_owned();
    let id = options.convention;
    let asked: Vec<&String> = options
        .chemins
        .iter()
        .chain(&options.pages)
        .filter(|p| !p.trim().is_empty())
        .collect();
    let paths: Vec<String> = if asked.is_empty() {
        vec![
            format!("/api/conventions/{id}/version"),
            format!("/api/conventions/{id}/table"),
        ]
    } else {
        asked
            .iter()
            .map(|p| p.trim().replace("{id}", &id.to_string()))
            .collect()
    };
    let token = match (&options.jeton, &options.courriel, &options.mot_de_passe) {
        (Some(token), _, _) => token.clone(),
        (None, Some(email), Some(password)) => sign_in(&base, email, password).await?,
        _ => {
            return Err(
                "donnez un jeton (--jeton) ou un compte (--courriel et --mot-de-passe)".into(),
            );
        }
    };
    let forbidden = |_| "le jeton contient des caractères interdits dans un en-tête".to_owned();
    let mut auth = HeaderMap::new();
    auth.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(forbidden)?,
    );
    // The pages read the session from its cookie, the API from the header.
    auth.insert(
        COOKIE,
        HeaderValue::from_str(&format!("cf_session={token}")).map_err(forbidden)?,
    );
    let urls: Vec<String> = paths.iter().map(|p| format!("{base}{p}")).collect();

    // Each path must answer before the load starts, so that a wrong id or token is said plainly.
    let probe = one_connection_client()?;
    let mut sizes = Vec::with_capacity(urls.len());
    for url in &urls {
        let began = Instant::now();
        let response = probe
            .get(url)
            .headers(auth.clone())
            .send()
            .await
            .map_err(|e| format!("vérification préalable de {url} : {e}"))?;
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "vérification préalable de {url} : statut {status} : {}",
                excerpt(&String::from_utf8_lossy(&body))
            ));
        }
        println!(
            "  {url} : {} octets, première réponse en {} ms",
            group(body.len() as u64),
            ms(began.elapsed().as_micros() as u64)
        );
        sizes.push(body.len());
    }

    println!(
        "Charge : {} connexions, mesure de {} s après {} s de mise en route{}, sur {base}",
        options.connexions,
        options.duree,
        options.mise_en_route,
        if options.separement {
            " pour chaque chemin"
        } else {
            ""
        }
    );
    if options.separement {
        println!("Chemins (l'un après l'autre) : {}", paths.join(", "));
    } else {
        println!("Chemins (en alternance) : {}", paths.join(", "));
    }
    let mut per_path: Vec<Vec<u64>> = vec![Vec::new(); urls.len()];
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    let mut warmup_failures = 0;
    let groups: Vec<Vec<usize>> = if options.separement {
        (0..urls.len()).map(|i| vec![i]).collect()
    } else {
        vec![(0..urls.len()).collect()]
    };
    for group in groups {
        let phase_urls: Vec<String> = group.iter().map(|&i| urls[i].clone()).collect();
        let tally = load(&options, Arc::new(phase_urls), &auth, warmup, measure).await?;
        for (&i, mine) in group.iter().zip(tally.latencies) {
            per_path[i].extend(mine);
        }
        for (what, count) in tally.failures {
            *failures.entry(what).or_default() += count;
        }
        warmup_failures += tally.warmup_failures;
    }
    let seconds = measure.as_secs_f64();
    report(
        &options,
        &paths,
        &sizes,
        per_path,
        &failures,
        warmup_failures,
        seconds,
    )
}

/// One measure: every connection asks `urls` in turn for the warm-up then the measure.
async fn load(
    options: &Options,
    urls: Arc<Vec<String>>,
    auth: &HeaderMap,
    warmup: Duration,
    measure: Duration,
) -> Result<Tally, String> {
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + warmup;
    let measure_until = measure_from + measure;
    let mut workers = Vec::with_capacity(options.connexions);
    for worker in 0..options.connexions {
        let client = one_connection_client()?;
        let urls = Arc::clone(&urls);
        let auth = auth.clone();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally {
                latencies: vec![Vec::new(); urls.len()],
                ..Tally::default()
            };
            tokio::time::sleep_until(start.into()).await;
            let mut next = worker % urls.len();
            loop {
                let began = Instant::now();
                if began >= measure_until {
                    break;
                }
                let outcome = match client.get(&urls[next]).headers(auth.clone()).send().await {
                    Ok(response) => {
                        let status = response.status();
                        match response.bytes().await {
                            Ok(_) if status == reqwest::StatusCode::OK => Ok(()),
                            Ok(body) => Err(format!(
                                "statut {status} : {}",
                                excerpt(&String::from_utf8_lossy(&body))
                            )),
                            Err(e) => Err(format!("lecture de la réponse : {e}")),
                        }
                    }
                    Err(e) => Err(format!("requête : {e}")),
                };
                let elapsed = began.elapsed();
                match outcome {
                    Ok(()) if began >= measure_from => {
                        tally.latencies[next].push(elapsed.as_micros() as u64);
                    }
                    Ok(()) => {}
                    Err(what) => {
                        if began < measure_from {
                            tally.warmup_failures += 1;
                        }
                        *tally
                            .failures
                            .entry(format!("{} : {what}", urls[next]))
                            .or_default() += 1;
                    }
                }
                next = (next + 1) % urls.len();
            }
            tally
        }));
    }
    let mut total = Tally {
        latencies: vec![Vec::new(); urls.len()],
        ..Tally::default()
    };
    for worker in workers {
        let tally = worker
            .await
            .map_err(|e| format!("un travailleur s'est arrêté anormalement : {e}"))?;
        for (all, mine) in total.latencies.iter_mut().zip(tally.latencies) {
            all.extend(mine);
        }
        for (what, count) in tally.failures {
            *total.failures.entry(what).or_default() += count;
        }
        total.warmup_failures += tally.warmup_failures;
    }
    Ok(total)
}

/// Prints the figures (and writes them as JSON if asked); `false` when a request failed.
fn report(
    options: &Options,
    paths: &[String],
    sizes: &[usize],
    per_path: Vec<Vec<u64>>,
    failures: &BTreeMap<String, u64>,
    warmup_failures: u64,
    seconds: f64,
) -> Result<bool, String> {
    let mut all: Vec<u64> = per_path.iter().flatten().copied().collect();
    all.sort_unstable();
    let errors: u64 = failures.values().sum();
    // Measured one after another, the paths took a measure each.
    let phases = if options.separement { paths.len() } else { 1 };
    let overall = Summary::of(&all, seconds * phases as f64);
    println!(
        "Requêtes réussies mesurées : {} en {} s, soit {} req/s",
        group(all.len() as u64),
        decimal(seconds * phases as f64, 1),
        decimal(overall.rate, 1)
    );
    println!("Latence (toutes requêtes) : {}", overall.latency_line());
    let mut by_path = Vec::new();
    for ((path, mut latencies), size) in paths.iter().zip(per_path).zip(sizes) {
        latencies.sort_unstable();
        let summary = Summary::of(&latencies, seconds);
        println!(
            "  {path} ({} octets) : {} req/s ; {}",
            group(*size as u64),
            decimal(summary.rate, 1),
            summary.latency_line()
        );
        by_path.push(json!({
            "chemin": path, "octets": size, "resultats": summary.to_json(),
        }));
    }
    let peak = options.pid_serveur.map(peak_resident_kib);
    match &peak {
        Some(Ok(kib)) => println!(
            "Pic de mémoire résidente du serveur (VmHWM) : {} Mo",
            decimal(*kib as f64 / 1024.0, 1)
        ),
        Some(Err(why)) => println!("Pic de mémoire du serveur inconnu : {why}"),
        None => {}
    }
    if errors == 0 {
        println!("Erreurs : 0");
    } else {
        println!(
            "Erreurs : {} (dont {} pendant la mise en route)",
            group(errors),
            group(warmup_failures)
        );
        for (what, count) in failures {
            println!("  {} × {what}", group(*count));
        }
    }
    if let Some(path) = &options.sortie_json {
        let report = json!({
            "connexions": options.connexions,
            "duree_s": options.duree,
            "mise_en_route_s": options.mise_en_route,
            "resultats": overall.to_json(),
            "chemins": by_path,
            "separement": options.separement,
            "pic_memoire_serveur_kio": peak.and_then(Result::ok),
            "erreurs": errors,
            "erreurs_detail": failures,
        });
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text)
            .map_err(|e| format!("écriture de {} impossible : {e}", path.display()))?;
    }
    if all.is_empty() && errors == 0 {
        eprintln!("erreur : aucune requête n'a abouti pendant la mesure");
        return Ok(false);
    }
    if errors > 0 {
        eprintln!(
            "erreur : {} requête(s) en échec pendant l'essai",
            group(errors)
        );
    }
    Ok(errors == 0)
}

/// The peak resident set of process `pid` (`VmHWM` of `/proc/PID/status`), in KiB.
fn peak_resident_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("lecture de {path} : {e}"))?;
    vm_hwm_kib(&status).ok_or_else(|| format!("pas de ligne VmHWM lisible dans {path}"))
}

/// The `VmHWM:   123456 kB` line of a `/proc/PID/status` text.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
}

async fn sign_in(base: &str, email: &str, password: &str) -> Result<String, String> {
    let client = one_connection_client()?;
    let response = client
        .post(format!("{base}/api/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .map_err(|e| format!("connexion (POST /api/session) : {e}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status != reqwest::StatusCode::OK {
        return Err(format!(
            "connexion refusée (POST /api/session) : statut {status} : {}",
            excerpt(&body)
        ));
    }
    let value: serde_json::Value = serde_json::from_str(&body)
        .map_err(|_| "connexion : réponse illisible de POST /api/session".to_owned())?;
    value["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "connexion : la réponse de POST /api/session n'a pas de jeton".into())
}

fn excerpt(body: &str) -> String {
    let text: String = body.chars().take(200).collect();
    text.replace('\n', " ")
}

/// Throughput and exact latency percentiles of sorted samples (microseconds).
struct Summary {
    count: usize,
    rate: f64,
    p50: u64,
    p90: u64,
    p99: u64,
    max: u64,
}

/// Nearest-rank percentile: the smallest sample with at least `p` % of the samples at or below it.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Summary {
    fn of(sorted: &[u64], seconds: f64) -> Self {
        Self {
            count: sorted.len(),
            rate: sorted.len() as f64 / seconds,
            p50: percentile(sorted, 50.0),
            p90: percentile(sorted, 90.0),
            p99: percentile(sorted, 99.0),
            max: sorted.last().copied().unwrap_or(0),
        }
    }

    fn latency_line(&self) -> String {
        format!(
            "p50 {} ms · p90 {} ms · p99 {} ms · max {} ms ({} mesures)",
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max),
            group(self.count as u64)
        )
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "requetes": self.count, "req_par_s": self.rate,
            "p50_ms": self.p50 as f64 / 1000.0, "p90_ms": self.p90 as f64 / 1000.0,
            "p99_ms": self.p99 as f64 / 1000.0, "max_ms": self.max as f64 / 1000.0,
        })
    }
}

fn ms(micros: u64) -> String {
    decimal(micros as f64 / 1000.0, 1)
}

/// `value` with `places` decimals, a decimal comma and spaces between thousands (« 2 345,6 »).
fn decimal(value: f64, places: usize) -> String {
    let text = format!("{value:.places$}");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let whole = group(whole.parse().unwrap_or(0));
    if fraction.is_empty() {
        whole
    } else {
        format!("{whole},{fraction}")
    }
}

/// An integer with its thousands separated by spaces (« 45 000 »).
fn group(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), 50);
        assert_eq!(percentile(&samples, 99.0), 99);
        assert_eq!(percentile(&samples, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn peak_memory_from_proc_status() {
        let status = "Name:\tconvention-flux\nVmPeak:\t  900000 kB\nVmHWM:\t  181234 kB\nVmRSS:\t 150000 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(181_234));
        assert_eq!(vm_hwm_kib("VmRSS:\t 150000 kB\n"), None);
        let own = peak_resident_kib(std::process::id()).unwrap();
        assert!(own > 0);
    }

    #[test]
    fn french_numbers() {
        assert_eq!(group(45000), "45 000");
        assert_eq!(group(999), "999");
        assert_eq!(decimal(2345.67, 1), "2 345,7");
    }
}
