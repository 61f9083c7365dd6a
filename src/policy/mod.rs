//! Policies: the regulatory parameters read from `policies/*.toml`, validated at load time.
//!
//! The files are shipped in the repository and embedded in the binary as a fallback, so that the
//! platform starts from any working directory; an operator edits the copies in `policies_dir`.

pub mod experiment;
pub mod rules;

use std::path::Path;

/// A policy file that cannot be used, with the reason in French.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("fichier de politique {file} : lecture impossible ({})", crate::domain::text::io_reason(.source))]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("fichier de politique {file} : {message}")]
    Invalid { file: String, message: String },
}

/// Reads `name` from `dir` when it exists there, else the copy embedded in the binary.
pub(crate) fn read_policy_text(
    dir: &Path,
    name: &str,
    embedded: &'static str,
) -> Result<(String, String), PolicyError> {
    let path = dir.join(name);
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|source| PolicyError::Read {
            file: path.display().to_string(),
            source,
        })?;
        Ok((path.display().to_string(), text))
    } else {
        Ok((format!("{name} (copie intégrée)"), embedded.to_owned()))
    }
}

/// Formats a TOML deserialisation error as a French message naming the key.
pub(crate) fn toml_error_message(error: &toml::de::Error) -> String {
    let message = error.message();
    let translated = if let Some(rest) = message.strip_prefix("unknown field ") {
        format!(
            "clé inconnue {}",
            rest.replace(", expected one of", " (clés admises :") + ")"
        )
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        format!("clé obligatoire absente : {rest}")
    } else if message.starts_with("invalid type") {
        format!("type de valeur incorrect ({message})")
    } else {
        format!("syntaxe TOML invalide ({message})")
    };
    match error.span() {
        Some(span) => format!("{translated}, à l'octet {}", span.start),
        None => translated,
    }
}
