//! BankID's recommended user messages ("RFA" texts) and when to show them.
//!
//! Texts as published at <https://developers.bankid.com/ui-resources/user-messages>
//! (Swedish and English). RFA18 (the label of the link or button that starts
//! the app) is from BankID's Relying Party Guidelines, where it was last
//! published. One deliberate correction: BankID's RFA15B says "gitligt";
//! shown here as "giltigt".
//!
//! The mapping from a collect answer follows BankID's table:
//!
//! | status  | hintCode                         | message                                   |
//! |---------|----------------------------------|-------------------------------------------|
//! | pending | outstandingTransaction           | RFA13 (same device), RFA1 (QR code)       |
//! | pending | noClient                         | RFA1                                      |
//! | pending | started                          | RFA15A (computer), RFA15B (mobile device) |
//! | pending | userSign                         | RFA9                                      |
//! | pending | userMrtd                         | RFA23                                     |
//! | pending | other (also userCallConfirm)     | RFA21                                     |
//! | failed  | expiredTransaction               | RFA8                                      |
//! | failed  | certificateErr                   | RFA16                                     |
//! | failed  | userCancel                       | RFA6                                      |
//! | failed  | cancelled                        | RFA3                                      |
//! | failed  | startFailed                      | RFA17A (same device), RFA17B (QR code)    |
//! | failed  | other                            | RFA22                                     |
//!
//! Errors of the API itself: see [`crate::BankIdError::user_message`].

use crate::model::{CollectStatus, HintCode};
use std::fmt;

/// One of BankID's recommended user messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rfa {
    /// Start the app.
    Rfa1,
    /// The app is not installed.
    Rfa2,
    /// Cancelled (by BankID); try again.
    Rfa3,
    /// An order is already in progress.
    Rfa4,
    /// Something went wrong (BankID's side); try again.
    Rfa5,
    /// Cancelled (by the user).
    Rfa6,
    /// The app does not respond (order expired).
    Rfa8,
    /// Enter your security code.
    Rfa9,
    /// Trying to start the app.
    Rfa13,
    /// Searching for a BankID on this computer.
    Rfa15A,
    /// Searching for a BankID on this device.
    Rfa15B,
    /// The BankID is too old or blocked.
    Rfa16,
    /// The app seems to be missing (same-device start failed).
    Rfa17A,
    /// The QR code could not be read.
    Rfa17B,
    /// Label of the link or button that starts the app.
    Rfa18,
    /// Choice on a computer: this computer or Mobile BankID.
    Rfa19,
    /// Choice on a mobile device: this device or another device.
    Rfa20,
    /// Identification or signing in progress (unknown pending hint).
    Rfa21,
    /// Something went wrong (unknown failure, or a fault on our side).
    Rfa22,
    /// Scan your ID document with the app.
    Rfa23,
}

impl Rfa {
    /// Every message, in BankID's order.
    pub const ALL: [Rfa; 20] = [
        Rfa::Rfa1,
        Rfa::Rfa2,
        Rfa::Rfa3,
        Rfa::Rfa4,
        Rfa::Rfa5,
        Rfa::Rfa6,
        Rfa::Rfa8,
        Rfa::Rfa9,
        Rfa::Rfa13,
        Rfa::Rfa15A,
        Rfa::Rfa15B,
        Rfa::Rfa16,
        Rfa::Rfa17A,
        Rfa::Rfa17B,
        Rfa::Rfa18,
        Rfa::Rfa19,
        Rfa::Rfa20,
        Rfa::Rfa21,
        Rfa::Rfa22,
        Rfa::Rfa23,
    ];

