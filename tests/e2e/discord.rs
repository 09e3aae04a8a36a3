//! The Discord channel through the real binary, pointed at the test kit's Discord double only by
//! `SWITCHBOARD_DISCORD_API_URL`: the gateway connects with `serve`, a message in a ticket
//! channel shows on the ticket (a redelivered event and a resumed session add nothing), an
//! agent's reply reaches the channel once through a 429, and a killed and restarted server
//! connects again and goes on (that test has a server and double of
//! its own). The others run on the shared server, whose Discord is the shared double, each with a
//! guild and workspace of its own: the open-ticket limit and role restrictions refusing, a full
//! category overflowing and the guild's 500-channel cap refusing, a staff reply's file uploaded to
//! the channel and the transcript offered on the closed ticket, and a guild linked to one
//! workspace only and only when the bot is in it.
//!
//! Guilds are linked over GraphQL (`saveDiscordGuild`), as the web's Discord page does; tickets
//! are opened from the panel through the running server.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_testkit::ServerProcess;
use switchboard_testkit::discord::{DiscordDouble, DiscordUser, channel_type};

use crate::support::{
    DISCORD_BOT, PASSWORD, Workspace, assert_error, client, discord, discord_guild, error_of, gql, gql_at, ok, server,
    workspace, write_seed,
};

const TOKEN: &str = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GbCdEf.e2e-token";
const APP: &str = "1098765432109876543";
const BOT_ID: &str = "1098765432109876544";

/// A double of this test's own: the test kills and restarts its server.
fn start_double() -> Arc<DiscordDouble> {
    crate::support::start_discord_double(TOKEN)
}

