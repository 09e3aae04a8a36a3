//! The Discord channel through the real binary, pointed at the test kit's Discord double only by
//! `SWITCHBOARD_DISCORD_API_URL`: the gateway connects with `serve`, a message in a ticket
//! channel shows on the ticket, an agent's reply reaches the channel once through a 429, and a
//! killed and restarted server connects again and goes on.
//!
//! Until the panel opens tickets (issue 16's next steps), the test opens the Discord ticket the
//! way the panel will: through the desk, on the server's own database, with the channel as its
//! thread key.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_desk::domain::{Actor, Channel};
use switchboard_desk::store::Store;
use switchboard_desk::store::records::IdentityKind;
use switchboard_desk::{AuthConfig, BlobStore, Desk, InboundMessage, SystemClock};
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

fn bot_messages(double: &DiscordDouble, channel: u64) -> Vec<Value> {
    double.messages(channel).into_iter().filter(|m| m["author"]["id"] == BOT_ID).collect()
}

#[tokio::test]
async fn a_discord_ticket_is_worked_both_ways_through_the_binary_and_survives_a_restart() {
    let double = start_double();
    let owner = DiscordUser::person(double.new_id(), "olga", "Olga");
    let guild = double.add_guild("Acme Community", &owner);
    let wendy = DiscordUser::person(double.new_id(), "wendy_w", "Wendy");
    double.add_member(guild, &wendy, &[]);
    let category = double.add_channel(guild, "General Tickets", channel_type::CATEGORY, None);
    let ticket_channel = double.add_channel(guild, "ticket-1", channel_type::TEXT, Some(category));

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

    // The ticket the panel would open, on the server's database.
    let store = Store::connect(&server.database_url()).await.unwrap();
    let auth = AuthConfig { jwt_secret: b"unused by ingest".to_vec(), token_ttl_secs: 60 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(tmp.path().join("unused-blobs")), auth);
    let ws = desk.workspace_by_slug("disc").await.unwrap();
    let intake = InboundMessage {
        channel: Channel::Discord,
        thread_key: Some(ticket_channel.to_string()),
        ticket_id: None,
        external_message_id: "intake-1".into(),
        sender_kind: IdentityKind::Discord,
        sender_value: wendy.id.to_string(),
        sender_name: Some("Wendy".into()),
        subject: Some("Printer jams".into()),
        text: "It jams on every page.".into(),
        attachments: Vec::new(),
    };
    let ticket = desk.ingest(&Actor::system(ws.id), intake).await.unwrap().ticket_id.to_string();

    // Discord to the helpdesk.
    double.user_message(ticket_channel, &wendy, "It still jams after the update.", &[]);
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
    assert_eq!(double.requests_to("POST", &route).len(), 2, "the 429 and the one delivery");
    assert_eq!(double.premature_calls(), 0);
    // The bot's own message, echoed by the gateway, is not taken for the customer's.
    let before = bodies(&server.url, &agent, &ticket).await;
    assert_eq!(before.iter().filter(|b| b.as_str() == "Please try the rear tray.").count(), 1, "{before:?}");

    // Killed mid-conversation and started again: it connects anew and carries on.
    server.kill();
    wait("the connection to drop", 10, || double.connections() == 0);
    let server = ServerProcess::start_with(bin, &data, None, &envs).unwrap();
    wait("a new session", 30, || double.identifies() == 2 && double.connections() == 1);
    double.user_message(ticket_channel, &wendy, "Rear tray works, thanks!", &[]);
    wait_for_entry(&server.url, &agent, &ticket, "Rear tray works, thanks!").await;
    let after = bodies(&server.url, &agent, &ticket).await;
    assert_eq!(
        after,
        [
            "It jams on every page.",
            "It still jams after the update.",
            "Please try the rear tray.",
            "Rear tray works, thanks!"
        ]
    );
}
