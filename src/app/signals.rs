//! SIGINT/SIGTERM: the first stops admitting ids and lets those in flight finish; the second
//! exits at once (every row already written stays: rows are flushed as they are decided).

use std::sync::Arc;

use tracing::warn;

use crate::control::Control;
use crate::error::exit;

/// Spawns the task that turns signals into an interrupt, then an immediate exit.
pub fn install_signal_handler(control: Arc<Control>) {
    tokio::spawn(async move {
        if wait_for_signal().await.is_err() {
            return;
        }
        warn!("interrupted: finishing what is in flight (signal again to exit now)");
        control.interrupt();
        if wait_for_signal().await.is_ok() {
            crate::logging::clear_progress_bar();
            crate::logging::print_line(
                "WARN",
                "credbulk: second signal, exiting now; the report holds every row written so far",
                serde_json::Map::new(),
            );
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
    });
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
