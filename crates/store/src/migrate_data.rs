//! `switchboard migrate-data`: copies a whole installation from SQLite into an empty PostgreSQL
//! database.
//!
//! Nothing here names a helpdesk table. The tables, their columns and the foreign keys between
//! them are read from the two databases' catalogs, so a table a later migration adds is copied
//! without touching this file. The target is migrated first; its schema decides what is copied
//! and how each value is converted (SQLite keeps booleans as integers and JSON as text).
//!
//! All or nothing: every row goes into the target in ONE transaction, the per-table row counts
//! are compared before it commits, and a failure anywhere rolls the target back to empty, so a
//! run that stopped is simply started again. A resumable copy would have to remember which rows
//! of which table already landed and could leave a half-copied helpdesk that a server might be
//! started on; one transaction cannot. The source is read in one snapshot, so a server still
//! writing to it cannot tear the copy (stop it anyway: its later writes are not copied).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use sqlx::{AssertSqlSafe, Row, ValueRef};

use crate::{Store, StoreError};

/// Source tables the target has no twin for on purpose, and why they are not copied.
const NOT_COPIED: &[(&str, &str)] = &[
    ("ticket_counters", "SQLite's trigger-kept ticket counts; PostgreSQL counts tickets itself"),
    (
        "Jobs",
        "the job runner's SQLite queue: the first tick re-queues every due delivery from the outbox, webhook and sign-in link tables",
    ),
    ("Workers", "the job runner's SQLite worker registry"),
    ("_apalis_migrations", "the job runner's SQLite migration history"),
    ("_sqlx_migrations", "the migration history: the target keeps its own"),
];

/// How many rows go into one INSERT (PostgreSQL takes at most 65,535 parameters in one).
const MAX_BATCH_ROWS: usize = 500;
const MAX_BATCH_PARAMS: usize = 60_000;

/// What happened to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableOutcome {
    /// Its rows were copied; `rows` is the count in both databases after the copy.
    Copied { rows: u64 },
    /// The target's own triggers filled it while other tables were copied (a derived table).
    FilledByTarget { source_rows: u64, target_rows: u64 },
    /// A source table with no twin in the target schema, left behind for `reason`.
    NotCopied { rows: u64, reason: String },
    /// A table only the target has; left as its migrations made it.
    TargetOnly { rows: u64 },
}

/// One table's line in the summary.
#[derive(Debug, Clone)]
pub struct TableReport {
    /// The table's name.
    pub table: String,
    /// What was done with it.
    pub outcome: TableOutcome,
}

/// What `migrate_data` did.
#[derive(Debug, Clone, Default)]
pub struct MigrationReport {
    /// Every table of either database, in the order they were handled.
    pub tables: Vec<TableReport>,
    /// How many id sequences were moved past the copied ids.
    pub sequences_reset: usize,
}

impl MigrationReport {
    /// Rows copied over all tables.
    pub fn rows_copied(&self) -> u64 {
        self.tables.iter().map(|t| if let TableOutcome::Copied { rows } = t.outcome { rows } else { 0 }).sum()
    }
}

/// Progress of a copy, for a progress bar.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// Counted: `rows` rows in `tables` tables will be copied.
    Planned { tables: usize, rows: u64 },
    /// Started copying `table`.
    Table { table: &'a str, rows: u64 },
    /// `rows` more rows were written.
    Rows(u64),
    /// Every row is written; counts are being compared and the transaction committed.
    Verifying,
}

/// A target column: how its values are written.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
    required: bool,
}

/// The PostgreSQL type family of a target column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int8,
    Int4,
    Int2,
    Bool,
    Text,
    Bytes,
    Json,
    Float,
}

impl Kind {
    fn of(data_type: &str) -> Option<Kind> {
        Some(match data_type {
            "bigint" => Kind::Int8,
            "integer" => Kind::Int4,
            "smallint" => Kind::Int2,
            "boolean" => Kind::Bool,
            "text" | "character varying" | "character" => Kind::Text,
            "bytea" => Kind::Bytes,
            "json" | "jsonb" => Kind::Json,
            "double precision" | "real" => Kind::Float,
            _ => return None,
        })
    }
}

