//! Switchboard's domain: everything about tickets that can be decided from values alone.
//!
//! No I/O and no async live here. Storage, transports and jobs call into these types so that the
//! rules (which status transitions are allowed, who may do what, what a valid subject is) are
//! written once and unit-tested without a database.

mod actor;
mod enums;
mod error;
mod ids;
mod sla;
mod text;
mod ticket;

pub use actor::{Actor, ActorKind, Permission};
pub use chrono_tz::Tz;
pub use enums::*;
pub use error::ValidationError;
pub use ids::*;
pub use sla::{SlaFilter, SlaWindow, next_sla_due, parse_time_zone, sla_window};
pub use text::{
    EmailAddress, MAX_BODY_CHARS, MAX_CLOSE_NOTE_CHARS, MAX_SUBJECT_CHARS, MAX_TAG_CHARS, mentions, normalize_tag,
    validate_body, validate_close_note, validate_name, validate_subject,
};
pub use ticket::{StatusChange, TicketNumber, check_transition};

/// Milliseconds since the Unix epoch, UTC: the one time representation stored everywhere.
pub type Millis = i64;
