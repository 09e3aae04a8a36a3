//! The production Discord client (serenity's gateway and our REST path) against the Discord
//! double of the test kit, over a real desk and database: the gateway handshake and every event
//! kind reaching the client, messages in a ticket channel as entries (attachments kept after
//! Discord's links expire, replays and resumes adding nothing), and staff replies delivered once
//! through 429s with Discord's errors shown. SQLite by default; with `TEST_POSTGRES_URL` each test
//! gets a fresh PostgreSQL database.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use switchboard_desk::domain::*;
use switchboard_desk::store::Store;
use switchboard_desk::store::records::IdentityKind;
use switchboard_desk::*;
use switchboard_discord::{DiscordChannel, DiscordConfig, DiscordSender, GatewayStatus};
use switchboard_testkit::discord::{DiscordDouble, DiscordUser, channel_type};

const TOKEN: &str = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GbCdEf.test-token";
const APP: u64 = 1_098_765_432_109_876_543;
const BOT: u64 = 1_098_765_432_109_876_544;
const BOT_ID: &str = "1098765432109876544";

struct Env {
    desk: Desk,
    system: Actor,
    double: DiscordDouble,
    channel: Arc<DiscordChannel>,
    gateway: tokio::task::JoinHandle<()>,
    guild: u64,
    ticket_channel: u64,
    ticket: TicketId,
    wendy: DiscordUser,
    _dir: tempfile::TempDir,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.gateway.abort();
    }
}

