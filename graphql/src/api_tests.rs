//! The support-ops part of the schema against a real desk on a SQLite file: what each operation
//! takes and returns, how input errors name their field, and who is refused.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use async_graphql::{Request, Variables};
use serde_json::{Value, json};
use switchboard_desk::domain::{Actor, ActorKind, Role};
use switchboard_desk::store::Store;
use switchboard_desk::{AuthConfig, BlobStore, ContactInput, Desk, SystemClock};

use crate::{Introspection, RequestLimits, SwitchboardSchema, build_schema};

struct Env {
    schema: SwitchboardSchema,
    admin: Actor,
    agent: Actor,
    customer: Actor,
    dir: std::path::PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn env() -> Env {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("switchboard-graphql-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&format!("sqlite://{}/desk.db", dir.display())).await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"graphql test secret".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "Europe/Berlin", "General").await.unwrap();
    let system = Actor::system(ws.id);
    let staff = |role: Role, name: &str| {
        let (desk, system) = (desk.clone(), system.clone());
        let name = name.to_string();
        async move {
            let email = format!("{}@acme.test", name.to_lowercase());
            let u = desk.create_user(&system, &email, &name, role, None).await.unwrap();
            Actor { workspace_id: ws.id, kind: ActorKind::User { id: u.id, role }, label: name }
        }
    };
    let admin = staff(Role::Admin, "Ada").await;
    let agent = staff(Role::Agent, "Alex").await;
    let contact = ContactInput {
        name: "Carla Customer".into(),
        email: Some("carla@example.com".into()),
        phone: None,
        requester_type: None,
        business_partner_ref: None,
        portal_password: None,
    };
    let c = desk.create_contact(&system, contact).await.unwrap();
    let customer = Actor { workspace_id: ws.id, kind: ActorKind::Contact { id: c.id }, label: c.name };
    Env { schema: build_schema(desk), admin, agent, customer, dir }
}

impl Env {
    /// Runs `query` as `who` (anonymous when `None`) and returns the whole response as JSON.
    async fn run(&self, who: Option<&Actor>, query: &str, vars: Value) -> Value {
        let mut req = Request::new(query).variables(Variables::from_json(vars));
        if let Some(a) = who {
            req = req.data(a.clone());
        }
        serde_json::to_value(self.schema.execute(req).await).unwrap()
    }

    /// Runs `query` as `who` and returns its data, failing on any error.
    async fn ok(&self, who: &Actor, query: &str, vars: Value) -> Value {
        let body = self.run(Some(who), query, vars).await;
        assert!(body.get("errors").is_none(), "{query}: {body}");
        body["data"].clone()
    }

    /// Runs `query` as `who` and returns the first error's code and field.
    async fn error(&self, who: Option<&Actor>, query: &str, vars: Value) -> (String, Option<String>) {
        let body = self.run(who, query, vars).await;
        let e = &body["errors"][0]["extensions"];
        assert!(e["code"].is_string(), "{query}: expected an error, got {body}");
        (e["code"].as_str().unwrap().to_string(), e["field"].as_str().map(str::to_string))
    }
}

fn invalid(field: &str) -> (String, Option<String>) {
    ("VALIDATION".into(), Some(field.into()))
}

const SAVE_CALENDAR: &str = "mutation($id: ID, $i: CalendarInput!) { saveCalendar(id: $id, input: $i) {
    id name timeZone schedule { weekday opens closes } holidays } }";
const SAVE_RULE: &str = "mutation($id: ID, $i: RoutingRuleInput!) { saveRoutingRule(id: $id, input: $i) {
    id name enabled position join clauses { field op value } actions { type queueId userId priority tag } } }";

