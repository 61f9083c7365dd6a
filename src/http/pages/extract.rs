//! Extractors of the pages whose rejections are French errors (shown as a DSFR page by
//! `html_errors`), never axum's English text: a path whose number is not one, a form or a
//! query string that does not have the expected form.

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::http::{ApiError, AppState};

/// Path parameters: a value that does not parse (`/conventions/abc`) is an unknown address.
pub struct PagePath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for PagePath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PagePath(p.0))
            .map_err(|rejection| ApiError::NotFound(path_message(parts.uri.path(), &rejection)))
    }
}

fn path_message(path: &str, rejection: &PathRejection) -> String {
    use axum::extract::path::ErrorKind;
    let (value, what) = match rejection {
        PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
            // `/conventions/{id}/discussion/{comment}/…`
            ErrorKind::ParseErrorAtKey { value, key, .. } if key == "comment" => {
                (Some(value.clone()), "de commentaire")
            }
            ErrorKind::ParseErrorAtIndex { value, index, .. } if *index == 1 => {
                (Some(value.clone()), "de commentaire")
            }
            ErrorKind::ParseError { value, .. }
            | ErrorKind::ParseErrorAtIndex { value, .. }
            | ErrorKind::ParseErrorAtKey { value, .. } => (Some(value.clone()), "de convention"),
            _ => (None, ""),
        },
        _ => (None, ""),
    };
    match value {
        Some(value) => format!(
            "aucune page à l'adresse {path} : « {value} » n'est pas un numéro {what} (un nombre entier est attendu, par exemple /conventions/1)"
        ),
        None => format!("aucune page à l'adresse {path}"),
    }
}

/// The name of the field at fault in axum's deserialisation message (`… : champ : cause`), when
/// it gives one.
fn field_at_fault(text: &str) -> Option<String> {
    let (_, rest) = text.split_once(": ")?;
    let (field, _) = rest.split_once(": ")?;
    (!field.is_empty()
        && field
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.'))
    .then(|| field.to_owned())
}

/// A posted form (`application/x-www-form-urlencoded`).
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for PageForm<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        axum::Form::<T>::from_request(request, state)
            .await
            .map(|f| PageForm(f.0))
            .map_err(form_error)
    }
}

fn form_error(rejection: FormRejection) -> ApiError {
    let text = match rejection {
        // Too large or cut off: the same error as the API's.
        FormRejection::BytesRejection(e) => {
            return match crate::http::api::body_bytes(Err(e)) {
                Err(error) => error,
                Ok(_) => ApiError::BadRequest("formulaire illisible".into()),
            };
        }
        FormRejection::InvalidFormContentType(_) => {
            return ApiError::BadRequest(
                "formulaire invalide : il doit être envoyé depuis la page du site".into(),
            );
        }
        other => other.body_text(),
    };
    ApiError::BadRequest(match field_at_fault(&text) {
        Some(field) => format!(
            "formulaire invalide : le champ « {field} » n'a pas la forme attendue ; rechargez la page et recommencez"
        ),
        None => "formulaire invalide : un champ n'a pas la forme attendue ; rechargez la page et recommencez".into(),
    })
}

/// The query string of a page (filters, messages).
pub struct PageParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for PageParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| PageParams(q.0))
            .map_err(|rejection| ApiError::BadRequest(query_message(&rejection)))
    }
}

pub(crate) fn query_message(rejection: &QueryRejection) -> String {
    let field = match rejection {
        QueryRejection::FailedToDeserializeQueryString(e) => field_at_fault(&e.body_text()),
        _ => None,
    };
    match field {
        Some(field) => format!(
            "adresse invalide : le paramètre « {field} » n'a pas la forme attendue (les numéros sont des nombres entiers)"
        ),
        None => "adresse invalide : paramètres illisibles".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::field_at_fault;

    #[test]
    fn the_field_at_fault_is_read_from_the_message() {
        assert_eq!(
            field_at_fault("Failed to deserialize query string: de: invalid digit found in string")
                .as_deref(),
            Some("de")
        );
        assert_eq!(
            field_at_fault("Failed to deserialize form body: missing field"),
            None
        );
    }
}
