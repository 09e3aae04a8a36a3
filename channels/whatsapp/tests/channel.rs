//! The channel over a real desk and database, with the clock moved by hand: the 24-hour
//! customer-service window, the inbox sweep after a crash, and number validation. SQLite by
//! default; with `TEST_POSTGRES_URL` (a server URL without a database) each test gets a fresh
//! PostgreSQL database.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use switchboard_desk::domain::*;
use switchboard_desk::store::Store;
use switchboard_desk::*;
use switchboard_whatsapp::*;
use switchboard_whatsapp::{WhatsappChannel, WhatsappConfig, WhatsappSender};

const HOUR: i64 = 3600 * 1000;

struct Env {
    desk: Desk,
    clock: Arc<ManualClock>,
    system: Actor,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::connect(&switchboard_testkit::fresh_database_url(dir.path(), "whatsapp").await.unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::at(1_763_900_000_000));
    let auth = AuthConfig { jwt_secret: b"test secret for the whatsapp channel".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, clock.clone(), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let system = Actor::system(ws.id);
    let number = WhatsappNumberInput {
        phone_number_id: "106540352242922".into(),
        display_phone_number: "+1 555 010 0000".into(),
        access_token: Some("EAAG-test-token".into()),
        template_name: Some("hello_world".into()),
        template_language: Some("en_US".into()),
    };
    desk.save_whatsapp_number(&system, None, number).await.unwrap();
    Env { desk, clock, system, _dir: dir }
}

/// A channel whose Graph API is a closed port: any attempt to send comes back as a retry.
fn channel(desk: &Desk) -> Arc<WhatsappChannel> {
    let config = WhatsappConfig {
        graph_url: "http://127.0.0.1:9/v21.0".into(),
        sweep_interval: Duration::from_millis(200),
        ..Default::default()
    };
    WhatsappChannel::new(desk.clone(), config)
}

async fn chat_ticket(e: &Env) -> store::TicketRecord {
    let c = e.desk.whatsapp_contact(&e.system, "4915112345678", Some("Wendy")).await.unwrap();
    e.desk.open_chat_ticket(&e.system, &c.contact, "4915112345678", "Printer", "It jams.", "wamid.IN1").await.unwrap()
}

async fn due(e: &Env) -> OutboundMessage {
    let (id, _) = e.desk.due_outbox(Channel::Whatsapp, 10).await.unwrap()[0];
    e.desk.outbound_message(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn outside_the_24_hour_window_a_reply_is_not_attempted_and_the_template_is_offered() {
    let e = env().await;
    let t = chat_ticket(&e).await;
    assert_eq!(t.source, Source::Chat);
    assert!(t.chat_originated);
    let sender = WhatsappSender(channel(&e.desk));

    // Within the window the reply is attempted (and fails only because nothing listens).
    e.clock.set(e.desk.now() + 23 * HOUR);
    e.desk.reply(&e.system, t.id, "Try another tray.", Vec::new(), None).await.unwrap();
    let msg = due(&e).await;
    match ChannelSender::send(&sender, &msg).await {
        DeliveryOutcome::Retry { error } => assert!(error.contains("Graph API unreachable"), "{error}"),
        other => panic!("expected an attempt, got {other:?}"),
    }
    e.desk.record_outbox_attempt(&msg, &DeliveryOutcome::Failed { error: "x".into() }, 1000).await.unwrap();

    // 25 hours after the contact last wrote: refused before any request, with the reason.
    e.clock.set(e.desk.now() + 2 * HOUR);
    e.desk.reply(&e.system, t.id, "Any news?", Vec::new(), None).await.unwrap();
    let msg = due(&e).await;
    let outcome = ChannelSender::send(&sender, &msg).await;
    let DeliveryOutcome::Failed { error } = outcome else { panic!("expected Failed, got {outcome:?}") };
    assert!(error.contains("outside WhatsApp's 24-hour customer-service window"), "{error}");
    assert!(error.contains("send the template message \"hello_world\""), "{error}");
    e.desk.record_outbox_attempt(&msg, &DeliveryOutcome::Failed { error }, 1000).await.unwrap();

    // The template message is allowed outside the window, so it is attempted.
    let entry = e.desk.reply_with_whatsapp_template(&e.system, t.id).await.unwrap();
    assert_eq!(entry.entry.delivery_status.as_deref(), Some("pending"));
    let msg = due(&e).await;
    assert_eq!(msg.entry_id, entry.entry.id);
    assert!(matches!(ChannelSender::send(&sender, &msg).await, DeliveryOutcome::Retry { .. }));

    // A new message from the contact opens the window again.
    let c = e.desk.whatsapp_contact(&e.system, "4915112345678", None).await.unwrap();
    let inbound = InboundMessage {
        channel: Channel::Whatsapp,
        thread_key: None,
        ticket_id: Some(t.id),
        external_message_id: "wamid.IN2".into(),
        sender_kind: c.identity_kind,
        sender_value: c.identity_value,
        sender_name: None,
        subject: None,
        text: "Still jammed.".into(),
        attachments: Vec::new(),
    };
    e.desk.ingest(&e.system, inbound).await.unwrap();
    e.desk.record_outbox_attempt(&msg, &DeliveryOutcome::Failed { error: "x".into() }, 1000).await.unwrap();
    e.desk.reply(&e.system, t.id, "On my way.", Vec::new(), None).await.unwrap();
    assert!(matches!(ChannelSender::send(&sender, &due(&e).await).await, DeliveryOutcome::Retry { .. }));
}

#[tokio::test]
async fn an_acknowledged_notification_is_processed_by_the_sweep_after_a_crash() {
    let e = env().await;
    // Stored by the webhook, then the process died before its task ran.
    let body = json!({ "object": "whatsapp_business_account", "entry": [{ "id": "1", "changes": [{ "field": "messages",
        "value": { "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550100000", "phone_number_id": "106540352242922" },
            "contacts": [{ "profile": { "name": "Wendy" }, "wa_id": "4915112345678" }],
            "messages": [{ "from": "4915112345678", "id": "wamid.CRASH1", "timestamp": "1700000000",
                "type": "location", "location": { "latitude": 52.5, "longitude": 13.4 } }] } }] }] });
    let id = e.desk.store_whatsapp_notification(&body.to_string()).await.unwrap();
    let unknown = json!({ "object": "whatsapp_business_account", "entry": [{ "id": "1", "changes": [{ "field": "messages",
        "value": { "metadata": { "display_phone_number": "1", "phone_number_id": "555" }, "messages": [] } }] }] });
    let skipped = e.desk.store_whatsapp_notification(&unknown.to_string()).await.unwrap();

    let sweep = switchboard_whatsapp::spawn_sweep(channel(&e.desk));
    // The sweep takes the rows one after the other: wait for both, not only the first.
    let (mut processed, mut unknown_settled) = (false, false);
    for _ in 0..50 {
        processed = e.desk.pending_whatsapp_notification(id).await.unwrap().is_none();
        unknown_settled = e.desk.pending_whatsapp_notification(skipped).await.unwrap().is_none();
        if processed && unknown_settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sweep.abort();
    assert!(processed, "the sweep did not process the stored notification");
    // An unknown number is recorded and skipped, not retried forever.
    assert!(unknown_settled, "the notification for an unknown number is still pending");
    // Kept for 30 days, then purged; a message id forgotten before that would be handled again.
    assert_eq!(e.desk.purge_whatsapp_inbox(switchboard_whatsapp::INBOX_RETENTION_MS).await.unwrap(), 0);
    assert!(e.desk.whatsapp_message_seen("wamid.CRASH1").await.unwrap());
    e.clock.set(e.desk.now() + switchboard_whatsapp::INBOX_RETENTION_MS + 1);
    assert_eq!(e.desk.purge_whatsapp_inbox(switchboard_whatsapp::INBOX_RETENTION_MS).await.unwrap(), 3);
    assert!(!e.desk.whatsapp_message_seen("wamid.CRASH1").await.unwrap());
    // The location message (a type the desk cannot show) was kept on a new ticket.
    let c = e.desk.whatsapp_contact(&e.system, "4915112345678", None).await.unwrap();
    let tickets = e.desk.requester_tickets(&e.system, c.contact.id, 5).await.unwrap();
    assert_eq!(tickets.len(), 1);
    let thread = e.desk.thread(&e.system, tickets[0].id).await.unwrap();
    assert!(thread[0].entry.body.contains("\"location\""), "{:?}", thread[0].entry.body);
    assert_eq!(thread[0].entry.external_message_id.as_deref(), Some("wamid.CRASH1"));
}

#[tokio::test]
async fn numbers_are_validated_and_the_token_is_sealed() {
    let e = env().await;
    let bad = |pn: &str, token: Option<&str>, tpl: Option<&str>| WhatsappNumberInput {
        phone_number_id: pn.into(),
        display_phone_number: String::new(),
        access_token: token.map(Into::into),
        template_name: tpl.map(Into::into),
        template_language: None,
    };
    let field = |r: Result<_, DeskError>| match r {
        Err(DeskError::Validation(v)) => v.field,
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert_eq!(field(e.desk.save_whatsapp_number(&e.system, None, bad("abc", Some("t"), None)).await), "phoneNumberId");
    assert_eq!(field(e.desk.save_whatsapp_number(&e.system, None, bad("123", None, None)).await), "accessToken");
    assert_eq!(
        field(e.desk.save_whatsapp_number(&e.system, None, bad("123", Some("t"), Some("hello"))).await),
        "templateLanguage"
    );
    assert_eq!(
        field(e.desk.save_whatsapp_number(&e.system, None, bad("106540352242922", Some("t"), None)).await),
        "phoneNumberId"
    );
    let n = &e.desk.whatsapp_numbers(&e.system).await.unwrap()[0];
    assert!(!n.access_token_enc.contains("EAAG-test-token"));
    let route = e.desk.whatsapp_route("106540352242922").await.unwrap().unwrap();
    assert_eq!(route.access_token, "EAAG-test-token");
    // Changing the number without a token keeps the stored one.
    let keep = WhatsappNumberInput {
        phone_number_id: "106540352242922".into(),
        display_phone_number: "+1 555 010 0001".into(),
        ..Default::default()
    };
    e.desk.save_whatsapp_number(&e.system, Some(n.id), keep).await.unwrap();
    assert_eq!(e.desk.whatsapp_route("106540352242922").await.unwrap().unwrap().access_token, "EAAG-test-token");
    // Staff without the admin permission cannot see or change numbers.
    let agent = e.desk.create_user(&e.system, "a@acme.test", "Alex", Role::Agent, None).await.unwrap();
    let agent = Actor {
        workspace_id: e.system.workspace_id,
        kind: ActorKind::User { id: agent.id, role: Role::Agent },
        label: "Alex".into(),
    };
    assert!(matches!(e.desk.whatsapp_numbers(&agent).await, Err(DeskError::Forbidden(_))));
}

#[tokio::test]
async fn a_template_message_is_a_reply_like_any_other() {
    let e = env().await;
    let t = chat_ticket(&e).await;
    let u = e.desk.create_user(&e.system, "ada@acme.test", "Ada", Role::Agent, None).await.unwrap();
    let agent =
        Actor { workspace_id: u.workspace_id, kind: ActorKind::User { id: u.id, role: Role::Agent }, label: u.name };
    e.clock.set(e.desk.now() + 25 * HOUR);

    // The agent's first message on the ticket is the template: it is the first response, it
    // puts the ticket in the customer's court, and the history says who and when.
    e.desk.reply_with_whatsapp_template(&agent, t.id).await.unwrap();
    let after = e.desk.ticket(&agent, t.id).await.unwrap();
    assert_eq!(after.first_responded_at, Some(e.desk.now()));
    let filter = TicketFilter { awaiting: Some(Awaiting::Customer), ..Default::default() };
    let waiting_on_customer = e.desk.list_tickets(&agent, &filter, 10, None).await.unwrap();
    assert_eq!(waiting_on_customer.tickets.iter().map(|t| t.id).collect::<Vec<_>>(), vec![t.id]);
    let history = e.desk.history(&agent, t.id).await.unwrap();
    let stamp = history.iter().find(|h| h.field == "first_responded_at").expect("first response in the history");
    assert_eq!(stamp.actor_user_id, Some(u.id));
}

/// A notification as Meta sends it for the test number, with these `messages[]` items.
fn notification(messages: serde_json::Value) -> String {
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "1", "changes": [{ "field": "messages",
        "value": { "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550100000", "phone_number_id": "106540352242922" },
            "contacts": [{ "profile": { "name": "Wendy" }, "wa_id": "4915112345678" }],
            "messages": messages } }] }] })
    .to_string()
}

