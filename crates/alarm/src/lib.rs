//! The safety-alarm receiver: SCAIP (SS 91100) over SIP.
//!
//! A device REGISTERs with Digest authentication and sends each request
//! `<mrq>` as the body of a SIP MESSAGE. The receiver answers the MESSAGE
//! `200 OK` at once (that says only "received") and then sends the SCAIP
//! answer `<mrs>` as a MESSAGE of its own:
//!
//! ```text
//! datagram ─► trygg_sip::parse ─► server transaction (retransmission? repeat the answer)
//!          ─► Digest (device registry) ─► 200 OK
//!          ─► trygg_scaip::parse_request ─► heartbeat: last seen, in memory
//!                                         └► alarm: Store::record_alarm (committed) ─► <mrs snu=0>
//! ```
//!
//! Why an acknowledged alarm cannot be lost: `snu=0` is sent only after
//! [`trygg_store::Store::record_alarm`] has committed the alarm. If the
//! process dies before that, the device has no `snu=0` and sends the same
//! request again; the stored `(device, ref)` makes the repeat the same
//! alarm. When more commits are in flight than [`Config::max_in_flight`],
//! or storage fails, the answer is `snu=6` (busy) and the device retries.
//!
//! Everything a device sends is bounded by `trygg-sip`'s and
//! `trygg-scaip`'s limits, and the number of requests handled at once by
//! [`MAX_HANDLERS`]: a device that misbehaves gets errors, others go on.

mod classify;
mod endpoint;
mod outbound;
pub mod simulator;
mod stream;

pub use classify::kind_of;
pub use endpoint::{
    AUTH_FAILURE_WINDOW, Config, MAX_AUTH_FAILURES, Receiver, ReceiverError, SUPERVISION_INTERVAL,
    Supervision,
};
pub use stream::{IDLE_TIMEOUT, MAX_CONNECTIONS};

/// At most this many requests are handled at once; datagrams beyond it are
/// dropped before parsing (UDP devices retransmit).
pub const MAX_HANDLERS: usize = 4096;

/// The longest registration granted, in seconds.
pub const MAX_REGISTRATION: u32 = 3600;

/// How long a Digest nonce stays fresh, in seconds.
pub const NONCE_LIFETIME: u64 = 300;

/// What the registry keeps of a device's password: its HA1 for each Digest
/// algorithm the receiver offers, bound to the user name and `realm`.
pub fn device_secrets(user: &str, realm: &str, password: &str) -> trygg_store::DeviceSecrets {
    use trygg_sip::{Algorithm, ha1};
    trygg_store::DeviceSecrets {
        ha1_md5: zeroize::Zeroizing::new(ha1(Algorithm::Md5, user, realm, password)),
        ha1_sha256: zeroize::Zeroizing::new(ha1(Algorithm::Sha256, user, realm, password)),
    }
}

/// A new device password: 20 characters from a 32-letter alphabet without
/// look-alikes (100 bits), for typing into a device's configuration.
pub fn generate_password() -> Result<String, trygg_crypto::CryptoError> {
    const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789-";
    let raw = trygg_crypto::random_bytes::<20>()?;
    Ok(raw
        .iter()
        .filter_map(|b| ALPHABET.get(usize::from(b % 32)).copied().map(char::from))
        .collect())
}
