//! Rendering: the handlebars registry of the pages. Templates are embedded in the binary so
//! that it runs from any directory; strict mode turns a missing variable into an error rather
//! than an empty string on a page.

pub mod charts;
pub mod cil_xlsx;
pub mod document;
pub mod exports;
pub mod french_time;
pub mod pages;
pub mod pdf;

use std::collections::HashMap;

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
    frames: HashMap<&'static str, Frame>,
    demo_mode: bool,
}

/// What is drawn around a template's own text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// Nothing: the template is a whole document, or a part of one.
    None,
    /// The page's layout (`layout`: header, banners, footer).
    Layout,
    /// The layout, and the convention's header (`convention_header`: breadcrumb, side menu,
    /// title and badges) before the page's own text.
    Workspace,
}

/// What the layout shows of a page's data, and the page's body already rendered.
#[derive(Serialize)]
struct LayoutData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flash: Option<&'a serde_json::Value>,
    body: String,
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

/// The templates and how each is framed: a page's body is rendered first, then the layout
/// around it (see [`Templates::render`]).
const PAGES: &[(&str, &str, Frame)] = &[
    (
        "layout",
        include_str!("../../templates/pages/layout.hbs"),
        Frame::None,
    ),
    (
        "home",
        include_str!("../../templates/pages/home.hbs"),
        Frame::Layout,
    ),
    (
        "login",
        include_str!("../../templates/pages/login.hbs"),
        Frame::Layout,
    ),
    (
        "password_forgot",
        include_str!("../../templates/pages/password_forgot.hbs"),
        Frame::Layout,
    ),
    (
        "password_reset",
        include_str!("../../templates/pages/password_reset.hbs"),
        Frame::Layout,
    ),
    (
        "invitation",
        include_str!("../../templates/pages/invitation.hbs"),
        Frame::Layout,
    ),
    (
        "convention_header",
        include_str!("../../templates/pages/convention/header.hbs"),
        Frame::None,
    ),
    (
        "convention/overview",
        include_str!("../../templates/pages/convention/overview.hbs"),
        Frame::Workspace,
    ),
    (
        "convention/proposals",
        include_str!("../../templates/pages/convention/proposals.hbs"),
        Frame::Workspace,
    ),
    (
        "convention/share",
        include_str!("../../templates/pages/convention/share.hbs"),
        Frame::Workspace,
    ),
    (
        "convention/report",
        include_str!("../../templates/pages/convention/report.hbs"),
        Frame::Workspace,
    ),
    (
        "convention/table",
        include_str!("../../templates/pages/convention/table.hbs"),
        Frame::Workspace,
    ),
    (
        "convention/discussion",
        include_str!("../../templates/pages/convention/discussion.hbs"),
        Frame::Workspace,
    ),
    (
        "convention/signatures",
        include_str!("../../templates/pages/convention/signatures.hbs"),
        Frame::Workspace,
    ),
    (
        "convention/sign",
        include_str!("../../templates/pages/convention/sign.hbs"),
        Frame::Workspace,
    ),
    (
        "convention/versions",
        include_str!("../../templates/pages/convention/versions.hbs"),
        Frame::Workspace,
    ),
    (
        "convention/timeline",
        include_str!("../../templates/pages/convention/timeline.hbs"),
        Frame::Workspace,
    ),
    (
        "import",
        include_str!("../../templates/pages/import.hbs"),
        Frame::Layout,
    ),
    (
        "assiette",
        include_str!("../../templates/pages/assiette.hbs"),
        Frame::Layout,
    ),
    (
        "new_convention",
        include_str!("../../templates/pages/new_convention.hbs"),
        Frame::Layout,
    ),
    (
        "documents/convention",
        include_str!("../../templates/documents/convention.hbs"),
        Frame::Layout,
    ),
    (
        "error",
        include_str!("../../templates/pages/error.hbs"),
        Frame::Layout,
    ),
    (
        "outbox",
        include_str!("../../templates/pages/outbox.hbs"),
        Frame::Layout,
    ),
    (
        "cia",
        include_str!("../../templates/pages/cia.hbs"),
        Frame::Layout,
    ),
    (
        "cil",
        include_str!("../../templates/pages/cil.hbs"),
        Frame::Layout,
    ),
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
        for (name, text, _) in PAGES {
            registry
                .register_template_string(name, *text)
                .map_err(|e| RenderError(format!("gabarit {name} : {e}")))?;
        }
        registry.register_helper("demo_mode", Box::new(DemoMode(false)));
        registry.register_helper("plural", Box::new(plural));
        let frames = PAGES.iter().map(|(name, _, f)| (*name, *f)).collect();
        Ok(Self {
            registry,
            frames,
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

    /// Renders template `name` with `data`, inside the layout (and after the convention's
    /// header) when it is a page.
    ///
    /// The body is rendered first, then the layout around it as text: handlebars copies the
    /// whole current data at each partial it includes (`{{#> layout}}`, `{{> partial}}`), which
    /// cost a tenth of a large page's time. The page's data is converted once; the header and
    /// the body are rendered from it, the layout from its title, session and banners only.
    pub fn render<T: Serialize>(&self, name: &str, data: &T) -> Result<String, RenderError> {
        let failed = |e: HandlebarsError| RenderError(format!("gabarit {name} : {e}"));
        let frame = self.frames.get(name).copied().unwrap_or(Frame::None);
        let context = Context::wraps(data).map_err(failed)?;
        let mut body = String::new();
        if frame == Frame::Workspace {
            body = self
                .registry
                .render_with_context("convention_header", &context)
                .map_err(failed)?;
        }
        body.push_str(
            &self
                .registry
                .render_with_context(name, &context)
                .map_err(failed)?,
        );
        if frame == Frame::None {
            return Ok(body);
        }
        let field = |key: &str| context.data().get(key);
        let layout = LayoutData {
            title: field("title"),
            session: field("session"),
            flash: field("flash"),
            body,
        };
        self.registry.render("layout", &layout).map_err(failed)
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

    /// The layout as it was written before the body was rendered first: the page's text was
    /// its partial block, `{{#> layout}}` … `{{/layout}}`, with `{{> convention_header}}` first
    /// in the workspace.
    fn partial_block_registry() -> Handlebars<'static> {
        let mut old = Handlebars::new();
        for (name, text) in PARTIALS {
            old.register_partial(name, *text).unwrap();
        }
        let layout = include_str!("../../templates/pages/layout.hbs");
        let slot = "{{!-- The page's body, rendered before the layout (render::Templates::render). --}}\n{{{body}}}  </main>";
        assert!(layout.contains(slot));
        let layout = layout.replace(slot, "    {{> @partial-block}}\n  </main>");
        old.register_template_string("layout", layout).unwrap();
        for (name, text, frame) in PAGES.iter().filter(|(name, ..)| *name != "layout") {
            let text = match frame {
                Frame::None => (*text).to_owned(),
                Frame::Layout => format!("{{{{#> layout}}}}\n{text}{{{{/layout}}}}\n"),
                Frame::Workspace => format!(
                    "{{{{#> layout}}}}\n{{{{> convention_header}}}}\n{text}{{{{/layout}}}}\n"
                ),
            };
            old.register_template_string(name, text).unwrap();
        }
        old.register_helper("demo_mode", Box::new(DemoMode(false)));
        old
    }

    #[test]
    fn a_page_is_the_same_html_as_when_it_was_the_layouts_partial_block() {
        let data = serde_json::json!({
            "title": "Vue d'ensemble — Convention <b>",
            "session": {"name": "Agnès & Cie", "email": "a@b.fr", "csrf": "jeton"},
            "flash": {"message": "C'est fait.", "warning": "Attention.", "error": null},
            "ws": {
                "id": 7, "page": "Vue d'ensemble", "title": "Convention de la métropole",
                "state": "en concertation", "you": "secrétariat", "version": 3, "locked": true,
                "csrf": "jeton",
                "menu": [{"href": "/conventions/7", "label": "Vue d'ensemble", "current": true},
                         {"href": "/conventions/7/rapport", "label": "Rapport", "current": false}],
            },
        });
        let old = partial_block_registry();
        let mut new = Templates::new().unwrap();
        // The pages' own data is left out: what is compared is what surrounds it.
        new.registry.set_strict_mode(false);
        for (name, _, frame) in PAGES {
            if *frame == Frame::None {
                continue;
            }
            let before = old.render(name, &data).unwrap();
            let after = new.render(name, &data).unwrap();
            assert_eq!(after, before, "page {name}");
            assert!(after.contains("<footer") && after.contains("Agnès &amp; Cie"));
            if *frame == Frame::Workspace {
                assert!(
                    after.contains("aria-current=\"page\">Vue d&#x27;ensemble</a>"),
                    "{after}"
                );
            }
        }
    }

    #[test]
    fn no_page_includes_the_layout_or_the_header_as_a_partial() {
        for (name, text, _) in PAGES {
            assert!(
                !text.contains("{{#> layout") && !text.contains("{{> convention_header"),
                "{name}: the layout and the header are drawn by Templates::render"
            );
        }
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
