//! The WhatsApp channel end to end: the real `switchboard serve`, pointed by configuration at a
//! local server that plays Meta's Graph API (messages, media upload and download, with Meta's
//! request and response shapes and error bodies), receiving webhook notifications built from the
//! shapes in Meta's documentation and signed with a test app secret.
//!
//! This channel gets a server of its own (its Graph API URL must be known at start-up); it runs
//! on SQLite even when TEST_DATABASE_URL is set, so that the shared server's sender never sees
//! these tests' outbox rows.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{PASSWORD, gql_at, write_seed};

const APP_SECRET: &str = "test-app-secret-7f3a";
const VERIFY_TOKEN: &str = "test-verify-token-19c2";
/// Sends to this recipient fail as Meta fails a message to a number not on WhatsApp.
const UNREACHABLE: &str = "15550009999";

/// One request the fake Graph API received.
#[derive(Debug, Clone)]
struct GraphCall {
    path: String,
    bearer: String,
    body: Value,
}

#[derive(Clone, Default)]
struct FakeGraph {
    calls: Arc<Mutex<Vec<GraphCall>>>,
    base: Arc<OnceLock<String>>,
}

fn bearer(h: &HeaderMap) -> String {
    h.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().trim_start_matches("Bearer ").to_string()
}

/// Meta's error body.
fn graph_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({ "error": { "message": message, "type": "OAuthException", "code": code,
        "error_subcode": 2494010, "fbtrace_id": "AbCdEf123" } });
    (status, Json(body)).into_response()
}

/// The token each test number is configured with: `token-<phone number id>`.
fn token_ok(h: &HeaderMap, pn: &str) -> bool {
    bearer(h) == format!("token-{pn}")
}

async fn messages(
    State(g): State<FakeGraph>,
    UrlPath(pn): UrlPath<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !token_ok(&headers, &pn) {
        return graph_error(StatusCode::UNAUTHORIZED, 190, "Invalid OAuth access token - Cannot parse access token");
    }
    let to = body["to"].as_str().unwrap_or_default().to_string();
    let mut calls = g.calls.lock().unwrap();
    calls.push(GraphCall { path: format!("/{pn}/messages"), bearer: bearer(&headers), body });
    if to == UNREACHABLE {
        return graph_error(
            StatusCode::BAD_REQUEST,
            131026,
            "(#131026) Message Undeliverable: the recipient is not a WhatsApp user",
        );
    }
    let wamid = format!("wamid.OUT{}", calls.len());
    Json(json!({ "messaging_product": "whatsapp", "contacts": [{ "input": to, "wa_id": to }],
        "messages": [{ "id": wamid }] }))
    .into_response()
}

async fn media_info(State(g): State<FakeGraph>, UrlPath(id): UrlPath<String>, headers: HeaderMap) -> Response {
    // Media ids are global to the app; any test number's token may read them.
    if !bearer(&headers).starts_with("token-") {
        return graph_error(StatusCode::UNAUTHORIZED, 190, "Invalid OAuth access token");
    }
    if !id.starts_with("media") {
        return graph_error(StatusCode::BAD_REQUEST, 100, "Unsupported get request.");
    }
    let base = g.base.get().cloned().unwrap_or_default();
    Json(json!({ "messaging_product": "whatsapp", "url": format!("{base}/cdn/{id}"), "mime_type": "image/jpeg",
        "sha256": "abc", "file_size": "11", "id": id }))
    .into_response()
}

async fn media_bytes(UrlPath(id): UrlPath<String>, headers: HeaderMap) -> Response {
    if !bearer(&headers).starts_with("token-") {
        return graph_error(StatusCode::UNAUTHORIZED, 190, "Invalid OAuth access token");
    }
    ([("content-type", "image/jpeg")], format!("JPEG of {id}")).into_response()
}

/// `POST /{pn}/media`: multipart with `messaging_product`, `type` and the `file` part.
async fn upload(
    State(g): State<FakeGraph>,
    UrlPath(pn): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !token_ok(&headers, &pn) {
        return graph_error(StatusCode::UNAUTHORIZED, 190, "Invalid OAuth access token");
    }
    let raw = String::from_utf8_lossy(&body).to_string();
    if !raw.contains("name=\"messaging_product\"") || !raw.contains("name=\"file\"") {
        return graph_error(StatusCode::BAD_REQUEST, 100, "(#100) The parameter messaging_product is required.");
    }
    let mut calls = g.calls.lock().unwrap();
    calls.push(GraphCall { path: format!("/{pn}/media"), bearer: bearer(&headers), body: json!({ "raw": raw }) });
    Json(json!({ "id": format!("uploaded-{}", calls.len()) })).into_response()
}

