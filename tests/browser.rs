//! The main journeys in a real headless Chromium against the real server, through the
//! convention's workspace (one page per concern, a side menu):
//!
//! 1. demo convention n° 2, in concertation with two published proposals, is brought to signed:
//!    the other parties preview and publish their proposals (one first mistypes its share and
//!    sees the error at the field), the secretariat consolidates and opens the signing, every
//!    party signs — the secretariat's part counted in page loads (at most 15);
//! 2. from a fresh convention: the secretariat opens it, invites the parties, sets the
//!    objectives; the State proposes over its cap first, then corrects; an objection is raised
//!    and lifted; every party signs — one with the keyboard alone — and the bailleur downloads
//!    the XLSX.
//!
//! axe-core checks every page (WCAG 2.1 A and AA: no serious or critical violation) and the heat
//! map's colours are checked as the browser computes them; a screenshot of each step is written
//! under `target/captures-navigateur/`.
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

/// The parties of demo convention n° 2 who have not proposed yet (share), and every party of it.
const DEMO_TO_PROPOSE: [(&str, Option<&str>); 4] = [
    ("commune-69802", Some("15")),
    ("action-logement", Some("20")),
    ("departement-69", Some("5")),
    ("bailleur", None),
];
const DEMO_PARTIES: [&str; 6] = [
    "etat",
    "commune-69801",
    "commune-69802",
    "action-logement",
    "departement-69",
    "bailleur",
];

/// The pages of a convention's workspace (address suffix, menu label).
const PAGES: [(&str, &str); 9] = [
    ("", "Vue d'ensemble"),
    ("/propositions", "Propositions"),
    ("/ma-part", "D'où vient ma part"),
    ("/rapport", "Rapport"),
    ("/tableau", "Tableau des flux"),
    ("/discussion", "Discussion"),
    ("/signatures", "Signatures"),
    ("/versions", "Versions"),
    ("/chronologie", "Chronologie"),
];

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
    /// Pages loaded since the counter was last reset (links, forms, addresses typed).
    loads: usize,
}

