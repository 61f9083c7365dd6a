//! The convention's lifecycle (DESIGN §3) as a pure state machine with guards, and the
//! per-convention roles; `super::permission` combines them into the one answer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::permission::{Actor, GuardFacts, PartyKind, Refusal, de, permission};

/// Where a convention stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConventionState {
    Brouillon,
    Concertation,
    Arbitrage,
    Signature,
    Signee,
    EnVigueur,
    Abandonnee,
}

impl ConventionState {
    pub const ALL: [ConventionState; 7] = [
        Self::Brouillon,
        Self::Concertation,
        Self::Arbitrage,
        Self::Signature,
        Self::Signee,
        Self::EnVigueur,
        Self::Abandonnee,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Brouillon => "brouillon",
            Self::Concertation => "concertation",
            Self::Arbitrage => "arbitrage",
            Self::Signature => "signature",
            Self::Signee => "signee",
            Self::EnVigueur => "en_vigueur",
            Self::Abandonnee => "abandonnee",
        }
    }

    /// The state as a French reader sees it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Brouillon => "brouillon",
            Self::Concertation => "en concertation",
            Self::Arbitrage => "en arbitrage",
            Self::Signature => "en signature",
            Self::Signee => "signée",
            Self::EnVigueur => "en vigueur",
            Self::Abandonnee => "abandonnée",
        }
    }

    /// Signed (or in force): nothing changes any more except through an avenant.
    pub const fn is_signed(self) -> bool {
        matches!(self, Self::Signee | Self::EnVigueur)
    }

    /// A new version of substance may be created in this state.
    pub const fn accepts_new_version(self) -> bool {
        matches!(
            self,
            Self::Brouillon | Self::Concertation | Self::Arbitrage | Self::Signature
        )
    }
}

impl fmt::Display for ConventionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConventionState {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// Where a signing round stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoundStatus {
    Ouverte,
    /// Every required party signed.
    Terminee,
    /// Voided by a new version, a cancellation or a transition.
    Annulee,
}

impl RoundStatus {
    pub const ALL: [RoundStatus; 3] = [Self::Ouverte, Self::Terminee, Self::Annulee];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ouverte => "ouverte",
            Self::Terminee => "terminee",
            Self::Annulee => "annulee",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Self::Ouverte => "ouvert",
            Self::Terminee => "terminé",
            Self::Annulee => "annulé",
        }
    }
}

impl FromStr for RoundStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

impl fmt::Display for RoundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a comment or an objection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommentStatus {
    Ouvert,
    /// Closed by its author or the secretariat; an objection lifted by its party.
    Resolu,
    /// An objection the secretariat set aside, with a recorded reason.
    PasseOutre,
}

impl CommentStatus {
    pub const ALL: [CommentStatus; 3] = [Self::Ouvert, Self::Resolu, Self::PasseOutre];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ouvert => "ouvert",
            Self::Resolu => "resolu",
            Self::PasseOutre => "passe_outre",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Self::Ouvert => "ouvert",
            Self::Resolu => "résolu",
            Self::PasseOutre => "passé outre",
        }
    }
}

impl FromStr for CommentStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

