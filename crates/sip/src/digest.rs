//! Digest authentication (RFC 3261 §22, RFC 8760 for SHA-256) with
//! `qop=auth` only, and stateless nonces.
//!
//! The nonce is `base64url(issued ‖ random ‖ HMAC-SHA-256(key, issued ‖
//! random ‖ realm))`: `issued` the time in seconds (8 bytes, big-endian),
//! `random` 16 bytes from the caller. The receiver keeps nothing per
//! challenge; any nonce it made can be checked with its key alone, and its
//! age read from it. The caller passes the time and the random bytes: the
//! crate has no clock and no random source.
//!
//! The RFC 2069 form without `qop` is refused: it has no client nonce and
//! no nonce count, so a captured answer can be replayed while the nonce
//! lives. Every device we target sends `qop=auth`.
//!
//! SHA-256 and HMAC come from aws-lc-rs, the project's crypto library. Its
//! `digest` module has no MD5, and SIP Digest needs MD5 to work with what
//! devices and test tools (sipp) actually send, so MD5 comes from the
//! RustCrypto `md-5` crate, used for nothing else.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use aws_lc_rs::{constant_time, digest, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use md5::Digest as _;

use crate::header::HeaderError;
use crate::message::Method;
use crate::text::{hex, is_text, is_token, is_ws, quote, split_list, unquote};
use crate::{MAX_NONCE_COUNTS, MAX_USERNAME};

/// A Digest hash algorithm. The `-sess` variants are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("MD5") {
            Some(Self::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Some(Self::Sha256)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha256 => "SHA-256",
        }
    }

    /// `H(data)` in lower-case hex.
    pub fn hash(self, data: &str) -> String {
        match self {
            Self::Md5 => hex(&md5::Md5::digest(data.as_bytes())),
            Self::Sha256 => hex(digest::digest(&digest::SHA256, data.as_bytes()).as_ref()),
        }
    }

    /// The length of a hash in hex.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha256 => 64,
        }
    }
}

/// `HA1 = H(username:realm:password)`, what the receiver stores for a
/// device instead of its password (one per algorithm offered).
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&format!("{username}:{realm}:{password}"))
}

/// `HA2 = H(method:uri)` for `qop=auth`.
pub fn ha2(algorithm: Algorithm, method: &str, uri: &str) -> String {
    algorithm.hash(&format!("{method}:{uri}"))
}

/// The expected `response` for `qop=auth`: `H(HA1:nonce:nc:cnonce:auth:HA2)`.
pub fn request_digest(
    algorithm: Algorithm,
    ha1: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
    ha2: &str,
) -> String {
    algorithm.hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
}

/// Reads the `name=value` list after `Digest`, unquoting quoted values.
fn digest_params(value: &str) -> Result<Vec<(&str, String)>, HeaderError> {
    let (scheme, rest) = value.split_once(is_ws).ok_or(HeaderError::Syntax)?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(HeaderError::Unsupported("authentication scheme"));
    }
    let mut params: Vec<(&str, String)> = Vec::new();
    for item in split_list(rest.trim_start_matches(is_ws))? {
        let (name, value) = item.split_once('=').ok_or(HeaderError::Syntax)?;
        let name = name.trim_end_matches(is_ws);
        let value = value.trim_start_matches(is_ws);
        let value = if value.starts_with('"') {
            match unquote(value) {
                Some((v, "")) => v,
                _ => return Err(HeaderError::Syntax),
            }
        } else if is_token(value) {
            value.to_owned()
        } else {
            return Err(HeaderError::Syntax);
        };
        if !is_token(name) {
            return Err(HeaderError::Syntax);
        }
        if params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(HeaderError::RepeatedParam);
        }
        params.push((name, value));
    }
    Ok(params)
}

fn take(params: &mut Vec<(&str, String)>, name: &str) -> Option<String> {
    let at = params
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case(name))?;
    Some(params.swap_remove(at).1)
}

fn require(params: &mut Vec<(&str, String)>, name: &'static str) -> Result<String, HeaderError> {
    take(params, name).ok_or(HeaderError::MissingParam(name))
}

