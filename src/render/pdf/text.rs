//! Breaking text into lines that fit a width: at spaces (never at a no-break space, so « 25,5 % »
//! and « n° 3 » stay whole), at the text's own line breaks, and inside a word only when the word
//! alone is wider than the line (a hash, a seal).

use super::fonts::{Face, width};

/// The lines of `text` set in `face` at `size`, each at most `max` points wide.
pub fn wrap(text: &str, face: Face, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for hard in text.split('\n') {
        wrap_line(hard.trim_end_matches('\r'), face, size, max, &mut lines);
    }
    lines
}

fn wrap_line(text: &str, face: Face, size: f32, max: f32, lines: &mut Vec<String>) {
    let space = width(face, size, " ");
    let mut line = String::new();
    let mut line_width = 0.0_f32;
    for word in words(text) {
        let word = word.as_str();
        let w = width(face, size, word);
        if !line.is_empty() && line_width + space + w <= max {
            line.push(' ');
            line.push_str(word);
            line_width += space + w;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if w <= max {
            line.push_str(word);
            line_width = w;
        } else {
            let mut pieces = break_word(word, face, size, max);
            let last = pieces.pop().unwrap_or_default();
            lines.extend(pieces);
            line_width = width(face, size, &last);
            line = last;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
}

/// The words of `text`, French punctuation kept with its word: « and — open onto the next
/// word, », :, ;, ! and ? close the previous one, so that no line starts or ends with them.
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open: Option<String> = None;
    for w in text.split(' ').filter(|w| !w.is_empty()) {
        let closing = matches!(w, "»" | ":" | ";" | "!" | "?") || w.starts_with('»');
        let mut word = match open.take() {
            Some(o) => format!("{o} {w}"),
            None => w.to_owned(),
        };
        if let (true, Some(last)) = (closing, out.last_mut()) {
            last.push(' ');
            last.push_str(&word);
            continue;
        }
        if w == "«" {
            open = Some(std::mem::take(&mut word));
            continue;
        }
        out.push(word);
    }
    out.extend(open);
    out
}

/// A word too wide for the line, cut between characters.
fn break_word(word: &str, face: Face, size: f32, max: f32) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut current = 0.0_f32;
    for c in word.chars() {
        let mut buf = [0_u8; 4];
        let w = width(face, size, c.encode_utf8(&mut buf));
        let last = pieces.last_mut().expect("au moins un morceau");
        if current + w > max && !last.is_empty() {
            pieces.push(c.to_string());
            current = w;
        } else {
            last.push(c);
            current += w;
        }
    }
    pieces
}

/// The widest word of `text`: the narrowest a column may be without cutting words.
pub fn longest_word(text: &str, face: Face, size: f32) -> f32 {
    text.split([' ', '\n'])
        .map(|w| width(face, size, w))
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fit_and_keep_every_word_in_order() {
        let text = "Le réservataire propose ses candidats dans un délai d'un mois à compter de la mise à disposition du logement, sauf stipulation particulière.";
        let lines = wrap(text, Face::Regular, 10.0, 150.0);
        assert!(lines.len() > 3, "{lines:?}");
        for l in &lines {
            assert!(width(Face::Regular, 10.0, l) <= 150.0, "{l}");
        }
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn a_no_break_space_holds_a_rate_together() {
        let text = "un taux de 25,5\u{a0}% du flux";
        let narrow = width(Face::Regular, 10.0, "un taux de 25,5\u{a0}%") + 1.0;
        let lines = wrap(text, Face::Regular, 10.0, narrow);
        assert!(
            lines.iter().any(|l| l.ends_with("25,5\u{a0}%")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_hash_wider_than_the_line_is_cut_without_losing_a_digit() {
        let hash = "0123456789abcdef".repeat(4);
        let lines = wrap(&format!("Empreinte : {hash}"), Face::Bold, 9.0, 120.0);
        assert!(lines.len() >= 3, "{lines:?}");
        assert_eq!(lines.concat().replace("Empreinte :", ""), hash);
        for l in &lines {
            assert!(width(Face::Bold, 9.0, l) <= 120.0, "{l}");
        }
    }

    #[test]
    fn guillemets_and_colons_stay_with_their_word() {
        let text = "la commande « convention-flux verify » vérifie : tout";
        for max in [110.0, 130.0, 160.0, 200.0] {
            let lines = wrap(text, Face::Regular, 10.0, max);
            assert_eq!(lines.join(" "), text);
            for l in &lines {
                assert!(
                    !l.ends_with('«') && !l.starts_with('»') && !l.starts_with(':'),
                    "{lines:?}"
                );
            }
        }
    }

    #[test]
    fn line_breaks_of_the_text_are_kept() {
        let lines = wrap("premier\nsecond", Face::Regular, 10.0, 400.0);
        assert_eq!(lines, vec!["premier", "second"]);
    }
}
