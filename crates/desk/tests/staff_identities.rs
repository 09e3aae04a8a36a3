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
