//! Automation rules: the rule array an admin saves, checked rule by rule, and running them on the
//! events of a ticket change.

use switchboard_domain::*;
use switchboard_store::*;

use crate::{Desk, DeskError, FormVersion, TicketPatch, require};

/// The outcome of saving the automation rule array.
#[derive(Debug, Clone)]
pub struct AutomationSave {
    /// The rules now in force.
    pub rules: Vec<AutomationRule>,
    /// One report per submitted rule.
    pub reports: Vec<RuleReport>,
    /// False when nothing was saved because a rule was invalid (and invalid rules were not to be dropped).
    pub saved: bool,
    /// Where the rules' form stands now: the version taken by this save, or the current one when
    /// nothing was saved.
    pub version: FormVersion,
}

impl Desk {
    /// The automation rules in force.
    pub async fn automation_rules(&self, actor: &Actor) -> Result<Vec<AutomationRule>, DeskError> {
        require(actor, Permission::View)?;
        let s = self.store().read().await?.workspace_settings(actor.workspace_id).await?;
        serde_json::from_str(&s.automation_rules).map_err(|e| DeskError::Internal(e.to_string()))
    }

    /// Saves the automation rule array (the seed's JSON format) and reports on every rule. With
    /// `drop_invalid` the valid rules are saved and the invalid ones left out, as the seed does;
    /// without it an invalid rule saves nothing, so no rule is lost unnoticed. `version` is the
    /// rules form's (see [`Desk::settings_version`]): a newer one is refused, `None` saves over
    /// whatever is there.
    pub async fn save_automation_rules(
        &self,
        actor: &Actor,
        json: &str,
        drop_invalid: bool,
        version: Option<i64>,
    ) -> Result<AutomationSave, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let mut parsed = parse_automation_rules(json)?;
        let mut tx = self.store().write().await?;
        let topics = tx.list_help_topics(ws).await?;
        // A rule scoped to a help topic that does not exist would never fire: say so. A slug (the
        // seed's `"ticketTypeId": "billing"`) is kept as the topic's id, so the rule stays on
        // the topic when it is renamed.
        for report in parsed.reports.iter_mut().filter(|r| r.errors.is_empty()) {
            let Some(rule) = parsed.rules.iter_mut().find(|r| Some(&r.id) == report.id.as_ref()) else { continue };
            let Some(scope) = &rule.ticket_type_id else { continue };
            let field = format!("rules[{}].ticketTypeId", report.index);
            if topics.iter().any(|h| h.id.0.to_string() == *scope) {
                continue;
            }
            let by_slug: Vec<&HelpTopicRecord> = topics.iter().filter(|h| help_topic_slug(&h.name) == *scope).collect();
            match by_slug.as_slice() {
                [one] => rule.ticket_type_id = Some(one.id.0.to_string()),
                [] => report
                    .errors
                    .push(ValidationError::new(field, "no help topic with this id or slug in the workspace")),
                _ => report
                    .errors
                    .push(ValidationError::new(field, "several help topics have this slug; give the topic's id")),
            }
        }
        let valid: Vec<AutomationRule> = parsed
            .rules
            .into_iter()
            .filter(|r| parsed.reports.iter().any(|p| p.id.as_ref() == Some(&r.id) && p.errors.is_empty()))
            .collect();
        let all_valid = parsed.reports.iter().all(|r| r.errors.is_empty());
        if !all_valid && !drop_invalid {
            let current = tx.workspace_settings(ws).await?;
            let rules = serde_json::from_str(&current.automation_rules).unwrap_or_default();
            let version =
                crate::admin::settings_version_of(tx.settings_version(SettingsForm::AutomationRules, ws).await?);
            return Ok(AutomationSave { rules, reports: parsed.reports, saved: false, version });
        }
        let mut settings = tx.workspace_settings_for_update(ws).await?;
        let version = self.take_settings_version(&mut tx, actor, SettingsForm::AutomationRules, version).await?;
        settings.automation_rules = serde_json::to_string(&valid).map_err(|e| DeskError::Internal(e.to_string()))?;
        tx.save_workspace_settings(ws, &settings, self.now()).await?;
        tx.commit().await?;
        Ok(AutomationSave { rules: valid, reports: parsed.reports, saved: true, version })
    }
}

// ---- running the rules, inside the transaction of the change that triggered them ----

/// The label history and events use for changes made by a rule.
pub(crate) fn rule_actor(ws: WorkspaceId, what: &str, name: &str) -> Actor {
    let mut a = Actor::system(ws);
    a.label = format!("{what} \u{201c}{name}\u{201d}");
    a
}

impl Desk {
    /// Runs the automation rules for each of `events` on `t` and applies what they plan, each
    /// action as a change attributed to its rule (so an escalation's reason names the rule).
    /// Returns the ticket as saved.
    pub(crate) async fn run_automation(
        &self,
        tx: &mut Tx,
        mut t: TicketRecord,
        events: &[AutomationEvent],
    ) -> Result<TicketRecord, DeskError> {
        let ws = t.workspace_id;
        let settings = tx.workspace_settings(ws).await?;
        let rules: Vec<AutomationRule> = match serde_json::from_str(&settings.automation_rules) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(workspace = ws.0, error = %e, "skipping unreadable automation rules");
                return Ok(t);
            }
        };
        if rules.is_empty() {
            return Ok(t);
        }
        let mut plan = Vec::new();
        for event in events {
            plan.extend(plan_automation(&rules, event.clone(), t.help_topic_id, t.escalated));
        }
        for step in plan {
            let actor = rule_actor(ws, "Automation rule", &step.rule_name);
            let mut patch = TicketPatch::default();
            match step.action {
                AutomationAction::AddTag { tag } => {
                    let mut tags = t.tag_list();
                    if tags.contains(&tag) {
                        continue;
                    }
                    tags.push(tag);
                    patch.tags = Some(tags);
                }
                AutomationAction::Escalate => patch.escalated = Some(true),
                AutomationAction::SetPriority { priority } => patch.priority = Some(priority),
                AutomationAction::AssignRoundRobin => {
                    if t.assignee_id.is_some() {
                        continue;
                    }
                    let queue = tx.queue_by_id(ws, t.queue_id).await?.ok_or(DeskError::NotFound("queue"))?;
                    match self.auto_assignee(tx, ws, &queue, true).await? {
                        Some(u) => patch.assignee_id = Some(Some(u.id)),
                        None => continue,
                    }
                }
                AutomationAction::Notify { message } => {
                    let text = message
                        .unwrap_or_else(|| format!("{}: {} ({})", step.rule_name, t.subject, t.display_number()));
                    tx.insert_notification(ws, NotificationKind::Automation, Some(t.id), &text, self.now()).await?;
                    continue;
                }
            }
            t = self.patch_ticket_quietly(tx, &actor, t, patch).await?;
        }
        Ok(t)
    }
}
