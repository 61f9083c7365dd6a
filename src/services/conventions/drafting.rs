//! Creating a convention, drafting objectives and clauses, proposals, consolidation and the
//! lifecycle transitions that need no signature.

use serde::Deserialize;

use super::document::{
    BailleurRef, Clause, ProposalBody, StartingRate, StartingRates, VersionDocument,
    default_clauses,
};
use super::{
    Caller, Platform, ServiceError, VersionDraft, allowed, current_document, decide_and_apply,
    guard_facts, new_version_change, now, permit,
};
use crate::domain::Siren;
use crate::domain::convention::{Action, ConventionState, RoundStatus, Transition, next_state};
use crate::domain::permission::GuardFacts;
use crate::domain::text::{check_text, limits};
use crate::flux::conversion::{Conversion, Method, stock_shares};
use crate::flux::row::RowId;
use crate::flux::scenario::{
    RawCommitments, RawEpci, RawNonReserve, RawObjectives, RawOverride, RawReservataire,
    RawScenario, RawStockShare,
};
use crate::flux::solver::report::CommitmentKind;
use crate::store::conventions::{
    AuditDraft, ConventionChange, NewConvention, NewVersion, PartyRecord, ProposalWrite,
    RoundClosing, Snapshot,
};
use crate::store::{KeySet, StoreError};

/// Years of release history the assiette averages over (DESIGN §4.1).
pub use crate::flux::assiette::DEFAULT_LOOKBACK as LOOKBACK_YEARS;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConvention {
    pub epci: String,
    pub bailleur: String,
    pub year: i32,
    pub title: Option<String>,
    /// Ids of the réservataires (from the registry) who are parties.
    pub reservataires: Vec<String>,
    /// The préfet's approval is needed before the signed convention takes effect (default: yes).
    #[serde(default)]
    pub approval_required: Option<bool>,
    /// How the état des lieux becomes each réservataire's starting share: `flux` (by the
    /// releases, the default) or `stock` (by the dwellings). Recorded in the version.
    #[serde(default)]
    pub method: Option<String>,
}

fn parse_siren(value: &str, field: &str) -> Result<Siren, ServiceError> {
    value
        .parse()
        .map_err(|e| ServiceError::Invalid(format!("champ {field} : « {value} » : {e}")))
}

fn zero_commitments() -> RawCommitments {
    RawCommitments {
        priority: "0".into(),
        q1_hors_qpv: "0".into(),
        non_q1_qpv: "0".into(),
    }
}

