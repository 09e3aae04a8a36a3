//! The Discord channel as a [`ChannelModule`]: the gateway connection as a worker, the outbox
//! sender for staff replies.

use std::sync::Arc;

use switchboard_channel::{Capabilities, ChannelModule, Shutdown};
use switchboard_desk::ChannelSender;
use switchboard_desk::domain::Channel;
use tokio::task::JoinHandle;

use crate::{DiscordChannel, DiscordSender, MAX_ATTACHMENT_BYTES, MAX_MESSAGE_CHARS};

/// The Discord channel, ready to register with the server.
#[derive(Debug)]
pub struct DiscordModule(pub Arc<DiscordChannel>);

impl ChannelModule for DiscordModule {
    fn channel(&self) -> Channel {
        Channel::Discord
    }

    fn display_name(&self) -> &'static str {
        "Discord"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            delivers_replies: true,
            service_window: None,
            max_attachment_bytes: Some(MAX_ATTACHMENT_BYTES),
            max_message_chars: Some(MAX_MESSAGE_CHARS),
        }
    }

    fn sender(&self) -> Option<Arc<dyn ChannelSender>> {
        Some(Arc::new(DiscordSender(self.0.clone())))
    }

    fn start_workers(&self, shutdown: &Shutdown) -> Vec<JoinHandle<()>> {
        if !self.0.enabled() {
            return Vec::new();
        }
        vec![shutdown.spawn(self.0.clone().run_gateway())]
    }
}
