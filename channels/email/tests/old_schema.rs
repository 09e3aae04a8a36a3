//! Migration 0014 (the generic channel tables) on a database an older release left: the schema
//! is built up to 0013 only, filled with `fixtures/old_schema_0013.sql` (rows the code of that
//! time wrote, captured by running it: mailboxes with sealed passwords and an IMAP cursor,
//! threaded email tickets, a WhatsApp number, a chat ticket answered with a template, Discord and
//! portal contacts), then migrated on. The production code must then thread a reply email onto
//! its ticket, send a staff reply from the right mailbox with the old passwords, sign the portal
//! customer in, and find every contact by the identity it had. SQLite by default; with
//! `TEST_POSTGRES_URL` (a server URL without a database) the same on a fresh PostgreSQL database,
//! as `.ci/run`'s PostgreSQL stage runs it.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use sqlx::Row;
use switchboard_desk::domain::*;
use switchboard_desk::store::{IdentityKind, Store};
use switchboard_desk::*;
use switchboard_email::outbound::build_reply;
use switchboard_email::*;
use switchboard_email::{EmailSettings, Received, receive};
use switchboard_whatsapp::WhatsappDesk;

const FIXTURE: &str = include_str!("fixtures/old_schema_0013.sql");
const FACTS: &str = include_str!("fixtures/old_schema_0013.json");

struct Env {
    desk: Desk,
    admin: Actor,
    facts: serde_json::Value,
    _dir: tempfile::TempDir,
}

/// The fixture's statements: each starts an `INSERT INTO` line (values may span lines).
fn statements() -> Vec<String> {
    let body: String = FIXTURE.lines().filter(|l| !l.starts_with("--")).collect::<Vec<_>>().join("\n");
    body.split("\nINSERT INTO ")
        .map(|s| s.trim().trim_start_matches("INSERT INTO ").trim_end_matches(';').to_string())
        .filter(|s| !s.is_empty())
        .map(|s| format!("INSERT INTO {s}"))
        .collect()
}

async fn migrated_old_database() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = switchboard_testkit::fresh_database_url(dir.path(), "old_schema").await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate_up_to(13).await.unwrap();
    let inserts = statements();
    assert!(inserts.len() > 40, "the fixture has its rows ({})", inserts.len());
    match &store {
        Store::Sqlite { writer, .. } => {
            for sql in &inserts {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).execute(writer).await.unwrap();
            }
        }
        Store::Postgres(pool) => {
            for sql in &inserts {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).execute(pool).await.unwrap();
            }
            // The rows came with their ids: move each identity past them, as an installation
            // that wrote them itself would have it.
            let identities = sqlx::query(
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND is_identity = 'YES'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for row in identities {
                let (t, c): (String, String) = (row.get("t"), row.get("c"));
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', '{c}'), COALESCE((SELECT MAX({c}) FROM {t}), 0) + 1, false)"
                );
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(pool).await.unwrap();
            }
        }
    }
    store.migrate().await.unwrap();
    let facts: serde_json::Value = serde_json::from_str(FACTS).unwrap();
    let clock = Arc::new(ManualClock::at(facts["now"].as_i64().unwrap() + 3_600_000));
    let secret = facts["server_secret"].as_str().unwrap().as_bytes().to_vec();
    let auth = AuthConfig { jwt_secret: secret, token_ttl_secs: 3600 };
    let desk = Desk::new(store, clock, BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.workspace_by_slug("acme").await.unwrap();
    Env { desk, admin: Actor::system(ws.id), facts, _dir: dir }
}

