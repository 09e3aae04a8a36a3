//! Phase 6: the SLA breach scan, run through the desk exactly as the job runner runs it, on the
//! seeded database after the server stopped (so nothing else competes for it).
//!
//! It measures the first scan (every open ticket's target is long past, so each gets its breach
//! recorded), then the steady state (nothing newly due), then the steady state again after as
//! many closed tickets as were seeded are added (it must not grow), and a scan that finds a batch
//! of newly overdue tickets (it grows with them, and only with them).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};
use switchboard_desk::{AuthConfig, BlobStore, Desk, SystemClock};
use switchboard_domain::*;
use switchboard_store::{ImportedTicket, Store};

/// Steady-state scans timed per measurement; the median and the maximum are reported.
const STEADY_SCANS: usize = 20;
/// Newly overdue tickets in the last measurement.
const NEWLY_DUE: usize = 1_000;

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

async fn timed_scan(desk: &Desk) -> anyhow::Result<(f64, usize)> {
    let started = Instant::now();
    let recorded = desk.check_sla_breaches().await?;
    Ok((started.elapsed().as_secs_f64() * 1000.0, recorded))
}

async fn steady(desk: &Desk) -> anyhow::Result<Value> {
    let mut ms = Vec::with_capacity(STEADY_SCANS);
    for _ in 0..STEADY_SCANS {
        let (t, recorded) = timed_scan(desk).await?;
        anyhow::ensure!(recorded == 0, "a steady-state scan recorded {recorded} breaches");
        ms.push(t);
    }
    ms.sort_by(f64::total_cmp);
    Ok(json!({ "scans": STEADY_SCANS, "median_ms": round3(ms[ms.len() / 2]), "max_ms": round3(ms[ms.len() - 1]) }))
}

/// Imports `n` tickets of the bench workspace numbered after the existing ones.
async fn import(store: &Store, n: usize, make: impl Fn(usize, i64) -> ImportedTicket) -> anyhow::Result<()> {
    let mut tx = store.write().await?;
    let ws = tx.workspace_by_slug("bench").await?.context("bench workspace")?.id;
    let first = tx.last_ticket_number(ws).await? + 1;
    let rows: Vec<ImportedTicket> = (0..n).map(|i| make(i, first + i as i64)).collect();
    for chunk in rows.chunks(10_000) {
        tx.import_tickets(ws, chunk).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn imported(number: i64, status: TicketStatus, sla_due_at: Option<Millis>, now: Millis) -> ImportedTicket {
    ImportedTicket {
        number,
        subject: format!("SLA scan filler {number}"),
        description: "Added by the SLA scan phase.".into(),
        status,
        priority: Priority::Normal,
        source: Source::Email,
        queue_id: QueueId(1),
        requester_id: ContactId(1),
        thread_key: None,
        sla_due_at,
        created_at: now,
    }
}

/// Runs the phase on the database at `database_url`; `closed_to_add` closed tickets are added
/// between the two steady-state measurements.
pub async fn scan_phase(database_url: &str, blobs: &std::path::Path, closed_to_add: usize) -> anyhow::Result<Value> {
    let store = Store::connect(database_url).await?;
    let auth = AuthConfig { jwt_secret: b"bench: the scan signs nothing".to_vec(), token_ttl_secs: 60 };
    let desk = Desk::new(store.clone(), Arc::new(SystemClock), BlobStore::new(blobs), auth);
    let mut tx = store.read().await?;
    let ws = tx.workspace_by_slug("bench").await?.context("bench workspace")?;
    let queue = tx.default_queue(ws.id).await?.context("default queue")?.id;
    let contact = tx.list_contacts(ws.id, None, 1).await?.first().context("a contact")?.id;
    drop(tx);
    let with = move |mut t: ImportedTicket| {
        t.queue_id = queue;
        t.requester_id = contact;
        t
    };

    let (first_ms, first_recorded) = timed_scan(&desk).await?;
    let steady_before = steady(&desk).await?;

    let now = desk.now();
    import(&store, closed_to_add, |_, number| with(imported(number, TicketStatus::Closed, None, now))).await?;
    store.optimize().await?;
    let steady_after = steady(&desk).await?;

    // Tickets whose target passed a moment ago: the next scan finds exactly these.
    import(&store, NEWLY_DUE, |_, number| with(imported(number, TicketStatus::Open, Some(now - 1), now))).await?;
    let (due_ms, due_recorded) = timed_scan(&desk).await?;
    anyhow::ensure!(due_recorded == NEWLY_DUE, "expected {NEWLY_DUE} new breaches, got {due_recorded}");
    store.close().await;
    Ok(json!({
        "first_scan": {
            "ms": round3(first_ms),
            "breaches_recorded": first_recorded,
            "per_breach_ms": round3(first_ms / first_recorded.max(1) as f64),
            "what": "every open ticket is past its resolution target: one breach, event and manager notification each",
        },
        "steady_state": steady_before,
        "steady_state_after_adding_closed": { "closed_added": closed_to_add, "result": steady_after },
        "newly_overdue": {
            "tickets": NEWLY_DUE,
            "ms": round3(due_ms),
            "per_breach_ms": round3(due_ms / NEWLY_DUE as f64),
        },
    }))
}