#[tokio::test]
async fn calendars_and_sla_policies() {
    let env = env().await;
    let input = json!({
        "name": " Office ", "timeZone": "Europe/Berlin",
        "schedule": [
            { "weekday": "TUESDAY", "opens": "09:00", "closes": "17:00" },
            { "weekday": "MONDAY", "opens": "09:00", "closes": "12:00" },
            { "weekday": "MONDAY", "opens": "13:00", "closes": "17:00" },
        ],
        "holidays": ["2025-12-25"],
    });
    let saved = env.ok(&env.admin, SAVE_CALENDAR, json!({ "i": input })).await["saveCalendar"].clone();
    assert_eq!(saved["name"], "Office");
    assert_eq!(saved["timeZone"], "Europe/Berlin");
    assert_eq!(
        saved["schedule"],
        json!([
            { "weekday": "MONDAY", "opens": "09:00", "closes": "12:00" },
            { "weekday": "MONDAY", "opens": "13:00", "closes": "17:00" },
            { "weekday": "TUESDAY", "opens": "09:00", "closes": "17:00" },
        ])
    );
    assert_eq!(saved["holidays"], json!(["2025-12-25"]));
    let listed = env.ok(&env.agent, "{ calendars { id name schedule { weekday } } }", json!({})).await;
    assert_eq!(listed["calendars"][0]["id"], saved["id"]);

    let bad = json!({ "name": "Bad", "timeZone": "Europe/Berlin",
        "schedule": [{ "weekday": "MONDAY", "opens": "9am", "closes": "17:00" }] });
    assert_eq!(env.error(Some(&env.admin), SAVE_CALENDAR, json!({ "i": bad })).await, invalid("schedule[0].opens"));
    let bad = json!({ "name": "Bad", "timeZone": "Mars/Olympus",
        "schedule": [{ "weekday": "MONDAY", "opens": "09:00", "closes": "17:00" }] });
    assert_eq!(env.error(Some(&env.admin), SAVE_CALENDAR, json!({ "i": bad })).await, invalid("timeZone"));
    let (code, _) = env.error(Some(&env.agent), SAVE_CALENDAR, json!({ "i": input })).await;
    assert_eq!(code, "FORBIDDEN");

    let save_policy = "mutation($id: ID, $i: SlaPolicyInput!) { saveSlaPolicy(id: $id, input: $i) {
        id name priority helpTopicId firstResponseMinutes resolutionMinutes calendarId } }";
    let policy = json!({ "name": "Urgent", "priority": "URGENT", "firstResponseMinutes": 30,
        "resolutionMinutes": 240, "calendarId": saved["id"] });
    let p = env.ok(&env.admin, save_policy, json!({ "i": policy })).await["saveSlaPolicy"].clone();
    assert_eq!(
        (&p["priority"], &p["calendarId"], &p["firstResponseMinutes"]),
        (&json!("URGENT"), &saved["id"], &json!(30))
    );
    let too_short =
        json!({ "name": "Urgent", "priority": "URGENT", "firstResponseMinutes": 1, "resolutionMinutes": 240 });
    let e = env.error(Some(&env.admin), save_policy, json!({ "id": p["id"], "i": too_short })).await;
    assert_eq!(e, invalid("firstResponseMinutes"));
    let bad_calendar = json!({ "name": "X", "priority": "LOW", "firstResponseMinutes": 30, "resolutionMinutes": 60,
        "calendarId": "nope" });
    assert_eq!(env.error(Some(&env.admin), save_policy, json!({ "i": bad_calendar })).await, invalid("calendarId"));
    let listed = env.ok(&env.agent, "{ slaPolicies { id name } }", json!({})).await;
    assert_eq!(listed["slaPolicies"], json!([{ "id": p["id"], "name": "Urgent" }]));
    let delete = "mutation($id: ID!) { deleteSlaPolicy(id: $id) }";
    assert_eq!(env.ok(&env.admin, delete, json!({ "id": p["id"] })).await["deleteSlaPolicy"], true);
    assert_eq!(env.error(Some(&env.admin), delete, json!({ "id": p["id"] })).await.0, "NOT_FOUND");

    let settings = env.ok(&env.agent, "{ slaSettings { atRiskPercent alertOnBreach } }", json!({})).await;
    assert_eq!(settings["slaSettings"], json!({ "atRiskPercent": 25, "alertOnBreach": true }));
    let save = "mutation($i: SlaSettingsInput!) { saveSlaSettings(input: $i) { atRiskPercent alertOnBreach } }";
    let i = json!({ "atRiskPercent": 40, "alertOnBreach": false });
    assert_eq!(env.ok(&env.admin, save, json!({ "i": i })).await["saveSlaSettings"], i);
    let settings = env.ok(&env.agent, "{ slaSettings { atRiskPercent alertOnBreach } }", json!({})).await;
    assert_eq!(settings["slaSettings"], i);
    let e = env.error(Some(&env.admin), save, json!({ "i": { "atRiskPercent": 100, "alertOnBreach": true } })).await;
    assert_eq!(e, invalid("atRiskPercent"));
}

