//! Non-INVITE transactions (RFC 3261 §17.1.2 client, §17.2.2 server), with
//! time passed in: `now` is a [`Duration`] since any fixed origin the
//! caller chooses (a monotonic clock's start, say).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::header::{HeaderError, Transport};
use crate::message::{Method, Request};
use crate::{MAX_STORED_BYTES, MAX_TRANSACTIONS};

/// The round-trip estimate T1 (RFC 3261 §17.1.1.1).
pub const T1: Duration = Duration::from_millis(500);
/// The longest retransmission interval T2.
pub const T2: Duration = Duration::from_secs(4);
/// Timer F: a client transaction gives up after 64·T1.
pub const TIMER_F: Duration = Duration::from_secs(32);
/// Timer J: an unreliable server transaction remembers its final response
/// for 64·T1, to answer retransmissions; a reliable one forgets it at once.
pub const TIMER_J: Duration = Duration::from_secs(32);

/// What identifies a server transaction (RFC 3261 §17.2.3): the top Via's
/// branch and sent-by, and the method (an ACK's being INVITE's).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TransactionKey {
    branch: String,
    sent_by: String,
    method: Method,
}

impl TransactionKey {
    pub fn of(request: &Request) -> Result<Self, HeaderError> {
        let via = request.headers().via()?;
        let default_port = match via.transport() {
            Transport::Tls => 5061,
            Transport::Udp | Transport::Tcp => 5060,
        };
        let method = match request.method() {
            Method::Ack => Method::Invite,
            other => other.clone(),
        };
        Ok(Self {
            branch: via.branch().to_owned(),
            sent_by: format!(
                "{}:{}",
                via.host().to_string().to_ascii_lowercase(),
                via.port().unwrap_or(default_port)
            ),
            method,
        })
    }

    /// The bytes the key holds, counted against [`MAX_STORED_BYTES`].
    fn size(&self) -> usize {
        self.branch.len() + self.sent_by.len() + self.method.as_str().len()
    }
}

/// What [`ServerTransactions::on_request`] makes of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// A new transaction: pass the request on, then store the final
    /// response with [`ServerTransactions::respond`].
    New(TransactionKey),
    /// A retransmission: send the stored final response again, or, while
    /// there is none yet, nothing (§17.2.2, Trying state).
    Retransmission(Option<Vec<u8>>),
    /// The table is full: answer 503 without passing the request on.
    Full,
}

#[derive(Debug)]
struct Entry {
    response: Option<Vec<u8>>,
    reliable: bool,
    /// The entry's key in the timer index.
    timer: (Duration, u64),
    bytes: usize,
}

/// The server transactions of a listener: which requests were seen and the
/// final response each got. Bounded by a count (at most
/// [`MAX_TRANSACTIONS`]) and by [`MAX_STORED_BYTES`] of keys and responses.
///
/// A transaction waiting for its response is kept at most 64·T1 (the
/// client has given up by then); one answered over UDP is kept Timer J
/// (64·T1) after its response, over TCP/TLS not at all. A request repeated
/// after its transaction is gone is new again: the layer above recognises
/// repeats of the same alarm by its SCAIP reference.
#[derive(Debug)]
pub struct ServerTransactions {
    entries: HashMap<TransactionKey, Entry>,
    /// Expiry time and a sequence number (to keep keys distinct).
    timers: BTreeMap<(Duration, u64), TransactionKey>,
    sequence: u64,
    capacity: usize,
    stored_bytes: usize,
}

impl ServerTransactions {
    /// A table of at most `capacity` transactions (capped at
    /// [`MAX_TRANSACTIONS`]).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            timers: BTreeMap::new(),
            sequence: 0,
            capacity: capacity.min(MAX_TRANSACTIONS),
            stored_bytes: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn schedule(&mut self, key: &TransactionKey, at: Duration) -> (Duration, u64) {
        self.sequence = self.sequence.wrapping_add(1);
        let timer = (at, self.sequence);
        self.timers.insert(timer, key.clone());
        timer
    }

    fn remove(&mut self, key: &TransactionKey) {
        if let Some(entry) = self.entries.remove(key) {
            self.timers.remove(&entry.timer);
            self.stored_bytes = self.stored_bytes.saturating_sub(entry.bytes);
        }
    }

