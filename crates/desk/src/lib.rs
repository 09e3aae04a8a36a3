//! The desk: every helpdesk use case, as one operation each.
//!
//! GraphQL resolvers, channel adapters and jobs all come through here with an [`Actor`]. Each
//! operation checks the actor's permissions, runs in one transaction, and writes the ticket's
//! history rows, domain events and outbox rows in that same transaction. Live subscribers are
//! told after the commit.

mod admin;
mod auth;
mod blobs;
pub mod egress;
mod email;
mod error;
mod follow_ups;
mod live;
mod ops;
mod outbox;
mod sealed;
mod sign_in_links;
mod support;
mod tickets;
mod whatsapp;

use std::sync::Arc;

pub use admin::*;
pub use auth::{
    AuthConfig, LoginResult, MAX_CLIENT_SIGN_IN_FAILURES, MAX_SIGN_IN_FAILURES, PasswordState,
    SIGN_IN_ACCOUNTS_CHECKED, SIGN_IN_FAILURE_WINDOW_MS, WorkspaceChoice, hash_password,
};
pub use blobs::{BlobStore, S3Settings};
pub use email::*;
pub use error::DeskError;
pub use follow_ups::{AfterCloseReport, AfterCloseSettings, ManagerAlertSettings, TrendDay};
pub use live::LiveEvent;
pub use outbox::*;
pub use sign_in_links::*;
pub use support::*;
pub use switchboard_domain as domain;
pub use switchboard_store as store;
pub use tickets::*;
pub use whatsapp::*;

use switchboard_domain::{Actor, Millis, Permission};
use switchboard_store::Store;
use tokio::sync::broadcast;

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
    live: broadcast::Sender<LiveEvent>,
    /// The operator's outbound policy, for every connection to a host a tenant typed.
    outbound: egress::OutboundGuard,
}

impl Desk {
    /// Wires the desk to its storage, clock, blob store and token keys.
    pub fn new(store: Store, clock: Arc<dyn Clock>, blobs: BlobStore, auth: AuthConfig) -> Desk {
        Self::build(store, clock, blobs, auth, egress::OutboundGuard::default())
    }

    fn build(
        store: Store,
        clock: Arc<dyn Clock>,
        blobs: BlobStore,
        auth: AuthConfig,
        outbound: egress::OutboundGuard,
    ) -> Desk {
        let (live, _) = broadcast::channel(1024);
        Desk { inner: Arc::new(Inner { store, clock, blobs, auth, live, outbound }) }
    }

    /// The same desk, applying `outbound` to every connection to a host a tenant typed.
    pub fn with_outbound(&self, outbound: egress::OutboundGuard) -> Desk {
        let i = &self.inner;
        Self::build(i.store.clone(), i.clock.clone(), i.blobs.clone(), i.auth.clone(), outbound)
    }

    /// The outbound guard: the operator's policy for hosts tenants typed, and its resolver.
    pub fn outbound(&self) -> &egress::OutboundGuard {
        &self.inner.outbound
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
        Self::build(i.store.clone(), clock, i.blobs.clone(), i.auth.clone(), i.outbound.clone())
    }

    /// The blob store holding attachment bytes.
    pub fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> Millis {
        self.inner.clock.now()
    }

    /// Subscribes to changes committed from now on, across workspaces; callers filter by theirs.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.inner.live.subscribe()
    }

    pub(crate) fn publish(&self, events: Vec<LiveEvent>) {
        for e in events {
            // No subscribers is fine: nobody is watching.
            let _ = self.inner.live.send(e);
        }
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
