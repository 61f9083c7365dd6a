//! The assiette of a convention's bailleur, segment by segment (DESIGN §4.1): where each
//! dwelling of the annual flux comes from.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::extract::PagePath;
use super::frame::{Flash, Frame, render};
use crate::flux::assiette::french_decimal;
use crate::http::{ApiError, AppState};
use crate::services::ServiceError;

#[derive(Serialize)]
struct Line {
    id: String,
    commune: String,
    typology: String,
    qpv: bool,
    units: u64,
    releases: String,
    rotation: String,
    forecast: String,
    exclusions: String,
    net: String,
    flux: u64,
}

#[derive(Serialize)]
struct AssiettePage {
    #[serde(flatten)]
    frame: Frame,
    id: i64,
    year: i64,
    years_used: String,
    lines: Vec<Line>,
    total: Line,
    warnings: Vec<String>,
}

pub async fn page(
    State(state): State<AppState>,
    super::caller::PageCaller { caller, session }: super::caller::PageCaller,
    PagePath(id): PagePath<i64>,
) -> Response {
    let built: Result<AssiettePage, ServiceError> = async {
        let (convention, report) =
            crate::services::assiette::of_convention(&state.platform, &state.imported, &caller, id)
                .await?;
        let year = convention.year;
        let pct =
            |d: rust_decimal::Decimal| french_decimal(d * rust_decimal::Decimal::ONE_HUNDRED, 1);
        let lines = report
            .segments
            .iter()
            .map(|s| Line {
                id: s.id.clone(),
                commune: s.key.commune.as_str().to_owned(),
                typology: s
                    .key
                    .typology
                    .map_or("toutes".into(), |t| t.label().to_owned()),
                qpv: s.key.qpv,
                units: s.units,
                releases: s
                    .releases
                    .iter()
                    .map(|r| format!("{} : {}", r.year, r.releases))
                    .collect::<Vec<_>>()
                    .join(" ; "),
                rotation: pct(s.rotation_rate),
                forecast: french_decimal(s.forecast_releases, 2),
                exclusions: french_decimal(s.exclusions_total, 2),
                net: french_decimal(s.net, 2),
                flux: s.flux,
            })
            .collect();
        let t = &report.totals;
        Ok(AssiettePage {
            frame: Frame {
                title: format!("Assiette {year} — {}", convention.title),
                session: Some(session.clone()),
                flash: Flash::default(),
            },
            id,
            year,
            years_used: report
                .years_used
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            lines,
            total: Line {
                id: "Total".into(),
                commune: String::new(),
                typology: String::new(),
                qpv: false,
                units: t.units,
                releases: t
                    .releases
                    .iter()
                    .map(|r| format!("{} : {}", r.year, r.releases))
                    .collect::<Vec<_>>()
                    .join(" ; "),
                rotation: pct(t.rotation_rate),
                forecast: french_decimal(t.forecast_releases, 2),
                exclusions: french_decimal(t.exclusions_total, 2),
                net: french_decimal(t.net, 2),
                flux: t.flux,
            },
            // Each note stands alone in its alert: a sentence.
            warnings: report
                .warnings
                .iter()
                .map(|w| crate::domain::text::sentence(w))
                .collect(),
        })
    }
    .await;
    match built {
        Ok(page) => render(&state, "assiette", &page),
        Err(e) => ApiError::from(e).into_response(),
    }
}
