//! The chat model: an OpenAI-compatible `/v1/chat/completions` endpoint the operator configures
//! (`SWITCHBOARD_LLM_URL`, `_API_KEY`, `_MODEL`).
//!
//! The URL comes from the operator's environment, not from a tenant, so it is trusted as a
//! destination (a model on the same host or network is the usual setup) and not put through the
//! outbound guard; what comes back is still bounded: a time limit per call, a size limit on the
//! body, and a circuit breaker that stops calling a provider that keeps failing, so tickets
//! escalate at once instead of waiting out a timeout each.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The largest response body read from the provider.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Consecutive failures that open the circuit.
pub const BREAKER_FAILURES: u32 = 3;

/// Where the chat model is and how long a call may take.
#[derive(Clone)]
pub struct LlmConfig {
    /// The provider's base URL (`https://api.openai.com`, or with `/v1`), or the full
    /// `/chat/completions` URL.
    pub url: String,
    pub api_key: Option<String>,
    pub model: String,
    /// One call's time limit, connecting included.
    pub timeout: Duration,
    /// How long the circuit stays open after [`BREAKER_FAILURES`] failures in a row.
    pub breaker_cooldown: Duration,
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("LlmConfig").field("url", &self.url).field("model", &self.model).finish_non_exhaustive()
    }
}

impl LlmConfig {
    /// A configuration with the default limits (20 s a call, the circuit open for a minute).
    pub fn new(url: &str, api_key: Option<&str>, model: &str) -> LlmConfig {
        LlmConfig {
            url: url.to_string(),
            api_key: api_key.filter(|k| !k.is_empty()).map(str::to_string),
            model: model.to_string(),
            timeout: Duration::from_secs(20),
            breaker_cooldown: Duration::from_secs(60),
        }
    }

    /// The configuration in `SWITCHBOARD_LLM_URL`, `_API_KEY`, `_MODEL` (default `gpt-4o-mini`)
    /// and `_TIMEOUT_SECS` (1 to 120, default 20), or `None` when no URL is set.
    pub fn from_env() -> Option<LlmConfig> {
        let url = std::env::var("SWITCHBOARD_LLM_URL").ok().filter(|u| !u.trim().is_empty())?;
        let key = std::env::var("SWITCHBOARD_LLM_API_KEY").ok();
        let model = std::env::var("SWITCHBOARD_LLM_MODEL").ok().filter(|m| !m.trim().is_empty());
        let mut c = LlmConfig::new(url.trim(), key.as_deref(), model.as_deref().unwrap_or("gpt-4o-mini"));
        if let Some(secs) =
            std::env::var("SWITCHBOARD_LLM_TIMEOUT_SECS").ok().and_then(|s| s.trim().parse::<u64>().ok())
        {
            c.timeout = Duration::from_secs(secs.clamp(1, 120));
        }
        Some(c)
    }

    fn endpoint(&self) -> String {
        let base = self.url.trim_end_matches('/');
        if base.ends_with("/chat/completions") {
            base.to_string()
        } else if base.ends_with("/v1") {
            format!("{base}/chat/completions")
        } else {
            format!("{base}/v1/chat/completions")
        }
    }
}

/// Why a call gave no usable completion. None of these fails a ticket: the engine escalates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    #[error("the answer model did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the answer model refused the call: HTTP {status} {code}")]
    Status { status: u16, code: String },
    #[error("the answer model is rate limited (HTTP 429)")]
    RateLimited,
    #[error("the answer model could not be reached: {0}")]
    Transport(String),
    #[error("the answer model's response is not a chat completion: {0}")]
    Malformed(String),
    #[error("the answer model failed several times in a row; not called until it recovers")]
    CircuitOpen,
}

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

/// The client: one per process, shared by every workspace.
#[derive(Debug)]
pub struct LlmClient {
    config: LlmConfig,
    http: reqwest::Client,
    breaker: Mutex<Breaker>,
}

impl LlmClient {
    /// A client for `config`.
    pub fn new(config: LlmConfig) -> Result<LlmClient, LlmError> {
        let http = switchboard_desk::egress::http_client_builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| LlmError::Transport(e.to_string()))?;
        Ok(LlmClient { config, http, breaker: Mutex::default() })
    }

    /// The configured model's name.
    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// The assistant's content for a system prompt and a user turn.
    pub async fn complete(&self, system: &str, user: &str) -> Result<String, LlmError> {
        {
            let mut b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
            match b.open_until {
                Some(until) if Instant::now() < until => return Err(LlmError::CircuitOpen),
                // Half open: let this call through; one more failure opens it again.
                Some(_) => {
                    b.open_until = None;
                    b.failures = BREAKER_FAILURES - 1;
                }
                None => {}
            }
        }
        let result = self.call(system, user).await;
        let mut b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        match &result {
            Ok(_) => *b = Breaker::default(),
            Err(_) => {
                b.failures += 1;
                if b.failures >= BREAKER_FAILURES {
                    b.open_until = Some(Instant::now() + self.config.breaker_cooldown);
                }
            }
        }
        result
    }

    async fn call(&self, system: &str, user: &str) -> Result<String, LlmError> {
        let body = json!({
            "model": self.config.model,
            "messages": [
                { "role": "system", "content": system },
                { "role": "user", "content": user }
            ],
            "temperature": 0,
            "max_tokens": 600
        });
        let mut req = self.http.post(self.config.endpoint()).json(&body);
        if let Some(key) = &self.config.api_key {
            req = req.bearer_auth(key);
        }
        let timeout = self.config.timeout;
        let transport = |e: reqwest::Error| {
            if e.is_timeout() { LlmError::Timeout(timeout) } else { LlmError::Transport(e.to_string()) }
        };
        let fut = async {
            let mut resp = req.send().await.map_err(transport)?;
            let status = resp.status().as_u16();
            if resp.content_length().is_some_and(|n| n as usize > MAX_RESPONSE_BYTES) {
                return Err(LlmError::Malformed(format!("a body over {MAX_RESPONSE_BYTES} bytes")));
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(transport)? {
                if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(LlmError::Malformed(format!("a body over {MAX_RESPONSE_BYTES} bytes")));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok((status, bytes))
        };
        // The client's timeout covers each read; this bounds the whole call, slow drips included.
        let (status, bytes) = tokio::time::timeout(timeout, fut).await.map_err(|_| LlmError::Timeout(timeout))??;
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status == 429 {
            return Err(LlmError::RateLimited);
        }
        if !(200..300).contains(&status) {
            let code = parsed
                .as_ref()
                .and_then(|v| v.pointer("/error/code").or_else(|| v.pointer("/error/type")))
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string();
            return Err(LlmError::Status { status, code });
        }
        let v = parsed.ok_or_else(|| LlmError::Malformed("the body is not JSON".into()))?;
        v.pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| LlmError::Malformed("no choices[0].message.content".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_found_from_a_base_a_v1_base_or_the_full_url() {
        let e = |u: &str| LlmConfig::new(u, None, "m").endpoint();
        assert_eq!(e("https://api.openai.com"), "https://api.openai.com/v1/chat/completions");
        assert_eq!(e("http://127.0.0.1:8000/v1/"), "http://127.0.0.1:8000/v1/chat/completions");
        assert_eq!(e("http://h/openai/chat/completions"), "http://h/openai/chat/completions");
    }
}
