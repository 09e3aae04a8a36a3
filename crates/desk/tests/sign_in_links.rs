//! Signing in, through the desk on a real database with the clock moved by hand: customers'
//! one-time sign-in links (asked for, handed to the sender, used once, expired, rate-limited,
//! retried and given up) and the limits on failed password sign-ins and link requests, per
//! address and client. SQLite by default; with
//! `TEST_POSTGRES_URL` each test gets a fresh PostgreSQL database.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use switchboard_desk::domain::*;
use switchboard_desk::store::{ContactRecord, Store};
use switchboard_desk::*;

// In the future: the access tokens it signs are checked against the real clock.
const T0: Millis = 4_000_000_000_000;

struct Env {
    desk: Desk,
    clock: Arc<ManualClock>,
    store: Store,
    admin: Actor,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::connect(&switchboard_testkit::fresh_database_url(dir.path(), "links").await.unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let auth = AuthConfig { jwt_secret: b"test secret for sign-in links".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store.clone(), clock.clone(), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    Env { desk, clock, store, admin: Actor::system(ws.id), _dir: dir }
}

impl Env {
    async fn customer(&self, name: &str, email: &str) -> ContactRecord {
        let input = ContactInput { name: name.into(), email: Some(email.into()), ..Default::default() };
        self.desk.create_contact(&self.admin, input).await.unwrap()
    }

    /// A customer who signs in to the portal with a password.
    async fn customer_with_password(&self, name: &str, email: &str, password: &str) -> ContactRecord {
        let input = ContactInput {
            name: name.into(),
            email: Some(email.into()),
            portal_password: Some(password.into()),
            ..Default::default()
        };
        self.desk.create_contact(&self.admin, input).await.unwrap()
    }

    /// The mails due now, as the job runner would take them.
    async fn due_mails(&self) -> Vec<SignInLinkMail> {
        let mut out = Vec::new();
        for (id, _) in self.desk.due_customer_sign_in_links(100).await.unwrap() {
            if let Some(m) = self.desk.customer_sign_in_mail(id).await.unwrap() {
                out.push(m);
            }
        }
        out
    }

    /// Sends every due mail (recorded as sent) and returns them.
    async fn send_all(&self) -> Vec<SignInLinkMail> {
        let mails = self.due_mails().await;
        for m in &mails {
            let sent = DeliveryOutcome::Sent { external_message_id: None };
            assert!(self.desk.record_customer_sign_in_attempt(m, &sent, 1000).await.unwrap());
        }
        mails
    }

    /// Every link row's sealed token column, to check what is kept at rest.
    async fn sealed_tokens(&self) -> Vec<Option<String>> {
        let mut out = Vec::new();
        let mut tx = self.store.read().await.unwrap();
        let mut id = 1;
        while let Some(l) = tx.sign_in_link_by_id(id).await.unwrap() {
            out.push(l.token_sealed);
            id += 1;
        }
        out
    }
}

#[tokio::test]
async fn a_link_signs_the_customer_in_once() {
    let e = env().await;
    let pat = e.customer("Pat Doe", "pat@customer.test").await;
    // The address is matched however the customer types it.
    e.desk.request_customer_sign_in_link("  Pat@Customer.TEST ", None, None).await.unwrap();
    let mails = e.send_all().await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!((mail.customer_email.as_str(), mail.customer_name.as_str()), ("pat@customer.test", "Pat Doe"));
    assert_eq!(mail.workspace_name, "Acme");
    assert_eq!(mail.expires_at, T0 + SIGN_IN_LINK_TTL_MS);
    assert!(mail.token.starts_with(SIGN_IN_TOKEN_PREFIX) && mail.token.len() > 40, "{}", mail.token);
    // Once sent, the token is no longer kept, even sealed; the debug form never shows it.
    assert_eq!(e.sealed_tokens().await, vec![None]);
    assert!(!format!("{mail:?}").contains(&mail.token));
    assert!(e.due_mails().await.is_empty(), "a sent link is not sent again");

    e.clock.set(T0 + 60_000);
    let login = e.desk.login_customer_with_link(&mail.token).await.unwrap();
    assert_eq!(login.actor.contact_id(), Some(pat.id));
    let actor = e.desk.authenticate(&login.token).await.unwrap();
    assert_eq!((actor.workspace_id, actor.contact_id()), (pat.workspace_id, Some(pat.id)));

    let again = e.desk.login_customer_with_link(&mail.token).await.unwrap_err();
    assert!(matches!(again, DeskError::Unauthenticated(ref m) if m.contains("already used")), "{again:?}");
}

#[tokio::test]
async fn unknown_addresses_answer_the_same_and_send_nothing() {
    let e = env().await;
    e.customer("Pat", "pat@customer.test").await;
    e.desk.request_customer_sign_in_link("nobody@customer.test", None, None).await.unwrap();
    // The workspace narrows the match: Pat is not in "other".
    e.desk.request_customer_sign_in_link("pat@customer.test", Some("other"), None).await.unwrap();
    assert!(e.due_mails().await.is_empty());
    // Only a malformed address is an error, and it names the field.
    let err = e.desk.request_customer_sign_in_link("not an address", None, None).await.unwrap_err();
    assert!(matches!(err, DeskError::Validation(ref v) if v.field == "email"), "{err:?}");
    for bad in ["", "sbl_", "sbl_nottherightone", "something else entirely"] {
        let err = e.desk.login_customer_with_link(bad).await.unwrap_err();
        assert!(matches!(err, DeskError::Unauthenticated(_)), "{bad:?}: {err:?}");
    }
}

#[tokio::test]
async fn links_expire_and_using_one_retires_the_others() {
    let e = env().await;
    e.customer("Pat", "pat@customer.test").await;
    e.desk.request_customer_sign_in_link("pat@customer.test", Some("acme"), None).await.unwrap();
    let first = e.send_all().await.remove(0);
    e.clock.set(T0 + SIGN_IN_LINK_TTL_MS);
    let err = e.desk.login_customer_with_link(&first.token).await.unwrap_err();
    assert!(matches!(err, DeskError::Unauthenticated(_)), "expired at its deadline: {err:?}");

    e.desk.request_customer_sign_in_link("pat@customer.test", None, None).await.unwrap();
    e.desk.request_customer_sign_in_link("pat@customer.test", None, None).await.unwrap();
    let two = e.send_all().await;
    assert_eq!(two.len(), 2);
    assert_ne!(two[0].token, two[1].token);
    e.desk.login_customer_with_link(&two[1].token).await.unwrap();
    let err = e.desk.login_customer_with_link(&two[0].token).await.unwrap_err();
    assert!(matches!(err, DeskError::Unauthenticated(_)), "the older link was retired: {err:?}");
}

#[tokio::test]
async fn requests_are_rate_limited_per_customer() {
    let e = env().await;
    e.customer("Pat", "pat@customer.test").await;
    e.customer("Sam", "sam@customer.test").await;
    for _ in 0..5 {
        e.desk.request_customer_sign_in_link("pat@customer.test", None, None).await.unwrap();
    }
    e.desk.request_customer_sign_in_link("sam@customer.test", None, None).await.unwrap();
    let mails = e.send_all().await;
    let to_pat = mails.iter().filter(|m| m.customer_email == "pat@customer.test").count();
    assert_eq!((to_pat, mails.len()), (SIGN_IN_LINKS_PER_WINDOW as usize, SIGN_IN_LINKS_PER_WINDOW as usize + 1));
    // A window later Pat can ask again.
    e.clock.set(T0 + SIGN_IN_LINK_TTL_MS + 1);
    e.desk.request_customer_sign_in_link("pat@customer.test", None, None).await.unwrap();
    assert_eq!(e.send_all().await.len(), 1);
}

#[tokio::test]
async fn failed_sends_retry_while_the_link_lives_then_give_up() {
    let e = env().await;
    e.customer("Pat", "pat@customer.test").await;
    e.desk.request_customer_sign_in_link("pat@customer.test", None, None).await.unwrap();
    let mail = e.due_mails().await.remove(0);
    let retry = DeliveryOutcome::Retry { error: "SMTP: 421 try later".into() };
    assert!(e.desk.record_customer_sign_in_attempt(&mail, &retry, 60_000).await.unwrap());
    // The same attempt recorded twice (two workers) counts once.
    assert!(!e.desk.record_customer_sign_in_attempt(&mail, &retry, 60_000).await.unwrap());
    assert!(e.due_mails().await.is_empty(), "not before the backoff");
    e.clock.set(T0 + 60_000);
    let second = e.due_mails().await.remove(0);
    assert_eq!((second.attempts, second.token.as_str()), (1, mail.token.as_str()));
    // A backoff that would end after the link expired gives up instead.
    assert!(e.desk.record_customer_sign_in_attempt(&second, &retry, 600_000).await.unwrap());
    assert!(e.due_mails().await.is_empty());
    assert_eq!(e.sealed_tokens().await, vec![None], "given up: the token is dropped");

    // A permanent refusal gives up at once.
    e.desk.request_customer_sign_in_link("pat@customer.test", None, None).await.unwrap();
    let third = e.due_mails().await.remove(0);
    let refused = DeliveryOutcome::Failed { error: "SMTP refused the message: 550 no such user".into() };
    assert!(e.desk.record_customer_sign_in_attempt(&third, &refused, 1000).await.unwrap());
    assert!(e.due_mails().await.is_empty());

    // A link whose email could not go out before it expired is given up, not sent late.
    e.desk.request_customer_sign_in_link("pat@customer.test", None, None).await.unwrap();
    e.clock.set(T0 + 60_000 + SIGN_IN_LINK_TTL_MS);
    assert!(e.due_mails().await.is_empty());
    assert_eq!(e.sealed_tokens().await, vec![None, None, None]);
    // A week after expiry the rows go.
    e.clock.set(T0 + 60_000 + SIGN_IN_LINK_TTL_MS + 8 * 86_400_000);
    assert_eq!(e.desk.prune_customer_sign_in_links().await.unwrap(), 3);
}

#[tokio::test]
async fn failed_password_sign_ins_are_limited_per_address_and_client() {
    let e = env().await;
    e.customer_with_password("Pat", "pat@customer.test", "pat's long password").await;
    e.desk.create_user(&e.admin, "ann@acme.test", "Ann", Role::Agent, Some("ann's long password")).await.unwrap();
    let limited = |r: Result<LoginResult, DeskError>, what: &str| matches!(r, Err(DeskError::RateLimited(ref m)) if m.contains(what) && m.contains("try again in 15 minutes"));
    let by_address = "with this email address";
    let wrong = |r: Result<LoginResult, DeskError>| matches!(r, Err(DeskError::Unauthenticated(_)));
    let guesser = Some(ip("198.51.100.7"));
    let pat = Some(ip("203.0.113.20"));

    for _ in 0..MAX_SIGN_IN_FAILURES {
        assert!(wrong(e.desk.login_customer("pat@customer.test", "guess", None, guesser).await));
        // An address with no account at all is treated the same: the limit reveals nothing.
        assert!(wrong(e.desk.login_staff("nobody@acme.test", "guess", None, guesser).await));
    }
    // Now even the right password is refused for that address from that client, however the
    // address is typed...
    assert!(limited(
        e.desk.login_customer("PAT@customer.test", "pat's long password", None, guesser).await,
        by_address
    ));
    assert!(limited(e.desk.login_staff("nobody@acme.test", "guess", None, guesser).await, by_address));
    // ... but not for other addresses, and Pat on their own network is not locked out by the
    // guesser (nor is an IPv6 neighbour outside the guesser's /64).
    e.desk.login_staff("ann@acme.test", "ann's long password", None, guesser).await.unwrap();
    e.desk.login_customer("pat@customer.test", "pat's long password", None, pat).await.unwrap();
    e.desk.login_customer("pat@customer.test", "pat's long password", None, None).await.unwrap();

    // Once the window has moved on, the right password works, and success clears the count.
    e.clock.set(T0 + SIGN_IN_FAILURE_WINDOW_MS + 1);
    for _ in 0..MAX_SIGN_IN_FAILURES - 1 {
        assert!(wrong(e.desk.login_customer("pat@customer.test", "guess", None, guesser).await));
    }
    e.desk.login_customer("pat@customer.test", "pat's long password", None, guesser).await.unwrap();
    for _ in 0..MAX_SIGN_IN_FAILURES - 1 {
        assert!(wrong(e.desk.login_customer("pat@customer.test", "guess", None, guesser).await));
    }
    e.desk.login_customer("pat@customer.test", "pat's long password", None, guesser).await.unwrap();
}

#[tokio::test]
async fn concurrent_guesses_cannot_slip_past_the_limit() {
    let e = env().await;
    e.customer_with_password("Pat", "pat@customer.test", "pat's long password").await;
    let guesser = Some(ip("198.51.100.9"));
    let guesses = (0..3 * MAX_SIGN_IN_FAILURES).map(|n| {
        let desk = e.desk.clone();
        tokio::spawn(
            async move { desk.login_customer("pat@customer.test", &format!("guess {n}"), None, guesser).await },
        )
    });
    let mut checked = 0;
    for guess in guesses.collect::<Vec<_>>() {
        match guess.await.unwrap() {
            Err(DeskError::Unauthenticated(_)) => checked += 1,
            Err(DeskError::RateLimited(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    // Every attempt is counted before its password is checked, so a burst fails closed: on
    // SQLite exactly the limit's worth get checked, on PostgreSQL possibly fewer, never more.
    assert!(checked <= MAX_SIGN_IN_FAILURES, "{checked} passwords were checked");
    let r = e.desk.login_customer("pat@customer.test", "pat's long password", None, guesser).await;
    assert!(matches!(r, Err(DeskError::RateLimited(_))), "{r:?}");
}

#[tokio::test]
async fn one_client_cannot_try_passwords_against_many_addresses() {
    let e = env().await;
    e.desk.create_user(&e.admin, "ann@acme.test", "Ann", Role::Agent, Some("ann's long password")).await.unwrap();
    let sprayer = Some(ip("2001:db8:77:1::5"));
    // Under the per-address limit each time, but many addresses.
    for n in 0..MAX_CLIENT_SIGN_IN_FAILURES {
        let r = e.desk.login_staff(&format!("user{n}@acme.test"), "Summer2026!", None, sprayer).await;
        assert!(matches!(r, Err(DeskError::Unauthenticated(_))), "attempt {n}: {r:?}");
    }
    // The whole /64 is refused now, for every address, with a message that says so.
    let next_door = Some(ip("2001:db8:77:1:ffff::1"));
    let r = e.desk.login_staff("ann@acme.test", "ann's long password", None, next_door).await;
    assert!(matches!(&r, Err(DeskError::RateLimited(m)) if m.contains("from your network")), "{r:?}");
    // Another network, and in-process callers, are unaffected.
    e.desk.login_staff("ann@acme.test", "ann's long password", None, Some(ip("2001:db8:77:2::5"))).await.unwrap();
    e.desk.login_staff("ann@acme.test", "ann's long password", None, None).await.unwrap();
    // The sweep forgets attempts once they no longer count.
    let recorded = async || {
        let mut tx = e.store.read().await.unwrap();
        tx.count_client_sign_in_attempts("password_failure", "2001:db8:77:1::/64", 0).await.unwrap()
    };
    e.desk.prune_customer_sign_in_links().await.unwrap();
    assert_eq!(recorded().await, MAX_CLIENT_SIGN_IN_FAILURES + 1, "kept while they count, the refused one too");
    e.clock.set(T0 + SIGN_IN_FAILURE_WINDOW_MS + 1);
    e.desk.prune_customer_sign_in_links().await.unwrap();
    assert_eq!(recorded().await, 0, "pruned");
    e.desk.login_staff("ann@acme.test", "ann's long password", None, next_door).await.unwrap();
}

#[tokio::test]
async fn one_client_cannot_ask_for_links_without_end() {
    let e = env().await;
    e.customer("Pat", "pat@customer.test").await;
    let client = Some(ip("198.51.100.7"));
    for n in 0..MAX_CLIENT_LINK_REQUESTS {
        // Known and unknown addresses count alike.
        let email = if n == 0 { "pat@customer.test".to_string() } else { format!("someone{n}@customer.test") };
        e.desk.request_customer_sign_in_link(&email, None, client).await.unwrap();
    }
    for email in ["pat@customer.test", "nobody@customer.test"] {
        let r = e.desk.request_customer_sign_in_link(email, None, client).await;
        assert!(matches!(&r, Err(DeskError::RateLimited(m)) if m.contains("sign-in link requests")), "{email}: {r:?}");
    }
    assert_eq!(e.desk.due_customer_sign_in_links(10).await.unwrap().len(), 1, "only the first request sent a link");
    // Another client is served (Pat's second link of the window).
    e.desk.request_customer_sign_in_link("pat@customer.test", None, Some(ip("203.0.113.20"))).await.unwrap();
    assert_eq!(e.desk.due_customer_sign_in_links(10).await.unwrap().len(), 2);
    // And the refused client again once the window has moved on.
    e.clock.set(T0 + SIGN_IN_FAILURE_WINDOW_MS + 1);
    e.desk.request_customer_sign_in_link("nobody@customer.test", None, client).await.unwrap();
}

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn sessions_end_on_sign_out_everywhere_and_password_changes() {
    let e = env().await;
    e.customer_with_password("Pat", "pat@customer.test", "pat's long password").await;
    let laptop = e.desk.login_customer("pat@customer.test", "pat's long password", None, None).await.unwrap();
    let pat = laptop.actor.clone();
    // Signing out everywhere ends even a session opened in the same millisecond.
    e.desk.sign_out_everywhere(&pat).await.unwrap();
    assert!(matches!(e.desk.authenticate(&laptop.token).await, Err(DeskError::Unauthenticated(_))));
    e.clock.set(T0 + 1);
    let laptop = e.desk.login_customer("pat@customer.test", "pat's long password", None, None).await.unwrap();
    let phone = e.desk.login_customer("pat@customer.test", "pat's long password", None, None).await.unwrap();

    // A password change from the phone: its new session works, every earlier one is dead.
    let wrong = e.desk.change_own_password(&pat, "guess", "a new long password", None).await.unwrap_err();
    assert!(matches!(wrong, DeskError::Validation(ref v) if v.field == "currentPassword"), "{wrong:?}");
    let changed = e.desk.change_own_password(&pat, "pat's long password", "a new long password", None).await.unwrap();
    assert_eq!(e.desk.authenticate(&changed.token).await.unwrap().contact_id(), pat.contact_id());
    for old in [&laptop.token, &phone.token] {
        assert!(matches!(e.desk.authenticate(old).await, Err(DeskError::Unauthenticated(_))));
    }
    e.desk.login_customer("pat@customer.test", "a new long password", None, None).await.unwrap();
    let old = e.desk.login_customer("pat@customer.test", "pat's long password", None, None).await;
    assert!(matches!(old, Err(DeskError::Unauthenticated(_))), "{old:?}");

    // Wrong current passwords count toward the sign-in limit, like failed sign-ins.
    e.clock.set(T0 + SIGN_IN_FAILURE_WINDOW_MS + 2);
    for _ in 0..MAX_SIGN_IN_FAILURES {
        e.desk.change_own_password(&pat, "guess", "another long password", None).await.unwrap_err();
    }
    let limited = e.desk.change_own_password(&pat, "a new long password", "another long password", None).await;
    assert!(matches!(limited, Err(DeskError::RateLimited(_))), "{limited:?}");
}

#[tokio::test]
async fn an_emailed_link_lets_a_customer_set_a_password_without_the_current_one() {
    let e = env().await;
    let sam = e.customer("Sam", "sam@customer.test").await;
    let sam = Actor { workspace_id: sam.workspace_id, kind: ActorKind::Contact { id: sam.id }, label: sam.name };
    let state = e.desk.password_state(&sam).await.unwrap();
    assert_eq!(state, PasswordState { has_password: false, current_required: true });
    // A session alone (say, a borrowed one) cannot set a password: the inbox must be proven.
    let refused = e.desk.change_own_password(&sam, "", "sam's first password", None).await.unwrap_err();
    assert!(matches!(refused, DeskError::Validation(ref v) if v.message.contains("emailed link")), "{refused:?}");

    // Signed in with a link just now: a first password, no current one asked.
    e.desk.request_customer_sign_in_link("sam@customer.test", None, None).await.unwrap();
    let mail = e.send_all().await.remove(0);
    e.desk.login_customer_with_link(&mail.token).await.unwrap();
    assert_eq!(
        e.desk.password_state(&sam).await.unwrap(),
        PasswordState { has_password: false, current_required: false }
    );
    e.desk.change_own_password(&sam, "", "sam's first password", None).await.unwrap();
    e.desk.login_customer("sam@customer.test", "sam's first password", None, None).await.unwrap();
    // Within the window a forgotten password is reset the same way ...
    e.clock.set(T0 + SIGN_IN_LINK_TTL_MS - 1);
    e.desk.change_own_password(&sam, "whatever", "sam's second password", None).await.unwrap();
    // ... and after it the current password is asked for again.
    e.clock.set(T0 + SIGN_IN_LINK_TTL_MS + 1);
    assert_eq!(
        e.desk.password_state(&sam).await.unwrap(),
        PasswordState { has_password: true, current_required: true }
    );
    let again = e.desk.change_own_password(&sam, "sam's first password", "another long password", None).await;
    assert!(matches!(again, Err(DeskError::Validation(ref v)) if v.field == "currentPassword"), "{again:?}");
    e.desk.change_own_password(&sam, "sam's second password", "another long password", None).await.unwrap();
}
