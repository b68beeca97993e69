//! The values of SCAIP's elements, each valid by construction.
//!
//! Every type parses its wire text with [`FromStr`] (the wider form where the
//! sources disagree) and prints its canonical wire text with [`Display`] (the
//! narrower form). Codes that the brief names are constants; any other
//! well-formed code is kept as it is, never refused.
//!
//! Free text, voice media and positions may say something about a person, so
//! their `Debug` shows only their kind and length.

use std::fmt::{self, Debug, Display, Formatter};
use std::str::FromStr;

/// Why a value does not follow its element's rule. It names the rule, never
/// the value (which may be personal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{rule}")]
pub struct InvalidValue {
    rule: &'static str,
}

impl InvalidValue {
    pub(crate) const fn new(rule: &'static str) -> Self {
        Self { rule }
    }

    /// The rule that was broken, e.g. "must be 1 to 16 letters or digits".
    pub fn rule(&self) -> &'static str {
        self.rule
    }
}

/// `s` as a number if it is `min..=max` ASCII digits (leading zeros allowed).
fn digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // At most five digits here, so this always fits.
    s.parse().ok()
}

/// Whether `c` may appear in free text: a character XML 1.0 allows, and not a
/// control character or a bidirectional override (which could make a log line
/// or the operator's screen say something else than the message does).
fn is_text_char(c: char) -> bool {
    !c.is_control()
        && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
        && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Printable ASCII without the space.
fn is_visible_ascii(b: u8) -> bool {
    (0x21..=0x7E).contains(&b)
}

// ---------------------------------------------------------------------------
// Identifiers and version

/// `ref`: the request's reference, 1–16 ASCII letters or digits. The device
/// chooses it; an alarm is identified by (`cid`, `ref`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref(String);

impl Ref {
    const RULE: &'static str = "must be 1 to 16 letters A-Z, a-z or digits";

    /// The reference as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Ref {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if (1..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue::new(Self::RULE))
        }
    }
}

impl Display for Ref {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `cid`: the controller (alarm unit) id, 1–32 digits. Leading zeros are part
/// of the id. (The XSD-derived source allows 16 digits, the standard's summary
/// 32; the wider is accepted.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ControllerId(String);

impl ControllerId {
    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ControllerId {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue::new("must be 1 to 32 digits"))
        }
    }
}

impl Display for ControllerId {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `ver` (request) and `cve` (response): a protocol version `NN.NN`. A request
/// without `ver` is version [`Version::V01_00`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    major: u8,
    minor: u8,
}

impl Version {
    /// 01.00, the default.
    pub const V01_00: Version = Version { major: 1, minor: 0 };

    /// A version from its two parts, each 0–99.
    pub fn new(major: u8, minor: u8) -> Result<Self, InvalidValue> {
        if major <= 99 && minor <= 99 {
            Ok(Self { major, minor })
        } else {
            Err(InvalidValue::new(Self::RULE))
        }
    }

    const RULE: &'static str = "must be two digits, a dot and two digits (NN.NN)";

    /// The part before the dot.
    pub fn major(self) -> u8 {
        self.major
    }

    /// The part after the dot.
    pub fn minor(self) -> u8 {
        self.minor
    }
}

impl Default for Version {
    fn default() -> Self {
        Self::V01_00
    }
}

impl FromStr for Version {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let invalid = InvalidValue::new(Self::RULE);
        let (major, minor) = s.split_once('.').ok_or(invalid)?;
        match (digits(major, 2, 2), digits(minor, 2, 2)) {
            (Some(major), Some(minor)) => {
                let major = u8::try_from(major).map_err(|_| invalid)?;
                let minor = u8::try_from(minor).map_err(|_| invalid)?;
                Self::new(major, minor)
            }
            _ => Err(invalid),
        }
    }
}

impl Display for Version {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}.{:02}", self.major, self.minor)
    }
}