#[tokio::test]
async fn one_malformed_message_does_not_lose_the_valid_ones_beside_it() {
    let e = env().await;
    let t = chat_ticket(&e).await;
    let ch = channel(&e.desk);
    let body = notification(json!([
        { "from": "4915112345678", "id": "wamid.GOOD", "timestamp": "1700000000", "type": "text",
          "text": { "body": "The tray is fixed, thanks." } },
        // `text.body` must be a string.
        { "from": "4915112345678", "id": "wamid.WRONG", "timestamp": "1700000001", "type": "text",
          "text": { "body": 42 } },
        { "from": "4915112345678", "id": "wamid.ODD", "timestamp": "1700000002", "type": "hologram",
          "hologram": { "id": "h1" } },
        // Not even an id to file it under.
        "garbage",
    ]));
    let id = e.desk.store_whatsapp_notification(&body).await.unwrap();
    ch.process_notification(id).await;

    let thread = e.desk.thread(&e.system, t.id).await.unwrap();
    let by_wamid =
        |w: &str| thread.iter().find(|x| x.entry.external_message_id.as_deref() == Some(w)).map(|x| &x.entry);
    let good = by_wamid("wamid.GOOD").expect("the valid message became an entry");
    assert_eq!(good.body, "The tray is fixed, thanks.");
    assert_eq!(good.kind, EntryKind::Reply);
    assert!(good.author_contact_id.is_some());
    // The unreadable one is kept so staff know the contact wrote, with why it could not be shown.
    let wrong = by_wamid("wamid.WRONG").expect("the malformed message is kept on the ticket");
    assert_eq!(wrong.kind, EntryKind::System);
    assert!(wrong.body.contains("could not read"), "{}", wrong.body);
    assert!(by_wamid("wamid.ODD").expect("the unknown type is kept").body.contains("\"hologram\""));

    // Done with, not retried: what could be read was handled and the rest recorded with the reason.
    assert!(e.desk.pending_whatsapp_notification(id).await.unwrap().is_none());
    let row = queries::whatsapp_inbox_by_id(&mut e.desk.store().read().await.unwrap(), id).await.unwrap().unwrap();
    let note = row.note.unwrap_or_default();
    assert!(note.contains("messages[1]") && note.contains("invalid type: integer `42`"), "{note}");
    assert!(note.contains("messages[3]"), "{note}");

    // Meta redelivers: nothing is added twice.
    let again = e.desk.store_whatsapp_notification(&body).await.unwrap();
    ch.process_notification(again).await;
    assert_eq!(e.desk.thread(&e.system, t.id).await.unwrap().len(), thread.len());
}

