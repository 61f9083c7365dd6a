//! The convention API (issue 4): every handler extracts, calls one use case, maps the result.

use axum::Json;
use axum::extract::State;

use super::json::{FrPath as Path, FrQuery as Query};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json::JsonBody;
use crate::domain::convention::Transition;
use crate::http::auth::{AuthUser, Origin};
use crate::http::table_cache::TableText;
use crate::http::{ApiError, AppState};
use crate::services::conventions::comments::{self, NewCommentRequest, Resolution};
use crate::services::conventions::document::ProposalBody;
use crate::services::conventions::drafting::{
    self, ClausesChange, Consolidation, CreateConvention, ObjectivesChange, TransitionRequest,
};
use crate::services::conventions::members::{self, InvitationRequest};
use crate::services::conventions::signing::{self, OpenSigning, SignRequest, Signed};
use crate::services::conventions::{self as service, ConventionView, verification};
use crate::store::conventions::VersionRow;

type Result<T> = std::result::Result<T, ApiError>;

fn created(value: Value) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

pub async fn list(State(s): State<AppState>, AuthUser(c): AuthUser) -> Result<Response> {
    let list = service::my_conventions(&s.platform, &c).await?;
    Ok(Json(list).into_response())
}

pub async fn create(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    JsonBody(body): JsonBody<CreateConvention>,
) -> Result<Response> {
    let id = drafting::create(&s.platform, &c, body).await?;
    Ok(created(json!({"id": id, "etat": "brouillon"})))
}

