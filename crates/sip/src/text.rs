//! The lexical pieces of RFC 3261 §25 that the header parsers share: tokens,
//! quoted strings, comma-separated lists and `;name=value` parameters.

use std::fmt;

use crate::{HeaderError, MAX_PARAMS};

/// `token` characters (RFC 3261 §25.1).
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// `SP` or `HTAB`: the only whitespace inside a header line.
pub(crate) fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Text a header value or reason phrase may hold: any character but the
/// controls, except `HTAB`. Line ends never reach a value, so a CR or LF
/// here was a bare one and is refused with the rest.
pub(crate) fn is_text(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() && c != '\t')
}

/// Lower-case hexadecimal, as Digest writes its hashes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(&d) = DIGITS.get(usize::from(nibble)) {
                out.push(char::from(d));
            }
        }
    }
    out
}

/// Reads the quoted string at the start of `s` (which starts with `"`):
/// the unescaped content and the rest after the closing quote.
pub(crate) fn unquote(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, s.get(i + 1..)?)),
            '\\' => {
                let (_, escaped) = chars.next()?;
                if escaped.is_control() && escaped != '\t' {
                    return None;
                }
                out.push(escaped);
            }
            c if c.is_control() && c != '\t' => return None,
            c => out.push(c),
        }
    }
    None
}

