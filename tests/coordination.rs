//! How the secretariat runs a convention (issue 16 item 4): the signing deadline, reminding a
//! party now (the e-mail leaves through a real SMTP server), members and pending invitations,
//! and the demo's « Courriels envoyés » page. On both engines.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use common::TestDb;
use common::harness::{Harness, RESERVATAIRES, User, proposal};
use common::smtp::SmtpSink;
use convention_flux::config::{Secret, Settings};
use convention_flux::domain::ExperimentWindow;
use convention_flux::domain::convention::Role;
use convention_flux::http::{AppState, Server};
use convention_flux::mail::{Mailer, deliver_due};
use convention_flux::render::Templates;
use convention_flux::services::ServiceError;
use convention_flux::services::conventions::Caller;
use convention_flux::services::conventions::coordination::{
    DEADLINE_EVENT, REMIND_EVENT, ReminderKind, last_reminders, members_and_invitations,
    remind_party, set_signing_deadline,
};
use convention_flux::services::conventions::members::authenticate;
use convention_flux::services::conventions::verification::verify_database;
use serde_json::json;

/// A convention with one signatory per party (« {party}@partie.test »).
struct Convention {
    id: i64,
    sec: User,
    parties: Vec<(&'static str, User)>,
}

impl Convention {
    fn user(&self, party: &str) -> &User {
        &self.parties.iter().find(|p| p.0 == party).unwrap().1
    }
}

async fn caller(h: &Harness, user: &User) -> Caller {
    authenticate(&h.platform, &user.token).await.unwrap()
}

async fn with_signatories(h: &Harness) -> Convention {
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    let mut parties = Vec::new();
    for party in RESERVATAIRES.iter().copied().chain(["bailleur"]) {
        let email = format!("{party}@partie.test");
        parties.push((party, h.invite(&sec, id, &email, "signatory", party).await));
    }
    Convention { id, sec, parties }
}

fn path(c: &Convention, rest: &str) -> String {
    format!("/api/conventions/{}{rest}", c.id)
}

async fn open_concertation(h: &Harness, c: &Convention) {
    h.ok(
        &c.sec,
        "POST",
        &path(c, "/transitions/open"),
        Some(json!({})),
    )
    .await;
}

async fn publish(h: &Harness, c: &Convention, party: &str, share: &str) {
    let body = if party == "bailleur" {
        json!({"commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}})
    } else {
        proposal(share)
    };
    h.ok(
        c.user(party),
        "POST",
        &path(c, &format!("/proposals/{party}/publish")),
        Some(body),
    )
    .await;
}

/// From concertation to an open signing round without deadline.
async fn to_signature(h: &Harness, c: &Convention) {
    for (party, share) in [
        ("etat", "25"),
        ("commune-69801", "15"),
        ("commune-69802", "15"),
        ("action-logement", "20"),
        ("departement-69", "5"),
        ("bailleur", ""),
    ] {
        publish(h, c, party, share).await;
    }
    h.ok(
        &c.sec,
        "POST",
        &path(c, "/consolidate"),
        Some(json!({"based_on": "proposals"})),
    )
    .await;
    h.ok(&c.sec, "POST", &path(c, "/signing"), Some(json!({})))
        .await;
}

async fn verified(h: &Harness) {
    let key = h.platform.key.public_key_hex();
    let report = verify_database(h.platform.store.as_ref(), &key)
        .await
        .unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

fn refused(result: Result<impl std::fmt::Debug, ServiceError>) -> ServiceError {
    result.expect_err("the call should have been refused")
}

async fn the_secretariat_sets_and_moves_the_signing_deadline(db: &TestDb) {
    let h = Harness::start(db).await;
    let c = with_signatories(&h).await;
    let p = &h.platform;
    let sec = caller(&h, &c.sec).await;
    let day = (Utc::now() + Duration::days(20)).date_naive();
    let first = format!("{day}T18:00:00+01:00");

    // No round yet: nothing to set.
    open_concertation(&h, &c).await;
    let e = refused(set_signing_deadline(p, &sec, c.id, &first).await);
    assert!(
        matches!(&e, ServiceError::Conflict(m) if m.contains("aucun tour de signature n'est ouvert")),
        "{e:?}"
    );

    to_signature(&h, &c).await;
    for (input, words) in [
        ("le 31", "« le 31 » n'est pas une date"),
        ("2020-01-31", "est déjà passé"),
        ("  ", "obligatoire"),
    ] {
        let e = refused(set_signing_deadline(p, &sec, c.id, input).await);
        assert!(
            matches!(&e, ServiceError::Invalid(m) if m.contains(words)),
            "{input}: {e:?}"
        );
    }
    let signatory = caller(&h, c.user("etat")).await;
    let e = refused(set_signing_deadline(p, &signatory, c.id, &first).await);
    assert!(
        matches!(&e, ServiceError::Forbidden(m) if m.contains("fixer l'échéance")),
        "{e:?}"
    );

    let set = set_signing_deadline(p, &sec, c.id, &first).await.unwrap();
    assert_eq!(set.deadline, first);
    assert_eq!(set.previous, None);
    // In French, in Paris time (18:00 or 19:00 there, by season).
    let months = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let month = format!(
        "{} {} à ",
        months[chrono::Datelike::month0(&day) as usize],
        chrono::Datelike::year(&day)
    );
    assert!(set.deadline_label.contains(&month), "{set:?}");
    // A day typed in a form runs to 23:59 in Paris.
    let later_day = day + Duration::days(7);
    let moved = set_signing_deadline(p, &sec, c.id, &later_day.format("%d/%m/%Y").to_string())
        .await
        .unwrap();
    assert!(
        moved
            .deadline
            .starts_with(&format!("{later_day}T23:59:00+0")),
        "{moved:?}"
    );
    assert_eq!(moved.previous.as_deref(), Some(first.as_str()));

    let snap = p.store.snapshot(c.id).await.unwrap().unwrap();
    let round = snap.open_round().unwrap();
    assert_eq!(
        round.deadline,
        Some(chrono::DateTime::parse_from_rfc3339(&moved.deadline).unwrap())
    );
    // The automatic reminder before the deadline reads the moved one.
    assert_eq!(
        p.store.open_rounds_with_deadline().await.unwrap(),
        vec![(c.id, round.id, moved.deadline.clone())]
    );
    let events = p.store.audit_events(c.id).await.unwrap();
    let recorded: Vec<_> = events.iter().filter(|e| e.kind == DEADLINE_EVENT).collect();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1].payload["echeance"], json!(moved.deadline));
    assert_eq!(recorded[1].payload["precedente"], json!(first));
    assert_eq!(recorded[1].payload["tour"], json!(round.id));
    assert!(recorded[1].actor.as_deref().unwrap().contains("Claire"));
    // The chain covers the round's new deadline: `verify` finds nothing to report.
    verified(&h).await;

    // The round cancelled, there is no deadline to move any more.
    h.ok(
        &c.sec,
        "POST",
        &path(&c, "/transitions/cancel_signing"),
        Some(json!({})),
    )
    .await;
    let e = refused(set_signing_deadline(p, &sec, c.id, &first).await);
    assert!(matches!(e, ServiceError::Conflict(_)), "{e:?}");
}

/// Delivers the whole outbox to `sink` and returns what it received.
async fn deliver_all(h: &Harness, sink: &SmtpSink) -> Vec<common::smtp::Received> {
    let mailer = Mailer::new(
        &Secret::new(format!("smtp://127.0.0.1:{}", sink.port)),
        "convention-flux <ne-pas-repondre@cf.test>",
    )
    .unwrap();
    while deliver_due(h.platform.store.as_ref(), &mailer)
        .await
        .unwrap()
        .sent
        > 0
    {}
    sink.messages()
}

fn to<'a>(
    messages: &'a [common::smtp::Received],
    address: &str,
) -> Vec<&'a common::smtp::Received> {
    messages
        .iter()
        .filter(|m| m.to == vec![format!("<{address}>")])
        .collect()
}

