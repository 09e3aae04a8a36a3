//! The HTTP surface: GraphQL (queries, mutations, uploads), subscriptions over WebSocket,
//! attachment downloads, the health probes, and the web UI's bundle for every other path.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::GraphQLResponse;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use switchboard_desk::domain::{Actor, AttachmentId, ErrorCode};
use switchboard_desk::{Desk, DeskError};
use switchboard_graphql::ClientAddr;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::Schema;
use crate::client_addr::TrustedProxies;
use crate::graphql_edge::{AllowedOrigins, RequestCaps, refuse_body_kind};
use crate::transport::ConnectionSlot;

/// Set once the untrusted-forwarding warning is logged: it says the same for every request.
static WARNED_FORWARDING: AtomicBool = AtomicBool::new(false);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub desk: Desk,
    pub schema: Schema,
    pub graphiql: bool,
    /// The built web bundle served at `/` and `/portal`.
    pub web_dir: std::path::PathBuf,
    /// Whose `X-Forwarded-For` names the caller.
    pub trusted_proxies: TrustedProxies,
    /// The pages that may open the GraphQL WebSocket besides the server's own.
    pub allowed_origins: AllowedOrigins,
    /// How large a GraphQL request may be, with and without a sign-in.
    pub request_caps: RequestCaps,
}

/// What the security headers depend on.
#[derive(Debug, Clone)]
pub struct HeaderPolicy {
    /// The public URL starts with `https://`: every response may carry HSTS.
    pub public_https: bool,
    /// Whose `X-Forwarded-Proto` is believed.
    pub trusted_proxies: TrustedProxies,
}

/// The policy for JSON, probes and errors: nothing in them may load, run or be framed.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// GraphiQL (a development tool, off by default) runs inline scripts from unpkg.com.
const GRAPHIQL_CSP: &str = "default-src 'self' https://unpkg.com 'unsafe-inline'; img-src 'self' data: https:; \
    connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers every response carries unless its handler chose its own (the web
/// bundle sets the app's Content-Security-Policy): no framing (the sign-in form could otherwise
/// be clickjacked), no sniffing, no referrer (ticket URLs name tickets), and HSTS when the
/// caller came over TLS. The transport's 408 for a stalled body is made inside them too.
pub fn with_security_headers(router: Router, policy: HeaderPolicy) -> Router {
    router
        .layer(axum::middleware::from_fn(crate::transport::answer_stalled_bodies))
        .layer(axum::middleware::from_fn_with_state(std::sync::Arc::new(policy), security_headers))
}

