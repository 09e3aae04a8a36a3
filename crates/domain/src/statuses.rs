//! Statuses and kinds of the core's bookkeeping rows (the outbox, sign-in link emails, webhook
//! deliveries, suggested macros, events and notifications), stored as lowercase text with the
//! same `string_enum!` as the ticket's enums; the stored spellings are the ones written before
//! these types existed.

use crate::ValidationError;

string_enum!(
    /// Where a message we send is: a reply in the outbox (`outbox.status`) or a sign-in link's
    /// email (`customer_sign_in_links.send_status`). Both are retried the same way.
    SendStatus {
        /// Waiting for its first or next attempt.
        Pending = "pending",
        /// The channel or mail server took it.
        Sent = "sent",
        /// Given up: refused for good, out of attempts, or nothing can send it.
        Failed = "failed",
    }
);

string_enum!(
    /// Where one event's delivery to one webhook endpoint is.
    WebhookDeliveryStatus {
        /// Not delivered yet; retried at its next attempt time.
        Pending = "pending",
        /// The endpoint answered 2xx.
        Delivered = "delivered",
        /// Every attempt failed; no more are made.
        Failed = "failed",
    }
);

string_enum!(
    /// An admin's decision on a suggested macro.
    SuggestionStatus {
        /// Waiting for a decision.
        Pending = "pending",
        /// Turned into a canned response.
        Accepted = "accepted",
        /// Hidden for good.
        Dismissed = "dismissed",
    }
);

string_enum!(
    /// What a row of the event stream records; webhooks subscribe to most of these by the same
    /// name (`WebhookEvent`), automation and manager alerts count them.
    EventKind {
        TicketOpened = "ticket.opened",
        TicketUpdated = "ticket.updated",
        TicketEscalated = "ticket.escalated",
        TicketClosed = "ticket.closed",
        TicketReopened = "ticket.reopened",
        /// The requester rated the ticket (any rating; `csat.negative` follows a bad one): the
        /// insights rollups count ratings from it. Not a webhook event.
        TicketRated = "ticket.rated",
        EntryCreated = "entry.created",
        CsatNegative = "csat.negative",
        SlaBreach = "sla.breach",
        /// A knowledge document was created or its content changed (the search layer re-indexes it).
        KnowledgeDocumentChanged = "knowledge.document.changed",
        /// A knowledge document was deleted (the search layer drops its chunks).
        KnowledgeDocumentDeleted = "knowledge.document.deleted",
        /// Transcript retention deleted a closed ticket's messages (the search layer re-indexes
        /// the ticket without them).
        TicketTranscriptPurged = "ticket.transcript_purged",
    }
);

string_enum!(
    /// What a message to the workspace's managers is about.
    NotificationKind {
        /// A ticket missed an SLA target.
        SlaBreach = "sla.breach",
        /// An automation rule's "notify managers" action.
        Automation = "automation",
        /// Too many tickets wait unassigned (a manager alert).
        QueueDepth = "queue_depth",
        /// Satisfaction fell (a manager alert).
        CsatDrop = "csat_drop",
        /// Escalations spiked (a manager alert).
        EscalationSpike = "escalation_spike",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_spellings_round_trip() {
        for s in SendStatus::ALL {
            assert_eq!(SendStatus::parse(s.as_str(), "status"), Ok(*s));
        }
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str(), "kind"), Ok(*k));
        }
        for k in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(k.as_str(), "kind"), Ok(*k));
        }
        assert!(WebhookDeliveryStatus::parse("sent", "status").is_err());
    }

    #[test]
    fn every_webhook_event_is_an_event_kind() {
        for e in crate::WebhookEvent::ALL {
            assert!(EventKind::parse(e.as_str(), "kind").is_ok(), "{e:?}");
        }
    }
}
