//! « D'où vient ma part » (`/conventions/{id}/ma-part`): the conversion of the bailleur's état
//! des lieux (DESIGN §4.5) as a réservataire reads it — its stock rights by commune and
//! typology, the rights ending this year, its rate with both methods and what separates them in
//! dwellings — or, for the secretariat and the bailleur, every party side by side. The figures
//! are the service's (`services::conversion::of_convention`), only put into words here.

use std::collections::BTreeMap;

use chrono::Datelike;
use rust_decimal::Decimal;
use serde::Serialize;

use super::report::Names;
use crate::flux::assiette::{french_decimal, years_text};
use crate::flux::conversion::{Conversion, Method, ReservataireConversion, RightDetail};
use crate::render::charts::french_integer;

/// Who reads the page: a réservataire sees its own part, anyone else every party.
pub enum Reader<'a> {
    Party { id: &'a str, name: String },
    Everyone,
}

#[derive(Debug, Default, Serialize)]
pub struct SharePage {
    /// What prevents the conversion, in a sentence; nothing else is shown then.
    pub error: Option<String>,
    pub year: i32,
    pub years: String,
    /// The method the sentences lead with (`?methode=`).
    pub method: &'static str,
    pub flux_chosen: bool,
    /// Years of releases the rotation rates are averaged over (`?annees=`).
    pub lookback: u32,
    /// The choices of the look-back form: 1 to 10 years, the current one selected.
    pub lookbacks: Vec<LookbackChoice>,
    pub own: Option<OwnShare>,
    /// The réservataire holds no right: its part starts at 0.
    pub no_right: Option<String>,
    pub parties: Vec<PartyLine>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct LookbackChoice {
    pub value: u32,
    pub label: String,
    pub selected: bool,
}

/// The look-back form's choices, `lookback` selected.
pub fn lookback_choices(lookback: u32) -> Vec<LookbackChoice> {
    (1..=crate::flux::assiette::MAX_LOOKBACK)
        .map(|n| LookbackChoice {
            value: n,
            label: if n == 1 {
                "la dernière année".into()
            } else if n == crate::flux::assiette::DEFAULT_LOOKBACK {
                format!("les {n} dernières années (par défaut)")
            } else {
                format!("les {n} dernières années")
            },
            selected: n == lookback,
        })
        .collect()
}

#[derive(Debug, Default, Serialize)]
pub struct OwnShare {
    pub name: String,
    pub dwellings: u64,
    pub flux_equivalent: String,
    pub lead: String,
    pub other: String,
    pub difference: String,
    pub segments: Vec<SegmentLine>,
    pub ending: Vec<EndingLine>,
    pub ending_count: usize,
}

#[derive(Debug, Serialize)]
pub struct SegmentLine {
    pub commune: String,
    pub typology: String,
    pub dwellings: u64,
    pub weighted: String,
    pub flux_equivalent: String,
}

#[derive(Debug, Serialize)]
pub struct EndingLine {
    pub rpls_id: String,
    pub place: String,
    pub basis: String,
    pub end_date: String,
    pub weight: String,
}

#[derive(Debug, Serialize)]
pub struct PartyLine {
    pub name: String,
    pub dwellings: String,
    pub flux_equivalent: String,
    pub rate_flux: String,
    pub rate_stock: String,
    pub difference: String,
}

/// The page from the two conversions of the same convention (`flux`, `stock`).
pub fn share_page(
    flux: &Conversion,
    stock: &Conversion,
    reader: &Reader<'_>,
    names: &Names<'_>,
    method: Method,
) -> SharePage {
    let mut page = SharePage {
        year: flux.year,
        years: years_text(&flux.years_used),
        method: method.label(),
        flux_chosen: method == Method::Flux,
        lookback: flux.lookback,
        lookbacks: lookback_choices(flux.lookback),
        warnings: flux
            .warnings
            .iter()
            .map(|w| warning_in_words(w, flux, names))
            .collect(),
        ..SharePage::default()
    };
    match reader {
        Reader::Party { id, name } => match find(flux, id).zip(find(stock, id)) {
            Some((f, s)) => page.own = Some(own_share(f, s, name, names, flux.year, method)),
            None => page.no_right = Some(no_right(flux)),
        },
        Reader::Everyone if flux.reservataires.is_empty() => page.no_right = Some(no_stock()),
        Reader::Everyone => page.parties = party_lines(flux, stock, names),
    }
    page
}

/// A warning of the conversion in words: each segment id (every segment of the conversion,
/// those without a flux included) as « T3 hors QPV à Valmont-sur-Saône », and the réservataire
/// a warning opens with (`etat : …`) by its name.
pub fn warning_in_words(warning: &str, c: &Conversion, names: &Names<'_>) -> String {
    let mut words: Vec<(String, String)> = c
        .segments
        .iter()
        .filter(|s| warning.contains(s.id.as_str()))
        .map(|s| (s.id.clone(), segment_words(&s.id, names)))
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.0.len()));
    let text = super::report::replace_ids(warning, &words);
    match c
        .reservataires
        .iter()
        .find(|r| text.starts_with(&format!("{} : ", r.id)))
    {
        Some(r) => format!("{}{}", names.party(&r.id), &text[r.id.len()..]),
        None => text,
    }
}

