//! Password policy and argon2id hashing.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, password_hash::Salt};

use super::{AuthError, PasswordRule, random_bytes};

/// Length rather than composition rules: NIST SP 800-63B and the ANSSI recommend long
/// passphrases over forced character classes.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Generous for passphrases and password managers, but bounded so that a request cannot make
/// the server hash megabytes.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A well-formed argon2id hash with `Argon2::default()` parameters and an all-zero output that
/// no password produces in practice. Verifying against it runs the full argon2 computation, so
/// it costs the same as verifying a real account and the login time does not reveal whether an
/// e-mail is registered. A test checks that its parameters still equal the crate's defaults.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Checks the length rules; counts characters, not bytes, so accented letters count once.
pub fn check_password_policy(password: &str) -> Result<(), AuthError> {
    let chars = password.chars().count();
    let rule = if chars < MIN_PASSWORD_CHARS {
        Some(PasswordRule::TooShort)
    } else if chars > MAX_PASSWORD_CHARS {
        Some(PasswordRule::TooLong)
    } else if password.chars().all(char::is_whitespace) {
        Some(PasswordRule::OnlySpaces)
    } else {
        None
    };
    rule.map_or(Ok(()), |rule| Err(AuthError::WeakPassword(rule)))
}

/// argon2id with the crate's default (OWASP-recommended) parameters, as a PHC string that
/// carries its own algorithm, parameters and salt, so that parameters can be raised later
/// without invalidating stored hashes. CPU-heavy: from async code use [`hash_password_async`].
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt_bytes = random_bytes::<{ Salt::RECOMMENDED_LENGTH }>()?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| AuthError::Hashing(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

/// `false` on a wrong password and also on a stored hash that cannot be read: a corrupt row
/// must lock the account out, never let anyone in nor crash the request. The parameters are
/// taken from the stored hash itself. CPU-heavy: from async code use [`verify_password_async`].
#[must_use]
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// [`hash_password`] on tokio's blocking pool: a hash takes tens of milliseconds of CPU, which
/// would stall every other request served by the same executor thread.
pub async fn hash_password_async(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AuthError::BlockingTask(e.to_string()))?
}

/// [`verify_password`] on tokio's blocking pool (see [`hash_password_async`]); a cancelled or
/// panicked task counts as a mismatch.
#[must_use]
pub async fn verify_password_async(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false)
}

/// The hash to verify when the e-mail is unknown (see [`DUMMY_HASH`]); no password matches it
/// in practice, and the caller must refuse the login whatever the outcome.
pub fn dummy_hash() -> &'static str {
    DUMMY_HASH
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken_rule(password: &str) -> Option<PasswordRule> {
        match check_password_policy(password) {
            Ok(()) => None,
            Err(AuthError::WeakPassword(rule)) => Some(rule),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn policy_counts_characters_and_refuses_blank_passwords() {
        assert_eq!(broken_rule("court"), Some(PasswordRule::TooShort));
        assert_eq!(broken_rule("onzecaract."), Some(PasswordRule::TooShort));
        // 12 characters but 16 bytes: accepted because characters are counted.
        assert_eq!(broken_rule("éléphantéléé"), None);
        assert_eq!(broken_rule(&" ".repeat(20)), Some(PasswordRule::OnlySpaces));
        assert_eq!(broken_rule(&"a".repeat(MAX_PASSWORD_CHARS)), None);
        assert_eq!(
            broken_rule(&"a".repeat(MAX_PASSWORD_CHARS + 1)),
            Some(PasswordRule::TooLong)
        );
        assert_eq!(broken_rule("correct cheval pile agrafe"), None);
    }

    #[test]
    fn weak_password_message_is_french_and_names_the_rule() {
        let err = check_password_policy("court").unwrap_err();
        assert_eq!(
            err.to_string(),
            "mot de passe refusé : le mot de passe doit contenir au moins 12 caractères"
        );
    }

    #[test]
    fn hash_verifies_the_right_password_only() {
        // Default argon2 parameters are slow without optimisation: one hash, two verifications.
        let phc = hash_password("correct cheval pile agrafe").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct cheval pile agrafe", &phc));
        assert!(!verify_password("correct cheval pile agrafé", &phc));
    }

    #[test]
    fn unreadable_hash_is_a_mismatch_not_a_panic() {
        assert!(!verify_password("peu importe", ""));
        assert!(!verify_password("peu importe", "pas un hash"));
        assert!(!verify_password("peu importe", "$argon2id$v=19$m=abc$$"));
    }

    #[test]
    fn dummy_hash_costs_the_same_as_a_real_one_and_matches_nothing() {
        let dummy = PasswordHash::new(dummy_hash()).expect("dummy hash is a valid PHC string");
        assert_eq!(dummy.algorithm, argon2::Algorithm::Argon2id.ident());
        let params = argon2::Params::try_from(&dummy).unwrap();
        let defaults = argon2::Params::default();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (defaults.m_cost(), defaults.t_cost(), defaults.p_cost())
        );
        assert_eq!(
            dummy.hash.map(|output| output.len()),
            Some(
                defaults
                    .output_len()
                    .unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN)
            )
        );
        // A mismatch found by running argon2, not a refusal to read the hash.
        let outcome = Argon2::default().verify_password(b"n'importe quoi", &dummy);
        assert_eq!(outcome, Err(argon2::password_hash::Error::Password));
    }

    #[tokio::test]
    async fn async_variants_run_off_the_executor_and_agree() {
        let phc = hash_password_async("une phrase de passe".to_owned())
            .await
            .unwrap();
        assert!(verify_password_async("une phrase de passe".to_owned(), phc.clone()).await);
        assert!(!verify_password_async("une autre phrase".to_owned(), phc).await);
    }
}