/// An `Authorization: Digest …` header. Reading checks the grammar and that
/// the mandatory parameters are there; [`DigestServer::verify`] checks the
/// rest. Unknown parameters are ignored, as RFC 3261 §25 allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    pub cnonce: Option<String>,
    pub opaque: Option<String>,
    pub qop: Option<String>,
    pub nc: Option<String>,
}

impl Authorization {
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let mut params = digest_params(value)?;
        let algorithm = match take(&mut params, "algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::parse(&a).ok_or(HeaderError::Unsupported("algorithm"))?,
        };
        if take(&mut params, "userhash").is_some_and(|u| !u.eq_ignore_ascii_case("false")) {
            return Err(HeaderError::Unsupported("userhash"));
        }
        let nc = take(&mut params, "nc");
        if nc
            .as_ref()
            .is_some_and(|nc| nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(HeaderError::Syntax);
        }
        Ok(Self {
            username: require(&mut params, "username")?,
            realm: require(&mut params, "realm")?,
            nonce: require(&mut params, "nonce")?,
            uri: require(&mut params, "uri")?,
            response: require(&mut params, "response")?,
            algorithm,
            cnonce: take(&mut params, "cnonce"),
            opaque: take(&mut params, "opaque"),
            qop: take(&mut params, "qop"),
            nc,
        })
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(&self.uri),
            quote(&self.response),
            self.algorithm.as_str(),
        )?;
        if let Some(cnonce) = &self.cnonce {
            write!(f, ", cnonce={}", quote(cnonce))?;
        }
        if let Some(opaque) = &self.opaque {
            write!(f, ", opaque={}", quote(opaque))?;
        }
        if let Some(qop) = &self.qop {
            write!(f, ", qop={qop}")?;
        }
        if let Some(nc) = &self.nc {
            write!(f, ", nc={nc}")?;
        }
        Ok(())
    }
}

/// A `WWW-Authenticate: Digest …` challenge, always with `qop="auth"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub algorithm: Algorithm,
    pub opaque: Option<String>,
    pub stale: bool,
}

