//! The email channel's benchmark: inbound messages per second through the raw-MIME endpoint of
//! a real `switchboard serve` into tickets (SQLite by default), and the parse cost per message
//! over the corpus in `channels/email/tests/corpus`.
//!
//! `cargo run --release -p switchboard-bench --bin email_bench -- --messages 2000 --concurrency 8`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "Benchmarks the email channel's inbound path")]
struct Args {
    /// Messages to post (each opens a ticket; every fourth is a reply threading onto one).
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Parses of each corpus message for the parse-cost figure.
    #[arg(long, default_value_t = 2000)]
    parse_rounds: usize,
    /// A PostgreSQL database to use instead of a fresh SQLite file.
    #[arg(long)]
    postgres: Option<String>,
}

fn binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().context("no parent dir")?;
    let bin = dir.join("switchboard");
    if !bin.exists() {
        bail!("build the server first: cargo build --release -p switchboard-server ({} is missing)", bin.display());
    }
    Ok(bin)
}

fn parse_cost(rounds: usize) -> anyhow::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../channels/email/tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    files.sort();
    println!("parse cost per message ({rounds} rounds each):");
    let mut total = Duration::ZERO;
    for f in &files {
        let raw = std::fs::read(f)?;
        let start = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(switchboard_email::parse_email(std::hint::black_box(&raw), 25 << 20).ok());
        }
        let per = start.elapsed() / rounds as u32;
        total += per;
        println!(
            "  {:<28} {:>6} bytes  {:>8.1} µs",
            f.file_name().unwrap_or_default().to_string_lossy(),
            raw.len(),
            per.as_secs_f64() * 1e6
        );
    }
    println!("  mean over the corpus: {:.1} µs", total.as_secs_f64() * 1e6 / files.len() as f64);
    // Hostile mail: each must stay linear in its size (taken, thinned or refused), never quadratic.
    let mut references = String::new();
    for i in 0..100_000 {
        references.push_str(&format!("\r\n <r{i}@elsewhere.test>"));
    }
    let mut parts = String::from("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
    for i in 0..10_000 {
        parts.push_str(&format!("--b\r\nContent-Type: application/octet-stream; name=\"f{i}\"\r\n\r\nx\r\n"));
    }
    let hostile = [
        ("100,000 References", format!("References:{references}\r\n\r\nhello\r\n")),
        ("10,000 MIME parts", parts),
        ("HTML nested 100,000 deep", format!("Content-Type: text/html\r\n\r\n{}hi\r\n", "<div>".repeat(100_000))),
    ];
    let rounds = (rounds / 100).max(3);
    println!("hostile mail ({rounds} rounds each):");
    for (name, rest) in hostile {
        let raw = format!("From: a@customer.test\r\nMessage-ID: <h@customer.test>\r\n{rest}").into_bytes();
        let start = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(switchboard_email::parse_email(std::hint::black_box(&raw), 25 << 20).ok());
        }
        let per = start.elapsed() / rounds as u32;
        println!("  {name:<28} {:>8} bytes  {:>8.1} ms", raw.len(), per.as_secs_f64() * 1e3);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    parse_cost(args.parse_rounds)?;

    let tmp = tempfile::tempdir()?;
    let server = switchboard_testkit::ServerProcess::start_with(
        &binary()?,
        &tmp.path().join("data"),
        args.postgres.as_deref(),
        &[("SWITCHBOARD_EMAIL_POLLER", "false")],
    )?;
    server.cli(&["workspace", "create", "--slug", "bench", "--name", "Bench"], &[])?;
    let password = "benchmark password";
    server.cli(
        &[
            "user",
            "create",
            "--workspace",
            "bench",
            "--email",
            "admin@bench.test",
            "--name",
            "Admin",
            "--role",
            "admin",
        ],
        &[("SWITCHBOARD_PASSWORD", password)],
    )?;
    let http = switchboard_desk::egress::http_client_builder().build()?;
    let gql = |token: Option<String>, query: &'static str, vars: Value| {
        let http = http.clone();
        let url = format!("{}/graphql", server.url);
        async move {
            let mut req = http.post(url).json(&json!({ "query": query, "variables": vars }));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let body: Value = req.send().await?.json().await?;
            if !body["errors"].is_null() {
                bail!("GraphQL error: {body}");
            }
            anyhow::Ok(body["data"].clone())
        }
    };
    let login = gql(
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        json!({ "e": "admin@bench.test", "p": password }),
    )
    .await?;
    let token = login["login"]["token"].as_str().context("no token")?.to_string();
    let saved = gql(
        Some(token),
        "mutation { saveEmailMailbox(input: { name: \"Bench\", address: \"help@bench.test\" }) { inboundSecret mailbox { id } } }",
        json!({}),
    )
    .await?;
    let secret = saved["saveEmailMailbox"]["inboundSecret"].as_str().context("no secret")?.to_string();
    let mailbox = saved["saveEmailMailbox"]["mailbox"]["id"].as_str().context("no id")?.to_string();
    let endpoint = format!("{}/inbound/email/{mailbox}", server.url);

    let start = Instant::now();
    let mut latencies = Vec::with_capacity(args.messages);
    let mut next = 0usize;
    let mut in_flight = tokio::task::JoinSet::new();
    while next < args.messages || !in_flight.is_empty() {
        while next < args.messages && in_flight.len() < args.concurrency {
            let i = next;
            next += 1;
            // Every fourth message answers the one before it, so threading is measured too.
            let threading =
                if i % 4 == 3 { format!("In-Reply-To: <bench-{}@customer.test>\r\n", i - 1) } else { String::new() };
            let raw = format!(
                "From: Customer {c} <customer{c}@customer.test>\r\nTo: help@bench.test\r\nSubject: Order {i} question\r\n\
                 Message-ID: <bench-{i}@customer.test>\r\n{threading}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                 Hello, where is order {i}? It was due last week.\r\n\r\nOn Mon, 4 Mar 2024, Bench <help@bench.test> wrote:\r\n> earlier\r\n",
                c = i % 500
            );
            let (http, endpoint, secret) = (http.clone(), endpoint.clone(), secret.clone());
            in_flight.spawn(async move {
                let t = Instant::now();
                let resp = http.post(endpoint).bearer_auth(secret).body(raw).send().await?;
                if resp.status().as_u16() != 202 {
                    bail!("HTTP {}: {}", resp.status(), resp.text().await.unwrap_or_default());
                }
                anyhow::Ok(t.elapsed())
            });
        }
        if let Some(done) = in_flight.join_next().await {
            latencies.push(done??);
        }
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "inbound through POST /inbound/email: {} messages in {:.2} s = {:.0} messages/s (concurrency {}), p50 {:.1} ms, p99 {:.1} ms",
        args.messages,
        elapsed.as_secs_f64(),
        args.messages as f64 / elapsed.as_secs_f64(),
        args.concurrency,
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
    Ok(())
}
