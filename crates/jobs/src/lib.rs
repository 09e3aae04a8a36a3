//! The durable job runner: everything that happens because time passed or an event was written.
//!
//! Jobs live in apalis storage in the same database as the helpdesk (SQLite by default,
//! PostgreSQL in production), so queued and scheduled jobs survive a restart. Two queues:
//!
//! - `switchboard.tick`: a self-rescheduling job, one per slot of `tick` seconds, deduplicated by
//!   an idempotency key so several replicas still run each slot once, and on PostgreSQL taking
//!   turns on an advisory lock so no two ticks overlap anywhere. Each tick turns new domain
//!   events into webhook deliveries and queues the deliveries that are due, and brings the
//!   insights rollups up to date with the same events; at start and then
//!   every `sla_every` ticks' worth of time it also checks SLA breaches, follows up on quiet tickets (nudge, auto-close warning,
//!   auto-close, transcript retention), sends after-close messages (CSAT request, post-close
//!   follow-up) and raises manager alerts; at start and once a day it scans for suggested macros.
//! - `switchboard.delivery`: one job per attempt at sending something out, keyed by what and
//!   attempt number: a webhook delivery, a reply in the outbox handed to its channel's
//!   [`ChannelSender`], or a customer's sign-in link handed to the [`SignInLinkSender`]; and one
//!   per due knowledge source sync, keyed by the source and its due time (the source's row holds
//!   the schedule, so a restart finds every overdue source due again). The row
//!   (status, attempts, next attempt) is the source of truth, so a crash between an attempt and
//!   its bookkeeping costs at most a repeated attempt, never a lost event or reply.

mod http;

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use apalis::prelude::*;
use apalis_postgres::{Config as PgConfig, PostgresStorage};
use apalis_sqlite::{Config as SqliteConfig, SqliteStorage};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use switchboard_channel::Registry;
use switchboard_desk::domain::{Channel, OutboxId, SignInLinkId, WebhookDeliveryId};
use switchboard_desk::{ChannelSender, DeliveryOutcome, Desk, SignInLinkSender};

pub use http::{DeliveryClient, WebhookProxy, send_delivery};

/// How the runner behaves; the defaults suit production.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Seconds between ticks (webhook dispatch latency); at least 1.
    pub tick_secs: u64,
    /// Check SLA breaches every this many ticks.
    pub sla_every: u64,
    /// First retry delay of a failed webhook or reply delivery, in milliseconds (then ×3 per
    /// attempt).
    pub retry_base_ms: i64,
    /// Time limit of one webhook request or reply delivery.
    pub request_timeout: Duration,
    /// How often idle workers look for new jobs.
    pub poll_interval: Duration,
    /// The HTTP proxies webhook deliveries go through.
    pub proxy: WebhookProxy,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            tick_secs: 1,
            sla_every: 30,
            retry_base_ms: 10_000,
            request_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(250),
            proxy: WebhookProxy::default(),
        }
    }
}

/// One slot of the periodic work, identified by its start in Unix seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tick {
    pub slot: u64,
    /// The slot of the tick that queued this one (0 for the first after a start). The sweeps
    /// run when a period boundary lies between the two: the chain of ticks, not any one
    /// process, knows when they last ran, so several replicas still sweep once per period, and a
    /// late tick that skips slots still crosses its boundary.
    #[serde(default)]
    pub prev: u64,
}

/// Whether a multiple of `period` lies in `(prev, slot]`, or this is the first tick (`prev` 0).
fn crossed(job: &Tick, period: u64) -> bool {
    job.prev == 0 || job.slot / period > job.prev / period
}

/// One attempt at sending one thing out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Deliver {
    /// A webhook event to its endpoint.
    Webhook { delivery_id: i64, attempt: i64 },
    /// A reply in the outbox to its ticket's channel.
    Reply { outbox_id: OutboxId, attempt: i64 },
    /// A customer's one-time sign-in link, by email.
    SignInLink { link_id: SignInLinkId, attempt: i64 },
    /// A knowledge URL source's sync, found due at `due_at`.
    KnowledgeSync { source_id: i64, due_at: i64 },
    /// A workspace's re-index asked for on the Background jobs page (its row holds the progress).
    Reindex { job_id: i64, seen_at: i64 },
}

