//! Signing in, through the desk on a real database with the clock moved by hand: customers'
//! one-time sign-in links (asked for, handed to the sender, used once, expired, rate-limited,
//! retried and given up), the limits on failed password sign-ins and link requests, per
//! address and client, and one address in several workspaces. SQLite by default; with
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
        while let Some(l) = tx.sign_in_link_by_id(SignInLinkId(id)).await.unwrap() {
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

impl Env {
    /// Another workspace on the same installation, with its system actor.
    async fn workspace(&self, slug: &str, name: &str) -> Actor {
        Actor::system(self.desk.create_workspace(slug, name, "SD", "UTC", "General").await.unwrap().id)
    }
}

fn choices(list: &[(&str, &str)]) -> Vec<WorkspaceChoice> {
    list.iter().map(|(slug, name)| WorkspaceChoice { slug: slug.to_string(), name: name.to_string() }).collect()
}

#[tokio::test]
async fn one_address_in_several_workspaces_signs_each_in_with_its_own_password() {
    let e = env().await;
    let globex = e.workspace("globex", "Globex").await;
    let desk = &e.desk;
    // Ann works for Acme and for Globex, and is a customer of both, four passwords in all.
    desk.create_user(&e.admin, "ann@example.test", "Ann", Role::Agent, Some("ann at acme")).await.unwrap();
    desk.create_user(&globex, "Ann@Example.test", "Ann G", Role::Admin, Some("ann at globex")).await.unwrap();
    let customer = |password: &str| ContactInput {
        name: "Ann".into(),
        email: Some("ann@example.test".into()),
        portal_password: Some(password.into()),
        ..Default::default()
    };
    desk.create_contact(&globex, customer("ann, customer of globex")).await.unwrap();
    desk.create_contact(&e.admin, customer("ann, customer of acme")).await.unwrap();

    let staff = async |password: &str| desk.login_staff("ann@example.test", password, None, None).await;
    let acme = staff("ann at acme").await.unwrap();
    assert_eq!((acme.actor.workspace_id, &acme.actor.label[..]), (e.admin.workspace_id, "Ann"));
    let at_globex = staff("ann at globex").await.unwrap();
    assert_eq!((at_globex.actor.workspace_id, &at_globex.actor.label[..]), (globex.workspace_id, "Ann G"));
    assert_eq!(desk.authenticate(&at_globex.token).await.unwrap().workspace_id, globex.workspace_id);

    let portal = async |password: &str| desk.login_customer("ann@example.test", password, None, None).await;
    let c = portal("ann, customer of globex").await.unwrap();
    assert!(c.actor.contact_id().is_some() && c.actor.workspace_id == globex.workspace_id, "{c:?}");
    let c = portal("ann, customer of acme").await.unwrap();
    assert!(c.actor.contact_id().is_some() && c.actor.workspace_id == e.admin.workspace_id, "{c:?}");
    // Staff passwords are not portal passwords, nor the other way round.
    assert!(matches!(portal("ann at acme").await, Err(DeskError::Unauthenticated(_))));
    assert!(matches!(staff("ann, customer of acme").await, Err(DeskError::Unauthenticated(_))));
    // Naming the workspace still works, for callers that always do.
    let named = desk.login_staff("ann@example.test", "ann at globex", Some("globex"), None).await.unwrap();
    assert_eq!(named.actor.workspace_id, globex.workspace_id);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_address_get_the_same_answer() {
    let e = env().await;
    let globex = e.workspace("globex", "Globex").await;
    e.desk.create_user(&e.admin, "ann@example.test", "Ann", Role::Agent, Some("ann at acme")).await.unwrap();
    e.desk.create_user(&globex, "ann@example.test", "Ann", Role::Agent, Some("ann at globex")).await.unwrap();
    e.customer_with_password("Pat", "pat@example.test", "pat at acme").await;
    let input = ContactInput {
        name: "Pat".into(),
        email: Some("pat@example.test".into()),
        portal_password: Some("pat at globex".into()),
        ..Default::default()
    };
    e.desk.create_contact(&globex, input).await.unwrap();

    let answer = |r: Result<LoginResult, DeskError>| match r {
        Err(e @ DeskError::Unauthenticated(_)) => e.to_string(),
        other => panic!("expected the answer to a failed sign-in, got {other:?}"),
    };
    let unknown = answer(e.desk.login_staff("nobody@example.test", "a guess", None, None).await);
    assert_eq!(unknown, "invalid email or password");
    let workspaces = [None, Some("acme"), Some("globex"), Some("no-such-workspace")];
    for (n, workspace) in workspaces.into_iter().enumerate() {
        // A client each, to stay under the per-address limit.
        let client = Some(ip(&format!("203.0.113.{}", 50 + n)));
        for email in ["ann@example.test", "nobody@example.test", "pat@example.test"] {
            let staff = e.desk.login_staff(email, "a guess", workspace, client).await;
            assert_eq!(answer(staff), unknown, "staff {email} in {workspace:?}");
            let customer = e.desk.login_customer(email, "a guess", workspace, client).await;
            assert_eq!(answer(customer), unknown, "customer {email} in {workspace:?}");
        }
        // The right password, named with a workspace where the address has no such account.
        if workspace.is_some_and(|w| w != "acme" && w != "globex") {
            assert_eq!(answer(e.desk.login_staff("ann@example.test", "ann at acme", workspace, client).await), unknown);
        }
    }
    // Acme's password is a wrong password in Globex.
    assert_eq!(answer(e.desk.login_staff("ann@example.test", "ann at acme", Some("globex"), None).await), unknown);
    assert_eq!(answer(e.desk.login_customer("pat@example.test", "pat at globex", Some("acme"), None).await), unknown);
}

#[tokio::test]
async fn the_same_password_in_several_workspaces_asks_which_then_signs_in_there() {
    let e = env().await;
    let globex = e.workspace("globex", "Globex Corporation").await;
    let initech = e.workspace("initech", "Initech").await;
    for (ws, password) in [(&e.admin, "one password"), (&globex, "one password"), (&initech, "another password")] {
        e.desk.create_user(ws, "ann@example.test", "Ann", Role::Agent, Some(password)).await.unwrap();
        let input = ContactInput {
            name: "Ann".into(),
            email: Some("ann@example.test".into()),
            portal_password: Some(password.into()),
            ..Default::default()
        };
        e.desk.create_contact(ws, input).await.unwrap();
    }
    let client = Some(ip("203.0.113.40"));
    // Only the workspaces whose account the password fits are offered (not Initech's).
    let offered = choices(&[("acme", "Acme"), ("globex", "Globex Corporation")]);
    let staff = e.desk.login_staff("ann@example.test", "one password", None, client).await;
    assert!(matches!(&staff, Err(DeskError::ChooseWorkspace(c)) if *c == offered), "{staff:?}");
    let customer = e.desk.login_customer("ann@example.test", "one password", None, client).await;
    assert!(matches!(&customer, Err(DeskError::ChooseWorkspace(c)) if *c == offered), "{customer:?}");

    // The choice, then the sign-in to the chosen workspace.
    let chosen = e.desk.login_staff("ann@example.test", "one password", Some("globex"), client).await.unwrap();
    assert_eq!(chosen.actor.workspace_id, globex.workspace_id);
    assert_eq!(e.desk.authenticate(&chosen.token).await.unwrap().workspace_id, globex.workspace_id);
    let chosen = e.desk.login_customer("ann@example.test", "one password", Some(" acme "), client).await.unwrap();
    assert_eq!(chosen.actor.workspace_id, e.admin.workspace_id);
    let other = e.desk.login_staff("ann@example.test", "another password", None, client).await.unwrap();
    assert_eq!(other.actor.workspace_id, initech.workspace_id);

    // A proven password that needs a choice is not a failure: asking again and again does not
    // lock the person out.
    for _ in 0..MAX_SIGN_IN_FAILURES + 1 {
        let r = e.desk.login_staff("ann@example.test", "one password", None, client).await;
        assert!(matches!(r, Err(DeskError::ChooseWorkspace(_))), "{r:?}");
    }
    e.desk.login_staff("ann@example.test", "one password", Some("acme"), client).await.unwrap();
}

#[tokio::test]
async fn a_link_request_sends_one_link_per_workspace_of_the_address() {
    let e = env().await;
    let globex = e.workspace("globex", "Globex").await;
    e.customer("Pat", "pat@customer.test").await;
    let input = ContactInput { name: "Pat G".into(), email: Some("pat@customer.test".into()), ..Default::default() };
    e.desk.create_contact(&globex, input).await.unwrap();
    e.desk.request_customer_sign_in_link("pat@customer.test", None, Some(ip("203.0.113.41"))).await.unwrap();
    let mails = e.send_all().await;
    let named: Vec<_> = mails.iter().map(|m| (m.workspace_name.as_str(), m.customer_name.as_str())).collect();
    assert_eq!(named, [("Acme", "Pat"), ("Globex", "Pat G")]);
    // Each link signs in to its own workspace.
    for (mail, ws) in mails.iter().zip([e.admin.workspace_id, globex.workspace_id]) {
        assert_eq!(e.desk.login_customer_with_link(&mail.token).await.unwrap().actor.workspace_id, ws);
    }
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
