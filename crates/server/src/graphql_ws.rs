//! The GraphQL WebSocket at `/graphql/ws` (graphql-transport-ws), served here rather than by
//! async-graphql's so that every limit of the HTTP side holds on it too:
//!
//! - Message size: lower before `connection_init` is accepted (the anonymous request budget)
//!   than after (the signed-in one). [`FrameGuard`] reads each frame's header as the bytes
//!   arrive and refuses a message as soon as a header announces more than the budget, before
//!   its payload is buffered; each message's JSON is then held to the budget's values and
//!   nesting before it is parsed.
//! - Time: a socket without an accepted `connection_init` is closed after
//!   `SWITCHBOARD_WS_INIT_TIMEOUT_SECS` (4408); a signed-in one is pinged every
//!   `SWITCHBOARD_WS_PING_SECS` and closed (1001) when it sent nothing, not even a pong, between
//!   two pings.
//! - The connection cap: the socket holds its connection's [`ConnectionSlot`] until it closes,
//!   and closes (1012) when the server stops.
//! - Errors: every close carries a graphql-transport-ws code and a reason that starts with the
//!   `ErrorCode` wire code (`UNAUTHENTICATED: invalid or expired token`).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use async_graphql::{Data, Executor};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::stream::{AbortHandle, BoxStream, SelectAll};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use switchboard_desk::domain::ErrorCode;
use switchboard_desk::{Desk, DeskError};
use switchboard_graphql::{ClientAddr, SessionToken};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::Schema;
use crate::app::error_json;
use crate::graphql_edge::{JsonBudget, RequestCaps, check_json};
use crate::transport::{ConnectionLimits, ConnectionSlot};

/// The only subprotocol spoken (the web UI's `graphql-ws` client speaks it).
const PROTOCOL: &str = "graphql-transport-ws";

/// What one socket needs from the server.
pub struct Socket {
    pub schema: Schema,
    pub desk: Desk,
    /// The caller's address, for the sign-in limits of mutations sent over the socket.
    pub client: Option<ClientAddr>,
    pub caps: RequestCaps,
    /// `None` only when the router is served without the transport (never by `serve`).
    pub slot: Option<ConnectionSlot>,
}

/// Answers the upgrade request: 101 and the socket served in its own task, or a coded JSON error
/// for a request that is not a graphql-transport-ws upgrade.
pub fn open(mut req: Request, socket: Socket) -> Response {
    let key = match upgrade_key(req.headers()) {
        Ok(key) => key,
        Err(message) => return error_json(ErrorCode::BadRequest, message),
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => socket.serve(TokioIo::new(upgraded)).await,
            Err(e) => tracing::debug!(error = %e, "a WebSocket upgrade failed"),
        }
    });
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(PROTOCOL));
    if let Ok(accept) = HeaderValue::from_str(&key) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    resp
}

/// The `Sec-WebSocket-Accept` answering a valid graphql-transport-ws upgrade request.
fn upgrade_key(h: &HeaderMap) -> Result<String, &'static str> {
    let has = |name: header::HeaderName, token: &str| {
        h.get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if !has(header::UPGRADE, "websocket") || !has(header::CONNECTION, "upgrade") {
        return Err(
            "GET /graphql/ws opens a WebSocket (graphql-transport-ws): send Connection: Upgrade and Upgrade: websocket",
        );
    }
    if h.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v.as_bytes() != b"13") {
        return Err("the WebSocket upgrade needs Sec-WebSocket-Version: 13");
    }
    let Some(key) = h.get(header::SEC_WEBSOCKET_KEY) else {
        return Err("the WebSocket upgrade needs a Sec-WebSocket-Key");
    };
    if !has(header::SEC_WEBSOCKET_PROTOCOL, PROTOCOL) {
        return Err("the WebSocket speaks graphql-transport-ws only: ask for it in Sec-WebSocket-Protocol");
    }
    Ok(tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()))
}

