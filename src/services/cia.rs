//! The CIA of an EPCI (issue 20; RULES.md §4–5): the convention intercommunale d'attribution
//! is one per EPCI, and every bailleur's single convention on that EPCI restates it. The
//! CIL's secretariat records it once — its date, its reference, its objectives over the
//! EPCI, its stricter territorial rates and the attributions it assigns to each bailleur —
//! as versions that never change: each has its author, its reason and the SHA-256 of its
//! canonical text, which the conventions record.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::ServiceError;
use super::conventions::{Caller, Platform, now};
use crate::domain::Siren;
use crate::domain::convention::{ConventionState, Role};
use crate::domain::text::{check_text, limits, parse_percent};
use crate::flux::scenario::{
    MAX_ASSIGNED, MAX_TERRITORIAL, RawBailleurCommitments, RawCia, RawObjectives,
    RawTerritorialObjective, TerritorialKind,
};
use crate::mail::emails::EmailKind;
use crate::signing::{sha256_hex, to_canonical};
use crate::store::conventions::{CiaVersionRow, OutboxMessage};

/// Format of a CIA version's document.
pub const FORMAT: &str = "cia-1";

/// Bailleurs a CIA assigns commitments to: a few hundred at most in the country.
const MAX_BAILLEURS: usize = 1_000;

/// One version of an EPCI's CIA, as hashed and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CiaDocument {
    pub format: String,
    /// SIREN of the EPCI.
    pub epci: String,
    pub epci_name: String,
    pub number: u32,
    /// Hash of the version it replaces.
    pub parent: Option<String>,
    pub author: CiaAuthor,
    pub reason: String,
    pub created_at: String,
    /// Date the CIA was concluded (ISO 8601).
    pub concluded_on: Option<String>,
    /// Reference of the CIA's document (deliberation, date of signature…).
    pub reference: String,
    /// Objectives over the whole EPCI, in percent of the year's attributions.
    pub objectives: RawObjectives,
    /// Stricter rates for a commune or a QPV.
    pub territorial: Vec<RawTerritorialObjective>,
    /// Attributions assigned to each bailleur, in households a year.
    pub bailleurs: Vec<CiaBailleur>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CiaAuthor {
    pub id: i64,
    pub name: String,
}

/// What the CIA assigns to one bailleur, in households a year (absent: not set by the CIA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CiaBailleur {
    pub siren: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q1_hors_qpv: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dalo: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relogements: Option<u64>,
}

/// A version read back, its hash checked against its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CiaVersion {
    pub number: u32,
    pub hash: String,
    pub document: CiaDocument,
}

impl CiaVersion {
    /// What the CIA assigns to `bailleur`, if anything.
    pub fn bailleur(&self, bailleur: &str) -> Option<&CiaBailleur> {
        self.document.bailleurs.iter().find(|b| b.siren == bailleur)
    }

    /// The CIA as a convention of `bailleur` restates it in its scenario.
    pub fn restated(&self, bailleur: &str, relogements_prevus: Option<u64>) -> RawCia {
        let assigned = self.bailleur(bailleur);
        RawCia {
            version: self.number,
            hash: self.hash.clone(),
            concluded_on: self.document.concluded_on.clone(),
            reference: self.document.reference.clone(),
            objectives: self.document.objectives.clone(),
            territorial: self.document.territorial.clone(),
            bailleur: assigned.map(|b| RawBailleurCommitments {
                q1_hors_qpv: b.q1_hors_qpv,
                dalo: b.dalo,
                relogements: b.relogements,
                relogements_prevus: b.relogements.map(|_| relogements_prevus.unwrap_or(0)),
            }),
        }
    }
}

/// A new version of the CIA, as the secretariat enters it (form or API).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CiaChange {
    /// Date the CIA was concluded, `AAAA-MM-JJ`.
    #[serde(default)]
    pub concluded_on: Option<String>,
    #[serde(default)]
    pub reference: String,
    pub objectives: RawObjectives,
    #[serde(default)]
    pub territorial: Vec<TerritorialEntry>,
    #[serde(default)]
    pub bailleurs: Vec<BailleurEntry>,
    #[serde(default)]
    pub reason: Option<String>,
    /// The version number the change was made from: refused if another was recorded since.
    #[serde(default)]
    pub based_on: Option<u32>,
}

