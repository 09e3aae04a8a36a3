//! The SQLite and PostgreSQL migrations must build the same schema: the same tables, columns (type,
//! NOT NULL, default, generated, primary key), indexes (columns, order, uniqueness, predicate) and
//! foreign keys, apart from the deliberate differences listed below with their reasons. Each folder
//! is applied to a real database through [`Store::migrate`] and the result read back from the
//! database's own catalog, so nothing here needs updating when a migration adds a table.
//!
//! SQLite always runs (a temporary file); PostgreSQL runs when `TEST_POSTGRES_URL` names a server
//! (a fresh database on it), as in `.ci/run`'s PostgreSQL stage. Without it only the checks that
//! need one schema run, and the comparison is skipped with a note.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use sqlx::Row;
use switchboard_store::Store;

/// Tables that only the SQLite migrations create, and why.
const SQLITE_ONLY_TABLES: &[(&str, &str)] = &[
    (
        "ticket_counters",
        "live ticket counts kept by triggers (sqlite/0003): SQLite runs one write at a time, so shared \
         counter rows cost nothing; on PostgreSQL they would serialize ticket writes, and it counts with \
         index-only scans instead",
    ),
    (
        "tickets_subject_search",
        "the FTS5 trigram index behind subject search (sqlite/0002); PostgreSQL has the \
         tickets_subject_trgm GIN index instead",
    ),
];

/// Tables that only the PostgreSQL migrations create, and why.
const POSTGRES_ONLY_TABLES: &[(&str, &str)] = &[];

/// Indexes (`table.index`) that only the PostgreSQL migrations create, and why.
const POSTGRES_ONLY_INDEXES: &[(&str, &str)] = &[
    (
        "tickets.tickets_subject_trgm",
        "the trigram GIN index behind subject search (postgres/0002); SQLite has the \
         tickets_subject_search FTS5 table instead",
    ),
    (
        "events.events_stream",
        "the event stream is read by (tx_id, id) on PostgreSQL only (postgres/0011); on SQLite tx_id \
         stays 0 and the stream is read by id",
    ),
];

/// Columns (`table.column`) on both databases whose definitions differ, and why.
const DIFFERENT_COLUMNS: &[(&str, &str)] = &[(
    "events.tx_id",
    "PostgreSQL fills it with the writing transaction's id, so the event stream is read in commit \
     order (postgres/0011); SQLite commits one write at a time, so event ids already are in commit \
     order and the column stays 0",
)];

/// Indexes (`table.index`) that only the SQLite migrations create, and why.
const SQLITE_ONLY_INDEXES: &[(&str, &str)] = &[];

/// Tables without a primary key, on both databases, and why.
const WITHOUT_PRIMARY_KEY: &[(&str, &str)] = &[
    (
        "email_acknowledgements",
        "an append-only log of acknowledgements sent, only counted by sender and time and pruned by \
         age; no row is ever addressed on its own",
    ),
    (
        "sign_in_attempts",
        "an append-only log of sign-in attempts, only counted by address, client and time and pruned \
         by age; two attempts in the same millisecond are two rows",
    ),
];

