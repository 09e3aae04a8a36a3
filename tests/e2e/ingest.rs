//! Inbound messages through the desk's ingest: threading by key, and idempotence.

use serde_json::json;

use crate::support::*;

const INGEST: &str = "mutation($i: IngestMessageInput!) { ingestMessage(input: $i) { opened duplicate entryId ticket { id number subject status source requester { email name } } } }";

#[tokio::test]
async fn the_same_message_twice_leaves_one_entry() {
    let ws = workspace().await;
    let msg = json!({ "externalMessageId": "crm-4711", "threadKey": "conv-1", "senderEmail": "Walter@Example.com", "senderName": "Walter White",
                      "subject": "Order 4711 missing", "text": "My order never arrived." });
    let first = ok(&ws.agent, INGEST, json!({ "i": msg })).await["ingestMessage"].clone();
    assert_eq!(first["opened"], true);
    assert_eq!(first["duplicate"], false);
    assert_eq!(first["ticket"]["source"], "API");
    assert_eq!(first["ticket"]["requester"], json!({ "email": "walter@example.com", "name": "Walter White" }));
    let again = ok(&ws.agent, INGEST, json!({ "i": msg })).await["ingestMessage"].clone();
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["entryId"], first["entryId"]);
    assert_eq!(again["ticket"]["id"], first["ticket"]["id"]);

    // A follow-up on the same conversation threads onto the ticket; a waiting ticket wakes up.
    let id = first["ticket"]["id"].as_str().unwrap();
    ok(
        &ws.agent,
        "mutation($t: ID!) { reply(ticketId: $t, body: \"Which address?\", status: WAITING) { id } }",
        json!({ "t": id }),
    )
    .await;
    let follow = json!({ "externalMessageId": "crm-4712", "threadKey": "conv-1", "senderEmail": "walter@example.com", "text": "308 Negra Arroyo Lane" });
    let r = ok(&ws.agent, INGEST, json!({ "i": follow })).await["ingestMessage"].clone();
    assert_eq!(
        (r["opened"].clone(), r["ticket"]["id"].clone(), r["ticket"]["status"].clone()),
        (json!(false), json!(id), json!("OPEN"))
    );
    ok(&ws.agent, INGEST, json!({ "i": follow })).await;

    let t = ticket(&ws.agent, id).await;
    let bodies: Vec<&str> = t["entries"].as_array().unwrap().iter().map(|e| e["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["My order never arrived.", "Which address?", "308 Negra Arroyo Lane"]);
    let tickets = ok(&ws.agent, "{ tickets { totalCount } }", json!({})).await;
    assert_eq!(tickets["tickets"]["totalCount"], 1);
}

#[tokio::test]
async fn concurrent_redeliveries_still_leave_one_entry() {
    let ws = workspace().await;
    let msg = json!({ "externalMessageId": "race-1", "senderEmail": "racer@example.com", "text": "Delivered many times at once" });
    let calls = (0..8).map(|_| ok(&ws.agent, INGEST, json!({ "i": msg.clone() })));
    let results = futures_util::future::join_all(calls).await;
    let opened = results.iter().filter(|r| r["ingestMessage"]["opened"] == true).count();
    assert_eq!(opened, 1, "{results:?}");
    assert!(results.iter().all(|r| r["ingestMessage"]["entryId"] == results[0]["ingestMessage"]["entryId"]));
    assert_eq!(ok(&ws.agent, "{ tickets { totalCount } }", json!({})).await["tickets"]["totalCount"], 1);
}

#[tokio::test]
async fn a_message_on_a_closed_conversation_opens_a_new_ticket() {
    let ws = workspace().await;
    let first = ok(&ws.agent, INGEST, json!({ "i": { "externalMessageId": "c-1", "threadKey": "k", "senderEmail": "a@example.com", "text": "first" } })).await;
    let id = first["ingestMessage"]["ticket"]["id"].as_str().unwrap().to_string();
    ok(&ws.agent, "mutation($t: ID!) { closeTicket(ticketId: $t, reason: RESOLVED) { id } }", json!({ "t": id })).await;
    let second = ok(&ws.agent, INGEST, json!({ "i": { "externalMessageId": "c-2", "threadKey": "k", "senderEmail": "a@example.com", "text": "new problem" } })).await;
    assert_eq!(second["ingestMessage"]["opened"], true);
    assert_ne!(second["ingestMessage"]["ticket"]["id"], json!(id));
    let third = ok(&ws.agent, INGEST, json!({ "i": { "externalMessageId": "c-3", "threadKey": "k", "senderEmail": "a@example.com", "text": "more" } })).await;
    assert_eq!(
        third["ingestMessage"]["ticket"]["id"], second["ingestMessage"]["ticket"]["id"],
        "the key now belongs to the new ticket"
    );
    assert_eq!(ticket(&ws.agent, &id).await["status"], "CLOSED");
}
