//! The emulator's optional rate limit: one token bucket over all operations. A request that finds
//! the bucket empty is refused before it touches anything.

use std::sync::Mutex;
use std::time::Instant;

/// Requests per second and the burst the bucket holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub requests_per_second: f64,
    pub burst: u32,
}

#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A bucket that starts full.
    pub fn new(limit: RateLimit) -> Self {
        TokenBucket { limit, state: Mutex::new((f64::from(limit.burst), Instant::now())) }
    }

    /// Takes one token if there is one.
    pub fn try_take(&self) -> bool {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (tokens, last) = &mut *state;
        let refill = now.saturating_duration_since(*last).as_secs_f64() * self.limit.requests_per_second;
        *tokens = (*tokens + refill).min(f64::from(self.limit.burst));
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let bucket = TokenBucket::new(RateLimit { requests_per_second: 10.0, burst: 3 });
        let start = Instant::now();
        let taken = (0..5).filter(|_| bucket.try_take_at(start)).count();
        assert_eq!(taken, 3, "the burst, then nothing");
        assert!(!bucket.try_take_at(start + Duration::from_millis(50)), "half a token is not a token");
        assert!(bucket.try_take_at(start + Duration::from_millis(100)), "one token after 1/rate");
        // Idle time refills up to the burst, never beyond.
        let later = start + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| bucket.try_take_at(later)).count(), 3);
    }
}