fn id(v: &Value) -> u64 {
    v["id"].as_str().unwrap().parse().unwrap()
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn wait_for_async<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A desk, the double with one guild and a ticket channel, a ticket on that channel, and the
/// channel's gateway connected.
async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::connect(&switchboard_testkit::fresh_database_url(dir.path(), "discord").await.unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"test secret for the discord channel".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let system = Actor::system(ws.id);

    let double = DiscordDouble::start(TOKEN, APP, BOT).await.unwrap();
    let owner = DiscordUser::person(double.new_id(), "olga", "Olga");
    let guild = double.add_guild("Acme Community", &owner);
    let wendy = DiscordUser::person(double.new_id(), "wendy_w", "Wendy");
    double.add_member(guild, &wendy, &[]);
    let category = double.add_channel(guild, "General Tickets", channel_type::CATEGORY, None);
    let ticket_channel = double.add_channel(guild, "ticket-1", channel_type::TEXT, Some(category));

    // The ticket the panel would have opened: its thread key is its channel.
    let opened = desk
        .ingest(
            &system,
            InboundMessage {
                channel: Channel::Discord,
                thread_key: Some(ticket_channel.to_string()),
                ticket_id: None,
                external_message_id: format!("intake-{ticket_channel}"),
                sender_kind: IdentityKind::Discord,
                sender_value: wendy.id.to_string(),
                sender_name: Some("Wendy".into()),
                subject: Some("Printer jams".into()),
                text: "It jams on every page.".into(),
                attachments: Vec::new(),
            },
        )
        .await
        .unwrap();

    let config = DiscordConfig { token: Some(TOKEN.into()), application_id: Some(APP), api_url: double.url.clone() };
    let channel = DiscordChannel::new(desk.clone(), config);
    let gateway = tokio::spawn(channel.clone().run_gateway());
    let c = channel.clone();
    wait_for("READY and GUILD_CREATE", || {
        let s = c.status();
        s.connected && s.guilds.iter().any(|(g, _)| *g == guild.to_string())
    })
    .await;
    Env { desk, system, double, channel, gateway, guild, ticket_channel, ticket: opened.ticket_id, wendy, _dir: dir }
}

impl Env {
    async fn thread(&self) -> Vec<ThreadEntry> {
        self.desk.thread(&self.system, self.ticket).await.unwrap()
    }

    fn status(&self) -> GatewayStatus {
        self.channel.status()
    }

    fn received(&self, event: &str) -> u32 {
        self.status().received.get(event).copied().unwrap_or(0)
    }

    async fn due(&self) -> OutboundMessage {
        let (id, _) = self.desk.due_outbox(Channel::Discord, 10).await.unwrap()[0];
        self.desk.outbound_message(id).await.unwrap().unwrap()
    }

    async fn staff(&self, name: &str) -> Actor {
        let u = self
            .desk
            .create_user(&self.system, &format!("{}@acme.test", name.to_lowercase()), name, Role::Agent, None)
            .await
            .unwrap();
        Actor {
            workspace_id: self.system.workspace_id,
            kind: ActorKind::User { id: u.id, role: Role::Agent },
            label: name.into(),
        }
    }
}

#[tokio::test]
async fn the_gateway_handshake_and_every_event_kind_reach_the_production_client() {
    let e = env().await;
    let s = e.status();
    assert_eq!(e.double.identifies(), 1);
    assert_eq!(s.sessions, 1);
    assert!(s.guilds.contains(&(e.guild.to_string(), "Acme Community".to_string())), "{s:?}");
    // The gateway URL came from GET /gateway/bot on the double, with the bot's token.
    let lookups = e.double.requests_to("GET", "/gateway");
    assert!(!lookups.is_empty());
    assert!(lookups.iter().all(|r| r.authorization.as_deref() == Some(&format!("Bot {TOKEN}") as &str)));

    let m = e.double.user_message(e.ticket_channel, &e.wendy, "hello", &[]);
    e.double.edit_message(e.ticket_channel, id(&m), "hello again");
    e.double.delete_message(e.ticket_channel, id(&m));
    let panel = e.double.add_channel(e.guild, "open-a-ticket", channel_type::TEXT, None);
    e.double.click(e.guild, panel, e.double.new_id(), &e.wendy, "open:general", None);
    e.double.click(e.guild, panel, e.double.new_id(), &e.wendy, "open", Some(&["billing"]));
    e.double.submit_modal(
        e.guild,
        panel,
        &e.wendy,
        "intake:general",
        &[("subject", "Printer"), ("description", "Jams")],
    );
    e.double.delete_channel_by_hand(panel);
    for (event, n) in [
        ("MESSAGE_CREATE", 1),
        ("MESSAGE_UPDATE", 1),
        ("MESSAGE_DELETE", 1),
        ("INTERACTION_CREATE", 3),
        ("CHANNEL_DELETE", 1),
    ] {
        wait_for(&format!("{n} {event}"), || e.received(event) >= n).await;
    }
    // Heartbeats are answered; the double counts the client's.
    assert_eq!(e.status().last_error, None);
}

#[tokio::test]
async fn messages_in_the_ticket_channel_become_entries_and_their_files_outlive_discords_links() {
    let e = env().await;
    let png: &[u8] = b"\x89PNG\r\n\x1a\nnot really a picture";
    e.double.user_message(e.ticket_channel, &e.wendy, "Here is the error:", &[("error.png", "image/png", png)]);
    // A message in a channel without a ticket is not the helpdesk's business.
    let general = e.double.add_channel(e.guild, "general", channel_type::TEXT, None);
    e.double.user_message(general, &e.wendy, "anyone around?", &[]);
    wait_for_async("the entry", || async { e.thread().await.len() == 2 }).await;
    wait_for("both messages", || e.received("MESSAGE_CREATE") >= 2).await;

    e.double.expire_attachments();
    let thread = e.thread().await;
    let last = thread.last().unwrap();
    assert_eq!(last.entry.body, "Here is the error:");
    assert_eq!(last.entry.kind, EntryKind::Reply);
    assert!(last.entry.author_contact_id.is_some() && last.entry.author_user_id.is_none());
    assert_eq!(last.entry.author_name.as_deref(), Some("Wendy"));
    assert_eq!(last.attachments.len(), 1);
    let (a, bytes) = e.desk.attachment(&e.system, last.attachments[0].id).await.unwrap();
    assert_eq!((a.file_name.as_str(), bytes.as_slice()), ("error.png", png));
    // The link itself is dead now, as on Discord after a day.
    let url = e.double.messages(e.ticket_channel)[0]["attachments"][0]["url"].as_str().unwrap().to_string();
    let client = e.channel.rest().client();
    assert_eq!(client.get(url).send().await.unwrap().status().as_u16(), 404);
    // No ticket was opened for the general channel.
    let tickets = e.desk.ticket_by_channel_thread(Channel::Discord, &general.to_string()).await.unwrap();
    assert_eq!(tickets, None);
}

#[tokio::test]
async fn a_redelivered_message_and_a_resumed_session_add_nothing() {
    let e = env().await;
    e.double.user_message(e.ticket_channel, &e.wendy, "first", &[]);
    wait_for_async("the first entry", || async { e.thread().await.len() == 2 }).await;
    let seq = e.double.last_seq();
    e.double.redeliver(seq);
    wait_for("the redelivery", || e.received("MESSAGE_CREATE") >= 2).await;

    // The connection drops; a message arrives meanwhile; the client resumes and gets it replayed.
    e.double.drop_connections();
    wait_for("the client to notice", || !e.status().connected || e.double.resumes() > 0).await;
    e.double.user_message(e.ticket_channel, &e.wendy, "second", &[]);
    wait_for("RESUMED", || e.status().resumes >= 1 && e.status().connected).await;
    wait_for_async("the second entry", || async { e.thread().await.len() == 3 }).await;
    assert_eq!(e.double.identifies(), 1, "the session was resumed, not started again");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bodies: Vec<String> = e.thread().await.iter().map(|t| t.entry.body.clone()).collect();
    assert_eq!(bodies, ["It jams on every page.", "first", "second"]);

    // A refused resume makes the client identify afresh; nothing is lost or doubled either.
    e.double.refuse_next_resume();
    e.double.drop_connections();
    wait_for("a new session", || e.double.identifies() == 2 && e.status().sessions == 2 && e.status().connected).await;
    e.double.user_message(e.ticket_channel, &e.wendy, "third", &[]);
    wait_for_async("the third entry", || async { e.thread().await.len() == 4 }).await;
}

#[tokio::test]
async fn a_staff_reply_goes_to_the_ticket_channel_with_the_staff_name_and_the_discord_id_is_recorded() {
    let e = env().await;
    let agent = e.staff("Sam").await;
    let note = e.desk.add_note(&agent, e.ticket, "Customer is on the old firmware.").await;
    let reply = e
        .desk
        .reply(
            &agent,
            e.ticket,
            "Try the rear tray, please.",
            vec![NewAttachment {
                file_name: "steps.txt".into(),
                content_type: "text/plain".into(),
                bytes: b"1. open\n2. close".to_vec(),
            }],
            None,
        )
        .await
        .unwrap();
    let msg = e.due().await;
    assert_eq!(msg.entry_id, reply.entry.id);
    let outcome = DiscordSender(e.channel.clone()).send(&msg).await;
    let DeliveryOutcome::Sent { external_message_id: Some(sent) } = outcome.clone() else { panic!("{outcome:?}") };
    e.desk.record_outbox_attempt(&msg, &outcome, 1000).await.unwrap();

    let in_channel = e.double.messages(e.ticket_channel);
    let bot_messages: Vec<&Value> = in_channel.iter().filter(|m| m["author"]["id"] == BOT_ID).collect();
    assert_eq!(bot_messages.len(), 1, "{in_channel:?}");
    assert_eq!(bot_messages[0]["id"].as_str(), Some(sent.as_str()));
    assert_eq!(bot_messages[0]["content"], "**Sam**\nTry the rear tray, please.");
    let posts = e.double.requests_to("POST", &format!("/channels/{}/messages", e.ticket_channel));
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].files.len(), 1);
    assert_eq!(posts[0].files[0].1, "steps.txt");
    assert_eq!(posts[0].files[0].2, b"1. open\n2. close");
    assert_eq!(posts[0].json["allowed_mentions"]["parse"], serde_json::json!([]));
    // Internal notes never reach Discord: no outbox row for them, and only the reply was posted.
    assert!(note.is_ok());
    assert!(e.desk.due_outbox(Channel::Discord, 10).await.unwrap().is_empty());

    // The outbox tries again when an answer was lost: the nonce makes Discord answer with the
    // message already posted instead of posting it twice.
    let again = DiscordSender(e.channel.clone()).send(&msg).await;
    assert_eq!(again, DeliveryOutcome::Sent { external_message_id: Some(sent.clone()) });
    let bot_messages = e.double.messages(e.ticket_channel).into_iter().filter(|m| m["author"]["id"] == BOT_ID).count();
    assert_eq!(bot_messages, 1);

    let thread = e.thread().await;
    let entry = thread.iter().find(|t| t.entry.id == reply.entry.id).unwrap();
    assert_eq!(entry.entry.external_message_id.as_deref(), Some(sent.as_str()));
    assert_eq!(entry.entry.delivery_status.as_deref(), Some("sent"));
    // Discord echoes the bot's message on the gateway; it is not taken for a customer message.
    wait_for("the echo", || e.received("MESSAGE_CREATE") >= 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(e.thread().await.len(), thread.len());
}