impl fmt::Display for CommentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member's role in one convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The CIL secretariat (EPCI staff): runs the convention.
    Secretariat,
    /// Works on its party's proposal, comments and objects.
    Contributor,
    /// Does what a contributor does and signs for its party.
    Signatory,
    /// Reads.
    Observer,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Self::Secretariat,
        Self::Contributor,
        Self::Signatory,
        Self::Observer,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Secretariat => "secretariat",
            Self::Contributor => "contributor",
            Self::Signatory => "signatory",
            Self::Observer => "observer",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Self::Secretariat => "secrétariat de la CIL",
            Self::Contributor => "contributeur",
            Self::Signatory => "signataire",
            Self::Observer => "observateur",
        }
    }

    /// Roles that speak for a party (a réservataire or the bailleur).
    pub const fn represents_party(self) -> bool {
        matches!(self, Self::Contributor | Self::Signatory)
    }

    /// Whether a member in this role may sign for `party`: a signatory for its own party; the
    /// CIL's secretariat for the EPCI (party `secretariat`), which signs the convention as the
    /// leader of demand management and attributions (RULES.md §5).
    pub fn signs_for(self, party: &str) -> bool {
        match self {
            Self::Signatory => party != "secretariat",
            Self::Secretariat => party == "secretariat",
            Self::Contributor | Self::Observer => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// Everything a caller may try on a convention. Whether it may, now, is `permission`'s answer
/// (`super::permission`); `Role::allows` is its first question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    /// Objectives, clauses and segments: the secretariat's draft.
    EditDraft,
    InviteMember,
    /// Save or publish the caller's own party's proposal.
    EditProposal,
    Consolidate,
    Comment,
    Object,
    /// Close a plain comment (its author or the secretariat) or lift an objection (its party).
    Resolve,
    OverruleObjection,
    Transition(Transition),
    Sign,
    /// Load the bailleur's own files (patrimoine, stock, releases, exclusions).
    ImportPatrimoine,
    /// Remind a party now (e-mail through the outbox): to publish its proposal during the
    /// concertation, to sign during the signature.
    Remind,
    /// Set or move the deadline of the open signing round.
    SetDeadline,
}

/// The party that stands for the bailleur in every convention.
pub const BAILLEUR_PARTY: &str = "bailleur";

impl Action {
    pub fn label(self) -> String {
        match self {
            Self::Read => "consulter la convention".into(),
            Self::EditDraft => "modifier les objectifs ou les clauses".into(),
            Self::InviteMember => "inviter un membre".into(),
            Self::EditProposal => "modifier ou publier la proposition d'une partie".into(),
            Self::Consolidate => "consolider une version".into(),
            Self::Comment => "commenter".into(),
            Self::Object => "formuler une objection".into(),
            Self::Resolve => "clore un commentaire ou lever une objection".into(),
            Self::OverruleObjection => "passer outre une objection".into(),
            Self::Transition(t) => t.label().into(),
            Self::Sign => "signer".into(),
            Self::ImportPatrimoine => "charger les fichiers du bailleur".into(),
            Self::Remind => "relancer une partie".into(),
            Self::SetDeadline => "fixer l'échéance de la signature".into(),
        }
    }
}

impl Role {
    /// The authorization matrix: may a member with this role attempt `action`? (Whether the
    /// convention's state allows it is the lifecycle's business.)
    pub const fn allows(self, action: Action) -> bool {
        use Action as A;
        match self {
            Self::Secretariat => matches!(
                action,
                A::Read
                    | A::EditDraft
                    | A::InviteMember
                    | A::Consolidate
                    | A::Comment
                    | A::Resolve
                    | A::OverruleObjection
                    | A::Remind
                    | A::SetDeadline
                    | A::Sign
                    | A::Transition(
                        Transition::Open
                            | Transition::Consolidate
                            | Transition::Reopen
                            | Transition::OpenSigning
                            | Transition::CancelSigning
                            | Transition::Avenant
                            | Transition::Abandon
                    )
            ),
            Self::Contributor => matches!(
                action,
                A::Read
                    | A::EditProposal
                    | A::Comment
                    | A::Object
                    | A::Resolve
                    | A::ImportPatrimoine
            ),
            Self::Signatory => matches!(
                action,
                A::Read
                    | A::ImportPatrimoine
                    | A::EditProposal
                    | A::Comment
                    | A::Object
                    | A::Resolve
                    | A::Sign
                    | A::Transition(Transition::Approve | Transition::Refuse)
            ),
            Self::Observer => matches!(action, A::Read),
        }
    }
}

/// The caller's standing in one convention, resolved once per request from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub user_id: i64,
    pub convention_id: i64,
    pub role: Role,
    /// The party the member speaks for (`etat`, `bailleur`, …); `secretariat` for the
    /// secretariat, empty for an observer.
    pub party: String,
    /// What that party is (`None` for an observer).
    pub kind: Option<PartyKind>,
    /// The convention's state when the access was read.
    pub state: ConventionState,
}

impl Access {
    pub fn actor(&self) -> Actor {
        Actor {
            role: self.role,
            party: self.party.clone(),
            kind: self.kind,
        }
    }

