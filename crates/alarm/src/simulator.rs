//! A **device simulator**: the device side of SCAIP over SIP/UDP, for load
//! generation, the kill -9 loop and tests. It is not a device stack for
//! production; it plays many devices from one process against a receiver.
//!
//! ```text
//! Simulator (one UDP socket for every simulated device)
//!   register(device):  REGISTER ─► 401 ─► REGISTER + Authorization ─► 200
//!   send(device, mrq): MESSAGE (Authorization from the cached nonce, nc + 1)
//!                        ─► [401 (stale or unknown nonce) ─► MESSAGE + Authorization]
//!                        ─► 200 OK ─► the receiver's MESSAGE with <mrs ref=…> ─► 200 OK
//!                        ─► Outcome { snu, … }
//!   send_until_acknowledged: send, repeated with the same ref until snu=0
//! ```
//!
//! **One socket for many devices.** 300,000 devices must not need 300,000
//! sockets, so every request goes out of one socket, and one receive task
//! hands out what comes back: responses by the branch of their top Via (each
//! request has its own), the receiver's `<mrs>` MESSAGEs by the device they
//! are addressed to (the user in To) and the SCAIP `ref`. The receiver sends
//! an `<mrs>` in a MESSAGE of its own with a Call-ID of its own, so `ref` is
//! the only thing that ties it to the request. A device has one request
//! out at a time, as a real one does: it waits for the answer before it
//! sends the next, which also keeps its Digest nonce counts in order.
//! Sends for the same device from several tasks take turns.
//!
//! **Digest.** A device answers the first challenge it gets and then keeps
//! using that nonce with an increasing nonce count (RFC 7616 §3.4), so a
//! MESSAGE normally needs no extra round trip. A 401 (the nonce went stale,
//! or the receiver restarted and no longer knows its nonces) gives a fresh
//! challenge that is answered at once, a few times at most. MD5 is chosen
//! when offered, as the devices the receiver expects do; SHA-256 otherwise.
//! A 403 is [`SimError::Forbidden`]: wrong password, unknown or disabled
//! device.
//!
//! **Timers.** Requests are retransmitted on RFC 3261's schedule
//! ([`trygg_sip::ClientTransaction`]: 0.5 s, doubling to 4 s) until a final
//! response or [`SimConfig::response_timeout`]; the `<mrs>` is awaited for
//! [`SimConfig::answer_timeout`]. Time is read only through `tokio::time`.
//!
//! **Repeating like a device.** A SCAIP device repeats a request with the
//! same `ref` until it is answered `snu=0`: on `snu=6` (busy), `snu=4`
//! (hold: after 5–20 s, as the standard says), a timeout or no answer.
//! [`Simulator::send_until_acknowledged`] does that with a bounded,
//! jittered backoff ([`Persistence`]); the receiver recognises the repeats
//! as one alarm.
//!
//! Nothing here panics; every failure is a [`SimError`].

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use trygg_scaip::{ControllerId, DeviceType, MessageType, Priority, Ref, StatusCode, StatusNumber};
use trygg_sip::{
    Algorithm, Authorization, Challenge, ClientAction, ClientTransaction, Host, MAGIC_COOKIE,
    MAX_MESSAGE, Message, Method, NameAddr, NewRequest, Request, Response, SipUri, TIMER_F,
    Transport, Via,
};

/// How many challenges one request answers before giving up: one for an
/// unknown or stale nonce, and a couple more for a receiver that restarts
/// in between. More means the receiver refuses the answers.
const MAX_CHALLENGES: u32 = 3;

/// The product token in `User-Agent`, so a receiver's log shows where the
/// traffic came from.
const USER_AGENT: &str = "trygg-simulator";

/// A simulated device: its SIP Digest credentials and its SCAIP `cid`.
#[derive(Clone, PartialEq, Eq)]
pub struct SimDevice {
    /// The SIP user name (Digest username, the user in From).
    pub user: String,
    /// The Digest password.
    pub password: String,
    /// The SCAIP controller id it puts in every request.
    pub cid: String,
    /// The Digest realm it is provisioned in; it answers no other.
    pub realm: String,
}

impl std::fmt::Debug for SimDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimDevice")
            .field("user", &self.user)
            .field("password", &"…")
            .field("cid", &self.cid)
            .field("realm", &self.realm)
            .finish()
    }
}

impl SimDevice {
    /// A device with these credentials.
    pub fn new(user: &str, password: &str, cid: &str, realm: &str) -> Self {
        Self {
            user: user.to_owned(),
            password: password.to_owned(),
            cid: cid.to_owned(),
            realm: realm.to_owned(),
        }
    }

    fn controller_id(&self) -> Result<ControllerId, SimError> {
        self.cid
            .parse()
            .map_err(|_| SimError::Device("the cid must be 1 to 32 digits"))
    }

    /// An automatic alarm (a fall detector's, `stc` 0009, priority 1) with
    /// this reference.
    pub fn alarm(&self, reference: Ref) -> Result<trygg_scaip::Request, SimError> {
        let mut mrq =
            trygg_scaip::Request::new(reference, self.controller_id()?, DeviceType::FALL_DETECTOR);
        mrq.status_code = Some(StatusCode::AUTOMATIC_ALARM);
        mrq.priority = Priority::new(1).ok();
        Ok(mrq)
    }

    /// A heartbeat (`mty` PI) with this reference: answered, not stored.
    pub fn heartbeat(&self, reference: Ref) -> Result<trygg_scaip::Request, SimError> {
        let mut mrq =
            trygg_scaip::Request::new(reference, self.controller_id()?, DeviceType::FALL_DETECTOR);
        mrq.message_type = Some(MessageType::Heartbeat);
        Ok(mrq)
    }
}

