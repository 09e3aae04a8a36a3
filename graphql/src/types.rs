//! GraphQL object types. Staff and customers get different ticket types: a customer's never
//! carries internal notes, history, assignee or routing fields.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, TimeZone, Utc};
use switchboard_desk::domain::{self as d, Millis, Permission};
use switchboard_desk::store::*;
use switchboard_desk::{DeskError, ThreadEntry};

use crate::support::SlaBreach;
use crate::{actor, desk};

/// Turns stored milliseconds into a GraphQL DateTime.
pub(crate) fn time(ms: Millis) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(crate) fn time_opt(ms: Option<Millis>) -> Option<DateTime<Utc>> {
    ms.map(time)
}

pub(crate) fn id(n: i64) -> ID {
    ID(n.to_string())
}

macro_rules! remote_enum {
    ($(#[$doc:meta])* $name:ident => $remote:literal { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
        #[graphql(remote = $remote)]
        pub enum $name { $($variant),+ }
    };
}
pub(crate) use remote_enum;

remote_enum!(
    /// Where a ticket is in its life.
    TicketStatus => "d::TicketStatus" { Open, InProgress, Waiting, Resolved, Closed });
remote_enum!(
    /// How urgent a ticket is.
    Priority => "d::Priority" { Low, Normal, High, Urgent });
remote_enum!(
    /// How a ticket reached the desk.
    Source => "d::Source" { Portal, Email, Phone, Chat, Api, Discord, Whatsapp });
remote_enum!(
    /// The transport an entry travelled on.
    Channel => "d::Channel" { Web, Portal, Email, Whatsapp, Discord, Api, Phone });
remote_enum!(
    /// Public reply, internal note, or system event.
    EntryKind => "d::EntryKind" { Reply, Note, System });
remote_enum!(
    /// A staff member's role.
    Role => "d::Role" { Agent, Supervisor, Admin });
remote_enum!(
    /// How a requester is typed.
    RequesterType => "d::RequesterType" { BusinessPartner, Account, Manual });
remote_enum!(
    /// Why a ticket was closed.
    CloseReason => "d::CloseReason" { Resolved, Duplicate, UserUnresponsive, OutOfScope, Spam, Other });
remote_enum!(
    /// A queue member's role.
    MemberRole => "d::MemberRole" { Member, Lead });
remote_enum!(
    /// How new tickets in a queue get an assignee.
    AssignmentMode => "d::AssignmentMode" { Manual, RoundRobin, LoadBalanced });

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

/// A workspace (tenant).
pub struct Workspace(pub WorkspaceRecord);

#[Object]
impl Workspace {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Prefix of ticket numbers, e.g. `SD` in `SD-00012`.
    async fn ticket_prefix(&self) -> &str {
        &self.0.ticket_prefix
    }
    /// IANA time zone the SLA views are computed in.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
}

/// A staff member.
pub struct User(pub UserRecord);

#[Object]
impl User {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The permission keys the role grants.
    async fn permissions(&self) -> Vec<&'static str> {
        Permission::for_role(self.0.role).iter().map(|p| p.key()).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
}

/// A requester.
pub struct Contact(pub ContactRecord);

#[Object]
impl Contact {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn whatsapp_id(&self) -> Option<&str> {
        self.0.whatsapp_id.as_deref()
    }
    async fn discord_user_id(&self) -> Option<&str> {
        self.0.discord_user_id.as_deref()
    }
    async fn requester_type(&self) -> RequesterType {
        self.0.requester_type.into()
    }
    async fn business_partner_ref(&self) -> Option<&str> {
        self.0.business_partner_ref.as_deref()
    }
    /// True when the contact can sign in to the My Tickets portal.
    async fn has_portal_access(&self) -> bool {
        self.0.password_hash.is_some()
    }
}

/// A short reference to a staff member.
#[derive(SimpleObject)]
pub struct UserRef {
    pub id: ID,
    pub name: String,
}

/// A short reference to a requester.
#[derive(SimpleObject)]
pub struct ContactRef {
    pub id: ID,
    pub name: String,
    pub email: Option<String>,
}

/// A short reference to a queue.
#[derive(SimpleObject)]
pub struct QueueRef {
    pub id: ID,
    pub name: String,
}

/// A short reference to a help topic.
#[derive(SimpleObject)]
pub struct HelpTopicRef {
    pub id: ID,
    pub name: String,
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
    /// Opened from a chat conversation (WhatsApp, web chat), so agents can spot it.
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

/// A file attached to an entry; download it from `url` with the same bearer token.
pub struct Attachment(pub AttachmentRecord);

#[Object]
impl Attachment {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    async fn url(&self) -> String {
        format!("/attachments/{}", self.0.id.0)
    }
}

/// An entry of a ticket's thread, as staff see it.
pub struct Entry(pub ThreadEntry);

#[Object]
impl Entry {
    async fn id(&self) -> ID {
        id(self.0.entry.id.0)
    }
    async fn kind(&self) -> EntryKind {
        self.0.entry.kind.into()
    }
    /// True for internal notes and system entries: never shown to the requester.
    async fn internal(&self) -> bool {
        self.0.entry.kind != d::EntryKind::Reply
    }
    async fn body(&self) -> &str {
        &self.0.entry.body
    }
    async fn channel(&self) -> Channel {
        self.0.entry.channel.into()
    }
    async fn author_name(&self) -> Option<&str> {
        self.0.entry.author_name.as_deref()
    }
    /// The staff author, for replies and notes written by staff.
    async fn author_user_id(&self) -> Option<ID> {
        self.0.entry.author_user_id.map(|u| id(u.0))
    }
    /// The requester author, for messages from the customer.
    async fn author_contact_id(&self) -> Option<ID> {
        self.0.entry.author_contact_id.map(|c| id(c.0))
    }
    async fn external_message_id(&self) -> Option<&str> {
        self.0.entry.external_message_id.as_deref()
    }
    /// For replies delivered through a channel: pending, sent, delivered, read or failed.
    async fn delivery_status(&self) -> Option<&str> {
        self.0.entry.delivery_status.as_deref()
    }
    async fn delivery_error(&self) -> Option<&str> {
        self.0.entry.delivery_error.as_deref()
    }
    /// Staff mentioned with `@handle` in a note.
    async fn mentions(&self) -> Vec<ID> {
        self.0.mentions.iter().map(|u| id(u.0)).collect()
    }
    async fn attachments(&self) -> Vec<Attachment> {
        self.0.attachments.iter().cloned().map(Attachment).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.entry.created_at)
    }
}

/// One recorded change to a ticket.
pub struct HistoryItem(pub HistoryRecord);

#[Object]
impl HistoryItem {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// Who made the change, as shown (a staff member's name, an API token, "System").
    async fn actor(&self) -> &str {
        &self.0.actor_label
    }
    async fn actor_user_id(&self) -> Option<ID> {
        self.0.actor_user_id.map(|u| id(u.0))
    }
    async fn field(&self) -> &str {
        &self.0.field
    }
    async fn old_value(&self) -> Option<&str> {
        self.0.old_value.as_deref()
    }
    async fn new_value(&self) -> Option<&str> {
        self.0.new_value.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
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
    /// All tickets matching the filters, counted up to 10,000: see `totalCountCapped`.
    pub total_count: i64,
    /// True when more tickets match than `totalCount` says (counting stopped at 10,000): show
    /// it as "10,000+".
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

/// A queue and its settings.
pub struct Queue(pub QueueRecord);

#[Object]
impl Queue {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// New tickets land here when nothing else decides.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
    async fn assignment_mode(&self) -> AssignmentMode {
        self.0.assignment_mode.into()
    }
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<QueueMember>, DeskError> {
        Ok(desk(ctx).queue_members(actor(ctx)?, self.0.id).await?.into_iter().map(QueueMember).collect())
    }
    /// Goes up with every save; send it back as `QueueInput.version` so a save over someone
    /// else's newer one is refused instead of undoing it.
    async fn version(&self) -> i64 {
        self.0.version
    }
    /// When the queue was last saved; absent before its first edit.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated_at.map(time)
    }
    /// Who last saved the queue, as history names them.
    async fn updated_by(&self) -> Option<&str> {
        self.0.updated_by.as_deref()
    }
}

/// A staff member's place in a queue.
pub struct QueueMember(pub QueueMemberRecord);

#[Object]
impl QueueMember {
    async fn user(&self) -> UserRef {
        UserRef { id: id(self.0.user_id.0), name: self.0.user_name.clone() }
    }
    async fn email(&self) -> &str {
        &self.0.user_email
    }
    async fn role(&self) -> MemberRole {
        self.0.role.into()
    }
    /// Breaks ties in assignment: higher goes first.
    async fn weight(&self) -> i64 {
        self.0.weight
    }
    /// Skipped by automatic assignment while true.
    async fn on_break(&self) -> bool {
        self.0.on_break
    }
}

/// A help topic and the defaults it gives new tickets.
pub struct HelpTopic(pub HelpTopicRecord);

#[Object]
impl HelpTopic {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn default_priority(&self) -> Option<Priority> {
        self.0.default_priority.as_deref().and_then(|p| d::Priority::parse(p, "defaultPriority").ok()).map(Into::into)
    }
    async fn default_queue_id(&self) -> Option<ID> {
        self.0.default_queue_id.map(|q| id(q.0))
    }
    async fn default_assignee_id(&self) -> Option<ID> {
        self.0.default_assignee_id.map(|u| id(u.0))
    }
    /// Resolution due this many minutes after opening.
    async fn due_offset_minutes(&self) -> Option<i64> {
        self.0.due_offset_minutes
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Goes up with every save; send it back as `HelpTopicInput.version` so a save over someone
    /// else's newer one is refused instead of undoing it.
    async fn version(&self) -> i64 {
        self.0.version
    }
    /// When the topic was last saved; absent before its first edit.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated_at.map(time)
    }
    /// Who last saved the topic, as history names them.
    async fn updated_by(&self) -> Option<&str> {
        self.0.updated_by.as_deref()
    }
}

/// A reply template.
pub struct CannedResponse(pub CannedResponseRecord);

#[Object]
impl CannedResponse {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Typed in chat channels to insert the response, e.g. `refund-policy`.
    async fn shortcut(&self) -> Option<&str> {
        self.0.shortcut.as_deref()
    }
    /// The template, with variables such as `{{ticket.number}}`.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Limits the response to one help topic; global when absent.
    async fn help_topic_id(&self) -> Option<ID> {
        self.0.help_topic_id.map(|h| id(h.0))
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.0.updated_at)
    }
}

/// An integrator's API token (the token itself is shown only once, at creation).
pub struct ApiToken(pub ApiTokenRecord);

#[Object]
impl ApiToken {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the token, to recognise it.
    async fn prefix(&self) -> &str {
        &self.0.token_prefix
    }
    async fn scopes(&self) -> Vec<&str> {
        self.0.scopes.split(',').filter(|s| !s.is_empty()).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.last_used_at)
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.revoked_at)
    }
}

