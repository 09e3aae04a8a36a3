//! The test harness: one real `switchboard serve` per test binary, on SQLite by default or on
//! PostgreSQL when `TEST_DATABASE_URL` names a (fresh) database. Tests never share data: each
//! seeds its own workspace through the real `switchboard seed --file` command. The server's
//! Discord is the test kit's Discord double (one per test binary too): tests add guilds of their
//! own to it.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use switchboard_testkit::discord::{DiscordDouble, DiscordUser};

/// The shared server, with the temporary directory holding its data.
pub struct Server {
    process: switchboard_testkit::ServerProcess,
    pub url: String,
    _tmp: tempfile::TempDir,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static DISCORD: OnceLock<Arc<DiscordDouble>> = OnceLock::new();

/// The bot's token, application and user id on the shared server's Discord double.
pub const DISCORD_TOKEN: &str = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GbCdEf.e2e-shared";
pub const DISCORD_APP: &str = "1098765432109876543";
pub const DISCORD_BOT: u64 = 1_098_765_432_109_876_544;

/// A Discord double on a runtime of its own, so it outlives any one test's runtime.
pub fn start_discord_double(token: &'static str) -> Arc<DiscordDouble> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        rt.block_on(async move {
            let app = DISCORD_APP.parse().expect("application id");
            let double = Arc::new(DiscordDouble::start(token, app, DISCORD_BOT).await.expect("Discord double"));
            tx.send(double.clone()).expect("hand over the double");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("the Discord double started")
}

/// The shared server's Discord double.
pub fn discord() -> &'static Arc<DiscordDouble> {
    DISCORD.get_or_init(|| start_discord_double(DISCORD_TOKEN))
}

/// A new guild on the shared double, the bot in it (so a workspace may link it); returns its id.
pub fn discord_guild(name: &str) -> u64 {
    let d = discord();
    let owner = DiscordUser::person(d.new_id(), "owner", "Owner");
    d.add_guild(name, &owner)
}
static NEXT: AtomicUsize = AtomicUsize::new(1);

pub const PASSWORD: &str = "correct horse battery";

/// The shared server's settings: webhooks and mail servers may reach the tests' receivers on
/// loopback (and nothing else that is not public), and failed deliveries are retried within a
/// second rather than ten.
pub const SERVER_SETTINGS: &[(&str, &str)] = &[
    ("SWITCHBOARD_OUTBOUND_ALLOW", "127.0.0.0/8,::1"),
    ("SWITCHBOARD_WEBHOOK_RETRY_BASE_MS", "300"),
    // Small enough that the email tests can cross it cheaply.
    ("SWITCHBOARD_EMAIL_MAX_MESSAGE_BYTES", "1000000"),
    // The tests play the server's reverse proxy, so each can name a client of its own.
    ("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.1, ::1"),
];

/// The shared server, started on first use. It is never dropped: it stops when the test
/// process exits and its stdin closes.
pub fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let database_url = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
        let mut settings = SERVER_SETTINGS.to_vec();
        let discord_url = discord().url.clone();
        settings.extend([
            ("SWITCHBOARD_DISCORD_TOKEN", DISCORD_TOKEN),
            ("SWITCHBOARD_DISCORD_APPLICATION_ID", DISCORD_APP),
            ("SWITCHBOARD_DISCORD_API_URL", discord_url.as_str()),
        ]);
        let process = switchboard_testkit::ServerProcess::start_with(
            Path::new(env!("CARGO_BIN_EXE_switchboard")),
            &tmp.path().join("data"),
            database_url.as_deref(),
            &settings,
        )
        .expect("start switchboard");
        Server { url: process.url.clone(), process, _tmp: tmp }
    })
}

/// Runs the real binary against the shared server's database and returns its stdout.
pub fn cli(args: &[&str], envs: &[(&str, &str)]) -> String {
    server().process.cli(args, envs).unwrap_or_else(|e| panic!("{e:#}"))
}

/// A workspace of a test's own, with staff and two portal customers.
pub struct Workspace {
    pub slug: String,
    pub admin: String,
    pub supervisor: String,
    pub agent: String,
    pub agent2: String,
    pub customer: String,
    pub other_customer: String,
}

impl Workspace {
    /// The email of a role's account in this workspace (`admin`, `agent`, `customer`, ...).
    pub fn email(&self, who: &str) -> String {
        format!("{who}@{}.test", self.slug)
    }
}

