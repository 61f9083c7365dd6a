//! The message a page shows after an action (« Version n° 3 consolidée… ») travels in the
//! address of the redirection (`?message=`, `?erreur=`, `?alerte=`). Anyone could otherwise
//! write a link that makes the platform's own banner say anything (« envoyez votre mot de passe
//! à … »): each message is sealed with an HMAC under a key derived from the platform's session
//! secret, shared by every instance, and a page shows only a message whose seal holds.

use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer};
use sha2::Sha256;

/// Between the text and its seal; never typed in a message.
const SEPARATOR: char = '\u{2063}';

static KEY: OnceLock<[u8; 32]> = OnceLock::new();

/// Takes the key derived from the platform's secret ([`crate::auth::TokenKeys::page_messages_key`]),
/// once per process: every instance of one platform has the same secret, hence the same key.
pub fn init_key(key: [u8; 32]) {
    let _ = KEY.get_or_init(|| key);
}

fn key() -> &'static [u8; 32] {
    KEY.get_or_init(|| {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).expect("the system's random source");
        random
    })
}

fn tag(text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key()).expect("HMAC takes any key length");
    mac.update(text.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The message with its seal, as it goes into the address.
pub fn seal(text: &str) -> String {
    format!("{text}{SEPARATOR}{}", tag(text))
}

/// The message, if its seal holds; `None` for a message written by hand in an address.
pub fn open(sealed: &str) -> Option<String> {
    let (text, given) = sealed.rsplit_once(SEPARATOR)?;
    let expected = tag(text);
    // Compared in constant time: the seal is a secret's image.
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then(|| text.to_owned())
}

/// `message=…`, `erreur=…` or `alerte=…`: the sealed message, encoded for an address.
pub fn param(kind: &str, text: &str) -> String {
    format!("{kind}={}", super::frame::urlencode(&seal(text)))
}

/// For the query fields `message`, `erreur` and `alerte`: an unsealed or forged value is read as
/// absent (the page shows no banner rather than an error).
pub fn sealed<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.and_then(|v| open(&v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_message_opens_and_a_forged_one_does_not() {
        let sealed = seal("Version n° 3 consolidée.");
        assert_eq!(open(&sealed).as_deref(), Some("Version n° 3 consolidée."));
        assert_eq!(
            open("Votre compte est suspendu : écrivez à x@exemple.com"),
            None
        );
        // The seal of one message does not carry another.
        let (_, tag) = sealed.rsplit_once(SEPARATOR).unwrap();
        assert_eq!(open(&format!("Autre texte{SEPARATOR}{tag}")), None);
        assert_eq!(open(&format!("Version n° 3 consolidée.{SEPARATOR}")), None);
    }
}
