//! `POST /api/solve`: the scenario (DESIGN §4.4) as the JSON body, the report as the answer.
//! A pure computation on the data sent: it reads and writes nothing stored.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;

use crate::flux::solver::report::Report;
use crate::http::{ApiError, AppState};
use crate::services::solve::solve_scenario;

pub async fn solve(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Report>, ApiError> {
    let body = super::body_bytes(body)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("le scénario doit être un JSON encodé en UTF-8".into()))?
        .to_owned();
    let dir = state.policies_dir.clone();
    // A 2,000-segment scenario takes tens of milliseconds: off the async executor.
    let (_, report) = tokio::task::spawn_blocking(move || solve_scenario(&text, &dir))
        .await
        .map_err(|e| ApiError::Internal(format!("calcul interrompu : {e}")))??;
    Ok(Json(report))
}