fn wait(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn login(url: &str, email: &str) -> String {
    let q = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    let d = gql_at(url, None, q, json!({ "e": email, "p": PASSWORD })).await;
    d["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("login {email}: {d}")).to_string()
}

async fn bodies(url: &str, token: &str, ticket: &str) -> Vec<String> {
    let q = "query($id: ID!) { ticket(id: $id) { entries { body } } }";
    let d = gql_at(url, Some(token), q, json!({ "id": ticket })).await;
    d["data"]["ticket"]["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{d}"))
        .iter()
        .map(|e| e["body"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn wait_for_entry(url: &str, token: &str, ticket: &str, body: &str) {
    let start = Instant::now();
    while !bodies(url, token, ticket).await.iter().any(|b| b == body) {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for the entry {body:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bot's replies in a channel (they carry a nonce; its greeting does not).
fn bot_messages(double: &DiscordDouble, channel: u64) -> Vec<Value> {
    double.messages(channel).into_iter().filter(|m| m["author"]["id"] == BOT_ID && m["nonce"].is_string()).collect()
}

#[tokio::test]
async fn a_discord_ticket_is_worked_both_ways_through_the_binary_and_survives_a_restart() {
    let double = start_double();
    let owner = DiscordUser::person(double.new_id(), "olga", "Olga");
    let guild = double.add_guild("Acme Community", &owner);
    let wendy = DiscordUser::person(double.new_id(), "wendy_w", "Wendy");
    double.add_member(guild, &wendy, &[]);
    let panel = double.add_channel(guild, "open-a-ticket", channel_type::TEXT, None);
    let category = double.add_channel(guild, "General Tickets", channel_type::CATEGORY, None);

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let bin = Path::new(env!("CARGO_BIN_EXE_switchboard"));
    let envs = [
        ("SWITCHBOARD_DISCORD_TOKEN", TOKEN),
        ("SWITCHBOARD_DISCORD_APPLICATION_ID", APP),
        ("SWITCHBOARD_DISCORD_API_URL", double.url.as_str()),
        ("SWITCHBOARD_WEBHOOK_RETRY_BASE_MS", "300"),
    ];
    let mut server = ServerProcess::start_with(bin, &data, None, &envs).unwrap();
    wait("the gateway to identify", 30, || double.identifies() == 1 && double.connections() == 1);
    assert!(
        double
            .requests_to("GET", "/gateway/bot")
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bot {TOKEN}") as &str)),
        "the gateway URL was asked of the double, with the bot's token"
    );

    let seed = write_seed(tmp.path(), "disc", 900);
    server.cli(&["seed", "--file", seed.to_str().unwrap()], &[]).unwrap();
    let agent = login(&server.url, "agent@disc.test").await;

    // An admin links the guild over GraphQL (the panel is posted to the double), and the gateway
    // state lists it; then Wendy opens a ticket from the panel through the running server: the
    // intake form, then her channel.
    let admin = login(&server.url, "admin@disc.test").await;
    let d = gql_at(&server.url, Some(&admin), "{ helpTopics { id name } }", json!({})).await;
    let topic = d["data"]["helpTopics"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == "Billing question"))
        .unwrap_or_else(|| panic!("{d}"))["id"]
        .clone();
    let link =
        "mutation($input: DiscordGuildInput!) { saveDiscordGuild(input: $input) { id panelMessageId panelError } }";
    let input = json!({
        "guildId": guild.to_string(), "name": "Acme Community", "enabled": true,
        "panelChannelId": panel.to_string(), "transcriptsChannelId": null, "staffRoleIds": [],
        "managementRoleIds": [], "sequentialNames": true,
        "ticketTypes": [{ "key": "printers", "helpTopicId": topic, "label": "Printers", "description": null,
            "categoryId": category.to_string(), "enabled": true, "roleIds": [], "openLimit": 1,
            "askSubject": true, "askDescription": true }],
    });
    let d = gql_at(&server.url, Some(&admin), link, json!({ "input": input })).await;
    assert!(d["errors"].is_null(), "{d}");
    assert!(d["data"]["saveDiscordGuild"]["panelError"].is_null(), "{d}");
    let gateway = "{ discordGateway { connected guilds { id name } lastError } }";
    let d = gql_at(&server.url, Some(&admin), gateway, json!({})).await;
    assert_eq!(
        d["data"]["discordGateway"],
        json!({ "connected": true, "guilds": [{ "id": guild.to_string(), "name": "Acme Community" }], "lastError": null })
    );
    let panel_message: u64 = double.messages(panel)[0]["id"].as_str().unwrap().parse().unwrap();
    let click = double.click(guild, panel, panel_message, &wendy, "sb:open:printers", None);
    wait("the intake form", 20, || !double.interaction_callbacks(click).is_empty());
    assert_eq!(double.interaction_callbacks(click)[0]["type"], 9, "the modal");
    let form = [("subject", "Printer jams"), ("description", "It jams on every page.")];
    let submit = double.submit_modal(guild, panel, &wendy, "sb:intake:printers", &form);
    wait("the ticket channel", 20, || !double.interaction_follow_ups(submit).is_empty());
    let told = double.interaction_follow_ups(submit)[0]["content"].as_str().unwrap().to_string();
    let ticket_channel: u64 = told
        .strip_prefix("Your ticket is open: <#")
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or_else(|| panic!("{told}"))
        .parse()
        .unwrap();
    assert_eq!(double.channel(ticket_channel).unwrap()["parent_id"], category.to_string());
    let d =
        gql_at(&server.url, Some(&agent), "{ tickets(first: 10) { nodes { id subject source } } }", json!({})).await;
    let found = d["data"]["tickets"]["nodes"].as_array().unwrap_or_else(|| panic!("{d}")).clone();
    let ticket = found
        .iter()
        .find(|t| t["subject"] == "Printer jams")
        .unwrap_or_else(|| panic!("the ticket in the helpdesk: {d}"));
    assert_eq!(ticket["source"], "DISCORD");
    let ticket = ticket["id"].as_str().unwrap().to_string();

    // Discord to the helpdesk, with a file: the server keeps its own copy.
    let log: &[u8] = b"E41 at tray 2, 14:02";
    double.user_message(
        ticket_channel,
        &wendy,
        "It still jams after the update.",
        &[("jam-log.txt", "text/plain", log)],
    );
    let seq = double.last_seq();
    wait_for_entry(&server.url, &agent, &ticket, "It still jams after the update.").await;

    // Discord delivers that MESSAGE_CREATE again, then drops the connection; a message sent
    // meanwhile arrives through the resumed session's replay. Neither adds an entry twice.
    double.redeliver(seq);
    double.drop_connections();
    double.user_message(ticket_channel, &wendy, "Sent while the connection was down.", &[]);
    wait("the session to resume", 30, || double.resumes() >= 1 && double.connections() == 1);
    wait_for_entry(&server.url, &agent, &ticket, "Sent while the connection was down.").await;
    assert_eq!(double.identifies(), 1, "resumed, not identified again");

    // The helpdesk to Discord, through a per-route 429.
    let route = format!("/channels/{ticket_channel}/messages");
    double.rate_limit("POST", &route, 1, 0.5, false);
    let q = "mutation($t: ID!, $b: String!) { reply(ticketId: $t, body: $b) { id } }";
    let d = gql_at(&server.url, Some(&agent), q, json!({ "t": ticket, "b": "Please try the rear tray." })).await;
    assert!(d["errors"].is_null(), "{d}");
    wait("the reply in the channel", 30, || !bot_messages(&double, ticket_channel).is_empty());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent = bot_messages(&double, ticket_channel);
    assert_eq!(sent.len(), 1, "delivered once: {sent:?}");
    assert_eq!(sent[0]["content"], "**Alex Agent**\nPlease try the rear tray.");
    let posts = double.requests_to("POST", &route);
    assert_eq!(posts.iter().filter(|r| r.json["nonce"].is_string()).count(), 2, "the 429 and the one delivery");
    assert_eq!(double.premature_calls(), 0);
    // The bot's own message, echoed by the gateway, is not taken for the customer's.
    let before = bodies(&server.url, &agent, &ticket).await;
    assert_eq!(before.iter().filter(|b| b.as_str() == "Please try the rear tray.").count(), 1, "{before:?}");

    // Killed mid-conversation; Wendy writes while it is down. Started again, it connects anew
    // (no resume), fetches what it missed from the channel's history, and carries on.
    server.kill();
    wait("the connection to drop", 10, || double.connections() == 0);
    double.user_message(ticket_channel, &wendy, "Sent while you were down.", &[]);
    let server = ServerProcess::start_with(bin, &data, None, &envs).unwrap();
    wait("a new session (after the killed server's gateway lease ran out)", 60, || {
        double.identifies() == 2 && double.connections() == 1
    });
    wait_for_entry(&server.url, &agent, &ticket, "Sent while you were down.").await;
    double.user_message(ticket_channel, &wendy, "Rear tray works, thanks!", &[]);
    wait_for_entry(&server.url, &agent, &ticket, "Rear tray works, thanks!").await;
    let after = bodies(&server.url, &agent, &ticket).await;
    assert_eq!(
        after,
        [
            "It jams on every page.",
            "It still jams after the update.",
            "Sent while the connection was down.",
            "Please try the rear tray.",
            "Sent while you were down.",
            "Rear tray works, thanks!"
        ]
    );

    // Closed from the helpdesk after Discord's links expired: the transcript is archived on the
    // ticket with the file in it, the channel deleted, and Wendy rates from the DM she gets.
    double.expire_attachments();
    let q = "mutation($t: ID!) { closeTicket(ticketId: $t, reason: RESOLVED) { id } }";
    let d = gql_at(&server.url, Some(&agent), q, json!({ "t": ticket })).await;
    assert!(d["errors"].is_null(), "{d}");
    wait("the channel to be deleted", 30, || double.channel(ticket_channel).is_none());
    let q = "query($id: ID!) { ticket(id: $id) { entries { body attachments { fileName url } } } }";
    let d = gql_at(&server.url, Some(&agent), q, json!({ "id": ticket })).await;
    let entries = d["data"]["ticket"]["entries"].as_array().unwrap_or_else(|| panic!("{d}")).clone();
    let with_file = entries.iter().find(|e| e["body"] == "It still jams after the update.").unwrap();
    assert_eq!(with_file["attachments"][0]["fileName"], "jam-log.txt", "{with_file}");
    let archived = entries.iter().find(|e| e["body"] == "Transcript archived when the ticket closed.").unwrap();
    let files: Vec<&str> =
        archived["attachments"].as_array().unwrap().iter().filter_map(|a| a["fileName"].as_str()).collect();
    assert!(files.len() == 2 && files[0].ends_with(".html") && files[1].ends_with(".txt"), "{files:?}");
    let download = |url: &str| {
        let (url, agent) = (format!("{}{url}", server.url), agent.clone());
        async move { reqwest::Client::new().get(url).bearer_auth(agent).send().await.unwrap().text().await.unwrap() }
    };
    let html = download(archived["attachments"][0]["url"].as_str().unwrap()).await;
    use base64::Engine as _;
    assert!(html.contains(&base64::engine::general_purpose::STANDARD.encode(log)), "the file, though its link expired");
    assert!(html.contains("Sent while you were down.") && html.contains("Please try the rear tray."));
    let text = download(archived["attachments"][1]["url"].as_str().unwrap()).await;
    assert!(text.contains("[file: jam-log.txt"), "{text}");

    wait("the rating DM", 60, || {
        double
            .requests_to("POST", "/channels/")
            .iter()
            .any(|r| r.json["components"][0]["components"][0]["label"] == "Helpful")
    });
    let dm = double
        .requests_to("POST", "/channels/")
        .into_iter()
        .find(|r| r.json["components"][0]["components"][0]["label"] == "Helpful")
        .unwrap();
    let dm_channel: u64 = dm.path.split('/').nth(2).unwrap().parse().unwrap();
    let rating = double.messages(dm_channel)[0].clone();
    let message: u64 = rating["id"].as_str().unwrap().parse().unwrap();
    let helpful = rating["components"][0]["components"][0]["custom_id"].as_str().unwrap();
    let click = double.click(guild, dm_channel, message, &wendy, helpful, None);
    wait("the rating's answer", 20, || !double.interaction_callbacks(click).is_empty());
    let q = "query($id: ID!) { ticket(id: $id) { csatRating } }";
    let d = gql_at(&server.url, Some(&agent), q, json!({ "id": ticket })).await;
    assert_eq!(d["data"]["ticket"]["csatRating"], 5, "Helpful is recorded as the ticket's rating: {d}");
}

// ---- on the shared server, whose Discord is the shared double: a guild and workspace per test ----

const VIEW_CHANNEL: u64 = 1 << 10;

/// A workspace of the test's own with a guild on the shared double linked to it over GraphQL:
/// a panel channel, a ticket category, a Support role (the staff role) and Wendy, a member.
struct Linked {
    ws: Workspace,
    guild: u64,
    panel: u64,
    category: u64,
    support: u64,
    wendy: DiscordUser,
}

impl Linked {
    /// `types` makes the ticket types from the help topic's id, the category and the guild.
    async fn new(types: impl FnOnce(&Value, u64, u64) -> Value) -> Linked {
        let ws = workspace().await;
        let double = discord();
        let guild = discord_guild(&format!("Guild of {}", ws.slug));
        let support = double.add_role(guild, "Support");
        let wendy = DiscordUser::person(double.new_id(), "wendy_w", "Wendy");
        double.add_member(guild, &wendy, &[]);
        let panel = double.add_channel(guild, "open-a-ticket", channel_type::TEXT, None);
        let category = double.add_channel(guild, "General Tickets", channel_type::CATEGORY, None);
        let d = ok(&ws.admin, "{ helpTopics { id name } }", json!({})).await;
        let topic = d["helpTopics"][0]["id"].clone();
        let input = json!({
            "guildId": guild.to_string(), "name": "Acme Community", "enabled": true,
            "panelChannelId": panel.to_string(), "transcriptsChannelId": null, "staffRoleIds": [support.to_string()],
            "managementRoleIds": [], "sequentialNames": true, "ticketTypes": types(&topic, category, guild),
        });
        let link = "mutation($i: DiscordGuildInput!) { saveDiscordGuild(input: $i) { id panelMessageId panelError } }";
        let saved = ok(&ws.admin, link, json!({ "i": input })).await;
        assert!(saved["saveDiscordGuild"]["panelError"].is_null(), "{saved}");
        Linked { ws, guild, panel, category, support, wendy }
    }

    fn panel_message(&self) -> u64 {
        let messages = discord().messages(self.panel);
        messages[0]["id"].as_str().unwrap().parse().unwrap()
    }

    /// `who` clicks `custom_id` on the panel (a type without intake): the ticket channel the bot
    /// reported, or none, and what `who` was told (checked to be ephemeral).
    fn open(&self, who: &DiscordUser, custom_id: &str) -> (Option<u64>, String) {
        let double = discord();
        let click = double.click(self.guild, self.panel, self.panel_message(), who, custom_id, None);
        wait("the click's answer", 20, || !double.interaction_callbacks(click).is_empty());
        let answer = double.interaction_callbacks(click)[0].clone();
        assert_eq!(answer["data"]["flags"], 64, "only the member sees the answer: {answer}");
        let told = match answer["type"].as_u64() {
            Some(5) => {
                wait("the deferred answer", 30, || !double.interaction_follow_ups(click).is_empty());
                double.interaction_follow_ups(click)[0]["content"].as_str().unwrap().to_string()
            }
            Some(4) => answer["data"]["content"].as_str().unwrap().to_string(),
            _ => panic!("unexpected answer {answer}"),
        };
        let channel =
            told.strip_prefix("Your ticket is open: <#").and_then(|r| r.strip_suffix('>')).map(|c| c.parse().unwrap());
        (channel, told)
    }

    async fn ticket_count(&self) -> u64 {
        ok(&self.ws.agent, "{ tickets(first: 1) { totalCount } }", json!({})).await["tickets"]["totalCount"]
            .as_u64()
            .unwrap()
    }

    /// The workspace's newest ticket (each test's workspace starts with none).
    async fn newest_ticket(&self) -> Value {
        let d = ok(&self.ws.agent, "{ tickets(first: 1) { nodes { id number subject source } } }", json!({})).await;
        d["tickets"]["nodes"][0].clone()
    }
}

fn ticket_type(key: &str, label: &str, topic: &Value, category: u64) -> Value {
    json!({ "key": key, "helpTopicId": topic, "label": label, "description": null,
        "categoryId": category.to_string(), "enabled": true, "roleIds": [], "openLimit": 1,
        "askSubject": false, "askDescription": false })
}

#[tokio::test]
async fn the_open_limit_and_a_role_restriction_refuse_with_an_ephemeral_reason_through_the_binary() {
    let vip = std::cell::Cell::new(0);
    let l = Linked::new(|topic, category, guild| {
        let mut priority = ticket_type("priority", "Priority", topic, category);
        vip.set(discord().add_role(guild, "VIP"));
        priority["roleIds"] = json!([vip.get().to_string()]);
        json!([ticket_type("general", "General", topic, category), priority])
    })
    .await;
    let vip = vip.get();
    let double = discord();

    let (first, told) = l.open(&l.wendy, "sb:open:general");
    let first = first.unwrap_or_else(|| panic!("{told}"));
    let channels = double.guild_channels(l.guild).len();
    let tickets = l.ticket_count().await;

    // One open General ticket per member (the type's default limit): the second click is refused,
    // pointing at the ticket she has.
    let (opened, told) = l.open(&l.wendy, "sb:open:general");
    assert_eq!(opened, None);
    assert_eq!(
        told,
        format!("You already have an open General ticket: <#{first}>. Carry on there, or close it first.")
    );
    // Priority is for the VIP role, which she lacks.
    let (opened, told) = l.open(&l.wendy, "sb:open:priority");
    assert_eq!(opened, None);
    assert_eq!(
        told,
        format!("Priority tickets are for members with the <@&{vip}> role. Ask the server's staff if you need one.")
    );
    assert_eq!(double.guild_channels(l.guild).len(), channels, "no channel was made");
    assert_eq!(l.ticket_count().await, tickets, "no ticket was opened");

    // Given the role, she may open one.
    double.add_member(l.guild, &l.wendy, &[vip]);
    let (opened, told) = l.open(&l.wendy, "sb:open:priority");
    assert!(opened.is_some(), "{told}");
    assert_eq!(l.ticket_count().await, tickets + 1);
}

#[tokio::test]
async fn a_full_category_overflows_into_a_new_one_and_the_guild_cap_refuses_leaving_nothing_through_the_binary() {
    let l = Linked::new(|topic, category, _| {
        let mut quick = ticket_type("quick", "Quick", topic, category);
        quick["openLimit"] = json!(0);
        json!([quick])
    })
    .await;
    let double = discord();
    // The category holds Discord's 50 channels already.
    for i in 0..50 {
        double.add_channel(l.guild, &format!("old-{i}"), channel_type::TEXT, Some(l.category));
    }
    let (opened, told) = l.open(&l.wendy, "sb:open:quick");
    let opened = opened.unwrap_or_else(|| panic!("{told}"));
    let overflow: u64 = double.channel(opened).unwrap()["parent_id"].as_str().unwrap().parse().unwrap();
    assert_ne!(overflow, l.category);
    let category = double.channel(overflow).unwrap();
    assert_eq!((category["name"].as_str(), category["type"].as_u64()), (Some("General Tickets 2"), Some(4)));
    // The next ticket goes into the same overflow category; no third category is made.
    let (next, told) = l.open(&l.wendy, "sb:open:quick");
    assert_eq!(double.channel(next.unwrap_or_else(|| panic!("{told}"))).unwrap()["parent_id"], overflow.to_string());
    let categories = double.guild_channels(l.guild).iter().filter(|c| c["type"] == channel_type::CATEGORY).count();
    assert_eq!(categories, 2);
    // The ticket channel is private: @everyone denied, Wendy, the staff role and the bot allowed.
    let overwrites = double.channel(opened).unwrap()["permission_overwrites"].as_array().unwrap().clone();
    let bits = |id: u64, key: &str| {
        let o = overwrites
            .iter()
            .find(|o| o["id"].as_str().and_then(|i| i.parse::<u64>().ok()) == Some(id))
            .unwrap_or_else(|| panic!("{id}: {overwrites:?}"));
        o[key].as_str().unwrap().parse::<u64>().unwrap()
    };
    assert!(bits(l.guild, "deny") & VIEW_CHANNEL != 0);
    for id in [l.wendy.id, l.support, DISCORD_BOT] {
        assert!(bits(id, "allow") & VIEW_CHANNEL != 0, "{id} sees the channel");
    }

    // The guild reaches Discord's 500 channels: a clear refusal, and nothing half-made.
    for n in double.guild_channels(l.guild).len()..500 {
        double.add_channel(l.guild, &format!("filler-{n}"), channel_type::TEXT, None);
    }
    let tickets = l.ticket_count().await;
    let (opened, told) = l.open(&l.wendy, "sb:open:quick");
    assert_eq!(opened, None);
    assert!(told.starts_with("This server has reached Discord's limit of 500 channels"), "{told}");
    assert_eq!(double.guild_channels(l.guild).len(), 500, "no channel or category left behind");
    assert_eq!(l.ticket_count().await, tickets, "no ticket without a channel");
}

/// A GraphQL multipart request (the spec's `operations`, `map` and one part per file).
async fn gql_with_file(token: &str, query: &str, variables: Value, path: &str, file: (&str, &[u8])) -> Value {
    let operations = json!({ "query": query, "variables": variables });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": [path] }).to_string())
        .part("0", reqwest::multipart::Part::bytes(file.1.to_vec()).file_name(file.0.to_string()));
    let resp = client()
        .post(format!("{}/graphql", server().url))
        .bearer_auth(token)
        .header("apollo-require-preflight", "true")
        .multipart(form)
        .send()
        .await
        .unwrap();
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_staff_reply_over_graphql_uploads_its_file_to_the_ticket_channel_and_the_transcript_is_on_the_ticket() {
    let l = Linked::new(|topic, category, _| json!([ticket_type("general", "General", topic, category)])).await;
    let double = discord();
    let (channel, told) = l.open(&l.wendy, "sb:open:general");
    let channel = channel.unwrap_or_else(|| panic!("{told}"));
    let ticket = l.newest_ticket().await;
    let id = ticket["id"].as_str().unwrap();
    assert_eq!(ticket["source"], "DISCORD");

    let q = "mutation($t: ID!, $b: String!, $f: [Upload!]) { reply(ticketId: $t, body: $b, attachments: $f) { id } }";
    let label: &[u8] = b"%PDF-1.4 return label for order 1042";
    let vars = json!({ "t": id, "b": "Here is your return label.", "f": [null] });
    let d = gql_with_file(&l.ws.agent, q, vars, "variables.f.0", ("return-label.pdf", label)).await;
    assert!(d["errors"].is_null(), "{d}");

    // The double received one message from the bot, with the staff member's name and the file.
    wait("the reply in the ticket channel", 30, || !bot_messages(double, channel).is_empty());
    let sent = bot_messages(double, channel);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["content"], "**Alex Agent**\nHere is your return label.");
    assert_eq!(sent[0]["attachments"][0]["filename"], "return-label.pdf");
    let uploads: Vec<_> = double
        .requests_to("POST", &format!("/channels/{channel}/messages"))
        .into_iter()
        .flat_map(|r| r.files)
        .collect();
    assert_eq!(uploads.len(), 1);
    assert_eq!((uploads[0].1.as_str(), uploads[0].2.as_slice()), ("return-label.pdf", label));
    // The entry records Discord's message id.
    let q = "query($id: ID!) { ticket(id: $id) { transcript { archivedAt } entries { body externalMessageId deliveryStatus } } }";
    let message_id = sent[0]["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    loop {
        let d = ok(&l.ws.agent, q, json!({ "id": id })).await;
        let entry = d["ticket"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["body"] == "Here is your return label.")
            .unwrap()
            .clone();
        if entry["externalMessageId"] == message_id.as_str() {
            assert!(d["ticket"]["transcript"].is_null(), "no transcript while open");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the Discord id on the entry: {entry}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Closed: the transcript is archived and the ticket offers it, HTML with the file in it and
    // text, whatever Discord does with its links.
    double.user_message(channel, &l.wendy, "Got it, thanks!", &[]);
    wait_for_entry(&server().url, &l.ws.agent, id, "Got it, thanks!").await;
    double.expire_attachments();
    ok(&l.ws.agent, "mutation($t: ID!) { closeTicket(ticketId: $t, reason: RESOLVED) { id } }", json!({ "t": id }))
        .await;
    let q = "query($id: ID!) { ticket(id: $id) { transcript { html { fileName url } text { fileName url } } } }";
    let start = Instant::now();
    let transcript = loop {
        let d = ok(&l.ws.agent, q, json!({ "id": id })).await;
        if !d["ticket"]["transcript"].is_null() {
            break d["ticket"]["transcript"].clone();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the transcript on the ticket: {d}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let name = |kind: &str| transcript[kind]["fileName"].as_str().unwrap_or_default().to_string();
    assert!(name("html").starts_with("transcript-SD-") && name("html").ends_with(".html"), "{transcript}");
    assert!(name("text").starts_with("transcript-SD-") && name("text").ends_with(".txt"), "{transcript}");
    let download = |url: &str| {
        let (url, token) = (format!("{}{url}", server().url), l.ws.agent.clone());
        async move { client().get(url).bearer_auth(token).send().await.unwrap().text().await.unwrap() }
    };
    let html = download(transcript["html"]["url"].as_str().unwrap()).await;
    use base64::Engine as _;
    assert!(
        html.contains(&base64::engine::general_purpose::STANDARD.encode(label)),
        "the file, though its link expired"
    );
    assert!(html.contains("Here is your return label.") && html.contains("Got it, thanks!"));
    let text = download(transcript["text"]["url"].as_str().unwrap()).await;
    assert!(text.contains("Got it, thanks!") && text.contains("[file: return-label.pdf"), "{text}");
    wait("the channel to be deleted", 30, || double.channel(channel).is_none());
}

#[tokio::test]
async fn a_guild_is_linked_to_one_workspace_and_only_when_the_bot_is_in_it() {
    let l = Linked::new(|topic, category, _| json!([ticket_type("general", "General", topic, category)])).await;
    let other = workspace().await;
    let d = ok(&other.admin, "{ helpTopics { id } }", json!({})).await;
    let topic = d["helpTopics"][0]["id"].clone();
    let link = "mutation($i: DiscordGuildInput!) { saveDiscordGuild(input: $i) { id } }";
    let input = |guild: u64| {
        json!({ "i": {
            "guildId": guild.to_string(), "name": "Mine now", "enabled": true, "panelChannelId": l.panel.to_string(),
            "transcriptsChannelId": null, "staffRoleIds": [], "managementRoleIds": [], "sequentialNames": false,
            "ticketTypes": [ticket_type("general", "General", &topic, l.category)],
        } })
    };
    // Another workspace's admin cannot take the guild over.
    let d = gql(Some(&other.admin), link, input(l.guild)).await;
    assert_error(&d, "CONFLICT", Some("guildId"));
    // Nor link a guild the bot was never added to.
    let stranger = discord().new_id();
    let d = gql(Some(&other.admin), link, input(stranger)).await;
    assert_error(&d, "VALIDATION", Some("guildId"));
    assert!(error_of(&d).2.contains("the bot is not in this Discord server"), "{d}");
    assert_eq!(ok(&other.admin, "{ discordGuilds { id } }", json!({})).await["discordGuilds"], json!([]));
    // The guild stays with its workspace, and a guild of its own links.
    let ours = ok(&l.ws.admin, "{ discordGuilds { guildId name } }", json!({})).await;
    assert_eq!(ours["discordGuilds"], json!([{ "guildId": l.guild.to_string(), "name": "Acme Community" }]));
    let d = gql(Some(&other.admin), link, input(discord_guild("Their own"))).await;
    assert!(d["errors"].is_null(), "{d}");
}

/// Setup from inside Discord through the running server: an admin makes a link code over
/// GraphQL, a member with Manage Server runs `/switchboard setup` with it in a guild no workspace
/// linked, fills in the form and answers the follow-up; the web's GraphQL then shows the guild
/// linked to the admin's workspace, Ready, with the same next step `/switchboard view` gives.
#[tokio::test]
async fn a_guild_set_up_from_discord_with_a_graphql_link_code_shows_ready_in_the_web() {
    server();
    let ws = workspace().await;
    let double = discord();
    wait("the shared server's gateway", 30, || double.connections() >= 1);
    let owner = DiscordUser::person(double.new_id(), "olga_setup", "Olga");
    let guild = double.add_guild("Setup Community", &owner);
    let general = double.add_channel(guild, "general", channel_type::TEXT, None);
    double.add_role(guild, "Support");

    let before = ok(&ws.admin, "{ discordGuilds { id } }", json!({})).await;
    assert_eq!(before["discordGuilds"], json!([]));
    let code = ok(&ws.admin, "mutation { createDiscordLinkCode { code nextStep } }", json!({})).await;
    let code = code["createDiscordLinkCode"]["code"].as_str().unwrap().to_string();
    let manage_server = 1 << 5;
    let i = double.run_command(guild, general, &owner, "switchboard setup", &[("code", &code)], manage_server);
    wait("the setup form", 20, || !double.interaction_callbacks(i).is_empty());
    assert_eq!(double.interaction_callbacks(i)[0]["type"], 9, "{:?}", double.interaction_callbacks(i));
    let form = [
        ("types", "customer, billing"),
        ("panel", "start-support"),
        ("staff_roles", "Support"),
        ("management_roles", ""),
        ("auto_learn", "yes"),
    ];
    let submit = double.submit_modal(guild, general, &owner, "sb:setup", &form);
    wait("the follow-up question", 20, || !double.interaction_callbacks(submit).is_empty());
    let click = double.click(guild, general, double.new_id(), &owner, "sb:setup:keep:30", None);
    wait("the setup's answer", 30, || !double.interaction_follow_ups(click).is_empty());
    let text = double.interaction_follow_ups(click)[0]["content"].as_str().unwrap().to_string();
    assert!(text.starts_with("Support channels are set up."), "{text}");

    let q = "{ discordGuilds { guildId autoLearn transcriptRetentionDays ticketTypes { key label } deployment { status missing nextStep } } }";
    let d = ok(&ws.admin, q, json!({})).await;
    let g = &d["discordGuilds"][0];
    assert_eq!(g["guildId"], guild.to_string());
    assert_eq!((g["autoLearn"].as_bool(), g["transcriptRetentionDays"].as_u64()), (Some(true), Some(30)));
    assert_eq!(
        g["ticketTypes"],
        json!([{ "key": "customer", "label": "Customer Support" }, { "key": "billing", "label": "Billing" }])
    );
    assert_eq!(g["deployment"]["status"], "READY", "{d}");
    assert_eq!(g["deployment"]["missing"], json!([]));
    // Discord says the same next step.
    let i = double.run_command(guild, general, &owner, "switchboard view", &[], manage_server);
    wait("the view", 20, || !double.interaction_callbacks(i).is_empty());
    let view = double.interaction_callbacks(i)[0]["data"]["content"].as_str().unwrap().to_string();
    assert!(view.contains(&format!("Next step: {}", g["deployment"]["nextStep"].as_str().unwrap())), "{view}");
    // The code worked once: another server cannot use it.
    let other = double.add_guild("Second Community", &owner);
    let i = double.run_command(other, general, &owner, "switchboard setup", &[("code", &code)], manage_server);
    wait("the refusal", 20, || !double.interaction_callbacks(i).is_empty());
    let refused = double.interaction_callbacks(i)[0]["data"]["content"].as_str().unwrap().to_string();
    assert!(refused.starts_with("The link code was refused"), "{refused}");
}
