//! Rows as storage returns them, and the inputs storage writes.

use switchboard_domain::*;

/// A workspace (tenant).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkspaceRecord {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub ticket_prefix: String,
    pub time_zone: String,
    pub created_at: Millis,
}

/// A staff member.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub password_hash: Option<String>,
    pub active: bool,
    pub created_at: Millis,
    /// Sign-in tokens issued before this no longer work.
    pub sessions_valid_after: Option<Millis>,
}

/// A requester and their channel identities.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactRecord {
    pub id: ContactId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub whatsapp_id: Option<String>,
    pub discord_user_id: Option<String>,
    #[sqlx(try_from = "String")]
    pub requester_type: RequesterType,
    pub business_partner_ref: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: Millis,
    /// Portal sign-in tokens issued before this no longer work.
    pub sessions_valid_after: Option<Millis>,
}

/// What a new contact is created with.
#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub whatsapp_id: Option<String>,
    pub discord_user_id: Option<String>,
    pub requester_type: Option<RequesterType>,
    pub business_partner_ref: Option<String>,
    pub password_hash: Option<String>,
}

/// Which typed identity to look a contact up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    Email,
    Phone,
    Whatsapp,
    Discord,
}

impl IdentityKind {
    /// The contact's own column for identities that are part of the person (email, phone).
    pub(crate) fn column(self) -> Option<&'static str> {
        match self {
            IdentityKind::Email => Some("email"),
            IdentityKind::Phone => Some("phone"),
            IdentityKind::Whatsapp | IdentityKind::Discord => None,
        }
    }

    /// The channel of identities kept in `contact_identities` (any number per contact).
    pub fn channel(self) -> Option<&'static str> {
        match self {
            IdentityKind::Email | IdentityKind::Phone => None,
            IdentityKind::Whatsapp => Some("whatsapp"),
            IdentityKind::Discord => Some("discord"),
        }
    }
}

/// A queue with its open-ticket count.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRecord {
    pub id: QueueId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub is_default: bool,
    #[sqlx(try_from = "String")]
    pub assignment_mode: AssignmentMode,
    pub created_at: Millis,
    /// Goes up by one with every save of the queue's form; a save names the one it started from.
    pub version: i64,
    /// When the form was last saved, and by whom (their label); unset before the first save.
    pub updated_at: Option<Millis>,
    pub updated_by: Option<String>,
}

/// A member of a queue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueMemberRecord {
    pub queue_id: QueueId,
    pub user_id: UserId,
    pub user_name: String,
    pub user_email: String,
    #[sqlx(try_from = "String")]
    pub role: MemberRole,
    pub weight: i64,
    pub on_break: bool,
}

/// A help topic and the defaults it gives new tickets.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HelpTopicRecord {
    pub id: HelpTopicId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub default_priority: Option<String>,
    pub default_queue_id: Option<QueueId>,
    pub default_assignee_id: Option<UserId>,
    pub due_offset_minutes: Option<i64>,
    pub active: bool,
    pub created_at: Millis,
    /// Goes up by one with every save of the topic's form; a save names the one it started from.
    pub version: i64,
    /// When the form was last saved, and by whom (their label); unset before the first save.
    pub updated_at: Option<Millis>,
    pub updated_by: Option<String>,
}

/// A canned response (reply template).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CannedResponseRecord {
    pub id: CannedResponseId,
    pub workspace_id: WorkspaceId,
    pub title: String,
    pub shortcut: Option<String>,
    pub body: String,
    pub help_topic_id: Option<HelpTopicId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

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
    /// The channel account that answers the ticket (a mailbox, a WhatsApp number), when known.
    pub channel_account_id: Option<i64>,
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

/// A thread entry with its author's display name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRecord {
    pub id: EntryId,
    pub ticket_id: TicketId,
    #[sqlx(try_from = "String")]
    pub kind: EntryKind,
    pub author_user_id: Option<UserId>,
    pub author_contact_id: Option<ContactId>,
    pub author_name: Option<String>,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub external_message_id: Option<String>,
    pub body: String,
    pub delivery_status: Option<String>,
    pub delivery_error: Option<String>,
    pub created_at: Millis,
}

/// What a new entry is created with.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub kind: EntryKind,
    pub author_user_id: Option<UserId>,
    pub author_contact_id: Option<ContactId>,
    pub channel: Channel,
    pub external_message_id: Option<String>,
    pub body: String,
    pub delivery_status: Option<DeliveryStatus>,
    pub created_at: Millis,
}

