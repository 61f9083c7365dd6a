//! The annexes: the état des lieux, the assiette per segment, the flux table with its
//! certificate, and one bilateral reservation convention per réservataire (RULES.md §5).

use std::collections::BTreeMap;

use super::articles::{common_articles, override_label};
use super::{
    Annex, Column, DocTable, SignatureSlot, Sources, basis_label, commitments_sentence,
    commune_label, integer, kind_label, party_label, rate_sentence, signatory_of,
};
use crate::flux::scenario::{RawReservataire, RawSegment};
use crate::render::pages::dates::french_datetime;

fn columns(labels: &[(&str, bool)]) -> Vec<Column> {
    labels
        .iter()
        .map(|(label, numeric)| Column {
            label: (*label).to_owned(),
            numeric: *numeric,
        })
        .collect()
}

fn annex(id: &str, number: &str, title: String) -> Annex {
    Annex {
        id: id.to_owned(),
        number: number.to_owned(),
        title,
        paragraphs: Vec::new(),
        tables: Vec::new(),
        articles: Vec::new(),
        signatures: Vec::new(),
        reservataire: None,
    }
}

fn qpv_label(qpv: bool) -> String {
    if qpv { "en QPV" } else { "hors QPV" }.to_owned()
}

fn typology_label(segment: &RawSegment) -> String {
    segment
        .typology
        .clone()
        .unwrap_or_else(|| "toutes".to_owned())
}

pub(super) fn etat_des_lieux(s: &Sources<'_>) -> Annex {
    let mut a = annex(
        "etat-des-lieux",
        "Annexe 1",
        "État des lieux des réservations en stock".into(),
    );
    match s.stock {
        Some(lines) if !lines.is_empty() => {
            a.paragraphs.push(
                "Logements du bailleur réservés en stock sur le territoire de l'EPCI, par réservataire, commune et typologie, d'après le fichier des réservations en stock déposé par le bailleur sur la plateforme. Cet état des lieux est lu dans la base au moment de l'édition du document : il éclaire la conversion des droits en taux mais n'est pas couvert par l'empreinte de la version.".into());
            let mut sorted: Vec<_> = lines.iter().collect();
            sorted.sort_by(|x, y| {
                (party_label(s, &x.reservataire), commune_label(s, &x.commune), &x.typology).cmp(&(
                    party_label(s, &y.reservataire),
                    commune_label(s, &y.commune),
                    &y.typology,
                ))
            });
            let total: u64 = lines.iter().map(|l| l.dwellings).sum();
            a.tables.push(DocTable {
                caption: "Droits de réservation en stock par réservataire, commune et typologie"
                    .into(),
                columns: columns(&[
                    ("Réservataire", false),
                    ("Commune", false),
                    ("Typologie", false),
                    ("Logements réservés", true),
                ]),
                rows: sorted
                    .into_iter()
                    .map(|l| {
                        vec![
                            party_label(s, &l.reservataire),
                            commune_label(s, &l.commune),
                            l.typology.clone(),
                            integer(l.dwellings),
                        ]
                    })
                    .collect(),
                total: Some(vec![
                    "Total".into(),
                    String::new(),
                    String::new(),
                    integer(total),
                ]),
            });
        }
        _ => a.paragraphs.push(
            "Aucun état des lieux des réservations en stock n'est enregistré sur la plateforme pour ce bailleur sur le territoire de l'EPCI : le bailleur ne l'a pas déposé. Les taux de l'article « Droits de réservation » sont ceux convenus entre les parties.".into(),
        ),
    }
    a
}

pub(super) fn assiette(s: &Sources<'_>) -> Annex {
    let mut a = annex(
        "assiette",
        "Annexe 2",
        "Assiette du flux par segment".into(),
    );
    let segments = &s.doc.scenario.segments;
    let total: u64 = segments.iter().map(|seg| seg.flux).sum();
    a.paragraphs.push(format!(
        "Provenance : assiette calculée par la plateforme pour l'année {} à partir des fichiers déposés par le bailleur (patrimoine, libérations des {} années précédentes, exclusions prévues) : pour chaque segment, le taux de rotation moyen appliqué aux logements du flux, moins les exclusions prévues (article R. 441-5). Ces segments sont ceux de la version scellée.",
        s.doc.scenario.year,
        crate::flux::assiette::DEFAULT_LOOKBACK
    ));
    a.tables.push(DocTable {
        caption: format!("Flux annuel par segment, année {}", s.doc.scenario.year),
        columns: columns(&[
            ("Segment", false),
            ("Commune", false),
            ("Typologie", false),
            ("Situation", false),
            ("Flux (logements)", true),
        ]),
        rows: segments
            .iter()
            .map(|seg| {
                vec![
                    seg.id.clone(),
                    commune_label(s, &seg.commune),
                    typology_label(seg),
                    qpv_label(seg.qpv),
                    integer(seg.flux),
                ]
            })
            .collect(),
        total: Some(vec![
            "Total".into(),
            String::new(),
            String::new(),
            String::new(),
            integer(total),
        ]),
    });
    a
}

