//! Downloads of the flux table: `GET /api/conventions/{id}/table.csv|.xlsx|.json` with the
//! query `?reservataire=&commune=&typologie=&qpv=oui|non&version=N`; the convention document
//! as a PDF/A: `GET /api/conventions/{id}/document.pdf?version=N&annexe=PARTY`.

use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::json::{FrPath as Path, FrQuery as Query};
use super::openapi::Erreur;
use crate::http::auth::AuthUser;
use crate::http::{ApiError, AppState};
use crate::services::conventions::convention_document::{DocumentRequest, pdf_file};
use crate::services::conventions::exports::{ExportFormat, TableFilter, table_export};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TableQuery {
    /// Identifiant d'un réservataire (vide : tous)
    pub reservataire: Option<String>,
    /// Code INSEE d'une commune (vide : toutes)
    pub commune: Option<String>,
    /// Typologie T1 à T6+ (vide : toutes)
    pub typologie: Option<String>,
    /// oui : segments en QPV, non : hors QPV (vide : tous)
    pub qpv: Option<String>,
    /// Numéro de version (par défaut : la version courante)
    pub version: Option<i64>,
}

/// A downloaded file, as the OpenAPI document describes it.
#[derive(ToSchema)]
#[schema(description = "Un fichier téléchargé")]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct File(Vec<u8>);

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

#[utoipa::path(
    get,
    path = "/conventions/{id}/table.csv",
    tag = "exports",
    summary = "Tableau des flux en CSV",
    description = "CSV séparé par des points-virgules, UTF-8 avec BOM : le détail puis les totaux, filtrable.",
    params(("id" = i64, Path, description = "Numéro de la convention"), TableQuery),
    responses(
        (status = 200, description = "Le fichier, en pièce jointe (Content-Disposition)", content_type = "text/csv", body = String),
        (status = 400, description = "requete_invalide : paramètre de filtre inconnu ou invalide", body = Erreur),
        (status = 404, description = "introuvable : convention ou version inexistante, ou convention dont vous n'êtes pas membre", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn table_csv(
    State(s): State<AppState>,
    c: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<TableQuery>,
) -> Result<Response, ApiError> {
    download(s, c, id, q, ExportFormat::Csv).await
}

#[utoipa::path(
    get,
    path = "/conventions/{id}/table.xlsx",
    tag = "exports",
    summary = "Tableau des flux en XLSX, une feuille par vue (mêmes filtres)",
    description = "Feuilles « Tableau », « Par réservataire », « Par commune », « Détail », « Certificat » (diviseurs et égalités).",
    params(("id" = i64, Path, description = "Numéro de la convention"), TableQuery),
    responses(
        (status = 200, description = "Le fichier, en pièce jointe (Content-Disposition)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = File),
        (status = 400, description = "requete_invalide : paramètre de filtre inconnu ou invalide", body = Erreur),
        (status = 404, description = "introuvable : convention ou version inexistante, ou convention dont vous n'êtes pas membre", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn table_xlsx(
    State(s): State<AppState>,
    c: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<TableQuery>,
) -> Result<Response, ApiError> {
    download(s, c, id, q, ExportFormat::Xlsx).await
}

#[utoipa::path(
    get,
    path = "/conventions/{id}/table.json",
    tag = "exports",
    summary = "Tableau des flux filtré, avec les noms, en JSON (mêmes filtres)",
    description = "Les cellules retenues par les filtres, avec les noms des réservataires et des communes, et leurs totaux.",
    params(("id" = i64, Path, description = "Numéro de la convention"), TableQuery),
    responses(
        (status = 200, description = "Le fichier, en pièce jointe (Content-Disposition)", content_type = "application/json", body = Object),
        (status = 400, description = "requete_invalide : paramètre de filtre inconnu ou invalide", body = Erreur),
        (status = 404, description = "introuvable : convention ou version inexistante, ou convention dont vous n'êtes pas membre", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn table_json(
    State(s): State<AppState>,
    c: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<TableQuery>,
) -> Result<Response, ApiError> {
    download(s, c, id, q, ExportFormat::Json).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    /// Numéro de version (par défaut : la version courante)
    pub version: Option<i64>,
    /// Réservataire dont on veut l'annexe seule, sa convention bilatérale (vide : tout)
    pub annexe: Option<String>,
}

#[utoipa::path(
    get,
    path = "/conventions/{id}/document.pdf",
    tag = "exports",
    summary = "Le document de la convention en PDF/A, ou l'annexe d'un réservataire",
    description = "PDF/A-3a déterministe (la même version donne les mêmes octets), balisé, polices incorporées ; chaque page porte le numéro de la convention, de la version, l'empreinte SHA-256 de la version et « page x / y ». Le texte JSON canonique de la version et les données de la mise en page y sont joints : `convention-flux verify FICHIER.pdf` le vérifie hors ligne.",
    params(("id" = i64, Path, description = "Numéro de la convention"), DocumentQuery),
    responses(
        (status = 200, description = "Le PDF, en pièce jointe (Content-Disposition : convention-2-version-3.pdf, convention-2-version-3-annexe-etat.pdf)", content_type = "application/pdf", body = File),
        (status = 400, description = "requete_invalide : paramètre inconnu ou numéro de version qui n'est pas un nombre", body = Erreur),
        (status = 401, description = "non_authentifie : aucune session", body = Erreur),
        (status = 404, description = "introuvable : convention, version ou annexe inexistante (seul un réservataire a une annexe), ou convention dont vous n'êtes pas membre", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn document_pdf(
    State(s): State<AppState>,
    c: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<DocumentQuery>,
) -> Result<Response, ApiError> {
    let request = DocumentRequest {
        version: q.version,
        annexe: q
            .annexe
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty()),
    };
    let file = pdf_file(&s.platform, &c.0, id, &request).await?;
    Ok((
        [
            (CONTENT_TYPE, "application/pdf".to_owned()),
            // The name is ours (digits, letters, dashes): no quoting issue.
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file.file_name),
            ),
        ],
        file.bytes,
    )
        .into_response())
}
