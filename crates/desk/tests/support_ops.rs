//! Support operations through the desk on a real database, with the clock moved by hand:
//! routing, assignment, the SLA clock and breaches, automation rules, canned responses,
//! follow-ups and auto-close. SQLite by default; with `TEST_POSTGRES_URL` (a server URL without a
//! database, e.g. `postgres://postgres@127.0.0.1:5432`) each test gets a fresh PostgreSQL database.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use switchboard_desk::domain::*;
use switchboard_desk::store::{IdentityKind, QueueRecord, Store, TicketRecord, UserRecord};
use switchboard_desk::*;

struct Env {
    desk: Desk,
    clock: Arc<ManualClock>,
    admin: Actor,
    store: Store,
    _dir: tempfile::TempDir,
}

fn ms(s: &str) -> Millis {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

async fn env(time_zone: &str, now: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::connect(&switchboard_testkit::fresh_database_url(dir.path(), "ops").await.unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::at(ms(now)));
    let auth = AuthConfig { jwt_secret: b"test secret for the desk".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store.clone(), clock.clone(), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", time_zone, "General").await.unwrap();
    Env { desk, clock, admin: Actor::system(ws.id), store, _dir: dir }
}

impl Env {
    async fn user(&self, name: &str) -> UserRecord {
        let email = format!("{}@acme.test", name.to_lowercase());
        self.desk.create_user(&self.admin, &email, name, Role::Agent, None).await.unwrap()
    }

    async fn agent(&self, name: &str) -> Actor {
        let u = self.user(name).await;
        Actor { workspace_id: u.workspace_id, kind: ActorKind::User { id: u.id, role: Role::Agent }, label: u.name }
    }

    async fn queue(&self, name: &str, mode: AssignmentMode) -> QueueRecord {
        self.desk.save_queue(&self.admin, None, name, mode, false, None).await.unwrap()
    }

    async fn open(&self, subject: &str, priority: Priority, tags: &[&str]) -> TicketRecord {
        self.open_with(subject, priority, tags, None).await
    }

    async fn open_with(
        &self,
        subject: &str,
        priority: Priority,
        tags: &[&str],
        queue: Option<QueueId>,
    ) -> TicketRecord {
        let input = OpenTicket {
            subject: subject.into(),
            description: Some(format!("About: {subject}")),
            requester: RequesterRef::Email { email: "pat@customer.test".into(), name: Some("Pat".into()) },
            priority: Some(priority),
            source: Some(Source::Portal),
            queue_id: queue,
            help_topic_id: None,
            assignee_id: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            resolution_due_at: None,
            attachments: Vec::new(),
        };
        self.desk.open_ticket(&self.admin, input).await.unwrap()
    }

    async fn events(&self, t: &TicketRecord) -> Vec<(String, serde_json::Value)> {
        let mut tx = self.store.read().await.unwrap();
        tx.list_events(t.workspace_id, t.id)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, p)| (k, serde_json::from_str(&p).unwrap()))
            .collect()
    }

    async fn reload(&self, t: &TicketRecord) -> TicketRecord {
        self.desk.ticket(&self.admin, t.id).await.unwrap()
    }
}

fn clause(field: ClauseField, op: ClauseOp, value: &str) -> RoutingClause {
    RoutingClause { field, op, value: value.into() }
}

fn rule(
    name: &str,
    position: i64,
    join: RuleJoin,
    clauses: Vec<RoutingClause>,
    actions: Vec<RoutingAction>,
) -> RoutingRuleChange {
    RoutingRuleChange {
        name: name.into(),
        enabled: true,
        position: Some(position),
        join,
        clauses,
        actions,
        version: None,
    }
}

#[tokio::test]
async fn routing_rules_place_new_tickets_and_react_to_changes() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let (vip, billing, spam) = (
        e.queue("VIP", AssignmentMode::Manual).await,
        e.queue("Billing", AssignmentMode::Manual).await,
        e.queue("Spam", AssignmentMode::Manual).await,
    );
    let urgent_vip = rule(
        "Urgent VIPs",
        10,
        RuleJoin::And,
        vec![clause(ClauseField::Priority, ClauseOp::Is, "urgent"), clause(ClauseField::Tag, ClauseOp::Is, "vip")],
        vec![RoutingAction::AssignToQueue { queue_id: vip.id }, RoutingAction::Escalate],
    );
    let money = rule(
        "Money talk",
        20,
        RuleJoin::Or,
        vec![
            clause(ClauseField::Text, ClauseOp::Contains, "REFUND"),
            clause(ClauseField::Source, ClauseOp::Is, "email"),
        ],
        vec![RoutingAction::AssignToQueue { queue_id: billing.id }, RoutingAction::AddTag { tag: "billing".into() }],
    );
    let mut off = rule(
        "Disabled catch-all",
        1,
        RuleJoin::Or,
        vec![
            clause(ClauseField::Priority, ClauseOp::IsNot, "urgent"),
            clause(ClauseField::Priority, ClauseOp::Is, "urgent"),
        ],
        vec![RoutingAction::AssignToQueue { queue_id: spam.id }],
    );
    off.enabled = false;
    for r in [urgent_vip, money, off] {
        e.desk.save_routing_rule(&e.admin, None, r).await.unwrap();
    }

    // OR: one clause is enough; the disabled rule at position 1 is skipped.
    let t = e.open("Please refund my order", Priority::Normal, &[]).await;
    assert_eq!((t.queue_id, t.tags.as_str()), (billing.id, "billing"));
    let history = e.desk.history(&e.admin, t.id).await.unwrap();
    assert!(history.iter().any(|h| h.field == "routing_rule" && h.new_value.as_deref() == Some("Money talk")));

    // AND: both clauses must hold; first match by position wins over "Money talk".
    let t = e.open("Refund for a VIP", Priority::Urgent, &["vip"]).await;
    assert_eq!(t.queue_id, vip.id);
    assert!(t.escalated);
    let escalation = e.events(&t).await.into_iter().find(|(k, _)| k == "ticket.escalated").unwrap();
    assert!(escalation.1["reason"].as_str().unwrap().contains("Urgent VIPs"));

    // Neither rule: stays in the default queue.
    let t = e.open("Login trouble", Priority::Urgent, &[]).await;
    assert_ne!(t.queue_id, vip.id);

    // A change to a routed field re-runs routing: adding the vip tag now matches the AND rule.
    let patch = TicketPatch { tags: Some(vec!["vip".into()]), ..Default::default() };
    let t = e.desk.update_ticket(&e.admin, t.id, patch).await.unwrap();
    assert_eq!(t.queue_id, vip.id);
    assert!(t.escalated);

    // Validation names the clause.
    let bad = rule(
        "Broken",
        5,
        RuleJoin::And,
        vec![clause(ClauseField::Tag, ClauseOp::Is, "ok"), clause(ClauseField::Priority, ClauseOp::Is, "critical")],
        vec![RoutingAction::Escalate],
    );
    match e.desk.save_routing_rule(&e.admin, None, bad).await {
        Err(DeskError::Validation(v)) => assert_eq!(v.field, "clauses[1].value"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let missing_queue = rule(
        "Nowhere",
        5,
        RuleJoin::And,
        vec![clause(ClauseField::Tag, ClauseOp::Is, "ok")],
        vec![RoutingAction::AssignToQueue { queue_id: QueueId(9999) }],
    );
    match e.desk.save_routing_rule(&e.admin, None, missing_queue).await {
        Err(DeskError::Validation(v)) => assert_eq!(v.field, "actions[0].queueId"),
        other => panic!("expected a validation error, got {other:?}"),
    }

    // Reordering changes which rule wins.
    let rules = e.desk.routing_rule_list(&e.admin).await.unwrap();
    let mut order: Vec<RoutingRuleId> = rules.iter().map(|r| r.id).collect();
    order.reverse();
    let reordered = e.desk.reorder_routing_rules(&e.admin, &order).await.unwrap();
    assert_eq!(reordered.iter().map(|r| r.id).collect::<Vec<_>>(), order);
}

/// What a routing rule decides about a ticket, as staff see it.
fn routed(t: &TicketRecord) -> (QueueId, Option<UserId>, Priority, bool) {
    (t.queue_id, t.assignee_id, t.priority, t.escalated)
}

#[tokio::test]
async fn a_ticket_opened_on_the_web_one_from_a_channel_and_one_changed_to_match_are_routed_alike() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let billing = e.queue("Billing", AssignmentMode::RoundRobin).await;
    let sam = e.user("Sam").await;
    e.desk.set_queue_member(&e.admin, billing.id, sam.id, MemberRole::Member, 1, false).await.unwrap();
    let refunds = rule(
        "Refunds",
        10,
        RuleJoin::Or,
        vec![clause(ClauseField::Text, ClauseOp::Contains, "refund"), clause(ClauseField::Tag, ClauseOp::Is, "refund")],
        vec![
            RoutingAction::ReassignQueue { queue_id: billing.id },
            RoutingAction::SetPriority { priority: Priority::High },
            RoutingAction::AddTag { tag: "billing".into() },
            RoutingAction::Escalate,
        ],
    );
    e.desk.save_routing_rule(&e.admin, None, refunds).await.unwrap();

    let web = e.open("I want a refund", Priority::Normal, &[]).await;
    let msg = email_from("robin@customer.test", "<r1@customer.test>", "I want a refund for the printer");
    let ingested = e.desk.ingest(&e.admin, msg).await.unwrap();
    assert!(ingested.opened);
    let channel = e.desk.ticket(&e.admin, ingested.ticket_id).await.unwrap();
    // Opened without a match, then tagged by staff: the same rule applies on the change.
    let quiet = e.open("Login trouble", Priority::Normal, &[]).await;
    assert_ne!(quiet.queue_id, billing.id);
    let patch = TicketPatch { tags: Some(vec!["refund".into()]), ..Default::default() };
    let changed = e.desk.update_ticket(&e.admin, quiet.id, patch).await.unwrap();

    let expected = (billing.id, Some(sam.id), Priority::High, true);
    assert_eq!(routed(&web), expected, "opened on the web");
    assert_eq!(routed(&channel), expected, "ingested from email");
    assert_eq!(routed(&changed), expected, "changed to match");
    assert_eq!(
        (web.tags.as_str(), channel.tags.as_str(), changed.tags.as_str()),
        ("billing", "billing", "refund,billing")
    );
    for t in [&web, &channel] {
        let history = e.desk.history(&e.admin, t.id).await.unwrap();
        assert!(history.iter().any(|h| h.field == "routing_rule" && h.new_value.as_deref() == Some("Refunds")));
    }
    for t in [&web, &channel, &changed] {
        let escalation = e.events(t).await.into_iter().find(|(k, _)| k == "ticket.escalated").unwrap();
        assert!(escalation.1["reason"].as_str().unwrap().contains("Refunds"), "{:?}", escalation.1);
    }
}

