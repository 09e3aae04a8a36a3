//! A linked guild's settings (the channel account's `settings` JSON): where the panel goes, the
//! ticket types it offers, which roles are staff and management. Checked here, naming the field,
//! before the desk stores them.

use serde::{Deserialize, Serialize};
use switchboard_channel::ChannelSettings;
use switchboard_desk::DeskError;
use switchboard_desk::domain::HelpTopicId;

/// Ticket types a panel offers at most: a select menu holds 25 options.
pub const MAX_TICKET_TYPES: usize = 25;
/// Up to this many enabled types the panel shows buttons; past it, a select menu (the issue's
/// "a select menu past four types", within Discord's five buttons per row).
pub const MAX_PANEL_BUTTONS: usize = 4;
/// Roles listed per setting at most (a guild has at most 250).
const MAX_ROLES: usize = 50;

/// A guild's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuildSettings {
    /// The text channel the ticket panel is posted in.
    pub panel_channel_id: String,
    /// Where closed tickets' transcripts are posted; none when unset.
    #[serde(default)]
    pub transcripts_channel_id: Option<String>,
    /// Where a requester's "Request human" is posted for staff (`#staff-review`); none when unset.
    #[serde(default)]
    pub staff_review_channel_id: Option<String>,
    /// Roles whose members are support staff: they see every ticket channel, and their messages
    /// there are staff replies.
    #[serde(default)]
    pub staff_role_ids: Vec<String>,
    /// The second tier for sensitive tickets (lockdown); they see ticket channels too.
    #[serde(default)]
    pub management_role_ids: Vec<String>,
    /// Ticket channels are named `ticket-<number>` instead of after the requester.
    #[serde(default)]
    pub sequential_names: bool,
    pub ticket_types: Vec<TicketType>,
    /// Where tips learned from closed tickets are summarised (`#learned-tips`); none when unset.
    #[serde(default)]
    pub learned_tips_channel_id: Option<String>,
    /// Propose knowledge tips from tickets staff closed (read once the answer bot exists).
    #[serde(default)]
    pub auto_learn: bool,
    /// Days closed tickets' transcripts are kept: 30, 60 or 90, or 0 to keep them forever.
    #[serde(default = "thirty")]
    pub transcript_retention_days: u32,
    /// Minutes the answer bot waits after a staff message in a ticket before it replies again
    /// (0-1440; 0 turns the time-based pause off). Stored for the answer bot, which reads it once
    /// it exists.
    #[serde(default = "thirty")]
    pub staff_reply_cooldown_minutes: u32,
}

/// The longest staff reply cooldown, in minutes (a day).
pub const MAX_STAFF_REPLY_COOLDOWN_MINUTES: u32 = 1440;

impl Default for GuildSettings {
    fn default() -> Self {
        GuildSettings {
            panel_channel_id: String::new(),
            transcripts_channel_id: None,
            staff_review_channel_id: None,
            staff_role_ids: Vec::new(),
            management_role_ids: Vec::new(),
            sequential_names: false,
            ticket_types: Vec::new(),
            learned_tips_channel_id: None,
            auto_learn: false,
            transcript_retention_days: thirty(),
            staff_reply_cooldown_minutes: thirty(),
        }
    }
}

/// The transcript retentions offered, in days (0: forever), as the seed lists them.
pub const TRANSCRIPT_RETENTION_DAYS: [u32; 4] = [30, 60, 90, 0];

/// A ticket type: a help topic with what Discord needs to offer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketType {
    /// Names the type in the panel's buttons (`a-z`, `0-9`, `-`; at most 32).
    pub key: String,
    /// The help topic its tickets get (routing, SLA and canned responses follow it).
    pub help_topic_id: HelpTopicId,
    /// The button's or option's text.
    pub label: String,
    /// Shown under the option in the select menu.
    #[serde(default)]
    pub description: Option<String>,
    /// The category its ticket channels are created in; a full one overflows into new ones.
    pub category_id: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// When not empty, only members with one of these roles may open this type.
    #[serde(default)]
    pub role_ids: Vec<String>,
    /// Tickets of this type a member may have open at once; 0 for no limit.
    #[serde(default = "one")]
    pub open_limit: u32,
    /// The intake form asks for a subject.
    #[serde(default)]
    pub ask_subject: bool,
    /// The intake form asks for a description.
    #[serde(default)]
    pub ask_description: bool,
}

