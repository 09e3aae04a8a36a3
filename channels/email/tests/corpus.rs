//! The corpus under `tests/corpus/`: each message goes through the real inbound path (parse,
//! thread, `Desk::ingest`) on a real SQLite database, and each asserts the ticket it lands on (or
//! none), the stored text and the attachments. SQLite by default; with `TEST_POSTGRES_URL` (a
//! server URL without a database) each test gets a fresh PostgreSQL database.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use switchboard_desk::domain::*;
use switchboard_desk::*;
use switchboard_email::outbound::{build_reply, outbound_message_id};
use switchboard_email::parse::{MAX_ATTACHMENTS, MAX_MESSAGE_ID_BYTES, MAX_THREAD_IDS, marker};
use switchboard_email::*;
use switchboard_email::{EmailSettings, Received, Rejection, parse_email, receive};
use switchboard_whatsapp::WhatsappDesk;

struct Env {
    desk: Desk,
    admin: Actor,
    mailbox: MailboxRecord,
    settings: EmailSettings,
    _dir: tempfile::TempDir,
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn corpus_with(name: &str, our_id: &str, marker: &str) -> Vec<u8> {
    String::from_utf8(corpus(name)).unwrap().replace("%OURID%", our_id).replace("%MARKER%", marker).into_bytes()
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = switchboard_desk::store::Store::connect(
        &switchboard_testkit::fresh_database_url(dir.path(), "email").await.unwrap(),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"test secret for the email channel".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.path().join("blobs")), auth)
        // The test mail servers listen on loopback: allowed as an operator would allow them.
        .with_outbound(egress::OutboundGuard::with_policy(OutboundPolicy::parse("127.0.0.0/8,::1").unwrap()));
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let admin = Actor::system(ws.id);
    let settings = MailboxSettings {
        name: "Acme Support".into(),
        address: "help@acme.test".into(),
        enabled: true,
        smtp_host: Some("127.0.0.1".into()),
        smtp_security: Some("plain".into()),
        ..Default::default()
    };
    let (mailbox, secret) = desk.save_email_mailbox(&admin, None, &settings).await.unwrap();
    assert!(secret.is_some(), "a new mailbox gets an inbound secret, shown once");
    Env { desk, admin, mailbox, settings: EmailSettings::default(), _dir: dir }
}

impl Env {
    async fn take(&self, raw: &[u8]) -> Received {
        receive(&self.desk, &self.settings, &self.mailbox, raw).await.unwrap()
    }

    async fn opened(&self, raw: &[u8]) -> TicketId {
        match self.take(raw).await {
            Received::Ticket { ticket_id, opened: true, duplicate: false } => ticket_id,
            other => panic!("expected a new ticket, got {other:?}"),
        }
    }

    async fn threaded(&self, raw: &[u8]) -> TicketId {
        match self.take(raw).await {
            Received::Ticket { ticket_id, opened: false, duplicate: false } => ticket_id,
            other => panic!("expected a reply on a ticket, got {other:?}"),
        }
    }

    async fn thread(&self, t: TicketId) -> Vec<ThreadEntry> {
        self.desk.thread(&self.admin, t).await.unwrap()
    }

    async fn last(&self, t: TicketId) -> ThreadEntry {
        self.thread(t).await.pop().unwrap()
    }

    async fn no_ticket_numbered(&self, n: &str) {
        assert!(matches!(self.desk.ticket_by_number(&self.admin, n).await, Err(DeskError::NotFound(_))), "{n} exists");
    }

    /// A staff reply on `t`, "sent" with the Message-ID the email sender gives it.
    async fn staff_reply(&self, t: TicketId, body: &str) -> String {
        self.desk.reply(&self.admin, t, body, Vec::new(), None).await.unwrap();
        let due = self.desk.due_outbox(Channel::Email, 10).await.unwrap();
        let (outbox_id, _) = *due.last().unwrap();
        let msg = self.desk.outbound_message(outbox_id).await.unwrap().unwrap();
        let (email, id) = build_reply(&msg, &self.mailbox).unwrap();
        assert_eq!(id, outbound_message_id(&msg, "help@acme.test"));
        // The headers thread onto what the customer wrote, the subject carries the tag and both
        // parts carry the marker.
        let wire = String::from_utf8(email.formatted()).unwrap();
        let last = msg.thread_message_ids.last().unwrap();
        assert!(wire.contains(&format!("In-Reply-To: {last}")), "{wire}");
        assert!(wire.contains(&format!("References: {}", msg.thread_message_ids.join(" "))), "{wire}");
        assert!(wire.contains(&format!("Subject: Re: {} [{}]", msg.ticket_subject, msg.ticket_number)), "{wire}");
        assert!(wire.contains(&format!("Message-ID: {id}")), "{wire}");
        let mark = marker(msg.workspace_id.0, msg.ticket_id.0);
        assert_eq!(wire.matches(&mark).count(), 2, "{wire}");
        let sent = DeliveryOutcome::Sent { external_message_id: Some(id.clone()) };
        self.desk.record_outbox_attempt(&msg, &sent, 1000).await.unwrap();
        id
    }
}

fn names(e: &ThreadEntry) -> Vec<String> {
    e.attachments.iter().map(|a| a.file_name.clone()).collect()
}