#[tokio::test]
async fn a_rule_naming_a_deleted_queue_is_skipped_when_a_ticket_changes_as_when_it_opens() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let gone = e.queue("Gone", AssignmentMode::Manual).await;
    let stale = rule(
        "Stale",
        10,
        RuleJoin::And,
        vec![clause(ClauseField::Priority, ClauseOp::Is, "urgent")],
        vec![RoutingAction::AssignToQueue { queue_id: gone.id }, RoutingAction::AddTag { tag: "hot".into() }],
    );
    e.desk.save_routing_rule(&e.admin, None, stale).await.unwrap();
    e.desk.delete_queue(&e.admin, gone.id).await.unwrap();

    let opened = e.open("Down again", Priority::Urgent, &[]).await;
    assert_eq!(opened.tags, "hot");
    // Before, the agent's priority change failed with an error about a queue they never touched.
    let t = e.open("Slow page", Priority::Normal, &[]).await;
    let patch = TicketPatch { priority: Some(Priority::Urgent), ..Default::default() };
    let t = e.desk.update_ticket(&e.admin, t.id, patch).await.unwrap();
    assert_eq!((t.priority, t.queue_id, t.tags.as_str()), (Priority::Urgent, opened.queue_id, "hot"));
}

#[tokio::test]
async fn round_robin_skips_members_on_break_and_survives_a_restart() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let q = e.queue("Support", AssignmentMode::RoundRobin).await;
    let (ann, bob, cat) = (e.user("Ann").await, e.user("Bob").await, e.user("Cat").await);
    for (u, on_break) in [(&ann, false), (&bob, true), (&cat, false)] {
        e.desk.set_queue_member(&e.admin, q.id, u.id, MemberRole::Member, 1, on_break).await.unwrap();
    }
    let mut picks = Vec::new();
    for i in 0..3 {
        picks.push(e.open_with(&format!("Ticket {i}"), Priority::Normal, &[], Some(q.id)).await.assignee_id);
    }
    assert_eq!(picks, vec![Some(ann.id), Some(cat.id), Some(ann.id)]);

    // A new desk on the same database (a restart) continues where the rotation stopped; Bob is back.
    e.desk.set_queue_member(&e.admin, q.id, bob.id, MemberRole::Member, 1, false).await.unwrap();
    let restarted = e.desk.with_clock(e.clock.clone());
    let t = restarted
        .open_ticket(
            &e.admin,
            OpenTicket {
                subject: "After restart".into(),
                description: None,
                requester: RequesterRef::Email { email: "pat@customer.test".into(), name: None },
                priority: None,
                source: None,
                queue_id: Some(q.id),
                help_topic_id: None,
                assignee_id: None,
                tags: Vec::new(),
                resolution_due_at: None,
                attachments: Vec::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(t.assignee_id, Some(bob.id));
}

#[tokio::test]
async fn load_balancing_follows_reassignments() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let q = e.queue("Support", AssignmentMode::LoadBalanced).await;
    let (ann, bob) = (e.user("Ann").await, e.user("Bob").await);
    for u in [&ann, &bob] {
        e.desk.set_queue_member(&e.admin, q.id, u.id, MemberRole::Member, 1, false).await.unwrap();
    }
    let t1 = e.open_with("one", Priority::Normal, &[], Some(q.id)).await;
    let t2 = e.open_with("two", Priority::Normal, &[], Some(q.id)).await;
    assert_ne!(t1.assignee_id, t2.assignee_id, "equal load alternates");
    // Move Bob's ticket to Ann: Ann has 2, Bob 0, so the next goes to Bob, then Bob again.
    let bobs = if t1.assignee_id == Some(bob.id) { &t1 } else { &t2 };
    let patch = TicketPatch { assignee_id: Some(Some(ann.id)), ..Default::default() };
    e.desk.update_ticket(&e.admin, bobs.id, patch).await.unwrap();
    assert_eq!(e.open_with("three", Priority::Normal, &[], Some(q.id)).await.assignee_id, Some(bob.id));
    assert_eq!(e.open_with("four", Priority::Normal, &[], Some(q.id)).await.assignee_id, Some(bob.id));
    // A closed ticket no longer counts as load.
    e.desk.close(&e.admin, t1.id, CloseReason::Resolved, None).await.unwrap();
    e.desk.close(&e.admin, t2.id, CloseReason::Resolved, None).await.unwrap();
    assert_eq!(e.open_with("five", Priority::Normal, &[], Some(q.id)).await.assignee_id, Some(ann.id));
}

fn office_hours(tz: &str, holidays: &[&str]) -> CalendarSpec {
    let schedule = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| DayHours { weekday: d.to_string(), opens: "09:00".into(), closes: "17:00".into() })
        .collect();
    CalendarSpec { time_zone: tz.into(), schedule, holidays: holidays.iter().map(|h| h.to_string()).collect() }
}