/// A ticket as its requester sees it on the portal: no internal notes, history or routing.
pub struct MyTicket(pub TicketRecord);

#[Object]
impl MyTicket {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
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
    async fn help_topic(&self) -> Option<String> {
        self.0.help_topic_name.clone()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.0.updated_at)
    }
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.resolved_at)
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.closed_at)
    }
    async fn csat_rating(&self) -> Option<i64> {
        self.0.csat_rating
    }
    /// The public conversation, oldest first.
    #[graphql(complexity = "20 * child_complexity")]
    async fn entries(&self, ctx: &Context<'_>) -> Result<Vec<PublicEntry>, DeskError> {
        let a = actor(ctx)?;
        let me = a.contact_id();
        Ok(desk(ctx)
            .thread(a, self.0.id)
            .await?
            .into_iter()
            .filter(|e| e.entry.kind == d::EntryKind::Reply)
            .map(|e| PublicEntry { from_me: me.is_some() && e.entry.author_contact_id == me, entry: e })
            .collect())
    }
}

/// A public reply as the requester sees it.
pub struct PublicEntry {
    pub entry: ThreadEntry,
    pub from_me: bool,
}

#[Object]
impl PublicEntry {
    async fn id(&self) -> ID {
        id(self.entry.entry.id.0)
    }
    async fn body(&self) -> &str {
        &self.entry.entry.body
    }
    /// True for the requester's own messages.
    async fn from_me(&self) -> bool {
        self.from_me
    }
    async fn author_name(&self) -> Option<&str> {
        self.entry.entry.author_name.as_deref()
    }
    async fn attachments(&self) -> Vec<Attachment> {
        self.entry.attachments.iter().cloned().map(Attachment).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.entry.entry.created_at)
    }
}

