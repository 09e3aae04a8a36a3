//! The server against hostile clients and neighbours: connections that stall or pile up,
//! security headers, and who may read its files. Each test runs its own server (SQLite, no job
//! runner) with the settings it needs, so small timeouts never touch the shared server.

use std::path::Path;
use std::time::{Duration, Instant};

use switchboard_testkit::ServerProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server that is killed, not asked to stop, when its test fails: a stop waits for the
/// connections the failed test still holds open.
struct Running(ServerProcess);

impl std::ops::Deref for Running {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.kill();
        }
    }
}

fn start(bin: &Path, data: &Path, envs: &[(&str, &str)]) -> Running {
    let mut all = vec![("SWITCHBOARD_JOBS", "false"), ("SWITCHBOARD_EMAIL_POLLER", "false")];
    all.extend_from_slice(envs);
    Running(ServerProcess::start_with(bin, data, None, &all).unwrap())
}

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_switchboard"))
}

fn addr(server: &Running) -> String {
    server.url.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (or `limit` passes: then `None`).
async fn read_until_closed(tcp: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut out = Vec::new();
    match tokio::time::timeout(limit, tcp.read_to_end(&mut out)).await {
        Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
        Err(_) => None,
    }
}

/// Reads one `/healthz` answer from a kept-alive connection: its head, then its body `ok`.
async fn read_healthz(tcp: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while !out.ends_with(b"\r\n\r\nok") {
        let n = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn healthz_within(url: &str, limit: Duration) -> bool {
    let c = crate::support::client_builder().timeout(limit).build().unwrap();
    c.get(format!("{url}/healthz")).send().await.is_ok_and(|r| r.status() == 200)
}

#[tokio::test]
async fn stalled_clients_are_cut_off_while_others_are_served() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(
        binary(),
        &tmp.path().join("data"),
        &[
            ("SWITCHBOARD_HEADER_TIMEOUT_SECS", "2"),
            ("SWITCHBOARD_BODY_STALL_TIMEOUT_SECS", "2"),
            ("SWITCHBOARD_BODY_TIMEOUT_SECS", "4"),
        ],
    );
    let addr = addr(&server);
    let started = Instant::now();

    // A body that promises 100 bytes and sends 10.
    let mut short_body = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"query\":"
    );
    short_body.write_all(head.as_bytes()).await.unwrap();
    // Headers that never end (slowloris).
    let mut short_head = TcpStream::connect(&addr).await.unwrap();
    short_head.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Slow: 1\r\n").as_bytes()).await.unwrap();
    // A body that keeps trickling, never pausing long, but never ending either (announcing less
    // than an anonymous request may send, so it is read rather than refused from its length).
    let mut trickle = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 30000\r\n\r\n"
    );
    trickle.write_all(head.as_bytes()).await.unwrap();
    let (mut trickle_in, mut trickle_out) = trickle.into_split();
    let trickling = tokio::spawn(async move {
        let begun = Instant::now();
        let feed = async {
            while trickle_out.write_all(b" ").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            std::future::pending::<()>().await
        };
        let mut answer = Vec::new();
        // Ended by the server: a 408, or a reset when it closes on bytes it did not read.
        let ended = tokio::select! {
            _ = trickle_in.read_to_end(&mut answer) => true,
            () = feed => false,
            () = tokio::time::sleep(Duration::from_secs(15)) => false,
        };
        (ended, String::from_utf8_lossy(&answer).into_owned(), begun.elapsed())
    });
    // A kept-alive connection that has finished its request and says nothing more.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await.unwrap();

    // Everyone else is served meanwhile, at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(healthz_within(&server.url, Duration::from_secs(1)).await, "others are served while clients stall");

    let answer = read_until_closed(&mut short_body, Duration::from_secs(10)).await;
    let answer = answer.expect("a stalled body must not hold its connection open");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "a JSON error with its code: {answer}");
    let head = answer.to_ascii_lowercase();
    for header in
        ["x-frame-options: deny", "content-security-policy: default-src 'none'", "x-content-type-options: nosniff"]
    {
        assert!(head.contains(header), "the 408 carries the security headers ({header}): {answer}");
    }
    assert!(started.elapsed() >= Duration::from_millis(1500), "not before the timeout: {:?}", started.elapsed());

    let answer = read_until_closed(&mut short_head, Duration::from_secs(10)).await;
    assert!(answer.is_some(), "unfinished headers must not hold their connection open");
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());

    let answer = read_until_closed(&mut idle, Duration::from_secs(10)).await;
    let answer = answer.expect("an idle kept-alive connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let (ended, answer, took) = trickling.await.unwrap();
    assert!(ended, "a body that trickles forever is ended by the server");
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(10),
        "the whole body has a deadline: {took:?}"
    );

    // And the server still serves.
    assert!(healthz_within(&server.url, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn connections_past_the_cap_wait_without_harming_those_being_served() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(binary(), &tmp.path().join("data"), &[("SWITCHBOARD_MAX_CONNECTIONS", "2")]);
    let addr = addr(&server);
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");

    // Two slots: one kept-alive connection that is being served, one slowloris.
    let mut served = TcpStream::connect(&addr).await.unwrap();
    served.write_all(request.as_bytes()).await.unwrap();
    assert!(read_healthz(&mut served).await.starts_with("HTTP/1.1 200"));
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n").as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A third waits for a slot...
    let url = server.url.clone();
    let mut third = tokio::spawn(async move { healthz_within(&url, Duration::from_secs(30)).await });
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), &mut third).await.is_err(),
        "a connection past the cap is not served while the cap is full"
    );
    // ...while the connection being served keeps being served.
    served.write_all(request.as_bytes()).await.unwrap();
    let answer = read_healthz(&mut served).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // A slot frees up: the third is served.
    drop(slow);
    let third = tokio::time::timeout(Duration::from_secs(5), third).await.expect("served once a slot is free");
    assert!(third.unwrap());
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

