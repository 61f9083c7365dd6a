//! The demo's accounts and conventions: one convention already signed by every party, one in
//! concertation, so that a newcomer sees both ends of the lifecycle; and, when the demo has its
//! second bailleur, that bailleur's own convention on the same EPCI, in concertation, so that
//! the CIL sees two bailleurs. Everything goes through the same use cases as the API.

use crate::domain::convention::ConventionState;
use serde::Serialize;

use super::document::{ProposalBody, VersionDocument};
use super::drafting::{self, Consolidation, CreateConvention, TransitionRequest};
use super::members::{add_member, create_account};
use super::signing::{OpenSigning, SignRequest, open_signing, sign};
use super::{Caller, Platform, RequestMeta, ServiceError};
use crate::domain::convention::{Role, Transition};
use crate::flux::scenario::{RawCommitments, RawOverride};
use crate::store::StoreError;
use crate::store::conventions::NewOrganisation;

/// The password of every demo account (demo data only: never used outside the demo).
pub const DEMO_PASSWORD: &str = "demo-convention-flux";

#[derive(Debug, Clone, Serialize)]
pub struct DemoAccount {
    pub email: String,
    pub name: String,
    /// What this account is in the demo conventions, in French.
    pub role: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoConventions {
    pub accounts: Vec<DemoAccount>,
    pub signed: i64,
    pub in_concertation: i64,
    /// The second bailleur's convention (n° 3 on a fresh database), when it has one.
    pub second_bailleur: Option<i64>,
}

/// The demo's second bailleur: its SIREN and name, as imported.
#[derive(Debug, Clone, Copy)]
pub struct SecondBailleur<'a> {
    pub siren: &'a str,
    pub name: &'a str,
}

/// The account of the second bailleur's signatory.
pub const SECOND_BAILLEUR_EMAIL: &str = "bailleur-2@demo.convention-flux.fr";
const SECOND_BAILLEUR_ACCOUNT: &str = "Nadia Rhône (gestion locative, Villages du Rhône Habitat)";
const SECOND_BAILLEUR_MANDATE: &str = "Directrice générale de Villages du Rhône Habitat ESH";
/// The réservataires who propose first on the second bailleur's convention, at the rate
/// converted from their rights in its stock.
const SECOND_PROPOSING: [&str; 2] = ["etat", "action-logement"];

/// Who each demo party is, in words, and the capacity in which its signatory signs.
fn in_words(party: &str) -> (&'static str, &'static str) {
    match party {
        "etat" => (
            "l'État (préfet du Rhône)",
            "Préfet du Rhône, par délégation (DDETS)",
        ),
        "commune-69801" => (
            "la commune de Valmont-sur-Saône",
            "Maire de Valmont-sur-Saône, par délégation",
        ),
        "commune-69802" => (
            "la commune de Bellecombe-les-Vignes",
            "Maire de Bellecombe-les-Vignes, par délégation",
        ),
        "action-logement" => (
            "Action Logement Services",
            "Directeur régional d'Action Logement Services",
        ),
        "departement-69" => (
            "le département du Rhône",
            "Présidente du conseil départemental du Rhône, par délégation",
        ),
        _ => (
            "le bailleur (Val de Saône Habitat)",
            "Directeur général de Val de Saône Habitat OPH",
        ),
    }
}

/// The parties of the demo conventions: (party, account name, organisation kind, share).
const PARTIES: [(&str, &str, &str, &str); 6] = [
    ("etat", "Hélène Préfecture (DDETS)", "reservataire", "25"),
    (
        "commune-69801",
        "Marc Valmont (mairie)",
        "reservataire",
        "15",
    ),
    (
        "commune-69802",
        "Inès Bellecombe (mairie)",
        "reservataire",
        "15",
    ),
    (
        "action-logement",
        "Paul Action Logement",
        "reservataire",
        "20",
    ),
    ("departement-69", "Sophie Département", "reservataire", "5"),
    (
        "bailleur",
        "Karim Bailleur (gestion locative)",
        "bailleur",
        "",
    ),
];

fn email(party: &str) -> String {
    format!("{party}@demo.convention-flux.fr")
}

const SECRETARIAT_EMAIL: &str = "secretariat@demo.convention-flux.fr";

async fn caller(p: &Platform, id: i64) -> Result<Caller, ServiceError> {
    let user = p
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("compte {id}")))?;
    Ok(Caller { user })
}

