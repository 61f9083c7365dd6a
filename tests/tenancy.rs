//! Tenancy across two EPCIs (issue 15, item 2): the bailleur's patrimoine is the bailleur's.
//! The demo territory is EPCI A; the test builds EPCI B (its own communes, where the demo
//! bailleur also has a few dwellings), imported by the operator. Then: a secretariat opens a
//! convention only for a bailleur present on its territory; only the bailleur's own members
//! load its files through a convention; such an import is refused line by line wherever it
//! would touch a row outside the convention's EPCI; and what EPCI A's conventions read does not
//! move, whatever is done in EPCI B's.

mod common;

use std::sync::Arc;

use common::TestDb;
use common::fixtures::demo;
use common::harness::{BAILLEUR, EPCI, Harness, PASSWORD, User};
use convention_flux::domain::Siren;
use convention_flux::import::ImportKind;
use convention_flux::services::conventions::demo::DEMO_PASSWORD;
use convention_flux::services::conventions::members::{authenticate, create_account};
use convention_flux::services::conventions::segments::refresh;
use convention_flux::services::import::{NoProgress, import_file};
use convention_flux::store::conventions::NewOrganisation;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

const EPCI_B: &str = "200999811";
const COMMUNES_B: [&str; 2] = ["38901", "38902"];
/// The demo's flux for 2027 (docs/methode.md, « Assiette » : 482 dwellings on 132 segments), computed
/// there from the demo files alone.
const DEMO_FLUX_2027: u64 = 482;
/// A demo dwelling (commune 69801, EPCI A).
const DWELLING_A: &str = "VSH000002";

fn bailleur() -> Siren {
    BAILLEUR.parse().unwrap()
}

async fn operator_import(h: &Harness, kind: ImportKind, text: &str) {
    let owner = kind.needs_bailleur().then(bailleur);
    import_file(
        h.platform.store.as_ref(),
        kind,
        text.as_bytes().to_vec(),
        owner,
        Arc::new(NoProgress),
    )
    .await
    .unwrap_or_else(|e| panic!("{kind}: {e}"));
}

/// EPCI B and its two communes, without any dwelling yet.
async fn second_epci(h: &Harness) {
    operator_import(
        h,
        ImportKind::Epci,
        &format!(
            "siren;nom;plh_obligatoire;competence_habitat;date_cia\n{EPCI_B};Communauté du Haut-Rhône (essai);oui;oui;2022-01-10\n"
        ),
    )
    .await;
    operator_import(
        h,
        ImportKind::Communes,
        &format!(
            "commune;nom;epci\n{};Haut-Village;{EPCI_B}\n{};Bas-Village;{EPCI_B}\n",
            COMMUNES_B[0], COMMUNES_B[1]
        ),
    )
    .await;
}

/// Three hundred dwellings of the demo bailleur in EPCI B, each released once a year
/// 2024–2026 (the demo plan's lines without a commune are deducted there too).
async fn dwellings_in_second_epci(h: &Harness) {
    let mut logements =
        "rpls_id;commune;qpv;typologie;financement;individuel;annee_construction;hors_flux\n"
            .to_owned();
    let mut releases = "rpls_id;date_liberation\n".to_owned();
    for i in 1..=300 {
        let commune = COMMUNES_B[i % 2];
        let typology = ["T2", "T3", "T4"][i % 3];
        logements.push_str(&format!("HRB{i:06};{commune};;{typology};PLUS;non;1990;\n"));
        for year in 2024..=2026 {
            releases.push_str(&format!("HRB{i:06};{year}-0{}-15\n", 1 + i % 9));
        }
    }
    operator_import(h, ImportKind::Logements, &logements).await;
    operator_import(h, ImportKind::Liberations, &releases).await;
}

async fn secretariat_b(h: &Harness) -> User {
    let email = "secretariat@haut-rhone.test";
    create_account(
        &h.platform,
        email,
        "Marc Secrétariat",
        NewOrganisation {
            kind: "epci".into(),
            name: "Communauté du Haut-Rhône".into(),
            reference: EPCI_B.into(),
        },
        PASSWORD,
    )
    .await
    .unwrap();
    h.login(email, PASSWORD).await
}

