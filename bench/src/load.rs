//! The load generator: a fixed number of concurrent clients, each request timed, and the
//! server's CPU and memory read from /proc.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

/// The server process being measured, and the PostgreSQL database it uses (when it does).
pub struct Target {
    pid: u32,
    database: Option<String>,
}

impl Target {
    /// The server `pid`; with `database`, each phase also counts the CPU of the PostgreSQL
    /// backends serving it (on this machine), so its cost per request includes the database's.
    pub fn new(pid: u32, database: Option<String>) -> Target {
        Target { pid, database }
    }

    /// User + system CPU seconds used so far by each PostgreSQL backend serving the database (a
    /// backend's process title names its database: `postgres: 15/main: USER DB HOST(PORT) ...`).
    fn database_cpu(&self) -> std::collections::HashMap<u32, f64> {
        let mut out = std::collections::HashMap::new();
        let Some(db) = &self.database else { return out };
        let Ok(dir) = std::fs::read_dir("/proc") else { return out };
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            let Ok(title) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
            let title = String::from_utf8_lossy(&title);
            if title.starts_with("postgres: ") && title.split_whitespace().any(|w| w == db) {
                out.insert(pid, proc_cpu_seconds(pid));
            }
        }
        out
    }

    fn status_kib(&self, key: &str) -> Option<f64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = s.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Resident memory now, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.status_kib("VmRSS:").map_or(f64::NAN, |k| round1(k / 1024.0))
    }

    /// The highest resident memory so far, MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_kib("VmHWM:").map_or(f64::NAN, |k| round1(k / 1024.0))
    }

    /// User + system CPU seconds the server has used.
    pub fn cpu_seconds(&self) -> f64 {
        proc_cpu_seconds(self.pid)
    }
}

/// User + system CPU seconds process `pid` has used (NaN when it is gone).
fn proc_cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return f64::NAN };
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of /proc/PID/stat; here 0-based after the state field.
    (ticks(11) + ticks(12)) / 100.0
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// One measured phase.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub name: String,
    pub clients: usize,
    pub ok: usize,
    pub errors: usize,
    pub seconds: f64,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub server_cpu_seconds: f64,
    /// CPU seconds of the PostgreSQL backends serving the benchmark's database (0 on SQLite,
    /// where the database works inside the server process).
    pub database_cpu_seconds: f64,
    /// The machine's 1-minute load average as the phase ended: other work on the shared cores.
    pub load_average: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Runs `request(i)` from `clients` concurrent clients until `max_requests` were sent or
/// `max_time` passed, whichever comes first.
pub async fn run<F, Fut>(
    name: &str,
    clients: usize,
    max_requests: usize,
    max_time: Duration,
    target: &Target,
    request: F,
) -> Phase
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = target.cpu_seconds();
    let db_before = target.database_cpu();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, request) = (next.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= max_requests || started.elapsed() >= max_time {
                    break;
                }
                let t = Instant::now();
                let ok = request(i).await;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if ok {
                    lat.push(ms);
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            lat.extend(l);
            errors += e;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // A backend that ended during the phase is not counted; one that started counts from zero.
    let database_cpu: f64 = target
        .database_cpu()
        .iter()
        .filter(|(_, s)| s.is_finite())
        .map(|(pid, s)| s - db_before.get(pid).copied().filter(|b| b.is_finite()).unwrap_or(0.0))
        .sum();
    lat.sort_by(f64::total_cmp);
    let phase = Phase {
        name: name.to_string(),
        clients,
        ok: lat.len(),
        errors,
        seconds: round3(seconds),
        throughput_per_s: round1(lat.len() as f64 / seconds),
        p50_ms: round3(percentile(&lat, 50.0)),
        p90_ms: round3(percentile(&lat, 90.0)),
        p99_ms: round3(percentile(&lat, 99.0)),
        max_ms: round3(lat.last().copied().unwrap_or(f64::NAN)),
        server_cpu_seconds: round3(target.cpu_seconds() - cpu_before),
        database_cpu_seconds: round3(database_cpu),
        load_average: crate::machine::load_average(),
    };
    println!(
        "{:<28} clients {:>2}  ok {:>6}  err {:>4}  {:>8.1}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  CPU/request: server {:.3} ms, database {:.3} ms",
        phase.name,
        phase.clients,
        phase.ok,
        phase.errors,
        phase.throughput_per_s,
        phase.p50_ms,
        phase.p99_ms,
        phase.server_cpu_seconds * 1000.0 / phase.ok.max(1) as f64,
        phase.database_cpu_seconds * 1000.0 / phase.ok.max(1) as f64,
    );
    phase
}

/// The results as a Markdown report.
pub fn markdown(r: &Value, phases: &[Phase]) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# Switchboard benchmark\n\n- date: {}\n- commit: {}\n- machine: {}\n- database: {}\n- tickets seeded: {} in {:.1} s\n- seed counts: {}\n- list totals: {}\n\n",
        r["date"].as_str().unwrap_or_default(),
        r["git_commit"].as_str().unwrap_or_default(),
        r["machine"],
        r["database"].as_str().unwrap_or_default(),
        r["tickets"],
        r["seed"]["seconds"].as_f64().unwrap_or_default(),
        r["seed"]["counts"],
        r["seed"]["list_totals"],
    ));
    s.push_str(
        "| phase | clients | ok | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | server CPU s | database CPU s | load |\n",
    );
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for p in phases {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            p.name,
            p.clients,
            p.ok,
            p.errors,
            p.throughput_per_s,
            p.p50_ms,
            p.p90_ms,
            p.p99_ms,
            p.max_ms,
            p.server_cpu_seconds,
            p.database_cpu_seconds,
            p.load_average
        ));
    }
    s.push_str(&format!(
        "\nServer memory (MiB): {}\n\nSLA breach scan: {}\n\nFloor (plain SQL, one transaction per ticket): {}\n",
        r["memory_mib"], r["sla_scan"], r["floor"]
    ));
    s
}
