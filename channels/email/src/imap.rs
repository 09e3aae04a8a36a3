//! The IMAP poller: reads each mailbox's folder by UID, hands every new message to
//! [`receive`](crate::inbound::receive), and only after the desk committed it marks the message
//! seen (or moves it to the processed folder) and moves the mailbox's cursor. A crash in between
//! re-fetches the message next time, and dedupe makes that harmless. Where the server offers
//! IDLE the poller waits on it between rounds instead of sleeping.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::EmailDesk;
use crate::records::MailboxRecord;
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use switchboard_desk::Desk;
use switchboard_desk::domain::ChannelAccountId;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::EmailSettings;
use crate::inbound::{Received, receive};

/// A connection to an IMAP server, over TLS or not.
pub trait ImapIo: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> ImapIo for T {}

type ImapSession = Session<Box<dyn ImapIo>>;

/// What went wrong talking to a mailbox's server.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("the mailbox has no IMAP settings: {0}")]
    Settings(String),
    #[error("connecting to the IMAP server: {0}")]
    Connect(String),
    /// The outbound policy refused the host, or it did not resolve or answer.
    #[error("IMAP server: {0}")]
    Outbound(#[from] switchboard_desk::egress::OutboundError),
    #[error("IMAP: {0}")]
    Protocol(#[from] async_imap::error::Error),
    #[error("the desk could not take the message: {0}")]
    Desk(#[from] switchboard_desk::DeskError),
}

/// What one poll of a mailbox did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Messages fetched from the server this round.
    pub fetched: usize,
    /// Of those, how many opened tickets, landed on existing ones, were duplicates, and
    /// were set aside (auto-replies, bounces, quarantined).
    pub opened: usize,
    pub threaded: usize,
    pub duplicates: usize,
    pub set_aside: usize,
}

fn tls_connector() -> Result<TlsConnector, ImapError> {
    let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    // An explicit provider: more than one may be compiled in, and then none is the default.
    let config = ClientConfig::builder_with_provider(Arc::new(tokio_rustls::rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::Connect(format!("TLS settings: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn tls_wrap(tcp: TcpStream, host: &str) -> Result<Box<dyn ImapIo>, ImapError> {
    let name = ServerName::try_from(host.to_string()).map_err(|e| ImapError::Connect(format!("{host}: {e}")))?;
    let tls = tls_connector()?.connect(name, tcp).await.map_err(|e| ImapError::Connect(format!("TLS: {e}")))?;
    Ok(Box::new(tls))
}

/// Connects and logs in to `mailbox`'s server, TLS, STARTTLS or plain (to loopback only) as
/// configured, through the outbound guard.
pub async fn connect(desk: &Desk, mailbox: &MailboxRecord, timeout: Duration) -> Result<ImapSession, ImapError> {
    let host = mailbox.imap_host.as_deref().ok_or_else(|| ImapError::Settings("no host".into()))?;
    let user = mailbox.imap_user.as_deref().ok_or_else(|| ImapError::Settings("no user".into()))?;
    let password = desk.email_credentials(mailbox)?.imap_password.unwrap_or_default();
    let port = u16::try_from(mailbox.imap_port).map_err(|_| ImapError::Settings("port out of range".into()))?;
    // The host was checked when it was saved, but DNS answers change: check again, and connect
    // to the very addresses checked.
    let cleartext = (mailbox.imap_security == "plain").then_some("imapSecurity");
    let guard = desk.outbound();
    let addrs = guard.resolve_for_connection("imapHost", host, port, cleartext).await?;
    let (tcp, _) = guard.connect(host, &addrs, timeout).await?;
    let stream: Box<dyn ImapIo> = match mailbox.imap_security.as_str() {
        "tls" => tls_wrap(tcp, host).await?,
        "starttls" => {
            let mut plain = Client::new(tcp);
            plain.read_response().await.map_err(|e| ImapError::Connect(format!("greeting: {e}")))?;
            plain.run_command_and_check_ok("STARTTLS", None).await?;
            let tls = tls_wrap(plain.into_inner(), host).await?;
            let client = Client::new(tls);
            return login(client, user, &password).await;
        }
        _ => Box::new(tcp),
    };
    let mut client = Client::new(stream);
    client.read_response().await.map_err(|e| ImapError::Connect(format!("greeting: {e}")))?;
    login(client, user, &password).await
}

async fn login(client: Client<Box<dyn ImapIo>>, user: &str, password: &str) -> Result<ImapSession, ImapError> {
    client.login(user, password).await.map_err(|(e, _)| ImapError::Connect(format!("login as {user}: {e}")))
}

/// Fetches and takes every message past the mailbox's cursor, in UID order, in an open session.
pub async fn poll_session(
    desk: &Desk,
    settings: &EmailSettings,
    session: &mut ImapSession,
    mailbox: &MailboxRecord,
) -> Result<PollReport, ImapError> {
    let selected = session.select(&mailbox.imap_folder).await?;
    let validity = i64::from(selected.uid_validity.unwrap_or(0));
    // A new UIDVALIDITY means the server renumbered the folder: read it all again; dedupe keeps
    // what was taken before from landing twice.
    let last = if mailbox.imap_uid_validity == Some(validity) { mailbox.imap_last_uid } else { 0 };
    let mut uids: Vec<u32> =
        session.uid_search(format!("UID {}:*", last + 1)).await?.into_iter().filter(|u| i64::from(*u) > last).collect();
    uids.sort_unstable();
    let mut report = PollReport::default();
    for uid in uids {
        let fetched: Vec<_> = session.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])").await?.try_collect().await?;
        let Some(raw) = fetched.iter().find(|f| f.uid == Some(uid)).and_then(|f| f.body()) else { continue };
        report.fetched += 1;
        // An error here is one that passes (the database is down): it stops the round before the
        // message is marked, and the next round fetches it again. A message refused for what it
        // holds comes back quarantined, so the cursor moves past it.
        match receive(desk, settings, mailbox, raw).await? {
            Received::Ticket { duplicate: true, .. } => report.duplicates += 1,
            Received::Ticket { opened: true, .. } => report.opened += 1,
            Received::Ticket { .. } => report.threaded += 1,
            _ => report.set_aside += 1,
        }
        match mailbox.imap_processed_folder.as_deref() {
            Some(folder) => session.uid_mv(uid.to_string(), folder).await?,
            None => {
                let _: Vec<_> = session.uid_store(uid.to_string(), "+FLAGS (\\Seen)").await?.try_collect().await?;
            }
        }
        desk.set_email_imap_cursor(mailbox, validity, i64::from(uid)).await?;
    }
    Ok(report)
}

/// One round for one mailbox: connect, take what is new, log out.
pub async fn poll_mailbox(
    desk: &Desk,
    settings: &EmailSettings,
    mailbox: &MailboxRecord,
) -> Result<PollReport, ImapError> {
    let mut session = connect(desk, mailbox, settings.network_timeout).await?;
    let report = poll_session(desk, settings, &mut session, mailbox).await;
    let _ = session.logout().await;
    report
}

/// Keeps one mailbox read until it is deleted or disabled: poll, then IDLE (or sleep) until
/// the next round.
async fn watch_mailbox(
    desk: Desk,
    settings: EmailSettings,
    ws: switchboard_desk::domain::WorkspaceId,
    id: ChannelAccountId,
) {
    let lease = mailbox_lease(id);
    loop {
        let mailbox = match desk.email_mailbox_of(ws, id).await {
            Ok(Some(m)) if m.enabled && m.imap_host.is_some() => m,
            Ok(_) => {
                let _ = desk.release_lease(&lease).await;
                return;
            }
            Err(e) => {
                tracing::warn!(mailbox = id.0, error = %e, "reading the mailbox settings failed");
                tokio::time::sleep(settings.poll_interval).await;
                continue;
            }
        };
        // Every replica runs a watcher per mailbox; the one holding the mailbox's lease reads it.
        match desk.take_lease(&lease, lease_time(&settings)).await {
            Ok(true) => {}
            Ok(false) => {
                tokio::time::sleep(settings.poll_interval).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(mailbox = id.0, error = %e, "taking the mailbox's lease failed");
                tokio::time::sleep(settings.poll_interval).await;
                continue;
            }
        }
        if let Err(e) = watch_session(&desk, &settings, &mailbox).await {
            tracing::warn!(mailbox = id.0, error = %e, "IMAP round failed; retrying after the poll interval");
        }
        tokio::time::sleep(settings.poll_interval).await;
    }
}

/// Polls in one session for as long as it stays healthy, waiting on IDLE between rounds where
/// the server offers it; returns (for a sleep and a fresh connection) otherwise.
async fn watch_session(desk: &Desk, settings: &EmailSettings, first: &MailboxRecord) -> Result<(), ImapError> {
    let mut session = connect(desk, first, settings.network_timeout).await?;
    let idle = session.capabilities().await?.has_str("IDLE");
    let mut mailbox = first.clone();
    let lease = mailbox_lease(first.id);
    loop {
        // Renewed every round; lost (another replica took over after a stall), this one stops.
        if !desk.take_lease(&lease, lease_time(settings)).await? {
            let _ = session.logout().await;
            return Ok(());
        }
        let report = poll_session(desk, settings, &mut session, &mailbox).await?;
        if report.fetched > 0 {
            tracing::info!(mailbox = mailbox.id.0, ?report, "mail taken");
        }
        if !idle {
            let _ = session.logout().await;
            return Ok(());
        }
        let mut handle = session.idle();
        handle.init().await?;
        let (wait, _stop) = handle.wait_with_timeout(settings.poll_interval.max(Duration::from_secs(1)));
        wait.await?;
        session = handle.done().await?;
        // Settings (and the cursor) may have changed while we waited.
        match desk.email_mailbox_of(mailbox.workspace_id, mailbox.id).await? {
            Some(m) if m.enabled && m.imap_host == first.imap_host && m.imap_user == first.imap_user => mailbox = m,
            _ => {
                let _ = session.logout().await;
                return Ok(());
            }
        }
    }
}

/// The lease a replica holds while it reads a mailbox, so no two read it at once.
fn mailbox_lease(id: ChannelAccountId) -> String {
    format!("email.imap.{id}")
}

/// How long a mailbox's lease lasts unless renewed: past a round's IDLE wait and its network
/// round trips, so a healthy watcher always renews in time.
fn lease_time(settings: &EmailSettings) -> Duration {
    (settings.poll_interval * 3 + settings.network_timeout * 4).max(Duration::from_secs(60))
}

/// The per-mailbox watchers; stopping the poller stops them too.
struct Watchers(HashMap<ChannelAccountId, tokio::task::JoinHandle<()>>);

impl Drop for Watchers {
    fn drop(&mut self) {
        for h in self.0.values() {
            h.abort();
        }
    }
}

/// Starts the poller: every poll interval it looks for mailboxes with IMAP settings and keeps
/// one watcher running per mailbox. Aborting the returned task stops the watchers as well.
pub fn spawn_poller(desk: Desk, settings: EmailSettings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(poll(desk, settings))
}

/// The loop [`spawn_poller`] runs; it never ends by itself, and dropping it stops the watchers.
pub async fn poll(desk: Desk, settings: EmailSettings) {
    let mut watchers = Watchers(HashMap::new());
    loop {
        match desk.email_imap_mailboxes().await {
            Ok(list) => {
                watchers.0.retain(|_, h| !h.is_finished());
                for m in list {
                    watchers.0.entry(m.id).or_insert_with(|| {
                        tokio::spawn(watch_mailbox(desk.clone(), settings.clone(), m.workspace_id, m.id))
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "listing mailboxes to poll failed"),
        }
        tokio::time::sleep(settings.poll_interval).await;
    }
}
