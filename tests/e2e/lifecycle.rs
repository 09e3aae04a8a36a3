//! An agent works a ticket end to end; the history records every change.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn agent_works_a_ticket_from_open_to_reopen() {
    let ws = workspace().await;
    // The sweep asks for a rating as soon as a ticket is closed; were it to run in the moment
    // between this test's close and reopen, the request would be one more entry below.
    ok(
        &ws.admin,
        "mutation { saveAfterCloseSettings(input: { csatRequestEnabled: false }) { csatRequestEnabled } }",
        json!({}),
    )
    .await;
    let t = open_ticket(&ws, "Printer offline on floor 3").await;
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(t["status"], "OPEN");
    assert_eq!(t["priority"], "NORMAL");
    assert_eq!(t["requester"]["email"], ws.email("customer"));
    assert_eq!(t["queue"]["name"], "General", "lands in the default queue");
    assert!(t["number"].as_str().unwrap().starts_with("SD-0000"), "{t}");

    let reply = ok(&ws.agent, "mutation($t: ID!) { reply(ticketId: $t, body: \"Can you send a photo of the display?\", status: WAITING) { kind internal authorName } }", json!({ "t": id })).await;
    assert_eq!(reply["reply"], json!({ "kind": "REPLY", "internal": false, "authorName": "Alex Agent" }));

    let note = ok(&ws.agent, "mutation($t: ID!) { addNote(ticketId: $t, body: \"@supervisor same model as last week?\") { kind internal mentions } }", json!({ "t": id })).await;
    assert_eq!(note["addNote"]["kind"], "NOTE");
    assert_eq!(note["addNote"]["internal"], true);
    assert_eq!(note["addNote"]["mentions"].as_array().unwrap().len(), 1, "the supervisor is mentioned");

    let claimed = ok(
        &ws.agent,
        "mutation($t: ID!) { claimTicket(ticketId: $t) { assignee { name } status } }",
        json!({ "t": id }),
    )
    .await;
    assert_eq!(claimed["claimTicket"]["assignee"]["name"], "Alex Agent");

    let q = "mutation($t: ID!, $i: TicketPatch!) { updateTicket(ticketId: $t, input: $i) { priority tags } }";
    let upd =
        ok(&ws.agent, q, json!({ "t": id, "i": { "priority": "URGENT", "tags": ["Hardware", "floor 3"] } })).await;
    assert_eq!(upd["updateTicket"], json!({ "priority": "URGENT", "tags": ["hardware", "floor-3"] }));

    let closed = ok(&ws.agent, "mutation($t: ID!) { closeTicket(ticketId: $t, reason: RESOLVED, note: \"Replaced the fuser\") { status closeReason closeNote } }", json!({ "t": id })).await;
    assert_eq!(
        closed["closeTicket"],
        json!({ "status": "CLOSED", "closeReason": "RESOLVED", "closeNote": "Replaced the fuser" })
    );

    let reopened =
        ok(&ws.agent, "mutation($t: ID!) { reopenTicket(ticketId: $t) { status closeReason } }", json!({ "t": id }))
            .await;
    assert_eq!(reopened["reopenTicket"], json!({ "status": "OPEN", "closeReason": null }));

    let t = ticket(&ws.agent, &id).await;
    let kinds: Vec<&str> = t["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["REPLY", "REPLY", "NOTE"], "description, agent reply, note");
    let history: Vec<(String, String, Option<String>, Option<String>)> = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["actor"].as_str().unwrap().to_string(),
                h["field"].as_str().unwrap().to_string(),
                h["oldValue"].as_str().map(str::to_string),
                h["newValue"].as_str().map(str::to_string),
            )
        })
        .filter(|h| h.1 != "first_responded_at")
        .collect();
    let s = |v: &str| Some(v.to_string());
    let alex = "Alex Agent".to_string();
    let h = |f: &str, o: Option<String>, n: Option<String>| (alex.clone(), f.to_string(), o, n);
    assert_eq!(
        history,
        vec![
            h("status", None, s("open")),
            h("status", s("open"), s("waiting")),
            h("assignee", None, s("Alex Agent")),
            h("priority", s("normal"), s("urgent")),
            h("tags", s(""), s("hardware,floor-3")),
            h("status", s("waiting"), s("closed")),
            h("close_reason", None, s("resolved")),
            h("close_note", None, s("Replaced the fuser")),
            h("status", s("closed"), s("open")),
        ]
    );
    assert!(t["history"].as_array().unwrap().iter().all(|h| h["createdAt"].as_str().is_some()));
}