/// « T3 hors QPV à Valmont-sur-Saône », « en QPV à Bellecombe-les-Vignes » (no typology axis).
pub fn segment_words(segment: &str, names: &Names<'_>) -> String {
    let (commune, _, _) = segment_parts(segment);
    crate::flux::segment::id_in_words(segment, &names.commune(commune))
}

/// The page when no conversion can be computed: `why`, as a sentence.
pub fn failed_page(why: &str, method: Method, lookback: u32) -> SharePage {
    SharePage {
        lookback,
        lookbacks: lookback_choices(lookback),
        error: Some(crate::domain::text::sentence(&format!(
            "Votre part ne peut pas encore être calculée : {why}"
        ))),
        method: method.label(),
        flux_chosen: method == Method::Flux,
        ..SharePage::default()
    }
}

fn find<'c>(c: &'c Conversion, id: &str) -> Option<&'c ReservataireConversion> {
    c.reservataires.iter().find(|r| r.id == id)
}

fn no_stock() -> String {
    "Aucun droit en stock n'est enregistré pour le bailleur de cette convention : l'état des lieux des réservations (fichier reservations_stock.csv) n'a pas encore été importé.".into()
}

fn no_right(flux: &Conversion) -> String {
    if flux.reservataires.is_empty() {
        return no_stock();
    }
    format!(
        "L'état des lieux du bailleur ne vous attribue aucun droit en stock qui court encore en {} : votre part de départ est de 0 %.",
        flux.year
    )
}

fn own_share(
    f: &ReservataireConversion,
    s: &ReservataireConversion,
    name: &str,
    names: &Names<'_>,
    year: i32,
    method: Method,
) -> OwnShare {
    let flux_sentence = rate_sentence(Method::Flux, f, f.rate, method == Method::Flux);
    let stock_sentence = rate_sentence(Method::Stock, f, s.rate, method == Method::Stock);
    let (lead, other) = match method {
        Method::Flux => (flux_sentence, stock_sentence),
        Method::Stock => (stock_sentence, flux_sentence),
    };
    let ending = ending_lines(&f.rights, names, year);
    OwnShare {
        name: name.to_owned(),
        dwellings: f.dwellings,
        flux_equivalent: french_decimal(f.flux_equivalent, 2),
        lead,
        other,
        difference: difference_sentence(per_year(f, s.rate) - per_year(f, f.rate)),
        segments: segment_lines(&f.rights, names),
        ending_count: ending.len(),
        ending,
    }
}

/// Dwellings a year that `rate` (percent of the scope) gives: the scope's flux-equivalent is the
/// dwellings released there each year.
fn per_year(f: &ReservataireConversion, rate: Decimal) -> Decimal {
    rate * f.scope_total / Decimal::ONE_HUNDRED
}

