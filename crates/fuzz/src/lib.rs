//! Fuzz targets: one function per surface that a hostile or careless sender reaches without
//! help from us (a raw email, a WhatsApp notification, an admin's automation JSON or template,
//! any GraphQL document). Each takes arbitrary bytes and must return: a panic, a stack overflow,
//! an input that runs past libFuzzer's time limit or memory limit is a finding.
//!
//! The same functions serve two harnesses. `fuzz/` is a cargo-fuzz project (libFuzzer, nightly)
//! that `.ci/run` drives for a bounded time per target; `tests/corpus.rs` replays the checked-in
//! seed corpus and every past finding (`fuzz/regressions/`) on the stable toolchain, so a finding
//! stays fixed in the ordinary test suite.

use std::sync::{Arc, OnceLock};

use async_graphql::Request;
use switchboard_desk::domain::{
    Actor, ActorKind, AutomationEvent, HelpTopicId, Role, TemplateContext, parse_automation_rules, plan_automation,
    render_template, validate_template,
};
use switchboard_desk::store::Store;
use switchboard_desk::{AuthConfig, BlobStore, Desk, SystemClock};
use switchboard_graphql::SwitchboardSchema;
use switchboard_whatsapp::{WhatsappChannel, WhatsappConfig};
use switchboard_whatsapp::{WhatsappDesk, WhatsappNumberInput};

/// The largest raw message the email target parses: the channel's default limit.
const MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;

/// The WhatsApp business number the fuzzed notifications are routed to when they name it.
pub const PHONE_NUMBER_ID: &str = "106540352242922";

/// A raw RFC 5322 message through the parser, the threading hints and the reply cutter.
pub fn mime(data: &[u8]) {
    let Ok(mail) = switchboard_email::parse_email(data, MAX_MESSAGE_BYTES) else { return };
    let _ = switchboard_email::parse::strip_reply(&mail.full_text);
    let _ = switchboard_email::parse::subject_tags(&mail.subject);
    let _ = switchboard_email::parse::find_marker(&mail.full_text);
    if let Some(html) = &mail.html {
        let _ = switchboard_email::parse::find_marker(html);
    }
}

/// An automation rule array as an admin saves it, then planned for every kind of event.
pub fn automation(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = parse_automation_rules(json) else { return };
    let events = [
        AutomationEvent::TicketOpened,
        AutomationEvent::TicketEscalated,
        AutomationEvent::Message(json.chars().take(200).collect()),
        AutomationEvent::CsatNegative,
        AutomationEvent::SlaBreach,
    ];
    for event in events {
        for escalated in [false, true] {
            let _ = plan_automation(&parsed.rules, event.clone(), Some(HelpTopicId::from(1)), escalated);
        }
    }
}

/// A canned response (or acknowledgement, or after-close message) body: checked as at save,
/// then rendered as at use, even when the check refused it (a stored template may predate a
/// rule, so rendering must be as safe as saving).
pub fn template(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else { return };
    let _ = validate_template("body", source);
    let _ = render_template(source, &TemplateContext::default());
}

/// The served API's reads: the core's and the channels' (as the server merges them).
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(switchboard_graphql::CoreQuery, switchboard_email::EmailQuery, switchboard_whatsapp::WhatsAppQuery);

/// The served API's changes: the core's and the channels'.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    switchboard_graphql::CoreMutation,
    switchboard_email::EmailMutation,
    switchboard_whatsapp::WhatsAppMutation,
);

