//! The page layout: where each line of text and each rule goes on A4 pages, and the logical
//! structure (headings, paragraphs, tables) that the tagged PDF carries, in reading order.
//!
//! Laid out first, drawn after: the running footer « page x / y » needs the page count.

use super::fonts::Face;
use super::text::wrap;

/// A4, in points.
pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;
pub const MARGIN_X: f32 = 56.7;
/// Where the body starts and ends (the running header and footer are outside).
pub const TOP: f32 = 72.0;
pub const BOTTOM: f32 = PAGE_H - 62.0;
pub const WIDTH: f32 = PAGE_W - 2.0 * MARGIN_X;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Text,
    Muted,
    Accent,
    Rule,
    Shade,
}

/// How a drawn line counts for the structure: content of the document, or an artifact (a table
/// header repeated on a new page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Content(usize),
    Artifact,
}

/// One line of text, `y` at its baseline.
#[derive(Debug, Clone)]
pub struct Run {
    pub x: f32,
    pub y: f32,
    pub face: Face,
    pub size: f32,
    pub color: Color,
    pub text: String,
    pub mark: Mark,
}

/// Rules and shaded boxes: layout artifacts.
#[derive(Debug, Clone)]
pub enum Shape {
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Color,
    },
}

#[derive(Debug, Default)]
pub struct PageOps {
    pub runs: Vec<Run>,
    pub shapes: Vec<Shape>,
}

/// The logical role of a group of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    Section,
    Heading(u16, String),
    P,
    Table,
    Caption,
    THead,
    TBody,
    TFoot,
    TR,
    TH,
    TD,
}

#[derive(Debug)]
pub enum Node {
    Group(Group),
    Content(usize),
}

#[derive(Debug)]
pub struct Group {
    pub tag: Tag,
    pub children: Vec<Node>,
}

/// A text style: face, size, colour and line height.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub face: Face,
    pub size: f32,
    pub color: Color,
    pub leading: f32,
}

pub const BODY: Style = Style {
    face: Face::Regular,
    size: 9.5,
    color: Color::Text,
    leading: 13.0,
};
pub const SMALL: Style = Style {
    face: Face::Regular,
    size: 8.0,
    color: Color::Muted,
    leading: 11.0,
};

/// The pages laid out so far and the structure being built.
pub struct Layout {
    pub pages: Vec<PageOps>,
    pub y: f32,
    /// The open groups, the document itself at the bottom.
    stack: Vec<Group>,
    contents: usize,
}

impl Layout {
    pub fn new() -> Layout {
        Layout {
            pages: vec![PageOps::default()],
            y: TOP,
            stack: vec![Group {
                tag: Tag::Section,
                children: Vec::new(),
            }],
            contents: 0,
        }
    }

    pub fn page(&mut self) -> &mut PageOps {
        self.pages.last_mut().expect("au moins une page")
    }

    pub fn new_page(&mut self) {
        self.pages.push(PageOps::default());
        self.y = TOP;
    }

    /// Starts a new page unless the current one is still empty.
    pub fn fresh_page(&mut self) {
        if self.y > TOP {
            self.new_page();
        }
    }

    /// Makes room for `height` points: a new page when they do not fit on this one.
    pub fn ensure(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > TOP {
            self.new_page();
        }
    }

    pub fn space(&mut self, height: f32) {
        if self.y > TOP {
            self.y = (self.y + height).min(BOTTOM);
        }
    }

    pub fn open(&mut self, tag: Tag) {
        self.stack.push(Group {
            tag,
            children: Vec::new(),
        });
    }

    pub fn close(&mut self) {
        let group = self.stack.pop().expect("un groupe ouvert");
        let parent = self.stack.last_mut().expect("le document reste ouvert");
        parent.children.push(Node::Group(group));
    }

    /// A new piece of content in the group open now.
    pub fn content(&mut self) -> Mark {
        let id = self.contents;
        self.contents += 1;
        self.stack
            .last_mut()
            .expect("le document reste ouvert")
            .children
            .push(Node::Content(id));
        Mark::Content(id)
    }

    /// A line of text at `x`, baseline `y`; tagged as content of the open group unless `mark`
    /// is given.
    pub fn run(&mut self, x: f32, y: f32, style: Style, text: &str, mark: Option<Mark>) {
        if text.is_empty() {
            return;
        }
        let mark = mark.unwrap_or_else(|| self.content());
        self.page().runs.push(Run {
            x,
            y,
            face: style.face,
            size: style.size,
            color: style.color,
            text: text.to_owned(),
            mark,
        });
    }

    /// Text set in lines from `x`, `width` wide, in the group open now; pages break between
    /// lines.
    pub fn lines(&mut self, text: &str, style: Style, x: f32, width: f32) {
        for line in wrap(text, style.face, style.size, width) {
            self.ensure(style.leading);
            self.y += style.leading;
            let y = self.y - style.leading * 0.28;
            self.run(x, y, style, &line, None);
        }
    }

    /// A paragraph (tagged P), `indent` points from the left margin, then a small space.
    pub fn paragraph(&mut self, text: &str, style: Style, indent: f32) {
        // Two lines at least at the foot of a page.
        self.ensure(style.leading * 2.0);
        self.open(Tag::P);
        self.lines(text, style, MARGIN_X + indent, WIDTH - indent);
        self.close();
        self.y += style.leading * 0.45;
    }

    /// A heading of `level` (1 to 3), kept with the lines that follow it.
    pub fn heading(&mut self, level: u16, text: &str) {
        let (size, before) = match level {
            1 => (17.0, 0.0),
            2 => (13.0, 10.0),
            _ => (10.5, 7.0),
        };
        let style = Style {
            face: Face::Bold,
            size,
            color: if level < 3 {
                Color::Accent
            } else {
                Color::Text
            },
            leading: size * 1.3,
        };
        self.space(before);
        self.ensure(style.leading * 2.0 + BODY.leading * 3.0);
        self.open(Tag::Heading(level, text.to_owned()));
        self.lines(text, style, MARGIN_X, WIDTH);
        self.close();
        self.y += 4.0;
    }

    pub fn rule(&mut self, x1: f32, x2: f32, y: f32, width: f32) {
        self.page().shapes.push(Shape::Line {
            x1,
            y1: y,
            x2,
            y2: y,
            width,
        });
    }

    /// The pages and the structure of the document.
    pub fn finish(mut self) -> (Vec<PageOps>, Group) {
        while self.stack.len() > 1 {
            self.close();
        }
        let root = self.stack.pop().expect("le document");
        (self.pages, root)
    }
}
