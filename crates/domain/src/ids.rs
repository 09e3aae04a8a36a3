//! Typed row identifiers, so a queue id can never be passed where a ticket id is expected.

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                Self(v)
            }
        }
    )*};
}

ids! {
    /// A tenant: a company, a chat server, a team.
    WorkspaceId,
    /// A staff member (agent, supervisor, admin).
    UserId,
    /// A requester: someone who asks for help through any channel.
    ContactId,
    /// A ticket.
    TicketId,
    /// A thread entry (reply, internal note or system event) on a ticket.
    EntryId,
    /// A queue of tickets worked by its members.
    QueueId,
    /// A help topic that classifies tickets and supplies defaults.
    HelpTopicId,
    /// A reusable reply template.
    CannedResponseId,
    /// An integrator's API token.
    ApiTokenId,
    /// A stored file attached to an entry.
    AttachmentId,
    /// A business-hours calendar.
    CalendarId,
    /// An SLA policy: targets for a priority (and help topic).
    SlaPolicyId,
    /// A routing rule.
    RoutingRuleId,
    /// A webhook endpoint.
    WebhookId,
    /// One event's delivery to one webhook endpoint.
    WebhookDeliveryId,
    /// A ticket in the quality review list.
    QualityFlagId,
    /// A message to managers.
    NotificationId,
    /// A suggested macro awaiting an admin's decision.
    MacroSuggestionId,
    /// A reply in the outbox, waiting for (or done with) delivery by its channel.
    OutboxId,
    /// A customer's one-time sign-in link to the My Tickets portal.
    SignInLinkId,
    /// A domain event in the stream that webhooks, automation and search read.
    EventId,
    /// One recorded change in a ticket's history.
    HistoryId,
    /// A channel account: one inbox of a channel (an address, a business number, a chat server).
    ChannelAccountId,
    /// How a contact is known on a channel (a contact identity row).
    ContactIdentityId,
    /// How a staff member is known on a channel (a staff identity row).
    StaffIdentityId,
    /// A message a channel received, recorded by the channel's key for it.
    ChannelMessageId,
    /// An event a channel stored in its durable inbox before processing it.
    ChannelInboxId,
}
