//! One record per API request the gateway let through (when did it arrive, which id, what was
//! answered, how long the appliance took), kept only when `SimConfig::record_timeline` asks,
//! and the read-outs tests and benchmarks take from it: requests per second, latency
//! quantiles at the server, and each group of ids' share while all groups were sending.

use std::time::Duration;

/// One API request that passed the gateway, as the appliance served it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    /// When it arrived, since the simulator started.
    pub at: Duration,
    /// The id addressed (`None` for a segment that is not an id).
    pub id: Option<u64>,
    /// The status answered.
    pub status: u16,
    /// From arrival to the answer at the server: the capacity queue, the configured latency
    /// and jitter (a hung request's hang is not included).
    pub latency: Duration,
}

/// The served requests in arrival order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    served: Vec<Served>,
}

/// How many requests each group of ids had served while every group was being served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shares {
    /// The latest first arrival of any group.
    pub from: Duration,
    /// The earliest last arrival of any group.
    pub to: Duration,
    /// Requests per group that arrived within `from..=to`.
    pub counts: Vec<u64>,
}

impl Timeline {
    pub(crate) fn push(&mut self, served: Served) {
        self.served.push(served);
    }

    /// Every record, in arrival order.
    #[must_use]
    pub fn served(&self) -> &[Served] {
        &self.served
    }

    /// Requests that arrived in each whole second since the simulator started (index 0 is
    /// the first second), up to the last second with an arrival.
    #[must_use]
    pub fn per_second(&self) -> Vec<u64> {
        let mut counts = Vec::new();
        for served in &self.served {
            let second = usize::try_from(served.at.as_secs()).unwrap_or(usize::MAX);
            if counts.len() <= second {
                counts.resize(second + 1, 0);
            }
            counts[second] += 1;
        }
        counts
    }

    /// The latency below which a fraction `q` (0..=1) of the requests fell (nearest rank);
    /// `None` when nothing was served.
    #[must_use]
    pub fn latency_quantile(&self, q: f64) -> Option<Duration> {
        let mut latencies: Vec<Duration> = self.served.iter().map(|s| s.latency).collect();
        latencies.sort_unstable();
        let last = latencies.len().checked_sub(1)?;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a rank within the vector's length"
        )]
        let rank =
            ((q.clamp(0.0, 1.0) * latencies.len() as f64).ceil() as usize).clamp(1, last + 1);
        latencies.get(rank - 1).copied()
    }

    /// Splits the ids into `groups` groups with `group_of` (ids it maps to `None` are left
    /// out) and counts each group's requests in the span where all of them were being served:
    /// from the latest first arrival to the earliest last one. `None` if a group was never
    /// served or the groups never overlapped.
    #[must_use]
    pub fn shares(&self, groups: usize, group_of: impl Fn(u64) -> Option<usize>) -> Option<Shares> {
        let grouped: Vec<(Duration, usize)> = self
            .served
            .iter()
            .filter_map(|s| {
                let group = group_of(s.id?)?;
                (group < groups).then_some((s.at, group))
            })
            .collect();
        let mut spans: Vec<Option<(Duration, Duration)>> = vec![None; groups];
        for (at, group) in &grouped {
            let span = spans[*group].get_or_insert((*at, *at));
            span.0 = span.0.min(*at);
            span.1 = span.1.max(*at);
        }
        let spans: Vec<(Duration, Duration)> = spans.into_iter().collect::<Option<_>>()?;
        let from = spans.iter().map(|s| s.0).max()?;
        let to = spans.iter().map(|s| s.1).min()?;
        if from > to {
            return None;
        }
        let mut counts = vec![0; groups];
        for (at, group) in grouped {
            if (from..=to).contains(&at) {
                counts[group] += 1;
            }
        }
        Some(Shares { from, to, counts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, id: u64, latency_ms: u64) -> Served {
        Served {
            at: Duration::from_millis(ms),
            id: Some(id),
            status: 200,
            latency: Duration::from_millis(latency_ms),
        }
    }

    fn timeline(records: &[Served]) -> Timeline {
        let mut t = Timeline::default();
        for record in records {
            t.push(*record);
        }
        t
    }

    #[test]
    fn requests_are_counted_per_whole_second_with_empty_seconds_kept() {
        let t = timeline(&[at(10, 1, 1), at(990, 2, 1), at(2500, 3, 1)]);
        assert_eq!(t.per_second(), [2, 0, 1]);
        assert!(Timeline::default().per_second().is_empty());
    }

    #[test]
    fn latency_quantiles_are_nearest_rank() {
        let t = timeline(&(1..=20).map(|i| at(i, i, i)).collect::<Vec<_>>());
        let ms = |n| Some(Duration::from_millis(n));
        assert_eq!(t.latency_quantile(0.5), ms(10));
        assert_eq!(t.latency_quantile(0.95), ms(19));
        assert_eq!(t.latency_quantile(1.0), ms(20));
        assert_eq!(t.latency_quantile(0.0), ms(1));
        assert_eq!(Timeline::default().latency_quantile(0.5), None);
    }

    #[test]
    fn shares_are_counted_only_while_every_group_was_served() {
        // Odd ids from 0 to 1000 ms, even ids from 400 to 2000 ms: the overlap is 400..=1000.
        let mut records: Vec<Served> = (0..=10).map(|i| at(i * 100, 2 * i + 1, 1)).collect();
        records.extend((0..=16).map(|i| at(400 + i * 100, 2 * i + 2, 1)));
        records.sort_by_key(|r| r.at);
        let t = timeline(&records);
        let shares = t
            .shares(2, |id| usize::try_from(id % 2).ok())
            .expect("overlap");
        assert_eq!(shares.from, Duration::from_millis(400));
        assert_eq!(shares.to, Duration::from_secs(1));
        assert_eq!(shares.counts, [7, 7]);
        // A group never served: no shares.
        assert_eq!(t.shares(3, |id| usize::try_from(id % 2).ok()), None);
    }
}
