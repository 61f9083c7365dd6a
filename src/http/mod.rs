//! HTTP: the axum router, its middleware (tracing, body limit, timeout, panic catcher, security
//! headers) and the server with graceful shutdown. Handlers are short: extract, call one service, map the result.

pub mod api;
pub mod auth;
pub mod error;
pub mod pages;
pub mod table_cache;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::{Secret, Settings};
use crate::domain::ExperimentWindow;
use crate::render::Templates;
use crate::store::Repository;
pub use error::ApiError;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Repository>,
    pub templates: Arc<Templates>,
    pub window: ExperimentWindow,
    /// SHA-256 of the operator token; `None` closes the write API.
    operator_token_digest: Option<[u8; 32]>,
    timeout: Duration,
    /// Folder of the policy files the solver loads.
    pub policies_dir: std::path::PathBuf,
    /// What the convention use cases share (store, keys, limiter).
    pub platform: crate::services::conventions::Platform,
    /// Folder of the npm packages (`node_modules`): the DSFR is served from there under `/dsfr`.
    pub assets_dir: std::path::PathBuf,
    /// Flux tables already extracted, by version hash (the hot read path).
    pub tables: Arc<table_cache::TableCache>,
    /// Assiettes and home page figures, by data revision.
    pub imported: Arc<crate::services::imported_cache::ImportedCache>,
    /// Scenarios solved at once by `POST /api/solve` (open to anyone): beyond, 503 at once.
    pub solve_slots: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(
        platform: crate::services::conventions::Platform,
        templates: Arc<Templates>,
        window: ExperimentWindow,
        operator_token: Option<&Secret>,
        timeout: Duration,
    ) -> Self {
        let store = Arc::clone(&platform.store);
        pages::flash::init_key(platform.tokens.page_messages_key());
        Self {
            store,
            templates,
            window,
            operator_token_digest: operator_token.map(|t| digest(t.expose())),
            timeout,
            policies_dir: platform.policies_dir.clone(),
            platform,
            assets_dir: std::path::PathBuf::from("node_modules"),
            tables: Arc::new(table_cache::TableCache::new()),
            imported: Arc::new(crate::services::imported_cache::ImportedCache::new()),
            solve_slots: Arc::new(tokio::sync::Semaphore::new(default_solve_slots())),
        }
    }

    /// At most `slots` solves at once (at least one).
    pub fn with_solve_slots(mut self, slots: usize) -> Self {
        self.solve_slots = Arc::new(tokio::sync::Semaphore::new(slots.max(1)));
        self
    }

    /// Compares digests rather than the tokens themselves, so that the comparison time says
    /// nothing about the token.
    pub fn with_assets_dir(mut self, dir: &std::path::Path) -> Self {
        self.assets_dir = dir.to_path_buf();
        self
    }

    pub fn operator_token_matches(&self, presented: &str) -> Option<bool> {
        self.operator_token_digest
            .map(|expected| expected == digest(presented))
    }
}

/// One solve per core: a solve keeps its core busy, so more would only slow each of them down.
fn default_solve_slots() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// The whole application, ready to serve or to drive in tests with `oneshot`.
pub fn app(state: AppState, body_limit: usize) -> Router {
    let timeout = state.timeout;
    let https = state.platform.base_url.starts_with("https://");
    let dsfr = state.assets_dir.join("@gouvfr/dsfr/dist");
    let pages_state = state.clone();
    // Pages and API answers may show a convention or carry a session: no copy of them is kept,
    // so that « Précédent » after signing out shows nothing. Only the DSFR's static files,
    // added after this layer, may be cached.
    let dynamic = Router::new()
        .merge(pages::routes())
        .merge(Router::from(api::documented_routes()))
        .fallback(not_found)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let router = dynamic
        .nest_service("/dsfr", tower_http::services::ServeDir::new(dsfr))
        .layer(middleware::from_fn_with_state(timeout, request_timeout))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(panic_response))
        // Outside the panic catcher, so that a browser sees even a panic as a French page.
        .layer(middleware::from_fn_with_state(
            pages_state,
            error::html_errors,
        ));
    with_security_headers(router, https)
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            header::SET_COOKIE,
        ]))
        .with_state(state)
}

/// The pages' scripts are the DSFR's own files under `/dsfr`: no inline script, no framing.
/// The inline `<style>` block of the layout (table colours) is the one thing kept inline.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Two years, as browsers' HSTS preload lists ask.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=63072000; includeSubDomains";

/// The security headers of every response, the panic page and the timeout answer included
/// (they sit outside the panic catcher). Over https the browser is also told to come back only
/// over https, and the session cookie is marked `Secure`.
fn with_security_headers<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    https: bool,
) -> Router<S> {
    let fixed: [(HeaderName, &'static str); 4] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Invitation and reset links carry their token in the address: never sent elsewhere.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    let mut router = router;
    for (name, value) in fixed {
        router = router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    if https {
        router = router
            .layer(SetResponseHeaderLayer::overriding(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
            ))
            .layer(middleware::map_response(secure_cookies));
    }
    router
}

/// Marks every cookie the platform sets `Secure` (the session cookie is built in one place for
/// http and https alike; the scheme is known only here, from `base_url`).
async fn secure_cookies(mut response: Response) -> Response {
    let cookies: Vec<HeaderValue> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    response.headers_mut().remove(header::SET_COOKIE);
    for cookie in cookies {
        let secured = match cookie.to_str() {
            Ok(text) if !text.to_ascii_lowercase().contains("; secure") => {
                HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(cookie)
            }
            _ => cookie,
        };
        response.headers_mut().append(header::SET_COOKIE, secured);
    }
    response
}

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "aucune page ni ressource à l'adresse {}",
        request.uri().path()
    ))
}

/// Ends a request that takes longer than the configured time with a clear error.
async fn request_timeout(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("panique dans un gestionnaire de requête".into()).into_response()
}

/// A bound server: `build` binds the port (0 for a free one, as the tests do), `run` serves until
/// `shutdown` completes, then lets the requests in flight finish.
pub struct Server {
    listener: TcpListener,
    router: Router,
}

impl Server {
    pub async fn build(settings: &Settings, state: AppState) -> std::io::Result<Self> {
        let listener = TcpListener::bind(settings.listen).await?;
        Ok(Self::from_listener(listener, settings, state))
    }

    /// A server on a port already bound (the CLI binds first, so that the e-mails' links can
    /// name the port actually bound).
    pub fn from_listener(listener: TcpListener, settings: &Settings, state: AppState) -> Self {
        Self {
            listener,
            router: app(state, settings.body_limit_bytes),
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("arrêt demandé : fin des requêtes en cours");
}
