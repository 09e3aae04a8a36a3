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
    pub whatsapp_id: Option<String>,
    pub discord_user_id: Option<String>,
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
    pub whatsapp_id: Option<String>,
    pub discord_user_id: Option<String>,
    pub requester_type: Option<RequesterType>,
    pub business_partner_ref: Option<String>,
    pub password_hash: Option<String>,
}

/// Which typed identity to look a contact up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    Email,
    Phone,
    Whatsapp,
    Discord,
}

impl IdentityKind {
    /// The contact's own column for identities that are part of the person (email, phone).
    pub(crate) fn column(self) -> Option<&'static str> {
        match self {
            IdentityKind::Email => Some("email"),
            IdentityKind::Phone => Some("phone"),
            IdentityKind::Whatsapp | IdentityKind::Discord => None,
        }
    }

    /// The channel of identities kept in `contact_identities` (any number per contact).
    pub fn channel(self) -> Option<&'static str> {
        match self {
            IdentityKind::Email | IdentityKind::Phone => None,
            IdentityKind::Whatsapp => Some("whatsapp"),
            IdentityKind::Discord => Some("discord"),
        }
    }
}
