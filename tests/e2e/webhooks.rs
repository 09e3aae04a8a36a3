//! Signed webhooks end to end: the real server's job runner delivers events to a receiver on
//! 127.0.0.1, which checks each signature with its own HMAC-SHA256; failures are retried, the
//! SSRF guard holds by default, and queued deliveries survive a killed server.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::*;

/// HMAC-SHA256 written out from RFC 2104, independent of the server's `hmac` crate.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner_hash = Sha256::new().chain_update(&inner).chain_update(message).finalize();
    Sha256::new().chain_update(&outer).chain_update(inner_hash).finalize().into()
}

/// Checks a `t=<unix>,v1=<hex>` header the way a receiver following the README would.
fn signature_is_valid(secret: &str, header: &str, body: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_string()),
            Some(("v1", v)) => v1 = Some(v.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    if (now - t.parse::<i64>().unwrap_or(0)).abs() > 300 {
        return false;
    }
    hex::encode(hmac_sha256(secret.as_bytes(), format!("{t}.{body}").as_bytes())) == v1
}

#[derive(Clone, Debug)]
pub(crate) struct Received {
    signature: String,
    pub(crate) event: String,
    pub(crate) body: String,
    pub(crate) answered: u16,
}

/// A webhook receiver on 127.0.0.1 that fails the first `failures` requests with a 500.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    pub(crate) got: Arc<Mutex<Vec<Received>>>,
}

async fn receiver_on(listener: tokio::net::TcpListener, failures: usize) -> Receiver {
    let url = format!("http://{}/hooks/switchboard", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = got.clone();
    let handler = move |headers: HeaderMap, body: String| {
        let log = log.clone();
        async move {
            let mut log = log.lock().unwrap();
            let status = if log.len() < failures { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
            let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            log.push(Received {
                signature: header("switchboard-signature"),
                event: header("switchboard-event"),
                body,
                answered: status.as_u16(),
            });
            status
        }
    };
    let app = axum::Router::new().route("/hooks/switchboard", axum::routing::post(handler));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, got }
}

pub(crate) async fn receiver(failures: usize) -> Receiver {
    receiver_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(), failures).await
}