// ---------------------------------------------------------------------------
// Free text

/// Free text of 1 to `MAX` characters (Unicode scalar values), without
/// control characters, non-characters or bidirectional overrides. Leading and
/// trailing spaces are kept as sent (the XSD types are plain strings).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text<const MAX: usize>(String);

/// `dte`, `stt`, `lte`: text of at most 32 characters.
pub type ShortText = Text<32>;
/// `ite` and `ste`: text of at most 128 characters.
pub type LongText = Text<128>;
/// `did`: the device's id within its controller, 1–16 characters (the
/// XSD-derived source says 8, the standard's summary 16; the wider is
/// accepted).
pub type DeviceId = Text<16>;
/// `lva`: the location value, 1–2 characters.
pub type LocationValue = Text<2>;
/// `tnu`: the number (or address) to call when `cre` is 62, at most 256
/// characters.
pub type TransferNumber = Text<256>;

impl<const MAX: usize> Text<MAX> {
    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> FromStr for Text<MAX> {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if s.is_empty() {
            return Err(InvalidValue::new("must not be empty"));
        }
        if s.chars().nth(MAX).is_some() {
            return Err(InvalidValue::new("is longer than its limit"));
        }
        if !s.chars().all(is_text_char) {
            return Err(InvalidValue::new(
                "contains a control character, a non-character or a bidirectional override",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl<const MAX: usize> Display for Text<MAX> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> Debug for Text<MAX> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "Text(<{} chars>)", self.0.chars().count())
    }
}

// ---------------------------------------------------------------------------
// Voice media

/// The kind of voice media in `crd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoiceMediaKind {
    /// `gsm:+46…`: a call over the mobile network to this number.
    Gsm,
    /// `sip:…`: a SIP call to this URI.
    Sip,
    /// `sip-pp:…`: a SIP call, point to point.
    SipPp,
    /// `no-voice:`: the device cannot take a voice call.
    NoVoice,
}

impl VoiceMediaKind {
    /// The URI scheme, as emitted (lower case).
    pub fn scheme(self) -> &'static str {
        match self {
            Self::Gsm => "gsm",
            Self::Sip => "sip",
            Self::SipPp => "sip-pp",
            Self::NoVoice => "no-voice",
        }
    }
}

/// `crd`: how voice reaches the device, at most 256 characters:
/// `gsm:` and a number (an optional `+` and 1–20 digits), `sip:` or `sip-pp:`
/// and a non-empty address, or `no-voice:` with an optional rest. Addresses
/// are printable ASCII without spaces. The scheme is read case-insensitively
/// and emitted in lower case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VoiceMedia {
    kind: VoiceMediaKind,
    text: String,
}

impl VoiceMedia {
    const RULE: &'static str = "must be gsm:+<digits>, sip:<address>, sip-pp:<address> or no-voice:, at most 256 characters";

    /// The kind of voice media.
    pub fn kind(&self) -> VoiceMediaKind {
        self.kind
    }

    /// What follows the scheme and its colon.
    pub fn address(&self) -> &str {
        self.text
            .split_once(':')
            .map(|(_, rest)| rest)
            .unwrap_or_default()
    }

    /// The whole value, canonical.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for VoiceMedia {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let invalid = InvalidValue::new(Self::RULE);
        if s.len() > 256 {
            return Err(invalid);
        }
        let (scheme, rest) = s.split_once(':').ok_or(invalid)?;
        let kind = [
            VoiceMediaKind::Gsm,
            VoiceMediaKind::Sip,
            VoiceMediaKind::SipPp,
            VoiceMediaKind::NoVoice,
        ]
        .into_iter()
        .find(|k| k.scheme().eq_ignore_ascii_case(scheme))
        .ok_or(invalid)?;
        let valid = match kind {
            VoiceMediaKind::Gsm => {
                let number = rest.strip_prefix('+').unwrap_or(rest);
                (1..=20).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit())
            }
            VoiceMediaKind::Sip | VoiceMediaKind::SipPp => {
                !rest.is_empty() && rest.bytes().all(is_visible_ascii)
            }
            VoiceMediaKind::NoVoice => rest.bytes().all(is_visible_ascii),
        };
        if !valid {
            return Err(invalid);
        }
        Ok(Self {
            kind,
            text: format!("{}:{rest}", kind.scheme()),
        })
    }
}

