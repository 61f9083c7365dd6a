//! The signed-in caller of a page, and the forms it posts: the session is checked (a signed-out
//! or revoked session goes to the sign-in page and comes back) and the anti-forgery token of
//! every form is checked here, once, before any handler runs.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::extract::PageForm;
use super::frame::{SessionView, check_csrf, page_caller, redirect, urlencode};
use crate::http::AppState;
use crate::services::conventions::Caller;

/// A page that needs a signed-in member.
pub struct PageCaller {
    pub caller: Caller,
    pub session: SessionView,
}

/// Where to come back after signing in: the page itself, or, for a form, the convention it was
/// posted on.
fn back_to(parts: &Parts) -> String {
    if parts.method == Method::GET {
        return parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    }
    let path = parts.uri.path();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["conventions", id, ..] if id.parse::<i64>().is_ok() => format!("/conventions/{id}"),
        _ => path.to_owned(),
    }
}

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match page_caller(state, &parts.headers).await {
            Some((caller, session)) => Ok(Self { caller, session }),
            None => Err(redirect(&format!(
                "/connexion?suite={}",
                urlencode(&back_to(parts))
            ))),
        }
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// A form posted by a signed-in member, its anti-forgery token checked.
pub struct SignedForm<T> {
    pub caller: Caller,
    pub session: SessionView,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for SignedForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let PageCaller { caller, session } =
            PageCaller::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| match crate::http::api::body_bytes(Err(e)) {
                Err(error) => error.into_response(),
                Ok(_) => axum::http::StatusCode::BAD_REQUEST.into_response(),
            })?;
        let again = |bytes: Bytes| Request::from_parts(parts.clone(), Body::from(bytes));
        let PageForm(token) = PageForm::<CsrfField>::from_request(again(bytes.clone()), state)
            .await
            .map_err(IntoResponse::into_response)?;
        check_csrf(&session, &token.csrf).map_err(|refused| *refused)?;
        let PageForm(form) = PageForm::<T>::from_request(again(bytes), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            caller,
            session,
            form,
        })
    }
}
