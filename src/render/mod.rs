//! Rendering: the handlebars registry of the pages. Templates are embedded in the binary so
//! that it runs from any directory; strict mode turns a missing variable into an error rather
//! than an empty string on a page.

pub mod charts;
pub mod document;
pub mod exports;
pub mod french_time;
pub mod pages;
pub mod pdf;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, RenderContext, RenderError as HandlebarsError,
    ScopedJson,
};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
#[error("rendu de la page impossible : {0}")]
pub struct RenderError(String);

/// The registered templates.
pub struct Templates {
    registry: Handlebars<'static>,
    demo_mode: bool,
}

/// `{{#if (demo_mode)}}`: whether the server runs the demonstration (`convention-flux demo`),
/// for what only the demo shows (the « Courriels envoyés » page and its link in the header).
struct DemoMode(bool);

impl HelperDef for DemoMode {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        _: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, HandlebarsError> {
        Ok(ScopedJson::Derived(serde_json::Value::Bool(self.0)))
    }
}

/// Partials the pages include: `{{> chart some_chart}}` (a `charts::Chart`).
const PARTIALS: &[(&str, &str)] = &[
    (
        "chart",
        include_str!("../../templates/pages/partials/chart.hbs"),
    ),
    (
        "document_table",
        include_str!("../../templates/documents/table.hbs"),
    ),
];

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
    (
        "documents/convention",
        include_str!("../../templates/documents/convention.hbs"),
    ),
    ("error", include_str!("../../templates/pages/error.hbs")),
    ("outbox", include_str!("../../templates/pages/outbox.hbs")),
];

// `{{plural n "partie" "parties"}}` → « 1 partie », « 12 parties » (0 and 1 take the
// singular in French). `n` is a number or a figure already written in French.
handlebars::handlebars_helper!(
    plural: |n: Json, one: str, many: str| plural_words(n, one, many)
);

fn plural_words(n: &serde_json::Value, one: &str, many: &str) -> String {
    let (written, count) = match n {
        serde_json::Value::Number(x) => {
            let count = x.as_i64().unwrap_or(i64::MAX);
            (charts::french_integer(count), count)
        }
        other => {
            let written = other.as_str().unwrap_or_default().to_owned();
            let digits: String = written.chars().filter(char::is_ascii_digit).collect();
            let count = digits.parse().unwrap_or(0);
            (written, count)
        }
    };
    format!("{written} {}", if count > 1 { many } else { one })
}

impl Templates {
    pub fn new() -> Result<Self, RenderError> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        for (name, text) in PARTIALS {
            registry
                .register_partial(name, *text)
                .map_err(|e| RenderError(format!("gabarit partiel {name} : {e}")))?;
        }
        for (name, text) in PAGES {
            registry
                .register_template_string(name, *text)
                .map_err(|e| RenderError(format!("gabarit {name} : {e}")))?;
        }
        registry.register_helper("demo_mode", Box::new(DemoMode(false)));
        registry.register_helper("plural", Box::new(plural));
        Ok(Self {
            registry,
            demo_mode: false,
        })
    }

    /// The same templates for the demonstration server: the pages offer what only the demo
    /// shows.
    #[must_use]
    pub fn with_demo_mode(mut self, on: bool) -> Self {
        self.registry
            .register_helper("demo_mode", Box::new(DemoMode(on)));
        self.demo_mode = on;
        self
    }

    pub fn demo_mode(&self) -> bool {
        self.demo_mode
    }

    pub fn render<T: Serialize>(&self, name: &str, data: &T) -> Result<String, RenderError> {
        self.registry
            .render(name, data)
            .map_err(|e| RenderError(format!("gabarit {name} : {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_takes_the_french_singular_for_zero_and_one() {
        let t = Templates::new().unwrap();
        let out = |n: serde_json::Value| {
            t.registry
                .render_template(
                    r#"{{plural n "partie" "parties"}}"#,
                    &serde_json::json!({ "n": n }),
                )
                .unwrap()
        };
        assert_eq!(out(serde_json::json!(0)), "0 partie");
        assert_eq!(out(serde_json::json!(1)), "1 partie");
        assert_eq!(out(serde_json::json!(2)), "2 parties");
        assert_eq!(out(serde_json::json!(12345)), "12\u{a0}345 parties");
        // A figure already written in French keeps its writing.
        assert_eq!(out(serde_json::json!("1 204")), "1 204 parties");
        assert_eq!(out(serde_json::json!("1")), "1 partie");
    }
    use crate::render::charts::{PartyShare, party_shares};

    fn render_chart(templates: &Templates, chart: &charts::Chart) -> String {
        templates
            .registry
            .render_template("{{> chart this}}", chart)
            .unwrap()
    }

    #[test]
    fn the_chart_partial_shows_the_drawing_and_its_table_or_says_there_is_no_data() {
        let templates = Templates::new().unwrap();
        let chart = party_shares(
            "parts",
            &[PartyShare {
                name: "Ville <b>".into(),
                dwellings: 12,
            }],
        );
        let html = render_chart(&templates, &chart);
        assert!(html.contains("<figure class=\"fr-my-3w cf-chart\" id=\"graphique-parts\">"));
        assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\""));
        assert!(
            html.contains("<th scope=\"row\">Ville &lt;b&gt;</th><td>12</td>"),
            "{html}"
        );
        assert!(html.contains("<summary>Voir les données du graphique en tableau</summary>"));
        let html = render_chart(&templates, &party_shares("vide", &[]));
        assert!(html.contains(charts::NO_DATA), "{html}");
        assert!(!html.contains("<svg") && !html.contains("<table"), "{html}");
    }

    #[test]
    fn only_the_demo_links_to_its_outbox() {
        let page = |templates: &Templates| {
            templates
                .registry
                .render_template(
                    "{{#if (demo_mode)}}courriels{{else}}rien{{/if}}",
                    &serde_json::json!({}),
                )
                .unwrap()
        };
        let served = Templates::new().unwrap();
        assert!(!served.demo_mode());
        assert_eq!(page(&served), "rien");
        let demo = Templates::new().unwrap().with_demo_mode(true);
        assert!(demo.demo_mode());
        assert_eq!(page(&demo), "courriels");
    }
}
