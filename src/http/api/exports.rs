//! Downloads of the flux table: `GET /api/conventions/{id}/table.csv|.xlsx|.json` with the
//! query `?reservataire=&commune=&typologie=&qpv=oui|non&version=N`.

use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::json::{FrPath as Path, FrQuery as Query};
use crate::http::auth::AuthUser;
use crate::http::{ApiError, AppState};
use crate::services::conventions::exports::{ExportFormat, TableFilter, table_export};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableQuery {
    pub reservataire: Option<String>,
    pub commune: Option<String>,
    pub typologie: Option<String>,
    pub qpv: Option<String>,
    pub version: Option<i64>,
}

impl TableQuery {
    /// Empty parameters (as an HTML form sends them) mean no filter.
    fn filter(self) -> Result<TableFilter, ApiError> {
        let given = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let qpv = match given(self.qpv).as_deref() {
            None => None,
            Some("oui") => Some(true),
            Some("non") => Some(false),
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "paramètre qpv : « {other} » (valeurs admises : oui, non)"
                )));
            }
        };
        Ok(TableFilter {
            reservataire: given(self.reservataire),
            commune: given(self.commune),
            typology: given(self.typologie),
            qpv,
        })
    }
}

async fn download(
    s: AppState,
    c: AuthUser,
    id: i64,
    q: TableQuery,
    format: ExportFormat,
) -> Result<Response, ApiError> {
    let version = q.version;
    let filter = q.filter()?;
    let (bytes, content_type, name) =
        table_export(&s.platform, &c.0, id, version, filter, format).await?;
    Ok((
        [
            (CONTENT_TYPE, content_type.to_owned()),
            // The name is ours (digits, letters, dashes): no quoting issue.
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

pub async fn table_csv(
    State(s): State<AppState>,
    c: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<TableQuery>,
) -> Result<Response, ApiError> {
    download(s, c, id, q, ExportFormat::Csv).await
}

pub async fn table_xlsx(
    State(s): State<AppState>,
    c: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<TableQuery>,
) -> Result<Response, ApiError> {
    download(s, c, id, q, ExportFormat::Xlsx).await
}

pub async fn table_json(
    State(s): State<AppState>,
    c: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<TableQuery>,
) -> Result<Response, ApiError> {
    download(s, c, id, q, ExportFormat::Json).await
}
