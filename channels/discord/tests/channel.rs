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
use switchboard_desk::*;
use switchboard_discord::{
    DiscordChannel, DiscordConfig, DiscordSender, GatewayStatus, GuildLinkInput, GuildSettings, LinkedGuild, TicketType,
};
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
    link: LinkedGuild,
    panel: u64,
    category: u64,
    support_role: u64,
    general: HelpTopicId,
    ticket_channel: u64,
    ticket: TicketId,
    wendy: DiscordUser,
    sam: DiscordUser,
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

fn ticket_type(key: &str, label: &str, topic: HelpTopicId, category: u64) -> TicketType {
    TicketType {
        key: key.into(),
        help_topic_id: topic,
        label: label.into(),
        description: None,
        category_id: category.to_string(),
        enabled: true,
        role_ids: Vec::new(),
        open_limit: 1,
        ask_subject: false,
        ask_description: false,
    }
}

async fn topic(desk: &Desk, actor: &Actor, name: &str) -> HelpTopicId {
    let input = HelpTopicInput {
        name: name.into(),
        default_priority: None,
        default_queue_id: None,
        default_assignee_id: None,
        due_offset_minutes: None,
        active: true,
        version: None,
    };
    desk.save_help_topic(actor, None, input).await.unwrap().id
}

/// A desk, the double with a guild (a panel channel, a ticket category, a Support role) linked
/// to the workspace, the gateway connected, and a ticket Wendy opened from the panel through
/// the intake form.
async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::connect(&switchboard_testkit::fresh_database_url(dir.path(), "discord").await.unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"test secret for the discord channel".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let system = Actor::system(ws.id);
    let general = topic(&desk, &system, "General").await;

    let double = DiscordDouble::start(TOKEN, APP, BOT).await.unwrap();
    let owner = DiscordUser::person(double.new_id(), "olga", "Olga");
    let guild = double.add_guild("Acme Community", &owner);
    let support_role = double.add_role(guild, "Support");
    let wendy = DiscordUser::person(double.new_id(), "wendy_w", "Wendy");
    double.add_member(guild, &wendy, &[]);
    let sam = DiscordUser::person(double.new_id(), "sam_s", "Sam");
    double.add_member(guild, &sam, &[support_role]);
    let panel = double.add_channel(guild, "open-a-ticket", channel_type::TEXT, None);
    let category = double.add_channel(guild, "General Tickets", channel_type::CATEGORY, None);

    let config = DiscordConfig {
        token: Some(TOKEN.into()),
        application_id: Some(APP),
        api_url: double.url.clone(),
        web_url: None,
    };
    let channel = DiscordChannel::new(desk.clone(), config);
    let gateway = tokio::spawn(channel.clone().run_gateway());
    let c = channel.clone();
    wait_for("READY and GUILD_CREATE", || {
        let s = c.status();
        s.connected && s.guilds.iter().any(|(g, _)| *g == guild.to_string())
    })
    .await;

    let mut general_type = ticket_type("general", "General", general, category);
    general_type.ask_subject = true;
    general_type.ask_description = true;
    let settings = GuildSettings {
        panel_channel_id: panel.to_string(),
        transcripts_channel_id: None,
        staff_review_channel_id: None,
        staff_role_ids: vec![support_role.to_string()],
        management_role_ids: Vec::new(),
        sequential_names: true,
        ticket_types: vec![general_type],
        ..GuildSettings::default()
    };
    let input = GuildLinkInput { guild_id: guild.to_string(), name: "Acme Community".into(), enabled: true, settings };
    let link = channel.link_guild(&system, None, input).await.unwrap();

    let mut e = Env {
        desk,
        system,
        double,
        channel,
        gateway,
        guild,
        link,
        panel,
        category,
        support_role,
        general,
        ticket_channel: 0,
        ticket: TicketId(0),
        wendy: wendy.clone(),
        sam,
        _dir: dir,
    };
    let form = [("subject", "Printer jams"), ("description", "It jams on every page.")];
    let (channel_id, _) = e.open_from_panel(&wendy, "sb:open:general", Some(&form)).await;
    e.ticket_channel = channel_id.unwrap();
    e.ticket =
        e.desk.ticket_by_channel_thread(Channel::Discord, &e.ticket_channel.to_string()).await.unwrap().unwrap().1;
    e
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

    fn panel_message(&self) -> u64 {
        id(&self.double.messages(self.panel)[0])
    }

    /// A member clicks `custom_id` on the panel (and fills in the intake form, when given);
    /// returns the ticket channel the bot reported, and the text the member was told.
    async fn open_from_panel(
        &self,
        who: &DiscordUser,
        custom_id: &str,
        form: Option<&[(&str, &str)]>,
    ) -> (Option<u64>, String) {
        let (custom_id, values) = match custom_id.strip_prefix("select:") {
            Some(v) => ("sb:open", Some(vec![v])),
            None => (custom_id, None),
        };
        let click = self.double.click(self.guild, self.panel, self.panel_message(), who, custom_id, values.as_deref());
        wait_for("the click's answer", || !self.double.interaction_callbacks(click).is_empty()).await;
        let answer = self.double.interaction_callbacks(click)[0].clone();
        let answered = match (answer["type"].as_u64(), form) {
            (Some(9), Some(fields)) => {
                let modal = answer["data"]["custom_id"].as_str().unwrap().to_string();
                let submit = self.double.submit_modal(self.guild, self.panel, who, &modal, fields);
                wait_for("the form's answer", || !self.double.interaction_follow_ups(submit).is_empty()).await;
                assert_eq!(self.double.interaction_callbacks(submit)[0]["type"], 5, "deferred");
                self.double.interaction_follow_ups(submit)[0]["content"].as_str().unwrap().to_string()
            }
            (Some(5), None) => {
                assert_eq!(answer["data"]["flags"], 64, "only the member sees it");
                wait_for("the follow-up", || !self.double.interaction_follow_ups(click).is_empty()).await;
                self.double.interaction_follow_ups(click)[0]["content"].as_str().unwrap().to_string()
            }
            (Some(4), _) => {
                assert_eq!(answer["data"]["flags"], 64, "only the member sees it");
                answer["data"]["content"].as_str().unwrap().to_string()
            }
            other => panic!("unexpected answer {answer} for {other:?}"),
        };
        let channel = answered
            .strip_prefix("Your ticket is open: <#")
            .and_then(|r| r.strip_suffix('>'))
            .map(|c| c.parse().unwrap());
        (channel, answered)
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

    // The panel's opening (a click and the intake form) came before; count from here.
    let before: std::collections::HashMap<&str, u32> =
        ["MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "INTERACTION_CREATE", "CHANNEL_DELETE"]
            .into_iter()
            .map(|k| (k, e.received(k)))
            .collect();
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
        wait_for(&format!("{n} {event}"), || e.received(event) >= before[event] + n).await;
    }
    // Heartbeats are answered; the double counts the client's.
    assert_eq!(e.status().last_error, None);
}

#[tokio::test]
async fn messages_in_the_ticket_channel_become_entries_and_their_files_outlive_discords_links() {
    let e = env().await;
    let seen = e.received("MESSAGE_CREATE");
    let png: &[u8] = b"\x89PNG\r\n\x1a\nnot really a picture";
    e.double.user_message(e.ticket_channel, &e.wendy, "Here is the error:", &[("error.png", "image/png", png)]);
    // A message in a channel without a ticket is not the helpdesk's business.
    let general = e.double.add_channel(e.guild, "general", channel_type::TEXT, None);
    e.double.user_message(general, &e.wendy, "anyone around?", &[]);
    wait_for_async("the entry", || async { e.thread().await.len() == 2 }).await;
    wait_for("both messages", || e.received("MESSAGE_CREATE") >= seen + 2).await;

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
    let sent = e.double.messages(e.ticket_channel).into_iter().find(|m| m["author"]["id"] != BOT_ID).unwrap();
    let url = sent["attachments"][0]["url"].as_str().unwrap().to_string();
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
    let seen = e.received("MESSAGE_CREATE");
    e.double.redeliver(seq);
    wait_for("the redelivery", || e.received("MESSAGE_CREATE") > seen).await;

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
    let seen = e.received("MESSAGE_CREATE");
    let outcome = DiscordSender(e.channel.clone()).send(&msg).await;
    let DeliveryOutcome::Sent { external_message_id: Some(sent) } = outcome.clone() else { panic!("{outcome:?}") };
    e.desk.record_outbox_attempt(&msg, &outcome, 1000).await.unwrap();

    // The bot's replies carry a nonce (its greeting when the channel opened does not).
    let in_channel = e.double.messages(e.ticket_channel);
    let bot_messages: Vec<&Value> =
        in_channel.iter().filter(|m| m["author"]["id"] == BOT_ID && m["nonce"].is_string()).collect();
    assert_eq!(bot_messages.len(), 1, "{in_channel:?}");
    assert_eq!(bot_messages[0]["id"].as_str(), Some(sent.as_str()));
    assert_eq!(bot_messages[0]["content"], "**Sam**\nTry the rear tray, please.");
    let posts: Vec<_> = e
        .double
        .requests_to("POST", &format!("/channels/{}/messages", e.ticket_channel))
        .into_iter()
        .filter(|r| r.json["nonce"].is_string())
        .collect();
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
    let bot_messages = e.double.messages(e.ticket_channel).into_iter().filter(|m| m["nonce"].is_string()).count();
    assert_eq!(bot_messages, 1);

    let thread = e.thread().await;
    let entry = thread.iter().find(|t| t.entry.id == reply.entry.id).unwrap();
    assert_eq!(entry.entry.external_message_id.as_deref(), Some(sent.as_str()));
    assert_eq!(entry.entry.delivery_status.as_deref(), Some("sent"));
    // Discord echoes the bot's message on the gateway; it is not taken for a customer message.
    wait_for("the echo", || e.received("MESSAGE_CREATE") > seen).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(e.thread().await.len(), thread.len());
}

#[tokio::test]
async fn a_reply_hitting_429_is_delivered_once_after_the_wait() {
    let e = env().await;
    let route = format!("/channels/{}/messages", e.ticket_channel);
    let posted_before = e.double.requests_to("POST", &route).len();
    let messages_before = e.double.messages(e.ticket_channel).len();
    e.double.rate_limit("POST", &route, 2, 0.4, false);
    e.desk.reply(&e.system, e.ticket, "Route-limited reply.", Vec::new(), None).await.unwrap();
    let started = Instant::now();
    let outcome = DiscordSender(e.channel.clone()).send(&e.due().await).await;
    assert!(matches!(outcome, DeliveryOutcome::Sent { external_message_id: Some(_) }), "{outcome:?}");
    assert!(started.elapsed() >= Duration::from_millis(800), "waited {:?}", started.elapsed());
    assert_eq!(e.double.requests_to("POST", &route).len(), posted_before + 3);
    assert_eq!(e.double.premature_calls(), 0, "a request went out before retry_after was over");
    assert_eq!(e.double.messages(e.ticket_channel).len(), messages_before + 1);

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
    e.double.remove_channel_unannounced(e.ticket_channel);
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

// ---- linking, the panel and opening tickets ----

fn field(err: DeskError) -> String {
    match err {
        DeskError::Validation(v) => v.field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn linking_checks_the_settings_posts_the_panel_and_keeps_a_guild_to_one_workspace() {
    let e = env().await;
    // The panel: one button per type, posted once in the panel channel.
    let panel = e.double.messages(e.panel);
    assert_eq!(panel.len(), 1);
    let buttons = &panel[0]["components"][0]["components"];
    assert_eq!(buttons.as_array().unwrap().len(), 1);
    assert_eq!(buttons[0]["custom_id"], "sb:open:general");
    assert_eq!(buttons[0]["label"], "General");
    assert_eq!(e.link.state.panel_message_id.as_deref(), Some(panel[0]["id"].as_str().unwrap()));

    // Saving again with more types than buttons fit edits the same message into a select menu.
    let billing = topic(&e.desk, &e.system, "Billing").await;
    let mut settings = e.link.settings.clone();
    for (key, label) in [("billing", "Billing"), ("bugs", "Bugs"), ("account", "Account"), ("other", "Other")] {
        let mut t = ticket_type(key, label, billing, e.category);
        t.description = Some(format!("{label} questions"));
        settings.ticket_types.push(t);
    }
    let input = GuildLinkInput {
        guild_id: e.guild.to_string(),
        name: "Acme Community".into(),
        enabled: true,
        settings: settings.clone(),
    };
    let saved = e.channel.link_guild(&e.system, Some(e.link.id), input.clone()).await.unwrap();
    let panel = e.double.messages(e.panel);
    assert_eq!(panel.len(), 1, "edited in place, not posted twice");
    let menu = &panel[0]["components"][0]["components"][0];
    assert_eq!(menu["type"], 3);
    assert_eq!(menu["custom_id"], "sb:open");
    assert_eq!(menu["options"].as_array().unwrap().len(), 5);
    assert_eq!(menu["options"][1]["description"], "Billing questions");
    assert_eq!(saved.state.panel_message_id, e.link.state.panel_message_id);
    assert_eq!(e.double.requests_to("PATCH", &format!("/channels/{}/messages/", e.panel)).len(), 1);

    // Bad settings name their field, and nothing is saved.
    let mut bad = input.clone();
    bad.settings.panel_channel_id = "open-a-ticket".into();
    let err = e.channel.link_guild(&e.system, Some(e.link.id), bad).await.unwrap_err();
    assert_eq!(field(err), "panelChannelId");
    let mut bad = input.clone();
    bad.guild_id = "acme".into();
    assert_eq!(field(e.channel.link_guild(&e.system, None, bad).await.unwrap_err()), "guildId");

    // Another workspace: its help topics are its own, and the guild is linked already.
    let other = e.desk.create_workspace("other", "Other", "OT", "UTC", "General").await.unwrap();
    let other_admin = Actor::system(other.id);
    let err = e.channel.link_guild(&other_admin, None, input.clone()).await.unwrap_err();
    assert_eq!(field(err), "ticketTypes[0].helpTopicId");
    let mut theirs = input.clone();
    let own = topic(&e.desk, &other_admin, "Help").await;
    theirs.settings.ticket_types = vec![ticket_type("help", "Help", own, e.category)];
    match e.channel.link_guild(&other_admin, None, theirs.clone()).await.unwrap_err() {
        DeskError::ConflictOn(v) => assert_eq!(v.field, "guildId"),
        other => panic!("expected a conflict on guildId, got {other:?}"),
    }
    // Nor may the other workspace point one of its own links at the guild.
    theirs.guild_id = {
        let owner = DiscordUser::person(e.double.new_id(), "theo", "Theo");
        e.double.add_guild("Theirs", &owner).to_string()
    };
    let mine = e.channel.link_guild(&other_admin, None, theirs.clone()).await.unwrap();
    theirs.guild_id = e.guild.to_string();
    assert!(matches!(
        e.channel.link_guild(&other_admin, Some(mine.id), theirs).await,
        Err(DeskError::ConflictOn(ref v)) if v.field == "guildId"
    ));
    assert_eq!(e.channel.linked_guilds(&other_admin).await.unwrap().len(), 1, "only its own");
    let ours = e.channel.linked_guilds(&e.system).await.unwrap();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].settings, settings);

    // Agents cannot see or change links.
    let agent = e.staff("Ann").await;
    assert!(matches!(e.channel.linked_guilds(&agent).await, Err(DeskError::Forbidden(_))));
    assert!(matches!(e.channel.link_guild(&agent, Some(e.link.id), input).await, Err(DeskError::Forbidden(_))));
}

#[tokio::test]
async fn a_guild_the_bot_is_not_in_cannot_be_linked() {
    let e = env().await;
    let mut input = GuildLinkInput {
        guild_id: e.double.new_id().to_string(),
        name: "Not ours".into(),
        enabled: true,
        settings: e.link.settings.clone(),
    };
    let other = e.desk.create_workspace("other", "Other", "OT", "UTC", "General").await.unwrap();
    let admin = Actor::system(other.id);
    let own = topic(&e.desk, &admin, "Help").await;
    input.settings.ticket_types = vec![ticket_type("help", "Help", own, e.category)];
    let err = e.channel.link_guild(&admin, None, input.clone()).await.unwrap_err();
    assert!(err.to_string().contains("the bot is not in this Discord server"), "{err}");
    assert_eq!(field(err), "guildId");
    assert_eq!(e.double.requests_to("GET", &format!("/guilds/{}", input.guild_id)).len(), 1, "Discord was asked");
    assert!(e.channel.linked_guilds(&admin).await.unwrap().is_empty());

    // Once the bot is added to a guild, it links.
    let owner = DiscordUser::person(e.double.new_id(), "nina", "Nina");
    input.guild_id = e.double.add_guild("Joined later", &owner).to_string();
    e.channel.link_guild(&admin, None, input.clone()).await.unwrap();

    // Without a bot token there is no bot to be in any guild.
    let config = DiscordConfig { token: None, application_id: None, api_url: e.double.url.clone(), web_url: None };
    let off = DiscordChannel::new(e.desk.clone(), config);
    input.guild_id = e.double.new_id().to_string();
    let err = off.link_guild(&admin, None, input).await.unwrap_err();
    assert!(err.to_string().contains("SWITCHBOARD_DISCORD_TOKEN"), "{err}");
    assert_eq!(field(err), "guildId");
}

#[tokio::test]
async fn a_panel_click_with_intake_opens_a_private_channel_with_the_right_overwrites() {
    let e = env().await;
    let c = e.double.channel(e.ticket_channel).unwrap();
    assert_eq!(c["parent_id"], e.category.to_string());
    let t = e.desk.ticket(&e.system, e.ticket).await.unwrap();
    assert_eq!(c["name"], format!("ticket-{}", t.number), "sequential names");
    let overwrites = c["permission_overwrites"].as_array().unwrap();
    let of = |id: u64| {
        overwrites
            .iter()
            .find(|o| o["id"].as_str().and_then(|s| s.parse::<u64>().ok()) == Some(id))
            .unwrap_or_else(|| panic!("{id}: {c}"))
    };
    let view = 1u64 << 10;
    let bits = |v: &Value| v.as_str().unwrap().parse::<u64>().unwrap();
    assert!(bits(&of(e.guild)["deny"]) & view != 0, "@everyone cannot see it");
    assert!(bits(&of(e.wendy.id)["allow"]) & view != 0, "the requester can");
    assert_eq!(of(e.wendy.id)["type"], 1);
    assert!(bits(&of(e.support_role)["allow"]) & view != 0, "the staff role can");
    assert_eq!(of(e.support_role)["type"], 0);
    assert!(bits(&of(BOT)["allow"]) & view != 0, "the bot can");
    assert_eq!(overwrites.len(), 4);

    // The ticket: the form's answers, the type's help topic, Wendy as requester on Discord.
    assert_eq!(t.subject, "Printer jams");
    assert_eq!(t.source, Source::Discord);
    assert_eq!(t.help_topic_id, Some(e.general));
    assert_eq!(t.requester_name, "Wendy");
    let thread = e.thread().await;
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0].entry.body, "It jams on every page.");
    // The greeting in the channel mentions her and shows the answers.
    let greeting = &e.double.messages(e.ticket_channel)[0];
    assert_eq!(greeting["content"], format!("<@{}> thanks for reaching out. Our team will answer here.", e.wendy.id));
    assert_eq!(greeting["embeds"][0]["fields"][1]["value"], "It jams on every page.");
}