pub(super) fn flux_table(s: &Sources<'_>) -> Annex {
    let mut a = annex(
        "tableau-des-flux",
        "Annexe 3",
        "Tableau des flux et son certificat".into(),
    );
    let Some(t) = s.doc.report.table.as_ref() else {
        a.paragraphs.push(format!(
            "Aucun tableau des flux n'a pu être établi pour cette version : {}",
            s.doc
                .report
                .table_error
                .as_deref()
                .unwrap_or("le solveur n'en a pas produit")
        ));
        return a;
    };
    a.paragraphs.push(format!(
        "Tableau établi sur {} par la méthode biproportionnelle décrite à l'article « Assiette et méthode » : chaque cellule est le nombre entier de logements du segment orienté vers la ligne ; les totaux de lignes et de colonnes sont respectés exactement. Certificat : chaque cellule est l'arrondi du poids de la cellule (flux du segment × taux de la ligne) divisé par le diviseur de sa ligne et par celui de sa colonne, donnés ci-dessous ; chacun peut ainsi recalculer le tableau. Les cellules à égalité exacte, départagées selon l'ordre des lignes, sont listées à la fin de l'annexe.",
        match t.based_on {
            crate::flux::solver::report::TableBasis::Proposals => "les propositions des parties",
            crate::flux::solver::report::TableBasis::Compromise => "le compromis proposé par le solveur",
        }
    ));
    if !t.method.trim().is_empty() {
        a.paragraphs.push(format!(
            "Méthode de calcul, telle que le solveur l'a appliquée : {}.",
            t.method.trim().trim_end_matches('.')
        ));
    }
    a.tables.push(DocTable {
        caption: "Totaux et diviseurs des lignes".into(),
        columns: columns(&[("Ligne", false), ("Logements", true), ("Diviseur", true)]),
        rows: t
            .rows
            .iter()
            .zip(&t.row_divisors)
            .map(|(row, divisor)| {
                vec![party_label(s, &row.id), integer(row.total), divisor.clone()]
            })
            .collect(),
        total: Some(vec![
            "Total".into(),
            integer(t.rows.iter().map(|r| r.total).sum()),
            String::new(),
        ]),
    });
    let segments: BTreeMap<&str, &RawSegment> = s
        .doc
        .scenario
        .segments
        .iter()
        .map(|seg| (seg.id.as_str(), seg))
        .collect();
    a.tables.push(DocTable {
        caption: "Totaux et diviseurs des colonnes (segments)".into(),
        columns: columns(&[
            ("Segment", false),
            ("Commune", false),
            ("Typologie", false),
            ("Logements", true),
            ("Diviseur", true),
        ]),
        rows: t
            .columns
            .iter()
            .zip(&t.column_divisors)
            .map(|(col, divisor)| {
                let seg = segments.get(col.id.as_str());
                vec![
                    col.id.clone(),
                    seg.map_or_else(String::new, |seg| commune_label(s, &seg.commune)),
                    seg.map_or_else(String::new, |seg| {
                        format!("{}, {}", typology_label(seg), qpv_label(seg.qpv))
                    }),
                    integer(col.total),
                    divisor.clone(),
                ]
            })
            .collect(),
        total: None,
    });
    // Ties, compactly: one line per row and (retained value, alternative).
    let mut groups: BTreeMap<(usize, u64, u64), Vec<&str>> = BTreeMap::new();
    for tie in t.ties() {
        let row = t.row_index(tie.row).unwrap_or(usize::MAX);
        groups
            .entry((row, tie.value, tie.alternative))
            .or_default()
            .push(tie.column);
    }
    if groups.is_empty() {
        a.paragraphs
            .push("Égalités : aucune cellule n'était à égalité exacte.".into());
    } else {
        a.tables.push(DocTable {
            caption: "Égalités départagées par l'ordre des lignes (segments désignés par leur code, détaillé dans le tableau des colonnes)".into(),
            columns: columns(&[
                ("Ligne", false),
                ("Valeur retenue", true),
                ("Autre valeur possible", true),
                ("Segments", false),
            ]),
            rows: groups
                .into_iter()
                .map(|((row, value, alternative), cols)| {
                    vec![
                        t.rows
                            .get(row)
                            .map_or_else(String::new, |r| party_label(s, &r.id)),
                        integer(value),
                        integer(alternative),
                        cols.join(", "),
                    ]
                })
                .collect(),
            total: None,
        });
    }
    a
}

