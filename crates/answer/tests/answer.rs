//! The answer engine as the Playground and the bot meet it: extractive answers with no provider
//! at all, honest escalation when the knowledge does not hold the answer, the workspace's
//! threshold, workspaces kept apart, and the chat-model path against the local double of the
//! OpenAI API (grounded, cited, voiced; refused when it cites what was not retrieved; escalating
//! on errors, 429s, timeouts and an open circuit). Runs on SQLite, and on PostgreSQL with
//! `TEST_POSTGRES_URL`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use switchboard_answer::{ASK_TEXT, AnswerEngine, AnswerSettings, Bot, Decision, LlmClient, LlmConfig, SourceKind};
use switchboard_desk::domain::*;
use switchboard_desk::search_layer::TantivyEngine;
use switchboard_desk::store::{Store, TicketRecord};
use switchboard_desk::*;
use switchboard_testkit::llm::{LlmDouble, Reply, always};

const NOW: Millis = 1_760_000_000_000;

#[path = "answer/bot.rs"]
mod bot;

struct Kb {
    desk: Desk,
    acme: Actor,
    beta: Actor,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn kb(label: &str) -> Kb {
    let dir = tempfile::tempdir().unwrap();
    let url = switchboard_testkit::fresh_database_url(dir.path(), label).await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let auth = AuthConfig { jwt_secret: b"test secret for the answer engine".to_vec(), token_ttl_secs: 3600 };
    let clock = Arc::new(ManualClock::at(NOW));
    let desk = Desk::new(store, clock.clone(), BlobStore::new(dir.path().join("blobs")), auth);
    std::fs::create_dir_all(dir.path().join("index")).unwrap();
    desk.set_search_engine(Arc::new(TantivyEngine::open(&dir.path().join("index")).unwrap()));
    desk.rebuild_search_index(|_, _| {}).await.unwrap();
    let acme = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let beta = desk.create_workspace("beta", "Beta", "BT", "UTC", "General").await.unwrap();
    let kb = Kb { desk, acme: Actor::system(acme.id), beta: Actor::system(beta.id), clock, _dir: dir };
    paste(&kb.desk, &kb.acme, "Account help", ACCOUNT).await;
    paste(&kb.desk, &kb.acme, "Shipping", SHIPPING).await;
    paste(&kb.desk, &kb.beta, "Office", "# Wi-Fi\nThe guest Wi-Fi password is hunter2, printed on the router.\n").await;
    catch_up(&kb.desk).await;
    kb
}

const ACCOUNT: &str = "# Reset your password\n\
To reset your password, open Settings, choose Security and press Reset password. \
A reset link arrives by email within five minutes; it works once.\n\n\
# Change your email address\n\
Your email address can be changed under Settings, Profile. We send a confirmation to the new address.\n";

const SHIPPING: &str = "# Delivery times\n\
We ship to every country in the European Union. Parcels arrive within three to five working days.\n\n\
# Returns\n\
Unused items can be returned within 30 days for a full refund of the item price.\n";

async fn paste(desk: &Desk, actor: &Actor, title: &str, body: &str) {
    let input = KnowledgeDocumentInput {
        id: None,
        title: title.into(),
        body: body.into(),
        format: KnowledgeFormat::Markdown,
        folder_id: None,
        public: None,
    };
    desk.save_knowledge_document(actor, input).await.unwrap();
}

async fn catch_up(desk: &Desk) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        desk.index_events().await.unwrap();
        if desk.search_backlog().await.unwrap() == 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the index never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn settings() -> AnswerSettings {
    AnswerSettings::default()
}

#[tokio::test]
async fn without_a_provider_the_best_passage_answers_with_its_source() {
    let kb = kb("answer_extractive").await;
    let engine = AnswerEngine::new(kb.desk.clone(), None);
    let a = engine.answer(kb.acme.workspace_id, "Hi, how do I reset my password?", &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Answer, "{:?}", a.reasons);
    assert!(a.confidence >= 0.65, "{}", a.confidence);
    let text = a.text.unwrap();
    assert!(text.starts_with("To reset your password, open Settings"), "{text}");
    assert!(text.contains("Source: Account help › Reset your password"), "{text}");
    assert!(!a.by_model);
    let first = &a.sources[0];
    assert_eq!(
        (first.kind, first.title.as_str(), first.heading.as_deref()),
        (SourceKind::Document, "Account help", Some("Reset your password"))
    );

    // Typos and other word forms still find it.
    let a = engine.answer(kb.acme.workspace_id, "resetting passwords", &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Answer, "{:?}", a.reasons);
}

#[tokio::test]
async fn a_question_the_knowledge_does_not_answer_escalates_instead_of_guessing() {
    let kb = kb("answer_unanswerable").await;
    let engine = AnswerEngine::new(kb.desk.clone(), None);
    for q in ["Do you ship to Mars?", "Can I pay with bitcoin?", "Why was my credit card charged twice?"] {
        let a = engine.answer(kb.acme.workspace_id, q, &settings()).await.unwrap();
        assert_eq!(a.decision, Decision::Escalate, "{q}: {} {:?}", a.confidence, a.reasons);
        assert!(a.text.is_none(), "{q}");
        assert!(a.confidence < 0.65, "{q}: {}", a.confidence);
    }
    // Mars shares a word with the shipping page: it is still shown as the best source, ranked.
    let a = engine.answer(kb.acme.workspace_id, "Do you ship to Mars?", &settings()).await.unwrap();
    assert_eq!(a.sources.first().map(|s| s.title.as_str()), Some("Shipping"));

    // A question that names nothing asks for detail; so does a single vague word.
    let a = engine.answer(kb.acme.workspace_id, "hello?", &settings()).await.unwrap();
    assert_eq!((a.decision, a.text.as_deref()), (Decision::Ask, Some(ASK_TEXT)));
    let a = engine.answer(kb.acme.workspace_id, "shipping", &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Ask, "{:?}", a.reasons);

    let err = engine.answer(kb.acme.workspace_id, "  ", &settings()).await.unwrap_err();
    assert!(matches!(err, DeskError::Validation(ref v) if v.field == "question"), "{err:?}");
}

#[tokio::test]
async fn the_workspace_threshold_decides_between_answering_and_escalating() {
    let kb = kb("answer_threshold").await;
    let engine = AnswerEngine::new(kb.desk.clone(), None);
    let lax = AnswerSettings { confidence_threshold: 0.2, voice: String::new() };
    let a = engine.answer(kb.acme.workspace_id, "Do you ship to Mars?", &lax).await.unwrap();
    assert_eq!(a.decision, Decision::Answer, "{} {:?}", a.confidence, a.reasons);
    let strict = AnswerSettings { confidence_threshold: 1.0, voice: String::new() };
    let a = engine.answer(kb.acme.workspace_id, "How long does delivery take to my country?", &strict).await.unwrap();
    assert_eq!(a.decision, Decision::Escalate, "{} {:?}", a.confidence, a.reasons);
}

#[tokio::test]
async fn the_bot_never_cites_another_workspaces_knowledge() {
    let kb = kb("answer_isolation").await;
    let engine = AnswerEngine::new(kb.desk.clone(), None);
    let a = engine.answer(kb.acme.workspace_id, "What is the guest Wi-Fi password?", &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Escalate, "{:?}", a.reasons);
    assert!(a.sources.iter().all(|s| s.title != "Office"), "{:?}", a.sources);
    let a = engine.answer(kb.beta.workspace_id, "What is the guest Wi-Fi password?", &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Answer, "{:?}", a.reasons);
    assert!(a.text.unwrap().contains("hunter2"));
}

fn llm(double: &LlmDouble, key: Option<&str>) -> LlmClient {
    let mut c = LlmConfig::new(&double.url, key, "double-model");
    c.timeout = Duration::from_millis(500);
    LlmClient::new(c).unwrap()
}

#[tokio::test]
async fn with_a_chat_model_the_answer_is_grounded_cited_and_in_the_workspaces_voice() {
    let kb = kb("answer_model").await;
    let reply = r#"{"answer":"Go to Settings, then Security, and press Reset password. You'll get a link by email.","citations":[1],"confidence":0.9,"decline":false,"requiresEscalation":false}"#;
    let double = LlmDouble::start(Some("sk-test"), always(Reply::Content(reply.into()))).await.unwrap();
    let engine = AnswerEngine::new(kb.desk.clone(), Some(llm(&double, Some("sk-test"))));
    let voice = AnswerSettings { confidence_threshold: 0.65, voice: "Friendly and brief, like a pirate.".into() };
    let a = engine.answer(kb.acme.workspace_id, "How do I reset my password?", &voice).await.unwrap();
    assert_eq!(a.decision, Decision::Answer, "{:?}", a.reasons);
    assert!(a.by_model);
    let text = a.text.unwrap();
    assert!(text.starts_with("Go to Settings, then Security"), "{text}");
    assert!(text.contains("Sources: Account help › Reset your password"), "{text}");

    let sent = double.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].authorization.as_deref(), Some("Bearer sk-test"));
    assert_eq!(sent[0].body["model"], "double-model");
    assert!(sent[0].content_of("system").contains("like a pirate"));
    let user = sent[0].content_of("user");
    assert!(
        user.contains("[1] Account help › Reset your password")
            && user.contains("Question: How do I reset my password?"),
        "{user}"
    );
    // Only the question's workspace's passages reach the model.
    assert!(!user.contains("hunter2"));
}

