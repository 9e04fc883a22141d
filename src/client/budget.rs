//! The time and retry budget every request of a run draws on, after the AWS SDKs' standard
//! retry mode: a retry quota that retries drain and successes refill, a cap on any one wait, a
//! deadline for the run, and a breaker that stops the run when the target throttles or fails
//! persistently, with the reason (the run then stops early, cleans up within a budget of its own
//! and still writes its reports).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// Tokens in the retry quota (the SDKs' standard mode: 500).
pub const RETRY_QUOTA: u32 = 500;
/// What one retry costs (standard mode: 5).
pub const RETRY_COST: u32 = 5;
/// What one answer that needed no retry gives back (standard mode: 1).
pub const SUCCESS_REFILL: u32 = 1;
/// The longest one wait before a retry may be: a `Retry-After` above it is honoured only up to it.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// A run stops when this many answers in a row were throttled (429, 503) or failed (5xx, no
/// answer at all)...
pub const PERSISTENT_FAILURES: u32 = 30;
/// ...and they span at least this long;
pub const PERSISTENT_SPAN: Duration = Duration::from_secs(10);
/// or when nothing but such answers came for this long (at least [`PERSISTENT_MINIMUM`] of
/// them), however few requests a slow, throttled run managed to send: the default patience
/// (`run --patience`).
pub const PERSISTENT_TIME: Duration = Duration::from_secs(30);
pub const PERSISTENT_MINIMUM: u32 = 5;
/// The run's deadline when none is given.
pub const DEFAULT_RUN_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// How one send ended, as far as the budget is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer that is neither throttling nor a server fault.
    Answered,
    /// 429, 503, or an error code naming throttling.
    Throttled(u16),
    /// Another 5xx.
    Failed(u16),
    /// No answer: refused connection, timeout, a cut-off answer.
    NoAnswer,
}

#[derive(Debug, Default)]
struct Streak {
    count: u32,
    since: Option<Instant>,
    throttled: u32,
    failed: u32,
    no_answer: u32,
}

/// One run's budget, shared by every request of the run.
#[derive(Debug)]
pub struct Budget {
    tokens: Mutex<u32>,
    streak: Mutex<Streak>,
    deadline: Option<(Instant, Duration)>,
    /// How long nothing but throttling and failures may go on before the run stops.
    patience: Duration,
    /// What the deadline bounds, for the reason given when it passes.
    bounds: &'static str,
    stop: watch::Sender<Option<String>>,
}

impl Budget {
    /// A fresh budget; `deadline` bounds the whole run from now.
    pub fn new(deadline: Option<Duration>) -> Budget {
        Budget::with_patience(deadline, PERSISTENT_TIME)
    }

    /// A fresh budget whose breaker trips after `patience` of nothing but throttling and
    /// failures (and sooner, after [`PERSISTENT_FAILURES`] of them over the lesser of
    /// `patience` and [`PERSISTENT_SPAN`]).
    pub fn with_patience(deadline: Option<Duration>, patience: Duration) -> Budget {
        Budget {
            tokens: Mutex::new(RETRY_QUOTA),
            streak: Mutex::new(Streak::default()),
            deadline: deadline.map(|d| (Instant::now() + d, d)),
            patience,
            bounds: "the run's deadline",
            stop: watch::channel(None).0,
        }
    }

    /// A budget for clean-up: its own time, its own breaker with the same patience.
    pub fn for_cleanup(within: Duration, patience: Duration) -> Budget {
        Budget { bounds: "the clean-up's time", ..Budget::with_patience(Some(within), patience) }
    }

    /// Why the run must stop, if it must: the breaker tripped, or the deadline passed.
    pub fn stopped(&self) -> Option<String> {
        if let Some(reason) = self.stop.borrow().clone() {
            return Some(reason);
        }
        let (at, length) = self.deadline?;
        (Instant::now() >= at).then(|| {
            let reason = format!("{} of {} s passed", self.bounds, length.as_secs());
            self.trip(&reason);
            reason
        })
    }

