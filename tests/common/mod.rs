//! Test support: a fresh database per test, on SQLite (always) and on PostgreSQL (when
//! `TEST_DATABASE_URL` names a server; each test gets its own database, dropped at the end).

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use convention_flux::config::Secret;
use convention_flux::store::{Repository, connect};
use sqlx::Connection;

pub struct TestDb {
    pub store: Arc<dyn Repository>,
    pub url: Secret,
    pub engine: &'static str,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = Secret::new(format!("sqlite://{}", dir.path().join("test.db").display()));
        let store = connect(&url).await.expect("SQLite store");
        Self {
            store,
            url,
            engine: "sqlite",
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// `None` when `TEST_DATABASE_URL` is not set.
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("TEST_DATABASE_URL").ok()?;
        let name = format!(
            "cf_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("TEST_DATABASE_URL must name a reachable PostgreSQL server");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        admin.close().await.ok();
        let url = Secret::new(with_database(&admin_url, &name));
        let store = connect(&url).await.expect("PostgreSQL store");
        Some(Self {
            store,
            url,
            engine: "postgres",
            _dir: None,
            postgres: Some((admin_url, name)),
        })
    }

    /// Closes the store and drops the PostgreSQL database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.postgres
            && let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
}

/// `postgres://user@host:5432/db?x=y` with `db` replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Runs `$test(TestDb)` on SQLite and, when configured, on PostgreSQL: one `#[tokio::test]` per
/// engine, named `<test>::sqlite` and `<test>::postgres`.
#[macro_export]
macro_rules! on_both_engines {
    ($($test:ident),+ $(,)?) => {
        $(
            mod $test {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let db = $crate::common::TestDb::sqlite().await;
                    super::$test(&db).await;
                    db.finish().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $crate::common::TestDb::postgres().await {
                        Some(db) => {
                            super::$test(&db).await;
                            db.finish().await;
                        }
                        None => eprintln!("TEST_DATABASE_URL absent : variante PostgreSQL non exécutée"),
                    }
                }
            }
        )+
    };
}

/// CSV text from lines.
pub fn csv(lines: &[&str]) -> Vec<u8> {
    let mut text = lines.join("\n");
    text.push('\n');
    text.into_bytes()
}

/// The text of HTML as a browser reads it: the entities handlebars writes, decoded.
#[allow(dead_code)]
pub fn unescape(html: &str) -> String {
    html.replace("&#x3D;", "=")
        .replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&#x60;", "`")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub mod fixtures;
pub mod harness;
pub mod smtp;
pub mod webdriver;
