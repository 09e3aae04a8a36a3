//! Staff identities through the desk on a real database: an admin links a staff member's id on
//! a channel, lists and unlinks it; an id is one staff member's per workspace and channel (a
//! second link is a CONFLICT naming the holder), and only admins of the workspace reach them.
//! SQLite by default; with `TEST_POSTGRES_URL` each test gets a fresh PostgreSQL database.

#![allow(clippy::unwrap_used)]

mod common;

use switchboard_desk::domain::*;
use switchboard_desk::*;

fn staff(u: &store::UserRecord) -> Actor {
    Actor { workspace_id: u.workspace_id, kind: ActorKind::User { id: u.id, role: u.role }, label: u.name.clone() }
}

#[tokio::test]
async fn an_admin_links_lists_and_unlinks_a_staff_identity() {
    let e = common::env("staffids", 1_763_900_000_000).await;
    let admin = staff(&e.desk.create_user(&e.admin, "ada@acme.test", "Ada Admin", Role::Admin, None).await.unwrap());
    let alex = e.desk.create_user(&e.admin, "alex@acme.test", "Alex Agent", Role::Agent, None).await.unwrap();
    let sam = e.desk.create_user(&e.admin, "sam@acme.test", "Sam Agent", Role::Agent, None).await.unwrap();

    let linked = e.desk.link_staff_identity(&admin, alex.id, Channel::Discord, " 80351110224678912 ").await.unwrap();
    assert_eq!((linked.user_id, linked.channel.as_str()), (alex.id, "discord"));
    assert_eq!(linked.external_id, "80351110224678912", "trimmed");

    // The same id on the same channel is someone's already: refused, naming who.
    let taken = e.desk.link_staff_identity(&admin, sam.id, Channel::Discord, "80351110224678912").await.unwrap_err();
    assert!(matches!(&taken, DeskError::Conflict(m) if m.contains("Alex Agent")), "{taken:?}");
    // The same id on another channel is a different identity.
    e.desk.link_staff_identity(&admin, sam.id, Channel::Whatsapp, "80351110224678912").await.unwrap();
    let empty = e.desk.link_staff_identity(&admin, sam.id, Channel::Discord, "  ").await.unwrap_err();
    assert!(matches!(&empty, DeskError::Validation(v) if v.field == "externalId"), "{empty:?}");

    let list = e.desk.staff_identities(&admin).await.unwrap();
    let shown: Vec<_> = list.iter().map(|i| (i.user_id, i.channel.as_str())).collect();
    assert_eq!(shown, vec![(alex.id, "discord"), (sam.id, "whatsapp")]);

    e.desk.unlink_staff_identity(&admin, linked.id).await.unwrap();
    assert!(matches!(e.desk.unlink_staff_identity(&admin, linked.id).await, Err(DeskError::NotFound(_))));
    // Once unlinked, the id is free for someone else.
    e.desk.link_staff_identity(&admin, sam.id, Channel::Discord, "80351110224678912").await.unwrap();
}

#[tokio::test]
async fn only_the_workspaces_admins_reach_staff_identities() {
    let e = common::env("staffids", 1_763_900_000_000).await;
    let admin = staff(&e.desk.create_user(&e.admin, "ada@acme.test", "Ada Admin", Role::Admin, None).await.unwrap());
    let alex = e.desk.create_user(&e.admin, "alex@acme.test", "Alex Agent", Role::Agent, None).await.unwrap();
    let linked = e.desk.link_staff_identity(&admin, alex.id, Channel::Discord, "4711").await.unwrap();

    let agent = staff(&alex);
    assert!(matches!(e.desk.staff_identities(&agent).await, Err(DeskError::Forbidden(_))));
    let self_link = e.desk.link_staff_identity(&agent, alex.id, Channel::Discord, "4712").await;
    assert!(matches!(self_link, Err(DeskError::Forbidden(_))), "{self_link:?}");
    let channel = Actor::channel(admin.workspace_id, Channel::Discord, None);
    assert!(matches!(e.desk.unlink_staff_identity(&channel, linked.id).await, Err(DeskError::Forbidden(_))));

    // Another workspace's admin: neither the staff member nor the identity is there.
    let other = e.desk.create_workspace("globex", "Globex", "GX", "UTC", "General").await.unwrap();
    let foreign = staff(
        &e.desk.create_user(&Actor::system(other.id), "root@globex.test", "Root", Role::Admin, None).await.unwrap(),
    );
    let stolen = e.desk.link_staff_identity(&foreign, alex.id, Channel::Discord, "4713").await;
    assert!(matches!(stolen, Err(DeskError::NotFound(_))), "{stolen:?}");
    assert!(matches!(e.desk.unlink_staff_identity(&foreign, linked.id).await, Err(DeskError::NotFound(_))));
    assert!(e.desk.staff_identities(&foreign).await.unwrap().is_empty());
    assert_eq!(e.desk.staff_identities(&admin).await.unwrap().len(), 1, "unchanged");
}

