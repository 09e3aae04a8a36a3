//! Closed sets of values stored as lowercase text in both databases.

use crate::ValidationError;

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the stored spelling; `field` names the input in the error.
            pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
                match s { $($text => Ok($name::$variant),)+
                    _ => Err(ValidationError::new(field, format!(
                        "unknown value {s:?}; expected one of: {}",
                        [$($text),+].join(", ")))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s, stringify!($name))
            }
        }
    };
}

string_enum!(
    /// Where a ticket is in its life.
    TicketStatus {
        /// New or reopened, waiting for staff.
        Open = "open",
        /// Someone on staff is working on it.
        InProgress = "in_progress",
        /// Waiting on the customer; the SLA clock pauses.
        Waiting = "waiting",
        /// Staff consider it solved; the customer may still reopen it.
        Resolved = "resolved",
        /// Finished, with a close reason.
        Closed = "closed",
    }
);

impl TicketStatus {
    /// Statuses that still need work (the queue views' "open" set).
    pub const ACTIVE: &'static [TicketStatus] = &[TicketStatus::Open, TicketStatus::InProgress, TicketStatus::Waiting];

    /// True while the ticket still needs work.
    pub fn is_active(self) -> bool {
        Self::ACTIVE.contains(&self)
    }
}

string_enum!(
    /// Whose turn it is on a ticket that is not resolved or closed (the staff queue's views).
    Awaiting {
        /// The customer spoke last (or opened it) and the ticket is not waiting on them.
        Staff = "staff",
        /// The ticket is waiting on the customer, or staff's public reply is the latest message.
        Customer = "customer",
    }
);

string_enum!(
    /// How urgent a ticket is.
    Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
);

// `Source` and `Channel` are the registry of channel keys: the one place the core names its
// transports. A channel module registers under one of these keys (`ChannelModule::channel`), the
// GraphQL API exposes them as its `Source` and `Channel` enums, and everything else (contact
// identities, channel accounts, entries) stores the key. A new transport adds its key here and in
// the `for_*` mappings below, nowhere else in the core.
string_enum!(
    /// How the ticket reached us.
    Source {
        Portal = "portal", Email = "email", Phone = "phone", Chat = "chat", Api = "api",
        Discord = "discord", Whatsapp = "whatsapp",
    }
);

string_enum!(
    /// The transport an entry travelled on.
    Channel { Web = "web", Portal = "portal", Email = "email", Whatsapp = "whatsapp", Discord = "discord", Api = "api", Phone = "phone" }
);

impl Channel {
    /// Channels whose replies must be delivered to the requester by a worker (through the outbox).
    pub fn delivers_replies(self) -> bool {
        matches!(self, Channel::Email | Channel::Whatsapp | Channel::Discord)
    }

    /// Conversational channels, where the answer bot may answer a requester's message by itself
    /// (web entries only count when their ticket began as a chat, which the desk checks). Email
    /// is not one: an automatic answer to mail would need a per-mailbox switch, not built.
    pub fn answer_bot_replies(self) -> bool {
        matches!(self, Channel::Portal | Channel::Whatsapp | Channel::Discord)
    }

    /// The channel a ticket from `source` is answered on.
    pub fn for_source(source: Source) -> Channel {
        match source {
            Source::Email => Channel::Email,
            Source::Whatsapp => Channel::Whatsapp,
            Source::Discord => Channel::Discord,
            Source::Portal => Channel::Portal,
            Source::Phone => Channel::Phone,
            Source::Api => Channel::Api,
            Source::Chat => Channel::Web,
        }
    }
}

impl Source {
    /// The source a ticket opened from a message on `channel` gets (web chat is `chat`).
    pub fn for_channel(channel: Channel) -> Source {
        match channel {
            Channel::Email => Source::Email,
            Channel::Whatsapp => Source::Whatsapp,
            Channel::Discord => Source::Discord,
            Channel::Portal => Source::Portal,
            Channel::Phone => Source::Phone,
            Channel::Web => Source::Chat,
            Channel::Api => Source::Api,
        }
    }
}

string_enum!(
    /// A staff member's role; it decides their permission keys.
    Role { Agent = "agent", Supervisor = "supervisor", Admin = "admin" }
);

string_enum!(
    /// What kind of thread entry this is.
    EntryKind {
        /// A public reply, visible to the requester.
        Reply = "reply",
        /// An internal note, never visible to the requester.
        Note = "note",
        /// Something the system recorded (e.g. an unknown inbound message type).
        System = "system",
    }
);

string_enum!(
    /// How a requester is typed, as the service-desk model has it.
    RequesterType { BusinessPartner = "business_partner", Account = "account", Manual = "manual" }
);

string_enum!(
    /// Why a ticket was closed.
    CloseReason {
        Resolved = "resolved", Duplicate = "duplicate", UserUnresponsive = "user_unresponsive",
        OutOfScope = "out_of_scope", Spam = "spam", Other = "other",
    }
);

string_enum!(
    /// A queue member's role.
    MemberRole { Member = "member", Lead = "lead" }
);

string_enum!(
    /// How new tickets in a queue get an assignee.
    AssignmentMode { Manual = "manual", RoundRobin = "round_robin", LoadBalanced = "load_balanced" }
);

string_enum!(
    /// The state of an outbound delivery.
    DeliveryStatus { Pending = "pending", Sent = "sent", Delivered = "delivered", Read = "read", Failed = "failed" }
);

string_enum!(
    /// The ticket fact a routing clause reads.
    ClauseField {
        Priority = "priority", Source = "source", Tag = "tag", RequesterType = "requester_type",
        HelpTopic = "help_topic", Channel = "channel", Text = "text",
    }
);

string_enum!(
    /// How a routing clause compares its field with its value.
    ClauseOp { Is = "is", IsNot = "is_not", Contains = "contains", NotContains = "not_contains" }
);

string_enum!(
    /// How a routing rule joins its clauses.
    RuleJoin {
        /// Every clause must match.
        And = "and",
        /// Any one clause is enough.
        Or = "or",
    }
);

string_enum!(
    /// When an automation rule is evaluated.
    AutomationTrigger {
        TicketOpened = "ticket_opened", TicketEscalated = "ticket_escalated", MessageContains = "message_contains",
        CsatNegative = "csat_negative", SlaBreach = "sla_breach",
    }
);

string_enum!(
    /// Which SLA target a breach missed.
    SlaTarget { FirstResponse = "first_response", Resolution = "resolution" }
);

string_enum!(
    /// Why a ticket is in the quality review list.
    QualityFlagKind {
        /// Reached staff without a confident answer.
        Escalated = "escalated",
        /// The requester rated the ticket badly.
        NegativeCsat = "negative_csat",
        /// An automatic answer went out with weak support.
        LowConfidence = "low_confidence",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_names_the_field() {
        for s in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(s.as_str(), "status"), Ok(*s));
        }
        let err = Priority::parse("critical", "input.priority").unwrap_err();
        assert_eq!(err.field, "input.priority");
        assert!(err.message.contains("urgent"));
    }
}
