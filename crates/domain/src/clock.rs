//! Time as a parameter.
//!
//! Everything that depends on "now" (session expiry, alarm timeouts, audit
//! timestamps, validity periods) asks a [`Clock`]. Production uses the system
//! clock (defined in the `trygg` binary, the only place that reads it); tests
//! use [`ManualClock`] and move time by hand instead of sleeping.

use std::sync::{Arc, Mutex, PoisonError};
use time::{Duration, OffsetDateTime};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;

    /// Today's date in UTC.
    fn today(&self) -> time::Date {
        self.now().date()
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock standing still at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Swedish local time (CET, UTC+1; CEST, UTC+2 from 01:00 UTC on the last
/// Sunday of March to 01:00 UTC on the last Sunday of October — the EU rule
/// of directive 2000/84/EC, which Sweden follows). Staff and citizens read
/// times in it; the log and the database keep UTC.
pub fn swedish_time(at: OffsetDateTime) -> OffsetDateTime {
    let utc = at.to_offset(time::UtcOffset::UTC);
    let year = utc.year();
    let change =
        |month| last_sunday(year, month).map(|d| d.midnight().assume_utc() + Duration::HOUR);
    let summer = match (change(time::Month::March), change(time::Month::October)) {
        (Some(start), Some(end)) => utc >= start && utc < end,
        _ => false,
    };
    utc.to_offset(if summer {
        time::macros::offset!(+2)
    } else {
        time::macros::offset!(+1)
    })
}

fn last_sunday(year: i32, month: time::Month) -> Option<time::Date> {
    let last =
        time::Date::from_calendar_date(year, month, time::util::days_in_month(month, year)).ok()?;
    let back = last.weekday().number_days_from_sunday();
    last.checked_sub(Duration::days(i64::from(back)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        let shared = clock.clone();
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00 UTC));
        shared.advance(Duration::minutes(31));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:31 UTC));
        clock.set(datetime!(2027-06-01 12:00 UTC));
        assert_eq!(shared.today(), time::macros::date!(2027 - 06 - 01));
    }

    #[test]
    fn swedish_time_follows_the_eu_summer_time_rule() {
        use time::macros::datetime;
        let local = |t: OffsetDateTime| {
            let l = swedish_time(t);
            (l.hour(), l.offset().whole_hours())
        };
        assert_eq!(local(datetime!(2026-01-15 12:00 UTC)), (13, 1));
        assert_eq!(local(datetime!(2026-07-15 12:00 UTC)), (14, 2));
        // 2026: summer time from Sunday 29 March to Sunday 25 October, 01:00 UTC.
        assert_eq!(local(datetime!(2026-03-29 00:59 UTC)), (1, 1));
        assert_eq!(local(datetime!(2026-03-29 01:00 UTC)), (3, 2));
        assert_eq!(local(datetime!(2026-10-25 00:59 UTC)), (2, 2));
        assert_eq!(local(datetime!(2026-10-25 01:00 UTC)), (2, 1));
        // 2027: 28 March and 31 October.
        assert_eq!(local(datetime!(2027-03-28 01:00 UTC)), (3, 2));
        assert_eq!(local(datetime!(2027-10-31 00:30 UTC)), (2, 2));
        assert_eq!(local(datetime!(2027-10-30 23:00 UTC)), (1, 2));
    }
}
