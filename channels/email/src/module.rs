//! The email channel as a [`ChannelModule`]: the raw-MIME endpoint, the SMTP sender (which also
//! emails customers' sign-in links), the IMAP poller and the pruning of acknowledgement records.

use std::sync::Arc;

use axum::Router;
use switchboard_channel::{BoxFuture, Capabilities, ChannelModule, Shutdown};
use switchboard_desk::domain::Channel;
use switchboard_desk::{ChannelSender, Desk, DeskError, SignInLinkSender};

use crate::EmailDesk;
use tokio::task::JoinHandle;

use crate::{EmailSender, EmailSettings};

/// The email channel, ready to register with the server.
pub struct EmailModule {
    desk: Desk,
    settings: EmailSettings,
    sender: Arc<EmailSender>,
    /// Whether the IMAP poller runs (`SWITCHBOARD_EMAIL_POLLER`).
    poller: bool,
}

impl EmailModule {
    /// The channel over `desk`; sign-in links point at `public_url`; `poller` starts the IMAP
    /// poller with the server.
    pub fn new(desk: Desk, settings: EmailSettings, public_url: &str, poller: bool) -> EmailModule {
        let sender = Arc::new(EmailSender::new(desk.clone(), settings.network_timeout, public_url));
        EmailModule { desk, settings, sender, poller }
    }
}

impl ChannelModule for EmailModule {
    type Query = crate::EmailQuery;
    type Mutation = crate::EmailMutation;

    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn display_name(&self) -> &'static str {
        "Email"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            delivers_replies: true,
            service_window: None,
            max_attachment_bytes: Some(self.settings.max_message_bytes as u64),
            max_message_chars: None,
        }
    }

    fn routes(&self) -> Option<Router> {
        Some(crate::router(self.desk.clone(), self.settings.clone()))
    }

    fn sender(&self) -> Option<Arc<dyn ChannelSender>> {
        Some(self.sender.clone())
    }

    fn sign_in_link_sender(&self) -> Option<Arc<dyn SignInLinkSender>> {
        Some(self.sender.clone())
    }

    fn start_workers(&self, shutdown: &Shutdown) -> Vec<JoinHandle<()>> {
        if !self.poller {
            return Vec::new();
        }
        vec![shutdown.spawn(crate::imap::poll(self.desk.clone(), self.settings.clone()))]
    }

    fn maintain(&self) -> BoxFuture<'_, Result<u64, DeskError>> {
        Box::pin(self.desk.prune_email_acknowledgements())
    }
}
