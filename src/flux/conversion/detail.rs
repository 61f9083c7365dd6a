//! The figures of each holder with their provenance, and the warnings on the rights.
use crate::domain::text::count;

use std::collections::{BTreeMap, HashSet};

use rust_decimal::Decimal;

use super::{
    ConversionInput, NonReserveConversion, ReservataireConversion, RightDetail, SegmentPart, Sums,
    Tallies, basis_label, days_shown, flux_shown, holder_sums, percent,
};
use crate::domain::{Basis, ReservataireId};

/// How many RPLS ids a warning names.
const NAMED_IDS: usize = 5;

pub(super) fn reservataire(
    input: &ConversionInput<'_>,
    tallies: &Tallies<'_>,
    id: &ReservataireId,
    totals: &[u128],
    rate_of_whole_flux: Decimal,
    warnings: &mut Vec<String>,
) -> ReservataireConversion {
    let parts = &tallies.held[id];
    let all = holder_sums(parts);
    let scope = input.scopes.get(id);
    let in_scope = |segment: usize| {
        scope
            .is_none_or(|communes| communes.contains(&tallies.report.segments[segment].key.commune))
    };
    let method = input.method;
    let mine: u128 = parts
        .iter()
        .filter(|(s, _)| in_scope(**s))
        .map(|(_, sums)| sums.value(method))
        .sum();
    let outside: u64 = parts
        .iter()
        .filter(|(s, _)| !in_scope(**s))
        .map(|(_, sums)| sums.dwellings)
        .sum();
    if outside > 0 {
        warnings.push(format!(
            "{id} : {} sur des logements hors de son territoire ; ils comptent dans sa part du flux entier mais pas dans son taux sur son territoire",
            count(outside, "droit porte", "droits portent")
        ));
    }
    let scope_total: u128 = (0..totals.len())
        .filter(|&s| in_scope(s))
        .map(|s| totals[s])
        .sum();
    let denominator_shown = match method {
        super::Method::Flux => flux_shown(scope_total, tallies.days_in_year),
        super::Method::Stock => days_shown(scope_total, tallies.days_in_year),
    };
    ReservataireConversion {
        id: id.as_str().to_owned(),
        scope: scope.map(|c| c.iter().map(|c| c.as_str().to_owned()).collect()),
        dwellings: all.dwellings,
        weighted_dwellings: days_shown(all.days, tallies.days_in_year),
        flux_equivalent: flux_shown(all.flux, tallies.days_in_year),
        rate: percent(mine, scope_total),
        rate_of_whole_flux,
        scope_total: denominator_shown,
        segments: segment_parts(tallies, parts),
        rights: rights(tallies, id),
    }
}

pub(super) fn non_reserve(tallies: &Tallies<'_>, rate: Decimal) -> NonReserveConversion {
    let all = holder_sums(&tallies.free);
    NonReserveConversion {
        dwellings: all.dwellings,
        weighted_dwellings: days_shown(all.days, tallies.days_in_year),
        flux_equivalent: flux_shown(all.flux, tallies.days_in_year),
        rate,
        segments: segment_parts(tallies, &tallies.free),
    }
}

fn segment_parts(tallies: &Tallies<'_>, parts: &BTreeMap<usize, Sums>) -> Vec<SegmentPart> {
    parts
        .iter()
        .map(|(&s, sums)| SegmentPart {
            segment: tallies.report.segments[s].id.clone(),
            dwellings: sums.dwellings,
            weighted_dwellings: days_shown(sums.days, tallies.days_in_year),
            flux_equivalent: flux_shown(sums.flux, tallies.days_in_year),
        })
        .collect()
}

fn rights(tallies: &Tallies<'_>, id: &ReservataireId) -> Vec<RightDetail> {
    let mut rights: Vec<RightDetail> = tallies.placed[id]
        .iter()
        .map(|p| RightDetail {
            rpls_id: p.right.rpls_id.as_str().to_owned(),
            segment: tallies.report.segments[p.segment].id.clone(),
            basis: basis_label(p.right.basis),
            end_date: p.right.end_date,
            weight: days_shown(p.days, tallies.days_in_year),
            flux_equivalent: flux_shown(p.days * tallies.rates[p.segment], tallies.days_in_year),
        })
        .collect();
    rights.sort_by(|a, b| a.rpls_id.cmp(&b.rpls_id));
    rights
}

