//! The acknowledgement a new email ticket gets: its per-sender limit, the pruning of old
//! records, and a template that cannot be rendered. Moved from the desk's support tests with the
//! email code; SQLite, or PostgreSQL with TEST_POSTGRES_URL.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use switchboard_desk::domain::*;
use switchboard_desk::store::{IdentityKind, Store};
use switchboard_desk::*;
use switchboard_email::EmailDesk;

struct Env {
    desk: Desk,
    clock: Arc<ManualClock>,
    admin: Actor,
    store: Store,
    _dir: tempfile::TempDir,
}

fn ms(s: &str) -> Millis {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

async fn env(now: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::connect(&switchboard_testkit::fresh_database_url(dir.path(), "ack").await.unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::at(ms(now)));
    let auth = AuthConfig { jwt_secret: b"test secret for the desk".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store.clone(), clock.clone(), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    Env { desk, clock, admin: Actor::system(ws.id), store, _dir: dir }
}

fn email_from(sender: &str, id: &str, text: &str) -> InboundMessage {
    InboundMessage {
        channel: Channel::Email,
        thread_key: None,
        ticket_id: None,
        external_message_id: id.into(),
        sender_kind: IdentityKind::Email,
        sender_value: sender.into(),
        sender_name: Some("Robin".into()),
        subject: Some("Printer on fire".into()),
        text: text.into(),
        attachments: Vec::new(),
    }
}

/// 1,200 nested subexpressions in about 7 KB: within the length limit, and deep enough to
/// overflow a runtime worker's stack in handlebars before nesting was capped.
fn deep_template() -> String {
    format!("{{{{#if {}ticket.queue{}}}}}x{{{{/if}}}}", "(not ".repeat(1_200), ")".repeat(1_200))
}

#[tokio::test]
async fn acknowledgement_limits_count_a_window_and_old_records_are_pruned() {
    let e = env("2026-03-02T10:00:00Z").await;
    let ws = e.admin.workspace_id;
    let hour = 3_600_000;
    let mut acked = Vec::new();
    for n in 0..3 {
        let t = e.desk.ingest(&e.admin, email_from("robin@example.com", &format!("<m{n}@x>"), "Help")).await.unwrap();
        acked.push(e.desk.acknowledge_email_ticket(ws, t.ticket_id, None, 2, hour).await.unwrap());
    }
    assert_eq!(acked, [true, true, false], "two per sender per hour");
    // The sweep keeps what still counts...
    assert_eq!(e.desk.prune_email_acknowledgements().await.unwrap(), 0);
    // ... and deletes it once no window reaches back that far; the sender is acknowledged again.
    e.clock.set(ms("2026-03-03T10:00:01Z"));
    assert_eq!(e.desk.prune_email_acknowledgements().await.unwrap(), 2);
    let t = e.desk.ingest(&e.admin, email_from("robin@example.com", "<m9@x>", "Help")).await.unwrap();
    assert!(e.desk.acknowledge_email_ticket(ws, t.ticket_id, None, 2, hour).await.unwrap());
}

#[tokio::test]
async fn an_acknowledgement_whose_template_cannot_be_rendered_is_skipped_and_the_ticket_stays() {
    let e = env("2026-03-02T10:00:00Z").await;
    let ws = e.admin.workspace_id;
    let t = e.desk.ingest(&e.admin, email_from("robin@example.com", "<d1@x>", "Help")).await.unwrap();
    // Acknowledgements render through the canned responses' path; one that cannot be rendered
    // is skipped (and logged), since it must never keep the customer's ticket out.
    let queued = e.desk.acknowledge_email_ticket(ws, t.ticket_id, Some(&deep_template()), 5, 60_000).await.unwrap();
    assert!(!queued, "no acknowledgement from a template that cannot be rendered");
    let mut tx = e.store.read().await.unwrap();
    assert_eq!(tx.ticket_by_id(ws, t.ticket_id).await.unwrap().map(|t| t.id), Some(t.ticket_id));
}