#[tokio::test]
async fn a_reply_hitting_429_is_delivered_once_after_the_wait() {
    let e = env().await;
    let route = format!("/channels/{}/messages", e.ticket_channel);
    e.double.rate_limit("POST", &route, 2, 0.4, false);
    e.desk.reply(&e.system, e.ticket, "Route-limited reply.", Vec::new(), None).await.unwrap();
    let started = Instant::now();
    let outcome = DiscordSender(e.channel.clone()).send(&e.due().await).await;
    assert!(matches!(outcome, DeliveryOutcome::Sent { external_message_id: Some(_) }), "{outcome:?}");
    assert!(started.elapsed() >= Duration::from_millis(800), "waited {:?}", started.elapsed());
    assert_eq!(e.double.requests_to("POST", &route).len(), 3);
    assert_eq!(e.double.premature_calls(), 0, "a request went out before retry_after was over");
    assert_eq!(e.double.messages(e.ticket_channel).len(), 1);

    // The global limit holds back every route, and a wait longer than the sender sits out is
    // handed back to the outbox as a retry.
    e.double.rate_limit("POST", "/channels/", 1, 30.0, true);
    let outcome = DiscordSender(e.channel.clone()).send(&e.due().await).await;
    let DeliveryOutcome::Retry { error } = outcome else { panic!("{outcome:?}") };
    assert!(error.contains("rate limited by Discord"), "{error}");
    let other = e.double.add_channel(e.guild, "other", channel_type::TEXT, None);
    let err = e
        .channel
        .rest()
        .call(serenity::http::Request::new(
            serenity::http::Route::ChannelMessages { channel_id: serenity::all::ChannelId::new(other) },
            serenity::http::LightMethod::Post,
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rate limited by Discord"), "{err}");
    assert_eq!(e.double.premature_calls(), 0);
}

#[tokio::test]
async fn discords_errors_show_on_the_entry() {
    let e = env().await;
    e.desk.reply(&e.system, e.ticket, "Anyone there?", Vec::new(), None).await.unwrap();
    e.double.delete_channel_by_hand(e.ticket_channel);
    let msg = e.due().await;
    let outcome = DiscordSender(e.channel.clone()).send(&msg).await;
    let DeliveryOutcome::Failed { error } = &outcome else { panic!("{outcome:?}") };
    assert_eq!(error, "Discord refused the request (HTTP 404, code 10003): Unknown Channel");
    e.desk.record_outbox_attempt(&msg, &outcome, 1000).await.unwrap();
    let thread = e.thread().await;
    let last = thread.last().unwrap();
    assert_eq!(last.entry.delivery_status.as_deref(), Some("failed"));
    assert_eq!(last.entry.delivery_error.as_deref(), Some(error.as_str()));
}

#[tokio::test]
async fn a_ticket_channel_deleted_by_hand_closes_its_ticket_with_a_note() {
    let e = env().await;
    e.double.user_message(e.ticket_channel, &e.wendy, "Still there?", &[]);
    wait_for_async("the entry", || async { e.thread().await.len() == 2 }).await;
    // Another channel going away is none of the helpdesk's business.
    let other = e.double.add_channel(e.guild, "off-topic", channel_type::TEXT, None);
    e.double.delete_channel_by_hand(other);
    e.double.delete_channel_by_hand(e.ticket_channel);
    wait_for("both deletions", || e.received("CHANNEL_DELETE") >= 2).await;
    wait_for_async("the ticket to close", || async {
        e.desk.ticket(&e.system, e.ticket).await.unwrap().status == TicketStatus::Closed
    })
    .await;
    let t = e.desk.ticket(&e.system, e.ticket).await.unwrap();
    assert_eq!(t.close_reason.as_deref(), Some("other"));
    assert_eq!(
        t.close_note.as_deref(),
        Some("The Discord channel #ticket-1 was deleted in Discord, so the ticket was closed.")
    );
    // The conversation stays on the ticket.
    assert_eq!(e.thread().await.len(), 2);
}
