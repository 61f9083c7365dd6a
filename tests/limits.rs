//! Trust limits (issue 15): security headers, on the real server over loopback.

mod common;

use std::net::SocketAddr;

use chrono::NaiveDate;
use common::TestDb;
use common::harness::{Harness, PASSWORD};
use convention_flux::cli::app_state;
use convention_flux::config::Settings;
use convention_flux::domain::ExperimentWindow;
use convention_flux::http::Server;
use convention_flux::services::conventions::members::create_account;
use convention_flux::store::conventions::NewOrganisation;
use serde_json::json;

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

/// The server as `serve` builds it, with `base_url` and a request timeout.
async fn start(base_url: &str, timeout_secs: u64) -> Running {
    let db = TestDb::sqlite().await;
    let keys = tempfile::tempdir().unwrap().keep();
    let settings = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        base_url: base_url.into(),
        request_timeout_secs: timeout_secs,
        platform_key_path: keys.join("cle.txt"),
        session_key_path: keys.join("sessions.txt"),
        ..Settings::default()
    };
    let window = ExperimentWindow {
        publication_date: NaiveDate::from_ymd_opt(2026, 3, 1),
        duration_years: 5,
        report_months_before_end: 6,
        illustrative: true,
    };
    let state = app_state(&settings, db.store.clone(), window).unwrap_or_else(|_| panic!("state"));
    create_account(
        &state.platform,
        "secretariat@cil.test",
        "Claire Secrétariat",
        NewOrganisation {
            kind: "epci".into(),
            name: "Métropole".into(),
            reference: "200999803".into(),
        },
        PASSWORD,
    )
    .await
    .unwrap();
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

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn assert_security_headers(response: &reqwest::Response, what: &str) {
    let csp = header(response, "content-security-policy");
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.starts_with(name))
            .unwrap_or_else(|| panic!("{what}: no {name} in « {csp} »"))
            .to_owned()
    };
    assert_eq!(
        directive("frame-ancestors"),
        "frame-ancestors 'none'",
        "{what}"
    );
    assert_eq!(directive("script-src"), "script-src 'self'", "{what}");
    assert_eq!(directive("object-src"), "object-src 'none'", "{what}");
    assert_eq!(
        header(response, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(header(response, "referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header(response, "x-frame-options"), "DENY", "{what}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_dynamic_ones_no_store() {
    let app = start("http://plateforme.test", 60).await;
    for path in [
        "/",
        "/connexion",
        "/api/openapi.json",
        "/health",
        "/nulle-part",
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_security_headers(&response, path);
        assert_eq!(header(&response, "cache-control"), "no-store", "{path}");
        assert_eq!(
            header(&response, "strict-transport-security"),
            "",
            "{path}: http"
        );
    }
    // The DSFR's static files may be cached; they still carry the headers.
    let css = app
        .client
        .get(format!("{}/dsfr/dsfr.min.css", app.base))
        .send()
        .await
        .unwrap();
    assert_security_headers(&css, "/dsfr/dsfr.min.css");
    assert_ne!(header(&css, "cache-control"), "no-store");
    // Over http the session cookie cannot be Secure (the browser would drop it).
    let login = app
        .client
        .post(format!("{}/api/session", app.base))
        .json(&json!({"email": "secretariat@cil.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let cookie = header(&login, "set-cookie");
    assert!(cookie.starts_with("cf_session="), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert_eq!(header(&login, "cache-control"), "no-store");
}

#[tokio::test]
async fn over_https_the_session_cookie_is_secure_and_hsts_is_sent() {
    let app = start("https://convention-flux.example.gouv.fr", 60).await;
    let login = app
        .client
        .post(format!("{}/api/session", app.base))
        .json(&json!({"email": "secretariat@cil.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let cookie = header(&login, "set-cookie");
    assert!(cookie.starts_with("cf_session="), "{cookie}");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly; SameSite=Strict"), "{cookie}");
    assert_eq!(
        header(&login, "strict-transport-security"),
        "max-age=63072000; includeSubDomains"
    );
    assert_security_headers(&login, "POST /api/session");
    // The sign-out cookie (from a page form) is Secure too.
    let logout = app
        .client
        .delete(format!("{}/api/session", app.base))
        .send()
        .await
        .unwrap();
    let cookie = header(&logout, "set-cookie");
    assert!(cookie.contains("Max-Age=0; Secure"), "{cookie}");
    let home = app.client.get(&app.base).send().await.unwrap();
    assert!(!header(&home, "strict-transport-security").is_empty());
}

/// The pages of a convention as its secretariat sees them, and the API answers: never stored,
/// so that « Précédent » after signing out shows nothing.
async fn authenticated_pages_and_answers_are_not_stored(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    for path in [
        format!("/conventions/{id}"),
        format!("/api/conventions/{id}"),
        format!("/api/conventions/{id}/table.csv"),
    ] {
        let response = h
            .client
            .get(format!("{}{path}", h.base))
            .header("cookie", format!("cf_session={}", sec.token))
            .bearer_auth(&sec.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert_eq!(header(&response, "cache-control"), "no-store", "{path}");
        assert_security_headers(&response, &path);
    }
}

on_both_engines!(authenticated_pages_and_answers_are_not_stored);
