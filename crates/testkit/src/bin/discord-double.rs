//! The test kit's Discord double as a process, for tests not written in Rust (the web's browser
//! tests). It starts the double with a guild ("Acme Community": a staff role, a staff member, a
//! customer, a panel channel, a ticket category and a transcripts channel), prints one JSON line
//! with the double's URL, the bot's token and application id, every id above and the URL of a
//! small control API, and stops when its stdin closes.
//!
//! The control API (JSON) acts as the guild's people and reads what the bot did:
//! `GET /channels/{id}/messages`; `GET /channels` (the guild's channels);
//! `POST /click {channelId, messageId, userId, customId, values?}` and
//! `POST /modal {channelId, userId, customId, fields: [[id, value]]}` (both answer
//! `{interactionId}`); `GET /interactions/{id}/callbacks` and `GET /interactions/{id}/follow-ups`;
//! `POST /messages {channelId, userId, content}`; `GET /state` (identifies, connections).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use switchboard_testkit::discord::{DiscordDouble, DiscordUser, channel_type};
use tokio::io::AsyncReadExt;

const TOKEN: &str = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GbCdEf.browser-token";
const APPLICATION_ID: u64 = 1_098_765_432_109_876_543;
const BOT_USER_ID: u64 = 1_098_765_432_109_876_544;

struct Ctl {
    double: DiscordDouble,
    guild: u64,
    users: HashMap<u64, DiscordUser>,
}

type S = State<Arc<Ctl>>;

fn id_of(v: &Value, key: &str) -> u64 {
    match &v[key] {
        Value::String(s) => s.parse().unwrap_or_default(),
        other => other.as_u64().unwrap_or_default(),
    }
}

fn user(ctl: &Ctl, body: &Value) -> Result<DiscordUser, (axum::http::StatusCode, String)> {
    let id = id_of(body, "userId");
    ctl.users.get(&id).cloned().ok_or((axum::http::StatusCode::BAD_REQUEST, format!("no user {id}")))
}

async fn messages(State(ctl): S, Path(id): Path<u64>) -> Json<Value> {
    Json(Value::Array(ctl.double.messages(id)))
}

async fn channels(State(ctl): S) -> Json<Value> {
    Json(Value::Array(ctl.double.guild_channels(ctl.guild)))
}

async fn click(State(ctl): S, Json(b): Json<Value>) -> Result<Json<Value>, (axum::http::StatusCode, String)> {
    let u = user(&ctl, &b)?;
    let values: Option<Vec<String>> =
        b["values"].as_array().map(|v| v.iter().filter_map(|x| x.as_str().map(String::from)).collect());
    let values: Option<Vec<&str>> = values.as_ref().map(|v| v.iter().map(String::as_str).collect());
    let custom_id = b["customId"].as_str().unwrap_or_default();
    let id =
        ctl.double.click(ctl.guild, id_of(&b, "channelId"), id_of(&b, "messageId"), &u, custom_id, values.as_deref());
    Ok(Json(json!({ "interactionId": id.to_string() })))
}

async fn modal(State(ctl): S, Json(b): Json<Value>) -> Result<Json<Value>, (axum::http::StatusCode, String)> {
    let u = user(&ctl, &b)?;
    let fields: Vec<(String, String)> = b["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| (f[0].as_str().unwrap_or_default().to_string(), f[1].as_str().unwrap_or_default().to_string()))
        .collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let custom_id = b["customId"].as_str().unwrap_or_default();
    let id = ctl.double.submit_modal(ctl.guild, id_of(&b, "channelId"), &u, custom_id, &fields);
    Ok(Json(json!({ "interactionId": id.to_string() })))
}

async fn follow_ups(State(ctl): S, Path(id): Path<u64>) -> Json<Value> {
    Json(Value::Array(ctl.double.interaction_follow_ups(id)))
}

async fn callbacks(State(ctl): S, Path(id): Path<u64>) -> Json<Value> {
    Json(Value::Array(ctl.double.interaction_callbacks(id)))
}

async fn message(State(ctl): S, Json(b): Json<Value>) -> Result<Json<Value>, (axum::http::StatusCode, String)> {
    let u = user(&ctl, &b)?;
    let content = b["content"].as_str().unwrap_or_default();
    Ok(Json(ctl.double.user_message(id_of(&b, "channelId"), &u, content, &[])))
}

async fn state(State(ctl): S) -> Json<Value> {
    Json(json!({ "identifies": ctl.double.identifies(), "connections": ctl.double.connections() }))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> anyhow::Result<()> {
    let double = DiscordDouble::start(TOKEN, APPLICATION_ID, BOT_USER_ID).await?;
    let owner = DiscordUser::person(double.new_id(), "olga", "Olga");
    let guild = double.add_guild("Acme Community", &owner);
    let staff_role = double.add_role(guild, "Support");
    let staff = DiscordUser::person(double.new_id(), "sam_support", "Sam");
    double.add_member(guild, &staff, &[staff_role]);
    let customer = DiscordUser::person(double.new_id(), "wendy_w", "Wendy");
    double.add_member(guild, &customer, &[]);
    let panel = double.add_channel(guild, "open-a-ticket", channel_type::TEXT, None);
    let category = double.add_channel(guild, "Tickets", channel_type::CATEGORY, None);
    let transcripts = double.add_channel(guild, "transcripts", channel_type::TEXT, None);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let control = format!("http://{}", listener.local_addr()?);
    let line = json!({
        "url": double.url, "control": control, "token": TOKEN, "applicationId": APPLICATION_ID.to_string(),
        "botUserId": BOT_USER_ID.to_string(), "guildId": guild.to_string(), "staffRoleId": staff_role.to_string(),
        "staffUserId": staff.id.to_string(), "customerUserId": customer.id.to_string(),
        "panelChannelId": panel.to_string(), "categoryId": category.to_string(),
        "transcriptsChannelId": transcripts.to_string(),
    });
    let users = [owner, staff, customer].into_iter().map(|u| (u.id, u)).collect();
    let ctl = Arc::new(Ctl { double, guild, users });
    let app = Router::new()
        .route("/channels", get(channels))
        .route("/channels/{id}/messages", get(messages))
        .route("/click", post(click))
        .route("/modal", post(modal))
        .route("/interactions/{id}/callbacks", get(callbacks))
        .route("/interactions/{id}/follow-ups", get(follow_ups))
        .route("/messages", post(message))
        .route("/state", get(state))
        .with_state(ctl);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    println!("{line}");

    // Stops with the test that started it: its stdin closes when that process ends.
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    Ok(())
}