/// One value on its way into PostgreSQL, typed as the target column wants it.
#[derive(Debug)]
enum Cell {
    Int8(Option<i64>),
    Int4(Option<i32>),
    Int2(Option<i16>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Json(Option<sqlx::types::Json<serde_json::Value>>),
    Float(Option<f64>),
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn refuse(msg: String) -> StoreError {
    StoreError::Config(msg)
}

/// Copies every table of `from` (SQLite) into `to` (PostgreSQL, migrated here first and refused
/// unless empty), keeping ids, then moves the target's id sequences past them. Returns what was
/// done per table; `progress` hears about it as it happens.
pub async fn migrate_data(
    from: &Store,
    to: &Store,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<MigrationReport, StoreError> {
    let Store::Sqlite { readers, .. } = from else {
        return Err(refuse("--from must be a SQLite database (sqlite://PATH)".into()));
    };
    let Store::Postgres(pool) = to else {
        return Err(refuse("--to must be a PostgreSQL database (postgres://USER@HOST/DB)".into()));
    };
    to.migrate().await?;

    // One snapshot of the source for the whole run (WAL keeps it while a server writes).
    let mut src = readers.begin().await?;
    let source_tables: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
            .fetch_all(&mut *src)
            .await?;
    let virtual_tables: Vec<&str> = source_tables
        .iter()
        .filter(|(_, sql)| sql.as_deref().is_some_and(|s| s.to_ascii_uppercase().starts_with("CREATE VIRTUAL TABLE")))
        .map(|(n, _)| n.as_str())
        .collect();

    let mut dst = pool.begin().await?;
    // Migrations may move data between tables (a later one can fill new tables from old ones),
    // so the two schemas must be at the same migration, or rows would land where nothing reads.
    let version = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
    let source_version: i64 = sqlx::query_scalar(version)
        .fetch_one(&mut *src)
        .await
        .map_err(|_| refuse("the source has no migration history: is it a Switchboard database?".into()))?;
    let target_version: i64 = sqlx::query_scalar(version).fetch_one(&mut *dst).await?;
    if source_version != target_version {
        return Err(refuse(format!(
            "the source database is at migration {source_version} and this binary's schema at {target_version}: \
             run `switchboard --database-url <the --from URL> migrate` with this binary first"
        )));
    }
    let target_tables: BTreeSet<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut *dst)
    .await?
    .into_iter()
    .collect();
    let mut columns: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    // (table, column, data type, nullable, default, identity, generated)
    type CatalogColumn = (String, String, String, String, Option<String>, String, String);
    let rows: Vec<CatalogColumn> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text, column_default::text,
                is_identity::text, is_generated::text
           FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut *dst)
    .await?;
    let mut sequences: Vec<(String, String)> = Vec::new();
    for (table, column, data_type, nullable, default, identity, generated) in rows {
        if !target_tables.contains(&table) || generated == "ALWAYS" {
            continue;
        }
        if identity == "YES" || default.as_deref().is_some_and(|d| d.starts_with("nextval(")) {
            sequences.push((table.clone(), column.clone()));
        }
        let kind = Kind::of(&data_type).ok_or_else(|| {
            refuse(format!("{table}.{column}: PostgreSQL type {data_type} is not one migrate-data can write"))
        })?;
        let required = nullable == "NO" && default.is_none() && identity != "YES";
        columns.entry(table).or_default().push(Column { name: column, kind, required });
    }

    // Refuse a target that already holds a helpdesk: copying into it would mix two.
    for table in &target_tables {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quote(table))))
            .fetch_one(&mut *dst)
            .await?;
        if n > 0 {
            return Err(refuse(format!(
                "the target database is not empty: table {table} has {n} rows; migrate-data copies into an empty database only"
            )));
        }
    }

    // Which source tables are copied, and which are left behind (and why).
    let mut report = MigrationReport::default();
    let mut to_copy: Vec<String> = Vec::new();
    for (name, _) in &source_tables {
        let n = count_sqlite(&mut src, name).await?;
        if target_tables.contains(name) {
            to_copy.push(name.clone());
            continue;
        }
        let reason = if let Some((_, why)) = NOT_COPIED.iter().find(|(t, _)| t == name) {
            (*why).to_string()
        } else if virtual_tables.iter().any(|v| name == v || name.starts_with(&format!("{v}_"))) {
            "a SQLite full-text index; PostgreSQL indexes the same columns itself".to_string()
        } else if n == 0 {
            "empty, and not in the target schema".to_string()
        } else {
            return Err(refuse(format!(
                "source table {name} ({n} rows) has no table of that name in the target schema; \
                 is this binary older than the data? Nothing was copied"
            )));
        };
        report.tables.push(TableReport { table: name.clone(), outcome: TableOutcome::NotCopied { rows: n, reason } });
    }

    let order = dependency_order(&mut dst, &to_copy).await?;
    let mut planned: Vec<(String, u64)> = Vec::new();
    for table in &order {
        planned.push((table.clone(), count_sqlite(&mut src, table).await?));
    }
    progress(Progress::Planned { tables: planned.len(), rows: planned.iter().map(|(_, n)| n).sum() });

    for (table, source_rows) in &planned {
        progress(Progress::Table { table, rows: *source_rows });
        let target_rows = count_pg(&mut dst, table).await?;
        if target_rows > 0 {
            // Filled by a trigger of the target while an earlier table was copied: derived data
            // the target keeps itself. Copying the source's rows on top would double them.
            report.tables.push(TableReport {
                table: table.clone(),
                outcome: TableOutcome::FilledByTarget { source_rows: *source_rows, target_rows },
            });
            progress(Progress::Rows(*source_rows));
            continue;
        }
        let cols = columns.get(table).cloned().unwrap_or_default();
        copy_table(&mut src, &mut dst, table, &cols, progress).await?;
        report.tables.push(TableReport { table: table.clone(), outcome: TableOutcome::Copied { rows: *source_rows } });
    }
    for table in target_tables.iter().filter(|t| !to_copy.contains(t)) {
        report.tables.push(TableReport { table: table.clone(), outcome: TableOutcome::TargetOnly { rows: 0 } });
    }

    progress(Progress::Verifying);
    for t in &report.tables {
        if let TableOutcome::Copied { rows } = t.outcome {
            let landed = count_pg(&mut dst, &t.table).await?;
            if landed != rows {
                return Err(refuse(format!(
                    "table {}: {rows} rows in the source but {landed} in the target; nothing was copied",
                    t.table
                )));
            }
        }
    }
    for t in report.tables.iter_mut() {
        if let TableOutcome::TargetOnly { rows } = &mut t.outcome {
            *rows = count_pg(&mut dst, &t.table).await?;
        }
    }
    // Ids were copied as they are: move each sequence past the largest, so the next ticket,
    // entry or contact gets a fresh id instead of a duplicate-key error.
    for (table, column) in &sequences {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({c}) FROM {t}), 0) + 1, false)",
            c = quote(column),
            t = quote(table)
        );
        sqlx::query(AssertSqlSafe(sql)).bind(quote(table)).bind(column).execute(&mut *dst).await?;
    }
    report.sequences_reset = sequences.len();
    dst.commit().await?;
    src.rollback().await?;
    Ok(report)
}

