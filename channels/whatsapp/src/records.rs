//! Rows of the WhatsApp channel's tables.

use switchboard_desk::domain::{ChannelAccountId, Millis, WorkspaceId};
use switchboard_desk::store::{ChannelAccountInput, ChannelAccountRecord, StoreError, decode_json};

/// A workspace's WhatsApp Business phone number; the access token stays sealed here.
#[derive(Debug, Clone)]
pub struct WhatsappNumberRecord {
    pub id: ChannelAccountId,
    pub workspace_id: WorkspaceId,
    /// Meta's id of the number, which routes notifications and names the sending endpoint.
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub access_token_enc: String,
    pub template_name: Option<String>,
    pub template_language: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A webhook notification in the channel's inbox table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type)]
#[sqlx(transparent)]
pub struct WhatsappInboxId(pub i64);

impl std::fmt::Display for WhatsappInboxId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A stored webhook notification.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WhatsappInboxRecord {
    pub id: WhatsappInboxId,
    pub body: String,
    pub received_at: Millis,
    pub attempts: i64,
    pub processed_at: Option<Millis>,
    pub note: Option<String>,
}

/// Where a contact is in a chat skill.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WhatsappConversationRecord {
    pub workspace_id: WorkspaceId,
    pub wa_id: String,
    pub phone_number_id: String,
    pub step: String,
    pub subject: Option<String>,
    pub updated_at: Millis,
}

/// The WhatsApp channel's key in the generic channel tables.
pub const WHATSAPP_CHANNEL: &str = "whatsapp";

/// A number's `settings` JSON in its channel account.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct NumberSettingsJson {
    display_phone_number: String,
    template_name: Option<String>,
    template_language: Option<String>,
}

/// A number's `secrets` JSON: the sealed access token.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct NumberSecretsJson {
    #[serde(default)]
    access_token: Option<String>,
}

impl WhatsappNumberRecord {
    /// The number a channel account of the WhatsApp channel holds.
    pub fn from_account(a: &ChannelAccountRecord) -> Result<WhatsappNumberRecord, StoreError> {
        let s: NumberSettingsJson = decode_json(&a.settings)?;
        let k: NumberSecretsJson = decode_json(&a.secrets)?;
        Ok(WhatsappNumberRecord {
            id: a.id,
            workspace_id: a.workspace_id,
            phone_number_id: a.external_key.clone(),
            display_phone_number: s.display_phone_number,
            access_token_enc: k.access_token.unwrap_or_default(),
            template_name: s.template_name,
            template_language: s.template_language,
            created_at: a.created_at,
            updated_at: a.updated_at,
        })
    }
}

/// The channel account a number is written as. Meta's phone number id names the number in every
/// notification, so it routes across workspaces (`global_route`).
pub fn whatsapp_number_account(
    phone_number_id: &str,
    display: &str,
    token_enc: &str,
    template_name: Option<&str>,
    template_language: Option<&str>,
) -> ChannelAccountInput {
    let settings = NumberSettingsJson {
        display_phone_number: display.to_string(),
        template_name: template_name.map(str::to_string),
        template_language: template_language.map(str::to_string),
    };
    let secrets = NumberSecretsJson { access_token: Some(token_enc.to_string()) };
    ChannelAccountInput {
        channel: WHATSAPP_CHANNEL.into(),
        external_key: phone_number_id.to_string(),
        name: display.to_string(),
        enabled: true,
        global_route: true,
        settings: serde_json::to_string(&settings).unwrap_or_default(),
        secrets: serde_json::to_string(&secrets).unwrap_or_default(),
    }
}
