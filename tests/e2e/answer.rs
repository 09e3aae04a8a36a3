//! The answer bot through the binary: the Playground answers from the workspace's knowledge and
//! escalates what it does not hold; with the bot switched on, a portal customer's new ticket is
//! answered in the thread by the bot (no first response stamped), and a question the knowledge
//! does not answer is handed to staff, listed as a knowledge gap. Extractive: the test server has
//! no chat model.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

const PLAYGROUND: &str = "query($q: String!) { playground(question: $q) { answer decision confidence reasons sources { kind id title heading excerpt score } } }";

async fn paste(ws: &Workspace) {
    ok(
        &ws.admin,
        "mutation($b: String!) { saveKnowledgeDocument(input: { title: \"Account help\", body: $b, format: MARKDOWN }) { id } }",
        json!({ "b": "# Reset your password\nTo reset your password, open Settings, choose Security and press Reset password.\n" }),
    )
    .await;
}

/// Waits for the index (the Playground searches it) and returns the Playground's answer.
async fn playground(ws: &Workspace, q: &str, until: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = ok(&ws.agent, PLAYGROUND, json!({ "q": q })).await["playground"].clone();
        if until(&r) || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The customer's thread once it has `n` entries (or what it has after 30 s).
async fn thread_of(ws: &Workspace, number: &str, n: usize) -> Vec<Value> {
    let q = "query($n: String!) { myTicket(number: $n) { entries { body fromMe authorName } } }";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = ok(&ws.customer, q, json!({ "n": number })).await;
        let entries = r["myTicket"]["entries"].as_array().cloned().unwrap_or_default();
        if entries.len() >= n || Instant::now() > deadline {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_playground_and_the_bot_answer_from_knowledge_and_escalate_the_rest() {
    let ws = workspace().await;
    paste(&ws).await;
    let r = playground(&ws, "How do I reset my password?", |r| r["decision"] == "ANSWER").await;
    assert_eq!(r["decision"], "ANSWER", "{r}");
    assert!(r["answer"].as_str().unwrap().contains("Source: Account help › Reset your password"), "{r}");
    assert_eq!(r["sources"][0]["kind"], "DOCUMENT");
    assert_eq!(r["sources"][0]["heading"], "Reset your password");
    let r = playground(&ws, "Can I pay with bitcoin?", |_| true).await;
    assert_eq!((r["decision"].as_str(), r["answer"].as_str()), (Some("ESCALATE"), None), "{r}");

    // A threshold outside 0–100 is refused on its field.
    let bad = gql(
        Some(&ws.admin),
        "mutation { updateAnswerSettings(input: { botEnabled: true, confidenceThreshold: 150, voice: \"\", staffReplyCooldownMinutes: 30 }) { botEnabled } }",
        json!({}),
    )
    .await;
    assert_error(&bad, "VALIDATION", Some("confidenceThreshold"));
    ok(
        &ws.admin,
        "mutation { updateAnswerSettings(input: { botEnabled: true, confidenceThreshold: 65, voice: \"\", staffReplyCooldownMinutes: 30 }) { botEnabled } }",
        json!({}),
    )
    .await;

    let answered = ok(
        &ws.customer,
        "mutation { createMyTicket(subject: \"Password\", description: \"How do I reset my password?\") { id number } }",
        json!({}),
    )
    .await["createMyTicket"]
        .clone();
    let entries = thread_of(&ws, answered["number"].as_str().unwrap(), 2).await;
    assert_eq!(entries.len(), 2, "the bot did not answer: {entries:?}");
    assert_eq!(entries[1]["fromMe"], false);
    assert!(entries[1]["body"].as_str().unwrap().starts_with("To reset your password"), "{entries:?}");
    let staff_view = ticket(&ws.agent, answered["id"].as_str().unwrap()).await;
    assert_eq!(staff_view["escalated"], false, "{staff_view}");

    let unanswered = ok(
        &ws.customer,
        "mutation { createMyTicket(subject: \"Payment\", description: \"Can I pay with bitcoin?\") { id number } }",
        json!({}),
    )
    .await["createMyTicket"]
        .clone();
    let entries = thread_of(&ws, unanswered["number"].as_str().unwrap(), 2).await;
    assert!(entries[1]["body"].as_str().unwrap().contains("passed your question to our support team"), "{entries:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let gaps = loop {
        let gaps =
            ok(&ws.agent, "{ knowledgeGaps { question ticketNumber } }", json!({})).await["knowledgeGaps"].clone();
        if !gaps.as_array().unwrap().is_empty() || Instant::now() > deadline {
            break gaps;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(gaps[0]["ticketNumber"], unanswered["number"], "{gaps}");
    let staff_view = ticket(&ws.agent, unanswered["id"].as_str().unwrap()).await;
    assert_eq!(staff_view["escalated"], true, "{staff_view}");
}