    /// `permission` for this member, in the state read with the access.
    pub fn permits(&self, action: Action, facts: &GuardFacts) -> Result<(), Refusal> {
        permission(&self.actor(), action, self.state, facts)
    }

    /// `permits` without facts: enough for the actions whose guards need none (read, edit
    /// the draft, invite, import the bailleur's files).
    pub fn require(&self, action: Action) -> Result<(), Refusal> {
        self.permits(action, &GuardFacts::default())
    }

    /// Only the members who speak for the bailleur load its files.
    pub fn require_patrimoine_import(&self) -> Result<(), Refusal> {
        self.require(Action::ImportPatrimoine)
    }
}

/// A transition of DESIGN §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Open,
    Consolidate,
    Reopen,
    OpenSigning,
    CancelSigning,
    /// Not requested by anyone: the last required signature causes it.
    LastSignature,
    Approve,
    Refuse,
    Avenant,
    Abandon,
}

impl Transition {
    pub const fn label(self) -> &'static str {
        match self {
            Self::Open => "ouvrir la concertation",
            Self::Consolidate => "consolider une version pour l'arbitrage",
            Self::Reopen => "rouvrir la concertation",
            Self::OpenSigning => "ouvrir la signature",
            Self::CancelSigning => "annuler le tour de signature",
            Self::LastSignature => "constater la dernière signature",
            Self::Approve => "approuver la convention signée (préfet)",
            Self::Refuse => "refuser l'approbation (préfet)",
            Self::Avenant => "ouvrir un avenant",
            Self::Abandon => "abandonner la convention",
        }
    }
}

/// A transition refused by the lifecycle, with the reason in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LifecycleError(pub String);

