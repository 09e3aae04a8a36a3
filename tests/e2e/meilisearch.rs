//! Search through Meilisearch with the real binary: `serve`, pointed at the test kit's
//! Meilisearch double only by `SWITCHBOARD_MEILISEARCH_URL` (and its key), indexes a ticket
//! there and finds it through GraphQL's `tickets(filter: {search})`, with where it matched;
//! the customer's `myTickets(search:)` finds it and the other customer does not; `switchboard
//! reindex` rebuilds the same index.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_testkit::ServerProcess;
use switchboard_testkit::meilisearch::MeilisearchDouble;

use crate::support::{PASSWORD, gql_at, write_seed};

const KEY: &str = "e2e-meili-master-key";
const INDEX: &str = "e2e-tickets";

/// The double on a runtime of its own, so it outlives any one test's runtime.
fn start_double() -> Arc<MeilisearchDouble> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async move {
            let double = Arc::new(MeilisearchDouble::start(Some(KEY)).await.unwrap());
            tx.send(double.clone()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}

async fn login(url: &str, mutation: &str, email: &str) -> String {
    let q = format!("mutation($e: String!, $p: String!) {{ {mutation}(email: $e, password: $p) {{ token }} }}");
    let d = gql_at(url, None, &q, json!({ "e": email, "p": PASSWORD })).await;
    d["data"][mutation]["token"].as_str().unwrap_or_else(|| panic!("{mutation} {email}: {d}")).to_string()
}

async fn staff_search(url: &str, token: &str, text: &str) -> Value {
    let q = "query($f: TicketFilterInput) { tickets(filter: $f, first: 10) { totalCount nodes { id subject } \
             searchMatches { ticketId field fragments { text highlighted } } } }";
    let d = gql_at(url, Some(token), q, json!({ "f": { "search": text } })).await;
    assert!(d["errors"].is_null(), "{d}");
    d["data"]["tickets"].clone()
}

async fn my_tickets(url: &str, token: &str, text: &str) -> Value {
    let q = "query($s: String) { myTickets(search: $s) { nodes { id subject } } }";
    let d = gql_at(url, Some(token), q, json!({ "s": text })).await;
    assert!(d["errors"].is_null(), "{d}");
    d["data"]["myTickets"]["nodes"].clone()
}

#[tokio::test]
async fn serve_with_meilisearch_indexes_a_ticket_there_and_graphql_finds_it() {
    let double = start_double();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let bin = Path::new(env!("CARGO_BIN_EXE_switchboard"));
    let envs = [
        ("SWITCHBOARD_MEILISEARCH_URL", double.url.as_str()),
        ("SWITCHBOARD_MEILISEARCH_API_KEY", KEY),
        ("SWITCHBOARD_MEILISEARCH_INDEX", INDEX),
    ];
    let server = ServerProcess::start_with(bin, &data, None, &envs).unwrap();
    let seed = write_seed(tmp.path(), "meili", 901);
    server.cli(&["seed", "--file", seed.to_str().unwrap()], &[]).unwrap();
    let agent = login(&server.url, "login", "agent@meili.test").await;
    let carla = login(&server.url, "customerLogin", "customer@meili.test").await;
    let oscar = login(&server.url, "customerLogin", "other@meili.test").await;

    let open = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { id } }";
    let input = json!({ "subject": "Plotter trouble", "description": "The plotter prints zebra stripes on every sheet.",
        "requester": { "email": "customer@meili.test" }, "source": "PORTAL" });
    let d = gql_at(&server.url, Some(&agent), open, json!({ "i": input })).await;
    let id = d["data"]["openTicket"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_string();

    // The indexer is woken by the change; the double processes its task a moment later.
    let started = Instant::now();
    let found = loop {
        let page = staff_search(&server.url, &agent, "zebra").await;
        if page["totalCount"] == 1 {
            break page;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the ticket never became searchable: {page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(found["nodes"][0]["id"], id.as_str());
    let m = &found["searchMatches"][0];
    assert_eq!((m["ticketId"].as_str(), m["field"].as_str()), (Some(id.as_str()), Some("MESSAGE")), "{m}");
    let marked: Vec<&str> = m["fragments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["highlighted"] == true)
        .filter_map(|f| f["text"].as_str())
        .collect();
    assert_eq!(marked, ["zebra"], "the excerpt marks the word that matched");

    // It came from the double: the ticket's document is there, and no embedded index was made.
    let docs = double.documents(INDEX);
    assert!(docs.iter().any(|d| d["kind"] == "ticket" && d["title"] == "Plotter trouble"), "{docs:?}");
    assert!(!data.join("search").exists(), "the embedded index is never opened with Meilisearch configured");
    let searches: Vec<_> =
        double.requests().into_iter().filter(|r| r.path == format!("/indexes/{INDEX}/search")).collect();
    assert!(searches.iter().any(|r| r.body["q"] == "zebra"), "the search went to Meilisearch");
    assert!(searches.iter().all(|r| r.authorization.as_deref() == Some(&format!("Bearer {KEY}") as &str)));

    // Customers: the requester finds her ticket, the other customer does not.
    assert_eq!(my_tickets(&server.url, &carla, "zebra").await.as_array().unwrap().len(), 1);
    assert_eq!(my_tickets(&server.url, &oscar, "zebra").await, json!([]));
    assert_eq!(staff_search(&server.url, &agent, "giraffe").await["totalCount"], 0);

    // `switchboard reindex` with the same settings rebuilds the shared index.
    let out = server.cli(&["reindex"], &envs).unwrap();
    assert!(out.contains("1 tickets indexed"), "{out}");
    assert_eq!(staff_search(&server.url, &agent, "zebra").await["totalCount"], 1);
}