    /// BankID's short name, for example `RFA17B`.
    pub fn code(self) -> &'static str {
        match self {
            Rfa::Rfa1 => "RFA1",
            Rfa::Rfa2 => "RFA2",
            Rfa::Rfa3 => "RFA3",
            Rfa::Rfa4 => "RFA4",
            Rfa::Rfa5 => "RFA5",
            Rfa::Rfa6 => "RFA6",
            Rfa::Rfa8 => "RFA8",
            Rfa::Rfa9 => "RFA9",
            Rfa::Rfa13 => "RFA13",
            Rfa::Rfa15A => "RFA15A",
            Rfa::Rfa15B => "RFA15B",
            Rfa::Rfa16 => "RFA16",
            Rfa::Rfa17A => "RFA17A",
            Rfa::Rfa17B => "RFA17B",
            Rfa::Rfa18 => "RFA18",
            Rfa::Rfa19 => "RFA19",
            Rfa::Rfa20 => "RFA20",
            Rfa::Rfa21 => "RFA21",
            Rfa::Rfa22 => "RFA22",
            Rfa::Rfa23 => "RFA23",
        }
    }

    /// The Swedish text, as published.
    pub fn sv(self) -> &'static str {
        match self {
            Rfa::Rfa1 => "Starta BankID-appen.",
            Rfa::Rfa2 => "Du verkar inte ha BankID-appen. Installera den och skaffa ett BankID.",
            Rfa::Rfa3 => "Åtgärden avbröts. Försök igen.",
            Rfa::Rfa4 => {
                "En identifiering eller underskrift pågår redan för ditt personnummer. Försök igen."
            }
            Rfa::Rfa5 => "Något gick fel. Försök igen.",
            Rfa::Rfa6 => "Åtgärden avbröts.",
            Rfa::Rfa8 => {
                "BankID-appen svarar inte. Kontrollera att den är startad och att du har \
                 internetanslutning. Försök sedan igen."
            }
            Rfa::Rfa9 => {
                "Skriv in din säkerhetskod i BankID-appen och välj Identifiera eller Skriv under."
            }
            Rfa::Rfa13 => "Försöker starta BankID-appen.",
            Rfa::Rfa15A => {
                "Söker efter BankID. Säkerställ att du har ett giltigt BankID på den här datorn. \
                 Om du har ett BankID på kort, sätt in kortet i kortläsaren."
            }
            Rfa::Rfa15B => {
                "Söker efter BankID. Säkerställ att du har ett giltigt BankID på den här enheten."
            }
            Rfa::Rfa16 => {
                "Ditt BankID är för gammalt eller spärrat. Använd ett annat BankID eller skaffa \
                 ett nytt hos din bank."
            }
            Rfa::Rfa17A => {
                "Du verkar inte ha BankID-appen/programmet. Installera den och skaffa ett BankID \
                 hos din bank."
            }
            Rfa::Rfa17B => {
                "Misslyckades att läsa av QR-koden. Starta BankID-appen och läs av QR-koden."
            }
            Rfa::Rfa18 => "Starta BankID-appen",
            Rfa::Rfa19 => "Vill du använda BankID på den här datorn eller ett Mobilt BankID?",
            Rfa::Rfa20 => "Vill du använda BankID på den här enheten eller på en annan enhet?",
            Rfa::Rfa21 => "En identifiering eller underskrift pågår.",
            Rfa::Rfa22 => "Något gick fel. Försök igen.",
            Rfa::Rfa23 => "Fotografera och läs av din ID-handling med BankID-appen.",
        }
    }

    /// The English text, as published.
    pub fn en(self) -> &'static str {
        match self {
            Rfa::Rfa1 => "Start your BankID app.",
            Rfa::Rfa2 => "You don't seem to have the BankID app. Install the app and get a BankID.",
            Rfa::Rfa3 => "The action was cancelled. Please try again.",
            Rfa::Rfa4 => {
                "An identification or signature is already in progress for your personal \
                 identity number. Please try again."
            }
            Rfa::Rfa5 => "Something went wrong. Please try again.",
            Rfa::Rfa6 => "The action was cancelled.",
            Rfa::Rfa8 => {
                "The BankID app is not responding. Please check that it's started and that you \
                 have internet access. Try again."
            }
            Rfa::Rfa9 => "Enter your security code in the BankID app and select Identify or Sign.",
            Rfa::Rfa13 => "Trying to start your BankID app.",
            Rfa::Rfa15A => {
                "Searching for BankID. Make sure you have a valid BankID on this computer. If you \
                 have a BankID on card, please insert the card into your card reader."
            }
            Rfa::Rfa15B => {
                "Searching for BankID. Make sure you have a valid BankID on this device."
            }
            Rfa::Rfa16 => {
                "Your BankID is blocked or too old. Please use another BankID or get a new one \
                 from your bank."
            }
            Rfa::Rfa17A => {
                "You don't seem to have the BankID app/program. Please install it and get a \
                 BankID from your bank."
            }
            Rfa::Rfa17B => "Failed to scan the QR code. Start the BankID app and scan the QR code.",
            Rfa::Rfa18 => "Start the BankID app",
            Rfa::Rfa19 => "Would you like to use BankID on this computer, or a Mobile BankID?",
            Rfa::Rfa20 => "Do you want to use BankID on this device or another device?",
            Rfa::Rfa21 => "An identification or signing is in progress.",
            Rfa::Rfa22 => "Something went wrong. Please try again.",
            Rfa::Rfa23 => "Take a photo of, and scan, your ID document with the BankID app.",
        }
    }
}

impl fmt::Display for Rfa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How the order was started: decides RFA1/RFA13, RFA15A/B and RFA17A/B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Animated QR code shown here, scanned by the app on another (mobile) device.
    QrCode,
    /// Autostart on this device, which is a computer (BankID on file or card,
    /// or the desktop app).
    SameDeviceComputer,
    /// Autostart on this device, which is a phone or tablet.
    SameDeviceMobile,
}

impl Flow {
    fn same_device(self) -> bool {
        !matches!(self, Flow::QrCode)
    }
}

