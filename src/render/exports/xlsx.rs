//! The XLSX workbook of a flux table: one sheet per view, each with a title row naming the
//! convention, the version and its hash, a bold frozen header and an autofilter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rust_xlsxwriter::{ColNum, Format, FormatAlign, FormatBorder, RowNum, Workbook, Worksheet};
use sha2::{Digest, Sha256};

use super::{ExportError, FluxTable};

/// Sheet names, in order (Excel allows 31 characters).
pub const SHEETS: [&str; 5] = [
    "Tableau",
    "Par réservataire",
    "Par commune",
    "Détail",
    "Certificat",
];

/// Rows above a sheet's header: the title, the filter, an empty line.
const HEADER_ROW: RowNum = 3;

struct Formats {
    title: Format,
    subtitle: Format,
    header: Format,
    count: Format,
    total: Format,
    total_label: Format,
    text: Format,
    wrap: Format,
}

impl Formats {
    fn new() -> Self {
        let header = Format::new()
            .set_bold()
            .set_background_color(0x00E3_E3FD)
            .set_border_bottom(FormatBorder::Thin)
            .set_text_wrap()
            .set_align(FormatAlign::Top);
        Self {
            title: Format::new().set_bold().set_font_size(14),
            subtitle: Format::new().set_italic(),
            header,
            count: Format::new().set_num_format("#,##0"),
            total: Format::new()
                .set_bold()
                .set_num_format("#,##0")
                .set_border_top(FormatBorder::Thin),
            total_label: Format::new().set_bold().set_border_top(FormatBorder::Thin),
            text: Format::new().set_num_format("@"),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
        }
    }
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> ExportError {
    ExportError::Xlsx(e.to_string())
}

fn col(index: usize) -> Result<ColNum, ExportError> {
    ColNum::try_from(index)
        .ok()
        .filter(|c| *c < 16_384)
        .ok_or_else(|| {
            ExportError::Xlsx(
                "le tableau a plus de colonnes qu'une feuille Excel n'en admet (16 384) : filtrez-le par commune".into(),
            )
        })
}

fn row(index: usize) -> Result<RowNum, ExportError> {
    RowNum::try_from(index)
        .ok()
        .filter(|r| *r < 1_048_576)
        .ok_or_else(|| {
            ExportError::Xlsx(
                "le tableau a plus de lignes qu'une feuille Excel n'en admet (1 048 576) : filtrez-le".into(),
            )
        })
}

fn number(value: u64) -> f64 {
    // Dwelling counts stay far below 2^53.
    value as f64
}

/// Adds a sheet with its title rows; returns it. The sheet is written row after row and each
/// row leaves memory once the next one starts (« low memory » mode: the strings stay shared),
/// so a workbook of a million cells holds tens of megabytes, not hundreds.
fn sheet<'a>(
    book: &'a mut Workbook,
    name: &str,
    table: &FluxTable,
    f: &Formats,
) -> Result<&'a mut Worksheet, ExportError> {
    let sheet = book.add_worksheet_with_low_memory().map_err(xlsx_error)?;
    sheet.set_name(name).map_err(xlsx_error)?;
    sheet
        .write_with_format(
            0,
            0,
            format!(
                "{} — version n° {} — empreinte SHA-256 {}",
                table.title, table.version, table.hash
            ),
            &f.title,
        )
        .map_err(xlsx_error)?;
    sheet
        .write_with_format(
            1,
            0,
            format!("{} — {name}", table.filter_label()),
            &f.subtitle,
        )
        .map_err(xlsx_error)?;
    Ok(sheet)
}

/// Writes a header row at `HEADER_ROW`, freezes it (and `frozen_cols`) and sets widths.
fn header(
    sheet: &mut Worksheet,
    titles: &[(&str, f64)],
    frozen_cols: ColNum,
    f: &Formats,
) -> Result<(), ExportError> {
    for (i, (title, width)) in titles.iter().enumerate() {
        let c = col(i)?;
        sheet
            .write_with_format(HEADER_ROW, c, *title, &f.header)
            .map_err(xlsx_error)?;
        sheet.set_column_width(c, *width).map_err(xlsx_error)?;
    }
    sheet
        .set_freeze_panes(HEADER_ROW + 1, frozen_cols)
        .map_err(xlsx_error)?;
    Ok(())
}