fn mail(from: &str, id: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: help@acme.test\r\nSubject: {subject}\r\nMessage-ID: {id}\r\n\
         Date: Mon, 24 Nov 2025 13:00:00 +0000\r\n{extra}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn mailboxes_keep_their_ids_settings_cursor_and_sealed_passwords() {
    let e = migrated_old_database().await;
    let mailboxes = e.desk.email_mailboxes(&e.admin).await.unwrap();
    let names: Vec<(i64, &str, &str)> =
        mailboxes.iter().map(|m| (m.id.0, m.name.as_str(), m.address.as_str())).collect();
    assert_eq!(names, [(1, "Acme Support", "help@acme.test"), (2, "Sales", "sales@acme.test")]);
    let support = &mailboxes[0];
    assert_eq!(support.imap_host.as_deref(), Some("imap.acme.test"));
    assert_eq!((support.imap_uid_validity, support.imap_last_uid), (Some(7), 42));
    assert_eq!(support.imap_processed_folder.as_deref(), Some("Done"));
    assert_eq!((support.smtp_host.as_deref(), support.smtp_port), (Some("smtp.acme.test"), 587));
    assert!(support.ack_enabled);
    assert_eq!(support.ack_template.as_deref(), Some("We have your message, ticket {{ticket.number}}."));
    let credentials = e.desk.email_credentials(support).unwrap();
    assert_eq!(credentials.imap_password.as_deref(), Some("imap-password-1"));
    assert_eq!(credentials.smtp_password.as_deref(), Some("smtp-password-1"));
    // The poller still finds the IMAP mailbox, and the inbound endpoint still takes the secret
    // the mail server was configured with, under the same mailbox id.
    let polled: Vec<i64> = e.desk.email_imap_mailboxes().await.unwrap().iter().map(|m| m.id.0).collect();
    assert_eq!(polled, [1]);
    let secret = e.facts["sales_inbound_secret"].as_str().unwrap();
    assert_eq!(e.desk.email_mailbox_for_inbound(ChannelAccountId(2), secret).await.unwrap().address, "sales@acme.test");
    assert!(e.desk.email_mailbox_for_inbound(ChannelAccountId(2), "not the secret").await.is_err());
    // The received-message records: the auto-reply is still listed.
    let auto = e.desk.email_messages(&e.admin, "auto_reply", 10).await.unwrap();
    assert_eq!(auto.iter().map(|m| m.dedupe_key.as_str()).collect::<Vec<_>>(), ["<auto@example.com>"]);
}

#[tokio::test]
async fn a_reply_email_threads_and_a_staff_reply_goes_out_from_the_ticket_s_mailbox() {
    let e = migrated_old_database().await;
    let settings = EmailSettings::default();
    let support = e.desk.email_mailbox_of(e.admin.workspace_id, ChannelAccountId(1)).await.unwrap().unwrap();
    let printer = e.desk.ticket_by_number(&e.admin, "SD-00001").await.unwrap();
    assert_eq!(printer.subject, "Printer jams");

    // A redelivered message is recognised from the old record; a new answer to our reply threads.
    let again = mail("Dana <dana@example.com>", "<second@example.com>", "Re: Printer jams", "", "Tray 1 works.");
    assert!(matches!(
        receive(&e.desk, &settings, &support, &again).await.unwrap(),
        Received::Ticket { duplicate: true, .. }
    ));
    let staff_id = e.facts["staff_message_id"].as_str().unwrap();
    let answer = mail(
        "Dana <dana@example.com>",
        "<third@example.com>",
        "Re: Printer jams",
        &format!("In-Reply-To: {staff_id}\r\nReferences: <first@example.com> {staff_id}\r\n"),
        "And tray 2 works again too.",
    );
    match receive(&e.desk, &settings, &support, &answer).await.unwrap() {
        Received::Ticket { ticket_id, opened: false, duplicate: false } => assert_eq!(ticket_id, printer.id),
        other => panic!("expected a reply on {:?}, got {other:?}", printer.id),
    }

    // A staff reply on each email ticket goes out from the mailbox the ticket came in through,
    // threaded onto the customer's messages.
    let sales_ticket = e.desk.ticket_by_number(&e.admin, "SD-00002").await.unwrap();
    for (t, address) in [(&printer, "help@acme.test"), (&sales_ticket, "sales@acme.test")] {
        let mailbox = e.desk.email_mailbox_for_ticket(t.workspace_id, t.id).await.unwrap().unwrap();
        assert_eq!(mailbox.address, address);
        e.desk.reply(&e.admin, t.id, "Thanks, closing this.", Vec::new(), None).await.unwrap();
        let (outbox_id, _) = *e.desk.due_outbox(Channel::Email, 10).await.unwrap().last().unwrap();
        let msg = e.desk.outbound_message(outbox_id).await.unwrap().unwrap();
        assert_eq!(msg.ticket_id, t.id);
        let (email, _) = build_reply(&msg, &mailbox).unwrap();
        let wire = String::from_utf8(email.formatted()).unwrap();
        let from = wire.lines().find(|l| l.starts_with("From: ")).unwrap();
        assert!(from.contains(&mailbox.name) && from.ends_with(&format!("<{address}>")), "{wire}");
        if t.id == printer.id {
            assert!(wire.contains("In-Reply-To: <third@example.com>"), "{wire}");
            assert!(wire.contains("<first@example.com>"), "{wire}");
        }
        let sent = DeliveryOutcome::Sent { external_message_id: Some(format!("<out-{}@acme.test>", t.id.0)) };
        e.desk.record_outbox_attempt(&msg, &sent, 1000).await.unwrap();
    }
}

#[tokio::test]
async fn the_portal_customer_signs_in_and_contacts_are_found_by_their_old_identities() {
    let e = migrated_old_database().await;
    let login = e.desk.login_customer("pat@example.com", "portal-password-1", Some("acme"), None).await;
    assert!(login.is_ok(), "{login:?}");
    assert!(e.desk.login_customer("pat@example.com", "wrong password", Some("acme"), None).await.is_err());

    // WhatsApp: the number routes with its sealed token and template; the contact is the one
    // created from their WhatsApp id, the handled message is still handled.
    let route = e.desk.whatsapp_route("106540352242922").await.unwrap().unwrap();
    assert_eq!(route.access_token, "EAAG-token-1");
    assert_eq!(route.template, Some(("hello_world".into(), "en_US".into())));
    let wendy = e.desk.whatsapp_contact(&e.admin, "4917000000001", None).await.unwrap();
    assert_eq!((wendy.contact.name.as_str(), wendy.identity_kind), ("Wendy", IdentityKind::Channel(Channel::Whatsapp)));
    assert_eq!(wendy.contact.identity(Channel::Whatsapp), Some("4917000000001"));
    assert!(e.desk.whatsapp_message_seen("wamid.IN1").await.unwrap());
    // Pat is still found by the phone number WhatsApp ids map to.
    let pat = e.desk.whatsapp_contact(&e.admin, "4915112345678", None).await.unwrap();
    assert_eq!((pat.contact.name.as_str(), pat.identity_kind), ("Pat", IdentityKind::Phone));

    // The chat ticket is still answered on WhatsApp, and its template reply still goes out as
    // the template.
    let chat = e.desk.requester_tickets(&e.admin, wendy.contact.id, 10).await.unwrap().remove(0);
    assert_eq!((chat.source, chat.channel), (Source::Chat, Channel::Whatsapp));
    let thread = e.desk.thread(&e.admin, chat.id).await.unwrap();
    let template_entry = thread.last().unwrap().entry.id;
    assert_eq!(
        e.desk.whatsapp_template_of_entry(template_entry).await.unwrap(),
        Some(("hello_world".into(), "en_US".into()))
    );
    let again = e.desk.reply_with_whatsapp_template(&e.admin, chat.id).await.unwrap();
    assert_eq!(
        e.desk.whatsapp_template_of_entry(again.entry.id).await.unwrap(),
        Some(("hello_world".into(), "en_US".into()))
    );

    // Discord: the next message in the conversation lands on Casey's ticket.
    let discord = InboundMessage {
        channel: Channel::Discord,
        thread_key: Some("chat:c-1".into()),
        ticket_id: None,
        external_message_id: "d-2".into(),
        sender_kind: IdentityKind::Channel(Channel::Discord),
        sender_value: "u-4711".into(),
        sender_name: Some("Casey".into()),
        subject: None,
        text: "Still down.".into(),
        attachments: Vec::new(),
    };
    let out = e.desk.ingest(&e.admin, discord).await.unwrap();
    assert!(!out.opened);
    let t = e.desk.ticket(&e.admin, out.ticket_id).await.unwrap();
    let casey = e.desk.contact(&e.admin, t.requester_id).await.unwrap();
    assert_eq!((casey.name.as_str(), casey.identity(Channel::Discord)), ("Casey", Some("u-4711")));
}
