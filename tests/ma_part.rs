//! The page « D'où vient ma part » (`/conventions/{id}/ma-part`) and its CSV on the demo: a
//! réservataire reads its own figures, the same as the API's conversion, and nobody else's; the
//! secretariat reads every party; a non-member gets 404 (issue 18, item 3).

mod common;

use common::TestDb;
use common::harness::{Harness, PASSWORD, User};
use convention_flux::services::conventions::demo::DEMO_PASSWORD;
use reqwest::redirect::Policy;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    fn new(h: &Harness) -> Self {
        Self {
            base: h.base.clone(),
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    /// Signs in through the sign-in form, as a browser does.
    async fn login(&mut self, email: &str, password: &str) {
        let page = self
            .client
            .get(format!("{}/connexion", self.base))
            .send()
            .await
            .unwrap();
        let form_cookie = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
            .find(|c| c.starts_with("cf_formulaire="))
            .expect("the anti-forgery cookie");
        let html = page.text().await.unwrap();
        let start = html.find("name=\"_csrf\" value=\"").expect("a form") + 20;
        let token = &html[start..start + 43];
        let response = self
            .client
            .post(format!("{}/connexion", self.base))
            .header("cookie", form_cookie)
            .form(&[
                ("email", email),
                ("password", password),
                ("suite", "/"),
                ("_csrf", token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "sign-in of {email}");
        self.cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
            .find(|c| !c.starts_with("cf_formulaire=") && c.contains('='));
        assert!(self.cookie.is_some(), "a session cookie");
    }

    /// Status, content type and body of a GET.
    async fn get(&self, path: &str) -> (u16, String, String) {
        let mut r = self.client.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let response = r.send().await.unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            status,
            kind,
            response.text().await.unwrap().replace("&#x27;", "'"),
        )
    }
}

fn demo_email(party: &str) -> String {
    format!("{party}@demo.convention-flux.fr")
}

/// A JSON decimal string as the page writes it: rounded half up to `decimals`, a comma.
fn french(value: &Value, decimals: u32) -> String {
    let d: Decimal = value.as_str().expect("a decimal string").parse().unwrap();
    let d = d.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    format!("{d:.prec$}", prec = decimals as usize).replace('.', ",")
}

/// « 1 234 »: thousands apart by a non-breaking space.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
}

fn party<'a>(conversion: &'a Value, id: &str) -> &'a Value {
    conversion["reservataires"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} holds rights in the demo"))
}

async fn conversions(h: &Harness, user: &User, id: i64) -> (Value, Value) {
    let path = format!("/api/conventions/{id}/conversion");
    let flux = h.ok(user, "GET", &path, None).await;
    let stock = h
        .ok(user, "GET", &format!("{path}?method=stock"), None)
        .await;
    (flux, stock)
}

async fn a_reservataire_reads_its_own_part(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    for who in ["etat", "commune-69801"] {
        let api_user = h.login(&demo_email(who), DEMO_PASSWORD).await;
        let (flux, stock) = conversions(&h, &api_user, id).await;
        let mine = party(&flux, who);
        let mut b = Browser::new(&h);
        b.login(&demo_email(who), DEMO_PASSWORD).await;
        let (status, _, html) = b.get(&format!("/conventions/{id}/ma-part")).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("aria-current=\"page\">D'où vient ma part</a>"));
        let rate_flux = french(&mine["rate"], 2);
        let rate_stock = french(&party(&stock, who)["rate"], 2);
        assert!(
            html.contains(&format!(
                "Avec la méthode flux, votre part de départ est de {rate_flux} %"
            )),
            "{who}: flux rate {rate_flux} in {html}"
        );
        assert!(
            html.contains(&format!(
                "Avec la méthode stock, votre part de départ serait de {rate_stock} %"
            )),
            "{who}: stock rate {rate_stock}"
        );
        let dwellings = mine["dwellings"].as_u64().unwrap();
        let dwellings = grouped(dwellings);
        assert!(
            html.contains(&format!("Vous détenez {dwellings} droits en stock")),
            "{who}"
        );
        let flux_equivalent = french(&mine["flux_equivalent"], 2);
        assert!(
            html.contains(&format!("flux-équivalent de {flux_equivalent} logements")),
            "{who}"
        );
        // The rights ending in the year, each named.
        let year = flux["year"].as_i64().unwrap().to_string();
        let ending: Vec<&str> = mine["rights"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["end_date"].as_str().is_some_and(|d| d.starts_with(&year)))
            .map(|r| r["rpls_id"].as_str().unwrap())
            .collect();
        for rpls in &ending {
            assert!(
                html.contains(&format!("<th scope=\"row\">{rpls}</th>")),
                "{who}: {rpls}"
            );
        }
        // Nobody else's figures, no side-by-side table.
        assert!(!html.contains("partie par partie"), "{who}");
        for other in flux["reservataires"].as_array().unwrap() {
            if other["id"] != who {
                let theirs = french(&other["flux_equivalent"], 2);
                assert!(
                    !html.contains(&format!(">{theirs}<")),
                    "{who} sees {}",
                    other["id"]
                );
            }
        }
        // The other method leads when asked, without JavaScript.
        let (status, _, html) = b
            .get(&format!("/conventions/{id}/ma-part?methode=stock"))
            .await;
        assert_eq!(status, 200);
        assert!(html.contains(&format!(
            "Avec la méthode stock, votre part de départ est de {rate_stock} %"
        )));
        assert!(html.contains("?methode=flux"));
        // An unknown method is named in a banner; the page still answers, with the default.
        let (status, _, html) = b
            .get(&format!("/conventions/{id}/ma-part?methode=mixte"))
            .await;
        assert_eq!(status, 200);
        assert!(html.contains("Méthode « mixte » inconnue"), "{html}");
        assert!(html.contains(&format!(
            "Avec la méthode flux, votre part de départ est de {rate_flux} %"
        )));
    }
}

