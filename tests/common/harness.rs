//! A running platform for the convention tests: the demo territory imported into a fresh
//! database, the real server on a free port, accounts created through the real invitation flow.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use convention_flux::auth::{LoginLimiter, TokenKeys};
use convention_flux::config::Settings;
use convention_flux::domain::ExperimentWindow;
use convention_flux::http::{AppState, Server};
use convention_flux::render::Templates;
use convention_flux::services::conventions::Platform;
use convention_flux::services::conventions::demo::{DemoConventions, SecondBailleur, seed};
use convention_flux::services::conventions::members::create_account;
use convention_flux::services::import::{NoProgress, import_file};
use convention_flux::signing::PlatformKey;
use convention_flux::store::conventions::NewOrganisation;
use serde_json::{Value, json};

use super::TestDb;
use super::fixtures::demo;

pub const PASSWORD: &str = "mot de passe de test 2027";
pub const EPCI: &str = "200999803";
pub const BAILLEUR: &str = "276999802";
/// The five réservataires of the test convention.
pub const RESERVATAIRES: [&str; 5] = [
    "etat",
    "commune-69801",
    "commune-69802",
    "action-logement",
    "departement-69",
];

pub struct Harness {
    pub base: String,
    pub client: reqwest::Client,
    pub platform: Platform,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A user with a session.
#[derive(Clone, Debug)]
pub struct User {
    pub email: String,
    pub token: String,
}

impl Harness {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with_demo_files(db, None).await
    }

    /// The platform on the demo's files up to (and including) `last` only, when given: a test
    /// then imports a patrimoine of its own.
    pub async fn start_with_demo_files(
        db: &TestDb,
        last: Option<convention_flux::import::ImportKind>,
    ) -> Self {
        let demo = demo();
        for file in &demo.files {
            let bailleur = file
                .kind
                .needs_bailleur()
                .then(|| demo.bailleur_siren.clone());
            import_file(
                db.store.as_ref(),
                file.kind,
                file.csv.as_bytes().to_vec(),
                bailleur,
                Arc::new(NoProgress),
            )
            .await
            .expect("demo import");
            if Some(file.kind) == last {
                break;
            }
        }
        let platform = Platform {
            store: db.store.clone(),
            policies_dir: "policies".into(),
            key: Arc::new(PlatformKey::from_seed([7; 32])),
            tokens: Arc::new(TokenKeys::from_secret(&[9; 32]).unwrap()),
            limiter: Arc::new(LoginLimiter::new(5, 900)),
            versions: Default::default(),
            signing_digests: Default::default(),
            prebuild: None,
            base_url: "http://plateforme.test".into(),
        };
        let (base, stop) = serve(platform.clone()).await;
        Self {
            base,
            client: reqwest::Client::new(),
            platform,
            stop: Some(stop),
        }
    }

    /// A second server on the same database and token key, as behind a load balancer; its
    /// login limiter is its own, as each process's is.
    pub async fn another_instance(&self) -> Self {
        let platform = Platform {
            limiter: Arc::new(LoginLimiter::new(5, 900)),
            ..self.platform.clone()
        };
        let (base, stop) = serve(platform.clone()).await;
        Self {
            base,
            client: reqwest::Client::new(),
            platform,
            stop: Some(stop),
        }
    }

    /// Creates the EPCI's secretariat account (as the operator would) and signs it in.
    /// The demo's accounts and its two conventions (signed, in concertation), as `demo` seeds
    /// them on the imported demo territory.
    pub async fn seed_demo(&self) -> DemoConventions {
        seed(
            &self.platform,
            EPCI,
            "Métropole de démonstration",
            BAILLEUR,
            None,
            2027,
        )
        .await
        .expect("demo seed")
    }

    /// The demo seeded with its second bailleur: that bailleur's files imported as the `demo`
    /// command does, then the three conventions (the third is the second bailleur's).
    pub async fn seed_demo_with_second_bailleur(&self) -> DemoConventions {
        let demo = demo();
        let second = demo.second_bailleur.as_ref().expect("a second bailleur");
        for file in &second.files {
            import_file(
                self.platform.store.as_ref(),
                file.kind,
                file.csv.as_bytes().to_vec(),
                Some(second.siren.clone()),
                Arc::new(NoProgress),
            )
            .await
            .expect("second bailleur import");
        }
        seed(
            &self.platform,
            EPCI,
            "Métropole de démonstration",
            BAILLEUR,
            Some(SecondBailleur {
                siren: second.siren.as_str(),
                name: &second.name,
            }),
            2027,
        )
        .await
        .expect("demo seed")
    }

