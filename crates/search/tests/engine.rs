//! The engine suite: what every engine must do (scope, audiences, workspaces, writes, totals),
//! run against the embedded engine, against Meilisearch through the test kit's double, and
//! against a real Meilisearch with the `meilisearch-real` feature (`SWITCHBOARD_TEST_MEILISEARCH_URL`
//! names it, with `SWITCHBOARD_TEST_MEILISEARCH_API_KEY` when it has a master key; `.ci/run` turns
//! the feature on when the URL is set, and without the feature those tests do not exist). Ranking and typo tolerance are the embedded engine's own tests (the double
//! does not rank and forgives no typos).

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use switchboard_search::{
    Audience, DocKey, DocKind, Field, MeilisearchEngine, MeilisearchHttp, SearchDoc, SearchEngine, SearchQuery,
    TantivyEngine,
};

fn ticket(id: i64, ws: i64, owner: i64, subject: &str, public: &str, internal: &str) -> SearchDoc {
    SearchDoc {
        key: DocKey::ticket(id),
        workspace_id: ws,
        owner_contact_id: Some(owner),
        public: false,
        title: subject.into(),
        public_text: public.into(),
        internal_text: internal.into(),
        people: format!("Customer {owner} customer{owner}@example.com"),
        tags: "billing".into(),
        updated_at: id,
    }
}

fn chunk(id: i64, ws: i64, public: bool, title: &str, text: &str) -> SearchDoc {
    SearchDoc {
        key: DocKey { kind: DocKind::Chunk, id },
        workspace_id: ws,
        owner_contact_id: None,
        public,
        title: title.into(),
        public_text: text.into(),
        internal_text: String::new(),
        people: String::new(),
        tags: String::new(),
        updated_at: id,
    }
}

fn query(ws: i64, text: &str, audience: Audience) -> SearchQuery {
    SearchQuery { workspace_id: ws, kinds: vec![DocKind::Ticket], text: text.into(), audience, limit: 100 }
}

async fn ids(e: &dyn SearchEngine, q: SearchQuery) -> Vec<i64> {
    e.search(&q).await.expect("search").hits.iter().map(|h| h.key.id).collect()
}

async fn sorted_ids(e: &dyn SearchEngine, q: SearchQuery) -> Vec<i64> {
    let mut found = ids(e, q).await;
    found.sort();
    found
}

async fn seeded(e: &dyn SearchEngine) {
    e.upsert(vec![
        ticket(1, 1, 10, "Printer jams", "My printer jams on every page.", "Known issue with the XL model"),
        ticket(2, 1, 11, "Invoice wrong", "The invoice I received lists two printers.", "Refund approved by finance"),
        ticket(3, 1, 10, "Login trouble", "I cannot sign in since Monday.", ""),
        ticket(4, 2, 20, "Printer on fire", "Our printer is smoking.", "escalate to hardware"),
    ])
    .await
    .expect("upsert");
    e.commit().await.expect("commit");
}

// ---- The contract: every engine ---------------------------------------------------------------

async fn staff_find_bodies_notes_requesters_and_subjects(e: &dyn SearchEngine) {
    seeded(e).await;
    assert_eq!(sorted_ids(e, query(1, "printer", Audience::Staff)).await, [1, 2], "subject and body, workspace 1");
    assert_eq!(ids(e, query(1, "refund", Audience::Staff)).await, [2], "internal notes are searched for staff");
    assert_eq!(ids(e, query(1, "customer11@example.com", Audience::Staff)).await[0], 2, "the requester's address");
    assert_eq!(ids(e, query(1, "billing", Audience::Staff)).await.len(), 3, "tags");
    let hits = e.search(&query(1, "printer", Audience::Staff)).await.expect("search");
    assert_eq!((hits.total, hits.total_estimated), (2, false), "every match returned: an exact total");
    assert!(ids(e, query(1, "printer scanner", Audience::Staff)).await.is_empty(), "every word must match");
    assert!(ids(e, query(1, "", Audience::Staff)).await.is_empty(), "an empty query finds nothing");
    let s = e.snippets(&query(1, "refund", Audience::Staff), &[DocKey::ticket(2)]).await.expect("snip");
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].1.field, s[0].1.highlights()), (Field::InternalText, vec!["Refund"]));
}

