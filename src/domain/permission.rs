//! What a member may do in a convention, now: the one answer the services' guards and the
//! pages ask for. Who (the role matrix, the party spoken for) is asked before when (the state
//! of the lifecycle and its guards), so that a member who may never act is told so rather than
//! told to come back later.

use super::convention::{Action, ConventionState, LifecycleError, Role, Transition, next_state};
use super::reservataire::ReservataireKind;

/// What the party a member speaks for is in the convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartyKind {
    /// The CIL secretariat (not a party of the flux, but the one that runs the convention).
    Secretariat,
    /// The bailleur, owner of the flux.
    Bailleur,
    Reservataire(ReservataireKind),
}

impl PartyKind {
    /// From the two stored columns of a party (`kind`, `reservataire_kind`).
    pub fn from_columns(kind: &str, reservataire_kind: &str) -> Option<Self> {
        match kind {
            "secretariat" => Some(Self::Secretariat),
            "bailleur" => Some(Self::Bailleur),
            "reservataire" => reservataire_kind.parse().ok().map(Self::Reservataire),
            _ => None,
        }
    }
}

/// Who asks: a member's role, the party it speaks for and what that party is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub role: Role,
    /// The party's id (`etat`, `bailleur`, `commune-69123`…), `secretariat` for the
    /// secretariat, empty for an observer.
    pub party: String,
    /// `None` for an observer, or a party the convention does not list.
    pub kind: Option<PartyKind>,
}

impl Actor {
    /// Speaks for the State (the préfet): a réservataire of kind `etat` or
    /// `etat_fonctionnaires`. Approving a signed convention is the préfet's (L.441-1-5 CCH).
    pub fn is_state(&self) -> bool {
        matches!(
            self.kind,
            Some(PartyKind::Reservataire(
                ReservataireKind::Etat | ReservataireKind::EtatFonctionnaires
            ))
        )
    }

    pub fn is_bailleur(&self) -> bool {
        self.kind == Some(PartyKind::Bailleur)
    }
}

/// A comment thread that `Resolve` or `OverruleObjection` would close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadFacts {
    pub id: i64,
    pub objection: bool,
    /// The party of its author.
    pub party: String,
    /// The actor wrote it.
    pub by_actor: bool,
    /// Neither resolved nor overruled yet.
    pub open: bool,
}

/// What the guards need to know besides the state, gathered by the caller before asking.
/// `Default` is "nothing known": enough for the actions that depend on the state alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardFacts {
    /// The convention has a current version (segments, objectives…).
    pub has_version: bool,
    /// Blocking breaches in the current version's solver report.
    pub blocking_violations: usize,
    /// Objections still open (neither resolved nor overruled).
    pub open_objections: usize,
    /// Every required party signed the round's version.
    pub all_signed: bool,
    /// The policy asks for the préfet's approval before the convention takes effect.
    pub approval_required: bool,
    /// A signing round is open.
    pub round_open: bool,
    /// The open round requires the signature of the actor's party.
    pub round_requires_party: bool,
    /// The actor's party has already signed in the open round.
    pub party_signed: bool,
    /// For `EditProposal`: the party whose proposal is touched; `None` for the actor's own.
    pub proposal_party: Option<String>,
    /// For `Resolve` and `OverruleObjection`: the thread; `None` to ask about threads in
    /// general (may this member close any thread now?).
    pub thread: Option<ThreadFacts>,
}

impl GuardFacts {
    /// The facts most favourable to every action. What `permission` refuses with them, it
    /// refuses whatever the facts: a guard may ask with them before it has read anything but
    /// the member's role and the state (and before it checks the request's input), then ask
    /// again with the real facts on the data it decides from.
    pub fn most_favourable() -> Self {
        Self {
            has_version: true,
            all_signed: true,
            approval_required: true,
            round_open: true,
            round_requires_party: true,
            ..Self::default()
        }
    }
}

/// Why an action is refused, in French. `Forbidden` (403): the member may not, whatever the
/// state. `Conflict` (409): the member may, but not now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Self::Forbidden(m) | Self::Conflict(m) => m,
        }
    }
}

impl From<LifecycleError> for Refusal {
    fn from(e: LifecycleError) -> Self {
        Self::Conflict(e.0)
    }
}