#[tokio::test]
async fn the_open_limit_and_role_restrictions_refuse_with_a_reason_and_make_nothing() {
    let e = env().await;
    let vip = e.double.add_role(e.guild, "VIP");
    let mut settings = e.link.settings.clone();
    // Limits count a member's open tickets of the type's help topic: Priority has its own.
    let priority_topic = topic(&e.desk, &e.system, "Priority").await;
    let mut priority = ticket_type("priority", "Priority", priority_topic, e.category);
    priority.role_ids = vec![vip.to_string()];
    settings.ticket_types.push(priority);
    let input = GuildLinkInput { guild_id: e.guild.to_string(), name: "Acme".into(), enabled: true, settings };
    e.channel.link_guild(&e.system, Some(e.link.id), input).await.unwrap();
    let channels = e.double.guild_channels(e.guild).len();

    let (opened, told) = e.open_from_panel(&e.wendy, "sb:open:general", None).await;
    assert_eq!(opened, None);
    assert_eq!(
        told,
        format!("You already have an open General ticket: <#{}>. Carry on there, or close it first.", e.ticket_channel)
    );
    let (opened, told) = e.open_from_panel(&e.wendy, "sb:open:priority", None).await;
    assert_eq!(opened, None);
    assert_eq!(
        told,
        format!("Priority tickets are for members with the <@&{vip}> role. Ask the server's staff if you need one.")
    );
    assert_eq!(e.double.guild_channels(e.guild).len(), channels, "no channel was made");

    // With the role, she may.
    e.double.add_member(e.guild, &e.wendy, &[vip]);
    let (opened, _) = e.open_from_panel(&e.wendy, "sb:open:priority", None).await;
    assert!(opened.is_some());
    // Closing her first ticket frees the General slot again.
    e.desk.close(&e.system, e.ticket, CloseReason::Resolved, None).await.unwrap();
    let (opened, told) =
        e.open_from_panel(&e.wendy, "sb:open:general", Some(&[("subject", "Again"), ("description", "x")])).await;
    assert!(opened.is_some(), "{told}");
}

