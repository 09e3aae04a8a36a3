//! Tickets as staff see them: the ticket, its list (filters, pages, counts per status), opening,
//! patching and bulk updates, and messages ingested from an integrator's channel.

use super::*;

remote_enum!(
    /// Where a ticket is in its life.
    TicketStatus => "d::TicketStatus" { Open, InProgress, Waiting, Resolved, Closed });

remote_enum!(
    /// How urgent a ticket is.
    Priority => "d::Priority" { Low, Normal, High, Urgent });

remote_enum!(
    /// Why a ticket was closed.
    CloseReason => "d::CloseReason" { Resolved, Duplicate, UserUnresponsive, OutOfScope, Spam, Other });

remote_enum!(
    /// Whose turn it is on a ticket that is not resolved or closed.
    Awaiting => "d::Awaiting" { Staff, Customer });

/// The SLA filter of the ticket list.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SlaFilter {
    /// The next SLA target falls today (workspace time zone).
    DueToday,
    /// The next SLA target falls this week (Monday to Sunday, workspace time zone).
    DueThisWeek,
    /// The next SLA target has passed.
    Overdue,
    /// Less than the workspace's at-risk share of the target's time is left (default a quarter).
    AtRisk,
    /// An SLA target was missed (a breach is recorded on the ticket).
    Breached,
}

impl From<SlaFilter> for d::SlaFilter {
    fn from(s: SlaFilter) -> Self {
        match s {
            SlaFilter::DueToday => d::SlaFilter::DueToday,
            SlaFilter::DueThisWeek => d::SlaFilter::DueThisWeek,
            SlaFilter::Overdue => d::SlaFilter::Overdue,
            SlaFilter::AtRisk => d::SlaFilter::AtRisk,
            SlaFilter::Breached => d::SlaFilter::Breached,
        }
    }
}

/// A closed ticket's archived transcript; download its files with the same bearer token.
pub struct Transcript(pub switchboard_desk::ThreadEntry);

#[Object]
impl Transcript {
    /// When it was archived (after the ticket closed).
    async fn archived_at(&self) -> DateTime<Utc> {
        time(self.0.entry.created_at)
    }
    /// The HTML transcript: messages, authors, times, embeds, intake answers and files.
    async fn html(&self) -> Option<Attachment> {
        self.file("text/html")
    }
    /// The same conversation as plain text.
    async fn text(&self) -> Option<Attachment> {
        self.file("text/plain")
    }
}

impl Transcript {
    fn file(&self, content_type: &str) -> Option<Attachment> {
        self.0.attachments.iter().find(|a| a.content_type.starts_with(content_type)).cloned().map(Attachment)
    }
}

/// A ticket, as staff see it.
pub struct Ticket(pub TicketRecord);

#[Object]
impl Ticket {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    /// The number people use, e.g. `SD-00012`.
    async fn number(&self) -> String {
        self.0.display_number()
    }
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    async fn status(&self) -> TicketStatus {
        self.0.status.into()
    }
    async fn priority(&self) -> Priority {
        self.0.priority.into()
    }
    async fn source(&self) -> Source {
        self.0.source.into()
    }
    async fn queue(&self) -> QueueRef {
        QueueRef { id: id(self.0.queue_id.0), name: self.0.queue_name.clone() }
    }
    async fn help_topic(&self) -> Option<HelpTopicRef> {
        self.0
            .help_topic_id
            .map(|h| HelpTopicRef { id: id(h.0), name: self.0.help_topic_name.clone().unwrap_or_default() })
    }
    async fn requester(&self) -> ContactRef {
        ContactRef {
            id: id(self.0.requester_id.0),
            name: self.0.requester_name.clone(),
            email: self.0.requester_email.clone(),
        }
    }
    async fn assignee(&self) -> Option<UserRef> {
        self.0.assignee_id.map(|a| UserRef { id: id(a.0), name: self.0.assignee_name.clone().unwrap_or_default() })
    }
    async fn tags(&self) -> Vec<String> {
        self.0.tag_list()
    }
    async fn escalated(&self) -> bool {
        self.0.escalated
    }
    /// Opened from a chat conversation (a messaging channel, web chat), so agents can spot it.
    async fn chat_originated(&self) -> bool {
        self.0.chat_originated
    }
    async fn first_response_due_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.first_response_due_at)
    }
    async fn resolution_due_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.resolution_due_at)
    }
    /// The next SLA target still pending (what the SLA filters read).
    async fn sla_due_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.sla_due_at)
    }
    async fn first_responded_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.first_responded_at)
    }
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.resolved_at)
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.closed_at)
    }
    async fn close_reason(&self) -> Option<CloseReason> {
        self.0.close_reason.as_deref().and_then(|r| d::CloseReason::parse(r, "closeReason").ok()).map(Into::into)
    }
    async fn close_note(&self) -> Option<&str> {
        self.0.close_note.as_deref()
    }
    async fn csat_rating(&self) -> Option<i64> {
        self.0.csat_rating
    }
    async fn csat_comment(&self) -> Option<&str> {
        self.0.csat_comment.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.0.updated_at)
    }
    /// The conversation, oldest first: public replies, internal notes and system entries.
    #[graphql(complexity = "20 * child_complexity")]
    async fn entries(&self, ctx: &Context<'_>) -> Result<Vec<Entry>, DeskError> {
        Ok(desk(ctx).thread(actor(ctx)?, self.0.id).await?.into_iter().map(Entry).collect())
    }
    /// The transcript archived when the ticket closed (a chat channel's conversation: a
    /// self-contained HTML file and plain text), or null when none was archived.
    async fn transcript(&self, ctx: &Context<'_>) -> Result<Option<Transcript>, DeskError> {
        Ok(desk(ctx).ticket_transcript(actor(ctx)?, self.0.id).await?.map(Transcript))
    }
    /// Every change to the ticket: who, when, which field, from what to what.
    #[graphql(complexity = "20 * child_complexity")]
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<HistoryItem>, DeskError> {
        Ok(desk(ctx).history(actor(ctx)?, self.0.id).await?.into_iter().map(HistoryItem).collect())
    }
    /// The SLA targets this ticket missed (at most one per target).
    #[graphql(complexity = "2 * child_complexity")]
    async fn sla_breaches(&self, ctx: &Context<'_>) -> Result<Vec<SlaBreach>, DeskError> {
        Ok(desk(ctx).sla_breaches(actor(ctx)?, self.0.id).await?.into_iter().map(SlaBreach).collect())
    }
    /// True while the SLA clock stands still (the ticket waits on the customer).
    async fn sla_paused(&self) -> bool {
        self.0.sla_paused_at.is_some()
    }
    /// The SLA policy that set the ticket's targets.
    async fn sla_policy_id(&self) -> Option<ID> {
        self.0.sla_policy_id.map(|p| id(p.0))
    }
}

