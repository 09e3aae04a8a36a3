//! The email channel against real mail servers from Debian's packages, started by the test
//! under a temp dir: dovecot (IMAP, plaintext login on loopback, passdb from a file) and an
//! aiosmtpd sink writing what it receives into a Maildir. Run by `.ci/run`:
//! `cargo test -p switchboard-email --features mail-servers --test mail_servers`.
//!
//! A customer's mail is APPENDed to the IMAP mailbox and the poller opens a ticket; an agent
//! replies through GraphQL; the outbox sends it over SMTP to the sink, where its headers thread;
//! the customer's reply built from the received message lands on the same ticket. Fetching the
//! mailbox twice changes nothing, and a crash between fetch and commit re-fetches harmlessly.
//! A customer's one-time sign-in link goes out through the sink and signs them in once.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use switchboard_desk::domain::*;
use switchboard_desk::*;
use switchboard_email::imap::{PollReport, poll_mailbox};
use switchboard_email::*;
use switchboard_email::{EmailSender, EmailSettings};

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Ports handed out in this process. Both tests start servers at once, and the kernel may give
/// two `bind(0)` calls the same free port before either server binds it: the loser would then
/// wait on the winner's port and fail later with "connection refused".
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if HANDED_OUT.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// Waits until `server` answers on `port` with a greeting starting with `greeting`. A bare
/// connect is not proof: another process may hold the port, or a loopback connect can land on
/// its own ephemeral port.
fn wait_for_server(server: &mut Running, port: u16, greeting: &str, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("{what} exited ({status}): {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        if greets(port, greeting) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn greets(port: u16, greeting: &str) -> bool {
    use std::io::Read;
    let Ok(mut tcp) = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1))
    else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < greeting.len() {
        match tcp.read(&mut buf[got..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got += n,
        }
    }
    buf[..got].starts_with(greeting.as_bytes())
}

