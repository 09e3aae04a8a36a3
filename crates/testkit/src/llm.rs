//! A double of an OpenAI-compatible chat model: `POST /v1/chat/completions` on a local port,
//! answering with OpenAI's bodies, status codes and error objects (`{"error": {message, type,
//! param, code}}`), so the answer engine's production client, pointed at it by
//! `SWITCHBOARD_LLM_URL`, is checked on its wire format.
//!
//! - `Authorization: Bearer <key>` when started with a key: none or a wrong one answers 401
//!   `invalid_api_key`.
//! - A body that is not JSON, or lacks `model` or a non-empty `messages` array of
//!   `{role, content}`, answers 400 `invalid_request_error` naming the parameter.
//! - What it answers is the test's script ([`Script`]): the assistant's content (a
//!   `chat.completion` with `choices[0].message`, `finish_reason: "stop"` and `usage`), an
//!   error status (429 `rate_limit_exceeded` with `retry-after`, 500, 503), a delay before
//!   either (for timeouts), or a body that is not OpenAI's at all.
//! - Every request is logged ([`LlmDouble::requests`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// One chat request the double received.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The parsed JSON body (`Null` when it was not JSON).
    pub body: Value,
    pub authorization: Option<String>,
}

impl ChatRequest {
    /// The `content` of the message with `role`, concatenated (system prompt, user turn).
    pub fn content_of(&self, role: &str) -> String {
        let Some(messages) = self.body.get("messages").and_then(Value::as_array) else { return String::new() };
        messages
            .iter()
            .filter(|m| m.get("role").and_then(Value::as_str) == Some(role))
            .filter_map(|m| m.get("content").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// What the double answers one request with.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A completion whose assistant message is this content.
    Content(String),
    /// An OpenAI error object with this status, `type` and `code`.
    Error { status: u16, kind: String, code: String, message: String },
    /// 429 `rate_limit_exceeded`, as OpenAI sends it (with `retry-after`).
    RateLimited,
    /// Waits, then answers.
    After(Duration, Box<Reply>),
    /// A 200 whose body is this raw text (not a completion).
    Raw(String),
}

/// The test's script: what to answer each request with.
pub type Script = Arc<dyn Fn(&ChatRequest) -> Reply + Send + Sync>;

/// The running double. It stops when dropped.
pub struct LlmDouble {
    /// `http://127.0.0.1:PORT` (the client adds `/v1/chat/completions`).
    pub url: String,
    state: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for LlmDouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmDouble").field("url", &self.url).finish()
    }
}

impl Drop for LlmDouble {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct Shared {
    api_key: Option<String>,
    script: Mutex<Script>,
    log: Mutex<Vec<ChatRequest>>,
}

impl LlmDouble {
    /// Starts the double on a free local port, requiring `api_key` when given.
    pub async fn start(api_key: Option<&str>, script: Script) -> anyhow::Result<LlmDouble> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let state = Arc::new(Shared {
            api_key: api_key.map(str::to_string),
            script: Mutex::new(script),
            log: Mutex::new(Vec::new()),
        });
        let app = Router::new().route("/v1/chat/completions", post(chat)).with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(LlmDouble { url: format!("http://{addr}"), state, server })
    }

    /// Replaces the script.
    pub fn set_script(&self, script: Script) {
        *self.state.script.lock().unwrap_or_else(|e| e.into_inner()) = script;
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.state.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A script answering every request with `reply`.
pub fn always(reply: Reply) -> Script {
    Arc::new(move |_| reply.clone())
}

fn error(status: StatusCode, kind: &str, code: Option<&str>, param: Option<&str>, message: &str) -> Response {
    let body = json!({ "error": { "message": message, "type": kind, "param": param, "code": code } });
    (status, axum::Json(body)).into_response()
}

async fn chat(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let request = ChatRequest { body: parsed.clone().unwrap_or(Value::Null), authorization: authorization.clone() };
    s.log.lock().unwrap_or_else(|e| e.into_inner()).push(request.clone());
    if let Some(key) = &s.api_key
        && authorization.as_deref() != Some(&format!("Bearer {key}"))
    {
        let message =
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.";
        return error(StatusCode::UNAUTHORIZED, "invalid_request_error", Some("invalid_api_key"), None, message);
    }
    let Some(body) = parsed else {
        let message = "We could not parse the JSON body of your request.";
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", None, None, message);
    };
    let Some(model) = body.get("model").and_then(Value::as_str).map(str::to_string) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            Some("model"),
            "you must provide a model parameter",
        );
    };
    let messages_ok = body.get("messages").and_then(Value::as_array).is_some_and(|m| {
        !m.is_empty() && m.iter().all(|x| x.get("role").and_then(Value::as_str).is_some() && x.get("content").is_some())
    });
    if !messages_ok {
        let message = "'messages' must be a non-empty array of objects with 'role' and 'content'.";
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", None, Some("messages"), message);
    }
    let script = s.script.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut reply = script(&request);
    loop {
        match reply {
            Reply::After(wait, then) => {
                tokio::time::sleep(wait).await;
                reply = *then;
            }
            Reply::Content(content) => {
                let prompt_tokens = request.content_of("system").len() / 4 + request.content_of("user").len() / 4;
                let completion_tokens = content.len() / 4;
                let body = json!({
                    "id": "chatcmpl-double",
                    "object": "chat.completion",
                    "created": chrono::Utc::now().timestamp(),
                    "model": model,
                    "choices": [{
                        "index": 0,
                        "message": { "role": "assistant", "content": content, "refusal": null },
                        "logprobs": null,
                        "finish_reason": "stop"
                    }],
                    "usage": { "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens },
                    "system_fingerprint": null
                });
                return (StatusCode::OK, axum::Json(body)).into_response();
            }
            Reply::Error { status, kind, code, message } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return error(status, &kind, Some(&code), None, &message);
            }
            Reply::RateLimited => {
                let message = "Rate limit reached for requests. Please try again in 20s.";
                let mut r =
                    error(StatusCode::TOO_MANY_REQUESTS, "requests", Some("rate_limit_exceeded"), None, message);
                r.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("20"));
                return r;
            }
            Reply::Raw(text) => return (StatusCode::OK, text).into_response(),
        }
    }
}
