//! Rapport: each breach in plain French with the parties' names, its article and the gap in
//! dwellings; the compromise in words and figures, party by party.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{blocking, french_decimal};
use crate::flux::row::RowId;
use crate::flux::scenario::RawSegment;
use crate::flux::solver::report::{CommitmentKind, Compromise, Violation};
use crate::flux::solver::stored::StoredReport;
use crate::policy::rules::Severity;
use crate::services::conventions::document::TypedDocument;

/// Names for the ids a report mentions: parties, segments and communes.
pub struct Names<'a> {
    pub parties: &'a HashMap<String, String>,
    pub communes: &'a HashMap<String, String>,
    pub segments: &'a [RawSegment],
}

impl Names<'_> {
    pub fn party(&self, id: &str) -> String {
        self.parties
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    pub fn commune(&self, code: &str) -> String {
        self.communes
            .get(code)
            .cloned()
            .unwrap_or_else(|| format!("commune {code}"))
    }

    /// « Villeurbanne, T3, hors QPV ».
    pub fn segment(&self, id: &str) -> String {
        self.segments.iter().find(|s| s.id == id).map_or_else(
            || id.to_owned(),
            |s| {
                let mut label = self.commune(&s.commune);
                if let Some(t) = &s.typology {
                    label.push_str(&format!(", {t}"));
                }
                label.push_str(if s.qpv { ", en QPV" } else { ", hors QPV" });
                label
            },
        )
    }

    /// A line of text with the segment ids of the convention in words.
    pub fn segments_in_words(&self, text: &str) -> String {
        let mut words: Vec<(String, String)> = self
            .segments
            .iter()
            .filter(|s| text.contains(s.id.as_str()))
            .map(|s| (s.id.clone(), self.segment(&s.id)))
            .collect();
        words.sort_by_key(|w| std::cmp::Reverse(w.0.len()));
        replace_ids(text, &words)
    }

    /// The message of a breach with names in place of the ids it quotes, and decimals with a
    /// comma.
    pub fn in_words(&self, v: &Violation) -> String {
        let mut words: Vec<(String, String)> = Vec::new();
        for id in &v.segments {
            words.push((id.clone(), self.segment(id)));
        }
        for id in &v.reservataires {
            words.push((id.clone(), self.party(id)));
        }
        for code in self.communes.keys() {
            words.push((code.clone(), self.commune(code)));
        }
        // The longest id first: `commune-69801` before the commune code `69801`.
        words.sort_by_key(|w| std::cmp::Reverse(w.0.len()));
        crate::domain::text::agree_units(&replace_ids(&v.message, &words))
    }
}

