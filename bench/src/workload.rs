//! The fixed workload (keep it exactly, so results compare): N tickets over five queues, a
//! seeded status mix, created evenly over 2024, subjects from a 48-word list with a rare
//! "zebracorn" marker, 5,000 requesters. And the plain-SQL floor to compare writes against.

use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};
use sqlx::Connection;
use switchboard_domain::*;
use switchboard_store::{ImportedTicket, Store};

pub(crate) const WORDS: [&str; 48] = [
    "printer",
    "network",
    "invoice",
    "login",
    "password",
    "email",
    "laptop",
    "monitor",
    "keyboard",
    "vpn",
    "server",
    "backup",
    "license",
    "update",
    "install",
    "account",
    "refund",
    "order",
    "shipping",
    "delivery",
    "payment",
    "card",
    "browser",
    "mobile",
    "app",
    "sync",
    "calendar",
    "report",
    "export",
    "import",
    "database",
    "timeout",
    "error",
    "crash",
    "slow",
    "access",
    "permission",
    "folder",
    "file",
    "upload",
    "download",
    "camera",
    "audio",
    "headset",
    "wifi",
    "router",
    "scanner",
    "phone",
];

/// xorshift64*: small, fast and the same everywhere, so seed 42 always gives the same mix.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn word(&mut self) -> &'static str {
        WORDS[(self.next() % WORDS.len() as u64) as usize]
    }
}

fn ms(rfc3339: &str) -> Millis {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map(|d| d.timestamp_millis()).unwrap_or_default()
}

/// The i-th ticket of the workload.
fn ticket(
    i: usize,
    n: usize,
    rng: &mut Rng,
    queues: &[QueueId],
    requesters: &[ContactId],
    number: i64,
) -> ImportedTicket {
    let (start, end) = (ms("2024-01-01T00:00:00Z"), ms("2025-01-01T00:00:00Z"));
    let created_at = start + ((end - start) as i128 * i as i128 / n as i128) as i64;
    let status = match rng.next() % 100 {
        0..40 => TicketStatus::Open,
        // "Reopened": worked on again, so in progress.
        40..50 => TicketStatus::InProgress,
        50..75 => TicketStatus::Resolved,
        _ => TicketStatus::Closed,
    };
    let marker = if i % 1000 == 7 { "zebracorn " } else { "" };
    let subject = format!("{marker}{} {} problem {i}", rng.word(), rng.word());
    let description = format!(
        "The {} stopped working after the {}. We tried the {} and the {} again. Please check the {} {} soon.",
        rng.word(),
        rng.word(),
        rng.word(),
        rng.word(),
        rng.word(),
        rng.word()
    );
    ImportedTicket {
        number,
        subject,
        description,
        status,
        priority: Priority::ALL[i % 4],
        source: Source::Email,
        queue_id: queues[i % 5],
        requester_id: requesters[i % requesters.len()],
        thread_key: Some(format!("bench-{i}")),
        // Open tickets carry a resolution target by priority (all long past: the data is 2024's),
        // so the SLA scan has real work.
        sla_due_at: status.is_active().then(|| created_at + [72, 24, 8, 4][i % 4] * 3_600_000),
        created_at,
    }
}

/// Seeds `n` tickets into the `bench` workspace and returns the exact counts.
pub async fn seed(database_url: &str, n: usize, queue_ids: &[String]) -> anyhow::Result<Value> {
    let store = Store::connect(database_url).await?;
    let queues: Vec<QueueId> = queue_ids.iter().map(|q| q.parse::<i64>().map(QueueId)).collect::<Result<_, _>>()?;
    let mut tx = store.write().await?;
    let ws = tx.workspace_by_slug("bench").await?.context("bench workspace")?.id;
    let first_number = tx.last_ticket_number(ws).await? + 1;
    let emails: Vec<String> = (0..5000).map(|i| format!("user{i}@example.com")).collect();
    let mut by_email: std::collections::HashMap<String, ContactId> =
        tx.import_contacts(ws, &emails, chrono::Utc::now().timestamp_millis()).await?.into_iter().collect();
    tx.commit().await?;
    let requesters: Vec<ContactId> =
        emails.iter().map(|e| by_email.remove(e).context("imported contact")).collect::<Result<_, _>>()?;

    let mut rng = Rng(42);
    let (mut open_q1, mut open, mut zebracorn, mut printer) = (0, 0, 0, 0);
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n {
        let t = ticket(i, n, &mut rng, &queues, &requesters, first_number + i as i64);
        if t.status.is_active() {
            open += 1;
            if i % 5 == 0 {
                open_q1 += 1;
            }
        }
        zebracorn += usize::from(t.subject.contains("zebracorn"));
        printer += usize::from(t.subject.contains("printer"));
        batch.push(t);
        if batch.len() == 10_000 || i + 1 == n {
            let mut tx = store.write().await?;
            tx.import_tickets(ws, &batch).await?;
            tx.commit().await?;
            batch.clear();
        }
    }
    // What a bulk import ends with (on PostgreSQL: fresh statistics and visibility map).
    store.optimize().await?;
    store.close().await;
    Ok(json!({ "open_queue1": open_q1, "open_all": open, "zebracorn": zebracorn, "printer_in_subject": printer }))
}

