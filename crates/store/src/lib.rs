//! Storage: the only crate with SQL. SQLite (the embedded default) and PostgreSQL sit behind one
//! interface, [`Store`] and its transaction [`Tx`].
//!
//! The queries live in one `<feature>_queries.rs` per table group (tickets, contacts, queues, sla,
//! webhooks, ...), beside the `<feature>_records.rs` holding its rows, and are compiled twice: once
//! against `sqlx::Sqlite` and once against `sqlx::Postgres`. That keeps one copy of every statement
//! while each is checked against a concrete driver, which sqlx's `Any` driver cannot offer. [`Tx`] dispatches to the right copy.

mod answer_records;
mod api_tokens_records;
mod calendars_records;
mod canned_records;
pub mod channel_records;
mod contacts_records;
mod entries_records;
mod events_records;
mod forms_records;
mod help_topics_records;
mod history_records;
mod import_records;
mod insights_records;
pub mod knowledge_records;
pub mod migrate_data;
mod notifications_records;
mod notify;
mod outbox_records;
mod queues_records;
pub mod records;
mod review_records;
mod routing_records;
pub mod search_records;
mod sign_in_records;
mod sla_records;
mod suggested_macros_records;
mod tickets_records;
mod users_records;
mod webhooks_records;
mod workspaces_records;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use switchboard_domain::*;

pub use answer_records::*;
pub use channel_records::*;
pub use knowledge_records::*;
pub use notify::{Heard, Listener};
pub use records::*;
pub use search_records::*;

/// Which SQL dialect a query copy is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

// `cargo fmt` does not look inside `include!`: these declarations, never compiled (`cfg(any())` is
// always false), lead it to the query files so they are formatted and checked like the rest.
#[cfg(any())]
mod answer_queries;
#[cfg(any())]
mod api_tokens_queries;
#[cfg(any())]
mod background_jobs_queries;
#[cfg(any())]
mod calendars_queries;
#[cfg(any())]
mod canned_queries;
#[cfg(any())]
mod channel_inbox_queries;
#[cfg(any())]
mod channel_queries;
#[cfg(any())]
mod contacts_queries;
#[cfg(any())]
mod entries_queries;
#[cfg(any())]
mod events_queries;
#[cfg(any())]
mod follow_ups_queries;
#[cfg(any())]
mod forms_queries;
#[cfg(any())]
mod help_topics_queries;
#[cfg(any())]
mod history_queries;
#[cfg(any())]
mod import_queries;
#[cfg(any())]
mod insights_queries;
#[cfg(any())]
mod knowledge_queries;
#[cfg(any())]
mod lease_queries;
#[cfg(any())]
mod notifications_queries;
#[cfg(any())]
mod outbox_queries;
#[cfg(any())]
mod queries;
#[cfg(any())]
mod queues_queries;
#[cfg(any())]
mod review_queries;
#[cfg(any())]
mod routing_queries;
#[cfg(any())]
mod search_queries;
#[cfg(any())]
mod sign_in_queries;
#[cfg(any())]
mod sla_queries;
#[cfg(any())]
mod suggested_macros_queries;
#[cfg(any())]
mod tickets_queries;
#[cfg(any())]
mod users_queries;
#[cfg(any())]
mod webhooks_queries;
#[cfg(any())]
mod workspaces_queries;

#[allow(clippy::too_many_arguments)]
mod sqlite {
    type Db = sqlx::Sqlite;
    const DIALECT: crate::Dialect = crate::Dialect::Sqlite;
    include!("queries.rs");
    include!("api_tokens_queries.rs");
    include!("calendars_queries.rs");
    include!("canned_queries.rs");
    include!("contacts_queries.rs");
    include!("entries_queries.rs");
    include!("events_queries.rs");
    include!("follow_ups_queries.rs");
    include!("forms_queries.rs");
    include!("help_topics_queries.rs");
    include!("history_queries.rs");
    include!("import_queries.rs");
    include!("notifications_queries.rs");
    include!("outbox_queries.rs");
    include!("queues_queries.rs");
    include!("review_queries.rs");
    include!("routing_queries.rs");
    include!("sla_queries.rs");
    include!("suggested_macros_queries.rs");
    include!("tickets_queries.rs");
    include!("users_queries.rs");
    include!("webhooks_queries.rs");
    include!("workspaces_queries.rs");
    include!("channel_queries.rs");
    include!("channel_inbox_queries.rs");
    include!("sign_in_queries.rs");
    include!("lease_queries.rs");
    include!("search_queries.rs");
    include!("knowledge_queries.rs");
    include!("answer_queries.rs");
    include!("background_jobs_queries.rs");
    include!("insights_queries.rs");
}

