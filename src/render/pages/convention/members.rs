//! The secretariat's invitation form (on the Vue d'ensemble): the entry as typed, kept when it
//! is refused, with the error at each field at fault.

use serde::{Deserialize, Serialize};

use crate::domain::convention::Role;
use crate::render::pages::forms::{Choice, FieldErrors, field_of};
use crate::services::ServiceError;
use crate::services::conventions::ConventionView;
use crate::services::conventions::members::InvitationRequest;

/// The fields of the invitation form, as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InvitationEntry {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub party: String,
    #[serde(default)]
    pub mandate: String,
}

/// How the services name the fields of an invitation in their refusals.
const FIELDS: [(&str, &str); 6] = [
    ("adresse électronique", "email"),
    ("nom de la personne invitée", "name"),
    ("organisme", "organisation"),
    ("rôle", "role"),
    ("partie représentée", "party"),
    ("mandat", "mandate"),
];

impl InvitationEntry {
    /// The request the entry makes; the role is the only field read here, the service checks
    /// the others.
    pub fn request(&self) -> Result<InvitationRequest, ServiceError> {
        let role = self.role.parse::<Role>().map_err(|()| {
            ServiceError::Invalid("rôle : choisissez un rôle dans la liste".into())
        })?;
        Ok(InvitationRequest {
            email: self.email.clone(),
            name: self.name.clone(),
            organisation: self.organisation.clone(),
            role,
            party: self.party.clone(),
            mandate: self.mandate.clone(),
        })
    }

    /// The error of a refused invitation at its field, or `None` when it is not about one.
    pub fn errors(error: &ServiceError) -> Option<FieldErrors> {
        let field = field_of(error, &FIELDS)?;
        let mut errors = FieldErrors::default();
        errors.set(field, &error.to_string());
        Some(errors)
    }
}

#[derive(Debug, Serialize)]
pub struct InvitationForm {
    pub entry: InvitationEntry,
    pub errors: FieldErrors,
    pub roles: Vec<Choice>,
    pub parties: Vec<Choice>,
}

/// The form with `entry` (empty at first) and its `errors`.
pub fn invitation_form(
    view: &ConventionView,
    entry: InvitationEntry,
    errors: FieldErrors,
) -> InvitationForm {
    let role = if entry.role.is_empty() {
        Role::Signatory.as_str()
    } else {
        entry.role.as_str()
    };
    let roles = [
        (Role::Signatory, "signataire"),
        (Role::Contributor, "contributeur"),
        (Role::Observer, "observateur"),
        (Role::Secretariat, "secrétariat"),
    ]
    .iter()
    .map(|(r, label)| Choice::new(r.as_str(), label, role))
    .collect();
    let mut parties = vec![Choice::new(
        "",
        "aucune (observateur, secrétariat)",
        &entry.party,
    )];
    parties.extend(
        view.parties
            .iter()
            .filter(|x| x.kind != "secretariat")
            .map(|x| Choice::new(&x.party, &x.name, &entry.party)),
    );
    InvitationForm {
        entry,
        errors,
        roles,
        parties,
    }
}
