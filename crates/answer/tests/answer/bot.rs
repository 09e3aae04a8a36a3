//! The bot in the ticket flow, as a portal customer and staff meet it: it answers as the bot
//! (no first response stamped), escalates when it cannot answer and then stays quiet, hands over
//! when asked for a human (in words or with the button), waits the staff reply cooldown on the
//! manual clock, never answers notes, closed tickets or when switched off, and escalates when the
//! model times out.

use switchboard_desk::store::BotTurnRecord;

use super::*;

async fn enable(kb: &Kb, cooldown: i64) {
    let input = AnswerSettingsInput {
        bot_enabled: true,
        confidence_threshold: 65,
        voice: String::new(),
        staff_reply_cooldown_minutes: cooldown,
    };
    kb.desk.save_answer_settings(&kb.acme, input).await.unwrap();
}

/// A ticket opened on the portal by `email` with `subject` and `body`.
async fn portal_ticket(kb: &Kb, email: &str, subject: &str, body: &str) -> (TicketRecord, Actor) {
    let input = OpenTicket {
        subject: subject.into(),
        description: Some(body.into()),
        requester: RequesterRef::Email { email: email.into(), name: None },
        priority: None,
        source: Some(Source::Portal),
        queue_id: None,
        help_topic_id: None,
        assignee_id: None,
        tags: Vec::new(),
        resolution_due_at: None,
        attachments: Vec::new(),
    };
    let t = kb.desk.open_ticket(&kb.acme, input).await.unwrap();
    let customer = Actor {
        workspace_id: kb.acme.workspace_id,
        kind: ActorKind::Contact { id: t.requester_id },
        label: email.into(),
    };
    (t, customer)
}

async fn thread(kb: &Kb, t: &TicketRecord) -> Vec<ThreadEntry> {
    kb.desk.thread(&kb.acme, t.id).await.unwrap()
}

/// A bot whose cursor starts now (as the server's does when it starts).
async fn bot(kb: &Kb, llm: Option<LlmClient>) -> Bot {
    let bot = Bot::new(AnswerEngine::new(kb.desk.clone(), llm));
    assert!(bot.run_pending().await.unwrap().is_empty());
    bot
}

/// The turns the bot takes on everything committed so far. On PostgreSQL an event can be held
/// back a moment by older transactions (of other tests too), so this runs until none is left.
async fn drain(kb: &Kb, bot: &Bot) -> Vec<BotTurnRecord> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut taken = Vec::new();
    loop {
        taken.extend(bot.run_pending().await.unwrap());
        if kb.desk.bot_backlog().await.unwrap() == 0 {
            return taken;
        }
        assert!(std::time::Instant::now() < deadline, "the bot never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_bot_answers_a_portal_question_as_the_bot_without_stamping_first_response() {
    let kb = kb("bot_answers").await;
    enable(&kb, 30).await;
    let bot = bot(&kb, None).await;
    let (t, _) = portal_ticket(&kb, "robin@example.com", "Password", "How do I reset my password?").await;
    let turns = drain(&kb, &bot).await;
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0].decision, "answer", "{}", turns[0].reasons);
    let entries = thread(&kb, &t).await;
    let answer = entries.last().unwrap();
    assert_eq!(answer.entry.kind, EntryKind::Reply);
    assert!(answer.entry.body.starts_with("To reset your password"), "{}", answer.entry.body);
    assert_eq!((answer.entry.author_user_id, answer.entry.author_contact_id), (None, None));
    assert_eq!(turns[0].reply_entry_id, Some(answer.entry.id));
    assert_eq!(
        kb.desk.bot_entries(&kb.acme, &[answer.entry.id, entries[0].entry.id]).await.unwrap(),
        [answer.entry.id]
    );
    let t = kb.desk.ticket(&kb.acme, t.id).await.unwrap();
    assert_eq!(t.first_responded_at, None, "the bot's answer is no first response");
    assert!(!t.escalated);
    // Its own entry is not a customer message: nothing more to do.
    assert!(drain(&kb, &bot).await.is_empty());
}

