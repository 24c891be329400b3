//! The run over time, from the rows' `finished_at`: ids decided per second, split by what
//! happened to them, time-to-decide percentiles, and the periods when every id decided failed
//! transiently (the appliance was not answering). At most `MAX_COLUMNS` columns of whole
//! seconds, so its memory is fixed whatever the report's size. Depends on `model` and the
//! histogram only.

use super::latency::Histogram;
use crate::model::{OutcomeKind, Verdict};

/// Most columns a timeline has; longer runs put several seconds in each column.
pub const MAX_COLUMNS: i64 = 480;

/// What one column (one or more whole seconds) saw.
#[derive(Debug, Clone, Default)]
pub struct Column {
    /// Ids that ended in a success.
    pub success: u64,
    /// Ids the appliance refused for good (`not_found`, `no_access`, …).
    pub refused: u64,
    /// Ids that failed transiently after every attempt (timeout, server or network error).
    pub transient: u64,
    /// Ids still answered 429 after every attempt.
    pub rate_limited: u64,
    /// Lines decided without a request (`invalid_input`, `duplicate`).
    pub local: u64,
    /// Time to decide the ids that were sent (`elapsed_ms`); allocated on first use.
    pub latency: Option<Box<Histogram>>,
}

impl Column {
    /// Every row in the column.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.success + self.refused + self.transient + self.rate_limited + self.local
    }

    /// Whether the appliance looks down in this column: ids failed transiently and none was
    /// answered.
    #[must_use]
    pub fn looks_down(&self) -> bool {
        self.transient > 0 && self.success + self.refused + self.rate_limited == 0
    }
}

/// Columns over the run's span.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Start of the first column, Unix ms (a whole second).
    pub start_ms: i64,
    /// Width of a column in ms (whole seconds).
    pub column_ms: i64,
    pub columns: Vec<Column>,
}

impl Timeline {
    /// A timeline from the first to the last decision (Unix ms).
    #[must_use]
    pub fn new(first_ms: i64, last_ms: i64) -> Self {
        let first_second = first_ms.div_euclid(1000);
        let seconds = last_ms.div_euclid(1000) - first_second + 1;
        let per_column = (seconds + MAX_COLUMNS - 1) / MAX_COLUMNS;
        let count = (seconds + per_column - 1) / per_column;
        Self {
            start_ms: first_second * 1000,
            column_ms: per_column * 1000,
            columns: vec![Column::default(); usize::try_from(count).unwrap_or(0)],
        }
    }

    /// Counts one decided row.
    pub fn add(&mut self, at_ms: i64, kind: OutcomeKind, attempts: u32, elapsed_ms: u64) {
        let index = (at_ms - self.start_ms).div_euclid(self.column_ms);
        let Some(column) = usize::try_from(index)
            .ok()
            .and_then(|i| self.columns.get_mut(i))
        else {
            return;
        };
        match kind {
            OutcomeKind::InvalidInput | OutcomeKind::Duplicate => column.local += 1,
            OutcomeKind::RateLimited => column.rate_limited += 1,
            OutcomeKind::Timeout | OutcomeKind::ServerError | OutcomeKind::NetworkError => {
                column.transient += 1;
            }
            k if k.verdict() == Verdict::Success => column.success += 1,
            _ => column.refused += 1,
        }
        if attempts > 0 {
            column.latency.get_or_insert_default().add(elapsed_ms);
        }
    }

    /// Start and end (Unix ms) of each stretch of columns where the appliance looked down.
    #[must_use]
    pub fn outages(&self) -> Vec<(i64, i64)> {
        let mut periods: Vec<(i64, i64)> = Vec::new();
        let mut open: Option<i64> = None;
        for (i, column) in self.columns.iter().enumerate() {
            let at = self.column_start(i);
            match (column.looks_down(), open) {
                (true, None) => open = Some(at),
                (false, Some(start)) if column.total() > 0 => {
                    periods.push((start, at));
                    open = None;
                }
                _ => {}
            }
        }
        if let Some(start) = open {
            let last_down = self
                .columns
                .iter()
                .rposition(Column::looks_down)
                .unwrap_or(0);
            periods.push((start, self.column_start(last_down + 1)));
        }
        periods
    }

    /// Where column `index` starts, Unix ms.
    #[must_use]
    pub fn column_start(&self, index: usize) -> i64 {
        self.start_ms + i64::try_from(index).unwrap_or(i64::MAX / 2) * self.column_ms
    }

    /// Where the last column ends, Unix ms.
    #[must_use]
    pub fn end_ms(&self) -> i64 {
        self.column_start(self.columns.len())
    }

    /// The most ids decided per second in any column.
    #[must_use]
    pub fn peak_per_second(&self) -> f64 {
        let most = self.columns.iter().map(Column::total).max().unwrap_or(0);
        most as f64 * 1000.0 / self.column_ms as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_run_folds_seconds_into_at_most_the_column_limit() {
        let t = Timeline::new(1_000, 1_000 + 3_600_000);
        assert!(t.columns.len() <= usize::try_from(MAX_COLUMNS).unwrap());
        assert_eq!(t.column_ms % 1000, 0);
        let short = Timeline::new(5_500, 9_100);
        assert_eq!(
            (short.start_ms, short.column_ms, short.columns.len()),
            (5_000, 1_000, 5)
        );
    }

    #[test]
    fn stretches_where_only_transient_failures_came_back_are_outages() {
        let mut t = Timeline::new(0, 9_999);
        t.add(500, OutcomeKind::Enabled, 1, 10);
        for s in 3..6 {
            t.add(s * 1000, OutcomeKind::Timeout, 5, 30_000);
        }
        t.add(6_000, OutcomeKind::ServerError, 5, 1);
        t.add(6_100, OutcomeKind::Enabled, 2, 10);
        t.add(9_000, OutcomeKind::NetworkError, 5, 1);
        // Second 2 is idle: idle time is not outage, and it neither opens nor closes one.
        assert_eq!(t.outages(), vec![(3_000, 6_000), (9_000, 10_000)]);
        assert_eq!(t.columns[0].latency.as_ref().unwrap().len(), 1);
    }
}
