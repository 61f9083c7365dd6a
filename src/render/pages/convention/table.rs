//! Tableau des flux: filtered and paginated on the server, so that the page stays small on the
//! largest conventions (150 rows × 2,000 segments): at most [`ROWS_PER_PAGE`] rows and
//! [`COLUMNS_PER_PAGE`] segments at a time, with the totals of the whole table always shown.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::report::Names;
use crate::flux::solver::stored::StoredTable;
use crate::render::pages::heat::{HeatLevel, heat_level, heat_scale};

pub const COLUMNS_PER_PAGE: usize = 40;
pub const ROWS_PER_PAGE: usize = 50;

/// The filters and the page of the table, from the query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TableQuery {
    #[serde(default)]
    pub reservataire: Option<String>,
    #[serde(default)]
    pub commune: Option<String>,
    #[serde(default)]
    pub typologie: Option<String>,
    #[serde(default)]
    pub qpv: Option<String>,
    #[serde(default)]
    pub vue: Option<String>,
    /// Page of segments (from 1).
    #[serde(default)]
    pub colonnes: Option<usize>,
    /// Page of rows (from 1).
    #[serde(default)]
    pub lignes: Option<usize>,
    #[serde(default, deserialize_with = "crate::http::pages::flash::sealed")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "crate::http::pages::flash::sealed")]
    pub erreur: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[derive(Debug, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Serialize)]
pub struct CellView {
    pub value: u64,
    pub heat: u8,
    /// The comment form about this cell (`discussion?cellule=row/segment`).
    pub comment: String,
}

#[derive(Debug, Serialize)]
pub struct RowView {
    pub name: String,
    pub total: u64,
    pub cells: Vec<CellView>,
}

#[derive(Debug, Serialize)]
pub struct ColumnView {
    pub label: String,
    pub total: u64,
}

#[derive(Debug, Serialize)]
pub struct Pager {
    pub label: String,
    pub previous: String,
    pub next: String,
}

#[derive(Debug, Serialize)]
pub struct TableView {
    pub columns: Vec<ColumnView>,
    pub rows: Vec<RowView>,
    pub total: u64,
    pub heat: bool,
    pub heat_scale: Vec<HeatLevel>,
    pub reservataires: Vec<Choice>,
    pub communes: Vec<Choice>,
    pub typologies: Vec<Choice>,
    pub qpv_choices: Vec<Choice>,
    pub shown_columns: usize,
    pub matching_columns: usize,
    pub all_columns: usize,
    pub column_pager: Option<Pager>,
    pub row_pager: Option<Pager>,
    /// The active filters, for the download links (`?reservataire=…`, or empty).
    pub download_query: String,
}

/// The query of a link to this table with other pages of rows and columns.
fn link(q: &TableQuery, columns: usize, rows: usize) -> String {
    let mut pairs = filter_pairs(q);
    if let Some(v) = given(&q.vue) {
        pairs.push(format!("vue={}", urlencode(v)));
    }
    if columns > 1 {
        pairs.push(format!("colonnes={columns}"));
    }
    if rows > 1 {
        pairs.push(format!("lignes={rows}"));
    }
    format!("?{}", pairs.join("&"))
}

fn filter_pairs(q: &TableQuery) -> Vec<String> {
    let qpv = match given(&q.qpv) {
        Some("oui") => Some("oui"),
        Some("non") => Some("non"),
        _ => None,
    };
    [
        ("reservataire", given(&q.reservataire)),
        ("commune", given(&q.commune)),
        ("typologie", given(&q.typologie)),
        ("qpv", qpv),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| format!("{name}={}", urlencode(v))))
    .collect()
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn pager(page: usize, pages: usize, what: &str, href: impl Fn(usize) -> String) -> Option<Pager> {
    (pages > 1).then(|| Pager {
        label: format!("{what} : page {page} sur {pages}"),
        previous: if page > 1 {
            href(page - 1)
        } else {
            String::new()
        },
        next: if page < pages {
            href(page + 1)
        } else {
            String::new()
        },
    })
}

