//! `switchboard migrate-data` end to end: a SQLite installation with the demo workspace, an email
//! thread (through the raw-MIME endpoint) and a WhatsApp ticket (through the signed webhook) is
//! copied into PostgreSQL, and a server started on the copy carries on where the old one stopped.
//! Needs TEST_POSTGRES_URL (`.ci/run`'s PostgreSQL stage runs it).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard_testkit::ServerProcess;

const APP_SECRET: &str = "migrate-app-secret";
// The same key on both sides: mailbox and WhatsApp secrets are sealed with it.
const JWT_SECRET: &str = "migrate-data-test-secret-0123456789abcdef";
const PHONE_NUMBER_ID: &str = "1055500100";
const WA_CONTACT: &str = "4915550001";

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_switchboard"))
}

/// Meta's Graph API, as far as sending a message goes: records each call, answers with a wamid.
fn start_graph() -> (String, Arc<Mutex<Vec<Value>>>) {
    let calls: Arc<Mutex<Vec<Value>>> = Arc::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let state = calls.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", listener.local_addr().unwrap())).unwrap();
            let app = axum::Router::new()
                .route(
                    "/v21.0/{pn}/messages",
                    post(|State(calls): State<Arc<Mutex<Vec<Value>>>>, Json(body): Json<Value>| async move {
                        let mut calls = calls.lock().unwrap();
                        calls.push(body);
                        Json(json!({ "messages": [{ "id": format!("wamid.OUT{}", calls.len()) }] }))
                    }),
                )
                .with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), calls)
}

