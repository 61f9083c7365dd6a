//! A réservataire's shares of the stock by group of segments, from the conversion: what the
//! `representativite` warning compares its share of the flux with (RULES.md §6, issue 18,
//! item 5).
//!
//! The groups are each typology of the territory's stock and the dwellings outside and inside
//! QPV. A réservataire's share in a group is its weighted dwellings there (a right weighs the
//! part of year N it still runs) over the weighted dwellings of every holder and of the
//! unreserved part there, in percent to the hundredth (half up). The weighted dwellings are
//! the conversion's own, to the millionth: the hundredth of a percent is exact for any
//! territory of fewer than ten thousand dwellings per group, and off by at most one hundredth
//! beyond.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use super::Conversion;
use crate::domain::Typology;
use crate::flux::scenario::RawStockShare;

/// A group of segments: a typology (QPV or not), or in or outside QPV (any typology).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Typology(Typology),
    Qpv(bool),
}

/// The typology and the QPV flag of a segment id of the conversion (`69123-T3-H`,
/// `69123-Q` without typology).
fn axes_of(id: &str) -> Option<(Option<Typology>, bool)> {
    let (rest, flag) = id.rsplit_once('-')?;
    let qpv = match flag {
        "Q" => true,
        "H" => false,
        _ => return None,
    };
    let typology = match rest.split_once('-') {
        Some((_, label)) => Some(label.parse().ok()?),
        None => None,
    };
    Some((typology, qpv))
}

fn groups_of(segment: &str) -> Vec<Group> {
    let Some((typology, qpv)) = axes_of(segment) else {
        return Vec::new();
    };
    let mut out: Vec<Group> = typology.map(Group::Typology).into_iter().collect();
    out.push(Group::Qpv(qpv));
    out
}

/// The shares of the stock of each réservataire holding at least one right counted, by
/// group, in the scenario's form. A réservataire without rights gets none: it has no stock
/// for its flux to mirror.
pub fn stock_shares(c: &Conversion) -> BTreeMap<String, Vec<RawStockShare>> {
    let mut totals: BTreeMap<Group, Decimal> = BTreeMap::new();
    let mut held: BTreeMap<&str, BTreeMap<Group, Decimal>> = BTreeMap::new();
    for r in &c.reservataires {
        let mine = held.entry(r.id.as_str()).or_default();
        for part in &r.segments {
            for group in groups_of(&part.segment) {
                *totals.entry(group).or_default() += part.weighted_dwellings;
                *mine.entry(group).or_default() += part.weighted_dwellings;
            }
        }
    }
    for part in &c.non_reserve.segments {
        for group in groups_of(&part.segment) {
            *totals.entry(group).or_default() += part.weighted_dwellings;
        }
    }
    let mut out = BTreeMap::new();
    for r in c.reservataires.iter().filter(|r| r.dwellings > 0) {
        let mine = &held[r.id.as_str()];
        let shares = totals
            .iter()
            .filter(|(_, total)| **total > Decimal::ZERO)
            .map(|(group, total)| {
                let part = mine.get(group).copied().unwrap_or_default();
                let share = (part * Decimal::ONE_HUNDRED / total)
                    .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
                    .normalize();
                let (typology, qpv) = match group {
                    Group::Typology(t) => (Some(t.label().to_owned()), None),
                    Group::Qpv(q) => (None, Some(*q)),
                };
                RawStockShare {
                    typology,
                    qpv,
                    share: share.to_string(),
                }
            })
            .collect();
        out.insert(r.id.clone(), shares);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_ids_give_their_typology_and_qpv_flag() {
        assert_eq!(axes_of("69801-T3-H"), Some((Some(Typology::T3), false)));
        assert_eq!(axes_of("69801-T6+-Q"), Some((Some(Typology::T6Plus), true)));
        assert_eq!(axes_of("69801-Q"), Some((None, true)));
        assert_eq!(axes_of("69801-T3-X"), None);
    }
}