/// sqlx's own bookkeeping, not part of our schema.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    /// The type, in one spelling for both dialects (see [`sqlite_type`] and [`postgres_type`]).
    ty: String,
    not_null: bool,
    /// The default expression, normalized by [`normalize_expr`]; identity columns have none.
    default: Option<String>,
    generated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Index {
    unique: bool,
    /// Key columns in order, `DESC` appended where descending; expressions as `(expression)`.
    columns: Vec<String>,
    /// The partial index's predicate, normalized by [`normalize_expr`].
    predicate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ForeignKey {
    columns: Vec<String>,
    references: String,
    referenced_columns: Vec<String>,
    on_delete: String,
}

#[derive(Debug, Default)]
struct Table {
    /// A SQLite virtual table (FTS5), which has no primary key of its own.
    virtual_table: bool,
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    /// Indexes by name; those that back a UNIQUE constraint are named `unique(a, b)`, since each
    /// database makes up its own name for them. Primary-key indexes are in `primary_key`.
    indexes: BTreeMap<String, Index>,
    foreign_keys: BTreeSet<ForeignKey>,
}

type Schema = BTreeMap<String, Table>;

/// One spelling per type: SQLite's declared type names.
fn sqlite_type(declared: &str) -> String {
    match declared.to_ascii_uppercase().as_str() {
        "INTEGER" | "INT" | "BIGINT" | "SMALLINT" => "integer".into(),
        "TEXT" => "text".into(),
        "BOOLEAN" => "boolean".into(),
        "BLOB" => "bytes".into(),
        "REAL" | "DOUBLE" | "DOUBLE PRECISION" => "float".into(),
        other => format!("sqlite {other}"),
    }
}

/// One spelling per type: PostgreSQL's `information_schema` data types.
fn postgres_type(data_type: &str) -> String {
    match data_type {
        "bigint" | "integer" | "smallint" => "integer".into(),
        "text" => "text".into(),
        "boolean" => "boolean".into(),
        "bytea" => "bytes".into(),
        "double precision" | "real" => "float".into(),
        other => format!("postgres {other}"),
    }
}

/// Drops what only one dialect writes in an SQL expression: PostgreSQL's `::type` casts and its
/// extra parentheses, letter case outside string literals, runs of whitespace.
fn normalize_expr(expr: &str) -> String {
    let mut s = expr.to_string();
    while let Some(at) = s.find("::") {
        let rest = &s[at + 2..];
        // A type name such as "character varying" has a space; a space before what follows the
        // cast does not belong to it.
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ' ')).unwrap_or(rest.len());
        let ty = rest[..end].trim_end();
        s = format!("{}{}", &s[..at], &rest[ty.len()..]);
    }
    let mut out = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            _ if quoted => out.push(c),
            '(' | ')' => {}
            _ => out.push(c.to_ascii_lowercase()),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn scratch_name(what: &str) -> String {
    format!("switchboard_desk_schema_{what}_{}", std::process::id())
}

async fn sqlite_schema() -> Schema {
    let path = std::env::temp_dir().join(format!("{}.db", scratch_name("sqlite")));
    let _ = std::fs::remove_file(&path);
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.expect("open SQLite");
    store.migrate().await.expect("the SQLite migrations apply");
    let Store::Sqlite { writer: pool, .. } = &store else { unreachable!("a sqlite: URL gives a SQLite store") };

    let mut schema = Schema::new();
    let tables = sqlx::query("SELECT name, type FROM pragma_table_list WHERE schema = 'main'")
        .fetch_all(pool)
        .await
        .expect("list tables");
    for row in tables {
        let name: String = row.get("name");
        let kind: String = row.get("type");
        // Shadow tables belong to a virtual table (FTS5's storage), which stands for them here.
        if name.starts_with("sqlite_") || name == MIGRATIONS_TABLE || kind == "shadow" || kind == "view" {
            continue;
        }
        let mut table = Table { virtual_table: kind == "virtual", ..Table::default() };
        let columns = sqlx::query("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?)")
            .bind(&name)
            .fetch_all(pool)
            .await
            .expect("list columns");
        let mut primary_key = Vec::new();
        for c in columns {
            let pk: i64 = c.get("pk");
            let hidden: i64 = c.get("hidden");
            if hidden == 1 {
                continue; // a virtual table's hidden columns
            }
            let column_name: String = c.get("name");
            if pk > 0 {
                primary_key.push((pk, column_name.clone()));
            }
            let not_null = c.get::<i64, _>("notnull") != 0;
            let default: Option<String> = c.get("dflt_value");
            let column = Column {
                ty: sqlite_type(&c.get::<String, _>("type")),
                // SQLite lets a primary-key column hold NULL unless it says NOT NULL; PostgreSQL
                // never does, and our code never writes one.
                not_null: not_null || pk > 0,
                default: default.map(|d| normalize_expr(&d)),
                generated: hidden == 2 || hidden == 3,
            };
            table.columns.insert(column_name, column);
        }
        primary_key.sort();
        table.primary_key = primary_key.into_iter().map(|(_, c)| c).collect();

        let indexes = sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)")
            .bind(&name)
            .fetch_all(pool)
            .await
            .expect("list indexes");
        for i in indexes {
            let index_name: String = i.get("name");
            let origin: String = i.get("origin");
            if origin == "pk" {
                continue;
            }
            let keys = sqlx::query("SELECT name, \"desc\", cid FROM pragma_index_xinfo(?) WHERE key ORDER BY seqno")
                .bind(&index_name)
                .fetch_all(pool)
                .await
                .expect("list index columns");
            let columns: Vec<String> = keys
                .iter()
                .map(|k| {
                    let column = k.get::<Option<String>, _>("name").unwrap_or_else(|| "(expression)".into());
                    if k.get::<i64, _>("desc") != 0 { format!("{column} DESC") } else { column }
                })
                .collect();
            let predicate = if i.get::<i64, _>("partial") != 0 {
                let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?")
                    .bind(&index_name)
                    .fetch_one(pool)
                    .await
                    .expect("read the index's definition");
                let at = sql.to_ascii_uppercase().rfind(" WHERE ").expect("a partial index has a WHERE clause");
                Some(normalize_expr(&sql[at + 7..]))
            } else {
                None
            };
            let key = if origin == "u" { format!("unique({})", columns.join(", ")) } else { index_name };
            table.indexes.insert(key, Index { unique: i.get::<i64, _>("unique") != 0, columns, predicate });
        }

        let foreign_keys = sqlx::query(
            "SELECT id, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .expect("list foreign keys");
        let mut by_id: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for f in foreign_keys {
            let fk = by_id.entry(f.get("id")).or_insert_with(|| ForeignKey {
                columns: Vec::new(),
                references: f.get("table"),
                referenced_columns: Vec::new(),
                on_delete: f.get::<String, _>("on_delete").to_ascii_lowercase(),
            });
            fk.columns.push(f.get("from"));
            // NULL when the reference names only the table, meaning its primary key: filled in below.
            if let Some(to) = f.get::<Option<String>, _>("to") {
                fk.referenced_columns.push(to);
            }
        }
        table.foreign_keys = by_id.into_values().collect();
        schema.insert(name, table);
    }

    // A reference to a table's primary key names no columns in SQLite's catalog.
    let primary_keys: BTreeMap<String, Vec<String>> =
        schema.iter().map(|(name, t)| (name.clone(), t.primary_key.clone())).collect();
    for table in schema.values_mut() {
        table.foreign_keys = std::mem::take(&mut table.foreign_keys)
            .into_iter()
            .map(|mut fk| {
                if fk.referenced_columns.is_empty() {
                    fk.referenced_columns = primary_keys.get(&fk.references).cloned().unwrap_or_default();
                }
                fk
            })
            .collect();
    }

    store.close().await;
    let _ = std::fs::remove_file(&path);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    schema
}

