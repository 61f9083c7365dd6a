//! The CIL's view as an XLSX workbook (issue 20, item 4): the objectives all bailleurs
//! together, each convention's forecast contribution, what the CIA assigns to each bailleur,
//! and the réservataires whose commitments could close a shortfall. Figures are numbers (two
//! decimals for households), so that a CIL secretary can re-add them.

use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet};

use crate::services::cil::{CilView, OBJECTIVES};

/// Sheet names, in order.
pub const SHEETS: [&str; 4] = [
    "Objectifs",
    "Conventions",
    "Engagements des bailleurs",
    "Leviers",
];

fn number(text: &str) -> f64 {
    text.parse::<Decimal>()
        .ok()
        .and_then(|d| rust_decimal::prelude::ToPrimitive::to_f64(&d))
        .unwrap_or(0.0)
}

struct Formats {
    title: Format,
    header: Format,
    households: Format,
    percent: Format,
    count: Format,
}

fn formats() -> Formats {
    Formats {
        title: Format::new().set_bold().set_font_size(14),
        header: Format::new()
            .set_bold()
            .set_background_color(0x00E3_E3FD)
            .set_border_bottom(FormatBorder::Thin)
            .set_text_wrap()
            .set_align(FormatAlign::Top),
        households: Format::new().set_num_format("#,##0.00"),
        percent: Format::new().set_num_format("0.00"),
        count: Format::new().set_num_format("#,##0"),
    }
}

fn head(
    sheet: &mut Worksheet,
    f: &Formats,
    title: &str,
    columns: &[&str],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    sheet.write_string_with_format(0, 0, title, &f.title)?;
    for (c, name) in columns.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        sheet.write_string_with_format(2, c, *name, &f.header)?;
        sheet.set_column_width(c, if c == 0 { 40 } else { 18 })?;
    }
    sheet.set_freeze_panes(3, 0)?;
    Ok(())
}

/// The workbook of `view`.
///
/// # Errors
/// When the XLSX writer fails (it does not on valid input).
pub fn workbook(view: &CilView) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let f = formats();
    let mut book = Workbook::new();
    let year = view
        .year
        .map_or_else(|| "aucune convention".to_owned(), |y| y.to_string());
    let cia = view.cia.as_ref().map_or_else(
        || "aucune CIA enregistrée : objectifs par défaut (25 %, 50 %, 25 %)".to_owned(),
        |c| format!("CIA version n° {} (empreinte {})", c.number, c.hash),
    );
    let title = format!("{} — {year} — {cia}", view.epci_name);

    let sheet = book.add_worksheet().set_name(SHEETS[0])?;
    head(
        sheet,
        &f,
        &format!("Objectifs de la CIA, tous bailleurs ensemble — {title}"),
        &[
            "Objectif",
            "Territoire",
            "Cible (%)",
            "Logements comptés",
            "Ménages visés",
            "Ménages prévus",
            "Prévu (%)",
            "Manque (ménages)",
        ],
    )?;
    for (i, o) in view.objectives.iter().enumerate() {
        let r = u32::try_from(i).unwrap_or(u32::MAX - 3) + 3;
        sheet.write_string(r, 0, &o.label)?;
        sheet.write_string(r, 1, o.territory.as_deref().unwrap_or("tout l'EPCI"))?;
        sheet.write_number_with_format(r, 2, number(&o.target), &f.percent)?;
        sheet.write_number_with_format(r, 3, o.dwellings as f64, &f.count)?;
        sheet.write_number_with_format(r, 4, number(&o.target_households), &f.households)?;
        sheet.write_number_with_format(r, 5, number(&o.forecast_households), &f.households)?;
        if let Some(p) = &o.forecast_percent {
            sheet.write_number_with_format(r, 6, number(p), &f.percent)?;
        }
        sheet.write_number_with_format(r, 7, number(&o.shortfall), &f.households)?;
    }

    let sheet = book.add_worksheet().set_name(SHEETS[1])?;
    let mut columns = vec![
        "Convention",
        "Bailleur",
        "État",
        "Version",
        "CIA reprise",
        "Flux annuel",
        "Manquements bloquants",
    ];
    let labels: Vec<String> = OBJECTIVES
        .iter()
        .map(|(_, label)| format!("{label} (ménages prévus)"))
        .collect();
    columns.extend(labels.iter().map(String::as_str));
    head(sheet, &f, &format!("Conventions — {title}"), &columns)?;
    for (i, c) in view.conventions.iter().enumerate() {
        let r = u32::try_from(i).unwrap_or(u32::MAX - 3) + 3;
        sheet.write_string(r, 0, format!("n° {} — {}", c.id, c.title))?;
        sheet.write_string(r, 1, &c.bailleur_name)?;
        sheet.write_string(r, 2, &c.state_label)?;
        if let Some(v) = c.version {
            sheet.write_number(r, 3, v as f64)?;
        }
        sheet.write_string(
            r,
            4,
            c.cia_version
                .map_or_else(|| "valeurs par défaut".to_owned(), |n| format!("n° {n}")),
        )?;
        sheet.write_number_with_format(r, 5, c.flux as f64, &f.count)?;
        sheet.write_number(r, 6, c.blocking as f64)?;
        for (k, x) in c.contributions.iter().enumerate() {
            let col = u16::try_from(7 + k).unwrap_or(u16::MAX);
            sheet.write_number_with_format(r, col, number(&x.households), &f.households)?;
        }
    }

    let sheet = book.add_worksheet().set_name(SHEETS[2])?;
    head(
        sheet,
        &f,
        &format!("Engagements que la CIA assigne aux bailleurs — {title}"),
        &[
            "Bailleur",
            "Engagement",
            "Assigné (ménages par an)",
            "Prévu par la convention",
            "Manque",
        ],
    )?;
    for (i, a) in view.assigned.iter().enumerate() {
        let r = u32::try_from(i).unwrap_or(u32::MAX - 3) + 3;
        sheet.write_string(r, 0, &a.bailleur_name)?;
        sheet.write_string(r, 1, &a.label)?;
        sheet.write_number_with_format(r, 2, a.assigned as f64, &f.count)?;
        match &a.forecast {
            Some(v) => sheet.write_number_with_format(r, 3, number(v), &f.households)?,
            None => sheet.write_string(r, 3, "non connu")?,
        };
        if let Some(s) = &a.shortfall {
            sheet.write_number_with_format(r, 4, number(s), &f.households)?;
        }
    }

    let sheet = book.add_worksheet().set_name(SHEETS[3])?;
    head(
        sheet,
        &f,
        &format!("Qui peut combler un manque — {title}"),
        &[
            "Objectif",
            "Territoire",
            "Convention",
            "Bailleur",
            "Ligne du tableau",
            "Engagement actuel (%)",
            "Logements",
            "Ménages gagnés à la cible",
        ],
    )?;
    let mut r = 3u32;
    for o in &view.objectives {
        for c in &o.closers {
            sheet.write_string(r, 0, &o.label)?;
            sheet.write_string(r, 1, o.territory.as_deref().unwrap_or("tout l'EPCI"))?;
            sheet.write_number(r, 2, c.convention as f64)?;
            sheet.write_string(r, 3, &c.bailleur)?;
            sheet.write_string(r, 4, &c.name)?;
            sheet.write_number_with_format(r, 5, number(&c.commitment), &f.percent)?;
            sheet.write_number_with_format(r, 6, c.dwellings as f64, &f.count)?;
            sheet.write_number_with_format(r, 7, number(&c.households), &f.households)?;
            r += 1;
        }
    }
    book.save_to_buffer()
}
