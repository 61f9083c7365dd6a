//! Charts drawn on the server as SVG (issue 16 item 5), for readers who would rather look than
//! read: each party's share of the flux, the State's share per commune against its cap, each
//! CIA objective against its target. No JavaScript.
//!
//! Every chart comes with its text alternative (`<title>` and `<desc>` of an `role="img"` SVG)
//! and the rows of the data table shown beside it (partial `chart`): the figures are never
//! carried by the drawing alone (RGAA 1.1, 3.2: a bar above its cap says so in words, not only
//! in red). Colours come from the DSFR palette and contrast at least 3:1 with the white
//! background (WCAG 1.4.11). Every text is escaped.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

/// Bars: DSFR « blue-france-main-525 ».
pub const BAR_COLOUR: &str = "#6a6af4";
/// A bar beyond its cap: DSFR « error-425 ».
pub const OVER_COLOUR: &str = "#ce0500";
/// Cap lines, target markers, text: DSFR « grey-50-1000 ».
pub const INK_COLOUR: &str = "#161616";
/// Axis and grid: DSFR « grey-425 ».
pub const AXIS_COLOUR: &str = "#666666";

/// Geometry of the drawing, in SVG units. The SVG is drawn at this width on a wide screen and
/// scaled down to the column on a phone (375 px leaves about 340 px: a factor of 0.8), so the
/// text sizes below stay readable there (11.5 px and more). Each bar's label stands on its own
/// line above the bar, across the whole width: no label is pushed out at the left edge,
/// however long it is.
pub const WIDTH: f64 = 420.0;
/// Where the bars start.
pub const BAR_LEFT: f64 = 2.0;
const LABEL_SIZE: f64 = 16.0;
const VALUE_SIZE: f64 = 15.0;
const AXIS_SIZE: f64 = 14.0;
/// The label's line, then the bar.
const ROW: f64 = 50.0;
const BAR_TOP: f64 = 22.0;
const BAR_HEIGHT: f64 = 18.0;
const TOP: f64 = 6.0;
/// Room above the rows for the label of a cap line.
const CAP_BAND: f64 = 20.0;
const AXIS: f64 = 24.0;
/// The space between a bar's end and its value.
const GAP: f64 = 6.0;
/// The average advance of a character, in em: generous for the DSFR's Marianne (and for the
/// sans-serif fonts that stand in for it), so that an estimated text is never longer drawn.
const CHAR_EM: f64 = 0.6;

/// The estimated width of `text` written at `size`.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * CHAR_EM
}

/// How many characters of a label fit on the width of the drawing.
fn label_chars() -> usize {
    (WIDTH / (LABEL_SIZE * CHAR_EM)).floor() as usize
}

/// What the page shows when there is nothing to draw.
pub const NO_DATA: &str = "Aucune donnée à représenter pour le moment.";

/// A chart ready for the partial `chart`: the SVG (already escaped), or the message saying
/// there is nothing to draw, and the data table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    pub id: String,
    pub title: String,
    /// The text alternative: what the chart shows, in one or two sentences.
    pub description: String,
    /// The `<svg>` element; empty when there is no data.
    pub svg: String,
    /// « Aucune donnée… » when there is no data.
    pub empty_message: Option<String>,
    pub columns: Vec<String>,
    /// One row per bar, cells in the order of `columns`; the first cell names the bar.
    pub rows: Vec<Vec<String>>,
}

/// One party's row of the flux table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyShare {
    /// The party's name (« Préfet du Rhône », « Flux non réservé (bailleur) »).
    pub name: String,
    pub dwellings: i64,
}

/// The State's share of one commune's flux, in percent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommuneShare {
    /// The commune's name.
    pub commune: String,
    pub share: Decimal,
}

/// A CIA objective: the value reached (or committed) and its target, in percent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectiveProgress {
    pub label: String,
    pub value: Decimal,
    pub target: Decimal,
}

