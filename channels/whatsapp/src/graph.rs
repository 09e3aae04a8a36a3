//! A small client for the parts of Meta's Graph API the channel uses: sending messages,
//! uploading and downloading media. The base URL (with the API version) is configuration, so
//! production talks to `https://graph.facebook.com/v21.0` and tests to a local server.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// What went wrong talking to the Graph API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// Worth trying again later: network trouble, HTTP 429/5xx, or Meta's throughput and pair
    /// rate limit codes.
    Transient(String),
    /// Meta refused the request; retrying the same request will not help.
    Permanent(String),
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphError::Transient(m) | GraphError::Permanent(m) => f.write_str(m),
        }
    }
}

/// Meta's error body: `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: GraphErrorDetail,
}

#[derive(Debug, Deserialize)]
struct GraphErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    error_data: Option<Value>,
}

/// Throughput (130429), pair rate limit (131056), throughput upgrade (131057), temporarily
/// unavailable (131000 "something went wrong", 133004 server unavailable): Meta asks to retry.
const TRANSIENT_CODES: &[i64] = &[4, 80007, 130429, 131000, 131056, 131057, 133004];

#[derive(Debug, Deserialize)]
struct SendResponse {
    #[serde(default)]
    messages: Vec<SentMessage>,
}

#[derive(Debug, Deserialize)]
struct SentMessage {
    id: String,
}

#[derive(Debug, Deserialize)]
struct MediaInfo {
    url: String,
    #[serde(default)]
    mime_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UploadResponse {
    id: String,
}

/// A downloaded media file.
#[derive(Debug, Clone)]
pub struct Media {
    pub bytes: Vec<u8>,
    pub mime_type: String,
}

/// The Graph API client; cheap to clone.
#[derive(Debug, Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: String,
}

/// Largest media file fetched (WhatsApp documents may be up to 100 MB; the desk keeps 25 MB).
const MAX_MEDIA_BYTES: usize = 25 * 1024 * 1024;

impl GraphClient {
    /// A client for `base`, e.g. `https://graph.facebook.com/v21.0`.
    pub fn new(base: &str) -> GraphClient {
        let http = switchboard_desk::egress::http_client_builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client with fixed settings");
        GraphClient { http, base: base.trim_end_matches('/').to_string() }
    }

    /// `POST /{phone-number-id}/messages`; returns the new message's `wamid`.
    pub async fn send_message(&self, phone_number_id: &str, token: &str, body: &Value) -> Result<String, GraphError> {
        let url = format!("{}/{}/messages", self.base, phone_number_id);
        let resp = self.http.post(url).bearer_auth(token).json(body).send().await.map_err(network)?;
        let resp = check(resp).await?;
        let parsed: SendResponse =
            resp.json().await.map_err(|e| GraphError::Transient(format!("unreadable Graph API answer: {e}")))?;
        parsed
            .messages
            .into_iter()
            .next()
            .map(|m| m.id)
            .ok_or_else(|| GraphError::Permanent("the Graph API accepted the message but returned no id".into()))
    }

    /// `POST /{phone-number-id}/media` (multipart); returns the media id to send.
    pub async fn upload_media(
        &self,
        phone_number_id: &str,
        token: &str,
        file_name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<String, GraphError> {
        let url = format!("{}/{}/media", self.base, phone_number_id);
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str(content_type)
            .map_err(|e| GraphError::Permanent(format!("attachment content type {content_type:?}: {e}")))?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", content_type.to_string())
            .part("file", part);
        let resp = self.http.post(url).bearer_auth(token).multipart(form).send().await.map_err(network)?;
        let resp = check(resp).await?;
        let parsed: UploadResponse =
            resp.json().await.map_err(|e| GraphError::Transient(format!("unreadable Graph API answer: {e}")))?;
        Ok(parsed.id)
    }

    /// `GET /{media-id}` for the media's URL, then that URL, both with the bearer token.
    pub async fn download_media(&self, media_id: &str, token: &str) -> Result<Media, GraphError> {
        if media_id.is_empty() || !media_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(GraphError::Permanent(format!("media id {media_id:?} is not one Meta issues")));
        }
        let url = format!("{}/{}", self.base, media_id);
        let resp = self.http.get(url).bearer_auth(token).send().await.map_err(network)?;
        let info: MediaInfo = check(resp)
            .await?
            .json()
            .await
            .map_err(|e| GraphError::Transient(format!("unreadable Graph API answer: {e}")))?;
        let resp = self.http.get(&info.url).bearer_auth(token).send().await.map_err(network)?;
        let resp = check(resp).await?;
        let header_type =
            resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = resp.bytes().await.map_err(network)?;
        if bytes.len() > MAX_MEDIA_BYTES {
            return Err(GraphError::Permanent(format!("media {media_id} is larger than 25 MB")));
        }
        let mime_type = info.mime_type.or(header_type).unwrap_or_else(|| "application/octet-stream".into());
        Ok(Media { bytes: bytes.to_vec(), mime_type })
    }
}

fn network(e: reqwest::Error) -> GraphError {
    GraphError::Transient(format!("Graph API unreachable: {e}"))
}

/// Passes a success through; turns an error status and Meta's error body into a [`GraphError`].
async fn check(resp: reqwest::Response) -> Result<reqwest::Response, GraphError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let text = resp.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<ErrorBody>(&text).ok().map(|b| b.error);
    let message = match &detail {
        Some(d) => {
            let mut m = format!("WhatsApp error {}", d.code.map(|c| c.to_string()).unwrap_or_else(|| "?".into()));
            if let Some(sub) = d.error_subcode {
                m.push_str(&format!(" (subcode {sub})"));
            }
            m.push_str(&format!(": {}", d.message));
            if let Some(details) = d.error_data.as_ref().and_then(|v| v.get("details")).and_then(Value::as_str) {
                m.push_str(&format!(" ({details})"));
            }
            m
        }
        None => format!("Graph API answered HTTP {}: {}", status.as_u16(), text.chars().take(300).collect::<String>()),
    };
    let code_transient = detail.and_then(|d| d.code).is_some_and(|c| TRANSIENT_CODES.contains(&c));
    if status.as_u16() == 429 || status.is_server_error() || code_transient {
        Err(GraphError::Transient(message))
    } else {
        Err(GraphError::Permanent(message))
    }
}
