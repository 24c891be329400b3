//! `credbulk demo`: the whole job on one machine. Starts the simulator on a free loopback port,
//! seeded from the bundled sample credentials with a little latency and a few transient faults,
//! and enables the bundled sample ids with the real pipeline, report and summary.

use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::cli::DemoArgs;
use crate::config::{Connection, Outputs, RunConfig, Tls};
use crate::control::Control;
use crate::error::Error;
use crate::input::InputSource;
use crate::model::Operation;
use crate::report::ReportFormat;
use crate::secret::Secret;
use crate::sim::{Credentials, Faults, SimConfig};
use crate::summary::RunSummary;

/// The sample credentials the demo's simulator starts with.
pub const SAMPLE_CREDENTIALS: &[u8] = include_bytes!("../../samples/credentials.csv");
/// The sample ids the demo enables.
pub const SAMPLE_IDS: &[u8] = include_bytes!("../../samples/ids.csv");

/// Runs the demo; the report lands at `args.report` (replacing an earlier demo report).
pub async fn demo(
    args: DemoArgs,
    terminal: bool,
    control: Arc<Control>,
) -> Result<RunSummary, Error> {
    let credentials = Credentials::from_csv_reader(SAMPLE_CREDENTIALS)?;
    let sim_config = SimConfig {
        credentials,
        latency: Duration::from_millis(5),
        jitter: Duration::from_millis(20),
        faults: Faults {
            server_error: 0.02,
            gateway_timeout: 0.02,
            lost: 0.01,
            ..Faults::default()
        },
        seed: 2026,
        ..SimConfig::default()
    };
    let sim = crate::sim::spawn(sim_config.clone()).await.map_err(|e| {
        Error::usage(
            format!("cannot start the simulator ({e})"),
            "check that loopback networking works",
        )
    })?;
    crate::logging::print_line(
        "INFO",
        &format!("demo: simulator listening on {}", sim.url()),
        serde_json::Map::new(),
    );
    // An earlier demo's in-doubt journal belongs to the report being replaced.
    let _ = std::fs::remove_file(crate::journal::journal_path(&args.report));
    if args.report.exists() {
        std::fs::remove_file(&args.report).map_err(|e| Error::Report {
            path: args.report.clone(),
            message: format!("cannot replace the earlier demo report ({e})"),
            hint: "remove it by hand or pass --report PATH".to_owned(),
        })?;
    }
    let base = Url::parse(&sim.url())
        .map_err(|e| Error::usage(format!("simulator URL ({e})"), "report this as a bug"))?;
    let config = RunConfig {
        operation: Operation::Enable,
        connection: Connection {
            base,
            client_id: sim_config.client_id.clone(),
            secret: Secret::new(sim_config.client_secret.clone()),
            token_path: "/iso/oauth2/token".to_owned(),
            api_prefix: "/api".to_owned(),
            timeout: Duration::from_secs(5),
            tls: Tls::default(),
            probe_id: crate::config::DEFAULT_PROBE_ID,
        },
        input: InputSource::Bytes(SAMPLE_IDS),
        input_options: crate::input::InputOptions::default(),
        rate: 200.0,
        rate_mode: crate::config::RateMode::Fixed,
        burst: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
        concurrency: NonZeroUsize::new(8).unwrap_or(NonZeroUsize::MIN),
        max_attempts: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
        max_outage: Duration::from_secs(60),
        report_format: ReportFormat::for_path(&args.report),
        report_dialect: crate::report::Dialect::Standard,
        report: args.report,
        resume: false,
        dry_run: false,
        progress: terminal && !args.no_progress,
        resume_command: "credbulk demo".to_owned(),
        shard: None,
        outputs: Outputs::default(),
    };
    let summary = super::run(config, control).await;
    sim.shutdown().await;
    summary
}

/// Printed after the demo's summary, when the run itself worked.
pub const DEMO_EPILOGUE: &str = "demo: the sample deliberately holds ids that cannot be enabled \
(missing, inaccessible, not credentials, an invalid line, a duplicate) next to already-active \
ones; the run itself worked, so the demo exits 0. A real run with these failures exits 1.";