fn autofilter(sheet: &mut Worksheet, lines: usize, columns: usize) -> Result<(), ExportError> {
    if columns == 0 {
        return Ok(());
    }
    sheet
        .autofilter(HEADER_ROW, 0, HEADER_ROW + row(lines)?, col(columns - 1)?)
        .map_err(xlsx_error)?;
    Ok(())
}

/// Workbooks kept at once, and the largest kept (bytes): a few large conventions' tables.
const KEPT_WORKBOOKS: usize = 8;
const KEPT_BYTES: usize = 16 << 20;

type Kept = Mutex<HashMap<[u8; 32], Arc<Vec<u8>>>>;
/// The workbooks being built, each with its gate: a request for a workbook being built (by
/// another request or ahead, `services::conventions::prebuild`) waits for it rather than
/// building it a second time.
type Building = Mutex<HashMap<[u8; 32], Arc<Mutex<()>>>>;

/// The workbook of `table`, built once per content. At the largest size (150 réservataires ×
/// 815 segments, 1.2 million cells) building it takes about a second, while a version's table
/// never changes: the workbook is kept under the SHA-256 of everything it shows (the table as
/// JSON, commune names and filter included), so a new version, filter or commune name builds
/// anew. Blocks while it builds: call it off the async executor.
pub fn workbook(table: &FluxTable) -> Result<Vec<u8>, ExportError> {
    static KEPT: OnceLock<Kept> = OnceLock::new();
    static BUILDING: OnceLock<Building> = OnceLock::new();
    let kept = KEPT.get_or_init(Kept::default);
    let building = BUILDING.get_or_init(Building::default);
    let content = serde_json::to_vec(table).map_err(|e| ExportError::Xlsx(e.to_string()))?;
    let key: [u8; 32] = Sha256::digest(&content).into();
    let lock = || kept.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(bytes) = lock().get(&key) {
        return Ok(bytes.as_ref().clone());
    }
    let gate = Arc::clone(
        building
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default(),
    );
    let built = {
        let _building = gate.lock().unwrap_or_else(|p| p.into_inner());
        // Built meanwhile by the holder of the gate?
        let found = lock().get(&key).map(|bytes| bytes.as_ref().clone());
        match found {
            Some(bytes) => Ok(bytes),
            None => build_and_keep(table, key, kept),
        }
    };
    building
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&key);
    built
}

fn build_and_keep(table: &FluxTable, key: [u8; 32], kept: &Kept) -> Result<Vec<u8>, ExportError> {
    let bytes = build_workbook(table)?;
    if bytes.len() <= KEPT_BYTES {
        let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= KEPT_WORKBOOKS
            && let Some(evicted) = kept.keys().next().copied()
        {
            kept.remove(&evicted);
        }
        kept.insert(key, Arc::new(bytes.clone()));
    }
    Ok(bytes)
}

/// « Tableau », « Par réservataire », « Par commune », « Détail », « Certificat ».
fn build_workbook(table: &FluxTable) -> Result<Vec<u8>, ExportError> {
    let f = Formats::new();
    let mut book = Workbook::new();
    matrix_sheet(&mut book, table, &f)?;
    by_reservataire_sheet(&mut book, table, &f)?;
    by_commune_sheet(&mut book, table, &f)?;
    detail_sheet(&mut book, table, &f)?;
    certificate_sheet(&mut book, table, &f)?;
    book.save_to_buffer().map_err(xlsx_error)
}

