//! Login rate limits: a fixed number of attempts per key (an address, an
//! account) in a sliding window. In memory, per node; the clock is passed in.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use time::{Duration, OffsetDateTime};

/// Attempts allowed per key and window.
#[derive(Debug)]
pub struct RateLimiter {
    max: usize,
    window: Duration,
    max_keys: usize,
    seen: Mutex<HashMap<String, VecDeque<OffsetDateTime>>>,
}

impl RateLimiter {
    /// At most `max` attempts per key in any `window`. At most `max_keys`
    /// keys are tracked; when full, idle keys are dropped first.
    pub fn new(max: usize, window: Duration, max_keys: usize) -> Self {
        Self {
            max,
            window,
            max_keys,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` has used up its attempts at `now`, without recording
    /// one (to refuse cheaply before doing the work an attempt costs).
    pub fn exhausted(&self, key: &str, now: OffsetDateTime) -> bool {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.get(key).is_some_and(|times| {
            times.iter().filter(|t| now - **t < self.window).count() >= self.max
        })
    }

    /// Records an attempt for `key` at `now`; false if over the limit (the
    /// refused attempt is not counted).
    pub fn attempt(&self, key: &str, now: OffsetDateTime) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= self.max_keys && !seen.contains_key(key) {
            let window = self.window;
            seen.retain(|_, times| times.back().is_some_and(|t| now - *t < window));
            if seen.len() >= self.max_keys {
                // Under a flood of distinct keys, refuse new keys rather than
                // forget the ones being limited.
                return false;
            }
        }
        let times = seen.entry(key.to_owned()).or_default();
        while times.front().is_some_and(|t| now - *t >= self.window) {
            times.pop_front();
        }
        if times.len() >= self.max {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn limits_per_key_within_the_window() {
        let r = RateLimiter::new(3, Duration::minutes(1), 100);
        let t = datetime!(2026-01-01 00:00 UTC);
        assert!(r.attempt("a", t));
        assert!(r.attempt("a", t + Duration::seconds(10)));
        assert!(r.attempt("a", t + Duration::seconds(20)));
        assert!(!r.attempt("a", t + Duration::seconds(30)));
        assert!(
            r.attempt("b", t + Duration::seconds(30)),
            "other keys are unaffected"
        );
        assert!(
            r.attempt("a", t + Duration::seconds(60)),
            "the first attempt left the window"
        );
        assert!(!r.attempt("a", t + Duration::seconds(61)));
    }

    #[test]
    fn exhausted_looks_without_counting() {
        let r = RateLimiter::new(2, Duration::minutes(1), 100);
        let t = datetime!(2026-01-01 00:00 UTC);
        assert!(!r.exhausted("a", t));
        assert!(r.attempt("a", t));
        assert!(!r.exhausted("a", t), "one of two used");
        assert!(r.attempt("a", t + Duration::seconds(1)));
        assert!(r.exhausted("a", t + Duration::seconds(2)));
        assert!(
            r.exhausted("a", t + Duration::seconds(2)),
            "looking counts nothing"
        );
        assert!(
            !r.exhausted("a", t + Duration::seconds(61)),
            "the attempts left the window"
        );
    }

    #[test]
    fn a_flood_of_keys_is_bounded() {
        let r = RateLimiter::new(1, Duration::minutes(1), 10);
        let t = datetime!(2026-01-01 00:00 UTC);
        for i in 0..10 {
            assert!(r.attempt(&format!("k{i}"), t));
        }
        assert!(!r.attempt("new", t));
        assert!(!r.attempt("k0", t), "limited keys stay limited");
        assert!(
            r.attempt("new", t + Duration::minutes(2)),
            "idle keys are dropped"
        );
    }
}
