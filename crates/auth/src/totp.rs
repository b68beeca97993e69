//! TOTP (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, one step of clock
//! skew either way. The caller stores the last step used, so that a code
//! works once (see `Store::spend_totp_step`).

use aws_lc_rs::hmac;
use std::fmt;
use time::OffsetDateTime;
use zeroize::Zeroizing;

const STEP_SECS: i64 = 30;
const DIGITS: u32 = 6;

/// A TOTP secret.
pub struct Totp {
    secret: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Totp(<secret>)")
    }
}

/// A code that is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Not six digits.
    #[error("the code has six digits")]
    Malformed,
    /// Wrong for the current time.
    #[error("the code is wrong or too old")]
    Wrong,
}

impl Totp {
    /// A fresh random 160-bit secret.
    pub fn generate() -> Result<Self, crate::RandomFailed> {
        Ok(Self::from_secret(&crate::random_bytes::<20>()?))
    }

    /// Wraps a stored secret.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            secret: Zeroizing::new(secret.to_vec()),
        }
    }

    /// The raw secret (to seal and store).
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// Base32 (RFC 4648, no padding), as authenticator apps take it.
    pub fn secret_base32(&self) -> String {
        base32(&self.secret)
    }

    /// The `otpauth://` URI for an authenticator app.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            enc(issuer),
            enc(account),
            self.secret_base32(),
            enc(issuer)
        )
    }

    /// The time step that contains `at`.
    pub fn step(at: OffsetDateTime) -> i64 {
        at.unix_timestamp().div_euclid(STEP_SECS)
    }

    /// The code for a time step.
    pub fn code(&self, step: i64) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.secret);
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let bytes = tag.as_ref();
        let offset = usize::from(bytes.last().copied().unwrap_or(0) & 0x0f);
        let word = bytes
            .get(offset..offset + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map(|w| u32::from_be_bytes(w) & 0x7fff_ffff)
            .unwrap_or(0);
        format!("{:06}", word % 10u32.pow(DIGITS))
    }

    /// Checks a code at `now` (±1 step). Returns the step it matched, which
    /// the caller must spend so the code cannot be used again.
    pub fn verify(&self, code: &str, now: OffsetDateTime) -> Result<i64, TotpError> {
        let code = code.trim().replace(' ', "");
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::Malformed);
        }
        let now_step = Self::step(now);
        let mut matched = None;
        for step in [now_step - 1, now_step, now_step + 1] {
            // Compare every candidate, in constant time, without early exit.
            let ok = aws_lc_rs::constant_time::verify_slices_are_equal(
                self.code(step).as_bytes(),
                code.as_bytes(),
            )
            .is_ok();
            if ok && matched.is_none() {
                matched = Some(step);
            }
        }
        matched.ok_or(TotpError::Wrong)
    }
}

fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in data {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            let index = ((buffer >> (bits - 5)) & 31) as usize;
            out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
            bits -= 5;
        }
    }
    if bits > 0 {
        let index = ((buffer << (5 - bits)) & 31) as usize;
        out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn rfc6238_test_vectors() {
        // RFC 6238 appendix B, SHA-1 seed, last six digits of the 8-digit codes.
        let t = Totp::from_secret(b"12345678901234567890");
        for (unix, code8) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let at = OffsetDateTime::from_unix_timestamp(unix).unwrap();
            assert_eq!(t.code(Totp::step(at)), code8[2..], "at {unix}");
        }
    }

    #[test]
    fn codes_are_checked_within_one_step() {
        let t = Totp::generate().unwrap();
        let now = datetime!(2026-06-01 08:00:10 UTC);
        let step = Totp::step(now);
        assert_eq!(t.verify(&t.code(step), now), Ok(step));
        assert_eq!(t.verify(&t.code(step - 1), now), Ok(step - 1));
        assert_eq!(t.verify(&t.code(step + 1), now), Ok(step + 1));
        assert_eq!(t.verify(&t.code(step - 2), now), Err(TotpError::Wrong));
        assert_eq!(t.verify("12345", now), Err(TotpError::Malformed));
        assert_eq!(t.verify("abcdef", now), Err(TotpError::Malformed));
    }

    #[test]
    fn base32_and_uri() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        let t = Totp::from_secret(b"12345678901234567890");
        assert_eq!(
            t.uri("Trygg", "admin"),
            "otpauth://totp/Trygg:admin?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Trygg&algorithm=SHA1&digits=6&period=30"
        );
    }
}
