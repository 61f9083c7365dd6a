//! The SQL of `ConventionStore`, written once and instantiated for each engine (see `sql.rs`).

/// Implements `ConventionStore` for `$store` (a struct with `pool` and `begin_write`).
macro_rules! impl_convention_store {
    ($store:ty, $db:ty) => {
        mod convention_impl {
            use async_trait::async_trait;
            use sqlx::{Row, Transaction};

            use super::super::conventions::*;
            use super::super::sql::map_write_error;
            use super::super::StoreError;
            use super::super::row_states::{self, KeyValue, Kind, RecordedTable, Touched, RECORDED_TABLES};
            use super::*;
            use crate::domain::convention::{CommentStatus, ConventionState, RoundStatus};
            use crate::domain::permission::PartyKind;
            use crate::signing::{AuditEvent, RowState, RowValues, SignatureRecord, StoredSignature};
            use super::super::{decode, time};

            type Tx = Transaction<'static, $db>;
            type Conn = <$db as sqlx::Database>::Connection;

            /// What a column that cannot be read as its type is recorded and compared as: its
            /// digest matches no value the platform wrote.
            const UNREADABLE: &str = "« valeur illisible pour son type »";

            fn column_value(r: &<$db as sqlx::Database>::Row, i: usize, kind: Kind) -> serde_json::Value {
                let value = match kind {
                    Kind::Int => r.try_get::<Option<i64>, _>(i).map(|v| v.map(serde_json::Value::from)),
                    Kind::Text => r.try_get::<Option<String>, _>(i).map(|v| v.map(serde_json::Value::from)),
                    Kind::Bool => r.try_get::<Option<bool>, _>(i).map(|v| v.map(serde_json::Value::from)),
                };
                match value {
                    Ok(v) => v.unwrap_or(serde_json::Value::Null),
                    Err(_) => serde_json::Value::String(UNREADABLE.to_owned()),
                }
            }

            /// The rows of `table` matching `filter` (binding `binds`), as recorded values.
            async fn read_rows(
                conn: &mut Conn,
                table: &RecordedTable,
                filter: &str,
                binds: &[KeyValue],
            ) -> Result<Vec<RowValues>, StoreError> {
                let sql = row_states::select_sql(table, filter);
                let mut query = sqlx::query(&sql);
                for b in binds {
                    query = match b {
                        KeyValue::Int(n) => query.bind(*n),
                        KeyValue::Text(t) => query.bind(t.clone()),
                    };
                }
                let rows = query.fetch_all(&mut *conn).await?;
                let width = table.key.len();
                Ok(rows
                    .iter()
                    .map(|r| RowValues {
                        table: table.name.to_owned(),
                        key: table
                            .key
                            .iter()
                            .enumerate()
                            .map(|(i, (name, kind))| ((*name).to_owned(), column_value(r, i, *kind)))
                            .collect(),
                        columns: table
                            .columns
                            .iter()
                            .enumerate()
                            .map(|(i, (name, kind))| ((*name).to_owned(), column_value(r, width + i, *kind)))
                            .collect(),
                    })
                    .collect())
            }

            /// Every recorded row of a convention, table by table.
            async fn convention_rows(conn: &mut Conn, convention_id: i64) -> Result<Vec<RowValues>, StoreError> {
                let mut all = Vec::new();
                for table in RECORDED_TABLES {
                    all.extend(read_rows(conn, table, table.of_convention, &[KeyValue::Int(convention_id)]).await?);
                }
                Ok(all)
            }

            /// The state of each row a change wrote, as it is now inside the transaction (a row
            /// that is gone is recorded as deleted).
            async fn touched_states(conn: &mut Conn, touched: &[Touched]) -> Result<Vec<RowState>, StoreError> {
                let mut states = Vec::new();
                let mut seen: Vec<&Touched> = Vec::new();
                for t in touched {
                    if seen.contains(&t) {
                        continue;
                    }
                    seen.push(t);
                    let table = row_states::recorded_table(t.table);
                    let rows = read_rows(conn, table, &row_states::key_filter(table), &t.key).await?;
                    states.push(match rows.first() {
                        Some(row) => row.state(),
                        None => RowState {
                            table: table.name.to_owned(),
                            key: table
                                .key
                                .iter()
                                .zip(&t.key)
                                .map(|((name, _), value)| {
                                    let value = match value {
                                        KeyValue::Int(n) => serde_json::Value::from(*n),
                                        KeyValue::Text(t) => serde_json::Value::from(t.clone()),
                                    };
                                    ((*name).to_owned(), value)
                                })
                                .collect(),
                            columns: None,
                        },
                    });
                }
                Ok(states)
            }

            const CONVENTION_COLUMNS: &str = "id, epci_siren, bailleur_siren, year, title, state, \
                 approval_required, current_version, signed_version, revision, created_at, created_by";
            const VERSION_COLUMNS: &str = "id, convention_id, number, parent_hash, hash, document, \
                 author_id, reason, created_at, locked";
            /// [`VERSION_COLUMNS`] with an empty text in place of the document.
            const VERSION_LIST_COLUMNS: &str = "id, convention_id, number, parent_hash, hash, '' AS document, \
                 author_id, reason, created_at, locked";
            const USER_COLUMNS: &str = "u.id, u.email, u.name, o.kind, o.name, o.reference, u.password_hash";

            fn convention_row(r: &<$db as sqlx::Database>::Row) -> Result<ConventionRow, StoreError> {
                Ok(ConventionRow {
                    id: r.try_get(0)?,
                    epci_siren: r.try_get(1)?,
                    bailleur_siren: r.try_get(2)?,
                    year: r.try_get(3)?,
                    title: r.try_get(4)?,
                    state: decode(&r.try_get::<String, _>(5)?, "état de la convention")?,
                    approval_required: r.try_get(6)?,
                    current_version: r.try_get(7)?,
                    signed_version: r.try_get(8)?,
                    revision: r.try_get(9)?,
                    created_at: at(r, 10, "date de création de la convention")?,
                    created_by: r.try_get(11)?,
                })
            }

            type DbRow = <$db as sqlx::Database>::Row;

            /// A stored instant, read once as a `DateTime`.
            fn at(r: &DbRow, i: usize, what: &str) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
                time::utc(&r.try_get::<String, _>(i)?, what)
            }

            fn at_option(r: &DbRow, i: usize, what: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
                r.try_get::<Option<String>, _>(i)?.map(|v| time::utc(&v, what)).transpose()
            }

            fn version_row(r: &<$db as sqlx::Database>::Row) -> Result<VersionRow, StoreError> {
                Ok(VersionRow {
                    id: r.try_get(0)?,
                    convention_id: r.try_get(1)?,
                    number: r.try_get(2)?,
                    parent_hash: r.try_get(3)?,
                    hash: r.try_get(4)?,
                    document: r.try_get(5)?,
                    author_id: r.try_get(6)?,
                    reason: r.try_get(7)?,
                    created_at: at(r, 8, "date de la version")?,
                    locked: r.try_get(9)?,
                })
            }

            fn user_row(r: &<$db as sqlx::Database>::Row) -> Result<UserRecord, sqlx::Error> {
                Ok(UserRecord {
                    id: r.try_get(0)?,
                    email: r.try_get(1)?,
                    name: r.try_get(2)?,
                    organisation_kind: r.try_get(3)?,
                    organisation_name: r.try_get(4)?,
                    organisation_reference: r.try_get(5)?,
                    password_hash: r.try_get(6)?,
                })
            }

            fn signature_row(
                r: &<$db as sqlx::Database>::Row,
            ) -> Result<StoredSignature, StoreError> {
                let record: String = r.try_get(2)?;
                let record: SignatureRecord = serde_json::from_str(&record).map_err(|_| {
                    StoreError::Corrupt(format!(
                        "enregistrement de la signature n° {}",
                        r.try_get::<i64, _>(0).unwrap_or_default()
                    ))
                })?;
                Ok(StoredSignature {
                    id: r.try_get(0)?,
                    round_id: r.try_get(1)?,
                    record,
                    seal: r.try_get(3)?,
                })
            }

            async fn organisation_id(
                tx: &mut Tx,
                org: &NewOrganisation,
            ) -> Result<i64, StoreError> {
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM organisation WHERE kind = $1 AND reference = $2 AND name = $3",
                )
                .bind(&org.kind)
                .bind(&org.reference)
                .bind(&org.name)
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(id) = found {
                    return Ok(id);
                }
                sqlx::query_scalar(
                    "INSERT INTO organisation (kind, name, reference) VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(&org.kind)
                .bind(&org.name)
                .bind(&org.reference)
                .fetch_one(&mut **tx)
                .await
                .map_err(map_write_error)
            }

            async fn insert_user(tx: &mut Tx, user: &NewUser) -> Result<i64, StoreError> {
                let org = organisation_id(tx, &user.organisation).await?;
                sqlx::query_scalar(
                    "INSERT INTO app_user (email, name, organisation_id, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&user.email)
                .bind(&user.name)
                .bind(org)
                .bind(&user.password_hash)
                .bind(&user.created_at)
                .fetch_one(&mut **tx)
                .await
                .map_err(map_write_error)
            }

            /// Appends `drafts` to the convention's chain; the last event records `rows`, the state
            /// of the rows the change wrote. A change that wrote rows without saying why still
            /// gets an event, so that no write escapes the chain.
            async fn append_audit(
                tx: &mut Tx,
                convention_id: i64,
                drafts: &[AuditDraft],
                rows: Vec<RowState>,
            ) -> Result<(), StoreError> {
                let fallback;
                let drafts = if drafts.is_empty() {
                    if rows.is_empty() {
                        return Ok(());
                    }
                    fallback = [AuditDraft {
                        at: crate::signing::timestamp(chrono::Utc::now()),
                        actor: None,
                        kind: "enregistrement".into(),
                        payload: serde_json::json!({}),
                    }];
                    &fallback[..]
                } else {
                    drafts
                };
                let mut rows = (!rows.is_empty()).then_some(rows);
                let last = sqlx::query(
                    "SELECT convention_id, seq, at, actor, kind, payload, prev_hash, hash, row_states \
                     FROM audit_event WHERE convention_id = $1 ORDER BY seq DESC LIMIT 1",
                )
                .bind(convention_id)
                .fetch_optional(&mut **tx)
                .await?;
                let mut previous = match last {
                    Some(r) => Some(audit_row(&r)?),
                    None => None,
                };
                for (i, draft) in drafts.iter().enumerate() {
                    let event = AuditEvent::next(
                        previous.as_ref(),
                        convention_id,
                        draft.at.clone(),
                        draft.actor.clone(),
                        &draft.kind,
                        draft.payload.clone(),
                        if i + 1 == drafts.len() { rows.take() } else { None },
                    )
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let payload = crate::signing::canonical_json(&event.payload)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let row_states = event
                        .rows
                        .as_ref()
                        .map(crate::signing::to_canonical)
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    sqlx::query(
                        "INSERT INTO audit_event (convention_id, seq, at, actor, kind, payload, prev_hash, hash, row_states) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(event.convention_id)
                    .bind(event.seq)
                    .bind(&event.at)
                    .bind(&event.actor)
                    .bind(&event.kind)
                    .bind(payload)
                    .bind(&event.prev_hash)
                    .bind(&event.hash)
                    .bind(row_states)
                    .execute(&mut **tx)
                    .await
                    .map_err(map_write_error)?;
                    previous = Some(event);
                }
                Ok(())
            }

            fn audit_row(r: &<$db as sqlx::Database>::Row) -> Result<AuditEvent, StoreError> {
                let payload: String = r.try_get(5)?;
                let seq: i64 = r.try_get(1)?;
                let row_states: Option<String> = r.try_get(8)?;
                let rows = row_states
                    .map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(|_| StoreError::Corrupt(format!("état des lignes de l'événement d'audit n° {seq}")))?;
                Ok(AuditEvent {
                    convention_id: r.try_get(0)?,
                    seq,
                    at: r.try_get(2)?,
                    actor: r.try_get(3)?,
                    kind: r.try_get(4)?,
                    payload: serde_json::from_str(&payload).map_err(|_| {
                        StoreError::Corrupt(format!("contenu de l'événement d'audit n° {seq}"))
                    })?,
                    prev_hash: r.try_get(6)?,
                    hash: r.try_get(7)?,
                    rows,
                })
            }

            /// `touched` holds the rows the caller already wrote in this transaction.
            async fn apply(
                tx: &mut Tx,
                change: &ConventionChange,
                mut touched: Vec<Touched>,
            ) -> Result<AppliedChange, StoreError> {
                let id = change.convention_id;
                let mut applied = AppliedChange::default();
                // The revision check takes the convention's row lock first (PostgreSQL), so that
                // concurrent changes of one convention queue here and the loser sees the moved
                // revision; SQLite's BEGIN IMMEDIATE already serializes writers.
                let revision: Option<i64> = sqlx::query_scalar(
                    "UPDATE convention SET revision = revision + 1, state = COALESCE($2, state) \
                     WHERE id = $1 AND ($3 IS NULL OR revision = $3) RETURNING revision",
                )
                .bind(id)
                .bind(change.new_state.map(ConventionState::as_str))
                .bind(change.expected_revision)
                .fetch_optional(&mut **tx)
                .await
                .map_err(map_write_error)?;
                applied.revision = revision.ok_or_else(|| {
                    StoreError::Conflict(format!(
                        "la convention n° {id} a changé entre-temps (ou n'existe pas)"
                    ))
                })?;
                touched.push(Touched::by_id("convention", id));
                if let Some(v) = &change.new_version {
                    let version_id: i64 = sqlx::query_scalar(
                        "INSERT INTO version (convention_id, number, parent_hash, hash, document, \
                         author_id, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    )
                    .bind(id)
                    .bind(v.number)
                    .bind(&v.parent_hash)
                    .bind(&v.hash)
                    .bind(&v.document)
                    .bind(v.author_id)
                    .bind(&v.reason)
                    .bind(&v.created_at)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(map_write_error)?;
                    sqlx::query("UPDATE convention SET current_version = $2 WHERE id = $1")
                        .bind(id)
                        .bind(version_id)
                        .execute(&mut **tx)
                        .await?;
                    applied.version_id = Some(version_id);
                    touched.push(Touched::by_id("version", version_id));
                }
                {
                    for closing in &change.close_rounds {
                        sqlx::query(
                            "UPDATE signing_round SET status = $2, close_reason = $3, closed_at = $4 \
                             WHERE id = $1 AND status = $5",
                        )
                        .bind(closing.id)
                        .bind(closing.status.as_str())
                        .bind(&closing.reason)
                        .bind(&closing.at)
                        .bind(RoundStatus::Ouverte.as_str())
                        .execute(&mut **tx)
                        .await?;
                        touched.push(Touched::by_id("signing_round", closing.id));
                    }
                }
                if let Some(moved) = &change.round_deadline {
                    let done = sqlx::query(
                        "UPDATE signing_round SET deadline = $2 \
                         WHERE id = $1 AND convention_id = $3 AND status = 'ouverte'",
                    )
                    .bind(moved.id)
                    .bind(&moved.deadline)
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::Conflict(format!(
                            "le tour de signature n° {} n'est plus ouvert",
                            moved.id
                        )));
                    }
                    touched.push(Touched::by_id("signing_round", moved.id));
                }
                if let Some(round) = &change.open_round {
                    let required = serde_json::to_string(&round.required)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let round_id: i64 = sqlx::query_scalar(
                        "INSERT INTO signing_round (convention_id, version_hash, required, status, \
                         opened_by, opened_at, deadline) VALUES ($1, $2, $3, $7, $4, $5, $6) RETURNING id",
                    )
                    .bind(id)
                    .bind(&round.version_hash)
                    .bind(required)
                    .bind(round.opened_by)
                    .bind(&round.opened_at)
                    .bind(&round.deadline)
                    .bind(RoundStatus::Ouverte.as_str())
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(map_write_error)?;
                    applied.round_id = Some(round_id);
                    touched.push(Touched::by_id("signing_round", round_id));
                }
                if let Some(s) = &change.signature {
                    let signature_id: i64 = sqlx::query_scalar(
                        "INSERT INTO signature (round_id, convention_id, version_hash, party, signer_id, record, seal) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(s.round_id)
                    .bind(id)
                    .bind(&s.version_hash)
                    .bind(&s.party)
                    .bind(s.signer_id)
                    .bind(&s.record)
                    .bind(&s.seal)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(map_write_error)?;
                    applied.signature_id = Some(signature_id);
                    touched.push(Touched::by_id("signature", signature_id));
                }
                if let Some(hash) = &change.lock_version {
                    let locked: i64 = sqlx::query_scalar(
                        "UPDATE version SET locked = TRUE WHERE hash = $1 AND convention_id = $2 RETURNING id",
                    )
                    .bind(hash)
                    .bind(id)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(map_write_error)?;
                    sqlx::query("UPDATE convention SET signed_version = $2 WHERE id = $1")
                        .bind(id)
                        .bind(locked)
                        .execute(&mut **tx)
                        .await?;
                    touched.push(Touched::by_id("version", locked));
                }
                if let Some(p) = &change.proposal {
                    sqlx::query(
                        "INSERT INTO proposal (convention_id, party, draft, published, updated_at, published_at) \
                         VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN $5 ELSE NULL END) \
                         ON CONFLICT (convention_id, party) DO UPDATE SET draft = excluded.draft, \
                         published = excluded.published, updated_at = excluded.updated_at, \
                         published_at = CASE WHEN $6 THEN excluded.updated_at ELSE proposal.published_at END",
                    )
                    .bind(id)
                    .bind(&p.party)
                    .bind(&p.draft)
                    .bind(&p.published)
                    .bind(&p.at)
                    .bind(p.publish)
                    .execute(&mut **tx)
                    .await
                    .map_err(map_write_error)?;
                    touched.push(Touched::of_convention("proposal", id, KeyValue::Text(p.party.clone())));
                }
                if let Some(c) = &change.comment {
                    let comment_id: i64 = sqlx::query_scalar(
                        "INSERT INTO comment (convention_id, version_number, anchor_kind, anchor_ref, \
                         parent_id, author_id, party, body, objection, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $10) RETURNING id",
                    )
                    .bind(id)
                    .bind(c.version_number)
                    .bind(&c.anchor_kind)
                    .bind(&c.anchor_ref)
                    .bind(c.parent_id)
                    .bind(c.author_id)
                    .bind(&c.party)
                    .bind(&c.body)
                    .bind(c.objection)
                    .bind(&c.created_at)
                    .bind(CommentStatus::Ouvert.as_str())
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(map_write_error)?;
                    applied.comment_id = Some(comment_id);
                    touched.push(Touched::by_id("comment", comment_id));
                }
                if let Some(r) = &change.resolution {
                    let done = sqlx::query(
                        "UPDATE comment SET status = $2, resolution = $3, resolved_by = $4, resolved_at = $5 \
                         WHERE id = $1 AND convention_id = $6 AND status = $7",
                    )
                    .bind(r.id)
                    .bind(r.status.as_str())
                    .bind(&r.resolution)
                    .bind(r.resolved_by)
                    .bind(&r.at)
                    .bind(id)
                    .bind(CommentStatus::Ouvert.as_str())
                    .execute(&mut **tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::Conflict(format!(
                            "le commentaire n° {} n'est plus ouvert",
                            r.id
                        )));
                    }
                    touched.push(Touched::by_id("comment", r.id));
                }
                if let Some((invitation, at)) = &change.use_invitation {
                    let done = sqlx::query(
                        "UPDATE invitation SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
                    )
                    .bind(invitation)
                    .bind(at)
                    .execute(&mut **tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::Conflict(
                            "cette invitation a déjà été utilisée".into(),
                        ));
                    }
                    touched.push(Touched::by_id("invitation", *invitation));
                }
                if let Some(m) = &change.member {
                    let user_id = match &m.user {
                        MemberUser::Existing(user) => *user,
                        MemberUser::New(user) => {
                            let user = insert_user(tx, user).await?;
                            applied.user_id = Some(user);
                            user
                        }
                    };
                    sqlx::query(
                        "INSERT INTO member (convention_id, user_id, role, party, mandate) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (convention_id, user_id) DO UPDATE SET role = excluded.role, \
                         party = excluded.party, mandate = excluded.mandate",
                    )
                    .bind(id)
                    .bind(user_id)
                    .bind(m.role.as_str())
                    .bind(&m.party)
                    .bind(&m.mandate)
                    .execute(&mut **tx)
                    .await
                    .map_err(map_write_error)?;
                    applied.user_id = Some(user_id);
                    touched.push(Touched::of_convention("member", id, KeyValue::Int(user_id)));
                    touched.push(Touched::by_id("app_user", user_id));
                }
                if let Some(i) = &change.invitation {
                    let invitation_id: i64 = sqlx::query_scalar(
                        "INSERT INTO invitation (convention_id, email, name, organisation, role, party, mandate, \
                         token_digest, expires_at, invited_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                    )
                    .bind(id)
                    .bind(&i.email)
                    .bind(&i.name)
                    .bind(&i.organisation)
                    .bind(i.role.as_str())
                    .bind(&i.party)
                    .bind(&i.mandate)
                    .bind(&i.token_digest)
                    .bind(&i.expires_at)
                    .bind(i.invited_by)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(map_write_error)?;
                    touched.push(Touched::by_id("invitation", invitation_id));
                }
                let rows = touched_states(&mut **tx, &touched).await?;
                append_audit(tx, id, &change.audit, rows).await?;
                for m in &change.outbox {
                    insert_outbox(tx, m, Some(id)).await?;
                }
                Ok(applied)
            }

            /// A new password revokes every session of the account: whoever knew the old one
            /// (or stole a token) is signed out everywhere.
            async fn set_password(
                tx: &mut Tx,
                user_id: i64,
                password_hash: &str,
            ) -> Result<(), StoreError> {
                sqlx::query("UPDATE app_user SET password_hash = $2 WHERE id = $1")
                    .bind(user_id)
                    .bind(password_hash)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("DELETE FROM app_session WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            async fn insert_outbox(
                tx: &mut Tx,
                m: &OutboxMessage,
                convention_id: Option<i64>,
            ) -> Result<(), StoreError> {
                let attachments = serde_json::to_string(&m.attachments)
                    .map_err(|e| StoreError::Corrupt(format!("pièces jointes : {e}")))?;
                sqlx::query(
                    "INSERT INTO outbox (created_at, to_address, subject, body_text, body_html, attachments, \
                     next_attempt_at, convention_id) VALUES ($1, $2, $3, $4, $5, $6, $1, $7)",
                )
                .bind(&m.created_at)
                .bind(&m.to)
                .bind(&m.subject)
                .bind(&m.body_text)
                .bind(&m.body_html)
                .bind(attachments)
                .bind(convention_id)
                .execute(&mut **tx)
                .await
                .map_err(map_write_error)?;
                Ok(())
            }

            const OUTBOX_COLUMNS: &str = "id, to_address, subject, body_text, body_html, attempts, \
                 sent_at, last_error, attachments, convention_id, created_at";

            fn outbox_row(r: &<$db as sqlx::Database>::Row) -> Result<OutboxRow, StoreError> {
                let id: i64 = r.try_get(0)?;
                let attachments: String = r.try_get(8)?;
                Ok(OutboxRow {
                    id,
                    to: r.try_get(1)?,
                    subject: r.try_get(2)?,
                    body_text: r.try_get(3)?,
                    body_html: r.try_get(4)?,
                    attachments: serde_json::from_str(&attachments).map_err(|_| {
                        StoreError::Corrupt(format!("pièces jointes du courriel n° {id}"))
                    })?,
                    attempts: r.try_get(5)?,
                    sent_at: r.try_get(6)?,
                    last_error: r.try_get(7)?,
                    convention_id: r.try_get(9)?,
                    created_at: r.try_get(10)?,
                })
            }

            impl $store {
                /// The snapshot, the current version read with `version_columns`.
                async fn snapshot_with(
                    &self,
                    convention_id: i64,
                    version_columns: &str,
                ) -> Result<Option<Snapshot>, StoreError> {
                    // One read transaction, so that every part is from the same moment.
                    let mut tx = self.pool.begin().await?;
                    let sql = format!("SELECT {CONVENTION_COLUMNS} FROM convention WHERE id = $1");
                    let Some(row) = sqlx::query(&sql)
                        .bind(convention_id)
                        .fetch_optional(&mut *tx)
                        .await?
                    else {
                        return Ok(None);
                    };
                    let convention = convention_row(&row)?;
                    let parties = sqlx::query(
                        "SELECT party, kind, name, reservataire_kind FROM party WHERE convention_id = $1 ORDER BY party",
                    )
                    .bind(convention_id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(PartyRecord {
                            party: r.try_get(0)?,
                            kind: r.try_get(1)?,
                            name: r.try_get(2)?,
                            reservataire_kind: r.try_get(3)?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                    let members = sqlx::query(
                        "SELECT m.user_id, u.name, u.email, m.role, m.party, m.mandate FROM member m \
                         JOIN app_user u ON u.id = m.user_id WHERE m.convention_id = $1 ORDER BY m.user_id",
                    )
                    .bind(convention_id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(MemberRecord {
                            user_id: r.try_get(0)?,
                            name: r.try_get(1)?,
                            email: r.try_get(2)?,
                            role: decode(&r.try_get::<String, _>(3)?, "rôle")?,
                            party: r.try_get(4)?,
                            mandate: r.try_get(5)?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                    let current = match convention.current_version {
                        Some(v) => {
                            let sql = format!("SELECT {version_columns} FROM version WHERE id = $1");
                            let row = sqlx::query(&sql).bind(v).fetch_one(&mut *tx).await?;
                            Some(version_row(&row)?)
                        }
                        None => None,
                    };
                    let proposals = sqlx::query(
                        "SELECT party, draft, published, updated_at, published_at FROM proposal \
                         WHERE convention_id = $1 ORDER BY party",
                    )
                    .bind(convention_id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(ProposalRow {
                            party: r.try_get(0)?,
                            draft: r.try_get(1)?,
                            published: r.try_get(2)?,
                            updated_at: at(r, 3, "date de la proposition")?,
                            published_at: at_option(r, 4, "date de publication")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                    let comments = sqlx::query(
                        "SELECT c.id, c.version_number, c.anchor_kind, c.anchor_ref, c.parent_id, c.author_id, \
                         u.name, c.party, c.body, c.objection, c.status, c.resolution, c.resolved_by, \
                         c.created_at, c.resolved_at FROM comment c JOIN app_user u ON u.id = c.author_id \
                         WHERE c.convention_id = $1 ORDER BY c.id",
                    )
                    .bind(convention_id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(CommentRow {
                            id: r.try_get(0)?,
                            version_number: r.try_get(1)?,
                            anchor_kind: r.try_get(2)?,
                            anchor_ref: r.try_get(3)?,
                            parent_id: r.try_get(4)?,
                            author_id: r.try_get(5)?,
                            author_name: r.try_get(6)?,
                            party: r.try_get(7)?,
                            body: r.try_get(8)?,
                            objection: r.try_get(9)?,
                            status: decode(&r.try_get::<String, _>(10)?, "statut du commentaire")?,
                            resolution: r.try_get(11)?,
                            resolved_by: r.try_get(12)?,
                            created_at: at(r, 13, "date du commentaire")?,
                            resolved_at: at_option(r, 14, "date de clôture du commentaire")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                    let rounds = sqlx::query(
                        "SELECT id, version_hash, required, status, opened_by, opened_at, deadline, \
                         closed_at, close_reason FROM signing_round WHERE convention_id = $1 ORDER BY id",
                    )
                    .bind(convention_id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| {
                        let required: String = r.try_get(2)?;
                        let id: i64 = r.try_get(0)?;
                        Ok(RoundRow {
                            id,
                            version_hash: r.try_get(1)?,
                            required: serde_json::from_str(&required).map_err(|_| {
                                StoreError::Corrupt(format!("parties requises du tour de signature n° {id}"))
                            })?,
                            status: decode(&r.try_get::<String, _>(3)?, "statut du tour de signature")?,
                            opened_by: r.try_get(4)?,
                            opened_at: at(r, 5, "ouverture du tour de signature")?,
                            deadline: r.try_get::<Option<String>, _>(6)?.map(|d| time::offset(&d, "échéance du tour de signature")).transpose()?,
                            closed_at: at_option(r, 7, "clôture du tour de signature")?,
                            close_reason: r.try_get(8)?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                    let signatures = sqlx::query(
                        "SELECT id, round_id, record, seal FROM signature WHERE convention_id = $1 ORDER BY id",
                    )
                    .bind(convention_id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(signature_row)
                    .collect::<Result<Vec<_>, StoreError>>()?;
                    tx.commit().await?;
                    Ok(Some(Snapshot {
                        convention,
                        parties,
                        members,
                        current,
                        proposals,
                        comments,
                        rounds,
                        signatures,
                    }))
                }
            }

            #[async_trait]
            impl ConventionStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn create_user(&self, user: &NewUser) -> Result<i64, StoreError> {
                    let mut tx = self.begin_write().await?;
                    let id = insert_user(&mut tx, user).await?;
                    tx.commit().await?;
                    Ok(id)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
                    let sql = format!(
                        "SELECT {USER_COLUMNS} FROM app_user u JOIN organisation o ON o.id = u.organisation_id \
                         WHERE lower(u.email) = lower($1)"
                    );
                    let row = sqlx::query(&sql).bind(email).fetch_optional(&self.pool).await?;
                    Ok(row.map(|r| user_row(&r)).transpose()?)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, StoreError> {
                    let sql = format!(
                        "SELECT {USER_COLUMNS} FROM app_user u JOIN organisation o ON o.id = u.organisation_id \
                         WHERE u.id = $1"
                    );
                    let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                    Ok(row.map(|r| user_row(&r)).transpose()?)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn create_convention(
                    &self,
                    convention: &NewConvention,
                    first: FirstChange,
                ) -> Result<(i64, AppliedChange), StoreError> {
                    let mut tx = self.begin_write().await?;
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO convention (epci_siren, bailleur_siren, year, title, state, \
                         approval_required, created_at, created_by) \
                         VALUES ($1, $2, $3, $4, $8, $5, $6, $7) RETURNING id",
                    )
                    .bind(&convention.epci_siren)
                    .bind(&convention.bailleur_siren)
                    .bind(convention.year)
                    .bind(&convention.title)
                    .bind(convention.approval_required)
                    .bind(&convention.created_at)
                    .bind(convention.created_by)
                    .bind(ConventionState::Brouillon.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_write_error)?;
                    let mut touched = vec![
                        Touched::of_convention("member", id, KeyValue::Int(convention.created_by)),
                        Touched::by_id("app_user", convention.created_by),
                    ];
                    for p in &convention.parties {
                        touched.push(Touched::of_convention("party", id, KeyValue::Text(p.party.clone())));
                        sqlx::query(
                            "INSERT INTO party (convention_id, party, kind, name, reservataire_kind) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(id)
                        .bind(&p.party)
                        .bind(&p.kind)
                        .bind(&p.name)
                        .bind(&p.reservataire_kind)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_write_error)?;
                    }
                    sqlx::query(
                        "INSERT INTO member (convention_id, user_id, role, party, mandate) \
                         VALUES ($1, $2, 'secretariat', 'secretariat', '')",
                    )
                    .bind(id)
                    .bind(convention.created_by)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_write_error)?;
                    let mut first = first(id).map_err(StoreError::Corrupt)?;
                    first.convention_id = id;
                    first.expected_revision = Some(0);
                    let applied = apply(&mut tx, &first, touched).await?;
                    tx.commit().await?;
                    Ok((id, applied))
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn conventions_of_user(
                    &self,
                    user_id: i64,
                ) -> Result<Vec<ConventionSummary>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT c.id, c.title, c.year, c.state, c.epci_siren, c.bailleur_siren, m.role, m.party \
                         FROM convention c JOIN member m ON m.convention_id = c.id \
                         WHERE m.user_id = $1 ORDER BY c.id",
                    )
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(ConventionSummary {
                                id: r.try_get(0)?,
                                title: r.try_get(1)?,
                                year: r.try_get(2)?,
                                state: decode(&r.try_get::<String, _>(3)?, "état de la convention")?,
                                epci_siren: r.try_get(4)?,
                                bailleur_siren: r.try_get(5)?,
                                role: decode(&r.try_get::<String, _>(6)?, "rôle")?,
                                party: r.try_get(7)?,
                            })
                        })
                        .collect::<Result<_, StoreError>>()
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn conventions_of_epci(
                    &self,
                    epci_siren: &str,
                ) -> Result<Vec<(i64, String, i64, ConventionState)>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT id, bailleur_siren, year, state FROM convention \
                         WHERE epci_siren = $1 ORDER BY id",
                    )
                    .bind(epci_siren)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok((
                                r.try_get(0)?,
                                r.try_get(1)?,
                                r.try_get(2)?,
                                decode(&r.try_get::<String, _>(3)?, "état de la convention")?,
                            ))
                        })
                        .collect::<Result<_, StoreError>>()
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn convention_ids(&self) -> Result<Vec<i64>, StoreError> {
                    Ok(sqlx::query_scalar("SELECT id FROM convention ORDER BY id")
                        .fetch_all(&self.pool)
                        .await?)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn audited_convention_ids(&self) -> Result<Vec<i64>, StoreError> {
                    Ok(sqlx::query_scalar(
                        "SELECT id FROM convention UNION SELECT convention_id FROM audit_event \
                         UNION SELECT convention_id FROM version UNION SELECT convention_id FROM signature \
                         ORDER BY 1",
                    )
                    .fetch_all(&self.pool)
                    .await?)
                }

                #[tracing::instrument(level = "debug", skip_all, fields(convention = convention_id))]
                async fn member_access(
                    &self,
                    convention_id: i64,
                    user_id: i64,
                ) -> Result<Option<MemberAccess>, StoreError> {
                    let row: Option<(String, String, Option<String>, Option<String>, String)> = sqlx::query_as(
                        "SELECT m.role, m.party, p.kind, p.reservataire_kind, c.state FROM member m \
                         JOIN convention c ON c.id = m.convention_id \
                         LEFT JOIN party p ON p.convention_id = m.convention_id AND p.party = m.party \
                         WHERE m.convention_id = $1 AND m.user_id = $2",
                    )
                    .bind(convention_id)
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(|(role, party, kind, reservataire_kind, state)| {
                        Ok(MemberAccess {
                            role: decode(&role, "rôle")?,
                            party_kind: PartyKind::from_columns(
                                kind.as_deref().unwrap_or_default(),
                                reservataire_kind.as_deref().unwrap_or_default(),
                            ),
                            party,
                            state: decode(&state, "état de la convention")?,
                        })
                    })
                    .transpose()
                }

                #[tracing::instrument(level = "debug", skip_all, fields(convention = convention_id))]
                async fn snapshot(&self, convention_id: i64) -> Result<Option<Snapshot>, StoreError> {
                    self.snapshot_with(convention_id, VERSION_COLUMNS).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(convention = convention_id))]
                async fn snapshot_for_reading(
                    &self,
                    convention_id: i64,
                ) -> Result<Option<Snapshot>, StoreError> {
                    self.snapshot_with(convention_id, VERSION_LIST_COLUMNS).await
                }
                #[tracing::instrument(level = "debug", skip_all, fields(convention = convention_id))]
                async fn current_version(
                    &self,
                    convention_id: i64,
                ) -> Result<Option<VersionRow>, StoreError> {
                    let sql = format!(
                        "SELECT {} FROM version v JOIN convention c ON c.current_version = v.id WHERE c.id = $1",
                        VERSION_COLUMNS
                            .split(", ")
                            .map(|c| format!("v.{c}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    let row = sqlx::query(&sql)
                        .bind(convention_id)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.map(|r| version_row(&r)).transpose()?)
                }

                #[tracing::instrument(level = "debug", skip_all, fields(convention = convention_id))]
                async fn version_list(&self, convention_id: i64) -> Result<Vec<VersionRow>, StoreError> {
                    let sql = format!(
                        "SELECT {VERSION_LIST_COLUMNS} FROM version WHERE convention_id = $1 ORDER BY number"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(convention_id)
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(rows
                        .iter()
                        .map(version_row)
                        .collect::<Result<Vec<_>, StoreError>>()?)
                }

                #[tracing::instrument(level = "debug", skip_all, fields(convention = convention_id, number))]
                async fn version_numbered(
                    &self,
                    convention_id: i64,
                    number: i64,
                ) -> Result<Option<VersionRow>, StoreError> {
                    let sql = format!(
                        "SELECT {VERSION_COLUMNS} FROM version WHERE convention_id = $1 AND number = $2"
                    );
                    let row = sqlx::query(&sql)
                        .bind(convention_id)
                        .bind(number)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.map(|r| version_row(&r)).transpose()?)
                }

                #[tracing::instrument(level = "debug", skip_all, fields(convention = convention_id))]
                async fn versions(&self, convention_id: i64) -> Result<Vec<VersionRow>, StoreError> {
                    let sql = format!(
                        "SELECT {VERSION_COLUMNS} FROM version WHERE convention_id = $1 ORDER BY number"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(convention_id)
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(rows
                        .iter()
                        .map(version_row)
                        .collect::<Result<Vec<_>, StoreError>>()?)
                }

                #[tracing::instrument(level = "debug", skip_all, fields(convention = convention_id))]
                async fn signatures(
                    &self,
                    convention_id: i64,
                ) -> Result<Vec<StoredSignature>, StoreError> {
                    sqlx::query(
                        "SELECT id, round_id, record, seal FROM signature WHERE convention_id = $1 ORDER BY id",
                    )
                    .bind(convention_id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(signature_row)
                    .collect()
                }

                #[tracing::instrument(level = "debug", skip_all, fields(convention = convention_id))]
                async fn audit_events(&self, convention_id: i64) -> Result<Vec<AuditEvent>, StoreError> {
                    sqlx::query(
                        "SELECT convention_id, seq, at, actor, kind, payload, prev_hash, hash, row_states \
                         FROM audit_event WHERE convention_id = $1 ORDER BY seq",
                    )
                    .bind(convention_id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(audit_row)
                    .collect()
                }

                #[tracing::instrument(level = "debug", skip_all, fields(convention = convention_id))]
                async fn recorded_rows(&self, convention_id: i64) -> Result<Vec<RowValues>, StoreError> {
                    let mut tx = self.pool.begin().await?;
                    let rows = convention_rows(&mut *tx, convention_id).await?;
                    tx.commit().await?;
                    Ok(rows)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn record_initial_row_states(&self) -> Result<usize, StoreError> {
                    const UNRECORDED: &str = "SELECT id FROM convention c WHERE NOT EXISTS \
                         (SELECT 1 FROM audit_event a WHERE a.convention_id = c.id AND a.row_states IS NOT NULL)";
                    let ids: Vec<i64> = sqlx::query_scalar(&format!("{UNRECORDED} ORDER BY id"))
                        .fetch_all(&self.pool)
                        .await?;
                    let mut recorded = 0;
                    for id in ids {
                        let mut tx = self.begin_write().await?;
                        // Takes the convention's row lock (PostgreSQL), then checks again: two
                        // instances starting together record it once.
                        sqlx::query("UPDATE convention SET revision = revision WHERE id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        let still: Option<i64> = sqlx::query_scalar(&format!("{UNRECORDED} AND c.id = $1"))
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                        if still.is_none() {
                            continue;
                        }
                        let rows = convention_rows(&mut *tx, id).await?;
                        let states = rows.iter().map(RowValues::state).collect();
                        let draft = AuditDraft {
                            at: crate::signing::timestamp(chrono::Utc::now()),
                            actor: None,
                            kind: "etat_initial_des_lignes".into(),
                            payload: serde_json::json!({
                                "motif": "mise à jour de la plateforme : état des lignes enregistré tel qu'il est"
                            }),
                        };
                        append_audit(&mut tx, id, &[draft], states).await?;
                        tx.commit().await?;
                        recorded += 1;
                    }
                    Ok(recorded)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn invitation_by_digest(
                    &self,
                    digest: &str,
                ) -> Result<Option<InvitationRow>, StoreError> {
                    let row = sqlx::query(
                        "SELECT id, convention_id, email, name, organisation, role, party, mandate, \
                         expires_at, used_at FROM invitation WHERE token_digest = $1",
                    )
                    .bind(digest)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(|r| {
                        Ok(InvitationRow {
                            id: r.try_get(0)?,
                            convention_id: r.try_get(1)?,
                            email: r.try_get(2)?,
                            name: r.try_get(3)?,
                            organisation: r.try_get(4)?,
                            role: decode(&r.try_get::<String, _>(5)?, "rôle")?,
                            party: r.try_get(6)?,
                            mandate: r.try_get(7)?,
                            expires_at: at(&r, 8, "expiration de l'invitation")?,
                            used_at: at_option(&r, 9, "date d'usage de l'invitation")?,
                        })
                    })
                    .transpose()
                }

                #[tracing::instrument(level = "debug", skip_all, fields(convention = change.convention_id))]
                async fn apply_change(
                    &self,
                    change: &ConventionChange,
                ) -> Result<AppliedChange, StoreError> {
                    let mut tx = self.begin_write().await?;
                    let applied = apply(&mut tx, change, Vec::new()).await?;
                    tx.commit().await?;
                    Ok(applied)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn create_session(
                    &self,
                    jti: &str,
                    user_id: i64,
                    created_at: i64,
                    expires_at: i64,
                ) -> Result<(), StoreError> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query("DELETE FROM app_session WHERE expires_at <= $1")
                        .bind(created_at)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO app_session (jti, user_id, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(jti)
                    .bind(user_id)
                    .bind(created_at)
                    .bind(expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_write_error)?;
                    tx.commit().await?;
                    Ok(())
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn session_user(
                    &self,
                    jti: &str,
                    user_id: i64,
                    now: i64,
                ) -> Result<Option<UserRecord>, StoreError> {
                    let sql = format!(
                        "SELECT {USER_COLUMNS} FROM app_session s \
                         JOIN app_user u ON u.id = s.user_id \
                         JOIN organisation o ON o.id = u.organisation_id \
                         WHERE s.jti = $1 AND s.user_id = $2 AND s.expires_at > $3"
                    );
                    let row = sqlx::query(&sql)
                        .bind(jti)
                        .bind(user_id)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.map(|r| user_row(&r)).transpose()?)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn revoke_session(&self, jti: &str) -> Result<(), StoreError> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query("DELETE FROM app_session WHERE jti = $1")
                        .bind(jti)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn change_password(
                    &self,
                    user_id: i64,
                    password_hash: &str,
                ) -> Result<(), StoreError> {
                    let mut tx = self.begin_write().await?;
                    set_password(&mut tx, user_id, password_hash).await?;
                    tx.commit().await?;
                    Ok(())
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn create_password_reset(
                    &self,
                    user_id: i64,
                    token_digest: &str,
                    expires_at: &str,
                    mail: &OutboxMessage,
                    recent_since: &str,
                    max_recent: i64,
                ) -> Result<bool, StoreError> {
                    let mut tx = self.begin_write().await?;
                    // Locks the account's row first (a no-op write; SQLite's write transaction
                    // is exclusive anyway), so that two requests at once on PostgreSQL cannot
                    // both count the links before either inserts and pass the limit together.
                    sqlx::query("UPDATE app_user SET name = name WHERE id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    let recent: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM password_reset WHERE user_id = $1 AND created_at > $2",
                    )
                    .bind(user_id)
                    .bind(recent_since)
                    .fetch_one(&mut *tx)
                    .await?;
                    if recent >= max_recent {
                        return Ok(false);
                    }
                    sqlx::query(
                        "UPDATE password_reset SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
                    )
                    .bind(user_id)
                    .bind(&mail.created_at)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO password_reset (user_id, token_digest, expires_at, created_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(user_id)
                    .bind(token_digest)
                    .bind(expires_at)
                    .bind(&mail.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_write_error)?;
                    insert_outbox(&mut tx, mail, None).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn password_reset_user(
                    &self,
                    token_digest: &str,
                    now: &str,
                ) -> Result<Option<UserRecord>, StoreError> {
                    let sql = format!(
                        "SELECT {USER_COLUMNS} FROM password_reset r \
                         JOIN app_user u ON u.id = r.user_id \
                         JOIN organisation o ON o.id = u.organisation_id \
                         WHERE r.token_digest = $1 AND r.used_at IS NULL AND r.expires_at > $2"
                    );
                    let row = sqlx::query(&sql)
                        .bind(token_digest)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.map(|r| user_row(&r)).transpose()?)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn reset_password(
                    &self,
                    token_digest: &str,
                    now: &str,
                    password_hash: &str,
                ) -> Result<bool, StoreError> {
                    let mut tx = self.begin_write().await?;
                    let user: Option<i64> = sqlx::query_scalar(
                        "UPDATE password_reset SET used_at = $2 \
                         WHERE token_digest = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
                    )
                    .bind(token_digest)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(user) = user else {
                        return Ok(false);
                    };
                    // Using one link voids all the others of the account.
                    sqlx::query(
                        "UPDATE password_reset SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
                    )
                    .bind(user)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    set_password(&mut tx, user, password_hash).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn outbox_due(&self, now: &str, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
                    let sql = format!(
                        "SELECT {OUTBOX_COLUMNS} FROM outbox \
                         WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY id LIMIT $2"
                    );
                    sqlx::query(&sql)
                        .bind(now)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(outbox_row)
                        .collect()
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn outbox_sent(&self, id: i64, at: &str) -> Result<(), StoreError> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "UPDATE outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1",
                    )
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn outbox_failed(
                    &self,
                    id: i64,
                    error: &str,
                    next_attempt_at: &str,
                ) -> Result<(), StoreError> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(error)
                    .bind(next_attempt_at)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn outbox(&self) -> Result<Vec<OutboxRow>, StoreError> {
                    let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id");
                    sqlx::query(&sql)
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(outbox_row)
                        .collect()
                }

                async fn outbox_for_reader(
                    &self,
                    email: &str,
                    conventions: &[i64],
                    limit: i64,
                ) -> Result<Vec<OutboxRow>, StoreError> {
                    let listed: Vec<String> =
                        (0..conventions.len()).map(|i| format!("${}", i + 3)).collect();
                    let of_conventions = if listed.is_empty() {
                        String::new()
                    } else {
                        format!(" OR convention_id IN ({})", listed.join(", "))
                    };
                    let sql = format!(
                        "SELECT {OUTBOX_COLUMNS} FROM outbox \
                         WHERE lower(to_address) = lower($1){of_conventions} ORDER BY id DESC LIMIT $2"
                    );
                    let mut query = sqlx::query(&sql).bind(email).bind(limit);
                    for id in conventions {
                        query = query.bind(*id);
                    }
                    query
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(outbox_row)
                        .collect()
                }

                async fn invitations(
                    &self,
                    convention_id: i64,
                ) -> Result<Vec<InvitationRow>, StoreError> {
                    sqlx::query(
                        "SELECT id, convention_id, email, name, organisation, role, party, mandate, \
                         expires_at, used_at FROM invitation WHERE convention_id = $1 ORDER BY id",
                    )
                    .bind(convention_id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| {
                        let role: String = r.try_get(5)?;
                        Ok(InvitationRow {
                            id: r.try_get(0)?,
                            convention_id: r.try_get(1)?,
                            email: r.try_get(2)?,
                            name: r.try_get(3)?,
                            organisation: r.try_get(4)?,
                            role: decode(&role, "rôle")?,
                            party: r.try_get(6)?,
                            mandate: r.try_get(7)?,
                            expires_at: at(r, 8, "expiration de l'invitation")?,
                            used_at: at_option(r, 9, "date d'usage de l'invitation")?,
                        })
                    })
                    .collect::<Result<_, StoreError>>()
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn open_rounds_with_deadline(
                    &self,
                ) -> Result<Vec<(i64, i64, String)>, StoreError> {
                    sqlx::query(
                        "SELECT convention_id, id, deadline FROM signing_round \
                         WHERE status = $1 AND deadline IS NOT NULL ORDER BY id",
                    )
                    .bind(RoundStatus::Ouverte.as_str())
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(StoreError::from)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn locked_versions_without(
                    &self,
                    kind: &str,
                    since: &str,
                ) -> Result<Vec<(i64, i64)>, StoreError> {
                    // The payloads are JSON text: a version's hash (64 hexadecimal digits)
                    // appears in them only as the value that names it.
                    sqlx::query(
                        "SELECT v.convention_id, v.number, MIN(l.at) FROM version v \
                         JOIN audit_event l ON l.convention_id = v.convention_id \
                           AND l.kind = 'version_verrouillee' AND l.at >= $2 \
                           AND l.payload LIKE '%' || v.hash || '%' \
                         WHERE v.locked = TRUE AND NOT EXISTS ( \
                           SELECT 1 FROM audit_event a WHERE a.convention_id = v.convention_id \
                             AND a.kind = $1 AND a.payload LIKE '%' || v.hash || '%') \
                         GROUP BY v.convention_id, v.number ORDER BY 3, 1, 2",
                    )
                    .bind(kind)
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(StoreError::from)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn epci_conventions(&self, epci_siren: &str) -> Result<Vec<EpciConvention>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT c.id, c.title, c.bailleur_siren, c.year, c.state, v.number, v.hash \
                         FROM convention c LEFT JOIN version v ON v.id = c.current_version \
                         WHERE c.epci_siren = $1 ORDER BY c.year DESC, c.id",
                    )
                    .bind(epci_siren)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(EpciConvention {
                                id: r.try_get(0)?,
                                title: r.try_get(1)?,
                                bailleur_siren: r.try_get(2)?,
                                year: r.try_get(3)?,
                                state: decode(&r.try_get::<String, _>(4)?, "état de la convention")?,
                                version: r.try_get(5)?,
                                version_hash: r.try_get(6)?,
                            })
                        })
                        .collect::<Result<_, StoreError>>()
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn cia_versions(&self, epci_siren: &str) -> Result<Vec<CiaVersionRow>, StoreError> {
                    sqlx::query(
                        "SELECT epci_siren, number, parent_hash, hash, document, author_id, reason, created_at \
                         FROM cia_version WHERE epci_siren = $1 ORDER BY number",
                    )
                    .bind(epci_siren)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(CiaVersionRow {
                            epci_siren: r.try_get(0)?,
                            number: r.try_get(1)?,
                            parent_hash: r.try_get(2)?,
                            hash: r.try_get(3)?,
                            document: r.try_get(4)?,
                            author_id: r.try_get(5)?,
                            reason: r.try_get(6)?,
                            created_at: r.try_get(7)?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(StoreError::from)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn add_cia_version(
                    &self,
                    version: &CiaVersionRow,
                    outbox: &[OutboxMessage],
                ) -> Result<(), StoreError> {
                    let mut tx = self.begin_write().await?;
                    let latest: Option<(i64, String)> = sqlx::query(
                        "SELECT number, hash FROM cia_version WHERE epci_siren = $1 \
                         ORDER BY number DESC LIMIT 1",
                    )
                    .bind(&version.epci_siren)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
                    .transpose()?;
                    let expected = latest.as_ref().map(|(n, _)| n + 1).unwrap_or(1);
                    if version.number != expected
                        || latest.as_ref().map(|(_, h)| h) != version.parent_hash.as_ref()
                    {
                        return Err(StoreError::Conflict(
                            "la CIA a été modifiée entre-temps par quelqu'un d'autre : relisez sa dernière version et recommencez".into(),
                        ));
                    }
                    sqlx::query(
                        "INSERT INTO cia_version (epci_siren, number, parent_hash, hash, document, author_id, reason, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&version.epci_siren)
                    .bind(version.number)
                    .bind(&version.parent_hash)
                    .bind(&version.hash)
                    .bind(&version.document)
                    .bind(version.author_id)
                    .bind(&version.reason)
                    .bind(&version.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_write_error)?;
                    for m in outbox {
                        insert_outbox(&mut tx, m, None).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }
            }
        }
    };
}
pub(super) use impl_convention_store;
