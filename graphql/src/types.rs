//! GraphQL object and input types, one module per feature with the names the desk and the store
//! use (`tickets`, `entries`, `contacts`, `queues`, `help_topics`, `canned`, ...); the support-ops
//! types are in `support/`. Staff and customers get different ticket types: a customer's
//! (`portal`) never carries internal notes, history, assignee or routing fields.

mod api_tokens;
mod auth;
mod canned;
mod channel_keys;
mod contacts;
mod entries;
mod help_topics;
mod history;
mod portal;
mod queues;
mod tickets;
mod users;
mod workspaces;

pub use api_tokens::*;
pub use auth::*;
pub use canned::*;
pub use channel_keys::*;
pub use contacts::*;
pub use entries::*;
pub use help_topics::*;
pub use history::*;
pub use portal::*;
pub use queues::*;
pub use tickets::*;
pub use users::*;
pub use workspaces::*;

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, TimeZone, Utc};
use switchboard_desk::domain::{self as d, Millis, Permission};
use switchboard_desk::store::*;
use switchboard_desk::{DeskError, ThreadEntry};

use crate::support::SlaBreach;
use crate::{actor, desk};

/// Turns stored milliseconds into a GraphQL DateTime.
pub fn time(ms: Millis) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(crate) fn time_opt(ms: Option<Millis>) -> Option<DateTime<Utc>> {
    ms.map(time)
}

/// A row id as a GraphQL ID.
pub fn id(n: i64) -> ID {
    ID(n.to_string())
}

macro_rules! remote_enum {
    ($(#[$doc:meta])* $name:ident => $remote:literal { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
        #[graphql(remote = $remote)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }
    };
}
pub(crate) use remote_enum;

/// An error reported inside a successful response (bulk results).
#[derive(SimpleObject)]
pub struct UserError {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl From<DeskError> for UserError {
    fn from(e: DeskError) -> Self {
        let c = crate::errors::coded(&e);
        UserError { code: c.code.as_str().into(), message: c.message, field: c.field }
    }
}