/// A close frame's code and reason: the reason starts with our wire code and fits the 123 bytes
/// a close frame leaves for it.
struct Close {
    code: u16,
    reason: String,
}

impl Close {
    fn new(code: u16, error: ErrorCode, message: &str) -> Close {
        let mut reason = format!("{}: {message}", error.as_str());
        if reason.len() > 123 {
            let mut cut = 120;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
            reason.push('…');
            while reason.len() > 123 {
                reason.pop();
            }
        }
        Close { code, reason }
    }
}

/// What a client sends over graphql-transport-ws.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Subscribe {
        id: String,
        payload: Box<async_graphql::Request>,
    },
    Complete {
        id: String,
    },
    Ping {},
    Pong {},
}

type Ws<S> = WebSocketStream<FrameGuard<S>>;

impl Socket {
    async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send>(self, io: S) {
        let limits = self.slot.as_ref().map(|s| s.limits.clone()).unwrap_or_default();
        let frames = Arc::new(FrameLimit::new(self.caps.anonymous.max_bytes));
        // tungstenite's own limits are a backstop: the guard refuses anything larger first.
        let config = WebSocketConfig::default()
            .max_message_size(Some(self.caps.signed_in.max_bytes))
            .max_frame_size(Some(self.caps.signed_in.max_bytes));
        let mut ws =
            WebSocketStream::from_raw_socket(FrameGuard::new(io, frames.clone()), Role::Server, Some(config)).await;
        let stop = self.slot.clone();
        let closing = Session { socket: &self, frames: &frames, limits: &limits, data: None, inits: 0 }
            .run(&mut ws, async move {
                match stop {
                    Some(slot) => slot.stopping().await,
                    None => std::future::pending().await,
                }
            })
            .await;
        if let Some(close) = closing {
            let frame = CloseFrame { code: CloseCode::from(close.code), reason: close.reason.into() };
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.send(Message::Close(Some(frame)))).await;
            // Read on for a moment, discarding, so the close frame is not lost to a reset from
            // unread bytes; then the connection (and its slot) is let go.
            let _ = tokio::time::timeout(Duration::from_secs(1), ws.get_mut().discard()).await;
        }
    }
}

struct Session<'a> {
    socket: &'a Socket,
    frames: &'a FrameLimit,
    limits: &'a ConnectionLimits,
    /// The connection's data once `connection_init` is accepted.
    data: Option<Arc<Data>>,
    inits: usize,
}

/// A running subscription's next response, or `None` once it is complete.
type Outgoing = (String, Option<async_graphql::Response>);

