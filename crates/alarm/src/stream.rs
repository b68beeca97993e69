//! SIP over TCP and TLS: a connection per device, framed by Content-Length
//! (`trygg_sip::Framer`), answered on the same connection. A device behind
//! NAT keeps its connection open (RFC 5626 CRLF keep-alives are answered),
//! and its `<mrs>` comes back over it.

use crate::endpoint::{Shared, handle};
use crate::outbound::Link;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tracing::{debug, warn};
use trygg_sip::{Frame, Framer, Message, PONG};

/// Connections open at once, TCP and TLS together; more are closed at once.
pub const MAX_CONNECTIONS: usize = 20_000;

/// A connection with nothing received for this long is closed: longer than
/// the longest registration, so a device that re-registers in time keeps it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(3600 + 300);

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers waiting to be written to one connection; a device that does not
/// read its answers is disconnected rather than buffered without bound.
const WRITE_QUEUE: usize = 64;

/// Accepts connections until `stopped`.
pub(crate) async fn accept(
    shared: Arc<Shared>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    connections: Arc<Semaphore>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let (tcp, peer) = tokio::select! {
            _ = stopped.changed() => return,
            r = listener.accept() => match r {
                Ok(r) => r,
                Err(e) => {
                    debug!(error = %e, "SIP accept failed");
                    continue;
                }
            },
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            warn!(%peer, "too many SIP connections: closed");
            continue;
        };
        let local = match tcp.local_addr() {
            Ok(a) => a,
            Err(_) => continue,
        };
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        let tls = tls.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move {
            match tls {
                None => serve(shared, tcp, peer, local, false, stopped).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => serve(shared, stream, peer, local, true, stopped).await,
                        Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
}

/// Reads requests and responses from one connection and writes its answers.
async fn serve<S>(
    shared: Arc<Shared>,
    stream: S,
    peer: SocketAddr,
    local: SocketAddr,
    tls: bool,
    mut stopped: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
    let write = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let link = Link::Stream {
        peer,
        local,
        tls,
        writer: tx.clone(),
    };
    let mut framer = Framer::new();
    let mut buf = vec![0u8; 8192];
    'read: loop {
        let n = tokio::select! {
            _ = stopped.changed() => break,
            r = tokio::time::timeout(IDLE_TIMEOUT, reader.read(&mut buf)) => match r {
                Ok(Ok(0)) | Err(_) => break,
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    debug!(%peer, error = %e, "SIP connection read failed");
                    break;
                }
            },
        };
        let Some(read) = buf.get(..n) else { break };
        if let Err(e) = framer.push(read) {
            warn!(%peer, error = %e, "SIP connection closed: bad stream");
            break;
        }
        loop {
            match framer.next_frame() {
                Ok(None) => break,
                Ok(Some(Frame::Ping)) => {
                    if tx.try_send(PONG.to_vec()).is_err() {
                        break 'read;
                    }
                }
                Ok(Some(Frame::Message(Message::Response(response)))) => {
                    shared.outbound.on_response(&response);
                }
                Ok(Some(Frame::Message(Message::Request(request)))) => {
                    let Ok(permit) = shared.handler_permit() else {
                        warn!(%peer, "too many requests in progress: SIP connection closed");
                        break 'read;
                    };
                    tokio::spawn(handle(shared.clone(), request, link.clone(), permit));
                }
                Err(e) => {
                    warn!(%peer, error = %e, "SIP connection closed: bad message");
                    break 'read;
                }
            }
        }
    }
    drop(link);
    drop(tx);
    let _ = write.await;
}
