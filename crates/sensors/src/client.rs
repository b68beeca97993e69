//! The MQTT client, behind [`Connection`]: the ingest needs one
//! subscription with QoS 1 whose deliveries it acknowledges itself, and
//! nothing more. [`Rumqttc`] implements it with rumqttc's MQTT 5 client;
//! another client library would implement the same two traits.

use std::fmt;
use std::future::Future;
use std::time::Duration;

/// Where the broker is: `mqtt://host[:port]` (default port 1883), on this
/// machine.
///
/// Plain MQTT only: rumqttc's TLS features pin rustls-webpki 0.102, which
/// brings ring (banned in `deny.toml`: aws-lc-rs is the one crypto library)
/// and four advisories. So the broker runs beside Trygg and the ingest
/// reaches it over loopback ([`BrokerUrl::is_loopback`], checked by the
/// settings); devices reach the broker over TLS on its own listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Host name or address (an IPv6 address without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl BrokerUrl {
    /// Reads `mqtt://host[:port]`: no user, no password (those are settings
    /// of their own), no path.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim().trim_end_matches('/');
        if s.starts_with("mqtts://") {
            return Err(
                "mqtts:// is not supported: run the broker on this machine and give \
                        mqtt://127.0.0.1:PORT (see docs/design/alarms.md, \"Sensors over MQTT\")"
                    .to_owned(),
            );
        }
        let rest = s
            .strip_prefix("mqtt://")
            .ok_or("expected mqtt://host[:port]")?;
        if rest.contains(['/', '?', '#', '@', ' ']) {
            return Err("expected mqtt://host[:port], with no path, user or password".to_owned());
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or("an IPv6 address needs its closing ']'")?;
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err("not an IPv6 address between '[' and ']'".to_owned());
            }
            match after {
                "" => (host, None),
                p => (
                    host,
                    Some(p.strip_prefix(':').ok_or("expected ':' and a port")?),
                ),
            }
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b));
        if !host_ok {
            return Err("not a host name or address".to_owned());
        }
        let port = match port {
            None => 1883,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err("the port must be 1 to 65535".to_owned()),
            },
        };
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }

    /// Whether the host is this machine (`localhost` or a loopback
    /// address), where plain MQTT never leaves it.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "mqtt://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "mqtt://{}:{}", self.host, self.port)
        }
    }
}

/// What happened on the connection.
#[derive(Debug)]
pub enum Incoming<T> {
    /// Connected (again). `session_present`: the broker kept the session,
    /// with what it queued while Trygg was away.
    Connected {
        /// Whether the broker resumed the session.
        session_present: bool,
    },
    /// The broker granted the subscription.
    Subscribed,
    /// The broker refused the subscription (the ACL does not let the ingest
    /// user read the events).
    SubscriptionRefused,
    /// A message, to acknowledge with its token once it is handled.
    Delivery(Delivery<T>),
    /// Anything else (pings, acknowledgements going out).
    Other,
}

/// One message from the broker.
pub struct Delivery<T> {
    /// Its topic.
    pub topic: String,
    /// Its payload.
    pub payload: Vec<u8>,
    /// Set on a retained copy (an old message the broker kept), not a live one.
    pub retained: bool,
    /// What acknowledges it.
    pub token: T,
}

impl<T> fmt::Debug for Delivery<T> {
    // The payload says something about a person: never in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("topic", &self.topic)
            .field("payload_len", &self.payload.len())
            .field("retained", &self.retained)
            .finish_non_exhaustive()
    }
}

/// A connection problem, described without anything a message carried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConnectionError(pub String);

/// Acknowledges deliveries; cloned into the task that handles each one.
pub trait Acker: Clone + Send + Sync + 'static {
    /// What identifies a delivery to acknowledge.
    type Token: Send + 'static;
    /// Acknowledges: the broker forgets the message.
    fn ack(&self, token: Self::Token) -> impl Future<Output = Result<(), ConnectionError>> + Send;
}