impl Receiver {
    /// Waits (polling, up to 30 s) until a request was answered with 200.
    pub(crate) async fn wait_for_success(&self) -> Vec<Received> {
        for _ in 0..300 {
            let got = self.got.lock().unwrap().clone();
            if got.iter().any(|r| r.answered == 200) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no successful delivery within 30 s; got {:?}", self.got.lock().unwrap());
    }
}

const SAVE_WEBHOOK: &str =
    "mutation($i: WebhookInput!) { saveWebhook(input: $i) { webhook { id name url enabled events } secret } }";

pub(crate) async fn save_webhook_at(url: &str, token: &str, receiver: &str, events: Value) -> (String, String) {
    let input = json!({ "name": "CRM", "url": receiver, "enabled": true, "events": events });
    let body = gql_at(url, Some(token), SAVE_WEBHOOK, json!({ "i": input })).await;
    assert!(body.get("errors").is_none(), "saveWebhook failed: {body}");
    let saved = &body["data"]["saveWebhook"];
    (saved["webhook"]["id"].as_str().unwrap().to_string(), saved["secret"].as_str().unwrap().to_string())
}

const DELIVERIES: &str = "{ webhooks { id deliveries { event status attempts responseStatus latencyMs lastError } } }";

#[tokio::test]
async fn events_are_signed_retried_after_failures_and_delivered_once() {
    let ws = workspace().await;
    let rx = receiver(2).await;
    let (hook, secret) = save_webhook_at(&server().url, &ws.admin, &rx.url, json!(["TICKET_OPENED"])).await;
    assert!(secret.starts_with("whsec_"), "a generated secret is shown once: {secret}");
    let t = open_ticket(&ws, "Webhook please").await;

    let got = rx.wait_for_success().await;
    assert_eq!(
        got.iter().map(|r| r.answered).collect::<Vec<_>>(),
        vec![500, 500, 200],
        "two failures, then one success"
    );
    for r in &got {
        assert_eq!(r.event, "ticket.opened");
        assert!(signature_is_valid(&secret, &r.signature, &r.body), "bad signature {} on {}", r.signature, r.body);
        assert!(!signature_is_valid("whsec_wrong", &r.signature, &r.body));
    }
    // Every retry carries the same event: receivers deduplicate on its id.
    let first: Value = serde_json::from_str(&got[0].body).unwrap();
    assert!(got.iter().all(|r| serde_json::from_str::<Value>(&r.body).unwrap()["id"] == first["id"]));
    assert_eq!(first["type"], "ticket.opened");
    assert_eq!(first["data"]["number"], t["number"]);

    // The delivery log shows the outcome.
    let hooks = ok(&ws.admin, DELIVERIES, json!({})).await;
    let log = &hooks["webhooks"].as_array().unwrap().iter().find(|h| h["id"] == hook.as_str()).unwrap()["deliveries"];
    let d = &log[0];
    assert_eq!(
        (d["event"].as_str(), d["status"].as_str(), d["attempts"].as_i64()),
        (Some("ticket.opened"), Some("DELIVERED"), Some(3))
    );
    assert_eq!(d["responseStatus"], 200);
    assert!(d["latencyMs"].as_i64().unwrap() >= 0);

    // Events the endpoint did not subscribe to are not sent; a test event is, whatever the selection.
    let id = t["id"].as_str().unwrap();
    let close = "mutation($id: ID!) { closeTicket(ticketId: $id, reason: RESOLVED) { status } }";
    ok(&ws.agent, close, json!({ "id": id })).await;
    ok(&ws.admin, "mutation($id: ID!) { sendTestWebhook(id: $id) }", json!({ "id": hook })).await;
    for _ in 0..300 {
        if rx.got.lock().unwrap().len() > 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let events: Vec<String> = rx.got.lock().unwrap()[3..].iter().map(|r| r.event.clone()).collect();
    assert_eq!(events, vec!["webhook.test".to_string()]);
}

#[tokio::test]
async fn the_ssrf_guard_refuses_private_addresses_unless_the_operator_allows_them() {
    // A server on its defaults: no private addresses.
    let tmp = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_switchboard"));
    let server = switchboard_testkit::ServerProcess::start_with(
        bin,
        &tmp.path().join("data"),
        None,
        &[("SWITCHBOARD_JOBS", "false")],
    )
    .unwrap();
    let slug = format!("ssrf-{}", std::process::id());
    let seed = write_seed(tmp.path(), &slug, 0);
    server.cli(&["seed", "--file", seed.to_str().unwrap()], &[]).unwrap();
    let admin = login_at(&server.url, &format!("admin@{slug}.test")).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://localhost/x",
        "http://0x7f.1/",
    ] {
        let input = json!({ "name": "Internal", "url": url, "enabled": true, "events": ["TICKET_OPENED"] });
        let body = gql_at(&server.url, Some(&admin), SAVE_WEBHOOK, json!({ "i": input })).await;
        assert_error(&body, "VALIDATION", Some("url"));
    }
    let input = json!({ "name": "Files", "url": "file:///etc/passwd", "enabled": true, "events": ["TICKET_OPENED"] });
    assert_error(
        &gql_at(&server.url, Some(&admin), SAVE_WEBHOOK, json!({ "i": input })).await,
        "VALIDATION",
        Some("url"),
    );
    // A public address is fine (nothing is sent until an event happens).
    let input = json!({ "name": "Public", "url": "https://hooks.example.com/in", "enabled": true, "events": ["TICKET_OPENED"] });
    let body = gql_at(&server.url, Some(&admin), SAVE_WEBHOOK, json!({ "i": input })).await;
    assert!(body.get("errors").is_none(), "{body}");
}

pub(crate) async fn login_at(url: &str, email: &str) -> String {
    let q = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    let d = gql_at(url, None, q, json!({ "e": email, "p": PASSWORD })).await;
    d["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("login {email}: {d}")).to_string()
}

#[tokio::test]
async fn queued_deliveries_survive_a_killed_server() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let bin = Path::new(env!("CARGO_BIN_EXE_switchboard"));
    // The receiver's port is reserved, then left closed: every attempt before the crash fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let settings = [("SWITCHBOARD_OUTBOUND_ALLOW", "127.0.0.1"), ("SWITCHBOARD_WEBHOOK_RETRY_BASE_MS", "3000")];
    let mut first = switchboard_testkit::ServerProcess::start_with(bin, &data, None, &settings).unwrap();
    let slug = format!("restart-{}", std::process::id());
    let seed = write_seed(tmp.path(), &slug, 0);
    first.cli(&["seed", "--file", seed.to_str().unwrap()], &[]).unwrap();
    let admin = login_at(&first.url, &format!("admin@{slug}.test")).await;
    let hook_url = format!("http://127.0.0.1:{port}/hooks/switchboard");
    let (_, secret) = save_webhook_at(&first.url, &admin, &hook_url, json!(["TICKET_OPENED"])).await;
    let open = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { number } }";
    let input = json!({ "subject": "Survives a crash", "requester": { "email": format!("customer@{slug}.test") } });
    let opened = gql_at(&first.url, Some(&admin), open, json!({ "i": input })).await;
    let number = opened["data"]["openTicket"]["number"].as_str().unwrap().to_string();

    // Wait for the first failed attempt, then kill the server with the retry queued.
    let mut attempts = 0;
    for _ in 0..100 {
        let body = gql_at(&first.url, Some(&admin), DELIVERIES, json!({})).await;
        attempts = body["data"]["webhooks"][0]["deliveries"][0]["attempts"].as_i64().unwrap_or(0);
        if attempts >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(attempts, 1, "the first attempt failed before the crash");
    first.kill();

    let rx = receiver_on(tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap(), 0).await;
    let second = switchboard_testkit::ServerProcess::start_with(bin, &data, None, &settings).unwrap();
    let got = rx.wait_for_success().await;
    assert_eq!(got.len(), 1);
    assert!(signature_is_valid(&secret, &got[0].signature, &got[0].body));
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["data"]["number"], number.as_str());
    let log = gql_at(&second.url, Some(&admin), DELIVERIES, json!({})).await;
    let d = &log["data"]["webhooks"][0]["deliveries"][0];
    assert_eq!((d["status"].as_str(), d["attempts"].as_i64()), (Some("DELIVERED"), Some(2)));
}
