//! The RP API v6 client: HTTPS POST with JSON bodies and mutual TLS.
//!
//! Usage: [`BankIdClient::auth`] (or [`sign`](BankIdClient::sign)), then show
//! the animated QR code ([`crate::qr`]) or open the autostart URL, then
//! [`collect`](BankIdClient::collect) every two seconds until the status is
//! `complete` or `failed`, showing [`crate::user_message`] meanwhile; call
//! [`cancel`](BankIdClient::cancel) if the user gives up in our service.

use crate::error::{BankIdError, ConfigError};
use crate::model::{
    AuthRequest, Collect, CollectStatus, CompletionData, Device, HintCode, Order, QrStartSecret,
    Requirement, SignRequest, StepUp, User,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trygg_domain::IdentityNumber;
use zeroize::Zeroizing;

/// BankID's production server.
pub const PRODUCTION_BASE_URL: &str = "https://appapi2.bankid.com";
/// BankID's test server.
pub const TEST_BASE_URL: &str = "https://appapi2.test.bankid.com";
/// The API version path this client speaks.
pub const API_PATH: &str = "/rp/v6.0";

const USER_VISIBLE_DATA_FORMAT: &str = "simpleMarkdownV1";

/// Where and how to reach BankID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankIdConfig {
    /// Scheme, host and port only, for example [`PRODUCTION_BASE_URL`] or the
    /// simulator's `http://127.0.0.1:PORT`; the client adds `/rp/v6.0/…`.
    pub base_url: String,
    /// The RP certificate and its private key (PEM files): the client
    /// identity for mutual TLS. Required by BankID's servers.
    pub client_identity: Option<(PathBuf, PathBuf)>,
    /// When set, the only certificate authority trusted for the server
    /// (BankID's issuing CA, or the simulator's test CA).
    pub ca_pem: Option<PathBuf>,
}

/// A client of the BankID RP API. Cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct BankIdClient {
    http: reqwest::Client,
    api: String,
}

impl fmt::Debug for BankIdClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BankIdClient")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl BankIdClient {
    /// Builds the client: reads the identity and CA files once.
    pub fn new(config: BankIdConfig) -> Result<Self, ConfigError> {
        let base = config.base_url.trim_end_matches('/');
        let url = reqwest::Url::parse(base).map_err(|_| ConfigError::BaseUrl(base.to_owned()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::BaseUrl(base.to_owned()));
        }
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("trygg-bankid/", env!("CARGO_PKG_VERSION")));
        if let Some((cert, key)) = &config.client_identity {
            let cert_pem = read(cert)?;
            let key_pem = Zeroizing::new(read(key)?);
            // Sized up front so the key is never left behind in a reallocation.
            let mut pem = Zeroizing::new(Vec::with_capacity(cert_pem.len() + 1 + key_pem.len()));
            pem.extend_from_slice(&cert_pem);
            pem.push(b'\n');
            pem.extend_from_slice(&key_pem);
            let identity =
                reqwest::Identity::from_pem(&pem).map_err(|e| ConfigError::Identity {
                    path: cert.clone(),
                    reason: e.to_string(),
                })?;
            builder = builder.identity(identity);
        }
        if let Some(ca) = &config.ca_pem {
            let certs =
                reqwest::Certificate::from_pem_bundle(&read(ca)?).map_err(|e| ConfigError::Ca {
                    path: ca.clone(),
                    reason: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(ConfigError::Ca {
                    path: ca.clone(),
                    reason: "no certificate in file".into(),
                });
            }
            builder = builder.tls_certs_only(certs);
        }
        let http = builder
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        Ok(Self {
            http,
            api: format!("{base}{API_PATH}"),
        })
    }

    /// `/auth`: starts an identification.
    pub async fn auth(&self, request: &AuthRequest) -> Result<Order, BankIdError> {
        let body = StartBody {
            end_user_ip: request.end_user_ip.to_string(),
            user_visible_data: request.user_visible_data.as_deref().map(encode_text),
            user_visible_data_format: request
                .user_visible_data
                .as_ref()
                .map(|_| USER_VISIBLE_DATA_FORMAT),
            user_non_visible_data: None,
            requirement: request.requirement.as_ref(),
        };
        let order: OrderWire = self.call("auth", &body).await?;
        Ok(order.into())
    }

    /// `/sign`: starts a signature of `user_visible_data`.
    pub async fn sign(&self, request: &SignRequest) -> Result<Order, BankIdError> {
        let body = StartBody {
            end_user_ip: request.end_user_ip.to_string(),
            user_visible_data: Some(encode_text(&request.user_visible_data)),
            user_visible_data_format: Some(USER_VISIBLE_DATA_FORMAT),
            user_non_visible_data: request
                .user_non_visible_data
                .as_deref()
                .map(|data| BASE64.encode(data)),
            requirement: request.requirement.as_ref(),
        };
        let order: OrderWire = self.call("sign", &body).await?;
        Ok(order.into())
    }

    /// `/collect`: where the order stands. Call every two seconds while
    /// pending; stop at `complete` or `failed`.
    pub async fn collect(&self, order_ref: &str) -> Result<Collect, BankIdError> {
        let wire: CollectWire = self.call("collect", &OrderRefBody { order_ref }).await?;
        let result = wire.into_collect();
        if let Err(error) = &result {
            log(error, "collect");
        }
        result
    }

    /// `/cancel`: cancels a pending order (the user gave up in our service).
    pub async fn cancel(&self, order_ref: &str) -> Result<(), BankIdError> {
        let _: serde_json::Value = self.call("cancel", &OrderRefBody { order_ref }).await?;
        Ok(())
    }

    async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        method: &'static str,
        body: &B,
    ) -> Result<R, BankIdError> {
        let result = self.call_inner(method, body).await;
        if let Err(error) = &result {
            log(error, method);
        }
        result
    }

    async fn call_inner<B: Serialize, R: DeserializeOwned>(
        &self,
        method: &'static str,
        body: &B,
    ) -> Result<R, BankIdError> {
        let response = self
            .http
            .post(format!("{}/{method}", self.api))
            .json(body)
            .send()
            .await
            .map_err(|e| BankIdError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| BankIdError::Transport(e.without_url().to_string()))?;
        if status == reqwest::StatusCode::OK {
            serde_json::from_slice(&bytes).map_err(|e| {
                BankIdError::UnexpectedResponse(format!("{method}: body does not parse: {e}"))
            })
        } else {
            Err(error_from_response(status.as_u16(), &bytes))
        }
    }
}

