//! `POST /api/imports/{kind}?bailleur=SIREN` with the CSV file as the request body.
//!
//! Until per-convention accounts exist, writing requires the operator token
//! (`Authorization: Bearer …`); without a configured token the write API is closed.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use serde::{Deserialize, Serialize};

use super::openapi::Erreur;
use crate::domain::{InvalidValue, Siren};
use crate::http::{ApiError, AppState};
use crate::import::{ImportKind, columns};
use crate::services::import::{ImportSummary, NoProgress, import_file};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// SIREN du bailleur, requis pour les fichiers de patrimoine (logements, réservations en stock, libérations, exclusions)
    bailleur: Option<String>,
}

#[utoipa::path(
    post,
    path = "/imports/{kind}",
    tag = "imports",
    summary = "Import d'un fichier CSV (jeton d'exploitation)",
    description = "Le corps est le fichier CSV lui-même (UTF-8 ou Windows-1252, séparateur ; ou ,). \
        Réservé à l'exploitant : en-tête Authorization: Bearer <jeton d'exploitation> \
        (CONVENTION_FLUX_OPERATOR_TOKEN) ; sans jeton configuré, l'import par l'API est fermé. \
        Un fichier dont une ligne est fautive n'enregistre rien.",
    params(
        ("kind" = ImportKind, Path, description = "Type de fichier (voir GET /api/imports)"),
        ImportQuery,
    ),
    request_body(content = String, content_type = "text/csv", description = "Le fichier CSV"),
    responses(
        (status = 200, description = "Le fichier est importé", body = ImportSummary),
        (status = 400, description = "requete_invalide : paramètre bailleur absent ou mal formé, corps illisible", body = Erreur),
        (status = 401, description = "non_authentifie : jeton d'exploitation absent ou invalide", body = Erreur),
        (status = 403, description = "interdit : aucun jeton d'exploitation n'est configuré", body = Erreur),
        (status = 404, description = "introuvable : type de fichier inconnu", body = Erreur),
        (status = 413, description = "trop_volumineux : fichier au-delà de la taille maximale (réglage body_limit_bytes)", body = Erreur),
        (status = 422, description = "fichier_invalide (en-tête, encodage) ou lignes_invalides (avec la liste des lignes fautives)", body = Erreur),
    ),
    security(("jeton_exploitation" = [])),
)]

pub async fn import(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportSummary>, ApiError> {
    require_operator(&state, &headers)?;
    let kind: ImportKind = kind.parse().map_err(ApiError::NotFound)?;
    let body = super::body_bytes(body)?;
    let bailleur = match (kind.needs_bailleur(), query.bailleur.as_deref()) {
        (true, None | Some("")) => {
            return Err(ApiError::BadRequest(format!(
                "paramètre bailleur absent : le fichier {} appartient au patrimoine d'un bailleur, indiquez ?bailleur=SIREN",
                kind.file_name()
            )));
        }
        (true, Some(value)) => Some(value.parse::<Siren>().map_err(|e: InvalidValue| {
            ApiError::BadRequest(format!(
                "paramètre bailleur : « {value} » invalide, {} attendu",
                e.expected
            ))
        })?),
        (false, _) => None,
    };
    let summary = import_file(
        state.store.as_ref(),
        kind,
        body.to_vec(),
        bailleur,
        Arc::new(NoProgress),
    )
    .await?;
    tracing::info!(kind = %kind, rows = summary.rows, "fichier importé par l'API");
    Ok(Json(summary))
}

fn require_operator(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match (presented, state.operator_token_matches(presented.unwrap_or(""))) {
        (_, None) => Err(ApiError::Forbidden(
            "l'import par l'API est fermé : aucun jeton d'exploitation n'est configuré (CONVENTION_FLUX_OPERATOR_TOKEN)".into(),
        )),
        (None, _) => Err(ApiError::Unauthenticated(
            "jeton absent : ajoutez l'en-tête Authorization: Bearer <jeton d'exploitation>".into(),
        )),
        (Some(_), Some(false)) => Err(ApiError::Unauthenticated("jeton d'exploitation invalide".into())),
        (Some(_), Some(true)) => Ok(()),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(description = "Un fichier accepté à l'import et ses colonnes")]
pub struct Format {
    fichier: String,
    type_fichier: ImportKind,
    description: &'static str,
    bailleur_requis: bool,
    colonnes: Vec<Column>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(description = "Une colonne d'un fichier d'import")]
pub struct Column {
    nom: &'static str,
    obligatoire: bool,
    autres_noms: &'static [&'static str],
}

/// `GET /api/imports`: the accepted files and their columns.
#[utoipa::path(
    get,
    path = "/imports",
    tag = "imports",
    summary = "Formats des fichiers d'import",
    description = "Les fichiers acceptés, leurs colonnes (obligatoires ou non) et les autres noms reconnus de chaque colonne.",
    responses((status = 200, description = "Les formats", body = Vec<Format>)),
)]
pub async fn formats() -> Json<Vec<Format>> {
    Json(
        ImportKind::ALL
            .iter()
            .map(|kind| Format {
                fichier: kind.file_name(),
                type_fichier: *kind,
                description: kind.description(),
                bailleur_requis: kind.needs_bailleur(),
                colonnes: columns(*kind)
                    .iter()
                    .map(|c| Column {
                        nom: c.name,
                        obligatoire: c.required,
                        autres_noms: c.aliases,
                    })
                    .collect(),
            })
            .collect(),
    )
}
