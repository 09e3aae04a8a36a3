//! What the GraphQL endpoints accept before a request reaches the schema: which bodies (and so
//! which cross-site requests) POST /graphql takes, how large a request may be before it is
//! parsed, which pages may open the WebSocket, and how a body that is not a GraphQL request is
//! answered (JSON with `extensions.code`, like every error).
//!
//! The document budget (`switchboard_graphql::Budget`) is checked once the request is parsed;
//! what bounds the parsing itself is here. A JSON request becomes a tree of values many times its
//! size (`[0,0,...]` takes about 40 bytes per 2 bytes of input), so its bytes, the number of its
//! values and their nesting are capped first, from the raw text, for every transport: a JSON
//! POST, the `operations` part of an upload, and each WebSocket message.

use std::collections::HashMap;

use async_graphql::ParseRequestError;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

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

/// How large one GraphQL request may be as JSON (document, variables and extensions together),
/// checked on its raw text before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonBudget {
    /// Bytes of the JSON request (of a multipart request's `operations` part, of a WebSocket
    /// message).
    pub max_bytes: usize,
    /// Values in it, containers and object keys included.
    pub max_values: usize,
    /// Arrays and objects nested in one another.
    pub max_nesting: usize,
}

impl JsonBudget {
    /// Without a sign-in: signing in, a sign-in link, a password reset need a few hundred bytes.
    pub const ANONYMOUS: JsonBudget = JsonBudget { max_bytes: 32 * 1024, max_values: 1_000, max_nesting: 32 };
    /// Signed in: the web UI's largest request is an automation rule set (25 rules, a JSON text
    /// in a JSON string, escaped twice) or a 20,000-character reply, under 1 MiB at worst.
    pub const SIGNED_IN: JsonBudget = JsonBudget { max_bytes: 1024 * 1024, max_values: 20_000, max_nesting: 32 };
}

/// The request budgets for anonymous and signed-in callers (`SWITCHBOARD_GRAPHQL_*MAX_BODY_BYTES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestCaps {
    pub anonymous: JsonBudget,
    pub signed_in: JsonBudget,
}

impl Default for RequestCaps {
    fn default() -> Self {
        RequestCaps { anonymous: JsonBudget::ANONYMOUS, signed_in: JsonBudget::SIGNED_IN }
    }
}

impl RequestCaps {
    /// The budget of a caller who did or did not sign in.
    pub fn for_caller(&self, signed_in: bool) -> JsonBudget {
        if signed_in { self.signed_in } else { self.anonymous }
    }
}

/// Why a JSON request was refused before it was parsed; the message names the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge(pub String);

fn without_sign_in(signed_in: bool) -> &'static str {
    if signed_in { "" } else { " without signing in" }
}

/// Refuses a JSON text whose byte length, number of values or nesting is over `budget`, reading
/// it once, without allocating. Malformed JSON passes: the parser names what is wrong with it.
pub fn check_json(json: &[u8], budget: &JsonBudget, signed_in: bool) -> Result<(), TooLarge> {
    let hint = without_sign_in(signed_in);
    if json.len() > budget.max_bytes {
        return Err(TooLarge(format!(
            "the request is {} bytes; at most {} are accepted{hint}",
            json.len(),
            budget.max_bytes
        )));
    }
    let (mut depth, mut values, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &c in json {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            // Every value but a container's first element follows a `,` or a `:`; containers
            // count themselves, so the count is never under the values the parser will build.
            b'{' | b'[' | b',' | b':' => {
                values += 1;
                if values > budget.max_values {
                    return Err(TooLarge(format!(
                        "the request holds more than {} JSON values (variables included){hint}",
                        budget.max_values
                    )));
                }
                if matches!(c, b'{' | b'[') {
                    depth += 1;
                    if depth > budget.max_nesting {
                        return Err(TooLarge(format!(
                            "the request nests arrays and objects more than {} levels deep",
                            budget.max_nesting
                        )));
                    }
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn payload_too_large(TooLarge(message): TooLarge) -> Response {
    error_json(ErrorCode::PayloadTooLarge, &message)
}

/// Reads the GraphQL request of a POST whose headers passed [`refuse_body_kind`], within the
/// caller's budget: a JSON body, or a multipart upload (signed-in callers only) whose
/// `operations` and `map` parts are held to the budget while its files keep the attachment
/// limits (the whole body's limit, then each attachment's size when it is stored).
pub async fn read_request(
    headers: &HeaderMap,
    body: Request,
    caps: &RequestCaps,
    signed_in: bool,
) -> Result<async_graphql::Request, Response> {
    let budget = caps.for_caller(signed_in);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.trim_start().to_ascii_lowercase().starts_with("multipart/") {
        if !signed_in {
            return Err(error_json(
                ErrorCode::UploadNeedsAuthorization,
                "a multipart (upload) request needs a signed-in caller's Authorization header",
            ));
        }
        return read_multipart(content_type, body, &budget).await;
    }
    let announced = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if let Some(len) = announced.filter(|len| *len > budget.max_bytes as u64) {
        // Refused from the header, before a byte of the body is read.
        return Err(payload_too_large(TooLarge(format!(
            "the request is {len} bytes; at most {} are accepted{}",
            budget.max_bytes,
            without_sign_in(signed_in)
        ))));
    }
    let mut data = Vec::new();
    let mut stream = body.into_body().into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| BodyRejection(ParseRequestError::Io(std::io::Error::other(e))).into_response())?;
        if data.len() + chunk.len() > budget.max_bytes {
            return Err(payload_too_large(TooLarge(format!(
                "the request is more than {} bytes, which is all that is accepted{}",
                budget.max_bytes,
                without_sign_in(signed_in)
            ))));
        }
        data.extend_from_slice(&chunk);
    }
    parse_json_request(&data, &budget, signed_in).map_err(IntoResponse::into_response)
}

/// Why a JSON request could not become a GraphQL request.
pub enum Refusal {
    TooLarge(TooLarge),
    Body(BodyRejection),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::TooLarge(t) => payload_too_large(t),
            Refusal::Body(b) => b.into_response(),
        }
    }
}

/// Checks then parses one JSON GraphQL request (a batch is refused unparsed).
pub fn parse_json_request(
    json: &[u8],
    budget: &JsonBudget,
    signed_in: bool,
) -> Result<async_graphql::Request, Refusal> {
    if json.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'[') {
        return Err(Refusal::Body(BodyRejection(ParseRequestError::UnsupportedBatch)));
    }
    check_json(json, budget, signed_in).map_err(Refusal::TooLarge)?;
    serde_json::from_slice(json)
        .map_err(|e| Refusal::Body(BodyRejection(ParseRequestError::InvalidRequest(Box::new(e)))))
}

