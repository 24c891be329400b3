//! Who owns a report: an exclusive lock on a sidecar `<report>.lock`, never on the report
//! itself, so that anyone may read the report during a run (Windows locks are mandatory: a
//! locked report could not even be opened by a viewer). The sidecar holds the owner's pid, host
//! and start time, which the refusal of a second run prints. The lock also covers the in-doubt
//! journal beside the report. Only portable std APIs (`File::try_lock`); the OS drops the lock
//! when the process dies, `kill -9` included, so no stale lock is ever left to clean up.
//! Depends on nothing but std and the error type.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The held lock; dropping it releases the report. The file stays (removing it would let a
/// run that opened it just before lock an unlinked file while a third run creates a new one).
#[derive(Debug)]
pub struct ReportLock {
    _file: File,
}

/// `<report>.lock`.
#[must_use]
pub fn lock_path(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl ReportLock {
    /// Takes the lock of `report`, or says who holds it. Never touches the report.
    pub fn acquire(report: &Path) -> Result<Self, Error> {
        let path = lock_path(report);
        let fail = |message: String, hint: &str| Error::Report {
            path: report.to_owned(),
            message,
            hint: hint.to_owned(),
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                fail(
                    format!("cannot open its lock file {} ({e})", path.display()),
                    "check the directory exists and is writable, or pass --report PATH",
                )
            })?;
        match file.try_lock() {
            Ok(()) => {}
            // Only a lock held by another run is `ReportLocked`, whose refusal leaves that
            // run's summary and metrics alone; a file system that cannot lock is an ordinary
            // refusal, recorded like any other.
            Err(TryLockError::WouldBlock) => {
                return Err(Error::ReportLocked {
                    path: report.to_owned(),
                    message: format!(
                        "is locked by another credbulk run ({}; lock file {})",
                        holder(&path),
                        path.display()
                    ),
                    hint: "wait for that run to finish, or choose another --report".to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(fail(
                    format!("cannot lock {} ({e})", path.display()),
                    "put the report on a file system that supports locks, or pass --report PATH",
                ));
            }
        }
        let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
        let host = whoami::hostname().unwrap_or_else(|_| "unknown".to_owned());
        let owner = format!(
            "pid {}, host {host}, started {started}\n",
            std::process::id()
        );
        // Best effort: the lock is what protects the report; the text only helps the operator.
        let _ = file
            .set_len(0)
            .and_then(|()| file.write_all(owner.as_bytes()));
        Ok(Self { _file: file })
    }
}

/// Who holds the lock of `report` right now, if anyone; never creates the lock file (a report
/// read from a read-only archive has none). For a reader that must not run beside the report's
/// writer, such as a rollback from it.
#[must_use]
pub fn lock_holder(report: &Path) -> Option<String> {
    let path = lock_path(report);
    let file = File::open(&path).ok()?;
    match file.try_lock_shared() {
        Err(TryLockError::WouldBlock) => Some(holder(&path)),
        _ => None,
    }
}

/// The owner recorded in a held lock file, for the refusal message.
fn holder(path: &Path) -> String {
    let mut text = String::new();
    // Where locks are mandatory (Windows) the holder's file may be unreadable: say so.
    match File::open(path).and_then(|f| f.take(512).read_to_string(&mut text)) {
        Ok(_) if !text.trim().is_empty() => format!("held by {}", text.trim()),
        Ok(_) => "its owner has not written its pid yet".to_owned(),
        Err(e) => format!("its owner could not be read: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_names_its_owner_and_leaves_the_report_readable() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.report.csv");
        std::fs::write(&report, "x").unwrap();
        let held = ReportLock::acquire(&report).unwrap();
        let err = ReportLock::acquire(&report).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("host ") && err.contains("started 20"), "{err}");
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "x");
        assert!(lock_holder(&report).is_some_and(|h| h.contains("pid ")));
        drop(held);
        assert_eq!(lock_holder(&report), None);
        assert!(ReportLock::acquire(&report).is_ok(), "released on drop");
    }
}
