//! Bad input gets a VALIDATION error naming the field, and nothing changes.

use serde_json::{Value, json};

use crate::support::*;

async fn snapshot(ws: &Workspace, id: &str) -> Value {
    ticket(&ws.agent, id).await
}

#[tokio::test]
async fn invalid_input_names_the_field_and_changes_nothing() {
    let ws = workspace().await;
    let t = open_ticket(&ws, "Cannot log in").await;
    let id = t["id"].as_str().unwrap().to_string();
    ok(&ws.agent, "mutation($t: ID!) { closeTicket(ticketId: $t, reason: SPAM) { id } }", json!({ "t": id })).await;
    let before = snapshot(&ws, &id).await;

    // A closed ticket only comes back through reopen.
    let upd = "mutation($t: ID!, $i: TicketPatch!) { updateTicket(ticketId: $t, input: $i) { id } }";
    assert_error(
        &gql(Some(&ws.agent), upd, json!({ "t": id, "i": { "status": "IN_PROGRESS" } })).await,
        "VALIDATION",
        Some("status"),
    );
    // Closing needs the close operation and its reason.
    let open2 = open_ticket(&ws, "Second").await;
    let id2 = open2["id"].as_str().unwrap();
    assert_error(
        &gql(Some(&ws.agent), upd, json!({ "t": id2, "i": { "status": "CLOSED" } })).await,
        "VALIDATION",
        Some("status"),
    );
    // A blank subject, on open and on update.
    let open = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { id } }";
    let blank = json!({ "i": { "subject": "   ", "requester": { "email": ws.email("customer") } } });
    assert_error(&gql(Some(&ws.agent), open, blank).await, "VALIDATION", Some("subject"));
    assert_error(
        &gql(Some(&ws.agent), upd, json!({ "t": id, "i": { "subject": "" } })).await,
        "VALIDATION",
        Some("subject"),
    );
    // A close note over 500 characters; a note body over 20,000.
    let close = "mutation($t: ID!, $n: String) { closeTicket(ticketId: $t, reason: OTHER, note: $n) { id } }";
    assert_error(
        &gql(Some(&ws.agent), close, json!({ "t": id2, "n": "x".repeat(501) })).await,
        "VALIDATION",
        Some("note"),
    );
    let note = "mutation($t: ID!, $b: String!) { addNote(ticketId: $t, body: $b) { id } }";
    assert_error(
        &gql(Some(&ws.agent), note, json!({ "t": id, "b": "y".repeat(20_001) })).await,
        "VALIDATION",
        Some("body"),
    );
    // Malformed ids, wherever they appear.
    for bad in ["abc", "-1", "0", "1.5", "99999999999999999999"] {
        assert_error(&gql(Some(&ws.agent), note, json!({ "t": bad, "b": "hi" })).await, "VALIDATION", Some("ticketId"));
    }
    assert_error(
        &gql(Some(&ws.agent), upd, json!({ "t": id, "i": { "queueId": "queue-1" } })).await,
        "VALIDATION",
        Some("queueId"),
    );
    let bulk = "mutation($ids: [ID!]!) { bulkUpdateTickets(ticketIds: $ids, input: { priority: HIGH }) { ticketId } }";
    assert_error(&gql(Some(&ws.agent), bulk, json!({ "ids": [id2, "x"] })).await, "VALIDATION", Some("ticketIds[1]"));
    // Bad email for a requester; unknown queue.
    let bad_email = json!({ "i": { "subject": "Hello", "requester": { "email": "not-an-address" } } });
    assert_error(&gql(Some(&ws.agent), open, bad_email).await, "VALIDATION", Some("requester.email"));
    assert_error(
        &gql(Some(&ws.agent), upd, json!({ "t": id2, "i": { "queueId": "987654" } })).await,
        "VALIDATION",
        Some("queueId"),
    );
    // A value the schema does not know is refused before anything runs.
    let (code, _, _) = error_of(&gql(Some(&ws.agent), upd, json!({ "t": id2, "i": { "priority": "CRITICAL" } })).await);
    assert_eq!(code, "BAD_REQUEST");

    assert_eq!(snapshot(&ws, &id).await, before, "the closed ticket is untouched");
    let after2 = snapshot(&ws, id2).await;
    assert_eq!(after2["status"], "OPEN");
    assert_eq!(after2["priority"], "NORMAL", "the bulk update with a bad id changed nothing");
    assert_eq!(after2["queue"]["name"], "General");
    assert_eq!(after2["history"].as_array().unwrap().len(), 1, "only the opening is recorded");
    let totals = ok(&ws.agent, "{ tickets { totalCount } }", json!({})).await;
    assert_eq!(totals["tickets"]["totalCount"], 2, "no ticket was opened by the rejected calls");
}

#[tokio::test]
async fn bulk_update_reports_each_ticket() {
    let ws = workspace().await;
    let a = open_ticket(&ws, "Bulk A").await["id"].as_str().unwrap().to_string();
    let b = open_ticket(&ws, "Bulk B").await["id"].as_str().unwrap().to_string();
    let c = open_ticket(&ws, "Bulk C").await["id"].as_str().unwrap().to_string();
    ok(&ws.agent, "mutation($t: ID!) { closeTicket(ticketId: $t, reason: SPAM) { id } }", json!({ "t": c })).await;
    let me = ok(&ws.agent, "{ me { userId } }", json!({})).await["me"]["userId"].clone();
    let q = "mutation($ids: [ID!]!, $u: ID) { bulkUpdateTickets(ticketIds: $ids, input: { assigneeId: $u, status: IN_PROGRESS }) { ticketId ticket { assignee { name } status } error { code field } } }";
    let r = ok(&ws.agent, q, json!({ "ids": [a, b, c], "u": me })).await["bulkUpdateTickets"].clone();
    assert_eq!(r[0]["ticket"]["assignee"]["name"], "Alex Agent");
    assert_eq!(r[1]["ticket"]["status"], "IN_PROGRESS");
    assert_eq!(r[2]["ticket"], json!(null));
    assert_eq!(r[2]["error"], json!({ "code": "VALIDATION", "field": "status" }), "the closed one fails on its own");
}
