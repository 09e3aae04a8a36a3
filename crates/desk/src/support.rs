//! Support-ops configuration and the work time and events drive: business-hours calendars, SLA
//! policies and breaches, routing rules, automation rules, webhooks and their deliveries,
//! quality flags, manager notifications, canned response previews.

mod automation;
mod calendars;
mod canned;
pub(crate) mod follow_ups;
mod notifications;
mod review;
mod routing;
mod sla;
mod suggested_macros;
mod webhooks;

pub use automation::*;
pub use follow_ups::*;
pub use routing::*;
pub use sla::*;
pub use webhooks::*;

/// Most rows a log or list returns.
const MAX_LIST: i64 = 200;