/// Replaces, in one pass, each occurrence of an id by its name, then writes decimal points
/// between digits as commas.
pub fn replace_ids(text: &str, words: &[(String, String)]) -> String {
    let out = crate::domain::text::replace_words(text, words);
    let chars: Vec<char> = out.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let digit_around = i > 0
                && chars[i - 1].is_ascii_digit()
                && chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if c == '.' && digit_around { ',' } else { c }
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct BreachLine {
    pub blocking: bool,
    pub text: String,
    pub parties: String,
    pub article: String,
    pub gap: String,
    pub rule: String,
}

pub fn breach_lines(report: &StoredReport, names: &Names<'_>) -> Vec<BreachLine> {
    report
        .violations
        .iter()
        .map(|v| BreachLine {
            blocking: v.severity == Severity::Bloquant,
            text: names.in_words(v),
            parties: v
                .reservataires
                .iter()
                .map(|r| names.party(r))
                .collect::<Vec<_>>()
                .join(", "),
            article: v.reference.clone(),
            gap: crate::domain::text::agree_units(&format!(
                "{} {}",
                french_decimal(&v.gap),
                v.unit
            )),
            rule: v.rule.clone(),
        })
        .collect()
}

/// The Rapport page: the breaches and the compromise of a version's report.
#[derive(Debug, Serialize, Default)]
pub struct ReportPage {
    pub breaches: Vec<BreachLine>,
    pub blocking: usize,
    pub warnings: usize,
    pub compromise: Vec<PartyChange>,
    pub has_compromise: bool,
    pub compromise_impossible: bool,
    pub table_error: String,
    /// The State's share of each commune's flux against its cap.
    pub state_chart: Option<crate::render::charts::Chart>,
    /// Each CIA objective against its target.
    pub objectives_chart: Option<crate::render::charts::Chart>,
}

/// The State's share (kinds `etat` and `etat_fonctionnaires`) of each commune's flux in the
/// table, in percent, against `cap`; `None` without a table or without the State.
pub fn state_by_commune(
    doc: &TypedDocument,
    names: &Names<'_>,
    cap: rust_decimal::Decimal,
) -> Option<crate::render::charts::Chart> {
    use crate::render::charts::{CommuneShare, state_share_by_commune};
    use rust_decimal::Decimal;
    let table = doc.report.table.as_ref()?;
    let state_rows: Vec<usize> = table
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            doc.scenario.reservataires.iter().any(|x| {
                use crate::domain::ReservataireKind as K;
                x.id == r.id && matches!(x.kind.parse::<K>(), Ok(K::Etat | K::EtatFonctionnaires))
            })
        })
        .map(|(i, _)| i)
        .collect();
    if state_rows.is_empty() {
        return None;
    }
    // commune -> (State's dwellings, all dwellings)
    let mut by_commune: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (j, column) in table.columns.iter().enumerate() {
        let Some(segment) = doc.scenario.segments.iter().find(|s| s.id == column.id) else {
            continue;
        };
        let entry = by_commune.entry(segment.commune.as_str()).or_default();
        entry.1 += column.total;
        entry.0 += state_rows
            .iter()
            .map(|&i| {
                table
                    .cells
                    .get(i)
                    .and_then(|r| r.get(j))
                    .copied()
                    .unwrap_or(0)
            })
            .sum::<u64>();
    }
    let communes: Vec<CommuneShare> = by_commune
        .into_iter()
        .filter(|(_, (_, all))| *all > 0)
        .map(|(code, (state, all))| CommuneShare {
            commune: names.commune(code),
            share: Decimal::from(state) * Decimal::ONE_HUNDRED / Decimal::from(all),
        })
        .collect();
    Some(state_share_by_commune("etat-par-commune", &communes, cap))
}

pub fn report_page(report: &StoredReport, names: &Names<'_>, yours: &str) -> ReportPage {
    let breaches = breach_lines(report, names);
    ReportPage {
        blocking: blocking(report),
        warnings: breaches.len() - blocking(report),
        has_compromise: report.compromise.is_some(),
        compromise: report
            .compromise
            .as_ref()
            .map(|c| compromise_by_party(c, names, yours))
            .unwrap_or_default(),
        compromise_impossible: report.compromise.is_none() && blocking(report) > 0,
        table_error: report.table_error.clone().unwrap_or_default(),
        breaches,
        state_chart: None,
        objectives_chart: None,
    }
}

#[derive(Debug, Serialize)]
pub struct PartyChange {
    pub name: String,
    pub yours: bool,
    pub lines: Vec<String>,
}

fn commitment_words(kind: CommitmentKind) -> &'static str {
    match kind {
        CommitmentKind::Priority => "l'engagement envers les ménages prioritaires",
        CommitmentKind::Q1HorsQpv => "l'engagement hors QPV envers le premier quartile",
        CommitmentKind::NonQ1Qpv => "l'engagement en QPV envers les autres quartiles",
    }
}

