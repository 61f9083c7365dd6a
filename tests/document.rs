//! The convention document page (`/conventions/{id}/document`, DESIGN §4.6) on the demo's
//! signed convention: every party, rate and commitment of the sealed version, the annexes, the
//! certificate; a réservataire's annex alone; French errors.

mod common;

use common::harness::{BAILLEUR, Harness, User};
use common::{TestDb, unescape};
use convention_flux::render::pages::convention::french_decimal;
use convention_flux::services::conventions::Caller;
use convention_flux::services::conventions::convention_document::{DocumentRequest, document};
use convention_flux::services::conventions::demo::DEMO_PASSWORD;
use convention_flux::services::conventions::document::VersionDocument;

/// The document itself, without the page's frame.
fn article(html: &str) -> &str {
    let start = html
        .find("<article class=\"cf-document\"")
        .expect("the document");
    let end = html.find("</article>").expect("its end") + "</article>".len();
    &html[start..end]
}

/// `text` with the content of every `open`…`close` replaced by `placeholder`.
fn replace_between(text: &str, open: &str, close: &str, placeholder: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i + open.len()]);
        out.push_str(placeholder);
        let after = &rest[i + open.len()..];
        rest = &after[after.find(close).expect("closed")..];
    }
    out.push_str(rest);
    out
}

/// The document with what changes from one run to the next (times, hashes, seals) replaced by
/// placeholders, for the snapshot.
fn stable(html: &str) -> String {
    let html = replace_between(html, "<time>", "</time>", "[date]");
    let html = replace_between(&html, "<code class=\"cf-seal\">", "</code>", "[sceau]");
    // Hashes: every run of 64 hexadecimal digits.
    let chars: Vec<char> = html.chars().collect();
    let mut result = String::new();
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if run == 64 {
            result.push_str("[empreinte]");
        } else {
            result.extend(&chars[i..i + run.max(1)]);
        }
        i += run.max(1);
    }
    result
}

async fn demo_member(h: &Harness, party: &str) -> User {
    h.login(&format!("{party}@demo.convention-flux.fr"), DEMO_PASSWORD)
        .await
}