    pub async fn secretariat(&self) -> User {
        let email = "secretariat@cil.test";
        create_account(
            &self.platform,
            email,
            "Claire Secrétariat",
            NewOrganisation {
                kind: "epci".into(),
                name: "Métropole du Val de Saône".into(),
                reference: EPCI.into(),
            },
            PASSWORD,
        )
        .await
        .unwrap();
        self.login(email, PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> User {
        let (status, body) = self
            .call(
                None,
                "POST",
                "/api/session",
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        User {
            email: email.into(),
            token: body["token"].as_str().unwrap().into(),
        }
    }

    pub async fn call(
        &self,
        user: Option<&User>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(user) = user {
            request = request.bearer_auth(&user.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// A page as `user`'s browser gets it (the API's session as its cookie): status, HTML.
    #[allow(dead_code)]
    pub async fn page(&self, user: &User, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("cf_session={}", user.token))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// The body of a GET that must succeed, as bytes (a PDF, a workbook).
    #[allow(dead_code)]
    pub async fn bytes(&self, user: &User, path: &str) -> Vec<u8> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        response.bytes().await.unwrap().to_vec()
    }

    /// `call` that must succeed (2xx).
    pub async fn ok(&self, user: &User, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(Some(user), method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} → {status} {value}"
        );
        value
    }

    /// Opens the test convention with the five réservataires; returns its id.
    pub async fn open_convention(&self, secretariat: &User) -> i64 {
        let body = self
            .ok(
                secretariat,
                "POST",
                "/api/conventions",
                Some(json!({
                    "epci": EPCI, "bailleur": BAILLEUR, "year": 2027,
                    "reservataires": RESERVATAIRES,
                })),
            )
            .await;
        body["id"].as_i64().unwrap()
    }

    /// Invites `email` through the API, reads the link from the outbox and accepts it.
    pub async fn invite(
        &self,
        secretariat: &User,
        convention: i64,
        email: &str,
        role: &str,
        party: &str,
    ) -> User {
        self.ok(
            secretariat,
            "POST",
            &format!("/api/conventions/{convention}/invitations"),
            Some(json!({
                "email": email, "name": format!("Personne {party} {role}"),
                "organisation": format!("Organisation {party}"), "role": role,
                "party": party, "mandate": format!("représentant de {party}"),
            })),
        )
        .await;
        let token = self.invitation_token(email).await;
        let (status, body) = self
            .call(
                None,
                "POST",
                "/api/invitations/accept",
                Some(json!({"token": token, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        User {
            email: email.into(),
            token: body["token"].as_str().unwrap().into(),
        }
    }

    /// The token of the last invitation e-mail sent to `email`.
    pub async fn invitation_token(&self, email: &str) -> String {
        let outbox = self.platform.store.outbox().await.unwrap();
        let mail = outbox
            .iter()
            .rev()
            .find(|m| m.to == email)
            .expect("an invitation e-mail in the outbox");
        let start = mail.body_text.find("/invitation/").unwrap() + "/invitation/".len();
        mail.body_text[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }

    /// The state of convention `id` as `user` sees it.
    pub async fn state(&self, user: &User, id: i64) -> String {
        let view = self
            .ok(user, "GET", &format!("/api/conventions/{id}"), None)
            .await;
        view["convention"]["state"].as_str().unwrap().to_owned()
    }
}

/// Serves `platform` on a free port; the sender stops the server.
async fn serve(platform: Platform) -> (String, tokio::sync::oneshot::Sender<()>) {
    let settings = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Settings::default()
    };
    let window = ExperimentWindow {
        publication_date: NaiveDate::from_ymd_opt(2026, 3, 1),
        duration_years: 5,
        report_months_before_end: 6,
        illustrative: true,
    };
    let state = AppState::new(
        platform,
        Arc::new(Templates::new().unwrap()),
        window,
        None,
        Duration::from_secs(60),
    )
    .with_assets_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules"));
    let server = Server::build(&settings, state).await.unwrap();
    let address = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    (format!("http://{address}"), stop)
}

/// A proposal body: a share and commitments that satisfy the CIA objectives.
pub fn proposal(share: &str) -> Value {
    json!({
        "share": share,
        "commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"},
    })
}
