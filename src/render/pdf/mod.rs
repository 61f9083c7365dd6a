//! The convention document as a PDF/A-3a (DESIGN §4.6, issue 17): built from the same model as
//! the HTML page ([`ConventionDocument`]), A4, tagged (headings, paragraphs, tables with header
//! cells, French), DejaVu Sans embedded, every page headed by the convention and version
//! numbers and the version's SHA-256 and footed « page x / y ».
//!
//! **Deterministic**: the same version and inputs give the same bytes — no clock (the dates are
//! the version's), the document id derived from the version hash, the fonts built into the
//! binary. The PDF carries two attachments: the canonical version text (exactly the bytes whose
//! SHA-256 is the version hash) and the other inputs of the rendering ([`RenderInputs`]), so
//! that `convention-flux verify FICHIER.pdf` renders it again offline and compares the bytes.

mod content;
mod emit;
mod fonts;
mod layout;
mod read;
mod tables;
mod text;
mod verify;

use chrono::{Datelike, Timelike};
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::metadata::{DateTime, Metadata};
use krilla::{Document, SerializeSettings};
use serde::{Deserialize, Serialize};

use crate::render::document::{
    ConventionDocument, DocumentError, DocumentInputs, Scope, convention_document,
};
use crate::services::conventions::document::TypedDocument;

pub use read::{Attachments, ReadError, attachments};
pub use verify::{PdfCheck, verify_bundle_documents, verify_bundle_with_documents, verify_pdf};

/// The attachment holding the canonical version text.
pub const VERSION_NAME: &str = "version-canonique.json";
/// The attachment holding [`RenderInputs`].
pub const INPUTS_NAME: &str = "entrees-du-rendu.json";
/// The format of [`RenderInputs`]. `/2`: each signature is its public extract and the
/// extract's seal. `/1` (before) embedded the whole signature records, with the signers'
/// e-mail and IP addresses and browsers: [`verify_pdf`] still checks their seals.
pub const INPUTS_FORMAT: &str = "convention-flux-pdf/2";
/// The earlier format of [`RenderInputs`].
pub const INPUTS_FORMAT_1: &str = "convention-flux-pdf/1";

/// Everything but the version text that the PDF is rendered from; embedded in the PDF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderInputs {
    pub format: String,
    /// The software that rendered it: the bytes are those of this release's layout.
    pub generator: String,
    /// The réservataire whose annex alone is rendered; `None` for the whole convention.
    pub annexe: Option<String>,
    pub sources: DocumentInputs,
}

impl RenderInputs {
    /// The inputs of `scope`: one réservataire's annex keeps only the bailleur's and its own
    /// signatures ([`DocumentInputs::for_scope`]).
    pub fn new(sources: DocumentInputs, scope: &Scope) -> RenderInputs {
        RenderInputs {
            format: INPUTS_FORMAT.to_owned(),
            generator: generator(),
            annexe: match scope {
                Scope::Whole => None,
                Scope::Annex(party) => Some(party.clone()),
            },
            sources: sources.for_scope(scope),
        }
    }

    pub fn scope(&self) -> Scope {
        self.annexe
            .as_ref()
            .map_or(Scope::Whole, |p| Scope::Annex(p.clone()))
    }
}

/// « convention-flux 0.1.0 ».
pub fn generator() -> String {
    format!("convention-flux {}", env!("CARGO_PKG_VERSION"))
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("le texte de la version n'est pas un document de version lisible : {0}")]
    Version(String),
    #[error("écriture du PDF impossible : {0}")]
    Write(String),
}

/// The PDF of version `doc` (whose stored canonical text is `version_text`) rendered from
/// `inputs`: the whole convention or one réservataire's annex, as `inputs.annexe` says.
///
/// # Errors
/// `Document` when the annex asked for is not a réservataire's; `Write` if krilla refuses the
/// document (a PDF/A rule broken: a bug of the layout).
pub fn render(
    version_text: &str,
    doc: &TypedDocument,
    inputs: &RenderInputs,
) -> Result<Vec<u8>, PdfError> {
    let d = convention_document(&inputs.sources.sources(doc), &inputs.scope())?;
    let inputs_json = serde_json::to_vec(inputs).map_err(|e| PdfError::Write(e.to_string()))?;
    write(&d, &doc.created_at, version_text.as_bytes(), inputs_json)
}

