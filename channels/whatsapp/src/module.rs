//! The WhatsApp channel as a [`ChannelModule`]: the Cloud API webhook, the Graph API sender, the
//! inbox sweep, and the purge of old inbox rows.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use switchboard_channel::{BoxFuture, Capabilities, ChannelModule, Shutdown};
use switchboard_desk::domain::Channel;
use switchboard_desk::{ChannelSender, DeskError};

use crate::WhatsappDesk;
use tokio::task::JoinHandle;

use crate::{INBOX_RETENTION_MS, SERVICE_WINDOW_MS, WhatsappChannel, WhatsappSender};

/// Meta's limit on a text message's body, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;
/// Meta's limit on a document sent by the Cloud API, in bytes.
pub const MAX_DOCUMENT_BYTES: u64 = 100 * 1024 * 1024;

/// The WhatsApp channel, ready to register with the server.
pub struct WhatsappModule(pub Arc<WhatsappChannel>);

impl ChannelModule for WhatsappModule {
    type Query = crate::WhatsAppQuery;
    type Mutation = crate::WhatsAppMutation;

    fn channel(&self) -> Channel {
        Channel::Whatsapp
    }

    fn display_name(&self) -> &'static str {
        "WhatsApp"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            delivers_replies: true,
            service_window: Some(Duration::from_millis(SERVICE_WINDOW_MS as u64)),
            max_attachment_bytes: Some(MAX_DOCUMENT_BYTES),
            max_message_chars: Some(MAX_TEXT_CHARS),
        }
    }

    fn routes(&self) -> Option<Router> {
        Some(crate::router(self.0.clone()))
    }

    fn sender(&self) -> Option<Arc<dyn ChannelSender>> {
        Some(Arc::new(WhatsappSender(self.0.clone())))
    }

    fn start_workers(&self, shutdown: &Shutdown) -> Vec<JoinHandle<()>> {
        // Picks up notifications that were acknowledged but not processed (a crash).
        vec![shutdown.spawn(crate::sweep(self.0.clone()))]
    }

    fn maintain(&self) -> BoxFuture<'_, Result<u64, DeskError>> {
        Box::pin(self.0.desk.purge_whatsapp_inbox(INBOX_RETENTION_MS))
    }
}
