//! E-mails go through the outbox and a real SMTP server on loopback; while the server is down
//! nothing is lost, and the worker retries with back-off (issue 4 item 1, issue 5 item 2).

mod common;

use common::TestDb;
use common::harness::{Harness, RESERVATAIRES, proposal};
use common::smtp::SmtpSink;
use convention_flux::config::Secret;
use convention_flux::mail::{Mailer, deliver_due};
use convention_flux::services::conventions::reminders::enqueue_due_reminders;
use serde_json::json;

async fn an_invitation_survives_a_smtp_outage_and_is_delivered(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/invitations"),
        Some(
            json!({"email": "elise@commune.test", "name": "Élise Durand",
                    "organisation": "Mairie de Valmont", "role": "signatory",
                    "party": "commune-69801", "mandate": "maire"}),
        ),
    )
    .await;
    let store = h.platform.store.as_ref();

    // The SMTP server is down: the attempt fails, is recorded, and the message stays.
    let down = SmtpSink::start(0).await;
    let port = down.port;
    drop(down);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mailer = Mailer::new(
        &Secret::new(format!("smtp://127.0.0.1:{port}")),
        "convention-flux <ne-pas-repondre@cf.test>",
    )
    .unwrap();
    let pass = deliver_due(store, &mailer).await.unwrap();
    assert_eq!((pass.sent, pass.failed), (0, 1));
    let row = store.outbox().await.unwrap().pop().unwrap();
    assert_eq!(row.attempts, 1);
    assert!(row.sent_at.is_none());
    assert!(
        row.last_error.as_deref().unwrap().contains("SMTP"),
        "{row:?}"
    );
    // Not due again before its back-off.
    let pass = deliver_due(store, &mailer).await.unwrap();
    assert_eq!((pass.sent, pass.failed), (0, 0));

    // The server is back and the back-off has passed: the invitation is delivered once.
    let sink = SmtpSink::start(port).await;
    store
        .outbox_failed(
            row.id,
            "essai forcé par le test",
            "2000-01-01T00:00:00.000Z",
        )
        .await
        .unwrap();
    let pass = deliver_due(store, &mailer).await.unwrap();
    assert_eq!((pass.sent, pass.failed), (1, 0));
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, vec!["<elise@commune.test>".to_owned()]);
    let text = messages[0].plain_text();
    assert!(text.contains("Bonjour Élise Durand"), "{text}");
    let link = format!(
        "/invitation/{}",
        h.invitation_token("elise@commune.test").await
    );
    assert!(text.contains(&link), "{text}");
    assert!(messages[0].data.contains("Content-Type: text/html"));
    let row = store.outbox().await.unwrap().pop().unwrap();
    assert!(row.sent_at.is_some());
    assert_eq!(
        deliver_due(store, &mailer).await.unwrap().sent,
        0,
        "sent once"
    );
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

/// Messages to `to` whose subject starts with `subject`.
fn sent_to<'a>(
    messages: &'a [common::smtp::Received],
    to: &str,
    subject: &str,
) -> Vec<&'a common::smtp::Received> {
    messages
        .iter()
        .filter(|m| m.to == vec![format!("<{to}>")] && m.subject().starts_with(subject))
        .collect()
}