#[tokio::test]
async fn routing_rules_round_trip_and_name_the_member_at_fault() {
    let env = env().await;
    let queues = env.ok(&env.admin, "{ queues { id } users { id name } }", json!({})).await;
    let queue = queues["queues"][0]["id"].clone();
    let alex = queues["users"].as_array().unwrap().iter().find(|u| u["name"] == "Alex").unwrap()["id"].clone();
    let rule = |name: &str, actions: Value| {
        json!({ "name": name, "join": "OR", "clauses": [
            { "field": "PRIORITY", "op": "IS", "value": " high " },
            { "field": "TEXT", "op": "CONTAINS", "value": "refund" },
        ], "actions": actions })
    };
    let actions = json!([
        { "type": "ASSIGN_TO_QUEUE", "queueId": queue },
        { "type": "ASSIGN_TO_USER", "userId": alex },
        { "type": "SET_PRIORITY", "priority": "URGENT" },
        { "type": "ADD_TAG", "tag": "VIP" },
        { "type": "ESCALATE", "queueId": null },
    ]);
    let first =
        env.ok(&env.admin, SAVE_RULE, json!({ "i": rule("Refunds", actions.clone()) })).await["saveRoutingRule"]
            .clone();
    assert_eq!((&first["enabled"], &first["join"]), (&json!(true), &json!("OR")));
    assert_eq!(first["clauses"][0], json!({ "field": "PRIORITY", "op": "IS", "value": "high" }));
    assert_eq!(
        first["actions"],
        json!([
            { "type": "ASSIGN_TO_QUEUE", "queueId": queue, "userId": null, "priority": null, "tag": null },
            { "type": "ASSIGN_TO_USER", "queueId": null, "userId": alex, "priority": null, "tag": null },
            { "type": "SET_PRIORITY", "queueId": null, "userId": null, "priority": "URGENT", "tag": null },
            { "type": "ADD_TAG", "queueId": null, "userId": null, "priority": null, "tag": "vip" },
            { "type": "ESCALATE", "queueId": null, "userId": null, "priority": null, "tag": null },
        ])
    );
    let second =
        env.ok(&env.admin, SAVE_RULE, json!({ "i": rule("Second", json!([{ "type": "ESCALATE" }])) })).await
            ["saveRoutingRule"]
            .clone();
    assert!(second["position"].as_i64() > first["position"].as_i64());

    for (actions, field) in [
        (json!([{ "type": "ASSIGN_TO_QUEUE" }]), "actions[0].queueId"),
        (json!([{ "type": "ESCALATE" }, { "type": "REASSIGN_QUEUE" }]), "actions[1].queueId"),
        (json!([{ "type": "ASSIGN_TO_USER" }]), "actions[0].userId"),
        (json!([{ "type": "SET_PRIORITY" }]), "actions[0].priority"),
        (json!([{ "type": "ADD_TAG" }]), "actions[0].tag"),
        (json!([{ "type": "ESCALATE", "tag": "x" }]), "actions[0].tag"),
        (json!([{ "type": "ASSIGN_TO_QUEUE", "queueId": "q1" }]), "actions[0].queueId"),
        (json!([{ "type": "ASSIGN_TO_QUEUE", "queueId": "999999" }]), "actions[0].queueId"),
        (json!([{ "type": "ADD_TAG", "tag": "" }]), "actions[0].tag"),
    ] {
        let e = env.error(Some(&env.admin), SAVE_RULE, json!({ "i": rule("Bad", actions.clone()) })).await;
        assert_eq!(e, invalid(field), "{actions}");
    }
    let bad_clause = json!({ "name": "Bad", "clauses": [{ "field": "PRIORITY", "op": "IS", "value": "critical" }],
        "actions": [{ "type": "ESCALATE" }] });
    assert_eq!(env.error(Some(&env.admin), SAVE_RULE, json!({ "i": bad_clause })).await, invalid("clauses[0].value"));

    let reorder = "mutation($ids: [ID!]!) { reorderRoutingRules(ruleIds: $ids) { id position } }";
    let order = env.ok(&env.admin, reorder, json!({ "ids": [second["id"], first["id"]] })).await;
    let ids: Vec<&Value> = order["reorderRoutingRules"].as_array().unwrap().iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, vec![&second["id"], &first["id"]]);
    let e = env.error(Some(&env.admin), reorder, json!({ "ids": [second["id"]] })).await;
    assert_eq!(e, invalid("ruleIds"));
    assert_eq!(env.error(Some(&env.admin), reorder, json!({ "ids": ["x"] })).await, invalid("ruleIds[0]"));
    let listed = env.ok(&env.agent, "{ routingRules { name } }", json!({})).await;
    assert_eq!(listed["routingRules"], json!([{ "name": "Second" }, { "name": "Refunds" }]));
    let delete = "mutation($id: ID!) { deleteRoutingRule(id: $id) }";
    assert_eq!(env.ok(&env.admin, delete, json!({ "id": second["id"] })).await["deleteRoutingRule"], true);
    assert_eq!(env.error(Some(&env.agent), delete, json!({ "id": first["id"] })).await.0, "FORBIDDEN");
}

