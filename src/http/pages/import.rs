//! The import wizard of a convention: the bailleur's four files (patrimoine, stock reservations,
//! releases, planned exclusions), one form each, every bad line shown with its column, value and
//! expected form; then the secretariat refreshes the segments of the draft from the new assiette.
//! Only the bailleur's own members load its files, and only rows of the convention's EPCI.

use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::extract::{PageParams, PagePath};
use super::frame::{Flash, Frame, check_csrf, redirect, render};
use crate::domain::Siren;
use crate::domain::convention::Action;
use crate::domain::permission::Refusal;
use crate::http::{ApiError, AppState};
use crate::import::{ImportError, ImportKind, RowError};
use crate::services::ServiceError;
use crate::services::conventions as service;
use crate::services::import::{NoProgress, import_file_within_epci};

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
    epci: String,
    can_upload: bool,
    /// Why the files cannot be loaded, as a sentence.
    upload_refusal: String,
    files: Vec<FileView>,
    errors: Vec<RowError>,
    more_errors: usize,
    can_refresh: bool,
    csrf: String,
}

/// What the caller may do on the page of convention `id`, and whose files these are.
struct Standing {
    bailleur: Siren,
    epci: Siren,
    /// A member of the bailleur: loads its files (within the convention's EPCI).
    upload: bool,
    /// Why the caller may not load them (not the bailleur's, or not now), in French.
    upload_refusal: Option<Refusal>,
    /// The secretariat: refreshes the segments from the assiette.
    refresh: bool,
}

/// The secretariat sees the page (to refresh the segments); only the bailleur's own members
/// load its files. Anyone else is refused.
async fn standing(
    state: &AppState,
    caller: &service::Caller,
    id: i64,
) -> Result<Standing, ServiceError> {
    let access = service::access(&state.platform, caller, id).await?;
    let view = service::view(&state.platform, caller, id).await?;
    let upload_refusal = access.require_patrimoine_import().err();
    let edit = access.require(Action::EditDraft);
    // The bailleur and the secretariat see the page, even when the state forbids acting now:
    // it says why.
    let member_of_it = |r: &Option<Refusal>| !matches!(r, Some(Refusal::Forbidden(_)));
    if !member_of_it(&upload_refusal) && !member_of_it(&edit.clone().err()) {
        return Err(ServiceError::Forbidden(
            "seuls le bailleur et le secrétariat ont accès aux fichiers du bailleur".into(),
        ));
    }
    let parse = |value: &str, what: &str| {
        value
            .parse::<Siren>()
            .map_err(|_| ServiceError::NotFound(format!("{what} illisible")))
    };
    Ok(Standing {
        bailleur: parse(&view.convention.bailleur_siren, "bailleur")?,
        epci: parse(&view.convention.epci_siren, "EPCI")?,
        upload: upload_refusal.is_none(),
        upload_refusal,
        refresh: edit.is_ok(),
    })
}

fn page_data(
    id: i64,
    standing: &Standing,
    session: super::frame::SessionView,
    flash: Flash,
    errors: Vec<RowError>,
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
        bailleur: standing.bailleur.as_str().to_owned(),
        epci: standing.epci.as_str().to_owned(),
        can_upload: standing.upload,
        upload_refusal: standing
            .upload_refusal
            .as_ref()
            .map(|r| sentence(r.message()))
            .unwrap_or_default(),
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
        can_refresh: standing.refresh,
        csrf: session.csrf,
    }
}

pub async fn form(
    State(state): State<AppState>,
    super::caller::PageCaller { caller, session }: super::caller::PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(flash): PageParams<Flash>,
) -> Response {
    match standing(&state, &caller, id).await {
        Ok(standing) => render(
            &state,
            "import",
            &page_data(id, &standing, session, flash, Vec::new()),
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn upload(
    State(state): State<AppState>,
    super::caller::PageCaller { caller, session }: super::caller::PageCaller,
    PagePath((id, kind)): PagePath<(i64, String)>,
    mut multipart: Multipart,
) -> Response {
    let standing = match standing(&state, &caller, id).await {
        Ok(Standing {
            upload_refusal: Some(refused),
            ..
        }) => return ApiError::from(ServiceError::from(refused)).into_response(),
        Ok(s) => s,
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
    // Confined to the convention's EPCI: no row of another territory is touched.
    match import_file_within_epci(
        state.store.as_ref(),
        kind,
        bytes,
        standing.bailleur.clone(),
        standing.epci.clone(),
        Arc::new(NoProgress),
    )
    .await
    {
        Ok(summary) => back(id, Ok(summary.message)),
        Err(ServiceError::Import(ImportError::Rows { errors })) => {
            let flash = Flash {
                message: None,
                warning: None,
                error: Some(format!(
                    "{} : {} — rien n'a été enregistré, corrigez les lignes ci-dessous et renvoyez le fichier.",
                    kind.file_name(),
                    ImportError::rows_message(errors.len())
                )),
            };
            let mut page = render(
                &state,
                "import",
                &page_data(id, &standing, session, flash, errors),
            );
            *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            page
        }
        Err(e) => back(id, Err(format!("{} : {e}", kind.file_name()))),
    }
}

/// A refusal as a sentence: a capital first, a full stop last.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

fn back(id: i64, outcome: Result<String, String>) -> Response {
    match outcome {
        Ok(m) => redirect(&format!(
            "/conventions/{id}/import?{}",
            super::flash::param("message", &m)
        )),
        Err(e) => redirect(&format!(
            "/conventions/{id}/import?{}",
            super::flash::param("erreur", &e)
        )),
    }
}
