//! The CIL's view (issue 20, item 4): every bailleur's convention on the EPCI for a year, its
//! state and flux, its forecast contribution to each objective of the CIA (commitments × flux
//! table), and the EPCI-wide coherence — all bailleurs together against each objective, with
//! the shortfall in households and the réservataires whose commitments could close it.
//!
//! A forecast is Σ over the rows of a convention's flux table of commitment × dwellings / 100:
//! outside QPV for the first quartile, in QPV for the other quartiles, all the row's dwellings
//! for the priority households (RULES.md §4). The conventions are read from their current
//! version; what the view needs of a version is kept by its hash (a version never changes).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ServiceError;
use super::cia::{CiaVersion, current, require_read};
use super::conventions::{Caller, Platform};
use crate::domain::Siren;
use crate::domain::convention::ConventionState;
use crate::domain::text::parse_percent;
use crate::flux::solver::report::two_places;
use crate::store::StoreError;

/// The three objectives, by key, as the view and its workbook name them.
pub const OBJECTIVES: [(&str, &str); 3] = [
    (
        "q1_hors_qpv",
        "Attributions hors QPV aux ménages du premier quartile",
    ),
    (
        "non_q1_qpv",
        "Attributions en QPV aux ménages des autres quartiles",
    ),
    (
        "prioritaires",
        "Attributions aux ménages prioritaires et DALO",
    ),
];