/// Logs a failed call: our own faults at error level (they need fixing), the
/// documented BankID answers at warn level. Never the request or response
/// bodies (they hold personal data and secrets).
fn log(error: &BankIdError, method: &str) {
    if error.is_our_fault() {
        tracing::error!(%error, method, "BankID call failed");
    } else {
        tracing::warn!(%error, method, "BankID call failed");
    }
}

/// Maps an error answer (HTTP status and the `{"errorCode","details"}` body)
/// to a [`BankIdError`]. The `errorCode` decides when it is one BankID
/// documents; otherwise the status.
pub(crate) fn error_from_response(status: u16, body: &[u8]) -> BankIdError {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ErrorBody {
        error_code: Option<String>,
        details: Option<String>,
    }
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
    let code = parsed.as_ref().and_then(|b| b.error_code.as_deref());
    let details = parsed
        .as_ref()
        .and_then(|b| b.details.clone())
        .unwrap_or_default();
    match (code, status) {
        (Some("alreadyInProgress"), _) => BankIdError::AlreadyInProgress,
        (Some("invalidParameters"), _) => BankIdError::InvalidParameters(details),
        (Some("unauthorized"), _) | (None, 401 | 403) => BankIdError::Unauthorized,
        (Some("notFound"), _) | (None, 404) => BankIdError::NotFound,
        (Some("requestTimeout"), _) | (None, 408) => BankIdError::RequestTimeout,
        (Some("internalError"), _) | (None, 500) => BankIdError::InternalError,
        (Some("maintenance"), _) | (None, 503) => BankIdError::Maintenance,
        (Some(other), _) => {
            BankIdError::UnexpectedResponse(format!("HTTP {status}, errorCode {other}: {details}"))
        }
        (None, _) => BankIdError::UnexpectedResponse(format!("HTTP {status}")),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

fn encode_text(text: &str) -> String {
    BASE64.encode(text.as_bytes())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartBody<'a> {
    end_user_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_visible_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_visible_data_format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_non_visible_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requirement: Option<&'a Requirement>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderRefBody<'a> {
    order_ref: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderWire {
    order_ref: String,
    auto_start_token: String,
    qr_start_token: String,
    qr_start_secret: String,
}

impl From<OrderWire> for Order {
    fn from(wire: OrderWire) -> Self {
        Order {
            order_ref: wire.order_ref,
            auto_start_token: wire.auto_start_token,
            qr_start_token: wire.qr_start_token,
            qr_start_secret: QrStartSecret::new(wire.qr_start_secret),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CollectWire {
    order_ref: String,
    status: String,
    hint_code: Option<String>,
    completion_data: Option<CompletionWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompletionWire {
    user: UserWire,
    device: DeviceWire,
    bank_id_issue_date: String,
    step_up: Option<StepUpWire>,
    signature: String,
    ocsp_response: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserWire {
    personal_number: String,
    name: String,
    given_name: String,
    surname: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceWire {
    ip_address: String,
    uhi: Option<String>,
}

#[derive(Deserialize)]
struct StepUpWire {
    mrtd: bool,
}

impl CollectWire {
    fn into_collect(self) -> Result<Collect, BankIdError> {
        let hint = || HintCode::parse(self.hint_code.as_deref().unwrap_or_default());
        let status = match self.status.as_str() {
            "pending" => CollectStatus::Pending { hint_code: hint() },
            "failed" => CollectStatus::Failed { hint_code: hint() },
            "complete" => {
                let data = self.completion_data.ok_or_else(|| {
                    BankIdError::UnexpectedResponse(
                        "collect: complete without completionData".into(),
                    )
                })?;
                CollectStatus::Complete(data.into_completion()?)
            }
            other => {
                return Err(BankIdError::UnexpectedResponse(format!(
                    "collect: unknown status {other:?}"
                )));
            }
        };
        Ok(Collect {
            order_ref: self.order_ref,
            status,
        })
    }
}

impl CompletionWire {
    fn into_completion(self) -> Result<CompletionData, BankIdError> {
        let bad = |field: &str| {
            BankIdError::UnexpectedResponse(format!("collect: completionData.{field} is not valid"))
        };
        let personal_number = IdentityNumber::parse_canonical(&self.user.personal_number)
            .map_err(|_| bad("user.personalNumber"))?;
        let ip_address = self
            .device
            .ip_address
            .parse()
            .map_err(|_| bad("device.ipAddress"))?;
        let date_format = time::macros::format_description!("[year]-[month]-[day]");
        let bank_id_issue_date = self
            .bank_id_issue_date
            .get(..10)
            .and_then(|date| time::Date::parse(date, &date_format).ok())
            .ok_or_else(|| bad("bankIdIssueDate"))?;
        Ok(CompletionData {
            user: User {
                personal_number,
                name: self.user.name,
                given_name: self.user.given_name,
                surname: self.user.surname,
            },
            device: Device {
                ip_address,
                uhi: self.device.uhi,
            },
            bank_id_issue_date,
            step_up: self.step_up.map(|s| StepUp { mrtd: s.mrtd }),
            signature: self.signature,
            ocsp_response: self.ocsp_response,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_from_status_and_error_code() {
        let body = |code: &str| format!(r#"{{"errorCode":"{code}","details":"d"}}"#).into_bytes();
        assert_eq!(
            error_from_response(400, &body("alreadyInProgress")),
            BankIdError::AlreadyInProgress
        );
        assert_eq!(
            error_from_response(400, &body("invalidParameters")),
            BankIdError::InvalidParameters("d".into())
        );
        assert_eq!(
            error_from_response(401, &body("unauthorized")),
            BankIdError::Unauthorized
        );
        assert_eq!(error_from_response(403, b""), BankIdError::Unauthorized);
        assert_eq!(
            error_from_response(404, &body("notFound")),
            BankIdError::NotFound
        );
        assert_eq!(
            error_from_response(408, &body("requestTimeout")),
            BankIdError::RequestTimeout
        );
        assert_eq!(
            error_from_response(500, &body("internalError")),
            BankIdError::InternalError
        );
        assert_eq!(
            error_from_response(503, &body("maintenance")),
            BankIdError::Maintenance
        );
        assert_eq!(
            error_from_response(503, b"<html>"),
            BankIdError::Maintenance
        );
        assert!(matches!(
            error_from_response(415, &body("unsupportedMediaType")),
            BankIdError::UnexpectedResponse(_)
        ));
        assert!(matches!(
            error_from_response(418, b""),
            BankIdError::UnexpectedResponse(_)
        ));
    }

    #[test]
    fn collect_answers_parse() {
        let pending: CollectWire =
            serde_json::from_str(r#"{"orderRef":"o","status":"pending","hintCode":"userMrtd"}"#)
                .unwrap();
        assert_eq!(
            pending.into_collect().unwrap().status,
            CollectStatus::Pending {
                hint_code: HintCode::UserMrtd
            }
        );
        let complete: CollectWire = serde_json::from_str(
            r#"{"orderRef":"o","status":"complete","completionData":{
                "user":{"personalNumber":"191212121212","name":"Tolvan Tolvansson",
                        "givenName":"Tolvan","surname":"Tolvansson"},
                "device":{"ipAddress":"192.0.2.1","uhi":"OZvYM9VvyiAmG7NA5jU5zRGcHaBfkdLs"},
                "bankIdIssueDate":"2020-02-01","stepUp":{"mrtd":true},
                "signature":"PD94","ocspResponse":"MIIH"}}"#,
        )
        .unwrap();
        let CollectStatus::Complete(data) = complete.into_collect().unwrap().status else {
            panic!("not complete");
        };
        assert_eq!(data.user.personal_number.canonical(), "191212121212");
        assert_eq!(data.user.given_name, "Tolvan");
        assert_eq!(data.bank_id_issue_date, time::macros::date!(2020 - 02 - 01));
        assert_eq!(data.step_up, Some(StepUp { mrtd: true }));

        let bad: CollectWire =
            serde_json::from_str(r#"{"orderRef":"o","status":"exploded"}"#).unwrap();
        assert!(matches!(
            bad.into_collect(),
            Err(BankIdError::UnexpectedResponse(_))
        ));
    }

    #[test]
    fn base_url_must_be_http() {
        let config = |url: &str| BankIdConfig {
            base_url: url.into(),
            client_identity: None,
            ca_pem: None,
        };
        assert!(BankIdClient::new(config("ftp://x")).is_err());
        assert!(BankIdClient::new(config("not a url")).is_err());
        let client = BankIdClient::new(config("https://appapi2.test.bankid.com/")).unwrap();
        assert_eq!(client.api, "https://appapi2.test.bankid.com/rp/v6.0");
    }
}
