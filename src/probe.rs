//! An open-loop burst probe: request `i` is due at `start + i / rate` (absolute times, so a slow
//! answer does not delay the next send and drift does not build up), latency is measured from
//! the intended start (no coordinated omission), and every result goes through one channel to
//! one aggregator, which keeps a status histogram, latency percentiles (HDR histogram) and a few
//! exchanges of each kind. The probe is bounded in request count and in time.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::time::Instant;

use crate::client::{ClientError, Exchange};

/// How hard and how long to probe.
#[derive(Debug, Clone, Copy)]
pub struct BurstPlan {
    /// Requests per second the schedule sends at.
    pub rate: f64,
    /// How many requests at most.
    pub count: usize,
    /// How long sending may take; requests not yet due by then are not sent.
    pub max_duration: Duration,
}

/// Exchanges kept per status kind, for judging their shape.
const KEPT_PER_KIND: usize = 5;

/// What a burst saw.
#[derive(Debug, Clone, Serialize)]
pub struct BurstReport {
    pub planned: usize,
    pub sent: usize,
    /// `"200"`, `"429 TooManyRequestsException"`, `"transport: timed out"`, ... → count.
    pub statuses: BTreeMap<String, usize>,
    pub latency_ms: Percentiles,
    /// The send rate actually achieved over the burst.
    pub achieved_rps: f64,
    /// The most requests that left the harness within any one second (from their send times).
    pub peak_sends_per_second: usize,
    /// A few exchanges of each status kind.
    #[serde(skip)]
    pub samples: BTreeMap<String, Vec<Exchange>>,
}

impl BurstReport {
    pub fn count_status(&self, status: u16) -> usize {
        let prefix = status.to_string();
        self.statuses.iter().filter(|(kind, _)| kind.split(' ').next() == Some(prefix.as_str())).map(|(_, n)| n).sum()
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

fn kind_of(result: &Result<Exchange, ClientError>) -> String {
    match result {
        Ok(exchange) => match exchange.error_code() {
            Some(code) => format!("{} {code}", exchange.status()),
            None => exchange.status().to_string(),
        },
        Err(ClientError::Transport { kind, .. }) => format!("transport: {kind}"),
        Err(other) => format!("error: {other}"),
    }
}

/// Runs the burst: `send(i)` makes request `i`.
pub async fn burst<F, Fut>(plan: BurstPlan, send: F) -> BurstReport
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Exchange, ClientError>> + Send + 'static,
{
    let send = Arc::new(send);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Duration, Result<Exchange, ClientError>)>();
    let start = Instant::now();
    let deadline = start + plan.max_duration;
    let interval = Duration::from_secs_f64(1.0 / plan.rate.max(0.001));
    let mut sent = 0;
    for i in 0..plan.count {
        let due = start + interval.mul_f64(i as f64);
        if due > deadline {
            break;
        }
        tokio::time::sleep_until(due).await;
        let (send, tx) = (send.clone(), tx.clone());
        tokio::spawn(async move {
            let result = send(i).await;
            let _ = tx.send((due.elapsed(), result));
        });
        sent += 1;
    }
    let sending_time = start.elapsed();
    drop(tx);

    let mut histogram = Histogram::<u64>::new(3).expect("3 significant figures is a valid precision");
    let mut report = BurstReport {
        planned: plan.count,
        sent,
        statuses: BTreeMap::new(),
        latency_ms: Percentiles::default(),
        achieved_rps: if sending_time.is_zero() {
            0.0
        } else {
            sent as f64 / sending_time.as_secs_f64().max(interval.as_secs_f64())
        },
        peak_sends_per_second: 0,
        samples: BTreeMap::new(),
    };
    let mut send_times = Vec::new();
    // Every request has the client's own timeout; this only bounds a wait that cannot happen.
    let collect = async {
        while let Some((latency, result)) = rx.recv().await {
            let kind = kind_of(&result);
            *report.statuses.entry(kind.clone()).or_default() += 1;
            let _ = histogram.record(latency.as_micros().max(1) as u64);
            if let Ok(exchange) = &result
                && let Some(sent_at) = exchange.sent_at
            {
                send_times.push(sent_at);
            }
            if let Ok(exchange) = result {
                let kept = report.samples.entry(kind).or_default();
                if kept.len() < KEPT_PER_KIND {
                    kept.push(exchange);
                }
            }
        }
    };
    let _ = tokio::time::timeout(plan.max_duration + Duration::from_secs(120), collect).await;
    report.peak_sends_per_second = peak_per_second(&mut send_times);
    let ms = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1000.0;
    report.latency_ms = Percentiles { p50: ms(0.5), p90: ms(0.9), p99: ms(0.99), max: histogram.max() as f64 / 1000.0 };
    report
}

/// The most instants within any half-open window of one second.
pub fn peak_per_second(times: &mut [std::time::Instant]) -> usize {
    times.sort();
    let mut peak = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end].duration_since(times[start]) >= Duration::from_secs(1) {
            start += 1;
        }
        peak = peak.max(end - start + 1);
    }
    peak
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16) -> Exchange {
        let mut exchange = Exchange::fixture("GET", "/", status, "{}");
        exchange.response.headers = vec![("x-amzn-errortype".into(), "TooManyRequestsException".into())];
        exchange
    }

    #[test]
    fn peak_per_second_counts_the_busiest_window() {
        let origin = std::time::Instant::now();
        let at = |ms: u64| origin + Duration::from_millis(ms);
        assert_eq!(peak_per_second(&mut []), 0);
        // Ten sends 100 ms apart: any one-second window holds ten.
        assert_eq!(peak_per_second(&mut (0..10).map(|i| at(i * 100)).collect::<Vec<_>>()), 10);
        // Eleven 100 ms apart: the first and the last are exactly one second apart, never together.
        assert_eq!(peak_per_second(&mut (0..11).map(|i| at(i * 100)).collect::<Vec<_>>()), 10);
        assert_eq!(peak_per_second(&mut [at(0), at(900), at(950), at(2000)]), 3);
    }

    /// The schedule is open-loop: slow answers do not slow the sending, and the count and the
    /// time bound both hold.
    #[tokio::test(start_paused = true)]
    async fn the_schedule_is_open_loop_and_bounded() {
        let plan = BurstPlan { rate: 100.0, count: 50, max_duration: Duration::from_secs(10) };
        let started = Instant::now();
        let report = burst(plan, |i| async move {
            tokio::time::sleep(Duration::from_millis(500)).await; // every answer is slow
            Ok(answer(if i % 5 == 0 { 429 } else { 200 }))
        })
        .await;
        assert_eq!(report.sent, 50);
        assert_eq!((report.count_status(200), report.count_status(429)), (40, 10));
        assert_eq!(report.statuses.get("429 TooManyRequestsException"), Some(&10));
        // 50 requests at 100/s take 0.49 s to send; each answer takes 0.5 s more.
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert!(report.latency_ms.p50 >= 500.0 && report.latency_ms.max < 600.0, "{:?}", report.latency_ms);

        let bounded = BurstPlan { rate: 10.0, count: 1000, max_duration: Duration::from_secs(2) };
        let report = burst(bounded, |_| async { Ok(answer(200)) }).await;
        assert!(report.sent <= 21, "the time bound stops the schedule: {}", report.sent);
    }
}
