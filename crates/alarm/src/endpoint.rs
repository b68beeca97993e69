//! The UDP endpoint: one socket for every device, a task per request.

use crate::outbound::{Link, Outbound};
use crate::{MAX_HANDLERS, MAX_REGISTRATION, NONCE_LIFETIME, kind_of};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};
use trygg_domain::{Clock, DeviceId};
use trygg_scaip::{Response as Mrs, StatusCode, StatusNumber};
use trygg_sip::{
    Algorithm, Arrival, Contact, DigestError, DigestServer, MAX_MESSAGE, Message, Method,
    NonceCountError, NonceCounts, Request, Response, ServerTransactions, SipUri,
};
use trygg_store::{Device, DeviceSecrets, IncomingAlarm, STORED_DUE_SLACK, Store};

/// The receiver's settings.
#[derive(Clone)]
pub struct Config {
    /// Where to listen for SIP over UDP, and over TCP on the same port.
    pub udp: SocketAddr,
    /// Where to listen for SIP over TLS, and with which certificate.
    pub tls: Option<(SocketAddr, Arc<rustls::ServerConfig>)>,
    /// The Digest realm; devices' credentials are bound to it.
    pub realm: String,
    /// Alarms being committed at once; a request beyond it is answered
    /// `snu=6` (busy) and the device retries.
    pub max_in_flight: usize,
    /// Offer SHA-256 before MD5. A client takes the first challenge it
    /// supports (RFC 8760), but some take the first and fail when it is not
    /// MD5 (sipp 3.6 does); so MD5 comes first unless the fleet is known to
    /// cope.
    pub prefer_sha256: bool,
    /// How long past its due heartbeat a device may stay silent before a
    /// technical alarm reports it.
    pub heartbeat_grace: time::Duration,
    /// How long an alarm may wait untaken before it is escalated.
    pub escalate_after: time::Duration,
}

/// What one round of supervision did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Supervision {
    /// Devices whose last-seen time was written.
    pub heard: usize,
    /// Devices reported silent (a technical alarm each).
    pub silent: Vec<DeviceId>,
    /// Devices heard again after being reported silent.
    pub heard_again: Vec<DeviceId>,
    /// Alarms escalated for waiting untaken longer than `escalate_after`.
    pub escalated: Vec<trygg_domain::AlarmId>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("udp", &self.udp)
            .field("tls", &self.tls.as_ref().map(|(addr, _)| addr))
            .field("realm", &self.realm)
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}

/// Why the receiver could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// The socket could not be bound.
    #[error("SP001 cannot listen for SIP on {addr}: {source}")]
    Bind {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The realm is not usable.
    #[error("SP002 the SIP realm must be printable text: {0}")]
    Realm(DigestError),
    /// No random source.
    #[error("SP003 no random source: {0}")]
    Random(#[from] trygg_crypto::CryptoError),
}

/// A device's registration: where its MESSAGEs go.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub(crate) contact: SipUri,
    pub(crate) until: OffsetDateTime,
}

pub(crate) struct Shared {
    store: Store,
    clock: Arc<dyn Clock>,
    digest: DigestServer,
    prefer_sha256: bool,
    pub(crate) outbound: Outbound,
    started: tokio::time::Instant,
    transactions: Mutex<ServerTransactions>,
    nonce_counts: Mutex<NonceCounts>,
    /// Devices as last read from the registry, by SIP user name.
    devices: tokio::sync::Mutex<DeviceMemory>,
    bindings: Mutex<HashMap<String, Binding>>,
    /// Every device heard since the receiver started: supervision finds
    /// the overdue among them here, to the second.
    last_seen: Mutex<HashMap<DeviceId, Seen>>,
    /// Heard times to write at the next supervision round.
    heard: Mutex<HashMap<DeviceId, OffsetDateTime>>,
    heartbeat_grace: time::Duration,
    escalate_after: time::Duration,
    /// Failed authentications per source address and user name.
    auth_failures: trygg_auth::RateLimiter,
    /// Warnings logged per source address: a device that sends garbage
    /// cannot flood the log (the rest go to debug).
    warnings: trygg_auth::RateLimiter,
    commits: Arc<Semaphore>,
    handlers: Arc<Semaphore>,
}

