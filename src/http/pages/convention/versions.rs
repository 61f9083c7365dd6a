//! Versions (`/conventions/{id}/versions`): every version, and what changed between two of
//! them for a party.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::{failed, load, show};
use crate::http::AppState;
use crate::http::pages::caller::PageCaller;
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::Flash;
use crate::render::pages::convention::report::Names;
use crate::render::pages::convention::versions::{VersionLine, version_lines};
use crate::render::pages::convention::{Page, party_name, party_names, with_party_names};
use crate::services::conventions as service;

pub fn routes() -> Router<AppState> {
    Router::new().route("/conventions/{id}/versions", get(page))
}

#[derive(Debug, Default, Deserialize)]
pub struct VersionsQuery {
    #[serde(default)]
    de: Option<i64>,
    #[serde(default)]
    a: Option<i64>,
    #[serde(default)]
    partie: Option<String>,
}

#[derive(Serialize)]
struct PartyChoice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct VersionsData {
    versions: Vec<VersionLine>,
    from: i64,
    to: i64,
    parties: Vec<PartyChoice>,
    party_name: String,
    diff: Vec<String>,
    compared: bool,
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<VersionsQuery>,
) -> Response {
    let l = match load(&state, &caller, &session, id, Page::Versions).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let all = match service::versions(&state.platform, &caller, id).await {
        Ok(v) => v,
        Err(e) => return failed(e),
    };
    let last = all.last().map_or(0, |v| v.number);
    let (to, from) = (
        q.a.unwrap_or(last).clamp(1, last.max(1)),
        q.de.unwrap_or(last - 1).clamp(1, last.max(1)),
    );
    let mine = l.view.your_party.clone();
    let default_party = if mine.is_empty() || mine == "secretariat" {
        "etat".to_owned()
    } else {
        mine
    };
    let party = q.partie.filter(|p| !p.is_empty()).unwrap_or(default_party);
    let compared = from != to;
    let diff = if compared {
        match service::diff(&state.platform, &caller, id, from, to, Some(party.clone())).await {
            Ok(d) => d,
            Err(e) => return failed(e),
        }
    } else {
        Vec::new()
    };
    let communes = match service::commune_names(&state.platform, &l.view).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let parties = party_names(&l.view);
    let segments = l.doc.as_ref().map_or(&[][..], |d| &d.scenario.segments);
    let names = Names {
        parties: &parties,
        communes: &communes,
        segments,
    };
    let mut versions = version_lines(&all, from, to);
    for v in &mut versions {
        v.reason = with_party_names(&l.view, &v.reason);
    }
    let data = VersionsData {
        versions,
        from,
        to,
        parties: l
            .view
            .parties
            .iter()
            .filter(|x| x.kind != "secretariat")
            .map(|x| PartyChoice {
                selected: x.party == party,
                value: x.party.clone(),
                label: x.name.clone(),
            })
            .collect(),
        party_name: party_name(&l.view, &party),
        diff: diff
            .iter()
            .map(|line| names.segments_in_words(line))
            .collect(),
        compared,
    };
    show(
        &state,
        StatusCode::OK,
        session,
        Flash::default(),
        &l.ws,
        "convention/versions",
        data,
    )
}
