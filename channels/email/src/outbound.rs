//! Replies out over SMTP: the outbox hands each one to [`EmailSender`], which builds a message
//! that threads (our Message-ID, In-Reply-To, References, the ticket tag, the hidden marker)
//! from the handlebars email templates and sends it from the ticket's mailbox.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::LazyLock;
use std::time::Duration;

use crate::EmailDesk;
use crate::records::MailboxRecord;
use handlebars::Handlebars;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use switchboard_desk::domain::Channel;
use switchboard_desk::{ChannelSender, DeliveryOutcome, Desk, OutboundMessage, SignInLinkMail, SignInLinkSender};

use crate::parse::{marker, reply_subject};

const TEXT_TEMPLATE: &str = include_str!("../templates/reply.txt.hbs");
const HTML_TEMPLATE: &str = include_str!("../templates/reply.html.hbs");
const SIGN_IN_TEXT_TEMPLATE: &str = include_str!("../templates/sign_in.txt.hbs");
const SIGN_IN_HTML_TEMPLATE: &str = include_str!("../templates/sign_in.html.hbs");

static TEMPLATES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    // The templates ship with the binary; a broken one fails the unit tests below, not a send.
    for (name, template) in [
        ("text", TEXT_TEMPLATE),
        ("html", HTML_TEMPLATE),
        ("sign_in_text", SIGN_IN_TEXT_TEMPLATE),
        ("sign_in_html", SIGN_IN_HTML_TEMPLATE),
    ] {
        if let Err(e) = hb.register_template_string(name, template) {
            tracing::error!(error = %e, template = name, "an email template does not compile");
        }
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
        .from(named_mailbox(&mailbox.name, &mailbox.address, "mailbox address")?)
        .to(builder_to(msg)?)
        .subject(reply_subject(&msg.ticket_subject, &msg.ticket_number))
        .message_id(Some(id.clone()));
    if msg.author_name.is_none() {
        // RFC 3834: an acknowledgement or other automatic message says so, so that the
        // customer's autoresponder does not answer it (and loop with ours).
        builder = builder.raw_header(auto_submitted("auto-replied"));
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

/// `"name" <address>`, else the bare address when the name will not do; `what` names the
/// address in the error.
fn named_mailbox(name: &str, address: &str, what: &str) -> Result<Mailbox, String> {
    format!("{} <{address}>", quote_name(name))
        .parse()
        .or_else(|_| address.parse())
        .map_err(|e| format!("the {what} {address:?} is not usable: {e}"))
}

fn builder_to(msg: &OutboundMessage) -> Result<Mailbox, String> {
    let to = msg.requester.email.as_deref().ok_or("the requester has no email address")?;
    named_mailbox(&msg.requester.name, to, "requester's address")
}

/// What the sign-in link templates see.
#[derive(Debug, Serialize)]
struct SignInVars<'a> {
    name: &'a str,
    workspace: &'a str,
    link: &'a str,
}

/// The portal address that signs in with `token`. The token rides in the fragment, which
/// browsers never send to a server, so it stays out of access logs and Referer headers.
fn sign_in_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/portal/sign-in#{token}")
}

/// Builds the email carrying a customer's sign-in link, from `mailbox`; errors are permanent.
/// `public_url` has no trailing slash.
fn build_sign_in_email(mail: &SignInLinkMail, mailbox: &MailboxRecord, public_url: &str) -> Result<Message, String> {
    let link = sign_in_link(public_url, &mail.token);
    let vars = SignInVars { name: &mail.customer_name, workspace: &mail.workspace_name, link: &link };
    let text = TEMPLATES.render("sign_in_text", &vars).map_err(|e| format!("rendering the text part: {e}"))?;
    let html = TEMPLATES.render("sign_in_html", &vars).map_err(|e| format!("rendering the HTML part: {e}"))?;
    let to = named_mailbox(&mail.customer_name, &mail.customer_email, "customer's address")?;
    Message::builder()
        .from(named_mailbox(&mailbox.name, &mailbox.address, "mailbox address")?)
        .to(to)
        .subject(format!("Your sign-in link for {}", mail.workspace_name))
        // RFC 3834: sent by the system, not in answer to a message, so autoresponders stay quiet.
        .raw_header(auto_submitted("auto-generated"))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("building the message: {e}"))
}

/// The RFC 3834 `Auto-Submitted` header with `value`.
fn auto_submitted(value: &str) -> lettre::message::header::HeaderValue {
    let name = lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted");
    lettre::message::header::HeaderValue::new(name, value.to_string())
}

