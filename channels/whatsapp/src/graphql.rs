//! GraphQL for the WhatsApp channel: the workspace's business numbers (the access token is
//! write-only) and the template message offered outside the 24-hour window.
//! [`WhatsAppQuery`] and [`WhatsAppMutation`] are merged into the schema by the server.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use switchboard_desk::DeskError;
use switchboard_desk::domain::ChannelAccountId;

use crate::records::WhatsappNumberRecord;
use crate::{WhatsappDesk, WhatsappNumberInput as DeskInput};
use switchboard_graphql::{Entry, actor, desk, id, opt_id, parse_id, time};

/// A WhatsApp Business phone number of the workspace.
pub struct WhatsappNumber(pub WhatsappNumberRecord);

#[Object]
impl WhatsappNumber {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    /// Meta's phone number id; notifications naming it belong to this workspace.
    async fn phone_number_id(&self) -> &str {
        &self.0.phone_number_id
    }
    /// The number as people dial it, e.g. `+1 555 010 0000`.
    async fn display_phone_number(&self) -> &str {
        &self.0.display_phone_number
    }
    /// Whether an access token is stored (the token itself is never returned).
    async fn has_access_token(&self) -> bool {
        !self.0.access_token_enc.is_empty()
    }
    /// The approved template offered outside the 24-hour customer-service window.
    async fn template_name(&self) -> Option<&str> {
        self.0.template_name.as_deref()
    }
    /// The template's language code, e.g. `en_US`.
    async fn template_language(&self) -> Option<&str> {
        self.0.template_language.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.0.updated_at)
    }
}

/// A WhatsApp number to add or change.
#[derive(InputObject)]
pub struct WhatsappNumberInput {
    /// Meta's phone number id (digits).
    pub phone_number_id: String,
    pub display_phone_number: String,
    /// The Graph API access token; required for a new number, omit to keep the stored one.
    pub access_token: Option<String>,
    pub template_name: Option<String>,
    pub template_language: Option<String>,
}

impl From<WhatsappNumberInput> for DeskInput {
    fn from(i: WhatsappNumberInput) -> Self {
        DeskInput {
            phone_number_id: i.phone_number_id,
            display_phone_number: i.display_phone_number,
            access_token: i.access_token,
            template_name: i.template_name,
            template_language: i.template_language,
        }
    }
}

/// The WhatsApp channel's reads, merged into the schema's `Query`.
#[derive(Debug, Default)]
pub struct WhatsAppQuery;

#[Object]
impl WhatsAppQuery {
    /// The workspace's WhatsApp business numbers (admins).
    async fn whatsapp_numbers(&self, ctx: &Context<'_>) -> Result<Vec<WhatsappNumber>, DeskError> {
        Ok(desk(ctx).whatsapp_numbers(actor(ctx)?).await?.into_iter().map(WhatsappNumber).collect())
    }
}

/// The WhatsApp channel's changes, merged into the schema's `Mutation`.
#[derive(Debug, Default)]
pub struct WhatsAppMutation;

#[Object]
impl WhatsAppMutation {
    /// Adds a WhatsApp business number, or changes one when `id` is given (admins). The access
    /// token is stored encrypted and never returned.
    async fn save_whatsapp_number(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        input: WhatsappNumberInput,
    ) -> Result<WhatsappNumber, DeskError> {
        let id: Option<ChannelAccountId> = opt_id(&id, "id")?;
        Ok(WhatsappNumber(desk(ctx).save_whatsapp_number(actor(ctx)?, id, input.into()).await?))
    }

    /// Removes a WhatsApp business number (admins).
    async fn delete_whatsapp_number(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        desk(ctx).delete_whatsapp_number(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(true)
    }

    /// Sends the WhatsApp number's approved template message on a ticket: what to send once the
    /// 24-hour customer-service window has closed and a free-form reply is refused.
    async fn send_whatsapp_template(&self, ctx: &Context<'_>, ticket_id: ID) -> Result<Entry, DeskError> {
        let ticket = parse_id(&ticket_id, "ticketId")?;
        Ok(Entry(desk(ctx).reply_with_whatsapp_template(actor(ctx)?, ticket).await?))
    }
}