impl Display for VoiceMedia {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Debug for VoiceMedia {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "VoiceMedia({}:<redacted>)", self.kind.scheme())
    }
}

// ---------------------------------------------------------------------------
// Numeric codes

macro_rules! numeric_code {
    (
        $(#[$meta:meta])*
        $name:ident($int:ty): digits $min:literal to $max:literal, width $width:literal,
        values $lo:literal to $hi:literal, rule $rule:literal
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($int);

        impl $name {
            const RULE: &'static str = $rule;

            /// The code from its number; refused outside its range.
            pub fn new(value: $int) -> Result<Self, InvalidValue> {
                if ($lo..=$hi).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(InvalidValue::new(Self::RULE))
                }
            }

            /// The code as a number.
            pub const fn value(self) -> $int {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;

            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                let invalid = InvalidValue::new(Self::RULE);
                let n = digits(s, $min, $max).ok_or(invalid)?;
                Self::new(<$int>::try_from(n).map_err(|_| invalid)?)
            }
        }

        impl Display for $name {
            fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
                write!(f, "{:0width$}", self.0, width = $width)
            }
        }
    };
}

numeric_code! {
    /// `stc`: the status code, 1–4 digits, emitted as four. A message without
    /// one is an alarm. Codes the brief names are constants; any other code is
    /// kept.
    StatusCode(u16): digits 1 to 4, width 4, values 0 to 9999,
    rule "must be 1 to 4 digits"
}

impl StatusCode {
    /// 0009: automatic alarm (e.g. a fall detector).
    pub const AUTOMATIC_ALARM: Self = Self(9);
    /// 0010: manual alarm (the button).
    pub const MANUAL_ALARM: Self = Self(10);
    /// 0016: battery low.
    pub const BATTERY_LOW: Self = Self(16);
    /// 0023: IP link lost.
    pub const IP_LINK_LOST: Self = Self(23);
    /// 0024: mobile link lost.
    pub const MOBILE_LINK_LOST: Self = Self(24);
    /// 0081: pill not taken.
    pub const PILL_NOT_TAKEN: Self = Self(81);
    /// 0082: pill reminder.
    pub const PILL_REMINDER: Self = Self(82);
    /// 0083: pill taken.
    pub const PILL_TAKEN: Self = Self(83);
    /// 0085: power failure.
    pub const POWER_FAILURE: Self = Self(85);
    /// 0086: power restored.
    pub const POWER_RESTORED: Self = Self(86);
    /// 0087: presence, planned (a planned visit).
    pub const PRESENCE_PLANNED: Self = Self(87);
    /// 0088: presence upon alarm (staff on site).
    pub const PRESENCE_UPON_ALARM: Self = Self(88);
    /// 0110: assistance.
    pub const ASSISTANCE: Self = Self(110);
    /// 0111: check-out, the intervention is complete.
    pub const CHECK_OUT: Self = Self(111);
    /// 0112: IP link restored.
    pub const IP_LINK_RESTORED: Self = Self(112);
    /// 0113: mobile link restored.
    pub const MOBILE_LINK_RESTORED: Self = Self(113);
    /// 0117: lying in bed.
    pub const LYING_IN_BED: Self = Self(117);
    /// 0123: radio test transmission missing.
    pub const RADIO_TEST_MISSING: Self = Self(123);

