//! Who is acting, and what they may do.

use crate::{ApiTokenId, Channel, ChannelAccountId, ContactId, Role, UserId, WorkspaceId};

/// A permission key from the service-desk model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Permission {
    /// `service-desk.view`: read tickets, queues, dashboard.
    View,
    /// `service-desk.manage`: write tickets, replies, attachments, assignments.
    Manage,
    /// `service-desk.reassign`: take a ticket from one assignee and give it to another (supervisors).
    Reassign,
    /// `service-desk.admin`: configure queues, help topics, canned responses, settings, tokens.
    Admin,
}

impl Permission {
    /// Every permission key.
    pub const ALL: &'static [Permission] =
        &[Permission::View, Permission::Manage, Permission::Reassign, Permission::Admin];

    /// The permission key as the service-desk model spells it.
    pub fn key(self) -> &'static str {
        match self {
            Permission::View => "service-desk.view",
            Permission::Manage => "service-desk.manage",
            Permission::Reassign => "service-desk.reassign",
            Permission::Admin => "service-desk.admin",
        }
    }

    /// Parses a permission key.
    pub fn from_key(key: &str) -> Option<Permission> {
        Self::ALL.iter().copied().find(|p| p.key() == key)
    }

    /// The keys a staff role grants.
    pub fn for_role(role: Role) -> &'static [Permission] {
        match role {
            Role::Agent => &[Permission::View, Permission::Manage],
            Role::Supervisor => &[Permission::View, Permission::Manage, Permission::Reassign],
            Role::Admin => Self::ALL,
        }
    }
}

/// The identity behind a call, with everything needed to authorize it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The workspace every query of this actor is scoped to.
    pub workspace_id: WorkspaceId,
    /// Who it is.
    pub kind: ActorKind,
    /// How history and the thread name this actor, e.g. "Alex Agent" or "API token: CRM sync".
    pub label: String,
}

/// The kinds of identity that can act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorKind {
    /// A signed-in staff member.
    User { id: UserId, role: Role },
    /// An external customer: sees only tickets where they are the requester.
    Contact { id: ContactId },
    /// An integrator's API token, limited to its scopes.
    ApiToken { id: ApiTokenId, scopes: Vec<Permission> },
    /// A channel adapter acting on what it hears: it may ingest and add system entries (manage),
    /// and read the tickets of `requester`, the contact it acts for once it knows them, and no
    /// one else's (see [`Actor::requester_scope`]); never reassign or admin; attributed to no
    /// one. `account` is the channel account it acts through, if any. `also` holds what one
    /// operation needs beyond that (see [`Actor::also_may`]), empty otherwise.
    Channel { channel: Channel, account: Option<ChannelAccountId>, requester: Option<ContactId>, also: Vec<Permission> },
    /// The system itself (jobs, the desk's own messages): all staff permissions, attributed to
    /// no one.
    System,
}

impl Actor {
    /// True when this actor holds `perm`. Contacts hold none: their surface is checked by ownership.
    pub fn can(&self, perm: Permission) -> bool {
        match &self.kind {
            ActorKind::User { role, .. } => Permission::for_role(*role).contains(&perm),
            ActorKind::ApiToken { scopes, .. } => scopes.contains(&perm),
            ActorKind::Contact { .. } => false,
            // No View: what a channel reads is its requester's, through `requester_scope`.
            ActorKind::Channel { also, .. } => perm == Permission::Manage || also.contains(&perm),
            ActorKind::System => true,
        }
    }

