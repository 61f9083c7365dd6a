//! Session tokens: JWT signed with HS256 and validated explicitly (algorithm, expiry, issuer,
//! audience), as DESIGN.md §5 requires.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{AuthError, hex_decode, hex_encode, random_bytes};

pub const ISSUER: &str = "convention-flux";
pub const AUDIENCE: &str = "convention-flux";

/// HMAC-SHA-256 is only as strong as its key: RFC 7518 §3.2 requires a key at least as long as
/// the hash output.
const MIN_SECRET_BYTES: usize = 32;
/// The only accepted algorithm. Fixing it on both sides closes the classic JWT holes: `alg:
/// none`, and an asymmetric algorithm whose "public key" would be our HMAC secret.
const ALGORITHM: Algorithm = Algorithm::HS256;
const KEY_FILE_COMMENT: &str =
    "# Secret de signature des jetons de session convention-flux : ne pas partager ni versionner.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a decimal string (RFC 7519 makes `sub` a string).
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// Random, hex: names the token in its server-side session record (revocation).
    pub jti: String,
}

/// Why a token was refused. The messages are shown to the user, so they tell what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("jeton expiré : reconnectez-vous")]
    Expired,
    #[error("jeton invalide : signature incorrecte, reconnectez-vous")]
    BadSignature,
    #[error("jeton invalide : il n'est pas destiné à cette application, reconnectez-vous")]
    WrongAudience,
    #[error("jeton invalide : il n'a pas été émis par cette application, reconnectez-vous")]
    WrongIssuer,
    #[error("jeton invalide : algorithme de signature refusé, reconnectez-vous")]
    AlgorithmRefused,
    #[error("jeton illisible : reconnectez-vous")]
    Malformed,
    #[error("jeton refusé : sa durée de validité dépasse celle d'une session, reconnectez-vous")]
    LifetimeExceeded,
}

/// The signing and verification keys with their validation rules, built once at start-up.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// HMAC(secret, purpose) for sealing the pages' messages: another key from the same secret.
    page_messages: [u8; 32],
}

