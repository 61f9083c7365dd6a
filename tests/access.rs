//! Access control of the convention API (issue 4, "Done means"): the role matrix on every
//! endpoint and both engines, bad session tokens, the login limiter, OpenAPI coverage of the
//! router, and bad request bodies.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use common::TestDb;
use common::harness::{BAILLEUR, EPCI, Harness, PASSWORD, User, proposal};
use convention_flux::auth::TokenKeys;
use convention_flux::domain::ReservataireKind;
use convention_flux::domain::convention::{
    Action, CommentStatus, ConventionState, Role, RoundStatus, Transition,
};
use convention_flux::domain::permission::{
    ACTIONS, Actor, GuardFacts, PartyKind, Refusal, ThreadFacts, permission,
};
use convention_flux::domain::text::sentence;
use convention_flux::http::api::openapi::{self, operations};
use convention_flux::services::ServiceError;
use convention_flux::services::conventions::members::create_account;
use convention_flux::services::conventions::{self, Caller, coordination};
use convention_flux::store::conventions::NewOrganisation;
use convention_flux::store::conventions::Snapshot;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// A convention id that does not exist: what a non-member sees must be exactly this answer.
const MISSING: i64 = 987_654;

/// English left-overs of serde, axum or jsonwebtoken that must never reach a user.
const ENGLISH: [&str; 12] = [
    "invalid type",
    "invalid value",
    "missing field",
    "unknown field",
    "expected",
    "failed",
    "error",
    "forbidden",
    "not found",
    "unauthorized",
    "token",
    "denied",
];

/// A user-facing message: present, and French rather than a library's English.
#[track_caller]
fn assert_french(message: &str, context: &str) {
    assert!(
        message.chars().count() >= 10,
        "{context}: message absent ou trop court : {message:?}"
    );
    let lower = message.to_lowercase();
    // « de ouvrir » is not French: « d'ouvrir ».
    for vowel in ["a", "e", "i", "o", "u", "é"] {
        assert!(
            !lower.contains(&format!(" de {vowel}")),
            "{context}: élision manquante (« de {vowel}… ») : {message}"
        );
    }
    for word in ENGLISH {
        assert!(
            !lower.contains(word),
            "{context}: message en anglais ({word}) : {message}"
        );
    }
}

/// The `erreur` of an error body: its code, after checking the message is French.
#[track_caller]
fn error_code(body: &Value, context: &str) -> String {
    let message = body["erreur"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{context}: pas de corps d'erreur : {body}"));
    assert_french(message, context);
    body["erreur"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn message(body: &Value) -> &str {
    body["erreur"]["message"].as_str().unwrap_or_default()
}

/// An account created as the operator would, signed in.
async fn account(h: &Harness, email: &str, kind: &str, reference: &str) -> User {
    create_account(
        &h.platform,
        email,
        &format!("Compte {email}"),
        NewOrganisation {
            kind: kind.into(),
            name: format!("Organisation de {email}"),
            reference: reference.into(),
        },
        PASSWORD,
    )
    .await
    .unwrap();
    h.login(email, PASSWORD).await
}

/// What the database holds for a convention: a refused call must leave all of it unchanged.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    revision: i64,
    state: ConventionState,
    versions: i64,
    audit: usize,
    outbox: usize,
    conventions: usize,
}

async fn footprint(h: &Harness, id: i64) -> Footprint {
    let store = &h.platform.store;
    let snap = store.snapshot(id).await.unwrap().expect("the convention");
    Footprint {
        revision: snap.convention.revision,
        state: snap.convention.state,
        versions: snap.current.as_ref().map_or(0, |v| v.number),
        audit: store.audit_events(id).await.unwrap().len(),
        outbox: store.outbox().await.unwrap().len(),
        conventions: store.convention_ids().await.unwrap().len(),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. The role matrix
// ---------------------------------------------------------------------------------------------

/// Who calls. The columns of the matrix, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    /// The CIL secretariat of the convention.
    Sec,
    /// Contributor for `commune-69801`.
    Contrib,
    /// Signatory for `action-logement` (not the State).
    Signer,
    /// Signatory for `etat` (the préfet).
    Prefet,
    /// Observer.
    Obs,
    /// Secretariat of the same EPCI, member of ANOTHER convention only.
    Outsider,
    /// An account with no membership at all.
    Stranger,
    /// No token.
    Anon,
}

const WHO: [Who; 8] = [
    Who::Sec,
    Who::Contrib,
    Who::Signer,
    Who::Prefet,
    Who::Obs,
    Who::Outsider,
    Who::Stranger,
    Who::Anon,
];

/// What a call must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// 2xx.
    O,
    /// 409 `conflit`: allowed, but not in this state of the lifecycle.
    C,
    /// 403 `interdit`.
    F,
    /// 404 `introuvable`, the same answer as for a convention that does not exist.
    H,
    /// 401 `non_authentifie`.
    U,
}
use Want::{C, F, H, O, U};

impl fmt::Display for Want {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            O => "2xx",
            C => "409 conflit",
            F => "403 interdit",
            H => "404 introuvable",
            U => "401 non_authentifie",
        })
    }
}

/// One line of the matrix: an operation in the current state of the convention, and what each
/// column gets. `{name}` in the path or body is replaced from the world's variables; `{own}`
/// by the caller's own `own:<Who>` variable.
struct Row {
    label: &'static str,
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    want: [Want; 8],
}

fn row(
    label: &'static str,
    call: &'static str,
    body: Option<&'static str>,
    want: [Want; 8],
) -> Row {
    let (method, path) = call.split_once(' ').expect("METHOD /path");
    Row {
        label,
        method,
        path,
        body,
        want,
    }
}

/// The convention under test, its members and the variables the rows refer to.
struct World {
    h: Harness,
    id: i64,
    users: HashMap<Who, User>,
    vars: HashMap<String, String>,
    /// `(method, path)` of every row run, to prove that every endpoint was tried.
    covered: std::sync::Mutex<BTreeSet<(String, String)>>,
}

impl World {
    fn set(&mut self, name: &str, value: impl ToString) {
        self.vars.insert(name.to_owned(), value.to_string());
    }

