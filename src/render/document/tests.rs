use std::collections::BTreeMap;

use super::*;
use crate::domain::convention::Role;
use crate::flux::scenario::{RawReservataire, RawSegment, Scenario};
use crate::services::conventions::document::tests::solved_document;
use crate::signing::{PublicSignature, SignatureRecord};

/// A convention of two communes and two réservataires (the State at 25 %, commune 69802 at
/// 12.5 % on its territory), solved by the real solver.
fn typed() -> TypedDocument {
    let mut doc = solved_document(3, "25");
    doc.scenario.epci.communes.push("69802".into());
    doc.scenario.segments = vec![
        RawSegment {
            id: "69801-T2".into(),
            commune: "69801".into(),
            typology: Some("T2".into()),
            qpv: false,
            flux: 40,
        },
        RawSegment {
            id: "69802-T3-qpv".into(),
            commune: "69802".into(),
            typology: Some("T3".into()),
            qpv: true,
            flux: 24,
        },
    ];
    let mut commune = doc.scenario.reservataires[0].clone();
    commune = RawReservataire {
        id: "commune-69802".into(),
        kind: "commune".into(),
        basis: "garantie_emprunt".into(),
        name: "Commune de Bron".into(),
        share: "12.5".into(),
        scope: Some(vec!["69802".into()]),
        territory: Some("69802".into()),
        stock: vec![],
        commitments: crate::flux::scenario::RawCommitments {
            priority: "31".into(),
            ..commune.commitments
        },
        ..commune
    };
    doc.scenario.reservataires.push(commune);
    let scenario = Scenario::from_raw(doc.scenario.clone()).unwrap();
    let policy = crate::policy::rules::Policy::parse_national(include_str!(
        "../../../policies/national.toml"
    ))
    .unwrap();
    doc.report = serde_json::to_value(crate::flux::solver::solve(&scenario, &policy)).unwrap();
    let (text, _) = doc.seal_text().unwrap();
    serde_json::from_str(&text).unwrap()
}

fn party(id: &str, kind: &str, name: &str) -> PartyRecord {
    PartyRecord {
        party: id.into(),
        kind: kind.into(),
        name: name.into(),
        reservataire_kind: String::new(),
    }
}

fn signature(party: &str, signer: &str, at: &str) -> PublicSignature {
    PublicSignature {
        record: SignatureRecord {
            convention_id: 1,
            version_hash: "ab".repeat(32),
            party: party.into(),
            party_name: party.into(),
            signer_id: 9,
            signer_name: signer.into(),
            signer_email: "x@example.org".into(),
            mandate: format!("mandat de {signer}"),
            signed_at: at.into(),
            ip: "192.0.2.1".into(),
            user_agent: "test".into(),
            document_sha256: None,
            method: "mot_de_passe".into(),
        }
        .public_extract(),
        seal: format!("sceau-{party}"),
    }
}

struct Fixture {
    doc: TypedDocument,
    parties: Vec<PartyRecord>,
    members: Vec<MemberRecord>,
    signatures: Vec<PublicSignature>,
    communes: BTreeMap<String, String>,
    epci: Epci,
    stock: Vec<StockRight>,
}