#[tokio::test]
async fn first_staff_reply_stamps_first_response_and_claims_conflict() {
    let ws = workspace().await;
    let t = open_ticket(&ws, "Invoice charged twice").await;
    let id = t["id"].as_str().unwrap();
    let q = "query($id: ID!) { ticket(id: $id) { firstRespondedAt } }";
    assert_eq!(ok(&ws.agent, q, json!({ "id": id })).await["ticket"]["firstRespondedAt"], json!(null));
    // An internal note is not a response to the customer.
    ok(&ws.agent, "mutation($t: ID!) { addNote(ticketId: $t, body: \"checking Stripe\") { id } }", json!({ "t": id }))
        .await;
    assert_eq!(ok(&ws.agent, q, json!({ "id": id })).await["ticket"]["firstRespondedAt"], json!(null));
    ok(&ws.agent, "mutation($t: ID!) { reply(ticketId: $t, body: \"Refund issued\") { id } }", json!({ "t": id }))
        .await;
    assert!(ok(&ws.agent, q, json!({ "id": id })).await["ticket"]["firstRespondedAt"].is_string());

    // Claimed by one agent: another agent cannot claim it, nor reassign it; a supervisor can.
    ok(&ws.agent, "mutation($t: ID!) { claimTicket(ticketId: $t) { id } }", json!({ "t": id })).await;
    let other =
        gql(Some(&ws.agent2), "mutation($t: ID!) { claimTicket(ticketId: $t) { id } }", json!({ "t": id })).await;
    assert_error(&other, "CONFLICT", None);
    assert!(error_of(&other).2.contains("Alex Agent"), "names who holds it: {other}");
    let me = ok(&ws.agent2, "{ me { userId } }", json!({})).await["me"]["userId"].clone();
    let reassign =
        "mutation($t: ID!, $u: ID) { updateTicket(ticketId: $t, input: { assigneeId: $u }) { assignee { name } } }";
    assert_error(&gql(Some(&ws.agent2), reassign, json!({ "t": id, "u": me })).await, "FORBIDDEN", None);
    let done = ok(&ws.supervisor, reassign, json!({ "t": id, "u": me })).await;
    assert_eq!(done["updateTicket"]["assignee"]["name"], "Bea Agent");
    // The new assignee releases it; it goes back to the queue.
    let released = ok(
        &ws.agent2,
        "mutation($t: ID!) { unclaimTicket(ticketId: $t) { assignee { id } status } }",
        json!({ "t": id }),
    )
    .await;
    assert_eq!(released["unclaimTicket"]["assignee"], json!(null));
}

#[tokio::test]
async fn help_topic_defaults_apply_unless_set() {
    let ws = workspace().await;
    let topics = ok(&ws.agent, "{ helpTopics { id name } }", json!({})).await;
    let topic = topics["helpTopics"][0]["id"].clone();
    let q = format!(
        "mutation($i: OpenTicketInput!) {{ openTicket(input: $i) {{ {TICKET_FIELDS} resolutionDueAt createdAt }} }}"
    );
    let t = ok(&ws.agent, &q, json!({ "i": { "subject": "Wrong VAT", "requester": { "email": ws.email("customer") }, "helpTopicId": topic } })).await["openTicket"].clone();
    assert_eq!(t["priority"], "HIGH");
    assert_eq!(t["queue"]["name"], "Billing");
    let due = chrono::DateTime::parse_from_rfc3339(t["resolutionDueAt"].as_str().unwrap()).unwrap();
    let created = chrono::DateTime::parse_from_rfc3339(t["createdAt"].as_str().unwrap()).unwrap();
    assert_eq!((due - created).num_minutes(), 1440);
    let t = ok(&ws.agent, &q, json!({ "i": { "subject": "Wrong VAT", "requester": { "email": ws.email("customer") }, "helpTopicId": topic, "priority": "LOW" } })).await["openTicket"].clone();
    assert_eq!(t["priority"], "LOW", "the caller's choice wins over the topic default");
}

