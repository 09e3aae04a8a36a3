//! The channel contract: what a transport crate (email, WhatsApp, Discord) implements to
//! plug into the helpdesk, and the [`Registry`] the server builds from its one list of modules.
//!
//! A channel module says who it is ([`ChannelModule::key`], [`ChannelModule::channel`]) and what
//! it can do ([`Capabilities`]), and hands the server the pieces it plugs in: HTTP routes, the
//! outbox sender for its replies, background workers that stop with the server, periodic
//! maintenance of its own rows, the validation of its account settings, and its GraphQL query
//! and mutation objects. The core reaches a channel only through this trait; channels reach the
//! core only through `Desk` operations.
//!
//! The server's one list of modules is written with [`channel_modules!`]: from it come both the
//! modules the [`Registry`] runs and the merged GraphQL objects of every channel, so a channel is
//! registered in one place.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_desk::domain::Channel;
use switchboard_desk::{ChannelSender, DeskError, SignInLinkSender};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use async_graphql;
pub use switchboard_desk;

/// Runs one statement on whichever database a `Tx` is open on: the body is compiled once per
/// driver, with `$c` the driver's connection. For a channel's queries on its own tables, in SQL
/// both databases run as written. Channels import it from here (`use switchboard_channel::on_tx`):
/// rustdoc does not resolve a macro re-exported through the desk's `store` module.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::switchboard_desk::store::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::switchboard_desk::store::Tx::Postgres(t)
            | $crate::switchboard_desk::store::Tx::PostgresSnapshot(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// A boxed future, as the object-safe trait methods return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a channel can do, for the core and the server to plan around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Staff replies on its tickets go out through the outbox and its sender.
    pub delivers_replies: bool,
    /// How long after the requester's last message a free-form reply may be sent (WhatsApp's
    /// 24-hour customer-service window); `None` when replies are never out of time.
    pub service_window: Option<Duration>,
    /// The largest single attachment it can carry, in bytes; `None` for no limit of its own.
    pub max_attachment_bytes: Option<u64>,
    /// The longest message body it can carry, in characters; `None` for no limit of its own.
    pub max_message_chars: Option<usize>,
}

/// A channel account's settings (a mailbox's servers, a number's Graph ids): parsed from the
/// stored JSON and checked by the channel that owns them.
pub trait ChannelSettings: Serialize + DeserializeOwned {
    /// Refuses settings the channel cannot work with, naming the field.
    fn validate(&self) -> Result<(), DeskError>;
}

/// Parses and validates settings JSON for the channel that owns type `S`; a malformed document
/// is a validation error on `settings`.
pub fn parse_settings<S: ChannelSettings>(json: &serde_json::Value) -> Result<S, DeskError> {
    let settings: S =
        serde_json::from_value(json.clone()).map_err(|e| DeskError::invalid("settings", e.to_string()))?;
    settings.validate()?;
    Ok(settings)
}

/// The server's shutdown signal as a channel's workers see it.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Resolves once the server is stopping (at once if it already is).
    pub async fn signalled(&mut self) {
        // An error means the sender is gone: the server is gone too.
        let _ = self.0.wait_for(|stopping| *stopping).await;
    }

    /// Spawns `work` so that it is dropped (at its next await) when the server stops.
    pub fn spawn<F>(&self, work: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut shutdown = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = work => {}
                _ = shutdown.signalled() => {}
            }
        })
    }
}

/// A channel's GraphQL query or mutation object: an async-graphql object whose fields are merged
/// into the schema's root `Query` or `Mutation`. `Default` builds the one the schema's SDL is
/// printed from (no running channel behind it).
pub trait ChannelGraphql: async_graphql::ObjectType + Default + Send + Sync + 'static {}

impl<T: async_graphql::ObjectType + Default + Send + Sync + 'static> ChannelGraphql for T {}

/// The GraphQL object of a channel that adds no fields to a root type.
pub type NoGraphql = async_graphql::EmptyMutation;