    /// A short English name for the codes the brief names.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::AUTOMATIC_ALARM => "automatic alarm",
            Self::MANUAL_ALARM => "manual alarm",
            Self::BATTERY_LOW => "battery low",
            Self::IP_LINK_LOST => "IP link lost",
            Self::MOBILE_LINK_LOST => "mobile link lost",
            Self::PILL_NOT_TAKEN => "pill not taken",
            Self::PILL_REMINDER => "pill reminder",
            Self::PILL_TAKEN => "pill taken",
            Self::POWER_FAILURE => "power failure",
            Self::POWER_RESTORED => "power restored",
            Self::PRESENCE_PLANNED => "presence, planned",
            Self::PRESENCE_UPON_ALARM => "presence upon alarm",
            Self::ASSISTANCE => "assistance",
            Self::CHECK_OUT => "check-out",
            Self::IP_LINK_RESTORED => "IP link restored",
            Self::MOBILE_LINK_RESTORED => "mobile link restored",
            Self::LYING_IN_BED => "lying in bed",
            Self::RADIO_TEST_MISSING => "radio test missing",
            _ => return None,
        })
    }
}

numeric_code! {
    /// `dty`: the device type, 1–4 digits, emitted as four. Types the brief
    /// names are constants; any other type is kept.
    DeviceType(u16): digits 1 to 4, width 4, values 0 to 9999,
    rule "must be 1 to 4 digits"
}

impl DeviceType {
    /// 0005: fall detector.
    pub const FALL_DETECTOR: Self = Self(5);
    /// 0011: pill dispenser.
    pub const PILL_DISPENSER: Self = Self(11);
    /// 0012: bed monitor.
    pub const BED_MONITOR: Self = Self(12);
    /// 0015: wandering sensor.
    pub const WANDERING_SENSOR: Self = Self(15);
    /// 0051: tracking device.
    pub const TRACKING_DEVICE: Self = Self(51);

    /// A short English name for the types the brief names.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::FALL_DETECTOR => "fall detector",
            Self::PILL_DISPENSER => "pill dispenser",
            Self::BED_MONITOR => "bed monitor",
            Self::WANDERING_SENSOR => "wandering sensor",
            Self::TRACKING_DEVICE => "tracking device",
            _ => return None,
        })
    }
}

numeric_code! {
    /// `dco`: the device component, 1–3 digits, emitted as three.
    DeviceComponent(u16): digits 1 to 3, width 3, values 0 to 999,
    rule "must be 1 to 3 digits"
}

numeric_code! {
    /// `lco`: the location code, 1–3 digits, emitted as three.
    LocationCode(u16): digits 1 to 3, width 3, values 0 to 999,
    rule "must be 1 to 3 digits"
}

numeric_code! {
    /// `ico`: the info code, 1–3 digits, emitted as three.
    InfoCode(u16): digits 1 to 3, width 3, values 0 to 999,
    rule "must be 1 to 3 digits"
}

numeric_code! {
    /// `hbo`: the heartbeat option, 1–3 digits, emitted as three. `001` says
    /// the device accepts the heartbeat interval the receiver sets (`hbi`).
    /// (The XSD-derived source has one digit 0–3, the standard's summary
    /// `001`; both read.)
    HeartbeatOption(u16): digits 1 to 3, width 3, values 0 to 999,
    rule "must be 1 to 3 digits"
}

impl HeartbeatOption {
    /// 000: the device keeps its own heartbeat interval.
    pub const FIXED: Self = Self(0);
    /// 001: the device accepts the interval the receiver sets.
    pub const ADJUSTABLE: Self = Self(1);
}

numeric_code! {
    /// `pri`: the priority, one digit 0–9.
    Priority(u8): digits 1 to 1, width 1, values 0 to 9,
    rule "must be one digit"
}

numeric_code! {
    /// `sco`: the system configuration, one digit 0–3: 0 a local unit and
    /// controller, 1–3 grouped equipment. (The XSD-derived source allows 1–3
    /// only, the standard's summary 0–3; the wider is accepted.)
    SystemConfiguration(u8): digits 1 to 1, width 1, values 0 to 3,
    rule "must be one digit 0 to 3"
}

