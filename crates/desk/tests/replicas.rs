//! Two desks on one database, as two replicas are: leases keep a piece of background work to one
//! of them at a time, and on PostgreSQL live events reach the other's subscribers, with a resync
//! when the connection listening for them was lost. SQLite by default; with `TEST_POSTGRES_URL`
//! each test gets a fresh PostgreSQL database.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use switchboard_desk::domain::*;
use switchboard_desk::store::{Store, TicketRecord};
use switchboard_desk::*;

const T0: Millis = 4_000_000_000_000;

struct Replicas {
    a: Desk,
    b: Desk,
    clock: Arc<ManualClock>,
    url: String,
    _dir: tempfile::TempDir,
}

/// Two desks with pools of their own on one fresh database, reading one clock.
async fn replicas(label: &str) -> Replicas {
    let dir = tempfile::tempdir().unwrap();
    let url = switchboard_testkit::fresh_database_url(dir.path(), label).await.unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let desk = |store: Store| {
        let auth = AuthConfig { jwt_secret: b"test secret shared by the replicas".to_vec(), token_ttl_secs: 3600 };
        Desk::new(store, clock.clone(), BlobStore::new(dir.path().join("blobs")), auth)
    };
    let store_a = Store::connect(&url).await.unwrap();
    store_a.migrate().await.unwrap();
    let a = desk(store_a);
    let b = desk(Store::connect(&url).await.unwrap());
    Replicas { a, b, clock, url, _dir: dir }
}

#[tokio::test]
async fn a_lease_is_held_by_one_replica_until_released_or_run_out() {
    let r = replicas("leases").await;
    let minute = Duration::from_secs(60);
    assert!(r.a.take_lease("email.imap.1", minute).await.unwrap());
    assert!(!r.b.take_lease("email.imap.1", minute).await.unwrap(), "A holds it");
    assert!(r.b.take_lease("email.imap.2", minute).await.unwrap(), "another mailbox is free");
    r.clock.set(T0 + 50_000);
    assert!(r.a.take_lease("email.imap.1", minute).await.unwrap(), "the holder renews");
    r.clock.set(T0 + 100_000);
    assert!(!r.b.take_lease("email.imap.1", minute).await.unwrap(), "renewed: still A's");
    // A stops renewing (it died): once the lease runs out B takes over, and A cannot come back.
    r.clock.set(T0 + 111_000);
    assert!(r.b.take_lease("email.imap.1", minute).await.unwrap());
    assert!(!r.a.take_lease("email.imap.1", minute).await.unwrap());
    // Released, it is free at once; releasing another's lease does nothing.
    r.a.release_lease("email.imap.1").await.unwrap();
    assert!(!r.a.take_lease("email.imap.1", minute).await.unwrap());
    r.b.release_lease("email.imap.1").await.unwrap();
    assert!(r.a.take_lease("email.imap.1", minute).await.unwrap());

    // Many asking at once: one replica wins (its own tasks only renew).
    let mut tasks = Vec::new();
    for i in 0..16 {
        let desk = if i % 2 == 0 { r.a.clone() } else { r.b.clone() };
        tasks.push(tokio::spawn(async move { (i % 2, desk.take_lease("whatsapp.inbox.7", minute).await.unwrap()) }));
    }
    let mut winners = std::collections::BTreeSet::new();
    for t in tasks {
        let (replica, won) = t.await.unwrap();
        if won {
            winners.insert(replica);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one replica holds it: {winners:?}");

    // Leases that ran out long ago are forgotten.
    r.clock.set(T0 + 3 * 3_600_000);
    assert_eq!(r.a.prune_leases().await.unwrap(), 3);
}

async fn next(rx: &mut tokio::sync::broadcast::Receiver<LiveUpdate>) -> Option<LiveUpdate> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.ok().map(|r| r.unwrap())
}

async fn open(desk: &Desk, ws: WorkspaceId, subject: &str) -> TicketRecord {
    let input = OpenTicket {
        subject: subject.into(),
        description: None,
        requester: RequesterRef::Email { email: "carla@example.com".into(), name: None },
        priority: None,
        source: None,
        queue_id: None,
        help_topic_id: None,
        assignee_id: None,
        tags: vec![],
        resolution_due_at: None,
        attachments: vec![],
    };
    desk.open_ticket(&Actor::system(ws), input).await.unwrap()
}

#[tokio::test]
async fn live_events_reach_the_other_replica_and_a_lost_listener_resyncs() {
    let r = replicas("live").await;
    let Some(_fan_a) = r.a.fan_out_live().await.unwrap() else {
        // SQLite: one process, and the in-process broadcast is all there is.
        assert!(r.url.starts_with("sqlite:"), "fan-out runs on PostgreSQL");
        let mut rx = r.a.subscribe();
        let ws = r.a.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
        let t = open(&r.a, ws.id, "Printer offline").await;
        assert!(matches!(next(&mut rx).await, Some(LiveUpdate::Event(e)) if e.ticket_id == t.id));
        return;
    };
    let _fan_b = r.b.fan_out_live().await.unwrap().unwrap();
    assert!(r.a.fan_out_live().await.unwrap().is_none(), "one fan-out per process");
    let ws = r.a.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let (mut on_a, mut on_b) = (r.a.subscribe(), r.b.subscribe());

    let t = open(&r.a, ws.id, "Printer offline").await;
    for rx in [&mut on_b, &mut on_a] {
        match next(rx).await {
            Some(LiveUpdate::Event(e)) => {
                assert_eq!((e.kind.as_ref(), e.ticket_id, e.workspace_id), ("ticket.opened", t.id, ws.id));
                assert_eq!(e.ticket_number, t.display_number());
            }
            other => panic!("expected the opened ticket, got {other:?}"),
        }
    }
    // A's own subscriber hears it once, through the database, not also in-process.
    assert!(tokio::time::timeout(Duration::from_millis(500), on_a.recv()).await.is_err());

    // The connections listening for other replicas' events are cut (a network blip, a restart
    // of PostgreSQL): what was sent meanwhile is lost, so subscribers are told to reload.
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&r.url).await.unwrap();
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(cut, [true, true], "both replicas' listeners");
    assert!(matches!(next(&mut on_b).await, Some(LiveUpdate::Resync)), "B's subscribers reload");
    assert!(matches!(next(&mut on_a).await, Some(LiveUpdate::Resync)), "A's too");
    // And events flow again once the listeners are back.
    let t2 = open(&r.b, ws.id, "Scanner jammed").await;
    assert!(matches!(next(&mut on_a).await, Some(LiveUpdate::Event(e)) if e.ticket_id == t2.id));
    assert!(matches!(next(&mut on_b).await, Some(LiveUpdate::Event(e)) if e.ticket_id == t2.id));
}
