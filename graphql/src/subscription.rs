use async_graphql::{Context, ID, SimpleObject, Subscription as GqlSubscription};
use std::time::{Duration, Instant};

use futures_util::Stream;
use switchboard_desk::DeskError;
use switchboard_desk::LiveUpdate;
use switchboard_desk::domain::Permission;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::{SessionToken, actor, desk};

/// How often a live subscription checks that its session still stands, when events flow.
const SESSION_CHECK: Duration = Duration::from_secs(2);
/// How often an idle subscription checks it.
const IDLE_SESSION_CHECK: Duration = Duration::from_secs(10);

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
            // A subscriber that fell behind lost events, as does one whose replica lost touch
            // with the others: it is told to reload, not failed.
            let e = match e {
                Ok(LiveUpdate::Event(e)) => e,
                Ok(LiveUpdate::Resync) | Err(_) => return Some(TicketEvent::resync()),
            };
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
        // deactivated) stops getting events and the subscription ends: checked before an event
        // goes out, at most every SESSION_CHECK (a busy workspace does not cost a read per event
        // per subscriber), and on an idle subscription every IDLE_SESSION_CHECK (`None` below).
        let idle = futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(IDLE_SESSION_CHECK).await;
            Some((None, ()))
        });
        let items = events.map(Some).merge(idle);
        let mut checked = Instant::now();
        let items = futures_util::StreamExt::then(items, move |item: Option<TicketEvent>| {
            let check = match &session {
                Some(SessionToken(token)) if checked.elapsed() >= SESSION_CHECK => {
                    checked = Instant::now();
                    Some((desk.clone(), token.clone()))
                }
                _ => None,
            };
            async move {
                let valid = match check {
                    // Only a refused token ends it; a database hiccup must not cut live updates.
                    Some((desk, token)) => {
                        !matches!(desk.authenticate(&token).await, Err(DeskError::Unauthenticated(_)))
                    }
                    None => true,
                };
                valid.then_some(item)
            }
        });
        let items = futures_util::StreamExt::take_while(items, |i| std::future::ready(i.is_some()));
        Ok(tokio_stream::once(TicketEvent::resync()).chain(items.filter_map(Option::flatten)))
    }
}