fn is_root() -> bool {
    // SAFETY-free: `id -u` instead of libc, which this crate does not otherwise need.
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

fn id_of(flag: &str) -> String {
    String::from_utf8(Command::new("id").arg(flag).output().unwrap().stdout).unwrap().trim().to_string()
}

/// Starts dovecot on a free port with one account, `support` / `secret`.
fn start_dovecot(dir: &Path) -> (Running, u16) {
    let port = free_port();
    let root = dir.join("dovecot");
    std::fs::create_dir_all(root.join("mail")).unwrap();
    std::fs::write(root.join("passwd"), "support:{PLAIN}secret\n").unwrap();
    // As root, dovecot's own service users run it and mail belongs to nobody; as anyone else,
    // everything runs as that user.
    let (uid, gid, users) = if is_root() {
        let status = Command::new("chown").args(["-R", "65534:65534"]).arg(root.join("mail")).status().unwrap();
        assert!(status.success());
        ("65534".to_string(), "65534".to_string(), String::new())
    } else {
        let user = id_of("-un");
        let group = id_of("-gn");
        let users =
            format!("default_login_user = {user}\ndefault_internal_user = {user}\ndefault_internal_group = {group}\n");
        (id_of("-u"), id_of("-g"), users)
    };
    for p in [dir, &root] {
        Command::new("chmod").arg("755").arg(p).status().unwrap();
    }
    let r = root.display();
    let conf = format!(
        "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {r}/run\nstate_dir = {r}/state\nlog_path = {r}/dovecot.log\n\
         ssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\nmail_location = maildir:{r}/mail/%u\n{users}\
         passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {r}/passwd\n}}\n\
         userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={r}/mail/%u\n}}\n\
         service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  \
         inet_listener imaps {{\n    port = 0\n  }}\n}}\n"
    );
    std::fs::write(root.join("dovecot.conf"), conf).unwrap();
    let child = Command::new("dovecot")
        .args(["-F", "-c"])
        .arg(root.join("dovecot.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dovecot is installed (apt-get install dovecot-imapd)");
    let mut running = Running(child);
    wait_for_server(&mut running, port, "* OK", "dovecot", &root.join("dovecot.log"));
    (running, port)
}

/// aiosmtpd's Maildir handler, refusing recipients at `gone.test` for good the way a real
/// server refuses an unknown user.
const SINK_HANDLER: &str = r#"
from aiosmtpd.handlers import Mailbox

class Picky(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith('@gone.test'):
            return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address
        envelope.rcpt_tos.append(address)
        return '250 OK'
"#;

/// Starts an aiosmtpd sink on a free port that writes each message into `dir/maildir/new`.
fn start_smtp_sink(dir: &Path) -> (Running, u16, PathBuf) {
    let port = free_port();
    let maildir = dir.join("maildir");
    let log = dir.join("aiosmtpd.log");
    std::fs::write(dir.join("picky_sink.py"), SINK_HANDLER).unwrap();
    let child = Command::new(if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" })
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "picky_sink.Picky"])
        .arg(&maildir)
        .env("PYTHONPATH", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("python3 with aiosmtpd is installed (apt-get install python3-aiosmtpd)");
    let mut running = Running(child);
    wait_for_server(&mut running, port, "220 ", "aiosmtpd", &log);
    (running, port, maildir)
}

async fn imap_session(port: u16) -> async_imap::Session<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap();
    client.login("support", "secret").await.map_err(|(e, _)| e).unwrap()
}

/// Delivers a message into the mailbox, as the customer's mail server would.
async fn deliver(port: u16, raw: &str) {
    let mut s = imap_session(port).await;
    s.append("INBOX", None, None, raw.as_bytes()).await.unwrap();
    s.logout().await.unwrap();
}

/// The flags of every message in INBOX, by UID.
async fn flags(port: u16) -> Vec<(u32, bool)> {
    let mut s = imap_session(port).await;
    s.select("INBOX").await.unwrap();
    let fetched: Vec<_> = s.uid_fetch("1:*", "(UID FLAGS)").await.unwrap().try_collect().await.unwrap();
    let mut out: Vec<(u32, bool)> = fetched
        .iter()
        .map(|f| (f.uid.unwrap(), f.flags().any(|fl| matches!(fl, async_imap::types::Flag::Seen))))
        .collect();
    out.sort();
    s.logout().await.unwrap();
    out
}

/// Runs the outbox for email once, as the job runner does.
async fn run_outbox(desk: &Desk, sender: &EmailSender) -> Vec<DeliveryOutcome> {
    let mut outcomes = Vec::new();
    for (id, _) in desk.due_outbox(Channel::Email, 50).await.unwrap() {
        let msg = desk.outbound_message(id).await.unwrap().unwrap();
        let outcome = ChannelSender::send(sender, &msg).await;
        desk.record_outbox_attempt(&msg, &outcome, 1000).await.unwrap();
        outcomes.push(outcome);
    }
    outcomes
}

fn sink_messages(maildir: &Path) -> Vec<String> {
    let mut files: Vec<_> =
        std::fs::read_dir(maildir.join("new")).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).unwrap());
    files.into_iter().map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned()).collect()
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    raw.lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_round_trip_through_dovecot_and_an_smtp_sink() {
    let dir = tempfile::tempdir().unwrap();
    let (_dovecot, imap_port) = start_dovecot(dir.path());
    let (_sink, smtp_port, maildir) = start_smtp_sink(dir.path());

    let store =
        switchboard_desk::store::Store::connect(&format!("sqlite://{}/desk.db", dir.path().display())).await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"test secret for the email channel".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.path().join("blobs")), auth)
        // The test mail servers listen on loopback: allowed as an operator would allow them.
        .with_outbound(egress::OutboundGuard::with_policy(OutboundPolicy::parse("127.0.0.0/8,::1").unwrap()));
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let system = Actor::system(ws.id);
    let agent_rec = desk.create_user(&system, "alex@acme.test", "Alex Agent", Role::Agent, None).await.unwrap();
    let agent = Actor {
        workspace_id: ws.id,
        kind: ActorKind::User { id: agent_rec.id, role: Role::Agent },
        label: agent_rec.name.clone(),
    };
    let admin_rec = desk.create_user(&system, "ada@acme.test", "Ada Admin", Role::Admin, None).await.unwrap();
    let admin = Actor {
        workspace_id: ws.id,
        kind: ActorKind::User { id: admin_rec.id, role: Role::Admin },
        label: "Ada".into(),
    };
    // The core API with the email channel's objects merged in, as the server composes it.
    #[derive(async_graphql::MergedObject, Default)]
    struct Query(switchboard_graphql::CoreQuery, switchboard_email::EmailQuery);
    #[derive(async_graphql::MergedObject, Default)]
    struct Mutation(switchboard_graphql::CoreMutation, switchboard_email::EmailMutation);
    let schema =
        switchboard_graphql::build_schema_with(Query::default(), Mutation::default(), desk.clone(), Default::default());
    let gql = |actor: Actor, query: String| {
        let schema = schema.clone();
        async move {
            let resp = schema.execute(async_graphql::Request::new(query).data(actor)).await;
            assert!(resp.errors.is_empty(), "{:?}", resp.errors);
            resp.data.into_json().unwrap()
        }
    };

    // The admin sets the mailbox up through GraphQL: IMAP in, SMTP out.
    let saved = gql(
        admin.clone(),
        format!(
            r#"mutation {{ saveEmailMailbox(input: {{ name: "Acme Support", address: "help@acme.test",
                imapHost: "127.0.0.1", imapPort: {imap_port}, imapSecurity: "plain", imapUser: "support",
                imapPassword: "secret", smtpHost: "127.0.0.1", smtpPort: {smtp_port}, smtpSecurity: "plain" }})
                {{ mailbox {{ id imapPasswordSet }} }} }}"#
        ),
    )
    .await;
    assert_eq!(saved["saveEmailMailbox"]["mailbox"]["imapPasswordSet"], true);
    let mailbox_id = ChannelAccountId(saved["saveEmailMailbox"]["mailbox"]["id"].as_str().unwrap().parse().unwrap());
    let mailbox = || async { desk.email_mailbox_of(ws.id, mailbox_id).await.unwrap().unwrap() };
    let settings = EmailSettings { network_timeout: Duration::from_secs(10), ..EmailSettings::default() };

    // 1. The customer writes; the poller opens a ticket and marks the message seen.
    deliver(
        imap_port,
        "From: Alice Customer <alice@customer.test>\r\nTo: help@acme.test\r\nSubject: Printer on fire\r\n\
         Message-ID: <first@customer.test>\r\nDate: Mon, 4 Mar 2024 09:00:00 +0000\r\n\r\nThe printer on floor 3 is on fire.\r\n",
    )
    .await;
    assert_eq!(flags(imap_port).await, [(1, false)]);
    let report = poll_mailbox(&desk, &settings, &mailbox().await).await.unwrap();
    assert_eq!(report, PollReport { fetched: 1, opened: 1, ..Default::default() });
    assert_eq!(flags(imap_port).await, [(1, true)], "marked seen once committed");
    let ticket = desk.ticket_by_number(&agent, "SD-00001").await.unwrap();
    assert_eq!(ticket.subject, "Printer on fire");
    assert_eq!(ticket.requester_email.as_deref(), Some("alice@customer.test"));

    // 2. The agent replies through GraphQL; the outbox sends it to the SMTP sink.
    gql(
        agent.clone(),
        format!(r#"mutation {{ reply(ticketId: "{}", body: "We are sending someone over.") {{ id }} }}"#, ticket.id.0),
    )
    .await;
    let sender = EmailSender::new(desk.clone(), Duration::from_secs(10), "https://help.acme.test");
    let outcomes = run_outbox(&desk, &sender).await;
    assert_eq!(outcomes.len(), 1);
    let DeliveryOutcome::Sent { external_message_id: Some(our_id) } = &outcomes[0] else { panic!("{outcomes:?}") };
    let sent = wait_for_sink(&maildir, 1).await.remove(0);
    assert_eq!(header(&sent, "Message-ID"), Some(our_id.as_str()));
    assert_eq!(header(&sent, "In-Reply-To"), Some("<first@customer.test>"));
    assert_eq!(header(&sent, "References"), Some("<first@customer.test>"));
    assert_eq!(header(&sent, "Subject"), Some("Re: Printer on fire [SD-00001]"));
    assert!(header(&sent, "From").unwrap().contains("<help@acme.test>"));
    assert!(header(&sent, "To").unwrap().contains("<alice@customer.test>"));
    assert!(sent.contains("We are sending someone over."));
    assert_eq!(header(&sent, "Auto-Submitted"), None, "a person's reply is not automatic");
    let thread = desk.thread(&agent, ticket.id).await.unwrap();
    assert_eq!(thread.last().unwrap().entry.delivery_status.as_deref(), Some("sent"));

    // 3. The customer answers that message, as their client would: Re: subject, In-Reply-To and
    //    References from the received headers, the quote below.
    let reply = format!(
        "From: Alice Customer <alice@customer.test>\r\nTo: help@acme.test\r\nSubject: Re: {}\r\n\
         Message-ID: <second@customer.test>\r\nIn-Reply-To: {our_id}\r\nReferences: <first@customer.test> {our_id}\r\n\r\n\
         Thanks, it is out now.\r\n\r\nOn Mon, 4 Mar 2024 at 10:00, Acme Support <help@acme.test> wrote:\r\n> We are sending someone over.\r\n",
        header(&sent, "Subject").unwrap()
    );
    deliver(imap_port, &reply).await;
    let report = poll_mailbox(&desk, &settings, &mailbox().await).await.unwrap();
    assert_eq!(report, PollReport { fetched: 1, threaded: 1, ..Default::default() });
    let thread = desk.thread(&agent, ticket.id).await.unwrap();
    assert_eq!(thread.len(), 3);
    assert_eq!(thread[2].entry.body, "Thanks, it is out now.");
    assert!(matches!(desk.ticket_by_number(&agent, "SD-00002").await, Err(DeskError::NotFound(_))));

    // 4. Fetching again finds nothing new; fetching everything again (a lost cursor) changes nothing.
    let report = poll_mailbox(&desk, &settings, &mailbox().await).await.unwrap();
    assert_eq!(report, PollReport::default());
    let m = mailbox().await;
    desk.set_email_imap_cursor(&m, m.imap_uid_validity.unwrap(), 0).await.unwrap();
    let report = poll_mailbox(&desk, &settings, &mailbox().await).await.unwrap();
    assert_eq!(report, PollReport { fetched: 2, duplicates: 2, ..Default::default() });
    assert_eq!(desk.thread(&agent, ticket.id).await.unwrap().len(), 3);

    // 5. A crash between fetch and commit: the message was read (without \Seen) but nothing was
    //    committed, so the next round takes it; and a crash after the commit but before the
    //    mark re-fetches it, and dedupe keeps it single.
    deliver(
        imap_port,
        "From: bob@customer.test\r\nSubject: Scanner\r\nMessage-ID: <third@customer.test>\r\n\r\nThe scanner jams.\r\n",
    )
    .await;
    {
        let mut s = imap_session(imap_port).await;
        s.select("INBOX").await.unwrap();
        let fetched: Vec<_> = s.uid_fetch("3", "(UID BODY.PEEK[])").await.unwrap().try_collect().await.unwrap();
        assert!(fetched[0].body().unwrap().starts_with(b"From: bob@customer.test"));
        // The process dies here: no commit, no mark.
    }
    assert_eq!(flags(imap_port).await[2], (3, false));
    // ... and the desk commits this one before the crash hits, the cursor and \Seen not yet moved.
    let raw = {
        let mut s = imap_session(imap_port).await;
        s.select("INBOX").await.unwrap();
        let f: Vec<_> = s.uid_fetch("3", "(UID BODY.PEEK[])").await.unwrap().try_collect().await.unwrap();
        f[0].body().unwrap().to_vec()
    };
    let committed = switchboard_email::receive(&desk, &settings, &mailbox().await, &raw).await.unwrap();
    assert!(matches!(committed, switchboard_email::Received::Ticket { opened: true, .. }));
    let report = poll_mailbox(&desk, &settings, &mailbox().await).await.unwrap();
    assert_eq!(report, PollReport { fetched: 1, duplicates: 1, ..Default::default() });
    assert_eq!(flags(imap_port).await[2], (3, true));
    assert!(desk.ticket_by_number(&agent, "SD-00002").await.is_ok());
    assert!(matches!(desk.ticket_by_number(&agent, "SD-00003").await, Err(DeskError::NotFound(_))));

    // 6. A message that cannot be parsed is quarantined and does not block the ones after it.
    deliver(imap_port, "To: help@acme.test\r\nSubject: nobody sent this\r\n\r\nno sender\r\n").await;
    deliver(
        imap_port,
        "From: carol@customer.test\r\nSubject: After the bad one\r\nMessage-ID: <fourth@customer.test>\r\n\r\nStill here.\r\n",
    )
    .await;
    let report = poll_mailbox(&desk, &settings, &mailbox().await).await.unwrap();
    assert_eq!(report, PollReport { fetched: 2, opened: 1, set_aside: 1, ..Default::default() });
    let quarantined = desk.email_messages(&admin, "quarantined", 10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert!(quarantined[0].reason.as_deref().unwrap().contains("no From address"));

    // 6b. The SMTP server refusing the recipient for good (a 5xx) fails the delivery, with the
    //     server's reason on the entry.
    deliver(imap_port, "From: erin@gone.test\r\nSubject: Leaving\r\nMessage-ID: <gone@gone.test>\r\n\r\nBye.\r\n")
        .await;
    assert_eq!(poll_mailbox(&desk, &settings, &mailbox().await).await.unwrap().opened, 1);
    let gone = desk.ticket_by_number(&agent, "SD-00004").await.unwrap();
    desk.reply(&agent, gone.id, "Sorry to see you go.", Vec::new(), None).await.unwrap();
    let outcomes = run_outbox(&desk, &sender).await;
    match &outcomes[..] {
        [DeliveryOutcome::Failed { error }] => {
            assert!(error.contains("550") && error.contains("User unknown"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    let last = desk.thread(&agent, gone.id).await.unwrap().pop().unwrap();
    assert_eq!(last.entry.delivery_status.as_deref(), Some("failed"));
    assert!(last.entry.delivery_error.as_deref().unwrap().contains("User unknown"));

    // 7. An SMTP server that cannot be reached is retried later, not failed.
    let refused_ticket = desk.ticket_by_number(&agent, "SD-00003").await.unwrap();
    let m = mailbox().await;
    let moved = MailboxSettings {
        name: m.name.clone(),
        address: m.address.clone(),
        enabled: true,
        imap_host: m.imap_host.clone(),
        imap_port: Some(m.imap_port),
        imap_security: Some("plain".into()),
        imap_user: m.imap_user.clone(),
        smtp_host: m.smtp_host.clone(),
        smtp_port: Some(i64::from(free_port())),
        smtp_security: Some("plain".into()),
        ..Default::default()
    };
    desk.save_email_mailbox(&admin, Some(mailbox_id), &moved).await.unwrap();
    desk.reply(&agent, refused_ticket.id, "Hello?", Vec::new(), None).await.unwrap();
    let outcomes = run_outbox(&desk, &sender).await;
    assert!(matches!(&outcomes[..], [DeliveryOutcome::Retry { .. }]), "{outcomes:?}");
    // The IMAP password was kept: it is write-only, and leaving it out keeps it.
    assert_eq!(poll_mailbox(&desk, &settings, &mailbox().await).await.unwrap(), PollReport::default());

    // 8. The poller `serve` runs waits on IDLE (dovecot offers it): with a 60 s interval, new
    //    mail still becomes a ticket within seconds.
    let slow = EmailSettings { poll_interval: Duration::from_secs(60), ..settings.clone() };
    let poller = switchboard_email::imap::spawn_poller(desk.clone(), slow);
    tokio::time::sleep(Duration::from_secs(2)).await;
    deliver(
        imap_port,
        "From: dave@customer.test\r\nSubject: Pushed by IDLE\r\nMessage-ID: <fifth@customer.test>\r\n\r\nHello.\r\n",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(t) = desk.ticket_by_number(&agent, "SD-00005").await {
            assert_eq!(t.subject, "Pushed by IDLE");
            break;
        }
        assert!(Instant::now() < deadline, "the poller did not take the message while idling");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    poller.abort();
}

/// Waits for the sink to hold `n` messages and returns them.
async fn wait_for_sink(maildir: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = sink_messages(maildir);
        if got.len() >= n {
            return got;
        }
        assert!(Instant::now() < deadline, "the SMTP sink holds {} messages, not {n}", got.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_link_goes_out_by_smtp_and_signs_the_customer_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_sink, smtp_port, maildir) = start_smtp_sink(dir.path());
    let store =
        switchboard_desk::store::Store::connect(&format!("sqlite://{}/desk.db", dir.path().display())).await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"test secret for sign-in links".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.path().join("blobs")), auth)
        // The test mail servers listen on loopback: allowed as an operator would allow them.
        .with_outbound(egress::OutboundGuard::with_policy(OutboundPolicy::parse("127.0.0.0/8,::1").unwrap()));
    let ws = desk.create_workspace("acme", "Acme Printers", "SD", "UTC", "General").await.unwrap();
    let admin = Actor::system(ws.id);
    let mailbox = MailboxSettings {
        name: "Acme Support".into(),
        address: "help@acme.test".into(),
        enabled: true,
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(i64::from(smtp_port)),
        smtp_security: Some("plain".into()),
        ..Default::default()
    };
    desk.save_email_mailbox(&admin, None, &mailbox).await.unwrap();
    let contact =
        ContactInput { name: "Alice Customer".into(), email: Some("alice@customer.test".into()), ..Default::default() };
    let alice = desk.create_contact(&admin, contact).await.unwrap();
    // A second workspace with no mailbox that can send: its customer's link fails, visibly.
    let other = desk.create_workspace("other", "Other", "OT", "UTC", "General").await.unwrap();
    let bob = ContactInput { name: "Bob".into(), email: Some("bob@customer.test".into()), ..Default::default() };
    desk.create_contact(&Actor::system(other.id), bob).await.unwrap();

    let schema = switchboard_graphql::build_schema(desk.clone());
    let anonymous = |query: String| {
        let schema = schema.clone();
        async move { schema.execute(async_graphql::Request::new(query)).await.into_result() }
    };
    // Known, unknown and another workspace's customer: the same answer.
    for email in ["alice@customer.test", "nobody@customer.test", "bob@customer.test"] {
        let r = anonymous(format!(r#"mutation {{ requestCustomerSignInLink(email: "{email}") }}"#)).await.unwrap();
        assert_eq!(r.data.into_json().unwrap()["requestCustomerSignInLink"], true, "{email}");
    }

    // The job runner's part: each due link to the email sender.
    let sender = EmailSender::new(desk.clone(), Duration::from_secs(10), "https://help.acme.test/");
    let mut outcomes = Vec::new();
    for (id, _) in desk.due_customer_sign_in_links(10).await.unwrap() {
        let mail = desk.customer_sign_in_mail(id).await.unwrap().unwrap();
        let outcome = SignInLinkSender::send_sign_in_link(&sender, &mail).await;
        desk.record_customer_sign_in_attempt(&mail, &outcome, 1000).await.unwrap();
        outcomes.push((mail.customer_email.clone(), outcome));
    }
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        matches!(&outcomes[0], (to, DeliveryOutcome::Sent { .. }) if to == "alice@customer.test"),
        "{outcomes:?}; the sink's log: {}",
        std::fs::read_to_string(dir.path().join("aiosmtpd.log")).unwrap_or_default()
    );
    assert!(
        matches!(&outcomes[1], (to, DeliveryOutcome::Failed { error }) if to == "bob@customer.test" && error.contains("no enabled mailbox")),
        "{outcomes:?}"
    );
    assert_eq!(outcomes.len(), 2, "nothing for an unknown address");
    assert!(desk.due_customer_sign_in_links(10).await.unwrap().is_empty());

    let raw = wait_for_sink(&maildir, 1).await.remove(0);
    let parsed = mail_parser::MessageParser::default().parse(raw.as_bytes()).unwrap();
    assert_eq!(parsed.subject(), Some("Your sign-in link for Acme Printers"));
    assert_eq!(parsed.to().unwrap().first().unwrap().address(), Some("alice@customer.test"));
    assert_eq!(parsed.from().unwrap().first().unwrap().address(), Some("help@acme.test"));
    assert_eq!(header(&raw, "Auto-Submitted"), Some("auto-generated"));
    let text = parsed.body_text(0).unwrap();
    let link = text.split_whitespace().find(|w| w.starts_with("https://")).unwrap().to_string();
    let token = link.strip_prefix("https://help.acme.test/portal/sign-in#").expect("the link points at the portal");
    assert!(parsed.body_html(0).unwrap().contains(&format!("href=\"{link}\"")));

    // The customer opens it: signed in as Alice, once.
    let signed_in = anonymous(format!(
        r#"mutation {{ customerSignInWithLink(token: "{token}") {{ token contact {{ name email }} }} }}"#
    ))
    .await
    .unwrap()
    .data
    .into_json()
    .unwrap();
    assert_eq!(signed_in["customerSignInWithLink"]["contact"]["name"], "Alice Customer");
    let jwt = signed_in["customerSignInWithLink"]["token"].as_str().unwrap();
    assert_eq!(desk.authenticate(jwt).await.unwrap().contact_id(), Some(alice.id));
    let again =
        anonymous(format!(r#"mutation {{ customerSignInWithLink(token: "{token}") {{ token }} }}"#)).await.unwrap_err();
    assert_eq!(again[0].extensions.as_ref().unwrap().get("code").unwrap().to_string(), "\"UNAUTHENTICATED\"");
}
