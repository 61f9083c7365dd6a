//! The main journey in a real headless Chromium against the real server (issue 5): from a fresh
//! demo, the secretariat opens a convention, three réservataires and the bailleur propose (the
//! State over its cap first), an objection is raised and lifted, every party signs — one with the
//! keyboard alone — and the bailleur downloads the XLSX. axe-core checks every page (WCAG 2.1
//! A and AA: no serious or critical violation); a screenshot of each step is written under
//! `target/captures-navigateur/`.
//!
//! On SQLite, or on PostgreSQL when `TEST_DATABASE_URL` names a server. Without Chromium and
//! chromedriver the test says so and passes, unless
//! `TEST_NAVIGATEUR=obligatoire` (CI), where it fails.

mod common;

use common::TestDb;
use common::harness::{BAILLEUR, Harness};
use common::webdriver::{
    Browser, ENTER, REQUIRED_VAR, SPACE, TAB, browser_available, browser_required,
    ensure_web_packages,
};
use convention_flux::services::conventions::demo::DEMO_PASSWORD;
use serde_json::json;

/// The réservataires of the convention opened in the journey, then the bailleur.
const RESERVATAIRES: [&str; 3] = ["etat", "commune-69801", "action-logement"];
const SIGNATORIES: [&str; 4] = ["etat", "commune-69801", "action-logement", "bailleur"];

fn email(who: &str) -> String {
    format!("{who}@demo.convention-flux.fr")
}

/// The browser, the server and what the journey has found so far.
struct Journey {
    b: Browser,
    h: Harness,
    /// Accessibility violations, page by page, reported together at the end.
    violations: Vec<String>,
    convention: String,
    /// The demo's signed convention (its table feeds the heat map check).
    demo_signed: i64,
}

