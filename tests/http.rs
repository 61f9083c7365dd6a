//! The HTTP server, started for real on a free port and driven over loopback.

mod common;

use std::net::SocketAddr;

use chrono::NaiveDate;
use common::TestDb;
use common::fixtures::demo;
use convention_flux::cli::app_state;
use convention_flux::config::{Secret, Settings};
use convention_flux::domain::ExperimentWindow;
use convention_flux::http::Server;
use convention_flux::import::ImportKind;
use serde_json::Value;

const TOKEN: &str = "jeton-de-test-0123456789";

struct Running {
    base: String,
    client: reqwest::Client,
    _db: TestDb,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start(token: Option<&str>, body_limit: usize) -> Running {
    let db = TestDb::sqlite().await;
    let settings = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        operator_token: token.map(Secret::new),
        body_limit_bytes: body_limit,
        ..Settings::default()
    };
    let window = ExperimentWindow {
        publication_date: NaiveDate::from_ymd_opt(2026, 3, 1),
        duration_years: 5,
        report_months_before_end: 6,
        illustrative: true,
    };
    let state = app_state(&settings, db.store.clone(), window).unwrap_or_else(|_| panic!("state"));
    let server = Server::build(&settings, state).await.unwrap();
    let address = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Running {
        base: format!("http://{address}"),
        client: reqwest::Client::new(),
        _db: db,
        stop: Some(stop),
    }
}

