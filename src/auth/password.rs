//! Password policy and argon2id hashing.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, password_hash::Salt};

use super::{AuthError, PasswordRule, Weakness, random_bytes};

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

/// The strength estimator's lowest accepted score: "safely unguessable" (at least 10¹⁰
/// guesses), the level its authors recommend for accounts worth protecting.
const MIN_STRENGTH: zxcvbn::Score = zxcvbn::Score::Three;
/// A shorter local part ("a@…", "jo@…") would refuse too many unrelated passwords.
const MIN_EMAIL_PART_CHARS: usize = 3;

/// Checks the length rules, then the password's strength with zxcvbn (dictionaries, keyboard
/// patterns, repeats, sequences, dates), knowing the account's `email` and `name` so that a
/// password made of them is refused. Counts characters, not bytes, so accented letters count
/// once. Passphrases pass: NIST SP 800-63B and the ANSSI recommend length and unpredictability
/// over forced character classes.
pub fn check_password_policy(password: &str, email: &str, name: &str) -> Result<(), AuthError> {
    let chars = password.chars().count();
    let rule = if chars < MIN_PASSWORD_CHARS {
        Some(PasswordRule::TooShort)
    } else if chars > MAX_PASSWORD_CHARS {
        Some(PasswordRule::TooLong)
    } else if password.chars().all(char::is_whitespace) {
        Some(PasswordRule::OnlySpaces)
    } else if contains_email(password, email) {
        Some(PasswordRule::ContainsEmail)
    } else {
        guessable(password, email, name).map(PasswordRule::Guessable)
    };
    rule.map_or(Ok(()), |rule| Err(AuthError::WeakPassword(rule)))
}

/// The whole address or its local part, in any case.
fn contains_email(password: &str, email: &str) -> bool {
    let password = password.to_lowercase();
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    (!email.is_empty() && password.contains(&email))
        || (local.chars().count() >= MIN_EMAIL_PART_CHARS && password.contains(local))
}

/// `None` when zxcvbn scores the password at least [`MIN_STRENGTH`]; otherwise the reason.
fn guessable(password: &str, email: &str, name: &str) -> Option<Weakness> {
    let email = email.trim().to_lowercase();
    let name = name.to_lowercase();
    let mut inputs: Vec<&str> = vec![email.as_str()];
    inputs.extend(
        email
            .split(['@', '.', '-', '_', '+'])
            .chain(name.split_whitespace())
            .filter(|part| part.chars().count() >= MIN_EMAIL_PART_CHARS),
    );
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if estimate.score() >= MIN_STRENGTH {
        return None;
    }
    let warning = estimate
        .feedback()
        .and_then(zxcvbn::feedback::Feedback::warning);
    // The estimator's dictionary type is not public: a matched word that is one of the account's
    // inputs tells the same.
    let from_inputs = estimate.sequence().iter().any(|m| {
        matches!(&m.pattern, zxcvbn::matching::patterns::MatchPattern::Dictionary(d)
            if inputs.contains(&d.matched_word.as_str()))
    });
    Some(if from_inputs {
        Weakness::PersonalInformation
    } else {
        warning.map_or(Weakness::FewGuesses, weakness)
    })
}