/// A territorial rate: `q1_hors_qpv` for a commune, or `non_q1_qpv` for a commune or one QPV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerritorialEntry {
    pub objective: String,
    pub commune: String,
    #[serde(default)]
    pub qpv: Option<String>,
    pub min: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BailleurEntry {
    pub siren: String,
    #[serde(default)]
    pub q1_hors_qpv: Option<u64>,
    #[serde(default)]
    pub dalo: Option<u64>,
    #[serde(default)]
    pub relogements: Option<u64>,
}

/// Who may do what with an EPCI's CIA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CiaAccess {
    /// The CIL's secretariat: an account of the EPCI itself.
    pub edit: bool,
    /// The secretariat and the observers of a convention of the EPCI: the CIL's view.
    pub overview: bool,
    /// Anyone taking part in a convention of the EPCI: the CIA it restates.
    pub read: bool,
}

/// What `caller` may do with the CIA of `epci`.
pub async fn access(
    p: &Platform,
    caller: &Caller,
    epci: &Siren,
) -> Result<CiaAccess, ServiceError> {
    let secretariat = caller.user.organisation_kind == "epci"
        && caller.user.organisation_reference == epci.as_str();
    if secretariat {
        return Ok(CiaAccess {
            edit: true,
            overview: true,
            read: true,
        });
    }
    let mine = p.store.conventions_of_user(caller.user.id).await?;
    let on_epci: Vec<_> = mine
        .iter()
        .filter(|c| c.epci_siren == epci.as_str())
        .collect();
    Ok(CiaAccess {
        edit: false,
        overview: on_epci
            .iter()
            .any(|c| matches!(c.role, Role::Observer | Role::Secretariat)),
        read: !on_epci.is_empty(),
    })
}

/// Refuses unless `caller` may at least read the CIA of `epci`.
pub async fn require_read(
    p: &Platform,
    caller: &Caller,
    epci: &Siren,
) -> Result<CiaAccess, ServiceError> {
    let access = access(p, caller, epci).await?;
    if !access.read {
        return Err(ServiceError::Forbidden(format!(
            "la CIA de l'EPCI {epci} n'est consultable que par le secrétariat de sa CIL et les parties à une convention sur son territoire"
        )));
    }
    Ok(access)
}

/// Every version of the CIA of `epci`, oldest first, each hash checked against its text.
pub async fn versions(p: &Platform, epci: &Siren) -> Result<Vec<CiaVersion>, ServiceError> {
    p.store
        .cia_versions(epci.as_str())
        .await?
        .into_iter()
        .map(read_version)
        .collect()
}

/// The CIA's latest version, if the secretariat recorded one.
pub async fn current(p: &Platform, epci: &Siren) -> Result<Option<CiaVersion>, ServiceError> {
    Ok(versions(p, epci).await?.pop())
}

fn read_version(row: CiaVersionRow) -> Result<CiaVersion, ServiceError> {
    let corrupt = |what: String| {
        ServiceError::Store(crate::store::StoreError::Corrupt(format!(
            "version {} de la CIA de l'EPCI {} : {what}",
            row.number, row.epci_siren
        )))
    };
    if sha256_hex(row.document.as_bytes()) != row.hash {
        return Err(corrupt(
            "son texte ne correspond plus à son empreinte : elle a été modifiée hors de la plateforme".into(),
        ));
    }
    let document: CiaDocument =
        serde_json::from_str(&row.document).map_err(|e| corrupt(format!("illisible ({e})")))?;
    Ok(CiaVersion {
        number: u32::try_from(row.number).map_err(|_| corrupt("numéro hors limites".into()))?,
        hash: row.hash,
        document,
    })
}

/// The policy's floor under each objective of a CIA: the law's minimum for priority
/// households, the national policy's limits (if any) for the two quartile objectives.
fn floors(p: &Platform) -> Result<[Decimal; 3], ServiceError> {
    let policy = crate::policy::rules::Policy::load(&p.policies_dir, "national")
        .map_err(|e| ServiceError::internal(format!("politique nationale illisible : {e}")))?;
    let limit = |id: &str| {
        policy
            .rule(id)
            .and_then(|r| r.limit)
            .unwrap_or(Decimal::ZERO)
    };
    Ok([
        limit("cia.q1_hors_qpv"),
        limit("cia.non_q1_qpv"),
        limit("engagement.prioritaires"),
    ])
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(message.into())
}

