//! Rows for contacts (the people tickets are about) and their sign-in secrets.

use switchboard_domain::*;

/// A requester and their channel identities.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactRecord {
    pub id: ContactId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// How the contact is known on channels (besides email and phone), oldest first.
    #[sqlx(skip)]
    pub identities: Vec<ContactIdentity>,
    #[sqlx(try_from = "String")]
    pub requester_type: RequesterType,
    pub business_partner_ref: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: Millis,
    /// Portal sign-in tokens issued before this no longer work.
    pub sessions_valid_after: Option<Millis>,
}

/// What a new contact is created with.
#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Identities on channels; one taken by another contact of the workspace is refused.
    pub identities: Vec<ContactIdentity>,
    pub requester_type: Option<RequesterType>,
    pub business_partner_ref: Option<String>,
    pub password_hash: Option<String>,
}

impl ContactRecord {
    /// The contact's oldest identity on `channel` (the one replies go to), if any.
    pub fn identity(&self, channel: Channel) -> Option<&str> {
        self.identities.iter().find(|i| i.channel == channel.as_str()).map(|i| i.external_id.as_str())
    }
}

/// How a contact is known on a channel: the channel's registered key and its id for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactIdentity {
    /// The channel's key (`Channel::as_str`), kept as stored so a channel no longer registered
    /// still shows.
    pub channel: String,
    pub external_id: String,
}

impl ContactIdentity {
    /// An identity on `channel`.
    pub fn new(channel: Channel, external_id: impl Into<String>) -> ContactIdentity {
        ContactIdentity { channel: channel.as_str().to_string(), external_id: external_id.into() }
    }
}

impl NewContact {
    /// A new contact named `name` who is known by `value` of `kind` (the sender of a message).
    pub fn known_by(name: String, kind: IdentityKind, value: String) -> NewContact {
        let mut new = NewContact { name, ..NewContact::default() };
        match kind {
            IdentityKind::Email => new.email = Some(value),
            IdentityKind::Phone => new.phone = Some(value),
            IdentityKind::Channel(channel) => new.identities.push(ContactIdentity::new(channel, value)),
        }
        new
    }
}

/// Which identity to look a contact up by: a column of the person (email, phone, also used for
/// sign-in and matching), or an identity on a channel, keyed by the channel's registered key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    Email,
    Phone,
    /// An identity in `contact_identities` on this channel (any number per contact).
    Channel(Channel),
}

impl IdentityKind {
    /// The contact's own column for identities that are part of the person (email, phone).
    pub(crate) fn column(self) -> Option<&'static str> {
        match self {
            IdentityKind::Email => Some("email"),
            IdentityKind::Phone => Some("phone"),
            IdentityKind::Channel(_) => None,
        }
    }

    /// The channel key of identities kept in `contact_identities`.
    pub fn channel(self) -> Option<&'static str> {
        match self {
            IdentityKind::Email | IdentityKind::Phone => None,
            IdentityKind::Channel(channel) => Some(channel.as_str()),
        }
    }
}