/// A page of the requester's own tickets.
#[derive(SimpleObject)]
pub struct MyTicketConnection {
    pub nodes: Vec<MyTicket>,
    /// With a `search`: where each ticket of `nodes` matched, in the same order (a ticket found
    /// by its number alone has none).
    pub search_matches: Vec<crate::search::TicketSearchMatch>,
    /// All tickets matching the filters, counted up to 10,000: see `totalCountCapped`.
    pub total_count: i64,
    /// True when more tickets match than `totalCount` says (counting stopped at 10,000): show
    /// it as "10,000+".
    pub total_count_capped: bool,
    pub page_info: PageInfo,
}

/// Who is calling.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Viewer {
    /// `user`, `contact` or `api_token`.
    pub kind: String,
    pub name: String,
    /// Permission keys held (none for customers).
    pub permissions: Vec<String>,
    pub user_id: Option<ID>,
    pub contact_id: Option<ID>,
    /// Read by `me` when a password field is asked for.
    #[graphql(skip)]
    pub password: Option<switchboard_desk::PasswordState>,
}

#[ComplexObject]
impl Viewer {
    async fn workspace(&self, ctx: &Context<'_>) -> Result<Workspace, DeskError> {
        Ok(Workspace(desk(ctx).workspace(actor(ctx)?).await?))
    }

