//! Channels plug in as modules: a reply on a channel no module sends fails at once, visibly.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_reply_on_a_channel_without_a_sender_fails_at_once_with_the_reason() {
    let ws = workspace().await;
    // Discord is not configured on this server (no bot token), so its module offers no sender, yet
    // a Discord ticket can be opened (the demo has one): its staff replies used to wait in the
    // outbox forever.
    let q = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { id } }";
    let input = json!({ "subject": "Bot offline", "description": "The bot does not answer",
        "requester": { "email": ws.email("customer") }, "source": "DISCORD" });
    let id = ok(&ws.agent, q, json!({ "i": input })).await["openTicket"]["id"].as_str().unwrap().to_string();

    let q = "mutation($t: ID!) { reply(ticketId: $t, body: \"Restarting it now\") { id channel deliveryStatus deliveryError } }";
    let reply = ok(&ws.agent, q, json!({ "t": id })).await["reply"].clone();
    assert_eq!(reply["deliveryStatus"], "failed", "{reply}");
    let error = reply["deliveryError"].as_str().unwrap_or_default();
    assert!(error.contains("discord") && error.contains("cannot be delivered"), "{reply}");

    // Staff see the same on the thread, and nothing is left to send later.
    let q = "query($id: ID!) { ticket(id: $id) { entries { id deliveryStatus deliveryError } } }";
    let t = ok(&ws.agent, q, json!({ "id": id })).await["ticket"].clone();
    let entry = t["entries"].as_array().unwrap().iter().find(|e| e["id"] == reply["id"]).cloned().unwrap();
    assert_eq!(entry["deliveryStatus"], "failed");
    assert_eq!(entry["deliveryError"], reply["deliveryError"]);

    // A reply on a channel whose module sends (here email) still waits for its sender.
    let q = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { id } }";
    let input = json!({ "subject": "Invoice copy", "description": "Please resend it",
        "requester": { "email": ws.email("customer") }, "source": "EMAIL" });
    let id = ok(&ws.agent, q, json!({ "i": input })).await["openTicket"]["id"].as_str().unwrap().to_string();
    let q = "mutation($t: ID!) { reply(ticketId: $t, body: \"Attached\") { deliveryStatus } }";
    assert_ne!(ok(&ws.agent, q, json!({ "t": id })).await["reply"]["deliveryStatus"], "failed");
}
