//! GraphQL types of the support-ops configuration and what it drives, one module per feature
//! with the desk's names: `calendars`, `sla`, `routing`, `automation`, `webhooks`, `review`
//! (quality flags), `notifications`, `follow_ups`, `suggested_macros` and `insights`. Conversion only: the
//! desk validates.

mod automation;
mod calendars;
mod follow_ups;
mod insights;
mod notifications;
mod review;
mod routing;
mod sla;
mod suggested_macros;
mod webhooks;

pub use automation::*;
pub use calendars::*;
pub use follow_ups::*;
pub use insights::*;
pub use notifications::*;
pub use review::*;
pub use routing::*;
pub use sla::*;
pub use suggested_macros::*;
pub use webhooks::*;