async fn customers_see_only_their_own_public_messages(e: &dyn SearchEngine) {
    seeded(e).await;
    let ana = Audience::Customer { contact_id: 10 };
    assert_eq!(ids(e, query(1, "printer", ana)).await, [1], "not customer 11's ticket");
    assert!(ids(e, query(1, "known issue", ana)).await.is_empty(), "never an internal note, even their own ticket's");
    assert!(ids(e, query(1, "refund", Audience::Customer { contact_id: 11 })).await.is_empty());
    assert!(ids(e, query(1, "billing", ana)).await.is_empty(), "tags are staff-only");
    assert!(ids(e, query(1, "customer10", ana)).await.is_empty(), "requester fields are staff-only");
    assert!(ids(e, query(1, "printer", Audience::Anonymous)).await.is_empty(), "tickets are never public");
    let snippets = e.snippets(&query(1, "printer", ana), &[DocKey::ticket(1), DocKey::ticket(2)]).await.expect("snip");
    assert_eq!(snippets.len(), 1, "no excerpt of another customer's ticket");
    assert!(snippets.iter().all(|(_, s)| s.field != Field::InternalText));
    let own_note = e.snippets(&query(1, "known", ana), &[DocKey::ticket(1)]).await.expect("snip");
    assert!(own_note.is_empty(), "no excerpt of an internal note");
}

async fn workspaces_never_meet(e: &dyn SearchEngine) {
    seeded(e).await;
    assert_eq!(ids(e, query(2, "printer", Audience::Staff)).await, [4]);
    assert!(ids(e, query(2, "refund", Audience::Staff)).await.is_empty());
    assert!(ids(e, query(1, "smoking", Audience::Staff)).await.is_empty());
    assert!(e.snippets(&query(1, "printer", Audience::Staff), &[DocKey::ticket(4)]).await.expect("snip").is_empty());
}

async fn kinds_and_public_knowledge(e: &dyn SearchEngine) {
    seeded(e).await;
    e.upsert(vec![
        chunk(1, 1, true, "Printer setup", "Connect the printer to the network."),
        chunk(2, 1, false, "Printer internals", "Internal printer wiring notes."),
        chunk(3, 2, true, "Printer setup", "Workspace two's printer guide."),
    ])
    .await
    .expect("upsert");
    e.commit().await.expect("commit");
    let mut q = query(1, "printer", Audience::Staff);
    assert_eq!(sorted_ids(e, q.clone()).await, [1, 2], "tickets only, when tickets are asked for");
    q.kinds = vec![DocKind::Chunk];
    assert_eq!(sorted_ids(e, q.clone()).await, [1, 2], "staff see every chunk of their workspace");
    q.audience = Audience::Anonymous;
    assert_eq!(ids(e, q.clone()).await, [1], "anyone sees public knowledge, of this workspace only");
    q.audience = Audience::Customer { contact_id: 10 };
    assert_eq!(ids(e, q.clone()).await, [1]);
    q.kinds = vec![DocKind::Ticket, DocKind::Chunk];
    let hits = e.search(&q).await.expect("search");
    let mut keys: Vec<String> = hits.hits.iter().map(|h| h.key.encode()).collect();
    keys.sort();
    assert_eq!(keys, ["chunk-1", "ticket-1"], "their own ticket and public knowledge");
    e.clear(DocKind::Chunk).await.expect("clear");
    e.commit().await.expect("commit");
    assert!(
        ids(e, SearchQuery { kinds: vec![DocKind::Chunk], ..query(1, "printer", Audience::Staff) }).await.is_empty()
    );
    assert_eq!(sorted_ids(e, query(1, "printer", Audience::Staff)).await, [1, 2], "clearing chunks keeps tickets");
}

async fn writes_replace_delete_and_clear(e: &dyn SearchEngine) {
    seeded(e).await;
    assert_eq!(e.stats().await.expect("stats").documents, 4);
    e.upsert(vec![ticket(1, 1, 10, "Scanner", "The scanner is slow.", "")]).await.expect("upsert");
    e.commit().await.expect("commit");
    assert!(!ids(e, query(1, "printer", Audience::Staff)).await.contains(&1), "the old text is gone");
    assert_eq!(ids(e, query(1, "scanner", Audience::Staff)).await, [1]);
    e.delete(vec![DocKey::ticket(2), DocKey::ticket(99)]).await.expect("delete");
    e.commit().await.expect("commit");
    assert!(ids(e, query(1, "invoice", Audience::Staff)).await.is_empty());
    assert_eq!(e.stats().await.expect("stats").documents, 3);
    e.clear(DocKind::Ticket).await.expect("clear");
    e.commit().await.expect("commit");
    assert_eq!(e.stats().await.expect("stats").documents, 0);
}

