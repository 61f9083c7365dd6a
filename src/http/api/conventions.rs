//! The convention API (issue 4): every handler extracts, calls one use case, maps the result.

use axum::Json;
use axum::extract::State;

use super::json::{FrPath as Path, FrQuery as Query};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::json::JsonBody;
use super::openapi::Erreur;
use super::session::Message;
use crate::domain::convention::{ConventionState, Transition};
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
use crate::signing::{AuditEvent, Bundle};
use crate::store::conventions::{ConventionSummary, VersionRow};

type Result<T> = std::result::Result<T, ApiError>;

fn created(value: impl Serialize) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

/// `POST /api/conventions`.
#[derive(Serialize, ToSchema)]
#[schema(description = "Convention ouverte")]
pub struct ConventionCreated {
    /// Numéro de la nouvelle convention
    id: i64,
    etat: ConventionState,
}

/// A change that made a new version.
#[derive(Serialize, ToSchema)]
#[schema(description = "Une modification qui a créé une nouvelle version")]
pub struct NewVersion {
    /// Numéro de la nouvelle version
    version: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(description = "Version consolidée ; la convention passe en arbitrage")]
pub struct Consolidated {
    /// Numéro de la version consolidée
    version: i64,
    etat: ConventionState,
}

#[derive(Serialize, ToSchema)]
#[schema(description = "Le nouvel état de la convention")]
pub struct TransitionDone {
    etat: ConventionState,
    /// L'état en français
    libelle: &'static str,
}

#[derive(Serialize, ToSchema)]
#[schema(description = "Tour de signature ouvert ; la convention passe en signature")]
pub struct SigningOpened {
    /// Numéro du tour de signature
    tour: i64,
    etat: ConventionState,
}

#[derive(Serialize, ToSchema)]
#[schema(description = "Commentaire enregistré")]
pub struct CommentCreated {
    /// Numéro du commentaire
    id: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(description = "Nouveau statut du commentaire")]
pub struct CommentClosed {
    /// resolu ou passe_outre
    #[schema(example = "resolu")]
    statut: &'static str,
}

/// The metadata of a version as answered; the stored document follows as `document`.
#[derive(Serialize)]
struct VersionMeta<'a> {
    id: i64,
    number: i64,
    hash: &'a str,
    parent_hash: Option<&'a str>,
    author_id: i64,
    reason: &'a str,
    created_at: String,
    locked: bool,
}

/// The answer of `…/version` and `…/versions/{number}` as the OpenAPI document shows it:
/// [`VersionMeta`] with the stored document spliced in (see [`version_response`]).
#[derive(ToSchema)]
#[schema(
    description = "Une version et son document canonique, inclus tel qu'il est stocké et haché"
)]
#[allow(dead_code)]
pub struct VersionWithDocument {
    id: i64,
    /// Numéro de la version dans la convention
    number: i64,
    /// SHA-256 (hexadécimal) du document tel qu'il est inclus ci-dessous
    hash: String,
    /// Empreinte de la version précédente
    parent_hash: Option<String>,
    author_id: i64,
    reason: String,
    created_at: String,
    /// Version signée par toutes les parties requises : elle ne change plus
    locked: bool,
    /// Le document canonique de la version (scénario, clauses, rapport du solveur), octet pour octet
    #[schema(value_type = Object)]
    document: Value,
}

/// The answer of `…/table` as the OpenAPI document shows it (see [`table`]).
#[derive(ToSchema)]
#[schema(description = "Le tableau des flux de la version courante")]
#[allow(dead_code)]
pub struct TableOfVersion {
    /// Numéro de la version courante
    version: i64,
    hash: String,
    locked: bool,
    /// Le tableau des flux du rapport du solveur : cellules, marges, diviseurs, égalités
    #[schema(value_type = Object)]
    table: Value,
}

