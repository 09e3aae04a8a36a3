//! Mailbox IMAP and SMTP hosts behind the outbound guard: refused at save with the field named,
//! and checked again right before the poller or the sender connects. Host names resolve through
//! a fixed table, so no test sends a packet anywhere but loopback; refused targets are refused
//! before any connection. SQLite by default; `TEST_POSTGRES_URL` for PostgreSQL.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use switchboard_desk::domain::*;
use switchboard_desk::egress::{FixedResolver, OutboundGuard};
use switchboard_desk::*;
use switchboard_email::imap::{ImapError, connect};
use switchboard_email::outbound::smtp_server;
use switchboard_email::*;

struct Env {
    desk: Desk,
    admin: Actor,
    _dir: tempfile::TempDir,
}

/// What the test's "DNS" answers.
fn names() -> FixedResolver {
    FixedResolver::of(&[
        ("imap.metadata.test", &["169.254.169.254"]),
        ("mail.loopback.test", &["127.0.0.1"]),
        ("mail.mixed.test", &["93.184.216.34", "10.1.2.3"]),
        ("mail.public.test", &["93.184.216.34"]),
        ("relay.internal.test", &["10.20.0.5"]),
    ])
}

fn guard(allow: &str, names: FixedResolver) -> OutboundGuard {
    OutboundGuard::new(OutboundPolicy::parse(allow).unwrap(), Arc::new(names))
}

/// A desk whose operator allowed `allow` (`SWITCHBOARD_OUTBOUND_ALLOW`).
async fn env(allow: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = switchboard_testkit::fresh_database_url(dir.path(), "egress").await.unwrap();
    let store = switchboard_desk::store::Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"test secret for the email channel".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.path().join("blobs")), auth)
        .with_outbound(guard(allow, names()));
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    Env { desk, admin: Actor::system(ws.id), _dir: dir }
}

fn imap(host: &str, security: &str) -> MailboxSettings {
    MailboxSettings {
        name: "Acme Support".into(),
        address: "help@acme.test".into(),
        enabled: true,
        imap_host: Some(host.into()),
        imap_user: Some("support".into()),
        imap_password: Some("secret".into()),
        imap_security: Some(security.into()),
        ..Default::default()
    }
}

fn smtp(host: &str, security: &str) -> MailboxSettings {
    MailboxSettings {
        name: "Acme Support".into(),
        address: "help@acme.test".into(),
        enabled: true,
        smtp_host: Some(host.into()),
        smtp_security: Some(security.into()),
        ..Default::default()
    }
}

impl Env {
    /// Saves `s` as a new mailbox (with an address of its own, so saves never clash).
    async fn save(&self, s: &MailboxSettings) -> Result<(), DeskError> {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let address = format!("help{}@acme.test", NEXT.fetch_add(1, Ordering::SeqCst));
        let s = MailboxSettings { address, ..s.clone() };
        self.desk.save_email_mailbox(&self.admin, None, &s).await.map(|_| ())
    }

    /// The field the save was refused for, with the message.
    async fn refused(&self, s: &MailboxSettings) -> (String, String) {
        match self.save(s).await {
            Err(DeskError::Validation(e)) => (e.field, e.message),
            other => panic!("expected a validation error for {:?}/{:?}, got {other:?}", s.imap_host, s.smtp_host),
        }
    }
}