/// How the simulator waits.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// How long a request waits for its final response, retransmitted on
    /// RFC 3261's schedule meanwhile. At most Timer F (32 s), the default.
    pub response_timeout: Duration,
    /// How long a MESSAGE answered 200 waits for its `<mrs>`. The receiver
    /// sends it as soon as the alarm is committed; an `<mrs>` that does not
    /// come means the receiver died or is stuck, and the device repeats.
    pub answer_timeout: Duration,
    /// The registration asked for, in seconds.
    pub register_expires: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            response_timeout: TIMER_F,
            answer_timeout: Duration::from_secs(10),
            register_expires: 3600,
        }
    }
}

/// How [`Simulator::send_until_acknowledged`] repeats a request.
#[derive(Debug, Clone)]
pub struct Persistence {
    /// The wait before the first repeat; it doubles after each.
    pub first_backoff: Duration,
    /// The longest wait between repeats.
    pub max_backoff: Duration,
    /// Sends at most, the first included (at least 1).
    pub max_attempts: u32,
}

impl Default for Persistence {
    fn default() -> Self {
        Self {
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_attempts: 10,
        }
    }
}

/// Why a simulated device's request failed. Codes `SM…`.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The socket could not be bound.
    #[error("SM001 cannot bind the simulator's socket on {addr}: {source}")]
    Bind {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Sending a datagram failed.
    #[error("SM002 cannot send to the receiver: {0}")]
    Send(std::io::Error),
    /// No final response within [`SimConfig::response_timeout`].
    #[error("SM003 no final response within {0:?}")]
    NoResponse(Duration),
    /// A 200 OK but no `<mrs>` within [`SimConfig::answer_timeout`].
    #[error("SM004 no <mrs> for ref {reference} within {waited:?}")]
    NoAnswer {
        /// The request's `ref`.
        reference: String,
        /// How long it waited.
        waited: Duration,
    },
    /// 403: wrong password, unknown or disabled device, or a From naming
    /// another user.
    #[error("SM005 the receiver refused the device's credentials (403)")]
    Forbidden,
    /// Still challenged after answering [`MAX_CHALLENGES`] challenges.
    #[error("SM006 still challenged after answering {0} challenges")]
    Unauthorized(u32),
    /// A challenge for another realm than the device's: not answered, since
    /// the answer would be computed from the device's password.
    #[error("SM007 challenged for realm {offered:?}, the device is in {expected:?}")]
    WrongRealm {
        /// The realm in the challenge.
        offered: String,
        /// The device's.
        expected: String,
    },
    /// A 401 without a challenge the simulator can answer.
    #[error("SM008 a 401 without a usable Digest challenge")]
    BadChallenge,
    /// Refused with a final response other than 2xx, 401 and 403.
    #[error("SM009 the receiver answered {status} {reason}")]
    Rejected {
        /// The status code.
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// 408 or 5xx: the receiver is overloaded or its storage is down.
    #[error("SM010 the receiver is unavailable ({status})")]
    Unavailable {
        /// The status code.
        status: u16,
    },
    /// The SCAIP answer was not `snu=0` (from
    /// [`Simulator::send_until_acknowledged`]).
    #[error("SM011 the receiver answered snu={}", snu.code())]
    Answered {
        /// The answer.
        snu: StatusNumber,
    },
    /// [`Persistence::max_attempts`] sends, none acknowledged.
    #[error("SM012 not acknowledged after {attempts} attempts; last: {last}")]
    GaveUp {
        /// How many sends.
        attempts: u32,
        /// What the last one gave.
        last: Box<SimError>,
    },
    /// The device's settings cannot make a valid message.
    #[error("SM013 the device is misconfigured: {0}")]
    Device(&'static str),
    /// A request could not be written (a user name or realm SIP cannot carry).
    #[error("SM014 cannot write the SIP request: {0}")]
    Build(String),
    /// No random source.
    #[error("SM015 no random source: {0}")]
    Random(#[from] trygg_crypto::CryptoError),
}

impl SimError {
    /// Whether repeating the same request may succeed: a timeout, a missing
    /// answer, a busy or restarting receiver. Wrong credentials, a refused
    /// request and a misconfigured device stay so.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Send(_)
            | Self::NoResponse(_)
            | Self::NoAnswer { .. }
            | Self::Unauthorized(_)
            | Self::Unavailable { .. } => true,
            Self::Answered { snu } => matches!(snu, StatusNumber::Busy | StatusNumber::Hold),
            Self::Bind { .. }
            | Self::Forbidden
            | Self::WrongRealm { .. }
            | Self::BadChallenge
            | Self::Rejected { .. }
            | Self::GaveUp { .. }
            | Self::Device(_)
            | Self::Build(_)
            | Self::Random(_) => false,
        }
    }
}

fn build_error(e: impl std::fmt::Display) -> SimError {
    SimError::Build(e.to_string())
}

/// What one send gave: the receiver's SCAIP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The answer's `snu` (0: accepted).
    pub snu: StatusNumber,
    /// The whole `<mrs>`.
    pub response: trygg_scaip::Response,
    /// From the first datagram sent to the `<mrs>` received.
    pub latency: Duration,
}

/// What [`Simulator::send_until_acknowledged`] went through to get `snu=0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    /// The send that was answered `snu=0`.
    pub outcome: Outcome,
    /// Sends, the acknowledged one included.
    pub attempts: u32,
    /// Answers `snu=6` (busy) before it.
    pub busy: u32,
    /// Answers `snu=4` (hold) before it.
    pub holds: u32,
    /// Sends that failed without an answer (timeouts, 5xx, challenges).
    pub failures: u32,
    /// From the first send to `snu=0`.
    pub latency: Duration,
}

/// A registration the receiver granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    /// For how long, in seconds.
    pub expires: u32,
}