#[utoipa::path(
    get,
    path = "/conventions",
    tag = "conventions",
    summary = "Mes conventions",
    responses(
        (status = 200, description = "Les conventions dont je suis membre, avec mon rôle et ma partie", body = Vec<ConventionSummary>),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn list(State(s): State<AppState>, AuthUser(c): AuthUser) -> Result<Response> {
    let list = service::my_conventions(&s.platform, &c).await?;
    Ok(Json(list).into_response())
}

#[utoipa::path(
    post,
    path = "/conventions",
    tag = "conventions",
    summary = "Ouvrir une convention (secrétariat de la CIL)",
    description = "L'EPCI et le bailleur doivent être importés ; la convention naît à l'état brouillon avec l'assiette du bailleur calculée.",
    request_body(content = CreateConvention),
    responses(
        (status = 201, description = "Convention ouverte", body = ConventionCreated),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : seul le secrétariat d'une CIL ouvre une convention, pour un EPCI éligible", body = Erreur),
        (status = 404, description = "introuvable : EPCI ou bailleur inconnu", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn create(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    JsonBody(body): JsonBody<CreateConvention>,
) -> Result<Response> {
    let id = drafting::create(&s.platform, &c, body).await?;
    Ok(created(ConventionCreated {
        id,
        etat: ConventionState::Brouillon,
    }))
}

#[utoipa::path(
    get,
    path = "/conventions/{id}",
    tag = "conventions",
    summary = "Une convention : parties, membres, propositions, commentaires, signatures",
    description = "Ce que voit un membre : parties, membres, version courante, propositions publiées (et son propre brouillon), commentaires, tours de signature et signatures.",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "La convention", body = ConventionView),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
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
    let meta = serde_json::to_string(&VersionMeta {
        id: v.id,
        number: v.number,
        hash: &v.hash,
        parent_hash: v.parent_hash.as_deref(),
        author_id: v.author_id,
        reason: &v.reason,
        created_at: crate::signing::timestamp(v.created_at),
        locked: v.locked,
    })
    .unwrap_or_default();
    let body = format!(
        "{},\"document\":{}}}",
        meta.strip_suffix('}').unwrap_or(&meta),
        v.document
    );
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

#[utoipa::path(
    get,
    path = "/conventions/{id}/version",
    tag = "conventions",
    summary = "Version courante (document canonique et empreinte)",
    description = "Le document est inclus tel qu'il est stocké : son SHA-256 est exactement hash.",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "La version courante", body = VersionWithDocument),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
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
#[utoipa::path(
    get,
    path = "/conventions/{id}/table",
    tag = "conventions",
    summary = "Tableau des flux de la version courante",
    description = "Cellules, marges, diviseurs et égalités du tableau des flux de la version courante.",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Le tableau des flux", body = TableOfVersion),
        (status = 404, description = "introuvable : convention inexistante, dont vous n'êtes pas membre, ou dont la version n'a pas de tableau des flux", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
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

#[utoipa::path(
    get,
    path = "/conventions/{id}/versions",
    tag = "conventions",
    summary = "Historique des versions",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Les versions, sans leur document", body = Vec<VersionRow>),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn versions(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<VersionRow>>> {
    Ok(Json(service::versions(&s.platform, &c, id).await?))
}

#[utoipa::path(
    get,
    path = "/conventions/{id}/versions/{number}",
    tag = "conventions",
    summary = "Une version",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("number" = i64, Path, description = "Numéro de la version")),
    responses(
        (status = 200, description = "La version et son document canonique", body = VersionWithDocument),
        (status = 404, description = "introuvable : convention ou version inexistante, ou convention dont vous n'êtes pas membre", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn version(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path((id, number)): Path<(i64, i64)>,
) -> Result<Response> {
    Ok(version_response(
        &service::version(&s.platform, &c, id, number).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// Numéro de la version de départ
    from: i64,
    /// Numéro de la version d'arrivée
    to: i64,
    /// Identifiant de la partie (par défaut : la vôtre)
    party: Option<String>,
}

/// `GET …/diff`: what changed for one party.
#[derive(Serialize, ToSchema)]
#[schema(description = "Ce qui change pour une partie entre deux versions")]
pub struct Diff {
    from: i64,
    to: i64,
    /// Ce qui change pour la partie, phrase par phrase, en français
    changes: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/conventions/{id}/diff",
    tag = "conventions",
    summary = "Ce qui change pour une partie entre deux versions",
    params(("id" = i64, Path, description = "Numéro de la convention"), DiffQuery),
    responses(
        (status = 200, description = "Les changements, en français", body = Diff),
        (status = 400, description = "requete_invalide : paramètres from et to absents ou non entiers", body = Erreur),
        (status = 404, description = "introuvable : convention ou version inexistante, ou convention dont vous n'êtes pas membre", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn diff(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<DiffQuery>,
) -> Result<Response> {
    let lines = service::diff(&s.platform, &c, id, q.from, q.to, q.party).await?;
    Ok(Json(Diff {
        from: q.from,
        to: q.to,
        changes: lines,
    })
    .into_response())
}

#[utoipa::path(
    put,
    path = "/conventions/{id}/objectives",
    tag = "conventions",
    summary = "Objectifs de la CIA (secrétariat) : nouvelle version",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body(content = ObjectivesChange),
    responses(
        (status = 201, description = "Nouvelle version créée", body = NewVersion),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : votre rôle dans la convention ne permet pas cette action", body = Erreur),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
        (status = 409, description = "conflit : l'état de la convention ne permet pas l'action, ou la convention a changé entre-temps", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn objectives(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ObjectivesChange>,
) -> Result<Response> {
    let n = drafting::set_objectives(&s.platform, &c, id, body).await?;
    Ok(created(json!({"version": n})))
}

#[utoipa::path(
    put,
    path = "/conventions/{id}/clauses",
    tag = "conventions",
    summary = "Clauses (secrétariat) : nouvelle version",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body(content = ClausesChange),
    responses(
        (status = 201, description = "Nouvelle version créée", body = NewVersion),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : votre rôle dans la convention ne permet pas cette action", body = Erreur),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
        (status = 409, description = "conflit : l'état de la convention ne permet pas l'action, ou la convention a changé entre-temps", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn clauses(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ClausesChange>,
) -> Result<Response> {
    let n = drafting::set_clauses(&s.platform, &c, id, body).await?;
    Ok(created(json!({"version": n})))
}

#[utoipa::path(
    put,
    path = "/conventions/{id}/proposals/{party}",
    tag = "conventions",
    summary = "Enregistrer la proposition de sa partie (privée)",
    description = "Le brouillon n'est visible que des membres de la partie ; rien n'est publié.",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("party" = String, Path, description = "Identifiant de la partie (etat, commune-69123, bailleur…)")),
    request_body(content = ProposalBody),
    responses(
        (status = 200, description = "Proposition enregistrée", body = Message),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : vous ne parlez pas pour cette partie, ou votre rôle ne le permet pas", body = Erreur),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
        (status = 409, description = "conflit : l'état de la convention ne permet pas l'action, ou la convention a changé entre-temps", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn save_proposal(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path((id, party)): Path<(i64, String)>,
    JsonBody(body): JsonBody<ProposalBody>,
) -> Result<Response> {
    drafting::save_proposal(&s.platform, &c, id, &party, body, false).await?;
    Ok(Json(Message {
        message: "proposition enregistrée (non publiée)",
    })
    .into_response())
}

#[utoipa::path(
    post,
    path = "/conventions/{id}/proposals/{party}/publish",
    tag = "conventions",
    summary = "Publier la proposition de sa partie : nouvelle version résolue",
    description = "La proposition est publiée et le solveur calcule une nouvelle version.",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("party" = String, Path, description = "Identifiant de la partie (etat, commune-69123, bailleur…)")),
    request_body(content = ProposalBody),
    responses(
        (status = 201, description = "Nouvelle version créée", body = NewVersion),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : vous ne parlez pas pour cette partie, ou votre rôle ne le permet pas", body = Erreur),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
        (status = 409, description = "conflit : l'état de la convention ne permet pas l'action, ou la convention a changé entre-temps", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn publish_proposal(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path((id, party)): Path<(i64, String)>,
    JsonBody(body): JsonBody<ProposalBody>,
) -> Result<Response> {
    let n = drafting::save_proposal(&s.platform, &c, id, &party, body, true).await?;
    Ok(created(json!({"version": n})))
}

#[utoipa::path(
    post,
    path = "/conventions/{id}/consolidate",
    tag = "conventions",
    summary = "Consolider une version (propositions ou compromis)",
    description = "Le secrétariat fige une version sur les propositions publiées ou sur le compromis du solveur ; la convention passe en arbitrage.",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body(content = Consolidation),
    responses(
        (status = 201, description = "Version consolidée", body = Consolidated),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : votre rôle dans la convention ne permet pas cette action", body = Erreur),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
        (status = 409, description = "conflit : l'état de la convention ne permet pas l'action, ou la convention a changé entre-temps", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn consolidate(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Consolidation>,
) -> Result<Response> {
    let n = drafting::consolidate(&s.platform, &c, id, body).await?;
    Ok(created(Consolidated {
        version: n.number,
        etat: ConventionState::Arbitrage,
    }))
}

#[utoipa::path(
    post,
    path = "/conventions/{id}/transitions/{name}",
    tag = "conventions",
    summary = "Transition : open, reopen, cancel_signing, approve, refuse, avenant, abandon",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("name" = String, Path, description = "open, reopen, cancel_signing, approve, refuse, avenant ou abandon")),
    request_body(content = TransitionRequest),
    responses(
        (status = 200, description = "Le nouvel état de la convention", body = TransitionDone),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : votre rôle dans la convention ne permet pas cette action", body = Erreur),
        (status = 404, description = "introuvable : transition inconnue, convention inexistante ou dont vous n'êtes pas membre", body = Erreur),
        (status = 409, description = "conflit : l'état de la convention ne permet pas l'action, ou la convention a changé entre-temps", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
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
    Ok(Json(TransitionDone {
        etat: state,
        libelle: state.label(),
    })
    .into_response())
}

#[utoipa::path(
    post,
    path = "/conventions/{id}/signing",
    tag = "conventions",
    summary = "Ouvrir un tour de signature sur la version courante",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body(content = OpenSigning),
    responses(
        (status = 201, description = "Tour de signature ouvert", body = SigningOpened),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : votre rôle dans la convention ne permet pas cette action", body = Erreur),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
        (status = 409, description = "conflit : l'état de la convention ne permet pas l'action, ou la convention a changé entre-temps", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn open_signing(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<OpenSigning>,
) -> Result<Response> {
    let round = signing::open_signing(&s.platform, &c, id, body).await?;
    Ok(created(SigningOpened {
        tour: round,
        etat: ConventionState::Signature,
    }))
}

#[utoipa::path(
    post,
    path = "/conventions/{id}/signatures",
    tag = "conventions",
    summary = "Signer (nouvelle authentification par mot de passe)",
    description = "Le signataire retape son mot de passe et nomme l'empreinte de la version qu'il a lue ; la signature est scellée par la plateforme.",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body(content = SignRequest),
    responses(
        (status = 201, description = "Signature enregistrée et scellée", body = Signed),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 401, description = "non_authentifie : session invalide, ou mot de passe incorrect", body = Erreur),
        (status = 403, description = "interdit : vous n'êtes pas signataire d'une partie dont la signature est requise", body = Erreur),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
        (status = 409, description = "conflit : aucun tour ouvert, version différente de celle du tour, ou partie ayant déjà signé", body = Erreur),
        (status = 429, description = "trop_de_tentatives : trop de mots de passe incorrects pour ce compte", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
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

#[utoipa::path(
    post,
    path = "/conventions/{id}/comments",
    tag = "conventions",
    summary = "Commenter ou formuler une objection",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body(content = NewCommentRequest),
    responses(
        (status = 201, description = "Commentaire enregistré", body = CommentCreated),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : votre rôle dans la convention ne permet pas cette action", body = Erreur),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
        (status = 409, description = "conflit : l'état de la convention ne permet pas l'action, ou la convention a changé entre-temps", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn comment(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<NewCommentRequest>,
) -> Result<Response> {
    let comment = comments::add(&s.platform, &c, id, body).await?;
    Ok(created(CommentCreated { id: comment }))
}

#[utoipa::path(
    post,
    path = "/conventions/{id}/comments/{comment}/resolve",
    tag = "conventions",
    summary = "Clore un commentaire ou lever son objection",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("comment" = i64, Path, description = "Numéro du commentaire")),
    request_body(content = Resolution),
    responses(
        (status = 200, description = "Commentaire clos", body = CommentClosed),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : votre rôle dans la convention ne permet pas cette action", body = Erreur),
        (status = 404, description = "introuvable : commentaire ou convention inexistants, ou convention dont vous n'êtes pas membre", body = Erreur),
        (status = 409, description = "conflit : l'état de la convention ne permet pas l'action, ou la convention a changé entre-temps", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn resolve(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path((id, comment)): Path<(i64, i64)>,
    JsonBody(body): JsonBody<Resolution>,
) -> Result<Response> {
    comments::resolve(&s.platform, &c, id, comment, body, false).await?;
    Ok(Json(CommentClosed { statut: "resolu" }).into_response())
}

#[utoipa::path(
    post,
    path = "/conventions/{id}/comments/{comment}/overrule",
    tag = "conventions",
    summary = "Passer outre une objection (secrétariat, motivé)",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("comment" = i64, Path, description = "Numéro du commentaire")),
    request_body(content = Resolution),
    responses(
        (status = 200, description = "Objection écartée", body = CommentClosed),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : votre rôle dans la convention ne permet pas cette action", body = Erreur),
        (status = 404, description = "introuvable : commentaire ou convention inexistants, ou convention dont vous n'êtes pas membre", body = Erreur),
        (status = 409, description = "conflit : l'état de la convention ne permet pas l'action, ou la convention a changé entre-temps", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn overrule(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path((id, comment)): Path<(i64, i64)>,
    JsonBody(body): JsonBody<Resolution>,
) -> Result<Response> {
    comments::resolve(&s.platform, &c, id, comment, body, true).await?;
    Ok(Json(CommentClosed {
        statut: "passe_outre",
    })
    .into_response())
}

#[utoipa::path(
    post,
    path = "/conventions/{id}/invitations",
    tag = "conventions",
    summary = "Inviter un membre (courriel)",
    description = "Le lien d'invitation part par courriel ; seule son empreinte est conservée. Il vaut 14 jours.",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body(content = InvitationRequest),
    responses(
        (status = 201, description = "Invitation envoyée", body = Message),
        (status = 400, description = "requete_invalide : champ invalide (le message nomme le champ)", body = Erreur),
        (status = 403, description = "interdit : votre rôle dans la convention ne permet pas cette action", body = Erreur),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
        (status = 409, description = "conflit : l'état de la convention ne permet pas l'action, ou la convention a changé entre-temps", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn invite(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<InvitationRequest>,
) -> Result<Response> {
    members::invite(&s.platform, &c, id, body).await?;
    Ok(created(Message {
        message: "invitation envoyée par courriel",
    }))
}

#[utoipa::path(
    get,
    path = "/conventions/{id}/audit",
    tag = "conventions",
    summary = "Journal d'audit chaîné",
    description = "Chaque événement porte l'empreinte du précédent : toute modification rompt la chaîne.",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Les événements, dans l'ordre", body = Vec<AuditEvent>),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn audit(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    Ok(Json(service::audit(&s.platform, &c, id).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/conventions/{id}/bundle",
    tag = "conventions",
    summary = "Dossier de preuve autonome, vérifiable hors ligne",
    description = "Versions, signatures scellées, journal d'audit et clé publique de la plateforme : de quoi tout vérifier sans la plateforme (commande verify-bundle).",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Le dossier de preuve", body = Bundle),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn bundle(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    Ok(Json(verification::bundle_for(&s.platform, &c, id).await?).into_response())
}