#[tokio::test]
async fn pages_and_api_responses_carry_security_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let web = tmp.path().join("dist");
    std::fs::create_dir_all(web.join("portal")).unwrap();
    std::fs::write(web.join("index.html"), "<html>helpdesk shell</html>").unwrap();
    std::fs::write(web.join("portal/index.html"), "<html>portal shell</html>").unwrap();
    let web_dir = web.to_str().unwrap();
    let server = start(
        binary(),
        &tmp.path().join("data"),
        &[("SWITCHBOARD_WEB_DIR", web_dir), ("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.1")],
    );
    let c = crate::support::client();

    for path in ["/", "/portal/tickets/SD-00001"] {
        let r = c.get(format!("{}{path}", server.url)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let csp = header(&r, "content-security-policy");
        // Scripts only from the bundle itself: no inline script, no other origin.
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(header(&r, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&r, "referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header(&r, "strict-transport-security"), "", "{path}: plain HTTP gets no HSTS");
    }

    let api = c
        .post(format!("{}/graphql", server.url))
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&api, "content-security-policy").split(';').next(), Some("default-src 'none'"));
    assert_eq!(header(&api, "x-frame-options"), "DENY");
    assert_eq!(header(&api, "x-content-type-options"), "nosniff");
    assert_eq!(header(&api, "referrer-policy"), "no-referrer");
    assert_eq!(header(&api, "strict-transport-security"), "");

    // Behind the trusted proxy that terminated TLS: HSTS.
    let proxied = c.get(format!("{}/", server.url)).header("X-Forwarded-Proto", "https").send().await.unwrap();
    assert!(header(&proxied, "strict-transport-security").starts_with("max-age="));
    // The same claim from a caller that is not a trusted proxy is not believed.
    let other_tmp = tempfile::tempdir().unwrap();
    let untrusted = start(binary(), &other_tmp.path().join("data"), &[("SWITCHBOARD_WEB_DIR", web_dir)]);
    let spoofed =
        c.get(format!("{}/healthz", untrusted.url)).header("X-Forwarded-Proto", "https").send().await.unwrap();
    assert_eq!(header(&spoofed, "strict-transport-security"), "");
    drop(untrusted);
    // A public URL on https: every response.
    let https_tmp = tempfile::tempdir().unwrap();
    let https =
        start(binary(), &https_tmp.path().join("data"), &[("SWITCHBOARD_PUBLIC_URL", "https://help.example.com")]);
    let r = c.get(format!("{}/healthz", https.url)).send().await.unwrap();
    assert!(header(&r, "strict-transport-security").starts_with("max-age="));
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    // The binary under the usual umask 022, whatever the test runner's is.
    let wrapper = tmp.path().join("switchboard-umask-022");
    std::fs::write(&wrapper, format!("#!/bin/sh\numask 022\nexec '{}' \"$@\"\n", binary().display())).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mode =
        |p: &Path| std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777;

    // A fresh install.
    let data = tmp.path().join("fresh");
    let server = start(&wrapper, &data, &[]);
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("attachments")), 0o700, "the attachments directory");
    for file in ["switchboard.db", "switchboard.db-wal", "switchboard.db-shm", "jwt-secret"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    drop(server);

    // An older install whose files anyone could read is tightened at start.
    let data = tmp.path().join("older");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(data.join("jwt-secret"), "0123456789abcdef0123456789abcdef").unwrap();
    std::fs::write(data.join("switchboard.db"), "").unwrap();
    std::fs::create_dir(data.join("attachments")).unwrap();
    for (p, m) in [("jwt-secret", 0o644), ("switchboard.db", 0o644), ("attachments", 0o755)] {
        std::fs::set_permissions(data.join(p), std::fs::Permissions::from_mode(m)).unwrap();
    }
    let server = start(&wrapper, &data, &[]);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("attachments")), 0o700);
    for file in ["switchboard.db", "switchboard.db-wal", "switchboard.db-shm", "jwt-secret"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    assert!(healthz_within(&server.url, Duration::from_secs(2)).await, "and the server works");
}

