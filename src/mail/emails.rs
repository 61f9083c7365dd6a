//! The platform's e-mails, in French, from the handlebars templates of `templates/emails`
//! (embedded in the binary). Each e-mail has a plain-text template, whose first line is the
//! subject and the rest the body, and an HTML template inside the shared layout. Strict mode:
//! a missing value is an error, never an empty hole in a message.

use std::sync::OnceLock;

use handlebars::Handlebars;
use serde_json::Value;

/// The kinds of e-mail; the name is the templates' stem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailKind {
    Invitation,
    ProposalRequested,
    NewVersion,
    ObjectionRaised,
    ObjectionAnswered,
    SigningRequested,
    SigningReminder,
    ConventionSigned,
    PasswordReset,
    SignedDocuments,
    CiaChanged,
}

impl EmailKind {
    pub const ALL: [EmailKind; 11] = [
        Self::Invitation,
        Self::ProposalRequested,
        Self::NewVersion,
        Self::ObjectionRaised,
        Self::ObjectionAnswered,
        Self::SigningRequested,
        Self::SigningReminder,
        Self::ConventionSigned,
        Self::PasswordReset,
        Self::SignedDocuments,
        Self::CiaChanged,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::ProposalRequested => "proposal_requested",
            Self::NewVersion => "new_version",
            Self::ObjectionRaised => "objection_raised",
            Self::ObjectionAnswered => "objection_answered",
            Self::SigningRequested => "signing_requested",
            Self::SigningReminder => "signing_reminder",
            Self::ConventionSigned => "convention_signed",
            Self::PasswordReset => "password_reset",
            Self::SignedDocuments => "signed_documents",
            Self::CiaChanged => "cia_changed",
        }
    }
}

macro_rules! email_templates {
    ($($name:literal),+ $(,)?) => {
        &[$((
            $name,
            include_str!(concat!("../../templates/emails/", $name, ".txt.hbs")),
            include_str!(concat!("../../templates/emails/", $name, ".html.hbs")),
        )),+]
    };
}

/// (stem, text template, HTML template), in the order of `EmailKind::ALL`.
const TEMPLATES: &[(&str, &str, &str)] = email_templates!(
    "invitation",
    "proposal_requested",
    "new_version",
    "objection_raised",
    "objection_answered",
    "signing_requested",
    "signing_reminder",
    "convention_signed",
    "password_reset",
    "signed_documents",
    "cia_changed",
);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("courriel « {0} » impossible à composer : {1}")]
pub struct EmailError(pub &'static str, pub String);

/// A composed e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

struct Registries {
    /// Plain text: nothing escaped.
    text: Handlebars<'static>,
    /// HTML: every value escaped.
    html: Handlebars<'static>,
}

fn registries() -> Result<&'static Registries, EmailError> {
    static REGISTRIES: OnceLock<Result<Registries, EmailError>> = OnceLock::new();
    REGISTRIES
        .get_or_init(|| {
            let fail = |e: handlebars::TemplateError| EmailError("gabarits", e.to_string());
            let mut text = Handlebars::new();
            text.set_strict_mode(true);
            text.register_escape_fn(handlebars::no_escape);
            text.register_partial(
                "footer",
                include_str!("../../templates/emails/footer.txt.hbs"),
            )
            .map_err(fail)?;
            text.register_helper("plural", Box::new(crate::render::plural));
            let mut html = Handlebars::new();
            html.set_strict_mode(true);
            html.register_helper("plural", Box::new(crate::render::plural));
            html.register_partial(
                "layout",
                include_str!("../../templates/emails/layout.html.hbs"),
            )
            .map_err(fail)?;
            for (name, text_template, html_template) in TEMPLATES {
                text.register_template_string(name, *text_template)
                    .map_err(fail)?;
                html.register_template_string(name, *html_template)
                    .map_err(fail)?;
            }
            Ok(Registries { text, html })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Composes `kind` from `data` (a JSON object; `name` is the recipient's name).
pub fn compose(kind: EmailKind, data: &Value) -> Result<Email, EmailError> {
    let r = registries()?;
    let fail = |e: handlebars::RenderError| EmailError(kind.name(), e.to_string());
    let rendered = r.text.render(kind.name(), data).map_err(fail)?;
    let (subject, body) = rendered
        .split_once("\n\n")
        .ok_or_else(|| EmailError(kind.name(), "objet absent du gabarit texte".into()))?;
    let subject = subject.trim().to_owned();
    let mut html_data = data.clone();
    if let Value::Object(map) = &mut html_data {
        map.insert("subject".into(), Value::String(subject.clone()));
    }
    let html = r.html.render(kind.name(), &html_data).map_err(fail)?;
    Ok(Email {
        subject,
        text: body.trim_start().to_owned(),
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Values for every variable of every template.
    fn data() -> Value {
        json!({
            "name": "Élise <Durand>", "title": "Convention « test »", "by": "Claire",
            "role": "signataire", "party": "commune-69801", "days": 14,
            "link": "http://plateforme.test/conventions/1", "number": 3, "author": "Claire",
            "reason": "proposition publiée", "blocking": 0, "anchor": "la clause « bilan »",
            "body": "Le bilan <b>doit</b> détailler.", "outcome": "a levé", "answer": "Vu.",
            "hash": "ab12", "deadline": "31/01/2027 à 18:00 (UTC)", "approval": true,
            "tables": true, "minutes": 60,
            "epci": "Métropole <test>", "previous": 1, "signed": false,
        })
    }

    #[test]
    fn every_template_composes_in_french_with_a_subject() {
        assert_eq!(EmailKind::ALL.len(), TEMPLATES.len());
        for (kind, (name, ..)) in EmailKind::ALL.iter().zip(TEMPLATES) {
            assert_eq!(kind.name(), *name);
            let email = compose(*kind, &data()).unwrap();
            assert!(email.subject.contains("Convention « test »"), "{email:?}");
            assert!(!email.subject.contains('\n'));
            assert!(
                email.text.starts_with("Bonjour Élise <Durand>,"),
                "{email:?}"
            );
            assert!(email.text.contains("Merci de ne pas y répondre"));
            assert!(
                email.html.contains("Bonjour Élise &lt;Durand&gt;,"),
                "{email:?}"
            );
            assert!(email.html.contains("<html lang=\"fr\">"));
        }
    }

    #[test]
    fn html_escapes_what_users_wrote_and_text_keeps_it() {
        let email = compose(EmailKind::ObjectionRaised, &data()).unwrap();
        assert!(email.text.contains("Le bilan <b>doit</b> détailler."));
        assert!(
            email
                .html
                .contains("Le bilan &lt;b&gt;doit&lt;/b&gt; détailler.")
        );
        assert_eq!(
            email.subject,
            "Objection de « commune-69801 » : Convention « test »"
        );
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_hole() {
        let mut incomplete = data();
        incomplete.as_object_mut().unwrap().remove("link");
        let e = compose(EmailKind::Invitation, &incomplete).unwrap_err();
        assert_eq!(e.0, "invitation");
    }

    #[test]
    fn optional_parts_follow_the_data() {
        let mut d = data();
        d["tables"] = json!(false);
        d["deadline"] = Value::Null;
        let signed = compose(EmailKind::ConventionSigned, &d).unwrap();
        assert!(!signed.text.contains("joints"), "{}", signed.text);
        let requested = compose(EmailKind::SigningRequested, &d).unwrap();
        assert!(!requested.text.contains("avant le"), "{}", requested.text);
    }
}
