//! The assiette of a bailleur for year N (DESIGN §4.1), from the database or straight from the
//! bailleur's CSV files, and its French text table.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::NaiveDate;

use super::ServiceError;
use crate::domain::convention::Action;
use crate::domain::{ExclusionCategory, Logement, PlannedExclusion, Release, Siren};
use crate::flux::assiette::DEFAULT_LOOKBACK as LOOKBACK_YEARS;
use crate::flux::assiette::{
    AssietteError, AssietteInput, AssietteReport, assiette, french_decimal, lookback_years,
};
use crate::flux::segment::SegmentAxes;
use crate::import::{ImportBatch, ImportError, ImportKind, parse_file};
use crate::services::conventions::{Caller, Platform, allowed};
use crate::services::imported_cache::ImportedCache;
use crate::store::Repository;
use crate::store::conventions::ConventionSummary;

async fn known_bailleur(store: &dyn Repository, bailleur: &Siren) -> Result<(), ServiceError> {
    if store.bailleur(bailleur).await?.is_none() {
        return Err(ServiceError::NotFound(format!(
            "aucun bailleur de SIREN {bailleur} n'est connu de la plateforme : importez-le d'abord (fichier bailleurs)"
        )));
    }
    Ok(())
}

/// The assiette of `bailleur` for `year` from the stored patrimoine, releases of the `lookback`
/// years before `year` and exclusions planned for `year`.
#[tracing::instrument(skip_all, fields(bailleur = %bailleur, year))]
pub async fn compute(
    store: &dyn Repository,
    bailleur: &Siren,
    year: i32,
    lookback: u32,
    axes: SegmentAxes,
) -> Result<AssietteReport, ServiceError> {
    let years = lookback_years(year, lookback).map_err(invalid)?;
    known_bailleur(store, bailleur).await?;
    let logements = store.patrimoine(bailleur).await?;
    let (from, to) = window(&years);
    let releases = store.releases(bailleur, from, to).await?;
    let exclusions = store.planned_exclusions(bailleur, year).await?;
    assiette(&AssietteInput {
        year,
        lookback,
        axes,
        logements: &logements,
        releases: &releases,
        exclusions: &exclusions,
    })
    .map_err(invalid)
}

/// The assiette of a convention: `bailleur`'s dwellings in the communes of `epci` only, their
/// releases, and the exclusions planned in those communes. What the bailleur has or plans in
/// another EPCI's communes never enters it, so that nothing done for one EPCI changes another's
/// figures. A plan line without a commune means « every commune » of the convention, as it
/// always did; when the bailleur also has dwellings elsewhere, a warning asks for the commune
/// (such a line would otherwise be deducted in full in each EPCI).
#[tracing::instrument(skip_all, fields(bailleur = %bailleur, epci = %epci, year))]
pub async fn compute_for_epci(
    store: &dyn Repository,
    bailleur: &Siren,
    epci: &Siren,
    year: i32,
    lookback: u32,
    axes: SegmentAxes,
) -> Result<AssietteReport, ServiceError> {
    let years = lookback_years(year, lookback).map_err(invalid)?;
    known_bailleur(store, bailleur).await?;
    let communes: std::collections::HashSet<String> = store
        .communes_of_epci(epci)
        .await?
        .into_iter()
        .map(|c| c.insee.as_str().to_owned())
        .collect();
    let mut logements = store.patrimoine(bailleur).await?;
    let everywhere = logements.len();
    logements.retain(|l| communes.contains(l.commune.as_str()));
    let elsewhere = everywhere - logements.len();
    let inside: std::collections::HashSet<&str> =
        logements.iter().map(|l| l.rpls_id.as_str()).collect();
    let (from, to) = window(&years);
    let mut releases = store.releases(bailleur, from, to).await?;
    releases.retain(|r| inside.contains(r.rpls_id.as_str()));
    let mut exclusions = store.planned_exclusions(bailleur, year).await?;
    exclusions.retain(|x| {
        x.commune
            .as_ref()
            .is_none_or(|c| communes.contains(c.as_str()))
    });
    let without_commune = exclusions.iter().filter(|x| x.commune.is_none()).count();
    let mut report = assiette(&AssietteInput {
        year,
        lookback,
        axes,
        logements: &logements,
        releases: &releases,
        exclusions: &exclusions,
    })
    .map_err(invalid)?;
    if elsewhere > 0 && without_commune > 0 {
        report.warnings.insert(
            0,
            format!(
                "{} sur les seules communes de l'EPCI {epci}, alors que le bailleur a aussi {} hors de l'EPCI : qu'il précise la commune de chaque exclusion",
                crate::domain::text::count(
                    without_commune as u64,
                    "ligne d'exclusions sans commune est déduite",
                    "lignes d'exclusions sans commune sont déduites"
                ),
                crate::domain::text::count(elsewhere as u64, "logement", "logements")
            ),
        );
    }
    Ok(report)
}

