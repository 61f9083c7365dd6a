//! The SQL shared by both backends, written once and instantiated for each engine by
//! `impl_repository!`. Placeholders are `$1…`, which SQLite and PostgreSQL both understand;
//! dates, booleans and integers use types both drivers map natively.

use super::{FieldError, StoreError};

/// Rows per multi-row `INSERT`: well under SQLite's 32,766 and PostgreSQL's 65,535 bound
/// parameters with up to nine columns, and large enough to keep round trips few.
pub(super) const CHUNK_ROWS: usize = 1_000;

/// The constraints a user's input can break, by their PostgreSQL name (the default names of
/// the migrations' `UNIQUE` and `REFERENCES`) and the columns SQLite names in its message
/// (SQLite does not name a refused foreign key: those are recognised on PostgreSQL only, and
/// the services check the references first on both engines anyway).
const NAMED_CONSTRAINTS: [(&str, &str, FieldError); 5] = [
    (
        "app_user_email_key",
        "app_user.email",
        FieldError {
            field: "adresse électronique",
            problem: "un compte existe déjà pour cette adresse",
            duplicate: true,
        },
    ),
    (
        "signature_round_id_party_key",
        "signature.round_id, signature.party",
        FieldError {
            field: "signature",
            problem: "cette partie a déjà signé ce tour de signature",
            duplicate: true,
        },
    ),
    (
        "version_convention_id_number_key",
        "version.convention_id, version.number",
        FieldError {
            field: "version",
            problem: "une version de ce numéro existe déjà : la convention a changé entre-temps, réessayez",
            duplicate: true,
        },
    ),
    (
        "convention_epci_siren_fkey",
        "",
        FieldError {
            field: "EPCI",
            problem: "ce SIREN n'est pas celui d'un EPCI connu de la plateforme",
            duplicate: false,
        },
    ),
    (
        "convention_bailleur_siren_fkey",
        "",
        FieldError {
            field: "bailleur",
            problem: "ce SIREN n'est pas celui d'un bailleur connu de la plateforme",
            duplicate: false,
        },
    ),
];

/// The field error of a refused write, if the constraint is one of `NAMED_CONSTRAINTS`:
/// `constraint` is PostgreSQL's name for it, `message` the engine's text (SQLite names the
/// columns of a unique constraint there: « UNIQUE constraint failed: app_user.email »).
pub(super) fn named_constraint(constraint: Option<&str>, message: &str) -> Option<FieldError> {
    NAMED_CONSTRAINTS
        .iter()
        .find(|(name, columns, _)| {
            constraint == Some(*name)
                || (!columns.is_empty()
                    && message
                        .strip_prefix("UNIQUE constraint failed: ")
                        .is_some_and(|c| c == *columns))
        })
        .map(|(_, _, field)| *field)
}

/// Turns a refused write into a `Constraint` error the service can explain (naming the field
/// when the constraint is a named one), anything else into a database error.
pub(super) fn map_write_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        use sqlx::error::ErrorKind;
        match db.kind() {
            ErrorKind::UniqueViolation
            | ErrorKind::ForeignKeyViolation
            | ErrorKind::NotNullViolation
            | ErrorKind::CheckViolation => {
                return StoreError::Constraint {
                    detail: db.message().to_owned(),
                    field: named_constraint(db.constraint(), db.message()),
                };
            }
            _ => {}
        }
    }
    StoreError::Database(error)
}

fn yes_no(flag: Option<bool>) -> &'static str {
    match flag {
        None => "",
        Some(true) => "oui",
        Some(false) => "non",
    }
}

pub(super) fn qpv_filter_label(flag: Option<bool>) -> &'static str {
    yes_no(flag)
}

/// Reads back a QPV filter stored by `qpv_filter_label`.
pub(super) fn qpv_filter_from_label(label: &str) -> Result<Option<bool>, StoreError> {
    match label {
        "" => Ok(None),
        "oui" => Ok(Some(true)),
        "non" => Ok(Some(false)),
        other => Err(StoreError::Corrupt(format!("filtre QPV « {other} »"))),
    }
}

/// Reads back an optional filter stored as text, the empty text meaning "all".
pub(super) fn optional_filter<T: std::str::FromStr>(
    value: &str,
    what: &str,
) -> Result<Option<T>, StoreError> {
    if value.is_empty() {
        Ok(None)
    } else {
        super::decode(value, what).map(Some)
    }
}

/// A `SELECT` of the rows of `columns` `from_where` as one JSON array of arrays, one value for
/// the driver to hand over: sqlx passes a result row by row (SQLite: one message from its
/// worker thread per row, then each column decoded), which made reading a patrimoine of
/// 120,000 dwellings take 0.7 s where the engine itself needs 0.07 s (docs/performance.md).
/// The columns must be plain names or expressions without a top-level `AS`.
pub(super) fn json_rows_query(backend: super::Backend, columns: &str, from_where: &str) -> String {
    match backend {
        super::Backend::Sqlite => {
            format!("SELECT json_group_array(json_array({columns})) {from_where}")
        }
        // `json_agg` of no row is NULL, not an empty array.
        super::Backend::Postgres => format!(
            "SELECT COALESCE(json_agg(json_build_array({columns})), '[]'::json)::text {from_where}"
        ),
    }
}

