//! The two messages: a device's request `<mrq>` and the receiver's response
//! `<mrs>`, and the names of their elements.

use std::fmt::{self, Display, Formatter};

use crate::location::GeoLocation;
use crate::value::{
    CallHandling, CallHandlingReply, ControllerId, DeviceComponent, DeviceId, DeviceType,
    HeartbeatInterval, HeartbeatOption, InfoCode, LocationCode, LocationValue, LongText,
    MediaReply, MessageType, Priority, Ref, ShortText, StatusCode, StatusNumber,
    SystemConfiguration, TransferNumber, Version, VoiceMedia,
};

/// A device's request `<mrq>`. Every field's type holds only values its rule
/// allows, so a `Request` is valid however it was made. Absent optional
/// elements are `None` (encoding emits only what is present).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Request {
    /// `ref`* — the reference; with `controller_id` it identifies the alarm.
    pub reference: Ref,
    /// `ver` — the protocol version (01.00 when absent).
    pub version: Option<Version>,
    /// `sco` — the system configuration.
    pub system_configuration: Option<SystemConfiguration>,
    /// `cha` — call handling.
    pub call_handling: Option<CallHandling>,
    /// `mty` — the message type (ME when absent).
    pub message_type: Option<MessageType>,
    /// `hbo` — the heartbeat option.
    pub heartbeat_option: Option<HeartbeatOption>,
    /// `cid`* — the controller id.
    pub controller_id: ControllerId,
    /// `dty`* — the device type.
    pub device_type: DeviceType,
    /// `did` — the device id.
    pub device_id: Option<DeviceId>,
    /// `dco` — the device component.
    pub device_component: Option<DeviceComponent>,
    /// `dte` — the device text.
    pub device_text: Option<ShortText>,
    /// `crd` — the voice media.
    pub voice_media: Option<VoiceMedia>,
    /// `stc` — the status code; absent means an alarm.
    pub status_code: Option<StatusCode>,
    /// `stt` — the status text.
    pub status_text: Option<ShortText>,
    /// `pri` — the priority.
    pub priority: Option<Priority>,
    /// `lco` — the location code.
    pub location_code: Option<LocationCode>,
    /// `lva` — the location value.
    pub location_value: Option<LocationValue>,
    /// `lge` — the geographical location.
    pub geo_location: Option<GeoLocation>,
    /// `lte` — the location text.
    pub location_text: Option<ShortText>,
    /// `ico` — the info code.
    pub info_code: Option<InfoCode>,
    /// `ite` — the info text.
    pub info_text: Option<LongText>,
    /// `ame` — more fragments follow.
    pub more_follows: Option<bool>,
}

impl Request {
    /// A request with only its mandatory elements.
    pub fn new(reference: Ref, controller_id: ControllerId, device_type: DeviceType) -> Self {
        Self {
            reference,
            version: None,
            system_configuration: None,
            call_handling: None,
            message_type: None,
            heartbeat_option: None,
            controller_id,
            device_type,
            device_id: None,
            device_component: None,
            device_text: None,
            voice_media: None,
            status_code: None,
            status_text: None,
            priority: None,
            location_code: None,
            location_value: None,
            geo_location: None,
            location_text: None,
            info_code: None,
            info_text: None,
            more_follows: None,
        }
    }

    /// The message type, ME when absent.
    pub fn effective_message_type(&self) -> MessageType {
        self.message_type.unwrap_or_default()
    }

    /// The protocol version, 01.00 when absent.
    pub fn effective_version(&self) -> Version {
        self.version.unwrap_or_default()
    }

    /// A message (ME) without a status code: an alarm, as the standard reads
    /// an absent `stc`.
    pub fn is_alarm_without_status(&self) -> bool {
        self.effective_message_type() == MessageType::Message && self.status_code.is_none()
    }
}

/// The receiver's response `<mrs>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Response {
    /// `ref` — the request's reference. `None` only in an answer to a request
    /// whose reference could not be read (it cannot be matched anyway).
    pub reference: Option<Ref>,
    /// `snu`* — the answer.
    pub status: StatusNumber,
    /// `ste` — the status text.
    pub status_text: Option<LongText>,
    /// `cve` — the receiver's protocol version.
    pub version: Option<Version>,
    /// `mre` — which voice call follows.
    pub media_reply: Option<MediaReply>,
    /// `cre` — what the device does next.
    pub call_handling_reply: Option<CallHandlingReply>,
    /// `tnu` — the number to call when `cre` is 62.
    pub transfer_number: Option<TransferNumber>,
    /// `hbi` — the heartbeat interval the device is to use.
    pub heartbeat_interval: Option<HeartbeatInterval>,
}

