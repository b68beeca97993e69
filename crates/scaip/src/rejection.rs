//! Why a body was refused, and the answer it gets.

use std::fmt::{self, Debug, Display, Formatter};

use crate::message::{Field, Response};
use crate::value::{LongText, Ref, StatusNumber};

/// A refused body: the `snu` to answer, the request's `ref` when it could be
/// read (so the answer can still be matched), and the reason for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SCAIP snu={}: {reason}", .reason.status_number().code())]
pub struct Rejection {
    reference: Option<Ref>,
    reason: Reason,
}

impl Rejection {
    pub(crate) fn new(reason: Reason, reference: Option<Ref>) -> Self {
        Self { reference, reason }
    }

    /// The answer: 1, 2, 3, 7 or 10.
    pub fn status_number(&self) -> StatusNumber {
        self.reason.status_number()
    }

    /// The `ref` of the refused request, if it could be read.
    pub fn reference(&self) -> Option<&Ref> {
        self.reference.as_ref()
    }

    /// Why.
    pub fn reason(&self) -> &Reason {
        &self.reason
    }

    /// The `<mrs>` to send back: the `ref` if known, the `snu`, and the
    /// reason as `ste`.
    pub fn response(&self) -> Response {
        let mut response = Response::new(self.reference.clone(), self.status_number());
        let mut text = self.reason.to_string();
        if let Some((cut, _)) = text.char_indices().nth(128) {
            text.truncate(cut);
        }
        response.status_text = text.parse::<LongText>().ok();
        response
    }
}

/// Why a body was refused. Never holds a value from the body: at most a
/// sanitised [`Snippet`] of a tag or entity name, or a parser message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// snu 1: the body is longer than [`crate::MAX_BODY`].
    #[error("the body has {len} bytes, more than the limit of {limit}")]
    TooLong {
        /// The body's length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// snu 2: the body is not UTF-8.
    #[error("the body is not UTF-8 (at byte {at})")]
    NotUtf8 {
        /// Where the first invalid byte is.
        at: usize,
    },
    /// snu 2: the XML is not well-formed.
    #[error("malformed XML: {0}")]
    Malformed(Snippet),
    /// snu 2: an XML declaration that is not the very first thing, or not
    /// version 1.0 in UTF-8.
    #[error("the XML declaration must come first and say version 1.0, UTF-8")]
    Declaration,
    /// snu 2: a document type declaration (DTD).
    #[error("document type declarations are not accepted")]
    DocType,
    /// snu 2: a processing instruction.
    #[error("processing instruction <?{0}?> is not accepted")]
    ProcessingInstruction(Snippet),
    /// snu 2: a CDATA section.
    #[error("CDATA sections are not accepted")]
    Cdata,
    /// snu 2: an entity reference other than the five predefined ones, or a
    /// character reference to a character XML does not allow.
    #[error("entity reference &{0}; is not accepted")]
    Entity(Snippet),
    /// snu 2: an attribute.
    #[error("attributes are not accepted (on <{0}>)")]
    Attribute(Snippet),
    /// snu 2: the root element is not the expected one.
    #[error("the root element is <{found}>, not <{expected}>")]
    Root {
        /// The root element's tag.
        found: Snippet,
        /// The tag expected.
        expected: &'static str,
    },
    /// snu 2: the body ends before its root element does.
    #[error("the body ends before the root element is complete")]
    Truncated,
    /// snu 2: an element or text after the root element.
    #[error("content after the root element")]
    AfterRoot,
    /// snu 2: text where only elements may stand.
    #[error("text outside an element's value")]
    MixedContent,
    /// snu 2: an element inside a value.
    #[error("element <{inner}> inside <{field}>")]
    Nested {
        /// The element holding a value.
        field: Field,
        /// The element found inside.
        inner: Snippet,
    },
    /// snu 2: an element that appears twice.
    #[error("<{0}> appears more than once")]
    Duplicate(Field),
    /// snu 3: an element SCAIP does not define here.
    #[error("unknown element <{0}>")]
    UnknownElement(Snippet),
    /// snu 3: a value that breaks its element's rule.
    #[error("<{field}> {rule}")]
    Value {
        /// The element.
        field: Field,
        /// The rule broken.
        rule: &'static str,
    },
    /// snu 7: a mandatory element is missing.
    #[error("mandatory <{0}> is missing")]
    Missing(Field),
    /// snu 10: `<ref>` is missing.
    #[error("<ref> is missing")]
    RefMissing,
}

impl Reason {
    /// The answer this reason gets.
    pub fn status_number(&self) -> StatusNumber {
        match self {
            Self::TooLong { .. } => StatusNumber::TooLong,
            Self::NotUtf8 { .. }
            | Self::Malformed(_)
            | Self::Declaration
            | Self::DocType
            | Self::ProcessingInstruction(_)
            | Self::Cdata
            | Self::Entity(_)
            | Self::Attribute(_)
            | Self::Root { .. }
            | Self::Truncated
            | Self::AfterRoot
            | Self::MixedContent
            | Self::Nested { .. }
            | Self::Duplicate(_) => StatusNumber::InvalidFormat,
            Self::UnknownElement(_) | Self::Value { .. } => StatusNumber::WrongContent,
            Self::Missing(_) => StatusNumber::MandatoryTagMissing,
            Self::RefMissing => StatusNumber::RefMissing,
        }
    }
}

/// A bounded, sanitised piece of input for a log line: at most
/// [`Snippet::MAX`] characters of printable ASCII; anything else becomes `?`,
/// and a longer input ends in `...`.
#[derive(Clone, PartialEq, Eq)]
pub struct Snippet(String);

impl Snippet {
    /// The most characters a snippet keeps.
    pub const MAX: usize = 40;

    /// Sanitise and bound `s`.
    pub fn new(s: &str) -> Self {
        let mut out: String = s
            .chars()
            .take(Self::MAX)
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        if s.chars().nth(Self::MAX).is_some() {
            out.push_str("...");
        }
        Self(out)
    }

    /// The sanitised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Display for Snippet {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Debug for Snippet {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_bounded_and_printable() {
        assert_eq!(Snippet::new("abc").as_str(), "abc");
        assert_eq!(Snippet::new("a\u{1b}[31mb\nc").as_str(), "a?[31mb?c");
        assert_eq!(Snippet::new("å").as_str(), "?");
        let long = "x".repeat(10_000);
        assert_eq!(Snippet::new(&long).as_str().len(), Snippet::MAX + 3);
    }

    #[test]
    fn a_rejection_answers_with_its_snu_ref_and_reason() {
        let reference: Ref = "A1".parse().unwrap();
        let r = Rejection::new(Reason::Missing(Field::Cid), Some(reference.clone()));
        let response = r.response();
        assert_eq!(response.reference, Some(reference));
        assert_eq!(response.status, StatusNumber::MandatoryTagMissing);
        assert_eq!(
            response.status_text.unwrap().as_str(),
            "mandatory <cid> is missing"
        );
    }
}