impl Journey {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.h.base)
    }

    /// Screenshot of the step, then axe-core on the page.
    async fn step(&mut self, name: &str) {
        self.b.screenshot(name).await;
        self.check_accessibility(name).await;
    }

    /// Screenshot of the step with `css` scrolled into view, then axe-core on the page.
    async fn step_at(&mut self, name: &str, css: &str) {
        self.b
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView();",
                json!([css]),
            )
            .await;
        self.b.screenshot(name).await;
        self.check_accessibility(name).await;
    }

    async fn check_accessibility(&mut self, name: &str) {
        let found = self.b.accessibility_violations().await;
        if !found.is_empty() {
            let page = self.b.current_url().await;
            self.violations.push(format!(
                "étape « {name} » ({page}) :\n  - {}",
                found
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n  - ")
            ));
        }
    }

    async fn sign_in(&mut self, who: &str) {
        self.b.goto(&self.url("/connexion")).await;
        let email_field = self.b.find("#email").await;
        self.b.fill(&email_field, &email(who)).await;
        let password = self.b.find("#password").await;
        self.b.fill(&password, DEMO_PASSWORD).await;
        let button = self.b.find("main form button[type=submit]").await;
        self.b.mark_page().await;
        self.b.click(&button).await;
        self.b.wait_for_new_page().await;
        self.b.wait_for_text("Mes conventions").await;
    }

    async fn open_convention_page(&self) {
        self.b.goto(&self.url(&self.convention)).await;
        self.b.wait_for_text("Décisions").await;
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.b.find(css).await;
        self.b.fill(&e, text).await;
    }

    /// Follows a link and waits for the page it leads to.
    async fn follow(&self, css: &str) {
        let link = self.b.find(css).await;
        self.b.mark_page().await;
        self.b.click(&link).await;
        self.b.wait_for_new_page().await;
    }

    async fn click(&self, css: &str) {
        let e = self.b.find(css).await;
        self.b.click(&e).await;
    }

    /// Clicks the submit button whose text is `label`, waits for the next page and checks that
    /// it shows `expected`.
    async fn submit(&self, label: &str, expected: &str) {
        let buttons = self.b.find_all("button[type=submit]").await;
        let mut target = None;
        for button in buttons {
            if self.b.text(&button).await.trim() == label {
                target = Some(button);
                break;
            }
        }
        let button = target.unwrap_or_else(|| panic!("aucun bouton « {label} » sur la page"));
        self.b.mark_page().await;
        self.b.click(&button).await;
        self.b.wait_for_new_page().await;
        let text = self.b.page_text().await;
        assert!(
            text.contains(expected),
            "après « {label} », la page {} n'affiche pas « {expected} » :\n{text}",
            self.b.current_url().await
        );
    }

    /// The text of the error alert shown on the page, if any.
    async fn error_shown(&self) -> Option<String> {
        match self.b.find_all(".fr-alert--error").await.first() {
            Some(e) => Some(self.b.text(e).await),
            None => None,
        }
    }

    async fn state_badge(&self) -> String {
        let badge = self.b.find(".fr-badges-group .fr-badge--info").await;
        // DSFR badges are shown in capitals.
        self.b.text(&badge).await.to_lowercase()
    }

    /// The party's proposal through the page form (the bailleur has no share).
    async fn publish_proposal(&mut self, who: &str, share: Option<&str>, step: &str) {
        self.sign_in(who).await;
        self.open_convention_page().await;
        if let Some(share) = share {
            self.fill("#share", share).await;
        }
        self.fill("#priority", "30").await;
        self.fill("#q1_hors_qpv", "30").await;
        self.fill("#non_q1_qpv", "55").await;
        self.submit("Publier la proposition", "Proposition publiée")
            .await;
        assert_eq!(self.error_shown().await, None);
        self.step(step).await;
    }

    /// The rows of the solver report: rule, level, finding, article, gap.
    async fn breaches(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for row in self
            .b
            .find_all("section[aria-labelledby=rapport] tbody tr")
            .await
        {
            let mut cells = Vec::new();
            for cell in self.b.find_all_in(&row, "td").await {
                // DSFR badges are shown in capitals.
                cells.push(self.b.text(&cell).await.to_lowercase());
            }
            rows.push(cells);
        }
        rows
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_from_the_demo_to_the_signed_convention() {
    if let Err(why) = browser_available() {
        assert!(!browser_required(), "{REQUIRED_VAR}=obligatoire et {why}");
        eprintln!("test navigateur non exécuté : {why}");
        return;
    }
    ensure_web_packages();
    // SQLite in the README's test run, PostgreSQL in the run with `TEST_DATABASE_URL` (CI): one
    // journey per run, each engine covered once.
    let db = match TestDb::postgres().await {
        Some(db) => db,
        None => TestDb::sqlite().await,
    };
    let h = Harness::start(&db).await;
    let demo = h.seed_demo().await;
    let mut j = Journey {
        b: Browser::launch().await,
        h,
        violations: Vec::new(),
        convention: String::new(),
        demo_signed: demo.signed,
    };
    journey(&mut j).await;
    assert!(
        j.violations.is_empty(),
        "axe-core signale des violations graves ou critiques (WCAG 2.1 A et AA) :\n{}",
        j.violations.join("\n")
    );
    drop(j);
    db.finish().await;
}

async fn journey(j: &mut Journey) {
    // The secretariat signs in through the page and sees the DSFR.
    j.b.goto(&j.url("/connexion")).await;
    assert!(j.b.title().await.starts_with("Connexion"));
    let css_loaded =
        j.b.execute(
            "return getComputedStyle(document.querySelector('main .fr-btn')).backgroundColor;",
            json!([]),
        )
        .await;
    assert_ne!(
        css_loaded.as_str().unwrap_or(""),
        "rgba(0, 0, 0, 0)",
        "le DSFR n'est pas chargé (servi sous /dsfr depuis node_modules)"
    );
    j.step("connexion").await;
    j.sign_in("secretariat").await;
    j.step("accueil-secretariat").await;

    // A new convention for the demo bailleur with three réservataires.
    j.follow("a[href='/conventions/nouvelle']").await;
    j.b.wait_for_text("Réservataires parties").await;
    j.click(&format!("#bailleur option[value='{BAILLEUR}']"))
        .await;
    j.fill("#year", "2027").await;
    j.fill("#title", "Convention du parcours navigateur").await;
    for party in RESERVATAIRES {
        let input =
            j.b.find(&format!("input[name=reservataires][value='{party}']"))
                .await;
        let id = j.b.attribute(&input, "id").await.expect("id de la case");
        j.click(&format!("label[for='{id}']")).await;
    }
    j.step("nouvelle-convention").await;
    j.submit("Ouvrir la convention", "Convention ouverte en brouillon")
        .await;
    let url = j.b.current_url().await;
    let path = url
        .strip_prefix(&j.h.base)
        .and_then(|p| p.split('?').next())
        .unwrap_or_default()
        .to_owned();
    assert!(path.starts_with("/conventions/"), "{url}");
    j.convention = path;
    let id: i64 = j.convention["/conventions/".len()..].parse().unwrap();
    assert_eq!(j.state_badge().await, "brouillon");
    j.step("convention-brouillon").await;

    // The secretariat checks the segments: the assiette and the import wizard.
    j.follow(&format!("a[href='{}/assiette']", j.convention))
        .await;
    j.b.wait_for_text("Flux entier").await;
    j.step("assiette").await;
    j.open_convention_page().await;
    j.follow(&format!("a[href='{}/import']", j.convention))
        .await;
    j.step("import").await;
    j.open_convention_page().await;

    // The signatories are invited through the page form and accept through their link.
    for party in SIGNATORIES {
        j.fill("#inv-email", &email(party)).await;
        j.fill("#inv-name", &format!("Signataire {party}")).await;
        j.fill("#inv-org", &format!("Organisation {party}")).await;
        j.click("#inv-role option[value=signatory]").await;
        j.click(&format!("#inv-party option[value='{party}']"))
            .await;
        j.fill("#inv-mandate", &format!("pour « {party} », par délégation"))
            .await;
        j.submit("Envoyer l'invitation", "Invitation envoyée").await;
    }
    j.step("invitations-envoyees").await;
    for party in SIGNATORIES {
        let token = j.h.invitation_token(&email(party)).await;
        j.b.goto(&j.url(&format!("/invitation/{token}"))).await;
        if party == "etat" {
            j.step("invitation").await;
        }
        j.submit("Accepter l'invitation", "Invitation acceptée")
            .await;
    }
    j.step("invitation-acceptee").await;

    // The secretariat fixes the objectives and opens the concertation.
    j.sign_in("secretariat").await;
    j.open_convention_page().await;
    j.fill("#q1_hors_qpv_min", "25").await;
    j.fill("#non_q1_qpv_min", "50").await;
    j.fill("#priority_min", "28").await;
    j.fill("#motif-objectifs", "Objectifs adoptés par la CIL")
        .await;
    j.submit("Enregistrer les objectifs", "Objectifs enregistrés")
        .await;
    j.step_at("objectifs", "#objectifs").await;
    j.submit("Ouvrir la concertation", "C'est fait").await;
    assert_eq!(j.state_badge().await, "en concertation");
    j.step("concertation-ouverte").await;

    // The State asks for more than its 30 % cap: the blocking breach is shown with its article
    // and its gap; then it corrects its proposal.
    j.publish_proposal("etat", Some("35"), "etat-proposition")
        .await;
    j.step_at("etat-au-dela-du-plafond", "#rapport").await;
    let breaches = j.breaches().await;
    let cap = breaches
        .iter()
        .find(|cells| cells[0] == "etat.plafond")
        .unwrap_or_else(|| panic!("le manquement etat.plafond n'est pas affiché : {breaches:?}"));
    assert_eq!(cap[1], "bloquant", "{cap:?}");
    assert!(
        cap[2].contains("35 %") && cap[2].contains("30 %"),
        "{cap:?}"
    );
    assert!(
        cap[3].contains("r.441-5-2"),
        "l'article du plafond : {cap:?}"
    );
    assert!(
        cap[4].ends_with("logement(s)") && cap[4].starts_with(|c: char| c.is_ascii_digit()),
        "l'écart en logements : {cap:?}"
    );
    j.fill("#share", "25").await;
    j.submit("Publier la proposition", "Proposition publiée")
        .await;
    let breaches = j.breaches().await;
    assert!(
        !breaches.iter().any(|cells| cells[0] == "etat.plafond"),
        "le manquement etat.plafond reste affiché après correction : {breaches:?}"
    );
    j.step_at("etat-corrige", "#rapport").await;
    j.publish_proposal("commune-69801", Some("15"), "proposition-commune")
        .await;
    j.publish_proposal("action-logement", Some("20"), "proposition-action-logement")
        .await;
    j.publish_proposal("bailleur", None, "proposition-bailleur")
        .await;
    let blocking: Vec<Vec<String>> = j
        .breaches()
        .await
        .into_iter()
        .filter(|cells| cells[1] == "bloquant")
        .collect();
    assert!(
        blocking.is_empty(),
        "manquements bloquants restants : {blocking:?}"
    );

    // The secretariat consolidates.
    j.sign_in("secretariat").await;
    j.open_convention_page().await;
    j.submit("Consolider sur les propositions", "consolidée")
        .await;
    assert_eq!(j.state_badge().await, "en arbitrage");
    j.step("consolidee").await;

    // A réservataire objects to a clause: the signing cannot open until it lifts it.
    j.sign_in("commune-69801").await;
    j.open_convention_page().await;
    j.click("#anchor_kind option[value=clause]").await;
    j.fill("#anchor_ref", "flux").await;
    j.fill(
        "#body",
        "La clause de répartition doit citer la méthode publiée et sa version.",
    )
    .await;
    j.click("label[for=objection]").await;
    j.submit("Envoyer", "Objection enregistrée").await;
    j.step_at("objection", "#echanges").await;

    j.sign_in("secretariat").await;
    j.open_convention_page().await;
    j.submit("Ouvrir la signature", "Décisions").await;
    let refused = j
        .error_shown()
        .await
        .expect("un message d'erreur quand une objection est ouverte");
    assert!(refused.contains("objection"), "{refused}");
    assert_eq!(j.state_badge().await, "en arbitrage");
    j.step("signature-refusee-objection").await;

    j.sign_in("commune-69801").await;
    j.open_convention_page().await;
    let field = j.b.find("input[id^='resolution-']").await;
    j.b.fill(
        &field,
        "Précision apportée en séance : la clause renvoie à la méthode publiée.",
    )
    .await;
    j.submit("Lever l'objection", "C'est enregistré").await;
    j.step_at("objection-levee", "#echanges").await;

    j.sign_in("secretariat").await;
    j.open_convention_page().await;
    j.submit("Ouvrir la signature", "La signature est ouverte")
        .await;
    assert_eq!(j.state_badge().await, "en signature");
    j.step("signature-ouverte").await;

    // Every party signs on the signing page; the commune with the keyboard alone.
    for party in SIGNATORIES {
        j.sign_in(party).await;
        j.b.goto(&j.url(&format!("{}/signer", j.convention))).await;
        j.b.wait_for_text("Vous signez").await;
        if party == "commune-69801" {
            j.step("signature-clavier").await;
            sign_with_the_keyboard(j).await;
        } else {
            j.fill("#password", DEMO_PASSWORD).await;
            j.click("label[for=read]").await;
            j.step(&format!("signature-{party}")).await;
            let button =
                j.b.find("form[action$='/signer'] button[type=submit]")
                    .await;
            j.b.mark_page().await;
            j.b.click(&button).await;
            j.b.wait_for_new_page().await;
        }
        assert_eq!(j.error_shown().await, None, "signature de {party}");
        j.b.wait_for_text("Signature enregistrée").await;
    }
    j.b.wait_for_text("la version est verrouillée").await;
    assert_eq!(j.state_badge().await, "signée");
    j.step_at("convention-signee", "#signatures").await;

    // The bailleur downloads the XLSX from its page, as the browser would.
    j.sign_in("bailleur").await;
    j.open_convention_page().await;
    let link = j.b.find("a[href$='table.xlsx']").await;
    let href = j.b.attribute(&link, "href").await.unwrap_or_default();
    assert_eq!(href, format!("/api/conventions/{id}/table.xlsx"));
    let download =
        j.b.execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done({
               status: r.status, type: r.headers.get('content-type') || '',
               magic: Array.from(new Uint8Array(b).slice(0, 2)), size: b.byteLength})))
             .catch(e => done({status: 0, type: String(e)}));",
            json!([href]),
        )
        .await;
    assert_eq!(download["status"], 200, "téléchargement XLSX : {download}");
    assert!(
        download["type"]
            .as_str()
            .unwrap_or("")
            .contains("spreadsheetml"),
        "type du téléchargement XLSX : {download}"
    );
    assert_eq!(
        download["magic"],
        json!([0x50, 0x4b]),
        "le XLSX est une archive ZIP"
    );
    j.step_at("bailleur-telechargement", "#tableau").await;
    heat_map_is_readable(j).await;
}