#[tokio::test]
async fn without_an_answer_the_bot_escalates_once_and_then_stays_quiet() {
    let kb = kb("bot_escalates").await;
    enable(&kb, 30).await;
    let bot = bot(&kb, None).await;
    let (t, customer) = portal_ticket(&kb, "robin@example.com", "Payment", "Can I pay with bitcoin?").await;
    let turns = drain(&kb, &bot).await;
    assert_eq!(turns[0].decision, "escalate");
    let entries = thread(&kb, &t).await;
    assert_eq!(entries.last().unwrap().entry.body, HANDOFF_TEXT);
    let t = kb.desk.ticket(&kb.acme, t.id).await.unwrap();
    assert!(t.escalated);
    let flags = kb.desk.quality_flags(&kb.acme, false).await.unwrap();
    assert!(
        flags
            .iter()
            .any(|f| f.ticket_id == t.id && f.kind == QualityFlagKind::Escalated && f.reason.starts_with("Answer bot"))
    );

    // The question is a knowledge gap, linked to its ticket.
    let gaps = kb.desk.knowledge_gaps(&kb.acme).await.unwrap();
    assert_eq!(gaps.len(), 1);
    assert_eq!((gaps[0].ticket_id, gaps[0].question.contains("bitcoin")), (t.id, true));

    // Even an answerable question gets no answer now: a human has taken over.
    kb.desk.reply(&customer, t.id, "Also, how do I reset my password?", Vec::new(), None).await.unwrap();
    assert!(drain(&kb, &bot).await.is_empty());
    assert_eq!(thread(&kb, &t).await.len(), entries.len() + 1);

    kb.desk.dismiss_knowledge_gaps(&kb.acme, &[gaps[0].id]).await.unwrap();
    assert!(kb.desk.knowledge_gaps(&kb.acme).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_customer_can_ask_for_a_human_in_words_or_with_the_button() {
    let kb = kb("bot_human").await;
    enable(&kb, 30).await;
    let bot = bot(&kb, None).await;
    let (t, _) = portal_ticket(&kb, "robin@example.com", "Help", "Reset password? I'd rather talk to a human").await;
    let turns = drain(&kb, &bot).await;
    assert_eq!(turns[0].decision, "escalate");
    assert!(turns[0].reasons.contains("asked for a human"), "{}", turns[0].reasons);
    assert!(kb.desk.ticket(&kb.acme, t.id).await.unwrap().escalated);

    let (t2, customer) = portal_ticket(&kb, "dana@example.com", "Email", "How do I change my email address?").await;
    let other = Actor {
        workspace_id: kb.acme.workspace_id,
        kind: ActorKind::Contact { id: t.requester_id },
        label: "r".into(),
    };
    assert!(matches!(kb.desk.request_human(&other, t2.id).await, Err(DeskError::NotFound(_))));
    let escalated = kb.desk.request_human(&customer, t2.id).await.unwrap();
    assert!(escalated.escalated);
    // The button came before the bot's turn: it stays quiet.
    assert!(drain(&kb, &bot).await.is_empty());
    assert_eq!(thread(&kb, &t2).await.len(), 1);
}

#[tokio::test]
async fn the_bot_waits_the_staff_reply_cooldown_and_never_answers_notes_closed_tickets_or_when_off() {
    let kb = kb("bot_cooldown").await;
    enable(&kb, 30).await;
    let bot = bot(&kb, None).await;
    let (t, customer) = portal_ticket(&kb, "robin@example.com", "Hello", "hello?").await;
    assert_eq!(drain(&kb, &bot).await[0].decision, "ask");
    let staff =
        kb.desk.create_user(&kb.acme, "sam@acme.test", "Sam", Role::Agent, Some("a long password 123")).await.unwrap();
    let sam = Actor {
        workspace_id: kb.acme.workspace_id,
        kind: ActorKind::User { id: staff.id, role: Role::Agent },
        label: "Sam".into(),
    };
    kb.desk.reply(&sam, t.id, "Hi! What can we do for you?", Vec::new(), None).await.unwrap();

    kb.clock.set(NOW + 10 * 60_000);
    kb.desk.reply(&customer, t.id, "How do I reset my password?", Vec::new(), None).await.unwrap();
    assert!(drain(&kb, &bot).await.is_empty(), "answered 10 minutes after staff spoke");

    kb.clock.set(NOW + 31 * 60_000);
    kb.desk.reply(&customer, t.id, "How do I change my email address?", Vec::new(), None).await.unwrap();
    let turns = drain(&kb, &bot).await;
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0].decision, "answer", "{}", turns[0].reasons);

    // Notes are never answered.
    kb.desk.add_note(&sam, t.id, "How do I reset my password?").await.unwrap();
    assert!(drain(&kb, &bot).await.is_empty());

    // A ticket closed before the bot's turn is not answered.
    let (t3, _) = portal_ticket(&kb, "sky@example.com", "Delivery", "How long does delivery take?").await;
    kb.desk.close(&kb.acme, t3.id, CloseReason::Resolved, None).await.unwrap();
    assert!(drain(&kb, &bot).await.is_empty());

    // Switched off: nothing.
    let off = AnswerSettingsInput {
        bot_enabled: false,
        confidence_threshold: 65,
        voice: String::new(),
        staff_reply_cooldown_minutes: 30,
    };
    kb.desk.save_answer_settings(&kb.acme, off).await.unwrap();
    portal_ticket(&kb, "lee@example.com", "Password", "How do I reset my password?").await;
    assert!(drain(&kb, &bot).await.is_empty());
}