impl SystemConfiguration {
    /// 0: a local unit with its controller.
    pub const LOCAL_UNIT: Self = Self(0);
    /// 1: grouped equipment, supervisor off duty.
    pub const GROUPED_SUPERVISOR_OFF_DUTY: Self = Self(1);
    /// 2: grouped equipment, supervisor on duty.
    pub const GROUPED_SUPERVISOR_ON_DUTY: Self = Self(2);
    /// 3: grouped equipment, supervisor on duty acting as alarm receiver.
    pub const GROUPED_SUPERVISOR_RECEIVES: Self = Self(3);
}

numeric_code! {
    /// `cha`: call handling, one digit: 0 the device makes an outgoing call,
    /// 1 it asks to be called back. (The XSD-derived source allows any digit;
    /// other digits are kept.)
    CallHandling(u8): digits 1 to 1, width 1, values 0 to 9,
    rule "must be one digit"
}

impl CallHandling {
    /// 0: outgoing call.
    pub const OUTGOING_CALL: Self = Self(0);
    /// 1: callback requested.
    pub const CALLBACK: Self = Self(1);
}

numeric_code! {
    /// `hbi`: the heartbeat interval the receiver sets, 1–1440 minutes, read
    /// as 1–4 digits and emitted without leading zeros. (The XSD-derived
    /// source's single digit 0–4 is a known error.)
    HeartbeatInterval(u16): digits 1 to 4, width 1, values 1 to 1440,
    rule "must be 1 to 1440 (minutes)"
}

impl HeartbeatInterval {
    /// The interval in minutes.
    pub fn minutes(self) -> u16 {
        self.0
    }
}

// ---------------------------------------------------------------------------
// Small enumerations

/// `mty`: the message type. A request without one is a message (`ME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MessageType {
    /// `ME`: a message (an alarm, or a status when `stc` is set).
    #[default]
    Message,
    /// `RE`: reset or abort of an earlier request with the same `ref`.
    Reset,
    /// `IN`: an information update.
    Info,
    /// `PI`: a heartbeat.
    Heartbeat,
}

impl MessageType {
    /// The two-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Message => "ME",
            Self::Reset => "RE",
            Self::Info => "IN",
            Self::Heartbeat => "PI",
        }
    }
}

impl FromStr for MessageType {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "ME" => Ok(Self::Message),
            "RE" => Ok(Self::Reset),
            "IN" => Ok(Self::Info),
            "PI" => Ok(Self::Heartbeat),
            _ => Err(InvalidValue::new("must be ME, RE, IN or PI")),
        }
    }
}

impl Display for MessageType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// `snu`: the receiver's answer. Read as 1–5 digits (the XSD-derived source),
/// emitted without leading zeros; only the numbers the standard defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusNumber {
    /// 0: OK, the request is accepted.
    Ok,
    /// 1: the message is too long.
    TooLong,
    /// 2: invalid format.
    InvalidFormat,
    /// 3: wrong content.
    WrongContent,
    /// 4: hold; the device re-sends the same request after 5–20 s.
    Hold,
    /// 5: not treated.
    NotTreated,
    /// 6: busy; the device retries.
    Busy,
    /// 7: a mandatory tag is missing.
    MandatoryTagMissing,
    /// 10: `ref` is missing.
    RefMissing,
    /// 99: undefined error.
    Undefined,
}

impl StatusNumber {
    /// Every status number, in order.
    pub const ALL: [StatusNumber; 10] = [
        Self::Ok,
        Self::TooLong,
        Self::InvalidFormat,
        Self::WrongContent,
        Self::Hold,
        Self::NotTreated,
        Self::Busy,
        Self::MandatoryTagMissing,
        Self::RefMissing,
        Self::Undefined,
    ];

