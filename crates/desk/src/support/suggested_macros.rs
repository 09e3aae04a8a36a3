//! Suggested macros (the seed's name for the feature): staff replies repeated across resolved
//! tickets (closed or not yet), offered to admins as canned responses.

use switchboard_domain::*;
use switchboard_store::*;

use crate::{Desk, DeskError, require};

/// How far back the daily scan looks for resolved tickets.
const SUGGESTION_WINDOW_DAYS: i64 = 30;

impl Desk {
    /// Finds staff replies repeated in at least three messages across two or more tickets resolved
    /// in the last 30 days (closed or still waiting to close: the reply did its work either way),
    /// in every workspace, and offers them to admins as canned responses. Replies under
    /// [`MIN_SUGGESTED_REPLY_CHARS`] are left out. Never creates a canned response by itself.
    /// Returns how many texts are on offer after the scan.
    pub async fn scan_macro_suggestions(&self) -> Result<usize, DeskError> {
        let now = self.now();
        let since = now - SUGGESTION_WINDOW_DAYS * 24 * 3_600_000;
        let mut offered = 0;
        for ws in self.store().read().await?.workspace_ids().await? {
            let replies = self.store().read().await?.staff_replies_on_resolved(ws, since, 20_000).await?;
            let repeated = repeated_replies(&replies);
            if repeated.is_empty() {
                continue;
            }
            let mut tx = self.store().write().await?;
            for r in &repeated {
                tx.upsert_macro_suggestion(ws, &r.fingerprint, &r.body, r.occurrences as i64, r.tickets as i64, now)
                    .await?;
            }
            tx.commit().await?;
            offered += repeated.len();
        }
        Ok(offered)
    }

    /// Suggested macros waiting for a decision, most repeated first.
    pub async fn macro_suggestions(&self, actor: &Actor) -> Result<Vec<MacroSuggestionRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(self.store().read().await?.pending_macro_suggestions(actor.workspace_id).await?)
    }

    /// Turns a suggestion into a canned response with the given title and shortcut.
    pub async fn accept_macro_suggestion(
        &self,
        actor: &Actor,
        id: MacroSuggestionId,
        title: &str,
        shortcut: &str,
    ) -> Result<CannedResponseRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let suggestion = self
            .store()
            .read()
            .await?
            .macro_suggestion(actor.workspace_id, id)
            .await?
            .filter(|s| s.status == SuggestionStatus::Pending)
            .ok_or(DeskError::NotFound("pending macro suggestion"))?;
        let input = crate::CannedResponseInput {
            title: title.to_string(),
            shortcut: Some(shortcut.to_string()),
            body: suggestion.body,
            help_topic_id: None,
            version: None,
        };
        let canned = self.save_canned_response(actor, None, input).await?;
        let mut tx = self.store().write().await?;
        tx.decide_macro_suggestion(actor.workspace_id, id, SuggestionStatus::Accepted, Some(canned.id), self.now())
            .await?;
        tx.commit().await?;
        Ok(canned)
    }

    /// Hides a suggestion for good.
    pub async fn dismiss_macro_suggestion(&self, actor: &Actor, id: MacroSuggestionId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        tx.decide_macro_suggestion(actor.workspace_id, id, SuggestionStatus::Dismissed, None, self.now())
            .await?
            .ok_or(DeskError::NotFound("pending macro suggestion"))?;
        tx.commit().await?;
        Ok(())
    }
}
