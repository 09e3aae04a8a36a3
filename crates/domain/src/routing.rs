//! Routing rules and auto-assignment: which queue and which person a ticket lands with.

use serde::{Deserialize, Serialize};

use crate::{
    AssignmentMode, Channel, ClauseField, ClauseOp, HelpTopicId, Priority, QueueId, RequesterType, RuleJoin, Source,
    UserId, ValidationError, normalize_tag,
};

/// Longest rule name.
pub const MAX_RULE_NAME_CHARS: usize = 80;
/// Longest "text contains" value.
pub const MAX_MATCH_CHARS: usize = 200;
/// Most clauses in one routing rule.
pub const MAX_CLAUSES: usize = 20;
/// Most actions in one rule.
pub const MAX_ACTIONS: usize = 10;

/// What routing and automation rules read of a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketFacts {
    pub priority: Priority,
    pub source: Source,
    pub channel: Channel,
    pub requester_type: RequesterType,
    pub help_topic_id: Option<HelpTopicId>,
    pub tags: Vec<String>,
    /// The subject and the message being routed; "text contains" searches it.
    pub text: String,
}

/// One condition of a routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingClause {
    pub field: ClauseField,
    pub op: ClauseOp,
    pub value: String,
}

/// Ids an input names, each with the field that named it.
pub type FieldRefs<T> = Vec<(String, T)>;

/// What a matching routing rule does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RoutingAction {
    /// Puts the ticket in a queue, keeping its assignee.
    AssignToQueue {
        #[serde(rename = "queueId")]
        queue_id: QueueId,
    },
    /// Assigns the ticket to a staff member.
    AssignToUser {
        #[serde(rename = "userId")]
        user_id: UserId,
    },
    /// Escalates the ticket.
    Escalate,
    /// Moves the ticket to another queue and drops its assignee, so that queue's assignment applies.
    ReassignQueue {
        #[serde(rename = "queueId")]
        queue_id: QueueId,
    },
    /// Sets the priority.
    SetPriority { priority: Priority },
    /// Adds a tag.
    AddTag { tag: String },
}

/// A routing rule as stored: the rules of a workspace are tried in `position` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRule {
    pub name: String,
    pub enabled: bool,
    pub position: i64,
    pub join: RuleJoin,
    pub clauses: Vec<RoutingClause>,
    pub actions: Vec<RoutingAction>,
}

fn allowed_ops(field: ClauseField) -> &'static [ClauseOp] {
    match field {
        ClauseField::Text => &[ClauseOp::Contains, ClauseOp::NotContains],
        _ => &[ClauseOp::Is, ClauseOp::IsNot],
    }
}