/// Seeds a new workspace through `switchboard seed --file` and signs everyone in.
pub async fn workspace() -> Workspace {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    // No slug is a prefix of another, so one test can search responses for another workspace's slug.
    let slug = format!("w{n}-{}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_seed(dir.path(), &slug, n);
    cli(&["seed", "--file", file.to_str().expect("utf-8 path")], &[]);
    let email = |who: &str| format!("{who}@{slug}.test");
    Workspace {
        admin: login(&email("admin")).await,
        supervisor: login(&email("supervisor")).await,
        agent: login(&email("agent")).await,
        agent2: login(&email("agent2")).await,
        customer: customer_login(&email("customer")).await,
        other_customer: customer_login(&email("other")).await,
        slug,
    }
}

/// Writes the seed file of a test workspace (staff, two queues, a help topic, a canned response,
/// two portal customers) into `dir` and returns its path.
pub fn write_seed(dir: &Path, slug: &str, n: usize) -> std::path::PathBuf {
    let user = |who: &str, role: &str, name: &str| json!({ "email": format!("{who}@{slug}.test"), "name": name, "role": role, "password": PASSWORD });
    let contact = |who: &str, name: &str| json!({ "name": name, "email": format!("{who}@{slug}.test"), "phone": null, "requester_type": "account", "portal_password": PASSWORD });
    let seed = json!({
        "workspace": { "slug": slug, "name": format!("Workspace {n}"), "ticket_prefix": "SD", "time_zone": "Europe/Berlin" },
        "users": [
            user("admin", "admin", "Ada Admin"), user("supervisor", "supervisor", "Sam Supervisor"),
            user("agent", "agent", "Alex Agent"), user("agent2", "agent", "Bea Agent"),
        ],
        "queues": [
            { "name": "General", "is_default": true, "members": [{ "email": format!("agent@{slug}.test"), "role": "member", "weight": 1, "on_break": false }] },
            { "name": "Billing", "is_default": false, "members": [] },
        ],
        "help_topics": [{ "name": "Billing question", "default_priority": "high", "default_queue": "Billing", "default_assignee": null, "due_offset_minutes": 1440 }],
        "canned_responses": [{ "title": "Thanks", "shortcut": "thanks", "body": "Thanks {{requester.name}}!", "help_topic": null }],
        "contacts": [contact("customer", "Carla Customer"), contact("other", "Oscar Other")],
        "tickets": [],
    });
    let file = dir.join("seed.json");
    std::fs::write(&file, seed.to_string()).expect("write seed");
    file
}

/// A client for one request. Each test has its own tokio runtime, and a pooled connection dies
/// with the runtime that opened it, so clients are never shared between tests.
pub fn client() -> reqwest::Client {
    client_builder().build().expect("HTTP client")
}

/// A client builder with the server's TLS provider (reqwest has no default one here).
pub fn client_builder() -> reqwest::ClientBuilder {
    switchboard_desk::egress::http_client_builder()
}

/// POSTs a GraphQL request (with a bearer token when given) and returns the JSON body.
pub async fn gql(token: Option<&str>, query: &str, variables: Value) -> Value {
    gql_at(&server().url, token, query, variables).await
}

/// Like [`gql`], to the server at `url`.
pub async fn gql_at(url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let (status, body) = gql_status_at(url, token, query, variables).await;
    assert!(status == 200 || status == 401, "unexpected HTTP status {status}: {body}");
    body
}

/// Like [`gql`], with the HTTP status.
pub async fn gql_status(token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
    gql_status_at(&server().url, token, query, variables).await
}

async fn gql_status_at(url: &str, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
    let mut req = client().post(format!("{url}/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    response(req).await
}

/// An anonymous GraphQL request forwarded by the (trusted) proxy for the caller at `client`.
pub async fn gql_from(client: &str, query: &str, variables: Value) -> Value {
    let url = &server().url;
    let req = self::client()
        .post(format!("{url}/graphql"))
        .header("X-Forwarded-For", format!("192.0.2.250, {client}"))
        .json(&json!({ "query": query, "variables": variables }));
    response(req).await.1
}

async fn response(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")))
}

/// The `data` of a response that must have succeeded.
pub async fn ok(token: &str, query: &str, variables: Value) -> Value {
    let body = gql(Some(token), query, variables).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

/// The first error's code, field and message.
pub fn error_of(body: &Value) -> (String, Option<String>, String) {
    let e = &body["errors"][0];
    assert!(!e.is_null(), "expected an error, got {body}");
    (
        e["extensions"]["code"].as_str().unwrap_or_default().to_string(),
        e["extensions"]["field"].as_str().map(str::to_string),
        e["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// Asserts the response failed with `code` (and, when given, on `field`).
pub fn assert_error(body: &Value, code: &str, field: Option<&str>) {
    let (c, f, m) = error_of(body);
    assert_eq!(c, code, "wrong code ({m}) in {body}");
    if let Some(field) = field {
        assert_eq!(f.as_deref(), Some(field), "wrong field ({m}) in {body}");
    }
}

pub async fn login(email: &str) -> String {
    let d = gql(
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        json!({ "e": email, "p": PASSWORD }),
    )
    .await;
    d["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("login {email}: {d}")).to_string()
}

pub async fn customer_login(email: &str) -> String {
    let d = gql(
        None,
        "mutation($e: String!, $p: String!) { customerLogin(email: $e, password: $p) { token } }",
        json!({ "e": email, "p": PASSWORD }),
    )
    .await;
    d["data"]["customerLogin"]["token"].as_str().unwrap_or_else(|| panic!("customer login {email}: {d}")).to_string()
}

pub const TICKET_FIELDS: &str = "id number subject status priority escalated tags updatedAt closeReason closeNote \
    assignee { id name } queue { id name } requester { id name email } helpTopic { id name }";

/// Opens a ticket for the workspace's customer as its agent, returning the ticket.
pub async fn open_ticket(ws: &Workspace, subject: &str) -> Value {
    let q = format!("mutation($i: OpenTicketInput!) {{ openTicket(input: $i) {{ {TICKET_FIELDS} }} }}");
    let input = json!({ "subject": subject, "description": format!("{subject}: please help"), "requester": { "email": ws.email("customer") }, "source": "PORTAL" });
    ok(&ws.agent, &q, json!({ "i": input })).await["openTicket"].clone()
}

/// A ticket with its thread and history, as staff see it.
pub async fn ticket(token: &str, id: &str) -> Value {
    let q = format!(
        "query($id: ID!) {{ ticket(id: $id) {{ {TICKET_FIELDS} entries {{ id kind internal body authorName mentions }} history {{ actor field oldValue newValue createdAt }} }} }}"
    );
    ok(token, &q, json!({ "id": id })).await["ticket"].clone()
}
