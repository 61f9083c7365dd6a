//! E-mails go through the outbox and a real SMTP server on loopback; while the server is down
//! nothing is lost, and the worker retries with back-off (issue 4 item 1, issue 5 item 2).

mod common;

use common::TestDb;
use common::harness::Harness;
use common::smtp::SmtpSink;
use convention_flux::config::Secret;
use convention_flux::mail::{Mailer, deliver_due};
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

on_both_engines!(an_invitation_survives_a_smtp_outage_and_is_delivered);