#[tokio::test]
async fn the_open_limit_counts_tickets_of_the_type_not_of_its_help_topic() {
    let e = env().await;
    // Two ticket types on one help topic: Wendy's open General ticket does not use up Billing's
    // one slot, and her Billing ticket then uses it.
    let mut settings = e.link.settings.clone();
    settings.ticket_types.push(ticket_type("billing", "Billing", e.general, e.category));
    let input = GuildLinkInput { guild_id: e.guild.to_string(), name: "Acme".into(), enabled: true, settings };
    e.channel.link_guild(&e.system, Some(e.link.id), input).await.unwrap();

    let (billing, told) = e.open_from_panel(&e.wendy, "sb:open:billing", None).await;
    let billing = billing.unwrap_or_else(|| panic!("a Billing ticket besides the General one: {told}"));
    let (opened, told) = e.open_from_panel(&e.wendy, "sb:open:billing", None).await;
    assert_eq!(opened, None);
    assert_eq!(
        told,
        format!("You already have an open Billing ticket: <#{billing}>. Carry on there, or close it first.")
    );
    let (opened, told) = e.open_from_panel(&e.wendy, "sb:open:general", None).await;
    assert_eq!(opened, None);
    assert_eq!(
        told,
        format!("You already have an open General ticket: <#{}>. Carry on there, or close it first.", e.ticket_channel)
    );
}

#[tokio::test]
async fn a_full_category_overflows_into_a_new_one_and_the_guild_cap_refuses_leaving_nothing() {
    let e = env().await;
    let mut settings = e.link.settings.clone();
    let mut quick = ticket_type("quick", "Quick", e.general, e.category);
    quick.open_limit = 0;
    settings.ticket_types.push(quick);
    let input = GuildLinkInput { guild_id: e.guild.to_string(), name: "Acme".into(), enabled: true, settings };
    e.channel.link_guild(&e.system, Some(e.link.id), input).await.unwrap();
    // The category holds Wendy's ticket; fill it to Discord's 50.
    for i in 1..50 {
        e.double.add_channel(e.guild, &format!("old-{i}"), channel_type::TEXT, Some(e.category));
    }
    let (opened, told) = e.open_from_panel(&e.sam, "sb:open:quick", None).await;
    let opened = opened.unwrap_or_else(|| panic!("{told}"));
    let c = e.double.channel(opened).unwrap();
    let overflow: u64 = c["parent_id"].as_str().unwrap().parse().unwrap();
    assert_ne!(overflow, e.category);
    let category = e.double.channel(overflow).unwrap();
    assert_eq!(category["name"], "General Tickets 2");
    assert_eq!(category["type"], channel_type::CATEGORY);
    // The next one goes into the overflow category too, without making another.
    let (next, _) = e.open_from_panel(&e.sam, "sb:open:quick", None).await;
    assert_eq!(e.double.channel(next.unwrap()).unwrap()["parent_id"], overflow.to_string());
    let categories = |d: &DiscordDouble| d.guild_channels(e.guild).iter().filter(|c| c["type"] == 4).count();
    assert_eq!(categories(&e.double), 2);

    // Fill the guild to Discord's 500 channels.
    for n in e.double.guild_channels(e.guild).len()..500 {
        e.double.add_channel(e.guild, &format!("filler-{n}"), channel_type::TEXT, None);
    }
    let tickets_before = e.desk.list_tickets(&e.system, &TicketFilter::default(), 100, None).await.unwrap().total;
    let (opened, told) = e.open_from_panel(&e.sam, "sb:open:quick", None).await;
    assert_eq!(opened, None);
    assert!(told.starts_with("This server has reached Discord's limit of 500 channels"), "{told}");
    assert_eq!(e.double.guild_channels(e.guild).len(), 500, "nothing half-made");
    let tickets_after = e.desk.list_tickets(&e.system, &TicketFilter::default(), 100, None).await.unwrap().total;
    assert_eq!(tickets_after, tickets_before, "no ticket without a channel");
}

#[tokio::test]
async fn events_from_a_guild_no_workspace_linked_are_ignored() {
    let e = env().await;
    let owner = DiscordUser::person(e.double.new_id(), "stranger", "Stranger");
    let elsewhere = e.double.add_guild("Elsewhere", &owner);
    e.double.add_member(elsewhere, &e.wendy, &[]);
    let room = e.double.add_channel(elsewhere, "ticket-9", channel_type::TEXT, None);
    // A ticket whose channel is in that guild (as if the guild had been unlinked since).
    let t = e
        .desk
        .open_channel_ticket(
            &e.system,
            OpenChannelTicket {
                channel: Channel::Discord,
                account_id: None,
                thread_key: room.to_string(),
                external_message_id: "old-opening".into(),
                sender_kind: switchboard_desk::store::records::IdentityKind::Channel(Channel::Discord),
                sender_value: e.wendy.id.to_string(),
                sender_name: Some("Wendy".into()),
                subject: "Old".into(),
                description: "Old ticket".into(),
                help_topic_id: None,
                entry_meta: None,
                attachments: Vec::new(),
            },
        )
        .await
        .unwrap();
    let seen = e.received("MESSAGE_CREATE");
    e.double.user_message(room, &e.wendy, "hello from elsewhere", &[]);
    e.double.user_message(e.ticket_channel, &e.wendy, "hello from home", &[]);
    wait_for_async("the linked guild's message", || async { e.thread().await.len() == 2 }).await;
    wait_for("both messages", || e.received("MESSAGE_CREATE") >= seen + 2).await;
    assert_eq!(e.desk.thread(&e.system, t.id).await.unwrap().len(), 1, "nothing recorded from the unlinked guild");
    // A click there opens nothing.
    let click = e.double.click(elsewhere, room, e.double.new_id(), &e.wendy, "sb:open:general", None);
    wait_for("the answer", || !e.double.interaction_callbacks(click).is_empty()).await;
    assert_eq!(
        e.double.interaction_callbacks(click)[0]["data"]["content"],
        "Tickets cannot be opened in this server at the moment."
    );
    assert_eq!(e.double.guild_channels(elsewhere).len(), 1);
}

// ---- the conversation ----

#[tokio::test]
async fn staff_role_messages_are_staff_replies_and_edits_and_deletions_go_into_the_history() {
    let e = env().await;
    e.double.user_message(e.ticket_channel, &e.sam, "Which printer model?", &[]);
    wait_for_async("Sam's reply", || async { e.thread().await.len() == 2 }).await;
    let thread = e.thread().await;
    let sam = &thread[1].entry;
    assert_eq!(sam.kind, EntryKind::Reply);
    assert_eq!(sam.author_contact_id, None, "not a customer message");
    assert_eq!(sam.author_user_id, None, "no staff account is linked to Sam's Discord account");
    assert_eq!(sam.author_name.as_deref(), Some("Sam"));
    assert_eq!(sam.delivery_status, None, "already in Discord: nothing to deliver");
    let t = e.desk.ticket(&e.system, e.ticket).await.unwrap();
    assert!(t.first_responded_at.is_some(), "it counts as the first response");
    assert!(e.desk.due_outbox(Channel::Discord, 10).await.unwrap().is_empty());

    // Linked to a staff account, his messages are that account's.
    let agent = e.staff("Samuel").await;
    let user = agent.user_id().unwrap();
    e.desk.link_staff_identity(&e.system, user, Channel::Discord, &e.sam.id.to_string()).await.unwrap();
    e.double.user_message(e.ticket_channel, &e.sam, "Try the rear tray.", &[]);
    wait_for_async("the linked reply", || async { e.thread().await.len() == 3 }).await;
    let linked = e.thread().await[2].entry.clone();
    assert_eq!(linked.author_user_id, Some(user));
    assert_eq!(linked.author_name.as_deref(), Some("Samuel"));

    // Wendy edits, then deletes her message: the entry keeps what arrived, the history says what
    // changed and who did it.
    let m = e.double.user_message(e.ticket_channel, &e.wendy, "It is the LX-100", &[]);
    wait_for_async("her message", || async { e.thread().await.len() == 4 }).await;
    e.double.edit_message(e.ticket_channel, id(&m), "It is the LX-200");
    wait_for_async("the edit", || async {
        e.desk.history(&e.system, e.ticket).await.unwrap().iter().any(|h| h.field == "message_edited")
    })
    .await;
    e.double.delete_message(e.ticket_channel, id(&m));
    wait_for_async("the deletion", || async {
        e.desk.history(&e.system, e.ticket).await.unwrap().iter().any(|h| h.field == "message_deleted")
    })
    .await;
    let history = e.desk.history(&e.system, e.ticket).await.unwrap();
    let edit = history.iter().find(|h| h.field == "message_edited").unwrap();
    assert_eq!(edit.new_value.as_deref(), Some("It is the LX-200"));
    assert_eq!(edit.actor_label, "Wendy (Discord)");
    let deletion = history.iter().find(|h| h.field == "message_deleted").unwrap();
    assert!(deletion.old_value.as_deref().unwrap().ends_with(": It is the LX-200"), "{deletion:?}");
    assert_eq!(e.thread().await[3].entry.body, "It is the LX-100", "the record is not silently changed");
    // An edit that changes nothing (Discord sends updates for embeds too) adds no history.
    let edits = history.iter().filter(|h| h.field == "message_edited").count();
    assert_eq!(edits, 1);
}