/// A GraphQL multipart request (the spec's `operations`, `map`, then the files).
async fn read_multipart(
    content_type: &str,
    body: Request,
    budget: &JsonBudget,
) -> Result<async_graphql::Request, Response> {
    let rejected = |e: ParseRequestError| BodyRejection(e).into_response();
    let boundary =
        multer::parse_boundary(content_type).map_err(|e| rejected(ParseRequestError::InvalidMultipart(e)))?;
    let part_limit = budget.max_bytes as u64;
    let limits = multer::SizeLimit::new().for_field("operations", part_limit).for_field("map", part_limit);
    let mut multipart = multer::Multipart::with_constraints(
        body.into_body().into_data_stream(),
        boundary,
        multer::Constraints::new().size_limit(limits),
    );
    let too_large = |e: multer::Error| match e {
        multer::Error::FieldSizeExceeded { limit, field_name } => payload_too_large(TooLarge(format!(
            "the upload's {} part is larger than {limit} bytes, which is all that is accepted",
            field_name.as_deref().unwrap_or("JSON")
        ))),
        e => rejected(ParseRequestError::InvalidMultipart(e)),
    };
    let (mut request, mut map) = (None, None);
    let mut files: Vec<(String, async_graphql::UploadValue)> = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        match field.name() {
            Some("operations") => {
                let json = field.bytes().await.map_err(too_large)?;
                request = Some(parse_json_request(&json, budget, true).map_err(IntoResponse::into_response)?);
            }
            Some("map") => {
                let json = field.bytes().await.map_err(too_large)?;
                check_json(&json, budget, true).map_err(payload_too_large)?;
                map = Some(
                    serde_json::from_slice::<HashMap<String, Vec<String>>>(&json)
                        .map_err(|e| rejected(ParseRequestError::InvalidFilesMap(Box::new(e))))?,
                );
            }
            Some(name) => {
                let Some(filename) = field.file_name().map(str::to_string) else { continue };
                let name = name.to_string();
                let content_type = field.content_type().map(ToString::to_string);
                let content: Bytes = field.bytes().await.map_err(too_large)?;
                files.push((name, async_graphql::UploadValue { filename, content_type, content }));
            }
            None => {}
        }
    }
    let mut request = request.ok_or_else(|| rejected(ParseRequestError::MissingOperatorsPart))?;
    let mut map = map.ok_or_else(|| rejected(ParseRequestError::MissingMapPart))?;
    for (name, upload) in files {
        for path in map.remove(&name).unwrap_or_default() {
            request.set_upload(&path, upload.try_clone().map_err(|e| rejected(ParseRequestError::Io(e)))?);
        }
    }
    if !map.is_empty() {
        return Err(rejected(ParseRequestError::MissingFiles));
    }
    Ok(request)
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
    fn json_requests_are_measured_before_they_are_parsed() {
        let budget = JsonBudget { max_bytes: 1_000, max_values: 20, max_nesting: 3 };
        let ok = br#"{"query": "{ a }", "variables": {"x": [1, 2, 3], "s": "[[[[,,,,:::]]]]"}}"#;
        assert_eq!(check_json(ok, &budget, true), Ok(()), "brackets and commas inside strings do not count");
        let many = format!("{{\"query\": \"{{ a }}\", \"variables\": {{\"x\": [{}0]}}}}", "0,".repeat(30));
        assert!(check_json(many.as_bytes(), &budget, false).unwrap_err().0.contains("more than 20 JSON values"));
        let deep = br#"{"variables": {"x": [[[[1]]]]}}"#;
        assert!(check_json(deep, &budget, true).unwrap_err().0.contains("3 levels"));
        let long = format!("{{\"query\": \"{}\"}}", "a".repeat(1_000));
        assert!(check_json(long.as_bytes(), &budget, false).unwrap_err().0.contains("without signing in"));
        // An escaped quote does not end a string.
        let escaped = br#"{"query": "\"[[[[[[\"", "variables": {}}"#;
        assert_eq!(check_json(escaped, &budget, true), Ok(()));
        // Containers count, so a list of empty lists is not free.
        let empties = format!("[{}[]]", "[],".repeat(15));
        assert!(check_json(empties.as_bytes(), &budget, true).is_err());
    }

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
