//! The desk: every helpdesk use case, as one operation each.
//!
//! GraphQL resolvers, channel adapters and jobs all come through here with an [`Actor`]. Each
//! operation checks the actor's permissions, runs in one transaction, and writes the ticket's
//! history rows, domain events and outbox rows in that same transaction. Live subscribers are
//! told after the commit.

mod admin;
mod answer_bot;
mod auth;
mod background_jobs;
mod blobs;
mod channel_accounts;
mod channel_identities;
pub mod channel_kit;
mod channel_lookups;
mod channel_messages;
mod channel_requesters;
pub mod egress;
mod error;
mod help_center;
mod knowledge;
mod knowledge_sources;
mod knowledge_text;
mod leases;
mod live;
mod outbox;
mod retry;
mod sealed;
mod search;
mod sign_in_links;
mod support;
mod tickets;

use std::sync::Arc;

pub use admin::*;
pub use answer_bot::*;
pub use auth::{
    AuthConfig, LoginResult, MAX_CLIENT_SIGN_IN_FAILURES, MAX_SIGN_IN_FAILURES, PasswordState,
    SIGN_IN_ACCOUNTS_CHECKED, SIGN_IN_FAILURE_WINDOW_MS, WorkspaceChoice, hash_password,
};
pub use background_jobs::*;
pub use blobs::{BlobStore, S3Settings};
pub use channel_accounts::{CHANNEL_LINK_CODE_TTL_MS, ChannelAccountSave, ChannelLinkCode, OpenChannelTicket};
pub use channel_messages::{ChannelStaffMessage, transcript_key};
pub use error::DeskError;
pub use help_center::*;
pub use knowledge::*;
pub use knowledge_sources::*;
pub use knowledge_text::{LineChange, compare_lines};
pub use live::{LiveEvent, LiveFanOut, LiveUpdate};
pub use outbox::*;
pub use search::{RebuildSummary, SEARCH_WINDOW};
pub use sign_in_links::*;
pub use support::*;
pub use switchboard_domain as domain;
pub use switchboard_search as search_layer;
pub use switchboard_store as store;
pub use tickets::*;

use switchboard_domain::{Actor, Millis, Permission};
use switchboard_store::Store;
use tokio::sync::broadcast;

use crate::live::LiveBus;
// The follow-ups live with the other support features; the channels reach their templates here.
use crate::support::follow_ups;

/// Where time comes from; tests inject their own so they move time instead of sleeping.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in milliseconds since the Unix epoch.
    fn now(&self) -> Millis;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        chrono::Utc::now().timestamp_millis()
    }
}

/// The application layer: cheap to clone, shared by every transport.
#[derive(Clone, Debug)]
pub struct Desk {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    blobs: BlobStore,
    auth: AuthConfig,
    /// Shared by every copy made with `with_clock` / `with_outbound`, so none forks the bus.
    live: Arc<LiveBus>,
    /// Names this process as the holder of the leases it takes (see `leases.rs`).
    holder: Arc<str>,
    /// The operator's outbound policy, for every connection to a host a tenant typed.
    outbound: egress::OutboundGuard,
    /// The channels with a registered reply sender; unset, every channel is taken to have one.
    /// Shared by the desks built from this one, like the store.
    reply_channels: Arc<std::sync::OnceLock<Vec<switchboard_domain::Channel>>>,
    /// The search engine (see `search.rs`), shared by the desks built from this one.
    search: Arc<search::SearchSlot>,
    /// Time limit of a knowledge source's fetch.
    knowledge_fetch: knowledge_sources::KnowledgeFetchSettings,
    /// The client knowledge syncs fetch with, built on first use with this desk's guard.
    knowledge_client: std::sync::OnceLock<reqwest::Client>,
}

/// What every desk made from one (`with_clock`, `with_outbound`) shares with it: the live bus,
/// the lease holder name, and the channels with a reply sender.
type Shared =
    (Arc<LiveBus>, Arc<str>, Arc<std::sync::OnceLock<Vec<switchboard_domain::Channel>>>, Arc<search::SearchSlot>);

