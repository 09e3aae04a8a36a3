//! Support-ops configuration and the work time and events drive, one module per feature, named
//! as the GraphQL layer names them: business-hours `calendars`, `sla` (policies, breaches, the
//! trend), `routing` rules, `automation` rules, `webhooks` and their deliveries, quality
//! `review`, manager `notifications`, `canned` response previews, `follow_ups` (after close,
//! manager alerts, quiet tickets), `suggested_macros` and `insights` (the daily rollups and
//! the service metrics read from them).

mod automation;
mod calendars;
mod canned;
pub(crate) mod follow_ups;
mod insights;
mod notifications;
mod review;
mod routing;
mod sla;
mod suggested_macros;
mod webhooks;

pub use automation::*;
pub use follow_ups::*;
pub use insights::*;
pub use routing::*;
pub use sla::*;
pub use webhooks::*;

/// Most rows a log or list returns.
const MAX_LIST: i64 = 200;
