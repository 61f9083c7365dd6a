//! The convention document laid out in pages, in the order of the HTML page: title page, the
//! parties, the visas, the articles, the annexes (each on a new page) and the signature
//! certificate. Every word comes from the model ([`ConventionDocument`]); only the headings
//! and the words that say how to check this PDF are the renderer's own.

use super::layout::{BODY, BOTTOM, Color, Layout, MARGIN_X, SMALL, Shape, Style, TOP, Tag, WIDTH};
use super::tables::table;
use super::{INPUTS_NAME, VERSION_NAME};
use crate::render::document::{
    Annex, Article, Certificate, Column, ConventionDocument, DocTable, FreeClause,
};

use super::fonts::Face;

const LEAD: Style = Style {
    face: Face::Regular,
    size: 11.0,
    color: Color::Text,
    leading: 15.0,
};
const STRONG: Style = Style {
    face: Face::Bold,
    ..BODY
};

pub fn lay_out(d: &ConventionDocument) -> Layout {
    let mut l = Layout::new();
    title_page(&mut l, d);
    l.new_page();
    parties(&mut l, d);
    visas(&mut l, d);
    if !d.articles.is_empty() {
        l.open(Tag::Section);
        l.heading(2, "Il est convenu ce qui suit");
        for a in &d.articles {
            article(&mut l, a);
        }
        l.close();
    }
    for a in &d.annexes {
        l.fresh_page();
        annex(&mut l, a, d.annex_only.is_some());
    }
    if let Some(c) = &d.certificate {
        l.fresh_page();
        certificate(&mut l, c);
    }
    l
}

fn columns(labels: &[&str]) -> Vec<Column> {
    labels
        .iter()
        .map(|label| Column {
            label: (*label).to_owned(),
            numeric: false,
        })
        .collect()
}

fn title_page(l: &mut Layout, d: &ConventionDocument) {
    let h = &d.header;
    l.open(Tag::Section);
    l.y = TOP + 150.0;
    l.paragraph(
        "Convention unique de gestion en flux des réservations de logements sociaux",
        Style {
            color: Color::Accent,
            ..STRONG
        },
        0.0,
    );
    l.space(6.0);
    match (&d.annex_only, d.annexes.first()) {
        (Some(_), Some(a)) => {
            l.heading(1, &format!("{} — {}", a.number, a.title));
            l.paragraph(
                &format!(
                    "Annexe de la convention unique « {} », année {}.",
                    h.title, h.year
                ),
                LEAD,
                0.0,
            );
        }
        _ => {
            l.heading(1, &h.title);
            l.paragraph(&format!("Année {}.", h.year), LEAD, 0.0);
        }
    }
    l.space(18.0);
    let top = l.y;
    l.paragraph(
        &format!(
            "Convention n° {} · version n° {} du {}.",
            h.convention, h.version, h.version_date
        ),
        STRONG,
        10.0,
    );
    let status = if h.signed {
        "Version signée par toutes les parties."
    } else {
        "Version non signée : document de lecture."
    };
    l.paragraph(status, BODY, 10.0);
    l.paragraph(
        &format!("Empreinte SHA-256 de la version : {}", h.hash),
        BODY,
        10.0,
    );
    let bottom = l.y;
    l.page().shapes.push(Shape::Line {
        x1: MARGIN_X + 2.0,
        y1: top,
        x2: MARGIN_X + 2.0,
        y2: bottom,
        width: 2.0,
    });
    l.space(24.0);
    l.paragraph(
        &format!(
            "Ce fichier PDF/A porte en pièces jointes le texte JSON canonique de la version ({VERSION_NAME}), dont l'empreinte SHA-256 est celle ci-dessus, et les données de sa mise en page ({INPUTS_NAME}). La commande « convention-flux verify FICHIER.pdf » vérifie hors ligne que ce fichier est exactement le rendu de la version scellée : empreinte, sceaux des signatures et rendu identique octet pour octet."
        ),
        SMALL,
        0.0,
    );
    l.close();
}

fn parties(l: &mut Layout, d: &ConventionDocument) {
    l.open(Tag::Section);
    l.heading(2, "Entre les parties");
    let t = DocTable {
        caption: "Parties, signataires et mandats".into(),
        columns: columns(&["Partie", "Qualité", "Signataire", "Mandat"]),
        rows: d
            .parties
            .iter()
            .map(|p| {
                let signatory = if p.signatory.is_empty() {
                    "à désigner".to_owned()
                } else {
                    p.signatory.clone()
                };
                vec![p.name.clone(), p.kind.clone(), signatory, p.mandate.clone()]
            })
            .collect(),
        total: None,
    };
    table(l, &t);
    l.close();
}

fn visas(l: &mut Layout, d: &ConventionDocument) {
    l.open(Tag::Section);
    l.heading(2, "Visas");
    for v in &d.visas {
        l.paragraph(v, BODY, 0.0);
    }
    l.close();
}