    fn fill(&self, template: &str, who: Who, id: i64) -> String {
        let mut text = template.replace("{id}", &id.to_string());
        if let Some(own) = self.vars.get(&format!("own:{who:?}")) {
            text = text.replace("{own}", own);
        }
        for (name, value) in &self.vars {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        assert!(
            !text.contains("{own}") && !text.contains("{hash}"),
            "variable non définie dans {text}"
        );
        text
    }

    async fn call(&self, who: Who, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.h.call(self.users.get(&who), method, path, body).await
    }

    /// Refreshes `{hash}` with the current version's hash.
    async fn current_hash(&mut self) -> String {
        let v = self
            .h
            .ok(
                &self.users[&Who::Sec],
                "GET",
                &format!("/api/conventions/{}/version", self.id),
                None,
            )
            .await;
        let hash = v["hash"].as_str().unwrap().to_owned();
        self.set("hash", &hash);
        hash
    }

    async fn state(&self) -> String {
        self.h.state(&self.users[&Who::Sec], self.id).await
    }

    /// Runs one row for every column and checks each answer. Refused calls go first (they must
    /// write nothing), then the calls the role allows, in column order (a lifecycle conflict
    /// must write nothing either). Returns the bodies of the successful calls.
    async fn check(&self, row: &Row) -> HashMap<Who, Value> {
        let mut order: Vec<usize> = (0..WHO.len()).collect();
        order.sort_by_key(|&i| match row.want[i] {
            O | C => 1,
            F | H | U => 0,
        });
        let tried = self.fill(row.path, Who::Sec, self.id);
        let tried = tried.split('?').next().unwrap_or_default().to_owned();
        self.covered
            .lock()
            .unwrap()
            .insert((row.method.to_lowercase(), tried));
        let mut successes = HashMap::new();
        let mut before = footprint(&self.h, self.id).await;
        for i in order {
            let (who, want) = (WHO[i], row.want[i]);
            let context = format!(
                "{} — {} {} — {who:?} doit obtenir {want}",
                row.label, row.method, row.path
            );
            let path = self.fill(row.path, who, self.id);
            let body = row.body.map(|b| {
                serde_json::from_str::<Value>(&self.fill(b, who, self.id))
                    .unwrap_or_else(|e| panic!("{context}: corps de test invalide : {e}"))
            });
            let (status, answer) = self.call(who, row.method, &path, body.clone()).await;
            let context = format!("{context} ; reçu {status} {answer}");
            match want {
                O => {
                    assert!((200..300).contains(&status), "{context}");
                    successes.insert(who, answer);
                    before = footprint(&self.h, self.id).await;
                    continue;
                }
                C => {
                    assert_eq!(status, 409, "{context}");
                    assert_eq!(error_code(&answer, &context), "conflit", "{context}");
                }
                F => {
                    assert_eq!(status, 403, "{context}");
                    assert_eq!(error_code(&answer, &context), "interdit", "{context}");
                }
                U => {
                    assert_eq!(status, 401, "{context}");
                    assert_eq!(
                        error_code(&answer, &context),
                        "non_authentifie",
                        "{context}"
                    );
                }
                H => {
                    assert_eq!(status, 404, "{context}");
                    assert_eq!(error_code(&answer, &context), "introuvable", "{context}");
                    // Indistinguishable from a convention that does not exist.
                    let missing_path = self.fill(row.path, who, MISSING);
                    let (missing_status, missing_answer) =
                        self.call(who, row.method, &missing_path, body).await;
                    assert_eq!(missing_status, status, "{context}");
                    assert_eq!(
                        message(&missing_answer)
                            .replace(&MISSING.to_string(), &self.id.to_string()),
                        message(&answer),
                        "{context}: un non-membre distingue une convention existante d'une absente"
                    );
                    assert!(
                        !message(&answer).contains(&self.h.platform.base_url),
                        "{context}"
                    );
                }
            }
            assert_eq!(
                footprint(&self.h, self.id).await,
                before,
                "{context}: un appel refusé a laissé une trace en base"
            );
        }
        successes
    }

    async fn run(&self, rows: &[Row]) {
        for r in rows {
            self.check(r).await;
        }
    }
}

/// Every reading endpoint: members read, non-members learn nothing.
fn reads() -> Vec<Row> {
    const MEMBERS_READ: [Want; 8] = [O, O, O, O, O, H, H, U];
    vec![
        row(
            "consulter la convention",
            "GET /api/conventions/{id}",
            None,
            MEMBERS_READ,
        ),
        row(
            "version courante",
            "GET /api/conventions/{id}/version",
            None,
            MEMBERS_READ,
        ),
        row(
            "tableau des flux",
            "GET /api/conventions/{id}/table",
            None,
            MEMBERS_READ,
        ),
        row(
            "conversion de l'état des lieux",
            "GET /api/conventions/{id}/conversion",
            None,
            MEMBERS_READ,
        ),
        row(
            "document de la convention en PDF",
            "GET /api/conventions/{id}/document.pdf",
            None,
            MEMBERS_READ,
        ),
        row(
            "tableau des flux en CSV",
            "GET /api/conventions/{id}/table.csv",
            None,
            MEMBERS_READ,
        ),
        row(
            "tableau des flux en XLSX",
            "GET /api/conventions/{id}/table.xlsx",
            None,
            MEMBERS_READ,
        ),
        row(
            "tableau des flux en JSON",
            "GET /api/conventions/{id}/table.json",
            None,
            MEMBERS_READ,
        ),
        row(
            "historique des versions",
            "GET /api/conventions/{id}/versions",
            None,
            MEMBERS_READ,
        ),
        row(
            "une version",
            "GET /api/conventions/{id}/versions/1",
            None,
            MEMBERS_READ,
        ),
        row(
            "différence pour sa partie",
            "GET /api/conventions/{id}/diff?from=1&to={last}",
            None,
            MEMBERS_READ,
        ),
        row(
            "différence pour une autre partie",
            "GET /api/conventions/{id}/diff?from=1&to={last}&party=etat",
            None,
            MEMBERS_READ,
        ),
        row(
            "journal d'audit",
            "GET /api/conventions/{id}/audit",
            None,
            MEMBERS_READ,
        ),
        row(
            "dossier de preuve",
            "GET /api/conventions/{id}/bundle",
            None,
            MEMBERS_READ,
        ),
        row("mon compte", "GET /api/me", None, [O, O, O, O, O, O, O, U]),
        row(
            "mes conventions",
            "GET /api/conventions",
            None,
            [O, O, O, O, O, O, O, U],
        ),
    ]
}

const OBJECTIVES: &str = r#"{"objectives": {"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50",
    "priority_min": "25"}, "reason": "objectifs de la CIA"}"#;
const PLAIN_COMMENT: &str =
    r#"{"anchor_kind": "objective", "anchor_ref": "priority_min", "body": "Une remarque."}"#;
const OBJECTION: &str = r#"{"anchor_kind": "objective", "anchor_ref": "priority_min",
    "body": "Nous nous y opposons.", "objection": true}"#;
const SIGN: &str = r#"{"password": "{password}", "version_hash": "{hash}"}"#;
const EMPTY: &str = "{}";