#[tokio::test]
async fn mailboxes_aimed_at_cloud_metadata_or_private_networks_are_refused_at_save() {
    let env = env("").await;
    for host in [
        "169.254.169.254",
        "10.1.2.3",
        "192.168.0.2",
        "[::ffff:10.1.2.3]",
        "fd00:ec2::254",
        "localhost",
        "0.0.0.0",
        "imap.metadata.test",
        "mail.mixed.test",
    ] {
        let (field, message) = env.refused(&imap(host, "tls")).await;
        assert_eq!(field, "imapHost", "{host}: {message}");
        assert!(message.contains(OUTBOUND_ALLOW_SETTING), "{host}: {message}");
    }
    let (field, message) = env.refused(&imap("imap.metadata.test", "tls")).await;
    assert_eq!(field, "imapHost");
    assert!(message.contains("169.254.169.254, a link-local address"), "{message}");
    let (field, message) = env.refused(&smtp("100.64.0.1", "starttls")).await;
    assert_eq!((field.as_str(), message.contains("carrier-grade NAT")), ("smtpHost", true), "{message}");
    // Nothing was saved on the way.
    assert!(env.desk.email_mailboxes(&env.admin).await.unwrap().is_empty());
    // A public server is fine.
    env.save(&imap("mail.public.test", "tls")).await.unwrap();
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_unless_the_operator_allows_it() {
    let env_default = env("").await;
    let (field, message) = env_default.refused(&smtp("mail.loopback.test", "starttls")).await;
    assert_eq!(field, "smtpHost");
    assert!(message.contains("mail.loopback.test resolves to 127.0.0.1, a loopback address"), "{message}");
    for allow in ["127.0.0.0/8", "mail.loopback.test", "*.loopback.test"] {
        env(allow).await.save(&smtp("mail.loopback.test", "starttls")).await.unwrap_or_else(|e| panic!("{allow}: {e}"));
    }
}

#[tokio::test]
async fn an_allow_listed_network_is_accepted_and_nothing_beside_it() {
    let env = env("10.20.0.0/16").await;
    env.save(&imap("10.20.0.5", "tls")).await.unwrap();
    env.save(&smtp("relay.internal.test", "starttls")).await.unwrap();
    assert_eq!(env.refused(&imap("10.21.0.5", "tls")).await.0, "imapHost");
    assert_eq!(env.refused(&imap("169.254.169.254", "tls")).await.0, "imapHost");
}

#[tokio::test]
async fn plain_security_is_only_for_a_server_on_this_machine() {
    let env = env("10.20.0.0/16,127.0.0.0/8").await;
    for host in ["relay.internal.test", "10.20.0.5", "mail.public.test", "unknown.test"] {
        let (field, message) = env.refused(&smtp(host, "plain")).await;
        assert_eq!(field, "smtpSecurity", "{host}: {message}");
        assert!(message.contains("loopback"), "{message}");
        assert_eq!(env.refused(&imap(host, "plain")).await.0, "imapSecurity", "{host}");
    }
    // Encrypted, the same hosts are fine; cleartext to this machine too.
    env.save(&smtp("relay.internal.test", "starttls")).await.unwrap();
    env.save(&imap("127.0.0.1", "plain")).await.unwrap();
    env.save(&smtp("mail.loopback.test", "plain")).await.unwrap();
}

/// A loopback listener that counts the connections made to it and closes each at once.
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            drop(s);
        }
    });
    (port, count)
}

#[tokio::test]
async fn the_poller_and_the_sender_check_again_right_before_connecting() {
    let env = env("127.0.0.0/8").await;
    let (port, connections) = counting_listener().await;
    let settings = MailboxSettings {
        imap_port: Some(i64::from(port)),
        smtp_host: Some("mail.loopback.test".into()),
        smtp_port: Some(i64::from(port)),
        smtp_security: Some("plain".into()),
        ..imap("mail.loopback.test", "plain")
    };
    let (mailbox, _) = env.desk.save_email_mailbox(&env.admin, None, &settings).await.unwrap();
    let timeout = Duration::from_secs(5);

    // The operator narrows the policy after the save: nothing connects any more.
    let tightened = env.desk.with_outbound(guard("", names()));
    match connect(&tightened, &mailbox, timeout).await {
        Err(ImapError::Outbound(e)) => {
            assert!(e.is_refusal() && e.to_string().starts_with("imapHost: mail.loopback.test resolves to 127.0.0.1"))
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    match smtp_server(&tightened, &mailbox).await {
        Err(DeliveryOutcome::Failed { error }) => assert!(error.contains("smtpHost: mail.loopback.test"), "{error}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    // The name now points elsewhere (DNS changed since the save): checked again, refused.
    let moved =
        env.desk.with_outbound(guard("127.0.0.0/8", FixedResolver::of(&[("mail.loopback.test", &["10.9.9.9"])])));
    assert!(matches!(connect(&moved, &mailbox, timeout).await, Err(ImapError::Outbound(e)) if e.is_refusal()));
    // Cleartext to an address that is no longer this machine, even an allowed one, is refused.
    let moved_allowed =
        env.desk.with_outbound(guard("10.0.0.0/8", FixedResolver::of(&[("mail.loopback.test", &["10.9.9.9"])])));
    match smtp_server(&moved_allowed, &mailbox).await {
        Err(DeliveryOutcome::Failed { error }) => assert!(error.contains("smtpSecurity: plain"), "{error}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0, "a refused host was connected to");

    // As saved, the poller does connect (the listener is no IMAP server, so it fails after).
    assert!(connect(&env.desk, &mailbox, timeout).await.is_err());
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    assert_eq!(smtp_server(&env.desk, &mailbox).await.unwrap(), format!("127.0.0.1:{port}").parse().unwrap());
}