/// The state after `transition` from `state`, or why it is not allowed now.
pub fn next_state(
    state: ConventionState,
    transition: Transition,
    facts: &GuardFacts,
) -> Result<ConventionState, LifecycleError> {
    use ConventionState as S;
    use Transition as T;
    let refuse = |why: &str| {
        Err(LifecycleError(format!(
            "impossible {} : {why}",
            de(transition.label())
        )))
    };
    let wrong_state = || {
        Err(LifecycleError(format!(
            "impossible {} : la convention est {}",
            de(transition.label()),
            state.label()
        )))
    };
    match (transition, state) {
        (T::Open, S::Brouillon) => {
            if !facts.has_version {
                return refuse("aucune version (segments et objectifs) n'a encore été établie");
            }
            Ok(S::Concertation)
        }
        (T::Consolidate, S::Concertation | S::Arbitrage) => {
            if !facts.has_version {
                return refuse("aucune version à consolider");
            }
            Ok(S::Arbitrage)
        }
        (T::Reopen, S::Arbitrage | S::Signature) => Ok(S::Concertation),
        (T::OpenSigning, S::Arbitrage) => {
            if facts.blocking_violations > 0 {
                return refuse(&format!(
                    "le rapport du solveur de la version courante compte {} manquement(s) bloquant(s)",
                    facts.blocking_violations
                ));
            }
            if facts.open_objections > 0 {
                return refuse(&format!(
                    "{} objection(s) restent ouvertes : faites-les lever ou passez outre en motivant",
                    facts.open_objections
                ));
            }
            Ok(S::Signature)
        }
        (T::CancelSigning, S::Signature) => Ok(S::Arbitrage),
        (T::LastSignature, S::Signature) => {
            if !facts.all_signed {
                return refuse("toutes les parties requises n'ont pas signé");
            }
            Ok(S::Signee)
        }
        (T::Approve | T::Refuse, S::Signee) => {
            if !facts.approval_required {
                return refuse("la politique n'exige pas l'approbation du préfet");
            }
            Ok(if transition == T::Approve {
                S::EnVigueur
            } else {
                S::Brouillon
            })
        }
        (T::Avenant, S::Signee | S::EnVigueur) => Ok(S::Brouillon),
        (T::Abandon, s) if !s.is_signed() && s != S::Abandonnee => Ok(S::Abandonnee),
        _ => wrong_state(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConventionState as S;
    use Transition as T;

    fn ready() -> GuardFacts {
        GuardFacts {
            has_version: true,
            approval_required: true,
            ..GuardFacts::default()
        }
    }

    #[test]
    fn the_happy_path_of_design_section_3() {
        let f = ready();
        let mut s = S::Brouillon;
        for t in [T::Open, T::Consolidate, T::OpenSigning] {
            s = next_state(s, t, &f).unwrap();
        }
        assert_eq!(s, S::Signature);
        let signed = GuardFacts {
            all_signed: true,
            ..ready()
        };
        s = next_state(s, T::LastSignature, &signed).unwrap();
        assert_eq!(s, S::Signee);
        assert_eq!(next_state(s, T::Approve, &ready()), Ok(S::EnVigueur));
        assert_eq!(next_state(s, T::Refuse, &ready()), Ok(S::Brouillon));
        assert_eq!(next_state(S::EnVigueur, T::Avenant, &f), Ok(S::Brouillon));
    }

    #[test]
    fn guards_name_what_is_missing() {
        let none = GuardFacts::default();
        let e = next_state(S::Brouillon, T::Open, &none).unwrap_err();
        assert!(e.0.contains("aucune version"), "{e}");
        assert!(
            e.0.starts_with("impossible d'ouvrir la concertation"),
            "{e}"
        );
        let breach = GuardFacts {
            blocking_violations: 2,
            ..ready()
        };
        let e = next_state(S::Arbitrage, T::OpenSigning, &breach).unwrap_err();
        assert!(e.0.contains("2 manquement(s) bloquant(s)"), "{e}");
        let objection = GuardFacts {
            open_objections: 1,
            ..ready()
        };
        let e = next_state(S::Arbitrage, T::OpenSigning, &objection).unwrap_err();
        assert!(e.0.contains("1 objection(s)"), "{e}");
        let e = next_state(S::Signature, T::LastSignature, &ready()).unwrap_err();
        assert!(e.0.contains("n'ont pas signé"), "{e}");
        let e = next_state(S::Signee, T::Approve, &GuardFacts::default()).unwrap_err();
        assert!(e.0.contains("n'exige pas l'approbation"), "{e}");
    }

    #[test]
    fn transitions_from_the_wrong_state_are_refused() {
        let f = GuardFacts {
            all_signed: true,
            ..ready()
        };
        for state in S::ALL {
            for t in [
                T::Open,
                T::Consolidate,
                T::Reopen,
                T::OpenSigning,
                T::CancelSigning,
                T::LastSignature,
                T::Approve,
                T::Refuse,
                T::Avenant,
                T::Abandon,
            ] {
                let allowed = matches!(
                    (t, state),
                    (T::Open, S::Brouillon)
                        | (T::Consolidate, S::Concertation | S::Arbitrage)
                        | (T::Reopen, S::Arbitrage | S::Signature)
                        | (T::OpenSigning, S::Arbitrage)
                        | (T::CancelSigning | T::LastSignature, S::Signature)
                        | (T::Approve | T::Refuse, S::Signee)
                        | (T::Avenant, S::Signee | S::EnVigueur)
                        | (
                            T::Abandon,
                            S::Brouillon | S::Concertation | S::Arbitrage | S::Signature
                        )
                );
                let result = next_state(state, t, &f);
                assert_eq!(result.is_ok(), allowed, "{t:?} from {state:?}: {result:?}");
                if let Err(e) = result {
                    assert!(e.0.contains(state.label()), "{e}");
                }
            }
        }
    }

    #[test]
    fn states_and_roles_round_trip_through_text() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("signée".parse::<S>().is_err());
        for r in RoundStatus::ALL {
            assert_eq!(r.as_str().parse::<RoundStatus>(), Ok(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        for c in CommentStatus::ALL {
            assert_eq!(c.as_str().parse::<CommentStatus>(), Ok(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(
            serde_json::to_value(S::EnVigueur).unwrap(),
            S::EnVigueur.as_str()
        );
        assert_eq!(CommentStatus::PasseOutre.as_str(), "passe_outre");
        assert!("ouvert".parse::<RoundStatus>().is_err());
    }
}