/// A transport plugged into the helpdesk. Every method but the identity has a default, so a
/// module implements only the pieces it has. The GraphQL types are known only statically (the
/// schema is built from them at compile time), so they and their methods need `Self: Sized`;
/// the rest is called through `dyn ChannelModule` by the [`Registry`].
pub trait ChannelModule: Send + Sync {
    /// Its GraphQL reads, merged into the schema's `Query` ([`NoGraphql`] for none). Field names
    /// start with the channel's key (`emailMailboxes`): every channel shares the root types.
    type Query: ChannelGraphql
    where
        Self: Sized;

    /// Its GraphQL changes, merged into the schema's `Mutation` ([`NoGraphql`] for none).
    type Mutation: ChannelGraphql
    where
        Self: Sized;

    /// The query object the running server serves, holding what its resolvers need of the module.
    fn graphql_query(&self) -> Self::Query
    where
        Self: Sized,
    {
        Self::Query::default()
    }

    /// The mutation object the running server serves (see [`ChannelModule::graphql_query`]).
    fn graphql_mutation(&self) -> Self::Mutation
    where
        Self: Sized,
    {
        Self::Mutation::default()
    }

    /// The channel's key, lower case, as stored on tickets and entries (e.g. `email`).
    fn key(&self) -> &'static str {
        self.channel().as_str()
    }

    /// The channel this module carries.
    fn channel(&self) -> Channel;

    /// The channel's name as people read it (e.g. `WhatsApp`).
    fn display_name(&self) -> &'static str;

    /// What the channel can do.
    fn capabilities(&self) -> Capabilities;

    /// Its HTTP endpoints (webhooks, raw inbound), merged into the server's router.
    fn routes(&self) -> Option<Router> {
        None
    }

    /// Its outbox sender; required when [`Capabilities::delivers_replies`] is set.
    fn sender(&self) -> Option<Arc<dyn ChannelSender>> {
        None
    }

    /// A sender of customers' sign-in links, if the channel can carry them (email can).
    fn sign_in_link_sender(&self) -> Option<Arc<dyn SignInLinkSender>> {
        None
    }

    /// Starts its background workers (pollers, inbox sweeps); each ends when `shutdown` fires.
    fn start_workers(&self, shutdown: &Shutdown) -> Vec<JoinHandle<()>> {
        let _ = shutdown;
        Vec::new()
    }

    /// Periodic maintenance of its own rows (pruning old records), run by the job runner's
    /// sweep. Returns how many rows it removed.
    fn maintain(&self) -> BoxFuture<'_, Result<u64, DeskError>> {
        Box::pin(async { Ok(0) })
    }

    /// Checks an account's settings JSON; see [`parse_settings`].
    fn validate_settings(&self, settings: &serde_json::Value) -> Result<(), DeskError> {
        let _ = settings;
        Ok(())
    }
}

/// The channel modules a server runs, with their GraphQL objects merged: what a function written
/// with [`channel_modules!`] returns.
pub struct ChannelList<Q, M> {
    /// Every module, in the list's order, for [`Registry::new`].
    pub modules: Vec<Arc<dyn ChannelModule>>,
    /// Every channel's query object, merged; a field of the schema's root `Query`.
    pub query: Q,
    /// Every channel's mutation object, merged; a field of the schema's root `Mutation`.
    pub mutation: M,
}

