//! Swedish identifiers: personnummer and samordningsnummer ([`IdentityNumber`]),
//! HSA-id ([`HsaId`]) and organisationsnummer ([`OrgNumber`]).
//!
//! Everything here is parsed once and trusted afterwards. Nothing reads the
//! clock: where the answer depends on the date (century inference, birth dates
//! in the future), the reference date is a parameter.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use time::{Date, Month};

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Luhn (mod 10) check digit over `digits`, weights 2, 1, 2, 1, … from the
/// left, digits of each product summed.
fn luhn(digits: impl IntoIterator<Item = u8>) -> u8 {
    let sum = digits
        .into_iter()
        .zip([2u8, 1].into_iter().cycle())
        .fold(0u8, |acc, (d, w)| {
            let p = d * w;
            (acc + p / 10 + p % 10) % 10
        });
    (10 - sum) % 10
}

/// The decimal value of a run of digits.
fn number(digits: &[u8]) -> u16 {
    digits.iter().fold(0, |acc, &d| acc * 10 + u16::from(d))
}

/// A number split into its digits, plus the separator ('-' or '+') and its
/// 1-based position if there was one.
struct Lexed {
    digits: Vec<u8>,
    separator: Option<(usize, char)>,
}

/// Why [`lex`] failed.
enum LexError {
    /// 1-based position and the offending character.
    Character(usize, char),
    /// Number of digits, when not 10 or 12.
    Length(usize),
}

/// Splits `s` into 10 or 12 digits and an optional separator, which must be
/// followed by exactly four digits. Reports foreign characters first, then a
/// wrong number of digits, then a misplaced separator.
fn lex(s: &str) -> Result<Lexed, LexError> {
    let is_separator = |c: char| matches!(c, '-' | '+');
    if let Some((i, ch)) = s
        .chars()
        .enumerate()
        .find(|&(_, c)| !c.is_ascii_digit() && !is_separator(c))
    {
        return Err(LexError::Character(i + 1, ch));
    }
    // From here on `s` is ASCII: byte index = character index.
    let digits: Vec<u8> = s
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    if !matches!(digits.len(), 10 | 12) {
        return Err(LexError::Length(digits.len()));
    }
    let mut separator = None;
    for (i, ch) in s.char_indices().filter(|&(_, c)| is_separator(c)) {
        if separator.is_some() || i + 5 != s.len() {
            return Err(LexError::Character(i + 1, ch));
        }
        separator = Some((i + 1, ch));
    }
    Ok(Lexed { digits, separator })
}

// ---------------------------------------------------------------------------
// Personnummer / samordningsnummer
// ---------------------------------------------------------------------------

/// Which kind of Swedish identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityNumberKind {
    /// Personnummer: for people who are or have been registered in Sweden.
    Personnummer,
    /// Samordningsnummer: coordination number; the day field is the day + 60.
    Samordningsnummer,
}

/// Why a string is not a valid identity number. Messages name the problem
/// but never repeat the whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityNumberError {
    /// Nothing but whitespace.
    #[error("identity number is empty")]
    Empty,
    /// Not 10 or 12 digits.
    #[error("identity number must have 10 or 12 digits, got {len}")]
    BadLength {
        /// Number of digits found.
        len: usize,
    },
    /// A character that is neither a digit nor a separator in the right place.
    #[error("unexpected character {ch:?} at position {position} of the identity number")]
    BadCharacter {
        /// 1-based position in the trimmed input.
        position: usize,
        /// The character.
        ch: char,
    },
    /// `YYYYMMDD+NNNC`: the 12-digit form has no century marker.
    #[error("'+' is only allowed in the 10-digit form (YYMMDD+NNNC), not with a 4-digit year")]
    PlusInTwelveDigitForm,
    /// A 10-digit form where only the 12-digit form is accepted.
    #[error("the 10-digit form needs a reference date to infer the century; expected YYYYMMDDNNNC")]
    CenturyRequired,
    /// Month field outside 01–12.
    #[error("month {month:02} is not a month")]
    BadMonth {
        /// The month field.
        month: u8,
    },
    /// Day field outside 01–31 and 61–91.
    #[error("day field {field:02} is neither a day (01-31) nor a samordningsnummer day (61-91)")]
    BadDayField {
        /// The day field.
        field: u8,
    },
    /// The day does not exist in that month (e.g. 30 February, 29 February 1900).
    #[error("day {day:02} does not exist in {year:04}-{month:02}")]
    BadDay {
        /// Year (after century inference).
        year: i32,
        /// Month.
        month: u8,
        /// Real day (without the samordningsnummer offset).
        day: u8,
    },
    /// The year cannot be written with four digits.
    #[error("year {year} is outside 0000-9999")]
    YearOutOfRange {
        /// The year.
        year: i32,
    },
    /// The birth date is after the reference date.
    #[error("birth date {date} is in the future")]
    FutureBirthDate {
        /// The birth date.
        date: Date,
    },
    /// Serial 000 is never issued.
    #[error("serial number 000 is not valid")]
    SerialZero,
    /// Serial above 999 (only from [`IdentityNumber::from_parts`]).
    #[error("serial number {serial} has more than 3 digits")]
    SerialTooLarge {
        /// The serial.
        serial: u16,
    },
    /// The Luhn check digit does not match.
    #[error("wrong check digit: expected {expected}, got {found}")]
    CheckDigit {
        /// The check digit the other digits require.
        expected: u8,
        /// The check digit in the input.
        found: u8,
    },
}

