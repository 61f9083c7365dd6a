//! Vue d'ensemble: where the convention stands, what the caller has to do, who has proposed and
//! who has signed.

use serde::{Deserialize, Serialize};

use super::{open_round, party_name, state_of, with_party_names};
use crate::domain::convention::{ConventionState, Role};
use crate::domain::text::{de_name, sentence};
use crate::flux::scenario::RawObjectives;
use crate::render::pages::dates::french_datetime;
use crate::services::conventions::ConventionView;
use crate::services::conventions::document::TypedDocument;

/// What the member should do now, in the words of their role.
pub fn to_do(role: Role, state: ConventionState, party: &str, is_state: bool) -> String {
    use ConventionState as S;
    match (role, state) {
        (_, S::Abandonnee) => "rien : la convention a été abandonnée.".into(),
        (_, S::EnVigueur) => "rien : la convention est en vigueur ; le bailleur télécharge les tableaux des flux.".into(),
        (Role::Secretariat, S::Brouillon) => "vérifier les segments, fixer les objectifs de la CIA, inviter les parties puis ouvrir la concertation.".into(),
        (Role::Secretariat, S::Concertation) => "suivre les propositions des parties, puis consolider une version (sur les propositions ou le compromis).".into(),
        (Role::Secretariat, S::Arbitrage) => "faire lever les objections, puis ouvrir la signature sur la version consolidée.".into(),
        (Role::Secretariat, S::Signature) => "signer pour l'EPCI (page Signatures) si ce n'est déjà fait, suivre les signatures des autres parties et relancer celles qui n'ont pas signé.".into(),
        (Role::Secretariat, S::Signee) => "attendre l'approbation du préfet, ou ouvrir un avenant.".into(),
        (Role::Contributor | Role::Signatory, S::Concertation) => format!("préparer et publier la proposition {} (part et engagements).", de_name(party)),
        (Role::Contributor | Role::Signatory, S::Arbitrage) => "relire la version consolidée ; commenter ou formuler une objection si nécessaire.".into(),
        (Role::Signatory, S::Signature) => format!("relire la version en signature et signer pour {party}."),
        (Role::Signatory, S::Signee) if is_state => "approuver la convention signée, ou refuser en motivant.".into(),
        (_, S::Brouillon) => "rien pour l'instant : le secrétariat prépare la convention.".into(),
        _ => "consulter la convention.".into(),
    }
}

/// The state as a sentence.
pub fn state_sentence(state: ConventionState) -> &'static str {
    use ConventionState as S;
    match state {
        S::Brouillon => "La convention est en préparation par le secrétariat de la CIL.",
        S::Concertation => {
            "La concertation est ouverte : chaque partie propose sa part et ses engagements."
        }
        S::Arbitrage => {
            "Une version est consolidée : les parties la relisent avant l'ouverture de la signature."
        }
        S::Signature => "La signature est ouverte sur la version consolidée.",
        S::Signee => "Toutes les parties ont signé : la version est verrouillée.",
        S::EnVigueur => "La convention est approuvée et en vigueur.",
        S::Abandonnee => "La convention a été abandonnée.",
    }
}

/// The CIA objectives as typed in the secretariat's form.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ObjectivesEntry {
    #[serde(default)]
    pub q1_hors_qpv_min: String,
    #[serde(default)]
    pub non_q1_qpv_min: String,
    #[serde(default)]
    pub priority_min: String,
    #[serde(default)]
    pub reason: String,
}

/// The error shown at each objective, if any.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ObjectivesErrors {
    pub q1_hors_qpv_min: Option<String>,
    pub non_q1_qpv_min: Option<String>,
    pub priority_min: Option<String>,
}