/// The assiette of convention `id`, for one of its members: the convention's bailleur in the
/// communes of its EPCI, for its year, with the default segments. Computed once per data
/// revision; the convention's versions are not read.
pub async fn of_convention(
    p: &Platform,
    cache: &ImportedCache,
    caller: &Caller,
    id: i64,
) -> Result<(ConventionSummary, Arc<AssietteReport>), ServiceError> {
    let (convention, bailleur, epci, year) = convention_territory(p, caller, id).await?;
    let report = cache
        .assiette_for_epci(
            p.store.as_ref(),
            &bailleur,
            &epci,
            year,
            LOOKBACK_YEARS,
            SegmentAxes::default(),
        )
        .await?;
    Ok((convention, report))
}

/// Convention `id` as its member `caller` sees it, with its bailleur, its EPCI and its year
/// read from the stored row (a row that cannot be read is the store's fault, not the caller's).
///
/// # Errors
/// `NotFound` for a convention the caller is not a member of; `Store` for a corrupt row.
pub(crate) async fn convention_territory(
    p: &Platform,
    caller: &Caller,
    id: i64,
) -> Result<(ConventionSummary, Siren, Siren, i32), ServiceError> {
    allowed(p, caller, id, Action::Read).await?;
    let convention = p
        .store
        .conventions_of_user(caller.user.id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ServiceError::NotFound(format!("convention n° {id} introuvable")))?;
    let corrupt = |what: &str| {
        ServiceError::Store(crate::store::StoreError::Corrupt(format!(
            "{what} de la convention n° {id}"
        )))
    };
    let bailleur: Siren = convention
        .bailleur_siren
        .parse()
        .map_err(|_| corrupt("SIREN du bailleur"))?;
    let epci: Siren = convention
        .epci_siren
        .parse()
        .map_err(|_| corrupt("SIREN de l'EPCI"))?;
    let year = i32::try_from(convention.year).map_err(|_| corrupt("année"))?;
    Ok((convention, bailleur, epci, year))
}

/// The contents of a bailleur's files: `logements.csv` and `liberations.csv` are required,
/// `exclusions.csv` may be absent (no exclusion planned).
#[derive(Debug, Clone, Copy)]
pub struct PatrimoineCsv<'a> {
    pub logements: &'a [u8],
    pub liberations: &'a [u8],
    pub exclusions: Option<&'a [u8]>,
}

