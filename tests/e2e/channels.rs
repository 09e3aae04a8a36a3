//! Channels plug in as modules: a reply on a channel no module sends fails at once, visibly.

use std::path::Path;

use serde_json::{Value, json};
use switchboard_testkit::ServerProcess;

use crate::support::*;

/// The `data` of a request to `url` that must have succeeded.
async fn ok_at(url: &str, token: &str, query: &str, variables: Value) -> Value {
    let body = gql_at(url, Some(token), query, variables).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

#[tokio::test]
async fn a_reply_on_a_channel_without_a_sender_fails_at_once_with_the_reason() {
    // A server of its own without a Discord bot token (the shared one has the Discord double), so
    // its Discord module offers no sender, yet a Discord ticket can be opened (the demo has one):
    // its staff replies used to wait in the outbox forever.
    let tmp = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_switchboard"));
    let server = ServerProcess::start_with(bin, &tmp.path().join("data"), None, SERVER_SETTINGS).unwrap();
    let seed = write_seed(tmp.path(), "nosender", 901);
    server.cli(&["seed", "--file", seed.to_str().unwrap()], &[]).unwrap();
    let q = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    let d = gql_at(&server.url, None, q, json!({ "e": "agent@nosender.test", "p": PASSWORD })).await;
    let agent = d["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("{d}")).to_string();
    let url = server.url.as_str();

    let q = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { id } }";
    let input = json!({ "subject": "Bot offline", "description": "The bot does not answer",
        "requester": { "email": "customer@nosender.test" }, "source": "DISCORD" });
    let id = ok_at(url, &agent, q, json!({ "i": input })).await["openTicket"]["id"].as_str().unwrap().to_string();

    let q = "mutation($t: ID!) { reply(ticketId: $t, body: \"Restarting it now\") { id channel deliveryStatus deliveryError } }";
    let reply = ok_at(url, &agent, q, json!({ "t": id })).await["reply"].clone();
    assert_eq!(reply["deliveryStatus"], "failed", "{reply}");
    let error = reply["deliveryError"].as_str().unwrap_or_default();
    assert!(error.contains("discord") && error.contains("cannot be delivered"), "{reply}");

    // Staff see the same on the thread, and nothing is left to send later.
    let q = "query($id: ID!) { ticket(id: $id) { entries { id deliveryStatus deliveryError } } }";
    let t = ok_at(url, &agent, q, json!({ "id": id })).await["ticket"].clone();
    let entry = t["entries"].as_array().unwrap().iter().find(|e| e["id"] == reply["id"]).cloned().unwrap();
    assert_eq!(entry["deliveryStatus"], "failed");
    assert_eq!(entry["deliveryError"], reply["deliveryError"]);

    // A reply on a channel whose module sends (here email) still waits for its sender.
    let q = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { id } }";
    let input = json!({ "subject": "Invoice copy", "description": "Please resend it",
        "requester": { "email": "customer@nosender.test" }, "source": "EMAIL" });
    let id = ok_at(url, &agent, q, json!({ "i": input })).await["openTicket"]["id"].as_str().unwrap().to_string();
    let q = "mutation($t: ID!) { reply(ticketId: $t, body: \"Attached\") { deliveryStatus } }";
    assert_ne!(ok_at(url, &agent, q, json!({ "t": id })).await["reply"]["deliveryStatus"], "failed");
}