fn objective_words(kind: TerritorialKind) -> &'static str {
    match kind {
        TerritorialKind::Q1HorsQpv => "premier quartile hors QPV",
        TerritorialKind::NonQ1Qpv => "autres quartiles en QPV",
    }
}

/// Records a new version of the CIA of `epci`: only its CIL's secretariat may. Every member
/// of a convention of the EPCI that is not abandoned is told, in the same transaction.
#[tracing::instrument(skip_all, fields(epci = %epci, user = caller.user.id))]
pub async fn record(
    p: &Platform,
    caller: &Caller,
    epci: &Siren,
    change: CiaChange,
) -> Result<CiaVersion, ServiceError> {
    if !access(p, caller, epci).await?.edit {
        return Err(ServiceError::Forbidden(format!(
            "seul le secrétariat de la CIL de l'EPCI {epci} peut enregistrer sa CIA"
        )));
    }
    let store = p.store.as_ref();
    let facts = store.epci_facts(epci).await?.ok_or_else(|| {
        ServiceError::NotFound(format!("EPCI {epci} inconnu : importez-le d'abord"))
    })?;
    let previous = current(p, epci).await?;
    if let Some(based_on) = change.based_on {
        let latest = previous.as_ref().map_or(0, |v| v.number);
        if based_on != latest {
            return Err(ServiceError::Conflict(format!(
                "la CIA a changé depuis que vous l'avez ouverte (version n° {latest}, vous partiez de la n° {based_on}) : relisez-la et recommencez"
            )));
        }
    }
    let document =
        checked_document(p, caller, epci, &facts.epci.name, previous.as_ref(), change).await?;
    let text = to_canonical(&document).map_err(ServiceError::internal)?;
    let hash = sha256_hex(text.as_bytes());
    let version = CiaVersion {
        number: document.number,
        hash: hash.clone(),
        document,
    };
    let outbox = tell_conventions(p, epci, &version).await?;
    store
        .add_cia_version(
            &CiaVersionRow {
                epci_siren: epci.as_str().to_owned(),
                number: i64::from(version.number),
                parent_hash: version.document.parent.clone(),
                hash,
                document: text,
                author_id: caller.user.id,
                reason: version.document.reason.clone(),
                created_at: version.document.created_at.clone(),
            },
            &outbox,
        )
        .await?;
    Ok(version)
}

