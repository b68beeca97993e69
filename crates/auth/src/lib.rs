//! Trygg's authentication rules, as pure functions and small types:
//! session tokens and their expiry, step-up freshness, CSRF tokens, TOTP
//! (RFC 6238), password hashing for the bootstrap administrator, and login
//! rate limits.
//!
//! Architecture invariant: no I/O and no clock reads — time is an argument.
//! The web crate applies these rules to requests; the store keeps the rows.

mod ratelimit;
mod totp;

pub use ratelimit::RateLimiter;
pub use totp::{Totp, TotpError};

use aws_lc_rs::{constant_time, digest, hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;
use time::{Duration, OffsetDateTime};
use trygg_domain::{Account, Loa};
use zeroize::Zeroizing;

/// Session rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A staff session ends after this long without a request.
    pub staff_idle: Duration,
    /// A citizen's or relative's session ends after this long without a request.
    pub citizen_idle: Duration,
    /// Every session ends this long after login, active or not.
    pub absolute: Duration,
    /// A sensitive action needs an authentication at most this old…
    pub step_up_max_age: Duration,
    /// …at this level of assurance or higher.
    pub step_up_min_loa: Loa,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            staff_idle: Duration::minutes(30),
            citizen_idle: Duration::minutes(30),
            absolute: Duration::hours(12),
            step_up_max_age: Duration::minutes(10),
            step_up_min_loa: Loa::Loa3,
        }
    }
}

/// Why a session is no longer valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionEnded {
    /// No request for longer than the idle limit.
    #[error("the session ended after a period without activity")]
    Idle,
    /// Older than the absolute limit.
    #[error("the session reached its maximum length")]
    Absolute,
}

impl SessionPolicy {
    /// The idle limit for an account.
    pub fn idle_for(&self, account: &Account) -> Duration {
        match account {
            Account::Staff { .. } | Account::BootstrapAdmin { .. } => self.staff_idle,
            Account::Person { .. } | Account::Relative { .. } => self.citizen_idle,
        }
    }

    /// Whether a session with this last activity and absolute end is still
    /// valid at `now`. Valid up to and including the limit.
    pub fn check(
        &self,
        account: &Account,
        last_seen: OffsetDateTime,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), SessionEnded> {
        if now > expires_at {
            return Err(SessionEnded::Absolute);
        }
        if now - last_seen > self.idle_for(account) {
            return Err(SessionEnded::Idle);
        }
        Ok(())
    }

    /// Whether an authentication at `authenticated_at` with `loa` is fresh
    /// and strong enough for a sensitive action at `now`.
    pub fn step_up_satisfied(
        &self,
        loa: Loa,
        authenticated_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> bool {
        loa >= self.step_up_min_loa
            && now - authenticated_at <= self.step_up_max_age
            && authenticated_at <= now
    }
}

/// A random bearer token (session or login flow): 256 bits, URL-safe. Only its
/// hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Zeroizing<String>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<secret>)")
    }
}

/// The operating system's random source failed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the system random source failed")]
pub struct RandomFailed;

/// `n` random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomFailed> {
    let mut out = [0u8; N];
    rand::fill(&mut out).map_err(|_| RandomFailed)?;
    Ok(out)
}

impl Token {
    /// A fresh random token.
    pub fn generate() -> Result<Self, RandomFailed> {
        let bytes = Zeroizing::new(random_bytes::<32>()?);
        Ok(Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()))))
    }

    /// Accepts a token from a cookie if it has the right shape (never trust
    /// its content beyond that: it is looked up by hash).
    pub fn from_cookie(value: &str) -> Option<Self> {
        let ok = value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(Zeroizing::new(value.to_owned())))
    }

    /// The token for a `Set-Cookie` header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored: SHA-256 of the token.
    pub fn hash(&self) -> Vec<u8> {
        digest::digest(&digest::SHA256, self.0.as_bytes())
            .as_ref()
            .to_vec()
    }

    /// The CSRF token that goes with this session: an HMAC of a fixed label
    /// under the session token, so it changes with every new session id and
    /// needs no storage.
    pub fn csrf(&self) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.0.as_bytes());
        URL_SAFE_NO_PAD.encode(hmac::sign(&key, b"trygg csrf v1").as_ref())
    }

    /// Checks a submitted CSRF token in constant time.
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        constant_time::verify_slices_are_equal(self.csrf().as_bytes(), submitted.as_bytes()).is_ok()
    }
}