#[tokio::test]
async fn a_malformed_status_or_contact_does_not_stop_the_messages() {
    let e = env().await;
    let t = chat_ticket(&e).await;
    let body = json!({ "object": "whatsapp_business_account", "entry": [
        { "id": "1", "changes": [
            { "field": "messages", "value": { "metadata": { "phone_number_id": 106540352242922_u64 } } },
            { "field": "messages", "value": {
                "metadata": { "display_phone_number": "15550100000", "phone_number_id": "106540352242922" },
                "contacts": [{ "wa_id": ["not", "a", "string"] }],
                "statuses": [{ "id": "wamid.OUT1", "status": 3 }],
                "messages": [{ "from": "4915112345678", "id": "wamid.AFTER", "type": "text",
                    "text": { "body": "Still there?" } }] } },
        ] },
        { "id": "2", "changes": "not a list" },
    ] })
    .to_string();
    let id = e.desk.store_whatsapp_notification(&body).await.unwrap();
    channel(&e.desk).process_notification(id).await;
    let thread = e.desk.thread(&e.system, t.id).await.unwrap();
    assert!(thread.iter().any(|x| x.entry.external_message_id.as_deref() == Some("wamid.AFTER")));
    let row = queries::whatsapp_inbox_by_id(&mut e.desk.store().read().await.unwrap(), id).await.unwrap().unwrap();
    let note = row.note.unwrap_or_default();
    for part in ["changes[0].value.metadata", "contacts[0]", "statuses[0]", "entry[1].changes"] {
        assert!(note.contains(part), "{part} missing from {note}");
    }
}