/// Opens a convention in `brouillon` with its first version: the assiette of the bailleur for
/// the year, the CIA's default objectives of RULES.md, every réservataire at its rate converted
/// from the état des lieux (DESIGN §4.5, by the method asked for; 0 without rights), with its
/// shares of the stock for the `representativite` warning, and the default clauses. Only the
/// secretariat of that EPCI may.
#[tracing::instrument(skip_all, fields(user = caller.user.id))]
pub async fn create(
    p: &Platform,
    caller: &Caller,
    request: CreateConvention,
) -> Result<i64, ServiceError> {
    // Who asks comes first: a commune's account has no SIREN of an EPCI to read.
    if caller.user.organisation_kind != "epci" {
        return Err(ServiceError::Forbidden(
            "seul le secrétariat de la CIL d'un EPCI peut ouvrir une convention".into(),
        ));
    }
    let epci = parse_siren(&request.epci, "epci")?;
    let bailleur_siren = parse_siren(&request.bailleur, "bailleur")?;
    if caller.user.organisation_reference != epci.as_str() {
        return Err(ServiceError::Forbidden(format!(
            "seul le secrétariat de la CIL de l'EPCI {epci} peut ouvrir une convention sur son territoire"
        )));
    }
    if !(2000..=2200).contains(&request.year) {
        return Err(ServiceError::Invalid(format!(
            "année de la convention : {} n'est pas une année plausible (de 2000 à 2200)",
            request.year
        )));
    }
    if let Some(title) = &request.title {
        check_text(title, "titre de la convention", limits::TITLE, false)
            .map_err(ServiceError::Invalid)?;
    }
    let method: Method = match request.method.as_deref().map(str::trim) {
        None | Some("") => Method::default(),
        Some(text) => text
            .parse()
            .map_err(|e| ServiceError::Invalid(format!("champ method : {e}")))?,
    };
    if request.reservataires.is_empty() {
        return Err(ServiceError::Invalid(
            "réservataires parties : cochez au moins un réservataire".into(),
        ));
    }
    let store = p.store.as_ref();
    let facts = store.epci_facts(&epci).await?.ok_or_else(|| {
        ServiceError::NotFound(format!("EPCI {epci} inconnu : importez-le d'abord"))
    })?;
    let bailleur = store.bailleur(&bailleur_siren).await?.ok_or_else(|| {
        ServiceError::NotFound(format!(
            "bailleur {bailleur_siren} inconnu : importez-le d'abord"
        ))
    })?;
    // A CIL negotiates the flux of its own territory: a bailleur without a dwelling there is
    // none of its business (and its convention's imports could only touch other EPCIs' rows).
    if store
        .known_keys(KeySet::LogementsInEpci(
            bailleur_siren.clone(),
            epci.clone(),
        ))
        .await?
        .is_empty()
    {
        return Err(ServiceError::Forbidden(format!(
            "le bailleur {} ({bailleur_siren}) n'a aucun logement sur le territoire de l'EPCI {epci} : la CIL n'ouvre une convention que pour un bailleur présent sur son territoire",
            bailleur.name
        )));
    }
    let registry = store.reservataires().await?;
    let communes = store.communes_of_epci(&epci).await?;
    let start = starting_point(store, &bailleur_siren, &epci, request.year, method).await?;
    let mut parties = vec![
        PartyRecord {
            party: "secretariat".into(),
            kind: "secretariat".into(),
            name: format!("Secrétariat de la CIL — {}", facts.epci.name),
            reservataire_kind: String::new(),
        },
        PartyRecord {
            party: "bailleur".into(),
            kind: "bailleur".into(),
            name: bailleur.name.clone(),
            reservataire_kind: String::new(),
        },
    ];
    let mut reservataires = Vec::new();
    let mut start_rates = Vec::new();
    for (i, id) in request.reservataires.iter().enumerate() {
        let r = registry
            .iter()
            .find(|r| r.id.as_str() == id)
            .ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "champ reservataires[{i}] : réservataire « {id} » inconnu (importez le fichier reservataires)"
                ))
            })?;
        if parties.iter().any(|p| p.party == *id) {
            return Err(ServiceError::Invalid(format!(
                "champ reservataires[{i}] : « {id} » figure deux fois"
            )));
        }
        parties.push(PartyRecord {
            party: id.clone(),
            kind: "reservataire".into(),
            name: r.name.clone(),
            reservataire_kind: r.kind.label().into(),
        });
        let commune_territory = (r.kind == crate::domain::ReservataireKind::Commune)
            .then(|| r.territory.clone())
            .flatten();
        let rate = start.rate(id);
        reservataires.push(RawReservataire {
            id: id.clone(),
            kind: r.kind.label().into(),
            basis: r.basis.label().into(),
            name: r.name.clone(),
            share: rate.rate.clone(),
            // A commune's or an EPCI's rights lie on its own territory, as the conversion
            // computes its rate (the State's territory is a département code, not a scope).
            scope: start.scope(id, &communes),
            overrides: vec![],
            commitments: zero_commitments(),
            territory: commune_territory,
            stock: start.stock.get(id).cloned().unwrap_or_default(),
        });
        start_rates.push(rate);
    }
    let (segments, relogements) = super::segments::assiette_segments_and_relogements(
        store,
        &bailleur_siren,
        &epci,
        request.year,
    )
    .await?;
    // The convention restates the CIA's latest version when the secretariat recorded one,
    // else the defaults of RULES.md (L.441-1) until it does.
    let cia = crate::services::cia::current(p, &epci).await?;
    let objectives = cia.as_ref().map_or_else(
        || RawObjectives {
            q1_hors_qpv_min: "25".into(),
            non_q1_qpv_min: "50".into(),
            priority_min: "25".into(),
        },
        |c| c.document.objectives.clone(),
    );
    let restated = cia
        .as_ref()
        .map(|c| c.restated(bailleur_siren.as_str(), Some(relogements)));
    let scenario = RawScenario {
        schema: 1,
        year: request.year,
        policy: "national".into(),
        epci: RawEpci {
            siren: epci.as_str().into(),
            communes: communes
                .iter()
                .map(|c| c.insee.as_str().to_owned())
                .collect(),
        },
        segments,
        objectives,
        reservataires,
        non_reserve: RawNonReserve {
            commitments: zero_commitments(),
        },
        stipulations: vec![],
        cia: restated,
    };
    let title = request.title.clone().unwrap_or_else(|| {
        format!(
            "Convention unique de gestion en flux {} — {} — {}",
            request.year, bailleur.name, facts.epci.name
        )
    });
    let (report, policy_digest) = super::solve(p, scenario.clone()).await?;
    let at = now();
    let document = super::document::VersionDocument {
        format: super::document::VERSION_FORMAT.into(),
        convention: 0,
        number: 1,
        parent: None,
        author: super::document::Author {
            id: caller.user.id,
            name: caller.user.name.clone(),
            party: "secretariat".into(),
        },
        reason: "création de la convention".into(),
        created_at: at.clone(),
        title: title.clone(),
        bailleur: BailleurRef {
            siren: bailleur_siren.as_str().into(),
            name: bailleur.name.clone(),
        },
        scenario,
        clauses: default_clauses(&facts.epci.name, &bailleur.name, request.year),
        based_on: "proposals".into(),
        report,
        policy_digest,
        text: None,
        starting_rates: Some(StartingRates {
            method: method.label().into(),
            lookback: LOOKBACK_YEARS,
            unavailable: start.unavailable.clone(),
            reservataires: start_rates,
        }),
    };
    let approval_required = request.approval_required.unwrap_or(true);
    let mut document = document;
    document.text =
        Some(super::convention_document::sealed_text(p, &document, approval_required, &[]).await?);
    let convention = NewConvention {
        epci_siren: epci.as_str().into(),
        bailleur_siren: bailleur_siren.as_str().into(),
        year: i64::from(request.year),
        title,
        approval_required,
        created_at: at.clone(),
        created_by: caller.user.id,
        parties,
    };
    // The document names its convention, whose id the database assigns inside the transaction.
    create_with_first_version(
        p,
        caller.user.email.to_lowercase(),
        convention,
        document,
        at,
    )
    .await
}

