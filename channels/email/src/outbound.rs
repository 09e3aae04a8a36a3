//! Replies out over SMTP: the outbox hands each one to [`EmailSender`], which builds a message
//! that threads (our Message-ID, In-Reply-To, References, the ticket tag, the hidden marker)
//! from the handlebars email templates and sends it from the ticket's mailbox.

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::time::Duration;

use handlebars::Handlebars;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use switchboard_desk::domain::Channel;
use switchboard_desk::store::email_records::MailboxRecord;
use switchboard_desk::{ChannelSender, DeliveryOutcome, Desk, OutboundMessage};

use crate::parse::{marker, reply_subject};

const TEXT_TEMPLATE: &str = include_str!("../templates/reply.txt.hbs");
const HTML_TEMPLATE: &str = include_str!("../templates/reply.html.hbs");

static TEMPLATES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    // The templates ship with the binary; a broken one fails the unit test below, not a send.
    if let Err(e) = hb.register_template_string("text", TEXT_TEMPLATE) {
        tracing::error!(error = %e, "the email text template does not compile");
    }
    if let Err(e) = hb.register_template_string("html", HTML_TEMPLATE) {
        tracing::error!(error = %e, "the email HTML template does not compile");
    }
    hb
});

/// What the email templates see.
#[derive(Debug, Serialize)]
struct ReplyVars<'a> {
    body: &'a str,
    /// The body's paragraphs, for the HTML part.
    paragraphs: Vec<&'a str>,
    author: &'a str,
    mailbox: &'a str,
    ticket_number: &'a str,
    marker: &'a str,
}

/// The text and HTML parts of a reply.
pub fn render_reply(msg: &OutboundMessage, mailbox_name: &str) -> Result<(String, String), String> {
    let marker = marker(msg.workspace_id.0, msg.ticket_id.0);
    let vars = ReplyVars {
        body: &msg.body,
        paragraphs: msg.body.split("\n\n").collect(),
        author: msg.author_name.as_deref().unwrap_or(mailbox_name),
        mailbox: mailbox_name,
        ticket_number: &msg.ticket_number,
        marker: &marker,
    };
    let text = TEMPLATES.render("text", &vars).map_err(|e| format!("rendering the text part: {e}"))?;
    let html = TEMPLATES.render("html", &vars).map_err(|e| format!("rendering the HTML part: {e}"))?;
    Ok((text, html))
}

/// Our Message-ID for an outbox row: stable across retries, so a receiver that got a send we
/// thought failed can tell the second copy is the same message.
pub fn outbound_message_id(msg: &OutboundMessage, from: &str) -> String {
    let domain = from.rsplit_once('@').map(|(_, d)| d).unwrap_or("switchboard.invalid");
    format!("<sb.{}.{}.{}@{domain}>", msg.workspace_id.0, msg.ticket_id.0, msg.outbox_id)
}

