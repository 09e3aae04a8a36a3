//! Support-ops configuration and the work time and events drive, one module per feature, named
//! as the GraphQL layer names them: business-hours `calendars`, `sla` (policies, breaches, the
//! trend), `routing` rules, `automation` rules, `webhooks` and their deliveries, quality
//! `review`, manager `notifications`, `canned` response previews, `follow_ups` (after close,
//! manager alerts, quiet tickets) and `suggested_macros`.

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
