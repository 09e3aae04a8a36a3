//! Discord's REST API through serenity's request building, sent by us.
//!
//! Serenity builds each request (route, body, multipart files, headers) and points it at
//! `SWITCHBOARD_DISCORD_API_URL` through its proxy setting. Its own ratelimiter is switched off,
//! because it builds requests without the proxy (every rate-limited request would go to
//! discord.com, whatever the configuration says); instead this module honours Discord's limits
//! itself: a 429 blocks its route (or, with `X-RateLimit-Global`, every route) for
//! `retry_after` and the request is sent again after the wait, a bounded number of times; a
//! response saying a bucket is used up (`X-RateLimit-Remaining: 0`) holds the route back until
//! `X-RateLimit-Reset-After`. A wait longer than [`MAX_WAIT_IN_PLACE`] is handed back as a
//! transient error, so the outbox retries the delivery later instead of a worker sleeping.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest_serenity as reqwest;
use serde::Deserialize;
use serde_json::Value;
use serenity::http::{LightMethod, Request, Route};

/// Discord's production API host (serenity's routes add `/api/v10`).
pub const DEFAULT_API_URL: &str = "https://discord.com";

/// The longest rate-limit wait sat out in place before trying again.
pub const MAX_WAIT_IN_PLACE: Duration = Duration::from_secs(15);
/// Attempts at one request, rate-limited ones included.
const MAX_ATTEMPTS: u32 = 5;

/// What went wrong talking to Discord.
#[derive(Debug, Clone, PartialEq)]
pub enum RestError {
    /// Discord refused the request (4xx other than 429): retrying it unchanged will not help.
    Refused {
        /// The HTTP status.
        status: u16,
        /// Discord's JSON error code (e.g. 50007, cannot send messages to this user).
        code: i64,
        /// Discord's message, with the fields it names.
        message: String,
        /// The codes of the field errors Discord listed (e.g. `CHANNEL_PARENT_MAX_CHANNELS`).
        field_codes: Vec<String>,
    },
    /// Worth trying later: network trouble, 5xx, or a rate limit longer than we wait here.
    Transient(String),
}

impl RestError {
    /// Discord's JSON error code, when it refused.
    pub fn code(&self) -> Option<i64> {
        match self {
            RestError::Refused { code, .. } => Some(*code),
            RestError::Transient(_) => None,
        }
    }

    /// Whether Discord refused with this field error code.
    pub fn has_field_code(&self, wanted: &str) -> bool {
        matches!(self, RestError::Refused { field_codes, .. } if field_codes.iter().any(|c| c == wanted))
    }
}

impl std::fmt::Display for RestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestError::Refused { status, code, message, .. } => {
                write!(f, "Discord refused the request (HTTP {status}, code {code}): {message}")
            }
            RestError::Transient(m) => f.write_str(m),
        }
    }
}

/// Discord's error body: `{"code", "message", "errors"}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Option<Value>,
}

/// Discord's 429 body: `{"message", "retry_after", "global"}`.
#[derive(Debug, Deserialize)]
struct RateLimitBody {
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default)]
    global: bool,
}

/// The REST client; one per process, shared.
#[derive(Debug)]
pub struct Rest {
    client: reqwest::Client,
    /// `Bot <token>`, as Discord expects the Authorization header.
    authorization: String,
    api_url: String,
    /// Until when each route (`None`: every route) must not be called.
    blocked: Mutex<HashMap<Option<String>, Instant>>,
}

