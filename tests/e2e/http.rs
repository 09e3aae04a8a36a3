//! The HTTP edge: probes, malformed requests, limits.

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

#[tokio::test]
async fn probes_answer() {
    let c = client();
    let health = c.get(format!("{}/healthz", server().url)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = c.get(format!("{}/readyz", server().url)).send().await.unwrap();
    assert_eq!((ready.status().as_u16(), ready.text().await.unwrap()), (200, "ready".to_string()));
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_and_the_server_stays_up() {
    let c = client();
    let url = format!("{}/graphql", server().url);
    for body in ["{not json", "", "[]", "{\"query\": 42}"] {
        let r = c.post(&url).header("content-type", "application/json").body(body).send().await.unwrap();
        assert!(r.status().is_client_error() || r.status() == 200, "{body:?} -> {}", r.status());
        let text = r.text().await.unwrap();
        assert!(!text.contains("panicked"), "{text}");
    }
    let syntax = gql(None, "{ tickets { ", json!({})).await;
    assert_error(&syntax, "BAD_REQUEST", None);
    let unknown = gql(None, "{ nope }", json!({})).await;
    assert_error(&unknown, "BAD_REQUEST", None);

    let ws = workspace().await;
    // Deeper than the limit: refused before it runs.
    ok(&ws.agent, "{ me { workspace { slug } } }", json!({})).await;
    let nested = "{ tickets { nodes { entries { attachments { id } } history { id } queue { id } } } }";
    ok(&ws.agent, nested, json!({})).await;
    let too_deep = format!(
        "{{ __schema {{ types {{ {} name {} }} }} }}",
        "fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType {", "} } } } } } } } }"
    );
    assert_error(&gql(Some(&ws.agent), &too_deep, json!({})).await, "BAD_REQUEST", None);
    let huge_page =
        "{ tickets(first: 100) { nodes { entries { body attachments { id fileName url } } history { field } } } }";
    let (code, _, msg) = error_of(&gql(Some(&ws.agent), huge_page, json!({})).await);
    assert_eq!(code, "QUERY_TOO_LARGE", "{msg}");

    // A body over the limit is refused from its headers, before any of it is read.
    let addr = server().url.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        31 * 1024 * 1024
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 64];
    let n = tcp.read(&mut answer).await.unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );

    // GraphiQL is a development tool: off unless asked for.
    assert_eq!(c.get(&url).send().await.unwrap().status(), 404);

    // Still serving.
    assert!(ok(&ws.agent, "{ me { name } }", json!({})).await["me"]["name"] == "Alex Agent");
}
