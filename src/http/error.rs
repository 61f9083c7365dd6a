//! The one error type of the HTTP layer. Users see a stable code and a French message; internal
//! causes are logged, never shown. The API answers in JSON; a browser gets the same error as a
//! French DSFR page (`html_errors`).

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::import::{ImportError, RowError};
use crate::services::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    InvalidFile(String),
    #[error("{message}")]
    InvalidRows {
        message: String,
        errors: Vec<RowError>,
    },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyAttempts(String, i64),
    #[error("{0}")]
    TooLarge(String),
    #[error("la requête a dépassé le délai de traitement")]
    Timeout,
    #[error("le service est momentanément indisponible")]
    Unavailable,
    /// Every computing slot is taken: come back in a moment (503).
    #[error("{0}")]
    Busy(String),
    /// The cause goes to the log only.
    #[error("erreur interne")]
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    erreur: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lignes: Option<&'a [RowError]>,
}

impl ApiError {
    /// Stable code of the error (public contract of the API).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "introuvable",
            ApiError::BadRequest(_) => "requete_invalide",
            ApiError::InvalidFile(_) => "fichier_invalide",
            ApiError::InvalidRows { .. } => "lignes_invalides",
            ApiError::Unauthenticated(_) => "non_authentifie",
            ApiError::Forbidden(_) => "interdit",
            ApiError::Conflict(_) => "conflit",
            ApiError::TooManyAttempts(..) => "trop_de_tentatives",
            ApiError::TooLarge(_) => "trop_volumineux",
            ApiError::Timeout => "delai_depasse",
            ApiError::Unavailable => "service_indisponible",
            ApiError::Busy(_) => "calculs_en_cours",
            ApiError::Internal(_) => "erreur_interne",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidFile(_) | ApiError::InvalidRows { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyAttempts(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unavailable | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a user reads, as a sentence (the services word theirs as fragments).
    pub fn public_message(&self) -> String {
        crate::domain::text::sentence(&match self {
            ApiError::Internal(_) => {
                "erreur interne : l'incident est journalisé, réessayez ou contactez l'exploitant"
                    .into()
            }
            other => other.to_string(),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "erreur interne");
        }
        let lignes = match &self {
            ApiError::InvalidRows { errors, .. } => Some(errors.as_slice()),
            _ => None,
        };
        let shown = ShownError {
            status: self.status(),
            message: self.public_message(),
        };
        let body = Body {
            erreur: Detail {
                code: self.code(),
                message: shown.message.clone(),
                lignes,
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        response.extensions_mut().insert(shown);
        response
    }
}

/// What a page shows of an error, carried by every error response so that `html_errors` can
/// turn it into a page without parsing the JSON back.
#[derive(Debug, Clone)]
pub struct ShownError {
    pub status: StatusCode,
    pub message: String,
}

/// Whether the request comes from a person's browser rather than an API client: any address
/// outside `/api` (and the monitoring probe `/health`), or one that asks for HTML.
pub fn wants_page(path: &str, headers: &HeaderMap) -> bool {
    let api = path == "/api" || path.starts_with("/api/") || path == "/health";
    !api || asks_for_html(headers)
}

fn asks_for_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            let mut parts = media.split(';').map(str::trim);
            let kind = parts.next().unwrap_or("");
            // `q=0` means "not this one".
            let refused = parts
                .filter_map(|p| p.strip_prefix("q="))
                .any(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0));
            matches!(kind, "text/html" | "application/xhtml+xml") && !refused
        })
}

/// Middleware: in the browser, every error is a French DSFR page with its status (never the
/// API's JSON): errors of the pages' handlers, unknown addresses, bad forms, timeouts, panics.
pub async fn html_errors(
    State(state): State<crate::http::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let headers =
        wants_page(request.uri().path(), request.headers()).then(|| request.headers().clone());
    let response = next.run(request).await;
    match (headers, response.extensions().get::<ShownError>()) {
        (Some(headers), Some(shown)) => {
            let shown = shown.clone();
            let mut page =
                crate::http::pages::error_page(&state, &headers, shown.status, &shown.message)
                    .await;
            // The page replaces the answer and its headers: it is no more to be kept than the
            // page the person was refused (it may name them, and follows a sign-out).
            page.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            page
        }
        _ => response,
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound(m) => ApiError::NotFound(m),
            ServiceError::Invalid(m) => ApiError::BadRequest(m),
            ServiceError::Import(ImportError::File(f)) => ApiError::InvalidFile(f.message),
            ServiceError::Import(ImportError::Rows { errors }) => ApiError::InvalidRows {
                message: ImportError::rows_message(errors.len()),
                errors,
            },
            ServiceError::Unauthenticated(m) => ApiError::Unauthenticated(m),
            ServiceError::Forbidden(m) => ApiError::Forbidden(m),
            ServiceError::Conflict(m) => ApiError::Conflict(m),
            ServiceError::TooManyAttempts(m, wait) => ApiError::TooManyAttempts(m, wait),
            ServiceError::Store(crate::store::StoreError::Conflict(m)) => ApiError::Conflict(m),
            // A named constraint is the user's input refused by the schema: say which field.
            ServiceError::Store(crate::store::StoreError::Constraint {
                field: Some(field),
                ..
            }) => {
                if field.duplicate {
                    ApiError::Conflict(field.message())
                } else {
                    ApiError::BadRequest(field.message())
                }
            }
            ServiceError::Internal(detail) => ApiError::Internal(detail),
            ServiceError::Store(e) if e.is_unavailable() => {
                tracing::error!(cause = %e, "base de données indisponible");
                ApiError::Unavailable
            }
            ServiceError::Store(e) => ApiError::Internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{FieldError, StoreError};

    #[test]
    fn an_internal_error_shows_a_safe_message_only() {
        let error = ApiError::from(ServiceError::internal(
            "gabarit « page » : variable absente",
        ));
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.code(), "erreur_interne");
        let shown = error.public_message();
        assert!(!shown.contains("gabarit"), "{shown}");
        assert!(shown.starts_with("Erreur interne"), "{shown}");
    }

    #[test]
    fn named_constraints_become_field_errors() {
        let constraint = |duplicate| {
            ApiError::from(ServiceError::Store(StoreError::Constraint {
                detail: "UNIQUE constraint failed: app_user.email".into(),
                field: Some(FieldError {
                    field: "adresse électronique",
                    problem: "un compte existe déjà pour cette adresse",
                    duplicate,
                }),
            }))
        };
        let duplicate = constraint(true);
        assert_eq!(duplicate.status(), StatusCode::CONFLICT);
        assert_eq!(
            duplicate.public_message(),
            "Adresse électronique : un compte existe déjà pour cette adresse."
        );
        assert_eq!(constraint(false).status(), StatusCode::BAD_REQUEST);
        let unnamed = ApiError::from(ServiceError::Store(StoreError::Constraint {
            detail: "FOREIGN KEY constraint failed".into(),
            field: None,
        }));
        assert_eq!(unnamed.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!unnamed.public_message().contains("FOREIGN"));
    }
}
