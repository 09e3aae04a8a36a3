//! Leases on background work that several replicas could otherwise do at once: watching one
//! channel account for new messages, processing one stored webhook notification. A lease names its holder (this
//! process) and runs out unless renewed, so a replica that dies hands its work on after the lease's
//! time; one that lives renews before then.

use std::sync::Arc;
use std::time::Duration;

use crate::{Desk, DeskError};

/// A name for this process that no other replica shares: host, process id and a random part (a
/// restarted process with a recycled id must not inherit its predecessor's leases).
pub(crate) fn new_holder() -> Arc<str> {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    format!("{host}:{}:{:08x}", std::process::id(), rand::random::<u32>()).into()
}

impl Desk {
    /// Takes the lease `name` for this process for `ttl`, or renews it when this process has it;
    /// false while another process holds it.
    pub async fn take_lease(&self, name: &str, ttl: Duration) -> Result<bool, DeskError> {
        let now = self.now();
        let until = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2));
        let mut tx = self.store().write().await?;
        let taken = tx.take_lease(name, &self.inner.holder, now, until).await?;
        tx.commit().await?;
        Ok(taken)
    }

    /// Gives the lease `name` back (when this process still holds it), so another may take it now.
    pub async fn release_lease(&self, name: &str) -> Result<(), DeskError> {
        let mut tx = self.store().write().await?;
        tx.release_lease(name, &self.inner.holder).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets leases that ran out over an hour ago; for the job runner's sweep.
    pub async fn prune_leases(&self) -> Result<u64, DeskError> {
        let mut tx = self.store().write().await?;
        let n = tx.prune_leases(self.now() - 3_600_000).await?;
        tx.commit().await?;
        Ok(n)
    }
}
