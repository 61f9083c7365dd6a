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

use crate::domain::{InvalidValue, Siren};
use crate::http::{ApiError, AppState};
use crate::import::{ImportKind, columns};
use crate::services::import::{ImportSummary, NoProgress, import_file};

#[derive(Deserialize)]
pub struct ImportQuery {
    bailleur: Option<String>,
}

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

#[derive(Serialize)]
pub struct Format {
    fichier: String,
    type_fichier: ImportKind,
    description: &'static str,
    bailleur_requis: bool,
    colonnes: Vec<Column>,
}

#[derive(Serialize)]
pub struct Column {
    nom: &'static str,
    obligatoire: bool,
    autres_noms: &'static [&'static str],
}

/// `GET /api/imports`: the accepted files and their columns.
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
