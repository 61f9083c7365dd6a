//! The two faces of the document, DejaVu Sans regular and bold (Bitstream Vera licence, see
//! `assets/fonts/DejaVu-LICENCE.txt`), built into the binary so that every rendering uses the
//! same font bytes. Their advances are read once: the layout measures and places each glyph
//! itself (no kerning, no ligature), so what is measured is exactly what is drawn.

use std::collections::HashMap;
use std::sync::OnceLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

const REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// A face of the document's font.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
}

/// Glyph and advance (in em) of each character a face maps.
struct Metrics {
    glyphs: HashMap<char, (u32, f32)>,
    /// For a character the face lacks: `?` (the text keeps the character itself).
    fallback: (u32, f32),
}

impl Metrics {
    fn read(data: &'static [u8]) -> Metrics {
        let font = FontRef::new(data).expect("la police DejaVu Sans intégrée est lisible");
        let upem = f32::from(
            font.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        let advances = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        let glyphs: HashMap<char, (u32, f32)> = font
            .charmap()
            .mappings()
            .filter_map(|(code, gid)| {
                let ch = char::from_u32(code)?;
                let advance = advances.advance_width(gid).unwrap_or(0.0) / upem;
                Some((ch, (gid.to_u32(), advance)))
            })
            .collect();
        let fallback = glyphs.get(&'?').copied().unwrap_or((0, 0.5));
        Metrics { glyphs, fallback }
    }

    fn glyph(&self, ch: char) -> (u32, f32) {
        match ch {
            // Tabs and line breaks are laid out before: never drawn.
            '\t' | '\n' | '\r' => self.glyphs.get(&' ').copied().unwrap_or(self.fallback),
            _ => self.glyphs.get(&ch).copied().unwrap_or(self.fallback),
        }
    }
}

fn metrics(face: Face) -> &'static Metrics {
    static REGULAR_METRICS: OnceLock<Metrics> = OnceLock::new();
    static BOLD_METRICS: OnceLock<Metrics> = OnceLock::new();
    match face {
        Face::Regular => REGULAR_METRICS.get_or_init(|| Metrics::read(REGULAR)),
        Face::Bold => BOLD_METRICS.get_or_init(|| Metrics::read(BOLD)),
    }
}

/// The width of `text` set in `face` at `size` points.
pub fn width(face: Face, size: f32, text: &str) -> f32 {
    let m = metrics(face);
    text.chars().map(|c| m.glyph(c).1).sum::<f32>() * size
}

/// The glyphs of `text` in `face`, one per character, each mapped back to its character so
/// that the text can be searched and copied.
pub fn glyphs(face: Face, text: &str) -> Vec<KrillaGlyph> {
    let m = metrics(face);
    text.char_indices()
        .map(|(i, c)| {
            let (id, advance) = m.glyph(c);
            KrillaGlyph {
                glyph_id: GlyphId::new(id),
                text_range: i..i + c.len_utf8(),
                x_advance: advance,
                x_offset: 0.0,
                y_offset: 0.0,
                y_advance: 0.0,
                location: None,
            }
        })
        .collect()
}

/// The two faces, loaded for one document.
#[derive(Clone)]
pub struct Fonts {
    pub regular: Font,
    pub bold: Font,
}

impl Fonts {
    pub fn load() -> Option<Fonts> {
        Some(Fonts {
            regular: Font::new(REGULAR.into(), 0)?,
            bold: Font::new(BOLD.into(), 0)?,
        })
    }

    pub fn get(&self, face: Face) -> Font {
        match face {
            Face::Regular => self.regular.clone(),
            Face::Bold => self.bold.clone(),
        }
    }
}