async fn security_headers(
    State(policy): State<std::sync::Arc<HeaderPolicy>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Browsers ignore HSTS over plain HTTP, so a wrong "yes" costs nothing; a spoofed one from
    // a caller is still not believed.
    let https = policy.public_https
        || req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(peer)| policy.trusted_proxies.forwarded_https(peer.ip(), req.headers()));
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let defaults = [
        (header::CONTENT_SECURITY_POLICY, API_CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in defaults {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    if https {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    resp
}

/// Builds the router.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/attachments/{id}", get(attachment))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .fallback(crate::web::serve)
        // At the transport, not per extractor: the GraphQL extractor streams the body itself
        // and would otherwise read any size.
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .layer(axum::middleware::map_response(crate::graphql_edge::coded_payload_too_large))
        .layer(CatchPanicLayer::custom(|_| {
            // A bug must never take the process down or leak a stack to the caller.
            tracing::error!("a request handler panicked");
            error_json(ErrorCode::Internal, "internal error; it has been logged")
        }))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A JSON error body in the GraphQL shape, `extensions.code` included, with the code's status.
pub(crate) fn error_json(code: ErrorCode, message: &str) -> Response {
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// The caller's address for the sign-in limits; `None` only when the router is served without
/// connection info (never by `serve`). Warns once about forwarding from an untrusted sender.
fn client(s: &AppState, peer: Option<Extension<ConnectInfo<SocketAddr>>>, headers: &HeaderMap) -> Option<ClientAddr> {
    let Extension(ConnectInfo(peer)) = peer?;
    if s.trusted_proxies.ignores_forwarding(peer.ip(), headers) && !WARNED_FORWARDING.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            peer = %peer.ip(),
            "a request carries X-Forwarded-For from an address SWITCHBOARD_TRUSTED_PROXIES does not list; \
             if it is your reverse proxy, list it, or the sign-in limits count every caller as the proxy"
        );
    }
    Some(ClientAddr(s.trusted_proxies.client_addr(peer.ip(), headers)))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The caller behind the request's bearer token: `Ok(None)` without one, an error for a bad one.
async fn caller(desk: &Desk, headers: &HeaderMap) -> Result<Option<Actor>, DeskError> {
    match bearer(headers) {
        None => Ok(None),
        Some(token) => desk.authenticate(token).await.map(Some),
    }
}

async fn graphql(
    State(s): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Request,
) -> Response {
    if let Some(refused) = refuse_body_kind(&headers) {
        return refused;
    }
    // The caller before the body: how much of it is read depends on whether they signed in.
    let actor = match caller(&s.desk, &headers).await {
        Ok(actor) => actor,
        Err(DeskError::Unauthenticated(m)) => return error_json(ErrorCode::Unauthenticated, &m),
        Err(e) => {
            tracing::error!(error = %e, "authentication failed");
            return error_json(ErrorCode::Internal, "internal error; it has been logged");
        }
    };
    let mut req = match crate::graphql_edge::read_request(&headers, body, &s.request_caps, actor.is_some()).await {
        Ok(req) => req,
        Err(refused) => return refused,
    };
    if let Some(client) = client(&s, peer, &headers) {
        req = req.data(client);
    }
    if let Some(actor) = actor {
        req = req.data(actor);
    }
    GraphQLResponse::from(s.schema.execute(req).await).into_response()
}

/// GET /graphql is GraphiQL's page and nothing else: no operation runs over GET, so a link or an
/// image on another site can never trigger one.
async fn graphiql(State(s): State<AppState>, RawQuery(query): RawQuery) -> Response {
    if query.is_some_and(|q| q.split('&').any(|p| p.starts_with("query="))) {
        return error_json(
            ErrorCode::MethodNotAllowed,
            "GraphQL operations are not served over GET: POST them as application/json",
        );
    }
    if !s.graphiql {
        return error_json(ErrorCode::NotFound, "GraphiQL is off; set SWITCHBOARD_GRAPHIQL=true or run serve --demo");
    }
    let page = GraphiQLSource::build().endpoint("/graphql").subscription_endpoint("/graphql/ws").finish();
    ([(header::CONTENT_SECURITY_POLICY, GRAPHIQL_CSP)], Html(page)).into_response()
}

async fn graphql_ws(
    State(s): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    slot: Option<Extension<ConnectionSlot>>,
    req: Request,
) -> Response {
    if let Some(refused) = s.allowed_origins.refuse(req.headers()) {
        return refused;
    }
    // Mutations run over the socket too: the sign-in limits must count the same caller.
    let client = client(&s, peer, req.headers());
    let socket = crate::graphql_ws::Socket {
        schema: s.schema.clone(),
        desk: s.desk.clone(),
        client,
        caps: s.request_caps,
        slot: slot.map(|Extension(slot)| slot),
    };
    crate::graphql_ws::open(req, socket)
}

async fn attachment(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let actor = match caller(&s.desk, &headers).await {
        Ok(Some(a)) => a,
        Ok(None) | Err(DeskError::Unauthenticated(_)) => {
            return error_json(ErrorCode::Unauthenticated, "sign in first");
        }
        Err(_) => {
            return error_json(ErrorCode::Internal, "internal error; it has been logged");
        }
    };
    let Some(id) = id.parse::<i64>().ok().filter(|n| *n > 0) else {
        return error_json(ErrorCode::NotFound, "attachment not found");
    };
    match s.desk.attachment(&actor, AttachmentId(id)).await {
        Ok((a, bytes)) => {
            let mut resp = Response::new(Body::from(bytes));
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&a.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            // Always a download, never rendered inline: uploaded HTML must not run on our origin.
            let name: String =
                a.file_name.chars().filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\' || *c == ' ').collect();
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            resp
        }
        Err(DeskError::NotFound(_)) | Err(DeskError::Forbidden(_)) => {
            error_json(ErrorCode::NotFound, "attachment not found")
        }
        Err(_) => error_json(ErrorCode::Internal, "internal error; it has been logged"),
    }
}

async fn readyz(State(s): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(3), s.desk.store().ready()).await {
        Ok(Ok(true)) => (StatusCode::OK, "ready").into_response(),
        Ok(Ok(false)) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out").into_response(),
    }
}