impl ObjectivesEntry {
    pub fn parse(&self) -> Result<RawObjectives, ObjectivesErrors> {
        use super::proposals::parse_percent;
        let (q1, non_q1, priority) = (
            parse_percent(&self.q1_hors_qpv_min),
            parse_percent(&self.non_q1_qpv_min),
            parse_percent(&self.priority_min),
        );
        match (q1.clone(), non_q1.clone(), priority.clone()) {
            (Ok(q1_hors_qpv_min), Ok(non_q1_qpv_min), Ok(priority_min)) => Ok(RawObjectives {
                q1_hors_qpv_min,
                non_q1_qpv_min,
                priority_min,
            }),
            _ => Err(ObjectivesErrors {
                q1_hors_qpv_min: q1.err(),
                non_q1_qpv_min: non_q1.err(),
                priority_min: priority.err(),
            }),
        }
    }

    fn of(objectives: &RawObjectives) -> Self {
        Self {
            q1_hors_qpv_min: super::french_decimal(&objectives.q1_hors_qpv_min),
            non_q1_qpv_min: super::french_decimal(&objectives.non_q1_qpv_min),
            priority_min: super::french_decimal(&objectives.priority_min),
            reason: String::new(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PartyProgress {
    pub party: String,
    pub name: String,
    /// The secretariat may remind this party now: no proposal published in concertation, or
    /// no signature in the open round.
    pub remind: bool,
    pub proposed: bool,
    pub proposed_at: String,
    pub required: bool,
    pub signed: bool,
    pub signed_at: String,
}

#[derive(Debug, Serialize)]
pub struct VersionLine {
    pub number: i64,
    pub created_at: String,
    pub reason: String,
    pub total_flux: u64,
    pub based_on: &'static str,
    pub hash: String,
}

/// Blocking breaches remain in the consolidated version: the signature cannot open on it.
#[derive(Debug, Serialize)]
pub struct BlockingHint {
    pub message: String,
    /// The report proposes a compromise to consolidate on.
    pub compromise: bool,
}

/// The hint of the overview in arbitrage, from the current version's report.
pub fn blocking_hint(state: ConventionState, doc: Option<&TypedDocument>) -> Option<BlockingHint> {
    if state != ConventionState::Arbitrage {
        return None;
    }
    let report = &doc?.report;
    let n = super::blocking(report);
    if n == 0 {
        return None;
    }
    let compromise = report.compromise.is_some();
    Some(BlockingHint {
        message: if compromise {
            format!(
                "Des dépassements bloquants subsistent ({n}) : consolidez sur le compromis proposé par le calcul avant d'ouvrir la signature."
            )
        } else {
            format!(
                "Des dépassements bloquants subsistent ({n}) et le calcul n'a pas trouvé de compromis : rouvrez la concertation pour que les parties revoient leurs propositions."
            )
        },
        compromise,
    })
}

#[derive(Debug, Serialize)]
pub struct Overview {
    pub state_sentence: &'static str,
    pub to_do: String,
    pub version: Option<VersionLine>,
    pub progress: Vec<PartyProgress>,
    pub proposed: usize,
    pub signed: usize,
    pub parties: usize,
    pub round_open: bool,
    /// Signing has opened (or is over): the progress is the signatures', the proposals are
    /// behind.
    pub signing_phase: bool,
    /// Parties whose signature the round requires.
    pub required: usize,
    /// In arbitrage, while blocking breaches remain: what to do about them.
    pub blocking_hint: Option<BlockingHint>,
    pub deadline: String,
    pub objectives: ObjectivesEntry,
    pub objectives_errors: ObjectivesErrors,
    /// Each row's share of the flux, in dwellings, as a chart with its data table.
    pub shares_chart: Option<crate::render::charts::Chart>,
    /// Members and pending invitations, for the secretariat (filled by the page's handler).
    pub roster: Option<crate::services::conventions::coordination::Roster>,
    /// The CIA the convention restates and the EPCI's latest (filled by the page's handler).
    pub cia: Option<CiaBlock>,
}

/// The CIA on the overview (issue 20): which version the convention restates, and whether
/// the EPCI's CIA has changed since.
#[derive(Debug, Default, Serialize)]
pub struct CiaBlock {
    pub epci: String,
    /// Version restated by the current version of the convention (`None`: the defaults).
    pub restated: Option<u32>,
    pub restated_hash: String,
    pub reference: String,
    pub concluded_on: String,
    /// The CIA's objectives in French figures: q1 hors QPV, non-q1 en QPV, prioritaires.
    pub cia_objectives: Option<[String; 3]>,
    pub territorial: Vec<String>,
    pub assigned: Vec<String>,
    /// The EPCI's latest version, if it is not the one restated.
    pub newer: Option<NewerCia>,
    /// The secretariat may take the newer version now (a draft state).
    pub can_adopt: bool,
    /// Signed: taking it needs an avenant.
    pub needs_avenant: bool,
}

#[derive(Debug, Serialize)]
pub struct NewerCia {
    pub number: u32,
    pub reason: String,
    pub created_at: String,
}

/// The CIA block of a convention whose current document is `doc`, given the EPCI's latest
/// CIA version.
pub fn cia_block(
    view: &ConventionView,
    doc: Option<&TypedDocument>,
    latest: Option<&crate::services::cia::CiaVersion>,
    may_edit: bool,
) -> CiaBlock {
    use super::french_decimal as fr;
    let restated = doc.and_then(|d| d.scenario.cia.as_ref());
    let newer = latest
        .filter(|l| restated.is_none_or(|r| r.hash != l.hash))
        .map(|l| NewerCia {
            number: l.number,
            reason: l.document.reason.clone(),
            created_at: french_datetime(&l.document.created_at),
        });
    let signed = view.convention.state.is_signed();
    CiaBlock {
        epci: view.convention.epci_siren.clone(),
        restated: restated.map(|r| r.version),
        restated_hash: restated.map(|r| r.hash.clone()).unwrap_or_default(),
        reference: restated.map(|r| r.reference.clone()).unwrap_or_default(),
        concluded_on: restated
            .and_then(|r| r.concluded_on.as_deref())
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_default(),
        cia_objectives: restated.map(|r| {
            [
                fr(&r.objectives.q1_hors_qpv_min),
                fr(&r.objectives.non_q1_qpv_min),
                fr(&r.objectives.priority_min),
            ]
        }),
        territorial: restated
            .map(|r| {
                r.territorial
                    .iter()
                    .map(|t| {
                        let what = if t.objective == "q1_hors_qpv" {
                            "attributions hors QPV au premier quartile"
                        } else {
                            "attributions en QPV aux autres quartiles"
                        };
                        format!("{} : au moins {} % des {what}", t.name, fr(&t.min))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        assigned: restated
            .and_then(|r| r.bailleur.as_ref())
            .map(|b| {
                let mut out = Vec::new();
                if let Some(n) = b.q1_hors_qpv {
                    out.push(crate::domain::text::count(
                        n,
                        "attribution hors QPV à un ménage du premier quartile",
                        "attributions hors QPV à des ménages du premier quartile",
                    ));
                }
                if let Some(n) = b.dalo {
                    out.push(crate::domain::text::count(
                        n,
                        "attribution à un ménage reconnu DALO",
                        "attributions à des ménages reconnus DALO",
                    ));
                }
                if let Some(n) = b.relogements {
                    out.push(crate::domain::text::count(
                        n,
                        "relogement NPRU ou ORCOD",
                        "relogements NPRU ou ORCOD",
                    ));
                }
                out
            })
            .unwrap_or_default(),
        can_adopt: newer.is_some() && may_edit && view.convention.state.accepts_new_version(),
        needs_avenant: newer.is_some() && signed,
        newer,
    }
}

pub fn overview(view: &ConventionView, doc: Option<&TypedDocument>) -> Overview {
    let state = state_of(view);
    let is_state = super::is_state_party(view, &view.your_party);
    let round = open_round(view).or_else(|| {
        view.rounds
            .iter()
            .rev()
            .find(|r| r.status == crate::domain::convention::RoundStatus::Terminee)
    });
    let signing_phase = matches!(
        state,
        ConventionState::Signature | ConventionState::Signee | ConventionState::EnVigueur
    );
    // The EPCI proposes no share, but it signs (RULES.md §5): its row shows in the signing phase.
    let progress: Vec<PartyProgress> = view
        .parties
        .iter()
        .filter(|x| x.kind != "secretariat" || signing_phase)
        .map(|x| {
            let proposal = view
                .proposals
                .iter()
                .find(|p| p.party == x.party && p.published.is_some());
            let signature = round.and_then(|r| {
                view.signatures
                    .iter()
                    .find(|s| s.round_id == r.id && s.party == x.party && !s.void)
            });
            let required = round.is_some_and(|r| r.required.contains(&x.party));
            let remind = match state {
                ConventionState::Concertation => proposal.is_none(),
                ConventionState::Signature => {
                    open_round(view).is_some()
                        && required
                        && signature.is_none()
                        && x.kind != "secretariat"
                }
                _ => false,
            };
            PartyProgress {
                party: x.party.clone(),
                name: x.name.clone(),
                remind,
                proposed: proposal.is_some(),
                proposed_at: proposal
                    .and_then(|p| p.published_at.as_ref())
                    .map(french_datetime)
                    .unwrap_or_default(),
                required,
                signed: signature.is_some(),
                signed_at: signature
                    .map(|s| french_datetime(&s.signed_at))
                    .unwrap_or_default(),
            }
        })
        .collect();
    let required = progress.iter().filter(|p| p.required).count();
    Overview {
        state_sentence: state_sentence(state),
        // On its own in the callout, it reads as a sentence (the home page quotes it after
        // « À faire maintenant : »).
        to_do: sentence(&to_do(
            view.your_role,
            state,
            &party_name(view, &view.your_party),
            is_state,
        )),
        version: view
            .current_version
            .as_ref()
            .zip(doc)
            .map(|(v, d)| VersionLine {
                number: v.number,
                created_at: french_datetime(&v.created_at),
                reason: with_party_names(view, &v.reason),
                total_flux: d.scenario.segments.iter().map(|s| s.flux).sum(),
                based_on: if d.based_on == "compromise" {
                    "le compromis du solveur"
                } else {
                    "les propositions des parties"
                },
                hash: v.hash.clone(),
            }),
        proposed: progress.iter().filter(|p| p.proposed).count(),
        signed: progress.iter().filter(|p| p.signed).count(),
        parties: progress.len(),
        progress,
        round_open: open_round(view).is_some(),
        signing_phase,
        required,
        blocking_hint: blocking_hint(state, doc),
        deadline: open_round(view)
            .and_then(|r| r.deadline.as_ref())
            .map(french_datetime)
            .unwrap_or_default(),
        objectives: doc.map_or_else(ObjectivesEntry::default, |d| {
            ObjectivesEntry::of(&d.scenario.objectives)
        }),
        objectives_errors: ObjectivesErrors::default(),
        shares_chart: doc.map(|d| shares_chart(view, d)),
        roster: None,
        cia: None,
    }
}

/// Each row of the flux table (the réservataires, then the bailleur's own flux) in dwellings.
fn shares_chart(view: &ConventionView, doc: &TypedDocument) -> crate::render::charts::Chart {
    use crate::render::charts::{PartyShare, party_shares};
    let shares: Vec<PartyShare> = doc
        .report
        .table
        .as_ref()
        .map(|t| {
            t.rows
                .iter()
                .map(|r| PartyShare {
                    name: party_name(view, &r.id),
                    dwellings: i64::try_from(r.total).unwrap_or(i64::MAX),
                })
                .collect()
        })
        .unwrap_or_default();
    party_shares("parts-du-flux", &shares)
}
