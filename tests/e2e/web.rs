//! The web UI's bundle: files, the SPA fallback for the helpdesk and the portal, and the page
//! that explains how to build a missing bundle. Uses its own server with a temporary bundle, on
//! SQLite whatever `TEST_DATABASE_URL` says: serving files never touches the database.

use std::path::Path;

use switchboard_testkit::ServerProcess;

fn start(web_dir: &Path, data: &Path) -> ServerProcess {
    ServerProcess::start_with(
        Path::new(env!("CARGO_BIN_EXE_switchboard")),
        data,
        None,
        &[("SWITCHBOARD_WEB_DIR", web_dir.to_str().unwrap()), ("SWITCHBOARD_JOBS", "false")],
    )
    .unwrap()
}

#[tokio::test]
async fn serves_the_bundle_with_a_fallback_for_client_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let web = tmp.path().join("dist");
    std::fs::create_dir_all(web.join("assets")).unwrap();
    std::fs::create_dir_all(web.join("portal")).unwrap();
    std::fs::write(web.join("index.html"), "<html>helpdesk shell</html>").unwrap();
    std::fs::write(web.join("portal/index.html"), "<html>portal shell</html>").unwrap();
    std::fs::write(web.join("assets/app-1234.js"), "console.log('hi')").unwrap();
    std::fs::write(tmp.path().join("secret.txt"), "outside the bundle").unwrap();
    let server = start(&web, &tmp.path().join("data"));
    let c = crate::support::client();
    let get = |path: &str| {
        let c = c.clone();
        let url = format!("{}{path}", server.url);
        async move {
            let r = c.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let cache = r.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            (status, ct, cache, r.text().await.unwrap())
        }
    };

    let (status, ct, cache, body) = get("/").await;
    assert_eq!((status, body.as_str()), (200, "<html>helpdesk shell</html>"));
    assert!(ct.starts_with("text/html") && cache == "no-cache", "{ct} {cache}");
    // Client routes of the helpdesk get its index.html; those of the portal get the portal's.
    assert_eq!(get("/tickets/SD-00012").await.3, "<html>helpdesk shell</html>");
    assert_eq!(get("/admin/queues?x=1").await.3, "<html>helpdesk shell</html>");
    assert_eq!(get("/portal").await.3, "<html>portal shell</html>");
    assert_eq!(get("/portal/tickets/SD-00001").await.3, "<html>portal shell</html>");
    let (status, ct, cache, body) = get("/assets/app-1234.js").await;
    assert_eq!((status, body.as_str()), (200, "console.log('hi')"));
    assert!(ct.starts_with("text/javascript") && cache.contains("immutable"), "{ct} {cache}");
    // A missing asset is a 404, never the app's HTML.
    assert_eq!(get("/assets/gone-0000.js").await.0, 404);
    // Nothing outside the bundle is reachable.
    assert!(!get("/../secret.txt").await.3.contains("outside the bundle"));
    assert!(!get("/%2e%2e/secret.txt").await.3.contains("outside the bundle"));
    // The API keeps its routes.
    assert_eq!(get("/healthz").await.3, "ok");
    let r = c
        .post(format!("{}/graphql", server.url))
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["data"]["__typename"], "Query");
    // Only reads are served.
    assert_eq!(c.post(format!("{}/tickets", server.url)).send().await.unwrap().status(), 405);
}

#[tokio::test]
async fn a_missing_bundle_explains_how_to_build_it() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(&tmp.path().join("no-such-dist"), &tmp.path().join("data"));
    let r = reqwest::get(format!("{}/", server.url)).await.unwrap();
    assert_eq!(r.status(), 503);
    let body = r.text().await.unwrap();
    assert!(body.contains("web UI is not built") && body.contains("npm ci &amp;&amp; npm run build"), "{body}");
    assert_eq!(reqwest::get(format!("{}/portal/tickets", server.url)).await.unwrap().status(), 503);
}