impl Rest {
    /// A client for `api_url` (e.g. [`DEFAULT_API_URL`]) with the bot's token.
    pub fn new(token: &str, api_url: &str) -> Rest {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client with fixed settings");
        let token = token.trim();
        let authorization = if token.starts_with("Bot ") { token.to_string() } else { format!("Bot {token}") };
        Rest {
            client,
            authorization,
            api_url: api_url.trim_end_matches('/').to_string(),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// The reqwest client, for serenity's own `Http` (the gateway URL lookup).
    pub fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    /// The API URL requests go to.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// How long `route` must still wait, global limit included.
    fn wait_for(&self, route: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        blocked.retain(|_, until| *until > now);
        [blocked.get(&None), blocked.get(&Some(route.to_string()))].into_iter().flatten().max().map(|u| *u - now)
    }

    fn block(&self, route: Option<&str>, wait: Duration) {
        let until = Instant::now() + wait;
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let slot = blocked.entry(route.map(str::to_string)).or_insert(until);
        *slot = (*slot).max(until);
    }

    /// Sends `request`, honouring rate limits; returns the response body.
    pub async fn call(&self, request: Request<'_>) -> Result<Vec<u8>, RestError> {
        let route = request.route_ref().path().into_owned();
        for _ in 0..MAX_ATTEMPTS {
            if let Some(wait) = self.wait_for(&route) {
                if wait > MAX_WAIT_IN_PLACE {
                    return Err(RestError::Transient(format!(
                        "rate limited by Discord for another {:.1} s",
                        wait.as_secs_f64()
                    )));
                }
                tokio::time::sleep(wait).await;
            }
            let builder = request
                .clone()
                .build(&self.client, &self.authorization, Some(&self.api_url))
                .map_err(|e| RestError::Transient(format!("building the Discord request: {e}")))?;
            let resp = builder.send().await.map_err(|e| RestError::Transient(format!("Discord unreachable: {e}")))?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
            let body =
                resp.bytes().await.map_err(|e| RestError::Transient(format!("reading Discord's answer: {e}")))?;
            if status.as_u16() == 429 {
                let parsed = serde_json::from_slice::<RateLimitBody>(&body).ok();
                // The body's `retry_after` has fractions of a second; `Retry-After` whole seconds.
                let secs = parsed
                    .as_ref()
                    .and_then(|b| b.retry_after)
                    .or_else(|| header("retry-after").and_then(|v| v.parse().ok()))
                    .unwrap_or(1.0);
                let global = header("x-ratelimit-global").is_some_and(|v| v == "true")
                    || parsed.as_ref().is_some_and(|b| b.global);
                let wait = Duration::from_secs_f64(secs.clamp(0.0, 3600.0));
                self.block((!global).then_some(route.as_str()), wait);
                tracing::info!(route, global, wait_secs = secs, "Discord rate limit: waiting");
                continue;
            }
            if header("x-ratelimit-remaining").as_deref() == Some("0")
                && let Some(reset) = header("x-ratelimit-reset-after").and_then(|v| v.parse::<f64>().ok())
            {
                self.block(Some(&route), Duration::from_secs_f64(reset.clamp(0.0, 60.0)));
            }
            if status.is_success() {
                return Ok(body.to_vec());
            }
            let text = String::from_utf8_lossy(&body);
            let mut field_codes = Vec::new();
            let message = match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(e) => {
                    let mut m = e.message;
                    if let Some(errors) = e.errors.as_ref() {
                        let listed = field_errors(errors);
                        if !listed.is_empty() {
                            m.push_str(&format!(" ({listed})"));
                        }
                        collect_codes(errors, &mut field_codes);
                    }
                    (e.code, m)
                }
                Err(_) => (0, text.chars().take(300).collect()),
            };
            if status.is_server_error() {
                return Err(RestError::Transient(format!("Discord answered HTTP {}: {}", status.as_u16(), message.1)));
            }
            return Err(RestError::Refused {
                status: status.as_u16(),
                code: message.0,
                message: message.1,
                field_codes,
            });
        }
        Err(RestError::Transient(format!("still rate limited by Discord after {MAX_ATTEMPTS} attempts")))
    }

    /// Sends a JSON body to `route` (or none, for `Value::Null`), returning Discord's JSON answer
    /// (`Null` for an empty one).
    pub async fn send_json(&self, route: Route<'_>, method: LightMethod, body: &Value) -> Result<Value, RestError> {
        let mut request = Request::new(route, method);
        if !body.is_null() {
            request = request.body(Some(body.to_string().into_bytes()));
        }
        let answer = self.call(request).await?;
        if answer.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&answer).map_err(|e| RestError::Transient(format!("unreadable Discord answer: {e}")))
    }

    /// [`Rest::call`], parsing the answer as `T` (a serenity model).
    pub async fn call_json<T: serde::de::DeserializeOwned>(&self, request: Request<'_>) -> Result<T, RestError> {
        let body = self.call(request).await?;
        serde_json::from_slice(&body).map_err(|e| RestError::Transient(format!("unreadable Discord answer: {e}")))
    }
}

/// The `code` of every error in Discord's nested `errors` object.
fn collect_codes(v: &Value, out: &mut Vec<String>) {
    let Some(obj) = v.as_object() else { return };
    for (k, child) in obj {
        if k == "_errors" {
            let codes = child.as_array().into_iter().flatten().filter_map(|e| e.get("code")?.as_str());
            out.extend(codes.map(str::to_string));
        } else {
            collect_codes(child, out);
        }
    }
}

/// Flattens Discord's nested `errors` object into `field: message` pairs.
fn field_errors(v: &Value) -> String {
    fn walk(path: &str, v: &Value, out: &mut Vec<String>) {
        let Some(obj) = v.as_object() else { return };
        if let Some(list) = obj.get("_errors").and_then(Value::as_array) {
            for e in list {
                out.push(format!("{path}: {}", e.get("message").and_then(Value::as_str).unwrap_or_default()));
            }
        }
        for (k, child) in obj.iter().filter(|(k, _)| *k != "_errors") {
            let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
            walk(&p, child, out);
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_field_errors_name_their_field() {
        let errors = serde_json::json!({ "parent_id": { "_errors": [{ "code": "CHANNEL_PARENT_MAX_CHANNELS",
            "message": "Maximum number of channels in category reached (50)" }] } });
        assert_eq!(field_errors(&errors), "parent_id: Maximum number of channels in category reached (50)");
        let mut codes = Vec::new();
        collect_codes(&errors, &mut codes);
        assert_eq!(codes, ["CHANNEL_PARENT_MAX_CHANNELS"]);
    }
}