/// What a receiver knows of a device it has heard since it started.
///
/// The registry keeps a device's heard time for after a restart, with a due
/// time [`STORED_DUE_SLACK`] later than the heartbeat asks for, so it is
/// written once in that time, not at every heartbeat: at 300,000 devices
/// and 60 s heartbeats, 1,000 rows a second instead of 5,000. Devices heard
/// since the start are supervised from here, exactly; the registry's due
/// time only finds those not heard since (after a restart, up to the slack
/// later than the heartbeat and grace ask).
struct Seen {
    /// When it was last heard.
    at: OffsetDateTime,
    /// Its heartbeat interval, as the registry said when it was heard.
    heartbeat: time::Duration,
    /// The heard time last given to the registry to write.
    written: Option<OffsetDateTime>,
    /// Reported silent and not heard since.
    silent: bool,
}

/// The devices a receiver authenticated, with their Digest secrets, so that
/// a heartbeat needs no database query. Forgotten at once when the
/// registry's version changes (looked at at most once a second), so that a
/// disabled device or new credentials take effect within a second; and
/// entries older than [`DEVICE_MEMORY_TTL`] are read again. Unknown user
/// names are not remembered.
struct DeviceMemory {
    version: Option<i64>,
    checked: Option<Duration>,
    devices: HashMap<String, (Duration, Arc<(Device, DeviceSecrets)>)>,
}

