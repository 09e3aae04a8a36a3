//! The connection side of the HTTP server: accepts connections up to a cap and closes those
//! whose client stalls (on its headers, its body, or idle between requests), so slow or silent
//! clients cannot hold the server's connections. `axum::serve` has no knobs for either.
//!
//! hyper's connection future ends when a request upgrades the connection (the GraphQL
//! WebSocket), while the socket lives on in the handler's task: each request therefore carries
//! the connection's [`ConnectionSlot`], and an upgraded connection's task keeps a clone of it, so
//! a WebSocket holds its place under the cap until it closes and is told when the server stops.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use axum::response::Response;
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use switchboard_desk::domain::ErrorCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// How long a client may take, and how many may be connected at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Longest wait for a request's headers, counted from when the connection is ready for a
    /// request: on a kept-alive connection that is also the longest it stays idle.
    pub header_timeout: Duration,
    /// Longest pause while a request body arrives.
    pub body_stall_timeout: Duration,
    /// Longest time a whole request body may take to arrive.
    pub body_timeout: Duration,
    /// Connections served at once; further ones wait in the listen queue until one ends.
    pub max_connections: usize,
    /// Longest a WebSocket may stay open before its `connection_init` is accepted.
    pub ws_init_timeout: Duration,
    /// How often a WebSocket is pinged; one that has sent nothing (not even a pong) between
    /// two pings is closed.
    pub ws_ping_interval: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(30),
            body_stall_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(300),
            max_connections: 512,
            ws_init_timeout: Duration::from_secs(10),
            ws_ping_interval: Duration::from_secs(30),
        }
    }
}

/// The largest connection cap: the permits of every connection are taken back at once on
/// shutdown, and a semaphore counts them in a `u32`.
pub const MAX_CONNECTIONS_CAP: usize = 1_000_000;

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and waits for
/// the connections being served to finish their current request.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let max = limits.max_connections.clamp(1, MAX_CONNECTIONS_CAP);
    let slots = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let limits = Arc::new(limits);
    tokio::pin!(shutdown);
    loop {
        // A slot first: past the cap, new connections wait in the kernel's listen queue and the
        // ones being served keep their share of the server.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: retrying at once would spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = ConnectionSlot { _permit: Arc::new(slot), stop: stop_rx.clone(), limits: limits.clone() };
        tokio::spawn(serve_connection(stream, peer, router.clone(), slot));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Each connection (upgraded ones included) holds its slot until it ends: all slots back
    // means all connections done.
    let _ = slots.acquire_many(max as u32).await;
    Ok(())
}

/// A connection's place under the cap, in every request's extensions. Whoever keeps a clone
/// keeps the place taken: an upgraded connection's task holds one for as long as it runs.
#[derive(Clone)]
pub struct ConnectionSlot {
    _permit: Arc<OwnedSemaphorePermit>,
    stop: watch::Receiver<bool>,
    /// The connection's limits (the WebSocket's timeouts among them).
    pub limits: Arc<ConnectionLimits>,
}

impl ConnectionSlot {
    /// Completes once the server is stopping: a long-lived connection must end then, or the
    /// shutdown waits for it.
    pub async fn stopping(mut self) {
        let _ = self.stop.wait_for(|stopping| *stopping).await;
    }
}

/// Set on a request whose body stopped arriving: [`answer_stalled_bodies`] then answers 408.
#[derive(Clone)]
struct BodyTimedOut(Arc<AtomicBool>);

/// The router's innermost edge layer: a request whose body stalled is answered 408 (whatever its
/// handler made of the failed read), inside the security headers every response carries.
pub async fn answer_stalled_bodies(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let timed_out = req.extensions().get::<BodyTimedOut>().cloned();
    let response = next.run(req).await;
    if timed_out.is_some_and(|t| t.0.load(Ordering::Relaxed)) { body_timed_out() } else { response }
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, router: Router, slot: ConnectionSlot) {
    let limits = slot.limits.clone();
    let mut stop = slot.stop.clone();
    let header_timeout = limits.header_timeout;
    let request_slot = slot.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let router = router.clone();
        let limits = limits.clone();
        let slot = request_slot.clone();
        async move {
            let (mut parts, body) = req.into_parts();
            // What `into_make_service_with_connect_info` would insert: the client-address code
            // reads the peer from here.
            parts.extensions.insert(ConnectInfo(peer));
            parts.extensions.insert(slot);
            let timed_out = Arc::new(AtomicBool::new(false));
            parts.extensions.insert(BodyTimedOut(timed_out.clone()));
            let body = TimedBody::new(body, &limits, timed_out);
            match router.oneshot(Request::from_parts(parts, Body::new(body))).await {
                Ok(response) => Ok::<_, Infallible>(response),
                Err(never) => match never {},
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => return log_end(result),
        _ = stop.wait_for(|stopping| *stopping) => {}
    }
    conn.as_mut().graceful_shutdown();
    log_end(conn.await);
    drop(slot);
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // A client that goes away or stalls is routine, not the server's error.
        tracing::debug!(error = %e, "connection ended");
    }
}

/// The answer to a request whose body stopped arriving: 408, and the connection is closed
/// since the rest of the body may still come.
fn body_timed_out() -> Response {
    let mut response = crate::app::error_json(
        ErrorCode::RequestTimeout,
        "the request body stopped arriving before it was complete; send the request again",
    );
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body that fails once it pauses longer than the stall timeout, or takes longer
/// than the body timeout in all (clocks start when the handler first reads it), and records
/// that it did so the caller can answer 408.
struct TimedBody {
    inner: Incoming,
    stall_timeout: Duration,
    body_timeout: Duration,
    stall: Option<Pin<Box<Sleep>>>,
    deadline: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

impl TimedBody {
    fn new(inner: Incoming, limits: &ConnectionLimits, timed_out: Arc<AtomicBool>) -> Self {
        TimedBody {
            inner,
            stall_timeout: limits.body_stall_timeout,
            body_timeout: limits.body_timeout,
            stall: None,
            deadline: None,
            timed_out,
        }
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if let Some(stall) = this.stall.as_mut() {
                stall.as_mut().reset(Instant::now() + this.stall_timeout);
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let body_timeout = this.body_timeout;
        let stall_timeout = this.stall_timeout;
        let deadline = this.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(body_timeout)));
        let stall = this.stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(stall_timeout)));
        let deadline_passed = deadline.as_mut().poll(cx).is_ready();
        if deadline_passed || stall.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err("the request body stopped arriving".into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
