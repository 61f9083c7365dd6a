//! The workspace of a convention: one module per page (DESIGN §5), each with its routes, its
//! typed forms and one handler per action. The view models are in `render::pages::convention`.

mod creation;
mod discussion;
mod document;
mod overview;
mod proposals;
mod report;
mod share;
mod signatures;
mod table;
mod timeline;
mod versions;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::frame::{Flash, Frame, SessionView, redirect, render};
use crate::http::{ApiError, AppState};
use std::collections::HashMap;

use crate::render::pages::convention::report::Names;
use crate::render::pages::convention::{Page, Workspace, party_names, workspace};
use crate::services::ServiceError;
use crate::services::conventions::document::TypedDocument;
use crate::services::conventions::parsed::ParsedVersion;
use crate::services::conventions::{self as service, Caller, ConventionView};
use std::sync::Arc;

pub use overview::to_do_for_home;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(creation::routes())
        .merge(overview::routes())
        .merge(proposals::routes())
        .merge(share::routes())
        .merge(report::routes())
        .merge(table::routes())
        .merge(discussion::routes())
        .merge(signatures::routes())
        .merge(versions::routes())
        .merge(timeline::routes())
        .merge(document::routes())
}

/// The messages of the previous action, in the query string.
#[derive(Debug, Default, Deserialize)]
pub struct FlashQuery {
    #[serde(default, deserialize_with = "crate::http::pages::flash::sealed")]
    message: Option<String>,
    #[serde(default, deserialize_with = "crate::http::pages::flash::sealed")]
    erreur: Option<String>,
    #[serde(default, deserialize_with = "crate::http::pages::flash::sealed")]
    alerte: Option<String>,
}

impl From<FlashQuery> for Flash {
    fn from(q: FlashQuery) -> Self {
        Flash {
            message: q.message,
            error: q.erreur,
            warning: q.alerte,
        }
    }
}

/// What every page of the workspace reads: the convention as the caller sees it and its
/// current version, read once per version hash (`Platform::versions`).
pub struct Loaded {
    pub view: ConventionView,
    pub version: Option<Arc<ParsedVersion>>,
    pub ws: Workspace,
}

impl Loaded {
    /// The current version's document, its solver report typed.
    pub fn doc(&self) -> Option<&TypedDocument> {
        self.version.as_deref().map(|v| &v.document)
    }
}

pub async fn load(
    state: &AppState,
    caller: &Caller,
    session: &SessionView,
    id: i64,
    page: Page,
) -> Result<Loaded, ServiceError> {
    let view = service::view(&state.platform, caller, id).await?;
    let version = service::current_parsed(&state.platform, &view).await?;
    let ws = workspace(&view, caller, &session.csrf, page);
    Ok(Loaded { view, version, ws })
}

/// The names a page needs to speak of parties, communes and segments.
pub struct Naming {
    pub parties: HashMap<String, String>,
    pub communes: HashMap<String, String>,
}

impl Naming {
    pub fn of<'a>(&'a self, l: &'a Loaded) -> Names<'a> {
        Names {
            parties: &self.parties,
            communes: &self.communes,
            segments: l.doc().map_or(&[][..], |d| &d.scenario.segments),
        }
    }
}

/// Like [`load`], with the names of the parties and of the communes.
pub async fn load_named(
    state: &AppState,
    caller: &Caller,
    session: &SessionView,
    id: i64,
    page: Page,
) -> Result<(Loaded, Naming), ServiceError> {
    let l = load(state, caller, session, id, page).await?;
    let communes = service::commune_names(&state.platform, &l.view).await?;
    let parties = party_names(&l.view);
    Ok((l, Naming { parties, communes }))
}

#[derive(Serialize)]
struct WorkspacePage<'a, T: Serialize> {
    #[serde(flatten)]
    frame: Frame,
    ws: &'a Workspace,
    data: T,
}

/// Renders a page of the workspace with `status`.
pub fn show<T: Serialize>(
    state: &AppState,
    status: StatusCode,
    session: SessionView,
    flash: Flash,
    ws: &Workspace,
    template: &str,
    data: T,
) -> Response {
    let frame = Frame {
        title: format!("{} — {}", ws.page, ws.title),
        session: Some(session),
        flash,
    };
    let mut response = render(state, template, &WorkspacePage { frame, ws, data });
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

/// Back to `page` after an action, with its outcome in words.
pub fn done(id: i64, page: Page, outcome: Result<String, ServiceError>) -> Response {
    match outcome {
        Ok(message) => redirect(&format!(
            "{}?{}",
            page.path(id),
            crate::http::pages::flash::param("message", &message)
        )),
        Err(e) => redirect(&format!(
            "{}?{}",
            page.path(id),
            crate::http::pages::flash::param("erreur", &e.to_string())
        )),
    }
}

/// A decision with an optional reason (required for some, checked by the service).
#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub reason: String,
}

/// Asks for transition `t`, then goes back to `page` with the outcome in words.
pub async fn decide(
    state: &AppState,
    caller: &Caller,
    id: i64,
    t: crate::domain::convention::Transition,
    why: &str,
    page: Page,
) -> Response {
    let request = crate::services::conventions::drafting::TransitionRequest {
        reason: reason(why),
    };
    let outcome =
        crate::services::conventions::drafting::transition(&state.platform, caller, id, t, request)
            .await
            .map(|s| format!("C'est fait : la convention est maintenant {}.", s.label()));
    done(id, page, outcome)
}

/// A failed read, as the French error page.
pub fn failed(e: ServiceError) -> Response {
    ApiError::from(e).into_response()
}

/// A free text reason of a form: none when left empty.
pub fn reason(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The status and the banner of a refused entry, `what` saying what was not done: 422 and
/// « corrigez le champ signalé » when the refusal is at a field, else the refusal's own status
/// and words (the state, a permission).
pub fn refused(what: &str, error: &ServiceError, at_field: bool) -> (StatusCode, Flash) {
    let (status, text) = if at_field {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{what} : corrigez le champ signalé."),
        )
    } else {
        (
            crate::http::pages::frame::status_of(error),
            crate::domain::text::sentence(&format!("{what} : {error}")),
        )
    };
    let flash = Flash {
        error: Some(text),
        ..Flash::default()
    };
    (status, flash)
}
