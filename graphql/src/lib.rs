//! The GraphQL API: the core objects of an async-graphql schema over the desk, and what channel
//! crates need to write their own objects (the caller, the desk, id parsing, error codes). The
//! server merges the core objects with every channel's ([`CoreQuery`] beside the channels'
//! objects its `switchboard_channel::channel_modules!` list yields) and mounts the schema; this crate knows nothing of HTTP or of any channel.
//! `schema.graphql` beside this crate is the checked-in SDL of the whole composed schema (the
//! server's test checks it).

mod answer;
#[cfg(test)]
mod api_tests;
mod errors;
mod help_center;
mod knowledge;
mod limits;
mod mutation;
mod query;
mod search;
mod staff_identities;
mod stamp;
mod subscription;
mod support;
mod types;

use async_graphql::{Context, ID, ObjectType, Schema, SchemaBuilder};
use switchboard_desk::domain::Actor;
use switchboard_desk::{Desk, DeskError};

pub use answer::{AnswerMutation, AnswerQuery};
pub use errors::ErrorCodes;
pub use knowledge::{HelpCenterQuery, KnowledgeMutation, KnowledgeQuery};
pub use limits::{Budget, Introspection, RequestLimits, checked_document};
pub use mutation::CoreMutation;
pub use query::CoreQuery;
pub use subscription::Subscription;
pub use types::{Entry, id, time};

/// A schema over the desk: the server's has its merged `Query` and `Mutation` (the core's and
/// every channel's); the core alone is the default, for tests.
pub type SwitchboardSchema<Q = CoreOnlyQuery, M = CoreOnlyMutation> = Schema<Q, M, Subscription>;

/// The core's reads alone under the served root name `Query`, for tests of the core API. (The
/// core objects cannot carry the root names themselves: a merged root holds them under its own.)
#[derive(async_graphql::MergedObject, Default, Debug)]
#[graphql(name = "Query")]
pub struct CoreOnlyQuery(pub CoreQuery, pub KnowledgeQuery, pub HelpCenterQuery, pub AnswerQuery);

/// The core's changes alone under the served root name `Mutation` (see [`CoreOnlyQuery`]).
#[derive(async_graphql::MergedObject, Default, Debug)]
#[graphql(name = "Mutation")]
pub struct CoreOnlyMutation(pub CoreMutation, pub KnowledgeMutation, pub AnswerMutation);

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 12;
/// Most expensive query a signed-in caller may send (each field costs 1; lists multiply by their
/// page size); anonymous callers get less, see [`Budget`].
pub const MAX_COMPLEXITY: usize = 5_000;

/// Builds the core schema alone around a desk, with the default request limits: for tests of
/// the core API. The server composes the full schema with [`build_schema_with`].
pub fn build_schema(desk: Desk) -> SwitchboardSchema {
    build_schema_with(CoreOnlyQuery::default(), CoreOnlyMutation::default(), desk, RequestLimits::default())
}

/// Builds a schema with these root objects (the core's merged with the channels') around a
/// desk, with the server's request limits.
pub fn build_schema_with<Q, M>(query: Q, mutation: M, desk: Desk, limits: RequestLimits) -> SwitchboardSchema<Q, M>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    schema_builder(query, mutation).extension(limits).data(desk).finish()
}

/// Everything but the per-request limits (the SDL does not depend on them), which also hold the
/// complexity limit: it differs between anonymous and signed-in callers. The SDL of the served
/// schema is `schema_builder(query, mutation).finish().sdl()`.
pub fn schema_builder<Q, M>(query: Q, mutation: M) -> SchemaBuilder<Q, M, Subscription>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
{
    Schema::build(query, mutation, Subscription).limit_depth(MAX_DEPTH).extension(ErrorCodes)
}

/// The desk the schema serves, for resolvers (the core's and channels').
pub fn desk<'a>(ctx: &Context<'a>) -> &'a Desk {
    ctx.data_unchecked::<Desk>()
}

/// The caller's network address, as the server determined it (behind trusted proxies, the
/// forwarded one); the sign-in limits count by it. Absent for in-process callers.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub std::net::IpAddr);

/// The bearer token a WebSocket connection signed in with; live subscriptions check it again
/// now and then, so they end once the session is signed out, or the password changed.
#[derive(Clone)]
pub struct SessionToken(pub String);

pub(crate) fn client_addr(ctx: &Context<'_>) -> Option<std::net::IpAddr> {
    ctx.data_opt::<ClientAddr>().map(|c| c.0)
}

/// The caller, or UNAUTHENTICATED.
pub fn actor<'a>(ctx: &Context<'a>) -> Result<&'a Actor, DeskError> {
    ctx.data_opt::<Actor>()
        .ok_or_else(|| DeskError::Unauthenticated("sign in first: send Authorization: Bearer <token>".into()))
}

/// Parses a GraphQL ID into a typed row id; anything but a positive integer is a validation
/// error naming `field`.
pub fn parse_id<T: From<i64>>(id: &ID, field: &str) -> Result<T, DeskError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(T::from)
        .ok_or_else(|| DeskError::invalid(field, format!("{:?} is not a valid id", id.as_str())))
}

/// Parses an optional GraphQL ID as [`parse_id`] does.
pub fn opt_id<T: From<i64>>(id: &Option<ID>, field: &str) -> Result<Option<T>, DeskError> {
    id.as_ref().map(|i| parse_id(i, field)).transpose()
}
