//! BankID: the relying-party (RP) API v6 client, the recommended user
//! messages, and a **simulator** of the RP API for tests and demos.
//!
//! * [`client`]: [`BankIdClient`] speaks HTTPS + JSON with mutual TLS to
//!   `/rp/v6.0/auth`, `/sign`, `/collect` and `/cancel`. There is no way to
//!   start an order with a personal number: secure start only (animated QR
//!   code on another device, autostart on the same device).
//! * [`qr`]: the animated QR code data and the autostart URL.
//! * [`messages`]: BankID's recommended user messages (RFA1…RFA23) and the
//!   mapping from a collect status and hint code to the message to show.
//! * [`simulator`]: [`BankIdSimulator`], a local stand-in for BankID's servers
//!   (which are unreachable from here). It is **not BankID**: it issues no real
//!   signatures and identifies nobody. Never point production at it.
//!
//! Secrets (`qrStartSecret`, the RP client key) never appear in `Debug` output
//! or logs; completion data (personal numbers, names, signatures) is redacted
//! in `Debug`.

pub mod client;
pub mod error;
pub mod messages;
pub mod model;
pub mod qr;
pub mod simulator;

pub use client::{BankIdClient, BankIdConfig, PRODUCTION_BASE_URL, TEST_BASE_URL};
pub use error::{BankIdError, ConfigError};
pub use messages::{ErrorMessage, Flow, Rfa, user_message};
pub use model::{
    AuthRequest, CardReader, Collect, CollectStatus, CompletionData, Device, HintCode, Order,
    QrStartSecret, Requirement, SignRequest, StepUp, User,
};
pub use simulator::{BankIdSimulator, DemoIdentity, SimulatorError, SimulatorServer, SimulatorTls};
