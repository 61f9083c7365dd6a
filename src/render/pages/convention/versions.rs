//! Versions: every version of the convention, and what changed between any two.

use serde::Serialize;

use crate::render::pages::dates::french_datetime;
use crate::store::conventions::VersionRow;

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