impl Challenge {
    /// Reads a challenge (the device's side); one without `auth` among its
    /// `qop` options is refused.
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let mut params = digest_params(value)?;
        let qop = require(&mut params, "qop")?;
        if !qop.split(',').any(|q| q.trim_matches(is_ws) == "auth") {
            return Err(HeaderError::Unsupported("qop"));
        }
        let algorithm = match take(&mut params, "algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::parse(&a).ok_or(HeaderError::Unsupported("algorithm"))?,
        };
        Ok(Self {
            realm: require(&mut params, "realm")?,
            nonce: require(&mut params, "nonce")?,
            algorithm,
            opaque: take(&mut params, "opaque"),
            stale: take(&mut params, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The `Authorization` answering this challenge (the device's side).
    pub fn answer(
        &self,
        username: &str,
        password: &str,
        method: &Method,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> Authorization {
        let nc = format!("{nc:08x}");
        let ha1 = ha1(self.algorithm, username, &self.realm, password);
        let ha2 = ha2(self.algorithm, method.as_str(), uri);
        Authorization {
            username: username.to_owned(),
            realm: self.realm.clone(),
            nonce: self.nonce.clone(),
            uri: uri.to_owned(),
            response: request_digest(self.algorithm, &ha1, &self.nonce, &nc, cnonce, &ha2),
            algorithm: self.algorithm,
            cnonce: Some(cnonce.to_owned()),
            opaque: self.opaque.clone(),
            qop: Some("auth".to_owned()),
            nc: Some(nc),
        }
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest realm={}, nonce={}, algorithm={}, qop=\"auth\"",
            quote(&self.realm),
            quote(&self.nonce),
            self.algorithm.as_str()
        )?;
        if let Some(opaque) = &self.opaque {
            write!(f, ", opaque={}", quote(opaque))?;
        }
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

/// Why an `Authorization` was not accepted. Each is answered 401 with fresh
/// challenges; only [`DigestError::Stale`] sets `stale=true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("realm is empty or holds a control character")]
    BadRealmConfig,
    #[error("qop=auth is required")]
    QopRequired,
    #[error("missing parameter `{0}`")]
    MissingParam(&'static str),
    #[error("username empty or longer than {MAX_USERNAME} bytes")]
    Username,
    #[error("realm is not this receiver's")]
    WrongRealm,
    #[error("uri differs from the Request-URI")]
    WrongUri,
    #[error("nonce was not issued by this receiver")]
    BadNonce,
    #[error("stored HA1 is not a hash of the algorithm used")]
    Ha1,
    #[error("wrong response (password)")]
    WrongResponse,
    #[error("nonce expired (answer with stale=true)")]
    Stale,
}

/// The length of a nonce's parts: issued-at, random, HMAC-SHA-256 tag.
const ISSUED_LEN: usize = 8;
const RANDOM_LEN: usize = 16;
const TAG_LEN: usize = 32;

/// A successful check: who, with which nonce and count. The caller checks
/// the count against replays ([`NonceCounts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub username: String,
    pub algorithm: Algorithm,
    pub nonce: String,
    pub nc: u32,
    /// When the nonce was issued (seconds, as passed to
    /// [`DigestServer::nonce`]).
    pub issued_at: u64,
}

/// The receiver's side: its realm, nonce key and nonce lifetime.
pub struct DigestServer {
    key: hmac::Key,
    realm: String,
    nonce_lifetime: u64,
}

impl fmt::Debug for DigestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestServer")
            .field("key", &"…")
            .field("realm", &self.realm)
            .field("nonce_lifetime", &self.nonce_lifetime)
            .finish()
    }
}

impl DigestServer {
    /// `key` is the secret the nonces are signed with (kept across
    /// restarts, nonces stay valid); `nonce_lifetime` in seconds.
    pub fn new(key: &[u8; 32], realm: &str, nonce_lifetime: u64) -> Result<Self, DigestError> {
        if realm.is_empty() || !is_text(realm) {
            return Err(DigestError::BadRealmConfig);
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            realm: realm.to_owned(),
            nonce_lifetime,
        })
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    fn signed(&self, issued: &[u8], random: &[u8]) -> Vec<u8> {
        [issued, random, self.realm.as_bytes()].concat()
    }

    /// A nonce issued at `now` (seconds) with 16 random bytes.
    pub fn nonce(&self, now: u64, random: [u8; RANDOM_LEN]) -> String {
        let issued = now.to_be_bytes();
        let tag = hmac::sign(&self.key, &self.signed(&issued, &random));
        URL_SAFE_NO_PAD.encode([&issued[..], &random[..], tag.as_ref()].concat())
    }

    /// The challenges of a 401, one nonce for both: SHA-256 first, then
    /// MD5, since a client uses the first it supports (RFC 8760 §2.4).
    /// `stale` after a [`DigestError::Stale`].
    pub fn challenges(&self, now: u64, random: [u8; RANDOM_LEN], stale: bool) -> [Challenge; 2] {
        let nonce = self.nonce(now, random);
        [Algorithm::Sha256, Algorithm::Md5].map(|algorithm| Challenge {
            realm: self.realm.clone(),
            nonce: nonce.clone(),
            algorithm,
            opaque: None,
            stale,
        })
    }

    /// When a nonce this receiver issued was issued; `None` for any other.
    fn issued_at(&self, nonce: &str) -> Option<u64> {
        let raw = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        let (issued, rest) = raw.split_first_chunk::<ISSUED_LEN>()?;
        let (random, tag) = rest.split_first_chunk::<RANDOM_LEN>()?;
        if tag.len() != TAG_LEN {
            return None;
        }
        hmac::verify(&self.key, &self.signed(issued, random), tag).ok()?;
        Some(u64::from_be_bytes(*issued))
    }

    /// Checks a request's `Authorization`: `qop=auth` with `cnonce` and
    /// `nc`, this realm, a `uri` equal to the Request-URI as text, a nonce
    /// this receiver issued, and a response computed from `ha1` (the
    /// stored HA1, in hex, for the username and algorithm the header names).
    /// The response is compared in constant time. An expired nonce with a
    /// right response is [`DigestError::Stale`]: the device knows the
    /// password and only needs a new nonce.
    pub fn verify(
        &self,
        auth: &Authorization,
        method: &Method,
        request_uri: &str,
        ha1: &str,
        now: u64,
    ) -> Result<Verified, DigestError> {
        if auth.qop.as_deref() != Some("auth") {
            return Err(DigestError::QopRequired);
        }
        let cnonce = auth
            .cnonce
            .as_deref()
            .ok_or(DigestError::MissingParam("cnonce"))?;
        let nc_text = auth.nc.as_deref().ok_or(DigestError::MissingParam("nc"))?;
        let nc = u32::from_str_radix(nc_text, 16).map_err(|_| DigestError::MissingParam("nc"))?;
        if auth.username.is_empty() || auth.username.len() > MAX_USERNAME {
            return Err(DigestError::Username);
        }
        if auth.realm != self.realm {
            return Err(DigestError::WrongRealm);
        }
        if auth.uri != request_uri {
            return Err(DigestError::WrongUri);
        }
        let issued_at = self.issued_at(&auth.nonce).ok_or(DigestError::BadNonce)?;
        let algorithm = auth.algorithm;
        if ha1.len() != algorithm.hex_len() || !ha1.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DigestError::Ha1);
        }
        let ha2 = ha2(algorithm, method.as_str(), &auth.uri);
        let expected = request_digest(
            algorithm,
            &ha1.to_ascii_lowercase(),
            &auth.nonce,
            nc_text,
            cnonce,
            &ha2,
        );
        let given = auth.response.to_ascii_lowercase();
        constant_time::verify_slices_are_equal(expected.as_bytes(), given.as_bytes())
            .map_err(|_| DigestError::WrongResponse)?;
        let age = now.checked_sub(issued_at);
        if age.is_none_or(|age| age > self.nonce_lifetime) {
            return Err(DigestError::Stale);
        }
        Ok(Verified {
            username: auth.username.clone(),
            algorithm,
            nonce: auth.nonce.clone(),
            nc,
            issued_at,
        })
    }
}

/// A nonce count that was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NonceCountError {
    #[error("nonce count not above the highest seen: a replay")]
    Replay,
    #[error("too many nonces in use (answer 503)")]
    Full,
}

