//! What the desk suites share: a desk on a fresh database (SQLite by default; with
//! `TEST_POSTGRES_URL`, a fresh PostgreSQL database per test) with one workspace, and a ticket to
//! open in it.

// Each suite uses its own part of this module.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use switchboard_desk::domain::*;
use switchboard_desk::store::Store;
use switchboard_desk::*;

/// A desk on its own database, with the workspace `acme` and its system actor.
pub struct Env {
    pub desk: Desk,
    pub admin: Actor,
    pub store: Store,
    /// The database's URL, for looking at it from the side (PostgreSQL's lock waits).
    pub url: String,
    _dir: tempfile::TempDir,
}

/// A fresh database named after `label`, migrated, with the clock standing at `now` (ms).
pub async fn env(label: &str, now: Millis) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = switchboard_testkit::fresh_database_url(dir.path(), label).await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::at(now));
    let auth = AuthConfig { jwt_secret: b"test secret for the desk".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store.clone(), clock, BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    Env { desk, admin: Actor::system(ws.id), store, url, _dir: dir }
}

/// A ticket from `requester` about `subject`, in the default queue unless `queue` is given.
pub fn opening(subject: &str, requester: &str, queue: Option<QueueId>) -> OpenTicket {
    OpenTicket {
        subject: subject.into(),
        description: Some(format!("About: {subject}")),
        requester: RequesterRef::Email { email: requester.into(), name: None },
        priority: Some(Priority::Normal),
        source: Some(Source::Portal),
        queue_id: queue,
        help_topic_id: None,
        assignee_id: None,
        tags: Vec::new(),
        resolution_due_at: None,
        attachments: Vec::new(),
    }
}
