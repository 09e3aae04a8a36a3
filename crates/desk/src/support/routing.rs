//! Routing rules: the admin's list, and the one place a matched rule's outcome lands on a ticket.

use switchboard_domain::*;

use crate::ops::routing_rule_of;
use crate::{Desk, DeskError, require};

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
}

/// A routing rule as the API shows it.
#[derive(Debug, Clone)]
pub struct RoutingRuleView {
    pub id: RoutingRuleId,
    pub rule: RoutingRule,
    pub created_at: Millis,
    pub updated_at: Millis,
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
}
