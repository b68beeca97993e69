//! The RP API's requests and responses, typed.
//!
//! Field names on the wire are camelCase as published by BankID
//! (<https://developers.bankid.com/api-references/auth--sign/auth>).

use serde::Serialize;
use std::fmt;
use std::net::IpAddr;
use trygg_domain::IdentityNumber;
use zeroize::Zeroizing;

/// Starts an identification (`/auth`).
///
/// There is deliberately no personal-number field: orders are started
/// securely (QR code or autostart) and BankID tells us who identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// The user's IP address as seen by our server (`endUserIp`).
    pub end_user_ip: IpAddr,
    /// Text shown in the BankID app (simple Markdown v1); sent base64-encoded
    /// with `userVisibleDataFormat: simpleMarkdownV1`.
    pub user_visible_data: Option<String>,
    /// Restrictions on how the order may be completed.
    pub requirement: Option<Requirement>,
}

/// Starts a signature (`/sign`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRequest {
    /// The user's IP address as seen by our server (`endUserIp`).
    pub end_user_ip: IpAddr,
    /// What the user signs, shown in the app (simple Markdown v1).
    pub user_visible_data: String,
    /// Data signed but not shown (for example a document hash).
    pub user_non_visible_data: Option<Vec<u8>>,
    /// Restrictions on how the order may be completed.
    pub requirement: Option<Requirement>,
}

/// `requirement`: conditions the order must meet. (The API's
/// `personalNumber` requirement is intentionally not offered.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirement {
    /// Require the security code (PIN) rather than biometrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_code: Option<bool>,
    /// Require an ID document check (MRTD) in the app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mrtd: Option<bool>,
    /// Card reader class for BankID on card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_reader: Option<CardReader>,
    /// Allowed certificate policy OIDs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificate_policies: Vec<String>,
}

/// `requirement.cardReader`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CardReader {
    /// PIN entered on the computer keyboard, or a better reader.
    Class1,
    /// PIN entered on the reader itself.
    Class2,
}

/// `qrStartSecret`: the key of the animated QR code's HMAC. Secret: never
/// shown to the user, never logged, never sent to the browser.
#[derive(Clone, PartialEq, Eq)]
pub struct QrStartSecret(Zeroizing<String>);

impl QrStartSecret {
    /// Wraps a secret (as received from `/auth` or `/sign`, or read back
    /// from the caller's encrypted session store).
    pub fn new(secret: String) -> Self {
        Self(Zeroizing::new(secret))
    }

    /// The secret itself, for computing QR frames or storing it encrypted.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for QrStartSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QrStartSecret(<redacted>)")
    }
}

/// A started order (the response of `/auth` and `/sign`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Identifies the order in `/collect` and `/cancel`.
    pub order_ref: String,
    /// Starts the BankID app on the same device (see [`crate::qr::autostart_url`]).
    pub auto_start_token: String,
    /// The public part of the animated QR code.
    pub qr_start_token: String,
    /// The secret part of the animated QR code.
    pub qr_start_secret: QrStartSecret,
}

/// The response of `/collect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collect {
    /// The order collected.
    pub order_ref: String,
    /// Where it stands.
    pub status: CollectStatus,
}

/// `status` with its `hintCode` or `completionData`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectStatus {
    /// `pending`: keep collecting (every two seconds).
    Pending {
        /// What the user is doing.
        hint_code: HintCode,
    },
    /// `failed`: final; the order is gone, start a new one if the user wants.
    Failed {
        /// Why it failed.
        hint_code: HintCode,
    },
    /// `complete`: final; the user identified or signed.
    Complete(CompletionData),
}

/// `hintCode` of a pending or failed order. Codes this crate does not know
/// are kept in [`HintCode::Unknown`] and get the generic message (RFA21 when
/// pending, RFA22 when failed), as BankID asks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HintCode {
    /// Pending: the order has not yet reached the app.
    OutstandingTransaction,
    /// Pending: the app has not yet fetched the order.
    NoClient,
    /// Pending: the app started (via autostart or QR) and looks for a usable BankID.
    Started,
    /// Pending: the user is asked to scan an ID document (MRTD).
    UserMrtd,
    /// Pending: the user is asked to confirm a phone call (phone orders).
    UserCallConfirm,
    /// Pending: the app shows the order; waiting for the security code.
    UserSign,
    /// Failed: the order expired.
    ExpiredTransaction,
    /// Failed: the BankID is blocked, revoked or too old.
    CertificateErr,
    /// Failed: the user cancelled in the app.
    UserCancel,
    /// Failed: cancelled by BankID (for example a new order for the user).
    Cancelled,
    /// Failed: the app was not started (QR not scanned, autostart failed) in time.
    StartFailed,
    /// A code not known to this crate (handled generically).
    Unknown(String),
}