fn fixture() -> Fixture {
    Fixture {
        doc: typed(),
        parties: vec![
            party("secretariat", "secretariat", "Métropole de test"),
            party("bailleur", "bailleur", "Bailleur"),
            party("etat", "reservataire", "État"),
            party("commune-69802", "reservataire", "Commune de Bron"),
        ],
        members: vec![
            MemberRecord {
                user_id: 4,
                name: "Alix Durand".into(),
                email: "alix@example.org".into(),
                role: Role::Signatory,
                party: "commune-69802".into(),
                mandate: "Maire de Bron".into(),
            },
            MemberRecord {
                user_id: 2,
                name: "Sam Secrétariat".into(),
                email: "sam@example.org".into(),
                role: Role::Secretariat,
                party: "secretariat".into(),
                mandate: "Secrétariat de la CIL".into(),
            },
            // A contributor never stands for its party.
            MemberRecord {
                user_id: 3,
                name: "Lou Contributeur".into(),
                email: "lou@example.org".into(),
                role: Role::Contributor,
                party: "commune-69802".into(),
                mandate: String::new(),
            },
        ],
        signatures: vec![
            signature("etat", "Camille Martin", "2026-11-23T12:00:00.000Z"),
            signature("bailleur", "Dominique Roy", "2026-11-22T08:30:00.000Z"),
        ],
        communes: [("69801", "Villeurbanne"), ("69802", "Bron")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect(),
        epci: Epci {
            siren: "200999803".parse().unwrap(),
            name: "Métropole de test".into(),
            plh_required: true,
            housing_competent: true,
            cia_concluded_on: chrono::NaiveDate::from_ymd_opt(2024, 3, 15),
        },
        stock: vec![
            StockRight {
                reservataire: "etat".into(),
                commune: "69801".into(),
                typology: "T2".into(),
                dwellings: 120,
            },
            StockRight {
                reservataire: "commune-69802".into(),
                commune: "69802".into(),
                typology: "T3".into(),
                dwellings: 35,
            },
        ],
    }
}

fn sources(f: &Fixture, locked: bool, with_stock: bool) -> Sources<'_> {
    Sources {
        doc: &f.doc,
        hash: "f00d",
        locked,
        approval_required: true,
        parties: &f.parties,
        members: &f.members,
        signatures: &f.signatures,
        communes: &f.communes,
        epci: Some(&f.epci),
        stock: with_stock.then_some(&f.stock[..]),
        approval: None,
        experiment_years: 5,
        public_key: "cafe",
    }
}

/// Every text of the document, as a reader would search it.
fn text(d: &ConventionDocument) -> String {
    serde_json::to_string(d).unwrap()
}

#[test]
fn the_whole_convention_names_parties_rates_and_commitments() {
    let f = fixture();
    let d = convention_document(&sources(&f, false, true), &Scope::Whole).unwrap();
    let names: Vec<&str> = d.parties.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["Bailleur", "Métropole de test", "État", "Commune de Bron"]
    );
    let bron = &d.parties[3];
    assert_eq!(
        (bron.signatory.as_str(), bron.mandate.as_str()),
        ("Alix Durand", "Maire de Bron")
    );
    assert_eq!(d.parties[1].signatory, "Sam Secrétariat");
    // The signer of a valid signature is the party's signatory.
    assert_eq!(d.parties[2].signatory, "Camille Martin");
    assert!(d.visas.iter().any(|v| v.contains("conclue le 15/03/2024")));
    let all = text(&d);
    for figure in ["25\u{a0}%", "12,5\u{a0}%", "31\u{a0}%", "Bron (69802)"] {
        assert!(all.contains(figure), "{figure} manque");
    }
    // Numbered 1..n, each citing its law.
    for (i, a) in d.articles.iter().enumerate() {
        assert_eq!(a.number as usize, i + 1);
        assert!(!a.law.is_empty(), "{}", a.title);
    }
    // The default clause « objet » is set in the article « Objet ».
    assert_eq!(d.articles[0].title, "Objet");
    assert_eq!(d.articles[0].clauses[0].title, "Objet");
    // Three annexes, then one per réservataire.
    let numbers: Vec<&str> = d.annexes.iter().map(|a| a.number.as_str()).collect();
    assert_eq!(
        numbers,
        [
            "Annexe 1",
            "Annexe 2",
            "Annexe 3",
            "Annexe 4.1",
            "Annexe 4.2"
        ]
    );
    // Not locked: no certificate.
    assert!(d.certificate.is_none());
}

