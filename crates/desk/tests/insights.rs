//! Insights through the desk on a real database, with the clock moved by hand: a fixture of
//! tickets with hand-computed answers across the night Berlin's clocks went forward, kept by the
//! job runner's update from the event stream, and a rebuild that must write the same rows.
//! SQLite by default; with `TEST_POSTGRES_URL` each test gets a fresh PostgreSQL database.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use switchboard_desk::domain::*;
use switchboard_desk::store::{InsightFilter, Store, TicketRecord};
use switchboard_desk::*;

fn ms(s: &str) -> Millis {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

fn date(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

struct Env {
    desk: Desk,
    clock: Arc<ManualClock>,
    admin: Actor,
    _store: Store,
    _dir: tempfile::TempDir,
}

async fn env(time_zone: &str, now: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::connect(&switchboard_testkit::fresh_database_url(dir.path(), "insights").await.unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::at(ms(now)));
    let auth = AuthConfig { jwt_secret: b"test secret for the desk".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store.clone(), clock.clone(), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", time_zone, "General").await.unwrap();
    Env { desk, clock, admin: Actor::system(ws.id), _store: store, _dir: dir }
}

impl Env {
    fn at(&self, t: &str) {
        self.clock.set(ms(t));
    }

    async fn staff(&self, name: &str, role: Role) -> Actor {
        let email = format!("{}@acme.test", name.to_lowercase());
        let u = self.desk.create_user(&self.admin, &email, name, role, None).await.unwrap();
        Actor { workspace_id: u.workspace_id, kind: ActorKind::User { id: u.id, role }, label: u.name }
    }

    async fn open(&self, subject: &str, at: &str) -> TicketRecord {
        self.at(at);
        let input = OpenTicket {
            subject: subject.into(),
            description: Some(format!("About: {subject}")),
            requester: RequesterRef::Email { email: "pat@customer.test".into(), name: Some("Pat".into()) },
            priority: Some(Priority::Normal),
            source: Some(Source::Portal),
            queue_id: None,
            help_topic_id: None,
            assignee_id: None,
            tags: Vec::new(),
            resolution_due_at: None,
            attachments: Vec::new(),
        };
        self.desk.open_ticket(&self.admin, input).await.unwrap()
    }

    async fn reply(&self, who: &Actor, t: &TicketRecord, at: &str) {
        self.at(at);
        self.desk.reply(who, t.id, "Looking into it", Vec::new(), None).await.unwrap();
    }

    async fn set_status(&self, who: &Actor, t: &TicketRecord, status: TicketStatus, at: &str) {
        self.at(at);
        let patch = TicketPatch { status: Some(status), ..Default::default() };
        self.desk.update_ticket(who, t.id, patch).await.unwrap();
    }

    async fn rate(&self, t: &TicketRecord, rating: i64, at: &str) {
        self.at(at);
        let pat = Actor {
            workspace_id: t.workspace_id,
            kind: ActorKind::Contact { id: t.requester_id },
            label: "Pat".into(),
        };
        self.desk.rate_ticket(&pat, t.id, rating, None).await.unwrap();
    }

    async fn insights(&self, who: &Actor, from: &str, to: &str, f: &InsightFilter) -> Insights {
        let period = InsightPeriod::Custom { from: date(from), to: date(to) };
        self.desk.insights(who, period, f).await.unwrap()
    }
}

fn office_hours(tz: &str) -> CalendarSpec {
    let schedule = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| DayHours { weekday: d.to_string(), opens: "09:00".into(), closes: "17:00".into() })
        .collect();
    CalendarSpec { time_zone: tz.into(), schedule, holidays: Vec::new() }
}

/// The fixture, in Berlin, where clocks went from 02:00 to 03:00 on Sunday 29 March 2026:
///
/// - T4 opened Friday 27 March and still open: the backlog the period starts with;
/// - T1 opened Saturday 28th 23:30 local (22:30 UTC), Ann answers in 10 minutes and closes it
///   at 01:30 local on the 29th (120 minutes); rated 5;
/// - T2 opened Monday 30th 01:30 CEST (still the 29th in UTC): Ann claims it and answers in
///   20 minutes; it stays open;
/// - T3 opened Monday 30th 10:00 local: Bob answers in 30 minutes, resolves it at 14:00, reopens
///   it at 15:00 and closes it at 16:00 (360 minutes from open); rated 1 (Not helpful).
///
/// The SLA policy (normal priority, office hours Mon-Fri 9-17): first response 15 and
/// resolution 180 business minutes.
async fn fixture(e: &Env) -> (Actor, Actor) {
    let ann = e.staff("Ann", Role::Agent).await;
    let bob = e.staff("Bob", Role::Agent).await;
    let cal = e.desk.save_calendar(&e.admin, None, "Office", &office_hours("Europe/Berlin"), None).await.unwrap();
    let policy = SlaPolicyChange {
        name: "Normal".into(),
        priority: Priority::Normal,
        help_topic_id: None,
        first_response_minutes: 15,
        resolution_minutes: 180,
        calendar_id: Some(cal.id),
        version: None,
    };
    e.desk.save_sla_policy(&e.admin, None, policy).await.unwrap();

    e.open("Still open from before", "2026-03-27T10:00:00Z").await;

    let t1 = e.open("Saturday night", "2026-03-28T22:30:00Z").await;
    e.reply(&ann, &t1, "2026-03-28T22:40:00Z").await;
    e.at("2026-03-29T00:30:00Z");
    e.desk.close(&ann, t1.id, CloseReason::Resolved, None).await.unwrap();
    e.rate(&t1, 5, "2026-03-29T10:00:00Z").await;

    let t2 = e.open("Monday, just after midnight", "2026-03-29T23:30:00Z").await;
    e.at("2026-03-29T23:35:00Z");
    e.desk.claim(&ann, t2.id).await.unwrap();
    e.reply(&ann, &t2, "2026-03-29T23:50:00Z").await;

    let t3 = e.open("Monday morning", "2026-03-30T08:00:00Z").await;
    e.reply(&bob, &t3, "2026-03-30T08:30:00Z").await;
    e.set_status(&bob, &t3, TicketStatus::Resolved, "2026-03-30T12:00:00Z").await;
    e.at("2026-03-30T13:00:00Z");
    e.desk.reopen(&bob, t3.id).await.unwrap();
    e.at("2026-03-30T14:00:00Z");
    e.desk.close(&bob, t3.id, CloseReason::Resolved, None).await.unwrap();
    e.rate(&t3, helpful_rating(false), "2026-03-30T15:00:00Z").await;

    e.at("2026-03-31T08:00:00Z");
    (ann, bob)
}

#[tokio::test]
async fn every_metric_matches_the_hand_computed_fixture_across_the_dst_change() {
    let e = env("Europe/Berlin", "2026-03-27T09:00:00Z").await;
    let (_ann, _bob) = fixture(&e).await;
    let lead = e.staff("Sue", Role::Supervisor).await;
    assert!(e.desk.update_insights().await.unwrap() > 0, "the job read the fixture's events");

    let i = e.insights(&lead, "2026-03-28", "2026-03-30", &InsightFilter::default()).await;
    let days: Vec<(String, i64, i64, i64, i64)> =
        i.days.iter().map(|d| (d.date.to_string(), d.opened, d.closed, d.reopened, d.backlog)).collect();
    assert_eq!(
        days,
        vec![
            ("2026-03-28".into(), 1, 0, 0, 2),
            ("2026-03-29".into(), 0, 1, 0, 1),
            // T2 opened at 23:30 UTC on the 29th: the 30th in Berlin.
            ("2026-03-30".into(), 2, 1, 1, 2),
        ]
    );
    assert_eq!((i.opened, i.closed, i.reopened), (3, 2, 1));
    assert_eq!(i.reopen_rate(), Some(0.5));

    // First responses 10, 20 and 30 minutes; resolutions 120 and 360.
    assert_eq!(i.first_response, DurationStats { count: 3, median_minutes: Some(20), p90_minutes: Some(30) });
    assert_eq!(i.resolution, DurationStats { count: 2, median_minutes: Some(120), p90_minutes: Some(360) });
    // In office hours: T1 and T2 were answered (and T1 closed) while the office was shut.
    assert_eq!(i.first_response_business, DurationStats { count: 3, median_minutes: Some(0), p90_minutes: Some(30) });
    assert_eq!(i.resolution_business, DurationStats { count: 2, median_minutes: Some(0), p90_minutes: Some(360) });

    // First response due Monday 09:15 for T1 and T2 (met), 10:15 for T3 (answered 10:30);
    // resolution due Monday 12:00 for T1 (met) and 13:00 for T3 (closed 16:00).
    let sla: Vec<(SlaTarget, i64, i64)> = i.sla.iter().map(|s| (s.target, s.met, s.missed)).collect();
    assert_eq!(sla, vec![(SlaTarget::FirstResponse, 2, 1), (SlaTarget::Resolution, 1, 1)]);

    assert_eq!(i.csat, CsatSummary { rated: 2, satisfied: 1, by_rating: [1, 0, 0, 0, 1] });
    assert_eq!(i.csat.satisfied_share(), Some(0.5));

    let staff: Vec<_> = i
        .staff
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.closed,
                s.claimed,
                s.avg_first_response_minutes(),
                s.avg_resolution_minutes(),
                s.messages,
                s.csat_rate(),
            )
        })
        .collect();
    assert_eq!(
        staff,
        vec![
            ("Ann", 1, 1, Some(15.0), Some(120.0), 2, Some(1.0)),
            ("Bob", 1, 0, Some(30.0), Some(360.0), 1, Some(0.0)),
        ]
    );

    // Volume by channel and help topic: everything came through the portal without a topic.
    let volume: Vec<(String, String, i64, i64)> =
        i.volume.iter().map(|v| (v.date.to_string(), v.channel.clone(), v.opened, v.closed)).collect();
    assert_eq!(
        volume,
        vec![
            ("2026-03-28".into(), "portal".into(), 1, 0),
            ("2026-03-29".into(), "portal".into(), 0, 1),
            ("2026-03-30".into(), "portal".into(), 2, 1),
        ]
    );
}