#[tokio::test]
async fn a_model_reply_citing_a_passage_not_retrieved_or_declining_escalates() {
    let kb = kb("answer_model_refused").await;
    let invented = r#"{"answer":"Refunds take 2 days.","citations":[7],"confidence":0.95}"#;
    let double = LlmDouble::start(None, always(Reply::Content(invented.into()))).await.unwrap();
    let engine = AnswerEngine::new(kb.desk.clone(), Some(llm(&double, None)));
    let a = engine.answer(kb.acme.workspace_id, "How do I reset my password?", &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Escalate);
    assert!(a.text.is_none());
    assert!(a.reasons.iter().any(|r| r.contains("passage 7, which was not retrieved")), "{:?}", a.reasons);

    let declined = r#"{"answer":"","citations":[],"confidence":0.2,"decline":true,"requiresEscalation":false}"#;
    double.set_script(always(Reply::Content(declined.into())));
    let a = engine.answer(kb.acme.workspace_id, "How do I reset my password?", &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Escalate);
    assert!(a.reasons.iter().any(|r| r.contains("declined")), "{:?}", a.reasons);

    double.set_script(always(Reply::Content("Sure, just open Settings!".into())));
    let a = engine.answer(kb.acme.workspace_id, "How do I reset my password?", &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Escalate);
    assert!(a.reasons.iter().any(|r| r.contains("JSON")), "{:?}", a.reasons);
}