/// What a new convention starts from: the conversion of the bailleur's état des lieux on the
/// EPCI's territory, or why there is none.
struct StartingPoint {
    conversion: Option<Conversion>,
    scopes:
        std::collections::BTreeMap<crate::domain::ReservataireId, Vec<crate::domain::InseeCode>>,
    stock: std::collections::BTreeMap<String, Vec<RawStockShare>>,
    unavailable: Option<String>,
}

impl StartingPoint {
    /// Réservataire `id`'s converted rate on its scope, 0 without a right counted.
    fn rate(&self, id: &str) -> StartingRate {
        let converted = self
            .conversion
            .iter()
            .flat_map(|c| &c.reservataires)
            .find(|r| r.id == id && r.dwellings > 0);
        StartingRate {
            id: id.to_owned(),
            rate: converted.map_or_else(|| "0".into(), |r| r.rate.normalize().to_string()),
            rights: converted.map_or(0, |r| r.dwellings),
        }
    }

    /// The communes of `id`'s territory within the EPCI, for a commune or an EPCI.
    fn scope(&self, id: &str, epci: &[crate::domain::Commune]) -> Option<Vec<String>> {
        let (_, communes) = self.scopes.iter().find(|(r, _)| r.as_str() == id)?;
        let inside: Vec<String> = communes
            .iter()
            .filter(|c| epci.iter().any(|e| e.insee == **c))
            .map(|c| c.as_str().to_owned())
            .collect();
        Some(if inside.is_empty() {
            communes.iter().map(|c| c.as_str().to_owned()).collect()
        } else {
            inside
        })
    }
}

/// The conversion a new convention starts from. A conversion that cannot be computed (no
/// release on the years used) does not stop the opening: every share starts at 0, and the
/// version says why.
async fn starting_point(
    store: &dyn crate::store::Repository,
    bailleur: &Siren,
    epci: &Siren,
    year: i32,
    method: Method,
) -> Result<StartingPoint, ServiceError> {
    let request = crate::services::conversion::Request {
        bailleur: bailleur.clone(),
        year,
        method,
        lookback: LOOKBACK_YEARS,
    };
    let scopes = crate::services::conversion::scopes(store).await?;
    let (conversion, unavailable) =
        match crate::services::conversion::within_epci(store, &request, epci).await {
            Ok(c) => (Some(c), None),
            Err(ServiceError::Invalid(why)) => (None, Some(why)),
            Err(e) => return Err(e),
        };
    Ok(StartingPoint {
        stock: conversion.as_ref().map(stock_shares).unwrap_or_default(),
        conversion,
        scopes,
        unavailable,
    })
}