/// Password hashing for the bootstrap administrator (Argon2id, OWASP
/// parameters). Slow by design: call from a blocking thread.
pub mod password {
    use argon2::Argon2;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    /// Shortest password accepted.
    pub const MIN_LEN: usize = 12;

    /// Hashing failed, or the password is unacceptable.
    #[derive(Debug, Clone, thiserror::Error)]
    pub enum PasswordError {
        /// Too short.
        #[error("the password must have at least {MIN_LEN} characters")]
        TooShort,
        /// Random source or hashing failure.
        #[error("password hashing failed")]
        Hash,
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub fn hash(password: &str) -> Result<String, PasswordError> {
        if password.chars().count() < MIN_LEN {
            return Err(PasswordError::TooShort);
        }
        let salt = crate::random_bytes::<16>().map_err(|_| PasswordError::Hash)?;
        Argon2::default()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| PasswordError::Hash)
    }

    /// Whether `password` matches the PHC string.
    pub fn verify(password: &str, phc: &str) -> bool {
        Argon2::default()
            .verify_password(password.as_bytes(), phc)
            .is_ok()
    }

    /// A hash to verify against when the user does not exist, so that an
    /// unknown name takes as long as a wrong password.
    pub fn dummy_hash() -> &'static str {
        static DUMMY: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| hash("no such user, same cost").unwrap_or_default());
        &DUMMY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use trygg_domain::{StaffId, TenantId};

    fn staff() -> Account {
        let clock = trygg_domain::ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        Account::Staff {
            tenant: TenantId::generate(&clock),
            staff: StaffId::generate(&clock),
        }
    }

    #[test]
    fn idle_and_absolute_limits_hold_to_the_second() {
        let p = SessionPolicy::default();
        let login = datetime!(2026-01-01 08:00 UTC);
        let end = login + p.absolute;
        let a = staff();
        // Idle: T-1 s allowed, T allowed, T+1 s refused.
        assert!(
            p.check(
                &a,
                login,
                end,
                login + Duration::minutes(30) - Duration::seconds(1)
            )
            .is_ok()
        );
        assert!(
            p.check(&a, login, end, login + Duration::minutes(30))
                .is_ok()
        );
        assert_eq!(
            p.check(
                &a,
                login,
                end,
                login + Duration::minutes(30) + Duration::seconds(1)
            ),
            Err(SessionEnded::Idle)
        );
        // Absolute: active all day, still ends at 12 h.
        let recent = end - Duration::minutes(1);
        assert!(p.check(&a, recent, end, end - Duration::seconds(1)).is_ok());
        assert_eq!(
            p.check(&a, recent, end, end + Duration::seconds(1)),
            Err(SessionEnded::Absolute)
        );
    }

    #[test]
    fn step_up_needs_fresh_and_strong_authentication() {
        let p = SessionPolicy::default();
        let at = datetime!(2026-01-01 08:00 UTC);
        assert!(p.step_up_satisfied(Loa::Loa3, at, at + Duration::minutes(10)));
        assert!(!p.step_up_satisfied(
            Loa::Loa3,
            at,
            at + Duration::minutes(10) + Duration::seconds(1)
        ));
        assert!(!p.step_up_satisfied(Loa::Loa2, at, at));
        assert!(p.step_up_satisfied(Loa::Loa4, at, at + Duration::minutes(1)));
        assert!(
            !p.step_up_satisfied(Loa::Loa4, at + Duration::minutes(1), at),
            "from the future"
        );
    }

    #[test]
    fn tokens_are_random_hashed_and_carry_their_own_csrf() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(a.hash().len(), 32);
        assert_ne!(a.hash(), a.expose().as_bytes());
        assert!(a.csrf_matches(&a.csrf()));
        assert!(!a.csrf_matches(&b.csrf()));
        assert!(!a.csrf_matches(""));
        assert_eq!(Token::from_cookie(a.expose()), Some(a.clone()));
        assert!(Token::from_cookie("short").is_none());
        assert!(Token::from_cookie(&"a".repeat(42)).is_none());
        assert!(Token::from_cookie(&format!("{}=", &a.expose()[..42])).is_none());
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn passwords() {
        assert!(matches!(
            password::hash("kort"),
            Err(password::PasswordError::TooShort)
        ));
        let h = password::hash("ett långt lösenord").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(password::verify("ett långt lösenord", &h));
        assert!(!password::verify("ett långt lösenorD", &h));
        assert!(!password::verify("x", "not a hash"));
        assert!(password::dummy_hash().starts_with("$argon2id$"));
        assert!(!password::verify("anything at all", password::dummy_hash()));
    }
}
