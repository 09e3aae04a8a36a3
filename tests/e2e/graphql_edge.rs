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

/// Sends `body` to /graphql as raw HTTP, chunked (no Content-Length) when `chunked`, writing
/// while it reads: the server may answer before the body is done. Returns the status line and
/// the response's body.
async fn raw_post(token: Option<&str>, body: Vec<u8>, chunked: bool) -> (String, String) {
    raw_post_as("application/json", token, body, chunked).await
}

/// [`raw_post`] with another Content-Type.
async fn raw_post_as(content_type: &str, token: Option<&str>, body: Vec<u8>, chunked: bool) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server().url.trim_start_matches("http://").to_string();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut rx, mut tx) = tcp.into_split();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let length = if chunked {
        "Transfer-Encoding: chunked\r\n".to_string()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    let head = format!("POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n{auth}{length}\r\n");
    let writer = tokio::spawn(async move {
        tx.write_all(head.as_bytes()).await?;
        for chunk in body.chunks(64 * 1024) {
            if chunked {
                tx.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
                tx.write_all(chunk).await?;
                tx.write_all(b"\r\n").await?;
            } else {
                tx.write_all(chunk).await?;
            }
        }
        if chunked {
            tx.write_all(b"0\r\n\r\n").await?;
        }
        Ok::<_, std::io::Error>(tx)
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    // The answer's end: a JSON error or GraphQL response closes with `}`.
    while !(answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}")) {
        let read = tokio::time::timeout(Duration::from_secs(20), rx.read(&mut buf)).await.expect("an answer in time");
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    writer.abort();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no answer: {answer:.300}"));
    (head.to_string(), body.to_string())
}

/// A request whose variables hold `n` zeros: the shape that grew the server to gigabytes.
fn zeros(n: usize) -> Vec<u8> {
    format!("{{\"query\": \"{{ __typename }}\", \"variables\": {{\"a\": [{}0]}}}}", "0,".repeat(n)).into_bytes()
}

#[tokio::test]
async fn oversized_requests_are_refused_before_they_are_parsed() {
    let ws = workspace().await;
    let too_large = |head: &str, body: &str, limit: &str| {
        assert!(head.starts_with("HTTP/1.1 413"), "{head}\n{body:.300}");
        let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:.300}"));
        assert_eq!(code(&body), "PAYLOAD_TOO_LARGE", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(limit), "the message names the limit ({limit}): {message}");
        // Made inside the router: the security headers are there.
        let head = head.to_ascii_lowercase();
        assert!(head.contains("x-frame-options: deny") && head.contains("content-security-policy"), "{head}");
    };

    // Without a sign-in: 32 KiB, whether the length is announced or not.
    let (head, body) = raw_post(None, zeros(50_000), false).await;
    too_large(&head, &body, "32768");
    assert!(body.contains("without signing in"), "{body}");
    let (head, body) = raw_post(None, zeros(50_000), true).await;
    too_large(&head, &body, "32768");
    // Within the bytes, too many values.
    let (head, body) = raw_post(None, zeros(5_000), false).await;
    too_large(&head, &body, "1000 JSON values");

    // Signed in: 1 MiB, 20,000 values, 32 levels.
    let (head, body) = raw_post(Some(&ws.agent), zeros(600_000), true).await;
    too_large(&head, &body, "1048576");
    let (head, body) = raw_post(Some(&ws.agent), zeros(30_000), false).await;
    too_large(&head, &body, "20000 JSON values");
    let deep =
        format!("{{\"query\": \"{{ __typename }}\", \"variables\": {{\"a\": {}0{}}}}}", "[".repeat(40), "]".repeat(40));
    let (head, body) = raw_post(Some(&ws.agent), deep.into_bytes(), false).await;
    too_large(&head, &body, "32 levels");
    // A batch is refused unparsed.
    let batch = format!("[{}]", String::from_utf8(zeros(100)).unwrap());
    let (head, body) = raw_post(None, batch.into_bytes(), false).await;
    assert!(head.starts_with("HTTP/1.1 400") && body.contains("BATCH_NOT_SUPPORTED"), "{head}\n{body}");

    // An upload's operations part is held to the same budget; its files are not.
    let ticket = open_ticket(&ws, "Uploads keep their own limits").await;
    let upload = |operations: String, file: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("operations", operations)
            .text("map", r#"{"0": ["variables.files.0"]}"#)
            .part("0", reqwest::multipart::Part::bytes(file).file_name("log.txt").mime_str("text/plain").unwrap());
        client().post(url()).bearer_auth(&ws.agent).multipart(form).send()
    };
    let reply =
        "mutation($t: ID!, $files: [Upload!]) { reply(ticketId: $t, body: \"attached\", attachments: $files) { id } }";
    // (Written by hand: the server answers before the body is done, which reqwest reports as a
    // broken pipe rather than the answer.)
    let padded =
        json!({ "query": reply, "variables": { "t": ticket["id"], "files": [null], "pad": "p".repeat(2 << 20) } });
    let multipart = format!(
        "--x\r\ncontent-disposition: form-data; name=\"operations\"\r\n\r\n{padded}\r\n\
         --x\r\ncontent-disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.files.0\"]}}\r\n\
         --x\r\ncontent-disposition: form-data; name=\"0\"; filename=\"log.txt\"\r\n\r\nsmall\r\n--x--\r\n"
    );
    let (head, body) =
        raw_post_as("multipart/form-data; boundary=x", Some(&ws.agent), multipart.into_bytes(), false).await;
    too_large(&head, &body, "operations");
    let operations = json!({ "query": reply, "variables": { "t": ticket["id"], "files": [null] } });
    let r = upload(operations.to_string(), vec![b'a'; 3 << 20]).await.unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(body["data"]["reply"]["id"].is_string(), "a 3 MiB attachment still goes through: {body:.500}");
    // A bad token is refused before the body is read.
    let r = client()
        .post(url())
        .bearer_auth("not-a-token")
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(code(&r.json().await.unwrap()), "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_largest_requests_the_web_ui_sends_still_fit() {
    let ws = workspace().await;
    let admin = &ws.admin;
    // Text at its length limit, made of what JSON escapes (quotes, backslashes, newlines) and
    // of characters four bytes long.
    let heavy = |chars: usize| -> String {
        let unit = "\"\\\n\t😀";
        unit.chars().cycle().take(chars).collect()
    };
    let saved = gql(
        Some(admin),
        "mutation($i: CannedResponseInput!) { saveCannedResponse(input: $i) { id } }",
        json!({ "i": { "title": "Long", "body": heavy(10_000) } }),
    )
    .await;
    assert!(saved["data"]["saveCannedResponse"]["id"].is_string(), "{saved:.500}");

    let ticket = open_ticket(&ws, "A long reply").await;
    let reply = gql(
        Some(&ws.agent),
        "mutation($t: ID!, $b: String!) { reply(ticketId: $t, body: $b) { id } }",
        json!({ "t": ticket["id"], "b": heavy(20_000) }),
    )
    .await;
    assert!(reply["data"]["reply"]["id"].is_string(), "{reply:.500}");

    // 25 automation rules of 10 notifications of 500 characters, a JSON text sent inside a JSON
    // string as the admin page does (pretty-printed): quotes are escaped twice.
    let rules: Vec<Value> = (0..25)
        .map(|i| {
            json!({
                "id": format!("rule-{i}"), "enabled": true, "name": "n".repeat(80), "trigger": "ticket_opened",
                "actions": (0..10).map(|_| json!({ "type": "notify", "message": "\"".repeat(500) })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let text = serde_json::to_string_pretty(&rules).unwrap();
    let request = json!({
        "query": "mutation($r: String!) { saveAutomationRules(rules: $r, dropInvalid: true) { saved } }",
        "variables": { "r": text },
    });
    assert!(request.to_string().len() > 500_000, "{} bytes", request.to_string().len());
    let r = client().post(url()).bearer_auth(admin).json(&request).send().await.unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert!(status == 200 && body["data"]["saveAutomationRules"].is_object(), "{status}: {body:.500}");

    // A bulk update of the most tickets it takes.
    let ids: Vec<String> = (1..=100).map(|n| n.to_string()).collect();
    let bulk = gql(
        Some(&ws.agent),
        "mutation($ids: [ID!]!) { bulkUpdateTickets(ticketIds: $ids, input: { priority: HIGH }) { ticketId } }",
        json!({ "ids": ids }),
    )
    .await;
    assert_eq!(bulk["data"]["bulkUpdateTickets"].as_array().map(Vec::len), Some(100), "{bulk:.500}");
}