async fn the_secretariat_reminds_a_party_now_at_most_once_an_hour(db: &TestDb) {
    let h = Harness::start(db).await;
    let c = with_signatories(&h).await;
    let p = &h.platform;
    let sec = caller(&h, &c.sec).await;
    let sink = SmtpSink::start(0).await;
    deliver_all(&h, &sink).await;

    // In draft there is nothing to remind.
    let e = refused(remind_party(p, &sec, c.id, "etat").await);
    assert!(
        matches!(&e, ServiceError::Conflict(m) if m.contains("rien à relancer : la convention est brouillon")),
        "{e:?}"
    );

    open_concertation(&h, &c).await;
    publish(&h, &c, "commune-69801", "15").await;
    let before = deliver_all(&h, &sink).await.len();

    // Refusals: a party that published, an unknown party, the secretariat, a signatory.
    let e = refused(remind_party(p, &sec, c.id, "commune-69801").await);
    assert!(
        matches!(&e, ServiceError::Conflict(m) if m.contains("a publié sa proposition le")),
        "{e:?}"
    );
    for party in ["inconnue", "secretariat"] {
        let e = refused(remind_party(p, &sec, c.id, party).await);
        assert!(
            matches!(&e, ServiceError::Invalid(m) if m.contains("n'est pas une partie de la convention")),
            "{party}: {e:?}"
        );
    }
    let signatory = caller(&h, c.user("etat")).await;
    let e = refused(remind_party(p, &signatory, c.id, "commune-69802").await);
    assert!(
        matches!(&e, ServiceError::Forbidden(m) if m.contains("relancer une partie")),
        "{e:?}"
    );
    assert_eq!(
        p.store.outbox().await.unwrap().len(),
        before,
        "a refusal writes no e-mail"
    );

    // The State has not published: its signatory is reminded, and the e-mail leaves.
    let reminded = remind_party(p, &sec, c.id, "etat").await.unwrap();
    assert_eq!(reminded.kind, ReminderKind::Proposal);
    assert_eq!(reminded.recipients, vec!["etat@partie.test".to_owned()]);
    assert!(
        reminded.message().contains("1 courriel envoyé ("),
        "{reminded:?}"
    );
    let messages = deliver_all(&h, &sink).await;
    let received = to(&messages[before..], "etat@partie.test");
    assert_eq!(received.len(), 1, "one reminder, to the State only");
    assert_eq!(messages.len(), before + 1);
    assert!(
        received[0]
            .subject()
            .starts_with("Concertation ouverte, votre proposition est attendue"),
        "{}",
        received[0].subject()
    );
    let text = received[0].plain_text();
    assert!(
        text.contains(&format!("http://plateforme.test/conventions/{}", c.id)),
        "{text}"
    );
    let events = p.store.audit_events(c.id).await.unwrap();
    let event = events.iter().rfind(|e| e.kind == REMIND_EVENT).unwrap();
    assert_eq!(event.payload["partie"], json!("etat"));
    assert_eq!(event.payload["objet"], json!("proposition"));
    assert_eq!(event.payload["destinataires"], json!(["etat@partie.test"]));

    // Not twice within the hour; another party may be.
    let e = refused(remind_party(p, &sec, c.id, "etat").await);
    assert!(
        matches!(&e, ServiceError::Conflict(m) if m.contains("une relance par heure au plus")),
        "{e:?}"
    );
    remind_party(p, &sec, c.id, "bailleur").await.unwrap();
    let last = last_reminders(p, &sec, c.id).await.unwrap();
    assert_eq!(
        last.iter()
            .map(|(party, _)| party.as_str())
            .collect::<Vec<_>>(),
        vec!["etat", "bailleur"]
    );

    // In signature: a party that signed has nothing to do; one that has not is asked to sign.
    to_signature(&h, &c).await;
    let hash = h.ok(&c.sec, "GET", &path(&c, "/version"), None).await["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    h.ok(
        c.user("commune-69802"),
        "POST",
        &path(&c, "/signatures"),
        Some(json!({"password": common::harness::PASSWORD, "version_hash": hash})),
    )
    .await;
    let e = refused(remind_party(p, &sec, c.id, "commune-69802").await);
    assert!(
        matches!(&e, ServiceError::Conflict(m) if m.contains("a signé le")),
        "{e:?}"
    );
    let before = deliver_all(&h, &sink).await.len();
    let reminded = remind_party(p, &sec, c.id, "action-logement")
        .await
        .unwrap();
    assert_eq!(reminded.kind, ReminderKind::Signature);
    let messages = deliver_all(&h, &sink).await;
    assert_eq!(messages.len(), before + 1);
    let received = to(&messages[before..], "action-logement@partie.test");
    assert_eq!(received.len(), 1);
    let subject = received[0].subject();
    // No deadline was set: the reminder does not invent one.
    assert!(
        subject.starts_with("Rappel : signature attendue : "),
        "{subject}"
    );
    let text = received[0].plain_text();
    assert!(text.contains("/signer"), "{text}");
    assert!(!text.contains("se clôt"), "{text}");
    verified(&h).await;
}

