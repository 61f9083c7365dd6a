//! Typed settings, layered: built-in defaults (which need nothing installed), then an optional
//! TOML file, then environment variables `CONVENTION_FLUX_*` (and `DATABASE_URL`). Unknown keys
//! are refused, so that a typo never silently falls back to a default. Secrets are wrapped so
//! that they never print.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A value that must never reach a log or an error message (a database URL may hold a
/// password, a token grants rights).
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("«secret»")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `sqlite://FILE` (embedded default) or `postgres://user@host/db`.
    pub database_url: Secret,
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Folder of the policy files (`experiment.toml`, …); the embedded copies serve when absent.
    pub policies_dir: PathBuf,
    /// Publication date of the law carrying the experiment, when the operator knows it.
    pub experiment_publication_date: Option<NaiveDate>,
    /// Operator token for the write API (imports) until per-convention accounts exist; the
    /// write API is closed when it is not set.
    pub operator_token: Option<Secret>,
    /// Largest request body accepted, in bytes (a 120,000-dwelling CSV is about 8 MB).
    pub body_limit_bytes: usize,
    /// Longest time a request may take, in seconds.
    pub request_timeout_secs: u64,
    /// Log filter (`info`, `convention_flux=debug`, …).
    pub log: String,
    /// The platform's Ed25519 sealing key, generated at first start; keep it outside the
    /// repository and back it up: losing it makes new seals unverifiable with the old key.
    pub platform_key_path: PathBuf,
    /// The secret that signs session tokens, generated at first start.
    pub session_key_path: PathBuf,
    /// Public address of the platform, for links in e-mails; unset, the address the server
    /// listens on (see `public_base_url`).
    pub base_url: Option<String>,
    /// SMTP server that delivers the outbox (`smtp://hôte:port`, with `utilisateur:motdepasse@`
    /// if needed); without it, e-mails wait in the outbox.
    pub smtp_url: Option<Secret>,
    /// Sender of the platform's e-mails.
    pub mail_from: String,
    /// Seconds between two passes of the e-mail worker.
    pub mail_poll_secs: u64,
    /// How many days before a signing round's deadline the signatories who have not signed yet
    /// are reminded (once per round).
    pub reminder_days_before_deadline: u32,
    /// Folder of the npm packages installed by `npm ci` (the DSFR is served from it).
    pub web_assets_dir: PathBuf,
}

/// Where the generated secrets live by default: the user's data folder, outside any checkout.
fn default_secrets_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("convention-flux")
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: Secret::new("sqlite://convention-flux.db"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            policies_dir: PathBuf::from("policies"),
            experiment_publication_date: None,
            operator_token: None,
            body_limit_bytes: 64 * 1024 * 1024,
            request_timeout_secs: 60,
            log: "info,sqlx=warn,tower_http=info".into(),
            platform_key_path: default_secrets_dir().join("cle-plateforme-ed25519.txt"),
            session_key_path: default_secrets_dir().join("cle-sessions.txt"),
            base_url: None,
            smtp_url: None,
            mail_from: "convention-flux <ne-pas-repondre@convention-flux.localhost>".into(),
            mail_poll_secs: 10,
            reminder_days_before_deadline: 2,
            web_assets_dir: PathBuf::from("node_modules"),
        }
    }
}

impl Settings {
    /// The address of the links in e-mails: `base_url` when the operator set it; otherwise the
    /// address the server listens on, `bound` being the one actually bound (it differs from
    /// `listen` when `listen`'s port is 0). A wildcard address (`0.0.0.0`, `::`) is not one a
    /// recipient can open: the loopback of the same family stands in for it, and only an
    /// explicit `base_url` gives links that work from another machine.
    pub fn public_base_url(&self, bound: SocketAddr) -> String {
        if let Some(url) = self
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            return url.trim_end_matches('/').to_owned();
        }
        let ip = match bound.ip() {
            std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
                std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
            }
            std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
                std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
            }
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, bound.port()))
    }
}

/// Settings that cannot be used, with the reason in French.
#[derive(Debug, thiserror::Error)]
#[error("configuration invalide : {0}")]
pub struct ConfigError(String);