/// Counts over the simulator's life, for a load run's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Requests sent (each once, retransmissions not counted).
    pub requests: u64,
    /// Retransmissions of them.
    pub retransmissions: u64,
    /// 401 challenges received.
    pub challenges: u64,
    /// `<mrs>` MESSAGEs received (retransmissions included).
    pub answers: u64,
    /// `<mrs>` MESSAGEs no request was waiting for: a repeat's second
    /// answer, an answer that came after its request gave up, or a
    /// retransmission.
    pub unmatched_answers: u64,
    /// Datagrams that were not SIP, or MESSAGEs that were not an `<mrs>`.
    pub unreadable: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retransmissions: AtomicU64,
    challenges: AtomicU64,
    answers: AtomicU64,
    unmatched_answers: AtomicU64,
    unreadable: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The `<mrs>` a waiting send receives, and when.
#[derive(Debug)]
struct Arrival {
    response: trygg_scaip::Response,
    at: Instant,
}

/// A device's Digest state: the challenge it answers and the last count.
#[derive(Debug)]
struct DigestState {
    challenge: Challenge,
    nc: u32,
}

/// A device's user name and a request's `ref`.
type AnswerKey = (String, String);

/// The sends waiting for one `<mrs>`, each with an id.
type Waiters = Vec<(u64, oneshot::Sender<Arrival>)>;

#[derive(Debug)]
struct Shared {
    socket: UdpSocket,
    target: SocketAddr,
    /// The address written in Via and Contact.
    local: SocketAddr,
    config: SimConfig,
    /// Client transactions waiting for their final response, by branch.
    pending: Mutex<HashMap<String, oneshot::Sender<Response>>>,
    /// Sends waiting for their `<mrs>`, by (user, ref); each with an id so
    /// it can leave without disturbing another waiter of the same key.
    answers: Mutex<HashMap<AnswerKey, Waiters>>,
    digest: Mutex<HashMap<String, DigestState>>,
    /// One request at a time per device, by user name.
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    next_id: AtomicU64,
    ref_prefix: String,
    next_ref: AtomicU64,
    counters: Counters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A random token for tags, branches, Call-IDs and client nonces: 128 bits
/// in hex.
fn token() -> Result<String, SimError> {
    let raw = trygg_crypto::random_bytes::<16>()?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// Many simulated devices behind one UDP socket, talking to one receiver.
/// Share it between tasks in an `Arc`; dropping it stops its receive task.
#[derive(Debug)]
pub struct Simulator {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Removes a waiter when the send that made it ends, however it ends
/// (answered, timed out, or its future dropped).
struct PendingGuard<'a> {
    shared: &'a Shared,
    branch: String,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        lock(&self.shared.pending).remove(&self.branch);
    }
}

struct AnswerGuard<'a> {
    shared: &'a Shared,
    key: AnswerKey,
    id: u64,
}

impl Drop for AnswerGuard<'_> {
    fn drop(&mut self) {
        let mut answers = lock(&self.shared.answers);
        if let Some(waiters) = answers.get_mut(&self.key) {
            waiters.retain(|(id, _)| *id != self.id);
            if waiters.is_empty() {
                answers.remove(&self.key);
            }
        }
    }
}

/// What a request is made of, before its branch, CSeq and credentials.
struct Draft {
    method: Method,
    uri: SipUri,
    from: NameAddr,
    to: NameAddr,
    call_id: String,
    contact: Option<String>,
    expires: Option<u32>,
    body: Option<Vec<u8>>,
}

impl Simulator {
    /// Binds the simulator's socket and starts receiving. The socket is on
    /// the loopback address when the receiver is, otherwise on every
    /// address, with the address the route to `target` leaves from written
    /// in Via and Contact.
    pub async fn bind(target: SocketAddr, config: SimConfig) -> Result<Self, SimError> {
        let any: SocketAddr = match target.ip() {
            IpAddr::V4(ip) if ip.is_loopback() => (Ipv4Addr::LOCALHOST, 0).into(),
            IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            IpAddr::V6(ip) if ip.is_loopback() => (Ipv6Addr::LOCALHOST, 0).into(),
            IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let bind_error = |source| SimError::Bind { addr: any, source };
        let socket = UdpSocket::bind(any).await.map_err(bind_error)?;
        let mut local = socket.local_addr().map_err(bind_error)?;
        if local.ip().is_unspecified() {
            // The address the kernel would send from to reach the target.
            let probe = UdpSocket::bind(any).await.map_err(bind_error)?;
            probe.connect(target).await.map_err(bind_error)?;
            local.set_ip(probe.local_addr().map_err(bind_error)?.ip());
        }
        // Refs are unique per simulator: a random prefix (so a second run
        // against the same database does not repeat the first run's refs)
        // and a counter, 16 characters at most.
        let prefix: String = trygg_crypto::random_bytes::<3>()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let shared = Arc::new(Shared {
            socket,
            target,
            local,
            config,
            pending: Mutex::new(HashMap::new()),
            answers: Mutex::new(HashMap::new()),
            digest: Mutex::new(HashMap::new()),
            turns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            ref_prefix: prefix,
            next_ref: AtomicU64::new(0),
            counters: Counters::default(),
        });
        let task = tokio::spawn(receive(shared.clone()));
        Ok(Self { shared, task })
    }

    /// The address written in Via and Contact (the socket's).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    /// The receiver it talks to.
    pub fn target(&self) -> SocketAddr {
        self.shared.target
    }

    /// A `ref` no other request of this simulator has: a random prefix of
    /// six hex digits and a counter.
    pub fn fresh_ref(&self) -> Result<Ref, SimError> {
        let n = self.shared.next_ref.fetch_add(1, Ordering::Relaxed);
        // Six hex digits and at most ten decimal ones: always a valid ref.
        format!("{}{}", self.shared.ref_prefix, n % 10_000_000_000)
            .parse()
            .map_err(|_| SimError::Device("a ref must be 1 to 16 letters or digits"))
    }

    /// The counts so far.
    pub fn stats(&self) -> SimStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SimStats {
            requests: get(&c.requests),
            retransmissions: get(&c.retransmissions),
            challenges: get(&c.challenges),
            answers: get(&c.answers),
            unmatched_answers: get(&c.unmatched_answers),
            unreadable: get(&c.unreadable),
        }
    }

