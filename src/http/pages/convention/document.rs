//! The convention document (`/conventions/{id}/document[?version=N][&annexe=PARTY]`): the
//! articles, the annexes and the signature certificate of a version, to read and print
//! (DESIGN §4.6). Any member of the convention may read it.

use axum::Router;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::failed;
use crate::http::AppState;
use crate::http::pages::caller::PageCaller;
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::{Flash, Frame, render};
use crate::render::document::ConventionDocument;
use crate::services::ServiceError;
use crate::services::conventions::convention_document::{DocumentRequest, document};

/// The document's own style sheet (reading and printing), embedded in the binary.
const STYLESHEET: &str = include_str!("../../../../assets/document.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/conventions/{id}/document", get(page))
        .route("/ressources/document.css", get(stylesheet))
}

async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct DocumentQuery {
    /// A version number; empty or absent: the current version.
    #[serde(default)]
    version: Option<String>,
    /// A réservataire's id: its annex alone.
    #[serde(default)]
    annexe: Option<String>,
}

impl DocumentQuery {
    fn request(self) -> Result<DocumentRequest, ServiceError> {
        let version = match self.version.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "paramètre version : « {text} » n'est pas un numéro de version (un nombre entier, par exemple 2)"
                ))
            })?),
        };
        Ok(DocumentRequest {
            version,
            annexe: self
                .annexe
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty()),
        })
    }
}

#[derive(Serialize)]
struct AnnexLink {
    label: String,
    href: String,
}

#[derive(Serialize)]
struct Links {
    whole: String,
    /// The PDF of what the page shows (the whole convention or the annex).
    pdf: String,
    annexes: Vec<AnnexLink>,
}

#[derive(Serialize)]
struct DocumentPage {
    #[serde(flatten)]
    frame: Frame,
    links: Links,
    data: ConventionDocument,
}

/// The addresses of the whole convention and of each réservataire's annex, for this version.
fn links(id: i64, d: &ConventionDocument) -> Links {
    let base = format!("/conventions/{id}/document?version={}", d.header.version);
    let mut pdf = format!(
        "/api/conventions/{id}/document.pdf?version={}",
        d.header.version
    );
    if let Some(party) = &d.annex_only {
        pdf.push_str(&format!("&annexe={party}"));
    }
    Links {
        pdf,
        annexes: d
            .annexes
            .iter()
            .filter_map(|a| {
                a.reservataire.as_ref().map(|r| AnnexLink {
                    label: format!("{} — {}", a.number, a.title),
                    href: format!("{base}&annexe={r}"),
                })
            })
            .collect(),
        whole: base,
    }
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<DocumentQuery>,
) -> Response {
    let request = match q.request() {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let d = match document(&state.platform, &caller, id, &request).await {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    let title = match &d.annex_only {
        Some(_) => d
            .annexes
            .first()
            .map_or_else(|| d.header.title.clone(), |a| a.title.clone()),
        None => d.header.title.clone(),
    };
    let frame = Frame {
        title: format!("{title} — version n° {}", d.header.version),
        session: Some(session),
        flash: Flash::default(),
    };
    let page = DocumentPage {
        frame,
        links: links(id, &d),
        data: d,
    };
    render(&state, "documents/convention", &page)
}