async fn open_in_b(h: &Harness, secretariat: &User) -> (u16, Value) {
    h.call(
        Some(secretariat),
        "POST",
        "/api/conventions",
        Some(json!({
            "epci": EPCI_B, "bailleur": BAILLEUR, "year": 2027,
            "reservataires": ["etat", "action-logement"],
        })),
    )
    .await
}

/// The segments of the current version of convention `id`: (commune, flux).
async fn segments(h: &Harness, id: i64) -> Vec<(String, u64)> {
    let version = h.platform.store.current_version(id).await.unwrap().unwrap();
    let document: Value = serde_json::from_str(&version.document).unwrap();
    document["scenario"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["commune"].as_str().unwrap().to_owned(),
                s["flux"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn total(segments: &[(String, u64)]) -> u64 {
    segments.iter().map(|(_, f)| f).sum()
}

async fn commune_of(h: &Harness, rpls_id: &str) -> Option<String> {
    h.platform
        .store
        .patrimoine(&bailleur())
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.rpls_id.as_str() == rpls_id)
        .map(|l| l.commune.as_str().to_owned())
}

async fn plan_2027(h: &Harness) -> Vec<String> {
    let mut plan: Vec<String> = h
        .platform
        .store
        .planned_exclusions(&bailleur(), 2027)
        .await
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{}|{}|{}",
                x.category,
                x.commune.as_ref().map_or("", |c| c.as_str()),
                x.count
            )
        })
        .collect();
    plan.sort();
    plan
}

/// A browser without JavaScript: session cookie, CSRF token, multipart upload.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: String,
}

impl Browser {
    async fn signed_in(h: &Harness, email: &str) -> Self {
        Self::signed_in_with(h, email, PASSWORD).await
    }