/// How often the registry's version is looked at.
const DEVICE_VERSION_CHECK: Duration = Duration::from_secs(1);
/// How long a remembered device is used before it is read again.
const DEVICE_MEMORY_TTL: Duration = Duration::from_secs(600);
/// The most devices remembered (about 0.5 KiB each).
const MAX_REMEMBERED_DEVICES: usize = 1_000_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running receiver.
#[derive(Debug)]
pub struct Receiver {
    shared: Arc<Shared>,
    local: SocketAddr,
    tcp: SocketAddr,
    tls: Option<SocketAddr>,
    listeners: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    supervisor: JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Receiver {
    /// Binds the socket and starts receiving.
    pub async fn start(
        store: Store,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> Result<Self, ReceiverError> {
        let bind_tcp = |addr: SocketAddr| async move {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ReceiverError::Bind { addr, source })?;
            let bound = listener
                .local_addr()
                .map_err(|source| ReceiverError::Bind { addr, source })?;
            Ok::<_, ReceiverError>((listener, bound))
        };
        // UDP and TCP on the same port. Asked for any port (0), the port UDP
        // got may already be some TCP socket's: then another pair is tried.
        let mut attempt = 0;
        let (socket, local, tcp_listener, tcp) = loop {
            attempt += 1;
            let socket =
                UdpSocket::bind(config.udp)
                    .await
                    .map_err(|source| ReceiverError::Bind {
                        addr: config.udp,
                        source,
                    })?;
            let local = socket.local_addr().map_err(|source| ReceiverError::Bind {
                addr: config.udp,
                source,
            })?;
            match bind_tcp(local).await {
                Ok((listener, tcp)) => break (socket, local, listener, tcp),
                Err(_) if config.udp.port() == 0 && attempt < ANY_PORT_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        };
        let tls_listener = match &config.tls {
            Some((addr, server)) => {
                let (listener, bound) = bind_tcp(*addr).await?;
                Some((
                    listener,
                    bound,
                    tokio_rustls::TlsAcceptor::from(server.clone()),
                ))
            }
            None => None,
        };
        let key = trygg_crypto::random_bytes::<32>()?;
        let digest =
            DigestServer::new(&key, &config.realm, NONCE_LIFETIME).map_err(ReceiverError::Realm)?;
        let socket = Arc::new(socket);
        let shared = Arc::new(Shared {
            store,
            clock,
            digest,
            prefer_sha256: config.prefer_sha256,
            outbound: Outbound::new(socket.clone(), local, config.realm.clone()),
            started: tokio::time::Instant::now(),
            transactions: Mutex::new(ServerTransactions::new(trygg_sip::MAX_TRANSACTIONS)),
            nonce_counts: Mutex::new(NonceCounts::new(
                trygg_sip::MAX_NONCE_COUNTS,
                NONCE_LIFETIME,
            )),
            devices: tokio::sync::Mutex::new(DeviceMemory {
                version: None,
                checked: None,
                devices: HashMap::new(),
            }),
            bindings: Mutex::new(HashMap::new()),
            last_seen: Mutex::new(HashMap::new()),
            heard: Mutex::new(HashMap::new()),
            heartbeat_grace: config.heartbeat_grace,
            escalate_after: config.escalate_after,
            auth_failures: trygg_auth::RateLimiter::new(
                MAX_AUTH_FAILURES,
                AUTH_FAILURE_WINDOW,
                100_000,
            ),
            warnings: trygg_auth::RateLimiter::new(20, time::Duration::minutes(1), 100_000),
            commits: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            handlers: Arc::new(Semaphore::new(MAX_HANDLERS)),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(receive(shared.clone(), socket, stopped.clone()));
        let supervisor = tokio::spawn(supervise_every(shared.clone(), stopped.clone()));
        let connections = Arc::new(Semaphore::new(crate::stream::MAX_CONNECTIONS));
        let mut listeners = vec![tokio::spawn(crate::stream::accept(
            shared.clone(),
            tcp_listener,
            None,
            connections.clone(),
            stopped.clone(),
        ))];
        let mut tls = None;
        if let Some((listener, bound, acceptor)) = tls_listener {
            tls = Some(bound);
            listeners.push(tokio::spawn(crate::stream::accept(
                shared.clone(),
                listener,
                Some(acceptor),
                connections,
                stopped,
            )));
            info!(local = %bound, "SIP receiver listening (TLS)");
        }
        info!(%local, realm = %config.realm, "SIP receiver listening (UDP and TCP)");
        Ok(Self {
            shared,
            local,
            tcp,
            tls,
            listeners,
            stop,
            task,
            supervisor,
        })
    }

    /// The address the socket is bound to.
    pub fn udp_addr(&self) -> SocketAddr {
        self.local
    }

    /// The address TCP listens on (the UDP port).
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp
    }

    /// The address TLS listens on, if it does.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls
    }

    /// When a device was last heard from (any authenticated request).
    pub fn last_seen(&self, device: DeviceId) -> Option<OffsetDateTime> {
        lock(&self.shared.last_seen).get(&device).map(|s| s.at)
    }

    /// One round of supervision now (it also runs every
    /// [`SUPERVISION_INTERVAL`]): writes when devices were last heard, and
    /// reports every device whose heartbeat is overdue by more than the
    /// grace with a technical alarm, once per silence.
    pub async fn supervise(&self) -> Result<Supervision, trygg_store::StoreError> {
        self.shared.supervise().await
    }

    /// Stops receiving. Requests being handled finish; their answers go out;
    /// when devices were last heard is written.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let _ = self.supervisor.await;
        for listener in self.listeners {
            let _ = listener.await;
        }
        // Wait for the handlers in flight: each holds a permit.
        let _ = self
            .shared
            .handlers
            .acquire_many(u32::try_from(MAX_HANDLERS).unwrap_or(u32::MAX))
            .await;
        if let Err(e) = self.shared.flush_heard().await {
            error!(error = %e, "last-seen times not written at shutdown");
        }
    }
}

/// Failed authentications allowed per source address and user name in
/// [`AUTH_FAILURE_WINDOW`]; more are refused without looking the device
/// up. Per address *and* user, so devices behind the same mobile NAT
/// address are not locked out by one misconfigured neighbour.
pub const MAX_AUTH_FAILURES: usize = 10;

/// The window of [`MAX_AUTH_FAILURES`].
pub const AUTH_FAILURE_WINDOW: time::Duration = time::Duration::minutes(5);

/// Pairs of ports tried when any port will do.
const ANY_PORT_ATTEMPTS: u32 = 20;

/// How often supervision runs.
pub const SUPERVISION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// At most this many overdue devices are reported per round; the rest
/// follow in the next rounds (an outage must not stall the receiver).
const OVERDUE_PER_ROUND: i64 = 1000;

async fn supervise_every(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SUPERVISION_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tick.tick() => {
                if let Err(e) = shared.supervise().await {
                    error!(error = %e, "supervision round failed; retrying");
                }
            }
        }
    }
}

async fn receive(shared: Arc<Shared>, socket: Arc<UdpSocket>, mut stopped: watch::Receiver<bool>) {
    // One byte more than the largest message, to tell "too long" from "fits".
    let mut buf = vec![0u8; MAX_MESSAGE + 1];
    loop {
        let (n, source) = tokio::select! {
            _ = stopped.changed() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(r) => r,
                Err(e) => {
                    // ICMP errors from earlier sends surface here; go on.
                    debug!(error = %e, "SIP socket receive error");
                    continue;
                }
            },
        };
        let Some(datagram) = buf.get(..n) else {
            continue;
        };
        if n > MAX_MESSAGE {
            warn!(%source, "SIP datagram over {MAX_MESSAGE} bytes dropped");
            continue;
        }
        let message = match trygg_sip::parse(datagram) {
            Ok(m) => m,
            Err(e) => {
                if shared.may_warn(source) {
                    warn!(%source, error = %e, "unreadable SIP datagram dropped");
                } else {
                    debug!(%source, error = %e, "unreadable SIP datagram dropped");
                }
                continue;
            }
        };
        match message {
            Message::Response(response) => shared.outbound.on_response(&response),
            Message::Request(request) => {
                let Ok(permit) = shared.handler_permit() else {
                    warn!(%source, "too many requests in progress: dropped (the device retransmits)");
                    continue;
                };
                tokio::spawn(handle(shared.clone(), request, Link::Udp(source), permit));
            }
        }
    }
}

