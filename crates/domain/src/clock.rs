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
}