impl Journey {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.h.base)
    }

    async fn goto(&mut self, path: &str) {
        self.loads += 1;
        self.b.goto(&self.url(path)).await;
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
        self.goto("/connexion").await;
        let email_field = self.b.find("#email").await;
        self.b.fill(&email_field, &email(who)).await;
        let password = self.b.find("#password").await;
        self.b.fill(&password, DEMO_PASSWORD).await;
        let button = self.b.find("main form button[type=submit]").await;
        self.b.mark_page().await;
        self.loads += 1;
        self.b.click(&button).await;
        self.b.wait_for_new_page().await;
        self.b.wait_for_text("Mes conventions").await;
    }

    /// Opens a page of the journey's convention (`""` for the overview).
    async fn open(&mut self, suffix: &str) {
        let path = format!("{}{suffix}", self.convention);
        self.goto(&path).await;
        self.b.wait_for_text("Convention n°").await;
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.b.find(css).await;
        self.b.fill(&e, text).await;
    }

    /// Follows a link and waits for the page it leads to.
    async fn follow(&mut self, css: &str) {
        let link = self.b.find(css).await;
        self.b.mark_page().await;
        self.loads += 1;
        self.b.click(&link).await;
        self.b.wait_for_new_page().await;
    }

    async fn click(&self, css: &str) {
        let e = self.b.find(css).await;
        self.b.click(&e).await;
    }

    /// Clicks the submit button whose text is `label`, waits for the next page and checks that
    /// it shows `expected`.
    async fn submit(&mut self, label: &str, expected: &str) {
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
        self.loads += 1;
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

    async fn fill_proposal(&self, share: Option<&str>) {
        if let Some(share) = share {
            self.fill("#share", share).await;
        }
        self.fill("#priority", "30").await;
        self.fill("#q1_hors_qpv", "30").await;
        self.fill("#non_q1_qpv", "55").await;
    }

    /// The party's proposal through its form (the bailleur has no share).
    async fn publish_proposal(&mut self, who: &str, share: Option<&str>, step: &str) {
        self.sign_in(who).await;
        self.open("/propositions").await;
        self.fill_proposal(share).await;
        self.submit("Publier la proposition", "Proposition publiée")
            .await;
        assert_eq!(self.error_shown().await, None);
        self.step(step).await;
    }

    /// The rows of the report: level, finding (with the rule in small print), parties,
    /// article, gap.
    async fn breaches(&mut self) -> Vec<Vec<String>> {
        self.open("/rapport").await;
        let mut rows = Vec::new();
        for row in self
            .b
            .find_all("section[aria-labelledby=manquements] tbody tr")
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
async fn journeys_through_the_convention_workspace() {
    if let Err(why) = browser_available() {
        assert!(!browser_required(), "{REQUIRED_VAR}=obligatoire et {why}");
        eprintln!("test navigateur non exécuté : {why}");
        return;
    }
    ensure_web_packages();
    // SQLite in the README's test run, PostgreSQL in the run with `TEST_DATABASE_URL` (CI): one
    // run per engine.
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
        convention: format!("/conventions/{}", demo.in_concertation),
        demo_signed: demo.signed,
        loads: 0,
    };
    demo_convention_to_signed(&mut j).await;
    let signed_demo = j.convention.clone();
    journey(&mut j).await;
    cia_and_cil(&mut j, &signed_demo).await;
    assert!(
        j.violations.is_empty(),
        "axe-core signale des violations graves ou critiques (WCAG 2.1 A et AA) :\n{}",
        j.violations.join("\n")
    );
    drop(j);
    db.finish().await;
}

/// The CIA of the EPCI (issue 20): the secretariat records a new version (a priority objective
/// under the law is refused at once, in words), the signed demo convention says the CIA changed
/// and that an avenant would take it, and the CIL's view shows every convention of the EPCI.
async fn cia_and_cil(j: &mut Journey, signed: &str) {
    j.sign_in("secretariat").await;
    j.follow("a[href$='/cia']").await;
    j.b.wait_for_text("Version n° 2 en vigueur").await;
    j.step("cia").await;
    j.fill("#priority_min", "20").await;
    j.submit("Enregistrer la version", "plancher légal").await;
    let kept = j.b.find("#priority_min").await;
    assert_eq!(
        j.b.attribute(&kept, "value").await.as_deref(),
        Some("20"),
        "l'entrée est conservée"
    );
    j.fill("#priority_min", "25").await;
    j.fill("#reason", "référence de la délibération précisée")
        .await;
    j.submit(
        "Enregistrer la version",
        "Version n° 3 de la CIA enregistrée",
    )
    .await;
    j.goto(signed).await;
    j.b.wait_for_text("La CIA a changé : version n° 3").await;
    let text = j.b.page_text().await;
    assert!(text.contains("ouvre un avenant"), "{text}");
    j.step_at("cia-changee", "#cia").await;
    j.goto(&format!("/epci/{}/cil", common::harness::EPCI))
        .await;
    j.b.wait_for_text("Cohérence à l'échelle de l'EPCI").await;
    let text = j.b.page_text().await;
    assert!(text.contains("Conventions de l'EPCI"), "{text}");
    j.step("vue-cil").await;
}

/// Demo convention n° 2, from concertation to signed through the pages.
async fn demo_convention_to_signed(j: &mut Journey) {
    // One party mistypes its share: the error is shown at the field, its entry kept.
    let (first, share) = DEMO_TO_PROPOSE[0];
    j.sign_in(first).await;
    j.open("/propositions").await;
    j.fill_proposal(Some("quinze")).await;
    j.submit("Publier la proposition", "n'est pas un nombre")
        .await;
    let field = j.b.find(".fr-input-group--error #share").await;
    assert_eq!(
        j.b.attribute(&field, "aria-describedby").await.as_deref(),
        Some("share-erreur")
    );
    assert_eq!(
        j.b.attribute(&field, "value").await.as_deref(),
        Some("quinze"),
        "l'entrée est conservée"
    );
    j.step("demo-erreur-au-champ").await;
    // The preview: the share in dwellings, nothing published.
    j.fill("#share", share.unwrap_or_default()).await;
    let demo_id: i64 = j.convention["/conventions/".len()..].parse().unwrap();
    let versions = j.h.platform.store.versions(demo_id).await.unwrap().len();
    j.submit("Prévisualiser", "rien n'est publié").await;
    assert_eq!(
        j.h.platform.store.versions(demo_id).await.unwrap().len(),
        versions,
        "un aperçu n'écrit rien"
    );
    j.step("demo-apercu").await;
    j.submit("Publier la proposition", "Proposition publiée")
        .await;
    for (party, share) in &DEMO_TO_PROPOSE[1..] {
        j.publish_proposal(party, *share, &format!("demo-proposition-{party}"))
            .await;
    }
    let blocking: Vec<Vec<String>> = j
        .breaches()
        .await
        .into_iter()
        .filter(|cells| cells[0] == "bloquant")
        .collect();
    assert!(blocking.is_empty(), "manquements bloquants : {blocking:?}");

    // The secretariat's part, counted in page loads.
    j.loads = 0;
    j.sign_in("secretariat").await;
    j.open("").await;
    j.b.wait_for_text("Propositions publiées : 6 sur 6 parties")
        .await;
    j.step("demo-vue-d-ensemble-secretariat").await;
    j.submit("Consolider sur les propositions", "consolidée")
        .await;
    assert_eq!(j.state_badge().await, "en arbitrage");
    j.submit("Ouvrir la signature", "La signature est ouverte")
        .await;
    assert_eq!(j.state_badge().await, "en signature");
    j.step("demo-signature-ouverte").await;
    // The EPCI signs through its secretariat (RULES.md §5), in the secretariat's own count.
    let parties = std::iter::once("secretariat").chain(DEMO_PARTIES);
    let mut secretariat_loads = 0;
    for party in parties {
        if party != "secretariat" {
            j.sign_in(party).await;
        }
        j.open("/signer").await;
        j.fill("#password", DEMO_PASSWORD).await;
        j.click("label[for=read]").await;
        let button =
            j.b.find("form[action$='/signer'] button[type=submit]")
                .await;
        j.b.mark_page().await;
        j.b.click(&button).await;
        j.b.wait_for_new_page().await;
        assert_eq!(j.error_shown().await, None, "signature de {party}");
        j.b.wait_for_text("Signature enregistrée").await;
        if party == "secretariat" {
            secretariat_loads = j.loads;
        }
    }
    j.b.wait_for_text("la version est verrouillée").await;

    j.loads = 0;
    j.sign_in("secretariat").await;
    j.open("").await;
    assert_eq!(j.state_badge().await, "signée");
    let total = secretariat_loads + j.loads;
    eprintln!("convention n° 2 menée à la signature : {total} pages chargées par le secrétariat");
    assert!(
        total <= 15,
        "le secrétariat a chargé {total} pages pour mener la convention n° 2 à la signature"
    );
    // Every page of the workspace, as the secretariat sees it once signed, passes axe.
    for (suffix, label) in PAGES {
        j.open(suffix).await;
        let current = j.b.find(".fr-sidemenu__link[aria-current=page]").await;
        assert_eq!(j.b.text(&current).await.trim(), label);
        j.step(&format!(
            "demo-signee-{}",
            if suffix.is_empty() {
                "vue"
            } else {
                &suffix[1..]
            }
        ))
        .await;
    }
    // The convention document, whole and one réservataire's annex alone, passes axe too.
    let document = format!("{}/document", j.convention);
    j.goto(&document).await;
    j.b.wait_for_text("Certificat de signature").await;
    j.step("demo-signee-document").await;
    j.goto(&format!("{document}?annexe=etat")).await;
    j.b.wait_for_text("Convention de réservation entre").await;
    j.step("demo-signee-document-annexe").await;
}

async fn journey(j: &mut Journey) {
    // The secretariat signs in through the page and sees the DSFR.
    j.goto("/connexion").await;
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
    let assiette = format!("a[href='{}/assiette']", j.convention);
    j.follow(&assiette).await;
    j.b.wait_for_text("Flux entier").await;
    j.step("assiette").await;
    j.open("").await;
    let import = format!("a[href='{}/import']", j.convention);
    j.follow(&import).await;
    j.step("import").await;
    j.open("").await;

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
        j.goto(&format!("/invitation/{token}")).await;
        if party == "etat" {
            j.step("invitation").await;
        }
        j.submit("Accepter l'invitation", "Invitation acceptée")
            .await;
    }
    j.step("invitation-acceptee").await;

    // The secretariat fixes the objectives and opens the concertation.
    j.sign_in("secretariat").await;
    j.open("").await;
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

    // The State asks for more than its 30 % cap: a warning, never a success; the blocking
    // breach is shown with its article and its gap; then it corrects its proposal.
    j.sign_in("etat").await;
    j.open("/propositions").await;
    j.fill_proposal(Some("35")).await;
    j.submit("Publier la proposition", "au-delà du plafond de 30 %")
        .await;
    assert!(j.b.find_all(".fr-alert--success").await.is_empty());
    j.step("etat-proposition").await;
    let breaches = j.breaches().await;
    j.step_at("etat-au-dela-du-plafond", "#manquements").await;
    let cap = breaches
        .iter()
        .find(|cells| cells[1].contains("règle etat.plafond"))
        .unwrap_or_else(|| panic!("le manquement etat.plafond n'est pas affiché : {breaches:?}"));
    assert_eq!(cap[0], "bloquant", "{cap:?}");
    assert!(
        cap[1].contains("35 %") && cap[1].contains("30 %"),
        "{cap:?}"
    );
    assert!(
        !cap[1].contains("« etat »"),
        "un identifiant dans le constat : {cap:?}"
    );
    assert!(cap[2].contains("état"), "la partie nommée : {cap:?}");
    assert!(
        cap[3].contains("r.441-5-2"),
        "l'article du plafond : {cap:?}"
    );
    assert!(
        (cap[4].ends_with(" logements") || cap[4].ends_with(" logement"))
            && cap[4].starts_with(|c: char| c.is_ascii_digit()),
        "l'écart en logements : {cap:?}"
    );
    j.open("/propositions").await;
    j.fill("#share", "25").await;
    j.submit("Publier la proposition", "Proposition publiée")
        .await;
    let breaches = j.breaches().await;
    assert!(
        !breaches
            .iter()
            .any(|cells| cells[1].contains("etat.plafond")),
        "le manquement etat.plafond reste affiché après correction : {breaches:?}"
    );
    j.step_at("etat-corrige", "#manquements").await;
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
        .filter(|cells| cells[0] == "bloquant")
        .collect();
    assert!(
        blocking.is_empty(),
        "manquements bloquants restants : {blocking:?}"
    );

    // The secretariat consolidates.
    j.sign_in("secretariat").await;
    j.open("").await;
    j.submit("Consolider sur les propositions", "consolidée")
        .await;
    assert_eq!(j.state_badge().await, "en arbitrage");
    j.step("consolidee").await;

    // A réservataire objects to a clause: the signing cannot open until it lifts it.
    j.sign_in("commune-69801").await;
    j.open("/discussion").await;
    j.click("#about option[value='clause:flux']").await;
    j.fill(
        "#body",
        "La clause de répartition doit citer la méthode publiée et sa version.",
    )
    .await;
    j.click("label[for=objection]").await;
    j.submit("Envoyer", "Objection enregistrée").await;
    j.b.wait_for_text("Qui doit agir").await;
    j.step("objection").await;

    j.sign_in("secretariat").await;
    j.open("").await;
    j.submit("Ouvrir la signature", "Signatures").await;
    let refused = j
        .error_shown()
        .await
        .expect("un message d'erreur quand une objection est ouverte");
    assert!(refused.contains("objection"), "{refused}");
    assert_eq!(j.state_badge().await, "en arbitrage");
    j.step("signature-refusee-objection").await;

    j.sign_in("commune-69801").await;
    j.open("/discussion").await;
    let field = j.b.find("input[id^='resolution-']").await;
    j.b.fill(
        &field,
        "Précision apportée en séance : la clause renvoie à la méthode publiée.",
    )
    .await;
    j.submit("Lever l'objection", "C'est enregistré").await;
    j.step("objection-levee").await;

    j.sign_in("secretariat").await;
    j.open("/signatures").await;
    // A date field is typed according to the browser's locale: its value is set directly.
    j.b.execute(
        "document.getElementById('deadline').value = '2027-01-31';",
        json!([]),
    )
    .await;
    j.submit("Ouvrir la signature", "La signature est ouverte")
        .await;
    assert_eq!(j.state_badge().await, "en signature");
    j.b.wait_for_text("31 janvier 2027 à 23 h 59").await;
    j.step("signature-ouverte").await;

    // Every party signs on the signing page, the EPCI through its secretariat (already signed
    // in); the commune with the keyboard alone.
    for party in std::iter::once("secretariat").chain(SIGNATORIES) {
        if party != "secretariat" {
            j.sign_in(party).await;
        }
        j.open("/signer").await;
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
    j.step("convention-signee").await;

    // The bailleur downloads the XLSX from the table's page, as the browser would.
    j.sign_in("bailleur").await;
    j.open("/tableau").await;
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
    let heat_map = format!("/conventions/{}/tableau?vue=chaleur", j.demo_signed);
    j.goto(&heat_map).await;
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