/// Réservataires × segments with margins.
fn matrix_sheet(book: &mut Workbook, t: &FluxTable, f: &Formats) -> Result<(), ExportError> {
    let sheet = sheet(book, SHEETS[0], t, f)?;
    let segment_titles: Vec<String> = t
        .segments
        .iter()
        .map(|s| {
            format!(
                "{}\n{} — {} — {}",
                s.id,
                s.commune_name,
                s.typology_label(),
                if s.qpv { "QPV" } else { "hors QPV" }
            )
        })
        .collect();
    let mut titles: Vec<(&str, f64)> = vec![("Identifiant", 18.0), ("Réservataire", 32.0)];
    titles.extend(segment_titles.iter().map(|s| (s.as_str(), 16.0)));
    titles.push(("Total", 12.0));
    header(sheet, &titles, 2, f)?;
    sheet.set_row_height(HEADER_ROW, 60).map_err(xlsx_error)?;
    let total_col = col(t.segments.len() + 2)?;
    for (r, (info, total)) in t.rows.iter().zip(t.row_totals()).enumerate() {
        let line = HEADER_ROW + 1 + row(r)?;
        sheet.write(line, 0, &info.id).map_err(xlsx_error)?;
        sheet.write(line, 1, &info.name).map_err(xlsx_error)?;
        for (c, value) in t.cells[r].iter().enumerate() {
            sheet
                .write_number_with_format(line, col(c + 2)?, number(*value), &f.count)
                .map_err(xlsx_error)?;
        }
        sheet
            .write_number_with_format(line, total_col, number(total), &f.total)
            .map_err(xlsx_error)?;
    }
    let last = HEADER_ROW + 1 + row(t.rows.len())?;
    sheet
        .write_with_format(last, 0, "Total", &f.total_label)
        .map_err(xlsx_error)?;
    sheet
        .write_with_format(last, 1, "", &f.total_label)
        .map_err(xlsx_error)?;
    for (c, total) in t.segment_totals().iter().enumerate() {
        sheet
            .write_number_with_format(last, col(c + 2)?, number(*total), &f.total)
            .map_err(xlsx_error)?;
    }
    sheet
        .write_number_with_format(last, total_col, number(t.total()), &f.total)
        .map_err(xlsx_error)?;
    autofilter(sheet, t.rows.len(), t.segments.len() + 3)
}

/// Réservataires × communes: each réservataire's total and its part in each commune.
fn by_reservataire_sheet(
    book: &mut Workbook,
    t: &FluxTable,
    f: &Formats,
) -> Result<(), ExportError> {
    let sheet = sheet(book, SHEETS[1], t, f)?;
    let communes = t.communes();
    let commune_titles: Vec<String> = communes
        .iter()
        .map(|(code, name)| format!("{name} ({code})"))
        .collect();
    let mut titles: Vec<(&str, f64)> = vec![
        ("Identifiant", 18.0),
        ("Réservataire", 32.0),
        ("Type", 14.0),
        ("Total", 12.0),
    ];
    titles.extend(commune_titles.iter().map(|s| (s.as_str(), 16.0)));
    header(sheet, &titles, 2, f)?;
    let by_commune = t.by_commune();
    for (r, (info, total)) in t.rows.iter().zip(t.row_totals()).enumerate() {
        let line = HEADER_ROW + 1 + row(r)?;
        sheet.write(line, 0, &info.id).map_err(xlsx_error)?;
        sheet.write(line, 1, &info.name).map_err(xlsx_error)?;
        sheet.write(line, 2, &info.kind).map_err(xlsx_error)?;
        sheet
            .write_number_with_format(line, 3, number(total), &f.total)
            .map_err(xlsx_error)?;
        for (k, value) in by_commune[r].iter().enumerate() {
            sheet
                .write_number_with_format(line, col(k + 4)?, number(*value), &f.count)
                .map_err(xlsx_error)?;
        }
    }
    let last = HEADER_ROW + 1 + row(t.rows.len())?;
    sheet
        .write_with_format(last, 0, "Total", &f.total_label)
        .map_err(xlsx_error)?;
    sheet
        .write_number_with_format(last, 3, number(t.total()), &f.total)
        .map_err(xlsx_error)?;
    for k in 0..communes.len() {
        let sum: u64 = by_commune.iter().map(|line| line[k]).sum();
        sheet
            .write_number_with_format(last, col(k + 4)?, number(sum), &f.total)
            .map_err(xlsx_error)?;
    }
    autofilter(sheet, t.rows.len(), communes.len() + 4)
}

