//! Rows for tickets, and the filter and counts of the ticket list.

use switchboard_domain::*;

/// A ticket with the display names of what it points at.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketRecord {
    pub id: TicketId,
    pub workspace_id: WorkspaceId,
    pub number: i64,
    pub ticket_prefix: String,
    pub subject: String,
    #[sqlx(try_from = "String")]
    pub status: TicketStatus,
    #[sqlx(try_from = "String")]
    pub priority: Priority,
    #[sqlx(try_from = "String")]
    pub source: Source,
    pub queue_id: QueueId,
    pub queue_name: String,
    pub help_topic_id: Option<HelpTopicId>,
    pub help_topic_name: Option<String>,
    pub requester_id: ContactId,
    pub requester_name: String,
    pub requester_email: Option<String>,
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    pub tags: String,
    pub escalated: bool,
    pub chat_originated: bool,
    pub thread_key: Option<String>,
    pub first_response_due_at: Option<Millis>,
    pub resolution_due_at: Option<Millis>,
    pub sla_due_at: Option<Millis>,
    pub sla_started_at: Option<Millis>,
    pub first_responded_at: Option<Millis>,
    pub resolved_at: Option<Millis>,
    pub closed_at: Option<Millis>,
    pub close_reason: Option<String>,
    pub close_note: Option<String>,
    pub csat_rating: Option<i64>,
    pub csat_comment: Option<String>,
    pub sla_policy_id: Option<SlaPolicyId>,
    /// Set while the SLA clock is paused (the ticket waits on the customer).
    pub sla_paused_at: Option<Millis>,
    /// Business minutes the clock has spent paused so far.
    pub sla_paused_minutes: i64,
    /// The last message from the requester or staff (automatic messages do not count).
    pub last_message_at: Option<Millis>,
    /// The requester's last message.
    pub last_customer_message_at: Option<Millis>,
    /// When the proactive follow-up last went out.
    pub stale_nudged_at: Option<Millis>,
    /// When the auto-close warning last went out.
    pub auto_close_warned_at: Option<Millis>,
    /// The channel staff replies go out on.
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    /// The channel account that answers the ticket (the one it came in on), when known.
    pub channel_account_id: Option<ChannelAccountId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl TicketRecord {
    /// The ticket number as people see it, e.g. `SD-00012`.
    pub fn display_number(&self) -> String {
        TicketNumber { prefix: self.ticket_prefix.clone(), seq: self.number }.to_string()
    }

    /// The tags as a list.
    pub fn tag_list(&self) -> Vec<String> {
        self.tags.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect()
    }
}

/// What a new ticket row is created with; the store gives it the workspace's next number.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub workspace_id: WorkspaceId,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub source: Source,
    pub queue_id: QueueId,
    pub help_topic_id: Option<HelpTopicId>,
    pub requester_id: ContactId,
    pub assignee_id: Option<UserId>,
    pub escalated: bool,
    pub chat_originated: bool,
    pub thread_key: Option<String>,
    pub first_response_due_at: Option<Millis>,
    pub resolution_due_at: Option<Millis>,
    /// The earliest pending target (see `next_sla_due`).
    pub sla_due_at: Option<Millis>,
    pub sla_policy_id: Option<SlaPolicyId>,
    /// The channel staff replies go out on.
    pub channel: Channel,
    pub created_at: Millis,
    /// Normalized tags; also written to ticket_tags by the caller.
    pub tags: Vec<String>,
}

/// Who a ticket's assignee filter selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssigneeFilter {
    #[default]
    Any,
    Unassigned,
    User(UserId),
}

/// How many tickets match a query: exactly `count`, or, when `capped`, more than `count` (the
/// count stopped there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketTotal {
    /// The matching tickets counted.
    pub count: i64,
    /// Counting stopped at the cap: more tickets match than `count`.
    pub capped: bool,
}

/// The ticket list's filters, as storage applies them (every field narrows).
#[derive(Debug, Clone)]
pub struct TicketQuery {
    pub workspace_id: WorkspaceId,
    pub statuses: Vec<TicketStatus>,
    pub priorities: Vec<Priority>,
    pub assignee: AssigneeFilter,
    pub queue_id: Option<QueueId>,
    pub help_topic_id: Option<HelpTopicId>,
    pub requester_id: Option<ContactId>,
    pub tag: Option<String>,
    pub escalated: Option<bool>,
    /// Whose turn it is; the rule is in `push_ticket_filters`.
    pub awaiting: Option<Awaiting>,
    pub sla: Option<SlaWindow>,
    /// Matches subjects containing this text, or the ticket whose number is `number`.
    pub text: Option<String>,
    pub number: Option<i64>,
    /// Only these tickets (the search engine's matches, which the other filters then narrow).
    pub ids: Option<Vec<TicketId>>,
    /// Keyset cursor: only tickets older than this (created_at, id).
    pub before: Option<(Millis, TicketId)>,
    pub limit: i64,
}

impl TicketQuery {
    /// Every ticket of the workspace, newest first, `limit` at a time.
    pub fn new(workspace_id: WorkspaceId, limit: i64) -> Self {
        Self {
            workspace_id,
            statuses: Vec::new(),
            priorities: Vec::new(),
            assignee: AssigneeFilter::Any,
            queue_id: None,
            help_topic_id: None,
            requester_id: None,
            tag: None,
            escalated: None,
            awaiting: None,
            sla: None,
            text: None,
            number: None,
            ids: None,
            before: None,
            limit,
        }
    }
}
