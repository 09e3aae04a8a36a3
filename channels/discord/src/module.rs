//! The Discord channel as a [`ChannelModule`]: the gateway connection as a worker, the outbox
//! sender for staff replies.

use std::sync::Arc;

use switchboard_channel::{Capabilities, ChannelModule, Shutdown};
use switchboard_desk::domain::Channel;
use switchboard_desk::{ChannelSender, DeskError};
use tokio::task::JoinHandle;

use crate::settings::GuildSettings;
use crate::{DiscordChannel, DiscordSender, MAX_ATTACHMENT_BYTES};

/// The Discord channel, ready to register with the server.
#[derive(Debug)]
pub struct DiscordModule(pub Arc<DiscordChannel>);

impl ChannelModule for DiscordModule {
    type Query = crate::DiscordQuery;
    type Mutation = crate::DiscordMutation;

    // Its resolvers talk to the running gateway (its status, the panel it posts).
    fn graphql_query(&self) -> crate::DiscordQuery {
        crate::DiscordQuery(Some(self.0.clone()))
    }

    fn graphql_mutation(&self) -> crate::DiscordMutation {
        crate::DiscordMutation(Some(self.0.clone()))
    }

    fn channel(&self) -> Channel {
        Channel::Discord
    }

    fn display_name(&self) -> &'static str {
        "Discord"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // Without a bot token nothing can be delivered: replies on Discord tickets then fail
            // at once with the reason instead of waiting in the outbox.
            delivers_replies: self.0.enabled(),
            service_window: None,
            max_attachment_bytes: Some(MAX_ATTACHMENT_BYTES),
            // Longer replies go out as several messages (split at paragraphs, lines or words).
            max_message_chars: None,
        }
    }

    fn sender(&self) -> Option<Arc<dyn ChannelSender>> {
        self.0.enabled().then(|| Arc::new(DiscordSender(self.0.clone())) as Arc<dyn ChannelSender>)
    }

    fn validate_settings(&self, settings: &serde_json::Value) -> Result<(), DeskError> {
        switchboard_channel::parse_settings::<GuildSettings>(settings).map(|_| ())
    }

    fn maintain(&self) -> switchboard_channel::BoxFuture<'_, Result<u64, DeskError>> {
        Box::pin(async move {
            self.0.desk().prune_channel_events(switchboard_desk::domain::Channel::Discord, crate::inbox::KEEP_MS).await
        })
    }

    fn start_workers(&self, shutdown: &Shutdown) -> Vec<JoinHandle<()>> {
        if !self.0.enabled() {
            return Vec::new();
        }
        vec![shutdown.spawn(self.0.clone().run_gateway()), shutdown.spawn(self.0.clone().run_sweeps())]
    }
}