impl TicketType {
    /// A new enabled type: one open ticket per member, open to every role, no intake questions.
    pub fn new(key: String, help_topic_id: HelpTopicId, label: String, category_id: String) -> Self {
        Self {
            key,
            help_topic_id,
            label,
            description: None,
            category_id,
            enabled: true,
            role_ids: Vec::new(),
            open_limit: 1,
            ask_subject: false,
            ask_description: false,
        }
    }
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

fn thirty() -> u32 {
    30
}

impl TicketType {
    /// Whether opening this type shows the intake form first.
    pub fn has_intake(&self) -> bool {
        self.ask_subject || self.ask_description
    }
}

/// Parses a Discord id (a snowflake, sent as a string), naming `field` when it is not one.
pub fn snowflake(field: &str, value: &str) -> Result<u64, DeskError> {
    value.trim().parse::<u64>().ok().filter(|v| *v > 0).ok_or_else(|| {
        DeskError::invalid(field, format!("{:?} is not a Discord id", value.chars().take(40).collect::<String>()))
    })
}

fn text(field: &str, value: &str, max: usize) -> Result<(), DeskError> {
    let n = value.trim().chars().count();
    if n == 0 || n > max {
        return Err(DeskError::invalid(field, format!("must be 1-{max} characters")));
    }
    Ok(())
}

fn roles(field: &str, ids: &[String]) -> Result<(), DeskError> {
    if ids.len() > MAX_ROLES {
        return Err(DeskError::invalid(field, format!("at most {MAX_ROLES} roles")));
    }
    for (i, r) in ids.iter().enumerate() {
        snowflake(&format!("{field}[{i}]"), r)?;
    }
    Ok(())
}

impl ChannelSettings for GuildSettings {
    fn validate(&self) -> Result<(), DeskError> {
        self.check(false)
    }
}

impl GuildSettings {
    /// Checks settings a guild's own `/switchboard link` saves from what it found: the panel
    /// channel and the ticket types may still be missing (the deployment is then Partial), the
    /// rest is checked as the web's save checks it.
    pub fn validate_draft(&self) -> Result<(), DeskError> {
        self.check(true)
    }

    fn check(&self, draft: bool) -> Result<(), DeskError> {
        if !(draft && self.panel_channel_id.is_empty()) {
            snowflake("panelChannelId", &self.panel_channel_id)?;
        }
        if let Some(t) = &self.learned_tips_channel_id {
            snowflake("learnedTipsChannelId", t)?;
        }
        if self.staff_reply_cooldown_minutes > MAX_STAFF_REPLY_COOLDOWN_MINUTES {
            return Err(DeskError::invalid(
                "staffReplyCooldownMinutes",
                "must be 0-1440 minutes (0 turns the pause off)",
            ));
        }
        if !TRANSCRIPT_RETENTION_DAYS.contains(&self.transcript_retention_days) {
            return Err(DeskError::invalid(
                "transcriptRetentionDays",
                "choose 30, 60 or 90 days, or 0 to keep them forever",
            ));
        }
        if let Some(t) = &self.transcripts_channel_id {
            snowflake("transcriptsChannelId", t)?;
        }
        if let Some(t) = &self.staff_review_channel_id {
            snowflake("staffReviewChannelId", t)?;
        }
        roles("staffRoleIds", &self.staff_role_ids)?;
        roles("managementRoleIds", &self.management_role_ids)?;
        if self.ticket_types.is_empty() && !draft {
            return Err(DeskError::invalid("ticketTypes", "add at least one ticket type"));
        }
        if self.ticket_types.len() > MAX_TICKET_TYPES {
            return Err(DeskError::invalid(
                "ticketTypes",
                format!("at most {MAX_TICKET_TYPES} ticket types (Discord's select menu holds 25)"),
            ));
        }
        for (i, t) in self.ticket_types.iter().enumerate() {
            let f = |name: &str| format!("ticketTypes[{i}].{name}");
            let key_ok = (1..=32).contains(&t.key.len())
                && t.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !key_ok {
                return Err(DeskError::invalid(&f("key"), "use 1-32 lower-case letters, digits or '-'"));
            }
            if self.ticket_types[..i].iter().any(|o| o.key == t.key) {
                return Err(DeskError::invalid(&f("key"), format!("{:?} is used by another ticket type", t.key)));
            }
            if t.help_topic_id.0 <= 0 {
                return Err(DeskError::invalid(&f("helpTopicId"), "choose a help topic"));
            }
            // Discord's limits: a button label 80 characters, an option's description 100.
            text(&f("label"), &t.label, 80)?;
            if let Some(d) = &t.description {
                text(&f("description"), d, 100)?;
            }
            snowflake(&f("categoryId"), &t.category_id)?;
            roles(&f("roleIds"), &t.role_ids)?;
            if t.open_limit > 100 {
                return Err(DeskError::invalid(&f("openLimit"), "at most 100 (0 for no limit)"));
            }
        }
        if !self.ticket_types.is_empty() && !self.ticket_types.iter().any(|t| t.enabled) {
            return Err(DeskError::invalid("ticketTypes", "enable at least one ticket type"));
        }
        Ok(())
    }