async fn count_sqlite(src: &mut sqlx::SqliteConnection, table: &str) -> Result<u64, StoreError> {
    let n: i64 =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quote(table)))).fetch_one(src).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

async fn count_pg(dst: &mut sqlx::PgConnection, table: &str) -> Result<u64, StoreError> {
    let n: i64 =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quote(table)))).fetch_one(dst).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Orders `tables` so every table comes after the tables its foreign keys point at (the
/// target's constraints decide), parents before children; ties keep alphabetical order.
async fn dependency_order(dst: &mut sqlx::PgConnection, tables: &[String]) -> Result<Vec<String>, StoreError> {
    let edges: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, p.relname::text
           FROM pg_constraint k
           JOIN pg_class c ON c.oid = k.conrelid
           JOIN pg_class p ON p.oid = k.confrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE k.contype = 'f' AND n.nspname = current_schema()",
    )
    .fetch_all(dst)
    .await?;
    let set: BTreeSet<&str> = tables.iter().map(String::as_str).collect();
    let mut parents: BTreeMap<&str, BTreeSet<&str>> = tables.iter().map(|t| (t.as_str(), BTreeSet::new())).collect();
    for (child, parent) in &edges {
        // A table pointing at itself (a thread of rows) is handled by copying in key order.
        if child != parent && set.contains(child.as_str()) && set.contains(parent.as_str()) {
            parents.entry(child.as_str()).or_default().insert(parent.as_str());
        }
    }
    let mut order: Vec<String> = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    while order.len() < tables.len() {
        let ready: Vec<&str> = parents
            .iter()
            .filter(|(t, ps)| !done.contains(*t) && ps.iter().all(|p| done.contains(p)))
            .map(|(t, _)| *t)
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = parents.keys().filter(|t| !done.contains(*t)).copied().collect();
            return Err(refuse(format!(
                "the foreign keys between tables {} form a cycle; migrate-data cannot order them",
                stuck.join(", ")
            )));
        }
        for t in ready {
            done.insert(t);
            order.push(t.to_string());
        }
    }
    Ok(order)
}