#[tokio::test]
async fn a_quick_note_from_staff_is_an_internal_note_and_leaves_the_channel() {
    let e = env().await;
    let m = e.double.user_message(e.ticket_channel, &e.sam, "-# Firmware 2.1 has the known tray bug.", &[]);
    wait_for_async("the note", || async { e.thread().await.len() == 2 }).await;
    let note = e.thread().await[1].entry.clone();
    assert_eq!(note.kind, EntryKind::Note);
    assert_eq!(note.body, "Firmware 2.1 has the known tray bug.");
    assert_eq!(note.author_name.as_deref(), Some("Sam"));
    // The message is deleted from Discord: Wendy never reads it.
    wait_for("the message's deletion", || e.double.messages(e.ticket_channel).iter().all(|x| x["id"] != m["id"])).await;
    assert_eq!(e.double.requests_to("DELETE", &format!("/channels/{}/messages/{}", e.ticket_channel, id(&m))).len(), 1);
    // A note is no reply: no first response, nothing to deliver, no "deleted on Discord" history.
    let t = e.desk.ticket(&e.system, e.ticket).await.unwrap();
    assert!(t.first_responded_at.is_none());
    assert!(e.desk.due_outbox(Channel::Discord, 10).await.unwrap().is_empty());
    wait_for("the deletion event", || e.received("MESSAGE_DELETE") >= 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let history = e.desk.history(&e.system, e.ticket).await.unwrap();
    assert!(history.iter().all(|h| h.field != "message_deleted"), "{history:?}");
    // Delivered again, it adds nothing.
    let seen = e.received("MESSAGE_CREATE");
    e.double.dispatch("MESSAGE_CREATE", m.clone());
    wait_for("the redelivery", || e.received("MESSAGE_CREATE") > seen).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(e.thread().await.len(), 2);
    // The same marker from the requester is an ordinary message; it stays in the channel.
    let w = e.double.user_message(e.ticket_channel, &e.wendy, "-# small print", &[]);
    wait_for_async("her message", || async { e.thread().await.len() == 3 }).await;
    let hers = e.thread().await[2].entry.clone();
    assert_eq!((hers.kind, hers.body.as_str()), (EntryKind::Reply, "-# small print"));
    assert!(e.double.messages(e.ticket_channel).iter().any(|x| x["id"] == w["id"]));
}

#[tokio::test]
async fn a_reply_over_2000_characters_goes_out_in_parts_split_at_paragraphs() {
    let e = env().await;
    let paragraph = "All work and no play. ".repeat(70);
    let body = format!("{}\n\n{}\n\n{}", paragraph.trim(), paragraph.trim(), paragraph.trim());
    assert!(body.chars().count() > 4000);
    e.desk.reply(&e.system, e.ticket, &body, Vec::new(), None).await.unwrap();
    let msg = e.due().await;
    let outcome = DiscordSender(e.channel.clone()).send(&msg).await;
    let DeliveryOutcome::Sent { external_message_id: Some(first) } = outcome else { panic!("{outcome:?}") };
    let replies: Vec<Value> =
        e.double.messages(e.ticket_channel).into_iter().filter(|m| m["nonce"].is_string()).collect();
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert_eq!(replies[0]["id"].as_str(), Some(first.as_str()));
    assert!(replies.iter().all(|m| m["content"].as_str().unwrap().chars().count() <= 2000));
    assert_eq!(replies[1]["content"], paragraph.trim());
    // Sent again after a lost answer: the nonces keep every part from posting twice.
    DiscordSender(e.channel.clone()).send(&msg).await;
    assert_eq!(e.double.messages(e.ticket_channel).into_iter().filter(|m| m["nonce"].is_string()).count(), 3);
}

// ---- closing ----

#[tokio::test]
async fn closing_archives_a_transcript_posts_it_and_deletes_the_channel() {
    let e = env().await;
    let transcripts = e.double.add_channel(e.guild, "ticket-transcripts", channel_type::TEXT, None);
    let mut settings = e.link.settings.clone();
    settings.transcripts_channel_id = Some(transcripts.to_string());
    let input = GuildLinkInput { guild_id: e.guild.to_string(), name: "Acme".into(), enabled: true, settings };
    e.channel.link_guild(&e.system, Some(e.link.id), input).await.unwrap();

    let png: &[u8] = b"\x89PNG\r\n\x1a\nthe jam";
    e.double.user_message(e.ticket_channel, &e.wendy, "Photo of the <jam>:", &[("jam.png", "image/png", png)]);
    e.double.user_message(e.ticket_channel, &e.sam, "Thanks, ordering a roller.", &[]);
    wait_for_async("both messages", || async { e.thread().await.len() == 3 }).await;
    let agent = e.staff("Ann").await;
    e.desk.add_note(&agent, e.ticket, "Secret: the warranty ran out.").await.unwrap();
    // Discord's links expire before the close: the transcript takes the files from the blob store.
    e.double.expire_attachments();
    e.desk.close(&agent, e.ticket, CloseReason::Resolved, Some("Roller replaced")).await.unwrap();
    assert_eq!(e.channel.archive_closed_tickets().await.unwrap(), 1);

    assert!(e.double.channel(e.ticket_channel).is_none(), "the channel is deleted");
    let thread = e.thread().await;
    let archived = thread.last().unwrap();
    assert_eq!(archived.entry.kind, EntryKind::System);
    let names: Vec<&str> = archived.attachments.iter().map(|a| a.file_name.as_str()).collect();
    let t = e.desk.ticket(&e.system, e.ticket).await.unwrap();
    let stem = format!("transcript-SD-{}", t.number);
    assert_eq!(names, [format!("{stem}.html"), format!("{stem}.txt")]);
    let (_, html) = e.desk.attachment(&e.system, archived.attachments[0].id).await.unwrap();
    let html = String::from_utf8(html).unwrap();
    let (_, text) = e.desk.attachment(&e.system, archived.attachments[1].id).await.unwrap();
    let text = String::from_utf8(text).unwrap();
    for needle in ["Photo of the &lt;jam&gt;:", "Thanks, ordering a roller.", "Sam", "Wendy"] {
        assert!(html.contains(needle), "{needle} missing from the HTML transcript");
    }
    // The file itself, from the blob store, and the intake answers and the bot's embed.
    use base64::Engine as _;
    assert!(html.contains(&base64::engine::general_purpose::STANDARD.encode(png)));
    assert!(html.contains("<dt>Subject</dt><dd><pre>Printer jams</pre></dd>"));
    assert!(html.contains(&format!("General ticket SD-{}", t.number)), "the greeting's embed");
    assert!(text.contains("Photo of the <jam>:") && text.contains("[file: jam.png"));
    assert!(!html.contains("warranty") && !text.contains("warranty"), "internal notes stay out");

    // Posted once to the transcripts channel, with the HTML file.
    let posted = e.double.requests_to("POST", &format!("/channels/{transcripts}/messages"));
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].files[0].1, format!("{stem}.html"));
    assert!(posted[0].json["content"].as_str().unwrap().contains("closed (resolved)"));
    // The ticket lets go of the channel: the sweep has nothing more to do, and the CHANNEL_DELETE
    // its own deletion caused changes nothing.
    assert_eq!(e.channel.archive_closed_tickets().await.unwrap(), 0);
    assert_eq!(e.desk.ticket_by_channel_thread(Channel::Discord, &e.ticket_channel.to_string()).await.unwrap(), None);
    let after = e.desk.ticket(&e.system, e.ticket).await.unwrap();
    assert_eq!(after.close_note.as_deref(), Some("Roller replaced"));
}