/// What a request is answered with, and what happens after the answer.
enum Outcome {
    Answer(Response),
    /// 200 OK, then the SCAIP request is handled and its `<mrs>` sent.
    Scaip(Response, Box<Device>, Vec<u8>),
    Nothing,
}

/// Handles one request that came over `link` (a datagram or a stream).
pub(crate) async fn handle(
    shared: Arc<Shared>,
    request: Request,
    link: Link,
    _permit: OwnedSemaphorePermit,
) {
    let source = link.peer();
    let arrival = {
        let now = shared.started.elapsed();
        lock(&shared.transactions).on_request(&request, link.is_reliable(), now)
    };
    let key = match arrival {
        Ok(Arrival::New(key)) => key,
        Ok(Arrival::Retransmission(Some(answer))) => {
            shared.outbound.send(&link, &answer).await;
            return;
        }
        Ok(Arrival::Retransmission(None)) => return,
        Ok(Arrival::Full) => {
            if let Some(r) = shared.reply(&request, source, 503, "Service Unavailable") {
                shared.outbound.send(&link, &r.to_bytes()).await;
            }
            return;
        }
        Err(e) => {
            warn!(%source, error = %e, "SIP request without a usable Via dropped");
            return;
        }
    };
    let outcome = match request.method() {
        Method::Register => shared.register(&request, source).await,
        Method::Message => shared.message(&request, source).await,
        Method::Options => shared.answer(&request, source, 200, "OK"),
        Method::Ack => Outcome::Nothing,
        _ => match shared.reply(&request, source, 405, "Method Not Allowed") {
            Some(mut r) => {
                let _ = r.push_header("Allow", "REGISTER, MESSAGE, OPTIONS");
                Outcome::Answer(r)
            }
            None => Outcome::Nothing,
        },
    };
    let (answer, then) = match outcome {
        Outcome::Nothing => return,
        Outcome::Answer(r) => (r, None),
        Outcome::Scaip(r, device, body) => (r, Some((device, body))),
    };
    let bytes = answer.to_bytes();
    lock(&shared.transactions).respond(&key, bytes.clone(), shared.started.elapsed());
    shared.outbound.send(&link, &bytes).await;
    if let Some((device, body)) = then {
        let mrs = shared.scaip(&device, &body).await;
        let contact = shared.contact(&device.sip_user);
        shared
            .outbound
            .send_mrs(&device.sip_user, contact, &link, &mrs)
            .await;
    }
}

impl Shared {
    /// Whether a warning about `source` may go to the log now.
    fn may_warn(&self, source: SocketAddr) -> bool {
        self.warnings
            .attempt(&source.ip().to_string(), self.clock.now())
    }

    /// A slot to handle one request in, if fewer than [`MAX_HANDLERS`] are.
    pub(crate) fn handler_permit(
        &self,
    ) -> Result<OwnedSemaphorePermit, tokio::sync::TryAcquireError> {
        self.handlers.clone().try_acquire_owned()
    }

    /// Writes the devices heard since the last round; on failure they are
    /// kept for the next.
    async fn flush_heard(&self) -> Result<Vec<DeviceId>, trygg_store::StoreError> {
        let batch: Vec<_> = std::mem::take(&mut *lock(&self.heard))
            .into_iter()
            .collect();
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        match self.store.devices_heard(&batch, STORED_DUE_SLACK).await {
            Ok(back) => Ok(back),
            Err(e) => {
                let mut heard = lock(&self.heard);
                for (device, at) in batch {
                    let t = heard.entry(device).or_insert(at);
                    *t = (*t).max(at);
                }
                Err(e)
            }
        }
    }

