//! Tables: columns sized to their content within the page width, cells wrapped, header cells
//! tagged as such, and the header row drawn again at the top of every page the table spans.

use super::fonts::{Face, width};
use super::layout::{BODY, Color, Layout, MARGIN_X, Mark, Shape, Style, Tag, WIDTH};
use super::text::{longest_word, wrap};
use crate::render::document::DocTable;

const PAD: f32 = 3.0;
const CELL: Style = Style {
    face: Face::Regular,
    size: 7.5,
    color: Color::Text,
    leading: 9.6,
};
const HEAD: Style = Style {
    face: Face::Bold,
    ..CELL
};
const TOTAL: Style = Style {
    face: Face::Bold,
    ..CELL
};
const CAPTION: Style = Style {
    face: Face::Bold,
    size: 8.5,
    color: Color::Text,
    leading: 11.0,
};

/// A row ready to draw: each cell's lines.
struct Row {
    cells: Vec<Vec<String>>,
    height: f32,
}

fn row(texts: &[String], widths: &[f32], style: Style) -> Row {
    let cells: Vec<Vec<String>> = texts
        .iter()
        .zip(widths)
        .map(|(t, w)| {
            if t.is_empty() {
                Vec::new()
            } else {
                wrap(t, style.face, style.size, w - 2.0 * PAD)
            }
        })
        .collect();
    let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    Row {
        cells,
        height: lines as f32 * style.leading + 2.0 * PAD,
    }
}

/// Column widths: each column's natural width, shrunk towards its longest word when the table
/// is wider than the page, then stretched to the full width.
fn widths(t: &DocTable) -> Vec<f32> {
    let n = t.columns.len();
    let mut natural: Vec<f32> = vec![0.0; n];
    let mut minimum: Vec<f32> = vec![0.0; n];
    let all_rows = t.rows.iter().chain(t.total.iter());
    for (i, c) in t.columns.iter().enumerate() {
        natural[i] = longest_word(&c.label, HEAD.face, HEAD.size)
            .max(width(HEAD.face, HEAD.size, &c.label) * 0.6);
        minimum[i] = longest_word(&c.label, HEAD.face, HEAD.size);
    }
    for r in all_rows {
        for (i, cell) in r.iter().enumerate().take(n) {
            natural[i] = natural[i].max(width(CELL.face, CELL.size, cell));
            minimum[i] = minimum[i].max(longest_word(cell, CELL.face, CELL.size));
        }
    }
    let cap = WIDTH / n.max(1) as f32 * 1.5;
    let natural: Vec<f32> = natural.iter().map(|w| w + 2.0 * PAD + 1.0).collect();
    let minimum: Vec<f32> = minimum
        .iter()
        .zip(&natural)
        .map(|(m, w)| (m + 2.0 * PAD + 1.0).min(cap).min(*w))
        .collect();
    let total: f32 = natural.iter().sum();
    let widths: Vec<f32> = if total <= WIDTH {
        natural
    } else {
        let floor: f32 = minimum.iter().sum();
        if floor >= WIDTH {
            minimum.iter().map(|m| m * WIDTH / floor).collect()
        } else {
            let k = (WIDTH - floor) / (total - floor);
            minimum
                .iter()
                .zip(&natural)
                .map(|(m, w)| m + (w - m) * k)
                .collect()
        }
    };
    let sum: f32 = widths.iter().sum();
    widths.iter().map(|w| w * WIDTH / sum).collect()
}

/// The header row at the current position: shaded, its cells tagged TH, or an artifact when
/// repeated at the top of a new page (`mark`).
fn draw_header(l: &mut Layout, r: &Row, t: &DocTable, widths: &[f32], mark: Option<Mark>) {
    let y = l.y;
    l.page().shapes.push(Shape::Rect {
        x: MARGIN_X,
        y,
        w: WIDTH,
        h: r.height,
        color: Color::Shade,
    });
    draw_cells(l, r, t, widths, HEAD, true, mark);
}

/// The table `t`, its caption above it.
pub fn table(l: &mut Layout, t: &DocTable) {
    if t.columns.is_empty() {
        return;
    }
    let widths = widths(t);
    let labels: Vec<String> = t.columns.iter().map(|c| c.label.clone()).collect();
    let header = row(&labels, &widths, HEAD);
    let first = t.rows.first().map_or(0.0, |r| row(r, &widths, CELL).height);
    l.space(4.0);
    l.ensure(CAPTION.leading * 2.0 + header.height + first);
    l.open(Tag::Table);
    l.open(Tag::Caption);
    l.lines(&t.caption, CAPTION, MARGIN_X, WIDTH);
    l.close();
    l.y += 3.0;
    l.rule(MARGIN_X, MARGIN_X + WIDTH, l.y, 0.6);
    l.open(Tag::THead);
    l.open(Tag::TR);
    draw_header(l, &header, t, &widths, None);
    l.close();
    l.close();
    l.open(Tag::TBody);
    for texts in &t.rows {
        let r = row(texts, &widths, CELL);
        body_row(l, &r, t, &widths, &header, CELL);
    }
    l.close();
    if let Some(total) = &t.total {
        let r = row(total, &widths, TOTAL);
        l.open(Tag::TFoot);
        body_row(l, &r, t, &widths, &header, TOTAL);
        l.close();
    }
    l.close();
    l.y += BODY.leading * 0.6;
}

/// A body row, on a new page under the repeated header when it does not fit.
fn body_row(l: &mut Layout, r: &Row, t: &DocTable, widths: &[f32], header: &Row, style: Style) {
    let before = l.pages.len();
    l.ensure(r.height);
    if l.pages.len() > before {
        l.rule(MARGIN_X, MARGIN_X + WIDTH, l.y, 0.6);
        draw_header(l, header, t, widths, Some(Mark::Artifact));
    }
    l.open(Tag::TR);
    draw_cells(l, r, t, widths, style, false, None);
    l.close();
}

/// The cells of a row, numbers aligned right: tagged TH in the header, TD in the body, not
/// tagged when `mark` says they are an artifact.
fn draw_cells(
    l: &mut Layout,
    r: &Row,
    t: &DocTable,
    widths: &[f32],
    style: Style,
    header: bool,
    mark: Option<Mark>,
) {
    let top = l.y;
    let mut x = MARGIN_X;
    for (i, (lines, w)) in r.cells.iter().zip(widths).enumerate() {
        let numeric = t.columns.get(i).is_some_and(|c| c.numeric);
        if mark.is_none() {
            l.open(if header { Tag::TH } else { Tag::TD });
        }
        for (k, line) in lines.iter().enumerate() {
            let y = top + PAD + (k as f32 + 1.0) * style.leading - style.leading * 0.25;
            let lx = if numeric {
                x + w - PAD - width(style.face, style.size, line)
            } else {
                x + PAD
            };
            l.run(lx, y, style, line, mark);
        }
        if mark.is_none() {
            l.close();
        }
        x += w;
    }
    l.y = top + r.height;
    l.rule(MARGIN_X, MARGIN_X + WIDTH, l.y, 0.3);
}