/// A subscription to the devices' events with QoS 1, on a connection that
/// is made again after it breaks.
pub trait Connection: Send + 'static {
    /// Its acknowledger.
    type Acker: Acker;
    /// A handle to acknowledge deliveries with, from any task.
    fn acker(&self) -> Self::Acker;
    /// Waits for what happens next, connecting (and subscribing) first when
    /// not connected. After an error the next call connects again; waiting
    /// between attempts is the caller's.
    fn poll(
        &mut self,
    ) -> impl Future<Output = Result<Incoming<<Self::Acker as Acker>::Token>, ConnectionError>> + Send;
    /// Sends what is queued (acknowledgements) and disconnects, keeping the
    /// session at the broker.
    fn close(&mut self) -> impl Future<Output = ()> + Send;
}

/// How the ingest connects.
#[derive(Clone)]
pub struct ClientConfig {
    /// The broker.
    pub url: BrokerUrl,
    /// The ingest's user name; also its client id, so its session is found
    /// again after a restart.
    pub user: String,
    /// Its password.
    pub password: zeroize::Zeroizing<String>,
    /// Deliveries the broker may have unacknowledged at once (MQTT 5
    /// receive maximum).
    pub max_in_flight: u16,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}

/// How long the broker keeps the ingest's session (and queues its messages)
/// while Trygg is away: `u32::MAX` seconds means for ever (MQTT 5 §3.1.2.11.2).
const SESSION_EXPIRY: u32 = u32::MAX;

/// The largest packet the ingest takes. The broker drops a larger message
/// for this client instead of sending it (MQTT 5 §3.1.2.11.4), so one
/// oversized message cannot break the connection again at every redelivery.
const MAX_PACKET: u32 = 4 * 1024;

/// Seconds between pings.
const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// Seconds to connect.
const CONNECT_TIMEOUT: u64 = 10;

/// How long [`Connection::close`] waits to send what is queued.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// rumqttc's MQTT 5 client: persistent session (clean start off, a session
/// that does not expire), manual acknowledgements, receive maximum and
/// maximum packet size announced to the broker, and the subscription with
/// QoS 1 that never sends retained messages.
pub struct Rumqttc {
    client: rumqttc::v5::AsyncClient,
    events: rumqttc::v5::EventLoop,
}

impl fmt::Debug for Rumqttc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rumqttc").finish_non_exhaustive()
    }
}

impl Rumqttc {
    /// A client; it connects at the first [`Connection::poll`].
    pub fn new(config: &ClientConfig) -> Self {
        use rumqttc::v5::MqttOptions;
        let mut options = MqttOptions::new(
            config.user.clone(),
            config.url.host.clone(),
            config.url.port,
        );
        options
            .set_credentials(config.user.clone(), config.password.as_str())
            .set_keep_alive(KEEP_ALIVE)
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_clean_start(false)
            .set_session_expiry_interval(Some(SESSION_EXPIRY))
            .set_receive_maximum(Some(config.max_in_flight.max(1)))
            .set_max_packet_size(Some(MAX_PACKET))
            .set_manual_acks(true);
        // Room for every acknowledgement the broker can have outstanding,
        // so a handler never waits to queue its acknowledgement.
        let capacity = usize::from(config.max_in_flight.max(1)) + 16;
        let (client, events) = rumqttc::v5::AsyncClient::new(options, capacity);
        Self { client, events }
    }

    async fn subscribe(client: &rumqttc::v5::AsyncClient) -> Result<(), ConnectionError> {
        use rumqttc::v5::mqttbytes::QoS;
        use rumqttc::v5::mqttbytes::v5::{Filter, RetainForwardRule};
        let mut filter = Filter::new(crate::event::TOPIC_FILTER, QoS::AtLeastOnce);
        // A retained message is an old one: never replayed as an event.
        filter.retain_forward_rule = RetainForwardRule::Never;
        filter.preserve_retain = false;
        client
            .subscribe_many([filter])
            .await
            .map_err(|e| ConnectionError(format!("cannot subscribe: {e}")))
    }
}

/// rumqttc's acknowledger: its client and the publish to acknowledge.
#[derive(Clone)]
pub struct RumqttcAcker(rumqttc::v5::AsyncClient);

impl fmt::Debug for RumqttcAcker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RumqttcAcker")
    }
}

/// What acknowledges one rumqttc delivery.
pub struct RumqttcToken(rumqttc::v5::mqttbytes::v5::Publish);

impl fmt::Debug for RumqttcToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RumqttcToken").field(&self.0.pkid).finish()
    }
}

impl Acker for RumqttcAcker {
    type Token = RumqttcToken;

