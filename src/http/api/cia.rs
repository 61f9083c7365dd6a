//! The CIA of an EPCI and the CIL's view (issue 20): read by the parties of the EPCI's
//! conventions, recorded by the CIL's secretariat, restated by each convention.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::json::{FrPath as Path, FrQuery as Query, JsonBody};
use super::openapi::Erreur;
use crate::domain::Siren;
use crate::http::auth::AuthUser;
use crate::http::{ApiError, AppState};
use crate::services::ServiceError;
use crate::services::cia::{self, CiaChange, CiaVersion};
use crate::services::cil::{self, CilView};
use crate::services::conventions::drafting;

fn siren_of(text: &str) -> Result<Siren, ApiError> {
    text.parse().map_err(|e| {
        ApiError::from(ServiceError::NotFound(format!(
            "EPCI « {text} » : ce n'est pas un SIREN ({e})"
        )))
    })
}

/// `GET /api/epci/{siren}/cia`.
#[derive(Serialize, ToSchema)]
#[schema(description = "La CIA d'un EPCI : sa dernière version et tout son historique")]
pub struct CiaHistory {
    /// La dernière version, absente tant que le secrétariat n'en a enregistré aucune
    current: Option<CiaVersion>,
    /// Toutes les versions, de la première à la dernière
    versions: Vec<CiaVersion>,
}

#[utoipa::path(
    get,
    path = "/epci/{siren}/cia",
    tag = "cia",
    summary = "La CIA d'un EPCI et son historique",
    description = "Lisible par le secrétariat de la CIL et par les membres d'une convention sur le territoire de l'EPCI. Chaque version porte l'empreinte SHA-256 de son texte canonique, que les conventions qui la reprennent enregistrent.",
    params(("siren" = String, Path, description = "SIREN de l'EPCI")),
    responses(
        (status = 200, description = "La CIA", body = CiaHistory),
        (status = 403, description = "interdit : ni secrétariat de la CIL, ni partie à une convention de l'EPCI", body = Erreur),
        (status = 404, description = "introuvable : SIREN invalide", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn cia_show(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(siren): Path<String>,
) -> Result<Response, ApiError> {
    let siren = siren_of(&siren)?;
    cia::require_read(&s.platform, &c, &siren).await?;
    let versions = cia::versions(&s.platform, &siren).await?;
    Ok(Json(CiaHistory {
        current: versions.last().cloned(),
        versions,
    })
    .into_response())
}

#[utoipa::path(
    put,
    path = "/epci/{siren}/cia",
    tag = "cia",
    summary = "Nouvelle version de la CIA (secrétariat de la CIL)",
    description = "Enregistre la version suivante : objectifs au moins égaux aux planchers de la politique nationale, taux territorialisés plus exigeants que ceux de l'EPCI, engagements assignés aux bailleurs connus. Les membres de chaque convention de l'EPCI en sont avertis par courriel.",
    params(("siren" = String, Path, description = "SIREN de l'EPCI")),
    request_body(content = CiaChange),
    responses(
        (status = 201, description = "Version enregistrée", body = CiaVersion),
        (status = 400, description = "requete_invalide : le message nomme le champ et ce qui ne va pas", body = Erreur),
        (status = 403, description = "interdit : seul le secrétariat de la CIL de cet EPCI enregistre sa CIA", body = Erreur),
        (status = 409, description = "conflit : une autre version a été enregistrée depuis celle dont vous partiez (based_on)", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn cia_record(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(siren): Path<String>,
    JsonBody(body): JsonBody<CiaChange>,
) -> Result<Response, ApiError> {
    let siren = siren_of(&siren)?;
    let version = cia::record(&s.platform, &c, &siren, body).await?;
    Ok((StatusCode::CREATED, Json(version)).into_response())
}

#[utoipa::path(
    post,
    path = "/conventions/{id}/cia",
    tag = "conventions",
    summary = "Reprendre la dernière version de la CIA (secrétariat) : nouvelle version",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 201, description = "Nouvelle version créée", body = super::conventions::NewVersion),
        (status = 403, description = "interdit : votre rôle dans la convention ne permet pas cette action", body = Erreur),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
        (status = 409, description = "conflit : aucune CIA enregistrée, déjà reprise, ou convention signée (ouvrir un avenant)", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn cia_adopt(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let n = drafting::adopt_cia(&s.platform, &c, id).await?;
    Ok((StatusCode::CREATED, Json(json!({"version": n}))).into_response())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CilQuery {
    /// Année des conventions (par défaut la plus récente)
    pub annee: Option<i32>,
}

#[utoipa::path(
    get,
    path = "/epci/{siren}/cil",
    tag = "cia",
    summary = "Vue de la CIL : les conventions de l'EPCI face aux objectifs de la CIA",
    description = "Pour l'année choisie, chaque convention (état, flux, contribution prévue à chaque objectif : engagements × tableau des flux) et la cohérence à l'échelle de l'EPCI, tous bailleurs ensemble, avec le manque en ménages et les lignes qui pourraient le combler. Nombres décimaux en chaînes.",
    params(("siren" = String, Path, description = "SIREN de l'EPCI"), CilQuery),
    responses(
        (status = 200, description = "La vue de la CIL", body = CilView),
        (status = 400, description = "requete_invalide : année invalide", body = Erreur),
        (status = 403, description = "interdit : réservé au secrétariat de la CIL et aux observateurs de ses conventions", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn cil_view(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(siren): Path<String>,
    Query(q): Query<CilQuery>,
) -> Result<Response, ApiError> {
    let siren = siren_of(&siren)?;
    let view = cil::view(&s.platform, &c, &siren, q.annee).await?;
    Ok(Json(view).into_response())
}
