//! Rows as storage returns them, and the inputs storage writes: one `<feature>_records.rs` per
//! table group, beside the `<feature>_queries.rs` that reads and writes them, gathered here under
//! one path.

pub use crate::api_tokens_records::*;
pub use crate::calendars_records::*;
pub use crate::canned_records::*;
pub use crate::contacts_records::*;
pub use crate::entries_records::*;
pub use crate::events_records::*;
pub use crate::forms_records::*;
pub use crate::help_topics_records::*;
pub use crate::history_records::*;
pub use crate::import_records::*;
pub use crate::insights_records::*;
pub use crate::notifications_records::*;
pub use crate::outbox_records::*;
pub use crate::queues_records::*;
pub use crate::review_records::*;
pub use crate::routing_records::*;
pub use crate::sign_in_records::*;
pub use crate::sla_records::*;
pub use crate::suggested_macros_records::*;
pub use crate::tickets_records::*;
pub use crate::users_records::*;
pub use crate::webhooks_records::*;
pub use crate::workspaces_records::*;
