//! Single-use random tokens for invitation and password-reset links. Only the digest is stored,
//! so that a leaked database does not hand out working links; a plain SHA-256 suffices (no
//! argon2) because the token has 256 bits of entropy and cannot be guessed.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use super::random_bytes;

/// `plain` goes into the e-mailed link and nowhere else; `digest` goes into the database.
#[derive(Clone)]
pub struct IssuedToken {
    /// 32 random bytes, base64url without padding (43 characters, safe in a URL as is).
    pub plain: String,
    /// [`token_digest`] of `plain`.
    pub digest: String,
}

/// Shows the digest only, so that logging the value never leaks a usable link.
impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// Panics only if the operating system cannot provide randomness, in which case no secure
/// token can be made at all and refusing loudly is the only safe outcome.
pub fn new_secret_token() -> IssuedToken {
    let bytes = random_bytes::<32>().unwrap_or_else(|e| panic!("{e}"));
    let plain = URL_SAFE_NO_PAD.encode(bytes);
    let digest = token_digest(&plain);
    IssuedToken { plain, digest }
}

/// SHA-256 of the token as received in the link, lowercase hex: the key to look the token up.
pub fn token_digest(plain: &str) -> String {
    super::hex_encode(&Sha256::digest(plain.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn tokens_are_unique_url_safe_and_carry_their_digest() {
        let tokens: Vec<IssuedToken> = (0..100).map(|_| new_secret_token()).collect();
        let plains: HashSet<&str> = tokens.iter().map(|t| t.plain.as_str()).collect();
        assert_eq!(plains.len(), tokens.len());
        for token in &tokens {
            assert_eq!(token.plain.len(), 43);
            assert!(
                token
                    .plain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{}",
                token.plain
            );
            assert_eq!(URL_SAFE_NO_PAD.decode(&token.plain).unwrap().len(), 32);
            assert_eq!(token.digest, token_digest(&token.plain));
        }
    }

    #[test]
    fn digest_is_sha256_hex_of_the_plain_text() {
        let plain = "jeton-d-exemple";
        let expected: String = Sha256::digest(plain.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(token_digest(plain), expected);
        assert_eq!(token_digest(plain), token_digest(plain));
        // Known vector: SHA-256 of the empty string.
        assert_eq!(
            token_digest(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn debug_hides_the_plain_token() {
        let token = new_secret_token();
        let printed = format!("{token:?}");
        assert!(printed.contains(&token.digest));
        assert!(!printed.contains(&token.plain));
    }
}