#[tokio::test]
async fn a_period_boundary_starts_from_the_backlog_before_it_and_filters_narrow_every_metric() {
    let e = env("Europe/Berlin", "2026-03-27T09:00:00Z").await;
    fixture(&e).await;
    e.desk.update_insights().await.unwrap();
    let lead = e.staff("Sue", Role::Supervisor).await;

    // Sunday alone: T4 and T1 were opened before it, T1 closes in it.
    let sunday = e.insights(&lead, "2026-03-29", "2026-03-29", &InsightFilter::default()).await;
    assert_eq!(sunday.days.len(), 1);
    assert_eq!((sunday.days[0].opened, sunday.days[0].closed, sunday.days[0].backlog), (0, 1, 1));
    assert_eq!(sunday.resolution.median_minutes, Some(120));
    assert_eq!(sunday.first_response.count, 0, "T1 was answered on Saturday");

    let email = InsightFilter { channel: Some("email".into()), ..Default::default() };
    let none = e.insights(&lead, "2026-03-28", "2026-03-30", &email).await;
    assert_eq!((none.opened, none.closed, none.csat.rated), (0, 0, 0));
    assert!(none.staff.is_empty());
    assert_eq!(none.first_response.median_minutes, None, "no data, not zero");

    let no_topic = InsightFilter { help_topic_id: Some(0), ..Default::default() };
    assert_eq!(e.insights(&lead, "2026-03-28", "2026-03-30", &no_topic).await.opened, 3);

    // Last 7 days, by the workspace's calendar: the clock stands on Tuesday 31 March.
    let week = e.desk.insights(&lead, InsightPeriod::Last7Days, &InsightFilter::default()).await.unwrap();
    assert_eq!((week.from, week.to), (date("2026-03-25"), date("2026-03-31")));
    assert_eq!(week.opened, 4);
}