    async fn ack(&self, token: RumqttcToken) -> Result<(), ConnectionError> {
        self.0
            .ack(&token.0)
            .await
            .map_err(|_| ConnectionError("the MQTT client has stopped".to_owned()))
    }
}

/// A rumqttc error without anything a packet carried.
fn describe(e: &rumqttc::v5::ConnectionError) -> ConnectionError {
    use rumqttc::v5::ConnectionError as E;
    ConnectionError(match e {
        E::ConnectionRefused(code) => format!("the broker refused the connection: {code:?}"),
        E::NotConnAck(_) => "the broker did not answer CONNECT with CONNACK".to_owned(),
        E::Timeout(_) => "timed out".to_owned(),
        E::Io(e) => format!("I/O: {e}"),
        E::MqttState(rumqttc::v5::StateError::ServerDisconnect { reason_code, .. }) => {
            format!("the broker disconnected: {reason_code:?}")
        }
        E::MqttState(rumqttc::v5::StateError::Deserialization(_)) => {
            "a packet from the broker could not be read".to_owned()
        }
        E::MqttState(e) => format!("MQTT: {e}"),
        E::RequestsDone => "the MQTT client has stopped".to_owned(),
    })
}

impl Connection for Rumqttc {
    type Acker = RumqttcAcker;

    fn acker(&self) -> RumqttcAcker {
        RumqttcAcker(self.client.clone())
    }

    async fn poll(&mut self) -> Result<Incoming<RumqttcToken>, ConnectionError> {
        use rumqttc::v5::Event;
        use rumqttc::v5::mqttbytes::v5::{Packet, SubscribeReasonCode};
        let event = self.events.poll().await.map_err(|e| describe(&e))?;
        Ok(match event {
            Event::Incoming(Packet::ConnAck(ack)) => {
                Self::subscribe(&self.client).await?;
                Incoming::Connected {
                    session_present: ack.session_present,
                }
            }
            Event::Incoming(Packet::SubAck(ack)) => {
                if ack
                    .return_codes
                    .iter()
                    .all(|c| matches!(c, SubscribeReasonCode::Success(_)))
                {
                    Incoming::Subscribed
                } else {
                    Incoming::SubscriptionRefused
                }
            }
            Event::Incoming(Packet::Publish(publish)) => Incoming::Delivery(Delivery {
                topic: String::from_utf8_lossy(&publish.topic).into_owned(),
                payload: publish.payload.to_vec(),
                retained: publish.retain,
                token: RumqttcToken(publish),
            }),
            Event::Incoming(_) | Event::Outgoing(_) => Incoming::Other,
        })
    }

    async fn close(&mut self) {
        use rumqttc::Outgoing;
        use rumqttc::v5::Event;
        if self.client.disconnect().await.is_err() {
            return;
        }
        // The acknowledgements queued before the DISCONNECT go out first.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            loop {
                match self.events.poll().await {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        let url = BrokerUrl::parse("mqtt://127.0.0.1:1883").unwrap();
        assert_eq!(
            url,
            BrokerUrl {
                host: "127.0.0.1".into(),
                port: 1883
            }
        );
        assert!(url.is_loopback());
        assert_eq!(url.to_string(), "mqtt://127.0.0.1:1883");
        let url = BrokerUrl::parse("mqtt://broker.exempelby.se").unwrap();
        assert_eq!(url.port, 1883);
        assert!(!url.is_loopback());
        assert_eq!(BrokerUrl::parse("mqtt://localhost/").unwrap().port, 1883);
        assert!(BrokerUrl::parse("mqtt://LOCALHOST").unwrap().is_loopback());
        let v6 = BrokerUrl::parse("mqtt://[::1]:1884").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 1884));
        assert!(v6.is_loopback());
        assert_eq!(v6.to_string(), "mqtt://[::1]:1884");
        assert!(
            BrokerUrl::parse("mqtts://127.0.0.1")
                .unwrap_err()
                .contains("not supported")
        );
        for bad in [
            "",
            "tcp://x",
            "mqtt://",
            "mqtt://user:pw@host",
            "mqtt://host/path",
            "mqtt://host:0",
            "mqtt://host:65536",
            "mqtt://host:x",
            "mqtt://[::1",
            "mqtt://[x]:1",
            "mqtt://ho st",
            "mqtt://host?x=1",
        ] {
            assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