/// Never prints the secret, so that the keys can sit in a `Debug` application state.
impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("algorithm", &ALGORITHM)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn from_secret(secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(AuthError::SecretTooShort { len: secret.len() });
        }
        let mut validation = Validation::new(ALGORITHM);
        validation.algorithms = vec![ALGORITHM];
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_aud = true;
        validation.validate_nbf = false;
        // jsonwebtoken compares `exp` with the system clock; `verify` compares it with the
        // caller's `now` instead, so that the check is deterministic and testable.
        validation.validate_exp = false;
        validation.leeway = 0;
        let page_messages = {
            use hmac::Mac as _;
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret)
                .map_err(|_| AuthError::SecretTooShort { len: secret.len() })?;
            mac.update(b"convention-flux: messages des pages");
            mac.finalize().into_bytes().into()
        };
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            page_messages,
        })
    }

    /// The key that seals the message a page shows after an action, derived from the secret
    /// (never the secret itself).
    pub fn page_messages_key(&self) -> [u8; 32] {
        self.page_messages
    }

    /// Reads the secret at `path`, or creates it (32 random bytes) on first start so that
    /// `cargo run` needs no set-up. Sessions survive restarts because the key does. The file is
    /// written to a temporary sibling with mode 0600 and renamed, so that a crash never leaves a
    /// truncated key and the secret is never readable by others, even for an instant. Instances
    /// behind a load balancer must share one provisioned file: two first starts racing on the
    /// same path would each keep the key they wrote.
    pub fn load_or_create(path: &Path) -> Result<Self, AuthError> {
        let secret = match std::fs::read_to_string(path) {
            Ok(text) => parse_key_file(&text).map_err(|reason| AuthError::KeyFileMalformed {
                path: path.to_owned(),
                reason,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(path)?,
            Err(source) => {
                return Err(AuthError::KeyFileUnreadable {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Self::from_secret(&secret)
    }

    /// A token for `user_id`, valid from `now` for `ttl_secs` seconds.
    pub fn issue(&self, user_id: i64, now: i64, ttl_secs: i64) -> Result<String, AuthError> {
        self.issue_with_claims(user_id, now, ttl_secs)
            .map(|(token, _)| token)
    }

    /// [`Self::issue`], with the claims, whose `jti` names the token in the server-side
    /// session record.
    pub fn issue_with_claims(
        &self,
        user_id: i64,
        now: i64,
        ttl_secs: i64,
    ) -> Result<(String, Claims), AuthError> {
        if ttl_secs <= 0 {
            return Err(AuthError::InvalidTokenLifetime(ttl_secs));
        }
        let exp = now
            .checked_add(ttl_secs)
            .ok_or(AuthError::InvalidTokenLifetime(ttl_secs))?;
        let claims = Claims {
            sub: user_id.to_string(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp,
            jti: hex_encode(&random_bytes::<16>()?),
        };
        let token = jsonwebtoken::encode(&Header::new(ALGORITHM), &claims, &self.encoding)
            .map_err(|e| AuthError::TokenSigning(e.to_string()))?;
        Ok((token, claims))
    }

    /// [`Self::verify`], and the token must have been issued in the past for at most
    /// `max_lifetime_secs`: a token carrying a distant `exp` (a misconfigured issuer, a key
    /// that leaked) does not outlive the platform's session rule.
    pub fn verify_session(
        &self,
        token: &str,
        now: i64,
        max_lifetime_secs: i64,
    ) -> Result<(i64, Claims), TokenError> {
        let (user_id, claims) = self.verify(token, now)?;
        if claims.iat > now || claims.exp.saturating_sub(claims.iat) > max_lifetime_secs {
            return Err(TokenError::LifetimeExceeded);
        }
        Ok((user_id, claims))
    }

    /// Returns the user id and the claims of a valid token. The algorithm named in the header is
    /// checked first, so that `alg: none` or an RS/ES token is reported as such rather than as
    /// unreadable; then jsonwebtoken checks the signature, `iss`, `aud` and the presence of
    /// `exp`, `iss`, `aud`, `sub`; then `exp` is compared with `now` without leeway (RFC 7519
    /// §4.1.4: the token is accepted only strictly before `exp`).
    pub fn verify(&self, token: &str, now: i64) -> Result<(i64, Claims), TokenError> {
        if header_algorithm(token)? != "HS256" {
            return Err(TokenError::AlgorithmRefused);
        }
        let data =
            jsonwebtoken::decode::<serde_json::Value>(token, &self.decoding, &self.validation)
                .map_err(|e| token_error(e.kind()))?;
        let claims: Claims =
            serde_json::from_value(data.claims).map_err(|_| TokenError::Malformed)?;
        if now >= claims.exp {
            return Err(TokenError::Expired);
        }
        let user_id = claims
            .sub
            .parse::<i64>()
            .map_err(|_| TokenError::Malformed)?;
        Ok((user_id, claims))
    }
}

/// The `alg` field of the token's header, read without trusting anything else in the token.
fn header_algorithm(token: &str) -> Result<String, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    match header.get("alg") {
        Some(serde_json::Value::String(alg)) => Ok(alg.clone()),
        _ => Err(TokenError::Malformed),
    }
}

/// A missing `iss` or `aud` is reported like a wrong one: either way the token was not made
/// for us.
fn token_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidAlgorithmName => TokenError::AlgorithmRefused,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => TokenError::WrongIssuer,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        _ => TokenError::Malformed,
    }
}

/// The secret is the only non-comment line, in hexadecimal.
fn parse_key_file(text: &str) -> Result<Vec<u8>, String> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'));
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return Err("une seule ligne de secret hexadécimal est attendue".to_owned());
    };
    let secret = hex_decode(line).ok_or("le secret n'est pas en hexadécimal")?;
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "secret de {} octets, il en faut au moins {MIN_SECRET_BYTES}",
            secret.len()
        ));
    }
    Ok(secret)
}

fn create_key_file(path: &Path) -> Result<Vec<u8>, AuthError> {
    let secret = random_bytes::<MIN_SECRET_BYTES>()?;
    let write_error = |source| AuthError::KeyFileWrite {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    let temporary = temporary_sibling(path)?;
    let written = write_private_file(
        &temporary,
        &format!("{KEY_FILE_COMMENT}\n{}\n", hex_encode(&secret)),
    )
    .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(source) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(write_error(source));
    }
    Ok(secret.to_vec())
}

/// In the same directory, so that the rename is atomic; random, so that a stale leftover or a
/// concurrent start never collides.
fn temporary_sibling(path: &Path) -> Result<PathBuf, AuthError> {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.tmp", hex_encode(&random_bytes::<8>()?)));
    Ok(path.with_file_name(name))
}

