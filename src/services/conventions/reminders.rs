//! Reminders before a signing round's deadline: once per round, to the signatories whose party
//! has not signed yet. The reminder is recorded in the audit chain (`rappel_signature`) in the
//! same transaction as its e-mails, which is what makes it happen once even with several
//! workers.

use chrono::{DateTime, Duration, Utc};

use super::{ServiceError, notify};
use crate::store::conventions::{AuditDraft, ConventionChange};
use crate::store::{Repository, StoreError};

pub const REMINDER_EVENT: &str = "rappel_signature";

/// Enqueues the reminders due at `now` (deadline within `days_before` days and not passed);
/// returns how many e-mails were written to the outbox.
#[tracing::instrument(skip_all)]
pub async fn enqueue_due_reminders(
    store: &dyn Repository,
    base_url: &str,
    days_before: u32,
    now: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    let mut written = 0;
    for (convention, round_id, deadline) in store.open_rounds_with_deadline().await? {
        let Ok(deadline) = DateTime::parse_from_rfc3339(&deadline) else {
            continue;
        };
        let deadline = deadline.with_timezone(&Utc);
        if now > deadline || now < deadline - Duration::days(i64::from(days_before)) {
            continue;
        }
        // The snapshot first, the audit after: a reminder recorded in between moves the
        // revision, so that the change below is refused rather than sent twice.
        let Some(snap) = store.snapshot(convention).await? else {
            continue;
        };
        let Some(round) = snap.open_round().filter(|r| r.id == round_id) else {
            continue;
        };
        let already = store
            .audit_events(convention)
            .await?
            .iter()
            .any(|e| e.kind == REMINDER_EVENT && e.payload["tour"].as_i64() == Some(round_id));
        if already {
            continue;
        }
        let at = super::now();
        let outbox = notify::signing_reminder(base_url, &snap, round, &at)?;
        let recipients: Vec<&str> = outbox.iter().map(|m| m.to.as_str()).collect();
        let change = ConventionChange {
            convention_id: convention,
            expected_revision: Some(snap.convention.revision),
            audit: vec![AuditDraft {
                at: at.clone(),
                actor: None,
                kind: REMINDER_EVENT.into(),
                payload: serde_json::json!({"tour": round_id, "destinataires": recipients}),
            }],
            ..ConventionChange::default()
        };
        let count = outbox.len();
        let change = ConventionChange { outbox, ..change };
        match store.apply_change(&change).await {
            Ok(_) => written += count,
            // Someone changed the convention meanwhile: the next pass decides again.
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(written)
}
