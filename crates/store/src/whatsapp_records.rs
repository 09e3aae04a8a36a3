//! Rows of the WhatsApp channel's tables.

use switchboard_domain::{Millis, WorkspaceId};

/// A workspace's WhatsApp Business phone number; the access token stays sealed here.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WhatsappNumberRecord {
    pub id: i64,
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

/// A stored webhook notification.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WhatsappInboxRecord {
    pub id: i64,
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