    async fn signed_in_with(h: &Harness, email: &str, password: &str) -> Self {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        // The sign-in form is loaded first, as a browser does: it sets the anti-forgery cookie
        // whose value the form's hidden `_csrf` field carries.
        let form = client
            .get(format!("{}/connexion", h.base))
            .send()
            .await
            .unwrap();
        let form_cookie = form.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let html = form.text().await.unwrap();
        let start = html.find("name=\"_csrf\" value=\"").expect("a form") + 20;
        let end = start + html[start..].find('"').unwrap();
        let csrf = html[start..end].to_owned();
        let response = client
            .post(format!("{}/connexion", h.base))
            .header("cookie", form_cookie)
            .form(&[
                ("email", email),
                ("password", password),
                ("suite", "/"),
                ("_csrf", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "sign-in of {email}");
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        Self {
            base: h.base.clone(),
            client,
            cookie,
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Uploads `content` as the file of `kind` on the import page of convention `id`.
    async fn upload(&self, id: i64, kind: &str, content: &str) -> (u16, String) {
        self.upload_with_form_of(id, id, kind, content).await
    }

    /// Uploads to convention `id` with the anti-forgery token of the import page of
    /// convention `form_of` (one the signed-in member may open).
    async fn upload_with_form_of(
        &self,
        form_of: i64,
        id: i64,
        kind: &str,
        content: &str,
    ) -> (u16, String) {
        let (_, html) = self.get(&format!("/conventions/{form_of}/import")).await;
        let start = html.find("name=\"_csrf\" value=\"").expect("a form") + 20;
        let csrf = html[start..start + 32].to_owned();
        let form = reqwest::multipart::Form::new().text("_csrf", csrf).part(
            "fichier",
            reqwest::multipart::Part::bytes(content.as_bytes().to_vec())
                .file_name(format!("{kind}.csv")),
        );
        let response = self
            .client
            .post(format!("{}/conventions/{id}/import/{kind}", self.base))
            .header("cookie", &self.cookie)
            .multipart(form)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// The line numbers of the error table of an import page.
fn refused_lines(html: &str) -> Vec<u64> {
    html.split("<tr><td class=\"cf-nombre\">")
        .skip(1)
        .filter_map(|cell| cell.split('<').next()?.parse().ok())
        .collect()
}

async fn a_secretariat_opens_conventions_only_for_bailleurs_on_its_territory(db: &TestDb) {
    let h = Harness::start(db).await;
    second_epci(&h).await;
    let secretariat = secretariat_b(&h).await;
    // The demo bailleur has no dwelling in EPCI B yet: B's CIL has no business with it.
    let (status, body) = open_in_b(&h, &secretariat).await;
    assert_eq!(status, 403, "{body}");
    let message = body["erreur"]["message"].as_str().unwrap();
    assert!(
        message.contains("aucun logement") && message.contains(EPCI_B),
        "{message}"
    );
    let mine = h.ok(&secretariat, "GET", "/api/conventions", None).await;
    assert_eq!(mine.as_array().map(Vec::len), Some(0), "{mine}");
    // Nor may it open a convention on EPCI A's territory.
    let (status, _) = h
        .call(
            Some(&secretariat),
            "POST",
            "/api/conventions",
            Some(json!({
                "epci": EPCI, "bailleur": BAILLEUR, "year": 2027, "reservataires": ["etat"],
            })),
        )
        .await;
    assert_eq!(status, 403);
    // Once the bailleur has dwellings in B, B's CIL opens its convention: B's segments only.
    dwellings_in_second_epci(&h).await;
    let (status, body) = open_in_b(&h, &secretariat).await;
    assert_eq!(status, 201, "{body}");
    let b_segments = segments(&h, body["id"].as_i64().unwrap()).await;
    assert!(!b_segments.is_empty());
    assert!(
        b_segments
            .iter()
            .all(|(c, _)| COMMUNES_B.contains(&c.as_str())),
        "{b_segments:?}"
    );
    // 300 dwellings released once a year (300 forecast releases) less the demo plan's lines
    // without a commune (mutation 120, habitat indigne 8, vente T3/T4 hors QPV 6 + 7): 159.
    assert_eq!(total(&b_segments), 159);
}

/// EPCI B with the bailleur's dwellings, its convention and its two members: the secretariat
/// and a signatory for the bailleur.
async fn two_epcis(h: &Harness) -> (i64, User, User) {
    second_epci(h).await;
    dwellings_in_second_epci(h).await;
    let secretariat = secretariat_b(h).await;
    let (status, body) = open_in_b(h, &secretariat).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    let member = h
        .invite(
            &secretariat,
            id,
            "patrimoine@vsh.test",
            "signatory",
            "bailleur",
        )
        .await;
    (id, secretariat, member)
}

async fn only_the_bailleurs_own_members_load_its_files(db: &TestDb) {
    let h = Harness::start(db).await;
    let (id, secretariat, member) = two_epcis(&h).await;
    let plan = plan_2027(&h).await;
    assert_eq!(plan.len(), 9, "the demo plan for 2027 has nine lines");

    // The secretariat sees the page (to refresh the segments) but cannot load a file: the
    // attack of the issue (the 2027 plan replaced by one line) is refused and stores nothing.
    let page = Browser::signed_in(&h, &secretariat.email).await;
    let (status, html) = page.get(&format!("/conventions/{id}/import")).await;
    assert_eq!(status, 200);
    assert!(!html.contains("Charger exclusions.csv"), "no upload form");
    assert!(
        html.contains("ne permet pas de charger les fichiers du bailleur"),
        "{html}"
    );
    let attack = "annee;categorie;commune;typologie;qpv;nombre\n2027;mutation;;;;9999\n";
    let (status, html) = page.upload(id, "exclusions", attack).await;
    assert_eq!(status, 403, "{html}");
    assert!(
        html.contains("ne permet pas de charger les fichiers du bailleur"),
        "{html}"
    );
    assert_eq!(plan_2027(&h).await, plan);
    let moved = format!(
        "rpls_id;commune;qpv;typologie;financement;individuel;annee_construction\n{DWELLING_A};{};;T3;PLUS;non;1961\n",
        COMMUNES_B[0]
    );
    let (status, _) = page.upload(id, "logements", &moved).await;
    assert_eq!(status, 403);
    assert_eq!(commune_of(&h, DWELLING_A).await.as_deref(), Some("69801"));

    // A réservataire's member neither.
    let etat = h
        .invite(
            &secretariat,
            id,
            "etat@haut-rhone.test",
            "signatory",
            "etat",
        )
        .await;
    let page = Browser::signed_in(&h, &etat.email).await;
    let (status, _) = page.get(&format!("/conventions/{id}/import")).await;
    assert_eq!(status, 403);

    // The bailleur's member loads a file of B's territory.
    let page = Browser::signed_in(&h, &member.email).await;
    let (status, html) = page.get(&format!("/conventions/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Charger les fichiers du bailleur"), "link");
    let own = format!(
        "annee;categorie;commune;typologie;qpv;nombre\n2027;vente;{};;;1\n",
        COMMUNES_B[1]
    );
    let (status, html) = page.upload(id, "exclusions", &own).await;
    assert_eq!(status, 303, "{html}");
    let mut expected = plan.clone();
    expected.push(format!("vente|{}|1", COMMUNES_B[1]));
    expected.sort();
    assert_eq!(plan_2027(&h).await, expected, "the other lines stay");
}

async fn a_convention_import_never_touches_rows_outside_its_epci(db: &TestDb) {
    let h = Harness::start(db).await;
    let (id, _, member) = two_epcis(&h).await;
    let page = Browser::signed_in(&h, &member.email).await;
    let header = "rpls_id;commune;qpv;typologie;financement;individuel;annee_construction\n";

    // Line 2 moves a dwelling of A into B, line 3 one of B into A; line 4 is fine. The file is
    // refused, lines 2 and 3 named, nothing stored.
    let file = format!(
        "{header}{DWELLING_A};{b};;T3;PLUS;non;1961\nHRB000001;69801;;T3;PLUS;non;1990\nHRB999999;{b};;T2;PLAI;non;2020\n",
        b = COMMUNES_B[0]
    );
    let (status, html) = page.upload(id, "logements", &file).await;
    assert_eq!(status, 422, "{html}");
    assert_eq!(refused_lines(&html), vec![2, 3], "{html}");
    assert!(html.contains("hors du territoire de l"), "{html}");
    assert_eq!(commune_of(&h, DWELLING_A).await.as_deref(), Some("69801"));
    assert_eq!(
        commune_of(&h, "HRB000001").await.as_deref(),
        Some(COMMUNES_B[1])
    );
    assert_eq!(commune_of(&h, "HRB999999").await, None);

    // The stock and the releases of a dwelling of A.
    let stock = format!(
        "rpls_id;reservataire;fondement\nHRB000002;etat;contingent_prefectoral\n{DWELLING_A};etat;contingent_prefectoral\n"
    );
    let (status, html) = page.upload(id, "reservations_stock", &stock).await;
    assert_eq!(status, 422, "{html}");
    assert_eq!(refused_lines(&html), vec![3], "{html}");
    let releases = format!("rpls_id;date_liberation\n{DWELLING_A};2026-05-01\n");
    let (status, html) = page.upload(id, "liberations", &releases).await;
    assert_eq!(status, 422, "{html}");
    assert_eq!(refused_lines(&html), vec![2], "{html}");

    // An exclusion in a commune of A, and one without a commune (it would concern the
    // bailleur's whole patrimoine, A included): both refused, the plan untouched.
    let plan = plan_2027(&h).await;
    let exclusions = format!(
        "annee;categorie;commune;typologie;qpv;nombre\n2027;vente;69801;;;3\n2027;mutation;;;;4\n2027;vente;{};;;1\n",
        COMMUNES_B[0]
    );
    let (status, html) = page.upload(id, "exclusions", &exclusions).await;
    assert_eq!(status, 422, "{html}");
    assert_eq!(refused_lines(&html), vec![2, 3], "{html}");
    assert_eq!(plan_2027(&h).await, plan);

    // Within B, everything goes through.
    let file = format!("{header}HRB000001;{};;T4;PLUS;non;1990\n", COMMUNES_B[0]);
    let (status, html) = page.upload(id, "logements", &file).await;
    assert_eq!(status, 303, "{html}");
    assert_eq!(
        commune_of(&h, "HRB000001").await.as_deref(),
        Some(COMMUNES_B[0])
    );
}

async fn nothing_done_in_one_epcis_convention_changes_what_anothers_read(db: &TestDb) {
    let h = Harness::start(db).await;
    let (id_b, secretariat_b, member) = two_epcis(&h).await;
    // EPCI A's convention, opened while the bailleur also has dwellings in B: its segments are
    // A's alone, and its flux the demo's.
    let secretariat_a = h.secretariat().await;
    let id_a = h.open_convention(&secretariat_a).await;
    let a_before = segments(&h, id_a).await;
    assert!(
        a_before
            .iter()
            .all(|(c, _)| !COMMUNES_B.contains(&c.as_str())),
        "{a_before:?}"
    );
    assert_eq!(total(&a_before), DEMO_FLUX_2027);

    // In B's convention the bailleur changes its dwellings, stock, releases and 2027 plan.
    let page = Browser::signed_in(&h, &member.email).await;
    let uploads = [
        (
            "logements",
            format!(
                "rpls_id;commune;qpv;typologie;financement;individuel;annee_construction\nHRB000001;{};;T5;PLS;oui;2001\nHRB900100;{};;T2;PLAI;non;2024\n",
                COMMUNES_B[0], COMMUNES_B[1]
            ),
        ),
        (
            "reservations_stock",
            "rpls_id;reservataire;fondement\nHRB000003;etat;contingent_prefectoral\n".to_owned(),
        ),
        (
            "liberations",
            "rpls_id;date_liberation\nHRB900100;2026-11-30\nHRB000004;2026-12-01\n".to_owned(),
        ),
        (
            "exclusions",
            format!(
                "annee;categorie;commune;typologie;qpv;nombre\n2027;demolition;{};;;2\n",
                COMMUNES_B[0]
            ),
        ),
    ];
    for (kind, file) in &uploads {
        let (status, html) = page.upload(id_b, kind, file).await;
        assert_eq!(status, 303, "{kind}: {html}");
    }
    // B's secretariat refreshes B's segments: they moved.
    let caller_b = authenticate(&h.platform, &secretariat_b.token)
        .await
        .unwrap();
    refresh(&h.platform, &caller_b, id_b).await.unwrap();
    let b_segments = segments(&h, id_b).await;
    assert!(
        b_segments
            .iter()
            .all(|(c, _)| COMMUNES_B.contains(&c.as_str())),
        "{b_segments:?}"
    );

    // A's assiette has not moved: refreshing A's segments finds nothing to change.
    let caller_a = authenticate(&h.platform, &secretariat_a.token)
        .await
        .unwrap();
    let error = refresh(&h.platform, &caller_a, id_a).await.unwrap_err();
    assert!(error.to_string().contains("n'a pas changé"), "{error}");
    assert_eq!(segments(&h, id_a).await, a_before);
    // And A's assiette page shows the demo's flux.
    let page_a = Browser::signed_in(&h, &secretariat_a.email).await;
    let (status, html) = page_a.get(&format!("/conventions/{id_a}/assiette")).await;
    assert_eq!(status, 200);
    assert!(
        !html.contains(COMMUNES_B[0]),
        "a commune of B on A's assiette"
    );
}

/// The demo's second bailleur (issue 20, item 5): its files imported under its SIREN, its
/// convention n° 3 on the same EPCI seeded through the use cases.
async fn the_demo_seeds_the_second_bailleurs_own_convention(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = demo();
    let second = demo.second_bailleur.as_ref().unwrap();
    let seeded = h.seed_demo_with_second_bailleur().await;
    let id = seeded
        .second_bailleur
        .expect("the second bailleur's convention");
    // Conventions 1 (signed) and 2 (in concertation) of the first bailleur come first.
    assert_eq!((seeded.signed, seeded.in_concertation, id), (1, 2, 3));
    assert!(
        seeded
            .accounts
            .iter()
            .any(|a| a.email == "bailleur-2@demo.convention-flux.fr")
    );

    let secretariat = h
        .login("secretariat@demo.convention-flux.fr", DEMO_PASSWORD)
        .await;
    let (status, view) = h
        .call(
            Some(&secretariat),
            "GET",
            &format!("/api/conventions/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{view}");
    let convention = &view["convention"];
    assert_eq!(convention["state"], "concertation");
    assert_eq!(convention["epci_siren"], EPCI);
    assert_eq!(convention["bailleur_siren"], second.siren.as_str());
    assert_eq!(convention["year"], 2027);
    let mut parties: Vec<&str> = view["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["party"].as_str().unwrap())
        .collect();
    parties.sort_unstable();
    assert_eq!(
        parties,
        [
            "action-logement",
            "bailleur",
            "commune-69801",
            "commune-69802",
            "departement-69",
            "etat",
            "secretariat",
        ]
    );
    let bailleur_party = view["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["party"] == "bailleur")
        .unwrap();
    assert_eq!(bailleur_party["name"], second.name.as_str());
    // Its own signatory speaks for the bailleur; the first bailleur's is not a member.
    let members: Vec<(&str, &str)> = view["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["party"].as_str().unwrap()))
        .collect();
    assert!(members.contains(&("bailleur-2@demo.convention-flux.fr", "bailleur")));
    assert!(members.contains(&("etat@demo.convention-flux.fr", "etat")));
    assert!(
        !members
            .iter()
            .any(|(email, _)| *email == "bailleur@demo.convention-flux.fr")
    );
    // The State and Action Logement proposed the rates converted from their rights in the
    // second bailleur's stock; the bailleur its commitments.
    let (_, version) = h
        .call(
            Some(&secretariat),
            "GET",
            &format!("/api/conventions/{id}/version"),
            None,
        )
        .await;
    let starting = &version["document"]["starting_rates"]["reservataires"];
    let start_of = |party: &str| {
        starting
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == party)
            .cloned()
            .unwrap()
    };
    // The State's rights are the rows of its contingent in the second bailleur's stock file
    // (no end date: all count in 2027).
    let etat_rows = second
        .csv(ImportKind::ReservationsStock)
        .unwrap()
        .lines()
        .filter(|l| l.split(';').nth(1) == Some("etat"))
        .count() as u64;
    assert!(etat_rows > 300, "{etat_rows}");
    assert_eq!(start_of("etat")["rights"].as_u64(), Some(etat_rows));
    let proposals = view["proposals"].as_array().unwrap();
    let published: Vec<&str> = proposals
        .iter()
        .filter(|p| !p["published"].is_null())
        .map(|p| p["party"].as_str().unwrap())
        .collect();
    assert_eq!(published.len(), 3, "{published:?}");
    for party in ["etat", "action-logement"] {
        let proposal = proposals.iter().find(|p| p["party"] == party).unwrap();
        let rate = start_of(party)["rate"].as_str().unwrap().to_owned();
        assert!(rate.parse::<f64>().unwrap() > 0.0, "{party}: {rate}");
        assert_eq!(proposal["published"]["share"], rate.as_str(), "{party}");
    }
    assert!(published.contains(&"bailleur"));
    // Its assiette lies in its seven communes only; the first bailleur's flux is unchanged.
    let communes = [
        "69801", "69802", "69803", "69806", "69809", "69813", "69816",
    ];
    let own = segments(&h, id).await;
    assert!(
        own.iter().all(|(c, _)| communes.contains(&c.as_str())),
        "{own:?}"
    );
    assert!(total(&own) > 0);
    assert_eq!(total(&segments(&h, seeded.signed).await), DEMO_FLUX_2027);

    // The secretariat sees the three conventions of its EPCI.
    let (_, mine) = h
        .call(Some(&secretariat), "GET", "/api/conventions", None)
        .await;
    let ids: Vec<i64> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{mine}");
    assert!(ids.contains(&id));
}

/// Neither bailleur sees, nor loads files through, the other's convention.
async fn each_demo_bailleur_is_kept_out_of_the_others_convention(db: &TestDb) {
    let h = Harness::start(db).await;
    let seeded = h.seed_demo_with_second_bailleur().await;
    let third = seeded.second_bailleur.unwrap();
    let second_siren = demo().second_bailleur.unwrap().siren;
    let plan = || async {
        let mut rows: Vec<String> = h
            .platform
            .store
            .planned_exclusions(&second_siren, 2027)
            .await
            .unwrap()
            .iter()
            .map(|x| format!("{}|{}", x.category, x.count))
            .collect();
        rows.sort();
        rows
    };
    let before = plan().await;
    assert_eq!(before.len(), 4, "{before:?}");

    let first = h
        .login("bailleur@demo.convention-flux.fr", DEMO_PASSWORD)
        .await;
    for path in [
        format!("/api/conventions/{third}"),
        format!("/api/conventions/{third}/version"),
        format!("/api/conventions/{third}/table.csv"),
    ] {
        let (status, body) = h.call(Some(&first), "GET", &path, None).await;
        assert!([403, 404].contains(&status), "{path}: {status} {body}");
    }
    let (_, mine) = h.call(Some(&first), "GET", "/api/conventions", None).await;
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"].as_i64() != Some(third)),
        "{mine}"
    );
    let page = Browser::signed_in_with(&h, "bailleur@demo.convention-flux.fr", DEMO_PASSWORD).await;
    for path in [
        format!("/conventions/{third}"),
        format!("/conventions/{third}/import"),
    ] {
        let (status, _) = page.get(&path).await;
        assert!([403, 404].contains(&status), "{path}: {status}");
    }
    // With a valid anti-forgery token (from its own convention's import page), the first
    // bailleur's member cannot replace the second's plan.
    let attack = "annee;categorie;commune;typologie;qpv;nombre
2027;mutation;;;;9999
";
    let (status, _) = page
        .upload_with_form_of(seeded.in_concertation, third, "exclusions", attack)
        .await;
    assert!([403, 404].contains(&status), "upload: {status}");
    assert_eq!(plan().await, before);

    // And the other way round.
    let other = h
        .login("bailleur-2@demo.convention-flux.fr", DEMO_PASSWORD)
        .await;
    for id in [seeded.signed, seeded.in_concertation] {
        let (status, body) = h
            .call(Some(&other), "GET", &format!("/api/conventions/{id}"), None)
            .await;
        assert!([403, 404].contains(&status), "{id}: {status} {body}");
    }
    let page =
        Browser::signed_in_with(&h, "bailleur-2@demo.convention-flux.fr", DEMO_PASSWORD).await;
    let (status, _) = page.get(&format!("/conventions/{third}/import")).await;
    assert_eq!(status, 200, "its own import page");
    let (status, _) = page
        .get(&format!("/conventions/{}/import", seeded.in_concertation))
        .await;
    assert!([403, 404].contains(&status), "{status}");
}

/// A demo database seeded before the second bailleur existed gets its convention on the next
/// run, and a further run changes nothing.
async fn a_demo_seeded_before_gets_the_second_bailleurs_convention(db: &TestDb) {
    let h = Harness::start(db).await;
    let before = h.seed_demo().await;
    assert_eq!(before.second_bailleur, None);
    let again = h.seed_demo_with_second_bailleur().await;
    assert_eq!((again.signed, again.in_concertation), (1, 2));
    assert_eq!(again.second_bailleur, Some(3));
    let secretariat = h
        .login("secretariat@demo.convention-flux.fr", DEMO_PASSWORD)
        .await;
    let (status, view) = h
        .call(Some(&secretariat), "GET", "/api/conventions/3", None)
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["convention"]["state"], "concertation");
    assert_eq!(view["members"].as_array().unwrap().len(), 7, "{view}");
    let third = h.seed_demo_with_second_bailleur().await;
    assert_eq!(third.second_bailleur, Some(3));
    let (_, mine) = h
        .call(Some(&secretariat), "GET", "/api/conventions", None)
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 3, "{mine}");
}

on_both_engines!(
    the_demo_seeds_the_second_bailleurs_own_convention,
    a_demo_seeded_before_gets_the_second_bailleurs_convention,
    each_demo_bailleur_is_kept_out_of_the_others_convention,
    a_secretariat_opens_conventions_only_for_bailleurs_on_its_territory,
    only_the_bailleurs_own_members_load_its_files,
    a_convention_import_never_touches_rows_outside_its_epci,
    nothing_done_in_one_epcis_convention_changes_what_anothers_read,
);
