//! Concurrent writers through the desk: claims racing for one ticket, round-robin assignment of
//! tickets opened at once, a close racing a reply, and event-stream consumers reading while
//! transactions commit out of id order. SQLite by default (its writer runs one transaction at a
//! time); with `TEST_POSTGRES_URL` (a server URL without a database) each test gets a fresh
//! PostgreSQL database, where transactions really run side by side.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchboard_desk::domain::*;
use switchboard_desk::egress::{FixedResolver, OutboundGuard};
use switchboard_desk::store::{QueueRecord, SettingsForm, TicketRecord, UserRecord};
use switchboard_desk::*;

mod common;
use common::*;

impl Env {
    async fn user(&self, name: &str) -> UserRecord {
        let email = format!("{}@acme.test", name.to_lowercase());
        self.desk.create_user(&self.admin, &email, name, Role::Agent, None).await.unwrap()
    }

    fn actor(u: &UserRecord) -> Actor {
        Actor {
            workspace_id: u.workspace_id,
            kind: ActorKind::User { id: u.id, role: Role::Agent },
            label: u.name.clone(),
        }
    }

    async fn open(&self, subject: &str, queue: Option<QueueId>) -> TicketRecord {
        let input = opening(subject, "pat@customer.test", queue);
        self.desk.open_ticket(&self.admin, input).await.unwrap()
    }

