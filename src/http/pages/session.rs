//! Sign-in, sign-out and invitation acceptance pages.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::extract::{PageForm, PageParams, PagePath};
use super::frame::{Flash, Frame, check_csrf, page_caller, redirect, render, status_of};
use crate::http::AppState;
use crate::http::auth::{
    Origin, form_token, form_token_matches, session_cookie, session_cookie_value,
};
use crate::services::ServiceError;
use crate::services::conventions::members::{self, Acceptance, SESSION_SECS};

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    suite: Option<String>,
    #[serde(default, deserialize_with = "crate::http::pages::flash::sealed")]
    message: Option<String>,
}

#[derive(Serialize)]
struct LoginPage {
    #[serde(flatten)]
    frame: Frame,
    email: String,
    suite: String,
    csrf: String,
}

/// What a page of another site, or an expired form, is told.
const FORGED_FORM: &str =
    "formulaire expiré ou envoyé depuis un autre site : la page a été rechargée, recommencez";

/// `page` with the form cookie set when it is new.
fn with_form_cookie(mut page: Response, cookie: Option<String>) -> Response {
    if let Some(value) = cookie.and_then(|c| c.parse().ok()) {
        page.headers_mut().append(SET_COOKIE, value);
    }
    page
}

/// Only a path of this site: never an open redirection.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    (email, suite): (&str, &str),
    error: Option<String>,
    message: Option<String>,
) -> Response {
    let (csrf, cookie) = form_token(headers);
    let page = render(
        state,
        "login",
        &LoginPage {
            frame: Frame {
                title: "Connexion".into(),
                session: None,
                flash: Flash {
                    message,
                    error,
                    warning: None,
                },
            },
            email: email.to_owned(),
            suite: suite.to_owned(),
            csrf,
        },
    );
    with_form_cookie(page, cookie)
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageParams(q): PageParams<LoginQuery>,
) -> Response {
    let suite = safe_next(q.suite.as_deref());
    login_page(&state, &headers, ("", &suite), None, q.message)
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    suite: Option<String>,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn login(
    State(state): State<AppState>,
    Origin(origin): Origin,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    let next = safe_next(form.suite.as_deref());
    // Refused before the password is looked at: a forged post must not even count as a try.
    if !form_token_matches(&headers, &form.csrf) {
        let mut page = login_page(
            &state,
            &headers,
            (&form.email, &next),
            Some(FORGED_FORM.into()),
            None,
        );
        *page.status_mut() = StatusCode::FORBIDDEN;
        return page;
    }
    match members::login(&state.platform, &form.email, &form.password, &origin.ip).await {
        Ok(session) => {
            let mut response = redirect(&next);
            if let Ok(value) = session_cookie(&session.token, SESSION_SECS).parse() {
                response.headers_mut().insert(SET_COOKIE, value);
            }
            response
        }
        Err(e) => {
            let status = match e {
                ServiceError::TooManyAttempts(..) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            let mut page = login_page(
                &state,
                &headers,
                (&form.email, &next),
                Some(e.to_string()),
                None,
            );
            *page.status_mut() = status;
            page
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    if let Some((_, session)) = page_caller(&state, &headers).await
        && let Err(refused) = check_csrf(&session, &form.csrf)
    {
        return *refused;
    }
    // Revoked for every instance, not only forgotten by this browser.
    if let Some(token) = session_cookie_value(&headers)
        && let Err(e) = members::logout(&state.platform, &token).await
    {
        tracing::error!("révocation de la session impossible : {e}");
        return redirect(&format!(
            "/?{}",
            super::flash::param(
                "erreur",
                "la déconnexion n'a pas pu être enregistrée : réessayez dans un instant"
            )
        ));
    }
    let mut response = redirect(&format!(
        "/?{}",
        super::flash::param("message", "Vous êtes déconnecté")
    ));
    if let Ok(value) = session_cookie("", 0).parse() {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

#[derive(Serialize)]
struct InvitationPage {
    #[serde(flatten)]
    frame: Frame,
    token: String,
}

fn invitation_page(state: &AppState, token: &str, error: Option<String>) -> Response {
    render(
        state,
        "invitation",
        &InvitationPage {
            frame: Frame {
                title: "Accepter une invitation".into(),
                session: None,
                flash: Flash {
                    message: None,
                    error,
                    warning: None,
                },
            },
            token: token.to_owned(),
        },
    )
}

pub async fn invitation_form(
    State(state): State<AppState>,
    PagePath(token): PagePath<String>,
) -> Response {
    invitation_page(&state, &token, None)
}

#[derive(Deserialize)]
pub struct InvitationForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
}

pub async fn accept_invitation(
    State(state): State<AppState>,
    PagePath(token): PagePath<String>,
    PageForm(form): PageForm<InvitationForm>,
) -> Response {
    if form.password != form.confirmation {
        let mut page = invitation_page(
            &state,
            &token,
            Some("les deux mots de passe saisis diffèrent".into()),
        );
        *page.status_mut() = StatusCode::BAD_REQUEST;
        return page;
    }
    let acceptance = Acceptance {
        token: token.clone(),
        password: (!form.password.is_empty()).then_some(form.password),
    };
    match members::accept(&state.platform, acceptance).await {
        Ok(session) => {
            let mut response = redirect(&format!(
                "/?{}",
                super::flash::param("message", "Invitation acceptée")
            ));
            if let Ok(value) = session_cookie(&session.token, SESSION_SECS).parse() {
                response.headers_mut().insert(SET_COOKIE, value);
            }
            response
        }
        Err(e) => {
            let status = status_of(&e);
            let mut page = invitation_page(&state, &token, Some(e.to_string()));
            *page.status_mut() = status;
            page
        }
    }
}

#[derive(Serialize)]
struct ResetRequestPage {
    #[serde(flatten)]
    frame: Frame,
    csrf: String,
}

fn forgot_page(state: &AppState, headers: &HeaderMap, flash: Flash) -> Response {
    let (csrf, cookie) = form_token(headers);
    let page = render(
        state,
        "password_forgot",
        &ResetRequestPage {
            frame: Frame {
                title: "Mot de passe oublié".into(),
                session: None,
                flash,
            },
            csrf,
        },
    );
    with_form_cookie(page, cookie)
}

pub async fn forgot_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageParams(flash): PageParams<Flash>,
) -> Response {
    forgot_page(&state, &headers, flash)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm<ForgotForm>,
) -> Response {
    let outcome = if form_token_matches(&headers, &form.csrf) {
        crate::services::accounts::request_reset(&state.platform, &form.email).await
    } else {
        Err(ServiceError::Forbidden(FORGED_FORM.into()))
    };
    match outcome {
        Ok(message) => redirect(&format!(
            "/mot-de-passe-oublie?{}",
            super::flash::param("message", message)
        )),
        Err(e) => {
            let flash = Flash {
                message: None,
                error: Some(e.to_string()),
                warning: None,
            };
            let mut page = forgot_page(&state, &headers, flash);
            *page.status_mut() = status_of(&e);
            page
        }
    }
}

fn reset_page(state: &AppState, token: &str, error: Option<String>) -> Response {
    render(
        state,
        "password_reset",
        &InvitationPage {
            frame: Frame {
                title: "Choisir un nouveau mot de passe".into(),
                session: None,
                flash: Flash {
                    message: None,
                    error,
                    warning: None,
                },
            },
            token: token.to_owned(),
        },
    )
}

pub async fn reset_form(
    State(state): State<AppState>,
    PagePath(token): PagePath<String>,
) -> Response {
    reset_page(&state, &token, None)
}

pub async fn reset(
    State(state): State<AppState>,
    PagePath(token): PagePath<String>,
    PageForm(form): PageForm<InvitationForm>,
) -> Response {
    let outcome = if form.password != form.confirmation {
        Err(ServiceError::Invalid(
            "les deux mots de passe saisis diffèrent".into(),
        ))
    } else {
        crate::services::accounts::reset(&state.platform, &token, &form.password).await
    };
    match outcome {
        Ok(()) => redirect(&format!(
            "/connexion?{}",
            super::flash::param("message", "Mot de passe modifié : connectez-vous")
        )),
        Err(e) => {
            let mut page = reset_page(&state, &token, Some(e.to_string()));
            *page.status_mut() = status_of(&e);
            page
        }
    }
}
