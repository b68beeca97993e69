//! Integration tests: the real client against the simulator over real HTTP
//! (and HTTPS with mutual TLS) on 127.0.0.1, port 0. Time moves only through
//! a `ManualClock`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod errors;
mod flow;
mod kit;
mod mtls;
