//! Live updates: committed changes pushed to subscribers (GraphQL subscriptions, the web UI).
//!
//! Within one process a broadcast channel carries them. On PostgreSQL several replicas may share
//! the database, and a subscriber connected to one must see changes made through another, so once
//! [`Desk::fan_out_live`] runs every change goes out through the database (LISTEN/NOTIFY) and each
//! process, this one included, broadcasts what it hears to its own subscribers. NOTIFY is not
//! durable: whatever a listener may have missed (its connection dropped, or a NOTIFY failed) is
//! answered with [`LiveUpdate::Resync`], so a subscriber reloads instead of silently missing it.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use switchboard_domain::{ContactId, EntryId, TicketId, WorkspaceId};
use switchboard_store::Heard;
use tokio::sync::{broadcast, mpsc};

use crate::{Desk, DeskError};

/// A committed change, pushed to live subscribers (GraphQL subscriptions, the web UI).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LiveEvent {
    /// The workspace it happened in; subscribers only see their own.
    pub workspace_id: WorkspaceId,
    /// `ticket.opened`, `ticket.updated`, `entry.created`, `ticket.closed`, `ticket.reopened`.
    pub kind: Cow<'static, str>,
    /// The ticket it concerns.
    pub ticket_id: TicketId,
    /// The ticket's number as shown, e.g. `SD-00012`.
    pub ticket_number: String,
    /// The ticket's requester, so customer subscriptions can be filtered.
    pub requester_id: ContactId,
    /// The new entry, for `entry.created`.
    pub entry_id: Option<EntryId>,
    /// True when the change is staff-only (an internal note).
    pub internal: bool,
}

/// What a live subscriber receives.
#[derive(Debug, Clone)]
pub enum LiveUpdate {
    /// A committed change.
    Event(LiveEvent),
    /// Changes may have been missed (the link between replicas broke): reload what is shown.
    Resync,
}

/// The PostgreSQL notification channel live events travel on between replicas.
const CHANNEL: &str = "switchboard_live";
/// Events sent in one NOTIFY statement at most; a burst goes out in a few round trips, not one each.
const BATCH: usize = 200;

/// The process's live-event bus, shared by every copy of the desk (`with_clock`, `with_outbound`).
#[derive(Debug)]
pub(crate) struct LiveBus {
    local: broadcast::Sender<LiveUpdate>,
    /// Set once fan-out between processes runs: events then go to the database, and come back to
    /// `local` through this process's listener like everyone else's.
    outgoing: OnceLock<mpsc::UnboundedSender<LiveEvent>>,
}

impl LiveBus {
    pub(crate) fn new() -> Arc<LiveBus> {
        let (local, _) = broadcast::channel(1024);
        Arc::new(LiveBus { local, outgoing: OnceLock::new() })
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<LiveUpdate> {
        self.local.subscribe()
    }

    pub(crate) fn publish(&self, events: Vec<LiveEvent>) {
        for e in events {
            let e = match self.outgoing.get() {
                // Only fails once the sender task is gone (shutdown); then deliver here at least.
                Some(out) => match out.send(e) {
                    Ok(()) => continue,
                    Err(mpsc::error::SendError(e)) => e,
                },
                None => e,
            };
            // No subscribers is fine: nobody is watching.
            let _ = self.local.send(LiveUpdate::Event(e));
        }
    }

    fn resync(&self) {
        let _ = self.local.send(LiveUpdate::Resync);
    }
}

/// The tasks that carry live events between replicas; dropping this stops them.
#[derive(Debug)]
pub struct LiveFanOut {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for LiveFanOut {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Desk {
    /// On PostgreSQL, sends live events between every process serving this database, so a
    /// subscriber connected to any replica sees changes made through any other. `None` on
    /// SQLite (one process; the in-process broadcast suffices) or when already running.
    pub async fn fan_out_live(&self) -> Result<Option<LiveFanOut>, DeskError> {
        let store = self.store().clone();
        let Some(mut listener) = store.listen(CHANNEL).await? else { return Ok(None) };
        let bus = self.inner.live.clone();
        let (tx, mut rx) = mpsc::unbounded_channel::<LiveEvent>();
        if bus.outgoing.set(tx).is_err() {
            return Ok(None);
        }
        let heard = {
            let bus = bus.clone();
            tokio::spawn(async move {
                let mut down = false;
                loop {
                    match listener.next().await {
                        Ok(Heard::Payload(p)) => {
                            down = false;
                            match serde_json::from_str::<LiveEvent>(&p) {
                                Ok(e) => {
                                    let _ = bus.local.send(LiveUpdate::Event(e));
                                }
                                Err(e) => tracing::warn!(error = %e, "an unreadable live event was ignored"),
                            }
                        }
                        Ok(Heard::Gap) => {
                            tracing::warn!("the live-event listener reconnected; subscribers reload");
                            bus.resync();
                        }
                        Err(e) => {
                            if !down {
                                tracing::warn!(error = %e, "the live-event listener lost the database; retrying");
                                bus.resync();
                                down = true;
                            }
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            })
        };
        let sent = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                let payloads: Vec<String> = batch.drain(..).filter_map(|e| serde_json::to_string(&e).ok()).collect();
                let mut tries = 0;
                while let Err(e) = store.notify(CHANNEL, &payloads).await {
                    tries += 1;
                    if tries == 3 {
                        // Every replica may have missed these: this one's subscribers at least
                        // reload (the others' listeners see the same outage and resync too).
                        tracing::warn!(error = %e, events = payloads.len(), "live events could not be sent");
                        bus.resync();
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        });
        Ok(Some(LiveFanOut { tasks: vec![heard, sent] }))
    }
}
