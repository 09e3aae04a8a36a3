//! Captures the fixture of the channel-table migration test (migration 0014): runs the code of
//! migration 0013's time through its production paths (mailboxes with sealed passwords and an
//! IMAP cursor, email tickets threaded by Message-ID with an acknowledgement and an auto-reply,
//! a WhatsApp number with a template, a WhatsApp chat ticket answered with the template, a
//! Discord requester, a portal customer) on a SQLite file, then writes every row as portable
//! INSERT statements (booleans as TRUE/FALSE, generated and trigger-kept tables left out).
//!
//! Run on the commit that adds it: `CAPTURE_OUT=path cargo test -p switchboard-email --test
//! capture_old_schema`. The code after 0014 no longer has these APIs, so the file is removed in
//! the next commit; the fixture it wrote stays.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::sync::Arc;

use sqlx::{Row, TypeInfo, ValueRef};
use switchboard_desk::domain::*;
use switchboard_desk::store::IdentityKind;
use switchboard_desk::*;
use switchboard_email::outbound::build_reply;
use switchboard_email::{EmailSettings, Received, receive};

const NOW: i64 = 1_763_900_000_000;

fn mail(from: &str, id: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: help@acme.test\r\nSubject: {subject}\r\nMessage-ID: {id}\r\n\
         Date: Sun, 23 Nov 2025 12:00:00 +0000\r\n{extra}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn capture() {
    let Ok(out) = std::env::var("CAPTURE_OUT") else { panic!("set CAPTURE_OUT to the fixture directory") };
    let out = std::path::PathBuf::from(out);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    let store = switchboard_desk::store::Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::at(NOW));
    let auth = AuthConfig { jwt_secret: b"old schema capture secret".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store.clone(), clock.clone(), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let admin = Actor::system(ws.id);

    // Two mailboxes: one read over IMAP and sending over SMTP (sealed passwords, a cursor), one
    // that only takes posted mail.
    let support = MailboxSettings {
        name: "Acme Support".into(),
        address: "help@acme.test".into(),
        enabled: true,
        imap_host: Some("imap.acme.test".into()),
        imap_user: Some("help".into()),
        imap_password: Some("imap-password-1".into()),
        imap_processed_folder: Some("Done".into()),
        smtp_host: Some("smtp.acme.test".into()),
        smtp_user: Some("help@acme.test".into()),
        smtp_password: Some("smtp-password-1".into()),
        ack_enabled: true,
        ack_template: Some("We have your message, ticket {{ticket.number}}.".into()),
        ..Default::default()
    };
    let (m1, _) = desk.save_email_mailbox(&admin, None, &support).await.unwrap();
    desk.set_email_imap_cursor(&m1, 7, 42).await.unwrap();
    let sales = MailboxSettings {
        name: "Sales".into(),
        address: "sales@acme.test".into(),
        enabled: true,
        ..Default::default()
    };
    let (m2, sales_secret) = desk.save_email_mailbox(&admin, None, &sales).await.unwrap();
    let m1 = desk.email_mailbox_of(ws.id, m1.id).await.unwrap().unwrap();

    // An email ticket, its acknowledgement, a staff reply sent with our Message-ID, and the
    // customer's answer threaded onto it by In-Reply-To.
    let settings = EmailSettings::default();
    let first = mail("Dana <dana@example.com>", "<first@example.com>", "Printer jams", "", "Tray 2 jams.");
    let Received::Ticket { ticket_id: t1, opened: true, .. } = receive(&desk, &settings, &m1, &first).await.unwrap()
    else {
        panic!("no ticket")
    };
    clock.set(NOW + 60_000);
    desk.reply(&admin, t1, "Please try tray 1.", Vec::new(), None).await.unwrap();
    let due = desk.due_outbox(Channel::Email, 10).await.unwrap();
    let mut staff_message_id = String::new();
    for (id, _) in due {
        let msg = desk.outbound_message(id).await.unwrap().unwrap();
        let (_, mid) = build_reply(&msg, &m1).unwrap();
        let sent = DeliveryOutcome::Sent { external_message_id: Some(mid.clone()) };
        desk.record_outbox_attempt(&msg, &sent, 1000).await.unwrap();
        if msg.body.contains("tray 1") {
            staff_message_id = mid;
        }
    }
    assert!(!staff_message_id.is_empty());
    clock.set(NOW + 120_000);
    let answer = mail(
        "Dana <dana@example.com>",
        "<second@example.com>",
        "Re: Printer jams",
        &format!("In-Reply-To: {staff_message_id}\r\nReferences: <first@example.com> {staff_message_id}\r\n"),
        "Tray 1 works.",
    );
    let Received::Ticket { ticket_id, opened: false, .. } = receive(&desk, &settings, &m1, &answer).await.unwrap()
    else {
        panic!("not threaded")
    };
    assert_eq!(ticket_id, t1);
    let auto = mail(
        "Robo <robo@example.com>",
        "<auto@example.com>",
        "Out of office",
        "Auto-Submitted: auto-replied\r\n",
        "Away.",
    );
    assert!(matches!(receive(&desk, &settings, &m1, &auto).await.unwrap(), Received::AutoReply { .. }));
    // A ticket that came in through the second mailbox.
    let to_sales = mail("Erin <erin@example.com>", "<sales-1@example.com>", "A quote", "", "For 10 printers.");
    let Received::Ticket { opened: true, .. } = receive(&desk, &settings, &m2, &to_sales).await.unwrap() else {
        panic!("no sales ticket")
    };

    // A portal customer whose phone is their WhatsApp number: WhatsApp finds them by phone.
    let pat = ContactInput {
        name: "Pat".into(),
        email: Some("pat@example.com".into()),
        phone: Some("+4915112345678".into()),
        portal_password: Some("portal-password-1".into()),
        ..Default::default()
    };
    desk.create_contact(&admin, pat).await.unwrap();
    let number = WhatsappNumberInput {
        phone_number_id: "106540352242922".into(),
        display_phone_number: "+1 555 010 0000".into(),
        access_token: Some("EAAG-token-1".into()),
        template_name: Some("hello_world".into()),
        template_language: Some("en_US".into()),
    };
    desk.save_whatsapp_number(&admin, None, number).await.unwrap();
    // A WhatsApp-only contact (created from their WhatsApp id) with a chat ticket, the message
    // marked handled, the conversation state, and a template reply outside the window.
    let wa = desk.whatsapp_contact(&admin, "4917000000001", Some("Wendy")).await.unwrap();
    desk.mark_whatsapp_message_seen(&admin, "wamid.IN1").await.unwrap();
    desk.set_whatsapp_conversation(&admin, "4917000000001", "106540352242922", "idle", None).await.unwrap();
    let chat = desk
        .open_chat_ticket(&admin, &wa.contact, "4917000000001", "Toner", "Toner is empty.", "wamid.IN1")
        .await
        .unwrap();
    clock.set(NOW + 25 * 3600 * 1000);
    desk.reply_with_whatsapp_template(&admin, chat.id).await.unwrap();
    let _ = desk.store_whatsapp_notification("{\"object\":\"whatsapp_business_account\",\"entry\":[]}").await.unwrap();

    // A Discord requester.
    let discord = InboundMessage {
        channel: Channel::Discord,
        thread_key: Some("chat:c-1".into()),
        ticket_id: None,
        external_message_id: "d-1".into(),
        sender_kind: IdentityKind::Discord,
        sender_value: "u-4711".into(),
        sender_name: Some("Casey".into()),
        subject: None,
        text: "The portal is down.".into(),
        attachments: Vec::new(),
    };
    desk.ingest(&admin, discord).await.unwrap();
    store.close().await;

    // Every row as portable INSERTs, in table-creation order (which follows the foreign keys).
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE 'tickets_subject_search%' AND name NOT IN ('_sqlx_migrations', 'ticket_counters') ORDER BY rowid",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut sql = String::from(
        "-- Rows written by the code of migration 0013's time (channels/email/tests/capture_old_schema.rs\n\
         -- in this file's first commit). Loaded into a database migrated to 0013, then migrated on.\n",
    );
    for table in tables {
        let cols: Vec<(String, String)> = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_xinfo({table})")))
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .filter(|r| r.get::<i64, _>("hidden") == 0)
            .map(|r| (r.get("name"), r.get("type")))
            .collect();
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {} FROM {table} ORDER BY rowid", names.join(", "))))
            .fetch_all(&pool)
            .await
            .unwrap();
        for row in rows {
            let mut values = Vec::new();
            for (i, (_, ty)) in cols.iter().enumerate() {
                let raw = row.try_get_raw(i).unwrap();
                let v = if raw.is_null() {
                    "NULL".to_string()
                } else if ty.eq_ignore_ascii_case("BOOLEAN") {
                    if row.get::<i64, _>(i) != 0 { "TRUE".into() } else { "FALSE".into() }
                } else {
                    match raw.type_info().name() {
                        "INTEGER" => row.get::<i64, _>(i).to_string(),
                        "REAL" => row.get::<f64, _>(i).to_string(),
                        "BLOB" => panic!("a BLOB in {table}"),
                        _ => format!("'{}'", row.get::<String, _>(i).replace('\'', "''")),
                    }
                };
                values.push(v);
            }
            writeln!(sql, "INSERT INTO {table} ({}) VALUES ({});", names.join(", "), values.join(", ")).unwrap();
        }
    }
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("old_schema_0013.sql"), sql).unwrap();
    let facts = serde_json::json!({
        "server_secret": "old schema capture secret",
        "now": NOW + 25 * 3600 * 1000,
        "sales_inbound_secret": sales_secret,
        "staff_message_id": staff_message_id,
    });
    std::fs::write(out.join("old_schema_0013.json"), serde_json::to_string_pretty(&facts).unwrap()).unwrap();
}
