use async_graphql::{Context, ID, SimpleObject, Subscription as GqlSubscription};
use futures_util::Stream;
use switchboard_desk::DeskError;
use switchboard_desk::domain::Permission;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::{actor, desk};

/// Live updates over WebSocket (graphql-transport-ws); authenticate in `connection_init`
/// with `{"token": "<bearer token>"}`.
#[derive(Debug, Default)]
pub struct Subscription;

/// A committed change to a ticket.
#[derive(SimpleObject, Clone)]
pub struct TicketEvent {
    /// `ticket.opened`, `ticket.updated`, `entry.created`, `ticket.closed` or `ticket.reopened`.
    pub kind: String,
    pub ticket_id: ID,
    pub ticket_number: String,
    pub entry_id: Option<ID>,
}

#[GqlSubscription]
impl Subscription {
    /// Changes to tickets of the caller's workspace as they are committed. Customers receive
    /// only public changes to their own tickets.
    async fn ticket_events(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = TicketEvent> + use<>, DeskError> {
        let a = actor(ctx)?.clone();
        let staff = a.is_staff_side();
        if staff && !a.can(Permission::View) {
            return Err(DeskError::Forbidden(format!("this needs the {} permission", Permission::View.key())));
        }
        let rx = desk(ctx).subscribe();
        Ok(BroadcastStream::new(rx).filter_map(move |e| {
            // A lagging subscriber skips what it missed rather than failing the stream.
            let e = e.ok()?;
            let visible =
                e.workspace_id == a.workspace_id && (staff || (Some(e.requester_id) == a.contact_id() && !e.internal));
            visible.then(|| TicketEvent {
                kind: e.kind.to_string(),
                ticket_id: ID(e.ticket_id.to_string()),
                ticket_number: e.ticket_number,
                entry_id: e.entry_id.map(|id| ID(id.to_string())),
            })
        }))
    }
}