#[tokio::test]
async fn automation_rules_are_reported_rule_by_rule() {
    let env = env().await;
    let save = "mutation($r: String!, $d: Boolean) { saveAutomationRules(rules: $r, dropInvalid: $d) {
        saved rules reports { index id accepted errors { code field message } } } }";
    let rules = json!([
        { "id": "tag-new", "trigger": "ticket_opened", "actions": [{ "type": "add_tag", "tag": "new" }] },
        { "trigger": "message_contains", "actions": [{ "type": "escalate" }] },
    ])
    .to_string();
    let out = env.ok(&env.admin, save, json!({ "r": rules })).await["saveAutomationRules"].clone();
    assert_eq!(out["saved"], false);
    assert_eq!(out["rules"], "[]");
    assert_eq!(out["reports"][0], json!({ "index": 0, "id": "tag-new", "accepted": true, "errors": [] }));
    assert_eq!(out["reports"][1]["accepted"], false);
    assert_eq!(out["reports"][1]["errors"][0]["field"], "rules[1].match");
    assert_eq!(out["reports"][1]["errors"][0]["code"], "VALIDATION");

    let out = env.ok(&env.admin, save, json!({ "r": rules, "d": true })).await["saveAutomationRules"].clone();
    assert_eq!(out["saved"], true);
    let in_force: Value = serde_json::from_str(out["rules"].as_str().unwrap()).unwrap();
    assert_eq!(in_force[0]["id"], "tag-new");
    let read = env
        .ok(
            &env.agent,
            "{ automationRules automationRuleList { id enabled trigger match actions { type tag } } }",
            json!({}),
        )
        .await;
    assert_eq!(serde_json::from_str::<Value>(read["automationRules"].as_str().unwrap()).unwrap(), in_force);
    assert_eq!(
        read["automationRuleList"],
        json!([{ "id": "tag-new", "enabled": true, "trigger": "TICKET_OPENED", "match": null,
            "actions": [{ "type": "ADD_TAG", "tag": "new" }] }])
    );
    assert_eq!(env.error(Some(&env.admin), save, json!({ "r": "{" })).await, invalid("rules"));
    assert_eq!(env.error(Some(&env.agent), save, json!({ "r": "[]" })).await.0, "FORBIDDEN");
}