impl Desk {
    /// Wires the desk to its storage, clock, blob store and token keys.
    pub fn new(store: Store, clock: Arc<dyn Clock>, blobs: BlobStore, auth: AuthConfig) -> Desk {
        let shared = (LiveBus::new(), leases::new_holder(), Arc::default(), Arc::default());
        let fetch = knowledge_sources::KnowledgeFetchSettings::default();
        Self::build(store, clock, blobs, auth, egress::OutboundGuard::default(), fetch, shared)
    }

    fn build(
        store: Store,
        clock: Arc<dyn Clock>,
        blobs: BlobStore,
        auth: AuthConfig,
        outbound: egress::OutboundGuard,
        knowledge_fetch: knowledge_sources::KnowledgeFetchSettings,
        (live, holder, reply_channels, search): Shared,
    ) -> Desk {
        let knowledge_client = std::sync::OnceLock::new();
        let inner = Inner {
            store,
            clock,
            blobs,
            auth,
            live,
            holder,
            outbound,
            reply_channels,
            search,
            knowledge_fetch,
            knowledge_client,
        };
        Desk { inner: Arc::new(inner) }
    }

    fn shared(&self) -> Shared {
        let i = &self.inner;
        (i.live.clone(), i.holder.clone(), i.reply_channels.clone(), i.search.clone())
    }

    /// The same desk, applying `outbound` to every connection to a host a tenant typed.
    pub fn with_outbound(&self, outbound: egress::OutboundGuard) -> Desk {
        let i = &self.inner;
        let fetch = i.knowledge_fetch;
        Self::build(i.store.clone(), i.clock.clone(), i.blobs.clone(), i.auth.clone(), outbound, fetch, self.shared())
    }

    /// The same desk, fetching knowledge sources with `settings`.
    pub fn with_knowledge_fetch(&self, settings: knowledge_sources::KnowledgeFetchSettings) -> Desk {
        let i = &self.inner;
        let (store, clock, outbound) = (i.store.clone(), i.clock.clone(), i.outbound.clone());
        Self::build(store, clock, i.blobs.clone(), i.auth.clone(), outbound, settings, self.shared())
    }

    /// The outbound guard: the operator's policy for hosts tenants typed, and its resolver.
    pub fn outbound(&self) -> &egress::OutboundGuard {
        &self.inner.outbound
    }

    pub(crate) fn reply_channels(&self) -> &std::sync::OnceLock<Vec<switchboard_domain::Channel>> {
        &self.inner.reply_channels
    }

    pub(crate) fn jwt_secret(&self) -> &[u8] {
        &self.inner.auth.jwt_secret
    }

    /// The underlying store (for readiness checks and maintenance commands).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The same desk (store, blobs, keys) reading time from `clock` instead.
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Desk {
        let i = &self.inner;
        let (outbound, fetch) = (i.outbound.clone(), i.knowledge_fetch);
        Self::build(i.store.clone(), clock, i.blobs.clone(), i.auth.clone(), outbound, fetch, self.shared())
    }

    /// The blob store holding attachment bytes.
    pub fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> Millis {
        self.inner.clock.now()
    }

    /// Subscribes to changes committed from now on, across workspaces (and, with
    /// [`Desk::fan_out_live`], across replicas); callers filter by theirs.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveUpdate> {
        self.inner.live.subscribe()
    }

    pub(crate) fn publish(&self, events: Vec<LiveEvent>) {
        if !events.is_empty() {
            self.inner.search.wake.notify_one();
        }
        self.inner.live.publish(events);
    }
}

/// Refuses the call unless the actor holds `perm`.
pub(crate) fn require(actor: &Actor, perm: Permission) -> Result<(), DeskError> {
    if actor.can(perm) {
        Ok(())
    } else {
        Err(DeskError::Forbidden(format!("this needs the {} permission", perm.key())))
    }
}

/// A clock that only moves when told to: for tests, and for loading historical demo data.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    /// A clock standing at `now`.
    pub fn at(now: Millis) -> ManualClock {
        ManualClock(std::sync::atomic::AtomicI64::new(now))
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: Millis) {
        self.0.store(now, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