/// A valid Swedish personnummer or samordningsnummer.
///
/// `Debug` is redacted (personal data); there is no `Display`: use
/// [`canonical`](Self::canonical) or [`display_form`](Self::display_form)
/// deliberately. Serialised as the canonical 12-digit string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityNumber {
    birth_date: Date,
    kind: IdentityNumberKind,
    serial: u16,
    check: u8,
}

impl IdentityNumber {
    /// Parses `YYYYMMDDNNNC`, `YYYYMMDD-NNNC`, `YYMMDDNNNC`, `YYMMDD-NNNC` or
    /// `YYMMDD+NNNC` (surrounding whitespace ignored). In the 10-digit forms the
    /// century is inferred from `today`: with '-' or no separator the person is
    /// under 100 on `today`, with '+' 100 or older. The birth date must not be
    /// after `today`.
    pub fn parse(input: &str, today: Date) -> Result<Self, IdentityNumberError> {
        let id = Self::parse_inner(input, Some(today))?;
        if id.birth_date > today {
            return Err(IdentityNumberError::FutureBirthDate {
                date: id.birth_date,
            });
        }
        Ok(id)
    }

    /// Parses only the 12-digit forms `YYYYMMDDNNNC` and `YYYYMMDD-NNNC`.
    /// Checks format, date and check digit but not whether the birth date is in
    /// the future (there is no reference date). Used for stored values.
    pub fn parse_canonical(input: &str) -> Result<Self, IdentityNumberError> {
        Self::parse_inner(input, None)
    }

    /// Builds a number from its parts, computing the check digit. For a
    /// samordningsnummer, `birth_date` is the real date (the +60 is added here).
    pub fn from_parts(
        birth_date: Date,
        serial: u16,
        kind: IdentityNumberKind,
    ) -> Result<Self, IdentityNumberError> {
        let year = birth_date.year();
        if !(0..=9999).contains(&year) {
            return Err(IdentityNumberError::YearOutOfRange { year });
        }
        match serial {
            0 => Err(IdentityNumberError::SerialZero),
            1..=999 => Ok(Self::with_check(birth_date, kind, serial)),
            _ => Err(IdentityNumberError::SerialTooLarge { serial }),
        }
    }

    /// Personnummer or samordningsnummer.
    pub fn kind(&self) -> IdentityNumberKind {
        self.kind
    }

    /// The real birth date (for a samordningsnummer: without the +60).
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// The three-digit serial number, 1–999.
    pub fn serial(&self) -> u16 {
        self.serial
    }

    /// Whether this is a samordningsnummer.
    pub fn is_coordination_number(&self) -> bool {
        self.kind == IdentityNumberKind::Samordningsnummer
    }

    /// `YYYYMMDDNNNC` (day + 60 for a samordningsnummer).
    pub fn canonical(&self) -> String {
        self.format("")
    }

    /// `YYYYMMDD-NNNC` (day + 60 for a samordningsnummer).
    pub fn display_form(&self) -> String {
        self.format("-")
    }

    fn format(&self, separator: &str) -> String {
        format!(
            "{:04}{:02}{:02}{separator}{:03}{}",
            self.birth_date.year(),
            u8::from(self.birth_date.month()),
            self.day_field(),
            self.serial,
            self.check
        )
    }

    fn day_field(&self) -> u8 {
        day_field(self.birth_date, self.kind)
    }

