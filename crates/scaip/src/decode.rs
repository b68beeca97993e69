//! Reading `<mrq>` and `<mrs>`: a strict pass over quick-xml's events.
//!
//! The shape of both messages is fixed: a root element whose children hold
//! values, and in `<mrq>` one child, `<lge>`, whose children hold values.
//! Anything else is refused at the first event that breaks the shape, so the
//! work is one pass over at most [`MAX_BODY`] bytes and the memory the values
//! themselves.

use std::str::FromStr;

use quick_xml::Reader;
use quick_xml::events::{BytesDecl, BytesRef, BytesStart, Event};

use crate::MAX_BODY;
use crate::location::GeoLocation;
use crate::message::{Field, Parent, Request, Response};
use crate::rejection::{Reason, Rejection, Snippet};
use crate::value::{
    CallHandling, CallHandlingReply, ControllerId, DeviceComponent, DeviceId, DeviceType,
    HeartbeatInterval, HeartbeatOption, InfoCode, InvalidValue, LocationCode, LocationValue,
    LongText, MediaReply, MessageType, Priority, Ref, ShortText, StatusCode, StatusNumber,
    SystemConfiguration, TransferNumber, Version, VoiceMedia, parse_more_follows,
};

/// What a message is read into.
pub(crate) trait Target: Default {
    type Output;
    /// The root element's tag.
    const ROOT: &'static str;
    /// Where the root's children stand.
    const PARENT: Parent;

    /// Store a value (for `lge`, open the container). The element has not
    /// been seen before.
    fn set(&mut self, field: Field, text: &str) -> Result<(), InvalidValue>;
    /// The reference read so far.
    fn reference(&self) -> Option<&Ref>;
    /// The message, once the body is read without a structural error.
    fn finish(self, seen: u64, content_error: Option<Reason>) -> Result<Self::Output, Reason>;
    /// The reference of a finished message.
    fn output_reference(output: &Self::Output) -> Option<&Ref>;
}

