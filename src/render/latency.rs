//! A fixed-size latency histogram: exact below 16 ms, then 16 buckets per doubling, so any
//! percentile it gives is within 1/16 (6.25 %) above the true value, whatever the number of
//! samples, in 528 counters. Depends on nothing.

/// Values above this (about 2 years in ms) share the last bucket.
const MAX_VALUE: u64 = (1 << 36) - 1;
const BUCKETS: usize = 16 + 32 * 16;

/// Counts of values in logarithmic buckets.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
        }
    }
}

fn bucket(value: u64) -> usize {
    let v = value.min(MAX_VALUE);
    if v < 16 {
        return usize::try_from(v).unwrap_or(0);
    }
    let exp = v.ilog2(); // ≥ 4
    let sub = (v >> (exp - 4)) & 15;
    16 + (exp as usize - 4) * 16 + usize::try_from(sub).unwrap_or(0)
}

/// The largest value that falls in bucket `index`.
fn upper(index: usize) -> u64 {
    if index < 16 {
        return index as u64;
    }
    let exp = (index - 16) / 16 + 4;
    let sub = ((index - 16) % 16) as u64;
    ((16 + sub + 1) << (exp - 4)) - 1
}

impl Histogram {
    /// Counts one value.
    pub fn add(&mut self, value: u64) {
        self.counts[bucket(value)] += 1;
        self.total += 1;
        self.max = self.max.max(value);
    }

    /// How many values were counted.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether nothing was counted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The `q` quantile (0.5 for the median): a value at least as large as the true one and
    /// within 6.25 % of it; `None` when nothing was counted.
    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "q is in 0..=1, so the rank is between 1 and total"
        )]
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(upper(i).min(self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact_and_large_ones_within_a_sixteenth() {
        let mut h = Histogram::default();
        for v in 1..=10 {
            h.add(v);
        }
        assert_eq!(h.quantile(0.5), Some(5));
        assert_eq!(h.quantile(1.0), Some(10));
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.add(v);
        }
        for (q, truth) in [(0.5, 50_000.0), (0.95, 95_000.0), (0.99, 99_000.0)] {
            let got = h.quantile(q).unwrap() as f64;
            assert!(got >= truth && got <= truth * 1.0625, "q{q}: {got}");
        }
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn every_bucket_holds_the_values_below_its_upper_bound() {
        for v in [0, 15, 16, 17, 31, 32, 1000, 65_535, MAX_VALUE] {
            assert!(upper(bucket(v)) >= v, "{v}");
            assert!(bucket(v) == 0 || upper(bucket(v) - 1) < v, "{v}");
        }
        assert!(bucket(u64::MAX) < BUCKETS);
    }
}
