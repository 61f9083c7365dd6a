//! The pages of an EPCI (issue 20): its CIA (`/epci/{siren}/cia`: the latest version, its
//! history, and the secretariat's form for a new version) and the CIL's view of every
//! bailleur's convention on its territory (`/epci/{siren}/cil`, and its workbook
//! `/epci/{siren}/cil.xlsx`).

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::caller::{PageCaller, SignedForm};
use super::extract::{PageParams, PagePath};
use super::frame::{Flash, Frame, SessionView, redirect, render};
use crate::domain::Siren;
use crate::flux::scenario::RawObjectives;
use crate::http::{ApiError, AppState};
use crate::render::charts::{ObjectiveProgress, objectives as objectives_chart};
use crate::render::pages::convention::french_decimal;
use crate::render::pages::dates::french_datetime;
use crate::services::ServiceError;
use crate::services::cia::{self, BailleurEntry, CiaChange, CiaVersion, TerritorialEntry};
use crate::services::cil::{self, CilView};
use crate::services::conventions::Caller;

/// Blank rows the form offers for new territorial rates and bailleurs' commitments.
const BLANK_ROWS: usize = 3;
/// Rows the form reads at most (the service bounds what it records).
const MAX_FORM_ROWS: usize = 500;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/epci/{siren}/cia", get(cia_page).post(cia_record))
        .route("/epci/{siren}/cil", get(cil_page))
        .route("/epci/{siren}/cil.xlsx", get(cil_xlsx))
}

fn siren_of(text: &str) -> Result<Siren, ServiceError> {
    text.parse().map_err(|e| {
        ServiceError::NotFound(format!(
            "aucun EPCI à l'adresse /epci/{text} : « {text} » n'est pas un SIREN ({e})"
        ))
    })
}

fn failed(e: ServiceError) -> Response {
    ApiError::from(e).into_response()
}

// ---- The CIA ----

#[derive(Debug, Default, Serialize)]
struct CiaForm {
    based_on: u32,
    concluded_on: String,
    reference: String,
    q1_hors_qpv_min: String,
    non_q1_qpv_min: String,
    priority_min: String,
    reason: String,
    territorial: Vec<TerritorialRow>,
    bailleurs: Vec<BailleurRow>,
}

#[derive(Debug, Default, Serialize)]
struct TerritorialRow {
    index: usize,
    objective: String,
    commune: String,
    qpv: String,
    min: String,
}

#[derive(Debug, Default, Serialize)]
struct BailleurRow {
    index: usize,
    siren: String,
    name: String,
    q1_hors_qpv: String,
    dalo: String,
    relogements: String,
}

#[derive(Debug, Serialize)]
struct Choice {
    value: String,
    label: String,
}

#[derive(Debug, Serialize)]
struct HistoryLine {
    number: u32,
    created_at: String,
    author: String,
    reason: String,
    hash: String,
    objectives: String,
}

#[derive(Debug, Serialize)]
struct CiaPage {
    #[serde(flatten)]
    frame: Frame,
    epci: String,
    epci_name: String,
    current: Option<CurrentCia>,
    history: Vec<HistoryLine>,
    can_edit: bool,
    can_overview: bool,
    form: CiaForm,
    communes: Vec<Choice>,
    qpvs: Vec<Choice>,
}

#[derive(Debug, Serialize)]
struct CurrentCia {
    number: u32,
    hash: String,
    created_at: String,
    author: String,
    concluded_on: String,
    reference: String,
    objectives: [String; 3],
    territorial: Vec<String>,
    bailleurs: Vec<String>,
}

fn french_date(iso: &str) -> String {
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| iso.to_owned())
}

fn objectives_words(o: &RawObjectives) -> String {
    format!(
        "{} % / {} % / {} %",
        french_decimal(&o.q1_hors_qpv_min),
        french_decimal(&o.non_q1_qpv_min),
        french_decimal(&o.priority_min)
    )
}