fn commitments() -> RawCommitments {
    RawCommitments {
        priority: "30".into(),
        q1_hors_qpv: "30".into(),
        non_q1_qpv: "55".into(),
    }
}

fn proposal(party: &str, share: &str) -> ProposalBody {
    ProposalBody {
        share: (party != "bailleur").then(|| share.to_owned()),
        // Action Logement takes a little less in QPV, as in the worked example.
        overrides: if party == "action-logement" {
            vec![RawOverride {
                commune: None,
                typology: None,
                qpv: Some(true),
                share: "15".into(),
            }]
        } else {
            vec![]
        },
        commitments: commitments(),
    }
}

/// Creates the demo accounts and the two conventions of `bailleur` (and the convention of
/// `second`, when given), unless the demo secretariat already exists (the demo was seeded
/// before): then only the accounts are listed.
#[tracing::instrument(skip_all, fields(epci, bailleur, year))]
pub async fn seed(
    p: &Platform,
    epci: &str,
    epci_name: &str,
    bailleur: &str,
    second: Option<SecondBailleur<'_>>,
    year: i32,
) -> Result<DemoConventions, ServiceError> {
    let mut accounts = vec![DemoAccount {
        email: SECRETARIAT_EMAIL.into(),
        name: "Claire Martin (secrétariat de la CIL)".into(),
        role: "secrétariat de la CIL : ouvre et conduit les conventions, signe pour l'EPCI".into(),
    }];
    for (party, name, _, _) in PARTIES {
        accounts.push(DemoAccount {
            email: email(party),
            name: name.into(),
            role: format!("signataire pour {}", in_words(party).0),
        });
    }
    if let Some(second) = second {
        accounts.push(DemoAccount {
            email: SECOND_BAILLEUR_EMAIL.into(),
            name: SECOND_BAILLEUR_ACCOUNT.into(),
            role: format!(
                "signataire pour le second bailleur ({}), sur sa seule convention",
                short_name(second.name)
            ),
        });
    }
    if let Some(existing) = p.store.user_by_email(SECRETARIAT_EMAIL).await? {
        // A demo seeded before the second bailleur existed gets its convention now.
        if let Some(second) = second
            && p.store
                .user_by_email(SECOND_BAILLEUR_EMAIL)
                .await?
                .is_none()
        {
            let secretariat = Caller {
                user: existing.clone(),
            };
            let mut members = Vec::new();
            for (party, ..) in PARTIES {
                if let Some(user) = p.store.user_by_email(&email(party)).await? {
                    members.push((party, Caller { user }));
                }
            }
            let reservataires: Vec<String> = members
                .iter()
                .filter(|(party, _)| *party != "bailleur")
                .map(|(party, _)| (*party).to_owned())
                .collect();
            seed_second_bailleur(
                p,
                &secretariat,
                &members,
                epci,
                second,
                year,
                &reservataires,
            )
            .await?;
        }
        let mine = p.store.conventions_of_user(existing.id).await?;
        let find = |state, siren: &str| {
            mine.iter()
                .find(|c| c.state == state && c.bailleur_siren == siren)
                .map(|c| c.id)
        };
        return Ok(DemoConventions {
            accounts,
            signed: find(ConventionState::Signee, bailleur).unwrap_or_default(),
            in_concertation: find(ConventionState::Concertation, bailleur).unwrap_or_default(),
            second_bailleur: second.and_then(|s| {
                mine.iter()
                    .find(|c| c.bailleur_siren == s.siren)
                    .map(|c| c.id)
            }),
        });
    }
    let secretariat_id = create_account(
        p,
        SECRETARIAT_EMAIL,
        &accounts[0].name,
        NewOrganisation {
            kind: "epci".into(),
            name: epci_name.into(),
            reference: epci.into(),
        },
        DEMO_PASSWORD,
    )
    .await?;
    let secretariat = caller(p, secretariat_id).await?;
    // The CIA the conventions restate, recorded before any is opened.
    record_demo_cia(
        p,
        &secretariat,
        epci,
        bailleur,
        second.map(|s| s.siren),
        false,
    )
    .await?;
    let mut members = Vec::new();
    for (party, name, kind, _) in PARTIES {
        let id = create_account(
            p,
            &email(party),
            name,
            NewOrganisation {
                kind: kind.into(),
                name: format!("Organisation {party}"),
                reference: party.into(),
            },
            DEMO_PASSWORD,
        )
        .await?;
        members.push((party, caller(p, id).await?));
    }
    let reservataires: Vec<String> = PARTIES
        .iter()
        .filter(|(party, ..)| *party != "bailleur")
        .map(|(party, ..)| (*party).to_owned())
        .collect();

    // The signed convention: the whole lifecycle, as the parties would do it.
    let signed = drafting::create(
        p,
        &secretariat,
        CreateConvention {
            epci: epci.into(),
            bailleur: bailleur.into(),
            year,
            title: None,
            reservataires: reservataires.clone(),
            approval_required: Some(true),
            method: None,
        },
    )
    .await?;
    for (party, member) in &members {
        let mandate = in_words(party).1;
        add_member(
            p,
            &secretariat,
            signed,
            member.user.id,
            Role::Signatory,
            party,
            mandate,
        )
        .await?;
    }
    let none = || TransitionRequest { reason: None };
    drafting::transition(p, &secretariat, signed, Transition::Open, none()).await?;
    for (party, member) in &members {
        let share = PARTIES.iter().find(|x| x.0 == *party).map_or("", |x| x.3);
        drafting::save_proposal(p, member, signed, party, proposal(party, share), true).await?;
    }
    drafting::consolidate(
        p,
        &secretariat,
        signed,
        Consolidation {
            based_on: "proposals".into(),
            reason: None,
        },
    )
    .await?;
    open_signing(p, &secretariat, signed, OpenSigning::default()).await?;
    let hash = p
        .store
        .current_version(signed)
        .await?
        .map(|v| v.hash)
        .unwrap_or_default();
    // The EPCI signs first, through its secretariat, by delegation of its president.
    let signers = std::iter::once((
        &secretariat,
        Some("Par délégation du président de la métropole".to_owned()),
    ))
    .chain(members.iter().map(|(_, member)| (member, None)));
    for (member, mandate) in signers {
        sign(
            p,
            member,
            signed,
            SignRequest {
                password: DEMO_PASSWORD.into(),
                version_hash: hash.clone(),
                mandate,
                document_sha256: None,
            },
            RequestMeta {
                ip: "127.0.0.1".into(),
                user_agent: "convention-flux demo".into(),
            },
        )
        .await?;
    }

    // The convention in concertation: the next year, two parties have proposed so far.
    let in_concertation = drafting::create(
        p,
        &secretariat,
        CreateConvention {
            epci: epci.into(),
            bailleur: bailleur.into(),
            year: year + 1,
            title: None,
            reservataires: reservataires.clone(),
            approval_required: Some(true),
            method: None,
        },
    )
    .await?;
    for (party, member) in &members {
        add_member(
            p,
            &secretariat,
            in_concertation,
            member.user.id,
            Role::Signatory,
            party,
            in_words(party).1,
        )
        .await?;
    }
    drafting::transition(p, &secretariat, in_concertation, Transition::Open, none()).await?;
    for (party, member) in members.iter().take(2) {
        let share = PARTIES.iter().find(|x| x.0 == *party).map_or("", |x| x.3);
        drafting::save_proposal(
            p,
            member,
            in_concertation,
            party,
            proposal(party, share),
            true,
        )
        .await?;
    }
    let second_bailleur = match second {
        Some(second) => Some(
            seed_second_bailleur(
                p,
                &secretariat,
                &members,
                epci,
                second,
                year,
                &reservataires,
            )
            .await?,
        ),
        None => None,
    };
    // The CIL then adopts territorial rates: both conventions are told, the signed one would
    // need an avenant, the one in concertation may take them in a new version.
    record_demo_cia(
        p,
        &secretariat,
        epci,
        bailleur,
        second.map(|s| s.siren),
        true,
    )
    .await?;
    Ok(DemoConventions {
        accounts,
        signed,
        in_concertation,
        second_bailleur,
    })
}

