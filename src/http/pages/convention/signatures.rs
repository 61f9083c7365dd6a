//! Signatures (`/conventions/{id}/signatures`): the round, its deadline, who signed when; the
//! secretariat opens or cancels the round; a signatory signs on `/conventions/{id}/signer`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{NaiveDate, TimeZone};
use serde::Deserialize;

use super::{FlashQuery, ReasonForm, decide, done, failed, load, reason, refused, show};
use crate::http::AppState;
use crate::http::auth::Origin;
use crate::http::pages::caller::{PageCaller, SignedForm};
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::{Flash, SessionView};
use crate::render::pages::convention::Page;
use crate::render::pages::convention::signatures::{
    SignEntry, SignaturesView, sign_view, signatures,
};
use crate::render::pages::forms::FieldErrors;
use crate::services::ServiceError;
use crate::services::conventions::convention_document;
use crate::services::conventions::signing::{self, OpenSigning};
use crate::services::conventions::{Caller, coordination};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/conventions/{id}/signatures", get(page))
        .route("/conventions/{id}/signature/ouvrir", post(open))
        .route("/conventions/{id}/signature/annuler", post(cancel))
        .route("/conventions/{id}/signature/echeance", post(move_deadline))
        .route("/conventions/{id}/relancer", post(remind))
        .route("/conventions/{id}/signer", get(sign_form).post(sign))
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<FlashQuery>,
) -> Response {
    match load(&state, &caller, &session, id, Page::Signatures).await {
        Ok(l) => {
            let data: SignaturesView = signatures(&l.view);
            show(
                &state,
                StatusCode::OK,
                session,
                q.into(),
                &l.ws,
                "convention/signatures",
                data,
            )
        }
        Err(e) => failed(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct OpenSigningForm {
    /// The last day to sign (`AAAA-MM-JJ`), optional: the round closes at the end of that day,
    /// Paris time.
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    overrule_reason: String,
}

/// The end of `day` in Paris, as the RFC 3339 instant the service stores.
fn end_of_day_in_paris(day: &str) -> Result<Option<String>, ServiceError> {
    let day = day.trim();
    if day.is_empty() {
        return Ok(None);
    }
    // A date field sends `AAAA-MM-JJ`; a browser without one lets the user type `JJ/MM/AAAA`.
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(day, "%d/%m/%Y"))
        .map_err(|_| {
            ServiceError::Invalid(format!(
                "date limite : « {day} » n'est pas une date (JJ/MM/AAAA, par exemple 31/01/2027)"
            ))
        })?;
    let local = date.and_hms_opt(23, 59, 0).expect("a valid time");
    let instant = chrono_tz::Europe::Paris
        .from_local_datetime(&local)
        .earliest()
        .ok_or_else(|| ServiceError::Invalid("date limite : heure inexistante".into()))?;
    Ok(Some(instant.with_timezone(&chrono::Utc).to_rfc3339()))
}

async fn open(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    SignedForm { caller, form, .. }: SignedForm<OpenSigningForm>,
) -> Response {
    let outcome = match end_of_day_in_paris(&form.deadline) {
        Ok(deadline) => {
            let request = OpenSigning {
                required: None,
                deadline,
                overrule_reason: reason(&form.overrule_reason),
            };
            signing::open_signing(&state.platform, &caller, id, request)
                .await
                .map(|_| "La signature est ouverte : les signataires sont invités à signer.".into())
        }
        Err(e) => Err(e),
    };
    done(id, Page::Signatures, outcome)
}

#[derive(Debug, Deserialize)]
pub struct DeadlineForm {
    #[serde(default)]
    deadline: String,
}

/// The secretariat moves the open round's deadline (a day: the round closes at its end, Paris
/// time).
async fn move_deadline(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    SignedForm { caller, form, .. }: SignedForm<DeadlineForm>,
) -> Response {
    let outcome = coordination::set_signing_deadline(&state.platform, &caller, id, &form.deadline)
        .await
        .map(|set| format!("Date limite de signature fixée au {}.", set.deadline_label));
    done(id, Page::Signatures, outcome)
}

#[derive(Debug, Deserialize)]
pub struct RemindForm {
    #[serde(default)]
    party: String,
    /// The page to come back to: `propositions` or `signatures` (default: the overview).
    #[serde(default)]
    retour: String,
}

/// The secretariat reminds a party now, to propose or to sign (e-mail and audit event).
async fn remind(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    SignedForm { caller, form, .. }: SignedForm<RemindForm>,
) -> Response {
    let back = match form.retour.as_str() {
        "propositions" => Page::Proposals,
        "signatures" => Page::Signatures,
        _ => Page::Overview,
    };
    let outcome = coordination::remind_party(&state.platform, &caller, id, form.party.trim())
        .await
        .map(|r| r.message());
    done(id, back, outcome)
}

async fn cancel(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    SignedForm { caller, form, .. }: SignedForm<ReasonForm>,
) -> Response {
    let t = crate::domain::convention::Transition::CancelSigning;
    decide(&state, &caller, id, t, &form.reason, Page::Signatures).await
}

async fn sign_form(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<FlashQuery>,
) -> Response {
    sign_page(
        &state,
        &caller,
        session,
        id,
        (StatusCode::OK, q.into()),
        None,
    )
    .await
}

/// The signing page, with the entry refused and its errors, if any.
async fn sign_page(
    state: &AppState,
    caller: &Caller,
    session: SessionView,
    id: i64,
    (status, flash): (StatusCode, Flash),
    typed: Option<(SignEntry, FieldErrors)>,
) -> Response {
    let l = match load(state, caller, &session, id, Page::Signatures).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let (Some(v), Some(doc)) = (l.view.current_version.as_ref(), l.doc()) else {
        return failed(ServiceError::Conflict(
            "la convention n'a encore aucune version".into(),
        ));
    };
    let mut data = sign_view(&l.view, (v, doc), caller.user.id, typed);
    if l.ws.can.sign {
        match convention_document::signing_pdf_digest(&state.platform, id).await {
            Ok(digest) => data.document_sha256 = digest,
            // The signature then records the PDF as it reads when it is made.
            Err(e) => tracing::warn!(convention = id, error = %e, "empreinte du PDF"),
        }
    }
    show(
        state,
        status,
        session,
        flash,
        &l.ws,
        "convention/sign",
        data,
    )
}

async fn sign(
    State(state): State<AppState>,
    Origin(meta): Origin,
    PagePath(id): PagePath<i64>,
    SignedForm {
        caller,
        session,
        form,
    }: SignedForm<SignEntry>,
) -> Response {
    let outcome = match form.request() {
        Ok(request) => signing::sign(&state.platform, &caller, id, request, meta).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(signed) => done(id, Page::Signatures, Ok(signed_message(signed.locked))),
        Err(e) => {
            let errors = SignEntry::errors(&e);
            let shown = refused("La signature n'est pas enregistrée", &e, errors.is_some());
            let typed = Some((form, errors.unwrap_or_default()));
            sign_page(&state, &caller, session, id, shown, typed).await
        }
    }
}

fn signed_message(locked: bool) -> String {
    if locked {
        "Signature enregistrée et scellée. C'était la dernière : la version est verrouillée.".into()
    } else {
        "Signature enregistrée et scellée.".into()
    }
}

#[cfg(test)]
mod tests {
    use super::end_of_day_in_paris;

    #[test]
    fn a_deadline_ends_at_23_59_in_paris_summer_or_winter() {
        assert_eq!(
            end_of_day_in_paris("2027-01-31").unwrap().as_deref(),
            Some("2027-01-31T22:59:00+00:00")
        );
        assert_eq!(
            end_of_day_in_paris("15/07/2027").unwrap().as_deref(),
            Some("2027-07-15T21:59:00+00:00")
        );
        assert_eq!(end_of_day_in_paris(" ").unwrap(), None);
        assert!(end_of_day_in_paris("demain").is_err());
    }
}