    fn with_check(birth_date: Date, kind: IdentityNumberKind, serial: u16) -> Self {
        // Years are 0..=9999 here, so these casts cannot truncate.
        let yy = birth_date.year().rem_euclid(100) as u8;
        let month = u8::from(birth_date.month());
        let day = day_field(birth_date, kind);
        let [s1, s2, s3] = [serial / 100, serial / 10 % 10, serial % 10].map(|d| d as u8);
        let check = luhn([
            yy / 10,
            yy % 10,
            month / 10,
            month % 10,
            day / 10,
            day % 10,
            s1,
            s2,
            s3,
        ]);
        Self {
            birth_date,
            kind,
            serial,
            check,
        }
    }

    fn parse_inner(input: &str, today: Option<Date>) -> Result<Self, IdentityNumberError> {
        use IdentityNumberError as E;
        let s = input.trim();
        if s.is_empty() {
            return Err(E::Empty);
        }
        let Lexed { digits, separator } = lex(s).map_err(|e| match e {
            LexError::Character(position, ch) => E::BadCharacter { position, ch },
            LexError::Length(len) => E::BadLength { len },
        })?;
        let plus = matches!(separator, Some((_, '+')));
        let (century, ten) = match digits.as_slice() {
            [c1, c2, ten @ ..] if ten.len() == 10 => (Some(number(&[*c1, *c2])), ten),
            ten => (None, ten),
        };
        let &[y1, y2, m1, m2, d1, d2, s1, s2, s3, check] = ten else {
            return Err(E::BadLength { len: digits.len() });
        };
        let yy = y1 * 10 + y2;
        let century = match (century, today) {
            (Some(_), _) if plus => return Err(E::PlusInTwelveDigitForm),
            (Some(written), _) => Century::Written(written),
            (None, Some(today)) => Century::Inferred { today, plus },
            (None, None) => return Err(E::CenturyRequired),
        };
        let month = m1 * 10 + m2;
        if !(1..=12).contains(&month) {
            return Err(E::BadMonth { month });
        }
        let (kind, day) = match d1 * 10 + d2 {
            field @ 1..=31 => (IdentityNumberKind::Personnummer, field),
            field @ 61..=91 => (IdentityNumberKind::Samordningsnummer, field - 60),
            field => return Err(E::BadDayField { field }),
        };
        let year = match century {
            Century::Written(century) => i32::from(century) * 100 + i32::from(yy),
            Century::Inferred { today, plus } => infer_year(yy, month, day, today, plus),
        };
        if !(0..=9999).contains(&year) {
            return Err(E::YearOutOfRange { year });
        }
        let birth_date = Month::try_from(month)
            .and_then(|m| Date::from_calendar_date(year, m, day))
            .map_err(|_| E::BadDay { year, month, day })?;
        let serial = number(&[s1, s2, s3]);
        if serial == 0 {
            return Err(E::SerialZero);
        }
        let id = Self::with_check(birth_date, kind, serial);
        if id.check != check {
            return Err(E::CheckDigit {
                expected: id.check,
                found: check,
            });
        }
        Ok(id)
    }
}

/// Where the century of a number comes from.
enum Century {
    /// The first two digits of a 12-digit number.
    Written(u16),
    /// A 10-digit number: from the reference date and the separator.
    Inferred { today: Date, plus: bool },
}

/// The day field as written: the day, plus 60 for a samordningsnummer.
fn day_field(date: Date, kind: IdentityNumberKind) -> u8 {
    match kind {
        IdentityNumberKind::Personnummer => date.day(),
        IdentityNumberKind::Samordningsnummer => date.day() + 60,
    }
}

/// The full year for a 10-digit number. Without '+': the latest year ending in
/// `yy` such that the birth date is not after `today`. With '+': a century
/// earlier, i.e. the latest year such that the person is at least 100.
fn infer_year(yy: u8, _month: u8, _day: u8, today: Date, plus: bool) -> i32 {
    // Skatteverket: from the calendar year a person turns 100, the separator
    // is '+' instead of '-'. So '-' means born within the last 99 years
    // (counting by year), '+' means born 100 or more years ago (by year).
    let this_year = today.year();
    let recent = this_year - (this_year - i32::from(yy)).rem_euclid(100);
    if plus { recent - 100 } else { recent }
}

impl fmt::Debug for IdentityNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityNumber(<redacted>)")
    }
}

impl Serialize for IdentityNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical())
    }
}

impl<'de> Deserialize<'de> for IdentityNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse_canonical(&s).map_err(serde::de::Error::custom)
    }
}

