//! Insights through the binary: the job runner keeps the daily rollups current from the event
//! stream, supervisors read them, agents are refused.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

const INSIGHTS: &str = "{ insights(period: LAST_7_DAYS) { opened closed days { date opened closed backlog }
    firstResponse { count medianMinutes } staff { name closed messages } bot { deflectionRate topQuestions } } }";

#[tokio::test]
async fn the_job_runner_rolls_up_tickets_into_insights_for_supervisors_only() {
    let ws = workspace().await;
    let t = open_ticket(&ws, "Insights: printer on fire").await;
    let id = t["id"].as_str().unwrap();
    ok(
        &ws.agent,
        "mutation($t: ID!) { reply(ticketId: $t, body: \"Extinguisher on its way\") { id } }",
        json!({ "t": id }),
    )
    .await;
    ok(&ws.agent, "mutation($t: ID!) { closeTicket(ticketId: $t, reason: RESOLVED) { id } }", json!({ "t": id })).await;

    // The rollups follow the event stream on the job runner's tick (every second).
    let start = Instant::now();
    let insights: Value = loop {
        let i = ok(&ws.supervisor, INSIGHTS, json!({})).await["insights"].clone();
        if i["closed"].as_i64() >= Some(1) {
            break i;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the rollups never caught up: {i}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(insights["opened"].as_i64().unwrap() >= 1, "{insights}");
    assert_eq!(insights["days"].as_array().unwrap().len(), 7);
    assert_eq!(insights["firstResponse"]["count"].as_i64(), Some(1), "{insights}");
    let agent_row = insights["staff"].as_array().unwrap().iter().find(|s| s["closed"] == 1).cloned();
    assert_eq!(agent_row.map(|s| s["messages"].clone()), Some(json!(1)), "{insights}");
    // The answer bot is not built: its metrics are absent, not zero.
    assert_eq!(insights["bot"], json!({ "deflectionRate": null, "topQuestions": null }));

    assert_error(&gql(Some(&ws.agent), INSIGHTS, json!({})).await, "FORBIDDEN", None);
    let custom =
        gql(Some(&ws.supervisor), "{ insights(period: CUSTOM, to: \"2026-01-01\") { opened } }", json!({})).await;
    assert_error(&custom, "VALIDATION", Some("from"));
}
