//! Signing in when one address has accounts in several workspaces: each person signs in with
//! their own password, a shared password leads to a choice, and failures reveal nothing.

use serde_json::{Value, json};

use crate::support::*;

const LOGIN: &str =
    "mutation($e: String!, $p: String!, $w: String) { login(email: $e, password: $p, workspace: $w) { token } }";
const CUSTOMER_LOGIN: &str = "mutation($e: String!, $p: String!, $w: String) { customerLogin(email: $e, password: $p, workspace: $w) { token } }";

/// The workspace a token signs in to.
async fn workspace_of(token: &Value) -> String {
    let token = token.as_str().unwrap_or_else(|| panic!("no token: {token}"));
    ok(token, "{ me { workspace { slug } } }", json!({})).await["me"]["workspace"]["slug"].as_str().unwrap().to_string()
}

/// A password sign-in (`customer` for the portal) from a network of its own (one for staff,
/// one for customers), so the failures here stay under the per-address limit and never count
/// against the other tests' clients.
async fn sign_in(customer: bool, email: &str, password: &str, workspace: Option<&str>) -> Value {
    let (query, client) = if customer { (CUSTOMER_LOGIN, "198.51.100.62") } else { (LOGIN, "198.51.100.61") };
    gql_from(client, query, json!({ "e": email, "p": password, "w": workspace })).await
}

#[tokio::test]
async fn one_address_in_two_workspaces_signs_each_person_in_and_reveals_nothing() {
    let a = workspace().await;
    let b = workspace().await;
    // B's admin, knowing nothing of A, adds people whose addresses A already has.
    let create_user = "mutation($i: UserInput!) { createUser(input: $i) { id } }";
    let create_contact = "mutation($i: ContactInput!) { createContact(input: $i) { id } }";
    let user = |email: String, password: &str| json!({ "i": { "email": email, "name": "Namesake", "role": "AGENT", "password": password } });
    let contact = |email: String, password: &str| json!({ "i": { "name": "Namesake", "email": email, "portalPassword": password } });
    ok(&b.admin, create_user, user(a.email("agent"), "b's agent password")).await;
    ok(&b.admin, create_contact, contact(a.email("agent"), "b's customer password")).await;
    ok(&b.admin, create_contact, contact(a.email("customer"), "b's other customer password")).await;

    // Each signs in with their own password, into their own workspace.
    let token = |body: &Value, field: &str| body["data"][field]["token"].clone();
    let staff = sign_in(false, &a.email("agent"), PASSWORD, None).await;
    assert_eq!(workspace_of(&token(&staff, "login")).await, a.slug, "{staff}");
    let staff = sign_in(false, &a.email("agent"), "b's agent password", None).await;
    assert_eq!(workspace_of(&token(&staff, "login")).await, b.slug, "{staff}");
    let customer = sign_in(true, &a.email("agent"), "b's customer password", None).await;
    assert_eq!(workspace_of(&token(&customer, "customerLogin")).await, b.slug, "{customer}");
    let customer = sign_in(true, &a.email("customer"), PASSWORD, None).await;
    assert_eq!(workspace_of(&token(&customer, "customerLogin")).await, a.slug, "{customer}");
    let customer = sign_in(true, &a.email("customer"), "b's other customer password", None).await;
    assert_eq!(workspace_of(&token(&customer, "customerLogin")).await, b.slug, "{customer}");

    // A wrong password gets the very answer an unknown address gets, whatever the workspace named.
    for customer in [false, true] {
        let unknown = sign_in(customer, "nobody@nowhere.test", "a wrong password", None).await;
        assert_error(&unknown, "UNAUTHENTICATED", None);
        for email in [a.email("agent"), a.email("customer")] {
            for workspace in [None, Some(a.slug.as_str()), Some(b.slug.as_str()), Some("no-such-workspace")] {
                let wrong = sign_in(customer, &email, "a wrong password", workspace).await;
                assert_eq!(wrong, unknown, "{email} in {workspace:?}");
            }
        }
        let named = sign_in(customer, "nobody@nowhere.test", "a wrong password", Some(&b.slug)).await;
        assert_eq!(named, unknown);
    }
    // Nor does anything in the answers name the other workspace.
    let wrong = sign_in(false, &a.email("agent"), "a wrong password", None).await.to_string();
    assert!(!wrong.contains(&a.slug) && !wrong.contains(&b.slug), "{wrong}");
}

#[tokio::test]
async fn the_same_password_in_two_workspaces_leads_to_a_choice_then_to_the_chosen_one() {
    let a = workspace().await;
    let b = workspace().await;
    let create_user = "mutation($i: UserInput!) { createUser(input: $i) { id } }";
    let input =
        json!({ "i": { "email": a.email("admin"), "name": "Ada in B", "role": "ADMIN", "password": PASSWORD } });
    ok(&b.admin, create_user, input).await;
    let names = |slug: &str| {
        let q = "{ me { workspace { name } } }";
        let token = if slug == a.slug { a.admin.clone() } else { b.admin.clone() };
        async move { ok(&token, q, json!({})).await["me"]["workspace"]["name"].clone() }
    };
    let offered = json!([
        { "slug": a.slug, "name": names(&a.slug).await },
        { "slug": b.slug, "name": names(&b.slug).await },
    ]);

    let choice = sign_in(false, &a.email("admin"), PASSWORD, None).await;
    assert_error(&choice, "VALIDATION", Some("workspace"));
    assert_eq!(choice["errors"][0]["extensions"]["workspaces"], offered, "{choice}");
    assert!(choice["data"].is_null() || choice["data"]["login"].is_null(), "{choice}");

    for slug in [&b.slug, &a.slug] {
        let chosen = sign_in(false, &a.email("admin"), PASSWORD, Some(slug)).await;
        assert_eq!(&workspace_of(&chosen["data"]["login"]["token"]).await, slug, "{chosen}");
    }
    // The choice is offered only to the right password.
    let unknown = sign_in(false, "nobody@nowhere.test", "a wrong password", None).await;
    assert_eq!(sign_in(false, &a.email("admin"), "a wrong password", None).await, unknown);
}