    /// Forgets every transaction whose time is up.
    pub fn expire(&mut self, now: Duration) {
        while let Some((&(at, _), _)) = self.timers.first_key_value() {
            if at > now {
                break;
            }
            if let Some((_, key)) = self.timers.pop_first()
                && let Some(entry) = self.entries.remove(&key)
            {
                self.stored_bytes = self.stored_bytes.saturating_sub(entry.bytes);
            }
        }
    }

    /// Looks a request up. `reliable`: whether it came over TCP or TLS.
    pub fn on_request(
        &mut self,
        request: &Request,
        reliable: bool,
        now: Duration,
    ) -> Result<Arrival, HeaderError> {
        self.expire(now);
        let key = TransactionKey::of(request)?;
        if let Some(entry) = self.entries.get(&key) {
            return Ok(Arrival::Retransmission(entry.response.clone()));
        }
        let bytes = key.size();
        if self.entries.len() >= self.capacity
            || self.stored_bytes.saturating_add(bytes) > MAX_STORED_BYTES
        {
            return Ok(Arrival::Full);
        }
        let timer = self.schedule(&key, now.saturating_add(TIMER_F));
        self.stored_bytes += bytes;
        self.entries.insert(
            key.clone(),
            Entry {
                response: None,
                reliable,
                timer,
                bytes,
            },
        );
        Ok(Arrival::New(key))
    }

    /// Stores the final response a transaction was answered with (the
    /// bytes as sent). Over a reliable transport the transaction ends here.
    /// Returns whether the response is kept for retransmissions: not when
    /// the transaction is unknown or gone, over a reliable transport, or
    /// when the byte budget is spent (the transaction then ends).
    pub fn respond(&mut self, key: &TransactionKey, response: Vec<u8>, now: Duration) -> bool {
        self.expire(now);
        let Some(entry) = self.entries.get(key) else {
            return false;
        };
        let old = entry.response.as_ref().map_or(0, Vec::len);
        let stored_after = self
            .stored_bytes
            .saturating_sub(old)
            .saturating_add(response.len());
        let budget_ok = stored_after <= MAX_STORED_BYTES;
        if entry.reliable || !budget_ok {
            self.remove(key);
            return false;
        }
        let old_timer = entry.timer;
        let first_response = entry.response.is_none();
        let timer = if first_response {
            self.timers.remove(&old_timer);
            self.schedule(key, now.saturating_add(TIMER_J))
        } else {
            old_timer
        };
        if let Some(entry) = self.entries.get_mut(key) {
            self.stored_bytes = stored_after;
            entry.bytes = entry
                .bytes
                .saturating_sub(old)
                .saturating_add(response.len());
            entry.response = Some(response);
            entry.timer = timer;
        }
        true
    }
}

/// The wait after the send numbered `attempt` (0 for the first) before the
/// next retransmission: T1 doubling up to T2 (Timer E, RFC 3261
/// §17.1.2.2).
pub fn retransmit_after(attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
    T1.saturating_mul(factor).min(T2)
}

/// What a client transaction should do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAction {
    /// Send the request again.
    Retransmit,
    /// Nothing until this time (then poll again), unless a response comes.
    Wait(Duration),
    /// No final response within Timer F: the request failed (treat as a
    /// 408).
    TimedOut,
}

/// The timers of a non-INVITE client transaction, e.g. a MESSAGE carrying
/// an `<mrs>` to a device: retransmissions over UDP at 0.5, 1.5, 3.5, 7.5,
/// 11.5, … 31.5 s, none over TCP/TLS, and a timeout at 32 s either way.
/// Stop polling once a final response has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientTransaction {
    started: Duration,
    reliable: bool,
    sends: u32,
    next: Duration,
}

impl ClientTransaction {
    /// A transaction whose request was first sent at `now`.
    pub fn new(now: Duration, reliable: bool) -> Self {
        Self {
            started: now,
            reliable,
            sends: 1,
            next: now.saturating_add(T1),
        }
    }

    pub fn poll(&mut self, now: Duration) -> ClientAction {
        let deadline = self.started.saturating_add(TIMER_F);
        if now >= deadline {
            return ClientAction::TimedOut;
        }
        if self.reliable {
            return ClientAction::Wait(deadline);
        }
        if now >= self.next {
            self.next = self.next.saturating_add(retransmit_after(self.sends));
            self.sends = self.sends.saturating_add(1);
            return ClientAction::Retransmit;
        }
        ClientAction::Wait(self.next.min(deadline))
    }
}
