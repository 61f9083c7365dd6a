//! JSON request bodies whose errors are ours: French, naming the field's path.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::flux::scenario::parse_json;
use crate::http::{ApiError, AppState};

pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        // Requiring the JSON content type also keeps cross-site HTML forms out (CSRF).
        let json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Err(ApiError::BadRequest(
                "en-tête Content-Type: application/json attendu".into(),
            ));
        }
        let body = super::body_bytes(axum::body::Bytes::from_request(request, state).await)?;
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::BadRequest("le corps doit être du JSON en UTF-8".into()))?;
        parse_json(text)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(e.to_string()))
    }
}

/// A path parameter whose rejection is a French error.
pub struct FrPath<T>(pub T);

impl<T> axum::extract::FromRequestParts<AppState> for FrPath<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| FrPath(p.0))
            .map_err(|_| {
                ApiError::NotFound(format!(
                    "adresse {} invalide : les numéros de convention, de version et de commentaire sont des entiers",
                    parts.uri.path()
                ))
            })
    }
}

/// Query parameters whose rejection is a French error.
pub struct FrQuery<T>(pub T);

impl<T> axum::extract::FromRequestParts<AppState> for FrQuery<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| FrQuery(q.0))
            .map_err(|e| ApiError::BadRequest(crate::http::pages::extract::query_message(&e)))
    }
}