#[tokio::test]
async fn sla_targets_count_business_hours_pause_while_waiting_and_breach_once() {
    // Friday 16:00 in Berlin (15:00 UTC). Monday 6 April 2026 is Easter Monday, a holiday.
    let e = env("Europe/Berlin", "2026-04-03T14:00:00Z").await;
    let cal = e
        .desk
        .save_calendar(&e.admin, None, "Berlin office", &office_hours("Europe/Berlin", &["2026-04-06"]), None)
        .await;
    let cal = cal.unwrap();
    let policy = SlaPolicyChange {
        name: "High".into(),
        priority: Priority::High,
        help_topic_id: None,
        first_response_minutes: 120,
        resolution_minutes: 600,
        calendar_id: Some(cal.id),
        version: None,
    };
    e.desk.save_sla_policy(&e.admin, None, policy).await.unwrap();
    let automation = r#"[{"id":"late","name":"Tag late tickets","trigger":"sla_breach","actions":[{"type":"add_tag","tag":"late"}]}]"#;
    assert!(e.desk.save_automation_rules(&e.admin, automation, false, None).await.unwrap().saved);

    let t = e.open("Printer on fire", Priority::High, &[]).await;
    // One business hour left on Friday, then the weekend and the holiday: Tuesday 10:00 Berlin.
    assert_eq!(t.first_response_due_at, Some(ms("2026-04-07T08:00:00Z")));
    // 600 minutes: 60 on Friday, 480 on Tuesday, 60 on Wednesday.
    assert_eq!(t.resolution_due_at, Some(ms("2026-04-08T08:00:00Z")));

    // Staff answer on Tuesday 09:30 and wait on the customer until Wednesday 09:30.
    e.clock.set(ms("2026-04-07T07:30:00Z"));
    let waiting = Some(TicketStatus::Waiting);
    let agent = e.agent("Ann").await;
    e.desk.reply(&agent, t.id, "Could you send a photo?", Vec::new(), waiting).await.unwrap();
    let paused = e.reload(&t).await;
    assert_eq!(paused.first_responded_at, Some(ms("2026-04-07T07:30:00Z")));
    assert_eq!(paused.sla_due_at, None, "a paused clock has no pending target");
    e.clock.set(ms("2026-04-08T07:30:00Z"));
    let customer = e.desk.contacts(&e.admin, None, 10).await.unwrap().into_iter().next().unwrap();
    let msg = InboundMessage {
        channel: Channel::Email,
        thread_key: None,
        ticket_id: Some(t.id),
        external_message_id: "m-1".into(),
        sender_kind: store::IdentityKind::Email,
        sender_value: customer.email.clone().unwrap(),
        sender_name: None,
        subject: None,
        text: "Here it is".into(),
        attachments: Vec::new(),
    };
    e.desk.ingest(&e.admin, msg).await.unwrap();
    let resumed = e.reload(&t).await;
    assert_eq!(resumed.status, TicketStatus::Open);
    // Paused for one business day (480 minutes): the resolution target moves by exactly that.
    assert_eq!(resumed.resolution_due_at, Some(ms("2026-04-09T08:00:00Z")));
    assert_eq!(resumed.sla_due_at, resumed.resolution_due_at);

    // Not yet due: nothing to record.
    assert_eq!(e.desk.check_sla_breaches().await.unwrap(), 0);
    e.clock.set(ms("2026-04-09T08:01:00Z"));
    assert_eq!(e.desk.check_sla_breaches().await.unwrap(), 1);
    assert_eq!(e.desk.check_sla_breaches().await.unwrap(), 0, "a breach is recorded once");
    let breaches = e.desk.sla_breaches(&e.admin, t.id).await.unwrap();
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0].target, SlaTarget::Resolution);
    let events = e.events(&t).await;
    assert_eq!(events.iter().filter(|(k, _)| k == "sla.breach").count(), 1);
    assert!(e.reload(&t).await.tags.contains("late"), "the sla_breach automation rule ran");
    let notes = e.desk.notifications(&e.admin, 10).await.unwrap();
    assert!(notes.iter().any(|n| n.kind == NotificationKind::SlaBreach && n.ticket_id == Some(t.id)));

    // The at-risk, overdue and due-today filters read the stored due time in the workspace zone.
    let overdue = TicketFilter { sla: Some(SlaFilter::Overdue), ..Default::default() };
    let page = e.desk.list_tickets(&e.admin, &overdue, 25, None).await.unwrap();
    assert_eq!(page.tickets.iter().map(|t| t.id).collect::<Vec<_>>(), vec![t.id]);
}

#[tokio::test]
async fn business_hours_in_use_cannot_be_deleted() {
    let e = env("Europe/Berlin", "2026-04-03T14:00:00Z").await;
    let office =
        e.desk.save_calendar(&e.admin, None, "Office", &office_hours("Europe/Berlin", &[]), None).await.unwrap();
    let spare = e.desk.save_calendar(&e.admin, None, "Spare", &office_hours("UTC", &[]), None).await.unwrap();
    let policy = |name: &str, calendar_id| SlaPolicyChange {
        name: name.into(),
        // One policy per priority: Gold for urgent tickets, Silver for high.
        priority: if name == "Gold" { Priority::Urgent } else { Priority::High },
        help_topic_id: None,
        first_response_minutes: 60,
        resolution_minutes: 600,
        calendar_id,
        version: None,
    };
    let gold = e.desk.save_sla_policy(&e.admin, None, policy("Gold", Some(office.id))).await.unwrap();
    e.desk.save_sla_policy(&e.admin, None, policy("Silver", Some(office.id))).await.unwrap();
    let agent = e.agent("Alex").await;
    assert!(matches!(e.desk.delete_calendar(&agent, spare.id).await, Err(DeskError::Forbidden(_))));

    // Refused while policies count in it, naming them; nothing changes.
    match e.desk.delete_calendar(&e.admin, office.id).await {
        Err(DeskError::Conflict(m)) => assert!(m.contains("\u{201c}Gold\u{201d}, \u{201c}Silver\u{201d} count"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(e.desk.calendars(&e.admin).await.unwrap().len(), 2);

    // Unused hours go at once; once its policies move, so does the other.
    e.desk.delete_calendar(&e.admin, spare.id).await.unwrap();
    e.desk.save_sla_policy(&e.admin, Some(gold.id), policy("Gold", None)).await.unwrap();
    let silver = e.desk.sla_policies(&e.admin).await.unwrap().into_iter().find(|p| p.name == "Silver").unwrap();
    e.desk.save_sla_policy(&e.admin, Some(silver.id), policy("Silver", None)).await.unwrap();
    e.desk.delete_calendar(&e.admin, office.id).await.unwrap();
    assert!(e.desk.calendars(&e.admin).await.unwrap().is_empty());
    assert!(matches!(e.desk.delete_calendar(&e.admin, office.id).await, Err(DeskError::NotFound("calendar"))));
}

#[tokio::test]
async fn first_response_breach_is_separate_from_resolution_and_notes_do_not_count() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let policy = SlaPolicyChange {
        name: "Urgent".into(),
        priority: Priority::Urgent,
        help_topic_id: None,
        first_response_minutes: 30,
        resolution_minutes: 240,
        calendar_id: None,
        version: None,
    };
    e.desk.save_sla_policy(&e.admin, None, policy).await.unwrap();
    let t = e.open("Site down", Priority::Urgent, &[]).await;
    assert_eq!(t.first_response_due_at, Some(ms("2026-03-02T10:30:00Z")));
    e.desk.add_note(&e.admin, t.id, "looking").await.unwrap();
    assert_eq!(e.reload(&t).await.first_responded_at, None, "an internal note is no first response");
    e.clock.set(ms("2026-03-02T10:31:00Z"));
    assert_eq!(e.desk.check_sla_breaches().await.unwrap(), 1);
    e.clock.set(ms("2026-03-02T14:01:00Z"));
    assert_eq!(e.desk.check_sla_breaches().await.unwrap(), 1);
    let targets: Vec<SlaTarget> = e.desk.sla_breaches(&e.admin, t.id).await.unwrap().iter().map(|b| b.target).collect();
    assert_eq!(targets, vec![SlaTarget::FirstResponse, SlaTarget::Resolution]);
    // The breached filter and the dashboard's trend see both misses.
    let other = e.open("No targets", Priority::Low, &[]).await;
    let breached = TicketFilter { sla: Some(SlaFilter::Breached), ..Default::default() };
    let page = e.desk.list_tickets(&e.admin, &breached, 25, None).await.unwrap();
    assert_eq!(page.tickets.iter().map(|t| t.id).collect::<Vec<_>>(), vec![t.id], "not {:?}", other.id);
    let trend = e.desk.sla_trend(&e.admin, 3).await.unwrap();
    let days: Vec<(String, i64, i64)> = trend.iter().map(|d| (d.date.to_string(), d.opened, d.breaches)).collect();
    assert_eq!(days, [("2026-02-28".into(), 0, 0), ("2026-03-01".into(), 0, 0), ("2026-03-02".into(), 2, 2)]);
    // With every target missed, later scans no longer read the ticket at all.
    e.clock.set(ms("2026-03-02T15:00:00Z"));
    let mut tx = e.store.read().await.unwrap();
    assert!(tx.overdue_tickets(e.desk.now(), None, 10).await.unwrap().is_empty());
    drop(tx);
    // Raising the priority picks the policy again; lowering it to one without a policy drops targets.
    let patch = TicketPatch { priority: Some(Priority::Low), ..Default::default() };
    let t = e.desk.update_ticket(&e.admin, t.id, patch).await.unwrap();
    assert_eq!((t.first_response_due_at, t.resolution_due_at, t.sla_due_at), (None, None, None));
}

#[tokio::test]
async fn automation_rules_fire_on_their_triggers_and_report_invalid_rules() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let q = e.queue("Support", AssignmentMode::Manual).await;
    let ann = e.user("Ann").await;
    e.desk.set_queue_member(&e.admin, q.id, ann.id, MemberRole::Member, 1, false).await.unwrap();
    let rules = r#"[
      {"id":"refunds","name":"Escalate refunds","trigger":"message_contains","match":"refund",
       "actions":[{"type":"add_tag","tag":"refund"},{"type":"escalate"}]},
      {"id":"on-escalation","trigger":"ticket_escalated","actions":[{"type":"set_priority","priority":"high"},{"type":"escalate"}]},
      {"id":"assign","trigger":"ticket_opened","actions":[{"type":"assign_round_robin"}]},
      {"id":"unhappy","trigger":"csat_negative","actions":[{"type":"notify","message":"Someone is unhappy"}]},
      {"trigger":"ticket_opened","actions":[{"type":"add_tag","tag":"this tag is far too long to be accepted as a tag"}]}
    ]"#;
    // Strict save refuses the whole array and says which rule failed and why.
    let refused = e.desk.save_automation_rules(&e.admin, rules, false, None).await.unwrap();
    assert!(!refused.saved);
    let bad: Vec<_> = refused.reports.iter().filter(|r| !r.errors.is_empty()).collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].errors[0].field, "rules[4].actions[0].tag");
    assert!(e.desk.automation_rules(&e.admin).await.unwrap().is_empty());
    // Dropping invalid rules, as the seed does, saves the other four.
    let saved = e.desk.save_automation_rules(&e.admin, rules, true, None).await.unwrap();
    assert!(saved.saved);
    assert_eq!(saved.rules.len(), 4);

    let t = e.open_with("Hello", Priority::Normal, &[], Some(q.id)).await;
    assert_eq!(t.assignee_id, Some(ann.id), "assign_round_robin on ticket_opened");
    assert!(!t.escalated);

    let reply = e.desk.reply(&e.admin, t.id, "About that REFUND you asked for", Vec::new(), None).await;
    reply.unwrap();
    let t = e.reload(&t).await;
    assert!(t.escalated);
    assert!(t.tags.split(',').any(|x| x == "refund"));
    assert_eq!(t.priority, Priority::High, "ticket_escalated rule ran once after the escalation");
    let escalations: Vec<_> = e.events(&t).await.into_iter().filter(|(k, _)| k == "ticket.escalated").collect();
    assert_eq!(escalations.len(), 1, "no loop: the escalated rule's own escalate is no new escalation");
    assert!(escalations[0].1["reason"].as_str().unwrap().contains("Escalate refunds"));
    let flags = e.desk.quality_flags(&e.admin, false).await.unwrap();
    assert!(flags.iter().any(|f| f.ticket_id == t.id && f.kind == QualityFlagKind::Escalated));

    // csat_negative: the requester rates a closed ticket badly.
    e.desk.close(&e.admin, t.id, CloseReason::Resolved, None).await.unwrap();
    let requester =
        Actor { workspace_id: t.workspace_id, kind: ActorKind::Contact { id: t.requester_id }, label: "Pat".into() };
    e.desk.rate_ticket(&requester, t.id, 1, Some("slow")).await.unwrap();
    let notes = e.desk.notifications(&e.admin, 10).await.unwrap();
    assert!(notes.iter().any(|n| n.message == "Someone is unhappy"));
    let flag = e
        .desk
        .quality_flags(&e.admin, false)
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.kind == QualityFlagKind::NegativeCsat);
    let flag = flag.expect("a negative rating flags the ticket");
    e.desk.resolve_quality_flag(&e.admin, flag.id).await.unwrap();
    assert!(!e.desk.quality_flags(&e.admin, false).await.unwrap().iter().any(|f| f.id == flag.id));
}