/// The assiette computed from the files alone, without a database: nothing is stored and the
/// references to the registries are not checked (releases of dwellings absent from
/// `logements.csv` are reported as warnings).
pub fn compute_from_csv(
    files: PatrimoineCsv<'_>,
    bailleur: &Siren,
    year: i32,
    lookback: u32,
    axes: SegmentAxes,
) -> Result<AssietteReport, ServiceError> {
    lookback_years(year, lookback).map_err(invalid)?;
    let logements: Vec<Logement> = match parse(ImportKind::Logements, files.logements, bailleur)? {
        ImportBatch::Logements(_, rows) => rows,
        _ => Vec::new(),
    };
    let releases: Vec<Release> = match parse(ImportKind::Liberations, files.liberations, bailleur)?
    {
        ImportBatch::Releases(_, rows) => rows,
        _ => Vec::new(),
    };
    let exclusions: Vec<PlannedExclusion> = match files.exclusions {
        Some(bytes) => match parse(ImportKind::Exclusions, bytes, bailleur)? {
            ImportBatch::Exclusions(_, rows) => rows,
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    let mut report = assiette(&AssietteInput {
        year,
        lookback,
        axes,
        logements: &logements,
        releases: &releases,
        exclusions: &exclusions,
    })
    .map_err(invalid)?;
    if files.exclusions.is_none() {
        report.warnings.insert(
            0,
            "pas de fichier exclusions.csv : aucune exclusion n'est déduite des libérations prévues"
                .into(),
        );
    }
    Ok(report)
}

fn parse(kind: ImportKind, bytes: &[u8], bailleur: &Siren) -> Result<ImportBatch, ServiceError> {
    parse_file(kind, bytes, Some(bailleur), &mut |_, _| {})
        .map(|parsed| parsed.batch)
        .map_err(|error| {
            let mut text = format!("{} : {error}", kind.file_name());
            if let ImportError::Rows { errors } = &error {
                for row in errors {
                    let _ = write!(text, "\n  - {row}");
                }
            }
            ServiceError::Invalid(text)
        })
}

fn invalid(error: AssietteError) -> ServiceError {
    ServiceError::Invalid(error.to_string())
}

/// 1 January of the first year to 31 December of the last.
pub(crate) fn window(years: &[i32]) -> (NaiveDate, NaiveDate) {
    let first = years.first().copied().unwrap_or_default();
    let last = years.last().copied().unwrap_or_default();
    (
        NaiveDate::from_ymd_opt(first, 1, 1).unwrap_or_default(),
        NaiveDate::from_ymd_opt(last, 12, 31).unwrap_or_default(),
    )
}

/// The report as a French text table: one line per segment, the totals, the exclusion rows
/// and the warnings.
pub fn french_table(report: &AssietteReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Assiette {} : segments {} (H : hors QPV, Q : en QPV)",
        report.year,
        report.axes.labels().join(" × ")
    );
    let _ = writeln!(
        out,
        "Historique des libérations : {} ; années retenues : {}",
        years_list(&report.lookback_years),
        years_list(&report.years_used)
    );
    out.push('\n');
    let categories: Vec<ExclusionCategory> = report.totals.exclusions.keys().copied().collect();
    let with_floor = !report.totals.floor_excess.is_zero();
    let mut header: Vec<String> = vec!["segment".into(), "logements".into(), "hors flux".into()];
    header.extend(report.years_used.iter().map(|y| format!("libér. {y}")));
    header.extend(["rotation".into(), "prévision".into()]);
    header.extend(categories.iter().map(|c| c.label().to_owned()));
    if with_floor {
        header.push("plancher".into());
    }
    header.extend(["net".into(), "flux".into()]);
    let mut lines = vec![header];
    for s in &report.segments {
        let mut line = vec![
            s.id.clone(),
            s.units.to_string(),
            s.outside_flux_units.to_string(),
        ];
        line.extend(s.releases.iter().map(|r| r.releases.to_string()));
        line.push(percent(s.rotation_rate));
        line.push(french_decimal(s.forecast_releases, 2));
        line.extend(
            categories
                .iter()
                .map(|c| french_decimal(s.exclusions.get(c).copied().unwrap_or_default(), 2)),
        );
        if with_floor {
            line.push(french_decimal(s.floor_excess, 2));
        }
        line.push(french_decimal(s.net, 2));
        line.push(s.flux.to_string());
        lines.push(line);
    }
    let t = &report.totals;
    let mut total = vec![
        "Total".into(),
        t.units.to_string(),
        t.outside_flux_units.to_string(),
    ];
    total.extend(t.releases.iter().map(|r| r.releases.to_string()));
    total.push(percent(t.rotation_rate));
    total.push(french_decimal(t.forecast_releases, 2));
    total.extend(
        categories
            .iter()
            .map(|c| french_decimal(t.exclusions.get(c).copied().unwrap_or_default(), 2)),
    );
    if with_floor {
        total.push(french_decimal(t.floor_excess, 2));
    }
    total.push(french_decimal(t.net, 2));
    total.push(t.flux.to_string());
    lines.push(total);
    write_columns(&mut out, &lines);
    out.push('\n');
    let _ = writeln!(
        out,
        "Flux {} : {} logements ({} segments). Prévision {} − exclusions {}{} = net {}, arrondi à l'unité la plus proche (moitié vers le haut) et réparti entre les segments par Sainte-Laguë{}.",
        report.year,
        t.flux,
        report.segments.len(),
        french_decimal(t.forecast_releases, 6),
        french_decimal(t.exclusions_total, 6),
        if with_floor {
            format!(" + plancher à zéro {}", french_decimal(t.floor_excess, 6))
        } else {
            String::new()
        },
        french_decimal(t.net, 6),
        report
            .divisor
            .map(|d| format!(
                " (diviseur {} : flux d'un segment = arrondi de net / diviseur)",
                d.to_string().replace('.', ",")
            ))
            .unwrap_or_default(),
    );
    let _ = writeln!(
        out,
        "Rotation : libérations des logements du flux / (logements × années), moyenne des taux annuels ; prévision = logements × rotation. Chiffres arrondis à 2 décimales ici, au millionième en JSON (--format json)."
    );
    if !report.exclusion_rows.is_empty() {
        let _ = writeln!(
            out,
            "\nExclusions prévues pour {} (réparties au prorata des libérations prévues des segments concernés) :",
            report.year
        );
        for row in &report.exclusion_rows {
            let outcome = if row.spread.is_zero() && row.count > 0 {
                "non déduite (voir les avertissements)".to_owned()
            } else {
                format!(
                    "répartie sur {}",
                    crate::domain::text::count(row.segments as u64, "segment", "segments")
                )
            };
            let _ = writeln!(
                out,
                "  n° {} {} — {} ({outcome})",
                row.row,
                row.description(),
                row.category.description()
            );
        }
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "\nAvertissements :");
        for warning in &report.warnings {
            let _ = writeln!(out, "  - {warning}");
        }
    }
    out
}

fn percent(rate: rust_decimal::Decimal) -> String {
    format!(
        "{} %",
        french_decimal(rate * rust_decimal::Decimal::ONE_HUNDRED, 2)
    )
}

fn years_list(years: &[i32]) -> String {
    years
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Columns padded to their widest cell: the first left-aligned, the others right-aligned.
pub(crate) fn write_columns(out: &mut String, lines: &[Vec<String>]) {
    let columns = lines.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .map(|l| l.get(c).map_or(0, |cell| cell.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in lines {
        let mut text = String::new();
        for (c, cell) in line.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            if c == 0 {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            } else {
                text.push_str("  ");
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
}
