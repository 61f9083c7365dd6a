//! The repository contract, run on SQLite and on PostgreSQL (`TEST_DATABASE_URL`).

mod common;

use chrono::NaiveDate;
use common::TestDb;
use convention_flux::domain::convention::{ConventionState, Role};
use convention_flux::domain::permission::PartyKind;
use convention_flux::domain::{
    Bailleur, Basis, Commune, Epci, ExclusionCategory, Financing, Logement, PlannedExclusion, Qpv,
    Release, Reservataire, ReservataireKind, Siren, StockReservation, Typology,
};
use convention_flux::store::conventions::{
    ConventionChange, MemberAccess, MemberUser, NewConvention, NewMember, NewOrganisation, NewUser,
    PartyRecord,
};
use convention_flux::store::{ImportBatch, ImportCounts, KeySet, StoreError, connect};

const EPCI: &str = "200046977";
const BAILLEUR: &str = "270690001";
const OTHER_BAILLEUR: &str = "389000001";

fn siren(value: &str) -> Siren {
    value.parse().unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn epci(cia: Option<NaiveDate>) -> Epci {
    Epci {
        siren: siren(EPCI),
        name: "Métropole de Lyon".into(),
        plh_required: true,
        housing_competent: true,
        cia_concluded_on: cia,
    }
}

fn commune(insee: &str, name: &str) -> Commune {
    Commune {
        insee: insee.parse().unwrap(),
        name: name.into(),
        epci: Some(siren(EPCI)),
    }
}

fn logement(id: &str, bailleur: &str, qpv: bool) -> Logement {
    Logement {
        rpls_id: id.parse().unwrap(),
        bailleur: siren(bailleur),
        commune: "69123".parse().unwrap(),
        qpv: qpv.then(|| "QN06901M".parse().unwrap()),
        typology: Typology::T3,
        financing: Financing::Plus,
        individual: false,
        construction_year: 1972,
        outside_flux: None,
    }
}

/// EPCI, two communes, one QPV, two bailleurs and one réservataire.
async fn territory(db: &TestDb) {
    let store = db.store.as_ref();
    store
        .import(&ImportBatch::Epcis(vec![epci(Some(day(2021, 6, 1)))]))
        .await
        .unwrap();
    store
        .import(&ImportBatch::Communes(vec![
            commune("69123", "Lyon"),
            commune("69266", "Villeurbanne"),
        ]))
        .await
        .unwrap();
    store
        .import(&ImportBatch::Qpvs(vec![Qpv {
            code: "QN06901M".parse().unwrap(),
            name: "Duchère".into(),
            commune: "69123".parse().unwrap(),
        }]))
        .await
        .unwrap();
    store
        .import(&ImportBatch::Bailleurs(vec![
            Bailleur {
                siren: siren(BAILLEUR),
                name: "OPH Démo".into(),
            },
            Bailleur {
                siren: siren(OTHER_BAILLEUR),
                name: "SA Autre".into(),
            },
        ]))
        .await
        .unwrap();
    store
        .import(&ImportBatch::Reservataires(vec![Reservataire {
            id: "etat".parse().unwrap(),
            name: "Préfet du Rhône".into(),
            kind: ReservataireKind::Etat,
            basis: Basis::ContingentPrefectoral,
            territory: None,
        }]))
        .await
        .unwrap();
}

async fn upserts_count_new_and_replaced_rows(db: &TestDb) {
    territory(db).await;
    let store = db.store.as_ref();
    let rows = vec![
        logement("A1", BAILLEUR, true),
        logement("A2", BAILLEUR, false),
    ];
    let first = store
        .import(&ImportBatch::Logements(siren(BAILLEUR), rows.clone()))
        .await
        .unwrap();
    assert_eq!(
        first,
        ImportCounts {
            inserted: 2,
            updated: 0,
            removed: 0
        }
    );
    let mut changed = rows.clone();
    changed[1].typology = Typology::T5;
    changed.push(logement("A3", BAILLEUR, false));
    let second = store
        .import(&ImportBatch::Logements(siren(BAILLEUR), changed))
        .await
        .unwrap();
    assert_eq!(
        second,
        ImportCounts {
            inserted: 1,
            updated: 2,
            removed: 0
        }
    );
    let summary = &store.bailleurs().await.unwrap()[0];
    assert_eq!(summary.bailleur.siren.as_str(), BAILLEUR);
    assert_eq!((summary.logements, summary.in_qpv), (3, 1));
    let ids = store
        .known_keys(KeySet::Logements(siren(BAILLEUR)))
        .await
        .unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains("A3"));
}