#[tokio::test]
async fn canned_responses_are_checked_at_save_and_render_against_a_ticket() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let bad = CannedResponseInput {
        title: "Refund policy".into(),
        shortcut: Some("refund-policy".into()),
        body: "Hi {{requester.name}}, see {{ticket.refundLink}}".into(),
        help_topic_id: None,
        version: None,
    };
    match e.desk.save_canned_response(&e.admin, None, bad).await {
        Err(DeskError::Validation(v)) => {
            assert_eq!(v.field, "body");
            assert!(v.message.contains("ticket.refundLink"));
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let good = CannedResponseInput {
        title: "Refund policy".into(),
        shortcut: Some("refund-policy".into()),
        body:
            "Hi {{requester.name}}, about {{ticket.number}} ({{ticket.subject}}): refunds take 5 days. {{actor.name}}"
                .into(),
        help_topic_id: None,
        version: None,
    };
    let r = e.desk.save_canned_response(&e.admin, None, good).await.unwrap();
    let t = e.open("Refund & returns", Priority::Normal, &[]).await;
    let agent = e.agent("Ann").await;
    let text = e.desk.preview_canned_response(&agent, r.id, t.id).await.unwrap();
    assert_eq!(text, format!("Hi Pat, about {} (Refund & returns): refunds take 5 days. Ann", t.display_number()));
    // Chat channels expand a shortcut the same way.
    assert_eq!(e.desk.render_canned_shortcut(&agent, "/Refund-Policy", t.id).await.unwrap(), text);
    match e.desk.render_canned_shortcut(&agent, "/nope", t.id).await {
        Err(DeskError::Validation(v)) => assert_eq!(v.field, "shortcut"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    // A response scoped to another help topic is not offered on this ticket.
    let billing = HelpTopicInput {
        name: "Billing".into(),
        default_priority: None,
        default_queue_id: None,
        default_assignee_id: None,
        due_offset_minutes: None,
        active: true,
        version: None,
    };
    let topic = e.desk.save_help_topic(&e.admin, None, billing).await.unwrap();
    let scoped = CannedResponseInput {
        title: "Invoice copy".into(),
        shortcut: Some("invoice".into()),
        body: "Your invoice is attached.".into(),
        help_topic_id: Some(topic.id),
        version: None,
    };
    e.desk.save_canned_response(&e.admin, None, scoped).await.unwrap();
    assert!(e.desk.render_canned_shortcut(&agent, "invoice", t.id).await.is_err());
}

/// 1,200 nested subexpressions in about 7 KB: within the length limit, and deep enough to
/// overflow a runtime worker's stack in handlebars before nesting was capped.
fn deep_template() -> String {
    format!("{{{{#if {}ticket.queue{}}}}}x{{{{/if}}}}", "(not ".repeat(1_200), ")".repeat(1_200))
}

fn expect_too_deep<T: std::fmt::Debug>(r: Result<T, DeskError>, field: &str) {
    match r {
        Err(DeskError::Validation(v)) => {
            assert_eq!(v.field, field);
            assert!(v.message.contains(&format!("more than {MAX_TEMPLATE_DEPTH} levels deep")), "{}", v.message);
        }
        other => panic!("expected a validation error on {field}, got {other:?}"),
    }
}

#[tokio::test]
async fn templates_nested_too_deep_are_refused_at_save_naming_the_field() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let body = deep_template();
    assert!(body.chars().count() < MAX_TEMPLATE_CHARS);
    let input = CannedResponseInput {
        title: "Deep".into(),
        shortcut: None,
        body: body.clone(),
        help_topic_id: None,
        version: None,
    };
    expect_too_deep(e.desk.save_canned_response(&e.admin, None, input).await, "body");
    assert!(e.desk.canned_responses(&e.admin).await.unwrap().is_empty());
    let mut settings = e.desk.after_close_settings(&e.admin).await.unwrap();
    settings.csat_request_message = Some(body);
    expect_too_deep(e.desk.save_after_close_settings(&e.admin, settings, None).await, "csatRequestMessage");
    // The server is still here, and a reasonable template still saves.
    let ok = CannedResponseInput {
        title: "Nested".into(),
        shortcut: None,
        body: "{{#if ticket.queue}}{{#unless requester.email}}Call us{{/unless}}{{/if}}".into(),
        help_topic_id: None,
        version: None,
    };
    e.desk.save_canned_response(&e.admin, None, ok).await.unwrap();
}

#[tokio::test]
async fn a_too_deep_template_already_stored_is_refused_at_render_without_crashing() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let ws = e.admin.workspace_id;
    // Saved before the cap existed: straight into the database, past the desk's checks.
    let mut tx = e.store.write().await.unwrap();
    let r =
        tx.upsert_canned_response(ws, None, "Deep", Some("deep"), &deep_template(), None, e.desk.now()).await.unwrap();
    tx.commit().await.unwrap();
    let t = e.open("Printer", Priority::Normal, &[]).await;
    let agent = e.agent("Ann").await;
    expect_too_deep(e.desk.preview_canned_response(&agent, r.id, t.id).await, "template");
    expect_too_deep(e.desk.render_canned_shortcut(&agent, "deep", t.id).await, "template");
    // Acknowledgements render through the same path: channels/email/tests/acknowledgements.rs.
    assert_eq!(e.desk.ticket(&agent, t.id).await.unwrap().id, t.id);
}

#[tokio::test]
async fn quiet_tickets_get_one_follow_up_a_warning_and_then_close() {
    const HOUR: Millis = 3_600_000;
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let start = e.desk.now();
    let settings = InactivitySettings {
        stale_after_hours: Some(24),
        stale_message: Some("Still there?".into()),
        auto_close_days: Some(7),
        auto_close_warning_days: Some(2),
        auto_close_escalated_days: Some(14),
        auto_close_customer_only: false,
        transcript_retention_days: None,
    };
    e.desk.save_inactivity_settings(&e.admin, settings.clone(), None).await.unwrap();
    let bad = InactivitySettings { auto_close_warning_days: Some(9), ..settings };
    match e.desk.save_inactivity_settings(&e.admin, bad, None).await {
        Err(DeskError::Validation(v)) => assert_eq!(v.field, "autoCloseWarningDays"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let quiet = e.open("Quiet one", Priority::Normal, &[]).await;
    let hot = e.open("Escalated one", Priority::Normal, &[]).await;
    e.desk.update_ticket(&e.admin, hot.id, TicketPatch { escalated: Some(true), ..Default::default() }).await.unwrap();

    e.clock.set(start + 23 * HOUR);
    assert_eq!(e.desk.follow_up_quiet_tickets().await.unwrap(), FollowUpReport::default());
    e.clock.set(start + 25 * HOUR);
    assert_eq!(e.desk.follow_up_quiet_tickets().await.unwrap().nudged, 2);
    assert_eq!(e.desk.follow_up_quiet_tickets().await.unwrap().nudged, 0, "one follow-up per quiet spell");
    let thread = e.desk.thread(&e.admin, quiet.id).await.unwrap();
    assert_eq!(thread.last().unwrap().entry.body, "Still there?");
    assert_eq!(e.reload(&quiet).await.first_responded_at, None, "an automatic message is no first response");

    e.clock.set(start + 5 * 24 * HOUR + HOUR);
    let r = e.desk.follow_up_quiet_tickets().await.unwrap();
    assert_eq!((r.warned, r.closed), (1, 0), "the escalated ticket has longer");
    e.clock.set(start + 7 * 24 * HOUR + HOUR);
    let r = e.desk.follow_up_quiet_tickets().await.unwrap();
    assert_eq!((r.warned, r.closed), (0, 1));
    let closed = e.reload(&quiet).await;
    assert_eq!((closed.status, closed.close_reason.as_deref()), (TicketStatus::Closed, Some("user_unresponsive")));
    assert_eq!(e.reload(&hot).await.status, TicketStatus::Open);
    e.clock.set(start + 14 * 24 * HOUR + HOUR);
    assert_eq!(e.desk.follow_up_quiet_tickets().await.unwrap().closed, 1);
}

#[tokio::test]
async fn in_customer_only_mode_staff_replies_do_not_keep_a_ticket_open() {
    const DAY: Millis = 24 * 3_600_000;
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let start = e.desk.now();
    let settings =
        InactivitySettings { auto_close_days: Some(3), auto_close_customer_only: true, ..Default::default() };
    e.desk.save_inactivity_settings(&e.admin, settings, None).await.unwrap();
    let t = e.open("Waiting for the customer", Priority::Normal, &[]).await;
    let agent = e.agent("Ann").await;
    e.clock.set(start + 2 * DAY);
    e.desk.reply(&agent, t.id, "Any news?", Vec::new(), None).await.unwrap();
    e.clock.set(start + 3 * DAY + 1);
    assert_eq!(e.desk.follow_up_quiet_tickets().await.unwrap().closed, 1);
    assert_eq!(e.reload(&t).await.status, TicketStatus::Closed);
}

#[tokio::test]
async fn the_at_risk_share_is_the_workspaces_setting() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let policy = SlaPolicyChange {
        name: "Normal".into(),
        priority: Priority::Normal,
        help_topic_id: None,
        first_response_minutes: 100,
        resolution_minutes: 1000,
        calendar_id: None,
        version: None,
    };
    e.desk.save_sla_policy(&e.admin, None, policy).await.unwrap();
    let t = e.open("Soon due", Priority::Normal, &[]).await;
    let at_risk = TicketFilter { sla: Some(SlaFilter::AtRisk), ..Default::default() };
    let count = || async { e.desk.list_tickets(&e.admin, &at_risk, 25, None).await.unwrap().total };
    // 60 of 100 minutes gone: 40% left, not at risk at the default 25%...
    e.clock.set(ms("2026-03-02T11:00:00Z"));
    assert_eq!(count().await, 0);
    // ...but at risk once the workspace says 50%.
    e.desk.save_sla_settings(&e.admin, SlaSettings { at_risk_percent: 50, alert_on_breach: true }, None).await.unwrap();
    assert_eq!(count().await, 1);
    assert_eq!(e.desk.list_tickets(&e.admin, &at_risk, 25, None).await.unwrap().tickets[0].id, t.id);
    match e.desk.save_sla_settings(&e.admin, SlaSettings { at_risk_percent: 0, alert_on_breach: true }, None).await {
        Err(DeskError::Validation(v)) => assert_eq!(v.field, "atRiskPercent"),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn closed_transcripts_are_deleted_after_the_retention_period() {
    const DAY: Millis = 24 * 3_600_000;
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let start = e.desk.now();
    let settings = InactivitySettings { transcript_retention_days: Some(30), ..Default::default() };
    e.desk.save_inactivity_settings(&e.admin, settings, None).await.unwrap();
    let file = NewAttachment {
        file_name: "invoice.pdf".into(),
        content_type: "application/pdf".into(),
        bytes: b"%PDF secret".to_vec(),
    };
    let old = e.open("Old and closed", Priority::Normal, &[]).await;
    let agent = e.agent("Ann").await;
    let entry = e.desk.reply(&agent, old.id, "Here is your invoice", vec![file], None).await.unwrap();
    let attachment = entry.attachments[0].id;
    e.desk.close(&e.admin, old.id, CloseReason::Resolved, None).await.unwrap();
    let open = e.open("Still open", Priority::Normal, &[]).await;

    e.clock.set(start + 29 * DAY);
    assert_eq!(e.desk.follow_up_quiet_tickets().await.unwrap().purged, 0);
    e.clock.set(start + 31 * DAY);
    assert_eq!(e.desk.follow_up_quiet_tickets().await.unwrap().purged, 1);
    assert_eq!(e.desk.follow_up_quiet_tickets().await.unwrap().purged, 0, "purged once");
    assert!(e.desk.thread(&e.admin, old.id).await.unwrap().is_empty());
    assert!(matches!(e.desk.attachment(&e.admin, attachment).await, Err(DeskError::NotFound(_))));
    // The ticket itself and its history stay for reporting; open tickets keep their thread.
    assert_eq!(e.reload(&old).await.status, TicketStatus::Closed);
    assert!(!e.desk.history(&e.admin, old.id).await.unwrap().is_empty());
    assert_eq!(e.desk.thread(&e.admin, open.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn repeated_staff_replies_are_offered_as_macros_and_need_approval() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let agent = e.agent("Ann").await;
    let text = "Please restart the router and try again.";
    let (a, b, c) = (
        e.open("One", Priority::Normal, &[]).await,
        e.open("Two", Priority::Normal, &[]).await,
        e.open("Three", Priority::Normal, &[]).await,
    );
    for (t, body) in [(&a, text), (&a, "please restart the router  and try again"), (&b, text), (&c, text)] {
        e.desk.reply(&agent, t.id, body, Vec::new(), None).await.unwrap();
    }
    // Only closed tickets count: with just `a` closed, the text spans one ticket.
    e.desk.close(&e.admin, a.id, CloseReason::Resolved, None).await.unwrap();
    assert_eq!(e.desk.scan_macro_suggestions().await.unwrap(), 0);
    e.desk.close(&e.admin, b.id, CloseReason::Resolved, None).await.unwrap();
    assert_eq!(e.desk.scan_macro_suggestions().await.unwrap(), 1);
    let offered = e.desk.macro_suggestions(&e.admin).await.unwrap();
    assert_eq!((offered.len(), offered[0].occurrences, offered[0].ticket_count), (1, 3, 2));
    assert!(e.desk.canned_responses(&e.admin).await.unwrap().is_empty(), "nothing is created without approval");

    let canned =
        e.desk.accept_macro_suggestion(&e.admin, offered[0].id, "Router restart", "restart-router").await.unwrap();
    assert_eq!((canned.body.as_str(), canned.shortcut.as_deref()), (text, Some("restart-router")));
    assert!(e.desk.macro_suggestions(&e.admin).await.unwrap().is_empty());
    // A later scan neither offers it again nor duplicates the macro.
    e.desk.close(&e.admin, c.id, CloseReason::Resolved, None).await.unwrap();
    e.desk.scan_macro_suggestions().await.unwrap();
    assert!(e.desk.macro_suggestions(&e.admin).await.unwrap().is_empty());
    assert_eq!(e.desk.canned_responses(&e.admin).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_dismissed_suggestion_stays_dismissed() {
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let agent = e.agent("Ann").await;
    let text = "Your refund is on its way and takes five working days.";
    for i in 0..3 {
        let t = e.open(&format!("Refund {i}"), Priority::Normal, &[]).await;
        e.desk.reply(&agent, t.id, text, Vec::new(), None).await.unwrap();
        e.desk.close(&e.admin, t.id, CloseReason::Resolved, None).await.unwrap();
    }
    e.desk.scan_macro_suggestions().await.unwrap();
    let offered = e.desk.macro_suggestions(&e.admin).await.unwrap();
    e.desk.dismiss_macro_suggestion(&e.admin, offered[0].id).await.unwrap();
    e.desk.scan_macro_suggestions().await.unwrap();
    assert!(e.desk.macro_suggestions(&e.admin).await.unwrap().is_empty());
    assert!(matches!(e.desk.dismiss_macro_suggestion(&e.admin, offered[0].id).await, Err(DeskError::NotFound(_))));
}

fn email_from(sender: &str, id: &str, text: &str) -> InboundMessage {
    InboundMessage {
        channel: Channel::Email,
        thread_key: None,
        ticket_id: None,
        external_message_id: id.into(),
        sender_kind: IdentityKind::Email,
        sender_value: sender.into(),
        sender_name: Some("Robin".into()),
        subject: Some("Printer on fire".into()),
        text: text.into(),
        attachments: Vec::new(),
    }
}

#[tokio::test]
async fn replies_wait_in_the_outbox_until_their_channel_sends_them() {
    let e = env("UTC", "2026-03-02T09:00:00Z").await;
    let agent = e.agent("Alex").await;
    let opened =
        e.desk.ingest(&e.admin, email_from("robin@customer.test", "<m1@customer.test>", "Help")).await.unwrap();
    let file =
        NewAttachment { file_name: "steps.txt".into(), content_type: "text/plain".into(), bytes: b"1. 2.".to_vec() };
    let reply = e.desk.reply(&agent, opened.ticket_id, "Try this", vec![file], None).await.unwrap();
    // A note is not delivered, and a ticket on the web channel has nothing to deliver.
    e.desk.add_note(&agent, opened.ticket_id, "internal").await.unwrap();
    let web = e.open("Web ticket", Priority::Normal, &[]).await;
    e.desk.reply(&agent, web.id, "Hello", Vec::new(), None).await.unwrap();

    let due = e.desk.due_outbox(Channel::Email, 10).await.unwrap();
    assert_eq!(due.len(), 1, "one email reply is due");
    assert!(e.desk.due_outbox(Channel::Whatsapp, 10).await.unwrap().is_empty());
    let msg = e.desk.outbound_message(due[0].0).await.unwrap().unwrap();
    assert_eq!(msg.entry_id, reply.entry.id);
    assert_eq!(msg.body, "Try this");
    assert_eq!(msg.ticket_number, "SD-00001");
    assert_eq!(msg.ticket_subject, "Printer on fire");
    assert_eq!(msg.requester.email.as_deref(), Some("robin@customer.test"));
    assert_eq!(msg.author_name.as_deref(), Some("Alex"));
    assert_eq!(msg.thread_message_ids, vec!["<m1@customer.test>".to_string()]);
    assert_eq!(msg.attachments.len(), 1);
    assert_eq!(msg.attachments[0].bytes, b"1. 2.");

    // A transient failure keeps it pending with the error shown, and waits out the backoff.
    let retry = DeliveryOutcome::Retry { error: "connection refused".into() };
    assert_eq!(e.desk.record_outbox_attempt(&msg, &retry, 60_000).await.unwrap(), Some(DeliveryStatus::Pending));
    // The same attempt recorded twice (two workers) counts once.
    assert_eq!(e.desk.record_outbox_attempt(&msg, &retry, 60_000).await.unwrap(), None);
    let entry = |id| {
        let e = &e;
        async move {
            let entries = e.desk.thread(&e.admin, opened.ticket_id).await.unwrap();
            entries.into_iter().find(|x| x.entry.id == id).unwrap().entry
        }
    };
    assert_eq!(entry(reply.entry.id).await.delivery_error.as_deref(), Some("connection refused"));
    assert!(e.desk.due_outbox(Channel::Email, 10).await.unwrap().is_empty(), "not before the backoff");
    e.clock.set(ms("2026-03-02T09:01:00Z"));
    let due = e.desk.due_outbox(Channel::Email, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let msg = e.desk.outbound_message(due[0].0).await.unwrap().unwrap();
    assert_eq!(msg.attempts, 1);
    let sent = DeliveryOutcome::Sent { external_message_id: Some("<r1@switchboard>".into()) };
    assert_eq!(e.desk.record_outbox_attempt(&msg, &sent, 60_000).await.unwrap(), Some(DeliveryStatus::Sent));
    assert!(e.desk.outbound_message(msg.outbox_id).await.unwrap().is_none(), "sent rows are done");
    let delivered = entry(reply.entry.id).await;
    assert_eq!(delivered.delivery_status.as_deref(), Some("sent"));
    assert_eq!(delivered.delivery_error, None);
    assert_eq!(delivered.external_message_id.as_deref(), Some("<r1@switchboard>"));

    // Later reports from the channel move the status forward, never back.
    let ws = msg.workspace_id;
    let report = |s| e.desk.record_delivery_report(ws, Channel::Email, "<r1@switchboard>", s, None);
    assert!(report(DeliveryStatus::Read).await.unwrap());
    assert!(report(DeliveryStatus::Delivered).await.unwrap());
    assert_eq!(entry(reply.entry.id).await.delivery_status.as_deref(), Some("read"));
    assert!(!e.desk.record_delivery_report(ws, Channel::Email, "<unknown>", DeliveryStatus::Read, None).await.unwrap());

    // A permanent failure is final.
    let second = e.desk.reply(&agent, opened.ticket_id, "Anything else?", Vec::new(), None).await.unwrap();
    let due = e.desk.due_outbox(Channel::Email, 10).await.unwrap();
    let msg = e.desk.outbound_message(due[0].0).await.unwrap().unwrap();
    assert_eq!(msg.thread_message_ids, vec!["<m1@customer.test>".to_string(), "<r1@switchboard>".to_string()]);
    let refused = DeliveryOutcome::Failed { error: "550 no such user".into() };
    assert_eq!(e.desk.record_outbox_attempt(&msg, &refused, 60_000).await.unwrap(), Some(DeliveryStatus::Failed));
    e.clock.set(ms("2026-03-02T19:00:00Z"));
    assert!(e.desk.due_outbox(Channel::Email, 10).await.unwrap().is_empty());
    let failed = entry(second.entry.id).await;
    assert_eq!(failed.delivery_status.as_deref(), Some("failed"));
    assert_eq!(failed.delivery_error.as_deref(), Some("550 no such user"));
}

fn customer(t: &TicketRecord) -> Actor {
    Actor { workspace_id: t.workspace_id, kind: ActorKind::Contact { id: t.requester_id }, label: "Pat".into() }
}

async fn public_texts(e: &Env, t: TicketId) -> Vec<String> {
    let thread = e.desk.thread(&e.admin, t).await.unwrap();
    thread.into_iter().filter(|x| x.entry.kind == EntryKind::Reply).map(|x| x.entry.body).collect()
}

#[tokio::test]
async fn closed_tickets_get_one_rating_request_and_one_follow_up() {
    let e = env("UTC", "2026-03-02T09:00:00Z").await;
    let mailed =
        e.desk.ingest(&e.admin, email_from("robin@customer.test", "<m1@customer.test>", "Help")).await.unwrap();
    let portal = e.open("Portal ticket", Priority::Normal, &[]).await;
    let rated = e.open("Rated already", Priority::Normal, &[]).await;
    let quiet = e.open("Went quiet", Priority::Normal, &[]).await;
    let open = e.open("Still open", Priority::Normal, &[]).await;
    for id in [mailed.ticket_id, portal.id, rated.id] {
        e.desk.close(&e.admin, id, CloseReason::Resolved, None).await.unwrap();
    }
    e.desk.close(&e.admin, quiet.id, CloseReason::UserUnresponsive, None).await.unwrap();
    e.desk.rate_ticket(&customer(&rated), rated.id, 5, None).await.unwrap();

    // An unknown variable is refused at save time, naming the field.
    let bad = AfterCloseSettings {
        csat_request_enabled: true,
        csat_request_message: Some("Rate {{ticket.nope}}".into()),
        post_close_follow_up_days: None,
        post_close_follow_up_message: None,
        negative_csat_message: None,
        negative_csat_reopen: false,
    };
    match e.desk.save_after_close_settings(&e.admin, bad, None).await {
        Err(DeskError::Validation(v)) => assert_eq!(v.field, "csatRequestMessage"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let settings = AfterCloseSettings {
        csat_request_enabled: true,
        csat_request_message: None,
        post_close_follow_up_days: Some(3),
        post_close_follow_up_message: Some("Is {{ticket.number}} still fixed, {{requester.name}}?".into()),
        negative_csat_message: None,
        negative_csat_reopen: false,
    };
    e.desk.save_after_close_settings(&e.admin, settings.clone(), None).await.unwrap();
    assert_eq!(e.desk.after_close_settings(&e.admin).await.unwrap(), settings);

    let report = e.desk.after_close_and_alerts().await.unwrap();
    assert_eq!(report.csat_requests, 3, "every closed ticket not yet rated, inactivity closes included");
    assert_eq!(report.post_close_follow_ups, 0, "not three days yet");
    let texts = public_texts(&e, portal.id).await;
    assert!(texts.last().unwrap().contains("How did we do?"), "{texts:?}");
    assert!(texts.last().unwrap().contains("SD-00002"), "{texts:?}");
    assert!(!public_texts(&e, rated.id).await.iter().any(|t| t.contains("How did we do?")));
    assert!(!public_texts(&e, open.id).await.iter().any(|t| t.contains("How did we do?")));
    assert_eq!(e.desk.ticket(&e.admin, portal.id).await.unwrap().status, TicketStatus::Closed, "it stays closed");
    // On an email ticket the request goes out through the outbox like any reply.
    let due = e.desk.due_outbox(Channel::Email, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let msg = e.desk.outbound_message(due[0].0).await.unwrap().unwrap();
    assert!(msg.body.contains("How did we do?"));
    assert_eq!(msg.author_name, None, "an automatic message has no staff author");

    assert_eq!(e.desk.after_close_and_alerts().await.unwrap(), AfterCloseReport::default(), "sent once");

    e.clock.set(ms("2026-03-05T09:00:01Z"));
    let report = e.desk.after_close_and_alerts().await.unwrap();
    assert_eq!(report.post_close_follow_ups, 3, "the inactivity close is skipped");
    assert_eq!(public_texts(&e, portal.id).await.last().unwrap(), "Is SD-00002 still fixed, Pat?");
    assert!(!public_texts(&e, quiet.id).await.iter().any(|t| t.contains("still fixed")));
    assert_eq!(e.desk.after_close_and_alerts().await.unwrap(), AfterCloseReport::default());

    // Switched off, nothing more is sent for newly closed tickets.
    let off = AfterCloseSettings { csat_request_enabled: false, post_close_follow_up_days: None, ..settings };
    e.desk.save_after_close_settings(&e.admin, off, None).await.unwrap();
    e.desk.close(&e.admin, open.id, CloseReason::Resolved, None).await.unwrap();
    assert_eq!(e.desk.after_close_and_alerts().await.unwrap(), AfterCloseReport::default());
}

#[tokio::test]
async fn manager_alerts_notify_when_a_threshold_is_crossed_and_rearm_when_it_clears() {
    let e = env("UTC", "2026-03-02T09:00:00Z").await;
    let off = AfterCloseSettings {
        csat_request_enabled: false,
        csat_request_message: None,
        post_close_follow_up_days: None,
        post_close_follow_up_message: None,
        negative_csat_message: None,
        negative_csat_reopen: false,
    };
    e.desk.save_after_close_settings(&e.admin, off, None).await.unwrap();
    let alerts = ManagerAlertSettings {
        queue_depth: Some(2),
        csat_drop_percent: Some(30),
        escalation_spike: Some(2),
        escalation_window_minutes: 60,
    };
    e.desk.save_manager_alert_settings(&e.admin, alerts.clone(), None).await.unwrap();
    assert_eq!(e.desk.manager_alert_settings(&e.admin).await.unwrap(), alerts);
    let bad = ManagerAlertSettings { csat_drop_percent: Some(0), ..alerts.clone() };
    match e.desk.save_manager_alert_settings(&e.admin, bad, None).await {
        Err(DeskError::Validation(v)) => assert_eq!(v.field, "csatDropPercent"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let kinds = |e: &Env| {
        let desk = e.desk.clone();
        let admin = e.admin.clone();
        async move {
            let mut k: Vec<String> =
                desk.notifications(&admin, 50).await.unwrap().into_iter().map(|n| n.kind.to_string()).collect();
            k.sort();
            k
        }
    };

    // Queue depth: three unassigned tickets are over two.
    let mut tickets = Vec::new();
    for i in 0..3 {
        tickets.push(e.open(&format!("Waiting {i}"), Priority::Normal, &[]).await);
    }
    assert_eq!(e.desk.after_close_and_alerts().await.unwrap().alerts, 1);
    assert_eq!(kinds(&e).await, vec!["queue_depth"]);
    assert_eq!(e.desk.after_close_and_alerts().await.unwrap().alerts, 0, "still deep: no second alert");
    let ann = e.user("Ann").await;
    let assign = TicketPatch { assignee_id: Some(Some(ann.id)), ..Default::default() };
    e.desk.update_ticket(&e.admin, tickets[0].id, assign.clone()).await.unwrap();
    assert_eq!(e.desk.after_close_and_alerts().await.unwrap().alerts, 0, "back under: cleared quietly");
    e.open("One more", Priority::Normal, &[]).await;
    assert_eq!(e.desk.after_close_and_alerts().await.unwrap().alerts, 1, "crossed again: alerts again");

    // Escalation spike: three escalations within the hour are over two.
    for t in &tickets {
        e.desk.update_ticket(&e.admin, t.id, assign.clone()).await.unwrap();
    }
    for t in &tickets {
        let patch = TicketPatch { escalated: Some(true), ..Default::default() };
        e.desk.update_ticket(&e.admin, t.id, patch).await.unwrap();
    }
    let report = e.desk.after_close_and_alerts().await.unwrap();
    assert_eq!(report.alerts, 1, "{:?}", kinds(&e).await);
    assert!(kinds(&e).await.contains(&"escalation_spike".to_string()));
    e.clock.set(ms("2026-03-02T10:30:00Z"));
    e.desk.after_close_and_alerts().await.unwrap();

    // CSAT drop: a week of 5/5 ratings, then a week of mostly poor ones.
    rate_week(&e, ann.id, &[5, 5, 5, 4, 5]).await;
    assert_eq!(e.desk.after_close_and_alerts().await.unwrap().alerts, 0, "one week alone says nothing");
    e.clock.set(ms("2026-03-09T10:40:00Z"));
    rate_week(&e, ann.id, &[5, 1, 2, 4, 1]).await;
    let report = e.desk.after_close_and_alerts().await.unwrap();
    assert_eq!(report.alerts, 1);
    let notes = e.desk.notifications(&e.admin, 50).await.unwrap();
    let drop = notes.iter().find(|n| n.kind == NotificationKind::CsatDrop).expect("a CSAT drop alert");
    assert!(drop.message.contains("from 100% to 40%"), "{}", drop.message);
}

/// Opens, closes and rates one ticket per rating, each assigned so the queue stays shallow.
async fn rate_week(e: &Env, assignee: UserId, ratings: &[i64]) {
    for (i, r) in ratings.iter().enumerate() {
        let t = e.open(&format!("Rated {i}"), Priority::Normal, &[]).await;
        let patch = TicketPatch { assignee_id: Some(Some(assignee)), ..Default::default() };
        e.desk.update_ticket(&e.admin, t.id, patch).await.unwrap();
        e.desk.close(&e.admin, t.id, CloseReason::Resolved, None).await.unwrap();
        e.desk.rate_ticket(&customer(&t), t.id, *r, None).await.unwrap();
    }
}

#[tokio::test]
async fn a_poor_rating_gets_the_configured_answer_and_reopens_the_ticket() {
    let e = env("UTC", "2026-03-02T09:00:00Z").await;
    let settings = AfterCloseSettings {
        csat_request_enabled: false,
        csat_request_message: None,
        post_close_follow_up_days: None,
        post_close_follow_up_message: None,
        negative_csat_message: Some("Sorry about {{ticket.number}}, {{requester.name}}. We are on it again.".into()),
        negative_csat_reopen: true,
    };
    e.desk.save_after_close_settings(&e.admin, settings, None).await.unwrap();
    let t = e.open("Broken again", Priority::Normal, &[]).await;
    e.desk.close(&e.admin, t.id, CloseReason::Resolved, None).await.unwrap();
    let rated = e.desk.rate_ticket(&customer(&t), t.id, 1, Some("did not help")).await.unwrap();
    assert_eq!(rated.status, TicketStatus::Open, "reopened for staff");
    assert_eq!(rated.csat_rating, Some(1));
    let texts = public_texts(&e, t.id).await;
    assert_eq!(texts.last().unwrap(), "Sorry about SD-00001, Pat. We are on it again.");
    let flags = e.desk.quality_flags(&e.admin, false).await.unwrap();
    assert!(flags.iter().any(|f| f.ticket_id == t.id && f.kind == QualityFlagKind::NegativeCsat));

    // A good rating changes nothing.
    let happy = e.open("Fine", Priority::Normal, &[]).await;
    e.desk.close(&e.admin, happy.id, CloseReason::Resolved, None).await.unwrap();
    let rated = e.desk.rate_ticket(&customer(&happy), happy.id, 5, None).await.unwrap();
    assert_eq!(rated.status, TicketStatus::Closed);
    assert!(!public_texts(&e, happy.id).await.iter().any(|x| x.starts_with("Sorry")));
}

/// Every ticket on one side of the staff queue, read a page of one at a time (so the cursor runs
/// under the filter too), with the total each page reported.
async fn awaiting(e: &Env, side: Awaiting) -> (Vec<TicketId>, i64) {
    let filter = TicketFilter { awaiting: Some(side), ..Default::default() };
    let (mut ids, mut after, mut totals) = (Vec::new(), None::<String>, Vec::new());
    loop {
        let page = e.desk.list_tickets(&e.admin, &filter, 1, after.as_deref()).await.unwrap();
        ids.extend(page.tickets.iter().map(|t| t.id));
        totals.push(page.total);
        after = page.next_cursor;
        if after.is_none() {
            break;
        }
    }
    totals.dedup();
    assert_eq!(totals.len(), 1, "every page reports the same total: {totals:?}");
    let counts = e.desk.ticket_counts(&e.admin, &filter).await.unwrap();
    assert_eq!(counts.iter().map(|(_, n)| n.count).sum::<i64>(), totals[0], "the status counts agree with the total");
    ids.sort();
    (ids, totals[0])
}

/// Asserts who each side of the queue holds, and that each side's total counts exactly those.
async fn assert_awaiting(e: &Env, staff: &[TicketId], customer: &[TicketId], step: &str) {
    for (side, want) in [(Awaiting::Staff, staff), (Awaiting::Customer, customer)] {
        let mut want = want.to_vec();
        want.sort();
        let (got, total) = awaiting(e, side).await;
        assert_eq!(got, want, "{side:?} after {step}");
        assert_eq!(total, want.len() as i64, "{side:?} count after {step}");
    }
}

#[tokio::test]
async fn awaiting_staff_or_customer_follows_who_wrote_the_last_public_message() {
    const MINUTE: Millis = 60_000;
    let e = env("UTC", "2026-03-02T10:00:00Z").await;
    let start = e.desk.now();
    let tick = |n: i64| e.clock.set(start + n * MINUTE);
    let agent = e.agent("Ann").await;
    // Another workspace's ticket, awaiting its staff, is on neither side of this one.
    let other = e.desk.create_workspace("other", "Other", "OT", "UTC", "General").await.unwrap();
    let input = OpenTicket {
        subject: "Elsewhere".into(),
        description: Some("Not yours".into()),
        requester: RequesterRef::Email { email: "kim@elsewhere.test".into(), name: None },
        priority: None,
        source: None,
        queue_id: None,
        help_topic_id: None,
        assignee_id: None,
        tags: Vec::new(),
        resolution_due_at: None,
        attachments: Vec::new(),
    };
    e.desk.open_ticket(&Actor::system(other.id), input).await.unwrap();
    // Opened by staff on the customer's behalf: the description is the customer's message.
    let phoned = e.open("Phoned in", Priority::Normal, &[]).await;
    let pat = customer(&phoned);
    tick(1);
    let portal = e.desk.open_my_ticket(&pat, "From the portal", "It is broken", None, Vec::new()).await.unwrap();
    assert_awaiting(&e, &[phoned.id, portal.id], &[], "opening").await;

    tick(2);
    e.desk.reply(&agent, portal.id, "Could you send a screenshot?", Vec::new(), None).await.unwrap();
    assert_awaiting(&e, &[phoned.id], &[portal.id], "a staff reply").await;

    tick(3);
    e.desk.add_note(&agent, portal.id, "probably the cache").await.unwrap();
    e.desk.add_note(&agent, phoned.id, "called back, no answer").await.unwrap();
    assert_awaiting(&e, &[phoned.id], &[portal.id], "internal notes").await;

    tick(4);
    e.desk.reply(&pat, portal.id, "Here it is", Vec::new(), None).await.unwrap();
    assert_awaiting(&e, &[phoned.id, portal.id], &[], "the customer's reply").await;

    // An automatic message (the system's own reply) is no answer from staff.
    tick(5);
    e.desk.reply(&e.admin, portal.id, "We have your message.", Vec::new(), None).await.unwrap();
    assert_awaiting(&e, &[phoned.id, portal.id], &[], "an automatic message").await;

    // Waiting on the customer by status, although the customer wrote last.
    tick(6);
    let waiting = TicketPatch { status: Some(TicketStatus::Waiting), ..Default::default() };
    e.desk.update_ticket(&agent, phoned.id, waiting).await.unwrap();
    assert_awaiting(&e, &[portal.id], &[phoned.id], "status waiting").await;

    // The customer's answer puts it back in front of staff (and reopens it).
    tick(7);
    e.desk.reply(&pat, phoned.id, "Sorry, I was out", Vec::new(), None).await.unwrap();
    assert_eq!(e.reload(&phoned).await.status, TicketStatus::Open);
    assert_awaiting(&e, &[phoned.id, portal.id], &[], "the customer's answer to a waiting ticket").await;

    // A reply that also sets waiting is counted once; resolved and closed tickets are on neither side.
    tick(8);
    e.desk.reply(&agent, phoned.id, "Fixed, please confirm", Vec::new(), Some(TicketStatus::Waiting)).await.unwrap();
    e.desk.reply(&agent, portal.id, "Fixed", Vec::new(), Some(TicketStatus::Resolved)).await.unwrap();
    assert_awaiting(&e, &[], &[phoned.id], "resolving one").await;
    let staff_last = e.open("Answered, then closed", Priority::Normal, &[]).await;
    tick(9);
    e.desk.reply(&agent, staff_last.id, "Done", Vec::new(), None).await.unwrap();
    assert_awaiting(&e, &[], &[phoned.id, staff_last.id], "another staff reply").await;
    e.desk.close(&e.admin, staff_last.id, CloseReason::Resolved, None).await.unwrap();
    assert_awaiting(&e, &[], &[phoned.id], "closing one").await;

    // Combined with another filter.
    let mine = TicketFilter { awaiting: Some(Awaiting::Customer), assignee: AssigneeChoice::Me, ..Default::default() };
    assert_eq!(e.desk.list_tickets(&agent, &mine, 25, None).await.unwrap().total, 0);
    e.desk.claim(&agent, phoned.id).await.unwrap();
    assert_eq!(e.desk.list_tickets(&agent, &mine, 25, None).await.unwrap().total, 1);
}

#[tokio::test]
async fn a_webhook_whose_name_resolves_to_a_private_address_is_refused_at_save_unless_allowed() {
    use switchboard_desk::egress::{FixedResolver, OutboundGuard};
    let e = env("UTC", "2024-03-04T09:00:00Z").await;
    // Names resolve from a table: nothing here touches the network.
    let names = FixedResolver::of(&[
        ("hooks.internal.test", &["10.20.0.9"]),
        ("hooks.split.test", &["93.184.216.34", "169.254.169.254"]),
        ("hooks.public.test", &["93.184.216.34"]),
    ]);
    let desk_allowing = |allow: &str| {
        e.desk.with_outbound(OutboundGuard::new(OutboundPolicy::parse(allow).unwrap(), Arc::new(names.clone())))
    };
    let hook = |url: &str| WebhookChange {
        name: format!("CRM {url}"),
        url: url.into(),
        enabled: true,
        events: vec![WebhookEvent::TicketOpened],
        secret: None,
        version: None,
    };
    let desk = desk_allowing("");
    for url in ["http://hooks.internal.test/in", "https://hooks.split.test/in"] {
        match desk.save_webhook(&e.admin, None, hook(url)).await {
            Err(DeskError::Validation(v)) => assert_eq!(v.field, "url", "{url}: {}", v.message),
            other => panic!("{url}: expected a validation error, got {other:?}"),
        }
    }
    desk.save_webhook(&e.admin, None, hook("https://hooks.public.test/in")).await.unwrap();
    // The operator's allow-list, and only it, opens the internal network.
    desk_allowing("10.20.0.0/16").save_webhook(&e.admin, None, hook("http://hooks.internal.test/in")).await.unwrap();
    assert!(
        desk_allowing("10.20.0.0/16").save_webhook(&e.admin, None, hook("https://hooks.split.test/")).await.is_err()
    );
}