/// The addresses of `mailbox`'s SMTP server, resolved and checked by the outbound guard (and, for
/// `plain`, required to be this machine). `Err` carries what the delivery comes to.
pub async fn smtp_server(desk: &Desk, mailbox: &MailboxRecord) -> Result<SocketAddr, DeliveryOutcome> {
    let failed = |error: String| DeliveryOutcome::Failed { error };
    let host = mailbox.smtp_host.as_deref().ok_or_else(|| failed("the mailbox has no SMTP host".into()))?;
    let port = u16::try_from(mailbox.smtp_port).map_err(|_| failed("the SMTP port is out of range".into()))?;
    let cleartext = (mailbox.smtp_security == "plain").then_some("smtpSecurity");
    match desk.outbound().resolve_for_connection("smtpHost", host, port, cleartext).await {
        // lettre connects to the one address it is given; the first checked one it is.
        Ok(addrs) => addrs.first().copied().ok_or_else(|| failed(format!("{host} has no address"))),
        // The mailbox's settings are off limits: retrying will not change that, an admin must.
        Err(e) if e.is_refusal() => Err(failed(format!("the SMTP server is not allowed: {e}"))),
        Err(e) => Err(DeliveryOutcome::Retry { error: format!("SMTP: {e}") }),
    }
}

/// An SMTP transport for `mailbox` that connects to `server` (an address the outbound guard
/// checked) and verifies TLS against the mailbox's host name, with its password from the desk.
pub fn smtp_transport(
    mailbox: &MailboxRecord,
    server: SocketAddr,
    password: Option<String>,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let host = mailbox.smtp_host.as_deref().ok_or("the mailbox has no SMTP host")?;
    let tls = |required: bool| -> Result<Tls, String> {
        let params = TlsParameters::new(host.to_string()).map_err(|e| format!("TLS settings: {e}"))?;
        Ok(if required { Tls::Wrapper(params) } else { Tls::Required(params) })
    };
    // An address literal, so lettre does not resolve the name again.
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.ip().to_string())
        .port(server.port())
        .timeout(Some(timeout));
    b = match mailbox.smtp_security.as_str() {
        "tls" => b.tls(tls(true)?),
        "starttls" => b.tls(tls(false)?),
        // Loopback only (checked with the address): a relay on the same machine or a test sink.
        _ => b.tls(Tls::None),
    };
    if let (Some(user), Some(pass)) = (mailbox.smtp_user.as_deref(), password) {
        b = b.credentials(Credentials::new(user.to_string(), pass));
    }
    Ok(b.build())
}

/// Sends email replies from the outbox, and customers' sign-in links.
#[derive(Debug, Clone)]
pub struct EmailSender {
    desk: Desk,
    timeout: Duration,
    /// Where customers reach this server (`SWITCHBOARD_PUBLIC_URL`): sign-in links point there.
    public_url: String,
}

impl EmailSender {
    /// A sender that reads mailboxes through `desk` and links to the portal at `public_url`.
    pub fn new(desk: Desk, timeout: Duration, public_url: &str) -> EmailSender {
        EmailSender { desk, timeout, public_url: public_url.trim_end_matches('/').to_string() }
    }

    /// Sends `email` through `mailbox`'s SMTP server; 5xx refusals are permanent failures.
    async fn send_through(&self, mailbox: &MailboxRecord, email: Message) -> Result<(), DeliveryOutcome> {
        let failed = |error: String| DeliveryOutcome::Failed { error };
        let password = match self.desk.email_credentials(mailbox) {
            Ok(c) => c.smtp_password,
            Err(e) => return Err(failed(format!("the SMTP password cannot be read: {e}"))),
        };
        let server = smtp_server(&self.desk, mailbox).await?;
        let transport = smtp_transport(mailbox, server, password, self.timeout).map_err(failed)?;
        match transport.send(email).await {
            Ok(_) => Ok(()),
            // 5xx: the server refused this message for good.
            Err(e) if e.is_permanent() => Err(failed(format!("SMTP refused the message: {e}"))),
            // 4xx, timeouts, connection and TLS trouble: try again later.
            Err(e) => Err(DeliveryOutcome::Retry { error: format!("SMTP: {e}") }),
        }
    }

    async fn deliver_sign_in_link(&self, mail: &SignInLinkMail) -> DeliveryOutcome {
        let mailbox = match self.desk.email_mailbox_for_notices(mail.workspace_id).await {
            Ok(Some(m)) => m,
            Ok(None) => {
                return DeliveryOutcome::Failed {
                    error: "no enabled mailbox with an SMTP server is set up for this workspace".into(),
                };
            }
            Err(e) => return DeliveryOutcome::Retry { error: format!("reading the mailbox: {e}") },
        };
        let email = match build_sign_in_email(mail, &mailbox, &self.public_url) {
            Ok(m) => m,
            Err(error) => return DeliveryOutcome::Failed { error },
        };
        match self.send_through(&mailbox, email).await {
            Ok(()) => DeliveryOutcome::Sent { external_message_id: None },
            Err(outcome) => outcome,
        }
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
        match self.send_through(&mailbox, email).await {
            Ok(()) => DeliveryOutcome::Sent { external_message_id: Some(id) },
            Err(outcome) => outcome,
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

impl SignInLinkSender for EmailSender {
    fn send_sign_in_link<'a>(
        &'a self,
        mail: &'a SignInLinkMail,
    ) -> Pin<Box<dyn Future<Output = DeliveryOutcome> + Send + 'a>> {
        Box::pin(self.deliver_sign_in_link(mail))
    }
}
