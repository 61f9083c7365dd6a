//! The platform's Ed25519 key, which seals every signature record.
//!
//! The seal proves that a record was written by this platform and not edited since: anyone with
//! the public key can check it offline, while only the running platform holds the secret seed.
//! The seed lives in a file outside the repository (issue 4, item 6), generated at first start.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::canonical::hex;

const KEY_FILE_COMMENT: &str = "# convention-flux : graine de la clé Ed25519 de la plateforme \
(secrète : ne pas partager, ne pas versionner, sauvegarder)";

/// The key file cannot be read, written or understood.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("clé de la plateforme {path} : lecture impossible ({})", crate::domain::text::io_reason(.source))]
    Read { path: String, source: io::Error },
    #[error("clé de la plateforme {path} : écriture impossible ({})", crate::domain::text::io_reason(.source))]
    Write { path: String, source: io::Error },
    /// Never replaced automatically: a new key would make every existing seal unverifiable
    /// against the key the platform then publishes.
    #[error(
        "clé de la plateforme {path} : fichier mal formé ({reason}) ; il n'est pas remplacé \
         automatiquement, restaurez-le depuis une sauvegarde (une nouvelle clé rendrait les \
         sceaux existants invérifiables avec la clé publiée)"
    )]
    Malformed { path: String, reason: String },
    #[error(
        "clé de la plateforme {path} : générateur aléatoire du système indisponible ({reason})"
    )]
    Random { path: String, reason: String },
}

/// A seal that does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("clé publique invalide : {0}")]
    BadKey(String),
    #[error("sceau mal encodé : {0}")]
    BadEncoding(String),
    #[error(
        "le sceau ne correspond pas : l'enregistrement a été modifié, ou le sceau n'a pas été \
         produit par la clé de la plateforme"
    )]
    Mismatch,
}

/// The platform's signing key. Deliberately neither `Clone` nor `Serialize`: the secret stays in
/// one place, and `Debug` shows only the public half.
pub struct PlatformKey {
    signing: SigningKey,
}

impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformKey")
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

impl PlatformKey {
    /// Reads the key at `path`, or generates one and writes it there.
    ///
    /// The new file is written to a temporary file in the same folder, flushed to disk, then
    /// moved into place without overwriting: a crash never leaves a half-written key, and if two
    /// instances start at once on a shared folder, the second one adopts the first one's key
    /// instead of each sealing with a different one. A malformed file is an error, never
    /// silently replaced.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        match fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Self::parse(path, &text),
                Err(_) => Err(KeyError::Malformed {
                    path: path.display().to_string(),
                    reason: "ce n'est pas un fichier texte".to_owned(),
                }),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|e| KeyError::Random {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                install(path, seed)
            }
            Err(source) => Err(KeyError::Read {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// A key from a known seed (tests, demo data).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        PlatformKey {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// The public key, lowercase hex (64 characters): what verifiers need, safe to publish.
    pub fn public_key_hex(&self) -> String {
        hex(self.signing.verifying_key().as_bytes())
    }

    /// Ed25519 signature of the UTF-8 bytes of `message`, base64 (standard alphabet, padded).
    pub fn seal(&self, message: &str) -> String {
        BASE64.encode(self.signing.sign(message.as_bytes()).to_bytes())
    }

    fn parse(path: &Path, text: &str) -> Result<Self, KeyError> {
        let malformed = |reason: &str| KeyError::Malformed {
            path: path.display().to_string(),
            reason: reason.to_owned(),
        };
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let line = lines
            .next()
            .ok_or_else(|| malformed("aucune ligne de clé"))?;
        if lines.next().is_some() {
            return Err(malformed("plusieurs lignes de clé, une seule attendue"));
        }
        let seed: [u8; 32] = parse_hex(line)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| {
                malformed("la ligne de clé doit contenir 64 chiffres hexadécimaux (32 octets)")
            })?;
        Ok(Self::from_seed(seed))
    }
}

/// Writes a new key file for `seed` unless one appeared meanwhile; returns the key now in force.
fn install(path: &Path, seed: [u8; 32]) -> Result<PlatformKey, KeyError> {
    let write_err = |source| KeyError::Write {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&dir).map_err(write_err)?;

    let tmp = temp_path(path, &seed);
    let text = format!("{KEY_FILE_COMMENT}\n{}\n", hex(&seed));
    let written = write_private_file(&tmp, text.as_bytes());
    if let Err(source) = written {
        let _ = fs::remove_file(&tmp);
        return Err(write_err(source));
    }
    // `hard_link` fails if `path` exists, unlike `rename`: the no-clobber move we need.
    let moved = match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        // File systems without hard links: fall back to a rename, checked just before.
        Err(_) if !path.exists() => fs::rename(&tmp, path).map(|()| true),
        Err(_) => Ok(false),
    };
    let _ = fs::remove_file(&tmp);
    if !moved.map_err(write_err)? {
        // Another process installed its key first: use that one.
        return PlatformKey::load_or_create(path);
    }
    sync_dir(&dir).map_err(write_err)?;
    Ok(PlatformKey::from_seed(seed))
}

