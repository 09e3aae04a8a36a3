//! The seam itself: a small chat channel defined only in this test (its own routes, sender,
//! identity, settings, worker and GraphQL objects) is registered like any channel module, with
//! the server's `channel_modules!`, and carries a ticket end to end through the real desk, job
//! runner and database: a message posted to its route opens a ticket, a staff reply goes out
//! through its sender, its delivery report marks the entry delivered, and its GraphQL fields
//! answer in a schema composed as the server composes it. SQLite by default; with
//! `TEST_POSTGRES_URL` a fresh PostgreSQL database.
//!
//! It speaks for Discord, the one channel the core already names but no crate implements yet,
//! so the test needs nothing from the core that a new channel crate would not have.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::{Context, Object};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use switchboard_channel::{
    BoxFuture, Capabilities, ChannelModule, ChannelSettings, Registry, Shutdown, parse_settings,
};
use switchboard_desk::domain::{Actor, ActorKind, Channel, DeliveryStatus, Permission, Role, WorkspaceId};
use switchboard_desk::store::{IdentityKind, Store};
use switchboard_desk::*;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// The chat channel's account settings: the token its webhook signs with.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChatSettings {
    webhook_token: String,
}

impl ChannelSettings for ChatSettings {
    fn validate(&self) -> Result<(), DeskError> {
        if self.webhook_token.len() < 8 {
            return Err(DeskError::invalid("webhookToken", "must be at least 8 characters"));
        }
        Ok(())
    }
}

/// What the chat service received from us.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    to: String,
    text: String,
    id: String,
}