fn rate_sentence(m: Method, f: &ReservataireConversion, rate: Decimal, chosen: bool) -> String {
    let verb = if chosen { "est" } else { "serait" };
    let scope = match f.scope.as_deref() {
        None => "du flux annuel",
        Some(_) => "du flux annuel de votre territoire",
    };
    format!(
        "Avec la méthode {}, votre part de départ {verb} de {} % {scope}, soit environ {} par an.",
        m.label(),
        french_decimal(rate, 2),
        dwellings_words(per_year(f, rate)),
    )
}

fn rounded(value: Decimal) -> i64 {
    value
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .try_into()
        .unwrap_or(0)
}

fn dwellings_words(value: Decimal) -> String {
    let n = rounded(value);
    let word = if n.abs() > 1 { "logements" } else { "logement" };
    format!("{} {word}", french_integer(n))
}

/// What the stock method gives more (or less) than the flux method, `gap` dwellings a year.
fn difference_sentence(gap: Decimal) -> String {
    let n = rounded(gap);
    match n {
        0 => "Les deux méthodes vous donnent à peu près le même nombre de logements chaque année (moins d'un logement d'écart).".into(),
        n if n > 0 => format!(
            "La méthode stock vous donnerait environ {} de plus par an que la méthode flux : vos logements se libèrent moins souvent que la moyenne.",
            dwellings_words(gap)
        ),
        _ => format!(
            "La méthode stock vous donnerait environ {} de moins par an que la méthode flux : vos logements se libèrent plus souvent que la moyenne.",
            dwellings_words(-gap)
        ),
    }
}

/// The commune code, the typology and the QPV flag of a segment id (`69123-T3-H`).
pub fn segment_parts(id: &str) -> (&str, &str, bool) {
    crate::flux::segment::id_parts(id)
}

fn segment_lines(rights: &[RightDetail], names: &Names<'_>) -> Vec<SegmentLine> {
    let mut sums: BTreeMap<(String, String), (u64, Decimal, Decimal)> = BTreeMap::new();
    for r in rights {
        let (commune, typology, _) = segment_parts(&r.segment);
        let sum = sums
            .entry((names.commune(commune), typology.to_owned()))
            .or_default();
        sum.0 += 1;
        sum.1 += r.weight;
        sum.2 += r.flux_equivalent;
    }
    sums.into_iter()
        .map(|((commune, typology), (n, weighted, flux))| SegmentLine {
            commune,
            typology,
            dwellings: n,
            weighted: french_decimal(weighted, 2),
            flux_equivalent: french_decimal(flux, 2),
        })
        .collect()
}

fn ending_lines(rights: &[RightDetail], names: &Names<'_>, year: i32) -> Vec<EndingLine> {
    rights
        .iter()
        .filter_map(|r| Some((r, r.end_date.filter(|d| d.year() == year)?)))
        .map(|(r, end)| EndingLine {
            rpls_id: r.rpls_id.clone(),
            place: place(&r.segment, names),
            basis: basis_words(&r.basis).to_owned(),
            end_date: end.format("%d/%m/%Y").to_string(),
            weight: format!("{} %", french_decimal(r.weight * Decimal::ONE_HUNDRED, 1)),
        })
        .collect()
}

/// « Valmont-sur-Saône, T3, hors QPV ».
pub fn place(segment: &str, names: &Names<'_>) -> String {
    let (commune, typology, qpv) = segment_parts(segment);
    format!(
        "{}, {typology}, {}",
        names.commune(commune),
        if qpv { "en QPV" } else { "hors QPV" }
    )
}

/// A basis of the files in words.
pub fn basis_words(basis: &str) -> &str {
    match basis {
        "garantie_emprunt" => "garantie d'emprunt",
        "apport_terrain" => "apport de terrain",
        "contingent_prefectoral" => "contingent préfectoral",
        "action_logement" => "Action Logement",
        other => other,
    }
}