async fn a_convention_driven_to_signing_notifies_each_party(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    let mut parties = Vec::new();
    for party in RESERVATAIRES.iter().copied().chain(["bailleur"]) {
        let email = format!("{party}@partie.test");
        let user = h.invite(&sec, id, &email, "signatory", party).await;
        parties.push((party, email, user));
    }
    let sink = SmtpSink::start(0).await;
    let invitations = deliver_all(&h, &sink).await;
    assert_eq!(invitations.len(), 6);
    assert!(
        invitations
            .iter()
            .all(|m| m.subject().starts_with("Invitation : Convention unique"))
    );

    // The concertation opens: each réservataire is asked for its proposal, not the bailleur.
    let path = |rest: &str| format!("/api/conventions/{id}{rest}");
    h.ok(&sec, "POST", &path("/transitions/open"), Some(json!({})))
        .await;
    let messages = deliver_all(&h, &sink).await;
    for (party, email, _) in &parties {
        let asked = sent_to(&messages, email, "Concertation ouverte").len();
        assert_eq!(asked, usize::from(*party != "bailleur"), "{party}");
    }

    // Proposals: each new version goes to every party but its author.
    let shares = [
        ("etat", "25"),
        ("commune-69801", "15"),
        ("commune-69802", "15"),
        ("action-logement", "20"),
        ("departement-69", "5"),
    ];
    for (party, share) in shares {
        let user = &parties.iter().find(|p| p.0 == party).unwrap().2;
        h.ok(
            user,
            "POST",
            &path(&format!("/proposals/{party}/publish")),
            Some(proposal(share)),
        )
        .await;
    }
    let bailleur = &parties.iter().find(|p| p.0 == "bailleur").unwrap().2;
    let commitments =
        json!({"commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}});
    h.ok(
        bailleur,
        "POST",
        &path("/proposals/bailleur/publish"),
        Some(commitments),
    )
    .await;
    let messages = deliver_all(&h, &sink).await;
    let etat_reviews = sent_to(&messages, "etat@partie.test", "Nouvelle version n°");
    assert_eq!(etat_reviews.len(), 5, "the five versions the others made");
    assert_eq!(
        sent_to(&messages, "bailleur@partie.test", "Nouvelle version n°").len(),
        5
    );
    let text = etat_reviews[0].plain_text();
    assert!(
        text.contains("proposition publiée par « commune-69801 »"),
        "{text}"
    );
    assert!(
        text.contains(&format!("http://plateforme.test/conventions/{id}")),
        "{text}"
    );
    h.ok(
        &sec,
        "POST",
        &path("/consolidate"),
        Some(json!({"based_on": "proposals"})),
    )
    .await;

    // An objection reaches the secretariat; the secretariat's answer reaches the objector.
    let commune = &parties.iter().find(|p| p.0 == "commune-69801").unwrap().2;
    let objection = h
        .ok(
            commune,
            "POST",
            &path("/comments"),
            Some(json!({
            "anchor_kind": "clause", "anchor_ref": "bilan", "objection": true,
            "body": "Le bilan doit détailler les refus par typologie."})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    h.ok(
        &sec,
        "POST",
        &path("/comments"),
        Some(json!({
        "anchor_kind": "clause", "anchor_ref": "bilan", "parent_id": objection,
        "body": "Le bilan détaillera les refus par typologie."})),
    )
    .await;
    h.ok(
        commune,
        "POST",
        &path(&format!("/comments/{objection}/resolve")),
        Some(json!({"text": "Réponse satisfaisante."})),
    )
    .await;
    let messages = deliver_all(&h, &sink).await;
    let raised = sent_to(&messages, "secretariat@cil.test", "Objection de « ");
    assert_eq!(raised.len(), 1);
    assert!(raised[0].plain_text().contains("Le bilan doit détailler"));
    let answered = sent_to(
        &messages,
        "commune-69801@partie.test",
        "Réponse à votre objection",
    );
    assert_eq!(
        answered.len(),
        1,
        "the answer, not the objector's own lifting"
    );
    assert!(
        answered[0]
            .plain_text()
            .contains("a répondu à votre objection")
    );

    // Signing opens with a deadline: every signatory is asked.
    let deadline = chrono::Utc::now() + chrono::Duration::hours(30);
    h.ok(
        &sec,
        "POST",
        &path("/signing"),
        Some(json!({"deadline": deadline.to_rfc3339()})),
    )
    .await;
    let messages = deliver_all(&h, &sink).await;
    // The EPCI signs too, through its secretariat (RULES.md §5).
    let everyone = parties
        .iter()
        .map(|(party, email, _)| (*party, email.as_str()))
        .chain([("secretariat", "secretariat@cil.test")]);
    for (party, email) in everyone {
        let asked = sent_to(&messages, email, "Signature demandée");
        assert_eq!(asked.len(), 1, "{party}");
        assert!(
            asked[0].plain_text().contains("(UTC)"),
            "the deadline is stated"
        );
    }
    let hash = h.ok(&sec, "GET", &path("/version"), None).await["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let signatures = path("/signatures");
    let body = json!({"password": common::harness::PASSWORD, "version_hash": hash});
    h.ok(&parties[0].2, "POST", &signatures, Some(body.clone()))
        .await;

    // The reminder, two days before the deadline: once, to those who have not signed.
    let store = h.platform.store.as_ref();
    let base = "http://plateforme.test";
    let early = chrono::Utc::now() - chrono::Duration::days(1);
    assert_eq!(
        enqueue_due_reminders(store, base, 2, early).await.unwrap(),
        0,
        "not yet due"
    );
    assert_eq!(
        enqueue_due_reminders(store, base, 2, chrono::Utc::now())
            .await
            .unwrap(),
        6,
        "the five parties that have not signed and the EPCI"
    );
    assert_eq!(
        enqueue_due_reminders(store, base, 2, chrono::Utc::now())
            .await
            .unwrap(),
        0,
        "once"
    );
    let messages = deliver_all(&h, &sink).await;
    assert!(
        sent_to(&messages, "etat@partie.test", "Rappel").is_empty(),
        "the State signed"
    );
    assert_eq!(
        sent_to(
            &messages,
            "bailleur@partie.test",
            "Rappel : signature attendue avant le"
        )
        .len(),
        1
    );

    assert_eq!(
        sent_to(
            &messages,
            "secretariat@cil.test",
            "Rappel : signature attendue"
        )
        .len(),
        1,
        "the EPCI has not signed yet"
    );
    for user in parties[1..].iter().map(|p| &p.2).chain([&sec]) {
        h.ok(user, "POST", &signatures, Some(body.clone())).await;
    }
    assert_eq!(h.state(&sec, id).await, "signee");
    let messages = deliver_all(&h, &sink).await;
    for email in parties
        .iter()
        .map(|p| p.1.as_str())
        .chain(["secretariat@cil.test"])
    {
        let signed = sent_to(&messages, email, "Convention signée : ");
        assert_eq!(signed.len(), 1, "{email}");
        let attachments = signed[0].attachments();
        if email == "bailleur@partie.test" {
            assert_eq!(attachments.len(), 2, "XLSX and CSV");
            let (name, kind, xlsx) = &attachments[0];
            assert!(name.ends_with(".xlsx"), "{name}");
            assert!(kind.starts_with("application/vnd.openxmlformats"), "{kind}");
            assert_eq!(&xlsx[..4], b"PK\x03\x04");
            let (name, kind, csv) = &attachments[1];
            assert!(
                name.ends_with(".csv") && kind.starts_with("text/csv"),
                "{name} {kind}"
            );
            assert!(csv.starts_with(b"\xEF\xBB\xBFreservataire;nom;segment"));
            assert!(signed[0].plain_text().contains("sont joints"));
        } else {
            assert!(attachments.is_empty(), "{email}");
        }
        // Then the signed documents, through the real SMTP server: the convention in PDF/A,
        // and for a réservataire its own annex.
        let documents = sent_to(&messages, email, "Vos documents signés en PDF : ");
        assert_eq!(documents.len(), 1, "{email}");
        let attachments = documents[0].attachments();
        let reservataire = !["bailleur@partie.test", "secretariat@cil.test"].contains(&email);
        assert_eq!(
            attachments.len(),
            if reservataire { 2 } else { 1 },
            "{email}"
        );
        for (_, kind, pdf) in &attachments {
            // (long file names travel folded in RFC 2231 form, which the sink does not decode)
            assert!(kind.starts_with("application/pdf"), "{kind}");
            assert!(pdf.starts_with(b"%PDF-"), "{email}");
        }
        if reservataire {
            assert!(
                documents[0].plain_text().contains("-annexe-"),
                "{email}: the annex named in the text"
            );
        }
    }
}

on_both_engines!(
    an_invitation_survives_a_smtp_outage_and_is_delivered,
    a_convention_driven_to_signing_notifies_each_party
);
