//! The web UI: serves the built bundle (`web/dist`) for the agent helpdesk at `/` and the
//! customer portal at `/portal`, with a fallback to the right `index.html` for client-side
//! routes, and (from a source checkout) rebuilds the bundle before serving when `web/` changed.

use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use crate::app::AppState;

/// The web UI's Content-Security-Policy. The built bundle is Vite's output: module scripts and
/// stylesheets from `/assets`, no inline script or style element (React sets `style` props
/// through the DOM, which CSP allows), and API calls and the live socket to this origin. Tokens
/// live in localStorage, so no inline script and no other origin may ever run here. Images:
/// `data:` and `blob:` for previews of files the user picks.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
    font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The source checkout's `web/` folder, when the binary runs where it was built.
fn source_web_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    dir.join("package.json").is_file().then_some(dir)
}

/// Where the bundle is served from: `SWITCHBOARD_WEB_DIR` when set; otherwise the source
/// checkout's `web/dist` when the binary runs where it was built (so `cargo run` works from any
/// folder), else `web/dist` under the current directory. The flag says whether the directory
/// was chosen explicitly.
pub fn resolve_dir(configured: Option<String>) -> (PathBuf, bool) {
    if let Some(d) = configured.filter(|d| !d.is_empty()) {
        return (PathBuf::from(d), true);
    }
    match source_web_dir() {
        Some(src) => (src.join("dist"), false),
        None => (PathBuf::from("web/dist"), false),
    }
}

fn newest_mtime(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    let own = meta.modified().ok();
    if !meta.is_dir() {
        return own;
    }
    let children = std::fs::read_dir(path).ok()?.filter_map(Result::ok).filter_map(|e| newest_mtime(&e.path()));
    children.chain(own).max()
}

/// Rebuilds the bundle with npm when the binary runs from its source checkout, the web dir was
/// not set explicitly, and a web source (or the GraphQL schema) is newer than the built
/// `index.html`. Without npm it only warns: the API works and `/` explains how to build.
pub fn build_if_stale(web_dir: &Path) {
    let Some(src) = source_web_dir() else { return };
    if web_dir != src.join("dist") {
        return;
    }
    let inputs = [
        "src",
        "index.html",
        "portal/index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "scripts",
        "../graphql/schema.graphql",
    ];
    let newest_input = inputs.iter().filter_map(|p| newest_mtime(&src.join(p))).max();
    let built = std::fs::metadata(web_dir.join("index.html")).and_then(|m| m.modified()).ok();
    if matches!((newest_input, built), (Some(i), Some(b)) if b >= i) {
        return;
    }
    let npm = |args: &[&str]| std::process::Command::new("npm").args(args).current_dir(&src).status();
    let probe = std::process::Command::new("npm").arg("--version").stdout(std::process::Stdio::null()).status();
    if probe.is_err() {
        tracing::warn!("web/ changed but npm is not installed; the helpdesk UI is not rebuilt");
        return;
    }
    let lock = std::fs::metadata(src.join("package-lock.json")).and_then(|m| m.modified()).ok();
    let installed = std::fs::metadata(src.join("node_modules/.package-lock.json")).and_then(|m| m.modified()).ok();
    if installed.is_none() || lock > installed {
        println!("Installing the web UI's dependencies (npm ci)…");
        if !npm(&["ci", "--no-audit", "--no-fund"]).is_ok_and(|s| s.success()) {
            tracing::warn!("npm ci failed; the helpdesk UI is not rebuilt");
            return;
        }
    }
    println!("Building the web UI (web/ changed)…");
    if !npm(&["run", "build"]).is_ok_and(|s| s.success()) {
        tracing::warn!("npm run build failed; serving the previous bundle, if any");
    }
}

/// Serves a file of the bundle, or the SPA's `index.html` for a client route.
pub async fn serve(State(s): State<AppState>, method: Method, uri: Uri) -> Response {
    let dir = s.web_dir.as_path();
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response();
    }
    let path = uri.path();
    let Some(rel) = safe_relative(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let file = dir.join(&rel);
    if !rel.as_os_str().is_empty() && file.is_file() {
        // Judged on the path inside the bundle: the bundle's own folder may be called anything.
        return send(&file, rel.starts_with("assets")).await;
    }
    // A missing asset (a name with an extension) is a 404, not the app: a stale cached page
    // asking for an old chunk must fail loudly rather than parse HTML as JavaScript.
    let last = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let portal = path == "/portal" || path.starts_with("/portal/");
    let index = if portal { dir.join("portal/index.html") } else { dir.join("index.html") };
    if index.is_file() {
        return send(&index, false).await;
    }
    missing_bundle(dir)
}

/// The request path as a relative path inside the bundle, refusing anything that could climb out.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if part.contains('\\') || part.contains('\0') {
            return None;
        }
        match Path::new(part).components().next() {
            Some(Component::Normal(c)) => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Sends `file`; `immutable` for Vite's hashed files under the bundle's `assets/`.
async fn send(file: &Path, immutable: bool) -> Response {
    match tokio::fs::read(file).await {
        Ok(bytes) => {
            let mut resp = Response::new(Body::from(bytes));
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(file)));
            // Vite puts a content hash in every file name under assets/, so those never change;
            // index.html must be revalidated so a new build is picked up at once.
            let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(APP_CSP));
            resp
        }
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn missing_bundle(dir: &Path) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Switchboard: web UI not built</title></head>\
         <body><h1>The Switchboard web UI is not built</h1>\
         <p>No bundle was found in <code>{}</code>. The GraphQL API is running at <a href=\"/graphql\">/graphql</a>.</p>\
         <p>To build the helpdesk and the customer portal, install Node.js (20.19 or newer) and run:</p>\
         <pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build</pre>\
         <p>or set <code>SWITCHBOARD_WEB_DIR</code> to a folder holding a built bundle.</p></body></html>",
        html_escape(&dir.display().to_string())
    );
    (StatusCode::SERVICE_UNAVAILABLE, Html(page)).into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_the_bundle() {
        assert_eq!(safe_relative("/assets/app.js"), Some(PathBuf::from("assets/app.js")));
        assert_eq!(safe_relative("/"), Some(PathBuf::new()));
        assert_eq!(safe_relative("/../etc/passwd"), None);
        assert_eq!(safe_relative("/assets/..%2f/x"), Some(PathBuf::from("assets/..%2f/x")));
        assert_eq!(safe_relative("/a/./b"), None);
        assert_eq!(safe_relative("/a\\..\\b"), None);
    }
}