/// A one-time link code: made by an admin only, kept as its SHA-256, used once, refused after
/// its hour; the account it links lands in the code's workspace, and a key another workspace
/// routes is refused.
#[tokio::test]
async fn a_channel_link_code_links_once_within_its_hour_and_only_its_hash_is_kept() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let url = switchboard_testkit::fresh_database_url(dir.path(), "linkcodes").await.unwrap();
    let store = store::Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::at(1_763_900_000_000));
    let auth = AuthConfig { jwt_secret: b"test secret for the desk".to_vec(), token_ttl_secs: 3600 };
    let desk = Desk::new(store.clone(), clock.clone(), BlobStore::new(dir.path().join("blobs")), auth);
    let ws = desk.create_workspace("acme", "Acme", "SD", "UTC", "General").await.unwrap();
    let other = desk.create_workspace("globex", "Globex", "GX", "UTC", "General").await.unwrap();
    let admin =
        staff(&desk.create_user(&Actor::system(ws.id), "ada@acme.test", "Ada", Role::Admin, None).await.unwrap());
    let agent = staff(&desk.create_user(&Actor::system(ws.id), "al@acme.test", "Al", Role::Agent, None).await.unwrap());
    assert!(matches!(desk.create_channel_link_code(&agent, Channel::Discord).await, Err(DeskError::Forbidden(_))));

    let code = desk.create_channel_link_code(&admin, Channel::Discord).await.unwrap();
    assert_eq!(code.expires_at, 1_763_900_000_000 + CHANNEL_LINK_CODE_TTL_MS);
    // Typed loosely (lower case, spaces) it is the same code; it names the workspace, unspent.
    let typed = code.code.to_lowercase().replace('-', " ");
    assert_eq!(desk.channel_link_code_workspace(Channel::Discord, &typed).await.unwrap(), ws.id);
    assert_eq!(desk.channel_link_code_workspace(Channel::Discord, &code.code).await.unwrap(), ws.id);
    // Not a code of another channel.
    let elsewhere = desk.channel_link_code_workspace(Channel::Whatsapp, &code.code).await.unwrap_err();
    assert!(matches!(&elsewhere, DeskError::Validation(v) if v.field == "code"), "{elsewhere:?}");
    // At rest only its hash: the plain code is in no row.
    let dump = format!("{:?}", store.read().await.unwrap().channel_accounts(ws.id, "discord").await.unwrap());
    assert!(!dump.contains(&code.code));
    if let store::Tx::Sqlite(t) = &mut store.read().await.unwrap() {
        let hashes: Vec<String> =
            sqlx::query_scalar("SELECT code_hash FROM channel_link_codes").fetch_all(&mut **t).await.unwrap();
        assert_eq!(hashes.len(), 1);
        assert!(!hashes[0].contains(&code.code.replace('-', "")) && hashes[0].len() == 64, "{hashes:?}");
    }

    let save = |key: &str| ChannelAccountSave {
        external_key: key.into(),
        name: "Acme Community".into(),
        enabled: true,
        settings: serde_json::json!({}),
    };
    let linked = desk.link_channel_account_with_code(Channel::Discord, &code.code, save("4711")).await.unwrap();
    assert_eq!((linked.workspace_id, linked.external_key.as_str()), (ws.id, "4711"));
    // Used: refused, however it is asked.
    let again = desk.link_channel_account_with_code(Channel::Discord, &code.code, save("4712")).await.unwrap_err();
    assert!(matches!(&again, DeskError::Validation(v) if v.field == "code"), "{again:?}");
    assert!(desk.channel_link_code_workspace(Channel::Discord, &code.code).await.is_err());

    // Expired after its hour.
    let late = desk.create_channel_link_code(&admin, Channel::Discord).await.unwrap();
    clock.set(1_763_900_000_000 + CHANNEL_LINK_CODE_TTL_MS + 1);
    let expired = desk.link_channel_account_with_code(Channel::Discord, &late.code, save("4713")).await.unwrap_err();
    assert!(matches!(&expired, DeskError::Validation(v) if v.field == "code"), "{expired:?}");

    // Another workspace's code cannot take over a key this one routes; the code stays unspent.
    let globex = desk.create_channel_link_code(&Actor::system(other.id), Channel::Discord).await.unwrap();
    let taken = desk.link_channel_account_with_code(Channel::Discord, &globex.code, save("4711")).await.unwrap_err();
    assert!(matches!(&taken, DeskError::Validation(v) if v.field == "externalKey"), "{taken:?}");
    assert_eq!(desk.channel_link_code_workspace(Channel::Discord, &globex.code).await.unwrap(), other.id);
    // Garbage is refused on the same field, never looked up.
    let junk = desk.channel_link_code_workspace(Channel::Discord, &"x".repeat(10_000)).await.unwrap_err();
    assert!(matches!(&junk, DeskError::Validation(v) if v.field == "code"), "{junk:?}");
}
