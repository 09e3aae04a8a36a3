//! Routing rules: the admin's list, and the one place a matched rule's outcome lands on a ticket;
//! auto-assignment by the queue's mode (round robin, load balancing).

use switchboard_domain::*;
use switchboard_store::*;

use super::automation::rule_actor;
use crate::{Desk, DeskError, TicketPatch, require};

/// A routing rule as an admin writes it.
#[derive(Debug, Clone)]
pub struct RoutingRuleChange {
    pub name: String,
    pub enabled: bool,
    /// Where it goes in the order; the end when absent.
    pub position: Option<i64>,
    pub join: RuleJoin,
    pub clauses: Vec<RoutingClause>,
    pub actions: Vec<RoutingAction>,
    /// For an update: the rule's version when the form was loaded. A newer one (someone saved
    /// since) is refused; `None` saves over whatever is there (callers from before versions).
    pub version: Option<i64>,
}

/// A routing rule as the API shows it.
#[derive(Debug, Clone)]
pub struct RoutingRuleView {
    pub id: RoutingRuleId,
    pub rule: RoutingRule,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Goes up by one with every save of the rule's form (not with a reorder).
    pub version: i64,
    /// Who saved the rule's form last; unset before its first edit.
    pub updated_by: Option<String>,
}

/// The fields a routing rule decides, as they stand before it acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Routed {
    /// The ticket's queue; `None` for a ticket being opened, which no rule has placed yet, so a
    /// rule that reassigns to a queue drops the assignee the caller or help topic chose.
    pub queue_id: Option<QueueId>,
    pub assignee_id: Option<UserId>,
    pub priority: Priority,
    pub escalated: bool,
    pub tags: Vec<String>,
}

/// What routing rules read of a ticket, the same facts when it opens and when its routed fields
/// change: the subject with the requester's opening message ("text contains" finds a word in
/// either), and the channel the ticket lives in (a chat-skill ticket's source is `chat`, its
/// channel the messaging channel it came in on).
pub(crate) fn routing_facts(
    ticket: &Routed,
    subject: &str,
    description: &str,
    source: Source,
    channel: Channel,
    requester_type: RequesterType,
    help_topic_id: Option<HelpTopicId>,
) -> TicketFacts {
    TicketFacts {
        priority: ticket.priority,
        source,
        channel,
        requester_type,
        help_topic_id,
        tags: ticket.tags.clone(),
        text: format!("{subject}\n{description}"),
    }
}

/// Parses a stored routing rule; a row that no longer parses is skipped (and logged), never fatal.
fn routing_rule_of(r: &RoutingRuleRecord) -> Option<RoutingRule> {
    #[derive(serde::Deserialize)]
    struct Definition {
        join: RuleJoin,
        clauses: Vec<RoutingClause>,
        actions: Vec<RoutingAction>,
    }
    match serde_json::from_str::<Definition>(&r.definition) {
        Ok(d) => Some(RoutingRule {
            name: r.name.clone(),
            enabled: r.enabled,
            position: r.position,
            join: d.join,
            clauses: d.clauses,
            actions: d.actions,
        }),
        Err(e) => {
            tracing::warn!(rule = r.id.0, error = %e, "skipping unreadable routing rule");
            None
        }
    }
}

