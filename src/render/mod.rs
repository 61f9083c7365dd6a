//! Rendering: the handlebars registry of the pages. Templates are embedded in the binary so
//! that it runs from any directory; strict mode turns a missing variable into an error rather
//! than an empty string on a page.

pub mod exports;
pub mod pages;

use handlebars::Handlebars;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
#[error("rendu de la page impossible : {0}")]
pub struct RenderError(String);

/// The registered templates.
pub struct Templates {
    registry: Handlebars<'static>,
}

const PAGES: &[(&str, &str)] = &[
    ("layout", include_str!("../../templates/pages/layout.hbs")),
    ("home", include_str!("../../templates/pages/home.hbs")),
    ("login", include_str!("../../templates/pages/login.hbs")),
    (
        "password_forgot",
        include_str!("../../templates/pages/password_forgot.hbs"),
    ),
    (
        "password_reset",
        include_str!("../../templates/pages/password_reset.hbs"),
    ),
    (
        "invitation",
        include_str!("../../templates/pages/invitation.hbs"),
    ),
    (
        "convention_header",
        include_str!("../../templates/pages/convention/header.hbs"),
    ),
    (
        "convention/overview",
        include_str!("../../templates/pages/convention/overview.hbs"),
    ),
    (
        "convention/proposals",
        include_str!("../../templates/pages/convention/proposals.hbs"),
    ),
    (
        "convention/report",
        include_str!("../../templates/pages/convention/report.hbs"),
    ),
    (
        "convention/table",
        include_str!("../../templates/pages/convention/table.hbs"),
    ),
    (
        "convention/discussion",
        include_str!("../../templates/pages/convention/discussion.hbs"),
    ),
    (
        "convention/signatures",
        include_str!("../../templates/pages/convention/signatures.hbs"),
    ),
    (
        "convention/sign",
        include_str!("../../templates/pages/convention/sign.hbs"),
    ),
    (
        "convention/versions",
        include_str!("../../templates/pages/convention/versions.hbs"),
    ),
    (
        "convention/timeline",
        include_str!("../../templates/pages/convention/timeline.hbs"),
    ),
    ("import", include_str!("../../templates/pages/import.hbs")),
    (
        "assiette",
        include_str!("../../templates/pages/assiette.hbs"),
    ),
    (
        "new_convention",
        include_str!("../../templates/pages/new_convention.hbs"),
    ),
    ("error", include_str!("../../templates/pages/error.hbs")),
];

impl Templates {
    pub fn new() -> Result<Self, RenderError> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        for (name, text) in PAGES {
            registry
                .register_template_string(name, *text)
                .map_err(|e| RenderError(format!("gabarit {name} : {e}")))?;
        }
        Ok(Self { registry })
    }

    pub fn render<T: Serialize>(&self, name: &str, data: &T) -> Result<String, RenderError> {
        self.registry
            .render(name, data)
            .map_err(|e| RenderError(format!("gabarit {name} : {e}")))
    }
}