/// Created with mode 0600 on Unix (not chmod-ed afterwards) and flushed to disk before the
/// rename makes it visible.
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_750_000_000;

    fn keys() -> TokenKeys {
        TokenKeys::from_secret(SECRET).unwrap()
    }

    fn claims_for(user_id: i64) -> Claims {
        Claims {
            sub: user_id.to_string(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: NOW,
            exp: NOW + 3600,
            jti: "00".to_owned(),
        }
    }

    /// A token made with jsonwebtoken directly, as an attacker holding (or guessing) a key would.
    fn forged(algorithm: Algorithm, claims: &Claims, secret: &[u8]) -> String {
        jsonwebtoken::encode(
            &Header::new(algorithm),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    #[test]
    fn issued_token_verifies_and_carries_the_user() {
        let keys = keys();
        let token = keys.issue(42, NOW, 3600).unwrap();
        let (user_id, claims) = keys.verify(&token, NOW + 10).unwrap();
        assert_eq!(user_id, 42);
        assert_eq!((claims.iat, claims.exp), (NOW, NOW + 3600));
        assert_eq!(
            (claims.iss.as_str(), claims.aud.as_str()),
            (ISSUER, AUDIENCE)
        );
        assert_eq!(claims.jti.len(), 32);
        let other = keys.issue(42, NOW, 3600).unwrap();
        assert_ne!(keys.verify(&other, NOW).unwrap().1.jti, claims.jti);
    }

    #[test]
    fn token_is_refused_from_its_expiry_on() {
        let keys = keys();
        let token = keys.issue(7, NOW, 60).unwrap();
        assert!(keys.verify(&token, NOW + 59).is_ok());
        assert_eq!(keys.verify(&token, NOW + 60), Err(TokenError::Expired));
        assert_eq!(keys.verify(&token, NOW + 86_400), Err(TokenError::Expired));
        assert_eq!(
            TokenError::Expired.to_string(),
            "jeton expiré : reconnectez-vous"
        );
    }

    #[test]
    fn session_tokens_longer_than_the_maximum_or_from_the_future_are_refused() {
        let keys = keys();
        let (token, claims) = keys.issue_with_claims(7, NOW, 3600).unwrap();
        assert_eq!(
            keys.verify_session(&token, NOW + 10, 3600).unwrap().1,
            claims
        );
        // Signed with the right key, but for 30 days where sessions last an hour.
        let long = keys.issue(7, NOW, 30 * 86_400).unwrap();
        assert!(keys.verify(&long, NOW + 10).is_ok());
        assert_eq!(
            keys.verify_session(&long, NOW + 10, 3600),
            Err(TokenError::LifetimeExceeded)
        );
        // Issued "tomorrow": a clock or a forger, either way not a session of ours yet.
        let ahead = keys.issue(7, NOW + 86_400, 60).unwrap();
        assert_eq!(
            keys.verify_session(&ahead, NOW, 3600),
            Err(TokenError::LifetimeExceeded)
        );
    }

    #[test]
    fn tampered_payload_is_a_bad_signature() {
        let keys = keys();
        let token = keys.issue(7, NOW, 3600).unwrap();
        let (header, rest) = token.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        let mut chars: Vec<char> = payload.chars().collect();
        let middle = chars.len() / 2;
        chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
        let tampered = format!(
            "{header}.{}.{signature}",
            chars.into_iter().collect::<String>()
        );
        assert_ne!(tampered, token);
        assert_eq!(keys.verify(&tampered, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn raised_user_id_with_the_original_signature_is_refused() {
        let keys = keys();
        let token = keys.issue(7, NOW, 3600).unwrap();
        let signature = token.rsplit('.').next().unwrap();
        let header = token.split('.').next().unwrap();
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims_for(1)).unwrap());
        let forged = format!("{header}.{payload}.{signature}");
        assert_eq!(keys.verify(&forged, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn token_signed_with_another_secret_is_a_bad_signature() {
        let token = forged(
            Algorithm::HS256,
            &claims_for(7),
            b"another secret of at least 32 bytes!",
        );
        assert_eq!(keys().verify(&token, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn wrong_audience_and_wrong_issuer_are_refused() {
        let keys = keys();
        let mut claims = claims_for(7);
        claims.aud = "autre-service".to_owned();
        let token = forged(Algorithm::HS256, &claims, SECRET);
        assert_eq!(keys.verify(&token, NOW), Err(TokenError::WrongAudience));

        let mut claims = claims_for(7);
        claims.iss = "autre-emetteur".to_owned();
        let token = forged(Algorithm::HS256, &claims, SECRET);
        assert_eq!(keys.verify(&token, NOW), Err(TokenError::WrongIssuer));

        // Sanity check: the same forging path with the right claims is accepted.
        let token = forged(Algorithm::HS256, &claims_for(7), SECRET);
        assert_eq!(keys.verify(&token, NOW).unwrap().0, 7);
    }

    #[test]
    fn missing_required_claims_are_refused() {
        let keys = keys();
        let sign = |payload: serde_json::Value| {
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &payload,
                &EncodingKey::from_secret(SECRET),
            )
            .unwrap()
        };
        let full = serde_json::to_value(claims_for(7)).unwrap();
        for (claim, expected) in [
            ("aud", TokenError::WrongAudience),
            ("iss", TokenError::WrongIssuer),
            ("exp", TokenError::Malformed),
            ("sub", TokenError::Malformed),
        ] {
            let mut payload = full.clone();
            payload.as_object_mut().unwrap().remove(claim);
            assert_eq!(keys.verify(&sign(payload), NOW), Err(expected), "{claim}");
        }
        let mut payload = full;
        payload["sub"] = serde_json::json!("pas-un-nombre");
        assert_eq!(keys.verify(&sign(payload), NOW), Err(TokenError::Malformed));
    }

    #[test]
    fn unsigned_alg_none_token_is_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims_for(7)).unwrap());
        let token = format!("{header}.{payload}.");
        assert_eq!(
            keys().verify(&token, NOW),
            Err(TokenError::AlgorithmRefused)
        );
    }

    #[test]
    fn other_algorithms_are_refused_even_with_the_right_secret() {
        let token = forged(Algorithm::HS512, &claims_for(7), SECRET);
        assert_eq!(
            keys().verify(&token, NOW),
            Err(TokenError::AlgorithmRefused)
        );
        // An RS256 header over an HMAC made with our secret: the key-confusion attack.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let hs = forged(Algorithm::HS256, &claims_for(7), SECRET);
        let (_, rest) = hs.split_once('.').unwrap();
        assert_eq!(
            keys().verify(&format!("{header}.{rest}"), NOW),
            Err(TokenError::AlgorithmRefused)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let keys = keys();
        for token in ["", "abc", "a.b", "a.b.c", "a.b.c.d", "!!!.e30.x"] {
            assert_eq!(
                keys.verify(token, NOW),
                Err(TokenError::Malformed),
                "{token:?}"
            );
        }
    }

    #[test]
    fn short_secret_and_non_positive_lifetime_are_refused() {
        assert!(matches!(
            TokenKeys::from_secret(&SECRET[..31]),
            Err(AuthError::SecretTooShort { len: 31 })
        ));
        assert!(matches!(
            keys().issue(7, NOW, 0),
            Err(AuthError::InvalidTokenLifetime(0))
        ));
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let printed = format!("{:?}", keys());
        assert!(printed.starts_with("TokenKeys"), "{printed}");
        assert!(!printed.contains("0123456789abcdef"), "{printed}");
        assert!(!printed.contains("48, 49, 50"), "{printed}");
    }

    #[test]
    fn key_file_is_created_private_and_reloaded_identically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets").join("nested").join("jwt.key");
        let first = TokenKeys::load_or_create(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with('#'));
        assert_eq!(hex_decode(lines[1]).map(|s| s.len()), Some(32));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );

        let token = first.issue(9, NOW, 3600).unwrap();
        let reloaded = TokenKeys::load_or_create(&path).unwrap();
        assert_eq!(reloaded.verify(&token, NOW).unwrap().0, 9);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

        // A second key file holds a different secret.
        let other = TokenKeys::load_or_create(&dir.path().join("other.key")).unwrap();
        assert_eq!(other.verify(&token, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn malformed_key_file_is_refused_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.key");
        let short = hex_encode(&[7u8; 16]);
        let long_enough = hex_encode(&[7u8; 32]);
        for contents in [
            "# seulement un commentaire\n".to_owned(),
            "pas de l'hexadécimal du tout\n".to_owned(),
            format!("# commentaire\n{short}\n"),
            format!("{long_enough}\n{long_enough}\n"),
        ] {
            std::fs::write(&path, &contents).unwrap();
            let err = TokenKeys::load_or_create(&path).unwrap_err();
            assert!(
                matches!(&err, AuthError::KeyFileMalformed { path: p, .. } if p == &path),
                "{contents:?}: {err:?}"
            );
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
            assert!(
                err.to_string()
                    .starts_with("fichier de clé des jetons mal formé")
            );
        }
        // The refused file is left untouched for the operator to inspect.
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{long_enough}\n{long_enough}\n")
        );
        std::fs::write(&path, format!("# commentaire\n{long_enough}\n")).unwrap();
        assert!(TokenKeys::load_or_create(&path).is_ok());
    }
}
