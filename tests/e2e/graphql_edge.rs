//! The GraphQL edge against hostile input: query bombs, cross-site requests, malformed bodies,
//! and foreign pages on the WebSocket. Every refusal is JSON with `extensions.code`.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;

fn url() -> String {
    format!("{}/graphql", server().url)
}

/// Sends `body` to /graphql with `content_type` (and a bearer token when given); returns the
/// status and the JSON body, failing when the answer is not JSON with a coded error or data.
async fn post(content_type: Option<&str>, token: Option<&str>, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let mut req = client().post(url()).body(body).timeout(Duration::from_secs(20));
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("an answer in time");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text:.300}")))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no extensions.code in {body:.500}"))
}

/// Fragments that each spread the previous one twice: 2^levels selections from a tiny document.
fn fragment_bomb(levels: usize) -> String {
    let mut doc = format!("query {{ ...F{levels} }}\nfragment F1 on Query {{ __typename }}\n");
    for i in 2..=levels {
        doc += &format!("fragment F{i} on Query {{ ...F{p} ...F{p} }}\n", p = i - 1);
    }
    doc
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_at_once_and_the_server_keeps_serving() {
    let ws = workspace().await;
    for levels in [20, 30] {
        for token in [None, Some(ws.agent.as_str())] {
            let started = Instant::now();
            let (status, body) =
                post(Some("application/json"), token, json!({ "query": fragment_bomb(levels) }).to_string()).await;
            assert_eq!((status, code(&body)), (200, "QUERY_TOO_LARGE"), "{body:.500}");
            assert!(body["data"].is_null(), "{body:.300}");
            assert!(started.elapsed() < Duration::from_secs(2), "{levels} levels took {:?}", started.elapsed());
        }
    }
    // Many at once change nothing for others.
    let bombs: Vec<_> = (0..8)
        .map(|_| tokio::spawn(post(Some("application/json"), None, json!({ "query": fragment_bomb(30) }).to_string())))
        .collect();
    let started = Instant::now();
    assert_eq!(ok(&ws.agent, "{ me { name } }", json!({})).await["me"]["name"], "Alex Agent");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    for b in bombs {
        assert_eq!(code(&b.await.unwrap().1), "QUERY_TOO_LARGE");
    }
}

#[tokio::test]
async fn anonymous_requests_have_a_smaller_budget() {
    let ws = workspace().await;
    let page = "{ tickets(first: 100) { nodes { id number subject status priority updatedAt } } }";
    let (status, body) = post(Some("application/json"), None, json!({ "query": page }).to_string()).await;
    assert_eq!((status, code(&body)), (200, "QUERY_TOO_LARGE"), "{body}");
    ok(&ws.agent, page, json!({})).await;
}

#[tokio::test]
async fn cross_site_shaped_posts_are_refused_before_they_run() {
    let ws = workspace().await;
    let attempt = json!({
        "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        "variables": { "e": ws.email("agent"), "p": PASSWORD },
    })
    .to_string();
    // What a form or fetch() on another site can send without a preflight.
    for ct in [Some("text/plain"), Some("text/plain;charset=UTF-8"), Some("application/x-www-form-urlencoded"), None] {
        let (status, body) = post(ct, None, attempt.clone()).await;
        assert_eq!((status, code(&body)), (415, "UNSUPPORTED_MEDIA_TYPE"), "{ct:?}: {body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("application/json"), "{body}");
    }
    let (status, body) = post(Some("multipart/form-data; boundary=x"), None, "--x--\r\n").await;
    assert_eq!((status, code(&body)), (403, "UPLOAD_NEEDS_AUTHORIZATION"), "{body}");
    // The same request as JSON signs in, so the refusals above were about the form only.
    let (status, body) = post(Some("application/json; charset=utf-8"), None, attempt).await;
    assert!(status == 200 && body["data"]["login"]["token"].is_string(), "{status}: {body}");

    // No operation runs over GET, with or without GraphiQL.
    let q = "mutation { logout }";
    let r = client().get(url()).query(&[("query", q)]).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(code(&r.json().await.unwrap()), "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn malformed_bodies_batches_and_uploads_get_coded_json_errors() {
    let ws = workspace().await;
    for body in ["{not json", "", "{\"query\": 42}", "{\"query\": \"{ __typename }\", \"variables\": [1]}"] {
        let (status, answer) = post(Some("application/json"), None, body).await;
        assert_eq!((status, code(&answer)), (400, "BAD_REQUEST"), "{body:?}: {answer}");
        let message = answer["errors"][0]["message"].as_str().unwrap();
        assert!(!message.contains("InvalidRequest("), "a Rust debug string: {message}");
    }
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]).to_string();
    let (status, answer) = post(Some("application/json"), None, batch).await;
    assert_eq!((status, code(&answer)), (400, "BATCH_NOT_SUPPORTED"), "{answer}");

    // An upload without its map, and one that is not multipart at all inside.
    let broken =
        "--x\r\ncontent-disposition: form-data; name=\"operations\"\r\n\r\n{\"query\":\"{ __typename }\"}\r\n--x--\r\n";
    let (status, answer) = post(Some("multipart/form-data; boundary=x"), Some(&ws.agent), broken).await;
    assert_eq!((status, code(&answer)), (400, "BAD_REQUEST"), "{answer}");
    let (status, answer) = post(Some("multipart/form-data; boundary=x"), Some(&ws.agent), "garbage").await;
    assert_eq!((status, code(&answer)), (400, "BAD_REQUEST"), "{answer}");

    // A body larger than the limit is refused from its Content-Length, as JSON too.
    let addr = server().url.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        31 * 1024 * 1024
    );
    tokio::io::AsyncWriteExt::write_all(&mut tcp, head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&answer).contains("}]}") {
        let read = tokio::io::AsyncReadExt::read(&mut tcp, &mut buf);
        match tokio::time::timeout(Duration::from_secs(5), read).await.expect("an answer in time").unwrap() {
            0 => break,
            n => answer.extend_from_slice(&buf[..n]),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"PAYLOAD_TOO_LARGE\""), "{answer}");

    // A syntax error on a long line does not send the line back.
    let long = format!("{{ tickets(filter: {{ search: \"{}\" }} {{ nodes {{ id }} }} }}", "y".repeat(50_000));
    let (status, answer) = post(Some("application/json"), Some(&ws.agent), json!({ "query": long }).to_string()).await;
    assert_eq!((status, code(&answer)), (200, "BAD_REQUEST"), "{answer:.300}");
    assert!(answer.to_string().len() < 1_000, "{} bytes back: {answer:.300}", answer.to_string().len());
    // A document over the size limit is refused by its length, not parsed.
    let huge = format!("{{ __typename }} # {}", "z".repeat(1_000_000));
    let (status, answer) = post(Some("application/json"), Some(&ws.agent), json!({ "query": huge }).to_string()).await;
    assert_eq!((status, code(&answer)), (200, "QUERY_TOO_LARGE"), "{answer:.300}");
    assert!(answer.to_string().len() < 1_000);
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_socket(origin: Option<&str>) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("{}/graphql/ws", server().url.replace("http://", "ws://")).into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.map(|(ws, _)| ws)
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a message in time") {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(Message::Close(c))) => return json!({ "type": "close", "reason": c.map(|c| c.reason.to_string()) }),
            Some(Ok(_)) => continue,
            other => panic!("websocket ended: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_websocket_refuses_foreign_pages_and_codes_its_errors() {
    let ws = workspace().await;
    match open_socket(Some("https://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403);
            let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).unwrap();
            assert_eq!(code(&body), "FORBIDDEN_ORIGIN");
        }
        other => panic!("a foreign page opened the socket: {:?}", other.map(|_| ())),
    }
    // The server's own page, and clients that are not browsers (no Origin), are let in.
    let mut socket = open_socket(Some(&server().url)).await.expect("same origin");
    drop(open_socket(None).await.expect("no Origin"));

    socket
        .send(Message::text(json!({ "type": "connection_init", "payload": { "token": ws.agent } }).to_string()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    let bad = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { nope }" } });
    socket.send(Message::text(bad.to_string())).await.unwrap();
    let answer = next_json(&mut socket).await;
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(code(&answer["payload"]), "BAD_REQUEST", "{answer}");
    let bomb = json!({ "id": "2", "type": "subscribe", "payload": { "query": fragment_bomb(30) } });
    socket.send(Message::text(bomb.to_string())).await.unwrap();
    let answer = loop {
        let m = next_json(&mut socket).await;
        if m["id"] == "2" {
            break m;
        }
    };
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(code(&answer["payload"]), "QUERY_TOO_LARGE", "{answer}");
}
