//! The customer's My Tickets surface: own tickets only, never internal notes.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn customer_sees_own_tickets_and_public_thread_only() {
    let ws = workspace().await;
    let t = open_ticket(&ws, "Portal: refund status").await;
    let id = t["id"].as_str().unwrap().to_string();
    ok(
        &ws.agent,
        "mutation($t: ID!) { addNote(ticketId: $t, body: \"INTERNAL: fraud check pending\") { id } }",
        json!({ "t": id }),
    )
    .await;
    ok(
        &ws.agent,
        "mutation($t: ID!) { reply(ticketId: $t, body: \"We are on it.\", status: WAITING) { id } }",
        json!({ "t": id }),
    )
    .await;

    // The other customer's own ticket, which Carla must never see.
    let other = ok(&ws.other_customer, "mutation { createMyTicket(subject: \"Oscar's private matter\", description: \"details\") { id number status } }", json!({})).await;
    assert_eq!(other["createMyTicket"]["status"], "OPEN");

    let mine = ok(&ws.customer, "{ myTickets { totalCount nodes { id subject status } } }", json!({})).await;
    assert_eq!(mine["myTickets"]["totalCount"], 1);
    assert_eq!(mine["myTickets"]["nodes"][0]["subject"], "Portal: refund status");

    let q = "query($id: ID!) { myTicket(id: $id) { subject status entries { body fromMe authorName } } }";
    let detail = ok(&ws.customer, q, json!({ "id": id })).await;
    let text = detail.to_string();
    assert!(!text.contains("INTERNAL"), "an internal note reached the customer: {text}");
    let entries = detail["myTicket"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["fromMe"], true);
    assert_eq!(entries[1], json!({ "body": "We are on it.", "fromMe": false, "authorName": "Alex Agent" }));

    // Replying wakes the ticket up for staff.
    ok(
        &ws.customer,
        "mutation($t: ID!) { replyToMyTicket(ticketId: $t, body: \"Any news?\") { id fromMe } }",
        json!({ "t": id }),
    )
    .await;
    assert_eq!(ticket(&ws.agent, &id).await["status"], "OPEN");

    // Oscar's ticket is "not found" for Carla, by id and by number.
    let oscar_id = other["createMyTicket"]["id"].as_str().unwrap();
    assert_error(&gql(Some(&ws.customer), q, json!({ "id": oscar_id })).await, "NOT_FOUND", None);
    let by_number = "query($n: String!) { myTicket(number: $n) { subject } }";
    assert_error(
        &gql(Some(&ws.customer), by_number, json!({ "n": other["createMyTicket"]["number"] })).await,
        "NOT_FOUND",
        None,
    );

    // Customers rate only finished tickets; a low rating is recorded as negative feedback.
    let rate =
        "mutation($t: ID!, $r: Int!) { rateMyTicket(ticketId: $t, rating: $r, comment: \"slow\") { csatRating } }";
    assert_error(&gql(Some(&ws.customer), rate, json!({ "t": id, "r": 2 })).await, "VALIDATION", Some("ticketId"));
    ok(&ws.agent, "mutation($t: ID!) { closeTicket(ticketId: $t, reason: RESOLVED) { id } }", json!({ "t": id })).await;
    assert_error(&gql(Some(&ws.customer), rate, json!({ "t": id, "r": 9 })).await, "VALIDATION", Some("rating"));
    assert_eq!(ok(&ws.customer, rate, json!({ "t": id, "r": 2 })).await["rateMyTicket"]["csatRating"], 2);
    // A closed ticket takes no more replies from the customer.
    let r = gql(
        Some(&ws.customer),
        "mutation($t: ID!) { replyToMyTicket(ticketId: $t, body: \"hello?\") { id } }",
        json!({ "t": id }),
    )
    .await;
    assert_error(&r, "VALIDATION", Some("ticketId"));
}

#[tokio::test]
async fn sign_in_link_requests_reveal_nothing_and_bad_links_are_refused() {
    let ws = workspace().await;
    let request = "mutation($e: String!) { requestCustomerSignInLink(email: $e) }";
    // A customer's address and nobody's get the same answer; the email itself goes out through
    // the workspace's mailbox (the email channel's tests follow it to a real SMTP server).
    let known = gql(None, request, json!({ "e": ws.email("customer") })).await;
    let unknown = gql(None, request, json!({ "e": "nobody@nowhere.test" })).await;
    assert_eq!(known, json!({ "data": { "requestCustomerSignInLink": true } }));
    assert_eq!(unknown, known);
    assert_error(&gql(None, request, json!({ "e": "not-an-address" })).await, "VALIDATION", Some("email"));

    let sign_in = "mutation($t: String!) { customerSignInWithLink(token: $t) { token } }";
    for bad in ["", "sbl_forged0000000000000000000000000000000000000", "eyJhbGciOi.not.a.link"] {
        assert_error(&gql(None, sign_in, json!({ "t": bad })).await, "UNAUTHENTICATED", None);
    }
}
