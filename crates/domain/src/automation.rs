//! Automation rules: the seed's JSON rule format, validated rule by rule, and the pure planner
//! that decides which actions run for an event.

use std::collections::{HashSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    AutomationTrigger, HelpTopicId, Priority, ValidationError, contains_ignoring_case, normalize_tag,
    routing::{MAX_ACTIONS, MAX_MATCH_CHARS, MAX_RULE_NAME_CHARS},
};

/// Most automation rules a workspace keeps.
pub const MAX_AUTOMATION_RULES: usize = 25;
/// Longest notification text of a `notify` action.
pub const MAX_NOTIFY_CHARS: usize = 500;

/// What a matching automation rule does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AutomationAction {
    /// Adds a tag (max 40 characters).
    AddTag { tag: String },
    /// Escalates the ticket; the rule's name goes into the reason.
    Escalate,
    /// Assigns the ticket with its queue's assignment mode (round robin when the queue is manual).
    AssignRoundRobin,
    /// Sets the priority.
    SetPriority { priority: Priority },
    /// Notifies the workspace's managers.
    Notify {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

/// A validated automation rule, serialized back in the seed's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutomationRule {
    pub id: String,
    pub enabled: bool,
    #[serde(default)]
    pub name: String,
    pub trigger: AutomationTrigger,
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub match_text: Option<String>,
    /// Scope: the help topic (ticket type) id this rule is limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_type_id: Option<String>,
    pub actions: Vec<AutomationAction>,
}

/// The outcome of validating one rule of a saved array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleReport {
    /// Position of the rule in the saved array.
    pub index: usize,
    /// The rule's id, given or assigned.
    pub id: Option<String>,
    /// Why the rule was rejected; empty when it was accepted.
    pub errors: Vec<ValidationError>,
}

/// A saved rule array: the rules that passed, and a report for every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRules {
    pub rules: Vec<AutomationRule>,
    pub reports: Vec<RuleReport>,
}

impl ParsedRules {
    /// True when every rule passed.
    pub fn all_valid(&self) -> bool {
        self.reports.iter().all(|r| r.errors.is_empty())
    }
}

fn text_field(
    rule: &serde_json::Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<String>, ValidationError> {
    match rule.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) if key == "id" || key == "ticketTypeId" => Ok(Some(n.to_string())),
        Some(_) => Err(ValidationError::new(field, "must be a string")),
    }
}

fn parse_action(v: &Value, field: &str) -> Result<AutomationAction, ValidationError> {
    let obj = v.as_object().ok_or_else(|| ValidationError::new(field, "must be an object with a \"type\""))?;
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    let action = match kind {
        "add_tag" => {
            let tag = obj.get("tag").and_then(Value::as_str).unwrap_or_default();
            AutomationAction::AddTag { tag: normalize_tag(&format!("{field}.tag"), tag)? }
        }
        "escalate" => AutomationAction::Escalate,
        "assign_round_robin" => AutomationAction::AssignRoundRobin,
        "set_priority" => {
            let p = obj.get("priority").and_then(Value::as_str).unwrap_or_default();
            AutomationAction::SetPriority { priority: Priority::parse(p, &format!("{field}.priority"))? }
        }
        "notify" => {
            let message = match obj.get("message") {
                None | Some(Value::Null) => None,
                Some(Value::String(m)) if m.trim().chars().count() <= MAX_NOTIFY_CHARS => Some(m.trim().to_string()),
                Some(_) => {
                    return Err(ValidationError::new(
                        format!("{field}.message"),
                        format!("must be text of at most {MAX_NOTIFY_CHARS} characters"),
                    ));
                }
            };
            AutomationAction::Notify { message: message.filter(|m| !m.is_empty()) }
        }
        other => {
            return Err(ValidationError::new(
                format!("{field}.type"),
                format!(
                    "unknown action {other:?}; expected add_tag, escalate, assign_round_robin, set_priority or notify"
                ),
            ));
        }
    };
    Ok(action)
}