/// A temporary name beside `path`, unique per process and per seed.
fn temp_path(path: &Path, seed: &[u8; 32]) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "cle".into(), |n| n.to_string_lossy().into_owned());
    // A few bytes of the public key, not of the secret seed, keep two attempts apart.
    let tag = &PlatformKey::from_seed(*seed).public_key_hex()[..8];
    path.with_file_name(format!(".{name}.{}.{tag}.tmp", std::process::id()))
}

fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Makes the new directory entry durable (Unix; elsewhere the rename is as durable as it gets).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Strict hexadecimal (either case, no sign, no separator).
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// Checks `seal_b64` over the UTF-8 bytes of `message` with the public key `public_key_hex`.
///
/// Strict verification (RFC 8032 with the small-order and canonical-encoding checks), so that a
/// crafted key or signature cannot match several messages.
pub fn verify_seal(public_key_hex: &str, message: &str, seal_b64: &str) -> Result<(), SealError> {
    verify_seal_with(&parse_public_key(public_key_hex)?, message, seal_b64)
}

/// [`verify_seal`] with a key parsed once, for verifying many seals.
pub(crate) fn verify_seal_with(
    key: &VerifyingKey,
    message: &str,
    seal_b64: &str,
) -> Result<(), SealError> {
    let bytes = BASE64
        .decode(seal_b64.trim())
        .map_err(|_| SealError::BadEncoding("base64 attendu".to_owned()))?;
    let signature = Signature::from_slice(&bytes).map_err(|_| {
        SealError::BadEncoding(format!("64 octets attendus, {} trouvés", bytes.len()))
    })?;
    key.verify_strict(message.as_bytes(), &signature)
        .map_err(|_| SealError::Mismatch)
}

