//! Contacts (the people tickets are about): the contact type, a short reference to one, and what
//! staff write.

use super::*;

remote_enum!(
    /// How a requester is typed.
    RequesterType => "d::RequesterType" { BusinessPartner, Account, Manual });

/// A requester.
pub struct Contact(pub ContactRecord);

#[Object]
impl Contact {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// How the contact is known on channels (besides email and phone), oldest first.
    async fn identities(&self) -> Vec<Identity<'_>> {
        self.0.identities.iter().map(Identity).collect()
    }
    async fn requester_type(&self) -> RequesterType {
        self.0.requester_type.into()
    }
    async fn business_partner_ref(&self) -> Option<&str> {
        self.0.business_partner_ref.as_deref()
    }
    /// True when the contact can sign in to the My Tickets portal.
    async fn has_portal_access(&self) -> bool {
        self.0.password_hash.is_some()
    }
}

/// How a contact is known on a channel.
pub struct Identity<'a>(&'a switchboard_desk::store::ContactIdentity);

#[Object(name = "ContactIdentity")]
impl Identity<'_> {
    /// The channel the identity is on; `null` for a channel this server does not know.
    async fn channel(&self) -> Option<Channel> {
        d::Channel::parse(&self.0.channel, "channel").ok().map(Into::into)
    }
    /// The channel's id for the contact (a chat app's user id).
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
}

/// A short reference to a requester.
#[derive(SimpleObject)]
pub struct ContactRef {
    pub id: ID,
    pub name: String,
    pub email: Option<String>,
}

/// A contact as staff write it.
#[derive(InputObject)]
pub struct ContactInput {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub requester_type: Option<RequesterType>,
    pub business_partner_ref: Option<String>,
    /// Gives the contact a portal sign-in.
    pub portal_password: Option<String>,
}