async fn the_secretariat_sees_every_party(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    for who in ["secretariat", "bailleur"] {
        let email = demo_email(who);
        let api_user = h.login(&email, DEMO_PASSWORD).await;
        let (flux, stock) = conversions(&h, &api_user, id).await;
        let mut b = Browser::new(&h);
        b.login(&email, DEMO_PASSWORD).await;
        let (status, _, html) = b.get(&format!("/conventions/{id}/ma-part")).await;
        assert_eq!(status, 200, "{html}");
        assert!(
            html.contains("<caption>Conversion de l'état des lieux, partie par partie</caption>"),
            "{who}"
        );
        let parties = flux["reservataires"].as_array().unwrap();
        // One row per réservataire and the unreserved part.
        assert_eq!(
            html.matches("<th scope=\"row\">").count(),
            parties.len() + 1,
            "{who}"
        );
        for r in parties {
            let id = r["id"].as_str().unwrap();
            let row = format!(
                "<td class=\"cf-nombre\">{}</td><td class=\"cf-nombre\">{} %</td><td class=\"cf-nombre\">{} %</td>",
                french(&r["flux_equivalent"], 2),
                french(&r["rate"], 2),
                french(&party(&stock, id)["rate"], 2),
            );
            assert!(html.contains(&row), "{who}, {id}: {row}");
        }
        assert!(!html.contains("Votre part de départ ("), "{who}");
        // The CSV lists every party's rights.
        let (status, _, text) = b.get(&format!("/conventions/{id}/ma-part.csv")).await;
        assert_eq!(status, 200);
        let rights: usize = parties
            .iter()
            .map(|r| r["rights"].as_array().unwrap().len())
            .sum();
        assert_eq!(text.lines().count(), rights + 1, "{who}");
    }
}

async fn a_non_member_gets_404(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    // Another EPCI's secretariat, member of none of the demo conventions.
    let outsider = h.secretariat().await;
    let mut b = Browser::new(&h);
    b.login(&outsider.email, PASSWORD).await;
    for path in ["ma-part", "ma-part.csv"] {
        let (status, _, html) = b.get(&format!("/conventions/{}/{path}", demo.signed)).await;
        assert_eq!(status, 404, "{path}: {html}");
    }
}