fn party_lines(flux: &Conversion, stock: &Conversion, names: &Names<'_>) -> Vec<PartyLine> {
    let mut lines: Vec<PartyLine> = flux
        .reservataires
        .iter()
        .map(|f| {
            let stock_rate = find(stock, &f.id).map_or(Decimal::ZERO, |s| s.rate);
            PartyLine {
                name: names.party(&f.id),
                dwellings: french_integer(i64::try_from(f.dwellings).unwrap_or(i64::MAX)),
                flux_equivalent: french_decimal(f.flux_equivalent, 2),
                rate_flux: format!("{} %", french_decimal(f.rate, 2)),
                rate_stock: format!("{} %", french_decimal(stock_rate, 2)),
                difference: signed(per_year(f, stock_rate) - per_year(f, f.rate)),
            }
        })
        .collect();
    let (n, s) = (&flux.non_reserve, &stock.non_reserve);
    let total = flux.total_flux_equivalent / Decimal::ONE_HUNDRED;
    lines.push(PartyLine {
        name: names.party(crate::flux::row::NON_RESERVE),
        dwellings: french_integer(i64::try_from(n.dwellings).unwrap_or(i64::MAX)),
        flux_equivalent: french_decimal(n.flux_equivalent, 2),
        rate_flux: format!("{} %", french_decimal(n.rate, 2)),
        rate_stock: format!("{} %", french_decimal(s.rate, 2)),
        difference: signed((s.rate - n.rate) * total),
    });
    lines
}

/// « +10,6 », « −2,5 », « 0,0 » dwellings a year (one decimal: the gaps are often small).
fn signed(gap: Decimal) -> String {
    let tenths =
        gap.round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let words = french_decimal(tenths.abs(), 1);
    if tenths > Decimal::ZERO {
        format!("+{words}")
    } else if tenths < Decimal::ZERO {
        format!("−{words}")
    } else {
        words
    }
}