/// Parse a body into a message of type `T`.
pub(crate) fn decode<T: Target>(bytes: &[u8]) -> Result<T::Output, Rejection> {
    if bytes.len() > MAX_BODY {
        // Look for the reference in the first MAX_BODY bytes only, so the
        // answer can be matched; the rest is never read.
        let reference = bytes
            .get(..MAX_BODY)
            .and_then(|prefix| reference_in_prefix::<T>(prefix));
        return Err(Rejection::new(
            Reason::TooLong {
                len: bytes.len(),
                limit: MAX_BODY,
            },
            reference,
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => decode_str::<T>(text),
        Err(e) => {
            let at = e.valid_up_to();
            let reference = bytes
                .get(..at)
                .and_then(|prefix| reference_in_prefix::<T>(prefix));
            Err(Rejection::new(Reason::NotUtf8 { at }, reference))
        }
    }
}

/// The reference in the readable start of a refused body, if any.
fn reference_in_prefix<T: Target>(prefix: &[u8]) -> Option<Ref> {
    let text = match std::str::from_utf8(prefix) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(prefix.get(..e.valid_up_to())?).ok()?,
    };
    match decode_str::<T>(text) {
        Ok(output) => T::output_reference(&output).cloned(),
        Err(rejection) => rejection.reference().cloned(),
    }
}

fn decode_str<T: Target>(text: &str) -> Result<T::Output, Rejection> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut decoder = Decoder::<T>::default();
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_comments = true;
    config.check_end_names = true;
    config.allow_dangling_amp = false;
    config.allow_unmatched_ends = false;
    config.expand_empty_elements = false;
    config.trim_text(false);
    match decoder.run(&mut reader) {
        Ok(()) => {
            let reference = decoder.target.reference().cloned();
            let Decoder {
                target,
                seen,
                content_error,
                ..
            } = decoder;
            target
                .finish(seen, content_error)
                .map_err(|reason| Rejection::new(reason, reference))
        }
        Err(reason) => {
            // Two references are no reference: the answer must not be
            // matched to either.
            let reference = match reason {
                Reason::Duplicate(Field::Ref) => None,
                _ => decoder.target.reference().cloned(),
            };
            Err(Rejection::new(reason, reference))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before the root element.
    Prolog,
    /// In the root element.
    Root,
    /// In `<lge>`.
    Lge,
    /// In an element that holds a value.
    Leaf { field: Field, in_lge: bool },
    /// After the root element.
    Epilog,
}

#[derive(Default)]
struct Decoder<T> {
    target: T,
    stage: Option<Stage>,
    /// The elements seen, one bit each ([`Field::bit`]).
    seen: u64,
    /// The text of the value being read.
    value: String,
    /// The first value that broke its rule; reading goes on to find `ref`.
    content_error: Option<Reason>,
}

impl<T: Target> Decoder<T> {
    fn stage(&self) -> Stage {
        self.stage.unwrap_or(Stage::Prolog)
    }

    fn run(&mut self, reader: &mut Reader<&[u8]>) -> Result<(), Reason> {
        // Every event takes at least one byte, so this bound is never reached
        // by a well-behaved reader; it only makes termination evident.
        for count in 0..=MAX_BODY + 8 {
            let event = reader
                .read_event()
                .map_err(|e| Reason::Malformed(Snippet::new(&e.to_string())))?;
            match event {
                Event::Decl(decl) if count == 0 => check_declaration(&decl)?,
                Event::Decl(_) => return Err(Reason::Declaration),
                Event::DocType(_) => return Err(Reason::DocType),
                Event::PI(pi) => {
                    return Err(Reason::ProcessingInstruction(Snippet::new(pi.target())));
                }
                Event::CData(_) => return Err(Reason::Cdata),
                Event::Comment(_) => {}
                Event::Start(start) => self.start(&start, false)?,
                Event::Empty(start) => self.start(&start, true)?,
                Event::End(_) => self.end()?,
                Event::Text(text) => match self.stage() {
                    Stage::Leaf { .. } => self.value.push_str(&text.xml10_content()),
                    Stage::Epilog if !is_xml_space(&text) => return Err(Reason::AfterRoot),
                    _ if !is_xml_space(&text) => return Err(Reason::MixedContent),
                    _ => {}
                },
                Event::GeneralRef(reference) => {
                    let c = resolve(&reference)?;
                    match self.stage() {
                        Stage::Leaf { .. } => self.value.push(c),
                        Stage::Epilog => return Err(Reason::AfterRoot),
                        _ => return Err(Reason::MixedContent),
                    }
                }
                Event::Eof => {
                    return match self.stage() {
                        Stage::Epilog => Ok(()),
                        _ => Err(Reason::Truncated),
                    };
                }
            }
        }
        Err(Reason::Malformed(Snippet::new("too many XML events")))
    }

    fn start(&mut self, start: &BytesStart<'_>, empty: bool) -> Result<(), Reason> {
        let name = start.name();
        let tag = name.as_ref();
        let parent = match self.stage() {
            Stage::Prolog => {
                if tag != T::ROOT {
                    return Err(Reason::Root {
                        found: Snippet::new(tag),
                        expected: T::ROOT,
                    });
                }
                check_no_attributes(start, tag)?;
                self.stage = Some(if empty { Stage::Epilog } else { Stage::Root });
                return Ok(());
            }
            Stage::Epilog => return Err(Reason::AfterRoot),
            Stage::Leaf { field, .. } => {
                return Err(Reason::Nested {
                    field,
                    inner: Snippet::new(tag),
                });
            }
            Stage::Root => T::PARENT,
            Stage::Lge => Parent::Lge,
        };
        let field =
            Field::lookup(parent, tag).ok_or_else(|| Reason::UnknownElement(Snippet::new(tag)))?;
        check_no_attributes(start, tag)?;
        if self.seen & field.bit() != 0 {
            return Err(Reason::Duplicate(field));
        }
        self.seen |= field.bit();
        if field == Field::Lge {
            self.deliver(Field::Lge, "");
            if !empty {
                self.stage = Some(Stage::Lge);
            }
        } else if empty {
            self.deliver(field, "");
        } else {
            self.value.clear();
            self.stage = Some(Stage::Leaf {
                field,
                in_lge: parent == Parent::Lge,
            });
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), Reason> {
        self.stage = Some(match self.stage() {
            Stage::Leaf { field, in_lge } => {
                let value = std::mem::take(&mut self.value);
                self.deliver(field, &value);
                self.value = value;
                if in_lge { Stage::Lge } else { Stage::Root }
            }
            Stage::Lge => Stage::Root,
            Stage::Root => Stage::Epilog,
            // The reader refuses unmatched end tags itself.
            Stage::Prolog | Stage::Epilog => {
                return Err(Reason::Malformed(Snippet::new("unmatched end tag")));
            }
        });
        Ok(())
    }

    /// Store a value; the first that breaks its rule is kept for the answer.
    fn deliver(&mut self, field: Field, text: &str) {
        if let Err(e) = self.target.set(field, text) {
            self.content_error.get_or_insert(Reason::Value {
                field,
                rule: e.rule(),
            });
        }
    }
}

fn is_xml_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A character XML 1.0 allows (production 2, `Char`).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The five predefined entities and character references; nothing else.
fn resolve(reference: &BytesRef<'_>) -> Result<char, Reason> {
    let refused = || Reason::Entity(Snippet::new(reference));
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => Ok(c),
            _ => Err(refused()),
        };
    }
    match &**reference {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        _ => Err(refused()),
    }
}

fn check_declaration(decl: &BytesDecl<'_>) -> Result<(), Reason> {
    let version_ok = decl.version().is_ok_and(|v| v == "1.0");
    let encoding_ok = match decl.encoding() {
        None => true,
        Some(Ok(e)) => e.eq_ignore_ascii_case("UTF-8"),
        Some(Err(_)) => false,
    };
    if version_ok && encoding_ok {
        Ok(())
    } else {
        Err(Reason::Declaration)
    }
}

fn check_no_attributes(start: &BytesStart<'_>, tag: &str) -> Result<(), Reason> {
    if is_xml_space(start.attributes_raw()) {
        Ok(())
    } else {
        Err(Reason::Attribute(Snippet::new(tag)))
    }
}

fn put<T: FromStr<Err = InvalidValue>>(
    slot: &mut Option<T>,
    text: &str,
) -> Result<(), InvalidValue> {
    *slot = Some(text.parse()?);
    Ok(())
}

/// Like [`put`], but an empty element reads as absent (where the XSD-derived
/// source allows an empty value).
fn put_unless_empty<T: FromStr<Err = InvalidValue>>(
    slot: &mut Option<T>,
    text: &str,
) -> Result<(), InvalidValue> {
    if text.is_empty() {
        Ok(())
    } else {
        put(slot, text)
    }
}

/// `<mrq>` as it is read.
#[derive(Default)]
pub(crate) struct RequestTarget {
    reference: Option<Ref>,
    version: Option<Version>,
    system_configuration: Option<SystemConfiguration>,
    call_handling: Option<CallHandling>,
    message_type: Option<MessageType>,
    heartbeat_option: Option<HeartbeatOption>,
    controller_id: Option<ControllerId>,
    device_type: Option<DeviceType>,
    device_id: Option<DeviceId>,
    device_component: Option<DeviceComponent>,
    device_text: Option<ShortText>,
    voice_media: Option<VoiceMedia>,
    status_code: Option<StatusCode>,
    status_text: Option<ShortText>,
    priority: Option<Priority>,
    location_code: Option<LocationCode>,
    location_value: Option<LocationValue>,
    geo_location: Option<GeoLocation>,
    location_text: Option<ShortText>,
    info_code: Option<InfoCode>,
    info_text: Option<LongText>,
    more_follows: Option<bool>,
}

impl Target for RequestTarget {
    type Output = Request;
    const ROOT: &'static str = "mrq";
    const PARENT: Parent = Parent::Request;

    fn set(&mut self, field: Field, text: &str) -> Result<(), InvalidValue> {
        match field {
            Field::Ref => put(&mut self.reference, text),
            Field::Ver => put(&mut self.version, text),
            Field::Sco => put(&mut self.system_configuration, text),
            Field::Cha => put(&mut self.call_handling, text),
            Field::Mty => put(&mut self.message_type, text),
            Field::Hbo => put(&mut self.heartbeat_option, text),
            Field::Cid => put(&mut self.controller_id, text),
            Field::Dty => put(&mut self.device_type, text),
            Field::Did => put(&mut self.device_id, text),
            Field::Dco => put(&mut self.device_component, text),
            Field::Dte => put(&mut self.device_text, text),
            Field::Crd => put(&mut self.voice_media, text),
            Field::Stc => put(&mut self.status_code, text),
            Field::Stt => put(&mut self.status_text, text),
            Field::Pri => put(&mut self.priority, text),
            Field::Lco => put(&mut self.location_code, text),
            Field::Lva => put(&mut self.location_value, text),
            Field::Lge => {
                self.geo_location.get_or_insert_with(GeoLocation::default);
                Ok(())
            }
            Field::Geo => put(&mut self.lge().position, text),
            Field::Tim => put(&mut self.lge().time, text),
            Field::Gga => put_unless_empty(&mut self.lge().gga, text),
            Field::Lte => put(&mut self.location_text, text),
            Field::Ico => put(&mut self.info_code, text),
            Field::Ite => put(&mut self.info_text, text),
            Field::Ame => {
                if !text.is_empty() {
                    self.more_follows = Some(parse_more_follows(text)?);
                }
                Ok(())
            }
            // Not children of <mrq>: `Field::lookup` never yields them here.
            Field::Snu
            | Field::Ste
            | Field::Cve
            | Field::Mre
            | Field::Cre
            | Field::Tnu
            | Field::Hbi => Ok(()),
        }
    }

    fn reference(&self) -> Option<&Ref> {
        self.reference.as_ref()
    }

    fn finish(self, seen: u64, content_error: Option<Reason>) -> Result<Request, Reason> {
        if seen & Field::Ref.bit() == 0 {
            return Err(Reason::RefMissing);
        }
        if let Some(reason) = content_error {
            return Err(reason);
        }
        Ok(Request {
            reference: self.reference.ok_or(Reason::RefMissing)?,
            version: self.version,
            system_configuration: self.system_configuration,
            call_handling: self.call_handling,
            message_type: self.message_type,
            heartbeat_option: self.heartbeat_option,
            controller_id: self.controller_id.ok_or(Reason::Missing(Field::Cid))?,
            device_type: self.device_type.ok_or(Reason::Missing(Field::Dty))?,
            device_id: self.device_id,
            device_component: self.device_component,
            device_text: self.device_text,
            voice_media: self.voice_media,
            status_code: self.status_code,
            status_text: self.status_text,
            priority: self.priority,
            location_code: self.location_code,
            location_value: self.location_value,
            geo_location: self.geo_location,
            location_text: self.location_text,
            info_code: self.info_code,
            info_text: self.info_text,
            more_follows: self.more_follows,
        })
    }

    fn output_reference(output: &Request) -> Option<&Ref> {
        Some(&output.reference)
    }
}

impl RequestTarget {
    fn lge(&mut self) -> &mut GeoLocation {
        self.geo_location.get_or_insert_with(GeoLocation::default)
    }
}

/// `<mrs>` as it is read.
#[derive(Default)]
pub(crate) struct ResponseTarget {
    reference: Option<Ref>,
    status: Option<StatusNumber>,
    status_text: Option<LongText>,
    version: Option<Version>,
    media_reply: Option<MediaReply>,
    call_handling_reply: Option<CallHandlingReply>,
    transfer_number: Option<TransferNumber>,
    heartbeat_interval: Option<HeartbeatInterval>,
}

impl Target for ResponseTarget {
    type Output = Response;
    const ROOT: &'static str = "mrs";
    const PARENT: Parent = Parent::Response;

    fn set(&mut self, field: Field, text: &str) -> Result<(), InvalidValue> {
        match field {
            Field::Ref => put(&mut self.reference, text),
            Field::Snu => put(&mut self.status, text),
            Field::Ste => put(&mut self.status_text, text),
            Field::Cve => put(&mut self.version, text),
            Field::Mre => put(&mut self.media_reply, text),
            Field::Cre => put(&mut self.call_handling_reply, text),
            Field::Tnu => put(&mut self.transfer_number, text),
            Field::Hbi => put(&mut self.heartbeat_interval, text),
            // Not children of <mrs>: `Field::lookup` never yields them here.
            _ => Ok(()),
        }
    }

    fn reference(&self) -> Option<&Ref> {
        self.reference.as_ref()
    }

    fn finish(self, _seen: u64, content_error: Option<Reason>) -> Result<Response, Reason> {
        if let Some(reason) = content_error {
            return Err(reason);
        }
        Ok(Response {
            reference: self.reference,
            status: self.status.ok_or(Reason::Missing(Field::Snu))?,
            status_text: self.status_text,
            version: self.version,
            media_reply: self.media_reply,
            call_handling_reply: self.call_handling_reply,
            transfer_number: self.transfer_number,
            heartbeat_interval: self.heartbeat_interval,
        })
    }

    fn output_reference(output: &Response) -> Option<&Ref> {
        output.reference.as_ref()
    }
}