#[tokio::test]
async fn webhooks_show_no_secret_and_log_deliveries() {
    let env = env().await;
    let save = "mutation($id: ID, $i: WebhookInput!) { saveWebhook(id: $id, input: $i) {
        webhook { id name url enabled events } secret } }";
    let input =
        json!({ "name": "CRM", "url": "https://hooks.example.com/in", "events": ["TICKET_OPENED", "SLA_BREACH"] });
    let saved = env.ok(&env.admin, save, json!({ "i": input })).await["saveWebhook"].clone();
    assert!(saved["secret"].as_str().unwrap().starts_with("whsec_"), "{saved}");
    assert_eq!(saved["webhook"]["events"], json!(["TICKET_OPENED", "SLA_BREACH"]));
    assert_eq!(saved["webhook"]["enabled"], true);
    let id = saved["webhook"]["id"].clone();
    let edit =
        json!({ "name": "CRM", "url": "https://hooks.example.com/v2", "enabled": false, "events": ["TICKET_CLOSED"] });
    let edited = env.ok(&env.admin, save, json!({ "id": id, "i": edit })).await["saveWebhook"].clone();
    assert_eq!((&edited["secret"], &edited["webhook"]["enabled"]), (&Value::Null, &json!(false)));
    let private = json!({ "name": "Internal", "url": "http://10.0.0.1/", "events": ["TICKET_OPENED"] });
    assert_eq!(env.error(Some(&env.admin), save, json!({ "i": private })).await, invalid("url"));
    let none = json!({ "name": "None", "url": "https://hooks.example.com/", "events": [] });
    assert_eq!(env.error(Some(&env.admin), save, json!({ "i": none })).await, invalid("events"));

    let test = "mutation($id: ID!) { sendTestWebhook(id: $id) }";
    let delivery = env.ok(&env.admin, test, json!({ "id": id })).await["sendTestWebhook"].clone();
    let log = env
        .ok(
            &env.admin,
            "{ webhooks { id deliveries(first: 5) { id event status attempts responseStatus nextAttemptAt deliveredAt } } }",
            json!({}),
        )
        .await;
    let d = &log["webhooks"][0]["deliveries"][0];
    assert_eq!(
        (&d["id"], &d["event"], &d["status"], &d["attempts"]),
        (&delivery, &json!("webhook.test"), &json!("PENDING"), &json!(0))
    );
    assert!(d["nextAttemptAt"].is_string() && d["deliveredAt"].is_null(), "{d}");
    assert!(!log.to_string().contains("secret"));

    assert_eq!(env.error(Some(&env.agent), "{ webhooks { id } }", json!({})).await.0, "FORBIDDEN");
    let delete = "mutation($id: ID!) { deleteWebhook(id: $id) }";
    assert_eq!(env.ok(&env.admin, delete, json!({ "id": id })).await["deleteWebhook"], true);
    assert_eq!(env.error(Some(&env.admin), test, json!({ "id": id })).await.0, "NOT_FOUND");
}