/// Réservataires named as able to close a shortfall, at most, per objective.
const CLOSERS: usize = 8;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CilView {
    pub epci: String,
    pub epci_name: String,
    /// The year shown (the conventions of that year).
    pub year: Option<i32>,
    /// Every year with a convention on the EPCI, latest first.
    pub years: Vec<i32>,
    /// The CIA's latest version; `None` while none is recorded (defaults of RULES.md apply).
    pub cia: Option<CiaSummary>,
    /// The targets, in percent, by objective key (the CIA's or the defaults).
    pub targets: BTreeMap<String, String>,
    pub conventions: Vec<ConventionLine>,
    /// All bailleurs together, over the EPCI then on each territory with its own rate.
    pub objectives: Vec<ObjectiveLine>,
    /// What the CIA assigns to each bailleur against what its convention forecasts.
    pub assigned: Vec<AssignedLine>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CiaSummary {
    pub number: u32,
    pub hash: String,
    pub concluded_on: Option<String>,
    pub reference: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConventionLine {
    pub id: i64,
    pub title: String,
    pub bailleur_siren: String,
    pub bailleur_name: String,
    /// Machine name of the state (`brouillon`, `signee`…) and its French label.
    pub state: String,
    pub state_label: String,
    pub version: Option<i64>,
    /// The CIA version its current version restates (`None`: the defaults).
    pub cia_version: Option<u32>,
    /// Whether it restates the CIA's latest version.
    pub cia_current: bool,
    pub flux: u64,
    pub blocking: usize,
    pub warnings: usize,
    /// Its forecast for each objective, in the order of [`OBJECTIVES`].
    pub contributions: Vec<Contribution>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Contribution {
    pub objective: String,
    /// Dwellings the objective counts (outside QPV, in QPV, or all).
    pub dwellings: u64,
    /// Households the commitments forecast, two decimals.
    pub households: String,
    /// In percent of `dwellings`, two decimals; `None` without dwellings.
    pub percent: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ObjectiveLine {
    pub objective: String,
    pub label: String,
    /// `None` for the whole EPCI; else the territory of a territorial rate.
    pub territory: Option<String>,
    pub target: String,
    pub dwellings: u64,
    pub target_households: String,
    pub forecast_households: String,
    pub forecast_percent: Option<String>,
    /// Households missing (0 when met), two decimals.
    pub shortfall: String,
    pub met: bool,
    /// The rows whose commitment is below the target, largest possible gain first.
    pub closers: Vec<Closer>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Closer {
    pub convention: i64,
    pub bailleur: String,
    pub row: String,
    pub name: String,
    pub commitment: String,
    pub dwellings: u64,
    /// Households gained if this row's commitment reached the target.
    pub households: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssignedLine {
    pub bailleur_siren: String,
    pub bailleur_name: String,
    pub convention: Option<i64>,
    pub kind: String,
    pub label: String,
    pub assigned: u64,
    /// `None` when no convention of the year can tell (none, or relogements not restated).
    pub forecast: Option<String>,
    pub shortfall: Option<String>,
}

// ---- What the view reads of a version, kept by hash. ----

#[derive(Deserialize)]
struct VersionView {
    scenario: ScenarioView,
    report: ReportView,
}

#[derive(Deserialize)]
struct ScenarioView {
    segments: Vec<SegmentView>,
    reservataires: Vec<ReservataireView>,
    non_reserve: NonReserveView,
    #[serde(default)]
    cia: Option<CiaView>,
}

#[derive(Deserialize)]
struct SegmentView {
    id: String,
    commune: String,
    qpv: bool,
}

#[derive(Deserialize)]
struct ReservataireView {
    id: String,
    name: String,
    commitments: CommitmentsView,
}

#[derive(Deserialize)]
struct NonReserveView {
    commitments: CommitmentsView,
}

#[derive(Deserialize)]
struct CommitmentsView {
    priority: String,
    q1_hors_qpv: String,
    non_q1_qpv: String,
}

#[derive(Deserialize)]
struct CiaView {
    version: u32,
    hash: String,
    #[serde(default)]
    bailleur: Option<BailleurView>,
}

#[derive(Deserialize)]
struct BailleurView {
    #[serde(default)]
    relogements_prevus: Option<u64>,
}

#[derive(Deserialize)]
struct ReportView {
    summary: crate::flux::solver::report::Summary,
    #[serde(default)]
    table: Option<TableView>,
}

#[derive(Deserialize)]
struct TableView {
    rows: Vec<crate::flux::solver::report::Margin>,
    columns: Vec<crate::flux::solver::report::Margin>,
    cells: Vec<Vec<u64>>,
}

/// One row of a convention's flux table, as the objectives weigh it.
#[derive(Debug, Clone)]
struct RowFigures {
    id: String,
    name: String,
    /// priority, first quartile outside QPV, other quartiles in QPV (percent).
    commitments: [Decimal; 3],
    total: u64,
    outside: u64,
    inside: u64,
    /// By commune: (dwellings outside QPV, dwellings in QPV).
    by_commune: BTreeMap<String, (u64, u64)>,
}

#[derive(Debug, Clone)]
struct Figures {
    flux: u64,
    blocking: usize,
    warnings: usize,
    cia: Option<(u32, String)>,
    relogements_prevus: Option<u64>,
    rows: Vec<RowFigures>,
}

/// Figures of versions already read, by hash; bounded.
fn cache() -> &'static Mutex<HashMap<String, Arc<Figures>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Figures>>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

const CACHED: usize = 512;

fn corrupt(id: i64, what: impl std::fmt::Display) -> ServiceError {
    ServiceError::Store(StoreError::Corrupt(format!(
        "version courante de la convention n° {id} : {what}"
    )))
}

fn figures_of(id: i64, text: &str) -> Result<Figures, ServiceError> {
    let v: VersionView = serde_json::from_str(text).map_err(|e| corrupt(id, e))?;
    let percent = |s: &str| parse_percent(s).map_err(|e| corrupt(id, e));
    let commitments = |c: &CommitmentsView| -> Result<[Decimal; 3], ServiceError> {
        Ok([
            percent(&c.priority)?,
            percent(&c.q1_hors_qpv)?,
            percent(&c.non_q1_qpv)?,
        ])
    };
    let segments: HashMap<&str, &SegmentView> = v
        .scenario
        .segments
        .iter()
        .map(|s| (s.id.as_str(), s))
        .collect();
    let mut rows = Vec::new();
    if let Some(table) = &v.report.table {
        let columns: Vec<Option<&&SegmentView>> = table
            .columns
            .iter()
            .map(|c| segments.get(c.id.as_str()))
            .collect();
        for (r, margin) in table.rows.iter().enumerate() {
            let (name, c) = if margin.id == crate::flux::solver::table::NON_RESERVE {
                (
                    "bailleur (flux non réservé)".to_owned(),
                    commitments(&v.scenario.non_reserve.commitments)?,
                )
            } else {
                let found = v
                    .scenario
                    .reservataires
                    .iter()
                    .find(|x| x.id == margin.id)
                    .ok_or_else(|| {
                        corrupt(id, format!("ligne « {} » sans réservataire", margin.id))
                    })?;
                (found.name.clone(), commitments(&found.commitments)?)
            };
            let mut row = RowFigures {
                id: margin.id.clone(),
                name,
                commitments: c,
                total: 0,
                outside: 0,
                inside: 0,
                by_commune: BTreeMap::new(),
            };
            for (cell, segment) in table.cells.get(r).into_iter().flatten().zip(&columns) {
                let Some(segment) = segment else { continue };
                row.total += cell;
                let entry = row.by_commune.entry(segment.commune.clone()).or_default();
                if segment.qpv {
                    row.inside += cell;
                    entry.1 += cell;
                } else {
                    row.outside += cell;
                    entry.0 += cell;
                }
            }
            rows.push(row);
        }
    }
    Ok(Figures {
        flux: v.report.summary.total_flux,
        blocking: v.report.summary.blocking,
        warnings: v.report.summary.warnings,
        relogements_prevus: v
            .scenario
            .cia
            .as_ref()
            .and_then(|c| c.bailleur.as_ref())
            .and_then(|b| b.relogements_prevus),
        cia: v.scenario.cia.map(|c| (c.version, c.hash)),
        rows,
    })
}

async fn figures(p: &Platform, id: i64, hash: &str) -> Result<Arc<Figures>, ServiceError> {
    if let Some(found) = cache().lock().map_err(ServiceError::internal)?.get(hash) {
        return Ok(Arc::clone(found));
    }
    let row = p
        .store
        .current_version(id)
        .await?
        .ok_or_else(|| corrupt(id, "introuvable"))?;
    let text = row.document;
    let figures = Arc::new(
        tokio::task::spawn_blocking(move || figures_of(id, &text))
            .await
            .map_err(ServiceError::internal)??,
    );
    let mut entries = cache().lock().map_err(ServiceError::internal)?;
    if entries.len() >= CACHED {
        entries.clear();
    }
    entries.insert(row.hash, Arc::clone(&figures));
    Ok(figures)
}

/// The (commitment, dwellings) of a row for objective `k` of [`OBJECTIVES`], optionally on
/// one commune.
fn weighed(row: &RowFigures, k: usize, commune: Option<&str>) -> (Decimal, u64) {
    let (outside, inside) = match commune {
        Some(c) => row.by_commune.get(c).copied().unwrap_or_default(),
        None => (row.outside, row.inside),
    };
    match k {
        0 => (row.commitments[1], outside),
        1 => (row.commitments[2], inside),
        _ => (
            row.commitments[0],
            commune.map_or(row.total, |_| outside + inside),
        ),
    }
}

fn hundredths(d: Decimal) -> String {
    two_places(d)
}

/// The CIL's view of `epci` for `year` (default: the year with the most conventions).
#[tracing::instrument(skip_all, fields(epci = %epci, user = caller.user.id))]
pub async fn view(
    p: &Platform,
    caller: &Caller,
    epci: &Siren,
    year: Option<i32>,
) -> Result<CilView, ServiceError> {
    let access = require_read(p, caller, epci).await?;
    if !access.overview {
        return Err(ServiceError::Forbidden(format!(
            "la vue d'ensemble de la CIL de l'EPCI {epci} est réservée à son secrétariat et aux observateurs de ses conventions"
        )));
    }
    let store = p.store.as_ref();
    let facts = store
        .epci_facts(epci)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("EPCI {epci} inconnu")))?;
    let cia = current(p, epci).await?;
    let all = store.epci_conventions(epci.as_str()).await?;
    let years: Vec<i32> = all
        .iter()
        .filter(|c| c.state != ConventionState::Abandonnee)
        .map(|c| i32::try_from(c.year).unwrap_or_default())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .rev()
        .collect();
    if let Some(y) = year
        && !(2000..=2200).contains(&y)
    {
        return Err(ServiceError::Invalid(format!(
            "année : {y} n'est pas une année plausible (de 2000 à 2200)"
        )));
    }
    // By default the year with the most conventions (the latest on a tie): the year the CIL
    // is working on, where every bailleur has its convention.
    let year = year.or_else(|| {
        years.iter().copied().max_by_key(|y| {
            let n = all
                .iter()
                .filter(|c| c.state != ConventionState::Abandonnee && c.year == i64::from(*y))
                .count();
            (n, *y)
        })
    });
    let targets = targets(cia.as_ref())?;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut lines = Vec::new();
    let mut read: Vec<(i64, String, Arc<Figures>)> = Vec::new();
    for c in all
        .iter()
        .filter(|c| c.state != ConventionState::Abandonnee && Some(c.year) == year.map(i64::from))
    {
        if !names.contains_key(&c.bailleur_siren) {
            let siren: Siren = c.bailleur_siren.parse().map_err(|e| corrupt(c.id, e))?;
            let name = store
                .bailleur(&siren)
                .await?
                .map_or_else(|| c.bailleur_siren.clone(), |b| b.name);
            names.insert(c.bailleur_siren.clone(), name);
        }
        let bailleur_name = names[&c.bailleur_siren].clone();
        let f = match &c.version_hash {
            Some(hash) => Some(figures(p, c.id, hash).await?),
            None => None,
        };
        let contributions = (0..OBJECTIVES.len())
            .map(|k| {
                let (sum, dwellings) = f.as_ref().map_or((Decimal::ZERO, 0), |f| {
                    f.rows.iter().fold((Decimal::ZERO, 0u64), |(s, n), r| {
                        let (c, d) = weighed(r, k, None);
                        (s + c * Decimal::from(d), n + d)
                    })
                });
                Contribution {
                    objective: OBJECTIVES[k].0.to_owned(),
                    dwellings,
                    households: hundredths(sum / Decimal::ONE_HUNDRED),
                    percent: (dwellings > 0).then(|| hundredths(sum / Decimal::from(dwellings))),
                }
            })
            .collect();
        lines.push(ConventionLine {
            id: c.id,
            title: c.title.clone(),
            bailleur_siren: c.bailleur_siren.clone(),
            bailleur_name: bailleur_name.clone(),
            state: c.state.as_str().to_owned(),
            state_label: c.state.label().to_owned(),
            version: c.version,
            cia_version: f.as_ref().and_then(|f| f.cia.as_ref().map(|(n, _)| *n)),
            cia_current: match (&cia, f.as_ref().and_then(|f| f.cia.as_ref())) {
                (Some(current), Some((_, hash))) => *hash == current.hash,
                (None, None) => true,
                _ => false,
            },
            flux: f.as_ref().map_or(0, |f| f.flux),
            blocking: f.as_ref().map_or(0, |f| f.blocking),
            warnings: f.as_ref().map_or(0, |f| f.warnings),
            contributions,
        });
        if let Some(f) = f {
            read.push((c.id, bailleur_name, f));
        }
    }
    let mut objectives = Vec::new();
    for (k, (key, label)) in OBJECTIVES.iter().enumerate() {
        objectives.push(objective_line(&read, k, key, label, targets[k], None));
    }
    if let Some(cia) = &cia {
        for t in &cia.document.territorial {
            let (k, key, label) = if t.objective == "q1_hors_qpv" {
                (0, OBJECTIVES[0].0, OBJECTIVES[0].1)
            } else {
                (1, OBJECTIVES[1].0, OBJECTIVES[1].1)
            };
            let target = parse_percent(&t.min).map_err(ServiceError::internal)?;
            objectives.push(objective_line(
                &read,
                k,
                key,
                label,
                target,
                Some((t.commune.as_str(), t.name.as_str())),
            ));
        }
    }
    let assigned = assigned_lines(cia.as_ref(), &lines, &read);
    Ok(CilView {
        epci: epci.as_str().to_owned(),
        epci_name: facts.epci.name,
        year,
        years,
        cia: cia.as_ref().map(|c| CiaSummary {
            number: c.number,
            hash: c.hash.clone(),
            concluded_on: c.document.concluded_on.clone(),
            reference: c.document.reference.clone(),
        }),
        targets: OBJECTIVES
            .iter()
            .zip(targets)
            .map(|((key, _), t)| ((*key).to_owned(), t.normalize().to_string()))
            .collect(),
        conventions: lines,
        objectives,
        assigned,
    })
}

/// The targets in percent, in the order of [`OBJECTIVES`]: the CIA's, else the defaults of
/// RULES.md §4 (25 %, 50 %, 25 %).
fn targets(cia: Option<&CiaVersion>) -> Result<[Decimal; 3], ServiceError> {
    let Some(cia) = cia else {
        return Ok([Decimal::from(25), Decimal::from(50), Decimal::from(25)]);
    };
    let o = &cia.document.objectives;
    let p = |s: &str| parse_percent(s).map_err(ServiceError::internal);
    Ok([
        p(&o.q1_hors_qpv_min)?,
        p(&o.non_q1_qpv_min)?,
        p(&o.priority_min)?,
    ])
}

fn objective_line(
    read: &[(i64, String, Arc<Figures>)],
    k: usize,
    key: &str,
    label: &str,
    target: Decimal,
    territory: Option<(&str, &str)>,
) -> ObjectiveLine {
    let commune = territory.map(|(c, _)| c);
    let mut sum = Decimal::ZERO;
    let mut dwellings = 0u64;
    let mut closers = Vec::new();
    for (id, bailleur, f) in read {
        for row in &f.rows {
            let (c, d) = weighed(row, k, commune);
            sum += c * Decimal::from(d);
            dwellings += d;
            if c < target && d > 0 {
                closers.push(Closer {
                    convention: *id,
                    bailleur: bailleur.clone(),
                    row: row.id.clone(),
                    name: row.name.clone(),
                    commitment: hundredths(c),
                    dwellings: d,
                    households: hundredths((target - c) * Decimal::from(d) / Decimal::ONE_HUNDRED),
                });
            }
        }
    }
    let forecast = sum / Decimal::ONE_HUNDRED;
    let wanted = target * Decimal::from(dwellings) / Decimal::ONE_HUNDRED;
    let shortfall = (wanted - forecast).max(Decimal::ZERO);
    let met = shortfall.is_zero();
    if met {
        closers.clear();
    }
    closers.sort_by(|a, b| {
        let (x, y) = (
            a.households.parse::<Decimal>().unwrap_or_default(),
            b.households.parse::<Decimal>().unwrap_or_default(),
        );
        y.cmp(&x)
            .then(a.convention.cmp(&b.convention))
            .then(a.row.cmp(&b.row))
    });
    closers.truncate(CLOSERS);
    ObjectiveLine {
        objective: key.to_owned(),
        label: label.to_owned(),
        territory: territory.map(|(_, name)| name.to_owned()),
        target: target.normalize().to_string(),
        dwellings,
        target_households: hundredths(wanted),
        forecast_households: hundredths(forecast),
        forecast_percent: (dwellings > 0).then(|| hundredths(sum / Decimal::from(dwellings))),
        shortfall: hundredths(shortfall),
        met,
        closers,
    }
}

fn assigned_lines(
    cia: Option<&CiaVersion>,
    lines: &[ConventionLine],
    read: &[(i64, String, Arc<Figures>)],
) -> Vec<AssignedLine> {
    let Some(cia) = cia else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for b in &cia.document.bailleurs {
        let convention = lines.iter().find(|l| l.bailleur_siren == b.siren);
        let figures = convention
            .and_then(|l| read.iter().find(|(id, _, _)| *id == l.id))
            .map(|(_, _, f)| f);
        let forecast_of = |k: usize| {
            figures.map(|f| {
                f.rows.iter().fold(Decimal::ZERO, |s, r| {
                    let (c, d) = weighed(r, k, None);
                    s + c * Decimal::from(d)
                }) / Decimal::ONE_HUNDRED
            })
        };
        for (kind, label, assigned, forecast) in [
            (
                "q1_hors_qpv",
                "Ménages du premier quartile hors QPV",
                b.q1_hors_qpv,
                forecast_of(0),
            ),
            (
                "dalo",
                "Ménages reconnus DALO (engagements « prioritaires »)",
                b.dalo,
                forecast_of(2),
            ),
            (
                "relogements",
                "Relogements NPRU ou ORCOD (prévus dans l'assiette)",
                b.relogements,
                figures
                    .and_then(|f| f.relogements_prevus)
                    .map(Decimal::from),
            ),
        ] {
            let Some(assigned) = assigned else { continue };
            out.push(AssignedLine {
                bailleur_siren: b.siren.clone(),
                bailleur_name: b.name.clone(),
                convention: convention.map(|l| l.id),
                kind: kind.to_owned(),
                label: label.to_owned(),
                assigned,
                forecast: forecast.map(hundredths),
                shortfall: forecast
                    .map(|f| hundredths((Decimal::from(assigned) - f).max(Decimal::ZERO))),
            });
        }
    }
    out
}