#[tokio::test]
async fn model_errors_rate_limits_and_timeouts_escalate_and_the_circuit_opens() {
    let kb = kb("answer_model_errors").await;
    let double = LlmDouble::start(Some("sk-right"), always(Reply::RateLimited)).await.unwrap();
    let ws = kb.acme.workspace_id;
    let q = "How do I reset my password?";

    // A wrong key: OpenAI's 401 escalates.
    let engine = AnswerEngine::new(kb.desk.clone(), Some(llm(&double, Some("sk-wrong"))));
    let a = engine.answer(ws, q, &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Escalate);
    assert!(a.reasons.iter().any(|r| r.contains("HTTP 401 invalid_api_key")), "{:?}", a.reasons);

    let engine = AnswerEngine::new(kb.desk.clone(), Some(llm(&double, Some("sk-right"))));
    let a = engine.answer(ws, q, &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Escalate);
    assert!(a.reasons.iter().any(|r| r.contains("rate limited")), "{:?}", a.reasons);

    let slow = Reply::After(Duration::from_secs(3), Box::new(Reply::Content("{}".into())));
    double.set_script(always(slow));
    let started = std::time::Instant::now();
    let a = engine.answer(ws, q, &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Escalate);
    assert!(a.reasons.iter().any(|r| r.contains("did not answer within")), "{:?}", a.reasons);
    assert!(started.elapsed() < Duration::from_secs(2), "the call was not cut at its time limit");

    double.set_script(always(Reply::Error {
        status: 500,
        kind: "server_error".into(),
        code: "internal_error".into(),
        message: "The server had an error".into(),
    }));
    let a = engine.answer(ws, q, &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Escalate);

    // Three failures in a row (429, timeout, 500): the circuit is open; the provider is not called.
    let before = double.requests().len();
    let a = engine.answer(ws, q, &settings()).await.unwrap();
    assert_eq!(a.decision, Decision::Escalate);
    assert!(a.reasons.iter().any(|r| r.contains("failed several times")), "{:?}", a.reasons);
    assert_eq!(double.requests().len(), before, "an open circuit still called the provider");
}
