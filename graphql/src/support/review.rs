//! GraphQL types of the quality review list.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use switchboard_desk::DeskError;
use switchboard_desk::domain as d;
use switchboard_desk::store::QualityFlagRecord;

use crate::types::{Ticket, id, remote_enum, time, time_opt};
use crate::{actor, desk};

remote_enum!(
    /// Why a ticket is in the quality review list.
    QualityFlagKind => "d::QualityFlagKind" { Escalated, NegativeCsat, LowConfidence });

/// A ticket in the quality review list.
pub struct QualityFlag(pub QualityFlagRecord);

#[Object]
impl QualityFlag {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn ticket_id(&self) -> ID {
        id(self.0.ticket_id.0)
    }
    /// The flagged ticket (one lookup per flag; select it only when needed).
    async fn ticket(&self, ctx: &Context<'_>) -> Result<Ticket, DeskError> {
        Ok(Ticket(desk(ctx).ticket(actor(ctx)?, self.0.ticket_id).await?))
    }
    async fn kind(&self) -> QualityFlagKind {
        self.0.kind.into()
    }
    /// Why it was flagged, e.g. the escalation reason.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    /// When someone marked it reviewed.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.resolved_at)
    }
    /// The staff member who marked it reviewed.
    async fn resolved_by_user_id(&self) -> Option<ID> {
        self.0.resolved_by.map(|u| id(u.0))
    }
}
