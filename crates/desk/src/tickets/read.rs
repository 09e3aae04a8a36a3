//! Reading tickets: the filtered, paged ticket list (with text search), counts per status, and one
//! ticket by id or number.

use super::*;

/// Largest page of tickets.
pub const MAX_PAGE: i64 = 100;

/// How far a list's total is counted: past it the total reads "1,000+", so a page of a huge queue
/// costs no more than a page of a small one. Counting reads one index entry per ticket: at
/// 1,000,000 tickets on PostgreSQL a count to 10,000 took 4-6 ms of a page's 5 ms budget, to 1,000
/// under 1 ms (bench/results/postgres-1m-pgfix.md).
pub const LIST_TOTAL_CAP: i64 = 1_000;
/// How far each status tile (`ticket_counts`) is counted: tiles are read once per page view, not
/// per page turned, and a queue's tiles saying "10,000+" tell a manager more than "1,000+".
pub const TILE_CAP: i64 = 10_000;

/// The ticket list's filters as a caller states them.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub statuses: Vec<TicketStatus>,
    pub priorities: Vec<Priority>,
    pub assignee: AssigneeChoice,
    pub queue_id: Option<QueueId>,
    pub help_topic_id: Option<HelpTopicId>,
    pub tag: Option<String>,
    pub escalated: Option<bool>,
    /// Whose turn it is (see `Awaiting`); resolved and closed tickets match neither side.
    pub awaiting: Option<Awaiting>,
    pub sla: Option<SlaFilter>,
    pub text: Option<String>,
}

/// The "assigned to" filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssigneeChoice {
    #[default]
    Anyone,
    Me,
    Unassigned,
    User(UserId),
}

/// One page of tickets.
#[derive(Debug, Clone)]
pub struct TicketPage {
    pub tickets: Vec<TicketRecord>,
    /// All tickets matching the filters, across pages, counted up to [`LIST_TOTAL_CAP`].
    pub total: i64,
    /// More tickets match than `total` says: counting stopped at the cap.
    pub total_capped: bool,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// For a text search through the search engine: where each ticket of the page matched.
    pub snippets: Vec<(TicketId, switchboard_search::Snippet)>,
}

fn encode_cursor(t: &TicketRecord) -> String {
    format!("{}.{}", t.created_at, t.id.0)
}

fn decode_cursor(s: &str) -> Result<(Millis, TicketId), DeskError> {
    let bad = || DeskError::invalid("after", "is not a cursor this API returned");
    let (a, b) = s.split_once('.').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, TicketId(b.parse().map_err(|_| bad())?)))
}

