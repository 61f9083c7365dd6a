//! Sign-in, sign-out and invitation acceptance pages.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::extract::{PageForm, PageParams, PagePath};
use super::frame::{Flash, Frame, check_csrf, page_caller, redirect, render, status_of};
use crate::http::AppState;
use crate::http::auth::{Origin, session_cookie};
use crate::services::ServiceError;
use crate::services::conventions::members::{self, Acceptance, SESSION_SECS};

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    suite: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Serialize)]
struct LoginPage {
    #[serde(flatten)]
    frame: Frame,
    email: String,
    suite: String,
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
    email: &str,
    suite: &str,
    error: Option<String>,
    message: Option<String>,
) -> Response {
    render(
        state,
        "login",
        &LoginPage {
            frame: Frame {
                title: "Connexion".into(),
                session: None,
                flash: Flash { message, error },
            },
            email: email.to_owned(),
            suite: suite.to_owned(),
        },
    )
}

pub async fn login_form(
    State(state): State<AppState>,
    PageParams(q): PageParams<LoginQuery>,
) -> Response {
    login_page(&state, "", &safe_next(q.suite.as_deref()), None, q.message)
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    suite: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    Origin(origin): Origin,
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    let next = safe_next(form.suite.as_deref());
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
            let mut page = login_page(&state, &form.email, &next, Some(e.to_string()), None);
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
    if let Some((_, session)) = page_caller(&state, &headers).await {
        if let Err(refused) = check_csrf(&session, &form.csrf) {
            return *refused;
        }
    }
    let mut response = redirect("/?message=Vous%20%C3%AAtes%20d%C3%A9connect%C3%A9");
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
            let mut response = redirect("/?message=Invitation%20accept%C3%A9e");
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
}

pub async fn forgot_form(
    State(state): State<AppState>,
    PageParams(flash): PageParams<Flash>,
) -> Response {
    render(
        &state,
        "password_forgot",
        &ResetRequestPage {
            frame: Frame {
                title: "Mot de passe oublié".into(),
                session: None,
                flash,
            },
        },
    )
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    PageForm(form): PageForm<ForgotForm>,
) -> Response {
    match crate::services::accounts::request_reset(&state.platform, &form.email).await {
        Ok(message) => redirect(&format!(
            "/mot-de-passe-oublie?message={}",
            super::frame::urlencode(message)
        )),
        Err(e) => {
            let mut page = render(
                &state,
                "password_forgot",
                &ResetRequestPage {
                    frame: Frame {
                        title: "Mot de passe oublié".into(),
                        session: None,
                        flash: Flash {
                            message: None,
                            error: Some(e.to_string()),
                        },
                    },
                },
            );
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
        Ok(()) => {
            redirect("/connexion?message=Mot%20de%20passe%20modifi%C3%A9%20%3A%20connectez-vous")
        }
        Err(e) => {
            let mut page = reset_page(&state, &token, Some(e.to_string()));
            *page.status_mut() = status_of(&e);
            page
        }
    }
}
