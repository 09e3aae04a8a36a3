use async_graphql::{Context, ID, SimpleObject, Subscription as GqlSubscription};
use std::time::{Duration, Instant};

use futures_util::Stream;
use switchboard_desk::DeskError;
use switchboard_desk::domain::Permission;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::{SessionToken, actor, desk};

/// How often a live subscription checks that its session still stands.
const SESSION_CHECK: Duration = Duration::from_secs(2);

/// Live updates over WebSocket (graphql-transport-ws); authenticate in `connection_init`
/// with `{"token": "<bearer token>"}`.
#[derive(Debug, Default)]
pub struct Subscription;

/// A committed change to a ticket, or `resync`.
#[derive(SimpleObject, Clone)]
pub struct TicketEvent {
    /// `ticket.opened`, `ticket.updated`, `entry.created`, `ticket.closed`, `ticket.reopened`, or
    /// `resync`: changes may have been missed (the subscription just started, or fell behind),
    /// so reload what is shown. Every subscription starts with one.
    pub kind: String,
    /// The ticket; none on `resync`.
    pub ticket_id: Option<ID>,
    pub ticket_number: Option<String>,
    pub entry_id: Option<ID>,
}

impl TicketEvent {
    fn resync() -> TicketEvent {
        TicketEvent { kind: "resync".into(), ticket_id: None, ticket_number: None, entry_id: None }
    }
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
        let session = ctx.data_opt::<SessionToken>().cloned();
        let desk = desk(ctx).clone();
        // Subscribed from here on: the opening resync tells the client that anything committed
        // after it arrives, so a reload now misses nothing.
        let rx = desk.subscribe();
        let events = BroadcastStream::new(rx).filter_map(move |e| {
            // A subscriber that fell behind lost events: it is told to reload, not failed.
            let Ok(e) = e else { return Some(TicketEvent::resync()) };
            let visible =
                e.workspace_id == a.workspace_id && (staff || (Some(e.requester_id) == a.contact_id() && !e.internal));
            visible.then(|| TicketEvent {
                kind: e.kind.to_string(),
                ticket_id: Some(ID(e.ticket_id.to_string())),
                ticket_number: Some(e.ticket_number),
                entry_id: e.entry_id.map(|id| ID(id.to_string())),
            })
        });
        // A session signed out everywhere (or whose password changed, or whose account was
        // deactivated) stops getting events: checked before an event goes out, at most every
        // SESSION_CHECK, so a busy workspace does not cost a read per event per subscriber.
        let mut checked = Instant::now();
        let events = futures_util::StreamExt::then(events, move |event| {
            let (desk, session) = (desk.clone(), session.clone());
            let due = checked.elapsed() >= SESSION_CHECK;
            if due {
                checked = Instant::now();
            }
            async move {
                let valid = match (&session, due) {
                    (Some(SessionToken(token)), true) => desk.authenticate(token).await.is_ok(),
                    _ => true,
                };
                valid.then_some(event)
            }
        });
        let events = futures_util::StreamExt::take_while(events, |e| std::future::ready(e.is_some()));
        Ok(tokio_stream::once(TicketEvent::resync()).chain(events.filter_map(|e| e)))
    }
}
