//! The GraphQL API: an async-graphql schema over the desk. The server mounts it; this crate
//! knows nothing of HTTP. `schema.graphql` beside this crate is the checked-in SDL.

#[cfg(test)]
mod api_tests;
mod email;
mod errors;
mod limits;
mod mutation;
mod query;
mod search;
mod subscription;
mod support;
mod types;
mod whatsapp;

use async_graphql::{Context, ID, Schema};
use switchboard_desk::domain::Actor;
use switchboard_desk::{Desk, DeskError};

pub use errors::ErrorCodes;
pub use limits::{Budget, Introspection, RequestLimits, checked_document};
pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscription;

/// The schema type the server serves.
pub type SwitchboardSchema = Schema<Query, Mutation, Subscription>;

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 12;
/// Most expensive query a signed-in caller may send (each field costs 1; lists multiply by their
/// page size); anonymous callers get less, see [`Budget`].
pub const MAX_COMPLEXITY: usize = 5_000;

/// Builds the schema around a desk, with the default request limits.
pub fn build_schema(desk: Desk) -> SwitchboardSchema {
    build_schema_with(desk, RequestLimits::default())
}

/// Builds the schema around a desk, with the server's request limits.
pub fn build_schema_with(desk: Desk, limits: RequestLimits) -> SwitchboardSchema {
    schema_builder().extension(limits).data(desk).finish()
}

/// Everything but the per-request limits (the SDL does not depend on them), which also hold the
/// complexity limit: it differs between anonymous and signed-in callers.
fn schema_builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query, Mutation, Subscription).limit_depth(MAX_DEPTH).extension(ErrorCodes)
}

/// The schema's SDL, as checked in at `graphql/schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

pub(crate) fn desk<'a>(ctx: &Context<'a>) -> &'a Desk {
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
pub(crate) fn actor<'a>(ctx: &Context<'a>) -> Result<&'a Actor, DeskError> {
    ctx.data_opt::<Actor>()
        .ok_or_else(|| DeskError::Unauthenticated("sign in first: send Authorization: Bearer <token>".into()))
}

/// Parses a GraphQL ID into a typed row id; anything but a positive integer is a validation
/// error naming `field`.
pub(crate) fn parse_id<T: From<i64>>(id: &ID, field: &str) -> Result<T, DeskError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(T::from)
        .ok_or_else(|| DeskError::invalid(field, format!("{:?} is not a valid id", id.as_str())))
}

#[cfg(test)]
mod tests {
    #[test]
    fn checked_in_schema_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
        let sdl = super::sdl();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(path, &sdl).expect("write schema.graphql");
        }
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == sdl,
            "graphql/schema.graphql is out of date; run `UPDATE_SCHEMA=1 cargo test -p switchboard-graphql` and commit it"
        );
    }
}
