//! PostgreSQL, the production engine (several application instances share it).

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use super::conventions_sql::impl_convention_store;
use super::sql::impl_repository;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self, super::StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| super::StoreError::InvalidUrl(e.to_string()))?
            .application_name("convention-flux");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }
}

impl_repository!(PostgresStore, Postgres, Backend::Postgres);
impl_convention_store!(PostgresStore, Postgres);