    /// Forgets a device's nonce, as a device does when it reboots: its next
    /// request is challenged.
    pub fn forget_nonce(&self, device: &SimDevice) {
        lock(&self.shared.digest).remove(&device.user);
    }

    /// Registers the device's contact (this socket) with the receiver.
    pub async fn register(&self, device: &SimDevice) -> Result<Registration, SimError> {
        let shared = &*self.shared;
        let turn = shared.turn(&device.user);
        let _turn = turn.lock().await;
        let aor = device_uri(device)?;
        let contact = format!("<sip:{}@{}>", device.user, shared.local);
        let draft = Draft {
            method: Method::Register,
            uri: shared.request_uri()?,
            from: NameAddr::new(aor.clone())
                .with_param("tag", Some(&token()?))
                .map_err(build_error)?,
            to: NameAddr::new(aor),
            call_id: token()?,
            contact: Some(contact),
            expires: Some(shared.config.register_expires),
            body: None,
        };
        let response = shared.authenticated(device, &draft).await?;
        final_ok(&response)?;
        // The granted time is on the Contact (RFC 3261 §10.3 step 8), else
        // in Expires, else what was asked.
        let granted = match response.headers().contact() {
            Ok(Some(trygg_sip::Contact::Address(a))) => a.expires().ok().flatten(),
            _ => None,
        };
        let expires = granted
            .or_else(|| response.headers().expires().ok().flatten())
            .unwrap_or(shared.config.register_expires);
        Ok(Registration { expires })
    }

    /// Sends one SCAIP request and returns the receiver's answer, whatever
    /// its `snu`. Retransmits the MESSAGE until it is answered, answers
    /// challenges, then waits for the `<mrs>` with the request's `ref` and
    /// confirms it with 200 OK (every `<mrs>` is confirmed, awaited or not).
    /// A device sends one request at a time: a second send of the same
    /// device waits for the first to end; the latency is counted from when
    /// it is sent.
    pub async fn send(
        &self,
        device: &SimDevice,
        mrq: &trygg_scaip::Request,
    ) -> Result<Outcome, SimError> {
        let turn = self.shared.turn(&device.user);
        let _turn = turn.lock().await;
        self.send_in_turn(device, mrq).await
    }

    /// [`Simulator::send`] for a device whose turn it is.
    async fn send_in_turn(
        &self,
        device: &SimDevice,
        mrq: &trygg_scaip::Request,
    ) -> Result<Outcome, SimError> {
        let shared = &*self.shared;
        let started = Instant::now();
        let reference = mrq.reference.as_str().to_owned();
        // Waiting for the answer before anything is sent: the `<mrs>` can
        // overtake the 200 OK.
        let (guard, mut answer) = shared.expect_answer(&device.user, &reference);
        let aor = device_uri(device)?;
        let to = SipUri::parse(&format!("sip:alarm@{}", device.realm)).map_err(build_error)?;
        let draft = Draft {
            method: Method::Message,
            uri: shared.request_uri()?,
            from: NameAddr::new(aor)
                .with_param("tag", Some(&token()?))
                .map_err(build_error)?,
            to: NameAddr::new(to),
            call_id: token()?,
            contact: None,
            expires: None,
            body: Some(trygg_scaip::encode_request(mrq).into_bytes()),
        };
        let outcome = |arrival: Arrival| Outcome {
            snu: arrival.response.status,
            latency: arrival.at.saturating_duration_since(started),
            response: arrival.response,
        };
        let sent = shared
            .authenticated(device, &draft)
            .await
            .and_then(|r| final_ok(&r));
        if let Err(e) = sent {
            // An `<mrs>` for this ref is its answer, even if the SIP
            // transaction went wrong (the 200 OK lost, or the receiver
            // restarted between answering and our retransmission).
            return match answer.try_recv() {
                Ok(arrival) => Ok(outcome(arrival)),
                Err(_) => Err(e),
            };
        }
        let waited = shared.config.answer_timeout;
        let result = match tokio::time::timeout(waited, &mut answer).await {
            Ok(Ok(arrival)) => Ok(outcome(arrival)),
            _ => Err(SimError::NoAnswer { reference, waited }),
        };
        drop(guard);
        result
    }

