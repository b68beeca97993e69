//! Free-form personal data, parsed: names, contact data, addresses and notes.
//!
//! Every type here is personal data. `Debug` never prints the value, so a
//! stray `{:?}` in a log line cannot leak it; use [`PersonName::as_str`] etc.
//! where the plaintext is genuinely needed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing but whitespace.
    #[error("{field} is empty")]
    Empty {
        /// Which field.
        field: &'static str,
    },
    /// Longer than allowed.
    #[error("{field} is too long ({len} characters, at most {max})")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Length found.
        len: usize,
        /// Largest length allowed.
        max: usize,
    },
    /// A control character (other than newline in multi-line fields).
    #[error("{field} contains a control character")]
    ControlCharacter {
        /// Which field.
        field: &'static str,
    },
    /// Not of the expected shape.
    #[error("{field} is not valid: {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

fn clean(
    input: &str,
    field: &'static str,
    max: usize,
    multiline: bool,
) -> Result<String, TextError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty { field });
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(TextError::TooLong { field, len, max });
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(TextError::ControlCharacter { field });
    }
    Ok(trimmed.to_owned())
}

macro_rules! personal_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr, $multiline:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Longest value accepted, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Parses user input (trimmed).
            pub fn parse(input: &str) -> Result<Self, TextError> {
                Self::check(clean(input, $field, $max, $multiline)?).map(Self)
            }

            /// The plaintext value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

personal_text!(
    /// A given name or family name.
    PersonName, "name", 100, false);
personal_text!(
    /// A postal address (may span lines).
    Address, "address", 300, true);
personal_text!(
    /// A telephone number.
    Phone, "phone number", 20, false);
personal_text!(
    /// An e-mail address.
    Email, "e-mail address", 254, false);
personal_text!(
    /// Free text such as a note (may span lines).
    FreeText, "text", 10_000, true);

impl PersonName {
    fn check(s: String) -> Result<String, TextError> {
        if s.chars()
            .any(|c| c.is_ascii_digit() || "<>{}[]@\\/|".contains(c))
        {
            return Err(TextError::Invalid {
                field: "name",
                reason: "names contain no digits or symbols",
            });
        }
        Ok(s)
    }
}

impl Address {
    fn check(s: String) -> Result<String, TextError> {
        Ok(s)
    }
}

impl FreeText {
    fn check(s: String) -> Result<String, TextError> {
        Ok(s)
    }
}

impl Phone {
    /// Accepts digits with an optional leading `+`, ignoring spaces and dashes
    /// between digit groups; stores the digits (and `+`) only.
    fn check(s: String) -> Result<String, TextError> {
        let invalid = |reason| TextError::Invalid {
            field: "phone number",
            reason,
        };
        let mut out = String::with_capacity(s.len());
        for (i, c) in s.chars().enumerate() {
            match c {
                '+' if i == 0 => out.push(c),
                '0'..='9' => out.push(c),
                ' ' | '-' => {}
                _ => return Err(invalid("only digits, spaces, dashes and a leading +")),
            }
        }
        let digits = out.chars().filter(char::is_ascii_digit).count();
        if !(5..=15).contains(&digits) {
            return Err(invalid("a phone number has 5 to 15 digits"));
        }
        Ok(out)
    }
}

impl Email {
    fn check(s: String) -> Result<String, TextError> {
        let invalid = |reason| TextError::Invalid {
            field: "e-mail address",
            reason,
        };
        let (local, domain) = s.rsplit_once('@').ok_or_else(|| invalid("it has no @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(invalid("the part before @ is empty or too long"));
        }
        if !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(invalid("the domain is not a domain name"));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(invalid("it contains a space"));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names() {
        assert_eq!(
            PersonName::parse("  Åsa-Lena ").unwrap().as_str(),
            "Åsa-Lena"
        );
        assert!(matches!(
            PersonName::parse("   "),
            Err(TextError::Empty { .. })
        ));
        assert!(matches!(
            PersonName::parse("R2D2"),
            Err(TextError::Invalid { .. })
        ));
        assert!(matches!(
            PersonName::parse("a\u{0}b"),
            Err(TextError::ControlCharacter { .. })
        ));
        assert!(matches!(
            PersonName::parse(&"a".repeat(101)),
            Err(TextError::TooLong { len: 101, .. })
        ));
    }

    #[test]
    fn debug_never_shows_personal_data() {
        let name = PersonName::parse("Hemlig").unwrap();
        assert_eq!(format!("{name:?}"), "PersonName(<redacted>)");
        let phone = Phone::parse("070-123 45 67").unwrap();
        assert!(!format!("{phone:?}").contains("070"));
    }

    #[test]
    fn contact_data() {
        assert_eq!(
            Phone::parse("+46 70-123 45 67").unwrap().as_str(),
            "+46701234567"
        );
        assert!(Phone::parse("070 ring mig").is_err());
        assert!(Phone::parse("12").is_err());
        assert!(Phone::parse("1+2345").is_err());
        assert!(Email::parse("anna@exempelby.se").is_ok());
        assert!(Email::parse("anna.exempelby.se").is_err());
        assert!(Email::parse("anna@localhost").is_err());
        assert!(Email::parse("an na@exempelby.se").is_err());
        assert!(Address::parse("Storgatan 1\n123 45 Exempelby").is_ok());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = PersonName::parse(&s);
            let _ = Phone::parse(&s);
            let _ = Email::parse(&s);
            let _ = Address::parse(&s);
        }

        #[test]
        fn accepted_names_round_trip(s in "[A-Za-zÅÄÖåäö][A-Za-zÅÄÖåäö' -]{0,30}") {
            let name = PersonName::parse(&s).unwrap();
            prop_assert_eq!(PersonName::parse(name.as_str()).unwrap(), name);
        }
    }
}
