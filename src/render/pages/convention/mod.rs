//! The view models of a convention's workspace: one page per concern (DESIGN §5), a side menu
//! shared by all of them, and the two decisions every page needs made once — which actions the
//! caller is offered ([`permissions`]) and the blocking breaches of the stored solver report
//! ([`blocking`]).

pub mod discussion;
pub mod members;
pub mod objectives;
pub mod overview;
pub mod proposals;
pub mod report;
pub mod share;
pub mod signatures;
pub mod table;
pub mod timeline;
pub mod versions;

use std::collections::HashMap;

use serde::Serialize;

use crate::flux::solver::stored::StoredReport;
use crate::policy::rules::Severity;

use crate::domain::convention::{
    Action, CommentStatus, ConventionState, Role, RoundStatus, Transition,
};
use crate::domain::permission::{Actor, GuardFacts, ThreadFacts, permission};
use crate::flux::row::NON_RESERVE;
use crate::services::conventions::{Caller, ConventionView};
use crate::store::conventions::CommentRow;

/// The pages of the workspace, in the order of the side menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Overview,
    Proposals,
    Share,
    Report,
    Table,
    Discussion,
    Signatures,
    Versions,
    Timeline,
}

impl Page {
    pub const ALL: [Page; 9] = [
        Self::Overview,
        Self::Proposals,
        Self::Share,
        Self::Report,
        Self::Table,
        Self::Discussion,
        Self::Signatures,
        Self::Versions,
        Self::Timeline,
    ];

    pub const fn label(self) -> &'static str {
        match self {
            Self::Overview => "Vue d'ensemble",
            Self::Proposals => "Propositions",
            Self::Share => "D'où vient ma part",
            Self::Report => "Rapport",
            Self::Table => "Tableau des flux",
            Self::Discussion => "Discussion",
            Self::Signatures => "Signatures",
            Self::Versions => "Versions",
            Self::Timeline => "Chronologie",
        }
    }

    /// The page's address below `/conventions/{id}`.
    pub const fn suffix(self) -> &'static str {
        match self {
            Self::Overview => "",
            Self::Proposals => "/propositions",
            Self::Share => "/ma-part",
            Self::Report => "/rapport",
            Self::Table => "/tableau",
            Self::Discussion => "/discussion",
            Self::Signatures => "/signatures",
            Self::Versions => "/versions",
            Self::Timeline => "/chronologie",
        }
    }

    pub fn path(self, id: i64) -> String {
        format!("/conventions/{id}{}", self.suffix())
    }
}

#[derive(Debug, Serialize)]
pub struct MenuItem {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// What every page of the workspace shows around its own content: the heading, the badges, the
/// side menu with the current page marked, and the actions the caller is offered.
#[derive(Debug, Serialize)]
pub struct Workspace {
    pub id: i64,
    pub title: String,
    pub page: &'static str,
    pub state: &'static str,
    /// « signataire pour Préfet du Rhône », « secrétariat de la CIL »…
    pub you: String,
    pub version: Option<i64>,
    pub locked: bool,
    pub menu: Vec<MenuItem>,
    pub csrf: String,
    pub can: Permissions,
}

pub fn workspace(view: &ConventionView, caller: &Caller, csrf: &str, page: Page) -> Workspace {
    let id = view.convention.id;
    Workspace {
        id,
        title: view.convention.title.clone(),
        page: page.label(),
        state: state_of(view).label(),
        you: role_in_words(view.your_role, &party_name(view, &view.your_party)),
        version: view.current_version.as_ref().map(|v| v.number),
        locked: view.current_version.as_ref().is_some_and(|v| v.locked),
        menu: Page::ALL
            .iter()
            .map(|&p| MenuItem {
                label: p.label(),
                href: p.path(id),
                current: p == page,
            })
            .collect(),
        csrf: csrf.to_owned(),
        can: permissions(view, caller),
    }
}

pub fn state_of(view: &ConventionView) -> ConventionState {
    view.convention.state
}

/// A role as its holder reads it, with the party it speaks for.
pub fn role_in_words(role: Role, party_name: &str) -> String {
    if role.represents_party() {
        format!("{} pour {party_name}", role.label())
    } else {
        role.label().to_owned()
    }
}

/// The name of a party or of a row of the table, never its id (the bailleur's own row
/// included).
pub fn party_name(view: &ConventionView, party: &str) -> String {
    if party == NON_RESERVE {
        return "Flux non réservé (bailleur)".into();
    }
    view.parties
        .iter()
        .find(|x| x.party == party)
        .map_or_else(|| party.to_owned(), |x| x.name.clone())
}

/// A stored text (a version's reason…) with each quoted party id, « etat », replaced by the
/// party's name.
pub fn with_party_names(view: &ConventionView, text: &str) -> String {
    let mut out = text.to_owned();
    for x in &view.parties {
        out = out.replace(&format!("« {} »", x.party), &x.name);
    }
    out
}

/// The parties' names by id, for pages that name many of them.
pub fn party_names(view: &ConventionView) -> HashMap<String, String> {
    let mut names: HashMap<String, String> = view
        .parties
        .iter()
        .map(|x| (x.party.clone(), x.name.clone()))
        .collect();
    names.insert(NON_RESERVE.into(), "Flux non réservé (bailleur)".into());
    names
}

/// Does `party` speak for the State (the préfet, who approves)? Known by the réservataire's
/// kind, never by its id.
pub fn is_state_party(view: &ConventionView, party: &str) -> bool {
    use crate::domain::ReservataireKind as K;
    view.parties.iter().any(|x| {
        x.party == party
            && matches!(
                x.reservataire_kind.parse::<K>(),
                Ok(K::Etat | K::EtatFonctionnaires)
            )
    })
}

/// The open signing round, if any.
pub fn open_round(view: &ConventionView) -> Option<&crate::store::conventions::RoundRow> {
    view.rounds
        .iter()
        .find(|r| r.status == RoundStatus::Ouverte)
}

/// The actions a caller is offered on the pages, as the domain's one rule
/// ([`crate::domain::permission::permission`]) answers for this caller, state and facts: the
/// templates show a form when its flag is set, and the services ask the same rule again on
/// submission. Two facts are left out of the offer on purpose: blocking breaches and open
/// objections. The secretariat still sees « Ouvrir la signature » and is told, in French, what
/// stands in the way when it tries.
#[derive(Debug, Clone, Serialize)]
pub struct Permissions {
    pub edit_objectives: bool,
    pub refresh_assiette: bool,
    pub import_files: bool,
    pub invite: bool,
    pub open: bool,
    pub consolidate: bool,
    pub reopen: bool,
    pub open_signing: bool,
    pub cancel_signing: bool,
    pub avenant: bool,
    pub abandon: bool,
    pub approve: bool,
    pub propose: bool,
    pub comment: bool,
    pub object: bool,
    pub sign: bool,
    pub overrule: bool,
    /// « Relancer » a party (which party may be reminded is each line's business).
    pub remind: bool,
    /// Set or move the open round's deadline.
    pub set_deadline: bool,
    /// The secretariat sees every party's proposal; a party sees its own form.
    pub see_all_proposals: bool,
    #[serde(skip)]
    actor: Actor,
    #[serde(skip)]
    state: ConventionState,
    #[serde(skip)]
    facts: GuardFacts,
    #[serde(skip)]
    user_id: i64,
}

/// Nothing offered: what an observer of a draft is shown.
impl Default for Permissions {
    fn default() -> Self {
        Self {
            edit_objectives: false,
            refresh_assiette: false,
            import_files: false,
            invite: false,
            open: false,
            consolidate: false,
            reopen: false,
            open_signing: false,
            cancel_signing: false,
            avenant: false,
            abandon: false,
            approve: false,
            propose: false,
            comment: false,
            object: false,
            sign: false,
            overrule: false,
            remind: false,
            set_deadline: false,
            see_all_proposals: true,
            actor: Actor {
                role: Role::Observer,
                party: String::new(),
                kind: None,
            },
            state: ConventionState::Brouillon,
            facts: GuardFacts::default(),
            user_id: 0,
        }
    }
}

impl Permissions {
    fn on_thread(&self, action: Action, comment: &CommentRow) -> bool {
        let facts = GuardFacts {
            thread: Some(ThreadFacts {
                id: comment.id,
                objection: comment.objection,
                party: comment.party.clone(),
                by_actor: comment.author_id == self.user_id,
                open: comment.status == CommentStatus::Ouvert,
            }),
            ..self.facts.clone()
        };
        permission(&self.actor, action, self.state, &facts).is_ok()
    }

