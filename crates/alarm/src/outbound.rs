//! What the receiver sends: answers, and its own MESSAGEs carrying `<mrs>`,
//! retransmitted over UDP until the device answers (RFC 3261 §17.1.2).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, warn};
use trygg_sip::{
    ClientAction, ClientTransaction, Host, MAGIC_COOKIE, Method, NameAddr, NewRequest, Request,
    Response, SipUri, Transport, Via,
};

/// How a request came, and so how its answers go back.
#[derive(Clone, Debug)]
pub(crate) enum Link {
    /// A datagram from this address, answered from the receiver's socket.
    Udp(SocketAddr),
    /// A TCP or TLS connection: answers are written to it, in order.
    Stream {
        peer: SocketAddr,
        local: SocketAddr,
        tls: bool,
        writer: mpsc::Sender<Vec<u8>>,
    },
}

impl Link {
    pub(crate) fn peer(&self) -> SocketAddr {
        match self {
            Link::Udp(peer) | Link::Stream { peer, .. } => *peer,
        }
    }

    pub(crate) fn is_reliable(&self) -> bool {
        matches!(self, Link::Stream { .. })
    }

    fn transport(&self) -> Transport {
        match self {
            Link::Udp(_) => Transport::Udp,
            Link::Stream { tls: false, .. } => Transport::Tcp,
            Link::Stream { tls: true, .. } => Transport::Tls,
        }
    }
}

/// A random token for tags, branches and Call-IDs: 128 bits in hex.
pub(crate) fn token() -> Result<String, trygg_crypto::CryptoError> {
    let raw = trygg_crypto::random_bytes::<16>()?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// The sending side of the socket and the client transactions waiting for
/// a final response, by branch.
pub(crate) struct Outbound {
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    realm: String,
    waiting: Mutex<HashMap<String, oneshot::Sender<u16>>>,
    /// The address the route to each destination leaves from, when the
    /// socket listens on every address: found once with a probe socket,
    /// not for every `<mrs>`.
    routes: Mutex<HashMap<IpAddr, IpAddr>>,
}

/// Destinations whose route is remembered; beyond it the memory starts over
/// (devices behind a few NAT gateways need few).
const MAX_ROUTES: usize = 10_000;

impl Outbound {
    pub(crate) fn new(socket: Arc<UdpSocket>, local: SocketAddr, realm: String) -> Self {
        Self {
            socket,
            local,
            realm,
            waiting: Mutex::new(HashMap::new()),
            routes: Mutex::new(HashMap::new()),
        }
    }

    /// Sends bytes back over `link`. A stream whose writer is gone (the
    /// connection closed) loses them: the device repeats its request.
    pub(crate) async fn send(&self, link: &Link, bytes: &[u8]) {
        match link {
            Link::Udp(to) => {
                if let Err(e) = self.socket.send_to(bytes, to).await {
                    warn!(%to, error = %e, "SIP send failed");
                }
            }
            Link::Stream { peer, writer, .. } => {
                if writer.send(bytes.to_vec()).await.is_err() {
                    debug!(%peer, "SIP connection closed before the answer");
                }
            }
        }
    }

    /// A response to a MESSAGE this side sent: a final one ends its
    /// retransmissions.
    pub(crate) fn on_response(&self, response: &Response) {
        if response.status() < 200 {
            return;
        }
        let Ok(via) = response.headers().via() else {
            return;
        };
        let waiting = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(via.branch());
        match waiting {
            Some(tx) => {
                let _ = tx.send(response.status());
            }
            None => debug!(
                status = response.status(),
                "SIP response to no pending request"
            ),
        }
    }

    /// The address to put in Via: the socket's, or when it listens on every
    /// address, the one the route to `to` leaves from.
    async fn via_ip(&self, to: SocketAddr) -> IpAddr {
        let ip = self.local.ip();
        if !ip.is_unspecified() {
            return ip;
        }
        let lock = || self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(from) = lock().get(&to.ip()) {
            return *from;
        }
        let any: SocketAddr = if to.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let from = match UdpSocket::bind(any).await {
            Ok(probe) if probe.connect(to).await.is_ok() => probe.local_addr().ok().map(|a| a.ip()),
            _ => None,
        };
        let Some(from) = from else { return ip };
        let mut routes = lock();
        if routes.len() >= MAX_ROUTES {
            routes.clear();
        }
        routes.insert(to.ip(), from);
        from
    }

    /// Sends a device its `<mrs>` in a MESSAGE over `link` and, over UDP,
    /// retransmits it until the device answers or Timer F (32 s) runs out.
    pub(crate) async fn send_mrs(
        &self,
        user: &str,
        contact: Option<SipUri>,
        link: &Link,
        mrs: &trygg_scaip::Response,
    ) {
        let request = match self.mrs_request(user, contact, link, mrs).await {
            Ok(r) => r,
            Err(e) => {
                error!(user, error = %e, "cannot build the <mrs> MESSAGE");
                return;
            }
        };
        let Ok(via) = request.headers().via() else {
            return;
        };
        let branch = via.branch().to_owned();
        let (tx, mut rx) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(branch.clone(), tx);
        let bytes = request.to_bytes();
        let start = tokio::time::Instant::now();
        let mut transaction = ClientTransaction::new(start.elapsed(), link.is_reliable());
        self.send(link, &bytes).await;
        loop {
            match transaction.poll(start.elapsed()) {
                ClientAction::Retransmit => self.send(link, &bytes).await,
                ClientAction::TimedOut => {
                    let to = link.peer();
                    warn!(user, %to, "the device did not confirm its <mrs> within 32 s");
                    break;
                }
                ClientAction::Wait(until) => {
                    tokio::select! {
                        status = &mut rx => {
                            match status {
                                Ok(s) if s < 300 => debug!(user, status = s, "<mrs> delivered"),
                                Ok(s) => warn!(user, status = s, "the device refused its <mrs>"),
                                Err(_) => {}
                            }
                            break;
                        }
                        _ = tokio::time::sleep_until(start + until) => {}
                    }
                }
            }
        }
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&branch);
    }

    async fn mrs_request(
        &self,
        user: &str,
        contact: Option<SipUri>,
        link: &Link,
        mrs: &trygg_scaip::Response,
    ) -> Result<Request, Box<dyn std::error::Error + Send + Sync>> {
        let to = link.peer();
        let uri = match contact {
            Some(uri) => uri,
            None => SipUri::parse(&format!("sip:{user}@{to}"))?,
        };
        let (ip, port) = match link {
            Link::Udp(_) => (self.via_ip(to).await, self.local.port()),
            Link::Stream { local, .. } => (local.ip(), local.port()),
        };
        let via_host = match ip {
            IpAddr::V4(v4) => Host::Ipv4(v4),
            IpAddr::V6(v6) => Host::Ipv6(v6),
        };
        let via = Via::new(
            link.transport(),
            via_host,
            Some(port),
            &format!("{MAGIC_COOKIE}{}", token()?),
        )?;
        let from = NameAddr::new(SipUri::parse(&format!("sip:alarm@{}", self.realm))?)
            .with_param("tag", Some(&token()?))?;
        let to_addr = NameAddr::new(SipUri::parse(&format!("sip:{user}@{}", self.realm))?);
        let call_id = token()?;
        let mut request = Request::new(NewRequest {
            method: Method::Message,
            uri,
            via,
            from,
            to: to_addr,
            call_id: &call_id,
            cseq: 1,
        })?;
        request.set_body(
            "application/scaip+xml",
            trygg_scaip::encode_response(mrs).into_bytes(),
        )?;
        Ok(request)
    }
}
