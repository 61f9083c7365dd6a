//! Versions: every version of the convention, and what changed between any two.

use serde::Serialize;

use super::report::Names;
use super::{party_name, with_party_names};
use crate::render::pages::dates::french_datetime;
use crate::services::conventions::ConventionView;
use crate::store::conventions::VersionRow;

/// The versions compared: `to` and `from` (by default the last two), for `party` (by default
/// the caller's, or the State for the secretariat and the observers).
pub fn compared(
    view: &ConventionView,
    last: i64,
    from: Option<i64>,
    to: Option<i64>,
    party: Option<String>,
) -> (i64, i64, String) {
    let mine = &view.your_party;
    let default_party = if mine.is_empty() || mine == "secretariat" {
        "etat".to_owned()
    } else {
        mine.clone()
    };
    (
        from.unwrap_or(last - 1).clamp(1, last.max(1)),
        to.unwrap_or(last).clamp(1, last.max(1)),
        party.filter(|p| !p.is_empty()).unwrap_or(default_party),
    )
}

#[derive(Debug, Serialize)]
pub struct PartyChoice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Serialize)]
pub struct VersionsPage {
    pub versions: Vec<VersionLine>,
    pub from: i64,
    pub to: i64,
    pub parties: Vec<PartyChoice>,
    pub party_name: String,
    pub diff: Vec<String>,
    pub compared: bool,
}

pub fn versions_page(
    view: &ConventionView,
    all: &[VersionRow],
    (from, to, party): (i64, i64, String),
    diff: &[String],
    names: &Names<'_>,
) -> VersionsPage {
    let mut versions = version_lines(all, from, to);
    for v in &mut versions {
        v.reason = with_party_names(view, &v.reason);
    }
    VersionsPage {
        versions,
        from,
        to,
        parties: view
            .parties
            .iter()
            .filter(|x| x.kind != "secretariat")
            .map(|x| PartyChoice {
                selected: x.party == party,
                value: x.party.clone(),
                label: x.name.clone(),
            })
            .collect(),
        party_name: party_name(view, &party),
        diff: diff
            .iter()
            .map(|line| names.segments_in_words(line))
            .collect(),
        compared: from != to,
    }
}

#[derive(Debug, Serialize)]
pub struct VersionLine {
    pub number: i64,
    pub at: String,
    pub reason: String,
    pub hash: String,
    pub locked: bool,
    pub from_selected: bool,
    pub to_selected: bool,
}

pub fn version_lines(versions: &[VersionRow], from: i64, to: i64) -> Vec<VersionLine> {
    versions
        .iter()
        .rev()
        .map(|v| VersionLine {
            number: v.number,
            at: french_datetime(&v.created_at),
            reason: v.reason.clone(),
            hash: v.hash.chars().take(12).collect(),
            locked: v.locked,
            from_selected: v.number == from,
            to_selected: v.number == to,
        })
        .collect()
}