/// The time to insert the same rows (a ticket and its first entry) with plain SQL, one
/// transaction per ticket, on a fresh database of the same kind and schema.
pub async fn floor(postgres: Option<&str>, dir: &Path, n: usize) -> anyhow::Result<Value> {
    let (url, fresh_pg) = match postgres {
        Some(pg) => (crate::machine::fresh_postgres(pg, "switchboard_floor").await?, true),
        None => (format!("sqlite://{}", dir.join("floor.db").display()), false),
    };
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    store.close().await;
    let mut rng = Rng(42);
    let queues = [QueueId(1); 5];
    let requesters = [ContactId(1)];
    let rows: Vec<ImportedTicket> =
        (0..n).map(|i| ticket(i, n, &mut rng, &queues, &requesters, i as i64 + 1)).collect();
    let setup = [
        "INSERT INTO workspaces (id, slug, name, created_at) VALUES (1, 'floor', 'Floor', 0)",
        "INSERT INTO queues (id, workspace_id, name, is_default, created_at) VALUES (1, 1, 'Q', TRUE, 0)",
        "INSERT INTO contacts (id, workspace_id, name, email, created_at) VALUES (1, 1, 'c', 'c@example.com', 0)",
    ];
    let ticket_sql = "INSERT INTO tickets (workspace_id, number, subject, status, priority, source, queue_id, requester_id, \
                      thread_key, created_at, updated_at) VALUES (1, $1, $2, $3, $4, $5, 1, 1, $6, $7, $7) RETURNING id";
    let entry_sql = "INSERT INTO entries (workspace_id, ticket_id, kind, author_contact_id, channel, body, created_at) \
                     VALUES (1, $1, 'reply', 1, 'email', $2, $3)";
    // The same statements on either driver; only the connection and how a write begins differ.
    macro_rules! insert_one_per_transaction {
        ($conn:expr, $begin:expr) => {{
            let mut c = $conn;
            for s in setup {
                sqlx::query(s).execute(&mut c).await?;
            }
            let started = Instant::now();
            for t in &rows {
                let mut tx = c.begin_with($begin).await?;
                let id: i64 = sqlx::query_scalar(ticket_sql)
                    .bind(t.number)
                    .bind(&t.subject)
                    .bind(t.status.as_str())
                    .bind(t.priority.as_str())
                    .bind(t.source.as_str())
                    .bind(&t.thread_key)
                    .bind(t.created_at)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(entry_sql).bind(id).bind(&t.description).bind(t.created_at).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            started
        }};
    }
    let started = if fresh_pg {
        insert_one_per_transaction!(
            sqlx::PgConnection::connect_with(&sqlx::postgres::PgConnectOptions::from_str(&url)?).await?,
            "BEGIN"
        )
    } else {
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
        // The same write transaction the server uses.
        insert_one_per_transaction!(sqlx::SqliteConnection::connect_with(&opts).await?, "BEGIN IMMEDIATE")
    };
    let secs = started.elapsed().as_secs_f64();
    if let (true, Some(pg)) = (fresh_pg, postgres) {
        crate::machine::drop_postgres(pg, Some(&url)).await?;
    }
    Ok(json!({
        "tickets": n,
        "tickets_per_s": (n as f64 / secs * 10.0).round() / 10.0,
        "per_ticket_ms": (secs * 1000.0 / n as f64 * 1000.0).round() / 1000.0,
        "what": "INSERT ticket + INSERT first entry, one transaction each, sequential, same schema and indexes",
    }))
}
