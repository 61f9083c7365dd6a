//! The import wizard of a convention: the bailleur's four files (patrimoine, stock reservations,
//! releases, planned exclusions), one form each, every bad line shown with its column, value and
//! expected form; then the secretariat refreshes the segments of the draft from the new assiette.

use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::extract::{PageParams, PagePath};
use super::frame::{Flash, Frame, check_csrf, redirect, render, require_caller, urlencode};
use crate::domain::Siren;
use crate::domain::convention::Role;
use crate::http::{ApiError, AppState};
use crate::import::{ImportError, ImportKind, RowError};
use crate::services::ServiceError;
use crate::services::conventions as service;
use crate::services::import::{NoProgress, import_file};

/// The files of the bailleur, in the order they depend on each other.
const FILES: [ImportKind; 4] = [
    ImportKind::Logements,
    ImportKind::ReservationsStock,
    ImportKind::Liberations,
    ImportKind::Exclusions,
];

#[derive(Serialize)]
struct FileView {
    kind: String,
    file: String,
    description: &'static str,
}

#[derive(Serialize)]
struct ImportPage {
    #[serde(flatten)]
    frame: Frame,
    id: i64,
    bailleur: String,
    files: Vec<FileView>,
    errors: Vec<RowError>,
    more_errors: usize,
    can_refresh: bool,
    csrf: String,
}

/// Only the secretariat and the bailleur's own members load the bailleur's files.
async fn allowed(
    state: &AppState,
    caller: &service::Caller,
    id: i64,
) -> Result<(Siren, bool), ServiceError> {
    let access = service::access(&state.platform, caller, id).await?;
    let view = service::view(&state.platform, caller, id).await?;
    let may = access.role == Role::Secretariat
        || (access.role.represents_party() && access.party == "bailleur");
    if !may {
        return Err(ServiceError::Forbidden(
            "seuls le secrétariat et le bailleur chargent les fichiers du bailleur".into(),
        ));
    }
    let siren = view
        .convention
        .bailleur_siren
        .parse()
        .map_err(|_| ServiceError::NotFound("bailleur illisible".into()))?;
    Ok((siren, access.role == Role::Secretariat))
}

fn page_data(
    id: i64,
    bailleur: &Siren,
    session: super::frame::SessionView,
    flash: Flash,
    errors: Vec<RowError>,
    can_refresh: bool,
) -> ImportPage {
    const SHOWN: usize = 200;
    let more_errors = errors.len().saturating_sub(SHOWN);
    ImportPage {
        frame: Frame {
            title: format!("Fichiers du bailleur — convention n° {id}"),
            session: Some(session.clone()),
            flash,
        },
        id,
        bailleur: bailleur.as_str().to_owned(),
        files: FILES
            .iter()
            .map(|k| FileView {
                kind: k.name().to_owned(),
                file: k.file_name(),
                description: k.description(),
            })
            .collect(),
        errors: errors.into_iter().take(SHOWN).collect(),
        more_errors,
        can_refresh,
        csrf: session.csrf,
    }
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    PagePath(id): PagePath<i64>,
    PageParams(flash): PageParams<Flash>,
) -> Response {
    let (caller, session) =
        match require_caller(&state, &headers, &format!("/conventions/{id}/import")).await {
            Ok(c) => c,
            Err(r) => return r,
        };
    match allowed(&state, &caller, id).await {
        Ok((bailleur, secretariat)) => render(
            &state,
            "import",
            &page_data(id, &bailleur, session, flash, Vec::new(), secretariat),
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    PagePath((id, kind)): PagePath<(i64, String)>,
    mut multipart: Multipart,
) -> Response {
    let (caller, session) =
        match require_caller(&state, &headers, &format!("/conventions/{id}/import")).await {
            Ok(c) => c,
            Err(r) => return r,
        };
    let (bailleur, secretariat) = match allowed(&state, &caller, id).await {
        Ok(a) => a,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(kind) = FILES.iter().copied().find(|k| k.name() == kind) else {
        return ApiError::NotFound(format!("fichier « {kind} » inconnu")).into_response();
    };
    let (mut csrf, mut bytes) = (String::new(), None);
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                match field.bytes().await {
                    Ok(data) if name == "_csrf" => {
                        csrf = String::from_utf8_lossy(&data).into_owned();
                    }
                    Ok(data) if name == "fichier" => bytes = Some(data.to_vec()),
                    Ok(_) => {}
                    Err(e) => {
                        return back(id, Err(format!("envoi du fichier interrompu : {e}")));
                    }
                }
            }
            Ok(None) => break,
            Err(e) => return back(id, Err(format!("formulaire illisible : {e}"))),
        }
    }
    if let Err(refused) = check_csrf(&session, &csrf) {
        return *refused;
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return back(
            id,
            Err(format!(
                "choisissez le fichier {} à envoyer",
                kind.file_name()
            )),
        );
    };
    match import_file(
        state.store.as_ref(),
        kind,
        bytes,
        Some(bailleur.clone()),
        Arc::new(NoProgress),
    )
    .await
    {
        Ok(summary) => back(id, Ok(summary.message)),
        Err(ServiceError::Import(ImportError::Rows { errors })) => {
            let flash = Flash {
                message: None,
                error: Some(format!(
                    "{} : {} — rien n'a été enregistré, corrigez les lignes ci-dessous et renvoyez le fichier.",
                    kind.file_name(),
                    ImportError::rows_message(errors.len())
                )),
            };
            let mut page = render(
                &state,
                "import",
                &page_data(id, &bailleur, session, flash, errors, secretariat),
            );
            *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            page
        }
        Err(e) => back(id, Err(format!("{} : {e}", kind.file_name()))),
    }
}

fn back(id: i64, outcome: Result<String, String>) -> Response {
    match outcome {
        Ok(m) => redirect(&format!(
            "/conventions/{id}/import?message={}",
            urlencode(&m)
        )),
        Err(e) => redirect(&format!(
            "/conventions/{id}/import?erreur={}",
            urlencode(&e)
        )),
    }
}
