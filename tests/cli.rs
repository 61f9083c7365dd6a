//! The `convention-flux` binary as a user runs it: exit codes, French messages, the demo, a
//! server stopped by a signal, and an import killed half-way that leaves nothing half-written.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::fixtures::{demo, demo_communes, large_logements_csv};
use convention_flux::config::Secret;
use convention_flux::store::{KeySet, connect};

const BIN: &str = env!("CARGO_BIN_EXE_convention-flux");

fn command(db: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("CONVENTION_FLUX_CONFIG")
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("CONVENTION_FLUX_LOG", "warn");
    // The generated keys stay in the test's folder.
    if let Some(dir) = db.parent() {
        command
            .env(
                "CONVENTION_FLUX_PLATFORM_KEY_PATH",
                dir.join("cle-plateforme.txt"),
            )
            .env(
                "CONVENTION_FLUX_SESSION_KEY_PATH",
                dir.join("cle-sessions.txt"),
            );
    }
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the binary runs")
}

/// Writes and imports the demo without serving; returns the folder of its files.
fn demo_without_server(dir: &Path) -> std::path::PathBuf {
    let files = dir.join("demo");
    let output = run(command(&dir.join("cf.db"))
        .args(["demo", "--no-serve", "--dir"])
        .arg(&files));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("logements.csv : "), "{stdout}");
    files
}

#[test]
fn the_demo_writes_the_committed_example_files_and_imports_them() {
    let dir = tempfile::tempdir().unwrap();
    let files = demo_without_server(dir.path());
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    for kind in convention_flux::import::ImportKind::ALL {
        let written = std::fs::read_to_string(files.join(kind.file_name())).unwrap();
        let shipped = std::fs::read_to_string(committed.join(kind.file_name())).unwrap();
        assert!(
            written == shipped,
            "examples/demo/{} differs from the demo's output: regenerate it with `cargo run -- demo --no-serve`",
            kind.file_name()
        );
    }
    // The second bailleur's own files, in their folder.
    let second = demo().second_bailleur.expect("a second bailleur");
    for file in &second.files {
        let path = Path::new(&second.folder).join(file.kind.file_name());
        let written = std::fs::read_to_string(files.join(&path)).unwrap();
        let shipped = std::fs::read_to_string(committed.join(&path)).unwrap();
        assert!(written == file.csv, "{}", path.display());
        assert!(
            written == shipped,
            "examples/demo/{} differs from the demo's output: regenerate it with `cargo run -- demo --no-serve`",
            path.display()
        );
    }
}