#[tokio::test]
async fn the_corpus_lands_where_it_should() {
    let env = env().await;
    // A new message opens a ticket for its sender, without the signature, original attached.
    let t1 = env.opened(&corpus("01-new-plain.eml")).await;
    let ticket = env.desk.ticket(&env.admin, t1).await.unwrap();
    assert_eq!(ticket.display_number(), "SD-00001");
    assert_eq!(ticket.subject, "Printer on fire");
    assert_eq!(ticket.source, Source::Email);
    assert_eq!(ticket.requester_email.as_deref(), Some("alice@customer.test"));
    assert_eq!(ticket.requester_name, "Alice Customer");
    let first = env.last(t1).await;
    assert_eq!(first.entry.body, "Hello,\n\nthe printer on floor 3 is on fire again.");
    assert_eq!(names(&first), ["original.eml"]);
    let (_, original) = env.desk.attachment(&env.admin, first.attachments[0].id).await.unwrap();
    assert_eq!(original, corpus("01-new-plain.eml"), "the original is kept byte for byte");

    let ours = env.staff_reply(t1, "We are sending someone over.").await;
    let mark = marker(env.admin.workspace_id.0, t1.0);

    // Gmail: In-Reply-To our Message-ID, "On ... wrote:" wrapped over two lines, quoted lines.
    assert_eq!(env.threaded(&corpus_with("02-gmail-reply.eml", &ours, &mark)).await, t1);
    assert_eq!(env.last(t1).await.entry.body, "Thanks, the extinguisher worked.");
    // Outlook: only References to the customer's own first message, "-----Original Message-----".
    assert_eq!(env.threaded(&corpus("03-outlook-reply.eml")).await, t1);
    assert_eq!(env.last(t1).await.entry.body, "It is burning again, please send someone today.\n\nRegards,\nAlice");
    // Apple Mail: quoted-printable, "Sent from my iPhone" then the quote.
    assert_eq!(env.threaded(&corpus_with("04-apple-mail-reply.eml", &ours, &mark)).await, t1);
    assert_eq!(env.last(t1).await.entry.body, "The technician arrived, all good now.");
    // No In-Reply-To or References, only the tag in the subject.
    assert_eq!(env.threaded(&corpus("05-tag-only.eml")).await, t1);
    assert_eq!(env.last(t1).await.entry.body, "My client dropped your headers, but the tag is still here.");
    // A new subject, but the headers say it is a reply.
    assert_eq!(env.threaded(&corpus_with("06-changed-subject.eml", &ours, &mark)).await, t1);
    assert_eq!(env.last(t1).await.entry.body, "While you are here: the scanner jams too.");
    // Neither headers nor tag: the hidden marker in the quoted body.
    assert_eq!(env.threaded(&corpus_with("07-marker-only.eml", &ours, &mark)).await, t1);
    assert_eq!(env.last(t1).await.entry.body, "Following up by a client that strips every header.");
    // The same message again (a re-fetch, a re-post) changes nothing.
    let entries = env.thread(t1).await.len();
    assert!(matches!(
        env.take(&corpus_with("02-gmail-reply.eml", &ours, &mark)).await,
        Received::Ticket { duplicate: true, .. }
    ));
    assert_eq!(env.thread(t1).await.len(), entries);

    // Charsets: ISO-8859-1 quoted-printable with an encoded-word subject and name.
    let t2 = env.opened(&corpus("08-iso-8859-1.eml")).await;
    let ticket = env.desk.ticket(&env.admin, t2).await.unwrap();
    assert_eq!(ticket.subject, "Café brûlant");
    assert_eq!(ticket.requester_name, "François Pérez");
    assert_eq!(
        env.last(t2).await.entry.body,
        "Bonjour,\n\nle café est trop chaud et la crème a tourné. Où est le responsable ?"
    );
    // Shift_JIS in base64.
    let t3 = env.opened(&corpus("09-shift-jis.eml")).await;
    assert_eq!(env.desk.ticket(&env.admin, t3).await.unwrap().subject, "配送について");
    assert_eq!(env.last(t3).await.entry.body, "注文番号1234の配送について質問があります。");
    // Windows-1252 in 8 bits: curly quotes, the en dash and the euro sign.
    let t4 = env.opened(&corpus("10-windows-1252.eml")).await;
    assert_eq!(env.last(t4).await.entry.body, "\u{201c}Quoted\u{201d} price \u{2013} \u{20ac}20 per month.");
    // HTML only: readable text, no tags or styles.
    let t5 = env.opened(&corpus("11-html-only.eml")).await;
    let body = env.last(t5).await.entry.body;
    assert!(body.starts_with("Hi team,"), "{body:?}");
    assert!(body.contains("I never got the March invoice.") && body.contains("Could you resend it?"), "{body:?}");
    assert!(!body.contains('<') && !body.contains("color"), "{body:?}");
    // An inline image and an attachment, both stored, beside the original.
    let t6 = env.opened(&corpus("12-attachments.eml")).await;
    let e = env.last(t6).await;
    assert!(
        e.entry.body.contains("See the error below:") && e.entry.body.contains("Report attached."),
        "{:?}",
        e.entry.body
    );
    let mut got: Vec<(String, String)> =
        e.attachments.iter().map(|a| (a.file_name.clone(), a.content_type.clone())).collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("attachment-1.png".to_string(), "image/png".to_string()),
            ("original.eml".to_string(), "message/rfc822".to_string()),
            ("report.pdf".to_string(), "application/pdf".to_string()),
        ]
    );
    let pdf = e.attachments.iter().find(|a| a.file_name == "report.pdf").unwrap();
    let (_, bytes) = env.desk.attachment(&env.admin, pdf.id).await.unwrap();
    assert!(bytes.starts_with(b"%PDF-1.4"));
    // No Message-ID: a content hash dedupes it.
    let raw = corpus("13-no-message-id.eml");
    let t7 = env.opened(&raw).await;
    assert_eq!(env.last(t7).await.entry.body, "My mail client sends no Message-ID.");
    assert_eq!(env.take(&raw).await, Received::Ticket { ticket_id: t7, opened: false, duplicate: true });
    env.no_ticket_numbered("SD-00008").await;

    // An out-of-office: neither a ticket nor an entry, even though it threads.
    let entries = env.thread(t1).await.len();
    match env.take(&corpus_with("14-auto-reply.eml", &ours, &mark)).await {
        Received::AutoReply { reason, duplicate: false } => assert_eq!(reason, "Auto-Submitted: auto-replied"),
        other => panic!("{other:?}"),
    }
    assert_eq!(env.thread(t1).await.len(), entries);
    env.no_ticket_numbered("SD-00008").await;

    // A bounce of our reply: that entry's delivery failed, a note with the report on its ticket.
    assert_eq!(
        env.take(&corpus_with("15-bounce.eml", &ours, &mark)).await,
        Received::Bounce { ticket_id: Some(t1), duplicate: false }
    );
    let thread = env.thread(t1).await;
    let reply = thread.iter().find(|e| e.entry.external_message_id.as_deref() == Some(ours.as_str())).unwrap();
    assert_eq!(reply.entry.delivery_status.as_deref(), Some("failed"));
    assert!(reply.entry.delivery_error.as_deref().unwrap().contains("User unknown"));
    let note = thread.last().unwrap();
    assert_eq!(note.entry.kind, EntryKind::Note);
    assert!(note.entry.body.contains("550 5.1.1"), "{}", note.entry.body);
    assert_eq!(names(note), ["delivery-report.eml"]);
    env.no_ticket_numbered("SD-00008").await;

    // Unreadable mail is quarantined with its reason, listed for admins, and blocks nothing.
    for (file, reason) in [("16-malformed.eml", "no header block"), ("17-no-from.eml", "no From address")] {
        match env.take(&corpus(file)).await {
            Received::Quarantined { rejection: Rejection::Unparseable(r), duplicate: false } => {
                assert!(r.contains(reason), "{file}: {r}")
            }
            other => panic!("{file}: {other:?}"),
        }
    }
    let quarantined = env.desk.email_messages(&env.admin, "quarantined", 50).await.unwrap();
    assert_eq!(quarantined.len(), 2);
    assert!(quarantined.iter().any(|m| m.reason.as_deref().is_some_and(|r| r.contains("no From address"))));
    let (_, kept) = env.desk.email_original(&env.admin, quarantined[0].id).await.unwrap();
    assert!(!kept.is_empty());
    env.no_ticket_numbered("SD-00008").await;
    // Mail after the bad ones still comes in.
    let t8 = env.opened(b"From: zed@customer.test\nSubject: after\nMessage-ID: <after@x>\n\nstill flowing\n").await;
    assert_eq!(env.last(t8).await.entry.body, "still flowing");
    // A stranger typing the tag (or pasting the marker) gets a ticket of their own.
    let stranger = format!("From: mallory@elsewhere.test\nSubject: Re: [SD-00001]\nMessage-ID: <m@x>\n\nhi [{mark}]\n");
    let t9 = env.opened(stranger.as_bytes()).await;
    assert_ne!(t9, t1);
}

