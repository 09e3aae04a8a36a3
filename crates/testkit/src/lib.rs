//! Runs the real `switchboard` binary: `serve` on a free port with a fresh data dir (and a
//! database URL when given), and one-off CLI commands against the same database. Shared by the
//! end-to-end tests and the benchmark so both exercise exactly what operators run. Also the
//! doubles of outside services the tests point the server at ([`discord`], [`llm`], [`meilisearch`]).

pub mod discord;
pub mod llm;
pub mod meilisearch;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// A running `switchboard serve`. It stops when this is dropped, or when the process holding it
/// dies (its stdin closes).
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// The server's process id, for reading its CPU and memory from /proc.
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    bin: PathBuf,
    data_dir: PathBuf,
    database_url: Option<String>,
}

impl ServerProcess {
    /// Starts `bin serve` on 127.0.0.1:0 and waits for its "listening" line.
    pub fn start(bin: &Path, data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<ServerProcess> {
        Self::start_with(bin, data_dir, database_url, &[])
    }

    /// Like [`ServerProcess::start`], with extra environment variables (settings) for the server.
    pub fn start_with(
        bin: &Path,
        data_dir: &Path,
        database_url: Option<&str>,
        envs: &[(&str, &str)],
    ) -> anyhow::Result<ServerProcess> {
        let mut cmd = Command::new(bin);
        cmd.arg("--data-dir")
            .arg(data_dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--stop-on-stdin-eof"])
            .env_remove("DATABASE_URL")
            .env("SWITCHBOARD_LOG", "warn")
            // Tests never serve (or rebuild with npm) the checkout's web bundle; a test that
            // wants one passes its own SWITCHBOARD_WEB_DIR in `envs`.
            .env("SWITCHBOARD_WEB_DIR", data_dir.join("web"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(u) = database_url {
            cmd.env("DATABASE_URL", u);
        }
        cmd.envs(envs.iter().copied());
        let mut child = cmd.spawn().with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("Switchboard listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(120)).context("switchboard did not start within 120 s")?;
        Ok(ServerProcess {
            pid: child.id(),
            child,
            url,
            bin: bin.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            database_url: database_url.map(str::to_string),
        })
    }

    /// Runs `bin ARGS` against the server's database and returns its stdout.
    pub fn cli(&self, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<String> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--data-dir").arg(&self.data_dir).args(args).env_remove("DATABASE_URL").env("SWITCHBOARD_LOG", "warn");
        if let Some(u) = &self.database_url {
            cmd.env("DATABASE_URL", u);
        }
        cmd.envs(envs.iter().copied());
        let out = cmd.output().context("running switchboard")?;
        if !out.status.success() {
            bail!("switchboard {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Kills the server at once (SIGKILL), as a crash or power cut would, and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The database the server uses.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("switchboard.db").display()))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing stdin asks the server to stop; wait so it is gone when this returns.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// A fresh database for one test: a SQLite file in `dir`, or, when `TEST_POSTGRES_URL` names a
/// PostgreSQL server (e.g. `postgres://postgres@127.0.0.1:5432`), a new database on it named
/// `switchboard_desk_<label>_<pid>_<n>`, which `.ci/run` drops afterwards.
pub async fn fresh_database_url(dir: &Path, label: &str) -> anyhow::Result<String> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let Some(server) = std::env::var("TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        return Ok(format!("sqlite://{}/desk.db", dir.display()));
    };
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let name = format!("switchboard_desk_{label}_{}_{n}", std::process::id());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{server}/postgres")).await?;
    // One statement each: several in one string would run as one implicit transaction.
    for sql in [format!("DROP DATABASE IF EXISTS {name}"), format!("CREATE DATABASE {name}")] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await?;
    }
    Ok(format!("{server}/{name}"))
}