    /// A device authenticated at `at`: remembered, and its heard time
    /// queued for the registry if the stored one no longer covers it (or
    /// it had been reported silent: its silence ends at the next round).
    fn heard_from(&self, device: &Device, at: OffsetDateTime) {
        let write = {
            let mut seen = lock(&self.last_seen);
            let s = seen.entry(device.id).or_insert(Seen {
                at,
                heartbeat: device.heartbeat,
                written: None,
                silent: false,
            });
            s.at = s.at.max(at);
            s.heartbeat = device.heartbeat;
            let write = s.silent || s.written.is_none_or(|w| at - w >= STORED_DUE_SLACK);
            if write {
                s.written = Some(at);
                s.silent = false;
            }
            write
        };
        if write {
            let mut heard = lock(&self.heard);
            let t = heard.entry(device.id).or_insert(at);
            *t = (*t).max(at);
        }
    }

    async fn supervise(&self) -> Result<Supervision, trygg_store::StoreError> {
        let heard = lock(&self.heard).len();
        let heard_again = self.flush_heard().await?;
        for device in &heard_again {
            info!(device = %device, "device heard again after being reported silent");
        }
        let cutoff = self.clock.now() - self.heartbeat_grace;
        let mut silent = Vec::new();
        // Heard since the start: overdue by memory, the longest overdue first.
        let mut overdue: Vec<(OffsetDateTime, DeviceId)> = lock(&self.last_seen)
            .iter()
            .filter(|(_, s)| !s.silent && s.at + s.heartbeat < cutoff)
            .map(|(d, s)| (s.at + s.heartbeat, *d))
            .collect();
        overdue.sort_unstable();
        overdue.truncate(usize::try_from(OVERDUE_PER_ROUND).unwrap_or(usize::MAX));
        for (_, id) in overdue {
            let device = match self.store.device(id).await {
                Ok(d) => d,
                Err(trygg_store::StoreError::NotFound(_)) => {
                    lock(&self.last_seen).remove(&id);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if device.disabled {
                lock(&self.last_seen).remove(&id);
                continue;
            }
            // Heard while the device was read: not silent.
            let still = lock(&self.last_seen)
                .get(&id)
                .is_some_and(|s| !s.silent && s.at + s.heartbeat < cutoff);
            if still {
                self.report_silent(&device, &mut silent).await?;
            }
        }
        // Not heard since the start: overdue by the registry's due time.
        for device in self
            .store
            .overdue_devices(cutoff, OVERDUE_PER_ROUND)
            .await?
        {
            if lock(&self.last_seen).contains_key(&device.id) {
                continue; // supervised from memory, above
            }
            self.report_silent(&device, &mut silent).await?;
        }
        let escalated = self.store.escalate_untaken(self.escalate_after).await?;
        for alarm in &escalated {
            warn!(%alarm, "alarm not taken in time: escalated");
        }
        Ok(Supervision {
            heard,
            silent,
            heard_again,
            escalated,
        })
    }

    /// Reports `device` silent (once per silence) and remembers it so.
    async fn report_silent(
        &self,
        device: &Device,
        silent: &mut Vec<DeviceId>,
    ) -> Result<(), trygg_store::StoreError> {
        if let Some(recorded) = self.store.report_silent(device).await? {
            warn!(user = %device.sip_user, alarm = %recorded.alarm,
                  "device silent: heartbeat missed, technical alarm raised");
            silent.push(device.id);
        }
        if let Some(s) = lock(&self.last_seen).get_mut(&device.id) {
            s.silent = true;
        }
        Ok(())
    }

    fn now_secs(&self) -> u64 {
        u64::try_from(self.clock.now().unix_timestamp()).unwrap_or(0)
    }

    fn reply(
        &self,
        request: &Request,
        source: SocketAddr,
        status: u16,
        reason: &str,
    ) -> Option<Response> {
        let tag = match crate::outbound::token() {
            Ok(t) => t,
            Err(e) => {
                error!(error = %e, "no random source for a SIP tag");
                return None;
            }
        };
        match Response::for_request(request, status, reason, Some(source), &tag) {
            Ok(r) => Some(r),
            Err(e) => {
                warn!(%source, error = %e, "cannot answer the SIP request");
                None
            }
        }
    }

    fn answer(&self, request: &Request, source: SocketAddr, status: u16, reason: &str) -> Outcome {
        self.reply(request, source, status, reason)
            .map_or(Outcome::Nothing, Outcome::Answer)
    }

    fn challenge(&self, request: &Request, source: SocketAddr, stale: bool) -> Outcome {
        let Some(mut r) = self.reply(request, source, 401, "Unauthorized") else {
            return Outcome::Nothing;
        };
        let Ok(random) = trygg_crypto::random_bytes::<16>() else {
            return Outcome::Nothing;
        };
        let mut challenges = self.digest.challenges(self.now_secs(), random, stale);
        if !self.prefer_sha256 {
            challenges.sort_by_key(|c| c.algorithm != Algorithm::Md5);
        }
        for c in challenges {
            if r.push_header("WWW-Authenticate", &c.to_string()).is_err() {
                return Outcome::Nothing;
            }
        }
        Outcome::Answer(r)
    }

    /// The device that sent `request`, by its Digest credentials; or the
    /// answer that refuses it (401 to challenge, 403 for wrong credentials
    /// or an unknown or disabled device, alike).
    async fn authenticate(&self, request: &Request, source: SocketAddr) -> Result<Device, Outcome> {
        let auth = match request.headers().authorization() {
            Ok(Some(auth)) => auth,
            Ok(None) => return Err(self.challenge(request, source, false)),
            Err(e) => {
                if self.may_warn(source) {
                    warn!(%source, error = %e, "malformed Authorization");
                }
                return Err(self.answer(request, source, 400, "Bad Authorization"));
            }
        };
        let at = self.clock.now();
        let key = format!("{}/{}", source.ip(), auth.username);
        if self.auth_failures.exhausted(&key, at) {
            debug!(%source, user = %auth.username, "refused unchecked: too many failed attempts");
            return Err(self.answer(request, source, 403, "Forbidden"));
        }
        let forbidden = |why: &str| {
            self.auth_failures.attempt(&key, at);
            if self.may_warn(source) {
                warn!(%source, user = %auth.username, reason = why, "SIP device refused");
            }
            self.answer(request, source, 403, "Forbidden")
        };
        let found = match self.device(&auth.username).await {
            Ok(found) => found,
            Err(e) => {
                error!(error = %e, "device registry unavailable");
                return Err(self.answer(request, source, 500, "Server Internal Error"));
            }
        };
        let Some(found) = found else {
            return Err(forbidden("unknown device"));
        };
        let (device, secrets) = &*found;
        if device.disabled {
            return Err(forbidden("device disabled"));
        }
        let ha1 = match auth.algorithm {
            Algorithm::Md5 => &secrets.ha1_md5,
            Algorithm::Sha256 => &secrets.ha1_sha256,
        };
        let secs = self.now_secs();
        match self
            .digest
            .verify(&auth, request.method(), request.uri().as_str(), ha1, secs)
        {
            Ok(verified) => match lock(&self.nonce_counts).check(&verified, secs) {
                Ok(()) => {}
                // A replayed or reordered count: a fresh nonce, and the
                // device authenticates again.
                Err(NonceCountError::Replay) => return Err(self.challenge(request, source, true)),
                // More nonces in use than the table holds: another nonce
                // would not fit either, so the device is asked to come back.
                Err(NonceCountError::Full) => {
                    return Err(self.answer(request, source, 503, "Service Unavailable"));
                }
            },
            Err(DigestError::Stale) => return Err(self.challenge(request, source, true)),
            // A nonce from before a restart (the key is new): challenge again.
            Err(DigestError::BadNonce) => return Err(self.challenge(request, source, false)),
            Err(e) => return Err(forbidden(&e.to_string())),
        }
        // The identity the request claims must be the one that authenticated.
        let claimed = match request.method() {
            Method::Register => request.headers().to(),
            _ => request.headers().from(),
        };
        if claimed.ok().and_then(|a| a.uri().user().map(str::to_owned))
            != Some(device.sip_user.clone())
        {
            return Err(forbidden(
                "the request names another user than it authenticated as",
            ));
        }
        self.heard_from(device, at);
        Ok(device.clone())
    }

    /// The registry's device with SIP user name `user`, from memory when
    /// the registry has not changed since (see [`DeviceMemory`]).
    async fn device(
        &self,
        user: &str,
    ) -> Result<Option<Arc<(Device, DeviceSecrets)>>, trygg_store::StoreError> {
        let now = self.started.elapsed();
        let mut memory = self.devices.lock().await;
        if memory
            .checked
            .is_none_or(|at| now.saturating_sub(at) >= DEVICE_VERSION_CHECK)
        {
            let version = self.store.device_registry_version().await?;
            if memory.version != Some(version) {
                memory.devices.clear();
                memory.version = Some(version);
            }
            memory.checked = Some(now);
        }
        if let Some((read, found)) = memory.devices.get(user)
            && now.saturating_sub(*read) < DEVICE_MEMORY_TTL
        {
            return Ok(Some(found.clone()));
        }
        // The version the read below is at least as new as: if another
        // request sees a newer one meanwhile, what is read here may be
        // older than that change and is not remembered.
        let version = memory.version;
        drop(memory);
        let Some(found) = self.store.device_by_sip_user(user).await? else {
            return Ok(None);
        };
        let found = Arc::new(found);
        let mut memory = self.devices.lock().await;
        if memory.version != version {
            return Ok(Some(found));
        }
        if memory.devices.len() >= MAX_REMEMBERED_DEVICES {
            memory
                .devices
                .retain(|_, (read, _)| now.saturating_sub(*read) < DEVICE_MEMORY_TTL);
        }
        if memory.devices.len() < MAX_REMEMBERED_DEVICES {
            memory.devices.insert(user.to_owned(), (now, found.clone()));
        }
        Ok(Some(found))
    }

    async fn register(&self, request: &Request, source: SocketAddr) -> Outcome {
        let device = match self.authenticate(request, source).await {
            Ok(d) => d,
            Err(refusal) => return refusal,
        };
        let headers = request.headers();
        let (contact, expires) = match (headers.contact(), headers.expires()) {
            (Ok(c), Ok(e)) => (c, e),
            _ => return self.answer(request, source, 400, "Bad Contact or Expires"),
        };
        let now = self.clock.now();
        let mut bindings = lock(&self.bindings);
        match contact {
            None => {}
            Some(Contact::Wildcard) => {
                if expires != Some(0) {
                    return self.answer(request, source, 400, "Wildcard Contact needs Expires: 0");
                }
                bindings.remove(&device.sip_user);
            }
            Some(Contact::Address(address)) => {
                let asked = match address.expires() {
                    Ok(e) => e.or(expires).unwrap_or(MAX_REGISTRATION),
                    Err(_) => return self.answer(request, source, 400, "Bad Contact expires"),
                };
                let granted = asked.min(MAX_REGISTRATION);
                if granted == 0 {
                    bindings.remove(&device.sip_user);
                } else {
                    bindings.insert(
                        device.sip_user.clone(),
                        Binding {
                            contact: address.uri().clone(),
                            until: now + time::Duration::seconds(i64::from(granted)),
                        },
                    );
                }
            }
        }
        let current = bindings.get(&device.sip_user).cloned();
        drop(bindings);
        let Some(mut ok) = self.reply(request, source, 200, "OK") else {
            return Outcome::Nothing;
        };
        if let Some(b) = current {
            let left = (b.until - now).whole_seconds().max(0);
            if ok
                .push_header("Contact", &format!("<{}>;expires={left}", b.contact))
                .is_err()
            {
                return Outcome::Nothing;
            }
        }
        info!(%source, user = %device.sip_user, "device registered");
        Outcome::Answer(ok)
    }

    async fn message(&self, request: &Request, source: SocketAddr) -> Outcome {
        let device = match self.authenticate(request, source).await {
            Ok(d) => d,
            Err(refusal) => return refusal,
        };
        match request.headers().content_type() {
            Ok(Some(t)) if t.is("application/scaip+xml") => {}
            _ => return self.answer(request, source, 415, "Unsupported Media Type"),
        }
        let body = match request.headers().get("Content-Encoding").map(str::trim) {
            None => request.body().to_vec(),
            Some(coding) if coding.eq_ignore_ascii_case("gzip") => match gunzip(request.body()) {
                Some(body) => body,
                None => {
                    warn!(user = %device.sip_user, "a gzip body that does not decompress refused");
                    return self.answer(request, source, 400, "Bad Request");
                }
            },
            Some(_) => {
                let Some(mut r) = self.reply(request, source, 415, "Unsupported Media Type") else {
                    return Outcome::Nothing;
                };
                if r.push_header("Accept-Encoding", "gzip").is_err() {
                    return Outcome::Nothing;
                }
                return Outcome::Answer(r);
            }
        };
        match self.reply(request, source, 200, "OK") {
            Some(ok) => Outcome::Scaip(ok, Box::new(device), body),
            None => Outcome::Nothing,
        }
    }

    /// Handles a SCAIP request from an authenticated device; the `<mrs>`.
    async fn scaip(&self, device: &Device, body: &[u8]) -> Mrs {
        let request = match trygg_scaip::parse_request(body) {
            Ok(r) => r,
            Err(rejection) => {
                warn!(user = %device.sip_user, snu = rejection.status_number().code(),
                      reason = %rejection.reason(), "SCAIP request refused");
                return rejection.response();
            }
        };
        let reference = request.reference.clone();
        if request.controller_id.as_str() != device.cid {
            warn!(user = %device.sip_user, "SCAIP request with another device's cid refused");
            let mut mrs = Mrs::new(Some(reference), StatusNumber::WrongContent);
            mrs.status_text = "cid does not belong to this device".parse().ok();
            return mrs;
        }
        let Some(kind) = kind_of(&request) else {
            debug!(user = %device.sip_user, "heartbeat");
            return Mrs::ok(reference);
        };
        let Ok(_permit) = self.commits.clone().try_acquire_owned() else {
            warn!(user = %device.sip_user, "busy: alarm answered snu=6, the device retries");
            return Mrs::new(Some(reference), StatusNumber::Busy);
        };
        let canonical = trygg_scaip::encode_request(&request);
        let incoming = IncomingAlarm {
            reference: reference.as_str(),
            kind,
            status_code: request.status_code.map(|c| c.value()),
            priority: request.priority.map(|p| p.value()),
            request: &canonical,
        };
        match self.store.record_alarm(device, &incoming).await {
            Ok(recorded) => {
                info!(user = %device.sip_user, alarm = %recorded.alarm, kind = kind.as_str(),
                      repeat = recorded.repeat, "alarm recorded");
                if !recorded.repeat {
                    self.device_moves_workflow(device, request.status_code)
                        .await;
                }
                Mrs::ok(reference)
            }
            Err(e) => {
                error!(user = %device.sip_user, error = %e, "alarm not stored: answered busy");
                Mrs::new(Some(reference), StatusNumber::Busy)
            }
        }
    }

    /// Presence (0088) and check-out (0111) reported by the device move the
    /// alarm being handled. The report itself is already stored; a failure
    /// here is logged, and staff can still move the alarm themselves.
    async fn device_moves_workflow(&self, device: &Device, code: Option<StatusCode>) {
        let moved = match code {
            Some(StatusCode::PRESENCE_UPON_ALARM) => {
                self.store.device_reports_presence(device.id).await
            }
            Some(StatusCode::CHECK_OUT) => self.store.device_reports_check_out(device.id).await,
            _ => return,
        };
        match moved {
            Ok(Some(alarm)) => {
                info!(user = %device.sip_user, %alarm, "alarm moved by the device's report")
            }
            Ok(None) => {
                debug!(user = %device.sip_user, "a presence or check-out with no alarm being handled")
            }
            Err(e) => {
                error!(user = %device.sip_user, error = %e, "presence or check-out not applied")
            }
        }
    }

    /// The registered contact of a device, the Request-URI of its `<mrs>`.
    /// The `<mrs>` itself goes back the way the request came: over UDP to
    /// the address it came from (that NAT mapping is open now; the one the
    /// registration came through may have changed, and a contact with a
    /// private address is not reachable at all), over TCP or TLS on the
    /// same connection.
    fn contact(&self, user: &str) -> Option<SipUri> {
        let now = self.clock.now();
        match lock(&self.bindings).get(user) {
            Some(b) if b.until > now => Some(b.contact.clone()),
            _ => None,
        }
    }
}

/// A gzip body (`Content-Encoding: gzip`, as SCAIP allows for messages over
/// 1,000 bytes), decompressed to at most one byte more than the SCAIP codec
/// reads: a body that would grow larger is cut there and the codec refuses
/// it as too large (a decompression bomb costs at most that much memory and
/// work). `None` for data that is not gzip.
fn gunzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let limit = trygg_scaip::MAX_BODY + 1;
    let mut out = Vec::with_capacity(limit.min(4 * body.len()));
    flate2::read::GzDecoder::new(body)
        .take(limit as u64)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::gunzip;
    use std::io::Write as _;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gunzip_gives_the_body_back_and_stops_a_bomb_one_byte_past_the_codecs_limit() {
        let body = b"<mrq><ref>1</ref><cid>4600001</cid><dty>0005</dty></mrq>";
        assert_eq!(gunzip(&gzip(body)).unwrap(), body);
        let bomb = gzip(&vec![b' '; 5 * 1024 * 1024]);
        assert_eq!(gunzip(&bomb).unwrap().len(), trygg_scaip::MAX_BODY + 1);
        assert_eq!(gunzip(b"not gzip"), None);
        assert_eq!(gunzip(b""), None);
        // Cut short: not a body.
        let whole = gzip(body);
        assert_eq!(gunzip(&whole[..whole.len() / 2]), None);
    }
}