/// A colour as the browser computes it (`rgb(r, g, b)` or `rgba(r, g, b, a)`), with its alpha.
fn parse_colour(css: &str) -> ([f64; 3], f64) {
    let inside = css
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("couleur illisible : {css}"));
    let parts: Vec<f64> = inside
        .split(',')
        .map(|p| {
            p.trim()
                .parse()
                .unwrap_or_else(|_| panic!("couleur illisible : {css}"))
        })
        .collect();
    (
        [parts[0], parts[1], parts[2]],
        parts.get(3).copied().unwrap_or(1.0),
    )
}

/// WCAG 2.1 relative luminance of an sRGB colour (0–255 channels).
fn luminance(rgb: [f64; 3]) -> f64 {
    let linear = |c: f64| {
        let c = c / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
}

/// WCAG 2.1 contrast ratio (L1 + 0.05) / (L2 + 0.05), L1 the lighter.
fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The heat map of the demo's signed table, as the browser paints it: each level has its own
/// colour (the DSFR's table styles no longer win), every cell's text has a contrast of at least
/// 4.5:1 on its background (WCAG 1.4.3, AA), and several levels are used.
async fn heat_map_is_readable(j: &mut Journey) {
    j.b.goto(&j.url(&format!("/conventions/{}?vue=chaleur", j.demo_signed)))
        .await;
    // The legend, shown only in the heat map view.
    j.b.wait_for_text("aucun logement").await;
    let cells =
        j.b.execute(
            "return Array.from(document.querySelectorAll('#legende-tableau-flux ~ tbody td[class*=cf-chaleur-]')).map(td => {
               const s = getComputedStyle(td);
               return {level: td.className.match(/cf-chaleur-(\\d)/)[1], text: td.textContent.trim(),
                       background: s.backgroundColor, colour: s.color};
             });",
            json!([]),
        )
        .await;
    let cells = cells
        .as_array()
        .expect("les cellules de la carte de chaleur");
    assert!(!cells.is_empty(), "aucune cellule colorée");
    let mut by_level: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        std::collections::BTreeMap::new();
    for cell in cells {
        let level = cell["level"].as_str().unwrap_or("").to_owned();
        let (background, alpha) = parse_colour(cell["background"].as_str().unwrap_or(""));
        let (colour, _) = parse_colour(cell["colour"].as_str().unwrap_or(""));
        assert!(alpha >= 1.0, "fond transparent au niveau {level} : {cell}");
        let ratio = contrast(background, colour);
        assert!(
            ratio >= 4.5,
            "contraste {ratio:.2} < 4,5 au niveau {level} (valeur {}) : {cell}",
            cell["text"]
        );
        by_level
            .entry(level)
            .or_default()
            .insert(cell["background"].as_str().unwrap_or("").to_owned());
    }
    assert!(
        by_level.len() >= 3,
        "trop peu de niveaux utilisés sur le tableau de démonstration : {by_level:?}"
    );
    let mut seen = std::collections::BTreeSet::new();
    for (level, backgrounds) in &by_level {
        assert_eq!(backgrounds.len(), 1, "niveau {level} : {backgrounds:?}");
        let background = backgrounds.iter().next().unwrap().clone();
        assert!(
            seen.insert(background.clone()),
            "le niveau {level} a la couleur d'un autre niveau ({background}) : {by_level:?}"
        );
    }
    j.step_at("carte-de-chaleur", "#tableau").await;
}

