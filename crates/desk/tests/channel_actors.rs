//! Channel adapters as their own actor, on a real database: a contact's identities on channels
//! (any number, keyed by the channel's registered key), a channel adapter finding the staff member
//! linked to a member of its channel, and acting inside one ticket's conversation with only what
//! it needs. SQLite by default; with `TEST_POSTGRES_URL` each test gets a fresh PostgreSQL
//! database.

#![allow(clippy::unwrap_used)]

mod common;

use switchboard_desk::domain::*;
use switchboard_desk::store::{ContactIdentity, IdentityKind};
use switchboard_desk::*;

fn staff(u: &store::UserRecord) -> Actor {
    Actor { workspace_id: u.workspace_id, kind: ActorKind::User { id: u.id, role: u.role }, label: u.name.clone() }
}

fn message(channel: Channel, sender: &str, key: &str, id: &str) -> InboundMessage {
    InboundMessage {
        channel,
        thread_key: Some(key.into()),
        ticket_id: None,
        external_message_id: id.into(),
        sender_kind: IdentityKind::Channel(channel),
        sender_value: sender.into(),
        sender_name: Some(format!("Member {sender}")),
        subject: Some(format!("From {sender}")),
        text: "Hello".into(),
        attachments: Vec::new(),
    }
}

#[tokio::test]
async fn a_contact_lists_every_identity_it_has_on_channels_oldest_first() {
    let e = common::env("chactors", 1_763_900_000_000).await;
    let ws = e.admin.workspace_id;
    let adapter = Actor::channel(ws, Channel::Discord, None);
    let opened = e.desk.ingest(&adapter, message(Channel::Discord, "u-1", "c-1", "m-1")).await.unwrap();
    let casey = e.desk.ticket(&e.admin, opened.ticket_id).await.unwrap().requester_id;
    // A second Discord account and a WhatsApp id for the same person: any number per channel.
    let mut tx = e.store.write().await.unwrap();
    assert!(tx.add_contact_identity(ws, casey, "discord", "u-2", 1).await.unwrap());
    assert!(tx.add_contact_identity(ws, casey, "whatsapp", "4917000000001", 2).await.unwrap());
    tx.commit().await.unwrap();

    let listed = e.desk.contacts(&e.admin, Some("Member u-1"), 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].identities,
        vec![
            ContactIdentity::new(Channel::Discord, "u-1"),
            ContactIdentity::new(Channel::Discord, "u-2"),
            ContactIdentity::new(Channel::Whatsapp, "4917000000001"),
        ]
    );
    assert_eq!(listed[0].identity(Channel::Discord), Some("u-1"), "the oldest is the one replies go to");
    // Found by any of them, on its own channel only.
    for (channel, id) in [(Channel::Discord, "u-2"), (Channel::Whatsapp, "4917000000001")] {
        let found = e.desk.contact_by_channel_identity(&adapter, IdentityKind::Channel(channel), id).await.unwrap();
        assert_eq!(found.map(|c| c.id), Some(casey), "{channel} {id}");
    }
    let elsewhere = e.desk.contact_by_channel_identity(&adapter, IdentityKind::Channel(Channel::Whatsapp), "u-2");
    assert!(elsewhere.await.unwrap().is_none());
    // A message from the second account is the same requester's.
    let again = e.desk.ingest(&adapter, message(Channel::Discord, "u-2", "c-2", "m-2")).await.unwrap();
    assert_eq!(e.desk.ticket(&e.admin, again.ticket_id).await.unwrap().requester_id, casey);
}