/// « réservataire (commune) », or « réservataire » alone when the name already says what kind
/// it is (« Action Logement Services », « État – contingent préfectoral »).
fn reservataire_kind(r: &RawReservataire) -> String {
    let words = |text: &str| -> String {
        text.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let kind = kind_label(&r.kind);
    if words(&r.name).contains(&words(kind)) {
        "réservataire".to_owned()
    } else {
        format!("réservataire ({kind})")
    }
}

/// The bilateral reservation convention of réservataire `r` (its `n`-th row), readable alone.
pub(super) fn bilateral(s: &Sources<'_>, r: &RawReservataire, n: usize) -> Annex {
    let mut a = annex(
        &r.id,
        &format!("Annexe 4.{n}"),
        format!(
            "Convention de réservation entre {} et {}",
            s.doc.bailleur.name, r.name
        ),
    );
    a.reservataire = Some(r.id.clone());
    let year = s.doc.scenario.year;
    let total = s.doc.report.table.as_ref().and_then(|t| t.row_total(&r.id));
    a.paragraphs.push(format!(
        "Entre {} (SIREN {}), bailleur social, et {}, {}, il est convenu ce qui suit en application de l'article R. 441-5 du code de la construction et de l'habitation. La présente annexe de la convention unique n° {} (version n° {}, empreinte SHA-256 {}) vaut convention de réservation entre ces deux parties ; elle se suffit à elle-même et demeure valable quel que soit le sort de l'expérimentation.",
        s.doc.bailleur.name,
        s.doc.bailleur.siren,
        r.name,
        reservataire_kind(r),
        s.doc.convention,
        s.doc.number,
        s.hash
    ));
    let mut rate = format!(
        "Droit de réservation, en contrepartie de : {} — taux de {}",
        basis_label(&r.basis),
        rate_sentence(s, r)
    );
    if !r.overrides.is_empty() {
        rate.push_str(&format!(
            " ; taux particuliers : {}",
            r.overrides
                .iter()
                .map(|o| override_label(s, o))
                .collect::<Vec<_>>()
                .join(" ; ")
        ));
    }
    match total {
        Some(t) => rate.push_str(&format!(
            ", soit {} pour l'année {year}, répartis par segment dans le tableau ci-dessous.",
            super::counted(t, "logement", "logements")
        )),
        None => rate.push('.'),
    }
    a.paragraphs.push(rate);
    a.paragraphs.push(format!(
        "Engagements d'attribution du réservataire (article L. 441-1) : {}.",
        commitments_sentence(&r.commitments)
    ));
    if let Some(t) = s.doc.report.table.as_ref() {
        let mut rows: Vec<(String, String, bool, &str, u64, u64)> = s
            .doc
            .scenario
            .segments
            .iter()
            .filter_map(|seg| {
                let cell = t.cell(&r.id, &seg.id)?;
                (cell > 0).then(|| {
                    (
                        commune_label(s, &seg.commune),
                        typology_label(seg),
                        seg.qpv,
                        seg.id.as_str(),
                        seg.flux,
                        cell,
                    )
                })
            })
            .collect();
        rows.sort();
        a.tables.push(DocTable {
            caption: format!(
                "Logements orientés vers {} en {year}, par commune et typologie",
                r.name
            ),
            columns: columns(&[
                ("Commune", false),
                ("Typologie", false),
                ("Situation", false),
                ("Segment", false),
                ("Flux du segment", true),
                ("Logements du réservataire", true),
            ]),
            rows: rows
                .into_iter()
                .map(|(commune, typology, qpv, id, flux, cell)| {
                    vec![
                        commune,
                        typology,
                        qpv_label(qpv),
                        id.to_owned(),
                        integer(flux),
                        integer(cell),
                    ]
                })
                .collect(),
            total: Some(vec![
                "Total".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                integer(total.unwrap_or(0)),
            ]),
        });
    }
    a.articles = common_articles(s);
    a.signatures = ["bailleur", r.id.as_str()]
        .into_iter()
        .map(|party| {
            let (signatory, mandate) = signatory_of(s, party);
            let signed_at = s
                .signatures
                .iter()
                .find(|g| g.record.party == party)
                .map_or_else(String::new, |g| french_datetime(&g.record.signed_at));
            SignatureSlot {
                party: if party == "bailleur" {
                    s.doc.bailleur.name.clone()
                } else {
                    r.name.clone()
                },
                signatory,
                mandate,
                signed_at,
            }
        })
        .collect();
    a
}