/// Writes the one list of channel modules a server runs, and derives everything else from it.
///
/// ```text
/// switchboard_channel::channel_modules! {
///     /// The channel modules this server runs.
///     fn channel_modules(desk: &Desk) -> ChannelQuery, ChannelMutation {
///         email: switchboard_email::EmailModule = switchboard_email::EmailModule::new(desk.clone()),
///         chat: my_chat::ChatModule = my_chat::ChatModule::new(desk.clone()),
///     }
/// }
/// ```
///
/// expands to the function, which builds each module with its expression and returns a
/// [`ChannelList`] (the modules, and the objects the running modules serve), and to the two
/// structs `ChannelQuery` and `ChannelMutation`, which merge every module's
/// [`ChannelModule::Query`] and [`ChannelModule::Mutation`] with async-graphql's `MergedObject`.
/// The server puts them beside the core's objects in its root `Query` and `Mutation`; their
/// `Default` is the schema whose SDL is checked in. Adding a channel is one line here.
#[macro_export]
macro_rules! channel_modules {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $arg_ty:ty),* $(,)?) -> $query:ident, $mutation:ident {
            $($module:ident: $module_ty:ty = $make:expr),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis fn $name($($arg: $arg_ty),*) -> $crate::ChannelList<$query, $mutation> {
            $(let $module: $module_ty = $make;)+
            $crate::ChannelList {
                query: $query($($crate::ChannelModule::graphql_query(&$module)),+),
                mutation: $mutation($($crate::ChannelModule::graphql_mutation(&$module)),+),
                modules: ::std::vec![
                    $(::std::sync::Arc::new($module) as ::std::sync::Arc<dyn $crate::ChannelModule>),+
                ],
            }
        }

        #[derive($crate::async_graphql::MergedObject, Default)]
        #[graphql(crate = "::switchboard_channel::async_graphql")]
        $vis struct $query($(<$module_ty as $crate::ChannelModule>::Query),+);

        #[derive($crate::async_graphql::MergedObject, Default)]
        #[graphql(crate = "::switchboard_channel::async_graphql")]
        $vis struct $mutation($(<$module_ty as $crate::ChannelModule>::Mutation),+);
    };
}

/// Why the server cannot start with a list of modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryError {
    /// Two modules carry the same channel.
    Duplicate(&'static str),
    /// A module says it delivers replies but offers no sender for them.
    NoSender(&'static str),
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryError::Duplicate(key) => write!(f, "two channel modules carry the {key} channel"),
            RegistryError::NoSender(key) => {
                write!(f, "the {key} channel module says it delivers replies but offers no sender")
            }
        }
    }
}

impl std::error::Error for RegistryError {}

/// The channel modules a server runs, checked for consistency.
#[derive(Clone)]
pub struct Registry {
    modules: Vec<Arc<dyn ChannelModule>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.modules.iter().map(|m| m.key())).finish()
    }
}

impl Registry {
    /// Registers `modules`; refuses two modules for one channel, and a module that delivers
    /// replies without a sender (its replies would wait forever).
    pub fn new(modules: Vec<Arc<dyn ChannelModule>>) -> Result<Registry, RegistryError> {
        for (i, m) in modules.iter().enumerate() {
            if modules[..i].iter().any(|o| o.channel() == m.channel()) {
                return Err(RegistryError::Duplicate(m.key()));
            }
            if m.capabilities().delivers_replies && m.sender().is_none() {
                return Err(RegistryError::NoSender(m.key()));
            }
        }
        Ok(Registry { modules })
    }

    /// The registered modules, in the order given.
    pub fn modules(&self) -> &[Arc<dyn ChannelModule>] {
        &self.modules
    }

    /// The module carrying `channel`, if one is registered.
    pub fn module(&self, channel: Channel) -> Option<&Arc<dyn ChannelModule>> {
        self.modules.iter().find(|m| m.channel() == channel)
    }

    /// Every module's outbox sender.
    pub fn senders(&self) -> Vec<Arc<dyn ChannelSender>> {
        self.modules.iter().filter_map(|m| m.sender()).collect()
    }

    /// The channels whose replies some module sends: replies on any other channel that needs
    /// delivery fail at once instead of waiting forever.
    pub fn reply_channels(&self) -> Vec<Channel> {
        self.senders().iter().map(|s| s.channel()).collect()
    }

    /// The first module that can send customers' sign-in links.
    pub fn sign_in_link_sender(&self) -> Option<Arc<dyn SignInLinkSender>> {
        self.modules.iter().find_map(|m| m.sign_in_link_sender())
    }