/// A local server playing the Graph API's messages endpoint: records the phone number id each
/// message is sent as, and answers as Meta does.
async fn graph_double() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::extract::Path;
    let sent = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = sent.clone();
    let app = axum::Router::new().route(
        "/v21.0/{pn}/messages",
        axum::routing::post(move |Path(pn): Path<String>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(pn);
                axum::Json(json!({ "messaging_product": "whatsapp",
                    "contacts": [{ "input": "4915112345678", "wa_id": "4915112345678" }],
                    "messages": [{ "id": "wamid.OUT1" }] }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v21.0", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, sent)
}

#[tokio::test]
async fn a_reply_goes_out_from_the_number_the_ticket_came_in_on() {
    let e = env().await;
    let first = "106540352242922";
    let second = "106540352249999";
    let number = WhatsappNumberInput {
        phone_number_id: second.into(),
        display_phone_number: "+1 555 010 9999".into(),
        access_token: Some("EAAG-second-token".into()),
        ..Default::default()
    };
    e.desk.save_whatsapp_number(&e.system, None, number).await.unwrap();

    // The contact opens a ticket by writing to the second number...
    e.desk.set_whatsapp_conversation(&e.system, "4915112345678", second, "menu", None).await.unwrap();
    let t = chat_ticket(&e).await;
    // ...and later writes to the first one (a different conversation): the contact's last
    // number is now the first, but the ticket is still answered from the second.
    e.desk.set_whatsapp_conversation(&e.system, "4915112345678", first, "menu", None).await.unwrap();

    let (graph_url, sent) = graph_double().await;
    let config = WhatsappConfig { graph_url, ..Default::default() };
    let sender = WhatsappSender(WhatsappChannel::new(e.desk.clone(), config));
    e.desk.reply(&e.system, t.id, "Try another tray.", Vec::new(), None).await.unwrap();
    let msg = due(&e).await;
    let outcome = ChannelSender::send(&sender, &msg).await;
    assert!(matches!(outcome, DeliveryOutcome::Sent { .. }), "{outcome:?}");
    assert_eq!(sent.lock().unwrap().clone(), vec![second.to_string()], "sent as the ticket's number");
}

/// Makes the database refuse to record a number on a ticket (standing in for a crash or an
/// error between opening a ticket and recording its number), or stop refusing.
async fn refuse_numbers(desk: &Desk, refuse: bool) {
    let statements: &[&str] = match (desk.store().dialect(), refuse) {
        (store::Dialect::Sqlite, true) => &["CREATE TRIGGER refuse_numbers BEFORE UPDATE OF channel_account_id \
             ON tickets WHEN NEW.channel_account_id IS NOT NULL BEGIN SELECT RAISE(ABORT, 'refused'); END"],
        (store::Dialect::Postgres, true) => &[
            "CREATE FUNCTION refuse_numbers() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ \
             LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_numbers BEFORE UPDATE OF channel_account_id ON tickets FOR EACH ROW \
             WHEN (NEW.channel_account_id IS NOT NULL) EXECUTE FUNCTION refuse_numbers()",
        ],
        (store::Dialect::Sqlite, false) => &["DROP TRIGGER refuse_numbers"],
        (store::Dialect::Postgres, false) => &["DROP TRIGGER refuse_numbers ON tickets"],
    };
    let mut tx = desk.store().write().await.unwrap();
    for sql in statements {
        switchboard_channel::on_tx!(&mut tx, |c| {
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(c).await.unwrap();
        });
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_ticket_a_message_opens_is_never_left_without_the_number_it_came_in_on() {
    let e = env().await;
    let ch = channel(&e.desk);
    let number = e.desk.whatsapp_numbers(&e.system).await.unwrap()[0].id;
    let tickets = || async {
        let page = e.desk.list_tickets(&e.system, &TicketFilter::default(), 50, None).await.unwrap();
        page.tickets.into_iter().map(|t| (t.id, t.channel_account_id)).collect::<Vec<_>>()
    };
    // A message that opens a ticket (a kind the desk cannot show, from a contact without an open
    // ticket), while recording the number fails: the ticket and its number go together or not
    // at all, so no ticket is left whose replies would go out from a guessed number.
    refuse_numbers(&e.desk, true).await;
    let body = notification(json!([
        { "from": "4915112345678", "id": "wamid.HOLO1", "timestamp": "1700000000", "type": "hologram",
          "hologram": { "id": "h1" } },
    ]));
    let id = e.desk.store_whatsapp_notification(&body).await.unwrap();
    ch.process_notification(id).await;
    assert_eq!(tickets().await, Vec::new(), "no ticket without its number");

    // Once numbers can be recorded again, a message opens its ticket with the number.
    refuse_numbers(&e.desk, false).await;
    let body = notification(json!([
        { "from": "4915112345678", "id": "wamid.HOLO2", "timestamp": "1700000001", "type": "hologram",
          "hologram": { "id": "h2" } },
    ]));
    let id = e.desk.store_whatsapp_notification(&body).await.unwrap();
    ch.process_notification(id).await;
    let opened = tickets().await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0].1, Some(number));
}