fn article(l: &mut Layout, a: &Article) {
    l.open(Tag::Section);
    l.heading(3, &format!("Article {} — {}", a.number, a.title));
    for p in &a.paragraphs {
        l.paragraph(p, BODY, 0.0);
    }
    for t in &a.tables {
        table(l, t);
    }
    for c in &a.clauses {
        clause(l, c);
    }
    l.paragraph(&format!("Fondement : {}.", a.law), SMALL, 0.0);
    l.close();
}

/// A free clause of the secretariat, marked by a bar in the margin.
fn clause(l: &mut Layout, c: &FreeClause) {
    l.ensure(BODY.leading * 3.0);
    let (page, top) = (l.pages.len(), l.y);
    l.open(Tag::P);
    l.lines(
        &format!("{}.", c.title),
        STRONG,
        MARGIN_X + 10.0,
        WIDTH - 10.0,
    );
    l.lines(&c.text, BODY, MARGIN_X + 10.0, WIDTH - 10.0);
    l.close();
    // The bar runs along the clause on every page it spans.
    let last = l.pages.len();
    for n in page..=last {
        let y1 = if n == page { top + 2.0 } else { TOP };
        let y2 = if n == last { l.y + 2.0 } else { BOTTOM };
        l.pages[n - 1].shapes.push(Shape::Line {
            x1: MARGIN_X + 2.0,
            y1,
            x2: MARGIN_X + 2.0,
            y2,
            width: 2.0,
        });
    }
    l.y += BODY.leading * 0.6;
}

fn annex(l: &mut Layout, a: &Annex, alone: bool) {
    l.open(Tag::Section);
    if alone {
        l.heading(2, "Stipulations");
    } else {
        l.heading(2, &format!("{} — {}", a.number, a.title));
    }
    for p in &a.paragraphs {
        l.paragraph(p, BODY, 0.0);
    }
    for t in &a.tables {
        table(l, t);
    }
    for article_of_annex in &a.articles {
        article(l, article_of_annex);
    }
    if !a.signatures.is_empty() {
        l.open(Tag::Section);
        l.heading(3, "Signatures");
        for s in &a.signatures {
            l.ensure(BODY.leading * 4.0);
            l.open(Tag::P);
            l.lines(&format!("Pour {}", s.party), STRONG, MARGIN_X, WIDTH);
            let who = match (s.signatory.is_empty(), s.mandate.is_empty()) {
                (true, _) => "Signataire à désigner".to_owned(),
                (false, true) => s.signatory.clone(),
                (false, false) => format!("{}, {}", s.signatory, s.mandate),
            };
            l.lines(&who, BODY, MARGIN_X, WIDTH);
            let when = if s.signed_at.is_empty() {
                "Non encore signé".to_owned()
            } else {
                format!("Signé électroniquement le {}", s.signed_at)
            };
            l.lines(&when, BODY, MARGIN_X, WIDTH);
            l.close();
            l.y += BODY.leading * 0.6;
        }
        l.close();
    }
    l.close();
}

fn certificate(l: &mut Layout, c: &Certificate) {
    l.open(Tag::Section);
    l.heading(2, "Certificat de signature");
    l.paragraph(
        &format!("Empreinte SHA-256 de la version signée : {}", c.hash),
        BODY,
        0.0,
    );
    let t = DocTable {
        caption: "Signatures de la version".into(),
        columns: columns(&[
            "Partie",
            "Signataire et mandat",
            "Date (heure de Paris)",
            "Méthode",
        ]),
        rows: c
            .signatures
            .iter()
            .map(|s| {
                vec![
                    s.party.clone(),
                    format!("{}, {}", s.signer, s.mandate),
                    s.at.clone(),
                    s.method.clone(),
                ]
            })
            .collect(),
        total: None,
    };
    table(l, &t);
    l.open(Tag::Section);
    l.heading(3, "Sceaux de la plateforme");
    for s in &c.signatures {
        l.paragraph(&format!("{} : {}", s.party, s.seal), SMALL, 0.0);
    }
    l.close();
    let approval = if c.approval_at.is_empty() {
        format!("{}.", c.approval)
    } else {
        format!("{} le {}.", c.approval, c.approval_at)
    };
    l.paragraph(&approval, BODY, 0.0);
    l.open(Tag::Section);
    l.heading(3, "Vérifier hors ligne");
    for v in &c.verify {
        l.paragraph(v, BODY, 0.0);
    }
    l.paragraph(
        &format!(
            "Ce fichier se vérifie aussi seul : « convention-flux verify FICHIER.pdf --public-key {} » contrôle que le texte JSON joint ({VERSION_NAME}) a l'empreinte de la version, que chaque sceau est celui de la plateforme, et que le rendu de la version est identique, octet pour octet, à ce fichier.",
            c.public_key
        ),
        BODY,
        0.0,
    );
    l.close();
    l.close();
}