async fn limits_and_totals(e: &dyn SearchEngine) {
    let docs = (1..=30).map(|i| ticket(i, 1, 10, &format!("Toner low {i}"), "toner", "")).collect();
    e.upsert(docs).await.expect("upsert");
    e.commit().await.expect("commit");
    let hits = e.search(&SearchQuery { limit: 5, ..query(1, "toner", Audience::Staff) }).await.expect("search");
    assert_eq!(hits.hits.len(), 5);
    assert_eq!(hits.total, 30, "the total counts every match, not only those returned");
}

macro_rules! engine_suite {
    ($open:path) => {
        #[tokio::test]
        async fn staff_search() {
            let (e, _g) = $open().await;
            staff_find_bodies_notes_requesters_and_subjects(&e).await;
        }
        #[tokio::test]
        async fn customer_search() {
            let (e, _g) = $open().await;
            customers_see_only_their_own_public_messages(&e).await;
        }
        #[tokio::test]
        async fn workspace_isolation() {
            let (e, _g) = $open().await;
            workspaces_never_meet(&e).await;
        }
        #[tokio::test]
        async fn kinds_and_public_documents() {
            let (e, _g) = $open().await;
            kinds_and_public_knowledge(&e).await;
        }
        #[tokio::test]
        async fn replace_delete_clear() {
            let (e, _g) = $open().await;
            writes_replace_delete_and_clear(&e).await;
        }
        #[tokio::test]
        async fn limit_and_total() {
            let (e, _g) = $open().await;
            limits_and_totals(&e).await;
        }
    };
}

// ---- The embedded engine ----------------------------------------------------------------------

mod tantivy {
    use super::*;

    async fn open() -> (TantivyEngine, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        (TantivyEngine::open(dir.path()).expect("open"), dir)
    }

    engine_suite!(open);

    #[tokio::test]
    async fn ranking_puts_the_best_match_first() {
        let (e, _g) = open().await;
        seeded(&e).await;
        // The address ranks its ticket first (the other's address is within the typo budget).
        assert_eq!(ids(&e, query(1, "customer11@example.com", Audience::Staff)).await[0], 2);
        // A ticket with the word in its subject and body above one with it once in a body.
        assert_eq!(ids(&e, query(1, "printer", Audience::Staff)).await, [1, 2]);
    }

    #[tokio::test]
    async fn typo_tolerance() {
        let (e, _g) = open().await;
        seeded(&e).await;
        assert_eq!(ids(&e, query(1, "invoyce", Audience::Staff)).await, [2], "one typo in a 7-letter word");
        assert_eq!(ids(&e, query(1, "recieved", Audience::Staff)).await, [2], "a swap counts as one typo");
        assert_eq!(ids(&e, query(1, "refnud aproved", Audience::Staff)).await, [2]);
        assert!(ids(&e, query(1, "lgin", Audience::Staff)).await.is_empty(), "no typo allowed under 5 letters");
        assert!(ids(&e, query(1, "xnvoicx", Audience::Staff)).await.is_empty(), "two typos need 9 letters");
        let s = e.snippets(&query(1, "invoyce", Audience::Staff), &[DocKey::ticket(2)]).await.expect("snip");
        assert_eq!(s[0].1.highlights(), ["invoice"], "the excerpt marks the word the typo matched");
    }

    #[tokio::test]
    async fn commits_survive_a_restart_and_uncommitted_writes_do_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = TantivyEngine::open(dir.path()).expect("open");
        let name = e.index_name();
        seeded(&e).await;
        e.upsert(vec![ticket(9, 1, 10, "Zeppelin", "zeppelin lights blink", "")]).await.expect("upsert");
        drop(e); // a crash: no commit after the last write
        let e = TantivyEngine::open(dir.path()).expect("reopen");
        assert_eq!(e.index_name(), name, "the same index, so its event cursor goes on");
        assert_eq!(ids(&e, query(1, "invoice", Audience::Staff)).await, [2]);
        assert!(ids(&e, query(1, "zeppelin", Audience::Staff)).await.is_empty());
    }

    #[tokio::test]
    async fn a_second_writer_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _e = TantivyEngine::open(dir.path()).expect("open");
        let err = TantivyEngine::open(dir.path()).expect_err("locked");
        assert!(matches!(err, switchboard_search::SearchError::Locked(_)), "{err}");
    }

    #[tokio::test]
    async fn the_embedded_index_is_not_shared() {
        let (e, _g) = open().await;
        assert!(!e.is_shared());
    }
}

