//! Canned responses rendered against a ticket.

use switchboard_domain::*;
use switchboard_store::*;

use super::follow_ups::template_context;
use crate::{Desk, DeskError, require};

impl Desk {
    /// Renders a canned response against a ticket as the acting staff member would send it.
    pub async fn preview_canned_response(
        &self,
        actor: &Actor,
        id: CannedResponseId,
        ticket: TicketId,
    ) -> Result<String, DeskError> {
        require(actor, Permission::View)?;
        let mut tx = self.store().read().await?;
        let r =
            tx.canned_response_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("canned response"))?;
        let t = tx.ticket_by_id(actor.workspace_id, ticket).await?.ok_or(DeskError::NotFound("ticket"))?;
        self.render_canned(&mut tx, actor, &r, &t).await
    }

    /// Renders the canned response with this shortcut (e.g. `refund-policy`, with or without a
    /// leading `/`) against a ticket: how chat channels and the reply box expand a shortcut. A
    /// response scoped to another help topic than the ticket's is not offered.
    pub async fn render_canned_shortcut(
        &self,
        actor: &Actor,
        shortcut: &str,
        ticket: TicketId,
    ) -> Result<String, DeskError> {
        require(actor, Permission::View)?;
        let wanted = shortcut.trim().trim_start_matches('/');
        let mut tx = self.store().read().await?;
        let t = tx.ticket_by_id(actor.workspace_id, ticket).await?.ok_or(DeskError::NotFound("ticket"))?;
        let r = tx
            .list_canned_responses(actor.workspace_id)
            .await?
            .into_iter()
            .find(|r| r.shortcut.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(wanted)))
            .filter(|r| r.help_topic_id.is_none() || r.help_topic_id == t.help_topic_id)
            .ok_or_else(|| DeskError::invalid("shortcut", format!("no canned response has the shortcut {wanted:?}")))?;
        self.render_canned(&mut tx, actor, &r, &t).await
    }

    async fn render_canned(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        r: &CannedResponseRecord,
        t: &TicketRecord,
    ) -> Result<String, DeskError> {
        let ws = actor.workspace_id;
        let workspace = tx.workspace_by_id(ws).await?;
        let (actor_name, actor_email) = match actor.user_id() {
            Some(u) => match tx.user_by_id(ws, u).await? {
                Some(u) => (u.name, Some(u.email)),
                None => (actor.label.clone(), None),
            },
            None => (actor.label.clone(), None),
        };
        let ctx = template_context(t, &workspace.name, ActorVars { name: actor_name, email: actor_email });
        Ok(render_template(&r.body, &ctx)?)
    }
}
