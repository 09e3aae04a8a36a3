//! Canned responses (reply templates).

use super::*;

/// A reply template.
pub struct CannedResponse(pub CannedResponseRecord);

crate::stamp::version_stamp!(CannedResponseStamp, "CannedResponseInput", "response");

#[Object]
impl CannedResponse {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Typed in chat channels to insert the response, e.g. `refund-policy`.
    async fn shortcut(&self) -> Option<&str> {
        self.0.shortcut.as_deref()
    }
    /// The template, with variables such as `{{ticket.number}}`.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Limits the response to one help topic; global when absent.
    async fn help_topic_id(&self) -> Option<ID> {
        self.0.help_topic_id.map(|h| id(h.0))
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.0.updated_at)
    }
    #[graphql(flatten)]
    async fn stamp(&self) -> CannedResponseStamp {
        CannedResponseStamp::of(self.0.version, &self.0.updated_by)
    }
}

/// A canned response as an admin writes it.
#[derive(InputObject)]
pub struct CannedResponseInput {
    pub title: String,
    pub shortcut: Option<String>,
    pub body: String,
    pub help_topic_id: Option<ID>,
    /// The response's `version` when the form was loaded, for an update: a save over a newer
    /// version is refused with CONFLICT naming who saved it and when. Without it the save
    /// applies whatever was saved since (as before versions existed).
    pub version: Option<i64>,
}
