//! Signatures (`/conventions/{id}/signatures`): the round, its deadline, who signed when; the
//! secretariat opens or cancels the round; a signatory signs on `/conventions/{id}/signer`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};

use super::{FlashQuery, ReasonForm, decide, done, failed, load, reason, show};
use crate::http::AppState;
use crate::http::auth::Origin;
use crate::http::pages::caller::{PageCaller, SignedForm};
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::redirect;
use crate::render::pages::convention::signatures::{SignaturesView, signatures};
use crate::render::pages::convention::{Page, party_name, with_party_names};
use crate::services::ServiceError;
use crate::services::conventions::coordination;
use crate::services::conventions::signing::{self, OpenSigning, SignRequest};

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

#[derive(Serialize)]
struct SignData {
    party: String,
    mandate: String,
    number: i64,
    reason: String,
    hash: String,
    total_flux: u64,
    party_total: u64,
}

async fn sign_form(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<FlashQuery>,
) -> Response {
    let l = match load(&state, &caller, &session, id, Page::Signatures).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let (Some(v), Some(doc)) = (l.view.current_version.as_ref(), l.doc()) else {
        return failed(ServiceError::Conflict(
            "la convention n'a encore aucune version".into(),
        ));
    };
    let data = SignData {
        party: party_name(&l.view, &l.view.your_party),
        mandate: l
            .view
            .members
            .iter()
            .find(|m| m.user_id == caller.user.id)
            .map(|m| m.mandate.clone())
            .unwrap_or_default(),
        number: v.number,
        reason: with_party_names(&l.view, &v.reason),
        hash: v.hash.clone(),
        total_flux: doc.scenario.segments.iter().map(|s| s.flux).sum(),
        party_total: doc
            .report
            .table
            .as_ref()
            .and_then(|t| t.row_total(&l.view.your_party))
            .unwrap_or(0),
    };
    show(
        &state,
        StatusCode::OK,
        session,
        q.into(),
        &l.ws,
        "convention/sign",
        data,
    )
}

#[derive(Debug, Deserialize)]
pub struct SignForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    version_hash: String,
    #[serde(default)]
    mandate: String,
    #[serde(default)]
    read: String,
}

async fn sign(
    State(state): State<AppState>,
    Origin(meta): Origin,
    PagePath(id): PagePath<i64>,
    SignedForm { caller, form, .. }: SignedForm<SignForm>,
) -> Response {
    let back = |message: &str| {
        redirect(&format!(
            "/conventions/{id}/signer?{}",
            crate::http::pages::flash::param("erreur", message)
        ))
    };
    if form.read != "oui" {
        return back(
            "cochez la case attestant que vous avez lu la version et que vous êtes habilité à signer",
        );
    }
    let request = SignRequest {
        password: form.password,
        version_hash: form.version_hash,
        mandate: reason(&form.mandate),
    };
    match signing::sign(&state.platform, &caller, id, request, meta).await {
        Ok(signed) => done(
            id,
            Page::Signatures,
            Ok(if signed.locked {
                "Signature enregistrée et scellée. C'était la dernière : la version est verrouillée.".into()
            } else {
                "Signature enregistrée et scellée.".into()
            }),
        ),
        Err(e) => back(&e.to_string()),
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