/// `FromStr`, `Display` and serde (as a string, parsed on the way in) for an
/// identifier newtype over `String` with a `parse` constructor.
macro_rules! string_identifier {
    ($t:ident, $e:ident) => {
        impl FromStr for $t {
            type Err = $e;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

// ---------------------------------------------------------------------------
// HSA-id
// ---------------------------------------------------------------------------

/// Why a string is not a valid HSA-id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HsaIdError {
    /// Nothing but whitespace.
    #[error("HSA-id is empty")]
    Empty,
    /// Longer than 31 characters.
    #[error("HSA-id is {len} characters long; at most 31 are allowed")]
    TooLong {
        /// Length in characters.
        len: usize,
    },
    /// Does not start with two upper-case ASCII letters.
    #[error("HSA-id must start with a two-letter upper-case country code such as SE")]
    BadCountryCode,
    /// No '-' after the organisation number.
    #[error("HSA-id has no '-' after the organisation number")]
    MissingDash,
    /// The part between country code and '-' is not 10 digits or 16 + 10 digits.
    #[error(
        "HSA-id must have 10 digits, or 12 digits starting with 16, between the country code and '-'"
    )]
    BadOrganisationNumber,
    /// Nothing after the '-'.
    #[error("HSA-id has nothing after '-'")]
    EmptySuffix,
    /// A character after the '-' that is not an ASCII letter or digit.
    #[error(
        "unexpected character {ch:?} at position {position} of the HSA-id; only letters A-Z and digits may follow '-'"
    )]
    BadCharacter {
        /// 1-based position in the trimmed input.
        position: usize,
        /// The character.
        ch: char,
    },
}

/// A Swedish HSA-id, e.g. `SE2321000016-1234`: country code, organisation
/// number (optionally prefixed 16), '-', and an upper-case alphanumeric suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HsaId(String);

impl HsaId {
    /// Maximum length in characters.
    pub const MAX_LEN: usize = 31;

    /// Parses an HSA-id; surrounding whitespace is ignored and the suffix is
    /// upper-cased.
    pub fn parse(input: &str) -> Result<Self, HsaIdError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(HsaIdError::Empty);
        }
        let len = s.chars().count();
        if len > Self::MAX_LEN {
            return Err(HsaIdError::TooLong { len });
        }
        let country = s
            .get(..2)
            .filter(|c| c.bytes().all(|b| b.is_ascii_uppercase()));
        let (Some(country), Some(rest)) = (country, s.get(2..)) else {
            return Err(HsaIdError::BadCountryCode);
        };
        let (org, suffix) = rest.split_once('-').ok_or(HsaIdError::MissingDash)?;
        let org_ok = org.bytes().all(|b| b.is_ascii_digit())
            && (org.len() == 10 || (org.len() == 12 && org.starts_with("16")));
        if !org_ok {
            return Err(HsaIdError::BadOrganisationNumber);
        }
        if suffix.is_empty() {
            return Err(HsaIdError::EmptySuffix);
        }
        // Everything before the suffix is ASCII, so byte length = char count.
        let offset = country.len() + org.len() + 1;
        if let Some((i, ch)) = suffix
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_alphanumeric())
        {
            return Err(HsaIdError::BadCharacter {
                position: offset + i + 1,
                ch,
            });
        }
        Ok(Self(format!(
            "{country}{org}-{}",
            suffix.to_ascii_uppercase()
        )))
    }

    /// The normalised HSA-id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_identifier!(HsaId, HsaIdError);

// ---------------------------------------------------------------------------
// Organisationsnummer
// ---------------------------------------------------------------------------

/// Why a string is not a valid organisationsnummer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrgNumberError {
    /// Nothing but whitespace.
    #[error("organisation number is empty")]
    Empty,
    /// Not 10 or 12 digits.
    #[error("organisation number must have 10 digits (or 12 starting with 16), got {len}")]
    BadLength {
        /// Number of digits found.
        len: usize,
    },
    /// A character that is neither a digit nor '-' in the right place.
    #[error("unexpected character {ch:?} at position {position} of the organisation number")]
    BadCharacter {
        /// 1-based position in the trimmed input.
        position: usize,
        /// The character.
        ch: char,
    },
    /// A 12-digit form that does not start with 16.
    #[error("a 12-digit organisation number must start with 16")]
    BadPrefix,
    /// Third digit below 2: a personnummer, not a legal person.
    #[error("third digit is {digit}; organisation numbers of legal persons have 2 or higher there")]
    NotLegalPerson {
        /// The third digit.
        digit: u8,
    },
    /// The Luhn check digit does not match.
    #[error("wrong check digit: expected {expected}, got {found}")]
    CheckDigit {
        /// The check digit the other digits require.
        expected: u8,
        /// The check digit in the input.
        found: u8,
    },
}