impl Deliver {
    fn key(&self) -> String {
        match self {
            Deliver::Webhook { delivery_id, attempt } => format!("webhook-{delivery_id}-{attempt}"),
            Deliver::Reply { outbox_id, attempt } => format!("reply-{outbox_id}-{attempt}"),
            Deliver::SignInLink { link_id, attempt } => format!("sign-in-link-{link_id}-{attempt}"),
            Deliver::KnowledgeSync { source_id, due_at } => format!("knowledge-sync-{source_id}-{due_at}"),
            Deliver::Reindex { job_id, seen_at } => format!("reindex-{job_id}-{seen_at}"),
        }
    }
}

const TICK_QUEUE: &str = "switchboard.tick";
/// The advisory lock key ticks take turns on ("sb-tick" in ASCII).
const TICK_LOCK: i64 = 0x73_62_2d_74_69_63_6b;
const DELIVERY_QUEUE: &str = "switchboard.delivery";
// apalis keeps its migration history apart from ours: both use sqlx's migrator, and one table
// would make each side see the other's versions as unknown.
const SQLITE_MIGRATIONS_TABLE: &str = "_apalis_migrations";

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

fn next_slot(after: u64, every: u64) -> u64 {
    (now_secs().max(after) / every + 1) * every
}

/// Wakes a worker every `period` to look for due jobs.
///
/// apalis' own interval strategy replaces its timer when it fires without polling the new one,
/// so a worker whose next look found nothing could sleep until its next heartbeat (ten seconds
/// here): a reply or a webhook then waited that long after a quiet spell. This one
/// always leaves a timer registered with the worker's waker.
struct EveryPeriod {
    period: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl EveryPeriod {
    fn new(period: Duration) -> EveryPeriod {
        EveryPeriod { period, timer: None }
    }
}

// The workers are registered with clones; without this `Clone`, `clone()` would reach through
// `PollWith`'s `Deref` to the bare storage and drop the strategy without a word.
impl Clone for EveryPeriod {
    fn clone(&self) -> Self {
        EveryPeriod::new(self.period)
    }
}

impl PollStrategy for EveryPeriod {
    fn poll_drive(&mut self, cx: &mut TaskContext<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        let mut fired = false;
        loop {
            let period = self.period;
            let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(period)));
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    fired = true;
                    self.timer = None;
                }
                Poll::Pending if fired => return Poll::Ready(Some(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A unique worker name per process: apalis refuses a name it saw alive moments ago.
fn worker_name(base: &str) -> String {
    format!("{base}-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// The two queues on one database.
#[derive(Clone)]
enum Queues {
    Sqlite { ticks: SqliteStorage<Tick>, deliveries: SqliteStorage<Deliver>, pool: SqlitePool },
    Postgres { ticks: PostgresStorage<Tick>, deliveries: PostgresStorage<Deliver>, pool: PgPool },
}

/// PostgreSQL reports a repeated idempotency key as an error where SQLite ignores it: either
/// way the job is already queued.
fn already_queued(e: &dyn std::fmt::Display) -> bool {
    e.to_string().contains("idempotency_key")
}

impl Queues {
    async fn push_tick(&self, slot: u64, prev: u64) -> anyhow::Result<()> {
        let task = TaskBuilder::new(Tick { slot, prev }).run_at_timestamp(slot).idempotency_key(format!("tick-{slot}"));
        let task = task.max_attempts(1).build();
        let result = match self {
            Queues::Sqlite { ticks, .. } => ticks.clone().push_task(task).await.map_err(|e| e.to_string()),
            Queues::Postgres { ticks, .. } => ticks.clone().push_task(task).await.map_err(|e| e.to_string()),
        };
        match result {
            Err(e) if !already_queued(&e) => Err(anyhow::anyhow!("queueing tick {slot}: {e}")),
            _ => Ok(()),
        }
    }

    async fn push_delivery(&self, job: Deliver) -> anyhow::Result<()> {
        let key = job.key();
        let task = TaskBuilder::new(job).idempotency_key(key.clone()).max_attempts(3).build();
        let result = match self {
            Queues::Sqlite { deliveries, .. } => deliveries.clone().push_task(task).await.map_err(|e| e.to_string()),
            Queues::Postgres { deliveries, .. } => deliveries.clone().push_task(task).await.map_err(|e| e.to_string()),
        };
        match result {
            Err(e) if !already_queued(&e) => Err(anyhow::anyhow!("queueing {key}: {e}")),
            _ => Ok(()),
        }
    }

    /// Waits for this tick's turn. On PostgreSQL several replicas run tick workers, and apalis
    /// hands each slot to one of them, but slot N+1 may start on one replica while slot N still
    /// runs on another: a transaction-scoped advisory lock makes them take turns, so two sweeps
    /// or two webhook dispatches never overlap. The turn ends when the returned transaction does
    /// (dropped, or its connection lost with a dead replica). SQLite serves one process, whose
    /// single tick worker already runs one tick at a time.
    async fn tick_turn(&self) -> anyhow::Result<Option<sqlx::Transaction<'static, sqlx::Postgres>>> {
        let Queues::Postgres { pool, .. } = self else { return Ok(None) };
        let mut tx = pool.begin().await?;
        // A tick stuck for this long on another replica is given up on, not waited for forever.
        sqlx::query("SET LOCAL lock_timeout = '300s'").execute(&mut *tx).await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(TICK_LOCK).execute(&mut *tx).await?;
        Ok(Some(tx))
    }

    /// Finished jobs are history apalis keeps forever; an hour of it is plenty.
    async fn prune(&self) -> anyhow::Result<()> {
        let cutoff = now_secs().saturating_sub(3600) as i64;
        match self {
            Queues::Sqlite { pool, .. } => {
                sqlx::query("DELETE FROM Jobs WHERE status = 'Done' AND done_at < $1")
                    .bind(cutoff)
                    .execute(pool)
                    .await?;
            }
            Queues::Postgres { pool, .. } => {
                sqlx::query("DELETE FROM apalis.jobs WHERE status = 'Done' AND done_at < to_timestamp($1)")
                    .bind(cutoff as f64)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }
}

/// What every handler needs.
struct Context {
    desk: Desk,
    queues: Queues,
    config: JobsConfig,
    client: DeliveryClient,
    senders: Senders,
}

impl Context {
    fn sender(&self, channel: Channel) -> Option<&Arc<dyn ChannelSender>> {
        self.senders.replies.iter().find(|s| s.channel() == channel)
    }
}

async fn run_tick(job: Tick, ctx: Data<Arc<Context>>) -> Result<(), BoxDynError> {
    // Schedule the next slot first: a failure below must not stop the clock.
    if let Err(e) = ctx.queues.push_tick(next_slot(job.slot, ctx.config.tick_secs), job.slot).await {
        tracing::error!(error = %e, "scheduling the next tick failed");
    }
    let _turn = match ctx.queues.tick_turn().await {
        Ok(turn) => turn,
        Err(e) => {
            tracing::error!(error = %e, "waiting for the tick's turn failed; skipping this tick");
            return Ok(());
        }
    };
    if crossed(&job, ctx.config.tick_secs * ctx.config.sla_every.max(1)) {
        match ctx.desk.check_sla_breaches().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(breaches = n, "recorded SLA breaches"),
            Err(e) => tracing::error!(error = %e, "SLA breach check failed"),
        }
        match ctx.desk.follow_up_quiet_tickets().await {
            Ok(r) if r == Default::default() => {}
            Ok(r) => {
                tracing::info!(
                    nudged = r.nudged,
                    warned = r.warned,
                    closed = r.closed,
                    purged = r.purged,
                    "followed up quiet tickets"
                )
            }
            Err(e) => tracing::error!(error = %e, "following up quiet tickets failed"),
        }
        match ctx.desk.after_close_and_alerts().await {
            Ok(r) if r == Default::default() => {}
            Ok(r) => tracing::info!(
                csat_requests = r.csat_requests,
                post_close_follow_ups = r.post_close_follow_ups,
                alerts = r.alerts,
                "sent after-close messages and manager alerts"
            ),
            Err(e) => tracing::error!(error = %e, "after-close messages or manager alerts failed"),
        }
        match ctx.desk.prune_customer_sign_in_links().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "deleted expired sign-in links"),
            Err(e) => tracing::error!(error = %e, "deleting expired sign-in links failed"),
        }
        ctx.senders.channels.maintain().await;
        if let Err(e) = ctx.desk.prune_leases().await {
            tracing::warn!(error = %e, "pruning expired leases failed");
        }
        if let Err(e) = ctx.queues.prune().await {
            tracing::warn!(error = %e, "pruning finished jobs failed");
        }
    }
    // Once a day, from the first tick after midnight UTC.
    if crossed(&job, 86_400) {
        match ctx.desk.scan_macro_suggestions().await {
            Ok(n) => tracing::info!(offered = n, "scanned for suggested macros"),
            Err(e) => tracing::error!(error = %e, "the suggested-macros scan failed"),
        }
    }
    if let Err(e) = ctx.desk.dispatch_events().await {
        tracing::error!(error = %e, "webhook dispatch failed");
    }
    // The insights rollups follow the same event stream on a cursor of their own, here rather
    // than in the ticket changes' transactions, so creating or answering a ticket costs nothing
    // more.
    if let Err(e) = ctx.desk.update_insights().await {
        tracing::error!(error = %e, "updating the insights rollups failed");
    }
    match ctx.desk.due_deliveries().await {
        Ok(due) => {
            for (id, attempt) in due {
                if let Err(e) = ctx.queues.push_delivery(Deliver::Webhook { delivery_id: id.0, attempt }).await {
                    tracing::error!(error = %e, "queueing a webhook delivery failed");
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "reading due webhook deliveries failed"),
    }
    for sender in &ctx.senders.replies {
        match ctx.desk.due_outbox(sender.channel(), 500).await {
            Ok(due) => {
                for (outbox_id, attempt) in due {
                    if let Err(e) = ctx.queues.push_delivery(Deliver::Reply { outbox_id, attempt }).await {
                        tracing::error!(error = %e, "queueing a reply delivery failed");
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, channel = %sender.channel(), "reading the due outbox failed"),
        }
    }
    // Every tick: a source's interval is at least 15 minutes, so this finds work rarely, through
    // an index on the due time. The job's key is the source and the due time it was seen with,
    // so a source still waiting for its worker is not queued again.
    // Each gets its queued row on the Background jobs page here (keyed like the job).
    match ctx.desk.queue_knowledge_syncs(100).await {
        Ok(due) => {
            for (source_id, due_at) in due {
                if let Err(e) = ctx.queues.push_delivery(Deliver::KnowledgeSync { source_id, due_at }).await {
                    tracing::error!(error = %e, "queueing a knowledge source sync failed");
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "reading the due knowledge sources failed"),
    }
    // Re-indexes asked for on the web (rare). The key holds the row's last move, so a stalled
    // one (its worker died mid-way) is queued again under a new key and taken up.
    match ctx.desk.runnable_reindex_jobs(10).await {
        Ok(jobs) => {
            for (job_id, seen_at) in jobs {
                if let Err(e) = ctx.queues.push_delivery(Deliver::Reindex { job_id, seen_at }).await {
                    tracing::error!(error = %e, "queueing a re-index failed");
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "reading the queued re-indexes failed"),
    }
    if ctx.senders.sign_in_links.is_some() {
        match ctx.desk.due_customer_sign_in_links(500).await {
            Ok(due) => {
                for (link_id, attempt) in due {
                    if let Err(e) = ctx.queues.push_delivery(Deliver::SignInLink { link_id, attempt }).await {
                        tracing::error!(error = %e, "queueing a sign-in link email failed");
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "reading the due sign-in links failed"),
        }
    }
    Ok(())
}

async fn run_delivery(job: Deliver, ctx: Data<Arc<Context>>) -> Result<(), BoxDynError> {
    match job {
        Deliver::Webhook { delivery_id, attempt } => deliver_webhook(&ctx, delivery_id, attempt).await,
        Deliver::Reply { outbox_id, attempt } => deliver_reply(&ctx, outbox_id, attempt).await,
        Deliver::SignInLink { link_id, attempt } => deliver_sign_in_link(&ctx, link_id, attempt).await,
        Deliver::KnowledgeSync { source_id, due_at } => {
            // The desk claims the source first: a job queued twice, or on two replicas, syncs once.
            if ctx.desk.run_knowledge_sync(source_id, due_at).await? {
                tracing::info!(source = source_id, "knowledge source synced");
            }
            Ok(())
        }
        Deliver::Reindex { job_id, .. } => {
            // The desk claims the job first: queued on two replicas, it runs once.
            if ctx.desk.run_reindex_job(job_id).await? {
                tracing::info!(job = job_id, "workspace re-indexed");
            }
            Ok(())
        }
    }
}

async fn deliver_sign_in_link(ctx: &Context, link_id: SignInLinkId, attempt: i64) -> Result<(), BoxDynError> {
    let Some(sender) = &ctx.senders.sign_in_links else { return Ok(()) };
    let Some(mail) = ctx.desk.customer_sign_in_mail(link_id).await? else { return Ok(()) };
    if mail.attempts != attempt {
        return Ok(());
    }
    let outcome = match tokio::time::timeout(ctx.config.request_timeout * 3, sender.send_sign_in_link(&mail)).await {
        Ok(outcome) => outcome,
        Err(_) => DeliveryOutcome::Retry { error: "the mail server did not answer in time".into() },
    };
    match &outcome {
        DeliveryOutcome::Sent { .. } => tracing::info!(link = link_id.0, "sign-in link sent"),
        DeliveryOutcome::Retry { error } | DeliveryOutcome::Failed { error } => {
            tracing::warn!(link = link_id.0, attempt = attempt + 1, error = %error, "sign-in link not sent")
        }
    }
    ctx.desk.record_customer_sign_in_attempt(&mail, &outcome, ctx.config.retry_base_ms).await?;
    Ok(())
}

async fn deliver_reply(ctx: &Context, outbox_id: OutboxId, attempt: i64) -> Result<(), BoxDynError> {
    let Some(msg) = ctx.desk.outbound_message(outbox_id).await? else { return Ok(()) };
    if msg.attempts != attempt {
        return Ok(());
    }
    let Some(sender) = ctx.sender(msg.channel) else { return Ok(()) };
    let outcome = match tokio::time::timeout(ctx.config.request_timeout * 3, sender.send(&msg)).await {
        Ok(outcome) => outcome,
        Err(_) => DeliveryOutcome::Retry { error: "the channel did not answer in time".into() },
    };
    match &outcome {
        DeliveryOutcome::Sent { .. } => tracing::info!(outbox = outbox_id.0, channel = %msg.channel, "reply sent"),
        DeliveryOutcome::Retry { error } | DeliveryOutcome::Failed { error } => {
            tracing::warn!(outbox = outbox_id.0, channel = %msg.channel, attempt = attempt + 1, error = %error, "reply not sent")
        }
    }
    ctx.desk.record_outbox_attempt(&msg, &outcome, ctx.config.retry_base_ms).await?;
    Ok(())
}

async fn deliver_webhook(ctx: &Context, delivery_id: i64, attempt: i64) -> Result<(), BoxDynError> {
    let Some(d) = ctx.desk.delivery_to_send(WebhookDeliveryId(delivery_id)).await? else { return Ok(()) };
    if d.attempts != attempt {
        // Another worker already made this attempt.
        return Ok(());
    }
    let outcome = send_delivery(&ctx.client, &d).await;
    match &outcome.error {
        None => tracing::info!(delivery = d.id.0, event = %d.event, "webhook delivered"),
        Some(e) => tracing::warn!(delivery = d.id.0, attempt = d.attempts + 1, error = %e, "webhook attempt failed"),
    }
    ctx.desk.record_attempt(&d, outcome, ctx.config.retry_base_ms).await?;
    Ok(())
}

/// A running job runner.
pub struct Jobs {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs").finish_non_exhaustive()
    }
}

impl Jobs {
    /// Stops taking jobs, lets the running ones finish (up to ten seconds) and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// What sends things out for the desk and keeps the channels' own rows tidy: the registered
/// channel modules.
pub struct Senders {
    /// Deliver the outbox's replies, one per channel.
    replies: Vec<Arc<dyn ChannelSender>>,
    /// Delivers customers' sign-in links; without one, links are made but never sent.
    sign_in_links: Option<Arc<dyn SignInLinkSender>>,
    /// Their maintenance runs with the periodic sweeps.
    channels: Registry,
}

impl Senders {
    /// The senders and maintenance of the registered `channels`.
    pub fn new(channels: Registry) -> Senders {
        Senders { replies: channels.senders(), sign_in_links: channels.sign_in_link_sender(), channels }
    }
}

/// Sets up apalis' tables in the database at `database_url` and starts the workers in the
/// background; `senders` deliver replies and sign-in links.
pub async fn start(desk: Desk, database_url: &str, config: JobsConfig, senders: Senders) -> anyhow::Result<Jobs> {
    let config = JobsConfig { tick_secs: config.tick_secs.max(1), ..config };
    let queues = if database_url.starts_with("sqlite:") {
        // A pool of its own: the desk's single writer connection stays free for requests, and
        // the busy timeout covers the moments both write.
        let opts = SqliteConnectOptions::from_str(database_url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(opts).await?;
        let mut migrations = SqliteStorage::<()>::migrations();
        migrations.dangerous_set_table_name(SQLITE_MIGRATIONS_TABLE);
        migrations.run(&pool).await?;
        let cfg = |queue: &str| {
            SqliteConfig::default().queue(queue).heartbeat_interval(Duration::from_secs(10)).batch_size(10)
        };
        Queues::Sqlite {
            ticks: SqliteStorage::new(&pool).with_config(cfg(TICK_QUEUE)),
            deliveries: SqliteStorage::new(&pool).with_config(cfg(DELIVERY_QUEUE)),
            pool,
        }
    } else {
        // A running tick keeps one connection for its turn (see `tick_turn`) while it queues
        // deliveries through the others.
        let pool = PgPoolOptions::new().max_connections(6).connect(database_url).await?;
        PostgresStorage::<()>::setup(&pool).await?;
        let cfg = |queue: &str| {
            PgConfig::default()
                .queue(queue)
                .heartbeat_interval(Duration::from_secs(10))
                .missed_heartbeats(3)
                .batch_size(10)
        };
        Queues::Postgres {
            ticks: PostgresStorage::new(&pool).with_config(cfg(TICK_QUEUE)),
            deliveries: PostgresStorage::new(&pool).with_config(cfg(DELIVERY_QUEUE)),
            pool,
        }
    };
    queues.push_tick(next_slot(0, config.tick_secs), 0).await?;
    let client = DeliveryClient::new(config.request_timeout, desk.outbound().clone(), &config.proxy)?;
    let poll = config.poll_interval;
    let ctx = Arc::new(Context { desk, queues: queues.clone(), config, client, senders });
    let monitor = Monitor::new()
        .should_restart(|w, e| {
            tracing::error!(worker = %w.name(), error = %e, "job worker stopped");
            false
        })
        .shutdown_timeout(Duration::from_secs(10));
    // The same two workers on either backend; only the storage types (and PostgreSQL's
    // LISTEN/NOTIFY wake-up for deliveries) differ, hence a macro rather than a generic function.
    macro_rules! workers {
        ($ticks:expr, $deliveries:expr) => {{
            let (c, d) = (ctx.clone(), ctx.clone());
            let (ticks, deliveries) = ($ticks, $deliveries);
            monitor
                .register(move |_| {
                    // One tick at a time here; across replicas `tick_turn` takes over.
                    WorkerBuilder::new(worker_name("tick"))
                        .backend(ticks.clone())
                        .data(c.clone())
                        .concurrency(1)
                        .build(run_tick)
                })
                .register(move |_| {
                    WorkerBuilder::new(worker_name("delivery"))
                        .backend(deliveries.clone())
                        .data(d.clone())
                        .concurrency(4)
                        .build(run_delivery)
                })
        }};
    }
    let monitor = match queues {
        Queues::Sqlite { ticks, deliveries, .. } => {
            workers!(
                ticks.poll_with_strategy(EveryPeriod::new(poll)),
                deliveries.poll_with_strategy(EveryPeriod::new(poll))
            )
        }
        Queues::Postgres { ticks, deliveries, .. } => {
            workers!(
                ticks.poll_with_strategy(EveryPeriod::new(poll)),
                deliveries.with_pubsub().poll_with_strategy(EveryPeriod::new(poll))
            )
        }
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let signal = async move {
            let _ = stopped.await;
            Ok(())
        };
        if let Err(e) = monitor.run_with_signal(signal).await {
            tracing::error!(error = %e, "job runner stopped");
        }
    });
    Ok(Jobs { stop: Some(stop), task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_run_when_the_tick_chain_crosses_a_period_boundary() {
        let tick = |prev, slot| Tick { slot, prev };
        assert!(crossed(&tick(0, 1_000_007), 30), "the first tick after a start sweeps");
        assert!(!crossed(&tick(1_000_007, 1_000_008), 30));
        assert!(crossed(&tick(1_000_019, 1_000_020), 30), "1_000_020 is a multiple of 30");
        // A late tick that skipped the boundary's own slot still crosses it, once.
        assert!(crossed(&tick(1_000_018, 1_000_023), 30));
        assert!(!crossed(&tick(1_000_023, 1_000_024), 30));
    }
}