async fn create_with_first_version(
    p: &Platform,
    creator_email: String,
    convention: NewConvention,
    mut document: super::document::VersionDocument,
    at: String,
) -> Result<i64, ServiceError> {
    // The id is known only inside the store's transaction; the store calls back with it.
    let first = move |id: i64| -> Result<ConventionChange, String> {
        document.convention = id;
        let (text, hash) = document.seal_text()?;
        Ok(ConventionChange {
            new_version: Some(NewVersion {
                number: 1,
                parent_hash: None,
                hash: hash.clone(),
                document: text,
                author_id: document.author.id,
                reason: document.reason.clone(),
                created_at: document.created_at.clone(),
            }),
            audit: vec![AuditDraft {
                at: at.clone(),
                actor: Some(format!(
                    "utilisateur {} ({})",
                    document.author.id, document.author.name
                )),
                kind: "convention_creee".into(),
                payload: serde_json::json!({
                    "titre": document.title, "version": 1, "empreinte": hash,
                    // The creator becomes the secretariat: recorded like any membership.
                    "courriel": creator_email, "role": "secretariat", "partie": "secretariat",
                }),
            }],
            ..ConventionChange::default()
        })
    };
    let (id, _) = p
        .store
        .create_convention(&convention, Box::new(first))
        .await?;
    p.version_written(id);
    Ok(id)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectivesChange {
    pub objectives: RawObjectives,
    pub reason: Option<String>,
}

/// The secretariat sets the CIA objectives: a new version.
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn set_objectives(
    p: &Platform,
    caller: &Caller,
    id: i64,
    request: ObjectivesChange,
) -> Result<i64, ServiceError> {
    let access = allowed(p, caller, id, Action::EditDraft).await?;
    let (number, _) = decide_and_apply(p, id, |snap: Snapshot| {
        let (request, access) = (request.clone(), access.clone());
        async move {
            permit(
                &access,
                Action::EditDraft,
                &snap,
                &guard_facts(&snap, &access),
            )?;
            let doc = current_document(&snap)?;
            let mut scenario = doc.scenario.clone();
            if let Some(cia) = &scenario.cia {
                not_looser(&request.objectives, &cia.objectives, cia.version)?;
            }
            scenario.objectives = request.objectives;
            let reason = request
                .reason
                .unwrap_or_else(|| "objectifs de la convention modifiés".into());
            let (change, doc) = new_version_change(
                p,
                &snap,
                caller,
                "secretariat",
                VersionDraft {
                    reason,
                    scenario,
                    clauses: doc.clauses,
                    based_on: "proposals",
                },
                None,
            )
            .await?;
            Ok((change, doc.number))
        }
    })
    .await?;
    Ok(number)
}

/// Refuses objectives looser than the CIA's (issue 20): a convention may be stricter, never
/// looser. Values that do not parse are left for the scenario's check to name.
fn not_looser(ours: &RawObjectives, cia: &RawObjectives, version: u32) -> Result<(), ServiceError> {
    use crate::domain::text::parse_percent;
    use crate::flux::solver::report::french;
    let mut looser = Vec::new();
    for (label, ours, theirs) in [
        (
            "premier quartile hors QPV",
            &ours.q1_hors_qpv_min,
            &cia.q1_hors_qpv_min,
        ),
        (
            "autres quartiles en QPV",
            &ours.non_q1_qpv_min,
            &cia.non_q1_qpv_min,
        ),
        (
            "ménages prioritaires",
            &ours.priority_min,
            &cia.priority_min,
        ),
    ] {
        if let (Ok(ours), Ok(theirs)) = (parse_percent(ours), parse_percent(theirs))
            && ours < theirs
        {
            looser.push(format!(
                "« {label} » : {} % est moins exigeant que les {} % de la CIA",
                french(ours),
                french(theirs)
            ));
        }
    }
    if looser.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(format!(
            "objectifs de la convention : {} (version n° {version}). Une convention peut durcir les objectifs de la CIA qu'elle reprend, jamais les assouplir.",
            looser.join(" ; ")
        )))
    }
}

/// The secretariat takes the CIA's latest version into the draft: a new version whose
/// objectives follow the CIA (an objective the convention had made stricter than the CIA it
/// restated stays at least as strict), with the CIA's territorial rates and the commitments
/// it assigns to the bailleur. A signed convention needs an avenant first.
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn adopt_cia(p: &Platform, caller: &Caller, id: i64) -> Result<i64, ServiceError> {
    let access = allowed(p, caller, id, Action::EditDraft).await?;
    let (number, _) = decide_and_apply(p, id, |snap: Snapshot| {
        let access = access.clone();
        async move {
            permit(
                &access,
                Action::EditDraft,
                &snap,
                &guard_facts(&snap, &access),
            )?;
            let doc = current_document(&snap)?;
            let epci: Siren = snap
                .convention
                .epci_siren
                .parse()
                .map_err(ServiceError::internal)?;
            let cia = crate::services::cia::current(p, &epci).await?.ok_or_else(|| {
                ServiceError::Conflict(
                    "aucune CIA n'est enregistrée pour cet EPCI : enregistrez-la d'abord (page « CIA »)".into(),
                )
            })?;
            let mut scenario = doc.scenario.clone();
            if scenario.cia.as_ref().is_some_and(|c| c.hash == cia.hash) {
                return Err(ServiceError::Conflict(format!(
                    "la convention reprend déjà la version n° {} de la CIA",
                    cia.number
                )));
            }
            scenario.objectives =
                adopted_objectives(&scenario.objectives, scenario.cia.as_ref().map(|c| &c.objectives), &cia.document.objectives);
            let (_, relogements) = super::segments::assiette_segments_and_relogements(
                p.store.as_ref(),
                &doc.bailleur.siren.parse().map_err(ServiceError::internal)?,
                &epci,
                scenario.year,
            )
            .await?;
            scenario.cia = Some(cia.restated(&doc.bailleur.siren, Some(relogements)));
            let (change, doc) = new_version_change(
                p,
                &snap,
                caller,
                "secretariat",
                VersionDraft {
                    reason: format!(
                        "reprise de la CIA, version n° {} ({})",
                        cia.number, cia.document.reason
                    ),
                    scenario,
                    clauses: doc.clauses,
                    based_on: "proposals",
                },
                None,
            )
            .await?;
            Ok((change, doc.number))
        }
    })
    .await?;
    Ok(number)
}

