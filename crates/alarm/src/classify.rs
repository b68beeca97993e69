//! What a SCAIP request asks of the alarm centre.

use trygg_scaip::{MessageType, Request, StatusCode};
use trygg_store::AlarmKind;

/// Status codes about the device or its link: someone must look at the
/// device, not (yet) at the person.
/// Restorations are technical too, so they appear next to the loss they end.
const TECHNICAL: [StatusCode; 8] = [
    StatusCode::BATTERY_LOW,
    StatusCode::IP_LINK_LOST,
    StatusCode::MOBILE_LINK_LOST,
    StatusCode::POWER_FAILURE,
    StatusCode::POWER_RESTORED,
    StatusCode::IP_LINK_RESTORED,
    StatusCode::MOBILE_LINK_RESTORED,
    StatusCode::RADIO_TEST_MISSING,
];

/// Status codes that report, without asking anyone to act.
const STATUS: [StatusCode; 5] = [
    StatusCode::PILL_REMINDER,
    StatusCode::PILL_TAKEN,
    StatusCode::PRESENCE_PLANNED,
    StatusCode::PRESENCE_UPON_ALARM,
    StatusCode::CHECK_OUT,
];

/// The kind of row a request makes, or `None` for a heartbeat (which is
/// answered without being stored). Any status code not known to be
/// technical or informational is an alarm: an unknown code is shown to an
/// operator rather than dropped. A reset (`RE`) of an alarm is recorded as
/// a repeat of it, so the alarm stays for an operator to close.
pub fn kind_of(request: &Request) -> Option<AlarmKind> {
    match request.effective_message_type() {
        MessageType::Heartbeat => None,
        MessageType::Info => Some(AlarmKind::Status),
        MessageType::Message | MessageType::Reset => Some(match request.status_code {
            None => AlarmKind::Alarm,
            Some(code) if TECHNICAL.contains(&code) => AlarmKind::Technical,
            Some(code) if STATUS.contains(&code) => AlarmKind::Status,
            Some(_) => AlarmKind::Alarm,
        }),
    }
}