impl HintCode {
    /// The code as on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            HintCode::OutstandingTransaction => "outstandingTransaction",
            HintCode::NoClient => "noClient",
            HintCode::Started => "started",
            HintCode::UserMrtd => "userMrtd",
            HintCode::UserCallConfirm => "userCallConfirm",
            HintCode::UserSign => "userSign",
            HintCode::ExpiredTransaction => "expiredTransaction",
            HintCode::CertificateErr => "certificateErr",
            HintCode::UserCancel => "userCancel",
            HintCode::Cancelled => "cancelled",
            HintCode::StartFailed => "startFailed",
            HintCode::Unknown(code) => code,
        }
    }

    /// Reads a code from the wire; anything unknown becomes [`HintCode::Unknown`].
    pub fn parse(code: &str) -> Self {
        match code {
            "outstandingTransaction" => HintCode::OutstandingTransaction,
            "noClient" => HintCode::NoClient,
            "started" => HintCode::Started,
            "userMrtd" => HintCode::UserMrtd,
            "userCallConfirm" => HintCode::UserCallConfirm,
            "userSign" => HintCode::UserSign,
            "expiredTransaction" => HintCode::ExpiredTransaction,
            "certificateErr" => HintCode::CertificateErr,
            "userCancel" => HintCode::UserCancel,
            "cancelled" => HintCode::Cancelled,
            "startFailed" => HintCode::StartFailed,
            other => HintCode::Unknown(other.to_owned()),
        }
    }

    /// Whether BankID documents this code for failed orders.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            HintCode::ExpiredTransaction
                | HintCode::CertificateErr
                | HintCode::UserCancel
                | HintCode::Cancelled
                | HintCode::StartFailed
        )
    }
}

impl fmt::Display for HintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `completionData` of a complete order. `Debug` is redacted: it holds
/// personal data (in the user, and inside the signature and OCSP response).
#[derive(Clone, PartialEq, Eq)]
pub struct CompletionData {
    /// Who identified or signed.
    pub user: User,
    /// The device the user used.
    pub device: Device,
    /// When the user's BankID was issued (`bankIdIssueDate`).
    pub bank_id_issue_date: time::Date,
    /// Extra checks performed (`stepUp`), when requested.
    pub step_up: Option<StepUp>,
    /// The signature (base64-encoded XML signature).
    pub signature: String,
    /// The OCSP response for the user's certificate (base64).
    pub ocsp_response: String,
}

impl fmt::Debug for CompletionData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletionData")
            .field("user", &self.user)
            .field("device", &self.device)
            .field("bank_id_issue_date", &self.bank_id_issue_date)
            .field("step_up", &self.step_up)
            .field(
                "signature",
                &format_args!("<{} chars>", self.signature.len()),
            )
            .field(
                "ocsp_response",
                &format_args!("<{} chars>", self.ocsp_response.len()),
            )
            .finish()
    }
}

/// `completionData.user`. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// `personalNumber`: 12 digits, parsed and checked.
    pub personal_number: IdentityNumber,
    /// `name`: given name and surname.
    pub name: String,
    /// `givenName`.
    pub given_name: String,
    /// `surname`.
    pub surname: String,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("User(<redacted>)")
    }
}

/// `completionData.device`. `Debug` is redacted (an IP address is personal data).
#[derive(Clone, PartialEq, Eq)]
pub struct Device {
    /// `ipAddress`: the user's IP address as BankID saw it.
    pub ip_address: IpAddr,
    /// `uhi`: an identifier of the user's device, when BankID sends one.
    pub uhi: Option<String>,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Device(<redacted>)")
    }
}

/// `completionData.stepUp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepUp {
    /// Whether an ID document check (MRTD) was performed.
    pub mrtd: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_codes_round_trip_and_unknown_is_kept() {
        for code in [
            "outstandingTransaction",
            "noClient",
            "started",
            "userMrtd",
            "userCallConfirm",
            "userSign",
            "expiredTransaction",
            "certificateErr",
            "userCancel",
            "cancelled",
            "startFailed",
            "somethingNew",
        ] {
            assert_eq!(HintCode::parse(code).as_str(), code);
        }
        assert_eq!(
            HintCode::parse("somethingNew"),
            HintCode::Unknown("somethingNew".into())
        );
        assert!(HintCode::StartFailed.is_failure());
        assert!(!HintCode::UserSign.is_failure());
    }

    #[test]
    fn secrets_and_personal_data_are_redacted_in_debug() {
        let secret = QrStartSecret::new("d28db9a7-4cde-429e-a983-359be676944c".into());
        assert!(!format!("{secret:?}").contains("d28db9a7"));
        let order = Order {
            order_ref: "o".into(),
            auto_start_token: "a".into(),
            qr_start_token: "q".into(),
            qr_start_secret: secret,
        };
        assert!(!format!("{order:?}").contains("d28db9a7"));

        let data = CompletionData {
            user: User {
                personal_number: IdentityNumber::parse_canonical("191212121212").unwrap(),
                name: "Tolvan Tolvansson".into(),
                given_name: "Tolvan".into(),
                surname: "Tolvansson".into(),
            },
            device: Device {
                ip_address: "192.0.2.1".parse().unwrap(),
                uhi: None,
            },
            bank_id_issue_date: time::macros::date!(2024 - 01 - 01),
            step_up: None,
            signature: "PHNpZ25hdHVyZT4=".into(),
            ocsp_response: "b2NzcA==".into(),
        };
        let shown = format!("{data:?}");
        for leak in ["1912", "Tolvan", "192.0.2.1", "PHNp", "b2Nz"] {
            assert!(!shown.contains(leak), "{shown} leaks {leak}");
        }
    }
}
