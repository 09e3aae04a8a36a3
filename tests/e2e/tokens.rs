//! Integrator API tokens and attachments.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn api_tokens_act_within_their_scopes_until_revoked() {
    let ws = workspace().await;
    let read_only =
        cli(&["token", "create", "--workspace", &ws.slug, "--name", "reporting", "--scopes", "service-desk.view"], &[])
            .trim()
            .to_string();
    let writer = cli(&["token", "create", "--workspace", &ws.slug, "--name", "crm sync"], &[]).trim().to_string();
    assert!(read_only.starts_with("sbt_") && read_only != writer);

    let t = open_ticket(&ws, "Token test").await;
    let id = t["id"].as_str().unwrap();
    assert_eq!(ok(&read_only, "{ tickets { totalCount } }", json!({})).await["tickets"]["totalCount"], 1);
    let reply = "mutation($t: ID!) { reply(ticketId: $t, body: \"from the CRM\") { authorName channel } }";
    assert_error(&gql(Some(&read_only), reply, json!({ "t": id })).await, "FORBIDDEN", None);
    ok(&writer, reply, json!({ "t": id })).await;
    let upd = "mutation($t: ID!) { updateTicket(ticketId: $t, input: { priority: HIGH }) { priority } }";
    ok(&writer, upd, json!({ "t": id })).await;
    let h = ticket(&ws.agent, id).await["history"].clone();
    assert_eq!(h.as_array().unwrap().last().unwrap()["actor"], "API token: crm sync");

    // Listed without the secret; revoked, it stops working at once.
    let tokens = ok(&ws.admin, "{ apiTokens { id name prefix scopes lastUsedAt } }", json!({})).await;
    assert!(!tokens.to_string().contains(&writer));
    let crm = tokens["apiTokens"].as_array().unwrap().iter().find(|t| t["name"] == "crm sync").unwrap().clone();
    assert!(writer.starts_with(crm["prefix"].as_str().unwrap()));
    assert!(crm["lastUsedAt"].is_string());
    ok(&ws.admin, "mutation($id: ID!) { revokeApiToken(id: $id) }", json!({ "id": crm["id"] })).await;
    let (status, body) = gql_status(Some(&writer), "{ tickets { totalCount } }", json!({})).await;
    assert_eq!(status, 401);
    assert_error(&body, "UNAUTHENTICATED", None);

    // Scopes are validated by name.
    let bad = gql(
        Some(&ws.admin),
        "mutation { createApiToken(name: \"x\", scopes: [\"service-desk.view\", \"root\"]) { token } }",
        json!({}),
    )
    .await;
    assert_error(&bad, "VALIDATION", Some("scopes[1]"));
}

