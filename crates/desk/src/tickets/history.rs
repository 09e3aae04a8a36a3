//! The audit trail: a ticket's history rows and domain events, written in the change's
//! transaction, and reading the history back.

use super::*;

/// History shows times as RFC 3339 UTC, as people and the API read them.
pub(crate) fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(super) fn opt_string<T: ToString>(v: Option<T>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// Collects field changes for the history while a ticket record is edited in memory.
pub(super) struct Changes(pub(super) Vec<NewHistory>);

impl Changes {
    pub(super) fn record(&mut self, field: &'static str, old: Option<String>, new: Option<String>) {
        if old != new {
            self.0.push(NewHistory { field, old_value: old, new_value: new });
        }
    }
}

fn event_payload(t: &TicketRecord, actor: &Actor, extra: serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::json!({
        "ticketId": t.id.0,
        "number": t.display_number(),
        "subject": t.subject,
        "status": t.status.as_str(),
        "priority": t.priority.as_str(),
        "queueId": t.queue_id.0,
        "assigneeId": t.assignee_id.map(|a| a.0),
        "actor": actor.label,
    });
    if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v
}

impl Desk {
    pub(crate) async fn write_history(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        t: &TicketRecord,
        changes: &[NewHistory],
    ) -> Result<(), DeskError> {
        if changes.is_empty() {
            return Ok(());
        }
        tx.insert_history(t.workspace_id, t.id, actor.user_id(), actor.contact_id(), &actor.label, changes, self.now())
            .await?;
        Ok(())
    }

    pub(crate) async fn emit_event(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        t: &TicketRecord,
        kind: EventKind,
        extra: serde_json::Value,
    ) -> Result<(), DeskError> {
        tx.insert_event(t.workspace_id, Some(t.id), kind, &event_payload(t, actor, extra), self.now()).await?;
        Ok(())
    }

    /// The ticket's change history (staff only).
    pub async fn history(&self, actor: &Actor, ticket: TicketId) -> Result<Vec<HistoryRecord>, DeskError> {
        require(actor, Permission::View)?;
        let mut tx = self.store().read().await?;
        let t = self.visible_ticket(&mut tx, actor, ticket).await?;
        Ok(tx.list_history(t.workspace_id, t.id).await?)
    }
}
