//! The search engine the server runs with: opening it, keeping it current, and `switchboard
//! reindex`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use secrecy::ExposeSecret;
use switchboard_desk::search_layer::{MeilisearchEngine, MeilisearchHttp, SearchError, TantivyEngine};
use switchboard_desk::{Desk, DeskError};

use crate::config::Settings;

/// How often the indexer looks for new events when nothing in this process woke it.
const INDEX_EVERY: Duration = Duration::from_millis(250);
/// How long the indexer waits before looking again at an index another replica is building (or
/// whose build failed).
const REBUILD_RETRY: Duration = Duration::from_secs(5);
/// How long the indexer lets changes gather after the first one wakes it.
const GATHER_CHANGES: Duration = Duration::from_millis(100);
/// How long connecting to Meilisearch may take.
const MEILISEARCH_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one Meilisearch request may take (a commit polls its tasks with many short ones).
const MEILISEARCH_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens the search engine and hands it to the desk: the Meilisearch index when
/// `SWITCHBOARD_MEILISEARCH_URL` is set (shared by every replica), else the embedded index in
/// the data directory.
pub async fn attach_engine(desk: &Desk, settings: &Settings) -> anyhow::Result<()> {
    if let Some(m) = &settings.meilisearch {
        // The operator's own server, not a tenant's URL: no egress guard, the process's TLS setup.
        let client = switchboard_desk::egress::http_client_builder()
            .connect_timeout(MEILISEARCH_CONNECT_TIMEOUT)
            .timeout(MEILISEARCH_REQUEST_TIMEOUT)
            .build()
            .context("building the Meilisearch client")?;
        let http = MeilisearchHttp::new(client, m.api_key.as_ref().map(|k| k.expose_secret().to_string()));
        let engine = MeilisearchEngine::open(&m.url, http, &m.index)
            .await
            .with_context(|| format!("opening the Meilisearch index {} at {}", m.index, m.url))?;
        tracing::info!(url = %m.url, index = %m.index, "searching with Meilisearch");
        desk.set_search_engine(Arc::new(engine));
        return Ok(());
    }
    let engine = TantivyEngine::open(&settings.search_dir).map_err(|e| match e {
        SearchError::Locked(dir) => anyhow::anyhow!(
            "the search index in {dir} is open in another process (a running server?); the embedded index \
             has one writer: stop it first, or give this process its own SWITCHBOARD_SEARCH_DIR"
        ),
        e => anyhow::Error::new(e).context("opening the search index"),
    })?;
    desk.set_search_engine(Arc::new(engine));
    Ok(())
}

/// Keeps the index current until `stop` resolves: a new index is rebuilt first (in the
/// background; searches answer from what is indexed so far), then new events are applied as
/// they come. Failures are logged and retried on the next round.
pub fn spawn_indexer(desk: Desk) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INDEX_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // A new index (no cursor yet) is built first, by one replica of several sharing it
            // (the others find its lease held and wait, applying no events until it is built);
            // a failed build is tried again on the next round.
            match desk.search_index_is_new().await {
                Ok(true) => {
                    tracing::info!("building the search index from the database");
                    match desk.rebuild_search_index(|_, _| {}).await {
                        Ok(s) => {
                            tracing::info!(tickets = s.tickets, secs = s.elapsed.as_secs_f64(), "search index built");
                        }
                        Err(DeskError::Conflict(why)) => {
                            tracing::info!("{why}");
                            tokio::time::sleep(REBUILD_RETRY).await;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "building the search index failed");
                            tokio::time::sleep(REBUILD_RETRY).await;
                        }
                    }
                    continue;
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(error = %e, "reading the search cursor failed");
                    tokio::time::sleep(REBUILD_RETRY).await;
                    continue;
                }
            }
            // Changes through this process wake it at once; the timer catches changes other
            // processes made (another replica, a CLI command).
            tokio::select! {
                _ = tick.tick() => {}
                _ = desk.search_changes() => {
                    // A round re-reads every ticket it names whole and commits the index, so a
                    // round per change cost more than the changes themselves (replies on
                    // PostgreSQL fell 14-33% with the indexer in the process): let a burst gather.
                    tokio::time::sleep(GATHER_CHANGES).await;
                }
            }
            if let Err(e) = desk.index_events().await {
                tracing::error!(error = %e, "indexing new events failed");
            }
        }
    })
}

/// `switchboard reindex`: rebuilds the index from the database with a progress bar, then prints
/// what it holds.
pub async fn reindex(desk: &Desk, settings: &Settings) -> anyhow::Result<()> {
    attach_engine(desk, settings).await?;
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} tickets  {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = desk
        .rebuild_search_index(|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await
        .context("rebuilding the search index")?;
    bar.finish_and_clear();
    let size = summary.disk_bytes.map(|b| format!(", {:.1} MiB on disk", b as f64 / 1048576.0)).unwrap_or_default();
    println!(
        "search index rebuilt: {} tickets indexed, {} documents{size}, in {:.1} s",
        summary.tickets,
        summary.documents,
        summary.elapsed.as_secs_f64()
    );
    Ok(())
}