pub async fn show(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<ConventionView>> {
    Ok(Json(service::view(&s.platform, &c, id).await?))
}

/// A version with its document embedded as stored: the canonical text is spliced in as is, so
/// that the reader gets exactly the bytes whose SHA-256 is `hash`, without re-encoding.
fn version_response(v: &VersionRow) -> Response {
    let meta = json!({
        "id": v.id, "number": v.number, "hash": v.hash, "parent_hash": v.parent_hash,
        "author_id": v.author_id, "reason": v.reason, "created_at": crate::signing::timestamp(v.created_at),
        "locked": v.locked,
    })
    .to_string();
    let body = format!(
        "{},\"document\":{}}}",
        meta.strip_suffix('}').unwrap_or(&meta),
        v.document
    );
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

pub async fn current_version(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    Ok(version_response(
        &service::current_version(&s.platform, &c, id).await?,
    ))
}

/// The flux table of the current version (cells, margins, divisors, ties). The membership and
/// the current version are read on every request; the table itself is extracted once per version
/// hash (`TableCache`), so that the whole document is not parsed again on each read.
pub async fn table(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let version = service::current_version(&s.platform, &c, id).await?;
    let table = s
        .tables
        .table_of(&version)
        .map_err(|_| ApiError::Internal(format!("version {} illisible", version.number)))?;
    let table = match table.as_ref() {
        TableText::Table(text) => text,
        TableText::Missing(reason) => {
            return Err(ApiError::NotFound(format!(
                "la version n° {} n'a pas de tableau des flux : {reason}",
                version.number
            )));
        }
    };
    // The same body as serializing `{version, hash, locked, table}` with serde_json: the
    // metadata is serialized with a null table, whose only occurrence is then replaced by the
    // table's text (the other values are a number, a hexadecimal hash and a boolean).
    let meta = json!({
        "version": version.number, "hash": version.hash, "locked": version.locked,
        "table": Value::Null,
    })
    .to_string();
    let body = meta.replacen("\"table\":null", &format!("\"table\":{table}"), 1);
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

pub async fn versions(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<VersionRow>>> {
    Ok(Json(service::versions(&s.platform, &c, id).await?))
}

pub async fn version(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path((id, number)): Path<(i64, i64)>,
) -> Result<Response> {
    Ok(version_response(
        &service::version(&s.platform, &c, id, number).await?,
    ))
}

#[derive(Deserialize)]
pub struct DiffQuery {
    from: i64,
    to: i64,
    party: Option<String>,
}

pub async fn diff(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<DiffQuery>,
) -> Result<Response> {
    let lines = service::diff(&s.platform, &c, id, q.from, q.to, q.party).await?;
    Ok(Json(json!({"from": q.from, "to": q.to, "changes": lines})).into_response())
}

pub async fn objectives(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ObjectivesChange>,
) -> Result<Response> {
    let n = drafting::set_objectives(&s.platform, &c, id, body).await?;
    Ok(created(json!({"version": n})))
}

pub async fn clauses(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ClausesChange>,
) -> Result<Response> {
    let n = drafting::set_clauses(&s.platform, &c, id, body).await?;
    Ok(created(json!({"version": n})))
}

pub async fn save_proposal(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path((id, party)): Path<(i64, String)>,
    JsonBody(body): JsonBody<ProposalBody>,
) -> Result<Response> {
    drafting::save_proposal(&s.platform, &c, id, &party, body, false).await?;
    Ok(Json(json!({"message": "proposition enregistrée (non publiée)"})).into_response())
}

pub async fn publish_proposal(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path((id, party)): Path<(i64, String)>,
    JsonBody(body): JsonBody<ProposalBody>,
) -> Result<Response> {
    let n = drafting::save_proposal(&s.platform, &c, id, &party, body, true).await?;
    Ok(created(json!({"version": n})))
}

pub async fn consolidate(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Consolidation>,
) -> Result<Response> {
    let n = drafting::consolidate(&s.platform, &c, id, body).await?;
    Ok(created(json!({"version": n, "etat": "arbitrage"})))
}

pub async fn transition(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path((id, name)): Path<(i64, String)>,
    JsonBody(body): JsonBody<TransitionRequest>,
) -> Result<Response> {
    let transition = match name.as_str() {
        "open" => Transition::Open,
        "reopen" => Transition::Reopen,
        "cancel_signing" => Transition::CancelSigning,
        "approve" => Transition::Approve,
        "refuse" => Transition::Refuse,
        "avenant" => Transition::Avenant,
        "abandon" => Transition::Abandon,
        other => {
            return Err(ApiError::NotFound(format!(
                "transition « {other} » inconnue (open, reopen, cancel_signing, approve, refuse, avenant, abandon ; consolidate, signing et signatures ont leur propre adresse)"
            )));
        }
    };
    let state = drafting::transition(&s.platform, &c, id, transition, body).await?;
    Ok(Json(json!({"etat": state, "libelle": state.label()})).into_response())
}

pub async fn open_signing(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<OpenSigning>,
) -> Result<Response> {
    let round = signing::open_signing(&s.platform, &c, id, body).await?;
    Ok(created(json!({"tour": round, "etat": "signature"})))
}

pub async fn sign(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Origin(meta): Origin,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<SignRequest>,
) -> Result<(StatusCode, Json<Signed>)> {
    let signed = signing::sign(&s.platform, &c, id, body, meta).await?;
    Ok((StatusCode::CREATED, Json(signed)))
}

pub async fn comment(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<NewCommentRequest>,
) -> Result<Response> {
    let comment = comments::add(&s.platform, &c, id, body).await?;
    Ok(created(json!({"id": comment})))
}

pub async fn resolve(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path((id, comment)): Path<(i64, i64)>,
    JsonBody(body): JsonBody<Resolution>,
) -> Result<Response> {
    comments::resolve(&s.platform, &c, id, comment, body, false).await?;
    Ok(Json(json!({"statut": "resolu"})).into_response())
}

pub async fn overrule(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path((id, comment)): Path<(i64, i64)>,
    JsonBody(body): JsonBody<Resolution>,
) -> Result<Response> {
    comments::resolve(&s.platform, &c, id, comment, body, true).await?;
    Ok(Json(json!({"statut": "passe_outre"})).into_response())
}

pub async fn invite(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<InvitationRequest>,
) -> Result<Response> {
    members::invite(&s.platform, &c, id, body).await?;
    Ok(created(
        json!({"message": "invitation envoyée par courriel"}),
    ))
}

pub async fn audit(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    Ok(Json(service::audit(&s.platform, &c, id).await?).into_response())
}

pub async fn bundle(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    Ok(Json(verification::bundle_for(&s.platform, &c, id).await?).into_response())
}
