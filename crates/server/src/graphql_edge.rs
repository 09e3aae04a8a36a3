//! What the GraphQL endpoints accept before a request reaches the schema: which bodies (and so
//! which cross-site requests) POST /graphql takes, which pages may open the WebSocket, and how a
//! body that is not a GraphQL request is answered (JSON with `extensions.code`, like every error).

use async_graphql::ParseRequestError;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use switchboard_desk::domain::ErrorCode;

use crate::app::error_json;

/// Why a POST to /graphql is refused from its headers alone, before its body is read.
///
/// A page on another site can make a browser send a "simple" cross-site POST (`text/plain`,
/// `application/x-www-form-urlencoded` or `multipart/form-data`, without custom headers) with no
/// preflight, from the victim's own address: enough to spend their sign-in attempts. So the API
/// takes JSON only (a cross-site JSON POST needs a preflight this server never grants), and
/// multipart uploads only with an `Authorization` header, which is not safelisted either.
pub fn refuse_body_kind(headers: &HeaderMap) -> Option<Response> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => None,
        "multipart/form-data" if headers.contains_key(header::AUTHORIZATION) => None,
        "multipart/form-data" => Some(error_json(
            ErrorCode::UploadNeedsAuthorization,
            "a multipart (upload) request must carry an Authorization header",
        )),
        _ => Some(error_json(
            ErrorCode::UnsupportedMediaType,
            &format!(
                "POST /graphql takes Content-Type: application/json (multipart/form-data for uploads), not {}",
                if content_type.is_empty() {
                    "a body without a Content-Type".to_string()
                } else {
                    quoted(content_type)
                }
            ),
        )),
    }
}

/// A value from the request, quoted and cut short: errors never echo large input.
fn quoted(s: &str) -> String {
    const MAX: usize = 100;
    match s.char_indices().nth(MAX) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
    }
}

/// A body the GraphQL extractor could not read, answered as a coded JSON error.
pub struct BodyRejection(pub ParseRequestError);

impl From<ParseRequestError> for BodyRejection {
    fn from(e: ParseRequestError) -> Self {
        BodyRejection(e)
    }
}

impl IntoResponse for BodyRejection {
    fn into_response(self) -> Response {
        use ParseRequestError as E;
        let bad = |message: String| error_json(ErrorCode::BadRequest, &cut(message));
        match self.0 {
            E::PayloadTooLarge => too_large(),
            // The body limit surfaces as a read error when the body has no Content-Length.
            E::Io(e) if e.to_string().contains("length limit exceeded") => too_large(),
            E::Io(e) => bad(format!("the request body could not be read: {e}")),
            E::InvalidRequest(e) => {
                bad(format!("the body is not a GraphQL request (JSON with a \"query\" string): {e}"))
            }
            E::UnsupportedBatch => error_json(
                ErrorCode::BatchNotSupported,
                "batched requests are not supported: send one operation per request",
            ),
            E::InvalidFilesMap(e) => bad(format!("the upload's \"map\" part is invalid: {e}")),
            E::InvalidMultipart(e) => bad(format!("the multipart body is invalid: {e}")),
            e @ (E::MissingOperatorsPart | E::MissingMapPart | E::NotUpload | E::MissingFiles) => {
                bad(format!("the upload is incomplete: {e}"))
            }
            e => bad(format!("the request could not be read: {e}")),
        }
    }
}

/// The body limit's own refusal (from a too large Content-Length, before any of the body is
/// read) is plain text; every error of this server is coded JSON.
pub async fn coded_payload_too_large(resp: Response) -> Response {
    let plain = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && plain { too_large() } else { resp }
}

fn too_large() -> Response {
    error_json(ErrorCode::PayloadTooLarge, "the request body is larger than this server accepts")
}

fn cut(message: String) -> String {
    const MAX: usize = 300;
    match message.char_indices().nth(MAX) {
        None => message,
        Some((i, _)) => format!("{}… (truncated)", &message[..i]),
    }
}

/// The pages that may open the GraphQL WebSocket: the server's own (the public URL's origin, or
/// the one the request's Host names) and any configured in `SWITCHBOARD_ALLOWED_ORIGINS`.
///
/// Browsers send cookies and the user's address with a WebSocket from any site and never check
/// CORS for it, so the server must check `Origin` itself. Clients that are not browsers send no
/// `Origin` and are let through: the connection still has to sign in.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// From the public URL and the configured extra origins (each `scheme://host[:port]`).
    pub fn new(public_url: Option<&str>, extra: &[String]) -> AllowedOrigins {
        AllowedOrigins(public_url.into_iter().chain(extra.iter().map(String::as_str)).filter_map(origin_of).collect())
    }

    /// `None` when the upgrade may go ahead, else the refusal.
    pub fn refuse(&self, headers: &HeaderMap) -> Option<Response> {
        let origin = headers.get(header::ORIGIN)?;
        let allowed = origin.to_str().ok().and_then(origin_of).is_some_and(|o| {
            self.0.contains(&o) || {
                let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("").to_ascii_lowercase();
                o.split_once("://").is_some_and(|(_, authority)| authority == host)
            }
        });
        (!allowed).then(|| {
            error_json(
                ErrorCode::ForbiddenOrigin,
                &format!(
                    "a page from {} may not open this server's WebSocket; list it in SWITCHBOARD_ALLOWED_ORIGINS to allow it",
                    quoted(origin.to_str().unwrap_or("(not text)"))
                ),
            )
        })
    }
}

/// `scheme://host[:port]` of a URL, lower-cased, without a default port; `None` for anything
/// but http(s) (a sandboxed page's origin is `null`).
pub fn origin_of(url: &str) -> Option<String> {
    let url = url.trim().to_ascii_lowercase();
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{scheme}://{}", authority.strip_suffix(default_port).unwrap_or(authority)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_by_scheme_host_and_port() {
        assert_eq!(origin_of("https://Help.Example.com:443/desk").as_deref(), Some("https://help.example.com"));
        assert_eq!(origin_of("http://localhost:8080").as_deref(), Some("http://localhost:8080"));
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("file:///x"), None);
        let allowed = AllowedOrigins::new(Some("https://help.example.com/"), &["https://intranet.example".into()]);
        let with = |origin: &str, host: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ORIGIN, origin.parse().unwrap());
            h.insert(header::HOST, host.parse().unwrap());
            allowed.refuse(&h).is_none()
        };
        assert!(with("https://help.example.com", "127.0.0.1:8080"));
        assert!(with("https://intranet.example", "127.0.0.1:8080"));
        assert!(with("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(!with("https://evil.example", "127.0.0.1:8080"));
        assert!(!with("https://help.example.com.evil.example", "127.0.0.1:8080"));
        assert!(!with("null", "127.0.0.1:8080"));
        assert!(allowed.refuse(&HeaderMap::new()).is_none(), "no Origin: not a browser");
    }
}