/// Rights that do not count, or count only in part, and dwellings reserved more than once.
pub(super) fn right_warnings(input: &ConversionInput<'_>, tallies: &Tallies<'_>) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut unknown = Vec::new();
    let mut outside = Vec::new();
    let mut ended = 0usize;
    let mut ending = 0usize;
    let mut undated_guarantees = 0usize;
    for right in input.rights {
        let dwelling = tallies.index.get(right.rpls_id.as_str());
        match dwelling.map(|&i| tallies.segment_of[i].is_some()) {
            None => unknown.push(right.rpls_id.as_str()),
            Some(false) => outside.push(right.rpls_id.as_str()),
            Some(true) => {
                let days = super::running_days(right.end_date, input.year);
                if days == 0 {
                    ended += 1;
                } else if days < tallies.days_in_year {
                    ending += 1;
                }
                if right.basis == Basis::GarantieEmprunt && right.end_date.is_none() {
                    undated_guarantees += 1;
                }
            }
        }
    }
    if !unknown.is_empty() {
        warnings.push(format!(
            "{} sur des logements absents du patrimoine du bailleur ({}) : ils sont ignorés",
            count(unknown.len() as u64, "droit porte", "droits portent"),
            named(&mut unknown)
        ));
    }
    if !outside.is_empty() {
        warnings.push(format!(
            "{} sur des logements hors flux par la loi ({}) : ils n'entrent pas dans la conversion",
            count(outside.len() as u64, "droit porte", "droits portent"),
            named(&mut outside)
        ));
    }
    let year = input.year;
    if ended > 0 {
        warnings.push(format!(
            "{} fin avant le 1er janvier {year} : ils ne comptent plus",
            count(ended as u64, "droit a pris", "droits ont pris")
        ));
    }
    if ending > 0 {
        warnings.push(format!(
            "{} fin en cours d'année {year} : chacun compte pour la part de l'année qu'il court encore",
            count(ending as u64, "droit prend", "droits prennent")
        ));
    }
    if undated_guarantees > 0 {
        warnings.push(format!(
            "{} de date de fin : ils comptent pour l'année entière ; un tel droit court jusqu'à cinq ans après le remboursement du prêt, indiquez cette date dans date_fin",
            count(
                undated_guarantees as u64,
                "droit en contrepartie d'une garantie d'emprunt n'a pas",
                "droits en contrepartie d'une garantie d'emprunt n'ont pas"
            )
        ));
    }
    warnings.extend(over_reserved(input, tallies));
    warnings.extend(idle_segments(tallies));
    warnings
}

/// Dwellings whose rights add up to more than the whole year.
fn over_reserved(input: &ConversionInput<'_>, tallies: &Tallies<'_>) -> Option<String> {
    let year = u128::from(tallies.days_in_year);
    let mut over: Vec<&str> = tallies
        .covered
        .iter()
        .zip(input.logements)
        .filter(|(days, _)| **days > year)
        .map(|(_, l)| l.rpls_id.as_str())
        .collect();
    (!over.is_empty()).then(|| {
        format!(
            "{} à plusieurs réservataires pour plus que l'année entière ({}) : chaque droit compte en entier et le logement ne laisse rien au flux non réservé ; vérifiez l'état des lieux",
            count(over.len() as u64, "logement est réservé", "logements sont réservés"),
            named(&mut over)
        )
    })
}

/// Segments holding rights whose rotation is zero: those rights weigh nothing in flux.
fn idle_segments(tallies: &Tallies<'_>) -> Option<String> {
    let mut idle: HashSet<usize> = HashSet::new();
    for parts in tallies.held.values() {
        idle.extend(parts.keys().filter(|&&s| tallies.rates[s] == 0));
    }
    let mut ids: Vec<&str> = idle
        .iter()
        .map(|&s| tallies.report.segments[s].id.as_str())
        .collect();
    (!ids.is_empty()).then(|| {
        format!(
            "{} aucune libération sur les années retenues ({}) : leur taux de rotation est nul et les droits qui y portent ne pèsent rien avec la méthode flux",
            count(ids.len() as u64, "segment réservé n'a", "segments réservés n'ont"),
            named(&mut ids)
        )
    })
}

fn named(ids: &mut Vec<&str>) -> String {
    ids.sort_unstable();
    ids.dedup();
    let mut text = ids
        .iter()
        .take(NAMED_IDS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > NAMED_IDS {
        text.push_str(", …");
    }
    text
}
