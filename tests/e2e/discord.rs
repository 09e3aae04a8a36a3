//! The Discord channel through the real binary, pointed at the test kit's Discord double only by
//! `SWITCHBOARD_DISCORD_API_URL`: the gateway connects with `serve`, a message in a ticket
//! channel shows on the ticket, an agent's reply reaches the channel once through a 429, and a
//! killed and restarted server connects again and goes on.
//!
//! The guild is linked over GraphQL (`saveDiscordGuild`), as the web's Discord page does; the
//! ticket is opened from the panel through the running server.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_testkit::ServerProcess;
use switchboard_testkit::discord::{DiscordDouble, DiscordUser, channel_type};

use crate::support::{PASSWORD, gql_at, write_seed};

const TOKEN: &str = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GbCdEf.e2e-token";
const APP: &str = "1098765432109876543";
const BOT: u64 = 1_098_765_432_109_876_544;
const BOT_ID: &str = "1098765432109876544";

/// The double on a runtime of its own, so it outlives any one test's runtime.
fn start_double() -> Arc<DiscordDouble> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async move {
            let double = Arc::new(DiscordDouble::start(TOKEN, APP.parse().unwrap(), BOT).await.unwrap());
            tx.send(double.clone()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
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
    wait_for_entry(&server.url, &agent, &ticket, "It still jams after the update.").await;

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
