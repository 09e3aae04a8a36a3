//! Loads a workspace from a seed file (`seed/demo.json`): staff, queues, help topics, canned
//! responses, contacts and tickets with their threads, all through the desk's own operations so
//! the history and events are those a real workspace would have.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use serde::Deserialize;
use switchboard_desk::domain::*;
use switchboard_desk::{
    CannedResponseInput, ContactInput, Desk, HelpTopicInput, ManualClock, OpenTicket, RequesterRef, TicketPatch,
};

/// The demo workspace shipped with the binary.
pub const DEMO: &str = include_str!("../../../seed/demo.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    workspace: SeedWorkspace,
    users: Vec<SeedUser>,
    queues: Vec<SeedQueue>,
    help_topics: Vec<SeedHelpTopic>,
    canned_responses: Vec<SeedCanned>,
    contacts: Vec<SeedContact>,
    tickets: Vec<SeedTicket>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedWorkspace {
    slug: String,
    name: String,
    ticket_prefix: String,
    time_zone: String,
}

/// A staff login the seed created, for printing.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedQueue {
    name: String,
    is_default: bool,
    members: Vec<SeedMember>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedMember {
    email: String,
    role: MemberRole,
    weight: i64,
    on_break: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedHelpTopic {
    name: String,
    default_priority: Option<Priority>,
    default_queue: Option<String>,
    default_assignee: Option<String>,
    due_offset_minutes: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedCanned {
    title: String,
    shortcut: Option<String>,
    body: String,
    help_topic: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedContact {
    name: String,
    email: Option<String>,
    phone: Option<String>,
    requester_type: RequesterType,
    portal_password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedTicket {
    subject: String,
    requester: String,
    source: Source,
    priority: Priority,
    status: TicketStatus,
    queue: String,
    help_topic: Option<String>,
    assignee: Option<String>,
    tags: Vec<String>,
    escalated: bool,
    created_hours_ago: f64,
    close_reason: Option<CloseReason>,
    entries: Vec<SeedEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedEntry {
    kind: EntryKind,
    author: String,
    body: String,
    hours_ago: f64,
}

/// What was loaded.
pub struct Seeded {
    pub workspace: String,
    pub users: Vec<SeedUser>,
    pub customers: Vec<(String, String)>,
    pub tickets: usize,
}

fn lookup<'a, T>(map: &'a HashMap<String, T>, key: &str, what: &str) -> anyhow::Result<&'a T> {
    map.get(key).ok_or_else(|| anyhow!("seed names unknown {what} {key:?}"))
}

/// Loads `json` into a new workspace. Fails without changes if the workspace slug exists.
pub async fn load(desk: &Desk, json: &str) -> anyhow::Result<Seeded> {
    let seed: SeedFile = serde_json::from_str(json).context("parsing the seed file")?;
    let now = desk.now();
    let clock = Arc::new(ManualClock::at(now));
    // Historical timestamps: the seeding desk's clock is moved to each entry's time.
    let d = desk.with_clock(clock.clone());
    let at = |hours_ago: f64| now - (hours_ago * 3_600_000.0) as i64;

    let w = &seed.workspace;
    let default_queue = seed.queues.iter().find(|q| q.is_default).map_or("General", |q| q.name.as_str());
    let ws = d
        .create_workspace(&w.slug, &w.name, &w.ticket_prefix, &w.time_zone, default_queue)
        .await
        .with_context(|| format!("creating workspace {:?}", w.slug))?;
    let system = Actor::system(ws.id);

    let mut users = HashMap::new();
    for u in &seed.users {
        let rec = d.create_user(&system, &u.email, &u.name, u.role, Some(&u.password)).await?;
        users.insert(u.email.clone(), rec);
    }
    let mut queues = HashMap::new();
    for q in d.queues(&system).await? {
        queues.insert(q.name.clone(), q.id);
    }
    for q in &seed.queues {
        let id = match queues.get(&q.name) {
            Some(id) => *id,
            None => d.save_queue(&system, None, &q.name, AssignmentMode::Manual, false, None).await?.id,
        };
        queues.insert(q.name.clone(), id);
        for m in &q.members {
            let user = lookup(&users, &m.email, "user")?;
            d.set_queue_member(&system, id, user.id, m.role, m.weight, m.on_break).await?;
        }
    }
    let mut topics = HashMap::new();
    for t in &seed.help_topics {
        let input = HelpTopicInput {
            name: t.name.clone(),
            default_priority: t.default_priority,
            default_queue_id: t.default_queue.as_deref().map(|q| lookup(&queues, q, "queue").copied()).transpose()?,
            default_assignee_id: t
                .default_assignee
                .as_deref()
                .map(|u| lookup(&users, u, "user").map(|u| u.id))
                .transpose()?,
            due_offset_minutes: t.due_offset_minutes,
            active: true,
            version: None,
        };
        topics.insert(t.name.clone(), d.save_help_topic(&system, None, input).await?.id);
    }
    for c in &seed.canned_responses {
        let input = CannedResponseInput {
            title: c.title.clone(),
            shortcut: c.shortcut.clone(),
            body: c.body.clone(),
            help_topic_id: c.help_topic.as_deref().map(|t| lookup(&topics, t, "help topic").copied()).transpose()?,
            version: None,
        };
        d.save_canned_response(&system, None, input).await?;
    }
    let mut contacts = HashMap::new();
    let mut customers = Vec::new();
    for (i, c) in seed.contacts.iter().enumerate() {
        let input = ContactInput {
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            requester_type: Some(c.requester_type),
            business_partner_ref: (c.requester_type == RequesterType::BusinessPartner)
                .then(|| format!("BP-{:05}", 1001 + i)),
            portal_password: c.portal_password.clone(),
        };
        let rec = d.create_contact(&system, input).await?;
        if let (Some(e), Some(p)) = (&c.email, &c.portal_password) {
            customers.push((e.clone(), p.clone()));
        }
        if let Some(e) = &c.email {
            contacts.insert(e.clone(), rec);
        }
    }

    let mut seeded = 0;
    let mut tickets: Vec<&SeedTicket> = seed.tickets.iter().collect();
    // Oldest first, so ticket numbers follow creation time.
    tickets.sort_by(|a, b| b.created_hours_ago.total_cmp(&a.created_hours_ago));
    for t in tickets {
        let requester = lookup(&contacts, &t.requester, "contact")?;
        let customer =
            Actor { workspace_id: ws.id, kind: ActorKind::Contact { id: requester.id }, label: requester.name.clone() };
        let staff = |email: &str| -> anyhow::Result<Actor> {
            let u = lookup(&users, email, "user")?;
            Ok(Actor { workspace_id: ws.id, kind: ActorKind::User { id: u.id, role: u.role }, label: u.name.clone() })
        };
        let (first, rest) = t.entries.split_first().ok_or_else(|| anyhow!("ticket {:?} has no entries", t.subject))?;
        clock.set(at(t.created_hours_ago));
        let opened = d
            .open_ticket(
                &system,
                OpenTicket {
                    subject: t.subject.clone(),
                    description: Some(first.body.clone()),
                    requester: RequesterRef::Contact(requester.id),
                    priority: Some(t.priority),
                    source: Some(t.source),
                    queue_id: Some(*lookup(&queues, &t.queue, "queue")?),
                    help_topic_id: t
                        .help_topic
                        .as_deref()
                        .map(|h| lookup(&topics, h, "help topic").copied())
                        .transpose()?,
                    assignee_id: t.assignee.as_deref().map(|a| lookup(&users, a, "user").map(|u| u.id)).transpose()?,
                    tags: t.tags.clone(),
                    resolution_due_at: None,
                    attachments: Vec::new(),
                },
            )
            .await
            .with_context(|| format!("opening {:?}", t.subject))?;
        for e in rest {
            clock.set(at(e.hours_ago));
            let author = if e.author == "requester" { customer.clone() } else { staff(&e.author)? };
            match e.kind {
                EntryKind::Note => {
                    d.add_note(&author, opened.id, &e.body).await?;
                }
                _ => {
                    d.reply(&author, opened.id, &e.body, Vec::new(), None).await?;
                }
            }
        }
        let last = t.entries.last().map_or(t.created_hours_ago, |e| e.hours_ago);
        clock.set(at(last) + 60_000);
        let current = d.ticket(&system, opened.id).await?;
        if t.escalated {
            d.update_ticket(&system, opened.id, TicketPatch { escalated: Some(true), ..Default::default() }).await?;
        }
        match (t.status, t.close_reason) {
            (TicketStatus::Closed, Some(reason)) => {
                d.close(&system, opened.id, reason, None).await?;
            }
            (TicketStatus::Closed, None) => return Err(anyhow!("closed ticket {:?} needs a close_reason", t.subject)),
            (status, _) if status != current.status => {
                d.update_ticket(&system, opened.id, TicketPatch { status: Some(status), ..Default::default() }).await?;
            }
            _ => {}
        }
        seeded += 1;
    }
    Ok(Seeded { workspace: ws.slug, users: seed.users, customers, tickets: seeded })
}