/// Copies one table's rows in batches, converting each value to its target column's type.
async fn copy_table(
    src: &mut sqlx::SqliteConnection,
    dst: &mut sqlx::PgConnection,
    table: &str,
    target: &[Column],
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<(), StoreError> {
    // (name, primary-key position, hidden): hidden columns are generated ones, never copied.
    let source: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT name, pk, hidden FROM pragma_table_xinfo(?)").bind(table).fetch_all(&mut *src).await?;
    let source_names: BTreeSet<&str> = source.iter().filter(|(_, _, h)| *h == 0).map(|(n, _, _)| n.as_str()).collect();
    let target_names: BTreeSet<&str> = target.iter().map(|c| c.name.as_str()).collect();
    for c in target {
        if c.required && !source_names.contains(c.name.as_str()) {
            return Err(refuse(format!("{table}.{}: required in the target, missing in the source", c.name)));
        }
    }
    // A source column the target lacks would be lost: refuse unless it holds nothing.
    for name in source_names.iter().filter(|n| !target_names.contains(*n)) {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {} IS NOT NULL", quote(table), quote(name));
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut *src).await?;
        if n > 0 {
            return Err(refuse(format!(
                "{table}.{name} holds {n} values but the target has no such column; nothing was copied"
            )));
        }
    }
    let cols: Vec<&Column> = target.iter().filter(|c| source_names.contains(c.name.as_str())).collect();
    if cols.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<(i64, &str)> =
        source.iter().filter(|(_, pk, _)| *pk > 0).map(|(n, pk, _)| (*pk, n.as_str())).collect();
    keys.sort();
    let list = cols.iter().map(|c| quote(&c.name)).collect::<Vec<_>>().join(", ");
    let mut select = format!("SELECT {list} FROM {}", quote(table));
    if !keys.is_empty() {
        // Key order puts a row a later one points at (same table) first.
        select.push_str(" ORDER BY ");
        select.push_str(&keys.iter().map(|(_, n)| quote(n)).collect::<Vec<_>>().join(", "));
    }
    let per_batch = MAX_BATCH_ROWS.min(MAX_BATCH_PARAMS / cols.len()).max(1);
    let mut batch: Vec<Vec<Cell>> = Vec::with_capacity(per_batch);
    let mut rows = sqlx::query(AssertSqlSafe(select)).fetch(&mut *src);
    while let Some(row) = rows.try_next().await? {
        let mut cells = Vec::with_capacity(cols.len());
        for (i, c) in cols.iter().enumerate() {
            cells.push(convert(&row, i, c).map_err(|why| refuse(format!("{table}.{}: {why}", c.name)))?);
        }
        batch.push(cells);
        if batch.len() == per_batch {
            insert_batch(dst, table, &list, &mut batch).await?;
            progress(Progress::Rows(per_batch as u64));
        }
    }
    let rest = batch.len() as u64;
    if rest > 0 {
        insert_batch(dst, table, &list, &mut batch).await?;
        progress(Progress::Rows(rest));
    }
    Ok(())
}