    /// May the caller close this comment (its author or the secretariat) or lift this objection
    /// (a member of the objecting party)?
    pub fn may_resolve(&self, comment: &CommentRow) -> bool {
        self.on_thread(Action::Resolve, comment)
    }

    pub fn may_overrule(&self, comment: &CommentRow) -> bool {
        self.on_thread(Action::OverruleObjection, comment)
    }
}

/// Which actions `caller` is offered on `view`: the domain's rule, asked once per action.
pub fn permissions(view: &ConventionView, caller: &Caller) -> Permissions {
    let state = state_of(view);
    let facts = GuardFacts {
        blocking_violations: 0,
        open_objections: 0,
        ..view.facts.clone()
    };
    let may = |action: Action| permission(&view.actor, action, state, &facts).is_ok();
    let role = view.your_role;
    Permissions {
        edit_objectives: may(Action::EditDraft),
        refresh_assiette: may(Action::EditDraft),
        import_files: may(Action::ImportPatrimoine),
        invite: may(Action::InviteMember),
        open: may(Action::Transition(Transition::Open)),
        consolidate: may(Action::Consolidate),
        reopen: may(Action::Transition(Transition::Reopen)),
        open_signing: may(Action::Transition(Transition::OpenSigning)),
        cancel_signing: may(Action::Transition(Transition::CancelSigning)),
        avenant: may(Action::Transition(Transition::Avenant)),
        abandon: may(Action::Transition(Transition::Abandon)),
        approve: may(Action::Transition(Transition::Approve)),
        propose: may(Action::EditProposal),
        comment: may(Action::Comment),
        object: may(Action::Object),
        sign: may(Action::Sign),
        overrule: may(Action::OverruleObjection),
        remind: may(Action::Remind),
        set_deadline: may(Action::SetDeadline),
        see_all_proposals: !role.represents_party(),
        actor: view.actor.clone(),
        state,
        facts,
        user_id: caller.user.id,
    }
}

/// The blocking breaches of a stored report.
pub fn blocking(report: &StoredReport) -> usize {
    report
        .violations
        .iter()
        .filter(|v| v.severity == Severity::Bloquant)
        .count()
}

/// A decimal as the French write it: a comma, no trailing zeros.
pub fn french_decimal(value: &str) -> String {
    let value = value.trim();
    let value = if value.contains('.') {
        value.trim_end_matches('0').trim_end_matches('.')
    } else {
        value
    };
    value.replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::french_decimal;

    #[test]
    fn decimals_are_written_with_a_comma() {
        assert_eq!(french_decimal("25.50"), "25,5");
        assert_eq!(french_decimal("30"), "30");
        assert_eq!(french_decimal("12.00"), "12");
    }
}
