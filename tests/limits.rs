//! Trust limits (issue 15): security headers and input limits, on the real server over loopback.

mod common;

use std::net::SocketAddr;

use chrono::NaiveDate;
use common::TestDb;
use common::harness::{Harness, PASSWORD, proposal};
use convention_flux::cli::app_state;
use convention_flux::config::Settings;
use convention_flux::domain::ExperimentWindow;
use convention_flux::http::Server;
use convention_flux::services::conventions::members::create_account;
use convention_flux::store::conventions::NewOrganisation;
use serde_json::{Value, json};

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

/// Text fields, percentages and addresses: each refusal names the field in French words.
async fn inputs_are_bounded_and_refusals_name_the_field(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    let refused = |status: u16, body: &Value| -> String {
        assert_eq!(status, 400, "{body}");
        body["erreur"]["message"].as_str().unwrap().to_owned()
    };
    // E-mail addresses of invitations.
    for email in [
        "claire",
        "claire@rhone",
        "a b@rhone.fr",
        "x@rhone.fr\r\nBcc: y@z.fr",
    ] {
        let (status, body) = h
            .call(
                Some(&sec),
                "POST",
                &format!("/api/conventions/{id}/invitations"),
                Some(
                    json!({"email": email, "name": "Claire", "organisation": "Préfecture",
                            "role": "observer"}),
                ),
            )
            .await;
        let message = refused(status, &body);
        assert!(message.starts_with("adresse électronique : "), "{message}");
    }
    let (status, body) = h
        .call(
            Some(&sec),
            "POST",
            &format!("/api/conventions/{id}/invitations"),
            Some(
                json!({"email": "claire@rhone.gouv.fr", "name": "C".repeat(201),
                        "organisation": "Préfecture", "role": "observer"}),
            ),
        )
        .await;
    assert_eq!(
        refused(status, &body),
        "nom de la personne invitée : 201 caractères, au plus 200 sont admis"
    );
    let (status, body) = h
        .call(
            Some(&sec),
            "POST",
            &format!("/api/conventions/{id}/invitations"),
            Some(json!({"email": "claire@rhone.gouv.fr", "name": "Claire",
                        "organisation": "Préfecture", "role": "observer",
                        "mandate": "m".repeat(501)})),
        )
        .await;
    assert!(refused(status, &body).starts_with("mandat : 501 caractères"));
    // Clauses.
    let (status, body) = h
        .call(
            Some(&sec),
            "PUT",
            &format!("/api/conventions/{id}/clauses"),
            Some(
                json!({"clauses": [{"id": "objet", "title": "Objet", "text": "x".repeat(20_001)}]}),
            ),
        )
        .await;
    assert_eq!(
        refused(status, &body),
        "texte de la clause n° 1 : 20001 caractères, au plus 20000 sont admis"
    );
    // Comments and their anchors.
    let (status, body) = h
        .call(
            Some(&sec),
            "POST",
            &format!("/api/conventions/{id}/comments"),
            Some(json!({"anchor_kind": "clause", "anchor_ref": "nulle-part", "body": "Bonjour"})),
        )
        .await;
    let message = refused(status, &body);
    assert!(message.starts_with("élément commenté : "), "{message}");
    assert!(!message.contains("anchor"), "{message}");
    let (status, body) = h
        .call(
            Some(&sec),
            "POST",
            &format!("/api/conventions/{id}/comments"),
            Some(
                json!({"anchor_kind": "objective", "anchor_ref": "priority_min",
                        "body": "x".repeat(10_001)}),
            ),
        )
        .await;
    assert!(refused(status, &body).starts_with("texte du commentaire : 10001 caractères"));
    // Percentages: one syntax, one stored form.
    let objectives = |priority: &str| {
        json!({"objectives": {"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50",
                              "priority_min": priority}})
    };
    let (status, body) = h
        .call(
            Some(&sec),
            "PUT",
            &format!("/api/conventions/{id}/objectives"),
            Some(objectives("1e2")),
        )
        .await;
    let message = refused(status, &body);
    assert!(
        message.contains("objectif « ménages prioritaires » (%) (objectifs de la CIA) : « 1e2 » n'est pas un pourcentage"),
        "{message}"
    );
    assert!(!message.contains("priority_min"), "{message}");
    h.ok(
        &sec,
        "PUT",
        &format!("/api/conventions/{id}/objectives"),
        Some(objectives("27,50")),
    )
    .await;
    let version = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    assert_eq!(
        version["document"]["scenario"]["objectives"]["priority_min"],
        "27.5"
    );
    // A party's proposal.
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/transitions/open"),
        Some(json!({})),
    )
    .await;
    let etat = h
        .invite(&sec, id, "etat@prefecture.test", "signatory", "etat")
        .await;
    let (status, body) = h
        .call(
            Some(&etat),
            "POST",
            &format!("/api/conventions/{id}/proposals/etat/publish"),
            Some(proposal("12,34567")),
        )
        .await;
    let message = refused(status, &body);
    assert!(
        message.contains("part (%) (réservataire n° 1) : « 12,34567 » a plus de 4 décimales"),
        "{message}"
    );
    assert!(!message.contains("reservataires["), "{message}");
    h.ok(
        &etat,
        "POST",
        &format!("/api/conventions/{id}/proposals/etat/publish"),
        Some(proposal("12,5")),
    )
    .await;
    let version = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    let etat_row = version["document"]["scenario"]["reservataires"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "etat")
        .unwrap()
        .clone();
    assert_eq!(etat_row["share"], "12.5");
}

on_both_engines!(
    authenticated_pages_and_answers_are_not_stored,
    inputs_are_bounded_and_refusals_name_the_field
);