/// Communes × réservataires.
fn by_commune_sheet(book: &mut Workbook, t: &FluxTable, f: &Formats) -> Result<(), ExportError> {
    let sheet = sheet(book, SHEETS[2], t, f)?;
    let communes = t.communes();
    let by_commune = t.by_commune();
    let row_titles: Vec<String> = t
        .rows
        .iter()
        .map(|r| format!("{} ({})", r.name, r.id))
        .collect();
    let mut titles: Vec<(&str, f64)> = vec![("Code INSEE", 12.0), ("Commune", 28.0)];
    titles.extend(row_titles.iter().map(|s| (s.as_str(), 16.0)));
    titles.push(("Total", 12.0));
    header(sheet, &titles, 2, f)?;
    let total_col = col(t.rows.len() + 2)?;
    for (k, (code, name)) in communes.iter().enumerate() {
        let line = HEADER_ROW + 1 + row(k)?;
        sheet
            .write_with_format(line, 0, code, &f.text)
            .map_err(xlsx_error)?;
        sheet.write(line, 1, name).map_err(xlsx_error)?;
        let mut sum = 0;
        for (r, values) in by_commune.iter().enumerate() {
            sum += values[k];
            sheet
                .write_number_with_format(line, col(r + 2)?, number(values[k]), &f.count)
                .map_err(xlsx_error)?;
        }
        sheet
            .write_number_with_format(line, total_col, number(sum), &f.total)
            .map_err(xlsx_error)?;
    }
    let last = HEADER_ROW + 1 + row(communes.len())?;
    sheet
        .write_with_format(last, 0, "Total", &f.total_label)
        .map_err(xlsx_error)?;
    for (r, total) in t.row_totals().iter().enumerate() {
        sheet
            .write_number_with_format(last, col(r + 2)?, number(*total), &f.total)
            .map_err(xlsx_error)?;
    }
    sheet
        .write_number_with_format(last, total_col, number(t.total()), &f.total)
        .map_err(xlsx_error)?;
    autofilter(sheet, communes.len(), t.rows.len() + 3)
}

/// The long table, as the CSV.
fn detail_sheet(book: &mut Workbook, t: &FluxTable, f: &Formats) -> Result<(), ExportError> {
    let sheet = sheet(book, SHEETS[3], t, f)?;
    header(
        sheet,
        &[
            ("Identifiant", 18.0),
            ("Réservataire", 32.0),
            ("Segment", 22.0),
            ("Code INSEE", 12.0),
            ("Commune", 24.0),
            ("Typologie", 11.0),
            ("QPV", 7.0),
            ("Logements", 12.0),
        ],
        0,
        f,
    )?;
    let mut line = HEADER_ROW;
    for (r, info) in t.rows.iter().enumerate() {
        for (c, s) in t.segments.iter().enumerate() {
            line += 1;
            if line >= 1_048_576 {
                return Err(row(usize::MAX).unwrap_err());
            }
            sheet.write(line, 0, &info.id).map_err(xlsx_error)?;
            sheet.write(line, 1, &info.name).map_err(xlsx_error)?;
            sheet.write(line, 2, &s.id).map_err(xlsx_error)?;
            sheet
                .write_with_format(line, 3, &s.commune, &f.text)
                .map_err(xlsx_error)?;
            sheet.write(line, 4, &s.commune_name).map_err(xlsx_error)?;
            sheet
                .write(line, 5, s.typology_label())
                .map_err(xlsx_error)?;
            sheet
                .write(line, 6, if s.qpv { "oui" } else { "non" })
                .map_err(xlsx_error)?;
            sheet
                .write_number_with_format(line, 7, number(t.cells[r][c]), &f.count)
                .map_err(xlsx_error)?;
        }
    }
    autofilter(sheet, t.rows.len() * t.segments.len(), 8)
}