fn weakness(warning: zxcvbn::feedback::Warning) -> Weakness {
    use zxcvbn::feedback::Warning as W;
    match warning {
        W::StraightRowsOfKeysAreEasyToGuess | W::ShortKeyboardPatternsAreEasyToGuess => {
            Weakness::KeyboardPattern
        }
        W::RepeatsLikeAaaAreEasyToGuess | W::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => {
            Weakness::Repeats
        }
        W::ThisIsATop10Password
        | W::ThisIsATop100Password
        | W::ThisIsACommonPassword
        | W::ThisIsSimilarToACommonlyUsedPassword => Weakness::CommonPassword,
        W::SequencesLikeAbcAreEasyToGuess => Weakness::Sequence,
        W::RecentYearsAreEasyToGuess | W::DatesAreOftenEasyToGuess => Weakness::Date,
        W::AWordByItselfIsEasyToGuess
        | W::NamesAndSurnamesByThemselvesAreEasyToGuess
        | W::CommonNamesAndSurnamesAreEasyToGuess => Weakness::SingleWord,
    }
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
        rule_for(password, "agent@exemple.fr", "Agent Public")
    }

    fn rule_for(password: &str, email: &str, name: &str) -> Option<PasswordRule> {
        match check_password_policy(password, email, name) {
            Ok(()) => None,
            Err(AuthError::WeakPassword(rule)) => Some(rule),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    /// `len` letters and digits that follow no pattern (a fixed linear congruential walk), so
    /// that only the length rules can refuse them.
    fn patternless(len: usize) -> String {
        const ALPHABET: &[u8] = b"bdfhjkmnpqrstvwxzBDFHJKMNPQRSTVWXZ23456789";
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let index = usize::try_from(state >> 33).unwrap() % ALPHABET.len();
                char::from(ALPHABET[index])
            })
            .collect()
    }

    #[test]
    fn policy_counts_characters_and_refuses_blank_passwords() {
        assert_eq!(broken_rule("court"), Some(PasswordRule::TooShort));
        assert_eq!(broken_rule("onzecaract."), Some(PasswordRule::TooShort));
        // 12 characters but 18 bytes: accepted because characters are counted.
        assert_eq!("çàéù-kQz#7éè".len(), 18);
        assert_eq!(broken_rule("çàéù-kQz#7éè"), None);
        assert_eq!(broken_rule(&" ".repeat(20)), Some(PasswordRule::OnlySpaces));
        assert_eq!(broken_rule(&patternless(MAX_PASSWORD_CHARS)), None);
        assert_eq!(
            broken_rule(&patternless(MAX_PASSWORD_CHARS + 1)),
            Some(PasswordRule::TooLong)
        );
        assert_eq!(broken_rule("correct cheval pile agrafe"), None);
    }

    #[test]
    fn guessable_passwords_are_refused_with_the_reason() {
        // Long enough, yet found in few guesses: a repeat, a sequence, a famous password.
        assert_eq!(
            broken_rule("aaaaaaaaaaaa"),
            Some(PasswordRule::Guessable(Weakness::Repeats))
        );
        assert_eq!(
            broken_rule("123456789012"),
            Some(PasswordRule::Guessable(Weakness::Sequence))
        );
        assert_eq!(
            broken_rule("password1234"),
            Some(PasswordRule::Guessable(Weakness::CommonPassword))
        );
        // The passwords the demo and the tests use stay accepted.
        assert_eq!(broken_rule("demo-convention-flux"), None);
        assert_eq!(broken_rule("mot de passe de test 2027"), None);
    }

    #[test]
    fn passwords_made_of_the_account_are_refused() {
        let email = "Jeanne.Martin@ville-exemple.fr";
        for password in [
            "jeanne.martin@ville-exemple.fr",
            "xJEANNE.MARTIN@VILLE-EXEMPLE.FR!",
            "jeanne.martin 2027 !",
        ] {
            assert_eq!(
                rule_for(password, email, "Jeanne Martin"),
                Some(PasswordRule::ContainsEmail),
                "{password}"
            );
        }
        // Parts of the address or the name are what an attacker tries first.
        assert_eq!(
            rule_for("jeannemartin", email, "Jeanne Martin"),
            Some(PasswordRule::Guessable(Weakness::PersonalInformation))
        );
        // For someone else, the same password is weak for another reason: a common name.
        assert_eq!(
            rule_for("jeannemartin", "agent@exemple.fr", "Agent Public"),
            Some(PasswordRule::Guessable(Weakness::SingleWord))
        );
        // A two-letter local part does not refuse every password containing those letters.
        assert_eq!(
            rule_for("correct cheval pile agrafe", "al@exemple.fr", ""),
            None
        );
    }

    #[test]
    fn weak_password_message_is_french_and_names_the_rule() {
        let err = check_password_policy("court", "", "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "mot de passe refusé : le mot de passe doit contenir au moins 12 caractères"
        );
        let err = check_password_policy("aaaaaaaaaaaa", "", "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "mot de passe refusé : le mot de passe est trop facile à deviner (il répète un même \
             caractère ou un même motif, comme « aaaa » ou « abcabc ») : choisissez plutôt une \
             phrase de plusieurs mots peu courants, par exemple quatre mots sans rapport entre eux"
        );
        let err = check_password_policy("agent-public-2027", "agent@exemple.fr", "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "mot de passe refusé : le mot de passe ne doit pas contenir votre adresse \
             électronique ni la partie avant le « @ »"
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