/// A Swedish organisationsnummer of a legal person, stored as `NNNNNN-NNNN`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgNumber(String);

impl OrgNumber {
    /// Parses `NNNNNNNNNN`, `NNNNNN-NNNN`, `16NNNNNNNNNN` or `16NNNNNN-NNNN`
    /// (surrounding whitespace ignored).
    pub fn parse(input: &str) -> Result<Self, OrgNumberError> {
        use OrgNumberError as E;
        let s = input.trim();
        if s.is_empty() {
            return Err(E::Empty);
        }
        let Lexed { digits, separator } = lex(s).map_err(|e| match e {
            LexError::Character(position, ch) => E::BadCharacter { position, ch },
            LexError::Length(len) => E::BadLength { len },
        })?;
        if let Some((position, ch @ '+')) = separator {
            return Err(E::BadCharacter { position, ch });
        }
        let ten = match digits.as_slice() {
            [1, 6, rest @ ..] if rest.len() == 10 => rest,
            twelve if twelve.len() == 12 => return Err(E::BadPrefix),
            ten => ten,
        };
        let &[a, b, c, d, e, f, g, h, i, check] = ten else {
            return Err(E::BadLength { len: digits.len() });
        };
        if c < 2 {
            return Err(E::NotLegalPerson { digit: c });
        }
        let expected = luhn([a, b, c, d, e, f, g, h, i]);
        if expected != check {
            return Err(E::CheckDigit {
                expected,
                found: check,
            });
        }
        let text = ten
            .iter()
            .enumerate()
            .flat_map(|(i, &d)| {
                (i == 6)
                    .then_some('-')
                    .into_iter()
                    .chain([char::from(b'0' + d)])
            })
            .collect();
        Ok(Self(text))
    }

