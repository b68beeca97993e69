//! Secure start: the animated QR code (another device) and the autostart
//! URL (same device).
//!
//! The QR code changes every second: its data is
//! `bankid.{qrStartToken}.{qrTime}.{qrAuthCode}` where `qrTime` is the number
//! of whole seconds since the order was started and `qrAuthCode` is
//! `hex(HMAC-SHA256(key = qrStartSecret, message = qrTime in decimal))`.
//! Compute it on the server: the secret never goes to the browser.

use crate::model::{Order, QrStartSecret};
use aws_lc_rs::hmac;
use time::OffsetDateTime;
use trygg_domain::Clock;

/// The data of one QR frame (render it as a QR code).
pub fn qr_data(qr_start_token: &str, qr_start_secret: &QrStartSecret, qr_time_secs: u64) -> String {
    let qr_time = qr_time_secs.to_string();
    let key = hmac::Key::new(
        hmac::HMAC_SHA256,
        qr_start_secret.expose_secret().as_bytes(),
    );
    let tag = hmac::sign(&key, qr_time.as_bytes());
    format!(
        "bankid.{qr_start_token}.{qr_time}.{}",
        hex_lower(tag.as_ref())
    )
}

/// `qrTime`: whole seconds since the order started (`order_started_at`, read
/// from the same clock when `/auth` or `/sign` answered), never negative.
pub fn qr_time_secs(order_started_at: OffsetDateTime, clock: &dyn Clock) -> u64 {
    let elapsed = clock.now() - order_started_at;
    u64::try_from(elapsed.whole_seconds()).unwrap_or(0)
}

/// The current QR frame for `order`, started at `order_started_at`.
pub fn current_qr_data(
    order: &Order,
    order_started_at: OffsetDateTime,
    clock: &dyn Clock,
) -> String {
    qr_data(
        &order.qr_start_token,
        &order.qr_start_secret,
        qr_time_secs(order_started_at, clock),
    )
}

/// The URL that starts the BankID app on the same device:
/// `bankid:///?autostarttoken=…&redirect=…`. Without a `redirect` the app is
/// told not to return anywhere (`redirect=null`, as BankID documents).
pub fn autostart_url(auto_start_token: &str, redirect: Option<&str>) -> String {
    format!(
        "bankid:///?autostarttoken={}&redirect={}",
        percent_encode(auto_start_token),
        percent_encode(redirect.unwrap_or("null"))
    )
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(value: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;
    use trygg_domain::ManualClock;

    #[test]
    fn qr_frames_match_a_known_vector() {
        // Computed independently: printf '0' | openssl dgst -sha256 -hmac <secret>
        let secret = QrStartSecret::new("d28db9a7-4cde-429e-a983-359be676944c".into());
        let frame = qr_data("67df3917-fa0d-44e5-b327-edcc928297f8", &secret, 0);
        assert_eq!(
            frame,
            "bankid.67df3917-fa0d-44e5-b327-edcc928297f8.0.\
             dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8"
        );
    }

    #[test]
    fn qr_time_is_whole_seconds_since_start() {
        let start = datetime!(2026-03-01 10:00 UTC);
        let clock = ManualClock::new(start);
        assert_eq!(qr_time_secs(start, &clock), 0);
        clock.advance(Duration::milliseconds(1999));
        assert_eq!(qr_time_secs(start, &clock), 1);
        clock.advance(Duration::milliseconds(1));
        assert_eq!(qr_time_secs(start, &clock), 2);
        clock.set(start - Duration::seconds(5));
        assert_eq!(qr_time_secs(start, &clock), 0);
    }

    #[test]
    fn autostart_url_is_percent_encoded() {
        assert_eq!(
            autostart_url("46ba3a4a-4a79-4a6f-9b5d-8f0d8b0e8a1e", None),
            "bankid:///?autostarttoken=46ba3a4a-4a79-4a6f-9b5d-8f0d8b0e8a1e&redirect=null"
        );
        assert_eq!(
            autostart_url("a b&c", Some("https://trygg.example/login?x=1&y=å")),
            "bankid:///?autostarttoken=a%20b%26c&redirect=\
             https%3A%2F%2Ftrygg.example%2Flogin%3Fx%3D1%26y%3D%C3%A5"
        );
    }
}