#[tokio::test]
async fn a_model_that_times_out_escalates_the_ticket_instead_of_failing_it() {
    let kb = kb("bot_model_timeout").await;
    enable(&kb, 30).await;
    let slow = Reply::After(Duration::from_secs(3), Box::new(Reply::Content("{}".into())));
    let double = LlmDouble::start(None, always(slow)).await.unwrap();
    let bot = bot(&kb, Some(llm(&double, None))).await;
    let (t, _) = portal_ticket(&kb, "robin@example.com", "Password", "How do I reset my password?").await;
    let turns = drain(&kb, &bot).await;
    assert_eq!(turns[0].decision, "escalate");
    assert!(turns[0].reasons.contains("did not answer within"), "{}", turns[0].reasons);
    let t = kb.desk.ticket(&kb.acme, t.id).await.unwrap();
    assert!(t.escalated && t.status.is_active());
}

#[tokio::test]
async fn settings_refuse_out_of_range_values_naming_the_field() {
    let kb = kb("bot_settings").await;
    let bad = |threshold, voice: &str, cooldown| AnswerSettingsInput {
        bot_enabled: true,
        confidence_threshold: threshold,
        voice: voice.into(),
        staff_reply_cooldown_minutes: cooldown,
    };
    let field = |e: DeskError| match e {
        DeskError::Validation(v) => v.field,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field(kb.desk.save_answer_settings(&kb.acme, bad(101, "", 30)).await.unwrap_err()),
        "confidenceThreshold"
    );
    assert_eq!(
        field(kb.desk.save_answer_settings(&kb.acme, bad(65, &"x".repeat(1001), 30)).await.unwrap_err()),
        "voice"
    );
    assert_eq!(
        field(kb.desk.save_answer_settings(&kb.acme, bad(65, "", 1441)).await.unwrap_err()),
        "staffReplyCooldownMinutes"
    );
    let saved = kb.desk.save_answer_settings(&kb.acme, bad(80, " Warm. ", 0)).await.unwrap();
    assert_eq!(
        (saved.confidence_threshold, saved.voice.as_str(), saved.staff_reply_cooldown_minutes),
        (80, "Warm.", 0)
    );
    assert_eq!(kb.desk.answer_settings(&kb.acme).await.unwrap(), saved);
    // Another workspace keeps its defaults.
    assert!(!kb.desk.answer_settings(&kb.beta).await.unwrap().bot_enabled);
}
