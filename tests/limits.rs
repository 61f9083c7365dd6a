//! Trust limits (issue 15, items 6, 7, 10, 11): security headers, input limits and the bounded
//! public solver, on the real server over loopback.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

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

/// The server as `serve` builds it, with `base_url`, a request timeout and solve slots.
async fn start(base_url: &str, timeout_secs: u64, solve_slots: usize) -> Running {
    let db = TestDb::sqlite().await;
    let keys = tempfile::tempdir().unwrap().keep();
    let settings = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        base_url: Some(base_url.into()),
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
    let state = app_state(&settings, db.store.clone(), window)
        .unwrap_or_else(|_| panic!("state"))
        .with_solve_slots(solve_slots);
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
    let app = start("http://plateforme.test", 60, 2).await;
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
    let app = start("https://convention-flux.example.gouv.fr", 60, 2).await;
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

/// A scenario of `reservataires` × `segments` over 100 communes, as a party would send it.
fn scenario(reservataires: usize, segments: usize) -> String {
    let communes: Vec<String> = (0..100).map(|i| format!("69{:03}", 100 + i)).collect();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let segments: Vec<String> = (0..segments)
        .map(|s| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            format!(
                r#"{{"id":"s{s}","commune":"{}","typology":"T{}","qpv":{},"flux":{}}}"#,
                communes[s % 100],
                1 + s % 5,
                s % 2 == 0,
                5 + (seed >> 33) % 21
            )
        })
        .collect();
    let commitments = r#"{"priority":"30","q1_hors_qpv":"30","non_q1_qpv":"55"}"#;
    let reservataires: Vec<String> = (0..reservataires)
        .map(|r| {
            format!(
                r#"{{"id":"r{r}","kind":"autre","basis":"autre","name":"Réservataire {r}","share":"0.{:02}","scope":null,"commitments":{commitments}}}"#,
                7 + r % 13
            )
        })
        .collect();
    format!(
        r#"{{"schema":1,"year":2027,"policy":"national","epci":{{"siren":"200046977","communes":[{}]}},"segments":[{}],"objectives":{{"q1_hors_qpv_min":"25","non_q1_qpv_min":"50","priority_min":"25"}},"reservataires":[{}],"non_reserve":{{"commitments":{commitments}}}}}"#,
        communes
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(","),
        segments.join(","),
        reservataires.join(",")
    )
}

/// The largest table the limits admit, slow to solve in a debug build.
fn heavy() -> String {
    scenario(490, 2_000)
}