/// Every action a member can request, in the order the pages list them. (`LastSignature` is
/// nobody's to request: the last signature causes it; `Transition(Consolidate)` is
/// `Consolidate`.)
pub const ACTIONS: [Action; 21] = [
    Action::Read,
    Action::EditDraft,
    Action::InviteMember,
    Action::ImportPatrimoine,
    Action::Transition(Transition::Open),
    Action::EditProposal,
    Action::Comment,
    Action::Object,
    Action::Resolve,
    Action::OverruleObjection,
    Action::Consolidate,
    Action::Transition(Transition::Reopen),
    Action::Transition(Transition::OpenSigning),
    Action::Remind,
    Action::Transition(Transition::CancelSigning),
    Action::SetDeadline,
    Action::Sign,
    Action::Transition(Transition::Approve),
    Action::Transition(Transition::Refuse),
    Action::Transition(Transition::Avenant),
    Action::Transition(Transition::Abandon),
];

/// "de" before an infinitive, elided before a vowel: « de signer », « d'ouvrir ».
pub(crate) fn de(infinitive: &str) -> String {
    if infinitive.starts_with(['a', 'e', 'i', 'o', 'u', 'é', 'è', 'ê']) {
        format!("d'{infinitive}")
    } else {
        format!("de {infinitive}")
    }
}

/// May `actor` do `action` on a convention in `state`, given `facts`? The one rule of who may
/// do what and when: every service guard calls it before acting (and again on the fresh data
/// it writes from), and the pages call it (or [`allowed_actions`]) to decide which buttons
/// and forms to show.
///
/// ```
/// use convention_flux::domain::convention::{Action, ConventionState, Role, Transition};
/// use convention_flux::domain::permission::{permission, Actor, GuardFacts, PartyKind, Refusal};
/// use convention_flux::domain::ReservataireKind;
///
/// let prefet = Actor {
///     role: Role::Signatory,
///     party: "etat".into(),
///     kind: Some(PartyKind::Reservataire(ReservataireKind::Etat)),
/// };
/// let facts = GuardFacts { approval_required: true, ..GuardFacts::default() };
/// let approve = Action::Transition(Transition::Approve);
/// assert_eq!(permission(&prefet, approve, ConventionState::Signee, &facts), Ok(()));
/// // Allowed to the préfet, but not before the convention is signed: 409.
/// let early = permission(&prefet, approve, ConventionState::Signature, &facts);
/// assert!(matches!(early, Err(Refusal::Conflict(_))));
/// // A signatory of another party may never approve: 403, whatever the state.
/// let other = Actor { party: "action-logement".into(),
///     kind: Some(PartyKind::Reservataire(ReservataireKind::ActionLogement)), ..prefet };
/// let refused = permission(&other, approve, ConventionState::Signee, &facts).unwrap_err();
/// assert!(matches!(refused, Refusal::Forbidden(_)));
/// assert!(refused.message().contains("État"));
/// ```
pub fn permission(
    actor: &Actor,
    action: Action,
    state: ConventionState,
    facts: &GuardFacts,
) -> Result<(), Refusal> {
    who(actor, action, facts)?;
    when(actor, action, state, facts)
}

/// The actions `actor` may take now, in the order of [`ACTIONS`]: what the pages offer.
///
/// ```
/// use convention_flux::domain::convention::{Action, ConventionState, Role};
/// use convention_flux::domain::permission::{allowed_actions, Actor, GuardFacts};
///
/// let observer = Actor { role: Role::Observer, party: String::new(), kind: None };
/// let now = allowed_actions(&observer, ConventionState::Concertation, &GuardFacts::default());
/// assert_eq!(now, vec![Action::Read]);
/// ```
pub fn allowed_actions(actor: &Actor, state: ConventionState, facts: &GuardFacts) -> Vec<Action> {
    ACTIONS
        .into_iter()
        .filter(|&a| permission(actor, a, state, facts).is_ok())
        .collect()
}