/// Writes `s` as a quoted string, escaping `"` and `\`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Splits a header value on the commas that separate list elements: not
/// those inside a quoted string or between `<` and `>`. Elements are
/// trimmed; an empty element or an unclosed quote or bracket is an error.
pub(crate) fn split_list(s: &str) -> Result<Vec<&str>, HeaderError> {
    let mut parts = Vec::new();
    let (mut start, mut in_quote, mut in_angle, mut escaped) = (0, false, false, false);
    for (i, c) in s.char_indices() {
        if in_quote {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_quote = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quote = true,
            '<' if !in_angle => in_angle = true,
            '>' if in_angle => in_angle = false,
            ',' if !in_angle => {
                parts.push(
                    s.get(start..i)
                        .ok_or(HeaderError::Syntax)?
                        .trim_matches(is_ws),
                );
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quote || in_angle {
        return Err(HeaderError::Syntax);
    }
    parts.push(
        s.get(start..)
            .ok_or(HeaderError::Syntax)?
            .trim_matches(is_ws),
    );
    if parts.iter().any(|p| p.is_empty()) {
        return Err(HeaderError::Syntax);
    }
    Ok(parts)
}

/// One `;name[=value]` parameter of a header (Via, From, To, Contact,
/// Content-Type). The value is kept as written (a quoted value keeps its
/// quotes), so writing the parameters gives back the same text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    name: String,
    value: Option<String>,
}

impl Param {
    /// The parameter's name, as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value as written, `None` for a flag such as `;rport` or `;lr`.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

/// The parameters of a header, in order, at most [`MAX_PARAMS`]; names are
/// compared without regard to case and appear once each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<Param>);

impl Params {
    /// Reads `;name[=value]…` (with optional whitespace around `;` and
    /// `=`). A value is a token, a host (`:` and brackets allowed for IPv6)
    /// or a quoted string.
    pub(crate) fn parse(mut s: &str) -> Result<Self, HeaderError> {
        let mut params = Vec::new();
        loop {
            s = s.trim_start_matches(is_ws);
            if s.is_empty() {
                break;
            }
            s = s
                .strip_prefix(';')
                .ok_or(HeaderError::Syntax)?
                .trim_start_matches(is_ws);
            let name_end = s.bytes().position(|b| !is_token_char(b)).unwrap_or(s.len());
            let (name, rest) = s.split_at_checked(name_end).ok_or(HeaderError::Syntax)?;
            if name.is_empty() {
                return Err(HeaderError::Syntax);
            }
            s = rest.trim_start_matches(is_ws);
            let mut value = None;
            if let Some(rest) = s.strip_prefix('=') {
                let rest = rest.trim_start_matches(is_ws);
                let len = if rest.starts_with('"') {
                    let (_, after) = unquote(rest).ok_or(HeaderError::Syntax)?;
                    rest.len() - after.len()
                } else {
                    rest.bytes()
                        .position(|b| !(is_token_char(b) || b":[]".contains(&b)))
                        .unwrap_or(rest.len())
                };
                let (v, after) = rest.split_at_checked(len).ok_or(HeaderError::Syntax)?;
                if v.is_empty() {
                    return Err(HeaderError::Syntax);
                }
                value = Some(v.to_owned());
                s = after;
            }
            if params
                .iter()
                .any(|p: &Param| p.name.eq_ignore_ascii_case(name))
            {
                return Err(HeaderError::RepeatedParam);
            }
            if params.len() >= MAX_PARAMS {
                return Err(HeaderError::TooManyParams);
            }
            params.push(Param {
                name: name.to_owned(),
                value,
            });
        }
        Ok(Self(params))
    }

    /// The parameter named `name` (any case): `Some(None)` for a flag,
    /// `Some(Some(value))` for a value, `None` when absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(Param::value)
    }

    /// The parameters in order.
    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.0.iter()
    }

    /// Sets `name` to `value`, in place if present, else at the end. The
    /// name must be a token and the value a token or host.
    pub(crate) fn set(&mut self, name: &str, value: Option<&str>) -> Result<(), HeaderError> {
        let value_ok = value.is_none_or(|v| {
            !v.is_empty() && v.bytes().all(|b| is_token_char(b) || b":[]".contains(&b))
        });
        if !is_token(name) || !value_ok {
            return Err(HeaderError::Syntax);
        }
        let value = value.map(str::to_owned);
        if let Some(p) = self
            .0
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            p.value = value;
        } else if self.0.len() >= MAX_PARAMS {
            return Err(HeaderError::TooManyParams);
        } else {
            self.0.push(Param {
                name: name.to_owned(),
                value,
            });
        }
        Ok(())
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match &p.value {
                Some(v) => write!(f, ";{}={v}", p.name)?,
                None => write!(f, ";{}", p.name)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_outside_quotes_and_brackets() {
        assert_eq!(
            split_list(r#"a, "b,\"c" , <sip:d,e@f>;x=1,g"#),
            Ok(vec!["a", r#""b,\"c""#, "<sip:d,e@f>;x=1", "g"])
        );
        for bad in ["a,", ",a", "a,,b", "\"open", "<open", "a, \"\\\""] {
            assert_eq!(split_list(bad), Err(HeaderError::Syntax), "{bad}");
        }
    }

    #[test]
    fn quoted_strings_round_trip() {
        for s in ["", "plain", "with \"quotes\"", "back\\slash", "åäö ✓"] {
            let quoted = quote(s);
            assert_eq!(unquote(&quoted), Some((s.to_owned(), "")));
        }
        assert_eq!(unquote("\"a\" rest"), Some(("a".to_owned(), " rest")));
        assert_eq!(unquote("\"a\u{1}\""), None);
        assert_eq!(unquote("\"a\\"), None);
        assert_eq!(unquote("a"), None);
    }

    #[test]
    fn params_read_and_write() {
        let p = Params::parse(" ; tag = abc ;lr; received=[2001:db8::1];x=\"q;v\"").unwrap();
        assert_eq!(p.get("TAG"), Some(Some("abc")));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.get("x"), Some(Some("\"q;v\"")));
        assert_eq!(p.get("none"), None);
        assert_eq!(
            p.to_string(),
            ";tag=abc;lr;received=[2001:db8::1];x=\"q;v\""
        );
        for bad in ["tag=1", ";", ";=1", ";a=", ";a b", ";a;A"] {
            assert!(Params::parse(bad).is_err(), "{bad}");
        }
        let many: String = (0..=MAX_PARAMS).map(|i| format!(";p{i}")).collect();
        assert_eq!(Params::parse(&many), Err(HeaderError::TooManyParams));
        let mut p = Params::default();
        assert!(p.set("a b", None).is_err());
        assert!(p.set("a", Some("x\"y")).is_err());
        p.set("a", Some("1")).unwrap();
        p.set("A", Some("2")).unwrap();
        assert_eq!(p.to_string(), ";a=2");
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0x9f, 0xff]), "009fff");
    }
}