/// The highest nonce count seen per nonce, so a captured request cannot be
/// replayed while its nonce lives (RFC 7616 §3.3). At most `capacity`
/// nonces are tracked; an entry is dropped once its nonce has expired, after
/// which the nonce itself is refused as stale. A nonce is kept as the first
/// 128 bits of its SHA-256, about 60 bytes an entry with the map's own, so
/// that every device of a large fleet can have one in use.
#[derive(Debug)]
pub struct NonceCounts {
    highest: HashMap<NonceKey, u32>,
    /// Nonces by the time they were first seen, oldest first.
    order: VecDeque<(u64, NonceKey)>,
    capacity: usize,
    nonce_lifetime: u64,
}

/// A nonce as [`NonceCounts`] keeps it.
type NonceKey = [u8; 16];

fn nonce_key(nonce: &str) -> NonceKey {
    let mut key = [0; 16];
    let hash = digest::digest(&digest::SHA256, nonce.as_bytes());
    for (k, h) in key.iter_mut().zip(hash.as_ref()) {
        *k = *h;
    }
    key
}

impl NonceCounts {
    /// At most `capacity` nonces (capped at [`MAX_NONCE_COUNTS`]), each
    /// kept `nonce_lifetime` seconds after it was first seen.
    pub fn new(capacity: usize, nonce_lifetime: u64) -> Self {
        Self {
            highest: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.min(MAX_NONCE_COUNTS),
            nonce_lifetime,
        }
    }

    /// Accepts `verified.nc` if it is above every count seen with its nonce.
    pub fn check(&mut self, verified: &Verified, now: u64) -> Result<(), NonceCountError> {
        while let Some((seen, nonce)) = self.order.front() {
            if seen.saturating_add(self.nonce_lifetime) >= now {
                break;
            }
            self.highest.remove(nonce);
            self.order.pop_front();
        }
        let key = nonce_key(&verified.nonce);
        if let Some(highest) = self.highest.get_mut(&key) {
            if verified.nc <= *highest {
                return Err(NonceCountError::Replay);
            }
            *highest = verified.nc;
            return Ok(());
        }
        if self.highest.len() >= self.capacity {
            return Err(NonceCountError::Full);
        }
        self.highest.insert(key, verified.nc);
        self.order.push_back((now, key));
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.highest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.highest.is_empty()
    }
}