/// A desk on a throwaway SQLite file with one workspace, an admin and a WhatsApp number, and the
/// runtime that drives it. Built once per process: targets that need a database share it.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    desk: Desk,
    schema: SwitchboardSchema<Query, Mutation>,
    whatsapp: Arc<WhatsappChannel>,
    admin: Actor,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// The process's harness, set up on first use.
    pub fn get() -> &'static Harness {
        static HARNESS: OnceLock<Harness> = OnceLock::new();
        HARNESS.get_or_init(|| Harness::new().unwrap_or_else(|e| panic!("setting up the fuzz harness: {e}")))
    }

    fn new() -> Result<Harness, Box<dyn std::error::Error>> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let dir = tempfile::tempdir()?;
        let (desk, admin) = runtime.block_on(async {
            let store = Store::connect(&format!("sqlite://{}/fuzz.db", dir.path().display())).await?;
            store.migrate().await?;
            let auth = AuthConfig { jwt_secret: b"fuzz harness secret".to_vec(), token_ttl_secs: 3600 };
            let desk = Desk::new(store, Arc::new(SystemClock), BlobStore::new(dir.path().join("blobs")), auth);
            let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await?;
            let system = Actor::system(ws.id);
            let user = desk.create_user(&system, "ada@acme.test", "Ada", Role::Admin, None).await?;
            let number = WhatsappNumberInput {
                phone_number_id: PHONE_NUMBER_ID.into(),
                display_phone_number: "+1 555 010 0000".into(),
                access_token: Some("EAAG-fuzz-token".into()),
                template_name: None,
                template_language: None,
            };
            desk.save_whatsapp_number(&system, None, number).await?;
            let admin = Actor {
                workspace_id: ws.id,
                kind: ActorKind::User { id: user.id, role: Role::Admin },
                label: "Ada".into(),
            };
            Ok::<_, Box<dyn std::error::Error>>((desk, admin))
        })?;
        let schema = switchboard_graphql::build_schema_with(
            Query::default(),
            Mutation::default(),
            desk.clone(),
            Default::default(),
        );
        // A closed port: media downloads and replies fail fast as transient, never leave the machine.
        let config = WhatsappConfig { graph_url: "http://127.0.0.1:9/v21.0".into(), ..Default::default() };
        let whatsapp = WhatsappChannel::new(desk.clone(), config);
        Ok(Harness { runtime, desk, schema, whatsapp, admin, _dir: dir })
    }

    /// A WhatsApp webhook body, stored and processed as the webhook and the inbox sweep do.
    pub fn whatsapp(&self, data: &[u8]) {
        let Ok(body) = std::str::from_utf8(data) else { return };
        self.runtime.block_on(async {
            if let Ok(id) = self.desk.store_whatsapp_notification(body).await {
                self.whatsapp.process_notification(id).await;
            }
        });
    }

    /// A GraphQL document against the real schema: the first byte picks the caller (nobody, or
    /// the workspace's admin), the rest is the document.
    pub fn graphql(&self, data: &[u8]) {
        let Some((&who, doc)) = data.split_first() else { return };
        let Ok(doc) = std::str::from_utf8(doc) else { return };
        let mut request = Request::new(doc);
        if who % 2 == 1 {
            request = request.data(self.admin.clone());
        }
        let response = self.runtime.block_on(self.schema.execute(request));
        // Every refusal names its reason with a code, never a bare message.
        for error in &response.errors {
            let coded = error.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
            assert!(coded, "an error without extensions.code: {error:?}");
        }
    }
}

/// A WhatsApp notification through the shared harness.
pub fn whatsapp(data: &[u8]) {
    Harness::get().whatsapp(data);
}

/// A GraphQL document through the shared harness.
pub fn graphql(data: &[u8]) {
    Harness::get().graphql(data);
}

/// The stack a tokio worker thread gets: the server runs requests and jobs on such threads.
pub const WORKER_STACK: usize = 2 * 1024 * 1024;

/// Runs `f` on a thread with a tokio worker's stack and waits for it. libFuzzer calls targets on
/// the main thread, whose 8 MiB would hide an input that overflows the server's 2 MiB.
pub fn on_worker_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new().stack_size(WORKER_STACK).spawn_scoped(scope, f);
        match worker.map(|w| w.join()) {
            Ok(Ok(())) => {}
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(e) => panic!("no thread for the target: {e}"),
        }
    });
}

/// A fuzz target: one input, a panic on a finding.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/corpus/<name>` and `fuzz/regressions/<name>` name them.
pub const TARGETS: [(&str, Target); 5] =
    [("mime", mime), ("whatsapp", whatsapp), ("automation", automation), ("template", template), ("graphql", graphql)];