    /// Whether the caller has a password to sign in with; customers who only use emailed
    /// links have none until they set one with `changePassword`.
    async fn has_password(&self) -> bool {
        self.password.is_some_and(|p| p.has_password)
    }

    /// Whether `changePassword` needs the current password: not for 15 minutes after a
    /// customer signs in with an emailed link (a forgotten password is reset that way).
    async fn current_password_required(&self) -> bool {
        self.password.is_none_or(|p| p.current_required)
    }
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
pub struct TicketPatchInput {
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

/// The outcome of a bulk update for one ticket.
#[derive(SimpleObject)]
pub struct BulkUpdateResult {
    pub ticket_id: ID,
    /// The updated ticket, when it succeeded.
    pub ticket: Option<Ticket>,
    /// Why it failed, when it did.
    pub error: Option<UserError>,
}

/// An error reported inside a successful response (bulk results).
#[derive(SimpleObject)]
pub struct UserError {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl From<DeskError> for UserError {
    fn from(e: DeskError) -> Self {
        let c = crate::errors::coded(&e);
        UserError { code: c.code.as_str().into(), message: c.message, field: c.field }
    }
}

/// A signed-in staff member's token.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// A signed-in customer's token.
#[derive(SimpleObject)]
pub struct CustomerLoginPayload {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub contact: Contact,
}

/// A fresh session after a password change: the token to use from now on.
#[derive(SimpleObject)]
pub struct Session {
    /// Send as `Authorization: Bearer <token>`; the caller's earlier tokens no longer work.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// A new API token: `token` is shown this once.
#[derive(SimpleObject)]
pub struct CreatedApiToken {
    pub token: String,
    pub api_token: ApiToken,
}

/// A staff member as an admin writes them.
#[derive(InputObject)]
pub struct UserInput {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: Option<String>,
}

/// Changes to a staff member.
#[derive(InputObject)]
pub struct UserPatchInput {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

/// A contact as staff write it.
#[derive(InputObject)]
pub struct ContactInput {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub requester_type: Option<RequesterType>,
    pub business_partner_ref: Option<String>,
    /// Gives the contact a portal sign-in.
    pub portal_password: Option<String>,
}

/// A queue as an admin writes it.
#[derive(InputObject)]
pub struct QueueInput {
    pub name: String,
    #[graphql(default_with = "AssignmentMode::Manual")]
    pub assignment_mode: AssignmentMode,
    #[graphql(default)]
    pub is_default: bool,
    /// The queue's `version` when the form was loaded, for an update: a save over a newer
    /// version is refused with CONFLICT naming who saved it and when. Without it the save
    /// applies whatever was saved since (as before versions existed).
    pub version: Option<i64>,
}

/// A help topic as an admin writes it.
#[derive(InputObject)]
pub struct HelpTopicInput {
    pub name: String,
    pub default_priority: Option<Priority>,
    pub default_queue_id: Option<ID>,
    pub default_assignee_id: Option<ID>,
    pub due_offset_minutes: Option<i64>,
    #[graphql(default = true)]
    pub active: bool,
    /// The topic's `version` when the form was loaded, for an update: a save over a newer
    /// version is refused with CONFLICT naming who saved it and when. Without it the save
    /// applies whatever was saved since (as before versions existed).
    pub version: Option<i64>,
}

/// A canned response as an admin writes it.
#[derive(InputObject)]
pub struct CannedResponseInput {
    pub title: String,
    pub shortcut: Option<String>,
    pub body: String,
    pub help_topic_id: Option<ID>,
}
