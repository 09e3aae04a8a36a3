//! Ticket numbers under concurrent creates, and the ticket list's capped total, through the desk
//! on a real database. SQLite by default; with `TEST_POSTGRES_URL` (a server URL without a
//! database, e.g. `postgres://postgres@127.0.0.1:5432`) each test gets a fresh PostgreSQL database.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use switchboard_desk::domain::*;
use switchboard_desk::store::{Dialect, ImportedTicket, NewTicket, TicketRecord, TicketTotal};
use switchboard_desk::*;

mod common;
use common::*;

impl Env {
    async fn open(&self, subject: &str) -> TicketRecord {
        self.desk.open_ticket(&self.admin, opening(subject, "pat@customer.test", None)).await.unwrap()
    }

    /// Opens one ticket (for a queue and requester to use), then imports `n` open tickets
    /// numbered from `first`: High priority on every third, Low on the rest.
    async fn import(&self, first: i64, n: i64) {
        let t = self.open("Seed ticket for the ids").await;
        let rows: Vec<ImportedTicket> = (0..n)
            .map(|i| ImportedTicket {
                number: first + i,
                subject: format!("Imported {i}"),
                description: "Imported".into(),
                status: TicketStatus::Open,
                priority: if i % 3 == 0 { Priority::High } else { Priority::Low },
                source: Source::Email,
                queue_id: t.queue_id,
                requester_id: t.requester_id,
                thread_key: None,
                sla_due_at: None,
                created_at: 1_700_000_000_000 + i,
            })
            .collect();
        let mut tx = self.store.write().await.unwrap();
        tx.import_tickets(self.admin.workspace_id, &rows).await.unwrap();
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn concurrent_creates_get_unique_numbers() {
    let env = Arc::new(env("numbers", 1_750_000_000_000).await);
    let mut tasks = Vec::new();
    for client in 0..16 {
        let env = env.clone();
        tasks.push(tokio::spawn(async move {
            let mut numbers = Vec::new();
            for i in 0..15 {
                // A new requester each time on some clients, a shared one on others, so creates
                // also race to insert the same contact (a conflict that retries the create).
                let requester = format!("customer{}@example.test", (client * 15 + i) % 20);
                let t =
                    env.desk.open_ticket(&env.admin, opening(&format!("Ticket {client}/{i}"), &requester, None)).await;
                numbers.push(t.unwrap().number);
            }
            numbers
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.extend(t.await.unwrap());
    }
    assert_eq!(numbers.len(), 240);
    let distinct: HashSet<i64> = numbers.iter().copied().collect();
    assert_eq!(distinct.len(), 240, "every create got its own number");
    // And what was stored agrees: 240 tickets, 240 numbers, each shown as SD-<number>.
    let page = env.desk.list_tickets(&env.admin, &TicketFilter::default(), 100, None).await.unwrap();
    assert_eq!((page.total, page.total_capped), (240, false));
    for t in &page.tickets {
        assert!(distinct.contains(&t.number));
        assert_eq!(t.display_number(), format!("SD-{:05}", t.number));
    }
    // A later create continues after them.
    let next = env.open("After the rush").await;
    assert!(next.number > *numbers.iter().max().unwrap());
}

/// A create does not wait for another create of the same workspace to commit on PostgreSQL; on
/// SQLite, which runs one write at a time by design, it waits and the numbers stay gapless.
#[tokio::test]
async fn a_create_does_not_wait_for_another_to_commit() {
    let env = env("no_wait", 1_750_000_000_000).await;
    let first = env.open("First").await;
    // A create in flight: its ticket row written, its transaction still open.
    let mut slow = env.store.write().await.unwrap();
    let in_flight = slow
        .insert_ticket(&NewTicket {
            workspace_id: env.admin.workspace_id,
            subject: "Still being written".into(),
            status: TicketStatus::Open,
            priority: Priority::Normal,
            source: Source::Api,
            queue_id: first.queue_id,
            help_topic_id: None,
            requester_id: first.requester_id,
            assignee_id: None,
            escalated: false,
            chat_originated: false,
            thread_key: None,
            first_response_due_at: None,
            resolution_due_at: None,
            sla_due_at: None,
            sla_policy_id: None,
            channel: Channel::Api,
            created_at: 1_750_000_000_000,
            tags: Vec::new(),
        })
        .await
        .unwrap();
    if env.store.dialect() == Dialect::Sqlite {
        // SQLite has one writer, so the other create waits its turn, and the rollback leaves no
        // gap: the waiting create takes the number the rolled-back one held.
        let desk = env.desk.clone();
        let admin = env.admin.clone();
        let waiting =
            tokio::spawn(
                async move { desk.open_ticket(&admin, opening("Meanwhile", "sam@customer.test", None)).await },
            );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "SQLite runs one write at a time");
        drop(slow);
        let other = waiting.await.unwrap().unwrap();
        assert_eq!(other.number, in_flight.number, "no gap after a rollback on SQLite");
        assert_eq!(other.number, first.number + 1);
        return;
    }
    let other = tokio::time::timeout(
        Duration::from_secs(5),
        env.desk.open_ticket(&env.admin, opening("Meanwhile", "sam@customer.test", None)),
    )
    .await
    .expect("a create waited for another create's commit")
    .unwrap();
    assert_ne!(other.number, in_flight.number);
    // The slow one rolls back: its number stays unused (a gap), and nothing is reused.
    drop(slow);
    let after = env.open("After the rollback").await;
    assert!(after.number > other.number && after.number > in_flight.number);
    let numbers: Vec<i64> = env
        .desk
        .list_tickets(&env.admin, &TicketFilter::default(), 10, None)
        .await
        .unwrap()
        .tickets
        .iter()
        .map(|t| t.number)
        .collect();
    assert!(!numbers.contains(&in_flight.number), "the rolled-back ticket is not stored");
    assert_eq!(numbers.len(), 3);
}

#[tokio::test]
async fn imported_numbers_move_the_next_number_past_them() {
    let env = env("import", 1_750_000_000_000).await;
    env.import(500, 20).await;
    let t = env.open("After the import").await;
    assert_eq!(t.number, 520, "the next number follows the highest imported one");
    // An import below the numbers in use does not move the counter back.
    env.import(100, 5).await;
    let t = env.open("After a lower import").await;
    assert_eq!(t.number, 522);
}

#[tokio::test]
async fn a_large_total_is_counted_up_to_the_cap() {
    let env = env("capped", 1_750_000_000_000).await;
    let n = TILE_CAP + 30;
    env.import(1000, n).await;
    // The ticket `import` opened first, and the imported ones.
    let total = n + 1;
    // Every open ticket: SQLite's counters know the exact figure; PostgreSQL counts to the cap.
    let open = TicketFilter { statuses: vec![TicketStatus::Open], ..Default::default() };
    let page = env.desk.list_tickets(&env.admin, &open, 25, None).await.unwrap();
    assert_eq!(page.tickets.len(), 25);
    match env.store.dialect() {
        Dialect::Sqlite => assert_eq!((page.total, page.total_capped), (total, false)),
        Dialect::Postgres => assert_eq!((page.total, page.total_capped), (LIST_TOTAL_CAP, true)),
    }
    // A filter the counters cannot answer is counted to the list's cap on both databases, however
    // far past it the matches go (3,344 High, 10,031 in all).
    let imported = TicketFilter { priorities: vec![Priority::Low, Priority::High], ..Default::default() };
    let page = env.desk.list_tickets(&env.admin, &imported, 25, None).await.unwrap();
    assert_eq!((page.total, page.total_capped), (LIST_TOTAL_CAP, true));
    let high = TicketFilter { priorities: vec![Priority::High], ..Default::default() };
    let page = env.desk.list_tickets(&env.admin, &high, 25, None).await.unwrap();
    assert_eq!((page.total, page.total_capped), (LIST_TOTAL_CAP, true));
    // Below the cap the total is exact: the High tickets whose subject holds "Imported 1".
    let few = TicketFilter { text: Some("Imported 1".into()), priorities: vec![Priority::High], ..Default::default() };
    let page = env.desk.list_tickets(&env.admin, &few, 25, None).await.unwrap();
    let expected = (0..n).filter(|i| i % 3 == 0 && format!("Imported {i}").contains("Imported 1")).count() as i64;
    assert!(expected < LIST_TOTAL_CAP, "{expected}");
    assert_eq!((page.total, page.total_capped), (expected, false));

    // The status tiles count to their own, higher cap: per status.
    let tile =
        |counts: &[(TicketStatus, TicketTotal)], s: TicketStatus| counts.iter().find(|(k, _)| *k == s).unwrap().1;
    let counts = env.desk.ticket_counts(&env.admin, &TicketFilter::default()).await.unwrap();
    let open = tile(&counts, TicketStatus::Open);
    match env.store.dialect() {
        Dialect::Sqlite => assert_eq!(open, TicketTotal { count: total, capped: false }),
        Dialect::Postgres => assert_eq!(open, TicketTotal { count: TILE_CAP, capped: true }),
    }
    assert_eq!(tile(&counts, TicketStatus::Closed), TicketTotal { count: 0, capped: false });
    let counts = env.desk.ticket_counts(&env.admin, &imported).await.unwrap();
    assert_eq!(tile(&counts, TicketStatus::Open), TicketTotal { count: TILE_CAP, capped: true });
    let counts = env.desk.ticket_counts(&env.admin, &high).await.unwrap();
    assert_eq!(tile(&counts, TicketStatus::Open), TicketTotal { count: (n + 2) / 3, capped: false });
    assert_eq!(tile(&counts, TicketStatus::Waiting), TicketTotal { count: 0, capped: false });
}
