//! Trygg's integration tests: one binary, real servers, real databases.
//!
//! Every storage test runs twice, on SQLite and on PostgreSQL, each in a fresh
//! database (see [`kit`]). PostgreSQL is reached at `TRYGG_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`); `.ci/run` makes
//! sure it runs.

// Test code: failing loudly is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod kit;

mod alarms;
mod audit;
mod auth;
mod browser;
mod canary;
mod cli;
mod console;
mod demo;
mod idor;
mod import;
mod keys;
mod killloop;
mod login;
mod mqtt;
mod oidc;
mod passkey;
mod permissions;
mod proofs;
mod record;
mod retention;
mod review;
mod server;
mod sip;
mod storage;