#[tokio::test]
async fn rollups_rebuilt_from_the_tickets_equal_the_ones_the_event_stream_kept() {
    let e = env("Europe/Berlin", "2026-03-27T09:00:00Z").await;
    fixture(&e).await;
    e.desk.update_insights().await.unwrap();
    let ws = e.admin.workspace_id;
    let live = e.desk.insight_rollup_rows(ws).await.unwrap();
    assert!(live.len() > 20, "{live:?}");
    let seen = std::sync::Mutex::new(Vec::new());
    let summary = e.desk.rebuild_insights(ws, &|done, total| seen.lock().unwrap().push((done, total))).await.unwrap();
    assert_eq!(summary.tickets, 4);
    assert_eq!(summary.rollup_rows, live.len() as u64);
    assert_eq!(seen.lock().unwrap().last(), Some(&(4, 4)));
    assert_eq!(e.desk.insight_rollup_rows(ws).await.unwrap(), live);
    // Running the job again after the rebuild changes nothing.
    e.desk.update_insights().await.unwrap();
    assert_eq!(e.desk.insight_rollup_rows(ws).await.unwrap(), live);
}

#[tokio::test]
async fn a_reopened_ticket_leaves_the_closed_count_until_it_closes_again() {
    let e = env("UTC", "2026-05-04T09:00:00Z").await;
    let lead = e.staff("Sue", Role::Supervisor).await;
    let t = e.open("Printer", "2026-05-04T09:00:00Z").await;
    e.at("2026-05-04T10:00:00Z");
    e.desk.close(&lead, t.id, CloseReason::Resolved, None).await.unwrap();
    e.desk.update_insights().await.unwrap();
    let day = |i: &Insights| (i.days[0].closed, i.days[0].reopened, i.days[0].backlog);
    assert_eq!(day(&e.insights(&lead, "2026-05-04", "2026-05-04", &InsightFilter::default()).await), (1, 0, 0));
    e.at("2026-05-04T11:00:00Z");
    e.desk.reopen(&lead, t.id).await.unwrap();
    e.desk.update_insights().await.unwrap();
    assert_eq!(day(&e.insights(&lead, "2026-05-04", "2026-05-04", &InsightFilter::default()).await), (0, 1, 1));
}