#[tokio::test]
async fn tickets_flags_previews_and_who_is_refused() {
    let env = env().await;
    let open = "mutation { openTicket(input: { subject: \"Printer on fire\", requester: { email: \"carla@example.com\" } }) { id number } }";
    let t = env.ok(&env.agent, open, json!({})).await["openTicket"].clone();
    let sla = "query($id: ID!) { ticket(id: $id) { slaPaused slaPolicyId slaBreaches { target dueAt detectedAt } } }";
    let read = env.ok(&env.agent, sla, json!({ "id": t["id"] })).await;
    assert_eq!(read["ticket"], json!({ "slaPaused": false, "slaPolicyId": null, "slaBreaches": [] }));

    let canned = "mutation { saveCannedResponse(input: { title: \"Hi\", body: \"Hi {{requester.name}}, about {{ticket.number}}. {{actor.name}}\" }) { id } }";
    let c = env.ok(&env.admin, canned, json!({})).await["saveCannedResponse"]["id"].clone();
    let preview = "query($id: ID!, $t: ID!) { previewCannedResponse(id: $id, ticketId: $t) }";
    let text = env.ok(&env.agent, preview, json!({ "id": c, "t": t["id"] })).await;
    let number = t["number"].as_str().unwrap();
    assert_eq!(text["previewCannedResponse"], format!("Hi Carla Customer, about {number}. Alex"));
    assert_eq!(env.error(Some(&env.agent), preview, json!({ "id": c, "t": "999999" })).await.0, "NOT_FOUND");
    let vars = env.ok(&env.agent, "{ cannedResponseVariables }", json!({})).await;
    assert!(vars["cannedResponseVariables"].as_array().unwrap().contains(&json!("ticket.number")));

    let escalate = "mutation($id: ID!) { updateTicket(ticketId: $id, input: { escalated: true }) { escalated } }";
    env.ok(&env.agent, escalate, json!({ "id": t["id"] })).await;
    let flags = "query($all: Boolean) { qualityFlags(includeResolved: $all) { id kind reason resolvedAt resolvedByUserId ticketId ticket { number } } }";
    let listed = env.ok(&env.agent, flags, json!({})).await["qualityFlags"].clone();
    assert_eq!((&listed[0]["kind"], &listed[0]["ticketId"]), (&json!("ESCALATED"), &t["id"]));
    assert_eq!(listed[0]["ticket"]["number"], number);
    let resolve = "mutation($id: ID!) { resolveQualityFlag(id: $id) { resolvedAt resolvedByUserId } }";
    let resolved = env.ok(&env.agent, resolve, json!({ "id": listed[0]["id"] })).await["resolveQualityFlag"].clone();
    assert!(resolved["resolvedAt"].is_string() && resolved["resolvedByUserId"].is_string(), "{resolved}");
    assert_eq!(env.ok(&env.agent, flags, json!({})).await["qualityFlags"], json!([]));
    assert_eq!(env.ok(&env.agent, flags, json!({ "all": true })).await["qualityFlags"].as_array().unwrap().len(), 1);

    let notes = "{ notifications(first: 10) { id kind ticketId message createdAt } }";
    assert!(env.ok(&env.admin, notes, json!({})).await["notifications"].is_array());
    assert_eq!(env.error(Some(&env.agent), notes, json!({})).await.0, "FORBIDDEN");

    // A flag list is as costly as its 200 possible tickets; one with their threads is refused.
    let heavy = "{ qualityFlags { id ticket { number entries { body } history { field } } } }";
    assert_eq!(env.error(Some(&env.agent), heavy, json!({})).await.0, "QUERY_TOO_LARGE");
    let light = "{ notifications { id } webhooks { id deliveries { event status attempts responseStatus latencyMs lastError } } }";
    env.ok(&env.admin, light, json!({})).await;

    // Customers and anonymous callers reach none of it.
    for q in [
        "{ calendars { id } }",
        "{ slaPolicies { id } }",
        "{ slaSettings { atRiskPercent } }",
        "{ routingRules { id } }",
        "{ automationRules }",
        "{ automationRuleList { id } }",
        "{ webhooks { id } }",
        "{ qualityFlags { id } }",
        "{ notifications { id } }",
        "{ cannedResponseVariables }",
        "mutation { saveSlaSettings(input: { atRiskPercent: 10, alertOnBreach: true }) { atRiskPercent } }",
        "mutation { saveAutomationRules(rules: \"[]\") { saved } }",
    ] {
        assert_eq!(env.error(Some(&env.customer), q, json!({})).await.0, "FORBIDDEN", "{q}");
        assert_eq!(env.error(None, q, json!({})).await.0, "UNAUTHENTICATED", "{q}");
    }
    let e = env.error(Some(&env.customer), preview, json!({ "id": c, "t": t["id"] })).await;
    assert_eq!(e.0, "FORBIDDEN");
}