#[tokio::test]
async fn a_channel_adapter_finds_the_staff_member_linked_on_its_own_channel_only() {
    let e = common::env("chactors", 1_763_900_000_000).await;
    let ws = e.admin.workspace_id;
    let sam = e.desk.create_user(&e.admin, "sam@acme.test", "Sam Agent", Role::Agent, None).await.unwrap();
    e.desk.link_staff_identity(&e.admin, sam.id, Channel::Discord, "4711").await.unwrap();
    let discord = Actor::channel(ws, Channel::Discord, Some(ChannelAccountId(1)));

    let found = e.desk.staff_by_channel_identity(&discord, Channel::Discord, "4711").await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(sam.id));
    assert!(e.desk.staff_by_channel_identity(&discord, Channel::Discord, "4712").await.unwrap().is_none());
    // Another channel's adapter may not ask about Discord's members, nor may an agent.
    let whatsapp = Actor::channel(ws, Channel::Whatsapp, None);
    let refused = e.desk.staff_by_channel_identity(&whatsapp, Channel::Discord, "4711").await;
    assert!(matches!(refused, Err(DeskError::Forbidden(_))), "{refused:?}");
    let agent = e.desk.staff_by_channel_identity(&staff(&sam), Channel::Discord, "4711").await;
    assert!(matches!(agent, Err(DeskError::Forbidden(_))), "{agent:?}");
    // A deactivated staff member is nobody to act as.
    e.desk.update_user(&e.admin, sam.id, None, None, Some(false)).await.unwrap();
    assert!(e.desk.staff_by_channel_identity(&discord, Channel::Discord, "4711").await.unwrap().is_none());
}

#[tokio::test]
async fn a_channel_adapter_acts_in_one_tickets_conversation_with_only_what_it_needs() {
    let e = common::env("chactors", 1_763_900_000_000).await;
    let ws = e.admin.workspace_id;
    let adapter = Actor::channel(ws, Channel::Discord, None);
    let casey = e.desk.ingest(&adapter, message(Channel::Discord, "u-1", "c-1", "m-1")).await.unwrap().ticket_id;
    let robin = e.desk.ingest(&adapter, message(Channel::Discord, "u-2", "c-2", "m-2")).await.unwrap().ticket_id;
    let mail = e.desk.open_ticket(&e.admin, common::opening("Printer", "dana@example.com", None)).await.unwrap().id;

    // Unscoped, the adapter reads no ticket; in Casey's conversation it reads Casey's alone.
    assert!(matches!(e.desk.ticket(&adapter, casey).await, Err(DeskError::Forbidden(_))));
    let in_casey = e.desk.channel_actor_for_ticket(&adapter, casey).await.unwrap();
    assert_eq!(e.desk.ticket(&in_casey, casey).await.unwrap().id, casey);
    assert!(matches!(e.desk.ticket(&in_casey, robin).await, Err(DeskError::NotFound(_))));
    // Another channel's ticket is not its conversation; the system is no channel.
    let other = e.desk.channel_actor_for_ticket(&adapter, mail).await;
    assert!(matches!(other, Err(DeskError::NotFound(_))), "{other:?}");
    let system = e.desk.channel_actor_for_ticket(&e.admin, casey).await;
    assert!(matches!(system, Err(DeskError::Forbidden(_))), "{system:?}");

    // Releasing a staff member's claim is a supervisor's call: the adapter needs Reassign for it,
    // given for that one operation.
    let sam = e.desk.create_user(&e.admin, "sam@acme.test", "Sam Agent", Role::Agent, None).await.unwrap();
    e.desk.claim(&staff(&sam), casey).await.unwrap();
    let refused = e.desk.unclaim(&in_casey, casey).await;
    assert!(matches!(refused, Err(DeskError::Forbidden(_))), "{refused:?}");
    let released = e.desk.unclaim(&in_casey.clone().also_may(Permission::Reassign), casey).await.unwrap();
    assert_eq!(released.assignee_id, None);
    // Closing needs Manage, which it holds; it administers nothing.
    let closed = e.desk.close(&in_casey, casey, CloseReason::Resolved, None).await.unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);
    assert!(matches!(e.desk.staff_identities(&in_casey).await, Err(DeskError::Forbidden(_))));
}
