//! SQLite, the embedded default: one file, WAL journal, foreign keys on, a busy timeout, and
//! `BEGIN IMMEDIATE` for writes so that two writers queue instead of failing on lock upgrade.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use super::conventions_sql::impl_convention_store;
use super::sql::impl_repository;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, super::StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| super::StoreError::InvalidUrl(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed transaction survives a power cut, not only a killed process.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // An embedded file has no network link to lose: pinging each connection before lending
            // it doubled the hand-offs to SQLite's worker threads on the hot read path (issue 4).
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }
}

impl_repository!(SqliteStore, Sqlite, Backend::Sqlite);
impl_convention_store!(SqliteStore, Sqlite);