    /// Sends the request, and repeats it with the same `ref` until it is
    /// answered `snu=0`, as a device does (the device sends nothing else
    /// meanwhile; the latency is counted from its first send): after `snu=6` (busy), a timeout,
    /// no `<mrs>`, or a receiver that is down or restarting, with a backoff
    /// that doubles from [`Persistence::first_backoff`] to
    /// [`Persistence::max_backoff`] (each wait jittered down by up to half,
    /// so a fleet does not come back in step); after `snu=4` (hold) 5–20 s
    /// as the standard says. Any other `snu`, wrong credentials or a refused
    /// request end it at once.
    pub async fn send_until_acknowledged(
        &self,
        device: &SimDevice,
        mrq: &trygg_scaip::Request,
        persistence: &Persistence,
    ) -> Result<Acknowledged, SimError> {
        // The device is taken up with this request until it is answered,
        // backoffs included, as a real one is.
        let turn = self.shared.turn(&device.user);
        let _turn = turn.lock().await;
        let started = Instant::now();
        let (mut busy, mut holds, mut failures) = (0u32, 0u32, 0u32);
        let mut backoff = Backoff::new(persistence);
        loop {
            let attempts = backoff.attempt();
            let (last, wait) = match self.send_in_turn(device, mrq).await {
                Ok(outcome) if outcome.snu == StatusNumber::Ok => {
                    return Ok(Acknowledged {
                        outcome,
                        attempts,
                        busy,
                        holds,
                        failures,
                        latency: started.elapsed(),
                    });
                }
                Ok(outcome) if outcome.snu == StatusNumber::Busy => {
                    busy = busy.saturating_add(1);
                    (SimError::Answered { snu: outcome.snu }, backoff.wait())
                }
                Ok(outcome) if outcome.snu == StatusNumber::Hold => {
                    holds = holds.saturating_add(1);
                    backoff.wait();
                    let extra = trygg_crypto::random_below(15_001).unwrap_or(0);
                    (
                        SimError::Answered { snu: outcome.snu },
                        Duration::from_millis(5_000 + extra),
                    )
                }
                Ok(outcome) => return Err(SimError::Answered { snu: outcome.snu }),
                Err(e) if e.is_transient() => {
                    failures = failures.saturating_add(1);
                    (e, backoff.wait())
                }
                Err(e) => return Err(e),
            };
            if backoff.exhausted() {
                return Err(SimError::GaveUp {
                    attempts,
                    last: Box::new(last),
                });
            }
            tokio::time::sleep(wait).await;
        }
    }
}

impl Simulator {
    /// Registers like a device after an outage: a busy or silent receiver
    /// (503, a timeout) is asked again after a jittered, doubling wait, as
    /// often as `persistence` allows; wrong credentials end it at once.
    pub async fn register_until_accepted(
        &self,
        device: &SimDevice,
        persistence: &Persistence,
    ) -> Result<Registration, SimError> {
        let mut backoff = Backoff::new(persistence);
        loop {
            let attempts = backoff.attempt();
            match self.register(device).await {
                Err(e) if e.is_transient() => {
                    if backoff.exhausted() {
                        return Err(SimError::GaveUp {
                            attempts,
                            last: Box::new(e),
                        });
                    }
                }
                done => return done,
            }
            tokio::time::sleep(backoff.wait()).await;
        }
    }
}

/// A device's attempts and the waits between them, as [`Persistence`]
/// says: each wait doubles from the first to the most, jittered down by up
/// to half, so that a fleet does not come back in step.
struct Backoff {
    next: Duration,
    max: Duration,
    attempts: u32,
    max_attempts: u32,
}

impl Backoff {
    fn new(persistence: &Persistence) -> Self {
        Self {
            next: persistence.first_backoff,
            max: persistence.max_backoff,
            attempts: 0,
            max_attempts: persistence.max_attempts.max(1),
        }
    }

    /// Counts an attempt; returns how many there have been.
    fn attempt(&mut self) -> u32 {
        self.attempts = self.attempts.saturating_add(1);
        self.attempts
    }

    /// Whether no attempt is left.
    fn exhausted(&self) -> bool {
        self.attempts >= self.max_attempts
    }

    /// The wait before the next attempt (the one after it doubles).
    fn wait(&mut self) -> Duration {
        let permille = 500 + trygg_crypto::random_below(501).unwrap_or(500);
        let wait = self
            .next
            .saturating_mul(u32::try_from(permille).unwrap_or(1000))
            / 1000;
        self.next = self.next.saturating_mul(2).min(self.max);
        wait
    }
}

/// The device's address of record, `sip:user@realm`.
fn device_uri(device: &SimDevice) -> Result<SipUri, SimError> {
    SipUri::parse(&format!("sip:{}@{}", device.user, device.realm)).map_err(build_error)
}

/// A 2xx, or the error the final response stands for.
fn final_ok(response: &Response) -> Result<(), SimError> {
    match response.status() {
        200..=299 => Ok(()),
        403 => Err(SimError::Forbidden),
        408 | 500..=599 => Err(SimError::Unavailable {
            status: response.status(),
        }),
        status => Err(SimError::Rejected {
            status,
            reason: response.reason().to_owned(),
        }),
    }
}