/// A document whose fragments each spread the previous one twice: `levels` levels select
/// 2^levels fields while the document stays a few hundred bytes.
fn fragment_bomb(levels: usize) -> String {
    let mut doc = format!("query {{ ...F{levels} }}\nfragment F1 on Query {{ __typename }}\n");
    for i in 2..=levels {
        doc += &format!("fragment F{i} on Query {{ ...F{p} ...F{p} }}\n", p = i - 1);
    }
    doc
}

fn code_and_message(body: &Value) -> (String, String) {
    let e = &body["errors"][0];
    (
        e["extensions"]["code"].as_str().unwrap_or_default().to_string(),
        e["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn fragment_bombs_are_refused_before_they_run() {
    let env = env().await;
    // Nine levels fit the anonymous fragment count; twenty the signed-in one.
    for (who, levels) in [(None, 9), (Some(&env.agent), 20)] {
        let started = std::time::Instant::now();
        let body = env.run(who, &fragment_bomb(levels), json!({})).await;
        let (code, message) = code_and_message(&body);
        assert_eq!(code, "QUERY_TOO_LARGE", "{body}");
        assert!(message.contains("fragments are expanded"), "{message}");
        assert!(body["data"].is_null(), "{body}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    }
    // The largest documents within the signed-in budget validate and run quickly: the checks
    // that compare every pair of fields stay cheap at this size.
    for doc in [
        format!("{{ {} }}", "__typename ".repeat(1_990)),
        format!("{{ {} }}", "me { workspace { slug } } ".repeat(650)),
        format!("{{ ...on Query {{ {} }} }}", "me { ...on Viewer { name } } ".repeat(600)),
    ] {
        let started = std::time::Instant::now();
        let body = env.run(Some(&env.agent), &doc, json!({})).await;
        assert!(body.get("errors").is_none(), "{}", &body.to_string()[..300.min(body.to_string().len())]);
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    }
    // A fragment that spreads itself is refused by name, and quickly: walking it would never end.
    let cycle = "query { ...A } fragment A on Query { __typename ...B ...B } fragment B on Query { ...A ...A }";
    let (code, message) = code_and_message(&env.run(Some(&env.agent), cycle, json!({})).await);
    assert_eq!((code.as_str(), message.contains("spreads itself")), ("BAD_REQUEST", true), "{message}");

    // Fragments still work, and are measured where they are spread: the depth limit sees the
    // nesting a fragment adds.
    let fine = "query { me { ...Who } } fragment Who on Viewer { name workspace { slug } }";
    let data = env.ok(&env.agent, fine, json!({})).await;
    assert_eq!(data["me"]["name"], "Alex");
    let deep_fields = "fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }";
    let deep = format!("{{ __schema {{ types {{ ...T }} }} }} fragment T on __Type {{ {deep_fields} }}");
    let (code, message) = code_and_message(&env.run(Some(&env.agent), &deep, json!({})).await);
    assert_eq!(code, "BAD_REQUEST", "{message}");
    assert!(message.contains("nested too deep"), "{message}");
}

#[tokio::test]
async fn anonymous_callers_get_a_smaller_budget_than_signed_in_ones() {
    let env = env().await;
    // Over the anonymous complexity budget, within the signed-in one.
    let big_page = "{ tickets(first: 100) { nodes { id number subject status priority updatedAt } } }";
    let (code, message) = code_and_message(&env.run(None, big_page, json!({})).await);
    assert_eq!(code, "QUERY_TOO_LARGE", "{message}");
    assert!(message.contains("without signing in"), "{message}");
    env.ok(&env.agent, big_page, json!({})).await;

    // Aliases, fragments and bytes likewise.
    let aliases: String = (0..30).map(|i| format!("a{i}: __typename ")).collect();
    let (code, message) = code_and_message(&env.run(None, &format!("{{ {aliases} }}"), json!({})).await);
    assert_eq!((code.as_str(), message.contains("30 aliases")), ("QUERY_TOO_LARGE", true), "{message}");
    env.ok(&env.agent, &format!("{{ {aliases} }}"), json!({})).await;
    let padded = format!("{{ __typename }}\n# {}", "x".repeat(20_000));
    let (code, message) = code_and_message(&env.run(None, &padded, json!({})).await);
    assert_eq!((code.as_str(), message.contains("bytes")), ("QUERY_TOO_LARGE", true), "{message}");
    env.ok(&env.agent, &padded, json!({})).await;
    let huge = format!("{{ __typename }}\n# {}", "x".repeat(100_000));
    let (code, _) = code_and_message(&env.run(Some(&env.agent), &huge, json!({})).await);
    assert_eq!(code, "QUERY_TOO_LARGE");
    let directives: String = (0..101).map(|_| "@include(if: true) ").collect();
    let (code, message) =
        code_and_message(&env.run(Some(&env.agent), &format!("{{ __typename {directives} }}"), json!({})).await);
    assert_eq!((code.as_str(), message.contains("101 directives")), ("QUERY_TOO_LARGE", true), "{message}");
}

#[tokio::test]
async fn introspection_follows_the_setting() {
    let env = env().await;
    let introspect = "{ __schema { queryType { name } } }";
    // The default: signed-in callers only.
    let (code, _) = code_and_message(&env.run(None, introspect, json!({})).await);
    assert_eq!(code, "INTROSPECTION_DISABLED");
    let hidden = "{ ...Q } fragment Q on Query { __type(name: \"Ticket\") { name } }";
    let (code, _) = code_and_message(&env.run(None, hidden, json!({})).await);
    assert_eq!(code, "INTROSPECTION_DISABLED");
    assert_eq!(env.ok(&env.agent, introspect, json!({})).await["__schema"]["queryType"]["name"], "Query");
    // `__typename` is not introspection: clients need it.
    assert_eq!(env.run(None, "{ __typename }", json!({})).await["data"]["__typename"], "Query");

    let desk = env.schema.data::<Desk>().unwrap().clone();
    let off = crate::build_schema_with(
        crate::CoreOnlyQuery::default(),
        crate::CoreOnlyMutation::default(),
        desk,
        RequestLimits { introspection: Introspection::Off, ..Default::default() },
    );
    let resp = off.execute(Request::new(introspect).data(env.agent.clone())).await;
    let body = serde_json::to_value(resp).unwrap();
    assert_eq!(code_and_message(&body).0, "INTROSPECTION_DISABLED", "{body}");
}

#[tokio::test]
async fn a_request_past_its_time_is_stopped_with_a_code() {
    let env = env().await;
    let desk = env.schema.data::<Desk>().unwrap().clone();
    let hasty = crate::build_schema_with(
        crate::CoreOnlyQuery::default(),
        crate::CoreOnlyMutation::default(),
        desk,
        RequestLimits { timeout: std::time::Duration::ZERO, ..Default::default() },
    );
    // Reading tickets waits on the database, so a zero budget is always past.
    let resp = hasty.execute(Request::new("{ tickets { nodes { id } } }").data(env.agent.clone())).await;
    let body = serde_json::to_value(resp).unwrap();
    assert_eq!(code_and_message(&body).0, "TIMEOUT", "{body}");
}

#[tokio::test]
async fn error_messages_do_not_echo_long_input() {
    let env = env().await;
    let long_line = format!("{{ tickets(filter: {{ search: \"{}\" }} {{ nodes {{ id }} }} }}", "y".repeat(20_000));
    let body = env.run(Some(&env.agent), &long_line, json!({})).await;
    let (code, message) = code_and_message(&body);
    assert_eq!(code, "BAD_REQUEST", "{message}");
    assert!(message.chars().count() < 400, "{} chars: {message:.500}", message.chars().count());
}
