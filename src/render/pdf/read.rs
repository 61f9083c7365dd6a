//! Reading a PDF back (lopdf): the two attachments that make it verifiable offline.

use lopdf::{Dictionary, Document, Object};

use super::{INPUTS_NAME, VERSION_NAME};

/// The largest attachment read back: a version of the largest convention is about 20 MB.
const MAX_ATTACHMENT: usize = 256 << 20;

/// The attachments of a convention PDF, as embedded.
#[derive(Debug, Clone)]
pub struct Attachments {
    /// The canonical version text.
    pub version: Vec<u8>,
    /// The rendering inputs (JSON).
    pub inputs: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("le fichier ne commence pas par « %PDF » : ce n'est pas un PDF")]
    NotPdf,
    #[error("le PDF est illisible ({0}) : il est altéré ou tronqué")]
    Unreadable(String),
    #[error(
        "le PDF n'a pas de pièce jointe « {0} » : ce n'est pas un document de convention produit par convention-flux, ou il a été modifié"
    )]
    Missing(&'static str),
}

fn unreadable(e: impl std::fmt::Display) -> ReadError {
    ReadError::Unreadable(e.to_string())
}

/// Embedded files: name and content.
type Files = Vec<(Vec<u8>, Vec<u8>)>;

/// The embedded files of `pdf`, by name, from the catalogue's name tree.
fn embedded(doc: &Document) -> Result<Files, ReadError> {
    let catalog = doc.catalog().map_err(unreadable)?;
    let Ok(names) = catalog.get_deref(b"Names", doc).and_then(Object::as_dict) else {
        return Ok(Vec::new());
    };
    let Ok(tree) = names
        .get_deref(b"EmbeddedFiles", doc)
        .and_then(Object::as_dict)
    else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    collect(doc, tree, &mut files, 0)?;
    Ok(files)
}

/// The leaves of a name tree (`Names` pairs), following `Kids` a few levels down.
fn collect(
    doc: &Document,
    node: &Dictionary,
    files: &mut Files,
    depth: u32,
) -> Result<(), ReadError> {
    if depth > 8 {
        return Err(ReadError::Unreadable(
            "arbre des pièces jointes trop profond".into(),
        ));
    }
    if let Ok(kids) = node.get_deref(b"Kids", doc).and_then(Object::as_array) {
        for kid in kids {
            let (_, kid) = doc.dereference(kid).map_err(unreadable)?;
            collect(doc, kid.as_dict().map_err(unreadable)?, files, depth + 1)?;
        }
    }
    if let Ok(pairs) = node.get_deref(b"Names", doc).and_then(Object::as_array) {
        for pair in pairs.chunks(2) {
            let [name, spec] = pair else { continue };
            let name = name.as_str().map_err(unreadable)?.to_vec();
            let (_, spec) = doc.dereference(spec).map_err(unreadable)?;
            let stream = spec
                .as_dict()
                .and_then(|s| s.get_deref(b"EF", doc))
                .and_then(Object::as_dict)
                .and_then(|ef| ef.get_deref(b"F", doc))
                .and_then(Object::as_stream)
                .map_err(unreadable)?;
            let data = stream
                .decompressed_content_with_limit(MAX_ATTACHMENT)
                .or_else(|e| {
                    // An uncompressed stream has nothing to decode.
                    if stream.dict.get(b"Filter").is_err() {
                        Ok(stream.content.clone())
                    } else {
                        Err(e)
                    }
                })
                .map_err(unreadable)?;
            files.push((name, data));
        }
    }
    Ok(())
}

/// The canonical version text and the rendering inputs embedded in `pdf`.
///
/// # Errors
/// When `pdf` is not a PDF, cannot be parsed, or lacks one of the two attachments.
pub fn attachments(pdf: &[u8]) -> Result<Attachments, ReadError> {
    if !pdf.starts_with(b"%PDF") {
        return Err(ReadError::NotPdf);
    }
    let doc = Document::load_mem(pdf).map_err(unreadable)?;
    let mut files = embedded(&doc)?;
    let mut take = |name: &'static str| {
        files
            .iter()
            .position(|(n, _)| n == name.as_bytes())
            .map(|i| files.swap_remove(i).1)
            .ok_or(ReadError::Missing(name))
    };
    Ok(Attachments {
        version: take(VERSION_NAME)?,
        inputs: take(INPUTS_NAME)?,
    })
}