async fn the_signed_demo_convention_reads_as_a_document(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    let row = h.platform.store.current_version(id).await.unwrap().unwrap();
    assert!(row.locked, "the demo's signed convention");
    let doc: VersionDocument = serde_json::from_str(&row.document).unwrap();
    let user = demo_member(&h, "etat").await;
    let (status, html) = h.page(&user, &format!("/conventions/{id}/document")).await;
    assert_eq!(status, 200, "{html}");
    let text = &unescape(article(&html));
    assert!(text.contains(&row.hash));
    assert!(text.contains(&doc.bailleur.name));
    for (n, r) in doc.scenario.reservataires.iter().enumerate() {
        assert!(text.contains(&r.name), "{}", r.name);
        let rate = format!("{}\u{a0}%", french_decimal(&r.share));
        assert!(text.contains(&rate), "{rate} de {}", r.name);
        for c in [
            &r.commitments.priority,
            &r.commitments.q1_hors_qpv,
            &r.commitments.non_q1_qpv,
        ] {
            assert!(text.contains(&format!("{}\u{a0}%", french_decimal(c))));
        }
        assert!(text.contains(&format!("Annexe 4.{}", n + 1)));
    }
    for annex in [
        "Annexe 1 — État des lieux",
        "Annexe 2 — Assiette du flux par segment",
        "Annexe 3 — Tableau des flux et son certificat",
        "Certificat de signature",
    ] {
        assert!(text.contains(annex), "{annex}");
    }
    // The visas and articles read are those sealed in the version, so the hash signed covers
    // them (DESIGN §4.6).
    let sealed = doc.text.as_ref().expect("a version sealed with its text");
    assert!(
        sealed.articles.len() >= 10,
        "{} articles",
        sealed.articles.len()
    );
    for visa in &sealed.visas {
        assert!(text.contains(visa.as_str()), "{visa}");
    }
    for a in &sealed.articles {
        assert!(text.contains(&format!("— {}", a.title)), "{}", a.title);
        for paragraph in &a.paragraphs {
            assert!(text.contains(paragraph.as_str()), "{paragraph}");
        }
    }
    // Each signature of the version in the certificate, with the seal of its public extract
    // (the record's own seal, over the e-mail and IP addresses too, is not published).
    let signatures = h.platform.store.signatures(id).await.unwrap();
    for s in signatures
        .iter()
        .filter(|s| s.record.version_hash == row.hash)
    {
        let extract_seal = h.platform.key.seal(&s.record.public_extract().canonical());
        assert!(text.contains(&extract_seal), "sceau de {}", s.record.party);
        assert!(
            !text.contains(&s.seal),
            "sceau complet de {}",
            s.record.party
        );
        assert!(!text.contains(&s.record.signer_email));
        assert!(text.contains(&s.record.signer_name));
    }
    // The print style sheet carries the running header of every page.
    assert!(html.contains(&format!(
        "Convention n° {id} · version n° {} · SHA-256 {}",
        row.number, row.hash
    )));
    assert!(html.contains("counter(pages)"));
    insta::assert_snapshot!("document_convention_signee", stable(article(&html)));

    // The état des lieux counts every dwelling reserved in stock (all the demo's communes are in
    // its EPCI), as the bailleur's summary does.
    let user_record = h
        .platform
        .store
        .user_by_email("etat@demo.convention-flux.fr")
        .await
        .unwrap()
        .unwrap();
    let caller = Caller { user: user_record };
    let d = document(&h.platform, &caller, id, &DocumentRequest::default())
        .await
        .unwrap();
    let counted: u64 = d.annexes[0].tables[0]
        .rows
        .iter()
        .map(|r| r[3].replace('\u{a0}', "").parse::<u64>().unwrap())
        .sum();
    let summary = h.platform.store.bailleurs().await.unwrap();
    let expected = summary
        .iter()
        .find(|b| b.bailleur.siren.as_str() == BAILLEUR)
        .unwrap()
        .stock_reservations;
    assert!(expected > 0);
    assert_eq!(counted, expected);

    // The workspace leads to it.
    let (_, versions) = h.page(&user, &format!("/conventions/{id}/versions")).await;
    assert!(versions.contains(&format!(
        "/conventions/{id}/document?version={}",
        row.number
    )));
    let (_, signatures_page) = h
        .page(&user, &format!("/conventions/{id}/signatures"))
        .await;
    assert!(signatures_page.contains(&format!("/conventions/{id}/document\"")));
    // The signing form of the convention in concertation's signatory leads to its version.
    let other = demo.in_concertation;
    let current = h
        .platform
        .store
        .current_version(other)
        .await
        .unwrap()
        .unwrap();
    let (_, sign) = h.page(&user, &format!("/conventions/{other}/signer")).await;
    assert!(
        sign.contains(&format!(
            "/conventions/{other}/document?version={}",
            current.number
        )),
        "{sign}"
    );
    // The style sheet is served.
    let css = h
        .client
        .get(format!("{}/ressources/document.css", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status().as_u16(), 200);
    assert!(css.text().await.unwrap().contains("@media print"));

    // The préfet approves: the certificate says when and who.
    assert!(text.contains("Approbation du préfet : en attente"));
    h.ok(
        &user,
        "POST",
        &format!("/api/conventions/{id}/transitions/approve"),
        Some(serde_json::json!({})),
    )
    .await;
    let (_, html) = h.page(&user, &format!("/conventions/{id}/document")).await;
    let text = unescape(article(&html));
    assert!(text.contains("Approuvée par le préfet"), "{text}");
    assert!(!text.contains("en attente"));
}

async fn an_annex_alone_names_its_reservataire_only(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    let row = h.platform.store.current_version(id).await.unwrap().unwrap();
    let doc: VersionDocument = serde_json::from_str(&row.document).unwrap();
    let user = demo_member(&h, "commune-69801").await;
    let own = doc
        .scenario
        .reservataires
        .iter()
        .find(|r| r.id == "commune-69801")
        .unwrap();
    let (status, html) = h
        .page(
            &user,
            &format!(
                "/conventions/{id}/document?version={}&annexe=commune-69801",
                row.number
            ),
        )
        .await;
    assert_eq!(status, 200, "{html}");
    let text = &unescape(article(&html));
    assert!(text.contains(&format!(
        "Convention de réservation entre {} et {}",
        doc.bailleur.name, own.name
    )));
    assert!(text.contains(&format!("{}\u{a0}% du flux", french_decimal(&own.share))));
    for other in doc.scenario.reservataires.iter().filter(|r| r.id != own.id) {
        assert!(!text.contains(&other.name), "{} est cité", other.name);
    }
    assert!(!text.contains("Annexe 3"));
    assert!(text.contains("Signatures"));
}

async fn a_wrong_address_gets_a_french_error_page(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    let user = demo_member(&h, "etat").await;
    for (query, status, words) in [
        ("?version=abc", 400, "n'est pas un numéro de version"),
        ("?version=99", 404, "Version n° 99 introuvable"),
        (
            "?annexe=inconnu",
            404,
            "« inconnu » n'est pas un réservataire",
        ),
        (
            "?annexe=bailleur",
            404,
            "« bailleur » n'est pas un réservataire",
        ),
    ] {
        let (got, html) = h
            .page(&user, &format!("/conventions/{id}/document{query}"))
            .await;
        assert_eq!(got, status, "{query}: {html}");
        assert!(html.contains("<html lang=\"fr\""), "{query}: a page");
        assert!(unescape(&html).contains(words), "{query}: {html}");
    }
    // Someone who is not a member learns nothing of the convention.
    let outsider = h.secretariat().await;
    let (got, html) = h
        .page(&outsider, &format!("/conventions/{id}/document"))
        .await;
    assert_eq!(got, 404, "{html}");
    assert!(html.contains("introuvable"));
}

on_both_engines!(
    the_signed_demo_convention_reads_as_a_document,
    an_annex_alone_names_its_reservataire_only,
    a_wrong_address_gets_a_french_error_page
);
