//! GraphQL types of the support-ops configuration and what it drives: business-hours calendars,
//! SLA policies, settings and breaches, routing and automation rules, webhooks and their
//! deliveries, quality flags and manager notifications. Conversion only: the desk validates.

mod automation;
mod calendars;
mod follow_ups;
mod notifications;
mod review;
mod routing;
mod sla;
mod suggested_macros;
mod webhooks;

pub use automation::*;
pub use calendars::*;
pub use follow_ups::*;
pub use notifications::*;
pub use review::*;
pub use routing::*;
pub use sla::*;
pub use suggested_macros::*;
pub use webhooks::*;