// ---- Meilisearch ------------------------------------------------------------------------------

fn http(api_key: Option<&str>) -> MeilisearchHttp {
    // Whatever TLS features the build unified into reqwest, ring is the provider, as in the server.
    let _ = rustls::crypto::ring::default_provider().install_default();
    MeilisearchHttp::new(reqwest_client(), api_key.map(String::from))
}

fn reqwest_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().expect("client")
}

static NEXT_INDEX: AtomicUsize = AtomicUsize::new(0);

/// An index uid no other test (or earlier run, on a real server) uses.
fn fresh_uid() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("sb-test-{}-{}-{nanos}", std::process::id(), NEXT_INDEX.fetch_add(1, Ordering::SeqCst))
}

mod meilisearch_double {
    use std::time::Duration;

    use switchboard_testkit::meilisearch::MeilisearchDouble;

    use super::*;

    const KEY: &str = "double-master-key";

    async fn open() -> (MeilisearchEngine, MeilisearchDouble) {
        let double = MeilisearchDouble::start(Some(KEY)).await.expect("double");
        let e = MeilisearchEngine::open(&double.url, http(Some(KEY)), &fresh_uid()).await.expect("open");
        (e, double)
    }

    engine_suite!(open);

    #[tokio::test]
    async fn the_index_is_created_with_its_settings_and_shared() {
        let (e, double) = open().await;
        assert!(e.is_shared(), "replicas take turns writing it");
        let settings = double.settings(e.uid()).expect("the index exists");
        assert_eq!(
            settings["searchableAttributes"],
            serde_json::json!(["title", "public_text", "internal_text", "people", "tags"])
        );
        let mut filterable: Vec<String> =
            serde_json::from_value(settings["filterableAttributes"].clone()).expect("a list of names");
        filterable.sort();
        assert_eq!(filterable, ["key", "kind", "owner", "public", "workspace"]);
        assert_eq!(
            settings["typoTolerance"]["minWordSizeForTypos"],
            serde_json::json!({ "oneTypo": 5, "twoTypos": 9 })
        );
        assert_eq!(settings["pagination"]["maxTotalHits"], 10_000);
        assert!(settings["stopWords"].as_array().unwrap().iter().any(|w| w == "the"));
        let requests = double.requests();
        assert!(
            requests
                .iter()
                .filter(|r| r.path != "/health")
                .all(|r| r.authorization.as_deref() == Some("Bearer double-master-key")),
            "every request carries the key"
        );
        assert!(requests.iter().any(|r| r.method == "POST" && r.path == "/indexes" && r.body["primaryKey"] == "key"));
    }

    #[tokio::test]
    async fn commit_waits_for_the_tasks_and_documents_keep_their_fields() {
        let (e, double) = open().await;
        double.set_task_delay(Duration::from_millis(300));
        e.upsert(vec![ticket(7, 3, 70, "Fax", "fax machine beeps", "note")]).await.expect("upsert");
        assert!(double.documents(e.uid()).is_empty(), "enqueued, not yet processed");
        e.commit().await.expect("commit");
        assert_eq!(ids(&e, query(3, "fax", Audience::Staff)).await, [7], "visible once commit returns");
        let docs = double.documents(e.uid());
        assert_eq!(docs[0]["key"], "ticket-7");
        assert_eq!((docs[0]["workspace"].as_i64(), docs[0]["owner"].as_i64()), (Some(3), Some(70)));
        assert_eq!((docs[0]["kind"].as_str(), docs[0]["public"].as_bool()), (Some("ticket"), Some(false)));
        let polls = double.requests().iter().filter(|r| r.method == "GET" && r.path.starts_with("/tasks/")).count();
        assert!(polls >= 2, "the task was polled until it succeeded ({polls} polls)");
    }

    #[tokio::test]
    async fn the_index_name_lasts_until_the_index_is_recreated() {
        let double = MeilisearchDouble::start(Some(KEY)).await.expect("double");
        let uid = fresh_uid();
        let first = MeilisearchEngine::open(&double.url, http(Some(KEY)), &uid).await.expect("open");
        seeded(&first).await;
        let again = MeilisearchEngine::open(&double.url, http(Some(KEY)), &uid).await.expect("reopen");
        assert_eq!(again.index_name(), first.index_name(), "the same index, so its event cursor goes on");
        assert_eq!(ids(&again, query(1, "invoice", Audience::Staff)).await, [2]);
        let client = reqwest_client();
        let deleted = client.delete(format!("{}/indexes/{uid}", double.url)).bearer_auth(KEY).send().await.unwrap();
        assert_eq!(deleted.status(), 202);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let recreated = MeilisearchEngine::open(&double.url, http(Some(KEY)), &uid).await.expect("recreate");
        assert_ne!(recreated.index_name(), first.index_name(), "a new index starts without a cursor (and is rebuilt)");
    }