async fn the_secretariat_sees_members_and_pending_invitations(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec_user = h.secretariat().await;
    let id = h.open_convention(&sec_user).await;
    let etat = h
        .invite(&sec_user, id, "prefet@etat.test", "signatory", "etat")
        .await;
    // Pending: invited, not accepted.
    h.ok(
        &sec_user,
        "POST",
        &format!("/api/conventions/{id}/invitations"),
        Some(json!({
            "email": "elise@commune.test", "name": "Élise Durand",
            "organisation": "Mairie de Valmont", "role": "contributor",
            "party": "commune-69801", "mandate": "adjointe au logement",
        })),
    )
    .await;
    let p = &h.platform;
    let sec = caller(&h, &sec_user).await;
    let roster = members_and_invitations(p, &sec, id).await.unwrap();

    let names: Vec<(&str, &str, &str)> = roster
        .members
        .iter()
        .map(|m| (m.email.as_str(), m.role_label, m.party.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            (
                "secretariat@cil.test",
                "secrétariat de la CIL",
                "secretariat"
            ),
            ("prefet@etat.test", "signataire", "etat"),
        ]
    );
    let prefet = &roster.members[1];
    assert_eq!(prefet.role, Role::Signatory);
    assert_eq!(prefet.mandate, "représentant de etat");
    let etat_name = p
        .store
        .snapshot(id)
        .await
        .unwrap()
        .unwrap()
        .parties
        .into_iter()
        .find(|x| x.party == "etat")
        .unwrap()
        .name;
    assert_eq!(prefet.party_name, etat_name);
    assert_ne!(prefet.party_name, "etat", "the party's name, not its id");

    // The accepted invitation is no longer pending; the other one is, with its expiry.
    assert_eq!(roster.invitations.len(), 1);
    let pending = &roster.invitations[0];
    assert_eq!(pending.email, "elise@commune.test");
    assert_eq!(pending.role_label, "contributeur");
    assert_eq!(pending.party, "commune-69801");
    let expires = chrono::DateTime::parse_from_rfc3339(&pending.expires_at).unwrap();
    let days = (expires.with_timezone(&Utc) - Utc::now()).num_days();
    assert!((13..=14).contains(&days), "{days}");
    assert!(pending.expires_label.contains(" à "), "{pending:?}");

    // Read-only, for the secretariat alone; a non-member learns nothing.
    let signatory = caller(&h, &etat).await;
    let e = refused(members_and_invitations(p, &signatory, id).await);
    assert!(
        matches!(&e, ServiceError::Forbidden(m) if m.contains("consulter les membres")),
        "{e:?}"
    );
    convention_flux::services::conventions::members::create_account(
        p,
        "x@y.test",
        "Xavier Inconnu",
        convention_flux::store::conventions::NewOrganisation {
            kind: "autre".into(),
            name: "Ailleurs".into(),
            reference: String::new(),
        },
        common::harness::PASSWORD,
    )
    .await
    .unwrap();
    let stranger = h.login("x@y.test", common::harness::PASSWORD).await;
    let stranger = caller(&h, &stranger).await;
    let e = refused(members_and_invitations(p, &stranger, id).await);
    assert!(matches!(e, ServiceError::NotFound(_)), "{e:?}");
}