pub fn table_view(table: &StoredTable, names: &Names<'_>, q: &TableQuery) -> TableView {
    let segments = &names.segments;
    let wanted_qpv = match given(&q.qpv) {
        Some("oui") => Some(true),
        Some("non") => Some(false),
        _ => None,
    };
    let keep_column = |id: &str| {
        segments.iter().find(|s| s.id == id).is_some_and(|s| {
            given(&q.commune).is_none_or(|c| c == s.commune)
                && given(&q.typologie).is_none_or(|t| Some(t) == s.typology.as_deref())
                && wanted_qpv.is_none_or(|w| w == s.qpv)
        })
    };
    let matching: Vec<usize> = (0..table.columns.len())
        .filter(|&j| keep_column(&table.columns[j].id))
        .collect();
    let kept_rows: Vec<usize> = (0..table.rows.len())
        .filter(|&i| given(&q.reservataire).is_none_or(|r| r == table.rows[i].id))
        .collect();
    let column_pages = matching.len().div_ceil(COLUMNS_PER_PAGE).max(1);
    let column_page = q.colonnes.unwrap_or(1).clamp(1, column_pages);
    let row_pages = kept_rows.len().div_ceil(ROWS_PER_PAGE).max(1);
    let row_page = q.lignes.unwrap_or(1).clamp(1, row_pages);
    let shown: Vec<usize> = matching
        .iter()
        .copied()
        .skip((column_page - 1) * COLUMNS_PER_PAGE)
        .take(COLUMNS_PER_PAGE)
        .collect();
    let scale = heat_scale(table.cells.iter().flatten().copied());
    let cell = |i: usize, j: usize| table.cells.get(i).and_then(|r| r.get(j)).copied();
    let rows = kept_rows
        .iter()
        .skip((row_page - 1) * ROWS_PER_PAGE)
        .take(ROWS_PER_PAGE)
        .map(|&i| {
            let id = &table.rows[i].id;
            RowView {
                name: names.party(id),
                // Over the segments the filters keep, whatever the page.
                total: matching.iter().filter_map(|&j| cell(i, j)).sum(),
                cells: shown
                    .iter()
                    .map(|&j| {
                        let value = cell(i, j).unwrap_or(0);
                        CellView {
                            value,
                            heat: heat_level(&scale, value),
                            comment: format!(
                                "discussion?cellule={}#commenter",
                                urlencode(&format!("{id}/{}", table.columns[j].id))
                            ),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let columns = shown
        .iter()
        .map(|&j| ColumnView {
            label: names.segment(&table.columns[j].id),
            total: kept_rows.iter().filter_map(|&i| cell(i, j)).sum(),
        })
        .collect();
    let communes: BTreeSet<&str> = segments.iter().map(|s| s.commune.as_str()).collect();
    let typologies: BTreeSet<&str> = segments
        .iter()
        .filter_map(|s| s.typology.as_deref())
        .collect();
    let choices = |values: Vec<(String, String)>, selected: Option<&str>| {
        values
            .into_iter()
            .map(|(value, label)| Choice {
                selected: selected == Some(value.as_str()),
                value,
                label,
            })
            .collect::<Vec<_>>()
    };
    let mut commune_choices: Vec<(String, String)> = communes
        .into_iter()
        .map(|c| (c.to_owned(), names.commune(c)))
        .collect();
    commune_choices.sort_by(|a, b| a.1.cmp(&b.1));
    let pairs = filter_pairs(q);
    TableView {
        total: kept_rows
            .iter()
            .flat_map(|&i| matching.iter().filter_map(move |&j| cell(i, j)))
            .sum(),
        heat: given(&q.vue) == Some("chaleur"),
        heat_scale: scale,
        reservataires: choices(
            table
                .rows
                .iter()
                .map(|r| (r.id.clone(), names.party(&r.id)))
                .collect(),
            given(&q.reservataire),
        ),
        communes: choices(commune_choices, given(&q.commune)),
        typologies: choices(
            typologies
                .into_iter()
                .map(|t| (t.to_owned(), t.to_owned()))
                .collect(),
            given(&q.typologie),
        ),
        qpv_choices: choices(
            vec![
                ("oui".into(), "en QPV".into()),
                ("non".into(), "hors QPV".into()),
            ],
            wanted_qpv.map(|w| if w { "oui" } else { "non" }),
        ),
        shown_columns: shown.len(),
        matching_columns: matching.len(),
        all_columns: table.columns.len(),
        column_pager: pager(column_page, column_pages, "Segments", |p| {
            link(q, p, row_page)
        }),
        row_pager: pager(row_page, row_pages, "Réservataires", |p| {
            link(q, column_page, p)
        }),
        download_query: if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        },
        columns,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{COLUMNS_PER_PAGE, ROWS_PER_PAGE, TableQuery, table_view};
    use crate::flux::scenario::RawSegment;
    use crate::flux::solver::report::{Margin as StoredMargin, TableBasis};
    use crate::flux::solver::stored::{StoredTable, StoredTies};
    use crate::render::pages::convention::report::Names;
    use crate::render::pages::convention::{MenuItem, Page, Permissions, Workspace};

    /// The largest realistic convention: 150 réservataires and the bailleur's row, 2,000
    /// segments over 100 communes.
    fn largest() -> (
        StoredTable,
        Vec<RawSegment>,
        HashMap<String, String>,
        HashMap<String, String>,
    ) {
        let typologies = ["T1", "T2", "T3", "T4", "T5", "T6+", "T7", "T8", "T9", "T10"];
        let mut segments = Vec::new();
        let mut communes = HashMap::new();
        for c in 0..100 {
            let code = format!("69{c:03}");
            communes.insert(code.clone(), format!("Commune numéro {c} sur Saône"));
            for t in typologies {
                for qpv in [false, true] {
                    segments.push(RawSegment {
                        id: format!("{code}-{t}-{}", if qpv { "Q" } else { "H" }),
                        commune: code.clone(),
                        typology: Some(t.into()),
                        qpv,
                        flux: 60,
                    });
                }
            }
        }
        let mut parties = HashMap::new();
        let mut rows: Vec<StoredMargin> = (0..150)
            .map(|r| {
                let id = format!("reservataire-{r}");
                parties.insert(id.clone(), format!("Réservataire au nom assez long n° {r}"));
                StoredMargin { id, total: 0 }
            })
            .collect();
        rows.push(StoredMargin {
            id: "non-reserve".into(),
            total: 0,
        });
        let cells: Vec<Vec<u64>> = (0..rows.len())
            .map(|i| {
                (0..segments.len())
                    .map(|j| ((i * 7 + j * 3) % 5) as u64)
                    .collect()
            })
            .collect();
        let table = StoredTable {
            columns: segments
                .iter()
                .map(|s| StoredMargin {
                    id: s.id.clone(),
                    total: s.flux,
                })
                .collect(),
            row_divisors: vec!["1".into(); rows.len()],
            column_divisors: vec!["1".into(); segments.len()],
            rows,
            cells,
            ties: StoredTies::Grouped(Vec::new()),
            based_on: TableBasis::Proposals,
            method: String::new(),
        };
        (table, segments, parties, communes)
    }

    #[test]
    fn the_largest_table_page_stays_under_500_kilobytes() {
        let (table, segments, parties, communes) = largest();
        let names = Names {
            parties: &parties,
            communes: &communes,
            segments: &segments,
        };
        let q = TableQuery {
            vue: Some("chaleur".into()),
            ..TableQuery::default()
        };
        let view = table_view(&table, &names, &q);
        assert_eq!(view.rows.len(), ROWS_PER_PAGE);
        assert_eq!(view.columns.len(), COLUMNS_PER_PAGE);
        let all: u64 = table.cells.iter().flatten().sum();
        assert_eq!(view.total, all, "the grand total covers every page");
        let ws = Workspace {
            id: 1,
            title: "Convention".into(),
            page: Page::Table.label(),
            state: "en concertation",
            you: "secrétariat de la CIL".into(),
            version: Some(1),
            locked: false,
            menu: Page::ALL
                .iter()
                .map(|&p| MenuItem {
                    label: p.label(),
                    href: p.path(1),
                    current: p == Page::Table,
                })
                .collect(),
            csrf: "x".into(),
            can: Permissions::default(),
        };
        let page = serde_json::json!({
            "title": "Tableau des flux",
            "session": null,
            "flash": {"message": null, "error": null, "warning": null},
            "ws": ws,
            "data": {"table": view, "table_error": ""},
        });
        let html = crate::render::Templates::new()
            .unwrap()
            .render("convention/table", &page)
            .unwrap();
        eprintln!("page du tableau, 151 × 2 000 : {} octets", html.len());
        assert!(html.len() < 500_000, "{} octets", html.len());
        assert!(html.contains("Segments : page 1 sur 50"));
        assert!(html.contains("Réservataires : page 1 sur 4"));
    }

    #[test]
    fn filters_keep_matching_segments_and_rows_only() {
        let (table, segments, parties, communes) = largest();
        let names = Names {
            parties: &parties,
            communes: &communes,
            segments: &segments,
        };
        let q = TableQuery {
            commune: Some("69007".into()),
            qpv: Some("oui".into()),
            reservataire: Some("reservataire-3".into()),
            ..TableQuery::default()
        };
        let view = table_view(&table, &names, &q);
        assert_eq!(view.matching_columns, 10);
        assert_eq!(view.rows.len(), 1);
        assert!(
            view.columns
                .iter()
                .all(|c| c.label.starts_with("Commune numéro 7 sur Saône")
                    && c.label.ends_with("en QPV"))
        );
        assert_eq!(
            view.download_query,
            "?reservataire=reservataire-3&commune=69007&qpv=oui"
        );
        // Expected independently: the row's cells over the kept segments.
        let kept: u64 = segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.commune == "69007" && s.qpv)
            .map(|(j, _)| ((3 * 7 + j * 3) % 5) as u64)
            .sum();
        assert_eq!(view.rows[0].total, kept);
        assert!(view.column_pager.is_none() && view.row_pager.is_none());
    }
}
