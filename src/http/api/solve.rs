//! `POST /api/solve`: the scenario (DESIGN §4.4) as the JSON body, the report as the answer.
//! A pure computation on the data sent: it reads and writes nothing stored. Open to anyone, so
//! bounded: the scenario's size (`flux::scenario::limits`), the body's size ([`BODY_LIMIT`]), the
//! solves at once (`AppState::solve_slots`, 503 beyond), and a solve whose request is gone (timed
//! out, client left) stops.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;

use super::openapi::Erreur;
use crate::flux::cancel::Cancel;
use crate::flux::scenario::RawScenario;
use crate::flux::solver::report::Report;
use crate::http::{ApiError, AppState};
use crate::services::solve::solve_scenario_until;

/// Largest scenario body: the largest real convention (150 réservataires × 2,000 segments) is
/// about 0.3 MB; a compromise's overrides add at most a few MB.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Raises the flag when dropped: axum drops the handler's future when the request times out
/// (the timeout layer) or the client closes the connection.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[utoipa::path(
    post,
    path = "/solve",
    tag = "solveur",
    summary = "Solveur : rapport d'un scénario (schéma 1)",
    description = super::openapi::solve_limits(),
    request_body(content = RawScenario, description = "Le scénario (schéma 1, DESIGN §4.4) : pourcentages en chaînes décimales"),
    responses(
        (status = 200, description = "Le rapport du solveur (DESIGN §4.4) : tableau des flux, manquements, compromis, certificat", body = Object),
        (status = 400, description = "requete_invalide : scénario invalide ou au-delà des limites (message nommant le champ)", body = Erreur),
        (status = 413, description = "trop_volumineux : corps de plus de 8 Mo", body = Erreur),
        (status = 503, description = "calculs_en_cours : tous les calculs simultanés admis sont en cours ; delai_depasse : délai de la requête dépassé. Réessayer plus tard", body = Erreur),
    ),
)]
pub async fn solve(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Report>, ApiError> {
    // Refused at once rather than queued: a queue would hold the bodies in memory.
    let slot = state.solve_slots.clone().try_acquire_owned().map_err(|_| {
        ApiError::Busy(
            "trop de calculs sont en cours sur la plateforme : réessayez dans un instant".into(),
        )
    })?;
    let body = super::body_bytes(body)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("le scénario doit être un JSON encodé en UTF-8".into()))?
        .to_owned();
    drop(body);
    let dir = state.policies_dir.clone();
    let cancel = Cancel::new();
    let _cancel_on_drop = CancelOnDrop(cancel.clone());
    // Off the async executor; the slot is freed when the computation ends, not when the answer
    // leaves, so that a cancelled solve still counts until it has stopped.
    let (_, report) = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        solve_scenario_until(&text, &dir, &cancel)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("calcul interrompu : {e}")))??;
    Ok(Json(report))
}