/// Each objective after taking a new CIA: the new CIA's, unless the convention had made it
/// stricter than the CIA it restated — then the stricter of the two.
pub fn adopted_objectives(
    ours: &RawObjectives,
    old_cia: Option<&RawObjectives>,
    new_cia: &RawObjectives,
) -> RawObjectives {
    use crate::domain::text::parse_percent;
    let pick = |ours: &String, old: Option<&String>, new: &String| -> String {
        let (Ok(o), Ok(n)) = (parse_percent(ours), parse_percent(new)) else {
            return new.clone();
        };
        let restating = old
            .and_then(|v| parse_percent(v).ok())
            .is_none_or(|v| v >= o);
        if restating || o <= n {
            new.clone()
        } else {
            ours.clone()
        }
    };
    RawObjectives {
        q1_hors_qpv_min: pick(
            &ours.q1_hors_qpv_min,
            old_cia.map(|c| &c.q1_hors_qpv_min),
            &new_cia.q1_hors_qpv_min,
        ),
        non_q1_qpv_min: pick(
            &ours.non_q1_qpv_min,
            old_cia.map(|c| &c.non_q1_qpv_min),
            &new_cia.non_q1_qpv_min,
        ),
        priority_min: pick(
            &ours.priority_min,
            old_cia.map(|c| &c.priority_min),
            &new_cia.priority_min,
        ),
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClausesChange {
    pub clauses: Vec<Clause>,
    pub reason: Option<String>,
}

/// Clauses of one convention: the default ones are about twenty.
const MAX_CLAUSES: usize = 200;

/// The secretariat edits the clauses: a new version.
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn set_clauses(
    p: &Platform,
    caller: &Caller,
    id: i64,
    request: ClausesChange,
) -> Result<i64, ServiceError> {
    let access = allowed(p, caller, id, Action::EditDraft).await?;
    let mut seen = std::collections::HashSet::new();
    if request.clauses.len() > MAX_CLAUSES {
        return Err(ServiceError::Invalid(format!(
            "clauses : {} clauses, au plus {MAX_CLAUSES} sont admises",
            request.clauses.len()
        )));
    }
    for (i, c) in request.clauses.iter().enumerate() {
        let n = i + 1;
        if c.id.trim().is_empty() || !seen.insert(c.id.clone()) {
            return Err(ServiceError::Invalid(format!(
                "identifiant de la clause n° {n} : « {} » vide ou en double",
                c.id.chars().take(limits::IDENTIFIER).collect::<String>()
            )));
        }
        if c.title.trim().is_empty() || c.text.trim().is_empty() {
            return Err(ServiceError::Invalid(format!(
                "clause n° {n} : le titre et le texte sont obligatoires"
            )));
        }
        let checks = [
            (&c.id, "identifiant", limits::IDENTIFIER, false),
            (&c.title, "titre", limits::TITLE, false),
            (&c.text, "texte", limits::CLAUSE, true),
        ];
        for (value, what, max, multiline) in checks {
            check_text(
                value,
                &format!("{what} de la clause n° {n}"),
                max,
                multiline,
            )
            .map_err(ServiceError::Invalid)?;
        }
    }
    let (number, _) = decide_and_apply(p, id, |snap: Snapshot| {
        let (request, access) = (request.clone(), access.clone());
        async move {
            permit(
                &access,
                Action::EditDraft,
                &snap,
                &guard_facts(&snap, &access),
            )?;
            let doc = current_document(&snap)?;
            let reason = request.reason.unwrap_or_else(|| "clauses modifiées".into());
            let (change, doc) = new_version_change(
                p,
                &snap,
                caller,
                "secretariat",
                VersionDraft {
                    reason,
                    scenario: doc.scenario,
                    clauses: request.clauses,
                    based_on: "proposals",
                },
                None,
            )
            .await?;
            Ok((change, doc.number))
        }
    })
    .await?;
    Ok(number)
}

/// The scenario with `party`'s proposal in place of what it held.
fn with_proposal(
    mut scenario: RawScenario,
    party: &str,
    body: &ProposalBody,
) -> Result<RawScenario, ServiceError> {
    if party == "bailleur" {
        if body.share.is_some() || !body.overrides.is_empty() {
            return Err(ServiceError::Invalid(
                "part (%) : le bailleur ne propose que ses engagements sur le flux non réservé"
                    .into(),
            ));
        }
        scenario.non_reserve.commitments = body.commitments.clone();
        return Ok(scenario);
    }
    let r = scenario
        .reservataires
        .iter_mut()
        .find(|r| r.id == party)
        .ok_or_else(|| {
            ServiceError::Invalid(format!("« {party} » n'est pas un réservataire partie"))
        })?;
    r.share = body
        .share
        .clone()
        .ok_or_else(|| ServiceError::Invalid("part (%) : obligatoire".into()))?;
    r.overrides = body.overrides.clone();
    r.commitments = body.commitments.clone();
    Ok(scenario)
}

/// A party saves its proposal privately (`publish = false`) or publishes it: a published
/// proposal makes a new version, solved, during the concertation.
#[tracing::instrument(skip_all, fields(convention = id, %party, publish))]
pub async fn save_proposal(
    p: &Platform,
    caller: &Caller,
    id: i64,
    party: &str,
    body: ProposalBody,
    publish: bool,
) -> Result<Option<i64>, ServiceError> {
    let access = super::access(p, caller, id).await?;
    let own = |access: &crate::domain::convention::Access, snap: &Snapshot| GuardFacts {
        proposal_party: Some(party.to_owned()),
        ..guard_facts(snap, access)
    };
    // Whose proposal it is is known before the snapshot: refused before the input is read.
    access.permits(
        Action::EditProposal,
        &GuardFacts {
            proposal_party: Some(party.to_owned()),
            ..GuardFacts::most_favourable()
        },
    )?;
    let draft = serde_json::to_string(&body).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let (number, _) = decide_and_apply(p, id, |snap: Snapshot| {
        let (body, draft, access) = (body.clone(), draft.clone(), access.clone());
        async move {
            permit(&access, Action::EditProposal, &snap, &own(&access, &snap))?;
            let doc = current_document(&snap)?;
            let scenario = with_proposal(doc.scenario.clone(), party, &body)?;
            // Checked now, so that a draft that cannot be solved is refused with the path.
            crate::flux::scenario::Scenario::from_raw(scenario.clone()).map_err(|e| {
                ServiceError::Invalid(format!("proposition de « {party} » : {}", e.in_words()))
            })?;
            let at = now();
            let mut change = ConventionChange {
                proposal: Some(ProposalWrite {
                    party: party.to_owned(),
                    draft: Some(draft.clone()),
                    published: publish.then(|| draft.clone()).or_else(|| {
                        snap.proposals
                            .iter()
                            .find(|x| x.party == party)
                            .and_then(|x| x.published.clone())
                    }),
                    at: at.clone(),
                    publish,
                }),
                ..ConventionChange::default()
            };
            if !publish {
                // Even a private draft is a row of the convention: its event records its state.
                change.audit.push(AuditDraft {
                    at,
                    actor: caller.actor(),
                    kind: "brouillon_enregistre".into(),
                    payload: serde_json::json!({"partie": party}),
                });
                return Ok((change, None));
            }
            let (version, doc) = new_version_change(
                p,
                &snap,
                caller,
                party,
                VersionDraft {
                    reason: format!("proposition publiée par « {party} »"),
                    scenario,
                    clauses: doc.clauses,
                    based_on: "proposals",
                },
                None,
            )
            .await?;
            change.new_version = version.new_version;
            change.audit = version.audit;
            change.outbox = version.outbox;
            change.audit.push(AuditDraft {
                at,
                actor: caller.actor(),
                kind: "proposition_publiee".into(),
                payload: serde_json::json!({"partie": party, "version": doc.number}),
            });
            Ok((change, Some(doc.number)))
        }
    })
    .await?;
    Ok(number)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Consolidation {
    /// `proposals` or `compromise`.
    pub based_on: String,
    pub reason: Option<String>,
}

/// Applies the compromise of `report` to `scenario`: changed shares become per-segment
/// overrides (first match wins, so they go first), changed commitments replace the proposed —
/// the bailleur's row ([`RowId::NonReserve`]) included, whose commitments the CIA rules weigh
/// like any other row's.
fn apply_compromise(
    mut scenario: RawScenario,
    doc: &VersionDocument,
) -> Result<RawScenario, ServiceError> {
    // The stored report is the solver's own output: a compromise that does not read back is a
    // report written by another version of the platform, not the caller's mistake.
    let compromise = doc
        .compromise()
        .map_err(|e| {
            ServiceError::Store(StoreError::Corrupt(format!(
                "compromis du rapport de la version courante : {e}"
            )))
        })?
        .ok_or_else(|| {
            ServiceError::Conflict(
                "le rapport de la version courante ne propose aucun compromis".into(),
            )
        })?;
    for change in &compromise.shares {
        let Some(segment) = scenario.segments.iter().find(|x| x.id == change.segment) else {
            continue;
        };
        let share_override = RawOverride {
            commune: Some(segment.commune.clone()),
            typology: segment.typology.clone(),
            qpv: Some(segment.qpv),
            share: change.compromise.clone(),
        };
        if let Some(res) = scenario
            .reservataires
            .iter_mut()
            .find(|x| x.id == change.reservataire)
        {
            res.overrides.insert(0, share_override);
        }
    }
    for change in &compromise.commitments {
        let target = match &change.reservataire {
            RowId::NonReserve => Some(&mut scenario.non_reserve.commitments),
            RowId::Reservataire(id) => scenario
                .reservataires
                .iter_mut()
                .find(|x| &x.id == id)
                .map(|x| &mut x.commitments),
        };
        let Some(c) = target else {
            continue;
        };
        let value = change.compromise.clone();
        match change.commitment {
            CommitmentKind::Priority => c.priority = value,
            CommitmentKind::Q1HorsQpv => c.q1_hors_qpv = value,
            CommitmentKind::NonQ1Qpv => c.non_q1_qpv = value,
        }
    }
    Ok(scenario)
}

/// A version consolidated for arbitration, and what its report says of the way on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consolidated {
    pub number: i64,
    /// Blocking breaches in the new version's report: the signature cannot open on it.
    pub blocking: usize,
    /// The report proposes a compromise (consolidating on it lifts the blocking breaches).
    pub has_compromise: bool,
}

impl Consolidated {
    /// What the secretariat is told, with what to do next when blocking breaches remain.
    pub fn message(&self) -> String {
        let done = format!(
            "Version n° {} consolidée : la convention passe en arbitrage.",
            self.number
        );
        match (self.blocking, self.has_compromise) {
            (0, _) => done,
            (n, true) => format!(
                "{done} Des dépassements bloquants subsistent ({n}) : consolidez sur le compromis proposé par le calcul avant d'ouvrir la signature."
            ),
            (n, false) => format!(
                "{done} Des dépassements bloquants subsistent ({n}) et le calcul n'a pas trouvé de compromis : rouvrez la concertation pour que les parties revoient leurs propositions."
            ),
        }
    }
}

/// The secretariat consolidates a version for arbitration, from the published proposals (the
/// current version) or from the solver's compromise.
#[tracing::instrument(skip_all, fields(convention = id, based_on = %request.based_on))]
pub async fn consolidate(
    p: &Platform,
    caller: &Caller,
    id: i64,
    request: Consolidation,
) -> Result<Consolidated, ServiceError> {
    let access = allowed(p, caller, id, Action::Consolidate).await?;
    let compromise = match request.based_on.as_str() {
        "proposals" => false,
        "compromise" => true,
        other => {
            return Err(ServiceError::Invalid(format!(
                "base de la consolidation : « {other} » (valeurs admises : proposals, compromise)"
            )));
        }
    };
    let (number, _) = decide_and_apply(p, id, |snap: Snapshot| {
        let (request, access) = (request.clone(), access.clone());
        async move {
            let state = snap.convention.state;
            let facts = guard_facts(&snap, &access);
            permit(&access, Action::Consolidate, &snap, &facts)?;
            let next = next_state(state, Transition::Consolidate, &facts)?;
            let doc = current_document(&snap)?;
            let scenario = if compromise {
                apply_compromise(doc.scenario.clone(), &doc)?
            } else {
                doc.scenario.clone()
            };
            let reason = request.reason.unwrap_or_else(|| {
                if compromise {
                    "version consolidée sur le compromis du solveur".into()
                } else {
                    "version consolidée sur les propositions".into()
                }
            });
            let (mut change, doc) = new_version_change(
                p,
                &snap,
                caller,
                "secretariat",
                VersionDraft {
                    reason,
                    scenario,
                    clauses: doc.clauses,
                    based_on: if compromise {
                        "compromise"
                    } else {
                        "proposals"
                    },
                },
                None,
            )
            .await?;
            change.new_state = Some(next);
            change.audit.push(AuditDraft {
                at: now(),
                actor: caller.actor(),
                kind: "transition".into(),
                payload: serde_json::json!({
                    "transition": "consolidate", "de": state.as_str(), "vers": next.as_str(),
                }),
            });
            let consolidated = Consolidated {
                number: doc.number,
                blocking: doc.blocking_violations(),
                has_compromise: doc.compromise().is_ok_and(|c| c.is_some()),
            };
            Ok((change, consolidated))
        }
    })
    .await?;
    Ok(number)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    pub reason: Option<String>,
}

/// Open, reopen, cancel signing, approve, refuse, avenant, abandon.
#[tracing::instrument(skip_all, fields(convention = id, ?transition))]
pub async fn transition(
    p: &Platform,
    caller: &Caller,
    id: i64,
    transition: Transition,
    request: TransitionRequest,
) -> Result<ConventionState, ServiceError> {
    let access = allowed(p, caller, id, Action::Transition(transition)).await?;
    if matches!(
        transition,
        Transition::Consolidate | Transition::OpenSigning | Transition::LastSignature
    ) {
        return Err(ServiceError::Invalid(format!(
            "« {} » passe par sa propre action",
            transition.label()
        )));
    }
    let needs_reason = matches!(transition, Transition::Refuse | Transition::Abandon);
    let reason = request.reason.clone().filter(|r| !r.trim().is_empty());
    if needs_reason && reason.is_none() {
        return Err(ServiceError::Invalid(
            "motif : obligatoire pour cette décision".into(),
        ));
    }
    if let Some(reason) = &reason {
        check_text(reason, "motif", limits::REASON, true).map_err(ServiceError::Invalid)?;
    }
    let (state, _) = decide_and_apply(p, id, |snap: Snapshot| {
        let (reason, access) = (reason.clone(), access.clone());
        async move {
            let state = snap.convention.state;
            let facts = guard_facts(&snap, &access);
            permit(&access, Action::Transition(transition), &snap, &facts)?;
            let next = next_state(state, transition, &facts)?;
            let at = now();
            let mut change = ConventionChange::default();
            if matches!(transition, Transition::Refuse | Transition::Avenant) {
                // A new draft from the signed version, which stays locked as it is.
                let doc = current_document(&snap)?;
                let why = reason.clone().unwrap_or_else(|| "avenant".into());
                let (mut version, _) = new_version_change(
                    p,
                    &snap,
                    caller,
                    &access.party,
                    VersionDraft {
                        reason: if transition == Transition::Refuse {
                            format!("approbation refusée par le préfet : {why}")
                        } else {
                            format!("avenant : {why}")
                        },
                        scenario: doc.scenario,
                        clauses: doc.clauses,
                        based_on: "proposals",
                    },
                    None,
                )
                .await?;
                change.new_version = version.new_version.take();
                change.audit.append(&mut version.audit);
                change.outbox.append(&mut version.outbox);
            }
            if let Some(round) = snap.open_round() {
                change.close_rounds.push(RoundClosing {
                    id: round.id,
                    status: RoundStatus::Annulee,
                    reason: format!(
                        "{} : {}",
                        transition.label(),
                        reason.clone().unwrap_or_default()
                    ),
                    at: at.clone(),
                });
            }
            change.new_state = Some(next);
            if next == ConventionState::Concertation {
                // The concertation opens (or reopens): each réservataire is asked to propose.
                change
                    .outbox
                    .extend(super::notify::proposal_requested(&p.base_url, &snap, &at)?);
            }
            change.audit.push(AuditDraft {
                at,
                actor: caller.actor(),
                kind: "transition".into(),
                payload: serde_json::json!({
                    "transition": transition, "de": state.as_str(), "vers": next.as_str(),
                    "motif": reason,
                }),
            });
            Ok((change, next))
        }
    })
    .await?;
    Ok(state)
}

/// What `party`'s proposal would give, solved on the current version without writing anything:
/// the solver report the published proposal would carry.
pub async fn preview_proposal(
    p: &Platform,
    caller: &Caller,
    id: i64,
    party: &str,
    body: &ProposalBody,
) -> Result<crate::flux::solver::stored::StoredReport, ServiceError> {
    let access = super::access(p, caller, id).await?;
    let snap = super::snapshot(p, id).await?;
    permit(
        &access,
        Action::EditProposal,
        &snap,
        &GuardFacts {
            proposal_party: Some(party.to_owned()),
            ..guard_facts(&snap, &access)
        },
    )?;
    let doc = current_document(&snap)?;
    let mut scenario = with_proposal(doc.scenario, party, body)?;
    scenario.canonicalize_percentages();
    crate::flux::scenario::Scenario::from_raw(scenario.clone()).map_err(|e| {
        ServiceError::Invalid(format!("proposition de « {party} » : {}", e.in_words()))
    })?;
    let (report, _) = super::solve(p, scenario).await?;
    serde::Deserialize::deserialize(&report)
        .map_err(|e| ServiceError::internal(format!("rapport de l'aperçu illisible : {e}")))
}