#[tokio::test]
async fn too_large_mail_is_refused_with_the_limit() {
    let mut env = env().await;
    env.settings.max_message_bytes = 300;
    let raw = corpus("01-new-plain.eml");
    match env.take(&raw).await {
        Received::Quarantined { rejection: Rejection::TooLarge { size, limit: 300 }, .. } => {
            assert_eq!(size, raw.len())
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        Rejection::TooLarge { size: 347, limit: 300 }.to_string(),
        "the message is 347 bytes; this mailbox takes at most 300"
    );
    env.no_ticket_numbered("SD-00001").await;
}

#[tokio::test]
async fn acknowledgements_are_templated_rate_limited_and_never_for_auto_replies() {
    let env = env().await;
    let settings = MailboxSettings {
        name: "Sales".into(),
        address: "sales@acme.test".into(),
        enabled: true,
        ack_enabled: true,
        ack_template: Some("Got it, {{requester.name}}: {{ticket.number}}.".into()),
        ..Default::default()
    };
    let (sales, _) = env.desk.save_email_mailbox(&env.admin, None, &settings).await.unwrap();
    let bad = MailboxSettings { ack_template: Some("{{nope.var}}".into()), ..settings.clone() };
    match env.desk.save_email_mailbox(&env.admin, Some(sales.id), &bad).await {
        Err(DeskError::Validation(v)) => assert_eq!(v.field, "ackTemplate"),
        other => panic!("{other:?}"),
    }
    let mut acked = 0;
    for i in 0..5 {
        let raw =
            format!("From: Pat <pat@customer.test>\nSubject: order {i}\nMessage-ID: <order-{i}@c>\n\nhello {i}\n");
        let t = match receive(&env.desk, &env.settings, &sales, raw.as_bytes()).await.unwrap() {
            Received::Ticket { ticket_id, opened: true, .. } => ticket_id,
            other => panic!("{other:?}"),
        };
        let thread = env.thread(t).await;
        if let Some(ack) = thread.iter().find(|e| e.entry.author_contact_id.is_none()) {
            acked += 1;
            let number = env.desk.ticket(&env.admin, t).await.unwrap().display_number();
            assert_eq!(ack.entry.body, format!("Got it, Pat: {number}."));
            assert_eq!(ack.entry.delivery_status.as_deref(), Some("pending"), "it goes out through the outbox");
        }
    }
    assert_eq!(acked, 3, "at most three acknowledgements per sender and hour");
    // Acknowledgements say they are automatic, so autoresponders leave them alone.
    let due = env.desk.due_outbox(Channel::Email, 50).await.unwrap();
    let msg = env.desk.outbound_message(due[0].0).await.unwrap().unwrap();
    let (email, _) = build_reply(&msg, &sales).unwrap();
    assert!(String::from_utf8(email.formatted()).unwrap().contains("Auto-Submitted: auto-replied"));
    let auto = "From: ooo@customer.test\nSubject: away\nMessage-ID: <away@c>\nPrecedence: auto_reply\n\naway\n";
    assert!(matches!(
        receive(&env.desk, &env.settings, &sales, auto.as_bytes()).await.unwrap(),
        Received::AutoReply { .. }
    ));
    // Replies go out from the mailbox the ticket came in through.
    let t = env.desk.ticket_by_number(&env.admin, "SD-00001").await.unwrap();
    let m = env.desk.email_mailbox_for_ticket(env.admin.workspace_id, t.id).await.unwrap().unwrap();
    assert_eq!(m.address, "sales@acme.test");
}

#[tokio::test]
async fn overlong_subjects_names_and_file_names_are_cut_not_refused() {
    let env = env().await;
    let subject = "S".repeat(300);
    let name = "N".repeat(150);
    let file = format!("{}.pdf", "f".repeat(200));
    let raw = format!(
        "From: {name} <long@customer.test>\nSubject: {subject}\nMessage-ID: <long@c>\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nsee attached\n--b\n\
         Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"{file}\"\n\n%PDF\n--b--\n"
    );
    let t = env.opened(raw.as_bytes()).await;
    let ticket = env.desk.ticket(&env.admin, t).await.unwrap();
    assert_eq!(ticket.subject, "S".repeat(200));
    assert_eq!(ticket.requester_name, "N".repeat(120));
    let e = env.last(t).await;
    let pdf = e.attachments.iter().find(|a| a.file_name.ends_with("~.pdf")).unwrap();
    assert_eq!(pdf.file_name.chars().count(), 120);
}

#[tokio::test]
async fn html_only_replies_lose_their_quoted_history() {
    let env = env().await;
    let t1 = env.opened(&corpus("01-new-plain.eml")).await;
    let ours = env.staff_reply(t1, "We are sending someone over.").await;
    let mark = marker(env.admin.workspace_id.0, t1.0);
    for (file, expected) in [
        ("18-gmail-html-reply.eml", "The fire is out, thank you.\n\nAlice"),
        ("19-outlook-web-html-reply.eml", "Still smoking a little. Can someone check the fuse box?"),
        (
            "20-outlook-desktop-html-reply.eml",
            "The technician left, but the printer shows error E42 now.\n\nRegards,\nAlice",
        ),
        ("21-apple-mail-html-reply.eml", "Paper jam cleared, all good now.\n\nAlice"),
        ("22-thunderbird-html-reply.eml", "The new toner arrived, thanks."),
    ] {
        let raw = corpus_with(file, &ours, &mark);
        assert_eq!(env.threaded(&raw).await, t1, "{file}");
        let entry = env.last(t1).await;
        assert_eq!(entry.entry.body, expected, "{file}");
        // The quote is gone from the entry only: the original keeps it.
        let original = entry.attachments.iter().find(|a| a.file_name == "original.eml").unwrap();
        let (_, bytes) = env.desk.attachment(&env.admin, original.id).await.unwrap();
        assert_eq!(bytes, raw, "{file}");
    }
}

/// A reply whose `References` lists `ids` (and `In-Reply-To` the last of them).
fn reply_with_references(message_id: &str, ids: &[String], text: &str) -> Vec<u8> {
    let mut refs = String::new();
    for id in ids {
        // Folded the way clients fold long References: one id per continuation line.
        write!(refs, "\r\n {id}").unwrap();
    }
    format!(
        "From: Alice Customer <alice@customer.test>\r\nSubject: Re: a long thread\r\nMessage-ID: {message_id}\r\n\
         In-Reply-To: {}\r\nReferences:{refs}\r\n\r\n{text}\r\n",
        ids.last().unwrap()
    )
    .into_bytes()
}

#[tokio::test]
async fn a_hundred_thousand_references_thread_by_their_first_and_newest_ids() {
    let env = env().await;
    let t1 = env.opened(&corpus("01-new-plain.eml")).await;
    let ours = env.staff_reply(t1, "We are sending someone over.").await;
    // Strangers' ids in between, each listed twice, as a broken client would.
    let noise: Vec<String> = (0..50_000)
        .flat_map(|i| {
            let id = format!("<n{i}@elsewhere.test>");
            [id.clone(), id]
        })
        .collect();

    // The thread's root is the customer's first message; everything after it is unknown here.
    let mut ids = vec!["<first@customer.test>".to_string()];
    ids.extend(noise.iter().cloned());
    let raw = reply_with_references("<refs-root@customer.test>", &ids, "Found by the root.");
    let parsed = parse_email(&raw, 25 << 20).unwrap();
    assert_eq!(parsed.thread_ids.len(), MAX_THREAD_IDS, "ids are thinned, so threading looks up a bounded number");
    assert_eq!(parsed.thread_ids[0], "<first@customer.test>");
    assert_eq!(parsed.thread_ids.last().unwrap(), "<n49999@elsewhere.test>");
    let unique: std::collections::HashSet<_> = parsed.thread_ids.iter().collect();
    assert_eq!(unique.len(), MAX_THREAD_IDS, "no id is kept twice");
    assert_eq!(env.threaded(&raw).await, t1);
    assert_eq!(env.last(t1).await.entry.body, "Found by the root.");

    // Our reply among the newest ids, behind 100,000 unknown ones.
    let mut ids = noise.clone();
    ids.push(ours.clone());
    ids.push("<newest@elsewhere.test>".into());
    let raw = reply_with_references("<refs-newest@customer.test>", &ids, "Found by the newest.");
    assert_eq!(env.threaded(&raw).await, t1);
    assert_eq!(env.last(t1).await.entry.body, "Found by the newest.");
}

/// A multipart/mixed message with a text part and `files` one-byte attachments.
fn with_attachments(message_id: &str, files: usize) -> String {
    let mut raw = format!(
        "From: Bulk Sender <bulk@customer.test>\r\nSubject: many files\r\nMessage-ID: {message_id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    );
    for i in 0..files {
        write!(
            raw,
            "--b\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"f{i}.bin\"\r\n\r\nx\r\n"
        )
        .unwrap();
    }
    raw.push_str("--b--\r\n");
    raw
}

#[tokio::test]
async fn mime_parts_and_attachments_per_message_are_capped() {
    let env = env().await;
    // Ten thousand parts: quarantined with the reason, the original kept whole.
    let raw = with_attachments("<parts@customer.test>", 10_000);
    match env.take(raw.as_bytes()).await {
        Received::Quarantined { rejection: Rejection::OverLimit(r), duplicate: false } => {
            assert!(r.contains("more than 1000 MIME parts"), "{r}")
        }
        other => panic!("{other:?}"),
    }
    let quarantined = env.desk.email_messages(&env.admin, "quarantined", 50).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert!(quarantined[0].reason.as_deref().unwrap().contains("MIME parts"), "{:?}", quarantined[0].reason);
    let (_, kept) = env.desk.email_original(&env.admin, quarantined[0].id).await.unwrap();
    assert_eq!(kept, raw.as_bytes());
    env.no_ticket_numbered("SD-00001").await;

    // Parts whose boundary never appears: each would make the parser search to the end.
    let mut raw = String::from(
        "From: bulk@customer.test\r\nSubject: nested\r\nMessage-ID: <nested@customer.test>\r\n\
         Content-Type: multipart/mixed; boundary=\"top\"\r\n\r\n",
    );
    for i in 0..900 {
        write!(raw, "--top\r\nContent-Type: multipart/mixed;\r\n\tboundary=\"missing{i}\"\r\n\r\nbody\r\n").unwrap();
    }
    raw.push_str("--top--\r\n");
    match env.take(raw.as_bytes()).await {
        Received::Quarantined { rejection: Rejection::OverLimit(r), .. } => {
            assert!(r.contains("900 of its multipart parts name a boundary that never appears"), "{r}")
        }
        other => panic!("{other:?}"),
    }
    env.no_ticket_numbered("SD-00001").await;

    // Fewer parts but more attachments than an entry takes: the first ones, and a note.
    let raw = with_attachments("<files@customer.test>", MAX_ATTACHMENTS + 50);
    let t = env.opened(raw.as_bytes()).await;
    let entry = env.last(t).await;
    assert_eq!(entry.attachments.len(), MAX_ATTACHMENTS + 1, "the first {MAX_ATTACHMENTS} and original.eml");
    assert!(names(&entry).contains(&"f0.bin".to_string()) && names(&entry).contains(&"original.eml".to_string()));
    assert!(!names(&entry).contains(&format!("f{MAX_ATTACHMENTS}.bin")));
    assert!(entry.entry.body.starts_with("see attached"), "{}", entry.entry.body);
    assert!(
        entry.entry.body.contains("[50 more attachment(s) past the limit of 100 per message are only in original.eml]"),
        "{}",
        entry.entry.body
    );
}

#[tokio::test]
async fn header_counts_and_lengths_are_capped_with_the_reason() {
    let env = env().await;
    let mut many = String::from("From: a@customer.test\r\nMessage-ID: <many-headers@c>\r\n");
    for i in 0..2_000 {
        write!(many, "X-Filler-{i}: {i}\r\n").unwrap();
    }
    many.push_str("Subject: many\r\n\r\nhello\r\n");
    let long = format!(
        "From: b@customer.test\r\nMessage-ID: <long-header@c>\r\nSubject: {}\r\n\r\nhello\r\n",
        "word ".repeat(40_000)
    );
    for (raw, reason) in
        [(many, "more than 1000 header fields"), (long, "its Subject header is longer than 131072 bytes")]
    {
        match env.take(raw.as_bytes()).await {
            Received::Quarantined { rejection: Rejection::OverLimit(r), duplicate: false } => {
                assert!(r.contains(reason), "{r}")
            }
            other => panic!("{other:?}"),
        }
        // Taken again, it is the same quarantined message, not a new one.
        assert!(matches!(env.take(raw.as_bytes()).await, Received::Quarantined { duplicate: true, .. }));
    }
    let quarantined = env.desk.email_messages(&env.admin, "quarantined", 50).await.unwrap();
    assert_eq!(quarantined.len(), 2);
    env.no_ticket_numbered("SD-00001").await;
    let t = env.opened(b"From: c@customer.test\nSubject: after\nMessage-ID: <after-caps@x>\n\nstill flowing\n").await;
    assert_eq!(env.last(t).await.entry.body, "still flowing");
}

#[tokio::test]
async fn a_message_over_the_parse_budget_is_quarantined_and_others_still_come_in() {
    let mut env = env().await;
    env.settings.parse_budget = Duration::ZERO;
    let raw = format!(
        "From: slow@customer.test\r\nSubject: big\r\nMessage-ID: <slow@c>\r\n\r\n{}\r\n",
        "a line of text to parse\r\n".repeat(100_000)
    );
    match env.take(raw.as_bytes()).await {
        Received::Quarantined { rejection: Rejection::OverLimit(r), duplicate: false } => {
            assert!(r.contains("parsing it took longer than 0 ms"), "{r}")
        }
        other => panic!("{other:?}"),
    }
    env.settings.parse_budget = EmailSettings::default().parse_budget;
    let t = env.opened(b"From: c@customer.test\nSubject: next\nMessage-ID: <next@x>\n\nnext one\n").await;
    assert_eq!(env.last(t).await.entry.body, "next one");
}

#[tokio::test]
async fn overlong_message_ids_are_kept_hashed_and_thread() {
    let env = env().await;
    let long_id = format!("<{}@customer.test>", "x".repeat(3_000));
    let raw = format!("From: Dana <dana@customer.test>\r\nSubject: long id\r\nMessage-ID: {long_id}\r\n\r\nhello\r\n");
    let t = env.opened(raw.as_bytes()).await;
    let stored = env.last(t).await.entry.external_message_id.unwrap();
    assert!(
        stored.len() <= MAX_MESSAGE_ID_BYTES && stored.starts_with("<xxxx") && stored.contains(".sha256."),
        "{stored}"
    );
    assert_eq!(env.take(raw.as_bytes()).await, Received::Ticket { ticket_id: t, opened: false, duplicate: true });
    // A reply naming the long id (with a new subject, so only the id can thread it).
    let reply = format!(
        "From: Dana <dana@customer.test>\r\nSubject: something else\r\nMessage-ID: <dana-2@customer.test>\r\n\
         In-Reply-To: {long_id}\r\nReferences: {long_id}\r\n\r\nmore\r\n"
    );
    assert_eq!(env.threaded(reply.as_bytes()).await, t);
    assert_eq!(env.last(t).await.entry.body, "more");
    // Another long id with the same beginning is another message.
    let other = raw.replace("x@customer.test>", "y@customer.test>");
    assert_ne!(env.opened(other.as_bytes()).await, t);
}

// ---- hostile mail: NUL bytes, refused messages, duplicate bounces, crashes mid-way ----

/// Runs SQL straight on the test's database (to break or refuse things on purpose).
async fn exec_sql(desk: &Desk, sqlite: &'static str, postgres: &'static str) {
    use switchboard_desk::store::Store;
    match desk.store() {
        Store::Sqlite { writer, .. } => sqlx::raw_sql(sqlite).execute(writer).await.map(drop).unwrap(),
        Store::Postgres(pool) => sqlx::raw_sql(postgres).execute(pool).await.map(drop).unwrap(),
    }
}

/// `text` as base64, for encoded words and bodies.
fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn nul_bytes_anywhere_are_stored_replaced_and_the_original_kept() {
    let env = env().await;
    // NULs hidden in an encoded From name and subject, and in a base64 body.
    let raw = format!(
        "From: =?utf-8?B?{}?= <nul@customer.test>\nSubject: =?utf-8?B?{}?=\nMessage-ID: <nul-1@customer.test>\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n{}\n",
        b64("Nul\0Name"),
        b64("Broken\0subject"),
        b64("before\0after"),
    );
    let t = env.opened(raw.as_bytes()).await;
    let ticket = env.desk.ticket(&env.admin, t).await.unwrap();
    for text in [&ticket.subject, &ticket.requester_name] {
        assert!(!text.contains('\0') && text.contains('\u{FFFD}'), "{text:?}");
    }
    let first = env.last(t).await;
    assert!(first.entry.body.starts_with("before") && first.entry.body.contains("after"), "{:?}", first.entry.body);
    assert!(!first.entry.body.contains('\0'));
    let (_, original) = env.desk.attachment(&env.admin, first.attachments[0].id).await.unwrap();
    assert_eq!(original, raw.as_bytes(), "the original keeps its bytes");
    let recorded = env.desk.email_messages(&env.admin, "ticket", 10).await.unwrap();
    assert!(recorded[0].subject.as_deref().is_some_and(|s| !s.contains('\0')));
    // The same message again is a duplicate, not a second ticket.
    assert!(matches!(env.take(raw.as_bytes()).await, Received::Ticket { duplicate: true, .. }));

    // Every other way in: a staff reply, a note, a new ticket from the API, a WhatsApp notification.
    let reply = env.desk.reply(&env.admin, t, "see\0you", Vec::new(), None).await.unwrap();
    assert_eq!(reply.entry.body, "see\u{FFFD}you");
    let note = env.desk.add_note(&env.admin, t, "in\0ternal").await.unwrap();
    assert_eq!(note.entry.body, "in\u{FFFD}ternal");
    let opened = env
        .desk
        .open_ticket(
            &env.admin,
            OpenTicket {
                subject: "api\0subject".into(),
                description: Some("api\0body".into()),
                requester: RequesterRef::Email { email: "api@customer.test".into(), name: Some("A\0PI".into()) },
                priority: None,
                source: None,
                queue_id: None,
                help_topic_id: None,
                assignee_id: None,
                tags: Vec::new(),
                resolution_due_at: None,
                attachments: vec![NewAttachment {
                    file_name: "a\0.txt".into(),
                    content_type: "text/plain\0".into(),
                    bytes: b"x\0y".to_vec(),
                }],
            },
        )
        .await
        .unwrap();
    assert_eq!(opened.subject, "api\u{FFFD}subject");
    assert_eq!(opened.requester_name, "A\u{FFFD}PI");
    let files = &env.last(opened.id).await.attachments;
    assert_eq!((files[0].file_name.as_str(), files[0].content_type.as_str()), ("a\u{FFFD}.txt", "text/plain\u{FFFD}"));
    env.desk.store_whatsapp_notification("{\"entry\":[\"\0\"]}").await.unwrap();
    let settings = MailboxSettings {
        name: "Night\0shift".into(),
        address: "night@acme.test".into(),
        imap_host: Some("imap.acme.test".into()),
        imap_user: Some("ni\0ght".into()),
        ack_enabled: true,
        ack_template: Some("Hi\0 {{requester.name}}".into()),
        ..Default::default()
    };
    let (night, _) = env.desk.save_email_mailbox(&env.admin, None, &settings).await.unwrap();
    assert_eq!((night.name.as_str(), night.imap_user.as_deref()), ("Night\u{FFFD}shift", Some("ni\u{FFFD}ght")));
    assert_eq!(night.ack_template.as_deref(), Some("Hi\u{FFFD} {{requester.name}}"));
}

#[tokio::test]
async fn a_message_the_database_refuses_is_quarantined_and_the_mail_behind_it_flows() {
    let env = env().await;
    // A refusal that no retry can change (a data exception), for one message only.
    exec_sql(
        &env.desk,
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON entries WHEN NEW.body LIKE '%poison%' \
         BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.body LIKE '%poison%' THEN RAISE EXCEPTION 'refused' USING ERRCODE = '22023'; END IF; \
         RETURN NEW; END $$; \
         CREATE TRIGGER refuse_poison BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION refuse_poison();",
    )
    .await;
    let poison = b"From: p@customer.test\nSubject: hello\nMessage-ID: <poison@c>\n\npoison inside\n";
    match env.take(poison).await {
        Received::Quarantined { rejection: Rejection::Unparseable(reason), duplicate: false } => {
            assert!(reason.contains("cannot store"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    env.no_ticket_numbered("SD-00001").await;
    let quarantined = env.desk.email_messages(&env.admin, "quarantined", 10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    let (_, kept) = env.desk.email_original(&env.admin, quarantined[0].id).await.unwrap();
    assert_eq!(kept, poison, "the refused message is kept whole for an admin");
    // Asked again (the poller's next round), it stays set aside instead of failing again.
    assert!(matches!(env.take(poison).await, Received::Quarantined { duplicate: true, .. }));
    let t = env.opened(b"From: q@customer.test\nSubject: next\nMessage-ID: <next@c>\n\nfine\n").await;
    assert_eq!(env.last(t).await.entry.body, "fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bounce_delivered_twenty_times_at_once_adds_one_note() {
    let env = env().await;
    let t1 = env.opened(&corpus("01-new-plain.eml")).await;
    let ours = env.staff_reply(t1, "We are sending someone over.").await;
    let bounce = corpus_with("15-bounce.eml", &ours, &marker(env.admin.workspace_id.0, t1.0));
    let deliveries = (0..20).map(|_| {
        let (desk, settings, mailbox, raw) =
            (env.desk.clone(), env.settings.clone(), env.mailbox.clone(), bounce.clone());
        tokio::spawn(async move { receive(&desk, &settings, &mailbox, &raw).await })
    });
    for outcome in futures_util::future::join_all(deliveries).await {
        assert!(matches!(outcome.unwrap().unwrap(), Received::Bounce { ticket_id: Some(t), .. } if t == t1));
    }
    let notes: Vec<_> = env.thread(t1).await.into_iter().filter(|e| e.entry.kind == EntryKind::Note).collect();
    assert_eq!(notes.len(), 1, "one note for one bounce");
    assert_eq!(names(&notes[0]), ["delivery-report.eml"]);
    assert_eq!(env.desk.email_messages(&env.admin, "bounce", 50).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_crash_before_the_bookkeeping_leaves_nothing_and_redelivery_acknowledges_once() {
    let env = env().await;
    let settings = MailboxSettings {
        name: "Sales".into(),
        address: "sales@acme.test".into(),
        enabled: true,
        ack_enabled: true,
        ..Default::default()
    };
    let (sales, _) = env.desk.save_email_mailbox(&env.admin, None, &settings).await.unwrap();
    let raw = b"From: Pat <pat@customer.test>\nSubject: order\nMessage-ID: <order@c>\n\nhello\n";
    // The acknowledgement's bookkeeping cannot be written: the process "dies" between the ticket
    // and its bookkeeping (the record, the mailbox link, the acknowledgement). That is a failure
    // that passes, so the message is not quarantined.
    let away = "ALTER TABLE email_acknowledgements RENAME TO email_acknowledgements_away";
    exec_sql(&env.desk, away, away).await;
    assert!(receive(&env.desk, &env.settings, &sales, raw).await.is_err(), "a failure that passes is retried");
    env.no_ticket_numbered("SD-00001").await;
    assert!(env.desk.due_outbox(Channel::Email, 10).await.unwrap().is_empty());
    let back = "ALTER TABLE email_acknowledgements_away RENAME TO email_acknowledgements";
    exec_sql(&env.desk, back, back).await;
    // Redelivered: the ticket, its link to the mailbox and one acknowledgement, all at once.
    let t = match receive(&env.desk, &env.settings, &sales, raw).await.unwrap() {
        Received::Ticket { ticket_id, opened: true, duplicate: false } => ticket_id,
        other => panic!("{other:?}"),
    };
    let linked = env.desk.email_mailbox_for_ticket(env.admin.workspace_id, t).await.unwrap().unwrap();
    assert_eq!(linked.address, "sales@acme.test");
    let acks = |thread: Vec<ThreadEntry>| thread.iter().filter(|e| e.entry.author_contact_id.is_none()).count();
    assert_eq!(acks(env.thread(t).await), 1);
    assert_eq!(env.desk.due_outbox(Channel::Email, 10).await.unwrap().len(), 1);
    // And again (the poller re-fetches after a crash past the commit): nothing more goes out.
    assert!(matches!(
        receive(&env.desk, &env.settings, &sales, raw).await.unwrap(),
        Received::Ticket { duplicate: true, .. }
    ));
    assert_eq!(acks(env.thread(t).await), 1);
    assert_eq!(env.desk.due_outbox(Channel::Email, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_message_key_too_long_for_an_index_is_still_recorded_and_found() {
    let env = env().await;
    // PostgreSQL refuses unique-index rows over about 2.7 KB: a 4,000-character Message-ID (the
    // key of a message, quarantined here) must still be recorded, and found again by dedupe.
    // Not compressible: PostgreSQL compresses a repetitive key below the limit.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let noise: String = (0..4000)
        .map(|_| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            char::from(b'a' + ((seed >> 33) % 26) as u8)
        })
        .collect();
    let key = format!("<{noise}@c>");
    let raw = format!("From: long@customer.test\nSubject: long id\nMessage-ID: {key}\n\nhello\n");
    let received = ReceivedEmail {
        mailbox: &env.mailbox,
        dedupe_key: &key,
        outcome: "quarantined",
        reason: Some("too long"),
        from_address: Some("long@customer.test"),
        subject: Some("long id"),
        ticket_id: None,
        entry_id: None,
        raw: raw.as_bytes(),
    };
    env.desk.record_received_email(&received).await.unwrap();
    let found = env.desk.email_received(&env.mailbox, &key).await.unwrap().unwrap();
    assert_eq!(found.outcome, "quarantined");
    let (_, kept) = env.desk.email_original(&env.admin, found.id).await.unwrap();
    assert_eq!(kept, raw.as_bytes());
    // Through the whole inbound path too, whatever the parser makes of such an id.
    let duplicate = |r: Received| match r {
        Received::Ticket { duplicate, .. }
        | Received::AutoReply { duplicate, .. }
        | Received::Bounce { duplicate, .. }
        | Received::Quarantined { duplicate, .. } => duplicate,
    };
    let other = raw.replace("@c>", "@d>");
    assert!(!duplicate(env.take(other.as_bytes()).await));
    assert!(duplicate(env.take(other.as_bytes()).await), "the same message again is known");
}
