//! GraphQL types of suggested macros (the seed's name for the feature): repeated staff
//! replies offered as canned responses.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use switchboard_desk::store::MacroSuggestionRecord;

use crate::types::{id, time};

/// A staff reply repeated across closed tickets, offered as a canned response.
pub struct MacroSuggestion(pub MacroSuggestionRecord);

#[Object]
impl MacroSuggestion {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    /// The reply text, as the canned response would hold it.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Messages with this text.
    async fn occurrences(&self) -> i64 {
        self.0.occurrences
    }
    /// Distinct tickets those messages were on.
    async fn ticket_count(&self) -> i64 {
        self.0.ticket_count
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
}