/// Signs on the signing page with the keyboard alone: Tab to the fields, type, Space to tick,
/// Enter to submit; nothing is clicked.
async fn sign_with_the_keyboard(j: &mut Journey) {
    let mut path = Vec::new();
    while j.b.focused_id().await != "password" {
        assert!(
            path.len() < 40,
            "le champ du mot de passe n'est pas atteint au clavier : {path:?}"
        );
        j.b.press(TAB).await;
        path.push(j.b.focused_id().await);
    }
    j.b.press(DEMO_PASSWORD).await;
    j.b.press(TAB).await;
    assert_eq!(
        j.b.focused_id().await,
        "read",
        "après le mot de passe, la case à cocher"
    );
    j.b.press(SPACE).await;
    let ticked =
        j.b.execute("return document.getElementById('read').checked;", json!([]))
            .await;
    assert_eq!(ticked, true, "la barre d'espace coche la case");
    j.b.press(TAB).await;
    let focused =
        j.b.execute(
            "const e = document.activeElement; return e.tagName + ' ' + e.type;",
            json!([]),
        )
        .await;
    assert_eq!(focused, "BUTTON submit", "après la case, le bouton Signer");
    j.step("signature-clavier-prete").await;
    j.b.mark_page().await;
    j.b.press(ENTER).await;
    j.b.wait_for_new_page().await;
}
