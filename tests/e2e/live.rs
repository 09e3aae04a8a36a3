//! Live ticket events over the GraphQL WebSocket (graphql-transport-ws).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;

pub(crate) type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribe(token: &str) -> Ws {
    subscribe_at(&server().url, token).await
}

/// Subscribes to `ticketEvents` on the server at `server_url` and reads the opening resync.
pub(crate) async fn subscribe_at(server_url: &str, token: &str) -> Ws {
    let url = format!("{}/graphql/ws", server_url.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket");
    ws.send(Message::text(json!({ "type": "connection_init", "payload": { "token": token } }).to_string()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "connection_ack");
    let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { ticketEvents { kind ticketId ticketNumber entryId } }" } });
    ws.send(Message::text(sub.to_string())).await.unwrap();
    // Every subscription opens with a resync: from it on, nothing committed is missed.
    let first = next_json(&mut ws).await.expect("the opening resync");
    assert_eq!(
        first["payload"]["data"]["ticketEvents"],
        json!({ "kind": "resync", "ticketId": null, "ticketNumber": null, "entryId": null })
    );
    ws
}

pub(crate) async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(2), ws.next()).await {
            Err(_) | Ok(None) => return None,
            Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => panic!("websocket error: {e}"),
        }
    }
}

/// Collects events until the stream is quiet.
async fn drain(ws: &mut Ws) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(m) = next_json(ws).await {
        if m["type"] == "next" {
            out.push(m["payload"]["data"]["ticketEvents"].clone());
        }
    }
    out
}

#[tokio::test]
async fn staff_see_changes_live_and_customers_only_their_public_ones() {
    let ws = workspace().await;
    let outsider = workspace().await;
    let mut agent = subscribe(&ws.agent).await;
    let mut customer = subscribe(&ws.customer).await;
    let mut other = subscribe(&outsider.admin).await;

    let t = open_ticket(&ws, "Live: VPN drops").await;
    let id = t["id"].as_str().unwrap();
    ok(&ws.agent, "mutation($t: ID!) { addNote(ticketId: $t, body: \"secret note\") { id } }", json!({ "t": id }))
        .await;
    ok(&ws.agent, "mutation($t: ID!) { reply(ticketId: $t, body: \"Try the new client\") { id } }", json!({ "t": id }))
        .await;

    let kinds = |events: &[Value]| events.iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let agent_events = drain(&mut agent).await;
    assert_eq!(
        kinds(&agent_events),
        ["ticket.opened", "entry.created", "entry.created", "ticket.updated"],
        "{agent_events:?}"
    );
    assert!(agent_events.iter().all(|e| e["ticketId"] == id));
    let customer_events = drain(&mut customer).await;
    assert_eq!(
        kinds(&customer_events),
        ["ticket.opened", "entry.created", "ticket.updated"],
        "no internal note: {customer_events:?}"
    );
    assert!(drain(&mut other).await.is_empty(), "another workspace hears nothing");
}

#[tokio::test]
async fn a_bad_token_cannot_subscribe() {
    let url = format!("{}/graphql/ws", server().url.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket");
    ws.send(Message::text(json!({ "type": "connection_init", "payload": { "token": "forged" } }).to_string()))
        .await
        .unwrap();
    // Never acknowledged; the server closes the socket, saying why.
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("an answer");
    match reply {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert!(frame.reason.contains("invalid or expired token"), "{frame:?}")
        }
        other => panic!("expected the socket to close, got {other:?}"),
    }
}

#[tokio::test]
async fn a_subscription_ends_once_its_session_is_signed_out() {
    let ws = workspace().await;
    let mut live = subscribe(&ws.agent2).await;
    let t = open_ticket(&ws, "Live: before signing out").await;
    let seen = drain(&mut live).await;
    assert!(seen.iter().any(|e| e["ticketId"] == t["id"]), "{seen:?}");

    assert_eq!(ok(&ws.agent2, "mutation { signOutEverywhere }", json!({})).await["signOutEverywhere"], true);
    // The session is checked before an event goes out, at most every 2 s.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let after = open_ticket(&ws, "Live: after signing out").await;
    let mut messages = Vec::new();
    while let Some(m) = next_json(&mut live).await {
        messages.push(m);
    }
    assert!(messages.iter().any(|m| m["type"] == "complete"), "the subscription ended: {messages:?}");
    assert!(
        !messages.iter().any(|m| m["payload"]["data"]["ticketEvents"]["ticketId"] == after["id"]),
        "no event after signing out: {messages:?}"
    );
}

#[tokio::test]
async fn an_idle_subscription_ends_once_its_session_is_signed_out() {
    let ws = workspace().await;
    let mut live = subscribe(&ws.supervisor).await;
    assert_eq!(ok(&ws.supervisor, "mutation { signOutEverywhere }", json!({})).await["signOutEverywhere"], true);
    // No event comes; the idle check (every 10 s) ends the subscription anyway.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "the idle subscription was not ended");
        match next_json(&mut live).await {
            Some(m) if m["type"] == "complete" => break,
            Some(m) => assert_ne!(m["type"], "next", "no events after signing out: {m}"),
            None => {}
        }
    }
}
