//! What the benchmark ran on, and throwaway PostgreSQL databases.

use std::str::FromStr;

use serde_json::{Value, json};
use sqlx::Connection;

/// CPU model, core count, memory and kernel.
pub fn describe() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    json!({
        "cpu": model,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_gib": (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "kernel": kernel.trim(),
        "load_generator": "same machine, same cores",
    })
}

/// The 1-minute load average (`/proc/loadavg`); 0 where there is none.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// The commit the benchmark was built from.
pub fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn with_database(url: &str, db: &str) -> anyhow::Result<String> {
    let (base, _) = url.rsplit_once('/').ok_or_else(|| anyhow::anyhow!("{url} has no database part"))?;
    Ok(format!("{base}/{db}"))
}

/// Creates a fresh database named `prefix_<pid>` on the server of `url`, returning its URL.
pub async fn fresh_postgres(url: &str, prefix: &str) -> anyhow::Result<String> {
    let db = format!("{prefix}_{}", std::process::id());
    let mut c = sqlx::PgConnection::connect_with(&sqlx::postgres::PgConnectOptions::from_str(url)?).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}"))).execute(&mut c).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut c).await?;
    with_database(url, &db)
}

/// The database `db` on the server of `url`, created when missing (kept afterwards), and whether
/// it already existed.
pub async fn kept_postgres(url: &str, db: &str) -> anyhow::Result<(String, bool)> {
    if db.is_empty() || !db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        anyhow::bail!("--database {db:?}: letters, digits and _ only");
    }
    let mut c = sqlx::PgConnection::connect_with(&sqlx::postgres::PgConnectOptions::from_str(url)?).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(db)
        .fetch_one(&mut c)
        .await?;
    if !exists {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut c).await?;
    }
    Ok((with_database(url, db)?, exists))
}

/// Drops a database made by [`fresh_postgres`].
pub async fn drop_postgres(url: &str, fresh: Option<&str>) -> anyhow::Result<()> {
    let Some(fresh) = fresh else { return Ok(()) };
    let db = fresh.rsplit_once('/').map(|(_, d)| d).unwrap_or_default();
    let mut c = sqlx::PgConnection::connect_with(&sqlx::postgres::PgConnectOptions::from_str(url)?).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))).execute(&mut c).await?;
    Ok(())
}
