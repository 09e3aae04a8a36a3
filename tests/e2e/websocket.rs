//! The GraphQL WebSocket against hostile and careless clients: oversized messages (lower limits
//! before `connection_init`), malformed messages, bad tokens and requests that are not upgrades
//! all end in a coded answer. Raw frames are written by hand where a test must control exactly
//! what the server has received.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;

/// Opens /graphql/ws by hand over TCP, so the test writes exactly the frames it means.
pub async fn raw_socket(addr: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "GET /graphql/ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_exact(&mut byte)).await;
        read.expect("an answer to the upgrade in time").unwrap();
        answer.push(byte[0]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    tcp
}

/// The header of a client frame (masked, with a zero mask key: the payload goes as is) announcing
/// `len` bytes.
pub fn frame_header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    let mut f = vec![if fin { 0x80 } else { 0 } | opcode];
    match len {
        0..=125 => f.push(0x80 | len as u8),
        126..=0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            f.push(0x80 | 127);
            f.extend_from_slice(&len.to_be_bytes());
        }
    }
    f.extend_from_slice(&[0, 0, 0, 0]);
    f
}

/// A whole text frame from the client.
pub fn text_frame(text: &str) -> Vec<u8> {
    let mut f = frame_header(true, 1, text.len() as u64);
    f.extend_from_slice(text.as_bytes());
    f
}

/// What the server sent on a raw socket until it closed: its text messages, whether it pinged,
/// and its close frame's code and reason (`None` when the connection ended without one, or
/// `limit` passed: then `timed_out`).
#[derive(Debug, Default)]
pub struct Heard {
    pub texts: Vec<String>,
    pub pinged: bool,
    pub close: Option<(u16, String)>,
    pub timed_out: bool,
}