/// What to show for an error answer of the API: the message, and whether
/// the caller may retry automatically (only for `maintenance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorMessage {
    /// The message to show.
    pub rfa: Rfa,
    /// Whether an automatic retry is allowed.
    pub retry: bool,
}

/// The message for a collect answer; `None` for `complete` (the caller goes on
/// with the logged-in user).
pub fn user_message(status: &CollectStatus, flow: Flow) -> Option<Rfa> {
    match status {
        CollectStatus::Pending { hint_code } => Some(pending_message(hint_code, flow)),
        CollectStatus::Failed { hint_code } => Some(failed_message(hint_code, flow)),
        CollectStatus::Complete(_) => None,
    }
}

/// The message while the order is pending with `hint`.
pub fn pending_message(hint: &HintCode, flow: Flow) -> Rfa {
    match hint {
        HintCode::OutstandingTransaction if flow.same_device() => Rfa::Rfa13,
        HintCode::OutstandingTransaction | HintCode::NoClient => Rfa::Rfa1,
        HintCode::Started => match flow {
            Flow::SameDeviceComputer => Rfa::Rfa15A,
            Flow::QrCode | Flow::SameDeviceMobile => Rfa::Rfa15B,
        },
        HintCode::UserSign => Rfa::Rfa9,
        HintCode::UserMrtd => Rfa::Rfa23,
        // userCallConfirm (phone orders) has no message of its own; unknown
        // codes and failure codes seen while pending get the generic one.
        _ => Rfa::Rfa21,
    }
}

/// The message when the order failed with `hint`.
pub fn failed_message(hint: &HintCode, flow: Flow) -> Rfa {
    match hint {
        HintCode::ExpiredTransaction => Rfa::Rfa8,
        HintCode::CertificateErr => Rfa::Rfa16,
        HintCode::UserCancel => Rfa::Rfa6,
        HintCode::Cancelled => Rfa::Rfa3,
        HintCode::StartFailed if flow.same_device() => Rfa::Rfa17A,
        HintCode::StartFailed => Rfa::Rfa17B,
        _ => Rfa::Rfa22,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(code: &str) -> CollectStatus {
        CollectStatus::Pending {
            hint_code: HintCode::parse(code),
        }
    }

    fn failed(code: &str) -> CollectStatus {
        CollectStatus::Failed {
            hint_code: HintCode::parse(code),
        }
    }

    #[test]
    fn pending_hints_map_per_flow() {
        use Flow::*;
        let cases = [
            ("outstandingTransaction", QrCode, Rfa::Rfa1),
            ("outstandingTransaction", SameDeviceComputer, Rfa::Rfa13),
            ("outstandingTransaction", SameDeviceMobile, Rfa::Rfa13),
            ("noClient", QrCode, Rfa::Rfa1),
            ("noClient", SameDeviceComputer, Rfa::Rfa1),
            ("started", QrCode, Rfa::Rfa15B),
            ("started", SameDeviceComputer, Rfa::Rfa15A),
            ("started", SameDeviceMobile, Rfa::Rfa15B),
            ("userSign", QrCode, Rfa::Rfa9),
            ("userMrtd", QrCode, Rfa::Rfa23),
            ("userCallConfirm", QrCode, Rfa::Rfa21),
            ("brandNewHint", SameDeviceMobile, Rfa::Rfa21),
        ];
        for (code, flow, rfa) in cases {
            assert_eq!(
                user_message(&pending(code), flow),
                Some(rfa),
                "{code} {flow:?}"
            );
        }
    }

    #[test]
    fn failed_hints_map_per_flow() {
        use Flow::*;
        let cases = [
            ("expiredTransaction", QrCode, Rfa::Rfa8),
            ("certificateErr", QrCode, Rfa::Rfa16),
            ("userCancel", QrCode, Rfa::Rfa6),
            ("cancelled", QrCode, Rfa::Rfa3),
            ("startFailed", QrCode, Rfa::Rfa17B),
            ("startFailed", SameDeviceComputer, Rfa::Rfa17A),
            ("startFailed", SameDeviceMobile, Rfa::Rfa17A),
            ("brandNewFailure", QrCode, Rfa::Rfa22),
            ("userSign", QrCode, Rfa::Rfa22),
        ];
        for (code, flow, rfa) in cases {
            assert_eq!(
                user_message(&failed(code), flow),
                Some(rfa),
                "{code} {flow:?}"
            );
        }
    }

    #[test]
    fn every_message_has_both_languages() {
        for rfa in Rfa::ALL {
            assert!(rfa.code().starts_with("RFA"));
            assert!(!rfa.sv().is_empty() && !rfa.en().is_empty());
            assert_ne!(rfa.sv(), rfa.en(), "{rfa}");
            assert!(
                !rfa.sv().contains("  ") && !rfa.en().contains("  "),
                "{rfa}"
            );
        }
        assert_eq!(Rfa::Rfa17B.to_string(), "RFA17B");
    }
}