impl Shared {
    /// The device's turn to send. A device has one request out at a time:
    /// it waits for the answer before the next (SCAIP is request and
    /// answer), and its Digest nonce counts must reach the receiver in
    /// order, which requests sent at once do not (the receiver refuses a
    /// count not above the highest it has seen, and challenges again).
    fn turn(&self, user: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.turns)
            .entry(user.to_owned())
            .or_default()
            .clone()
    }

    /// The Request-URI of every request: the receiver's address, as sipp
    /// writes it (Digest's `uri` is this text).
    fn request_uri(&self) -> Result<SipUri, SimError> {
        SipUri::parse(&format!("sip:{}", self.target)).map_err(build_error)
    }

    /// Starts waiting for the `<mrs>` answering `reference` of `user`.
    fn expect_answer(
        &self,
        user: &str,
        reference: &str,
    ) -> (AnswerGuard<'_>, oneshot::Receiver<Arrival>) {
        let (tx, rx) = oneshot::channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let key = (user.to_owned(), reference.to_owned());
        lock(&self.answers)
            .entry(key.clone())
            .or_default()
            .push((id, tx));
        (
            AnswerGuard {
                shared: self,
                key,
                id,
            },
            rx,
        )
    }

    /// The `Authorization` for the device's next request: its cached
    /// challenge answered with the next nonce count, or none before the
    /// first challenge.
    fn authorization(
        &self,
        device: &SimDevice,
        method: &Method,
        uri: &str,
    ) -> Result<Option<Authorization>, SimError> {
        let cnonce = token()?;
        let mut digest = lock(&self.digest);
        let Some(state) = digest.get_mut(&device.user) else {
            return Ok(None);
        };
        if state.challenge.realm != device.realm {
            // Taken for a device of the same name in another realm: this
            // one asks for a challenge of its own.
            digest.remove(&device.user);
            return Ok(None);
        }
        let Some(nc) = state.nc.checked_add(1) else {
            // Counted out: the nonce cannot be used again. Ask for another.
            digest.remove(&device.user);
            return Ok(None);
        };
        state.nc = nc;
        Ok(Some(state.challenge.answer(
            &device.user,
            &device.password,
            method,
            uri,
            &cnonce,
            nc,
        )))
    }

    /// Takes the challenge of a 401 as the device's new nonce: MD5 when
    /// offered (what devices use), otherwise the first one that reads.
    fn take_challenge(&self, device: &SimDevice, response: &Response) -> Result<(), SimError> {
        let challenges: Vec<Challenge> = response
            .headers()
            .get_all("WWW-Authenticate")
            .filter_map(|value| Challenge::parse(value).ok())
            .collect();
        let chosen = challenges
            .iter()
            .find(|c| c.algorithm == Algorithm::Md5)
            .or_else(|| challenges.first())
            .ok_or(SimError::BadChallenge)?;
        if chosen.realm != device.realm {
            return Err(SimError::WrongRealm {
                offered: chosen.realm.clone(),
                expected: device.realm.clone(),
            });
        }
        lock(&self.digest).insert(
            device.user.clone(),
            DigestState {
                challenge: chosen.clone(),
                nc: 0,
            },
        );
        Ok(())
    }

    /// Sends a request and returns its final response other than 401:
    /// with the device's cached nonce if it has one, and answering each
    /// challenge (a new transaction, the same Call-ID, the next CSeq).
    async fn authenticated(&self, device: &SimDevice, draft: &Draft) -> Result<Response, SimError> {
        let mut answered = 0u32;
        let mut cseq = 1u32;
        loop {
            let auth = self.authorization(device, &draft.method, draft.uri.as_str())?;
            let response = self.exchange(draft, cseq, auth.as_ref()).await?;
            if response.status() != 401 {
                return Ok(response);
            }
            bump(&self.counters.challenges);
            if answered >= MAX_CHALLENGES {
                return Err(SimError::Unauthorized(answered));
            }
            answered += 1;
            self.take_challenge(device, &response)?;
            cseq = cseq.saturating_add(1);
        }
    }

    /// One client transaction: sends the request, retransmits it on RFC
    /// 3261's schedule, and returns its final response.
    async fn exchange(
        &self,
        draft: &Draft,
        cseq: u32,
        auth: Option<&Authorization>,
    ) -> Result<Response, SimError> {
        let branch = format!("{MAGIC_COOKIE}{}", token()?);
        let bytes = self.build(draft, cseq, &branch, auth)?.to_bytes();
        let (tx, mut rx) = oneshot::channel();
        lock(&self.pending).insert(branch.clone(), tx);
        let _guard = PendingGuard {
            shared: self,
            branch,
        };
        let limit = self.config.response_timeout.min(TIMER_F);
        let start = Instant::now();
        let mut transaction = ClientTransaction::new(Duration::ZERO, false);
        bump(&self.counters.requests);
        self.socket
            .send_to(&bytes, self.target)
            .await
            .map_err(SimError::Send)?;
        loop {
            match transaction.poll(start.elapsed()) {
                ClientAction::Retransmit => {
                    bump(&self.counters.retransmissions);
                    // A lost retransmission is what UDP allows; the next
                    // one, or the timeout, follows.
                    let _ = self.socket.send_to(&bytes, self.target).await;
                }
                ClientAction::TimedOut => return Err(SimError::NoResponse(limit)),
                ClientAction::Wait(until) => {
                    tokio::select! {
                        response = &mut rx => {
                            // A closed channel: the receive task is gone.
                            return response.map_err(|_| SimError::NoResponse(limit));
                        }
                        () = tokio::time::sleep_until(start + until.min(limit)) => {
                            if start.elapsed() >= limit {
                                return Err(SimError::NoResponse(limit));
                            }
                        }
                    }
                }
            }
        }
    }

    fn build(
        &self,
        draft: &Draft,
        cseq: u32,
        branch: &str,
        auth: Option<&Authorization>,
    ) -> Result<Request, SimError> {
        let via = Via::new(
            Transport::Udp,
            Host::from(self.local.ip()),
            Some(self.local.port()),
            branch,
        )
        .map_err(build_error)?;
        let mut request = Request::new(NewRequest {
            method: draft.method.clone(),
            uri: draft.uri.clone(),
            via,
            from: draft.from.clone(),
            to: draft.to.clone(),
            call_id: &draft.call_id,
            cseq,
        })
        .map_err(build_error)?;
        if let Some(contact) = &draft.contact {
            request
                .push_header("Contact", contact)
                .map_err(build_error)?;
        }
        if let Some(expires) = draft.expires {
            request
                .push_header("Expires", &expires.to_string())
                .map_err(build_error)?;
        }
        if let Some(auth) = auth {
            request
                .push_header("Authorization", &auth.to_string())
                .map_err(build_error)?;
        }
        request
            .push_header("User-Agent", USER_AGENT)
            .map_err(build_error)?;
        if let Some(body) = &draft.body {
            request
                .set_body("application/scaip+xml", body.clone())
                .map_err(build_error)?;
        }
        Ok(request)
    }

    /// A final response ends the transaction with its branch.
    fn on_response(&self, response: Response) {
        if response.status() < 200 {
            return;
        }
        let Ok(via) = response.headers().via() else {
            bump(&self.counters.unreadable);
            return;
        };
        if let Some(tx) = lock(&self.pending).remove(via.branch()) {
            let _ = tx.send(response);
        }
    }

    /// A request from the receiver: an `<mrs>` MESSAGE is handed to the
    /// sends waiting for it and confirmed 200 OK (always, so the receiver
    /// stops retransmitting); OPTIONS is answered 200; anything else 405.
    async fn on_request(&self, request: &Request, source: SocketAddr) {
        let (status, reason) = match request.method() {
            Method::Message => self.on_message(request),
            Method::Options => (200, "OK"),
            Method::Ack => return,
            _ => (405, "Method Not Allowed"),
        };
        let Ok(tag) = token() else { return };
        match Response::for_request(request, status, reason, Some(source), &tag) {
            Ok(response) => {
                let _ = self.socket.send_to(&response.to_bytes(), source).await;
            }
            Err(_) => bump(&self.counters.unreadable),
        }
    }

    fn on_message(&self, request: &Request) -> (u16, &'static str) {
        let scaip = matches!(
            request.headers().content_type(),
            Ok(Some(t)) if t.is("application/scaip+xml")
        );
        if !scaip {
            bump(&self.counters.unreadable);
            return (415, "Unsupported Media Type");
        }
        // The device is the user in To (the receiver writes
        // sip:user@realm there); the Request-URI's user is the fallback.
        let user = request
            .headers()
            .to()
            .ok()
            .and_then(|to| to.uri().user().map(str::to_owned))
            .or_else(|| request.uri().user().map(str::to_owned));
        let (Some(user), Ok(mrs)) = (user, trygg_scaip::parse_response(request.body())) else {
            bump(&self.counters.unreadable);
            return (400, "Bad Request");
        };
        bump(&self.counters.answers);
        let at = Instant::now();
        let waiters = mrs
            .reference
            .as_ref()
            .and_then(|r| lock(&self.answers).remove(&(user, r.as_str().to_owned())));
        match waiters {
            Some(waiters) => {
                for (_, tx) in waiters {
                    let _ = tx.send(Arrival {
                        response: mrs.clone(),
                        at,
                    });
                }
            }
            None => bump(&self.counters.unmatched_answers),
        }
        (200, "OK")
    }
}