async fn the_csv_lists_the_party_s_dwellings(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    let api_user = h.login(&demo_email("etat"), DEMO_PASSWORD).await;
    let (flux, _) = conversions(&h, &api_user, id).await;
    let mut b = Browser::new(&h);
    b.login(&demo_email("etat"), DEMO_PASSWORD).await;
    let (status, kind, text) = b.get(&format!("/conventions/{id}/ma-part.csv")).await;
    assert_eq!(status, 200, "{text}");
    assert!(kind.starts_with("text/csv"), "{kind}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("logement (RPLS);réservataire;commune;typologie"),
        "{}",
        lines[0]
    );
    let mine = party(&flux, "etat");
    let mut expected: Vec<&str> = mine["rights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rpls_id"].as_str().unwrap())
        .collect();
    assert_eq!(expected.len() as u64, mine["dwellings"].as_u64().unwrap());
    assert_eq!(lines.len(), expected.len() + 1);
    let mut listed: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(';').next().unwrap())
        .collect();
    expected.sort_unstable();
    listed.sort_unstable();
    assert_eq!(listed, expected);
}

/// Réservataires holding rights without being parties are named, never shown by their id;
/// the look-back is a choice of the page, checked, and gives the API's figures (issue 18,
/// item 5).
async fn holders_by_name_and_the_look_back_as_a_choice(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    let email = demo_email("secretariat");
    let api_user = h.login(&email, DEMO_PASSWORD).await;
    let (flux, _) = conversions(&h, &api_user, id).await;
    let mut b = Browser::new(&h);
    b.login(&email, DEMO_PASSWORD).await;
    let (status, _, html) = b.get(&format!("/conventions/{id}/ma-part")).await;
    assert_eq!(status, 200);
    let parties = [
        "etat",
        "commune-69801",
        "commune-69802",
        "action-logement",
        "departement-69",
    ];
    let outsiders: Vec<&str> = flux["reservataires"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .filter(|id| !parties.contains(id))
        .collect();
    assert!(
        outsiders.contains(&"metropole-val-de-saone"),
        "the demo's EPCI holds rights without being a party: {outsiders:?}"
    );
    for outsider in &outsiders {
        assert!(
            !html.contains(&format!("<th scope=\"row\">{outsider}</th>")),
            "{outsider} shown by its id"
        );
    }
    // Its name in the registry of réservataires (the demo's reservataires.csv).
    assert!(
        html.contains(
            "<th scope=\"row\">Métropole du Val de Saône (démonstration) (non partie)</th>"
        ),
        "{html}"
    );
    assert_eq!(html.matches(" (non partie)</th>").count(), outsiders.len());
    // The CSV names them the same way.
    let (_, _, text) = b.get(&format!("/conventions/{id}/ma-part.csv")).await;
    assert!(text.contains(";Métropole du Val de Saône (démonstration) (non partie);"));
    assert!(!text.contains(";metropole-val-de-saone;"));

    // Three years by default (2024 to 2026 for 2027), two when asked, as the API computes.
    assert!(html.contains("libérations de 2024, 2025 et 2026"), "{html}");
    assert!(
        html.contains("<option value=\"3\" selected>les 3 dernières années (par défaut)</option>")
    );
    let (status, _, html) = b
        .get(&format!("/conventions/{id}/ma-part?methode=flux&annees=2"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("libérations de 2025 et 2026"), "{html}");
    assert!(html.contains("<option value=\"2\" selected>"));
    let two = h
        .ok(
            &api_user,
            "GET",
            &format!("/api/conventions/{id}/conversion?lookback=2"),
            None,
        )
        .await;
    let etat = party(&two, "etat");
    let row = format!(
        "<td class=\"cf-nombre\">{}</td><td class=\"cf-nombre\">{} %</td>",
        french(&etat["flux_equivalent"], 2),
        french(&etat["rate"], 2),
    );
    assert!(html.contains(&row), "{row}");
    assert_ne!(
        etat["rate"],
        party(&flux, "etat")["rate"],
        "two years differ"
    );
    // A look-back that is not 1 to 10 years: said in French, the page at three years.
    for wrong in ["0", "11", "deux"] {
        let (status, _, html) = b
            .get(&format!("/conventions/{id}/ma-part?annees={wrong}"))
            .await;
        assert_eq!(status, 200, "{wrong}");
        assert!(
            html.contains(&format!(
                "Années de libérations : « {wrong} » n'est pas un nombre d'années entre 1 et 10 ; la page montre les 3 dernières années."
            )),
            "{wrong}: {html}"
        );
        assert!(html.contains("libérations de 2024, 2025 et 2026"));
    }
}

on_both_engines!(
    holders_by_name_and_the_look_back_as_a_choice,
    a_reservataire_reads_its_own_part,
    the_secretariat_sees_every_party,
    a_non_member_gets_404,
    the_csv_lists_the_party_s_dwellings,
);
