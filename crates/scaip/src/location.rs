//! `<lge>`: where a device is, from its satellite receiver.

use std::fmt::{self, Debug, Display, Formatter};
use std::str::FromStr;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::value::InvalidValue;

/// `<lge>`: a position (`geo`), the time of the fix (`tim`) and the raw NMEA
/// GGA sentence (`gga`), each optional: a device without a fix may still send
/// the element, and an alarm is never refused for lacking a position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GeoLocation {
    /// `geo`: latitude and longitude.
    pub position: Option<GeoPosition>,
    /// `tim`: when the position was fixed.
    pub time: Option<FixTime>,
    /// `gga`: the NMEA GGA sentence.
    pub gga: Option<Gga>,
}

/// `geo`: a WGS-84 position `lat,lon` in decimal degrees, latitude −90…90 and
/// longitude −180…180. Kept in millionths of a degree (about 0.1 m), emitted
/// with six decimals: at most 22 characters, within the XSD-derived 23. The
/// XSD-derived pattern `[0-9.,]{1,23}` has no minus sign; one is accepted
/// (southern and western hemispheres) and emitted when needed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeoPosition {
    /// Latitude in millionths of a degree.
    lat: i32,
    /// Longitude in millionths of a degree.
    lon: i32,
}

const MICRO: i64 = 1_000_000;

impl GeoPosition {
    const RULE: &'static str =
        "must be \"lat,lon\" in decimal degrees within -90..90 and -180..180";

    /// A position from degrees; refused outside the ranges (or NaN). Rounded
    /// to millionths of a degree.
    pub fn from_degrees(latitude: f64, longitude: f64) -> Result<Self, InvalidValue> {
        let invalid = InvalidValue::new(Self::RULE);
        let lat = micro_from_f64(latitude).ok_or(invalid)?;
        let lon = micro_from_f64(longitude).ok_or(invalid)?;
        Self::from_micro(lat, lon)
    }

    /// A position from millionths of a degree.
    pub fn from_micro(lat: i64, lon: i64) -> Result<Self, InvalidValue> {
        let invalid = InvalidValue::new(Self::RULE);
        if lat.abs() > 90 * MICRO || lon.abs() > 180 * MICRO {
            return Err(invalid);
        }
        Ok(Self {
            lat: i32::try_from(lat).map_err(|_| invalid)?,
            lon: i32::try_from(lon).map_err(|_| invalid)?,
        })
    }

    /// Latitude in degrees.
    pub fn latitude(self) -> f64 {
        f64::from(self.lat) / 1e6
    }

    /// Longitude in degrees.
    pub fn longitude(self) -> f64 {
        f64::from(self.lon) / 1e6
    }

    /// Latitude in millionths of a degree.
    pub fn latitude_micro(self) -> i32 {
        self.lat
    }

    /// Longitude in millionths of a degree.
    pub fn longitude_micro(self) -> i32 {
        self.lon
    }
}

fn micro_from_f64(degrees: f64) -> Option<i64> {
    if !degrees.is_finite() || degrees.abs() > 360.0 {
        return None;
    }
    // At most 360e6 in magnitude, so the cast is exact.
    let micro = (degrees * 1e6).round() as i64;
    Some(micro)
}

/// One coordinate: `-?d{1,3}(.d{1,15})?`, in millionths of a degree, rounded
/// half away from zero.
fn parse_coordinate(s: &str) -> Option<i64> {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    if !(1..=3).contains(&int.len()) || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut micro = int.parse::<i64>().ok()? * MICRO;
    if let Some(frac) = frac {
        if !(1..=15).contains(&frac.len()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut scale = MICRO;
        let mut digits = frac.bytes().map(|b| i64::from(b - b'0'));
        for digit in digits.by_ref().take(6) {
            scale /= 10;
            micro += digit * scale;
        }
        if digits.next().is_some_and(|d| d >= 5) {
            micro += 1;
        }
    }
    Some(if negative { -micro } else { micro })
}

impl FromStr for GeoPosition {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let invalid = InvalidValue::new(Self::RULE);
        if s.len() > 40 {
            return Err(invalid);
        }
        let (lat, lon) = s.split_once(',').ok_or(invalid)?;
        match (parse_coordinate(lat), parse_coordinate(lon)) {
            (Some(lat), Some(lon)) => Self::from_micro(lat, lon),
            _ => Err(invalid),
        }
    }
}

fn write_micro(f: &mut Formatter<'_>, micro: i32) -> fmt::Result {
    let sign = if micro < 0 { "-" } else { "" };
    let abs = micro.unsigned_abs();
    write!(f, "{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

impl Display for GeoPosition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_micro(f, self.lat)?;
        f.write_str(",")?;
        write_micro(f, self.lon)
    }
}

impl Debug for GeoPosition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("GeoPosition(<redacted>)")
    }
}

/// `tim`: when the position was fixed, ISO 8601 with a UTC offset, to the
/// second. Read: `YYYY-MM-DDTHH:MM:SS`, optional fraction of a second
/// (dropped), then `Z`, `±HH`, `±HHMM` or `±HH:MM`. Emitted in the
/// XSD-derived 22-character form `YYYY-MM-DDTHH:MM:SS±HH` (`±HH:MM` for an
/// offset that is not whole hours). The offset is kept.
#[derive(Clone, Copy)]
pub struct FixTime(OffsetDateTime);