fn parse_rule(v: &Value, i: usize, id: Option<String>) -> Result<AutomationRule, ValidationError> {
    let at = |f: &str| format!("rules[{i}].{f}");
    let obj = v.as_object().ok_or_else(|| ValidationError::new(format!("rules[{i}]"), "must be an object"))?;
    let enabled = match obj.get("enabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ValidationError::new(at("enabled"), "must be true or false")),
    };
    let name = text_field(obj, "name", &at("name"))?.unwrap_or_default();
    if name.chars().count() > MAX_RULE_NAME_CHARS {
        return Err(ValidationError::new(at("name"), format!("must be at most {MAX_RULE_NAME_CHARS} characters")));
    }
    let trigger = match obj.get("trigger").and_then(Value::as_str) {
        Some(t) => AutomationTrigger::parse(t, &at("trigger"))?,
        None => return Err(ValidationError::new(at("trigger"), "is required")),
    };
    let match_text = text_field(obj, "match", &at("match"))?.filter(|m| !m.is_empty());
    match (&match_text, trigger) {
        (None, AutomationTrigger::MessageContains) => {
            return Err(ValidationError::new(at("match"), "is required for the message_contains trigger"));
        }
        (Some(m), _) if m.chars().count() > MAX_MATCH_CHARS => {
            return Err(ValidationError::new(at("match"), format!("must be at most {MAX_MATCH_CHARS} characters")));
        }
        _ => {}
    }
    let ticket_type_id = text_field(obj, "ticketTypeId", &at("ticketTypeId"))?.filter(|t| !t.is_empty());
    if let Some(t) = &ticket_type_id
        && !t.parse::<i64>().is_ok_and(|n| n > 0)
        && help_topic_slug(t) != *t
    {
        return Err(ValidationError::new(at("ticketTypeId"), "must be a help topic id or slug (e.g. billing)"));
    }
    let actions = match obj.get("actions") {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_ACTIONS => a,
        _ => return Err(ValidationError::new(at("actions"), format!("give between 1 and {MAX_ACTIONS} actions"))),
    };
    let actions = actions
        .iter()
        .enumerate()
        .map(|(j, a)| parse_action(a, &at(&format!("actions[{j}]"))))
        .collect::<Result<_, _>>()?;
    Ok(AutomationRule { id: id.unwrap_or_default(), enabled, name, trigger, match_text, ticket_type_id, actions })
}

/// A help topic's slug, the name automation rules may give it by (`ticketTypeId`): its name in
/// lowercase, each run of other characters than letters and digits one dash, none at the ends
/// ("Billing & Payments" is `billing-payments`).
pub fn help_topic_slug(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// Parses a saved rule array in the seed's JSON format. Each rule is checked on its own and
/// reported; the array itself must be JSON, an array, and hold at most 25 rules. Rules without
/// an id get `rule-N`; ids must be unique.
pub fn parse_automation_rules(json: &str) -> Result<ParsedRules, ValidationError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| ValidationError::new("rules", format!("is not valid JSON: {e}")))?;
    let items = value.as_array().ok_or_else(|| ValidationError::new("rules", "must be a JSON array of rules"))?;
    if items.len() > MAX_AUTOMATION_RULES {
        return Err(ValidationError::new("rules", format!("at most {MAX_AUTOMATION_RULES} rules per workspace")));
    }
    let given: Vec<Option<String>> = items
        .iter()
        .map(|r| r.get("id").and_then(|v| v.as_str().map(str::trim).map(str::to_string)).filter(|s| !s.is_empty()))
        .collect();
    let mut seen = HashSet::new();
    let mut next = 1;
    let (mut rules, mut reports) = (Vec::new(), Vec::new());
    for (i, item) in items.iter().enumerate() {
        let id = match &given[i] {
            Some(id) => id.clone(),
            None => loop {
                let candidate = format!("rule-{next}");
                next += 1;
                if !given.iter().flatten().any(|g| *g == candidate) {
                    break candidate;
                }
            },
        };
        let result = if id.chars().count() > MAX_RULE_NAME_CHARS {
            Err(ValidationError::new(
                format!("rules[{i}].id"),
                format!("must be at most {MAX_RULE_NAME_CHARS} characters"),
            ))
        } else if !seen.insert(id.clone()) {
            Err(ValidationError::new(format!("rules[{i}].id"), format!("{id:?} is used by an earlier rule")))
        } else {
            parse_rule(item, i, Some(id.clone()))
        };
        match result {
            Ok(rule) => {
                rules.push(rule);
                reports.push(RuleReport { index: i, id: Some(id), errors: Vec::new() });
            }
            Err(e) => reports.push(RuleReport { index: i, id: Some(id), errors: vec![e] }),
        }
    }
    Ok(ParsedRules { rules, reports })
}

/// Something that happened to a ticket, as automation triggers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutomationEvent {
    TicketOpened,
    TicketEscalated,
    /// A customer or staff message was posted with this text.
    Message(String),
    CsatNegative,
    SlaBreach,
}

impl AutomationEvent {
    fn trigger(&self) -> AutomationTrigger {
        match self {
            AutomationEvent::TicketOpened => AutomationTrigger::TicketOpened,
            AutomationEvent::TicketEscalated => AutomationTrigger::TicketEscalated,
            AutomationEvent::Message(_) => AutomationTrigger::MessageContains,
            AutomationEvent::CsatNegative => AutomationTrigger::CsatNegative,
            AutomationEvent::SlaBreach => AutomationTrigger::SlaBreach,
        }
    }
}