    /// `NNNNNN-NNNN`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_identifier!(OrgNumber, OrgNumberError);

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use IdentityNumberError as E;
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StrDeserializer};
    use time::macros::date;

    const TODAY: Date = date!(2024 - 05 - 10);

    fn check(input: &str, today: Date, expected: Result<&str, E>) {
        let got = IdentityNumber::parse(input, today).map(|id| id.canonical());
        assert_eq!(got.as_deref().map_err(|e| *e), expected, "input {input:?}");
    }

    #[test]
    fn luhn_of_published_example() {
        assert_eq!(luhn([8, 1, 1, 2, 1, 8, 9, 8, 7]), 6);
        check("811218-9876", TODAY, Ok("198112189876"));
        check("19811218-9876", TODAY, Ok("198112189876"));
    }

    #[test]
    fn table() {
        let t = TODAY;
        // Accepted forms.
        check("198112189876", t, Ok("198112189876"));
        check("8112189876", t, Ok("198112189876"));
        check("  811218-9876\n", t, Ok("198112189876"));
        check("811218+9876", t, Ok("188112189876"));
        // Samordningsnummer: day 63 = 3rd.
        check("121263-1236", t, Ok("201212631236"));
        let id = IdentityNumber::parse("121263-1236", t).unwrap();
        assert_eq!(id.kind(), IdentityNumberKind::Samordningsnummer);
        assert!(id.is_coordination_number());
        assert_eq!(id.birth_date(), date!(2012 - 12 - 03));
        assert_eq!(id.serial(), 123);
        assert_eq!(id.display_form(), "20121263-1236");
        // Leap days.
        check("20000229-1235", t, Ok("200002291235"));
        check("000229-1235", t, Ok("200002291235"));
        check(
            "19000229-1235",
            t,
            Err(E::BadDay {
                year: 1900,
                month: 2,
                day: 29,
            }),
        );
        check(
            "000229+1235",
            t,
            Err(E::BadDay {
                year: 1900,
                month: 2,
                day: 29,
            }),
        );
        check(
            "20230230-1235",
            t,
            Err(E::BadDay {
                year: 2023,
                month: 2,
                day: 30,
            }),
        );
        check(
            "20230231-1235",
            t,
            Err(E::BadDay {
                year: 2023,
                month: 2,
                day: 31,
            }),
        );
        check(
            "20230290-1235",
            t,
            Err(E::BadDay {
                year: 2023,
                month: 2,
                day: 30,
            }),
        );
        // Fields out of range.
        check("20230028-1235", t, Err(E::BadMonth { month: 0 }));
        check("20231328-1235", t, Err(E::BadMonth { month: 13 }));
        check("20230100-1235", t, Err(E::BadDayField { field: 0 }));
        check("20230145-1235", t, Err(E::BadDayField { field: 45 }));
        check("20230192-1235", t, Err(E::BadDayField { field: 92 }));
        check("230228-0009", t, Err(E::SerialZero));
        check(
            "811218-9875",
            t,
            Err(E::CheckDigit {
                expected: 6,
                found: 5,
            }),
        );
        // Format.
        check("", t, Err(E::Empty));
        check("   ", t, Err(E::Empty));
        check(
            "81121a-9876",
            t,
            Err(E::BadCharacter {
                position: 6,
                ch: 'a',
            }),
        );
        check(
            "811218 9876",
            t,
            Err(E::BadCharacter {
                position: 7,
                ch: ' ',
            }),
        );
        check(
            "8112-18-9876",
            t,
            Err(E::BadCharacter {
                position: 5,
                ch: '-',
            }),
        );
        check("811218-987", t, Err(E::BadLength { len: 9 }));
        check("81121898760", t, Err(E::BadLength { len: 11 }));
        check("1981121898760", t, Err(E::BadLength { len: 13 }));
        check("19811218+9876", t, Err(E::PlusInTwelveDigitForm));
        // Future birth date.
        check(
            "20240511-1234",
            t,
            Err(E::FutureBirthDate {
                date: date!(2024 - 05 - 11),
            }),
        );
        // Century inference around the 100-year boundary.
        check("240510-1235", t, Ok("202405101235"));
        check("2405101235", t, Ok("202405101235"));
        check(
            "240511-1234",
            t,
            Err(IdentityNumberError::FutureBirthDate {
                date: time::macros::date!(2024 - 05 - 11),
            }),
        );
        check("250511-1233", t, Ok("192505111233"));
        check("240510+1235", t, Ok("192405101235"));
        check("240511+1234", t, Ok("192405111234"));
        check("250511+1233", t, Ok("182505111233"));
    }

    #[test]
    fn canonical_needs_twelve_digits() {
        assert_eq!(
            IdentityNumber::parse_canonical("811218-9876"),
            Err(E::CenturyRequired)
        );
        assert!(IdentityNumber::parse_canonical("19811218-9876").is_ok());
        // No reference date, so no future check.
        assert!(IdentityNumber::parse_canonical("29990101-0018").is_ok());
    }

    #[test]
    fn from_parts_and_errors() {
        let d = date!(1981 - 12 - 18);
        let id = IdentityNumber::from_parts(d, 987, IdentityNumberKind::Personnummer).unwrap();
        assert_eq!(id.canonical(), "198112189876");
        assert_eq!(
            IdentityNumber::from_parts(d, 0, IdentityNumberKind::Personnummer),
            Err(E::SerialZero)
        );
        assert_eq!(
            IdentityNumber::from_parts(d, 1000, IdentityNumberKind::Personnummer),
            Err(E::SerialTooLarge { serial: 1000 })
        );
    }

    #[test]
    fn debug_is_redacted_and_messages_are_precise() {
        let id = IdentityNumber::parse("811218-9876", TODAY).unwrap();
        assert_eq!(format!("{id:?}"), "IdentityNumber(<redacted>)");
        assert_eq!(
            E::CheckDigit {
                expected: 4,
                found: 3
            }
            .to_string(),
            "wrong check digit: expected 4, got 3"
        );
        assert_eq!(
            E::BadMonth { month: 13 }.to_string(),
            "month 13 is not a month"
        );
        assert_eq!(
            E::BadDay {
                year: 2023,
                month: 2,
                day: 31
            }
            .to_string(),
            "day 31 does not exist in 2023-02"
        );
        assert_eq!(
            E::FutureBirthDate {
                date: date!(2030 - 01 - 02)
            }
            .to_string(),
            "birth date 2030-01-02 is in the future"
        );
    }

    #[test]
    fn serde_uses_canonical_form() {
        let de: StrDeserializer<'_, DeError> = "19811218-9876".into_deserializer();
        let id = IdentityNumber::deserialize(de).unwrap();
        assert_eq!(id.canonical(), "198112189876");
        let de: StrDeserializer<'_, DeError> = "811218-9876".into_deserializer();
        assert!(IdentityNumber::deserialize(de).is_err());
        let de: StrDeserializer<'_, DeError> = " se2321000016-abc1 ".into_deserializer();
        assert!(HsaId::deserialize(de).is_err());
        let de: StrDeserializer<'_, DeError> = " SE2321000016-abc1 ".into_deserializer();
        assert_eq!(
            HsaId::deserialize(de).unwrap().as_str(),
            "SE2321000016-ABC1"
        );
        let de: StrDeserializer<'_, DeError> = "2120000142".into_deserializer();
        assert_eq!(OrgNumber::deserialize(de).unwrap().as_str(), "212000-0142");
    }

    #[test]
    fn hsa_id_table() {
        let ok = |s: &str, want: &str| assert_eq!(HsaId::parse(s).unwrap().as_str(), want);
        ok("SE2321000016-1234", "SE2321000016-1234");
        ok("SE162321000255-O12345", "SE162321000255-O12345");
        ok(" SE2321000016-abc ", "SE2321000016-ABC");
        let err = |s: &str, want: HsaIdError| assert_eq!(HsaId::parse(s), Err(want), "{s:?}");
        err("", HsaIdError::Empty);
        err("se2321000016-1234", HsaIdError::BadCountryCode);
        err("S", HsaIdError::BadCountryCode);
        err("ÅÄ2321000016-1234", HsaIdError::BadCountryCode);
        err("SE23210000161234", HsaIdError::MissingDash);
        err("SE232100001-1234", HsaIdError::BadOrganisationNumber);
        err("SE172321000016-1234", HsaIdError::BadOrganisationNumber);
        err("SE23210000x6-1234", HsaIdError::BadOrganisationNumber);
        err("SE2321000016-", HsaIdError::EmptySuffix);
        err(
            "SE2321000016-12-4",
            HsaIdError::BadCharacter {
                position: 16,
                ch: '-',
            },
        );
        err(
            "SE2321000016-12ö",
            HsaIdError::BadCharacter {
                position: 16,
                ch: 'ö',
            },
        );
        err(
            "SE162321000255-O123456789ABCDEFG",
            HsaIdError::TooLong { len: 32 },
        );
        assert_eq!(
            HsaId::parse("SE162321000255-O123456789ABCDEF").map(|h| h.0.len()),
            Ok(31)
        );
    }

    #[test]
    fn org_number_table() {
        let ok = |s: &str| OrgNumber::parse(s).map(|o| o.as_str().to_owned());
        assert_eq!(ok("212000-0142").as_deref(), Ok("212000-0142"));
        assert_eq!(ok("2120000142").as_deref(), Ok("212000-0142"));
        assert_eq!(ok(" 16212000-0142 ").as_deref(), Ok("212000-0142"));
        assert_eq!(ok("162120000142").as_deref(), Ok("212000-0142"));
        assert_eq!(ok(""), Err(OrgNumberError::Empty));
        assert_eq!(
            ok("212000-0143"),
            Err(OrgNumberError::CheckDigit {
                expected: 2,
                found: 3
            })
        );
        assert_eq!(
            ok("811218-9876"),
            Err(OrgNumberError::NotLegalPerson { digit: 1 })
        );
        assert_eq!(ok("172120000142"), Err(OrgNumberError::BadPrefix));
        assert_eq!(
            ok("212000+0142"),
            Err(OrgNumberError::BadCharacter {
                position: 7,
                ch: '+'
            })
        );
        assert_eq!(
            ok("21200-00142"),
            Err(OrgNumberError::BadCharacter {
                position: 6,
                ch: '-'
            })
        );
        assert_eq!(ok("212000-014"), Err(OrgNumberError::BadLength { len: 9 }));
        assert_eq!(
            OrgNumber::parse("2120000142").unwrap().to_string(),
            "212000-0142"
        );
    }

    /// Birth date and reference date, birth ≤ today, both in 1900–2099.
    fn dates() -> impl Strategy<Value = (Date, Date)> {
        let lo = date!(1900 - 01 - 01).to_julian_day();
        let hi = date!(2099 - 12 - 31).to_julian_day();
        (lo..=hi, lo..=hi).prop_map(|(a, b)| {
            let d = |j| Date::from_julian_day(j).unwrap();
            (d(a.min(b)), d(a.max(b)))
        })
    }

    fn kinds() -> impl Strategy<Value = IdentityNumberKind> {
        prop_oneof![
            Just(IdentityNumberKind::Personnummer),
            Just(IdentityNumberKind::Samordningsnummer)
        ]
    }

    fn valid() -> impl Strategy<Value = (IdentityNumber, Date)> {
        (dates(), 1u16..=999, kinds()).prop_map(|((birth, today), serial, kind)| {
            (
                IdentityNumber::from_parts(birth, serial, kind).unwrap(),
                today,
            )
        })
    }

    /// The 10-digit form with '+' from the calendar year the person turns 100.
    fn short_form(id: &IdentityNumber, today: Date) -> String {
        let sep = if id.birth_date().year() + 100 <= today.year() {
            '+'
        } else {
            '-'
        };
        let c = id.canonical();
        format!("{}{sep}{}", &c[2..8], &c[8..])
    }

    fn set_digit(s: &str, i: usize, d: u8) -> String {
        let mut b = s.as_bytes().to_vec();
        b[i] = b'0' + d;
        String::from_utf8(b).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn round_trips((id, today) in valid()) {
            let canonical = id.canonical();
            prop_assert_eq!(canonical.len(), 12);
            prop_assert_eq!(IdentityNumber::parse_canonical(&canonical), Ok(id));
            prop_assert_eq!(IdentityNumber::parse(&canonical, today), Ok(id));
            prop_assert_eq!(IdentityNumber::parse(&id.display_form(), today), Ok(id));
            let short = short_form(&id, today);
            prop_assert_eq!(IdentityNumber::parse(&short, today), Ok(id), "{}", short);
            if short.contains('-') {
                prop_assert_eq!(IdentityNumber::parse(&short.replace('-', ""), today), Ok(id));
            }
        }

        #[test]
        fn single_digit_change_is_detected(
            (id, _) in valid(), pos in 0usize..12, delta in 1u8..=9,
        ) {
            let c = id.canonical();
            let old = c.as_bytes()[pos] - b'0';
            let changed = set_digit(&c, pos, (old + delta) % 10);
            let parsed = IdentityNumber::parse_canonical(&changed);
            if pos < 2 {
                // Century digits are outside the Luhn sum.
                prop_assert_ne!(parsed, Ok(id));
            } else {
                prop_assert!(parsed.is_err(), "{} -> {}", c, changed);
            }
        }

        #[test]
        fn adjacent_transposition_is_detected((id, _) in valid(), pos in 2usize..11) {
            let c = id.canonical();
            let (a, b) = (c.as_bytes()[pos] - b'0', c.as_bytes()[pos + 1] - b'0');
            prop_assume!(a != b && (a.min(b), a.max(b)) != (0, 9));
            let swapped = set_digit(&set_digit(&c, pos, b), pos + 1, a);
            prop_assert!(IdentityNumber::parse_canonical(&swapped).is_err(), "{} -> {}", c, swapped);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,20}", t in "[0-9+\\- ]{0,16}", (_, today) in dates()) {
            let _ = IdentityNumber::parse(&s, today);
            let _ = IdentityNumber::parse(&t, today);
            let _ = IdentityNumber::parse_canonical(&s);
            let _ = IdentityNumber::parse_canonical(&t);
            let _ = OrgNumber::parse(&s);
            let _ = OrgNumber::parse(&t);
            let _ = HsaId::parse(&s);
        }

        #[test]
        fn org_number_round_trips(
            mut d in proptest::collection::vec(0u8..10, 9), third in 2u8..10,
            dash: bool, prefix: bool,
        ) {
            d[2] = third;
            let check = luhn(d.iter().copied());
            let digits: String = d.iter().chain([&check]).map(|&x| char::from(b'0' + x)).collect();
            let want = format!("{}-{}", &digits[..6], &digits[6..]);
            let input = format!(
                "{}{}",
                if prefix { "16" } else { "" },
                if dash { want.clone() } else { digits.clone() }
            );
            let org = OrgNumber::parse(&input).unwrap();
            prop_assert_eq!(org.as_str(), want.as_str());
            prop_assert_eq!(OrgNumber::parse(org.as_str()), Ok(org.clone()));
            let wrong = set_digit(&digits, 9, (check + 1) % 10);
            prop_assert!(OrgNumber::parse(&wrong).is_err());
        }

        #[test]
        fn hsa_id_round_trips(
            country in "[A-Z]{2}", org in "(16)?[0-9]{10}", suffix in "[A-Za-z0-9]{1,17}",
        ) {
            let input = format!(" {country}{org}-{suffix} ");
            let want = format!("{country}{org}-{}", suffix.to_ascii_uppercase());
            let parsed = HsaId::parse(&input);
            if want.len() <= HsaId::MAX_LEN {
                let hsa = parsed.unwrap();
                prop_assert_eq!(hsa.as_str(), want.as_str());
                prop_assert_eq!(hsa.to_string(), want.clone());
                prop_assert_eq!(HsaId::parse(hsa.as_str()), Ok(hsa.clone()));
            } else {
                prop_assert_eq!(parsed, Err(HsaIdError::TooLong { len: want.len() }));
            }
        }
    }
}
