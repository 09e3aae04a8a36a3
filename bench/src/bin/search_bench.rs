//! The search benchmark: the fixed workload plus five entries per ticket (the description, two
//! more customer messages, a staff reply and an internal note), indexed by the embedded engine
//! from the database with `Desk::rebuild_search_index` (what `switchboard reindex` runs), then
//! ticket searches through the desk exactly as the GraphQL resolver calls them (engine, the page
//! loaded from the database, snippets; no HTTP), one client: a common word ("printer"), a rare
//! one ("zebracorn") and a typo ("printr"). Then index lag under inbound load: messages arrive
//! at a fixed rate while the indexer runs as `serve` runs it (every 250 ms), and each message's
//! lag is the time from its commit to the end of the first indexing round that began after it.
//!
//! `cargo run --release -p switchboard-bench --bin search_bench -- --tickets 100000`

#[path = "../machine.rs"]
#[allow(dead_code)]
mod machine;
#[path = "../workload.rs"]
#[allow(dead_code)]
mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use serde_json::{Value, json};
use switchboard_desk::domain::*;
use switchboard_desk::store::Store;
use switchboard_desk::*;
use switchboard_search::{SearchEngine, TantivyEngine};

#[derive(Parser)]
#[command(about = "Benchmarks ticket search on the embedded engine")]
struct Args {
    /// Tickets to seed (each with five entries).
    #[arg(long, default_value_t = 100_000)]
    tickets: usize,
    /// Searches per query.
    #[arg(long, default_value_t = 1000)]
    searches: usize,
    /// Inbound messages per second during the lag phase.
    #[arg(long, default_value_t = 500)]
    rate: usize,
    /// Seconds of inbound load.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Where the results go (search-<tickets>.json / .md).
    #[arg(long, default_value = "bench/results")]
    out: std::path::PathBuf,
    /// Keep the data here instead of a temp dir.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .map_or(f64::NAN, |k: f64| (k / 1024.0 * 10.0).round() / 10.0)
}