/// The receive task: every datagram to the simulator's socket.
async fn receive(shared: Arc<Shared>) {
    // One byte more than the largest message, to tell "too long" from "fits".
    let mut buf = vec![0u8; MAX_MESSAGE + 1];
    loop {
        let (n, source) = match shared.socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(_) => {
                // ICMP errors from earlier sends surface here on some
                // systems; the socket itself is fine.
                tokio::task::yield_now().await;
                continue;
            }
        };
        let datagram = match buf.get(..n) {
            Some(d) if n <= MAX_MESSAGE => d,
            _ => {
                bump(&shared.counters.unreadable);
                continue;
            }
        };
        match trygg_sip::parse(datagram) {
            Ok(Message::Response(response)) => shared.on_response(response),
            Ok(Message::Request(request)) => shared.on_request(&request, source).await,
            Err(_) => bump(&shared.counters.unreadable),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The simulator against scripted peers: a socket that never answers,
    //! and a minimal receiver that answers each MESSAGE 200 OK and then an
    //! `<mrs>` with the `snu` its script gives. The real receiver is in
    //! `crates/trygg/tests/it/killloop.rs`.

    use super::*;
    use std::collections::VecDeque;

    fn device() -> SimDevice {
        SimDevice::new("larm-0001", "hemligt", "4600001", "trygg")
    }

    fn fast() -> SimConfig {
        SimConfig {
            response_timeout: Duration::from_millis(1200),
            answer_timeout: Duration::from_millis(800),
            register_expires: 600,
        }
    }

    /// A receiver that answers every MESSAGE 200 OK without a challenge,
    /// then sends, for each, first an `<mrs>` for a ref nobody asked about
    /// and then one for the request's ref with the next `snu` of `script`
    /// (`then` once the script runs out). Returns its address and how many
    /// MESSAGEs it received.
    async fn scripted(
        script: Vec<StatusNumber>,
        then: StatusNumber,
    ) -> (SocketAddr, Arc<AtomicU64>) {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let seen = Arc::new(AtomicU64::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            let mut script: VecDeque<_> = script.into();
            let mut buf = vec![0u8; MAX_MESSAGE];
            loop {
                let (n, source) = socket.recv_from(&mut buf).await.unwrap();
                let Ok(Message::Request(request)) = trygg_sip::parse(&buf[..n]) else {
                    continue;
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let ok = Response::for_request(&request, 200, "OK", Some(source), "t1").unwrap();
                socket.send_to(&ok.to_bytes(), source).await.unwrap();
                let mrq = trygg_scaip::parse_request(request.body()).unwrap();
                let snu = script.pop_front().unwrap_or(then);
                let user = request
                    .headers()
                    .from()
                    .unwrap()
                    .uri()
                    .user()
                    .unwrap()
                    .to_owned();
                for reference in ["zz1".parse().unwrap(), mrq.reference.clone()] {
                    let mrs = trygg_scaip::Response::new(Some(reference), snu);
                    let message = mrs_message(addr, &user, source, &mrs);
                    socket.send_to(&message, source).await.unwrap();
                }
            }
        });
        (addr, seen)
    }

    fn mrs_message(
        from: SocketAddr,
        user: &str,
        to: SocketAddr,
        mrs: &trygg_scaip::Response,
    ) -> Vec<u8> {
        let branch = format!("{MAGIC_COOKIE}{}", token().unwrap());
        let mut request = Request::new(NewRequest {
            method: Method::Message,
            uri: SipUri::parse(&format!("sip:{user}@{to}")).unwrap(),
            via: Via::new(
                Transport::Udp,
                Host::from(from.ip()),
                Some(from.port()),
                &branch,
            )
            .unwrap(),
            from: NameAddr::new(SipUri::parse("sip:alarm@trygg").unwrap())
                .with_param("tag", Some("r1"))
                .unwrap(),
            to: NameAddr::new(SipUri::parse(&format!("sip:{user}@trygg")).unwrap()),
            call_id: &token().unwrap(),
            cseq: 1,
        })
        .unwrap();
        request
            .set_body(
                "application/scaip+xml",
                trygg_scaip::encode_response(mrs).into_bytes(),
            )
            .unwrap();
        request.to_bytes()
    }

    #[tokio::test]
    async fn a_silent_receiver_is_retransmitted_to_and_times_out() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sim = Simulator::bind(silent.local_addr().unwrap(), fast())
            .await
            .unwrap();
        let d = device();
        let mrq = d.alarm(sim.fresh_ref().unwrap()).unwrap();
        let err = sim.send(&d, &mrq).await.unwrap_err();
        assert!(matches!(err, SimError::NoResponse(_)), "{err}");
        assert!(err.is_transient());
        // Sent at 0 and again at T1 (0.5 s); the timeout came at 1.2 s.
        let mut buf = vec![0u8; MAX_MESSAGE];
        for _ in 0..2 {
            let (n, _) = silent.recv_from(&mut buf).await.unwrap();
            let Ok(Message::Request(r)) = trygg_sip::parse(&buf[..n]) else {
                panic!("not a request");
            };
            assert_eq!(r.method(), &Method::Message);
            assert!(r.headers().authorization().unwrap().is_none());
        }
        let stats = sim.stats();
        assert_eq!((stats.requests, stats.retransmissions), (1, 1));
        // Nothing is left waiting.
        assert!(lock(&sim.shared.pending).is_empty());
        assert!(lock(&sim.shared.answers).is_empty());
    }

    #[tokio::test]
    async fn busy_is_repeated_with_the_same_ref_until_accepted() {
        let (addr, seen) = scripted(
            vec![StatusNumber::Busy, StatusNumber::Busy],
            StatusNumber::Ok,
        )
        .await;
        let sim = Simulator::bind(addr, fast()).await.unwrap();
        let d = device();
        let mrq = d.alarm(sim.fresh_ref().unwrap()).unwrap();
        // One send gives the answer as it is.
        let once = sim.send(&d, &mrq).await.unwrap();
        assert_eq!(once.snu, StatusNumber::Busy);
        assert_eq!(once.response.reference.as_ref(), Some(&mrq.reference));
        // Repeating: busy once more, then accepted.
        let persistence = Persistence {
            first_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(50),
            max_attempts: 5,
        };
        let acked = sim
            .send_until_acknowledged(&d, &mrq, &persistence)
            .await
            .unwrap();
        assert_eq!((acked.attempts, acked.busy, acked.failures), (2, 1, 0));
        assert_eq!(acked.outcome.snu, StatusNumber::Ok);
        assert!(acked.latency >= acked.outcome.latency);
        assert_eq!(seen.load(Ordering::Relaxed), 3);
        // Every <mrs> was confirmed; the ones for `zz1` matched no request.
        let stats = sim.stats();
        assert_eq!((stats.answers, stats.unmatched_answers), (6, 3));
    }

    #[tokio::test]
    async fn a_refusal_ends_at_once_and_busy_gives_up_when_told() {
        let (addr, seen) = scripted(vec![], StatusNumber::WrongContent).await;
        let sim = Simulator::bind(addr, fast()).await.unwrap();
        let d = device();
        let mrq = d.alarm(sim.fresh_ref().unwrap()).unwrap();
        let err = sim
            .send_until_acknowledged(&d, &mrq, &Persistence::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                SimError::Answered {
                    snu: StatusNumber::WrongContent
                }
            ),
            "{err}"
        );
        assert!(!err.is_transient());
        assert_eq!(seen.load(Ordering::Relaxed), 1);

        let (addr, _) = scripted(vec![], StatusNumber::Busy).await;
        let sim = Simulator::bind(addr, fast()).await.unwrap();
        let persistence = Persistence {
            first_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
            max_attempts: 3,
        };
        let err = sim
            .send_until_acknowledged(&d, &mrq, &persistence)
            .await
            .unwrap_err();
        let SimError::GaveUp { attempts, last } = err else {
            panic!("{err}");
        };
        assert_eq!(attempts, 3);
        assert!(matches!(
            *last,
            SimError::Answered {
                snu: StatusNumber::Busy
            }
        ));
    }

    #[tokio::test]
    async fn refs_are_fresh_and_the_password_stays_out_of_debug() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sim = Simulator::bind(silent.local_addr().unwrap(), fast())
            .await
            .unwrap();
        let a = sim.fresh_ref().unwrap();
        let b = sim.fresh_ref().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 7);
        assert!(!format!("{:?}", device()).contains("hemligt"));
        assert!(matches!(
            SimDevice::new("x", "y", "12a", "trygg").alarm(a),
            Err(SimError::Device(_))
        ));
        // Waits are jittered down by up to half and double up to the most;
        // the attempts end when Persistence says.
        for _ in 0..100 {
            let mut backoff = Backoff::new(&Persistence {
                first_backoff: Duration::from_millis(1000),
                max_backoff: Duration::from_millis(3000),
                max_attempts: 3,
            });
            for (attempt, most) in [(1, 1000), (2, 2000), (3, 3000)] {
                assert_eq!(backoff.attempt(), attempt);
                let d = backoff.wait();
                assert!(
                    d >= Duration::from_millis(most / 2) && d <= Duration::from_millis(most),
                    "{d:?}"
                );
                assert_eq!(backoff.exhausted(), attempt == 3);
            }
            let d = backoff.wait();
            assert!(
                d >= Duration::from_millis(1500) && d <= Duration::from_millis(3000),
                "{d:?}"
            );
        }
    }
}
