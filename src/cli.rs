//! Command-line types: what was typed, exactly as clap parsed it. Nothing here validates or
//! derives; `config` turns these into a `Config`. Nothing below `config` sees these types.
#![expect(
    clippy::doc_markdown,
    reason = "doc comments here are clap's --help text, where backticks would print literally"
)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Enable senhasegura PAM credentials in bulk, from a CSV of ids, with a per-id report.
#[derive(Debug, Parser)]
#[command(name = "credbulk", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Less output: warnings and errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More output: -v for debug, -vv for trace (default: info, or RUST_LOG).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Enable every credential id in INPUT (PUT {prefix}/pam/credential/{id}).
    Enable(RunArgs),
    /// Disable every credential id in INPUT (DELETE …), to roll an enable back.
    Disable(RunArgs),
    /// Resolve the configuration and fetch one token; change nothing.
    Check(ConnectionArgs),
    /// Run the API simulator until Ctrl-C.
    Sim(crate::sim::SimArgs),
    /// Start the simulator on a free port and enable the bundled sample ids, end to end.
    Demo(DemoArgs),
}

/// How to reach and authenticate to the appliance.
#[derive(Debug, Args, Clone)]
pub struct ConnectionArgs {
    /// Base URL of the appliance, e.g. https://pam.example.com.
    #[arg(long, env = "SENHASEGURA_URL")]
    pub url: Option<String>,
    /// OAuth2 client id of the A2A application.
    #[arg(long, env = "SENHASEGURA_CLIENT_ID")]
    pub client_id: Option<String>,
    /// File holding the client secret (else the SENHASEGURA_CLIENT_SECRET variable).
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// Token endpoint path.
    #[arg(long, default_value = "/iso/oauth2/token", value_name = "PATH")]
    pub token_path: String,
    /// API prefix: /api (v3.33 and later) or /iso (older).
    #[arg(long, default_value = "/api", value_name = "PREFIX")]
    pub api_prefix: String,
    /// Per-request timeout in seconds.
    #[arg(long, default_value = "30", value_name = "SECS")]
    pub timeout: f64,
}

/// Options of `enable` and `disable`.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// CSV of credential ids, or - for stdin.
    pub input: String,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Requests per second, all requests together (retries and token fetches included).
    #[arg(long, default_value = "10", value_name = "N")]
    pub rate: f64,
    /// Requests that may go at once after an idle spell.
    #[arg(long, default_value = "1", value_name = "N")]
    pub burst: u32,
    /// Requests in flight at most.
    #[arg(long, default_value = "4", value_name = "N")]
    pub concurrency: usize,
    /// Attempts per id, the first one included.
    #[arg(long, default_value = "5", value_name = "N")]
    pub max_attempts: u32,
    /// Abort when nothing has succeeded for this many seconds because the server is failing.
    #[arg(long, default_value = "300", value_name = "SECS")]
    pub max_outage: f64,
    /// Report path (.jsonl for JSON lines, else CSV); default <input stem>.report.csv.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Continue an earlier run: skip ids the report already settled, append the rest.
    #[arg(long)]
    pub resume: bool,
    /// Column holding the id (case-insensitive) when the input has a header.
    #[arg(long, default_value = "id", value_name = "NAME")]
    pub id_column: String,
    /// Validate the input and credentials, print the plan, send no change.
    #[arg(long)]
    pub dry_run: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Process only shard K of N (0-based K, e.g. $JOB_COMPLETION_INDEX/4): a stable split of
    /// the ids so several machines can share one input without overlap.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
}

/// Options of `demo`.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Where to write the demo report.
    #[arg(long, default_value = "credbulk-demo.report.csv", value_name = "PATH")]
    pub report: PathBuf,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}