    /// The number on the wire.
    pub fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::TooLong => 1,
            Self::InvalidFormat => 2,
            Self::WrongContent => 3,
            Self::Hold => 4,
            Self::NotTreated => 5,
            Self::Busy => 6,
            Self::MandatoryTagMissing => 7,
            Self::RefMissing => 10,
            Self::Undefined => 99,
        }
    }

    /// The status number with this code, if the standard defines one.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| u32::from(s.code()) == code)
    }
}

impl FromStr for StatusNumber {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        digits(s, 1, 5)
            .and_then(Self::from_code)
            .ok_or(InvalidValue::new(
                "must be one of 0, 1, 2, 3, 4, 5, 6, 7, 10 or 99",
            ))
    }
}

impl Display for StatusNumber {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// `mre`: which voice call the receiver will make, 0–3. Read as one or two
/// digits, emitted as two (the XSD-derived pattern; the standard's summary
/// writes one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaReply {
    /// 0: no voice call.
    None,
    /// 1: a duplex voice call.
    Duplex,
    /// 2: microphone only (listen in).
    MicrophoneOnly,
    /// 3: speaker only.
    SpeakerOnly,
}

impl MediaReply {
    /// The number on the wire.
    pub fn code(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Duplex => 1,
            Self::MicrophoneOnly => 2,
            Self::SpeakerOnly => 3,
        }
    }
}

impl FromStr for MediaReply {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        match digits(s, 1, 2) {
            Some(0) => Ok(Self::None),
            Some(1) => Ok(Self::Duplex),
            Some(2) => Ok(Self::MicrophoneOnly),
            Some(3) => Ok(Self::SpeakerOnly),
            _ => Err(InvalidValue::new("must be 0 to 3 in one or two digits")),
        }
    }
}

impl Display for MediaReply {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.code())
    }
}

/// `cre`: what the device does after the answer, 01–62, read as one or two
/// digits and emitted as two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallHandlingReply {
    /// 01–60: keep the auto-answer window open this many minutes.
    KeepAutoAnswer(AnswerWindow),
    /// 61: call the predefined receiver.
    CallPredefined,
    /// 62: call the number in `tnu`.
    CallTransferNumber,
}

/// How long the device keeps its auto-answer window open: 1–60 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AnswerWindow(u8);

impl AnswerWindow {
    /// A window of 1–60 minutes.
    pub fn new(minutes: u8) -> Result<Self, InvalidValue> {
        if (1..=60).contains(&minutes) {
            Ok(Self(minutes))
        } else {
            Err(InvalidValue::new("must be 1 to 60 minutes"))
        }
    }

    /// The window in minutes.
    pub fn minutes(self) -> u8 {
        self.0
    }
}

impl CallHandlingReply {
    /// The number on the wire.
    pub fn code(self) -> u8 {
        match self {
            Self::KeepAutoAnswer(window) => window.0,
            Self::CallPredefined => 61,
            Self::CallTransferNumber => 62,
        }
    }
}

impl FromStr for CallHandlingReply {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let invalid = InvalidValue::new("must be 01 to 62");
        match digits(s, 1, 2).ok_or(invalid)? {
            61 => Ok(Self::CallPredefined),
            62 => Ok(Self::CallTransferNumber),
            n => {
                let minutes = u8::try_from(n).map_err(|_| invalid)?;
                AnswerWindow::new(minutes)
                    .map(Self::KeepAutoAnswer)
                    .map_err(|_| invalid)
            }
        }
    }
}

impl Display for CallHandlingReply {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.code())
    }
}

/// `ame`: whether more fragments follow, `0` or `1`. (An empty `<ame/>`, which
/// the XSD-derived pattern allows, reads as absent.)
pub(crate) fn parse_more_follows(s: &str) -> Result<bool, InvalidValue> {
    match s {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(InvalidValue::new("must be 0 or 1")),
    }
}

#[cfg(test)]
mod tests;