pub(crate) fn parse_public_key(public_key_hex: &str) -> Result<VerifyingKey, SealError> {
    let bytes: [u8; 32] = parse_hex(public_key_hex.trim())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SealError::BadKey("64 chiffres hexadécimaux attendus".to_owned()))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| SealError::BadKey("ce n'est pas une clé Ed25519".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> PlatformKey {
        PlatformKey::from_seed([n; 32])
    }

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 §7.1, TEST 1: empty message.
        let seed: [u8; 32] =
            parse_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let key = PlatformKey::from_seed(seed);
        assert_eq!(
            key.public_key_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let expected_sig = parse_hex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        )
        .unwrap();
        assert_eq!(key.seal(""), BASE64.encode(expected_sig));
    }

    #[test]
    fn seal_round_trip() {
        let k = key(7);
        let seal = k.seal("{\"party\":\"etat\"}");
        assert_eq!(seal.len(), 88, "64 bytes in padded base64");
        assert!(seal.ends_with("=="));
        assert_eq!(
            verify_seal(&k.public_key_hex(), "{\"party\":\"etat\"}", &seal),
            Ok(())
        );
    }

    #[test]
    fn tampered_message_seal_or_key_is_refused() {
        let k = key(7);
        let message = "{\"party\":\"etat\"}";
        let seal = k.seal(message);
        let pk = k.public_key_hex();

        assert_eq!(
            verify_seal(&pk, "{\"party\":\"Etat\"}", &seal),
            Err(SealError::Mismatch)
        );
        let other_seal = k.seal("autre");
        assert_eq!(
            verify_seal(&pk, message, &other_seal),
            Err(SealError::Mismatch)
        );
        // One flipped bit in the signature.
        let mut raw = BASE64.decode(&seal).unwrap();
        raw[10] ^= 1;
        assert_eq!(
            verify_seal(&pk, message, &BASE64.encode(&raw)),
            Err(SealError::Mismatch)
        );
        assert_eq!(
            verify_seal(&key(8).public_key_hex(), message, &seal),
            Err(SealError::Mismatch)
        );
        assert!(matches!(
            verify_seal(&pk, message, "pas du base64 !"),
            Err(SealError::BadEncoding(_))
        ));
        assert!(matches!(
            verify_seal(&pk, message, &BASE64.encode([0u8; 10])),
            Err(SealError::BadEncoding(_))
        ));
        assert!(matches!(
            verify_seal("abcd", message, &seal),
            Err(SealError::BadKey(_))
        ));
        assert!(matches!(
            verify_seal(&"zz".repeat(32), message, &seal),
            Err(SealError::BadKey(_))
        ));
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let k = key(0xab);
        let shown = format!("{k:?}");
        assert!(shown.contains(&k.public_key_hex()), "{shown}");
        assert!(!shown.contains(&"ab".repeat(32)), "{shown}");
        assert!(!shown.contains("171, 171"), "{shown}");
    }

    #[test]
    fn key_file_is_created_then_reloaded_with_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("secrets")
            .join("nested")
            .join("platform.key");
        let created = PlatformKey::load_or_create(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with('#'));
        assert_eq!(lines[1].len(), 64);
        assert!(
            lines[1]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );

        let reloaded = PlatformKey::load_or_create(&path).unwrap();
        assert_eq!(created.public_key_hex(), reloaded.public_key_hex());
        let seal = created.seal("m");
        assert_eq!(verify_seal(&reloaded.public_key_hex(), "m", &seal), Ok(()));

        // No temporary file left behind.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("platform.key")]);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn two_generated_keys_differ() {
        let dir = tempfile::tempdir().unwrap();
        let a = PlatformKey::load_or_create(&dir.path().join("a.key")).unwrap();
        let b = PlatformKey::load_or_create(&dir.path().join("b.key")).unwrap();
        assert_ne!(a.public_key_hex(), b.public_key_hex());
    }

    #[test]
    fn a_key_installed_meanwhile_by_another_process_is_adopted_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platform.key");
        let first = install(&path, [1; 32]).unwrap();
        let before = fs::read_to_string(&path).unwrap();
        let second = install(&path, [2; 32]).unwrap();
        assert_eq!(second.public_key_hex(), first.public_key_hex());
        assert_eq!(fs::read_to_string(&path).unwrap(), before);
    }

    #[test]
    fn a_hand_written_key_file_with_comments_and_uppercase_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platform.key");
        fs::write(
            &path,
            format!("# commentaire\n\n  {}  \r\n", "0A".repeat(32)),
        )
        .unwrap();
        let k = PlatformKey::load_or_create(&path).unwrap();
        assert_eq!(k.public_key_hex(), key(0x0a).public_key_hex());
    }

    #[test]
    fn malformed_key_file_is_refused_with_its_path_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platform.key");
        let binary = [0xffu8; 32];
        fs::write(&path, binary).unwrap();
        let err = PlatformKey::load_or_create(&path).unwrap_err();
        assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
        assert_eq!(fs::read(&path).unwrap(), binary);

        for content in [
            String::new(),
            "# seulement un commentaire\n".to_owned(),
            "abcd\n".to_owned(),
            format!("{}\n", "g".repeat(64)),
            format!("{}\n{}\n", "0a".repeat(32), "0b".repeat(32)),
            format!("{}é\n", "0a".repeat(31)),
            format!("+a{}\n", "0a".repeat(31)),
        ] {
            fs::write(&path, &content).unwrap();
            let err = PlatformKey::load_or_create(&path).unwrap_err();
            assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
            let message = err.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("mal formé"), "{message}");
            assert_eq!(fs::read_to_string(&path).unwrap(), content);
        }
    }

    #[test]
    fn a_directory_in_place_of_the_key_is_a_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = PlatformKey::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, KeyError::Read { .. }), "{err:?}");
    }
}