fn current_of(v: &CiaVersion) -> CurrentCia {
    let d = &v.document;
    CurrentCia {
        number: v.number,
        hash: v.hash.clone(),
        created_at: french_datetime(&d.created_at),
        author: d.author.name.clone(),
        concluded_on: d
            .concluded_on
            .as_deref()
            .map(french_date)
            .unwrap_or_default(),
        reference: d.reference.clone(),
        objectives: [
            french_decimal(&d.objectives.q1_hors_qpv_min),
            french_decimal(&d.objectives.non_q1_qpv_min),
            french_decimal(&d.objectives.priority_min),
        ],
        territorial: d
            .territorial
            .iter()
            .map(|t| {
                let what = if t.objective == "q1_hors_qpv" {
                    "des attributions hors QPV au premier quartile"
                } else {
                    "des attributions en QPV aux autres quartiles"
                };
                format!("{} : au moins {} % {what}", t.name, french_decimal(&t.min))
            })
            .collect(),
        bailleurs: d
            .bailleurs
            .iter()
            .map(|b| {
                let mut parts = Vec::new();
                if let Some(n) = b.q1_hors_qpv {
                    parts.push(format!("{n} ménages du premier quartile hors QPV"));
                }
                if let Some(n) = b.dalo {
                    parts.push(format!("{n} ménages DALO"));
                }
                if let Some(n) = b.relogements {
                    parts.push(format!("{n} relogements NPRU ou ORCOD"));
                }
                format!("{} : {} par an", b.name, parts.join(", "))
            })
            .collect(),
    }
}

/// The form filled from `current` (or the defaults), with blank rows to add.
fn form_of(current: Option<&CiaVersion>, bailleurs: &[(String, String)]) -> CiaForm {
    let mut form = CiaForm {
        q1_hors_qpv_min: "25".into(),
        non_q1_qpv_min: "50".into(),
        priority_min: "25".into(),
        ..CiaForm::default()
    };
    if let Some(v) = current {
        let d = &v.document;
        form.based_on = v.number;
        form.concluded_on = d.concluded_on.clone().unwrap_or_default();
        form.reference = d.reference.clone();
        form.q1_hors_qpv_min = french_decimal(&d.objectives.q1_hors_qpv_min);
        form.non_q1_qpv_min = french_decimal(&d.objectives.non_q1_qpv_min);
        form.priority_min = french_decimal(&d.objectives.priority_min);
        form.territorial = d
            .territorial
            .iter()
            .map(|t| TerritorialRow {
                index: 0,
                objective: t.objective.clone(),
                commune: t.commune.clone(),
                qpv: t.qpv.clone().unwrap_or_default(),
                min: french_decimal(&t.min),
            })
            .collect();
        form.bailleurs = d
            .bailleurs
            .iter()
            .map(|b| BailleurRow {
                index: 0,
                siren: b.siren.clone(),
                name: b.name.clone(),
                q1_hors_qpv: b.q1_hors_qpv.map(|n| n.to_string()).unwrap_or_default(),
                dalo: b.dalo.map(|n| n.to_string()).unwrap_or_default(),
                relogements: b.relogements.map(|n| n.to_string()).unwrap_or_default(),
            })
            .collect();
    }
    // Each bailleur with a convention on the EPCI has its row, even before the CIA sets any.
    for (siren, name) in bailleurs {
        if !form.bailleurs.iter().any(|b| b.siren == *siren) {
            form.bailleurs.push(BailleurRow {
                siren: siren.clone(),
                name: name.clone(),
                ..BailleurRow::default()
            });
        }
    }
    pad(&mut form);
    form
}

/// Blank rows after the filled ones, and every row numbered.
fn pad(form: &mut CiaForm) {
    for _ in 0..BLANK_ROWS {
        form.territorial.push(TerritorialRow::default());
    }
    form.bailleurs.push(BailleurRow::default());
    for (i, t) in form.territorial.iter_mut().enumerate() {
        t.index = i;
    }
    for (i, b) in form.bailleurs.iter_mut().enumerate() {
        b.index = i;
    }
}