fn percentiles(mut ms: Vec<f64>) -> Value {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| {
        ms.get(((ms.len() as f64 * p).ceil() as usize).saturating_sub(1).min(ms.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let r = |v: f64| (v * 100.0).round() / 100.0;
    json!({ "n": ms.len(), "p50_ms": r(at(0.5)), "p90_ms": r(at(0.9)), "p99_ms": r(at(0.99)), "max_ms": r(ms.last().copied().unwrap_or(f64::NAN)) })
}

/// Four more entries per ticket, written straight to the table like the workload's import.
async fn add_entries(url: &str) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    let Store::Sqlite { writer, .. } = &store else { anyhow::bail!("SQLite only") };
    let mut rng = workload::Rng(7);
    let sentence = |rng: &mut workload::Rng| {
        format!(
            "I checked the {} and the {} but the {} still fails when I use the {} with the {}.",
            rng.word(),
            rng.word(),
            rng.word(),
            rng.word(),
            rng.word()
        )
    };
    let (ws, contact): (i64, i64) =
        sqlx::query_as("SELECT workspace_id, requester_id FROM tickets ORDER BY id LIMIT 1").fetch_one(writer).await?;
    let ids: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, created_at FROM tickets ORDER BY id").fetch_all(writer).await?;
    for chunk in ids.chunks(5_000) {
        let mut tx = writer.begin().await?;
        for (id, at) in chunk {
            for (k, kind) in ["reply", "reply", "reply", "note"].iter().enumerate() {
                sqlx::query(
                    "INSERT INTO entries (workspace_id, ticket_id, kind, author_contact_id, channel, body, created_at) \
                     VALUES ($1, $2, $3, $4, 'email', $5, $6)",
                )
                .bind(ws)
                .bind(id)
                .bind(kind)
                .bind(contact)
                .bind(sentence(&mut rng))
                .bind(at + k as i64 + 1)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
    }
    println!("added {} entries", ids.len() * 4);
    store.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tmp = tempfile::tempdir()?;
    let dir = args.data_dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let auth = AuthConfig { jwt_secret: b"search benchmark secret, not secret".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store.clone(), Arc::new(SystemClock), BlobStore::new(dir.join("blobs")), auth);
    let started = Instant::now();

    let ws = desk.create_workspace("bench", "Benchmark", "SD", "UTC", "Queue 1").await?;
    let mut queue_ids = Vec::new();
    {
        let mut tx = store.write().await?;
        queue_ids.push(tx.list_queues(ws.id).await?.first().context("default queue")?.id.0.to_string());
        for q in 2..=5 {
            let rec = tx.insert_queue(ws.id, &format!("Queue {q}"), false, AssignmentMode::Manual, 0).await?;
            queue_ids.push(rec.id.0.to_string());
        }
        tx.commit().await?;
    }
    let seed_started = Instant::now();
    let counts = workload::seed(&url, args.tickets, &queue_ids).await?;
    add_entries(&url).await?;
    let seed_secs = seed_started.elapsed().as_secs_f64();
    println!("seeded {} tickets with five entries each in {seed_secs:.1} s: {counts}", args.tickets);
    let rss_before_index = rss_mib();

    let engine = Arc::new(TantivyEngine::open(&dir.join("search"))?);
    desk.set_search_engine(engine.clone());
    let mut last_print = Instant::now();
    let rebuild = desk
        .rebuild_search_index(|done, total| {
            if last_print.elapsed() > Duration::from_secs(10) {
                println!("  indexed {done}/{total}");
                last_print = Instant::now();
            }
        })
        .await?;
    let stats = engine.stats().await?;
    println!(
        "indexed {} tickets in {:.1} s ({:.0}/s), {:.1} MiB on disk",
        rebuild.tickets,
        rebuild.elapsed.as_secs_f64(),
        rebuild.tickets as f64 / rebuild.elapsed.as_secs_f64(),
        stats.disk_bytes.unwrap_or(0) as f64 / 1048576.0
    );
    let rss_after_index = rss_mib();

    let actor = Actor::system(ws.id);
    let mut searches = serde_json::Map::new();
    for word in ["printer", "zebracorn", "printr"] {
        let filter = TicketFilter { text: Some(word.into()), ..Default::default() };
        let first = desk.list_tickets(&actor, &filter, 25, None).await?;
        let mut list_ms = Vec::new();
        let mut engine_ms = Vec::new();
        let q = switchboard_search::SearchQuery {
            workspace_id: ws.id.0,
            kinds: vec![switchboard_search::DocKind::Ticket],
            text: word.into(),
            audience: switchboard_search::Audience::Staff,
            limit: SEARCH_WINDOW,
        };
        for _ in 0..args.searches {
            let t = Instant::now();
            desk.list_tickets(&actor, &filter, 25, None).await?;
            list_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            engine.search(&q).await?;
            engine_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let list = percentiles(list_ms);
        println!("search {word:?}: total {} (capped {}), tickets page {list}", first.total, first.total_capped);
        searches.insert(
            word.into(),
            json!({ "total": first.total, "total_capped": first.total_capped, "tickets_page_25": list,
                    "engine_only_top2000": percentiles(engine_ms) }),
        );
    }
    let rss_after_search = rss_mib();

    // Index lag under inbound load.
    let rounds: Arc<std::sync::Mutex<Vec<(Instant, Instant)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let indexer = {
        let (desk, rounds, stop) = (desk.clone(), rounds.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                tick.tick().await;
                let s = Instant::now();
                if let Err(e) = desk.index_events().await {
                    eprintln!("indexing failed: {e}");
                }
                rounds.lock().map(|mut r| r.push((s, Instant::now()))).ok();
            }
        })
    };
    let total = args.rate * args.seconds as usize;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let load_started = Instant::now();
    let mut commits = Vec::with_capacity(total);
    let mut in_flight = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = load_started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (desk, actor) = (desk.clone(), actor.clone());
        let ticket = TicketId(1 + ((i * 7919) % args.tickets) as i64);
        in_flight.spawn(async move {
            desk.reply(&actor, ticket, &format!("Inbound message {i}: the printer is back online"), Vec::new(), None)
                .await
                .map(|_| Instant::now())
        });
        while let Some(done) = in_flight.try_join_next() {
            if let Ok(Ok(at)) = done {
                commits.push(at);
            }
        }
        // At most 64 in flight: past that the database is the bottleneck and the rate is not met.
        while in_flight.len() > 64 {
            if let Some(Ok(Ok(at))) = in_flight.join_next().await {
                commits.push(at);
            }
        }
    }
    while let Some(done) = in_flight.join_next().await {
        if let Ok(Ok(at)) = done {
            commits.push(at);
        }
    }
    let load_secs = load_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = indexer.await;
    let rounds = rounds.lock().map(|r| r.clone()).unwrap_or_default();
    let lags: Vec<f64> = commits
        .iter()
        .filter_map(|c| rounds.iter().find(|(s, _)| s >= c).map(|(_, e)| (*e - *c).as_secs_f64() * 1000.0))
        .collect();
    let achieved = commits.len() as f64 / load_secs;
    let lag = percentiles(lags);
    println!("inbound {} messages at {achieved:.0}/s (target {}/s): index lag {lag}", commits.len(), args.rate);
    let final_stats = engine.stats().await?;

    let results = json!({
        "date": chrono::Utc::now().to_rfc3339(),
        "git_commit": machine::git_commit(),
        "machine": machine::describe(),
        "database": "sqlite",
        "engine": "tantivy (embedded)",
        "tickets": args.tickets,
        "entries_per_ticket": 5,
        "seed_seconds": seed_secs,
        "seed_counts": counts,
        "rebuild": { "tickets": rebuild.tickets, "seconds": rebuild.elapsed.as_secs_f64(),
                     "tickets_per_s": rebuild.tickets as f64 / rebuild.elapsed.as_secs_f64() },
        "index_disk_mib": final_stats.disk_bytes.map(|b| (b as f64 / 1048576.0 * 10.0).round() / 10.0),
        "searches_one_client": searches,
        "inbound": { "target_per_s": args.rate, "achieved_per_s": (achieved * 10.0).round() / 10.0,
                     "messages": commits.len(), "index_lag": lag },
        "memory_mib": { "process_before_index": rss_before_index, "after_rebuild": rss_after_index,
                        "after_searches": rss_after_search, "at_end": rss_mib() },
        "wall_seconds": started.elapsed().as_secs_f64(),
    });
    std::fs::create_dir_all(&args.out)?;
    let name = format!("search-{}", args.tickets);
    std::fs::write(args.out.join(format!("{name}.json")), serde_json::to_string_pretty(&results)?)?;
    println!("{}", serde_json::to_string_pretty(&results)?);
    store.close().await;
    Ok(())
}
