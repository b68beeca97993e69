//! Starts a simulator and a client pointed at it.

use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;
use time::macros::{date, datetime};
use trygg_bankid::{
    AuthRequest, BankIdClient, BankIdConfig, BankIdSimulator, CollectStatus, DemoIdentity, Order,
    SimulatorServer,
};
use trygg_domain::{IdentityNumber, IdentityNumberKind, ManualClock};

pub const END_USER_IP: &str = "198.51.100.23";

pub fn tolvan() -> DemoIdentity {
    DemoIdentity {
        personal_number: IdentityNumber::parse_canonical("191212121212").unwrap(),
        given_name: "Tolvan".into(),
        surname: "Tolvansson".into(),
    }
}

pub fn astrid() -> DemoIdentity {
    DemoIdentity {
        personal_number: IdentityNumber::from_parts(
            date!(1948 - 07 - 14),
            123,
            IdentityNumberKind::Personnummer,
        )
        .unwrap(),
        given_name: "Astrid".into(),
        surname: "Lindqvist".into(),
    }
}

pub struct Sim {
    pub clock: ManualClock,
    pub server: SimulatorServer,
    pub client: BankIdClient,
    pub base: String,
    pub http: reqwest::Client,
}

pub async fn start() -> Sim {
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let simulator = BankIdSimulator::new(Arc::new(clock.clone()), vec![tolvan(), astrid()]);
    let server = simulator
        .serve("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let base = format!("http://{}", server.addr());
    let client = BankIdClient::new(BankIdConfig {
        base_url: base.clone(),
        client_identity: None,
        ca_pem: None,
    })
    .unwrap();
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Sim {
        clock,
        server,
        client,
        base,
        http,
    }
}

impl Sim {
    pub fn ip(&self) -> IpAddr {
        END_USER_IP.parse().unwrap()
    }

    pub async fn auth(&self) -> Order {
        self.client
            .auth(&AuthRequest {
                end_user_ip: self.ip(),
                user_visible_data: Some("Logga in på **Trygg**".into()),
                requirement: None,
            })
            .await
            .unwrap()
    }

    pub async fn status(&self, order: &Order) -> CollectStatus {
        let collect = self.client.collect(&order.order_ref).await.unwrap();
        assert_eq!(collect.order_ref, order.order_ref);
        collect.status
    }

    /// POSTs raw bytes; returns the status and the body parsed as JSON
    /// (`Value::Null` when it is not JSON).
    pub async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn control(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_raw(path, "application/json", &body.to_string())
            .await
    }

    pub async fn order_control(&self, order: &Order, action: &str, body: Value) -> Value {
        let (status, body) = self
            .control(
                &format!("/simulator/orders/{}/{action}", order.order_ref),
                body,
            )
            .await;
        assert_eq!(status, 200, "{action}: {body}");
        body
    }
}
