//! Discussion (`/conventions/{id}/discussion`): comments and objections in threads, replies,
//! closing, lifting and overruling.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::{done, failed, load_named, refused, show};
use crate::http::AppState;
use crate::http::pages::caller::{PageCaller, SignedForm};
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::{Flash, SessionView};
use crate::render::pages::convention::Page;
use crate::render::pages::convention::discussion::{
    CommentEntry, ReplyEntry, Typed, comment_errors, discussion,
};
use crate::render::pages::forms::FieldErrors;
use crate::services::ServiceError;
use crate::services::conventions::{Caller, comments};

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

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<DiscussionQuery>,
) -> Response {
    let flash = Flash {
        message: q.message,
        error: q.erreur,
        warning: None,
    };
    let shown = Shown {
        cell: q.cellule,
        typed: Typed::Nothing,
        status: StatusCode::OK,
        flash,
    };
    again(&state, &caller, session, id, shown).await
}

/// What the page shows besides the discussion: the cell it was opened for, the entry refused,
/// the status and the banner.
struct Shown {
    cell: Option<String>,
    typed: Typed,
    status: StatusCode,
    flash: Flash,
}

async fn again(
    state: &AppState,
    caller: &Caller,
    session: SessionView,
    id: i64,
    shown: Shown,
) -> Response {
    let (l, naming) = match load_named(state, caller, &session, id, Page::Discussion).await {
        Ok(loaded) => loaded,
        Err(e) => return failed(e),
    };
    let (names, cell, typed) = (naming.of(&l), shown.cell.as_deref(), shown.typed);
    let data = discussion(&l.view, &l.ws.can, l.doc(), &names, cell, typed);
    let (status, flash, ws) = (shown.status, shown.flash, &l.ws);
    show(
        state,
        status,
        session,
        flash,
        ws,
        "convention/discussion",
        data,
    )
}

/// The page again after a refused comment or reply: the entry kept, the error at its field or
/// in the banner.
async fn refused_entry(
    state: &AppState,
    caller: &Caller,
    session: SessionView,
    id: i64,
    error: &ServiceError,
    typed: impl FnOnce(FieldErrors) -> Typed,
) -> Response {
    let errors = comment_errors(error);
    let what = "Le message n'est pas enregistré";
    let (status, flash) = refused(what, error, errors.is_some());
    let typed = typed(errors.unwrap_or_default());
    let shown = Shown {
        cell: None,
        typed,
        status,
        flash,
    };
    again(state, caller, session, id, shown).await
}

async fn comment(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    SignedForm {
        caller,
        session,
        form,
    }: SignedForm<CommentEntry>,
) -> Response {
    let outcome = match form.request() {
        Ok(request) => comments::add(&state.platform, &caller, id, request).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => done(id, Page::Discussion, Ok(form.recorded())),
        Err(e) => {
            let typed = |errors| Typed::Comment(form, errors);
            refused_entry(&state, &caller, session, id, &e, typed).await
        }
    }
}

async fn reply(
    State(state): State<AppState>,
    PagePath((id, parent)): PagePath<(i64, i64)>,
    SignedForm {
        caller,
        session,
        form,
    }: SignedForm<ReplyEntry>,
) -> Response {
    let body = form.body.clone();
    match comments::reply(&state.platform, &caller, id, parent, body).await {
        Ok(_) => done(id, Page::Discussion, Ok("Réponse enregistrée.".into())),
        Err(e) => {
            let typed = |errors| Typed::Reply(parent, form, errors);
            refused_entry(&state, &caller, session, id, &e, typed).await
        }
    }
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
