//! A workspace (tenant).

use super::*;

/// A workspace (tenant).
pub struct Workspace(pub WorkspaceRecord);

#[Object]
impl Workspace {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Prefix of ticket numbers, e.g. `SD` in `SD-00012`.
    async fn ticket_prefix(&self) -> &str {
        &self.0.ticket_prefix
    }
    /// IANA time zone the SLA views are computed in.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
}