/// The demo's CIA: version 1 at the objectives of L.441-1 with the bailleur's assigned
/// commitments; version 2 adds two territorial rates (a commune, and the one QPV of another).
async fn record_demo_cia(
    p: &Platform,
    secretariat: &Caller,
    epci: &str,
    bailleur: &str,
    second: Option<&str>,
    territorial: bool,
) -> Result<(), ServiceError> {
    use crate::services::cia::{self, BailleurEntry, CiaChange, TerritorialEntry};
    let siren: crate::domain::Siren = epci.parse().map_err(ServiceError::internal)?;
    let change = CiaChange {
        // The date of the imported EPCI file (epci.csv) is the CIA's.
        concluded_on: None,
        reference: "Délibération du conseil métropolitain n° 2021-0418 du 29 juin 2021".into(),
        objectives: crate::flux::scenario::RawObjectives {
            q1_hors_qpv_min: "25".into(),
            non_q1_qpv_min: "50".into(),
            priority_min: "25".into(),
        },
        territorial: if territorial {
            vec![
                TerritorialEntry {
                    objective: "q1_hors_qpv".into(),
                    commune: "69801".into(),
                    qpv: None,
                    min: "30".into(),
                },
                TerritorialEntry {
                    objective: "non_q1_qpv".into(),
                    commune: "69802".into(),
                    qpv: Some("QN06982A".into()),
                    min: "55".into(),
                },
            ]
        } else {
            vec![]
        },
        bailleurs: std::iter::once(BailleurEntry {
            siren: bailleur.into(),
            q1_hors_qpv: Some(150),
            dalo: Some(120),
            relogements: Some(10),
        })
        .chain(second.map(|siren| BailleurEntry {
            siren: siren.into(),
            q1_hors_qpv: Some(30),
            dalo: Some(25),
            relogements: Some(8),
        }))
        .collect(),
        reason: Some(if territorial {
            "taux territorialisés adoptés par la CIL (séance du 14 novembre 2026)".into()
        } else {
            "enregistrement de la CIA signée le 29 juin 2021".into()
        }),
        based_on: None,
    };
    cia::record(p, secretariat, &siren, change).await?;
    Ok(())
}

