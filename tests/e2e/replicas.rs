//! Two `switchboard serve` processes on one PostgreSQL database, as behind a load balancer: a
//! subscriber on either sees changes made through the other within a second, and work both job
//! runners could take (a webhook delivery, the after-close sweep's rating request) happens once.
//! SQLite serves one process, so on SQLite there is nothing to run here.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::live::{Ws, next_json, subscribe_at};
use crate::support::*;
use crate::webhooks::{login_at, receiver, save_webhook_at};

/// The replicas share their token key, as the README asks (tokens from one work on the other).
const JWT_SECRET: &str = "replicas-test-shared-secret-0123456789";

/// A fresh database on TEST_DATABASE_URL's PostgreSQL server, named so `.ci/run` drops it
/// afterwards.
async fn fresh_postgres() -> String {
    use sqlx::Connection;
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .expect("the replicas test (feature replicas-test) needs TEST_DATABASE_URL on a PostgreSQL server");
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (url.clone(), String::new()),
    };
    let server = &base[..base.rfind('/').expect("TEST_DATABASE_URL names a database")];
    let name = format!("switchboard_desk_replicas_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres{query}")).await.expect("connect");
    for sql in [format!("DROP DATABASE IF EXISTS {name}"), format!("CREATE DATABASE {name}")] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await.expect("create the database");
    }
    format!("{server}/{name}{query}")
}

/// Waits for the next ticket event of `kind` on `ws`; how long it took from `since`.
async fn event_of(ws: &mut Ws, kind: &str, since: Instant) -> (Value, Duration) {
    while let Some(m) = next_json(ws).await {
        let e = &m["payload"]["data"]["ticketEvents"];
        if m["type"] == "next" && e["kind"] == kind {
            return (e.clone(), since.elapsed());
        }
    }
    panic!("no {kind} event arrived");
}

#[tokio::test]
async fn two_replicas_share_live_updates_and_run_each_job_once() {
    let db = fresh_postgres().await;
    let tmp = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_switchboard"));
    let mut settings = SERVER_SETTINGS.to_vec();
    // Both job runners sweep on every tick, so were a sweep to run twice, it would show.
    settings.extend([("SWITCHBOARD_JWT_SECRET", JWT_SECRET), ("SWITCHBOARD_SLA_CHECK_EVERY_TICKS", "1")]);
    let start = |dir: &str| {
        switchboard_testkit::ServerProcess::start_with(bin, &tmp.path().join(dir), Some(&db), &settings).unwrap()
    };
    let a = start("a");
    let b = start("b");
    let slug = format!("replicas-{}", std::process::id());
    let seed = write_seed(tmp.path(), &slug, 0);
    a.cli(&["seed", "--file", seed.to_str().unwrap()], &[]).unwrap();
    let admin = login_at(&a.url, &format!("admin@{slug}.test")).await;
    let agent = login_at(&b.url, &format!("agent@{slug}.test")).await;
    let rx = receiver(0).await;
    save_webhook_at(&a.url, &admin, &rx.url, json!(["TICKET_OPENED"])).await;

    // A change through A reaches a subscriber on B, and one through B a subscriber on A.
    let mut on_a = subscribe_at(&a.url, &agent).await;
    let mut on_b = subscribe_at(&b.url, &agent).await;
    let open = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { id number } }";
    let input =
        json!({ "subject": "Seen on every replica", "requester": { "email": format!("customer@{slug}.test") } });
    let opened = gql_at(&a.url, Some(&agent), open, json!({ "i": input })).await;
    let sent = Instant::now();
    let id = opened["data"]["openTicket"]["id"].as_str().unwrap_or_else(|| panic!("{opened}")).to_string();
    let number = opened["data"]["openTicket"]["number"].as_str().unwrap().to_string();
    let (e, took) = event_of(&mut on_b, "ticket.opened", sent).await;
    assert_eq!((e["ticketId"].as_str(), e["ticketNumber"].as_str()), (Some(id.as_str()), Some(number.as_str())));
    assert!(took < Duration::from_secs(1), "B saw A's change after {took:?}");
    let (e, _) = event_of(&mut on_a, "ticket.opened", sent).await;
    assert_eq!(e["ticketId"], id.as_str(), "A's own subscribers see it too");

    let reply = "mutation($t: ID!) { reply(ticketId: $t, body: \"Answered through B\") { id } }";
    let replied = gql_at(&b.url, Some(&agent), reply, json!({ "t": id })).await;
    let sent = Instant::now();
    let entry = replied["data"]["reply"]["id"].as_str().unwrap_or_else(|| panic!("{replied}")).to_string();
    let (e, took) = event_of(&mut on_a, "entry.created", sent).await;
    assert_eq!((e["ticketId"].as_str(), e["entryId"].as_str()), (Some(id.as_str()), Some(entry.as_str())));
    assert!(took < Duration::from_secs(1), "A saw B's change after {took:?}");

    // The webhook goes out once, whichever replica's runner took it.
    rx.wait_for_success().await;
    let close = "mutation($t: ID!) { closeTicket(ticketId: $t, reason: RESOLVED) { status } }";
    let closed = gql_at(&a.url, Some(&agent), close, json!({ "t": id })).await;
    assert_eq!(closed["data"]["closeTicket"]["status"], "CLOSED", "{closed}");

    // Both runners sweep every second; the rating request is posted once.
    let entries = "query($t: ID!) { ticket(id: $t) { entries { body } } }";
    let requests = || async {
        let t = gql_at(&b.url, Some(&agent), entries, json!({ "t": id })).await;
        let list = t["data"]["ticket"]["entries"].as_array().cloned().unwrap_or_default();
        list.iter().filter(|e| e["body"].as_str().is_some_and(|b| b.contains("How did we do?"))).count()
    };
    let waited = Instant::now();
    while requests().await == 0 {
        assert!(waited.elapsed() < Duration::from_secs(20), "no rating request within 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Several more sweeps on each replica.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(requests().await, 1, "the rating request is posted once");
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one delivery of the one ticket.opened: {got:?}");
    assert_eq!((got[0].event.as_str(), got[0].answered), ("ticket.opened", 200));
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["data"]["number"], number.as_str());
}