#[tokio::test]
async fn attachments_upload_and_download_for_those_who_may_see_them() {
    let ws = workspace().await;
    let t = open_ticket(&ws, "Attachment test").await;
    let id = t["id"].as_str().unwrap();
    let ops = json!({ "query": "mutation($t: ID!, $f: [Upload!]) { reply(ticketId: $t, body: \"See the log\", attachments: $f) { id } }",
                      "variables": { "t": id, "f": [null] } });
    let form = reqwest::multipart::Form::new()
        .text("operations", ops.to_string())
        .text("map", json!({ "0": ["variables.f.0"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"line 1\nline 2\n".to_vec())
                .file_name("server.log")
                .mime_str("text/plain")
                .unwrap(),
        );
    let client = client();
    let resp =
        client.post(format!("{}/graphql", server().url)).bearer_auth(&ws.agent).multipart(form).send().await.unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");

    let q = "query($id: ID!) { myTicket(id: $id) { entries { attachments { fileName sizeBytes url contentType } } } }";
    let detail = ok(&ws.customer, q, json!({ "id": id })).await;
    let a = detail["myTicket"]["entries"][1]["attachments"][0].clone();
    assert_eq!(
        (a["fileName"].clone(), a["sizeBytes"].clone(), a["contentType"].clone()),
        (json!("server.log"), json!(14), json!("text/plain"))
    );
    let url = format!("{}{}", server().url, a["url"].as_str().unwrap());
    let get = |token: Option<String>| {
        let mut r = client.get(&url);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let dl = get(Some(ws.customer.clone())).await.unwrap();
    assert_eq!(dl.status(), 200);
    assert_eq!(dl.headers()["content-disposition"], "attachment; filename=\"server.log\"");
    assert_eq!(dl.bytes().await.unwrap().as_ref(), b"line 1\nline 2\n");
    assert_eq!(get(Some(ws.other_customer.clone())).await.unwrap().status(), 404);
    assert_eq!(get(None).await.unwrap().status(), 401);
    let outsider = workspace().await;
    assert_eq!(get(Some(outsider.admin.clone())).await.unwrap().status(), 404);
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_rate_limited_with_a_clear_code() {
    // An address of this test's own (no account): the limit must not tell accounts apart.
    let email = format!("guesser-{}@nowhere.test", std::process::id());
    let login = "mutation($e: String!) { login(email: $e, password: \"not it\") { token } }";
    for _ in 0..10 {
        assert_error(&gql(None, login, json!({ "e": email })).await, "UNAUTHENTICATED", None);
    }
    let body = gql(None, login, json!({ "e": email })).await;
    assert_error(&body, "RATE_LIMITED", None);
    assert!(error_of(&body).2.contains("try again in 15 minutes"), "{body}");
}

#[tokio::test]
async fn sign_in_limits_count_the_client_a_trusted_proxy_names() {
    let ws = workspace().await;
    let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    let agent = ws.email("agent");
    // A client of this test's own, behind the proxy (the forged first hop is not believed).
    // Addresses of this run's own, so a rerun against the same database starts afresh.
    let pid = std::process::id();
    let guesser = format!("198.51.{}.{}", (pid >> 8) % 256, pid % 256);
    let guesser = guesser.as_str();
    for _ in 0..10 {
        assert_error(&gql_from(guesser, login, json!({ "e": agent, "p": "not it" })).await, "UNAUTHENTICATED", None);
    }
    let body = gql_from(guesser, login, json!({ "e": agent, "p": PASSWORD })).await;
    assert_error(&body, "RATE_LIMITED", None);
    assert!(error_of(&body).2.contains("with this email address; try again in 15 minutes"), "{body}");
    // The agent, from their own network or through the proxy without a forwarded address, is
    // not locked out by someone else's guessing.
    let mine = gql_from("203.0.113.20", login, json!({ "e": agent, "p": PASSWORD })).await;
    assert!(mine["data"]["login"]["token"].is_string(), "{mine}");
    assert!(gql(None, login, json!({ "e": agent, "p": PASSWORD })).await["data"]["login"]["token"].is_string());

    // Link requests: 20 per client in 15 minutes, whatever the addresses; then refused for
    // any address, known or not, while another client is still served.
    let request = "mutation($e: String!) { requestCustomerSignInLink(email: $e) }";
    let group = pid % 0x10000;
    let asker = format!("2001:db8:{group:x}:6::1");
    let asker = asker.as_str();
    for n in 0..20 {
        let body = gql_from(asker, request, json!({ "e": format!("someone{n}@{}.test", ws.slug) })).await;
        assert_eq!(body["data"]["requestCustomerSignInLink"], true, "{body}");
    }
    for e in [ws.email("customer"), format!("nobody@{}.test", ws.slug)] {
        let body = gql_from(&format!("2001:db8:{group:x}:6::2"), request, json!({ "e": e })).await;
        assert_error(&body, "RATE_LIMITED", None);
        assert!(error_of(&body).2.contains("sign-in link requests from your network"), "{body}");
    }
    let other = gql_from(&format!("2001:db8:{group:x}:7::1"), request, json!({ "e": ws.email("customer") })).await;
    assert_eq!(other["data"]["requestCustomerSignInLink"], true, "{other}");
}

#[tokio::test]
async fn signing_out_everywhere_and_password_changes_end_earlier_sessions() {
    let ws = workspace().await;
    let me = "{ me { name } }";
    let works = async |token: &str| {
        let (status, body) = gql_status(Some(token), me, json!({})).await;
        status == 200 && body["data"]["me"]["name"].is_string()
    };
    let dead = async |token: &str| {
        let (status, body) = gql_status(Some(token), me, json!({})).await;
        status == 401 && error_of(&body).0 == "UNAUTHENTICATED"
    };
    // The agent is signed in twice (say, laptop and phone).
    let phone = login(&ws.email("agent")).await;
    assert!(works(&ws.agent).await && works(&phone).await);

    // A wrong current password names the field, keeps the caller signed in, changes nothing.
    let change =
        "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { token } }";
    let body = gql(Some(&phone), change, json!({ "c": "not it", "n": "a brand new password" })).await;
    assert_error(&body, "VALIDATION", Some("currentPassword"));
    let body = gql(Some(&phone), change, json!({ "c": PASSWORD, "n": "short" })).await;
    assert_error(&body, "VALIDATION", Some("newPassword"));
    assert!(works(&phone).await && works(&ws.agent).await);

    // Changed from the phone: every earlier session ends, the phone continues with its new token.
    let fresh =
        ok(&phone, change, json!({ "c": PASSWORD, "n": "a brand new password" })).await["changePassword"]["token"]
            .as_str()
            .unwrap()
            .to_string();
    assert!(dead(&ws.agent).await && dead(&phone).await);
    assert!(works(&fresh).await);
    let sign_in = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    let old = gql(None, sign_in, json!({ "e": ws.email("agent"), "p": PASSWORD })).await;
    assert_error(&old, "UNAUTHENTICATED", None);
    let new = gql(None, sign_in, json!({ "e": ws.email("agent"), "p": "a brand new password" })).await;
    assert!(new["data"]["login"]["token"].is_string(), "{new}");

    // A customer signs out everywhere; signing in again works.
    assert_eq!(ok(&ws.customer, "mutation { signOutEverywhere }", json!({})).await["signOutEverywhere"], true);
    assert!(dead(&ws.customer).await);
    assert!(works(&customer_login(&ws.email("customer")).await).await);
    // The other customer's session is untouched.
    assert!(works(&ws.other_customer).await);

    // An admin's password reset, and a deactivation undone, end the staff member's sessions.
    let agent2 = ok(&ws.admin, "{ users { id email } }", json!({})).await["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == ws.email("agent2"))
        .unwrap()["id"]
        .clone();
    let update = "mutation($id: ID!, $i: UserPatch!) { updateUser(id: $id, input: $i) { id } }";
    ok(&ws.admin, update, json!({ "id": agent2, "i": { "password": "reset by the admin" } })).await;
    assert!(dead(&ws.agent2).await);
    let again = gql(None, sign_in, json!({ "e": ws.email("agent2"), "p": "reset by the admin" })).await;
    let again = again["data"]["login"]["token"].as_str().unwrap().to_string();
    ok(&ws.admin, update, json!({ "id": agent2, "i": { "active": false } })).await;
    ok(&ws.admin, update, json!({ "id": agent2, "i": { "active": true } })).await;
    assert!(dead(&again).await, "reactivation does not revive old sessions");
    assert!(works(&ws.admin).await);
}
