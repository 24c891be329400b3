//! Counters of one run that many tasks update at once: requests, retries, replays and a latency
//! histogram. Lock-free (atomics), so workers never wait on each other to count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Millisecond-wide buckets up to this many milliseconds; slower answers share the last bucket.
const BUCKETS: usize = 60_001;

/// Run-wide counters.
#[derive(Debug)]
pub struct Metrics {
    requests: AtomicU64,
    retries: AtomicU64,
    replays: AtomicU64,
    throttled: AtomicU64,
    latency_ms: Box<[AtomicU64]>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            replays: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            latency_ms: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// API requests sent (token fetches not included).
    pub requests: u64,
    /// Attempts after the first for an id.
    pub retries: u64,
    /// Replays after a token refresh.
    pub replays: u64,
    /// Answers that were a gateway's 429 (rate limited).
    pub throttled: u64,
    pub p50: Option<Duration>,
    pub p95: Option<Duration>,
    pub p99: Option<Duration>,
}

impl Metrics {
    /// Counts one API request and its latency.
    pub fn record_request(&self, elapsed: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let ms = usize::try_from(elapsed.as_millis())
            .unwrap_or(usize::MAX)
            .min(BUCKETS - 1);
        self.latency_ms[ms].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a retry (an attempt after the first).
    pub fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a replay after a token refresh.
    pub fn record_replay(&self) {
        self.replays.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a 429 answer.
    pub fn record_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads the counters and percentiles.
    #[must_use]
    pub fn snapshot(&self) -> MetricsSnapshot {
        let counts: Vec<u64> = self
            .latency_ms
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let percentile = |p: f64| -> Option<Duration> {
            if total == 0 {
                return None;
            }
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "rank is within 1..=total"
            )]
            let rank = ((p * total as f64).ceil() as u64).clamp(1, total);
            let mut seen = 0;
            for (ms, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return Some(Duration::from_millis(ms as u64));
                }
            }
            None
        };
        MetricsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            replays: self.replays.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            p50: percentile(0.50),
            p95: percentile(0.95),
            p99: percentile(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_latencies() {
        let m = Metrics::default();
        for ms in 1..=100 {
            m.record_request(Duration::from_millis(ms));
        }
        m.record_request(Duration::from_secs(3600));
        let s = m.snapshot();
        assert_eq!(s.requests, 101);
        assert_eq!(s.p50, Some(Duration::from_millis(51)));
        assert_eq!(s.p95, Some(Duration::from_millis(96)));
        assert_eq!(s.p99, Some(Duration::from_millis(100)));
    }

    #[test]
    fn no_requests_means_no_percentiles() {
        assert_eq!(Metrics::default().snapshot().p50, None);
    }
}
