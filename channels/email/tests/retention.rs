//! Transcript retention and the received message's original (`emailOriginal`): the purge takes
//! the original of a purged ticket's message with the transcript and says so, and keeps bytes
//! another record still names. SQLite, or PostgreSQL with TEST_POSTGRES_URL.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use switchboard_desk::domain::*;
use switchboard_desk::store::Store;
use switchboard_desk::*;
use switchboard_email::{EmailDesk, EmailSettings, MailboxRecord, MailboxSettings, Received, ReceivedEmail, receive};

const DAY: Millis = 24 * 3_600_000;

struct Env {
    desk: Desk,
    clock: Arc<ManualClock>,
    admin: Actor,
    mailbox: MailboxRecord,
    dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::connect(&switchboard_testkit::fresh_database_url(dir.path(), "retention").await.unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z").unwrap().timestamp_millis();
    let clock = Arc::new(ManualClock::at(start));
    let auth = AuthConfig { jwt_secret: b"test secret for the email channel".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, clock.clone(), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let admin = Actor::system(ws.id);
    let settings = MailboxSettings {
        name: "Acme Support".into(),
        address: "help@acme.test".into(),
        enabled: true,
        ..Default::default()
    };
    let (mailbox, _) = desk.save_email_mailbox(&admin, None, &settings).await.unwrap();
    Env { desk, clock, admin, mailbox, dir }
}

fn raw(id: &str) -> Vec<u8> {
    format!(
        "From: Robin <robin@customer.test>\r\nTo: help@acme.test\r\nSubject: Printer on fire\r\n\
         Message-ID: <{id}@customer.test>\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nThe printer {id} is on fire.\r\n"
    )
    .into_bytes()
}

impl Env {
    /// Every stored blob, as its bytes.
    fn blobs(&self) -> Vec<Vec<u8>> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() { walk(&p, out) } else { out.push(p) }
            }
        }
        let mut files = Vec::new();
        walk(&self.dir.path().join("blobs"), &mut files);
        files.iter().map(|f| std::fs::read(f).unwrap()).collect()
    }

    /// Makes every stored blob two hours old: the purge spares bytes written in the last hour
    /// (an upload racing it), and a test runs in less.
    fn age_blobs(&self) {
        fn walk(dir: &std::path::Path) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p);
                } else {
                    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
                    std::fs::File::options().write(true).open(&p).unwrap().set_modified(old).unwrap();
                }
            }
        }
        walk(&self.dir.path().join("blobs"));
    }

    /// Takes `raw` in as a new ticket, closes it, and purges its transcript 31 days later.
    async fn ticket_purged_after_retention(&self, raw: &[u8]) -> (TicketId, ChannelMessageId) {
        let ticket = match receive(&self.desk, &EmailSettings::default(), &self.mailbox, raw).await.unwrap() {
            Received::Ticket { ticket_id, opened: true, .. } => ticket_id,
            other => panic!("expected a new ticket, got {other:?}"),
        };
        let records = self.desk.email_messages(&self.admin, "ticket", 10).await.unwrap();
        let record = records.iter().find(|m| m.ticket_id == Some(ticket)).unwrap().id;
        let (_, original) = self.desk.email_original(&self.admin, record).await.unwrap();
        assert_eq!(original, raw);
        self.desk.close(&self.admin, ticket, CloseReason::Resolved, None).await.unwrap();
        let settings = InactivitySettings { transcript_retention_days: Some(30), ..Default::default() };
        self.desk.save_inactivity_settings(&self.admin, settings, None).await.unwrap();
        self.clock.set(self.desk.now() + 31 * DAY);
        self.age_blobs();
        assert_eq!(self.desk.follow_up_quiet_tickets().await.unwrap().purged, 1);
        (ticket, record)
    }
}

#[tokio::test]
async fn retention_removes_a_purged_tickets_original_and_email_original_says_so() {
    let e = env().await;
    let raw = raw("r1");
    let (ticket, record) = e.ticket_purged_after_retention(&raw).await;
    assert!(e.desk.thread(&e.admin, ticket).await.unwrap().is_empty());
    // The bytes went with the transcript...
    assert!(!e.blobs().contains(&raw), "the original is deleted with the transcript");
    // ... and the record of the message no longer points at them: asking says why.
    match e.desk.email_original(&e.admin, record).await {
        Err(err) => assert!(err.to_string().contains("removed by transcript retention"), "{err}"),
        Ok(_) => panic!("the original of a purged ticket's message is still served"),
    }
    let listed = e.desk.email_messages(&e.admin, "ticket", 10).await.unwrap();
    assert!(listed.iter().any(|m| m.id == record && m.ticket_id == Some(ticket)), "the record itself stays");
}

#[tokio::test]
async fn retention_keeps_an_original_another_record_still_names() {
    let e = env().await;
    let raw = raw("r2");
    // The same bytes, also kept as a quarantined message of the mailbox (a second delivery
    // under another key): that record names the blob without any attachment row.
    let kept = ReceivedEmail {
        mailbox: &e.mailbox,
        dedupe_key: "<copy-r2@customer.test>",
        outcome: "quarantined",
        reason: Some("held for review"),
        from_address: Some("robin@customer.test"),
        subject: Some("Printer on fire"),
        ticket_id: None,
        entry_id: None,
        raw: &raw,
    };
    e.desk.record_received_email(&kept).await.unwrap();
    let quarantined = e.desk.email_messages(&e.admin, "quarantined", 10).await.unwrap();
    assert_eq!(quarantined.len(), 1);

    e.ticket_purged_after_retention(&raw).await;
    let (_, bytes) = e.desk.email_original(&e.admin, quarantined[0].id).await.unwrap();
    assert_eq!(bytes, raw, "the quarantined record's original outlives the purged ticket's copy");
}
