//! Discussion (`/conventions/{id}/discussion`): comments and objections in threads, replies,
//! closing, lifting and overruling.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{done, failed, load_named, show};
use crate::http::AppState;
use crate::http::pages::caller::{PageCaller, SignedForm};
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::Flash;
use crate::render::pages::convention::Page;
use crate::render::pages::convention::discussion::{AnchorChoice, ThreadView, anchors, threads};
use crate::services::ServiceError;
use crate::services::conventions::{self as service, comments};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/conventions/{id}/discussion", get(page))
        .route("/conventions/{id}/discussion/commenter", post(comment))
        .route(
            "/conventions/{id}/discussion/{comment}/repondre",
            post(reply),
        )
        .route(
            "/conventions/{id}/discussion/{comment}/clore",
            post(resolve),
        )
        .route(
            "/conventions/{id}/discussion/{comment}/passer-outre",
            post(overrule),
        )
}

#[derive(Debug, Default, Deserialize)]
pub struct DiscussionQuery {
    #[serde(default, deserialize_with = "crate::http::pages::flash::sealed")]
    message: Option<String>,
    #[serde(default, deserialize_with = "crate::http::pages::flash::sealed")]
    erreur: Option<String>,
    /// A cell of the table the comment is about (`row/segment`), from the table's links.
    #[serde(default)]
    cellule: Option<String>,
}

#[derive(Serialize)]
struct DiscussionData {
    threads: Vec<ThreadView>,
    open_objections: usize,
    anchors: Vec<AnchorChoice>,
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<DiscussionQuery>,
) -> Response {
    let (l, naming) = match load_named(&state, &caller, &session, id, Page::Discussion).await {
        Ok(loaded) => loaded,
        Err(e) => return failed(e),
    };
    let names = naming.of(&l);
    let selected = q.cellule.as_deref().map(|c| format!("cell:{c}"));
    let data = DiscussionData {
        threads: threads(&l.view.comments, &l.ws.can, l.doc(), &names),
        open_objections: l
            .view
            .comments
            .iter()
            .filter(|c| c.objection && c.status == crate::domain::convention::CommentStatus::Ouvert)
            .count(),
        anchors: anchors(l.doc(), &names, selected.as_deref()),
    };
    let flash = Flash {
        message: q.message,
        error: q.erreur,
        warning: None,
    };
    show(
        &state,
        StatusCode::OK,
        session,
        flash,
        &l.ws,
        "convention/discussion",
        data,
    )
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    /// `kind:reference`, e.g. `clause:flux` or `cell:etat/69801-T3-H`.
    about: String,
    body: String,
    #[serde(default)]
    objection: String,
}

async fn comment(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    SignedForm { caller, form, .. }: SignedForm<CommentForm>,
) -> Response {
    let Some((kind, reference)) = form.about.split_once(':') else {
        return done(
            id,
            Page::Discussion,
            Err(ServiceError::Invalid(
                "porte sur : choisissez l'élément visé".into(),
            )),
        );
    };
    let objection = form.objection == "oui";
    let request = comments::NewCommentRequest {
        anchor_kind: kind.into(),
        anchor_ref: reference.trim().into(),
        body: form.body,
        objection,
        parent_id: None,
    };
    let outcome = comments::add(&state.platform, &caller, id, request)
        .await
        .map(|_| {
            if objection {
                "Objection enregistrée.".into()
            } else {
                "Commentaire enregistré.".into()
            }
        });
    done(id, Page::Discussion, outcome)
}

#[derive(Debug, Deserialize)]
pub struct ReplyForm {
    body: String,
}

async fn reply(
    State(state): State<AppState>,
    PagePath((id, parent)): PagePath<(i64, i64)>,
    SignedForm { caller, form, .. }: SignedForm<ReplyForm>,
) -> Response {
    let view = match service::view(&state.platform, &caller, id).await {
        Ok(v) => v,
        Err(e) => return failed(e),
    };
    let Some(c) = view.comments.iter().find(|c| c.id == parent) else {
        return done(
            id,
            Page::Discussion,
            Err(ServiceError::NotFound(format!(
                "commentaire n° {parent} introuvable"
            ))),
        );
    };
    let request = comments::NewCommentRequest {
        anchor_kind: c.anchor_kind.clone(),
        anchor_ref: c.anchor_ref.clone(),
        body: form.body,
        objection: false,
        parent_id: Some(parent),
    };
    let outcome = comments::add(&state.platform, &caller, id, request)
        .await
        .map(|_| "Réponse enregistrée.".into());
    done(id, Page::Discussion, outcome)
}

#[derive(Debug, Deserialize)]
pub struct ResolutionForm {
    reason: String,
}

async fn resolve(
    State(state): State<AppState>,
    PagePath((id, comment)): PagePath<(i64, i64)>,
    SignedForm { caller, form, .. }: SignedForm<ResolutionForm>,
) -> Response {
    let resolution = comments::Resolution { text: form.reason };
    let outcome = comments::resolve(&state.platform, &caller, id, comment, resolution, false)
        .await
        .map(|()| "C'est enregistré : le fil est clos.".into());
    done(id, Page::Discussion, outcome)
}

async fn overrule(
    State(state): State<AppState>,
    PagePath((id, comment)): PagePath<(i64, i64)>,
    SignedForm { caller, form, .. }: SignedForm<ResolutionForm>,
) -> Response {
    let resolution = comments::Resolution { text: form.reason };
    let outcome = comments::resolve(&state.platform, &caller, id, comment, resolution, true)
        .await
        .map(|()| "C'est enregistré : l'objection est passée outre.".into());
    done(id, Page::Discussion, outcome)
}
