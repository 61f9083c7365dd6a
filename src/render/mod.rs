//! Rendering: the handlebars registry of the pages. Templates are embedded in the binary so
//! that it runs from any directory; strict mode turns a missing variable into an error rather
//! than an empty string on a page.

pub mod exports;

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
        "convention",
        include_str!("../../templates/pages/convention.hbs"),
    ),
    ("sign", include_str!("../../templates/pages/sign.hbs")),
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
