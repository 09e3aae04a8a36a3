//! Business-hours calendars: when the SLA clocks of the policies using them run.

use switchboard_domain::*;
use switchboard_store::*;

use crate::{Desk, DeskError, require};

impl Desk {
    /// The workspace's business-hours calendars.
    pub async fn calendars(&self, actor: &Actor) -> Result<Vec<CalendarRecord>, DeskError> {
        require(actor, Permission::View)?;
        Ok(self.store().read().await?.list_calendars(actor.workspace_id).await?)
    }

    /// Deletes a business-hours calendar (admins); refused while an SLA policy counts in it,
    /// naming the policies, since their tickets' targets would silently change meaning.
    pub async fn delete_calendar(&self, actor: &Actor, id: CalendarId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        let mut users: Vec<String> = tx
            .list_sla_policies(ws)
            .await?
            .into_iter()
            .filter(|p| p.calendar_id == Some(id))
            .map(|p| format!("\u{201c}{}\u{201d}", p.name))
            .collect();
        users.sort();
        if !users.is_empty() {
            let (what, verb, them) =
                if users.len() == 1 { ("policy", "counts", "it") } else { ("policies", "count", "them") };
            let names = users.join(", ");
            let message =
                format!("the SLA {what} {names} {verb} in these business hours; give {them} other hours first");
            return Err(DeskError::Conflict(message));
        }
        // A missing calendar has no policies counting in it, so it gets here and is not deleted.
        if !tx.delete_calendar(ws, id).await? {
            return Err(DeskError::NotFound("calendar"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates or updates a business-hours calendar. An update names the `version` its form was
    /// loaded at: a newer one (someone saved since) is refused; `None` saves over whatever is there.
    pub async fn save_calendar(
        &self,
        actor: &Actor,
        id: Option<CalendarId>,
        name: &str,
        spec: &CalendarSpec,
        version: Option<i64>,
    ) -> Result<CalendarRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let name = validate_name("name", name)?;
        let calendar = spec.validate()?;
        let json = serde_json::to_string(&calendar.to_spec()).map_err(|e| DeskError::Internal(e.to_string()))?;
        let mut tx = self.store().write().await?;
        if let Some(id) = id {
            tx.calendar_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("calendar"))?;
            self.take_version(&mut tx, actor, EditedForm::Calendar(id), "calendar", version).await?;
        }
        let r = tx
            .upsert_calendar(actor.workspace_id, id, &name, &json, self.now())
            .await
            .map_err(crate::admin::conflict_as_field("name", "this name"))?;
        tx.commit().await?;
        Ok(r)
    }
}
