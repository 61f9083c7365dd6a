//! `GET /api/conventions/{id}/conversion`: the état des lieux of the convention's bailleur
//! converted into rates for its year (DESIGN §4.5), the same JSON as the command line's.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::json::{FrPath as Path, FrQuery as Query};
use super::openapi::Erreur;
use crate::flux::assiette::DEFAULT_LOOKBACK;
use crate::flux::conversion::{Conversion, Method};
use crate::http::auth::AuthUser;
use crate::http::{ApiError, AppState};
use crate::services::conversion::of_convention;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConversionQuery {
    /// flux (par défaut) : par les libérations qu'apporte chaque droit ; stock : par les logements
    pub method: Option<String>,
    /// Années d'historique des libérations (3 par défaut : N-3 à N-1)
    pub lookback: Option<u32>,
}

impl ConversionQuery {
    fn method(&self) -> Result<Method, ApiError> {
        match self.method.as_deref().map(str::trim) {
            None | Some("") => Ok(Method::default()),
            Some(text) => text
                .parse()
                .map_err(|e: String| ApiError::BadRequest(format!("paramètre method : {e}"))),
        }
    }
}

#[utoipa::path(
    get,
    path = "/conventions/{id}/conversion",
    tag = "conventions",
    summary = "Conversion de l'état des lieux en taux",
    description = "Les droits en stock du bailleur de la convention, sur les communes de son EPCI, convertis en taux de départ de chaque réservataire pour l'année de la convention (DESIGN §4.5) : le même JSON que la commande `conversion`, avec le détail par segment et par logement.",
    params(("id" = i64, Path, description = "Numéro de la convention"), ConversionQuery),
    responses(
        (status = 200, description = "La conversion", body = Conversion),
        (status = 400, description = "requete_invalide : méthode ou profondeur d'historique invalide, ou données insuffisantes (aucune libération sur les années retenues)", body = Erreur),
        (status = 404, description = "introuvable : convention inexistante ou dont vous n'êtes pas membre (même réponse)", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn conversion(
    State(s): State<AppState>,
    AuthUser(c): AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<ConversionQuery>,
) -> Result<Response, ApiError> {
    let method = q.method()?;
    let lookback = q.lookback.unwrap_or(DEFAULT_LOOKBACK);
    let report = of_convention(&s.platform, &s.imported, &c, id, method, lookback).await?;
    Ok(Json(&*report).into_response())
}
