//! Line numbers of CSV records, counted from the raw bytes (CRLF, blank lines and newlines
//! inside quotes all count), so that a report row's `line` is the line an editor shows.
//! Depends on nothing else in the crate.
//!
//! The csv crate's own line count skips blank lines and lags on CRLF, and its record offsets
//! point at the end of the previous record, before any blank lines. So end-of-line bytes are
//! noted as the reader pulls them, and a record's line is found by stepping over the CR/LF
//! bytes at its offset. They are kept as runs of consecutive CR/LF bytes, and every record
//! (blank ones included) settles the runs before it: ten million blank lines are one run, and
//! what is kept never exceeds what the csv reader has read ahead.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, PoisonError};

/// Consecutive `\r`/`\n` bytes at `start..end`, of which `newlines` are `\n`.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: u64,
    end: u64,
    newlines: u64,
}

/// Runs not yet passed by a record, shared by the reader that notes them and the counter.
#[derive(Debug, Default)]
struct Pending {
    runs: VecDeque<Run>,
    /// Most runs ever held at once: the bound the tests check.
    high_water: usize,
}

/// Turns csv record offsets into 1-based line numbers.
#[derive(Debug, Clone, Default)]
pub(super) struct LineCounter {
    pending: Arc<Mutex<Pending>>,
    /// `\n` bytes before the runs still pending.
    passed: u64,
}

impl LineCounter {
    /// A counter whose first line is `first_line` (2 when a `sep=` line was taken off).
    pub(super) fn starting_at(first_line: u64) -> Self {
        Self {
            pending: Arc::default(),
            passed: first_line.saturating_sub(1),
        }
    }

    /// Wraps `inner` so that its end-of-line bytes are noted for this counter.
    pub(super) fn reader<R: Read>(&self, inner: R) -> CountingReader<R> {
        CountingReader {
            inner,
            offset: 0,
            pending: Arc::clone(&self.pending),
        }
    }

    /// The 1-based line of the record that csv places at `offset`. Offsets never decrease;
    /// call it for every record, blank ones included, so that passed runs are dropped.
    pub(super) fn line_at(&mut self, mut offset: u64) -> u64 {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(run) = pending.runs.front().copied() {
            if run.start > offset {
                break;
            }
            // A run before the record, or the one it starts on: the record begins after it.
            self.passed += run.newlines;
            offset = offset.max(run.end);
            pending.runs.pop_front();
        }
        self.passed + 1
    }

    /// Most runs held at once so far.
    #[cfg(test)]
    pub(super) fn high_water(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .high_water
    }
}

/// Passes bytes through, noting where the runs of end-of-line bytes are.
pub(super) struct CountingReader<R> {
    inner: R,
    offset: u64,
    pending: Arc<Mutex<Pending>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        for (i, &b) in buf[..n].iter().enumerate() {
            if b != b'\n' && b != b'\r' {
                continue;
            }
            let at = self.offset + i as u64;
            let newline = u64::from(b == b'\n');
            match pending.runs.back_mut() {
                Some(run) if run.end == at => {
                    run.end += 1;
                    run.newlines += newline;
                }
                _ => pending.runs.push_back(Run {
                    start: at,
                    end: at + 1,
                    newlines: newline,
                }),
            }
        }
        pending.high_water = pending.high_water.max(pending.runs.len());
        self.offset += n as u64;
        Ok(n)
    }
}