async fn the_territory_reads_back_as_written(db: &TestDb) {
    territory(db).await;
    let store = db.store.as_ref();
    let epcis = store.epcis().await.unwrap();
    assert_eq!(epcis.len(), 1);
    assert_eq!(epcis[0].epci, epci(Some(day(2021, 6, 1))));
    assert_eq!((epcis[0].communes, epcis[0].qpvs), (2, 1));
    let facts = store.epci_facts(&siren(EPCI)).await.unwrap().unwrap();
    assert_eq!(facts.qpv_count, 1);
    assert!(
        store
            .epci_facts(&siren("552081317"))
            .await
            .unwrap()
            .is_none()
    );
    let communes = store.communes_of_epci(&siren(EPCI)).await.unwrap();
    assert_eq!(
        communes,
        vec![commune("69123", "Lyon"), commune("69266", "Villeurbanne")]
    );
    let reservataires = store.reservataires().await.unwrap();
    assert_eq!(reservataires[0].kind, ReservataireKind::Etat);
    // Re-importing with a changed field updates it.
    let counts = store
        .import(&ImportBatch::Epcis(vec![epci(None)]))
        .await
        .unwrap();
    assert_eq!(
        counts,
        ImportCounts {
            inserted: 0,
            updated: 1,
            removed: 0
        }
    );
    assert_eq!(store.epcis().await.unwrap()[0].epci.cia_concluded_on, None);
}