impl Desk {
    fn query_for(&self, actor: &Actor, f: &TicketFilter, tz: Tz, at_risk_share: f64) -> Result<TicketQuery, DeskError> {
        let mut q = TicketQuery::new(actor.workspace_id, 25);
        q.statuses = f.statuses.clone();
        q.priorities = f.priorities.clone();
        q.assignee = match f.assignee {
            AssigneeChoice::Anyone => AssigneeFilter::Any,
            AssigneeChoice::Unassigned => AssigneeFilter::Unassigned,
            AssigneeChoice::User(u) => AssigneeFilter::User(u),
            AssigneeChoice::Me => AssigneeFilter::User(
                actor
                    .user_id()
                    .ok_or_else(|| DeskError::invalid("filter.assignee", "\"me\" needs a signed-in staff member"))?,
            ),
        };
        q.queue_id = f.queue_id;
        q.help_topic_id = f.help_topic_id;
        q.tag = f.tag.as_deref().map(|t| normalize_tag("filter.tag", t)).transpose()?;
        q.escalated = f.escalated;
        q.awaiting = f.awaiting;
        q.sla = f.sla.map(|s| sla_window(s, self.now(), tz, at_risk_share));
        if let Some(text) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            if text.chars().count() > 200 {
                return Err(DeskError::invalid("filter.text", "at most 200 characters"));
            }
            q.text = Some(without_nul(text).into_owned());
        }
        Ok(q)
    }

    /// The storage query for a caller's filter, in their workspace's time zone and number form.
    async fn workspace_query(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        filter: &TicketFilter,
    ) -> Result<TicketQuery, DeskError> {
        let w = tx.workspace_by_id(actor.workspace_id).await?;
        let tz = parse_time_zone("timeZone", &w.time_zone).unwrap_or(Tz::UTC);
        // The workspace's at-risk share, read only when the filter needs it.
        let at_risk_percent = match filter.sla {
            Some(SlaFilter::AtRisk) => tx.workspace_settings(actor.workspace_id).await?.at_risk_percent,
            _ => WorkspaceSettingsRecord::default().at_risk_percent,
        };
        let mut q = self.query_for(actor, filter, tz, at_risk_percent as f64 / 100.0)?;
        if let Some(text) = &q.text {
            q.number = TicketNumber::parse_seq(text, &w.ticket_prefix);
        }
        Ok(q)
    }

    /// One page of the workspace's tickets, newest first, with the total. Customers get their own.
    pub async fn list_tickets(
        &self,
        actor: &Actor,
        filter: &TicketFilter,
        first: i64,
        after: Option<&str>,
    ) -> Result<TicketPage, DeskError> {
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(DeskError::invalid("first", format!("must be between 1 and {MAX_PAGE}")));
        }
        let mut tx = self.store().read().await?;
        let mut q = self.workspace_query(&mut tx, actor, filter).await?;
        match actor.requester_scope() {
            Some(c) => q.requester_id = Some(c),
            None => require(actor, Permission::View)?,
        }
        if let (Some(engine), Some(_)) = (self.search_engine().cloned(), &q.text) {
            return self.search_ticket_page(engine.as_ref(), actor, &mut tx, q, first, after).await;
        }
        let before = after.map(decode_cursor).transpose()?;
        let total = tx.count_tickets_up_to(&q, LIST_TOTAL_CAP).await?;
        q.before = before;
        q.limit = first + 1;
        let mut tickets = tx.list_tickets(&q).await?;
        let more = tickets.len() as i64 > first;
        tickets.truncate(first as usize);
        let next_cursor = if more { tickets.last().map(encode_cursor) } else { None };
        Ok(TicketPage { tickets, total: total.count, total_capped: total.capped, next_cursor, snippets: Vec::new() })
    }

    /// Ticket counts per status for the stats tiles, under every filter but status, each counted
    /// up to [`TILE_CAP`].
    pub async fn ticket_counts(
        &self,
        actor: &Actor,
        filter: &TicketFilter,
    ) -> Result<Vec<(TicketStatus, TicketTotal)>, DeskError> {
        require(actor, Permission::View)?;
        let mut tx = self.store().read().await?;
        let mut q = self.workspace_query(&mut tx, actor, filter).await?;
        let mut window_full = false;
        if let (Some(engine), Some(text)) = (self.search_engine().cloned(), q.text.take()) {
            window_full = self.narrow_to_search(engine.as_ref(), actor, &mut tx, &mut q, &text).await?;
        }
        let mut rows = tx.count_tickets_by_status(&q, TILE_CAP).await?;
        for (_, n) in &mut rows {
            n.capped |= window_full;
        }
        let none = TicketTotal { count: 0, capped: false };
        Ok(TicketStatus::ALL
            .iter()
            .map(|s| (*s, rows.iter().find(|(k, _)| k == s.as_str()).map_or(none, |(_, n)| *n)))
            .collect())
    }

    /// A ticket by id, if the actor may see it.
    pub async fn ticket(&self, actor: &Actor, id: TicketId) -> Result<TicketRecord, DeskError> {
        let mut tx = self.store().read().await?;
        self.visible_ticket(&mut tx, actor, id).await
    }

    /// A ticket by its number as people type it (`SD-00012`, `#12`), if the actor may see it.
    pub async fn ticket_by_number(&self, actor: &Actor, number: &str) -> Result<TicketRecord, DeskError> {
        let mut tx = self.store().read().await?;
        let prefix = tx.workspace_by_id(actor.workspace_id).await?.ticket_prefix;
        let seq = TicketNumber::parse_seq(number, &prefix)
            .ok_or_else(|| DeskError::invalid("number", format!("is not a ticket number like {prefix}-00012")))?;
        check_visible(actor, tx.ticket_by_number(actor.workspace_id, seq).await?.ok_or(DeskError::NotFound("ticket"))?)
    }
}