impl Desk {
    /// The workspace's routing rules in the order they are tried.
    pub async fn routing_rule_list(&self, actor: &Actor) -> Result<Vec<RoutingRuleView>, DeskError> {
        require(actor, Permission::View)?;
        let rows = self.store().read().await?.list_routing_rules(actor.workspace_id).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                routing_rule_of(r).map(|rule| RoutingRuleView {
                    id: r.id,
                    rule,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                    version: r.version,
                    updated_by: r.updated_by.clone(),
                })
            })
            .collect())
    }

    /// Creates or updates a routing rule; validation errors name the clause or action.
    pub async fn save_routing_rule(
        &self,
        actor: &Actor,
        id: Option<RoutingRuleId>,
        input: RoutingRuleChange,
    ) -> Result<RoutingRuleView, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let rule = RoutingRule {
            name: input.name,
            enabled: input.enabled,
            position: input.position.unwrap_or(0),
            join: input.join,
            clauses: input.clauses,
            actions: input.actions,
        }
        .validate()?;
        let mut tx = self.store().write().await?;
        let (queues, users) = rule.references();
        for (field, q) in queues {
            self.check_queue(&mut tx, ws, q, &field).await?;
        }
        for (field, u) in users {
            self.check_assignee(&mut tx, ws, u, &field).await?;
        }
        for (i, c) in rule.clauses.iter().enumerate() {
            if c.field == ClauseField::HelpTopic {
                let id = HelpTopicId(c.value.parse().unwrap_or_default());
                self.check_help_topic(&mut tx, ws, id, &format!("clauses[{i}].value")).await?;
            }
        }
        let existing = tx.list_routing_rules(ws).await?;
        if let Some(id) = id
            && !existing.iter().any(|r| r.id == id)
        {
            return Err(DeskError::NotFound("routing rule"));
        }
        if let Some(id) = id {
            self.take_version(&mut tx, actor, EditedForm::RoutingRule(id), "routing rule", input.version).await?;
        }
        let position = match input.position {
            Some(p) => p,
            None => match id.and_then(|id| existing.iter().find(|r| r.id == id)) {
                Some(r) => r.position,
                None => existing.iter().map(|r| r.position).max().unwrap_or(0) + 10,
            },
        };
        let definition = serde_json::json!({ "join": rule.join, "clauses": rule.clauses, "actions": rule.actions });
        let saved = tx
            .upsert_routing_rule(ws, id, &rule.name, position, rule.enabled, &definition.to_string(), self.now())
            .await?;
        tx.commit().await?;
        Ok(RoutingRuleView {
            id: saved.id,
            rule: RoutingRule { position, ..rule },
            created_at: saved.created_at,
            updated_at: saved.updated_at,
            version: saved.version,
            updated_by: saved.updated_by,
        })
    }

    /// Puts the workspace's routing rules in the given order (every rule named exactly once).
    pub async fn reorder_routing_rules(
        &self,
        actor: &Actor,
        order: &[RoutingRuleId],
    ) -> Result<Vec<RoutingRuleView>, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        let existing = tx.list_routing_rules(ws).await?;
        let mut sorted: Vec<i64> = order.iter().map(|r| r.0).collect();
        sorted.sort_unstable();
        let mut have: Vec<i64> = existing.iter().map(|r| r.id.0).collect();
        have.sort_unstable();
        if sorted != have {
            return Err(DeskError::invalid("ruleIds", "name every routing rule of the workspace exactly once"));
        }
        for (i, id) in order.iter().enumerate() {
            tx.set_routing_rule_position(ws, *id, (i as i64 + 1) * 10).await?;
        }
        tx.commit().await?;
        self.routing_rule_list(actor).await
    }

    /// Deletes a routing rule.
    pub async fn delete_routing_rule(&self, actor: &Actor, id: RoutingRuleId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        if !tx.delete_routing_rule(actor.workspace_id, id).await? {
            return Err(DeskError::NotFound("routing rule"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The workspace's routing rules, in position order.
    pub(crate) async fn routing_rules(&self, tx: &mut Tx, ws: WorkspaceId) -> Result<Vec<RoutingRule>, DeskError> {
        Ok(tx.list_routing_rules(ws).await?.iter().filter_map(routing_rule_of).collect())
    }

    /// Lands a matched rule's outcome on `r`: the one place a routing decision is applied, for a
    /// ticket being opened (on the web, in the portal or from a channel) and for one whose routed
    /// fields changed. A queue or staff member the rule names that is gone (deleted, deactivated)
    /// is skipped with a warning, so a stale rule never blocks the ticket. Returns the queue the
    /// rule moved the ticket to.
    pub(crate) async fn apply_routing_outcome(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        rule: &RoutingRule,
        r: &mut Routed,
    ) -> Result<Option<QueueRecord>, DeskError> {
        let o = rule.outcome();
        let mut moved_to = None;
        if let Some(q) = o.queue_id.filter(|q| Some(*q) != r.queue_id) {
            match tx.queue_by_id(ws, q).await? {
                Some(q) => {
                    r.queue_id = Some(q.id);
                    if o.drop_assignee {
                        r.assignee_id = None;
                    }
                    moved_to = Some(q);
                }
                None => tracing::warn!(rule = %rule.name, queue = q.0, "routing rule names a deleted queue"),
            }
        }
        if let Some(u) = o.assignee_id.filter(|u| Some(*u) != r.assignee_id) {
            match tx.user_by_id(ws, u).await?.filter(|u| u.active) {
                Some(u) => r.assignee_id = Some(u.id),
                None => tracing::warn!(rule = %rule.name, user = u.0, "routing rule names an inactive user"),
            }
        }
        r.priority = o.priority.unwrap_or(r.priority);
        r.escalated |= o.escalate;
        for tag in o.add_tags {
            if !r.tags.contains(&tag) {
                r.tags.push(tag);
            }
        }
        Ok(moved_to)
    }

    /// Routing for a ticket whose routed fields changed: the first matching rule's outcome, as
    /// a patch. Rules act once per change; their own edits do not route the ticket again.
    pub(crate) async fn route_patch(
        &self,
        tx: &mut Tx,
        t: &TicketRecord,
        requester_type: RequesterType,
    ) -> Result<Option<(String, TicketPatch)>, DeskError> {
        let rules = self.routing_rules(tx, t.workspace_id).await?;
        if rules.is_empty() {
            return Ok(None);
        }
        let before = Routed {
            queue_id: Some(t.queue_id),
            assignee_id: t.assignee_id,
            priority: t.priority,
            escalated: t.escalated,
            tags: t.tag_list(),
        };
        // The opening message, as routing read it at open (gone after transcript retention,
        // which only reaches closed tickets, never routed again).
        let description = tx.opening_entry_body(t.workspace_id, t.id).await?.unwrap_or_default();
        let facts =
            routing_facts(&before, &t.subject, &description, t.source, t.channel, requester_type, t.help_topic_id);
        let Some(rule) = first_matching_rule(&rules, &facts) else { return Ok(None) };
        let mut after = before.clone();
        let moved = self.apply_routing_outcome(tx, t.workspace_id, rule, &mut after).await?.is_some();
        // A reassignment leaves the ticket to its new queue's assignment, as on open, even when
        // it had no assignee to drop: `apply_route` reads an unassignment as that signal.
        let reassigned = moved && rule.outcome().drop_assignee && after.assignee_id.is_none();
        let patch = TicketPatch {
            queue_id: after.queue_id.filter(|q| Some(*q) != before.queue_id),
            assignee_id: (after.assignee_id != before.assignee_id || reassigned).then_some(after.assignee_id),
            priority: (after.priority != before.priority).then_some(after.priority),
            escalated: (after.escalated != before.escalated).then_some(after.escalated),
            tags: (after.tags != before.tags).then_some(after.tags),
            ..Default::default()
        };
        Ok(Some((rule.name.clone(), patch)))
    }

    /// Applies a routing rule's patch attributed to the rule.
    pub(crate) async fn apply_route(
        &self,
        tx: &mut Tx,
        t: TicketRecord,
        rule: &str,
        patch: TicketPatch,
    ) -> Result<TicketRecord, DeskError> {
        let actor = rule_actor(t.workspace_id, "Routing rule", rule);
        let reassigned_queue = patch.queue_id.is_some() && patch.assignee_id == Some(None);
        let mut t = self.patch_ticket_quietly(tx, &actor, t, patch).await?;
        if reassigned_queue {
            let queue = tx.queue_by_id(t.workspace_id, t.queue_id).await?.ok_or(DeskError::NotFound("queue"))?;
            if let Some(u) = self.auto_assignee(tx, t.workspace_id, &queue, false).await? {
                let patch = TicketPatch { assignee_id: Some(Some(u.id)), ..Default::default() };
                t = self.patch_ticket_quietly(tx, &actor, t, patch).await?;
            }
        }
        Ok(t)
    }
}

// ---- auto-assignment, inside the transaction of the change that needs an assignee ----

impl Desk {
    /// Who a ticket in `queue` goes to under the queue's assignment mode (or round robin when
    /// `force_round_robin` and the queue is manual), advancing the queue's rotation cursor.
    pub(crate) async fn auto_assignee(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        queue: &QueueRecord,
        force_round_robin: bool,
    ) -> Result<Option<UserRecord>, DeskError> {
        let mode = match queue.assignment_mode {
            AssignmentMode::Manual if force_round_robin => AssignmentMode::RoundRobin,
            m => m,
        };
        if mode == AssignmentMode::Manual {
            return Ok(None);
        }
        // The cursor first: it locks the queue's rotation, so the loads below are the ones left by
        // the assignment before this one.
        let cursor = tx.round_robin_cursor(ws, queue.id).await?;
        let members: Vec<AssignmentCandidate> = tx
            .queue_member_loads(ws, queue.id)
            .await?
            .into_iter()
            .map(|m| AssignmentCandidate {
                user_id: m.user_id,
                on_break: m.on_break,
                weight: m.weight,
                open_assigned: m.open_assigned,
            })
            .collect();
        let Some(pick) = pick_assignee(mode, &members, cursor) else { return Ok(None) };
        tx.set_round_robin_cursor(ws, queue.id, pick).await?;
        Ok(tx.user_by_id(ws, pick).await?)
    }
}
