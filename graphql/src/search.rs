//! What a ticket search says about where each ticket matched.

use async_graphql::{Enum, ID, SimpleObject};
use switchboard_desk::domain::TicketId;
use switchboard_desk::search_layer::{Field, Snippet};

use crate::types::id;

/// Where in a ticket a search matched.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SearchMatchField {
    Subject,
    /// A public message (the customer's or a reply).
    Message,
    /// An internal note or system entry (staff only).
    Note,
    /// The requester's name or address (staff only).
    Requester,
    Tags,
}

/// A piece of an excerpt: plain text, or a word the search matched.
#[derive(SimpleObject)]
pub struct SnippetFragment {
    pub text: String,
    pub highlighted: bool,
}

/// Where a ticket of the page matched a `search`: an excerpt of one field with the matched
/// words marked. Render the fragments in order (as text, never as HTML).
#[derive(SimpleObject)]
pub struct TicketSearchMatch {
    pub ticket_id: ID,
    pub field: SearchMatchField,
    pub fragments: Vec<SnippetFragment>,
}

/// The page's matches, in page order.
pub fn search_matches(snippets: Vec<(TicketId, Snippet)>) -> Vec<TicketSearchMatch> {
    snippets
        .into_iter()
        .map(|(t, s)| TicketSearchMatch {
            ticket_id: id(t.0),
            field: match s.field {
                Field::Title => SearchMatchField::Subject,
                Field::PublicText => SearchMatchField::Message,
                Field::InternalText => SearchMatchField::Note,
                Field::People => SearchMatchField::Requester,
                Field::Tags => SearchMatchField::Tags,
            },
            fragments: s
                .fragments
                .into_iter()
                .map(|f| SnippetFragment { text: f.text, highlighted: f.highlighted })
                .collect(),
        })
        .collect()
}