/// `<`, `>`, `&`, `"` and `'` as entities, for SVG text and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An id usable in `id=""` and `aria-labelledby`.
fn clean_id(id: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if id.is_empty() {
        "graphique".into()
    } else {
        format!("graphique-{id}")
    }
}

/// « 1 234 » with a non-breaking space between thousands.
pub fn french_integer(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// « 25,5 % » (one decimal, a comma, a non-breaking space before the sign).
pub fn french_percent(value: Decimal) -> String {
    let rounded =
        value.round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    format!("{rounded:.1}\u{a0}%").replace('.', ",")
}

fn to_f64(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

/// The top of a percent scale: `max` rounded up to a multiple of 10, at least 10.
fn percent_scale(max: f64) -> f64 {
    ((max / 10.0).ceil() * 10.0).max(10.0)
}

/// The width of a bar of `value` on a scale whose top is `scale`, `area` being the width of a
/// bar at the top of the scale.
fn bar_width(value: f64, scale: f64, area: f64) -> f64 {
    if scale <= 0.0 {
        0.0
    } else {
        (value.max(0.0) / scale).min(1.0) * area
    }
}

/// Two decimals at most, no trailing zeros: stable SVG text.
/// A coordinate to the hundredth, without trailing zeros (`12.5`, `3`, `-0.25`). Written from
/// the rounded integer: formatting a float with `{:.2}` is several times slower, and a chart of
/// the largest convention writes thousands of coordinates.
fn num(value: f64) -> String {
    if !value.is_finite() {
        return "0".to_owned();
    }
    // Drawing coordinates stay far inside i64.
    let hundredths = (value * 100.0).round() as i64;
    let sign = if hundredths < 0 { "-" } else { "" };
    let (units, fraction) = (
        hundredths.unsigned_abs() / 100,
        hundredths.unsigned_abs() % 100,
    );
    match fraction {
        0 => format!("{sign}{units}"),
        f if f % 10 == 0 => format!("{sign}{units}.{}", f / 10),
        f => format!("{sign}{units}.{f:02}"),
    }
}

fn shortened(label: &str) -> String {
    let max = label_chars();
    if label.chars().count() <= max {
        label.to_owned()
    } else {
        let mut short: String = label.chars().take(max - 1).collect();
        short.push('…');
        short
    }
}

/// One bar: its label, its value on the chart's scale, its colour, the short value written
/// after it, what its tooltip says, and an optional marker (a target) on the same scale.
struct Bar {
    label: String,
    value: f64,
    colour: &'static str,
    /// « 25,5 % », « 1 234 (25,5 %) »: short, the table says the rest.
    value_text: String,
    /// The whole of it in words, for the tooltip.
    tooltip: String,
    marker: Option<f64>,
}

/// A vertical line across all rows (a cap), on the chart's scale, with its label.
struct Line {
    value: f64,
    label: String,
}

/// What the three charts have in common: the bars on one scale, an optional cap line, the
/// scale's two ends written under the axis.
struct Drawing<'a> {
    id: &'a str,
    title: &'a str,
    description: &'a str,
    bars: Vec<Bar>,
    scale: f64,
    line: Option<Line>,
    axis: (String, String),
}

fn empty_chart(id: &str, title: &str, columns: &[&str]) -> Chart {
    Chart {
        id: clean_id(id),
        title: title.to_owned(),
        description: NO_DATA.to_owned(),
        svg: String::new(),
        empty_message: Some(NO_DATA.to_owned()),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        rows: Vec::new(),
    }
}

/// A chart from its drawing and its data table.
fn finish(drawing: Drawing<'_>, columns: &[&str], rows: Vec<Vec<String>>) -> Chart {
    Chart {
        id: drawing.id.to_owned(),
        title: drawing.title.to_owned(),
        description: drawing.description.to_owned(),
        svg: draw(&drawing),
        empty_message: None,
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        rows,
    }
}

/// `<text>` at (`x`, `y`), anchored `anchor`, escaped.
fn text(x: f64, y: f64, anchor: &str, size: f64, colour: &str, content: &str) -> String {
    format!(
        "<text x=\"{x}\" y=\"{y}\" text-anchor=\"{anchor}\" font-size=\"{size}\" fill=\"{colour}\">{content}</text>",
        x = num(x),
        y = num(y),
        size = num(size),
        content = escape(content),
    )
}

/// A bar's value: white around the letters, so that a cap line crossing it does not cross
/// its words.
fn value_text(x: f64, y: f64, content: &str) -> String {
    text(x, y, "start", VALUE_SIZE, INK_COLOUR, content).replacen(
        "<text ",
        "<text stroke=\"#ffffff\" stroke-width=\"4\" stroke-linejoin=\"round\" paint-order=\"stroke\" ",
        1,
    )
}

/// A text centred on `x` but kept inside the drawing: moved in from an edge it would cross.
fn text_centred_within(x: f64, y: f64, size: f64, colour: &str, content: &str) -> String {
    let half = text_width(content, size) / 2.0;
    let x = x.clamp(half.min(WIDTH / 2.0), (WIDTH - half).max(WIDTH / 2.0));
    text(x, y, "middle", size, colour, content)
}

/// The width of a bar at the top of the scale: the drawing's width less the room the longest
/// value needs after its bar.
fn bar_area(bars: &[Bar]) -> f64 {
    let room = bars
        .iter()
        .map(|b| text_width(&b.value_text, VALUE_SIZE))
        .fold(0.0, f64::max);
    (WIDTH - BAR_LEFT - GAP - room).max(WIDTH / 3.0)
}

/// The SVG of horizontal bars, each under its label.
fn draw(d: &Drawing<'_>) -> String {
    let area = bar_area(&d.bars);
    let x_of = |value: f64| BAR_LEFT + bar_width(value, d.scale, area);
    let top = TOP + if d.line.is_some() { CAP_BAND } else { 0.0 };
    let bottom = top + ROW * d.bars.len() as f64;
    let height = bottom + AXIS;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" class=\"cf-chart-svg\" \
         viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" style=\"max-width:100%;height:auto\" aria-labelledby=\"{id}-titre {id}-desc\">\
         <title id=\"{id}-titre\">{t}</title><desc id=\"{id}-desc\">{desc}</desc>",
        w = num(WIDTH),
        h = num(height),
        id = d.id,
        t = escape(d.title),
        desc = escape(d.description),
    );
    for (i, bar) in d.bars.iter().enumerate() {
        let y = top + ROW * i as f64;
        let bar_y = y + BAR_TOP;
        let width = bar_width(bar.value, d.scale, area);
        svg.push_str(&format!("<g><title>{}</title>", escape(&bar.tooltip)));
        svg.push_str(&text(
            BAR_LEFT,
            y + LABEL_SIZE,
            "start",
            LABEL_SIZE,
            INK_COLOUR,
            &shortened(&bar.label),
        ));
        svg.push_str(&format!(
            "<rect class=\"cf-bar\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{fill}\"/>",
            x = num(BAR_LEFT),
            y = num(bar_y),
            w = num(width),
            h = num(BAR_HEIGHT),
            fill = bar.colour,
        ));
        // After the bar, or after its target when the target lies further: never across.
        let end = bar
            .marker
            .map_or(width, |target| width.max(bar_width(target, d.scale, area)));
        svg.push_str(&value_text(
            BAR_LEFT + end + GAP,
            bar_y + BAR_HEIGHT / 2.0 + VALUE_SIZE * 0.35,
            &bar.value_text,
        ));
        if let Some(target) = bar.marker {
            svg.push_str(&format!(
                "<line class=\"cf-marker\" x1=\"{x}\" x2=\"{x}\" y1=\"{y1}\" y2=\"{y2}\" stroke=\"{ink}\" stroke-width=\"3\"/>",
                x = num(x_of(target)),
                y1 = num(bar_y - 4.0),
                y2 = num(bar_y + BAR_HEIGHT + 4.0),
                ink = INK_COLOUR,
            ));
        }
        svg.push_str("</g>");
    }
    // The axis: the baseline and the scale's two ends, inside the drawing.
    svg.push_str(&format!(
        "<line class=\"cf-axis\" x1=\"{l}\" x2=\"{r}\" y1=\"{b}\" y2=\"{b}\" stroke=\"{axis}\" stroke-width=\"1\"/>",
        l = num(BAR_LEFT),
        r = num(BAR_LEFT + area),
        b = num(bottom),
        axis = AXIS_COLOUR,
    ));
    let axis_y = bottom + AXIS_SIZE + 4.0;
    svg.push_str(&text(
        BAR_LEFT,
        axis_y,
        "start",
        AXIS_SIZE,
        AXIS_COLOUR,
        &d.axis.0,
    ));
    svg.push_str(&text(
        BAR_LEFT + area,
        axis_y,
        "end",
        AXIS_SIZE,
        AXIS_COLOUR,
        &d.axis.1,
    ));
    if let Some(line) = &d.line {
        let x = x_of(line.value);
        svg.push_str(&format!(
            "<line class=\"cf-cap\" x1=\"{x}\" x2=\"{x}\" y1=\"{t}\" y2=\"{b}\" stroke=\"{ink}\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>",
            x = num(x),
            t = num(top - 4.0),
            b = num(bottom),
            ink = INK_COLOUR,
        ));
        svg.push_str(&text_centred_within(
            x,
            TOP + AXIS_SIZE,
            AXIS_SIZE,
            INK_COLOUR,
            &line.label,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The two ends of a percent scale.
fn percent_axis(scale: f64) -> (String, String) {
    ("0\u{a0}%".to_owned(), format!("{}\u{a0}%", num(scale)))
}

/// Each party's share of the flux: one bar per party, its length proportional to its
/// dwellings (the longest bar is the largest share), labelled with the dwellings and the
/// percentage of the total given.
pub fn party_shares(id: &str, shares: &[PartyShare]) -> Chart {
    let title = "Part de chaque partie dans le flux annuel";
    let columns = ["Partie", "Logements", "Part du flux"];
    let total: i64 = shares.iter().map(|s| s.dwellings.max(0)).sum();
    if shares.is_empty() || total == 0 {
        return empty_chart(id, title, &columns);
    }
    let max = shares.iter().map(|s| s.dwellings.max(0)).max().unwrap_or(0);
    let percent = |d: i64| Decimal::from(d.max(0)) * Decimal::from(100) / Decimal::from(total);
    let mut rows = Vec::new();
    let mut bars = Vec::new();
    for s in shares {
        let (dwellings, share) = (
            french_integer(s.dwellings),
            french_percent(percent(s.dwellings)),
        );
        bars.push(Bar {
            label: s.name.clone(),
            value: s.dwellings as f64,
            colour: BAR_COLOUR,
            value_text: format!("{dwellings} ({share})"),
            tooltip: format!("{} : {dwellings} logements ({share})", s.name),
            marker: None,
        });
        rows.push(vec![s.name.clone(), dwellings, share]);
    }
    let largest = shares
        .iter()
        .max_by_key(|s| s.dwellings)
        .expect("not empty");
    let description = format!(
        "Barres horizontales, une par partie ({} parties), pour un flux de {} logements ; la plus grande part est celle de « {} » : {} logements ({}).",
        shares.len(),
        french_integer(total),
        largest.name,
        french_integer(largest.dwellings),
        french_percent(percent(largest.dwellings))
    );
    let id = clean_id(id);
    let drawing = Drawing {
        id: &id,
        title,
        description: &description,
        bars,
        scale: max as f64,
        line: None,
        axis: ("0".into(), format!("{} logements", french_integer(max))),
    };
    finish(drawing, &columns, rows)
}

/// The State's share of each commune's flux against its cap (percent): a bar per commune, a
/// dashed line at the cap; a bar beyond the cap is red and says so in words.
pub fn state_share_by_commune(id: &str, communes: &[CommuneShare], cap: Decimal) -> Chart {
    let title = "Part de l'État par commune, au regard de son plafond";
    let columns = ["Commune", "Part de l'État", "Plafond", "Situation"];
    if communes.is_empty() {
        return empty_chart(id, title, &columns);
    }
    let max = communes
        .iter()
        .map(|c| to_f64(c.share))
        .fold(to_f64(cap), f64::max);
    let mut rows = Vec::new();
    let mut bars = Vec::new();
    let mut over = Vec::new();
    for c in communes {
        let beyond = c.share > cap;
        let situation = if beyond {
            over.push(c.commune.clone());
            format!("au-dessus du plafond de {}", french_percent(c.share - cap))
        } else {
            "dans le plafond".to_owned()
        };
        bars.push(Bar {
            label: c.commune.clone(),
            value: to_f64(c.share),
            colour: if beyond { OVER_COLOUR } else { BAR_COLOUR },
            value_text: french_percent(c.share),
            tooltip: format!("{} : {} ({situation})", c.commune, french_percent(c.share)),
            marker: None,
        });
        rows.push(vec![
            c.commune.clone(),
            french_percent(c.share),
            french_percent(cap),
            situation,
        ]);
    }
    let description = if over.is_empty() {
        format!(
            "Barres horizontales, une par commune ({}), et une ligne pointillée au plafond de {} : toutes les communes sont dans le plafond.",
            communes.len(),
            french_percent(cap)
        )
    } else {
        format!(
            "Barres horizontales, une par commune ({}), et une ligne pointillée au plafond de {} : {} commune(s) au-dessus ({}).",
            communes.len(),
            french_percent(cap),
            over.len(),
            over.join(", ")
        )
    };
    let id = clean_id(id);
    let scale = percent_scale(max);
    let drawing = Drawing {
        id: &id,
        title,
        description: &description,
        bars,
        scale,
        line: Some(Line {
            value: to_f64(cap),
            label: format!("plafond {}", french_percent(cap)),
        }),
        axis: percent_axis(scale),
    };
    finish(drawing, &columns, rows)
}

/// Each CIA objective against its target (percent): a bar for the value, a thick mark at the
/// target.
pub fn objectives(id: &str, objectives: &[ObjectiveProgress]) -> Chart {
    let title = "Objectifs de la CIA : valeur et cible";
    let columns = ["Objectif", "Valeur", "Cible", "Situation"];
    if objectives.is_empty() {
        return empty_chart(id, title, &columns);
    }
    let max = objectives
        .iter()
        .flat_map(|o| [to_f64(o.value), to_f64(o.target)])
        .fold(100.0, f64::max);
    let mut rows = Vec::new();
    let mut bars = Vec::new();
    let mut missed = 0;
    for o in objectives {
        let situation = if o.value >= o.target {
            "cible atteinte".to_owned()
        } else {
            missed += 1;
            format!("{} sous la cible", french_percent(o.target - o.value)).replace('%', "points")
        };
        bars.push(Bar {
            label: o.label.clone(),
            value: to_f64(o.value),
            colour: BAR_COLOUR,
            value_text: format!(
                "{} (cible {})",
                french_percent(o.value),
                french_percent(o.target)
            ),
            tooltip: format!(
                "{} : {} pour une cible de {} ({situation})",
                o.label,
                french_percent(o.value),
                french_percent(o.target)
            ),
            marker: Some(to_f64(o.target)),
        });
        rows.push(vec![
            o.label.clone(),
            french_percent(o.value),
            french_percent(o.target),
            situation,
        ]);
    }
    let description = format!(
        "Barres horizontales, une par objectif ({}), chacune marquée d'un trait à sa cible : {}.",
        objectives.len(),
        if missed == 0 {
            "toutes les cibles sont atteintes".to_owned()
        } else {
            format!("{missed} objectif(s) sous la cible")
        }
    );
    let id = clean_id(id);
    let scale = percent_scale(max);
    let drawing = Drawing {
        id: &id,
        title,
        description: &description,
        bars,
        scale,
        line: None,
        axis: percent_axis(scale),
    };
    finish(drawing, &columns, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numeric value of attribute `name` on every element of `tag` with `class`.
    fn attributes(svg: &str, tag: &str, class: &str, name: &str) -> Vec<f64> {
        let opening = format!("<{tag} class=\"{class}\"");
        svg.match_indices(&opening)
            .map(|(at, _)| {
                let rest = &svg[at..];
                let element = &rest[..rest.find('>').unwrap()];
                let key = format!(" {name}=\"");
                let start = element.find(&key).unwrap() + key.len();
                let end = start + element[start..].find('"').unwrap();
                element[start..end].parse().unwrap()
            })
            .collect()
    }

    fn share(name: &str, dwellings: i64) -> PartyShare {
        PartyShare {
            name: name.into(),
            dwellings,
        }
    }

    /// The width of a bar at the top of the scale: the length of the axis.
    fn area(svg: &str) -> f64 {
        let x1 = attributes(svg, "line", "cf-axis", "x1")[0];
        let x2 = attributes(svg, "line", "cf-axis", "x2")[0];
        assert_eq!(x1, BAR_LEFT);
        x2 - x1
    }

    #[test]
    fn bar_widths_are_proportional_to_the_dwellings() {
        let chart = party_shares(
            "parts",
            &[
                share("État", 30),
                share("Valmont", 15),
                share("Non réservé", 60),
            ],
        );
        let widths = attributes(&chart.svg, "rect", "cf-bar", "width");
        // The largest share spans the whole area; the others in proportion.
        let area = area(&chart.svg);
        assert!(area > WIDTH / 2.0, "{area}");
        for (width, expected) in widths.iter().zip([area / 2.0, area / 4.0, area]) {
            assert!((width - expected).abs() < 0.01, "{widths:?} / {area}");
        }
        assert_eq!(
            chart.rows[0],
            vec!["État".to_owned(), "30".into(), "28,6\u{a0}%".into()]
        );
        assert!(chart.svg.contains("role=\"img\""));
        assert!(chart.svg.contains("<title id=\"graphique-parts-titre\">"));
        assert!(chart.svg.contains("<desc id=\"graphique-parts-desc\">"));
        assert!(
            chart
                .description
                .contains("« Non réservé » : 60 logements (57,1")
        );
    }

    /// Every `<text>` of `svg`: (x, anchor, font size, content).
    fn texts(svg: &str) -> Vec<(f64, String, f64, String)> {
        svg.match_indices("<text ")
            .map(|(at, _)| {
                let rest = &svg[at..];
                let open = &rest[..rest.find('>').unwrap()];
                let attribute = |name: &str| {
                    let key = format!(" {name}=\"");
                    let start = open.find(&key).unwrap() + key.len();
                    open[start..start + open[start..].find('"').unwrap()].to_owned()
                };
                let content = &rest[open.len() + 1..rest.find("</text>").unwrap()];
                (
                    attribute("x").parse().unwrap(),
                    attribute("text-anchor"),
                    attribute("font-size").parse().unwrap(),
                    content.replace("&amp;", "&").replace("&#39;", "'"),
                )
            })
            .collect()
    }

    #[test]
    fn every_text_stays_inside_the_drawing_and_readable_on_a_phone() {
        let long = "Communauté d'agglomération du Grand Val de Saône et des Monts du Lyonnais";
        let charts = [
            party_shares(
                "a",
                &[
                    share(long, 123_456),
                    share("Flux non réservé (bailleur)", 99_999),
                ],
            ),
            state_share_by_commune(
                "b",
                &[
                    CommuneShare {
                        commune: long.into(),
                        share: Decimal::from(100),
                    },
                    CommuneShare {
                        commune: "Bellecombe-les-Vignes".into(),
                        share: Decimal::ZERO,
                    },
                ],
                // A cap at the very end of the scale: its label is moved in from the edge.
                Decimal::from(100),
            ),
            state_share_by_commune(
                "c",
                &[CommuneShare {
                    commune: "Valmont".into(),
                    share: Decimal::from(50),
                }],
                Decimal::ZERO,
            ),
            objectives(
                "d",
                &[ObjectiveProgress {
                    label: long.into(),
                    value: Decimal::new(1234, 1),
                    target: Decimal::from(25),
                }],
            ),
        ];
        for chart in &charts {
            let texts = texts(&chart.svg);
            assert!(!texts.is_empty());
            for (x, anchor, size, content) in texts {
                let width = text_width(&content, size);
                let (left, right) = match anchor.as_str() {
                    "start" => (x, x + width),
                    "end" => (x - width, x),
                    _ => (x - width / 2.0, x + width / 2.0),
                };
                assert!(
                    left >= 0.0 && right <= WIDTH + 0.01,
                    "« {content} » de {left} à {right} sur {WIDTH} ({})",
                    chart.id
                );
                // Drawn at 420 units and shown in about 340 px on a 375 px phone: 11.3 px at least.
                assert!(size * 340.0 / WIDTH >= 11.3, "{content}: {size}");
            }
        }
        // A label too long for the width is shortened; the tooltip and the table keep it whole.
        assert!(charts[0].svg.contains('…'));
        assert!(charts[0].svg.contains(&format!("<title>{}", escape(long))));
        assert_eq!(charts[0].rows[0][0], long);
    }

    #[test]
    fn labels_are_escaped_everywhere() {
        let name = "Ville <b>&\"Cie\"</b>";
        let chart = party_shares("x", &[share(name, 10)]);
        assert!(!chart.svg.contains("<b>"), "{}", chart.svg);
        assert!(!chart.svg.contains("&\"Cie"), "{}", chart.svg);
        assert!(
            chart
                .svg
                .contains("Ville &lt;b&gt;&amp;&quot;Cie&quot;&lt;/b&gt;")
        );
        // The table keeps the text; the template escapes it.
        assert_eq!(chart.rows[0][0], name);
        let chart = state_share_by_commune(
            "<script>",
            &[CommuneShare {
                commune: "Saint-<Didier>".into(),
                share: Decimal::from(5),
            }],
            Decimal::from(30),
        );
        assert!(!chart.svg.contains("<script>") && !chart.svg.contains("<Didier>"));
        assert!(chart.svg.contains("Saint-&lt;Didier&gt;"));
        assert_eq!(chart.id, "graphique--script-");
    }

    #[test]
    fn no_data_says_so_in_french_instead_of_an_empty_drawing() {
        for chart in [
            party_shares("a", &[]),
            party_shares("a", &[share("État", 0)]),
            state_share_by_commune("b", &[], Decimal::from(30)),
            objectives("c", &[]),
        ] {
            assert!(chart.svg.is_empty());
            assert_eq!(chart.empty_message.as_deref(), Some(NO_DATA));
            assert!(NO_DATA.starts_with("Aucune donnée"));
            assert!(chart.rows.is_empty());
        }
    }

    #[test]
    fn the_cap_line_stands_at_the_cap() {
        let communes = [
            CommuneShare {
                commune: "Valmont".into(),
                share: Decimal::from(10),
            },
            CommuneShare {
                commune: "Bellecombe".into(),
                share: Decimal::new(355, 1),
            },
        ];
        let chart = state_share_by_commune("etat", &communes, Decimal::from(30));
        // The scale runs to 40 % (35.5 rounded up to ten): 30 % is three quarters of the area.
        let area = area(&chart.svg);
        let cap = attributes(&chart.svg, "line", "cf-cap", "x1");
        assert_eq!(cap.len(), 1);
        assert!(
            (cap[0] - (BAR_LEFT + area * 30.0 / 40.0)).abs() < 0.01,
            "{cap:?}"
        );
        let widths = attributes(&chart.svg, "rect", "cf-bar", "width");
        for (width, expected) in widths.iter().zip([area * 10.0 / 40.0, area * 35.5 / 40.0]) {
            assert!((width - expected).abs() < 0.01, "{widths:?}");
        }
        assert!(chart.svg.contains(OVER_COLOUR));
        assert_eq!(chart.rows[1][3], "au-dessus du plafond de 5,5\u{a0}%");
        assert!(
            chart
                .description
                .contains("1 commune(s) au-dessus (Bellecombe)")
        );
    }

    #[test]
    fn target_markers_stand_at_the_targets() {
        let chart = objectives(
            "cia",
            &[
                ObjectiveProgress {
                    label: "Premier quartile hors QPV".into(),
                    value: Decimal::from(20),
                    target: Decimal::from(25),
                },
                ObjectiveProgress {
                    label: "Ménages prioritaires".into(),
                    value: Decimal::from(40),
                    target: Decimal::from(25),
                },
            ],
        );
        // The scale runs to 100 %: the marks at a quarter of the area, the bars at a fifth and
        // two fifths.
        let area = area(&chart.svg);
        let marks = attributes(&chart.svg, "line", "cf-marker", "x1");
        for mark in &marks {
            assert!((mark - (BAR_LEFT + area / 4.0)).abs() < 0.01, "{marks:?}");
        }
        assert_eq!(marks.len(), 2);
        // The first value (20 % for a target of 25 %) is written after the mark, not across it;
        // the second (40 %) after its bar, beyond the mark.
        let values: Vec<f64> = texts(&chart.svg)
            .into_iter()
            .filter(|t| t.3.contains("(cible"))
            .map(|t| t.0)
            .collect();
        assert_eq!(values.len(), 2);
        assert!(values[0] > marks[0] + 3.0, "{values:?} {marks:?}");
        assert!(values[1] > BAR_LEFT + area * 2.0 / 5.0, "{values:?}");
        let widths = attributes(&chart.svg, "rect", "cf-bar", "width");
        for (width, expected) in widths.iter().zip([area / 5.0, area * 2.0 / 5.0]) {
            assert!((width - expected).abs() < 0.01, "{widths:?}");
        }
        assert_eq!(chart.rows[0][3], "5,0\u{a0}points sous la cible");
        assert_eq!(chart.rows[1][3], "cible atteinte");
    }

    /// WCAG relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn colours_contrast_three_to_one_with_white_and_marks_with_bars() {
        for colour in [BAR_COLOUR, OVER_COLOUR, INK_COLOUR, AXIS_COLOUR] {
            assert!(contrast(colour, "#ffffff") >= 3.0, "{colour}");
        }
        // The cap line and the target marks cross the bars.
        assert!(contrast(INK_COLOUR, BAR_COLOUR) >= 3.0);
        assert!(contrast(INK_COLOUR, OVER_COLOUR) >= 3.0);
    }

    #[test]
    fn coordinates_are_written_to_the_hundredth_without_trailing_zeros() {
        for (value, text) in [
            (12.5, "12.5"),
            (3.0, "3"),
            (-0.25, "-0.25"),
            (0.004, "0"),
            (-0.004, "0"),
            (7.005_1, "7.01"),
            (640.0, "640"),
            (1.1, "1.1"),
            (f64::NAN, "0"),
        ] {
            assert_eq!(num(value), text, "{value}");
            // The same as the float formatting it replaces.
            if value.is_finite() {
                let old = format!("{value:.2}");
                let old = old.trim_end_matches('0').trim_end_matches('.');
                let old = if old == "-0" { "0" } else { old };
                assert_eq!(num(value), old, "{value}");
            }
        }
    }

    #[test]
    fn numbers_are_written_the_french_way() {
        assert_eq!(french_integer(120_000), "120\u{a0}000");
        assert_eq!(french_integer(999), "999");
        assert_eq!(french_percent(Decimal::new(2549, 2)), "25,5\u{a0}%");
    }
}
