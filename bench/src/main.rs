//! The helpdesk benchmark. Starts a real `switchboard serve` on a fresh database, seeds the
//! fixed workload through the store, drives it over GraphQL from this separate process with a
//! fixed number of concurrent clients on 127.0.0.1, and writes `latest.json` and `latest.md`.
//!
//! The workload is fixed (see `workload.rs`) so results compare across runs and helpdesks.

mod load;
mod machine;
mod sla;
mod workload;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};
use switchboard_testkit::ServerProcess;

use load::{Phase, Target};

#[derive(Parser)]
#[command(about = "Benchmarks switchboard at 100k or 1M tickets")]
struct Args {
    /// How many tickets to seed (the workload defines 100000 and 1000000).
    #[arg(long, default_value_t = 100_000)]
    tickets: usize,
    /// A PostgreSQL URL whose server gets a fresh benchmark database; SQLite when absent.
    #[arg(long)]
    postgres: Option<String>,
    /// Where latest.json and latest.md go.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// The switchboard binary [default: next to this one].
    #[arg(long)]
    server: Option<PathBuf>,
    /// Requests per phase (each phase also stops after --seconds).
    #[arg(long, default_value_t = 4000)]
    requests: usize,
    /// Time limit per phase, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Keep the server's data here (to inspect the database afterwards) instead of a temp dir.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// With --postgres: use this database, kept afterwards, instead of a fresh one. Seeded on the
    /// first run; a later run finds the benchmark workspace there and measures without seeding
    /// again (so a change can be measured against the same 1,000,000 tickets).
    #[arg(long, requires = "postgres")]
    database: Option<String>,
    /// Only the phases whose names start with one of these (comma-separated, e.g.
    /// `queue1_open,tiles`); `sla_scan` and `floor` name the last two. All when absent.
    #[arg(long, value_delimiter = ',')]
    phases: Vec<String>,
}

impl Args {
    fn runs(&self, phase: &str) -> bool {
        self.phases.is_empty() || self.phases.iter().any(|p| phase.starts_with(p.as_str()))
    }
}

async fn gql(client: &reqwest::Client, url: &str, token: &str, query: &str, vars: Value) -> anyhow::Result<Value> {
    let body: Value = client
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await?
        .json()
        .await?;
    if let Some(e) = body.get("errors") {
        bail!("GraphQL error: {e}");
    }
    Ok(body["data"].clone())
}