/// A stored file's metadata; the bytes live in the blob store under `sha256`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentRecord {
    pub id: AttachmentId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub entry_id: EntryId,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: Millis,
}

/// One recorded change to a ticket.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRecord {
    pub id: i64,
    pub ticket_id: TicketId,
    pub actor_user_id: Option<UserId>,
    pub actor_contact_id: Option<ContactId>,
    pub actor_label: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: Millis,
}

/// A change to record in a ticket's history.
#[derive(Debug, Clone)]
pub struct NewHistory {
    pub field: &'static str,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// An integrator's API token (never the token itself).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRecord {
    pub id: ApiTokenId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub token_prefix: String,
    pub scopes: String,
    pub created_by: Option<UserId>,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
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

/// A ticket loaded in bulk (imports, benchmarks): the row and its first entry, no history.
#[derive(Debug, Clone)]
pub struct ImportedTicket {
    pub number: i64,
    pub subject: String,
    pub description: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub source: Source,
    pub queue_id: QueueId,
    pub requester_id: ContactId,
    pub thread_key: Option<String>,
    pub sla_due_at: Option<Millis>,
    pub created_at: Millis,
}

/// A business-hours calendar; `spec` is the JSON the API accepts (see `CalendarSpec`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CalendarRecord {
    pub id: CalendarId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub spec: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// The workspace's support-ops settings (defaults when never saved).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkspaceSettingsRecord {
    /// A ticket is "at risk" when less than this share of its SLA target is left.
    pub at_risk_percent: i64,
    /// The saved automation rule array (JSON, already validated).
    pub automation_rules: String,
    /// Notify managers when an SLA target is missed.
    pub alert_sla_breach: bool,
    /// Follow up on open tickets quiet for this many hours (off when `None`).
    pub stale_after_hours: Option<i64>,
    /// The follow-up message; a default when `None`.
    pub stale_message: Option<String>,
    /// Close tickets quiet for this many days (off when `None`).
    pub auto_close_days: Option<i64>,
    /// Warn this many days before an auto-close.
    pub auto_close_warning_days: Option<i64>,
    /// Escalated tickets close after this many days instead.
    pub auto_close_escalated_days: Option<i64>,
    /// Only the requester's messages count as activity.
    pub auto_close_customer_only: bool,
    /// Delete closed tickets' transcripts this many days after close (kept forever when `None`).
    pub transcript_retention_days: Option<i64>,
    /// Ask the requester for a rating once their ticket closes.
    pub csat_request_enabled: bool,
    /// The rating request (a canned-response template); a default when `None`.
    pub csat_request_message: Option<String>,
    /// Ask whether the issue stayed resolved this many days after close (off when `None`).
    pub post_close_follow_up_days: Option<i64>,
    /// The post-close question (a template); a default when `None`.
    pub post_close_follow_up_message: Option<String>,
    /// Alert managers when more tickets than this are unassigned or escalated (off when `None`).
    pub alert_queue_depth: Option<i64>,
    /// Alert managers when the week's satisfied share drops by this many points (off when `None`).
    pub alert_csat_drop_percent: Option<i64>,
    /// Alert managers when more tickets than this escalate within the window (off when `None`).
    pub alert_escalation_spike: Option<i64>,
    /// The escalation-spike window, in minutes.
    pub alert_escalation_window_minutes: i64,
    /// Sent to a requester who rated their ticket 1 or 2 of 5 (a template; none when `None`).
    pub negative_csat_message: Option<String>,
    /// Reopen a ticket its requester rated 1 or 2 of 5.
    pub negative_csat_reopen: bool,
}

impl Default for WorkspaceSettingsRecord {
    fn default() -> Self {
        Self {
            at_risk_percent: 25,
            automation_rules: "[]".into(),
            alert_sla_breach: true,
            stale_after_hours: None,
            stale_message: None,
            auto_close_days: None,
            auto_close_warning_days: None,
            auto_close_escalated_days: None,
            auto_close_customer_only: false,
            transcript_retention_days: None,
            csat_request_enabled: true,
            csat_request_message: None,
            post_close_follow_up_days: None,
            post_close_follow_up_message: None,
            alert_queue_depth: None,
            alert_csat_drop_percent: None,
            alert_escalation_spike: None,
            alert_escalation_window_minutes: 60,
            negative_csat_message: None,
            negative_csat_reopen: false,
        }
    }
}

/// First-response and resolution targets for a priority, optionally one help topic.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlaPolicyRecord {
    pub id: SlaPolicyId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub priority: Priority,
    pub help_topic_id: Option<HelpTopicId>,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    pub calendar_id: Option<CalendarId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What an SLA policy is saved with.
#[derive(Debug, Clone)]
pub struct SlaPolicyInput {
    pub name: String,
    pub priority: Priority,
    pub help_topic_id: Option<HelpTopicId>,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    pub calendar_id: Option<CalendarId>,
}

/// A routing rule; `definition` holds its join, clauses and actions as JSON.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoutingRuleRecord {
    pub id: RoutingRuleId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub position: i64,
    pub enabled: bool,
    pub definition: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A webhook endpoint; the secret stays encrypted here.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRecord {
    pub id: WebhookId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    /// Comma-joined event names.
    pub events: String,
    pub secret_enc: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One event's delivery to one endpoint, with its outcome so far.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookDeliveryRecord {
    pub id: WebhookDeliveryId,
    pub workspace_id: WorkspaceId,
    pub webhook_id: WebhookId,
    pub event: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub response_status: Option<i64>,
    pub latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub delivered_at: Option<Millis>,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone)]