    #[tokio::test]
    async fn a_wrong_key_is_refused_with_meilisearchs_error() {
        let double = MeilisearchDouble::start(Some(KEY)).await.expect("double");
        let err = MeilisearchEngine::open(&double.url, http(Some("wrong")), &fresh_uid()).await.expect_err("refused");
        assert!(err.to_string().contains("The provided API key is invalid"), "{err}");
        let err = MeilisearchEngine::open(&double.url, http(None), &fresh_uid()).await.expect_err("refused");
        assert!(err.to_string().contains("Authorization header is missing"), "{err}");
    }

    #[tokio::test]
    async fn the_double_answers_meilisearchs_errors() {
        let (e, double) = open().await;
        seeded(&e).await;
        let client = reqwest_client();
        let search = |body: serde_json::Value| {
            client.post(format!("{}/indexes/{}/search", double.url, e.uid())).bearer_auth(KEY).json(&body).send()
        };
        let cases = [
            (serde_json::json!({ "q": "x", "filter": "workspace = 1 AND" }), "invalid_search_filter"),
            (serde_json::json!({ "q": "x", "filter": "workspace ~ 1" }), "invalid_search_filter"),
            (serde_json::json!({ "q": "x", "filter": "updated_at > 3" }), "invalid_search_filter"),
            (
                serde_json::json!({ "q": "x", "attributesToSearchOn": ["key"] }),
                "invalid_search_attributes_to_search_on",
            ),
            (serde_json::json!({ "q": "x", "matchingStrategy": "some" }), "invalid_search_matching_strategy"),
            (serde_json::json!({ "q": "x", "colour": 1 }), "bad_request"),
        ];
        for (body, code) in cases {
            let r = search(body.clone()).await.unwrap();
            assert_eq!(r.status(), 400, "{body}");
            let err: serde_json::Value = r.json().await.unwrap();
            assert_eq!(err["code"], code, "{body}: {err}");
            assert_eq!(err["type"], "invalid_request");
            assert_eq!(err["link"], format!("https://docs.meilisearch.com/errors#{code}"));
        }
        let missing = client.get(format!("{}/indexes/nope", double.url)).bearer_auth(KEY).send().await.unwrap();
        assert_eq!(missing.status(), 404);
        assert_eq!(missing.json::<serde_json::Value>().await.unwrap()["code"], "index_not_found");
    }
}

/// A real Meilisearch, for anyone who has one: `SWITCHBOARD_TEST_MEILISEARCH_URL` (and
/// `SWITCHBOARD_TEST_MEILISEARCH_API_KEY`). Each test makes an index of its own and deletes it.
/// Built only with the `meilisearch-real` feature (which `.ci/run` turns on when the URL is given),
/// so no test passes here without a server to run against.
#[cfg(feature = "meilisearch-real")]
mod meilisearch_real {
    use super::*;

    struct Cleanup {
        url: String,
        key: Option<String>,
        uid: String,
    }

    impl Drop for Cleanup {
        fn drop(&mut self) {
            // Best effort, from a thread of its own (the test's runtime is ending).
            let (url, key, uid) = (self.url.clone(), self.key.clone(), self.uid.clone());
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    let mut r = reqwest_client().delete(format!("{url}/indexes/{uid}"));
                    if let Some(k) = key {
                        r = r.bearer_auth(k);
                    }
                    r.send().await.ok()
                })
            })
            .join();
        }
    }

    async fn open() -> (MeilisearchEngine, Cleanup) {
        let url = std::env::var("SWITCHBOARD_TEST_MEILISEARCH_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .expect("the meilisearch-real feature needs SWITCHBOARD_TEST_MEILISEARCH_URL (a real Meilisearch)");
        let key = std::env::var("SWITCHBOARD_TEST_MEILISEARCH_API_KEY").ok().filter(|k| !k.is_empty());
        let uid = fresh_uid();
        let e = MeilisearchEngine::open(&url, http(key.as_deref()), &uid).await.expect("open the real Meilisearch");
        (e, Cleanup { url, key, uid })
    }

    engine_suite!(open);
}