#[test]
fn a_bad_file_exits_2_and_names_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    demo_without_server(dir.path());
    let file = dir.path().join("liberations.csv");
    std::fs::write(
        &file,
        "rpls_id;date_liberation\nINCONNU;2025-01-01\n;31/02/2025\n",
    )
    .unwrap();
    let output = run(command(&dir.path().join("cf.db"))
        .args(["import", "liberations"])
        .arg(&file)
        .args(["--bailleur", demo().bailleur_siren.as_str()]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("ligne 3, colonne « rpls_id » : valeur obligatoire absente"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ligne 3, colonne « date_liberation »"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn usage_errors_are_reported_in_french_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cf.db");
    let output = run(command(&db).args([
        "import",
        "logements",
        "absent.csv",
        "--bailleur",
        "270690001",
    ]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr
            .contains("lecture du fichier absent.csv impossible : fichier ou dossier introuvable"),
        "{stderr}"
    );
    // The system's own English message never reaches the user.
    assert!(!stderr.contains("os error"), "{stderr}");
    let output = run(command(&db).args(["solve"]).arg(dir.path()));
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("impossible : c'est un dossier, pas un fichier"),
        "{stderr}"
    );
    let output = run(command(&db).args(["import", "logements", "x.csv"]));
    assert_eq!(output.status.code(), Some(2));
    let output = run(command(&db).args(["import", "chaussettes", "x.csv"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("types admis"));
    let config = dir.path().join("cf.toml");
    std::fs::write(&config, "port = 80\n").unwrap();
    let output = run(command(&db).arg("--config").arg(&config).arg("migrate"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("clé inconnue « port »"),
        "{}",
        text(&output.stderr)
    );
    let output = run(command(&db)
        .env("DATABASE_URL", "mysql://x/y")
        .arg("migrate"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("schéma"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn eligibility_explains_each_condition() {
    let dir = tempfile::tempdir().unwrap();
    demo_without_server(dir.path());
    let siren = demo().epci_siren;
    let output = run(command(&dir.path().join("cf.db"))
        .env("CONVENTION_FLUX_EXPERIMENT_PUBLICATION_DATE", "2026-03-01")
        .args(["eligibility", siren.as_str(), "--date", "2027-01-15"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(": éligible à l'expérimentation"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("[remplie]").count(), 4, "{stdout}");
    let output = run(command(&dir.path().join("cf.db")).args([
        "eligibility",
        siren.as_str(),
        "--format",
        "json",
    ]));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json["eligible"], false,
        "no publication date is set outside the demo"
    );
}

#[test]
fn the_server_prints_its_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = command(&dir.path().join("cf.db"))
        .env("CONVENTION_FLUX_LISTEN", "127.0.0.1:0")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("an address")
        .to_owned();
    let health = reqwest::blocking_get(&format!("{url}health"));
    assert!(health.contains("\"statut\":\"ok\""), "{health}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = wait_for(&mut child, Duration::from_secs(20));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
}

/// Without `base_url`, the e-mails' links name the address the server actually listens on: with
/// `listen` on port 0, the free port it got (they used to point to the default port 8080).
#[test]
fn invitation_links_follow_the_bound_port_when_base_url_is_unset() {
    let dir = tempfile::tempdir().unwrap();
    demo_without_server(dir.path());
    let db = dir.path().join("cf.db");
    let mut child = command(&db)
        .env("CONVENTION_FLUX_LISTEN", "127.0.0.1:0")
        .env_remove("CONVENTION_FLUX_BASE_URL")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("an address")
        .to_owned();
    let port = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    assert!(port != "0" && port != "8080", "{url}");
    let login = reqwest::blocking_request(
        "POST",
        &format!("{url}api/session"),
        None,
        r#"{"email": "secretariat@demo.convention-flux.fr", "password": "demo-convention-flux"}"#,
    );
    let token = login
        .split("\"token\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no session token: {login}"))
        .to_owned();
    let invited = reqwest::blocking_request(
        "POST",
        &format!("{url}api/conventions/2/invitations"),
        Some(&token),
        r#"{"email": "nouvelle@exemple.fr", "name": "Nouvelle Personne", "organisation": "Commune",
            "role": "observer", "party": "", "mandate": ""}"#,
    );
    assert!(invited.starts_with("HTTP/1.1 2"), "{invited}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    wait_for(&mut child, Duration::from_secs(20));
    let body = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = connect(&Secret::new(format!("sqlite://{}", db.display())))
            .await
            .unwrap();
        let outbox = store.outbox().await.unwrap();
        store.close().await;
        outbox
            .into_iter()
            .find(|m| m.to == "nouvelle@exemple.fr")
            .expect("the invitation e-mail")
            .body_text
    });
    assert!(
        body.contains(&format!("{url}invitation/")),
        "the link does not name {url}: {body}"
    );
}

/// A release-size file killed during its import leaves either nothing or everything.
#[test]
fn killing_an_import_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    demo_without_server(dir.path());
    let demo = demo();
    let file = dir.path().join("gros.csv");
    std::fs::write(
        &file,
        large_logements_csv(120_000, &demo_communes(&demo), None),
    )
    .unwrap();
    let db = dir.path().join("cf.db");
    let before = stored_logements(&db, &demo.bailleur_siren);
    for delay_ms in [150, 600, 1500] {
        let mut child = command(&db)
            .args(["import", "logements"])
            .arg(&file)
            .args(["--bailleur", demo.bailleur_siren.as_str()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let count = stored_logements(&db, &demo.bailleur_siren);
        assert!(
            count == before || count == before + 120_000,
            "after a kill at {delay_ms} ms: {count} dwellings"
        );
    }
    let output = run(command(&db)
        .args(["import", "logements"])
        .arg(&file)
        .args(["--bailleur", demo.bailleur_siren.as_str()]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        stored_logements(&db, &demo.bailleur_siren),
        before + 120_000
    );
}

fn stored_logements(db: &Path, bailleur: &convention_flux::domain::Siren) -> usize {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = connect(&Secret::new(format!("sqlite://{}", db.display())))
            .await
            .unwrap();
        let n = store
            .known_keys(KeySet::Logements(bailleur.clone()))
            .await
            .unwrap()
            .len();
        store.close().await;
        n
    })
}

fn wait_for(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

mod reqwest {
    /// A plain HTTP/1.1 request with a JSON body (and a session token): the whole response.
    pub fn blocking_request(method: &str, url: &str, token: Option<&str>, json: &str) -> String {
        use std::io::{Read, Write};
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest
            .split_once('/')
            .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
            json.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    /// A plain HTTP/1.1 GET over a socket: the test needs no async runtime for one request.
    pub fn blocking_get(url: &str) -> String {
        use std::io::{Read, Write};
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest
            .split_once('/')
            .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }
}