    /// Every module's routes, merged.
    pub fn routes(&self) -> Router {
        self.modules.iter().filter_map(|m| m.routes()).fold(Router::new(), Router::merge)
    }

    /// Starts every module's workers; they stop with [`Workers::shutdown`].
    pub fn start_workers(&self) -> Workers {
        let (stop, stopping) = watch::channel(false);
        let shutdown = Shutdown(stopping);
        let handles = self.modules.iter().flat_map(|m| m.start_workers(&shutdown)).collect();
        Workers { stop, handles }
    }

    /// Runs every module's maintenance, logging what each did; one failing does not stop the rest.
    pub async fn maintain(&self) {
        for m in &self.modules {
            match m.maintain().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(channel = m.key(), deleted = n, "channel maintenance removed old rows"),
                Err(e) => tracing::error!(channel = m.key(), error = %e, "channel maintenance failed"),
            }
        }
    }
}

/// The running workers of every module.
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Signals every worker to stop and waits (up to ten seconds) for them to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            let abort = h.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), h).await.is_err() {
                abort.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_desk::{DeliveryOutcome, OutboundMessage};

    struct Module {
        channel: Channel,
        delivers: bool,
        sender: bool,
    }

    struct Sender(Channel);

    impl ChannelSender for Sender {
        fn channel(&self) -> Channel {
            self.0
        }
        fn send<'a>(&'a self, _: &'a OutboundMessage) -> BoxFuture<'a, DeliveryOutcome> {
            Box::pin(async { DeliveryOutcome::Sent { external_message_id: None } })
        }
    }

    impl ChannelModule for Module {
        type Query = NoGraphql;
        type Mutation = NoGraphql;

        fn channel(&self) -> Channel {
            self.channel
        }
        fn display_name(&self) -> &'static str {
            "Test"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities { delivers_replies: self.delivers, ..Capabilities::default() }
        }
        fn sender(&self) -> Option<Arc<dyn ChannelSender>> {
            self.sender.then(|| Arc::new(Sender(self.channel)) as Arc<dyn ChannelSender>)
        }
        fn start_workers(&self, shutdown: &Shutdown) -> Vec<JoinHandle<()>> {
            vec![shutdown.spawn(std::future::pending())]
        }
    }

    fn module(channel: Channel, delivers: bool, sender: bool) -> Arc<dyn ChannelModule> {
        Arc::new(Module { channel, delivers, sender })
    }

    #[test]
    fn a_module_that_delivers_replies_without_a_sender_is_refused() {
        let err = Registry::new(vec![module(Channel::Discord, true, false)]).unwrap_err();
        assert_eq!(err, RegistryError::NoSender("discord"));
        assert_eq!(err.to_string(), "the discord channel module says it delivers replies but offers no sender");
        // Without the claim, no sender is fine: the channel's replies then never need delivery.
        assert!(Registry::new(vec![module(Channel::Discord, false, false)]).is_ok());
    }

    #[test]
    fn two_modules_for_one_channel_are_refused() {
        let err = Registry::new(vec![module(Channel::Email, true, true), module(Channel::Email, true, true)]);
        assert_eq!(err.unwrap_err(), RegistryError::Duplicate("email"));
    }

    #[test]
    fn reply_channels_are_those_with_a_sender() {
        let r = Registry::new(vec![module(Channel::Email, true, true), module(Channel::Phone, false, false)]).unwrap();
        assert_eq!(r.reply_channels(), vec![Channel::Email]);
        assert!(r.module(Channel::Phone).is_some());
        assert!(r.module(Channel::Discord).is_none());
    }

    #[tokio::test]
    async fn workers_stop_with_the_shutdown_signal() {
        let r = Registry::new(vec![module(Channel::Phone, false, false)]).unwrap();
        let workers = r.start_workers();
        assert_eq!(workers.handles.len(), 1);
        // The worker never ends by itself: only the signal can end it within the timeout.
        tokio::time::timeout(Duration::from_secs(5), workers.shutdown()).await.expect("workers stopped");
    }
}