async fn cia_data(
    state: &AppState,
    caller: &Caller,
    session: SessionView,
    siren: &Siren,
    flash: Flash,
) -> Result<CiaPage, ServiceError> {
    let p = &state.platform;
    let access = cia::require_read(p, caller, siren).await?;
    let facts = p
        .store
        .epci_facts(siren)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("EPCI {siren} inconnu")))?;
    let versions = cia::versions(p, siren).await?;
    let latest = versions.last();
    let mut bailleurs = Vec::new();
    for c in p.store.epci_conventions(siren.as_str()).await? {
        if bailleurs.iter().any(|(s, _)| *s == c.bailleur_siren) {
            continue;
        }
        let name = match c.bailleur_siren.parse::<Siren>() {
            Ok(s) => p.store.bailleur(&s).await?.map(|b| b.name),
            Err(_) => None,
        };
        bailleurs.push((c.bailleur_siren.clone(), name.unwrap_or(c.bailleur_siren)));
    }
    let communes = p.store.communes_of_epci(siren).await?;
    let qpvs = p.store.qpvs_of_epci(siren).await?;
    Ok(CiaPage {
        frame: Frame {
            title: format!("CIA — {}", facts.epci.name),
            session: Some(session),
            flash,
        },
        epci: siren.as_str().to_owned(),
        epci_name: facts.epci.name,
        current: latest.map(current_of),
        history: versions
            .iter()
            .rev()
            .map(|v| HistoryLine {
                number: v.number,
                created_at: french_datetime(&v.document.created_at),
                author: v.document.author.name.clone(),
                reason: v.document.reason.clone(),
                hash: v.hash.clone(),
                objectives: objectives_words(&v.document.objectives),
            })
            .collect(),
        can_edit: access.edit,
        can_overview: access.overview,
        form: form_of(latest, &bailleurs),
        communes: communes
            .iter()
            .map(|c| Choice {
                value: c.insee.as_str().to_owned(),
                label: format!("{} ({})", c.name, c.insee),
            })
            .collect(),
        qpvs: qpvs
            .iter()
            .map(|q| Choice {
                value: q.code.as_str().to_owned(),
                label: format!("{} ({})", q.name, q.code),
            })
            .collect(),
    })
}

/// `GET /epci/{siren}/cia`.
async fn cia_page(
    State(state): State<AppState>,
    PagePath(siren): PagePath<String>,
    PageCaller { caller, session }: PageCaller,
    PageParams(flash): PageParams<Flash>,
) -> Response {
    let siren = match siren_of(&siren) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    match cia_data(&state, &caller, session, &siren, flash).await {
        Ok(page) => render(&state, "cia", &page),
        Err(e) => failed(e),
    }
}

/// The form as posted: named fields, and the rows `territorial_{field}_{i}` and
/// `bailleur_{field}_{i}`.
fn change_of(fields: &HashMap<String, String>) -> (CiaChange, CiaForm) {
    let get = |k: &str| {
        fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut form = CiaForm {
        based_on: get("based_on").parse().unwrap_or(0),
        concluded_on: get("concluded_on"),
        reference: get("reference"),
        q1_hors_qpv_min: get("q1_hors_qpv_min"),
        non_q1_qpv_min: get("non_q1_qpv_min"),
        priority_min: get("priority_min"),
        reason: get("reason"),
        ..CiaForm::default()
    };
    let mut territorial = Vec::new();
    let mut bailleurs = Vec::new();
    for i in 0..MAX_FORM_ROWS {
        let row = TerritorialRow {
            index: i,
            objective: get(&format!("territorial_objective_{i}")),
            commune: get(&format!("territorial_commune_{i}")),
            qpv: get(&format!("territorial_qpv_{i}")),
            min: get(&format!("territorial_min_{i}")),
        };
        // A row with neither a commune nor a rate is a blank row of the form.
        if !row.commune.is_empty() || !row.min.is_empty() {
            territorial.push(TerritorialEntry {
                objective: row.objective.clone(),
                commune: row.commune.clone(),
                qpv: (!row.qpv.is_empty()).then(|| row.qpv.clone()),
                min: row.min.clone(),
            });
            form.territorial.push(row);
        }
        let b = BailleurRow {
            index: i,
            siren: get(&format!("bailleur_siren_{i}")),
            name: get(&format!("bailleur_name_{i}")),
            q1_hors_qpv: get(&format!("bailleur_q1_hors_qpv_{i}")),
            dalo: get(&format!("bailleur_dalo_{i}")),
            relogements: get(&format!("bailleur_relogements_{i}")),
        };
        if !b.siren.is_empty() {
            form.bailleurs.push(b);
        }
    }
    for b in &form.bailleurs {
        bailleurs.push(BailleurEntry {
            siren: b.siren.clone(),
            q1_hors_qpv: b.q1_hors_qpv.parse().ok(),
            dalo: b.dalo.parse().ok(),
            relogements: b.relogements.parse().ok(),
        });
    }
    let change = CiaChange {
        concluded_on: Some(form.concluded_on.clone()),
        reference: form.reference.clone(),
        objectives: RawObjectives {
            q1_hors_qpv_min: form.q1_hors_qpv_min.clone(),
            non_q1_qpv_min: form.non_q1_qpv_min.clone(),
            priority_min: form.priority_min.clone(),
        },
        territorial,
        bailleurs,
        reason: Some(form.reason.clone()),
        based_on: Some(form.based_on),
    };
    (change, form)
}

/// A count typed in the form that is not a whole number of households.
fn bad_count(form: &CiaForm) -> Option<String> {
    for b in &form.bailleurs {
        for (value, label) in [
            (&b.q1_hors_qpv, "ménages du premier quartile hors QPV"),
            (&b.dalo, "ménages DALO"),
            (&b.relogements, "relogements NPRU ou ORCOD"),
        ] {
            if !value.is_empty() && value.parse::<u64>().is_err() {
                let who = if b.name.is_empty() { &b.siren } else { &b.name };
                return Some(format!(
                    "engagements de {who} : {label} : « {value} » n'est pas un nombre entier de ménages"
                ));
            }
        }
    }
    None
}

/// `POST /epci/{siren}/cia`: a new version, or the form again with the error.
async fn cia_record(
    State(state): State<AppState>,
    PagePath(siren): PagePath<String>,
    SignedForm {
        caller,
        session,
        form,
    }: SignedForm<HashMap<String, String>>,
) -> Response {
    let siren = match siren_of(&siren) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let (change, typed) = change_of(&form);
    let outcome = match bad_count(&typed) {
        Some(message) => Err(ServiceError::Invalid(message)),
        None => cia::record(&state.platform, &caller, &siren, change).await,
    };
    match outcome {
        Ok(v) => redirect(&format!(
            "/epci/{}/cia?{}",
            siren.as_str(),
            super::flash::param(
                "message",
                &format!(
                    "Version n° {} de la CIA enregistrée ; les membres des conventions de l'EPCI en sont avertis.",
                    v.number
                )
            )
        )),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict(_))) => {
            let flash = Flash {
                error: Some(format!("La CIA n'est pas enregistrée : {e}")),
                ..Flash::default()
            };
            match cia_data(&state, &caller, session, &siren, flash).await {
                Ok(mut page) => {
                    let mut typed = typed;
                    pad(&mut typed);
                    page.form = typed;
                    let mut response = render(&state, "cia", &page);
                    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                    response
                }
                Err(e) => failed(e),
            }
        }
        Err(e) => failed(e),
    }
}