/// The dwellings a change of share from `from` % to `to` % moves on segments whose annual
/// flux adds up to `flux`, to the nearest dwelling (the table then apportions exactly).
fn dwellings_moved(from: &str, to: &str, flux: u64) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    let (from, to): (rust_decimal::Decimal, rust_decimal::Decimal) =
        (from.parse().ok()?, to.parse().ok()?);
    ((from - to) * rust_decimal::Decimal::from(flux) / rust_decimal::Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

/// « soit environ 12 logements de moins par an ».
fn dwellings_in_words(moved: i64) -> String {
    let n = moved.unsigned_abs();
    let plural = if n > 1 { "s" } else { "" };
    match moved.signum() {
        0 => ", soit moins d'un logement d'écart par an".to_owned(),
        1 => format!(", soit environ {n} logement{plural} de moins par an"),
        _ => format!(", soit environ {n} logement{plural} de plus par an"),
    }
}

/// The compromise party by party: « votre part passe de 35 % à 30 % (12 segments), soit
/// environ 45 logements de moins par an ».
pub fn compromise_by_party(
    compromise: &Compromise,
    names: &Names<'_>,
    yours: &str,
) -> Vec<PartyChange> {
    let flux_of = |segment: &str| {
        names
            .segments
            .iter()
            .find(|s| s.id == segment)
            .map_or(0, |s| s.flux)
    };
    // party -> (proposed, compromise) -> (segments, their annual flux)
    type Changes<'c> = BTreeMap<(&'c str, &'c str), (usize, u64)>;
    let mut shares: BTreeMap<&str, Changes<'_>> = BTreeMap::new();
    for s in &compromise.shares {
        let entry = shares
            .entry(s.reservataire.as_str())
            .or_default()
            .entry((s.proposed.as_str(), s.compromise.as_str()))
            .or_default();
        entry.0 += 1;
        entry.1 += flux_of(&s.segment);
    }
    let mut by_party: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (party, changes) in shares {
        let subject = if party == yours {
            "votre part".to_owned()
        } else {
            "sa part".to_owned()
        };
        for ((from, to), (segments, flux)) in changes {
            let moved =
                dwellings_moved(from, to, flux).map_or_else(String::new, dwellings_in_words);
            by_party.entry(party.to_owned()).or_default().push(format!(
                "{subject} passe de {} % à {} % ({segments} segment{}){moved}",
                french_decimal(from),
                french_decimal(to),
                if segments > 1 { "s" } else { "" }
            ));
        }
    }
    for c in &compromise.commitments {
        let party = match &c.reservataire {
            RowId::NonReserve => crate::flux::row::NON_RESERVE.to_owned(),
            RowId::Reservataire(id) => id.clone(),
        };
        let line = format!(
            "{} passe de {} % à {} %",
            commitment_words(c.commitment),
            french_decimal(&c.proposed),
            french_decimal(&c.compromise)
        );
        by_party.entry(party).or_default().push(line);
    }
    let mut out: Vec<PartyChange> = by_party
        .into_iter()
        .map(|(party, lines)| PartyChange {
            name: names.party(&party),
            yours: party == yours
                || (yours == "bailleur" && party == crate::flux::row::NON_RESERVE),
            lines: lines
                .iter()
                .map(|l| crate::domain::text::sentence(l))
                .collect(),
        })
        .collect();
    // The caller's own change first.
    out.sort_by_key(|c| !c.yours);
    out
}

#[cfg(test)]
mod tests {
    use super::{dwellings_in_words, dwellings_moved, replace_ids};

    #[test]
    fn a_change_of_share_is_said_in_dwellings() {
        // 35 % → 30 % of 900 dwellings a year: 45 dwellings fewer.
        assert_eq!(dwellings_moved("35", "30", 900), Some(45));
        // 25 % → 27,5 % of 101: 2,525 more, to the nearest: 3.
        assert_eq!(dwellings_moved("25", "27.5", 101), Some(-3));
        assert_eq!(dwellings_moved("beaucoup", "30", 10), None);
        assert_eq!(
            dwellings_in_words(45),
            ", soit environ 45 logements de moins par an"
        );
        assert_eq!(
            dwellings_in_words(-1),
            ", soit environ 1 logement de plus par an"
        );
        assert_eq!(
            dwellings_in_words(0),
            ", soit moins d'un logement d'écart par an"
        );
    }

    #[test]
    fn ids_become_names_longest_first_and_decimals_get_a_comma() {
        let words = vec![
            ("commune-69801".to_owned(), "Ville de Lyon".to_owned()),
            ("69801".to_owned(), "Lyon".to_owned()),
            ("etat".to_owned(), "Préfet du Rhône".to_owned()),
        ];
        assert_eq!(
            replace_ids("etat et commune-69801 : 35.5 % sur 69801.", &words),
            "Préfet du Rhône et Ville de Lyon : 35,5 % sur Lyon."
        );
    }
}