/// Who: the role matrix, then the party the action concerns.
fn who(actor: &Actor, action: Action, facts: &GuardFacts) -> Result<(), Refusal> {
    if !actor.role.allows(action) {
        return Err(Refusal::Forbidden(format!(
            "action refusée : votre rôle dans cette convention ({}) ne permet pas {}",
            actor.role.label(),
            de(&action.label())
        )));
    }
    match action {
        // The bailleur's patrimoine is the bailleur's: only the members who speak for it load
        // its files, never the secretariat (which could otherwise rewrite the data another
        // EPCI's conventions read).
        Action::ImportPatrimoine if !actor.is_bailleur() => Err(Refusal::Forbidden(
            "seuls les membres du bailleur (partie « bailleur » de la convention) chargent ses fichiers : le patrimoine du bailleur n'est modifié que par lui".into(),
        )),
        Action::EditProposal => match &facts.proposal_party {
            Some(party) if *party != actor.party => Err(Refusal::Forbidden(format!(
                "action refusée : vous représentez « {} », pas « {party} »",
                actor.party
            ))),
            _ => Ok(()),
        },
        Action::Transition(t @ (Transition::Approve | Transition::Refuse))
            if !actor.is_state() =>
        {
            Err(Refusal::Forbidden(format!(
                "action refusée : seul un signataire représentant l'État (préfet) peut {} ; vous représentez « {} »",
                t.label().trim_end_matches(" (préfet)"),
                actor.party
            )))
        }
        Action::Resolve => match &facts.thread {
            Some(t) if t.objection && t.party != actor.party => Err(Refusal::Forbidden(format!(
                "seule la partie « {} » peut lever son objection (le secrétariat peut passer outre en motivant)",
                t.party
            ))),
            Some(t) if !t.objection && !t.by_actor && actor.role != Role::Secretariat => Err(
                Refusal::Forbidden("seul l'auteur ou le secrétariat peut clore ce commentaire".into()),
            ),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// When: the state of the lifecycle and its guards.
fn when(
    actor: &Actor,
    action: Action,
    state: ConventionState,
    facts: &GuardFacts,
) -> Result<(), Refusal> {
    use ConventionState as S;
    let closed_exchanges = || {
        Refusal::Conflict(format!(
            "la convention est {} : les échanges sont clos",
            state.label()
        ))
    };
    match action {
        Action::Read => Ok(()),
        Action::EditDraft if !state.accepts_new_version() => Err(Refusal::Conflict(format!(
            "la convention est {} : aucune modification n'est possible{}",
            state.label(),
            if state.is_signed() {
                " (ouvrez un avenant)"
            } else {
                ""
            }
        ))),
        Action::EditDraft => Ok(()),
        Action::InviteMember | Action::ImportPatrimoine if state == S::Abandonnee => {
            Err(Refusal::Conflict(format!(
                "la convention est abandonnée : impossible {}",
                de(&action.label())
            )))
        }
        Action::InviteMember | Action::ImportPatrimoine => Ok(()),
        Action::EditProposal if state != S::Concertation => Err(Refusal::Conflict(format!(
            "les propositions se font pendant la concertation ; la convention est {}",
            state.label()
        ))),
        Action::EditProposal => Ok(()),
        Action::Comment | Action::Object | Action::Resolve | Action::OverruleObjection => {
            if state.is_signed() || state == S::Abandonnee {
                return Err(closed_exchanges());
            }
            match &facts.thread {
                Some(t) if action != Action::Comment && action != Action::Object && !t.open => Err(
                    Refusal::Conflict(format!("le commentaire n° {} est déjà clos", t.id)),
                ),
                _ => Ok(()),
            }
        }
        Action::Consolidate => next_state(state, Transition::Consolidate, facts)
            .map(drop)
            .map_err(Refusal::from),
        Action::Transition(t) => next_state(state, t, facts).map(drop).map_err(Refusal::from),
        Action::Remind => match state {
            S::Concertation => Ok(()),
            S::Signature if facts.round_open => Ok(()),
            S::Signature => Err(Refusal::Conflict(
                "rien à relancer : aucun tour de signature n'est ouvert".into(),
            )),
            _ => Err(Refusal::Conflict(format!(
                "rien à relancer : la convention est {} (on relance une partie pour sa proposition pendant la concertation, pour sa signature pendant la signature)",
                state.label()
            ))),
        },
        Action::SetDeadline if state == S::Signature && facts.round_open => Ok(()),
        Action::SetDeadline => Err(Refusal::Conflict(format!(
            "aucun tour de signature n'est ouvert (la convention est {}) : l'échéance se fixe pendant la signature",
            state.label()
        ))),
        Action::Sign => {
            if state != S::Signature || !facts.round_open {
                return Err(Refusal::Conflict(format!(
                    "aucun tour de signature n'est ouvert (la convention est {})",
                    state.label()
                )));
            }
            if !facts.round_requires_party {
                return Err(Refusal::Forbidden(format!(
                    "la signature de « {} » n'est pas requise dans ce tour",
                    actor.party
                )));
            }
            if facts.party_signed {
                return Err(Refusal::Conflict(format!(
                    "« {} » a déjà signé cette version",
                    actor.party
                )));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