/// The peak memory of a process so far (VmHWM), in bytes.
#[cfg(target_os = "linux")]
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test]
async fn websockets_hold_their_place_under_the_cap_and_silent_ones_are_closed() {
    use crate::websocket::{listen, raw_socket, text_frame};
    let tmp = tempfile::tempdir().unwrap();
    let server = start(
        binary(),
        &tmp.path().join("data"),
        &[
            ("SWITCHBOARD_MAX_CONNECTIONS", "2"),
            ("SWITCHBOARD_WS_INIT_TIMEOUT_SECS", "3"),
            ("SWITCHBOARD_WS_PING_SECS", "2"),
        ],
    );
    let addr = addr(&server);

    // Two sockets that never send connection_init fill the cap...
    let (mut a, mut b) = (raw_socket(&addr).await, raw_socket(&addr).await);
    let opened = Instant::now();
    let url = server.url.clone();
    let mut third = tokio::spawn(async move { healthz_within(&url, Duration::from_secs(30)).await });
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), &mut third).await.is_err(),
        "an upgraded connection keeps its place under the cap"
    );
    // ...until the init timeout closes them, with 4408.
    for socket in [&mut a, &mut b] {
        let heard = listen(socket, Duration::from_secs(8), None).await;
        let (code, reason) = heard.close.clone().unwrap_or_else(|| panic!("not closed: {heard:?}"));
        assert_eq!(code, 4408, "{reason}");
        assert!(reason.starts_with("REQUEST_TIMEOUT: "), "{reason}");
    }
    assert!(opened.elapsed() >= Duration::from_millis(2500), "not before the timeout: {:?}", opened.elapsed());
    drop((a, b));
    let third = tokio::time::timeout(Duration::from_secs(5), third).await.expect("served once the sockets closed");
    assert!(third.unwrap());

    // A signed-in socket that stops answering pings is closed; one that answers stays.
    server.cli(&["workspace", "create", "--slug", "edge", "--name", "Edge"], &[]).unwrap();
    let token =
        server.cli(&["token", "create", "--workspace", "edge", "--name", "ws"], &[]).unwrap().trim().to_string();
    let init = serde_json::json!({ "type": "connection_init", "payload": { "token": token } }).to_string();
    let mut silent = raw_socket(&addr).await;
    tokio::io::AsyncWriteExt::write_all(&mut silent, &text_frame(&init)).await.unwrap();
    let heard = listen(&mut silent, Duration::from_secs(5), Some("connection_ack")).await;
    assert!(heard.texts.iter().any(|t| t.contains("connection_ack")), "{heard:?}");
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{addr}/graphql/ws"
    ))
    .unwrap();
    req.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut lively, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    use futures_util::{SinkExt, StreamExt};
    lively.send(tokio_tungstenite::tungstenite::Message::text(init)).await.unwrap();
    // tungstenite answers pings while it is read: this one reads on until its socket closes.
    let lively = tokio::spawn(async move {
        loop {
            match lively.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(c))) => return c.map(|c| u16::from(c.code)),
                Some(Ok(_)) => continue,
                other => panic!("ended without a close frame: {other:?}"),
            }
        }
    });
    let heard = listen(&mut silent, Duration::from_secs(10), None).await;
    assert!(heard.pinged, "the server pings: {heard:?}");
    let (code, reason) = heard.close.clone().unwrap_or_else(|| panic!("a silent peer was not closed: {heard:?}"));
    assert_eq!(code, 1001, "{reason}");
    assert!(reason.starts_with("REQUEST_TIMEOUT: "), "{reason}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!lively.is_finished(), "a peer that answers pings stays connected");

    // Stopping the server closes its sockets (1012: connect again) rather than waiting for them.
    let stopping = tokio::task::spawn_blocking(move || drop(server));
    let close = tokio::time::timeout(Duration::from_secs(5), lively).await.expect("closed at shutdown").unwrap();
    assert_eq!(close, Some(1012));
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("the server stops").unwrap();
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn oversized_requests_on_every_transport_leave_the_server_small() {
    use crate::websocket::{frame_header, listen, raw_socket};
    let tmp = tempfile::tempdir().unwrap();
    let server = start(binary(), &tmp.path().join("data"), &[]);
    let addr = addr(&server);
    assert!(healthz_within(&server.url, Duration::from_secs(2)).await);
    let before = peak_rss(server.pid);

    // What grew the server to 1.7 GB (one 29 MiB POST) and 3.3 GB (one 60 MiB WebSocket message
    // before connection_init), several at once.
    let body = format!("{{\"query\": \"{{ __typename }}\", \"variables\": {{\"a\": [{}0]}}}}", "0,".repeat(29 << 19));
    let body = std::sync::Arc::new(body.into_bytes());
    let mut posts = Vec::new();
    for chunked in [false, true, false, true] {
        let (addr, body) = (addr.clone(), body.clone());
        posts.push(tokio::spawn(async move {
            let mut tcp = TcpStream::connect(&addr).await.unwrap();
            let length = if chunked {
                "Transfer-Encoding: chunked".to_string()
            } else {
                format!("Content-Length: {}", body.len())
            };
            let head =
                format!("POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{length}\r\n\r\n");
            tcp.write_all(head.as_bytes()).await.unwrap();
            let (mut rx, mut tx) = tcp.into_split();
            let writer = tokio::spawn(async move {
                for chunk in body.chunks(1 << 20) {
                    if chunked {
                        tx.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
                    }
                    tx.write_all(chunk).await?;
                    if chunked {
                        tx.write_all(b"\r\n").await?;
                    }
                }
                Ok::<_, std::io::Error>(())
            });
            let mut answer = vec![0u8; 512];
            let n = tokio::time::timeout(Duration::from_secs(20), rx.read(&mut answer)).await.unwrap().unwrap_or(0);
            writer.abort();
            String::from_utf8_lossy(&answer[..n]).into_owned()
        }));
    }
    let mut sockets = Vec::new();
    for _ in 0..2 {
        let addr = addr.clone();
        sockets.push(tokio::spawn(async move {
            let (mut rx, mut tx) = raw_socket(&addr).await.into_split();
            let writer = tokio::spawn(async move {
                for i in 0..4 {
                    let mut f = frame_header(i == 3, if i == 0 { 1 } else { 0 }, 15 << 20);
                    f.extend(std::iter::repeat_n(b'0', 15 << 20));
                    tx.write_all(&f).await?;
                }
                Ok::<_, std::io::Error>(())
            });
            let heard = listen(&mut rx, Duration::from_secs(20), None).await;
            writer.abort();
            heard
        }));
    }
    for post in posts {
        let answer = post.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    }
    for socket in sockets {
        let heard = socket.await.unwrap();
        assert_eq!(heard.close.map(|c| c.0), Some(1009), "{:?}", heard.texts);
    }
    let grown = peak_rss(server.pid).saturating_sub(before);
    assert!(grown < 64 << 20, "the server's peak memory grew by {} MiB", grown >> 20);
    assert!(healthz_within(&server.url, Duration::from_secs(2)).await);
}