struct ChatModule {
    desk: Desk,
    workspace: WorkspaceId,
    settings: ChatSettings,
    outbox: Arc<Mutex<Vec<Sent>>>,
    worker_ran: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct ChatState {
    desk: Desk,
    workspace: WorkspaceId,
    token: String,
}

#[derive(Deserialize)]
struct ChatMessage {
    id: String,
    user: String,
    name: String,
    conversation: String,
    text: String,
}

#[derive(Deserialize)]
struct ChatReport {
    id: String,
    status: String,
}

async fn chat_message(
    State(s): State<ChatState>,
    headers: HeaderMap,
    axum::Json(m): axum::Json<ChatMessage>,
) -> StatusCode {
    if headers.get("x-chat-token").and_then(|v| v.to_str().ok()) != Some(s.token.as_str()) {
        return StatusCode::UNAUTHORIZED;
    }
    let msg = InboundMessage {
        channel: Channel::Discord,
        thread_key: Some(format!("chat:{}", m.conversation)),
        ticket_id: None,
        external_message_id: m.id,
        sender_kind: IdentityKind::Channel(Channel::Discord),
        sender_value: m.user,
        sender_name: Some(m.name),
        subject: None,
        text: m.text,
        attachments: Vec::new(),
    };
    // The channel's own actor: it may ingest, never administer.
    match s.desk.ingest(&Actor::channel(s.workspace, Channel::Discord, None), msg).await {
        Ok(_) => StatusCode::ACCEPTED,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn chat_report(State(s): State<ChatState>, axum::Json(r): axum::Json<ChatReport>) -> StatusCode {
    let status = if r.status == "delivered" { DeliveryStatus::Delivered } else { DeliveryStatus::Failed };
    match s.desk.record_delivery_report(s.workspace, Channel::Discord, &r.id, status, None).await {
        Ok(true) => StatusCode::OK,
        Ok(false) => StatusCode::NOT_FOUND,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

struct ChatSender {
    outbox: Arc<Mutex<Vec<Sent>>>,
}

impl ChannelSender for ChatSender {
    fn channel(&self) -> Channel {
        Channel::Discord
    }

    fn send<'a>(&'a self, msg: &'a OutboundMessage) -> BoxFuture<'a, DeliveryOutcome> {
        Box::pin(async move {
            let Some(to) = msg.requester.identity(Channel::Discord).map(str::to_string) else {
                return DeliveryOutcome::Failed { error: "the requester has no chat identity".into() };
            };
            let id = format!("chat-out-{}", msg.outbox_id);
            self.outbox.lock().unwrap().push(Sent { to, text: msg.body.clone(), id: id.clone() });
            DeliveryOutcome::Sent { external_message_id: Some(id) }
        })
    }
}

/// What the chat channel adds to the API's reads.
#[derive(Default)]
struct ChatQuery(Option<Arc<Mutex<Vec<Sent>>>>);

#[Object]
impl ChatQuery {
    /// Replies the chat channel carried since the server started (staff).
    async fn chat_replies_sent(&self, ctx: &Context<'_>) -> Result<i32, DeskError> {
        if !switchboard_graphql::actor(ctx)?.can(Permission::View) {
            return Err(DeskError::Forbidden("this needs the service-desk.view permission".into()));
        }
        Ok(self.0.as_ref().map_or(0, |sent| sent.lock().unwrap().len() as i32))
    }
}

/// What the chat channel adds to the API's changes.
#[derive(Default)]
struct ChatMutation;

#[Object]
impl ChatMutation {
    /// Checks the chat channel's settings before an admin saves them.
    async fn chat_check_settings(&self, ctx: &Context<'_>, webhook_token: String) -> Result<bool, DeskError> {
        if !switchboard_graphql::actor(ctx)?.can(Permission::Admin) {
            return Err(DeskError::Forbidden("this needs the service-desk.admin permission".into()));
        }
        parse_settings::<ChatSettings>(&serde_json::json!({ "webhook_token": webhook_token }))?;
        Ok(true)
    }
}

impl ChannelModule for ChatModule {
    type Query = ChatQuery;
    type Mutation = ChatMutation;

    fn graphql_query(&self) -> ChatQuery {
        ChatQuery(Some(self.outbox.clone()))
    }

    fn channel(&self) -> Channel {
        Channel::Discord
    }

    fn display_name(&self) -> &'static str {
        "Test chat"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { delivers_replies: true, max_message_chars: Some(2000), ..Capabilities::default() }
    }

    fn routes(&self) -> Option<Router> {
        let state = ChatState {
            desk: self.desk.clone(),
            workspace: self.workspace,
            token: self.settings.webhook_token.clone(),
        };
        Some(
            Router::new()
                .route("/inbound/chat", post(chat_message))
                .route("/inbound/chat/report", post(chat_report))
                .with_state(state),
        )
    }

    fn sender(&self) -> Option<Arc<dyn ChannelSender>> {
        Some(Arc::new(ChatSender { outbox: self.outbox.clone() }))
    }

    fn start_workers(&self, shutdown: &Shutdown) -> Vec<JoinHandle<()>> {
        let ran = self.worker_ran.clone();
        vec![shutdown.spawn(async move {
            loop {
                ran.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })]
    }

    fn validate_settings(&self, settings: &serde_json::Value) -> Result<(), DeskError> {
        parse_settings::<ChatSettings>(settings).map(|_| ())
    }
}

switchboard_channel::channel_modules! {
    /// The test's list of channel modules, written as the server writes its own.
    fn chat_channels(module: ChatModule) -> ChannelQuery, ChannelMutation {
        chat: ChatModule = module,
    }
}

// The API's roots, composed as the server composes them: the core's objects and the channels'.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Query")]
struct Query(switchboard_graphql::CoreQuery, ChannelQuery);

#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Mutation")]
struct Mutation(switchboard_graphql::CoreMutation, ChannelMutation);

async fn post_json(router: &Router, path: &str, token: &str, body: serde_json::Value) -> StatusCode {
    let req = Request::post(path)
        .header("content-type", "application/json")
        .header("x-chat-token", token)
        .body(Body::from(body.to_string()))
        .unwrap();
    router.clone().oneshot(req).await.unwrap().status()
}

/// Waits (up to ten seconds) until `ok` holds for the entry `entry` of `ticket`'s thread.
async fn entry_until(
    desk: &Desk,
    actor: &Actor,
    ticket: TicketId,
    entry: EntryId,
    what: &str,
    ok: impl Fn(&store::EntryRecord) -> bool,
) -> store::EntryRecord {
    for _ in 0..200 {
        let thread = desk.thread(actor, ticket).await.unwrap();
        let e = thread.into_iter().find(|t| t.entry.id == entry).unwrap().entry;
        if ok(&e) {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the reply never became {what}");
}

use switchboard_desk::domain::{EntryId, TicketId};

#[tokio::test]
async fn a_channel_defined_in_a_test_carries_a_ticket_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let url = switchboard_testkit::fresh_database_url(dir.path(), "seam").await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"test secret for the channel seam".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let system = Actor::system(ws.id);
    let agent = desk.create_user(&system, "agent@acme.test", "Alex Agent", Role::Agent, None).await.unwrap();
    let agent =
        Actor { workspace_id: ws.id, kind: ActorKind::User { id: agent.id, role: Role::Agent }, label: agent.name };

    let settings = serde_json::json!({ "webhook_token": "chat-secret-1" });
    let module = ChatModule {
        desk: desk.clone(),
        workspace: ws.id,
        settings: parse_settings(&settings).unwrap(),
        outbox: Arc::default(),
        worker_ran: Arc::default(),
    };
    // The channel validates its own settings, naming the field.
    let bad = module.validate_settings(&serde_json::json!({ "webhook_token": "short" })).unwrap_err();
    assert!(matches!(&bad, DeskError::Validation(v) if v.field == "webhookToken"), "{bad:?}");
    assert!(module.validate_settings(&serde_json::json!({})).is_err(), "a missing token is refused");
    let (outbox, worker_ran) = (module.outbox.clone(), module.worker_ran.clone());

    // Registered exactly as the server registers its modules.
    let list = chat_channels(module);
    let channels = Registry::new(list.modules).unwrap();
    let schema = switchboard_graphql::build_schema_with(
        Query(Default::default(), list.query),
        Mutation(Default::default(), list.mutation),
        desk.clone(),
        Default::default(),
    );
    desk.register_reply_channels(channels.reply_channels());
    let router = channels.routes();
    let workers = channels.start_workers();
    let config = switchboard_jobs::JobsConfig { poll_interval: Duration::from_millis(50), ..Default::default() };
    let jobs = switchboard_jobs::start(desk.clone(), &url, config, switchboard_jobs::Senders::new(channels.clone()))
        .await
        .unwrap();

    // Inbound through the channel's own route: a wrong token is refused, the message opens a ticket.
    let message = serde_json::json!({ "id": "chat-in-1", "user": "u-4711", "name": "Casey",
        "conversation": "c-9", "text": "The export button does nothing" });
    assert_eq!(post_json(&router, "/inbound/chat", "wrong-token", message.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(post_json(&router, "/inbound/chat", "chat-secret-1", message.clone()).await, StatusCode::ACCEPTED);
    // A redelivered message changes nothing.
    assert_eq!(post_json(&router, "/inbound/chat", "chat-secret-1", message).await, StatusCode::ACCEPTED);
    let page = desk.list_tickets(&agent, &Default::default(), 10, None).await.unwrap();
    assert_eq!(page.tickets.len(), 1, "one ticket for the message and its redelivery");
    let t = &page.tickets[0];
    assert_eq!(t.subject, "The export button does nothing");
    let requester = desk.contact(&agent, t.requester_id).await.unwrap();
    assert_eq!((requester.name.as_str(), requester.identity(Channel::Discord)), ("Casey", Some("u-4711")));

    // A staff reply goes out through the channel's sender, to the requester's chat identity.
    let reply = desk.reply(&agent, t.id, "Fixed in today's release", Vec::new(), None).await.unwrap();
    assert_eq!(reply.entry.delivery_status.as_deref(), Some("pending"));
    let sent =
        entry_until(&desk, &agent, t.id, reply.entry.id, "sent", |e| e.delivery_status.as_deref() == Some("sent"))
            .await;
    let delivered = outbox.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!((delivered[0].to.as_str(), delivered[0].text.as_str()), ("u-4711", "Fixed in today's release"));
    assert_eq!(sent.external_message_id.as_deref(), Some(delivered[0].id.as_str()));

    // The channel's delivery report, through its own route, marks the entry delivered.
    let report = serde_json::json!({ "id": delivered[0].id, "status": "delivered" });
    assert_eq!(post_json(&router, "/inbound/chat/report", "chat-secret-1", report).await, StatusCode::OK);
    let e = entry_until(&desk, &agent, t.id, reply.entry.id, "delivered", |e| {
        e.delivery_status.as_deref() == Some("delivered")
    })
    .await;
    assert_eq!(e.delivery_error, None);

    // Its GraphQL fields are in the schema beside the core's and answer from the running module.
    let sdl = schema.sdl();
    assert!(
        sdl.contains("chatRepliesSent: Int!") && sdl.contains("chatCheckSettings(webhookToken: String!): Boolean!")
    );
    let graphql = |query: &'static str, who: Option<&Actor>| {
        let mut req = async_graphql::Request::new(query);
        if let Some(who) = who {
            req = req.data(who.clone());
        }
        let schema = schema.clone();
        async move { serde_json::to_value(schema.execute(req).await).unwrap() }
    };
    let counted = graphql("{ chatRepliesSent ticketCounts { status count } }", Some(&agent)).await;
    assert_eq!(counted["data"]["chatRepliesSent"], 1, "{counted}");
    let anonymous = graphql("{ chatRepliesSent }", None).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{anonymous}");
    let ada = desk.create_user(&system, "ada@acme.test", "Ada Admin", Role::Admin, None).await.unwrap();
    let admin = Actor { workspace_id: ws.id, kind: ActorKind::User { id: ada.id, role: Role::Admin }, label: ada.name };
    let refused = graphql("mutation { chatCheckSettings(webhookToken: \"short\") }", Some(&admin)).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "VALIDATION", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "webhookToken", "{refused}");
    let agents = graphql("mutation { chatCheckSettings(webhookToken: \"long-enough\") }", Some(&agent)).await;
    assert_eq!(agents["errors"][0]["extensions"]["code"], "FORBIDDEN", "{agents}");
    let checked = graphql("mutation { chatCheckSettings(webhookToken: \"long-enough\") }", Some(&admin)).await;
    assert_eq!(checked["data"]["chatCheckSettings"], true, "{checked}");

    // Its worker ran, and stops with the shutdown signal.
    assert!(worker_ran.load(Ordering::SeqCst) > 0);
    tokio::time::timeout(Duration::from_secs(5), workers.shutdown()).await.expect("the worker stopped");
    let after = worker_ran.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(worker_ran.load(Ordering::SeqCst), after, "no work after the shutdown");
    jobs.shutdown().await;
}

#[tokio::test]
async fn replies_already_waiting_on_a_channel_without_a_sender_fail_when_the_server_starts() {
    let dir = tempfile::tempdir().unwrap();
    let url = switchboard_testkit::fresh_database_url(dir.path(), "seam").await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"test secret for the channel seam".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let system = Actor::system(ws.id);
    let inbound = |channel, kind, sender: &str, id: &str| InboundMessage {
        channel,
        thread_key: None,
        ticket_id: None,
        external_message_id: id.into(),
        sender_kind: kind,
        sender_value: sender.into(),
        sender_name: None,
        subject: None,
        text: "Help".into(),
        attachments: Vec::new(),
    };
    // Written by a tool that registers no channels (a seed, an older server): they wait.
    let discord = desk
        .ingest(&system, inbound(Channel::Discord, IdentityKind::Channel(Channel::Discord), "u-1", "d-1"))
        .await
        .unwrap();
    let email = desk
        .ingest(&system, inbound(Channel::Email, IdentityKind::Email, "dana@example.com", "<m1@example.com>"))
        .await
        .unwrap();
    let waiting = desk.reply(&system, discord.ticket_id, "On it", Vec::new(), None).await.unwrap();
    let mailed = desk.reply(&system, email.ticket_id, "On it", Vec::new(), None).await.unwrap();
    assert_eq!(waiting.entry.delivery_status.as_deref(), Some("pending"));
    assert_eq!(desk.fail_replies_without_sender().await.unwrap(), 0, "nothing is judged before registration");

    // The server registers its modules (email only here), then fails what no module can send.
    desk.register_reply_channels(vec![Channel::Email]);
    assert_eq!(desk.fail_replies_without_sender().await.unwrap(), 1);
    let entry = |ticket, id| {
        let desk = desk.clone();
        let system = system.clone();
        async move { desk.thread(&system, ticket).await.unwrap().into_iter().find(|t| t.entry.id == id).unwrap().entry }
    };
    let failed = entry(discord.ticket_id, waiting.entry.id).await;
    assert_eq!(failed.delivery_status.as_deref(), Some("failed"));
    assert!(failed.delivery_error.as_deref().unwrap_or_default().contains("no channel module sends discord replies"));
    assert!(desk.due_outbox(Channel::Discord, 10).await.unwrap().is_empty(), "nothing left to send");
    // The email reply still waits for its sender.
    assert_eq!(entry(email.ticket_id, mailed.entry.id).await.delivery_status.as_deref(), Some("pending"));
    assert_eq!(desk.due_outbox(Channel::Email, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_channel_actor_ingests_but_is_refused_administration_and_other_workspaces() {
    let dir = tempfile::tempdir().unwrap();
    let url = switchboard_testkit::fresh_database_url(dir.path(), "seam").await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"test secret for the channel seam".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.path().join("blobs")), auth);
    let a = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let b = desk.create_workspace("globex", "Globex", "GX", "UTC", "General").await.unwrap();
    let message = |id: &str| InboundMessage {
        channel: Channel::Discord,
        thread_key: None,
        ticket_id: None,
        external_message_id: id.into(),
        sender_kind: IdentityKind::Channel(Channel::Discord),
        sender_value: "u-1".into(),
        sender_name: Some("Casey".into()),
        subject: None,
        text: "Help".into(),
        attachments: Vec::new(),
    };
    let in_a = Actor::channel(a.id, Channel::Discord, None);
    let in_b = Actor::channel(b.id, Channel::Discord, None);

    // What it needs: ingest for a requester, and reading that requester's tickets.
    let opened = desk.ingest(&in_a, message("d-1")).await.unwrap();
    let casey =
        desk.contact_by_channel_identity(&in_a, IdentityKind::Channel(Channel::Discord), "u-1").await.unwrap().unwrap();
    let in_a = in_a.for_requester(casey.id);
    let t = desk.ticket(&in_a, opened.ticket_id).await.unwrap();
    let mine = desk.requester_tickets(&in_a, t.requester_id, 10).await.unwrap();
    assert_eq!(mine.iter().map(|t| t.id).collect::<Vec<_>>(), vec![opened.ticket_id]);

    // Not an admin: creating staff is refused.
    let staff = desk.create_user(&in_a, "mallory@acme.test", "Mallory", Role::Admin, None).await;
    assert!(matches!(staff, Err(DeskError::Forbidden(_))), "{staff:?}");
    // Nor a supervisor: the ticket cannot be given to someone else.
    assert!(!in_a.can(switchboard_desk::domain::Permission::Reassign));

    // Another workspace's channel actor does not reach workspace A's ticket.
    let other = desk.ticket(&in_b, opened.ticket_id).await;
    assert!(matches!(other, Err(DeskError::NotFound(_))), "{other:?}");
    let thread = desk.thread(&in_b, opened.ticket_id).await;
    assert!(matches!(thread, Err(DeskError::NotFound(_))), "{thread:?}");
    let joined = InboundMessage { ticket_id: Some(opened.ticket_id), ..message("d-2") };
    let refused = desk.ingest(&in_b, joined).await;
    assert!(matches!(refused, Err(DeskError::NotFound(_))), "{refused:?}");
    assert_eq!(desk.thread(&in_a, opened.ticket_id).await.unwrap().len(), 1, "nothing was added to A's ticket");
}

#[tokio::test]
async fn a_channel_actor_reads_only_the_tickets_of_the_requester_it_acts_for() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::connect(&switchboard_testkit::fresh_database_url(dir.path(), "scope").await.unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"test secret for the channel seam".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let from = |sender: &str, id: &str| InboundMessage {
        channel: Channel::Discord,
        thread_key: None,
        ticket_id: None,
        external_message_id: id.into(),
        sender_kind: IdentityKind::Channel(Channel::Discord),
        sender_value: sender.into(),
        sender_name: Some(sender.into()),
        subject: None,
        text: "Help".into(),
        attachments: Vec::new(),
    };
    let adapter = Actor::channel(ws.id, Channel::Discord, None);
    let casey_ticket = desk.ingest(&adapter, from("casey", "c-1")).await.unwrap().ticket_id;
    let robin_ticket = desk.ingest(&adapter, from("robin", "r-1")).await.unwrap().ticket_id;
    let contact = |who: &'static str| {
        let (desk, adapter) = (desk.clone(), adapter.clone());
        async move {
            desk.contact_by_channel_identity(&adapter, IdentityKind::Channel(Channel::Discord), who)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let (casey, robin) = (contact("casey").await, contact("robin").await);

    // Acting for Casey, the adapter reads Casey's ticket...
    let for_casey = adapter.clone().for_requester(casey.id);
    assert_eq!(desk.ticket(&for_casey, casey_ticket).await.unwrap().id, casey_ticket);
    assert_eq!(desk.thread(&for_casey, casey_ticket).await.unwrap().len(), 1);
    let listed = desk.list_tickets(&for_casey, &TicketFilter::default(), 50, None).await.unwrap();
    assert_eq!(listed.tickets.iter().map(|t| t.id).collect::<Vec<_>>(), vec![casey_ticket]);
    // ... and nothing of Robin's, in the same workspace.
    let other = desk.ticket(&for_casey, robin_ticket).await;
    assert!(matches!(other, Err(DeskError::NotFound(_))), "{other:?}");
    let thread = desk.thread(&for_casey, robin_ticket).await;
    assert!(matches!(thread, Err(DeskError::NotFound(_))), "{thread:?}");
    assert!(desk.requester_tickets(&for_casey, robin.id, 10).await.unwrap().is_empty());
    let by_number = desk.requester_ticket_by_number(&for_casey, robin.id, "SD-2").await.unwrap();
    assert!(by_number.is_none(), "{by_number:?}");

    // Acting for no one yet, it reads no tickets at all: the workspace is not its to view.
    let anyone = desk.ticket(&adapter, casey_ticket).await;
    assert!(matches!(anyone, Err(DeskError::Forbidden(_))), "{anyone:?}");
    let all = desk.list_tickets(&adapter, &TicketFilter::default(), 50, None).await;
    assert!(matches!(all, Err(DeskError::Forbidden(_))), "{all:?}");
}
