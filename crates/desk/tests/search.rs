//! Ticket search through the embedded engine, kept current from the event stream: who finds
//! what, typos, filters and totals, a crash between commit and indexing, and a rebuild. Runs on
//! SQLite, and on PostgreSQL with `TEST_POSTGRES_URL`.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use switchboard_desk::domain::*;
use switchboard_desk::search_layer::{Field, TantivyEngine};
use switchboard_desk::store::TicketRecord;
use switchboard_desk::*;

const NOW: Millis = 1_760_000_000_000;

struct Search {
    env: Env,
    index: tempfile::TempDir,
}

async fn search_env(label: &str) -> Search {
    let env = env(label, NOW).await;
    let index = tempfile::tempdir().unwrap();
    env.desk.set_search_engine(Arc::new(TantivyEngine::open(index.path()).unwrap()));
    assert!(env.desk.search_index_is_new().await.unwrap());
    env.desk.rebuild_search_index(|_, _| {}).await.unwrap();
    Search { env, index }
}

/// Applies every committed event to the index. On PostgreSQL the stream hands out an event only
/// once every older transaction on the server has ended (other tests' databases included), so
/// one round may not reach the end yet.
async fn catch_up(desk: &Desk) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut written = 0;
    loop {
        written += desk.index_events().await.unwrap();
        if desk.search_backlog().await.unwrap() == 0 {
            return written;
        }
        assert!(std::time::Instant::now() < deadline, "the index never caught up");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn customer(t: &TicketRecord) -> Actor {
    Actor { workspace_id: t.workspace_id, kind: ActorKind::Contact { id: t.requester_id }, label: "Customer".into() }
}

async fn open(desk: &Desk, actor: &Actor, subject: &str, body: &str, requester: &str) -> TicketRecord {
    let mut o = opening(subject, requester, None);
    o.description = Some(body.into());
    desk.open_ticket(actor, o).await.unwrap()
}

fn text(t: &str) -> TicketFilter {
    TicketFilter { text: Some(t.into()), ..Default::default() }
}

async fn found(desk: &Desk, actor: &Actor, filter: &TicketFilter) -> Vec<TicketId> {
    desk.list_tickets(actor, filter, 100, None).await.unwrap().tickets.iter().map(|t| t.id).collect()
}

#[tokio::test]
async fn a_customer_never_finds_another_customers_ticket_or_an_internal_note() {
    let s = search_env("search_customer").await;
    let (desk, admin) = (&s.env.desk, &s.env.admin);
    let ana = open(desk, admin, "Printer jams", "My printer jams on page two", "ana@example.com").await;
    let bo = open(desk, admin, "Billing", "The printer invoice is wrong", "bo@example.com").await;
    desk.add_note(admin, ana.id, "Ana's printer is a known lemon, refund quietly").await.unwrap();
    desk.reply(admin, ana.id, "We are sending a technician", Vec::new(), None).await.unwrap();
    catch_up(desk).await;

    // Staff find bodies, notes, requesters and subjects.
    assert_eq!(found(desk, admin, &text("lemon")).await, [ana.id], "an internal note");
    assert_eq!(found(desk, admin, &text("bo@example.com")).await, [bo.id], "the requester's address");
    assert_eq!(found(desk, admin, &text("technician")).await, [ana.id], "a reply");
    let mut both = found(desk, admin, &text("printer")).await;
    both.sort();
    assert_eq!(both, [ana.id, bo.id]);

    let as_ana = customer(&ana);
    assert_eq!(found(desk, &as_ana, &text("printer")).await, [ana.id], "only her own ticket");
    assert!(found(desk, &as_ana, &text("invoice")).await.is_empty(), "never Bo's ticket");
    assert!(found(desk, &as_ana, &text("lemon")).await.is_empty(), "never an internal note, even on her ticket");
    assert!(found(desk, &as_ana, &text("refund")).await.is_empty());
    assert!(found(desk, &as_ana, &text("ana@example.com")).await.is_empty(), "requester fields are staff-only");
    assert_eq!(found(desk, &as_ana, &text("technician")).await, [ana.id], "public replies she can read");
    let page = desk.list_tickets(&as_ana, &text("printer lemon"), 10, None).await.unwrap();
    assert!(page.tickets.is_empty() && page.snippets.is_empty(), "a note's word cannot complete her query");
    let page = desk.list_tickets(&as_ana, &text("printer"), 10, None).await.unwrap();
    assert_eq!(page.snippets.len(), 1);
    assert!(page.snippets.iter().all(|(_, s)| matches!(s.field, Field::PublicText | Field::Title)));
}

#[tokio::test]
async fn workspace_a_never_sees_workspace_b() {
    let s = search_env("search_workspaces").await;
    let (desk, admin) = (&s.env.desk, &s.env.admin);
    let other = desk.create_workspace("beta", "Beta", "BT", "UTC", "General").await.unwrap();
    let beta = Actor::system(other.id);
    let a = open(desk, admin, "Router down", "the router blinks red", "ana@example.com").await;
    let b = open(desk, &beta, "Router down too", "our router blinks red as well", "ana@example.com").await;
    catch_up(desk).await;
    assert_eq!(found(desk, admin, &text("router")).await, [a.id]);
    assert_eq!(found(desk, &beta, &text("router")).await, [b.id]);
    // The same address is a different customer in each workspace.
    assert_eq!(found(desk, &customer(&b), &text("router")).await, [b.id]);
}

#[tokio::test]
async fn typo_queries_find_the_ticket_and_the_snippet_marks_the_word() {
    let s = search_env("search_typos").await;
    let (desk, admin) = (&s.env.desk, &s.env.admin);
    let t = open(desk, admin, "Delivery", "The package was never received at the warehouse", "ana@example.com").await;
    catch_up(desk).await;
    for typo in ["recieved", "warehuose", "packge", "wharehouse"] {
        assert_eq!(found(desk, admin, &text(typo)).await, [t.id], "{typo}");
    }
    assert!(found(desk, admin, &text("nevr")).await.is_empty(), "a 4-letter word allows no typo");
    let page = desk.list_tickets(admin, &text("recieved"), 10, None).await.unwrap();
    let (id, snippet) = &page.snippets[0];
    assert_eq!(*id, t.id);
    assert_eq!(snippet.highlights(), ["received"]);
    assert!(snippet.text().contains("The package was never received"), "{}", snippet.text());
}

#[tokio::test]
async fn search_combines_with_filters_ranks_and_pages() {
    let s = search_env("search_filters").await;
    let (desk, admin) = (&s.env.desk, &s.env.admin);
    let mut tickets = Vec::new();
    for i in 0..5 {
        tickets.push(open(desk, admin, &format!("Case {i}"), "the scanner stopped", "ana@example.com").await);
    }
    let best = open(desk, admin, "Scanner broken", "the scanner stopped, the scanner is dead", "bo@example.com").await;
    desk.close(admin, tickets[0].id, CloseReason::Resolved, None).await.unwrap();
    catch_up(desk).await;

    let all = desk.list_tickets(admin, &text("scanner"), 2, None).await.unwrap();
    assert_eq!(all.tickets[0].id, best.id, "the subject and two mentions rank first");
    assert_eq!((all.total, all.total_capped), (6, false));
    let next = desk.list_tickets(admin, &text("scanner"), 2, all.next_cursor.as_deref()).await.unwrap();
    assert_eq!(next.tickets.len(), 2);
    assert!(next.tickets.iter().all(|t| !all.tickets.iter().any(|a| a.id == t.id)), "the next page goes on");

    let open_only = TicketFilter { statuses: TicketStatus::ACTIVE.to_vec(), ..text("scanner") };
    let page = desk.list_tickets(admin, &open_only, 100, None).await.unwrap();
    assert_eq!(page.total, 5);
    assert!(!page.tickets.iter().any(|t| t.id == tickets[0].id), "the closed one is filtered out");
    let counts = desk.ticket_counts(admin, &text("scanner")).await.unwrap();
    let closed = counts.iter().find(|(s, _)| *s == TicketStatus::Closed).unwrap().1;
    assert_eq!((closed.count, closed.capped), (1, false));

    // A ticket number still finds its ticket, first.
    let by_number = desk.list_tickets(admin, &text(&format!("SD-{:05}", best.number)), 10, None).await.unwrap();
    assert_eq!(by_number.tickets[0].id, best.id);
}

#[tokio::test]
async fn changes_reach_the_index_from_the_event_stream() {
    let s = search_env("search_events").await;
    let (desk, admin) = (&s.env.desk, &s.env.admin);
    let t = open(desk, admin, "Hello", "first words", "ana@example.com").await;
    catch_up(desk).await;
    assert!(found(desk, admin, &text("zeppelin")).await.is_empty());
    desk.add_note(admin, t.id, "a zeppelin was mentioned").await.unwrap();
    assert!(found(desk, admin, &text("zeppelin")).await.is_empty(), "not indexed until the indexer runs");
    assert_eq!(catch_up(desk).await, 1);
    assert_eq!(found(desk, admin, &text("zeppelin")).await, [t.id]);
    assert_eq!(catch_up(desk).await, 0, "nothing new, nothing written");
}

#[tokio::test]
async fn a_crash_between_commit_and_indexing_is_caught_up_after_restart() {
    let s = search_env("search_crash").await;
    let store = s.env.store.clone();
    let before = open(&s.env.desk, &s.env.admin, "Before", "the kettle is cold", "ana@example.com").await;
    catch_up(&s.env.desk).await;
    // Committed in the database, never indexed: the process dies here.
    let lost = open(&s.env.desk, &s.env.admin, "Lost", "the kettle whistles", "bo@example.com").await;
    let admin = s.env.admin.clone();
    let index_dir = s.index;
    drop(s.env.desk);

    let clock = Arc::new(ManualClock::at(NOW));
    let auth = AuthConfig { jwt_secret: b"test secret for the desk".to_vec(), token_ttl_secs: 3600 };
    let blobs = tempfile::tempdir().unwrap();
    let desk = Desk::new(store, clock, BlobStore::new(blobs.path().join("b")), auth);
    desk.set_search_engine(Arc::new(TantivyEngine::open(index_dir.path()).unwrap()));
    assert!(!desk.search_index_is_new().await.unwrap(), "the same index, with its cursor");
    assert_eq!(found(&desk, &admin, &text("kettle")).await, [before.id], "the lost ticket is not indexed yet");
    catch_up(&desk).await;
    let mut both = found(&desk, &admin, &text("kettle")).await;
    both.sort();
    assert_eq!(both, [before.id, lost.id]);

    // A crash after the index's commit, before the cursor moved: the same events are applied
    // again on restart, which changes nothing.
    let engine = desk.search_engine().unwrap().clone();
    let docs = engine.stats().await.unwrap().documents;
    let cursor = format!("search:{}", engine.index_name());
    let mut tx = desk.store().read().await.unwrap();
    let behind = tx.stream_cursor(&cursor).await.unwrap();
    drop(tx);
    desk.add_note(&admin, lost.id, "kettle descaled").await.unwrap();
    assert_eq!(catch_up(&desk).await, 1);
    let mut tx = desk.store().write().await.unwrap();
    tx.set_stream_cursor(&cursor, behind).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(catch_up(&desk).await, 1, "the note's event is applied again");
    assert_eq!(engine.stats().await.unwrap().documents, docs, "still one document per ticket");
    assert_eq!(found(&desk, &admin, &text("descaled")).await, [lost.id]);
    assert_eq!(desk.list_tickets(&admin, &text("kettle"), 10, None).await.unwrap().total, 2);
}

#[tokio::test]
async fn reindex_gives_the_same_results() {
    let s = search_env("search_reindex").await;
    let (desk, admin) = (&s.env.desk, &s.env.admin);
    for (i, word) in ["modem", "modem router", "router", "printer modem", "fax"].iter().enumerate() {
        let t = open(desk, admin, &format!("Case {i}"), &format!("the {word} is broken"), "ana@example.com").await;
        desk.add_note(admin, t.id, &format!("note about the {word}")).await.unwrap();
    }
    catch_up(desk).await;
    let queries = ["modem", "router", "broken", "note fax", "modm"];
    let mut before = Vec::new();
    for q in queries {
        let p = desk.list_tickets(admin, &text(q), 100, None).await.unwrap();
        before.push((p.tickets.iter().map(|t| t.id).collect::<Vec<_>>(), p.total, p.snippets.len()));
    }
    let mut seen = Vec::new();
    let summary = desk.rebuild_search_index(|done, total| seen.push((done, total))).await.unwrap();
    assert_eq!(summary.tickets, 5);
    assert_eq!(summary.documents, 5);
    assert_eq!(seen.last(), Some(&(5, 5)), "progress reaches the total");
    for (q, b) in queries.iter().zip(before) {
        let p = desk.list_tickets(admin, &text(q), 100, None).await.unwrap();
        assert_eq!((p.tickets.iter().map(|t| t.id).collect::<Vec<_>>(), p.total, p.snippets.len()), b, "{q}");
    }
    assert_eq!(catch_up(desk).await, 0, "the rebuild's cursor starts after what it read");
}

#[tokio::test]
async fn transcript_retention_takes_the_deleted_messages_out_of_search() {
    const DAY: Millis = 24 * 3_600_000;
    let s = search_env("search_retention").await;
    let clock = Arc::new(ManualClock::at(NOW));
    let desk = s.env.desk.with_clock(clock.clone());
    let admin = &s.env.admin;
    let settings = InactivitySettings { transcript_retention_days: Some(30), ..Default::default() };
    desk.save_inactivity_settings(admin, settings, None).await.unwrap();
    let old = open(&desk, admin, "Old question", "My passport number is K1234567", "ann@example.com").await;
    desk.close(admin, old.id, CloseReason::Resolved, None).await.unwrap();
    catch_up(&desk).await;
    let found = |text: &'static str| {
        let desk = desk.clone();
        let admin = admin.clone();
        async move {
            let f = TicketFilter { text: Some(text.into()), ..Default::default() };
            desk.list_tickets(&admin, &f, 10, None).await.unwrap().tickets.iter().map(|t| t.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(found("K1234567").await, [old.id]);

    clock.set(NOW + 31 * DAY);
    assert_eq!(desk.follow_up_quiet_tickets().await.unwrap().purged, 1);
    catch_up(&desk).await;
    assert!(found("K1234567").await.is_empty(), "the purged message is no longer found");
    assert_eq!(found("question").await, [old.id], "the ticket's subject stays searchable");
}
