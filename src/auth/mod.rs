//! Authentication primitives: password hashing, session tokens (JWT), single-use secret tokens
//! (invitations, password resets) and the login-attempt limiter.
//!
//! Pure building blocks with no HTTP and no database: the services decide *when* to call them,
//! this module makes sure that *how* is safe (explicit JWT validation, argon2 off the async
//! executor, only digests of secret tokens stored, bounded limiter memory). DESIGN.md §5 "Auth".

mod error;
mod password;
mod rate_limit;
mod secret_token;
mod token;

pub use error::{AuthError, PasswordRule, Weakness};
pub use password::{
    MIN_PASSWORD_CHARS, check_password_policy, dummy_hash, hash_password, hash_password_async,
    verify_password, verify_password_async,
};
pub use rate_limit::LoginLimiter;
pub use secret_token::{IssuedToken, new_secret_token, token_digest};
pub use token::{AUDIENCE, Claims, ISSUER, TokenError, TokenKeys};

/// Fills an array from the operating system's generator; every secret in this module comes
/// from here, never from a user-space PRNG.
fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Randomness(e.to_string()))?;
    Ok(bytes)
}

/// Lowercase hexadecimal, the form used for key files, `jti` and digests.
fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    out
}

/// Inverse of [`hex_encode`] (either case accepted); `None` on odd length or a non-hex digit.
fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects_bad_digits() {
        let bytes = [0x00, 0x0f, 0xa5, 0xff];
        assert_eq!(hex_encode(&bytes), "000fa5ff");
        assert_eq!(hex_decode("000FA5ff"), Some(bytes.to_vec()));
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_decode("zz"), None);
    }
}