/// Builds the message for one reply from `mailbox`; errors are permanent (bad data).
pub fn build_reply(msg: &OutboundMessage, mailbox: &MailboxRecord) -> Result<(Message, String), String> {
    let id = outbound_message_id(msg, &mailbox.address);
    let (text, html) = render_reply(msg, &mailbox.name)?;
    let mut builder = Message::builder()
        .from(builder_from(&mailbox.name, &mailbox.address)?)
        .to(builder_to(msg)?)
        .subject(reply_subject(&msg.ticket_subject, &msg.ticket_number))
        .message_id(Some(id.clone()));
    if msg.author_name.is_none() {
        // RFC 3834: an acknowledgement or other automatic message says so, so that the
        // customer's autoresponder does not answer it (and loop with ours).
        let name = lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted");
        builder = builder.raw_header(lettre::message::header::HeaderValue::new(name, "auto-replied".into()));
    }
    // References grows with the thread; the newest twenty are enough to thread anywhere.
    let refs: Vec<&String> =
        msg.thread_message_ids.iter().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
    if let Some(last) = refs.last() {
        builder = builder.in_reply_to((*last).clone());
        builder = builder.references(refs.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "));
    }
    let alternative = MultiPart::alternative_plain_html(text, html);
    let email = if msg.attachments.is_empty() {
        builder.multipart(alternative)
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for a in &msg.attachments {
            let ct = ContentType::parse(&a.content_type)
                .unwrap_or_else(|_| ContentType::parse("application/octet-stream").expect("a valid content type"));
            mixed = mixed.singlepart(Attachment::new(a.file_name.clone()).body(a.bytes.clone(), ct));
        }
        builder.multipart(mixed)
    }
    .map_err(|e| format!("building the message: {e}"))?;
    Ok((email, id))
}

fn quote_name(name: &str) -> String {
    format!("\"{}\"", name.replace(['"', '\\', '\r', '\n'], " ").trim())
}

fn builder_from(name: &str, address: &str) -> Result<Mailbox, String> {
    format!("{} <{address}>", quote_name(name))
        .parse()
        .or_else(|_| address.parse())
        .map_err(|e| format!("the mailbox address {address:?} is not usable: {e}"))
}

fn builder_to(msg: &OutboundMessage) -> Result<Mailbox, String> {
    let to = msg.requester.email.as_deref().ok_or("the requester has no email address")?;
    format!("{} <{to}>", quote_name(&msg.requester.name))
        .parse()
        .or_else(|_| to.parse())
        .map_err(|e| format!("the requester's address {to:?} is not usable: {e}"))
}

/// An SMTP transport for `mailbox`, with its password from the desk.
pub fn smtp_transport(
    mailbox: &MailboxRecord,
    password: Option<String>,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let host = mailbox.smtp_host.as_deref().ok_or("the mailbox has no SMTP host")?;
    let port = u16::try_from(mailbox.smtp_port).map_err(|_| "the SMTP port is out of range")?;
    let tls = |required: bool| -> Result<Tls, String> {
        let params = TlsParameters::new(host.to_string()).map_err(|e| format!("TLS settings: {e}"))?;
        Ok(if required { Tls::Wrapper(params) } else { Tls::Required(params) })
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port).timeout(Some(timeout));
    b = match mailbox.smtp_security.as_str() {
        "tls" => b.tls(tls(true)?),
        "starttls" => b.tls(tls(false)?),
        // Only for a relay on the same machine or a test sink.
        _ => b.tls(Tls::None),
    };
    if let (Some(user), Some(pass)) = (mailbox.smtp_user.as_deref(), password) {
        b = b.credentials(Credentials::new(user.to_string(), pass));
    }
    Ok(b.build())
}

/// Sends email replies from the outbox.
#[derive(Debug, Clone)]
pub struct EmailSender {
    desk: Desk,
    timeout: Duration,
}

impl EmailSender {
    /// A sender that reads mailboxes through `desk`.
    pub fn new(desk: Desk, timeout: Duration) -> EmailSender {
        EmailSender { desk, timeout }
    }

    async fn deliver(&self, msg: &OutboundMessage) -> DeliveryOutcome {
        let failed = |error: String| DeliveryOutcome::Failed { error };
        let mailbox = match self.desk.email_mailbox_for_ticket(msg.workspace_id, msg.ticket_id).await {
            Ok(Some(m)) => m,
            Ok(None) => return failed("no email mailbox is set up for this workspace".into()),
            Err(e) => return DeliveryOutcome::Retry { error: format!("reading the mailbox: {e}") },
        };
        let (email, id) = match build_reply(msg, &mailbox) {
            Ok(x) => x,
            Err(e) => return failed(e),
        };
        let password = match self.desk.email_credentials(&mailbox) {
            Ok(c) => c.smtp_password,
            Err(e) => return failed(format!("the SMTP password cannot be read: {e}")),
        };
        let transport = match smtp_transport(&mailbox, password, self.timeout) {
            Ok(t) => t,
            Err(e) => return failed(e),
        };
        match transport.send(email).await {
            Ok(_) => DeliveryOutcome::Sent { external_message_id: Some(id) },
            // 5xx: the server refused this message for good.
            Err(e) if e.is_permanent() => failed(format!("SMTP refused the message: {e}")),
            // 4xx, timeouts, connection and TLS trouble: try again later.
            Err(e) => DeliveryOutcome::Retry { error: format!("SMTP: {e}") },
        }
    }
}

impl ChannelSender for EmailSender {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn send<'a>(&'a self, msg: &'a OutboundMessage) -> Pin<Box<dyn Future<Output = DeliveryOutcome> + Send + 'a>> {
        Box::pin(self.deliver(msg))
    }
}
