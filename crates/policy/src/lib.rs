//! Authorization: who may do what with whose data.
//!
//! The only way to obtain a [`Grant`] is a successful decision by
//! [`Authorizer::authorize`]: Cedar policies (in `policies/`, embedded and
//! validated against the schema when the [`Authorizer`] is built) decide;
//! storage functions that read or write a person's data take `&Grant`, so
//! code that has not asked cannot compile. [`reference`] holds the same rules
//! in plain Rust: the specification the policies are tested against. See
//! `docs/design/authorization.md`.

mod admin;
mod authorizer;
mod entities;
mod grant;
pub mod reference;

#[cfg(test)]
#[path = "../tests/support/inputs.rs"]
mod inputs;

pub use admin::{AdminAuthorizer, AdminGrant};
pub use authorizer::{Authorizer, Denial, DenyReason, PolicyError};
pub use grant::{Grant, Via};