/// Asks the server to re-index the workspace and waits for its background job to complete;
/// returns how long that took.
async fn reindex(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let job = gql(client, url, token, "mutation { reindexSearch { id } }", json!({})).await?;
    let id = job["reindexSearch"]["id"].as_str().context("re-index job id")?.to_string();
    let mut last_report = Instant::now();
    loop {
        let jobs = gql(client, url, token, "{ backgroundJobs { id state processed total error } }", json!({})).await?;
        let j = jobs["backgroundJobs"]
            .as_array()
            .context("background jobs")?
            .iter()
            .find(|j| j["id"] == id.as_str())
            .cloned()
            .context("the re-index job is gone")?;
        match j["state"].as_str() {
            Some("COMPLETED") => return Ok(started.elapsed().as_secs_f64()),
            Some("FAILED") => bail!("the re-index failed: {}", j["error"]),
            _ => {}
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            println!("  re-indexing: {} of {}", j["processed"], j["total"]);
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

const TILES: &str = "query($f: TicketFilterInput) { ticketCounts(filter: $f) { status count countCapped } }";

const LIST: &str = "query($f: TicketFilterInput) { tickets(filter: $f, first: 25) { totalCount nodes { id number subject status priority assignee { name } queue { name } slaDueAt createdAt } } }";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = match &args.server {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("switchboard"),
    };
    if !bin.exists() {
        bail!("{} not found: build it first with `cargo build --release --bin switchboard`", bin.display());
    }
    let tmp = tempfile::tempdir()?;
    let data_dir = args.data_dir.clone().unwrap_or_else(|| tmp.path().join("data"));
    let (pg, seeded) = match (&args.postgres, &args.database) {
        (Some(url), Some(db)) => {
            let (db, existed) = machine::kept_postgres(url, db).await?;
            (Some(db), existed)
        }
        (Some(url), None) => (Some(machine::fresh_postgres(url, "switchboard_bench").await?), false),
        _ => (None, false),
    };
    // A kept database may hold an earlier run's tickets: measure it as it is.
    let seeded = seeded && {
        let store = switchboard_desk::store::Store::connect(pg.as_deref().unwrap_or_default()).await?;
        let found =
            matches!(store.migrate().await, Ok(())) && store.read().await?.workspace_by_slug("bench").await?.is_some();
        store.close().await;
        found
    };
    let started = Instant::now();
    // The job runner runs as in production, except its SLA scan, which phase 6 measures alone.
    // Its first tick scans at once: on a fresh database that finds nothing (the seed comes later),
    // but a kept one holds every seeded ticket's never-checked target (500,000 overdue at 1M),
    // and recording them would run through the measured phases. A kept database is measured
    // without the job runner.
    let jobs = if seeded { "false" } else { "true" };
    let server = ServerProcess::start_with(
        &bin,
        &data_dir,
        pg.as_deref(),
        &[("SWITCHBOARD_SLA_CHECK_EVERY_TICKS", "100000000"), ("SWITCHBOARD_JOBS", jobs)],
    )?;
    // The database's name, so each phase also counts the CPU of the backends serving it.
    let database =
        pg.as_deref().and_then(|u| u.rsplit('/').next()).map(|d| d.split('?').next().unwrap_or(d).to_string());
    let target = Target::new(server.pid, database);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut memory = serde_json::Map::new();
    memory.insert("idle_after_start".into(), json!(target.rss_mib()));

    // A workspace, five queues, an agent.
    if !seeded {
        server.cli(&["workspace", "create", "--slug", "bench", "--name", "Benchmark"], &[])?;
        server.cli(
            &[
                "user",
                "create",
                "--workspace",
                "bench",
                "--email",
                "agent@bench.test",
                "--name",
                "Bench Agent",
                "--role",
                "admin",
            ],
            &[("SWITCHBOARD_PASSWORD", "benchmark-password")],
        )?;
    }
    let client = switchboard_desk::egress::http_client_builder().pool_max_idle_per_host(64).build()?;
    let login = gql(
        &client,
        &server.url,
        "",
        "mutation { login(email: \"agent@bench.test\", password: \"benchmark-password\") { token } }",
        json!({}),
    )
    .await?;
    let token = login["login"]["token"].as_str().context("login token")?.to_string();
    let queues = gql(&client, &server.url, &token, "{ queues { id } }", json!({})).await?;
    let mut queue_ids = vec![queues["queues"][0]["id"].as_str().context("default queue")?.to_string()];
    if seeded {
        for q in queues["queues"].as_array().context("queues")?.iter().skip(1) {
            queue_ids.push(q["id"].as_str().context("queue id")?.to_string());
        }
    } else {
        gql(
            &client,
            &server.url,
            &token,
            "mutation($id: ID) { saveQueue(id: $id, input: { name: \"Queue 1\", isDefault: true }) { id } }",
            json!({ "id": queue_ids[0] }),
        )
        .await?;
        for n in 2..=5 {
            let q = gql(
                &client,
                &server.url,
                &token,
                "mutation($n: String!) { saveQueue(input: { name: $n }) { id } }",
                json!({ "n": format!("Queue {n}") }),
            )
            .await?;
            queue_ids.push(q["saveQueue"]["id"].as_str().context("queue id")?.to_string());
        }
    }

    let mut phases: Vec<Phase> = Vec::new();
    let limit = Duration::from_secs(args.seconds);

    // 1. Create tickets through GraphQL, on the near-empty database.
    for clients in [4, 16] {
        if seeded || !args.runs(&format!("create_ticket_c{clients}")) {
            continue;
        }
        let (c, url, tok) = (client.clone(), server.url.clone(), token.clone());
        let phase = load::run(&format!("create_ticket_c{clients}"), clients, args.requests, limit, &target, move |i| {
            let (c, url, tok) = (c.clone(), url.clone(), tok.clone());
            async move {
                let input = json!({ "subject": format!("Created ticket {i}"), "description": "Printer on floor 2 shows error 41.",
                                    "requester": { "email": format!("new{}@example.org", i % 500) }, "priority": "NORMAL", "source": "API" });
                gql(&c, &url, &tok, "mutation($i: OpenTicketInput!) { openTicket(input: $i) { id } }", json!({ "i": input })).await.is_ok()
            }
        })
        .await;
        phases.push(phase);
    }

    // The fixed workload, straight through the store.
    let seed_started = Instant::now();
    let counts = if seeded {
        json!("seeded by an earlier run")
    } else {
        workload::seed(&server.database_url(), args.tickets, &queue_ids).await?
    };
    let seed_secs = seed_started.elapsed().as_secs_f64();
    println!("seeded {} tickets in {seed_secs:.1} s: {counts}", args.tickets);
    // The seed goes into the database around the event stream, so the search index knows none of
    // it: the search phases would search an empty index. It is re-indexed the way an admin does
    // it, from the Background jobs page (`reindexSearch`), run by the server's job runner.
    let reindex_secs = if seeded { None } else { Some(reindex(&client, &server.url, &token).await?) };
    if let Some(secs) = reindex_secs {
        println!("re-indexed the seeded tickets in {secs:.1} s");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    memory.insert("after_seeding".into(), json!(target.rss_mib()));

    // 2-4. The agent-facing reads.
    let open = json!(["OPEN", "IN_PROGRESS", "WAITING"]);
    let reads = [
        ("queue1_open_newest25", json!({ "f": { "queueId": queue_ids[0], "status": open } }), [1, 4]),
        ("all_open_newest25", json!({ "f": { "status": open } }), [1, 4]),
        ("search_zebracorn", json!({ "f": { "search": "zebracorn" } }), [1, 4]),
        ("search_printer", json!({ "f": { "search": "printer" } }), [1, 4]),
    ];
    let mut totals = serde_json::Map::new();
    for (name, vars, client_counts) in reads {
        if !client_counts.iter().any(|c| args.runs(&format!("{name}_c{c}"))) {
            continue;
        }
        let first = gql(&client, &server.url, &token, LIST, vars.clone()).await?;
        totals.insert(name.into(), first["tickets"]["totalCount"].clone());
        for clients in client_counts {
            if !args.runs(&format!("{name}_c{clients}")) {
                continue;
            }
            let (c, url, tok, v) = (client.clone(), server.url.clone(), token.clone(), vars.clone());
            let phase = load::run(&format!("{name}_c{clients}"), clients, args.requests, limit, &target, move |_| {
                let (c, url, tok, v) = (c.clone(), url.clone(), tok.clone(), v.clone());
                async move { gql(&c, &url, &tok, LIST, v).await.is_ok() }
            })
            .await;
            phases.push(phase);
        }
    }

    // The status tiles above the list (`ticketCounts`), under the queue view's filter and none.
    let tiles = [("queue1_tiles", json!({ "f": { "queueId": queue_ids[0] } })), ("all_tiles", json!({ "f": {} }))];
    for (name, vars) in tiles {
        if !args.runs(&format!("{name}_c1")) {
            continue;
        }
        let first = gql(&client, &server.url, &token, TILES, vars.clone()).await?;
        totals.insert(name.into(), first["ticketCounts"].clone());
        let (c, url, tok, v) = (client.clone(), server.url.clone(), token.clone(), vars.clone());
        let phase = load::run(&format!("{name}_c1"), 1, args.requests, limit, &target, move |_| {
            let (c, url, tok, v) = (c.clone(), url.clone(), tok.clone(), v.clone());
            async move { gql(&c, &url, &tok, TILES, v).await.is_ok() }
        })
        .await;
        phases.push(phase);
    }

    // 5. Inbound messages into existing tickets (by their thread key), and staff replies.
    let n = args.tickets;
    if args.runs("inbound_message_c4") {
        let (c, url, tok) = (client.clone(), server.url.clone(), token.clone());
        let phase = load::run("inbound_message_c4", 4, args.requests, limit, &target, move |i| {
            let (c, url, tok) = (c.clone(), url.clone(), tok.clone());
            async move {
                let k = (i * 7919) % n;
                let input = json!({ "externalMessageId": format!("bench-in-{i}"), "threadKey": format!("bench-{k}"),
                                    "senderEmail": format!("user{}@example.com", k % 5000), "text": "Any update on this?" });
                gql(&c, &url, &tok, "mutation($i: IngestMessageInput!) { ingestMessage(input: $i) { duplicate } }", json!({ "i": input })).await.is_ok()
            }
        })
        .await;
        phases.push(phase);
    }
    // Replies from 4 agents, then 16 (the create phase's concurrency), over the same 100 tickets.
    for clients in [4, 16] {
        if !args.runs(&format!("reply_c{clients}")) {
            continue;
        }
        let ids = gql(
            &client,
            &server.url,
            &token,
            "query($f: TicketFilterInput) { tickets(filter: $f, first: 100) { nodes { id } } }",
            json!({ "f": { "status": ["OPEN"] } }),
        )
        .await?;
        let ids: Vec<String> = ids["tickets"]["nodes"]
            .as_array()
            .context("ids")?
            .iter()
            .filter_map(|t| t["id"].as_str().map(str::to_string))
            .collect();
        let (c, url, tok) = (client.clone(), server.url.clone(), token.clone());
        let phase = load::run(&format!("reply_c{clients}"), clients, args.requests, limit, &target, move |i| {
            let (c, url, tok, id) = (c.clone(), url.clone(), tok.clone(), ids[i % ids.len()].clone());
            async move {
                gql(
                    &c,
                    &url,
                    &tok,
                    "mutation($t: ID!) { reply(ticketId: $t, body: \"We are looking into it.\") { id } }",
                    json!({ "t": id }),
                )
                .await
                .is_ok()
            }
        })
        .await;
        phases.push(phase);
    }

    memory.insert("peak_under_load".into(), json!(target.peak_rss_mib()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    memory.insert("idle_at_end".into(), json!(target.rss_mib()));
    let server_cpu_total = target.cpu_seconds();
    let database_url = server.database_url();
    drop(server);

    // 6. The SLA breach scan, as many closed tickets added as were seeded.
    let sla_scan = if args.runs("sla_scan") {
        let s = sla::scan_phase(&database_url, &tmp.path().join("scan-blobs"), args.tickets).await?;
        println!("SLA scan: {s}");
        s
    } else {
        json!("not run")
    };

    // The floor: the same rows with plain SQL, one transaction per ticket.
    let mut floor =
        if args.runs("floor") { workload::floor(pg.as_deref(), tmp.path(), 2000).await? } else { json!({}) };
    // Our per-ticket cost against the database's own, at the best create throughput measured.
    let best_create =
        phases.iter().filter(|p| p.name.starts_with("create_ticket")).map(|p| p.throughput_per_s).fold(0.0, f64::max);
    if let Some(floor_tps) = floor["tickets_per_s"].as_f64().filter(|_| best_create > 0.0) {
        floor["create_cost_multiple_of_floor"] = json!((floor_tps / best_create * 100.0).round() / 100.0);
    }

    let results = json!({
        "date": chrono::Utc::now().to_rfc3339(),
        "git_commit": machine::git_commit(),
        "machine": machine::describe(),
        "database": if pg.is_some() { "postgresql" } else { "sqlite" },
        "tickets": args.tickets,
        "seed": { "seconds": seed_secs, "counts": counts, "list_totals": totals, "reindex_seconds": reindex_secs },
        "phases": phases,
        "memory_mib": memory,
        "server_cpu_seconds_total": server_cpu_total,
        "floor": floor,
        "wall_seconds": started.elapsed().as_secs_f64(),
        "sla_scan": sla_scan,
    });
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("latest.json"), serde_json::to_string_pretty(&results)?)?;
    let md = load::markdown(&results, &phases);
    std::fs::write(args.out.join("latest.md"), &md)?;
    println!("{md}");
    if let Some(url) = &args.postgres
        && args.database.is_none()
    {
        machine::drop_postgres(url, pg.as_deref()).await?;
    }
    Ok(())
}