#[allow(clippy::too_many_arguments)]
mod postgres {
    type Db = sqlx::Postgres;
    const DIALECT: crate::Dialect = crate::Dialect::Postgres;
    include!("queries.rs");
    include!("api_tokens_queries.rs");
    include!("calendars_queries.rs");
    include!("canned_queries.rs");
    include!("contacts_queries.rs");
    include!("entries_queries.rs");
    include!("events_queries.rs");
    include!("follow_ups_queries.rs");
    include!("forms_queries.rs");
    include!("help_topics_queries.rs");
    include!("history_queries.rs");
    include!("import_queries.rs");
    include!("notifications_queries.rs");
    include!("outbox_queries.rs");
    include!("queues_queries.rs");
    include!("review_queries.rs");
    include!("routing_queries.rs");
    include!("sla_queries.rs");
    include!("suggested_macros_queries.rs");
    include!("tickets_queries.rs");
    include!("users_queries.rs");
    include!("webhooks_queries.rs");
    include!("workspaces_queries.rs");
    include!("channel_queries.rs");
    include!("channel_inbox_queries.rs");
    include!("sign_in_queries.rs");
    include!("lease_queries.rs");
    include!("search_queries.rs");
    include!("knowledge_queries.rs");
    include!("answer_queries.rs");
    include!("background_jobs_queries.rs");
    include!("insights_queries.rs");
}

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (in this workspace).
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; holds the constraint or index name when known.
    #[error("conflict on {0}")]
    Conflict(String),
    /// The database refused a value for what it is (a data exception such as a NUL in text, or a
    /// foreign key, NOT NULL or CHECK constraint): the same statement fails the same way again,
    /// unlike a lost connection.
    #[error("the database refused a value: {0}")]
    Refused(String),
    /// PostgreSQL aborted the transaction to break a deadlock (SQLSTATE 40P01) or a serialization
    /// conflict (40001): nothing it wrote stands, and the same transaction run again from the
    /// start, on fresh data, can succeed.
    #[error("the database aborted the transaction to let a concurrent one through: {0}")]
    Aborted(String),
    /// The `DATABASE_URL` is not one we can use.
    #[error("{0}")]
    Config(String),
    /// Anything else from the driver.
    #[error(transparent)]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(ref d) if d.is_unique_violation() => {
                StoreError::Conflict(d.constraint().map(str::to_string).unwrap_or_else(|| d.message().to_string()))
            }
            sqlx::Error::Database(ref d) if refuses_value(d.as_ref()) => StoreError::Refused(d.message().to_string()),
            sqlx::Error::Database(ref d) if aborted_to_let_another_through(d.as_ref()) => {
                StoreError::Aborted(d.message().to_string())
            }
            other => StoreError::Database(other),
        }
    }
}

/// True when the driver's error is about the value written, not the connection or the server's
/// state: retrying cannot help, so callers may set the input aside instead of retrying forever.
fn refuses_value(d: &dyn sqlx::error::DatabaseError) -> bool {
    use sqlx::error::ErrorKind;
    if matches!(d.kind(), ErrorKind::ForeignKeyViolation | ErrorKind::NotNullViolation | ErrorKind::CheckViolation) {
        return true;
    }
    let code = d.code().unwrap_or_default();
    if d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
        // SQLSTATE class 22, "data exception": a NUL or a bad byte in text, a value out of range;
        // class 54, "program limit exceeded": a value too large for an index row.
        return code.starts_with("22") || code.starts_with("54");
    }
    // SQLite's extended result codes keep the primary code in the low byte: TOOBIG (18),
    // CONSTRAINT (19), MISMATCH (20), RANGE (25).
    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 18..=20 | 25))
}

/// True for PostgreSQL's deadlock (40P01) and serialization failure (40001): the server chose this
/// transaction to abort so a concurrent one could finish; rerunning it is the documented remedy.
fn aborted_to_let_another_through(d: &dyn sqlx::error::DatabaseError) -> bool {
    d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some()
        && matches!(d.code().as_deref(), Some("40P01" | "40001"))
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(sqlx::Error::Migrate(Box::new(e)))
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// A connection pool to one of the two databases.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite: one writer connection (SQLite runs one write at a time anyway; a single writer
    /// avoids SQLITE_BUSY on lock upgrades) and a pool of readers that WAL lets run alongside it.
    Sqlite { writer: SqlitePool, readers: SqlitePool },
    /// PostgreSQL: one pool for both.
    Postgres(PgPool),
}

