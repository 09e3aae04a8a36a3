//! End-to-end tests: the real `switchboard` binary over HTTP, on SQLite by default and on
//! PostgreSQL when TEST_DATABASE_URL is set (`.ci/run` runs both).

#![allow(clippy::unwrap_used)]

mod support;

mod answer;
mod authorization;
mod channels;
mod discord;
mod edge;
mod email;
mod graphql_edge;
mod http;
mod ingest;
mod insights;
mod knowledge;
mod lifecycle;
mod live;
mod meilisearch;
mod portal;
// Two servers share one database only on PostgreSQL: `.ci/run` turns this on with
// TEST_DATABASE_URL, and without it the test is not built rather than passing unchecked.
#[cfg(feature = "replicas-test")]
mod replicas;
mod sign_in;
mod tokens;
mod validation;
mod web;
mod webhooks;
mod websocket;
mod whatsapp;