/// Reads server frames from `tcp` until a close frame, the end of the connection, or `limit`.
/// Stops early, without a close, once a text message contains `until` when one is given.
pub async fn listen<R: tokio::io::AsyncRead + Unpin>(tcp: &mut R, limit: Duration, until: Option<&str>) -> Heard {
    let mut heard = Heard::default();
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = Vec::new();
    loop {
        // A server frame: no mask, length in 7, 16 or 64 bits.
        while buf.len() >= 2 {
            let (len, at) = match buf[1] & 0x7f {
                126 if buf.len() >= 4 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
                127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().unwrap()), 10),
                126 | 127 => break,
                n => (u64::from(n), 2),
            };
            let end = at + len as usize;
            if buf.len() < end {
                break;
            }
            let (opcode, payload) = (buf[0] & 0x0f, buf[at..end].to_vec());
            buf.drain(..end);
            match opcode {
                1 => {
                    let text = String::from_utf8_lossy(&payload).into_owned();
                    let done = until.is_some_and(|u| text.contains(u));
                    heard.texts.push(text);
                    if done {
                        return heard;
                    }
                }
                8 => {
                    let code = if payload.len() >= 2 { u16::from_be_bytes([payload[0], payload[1]]) } else { 1005 };
                    let reason = String::from_utf8_lossy(payload.get(2..).unwrap_or_default()).into_owned();
                    heard.close = Some((code, reason));
                    return heard;
                }
                9 => heard.pinged = true,
                _ => {}
            }
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, tcp.read(&mut chunk)).await {
            Err(_) => {
                heard.timed_out = true;
                return heard;
            }
            Ok(Ok(0)) | Ok(Err(_)) => return heard,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn addr() -> String {
    server().url.trim_start_matches("http://").to_string()
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open() -> Ws {
    let mut req = format!("{}/graphql/ws", server().url.replace("http://", "ws://")).into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// The next text message as JSON, or the close frame as `{"close": code, "reason": ...}`.
async fn next(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a message in time") {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(Message::Close(c))) => {
                let c = c.expect("a close frame with a code");
                return json!({ "close": u16::from(c.code), "reason": c.reason.as_str() });
            }
            Some(Ok(_)) => continue,
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    }
}

async fn send(ws: &mut Ws, message: Value) {
    ws.send(Message::text(message.to_string())).await.unwrap();
}

fn assert_closed(answer: &Value, code: u16, wire_code: &str) {
    assert_eq!(answer["close"], code, "{answer}");
    let reason = answer["reason"].as_str().unwrap();
    assert!(reason.starts_with(&format!("{wire_code}: ")), "the reason names {wire_code}: {answer}");
}

#[tokio::test]
async fn connection_errors_are_coded_close_frames() {
    let ws = workspace().await;

    let mut socket = open().await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "token": "not-a-token" } })).await;
    assert_closed(&next(&mut socket).await, 4401, "UNAUTHENTICATED");

    let mut socket = open().await;
    socket.send(Message::text("{not json")).await.unwrap();
    assert_closed(&next(&mut socket).await, 4400, "BAD_REQUEST");

    let mut socket = open().await;
    send(&mut socket, json!({ "type": "unheard_of" })).await;
    assert_closed(&next(&mut socket).await, 4400, "BAD_REQUEST");

    let mut socket = open().await;
    send(&mut socket, json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ __typename }" } })).await;
    assert_closed(&next(&mut socket).await, 4401, "UNAUTHENTICATED");

    let mut socket = open().await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "token": ws.agent } })).await;
    assert_eq!(next(&mut socket).await["type"], "connection_ack");
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(next(&mut socket).await["type"], "pong");
    send(&mut socket, json!({ "type": "connection_init", "payload": { "token": ws.agent } })).await;
    assert_closed(&next(&mut socket).await, 4429, "BAD_REQUEST");

    // A GET that is not an upgrade, and an upgrade to another protocol, are coded JSON too.
    for protocol in [None, Some("graphql-ws")] {
        let mut req = client().get(format!("{}/graphql/ws", server().url));
        if let Some(p) = protocol {
            req = req
                .header("connection", "upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                .header("sec-websocket-protocol", p);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 400, "{protocol:?}");
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{body}");
    }
}

#[tokio::test]
async fn messages_are_bounded_and_more_tightly_before_sign_in() {
    let ws = workspace().await;

    // A frame header announcing 60 MiB, before any connection_init: refused from the header,
    // while its payload has barely started.
    let mut tcp = raw_socket(&addr()).await;
    tcp.write_all(&frame_header(true, 1, 60 << 20)).await.unwrap();
    tcp.write_all(&[b' '; 1024]).await.unwrap();
    let heard = listen(&mut tcp, Duration::from_secs(3), None).await;
    let (code, reason) = heard.close.clone().unwrap_or_else(|| panic!("no close frame: {heard:?}"));
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.starts_with("PAYLOAD_TOO_LARGE: ") && reason.contains("before connection_init"), "{reason}");

    // The same in fragments.
    let mut tcp = raw_socket(&addr()).await;
    for i in 0..4 {
        let fin = i == 3;
        let mut f = frame_header(fin, if i == 0 { 1 } else { 0 }, 16 * 1024);
        f.extend(std::iter::repeat_n(b' ', 16 * 1024));
        if tcp.write_all(&f).await.is_err() {
            break;
        }
    }
    let heard = listen(&mut tcp, Duration::from_secs(3), None).await;
    assert_eq!(heard.close.as_ref().map(|c| c.0), Some(1009), "{heard:?}");

    // An oversized connection_init (40 KiB, the anonymous limit is 32 KiB).
    let mut socket = open().await;
    let padding = "x".repeat(40 * 1024);
    send(&mut socket, json!({ "type": "connection_init", "payload": { "token": ws.agent, "pad": padding } })).await;
    assert_closed(&next(&mut socket).await, 1009, "PAYLOAD_TOO_LARGE");

    // Signed in, a 100 KiB request goes through; 2 MiB does not, nor 30,000 values.
    let mut socket = open().await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "token": ws.agent } })).await;
    assert_eq!(next(&mut socket).await["type"], "connection_ack");
    // Variables the document does not declare are read, then ignored.
    let query = "{ __typename }";
    let big = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": { "pad": "y".repeat(100 * 1024) } } });
    send(&mut socket, big).await;
    let answer = next(&mut socket).await;
    assert_eq!(
        (answer["type"].as_str(), answer["payload"]["data"]["__typename"].as_str()),
        (Some("next"), Some("Query")),
        "{answer}"
    );
    assert_eq!(next(&mut socket).await["type"], "complete");
    let many =
        json!({ "id": "2", "type": "subscribe", "payload": { "query": query, "variables": { "n": vec![0; 30_000] } } });
    send(&mut socket, many).await;
    let answer = next(&mut socket).await;
    assert_closed(&answer, 1009, "PAYLOAD_TOO_LARGE");
    assert!(answer["reason"].as_str().unwrap().contains("JSON values"), "{answer}");

    let mut socket = open().await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "token": ws.agent } })).await;
    assert_eq!(next(&mut socket).await["type"], "connection_ack");
    let huge = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": { "pad": "y".repeat(2 << 20) } } });
    // The server may close before the whole message is written.
    let _ = socket.send(Message::text(huge.to_string())).await;
    assert_closed(&next(&mut socket).await, 1009, "PAYLOAD_TOO_LARGE");
}
