//! End-to-end tests: the real `switchboard` binary over HTTP, on SQLite by default and on
//! PostgreSQL when TEST_DATABASE_URL is set (`.ci/run` runs both).

#![allow(clippy::unwrap_used)]

mod support;

mod authorization;
mod edge;
mod email;
mod graphql_edge;
mod http;
mod ingest;
mod lifecycle;
mod live;
mod portal;
mod replicas;
mod sign_in;
mod tokens;
mod validation;
mod web;
mod webhooks;
mod whatsapp;