impl Settings {
    /// Defaults, then `file` (if given, it must exist), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError(format!(
                    "le fichier de configuration {} n'existe pas",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment
            .merge(Env::prefixed("CONVENTION_FLUX_").ignore(&["config"]))
            .merge(Env::raw().only(&["database_url"]));
        figment
            .extract()
            .map_err(|e| ConfigError(french_figment_error(&e)))
    }
}

fn french_figment_error(error: &figment::Error) -> String {
    use figment::error::Kind;
    let key = if error.path.is_empty() {
        String::new()
    } else {
        format!("clé « {} » : ", error.path.join("."))
    };
    let what = match &error.kind {
        Kind::UnknownField(field, expected) => {
            format!(
                "clé inconnue « {field} » (clés admises : {})",
                expected.join(", ")
            )
        }
        Kind::MissingField(field) => format!("clé obligatoire absente « {field} »"),
        Kind::InvalidType(actual, expected) => {
            format!("valeur de type {actual} alors que {expected} est attendu")
        }
        Kind::InvalidValue(actual, expected) => {
            format!("valeur {actual} invalide, {expected} attendu")
        }
        other => other.to_string(),
    };
    let source = error
        .metadata
        .as_ref()
        .map(|m| format!(" (source : {})", m.name))
        .unwrap_or_default();
    format!("{key}{what}{source}")
}

#[cfg(test)]
// figment::Jail's closures return figment::Error, a large type we do not choose.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_nothing() {
        figment::Jail::expect_with(|_| {
            let settings = Settings::load(None).unwrap();
            assert_eq!(
                settings.database_url.expose(),
                "sqlite://convention-flux.db"
            );
            assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
            Ok(())
        });
    }

    #[test]
    fn base_url_follows_listen_unless_set() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CONVENTION_FLUX_LISTEN", "127.0.0.1:9100");
            let settings = Settings::load(None).unwrap();
            assert_eq!(
                settings.public_base_url(settings.listen),
                "http://127.0.0.1:9100"
            );
            // Port 0: the port actually bound.
            let bound: SocketAddr = "127.0.0.1:41234".parse().unwrap();
            assert_eq!(settings.public_base_url(bound), "http://127.0.0.1:41234");
            let wildcard: SocketAddr = "0.0.0.0:9100".parse().unwrap();
            assert_eq!(settings.public_base_url(wildcard), "http://127.0.0.1:9100");
            let v6: SocketAddr = "[::]:9100".parse().unwrap();
            assert_eq!(settings.public_base_url(v6), "http://[::1]:9100");
            jail.set_env("CONVENTION_FLUX_BASE_URL", "https://flux.exemple.gouv.fr/");
            let settings = Settings::load(None).unwrap();
            assert_eq!(
                settings.public_base_url(bound),
                "https://flux.exemple.gouv.fr"
            );
            Ok(())
        });
    }

    #[test]
    fn file_then_environment_override() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "cf.toml",
                "listen = \"127.0.0.1:9000\"\nrequest_timeout_secs = 5\n",
            )?;
            jail.set_env("CONVENTION_FLUX_REQUEST_TIMEOUT_SECS", "7");
            jail.set_env("DATABASE_URL", "postgres://u:motdepasse@localhost/cf");
            let settings = Settings::load(Some(Path::new("cf.toml"))).unwrap();
            assert_eq!(settings.listen.port(), 9000);
            assert_eq!(settings.request_timeout_secs, 7);
            assert_eq!(
                settings.database_url.expose(),
                "postgres://u:motdepasse@localhost/cf"
            );
            assert!(!format!("{settings:?}").contains("motdepasse"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_in_french() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("cf.toml", "lisen = \"127.0.0.1:9000\"\n")?;
            let error = Settings::load(Some(Path::new("cf.toml")))
                .unwrap_err()
                .to_string();
            assert!(error.contains("clé inconnue « lisen »"), "{error}");
            jail.create_file("cf.toml", "request_timeout_secs = \"vite\"\n")?;
            let error = Settings::load(Some(Path::new("cf.toml")))
                .unwrap_err()
                .to_string();
            assert!(error.contains("request_timeout_secs"), "{error}");
            let error = Settings::load(Some(Path::new("absent.toml")))
                .unwrap_err()
                .to_string();
            assert!(error.contains("n'existe pas"), "{error}");
            Ok(())
        });
    }
}