async fn post_solve(app: &Running, body: String) -> (u16, Value) {
    // A body refused for its size is answered before it is read whole: the client may then
    // lose the answer to a broken pipe while it still writes. Such a race is sent again; any
    // other failure, or the race every time, fails the test.
    let mut attempt = 0;
    let response = loop {
        attempt += 1;
        match app
            .client
            .post(format!("{}/api/solve", app.base))
            .body(body.clone())
            .send()
            .await
        {
            Ok(response) => break response,
            Err(e) if attempt < 5 && e.is_request() => continue,
            Err(e) => panic!("POST /api/solve: {e:?}"),
        }
    };
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Waits until a small scenario is solved again (its slot free), at most `within`.
async fn slot_freed_within(app: &Running, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < within {
        let (status, body) = post_solve(app, scenario(2, 10)).await;
        match status {
            200 => return Some(started.elapsed()),
            503 => assert_eq!(body["erreur"]["code"], "calculs_en_cours", "{body}"),
            other => panic!("{other} {body}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_over_the_limits_are_refused_in_french() {
    let app = start("http://plateforme.test", 60, 2).await;
    // The largest real convention (DESIGN §6) is solved.
    let (status, body) = post_solve(&app, scenario(150, 2_000)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["table"]["cells"].is_array());
    // The attack of the issue: 3,000 × 20,000, refused before any computation.
    let started = Instant::now();
    let (status, body) = post_solve(&app, scenario(3_000, 20_000)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["erreur"]["code"], "requete_invalide");
    assert_eq!(
        body["erreur"]["message"],
        "Champ segments : 20000 segments, au plus 10000 sont admis par scénario."
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let (status, body) = post_solve(&app, scenario(600, 100)).await;
    assert_eq!(status, 400);
    assert!(
        body["erreur"]["message"]
            .as_str()
            .unwrap()
            .contains("600 réservataires, au plus 500"),
        "{body}"
    );
    let (status, body) = post_solve(&app, scenario(400, 5_000)).await;
    assert_eq!(status, 400);
    assert!(
        body["erreur"]["message"]
            .as_str()
            .unwrap()
            .contains("2005000 cellules"),
        "{body}"
    );
    // The limits are stated in the API description.
    let (_, doc) = {
        let response = app
            .client
            .get(format!("{}/api/openapi.json", app.base))
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    let described = doc["paths"]["/api/solve"]["post"]["description"]
        .as_str()
        .unwrap();
    assert!(
        described.contains("au plus 10000 segments, 500 réservataires"),
        "{described}"
    );
    assert!(doc["paths"]["/api/solve"]["post"]["responses"]["503"].is_object());
    // A body over the solver's own limit (8 MB) is refused as too large.
    let (status, body) = post_solve(&app, " ".repeat(9 * 1024 * 1024)).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["erreur"]["code"], "trop_volumineux");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solves_beyond_the_slots_get_503_in_french() {
    let app = start("http://plateforme.test", 60, 1).await;
    // One slot: a heavy solve and small ones asked every 300 ms overlap, and whichever comes
    // second while the other computes is refused. Usually a small one, once the heavy one has
    // been uploaded and read; the heavy one when a small one holds the slot at that instant.
    let client = app.client.clone();
    let url = format!("{}/api/solve", app.base);
    let busy = tokio::spawn(async move {
        let response = client.post(url).body(heavy()).send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut refused = None;
    while !busy.is_finished() && Instant::now() < deadline {
        let (status, body) = post_solve(&app, scenario(2, 10)).await;
        if status != 200 {
            refused = Some((status, body));
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (status, body) = match refused {
        Some(small) => {
            busy.abort();
            small
        }
        None => busy.await.unwrap(),
    };
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["erreur"]["code"], "calculs_en_cours");
    assert!(
        body["erreur"]["message"]
            .as_str()
            .unwrap()
            .contains("réessayez dans un instant"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solve_whose_request_timed_out_stops() {
    let app = start("http://plateforme.test", 1, 1).await;
    let started = Instant::now();
    let (status, body) = post_solve(&app, heavy()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["erreur"]["code"], "delai_depasse");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The computation stopped with its request: its slot is free again at once.
    let freed = slot_freed_within(&app, Duration::from_secs(3)).await;
    assert!(freed.is_some(), "the timed-out solve still holds its slot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solve_whose_client_left_stops() {
    let app = start("http://plateforme.test", 600, 1).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(1_500))
        .build()
        .unwrap();
    let gone = impatient
        .post(format!("{}/api/solve", app.base))
        .body(heavy())
        .send()
        .await;
    assert!(gone.is_err(), "the client gave up first");
    let freed = slot_freed_within(&app, Duration::from_secs(3)).await;
    assert!(freed.is_some(), "the abandoned solve still holds its slot");
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
        assert!(message.starts_with("Adresse électronique : "), "{message}");
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
        "Nom de la personne invitée : 201 caractères, au plus 200 sont admis."
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
    assert!(refused(status, &body).starts_with("Mandat : 501 caractères"));
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
        "Texte de la clause n° 1 : 20001 caractères, au plus 20000 sont admis."
    );
    // The reason of a decision that makes no version (abandon) is bounded too.
    let (status, body) = h
        .call(
            Some(&sec),
            "POST",
            &format!("/api/conventions/{id}/transitions/abandon"),
            Some(json!({"reason": "r".repeat(2_001)})),
        )
        .await;
    assert_eq!(
        refused(status, &body),
        "Motif : 2001 caractères, au plus 2000 sont admis."
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
    assert!(message.starts_with("Élément commenté : "), "{message}");
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
    assert!(refused(status, &body).starts_with("Texte du commentaire : 10001 caractères"));
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
        message.contains("objectif « ménages prioritaires » (%) (objectifs de la convention) : « 1e2 » n'est pas un pourcentage"),
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
            &format!("/api/conventions/{id}/signatures"),
            Some(json!({"password": PASSWORD, "version_hash": "x", "mandate": "m".repeat(501)})),
        )
        .await;
    // Who may act, and when, is answered before the input is read (the permission function):
    // nobody signs during the concertation, whatever the mandate says. The mandate's bound is
    // that of the invitation's, checked above.
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["erreur"]["message"],
        "Aucun tour de signature n'est ouvert (la convention est en concertation)."
    );
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
