//! The embedded engine alone at benchmark size: N ticket documents shaped like the benchmark's
//! workload (subjects from its 48-word list with the rare "zebracorn" in one ticket of 1,000,
//! five entries per ticket: four public messages and an internal note, 5,000 requesters), indexed
//! in batches, then searched with one client for a common word ("printer"), a rare one
//! ("zebracorn") and a typo ("printr"): the best 2,000 and the total (what a ticket search asks
//! the engine), the excerpts of a page of 25, and the best 25 alone with the total. Then indexing under inbound load: 500 changed
//! tickets a second, committed every 250 ms as the server's indexer does, each change's lag from
//! its arrival to the commit that made it visible. Reports the index size and the process's
//! memory. No database and no HTTP: `search_bench` beside it measures the whole path.
//!
//! `cargo run --release -p switchboard-bench --bin engine_bench -- 1000000`

use std::time::{Duration, Instant};

use switchboard_search::{Audience, DocKey, DocKind, SearchDoc, SearchEngine, SearchQuery, TantivyEngine};

#[path = "../machine.rs"]
#[allow(dead_code)]
mod machine;
#[path = "../workload.rs"]
#[allow(dead_code)]
mod workload;

use workload::Rng;

fn message(rng: &mut Rng) -> String {
    format!(
        "The {} stopped working after the {}. We tried the {} and the {} again. Please check the {} {} soon.",
        rng.word(),
        rng.word(),
        rng.word(),
        rng.word(),
        rng.word(),
        rng.word()
    )
}

fn doc(i: usize, rng: &mut Rng, extra: &str) -> SearchDoc {
    let marker = if i % 1000 == 7 { "zebracorn " } else { "" };
    let requester = i % 5000;
    let public: Vec<String> = (0..4).map(|_| message(rng)).collect();
    SearchDoc {
        key: DocKey::ticket(i as i64 + 1),
        workspace_id: 1,
        owner_contact_id: Some(requester as i64),
        public: false,
        title: format!("{marker}{} {} problem {i}", rng.word(), rng.word()),
        public_text: format!("{}{extra}", public.join("\n\n")),
        internal_text: message(rng),
        people: format!("User {requester} user{requester}@example.com"),
        tags: String::new(),
        updated_at: i as i64,
    }
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .map_or(f64::NAN, |k: f64| (k / 1024.0 * 10.0).round() / 10.0)
}

fn pct(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
    format!(
        "n {} p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        v.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        v[v.len() - 1]
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    println!("machine: {}; load average {:.1} at the start", machine::describe(), machine::load_average());
    let dir = tempfile::tempdir()?;
    let engine = TantivyEngine::open(dir.path())?;
    let mut rng = Rng(42);
    let started = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n {
        batch.push(doc(i, &mut rng, ""));
        if batch.len() == 10_000 || i + 1 == n {
            engine.upsert(std::mem::take(&mut batch)).await?;
        }
        if (i + 1) % 200_000 == 0 {
            engine.commit().await?;
            println!("  {} indexed, {:.0} s", i + 1, started.elapsed().as_secs_f64());
        }
    }
    engine.commit().await?;
    let index_secs = started.elapsed().as_secs_f64();
    let stats = engine.stats().await?;
    println!(
        "indexed {n} tickets (5 entries each) in {index_secs:.1} s ({:.0}/s); {} documents, {:.1} MiB on disk; RSS {} MiB",
        n as f64 / index_secs,
        stats.documents,
        stats.disk_bytes.unwrap_or(0) as f64 / 1048576.0,
        rss_mib()
    );

    for word in ["printer", "zebracorn", "printr"] {
        let q = SearchQuery {
            workspace_id: 1,
            kinds: vec![DocKind::Ticket],
            text: word.into(),
            audience: Audience::Staff,
            limit: 2000,
        };
        let mut search_ms = Vec::new();
        let mut page_ms = Vec::new();
        let mut total = 0;
        for _ in 0..300 {
            let t = Instant::now();
            let hits = engine.search(&q).await?;
            search_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            total = hits.total;
            let page: Vec<DocKey> = hits.hits.iter().take(25).map(|h| h.key).collect();
            let t = Instant::now();
            engine.snippets(&q, &page).await?;
            page_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!("search {word:?}: {total} matches; best 2,000 + total: {}", pct(search_ms));
        println!("  excerpts of 25: {}", pct(page_ms));
        // What a page alone costs: the best 25 and the total (no other filter to narrow by).
        let page_q = SearchQuery { limit: 25, ..q.clone() };
        let mut top_ms = Vec::new();
        for _ in 0..300 {
            let t = Instant::now();
            engine.search(&page_q).await?;
            top_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!("  best 25 + total: {}", pct(top_ms));
    }
    println!("RSS after searches {} MiB", rss_mib());

    // Inbound load: 500 changes a second for 10 s, committed every 250 ms.
    let rate = 500usize;
    let secs = 10u64;
    let load_started = Instant::now();
    let mut lags = Vec::new();
    let mut pending: Vec<(Instant, SearchDoc)> = Vec::new();
    let mut next_commit = load_started + Duration::from_millis(250);
    for k in 0..rate * secs as usize {
        let due = load_started + Duration::from_secs_f64(k as f64 / rate as f64);
        if due > next_commit {
            let docs: Vec<SearchDoc> = pending.iter().map(|(_, d)| d.clone()).collect();
            engine.upsert(docs).await?;
            engine.commit().await?;
            let now = Instant::now();
            lags.extend(pending.drain(..).map(|(at, _)| (now - at).as_secs_f64() * 1000.0));
            next_commit = now + Duration::from_millis(250);
        }
        tokio::time::sleep_until(due.into()).await;
        let i = (k * 7919) % n;
        pending.push((Instant::now(), doc(i, &mut Rng(k as u64 + 1), " Any update on this?")));
    }
    let achieved = (rate * secs as usize) as f64 / load_started.elapsed().as_secs_f64();
    println!("inbound {achieved:.0} changes/s: index lag {}", pct(lags));
    let stats = engine.stats().await?;
    println!(
        "end: {:.1} MiB on disk, RSS {} MiB; load average {:.1}",
        stats.disk_bytes.unwrap_or(0) as f64 / 1048576.0,
        rss_mib(),
        machine::load_average()
    );
    Ok(())
}