impl Store {
    /// Connects to `url`, chosen by its scheme: `sqlite:` or `postgres:`/`postgresql:`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("bad SQLite URL: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("cache_size", "-16000");
            let writer = PoolOptions::new().max_connections(1).connect_with(opts.clone()).await?;
            let readers = PoolOptions::new().max_connections(4).connect_with(opts).await?;
            Ok(Store::Sqlite { writer, readers })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts =
                PgConnectOptions::from_str(url).map_err(|e| StoreError::Config(format!("bad PostgreSQL URL: {e}")))?;
            let pool = PoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Store::Postgres(pool))
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(StoreError::Config(format!(
                "DATABASE_URL scheme {scheme:?} is not supported; use sqlite://PATH or postgres://USER@HOST/DB"
            )))
        }
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        match self {
            Store::Sqlite { .. } => Dialect::Sqlite,
            Store::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite { writer, .. } => SQLITE_MIGRATIONS.run(writer).await?,
            Store::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Applies the migrations up to and including `version` only: for tests that build a
    /// database as an older release left it, then migrate it on with [`Store::migrate`].
    pub async fn migrate_up_to(&self, version: i64) -> Result<(), StoreError> {
        let up_to = |all: &sqlx::migrate::Migrator| {
            sqlx::migrate::Migrator::with_migrations(all.iter().filter(|m| m.version <= version).cloned().collect())
        };
        match self {
            Store::Sqlite { writer, .. } => up_to(&SQLITE_MIGRATIONS).run(writer).await?,
            Store::Postgres(pool) => up_to(&POSTGRES_MIGRATIONS).run(pool).await?,
        }
        Ok(())
    }

    /// True when the database answers and every migration this binary knows is applied.
    pub async fn ready(&self) -> Result<bool, StoreError> {
        let sql = "SELECT COUNT(*) FROM _sqlx_migrations WHERE success";
        let (applied, known): (i64, usize) = match self {
            Store::Sqlite { readers, .. } => {
                (sqlx::query_scalar(sql).fetch_one(readers).await?, SQLITE_MIGRATIONS.iter().count())
            }
            Store::Postgres(pool) => {
                (sqlx::query_scalar(sql).fetch_one(pool).await?, POSTGRES_MIGRATIONS.iter().count())
            }
        };
        Ok(usize::try_from(applied).unwrap_or(0) >= known)
    }

    /// Starts a transaction for a change. On PostgreSQL (READ COMMITTED) the rows it loads to
    /// change (tickets, a queue's rotation) are locked until it ends, so concurrent changes to one
    /// row take turns and each sees the one before it; SQLite runs one write transaction at a time.
    pub async fn write(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            // IMMEDIATE takes the write lock up front, where the busy timeout applies. A deferred
            // transaction that reads first and then writes fails at once with SQLITE_BUSY when
            // another process (a CLI command, a second server) committed in between. It also
            // makes every read-modify-write here serial: no other writer runs between the read
            // and the write.
            Store::Sqlite { writer, .. } => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Starts a read-only snapshot, so a page and its total agree.
    pub async fn read(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            // A deferred SQLite transaction reads one WAL snapshot from its first statement on.
            Store::Sqlite { readers, .. } => Tx::Sqlite(readers.begin().await?),
            // READ COMMITTED would give every statement its own snapshot; REPEATABLE READ gives
            // the whole transaction one. READ ONLY never takes a transaction id or row locks.
            Store::Postgres(pool) => {
                Tx::PostgresSnapshot(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?)
            }
        })
    }

    /// After a bulk import, refreshes PostgreSQL's planner statistics and the visibility map
    /// its index-only counts rely on; autovacuum gets there eventually, this gets there now.
    pub async fn optimize(&self) -> Result<(), StoreError> {
        match self {
            // Not ANALYZE: the queries here are shaped to be planned well without statistics,
            // and with them SQLite once traded the newest-first index for sorting a whole queue.
            Store::Sqlite { .. } => {}
            Store::Postgres(pool) => {
                // VACUUM cannot run inside a transaction, so this goes to the pool directly.
                sqlx::query("VACUUM (ANALYZE) tickets, entries, contacts, ticket_tags").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Closes the pools.
    pub async fn close(&self) {
        match self {
            Store::Sqlite { writer, readers } => {
                readers.close().await;
                writer.close().await;
            }
            Store::Postgres(pool) => pool.close().await,
        }
    }
}

/// An open transaction on either database.
#[derive(Debug)]
pub enum Tx {
    /// SQLite, for a change ([`Store::write`]) or a read ([`Store::read`]).
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// A PostgreSQL change ([`Store::write`]): rows loaded to change are locked until it ends.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    /// A PostgreSQL read-only snapshot ([`Store::read`]).
    PostgresSnapshot(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) | Tx::PostgresSnapshot(t) => t.commit().await?,
        }
        Ok(())
    }

    /// A ticket, locked until this transaction ends when it is a PostgreSQL change: the change
    /// then starts from the ticket as the previous change left it, never from a copy another
    /// transaction is about to overwrite. Plain reads (snapshots, SQLite) just read.
    pub async fn ticket_by_id(&mut self, ws: WorkspaceId, id: TicketId) -> Result<Option<TicketRecord>, StoreError> {
        match self {
            Tx::Sqlite(t) => sqlite::ticket_by_id(t, ws, id, false).await,
            Tx::Postgres(t) => postgres::ticket_by_id(t, ws, id, true).await,
            Tx::PostgresSnapshot(t) => postgres::ticket_by_id(t, ws, id, false).await,
        }
    }

    /// Locks these tickets until this transaction ends (a PostgreSQL change), in ascending id
    /// order whatever order they are given in. Every change that locks several tickets takes them
    /// this way first, so two such changes wait for each other instead of each holding a ticket
    /// the other wants (a deadlock PostgreSQL breaks by aborting one). Ids that are not tickets
    /// are skipped; SQLite and snapshots have nothing to lock.
    pub async fn lock_tickets(&mut self, ids: &[TicketId]) -> Result<(), StoreError> {
        if let Tx::Postgres(t) = self {
            let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
            // The lock is taken as the sorted rows come out, so in id order.
            sqlx::query("SELECT id FROM tickets WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
                .bind(&ids)
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// A ticket by its number, locked like [`Tx::ticket_by_id`].
    pub async fn ticket_by_number(&mut self, ws: WorkspaceId, number: i64) -> Result<Option<TicketRecord>, StoreError> {
        match self {
            Tx::Sqlite(t) => sqlite::ticket_by_number(t, ws, number, false).await,
            Tx::Postgres(t) => postgres::ticket_by_number(t, ws, number, true).await,
            Tx::PostgresSnapshot(t) => postgres::ticket_by_number(t, ws, number, false).await,
        }
    }

    /// Where the queue's round robin stopped, locked until this transaction ends when it is a
    /// PostgreSQL change, so two tickets assigned at once never go to the same member.
    pub async fn round_robin_cursor(&mut self, ws: WorkspaceId, queue: QueueId) -> Result<Option<UserId>, StoreError> {
        match self {
            Tx::Sqlite(t) => sqlite::round_robin_cursor(t, ws, queue, false).await,
            Tx::Postgres(t) => postgres::round_robin_cursor(t, ws, queue, true).await,
            Tx::PostgresSnapshot(t) => postgres::round_robin_cursor(t, ws, queue, false).await,
        }
    }

    /// The workspace's settings, for a change that saves them: on PostgreSQL two such changes
    /// take turns (until this transaction ends), so neither loses the other's fields.
    pub async fn workspace_settings_for_update(
        &mut self,
        ws: WorkspaceId,
    ) -> Result<WorkspaceSettingsRecord, StoreError> {
        match self {
            Tx::Sqlite(t) => sqlite::workspace_settings_for_update(t, ws).await,
            Tx::Postgres(t) => postgres::workspace_settings_for_update(t, ws).await,
            // Nothing changes in a snapshot: there is nothing to wait for.
            Tx::PostgresSnapshot(t) => postgres::workspace_settings(t, ws).await,
        }
    }
}

/// Generates a `Tx` method per query that calls the copy compiled for the open database.
macro_rules! tx_methods {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        #[allow(clippy::too_many_arguments, missing_docs)]
        impl Tx {
            $(
                $(#[$doc])*
                pub async fn $name(&mut self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                    match self {
                        Tx::Sqlite(t) => sqlite::$name(&mut **t, $($arg),*).await,
                        Tx::Postgres(t) | Tx::PostgresSnapshot(t) => postgres::$name(&mut **t, $($arg),*).await,
                    }
                }
            )*
        }
    };
}

tx_methods! {
    fn insert_workspace(slug: &str, name: &str, prefix: &str, tz: &str, now: Millis) -> WorkspaceRecord;
    fn workspace_by_slug(slug: &str) -> Option<WorkspaceRecord>;
    fn workspace_by_id(id: WorkspaceId) -> WorkspaceRecord;
    fn last_ticket_number(ws: WorkspaceId) -> i64;
    fn insert_user(ws: WorkspaceId, email: &str, name: &str, role: Role, password_hash: Option<&str>, now: Millis) -> UserRecord;
    fn update_user(ws: WorkspaceId, id: UserId, name: &str, role: Role, active: bool) -> UserRecord;
    fn set_user_password(ws: WorkspaceId, id: UserId, hash: &str, now: Millis) -> ();
    fn end_user_sessions(ws: WorkspaceId, id: UserId, now: Millis) -> ();
    fn users_by_email(email: &str) -> Vec<(UserRecord, String)>;
    fn user_by_id(ws: WorkspaceId, id: UserId) -> Option<UserRecord>;
    fn user_by_email(ws: WorkspaceId, email: &str) -> Option<UserRecord>;
    fn list_users(ws: WorkspaceId) -> Vec<UserRecord>;
    fn insert_contact(ws: WorkspaceId, n: &NewContact, now: Millis) -> ContactRecord;
    fn contact_by_id(ws: WorkspaceId, id: ContactId) -> Option<ContactRecord>;
    fn contact_by_identity(ws: WorkspaceId, kind: IdentityKind, value: &str) -> Option<ContactRecord>;
    fn contacts_by_email(email: &str) -> Vec<(ContactRecord, String)>;
    fn list_contacts(ws: WorkspaceId, search: Option<&str>, limit: i64) -> Vec<ContactRecord>;
    fn set_contact_password(ws: WorkspaceId, id: ContactId, hash: &str, now: Millis) -> ();
    fn end_contact_sessions(ws: WorkspaceId, id: ContactId, now: Millis) -> ();
    fn insert_queue(ws: WorkspaceId, name: &str, is_default: bool, mode: AssignmentMode, now: Millis) -> QueueRecord;
    fn update_queue(ws: WorkspaceId, id: QueueId, name: &str, mode: AssignmentMode) -> QueueRecord;
    fn set_default_queue(ws: WorkspaceId, id: QueueId) -> ();
    fn delete_queue(ws: WorkspaceId, id: QueueId) -> ();
    fn queue_ticket_count(ws: WorkspaceId, id: QueueId) -> i64;
    fn list_queues(ws: WorkspaceId) -> Vec<QueueRecord>;
    fn queue_by_id(ws: WorkspaceId, id: QueueId) -> Option<QueueRecord>;
    fn default_queue(ws: WorkspaceId) -> Option<QueueRecord>;
    fn upsert_queue_member(ws: WorkspaceId, queue: QueueId, user: UserId, role: MemberRole, weight: i64, on_break: bool) -> ();
    fn remove_queue_member(ws: WorkspaceId, queue: QueueId, user: UserId) -> bool;
    fn list_queue_members(ws: WorkspaceId, queue: QueueId) -> Vec<QueueMemberRecord>;
    fn upsert_help_topic(ws: WorkspaceId, id: Option<HelpTopicId>, name: &str, priority: Option<Priority>, queue: Option<QueueId>, assignee: Option<UserId>, due_offset: Option<i64>, active: bool, now: Millis) -> HelpTopicRecord;
    fn take_form_version(form: EditedForm, ws: WorkspaceId, expected: Option<i64>, by: &str, now: Millis) -> Option<i64>;
    fn form_version(form: EditedForm, ws: WorkspaceId) -> Option<(i64, Option<Millis>, Option<String>)>;
    fn take_settings_version(form: SettingsForm, ws: WorkspaceId, expected: Option<i64>, by: &str, now: Millis) -> Option<i64>;
    fn settings_version(form: SettingsForm, ws: WorkspaceId) -> Option<(i64, Millis, String)>;
    fn help_topic_by_id(ws: WorkspaceId, id: HelpTopicId) -> Option<HelpTopicRecord>;
    fn list_help_topics(ws: WorkspaceId) -> Vec<HelpTopicRecord>;
    fn upsert_canned_response(ws: WorkspaceId, id: Option<CannedResponseId>, title: &str, shortcut: Option<&str>, body: &str, topic: Option<HelpTopicId>, now: Millis) -> CannedResponseRecord;
    fn canned_response_by_id(ws: WorkspaceId, id: CannedResponseId) -> Option<CannedResponseRecord>;
    fn list_canned_responses(ws: WorkspaceId) -> Vec<CannedResponseRecord>;
    fn delete_canned_response(ws: WorkspaceId, id: CannedResponseId) -> bool;
    fn insert_ticket(t: &NewTicket) -> TicketRecord;
    fn save_ticket(t: &TicketRecord) -> ();
    fn replace_ticket_tags(ws: WorkspaceId, ticket: TicketId, tags: &[String]) -> ();
    fn clear_thread_key(ws: WorkspaceId, id: TicketId) -> ();
    fn ticket_id_by_thread_key(ws: WorkspaceId, key: &str) -> Option<TicketId>;
    fn list_tickets(f: &TicketQuery) -> Vec<TicketRecord>;
    fn count_tickets(f: &TicketQuery) -> i64;
    fn count_tickets_up_to(f: &TicketQuery, cap: i64) -> TicketTotal;
    fn count_tickets_by_status(f: &TicketQuery, cap: i64) -> Vec<(String, TicketTotal)>;
    fn insert_entry(e: &NewEntry) -> EntryId;
    fn entry_by_id(ws: WorkspaceId, id: EntryId) -> Option<EntryRecord>;
    fn entry_by_external_id(ws: WorkspaceId, channel: Channel, external_id: &str) -> Option<EntryRecord>;
    fn list_entries(ws: WorkspaceId, ticket: TicketId, public_only: bool) -> Vec<EntryRecord>;
    fn opening_entry_body(ws: WorkspaceId, ticket: TicketId) -> Option<String>;
    fn has_staff_reply(ticket: TicketId) -> bool;
    fn insert_mentions(ws: WorkspaceId, entry: EntryId, users: &[UserId]) -> ();
    fn mentions_of_entries(ws: WorkspaceId, ticket: TicketId) -> Vec<(EntryId, UserId)>;
    fn insert_attachment(ws: WorkspaceId, ticket: TicketId, entry: EntryId, file_name: &str, content_type: &str, size: i64, sha256: &str, now: Millis) -> AttachmentId;
    fn list_attachments(ws: WorkspaceId, ticket: TicketId) -> Vec<AttachmentRecord>;
    fn attachment_by_id(ws: WorkspaceId, id: AttachmentId) -> Option<AttachmentRecord>;
    fn insert_history(ws: WorkspaceId, ticket: TicketId, actor_user: Option<UserId>, actor_contact: Option<ContactId>, actor_label: &str, changes: &[NewHistory], now: Millis) -> ();
    fn list_history(ws: WorkspaceId, ticket: TicketId) -> Vec<HistoryRecord>;
    fn insert_event(ws: WorkspaceId, ticket: Option<TicketId>, kind: EventKind, payload: &serde_json::Value, now: Millis) -> EventId;
    fn list_events(ws: WorkspaceId, ticket: TicketId) -> Vec<(String, String)>;
    fn insert_outbox(ws: WorkspaceId, ticket: TicketId, entry: EntryId, channel: Channel, now: Millis) -> OutboxId;
    fn pending_outbox_count(ws: WorkspaceId, ticket: TicketId) -> i64;
    fn insert_api_token(ws: WorkspaceId, name: &str, hash: &str, prefix: &str, scopes: &str, created_by: Option<UserId>, now: Millis) -> ApiTokenRecord;
    fn api_token_by_hash(hash: &str) -> Option<ApiTokenRecord>;
    fn list_api_tokens(ws: WorkspaceId) -> Vec<ApiTokenRecord>;
    fn revoke_api_token(ws: WorkspaceId, id: ApiTokenId, now: Millis) -> bool;
    fn touch_api_token(id: ApiTokenId, now: Millis) -> ();
    fn import_contacts(ws: WorkspaceId, emails: &[String], now: Millis) -> Vec<(String, ContactId)>;
    fn import_tickets(ws: WorkspaceId, tickets: &[ImportedTicket]) -> ();
}

tx_methods! {
    fn workspace_settings(ws: WorkspaceId) -> WorkspaceSettingsRecord;
    fn save_workspace_settings(ws: WorkspaceId, s: &WorkspaceSettingsRecord, now: Millis) -> ();
    fn inactivity_workspaces() -> Vec<(WorkspaceId, WorkspaceSettingsRecord)>;
    fn purgeable_tickets(ws: WorkspaceId, closed_before: Millis, limit: i64) -> Vec<TicketId>;
    fn purge_transcript(ws: WorkspaceId, ticket: TicketId, now: Millis) -> Vec<String>;
    fn blob_in_use(sha256: &str) -> bool;
    fn workspace_ids() -> Vec<WorkspaceId>;
    fn staff_replies_on_resolved(ws: WorkspaceId, resolved_since: Millis, limit: i64) -> Vec<(TicketId, String)>;
    fn upsert_macro_suggestion(ws: WorkspaceId, fingerprint: &str, body: &str, occurrences: i64, tickets: i64, now: Millis) -> ();
    fn pending_macro_suggestions(ws: WorkspaceId) -> Vec<MacroSuggestionRecord>;
    fn decide_macro_suggestion(ws: WorkspaceId, id: MacroSuggestionId, status: SuggestionStatus, canned: Option<CannedResponseId>, now: Millis) -> Option<MacroSuggestionRecord>;
    fn macro_suggestion(ws: WorkspaceId, id: MacroSuggestionId) -> Option<MacroSuggestionRecord>;
    fn quiet_tickets(ws: WorkspaceId, before: Millis, customer_only: bool, after: TicketId, limit: i64) -> Vec<TicketId>;
    fn upsert_calendar(ws: WorkspaceId, id: Option<CalendarId>, name: &str, spec: &str, now: Millis) -> CalendarRecord;
    fn list_calendars(ws: WorkspaceId) -> Vec<CalendarRecord>;
    fn calendar_by_id(ws: WorkspaceId, id: CalendarId) -> Option<CalendarRecord>;
    fn delete_calendar(ws: WorkspaceId, id: CalendarId) -> bool;
    fn upsert_sla_policy(ws: WorkspaceId, id: Option<SlaPolicyId>, p: &SlaPolicyInput, now: Millis) -> SlaPolicyRecord;
    fn list_sla_policies(ws: WorkspaceId) -> Vec<SlaPolicyRecord>;
    fn sla_policy_for(ws: WorkspaceId, priority: Priority, topic: Option<HelpTopicId>) -> Option<SlaPolicyRecord>;
    fn sla_policy_by_id(ws: WorkspaceId, id: SlaPolicyId) -> Option<SlaPolicyRecord>;
    fn delete_sla_policy(ws: WorkspaceId, id: SlaPolicyId) -> bool;
    fn overdue_tickets(now: Millis, after: Option<(Millis, TicketId)>, limit: i64) -> Vec<OverdueTicket>;
    fn set_sla_next_check(ticket: TicketId, was: Millis, next: Option<Millis>) -> ();
    fn insert_sla_breach(ws: WorkspaceId, ticket: TicketId, target: SlaTarget, due_at: Millis, now: Millis) -> bool;
    fn list_sla_breaches(ws: WorkspaceId, ticket: TicketId) -> Vec<SlaBreachRecord>;
    fn breached_targets(tickets: &[TicketId]) -> Vec<(TicketId, String)>;
    fn list_routing_rules(ws: WorkspaceId) -> Vec<RoutingRuleRecord>;
    fn upsert_routing_rule(ws: WorkspaceId, id: Option<RoutingRuleId>, name: &str, position: i64, enabled: bool, definition: &str, now: Millis) -> RoutingRuleRecord;
    fn set_routing_rule_position(ws: WorkspaceId, id: RoutingRuleId, position: i64) -> bool;
    fn delete_routing_rule(ws: WorkspaceId, id: RoutingRuleId) -> bool;
    fn queue_member_loads(ws: WorkspaceId, queue: QueueId) -> Vec<MemberLoad>;
    fn set_round_robin_cursor(ws: WorkspaceId, queue: QueueId, user: UserId) -> ();
    fn upsert_webhook(ws: WorkspaceId, id: Option<WebhookId>, name: &str, url: &str, enabled: bool, events: &str, secret_enc: Option<&str>, now: Millis) -> WebhookRecord;
    fn list_webhooks(ws: WorkspaceId) -> Vec<WebhookRecord>;
    fn webhook_by_id(ws: WorkspaceId, id: WebhookId) -> Option<WebhookRecord>;
    fn delete_webhook(ws: WorkspaceId, id: WebhookId) -> bool;
    fn webhooks_for_event(ws: WorkspaceId, event: &str) -> Vec<WebhookRecord>;
    fn insert_webhook_delivery(ws: WorkspaceId, hook: WebhookId, event: &str, payload: &str, now: Millis) -> WebhookDeliveryId;
    fn webhook_delivery(id: WebhookDeliveryId) -> Option<WebhookDeliveryRecord>;
    fn due_webhook_deliveries(now: Millis, limit: i64) -> Vec<(WebhookDeliveryId, i64)>;
    fn record_delivery_attempt(id: WebhookDeliveryId, a: &DeliveryAttempt) -> ();
    fn list_webhook_deliveries(ws: WorkspaceId, hook: WebhookId, limit: i64) -> Vec<WebhookDeliveryRecord>;
    fn events_after(after: StreamPosition, limit: i64) -> Vec<EventRecord>;
    fn stream_cursor(name: &str) -> StreamPosition;
    fn set_stream_cursor(name: &str, position: StreamPosition) -> ();
    fn lock_stream_cursor(name: &str) -> StreamPosition;
    fn insert_notification(ws: WorkspaceId, kind: NotificationKind, ticket: Option<TicketId>, message: &str, now: Millis) -> ();
    fn list_notifications(ws: WorkspaceId, limit: i64) -> Vec<NotificationRecord>;
    fn insert_quality_flag(ws: WorkspaceId, ticket: TicketId, kind: QualityFlagKind, reason: &str, now: Millis) -> bool;
    fn list_quality_flags(ws: WorkspaceId, include_resolved: bool, limit: i64) -> Vec<QualityFlagRecord>;
    fn resolve_quality_flag(ws: WorkspaceId, id: QualityFlagId, by: Option<UserId>, now: Millis) -> Option<QualityFlagRecord>;
    fn due_outbox(channel: Channel, now: Millis, limit: i64) -> Vec<(OutboxId, i64)>;
    fn outbox_by_id(id: OutboxId) -> Option<OutboxRecord>;
    fn record_outbox_attempt(id: OutboxId, attempts_before: i64, status: SendStatus, next_attempt_at: Millis, error: Option<&str>) -> bool;
    fn set_entry_delivery(ws: WorkspaceId, entry: EntryId, status: DeliveryStatus, error: Option<&str>, external_id: Option<&str>) -> ();
    fn thread_message_ids(ws: WorkspaceId, ticket: TicketId, before: EntryId) -> Vec<String>;
    fn closed_without_follow_up(ws: WorkspaceId, kind: &str, from: Millis, to: Millis, skip_reason: Option<&str>, unrated_only: bool, limit: i64) -> Vec<TicketId>;
    fn insert_follow_up(ticket: TicketId, kind: &str, now: Millis) -> bool;
    fn stamp_rating(ws: WorkspaceId, ticket: TicketId, now: Millis) -> ();
    fn queue_depth(ws: WorkspaceId) -> i64;
    fn count_events_since(ws: WorkspaceId, kind: EventKind, since: Millis) -> i64;
    fn csat_counts(ws: WorkspaceId, from: Millis, to: Millis) -> (i64, i64);
    fn manager_alert_raised(ws: WorkspaceId, kind: &str) -> bool;
    fn set_manager_alert(ws: WorkspaceId, kind: &str, raised: bool, now: Millis) -> ();
    fn trend_events(ws: WorkspaceId, since: Millis) -> Vec<(String, Millis)>;
}

tx_methods! {
    fn save_channel_account(ws: WorkspaceId, id: Option<ChannelAccountId>, a: &ChannelAccountInput, now: Millis) -> ChannelAccountRecord;
    fn channel_accounts(ws: WorkspaceId, channel: &str) -> Vec<ChannelAccountRecord>;
    fn channel_account(ws: WorkspaceId, channel: &str, id: ChannelAccountId) -> Option<ChannelAccountRecord>;
    fn channel_account_any_workspace(channel: &str, id: ChannelAccountId) -> Option<ChannelAccountRecord>;
    fn channel_account_by_route(channel: &str, external_key: &str) -> Option<ChannelAccountRecord>;
    fn enabled_channel_accounts(channel: &str) -> Vec<ChannelAccountRecord>;
    fn delete_channel_account(ws: WorkspaceId, channel: &str, id: ChannelAccountId) -> bool;
    fn set_channel_account_state(ws: WorkspaceId, id: ChannelAccountId, state: &str) -> ();
    fn insert_channel_link_code(ws: WorkspaceId, channel: &str, code_hash: &str, created_by: Option<UserId>, now: Millis, expires_at: Millis) -> ChannelLinkCodeRecord;
    fn live_channel_link_code(channel: &str, code_hash: &str, now: Millis) -> Option<ChannelLinkCodeRecord>;
    fn use_channel_link_code(channel: &str, code_hash: &str, external_key: &str, now: Millis) -> Option<ChannelLinkCodeRecord>;
    fn add_contact_identity(ws: WorkspaceId, contact: ContactId, channel: &str, external_id: &str, now: Millis) -> bool;
    fn contact_identities(ws: WorkspaceId, contact: ContactId) -> Vec<ContactIdentityRecord>;
    fn add_staff_identity(ws: WorkspaceId, user: UserId, channel: &str, external_id: &str, now: Millis) -> bool;
    fn staff_by_identity(ws: WorkspaceId, channel: &str, external_id: &str) -> Option<UserId>;
    fn set_entry_author_label(ws: WorkspaceId, entry: EntryId, label: &str) -> ();
    fn insert_channel_inbox(channel: &str, key: &str, payload: &str, now: Millis) -> Option<ChannelInboxId>;
    fn channel_inbox_row(id: ChannelInboxId) -> Option<ChannelInboxRecord>;
    fn pending_channel_inbox(channel: &str, before: Millis, limit: i64) -> Vec<ChannelInboxId>;
    fn finish_channel_inbox(id: ChannelInboxId, done: bool, note: Option<&str>, now: Millis) -> ();
    fn prune_channel_inbox(channel: &str, before: Millis) -> u64;
    fn closed_tickets_with_thread(channel: &str, limit: i64) -> Vec<(WorkspaceId, TicketId, String)>;
    fn open_tickets_with_thread(channel: &str, after: TicketId, limit: i64) -> Vec<(WorkspaceId, TicketId, String)>;
    fn staff_identities(ws: WorkspaceId) -> Vec<StaffIdentityRecord>;
    fn delete_staff_identity(ws: WorkspaceId, id: StaffIdentityId) -> bool;
    fn set_ticket_channel_account(ws: WorkspaceId, ticket: TicketId, account: ChannelAccountId) -> ();
    fn ticket_channel(ws: WorkspaceId, ticket: TicketId) -> Option<(String, Option<ChannelAccountId>)>;
    fn ticket_by_channel_thread(channel: &str, thread_key: &str) -> Option<(WorkspaceId, TicketId)>;
    fn set_entry_channel_meta(ws: WorkspaceId, entry: EntryId, meta: &str) -> ();
    fn entry_channel_meta(entry: EntryId) -> Option<String>;
    fn channel_message_by_key(ws: WorkspaceId, channel: &str, key: &str) -> Option<ChannelMessageRecord>;
    fn channel_message_known(channel: &str, key: &str) -> bool;
    fn insert_channel_message(m: &NewChannelMessage<'_>) -> bool;
    fn list_channel_messages(ws: WorkspaceId, channel: &str, outcome: &str, limit: i64) -> Vec<ChannelMessageRecord>;
    fn channel_message_by_id(ws: WorkspaceId, channel: &str, id: ChannelMessageId) -> Option<ChannelMessageRecord>;
    fn prune_channel_messages(channel: &str, outcome: &str, before: Millis) -> u64;
}

tx_methods! {
    fn insert_sign_in_link(ws: WorkspaceId, contact: ContactId, token_hash: &str, token_sealed: &str, now: Millis, expires_at: Millis) -> CustomerSignInLinkRecord;
    fn count_sign_in_links_since(ws: WorkspaceId, contact: ContactId, since: Millis) -> i64;
    fn sign_in_link_by_id(id: SignInLinkId) -> Option<CustomerSignInLinkRecord>;
    fn due_sign_in_links(now: Millis, limit: i64) -> Vec<(SignInLinkId, i64)>;
    fn record_sign_in_link_attempt(id: SignInLinkId, attempts_before: i64, status: SendStatus, next_attempt_at: Millis, error: Option<&str>) -> bool;
    fn use_sign_in_link(token_hash: &str, now: Millis) -> Option<CustomerSignInLinkRecord>;
    fn retire_sign_in_links(ws: WorkspaceId, contact: ContactId, now: Millis) -> ();
    fn link_sign_in_since(ws: WorkspaceId, contact: ContactId, since: Millis) -> bool;
    fn prune_sign_in_links(before: Millis) -> u64;
    fn count_sign_in_attempts(kind: &str, email: &str, client: &str, since: Millis) -> i64;
    fn count_client_sign_in_attempts(kind: &str, client: &str, since: Millis) -> i64;
    fn record_sign_in_attempt(kind: &str, email: &str, client: &str, now: Millis) -> ();
    fn clear_sign_in_attempts(kind: &str, email: &str, client: &str) -> ();
    fn prune_sign_in_attempts(before: Millis) -> u64;
}

tx_methods! {
    fn ticket_search_rows(ids: &[TicketId]) -> Vec<TicketSearchRow>;
    fn entry_search_rows(ids: &[TicketId]) -> Vec<EntrySearchRow>;
    fn ticket_ids_after(after: TicketId, limit: i64) -> Vec<TicketId>;
    fn count_all_tickets() -> i64;
    fn workspace_ticket_ids_after(ws: WorkspaceId, after: TicketId, limit: i64) -> Vec<TicketId>;
    fn count_workspace_tickets(ws: WorkspaceId) -> i64;
    fn stream_head() -> StreamPosition;
    fn stream_cursor_exists(name: &str) -> bool;
    fn matching_ticket_ids(f: &TicketQuery) -> Vec<TicketId>;
    fn events_behind(after: StreamPosition) -> i64;
}

tx_methods! {
    fn take_lease(name: &str, holder: &str, now: Millis, until: Millis) -> bool;
    fn release_lease(name: &str, holder: &str) -> ();
    fn prune_leases(before: Millis) -> u64;
}

tx_methods! {
    fn insert_knowledge_folder(ws: WorkspaceId, name: &str, now: Millis) -> KnowledgeFolderRecord;
    fn knowledge_folders(ws: WorkspaceId) -> Vec<KnowledgeFolderRecord>;
    fn delete_knowledge_folder(ws: WorkspaceId, id: i64) -> bool;
    fn insert_knowledge_document(ws: WorkspaceId, d: &NewKnowledgeDocument, now: Millis) -> KnowledgeDocumentRecord;
    fn update_knowledge_document(d: &KnowledgeDocumentRecord) -> ();
    fn knowledge_document_by_id(ws: WorkspaceId, id: i64) -> Option<KnowledgeDocumentRecord>;
    fn knowledge_document_by_file(ws: WorkspaceId, file_name: &str) -> Option<KnowledgeDocumentRecord>;
    fn list_knowledge_documents(ws: WorkspaceId, folder: Option<Option<i64>>) -> Vec<KnowledgeDocumentRecord>;
    fn delete_knowledge_document(ws: WorkspaceId, id: i64) -> bool;
    fn insert_knowledge_version(v: &KnowledgeVersionRecord) -> ();
    fn knowledge_versions(ws: WorkspaceId, document: i64) -> Vec<KnowledgeVersionRecord>;
    fn knowledge_version(ws: WorkspaceId, document: i64, version: i64) -> Option<KnowledgeVersionRecord>;
    fn prune_knowledge_versions(ws: WorkspaceId, document: i64, keep_from: i64) -> u64;
    fn knowledge_chunk_ids(ws: WorkspaceId, document: i64) -> Vec<i64>;
    fn replace_knowledge_chunks(ws: WorkspaceId, document: i64, chunks: &[NewKnowledgeChunk]) -> ();
    fn knowledge_chunks_of(documents: &[i64]) -> Vec<KnowledgeChunkRecord>;
    fn knowledge_chunks_by_ids(ws: WorkspaceId, ids: &[i64]) -> Vec<KnowledgeChunkRecord>;
    fn knowledge_document_ids_after(after: i64, limit: i64) -> Vec<i64>;
    fn public_knowledge_documents(ws: WorkspaceId) -> Vec<KnowledgeDocumentRecord>;
    fn workspace_knowledge_document_ids(ws: WorkspaceId) -> Vec<i64>;
    fn insert_background_job(j: &BackgroundJobRecord) -> Option<BackgroundJobRecord>;
    fn update_background_job(j: &BackgroundJobRecord) -> ();
    fn background_jobs(ws: WorkspaceId, limit: i64) -> Vec<BackgroundJobRecord>;
    fn background_job_by_id(id: i64) -> Option<BackgroundJobRecord>;
    fn background_job_by_key(key: &str) -> Option<BackgroundJobRecord>;
    fn claim_background_job(id: i64, now: Millis, stale_before: Millis) -> bool;
    fn runnable_background_jobs(kind: &str, stale_before: Millis, limit: i64) -> Vec<(i64, Millis)>;
    fn delete_queued_background_job(key: &str) -> bool;
    fn prune_background_jobs(ws: WorkspaceId, keep: i64) -> u64;
    fn save_knowledge_source(ws: WorkspaceId, url: &str, refresh_minutes: i64, now: Millis, by: &str) -> KnowledgeSourceRecord;
    fn knowledge_sources(ws: WorkspaceId) -> Vec<KnowledgeSourceRecord>;
    fn knowledge_source_by_id(id: i64) -> Option<KnowledgeSourceRecord>;
    fn knowledge_source_of_document(ws: WorkspaceId, document: i64) -> Option<KnowledgeSourceRecord>;
    fn due_knowledge_sources(now: Millis, limit: i64) -> Vec<(i64, Millis)>;
    fn claim_knowledge_source(id: i64, expected: Millis, now: Millis, until: Millis) -> bool;
    fn record_knowledge_sync(s: &KnowledgeSourceRecord) -> ();
    fn set_knowledge_source_due(ws: WorkspaceId, id: i64, at: Millis) -> bool;
    fn delete_knowledge_source(ws: WorkspaceId, id: i64) -> bool;
    fn mark_knowledge_sources_retrieved(ws: WorkspaceId, documents: &[i64], now: Millis, fresh_after: Millis) -> u64;
}

tx_methods! {
    fn answer_settings(ws: WorkspaceId) -> Option<AnswerSettingsRecord>;
    fn save_answer_settings(s: &AnswerSettingsRecord) -> ();
    fn insert_bot_turn(t: &NewBotTurn) -> Option<i64>;
    fn set_bot_turn_reply(ws: WorkspaceId, id: i64, reply: EntryId) -> ();
    fn bot_turns_of_ticket(ws: WorkspaceId, ticket: TicketId) -> Vec<BotTurnRecord>;
    fn knowledge_gaps(ws: WorkspaceId, limit: i64) -> Vec<BotTurnRecord>;
    fn dismiss_knowledge_gaps(ws: WorkspaceId, ids: &[i64], now: Millis) -> bool;
    fn bot_entries(ws: WorkspaceId, entries: &[EntryId]) -> Vec<EntryId>;
    fn insight_ticket_row(ws: WorkspaceId, ticket: TicketId) -> Option<InsightTicketRow>;
    fn insight_staff_replies(ws: WorkspaceId, ticket: TicketId) -> Vec<(i64, Millis)>;
    fn insight_history(ws: WorkspaceId, ticket: TicketId) -> Vec<InsightHistoryRow>;
    fn insight_share(ticket: TicketId) -> Option<String>;
    fn save_insight_share(ws: WorkspaceId, ticket: TicketId, share: &str) -> ();
    fn add_insight_rollups(ws: WorkspaceId, rows: &[InsightRollupRow]) -> ();
    fn clear_insights(ws: WorkspaceId) -> ();
    fn insight_rollup_sums(ws: WorkspaceId, from: &str, to: &str, f: &InsightFilter) -> Vec<InsightRollupRow>;
    fn insight_totals_before(ws: WorkspaceId, before: &str, f: &InsightFilter) -> (i64, i64);
    fn all_insight_rollups(ws: WorkspaceId) -> Vec<InsightRollupRow>;
}