impl Response {
    /// A response with only the reference and the answer.
    pub fn new(reference: Option<Ref>, status: StatusNumber) -> Self {
        Self {
            reference,
            status,
            status_text: None,
            version: None,
            media_reply: None,
            call_handling_reply: None,
            transfer_number: None,
            heartbeat_interval: None,
        }
    }

    /// `snu=0` for this reference.
    pub fn ok(reference: Ref) -> Self {
        Self::new(Some(reference), StatusNumber::Ok)
    }
}

/// An element of `<mrq>` or `<mrs>`, by its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Field {
    Ref,
    Ver,
    Sco,
    Cha,
    Mty,
    Hbo,
    Cid,
    Dty,
    Did,
    Dco,
    Dte,
    Crd,
    Stc,
    Stt,
    Pri,
    Lco,
    Lva,
    Lge,
    Geo,
    Tim,
    Gga,
    Lte,
    Ico,
    Ite,
    Ame,
    Snu,
    Ste,
    Cve,
    Mre,
    Cre,
    Tnu,
    Hbi,
}

/// Where an element may stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parent {
    /// Directly in `<mrq>`.
    Request,
    /// In `<mrq>`'s `<lge>`.
    Lge,
    /// Directly in `<mrs>`.
    Response,
}

impl Field {
    /// Every element, in the order they are emitted (request, then response).
    pub const ALL: [Field; 32] = [
        Self::Ref,
        Self::Ver,
        Self::Sco,
        Self::Cha,
        Self::Mty,
        Self::Hbo,
        Self::Cid,
        Self::Dty,
        Self::Did,
        Self::Dco,
        Self::Dte,
        Self::Crd,
        Self::Stc,
        Self::Stt,
        Self::Pri,
        Self::Lco,
        Self::Lva,
        Self::Lge,
        Self::Geo,
        Self::Tim,
        Self::Gga,
        Self::Lte,
        Self::Ico,
        Self::Ite,
        Self::Ame,
        Self::Snu,
        Self::Ste,
        Self::Cve,
        Self::Mre,
        Self::Cre,
        Self::Tnu,
        Self::Hbi,
    ];

    /// The tag.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Ref => "ref",
            Self::Ver => "ver",
            Self::Sco => "sco",
            Self::Cha => "cha",
            Self::Mty => "mty",
            Self::Hbo => "hbo",
            Self::Cid => "cid",
            Self::Dty => "dty",
            Self::Did => "did",
            Self::Dco => "dco",
            Self::Dte => "dte",
            Self::Crd => "crd",
            Self::Stc => "stc",
            Self::Stt => "stt",
            Self::Pri => "pri",
            Self::Lco => "lco",
            Self::Lva => "lva",
            Self::Lge => "lge",
            Self::Geo => "geo",
            Self::Tim => "tim",
            Self::Gga => "gga",
            Self::Lte => "lte",
            Self::Ico => "ico",
            Self::Ite => "ite",
            Self::Ame => "ame",
            Self::Snu => "snu",
            Self::Ste => "ste",
            Self::Cve => "cve",
            Self::Mre => "mre",
            Self::Cre => "cre",
            Self::Tnu => "tnu",
            Self::Hbi => "hbi",
        }
    }

    /// The element with this tag under this parent.
    pub(crate) fn lookup(parent: Parent, tag: &str) -> Option<Field> {
        Self::ALL
            .into_iter()
            .find(|f| f.tag() == tag && f.parents().contains(&parent))
    }

    fn parents(self) -> &'static [Parent] {
        match self {
            Self::Ref => &[Parent::Request, Parent::Response],
            Self::Geo | Self::Tim | Self::Gga => &[Parent::Lge],
            Self::Snu | Self::Ste | Self::Cve | Self::Mre | Self::Cre | Self::Tnu | Self::Hbi => {
                &[Parent::Response]
            }
            _ => &[Parent::Request],
        }
    }

    /// A bit of its own, for the set of elements already seen.
    pub(crate) fn bit(self) -> u64 {
        1 << (self as u32)
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}