async fn postgres_schema(server: &str) -> Schema {
    let database = scratch_name("postgres");
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{server}/postgres"))
        .await
        .expect("connect to TEST_POSTGRES_URL");
    // One statement each: several in one string would run as one implicit transaction.
    for sql in [format!("DROP DATABASE IF EXISTS {database}"), format!("CREATE DATABASE {database}")] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await.expect("create a scratch database");
    }
    let store = Store::connect(&format!("{server}/{database}")).await.expect("open PostgreSQL");
    store.migrate().await.expect("the PostgreSQL migrations apply");
    let Store::Postgres(pool) = &store else { unreachable!("a postgres: URL gives a PostgreSQL store") };

    let mut schema = Schema::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> $1",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(pool)
    .await
    .expect("list tables");
    for name in tables {
        let mut table = Table::default();
        let columns = sqlx::query(
            "SELECT column_name::text AS name, data_type::text AS data_type, is_nullable::text AS is_nullable, \
             column_default::text AS column_default, is_identity::text AS is_identity, \
             is_generated::text AS is_generated \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .expect("list columns");
        for c in columns {
            let default: Option<String> = c.get("column_default");
            let generated = c.get::<String, _>("is_generated") == "ALWAYS";
            let column = Column {
                ty: postgres_type(&c.get::<String, _>("data_type")),
                not_null: c.get::<String, _>("is_nullable") == "NO",
                // An identity column's sequence is PostgreSQL's spelling of SQLite's rowid alias.
                default: if c.get::<String, _>("is_identity") == "YES" || generated {
                    None
                } else {
                    default.map(|d| normalize_expr(&d))
                },
                generated,
            };
            table.columns.insert(c.get("name"), column);
        }

        let indexes = sqlx::query(
            "SELECT c.relname::text AS name, i.indisunique AS is_unique, i.indisprimary AS is_primary, \
             pg_get_expr(i.indpred, i.indrelid) AS predicate, \
             EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype = 'u') \
             AS backs_constraint, \
             ARRAY(SELECT CASE WHEN i.indkey[n] = 0 THEN '(expression)' \
             ELSE (SELECT a.attname::text FROM pg_attribute a \
             WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[n]) END \
             || CASE WHEN i.indoption[n] & 1 = 1 THEN ' DESC' ELSE '' END \
             FROM generate_series(0, i.indnkeyatts - 1) AS n ORDER BY n) AS columns \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = ('public.' || quote_ident($1))::regclass",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .expect("list indexes");
        for i in indexes {
            // Bit 0 of indoption marks a descending key column.
            let columns: Vec<String> = i.get("columns");
            if i.get::<bool, _>("is_primary") {
                table.primary_key = columns;
                continue;
            }
            let predicate: Option<String> = i.get("predicate");
            let index_name: String = i.get("name");
            let key = if i.get::<bool, _>("backs_constraint") {
                format!("unique({})", columns.join(", "))
            } else {
                index_name
            };
            table.indexes.insert(
                key,
                Index { unique: i.get("is_unique"), columns, predicate: predicate.map(|p| normalize_expr(&p)) },
            );
        }

        let foreign_keys = sqlx::query(
            "SELECT ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, n) \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.n) AS columns, \
             k.confrelid::regclass::text AS references, \
             ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, n) \
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.n) \
             AS referenced_columns, \
             CASE k.confdeltype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade' \
             WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default' END AS on_delete \
             FROM pg_constraint k WHERE k.contype = 'f' AND k.conrelid = ('public.' || quote_ident($1))::regclass",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .expect("list foreign keys");
        for f in foreign_keys {
            table.foreign_keys.insert(ForeignKey {
                columns: f.get("columns"),
                references: f.get("references"),
                referenced_columns: f.get("referenced_columns"),
                on_delete: f.get("on_delete"),
            });
        }
        schema.insert(name, table);
    }

    store.close().await;
    let drop = format!("DROP DATABASE IF EXISTS {database}");
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await;
    schema
}

/// What every schema must have on its own: a primary key on each table (but the listed ones),
/// and a known type on each column.
fn check_alone(dialect: &str, schema: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, table) in schema {
        if table.virtual_table {
            continue; // FTS5's columns have no type, and its rowid is its key
        }
        let exempt = WITHOUT_PRIMARY_KEY.iter().any(|(t, _)| t == name);
        if table.primary_key.is_empty() && !exempt {
            problems.push(format!("{dialect}: table {name} has no primary key"));
        }
        if !table.primary_key.is_empty() && exempt {
            problems.push(format!("{dialect}: table {name} is listed as having no primary key but has one"));
        }
        for (column, c) in &table.columns {
            if c.ty.contains(' ') {
                problems
                    .push(format!("{dialect}: column {name}.{column} has a type this test does not know: {}", c.ty));
            }
        }
    }
    for (name, _) in WITHOUT_PRIMARY_KEY {
        if !schema.contains_key(*name) {
            problems.push(format!("{dialect}: table {name} is listed as having no primary key but does not exist"));
        }
    }
    problems
}

/// Every difference between the two schemas that is not listed as deliberate, and every listed
/// difference that no longer exists.
fn compare(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    let listed = |list: &[(&str, &str)], name: &str| list.iter().any(|(n, _)| *n == name);
    for name in sqlite.keys().filter(|t| !postgres.contains_key(*t)) {
        if !listed(SQLITE_ONLY_TABLES, name) {
            problems.push(format!("table {name} exists only on SQLite"));
        }
    }
    for name in postgres.keys().filter(|t| !sqlite.contains_key(*t)) {
        if !listed(POSTGRES_ONLY_TABLES, name) {
            problems.push(format!("table {name} exists only on PostgreSQL"));
        }
    }
    for (list, only_on, other) in [(SQLITE_ONLY_TABLES, sqlite, postgres), (POSTGRES_ONLY_TABLES, postgres, sqlite)] {
        for (name, _) in list {
            if !only_on.contains_key(*name) || other.contains_key(*name) {
                problems.push(format!("table {name} is listed as a deliberate difference but is not one any more"));
            }
        }
    }

    for (name, s) in sqlite {
        let Some(p) = postgres.get(name) else { continue };
        for column in s.columns.keys().chain(p.columns.keys()).collect::<BTreeSet<_>>() {
            let qualified = format!("{name}.{column}");
            match (s.columns.get(column), p.columns.get(column)) {
                (Some(a), Some(b)) if a == b => {
                    if listed(DIFFERENT_COLUMNS, &qualified) {
                        problems.push(format!(
                            "column {qualified} is listed as a deliberate difference but is not one any more"
                        ));
                    }
                }
                (Some(_), Some(_)) if listed(DIFFERENT_COLUMNS, &qualified) => {}
                (a, b) => problems.push(format!("column {qualified}: SQLite {a:?}, PostgreSQL {b:?}")),
            }
        }
        if s.primary_key != p.primary_key {
            problems
                .push(format!("table {name}: primary key SQLite {:?}, PostgreSQL {:?}", s.primary_key, p.primary_key));
        }
        for index in s.indexes.keys().chain(p.indexes.keys()).collect::<BTreeSet<_>>() {
            let qualified = format!("{name}.{index}");
            match (s.indexes.get(index), p.indexes.get(index)) {
                (Some(a), Some(b)) if a == b => {}
                (None, Some(_)) if listed(POSTGRES_ONLY_INDEXES, &qualified) => {}
                (Some(_), None) if listed(SQLITE_ONLY_INDEXES, &qualified) => {}
                (a, b) => problems.push(format!("index {qualified}: SQLite {a:?}, PostgreSQL {b:?}")),
            }
        }
        for fk in s.foreign_keys.symmetric_difference(&p.foreign_keys) {
            let side = if s.foreign_keys.contains(fk) { "SQLite" } else { "PostgreSQL" };
            problems.push(format!("table {name}: foreign key only on {side}: {fk:?}"));
        }
    }
    for (list, only_on, other) in [(SQLITE_ONLY_INDEXES, sqlite, postgres), (POSTGRES_ONLY_INDEXES, postgres, sqlite)] {
        for (qualified, _) in list {
            let (table, index) = qualified.split_once('.').expect("listed indexes are table.index");
            let has = |schema: &Schema| schema.get(table).is_some_and(|t| t.indexes.contains_key(index));
            if !has(only_on) || has(other) {
                problems
                    .push(format!("index {qualified} is listed as a deliberate difference but is not one any more"));
            }
        }
    }
    problems
}

fn report(problems: &[String]) -> String {
    let mut out = String::new();
    for p in problems {
        let _ = writeln!(out, "  {p}");
    }
    out
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_define_the_same_schema() {
    let sqlite = sqlite_schema().await;
    assert!(sqlite.contains_key("tickets"), "the SQLite migrations ran: {:?}", sqlite.keys());
    let mut problems = check_alone("SQLite", &sqlite);

    match std::env::var("TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
        Some(server) => {
            let postgres = postgres_schema(&server).await;
            assert!(postgres.contains_key("tickets"), "the PostgreSQL migrations ran: {:?}", postgres.keys());
            problems.extend(check_alone("PostgreSQL", &postgres));
            problems.extend(compare(&sqlite, &postgres));
        }
        None => eprintln!(
            "TEST_POSTGRES_URL is not set: checked the SQLite schema alone; the comparison with \
             PostgreSQL runs in .ci/run"
        ),
    }
    assert!(problems.is_empty(), "the migrations disagree:\n{}", report(&problems));
}

#[test]
fn normalizing_drops_only_what_one_dialect_adds() {
    assert_eq!(normalize_expr("((status)::text = 'pending'::text)"), "status = 'pending'");
    assert_eq!(normalize_expr("status = 'pending'"), "status = 'pending'");
    assert_eq!(normalize_expr("(email IS NOT NULL)"), "email is not null");
    assert_eq!(normalize_expr("'SD'::character varying"), "'SD'");
    assert_ne!(normalize_expr("'SD'"), normalize_expr("'sd'"));
    assert_eq!(normalize_expr("TRUE"), normalize_expr("true"));
    assert_ne!(normalize_expr("status = 'open'"), normalize_expr("status = 'closed'"));
    assert_eq!(sqlite_type("BIGINT"), postgres_type("bigint"));
    assert_eq!(sqlite_type("INTEGER"), postgres_type("bigint"));
    assert_eq!(sqlite_type("BLOB"), postgres_type("bytea"));
    assert_ne!(sqlite_type("TEXT"), postgres_type("bigint"));
}