#[tokio::test]
async fn the_rating_request_is_a_dm_with_buttons_recorded_once_and_refused_dms_are_not_retried() {
    let e = env().await;
    e.desk.close(&e.system, e.ticket, CloseReason::Resolved, None).await.unwrap();
    e.desk.after_close_and_alerts().await.unwrap();
    let msg = e.due().await;
    let outcome = DiscordSender(e.channel.clone()).send(&msg).await;
    assert!(matches!(outcome, DeliveryOutcome::Sent { .. }), "{outcome:?}");
    e.desk.record_outbox_attempt(&msg, &outcome, 1000).await.unwrap();
    // Not in the ticket channel (it goes), but in a DM to Wendy.
    assert!(e.double.messages(e.ticket_channel).iter().all(|m| !m["nonce"].is_string()));
    let dm_open = e.double.requests_to("POST", "/users/@me/channels");
    assert_eq!(dm_open[0].json["recipient_id"], e.wendy.id.to_string());
    let dm = e
        .double
        .requests_to("POST", "/channels/")
        .into_iter()
        .find(|r| r.json["nonce"].as_str().is_some_and(|n| n.ends_with(".dm")))
        .unwrap();
    let dm_channel: u64 = dm.path.split('/').nth(2).unwrap().parse().unwrap();
    let sent = e.double.messages(dm_channel);
    let buttons = sent[0]["components"][0]["components"].as_array().unwrap();
    let labels: Vec<&str> = buttons.iter().map(|b| b["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["Helpful", "Not helpful", "Skip"]);
    let down = buttons[1]["custom_id"].as_str().unwrap();
    let message = id(&sent[0]);

    // Someone else cannot rate her ticket; she can, once.
    let click = e.double.click(e.guild, dm_channel, message, &e.sam, down, None);
    wait_for("the answer", || !e.double.interaction_callbacks(click).is_empty()).await;
    assert_eq!(e.double.interaction_callbacks(click)[0]["data"]["content"], "This rating is not yours to give.");
    assert_eq!(e.desk.ticket(&e.system, e.ticket).await.unwrap().csat_rating, None);
    let click = e.double.click(e.guild, dm_channel, message, &e.wendy, down, None);
    wait_for("the answer", || !e.double.interaction_callbacks(click).is_empty()).await;
    let answer = &e.double.interaction_callbacks(click)[0];
    assert_eq!(answer["type"], 7, "the message is replaced, its buttons gone");
    assert_eq!(answer["data"]["components"], serde_json::json!([]));
    assert_eq!(e.desk.ticket(&e.system, e.ticket).await.unwrap().csat_rating, Some(1));
    let again = e.double.click(e.guild, dm_channel, message, &e.wendy, buttons[0]["custom_id"].as_str().unwrap(), None);
    wait_for("the answer", || !e.double.interaction_callbacks(again).is_empty()).await;
    assert_eq!(e.desk.ticket(&e.system, e.ticket).await.unwrap().csat_rating, Some(1), "rated once");

    // A member who refuses DMs: the entry says so and the outbox gives up at once.
    let dora = DiscordUser::person(e.double.new_id(), "dora", "Dora");
    e.double.add_member(e.guild, &dora, &[]);
    e.double.refuse_dms(dora.id);
    let (opened, _) =
        e.open_from_panel(&dora, "sb:open:general", Some(&[("subject", "Hi"), ("description", "x")])).await;
    let (_, dora_ticket) =
        e.desk.ticket_by_channel_thread(Channel::Discord, &opened.unwrap().to_string()).await.unwrap().unwrap();
    e.desk.close(&e.system, dora_ticket, CloseReason::Resolved, None).await.unwrap();
    e.desk.after_close_and_alerts().await.unwrap();
    let msg = e.due().await;
    assert_eq!(msg.ticket_id, dora_ticket);
    let outcome = DiscordSender(e.channel.clone()).send(&msg).await;
    let DeliveryOutcome::Failed { error } = outcome else { panic!("{outcome:?}") };
    assert!(error.contains("50007"), "{error}");
}

// ---- reliability ----

#[tokio::test]
async fn after_an_outage_missed_messages_are_fetched_and_vanished_channels_close_their_tickets() {
    let mut e = env().await;
    e.double.user_message(e.ticket_channel, &e.wendy, "before the outage", &[]);
    wait_for_async("the first message", || async { e.thread().await.len() == 2 }).await;
    // A second ticket, whose channel someone deletes while the server is down.
    let (second, _) =
        e.open_from_panel(&e.sam, "sb:open:general", Some(&[("subject", "Mine"), ("description", "y")])).await;
    let second = second.unwrap();
    let (_, second_ticket) =
        e.desk.ticket_by_channel_thread(Channel::Discord, &second.to_string()).await.unwrap().unwrap();

    // The server goes away (its gateway with it); Discord carries on.
    e.gateway.abort();
    wait_for("the connection to drop", || e.double.connections() == 0).await;
    e.double.user_message(e.ticket_channel, &e.wendy, "while you were away", &[]);
    e.double.user_message(e.ticket_channel, &e.wendy, "and again", &[]);
    e.double.delete_channel_by_hand(second);

    // Started again: a new session (no replay of what it missed), then the catch-up.
    let config = DiscordConfig {
        token: Some(TOKEN.into()),
        application_id: Some(APP),
        api_url: e.double.url.clone(),
        web_url: None,
    };
    let restarted = DiscordChannel::new(e.desk.clone(), config);
    e.gateway = tokio::spawn(restarted.clone().run_gateway());
    e.channel = restarted;
    wait_for_async("the missed messages", || async { e.thread().await.len() == 4 }).await;
    let bodies: Vec<String> = e.thread().await.iter().map(|t| t.entry.body.clone()).collect();
    assert_eq!(bodies, ["It jams on every page.", "before the outage", "while you were away", "and again"]);
    wait_for_async("the vanished channel's ticket to close", || async {
        e.desk.ticket(&e.system, second_ticket).await.unwrap().status == TicketStatus::Closed
    })
    .await;
    let closed = e.desk.ticket(&e.system, second_ticket).await.unwrap();
    assert!(closed.close_note.unwrap().contains("was deleted in Discord"));
    assert_eq!(e.double.identifies(), 2, "a new session, not a resume");
    // Nothing twice: the catch-up and the gateway go through one inbox.
    e.double.user_message(e.ticket_channel, &e.wendy, "after", &[]);
    wait_for_async("the live message", || async { e.thread().await.len() == 5 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(e.thread().await.len(), 5);
}

#[tokio::test]
async fn a_ticket_closed_while_the_bot_was_away_has_its_channel_cleaned_up_on_return() {
    let e = env().await;
    e.gateway.abort();
    wait_for("the connection to drop", || e.double.connections() == 0).await;
    e.desk.close(&e.system, e.ticket, CloseReason::Resolved, None).await.unwrap();
    assert!(e.double.channel(e.ticket_channel).is_some());
    // Back: the sweep runs on the server holding the gateway.
    let config = DiscordConfig {
        token: Some(TOKEN.into()),
        application_id: Some(APP),
        api_url: e.double.url.clone(),
        web_url: None,
    };
    let back = DiscordChannel::new(e.desk.clone(), config);
    let gateway = tokio::spawn(back.clone().run_gateway());
    let sweeps = tokio::spawn(back.clone().run_sweeps());
    wait_for("the channel to go", || e.double.channel(e.ticket_channel).is_none()).await;
    wait_for_async("the transcript", || async { e.thread().await.last().unwrap().entry.kind == EntryKind::System })
        .await;
    gateway.abort();
    sweeps.abort();
}

#[tokio::test]
async fn one_server_of_a_deployment_holds_the_gateway_and_the_others_stand_by() {
    let e = env().await;
    // A second server on the same database (its own desk: its own lease holder name).
    let other = Desk::new(
        e.desk.store().clone(),
        Arc::new(SystemClock),
        BlobStore::new(e._dir.path().join("blobs")),
        AuthConfig { jwt_secret: b"test secret for the discord channel".to_vec(), token_ttl_secs: 3600 },
    );
    let config = DiscordConfig {
        token: Some(TOKEN.into()),
        application_id: Some(APP),
        api_url: e.double.url.clone(),
        web_url: None,
    };
    let standby = DiscordChannel::new(other, config);
    let task = tokio::spawn(standby.clone().run_gateway());
    wait_for("the standby", || standby.status().standby).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(e.double.identifies(), 1, "only the first server connected");
    assert_eq!(e.double.connections(), 1);
    assert!(!standby.status().connected);
    task.abort();
}

#[tokio::test]
async fn an_event_stored_but_not_processed_before_a_crash_is_processed_by_the_sweep_once() {
    let e = env().await;
    e.gateway.abort();
    wait_for("the connection to drop", || e.double.connections() == 0).await;
    // The gateway delivered a message and the server stored it, then died before processing it:
    // the inbox row is all there is (the stored form: the event's kind and Discord's JSON).
    let m = e.double.user_message(e.ticket_channel, &e.wendy, "stored, then the crash", &[]);
    let payload = serde_json::json!({ "kind": "MessageCreate", "event": m }).to_string();
    let key = format!("message:{}", id(&m));
    let stored = e.desk.store_channel_event(Channel::Discord, &key, &payload).await.unwrap();
    assert!(stored.is_some());
    assert_eq!(e.desk.store_channel_event(Channel::Discord, &key, &payload).await.unwrap(), None, "one row per key");
    assert_eq!(e.thread().await.len(), 1);

    // After the restart the sweep finds it (it waited past the sweep's grace period: the desk's
    // clock is moved on a minute instead of the test sleeping).
    let later = Arc::new(ManualClock::at(e.desk.now() + 60_000));
    let config = DiscordConfig {
        token: Some(TOKEN.into()),
        application_id: Some(APP),
        api_url: e.double.url.clone(),
        web_url: None,
    };
    let restarted = DiscordChannel::new(e.desk.with_clock(later), config);
    restarted.sweep_once().await.unwrap();
    let thread = e.thread().await;
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[1].entry.body, "stored, then the crash");
    // Processed: a second sweep, and the catch-up's fetch of the same message, add nothing.
    restarted.sweep_once().await.unwrap();
    let gateway = tokio::spawn(restarted.clone().run_gateway());
    wait_for("the new session", || e.double.identifies() == 2 && e.double.connections() == 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(e.thread().await.len(), 2);
    gateway.abort();
}

/// A row of the command table: the command, its options, and whether each member may run it.
type Row = (&'static str, &'static [(&'static str, &'static str)], [bool; 4]);

/// Discord's permission bits the command tests give members in the ticket channel.
const VIEW_AND_SEND: u64 = (1 << 10) | (1 << 11);
const MANAGE_CHANNELS: u64 = 1 << 4;

#[tokio::test]
async fn every_registered_slash_command_has_its_row_in_the_permission_table() {
    let e = env().await;
    wait_for("the commands to be registered", || !e.double.registered_commands().is_empty()).await;
    let registered: Vec<String> =
        e.double.registered_commands().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
    for name in &registered {
        assert!(switchboard_discord::commands::access_of(name).is_some(), "/{name} has no row in the permission table");
    }
    let mut rows: Vec<&str> = switchboard_discord::commands::ACCESS.iter().map(|(n, _)| *n).collect();
    rows.sort_unstable();
    let mut names: Vec<&str> = registered.iter().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, rows, "every row is a registered command");
    // The close reasons are the seed's, and the note is capped at its 500 characters.
    let close = e.double.registered_commands().into_iter().find(|c| c["name"] == "close").unwrap();
    let reasons: Vec<&str> =
        close["options"][0]["choices"].as_array().unwrap().iter().map(|c| c["value"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["resolved", "duplicate", "user_unresponsive", "out_of_scope", "spam", "other"]);
    assert_eq!(close["options"][1]["max_length"], 500);
}

#[tokio::test]
async fn staff_commands_are_allowed_or_refused_exactly_as_the_seed_table_says_and_do_their_work() {
    let e = env().await;
    // Members: the requester (plain), Sam (the Support staff role), Max (Manage Channels, no
    // role), Mia (a management role).
    let management = e.double.add_role(e.guild, "Management");
    let max = DiscordUser::person(e.double.new_id(), "max_mod", "Max");
    e.double.add_member(e.guild, &max, &[]);
    let mia = DiscordUser::person(e.double.new_id(), "mia_m", "Mia");
    e.double.add_member(e.guild, &mia, &[management]);
    let mut settings = e.link.settings.clone();
    settings.management_role_ids = vec![management.to_string()];
    let input = GuildLinkInput { guild_id: e.guild.to_string(), name: "Acme".into(), enabled: true, settings };
    e.channel.link_guild(&e.system, Some(e.link.id), input).await.unwrap();
    // Sam's Discord account is linked to his staff account; the others are known by name.
    let sam_staff = e.staff("Samuel").await;
    e.desk
        .link_staff_identity(&e.system, sam_staff.user_id().unwrap(), Channel::Discord, &e.sam.id.to_string())
        .await
        .unwrap();

    let members: [(&str, &DiscordUser, u64); 4] = [
        ("plain member", &e.wendy, VIEW_AND_SEND),
        ("staff role", &e.sam, VIEW_AND_SEND),
        ("Manage Channels only", &max, VIEW_AND_SEND | MANAGE_CHANNELS),
        ("management role", &mia, VIEW_AND_SEND),
    ];
    // A canned response for /macro, with a variable.
    let canned = CannedResponseInput {
        title: "Firmware".into(),
        shortcut: Some("firmware".into()),
        body: "Hi {{requester.name}}, please update the printer firmware.".into(),
        help_topic_id: None,
        version: None,
    };
    e.desk.save_canned_response(&e.system, None, canned).await.unwrap();
    // The seed's table: (command, options, allowed for each member above). The plain member is
    // Wendy, the ticket's owner.
    let table: [Row; 6] = [
        ("note", &[("content", "Checked the printer logs.")], [false, true, true, true]),
        ("claim", &[], [false, true, true, true]),
        ("unclaim", &[], [false, true, true, true]),
        ("macro", &[("shortcut", "firmware")], [false, true, true, true]),
        ("rename", &[("name", "Printer LX-200")], [true, true, false, true]),
        ("close", &[("reason", "resolved"), ("note", "Fixed by the firmware update.")], [false, false, true, false]),
    ];
    let mut answers = Vec::new();
    for (command, options, allowed) in table {
        for ((who, user, permissions), allowed) in members.iter().zip(allowed) {
            let i = e.double.run_command(e.guild, e.ticket_channel, user, command, options, *permissions);
            wait_for("the command's answer", || !e.double.interaction_callbacks(i).is_empty()).await;
            let answer = e.double.interaction_callbacks(i)[0].clone();
            let text = match answer["type"].as_u64() {
                Some(5) => {
                    wait_for("the deferred answer", || !e.double.interaction_follow_ups(i).is_empty()).await;
                    e.double.interaction_follow_ups(i)[0]["content"].as_str().unwrap().to_string()
                }
                _ => answer["data"]["content"].as_str().unwrap().to_string(),
            };
            let refused = text.contains(" needs ");
            assert_eq!(!refused, allowed, "/{command} by a {who}: {text}");
            if refused {
                assert_eq!(answer["data"]["flags"], 64, "a refusal only the member sees");
            }
            answers.push((command, *who, text));
        }
    }
    let said =
        |command: &str, who: &str| answers.iter().find(|(c, w, _)| *c == command && *w == who).unwrap().2.clone();
    assert_eq!(
        said("close", "staff role"),
        "/close needs the Manage Channels permission; a staff role alone is not enough."
    );
    assert_eq!(
        said("claim", "plain member"),
        format!("/claim needs a staff role (<@&{}>) or the Manage Channels permission.", e.support_role)
    );
    // Claiming assigns the ticket to a staff member of the helpdesk: Sam (linked) claims it, Max
    // and Mia (not linked) are told how to link; Sam's unclaim releases it.
    assert_eq!(said("claim", "staff role"), format!("<@{}> claimed this ticket.", e.sam.id));
    assert!(said("claim", "Manage Channels only").contains("link your Discord account"), "{answers:?}");
    assert_eq!(said("unclaim", "staff role"), format!("<@{}> released this ticket.", e.sam.id));
    assert_eq!(said("unclaim", "management role"), "/unclaim: the ticket is not claimed.");
    // /rename: the owner or a staff role; Manage Channels alone is not enough.
    assert_eq!(said("rename", "plain member"), format!("<@{}> renamed this channel to #printer-lx-200.", e.wendy.id));
    assert_eq!(
        said("rename", "Manage Channels only"),
        format!(
            "/rename needs you to be the ticket's owner or to have a staff role (<@&{}>); the Manage Channels permission alone is not enough.",
            e.support_role
        )
    );
    assert_eq!(
        e.double.requests_to("PATCH", &format!("/channels/{}", e.ticket_channel)).len(),
        1 + 3,
        "named, then renamed thrice"
    );
    // /macro: the canned response rendered for this ticket, sent as a reply by the member.
    assert_eq!(said("macro", "staff role"), "Sent the canned response \"firmware\".");
    let thread = e.desk.thread(&e.system, e.ticket).await.unwrap();
    let sent: Vec<(&str, Option<&str>)> = thread
        .iter()
        .filter(|t| t.entry.kind == EntryKind::Reply && t.entry.body.contains("firmware"))
        .map(|t| (t.entry.body.as_str(), t.entry.author_name.as_deref()))
        .collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[0], ("Hi Wendy, please update the printer firmware.", Some("Samuel")));

    // The notes are internal, attributed, and never posted to Discord.
    let thread = e.desk.thread(&e.system, e.ticket).await.unwrap();
    let notes: Vec<(String, String)> = thread
        .iter()
        .filter(|t| t.entry.kind == EntryKind::Note && t.entry.body == "Checked the printer logs.")
        .map(|t| (t.entry.body.clone(), t.entry.author_name.clone().unwrap_or_default()))
        .collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    let authors: Vec<&str> = notes.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(authors, ["Samuel", "Max", "Mia"], "attributed like their messages");
    assert!(
        e.double.messages(e.ticket_channel).iter().all(|m| m["content"].as_str() != Some("Checked the printer logs.")),
        "no note in Discord"
    );
    // Closed by Max with the reason and note; the channel goes after the transcript.
    let t = e.desk.ticket(&e.system, e.ticket).await.unwrap();
    assert_eq!(t.status, TicketStatus::Closed);
    assert_eq!(t.close_reason.as_deref(), Some("resolved"));
    assert_eq!(t.close_note.as_deref(), Some("Fixed by the firmware update."));
    assert!(said("close", "Manage Channels only").starts_with("Closed (resolved)."), "{answers:?}");
}

#[tokio::test]
async fn a_members_message_is_taken_in_by_the_guilds_channel_adapter_not_the_system() {
    let e = env().await;
    e.double.user_message(e.ticket_channel, &e.wendy, "Still jamming", &[]);
    wait_for_async("the entry", || async { e.thread().await.len() == 2 }).await;
    let entry = e.thread().await.last().unwrap().entry.id;
    // The event webhooks and automation see names who acted: the guild's adapter, which may
    // ingest for the member but not administer the workspace as the system could.
    let mut tx = e.desk.store().read().await.unwrap();
    let events = tx.list_events(e.link.workspace_id, e.ticket).await.unwrap();
    let created: Vec<serde_json::Value> = events
        .into_iter()
        .filter(|(kind, _)| kind == "entry.created")
        .map(|(_, p)| serde_json::from_str(&p).unwrap())
        .filter(|p: &serde_json::Value| p["entryId"] == entry.0)
        .collect();
    assert_eq!(created.len(), 1, "one entry.created event for the message");
    assert_eq!(created[0]["actor"], "Channel: discord");
}

#[tokio::test]
async fn macro_autocomplete_offers_the_shortcuts_the_tickets_help_topic_may_use_to_staff_only() {
    let e = env().await;
    let other = topic(&e.desk, &e.system, "Other").await;
    for (title, shortcut, topic) in [
        ("Firmware", "firmware", None),
        ("Refund policy", "refund-policy", None),
        ("Other only", "other-only", Some(other)),
    ] {
        let input = CannedResponseInput {
            title: title.into(),
            shortcut: Some(shortcut.into()),
            body: format!("{title} text"),
            help_topic_id: topic,
            version: None,
        };
        e.desk.save_canned_response(&e.system, None, input).await.unwrap();
    }
    let ask = |who: &DiscordUser, typed: &str| {
        let i = e.double.autocomplete(e.guild, e.ticket_channel, who, "macro", ("shortcut", typed), VIEW_AND_SEND);
        (i, who.clone())
    };
    let (i, _) = ask(&e.sam, "");
    wait_for("the choices", || !e.double.interaction_callbacks(i).is_empty()).await;
    let answer = e.double.interaction_callbacks(i)[0].clone();
    assert_eq!(answer["type"], 8);
    let values: Vec<&str> =
        answer["data"]["choices"].as_array().unwrap().iter().map(|c| c["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["firmware", "refund-policy"], "not the other help topic's");
    let (i, _) = ask(&e.sam, "ref");
    wait_for("the choices", || !e.double.interaction_callbacks(i).is_empty()).await;
    assert_eq!(
        e.double.interaction_callbacks(i)[0]["data"]["choices"],
        serde_json::json!([{ "name": "Refund policy (refund-policy)", "value": "refund-policy" }])
    );
    // A member who may not run /macro learns no shortcut.
    let (i, _) = ask(&e.wendy, "");
    wait_for("the choices", || !e.double.interaction_callbacks(i).is_empty()).await;
    assert_eq!(e.double.interaction_callbacks(i)[0]["data"]["choices"], serde_json::json!([]));
    // A shortcut scoped to another help topic is refused when run.
    let i =
        e.double.run_command(e.guild, e.ticket_channel, &e.sam, "macro", &[("shortcut", "other-only")], VIEW_AND_SEND);
    wait_for("the answer", || !e.double.interaction_callbacks(i).is_empty()).await;
    let text = e.double.interaction_callbacks(i)[0]["data"]["content"].as_str().unwrap().to_string();
    assert_eq!(text, "/macro: no canned response has the shortcut \"other-only\".");
}

/// What a member was told in answer to a command (the deferred answer's edit, when deferred).
async fn told(e: &Env, i: u64) -> (Value, String) {
    wait_for("the answer", || !e.double.interaction_callbacks(i).is_empty()).await;
    let answer = e.double.interaction_callbacks(i)[0].clone();
    let text = answer["data"]["content"].as_str().unwrap_or_default().to_string();
    (answer, text)
}

#[tokio::test]
async fn the_ticket_chat_skills_answer_a_member_about_their_own_tickets_only() {
    let e = env().await;
    let number = e.desk.ticket(&e.system, e.ticket).await.unwrap().display_number();
    // Anywhere in the guild (here the panel channel), only to the member.
    let i = e.double.run_command(e.guild, e.panel, &e.wendy, "ticket list", &[], VIEW_AND_SEND);
    let (answer, text) = told(&e, i).await;
    assert_eq!(answer["data"]["flags"], 64);
    assert_eq!(text, format!("Your recent tickets:\n{number} · Printer jams · open"));
    let i = e.double.run_command(
        e.guild,
        e.panel,
        &e.wendy,
        "ticket status",
        &[("number", &number.to_lowercase())],
        VIEW_AND_SEND,
    );
    let (answer, text) = told(&e, i).await;
    assert_eq!(answer["data"]["flags"], 64);
    assert_eq!(text, format!("Ticket {number} · Printer jams · open"));
    // Sam asks after Wendy's ticket, and Wendy after one that does not exist: the same answer.
    let i = e.double.run_command(e.guild, e.panel, &e.sam, "ticket status", &[("number", &number)], VIEW_AND_SEND);
    let (_, someone_elses) = told(&e, i).await;
    let i = e.double.run_command(e.guild, e.panel, &e.wendy, "ticket status", &[("number", "SD-99999")], VIEW_AND_SEND);
    let (_, missing) = told(&e, i).await;
    assert_eq!(someone_elses, format!("No ticket {number} was found for you."));
    assert_eq!(missing.replace("SD-99999", &number), someone_elses);
    let i = e.double.run_command(e.guild, e.panel, &e.sam, "ticket list", &[], VIEW_AND_SEND);
    assert_eq!(told(&e, i).await.1, "You have no tickets yet. Use /ticket new to open one.");

    // /ticket new: the panel's choice, ephemeral; its button opens a ticket like the panel's.
    let i = e.double.run_command(e.guild, e.panel, &e.sam, "ticket new", &[], VIEW_AND_SEND);
    let (answer, _) = told(&e, i).await;
    assert_eq!(answer["data"]["flags"], 64);
    let button = &answer["data"]["components"][0]["components"][0];
    assert_eq!(button["custom_id"], "sb:open:general");
    let click = e.double.click(e.guild, e.panel, e.double.new_id(), &e.sam, "sb:open:general", None);
    wait_for("the intake form", || !e.double.interaction_callbacks(click).is_empty()).await;
    assert_eq!(e.double.interaction_callbacks(click)[0]["type"], 9, "the type's intake form");
    let submit = e.double.submit_modal(
        e.guild,
        e.panel,
        &e.sam,
        "sb:intake:general",
        &[("subject", "Toner"), ("description", "Empty")],
    );
    wait_for("the ticket", || !e.double.interaction_follow_ups(submit).is_empty()).await;
    let opened = e.double.interaction_follow_ups(submit)[0]["content"].as_str().unwrap().to_string();
    assert!(opened.starts_with("Your ticket is open: <#"), "{opened}");
    let i = e.double.run_command(e.guild, e.panel, &e.sam, "ticket list", &[], VIEW_AND_SEND);
    assert!(told(&e, i).await.1.ends_with("· Toner · open"));
}

#[tokio::test]
async fn request_human_escalates_once_posts_to_staff_review_and_tells_the_member() {
    let e = env().await;
    let review = e.double.add_channel(e.guild, "staff-review", channel_type::TEXT, None);
    let mut settings = e.link.settings.clone();
    settings.staff_review_channel_id = Some(review.to_string());
    let input = GuildLinkInput { guild_id: e.guild.to_string(), name: "Acme".into(), enabled: true, settings };
    e.channel.link_guild(&e.system, Some(e.link.id), input).await.unwrap();
    // The button is on the ticket's opening message.
    let greeting = e.double.messages(e.ticket_channel)[0].clone();
    let button = &greeting["components"][0]["components"][0];
    assert_eq!((button["label"].as_str(), button["custom_id"].as_str()), (Some("Request human"), Some("sb:human")));

    let click = e.double.click(e.guild, e.ticket_channel, id(&greeting), &e.wendy, "sb:human", None);
    let (answer, text) = told(&e, click).await;
    assert_eq!(text, format!("<@{}> asked for a human. Someone from our team will answer here soon.", e.wendy.id));
    assert!(answer["data"]["flags"].is_null(), "the channel sees it");
    let t = e.desk.ticket(&e.system, e.ticket).await.unwrap();
    assert!(t.escalated);
    let posted = e.double.messages(review);
    assert_eq!(posted.len(), 1);
    assert_eq!(
        posted[0]["content"],
        format!(
            "<@&{}> **SD-{} Printer jams**: Wendy asked for a human in <#{}>.",
            e.support_role, t.number, e.ticket_channel
        )
    );
    let mut tx = e.desk.store().read().await.unwrap();
    let events = tx.list_events(e.link.workspace_id, e.ticket).await.unwrap();
    drop(tx);
    let escalations: Vec<serde_json::Value> = events
        .into_iter()
        .filter(|(kind, _)| kind == "ticket.escalated")
        .map(|(_, p)| serde_json::from_str(&p).unwrap())
        .collect();
    assert_eq!(escalations.len(), 1);
    assert_eq!(escalations[0]["reason"], "Wendy asked for a human on Discord (Request human)");

    // Pressed again: nothing more.
    let again = e.double.click(e.guild, e.ticket_channel, id(&greeting), &e.wendy, "sb:human", None);
    let (answer, text) = told(&e, again).await;
    assert_eq!(text, "Our team has been asked already; someone will answer here soon.");
    assert_eq!(answer["data"]["flags"], 64);
    assert_eq!(e.double.messages(review).len(), 1);
    let mut tx = e.desk.store().read().await.unwrap();
    let events = tx.list_events(e.link.workspace_id, e.ticket).await.unwrap();
    assert_eq!(events.iter().filter(|(k, _)| k == "ticket.escalated").count(), 1);
}

/// Discord's Manage Server permission bit.
const MANAGE_SERVER: u64 = 1 << 5;

/// What a member was told, whether answered at once or deferred and edited.
async fn said(e: &Env, i: u64) -> (Value, String) {
    let (answer, text) = told(e, i).await;
    if answer["type"] == 5 {
        wait_for("the deferred answer", || !e.double.interaction_follow_ups(i).is_empty()).await;
        let text = e.double.interaction_follow_ups(i)[0]["content"].as_str().unwrap().to_string();
        return (answer, text);
    }
    (answer, text)
}

/// A second guild the bot joined, linked to nothing: its owner Olga, a #general channel, and
/// the Support and Management roles.
struct FreshGuild {
    id: u64,
    general: u64,
    olga: DiscordUser,
    support: u64,
    management: u64,
}

async fn fresh_guild(e: &Env) -> FreshGuild {
    let olga = DiscordUser::person(e.double.new_id(), "olga_o", "Olga");
    let id = e.double.add_guild("Fresh Community", &olga);
    let general = e.double.add_channel(id, "general", channel_type::TEXT, None);
    let support = e.double.add_role(id, "Support");
    let management = e.double.add_role(id, "Management");
    let c = e.channel.clone();
    wait_for("the new guild's GUILD_CREATE", || c.status().guilds.iter().any(|(g, _)| *g == id.to_string())).await;
    FreshGuild { id, general, olga, support, management }
}

fn setup_form(types: &str, staff: &str) -> Vec<(&'static str, String)> {
    vec![
        ("types", types.to_string()),
        ("panel", "Start Support".to_string()),
        ("staff_roles", staff.to_string()),
        ("management_roles", "Management".to_string()),
        ("auto_learn", "no".to_string()),
    ]
}

/// Runs `/switchboard setup` (with `code`), submits `form`; returns what the member was told
/// after the form (the follow-up question, or the refusal).
async fn submit_setup(e: &Env, g: &FreshGuild, code: &str, form: &[(&'static str, String)]) -> (Value, String) {
    let i = e.double.run_command(g.id, g.general, &g.olga, "switchboard setup", &[("code", code)], MANAGE_SERVER);
    let (modal, _) = told(e, i).await;
    assert_eq!(modal["type"], 9, "the setup form: {modal}");
    assert_eq!(modal["data"]["custom_id"], "sb:setup");
    assert_eq!(modal["data"]["components"].as_array().unwrap().len(), 5, "Discord's modals hold five inputs");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let submit = e.double.submit_modal(g.id, g.general, &g.olga, "sb:setup", &fields);
    told(e, submit).await
}

fn overwrite(channel: &Value, target: u64) -> Option<(u64, u64)> {
    // Discord sends snowflakes as strings.
    let target = target.to_string();
    channel["permission_overwrites"].as_array().unwrap().iter().find(|o| o["id"].as_str() == Some(&target)).map(|o| {
        let bits = |v: &Value| v.as_str().map_or_else(|| v.as_u64().unwrap(), |s| s.parse().unwrap());
        (bits(&o["allow"]), bits(&o["deny"]))
    })
}

/// Requests that change something in Discord (anything but a GET).
fn changes(e: &Env) -> usize {
    e.double
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && !r.path.starts_with("/interactions/") && !r.path.starts_with("/webhooks/"))
        .count()
}

#[tokio::test]
async fn setup_from_an_empty_guild_makes_a_working_panel_and_links_it_with_a_one_time_code() {
    let e = env().await;
    let g = fresh_guild(&e).await;
    // Not linked, no code: told how to get one; a wrong code is refused before the form.
    let i = e.double.run_command(g.id, g.general, &g.olga, "switchboard setup", &[], MANAGE_SERVER);
    let (answer, text) = told(&e, i).await;
    assert!(text.starts_with("This server is not linked to a helpdesk workspace yet. Create a link code"), "{text}");
    assert_eq!(answer["data"]["flags"], 64);
    let i = e.double.run_command(
        g.id,
        g.general,
        &g.olga,
        "switchboard setup",
        &[("code", "ABCD-EFGH-JKLM")],
        MANAGE_SERVER,
    );
    assert!(told(&e, i).await.1.starts_with("The link code was refused"), "a code no one made");

    let code = e.desk.create_channel_link_code(&e.system, Channel::Discord).await.unwrap();
    assert!(code.code.len() == 14 && code.code.chars().nth(4) == Some('-'), "{:?}", code.code);
    // Bad answers in the form: each named, ephemeral, nothing made.
    let before = e.double.guild_channels(g.id).len();
    let (answer, text) = submit_setup(&e, &g, &code.code, &setup_form("customer, refunds", "Support")).await;
    assert!(text.starts_with("Unknown ticket type \"refunds\": use customer, technical, billing or sales"), "{text}");
    assert_eq!(answer["data"]["flags"], 64);
    let (_, text) = submit_setup(&e, &g, &code.code, &setup_form("customer", "Helpers")).await;
    assert!(text.starts_with("No role named \"Helpers\" in this server"), "{text}");
    let long = format!("customer, custom:{}", "y".repeat(81));
    let (_, text) = submit_setup(&e, &g, &code.code, &setup_form(&long, "Support")).await;
    assert!(text.contains("too long: at most 80 characters"), "{text}");
    assert_eq!(e.double.guild_channels(g.id).len(), before, "nothing made for a refused form");

    // A good form, then the follow-up question, answered with 90 days.
    let (question, text) = submit_setup(&e, &g, &code.code, &setup_form("customer, technical", "support")).await;
    assert_eq!(text, "Last question: how long should closed tickets' transcripts be kept?");
    let buttons: Vec<&str> = question["data"]["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(buttons, ["sb:setup:keep:30", "sb:setup:keep:60", "sb:setup:keep:90", "sb:setup:keep:0"]);
    let click = e.double.click(g.id, g.general, e.double.new_id(), &g.olga, "sb:setup:keep:90", None);
    let (_, text) = said(&e, click).await;
    assert!(text.starts_with("Support channels are set up. Members open tickets in <#"), "{text}");

    // What Discord now has: the panel channel with its panel, a category per type and the
    // staff channels, those hidden from everyone but the staff and management roles.
    let panel = e.double.channel_named(g.id, "start-support").expect("the panel channel");
    let panel_messages = e.double.messages(id(&panel));
    assert_eq!(panel_messages.len(), 1);
    let labels: Vec<&str> = panel_messages[0]["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Customer Support", "Technical Support"]);
    for name in
        ["Customer Support Tickets", "Technical Support Tickets", "ticket-transcripts", "staff-review", "learned-tips"]
    {
        let c = e.double.channel_named(g.id, name).unwrap_or_else(|| panic!("{name} was made"));
        assert_eq!(overwrite(&c, g.id), Some((0, 1 << 10)), "{name} is hidden from @everyone");
        assert!(overwrite(&c, g.support).is_some_and(|(allow, _)| allow & (1 << 10) != 0), "Support sees {name}");
        assert!(overwrite(&c, g.management).is_some_and(|(allow, _)| allow & (1 << 10) != 0), "Management sees {name}");
    }
    // Linked to the code's workspace with the form's answers; the code is spent.
    let linked = e.channel.linked_guilds(&e.system).await.unwrap();
    let fresh = linked.iter().find(|l| l.guild_id == g.id.to_string()).expect("linked");
    assert_eq!(fresh.settings.staff_role_ids, [g.support.to_string()]);
    assert_eq!(fresh.settings.management_role_ids, [g.management.to_string()]);
    assert!(!fresh.settings.auto_learn);
    assert_eq!(fresh.settings.transcript_retention_days, 90);
    assert_eq!(switchboard_discord::deployment(Some(fresh)).status, switchboard_discord::DeploymentStatus::Ready);
    let spent = e.desk.channel_link_code_workspace(Channel::Discord, &code.code).await.unwrap_err();
    assert_eq!(field(spent), "code");
    // The second click of the follow-up does nothing more.
    let again = e.double.click(g.id, g.general, e.double.new_id(), &g.olga, "sb:setup:keep:90", None);
    assert!(told(&e, again).await.1.starts_with("This setup already ran"));

    // The panel works: a member opens a Customer Support ticket under its category.
    let nora = DiscordUser::person(e.double.new_id(), "nora_n", "Nora");
    e.double.add_member(g.id, &nora, &[]);
    let click = e.double.click(g.id, id(&panel), id(&panel_messages[0]), &nora, "sb:open:customer", None);
    let (_, text) = said(&e, click).await;
    let ticket_channel: u64 =
        text.strip_prefix("Your ticket is open: <#").unwrap().trim_end_matches('>').parse().unwrap();
    let category = e.double.channel_named(g.id, "Customer Support Tickets").unwrap();
    assert_eq!(e.double.channel(ticket_channel).unwrap()["parent_id"], category["id"]);

    // /switchboard view says so; setup run again makes nothing twice.
    let i = e.double.run_command(g.id, g.general, &g.olga, "switchboard view", &[], MANAGE_SERVER);
    let text = told(&e, i).await.1;
    assert!(text.starts_with("Status: Ready\nTicket panel: <#"), "{text}");
    assert!(text.contains("Enabled ticket types: Customer Support, Technical Support"), "{text}");
    let channels = e.double.guild_channels(g.id).len();
    let (_, _) = submit_setup(&e, &g, "", &setup_form("customer, technical", "Support")).await;
    let click = e.double.click(g.id, g.general, e.double.new_id(), &g.olga, "sb:setup:keep:90", None);
    assert!(said(&e, click).await.1.starts_with("Support channels are set up."));
    assert_eq!(e.double.guild_channels(g.id).len(), channels, "nothing made twice");
    assert_eq!(e.double.messages(id(&panel)).len(), 1, "the panel is not posted twice");
}

#[tokio::test]
async fn link_adopts_the_usual_channels_says_what_is_missing_and_makes_nothing() {
    let e = env().await;
    let g = fresh_guild(&e).await;
    let support = e.double.add_channel(g.id, "support", channel_type::TEXT, None);
    let transcripts = e.double.add_channel(g.id, "ticket-transcripts", channel_type::TEXT, None);
    let billing = e.double.add_channel(g.id, "Billing Tickets", channel_type::CATEGORY, None);
    let code = e.desk.create_channel_link_code(&e.system, Channel::Discord).await.unwrap();
    let before = e.double.guild_channels(g.id).len();
    let i = e.double.run_command(g.id, g.general, &g.olga, "switchboard link", &[("code", &code.code)], MANAGE_SERVER);
    let (answer, text) = said(&e, i).await;
    assert_eq!(answer["data"]["flags"], 64);
    assert_eq!(
        text,
        format!(
            "Linked:\n• <#{support}> as the ticket panel channel\n• <#{transcripts}> for transcripts\n• the category Billing Tickets for Billing tickets\n\
             Still missing:\n• a staff review channel (#staff-review or #escalations)\n• a learned tips channel (#learned-tips or #tips)\n\
             • staff roles (name them with /switchboard setup, or in the web settings)\n\
             Status: Partial. Next step: Run /switchboard setup in Discord to create what is missing, or name your channels as usual and run /switchboard link again."
        )
    );
    assert_eq!(e.double.guild_channels(g.id).len(), before, "link makes no channel");
    assert!(e.double.requests_to("POST", &format!("/guilds/{}/channels", g.id)).is_empty());
    // The panel went into #support, with the Billing type.
    let posted = e.double.messages(support);
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["components"][0]["components"][0]["custom_id"], "sb:open:billing");
    let linked = e.channel.linked_guilds(&e.system).await.unwrap();
    let fresh = linked.iter().find(|l| l.guild_id == g.id.to_string()).unwrap();
    assert_eq!(fresh.settings.ticket_types[0].category_id, billing.to_string());
    // Linked now: view needs no code, and says the same.
    let i = e.double.run_command(g.id, g.general, &g.olga, "switchboard view", &[], MANAGE_SERVER);
    let text = told(&e, i).await.1;
    assert!(text.starts_with("Status: Partial"), "{text}");
    assert!(text.contains("Missing: #staff-review, #learned-tips, a staff role"), "{text}");
}

#[tokio::test]
async fn autoconfig_applies_the_web_settings_and_a_second_run_changes_nothing() {
    let e = env().await;
    let olga = DiscordUser::person(e.double.new_id(), "olga_admin", "Olga");
    e.double.add_member(e.guild, &olga, &[]);
    // Saved in the web: a new Billing type whose category does not exist yet, and staff roles
    // changed from Support to Helpers.
    let helpers = e.double.add_role(e.guild, "Helpers");
    let billing_topic = topic(&e.desk, &e.system, "Billing").await;
    let mut settings = e.link.settings.clone();
    settings.ticket_types.push(ticket_type("billing", "Billing", billing_topic, e.double.new_id()));
    let input = GuildLinkInput { guild_id: e.guild.to_string(), name: "Acme".into(), enabled: true, settings };
    e.channel.link_guild(&e.system, Some(e.link.id), input).await.unwrap();

    let i = e.double.run_command(e.guild, e.panel, &olga, "switchboard autoconfig", &[], MANAGE_SERVER);
    let text = said(&e, i).await.1;
    assert!(text.starts_with("Applied the web settings:\n"), "{text}");
    for made in [
        "• created the category Billing Tickets",
        "• created #ticket-transcripts",
        "• created #staff-review",
        "• created #learned-tips",
    ] {
        assert!(text.contains(made), "{made} in {text}");
    }
    let panel = e.double.messages(e.panel);
    assert_eq!(panel.len(), 1, "the panel is edited in place");
    assert_eq!(panel[0]["components"][0]["components"].as_array().unwrap().len(), 2, "General and Billing");
    let linked = e.channel.linked_guilds(&e.system).await.unwrap();
    let billing = linked[0].settings.ticket_type("billing").unwrap().category_id.clone();
    assert_eq!(e.double.channel(billing.parse().unwrap()).unwrap()["name"], "Billing Tickets");

    // Twice: nothing changes in Discord the second time.
    let before = changes(&e);
    let i = e.double.run_command(e.guild, e.panel, &olga, "switchboard autoconfig", &[], MANAGE_SERVER);
    assert_eq!(said(&e, i).await.1, "Nothing to change: Discord already matches the settings saved in the web.");
    assert_eq!(
        changes(&e),
        before,
        "{:?}",
        e.double.requests().iter().rev().take(5).map(|r| (&r.method, &r.path)).collect::<Vec<_>>()
    );

    // Roles changed in the web: Helpers see the staff channels, Support no longer does.
    let mut settings = linked[0].settings.clone();
    settings.staff_role_ids = vec![helpers.to_string()];
    let input = GuildLinkInput { guild_id: e.guild.to_string(), name: "Acme".into(), enabled: true, settings };
    e.channel.link_guild(&e.system, Some(e.link.id), input).await.unwrap();
    let i = e.double.run_command(e.guild, e.panel, &olga, "switchboard autoconfig", &[], MANAGE_SERVER);
    let text = said(&e, i).await.1;
    assert!(text.contains("• updated who may see <#"), "{text}");
    let review = e.double.channel_named(e.guild, "staff-review").unwrap();
    assert!(overwrite(&review, helpers).is_some());
    assert!(overwrite(&review, e.support_role).is_none());
    let i = e.double.run_command(e.guild, e.panel, &olga, "switchboard autoconfig", &[], MANAGE_SERVER);
    assert!(said(&e, i).await.1.starts_with("Nothing to change"));
}

#[tokio::test]
async fn a_permission_the_bot_lacks_is_named_before_anything_is_made() {
    let e = env().await;
    let g = fresh_guild(&e).await;
    let role = e.double.bot_role(g.id);
    let invite = switchboard_testkit::discord::permission::BOT_INVITE;
    use switchboard_testkit::discord::permission::{MANAGE_CHANNELS, MANAGE_ROLES};
    e.double.set_role_permissions(g.id, role, invite & !MANAGE_CHANNELS & !MANAGE_ROLES);
    let code = e.desk.create_channel_link_code(&e.system, Channel::Discord).await.unwrap();
    let i = e.double.run_command(g.id, g.general, &g.olga, "switchboard setup", &[("code", &code.code)], MANAGE_SERVER);
    let (answer, text) = told(&e, i).await;
    assert_eq!(answer["type"], 4, "refused before the form");
    assert_eq!(
        text,
        "The bot is missing these permissions in this server:\n• Manage Channels\n• Manage Roles\nTurn them on in Server Settings, Roles, for the bot's role, then run the command again. Nothing was changed."
    );
    // Autoconfig in the linked guild, with Send Messages taken away too.
    let made = e.double.requests_to("POST", "/guilds/").len();
    let role = e.double.bot_role(e.guild);
    e.double.set_role_permissions(e.guild, role, invite & !MANAGE_CHANNELS & !(1 << 11));
    // @everyone (the role with the guild's id) may send messages too: off there as well.
    e.double.set_role_permissions(e.guild, e.guild, 0);
    let i = e.double.run_command(e.guild, e.panel, &g.olga, "switchboard autoconfig", &[], MANAGE_SERVER);
    let text = said(&e, i).await.1;
    assert!(
        text.starts_with("The bot is missing these permissions in this server:\n• Manage Channels\n• Send Messages\n"),
        "{text}"
    );
    assert_eq!(e.double.missing_permission_refusals(), 0, "nothing was tried and refused half-way");
    assert_eq!(e.double.requests_to("POST", "/guilds/").len(), made, "no channel made");
    // The double refuses as Discord does when the bot goes ahead anyway.
    let i = e.double.run_command(e.guild, e.ticket_channel, &e.sam, "rename", &[("name", "renamed")], VIEW_AND_SEND);
    assert!(told(&e, i).await.1.contains("Missing Permissions"));
}

#[tokio::test]
async fn switchboard_commands_need_manage_server_or_a_management_role() {
    let e = env().await;
    let management = e.double.add_role(e.guild, "Management");
    let mut settings = e.link.settings.clone();
    settings.management_role_ids = vec![management.to_string()];
    let input = GuildLinkInput { guild_id: e.guild.to_string(), name: "Acme".into(), enabled: true, settings };
    e.channel.link_guild(&e.system, Some(e.link.id), input).await.unwrap();
    let max = DiscordUser::person(e.double.new_id(), "max_mod", "Max");
    e.double.add_member(e.guild, &max, &[]);
    let mia = DiscordUser::person(e.double.new_id(), "mia_m", "Mia");
    e.double.add_member(e.guild, &mia, &[management]);
    let olga = DiscordUser::person(e.double.new_id(), "olga_admin", "Olga");
    e.double.add_member(e.guild, &olga, &[]);
    let members: [(&str, &DiscordUser, u64); 5] = [
        ("plain member", &e.wendy, VIEW_AND_SEND),
        ("staff role", &e.sam, VIEW_AND_SEND),
        ("Manage Channels only", &max, VIEW_AND_SEND | MANAGE_CHANNELS),
        ("management role", &mia, VIEW_AND_SEND),
        ("Manage Server", &olga, VIEW_AND_SEND | MANAGE_SERVER),
    ];
    // (command, allowed for each member above); setup opens its form when allowed.
    let table: [(&str, [bool; 5]); 4] = [
        ("switchboard view", [false, false, false, true, true]),
        ("switchboard link", [false, false, false, true, true]),
        ("switchboard autoconfig", [false, false, false, true, true]),
        ("switchboard setup", [false, false, false, true, true]),
    ];
    for (command, allowed) in table {
        for ((who, user, permissions), allowed) in members.iter().zip(allowed) {
            let i = e.double.run_command(e.guild, e.panel, user, command, &[], *permissions);
            let (answer, text) = said(&e, i).await;
            let refused = text == "/switchboard needs the Manage Server permission or a management role.";
            assert_eq!(!refused, allowed, "/{command} by a {who}: {text}");
            assert!(answer["type"] == 9 || answer["data"]["flags"] == 64, "only the member sees it: {answer}");
        }
    }
}
