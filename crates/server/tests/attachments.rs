//! Attachments on more than one machine: two `switchboard serve` processes on one database, each
//! with a data dir of its own, share their attachment files through a shared directory
//! (`SWITCHBOARD_ATTACHMENTS_DIR`) or an S3-compatible bucket (`SWITCHBOARD_ATTACHMENTS_S3_*`),
//! so a file that arrived through one is downloaded through the other.
//!
//! The S3 test runs against moto's S3 server (`pip install 'moto[server]'`), started here from
//! the `moto_server` command named by TEST_MOTO_SERVER (`.ci/run` installs it and sets that).

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_testkit::ServerProcess;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_switchboard"))
}

async fn gql(url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = http().post(format!("{url}/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let body: Value = req.send().await.unwrap().json().await.unwrap();
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

async fn login(url: &str) -> String {
    let q = "mutation { login(email: \"agent@demo.switchboard.test\", password: \"demo-agent\") { token } }";
    gql(url, None, q, json!({})).await["login"]["token"].as_str().unwrap().to_string()
}

/// Replies on a demo ticket through `url` with a file attached (a GraphQL multipart upload);
/// returns the attachment's download path.
async fn reply_with_file(url: &str, token: &str, bytes: &[u8]) -> String {
    let ticket = gql(url, Some(token), "{ tickets(first: 1) { nodes { id } } }", json!({})).await["tickets"]["nodes"]
        [0]["id"]
        .clone();
    let operations = json!({
        "query": "mutation($t: ID!, $f: [Upload!]) { reply(ticketId: $t, body: \"See the log\", attachments: $f) { attachments { url } } }",
        "variables": { "t": ticket, "f": [null] },
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.f.0"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("server.log").mime_str("text/plain").unwrap(),
        );
    let resp = http().post(format!("{url}/graphql")).bearer_auth(token).multipart(form).send().await.unwrap();
    let body: Value = resp.json().await.unwrap();
    body["data"]["reply"]["attachments"][0]["url"].as_str().unwrap_or_else(|| panic!("upload: {body}")).to_string()
}

async fn download(url: &str, token: &str, path: &str) -> (u16, Vec<u8>) {
    let resp = http().get(format!("{url}{path}")).bearer_auth(token).send().await.unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

/// Two servers on one SQLite database, each with its own data dir and the given settings.
fn two_servers(root: &Path, envs: &[(&str, &str)]) -> (ServerProcess, ServerProcess) {
    let db = format!("sqlite://{}", root.join("shared.db").display());
    let mut envs = envs.to_vec();
    envs.push(("SWITCHBOARD_JWT_SECRET", "attachments-test-secret-0123456789abcdef"));
    let a = ServerProcess::start_with(bin(), &root.join("a"), Some(&db), &envs).unwrap();
    a.cli(&["seed"], &envs).unwrap();
    let b = ServerProcess::start_with(bin(), &root.join("b"), Some(&db), &envs).unwrap();
    (a, b)
}

#[tokio::test]
async fn a_shared_directory_serves_every_replicas_uploads() {
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared-attachments");
    let (a, b) = two_servers(tmp.path(), &[("SWITCHBOARD_ATTACHMENTS_DIR", shared.to_str().unwrap())]);
    let token = login(&a.url).await;
    let path = reply_with_file(&a.url, &token, b"disk full at 03:12").await;
    assert_eq!(download(&b.url, &token, &path).await, (200, b"disk full at 03:12".to_vec()));
    // The file went to the shared directory, not into either server's data dir.
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"disk full at 03:12"));
    assert!(shared.join(&sha[..2]).join(&sha).is_file());
    assert!(!tmp.path().join("a/attachments").join(&sha[..2]).exists());
    assert!(!tmp.path().join("b/attachments").join(&sha[..2]).exists());
}

/// moto's S3 server on a free port, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let cmd = std::env::var("TEST_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&cmd)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd} (pip install 'moto[server]', or set TEST_MOTO_SERVER): {e}"));
        let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not listen on {port} within 30 s");
    }

    /// Sends one plain HTTP request (moto takes unsigned ones) and returns the response text.
    fn request(&self, method: &str, path: &str) -> String {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        write!(tcp, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        tcp.read_to_string(&mut out).unwrap();
        out
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn an_s3_bucket_serves_every_replicas_uploads() {
    let moto = Moto::start();
    assert!(moto.request("PUT", "/helpdesk").starts_with("HTTP/1.1 200"));
    let tmp = tempfile::tempdir().unwrap();
    let envs = [
        ("SWITCHBOARD_ATTACHMENTS_S3_BUCKET", "helpdesk"),
        ("SWITCHBOARD_ATTACHMENTS_S3_ENDPOINT", moto.endpoint.as_str()),
        ("SWITCHBOARD_ATTACHMENTS_S3_PREFIX", "acme/"),
        ("SWITCHBOARD_ATTACHMENTS_S3_ACCESS_KEY_ID", "test-key"),
        ("SWITCHBOARD_ATTACHMENTS_S3_SECRET_ACCESS_KEY", "test-secret"),
    ];
    let (a, b) = two_servers(tmp.path(), &envs);
    let token = login(&a.url).await;
    let bytes = b"kernel: out of memory".repeat(1000);
    let path = reply_with_file(&a.url, &token, &bytes).await;
    assert_eq!(download(&b.url, &token, &path).await, (200, bytes.clone()));
    // The object sits in the bucket under the prefix, named by its SHA-256; no server kept a copy.
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let listing = moto.request("GET", "/helpdesk?list-type=2&prefix=acme/");
    assert!(listing.contains(&format!("<Key>acme/{}/{sha}</Key>", &sha[..2])), "{listing}");
    assert!(!tmp.path().join("a/attachments").join(&sha[..2]).exists());
    assert!(!tmp.path().join("b/attachments").join(&sha[..2]).exists());
}

/// The store's other operations on the bucket: listing (what `migrate-data` copies) and the
/// retention purge's delete, which leaves recently written bytes alone.
#[tokio::test]
async fn the_s3_store_lists_and_purges_like_the_directory() {
    let moto = Moto::start();
    assert!(moto.request("PUT", "/purge").starts_with("HTTP/1.1 200"));
    let store = switchboard_desk::BlobStore::s3(&switchboard_desk::S3Settings {
        bucket: "purge".into(),
        endpoint: Some(moto.endpoint.clone()),
        region: "us-east-1".into(),
        prefix: "one".into(),
        access_key_id: Some("k".into()),
        secret_access_key: Some("s".into()),
    })
    .unwrap();
    let sha = store.put(b"old transcript").await.unwrap();
    assert_eq!(store.list().await.unwrap(), vec![sha.clone()]);
    assert_eq!(store.get(&sha).await.unwrap(), b"old transcript");
    // Written just now: a purge racing an upload must not take it.
    assert!(!store.delete_unless_recent(&sha, Duration::from_secs(3600)).await.unwrap());
    assert_eq!(store.get(&sha).await.unwrap(), b"old transcript");
    assert!(store.delete_unless_recent(&sha, Duration::ZERO).await.unwrap());
    assert!(matches!(store.get(&sha).await, Err(switchboard_desk::DeskError::NotFound(_))));
    assert!(store.list().await.unwrap().is_empty());
    assert!(!store.delete_unless_recent(&sha, Duration::ZERO).await.unwrap(), "already gone");
}

/// An HTTP client with the server's TLS provider (reqwest has no default one in this build).
fn http() -> reqwest::Client {
    switchboard_desk::egress::http_client_builder().build().expect("HTTP client")
}