async fn a_refused_row_rolls_back_the_whole_batch(db: &TestDb) {
    territory(db).await;
    let store = db.store.as_ref();
    // 1,500 valid rows then one whose commune does not exist: two chunks are written before the
    // foreign key refuses the last one, and the transaction must undo them.
    let mut rows: Vec<Logement> = (0..1_500)
        .map(|i| logement(&format!("B{i}"), BAILLEUR, false))
        .collect();
    let mut bad = logement("BAD", BAILLEUR, false);
    bad.commune = "01001".parse().unwrap();
    rows.push(bad);
    let error = store
        .import(&ImportBatch::Logements(siren(BAILLEUR), rows))
        .await
        .unwrap_err();
    // A dwelling's commune is no field a user names: the constraint is not translated.
    assert!(
        matches!(error, StoreError::Constraint { field: None, .. }),
        "{error:?}"
    );
    assert!(
        store
            .known_keys(KeySet::Logements(siren(BAILLEUR)))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_dwelling_never_moves_to_another_bailleur(db: &TestDb) {
    territory(db).await;
    let store = db.store.as_ref();
    store
        .import(&ImportBatch::Logements(
            siren(BAILLEUR),
            vec![logement("C1", BAILLEUR, false)],
        ))
        .await
        .unwrap();
    let ids = vec!["C1".parse().unwrap(), "C2".parse().unwrap()];
    let others = store
        .logements_of_other_bailleurs(&siren(OTHER_BAILLEUR), &ids)
        .await
        .unwrap();
    assert_eq!(others, vec![("C1".parse().unwrap(), siren(BAILLEUR))]);
    assert!(
        store
            .logements_of_other_bailleurs(&siren(BAILLEUR), &ids)
            .await
            .unwrap()
            .is_empty()
    );
    // Even without the service's check, the upsert leaves the dwelling with its bailleur.
    store
        .import(&ImportBatch::Logements(
            siren(OTHER_BAILLEUR),
            vec![logement("C1", OTHER_BAILLEUR, true)],
        ))
        .await
        .unwrap();
    assert!(
        store
            .known_keys(KeySet::Logements(siren(BAILLEUR)))
            .await
            .unwrap()
            .contains("C1")
    );
    assert!(
        store
            .known_keys(KeySet::Logements(siren(OTHER_BAILLEUR)))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn releases_and_stock_are_idempotent(db: &TestDb) {
    territory(db).await;
    let store = db.store.as_ref();
    let b = siren(BAILLEUR);
    store
        .import(&ImportBatch::Logements(
            b.clone(),
            vec![logement("D1", BAILLEUR, false)],
        ))
        .await
        .unwrap();
    let releases = vec![
        Release {
            rpls_id: "D1".parse().unwrap(),
            date: day(2024, 3, 1),
        },
        Release {
            rpls_id: "D1".parse().unwrap(),
            date: day(2025, 9, 30),
        },
    ];
    let first = store
        .import(&ImportBatch::Releases(b.clone(), releases.clone()))
        .await
        .unwrap();
    assert_eq!(first.inserted, 2);
    let again = store
        .import(&ImportBatch::Releases(b.clone(), releases))
        .await
        .unwrap();
    assert_eq!(
        again,
        ImportCounts {
            inserted: 0,
            updated: 2,
            removed: 0
        }
    );
    let stock = vec![StockReservation {
        rpls_id: "D1".parse().unwrap(),
        reservataire: "etat".parse().unwrap(),
        basis: Basis::ContingentPrefectoral,
        end_date: Some(day(2030, 12, 31)),
    }];
    assert_eq!(
        store
            .import(&ImportBatch::StockReservations(b.clone(), stock.clone()))
            .await
            .unwrap()
            .inserted,
        1
    );
    assert_eq!(
        store
            .import(&ImportBatch::StockReservations(b.clone(), stock))
            .await
            .unwrap()
            .updated,
        1
    );
    let summary = &store.bailleurs().await.unwrap()[0];
    assert_eq!((summary.releases, summary.stock_reservations), (2, 1));
    assert_eq!(
        (summary.first_release_year, summary.last_release_year),
        (Some(2024), Some(2025))
    );
}

async fn exclusions_replace_the_plan_of_their_year(db: &TestDb) {
    territory(db).await;
    let store = db.store.as_ref();
    let b = siren(BAILLEUR);
    let row = |category, count, year| PlannedExclusion {
        bailleur: b.clone(),
        year,
        category,
        commune: None,
        typology: None,
        qpv: None,
        count,
    };
    let plan = vec![
        row(ExclusionCategory::Mutation, 40, 2027),
        row(ExclusionCategory::Vente, 5, 2027),
        row(ExclusionCategory::Vente, 3, 2026),
    ];
    let first = store
        .import(&ImportBatch::Exclusions(b.clone(), plan))
        .await
        .unwrap();
    assert_eq!(
        first,
        ImportCounts {
            inserted: 3,
            updated: 0,
            removed: 0
        }
    );
    let revised = vec![row(ExclusionCategory::Mutation, 42, 2027)];
    let second = store
        .import(&ImportBatch::Exclusions(b.clone(), revised))
        .await
        .unwrap();
    assert_eq!(
        second,
        ImportCounts {
            inserted: 0,
            updated: 1,
            removed: 1
        }
    );
    // 2026's plan was not in the file and stays.
    assert_eq!(store.bailleurs().await.unwrap()[0].planned_exclusions, 2);
}

async fn migrations_run_once_and_reconnecting_keeps_data(db: &TestDb) {
    territory(db).await;
    let again = connect(&db.url).await.unwrap();
    again.migrate().await.unwrap();
    assert_eq!(again.epcis().await.unwrap().len(), 1);
    again.ping().await.unwrap();
    again.close().await;
}

async fn the_patrimoine_and_its_releases_read_back_for_one_bailleur(db: &TestDb) {
    territory(db).await;
    let store = db.store.as_ref();
    let b = siren(BAILLEUR);
    let mut outside = logement("E2", BAILLEUR, false);
    outside.outside_flux = Some("défense nationale".into());
    outside.typology = Typology::T6Plus;
    outside.financing = Financing::Pls;
    outside.individual = true;
    let rows = vec![
        logement("E3", BAILLEUR, true),
        outside.clone(),
        logement("E1", BAILLEUR, false),
    ];
    store
        .import(&ImportBatch::Logements(b.clone(), rows))
        .await
        .unwrap();
    store
        .import(&ImportBatch::Logements(
            siren(OTHER_BAILLEUR),
            vec![logement("F1", OTHER_BAILLEUR, false)],
        ))
        .await
        .unwrap();
    let patrimoine = store.patrimoine(&b).await.unwrap();
    let ids: Vec<&str> = patrimoine.iter().map(|l| l.rpls_id.as_str()).collect();
    assert_eq!(ids, ["E1", "E2", "E3"]);
    assert_eq!(patrimoine[1], outside);
    assert_eq!(patrimoine[2], logement("E3", BAILLEUR, true));
    assert_eq!(
        store
            .patrimoine(&siren(OTHER_BAILLEUR))
            .await
            .unwrap()
            .len(),
        1
    );

    let release = |id: &str, date| Release {
        rpls_id: id.parse().unwrap(),
        date,
    };
    store
        .import(&ImportBatch::Releases(
            b.clone(),
            vec![
                release("E1", day(2023, 12, 31)),
                release("E3", day(2026, 12, 31)),
                release("E1", day(2024, 1, 1)),
                release("E1", day(2027, 1, 1)),
            ],
        ))
        .await
        .unwrap();
    store
        .import(&ImportBatch::Releases(
            siren(OTHER_BAILLEUR),
            vec![release("F1", day(2025, 5, 5))],
        ))
        .await
        .unwrap();
    // Both bounds included, by date; the other bailleur's releases never show.
    assert_eq!(
        store
            .releases(&b, day(2024, 1, 1), day(2026, 12, 31))
            .await
            .unwrap(),
        vec![
            release("E1", day(2024, 1, 1)),
            release("E3", day(2026, 12, 31))
        ]
    );
    assert!(
        store
            .releases(&b, day(2025, 1, 1), day(2025, 12, 31))
            .await
            .unwrap()
            .is_empty()
    );

    let found = store.bailleur(&b).await.unwrap().unwrap();
    assert_eq!(found.name, "OPH Démo");
    assert!(store.bailleur(&siren("552081317")).await.unwrap().is_none());
}

async fn planned_exclusions_read_back_with_their_filters(db: &TestDb) {
    territory(db).await;
    let store = db.store.as_ref();
    let b = siren(BAILLEUR);
    let row = |year, category, commune: Option<&str>, typology, qpv, count| PlannedExclusion {
        bailleur: b.clone(),
        year,
        category,
        commune: commune.map(|c| c.parse().unwrap()),
        typology,
        qpv,
        count,
    };
    let vente = row(
        2027,
        ExclusionCategory::Vente,
        Some("69123"),
        Some(Typology::T3),
        Some(false),
        5,
    );
    let npru = row(2027, ExclusionCategory::Npru, None, None, Some(true), 3);
    let mutation = row(2027, ExclusionCategory::Mutation, None, None, None, 40);
    let older = row(2026, ExclusionCategory::Demolition, None, None, None, 2);
    store
        .import(&ImportBatch::Exclusions(
            b.clone(),
            vec![vente.clone(), npru.clone(), older.clone(), mutation.clone()],
        ))
        .await
        .unwrap();
    assert_eq!(
        store.planned_exclusions(&b, 2027).await.unwrap(),
        vec![mutation, npru, vente]
    );
    assert_eq!(
        store.planned_exclusions(&b, 2026).await.unwrap(),
        vec![older]
    );
    assert!(store.planned_exclusions(&b, 2028).await.unwrap().is_empty());
    assert!(
        store
            .planned_exclusions(&siren(OTHER_BAILLEUR), 2027)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Writes `sql` (binding the bailleur's SIREN as `$1`) behind the platform's back.
async fn raw_write(db: &TestDb, sql: &str) {
    if db.engine == "sqlite" {
        let pool = sqlx::SqlitePool::connect(db.url.expose()).await.unwrap();
        sqlx::query(sql)
            .bind(BAILLEUR)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(db.url.expose()).await.unwrap();
        sqlx::query(sql)
            .bind(BAILLEUR)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

/// The three reads of the conversion row by row, as the store made them before it read each
/// table as one JSON array (same SQL, same decoding, same order).
macro_rules! rows_one_by_one {
    ($pool:expr) => {{
        let pool = $pool;
        let b = BAILLEUR;
        let rows: Vec<(
            String,
            String,
            Option<String>,
            String,
            String,
            bool,
            i32,
            Option<String>,
        )> = sqlx::query_as(
            "SELECT rpls_id, commune_insee, qpv_code, typology, financing, individual, \
                 construction_year, outside_flux FROM logement WHERE bailleur_siren = $1",
        )
        .bind(b)
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut logements: Vec<Logement> = rows
            .into_iter()
            .map(
                |(id, commune, qpv, typology, financing, individual, year, outside)| Logement {
                    rpls_id: id.parse().unwrap(),
                    bailleur: siren(b),
                    commune: commune.parse().unwrap(),
                    qpv: qpv.map(|q| q.parse().unwrap()),
                    typology: typology.parse().unwrap(),
                    financing: financing.parse().unwrap(),
                    individual,
                    construction_year: year,
                    outside_flux: outside,
                },
            )
            .collect();
        logements.sort_by(|a, b| a.rpls_id.cmp(&b.rpls_id));
        let rows: Vec<(String, NaiveDate)> = sqlx::query_as(
            "SELECT r.rpls_id, r.released_on FROM logement_release r \
             JOIN logement l ON l.rpls_id = r.rpls_id \
             WHERE l.bailleur_siren = $1 AND r.released_on >= $2 AND r.released_on <= $3",
        )
        .bind(b)
        .bind(day(2024, 1, 1))
        .bind(day(2026, 12, 31))
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut releases: Vec<Release> = rows
            .into_iter()
            .map(|(id, date)| Release {
                rpls_id: id.parse().unwrap(),
                date,
            })
            .collect();
        releases.sort_by(|a, b| (a.date, &a.rpls_id).cmp(&(b.date, &b.rpls_id)));
        let rows: Vec<(String, String, String, Option<NaiveDate>)> = sqlx::query_as(
            "SELECT r.rpls_id, r.reservataire_id, r.basis, r.end_date \
             FROM stock_reservation r JOIN logement l ON l.rpls_id = r.rpls_id \
             WHERE l.bailleur_siren = $1",
        )
        .bind(b)
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut rights: Vec<StockReservation> = rows
            .into_iter()
            .map(|(id, reservataire, basis, end_date)| StockReservation {
                rpls_id: id.parse().unwrap(),
                reservataire: reservataire.parse().unwrap(),
                basis: basis.parse().unwrap(),
                end_date,
            })
            .collect();
        rights.sort_by(|a, b| (&a.rpls_id, &a.reservataire).cmp(&(&b.rpls_id, &b.reservataire)));
        pool.close().await;
        (logements, releases, rights)
    }};
}

/// The patrimoine, its releases and its rights, read as one JSON array per table, are what the
/// row-by-row reads gave: every column, NULLs, booleans (integers in SQLite), dates, text that
/// JSON must escape, and nothing of another bailleur.
async fn the_json_reads_give_what_the_row_by_row_reads_gave(db: &TestDb) {
    territory(db).await;
    let store = db.store.as_ref();
    let b = siren(BAILLEUR);
    store
        .import(&ImportBatch::Reservataires(vec![Reservataire {
            id: "action-logement".parse().unwrap(),
            name: "Action Logement".into(),
            kind: ReservataireKind::ActionLogement,
            basis: Basis::ActionLogement,
            territory: None,
        }]))
        .await
        .unwrap();
    let mut outside = logement("G2", BAILLEUR, false);
    outside.outside_flux = Some("programme « défense » \"nationale\" \\ n° 2".into());
    outside.typology = Typology::T6Plus;
    outside.financing = Financing::Pls;
    outside.individual = true;
    outside.construction_year = 2019;
    let mut villeurbanne = logement("G3", BAILLEUR, true);
    villeurbanne.commune = "69266".parse().unwrap();
    villeurbanne.typology = Typology::T1;
    let plain = logement("G1", BAILLEUR, false);
    store
        .import(&ImportBatch::Logements(
            b.clone(),
            vec![villeurbanne.clone(), outside.clone(), plain.clone()],
        ))
        .await
        .unwrap();
    store
        .import(&ImportBatch::Logements(
            siren(OTHER_BAILLEUR),
            vec![logement("H1", OTHER_BAILLEUR, false)],
        ))
        .await
        .unwrap();
    let release = |id: &str, date| Release {
        rpls_id: id.parse().unwrap(),
        date,
    };
    store
        .import(&ImportBatch::Releases(
            b.clone(),
            vec![
                release("G3", day(2026, 12, 31)),
                release("G1", day(2023, 12, 31)),
                release("G1", day(2024, 1, 1)),
                release("G3", day(2024, 1, 1)),
                release("G1", day(2027, 1, 1)),
            ],
        ))
        .await
        .unwrap();
    store
        .import(&ImportBatch::Releases(
            siren(OTHER_BAILLEUR),
            vec![release("H1", day(2025, 5, 5))],
        ))
        .await
        .unwrap();
    let right = |id: &str, reservataire: &str, basis, end_date| StockReservation {
        rpls_id: id.parse().unwrap(),
        reservataire: reservataire.parse().unwrap(),
        basis,
        end_date,
    };
    store
        .import(&ImportBatch::StockReservations(
            b.clone(),
            vec![
                right("G3", "etat", Basis::ContingentPrefectoral, None),
                right("G1", "etat", Basis::GarantieEmprunt, Some(day(2027, 7, 1))),
                right("G1", "action-logement", Basis::ActionLogement, None),
            ],
        ))
        .await
        .unwrap();
    store
        .import(&ImportBatch::StockReservations(
            siren(OTHER_BAILLEUR),
            vec![right("H1", "etat", Basis::ContingentPrefectoral, None)],
        ))
        .await
        .unwrap();

    let logements = store.patrimoine(&b).await.unwrap();
    let releases = store
        .releases(&b, day(2024, 1, 1), day(2026, 12, 31))
        .await
        .unwrap();
    let rights = store.stock_reservations(&b).await.unwrap();
    // By hand: the three dwellings by id; the releases of 2024–2026 by date then id (G1 on
    // 31/12/2023 and 01/01/2027 fall outside, H1 is the other bailleur's); the rights by
    // dwelling then réservataire.
    assert_eq!(logements, [plain, outside, villeurbanne]);
    assert_eq!(
        releases,
        [
            release("G1", day(2024, 1, 1)),
            release("G3", day(2024, 1, 1)),
            release("G3", day(2026, 12, 31)),
        ]
    );
    assert_eq!(
        rights,
        [
            right("G1", "action-logement", Basis::ActionLogement, None),
            right("G1", "etat", Basis::GarantieEmprunt, Some(day(2027, 7, 1))),
            right("G3", "etat", Basis::ContingentPrefectoral, None),
        ]
    );
    let old = if db.engine == "sqlite" {
        rows_one_by_one!(sqlx::SqlitePool::connect(db.url.expose()).await.unwrap())
    } else {
        rows_one_by_one!(sqlx::PgPool::connect(db.url.expose()).await.unwrap())
    };
    assert_eq!((logements, releases, rights), old);

    // A bailleur with nothing imported reads as empty (PostgreSQL's `json_agg` of no row is
    // NULL).
    assert!(
        store
            .patrimoine(&siren("552081317"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .releases(&siren("552081317"), day(2024, 1, 1), day(2026, 12, 31))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .stock_reservations(&siren("552081317"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn values_changed_outside_the_platform_are_reported_as_corrupt(db: &TestDb) {
    territory(db).await;
    raw_write(
        db,
        "INSERT INTO planned_exclusion (bailleur_siren, year, category, commune_insee, typology, qpv, count) \
         VALUES ($1, 2027, 'vente', 'LYON', '', '', 1)",
    )
    .await;
    let error = db
        .store
        .planned_exclusions(&siren(BAILLEUR), 2027)
        .await
        .unwrap_err();
    match error {
        StoreError::Corrupt(what) => assert!(what.contains("« LYON »"), "{what}"),
        other => panic!("Corrupt expected, got {other:?}"),
    }
}

/// A convention written straight to the store, with a version and an open signing round;
/// returns (convention, secretariat account, round).
async fn convention_with_round(db: &TestDb) -> (i64, i64, i64) {
    use convention_flux::store::conventions::{
        AuditDraft, ConventionChange, FirstChange, NewConvention, NewOrganisation, NewRound,
        NewUser, NewVersion, PartyRecord,
    };
    territory(db).await;
    let store = db.store.as_ref();
    let at = "2026-12-07T10:00:00.000Z";
    let user = store
        .create_user(&NewUser {
            email: "Sec@Cil.test".into(),
            name: "Claire Secrétariat".into(),
            organisation: NewOrganisation {
                kind: "epci".into(),
                name: "Métropole de Lyon".into(),
                reference: EPCI.into(),
            },
            password_hash: None,
            created_at: at.into(),
        })
        .await
        .unwrap();
    let hash = "a".repeat(64);
    let first_hash = hash.clone();
    let first: FirstChange = Box::new(move |_| {
        Ok(ConventionChange {
            new_version: Some(NewVersion {
                number: 1,
                parent_hash: None,
                hash: first_hash,
                document: "{}".into(),
                author_id: user,
                reason: "création".into(),
                created_at: at.into(),
            }),
            audit: vec![AuditDraft {
                at: at.into(),
                actor: None,
                kind: "convention_creee".into(),
                payload: serde_json::json!({}),
            }],
            ..ConventionChange::default()
        })
    });
    let (id, _) = store
        .create_convention(
            &NewConvention {
                epci_siren: EPCI.into(),
                bailleur_siren: BAILLEUR.into(),
                year: 2027,
                title: "Convention de test".into(),
                approval_required: true,
                created_at: at.into(),
                created_by: user,
                parties: vec![PartyRecord {
                    party: "secretariat".into(),
                    kind: "secretariat".into(),
                    name: "Secrétariat".into(),
                    reservataire_kind: String::new(),
                }],
            },
            first,
        )
        .await
        .unwrap();
    let round = store
        .apply_change(&ConventionChange {
            convention_id: id,
            open_round: Some(NewRound {
                version_hash: hash,
                required: vec!["etat".into()],
                opened_by: user,
                opened_at: at.into(),
                deadline: None,
            }),
            ..ConventionChange::default()
        })
        .await
        .unwrap()
        .round_id
        .unwrap();
    (id, user, round)
}

fn mail(to: &str, at: &str) -> convention_flux::store::conventions::OutboxMessage {
    convention_flux::store::conventions::OutboxMessage {
        to: to.into(),
        subject: format!("Pour {to}"),
        body_text: "Bonjour".into(),
        body_html: "<p>Bonjour</p>".into(),
        created_at: at.into(),
        attachments: Vec::new(),
    }
}

async fn a_round_deadline_moves_only_while_the_round_is_open(db: &TestDb) {
    use convention_flux::store::conventions::{ConventionChange, RoundClosing, RoundDeadline};
    let (id, _, round) = convention_with_round(db).await;
    let store = db.store.as_ref();
    let move_to = |deadline: &str| ConventionChange {
        convention_id: id,
        round_deadline: Some(RoundDeadline {
            id: round,
            deadline: deadline.into(),
        }),
        ..ConventionChange::default()
    };
    let deadline = "2027-01-31T23:59:00+01:00";
    store.apply_change(&move_to(deadline)).await.unwrap();
    let snap = store.snapshot(id).await.unwrap().unwrap();
    assert_eq!(
        snap.rounds[0].deadline,
        Some(chrono::DateTime::parse_from_rfc3339(deadline).unwrap())
    );
    assert_eq!(
        store.open_rounds_with_deadline().await.unwrap(),
        vec![(id, round, deadline.to_owned())]
    );
    // The chain records the round as it now stands.
    let events = store.audit_events(id).await.unwrap();
    let rows = events.last().unwrap().rows.clone().unwrap();
    assert!(
        rows.iter()
            .any(|r| r.table == "signing_round" && r.key["id"] == serde_json::json!(round)),
        "{rows:?}"
    );

    // Closed, the round keeps its deadline: the move is refused as a conflict, whole.
    store
        .apply_change(&ConventionChange {
            convention_id: id,
            close_rounds: vec![RoundClosing {
                id: round,
                status: convention_flux::domain::convention::RoundStatus::Annulee,
                reason: "test".into(),
                at: "2026-12-08T10:00:00.000Z".into(),
            }],
            ..ConventionChange::default()
        })
        .await
        .unwrap();
    let revision = store
        .snapshot(id)
        .await
        .unwrap()
        .unwrap()
        .convention
        .revision;
    let error = store
        .apply_change(&move_to("2027-02-28T23:59:00+01:00"))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    let snap = store.snapshot(id).await.unwrap().unwrap();
    assert_eq!(
        snap.rounds[0].deadline,
        Some(chrono::DateTime::parse_from_rfc3339(deadline).unwrap())
    );
    assert_eq!(snap.convention.revision, revision);
}

async fn the_outbox_knows_each_mails_convention_and_reader(db: &TestDb) {
    use convention_flux::store::conventions::{ConventionChange, NewInvitation};
    let (id, user, _) = convention_with_round(db).await;
    let store = db.store.as_ref();
    store
        .apply_change(&ConventionChange {
            convention_id: id,
            outbox: vec![
                mail("Etat@Partie.test", "2026-12-07T11:00:00.000Z"),
                mail("commune@partie.test", "2026-12-07T11:00:01.000Z"),
            ],
            invitation: Some(NewInvitation {
                email: "elise@commune.test".into(),
                name: "Élise Durand".into(),
                organisation: "Mairie".into(),
                role: Role::Contributor,
                party: "commune-69123".into(),
                mandate: "adjointe".into(),
                token_digest: "d".repeat(64),
                expires_at: "2026-12-21T11:00:00.000Z".into(),
                invited_by: user,
            }),
            ..ConventionChange::default()
        })
        .await
        .unwrap();
    // An account's own mail belongs to no convention.
    assert!(
        store
            .create_password_reset(
                user,
                &"e".repeat(64),
                "2026-12-07T12:00:00.000Z",
                &mail("sec@cil.test", "2026-12-07T11:30:00.000Z"),
                "2026-12-07T10:30:00.000Z",
                3,
            )
            .await
            .unwrap()
    );
    let all = store.outbox().await.unwrap();
    let of = |to: &str| all.iter().find(|m| m.to == to).unwrap();
    assert_eq!(of("Etat@Partie.test").convention_id, Some(id));
    assert_eq!(
        of("Etat@Partie.test").created_at,
        "2026-12-07T11:00:00.000Z"
    );
    assert_eq!(of("sec@cil.test").convention_id, None);

    let read = |email: &'static str, conventions: Vec<i64>, limit: i64| async move {
        store
            .outbox_for_reader(email, &conventions, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.to)
            .collect::<Vec<_>>()
    };
    // Whatever the case of the address.
    assert_eq!(
        read("etat@partie.test", vec![], 10).await,
        vec!["Etat@Partie.test"]
    );
    // The secretariat's own mail and its convention's, newest first.
    assert_eq!(
        read("SEC@cil.test", vec![id], 10).await,
        vec!["sec@cil.test", "commune@partie.test", "Etat@Partie.test"]
    );
    assert_eq!(read("sec@cil.test", vec![], 10).await, vec!["sec@cil.test"]);
    assert_eq!(
        read("personne@x.test", vec![id + 1], 10).await,
        Vec::<String>::new()
    );
    assert_eq!(
        read("personne@x.test", vec![id], 1).await,
        vec!["commune@partie.test"]
    );

    let invitations = store.invitations(id).await.unwrap();
    assert_eq!(invitations.len(), 1);
    let invitation = &invitations[0];
    assert_eq!(
        (
            invitation.email.as_str(),
            invitation.role.as_str(),
            invitation.party.as_str()
        ),
        ("elise@commune.test", "contributor", "commune-69123")
    );
    assert_eq!(
        convention_flux::signing::timestamp(invitation.expires_at),
        "2026-12-21T11:00:00.000Z"
    );
    assert_eq!(invitation.used_at, None);
    assert!(store.invitations(id + 1).await.unwrap().is_empty());
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        name: format!("Personne {email}"),
        organisation: NewOrganisation {
            kind: "autre".into(),
            name: "Organisation".into(),
            reference: String::new(),
        },
        password_hash: None,
        created_at: "2027-01-01T00:00:00Z".into(),
    }
}

async fn a_taken_email_is_refused_with_the_field_named(db: &TestDb) {
    let store = db.store.as_ref();
    store.create_user(&new_user("a@b.test")).await.unwrap();
    let error = store.create_user(&new_user("a@b.test")).await.unwrap_err();
    match error {
        StoreError::Constraint {
            field: Some(field), ..
        } => {
            assert_eq!(field.field, "adresse électronique");
            assert!(field.duplicate);
        }
        other => panic!("a named constraint expected, got {other:?}"),
    }
}

/// A member's standing is read typed: its role, what its party is (the State by its kind),
/// and the convention's state (the schema's checks keep any other value out).
async fn a_members_access_is_read_typed(db: &TestDb) {
    territory(db).await;
    let store = db.store.as_ref();
    let creator = store.create_user(&new_user("sec@cil.test")).await.unwrap();
    let prefet = store
        .create_user(&new_user("prefet@etat.test"))
        .await
        .unwrap();
    let party = |party: &str, kind: &str, reservataire_kind: &str| PartyRecord {
        party: party.into(),
        kind: kind.into(),
        name: party.into(),
        reservataire_kind: reservataire_kind.into(),
    };
    let convention = NewConvention {
        epci_siren: EPCI.into(),
        bailleur_siren: BAILLEUR.into(),
        year: 2027,
        title: "Convention".into(),
        approval_required: true,
        created_at: "2027-01-01T00:00:00Z".into(),
        created_by: creator,
        parties: vec![
            party("secretariat", "secretariat", ""),
            party("prefecture-69", "reservataire", "etat"),
            party("bailleur", "bailleur", ""),
        ],
    };
    let (id, _) = store
        .create_convention(&convention, Box::new(|_| Ok(ConventionChange::default())))
        .await
        .unwrap();
    store
        .apply_change(&ConventionChange {
            convention_id: id,
            member: Some(NewMember {
                user: MemberUser::Existing(prefet),
                role: Role::Signatory,
                party: "prefecture-69".into(),
                mandate: String::new(),
            }),
            ..ConventionChange::default()
        })
        .await
        .unwrap();
    let access = store.member_access(id, prefet).await.unwrap().unwrap();
    assert_eq!(
        access,
        MemberAccess {
            role: Role::Signatory,
            party: "prefecture-69".into(),
            party_kind: Some(PartyKind::Reservataire(ReservataireKind::Etat)),
            state: ConventionState::Brouillon,
        }
    );
    let secretariat = store.member_access(id, creator).await.unwrap().unwrap();
    assert_eq!(secretariat.role, Role::Secretariat);
    assert_eq!(secretariat.party_kind, Some(PartyKind::Secretariat));
    store
        .apply_change(&ConventionChange {
            convention_id: id,
            new_state: Some(ConventionState::Abandonnee),
            ..ConventionChange::default()
        })
        .await
        .unwrap();
    let snap = store.snapshot(id).await.unwrap().unwrap();
    assert_eq!(snap.convention.state, ConventionState::Abandonnee);
    assert_eq!(
        snap.members.iter().map(|m| m.role).collect::<Vec<_>>(),
        [Role::Secretariat, Role::Signatory]
    );
    assert_eq!(store.member_access(id, 999_999).await.unwrap(), None);
}

async fn a_version_list_leaves_the_documents_out_and_one_version_reads_whole(db: &TestDb) {
    use convention_flux::store::conventions::{ConventionChange, NewVersion};
    let (id, user, _) = convention_with_round(db).await;
    let store = db.store.as_ref();
    let document = format!("{{\"texte\":\"{}\"}}", "é".repeat(5_000));
    store
        .apply_change(&ConventionChange {
            convention_id: id,
            new_version: Some(NewVersion {
                number: 2,
                parent_hash: Some("a".repeat(64)),
                hash: "b".repeat(64),
                document: document.clone(),
                author_id: user,
                reason: "deuxième".into(),
                created_at: "2026-12-07T11:00:00.000Z".into(),
            }),
            ..ConventionChange::default()
        })
        .await
        .unwrap();
    let whole = store.versions(id).await.unwrap();
    let list = store.version_list(id).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(whole[1].document, document);
    for (listed, read) in list.iter().zip(&whole) {
        assert_eq!(listed.document, "", "no document in the list");
        // Everything else as the whole rows say.
        let mut without = read.clone();
        without.document = String::new();
        assert_eq!(listed, &without);
    }
    let second = store.version_numbered(id, 2).await.unwrap().unwrap();
    assert_eq!(second, whole[1]);
    assert_eq!(second.reason, "deuxième");
    assert_eq!(store.version_numbered(id, 3).await.unwrap(), None);
    assert_eq!(store.version_numbered(id + 1, 1).await.unwrap(), None);
    // The snapshot for reading: the same, the current version's document left out.
    let full = store.snapshot(id).await.unwrap().unwrap();
    let light = store.snapshot_for_reading(id).await.unwrap().unwrap();
    assert_eq!(full.current.as_ref().unwrap().document, document);
    let current = light.current.as_ref().unwrap();
    assert_eq!(current.document, "");
    assert_eq!(current.hash, "b".repeat(64));
    let mut expected = full.clone();
    expected.current.as_mut().unwrap().document = String::new();
    assert_eq!(light, expected);
    assert!(store.snapshot_for_reading(id + 1).await.unwrap().is_none());
}

on_both_engines!(
    a_version_list_leaves_the_documents_out_and_one_version_reads_whole,
    upserts_count_new_and_replaced_rows,
    the_territory_reads_back_as_written,
    a_refused_row_rolls_back_the_whole_batch,
    a_dwelling_never_moves_to_another_bailleur,
    releases_and_stock_are_idempotent,
    exclusions_replace_the_plan_of_their_year,
    migrations_run_once_and_reconnecting_keeps_data,
    the_patrimoine_and_its_releases_read_back_for_one_bailleur,
    planned_exclusions_read_back_with_their_filters,
    values_changed_outside_the_platform_are_reported_as_corrupt,
    the_json_reads_give_what_the_row_by_row_reads_gave,
    a_round_deadline_moves_only_while_the_round_is_open,
    the_outbox_knows_each_mails_convention_and_reader,
    a_taken_email_is_refused_with_the_field_named,
    a_members_access_is_read_typed,
);

#[test]
fn unknown_url_schemes_are_refused_in_french() {
    let error = convention_flux::store::Backend::from_url("mysql://localhost/db").unwrap_err();
    assert!(error.to_string().contains("sqlite:"), "{error}");
}

#[test]
fn test_database_names_replace_the_path() {
    assert_eq!(
        common::with_database("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        common::with_database("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(
        common::with_database("postgres://u@h", "x"),
        "postgres://u@h/x"
    );
}