/// [`render`] from the version text alone (read here): what `verify` does offline.
///
/// # Errors
/// Those of [`render`]; `Version` when `version_text` is not a version document.
pub fn render_text(version_text: &str, inputs: &RenderInputs) -> Result<Vec<u8>, PdfError> {
    let doc: TypedDocument =
        serde_json::from_str(version_text).map_err(|e| PdfError::Version(e.to_string()))?;
    render(version_text, &doc, inputs)
}

/// The document's date as PDF metadata: the version's creation, in UTC.
fn pdf_date(rfc3339: &str) -> DateTime {
    let at = chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    let two = |n: u32| u8::try_from(n).unwrap_or(0);
    DateTime::new(u16::try_from(at.year()).unwrap_or(1970))
        .month(two(at.month()))
        .day(two(at.day()))
        .hour(two(at.hour()))
        .minute(two(at.minute()))
        .second(two(at.second()))
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

fn title(d: &ConventionDocument) -> String {
    let h = &d.header;
    match (&d.annex_only, d.annexes.first()) {
        (Some(_), Some(a)) => format!(
            "{} — {} (convention n° {}, version n° {})",
            a.number, a.title, h.convention, h.version
        ),
        _ => format!(
            "{} — convention n° {}, version n° {}",
            h.title, h.convention, h.version
        ),
    }
}

fn attachment(
    name: &str,
    description: String,
    data: Vec<u8>,
    date: DateTime,
    kind: AssociationKind,
) -> EmbeddedFile {
    EmbeddedFile {
        path: name.to_owned(),
        mime_type: MimeType::new("application/json"),
        description: Some(description),
        association_kind: kind,
        data: data.into(),
        modification_date: Some(date),
        compress: Some(true),
        location: None,
    }
}

fn write(
    d: &ConventionDocument,
    created_at: &str,
    version: &[u8],
    inputs: Vec<u8>,
) -> Result<Vec<u8>, PdfError> {
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A3_A)
        .finish()
        .map_err(|e| PdfError::Write(format!("{e:?}")))?;
    let mut doc = Document::new_with(SerializeSettings {
        configuration,
        enable_tagging: true,
        ..SerializeSettings::default()
    });
    let h = &d.header;
    let date = pdf_date(created_at);
    let scope = d.annex_only.as_deref().unwrap_or("convention");
    doc.set_metadata(
        Metadata::new()
            .title(title(d))
            .language("fr-FR".to_owned())
            .creator(generator())
            .description(format!("Empreinte SHA-256 de la version : {}", h.hash))
            .keywords(vec![format!("sha256:{}", h.hash)])
            .creation_date(date)
            .document_id(format!("convention-flux:{}:{scope}", h.hash)),
    );
    let fonts = fonts::Fonts::load()
        .ok_or_else(|| PdfError::Write("police DejaVu Sans illisible".into()))?;
    let (pages, root) = content::lay_out(d).finish();
    let running = emit::Running {
        header: format!(
            "Convention n° {} · version n° {} · SHA-256 {}",
            h.convention, h.version, h.hash
        ),
        footer: title(d),
    };
    let tree = emit::draw(&mut doc, pages, root, &fonts, &running);
    doc.set_tag_tree(tree);
    let files = [
        attachment(
            VERSION_NAME,
            format!(
                "Texte JSON canonique de la version n° {} (SHA-256 {})",
                h.version, h.hash
            ),
            version.to_vec(),
            date,
            AssociationKind::Source,
        ),
        attachment(
            INPUTS_NAME,
            "Données de la mise en page : parties, extraits publics des signatures et leurs sceaux, communes, état des lieux, approbation, clé publique".into(),
            inputs,
            date,
            AssociationKind::Supplement,
        ),
    ];
    for f in files {
        doc.embed_file(f)
            .ok_or_else(|| PdfError::Write(format!("pièce jointe {} en double", VERSION_NAME)))?;
    }
    doc.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}