/// What anyone needs to recompute each cell: the method, the divisors and the ties.
fn certificate_sheet(book: &mut Workbook, t: &FluxTable, f: &Formats) -> Result<(), ExportError> {
    let sheet = sheet(book, SHEETS[4], t, f)?;
    header(
        sheet,
        &[
            ("Ligne ou colonne", 24.0),
            ("Libellé", 36.0),
            ("Diviseur", 22.0),
            ("Total du tableau", 16.0),
            ("Total affiché", 14.0),
        ],
        0,
        f,
    )?;
    let mut line = HEADER_ROW;
    for (info, total) in t.rows.iter().zip(t.row_totals()) {
        line += 1;
        sheet.write(line, 0, &info.id).map_err(xlsx_error)?;
        sheet.write(line, 1, &info.name).map_err(xlsx_error)?;
        // Divisors as text: their twelve significant digits are exact, a float is not.
        sheet
            .write_with_format(line, 2, &info.divisor, &f.text)
            .map_err(xlsx_error)?;
        sheet
            .write_number_with_format(line, 3, number(info.margin), &f.count)
            .map_err(xlsx_error)?;
        sheet
            .write_number_with_format(line, 4, number(total), &f.count)
            .map_err(xlsx_error)?;
    }
    for (s, total) in t.segments.iter().zip(t.segment_totals()) {
        line += 1;
        sheet
            .write(line, 0, format!("segment {}", s.id))
            .map_err(xlsx_error)?;
        sheet
            .write(
                line,
                1,
                format!(
                    "{} — {} — {}",
                    s.commune_name,
                    s.typology_label(),
                    if s.qpv { "QPV" } else { "hors QPV" }
                ),
            )
            .map_err(xlsx_error)?;
        sheet
            .write_with_format(line, 2, &s.divisor, &f.text)
            .map_err(xlsx_error)?;
        sheet
            .write_number_with_format(line, 3, number(s.flux), &f.count)
            .map_err(xlsx_error)?;
        sheet
            .write_number_with_format(line, 4, number(total), &f.count)
            .map_err(xlsx_error)?;
    }
    sheet
        .autofilter(HEADER_ROW, 0, line, 4)
        .map_err(xlsx_error)?;
    line += 2;
    sheet
        .write_with_format(line, 0, "Égalités", &f.header)
        .map_err(xlsx_error)?;
    if t.ties.is_empty() {
        line += 1;
        sheet
            .write(
                line,
                0,
                "Aucune : chaque cellule est l'unique arrondi de son quotient.",
            )
            .map_err(xlsx_error)?;
    } else {
        line += 1;
        for (i, title) in ["Ligne", "Segment", "Valeur retenue", "Autre valeur"]
            .iter()
            .enumerate()
        {
            sheet
                .write_with_format(line, col(i)?, *title, &f.header)
                .map_err(xlsx_error)?;
        }
        for tie in &t.ties {
            line += 1;
            sheet.write(line, 0, &tie.row).map_err(xlsx_error)?;
            sheet.write(line, 1, &tie.column).map_err(xlsx_error)?;
            sheet
                .write_number_with_format(line, 2, number(tie.value), &f.count)
                .map_err(xlsx_error)?;
            sheet
                .write_number_with_format(line, 3, number(tie.alternative), &f.count)
                .map_err(xlsx_error)?;
        }
    }
    line += 2;
    sheet
        .write_with_format(line, 0, "Méthode", &f.header)
        .map_err(xlsx_error)?;
    line += 1;
    sheet
        .merge_range(line, 0, line, 4, &t.method, &f.wrap)
        .map_err(xlsx_error)?;
    sheet.set_row_height(line, 150).map_err(xlsx_error)?;
    line += 1;
    sheet
        .merge_range(
            line,
            0,
            line,
            4,
            "Chaque cellule est l'arrondi standard de son poids (part du réservataire dans le segment × flux du segment ; pour le flux non réservé, ce qui reste du segment) divisé par le produit du diviseur de sa ligne et du diviseur de sa colonne.",
            &f.wrap,
        )
        .map_err(xlsx_error)?;
    sheet.set_row_height(line, 45).map_err(xlsx_error)?;
    Ok(())
}