impl FixTime {
    const RULE: &'static str =
        "must be YYYY-MM-DDTHH:MM:SS with a UTC offset (Z, +HH, +HHMM or +HH:MM)";

    /// A fix time; the fraction of a second is dropped. Refused for years
    /// outside 0–9999 or an offset that is not whole minutes under 24 hours.
    pub fn new(at: OffsetDateTime) -> Result<Self, InvalidValue> {
        let invalid = InvalidValue::new(Self::RULE);
        let offset = at.offset();
        if !(0..=9999).contains(&at.year())
            || offset.seconds_past_minute() != 0
            || offset.whole_hours().abs() > 23
        {
            return Err(invalid);
        }
        at.replace_nanosecond(0).map(Self).map_err(|_| invalid)
    }

    /// The time, with the offset the device gave.
    pub fn at(self) -> OffsetDateTime {
        self.0
    }
}

impl PartialEq for FixTime {
    /// The same instant with the same offset (`OffsetDateTime` alone compares
    /// only instants).
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 && self.0.offset() == other.0.offset()
    }
}

impl Eq for FixTime {}

impl std::hash::Hash for FixTime {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.0.offset().hash(state);
    }
}

/// A fixed-width cursor over ASCII digits and separators.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl Cursor<'_> {
    fn number(&mut self, width: usize) -> Option<u16> {
        let (head, rest) = self.rest.split_at_checked(width)?;
        if !head.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.rest = rest;
        head.iter().try_fold(0u16, |n, b| {
            n.checked_mul(10)?.checked_add(u16::from(b - b'0'))
        })
    }

    fn byte(&mut self, expected: u8) -> Option<()> {
        match self.rest.split_first() {
            Some((&first, rest)) if first == expected => {
                self.rest = rest;
                Some(())
            }
            _ => None,
        }
    }

    fn next_is(&self, b: u8) -> bool {
        self.rest.first() == Some(&b)
    }
}

fn parse_fix_time(s: &str) -> Option<OffsetDateTime> {
    let mut c = Cursor { rest: s.as_bytes() };
    let year = c.number(4)?;
    c.byte(b'-')?;
    let month = u8::try_from(c.number(2)?).ok()?;
    c.byte(b'-')?;
    let day = u8::try_from(c.number(2)?).ok()?;
    c.byte(b'T')?;
    let hour = u8::try_from(c.number(2)?).ok()?;
    c.byte(b':')?;
    let minute = u8::try_from(c.number(2)?).ok()?;
    c.byte(b':')?;
    let second = u8::try_from(c.number(2)?).ok()?;
    if c.next_is(b'.') {
        c.byte(b'.')?;
        let fraction = c.rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=9).contains(&fraction) {
            return None;
        }
        c.rest = c.rest.get(fraction..)?;
    }
    let offset = if c.next_is(b'Z') {
        c.byte(b'Z')?;
        UtcOffset::UTC
    } else {
        let sign: i8 = if c.next_is(b'+') {
            c.byte(b'+')?;
            1
        } else {
            c.byte(b'-')?;
            -1
        };
        let hours = i8::try_from(c.number(2)?).ok()?;
        let minutes = if c.rest.is_empty() {
            0
        } else {
            if c.next_is(b':') {
                c.byte(b':')?;
            }
            i8::try_from(c.number(2)?).ok()?
        };
        if hours > 23 || minutes > 59 {
            return None;
        }
        UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
    };
    if !c.rest.is_empty() {
        return None;
    }
    let date = Date::from_calendar_date(i32::from(year), Month::try_from(month).ok()?, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

impl FromStr for FixTime {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let invalid = InvalidValue::new(Self::RULE);
        if s.len() > 40 {
            return Err(invalid);
        }
        parse_fix_time(s).ok_or(invalid).and_then(Self::new)
    }
}

impl Display for FixTime {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        let offset = t.offset();
        let sign = if offset.is_negative() { '-' } else { '+' };
        let hours = offset.whole_hours().unsigned_abs();
        let minutes = offset.minutes_past_hour().unsigned_abs();
        if minutes == 0 {
            write!(f, "{sign}{hours:02}")
        } else {
            write!(f, "{sign}{hours:02}:{minutes:02}")
        }
    }
}

impl Debug for FixTime {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "FixTime({self})")
    }
}

/// `gga`: the NMEA 0183 GGA sentence as the receiver gave it, 1–81 printable
/// ASCII characters. (An empty `<gga/>`, which the XSD-derived source allows,
/// reads as absent.)
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Gga(String);

impl Gga {
    /// The sentence as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Gga {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if (1..=81).contains(&s.len()) && s.bytes().all(|b| (0x20..=0x7E).contains(&b)) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue::new(
                "must be 1 to 81 printable ASCII characters",
            ))
        }
    }
}

impl Display for Gga {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Debug for Gga {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("Gga(<redacted>)")
    }
}

#[cfg(test)]
mod tests;
