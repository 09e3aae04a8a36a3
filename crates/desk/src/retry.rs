//! Reruns a write that PostgreSQL aborted so that a concurrent one could finish.
//!
//! Changes that lock several tickets take them in ascending id order ([`Tx::lock_tickets`]), but a
//! ticket change also takes rows after its ticket (its queue's rotation when a rule assigns it,
//! the settings an admin saves), and no single order covers every mix: the SLA breach scan holds a
//! queue's rotation for one ticket's automation while a routing change holds a later ticket and
//! wants that rotation. PostgreSQL breaks such a cycle by aborting one side (SQLSTATE 40P01), and a
//! write under REPEATABLE READ or SERIALIZABLE can fail the same way (40001). Nothing the aborted
//! transaction wrote stands, so the remedy is to run the whole operation again from its first
//! read: here, in one place, for every operation that goes through [`retrying`] or
//! [`retry_on_conflict`]. SQLite runs one write at a time and never gets there.
//!
//! [`Tx::lock_tickets`]: switchboard_store::Tx::lock_tickets

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::DeskError;

/// Runs of one operation at most, the first included, before [`DeskError::Busy`] reaches the caller.
pub(crate) const MAX_RUNS: u32 = 5;

/// Runs of one operation at most when it lost a race on a unique index.
const MAX_CONFLICT_RUNS: u32 = 4;

/// Runs `op` (a whole transaction: begin, work, commit) again when the database aborted it to
/// break a deadlock or a serialization conflict, up to [`MAX_RUNS`] runs with a short random wait
/// between them. Every other outcome is returned as it is.
pub(crate) async fn retrying<T, F, Fut>(op: F) -> Result<T, DeskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DeskError>>,
{
    run(op, false).await
}

/// Like [`retrying`], and also runs `op` again when it lost a race on a unique index (two first
/// messages from the same new sender, two deliveries of one message). The loser's transaction is
/// void (PostgreSQL aborts it), so the whole operation reruns and then finds the winner's
/// contact, ticket or entry.
pub(crate) async fn retry_on_conflict<T, F, Fut>(op: F) -> Result<T, DeskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DeskError>>,
{
    run(op, true).await
}

async fn run<T, F, Fut>(mut op: F, conflicts: bool) -> Result<T, DeskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DeskError>>,
{
    let mut runs = 0;
    loop {
        runs += 1;
        match op().await {
            Err(DeskError::Busy(cause)) if runs < MAX_RUNS => {
                tracing::debug!(runs, %cause, "the database aborted a change to let another through; running it again");
                tokio::time::sleep(backoff(runs)).await;
            }
            Err(DeskError::Conflict(_)) if conflicts && runs < MAX_CONFLICT_RUNS => {}
            Err(DeskError::Busy(cause)) => {
                tracing::warn!(runs, %cause, "a change was aborted by the database on every run; giving up");
                return Err(DeskError::Busy(cause));
            }
            other => return other,
        }
    }
}

/// A random wait before run `runs + 1`, its ceiling doubling from 10 ms: several changes aborted
/// together (a burst on one queue) spread out instead of meeting again in step.
fn backoff(runs: u32) -> Duration {
    let ceiling_ms = 5u64 << runs.min(6);
    Duration::from_millis(rand::thread_rng().gen_range(1..=ceiling_ms))
}