impl RoutingRule {
    /// Checks and normalizes a rule (tags lowercased, text trimmed); errors name the clause or
    /// action at fault, e.g. `clauses[1].value`. Whether queues and users exist is the caller's
    /// check, since it needs the database.
    pub fn validate(mut self) -> Result<RoutingRule, ValidationError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_RULE_NAME_CHARS {
            return Err(ValidationError::new("name", format!("must be 1-{MAX_RULE_NAME_CHARS} characters")));
        }
        self.name = name.to_string();
        if self.clauses.is_empty() || self.clauses.len() > MAX_CLAUSES {
            return Err(ValidationError::new("clauses", format!("give between 1 and {MAX_CLAUSES} clauses")));
        }
        for (i, c) in self.clauses.iter_mut().enumerate() {
            let at = |f: &str| format!("clauses[{i}].{f}");
            if !allowed_ops(c.field).contains(&c.op) {
                let ops: Vec<&str> = allowed_ops(c.field).iter().map(|o| o.as_str()).collect();
                return Err(ValidationError::new(
                    at("op"),
                    format!("{} cannot compare {}; use {}", c.op, c.field, ops.join(" or ")),
                ));
            }
            let field = at("value");
            c.value = match c.field {
                ClauseField::Priority => Priority::parse(c.value.trim(), &field)?.as_str().to_string(),
                ClauseField::Source => Source::parse(c.value.trim(), &field)?.as_str().to_string(),
                ClauseField::Channel => Channel::parse(c.value.trim(), &field)?.as_str().to_string(),
                ClauseField::RequesterType => RequesterType::parse(c.value.trim(), &field)?.as_str().to_string(),
                ClauseField::Tag => normalize_tag(&field, &c.value)?,
                ClauseField::HelpTopic => match c.value.trim().parse::<i64>() {
                    Ok(id) if id > 0 => id.to_string(),
                    _ => return Err(ValidationError::new(field, "must be a help topic id")),
                },
                ClauseField::Text => {
                    let v = c.value.trim();
                    if v.is_empty() || v.chars().count() > MAX_MATCH_CHARS {
                        return Err(ValidationError::new(field, format!("must be 1-{MAX_MATCH_CHARS} characters")));
                    }
                    v.to_string()
                }
            };
        }
        if self.actions.is_empty() || self.actions.len() > MAX_ACTIONS {
            return Err(ValidationError::new("actions", format!("give between 1 and {MAX_ACTIONS} actions")));
        }
        let mut queue_actions = 0;
        for (i, a) in self.actions.iter_mut().enumerate() {
            match a {
                RoutingAction::AddTag { tag } => *tag = normalize_tag(&format!("actions[{i}].tag"), tag)?,
                RoutingAction::AssignToQueue { .. } | RoutingAction::ReassignQueue { .. } => queue_actions += 1,
                _ => {}
            }
            if queue_actions > 1 {
                return Err(ValidationError::new(
                    format!("actions[{i}]"),
                    "a rule can move a ticket to one queue only",
                ));
            }
        }
        Ok(self)
    }

    /// The queues and users this rule's actions name, with the field of each, for existence checks.
    pub fn references(&self) -> (FieldRefs<QueueId>, FieldRefs<UserId>) {
        let (mut queues, mut users) = (Vec::new(), Vec::new());
        for (i, a) in self.actions.iter().enumerate() {
            match a {
                RoutingAction::AssignToQueue { queue_id } | RoutingAction::ReassignQueue { queue_id } => {
                    queues.push((format!("actions[{i}].queueId"), *queue_id))
                }
                RoutingAction::AssignToUser { user_id } => users.push((format!("actions[{i}].userId"), *user_id)),
                _ => {}
            }
        }
        (queues, users)
    }

    /// True when the rule's clauses hold for `facts` (ignoring `enabled`).
    pub fn matches(&self, facts: &TicketFacts) -> bool {
        let mut results = self.clauses.iter().map(|c| clause_holds(c, facts));
        match self.join {
            RuleJoin::And => results.all(|r| r),
            RuleJoin::Or => results.any(|r| r),
        }
    }
}

fn clause_holds(c: &RoutingClause, f: &TicketFacts) -> bool {
    let v = c.value.as_str();
    let equal = match c.field {
        ClauseField::Priority => f.priority.as_str() == v,
        ClauseField::Source => f.source.as_str() == v,
        ClauseField::Channel => f.channel.as_str() == v,
        ClauseField::RequesterType => f.requester_type.as_str() == v,
        ClauseField::HelpTopic => f.help_topic_id.is_some_and(|h| h.0.to_string() == v),
        ClauseField::Tag => f.tags.iter().any(|t| t == v),
        ClauseField::Text => contains_ignoring_case(&f.text, v),
    };
    match c.op {
        ClauseOp::Is | ClauseOp::Contains => equal,
        ClauseOp::IsNot | ClauseOp::NotContains => !equal,
    }
}

/// Case-insensitive substring test, as "text contains" and automation matches promise.
pub fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// The first enabled rule, by position, whose clauses hold.
pub fn first_matching_rule<'a>(rules: &'a [RoutingRule], facts: &TicketFacts) -> Option<&'a RoutingRule> {
    let mut ordered: Vec<&RoutingRule> = rules.iter().filter(|r| r.enabled).collect();
    ordered.sort_by_key(|r| r.position);
    ordered.into_iter().find(|r| r.matches(facts))
}

/// The changes a matched rule makes to a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingOutcome {
    pub queue_id: Option<QueueId>,
    pub assignee_id: Option<UserId>,
    /// The rule moved the ticket with `reassign_queue`: its current assignee is dropped.
    pub drop_assignee: bool,
    pub escalate: bool,
    pub priority: Option<Priority>,
    pub add_tags: Vec<String>,
}

impl RoutingRule {
    /// What this rule's actions do, in order (a later action of the same kind wins).
    pub fn outcome(&self) -> RoutingOutcome {
        let mut o = RoutingOutcome::default();
        for a in &self.actions {
            match a {
                RoutingAction::AssignToQueue { queue_id } => o.queue_id = Some(*queue_id),
                RoutingAction::ReassignQueue { queue_id } => {
                    o.queue_id = Some(*queue_id);
                    o.drop_assignee = true;
                }
                RoutingAction::AssignToUser { user_id } => o.assignee_id = Some(*user_id),
                RoutingAction::Escalate => o.escalate = true,
                RoutingAction::SetPriority { priority } => o.priority = Some(*priority),
                RoutingAction::AddTag { tag } => {
                    if !o.add_tags.contains(tag) {
                        o.add_tags.push(tag.clone())
                    }
                }
            }
        }
        o
    }
}