/// One action an automation rule runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAction {
    pub rule_id: String,
    pub rule_name: String,
    pub action: AutomationAction,
}

impl AutomationRule {
    /// True when this rule fires for `event` on a ticket of `help_topic`.
    pub fn fires_on(&self, event: &AutomationEvent, help_topic: Option<HelpTopicId>) -> bool {
        if !self.enabled || self.trigger != event.trigger() {
            return false;
        }
        if let Some(scope) = &self.ticket_type_id
            && help_topic.is_none_or(|h| h.0.to_string() != *scope)
        {
            return false;
        }
        match (event, &self.match_text) {
            (AutomationEvent::Message(text), Some(m)) => contains_ignoring_case(text, m),
            (AutomationEvent::Message(_), None) => false,
            _ => true,
        }
    }

    /// How escalation reasons and logs name the rule.
    pub fn label(&self) -> &str {
        if self.name.is_empty() { &self.id } else { &self.name }
    }
}

/// The actions to run, in order, for `event` on a ticket of `help_topic` that is `escalated` or
/// not. An escalation by a rule is itself a `ticket_escalated` event for the other rules, but each
/// rule runs at most once per originating event, so rules cannot loop.
pub fn plan_automation(
    rules: &[AutomationRule],
    event: AutomationEvent,
    help_topic: Option<HelpTopicId>,
    mut escalated: bool,
) -> Vec<PlannedAction> {
    let mut fired: HashSet<&str> = HashSet::new();
    let mut pending = VecDeque::from([event]);
    let mut plan = Vec::new();
    while let Some(ev) = pending.pop_front() {
        for rule in rules.iter().filter(|r| r.fires_on(&ev, help_topic)) {
            if !fired.insert(&rule.id) {
                continue;
            }
            for action in &rule.actions {
                if *action == AutomationAction::Escalate && !escalated {
                    escalated = true;
                    pending.push_back(AutomationEvent::TicketEscalated);
                }
                plan.push(PlannedAction {
                    rule_id: rule.id.clone(),
                    rule_name: rule.label().to_string(),
                    action: action.clone(),
                });
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_EXAMPLE: &str = r#"[ { "id": "billing-escalate", "enabled": true, "name": "Escalate billing keywords",
        "trigger": "message_contains", "match": "refund", "ticketTypeId": "7",
        "actions": [ { "type": "add_tag", "tag": "refund" }, { "type": "escalate" } ] },
      { "id": "assign-on-open", "enabled": true, "name": "Assign new tickets", "trigger": "ticket_opened",
        "actions": [{ "type": "assign_round_robin" }] } ]"#;

    #[test]
    fn the_seed_example_parses_and_round_trips() {
        let parsed = parse_automation_rules(SEED_EXAMPLE).unwrap();
        assert!(parsed.all_valid());
        assert_eq!(parsed.rules.len(), 2);
        assert_eq!(parsed.rules[0].match_text.as_deref(), Some("refund"));
        let json = serde_json::to_string(&parsed.rules).unwrap();
        assert_eq!(parse_automation_rules(&json).unwrap().rules, parsed.rules);
    }

    #[test]
    fn invalid_rules_are_reported_with_the_reason() {
        let long_tag = "x".repeat(41);
        let json = format!(
            r#"[{{"trigger":"message_contains","actions":[{{"type":"escalate"}}]}},
               {{"trigger":"ticket_opened","actions":[]}},
               {{"trigger":"on_full_moon","actions":[{{"type":"escalate"}}]}},
               {{"trigger":"ticket_opened","actions":[{{"type":"add_tag","tag":"{long_tag}"}}]}},
               {{"trigger":"ticket_opened","actions":[{{"type":"launch_rocket"}}]}},
               {{"name":"{}","trigger":"ticket_opened","actions":[{{"type":"escalate"}}]}},
               {{"id":"dup","trigger":"sla_breach","actions":[{{"type":"notify"}}]}},
               {{"id":"dup","trigger":"sla_breach","actions":[{{"type":"notify"}}]}}]"#,
            "n".repeat(81)
        );
        let parsed = parse_automation_rules(&json).unwrap();
        let fields: Vec<&str> = parsed.reports.iter().flat_map(|r| r.errors.iter().map(|e| e.field.as_str())).collect();
        assert_eq!(
            fields,
            vec![
                "rules[0].match",
                "rules[1].actions",
                "rules[2].trigger",
                "rules[3].actions[0].tag",
                "rules[4].actions[0].type",
                "rules[5].name",
                "rules[7].id"
            ]
        );
        assert_eq!(parsed.rules.len(), 1);
        assert_eq!(parsed.reports[0].id.as_deref(), Some("rule-1"));
    }

    #[test]
    fn the_array_itself_is_checked() {
        assert_eq!(parse_automation_rules("{}").unwrap_err().field, "rules");
        assert_eq!(parse_automation_rules("[").unwrap_err().field, "rules");
        let many =
            format!("[{}]", vec![r#"{"trigger":"ticket_opened","actions":[{"type":"escalate"}]}"#; 26].join(","));
        assert!(parse_automation_rules(&many).unwrap_err().message.contains("25"));
    }

    fn rules(json: &str) -> Vec<AutomationRule> {
        parse_automation_rules(json).unwrap().rules
    }

    #[test]
    fn each_trigger_fires_on_its_event() {
        let r = rules(
            r#"[{"id":"o","trigger":"ticket_opened","actions":[{"type":"add_tag","tag":"new"}]},
                {"id":"e","trigger":"ticket_escalated","actions":[{"type":"notify"}]},
                {"id":"m","trigger":"message_contains","match":"Refund","actions":[{"type":"set_priority","priority":"high"}]},
                {"id":"c","trigger":"csat_negative","actions":[{"type":"escalate"}]},
                {"id":"s","trigger":"sla_breach","actions":[{"type":"assign_round_robin"}]}]"#,
        );
        let ids = |ev| plan_automation(&r, ev, None, true).into_iter().map(|p| p.rule_id).collect::<Vec<_>>();
        assert_eq!(ids(AutomationEvent::TicketOpened), vec!["o"]);
        assert_eq!(ids(AutomationEvent::TicketEscalated), vec!["e"]);
        assert_eq!(ids(AutomationEvent::Message("I want a REFUND now".into())), vec!["m"]);
        assert!(ids(AutomationEvent::Message("thanks".into())).is_empty());
        assert_eq!(ids(AutomationEvent::CsatNegative), vec!["c"]);
        assert_eq!(ids(AutomationEvent::SlaBreach), vec!["s"]);
    }

    #[test]
    fn a_help_topic_slug_is_its_name_in_lowercase_with_dashes() {
        assert_eq!(help_topic_slug("Billing"), "billing");
        assert_eq!(help_topic_slug("  Billing & Payments! "), "billing-payments");
        assert_eq!(help_topic_slug("Über uns"), "über-uns");
        let seed = SEED_EXAMPLE.replace("\"7\"", "\"billing\"");
        assert!(parse_automation_rules(&seed).unwrap().all_valid(), "the seed's own example names a slug");
        let bad = SEED_EXAMPLE.replace("\"7\"", "\"Billing Team\"");
        let report = &parse_automation_rules(&bad).unwrap().reports[0];
        assert_eq!(report.errors[0].field, "rules[0].ticketTypeId");
    }

    #[test]
    fn scope_and_enabled_are_respected() {
        let r = rules(
            r#"[{"id":"scoped","trigger":"ticket_opened","ticketTypeId":7,"actions":[{"type":"escalate"}]},
                {"id":"off","enabled":false,"trigger":"ticket_opened","actions":[{"type":"escalate"}]}]"#,
        );
        assert!(plan_automation(&r, AutomationEvent::TicketOpened, Some(HelpTopicId(8)), false).is_empty());
        assert_eq!(plan_automation(&r, AutomationEvent::TicketOpened, Some(HelpTopicId(7)), true).len(), 1);
    }

    #[test]
    fn escalation_cascades_once_and_rules_do_not_loop() {
        let r = rules(
            r#"[{"id":"a","name":"Refunds","trigger":"message_contains","match":"refund","actions":[{"type":"escalate"}]},
                {"id":"b","trigger":"ticket_escalated","actions":[{"type":"escalate"},{"type":"add_tag","tag":"hot"}]}]"#,
        );
        let plan = plan_automation(&r, AutomationEvent::Message("refund please".into()), None, false);
        let steps: Vec<(&str, &AutomationAction)> = plan.iter().map(|p| (p.rule_id.as_str(), &p.action)).collect();
        assert_eq!(
            steps,
            vec![
                ("a", &AutomationAction::Escalate),
                ("b", &AutomationAction::Escalate),
                ("b", &AutomationAction::AddTag { tag: "hot".into() })
            ]
        );
        assert_eq!(plan[0].rule_name, "Refunds");
        // Already escalated: escalating again is no new event, so rule b does not run.
        assert_eq!(plan_automation(&r, AutomationEvent::Message("refund".into()), None, true).len(), 1);
    }
}
