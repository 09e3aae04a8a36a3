//! Switchboard's domain: everything about tickets that can be decided from values alone.
//!
//! No I/O and no async live here. Storage, transports and jobs call into these types so that the
//! rules (which status transitions are allowed, who may do what, what a valid subject is) are
//! written once and unit-tested without a database.

mod actor;
mod alerts;
mod automation;
mod calendar;
mod egress;
// Its `string_enum!` is used by `statuses` too, so it comes first.
#[macro_use]
mod enums;
mod error;
mod ids;
mod inactivity;
mod insights;
mod routing;
mod sla;
mod statuses;
mod suggestions;
mod template;
mod text;
mod ticket;
mod webhook;

pub use actor::{Actor, ActorKind, Permission};
pub use alerts::{CSAT_WINDOW_MS, MIN_RATINGS_FOR_CSAT_ALERT, ManagerAlert, RatingCounts, alert_transition, csat_drop};
pub use automation::{
    AutomationAction, AutomationEvent, AutomationRule, MAX_AUTOMATION_RULES, ParsedRules, PlannedAction, RuleReport,
    help_topic_slug, parse_automation_rules, plan_automation,
};
pub use calendar::{BusinessCalendar, CalendarSpec, DayHours, SlaClock};
pub use chrono_tz::Tz;
pub use egress::{
    AddressClass, IpNetwork, OUTBOUND_ALLOW_SETTING, OutboundHost, OutboundPolicy, check_cleartext, classify_address,
    is_forbidden_address, is_loopback_address,
};
pub use enums::*;
pub use error::{ErrorCode, ValidationError};
pub use ids::*;
pub use inactivity::{InactivityPolicy, InactivityStep, is_stale};
pub use insights::{
    InsightMetric, Share, ShareKey, TicketInsightFacts, csat_satisfied, duration_bucket, helpful_rating,
    histogram_percentile, local_date, ticket_share,
};
pub use routing::{
    AssignmentCandidate, RoutingAction, RoutingClause, RoutingOutcome, RoutingRule, TicketFacts,
    contains_ignoring_case, first_matching_rule, pick_assignee,
};
pub use sla::{
    SlaFilter, SlaWindow, day_index, local_days, next_sla_due, parse_time_zone, pending_sla_targets, sla_window,
};
pub use statuses::*;
pub use suggestions::{
    MIN_REPEATS, MIN_SUGGESTED_REPLY_CHARS, MIN_TICKETS, RepeatedReply, normalize_reply, repeated_replies,
};
pub use template::{
    ActorVars, MAX_RENDERED_CHARS, MAX_TEMPLATE_CHARS, MAX_TEMPLATE_DEPTH, RequesterVars, TEMPLATE_VARIABLES,
    TemplateContext, TicketVars, WorkspaceVars, render_template, validate_template,
};
pub use text::{
    EmailAddress, MAX_BODY_CHARS, MAX_CLOSE_NOTE_CHARS, MAX_SUBJECT_CHARS, MAX_TAG_CHARS, into_without_nul, mentions,
    normalize_tag, validate_body, validate_close_note, validate_name, validate_subject, without_nul,
};
pub use ticket::{StatusChange, TicketNumber, check_transition};
pub use webhook::{
    MAX_DELIVERY_ATTEMPTS, MAX_WEBHOOK_URL_CHARS, WebhookEvent, WebhookUrl, check_webhook_url, retry_delay_ms,
    signature_header, verify_signature,
};

/// Milliseconds since the Unix epoch, UTC: the one time representation stored everywhere.
pub type Millis = i64;