async fn checked_document(
    p: &Platform,
    caller: &Caller,
    epci: &Siren,
    epci_name: &str,
    previous: Option<&CiaVersion>,
    change: CiaChange,
) -> Result<CiaDocument, ServiceError> {
    let store = p.store.as_ref();
    let concluded_on = match change.concluded_on.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => {
            let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                invalid(format!(
                    "date de conclusion de la CIA : « {text} » n'est pas une date (AAAA-MM-JJ attendu)"
                ))
            })?;
            if date > chrono::Utc::now().date_naive() {
                return Err(invalid(format!(
                    "date de conclusion de la CIA : le {} est dans le futur ; enregistrez la CIA une fois conclue",
                    date.format("%d/%m/%Y")
                )));
            }
            Some(date.to_string())
        }
    };
    let reference = change.reference.trim().to_owned();
    check_text(&reference, "référence de la CIA", limits::MANDATE, false).map_err(invalid)?;
    let reason = change
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map_or_else(
            || {
                if previous.is_none() {
                    "enregistrement de la CIA".to_owned()
                } else {
                    "objectifs de la CIA modifiés".to_owned()
                }
            },
            ToOwned::to_owned,
        );
    check_text(&reason, "motif", limits::REASON, true).map_err(invalid)?;
    // The three objectives, each at least the policy's floor.
    let [q1_floor, non_q1_floor, priority_floor] = floors(p)?;
    let mut objectives = Vec::new();
    for (value, label, floor) in [
        (
            &change.objectives.q1_hors_qpv_min,
            "objectif « premier quartile hors QPV »",
            q1_floor,
        ),
        (
            &change.objectives.non_q1_qpv_min,
            "objectif « autres quartiles en QPV »",
            non_q1_floor,
        ),
        (
            &change.objectives.priority_min,
            "objectif « ménages prioritaires »",
            priority_floor,
        ),
    ] {
        let rate = parse_percent(value).map_err(|m| invalid(format!("{label} : {m}")))?;
        if rate < floor {
            return Err(invalid(format!(
                "{label} : {} % est en dessous du plancher légal de {} % (politique nationale) ; la CIA peut être plus exigeante, jamais moins",
                crate::flux::solver::report::french(rate),
                crate::flux::solver::report::french(floor)
            )));
        }
        objectives.push(rate);
    }
    let canonical_objectives = RawObjectives {
        q1_hors_qpv_min: objectives[0].normalize().to_string(),
        non_q1_qpv_min: objectives[1].normalize().to_string(),
        priority_min: objectives[2].normalize().to_string(),
    };
    // Territorial rates: on the EPCI's communes, stricter than the EPCI's rate.
    if change.territorial.len() > MAX_TERRITORIAL {
        return Err(invalid(format!(
            "objectifs territorialisés : {} lignes, au plus {MAX_TERRITORIAL}",
            change.territorial.len()
        )));
    }
    let communes = store.communes_of_epci(epci).await?;
    let qpvs = store.qpvs_of_epci(epci).await?;
    let mut territorial = Vec::with_capacity(change.territorial.len());
    let mut seen = HashSet::new();
    for (i, entry) in change.territorial.iter().enumerate() {
        let at = format!("objectif territorialisé n° {}", i + 1);
        let kind: TerritorialKind = entry
            .objective
            .trim()
            .parse()
            .map_err(|m: String| invalid(format!("{at} : {m}")))?;
        let code = entry.commune.trim();
        let commune = communes
            .iter()
            .find(|c| c.insee.as_str() == code)
            .ok_or_else(|| {
                invalid(format!(
                    "{at} : la commune « {code} » n'est pas une commune de l'EPCI {epci_name}"
                ))
            })?;
        let qpv = match entry.qpv.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => {
                if kind == TerritorialKind::Q1HorsQpv {
                    return Err(invalid(format!(
                        "{at} : l'objectif « premier quartile hors QPV » porte sur les logements hors QPV d'une commune ; il ne se fixe pas pour un quartier"
                    )));
                }
                let quartier = qpvs
                    .iter()
                    .find(|q| q.code.as_str() == code)
                    .ok_or_else(|| {
                        invalid(format!(
                            "{at} : le quartier « {code} » n'est pas un QPV de l'EPCI"
                        ))
                    })?;
                if quartier.commune != commune.insee {
                    return Err(invalid(format!(
                        "{at} : le quartier {} n'est pas sur la commune de {}",
                        quartier.name, commune.name
                    )));
                }
                let others = qpvs.iter().filter(|q| q.commune == commune.insee).count();
                if others > 1 {
                    return Err(invalid(format!(
                        "{at} : {} compte {others} quartiers prioritaires et le tableau des flux ne les distingue pas (ses segments sont par commune, en QPV ou non) ; fixez le taux pour les QPV de la commune entière",
                        commune.name
                    )));
                }
                Some(quartier)
            }
        };
        let min = parse_percent(&entry.min).map_err(|m| invalid(format!("{at} : taux : {m}")))?;
        let wide = match kind {
            TerritorialKind::Q1HorsQpv => objectives[0],
            TerritorialKind::NonQ1Qpv => objectives[1],
        };
        let name = qpv.map_or_else(
            || commune.name.clone(),
            |q| format!("quartier {} ({})", q.name, commune.name),
        );
        if min <= wide {
            return Err(invalid(format!(
                "{at} ({name}) : un taux territorialisé « {} » de {} % n'est pas plus exigeant que celui de l'EPCI ({} %) ; la CIA ne territorialise que des objectifs plus stricts",
                objective_words(kind),
                crate::flux::solver::report::french(min),
                crate::flux::solver::report::french(wide)
            )));
        }
        if !seen.insert((kind.label(), commune.insee.clone())) {
            return Err(invalid(format!(
                "{at} : la commune de {} a déjà un taux « {} »",
                commune.name,
                objective_words(kind)
            )));
        }
        territorial.push(RawTerritorialObjective {
            objective: kind.label().to_owned(),
            commune: commune.insee.as_str().to_owned(),
            qpv: qpv.map(|q| q.code.as_str().to_owned()),
            name,
            min: min.normalize().to_string(),
        });
    }
    // Commitments assigned to bailleurs known to the platform.
    if change.bailleurs.len() > MAX_BAILLEURS {
        return Err(invalid(format!(
            "engagements des bailleurs : {} lignes, au plus {MAX_BAILLEURS}",
            change.bailleurs.len()
        )));
    }
    let mut bailleurs = Vec::with_capacity(change.bailleurs.len());
    let mut sirens = HashSet::new();
    for (i, entry) in change.bailleurs.iter().enumerate() {
        let at = format!("engagements du bailleur n° {}", i + 1);
        let siren: Siren = entry
            .siren
            .trim()
            .parse()
            .map_err(|e| invalid(format!("{at} : SIREN « {} » : {e}", entry.siren.trim())))?;
        let bailleur = store.bailleur(&siren).await?.ok_or_else(|| {
            invalid(format!(
                "{at} : le bailleur {siren} n'est pas connu de la plateforme (importez-le d'abord)"
            ))
        })?;
        if !sirens.insert(siren.clone()) {
            return Err(invalid(format!(
                "{at} : {} figure deux fois",
                bailleur.name
            )));
        }
        for (value, label) in [
            (entry.q1_hors_qpv, "ménages du premier quartile hors QPV"),
            (entry.dalo, "ménages DALO"),
            (entry.relogements, "relogements NPRU ou ORCOD"),
        ] {
            if value.is_some_and(|v| v > MAX_ASSIGNED) {
                return Err(invalid(format!(
                    "{at} ({}) : {label} : au plus {MAX_ASSIGNED} par an",
                    bailleur.name
                )));
            }
        }
        if entry.q1_hors_qpv.is_none() && entry.dalo.is_none() && entry.relogements.is_none() {
            continue;
        }
        bailleurs.push(CiaBailleur {
            siren: siren.as_str().to_owned(),
            name: bailleur.name,
            q1_hors_qpv: entry.q1_hors_qpv,
            dalo: entry.dalo,
            relogements: entry.relogements,
        });
    }
    // Left empty, the date is the previous version's, or the one of the imported EPCI file.
    let concluded_on =
        match concluded_on.or_else(|| previous.and_then(|v| v.document.concluded_on.clone())) {
            Some(date) => Some(date),
            None => store
                .epci_facts(epci)
                .await?
                .and_then(|f| f.epci.cia_concluded_on)
                .map(|d| d.to_string()),
        };
    Ok(CiaDocument {
        format: FORMAT.to_owned(),
        epci: epci.as_str().to_owned(),
        epci_name: epci_name.to_owned(),
        number: previous.map_or(1, |v| v.number + 1),
        parent: previous.map(|v| v.hash.clone()),
        author: CiaAuthor {
            id: caller.user.id,
            name: caller.user.name.clone(),
        },
        reason,
        created_at: now(),
        concluded_on,
        reference,
        objectives: canonical_objectives,
        territorial,
        bailleurs,
    })
}

/// One message to every member of each convention of the EPCI that is not abandoned: the
/// CIA it restates changed.
async fn tell_conventions(
    p: &Platform,
    epci: &Siren,
    version: &CiaVersion,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    let at = now();
    let mut out = Vec::new();
    for (id, _, _, state) in p.store.conventions_of_epci(epci.as_str()).await? {
        if state == ConventionState::Abandonnee {
            continue;
        }
        let Some(snap) = p.store.snapshot_for_reading(id).await? else {
            continue;
        };
        let restated = super::conventions::current_document(&snap)
            .ok()
            .and_then(|d| d.scenario.cia.map(|c| c.version));
        let data = json!({
            "epci": version.document.epci_name,
            "number": version.number,
            "previous": restated,
            "author": version.document.author.name,
            "reason": version.document.reason,
            "title": snap.convention.title,
            "signed": matches!(state, ConventionState::Signee | ConventionState::EnVigueur),
            "link": super::conventions::notify::link(&p.base_url, id, ""),
        });
        for m in &snap.members {
            out.push(super::conventions::notify::message(
                EmailKind::CiaChanged,
                &m.email,
                &m.name,
                data.clone(),
                &at,
            )?);
        }
    }
    Ok(out)
}