/// Where the next page starts.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Pass as `after` to get the next page.
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
}

/// A page of tickets with the total matching the filters.
#[derive(SimpleObject)]
pub struct TicketConnection {
    pub nodes: Vec<Ticket>,
    /// With a `search`: where each ticket of `nodes` matched, in the same order (a ticket found
    /// by its number alone has none).
    pub search_matches: Vec<crate::search::TicketSearchMatch>,
    /// All tickets matching the filters, exact up to 1,000: see `totalCountCapped`.
    pub total_count: i64,
    /// True when more tickets match than `totalCount` says (counting stopped at 1,000): show it
    /// as "1,000+". The cap keeps every page as cheap at a million tickets as at a hundred.
    pub total_count_capped: bool,
    pub page_info: PageInfo,
}

/// How many tickets have a status.
#[derive(SimpleObject)]
pub struct StatusCount {
    pub status: TicketStatus,
    /// The tickets with this status, counted up to 10,000: see `countCapped`.
    pub count: i64,
    /// True when more tickets have this status than `count` says (counting stopped at 10,000):
    /// show it as "10,000+".
    pub count_capped: bool,
}

/// The ticket list's filters; all optional, all narrowing.
#[derive(InputObject, Default)]
pub struct TicketFilterInput {
    pub status: Option<Vec<TicketStatus>>,
    pub priority: Option<Vec<Priority>>,
    /// `me`, `unassigned`, or a staff member's id.
    pub assignee: Option<String>,
    pub queue_id: Option<ID>,
    pub help_topic_id: Option<ID>,
    pub tag: Option<String>,
    pub escalated: Option<bool>,
    /// Unresolved tickets only: STAFF when the customer's message is the latest public one and the status is not WAITING, CUSTOMER when the status is WAITING or staff's public reply is the latest (notes and automatic messages do not count).
    pub awaiting: Option<Awaiting>,
    pub sla: Option<SlaFilter>,
    /// Words to find in the subject, every message and internal note, the requester's name and
    /// address, and tags, ranked best first (typos forgiven: one from 5 letters, two from 9), or a
    /// ticket number (`SD-00012`, `#12`). At most 200 characters.
    pub search: Option<String>,
}

/// A new ticket's requester: an existing contact, or an email (the contact is found or created).
#[derive(InputObject)]
pub struct RequesterInput {
    pub contact_id: Option<ID>,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// A ticket opened by staff or an integrator.
#[derive(InputObject)]
pub struct OpenTicketInput {
    pub subject: String,
    /// The requester's description of the problem.
    pub description: Option<String>,
    pub requester: RequesterInput,
    pub priority: Option<Priority>,
    pub source: Option<Source>,
    pub queue_id: Option<ID>,
    pub help_topic_id: Option<ID>,
    pub assignee_id: Option<ID>,
    #[graphql(default)]
    pub tags: Vec<String>,
    pub resolution_due_at: Option<DateTime<Utc>>,
}

/// Changes to a ticket; absent fields stay as they are, `null` clears a clearable one.
#[derive(InputObject, Default)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub assignee_id: MaybeUndefined<ID>,
    pub queue_id: Option<ID>,
    pub help_topic_id: MaybeUndefined<ID>,
    pub tags: Option<Vec<String>>,
    pub escalated: Option<bool>,
    pub resolution_due_at: MaybeUndefined<DateTime<Utc>>,
}

/// The outcome of a bulk update for one ticket.
#[derive(SimpleObject)]
pub struct BulkUpdateResult {
    pub ticket_id: ID,
    /// The updated ticket, when it succeeded.
    pub ticket: Option<Ticket>,
    /// Why it failed, when it did.
    pub error: Option<UserError>,
}

/// A message from an integrator's own channel, ingested idempotently.
#[derive(InputObject)]
pub struct IngestMessageInput {
    /// Your id for this message; sending it again changes nothing.
    pub external_message_id: String,
    /// Your conversation id: messages with the same key land on the same open ticket.
    pub thread_key: Option<String>,
    pub sender_email: String,
    pub sender_name: Option<String>,
    pub subject: Option<String>,
    pub text: String,
}

/// What ingesting a message did.
#[derive(SimpleObject)]
pub struct IngestResult {
    pub ticket: Ticket,
    pub entry_id: ID,
    /// A new ticket was opened.
    pub opened: bool,
    /// The message had been ingested before; nothing changed.
    pub duplicate: bool,
}