impl Running {
    async fn post_csv(
        &self,
        kind: ImportKind,
        query: &str,
        body: Vec<u8>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/api/imports/{}{query}", self.base, kind.name()))
            .header("content-type", "text/csv")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn import_demo(&self) {
        let demo = demo();
        for file in &demo.files {
            let query = if file.kind.needs_bailleur() {
                format!("?bailleur={}", demo.bailleur_siren)
            } else {
                String::new()
            };
            let (status, body) = self
                .post_csv(
                    file.kind,
                    &query,
                    file.csv.clone().into_bytes(),
                    Some(TOKEN),
                )
                .await;
            assert_eq!(status, 200, "{}: {body}", file.kind);
        }
    }
}

#[tokio::test]
async fn health_reports_the_engine() {
    let app = start(None, 1 << 20).await;
    let (status, body) = app.get_json("/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["statut"], "ok");
    assert_eq!(body["base"], "sqlite");
}

/// Under `/api`, the JSON error; elsewhere a French page (tests/pages.rs shows the page).
#[tokio::test]
async fn unknown_addresses_get_a_french_json_error() {
    let app = start(None, 1 << 20).await;
    let (status, body) = app.get_json("/api/nulle/part").await;
    assert_eq!(status, 404);
    assert_eq!(body["erreur"]["code"], "introuvable");
    assert!(
        body["erreur"]["message"]
            .as_str()
            .unwrap()
            .contains("/nulle/part")
    );
}

#[tokio::test]
async fn imports_need_the_operator_token() {
    let closed = start(None, 1 << 20).await;
    let (status, body) = closed
        .post_csv(
            ImportKind::Bailleurs,
            "",
            common::csv(&["siren;nom", "552081317;X"]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(
        (status, body["erreur"]["code"].as_str()),
        (403, Some("interdit"))
    );
    let app = start(Some(TOKEN), 1 << 20).await;
    let (status, body) = app
        .post_csv(
            ImportKind::Bailleurs,
            "",
            common::csv(&["siren;nom", "552081317;X"]),
            None,
        )
        .await;
    assert_eq!(
        (status, body["erreur"]["code"].as_str()),
        (401, Some("non_authentifie"))
    );
    let (status, _) = app
        .post_csv(
            ImportKind::Bailleurs,
            "",
            common::csv(&["siren;nom", "552081317;X"]),
            Some("mauvais"),
        )
        .await;
    assert_eq!(status, 401);
    let (_, bailleurs) = app.get_json("/api/bailleurs").await;
    assert_eq!(bailleurs, Value::Array(vec![]), "nothing was written");
}

#[tokio::test]
async fn an_import_reports_counts_then_row_errors_in_french() {
    let app = start(Some(TOKEN), 1 << 20).await;
    app.import_demo().await;
    let demo = demo();
    let (status, body) = app
        .post_csv(
            ImportKind::Liberations,
            &format!("?bailleur={}", demo.bailleur_siren),
            common::csv(&[
                "rpls_id;date_liberation",
                "INCONNU;2025-02-30",
                "AUTRE;2025-01-01",
            ]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["erreur"]["code"], "lignes_invalides");
    let lignes = body["erreur"]["lignes"].as_array().unwrap();
    assert_eq!(lignes[0]["line"], 2);
    assert_eq!(lignes[0]["column"], "date_liberation");
    assert!(
        lignes[0]["expected"]
            .as_str()
            .unwrap()
            .contains("AAAA-MM-JJ")
    );
    let (status, body) = app
        .post_csv(
            ImportKind::Liberations,
            "",
            common::csv(&["rpls_id;date_liberation"]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(
        (status, body["erreur"]["code"].as_str()),
        (400, Some("requete_invalide"))
    );
    let (status, body) = app
        .post_csv(
            ImportKind::Bailleurs,
            "",
            b"PK\x03\x04xlsx".to_vec(),
            Some(TOKEN),
        )
        .await;
    assert_eq!(
        (status, body["erreur"]["code"].as_str()),
        (422, Some("fichier_invalide"))
    );
    assert!(
        body["erreur"]["message"]
            .as_str()
            .unwrap()
            .contains("Excel")
    );
    let response = app
        .client
        .post(format!("{}/api/imports/inconnu", app.base))
        .bearer_auth(TOKEN)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let app = start(Some(TOKEN), 1024).await;
    let big = vec![b'a'; 4096];
    let (status, body) = app
        .post_csv(ImportKind::Bailleurs, "", big, Some(TOKEN))
        .await;
    assert_eq!(
        (status, body["erreur"]["code"].as_str()),
        (413, Some("trop_volumineux"))
    );
}

#[tokio::test]
async fn eligibility_and_the_home_page_show_the_territory() {
    let app = start(Some(TOKEN), 1 << 20).await;
    app.import_demo().await;
    let siren = demo().epci_siren;
    let (status, body) = app
        .get_json(&format!("/api/epci/{siren}/eligibilite?date=2027-01-15"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["eligible"], true);
    assert_eq!(body["conditions"].as_array().unwrap().len(), 4);
    let (status, body) = app
        .get_json(&format!("/api/epci/{siren}/eligibilite?date=2031-03-01"))
        .await;
    assert_eq!((status, body["eligible"].as_bool()), (200, Some(false)));
    let (status, body) = app
        .get_json(&format!("/api/epci/{siren}/eligibilite?date=demain"))
        .await;
    assert_eq!(
        (status, body["erreur"]["code"].as_str()),
        (400, Some("requete_invalide"))
    );
    let (status, _) = app.get_json("/api/epci/123/eligibilite").await;
    assert_eq!(status, 400);
    let (status, _) = app.get_json("/api/epci/552081317/eligibilite").await;
    assert_eq!(status, 404);
    let (_, communes) = app.get_json(&format!("/api/epci/{siren}/communes")).await;
    assert!(communes.as_array().unwrap().len() >= 15);
    let html = app
        .client
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"fr\""));
    assert!(html.contains("Éligible"));
    assert!(html.contains("illustrative"));
    let (_, formats) = app.get_json("/api/imports").await;
    assert_eq!(formats.as_array().unwrap().len(), ImportKind::ALL.len());
}

#[tokio::test]
async fn the_solver_answers_over_http_with_the_same_report() {
    let app = start(None, 1 << 20).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = std::fs::read_to_string(root.join("examples/scenario-exemple.json")).unwrap();
    let response = app
        .client
        .post(format!("{}/api/solve", app.base))
        .body(scenario.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let report: Value = response.json().await.unwrap();
    let shipped: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("examples/scenario-exemple.rapport.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report, shipped);
    let bad = scenario.replace("\"year\": 2027", "\"year\": \"2027\"");
    let response = app
        .client
        .post(format!("{}/api/solve", app.base))
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["erreur"]["code"], "requete_invalide");
    assert!(
        body["erreur"]["message"]
            .as_str()
            .unwrap()
            .contains("Champ year"),
        "{body}"
    );
}