    /// Resolves when the run must stop, with the reason.
    pub async fn wait_stopped(&self) -> String {
        let mut receiver = self.stop.subscribe();
        let deadline = self.deadline.map(|(at, _)| tokio::time::Instant::from_std(at));
        loop {
            if let Some(reason) = self.stopped() {
                return reason;
            }
            let changed = receiver.changed();
            match deadline {
                Some(at) => {
                    tokio::select! {
                        _ = changed => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => {
                    if changed.await.is_err() {
                        return std::future::pending().await;
                    }
                }
            }
        }
    }

    /// Stops the run with `reason` (the first reason stays).
    pub fn trip(&self, reason: &str) {
        self.stop.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason.to_string());
                true
            } else {
                false
            }
        });
    }

    /// Takes the cost of one retry from the quota; `false` when the quota cannot pay it.
    pub fn take_retry(&self) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if *tokens < RETRY_COST {
            return false;
        }
        *tokens -= RETRY_COST;
        true
    }

    /// The tokens left in the retry quota.
    pub fn retry_tokens(&self) -> u32 {
        *self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one send toward the breaker, and refills the quota after an answer that needed no
    /// retry. `first_attempt`: the send was not itself a retry.
    pub fn record(&self, outcome: Outcome, first_attempt: bool) {
        if outcome == Outcome::Answered {
            if first_attempt {
                let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
                *tokens = (*tokens + SUCCESS_REFILL).min(RETRY_QUOTA);
            }
            *self.streak.lock().unwrap_or_else(|p| p.into_inner()) = Streak::default();
            return;
        }
        let mut streak = self.streak.lock().unwrap_or_else(|p| p.into_inner());
        let since = *streak.since.get_or_insert_with(Instant::now);
        streak.count += 1;
        match outcome {
            Outcome::Throttled(_) => streak.throttled += 1,
            Outcome::Failed(_) => streak.failed += 1,
            _ => streak.no_answer += 1,
        }
        let span = since.elapsed();
        let many = streak.count >= PERSISTENT_FAILURES && span >= PERSISTENT_SPAN.min(self.patience);
        let long = streak.count >= PERSISTENT_MINIMUM && span >= self.patience;
        if many || long {
            let what = match (streak.throttled, streak.failed, streak.no_answer) {
                (t, 0, 0) if t > 0 => {
                    format!("answered 429 or 503 (throttling) to {} consecutive requests", streak.count)
                }
                (0, f, 0) if f > 0 => format!("answered a server fault (5xx) to {} consecutive requests", streak.count),
                (0, 0, n) if n > 0 => format!("did not answer {} consecutive requests", streak.count),
                (t, f, n) => format!(
                    "failed {} consecutive requests ({t} throttled, {f} server faults, {n} unanswered)",
                    streak.count
                ),
            };
            let reason =
                format!("the target {what} over {:.0} s; the run stops rather than wait on it", span.as_secs_f64());
            drop(streak);
            self.trip(&reason);
        }
    }

    /// Sleeps for `wait` (at most [`MAX_RETRY_WAIT`]), or less if the run must stop first;
    /// `false` when it must.
    pub async fn sleep(&self, wait: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(wait.min(MAX_RETRY_WAIT)) => self.stopped().is_none(),
            _ = self.wait_stopped() => false,
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_drain_the_quota_and_successes_refill_it() {
        let budget = Budget::new(None);
        let affordable = RETRY_QUOTA / RETRY_COST;
        for _ in 0..affordable {
            assert!(budget.take_retry());
        }
        assert!(!budget.take_retry(), "the quota is spent");
        for _ in 0..RETRY_COST {
            budget.record(Outcome::Answered, true);
        }
        assert!(budget.take_retry(), "successes paid for one more retry");
        budget.record(Outcome::Answered, false);
        assert_eq!(budget.retry_tokens(), 0, "a retried success refills nothing");
    }

    #[test]
    fn a_burst_of_failures_is_not_yet_persistent_and_an_answer_ends_the_streak() {
        let budget = Budget::new(None);
        for _ in 0..PERSISTENT_FAILURES * 2 {
            budget.record(Outcome::Throttled(429), true);
        }
        assert_eq!(budget.stopped(), None, "many failures within a moment are not persistent");
        budget.record(Outcome::Answered, true);
        assert_eq!(budget.streak.lock().unwrap().count, 0, "an answer ends the streak");
    }

    #[test]
    fn a_streak_over_the_span_trips_and_names_what_it_saw() {
        let budget = Budget::new(None);
        budget.record(Outcome::Failed(503), true);
        // Pretend the streak began long ago.
        budget.streak.lock().unwrap().since = Some(Instant::now() - PERSISTENT_SPAN);
        for _ in 1..PERSISTENT_FAILURES {
            budget.record(Outcome::Failed(503), true);
        }
        let reason = budget.stopped().expect("tripped");
        assert!(reason.contains("answered a server fault (5xx) to 30 consecutive requests"), "{reason}");
        budget.trip("another reason");
        assert_eq!(budget.stopped().as_deref(), Some(reason.as_str()), "the first reason stays");
    }

    #[test]
    fn a_shorter_patience_trips_sooner() {
        let budget = Budget::with_patience(None, Duration::from_secs(2));
        budget.record(Outcome::Throttled(429), true);
        budget.streak.lock().unwrap().since = Some(Instant::now() - Duration::from_secs(2));
        for _ in 1..PERSISTENT_MINIMUM {
            budget.record(Outcome::Throttled(429), true);
        }
        let reason = budget.stopped().expect("tripped after 2 s, not 30");
        assert!(reason.contains("to 5 consecutive requests over 2 s"), "{reason}");
        let patient = Budget::new(None);
        patient.record(Outcome::Throttled(429), true);
        patient.streak.lock().unwrap().since = Some(Instant::now() - Duration::from_secs(2));
        for _ in 1..PERSISTENT_MINIMUM {
            patient.record(Outcome::Throttled(429), true);
        }
        assert_eq!(patient.stopped(), None, "the default patience is 30 s");
    }

    #[test]
    fn a_few_failures_over_a_long_time_trip_too() {
        let budget = Budget::new(None);
        budget.record(Outcome::Throttled(429), true);
        budget.streak.lock().unwrap().since = Some(Instant::now() - PERSISTENT_TIME);
        for _ in 1..PERSISTENT_MINIMUM - 1 {
            budget.record(Outcome::Throttled(429), true);
        }
        assert_eq!(budget.stopped(), None, "fewer than the minimum");
        budget.record(Outcome::NoAnswer, true);
        let reason = budget.stopped().expect("tripped");
        assert!(
            reason.contains("failed 5 consecutive requests (4 throttled, 0 server faults, 1 unanswered) over 30 s"),
            "{reason}"
        );
    }

    #[test]
    fn the_deadline_stops_the_run() {
        let budget = Budget::new(Some(Duration::ZERO));
        assert_eq!(budget.stopped().unwrap(), "the run's deadline of 0 s passed");
        assert_eq!(
            Budget::for_cleanup(Duration::ZERO, PERSISTENT_TIME).stopped().unwrap(),
            "the clean-up's time of 0 s passed"
        );
    }

    #[tokio::test]
    async fn a_wait_ends_when_the_run_stops() {
        let budget = std::sync::Arc::new(Budget::new(None));
        let stopper = budget.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            stopper.trip("stop");
        });
        let started = Instant::now();
        assert!(!budget.sleep(Duration::from_secs(60)).await);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
