//! What every form of the pages shares when an entry is refused: the error shown at each field
//! at fault (DSFR error state), read from the service's refusal when it names a field.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::text::sentence;
use crate::services::ServiceError;
use crate::store::StoreError;

/// The error at each field of a form, by the field's name in the template.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    /// `field` is refused for `problem` (a fragment, shown as a sentence).
    pub fn set(&mut self, field: &'static str, problem: &str) {
        self.0.insert(field, sentence(problem));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
}

/// The field of a form that `error` is about, when the service names it the way every check
/// of the services words its refusals: « label : what is wrong ». `fields` pairs each label
/// with the field's name in the form. `None` for a refusal that is not about a field (the
/// state, a permission): the page shows that one in its banner.
pub fn field_of(error: &ServiceError, fields: &[(&str, &'static str)]) -> Option<&'static str> {
    let text = match error {
        ServiceError::Invalid(m) => m.clone(),
        ServiceError::Store(StoreError::Constraint { field: Some(f), .. }) => f.message(),
        _ => return None,
    };
    fields
        .iter()
        .find(|(label, _)| {
            text.strip_prefix(label)
                .is_some_and(|rest| rest.starts_with(" : "))
        })
        .map(|(_, field)| *field)
}

/// A choice of a `<select>`, with the one the entry holds marked.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: &str, label: &str, entry: &str) -> Self {
        Self {
            value: value.to_owned(),
            label: label.to_owned(),
            selected: value == entry,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FieldErrors, field_of};
    use crate::services::ServiceError;

    #[test]
    fn a_refusal_that_names_a_field_goes_to_it() {
        let fields = [("adresse électronique", "email"), ("mandat", "mandate")];
        let invalid = ServiceError::Invalid("adresse électronique : « x » n'est pas…".into());
        assert_eq!(field_of(&invalid, &fields), Some("email"));
        let long = ServiceError::Invalid("mandat : 600 caractères, au plus 500".into());
        assert_eq!(field_of(&long, &fields), Some("mandate"));
        // A label must be whole: « mandataire : … » is not about « mandat ».
        let other = ServiceError::Invalid("mandataire : inconnu".into());
        assert_eq!(field_of(&other, &fields), None);
        let refused = ServiceError::Forbidden("adresse électronique : refusée".into());
        assert_eq!(
            field_of(&refused, &fields),
            None,
            "a permission is no field"
        );
        let mut errors = FieldErrors::default();
        errors.set("email", "adresse électronique : obligatoire");
        assert_eq!(
            errors.get("email"),
            Some("Adresse électronique : obligatoire.")
        );
    }
}