/// The CSV of `rights` (one line per right, so per dwelling of a party), French headers, `;`.
pub fn rights_csv(rights: &[(&str, &RightDetail)], names: &Names<'_>) -> Vec<u8> {
    use crate::render::exports::csv_line;
    let mut out = String::new();
    csv_line(
        &mut out,
        &[
            "logement (RPLS)",
            "réservataire",
            "commune",
            "typologie",
            "QPV",
            "fondement",
            "date de fin",
            "poids dans l'année",
            "flux-équivalent",
        ],
    );
    for (party, r) in rights {
        let (commune, typology, qpv) = segment_parts(&r.segment);
        let end = r
            .end_date
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_default();
        csv_line(
            &mut out,
            &[
                &r.rpls_id,
                &names.party(party),
                &names.commune(commune),
                typology,
                if qpv { "oui" } else { "non" },
                basis_words(&r.basis),
                &end,
                &french_decimal(r.weight, 6),
                &french_decimal(r.flux_equivalent, 6),
            ],
        );
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn empty_conversion() -> Conversion {
        Conversion {
            year: 2027,
            method: Method::Flux,
            lookback: 3,
            reservataires: vec![],
            non_reserve: crate::flux::conversion::NonReserveConversion {
                dwellings: 10,
                weighted_dwellings: dec("10"),
                flux_equivalent: dec("0.8"),
                rate: dec("100.00"),
                segments: vec![],
            },
            warnings: vec![],
            years_used: vec![2024, 2025, 2026],
            days_in_year: 365,
            total_weighted_dwellings: dec("10"),
            total_flux_equivalent: dec("0.8"),
            segments: vec![],
        }
    }

    /// The page's context as the workspace frame gives it to the template.
    fn rendered(data: &SharePage) -> String {
        let context = serde_json::json!({
            "title": "D'où vient ma part — Convention", "session": null,
            "flash": {"message": null, "error": null, "warning": null},
            "ws": {"id": 1, "title": "Convention", "page": "D'où vient ma part",
                   "state": "en concertation", "you": "secrétariat de la CIL", "version": null,
                   "locked": false, "menu": [], "csrf": "jeton", "can": {}},
            "data": data,
        });
        crate::render::Templates::new()
            .unwrap()
            .render("convention/share", &context)
            .unwrap()
            .replace("&#x27;", "'")
    }

    #[test]
    fn without_stock_or_releases_the_page_says_why() {
        let (parties, communes) = (Default::default(), Default::default());
        let names = Names {
            parties: &parties,
            communes: &communes,
            segments: &[],
        };
        let c = empty_conversion();
        for reader in [
            Reader::Everyone,
            Reader::Party {
                id: "etat",
                name: "État".into(),
            },
        ] {
            let page = share_page(&c, &c, &reader, &names, Method::Flux);
            assert!(page.own.is_none() && page.parties.is_empty());
            let html = rendered(&page);
            assert!(html.contains("n'a pas encore été importé."), "{html}");
        }
        let page = failed_page(
            "aucune libération enregistrée pour les années 2032, 2033 et 2034",
            Method::Stock,
            3,
        );
        let html = rendered(&page);
        assert!(html.contains(
            "Votre part ne peut pas encore être calculée : aucune libération enregistrée pour les années 2032, 2033 et 2034."
        ), "{html}");
        assert!(!html.contains("Méthode mise en avant"));
    }

    #[test]
    fn warnings_name_segments_and_holders_in_words() {
        let parties = [(
            "etat".to_owned(),
            "État – contingent préfectoral".to_owned(),
        )]
        .into_iter()
        .collect();
        let communes = [
            ("69801".to_owned(), "Valmont-sur-Saône".to_owned()),
            ("69802".to_owned(), "Bellecombe".to_owned()),
        ]
        .into_iter()
        .collect();
        // The segments of the conversion, not only those of the convention's scenario.
        let names = Names {
            parties: &parties,
            communes: &communes,
            segments: &[],
        };
        let mut c = empty_conversion();
        for id in ["69801-T3-H", "69801-T3-Q", "69802-Q"] {
            c.segments.push(crate::flux::conversion::SegmentRotation {
                id: id.into(),
                units: 1,
                releases: vec![],
                rotation_rate: Decimal::ZERO,
            });
        }
        c.reservataires
            .push(crate::flux::conversion::ReservataireConversion {
                id: "etat".into(),
                scope: None,
                dwellings: 1,
                weighted_dwellings: Decimal::ONE,
                flux_equivalent: Decimal::ZERO,
                rate: Decimal::ZERO,
                rate_of_whole_flux: Decimal::ZERO,
                scope_total: Decimal::ONE,
                segments: vec![],
                rights: vec![],
            });
        assert_eq!(
            warning_in_words(
                "2 segment(s) réservés n'ont aucune libération sur les années retenues (69801-T3-Q, 69802-Q) : leur taux de rotation est nul",
                &c,
                &names
            ),
            "2 segment(s) réservés n'ont aucune libération sur les années retenues (T3 en QPV à Valmont-sur-Saône, en QPV à Bellecombe) : leur taux de rotation est nul"
        );
        assert_eq!(
            warning_in_words(
                "etat : 3 droit(s) portent sur des logements hors de son territoire",
                &c,
                &names
            ),
            "État – contingent préfectoral : 3 droit(s) portent sur des logements hors de son territoire"
        );
        // An id inside a word is left alone: only a warning's opening names a holder.
        assert_eq!(
            warning_in_words("segment 69801-T3-H : rien à déduire (etat)", &c, &names),
            "segment T3 hors QPV à Valmont-sur-Saône : rien à déduire (etat)"
        );
    }

    #[test]
    fn segment_ids_split_into_commune_typology_and_qpv() {
        assert_eq!(segment_parts("69801-T3-H"), ("69801", "T3", false));
        assert_eq!(segment_parts("69801-T6+-Q"), ("69801", "T6+", true));
        assert_eq!(segment_parts("69801-Q"), ("69801", "toutes", true));
    }

    #[test]
    fn differences_are_said_in_dwellings() {
        assert!(difference_sentence(dec("10.6")).contains("environ 11 logements de plus"));
        assert!(difference_sentence(dec("-1.2")).contains("environ 1 logement de moins"));
        assert!(difference_sentence(dec("0.4")).contains("à peu près le même"));
        assert_eq!(signed(dec("-2.45")), "−2,5");
        assert_eq!(signed(dec("10.64")), "+10,6");
        assert_eq!(signed(dec("0.04")), "0,0");
    }
}