pub struct DeliveryAttempt {
    pub status: &'static str,
    pub next_attempt_at: Millis,
    pub response_status: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub now: Millis,
}

/// A domain event as the dispatcher reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub ticket_id: Option<TicketId>,
    pub kind: String,
    pub payload: String,
    pub created_at: Millis,
    /// The PostgreSQL transaction that wrote it (0 on SQLite): the stream's first sort key.
    pub tx_id: i64,
}

impl EventRecord {
    /// The stream position just after this event.
    pub fn position(&self) -> StreamPosition {
        StreamPosition { tx_id: self.tx_id, id: self.id }
    }
}

/// A consumer's place in the event stream: the last event it took, as (writing transaction,
/// event id), the order events are read in. The start is (0, 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamPosition {
    pub tx_id: i64,
    pub id: i64,
}

/// A ticket with a pending SLA target that has passed, as the breach scan reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverdueTicket {
    pub workspace_id: WorkspaceId,
    pub id: TicketId,
    /// When the scan was due to look at this ticket (its earliest target not yet checked).
    pub sla_next_check_at: Millis,
    pub first_response_due_at: Option<Millis>,
    pub first_responded_at: Option<Millis>,
    pub resolution_due_at: Option<Millis>,
}

/// A missed SLA target.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlaBreachRecord {
    pub ticket_id: TicketId,
    #[sqlx(try_from = "String")]
    pub target: SlaTarget,
    pub due_at: Millis,
    pub detected_at: Millis,
}

/// A message for the workspace's managers.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub workspace_id: WorkspaceId,
    pub kind: String,
    pub ticket_id: Option<TicketId>,
    pub message: String,
    pub created_at: Millis,
}

/// A ticket in the quality review list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QualityFlagRecord {
    pub id: QualityFlagId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    #[sqlx(try_from = "String")]
    pub kind: QualityFlagKind,
    pub reason: String,
    pub created_at: Millis,
    pub resolved_at: Option<Millis>,
    pub resolved_by: Option<UserId>,
}

/// A queue member with their current load, as auto-assignment reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberLoad {
    pub user_id: UserId,
    pub on_break: bool,
    pub weight: i64,
    pub open_assigned: i64,
}

/// A suggested macro: a staff reply that repeats across closed tickets.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MacroSuggestionRecord {
    pub id: MacroSuggestionId,
    pub workspace_id: WorkspaceId,
    pub body: String,
    pub occurrences: i64,
    pub ticket_count: i64,
    pub status: String,
    pub canned_response_id: Option<CannedResponseId>,
    pub created_at: Millis,
    pub decided_at: Option<Millis>,
}

/// A reply waiting for (or done with) delivery by its channel's adapter.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub entry_id: EntryId,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
    pub created_at: Millis,
}

/// A one-time sign-in link to the My Tickets portal, and the state of the email carrying it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerSignInLinkRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    pub token_hash: String,
    /// The token sealed for the email; cleared once the email is sent, given up or the link used.
    pub token_sealed: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
    /// pending, sent or failed.
    pub send_status: String,
    pub send_attempts: i64,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
}

/// An admin form whose saves are checked against the version they were loaded at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditedForm {
    Queue,
    HelpTopic,
}

impl EditedForm {
    /// The table holding the form's rows (with `version`, `updated_at` and `updated_by`).
    pub fn table(self) -> &'static str {
        match self {
            EditedForm::Queue => "queues",
            EditedForm::HelpTopic => "help_topics",
        }
    }
}