#[test]
fn the_tables_add_up_to_the_flux() {
    let f = fixture();
    let d = convention_document(&sources(&f, false, true), &Scope::Whole).unwrap();
    let table = f.doc.report.table.as_ref().unwrap();
    // The assiette: 40 + 24.
    assert_eq!(d.annexes[1].tables[0].total.as_ref().unwrap()[4], "64");
    // The flux table's row totals, whatever the apportionment gave.
    let rows = &d.annexes[2].tables[0];
    assert_eq!(rows.rows.len(), table.rows.len());
    assert_eq!(rows.total.as_ref().unwrap()[1], "64");
    // Each réservataire's annex totals its row.
    for (annex, id) in d.annexes[3..].iter().zip(["etat", "commune-69802"]) {
        let own = annex.tables[0]
            .total
            .as_ref()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(own, table.row_total(id).unwrap().to_string(), "{id}");
        let cells: u64 = annex.tables[0]
            .rows
            .iter()
            .map(|r| r.last().unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(cells, table.row_total(id).unwrap());
    }
    // The commune's rights lie on its territory only: no row in Villeurbanne.
    assert!(
        d.annexes[4].tables[0]
            .rows
            .iter()
            .all(|r| r[0] == "Bron (69802)")
    );
    // État des lieux: 120 + 35.
    assert_eq!(d.annexes[0].tables[0].total.as_ref().unwrap()[3], "155");
}

#[test]
fn without_an_etat_des_lieux_the_annex_says_so() {
    let f = fixture();
    let d = convention_document(&sources(&f, false, false), &Scope::Whole).unwrap();
    assert!(d.annexes[0].tables.is_empty());
    assert!(d.annexes[0].paragraphs[0].starts_with("Aucun état des lieux"));
}

#[test]
fn an_annex_alone_is_its_reservataires_convention_only() {
    let f = fixture();
    let d = convention_document(
        &sources(&f, true, true),
        &Scope::Annex("commune-69802".into()),
    )
    .unwrap();
    assert_eq!(d.annex_only.as_deref(), Some("commune-69802"));
    assert_eq!(d.annexes.len(), 1);
    let annex = &d.annexes[0];
    assert_eq!(
        annex.title,
        "Convention de réservation entre Bailleur et Commune de Bron"
    );
    let parties: Vec<&str> = d.parties.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(parties, ["bailleur", "commune-69802"]);
    let all = text(&d);
    assert!(all.contains("12,5\u{a0}%") && all.contains("31\u{a0}%"));
    // Not the State's rate, nor its name.
    assert!(!all.contains("25\u{a0}% du flux"), "{all}");
    assert!(!all.contains("État"), "{all}");
    assert!(d.articles.is_empty());
    assert!(!annex.articles.is_empty());
    // Its own signature block: the bailleur signed, the commune not yet.
    assert_eq!(annex.signatures.len(), 2);
    assert_eq!(annex.signatures[0].signed_at, "22 novembre 2026 à 9 h 30");
    assert_eq!(annex.signatures[1].signatory, "Alix Durand");
    assert!(annex.signatures[1].signed_at.is_empty());
    // The certificate keeps the two parties' signatures only.
    let certificate = d.certificate.unwrap();
    assert_eq!(certificate.signatures.len(), 1);
    assert_eq!(certificate.signatures[0].signer, "Dominique Roy");
}

#[test]
fn an_unknown_annex_is_refused_in_words() {
    let f = fixture();
    let e = convention_document(&sources(&f, true, true), &Scope::Annex("bailleur".into()))
        .unwrap_err();
    assert_eq!(e, DocumentError::UnknownAnnex("bailleur".into()));
    assert!(e.to_string().contains("n'est pas un réservataire"));
}

#[test]
fn a_signed_version_has_its_certificate_in_paris_time() {
    let f = fixture();
    let mut s = sources(&f, true, true);
    s.approval = Some(Approval {
        at: "2026-12-01T09:00:00.000Z".into(),
        actor: Some("utilisateur 3 (Préfète)".into()),
    });
    let d = convention_document(&s, &Scope::Whole).unwrap();
    let c = d.certificate.unwrap();
    assert_eq!(c.hash, "f00d");
    // Oldest first; 12:00 UTC is 13:00 in Paris in November.
    let signers: Vec<&str> = c.signatures.iter().map(|g| g.signer.as_str()).collect();
    assert_eq!(signers, ["Dominique Roy", "Camille Martin"]);
    assert_eq!(c.signatures[1].at, "23 novembre 2026 à 13 h 00");
    assert_eq!(c.signatures[1].seal, "sceau-etat");
    assert_eq!(c.signatures[1].party, "État");
    assert_eq!(
        c.approval,
        "Approuvée par le préfet (utilisateur 3 (Préfète))"
    );
    assert_eq!(c.approval_at, "1er décembre 2026 à 10 h 00");
    assert!(
        c.verify
            .iter()
            .any(|v| v.contains("convention-flux verify"))
    );
    assert!(c.verify.iter().any(|v| v.contains("cafe")));
}

#[test]
fn the_text_sealed_in_the_version_is_what_is_read() {
    let mut f = fixture();
    let generated = document_text(&sources(&f, false, true));
    let keys: Vec<&str> = generated.articles.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "objet",
            "perimetre",
            "duree",
            "assiette",
            "taux",
            "engagements",
            "objectifs",
            "orientation",
            "programmes",
            "bilan",
            "avenant",
            "resiliation",
            "approbation",
            "differends"
        ]
    );
    // A version sealed with a text reads that text, even where today's wording differs, and
    // keeps the tables that come from its data.
    let mut sealed = generated.clone();
    sealed.visas = vec!["Vu le texte scellé ;".into()];
    sealed.articles[4].paragraphs = vec!["Taux tels que signés.".into()];
    sealed.articles[5].title = "Engagements (texte scellé)".into();
    f.doc.text = Some(sealed);
    let d = convention_document(&sources(&f, false, true), &Scope::Whole).unwrap();
    assert_eq!(d.visas, ["Vu le texte scellé ;"]);
    assert_eq!(d.articles[4].paragraphs, ["Taux tels que signés."]);
    assert_eq!(d.articles[5].title, "Engagements (texte scellé)");
    assert_eq!(d.articles[5].tables.len(), 1, "the commitments' table");
    assert_eq!(
        d.articles[5].tables[0].rows.len(),
        3,
        "two réservataires and the bailleur"
    );
    // The secretariat's clauses stay in their article.
    let objet = &d.articles[0];
    assert_eq!(objet.clauses.len(), 1);
    assert_eq!(objet.clauses[0].text, f.doc.clauses[0].text);
    // A réservataire's annex reproduces the sealed common articles, numbered from 1.
    let annex = convention_document(
        &sources(&f, false, true),
        &Scope::Annex("commune-69802".into()),
    )
    .unwrap();
    let titles: Vec<&str> = annex.annexes[0]
        .articles
        .iter()
        .map(|a| a.title.as_str())
        .collect();
    assert_eq!(titles[0], "Orientation des logements libérés");
    assert_eq!(annex.annexes[0].articles[0].number, 1);
    assert_eq!(titles.len(), 7, "{titles:?}");
}

#[test]
fn a_name_that_says_its_basis_does_not_repeat_it() {
    let mut f = fixture();
    f.doc.scenario.reservataires[0].name = "État – contingent préfectoral".into();
    f.doc.scenario.reservataires[0].basis = "contingent_prefectoral".into();
    let d = convention_document(&sources(&f, false, true), &Scope::Whole).unwrap();
    let rates = d
        .articles
        .iter()
        .find(|a| a.title.starts_with("Droits"))
        .unwrap();
    let line = rates
        .paragraphs
        .iter()
        .find(|p| p.starts_with("1. "))
        .unwrap();
    assert!(
        line.starts_with("1. État – contingent préfectoral : "),
        "{line}"
    );
    let bron = rates
        .paragraphs
        .iter()
        .find(|p| p.starts_with("2. "))
        .unwrap();
    assert!(
        bron.starts_with("2. Commune de Bron (garantie d'emprunt) : "),
        "{bron}"
    );
}