// ---- The CIL's view ----

#[derive(Debug, Default, Deserialize)]
struct CilQuery {
    #[serde(default)]
    annee: Option<String>,
}

fn year_of(q: &CilQuery) -> Result<Option<i32>, ServiceError> {
    match q.annee.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            ServiceError::Invalid(format!(
                "année : « {text} » n'est pas une année (2027 par exemple)"
            ))
        }),
    }
}

#[derive(Debug, Serialize)]
struct CilPage {
    #[serde(flatten)]
    frame: Frame,
    view: CilView,
    /// The figures in French (commas), alongside the view's.
    objectives: Vec<ObjectiveWords>,
    conventions: Vec<ConventionWords>,
    assigned: Vec<AssignedWords>,
    chart: crate::render::charts::Chart,
    targets: [String; 3],
}

#[derive(Debug, Serialize)]
struct ObjectiveWords {
    label: String,
    territory: String,
    target: String,
    dwellings: u64,
    target_households: String,
    forecast_households: String,
    forecast_percent: String,
    shortfall: String,
    met: bool,
    closers: Vec<CloserWords>,
}

#[derive(Debug, Serialize)]
struct CloserWords {
    convention: i64,
    bailleur: String,
    name: String,
    commitment: String,
    dwellings: u64,
    households: String,
}

#[derive(Debug, Serialize)]
struct ConventionWords {
    id: i64,
    title: String,
    bailleur: String,
    state: String,
    version: String,
    cia: String,
    cia_current: bool,
    flux: u64,
    blocking: usize,
    contributions: Vec<String>,
}

#[derive(Debug, Serialize)]
struct AssignedWords {
    bailleur: String,
    convention: Option<i64>,
    label: String,
    assigned: u64,
    forecast: String,
    shortfall: String,
    met: bool,
}

fn fr(value: &str) -> String {
    french_decimal(value)
}