    async fn queue(&self, name: &str, mode: AssignmentMode) -> QueueRecord {
        self.desk.save_queue(&self.admin, None, name, mode, false, None).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_agents_claiming_one_ticket_at_once_exactly_one_wins_and_the_others_hear_who() {
    let e = env("race", 1_772_445_600_000).await;
    let mut agents = Vec::new();
    for name in ["Ana", "Ben", "Chloe", "Dev"] {
        agents.push(Env::actor(&e.user(name).await));
    }
    let mut tickets = Vec::new();
    for i in 0..20 {
        tickets.push(e.open(&format!("Printer {i} is on fire"), None).await);
    }
    // Every agent presses "Claim" on every ticket at the same moment.
    let mut claims = Vec::new();
    for t in &tickets {
        for a in &agents {
            let (desk, a, id) = (e.desk.clone(), a.clone(), t.id);
            claims.push(tokio::spawn(async move { (id, a.label.clone(), desk.claim(&a, id).await) }));
        }
    }
    // Each ticket's claims: who tried, and what they got.
    type Claims = Vec<(String, Result<TicketRecord, DeskError>)>;
    let mut by_ticket: HashMap<TicketId, Claims> = HashMap::new();
    for c in claims {
        let (id, who, result) = c.await.unwrap();
        by_ticket.entry(id).or_default().push((who, result));
    }
    for t in &tickets {
        let results = &by_ticket[&t.id];
        let winners: Vec<&String> = results.iter().filter(|(_, r)| r.is_ok()).map(|(who, _)| who).collect();
        assert_eq!(winners.len(), 1, "{}: exactly one claim wins, got {winners:?}", t.display_number());
        let winner = winners[0];
        for (who, r) in results.iter().filter(|(_, r)| r.is_err()) {
            match r {
                Err(DeskError::Conflict(m)) => assert_eq!(m, &format!("already claimed by {winner}"), "{who}"),
                other => panic!("{who} expected a conflict naming {winner}, got {other:?}"),
            }
        }
        let now = e.desk.ticket(&e.admin, t.id).await.unwrap();
        assert_eq!(now.assignee_name.as_ref(), Some(winner));
        assert_eq!(now.status, TicketStatus::InProgress);
        // The history shows one assignment: the winner's.
        let history = e.desk.history(&e.admin, t.id).await.unwrap();
        let assigned: Vec<_> = history.iter().filter(|h| h.field == "assignee").collect();
        assert_eq!(assigned.len(), 1, "{}: {assigned:?}", t.display_number());
        assert_eq!(assigned[0].new_value.as_ref(), Some(winner));
        assert_eq!(&assigned[0].actor_label, winner);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tickets_opened_at_once_in_a_round_robin_queue_go_to_each_member_in_turn() {
    let e = env("race", 1_772_445_600_000).await;
    let queue = e.queue("Rotation", AssignmentMode::RoundRobin).await;
    let mut members = Vec::new();
    for name in ["Ana", "Ben", "Chloe", "Dev"] {
        let u = e.user(name).await;
        e.desk.set_queue_member(&e.admin, queue.id, u.id, MemberRole::Member, 1, false).await.unwrap();
        members.push(u);
    }
    // The requester exists before the rush, so the rush is only about the rotation.
    e.open("First contact", None).await;
    let rounds = 6;
    let mut opens = Vec::new();
    for i in 0..rounds * members.len() {
        let desk = e.desk.clone();
        let admin = e.admin.clone();
        let q = queue.id;
        opens.push(tokio::spawn(async move {
            let input = opening(&format!("Rush {i}"), "pat@customer.test", Some(q));
            desk.open_ticket(&admin, input).await
        }));
    }
    let mut per_member: HashMap<UserId, usize> = HashMap::new();
    for o in opens {
        let t = o.await.unwrap().unwrap();
        *per_member.entry(t.assignee_id.expect("every ticket is assigned")).or_default() += 1;
    }
    for m in &members {
        assert_eq!(per_member.get(&m.id).copied().unwrap_or(0), rounds, "{}: {per_member:?}", m.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_close_racing_a_reply_leaves_the_ticket_closed_with_the_history_to_match() {
    let e = env("race", 1_772_445_600_000).await;
    let agent = Env::actor(&e.user("Ana").await);
    let mut tickets = Vec::new();
    for i in 0..20 {
        tickets.push(e.open(&format!("Invoice {i} is wrong"), None).await);
    }
    let mut races = Vec::new();
    for t in &tickets {
        let (d1, d2, admin, agent, id) = (e.desk.clone(), e.desk.clone(), e.admin.clone(), agent.clone(), t.id);
        let close = tokio::spawn(async move { d1.close(&admin, id, CloseReason::Resolved, None).await });
        let reply =
            tokio::spawn(async move { d2.reply(&agent, id, "Corrected, see attached", Vec::new(), None).await });
        races.push((id, close, reply));
    }
    for (id, close, reply) in races {
        close.await.unwrap().unwrap();
        let reply = reply.await.unwrap();
        let t = e.desk.ticket(&e.admin, id).await.unwrap();
        // Whichever went first, the close stands: a reply after it is refused, a reply before it
        // is closed over.
        assert_eq!(t.status, TicketStatus::Closed, "{}: reply {reply:?}", t.display_number());
        assert!(t.closed_at.is_some());
        let thread = e.desk.thread(&e.admin, id).await.unwrap();
        let replied = thread.iter().any(|x| x.entry.body == "Corrected, see attached");
        match &reply {
            Ok(_) => assert!(replied),
            Err(DeskError::Validation(v)) => {
                assert_eq!(v.field, "ticketId");
                assert!(!replied);
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
        // The history's last status change is the close.
        let history = e.desk.history(&e.admin, id).await.unwrap();
        let last_status = history.iter().rfind(|h| h.field == "status").unwrap();
        assert_eq!(last_status.new_value.as_deref(), Some("closed"));
        assert_eq!(t.first_responded_at.is_some(), reply.is_ok(), "{}", t.display_number());
    }
}

/// Waits up to `limit` for a task; `None` when it is still blocked (SQLite's single writer).
async fn within<T>(limit: Duration, task: &mut tokio::task::JoinHandle<T>) -> Option<T> {
    tokio::time::timeout(limit, task).await.ok().map(|r| r.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_dispatch_loses_no_event_committed_behind_a_newer_one_and_sends_none_twice() {
    let e = env("race", 1_772_445_600_000).await;
    let names = FixedResolver::of(&[("hooks.public.test", &["93.184.216.34"])]);
    let desk = e.desk.with_outbound(OutboundGuard::new(OutboundPolicy::parse("").unwrap(), Arc::new(names)));
    let hook = WebhookChange {
        name: "CRM".into(),
        url: "https://hooks.public.test/in".into(),
        enabled: true,
        events: vec![WebhookEvent::TicketOpened],
        secret: None,
        version: None,
    };
    let hook = desk.save_webhook(&e.admin, None, hook).await.unwrap().webhook;
    let ws = e.admin.workspace_id;
    let payload = serde_json::json!({ "subject": "race" });
    let mut written = Vec::new();

    for _ in 0..5 {
        // A takes an event id first and commits last; B takes the next id and commits at once.
        let mut a = e.store.write().await.unwrap();
        written.push(a.insert_event(ws, None, EventKind::TicketOpened, &payload, 1).await.unwrap());
        let store = e.store.clone();
        let p = payload.clone();
        let mut b = tokio::spawn(async move {
            let mut b = store.write().await.unwrap();
            let id = b.insert_event(ws, None, EventKind::TicketOpened, &p, 2).await.unwrap();
            b.commit().await.unwrap();
            id
        });
        // PostgreSQL: B has committed. SQLite: B waits for A's write lock.
        let b_first = within(Duration::from_secs(1), &mut b).await;
        // The dispatcher runs between B's commit and A's.
        let d = desk.clone();
        let mut dispatch = tokio::spawn(async move { d.dispatch_events().await.unwrap() });
        let early = within(Duration::from_secs(1), &mut dispatch).await;
        a.commit().await.unwrap();
        written.push(match b_first {
            Some(id) => id,
            None => b.await.unwrap(),
        });
        if early.is_none() {
            dispatch.await.unwrap();
        }
        desk.dispatch_events().await.unwrap();
    }

    // Several dispatchers at once, while events keep arriving: each event still goes out once.
    let mut writers = Vec::new();
    for i in 0..8 {
        let (store, p) = (e.store.clone(), payload.clone());
        writers.push(tokio::spawn(async move {
            let mut tx = store.write().await.unwrap();
            let id = tx.insert_event(ws, None, EventKind::TicketOpened, &p, 10 + i).await.unwrap();
            tx.commit().await.unwrap();
            id
        }));
    }
    let dispatchers: Vec<_> = (0..4)
        .map(|_| {
            let d = desk.clone();
            tokio::spawn(async move { d.dispatch_events().await.unwrap() })
        })
        .collect();
    for w in writers {
        written.push(w.await.unwrap());
    }
    for d in dispatchers {
        d.await.unwrap();
    }
    // On PostgreSQL an event waits while any transaction older than it runs, on the whole server
    // (another database's long import too): keep dispatching a while. A lost event never comes.
    let mut deliveries = Vec::new();
    for _ in 0..60 {
        desk.dispatch_events().await.unwrap();
        deliveries = desk.webhook_deliveries(&e.admin, hook.id, 200).await.unwrap();
        if deliveries.len() >= written.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut sent: HashMap<String, usize> = HashMap::new();
    for d in &deliveries {
        let body: serde_json::Value = serde_json::from_str(&d.payload).unwrap();
        *sent.entry(body["id"].as_str().unwrap().to_string()).or_default() += 1;
    }
    for id in &written {
        let key = format!("evt_{id}");
        assert_eq!(sent.get(&key).copied().unwrap_or(0), 1, "{key} goes out exactly once; sent: {sent:?}");
    }
    assert_eq!(deliveries.len(), written.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_sees_one_snapshot_while_changes_commit_around_it() {
    let e = env("race", 1_772_445_600_000).await;
    e.user("Ana").await;
    let ws = e.admin.workspace_id;
    let mut read = e.store.read().await.unwrap();
    let before = read.list_users(ws).await.unwrap().len();
    // A change commits between the read's two statements (a page and its total, say).
    e.user("Ben").await;
    assert_eq!(read.list_users(ws).await.unwrap().len(), before, "the second statement sees the same data");
    drop(read);
    assert_eq!(e.store.read().await.unwrap().list_users(ws).await.unwrap().len(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_saving_different_settings_at_once_both_keep_their_change() {
    let e = env("race", 1_772_445_600_000).await;
    for i in 0..15 {
        let (d1, d2, admin1, admin2) = (e.desk.clone(), e.desk.clone(), e.admin.clone(), e.admin.clone());
        let sla = tokio::spawn(async move {
            d1.save_sla_settings(&admin1, SlaSettings { at_risk_percent: 10 + i, alert_on_breach: i % 2 == 0 }, None)
                .await
        });
        let alerts = tokio::spawn(async move {
            let input = ManagerAlertSettings {
                queue_depth: Some(100 + i),
                csat_drop_percent: None,
                escalation_spike: None,
                escalation_window_minutes: 60,
            };
            d2.save_manager_alert_settings(&admin2, input, None).await
        });
        sla.await.unwrap().unwrap();
        alerts.await.unwrap().unwrap();
        assert_eq!(e.desk.sla_settings(&e.admin).await.unwrap().at_risk_percent, 10 + i, "round {i}");
        assert_eq!(e.desk.manager_alert_settings(&e.admin).await.unwrap().queue_depth, Some(100 + i), "round {i}");
    }
}

const HOUR: Millis = 3_600_000;

/// Waits until `n` sessions on the test's database wait for a row lock (PostgreSQL), so a test
/// can line transactions up in a known order. SQLite's transactions queue for its one writer
/// instead, which nothing reports: a short pause lets them get in line.
async fn until_waiting_for_locks(e: &Env, n: i64) {
    if !e.url.starts_with("postgres") {
        tokio::time::sleep(Duration::from_millis(300)).await;
        return;
    }
    let mut side = <sqlx::PgConnection as sqlx::Connection>::connect(&e.url).await.unwrap();
    for _ in 0..400 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut side)
        .await
        .unwrap();
        if waiting >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{n} transactions never got to wait for a lock");
}

/// Two tickets past their resolution target, in a round-robin queue's reach: `first` (due an
/// hour in, unassigned in Escalations) and `second` (due two hours in, held by Ben in the default
/// queue). Urgent tickets are routed to Escalations, whose rotation (Ana alone) picks their
/// assignee; a breached ticket nobody holds goes to the rotation of its queue. Returns the desk
/// three hours on, both tickets, the queue and Ana.
async fn two_breaching_tickets(e: &Env, now: Millis) -> (Desk, TicketRecord, TicketRecord, QueueRecord, UserRecord) {
    let ana = e.user("Ana").await;
    let ben = e.user("Ben").await;
    let escalations = e.queue("Escalations", AssignmentMode::RoundRobin).await;
    e.desk.set_queue_member(&e.admin, escalations.id, ana.id, MemberRole::Member, 1, false).await.unwrap();
    let urgent = RoutingRuleChange {
        name: "Urgent to escalations".into(),
        enabled: true,
        position: None,
        join: RuleJoin::And,
        clauses: vec![RoutingClause { field: ClauseField::Priority, op: ClauseOp::Is, value: "urgent".into() }],
        actions: vec![RoutingAction::ReassignQueue { queue_id: escalations.id }],
        version: None,
    };
    e.desk.save_routing_rule(&e.admin, None, urgent).await.unwrap();
    let rules =
        r#"[{"name":"Breached to the rotation","trigger":"sla_breach","actions":[{"type":"assign_round_robin"}]}]"#;
    e.desk.save_automation_rules(&e.admin, rules, false, None).await.unwrap();

    let mut first = opening("Invoices do not load", "pat@customer.test", Some(escalations.id));
    first.resolution_due_at = Some(now + HOUR);
    let first = e.desk.open_ticket(&e.admin, first).await.unwrap();
    let unassign = TicketPatch { assignee_id: Some(None), ..Default::default() };
    let first = e.desk.update_ticket(&e.admin, first.id, unassign).await.unwrap();
    assert_eq!(first.assignee_id, None);
    let mut second = opening("Export stops at 99%", "sam@customer.test", None);
    second.resolution_due_at = Some(now + 2 * HOUR);
    second.assignee_id = Some(ben.id);
    let second = e.desk.open_ticket(&e.admin, second).await.unwrap();
    assert!(first.id < second.id);
    let later = e.desk.with_clock(Arc::new(ManualClock::at(now + 3 * HOUR)));
    (later, first, second, escalations, ana)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sla_scan_and_a_routing_change_meeting_on_two_tickets_both_go_through() {
    let now = 1_772_445_600_000;
    let e = env("deadlock", now).await;
    let (later, first, second, escalations, ana) = two_breaching_tickets(&e, now).await;
    let ws = e.admin.workspace_id;

    // Line them up: an agent's edit holds the second ticket a moment, the routing change (making
    // it urgent) waits for it, then the scan starts. Before the scan took its batch's tickets in
    // id order up front, it took the first ticket, then (for the first ticket's breach) the
    // Escalations rotation, then waited for the second ticket, which the routing change held
    // while it waited for that rotation: a deadlock PostgreSQL broke by failing one of them.
    let mut agent_edit = e.store.write().await.unwrap();
    agent_edit.ticket_by_id(ws, second.id).await.unwrap().unwrap();
    let (desk, admin) = (later.clone(), e.admin.clone());
    let make_urgent = TicketPatch { priority: Some(Priority::Urgent), ..Default::default() };
    let routing = tokio::spawn(async move { desk.update_ticket(&admin, second.id, make_urgent).await });
    until_waiting_for_locks(&e, 1).await;
    let desk = later.clone();
    let scan = tokio::spawn(async move { desk.check_sla_breaches().await });
    until_waiting_for_locks(&e, 2).await;
    agent_edit.commit().await.unwrap();

    let routed = routing.await.unwrap().expect("the routing change goes through");
    assert_eq!(scan.await.unwrap().expect("the scan goes through"), 2, "both tickets breached");
    assert_eq!((routed.queue_id, routed.assignee_id), (escalations.id, Some(ana.id)));
    let first = e.desk.ticket(&e.admin, first.id).await.unwrap();
    assert_eq!(first.assignee_id, Some(ana.id), "the breach rule gave the first ticket to the rotation");
    for t in [first.id, second.id] {
        assert_eq!(e.desk.sla_breaches(&e.admin, t).await.unwrap().len(), 1);
    }
    let history = e.desk.history(&e.admin, second.id).await.unwrap();
    let queue_moves: Vec<_> = history.iter().filter(|h| h.field == "queue").collect();
    assert_eq!(queue_moves.len(), 1, "{history:?}");
    assert_eq!(queue_moves[0].new_value.as_deref(), Some("Escalations"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scan_the_database_aborts_to_break_a_deadlock_runs_again_and_records_every_breach() {
    let now = 1_772_445_600_000;
    let e = env("deadlock", now).await;
    let (later, first, second, _, ana) = two_breaching_tickets(&e, now).await;
    let ws = e.admin.workspace_id;

    // Another writer (a process that locks in the opposite order) holds the second ticket; the
    // scan takes the first and waits for the second; then the other writer wants the first. On
    // PostgreSQL the scan, waiting longest, is the one aborted (40P01): it must run again rather
    // than fail the tick and leave the breaches unrecorded until the next one.
    let mut other = e.store.write().await.unwrap();
    other.ticket_by_id(ws, second.id).await.unwrap().unwrap();
    let desk = later.clone();
    let scan = tokio::spawn(async move { desk.check_sla_breaches().await });
    until_waiting_for_locks(&e, 1).await;
    other.ticket_by_id(ws, first.id).await.unwrap().expect("the other writer gets the first ticket");
    other.commit().await.unwrap();

    assert_eq!(scan.await.unwrap().expect("the scan goes through"), 2);
    let first = e.desk.ticket(&e.admin, first.id).await.unwrap();
    assert_eq!(first.assignee_id, Some(ana.id));
    for t in [first.id, second.id] {
        let breaches = e.desk.sla_breaches(&e.admin, t).await.unwrap();
        assert_eq!(breaches.len(), 1, "one breach each, however many runs: {breaches:?}");
    }
}

/// An admin, acting as themselves (their name is what a refused save names).
async fn admin(e: &Env, name: &str) -> Actor {
    let email = format!("{}@acme.test", name.to_lowercase());
    let u = e.desk.create_user(&e.admin, &email, name, Role::Admin, None).await.unwrap();
    Actor { workspace_id: u.workspace_id, kind: ActorKind::User { id: u.id, role: Role::Admin }, label: u.name }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_queue_saved_from_a_form_someone_else_saved_since_is_refused_naming_them() {
    let now = 1_772_445_600_000;
    let e = env("versions", now).await;
    let (ana, ben) = (admin(&e, "Ana").await, admin(&e, "Ben").await);
    let q = e.queue("Billing", AssignmentMode::Manual).await;
    assert_eq!((q.version, q.updated_by.as_deref()), (1, None));

    // Both open the queue's form at version 1; Ana saves first.
    let saved = e.desk.save_queue(&ana, Some(q.id), "Billing and invoices", AssignmentMode::Manual, false, Some(1));
    let saved = saved.await.unwrap();
    assert_eq!((saved.version, saved.updated_by.as_deref(), saved.updated_at), (2, Some("Ana"), Some(now)));
    // Ben's save from version 1 would undo Ana's rename: refused, naming her and when.
    let stale = e.desk.save_queue(&ben, Some(q.id), "Billing", AssignmentMode::RoundRobin, false, Some(1)).await;
    match stale {
        Err(DeskError::Conflict(m)) => {
            assert!(m.starts_with("Ana saved this queue at 2026-03-02 10:00:00 UTC, after you opened it"), "{m}")
        }
        other => panic!("expected a conflict naming Ana, got {other:?}"),
    }
    let kept = e.desk.queues(&e.admin).await.unwrap().into_iter().find(|x| x.id == q.id).unwrap();
    assert_eq!(
        (kept.name.as_str(), kept.assignment_mode, kept.version),
        ("Billing and invoices", AssignmentMode::Manual, 2)
    );
    // Reloaded, Ben's save goes through.
    let saved = e.desk.save_queue(&ben, Some(q.id), "Billing and invoices", AssignmentMode::RoundRobin, false, Some(2));
    assert_eq!(saved.await.unwrap().version, 3);
    // A caller that sends no version (an API client from before versions) saves as before.
    let blind = e.desk.save_queue(&ana, Some(q.id), "Billing", AssignmentMode::RoundRobin, false, None).await.unwrap();
    assert_eq!((blind.name.as_str(), blind.version), ("Billing", 4));

    // Two saves of one version at the same moment: exactly one goes through.
    for round in 0..10 {
        let v = 4 + round;
        let (d1, d2, a1, a2) = (e.desk.clone(), e.desk.clone(), ana.clone(), ben.clone());
        let first = tokio::spawn(async move {
            d1.save_queue(&a1, Some(q.id), "Billing (Ana)", AssignmentMode::Manual, false, Some(v)).await
        });
        let second = tokio::spawn(async move {
            d2.save_queue(&a2, Some(q.id), "Billing (Ben)", AssignmentMode::Manual, false, Some(v)).await
        });
        let results = [first.await.unwrap(), second.await.unwrap()];
        let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "round {round}: {results:?}");
        let lost = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        let winner = won[0].updated_by.clone().unwrap();
        assert!(
            matches!(lost, DeskError::Conflict(m) if m.starts_with(&format!("{winner} saved this queue"))),
            "{lost:?}"
        );
        let now = e.desk.queues(&e.admin).await.unwrap().into_iter().find(|x| x.id == q.id).unwrap();
        assert_eq!((now.name, now.version), (won[0].name.clone(), v + 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_help_topic_saved_from_a_stale_form_is_refused_naming_who_saved_it() {
    let now = 1_772_445_600_000;
    let e = env("versions", now).await;
    let (ana, ben) = (admin(&e, "Ana").await, admin(&e, "Ben").await);
    let topic = |name: &str, minutes: Option<i64>, version: Option<i64>| HelpTopicInput {
        name: name.into(),
        default_priority: None,
        default_queue_id: None,
        default_assignee_id: None,
        due_offset_minutes: minutes,
        active: true,
        version,
    };
    let t = e.desk.save_help_topic(&e.admin, None, topic("Refunds", None, None)).await.unwrap();
    assert_eq!(t.version, 1);
    let saved = e.desk.save_help_topic(&ana, Some(t.id), topic("Refunds", Some(60), Some(1))).await.unwrap();
    assert_eq!((saved.version, saved.updated_by.as_deref()), (2, Some("Ana")));
    match e.desk.save_help_topic(&ben, Some(t.id), topic("Refunds and returns", None, Some(1))).await {
        Err(DeskError::Conflict(m)) => {
            assert!(m.starts_with("Ana saved this help topic at 2026-03-02 10:00:00 UTC"), "{m}")
        }
        other => panic!("expected a conflict naming Ana, got {other:?}"),
    }
    let kept = e.desk.help_topics(&e.admin).await.unwrap().into_iter().find(|x| x.id == t.id).unwrap();
    assert_eq!((kept.name.as_str(), kept.due_offset_minutes, kept.version), ("Refunds", Some(60), 2));
    // Saving a topic that is not there is still "not found", whatever version is sent.
    let gone = e.desk.save_help_topic(&ana, Some(HelpTopicId(9999)), topic("Ghost", None, Some(1))).await;
    assert!(matches!(gone, Err(DeskError::NotFound(_))), "{gone:?}");
}

/// Every other admin form that carries a version, as a test table: how to save it with a value
/// telling saves apart (`n`), and how to read back that value and the version.
#[derive(Debug, Clone, Copy)]
enum Form {
    CannedResponse,
    RoutingRule,
    SlaPolicy,
    Webhook,
    Calendar,
    SlaSettings,
    Inactivity,
    AfterClose,
    ManagerAlerts,
    AutomationRules,
}

impl Form {
    const ALL: [Form; 10] = [
        Form::CannedResponse,
        Form::RoutingRule,
        Form::SlaPolicy,
        Form::Webhook,
        Form::Calendar,
        Form::SlaSettings,
        Form::Inactivity,
        Form::AfterClose,
        Form::ManagerAlerts,
        Form::AutomationRules,
    ];

    /// What a refusal calls the form.
    fn subject(self) -> &'static str {
        match self {
            Form::CannedResponse => "this canned response",
            Form::RoutingRule => "this routing rule",
            Form::SlaPolicy => "this SLA policy",
            Form::Webhook => "this webhook",
            Form::Calendar => "this calendar",
            Form::SlaSettings => "the SLA settings",
            Form::Inactivity => "the follow-up settings",
            Form::AfterClose => "the after-close settings",
            Form::ManagerAlerts => "the manager alerts",
            Form::AutomationRules => "the automation rules",
        }
    }

    /// Saves the form with `n` in it; `id` is the row's (none for a new one and for settings).
    /// Returns the row's id and the version it is at after the save.
    async fn save(
        self,
        desk: &Desk,
        a: &Actor,
        id: Option<i64>,
        n: i64,
        version: Option<i64>,
    ) -> Result<(Option<i64>, i64), DeskError> {
        Ok(match self {
            Form::CannedResponse => {
                let input = CannedResponseInput {
                    title: format!("Reply {n}"),
                    shortcut: None,
                    body: "Hello".into(),
                    help_topic_id: None,
                    version,
                };
                let r = desk.save_canned_response(a, id.map(CannedResponseId), input).await?;
                (Some(r.id.0), r.version)
            }
            Form::RoutingRule => {
                let input = RoutingRuleChange {
                    name: format!("Rule {n}"),
                    enabled: true,
                    position: None,
                    join: RuleJoin::And,
                    clauses: vec![RoutingClause {
                        field: ClauseField::Priority,
                        op: ClauseOp::Is,
                        value: "urgent".into(),
                    }],
                    actions: vec![RoutingAction::Escalate],
                    version,
                };
                let r = desk.save_routing_rule(a, id.map(RoutingRuleId), input).await?;
                (Some(r.id.0), r.version)
            }
            Form::SlaPolicy => {
                let input = SlaPolicyChange {
                    name: "Urgent".into(),
                    priority: Priority::Urgent,
                    help_topic_id: None,
                    first_response_minutes: 5 + n,
                    resolution_minutes: 600,
                    calendar_id: None,
                    version,
                };
                let r = desk.save_sla_policy(a, id.map(SlaPolicyId), input).await?;
                (Some(r.id.0), r.version)
            }
            Form::Webhook => {
                let input = WebhookChange {
                    name: "CRM".into(),
                    url: format!("https://hooks.public.test/{n}"),
                    enabled: true,
                    events: vec![WebhookEvent::TicketOpened],
                    secret: None,
                    version,
                };
                let r = desk.save_webhook(a, id.map(WebhookId), input).await?;
                (Some(r.webhook.id.0), r.webhook.version)
            }
            Form::Calendar => {
                let spec = CalendarSpec {
                    time_zone: "UTC".into(),
                    schedule: vec![DayHours {
                        weekday: "mon".into(),
                        opens: "09:00".into(),
                        closes: format!("{}:00", 10 + n % 14),
                    }],
                    holidays: Vec::new(),
                };
                let r = desk.save_calendar(a, id.map(CalendarId), "Office", &spec, version).await?;
                (Some(r.id.0), r.version)
            }
            Form::SlaSettings => {
                let input = SlaSettings { at_risk_percent: 1 + n % 98, alert_on_breach: true };
                (None, desk.save_sla_settings(a, input, version).await?.1.version)
            }
            Form::Inactivity => {
                let input = InactivitySettings { stale_after_hours: Some(1 + n), ..desk.inactivity_settings(a).await? };
                (None, desk.save_inactivity_settings(a, input, version).await?.1.version)
            }
            Form::AfterClose => {
                let input = AfterCloseSettings {
                    post_close_follow_up_days: Some(1 + n % 89),
                    ..desk.after_close_settings(a).await?
                };
                (None, desk.save_after_close_settings(a, input, version).await?.1.version)
            }
            Form::ManagerAlerts => {
                let input = ManagerAlertSettings {
                    queue_depth: Some(100 + n),
                    csat_drop_percent: None,
                    escalation_spike: None,
                    escalation_window_minutes: 60,
                };
                (None, desk.save_manager_alert_settings(a, input, version).await?.1.version)
            }
            Form::AutomationRules => {
                let rules = format!(
                    r#"[{{"id":"r1","name":"Rule {n}","trigger":"ticket_opened","actions":[{{"type":"escalate"}}]}}]"#
                );
                let saved = desk.save_automation_rules(a, &rules, false, version).await?;
                assert!(saved.saved, "{:?}", saved.reports);
                (None, saved.version.version)
            }
        })
    }

    /// The `n` of the save in force, and the form's version.
    async fn read(self, desk: &Desk, a: &Actor, id: Option<i64>) -> (i64, i64) {
        let id = id.unwrap_or_default();
        let settings = |form| async move { desk.settings_version(a, form).await.unwrap().version };
        let number = |s: &str| s.rsplit(' ').next().unwrap().parse::<i64>().unwrap();
        match self {
            Form::CannedResponse => {
                let r = desk.canned_responses(a).await.unwrap().into_iter().find(|r| r.id.0 == id).unwrap();
                (number(&r.title), r.version)
            }
            Form::RoutingRule => {
                let r = desk.routing_rule_list(a).await.unwrap().into_iter().find(|r| r.id.0 == id).unwrap();
                (number(&r.rule.name), r.version)
            }
            Form::SlaPolicy => {
                let r = desk.sla_policies(a).await.unwrap().into_iter().find(|r| r.id.0 == id).unwrap();
                (r.first_response_minutes - 5, r.version)
            }
            Form::Webhook => {
                let r = desk.webhooks(a).await.unwrap().into_iter().find(|r| r.id.0 == id).unwrap();
                (r.url.rsplit('/').next().unwrap().parse().unwrap(), r.version)
            }
            Form::Calendar => {
                let r = desk.calendars(a).await.unwrap().into_iter().find(|r| r.id.0 == id).unwrap();
                let spec: CalendarSpec = serde_json::from_str(&r.spec).unwrap();
                (spec.schedule[0].closes[..2].parse::<i64>().unwrap() - 10, r.version)
            }
            Form::SlaSettings => {
                let v = settings(SettingsForm::Sla).await;
                (desk.sla_settings(a).await.unwrap().at_risk_percent - 1, v)
            }
            Form::Inactivity => {
                let v = settings(SettingsForm::Inactivity).await;
                (desk.inactivity_settings(a).await.unwrap().stale_after_hours.unwrap() - 1, v)
            }
            Form::AfterClose => {
                let v = settings(SettingsForm::AfterClose).await;
                (desk.after_close_settings(a).await.unwrap().post_close_follow_up_days.unwrap() - 1, v)
            }
            Form::ManagerAlerts => {
                let v = settings(SettingsForm::ManagerAlerts).await;
                (desk.manager_alert_settings(a).await.unwrap().queue_depth.unwrap() - 100, v)
            }
            Form::AutomationRules => {
                let v = settings(SettingsForm::AutomationRules).await;
                (number(&desk.automation_rules(a).await.unwrap()[0].name), v)
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_admin_form_saved_from_a_stale_version_is_refused_and_of_two_saves_at_once_one_wins() {
    let now = 1_772_445_600_000;
    let e = env("versions", now).await;
    let names = FixedResolver::of(&[("hooks.public.test", &["93.184.216.34"])]);
    let desk = e.desk.with_outbound(OutboundGuard::new(OutboundPolicy::parse("").unwrap(), Arc::new(names)));
    let (ana, ben) = (admin(&e, "Ana").await, admin(&e, "Ben").await);
    for form in Form::ALL {
        // A new row starts at version 1; a settings form (never saved: 1) counts a save made
        // without a version too.
        let (id, _) = form.save(&desk, &e.admin, None, 1, None).await.unwrap();
        let (n, start) = form.read(&desk, &e.admin, id).await;
        assert_eq!((n, start), (1, if id.is_some() { 1 } else { 2 }), "{form:?}");

        // Ana and Ben open the form at the same version; Ana saves first.
        let (_, saved) = form.save(&desk, &ana, id, 2, Some(start)).await.unwrap();
        assert_eq!(saved, start + 1, "{form:?}");
        // Ben's save from the version he loaded would undo Ana's: refused, naming her and when.
        match form.save(&desk, &ben, id, 3, Some(start)).await {
            Err(DeskError::Conflict(m)) => {
                let expected = format!("Ana saved {} at 2026-03-02 10:00:00 UTC, after you opened it", form.subject());
                assert!(m.starts_with(&expected), "{form:?}: {m}");
            }
            other => panic!("{form:?}: expected a conflict naming Ana, got {other:?}"),
        }
        assert_eq!(form.read(&desk, &e.admin, id).await, (2, start + 1), "{form:?}: Ana's save stands");

        // Two saves of one version at the same moment: exactly one goes through.
        for round in 0..10 {
            let v = start + 1 + round;
            let (d1, d2, a1, a2) = (desk.clone(), desk.clone(), ana.clone(), ben.clone());
            let first = tokio::spawn(async move { form.save(&d1, &a1, id, 10, Some(v)).await });
            let second = tokio::spawn(async move { form.save(&d2, &a2, id, 11, Some(v)).await });
            let results = [first.await.unwrap(), second.await.unwrap()];
            let won: Vec<usize> = (0..2).filter(|i| results[*i].is_ok()).collect();
            assert_eq!(won.len(), 1, "{form:?} round {round}: {results:?}");
            let (winner, n) = if won[0] == 0 { ("Ana", 10) } else { ("Ben", 11) };
            let lost = results.iter().find_map(|r| r.as_ref().err()).unwrap();
            assert!(
                matches!(lost, DeskError::Conflict(m) if m.starts_with(&format!("{winner} saved {}", form.subject()))),
                "{form:?} round {round}: {lost:?}"
            );
            assert_eq!(form.read(&desk, &e.admin, id).await, (n, v + 1), "{form:?} round {round}");
        }

        // A caller that sends no version (an API client from before versions) saves as before.
        let (_, blind) = form.save(&desk, &ben, id, 4, None).await.unwrap();
        assert_eq!(form.read(&desk, &e.admin, id).await, (4, blind), "{form:?}");
        assert_eq!(blind, start + 12, "{form:?}");
    }
}