/// Operations whose outcome depends only on the role in the states where they are tried here:
/// drafting and signing tried before their time.
fn untimely_in_brouillon() -> Vec<Row> {
    vec![
        row(
            "enregistrer la proposition de commune-69801 (hors concertation)",
            "PUT /api/conventions/{id}/proposals/commune-69801",
            Some(
                r#"{"share": "15", "commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}"#,
            ),
            [F, C, F, F, F, H, H, U],
        ),
        row(
            "publier la proposition d'action-logement (hors concertation)",
            "POST /api/conventions/{id}/proposals/action-logement/publish",
            Some(
                r#"{"share": "20", "commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}"#,
            ),
            [F, F, C, F, F, H, H, U],
        ),
        row(
            "consolider (brouillon)",
            "POST /api/conventions/{id}/consolidate",
            Some(r#"{"based_on": "proposals"}"#),
            [C, F, F, F, F, H, H, U],
        ),
        row(
            "ouvrir la signature (brouillon)",
            "POST /api/conventions/{id}/signing",
            Some(EMPTY),
            [C, F, F, F, F, H, H, U],
        ),
        row(
            "signer (aucun tour ouvert)",
            "POST /api/conventions/{id}/signatures",
            Some(SIGN),
            // The secretariat signs for the EPCI: « pas maintenant » rather than « jamais ».
            [C, F, C, C, F, H, H, U],
        ),
        row(
            "rouvrir (brouillon)",
            "POST /api/conventions/{id}/transitions/reopen",
            Some(EMPTY),
            [C, F, F, F, F, H, H, U],
        ),
        row(
            "annuler la signature (brouillon)",
            "POST /api/conventions/{id}/transitions/cancel_signing",
            Some(EMPTY),
            [C, F, F, F, F, H, H, U],
        ),
        row(
            "approuver (brouillon)",
            "POST /api/conventions/{id}/transitions/approve",
            Some(EMPTY),
            [F, F, F, C, F, H, H, U],
        ),
        row(
            "refuser l'approbation (brouillon)",
            "POST /api/conventions/{id}/transitions/refuse",
            Some(r#"{"reason": "pièces manquantes"}"#),
            [F, F, F, C, F, H, H, U],
        ),
        row(
            "avenant (brouillon)",
            "POST /api/conventions/{id}/transitions/avenant",
            Some(r#"{"reason": "nouvelle commune"}"#),
            [C, F, F, F, F, H, H, U],
        ),
    ]
}

/// Sets `{last}` to the current version number.
async fn refresh_last(w: &mut World) {
    let versions = w.h.platform.store.versions(w.id).await.unwrap();
    w.set("last", versions.len());
}

async fn the_role_matrix(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    let contrib = h
        .invite(
            &sec,
            id,
            "contributeur@commune-69801.test",
            "contributor",
            "commune-69801",
        )
        .await;
    let signer = h
        .invite(
            &sec,
            id,
            "signataire@action-logement.test",
            "signatory",
            "action-logement",
        )
        .await;
    let prefet = h
        .invite(&sec, id, "prefet@etat.test", "signatory", "etat")
        .await;
    let obs = h
        .invite(&sec, id, "observateur@dreal.test", "observer", "")
        .await;
    // The other parties, outside the matrix: their proposals complete the convention.
    let mut others = Vec::new();
    for party in ["commune-69802", "departement-69", "bailleur"] {
        let user = h
            .invite(
                &sec,
                id,
                &format!("{party}@partie.test"),
                "contributor",
                party,
            )
            .await;
        others.push((party, user));
    }
    // A secretariat of the same EPCI who runs its own convention, and an account with nothing.
    let outsider = account(&h, "secretariat-bis@cil.test", "epci", EPCI).await;
    let other = h
        .ok(
            &outsider,
            "POST",
            "/api/conventions",
            Some(json!({"epci": EPCI, "bailleur": BAILLEUR, "year": 2027,
                        "reservataires": ["etat", "commune-69801"]})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let stranger = account(&h, "inconnu@ailleurs.test", "autre", "").await;
    let users = HashMap::from([
        (Who::Sec, sec),
        (Who::Contrib, contrib),
        (Who::Signer, signer),
        (Who::Prefet, prefet),
        (Who::Obs, obs),
        (Who::Outsider, outsider),
        (Who::Stranger, stranger),
    ]);
    let mut w = World {
        h,
        id,
        users,
        vars: HashMap::new(),
        covered: Default::default(),
    };
    w.set("password", PASSWORD);
    w.set("epci", EPCI);
    w.set("bailleur", BAILLEUR);
    w.current_hash().await;
    refresh_last(&mut w).await;

    // Who sees which convention, and as what.
    for (who, role, party) in [
        (Who::Sec, "secretariat", "secretariat"),
        (Who::Contrib, "contributor", "commune-69801"),
        (Who::Signer, "signatory", "action-logement"),
        (Who::Prefet, "signatory", "etat"),
        (Who::Obs, "observer", ""),
    ] {
        let user = &w.users[&who];
        let view =
            w.h.ok(user, "GET", &format!("/api/conventions/{id}"), None)
                .await;
        assert_eq!(view["your_role"], json!(role), "{who:?}");
        assert_eq!(view["your_party"], json!(party), "{who:?}");
        let me = w.h.ok(user, "GET", "/api/me", None).await;
        let ids: Vec<i64> = me["conventions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![id], "{who:?}: {me}");
    }
    for (who, expected) in [(Who::Outsider, vec![other]), (Who::Stranger, vec![])] {
        let user = &w.users[&who];
        for path in ["/api/me", "/api/conventions"] {
            let body = w.h.ok(user, "GET", path, None).await;
            let list = if path == "/api/me" {
                &body["conventions"]
            } else {
                &body
            };
            let ids: Vec<i64> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
                .collect();
            assert_eq!(ids, expected, "{who:?} {path}: {body}");
        }
    }

    // ---- brouillon ----------------------------------------------------------------------
    w.run(&reads()).await;
    w.run(&untimely_in_brouillon()).await;
    let clauses =
        w.h.ok(
            &w.users[&Who::Sec],
            "GET",
            &format!("/api/conventions/{id}/version"),
            None,
        )
        .await["document"]["clauses"]
            .clone();
    w.set("clause", clauses[0]["id"].as_str().unwrap());
    let mut edited = clauses.clone();
    edited[0]["text"] = json!("Texte de la clause précisé par le secrétariat.");
    w.set("clauses", edited);
    w.run(&[
        row(
            "ouvrir une convention (secrétariat de l'EPCI seulement)",
            "POST /api/conventions",
            Some(
                r#"{"epci": "{epci}", "bailleur": "{bailleur}", "year": 2028, "reservataires": ["etat"]}"#,
            ),
            [O, F, F, F, F, O, F, U],
        ),
        row(
            "objectifs",
            "PUT /api/conventions/{id}/objectives",
            Some(OBJECTIVES),
            [O, F, F, F, F, H, H, U],
        ),
        row(
            "reprendre la CIA (aucune CIA enregistrée pour l'EPCI)",
            "POST /api/conventions/{id}/cia",
            None,
            [C, F, F, F, F, H, H, U],
        ),
        row(
            "clauses",
            "PUT /api/conventions/{id}/clauses",
            Some(r#"{"clauses": {clauses}, "reason": "clause précisée"}"#),
            [O, F, F, F, F, H, H, U],
        ),
        row(
            "inviter",
            "POST /api/conventions/{id}/invitations",
            Some(
                r#"{"email": "nouveau@partie.test", "name": "Nouvelle Personne",
                    "organisation": "DDETS", "role": "observer"}"#,
            ),
            [O, F, F, F, F, H, H, U],
        ),
    ])
    .await;
    // Comments and objections are possible from the draft on; each member keeps its own.
    let comments = w
        .check(&row(
            "commenter",
            "POST /api/conventions/{id}/comments",
            Some(PLAIN_COMMENT),
            [O, O, O, O, F, H, H, U],
        ))
        .await;
    let comment = |who: Who| comments[&who]["id"].as_i64().unwrap();
    for who in [Who::Sec, Who::Contrib, Who::Prefet] {
        w.set(&format!("own:{who:?}"), comment(who));
    }
    w.set("own:Signer", comment(Who::Signer)); // closed by the secretariat before its author
    for who in [Who::Obs, Who::Outsider, Who::Stranger, Who::Anon] {
        w.set(&format!("own:{who:?}"), comment(Who::Prefet));
    }
    w.set("c:signer", comment(Who::Signer));
    w.set("c:contrib", comment(Who::Contrib));
    let objections = w
        .check(&row(
            "formuler une objection",
            "POST /api/conventions/{id}/comments",
            Some(OBJECTION),
            [F, O, O, O, F, H, H, U],
        ))
        .await;
    for (who, name) in [
        (Who::Contrib, "o:contrib"),
        (Who::Signer, "o:signer"),
        (Who::Prefet, "o:prefet"),
    ] {
        w.set(name, objections[&who]["id"].as_i64().unwrap());
    }
    w.run(&[row(
        "ouvrir la concertation",
        "POST /api/conventions/{id}/transitions/open",
        Some(EMPTY),
        [O, F, F, F, F, H, H, U],
    )])
    .await;
    assert_eq!(w.state().await, "concertation");

    // ---- concertation -------------------------------------------------------------------
    let own_draft = r#"{"share": "15", "commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}"#;
    w.run(&[row(
        "enregistrer la proposition de commune-69801 (privée)",
        "PUT /api/conventions/{id}/proposals/commune-69801",
        Some(own_draft),
        [F, O, F, F, F, H, H, U],
    )])
    .await;
    // The private draft is seen by its party only.
    for who in [Who::Sec, Who::Contrib, Who::Signer, Who::Prefet, Who::Obs] {
        let view =
            w.h.ok(
                &w.users[&who],
                "GET",
                &format!("/api/conventions/{id}"),
                None,
            )
            .await;
        let mine = view["proposals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["party"] == "commune-69801")
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(mine["published"], Value::Null, "{who:?}: {mine}");
        if who == Who::Contrib {
            assert_eq!(mine["draft"]["share"], json!("15"), "{mine}");
        } else {
            assert_eq!(
                mine["draft"],
                Value::Null,
                "{who:?} lit un brouillon privé : {mine}"
            );
        }
    }
    w.run(&[
        row(
            "publier la proposition de commune-69801",
            "POST /api/conventions/{id}/proposals/commune-69801/publish",
            Some(own_draft),
            [F, O, F, F, F, H, H, U],
        ),
        row(
            "publier la proposition d'action-logement",
            "POST /api/conventions/{id}/proposals/action-logement/publish",
            Some(r#"{"share": "20", "commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}"#),
            [F, F, O, F, F, H, H, U],
        ),
        row(
            "publier la proposition de l'État",
            "POST /api/conventions/{id}/proposals/etat/publish",
            Some(r#"{"share": "25", "commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}"#),
            [F, F, F, O, F, H, H, U],
        ),
        row(
            "enregistrer la proposition du bailleur (sans membre)",
            "PUT /api/conventions/{id}/proposals/bailleur",
            Some(r#"{"commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}"#),
            [F, F, F, F, F, H, H, U],
        ),
    ])
    .await;

    for (party, user) in &others {
        let body = if *party == "bailleur" {
            json!({"commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}})
        } else {
            proposal(if *party == "departement-69" {
                "5"
            } else {
                "15"
            })
        };
        w.h.ok(
            user,
            "POST",
            &format!("/api/conventions/{id}/proposals/{party}/publish"),
            Some(body),
        )
        .await;
    }

    // Through its own convention, the outsider cannot reach this one's threads.
    let before = footprint(&w.h, id).await;
    for action in ["resolve", "overrule"] {
        let path = format!(
            "/api/conventions/{other}/comments/{}/{action}",
            w.vars["o:prefet"]
        );
        let (status, body) = w
            .call(Who::Outsider, "POST", &path, Some(json!({"text": "clos"})))
            .await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(error_code(&body, &path), "introuvable");
    }
    assert_eq!(footprint(&w.h, id).await, before);

    w.run(&[
        row(
            "clore le commentaire d'autrui (le secrétariat le peut, pas les autres)",
            "POST /api/conventions/{id}/comments/{c:signer}/resolve",
            Some(r#"{"text": "traité"}"#),
            [O, F, C, F, F, H, H, U],
        ),
        row(
            "clore son propre commentaire",
            "POST /api/conventions/{id}/comments/{own}/resolve",
            Some(r#"{"text": "traité"}"#),
            [O, O, C, O, F, H, H, U],
        ),
        row(
            "clore un commentaire déjà clos (le rôle d'abord)",
            "POST /api/conventions/{id}/comments/{c:contrib}/resolve",
            Some(r#"{"text": "encore"}"#),
            [C, C, F, F, F, H, H, U],
        ),
        row(
            "lever l'objection de commune-69801",
            "POST /api/conventions/{id}/comments/{o:contrib}/resolve",
            Some(r#"{"text": "objection levée"}"#),
            [F, O, F, F, F, H, H, U],
        ),
        row(
            "lever une objection déjà levée",
            "POST /api/conventions/{id}/comments/{o:contrib}/resolve",
            Some(r#"{"text": "encore"}"#),
            [F, C, F, F, F, H, H, U],
        ),
        row(
            "passer outre l'objection d'action-logement",
            "POST /api/conventions/{id}/comments/{o:signer}/overrule",
            Some(r#"{"text": "motif de la CIL"}"#),
            [O, F, F, F, F, H, H, U],
        ),
        row(
            "lever l'objection de l'État",
            "POST /api/conventions/{id}/comments/{o:prefet}/resolve",
            Some(r#"{"text": "objection levée"}"#),
            [F, F, F, O, F, H, H, U],
        ),
        row(
            "passer outre une objection close",
            "POST /api/conventions/{id}/comments/{o:prefet}/overrule",
            Some(r#"{"text": "motif"}"#),
            [C, F, F, F, F, H, H, U],
        ),
        row(
            "objectifs (concertation)",
            "PUT /api/conventions/{id}/objectives",
            Some(OBJECTIVES),
            [O, F, F, F, F, H, H, U],
        ),
        row(
            "consolider",
            "POST /api/conventions/{id}/consolidate",
            Some(r#"{"based_on": "proposals"}"#),
            [O, F, F, F, F, H, H, U],
        ),
    ])
    .await;
    assert_eq!(w.state().await, "arbitrage");

    // ---- arbitrage and signature --------------------------------------------------------
    refresh_last(&mut w).await;
    w.run(&reads()).await;
    let required = r#"{"required": ["action-logement", "etat"]}"#;
    w.run(&[
        row(
            "enregistrer sa proposition (arbitrage)",
            "PUT /api/conventions/{id}/proposals/commune-69801",
            Some(own_draft),
            [F, C, F, F, F, H, H, U],
        ),
        row(
            "rouvrir la concertation",
            "POST /api/conventions/{id}/transitions/reopen",
            Some(EMPTY),
            [O, F, F, F, F, H, H, U],
        ),
        row(
            "consolider à nouveau",
            "POST /api/conventions/{id}/consolidate",
            Some(r#"{"based_on": "proposals"}"#),
            [O, F, F, F, F, H, H, U],
        ),
        row(
            "ouvrir la signature",
            "POST /api/conventions/{id}/signing",
            Some(required),
            [O, F, F, F, F, H, H, U],
        ),
        row(
            "annuler le tour de signature",
            "POST /api/conventions/{id}/transitions/cancel_signing",
            Some(EMPTY),
            [O, F, F, F, F, H, H, U],
        ),
        row(
            "rouvrir la signature",
            "POST /api/conventions/{id}/signing",
            Some(required),
            [O, F, F, F, F, H, H, U],
        ),
    ])
    .await;
    assert_eq!(w.state().await, "signature");
    w.current_hash().await;
    let signed = w
        .check(&row(
            "signer",
            "POST /api/conventions/{id}/signatures",
            Some(SIGN),
            [F, F, O, O, F, H, H, U],
        ))
        .await;
    assert_eq!(signed[&Who::Signer]["locked"], json!(false));
    assert_eq!(signed[&Who::Prefet]["locked"], json!(true));
    assert_eq!(w.state().await, "signee");

    // ---- signed ---------------------------------------------------------------------------
    refresh_last(&mut w).await;
    w.run(&reads()).await;
    w.run(&[
        row(
            "objectifs (signée)",
            "PUT /api/conventions/{id}/objectives",
            Some(OBJECTIVES),
            [C, F, F, F, F, H, H, U],
        ),
        row(
            "commenter (signée)",
            "POST /api/conventions/{id}/comments",
            Some(PLAIN_COMMENT),
            [C, C, C, C, F, H, H, U],
        ),
        row(
            "publier (signée)",
            "POST /api/conventions/{id}/proposals/etat/publish",
            Some(r#"{"share": "25", "commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}"#),
            [F, F, F, C, F, H, H, U],
        ),
        row(
            "signer encore (signée)",
            "POST /api/conventions/{id}/signatures",
            Some(SIGN),
            // The secretariat signs for the EPCI: « pas maintenant » rather than « jamais ».
            [C, F, C, C, F, H, H, U],
        ),
        row(
            "abandonner (signée)",
            "POST /api/conventions/{id}/transitions/abandon",
            Some(r#"{"reason": "projet arrêté"}"#),
            [C, F, F, F, F, H, H, U],
        ),
        row(
            "refuser l'approbation (le préfet seulement)",
            "POST /api/conventions/{id}/transitions/refuse",
            Some(r#"{"reason": "pièces manquantes"}"#),
            [F, F, F, O, F, H, H, U],
        ),
    ])
    .await;
    assert_eq!(w.state().await, "brouillon");

    // Signed again, on the State's signature alone.
    let sec = w.users[&Who::Sec].clone();
    for (path, body) in [
        ("transitions/open", json!({})),
        ("consolidate", json!({"based_on": "proposals"})),
        ("signing", json!({"required": ["etat"]})),
    ] {
        w.h.ok(
            &sec,
            "POST",
            &format!("/api/conventions/{id}/{path}"),
            Some(body),
        )
        .await;
    }
    w.current_hash().await;
    w.run(&[row(
        "signer (seul l'État est requis)",
        "POST /api/conventions/{id}/signatures",
        Some(SIGN),
        [F, F, F, O, F, H, H, U],
    )])
    .await;
    assert_eq!(w.state().await, "signee");
    w.run(&[
        row(
            "approuver (le préfet seulement)",
            "POST /api/conventions/{id}/transitions/approve",
            Some(EMPTY),
            [F, F, F, O, F, H, H, U],
        ),
        row(
            "approuver encore (en vigueur)",
            "POST /api/conventions/{id}/transitions/approve",
            Some(EMPTY),
            [F, F, F, C, F, H, H, U],
        ),
    ])
    .await;
    assert_eq!(w.state().await, "en_vigueur");
    refresh_last(&mut w).await;
    w.run(&reads()).await;
    w.run(&[row(
        "avenant",
        "POST /api/conventions/{id}/transitions/avenant",
        Some(r#"{"reason": "nouvelle commune"}"#),
        [O, F, F, F, F, H, H, U],
    )])
    .await;
    assert_eq!(w.state().await, "brouillon");
    w.run(&[row(
        "abandonner",
        "POST /api/conventions/{id}/transitions/abandon",
        Some(r#"{"reason": "projet arrêté"}"#),
        [O, F, F, F, F, H, H, U],
    )])
    .await;
    assert_eq!(w.state().await, "abandonnee");

    // ---- abandoned: still readable by its members, closed to everything else ---------------
    refresh_last(&mut w).await;
    w.run(&reads()).await;
    w.run(&[
        row(
            "commenter (abandonnée)",
            "POST /api/conventions/{id}/comments",
            Some(PLAIN_COMMENT),
            [C, C, C, C, F, H, H, U],
        ),
        row(
            "ouvrir (abandonnée)",
            "POST /api/conventions/{id}/transitions/open",
            Some(EMPTY),
            [C, F, F, F, F, H, H, U],
        ),
        row(
            "objectifs (abandonnée)",
            "PUT /api/conventions/{id}/objectives",
            Some(OBJECTIVES),
            [C, F, F, F, F, H, H, U],
        ),
    ])
    .await;

    // Every operation of the convention API (and /api/me) was in the matrix, every transition too.
    let covered = w.covered.lock().unwrap().clone();
    let fits = |template: &str, path: &str| {
        let (t, p): (Vec<&str>, Vec<&str>) =
            (template.split('/').collect(), path.split('/').collect());
        t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t == p || t.starts_with('{'))
    };
    for (method, path) in operations()
        .iter()
        .filter(|(_, p)| p.starts_with("/api/conventions") || p == "/api/me")
    {
        assert!(
            covered.iter().any(|(m, p)| m == method && fits(path, p)),
            "{method} {path} absent de la matrice des rôles"
        );
    }
    for name in [
        "open",
        "reopen",
        "cancel_signing",
        "approve",
        "refuse",
        "avenant",
        "abandon",
    ] {
        assert!(
            covered
                .iter()
                .any(|(_, p)| p.ends_with(&format!("/transitions/{name}"))),
            "transition {name} absente de la matrice"
        );
    }
}

on_both_engines!(the_role_matrix);

// ---------------------------------------------------------------------------------------------
// 1 bis. Every action × role × state, against the permission function
// ---------------------------------------------------------------------------------------------

/// A member of the convention under test, as the permission function sees it: the State is
/// known by its réservataire kind, never by the party's id.
struct Member {
    name: &'static str,
    user: User,
    email: String,
    actor: Actor,
}

/// What the probes of one state refer to.
struct Targets {
    id: i64,
    hash: String,
    /// Each member's own open plain comment (the secretariat's for the observer).
    comment: HashMap<&'static str, i64>,
    /// An objection of `commune-69801`.
    objection: i64,
}

/// How to try `action` over HTTP: `valid` must be refused exactly as `permission` refuses
/// it; `invalid` must get through the guard to the input check (400) when `permission` allows.
/// Either way nothing is written.
struct Probe {
    method: &'static str,
    path: String,
    valid: Value,
    invalid: Value,
    /// The thread the call closes, for the facts.
    thread: Option<i64>,
    /// The party whose proposal the call touches, for the facts.
    proposal_party: Option<String>,
}

fn probe(action: Action, m: &Member, t: &Targets) -> Probe {
    let id = t.id;
    let too_long = "x".repeat(2_001);
    let p = |method, path: String, valid: Value, invalid: Value| Probe {
        method,
        path: format!("/api/conventions/{id}{path}"),
        valid,
        invalid,
        thread: None,
        proposal_party: None,
    };
    let transition = |name: &str| {
        p(
            "POST",
            format!("/transitions/{name}"),
            json!({"reason": "motif de l'essai"}),
            json!({"reason": too_long}),
        )
    };
    let comment = |objection: bool| {
        p(
            "POST",
            "/comments".into(),
            json!({"anchor_kind": "objective", "anchor_ref": "priority_min",
                   "body": "Une remarque.", "objection": objection}),
            json!({"anchor_kind": "objective", "anchor_ref": "priority_min",
                   "body": "   ", "objection": objection}),
        )
    };
    let close = |thread: i64, how: &str| Probe {
        thread: Some(thread),
        ..p(
            "POST",
            format!("/comments/{thread}/{how}"),
            json!({"text": "clos pour l'essai"}),
            json!({"text": "  "}),
        )
    };
    let commitments = json!({"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"});
    match action {
        Action::Read => p("GET", String::new(), Value::Null, Value::Null),
        Action::EditDraft => p(
            "PUT",
            "/objectives".into(),
            serde_json::from_str(OBJECTIVES).unwrap(),
            json!({"objectives": {"q1_hors_qpv_min": "150", "non_q1_qpv_min": "50",
                                  "priority_min": "25"}}),
        ),
        Action::InviteMember => p(
            "POST",
            "/invitations".into(),
            json!({"email": "nouveau@partie.test", "name": "Nouvelle Personne",
                   "organisation": "DDETS", "role": "observer"}),
            json!({"email": "pas-une-adresse", "name": "Nouvelle Personne",
                   "organisation": "DDETS", "role": "observer"}),
        ),
        Action::EditProposal => {
            let party = match m.actor.kind {
                Some(PartyKind::Reservataire(_) | PartyKind::Bailleur) => m.actor.party.clone(),
                _ => "etat".to_owned(),
            };
            let (valid, invalid) = if party == "bailleur" {
                (
                    json!({"commitments": commitments}),
                    json!({"share": "15", "commitments": commitments}),
                )
            } else {
                (
                    json!({"share": "15", "commitments": commitments}),
                    json!({"share": "quinze", "commitments": commitments}),
                )
            };
            Probe {
                proposal_party: Some(party.clone()),
                ..p("PUT", format!("/proposals/{party}"), valid, invalid)
            }
        }
        Action::Comment => comment(false),
        Action::Object => comment(true),
        Action::Resolve => close(t.comment[m.name], "resolve"),
        Action::OverruleObjection => close(t.objection, "overrule"),
        Action::Consolidate => p(
            "POST",
            "/consolidate".into(),
            json!({"based_on": "proposals"}),
            json!({"based_on": "hasard"}),
        ),
        Action::Transition(Transition::OpenSigning) => p(
            "POST",
            "/signing".into(),
            json!({"required": ["action-logement", "etat"]}),
            json!({"deadline": "demain"}),
        ),
        Action::Transition(t) => transition(
            serde_json::to_value(t)
                .unwrap()
                .as_str()
                .expect("a transition's name"),
        ),
        Action::Sign => p(
            "POST",
            "/signatures".into(),
            json!({"password": PASSWORD, "version_hash": t.hash}),
            json!({"password": PASSWORD, "version_hash": t.hash, "mandate": "x".repeat(501)}),
        ),
        Action::ImportPatrimoine | Action::Remind | Action::SetDeadline => {
            unreachable!("tried through the service")
        }
    }
}

/// The facts of `snap` for `actor`, gathered here independently of the services.
fn facts_of(snap: &Snapshot, actor: &Actor, probe: Option<&Probe>, user_id: i64) -> GuardFacts {
    let round = snap
        .rounds
        .iter()
        .find(|r| r.status == RoundStatus::Ouverte);
    let blocking = snap.current.as_ref().map_or(0, |v| {
        let doc: Value = serde_json::from_str(&v.document).unwrap();
        doc["report"]["summary"]["blocking"].as_u64().unwrap_or(0) as usize
    });
    let thread = probe.and_then(|p| p.thread).map(|id| {
        let c = snap.comments.iter().find(|c| c.id == id).unwrap();
        ThreadFacts {
            id,
            objection: c.objection,
            party: c.party.clone(),
            by_actor: c.author_id == user_id,
            open: c.status == CommentStatus::Ouvert,
        }
    });
    GuardFacts {
        has_version: snap.current.is_some(),
        blocking_violations: blocking,
        open_objections: snap
            .comments
            .iter()
            .filter(|c| c.objection && c.status == CommentStatus::Ouvert)
            .count(),
        all_signed: false,
        approval_required: snap.convention.approval_required,
        round_open: round.is_some(),
        round_requires_party: round.is_some_and(|r| r.required.contains(&actor.party)),
        party_signed: round.is_some_and(|r| {
            snap.signatures
                .iter()
                .any(|s| s.round_id == r.id && s.record.party == actor.party)
        }),
        proposal_party: probe.and_then(|p| p.proposal_party.clone()),
        thread,
    }
}

/// Tries the secretariat's coordination (no API route: the pages call the service): with an
/// input the guard lets through to its own check when `allowed` (an unknown party, a date that
/// is no date), with a valid one otherwise. Never succeeds: returns the error.
async fn coordination_probe(
    h: &Harness,
    user: &convention_flux::store::conventions::UserRecord,
    id: i64,
    action: Action,
    allowed: bool,
) -> ServiceError {
    let caller = Caller { user: user.clone() };
    let result = match action {
        Action::Remind => {
            let party = if allowed {
                "partie-inconnue"
            } else {
                "commune-69802"
            };
            coordination::remind_party(&h.platform, &caller, id, party)
                .await
                .map(drop)
        }
        Action::SetDeadline => {
            let in_a_month = (Utc::now() + chrono::Duration::days(30))
                .format("%Y-%m-%d")
                .to_string();
            let deadline = if allowed {
                "demain"
            } else {
                in_a_month.as_str()
            };
            coordination::set_signing_deadline(&h.platform, &caller, id, deadline)
                .await
                .map(drop)
        }
        other => unreachable!("{other:?} is tried over HTTP"),
    };
    result.expect_err("a probe never succeeds")
}

/// Tries every action for every member in the convention's current state and checks each
/// answer against `permission`; returns how many calls were made (HTTP, then service).
async fn check_permissions(
    h: &Harness,
    members: &[Member],
    t: &Targets,
    when: &str,
) -> (usize, usize) {
    let store = &h.platform.store;
    let snap = store.snapshot(t.id).await.unwrap().unwrap();
    let state = snap.convention.state;
    let before = footprint(h, t.id).await;
    let (mut calls, mut services) = (0, 0);
    for m in members {
        let user = store.user_by_email(&m.email).await.unwrap().unwrap();
        for action in ACTIONS {
            let context = format!("{when} — {} — {action:?}", m.name);
            if action == Action::ImportPatrimoine {
                let facts = facts_of(&snap, &m.actor, None, user.id);
                let caller = Caller { user: user.clone() };
                let access = conventions::access(&h.platform, &caller, t.id)
                    .await
                    .unwrap();
                assert_eq!(
                    access.require_patrimoine_import(),
                    permission(&m.actor, action, state, &facts),
                    "{context}"
                );
                continue;
            }
            if matches!(action, Action::Remind | Action::SetDeadline) {
                let facts = facts_of(&snap, &m.actor, None, user.id);
                let expected = permission(&m.actor, action, state, &facts);
                let answer = coordination_probe(h, &user, t.id, action, expected.is_ok()).await;
                let context = format!("{context} → {answer:?} ; attendu {expected:?}");
                match expected {
                    Ok(()) => assert!(matches!(answer, ServiceError::Invalid(_)), "{context}"),
                    Err(Refusal::Forbidden(m)) => assert!(
                        matches!(&answer, ServiceError::Forbidden(a) if *a == m),
                        "{context}"
                    ),
                    Err(Refusal::Conflict(m)) => assert!(
                        matches!(&answer, ServiceError::Conflict(a) if *a == m),
                        "{context}"
                    ),
                }
                services += 1;
                continue;
            }
            let probe = probe(action, m, t);
            let facts = facts_of(&snap, &m.actor, Some(&probe), user.id);
            let expected = permission(&m.actor, action, state, &facts);
            let body = match &expected {
                Ok(()) => probe.invalid.clone(),
                Err(_) => probe.valid.clone(),
            };
            let body = (!body.is_null()).then_some(body);
            let (status, answer) = h.call(Some(&m.user), probe.method, &probe.path, body).await;
            calls += 1;
            let context = format!(
                "{context} : {} {} → {status} {answer} ; attendu {expected:?}",
                probe.method, probe.path
            );
            match expected {
                Ok(()) if action == Action::Read => assert_eq!(status, 200, "{context}"),
                Ok(()) => {
                    assert_eq!(status, 400, "{context}");
                    assert_eq!(error_code(&answer, &context), "requete_invalide");
                }
                Err(Refusal::Forbidden(m)) => {
                    assert_eq!(status, 403, "{context}");
                    assert_eq!(error_code(&answer, &context), "interdit");
                    assert_eq!(message(&answer), sentence(&m), "{context}");
                }
                Err(Refusal::Conflict(m)) => {
                    assert_eq!(status, 409, "{context}");
                    assert_eq!(error_code(&answer, &context), "conflit");
                    assert_eq!(message(&answer), sentence(&m), "{context}");
                }
            }
        }
    }
    assert_eq!(
        footprint(h, t.id).await,
        before,
        "{when} : un essai a laissé une trace en base"
    );
    (calls, services)
}

/// A successful call on convention `id`.
async fn on(h: &Harness, id: i64, user: &User, method: &str, path: String, body: Value) -> Value {
    h.ok(
        user,
        method,
        &format!("/api/conventions/{id}{path}"),
        Some(body),
    )
    .await
}

async fn the_permission_matrix(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    let reservataire = |kind| Some(PartyKind::Reservataire(kind));
    let mut members = vec![Member {
        name: "secrétariat",
        user: sec.clone(),
        email: sec.email.clone(),
        actor: Actor {
            role: Role::Secretariat,
            party: "secretariat".into(),
            kind: Some(PartyKind::Secretariat),
        },
    }];
    for (name, email, role, party, kind) in [
        (
            "contributeur commune",
            "contributeur@commune-69801.test",
            Role::Contributor,
            "commune-69801",
            reservataire(ReservataireKind::Commune),
        ),
        (
            "signataire Action Logement",
            "signataire@action-logement.test",
            Role::Signatory,
            "action-logement",
            reservataire(ReservataireKind::ActionLogement),
        ),
        (
            "préfet",
            "prefet@etat.test",
            Role::Signatory,
            "etat",
            reservataire(ReservataireKind::Etat),
        ),
        (
            "bailleur",
            "contributeur@bailleur.test",
            Role::Contributor,
            "bailleur",
            Some(PartyKind::Bailleur),
        ),
        (
            "observateur",
            "observateur@dreal.test",
            Role::Observer,
            "",
            None,
        ),
    ] {
        let user = h.invite(&sec, id, email, role.as_str(), party).await;
        members.push(Member {
            name,
            email: email.into(),
            user,
            actor: Actor {
                role,
                party: party.into(),
                kind,
            },
        });
    }
    let by = |name: &str| &members.iter().find(|m| m.name == name).unwrap().user;
    // Each member's own open comment, and one objection.
    let mut comment = HashMap::new();
    for m in &members[..5] {
        let c = on(
            &h,
            id,
            &m.user,
            "POST",
            "/comments".into(),
            serde_json::from_str(PLAIN_COMMENT).unwrap(),
        )
        .await;
        comment.insert(m.name, c["id"].as_i64().unwrap());
    }
    comment.insert("observateur", comment["secrétariat"]);
    let objection = on(
        &h,
        id,
        by("contributeur commune"),
        "POST",
        "/comments".into(),
        serde_json::from_str(OBJECTION).unwrap(),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut t = Targets {
        id,
        hash: String::new(),
        comment,
        objection,
    };
    let (mut calls, mut services) = (0, 0);
    let mut seen = BTreeSet::new();
    macro_rules! check {
        ($when:expr) => {
            let v = h
                .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
                .await;
            t.hash = v["hash"].as_str().unwrap().to_owned();
            seen.insert(h.state(&sec, id).await);
            let (http, service) = check_permissions(&h, &members, &t, $when).await;
            calls += http;
            services += service;
        };
    }
    check!("brouillon");
    on(&h, id, &sec, "POST", "/transitions/open".into(), json!({})).await;
    check!("concertation");
    for (party, share) in [("commune-69802", "15"), ("departement-69", "5")] {
        let user = h
            .invite(
                &sec,
                id,
                &format!("{party}@partie.test"),
                "contributor",
                party,
            )
            .await;
        on(
            &h,
            id,
            &user,
            "POST",
            format!("/proposals/{party}/publish"),
            proposal(share),
        )
        .await;
    }
    for (name, party, share) in [
        ("contributeur commune", "commune-69801", "15"),
        ("signataire Action Logement", "action-logement", "20"),
        ("préfet", "etat", "25"),
    ] {
        on(
            &h,
            id,
            by(name),
            "POST",
            format!("/proposals/{party}/publish"),
            proposal(share),
        )
        .await;
    }
    on(
        &h,
        id,
        by("bailleur"),
        "POST",
        "/proposals/bailleur/publish".into(),
        json!({"commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}),
    )
    .await;
    on(
        &h,
        id,
        &sec,
        "POST",
        "/consolidate".into(),
        json!({"based_on": "proposals"}),
    )
    .await;
    // The objection still open: opening the signature is refused, and says why.
    check!("arbitrage, une objection ouverte");
    on(
        &h,
        id,
        &sec,
        "POST",
        format!("/comments/{objection}/overrule"),
        json!({"text": "motif de la CIL"}),
    )
    .await;
    on(
        &h,
        id,
        &sec,
        "POST",
        "/signing".into(),
        json!({"required": ["action-logement", "etat"]}),
    )
    .await;
    check!("signature");
    let sign = json!({"password": PASSWORD, "version_hash": t.hash});
    on(
        &h,
        id,
        by("signataire Action Logement"),
        "POST",
        "/signatures".into(),
        sign.clone(),
    )
    .await;
    check!("signature, Action Logement a signé");
    on(&h, id, by("préfet"), "POST", "/signatures".into(), sign).await;
    check!("signée");
    on(
        &h,
        id,
        by("préfet"),
        "POST",
        "/transitions/approve".into(),
        json!({}),
    )
    .await;
    check!("en vigueur");
    on(
        &h,
        id,
        &sec,
        "POST",
        "/transitions/avenant".into(),
        json!({"reason": "nouvelle commune"}),
    )
    .await;
    // An invitation still pending when the convention is abandoned is no longer valid.
    on(
        &h,
        id,
        &sec,
        "POST",
        "/invitations".into(),
        json!({"email": "en-attente@partie.test", "name": "Personne en attente",
               "organisation": "DDETS", "role": "observer"}),
    )
    .await;
    let pending = h.invitation_token("en-attente@partie.test").await;
    on(
        &h,
        id,
        &sec,
        "POST",
        "/transitions/abandon".into(),
        json!({"reason": "projet arrêté"}),
    )
    .await;
    check!("abandonnée");
    let (status, answer) = h
        .call(
            None,
            "POST",
            "/api/invitations/accept",
            Some(json!({"token": pending, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 401, "{answer}");
    assert!(message(&answer).contains("invitation"), "{answer}");
    let all: BTreeSet<String> = ConventionState::ALL
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    assert_eq!(seen, all, "chaque état a été essayé");
    // The bailleur's files, the reminders and the deadline are tried through the services.
    assert_eq!(calls, 8 * members.len() * (ACTIONS.len() - 3));
    assert_eq!(services, 8 * members.len() * 2);
}

on_both_engines!(the_permission_matrix);

// ---------------------------------------------------------------------------------------------
// Raw HTTP, for what the harness's JSON client cannot send
// ---------------------------------------------------------------------------------------------

struct Raw<'a> {
    method: &'a str,
    path: &'a str,
    bearer: Option<&'a str>,
    cookie: Option<&'a str>,
    content_type: Option<&'a str>,
    body: Option<&'a str>,
}

impl<'a> Raw<'a> {
    fn new(method: &'a str, path: &'a str) -> Self {
        Self {
            method,
            path,
            bearer: None,
            cookie: None,
            content_type: None,
            body: None,
        }
    }

    fn json(mut self, body: &'a str) -> Self {
        self.content_type = Some("application/json");
        self.body = Some(body);
        self
    }

    async fn send(&self, h: &Harness) -> (u16, Value) {
        let mut request = h.client.request(
            self.method.parse().unwrap(),
            format!("{}{}", h.base, self.path),
        );
        if let Some(token) = self.bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(cookie) = self.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(content_type) = self.content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = self.body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Bad tokens
// ---------------------------------------------------------------------------------------------

/// The harness's session secret.
const SECRET: [u8; 32] = [9; 32];

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn claims(user_id: i64, now: i64) -> Value {
    json!({"sub": user_id.to_string(), "iss": "convention-flux", "aud": "convention-flux",
           "iat": now, "exp": now + 3600, "jti": "0123456789abcdef"})
}

fn sign_hs(algorithm: jsonwebtoken::Algorithm, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// The same token with one character of its payload changed.
fn flip_payload_char(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Vec<char> = parts[1].chars().collect();
    let i = payload.len() / 2;
    payload[i] = if payload[i] == 'A' { 'B' } else { 'A' };
    let payload: String = payload.into_iter().collect();
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// The same token claiming to be `user_id`, signature kept.
fn with_subject(token: &str, user_id: i64) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!(user_id.to_string());
    format!("{}.{}.{}", parts[0], b64(&payload), parts[2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_never_anonymous() {
    let db = TestDb::sqlite().await;
    let h = Harness::start(&db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    let other = account(&h, "autre@cil.test", "epci", EPCI).await;
    let me = h.ok(&sec, "GET", "/api/me", None).await;
    let user_id = me["user"]["id"].as_i64().unwrap();
    let other_id = h.ok(&other, "GET", "/api/me", None).await["user"]["id"]
        .as_i64()
        .unwrap();
    let now = Utc::now().timestamp();

    // Controls: tokens crafted here are accepted when nothing is wrong with them, so that each
    // refusal below is due to the one thing changed.
    let crafted = sign_hs(
        jsonwebtoken::Algorithm::HS256,
        &claims(user_id, now),
        &SECRET,
    );
    let (issued, issued_claims) = TokenKeys::from_secret(&SECRET)
        .unwrap()
        .issue_with_claims(user_id, now, 3600)
        .unwrap();
    // A well-signed token is a session only once recorded (issue 15): record both controls.
    for jti in ["0123456789abcdef", issued_claims.jti.as_str()] {
        h.platform
            .store
            .create_session(jti, user_id, now, now + 3600)
            .await
            .unwrap();
    }
    let cookie = |t: &str| format!("theme=clair; cf_session={t}");
    for token in [&sec.token, &crafted, &issued] {
        let (status, body) = Raw {
            bearer: Some(token),
            ..Raw::new("GET", "/api/me")
        }
        .send(&h)
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["id"], json!(user_id));
        let (status, body) = Raw {
            cookie: Some(&cookie(token)),
            ..Raw::new("GET", "/api/me")
        }
        .send(&h)
        .await;
        assert_eq!(status, 200, "cookie : {body}");
    }
    let (_, anonymous) = Raw::new("GET", "/api/me").send(&h).await;
    let anonymous = message(&anonymous).to_owned();

    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims(user_id, now);
        f(&mut c);
        sign_hs(jsonwebtoken::Algorithm::HS256, &c, &SECRET)
    };
    let none_header = json!({"alg": "none", "typ": "JWT"});
    let bad: Vec<(&str, String, &str)> = vec![
        (
            "un caractère du contenu changé",
            flip_payload_char(&sec.token),
            "",
        ),
        (
            "l'identité d'un autre compte, signature conservée",
            with_subject(&sec.token, other_id),
            "signature",
        ),
        (
            "expiré",
            TokenKeys::from_secret(&SECRET)
                .unwrap()
                .issue(user_id, now - 10 * 3600, 3600)
                .unwrap(),
            "expiré",
        ),
        (
            "expiré à l'instant",
            with(&|c| c["exp"] = json!(now - 1)),
            "expiré",
        ),
        (
            "mauvaise audience",
            with(&|c| c["aud"] = json!("autre-application")),
            "destiné",
        ),
        (
            "sans audience",
            with(&|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
            "destiné",
        ),
        (
            "mauvais émetteur",
            with(&|c| c["iss"] = json!("quelqu-un-d-autre")),
            "émis",
        ),
        (
            "sans expiration",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "",
        ),
        (
            "alg: none sans signature",
            format!("{}.{}.", b64(&none_header), b64(&claims(user_id, now))),
            "algorithme",
        ),
        (
            "alg: none avec la signature d'un vrai jeton",
            format!(
                "{}.{}.{}",
                b64(&none_header),
                b64(&claims(user_id, now)),
                sec.token.rsplit('.').next().unwrap()
            ),
            "algorithme",
        ),
        (
            "HS512 avec le bon secret",
            sign_hs(
                jsonwebtoken::Algorithm::HS512,
                &claims(user_id, now),
                &SECRET,
            ),
            "algorithme",
        ),
        (
            "signé avec un autre secret",
            TokenKeys::from_secret(&[8; 32])
                .unwrap()
                .issue(user_id, now, 3600)
                .unwrap(),
            "signature",
        ),
        (
            "compte inexistant",
            with(&|c| c["sub"] = json!("987654")),
            "Session",
        ),
        (
            "sujet non numérique",
            with(&|c| c["sub"] = json!("admin")),
            "",
        ),
        ("n'importe quoi", "n'importe-quoi".to_owned(), ""),
        ("trois segments illisibles", "abc.def.ghi".to_owned(), ""),
        ("vide", String::new(), ""),
    ];

    let before = footprint(&h, id).await;
    for (what, token, hint) in &bad {
        let comment =
            r#"{"anchor_kind": "objective", "anchor_ref": "priority_min", "body": "Intrusion."}"#;
        for (method, path, body) in [
            ("GET", "/api/me".to_owned(), None),
            ("GET", format!("/api/conventions/{id}"), None),
            ("GET", format!("/api/conventions/{id}/bundle"), None),
            (
                "POST",
                format!("/api/conventions/{id}/comments"),
                Some(comment),
            ),
        ] {
            let cookie_header = cookie(token);
            for (carrier, request) in [
                (
                    "Bearer",
                    Raw {
                        bearer: Some(token),
                        ..Raw::new(method, &path)
                    },
                ),
                (
                    "cookie",
                    Raw {
                        cookie: Some(&cookie_header),
                        ..Raw::new(method, &path)
                    },
                ),
                (
                    // A bad Bearer token is not replaced by a valid cookie.
                    "Bearer avec un cookie valide",
                    Raw {
                        bearer: Some(token),
                        cookie: Some(&format!("cf_session={}", sec.token)),
                        ..Raw::new(method, &path)
                    },
                ),
            ] {
                let request = match body {
                    Some(b) => request.json(b),
                    None => request,
                };
                let (status, answer) = request.send(&h).await;
                let context = format!("jeton {what} ({carrier}) sur {method} {path} : {answer}");
                assert_eq!(status, 401, "{context}");
                assert_eq!(
                    error_code(&answer, &context),
                    "non_authentifie",
                    "{context}"
                );
                let text = message(&answer);
                if !token.is_empty() {
                    // The token was examined, not ignored as if there were none.
                    assert_ne!(text, anonymous, "{context}");
                }
                assert!(text.contains(hint), "{context}: « {hint} » attendu");
            }
        }
    }
    assert_eq!(footprint(&h, id).await, before, "un jeton refusé a écrit");
    db.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 3. The login limiter
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sixth_login_after_five_failures_is_refused_even_with_the_right_password() {
    let db = TestDb::sqlite().await;
    let h = Harness::start(&db).await;
    let sec = h.secretariat().await;
    let neighbour = account(&h, "voisin@cil.test", "epci", EPCI).await;
    let login =
        |email: &str, password: &str| json!({"email": email, "password": password}).to_string();
    for attempt in 1..=5 {
        let body = login(&sec.email, "pas le bon mot de passe");
        let (status, answer) = Raw::new("POST", "/api/session").json(&body).send(&h).await;
        assert_eq!(status, 401, "tentative {attempt} : {answer}");
        assert_eq!(error_code(&answer, "échec"), "non_authentifie");
    }
    let body = login(&sec.email, PASSWORD);
    let request = h
        .client
        .post(format!("{}/api/session", h.base))
        .header("content-type", "application/json")
        .body(body.clone());
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "un refus ne pose pas de cookie de session"
    );
    let answer: Value = response.json().await.unwrap();
    assert_eq!(error_code(&answer, "6e tentative"), "trop_de_tentatives");
    assert!(message(&answer).contains("minute"), "{answer}");
    // Still refused, case and spaces notwithstanding.
    let body = login(&format!("  {}  ", sec.email.to_uppercase()), PASSWORD);
    let (status, answer) = Raw::new("POST", "/api/session").json(&body).send(&h).await;
    assert_eq!(status, 429, "{answer}");
    // Another address from the same place is not blocked, and sessions already open stay open.
    h.login(&neighbour.email, PASSWORD).await;
    h.ok(&sec, "GET", "/api/me", None).await;
    // An unknown address is limited the same way (no way to tell it from a known one).
    for _ in 0..5 {
        let body = login("personne@nulle-part.test", "pas le bon mot de passe");
        let (status, _) = Raw::new("POST", "/api/session").json(&body).send(&h).await;
        assert_eq!(status, 401);
    }
    let body = login("personne@nulle-part.test", "pas le bon mot de passe");
    let (status, answer) = Raw::new("POST", "/api/session").json(&body).send(&h).await;
    assert_eq!(status, 429, "{answer}");
    db.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 4. OpenAPI covers the router
// ---------------------------------------------------------------------------------------------

/// The router and the document come from one list of handlers (`api::documented_routes`):
/// the document served is the one generated, it names every route, and every route it names
/// answers, with no other method on the same address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_route_and_every_documented_route_answers() {
    let routes: BTreeSet<(String, String)> = operations().into_iter().collect();
    assert!(routes.contains(&("get".into(), "/health".into())));
    assert!(routes.contains(&("post".into(), "/api/conventions/{id}/signatures".into())));
    assert!(routes.contains(&("delete".into(), "/api/session".into())));
    assert!(routes.len() > 30, "{routes:?}");

    let db = TestDb::sqlite().await;
    let h = Harness::start(&db).await;
    let (status, doc) = Raw::new("GET", "/api/openapi.json").send(&h).await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["openapi"], json!("3.1.0"));
    assert_eq!(
        doc,
        openapi::openapi(),
        "le document servi n'est pas le document généré"
    );
    let mut documented = BTreeSet::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path}"
            );
            documented.insert((method.clone(), path.clone()));
        }
    }
    assert_eq!(documented, routes);

    // Every documented operation reaches a handler: neither the router's fallback nor 405.
    // A session is required where the document says so.
    let fallback = "Aucune page ni ressource";
    let (status, body) = Raw::new("GET", "/api/cette-route-n-existe-pas")
        .send(&h)
        .await;
    assert_eq!(status, 404);
    assert!(message(&body).contains(fallback), "{body}");
    let (status, _) = Raw::new("DELETE", "/api/me").send(&h).await;
    assert_eq!(status, 405, "the 405 check below can fail");
    for (method, path) in &documented {
        let concrete = path
            .replace("{id}", "1")
            .replace("{siren}", EPCI)
            .replace("{kind}", "communes")
            .replace("{number}", "1")
            .replace("{party}", "etat")
            .replace("{name}", "open")
            .replace("{comment}", "1");
        let upper = method.to_uppercase();
        let request = Raw::new(&upper, &concrete);
        let request = if method == "get" || method == "delete" {
            request
        } else {
            request.json("{}")
        };
        let (status, body) = request.send(&h).await;
        let context = format!("{method} {path} → {status} {body}");
        assert_ne!(status, 405, "{context}");
        assert!(!message(&body).contains(fallback), "{context}");
        // No method the document does not name is served at this address.
        for other in ["get", "put", "post", "delete", "patch"] {
            if documented.contains(&(other.to_owned(), path.clone())) {
                continue;
            }
            let upper = other.to_uppercase();
            let request = Raw::new(&upper, &concrete);
            let request = if other == "get" || other == "delete" {
                request
            } else {
                request.json("{}")
            };
            let (status, body) = request.send(&h).await;
            assert_eq!(status, 405, "{other} {path} → {status} {body}");
        }
        let secured = doc["paths"][path][method]["security"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|requirement| requirement.get("bearer").is_some());
        if secured {
            assert_eq!(status, 401, "{context}");
            assert_eq!(error_code(&body, &context), "non_authentifie");
        }
    }
    drop(h);
    db.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 5. Bad input
// ---------------------------------------------------------------------------------------------

/// Who sends it, method, path, content type, body, and what the message must name.
type BadCase<'a> = (
    &'a User,
    &'static str,
    String,
    Option<&'static str>,
    Option<String>,
    Vec<&'static str>,
);

async fn bad_bodies_are_refused_with_the_field_path_and_write_nothing(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    let contrib = h
        .invite(
            &sec,
            id,
            "contributeur@commune-69801.test",
            "contributor",
            "commune-69801",
        )
        .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/transitions/open"),
        Some(json!({})),
    )
    .await;
    let c = |p: &str| format!("/api/conventions/{id}{p}");
    let objectives = |q1: &str| {
        format!(
            r#"{{"objectives": {{"q1_hors_qpv_min": {q1}, "non_q1_qpv_min": "50", "priority_min": "25"}}}}"#
        )
    };
    let cases: Vec<BadCase> = vec![
        (&sec, "PUT", c("/objectives"), Some("application/json"), Some(objectives("25")),
            vec!["objectives.q1_hors_qpv_min"]),
        (&sec, "PUT", c("/objectives"), Some("application/json"), Some(objectives("true")),
            vec!["objectives.q1_hors_qpv_min"]),
        (&sec, "PUT", c("/objectives"), Some("application/json"), Some(objectives(r#""beaucoup""#)),
            vec!["objectif « premier quartile hors QPV »"]),
        (&sec, "PUT", c("/objectives"), Some("application/json"), Some(objectives(r#""150""#)),
            vec!["objectif « premier quartile hors QPV »"]),
        (&sec, "PUT", c("/objectives"), Some("application/json"),
            Some(r#"{"objectives": {"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50", "priority_min": "25"}, "motif": "x"}"#.into()),
            vec!["motif"]),
        (&sec, "PUT", c("/objectives"), Some("application/json"),
            Some(r#"{"objectives": {"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50", "priority_min": "25", "plafond": "3"}}"#.into()),
            vec!["objectives", "plafond"]),
        (&sec, "PUT", c("/objectives"), Some("application/json"),
            Some(r#"{"objectives": {"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50"}}"#.into()),
            vec!["objectives", "priority_min"]),
        (&sec, "PUT", c("/objectives"), Some("application/json"), Some(r#"{"objectives": "#.into()),
            vec!["JSON"]),
        (&sec, "PUT", c("/objectives"), Some("application/json"),
            Some(format!("{} et la suite", objectives(r#""25""#))), vec!["en trop"]),
        (&sec, "PUT", c("/objectives"), Some("application/json"), Some("[]".into()), vec![]),
        (&sec, "PUT", c("/objectives"), Some("application/json"), Some(String::new()), vec![]),
        (&sec, "PUT", c("/objectives"), Some("text/plain"), Some(objectives(r#""25""#)),
            vec!["Content-Type"]),
        (&sec, "PUT", c("/objectives"), None, None, vec!["Content-Type"]),
        (&sec, "PUT", c("/clauses"), Some("application/json"),
            Some(r#"{"clauses": [{"id": "objet", "title": "Objet"}]}"#.into()),
            vec!["clauses[0]", "text"]),
        (&sec, "POST", c("/comments"), Some("application/json"),
            Some(r#"{"anchor_kind": "objective", "anchor_ref": "priority_min", "body": "b", "objection": "oui"}"#.into()),
            vec!["objection"]),
        (&sec, "POST", c("/comments"), Some("application/json"),
            Some(r#"{"anchor_kind": "paragraphe", "anchor_ref": "x", "body": "b"}"#.into()),
            vec!["élément commenté"]),
        (&sec, "POST", c("/invitations"), Some("application/json"),
            Some(r#"{"email": "a@b.test", "name": "A", "organisation": "B", "role": "chef"}"#.into()),
            vec!["role"]),
        (&sec, "POST", c("/invitations"), Some("application/json"),
            Some(r#"{"email": "pas-une-adresse", "name": "A", "organisation": "B", "role": "observer"}"#.into()),
            vec!["adresse électronique"]),
        (&sec, "POST", c("/consolidate"), Some("application/json"),
            Some(r#"{"based_on": "hasard"}"#.into()), vec!["base de la consolidation"]),
        (&sec, "POST", c("/transitions/abandon"), Some("application/json"),
            Some(r#"{"motif": "x"}"#.into()), vec!["motif"]),
        (&sec, "POST", "/api/conventions".into(), Some("application/json"),
            Some(format!(r#"{{"epci": "{EPCI}", "bailleur": "{BAILLEUR}", "year": "2027", "reservataires": ["etat"]}}"#)),
            vec!["year"]),
        (&contrib, "PUT", c("/proposals/commune-69801"), Some("application/json"),
            Some(r#"{"share": 15, "commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}"#.into()),
            vec!["share"]),
        (&contrib, "POST", c("/proposals/commune-69801/publish"), Some("application/json"),
            Some(r#"{"share": "15", "commitments": {"priority": "30", "q1_hors_qpv": "30"}}"#.into()),
            vec!["commitments", "non_q1_qpv"]),
        (&contrib, "POST", c("/proposals/commune-69801/publish"), Some("application/json"),
            Some(r#"{"share": "quinze", "commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}"#.into()),
            vec!["part (%)"]),
        (&contrib, "POST", c("/proposals/commune-69801/publish"), Some("application/json"),
            Some(r#"{"share": "15", "commitments": {"priority": "130", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}"#.into()),
            vec!["engagement « ménages prioritaires »"]),
    ];
    let before = footprint(&h, id).await;
    for (user, method, path, content_type, body, names) in &cases {
        let (status, answer) = Raw {
            bearer: Some(&user.token),
            content_type: *content_type,
            body: body.as_deref(),
            ..Raw::new(method, path)
        }
        .send(&h)
        .await;
        let context = format!("{method} {path} {body:?} → {status} {answer}");
        assert_eq!(status, 400, "{context}");
        assert_eq!(
            error_code(&answer, &context),
            "requete_invalide",
            "{context}"
        );
        for name in names {
            assert!(
                message(&answer)
                    .to_lowercase()
                    .contains(&name.to_lowercase()),
                "{context}: « {name} » attendu"
            );
        }
    }
    let (status, answer) = Raw::new("POST", "/api/session")
        .json(r#"{"email": 5, "password": "x"}"#)
        .send(&h)
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(message(&answer).contains("email"), "{answer}");
    assert_eq!(
        footprint(&h, id).await,
        before,
        "une requête refusée a écrit"
    );
    // The same calls, well formed, go through: the refusals above were about the bodies.
    h.ok(
        &sec,
        "PUT",
        &c("/objectives"),
        Some(serde_json::from_str(&objectives(r#""25""#)).unwrap()),
    )
    .await;
    h.ok(
        &contrib,
        "POST",
        &c("/proposals/commune-69801/publish"),
        Some(proposal("15")),
    )
    .await;
    assert_eq!(footprint(&h, id).await.versions, before.versions + 2);
}

on_both_engines!(bad_bodies_are_refused_with_the_field_path_and_write_nothing);
