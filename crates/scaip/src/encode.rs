//! Writing `<mrq>` and `<mrs>` in their canonical form: an XML declaration,
//! then the elements in the standard's order on one line, without
//! attributes, whitespace or comments; text escaped (`&`, `<`, `>`).

use std::fmt::Display;

use crate::message::{Field, Request, Response};

const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Write `s` as XML character data.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

fn element(out: &mut String, field: Field, value: Option<&dyn Display>) {
    let Some(value) = value else { return };
    let tag = field.tag();
    out.push('<');
    out.push_str(tag);
    out.push('>');
    escape_into(out, &value.to_string());
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

fn opt<T: Display>(value: &Option<T>) -> Option<&dyn Display> {
    value.as_ref().map(|v| v as &dyn Display)
}

/// The canonical text of a request.
pub fn encode_request(request: &Request) -> String {
    let r = request;
    let mut out = String::with_capacity(512);
    out.push_str(DECLARATION);
    out.push_str("<mrq>");
    element(&mut out, Field::Ref, Some(&r.reference));
    element(&mut out, Field::Ver, opt(&r.version));
    element(&mut out, Field::Sco, opt(&r.system_configuration));
    element(&mut out, Field::Cha, opt(&r.call_handling));
    element(&mut out, Field::Mty, opt(&r.message_type));
    element(&mut out, Field::Hbo, opt(&r.heartbeat_option));
    element(&mut out, Field::Cid, Some(&r.controller_id));
    element(&mut out, Field::Dty, Some(&r.device_type));
    element(&mut out, Field::Did, opt(&r.device_id));
    element(&mut out, Field::Dco, opt(&r.device_component));
    element(&mut out, Field::Dte, opt(&r.device_text));
    element(&mut out, Field::Crd, opt(&r.voice_media));
    element(&mut out, Field::Stc, opt(&r.status_code));
    element(&mut out, Field::Stt, opt(&r.status_text));
    element(&mut out, Field::Pri, opt(&r.priority));
    element(&mut out, Field::Lco, opt(&r.location_code));
    element(&mut out, Field::Lva, opt(&r.location_value));
    if let Some(lge) = &r.geo_location {
        out.push_str("<lge>");
        element(&mut out, Field::Geo, opt(&lge.position));
        element(&mut out, Field::Tim, opt(&lge.time));
        element(&mut out, Field::Gga, opt(&lge.gga));
        out.push_str("</lge>");
    }
    element(&mut out, Field::Lte, opt(&r.location_text));
    element(&mut out, Field::Ico, opt(&r.info_code));
    element(&mut out, Field::Ite, opt(&r.info_text));
    let ame = r.more_follows.map(u8::from);
    element(&mut out, Field::Ame, opt(&ame));
    out.push_str("</mrq>");
    out
}

/// The canonical text of a response.
pub fn encode_response(response: &Response) -> String {
    let r = response;
    let mut out = String::with_capacity(256);
    out.push_str(DECLARATION);
    out.push_str("<mrs>");
    element(&mut out, Field::Ref, opt(&r.reference));
    element(&mut out, Field::Snu, Some(&r.status));
    element(&mut out, Field::Ste, opt(&r.status_text));
    element(&mut out, Field::Cve, opt(&r.version));
    element(&mut out, Field::Mre, opt(&r.media_reply));
    element(&mut out, Field::Cre, opt(&r.call_handling_reply));
    element(&mut out, Field::Tnu, opt(&r.transfer_number));
    element(&mut out, Field::Hbi, opt(&r.heartbeat_interval));
    out.push_str("</mrs>");
    out
}