impl Session<'_> {
    /// Serves the socket until it ends; returns the close frame to send, if any.
    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        mut self,
        ws: &mut Ws<S>,
        stopping: impl std::future::Future<Output = ()>,
    ) -> Option<Close> {
        tokio::pin!(stopping);
        let init_deadline = tokio::time::sleep(self.limits.ws_init_timeout);
        tokio::pin!(init_deadline);
        let every = self.limits.ws_ping_interval;
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut heard = false;
        let mut running: SelectAll<BoxStream<'static, Outgoing>> = SelectAll::new();
        let mut handles: HashMap<String, AbortHandle> = HashMap::new();
        loop {
            let reply = tokio::select! {
                () = &mut stopping => {
                    return Some(Close::new(1012, ErrorCode::Unavailable, "the server is restarting; connect again"));
                }
                () = &mut init_deadline, if self.data.is_none() => {
                    return Some(Close::new(
                        4408,
                        ErrorCode::RequestTimeout,
                        &format!("no connection_init within {} seconds", self.limits.ws_init_timeout.as_secs()),
                    ));
                }
                // Before connection_init the init timeout bounds the socket.
                _ = ping.tick(), if self.data.is_some() => {
                    if !std::mem::take(&mut heard) {
                        // Sent nothing, not even a pong, for a whole interval: gone or stuck.
                        return Some(Close::new(
                            1001,
                            ErrorCode::RequestTimeout,
                            &format!("no answer to a ping within {} seconds", every.as_secs()),
                        ));
                    }
                    Message::Ping(Default::default())
                }
                Some((id, response)) = running.next(), if !running.is_empty() => match response {
                    Some(response) => text(serde_json::json!({ "id": id, "type": "next", "payload": response })),
                    None => {
                        handles.remove(&id);
                        text(serde_json::json!({ "id": id, "type": "complete" }))
                    }
                },
                message = ws.next() => {
                    heard = true;
                    let bytes = match &message {
                        None => return None,
                        Some(Err(e)) => return self.read_failed(e),
                        Some(Ok(Message::Text(t))) => t.as_bytes(),
                        Some(Ok(Message::Binary(b))) => &b[..],
                        // tungstenite answers pings and close frames itself.
                        Some(Ok(Message::Close(_))) => return None,
                        Some(Ok(_)) => continue,
                    };
                    match self.handle(bytes, &mut running, &mut handles).await {
                        Ok(Some(reply)) => reply,
                        Ok(None) => continue,
                        Err(close) => return Some(close),
                    }
                }
            };
            if ws.send(reply).await.is_err() {
                return None;
            }
        }
    }

    fn read_failed(&self, e: &WsError) -> Option<Close> {
        let refused = self.frames.refused.load(Ordering::Relaxed);
        if refused > 0 || matches!(e, WsError::Capacity(_)) {
            let (max, when) = if self.data.is_none() {
                (self.socket.caps.anonymous.max_bytes, " before connection_init is accepted")
            } else {
                (self.socket.caps.signed_in.max_bytes, "")
            };
            let size = if refused > 0 { format!("{refused} bytes") } else { "too large".into() };
            return Some(Close::new(
                1009,
                ErrorCode::PayloadTooLarge,
                &format!("a message of {size}; at most {max}{when}"),
            ));
        }
        tracing::debug!(error = %e, "a WebSocket ended");
        None
    }

    /// One message from the client: `Ok(Some(reply))` to send, `Ok(None)` for nothing, or the
    /// close that ends the socket.
    async fn handle(
        &mut self,
        bytes: &[u8],
        running: &mut SelectAll<BoxStream<'static, Outgoing>>,
        handles: &mut HashMap<String, AbortHandle>,
    ) -> Result<Option<Message>, Close> {
        let signed_in = self.data.is_some();
        let budget: JsonBudget = self.socket.caps.for_caller(signed_in);
        check_json(bytes, &budget, signed_in).map_err(|e| Close::new(1009, ErrorCode::PayloadTooLarge, &e.0))?;
        let message: ClientMessage = serde_json::from_slice(bytes).map_err(|e| {
            Close::new(4400, ErrorCode::BadRequest, &format!("not a graphql-transport-ws message: {e}"))
        })?;
        match message {
            ClientMessage::ConnectionInit { payload } => {
                self.inits += 1;
                if self.inits > 1 {
                    return Err(Close::new(4429, ErrorCode::BadRequest, "connection_init was sent more than once"));
                }
                let data = self.init(payload.unwrap_or_default()).await?;
                self.data = Some(Arc::new(data));
                // Signed in: the signed-in budget from the next message on.
                self.frames.max.store(self.socket.caps.signed_in.max_bytes, Ordering::Relaxed);
                Ok(Some(text(serde_json::json!({ "type": "connection_ack" }))))
            }
            ClientMessage::Subscribe { id, payload } => {
                let Some(data) = self.data.clone() else {
                    return Err(Close::new(4401, ErrorCode::Unauthenticated, "subscribe came before connection_ack"));
                };
                if handles.contains_key(&id) {
                    return Err(Close::new(4409, ErrorCode::Conflict, "a subscription with this id is running"));
                }
                let responses = Executor::execute_stream(&self.socket.schema, *payload, Some(data));
                let (id_next, id_done) = (id.clone(), id.clone());
                let stream = responses
                    .map(move |r| (id_next.clone(), Some(r)))
                    .chain(futures_util::stream::once(async move { (id_done, None) }));
                let (stream, handle) = futures_util::stream::abortable(stream);
                handles.insert(id, handle);
                running.push(stream.boxed());
                Ok(None)
            }
            ClientMessage::Complete { id } => {
                if let Some(handle) = handles.remove(&id) {
                    handle.abort();
                }
                Ok(None)
            }
            ClientMessage::Ping {} => Ok(Some(text(serde_json::json!({ "type": "pong" })))),
            ClientMessage::Pong {} => Ok(None),
        }
    }

    /// Signs the connection in from `connection_init`'s payload (browsers cannot set headers on
    /// a WebSocket, so the token comes here).
    async fn init(&self, payload: serde_json::Value) -> Result<Data, Close> {
        let token =
            payload.get("token").or_else(|| payload.get("Authorization")).and_then(|v| v.as_str()).unwrap_or_default();
        let token = token.strip_prefix("Bearer ").unwrap_or(token);
        let actor = self.socket.desk.authenticate(token).await.map_err(|e| match e {
            DeskError::Unauthenticated(m) => Close::new(4401, ErrorCode::Unauthenticated, &m),
            DeskError::Forbidden(m) => Close::new(4403, ErrorCode::Forbidden, &m),
            e => {
                tracing::error!(error = %e, "authentication failed");
                Close::new(4500, ErrorCode::Internal, "internal error; it has been logged")
            }
        })?;
        let mut data = Data::default();
        data.insert(actor);
        data.insert(SessionToken(token.to_string()));
        if let Some(client) = self.socket.client {
            data.insert(client);
        }
        Ok(data)
    }
}

