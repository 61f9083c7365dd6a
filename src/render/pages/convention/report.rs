//! Rapport: each breach in plain French with the parties' names, its article and the gap in
//! dwellings; the compromise in words and figures, party by party.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{SolverReport, StoredViolation, french_decimal};
use crate::flux::row::RowId;
use crate::flux::scenario::RawSegment;
use crate::flux::solver::report::{CommitmentKind, Compromise};

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
    pub fn in_words(&self, v: &StoredViolation) -> String {
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
        replace_ids(&v.message, &words)
    }
}

/// Replaces, in one pass, each occurrence of an id by its name, then writes decimal points
/// between digits as commas.
pub fn replace_ids(text: &str, words: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (id, name) in words {
            if !id.is_empty() && rest.starts_with(id.as_str()) {
                out.push_str(name);
                rest = &rest[id.len()..];
                continue 'scan;
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
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

pub fn breach_lines(report: &SolverReport, names: &Names<'_>) -> Vec<BreachLine> {
    report
        .violations
        .iter()
        .map(|v| BreachLine {
            blocking: v.blocking(),
            text: names.in_words(v),
            parties: v
                .reservataires
                .iter()
                .map(|r| names.party(r))
                .collect::<Vec<_>>()
                .join(", "),
            article: v.reference.clone(),
            gap: format!("{} {}", french_decimal(&v.gap), v.unit),
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
    doc: &crate::services::conventions::document::VersionDocument,
    report: &SolverReport,
    names: &Names<'_>,
    cap: rust_decimal::Decimal,
) -> Option<crate::render::charts::Chart> {
    use crate::render::charts::{CommuneShare, state_share_by_commune};
    use rust_decimal::Decimal;
    let table = report.table.as_ref()?;
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

pub fn report_page(report: &SolverReport, names: &Names<'_>, yours: &str) -> ReportPage {
    let breaches = breach_lines(report, names);
    ReportPage {
        blocking: report.blocking(),
        warnings: breaches.len() - report.blocking(),
        has_compromise: report.compromise.is_some(),
        compromise: report
            .compromise
            .as_ref()
            .map(|c| compromise_by_party(c, names, yours))
            .unwrap_or_default(),
        compromise_impossible: report.compromise.is_none() && report.blocking() > 0,
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

/// The compromise party by party: « votre part passe de 35 % à 30 % ».
pub fn compromise_by_party(
    compromise: &Compromise,
    names: &Names<'_>,
    yours: &str,
) -> Vec<PartyChange> {
    // party -> (proposed, compromise) -> segments
    let mut shares: BTreeMap<&str, BTreeMap<(&str, &str), usize>> = BTreeMap::new();
    for s in &compromise.shares {
        *shares
            .entry(s.reservataire.as_str())
            .or_default()
            .entry((s.proposed.as_str(), s.compromise.as_str()))
            .or_default() += 1;
    }
    let mut by_party: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (party, changes) in shares {
        let subject = if party == yours {
            "votre part".to_owned()
        } else {
            "sa part".to_owned()
        };
        for ((from, to), segments) in changes {
            by_party.entry(party.to_owned()).or_default().push(format!(
                "{subject} passe de {} % à {} % ({segments} segment{})",
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
            lines,
        })
        .collect();
    // The caller's own change first.
    out.sort_by_key(|c| !c.yours);
    out
}

#[cfg(test)]
mod tests {
    use super::replace_ids;

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