fn cil_words(state: &AppState, session: SessionView, view: CilView) -> CilPage {
    let objectives = view
        .objectives
        .iter()
        .map(|o| ObjectiveWords {
            label: o.label.clone(),
            territory: o.territory.clone().unwrap_or_else(|| "tout l'EPCI".into()),
            target: fr(&o.target),
            dwellings: o.dwellings,
            target_households: fr(&o.target_households),
            forecast_households: fr(&o.forecast_households),
            forecast_percent: o
                .forecast_percent
                .as_deref()
                .map(fr)
                .unwrap_or_else(|| "—".into()),
            shortfall: fr(&o.shortfall),
            met: o.met,
            closers: o
                .closers
                .iter()
                .map(|c| CloserWords {
                    convention: c.convention,
                    bailleur: c.bailleur.clone(),
                    name: c.name.clone(),
                    commitment: fr(&c.commitment),
                    dwellings: c.dwellings,
                    households: fr(&c.households),
                })
                .collect(),
        })
        .collect();
    let conventions = view
        .conventions
        .iter()
        .map(|c| ConventionWords {
            id: c.id,
            title: c.title.clone(),
            bailleur: c.bailleur_name.clone(),
            state: c.state_label.clone(),
            version: c
                .version
                .map(|v| format!("n° {v}"))
                .unwrap_or_else(|| "—".into()),
            cia: c.cia_version.map_or_else(
                || "valeurs par défaut".into(),
                |n| format!("version n° {n}"),
            ),
            cia_current: c.cia_current,
            flux: c.flux,
            blocking: c.blocking,
            contributions: c
                .contributions
                .iter()
                .map(|x| match &x.percent {
                    Some(p) => format!("{} ménages ({} %)", fr(&x.households), fr(p)),
                    None => "—".into(),
                })
                .collect(),
        })
        .collect();
    let assigned = view
        .assigned
        .iter()
        .map(|a| AssignedWords {
            bailleur: a.bailleur_name.clone(),
            convention: a.convention,
            label: a.label.clone(),
            assigned: a.assigned,
            forecast: a
                .forecast
                .as_deref()
                .map(fr)
                .unwrap_or_else(|| "non connu".into()),
            shortfall: a.shortfall.as_deref().map(fr).unwrap_or_else(|| "—".into()),
            met: a
                .shortfall
                .as_deref()
                .is_some_and(|s| s.parse::<Decimal>().is_ok_and(|d| d.is_zero())),
        })
        .collect();
    let progress: Vec<ObjectiveProgress> = view
        .objectives
        .iter()
        .filter_map(|o| {
            Some(ObjectiveProgress {
                label: match &o.territory {
                    Some(t) => format!("{} — {t}", o.label),
                    None => o.label.clone(),
                },
                value: o.forecast_percent.as_deref()?.parse().ok()?,
                target: o.target.parse().ok()?,
            })
        })
        .collect();
    let targets = [
        fr(view.targets.get("q1_hors_qpv").map_or("", String::as_str)),
        fr(view.targets.get("non_q1_qpv").map_or("", String::as_str)),
        fr(view.targets.get("prioritaires").map_or("", String::as_str)),
    ];
    let _ = state;
    CilPage {
        frame: Frame {
            title: format!("Vue de la CIL — {}", view.epci_name),
            session: Some(session),
            flash: Flash::default(),
        },
        chart: objectives_chart("cil-objectifs", &progress),
        objectives,
        conventions,
        assigned,
        targets,
        view,
    }
}

/// `GET /epci/{siren}/cil[?annee=2027]`.
async fn cil_page(
    State(state): State<AppState>,
    PagePath(siren): PagePath<String>,
    PageCaller { caller, session }: PageCaller,
    PageParams(q): PageParams<CilQuery>,
) -> Response {
    let result = async {
        let siren = siren_of(&siren)?;
        let year = year_of(&q)?;
        cil::view(&state.platform, &caller, &siren, year).await
    }
    .await;
    match result {
        Ok(view) => render(&state, "cil", &cil_words(&state, session, view)),
        Err(e) => failed(e),
    }
}

/// `GET /epci/{siren}/cil.xlsx[?annee=2027]`: the same view as a workbook.
async fn cil_xlsx(
    State(state): State<AppState>,
    PagePath(siren): PagePath<String>,
    PageCaller { caller, .. }: PageCaller,
    PageParams(q): PageParams<CilQuery>,
) -> Response {
    let result = async {
        let siren = siren_of(&siren)?;
        let year = year_of(&q)?;
        let view = cil::view(&state.platform, &caller, &siren, year).await?;
        let year = view.year;
        let bytes = tokio::task::spawn_blocking(move || crate::render::cil_xlsx::workbook(&view))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)?;
        Ok::<_, ServiceError>((siren, year, bytes))
    }
    .await;
    match result {
        Ok((siren, year, bytes)) => (
            [
                (
                    CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                ),
                (
                    CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"cil-{}-{}.xlsx\"",
                        siren.as_str(),
                        year.map_or_else(|| "aucune-convention".to_owned(), |y| y.to_string())
                    ),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => failed(e),
    }
}