/// Reads column `i` of a SQLite row as the target column's type wants it.
fn convert(row: &sqlx::sqlite::SqliteRow, i: usize, col: &Column) -> Result<Cell, String> {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    let null = raw.is_null();
    let stored = raw.type_info().to_string();
    let mismatch = |e: sqlx::Error| format!("a {stored} value cannot become {:?}: {e}", col.kind);
    Ok(match col.kind {
        Kind::Int8 => Cell::Int8(row.try_get::<Option<i64>, _>(i).map_err(mismatch)?),
        Kind::Int4 => Cell::Int4(
            row.try_get::<Option<i64>, _>(i)
                .map_err(mismatch)?
                .map(i32::try_from)
                .transpose()
                .map_err(|_| "the value does not fit a PostgreSQL integer".to_string())?,
        ),
        Kind::Int2 => Cell::Int2(
            row.try_get::<Option<i64>, _>(i)
                .map_err(mismatch)?
                .map(i16::try_from)
                .transpose()
                .map_err(|_| "the value does not fit a PostgreSQL smallint".to_string())?,
        ),
        // SQLite keeps a boolean as the integer 0 or 1.
        Kind::Bool => Cell::Bool(match row.try_get::<Option<i64>, _>(i).map_err(mismatch)? {
            None => None,
            Some(0) => Some(false),
            Some(1) => Some(true),
            Some(n) => return Err(format!("{n} is not a boolean (0 or 1)")),
        }),
        Kind::Text => Cell::Text(row.try_get::<Option<String>, _>(i).map_err(mismatch)?),
        Kind::Bytes => Cell::Bytes(row.try_get::<Option<Vec<u8>>, _>(i).map_err(mismatch)?),
        // SQLite keeps JSON as text; PostgreSQL's json types want it parsed (and valid).
        Kind::Json => Cell::Json(match row.try_get::<Option<String>, _>(i).map_err(mismatch)? {
            None => None,
            Some(text) => Some(sqlx::types::Json(
                serde_json::from_str(&text).map_err(|e| format!("the text is not valid JSON: {e}"))?,
            )),
        }),
        Kind::Float => Cell::Float(if null { None } else { Some(row.try_get::<f64, _>(i).map_err(mismatch)?) }),
    })
}

async fn insert_batch(
    dst: &mut sqlx::PgConnection,
    table: &str,
    list: &str,
    batch: &mut Vec<Vec<Cell>>,
) -> Result<(), StoreError> {
    let width = batch.first().map_or(0, Vec::len);
    let mut sql = format!("INSERT INTO {} ({list}) VALUES ", quote(table));
    let mut n = 0;
    for (r, _) in batch.iter().enumerate() {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            n += 1;
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for cell in batch.drain(..).flatten() {
        query = match cell {
            Cell::Int8(v) => query.bind(v),
            Cell::Int4(v) => query.bind(v),
            Cell::Int2(v) => query.bind(v),
            Cell::Bool(v) => query.bind(v),
            Cell::Text(v) => query.bind(v),
            Cell::Bytes(v) => query.bind(v),
            Cell::Json(v) => query.bind(v),
            Cell::Float(v) => query.bind(v),
        };
    }
    query.execute(dst).await.map_err(|e| match StoreError::from(e) {
        StoreError::Refused(m) | StoreError::Conflict(m) => {
            refuse(format!("table {table}: the target refused a row: {m}"))
        }
        other => other,
    })?;
    Ok(())
}