#[tokio::test]
async fn only_supervisors_and_admins_see_insights_and_bad_ranges_name_their_field() {
    let e = env("UTC", "2026-05-04T09:00:00Z").await;
    let agent = e.staff("Ann", Role::Agent).await;
    let all = InsightFilter::default();
    let err = e.desk.insights(&agent, InsightPeriod::Last7Days, &all).await.unwrap_err();
    assert!(matches!(err, DeskError::Forbidden(_)), "{err:?}");
    let admin = e.staff("Ada", Role::Admin).await;
    assert_eq!(e.desk.insights(&admin, InsightPeriod::Last90Days, &all).await.unwrap().days.len(), 90);
    let backwards = InsightPeriod::Custom { from: date("2026-05-04"), to: date("2026-05-01") };
    let err = e.desk.insights(&admin, backwards, &all).await.unwrap_err();
    assert!(matches!(&err, DeskError::Validation(v) if v.field == "to"), "{err:?}");
    let too_long = InsightPeriod::Custom { from: date("2024-01-01"), to: date("2026-05-01") };
    assert!(e.desk.insights(&admin, too_long, &all).await.is_err());
    let bad_channel = InsightFilter { channel: Some("pigeon".into()), ..Default::default() };
    let err = e.desk.insights(&admin, InsightPeriod::Last7Days, &bad_channel).await.unwrap_err();
    assert!(matches!(&err, DeskError::Validation(v) if v.field == "channel"), "{err:?}");
}