    /// The enabled ticket types, in the panel's order.
    pub fn enabled_types(&self) -> impl Iterator<Item = &TicketType> {
        self.ticket_types.iter().filter(|t| t.enabled)
    }

    /// The ticket type with `key`.
    pub fn ticket_type(&self, key: &str) -> Option<&TicketType> {
        self.ticket_types.iter().find(|t| t.key == key)
    }

    /// Whether a member with `roles` has a management role here.
    pub fn is_management(&self, roles: &[u64]) -> bool {
        self.management_role_ids.iter().filter_map(|r| r.parse::<u64>().ok()).any(|r| roles.contains(&r))
    }

    /// Whether a member with `roles` is staff here (a staff or management role).
    pub fn is_staff(&self, roles: &[u64]) -> bool {
        let ids = self.staff_role_ids.iter().chain(&self.management_role_ids);
        ids.filter_map(|r| r.parse::<u64>().ok()).any(|r| roles.contains(&r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> GuildSettings {
        GuildSettings {
            panel_channel_id: "1100000000000000001".into(),
            staff_role_ids: vec!["1100000000000000002".into()],
            ticket_types: vec![TicketType {
                key: "general".into(),
                help_topic_id: HelpTopicId(1),
                label: "General".into(),
                description: None,
                category_id: "1100000000000000003".into(),
                enabled: true,
                role_ids: Vec::new(),
                open_limit: 1,
                ask_subject: false,
                ask_description: false,
            }],
            ..GuildSettings::default()
        }
    }

    fn field_of(s: &GuildSettings) -> String {
        match s.validate() {
            Err(DeskError::Validation(e)) => e.field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_guild_passes_and_each_fault_names_its_field() {
        assert!(valid().validate().is_ok());
        let mut s = valid();
        s.panel_channel_id = "general".into();
        assert_eq!(field_of(&s), "panelChannelId");
        let mut s = valid();
        s.staff_role_ids.push("-4".into());
        assert_eq!(field_of(&s), "staffRoleIds[1]");
        let mut s = valid();
        s.ticket_types.push(s.ticket_types[0].clone());
        assert_eq!(field_of(&s), "ticketTypes[1].key");
        let mut s = valid();
        s.ticket_types[0].label = "x".repeat(81);
        assert_eq!(field_of(&s), "ticketTypes[0].label");
        let mut s = valid();
        s.ticket_types[0].enabled = false;
        assert_eq!(field_of(&s), "ticketTypes");
        let mut s = valid();
        s.ticket_types =
            (0..26).map(|i| TicketType { key: format!("t{i}"), ..valid().ticket_types[0].clone() }).collect();
        assert_eq!(field_of(&s), "ticketTypes");
        let mut s = valid();
        s.staff_reply_cooldown_minutes = 1441;
        assert_eq!(field_of(&s), "staffReplyCooldownMinutes");
        s.staff_reply_cooldown_minutes = 1440;
        assert!(s.validate().is_ok());
        s.transcript_retention_days = 45;
        assert_eq!(field_of(&s), "transcriptRetentionDays");
        // A draft (linked from Discord before it had a panel or types) passes the draft check only.
        let draft = GuildSettings::default();
        assert!(draft.validate_draft().is_ok());
        assert_eq!(field_of(&draft), "panelChannelId");
    }

    #[test]
    fn unknown_fields_and_defaults() {
        let parsed: GuildSettings = serde_json::from_value(serde_json::json!({
            "panel_channel_id": "5", "ticket_types": [{ "key": "a", "help_topic_id": 1, "label": "A", "category_id": "6" }]
        }))
        .unwrap();
        assert!(parsed.ticket_types[0].enabled);
        assert_eq!(parsed.ticket_types[0].open_limit, 1);
        assert_eq!((parsed.staff_reply_cooldown_minutes, parsed.transcript_retention_days), (30, 30));
        let err =
            switchboard_channel::parse_settings::<GuildSettings>(&serde_json::json!({ "panel": "5" })).unwrap_err();
        assert!(matches!(err, DeskError::Validation(ref e) if e.field == "settings"), "{err:?}");
    }
}