/// « Villages du Rhône Habitat ESH (démonstration) » without its parenthesis.
fn short_name(name: &str) -> &str {
    name.split(" (").next().unwrap_or(name).trim()
}

/// The second bailleur's account and its convention for `year` on the same EPCI: the same
/// secretariat, the same réservataires' signatories invited, its own signatory for the
/// bailleur; opened for concertation, where the State and Action Logement have proposed the
/// rates converted from their rights in its stock, and the bailleur its commitments.
async fn seed_second_bailleur(
    p: &Platform,
    secretariat: &Caller,
    members: &[(&str, Caller)],
    epci: &str,
    second: SecondBailleur<'_>,
    year: i32,
    reservataires: &[String],
) -> Result<i64, ServiceError> {
    let account = create_account(
        p,
        SECOND_BAILLEUR_EMAIL,
        SECOND_BAILLEUR_ACCOUNT,
        NewOrganisation {
            kind: "bailleur".into(),
            name: short_name(second.name).into(),
            reference: second.siren.into(),
        },
        DEMO_PASSWORD,
    )
    .await?;
    let own = caller(p, account).await?;
    let id = drafting::create(
        p,
        secretariat,
        CreateConvention {
            epci: epci.into(),
            bailleur: second.siren.into(),
            year,
            title: None,
            reservataires: reservataires.to_vec(),
            approval_required: Some(true),
            method: None,
        },
    )
    .await?;
    for (party, member) in members.iter().filter(|(party, _)| *party != "bailleur") {
        add_member(
            p,
            secretariat,
            id,
            member.user.id,
            Role::Signatory,
            party,
            in_words(party).1,
        )
        .await?;
    }
    add_member(
        p,
        secretariat,
        id,
        own.user.id,
        Role::Signatory,
        "bailleur",
        SECOND_BAILLEUR_MANDATE,
    )
    .await?;
    let none = TransitionRequest { reason: None };
    drafting::transition(p, secretariat, id, Transition::Open, none).await?;
    let version = p
        .store
        .current_version(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("version de la convention {id}")))?;
    let document: VersionDocument = serde_json::from_str(&version.document).map_err(|e| {
        ServiceError::Store(StoreError::Corrupt(format!(
            "document de la convention {id} : {e}"
        )))
    })?;
    for party in SECOND_PROPOSING {
        let Some((_, member)) = members.iter().find(|(p, _)| *p == party) else {
            continue;
        };
        let converted = document
            .starting_rates
            .as_ref()
            .and_then(|rates| rates.of(party))
            .map_or_else(|| "0".to_owned(), |r| r.rate.clone());
        let body = ProposalBody {
            share: Some(converted),
            overrides: vec![],
            commitments: commitments(),
        };
        drafting::save_proposal(p, member, id, party, body, true).await?;
    }
    drafting::save_proposal(p, &own, id, "bailleur", proposal("bailleur", ""), true).await?;
    Ok(id)
}
