//! D'où vient ma part (`/conventions/{id}/ma-part`): the conversion of the bailleur's état des
//! lieux into starting rates (DESIGN §4.5), from the same service as the API's
//! `GET /api/conventions/{id}/conversion`, and the réservataire's dwellings as CSV.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{Loaded, failed, load_named, show};
use crate::domain::convention::Role;
use std::collections::HashMap;

use crate::flux::assiette::{DEFAULT_LOOKBACK, MAX_LOOKBACK};
use crate::flux::conversion::{Conversion, Method};
use crate::http::AppState;
use crate::http::pages::caller::PageCaller;
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::Flash;
use crate::render::pages::convention::Page;
use crate::render::pages::convention::report::Names;
use crate::render::pages::convention::share::{Reader, failed_page, rights_csv, share_page};
use crate::services::ServiceError;
use crate::services::conventions::{Caller, ConventionView};
use crate::services::conversion::of_convention;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/conventions/{id}/ma-part", get(page))
        .route("/conventions/{id}/ma-part.csv", get(csv))
}

#[derive(Debug, Default, Deserialize)]
pub struct ShareQuery {
    /// `flux` (default) or `stock`: the method the page leads with.
    #[serde(default)]
    methode: Option<String>,
    /// Years of releases the rotation rates are averaged over (1 to 10, 3 by default).
    #[serde(default)]
    annees: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<ShareQuery>,
) -> Response {
    let (l, naming) = match load_named(&state, &caller, &session, id, Page::Share).await {
        Ok(loaded) => loaded,
        Err(e) => return failed(e),
    };
    let (method, mut flash) = chosen(q.methode.as_deref());
    let lookback = match chosen_lookback(q.annees.as_deref()) {
        Ok(lookback) => lookback,
        Err(error) => {
            flash.error = Some(error);
            DEFAULT_LOOKBACK
        }
    };
    let data = match both(&state, &caller, id, lookback).await {
        Ok((flux, stock)) => {
            let parties = with_holders(&state, &naming.parties, &flux).await;
            let names = Names {
                parties: &parties,
                ..naming.of(&l)
            };
            share_page(&flux, &stock, &reader(&l), &names, method)
        }
        Err(ServiceError::Invalid(why) | ServiceError::NotFound(why)) => {
            failed_page(&why, method, lookback)
        }
        Err(e) => return failed(e),
    };
    let (status, template) = (StatusCode::OK, "convention/share");
    show(&state, status, session, flash, &l.ws, template, data)
}

/// The method asked for, or the default with a banner saying why the one asked is unknown.
fn chosen(text: Option<&str>) -> (Method, Flash) {
    match text.map(str::parse::<Method>) {
        None => (Method::default(), Flash::default()),
        Some(Ok(method)) => (method, Flash::default()),
        Some(Err(why)) => {
            let error =
                crate::domain::text::sentence(&format!("{why} ; la page montre la méthode flux"));
            let flash = Flash {
                error: Some(error),
                ..Flash::default()
            };
            (Method::default(), flash)
        }
    }
}

/// The look-back asked for (`?annees=`), or why it cannot be, in French.
fn chosen_lookback(text: Option<&str>) -> Result<u32, String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(DEFAULT_LOOKBACK);
    };
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_LOOKBACK).contains(&n) => Ok(n),
        _ => Err(crate::domain::text::sentence(&format!(
            "années de libérations : « {} » n'est pas un nombre d'années entre 1 et {MAX_LOOKBACK} ; la page montre les {DEFAULT_LOOKBACK} dernières années",
            text.chars().take(20).collect::<String>()
        ))),
    }
}

/// The names of the parties, and of the réservataires that hold rights without being parties:
/// their name in the registry of réservataires followed by « (non partie) », or
/// « réservataire X (non partie) » when the registry does not know them.
async fn with_holders(
    state: &AppState,
    parties: &HashMap<String, String>,
    c: &Conversion,
) -> HashMap<String, String> {
    let mut names = parties.clone();
    let outsiders: Vec<&str> = c
        .reservataires
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !parties.contains_key(*id))
        .collect();
    if outsiders.is_empty() {
        return names;
    }
    // The registry only lends names: without it, the ids stay readable as « réservataire X ».
    let registry = state.store.reservataires().await.unwrap_or_default();
    for id in outsiders {
        let name = registry
            .iter()
            .find(|r| r.id.as_str() == id)
            .map_or_else(|| format!("réservataire {id}"), |r| r.name.clone());
        names.insert(id.to_owned(), format!("{name} (non partie)"));
    }
    names
}

/// The conversion with both methods, computed together.
async fn both(
    state: &AppState,
    caller: &Caller,
    id: i64,
    lookback: u32,
) -> Result<(std::sync::Arc<Conversion>, std::sync::Arc<Conversion>), ServiceError> {
    let p = &state.platform;
    tokio::try_join!(
        of_convention(p, &state.imported, caller, id, Method::Flux, lookback),
        of_convention(p, &state.imported, caller, id, Method::Stock, lookback),
    )
}

/// A réservataire's member reads its own part; the secretariat and the bailleur every party's.
fn reader(l: &Loaded) -> Reader<'_> {
    match own_party(&l.view) {
        Some(id) => Reader::Party {
            id,
            name: crate::render::pages::convention::party_name(&l.view, id),
        },
        None => Reader::Everyone,
    }
}

fn own_party(view: &ConventionView) -> Option<&str> {
    let party = view
        .parties
        .iter()
        .find(|x| x.party == view.your_party && x.kind == "reservataire")?;
    (view.your_role != Role::Secretariat).then_some(party.party.as_str())
}

/// `ma-part.csv`: the dwellings of the caller's rights (every party's for the secretariat and
/// the bailleur), one line per right.
async fn csv(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<ShareQuery>,
) -> Response {
    let (l, naming) = match load_named(&state, &caller, &session, id, Page::Share).await {
        Ok(loaded) => loaded,
        Err(e) => return failed(e),
    };
    let lookback = match chosen_lookback(q.annees.as_deref()) {
        Ok(lookback) => lookback,
        Err(why) => return failed(ServiceError::Invalid(why)),
    };
    let flux = match of_convention(
        &state.platform,
        &state.imported,
        &caller,
        id,
        Method::Flux,
        lookback,
    )
    .await
    {
        Ok(flux) => flux,
        Err(e) => return failed(e),
    };
    let own = own_party(&l.view);
    let rights: Vec<_> = flux
        .reservataires
        .iter()
        .filter(|r| own.is_none_or(|own| own == r.id))
        .flat_map(|r| r.rights.iter().map(move |right| (r.id.as_str(), right)))
        .collect();
    let parties = with_holders(&state, &naming.parties, &flux).await;
    let names = Names {
        parties: &parties,
        ..naming.of(&l)
    };
    let body = rights_csv(&rights, &names);
    let name = format!("attachment; filename=\"convention-{id}-ma-part.csv\"");
    let headers = [
        (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (CONTENT_DISPOSITION, name),
    ];
    (headers, body).into_response()
}