async fn gql(url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = http().post(format!("{url}/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

async fn ok(url: &str, token: &str, query: &str, variables: Value) -> Value {
    let body = gql(url, Some(token), query, variables).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

async fn login(url: &str, email: &str, password: &str) -> String {
    let d = gql(
        url,
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        json!({ "e": email, "p": password }),
    )
    .await;
    d["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("login {email}: {d}")).to_string()
}

async fn post_mail(url: &str, mailbox: &str, secret: &str, raw: String) -> Value {
    let resp =
        http().post(format!("{url}/inbound/email/{mailbox}")).bearer_auth(secret).body(raw).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    resp.json().await.unwrap()
}

async fn post_whatsapp(url: &str, wamid: &str, text: &str) {
    let body = json!({ "object": "whatsapp_business_account", "entry": [{ "id": "1", "changes": [{ "field": "messages",
        "value": { "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID },
            "contacts": [{ "profile": { "name": "Wendy" }, "wa_id": WA_CONTACT }],
            "messages": [{ "from": WA_CONTACT, "id": wamid, "timestamp": "1700000000", "text": { "body": text }, "type": "text" }] } }] }] })
    .to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let resp = http()
        .post(format!("{url}/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// Waits until the fake Graph API has received `n` messages.
async fn graph_calls(calls: &Arc<Mutex<Vec<Value>>>, n: usize) -> Vec<Value> {
    for _ in 0..300 {
        let seen = calls.lock().unwrap().clone();
        if seen.len() >= n {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the Graph API received {:?}, expected {n} messages", calls.lock().unwrap());
}

const TICKETS: &str = "{ tickets(first: 100) { totalCount nodes { id number subject source } } }";
const TICKET: &str = "query($id: ID) { ticket(id: $id) { id number subject entries { body externalMessageId \
    deliveryStatus attachments { fileName url } } } }";

/// The tickets a staff member sees, by subject.
async fn tickets(url: &str, token: &str) -> (i64, Vec<Value>) {
    let d = ok(url, token, TICKETS, json!({})).await;
    (d["tickets"]["totalCount"].as_i64().unwrap(), d["tickets"]["nodes"].as_array().unwrap().clone())
}

fn migrate_data(args: &[&str]) -> std::process::Output {
    Command::new(bin()).arg("migrate-data").args(args).env("SWITCHBOARD_LOG", "warn").output().unwrap()
}

#[tokio::test]
async fn a_sqlite_installation_moves_to_postgresql_and_carries_on() {
    let tmp = tempfile::tempdir().unwrap();
    let old_dir = tmp.path().join("old");
    let new_dir = tmp.path().join("new");
    let (graph, calls) = start_graph();
    let graph_url = format!("{graph}/v21.0");
    let envs = [
        ("SWITCHBOARD_JWT_SECRET", JWT_SECRET),
        ("SWITCHBOARD_WHATSAPP_APP_SECRET", APP_SECRET),
        ("SWITCHBOARD_WHATSAPP_VERIFY_TOKEN", "verify"),
        ("SWITCHBOARD_WHATSAPP_GRAPH_URL", graph_url.as_str()),
    ];

    // The old installation, on SQLite: the demo workspace, an email thread, a WhatsApp ticket.
    let old = ServerProcess::start_with(bin(), &old_dir, None, &envs).unwrap();
    old.cli(&["seed"], &envs).unwrap();
    let url = old.url.clone();
    let admin = login(&url, "admin@demo.switchboard.test", "demo-admin").await;
    let saved = ok(
        &url,
        &admin,
        "mutation($i: EmailMailboxInput!) { saveEmailMailbox(input: $i) { inboundSecret mailbox { id } } }",
        json!({ "i": { "name": "Help", "address": "help@demo.switchboard.test" } }),
    )
    .await["saveEmailMailbox"]
        .clone();
    let secret = saved["inboundSecret"].as_str().unwrap().to_string();
    let mailbox = saved["mailbox"]["id"].as_str().unwrap().to_string();
    let first = "From: Mia Mail <mia@example.net>\r\nTo: help@demo.switchboard.test\r\nSubject: Printer on fire\r\n\
        Message-ID: <migrate-1@example.net>\r\n\r\nIt smokes.\r\n"
        .to_string();
    let opened = post_mail(&url, &mailbox, &secret, first).await;
    assert_eq!(opened["opened"], true, "{opened}");
    let email_ticket = opened["ticketId"].as_str().unwrap().to_string();
    ok(
        &url,
        &admin,
        "mutation($i: WhatsappNumberInput!) { saveWhatsappNumber(input: $i) { id } }",
        json!({ "i": { "phoneNumberId": PHONE_NUMBER_ID, "displayPhoneNumber": "+1 555 0100", "accessToken": "wa-token",
            "templateName": "hello_world", "templateLanguage": "en_US" } }),
    )
    .await;
    for (n, text) in ["new", "Lost my parcel", "It never arrived."].iter().enumerate() {
        post_whatsapp(&url, &format!("wamid.IN{n}"), text).await;
        graph_calls(&calls, n + 1).await;
    }
    let agent = login(&url, "agent@demo.switchboard.test", "demo-agent").await;
    let (total_before, nodes_before) = tickets(&url, &agent).await;
    let wa_ticket =
        nodes_before.iter().find(|t| t["subject"] == "Lost my parcel").unwrap()["id"].as_str().unwrap().to_string();
    let email_before = ok(&url, &agent, TICKET, json!({ "id": email_ticket })).await["ticket"].clone();
    let eml = email_before["entries"][0]["attachments"][0].clone();
    assert_eq!(eml["fileName"], "original.eml", "{email_before}");
    let max_id_before = nodes_before.iter().map(|t| t["id"].as_str().unwrap().parse::<i64>().unwrap()).max().unwrap();
    drop(old);

    // The move. The target must be empty; `--to` must be PostgreSQL.
    let pg = switchboard_testkit::fresh_database_url(tmp.path(), "migrate").await.unwrap();
    assert!(pg.starts_with("postgres"), "TEST_POSTGRES_URL must name a PostgreSQL server for this test");
    let from = format!("sqlite://{}", old_dir.join("switchboard.db").display());
    let to_sqlite = migrate_data(&["--from", &from, "--to", &from]);
    assert!(!to_sqlite.status.success());
    assert!(String::from_utf8_lossy(&to_sqlite.stderr).contains("--to must be a PostgreSQL database URL"));
    // Data the target has nowhere to put, or a value that is no boolean, stops the copy with its
    // name, and leaves the target empty (the run after these succeeds).
    let sqlite = sqlx::sqlite::SqlitePool::connect(&from).await.unwrap();
    let active: i64 = sqlx::query_scalar("SELECT active FROM users WHERE email = 'agent@demo.switchboard.test'")
        .fetch_one(&sqlite)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE legacy_notes (id INTEGER PRIMARY KEY, body TEXT)").execute(&sqlite).await.unwrap();
    sqlx::query("INSERT INTO legacy_notes (body) VALUES ('keep me')").execute(&sqlite).await.unwrap();
    let refused = migrate_data(&["--from", &from, "--to", &pg]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("source table legacy_notes (1 rows) has no table of that name in the target schema"), "{err}");
    sqlx::query("DROP TABLE legacy_notes").execute(&sqlite).await.unwrap();
    sqlx::query("UPDATE users SET active = 7 WHERE email = 'agent@demo.switchboard.test'")
        .execute(&sqlite)
        .await
        .unwrap();
    let refused = migrate_data(&["--from", &from, "--to", &pg]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("users.active: 7 is not a boolean (0 or 1)"), "{err}");
    sqlx::query("UPDATE users SET active = ? WHERE email = 'agent@demo.switchboard.test'")
        .bind(active)
        .execute(&sqlite)
        .await
        .unwrap();
    // A source behind this binary's migrations is refused: a migration may move rows itself.
    sqlx::query("CREATE TABLE newest AS SELECT * FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .execute(&sqlite)
        .await
        .unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version IN (SELECT version FROM newest)")
        .execute(&sqlite)
        .await
        .unwrap();
    let refused = migrate_data(&["--from", &from, "--to", &pg]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && err.contains("run `switchboard --database-url"), "{err}");
    sqlx::query("INSERT INTO _sqlx_migrations SELECT * FROM newest").execute(&sqlite).await.unwrap();
    sqlx::query("DROP TABLE newest").execute(&sqlite).await.unwrap();
    sqlite.close().await;

    let attachments_from = old_dir.join("attachments");
    let attachments_to = new_dir.join("attachments");
    let args = [
        "--from",
        from.as_str(),
        "--to",
        pg.as_str(),
        "--attachments-from",
        attachments_from.to_str().unwrap(),
        "--copy-attachments-to",
        attachments_to.to_str().unwrap(),
    ];
    let out = migrate_data(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let line = |table: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(table))
            .unwrap_or_else(|| panic!("{table}: {stdout}"))
    };
    assert!(line("tickets").contains(&format!(" {total_before}  copied, count verified")), "{stdout}");
    assert!(line("channel_messages").contains("copied, count verified"), "{stdout}");
    assert!(line("whatsapp_inbox").contains("copied, count verified"), "{stdout}");
    assert!(line("ticket_counters").contains("not copied"), "{stdout}");
    assert!(stdout.contains("attachments: 1 files copied"), "{stdout}");
    // A second run finds the target full and writes nothing.
    let again = migrate_data(&args);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("the target database is not empty"), "{err}");

    // The new installation, on PostgreSQL, with the copied attachments.
    let new = ServerProcess::start_with(bin(), &new_dir, Some(&pg), &envs).unwrap();
    let url = new.url.clone();
    let agent = login(&url, "agent@demo.switchboard.test", "demo-agent").await;
    let (total_after, nodes_after) = tickets(&url, &agent).await;
    assert_eq!(total_after, total_before);
    let numbers = |nodes: &[Value]| {
        let mut v: Vec<(String, String)> = nodes
            .iter()
            .map(|t| (t["number"].as_str().unwrap().into(), t["subject"].as_str().unwrap().into()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(numbers(&nodes_after), numbers(&nodes_before));
    let email_after = ok(&url, &agent, TICKET, json!({ "id": email_ticket })).await["ticket"].clone();
    // The customer's message and its original (the acknowledgement's delivery may move on).
    assert_eq!(email_after["entries"][0], email_before["entries"][0]);
    assert_eq!(email_after["number"], email_before["number"]);
    let eml_bytes =
        http().get(format!("{url}{}", eml["url"].as_str().unwrap())).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(eml_bytes.status(), 200);
    assert!(eml_bytes.text().await.unwrap().contains("It smokes."));

    // The customer answers the email: threaded onto the same ticket by its Message-ID.
    let reply = "From: mia@example.net\r\nTo: help@demo.switchboard.test\r\nSubject: Re: Printer on fire\r\n\
        In-Reply-To: <migrate-1@example.net>\r\nMessage-ID: <migrate-2@example.net>\r\n\r\nStill smoking.\r\n"
        .to_string();
    let threaded = post_mail(&url, &mailbox, &secret, reply).await;
    assert_eq!((threaded["opened"].clone(), threaded["ticketId"].clone()), (json!(false), json!(email_ticket)));
    // The same message again is still a duplicate (dedupe rows came along).
    let first_again =
        "From: Mia Mail <mia@example.net>\r\nTo: help@demo.switchboard.test\r\nSubject: Printer on fire\r\n\
        Message-ID: <migrate-1@example.net>\r\n\r\nIt smokes.\r\n"
            .to_string();
    assert_eq!(post_mail(&url, &mailbox, &secret, first_again).await["duplicate"], true);

    // A staff reply on the WhatsApp ticket goes out with the sealed access token that was copied.
    ok(
        &url,
        &agent,
        "mutation($t: ID!) { reply(ticketId: $t, body: \"We are on it\") { id } }",
        json!({ "t": wa_ticket }),
    )
    .await;
    let ours = |c: &Value| c["text"]["body"] == "We are on it";
    for _ in 0..300 {
        if calls.lock().unwrap().iter().any(ours) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = calls.lock().unwrap().iter().find(|c| ours(c)).cloned();
    assert_eq!(sent.map(|c| c["to"].clone()), Some(json!(WA_CONTACT)), "the reply never reached the Graph API");

    // New rows get fresh ids and the next ticket number: the sequences moved past the copy.
    let opened = ok(
        &url,
        &agent,
        "mutation { openTicket(input: { subject: \"After the move\", requester: { email: \"new@example.org\" } }) { id number } }",
        json!({}),
    )
    .await["openTicket"]
        .clone();
    assert!(opened["id"].as_str().unwrap().parse::<i64>().unwrap() > max_id_before, "{opened}");
    let highest = nodes_before.iter().map(|t| t["number"].as_str().unwrap().to_string()).max().unwrap();
    assert!(opened["number"].as_str().unwrap() > highest.as_str(), "{opened} after {highest}");
    assert_eq!(tickets(&url, &agent).await.0, total_before + 1);
}

/// An HTTP client with the server's TLS provider (reqwest has no default one in this build).
fn http() -> reqwest::Client {
    switchboard_desk::egress::http_client_builder().build().expect("HTTP client")
}