/// The rows of a `json_rows_query` answer, each a tuple of its columns. `what` names the table
/// in the error.
pub(super) fn json_rows<T: serde::de::DeserializeOwned>(
    json: &str,
    what: &str,
) -> Result<Vec<T>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("{what} : {e}")))
}

/// A boolean column of a JSON row: `true`/`false` from PostgreSQL, `1`/`0` from SQLite (which
/// stores booleans as integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct JsonFlag(pub bool);

impl<'de> serde::Deserialize<'de> for JsonFlag {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Flag;
        impl serde::de::Visitor<'_> for Flag {
            type Value = JsonFlag;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("un booléen (true, false, 1 ou 0)")
            }

            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<JsonFlag, E> {
                Ok(JsonFlag(value))
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<JsonFlag, E> {
                match value {
                    0 => Ok(JsonFlag(false)),
                    1 => Ok(JsonFlag(true)),
                    _ => Err(E::invalid_value(
                        serde::de::Unexpected::Unsigned(value),
                        &self,
                    )),
                }
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<JsonFlag, E> {
                u64::try_from(value)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
                    .and_then(|v| self.visit_u64(v))
            }
        }
        deserializer.deserialize_any(Flag)
    }
}

/// Implements `Repository` for `$store`, a struct with a `pool: sqlx::Pool<$db>` field and the
/// inherent methods `begin_write` and `migrator`.
macro_rules! impl_repository {
    ($store:ty, $db:ty, $backend:expr) => {
        use std::collections::HashSet;

        use async_trait::async_trait;
        use chrono::NaiveDate;
        use sqlx::{QueryBuilder, Transaction};

        use super::sql::{
            json_rows, json_rows_query, map_write_error, optional_filter, qpv_filter_from_label,
            qpv_filter_label, JsonFlag, CHUNK_ROWS,
        };
        use super::{
            decode, Backend, BailleurSummary, EpciSummary, ImportBatch, ImportCounts, KeySet,
            Repository, StockRightCount, StoreError,
        };
        use crate::domain::{
            Bailleur, Commune, Epci, EpciFacts, Logement, PlannedExclusion, Qpv, Release,
            Reservataire, RplsId, Siren, StockReservation,
        };

        type Tx = Transaction<'static, $db>;

        fn commune_of_row(
            (insee, name, epci): (String, String, Option<String>),
        ) -> Result<Commune, StoreError> {
            Ok(Commune {
                insee: decode(&insee, "code INSEE")?,
                name,
                epci: epci.map(|s| decode(&s, "SIREN d'EPCI")).transpose()?,
            })
        }

        /// Counts one more import in `tx`: caches of what is computed from the imported data
        /// are keyed by this revision.
        async fn bump_data_revision(tx: &mut Tx) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO data_revision (scope, revision) VALUES ('imports', 1) \
                 ON CONFLICT (scope) DO UPDATE SET revision = data_revision.revision + 1",
            )
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        async fn count(tx: &mut Tx, sql: &str, key: Option<&str>) -> Result<u64, StoreError> {
            let mut query = sqlx::query_scalar::<_, i64>(sql);
            if let Some(key) = key {
                query = query.bind(key);
            }
            let n = query.fetch_one(&mut **tx).await?;
            Ok(u64::try_from(n).unwrap_or(0))
        }

        async fn insert_epcis(tx: &mut Tx, rows: &[Epci]) -> Result<(), StoreError> {
            for chunk in rows.chunks(CHUNK_ROWS) {
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO epci (siren, name, plh_required, housing_competent, cia_concluded_on) ",
                );
                qb.push_values(chunk, |mut b, e| {
                    b.push_bind(e.siren.as_str())
                        .push_bind(e.name.as_str())
                        .push_bind(e.plh_required)
                        .push_bind(e.housing_competent)
                        .push_bind(e.cia_concluded_on);
                });
                qb.push(
                    " ON CONFLICT (siren) DO UPDATE SET name = excluded.name, \
                     plh_required = excluded.plh_required, housing_competent = excluded.housing_competent, \
                     cia_concluded_on = excluded.cia_concluded_on",
                );
                qb.build().execute(&mut **tx).await.map_err(map_write_error)?;
            }
            Ok(())
        }

        async fn insert_communes(tx: &mut Tx, rows: &[Commune]) -> Result<(), StoreError> {
            for chunk in rows.chunks(CHUNK_ROWS) {
                let mut qb =
                    QueryBuilder::<$db>::new("INSERT INTO commune (insee, name, epci_siren) ");
                qb.push_values(chunk, |mut b, c| {
                    b.push_bind(c.insee.as_str())
                        .push_bind(c.name.as_str())
                        .push_bind(c.epci.as_ref().map(Siren::as_str));
                });
                qb.push(
                    " ON CONFLICT (insee) DO UPDATE SET name = excluded.name, epci_siren = excluded.epci_siren",
                );
                qb.build().execute(&mut **tx).await.map_err(map_write_error)?;
            }
            Ok(())
        }

        async fn insert_qpvs(tx: &mut Tx, rows: &[Qpv]) -> Result<(), StoreError> {
            for chunk in rows.chunks(CHUNK_ROWS) {
                let mut qb = QueryBuilder::<$db>::new("INSERT INTO qpv (code, name, commune_insee) ");
                qb.push_values(chunk, |mut b, q| {
                    b.push_bind(q.code.as_str())
                        .push_bind(q.name.as_str())
                        .push_bind(q.commune.as_str());
                });
                qb.push(
                    " ON CONFLICT (code) DO UPDATE SET name = excluded.name, commune_insee = excluded.commune_insee",
                );
                qb.build().execute(&mut **tx).await.map_err(map_write_error)?;
            }
            Ok(())
        }

        async fn insert_bailleurs(tx: &mut Tx, rows: &[Bailleur]) -> Result<(), StoreError> {
            for chunk in rows.chunks(CHUNK_ROWS) {
                let mut qb = QueryBuilder::<$db>::new("INSERT INTO bailleur (siren, name) ");
                qb.push_values(chunk, |mut b, x| {
                    b.push_bind(x.siren.as_str()).push_bind(x.name.as_str());
                });
                qb.push(" ON CONFLICT (siren) DO UPDATE SET name = excluded.name");
                qb.build().execute(&mut **tx).await.map_err(map_write_error)?;
            }
            Ok(())
        }

        async fn insert_reservataires(tx: &mut Tx, rows: &[Reservataire]) -> Result<(), StoreError> {
            for chunk in rows.chunks(CHUNK_ROWS) {
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO reservataire (id, name, kind, basis, territory) ",
                );
                qb.push_values(chunk, |mut b, r| {
                    b.push_bind(r.id.as_str())
                        .push_bind(r.name.as_str())
                        .push_bind(r.kind.label())
                        .push_bind(r.basis.label())
                        .push_bind(r.territory.as_deref());
                });
                qb.push(
                    " ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                     basis = excluded.basis, territory = excluded.territory",
                );
                qb.build().execute(&mut **tx).await.map_err(map_write_error)?;
            }
            Ok(())
        }

        async fn insert_logements(tx: &mut Tx, rows: &[Logement]) -> Result<(), StoreError> {
            for chunk in rows.chunks(CHUNK_ROWS) {
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO logement (rpls_id, bailleur_siren, commune_insee, qpv_code, typology, \
                     financing, individual, construction_year, outside_flux) ",
                );
                qb.push_values(chunk, |mut b, l| {
                    b.push_bind(l.rpls_id.as_str())
                        .push_bind(l.bailleur.as_str())
                        .push_bind(l.commune.as_str())
                        .push_bind(l.qpv.as_ref().map(|q| q.as_str()))
                        .push_bind(l.typology.label())
                        .push_bind(l.financing.label())
                        .push_bind(l.individual)
                        .push_bind(l.construction_year)
                        .push_bind(l.outside_flux.as_deref());
                });
                // The WHERE clause keeps a dwelling with its bailleur even if a caller skipped
                // the ownership check: a file never moves another bailleur's dwelling.
                qb.push(
                    " ON CONFLICT (rpls_id) DO UPDATE SET commune_insee = excluded.commune_insee, \
                     qpv_code = excluded.qpv_code, typology = excluded.typology, financing = excluded.financing, \
                     individual = excluded.individual, construction_year = excluded.construction_year, \
                     outside_flux = excluded.outside_flux \
                     WHERE logement.bailleur_siren = excluded.bailleur_siren",
                );
                qb.build().execute(&mut **tx).await.map_err(map_write_error)?;
            }
            Ok(())
        }

        async fn insert_stock_reservations(
            tx: &mut Tx,
            rows: &[StockReservation],
        ) -> Result<(), StoreError> {
            for chunk in rows.chunks(CHUNK_ROWS) {
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO stock_reservation (rpls_id, reservataire_id, basis, end_date) ",
                );
                qb.push_values(chunk, |mut b, r| {
                    b.push_bind(r.rpls_id.as_str())
                        .push_bind(r.reservataire.as_str())
                        .push_bind(r.basis.label())
                        .push_bind(r.end_date);
                });
                qb.push(
                    " ON CONFLICT (rpls_id, reservataire_id) DO UPDATE SET basis = excluded.basis, \
                     end_date = excluded.end_date",
                );
                qb.build().execute(&mut **tx).await.map_err(map_write_error)?;
            }
            Ok(())
        }

        async fn insert_releases(tx: &mut Tx, rows: &[Release]) -> Result<(), StoreError> {
            for chunk in rows.chunks(CHUNK_ROWS) {
                let mut qb =
                    QueryBuilder::<$db>::new("INSERT INTO logement_release (rpls_id, released_on) ");
                qb.push_values(chunk, |mut b, r| {
                    b.push_bind(r.rpls_id.as_str()).push_bind(r.date);
                });
                qb.push(" ON CONFLICT (rpls_id, released_on) DO NOTHING");
                qb.build().execute(&mut **tx).await.map_err(map_write_error)?;
            }
            Ok(())
        }

        async fn insert_exclusions(
            tx: &mut Tx,
            rows: &[PlannedExclusion],
        ) -> Result<(), StoreError> {
            for chunk in rows.chunks(CHUNK_ROWS) {
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO planned_exclusion (bailleur_siren, year, category, commune_insee, \
                     typology, qpv, count) ",
                );
                qb.push_values(chunk, |mut b, x| {
                    b.push_bind(x.bailleur.as_str())
                        .push_bind(x.year)
                        .push_bind(x.category.label())
                        .push_bind(x.commune.as_ref().map_or("", |c| c.as_str()))
                        .push_bind(x.typology.map_or("", |t| t.label()))
                        .push_bind(qpv_filter_label(x.qpv))
                        .push_bind(x.count);
                });
                qb.build().execute(&mut **tx).await.map_err(map_write_error)?;
            }
            Ok(())
        }

        /// Replaces the planned exclusions of the years present in the file: a line removed
        /// from the bailleur's plan disappears, and importing the same file twice changes
        /// nothing.
        async fn replace_exclusions(
            tx: &mut Tx,
            bailleur: &Siren,
            rows: &[PlannedExclusion],
        ) -> Result<ImportCounts, StoreError> {
            let years: std::collections::BTreeSet<i32> = rows.iter().map(|r| r.year).collect();
            let mut before = 0;
            for year in &years {
                before += sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM planned_exclusion WHERE bailleur_siren = $1 AND year = $2",
                )
                .bind(bailleur.as_str())
                .bind(*year)
                .fetch_one(&mut **tx)
                .await?;
                sqlx::query("DELETE FROM planned_exclusion WHERE bailleur_siren = $1 AND year = $2")
                    .bind(bailleur.as_str())
                    .bind(*year)
                    .execute(&mut **tx)
                    .await?;
            }
            insert_exclusions(tx, rows).await?;
            let before = u64::try_from(before).unwrap_or(0);
            let n = rows.len() as u64;
            Ok(ImportCounts {
                inserted: n.saturating_sub(before),
                updated: n.min(before),
                removed: before.saturating_sub(n),
            })
        }

        const COUNT_RELEASES: &str = "SELECT COUNT(*) FROM logement_release r \
             JOIN logement l ON l.rpls_id = r.rpls_id WHERE l.bailleur_siren = $1";
        const COUNT_STOCK: &str = "SELECT COUNT(*) FROM stock_reservation r \
             JOIN logement l ON l.rpls_id = r.rpls_id WHERE l.bailleur_siren = $1";

        #[async_trait]
        impl Repository for $store {
            fn backend(&self) -> Backend {
                $backend
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn migrate(&self) -> Result<(), StoreError> {
                Self::migrator().run(&self.pool).await?;
                // A database written before row states were recorded gets them now, once.
                super::conventions::ConventionStore::record_initial_row_states(self).await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query_scalar::<_, i32>("SELECT 1")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(())
            }

            async fn data_revision(&self) -> Result<i64, StoreError> {
                let revision: Option<i64> = sqlx::query_scalar(
                    "SELECT revision FROM data_revision WHERE scope = 'imports'",
                )
                .fetch_optional(&self.pool)
                .await?;
                Ok(revision.unwrap_or(0))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn import(&self, batch: &ImportBatch) -> Result<ImportCounts, StoreError> {
                let mut tx = self.begin_write().await?;
                let counts = if let ImportBatch::Exclusions(bailleur, rows) = batch {
                    replace_exclusions(&mut tx, bailleur, rows).await?
                } else {
                    // Counting the rows before and after the upsert tells new rows from
                    // replaced ones, on both engines alike.
                    let (count_sql, key) = match batch {
                        ImportBatch::Epcis(_) => ("SELECT COUNT(*) FROM epci", None),
                        ImportBatch::Communes(_) => ("SELECT COUNT(*) FROM commune", None),
                        ImportBatch::Qpvs(_) => ("SELECT COUNT(*) FROM qpv", None),
                        ImportBatch::Bailleurs(_) => ("SELECT COUNT(*) FROM bailleur", None),
                        ImportBatch::Reservataires(_) => ("SELECT COUNT(*) FROM reservataire", None),
                        ImportBatch::Logements(b, _) => (
                            "SELECT COUNT(*) FROM logement WHERE bailleur_siren = $1",
                            Some(b.as_str()),
                        ),
                        ImportBatch::StockReservations(b, _) => (COUNT_STOCK, Some(b.as_str())),
                        ImportBatch::Releases(b, _) | ImportBatch::Exclusions(b, _) => {
                            (COUNT_RELEASES, Some(b.as_str()))
                        }
                    };
                    let before = count(&mut tx, count_sql, key).await?;
                    match batch {
                        ImportBatch::Epcis(rows) => insert_epcis(&mut tx, rows).await?,
                        ImportBatch::Communes(rows) => insert_communes(&mut tx, rows).await?,
                        ImportBatch::Qpvs(rows) => insert_qpvs(&mut tx, rows).await?,
                        ImportBatch::Bailleurs(rows) => insert_bailleurs(&mut tx, rows).await?,
                        ImportBatch::Reservataires(rows) => {
                            insert_reservataires(&mut tx, rows).await?
                        }
                        ImportBatch::Logements(_, rows) => insert_logements(&mut tx, rows).await?,
                        ImportBatch::StockReservations(_, rows) => {
                            insert_stock_reservations(&mut tx, rows).await?
                        }
                        ImportBatch::Releases(_, rows) => insert_releases(&mut tx, rows).await?,
                        ImportBatch::Exclusions(..) => {}
                    }
                    let after = count(&mut tx, count_sql, key).await?;
                    let inserted = after.saturating_sub(before);
                    ImportCounts {
                        inserted,
                        updated: (batch.len() as u64).saturating_sub(inserted),
                        removed: 0,
                    }
                };
                bump_data_revision(&mut tx).await?;
                tx.commit().await?;
                Ok(counts)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn known_keys(&self, set: KeySet) -> Result<HashSet<String>, StoreError> {
                let (sql, key) = match &set {
                    KeySet::Epcis => ("SELECT siren FROM epci", None),
                    KeySet::Communes => ("SELECT insee FROM commune", None),
                    KeySet::Qpvs => ("SELECT code FROM qpv", None),
                    KeySet::Bailleurs => ("SELECT siren FROM bailleur", None),
                    KeySet::Reservataires => ("SELECT id FROM reservataire", None),
                    KeySet::Logements(bailleur) => (
                        "SELECT rpls_id FROM logement WHERE bailleur_siren = $1",
                        Some(bailleur.as_str()),
                    ),
                    KeySet::LogementsInEpci(bailleur, epci) => {
                        let ids = sqlx::query_scalar::<_, String>(
                            "SELECT l.rpls_id FROM logement l \
                             JOIN commune c ON c.insee = l.commune_insee \
                             WHERE l.bailleur_siren = $1 AND c.epci_siren = $2",
                        )
                        .bind(bailleur.as_str())
                        .bind(epci.as_str())
                        .fetch_all(&self.pool)
                        .await?;
                        return Ok(ids.into_iter().collect());
                    }
                };
                let mut query = sqlx::query_scalar::<_, String>(sql);
                if let Some(key) = key {
                    query = query.bind(key);
                }
                Ok(query.fetch_all(&self.pool).await?.into_iter().collect())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(bailleur = %bailleur))]
            async fn replace_exclusions_within(
                &self,
                bailleur: &Siren,
                epci: &Siren,
                with_all_communes: bool,
                rows: &[PlannedExclusion],
            ) -> Result<ImportCounts, StoreError> {
                const IN_EPCI: &str = "bailleur_siren = $1 AND year = $2 AND (commune_insee IN \
                     (SELECT insee FROM commune WHERE epci_siren = $3) OR (commune_insee = '' AND $4 = 1))";
                let mut tx = self.begin_write().await?;
                let years: std::collections::BTreeSet<i32> = rows.iter().map(|r| r.year).collect();
                let mut before = 0;
                for year in &years {
                    before += sqlx::query_scalar::<_, i64>(&format!(
                        "SELECT COUNT(*) FROM planned_exclusion WHERE {IN_EPCI}"
                    ))
                    .bind(bailleur.as_str())
                    .bind(*year)
                    .bind(epci.as_str())
                    .bind(i32::from(with_all_communes))
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(&format!("DELETE FROM planned_exclusion WHERE {IN_EPCI}"))
                        .bind(bailleur.as_str())
                        .bind(*year)
                        .bind(epci.as_str())
                        .bind(i32::from(with_all_communes))
                        .execute(&mut *tx)
                        .await?;
                }
                insert_exclusions(&mut tx, rows).await?;
                bump_data_revision(&mut tx).await?;
                tx.commit().await?;
                let before = u64::try_from(before).unwrap_or(0);
                let n = rows.len() as u64;
                Ok(ImportCounts {
                    inserted: n.saturating_sub(before),
                    updated: n.min(before),
                    removed: before.saturating_sub(n),
                })
            }

            #[tracing::instrument(level = "debug", skip_all, fields(bailleur = %bailleur))]
            async fn logements_of_other_bailleurs(
                &self,
                bailleur: &Siren,
                ids: &[RplsId],
            ) -> Result<Vec<(RplsId, Siren)>, StoreError> {
                let mut found = Vec::new();
                for chunk in ids.chunks(CHUNK_ROWS) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT rpls_id, bailleur_siren FROM logement WHERE bailleur_siren <> ",
                    );
                    qb.push_bind(bailleur.as_str()).push(" AND rpls_id IN (");
                    let mut separated = qb.separated(", ");
                    for id in chunk {
                        separated.push_bind(id.as_str());
                    }
                    qb.push(")");
                    let rows: Vec<(String, String)> =
                        qb.build_query_as().fetch_all(&self.pool).await?;
                    for (id, owner) in rows {
                        found.push((decode(&id, "identifiant RPLS")?, decode(&owner, "SIREN")?));
                    }
                }
                found.sort();
                Ok(found)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(epci = %siren))]
            async fn epci_facts(&self, siren: &Siren) -> Result<Option<EpciFacts>, StoreError> {
                let Some(epci) = self.epcis().await?.into_iter().find(|e| &e.epci.siren == siren)
                else {
                    return Ok(None);
                };
                Ok(Some(EpciFacts {
                    qpv_count: usize::try_from(epci.qpvs).unwrap_or(usize::MAX),
                    epci: epci.epci,
                }))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn epcis(&self) -> Result<Vec<EpciSummary>, StoreError> {
                let rows: Vec<(String, String, bool, bool, Option<NaiveDate>, i64, i64)> =
                    sqlx::query_as(
                        "SELECT e.siren, e.name, e.plh_required, e.housing_competent, e.cia_concluded_on, \
                         (SELECT COUNT(*) FROM commune c WHERE c.epci_siren = e.siren), \
                         (SELECT COUNT(*) FROM qpv q JOIN commune c ON c.insee = q.commune_insee \
                          WHERE c.epci_siren = e.siren) \
                         FROM epci e ORDER BY e.name, e.siren",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter()
                    .map(|(siren, name, plh, competent, cia, communes, qpvs)| {
                        Ok(EpciSummary {
                            epci: Epci {
                                siren: decode(&siren, "SIREN d'EPCI")?,
                                name,
                                plh_required: plh,
                                housing_competent: competent,
                                cia_concluded_on: cia,
                            },
                            communes: u64::try_from(communes).unwrap_or(0),
                            qpvs: u64::try_from(qpvs).unwrap_or(0),
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(epci = %siren))]
            async fn communes_of_epci(&self, siren: &Siren) -> Result<Vec<Commune>, StoreError> {
                let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
                    "SELECT insee, name, epci_siren FROM commune WHERE epci_siren = $1 ORDER BY insee",
                )
                .bind(siren.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(commune_of_row).collect()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn communes(&self) -> Result<Vec<Commune>, StoreError> {
                let rows: Vec<(String, String, Option<String>)> =
                    sqlx::query_as("SELECT insee, name, epci_siren FROM commune")
                        .fetch_all(&self.pool)
                        .await?;
                let mut communes = rows
                    .into_iter()
                    .map(commune_of_row)
                    .collect::<Result<Vec<_>, StoreError>>()?;
                // Sorted here: both engines must give the same order whatever their collation.
                communes.sort_by(|a, b| a.insee.cmp(&b.insee));
                Ok(communes)
            }

            async fn qpvs_of_epci(&self, siren: &Siren) -> Result<Vec<Qpv>, StoreError> {
                let rows: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT q.code, q.name, q.commune_insee FROM qpv q \
                     JOIN commune c ON c.insee = q.commune_insee \
                     WHERE c.epci_siren = $1 ORDER BY q.commune_insee, q.code",
                )
                .bind(siren.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(code, name, commune)| {
                        Ok(Qpv {
                            code: decode(&code, "code de QPV")?,
                            name,
                            commune: decode(&commune, "code INSEE")?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(bailleur = %bailleur, epci = %epci))]
            async fn stock_rights_in_epci(
                &self,
                bailleur: &Siren,
                epci: &Siren,
            ) -> Result<Vec<StockRightCount>, StoreError> {
                let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
                    "SELECT r.reservataire_id, l.commune_insee, l.typology, COUNT(*) \
                     FROM stock_reservation r JOIN logement l ON l.rpls_id = r.rpls_id \
                     JOIN commune c ON c.insee = l.commune_insee \
                     WHERE l.bailleur_siren = $1 AND c.epci_siren = $2 \
                     GROUP BY r.reservataire_id, l.commune_insee, l.typology",
                )
                .bind(bailleur.as_str())
                .bind(epci.as_str())
                .fetch_all(&self.pool)
                .await?;
                let mut counts: Vec<StockRightCount> = rows
                    .into_iter()
                    .map(|(reservataire, commune, typology, n)| StockRightCount {
                        reservataire,
                        commune,
                        typology,
                        dwellings: u64::try_from(n).unwrap_or(0),
                    })
                    .collect();
                // Sorted here: both engines must give the same order whatever their collation.
                counts.sort_by(|a, b| {
                    (&a.reservataire, &a.commune, &a.typology).cmp(&(&b.reservataire, &b.commune, &b.typology))
                });
                Ok(counts)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn bailleurs(&self) -> Result<Vec<BailleurSummary>, StoreError> {
                type Row = (String, String, i64, i64, i64, i64, i64, Option<NaiveDate>, Option<NaiveDate>, i64);
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT b.siren, b.name, \
                     (SELECT COUNT(*) FROM logement l WHERE l.bailleur_siren = b.siren), \
                     (SELECT COUNT(outside_flux) FROM logement l WHERE l.bailleur_siren = b.siren), \
                     (SELECT COUNT(qpv_code) FROM logement l WHERE l.bailleur_siren = b.siren), \
                     (SELECT COUNT(*) FROM stock_reservation r JOIN logement l ON l.rpls_id = r.rpls_id \
                      WHERE l.bailleur_siren = b.siren), \
                     (SELECT COUNT(*) FROM logement_release r JOIN logement l ON l.rpls_id = r.rpls_id \
                      WHERE l.bailleur_siren = b.siren), \
                     (SELECT MIN(r.released_on) FROM logement_release r JOIN logement l ON l.rpls_id = r.rpls_id \
                      WHERE l.bailleur_siren = b.siren), \
                     (SELECT MAX(r.released_on) FROM logement_release r JOIN logement l ON l.rpls_id = r.rpls_id \
                      WHERE l.bailleur_siren = b.siren), \
                     (SELECT COUNT(*) FROM planned_exclusion x WHERE x.bailleur_siren = b.siren) \
                     FROM bailleur b ORDER BY b.name, b.siren",
                )
                .fetch_all(&self.pool)
                .await?;
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                rows.into_iter()
                    .map(|(siren, name, logements, outside, qpv, stock, releases, first, last, excl)| {
                        Ok(BailleurSummary {
                            bailleur: Bailleur {
                                siren: decode(&siren, "SIREN de bailleur")?,
                                name,
                            },
                            logements: count(logements),
                            outside_flux: count(outside),
                            in_qpv: count(qpv),
                            stock_reservations: count(stock),
                            releases: count(releases),
                            first_release_year: first.map(|d| chrono::Datelike::year(&d)),
                            last_release_year: last.map(|d| chrono::Datelike::year(&d)),
                            planned_exclusions: count(excl),
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn reservataires(&self) -> Result<Vec<Reservataire>, StoreError> {
                let rows: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
                    "SELECT id, name, kind, basis, territory FROM reservataire ORDER BY id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(id, name, kind, basis, territory)| {
                        Ok(Reservataire {
                            id: decode(&id, "identifiant de réservataire")?,
                            name,
                            kind: decode(&kind, "type de réservataire")?,
                            basis: decode(&basis, "fondement")?,
                            territory,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(epci = %siren))]
            async fn bailleur(&self, siren: &Siren) -> Result<Option<Bailleur>, StoreError> {
                let row: Option<(String, String)> =
                    sqlx::query_as("SELECT siren, name FROM bailleur WHERE siren = $1")
                        .bind(siren.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(|(siren, name)| {
                    Ok(Bailleur {
                        siren: decode(&siren, "SIREN de bailleur")?,
                        name,
                    })
                })
                .transpose()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(bailleur = %bailleur))]
            async fn patrimoine(&self, bailleur: &Siren) -> Result<Vec<Logement>, StoreError> {
                type Row = (String, String, Option<String>, String, String, JsonFlag, i32, Option<String>);
                let sql = json_rows_query(
                    $backend,
                    "rpls_id, commune_insee, qpv_code, typology, financing, individual, \
                     construction_year, outside_flux",
                    "FROM logement WHERE bailleur_siren = $1",
                );
                let (json,): (String,) = sqlx::query_as(&sql)
                    .bind(bailleur.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                let rows: Vec<Row> = json_rows(&json, "logements")?;
                let mut logements = rows
                    .into_iter()
                    .map(|(id, commune, qpv, typology, financing, JsonFlag(individual), year, outside)| {
                        Ok(Logement {
                            rpls_id: decode(&id, "identifiant RPLS")?,
                            bailleur: bailleur.clone(),
                            commune: decode(&commune, "code INSEE")?,
                            qpv: qpv.map(|q| decode(&q, "code QPV")).transpose()?,
                            typology: decode(&typology, "typologie")?,
                            financing: decode(&financing, "financement")?,
                            individual,
                            construction_year: year,
                            outside_flux: outside,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                // Sorted here rather than by ORDER BY: PostgreSQL's collation may order text
                // unlike SQLite's, and both engines must give the same answer.
                logements.sort_by(|a, b| a.rpls_id.cmp(&b.rpls_id));
                Ok(logements)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(bailleur = %bailleur))]
            async fn releases(
                &self,
                bailleur: &Siren,
                from: NaiveDate,
                to: NaiveDate,
            ) -> Result<Vec<Release>, StoreError> {
                let sql = json_rows_query(
                    $backend,
                    "r.rpls_id, r.released_on",
                    "FROM logement_release r JOIN logement l ON l.rpls_id = r.rpls_id \
                     WHERE l.bailleur_siren = $1 AND r.released_on >= $2 AND r.released_on <= $3",
                );
                let (json,): (String,) = sqlx::query_as(&sql)
                    .bind(bailleur.as_str())
                    .bind(from)
                    .bind(to)
                    .fetch_one(&self.pool)
                    .await?;
                let rows: Vec<(String, NaiveDate)> = json_rows(&json, "libérations")?;
                let mut releases = rows
                    .into_iter()
                    .map(|(id, date)| {
                        Ok(Release {
                            rpls_id: decode(&id, "identifiant RPLS")?,
                            date,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                releases.sort_by(|a, b| (a.date, &a.rpls_id).cmp(&(b.date, &b.rpls_id)));
                Ok(releases)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(bailleur = %bailleur))]
            async fn stock_reservations(
                &self,
                bailleur: &Siren,
            ) -> Result<Vec<StockReservation>, StoreError> {
                let sql = json_rows_query(
                    $backend,
                    "r.rpls_id, r.reservataire_id, r.basis, r.end_date",
                    "FROM stock_reservation r JOIN logement l ON l.rpls_id = r.rpls_id \
                     WHERE l.bailleur_siren = $1",
                );
                let (json,): (String,) = sqlx::query_as(&sql)
                    .bind(bailleur.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                let rows: Vec<(String, String, String, Option<NaiveDate>)> =
                    json_rows(&json, "droits en stock")?;
                let mut rights = rows
                    .into_iter()
                    .map(|(id, reservataire, basis, end_date)| {
                        Ok(StockReservation {
                            rpls_id: decode(&id, "identifiant RPLS")?,
                            reservataire: decode(&reservataire, "identifiant de réservataire")?,
                            basis: decode(&basis, "fondement")?,
                            end_date,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                rights.sort_by(|a, b| (&a.rpls_id, &a.reservataire).cmp(&(&b.rpls_id, &b.reservataire)));
                Ok(rights)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(bailleur = %bailleur))]
            async fn planned_exclusions(
                &self,
                bailleur: &Siren,
                year: i32,
            ) -> Result<Vec<PlannedExclusion>, StoreError> {
                let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
                    "SELECT category, commune_insee, typology, qpv, count FROM planned_exclusion \
                     WHERE bailleur_siren = $1 AND year = $2",
                )
                .bind(bailleur.as_str())
                .bind(year)
                .fetch_all(&self.pool)
                .await?;
                let mut plan = rows
                    .into_iter()
                    .map(|(category, commune, typology, qpv, count)| {
                        Ok(PlannedExclusion {
                            bailleur: bailleur.clone(),
                            year,
                            category: decode(&category, "catégorie d'exclusion")?,
                            commune: optional_filter(&commune, "code INSEE d'exclusion")?,
                            typology: optional_filter(&typology, "typologie d'exclusion")?,
                            qpv: qpv_filter_from_label(&qpv)?,
                            count,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                plan.sort_by(|a, b| {
                    (a.category, &a.commune, a.typology, a.qpv)
                        .cmp(&(b.category, &b.commune, b.typology, b.qpv))
                });
                Ok(plan)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn close(&self) {
                self.pool.close().await;
            }
        }
    };
}
pub(super) use impl_repository;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_constraints_are_recognised_on_both_engines() {
        let pg = named_constraint(Some("app_user_email_key"), "duplicate key value");
        let sqlite = named_constraint(None, "UNIQUE constraint failed: app_user.email");
        assert_eq!(pg, sqlite);
        let field = pg.expect("the e-mail constraint");
        assert!(field.duplicate);
        assert_eq!(
            field.message(),
            "adresse électronique : un compte existe déjà pour cette adresse"
        );
        let fk = named_constraint(Some("convention_epci_siren_fkey"), "insert or update");
        assert_eq!(fk.map(|f| (f.field, f.duplicate)), Some(("EPCI", false)));
        assert_eq!(
            named_constraint(None, "FOREIGN KEY constraint failed"),
            None
        );
        assert_eq!(
            named_constraint(Some("logement_pkey"), "duplicate key"),
            None
        );
        assert_eq!(
            named_constraint(
                None,
                "UNIQUE constraint failed: app_user.email, app_user.name"
            ),
            None
        );
    }
}