fn text(value: serde_json::Value) -> Message {
    Message::text(value.to_string())
}

/// The size a message may reach, shared between the session (which raises it once the socket
/// is signed in) and the [`FrameGuard`] reading its bytes.
struct FrameLimit {
    max: AtomicUsize,
    /// The announced size of the message refused, 0 while none is.
    refused: AtomicU64,
}

impl FrameLimit {
    fn new(max: usize) -> FrameLimit {
        FrameLimit { max: AtomicUsize::new(max), refused: AtomicU64::new(0) }
    }
}

/// The socket's bytes, read through a parser of frame headers (RFC 6455 section 5.2) that fails
/// the read as soon as the frames of one message announce more than the current limit: the
/// payload is never buffered, whatever tungstenite's own limits.
struct FrameGuard<S> {
    inner: S,
    limit: Arc<FrameLimit>,
    header: [u8; 14],
    have: usize,
    payload_left: u64,
    message_len: u64,
    refused: bool,
}

impl<S> FrameGuard<S> {
    fn new(inner: S, limit: Arc<FrameLimit>) -> FrameGuard<S> {
        FrameGuard { inner, limit, header: [0; 14], have: 0, payload_left: 0, message_len: 0, refused: false }
    }

    /// Follows `bytes` through the frames; false once a message is over the limit.
    fn observe(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let n = self.payload_left.min(bytes.len() as u64);
                self.payload_left -= n;
                bytes = &bytes[n as usize..];
                continue;
            }
            self.header[self.have] = bytes[0];
            self.have += 1;
            bytes = &bytes[1..];
            if self.have < 2 {
                continue;
            }
            let (b0, b1) = (self.header[0], self.header[1]);
            let extended = match b1 & 0x7f {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let needed = 2 + extended + if b1 & 0x80 != 0 { 4 } else { 0 };
            if self.have < needed {
                continue;
            }
            let len = match extended {
                0 => u64::from(b1 & 0x7f),
                2 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
                _ => u64::from_be_bytes(self.header[2..10].try_into().unwrap_or_default()),
            };
            self.have = 0;
            // Data and continuation frames make up a message; control frames (8 and up) stand
            // alone, and tungstenite refuses any over 125 bytes.
            if b0 & 0x0f < 8 {
                self.message_len = self.message_len.saturating_add(len);
                if self.message_len > self.limit.max.load(Ordering::Relaxed) as u64 {
                    self.limit.refused.store(self.message_len, Ordering::Relaxed);
                    return false;
                }
                if b0 & 0x80 != 0 {
                    self.message_len = 0;
                }
            }
            self.payload_left = len;
        }
        true
    }
}