struct WaServer {
    process: switchboard_testkit::ServerProcess,
    url: String,
    graph: FakeGraph,
    _tmp: tempfile::TempDir,
}

static SERVER: OnceLock<WaServer> = OnceLock::new();
static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

/// The fake Graph API runs on a thread of its own, so it outlives each test's runtime.
fn start_graph() -> (String, FakeGraph) {
    let graph = FakeGraph::default();
    let g = graph.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            g.base.set(base.clone()).unwrap();
            let app = axum::Router::new()
                .route("/v21.0/{pn}/messages", axum::routing::post(messages))
                .route("/v21.0/{pn}/media", axum::routing::post(upload))
                .route("/v21.0/{id}", axum::routing::get(media_info))
                .route("/cdn/{id}", axum::routing::get(media_bytes))
                .with_state(g);
            tx.send(base).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), graph)
}

fn server() -> &'static WaServer {
    SERVER.get_or_init(|| {
        let (graph_base, graph) = start_graph();
        let tmp = tempfile::tempdir().unwrap();
        let graph_url = format!("{graph_base}/v21.0");
        let process = switchboard_testkit::ServerProcess::start_with(
            Path::new(env!("CARGO_BIN_EXE_switchboard")),
            &tmp.path().join("data"),
            None,
            &[
                ("SWITCHBOARD_WHATSAPP_APP_SECRET", APP_SECRET),
                ("SWITCHBOARD_WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN),
                ("SWITCHBOARD_WHATSAPP_GRAPH_URL", &graph_url),
                ("SWITCHBOARD_WEBHOOK_RETRY_BASE_MS", "300"),
            ],
        )
        .expect("start switchboard");
        WaServer { url: process.url.clone(), process, graph, _tmp: tmp }
    })
}

/// A workspace with a WhatsApp number of its own (phone number id `pn`, token `token-<pn>`).
struct Ws {
    admin: String,
    agent: String,
    pn: String,
    /// A prefix for this test's WhatsApp ids, so tests never share a contact.
    wa: String,
}