/// The platform of `h` served again, in demo mode or not.
async fn serve(h: &Harness, demo: bool) -> (String, tokio::sync::oneshot::Sender<()>) {
    let settings = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Settings::default()
    };
    let window = ExperimentWindow {
        publication_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1),
        duration_years: 5,
        report_months_before_end: 6,
        illustrative: true,
    };
    let templates = Templates::new().unwrap().with_demo_mode(demo);
    let state = AppState::new(
        h.platform.clone(),
        Arc::new(templates),
        window,
        None,
        StdDuration::from_secs(60),
    );
    let server = Server::build(&settings, state).await.unwrap();
    let address = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    (format!("http://{address}"), stop)
}

async fn get_page(base: &str, path: &str, user: Option<&User>) -> (u16, String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client
        .get(format!("{base}{path}"))
        .header("accept", "text/html");
    if let Some(user) = user {
        request = request.header("cookie", format!("cf_session={}", user.token));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, response.text().await.unwrap())
}

async fn the_demo_shows_its_outbox_to_signed_in_users(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    let etat = h
        .invite(&sec, id, "prefet@etat.test", "signatory", "etat")
        .await;
    // An observer sees only its own invitation.
    let other_sec = h.invite(&sec, id, "autre@cil.test", "observer", "").await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/invitations"),
        Some(json!({
            "email": "elise@commune.test", "name": "Élise <Durand>",
            "organisation": "Mairie", "role": "contributor", "party": "commune-69801",
        })),
    )
    .await;
    let elise_link = format!(
        "http://plateforme.test/invitation/{}",
        h.invitation_token("elise@commune.test").await
    );

    let (base, _stop) = serve(&h, true).await;
    // Signed out: to the sign-in page, and back here after.
    let (status, location, _) = get_page(&base, "/courriels", None).await;
    assert_eq!(status, 303);
    assert_eq!(location, "/connexion?suite=%2Fcourriels");

    // The secretariat sees every mail of its convention, links clickable, text escaped.
    let (status, _, html) = get_page(&base, "/courriels", Some(&sec)).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<h1>Courriels envoyés</h1>"), "{html}");
    assert!(
        html.contains("href=\"/courriels\""),
        "the header links to the page in demo mode"
    );
    assert!(
        html.contains(&format!("<a href=\"{elise_link}\">{elise_link}</a>")),
        "{html}"
    );
    assert!(html.contains("Bonjour Élise &lt;Durand&gt;"), "{html}");
    assert!(!html.contains("Élise <Durand>"));
    for address in ["prefet@etat.test", "autre@cil.test", "elise@commune.test"] {
        assert!(html.contains(address), "{address}");
    }
    assert!(html.contains("fr-badge--info\">en attente d"), "{html}");
    // The date in French, in Paris time: « 7 décembre 2026 à 11 h 29 ».
    let created = h.platform.store.outbox().await.unwrap()[0]
        .created_at
        .clone();
    let written = convention_flux::render::french_time::french_timestamp(&created);
    assert!(
        written.contains(" à ") && written.contains(" h "),
        "{written}"
    );
    assert!(html.contains(&written), "{written}");

    // A member sees only the mails addressed to them.
    let (status, _, html) = get_page(&base, "/courriels", Some(&etat)).await;
    assert_eq!(status, 200);
    assert!(html.contains("prefet@etat.test"));
    assert!(!html.contains("elise@commune.test"), "{html}");
    assert!(!html.contains(&elise_link), "nobody else's invitation link");
    let (_, _, html) = get_page(&base, "/courriels", Some(&other_sec)).await;
    assert!(html.contains("autre@cil.test") && !html.contains("prefet@etat.test"));

    // Outside the demo the page does not exist, signed in or not, and the header has no link.
    let (served, _stop_served) = serve(&h, false).await;
    for user in [None, Some(&sec)] {
        let (status, _, html) = get_page(&served, "/courriels", user).await;
        assert_eq!(status, 404);
        assert!(html.contains("Page introuvable"), "{html}");
        assert!(html.contains("serveur de démonstration"), "{html}");
        assert!(!html.contains("href=\"/courriels\""));
    }
}

on_both_engines!(
    the_secretariat_sets_and_moves_the_signing_deadline,
    the_secretariat_reminds_a_party_now_at_most_once_an_hour,
    the_secretariat_sees_members_and_pending_invitations,
    the_demo_shows_its_outbox_to_signed_in_users,
);
