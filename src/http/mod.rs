//! HTTP: the axum router, its middleware (tracing, body limit, timeout, panic catcher) and the
//! server with graceful shutdown. Handlers are short: extract, call one service, map the result.

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
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
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
        }
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

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// The whole application, ready to serve or to drive in tests with `oneshot`.
pub fn app(state: AppState, body_limit: usize) -> Router {
    let timeout = state.timeout;
    let dsfr = state.assets_dir.join("@gouvfr/dsfr/dist");
    let pages_state = state.clone();
    Router::new()
        .merge(pages::routes())
        .nest_service("/dsfr", tower_http::services::ServeDir::new(dsfr))
        .nest("/api", api::routes())
        .route("/health", axum::routing::get(api::health::health))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(timeout, request_timeout))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(panic_response))
        // Outside the panic catcher, so that a browser sees even a panic as a French page.
        .layer(middleware::from_fn_with_state(
            pages_state,
            error::html_errors,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
