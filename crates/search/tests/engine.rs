//! The engine suite: what every engine must do, run against the embedded engine here.

use switchboard_search::{Audience, DocKey, DocKind, Field, SearchDoc, SearchEngine, SearchQuery, TantivyEngine};

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

fn query(ws: i64, text: &str, audience: Audience) -> SearchQuery {
    SearchQuery { workspace_id: ws, kinds: vec![DocKind::Ticket], text: text.into(), audience, limit: 100 }
}

async fn ids(e: &dyn SearchEngine, q: SearchQuery) -> Vec<i64> {
    e.search(&q).await.expect("search").hits.iter().map(|h| h.key.id).collect()
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

async fn staff_find_bodies_notes_requesters_and_subjects(e: &dyn SearchEngine) {
    seeded(e).await;
    let mut found = ids(e, query(1, "printer", Audience::Staff)).await;
    found.sort();
    assert_eq!(found, [1, 2], "the subject and a body both match, only in workspace 1");
    assert_eq!(ids(e, query(1, "refund", Audience::Staff)).await, [2], "internal notes are searched for staff");
    // The address ranks its ticket first (the other's address is within the typo budget).
    assert_eq!(ids(e, query(1, "customer11@example.com", Audience::Staff)).await[0], 2);
    // Ranked: a ticket with the word in its subject and body above one with it once in a body.
    assert_eq!(ids(e, query(1, "printer", Audience::Staff)).await[0], 1);
    let hits = e.search(&query(1, "printer", Audience::Staff)).await.expect("search");
    assert_eq!(hits.total, 2);
}

async fn customers_see_only_their_own_public_messages(e: &dyn SearchEngine) {
    seeded(e).await;
    let ana = Audience::Customer { contact_id: 10 };
    assert_eq!(ids(e, query(1, "printer", ana)).await, [1], "not customer 11's ticket");
    assert!(ids(e, query(1, "known issue", ana)).await.is_empty(), "never an internal note, even their own ticket's");
    assert!(ids(e, query(1, "refund", Audience::Customer { contact_id: 11 })).await.is_empty());
    assert!(ids(e, query(1, "billing", ana)).await.is_empty(), "tags are staff-only");
    assert!(ids(e, query(1, "printer", Audience::Anonymous)).await.is_empty(), "tickets are never public");
    let snippets = e.snippets(&query(1, "printer", ana), &[DocKey::ticket(1), DocKey::ticket(2)]).await.expect("snip");
    assert_eq!(snippets.len(), 1, "no excerpt of another customer's ticket");
    assert!(snippets.iter().all(|(_, s)| s.field != Field::InternalText));
}

async fn workspaces_never_meet(e: &dyn SearchEngine) {
    seeded(e).await;
    assert_eq!(ids(e, query(2, "printer", Audience::Staff)).await, [4]);
    assert!(ids(e, query(2, "refund", Audience::Staff)).await.is_empty());
    assert!(ids(e, query(1, "smoking", Audience::Staff)).await.is_empty());
    assert!(e.snippets(&query(1, "printer", Audience::Staff), &[DocKey::ticket(4)]).await.expect("snip").is_empty());
}

async fn typos_find_the_ticket(e: &dyn SearchEngine) {
    seeded(e).await;
    assert_eq!(ids(e, query(1, "invoyce", Audience::Staff)).await, [2], "one typo in a 7-letter word");
    assert_eq!(ids(e, query(1, "recieved", Audience::Staff)).await, [2], "a swap counts as one typo");
    assert_eq!(ids(e, query(1, "refnud aproved", Audience::Staff)).await, [2]);
    assert!(ids(e, query(1, "lgin", Audience::Staff)).await.is_empty(), "no typo allowed under 5 letters");
    assert!(ids(e, query(1, "xnvoicx", Audience::Staff)).await.is_empty(), "two typos need 9 letters");
    let s = e.snippets(&query(1, "invoyce", Audience::Staff), &[DocKey::ticket(2)]).await.expect("snip");
    assert_eq!(s[0].1.highlights(), ["invoice"], "the excerpt marks the word the typo matched");
}

async fn writes_replace_delete_and_clear(e: &dyn SearchEngine) {
    seeded(e).await;
    e.upsert(vec![ticket(1, 1, 10, "Scanner", "The scanner is slow.", "")]).await.expect("upsert");
    e.commit().await.expect("commit");
    assert!(!ids(e, query(1, "printer", Audience::Staff)).await.contains(&1), "the old text is gone");
    assert_eq!(ids(e, query(1, "scanner", Audience::Staff)).await, [1]);
    e.delete(vec![DocKey::ticket(2)]).await.expect("delete");
    e.commit().await.expect("commit");
    assert!(ids(e, query(1, "invoice", Audience::Staff)).await.is_empty());
    e.clear(DocKind::Ticket).await.expect("clear");
    e.commit().await.expect("commit");
    assert_eq!(e.stats().await.expect("stats").documents, 0);
}

macro_rules! engine_suite {
    ($open:expr) => {
        #[tokio::test]
        async fn staff_search() {
            let (e, _g) = $open;
            staff_find_bodies_notes_requesters_and_subjects(&e).await;
        }
        #[tokio::test]
        async fn customer_search() {
            let (e, _g) = $open;
            customers_see_only_their_own_public_messages(&e).await;
        }
        #[tokio::test]
        async fn workspace_isolation() {
            let (e, _g) = $open;
            workspaces_never_meet(&e).await;
        }
        #[tokio::test]
        async fn typo_tolerance() {
            let (e, _g) = $open;
            typos_find_the_ticket(&e).await;
        }
        #[tokio::test]
        async fn replace_delete_clear() {
            let (e, _g) = $open;
            writes_replace_delete_and_clear(&e).await;
        }
    };
}

mod tantivy {
    use super::*;

    fn open() -> (TantivyEngine, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        (TantivyEngine::open(dir.path()).expect("open"), dir)
    }

    engine_suite!(open());

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
}