#[tokio::test]
async fn list_filters_pagination_and_counts() {
    let ws = workspace().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(open_ticket(&ws, &format!("Scanner jam {i}")).await["id"].as_str().unwrap().to_string());
    }
    open_ticket(&ws, "Unrelated printer question").await;
    ok(&ws.agent, "mutation($t: ID!) { claimTicket(ticketId: $t) { id } }", json!({ "t": ids[0] })).await;
    ok(&ws.agent, "mutation($t: ID!) { closeTicket(ticketId: $t, reason: DUPLICATE) { id } }", json!({ "t": ids[1] }))
        .await;

    let list = "query($f: TicketFilterInput, $after: String) { tickets(filter: $f, first: 3, after: $after) { totalCount pageInfo { endCursor hasNextPage } nodes { id subject } } }";
    let f = json!({ "search": "scanner" });
    // Search reads the index, which follows the database a moment behind: wait until it has
    // all seven (it is woken by each change; 10 s is far past that).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ok(&ws.agent, list, json!({ "f": f, "after": null })).await["tickets"]["totalCount"] != 7 {
        assert!(std::time::Instant::now() < deadline, "the search index never caught up");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut seen = Vec::new();
    let mut after = json!(null);
    loop {
        let page = ok(&ws.agent, list, json!({ "f": f, "after": after })).await["tickets"].clone();
        assert_eq!(page["totalCount"], 7);
        seen.extend(page["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()));
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first, "all pages, newest first, no repeats");

    let mine = ok(&ws.agent, list, json!({ "f": { "assignee": "me" } })).await;
    assert_eq!(mine["tickets"]["nodes"].as_array().unwrap().len(), 1);
    let unassigned_open =
        ok(&ws.agent, list, json!({ "f": { "assignee": "unassigned", "status": ["OPEN", "IN_PROGRESS", "WAITING"] } }))
            .await;
    assert_eq!(unassigned_open["tickets"]["totalCount"], 6);
    let t = ok(&ws.agent, "query($id: ID!) { ticket(id: $id) { number } }", json!({ "id": ids[3] })).await;
    let by_number = ok(&ws.agent, list, json!({ "f": { "search": t["ticket"]["number"] } })).await;
    assert_eq!(by_number["tickets"]["nodes"][0]["id"], ids[3]);

    let counts = ok(&ws.agent, "{ ticketCounts { status count } }", json!({})).await;
    let count = |s: &str| {
        counts["ticketCounts"].as_array().unwrap().iter().find(|c| c["status"] == s).unwrap()["count"].as_i64().unwrap()
    };
    assert_eq!((count("OPEN"), count("IN_PROGRESS"), count("CLOSED"), count("RESOLVED")), (6, 1, 1, 0));
}

#[tokio::test]
async fn awaiting_filter_splits_open_tickets_by_whose_turn_it_is() {
    let ws = workspace().await;
    let list = "query($f: TicketFilterInput) { tickets(filter: $f, first: 100) { totalCount nodes { id } } }";
    let sides = async || {
        let mut out = Vec::new();
        for side in ["STAFF", "CUSTOMER"] {
            let page = ok(&ws.agent, list, json!({ "f": { "awaiting": side } })).await["tickets"].clone();
            let mut ids: Vec<String> =
                page["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect();
            assert_eq!(page["totalCount"], ids.len(), "{side}: the count is the list's");
            ids.sort();
            out.push(ids);
        }
        out
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<_>>()
    };
    // The stamps are milliseconds and a tie goes to the customer: keep each step in its own.
    let next_ms = || tokio::time::sleep(std::time::Duration::from_millis(3));
    let reply = "mutation($t: ID!, $s: TicketStatus) { reply(ticketId: $t, body: \"On it\", status: $s) { id } }";

    let asked = open_ticket(&ws, "Asked by the customer").await["id"].as_str().unwrap().to_string();
    let answered = open_ticket(&ws, "Answered by staff").await["id"].as_str().unwrap().to_string();
    let done = open_ticket(&ws, "Resolved").await["id"].as_str().unwrap().to_string();
    next_ms().await;
    ok(&ws.agent, reply, json!({ "t": answered, "s": null })).await;
    ok(&ws.agent, reply, json!({ "t": done, "s": "RESOLVED" })).await;
    ok(&ws.agent, "mutation($t: ID!) { addNote(ticketId: $t, body: \"internal only\") { id } }", json!({ "t": asked }))
        .await;
    assert_eq!(sides().await, [sorted(vec![&asked]), sorted(vec![&answered])]);

    next_ms().await;
    let customer_reply = "mutation($t: ID!) { replyToMyTicket(ticketId: $t, body: \"Still broken\") { id } }";
    ok(&ws.customer, customer_reply, json!({ "t": answered })).await;
    assert_eq!(sides().await, [sorted(vec![&asked, &answered]), vec![]]);

    let waiting = "mutation($t: ID!) { updateTicket(ticketId: $t, input: { status: WAITING }) { id } }";
    ok(&ws.agent, waiting, json!({ "t": asked })).await;
    assert_eq!(sides().await, [sorted(vec![&answered]), sorted(vec![&asked])]);
}
