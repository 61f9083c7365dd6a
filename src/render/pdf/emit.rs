//! Drawing the laid-out pages with krilla: the running header and footer of every page (as
//! pagination artifacts), the rules and shades (layout artifacts), each line of text tagged
//! with its place in the structure, then the structure itself.

use std::num::NonZeroU16;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::tagging::{
    Artifact, ArtifactType, ContentTag, Identifier, Node as KNode, SpanTag, TableHeaderScope,
    Tag as K, TagGroup, TagKind, TagTree,
};

use super::fonts::{Face, Fonts, width};
use super::layout::{
    Color, Group, MARGIN_X, Mark, Node, PAGE_H, PAGE_W, PageOps, Run, Shape, Tag, WIDTH,
};

/// What the running header and footer say.
pub struct Running {
    /// « Convention n° 2 · version n° 3 · SHA-256 … ».
    pub header: String,
    /// The title, at the left of the footer.
    pub footer: String,
}

fn rgb_of(c: Color) -> rgb::Color {
    match c {
        Color::Text => rgb::Color::new(22, 22, 22),
        Color::Muted => rgb::Color::new(83, 83, 83),
        Color::Accent => rgb::Color::new(0, 0, 145),
        Color::Rule => rgb::Color::new(150, 150, 150),
        Color::Shade => rgb::Color::new(236, 236, 254),
    }
}

fn fill(c: Color) -> Fill {
    Fill {
        paint: rgb_of(c).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// Draws every page into `doc` and returns the structure to attach.
pub fn draw(
    doc: &mut Document,
    pages: Vec<PageOps>,
    root: Group,
    fonts: &Fonts,
    r: &Running,
) -> TagTree {
    let mut ids: Vec<Option<Identifier>> = Vec::new();
    let count = pages.len();
    for (i, ops) in pages.into_iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).expect("A4");
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        shapes(&mut surface, &ops.shapes);
        running(&mut surface, fonts, r, i + 1, count);
        for run in &ops.runs {
            match run.mark {
                Mark::Content(id) => {
                    let ident = surface.start_tagged(ContentTag::Span(SpanTag::empty()));
                    text(&mut surface, fonts, run);
                    surface.end_tagged();
                    if ids.len() <= id {
                        ids.resize(id + 1, None);
                    }
                    ids[id] = Some(ident);
                }
                Mark::Artifact => {
                    surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
                        ArtifactType::PaginationOther,
                    )));
                    text(&mut surface, fonts, run);
                    surface.end_tagged();
                }
            }
        }
        surface.finish();
        page.finish();
    }
    let mut tree = TagTree::new().with_lang(Some("fr-FR".to_owned()));
    for child in root.children {
        if let Some(node) = node(child, &mut ids) {
            tree.push(node);
        }
    }
    tree
}

fn text(surface: &mut Surface<'_>, fonts: &Fonts, run: &Run) {
    surface.set_fill(Some(fill(run.color)));
    let glyphs = super::fonts::glyphs(run.face, &run.text);
    surface.draw_glyphs(
        Point::from_xy(run.x, run.y),
        &glyphs,
        fonts.get(run.face),
        &run.text,
        run.size,
        false,
    );
}

fn shapes(surface: &mut Surface<'_>, shapes: &[Shape]) {
    if shapes.is_empty() {
        return;
    }
    surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
        ArtifactType::Layout,
    )));
    for s in shapes {
        let mut pb = PathBuilder::new();
        match *s {
            Shape::Line {
                x1,
                y1,
                x2,
                y2,
                width,
            } => {
                pb.move_to(x1, y1);
                pb.line_to(x2, y2);
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: rgb_of(Color::Rule).into(),
                    width,
                    ..Default::default()
                }));
            }
            Shape::Rect { x, y, w, h, color } => {
                if let Some(rect) = Rect::from_xywh(x, y, w, h) {
                    pb.push_rect(rect);
                }
                surface.set_stroke(None);
                surface.set_fill(Some(fill(color)));
            }
        }
        if let Some(path) = pb.finish() {
            surface.draw_path(&path);
        }
    }
    surface.set_stroke(None);
    surface.end_tagged();
}

/// The header (convention, version, hash) and the footer (title, « page x / y »).
fn running(surface: &mut Surface<'_>, fonts: &Fonts, r: &Running, n: usize, count: usize) {
    let size = 7.0;
    let line = |text: &str, x: f32, y: f32| Run {
        x,
        y,
        face: Face::Regular,
        size,
        color: Color::Muted,
        text: text.to_owned(),
        mark: Mark::Artifact,
    };
    surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
        ArtifactType::Header,
    )));
    text(surface, fonts, &line(&r.header, MARGIN_X, 40.0));
    surface.end_tagged();
    let pages = format!("page {n} / {count}");
    let right = MARGIN_X + WIDTH - width(Face::Regular, size, &pages);
    surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
        ArtifactType::Footer,
    )));
    let mut footer = r.footer.clone();
    let room = right - MARGIN_X - 12.0;
    if width(Face::Regular, size, &footer) > room {
        while width(Face::Regular, size, &footer) + width(Face::Regular, size, "…") > room
            && footer.pop().is_some()
        {}
        footer = format!("{}…", footer.trim_end());
    }
    text(surface, fonts, &line(&footer, MARGIN_X, PAGE_H - 34.0));
    text(surface, fonts, &line(&pages, right, PAGE_H - 34.0));
    surface.end_tagged();
}

fn tag_kind(tag: Tag) -> TagKind {
    match tag {
        Tag::Section => K::Section.into(),
        Tag::Heading(level, title) => K::Hn(
            NonZeroU16::new(level.max(1)).expect("niveau ≥ 1"),
            Some(title),
        )
        .into(),
        Tag::P => K::P.into(),
        Tag::Table => K::Table.into(),
        Tag::Caption => K::Caption.into(),
        Tag::THead => K::THead.into(),
        Tag::TBody => K::TBody.into(),
        Tag::TFoot => K::TFoot.into(),
        Tag::TR => K::TR.into(),
        Tag::TH => K::TH(TableHeaderScope::Column).into(),
        Tag::TD => K::TD.into(),
    }
}

/// A group and its children in krilla's form; `None` for a group left empty.
fn node(n: Node, ids: &mut [Option<Identifier>]) -> Option<KNode> {
    match n {
        Node::Content(id) => ids.get_mut(id).and_then(Option::take).map(KNode::from),
        Node::Group(g) => {
            let children: Vec<KNode> = g
                .children
                .into_iter()
                .filter_map(|c| node(c, ids))
                .collect();
            (!children.is_empty())
                .then(|| TagGroup::with_children(tag_kind(g.tag), children).into())
        }
    }
}