async fn login(email: &str) -> String {
    let d = gql_at(
        &server().url,
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        json!({ "e": email, "p": PASSWORD }),
    )
    .await;
    d["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("login {email}: {d}")).to_string()
}

async fn ok(token: &str, q: &str, v: Value) -> Value {
    let body = gql_at(&server().url, Some(token), q, v).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

async fn workspace() -> Ws {
    let s = server();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let slug = format!("wa{n}-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let file = write_seed(dir.path(), &slug, n);
    s.process.cli(&["seed", "--file", file.to_str().unwrap()], &[]).unwrap();
    let admin = login(&format!("admin@{slug}.test")).await;
    let agent = login(&format!("agent@{slug}.test")).await;
    let pn = format!("10{}{n:03}", std::process::id());
    let q = "mutation($i: WhatsappNumberInput!) { saveWhatsappNumber(input: $i) { id phoneNumberId hasAccessToken templateName } }";
    let input = json!({ "phoneNumberId": pn, "displayPhoneNumber": "+1 555 010 0000", "accessToken": format!("token-{pn}"),
        "templateName": "hello_world", "templateLanguage": "en_US" });
    let saved = ok(&admin, q, json!({ "i": input })).await;
    assert_eq!(saved["saveWhatsappNumber"]["hasAccessToken"], true);
    // The token is write-only: the type has no field that returns it.
    let leak = gql_at(&s.url, Some(&admin), "{ whatsappNumbers { accessToken } }", json!({})).await;
    assert!(leak["errors"][0]["message"].as_str().unwrap().contains("accessToken"), "{leak}");
    Ws { admin, agent, pn, wa: format!("49{n:02}{}", std::process::id() % 100_000) }
}

fn sign(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs a notification with the given signature header (none when `None`); returns the status.
async fn post_signed(body: &str, signature: Option<&str>) -> u16 {
    let mut req = crate::support::client()
        .post(format!("{}/webhooks/whatsapp", server().url))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(s) = signature {
        req = req.header("X-Hub-Signature-256", s);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn post(body: &Value) -> u16 {
    let text = body.to_string();
    post_signed(&text, Some(&sign(&text))).await
}

/// A notification as Meta sends it: one entry per (phone number id, value) pair.
fn notification(entries: Vec<(String, Value)>) -> Value {
    let entry: Vec<Value> = entries
        .into_iter()
        .map(|(pn, value)| {
            let mut value = value;
            value["messaging_product"] = json!("whatsapp");
            value["metadata"] = json!({ "display_phone_number": "15550100000", "phone_number_id": pn });
            json!({ "id": "102290129340398", "changes": [{ "value": value, "field": "messages" }] })
        })
        .collect();
    json!({ "object": "whatsapp_business_account", "entry": entry })
}

fn contacts(from: &str) -> Value {
    json!([{ "profile": { "name": format!("Wendy {from}") }, "wa_id": from }])
}

fn text_value(from: &str, wamid: &str, text: &str) -> Value {
    json!({ "contacts": contacts(from), "messages": [
        { "from": from, "id": wamid, "timestamp": "1700000000", "text": { "body": text }, "type": "text" }] })
}

fn button_value(from: &str, wamid: &str, id: &str, title: &str) -> Value {
    json!({ "contacts": contacts(from), "messages": [{ "from": from, "id": wamid, "timestamp": "1700000000",
        "type": "interactive", "interactive": { "type": "button_reply", "button_reply": { "id": id, "title": title } } }] })
}

fn status_value(wamid: &str, status: &str, recipient: &str) -> Value {
    json!({ "statuses": [{ "id": wamid, "status": status, "timestamp": "1700000100", "recipient_id": recipient }] })
}

static WAMID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

fn wamid() -> String {
    format!("wamid.IN{}-{}", std::process::id(), WAMID.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
}

/// Messages the fake Graph API received for `to`.
fn sent_to(to: &str) -> Vec<GraphCall> {
    server().graph.calls.lock().unwrap().iter().filter(|c| c.body["to"] == to).cloned().collect()
}

fn text_of(c: &GraphCall) -> String {
    c.body["text"]["body"].as_str().or(c.body["interactive"]["body"]["text"].as_str()).unwrap_or_default().to_string()
}

/// Waits until `to` has received `n` messages and returns the last.
async fn nth_sent(to: &str, n: usize) -> GraphCall {
    // Generous: the job runner shares two loaded cores with the other tests.
    for _ in 0..300 {
        let sent = sent_to(to);
        if sent.len() >= n {
            return sent[n - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{to} received {} messages, expected {n}: {:?}", sent_to(to).len(), sent_to(to));
}

/// Says `text` as `from` and waits for the bot's answer (the `n`th message to them).
async fn say(ws: &Ws, from: &str, text: &str, n: usize) -> String {
    assert_eq!(post(&notification(vec![(ws.pn.clone(), text_value(from, &wamid(), text))])).await, 200);
    text_of(&nth_sent(from, n).await)
}

/// Runs `support.create_ticket` by plain text; returns the ticket's number.
async fn create_ticket(ws: &Ws, from: &str, subject: &str, description: &str, sent_before: usize) -> String {
    assert!(say(ws, from, "new", sent_before + 1).await.contains("subject"));
    assert!(say(ws, from, subject, sent_before + 2).await.contains("describe"));
    let answer = say(ws, from, description, sent_before + 3).await;
    let number = answer.split_whitespace().nth(1).unwrap().to_string();
    assert!(answer.starts_with(&format!("Ticket {number} is open")), "{answer}");
    number
}

const TICKET: &str = "query($n: String) { ticket(number: $n) { id number subject status source chatOriginated \
    requester { id name } entries { id kind body channel externalMessageId deliveryStatus deliveryError \
    attachments { fileName } } } }";

async fn ticket(ws: &Ws, number: &str) -> Value {
    ok(&ws.agent, TICKET, json!({ "n": number })).await["ticket"].clone()
}

/// Polls a ticket until `check` holds.
async fn ticket_until(ws: &Ws, number: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    // Generous: the job runner shares two loaded cores with the other tests.
    for _ in 0..300 {
        let t = ticket(ws, number).await;
        if check(&t) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {}", ticket(ws, number).await);
}

#[tokio::test]
async fn verification_handshake() {
    let url = format!("{}/webhooks/whatsapp", server().url);
    let get = |q: String| {
        let url = url.clone();
        async move {
            let r = reqwest::get(format!("{url}?{q}")).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let good = format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444");
    assert_eq!(get(good).await, (200, "1158201444".to_string()));
    assert_eq!(get("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1".into()).await.0, 403);
    assert_eq!(get(format!("hub.mode=unsubscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1")).await.0, 403);
    assert_eq!(get("hub.challenge=1".into()).await.0, 403);
}

#[tokio::test]
async fn create_ticket_skill_by_buttons() {
    let ws = workspace().await;
    let from = format!("{}01", ws.wa);
    // Any greeting shows the menu of three reply buttons, one per skill.
    assert!(say(&ws, &from, "hi", 1).await.contains("How can we help?"));
    let menu = nth_sent(&from, 1).await;
    assert_eq!(menu.path, format!("/{}/messages", ws.pn));
    assert_eq!(menu.bearer, format!("token-{}", ws.pn));
    assert_eq!(menu.body["type"], "interactive");
    let buttons = menu.body["interactive"]["action"]["buttons"].as_array().unwrap();
    let ids: Vec<&str> = buttons.iter().map(|b| b["reply"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["support.create_ticket", "support.get_ticket_status", "support.list_my_tickets"]);

    let pressed = button_value(&from, &wamid(), "support.create_ticket", "New ticket");
    assert_eq!(post(&notification(vec![(ws.pn.clone(), pressed)])).await, 200);
    assert!(text_of(&nth_sent(&from, 2).await).contains("subject"));
    assert!(say(&ws, &from, "Invoice shows the wrong address", 3).await.contains("describe"));
    let answer = say(&ws, &from, "The March invoice still has our old street.", 4).await;
    let number = answer.split_whitespace().nth(1).unwrap().to_string();
    assert!(number.starts_with("SD-"), "{answer}");

    let t = ticket(&ws, &number).await;
    assert_eq!(t["subject"], "Invoice shows the wrong address");
    assert_eq!(t["source"], "CHAT");
    assert_eq!(t["chatOriginated"], true);
    assert_eq!(t["status"], "OPEN");
    assert_eq!(t["requester"]["name"], format!("Wendy {from}"));
    assert_eq!(t["entries"][0]["body"], "The March invoice still has our old street.");
    assert_eq!(t["entries"][0]["channel"], "WHATSAPP");
    // The requester is the contact with this WhatsApp id (and their phone number).
    let q = "query($s: String) { contacts(search: $s) { name identities { channel externalId } phone } }";
    let c = ok(&ws.agent, q, json!({ "s": from })).await;
    assert_eq!(c["contacts"][0]["identities"], json!([{ "channel": "WHATSAPP", "externalId": from }]), "{c}");
    assert_eq!(c["contacts"][0]["phone"], format!("+{from}"), "{c}");
}

#[tokio::test]
async fn status_and_list_skills_show_only_the_contacts_own_tickets() {
    let ws = workspace().await;
    let (alice, bob) = (format!("{}02", ws.wa), format!("{}03", ws.wa));
    let first = create_ticket(&ws, &alice, "Cannot log in", "Password reset mail never arrives.", 0).await;
    let second = create_ticket(&ws, &alice, "Export is slow", "CSV export takes minutes.", 3).await;

    let status = say(&ws, &alice, &format!("status {}", first.to_lowercase()), 7).await;
    assert_eq!(status, format!("Ticket {first} · Cannot log in · open"));
    // The status button asks for the number first.
    let pressed = button_value(&alice, &wamid(), "support.get_ticket_status", "Ticket status");
    assert_eq!(post(&notification(vec![(ws.pn.clone(), pressed)])).await, 200);
    assert!(text_of(&nth_sent(&alice, 8).await).contains("number"));
    assert_eq!(say(&ws, &alice, &second, 9).await, format!("Ticket {second} · Export is slow · open"));

    let list = say(&ws, &alice, "my tickets", 10).await;
    assert_eq!(list, format!("Your recent tickets:\n{second} · Export is slow · open\n{first} · Cannot log in · open"));

    // Bob asks for Alice's ticket: the same answer as for a ticket that does not exist.
    let others = say(&ws, &bob, &format!("status {first}"), 1).await;
    assert_eq!(others, format!("No ticket {first} was found for you."));
    let missing = say(&ws, &bob, "status SD-99999", 2).await;
    assert_eq!(missing, "No ticket SD-99999 was found for you.");
    assert_eq!(say(&ws, &bob, "my tickets", 3).await, "You have no tickets yet. Send \"new\" to open one.");
}

#[tokio::test]
async fn staff_reply_goes_out_and_status_updates_mark_it_delivered() {
    let ws = workspace().await;
    let from = format!("{}04", ws.wa);
    let number = create_ticket(&ws, &from, "Router keeps rebooting", "Every ten minutes.", 0).await;
    let id = ticket(&ws, &number).await["id"].as_str().unwrap().to_string();

    // Free text outside a skill joins the open ticket's thread.
    let follow_up = wamid();
    assert_eq!(
        post(&notification(vec![(ws.pn.clone(), text_value(&from, &follow_up, "It is model X200."))])).await,
        200
    );
    ticket_until(&ws, &number, "follow-up on the thread", |t| {
        t["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["body"] == "It is model X200." && e["externalMessageId"] == follow_up.as_str())
    })
    .await;

    let q = "mutation($t: ID!, $b: String!) { reply(ticketId: $t, body: $b) { id deliveryStatus } }";
    let entry = ok(&ws.agent, q, json!({ "t": id, "b": "Please update the firmware to 2.4." })).await;
    let entry_id = entry["reply"]["id"].as_str().unwrap().to_string();
    assert_eq!(entry["reply"]["deliveryStatus"], "pending");
    let sent = nth_sent(&from, 4).await;
    assert_eq!(sent.path, format!("/{}/messages", ws.pn));
    assert_eq!(sent.bearer, format!("token-{}", ws.pn));
    assert_eq!(
        sent.body,
        json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": from, "type": "text",
            "text": { "preview_url": false, "body": "Please update the firmware to 2.4." } })
    );
    let entry_of = |t: &Value| t["entries"].as_array().unwrap().iter().find(|e| e["id"] == entry_id.as_str()).cloned();
    let t =
        ticket_until(&ws, &number, "reply sent", |t| entry_of(t).is_some_and(|e| e["deliveryStatus"] == "sent")).await;
    let wamid_out = entry_of(&t).unwrap()["externalMessageId"].as_str().unwrap().to_string();
    assert!(wamid_out.starts_with("wamid.OUT"), "{wamid_out}");

    // Meta reports it delivered, then read; a late "delivered" does not move it back.
    assert_eq!(post(&notification(vec![(ws.pn.clone(), status_value(&wamid_out, "delivered", &from))])).await, 200);
    ticket_until(&ws, &number, "delivered", |t| entry_of(t).is_some_and(|e| e["deliveryStatus"] == "delivered")).await;
    assert_eq!(post(&notification(vec![(ws.pn.clone(), status_value(&wamid_out, "read", &from))])).await, 200);
    ticket_until(&ws, &number, "read", |t| entry_of(t).is_some_and(|e| e["deliveryStatus"] == "read")).await;

    // A failed status carries Meta's error code onto the entry.
    let entry2 =
        ok(&ws.agent, q, json!({ "t": id, "b": "Did that help?" })).await["reply"]["id"].as_str().unwrap().to_string();
    let t = ticket_until(&ws, &number, "second reply sent", |t| {
        t["entries"].as_array().unwrap().iter().any(|e| e["id"] == entry2.as_str() && e["deliveryStatus"] == "sent")
    })
    .await;
    let e2 = t["entries"].as_array().unwrap().iter().find(|e| e["id"] == entry2.as_str()).unwrap().clone();
    let failed = json!({ "statuses": [{ "id": e2["externalMessageId"], "status": "failed", "timestamp": "1700000200",
        "recipient_id": from, "errors": [{ "code": 131047, "title": "Re-engagement message",
        "message": "Re-engagement message", "error_data": { "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number." } }] }] });
    assert_eq!(post(&notification(vec![(ws.pn.clone(), failed)])).await, 200);
    let t = ticket_until(&ws, &number, "failed", |t| {
        t["entries"].as_array().unwrap().iter().any(|e| e["id"] == entry2.as_str() && e["deliveryStatus"] == "failed")
    })
    .await;
    let e2 = t["entries"].as_array().unwrap().iter().find(|e| e["id"] == entry2.as_str()).unwrap().clone();
    assert!(e2["deliveryError"].as_str().unwrap().starts_with("WhatsApp error 131047: Re-engagement message"), "{e2}");

    // The template message goes out as Meta's template type.
    let q = "mutation($t: ID!) { sendWhatsappTemplate(ticketId: $t) { id body deliveryStatus } }";
    let tpl = ok(&ws.agent, q, json!({ "t": id })).await;
    assert!(tpl["sendWhatsappTemplate"]["body"].as_str().unwrap().contains("hello_world"));
    let sent = nth_sent(&from, 6).await;
    assert_eq!(sent.body["type"], "template");
    assert_eq!(sent.body["template"], json!({ "name": "hello_world", "language": { "code": "en_US" } }));
}

#[tokio::test]
async fn graph_api_errors_are_shown_on_the_entry() {
    let ws = workspace().await;
    // A chat ticket for a contact whose number Meta cannot deliver to (even the bot answers fail).
    let number = create_ticket(&ws, UNREACHABLE, "Callback please", "Call me back.", sent_to(UNREACHABLE).len()).await;
    let id = ticket(&ws, &number).await["id"].as_str().unwrap().to_string();
    let q = "mutation($t: ID!, $b: String!) { reply(ticketId: $t, body: $b) { id } }";
    let entry = ok(&ws.agent, q, json!({ "t": id, "b": "We tried to reach you." })).await["reply"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let t = ticket_until(&ws, &number, "reply failed", |t| {
        t["entries"].as_array().unwrap().iter().any(|e| e["id"] == entry.as_str() && e["deliveryStatus"] == "failed")
    })
    .await;
    let e = t["entries"].as_array().unwrap().iter().find(|e| e["id"] == entry.as_str()).unwrap().clone();
    assert_eq!(
        e["deliveryError"],
        "WhatsApp error 131026 (subcode 2494010): (#131026) Message Undeliverable: the recipient is not a WhatsApp user"
    );
}

#[tokio::test]
async fn several_entries_and_messages_all_processed_and_redelivery_changes_nothing() {
    let ws = workspace().await;
    let (a, b) = (format!("{}05", ws.wa), format!("{}06", ws.wa));
    let ta = create_ticket(&ws, &a, "Broken screen", "Cracked after a fall.", 0).await;
    let tb = create_ticket(&ws, &b, "Lost parcel", "Tracking stopped on Monday.", 0).await;
    let image = json!({ "contacts": contacts(&a), "messages": [
        { "from": a, "id": wamid(), "timestamp": "1700000300", "type": "text", "text": { "body": "Photo follows." } },
        { "from": a, "id": wamid(), "timestamp": "1700000301", "type": "image",
          "image": { "caption": "The screen", "mime_type": "image/jpeg", "sha256": "abc", "id": "media1001" } },
        { "from": a, "id": wamid(), "timestamp": "1700000302", "type": "sticker",
          "sticker": { "mime_type": "image/webp", "sha256": "def", "id": "media1002", "animated": false } } ] });
    let doc = json!({ "contacts": contacts(&b), "messages": [
        { "from": b, "id": wamid(), "timestamp": "1700000303", "type": "document",
          "document": { "filename": "receipt.pdf", "mime_type": "application/pdf", "sha256": "ghi", "id": "media1003" } },
        { "from": b, "id": wamid(), "timestamp": "1700000304", "type": "unsupported",
          "errors": [{ "code": 131051, "title": "Message type unknown" }] } ] });
    let body = notification(vec![(ws.pn.clone(), image), (ws.pn.clone(), doc)]);
    assert_eq!(post(&body).await, 200);

    let t = ticket_until(&ws, &ta, "all of a's messages", |t| t["entries"].as_array().unwrap().len() == 4).await;
    let e = t["entries"].as_array().unwrap();
    assert_eq!(e[1]["body"], "Photo follows.");
    assert_eq!(e[2]["body"], "The screen");
    assert_eq!(e[2]["attachments"][0]["fileName"], "image-media1001.jpeg");
    assert_eq!(e[3]["kind"], "SYSTEM");
    assert!(e[3]["body"].as_str().unwrap().contains("\"sticker\""), "{t}");
    let t = ticket_until(&ws, &tb, "all of b's messages", |t| t["entries"].as_array().unwrap().len() == 3).await;
    let e = t["entries"].as_array().unwrap();
    assert_eq!(e[1]["attachments"][0]["fileName"], "receipt.pdf");
    assert_eq!(e[2]["kind"], "SYSTEM");
    assert!(e[2]["body"].as_str().unwrap().contains("\"unsupported\""));

    // Meta redelivers the same notification: nothing changes, no bot message is sent twice.
    let before = (ticket(&ws, &ta).await, ticket(&ws, &tb).await, sent_to(&a).len(), sent_to(&b).len());
    assert_eq!(post(&body).await, 200);
    let redelivered_skill = notification(vec![(ws.pn.clone(), text_value(&a, "wamid.REPEAT-new", "new"))]);
    assert_eq!(post(&redelivered_skill).await, 200);
    nth_sent(&a, before.2 + 1).await;
    assert_eq!(post(&redelivered_skill).await, 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(ticket(&ws, &ta).await, before.0);
    assert_eq!(ticket(&ws, &tb).await, before.1);
    assert_eq!(sent_to(&a).len(), before.2 + 1, "the repeated \"new\" was answered twice");
    assert_eq!(sent_to(&b).len(), before.3);
}

#[tokio::test]
async fn bad_signature_is_refused_and_changes_nothing() {
    let ws = workspace().await;
    let from = format!("{}07", ws.wa);
    let body = notification(vec![(ws.pn.clone(), text_value(&from, &wamid(), "hi"))]).to_string();
    assert_eq!(post_signed(&body, None).await, 401);
    assert_eq!(post_signed(&body, Some("sha256=00")).await, 401);
    let mut other = Hmac::<Sha256>::new_from_slice(b"not-the-app-secret").unwrap();
    other.update(body.as_bytes());
    let forged = format!("sha256={}", hex::encode(other.finalize().into_bytes()));
    assert_eq!(post_signed(&body, Some(&forged)).await, 401);
    // Signed for another body.
    assert_eq!(post_signed(&body, Some(&sign(&format!("{body} ")))).await, 401);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sent_to(&from).is_empty(), "a refused notification was processed");
    let c = ok(&ws.agent, "query($s: String) { contacts(search: $s) { id } }", json!({ "s": from })).await;
    assert_eq!(c["contacts"], json!([]));
    // The correctly signed one is taken.
    assert_eq!(post_signed(&body, Some(&sign(&body))).await, 200);
    nth_sent(&from, 1).await;
}

#[tokio::test]
async fn unknown_phone_number_is_skipped_without_failing_the_webhook() {
    let ws = workspace().await;
    let from = format!("{}08", ws.wa);
    let body = notification(vec![
        ("99999999999999".into(), text_value(&from, &wamid(), "hi")),
        (ws.pn.clone(), text_value(&from, &wamid(), "hi")),
    ]);
    assert_eq!(post(&body).await, 200);
    // The known number's message is still answered, once.
    nth_sent(&from, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sent_to(&from).len(), 1);
    let _ = ws.admin;
}

#[tokio::test]
async fn a_reply_with_an_attachment_uploads_it_and_sends_it_before_the_text() {
    let ws = workspace().await;
    let from = format!("{}09", ws.wa);
    let number = create_ticket(&ws, &from, "Need the manual", "Please send the PDF.", 0).await;
    let id = ticket(&ws, &number).await["id"].as_str().unwrap().to_string();
    let ops = json!({ "query": "mutation($t: ID!, $f: [Upload!]) { reply(ticketId: $t, body: \"Here it is.\", attachments: $f) { id } }",
                      "variables": { "t": id, "f": [null] } });
    let form = reqwest::multipart::Form::new()
        .text("operations", ops.to_string())
        .text("map", json!({ "0": ["variables.f.0"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 manual".to_vec())
                .file_name("manual.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let resp = crate::support::client()
        .post(format!("{}/graphql", server().url))
        .bearer_auth(&ws.agent)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    let text = nth_sent(&from, 5).await;
    let document = nth_sent(&from, 4).await;
    assert_eq!(text.body["text"]["body"], "Here it is.");
    assert_eq!(document.body["type"], "document");
    assert_eq!(document.body["document"]["filename"], "manual.pdf");
    let media_id = document.body["document"]["id"].as_str().unwrap().to_string();
    let calls = server().graph.calls.lock().unwrap().clone();
    let upload = calls
        .iter()
        .find(|c| c.path == format!("/{}/media", ws.pn) && c.body["raw"].as_str().unwrap().contains("%PDF-1.4 manual"))
        .expect("the file was uploaded");
    assert_eq!(upload.bearer, format!("token-{}", ws.pn));
    assert!(upload.body["raw"].as_str().unwrap().contains("filename=\"manual.pdf\""));
    assert!(media_id.starts_with("uploaded-"), "{media_id}");
}
