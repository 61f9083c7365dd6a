//! E-mail delivery: every message is first written to the outbox in the same transaction as the
//! change that caused it (see `store::conventions`); this worker sends what is due through SMTP
//! with lettre and retries with an exponential back-off, so nothing is lost while the SMTP
//! server is down.

pub mod emails;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Secret;
use crate::store::Repository;
use crate::store::conventions::OutboxRow;

/// Messages sent per pass of the worker.
const BATCH: i64 = 50;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(
        "adresse du serveur SMTP invalide (attendu : smtp://hôte:port ou smtp://utilisateur:motdepasse@hôte:port) : {0}"
    )]
    Url(String),
    #[error("adresse d'expédition invalide « {0} »")]
    From(String),
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reminders: Option<Reminders>,
}

/// Reminders before a signing round's deadline, enqueued by the worker.
#[derive(Debug, Clone)]
pub struct Reminders {
    pub days_before_deadline: u32,
    /// Public address of the platform, for the links.
    pub base_url: String,
}

impl Mailer {
    pub fn new(url: &Secret, from: &str) -> Result<Self, MailError> {
        let (host, port, credentials) = parse_smtp_url(url.expose())?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(20)));
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        let transport = builder.build();
        let from = from.parse().map_err(|_| MailError::From(from.to_owned()))?;
        Ok(Self {
            transport,
            from,
            reminders: None,
        })
    }

    /// The worker also enqueues the reminders before signing deadlines.
    #[must_use]
    pub fn with_reminders(mut self, reminders: Reminders) -> Self {
        self.reminders = Some(reminders);
        self
    }

    async fn send(&self, row: &OutboxRow) -> Result<(), String> {
        let to: Mailbox = row
            .to
            .parse()
            .map_err(|e| format!("adresse du destinataire invalide : {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(row.subject.clone())
            .multipart(body(row)?)
            .map_err(|e| format!("message impossible à construire : {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("envoi SMTP refusé ou impossible : {e}"))
    }
}

/// Text and HTML alternatives, and the attachments if any.
fn body(row: &OutboxRow) -> Result<MultiPart, String> {
    let alternatives =
        MultiPart::alternative_plain_html(row.body_text.clone(), row.body_html.clone());
    if row.attachments.is_empty() {
        return Ok(alternatives);
    }
    let mut mixed = MultiPart::mixed().multipart(alternatives);
    for a in &row.attachments {
        let content = base64::engine::general_purpose::STANDARD
            .decode(&a.content_base64)
            .map_err(|_| format!("pièce jointe « {} » illisible", a.name))?;
        let content_type = ContentType::parse(&a.content_type)
            .map_err(|_| format!("type de la pièce jointe « {} » invalide", a.name))?;
        mixed = mixed.singlepart(Attachment::new(a.name.clone()).body(content, content_type));
    }
    Ok(mixed)
}

type SmtpTarget = (String, u16, Option<(String, String)>);

/// `smtp://[utilisateur:motdepasse@]hôte[:port]` (port 25 by default). The connection is plain
/// SMTP: deliver through a relay on the same host or network (the usual set-up of a public
/// administration's MTA), which handles TLS onwards. Errors never quote the URL (it may hold a
/// password).
fn parse_smtp_url(url: &str) -> Result<SmtpTarget, MailError> {
    let rest = url
        .strip_prefix("smtp://")
        .ok_or_else(|| MailError::Url("le schéma doit être smtp://".into()))?;
    let rest = rest.trim_end_matches('/');
    let (credentials, host_port) = match rest.rsplit_once('@') {
        Some((user_pass, host_port)) => {
            let (user, password) = user_pass.split_once(':').ok_or_else(|| {
                MailError::Url("identifiants attendus sous la forme utilisateur:motdepasse".into())
            })?;
            (Some((user.to_owned(), password.to_owned())), host_port)
        }
        None => (None, rest),
    };
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| MailError::Url("port invalide".into()))?,
        ),
        None => (host_port, 25),
    };
    if host.is_empty() {
        return Err(MailError::Url("hôte absent".into()));
    }
    Ok((host.to_owned(), port, credentials))
}

/// How long to wait before attempt number `attempts + 1`: 1 minute, doubling, at most 6 hours.
pub fn backoff(attempts: i64) -> Duration {
    let minutes = 1u64 << attempts.clamp(0, 9);
    Duration::from_secs((minutes * 60).min(6 * 3600))
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub failed: usize,
}

/// Sends every message due now; a failure is recorded with its next attempt, never dropped.
pub async fn deliver_due(
    store: &dyn Repository,
    mailer: &Mailer,
) -> Result<Delivery, crate::store::StoreError> {
    let now = Utc::now();
    let due = store
        .outbox_due(&crate::signing::timestamp(now), BATCH)
        .await?;
    let mut delivery = Delivery::default();
    for row in due {
        match mailer.send(&row).await {
            Ok(()) => {
                store
                    .outbox_sent(row.id, &crate::signing::timestamp(Utc::now()))
                    .await?;
                delivery.sent += 1;
            }
            Err(error) => {
                let wait = chrono::Duration::from_std(backoff(row.attempts))
                    .unwrap_or(chrono::Duration::hours(6));
                let next = crate::signing::timestamp(Utc::now() + wait);
                tracing::warn!(message = row.id, %error, "courriel non envoyé, nouvel essai prévu");
                store.outbox_failed(row.id, &error, &next).await?;
                delivery.failed += 1;
            }
        }
    }
    Ok(delivery)
}

/// Runs `deliver_due` every `every` until `stop` fires.
pub async fn run_worker(
    store: Arc<dyn Repository>,
    mailer: Mailer,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Some(r) = &mailer.reminders {
            let due = crate::services::conventions::reminders::enqueue_due_reminders(
                store.as_ref(),
                &r.base_url,
                r.days_before_deadline,
                Utc::now(),
            )
            .await;
            if let Err(error) = due {
                tracing::error!(%error, "rappels de signature non préparés");
            }
        }
        if let Err(error) = deliver_due(store.as_ref(), &mailer).await {
            tracing::error!(%error, "boîte d'envoi des courriels inaccessible");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_secs(60));
        assert_eq!(backoff(1), Duration::from_secs(120));
        assert_eq!(backoff(3), Duration::from_secs(480));
        assert_eq!(backoff(20), Duration::from_secs(6 * 3600));
        assert_eq!(backoff(-1), Duration::from_secs(60));
    }

    #[test]
    fn smtp_addresses_are_read() {
        assert_eq!(
            parse_smtp_url("smtp://relais.interne:2525").unwrap(),
            ("relais.interne".into(), 2525, None)
        );
        assert_eq!(
            parse_smtp_url("smtp://cf:mot:de@passe@127.0.0.1").unwrap(),
            (
                "127.0.0.1".into(),
                25,
                Some(("cf".into(), "mot:de@passe".into()))
            )
        );
        assert!(parse_smtp_url("smtp://hote:port").is_err());
        assert!(parse_smtp_url("smtp://").is_err());
    }

    #[test]
    fn a_bad_smtp_address_is_refused_without_echoing_it() {
        let e = Mailer::new(&Secret::new("ftp://u:secret@h"), "a@b.fr")
            .err()
            .unwrap();
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(e.to_string().contains("smtp://"), "{e}");
    }
}
