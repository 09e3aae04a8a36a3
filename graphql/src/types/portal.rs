//! The customer portal's view: a requester's own tickets, with public replies only (no internal
//! notes, history, assignee or routing fields).

use super::*;

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
    /// All tickets matching the filters, exact up to 1,000: see `totalCountCapped`.
    pub total_count: i64,
    /// True when more tickets match than `totalCount` says (counting stopped at 1,000): show it
    /// as "1,000+". The cap keeps every page as cheap at a million tickets as at a hundred.
    pub total_count_capped: bool,
    pub page_info: PageInfo,
}
