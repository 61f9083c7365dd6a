//! Killing the server while signatures are being recorded loses or half-writes nothing: every
//! signature is either whole (row, seal, audit event, lock if last) or absent, and the round
//! can be completed after a restart (issue 4).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use convention_flux::config::Secret;
use convention_flux::services::conventions::demo::DEMO_PASSWORD;
use convention_flux::services::conventions::verification::verify_database;
use convention_flux::signing::PlatformKey;
use convention_flux::store::connect;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_convention-flux");
/// The demo's signatories; the EPCI signs through its secretariat (RULES.md §5).
const PARTIES: [&str; 7] = [
    "secretariat",
    "etat",
    "commune-69801",
    "commune-69802",
    "action-logement",
    "departement-69",
    "bailleur",
];

fn command(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("CONVENTION_FLUX_CONFIG")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("cf.db").display()),
        )
        .env("CONVENTION_FLUX_LOG", "warn")
        .env("CONVENTION_FLUX_PLATFORM_KEY_PATH", dir.join("cle.txt"))
        .env("CONVENTION_FLUX_SESSION_KEY_PATH", dir.join("sessions.txt"));
    command
}

/// Starts `serve` on a free port; returns the process and its base URL.
fn serve(dir: &Path) -> (Child, String) {
    let mut child = command(dir)
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
        .expect("the server prints its address")
        .trim_end_matches('/')
        .to_owned();
    (child, url)
}

struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    async fn login(&self, party: &str) -> String {
        let r: Value = self
            .client
            .post(format!("{}/api/session", self.base))
            .json(&json!({"email": format!("{party}@demo.convention-flux.fr"), "password": DEMO_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["token"].as_str().expect("a session").to_owned()
    }

    async fn call(&self, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await;
        match response {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            // The server was killed while answering.
            Err(_) => (0, Value::Null),
        }
    }
}

async fn signatures_now(dir: &Path, id: i64) -> usize {
    use sqlx::Connection;
    let url = format!("sqlite://{}", dir.join("cf.db").display());
    let mut c = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("the test reads the database while the server writes");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signature WHERE convention_id = $1")
        .bind(id)
        .fetch_one(&mut c)
        .await
        .expect("count the signatures");
    usize::try_from(n).unwrap_or(0)
}

struct Facts {
    signatures: usize,
    signature_events: usize,
    state: String,
    locked: bool,
    findings: Vec<String>,
}

async fn facts(dir: &Path, id: i64) -> Facts {
    let store = connect(&Secret::new(format!(
        "sqlite://{}",
        dir.join("cf.db").display()
    )))
    .await
    .unwrap();
    let key = PlatformKey::load_or_create(&dir.join("cle.txt")).unwrap();
    let verification = verify_database(store.as_ref(), &key.public_key_hex())
        .await
        .unwrap();
    let snap = store.snapshot(id).await.unwrap().unwrap();
    let events = store.audit_events(id).await.unwrap();
    let facts = Facts {
        signatures: snap.signatures.len(),
        signature_events: events.iter().filter(|e| e.kind == "signature").count(),
        state: snap.convention.state.as_str().to_owned(),
        locked: snap.current.as_ref().is_some_and(|v| v.locked),
        findings: verification
            .findings
            .iter()
            .map(|f| format!("{} — {}", f.location, f.problem))
            .collect(),
    };
    store.close().await;
    facts
}

fn assert_whole(f: &Facts, when: &str) {
    assert!(f.findings.is_empty(), "{when}: {:#?}", f.findings);
    assert_eq!(
        f.signatures, f.signature_events,
        "{when}: every signature has its audit event"
    );
    let complete = f.signatures == PARTIES.len();
    assert_eq!(f.locked, complete, "{when}: locked iff every party signed");
    assert_eq!(
        f.state,
        if complete { "signee" } else { "signature" },
        "{when}"
    );
}

/// Brings the demo's convention in concertation to a signing round of every party.
async fn open_round(api: &Api, id: i64) -> String {
    let sec = api.login("secretariat").await;
    for (party, share) in [
        ("commune-69802", "15"),
        ("action-logement", "20"),
        ("departement-69", "5"),
    ] {
        let token = api.login(party).await;
        let body = common::harness::proposal(share);
        let r = api
            .call(
                &token,
                "POST",
                &format!("/api/conventions/{id}/proposals/{party}/publish"),
                body,
            )
            .await;
        assert_eq!(r.0, 201, "{r:?}");
    }
    let bailleur = api.login("bailleur").await;
    let commitments =
        json!({"commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}});
    let r = api
        .call(
            &bailleur,
            "POST",
            &format!("/api/conventions/{id}/proposals/bailleur/publish"),
            commitments,
        )
        .await;
    assert_eq!(r.0, 201, "{r:?}");
    let r = api
        .call(
            &sec,
            "POST",
            &format!("/api/conventions/{id}/consolidate"),
            json!({"based_on": "proposals"}),
        )
        .await;
    assert_eq!(r.0, 201, "{r:?}");
    let r = api
        .call(
            &sec,
            "POST",
            &format!("/api/conventions/{id}/signing"),
            json!({}),
        )
        .await;
    assert_eq!(r.0, 201, "{r:?}");
    let r = api
        .call(
            &sec,
            "GET",
            &format!("/api/conventions/{id}/version"),
            Value::Null,
        )
        .await;
    r.1["hash"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_during_signing_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().to_path_buf();
    let demo = command(&dir)
        .args(["demo", "--no-serve", "--dir"])
        .arg(dir.join("csv"))
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let id = 2; // the demo's convention in concertation
    let (mut server, base) = serve(&dir);
    let mut api = Api {
        base,
        client: reqwest::Client::new(),
    };
    let hash = open_round(&api, id).await;
    let mut tokens = Vec::new();
    for party in PARTIES {
        tokens.push(api.login(party).await);
    }
    // Kill while signatures are in flight, at three moments; then restart and finish. Sessions
    // survive the restart (the session key is a file).
    // 0 means: let every request finish, then stop the server.
    for kill_after in [1usize, 2, 0] {
        let before = signatures_now(&dir, id).await;
        // The parties sign one after the other, as they would in real life.
        let pending = {
            let api = Api {
                base: api.base.clone(),
                client: reqwest::Client::new(),
            };
            let (tokens, hash) = (tokens.clone(), hash.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for token in tokens {
                    let path = format!("/api/conventions/{id}/signatures");
                    let body = json!({"password": DEMO_PASSWORD, "version_hash": hash});
                    let answer = api.call(&token, "POST", &path, body).await;
                    let killed = answer.0 == 0;
                    answers.push(answer);
                    if killed {
                        break;
                    }
                }
                answers
            })
        };
        if kill_after > 0 {
            // Kill as soon as the database holds `kill_after` new signatures: the others are
            // then in flight (password checked, transaction under way or queued).
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while signatures_now(&dir, id).await < before + kill_after
                && std::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            server.kill().unwrap();
        }
        for (status, body) in pending.await.unwrap() {
            assert!(
                matches!(status, 0 | 201 | 409),
                "unexpected answer {status} {body}"
            );
        }
        if kill_after == 0 {
            server.kill().unwrap();
        }
        server.wait().unwrap();
        let f = facts(&dir, id).await;
        let when = format!("after a kill once {kill_after} more signature(s) were stored");
        eprintln!("{when}: {} signature(s)", f.signatures);
        assert_whole(&f, &when);
        if kill_after == 0 {
            assert_eq!(
                f.signatures,
                PARTIES.len(),
                "every party could sign after the restarts"
            );
            return;
        }
        let (restarted, base) = serve(&dir);
        server = restarted;
        api.base = base;
    }
}