impl<S: AsyncRead + Unpin> FrameGuard<S> {
    /// Reads and drops what the peer still sends, until it stops or closes.
    async fn discard(&mut self) {
        let mut buf = [0u8; 8192];
        while matches!(self.inner.read(&mut buf).await, Ok(n) if n > 0) {}
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameGuard<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let too_large = || std::io::Error::new(std::io::ErrorKind::InvalidData, "a WebSocket message over the limit");
        if this.refused {
            return Poll::Ready(Err(too_large()));
        }
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let fresh = buf.filled()[before..].to_vec();
        if !this.observe(&fresh) {
            this.refused = true;
            buf.set_filled(before);
            return Poll::Ready(Err(too_large()));
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameGuard<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked, with the length in 7, 16 or 64 bits as its size needs.
    fn frame(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
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
        f.extend_from_slice(&[1, 2, 3, 4]);
        f.extend(std::iter::repeat_n(b'x', len.min(100_000) as usize));
        f
    }

    fn guard(max: usize) -> FrameGuard<()> {
        FrameGuard::new((), Arc::new(FrameLimit::new(max)))
    }

    #[test]
    fn a_header_announcing_too_much_is_refused_before_its_payload() {
        let mut g = guard(1_000);
        let huge = frame(true, 1, 60 << 20);
        assert!(!g.observe(&huge[..14]), "the 64-bit length alone is enough to refuse");
        assert_eq!(g.limit.refused.load(Ordering::Relaxed), 60 << 20);
    }

    #[test]
    fn messages_are_measured_across_frames_and_reads_and_control_frames_do_not_count() {
        let mut g = guard(1_000);
        // 3 messages of 900 bytes each, one in 3 fragments, with a ping in between, fed a few
        // bytes at a time.
        let mut bytes = frame(true, 1, 900);
        bytes.extend(frame(false, 1, 300));
        bytes.extend(frame(true, 9, 4));
        bytes.extend(frame(false, 0, 300));
        bytes.extend(frame(true, 0, 300));
        bytes.extend(frame(true, 2, 900));
        for chunk in bytes.chunks(7) {
            assert!(g.observe(chunk));
        }
        // A fragmented message over the limit is refused at the fragment that crosses it.
        let mut g = guard(1_000);
        assert!(g.observe(&frame(false, 1, 600)));
        assert!(!g.observe(&frame(true, 0, 600)));
        // The limit can rise once the socket is signed in.
        let mut g = guard(1_000);
        g.limit.max.store(2_000, Ordering::Relaxed);
        assert!(g.observe(&frame(true, 1, 1_500)));
    }

    #[test]
    fn close_reasons_carry_the_code_and_fit_a_close_frame() {
        let c = Close::new(4401, ErrorCode::Unauthenticated, "invalid or expired token");
        assert_eq!(c.reason, "UNAUTHENTICATED: invalid or expired token");
        let long = Close::new(4400, ErrorCode::BadRequest, &"é".repeat(200));
        assert!(long.reason.len() <= 123 && long.reason.starts_with("BAD_REQUEST: "), "{}", long.reason);
    }

    #[test]
    fn only_graphql_transport_ws_upgrades_are_taken() {
        let mut h = HeaderMap::new();
        assert!(upgrade_key(&h).unwrap_err().contains("Upgrade: websocket"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        h.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        h.insert(header::SEC_WEBSOCKET_KEY, HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("graphql-ws"));
        assert!(upgrade_key(&h).unwrap_err().contains("graphql-transport-ws"));
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("graphql-transport-ws"));
        assert_eq!(upgrade_key(&h).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