    /// The staff user, when the actor is one.
    pub fn user_id(&self) -> Option<UserId> {
        match self.kind {
            ActorKind::User { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The contact, when the actor is an external customer.
    pub fn contact_id(&self) -> Option<ContactId> {
        match self.kind {
            ActorKind::Contact { id } => Some(id),
            _ => None,
        }
    }

    /// The system actor of a workspace, for channel ingest and jobs.
    pub fn system(workspace_id: WorkspaceId) -> Actor {
        Actor { workspace_id, kind: ActorKind::System, label: "System".into() }
    }

    /// The actor of `channel`'s adapter in a workspace, acting through `account` when it knows
    /// which; see [`ActorKind::Channel`].
    pub fn channel(workspace_id: WorkspaceId, channel: Channel, account: Option<ChannelAccountId>) -> Actor {
        let kind = ActorKind::Channel { channel, account, requester: None, also: Vec::new() };
        Actor { workspace_id, kind, label: format!("Channel: {channel}") }
    }

    /// The same channel actor, acting for `requester` (whose tickets it may then read); other
    /// actors are returned unchanged.
    pub fn for_requester(mut self, requester: ContactId) -> Actor {
        if let ActorKind::Channel { requester: r, .. } = &mut self.kind {
            *r = Some(requester);
        }
        self
    }

    /// The same channel actor, also holding `perm` for one operation: a staff command run in a
    /// ticket's conversation on the channel by someone no staff member is linked to (releasing
    /// another staff member's claim needs Reassign). Other actors are returned unchanged.
    pub fn also_may(mut self, perm: Permission) -> Actor {
        if let ActorKind::Channel { also, .. } = &mut self.kind
            && !also.contains(&perm)
        {
            also.push(perm);
        }
        self
    }

    /// The requester whose tickets alone this actor may read: a customer's own, or the one a
    /// channel adapter acts for. `None` for everyone else, whose reads need the View permission
    /// (which a channel adapter does not hold, so it reads no tickets until it acts for someone).
    pub fn requester_scope(&self) -> Option<ContactId> {
        match self.kind {
            ActorKind::Contact { id } => Some(id),
            ActorKind::Channel { requester, .. } => requester,
            _ => None,
        }
    }

    /// True for the system and channel adapters: automatic actors, attributed to no one.
    pub fn is_automatic(&self) -> bool {
        matches!(self.kind, ActorKind::System | ActorKind::Channel { .. })
    }

    /// True for staff users, API tokens, channels and the system: anyone working on the desk side.
    pub fn is_staff_side(&self) -> bool {
        !matches!(self.kind, ActorKind::Contact { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> Actor {
        Actor { workspace_id: WorkspaceId(1), kind: ActorKind::User { id: UserId(1), role }, label: "u".into() }
    }

    #[test]
    fn roles_grant_the_service_desk_keys() {
        assert!(user(Role::Agent).can(Permission::Manage));
        assert!(!user(Role::Agent).can(Permission::Reassign));
        assert!(!user(Role::Agent).can(Permission::Admin));
        assert!(user(Role::Supervisor).can(Permission::Reassign));
        assert!(!user(Role::Supervisor).can(Permission::Admin));
        assert!(user(Role::Admin).can(Permission::Admin));
    }

    #[test]
    fn contacts_and_scoped_tokens() {
        let c =
            Actor { workspace_id: WorkspaceId(1), kind: ActorKind::Contact { id: ContactId(3) }, label: "c".into() };
        assert!(Permission::ALL.iter().all(|p| !c.can(*p)));
        let t = Actor {
            workspace_id: WorkspaceId(1),
            kind: ActorKind::ApiToken { id: ApiTokenId(1), scopes: vec![Permission::View] },
            label: "t".into(),
        };
        assert!(t.can(Permission::View) && !t.can(Permission::Manage));
        assert_eq!(Permission::from_key("service-desk.admin"), Some(Permission::Admin));
    }

    #[test]
    fn a_channel_may_manage_and_read_only_its_requesters_tickets() {
        let ch = Actor::channel(WorkspaceId(1), Channel::Whatsapp, Some(ChannelAccountId(7)));
        assert!(ch.can(Permission::Manage) && !ch.can(Permission::View));
        assert!(!ch.can(Permission::Reassign) && !ch.can(Permission::Admin));
        assert!(ch.is_automatic() && ch.is_staff_side());
        assert_eq!((ch.user_id(), ch.contact_id(), ch.requester_scope()), (None, None, None));
        let for_robin = ch.for_requester(ContactId(3));
        assert_eq!(for_robin.requester_scope(), Some(ContactId(3)));
        // Acting for a requester never makes the adapter that customer: its writes stay automatic.
        assert_eq!(for_robin.contact_id(), None);
        assert!(for_robin.is_automatic());
        // One operation's extra permission is that one alone; reading stays the requester's.
        let releasing = for_robin.also_may(Permission::Reassign);
        assert!(releasing.can(Permission::Reassign) && releasing.can(Permission::Manage));
        assert!(!releasing.can(Permission::View) && !releasing.can(Permission::Admin));
        assert_eq!(releasing.requester_scope(), Some(ContactId(3)));
        // Only a channel actor is widened: a staff member keeps their role's permissions.
        assert_eq!(user(Role::Agent).also_may(Permission::Admin), user(Role::Agent));
    }
}