/// A queue member as auto-assignment sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentCandidate {
    pub user_id: UserId,
    pub on_break: bool,
    /// Higher weight wins a tie on load.
    pub weight: i64,
    /// Tickets still needing work that are assigned to this member.
    pub open_assigned: i64,
}

/// Who gets a new ticket in a queue with `mode`, given the member who got the last one
/// (`cursor`, kept on the queue so the rotation survives restarts). Members on break are
/// skipped; `None` means nobody is eligible (or the queue is manual).
///
/// Round robin takes the next eligible member after the cursor in member order (by user id),
/// wrapping around, so a member returning from break rejoins at their place. Load balanced takes
/// the member with the fewest open assigned tickets; a higher weight breaks a tie, then the
/// rotation order from the cursor, so equal members still take turns.
pub fn pick_assignee(mode: AssignmentMode, members: &[AssignmentCandidate], cursor: Option<UserId>) -> Option<UserId> {
    let mut eligible: Vec<&AssignmentCandidate> = members.iter().filter(|m| !m.on_break).collect();
    eligible.sort_by_key(|m| m.user_id);
    // Rotation rank: members after the cursor first, then from the start.
    let rank = |m: &AssignmentCandidate| (cursor.is_some_and(|c| m.user_id <= c), m.user_id);
    match mode {
        AssignmentMode::Manual => None,
        AssignmentMode::RoundRobin => eligible.into_iter().min_by_key(|m| rank(m)).map(|m| m.user_id),
        AssignmentMode::LoadBalanced => eligible
            .into_iter()
            .min_by_key(|m| (m.open_assigned, std::cmp::Reverse(m.weight), rank(m)))
            .map(|m| m.user_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> TicketFacts {
        TicketFacts {
            priority: Priority::High,
            source: Source::Email,
            channel: Channel::Email,
            requester_type: RequesterType::BusinessPartner,
            help_topic_id: Some(HelpTopicId(3)),
            tags: vec!["billing".into()],
            text: "Refund for my Printer order".into(),
        }
    }

    fn clause(field: ClauseField, op: ClauseOp, value: &str) -> RoutingClause {
        RoutingClause { field, op, value: value.into() }
    }

    fn rule(name: &str, position: i64, join: RuleJoin, clauses: Vec<RoutingClause>, queue: i64) -> RoutingRule {
        RoutingRule {
            name: name.into(),
            enabled: true,
            position,
            join,
            clauses,
            actions: vec![RoutingAction::AssignToQueue { queue_id: QueueId(queue) }],
        }
    }

    #[test]
    fn and_needs_every_clause_or_needs_one() {
        let high = clause(ClauseField::Priority, ClauseOp::Is, "high");
        let phone = clause(ClauseField::Source, ClauseOp::Is, "phone");
        assert!(!rule("a", 1, RuleJoin::And, vec![high.clone(), phone.clone()], 1).matches(&facts()));
        assert!(rule("o", 1, RuleJoin::Or, vec![high.clone(), phone.clone()], 1).matches(&facts()));
        let not_phone = clause(ClauseField::Source, ClauseOp::IsNot, "phone");
        assert!(rule("a", 1, RuleJoin::And, vec![high, not_phone], 1).matches(&facts()));
    }

    #[test]
    fn every_field_is_read() {
        let f = facts();
        let holds = |field, op, v: &str| rule("r", 1, RuleJoin::And, vec![clause(field, op, v)], 1).matches(&f);
        assert!(holds(ClauseField::Tag, ClauseOp::Is, "billing"));
        assert!(holds(ClauseField::Tag, ClauseOp::IsNot, "vip"));
        assert!(holds(ClauseField::RequesterType, ClauseOp::Is, "business_partner"));
        assert!(holds(ClauseField::HelpTopic, ClauseOp::Is, "3"));
        assert!(!holds(ClauseField::HelpTopic, ClauseOp::Is, "4"));
        assert!(holds(ClauseField::Channel, ClauseOp::Is, "email"));
        assert!(holds(ClauseField::Text, ClauseOp::Contains, "PRINTER"));
        assert!(holds(ClauseField::Text, ClauseOp::NotContains, "invoice"));
    }

    #[test]
    fn first_match_by_position_wins_and_disabled_rules_are_skipped() {
        let any_high = vec![clause(ClauseField::Priority, ClauseOp::Is, "high")];
        let mut later = rule("later", 20, RuleJoin::And, any_high.clone(), 2);
        let earlier = rule("earlier", 10, RuleJoin::And, any_high.clone(), 1);
        let rules = vec![later.clone(), earlier];
        assert_eq!(first_matching_rule(&rules, &facts()).map(|r| r.name.as_str()), Some("earlier"));
        let mut disabled = rule("disabled", 1, RuleJoin::And, any_high, 9);
        disabled.enabled = false;
        later.position = 5;
        let rules = vec![disabled, later, rule("x", 7, RuleJoin::And, vec![], 3)];
        assert_eq!(first_matching_rule(&rules, &facts()).map(|r| r.name.as_str()), Some("later"));
    }

    #[test]
    fn validation_names_the_clause() {
        let bad = rule("r", 1, RuleJoin::And, vec![clause(ClauseField::Priority, ClauseOp::Is, "critical")], 1);
        assert_eq!(bad.validate().unwrap_err().field, "clauses[0].value");
        let bad_op = rule(
            "r",
            1,
            RuleJoin::And,
            vec![clause(ClauseField::Tag, ClauseOp::Is, "x"), clause(ClauseField::Source, ClauseOp::Contains, "e")],
            1,
        );
        assert_eq!(bad_op.validate().unwrap_err().field, "clauses[1].op");
        assert_eq!(rule("r", 1, RuleJoin::And, vec![], 1).validate().unwrap_err().field, "clauses");
        let mut two_queues = rule("r", 1, RuleJoin::And, vec![clause(ClauseField::Tag, ClauseOp::Is, "x")], 1);
        two_queues.actions.push(RoutingAction::ReassignQueue { queue_id: QueueId(2) });
        assert_eq!(two_queues.validate().unwrap_err().field, "actions[1]");
        let ok = rule("  Billing ", 1, RuleJoin::Or, vec![clause(ClauseField::Tag, ClauseOp::Is, " VIP ")], 1)
            .validate()
            .unwrap();
        assert_eq!((ok.name.as_str(), ok.clauses[0].value.as_str()), ("Billing", "vip"));
    }

    #[test]
    fn outcome_of_actions() {
        let mut r = rule("r", 1, RuleJoin::And, vec![], 1);
        r.actions = vec![
            RoutingAction::ReassignQueue { queue_id: QueueId(4) },
            RoutingAction::Escalate,
            RoutingAction::SetPriority { priority: Priority::Urgent },
            RoutingAction::AddTag { tag: "vip".into() },
        ];
        let o = r.outcome();
        assert_eq!(o.queue_id, Some(QueueId(4)));
        assert!(o.drop_assignee && o.escalate);
        assert_eq!((o.priority, o.add_tags), (Some(Priority::Urgent), vec!["vip".to_string()]));
    }

    fn member(id: i64, on_break: bool, weight: i64, open: i64) -> AssignmentCandidate {
        AssignmentCandidate { user_id: UserId(id), on_break, weight, open_assigned: open }
    }

    #[test]
    fn round_robin_rotates_and_skips_members_on_break() {
        let members = [member(1, false, 1, 0), member(2, true, 1, 0), member(3, false, 1, 0)];
        let mut cursor = None;
        let mut picks = Vec::new();
        for _ in 0..5 {
            let next = pick_assignee(AssignmentMode::RoundRobin, &members, cursor).unwrap();
            picks.push(next.0);
            cursor = Some(next);
        }
        assert_eq!(picks, vec![1, 3, 1, 3, 1]);
        // Back from break: rejoins the rotation at their place.
        let members = [member(1, false, 1, 0), member(2, false, 1, 0), member(3, false, 1, 0)];
        assert_eq!(pick_assignee(AssignmentMode::RoundRobin, &members, Some(UserId(1))), Some(UserId(2)));
        // The member who had the cursor left the queue: continue after where they were.
        let members = [member(1, false, 1, 0), member(3, false, 1, 0)];
        assert_eq!(pick_assignee(AssignmentMode::RoundRobin, &members, Some(UserId(2))), Some(UserId(3)));
        assert_eq!(pick_assignee(AssignmentMode::Manual, &members, None), None);
        assert_eq!(pick_assignee(AssignmentMode::RoundRobin, &[member(1, true, 1, 0)], None), None);
    }

    #[test]
    fn load_balanced_takes_the_least_loaded_and_weight_breaks_ties() {
        let members = [member(1, false, 1, 4), member(2, false, 1, 2), member(3, true, 1, 0)];
        assert_eq!(pick_assignee(AssignmentMode::LoadBalanced, &members, None), Some(UserId(2)));
        let tied = [member(1, false, 1, 2), member(2, false, 5, 2)];
        assert_eq!(pick_assignee(AssignmentMode::LoadBalanced, &tied, None), Some(UserId(2)));
        let equal = [member(1, false, 1, 2), member(2, false, 1, 2)];
        assert_eq!(pick_assignee(AssignmentMode::LoadBalanced, &equal, Some(UserId(1))), Some(UserId(2)));
    }
}
