//! « Courriels envoyés » (issue 16 item 4), on the demonstration server only: the e-mails the
//! platform wrote to its outbox, with their text and clickable links, so that a newcomer can
//! follow an invitation link without a mail server.
//!
//! Who sees what: every signed-in user the e-mails addressed to them; a member of a
//! convention's secretariat also every e-mail written by a change of that convention (the
//! invitations it sent included). The invitation links are credentials: hence demo only (a
//! served page of `convention-flux serve` answers 404) and never to anyone signed out.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::frame::{Flash, Frame, SessionView, page_caller, redirect, render};
use crate::http::{ApiError, AppState};
use crate::render::pages::dates::french_datetime;
use crate::services::conventions::coordination::{OUTBOX_PAGE_LIMIT, mails_visible_to};
use crate::store::conventions::OutboxRow;

/// One e-mail as the page shows it.
#[derive(Debug, Serialize)]
struct Mail {
    id: i64,
    to: String,
    subject: String,
    /// « 2 décembre 2026 à 3 h 58 », Europe/Paris.
    written: String,
    status: &'static str,
    /// DSFR badge variant: `success`, `info` or `warning`.
    badge: &'static str,
    /// Why the last attempt failed, if it did.
    error: Option<String>,
    /// The plain text, escaped, its addresses made links (`{{{ }}}` in the template).
    body: String,
}

#[derive(Debug, Serialize)]
struct OutboxPage {
    #[serde(flatten)]
    frame: Frame,
    mails: Vec<Mail>,
    limit: i64,
    at_limit: bool,
}

fn mail(row: OutboxRow) -> Mail {
    let (status, badge) = match (&row.sent_at, &row.last_error) {
        (Some(_), _) => ("envoyé", "success"),
        (None, Some(_)) => ("échec, nouvel essai prévu", "warning"),
        (None, None) => ("en attente d'envoi", "info"),
    };
    Mail {
        id: row.id,
        written: french_datetime(&row.created_at),
        status,
        badge,
        error: row.last_error,
        body: linkify(&row.body_text),
        to: row.to,
        subject: row.subject,
    }
}

fn view(session: SessionView, rows: Vec<OutboxRow>) -> OutboxPage {
    let at_limit = rows.len() as i64 >= OUTBOX_PAGE_LIMIT;
    OutboxPage {
        frame: Frame {
            title: "Courriels envoyés".into(),
            session: Some(session),
            flash: Flash::default(),
        },
        mails: rows.into_iter().map(mail).collect(),
        limit: OUTBOX_PAGE_LIMIT,
        at_limit,
    }
}

/// `GET /courriels`.
pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.templates.demo_mode() {
        return ApiError::NotFound(
            "aucune page à l'adresse /courriels : les courriels envoyés ne se consultent que sur le serveur de démonstration (convention-flux demo)".into(),
        )
        .into_response();
    }
    // The demo check first: outside the demo the page does not exist, signed in or not.
    let Some((caller, session)) = page_caller(&state, &headers).await else {
        return redirect("/connexion?suite=%2Fcourriels");
    };
    match mails_visible_to(&state.platform, &caller).await {
        Ok(rows) => render(&state, "outbox", &view(session, rows)),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Plain text as HTML: every character escaped, each `http://` or `https://` address a link.
fn linkify(text: &str) -> String {
    use crate::render::charts::escape;
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    loop {
        let next = ["http://", "https://"]
            .iter()
            .filter_map(|scheme| rest.find(scheme))
            .min();
        let Some(start) = next else {
            out.push_str(&escape(rest));
            return out;
        };
        out.push_str(&escape(&rest[..start]));
        let url_len = rest[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '»' | '«'))
            .unwrap_or(rest.len() - start);
        let mut url = &rest[start..start + url_len];
        // A sentence's full stop or comma is not part of the address.
        while url.ends_with(['.', ',', ';', ':', ')']) {
            url = &url[..url.len() - 1];
        }
        let url_html = escape(url);
        out.push_str(&format!("<a href=\"{url_html}\">{url_html}</a>"));
        rest = &rest[start + url.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::linkify;

    #[test]
    fn addresses_become_links_and_the_rest_is_escaped() {
        let text =
            "Bonjour <Élise>,\nAcceptez : http://plateforme.test/invitation/ab12.\nFin & merci";
        assert_eq!(
            linkify(text),
            "Bonjour &lt;Élise&gt;,\nAcceptez : <a href=\"http://plateforme.test/invitation/ab12\">http://plateforme.test/invitation/ab12</a>.\nFin &amp; merci"
        );
        let hostile = "https://x.test/?a=\"><script>";
        let html = linkify(hostile);
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.starts_with(
                "<a href=\"https://x.test/?a=\">https://x.test/?a=</a>&quot;&gt;&lt;script&gt;"
            ),
            "{html}"
        );
        assert_eq!(linkify("sans lien"), "sans lien");
    }
}
