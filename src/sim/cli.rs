//! `credbulk sim`: the simulator's flags, their validation into a `SimConfig`, and the loop that
//! serves until Ctrl-C. Prints `listening on http://ADDR` as its first stdout line so scripts
//! (and `--listen 127.0.0.1:0` users) can read the address.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::config::{ExpiredTokenAnswer, Faults, SimConfig};
use super::credentials::Credentials;
use super::error::SimError;
use super::gateway::{Gateway, NGINX_DEFAULT_BURST};

/// Flags of `credbulk sim`.
#[derive(clap::Args, Debug)]
pub struct SimArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The `OAuth2` client id the token endpoint accepts.
    #[arg(long, default_value = "demo")]
    pub client_id: String,
    /// The client secret it accepts (a test double: a flag is fine here).
    #[arg(long, default_value = "demo-secret")]
    pub client_secret: String,
    /// Token lifetime in seconds (announced as `expires_in`).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub token_lifetime: u64,
    /// Token endpoint path.
    #[arg(long, default_value = "/iso/oauth2/token")]
    pub token_path: String,
    /// API prefixes served, comma-separated; others answer 404 Resource sub not found.
    #[arg(long, value_delimiter = ',', default_value = "/api,/iso")]
    pub prefixes: Vec<String>,
    /// How an expired or unknown token is answered: 401 (`access_denied`), 500 (not authorized
    /// envelope) or 404 (Kong no route).
    #[arg(long, value_enum, default_value = "401")]
    pub expired_token_answer: ExpiredAnswerArg,
    /// Read-only authorization: every change answers 1039.
    #[arg(long)]
    pub read_only: bool,
    /// Fixed latency added to each API request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Extra random latency up to this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub jitter_ms: u64,
    /// Rate (0..1) of 500 Unexpected error answers (nothing applied).
    #[arg(long = "fail-500", value_name = "RATE", default_value_t = 0.0)]
    pub fail_500: f64,
    /// Rate (0..1) of Kong 504 answers (nothing applied).
    #[arg(long = "fail-504", value_name = "RATE", default_value_t = 0.0)]
    pub fail_504: f64,
    /// Rate (0..1) of Kong 503 answers with Retry-After: 1 (nothing applied).
    #[arg(long = "fail-503", value_name = "RATE", default_value_t = 0.0)]
    pub fail_503: f64,
    /// Rate (0..1) of 502 answers with an HTML body (nothing applied).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub fail_html: f64,
    /// Rate (0..1) of answers lost after applying the change (connection dropped mid-body).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub lose: f64,
    /// Rate (0..1) of requests that apply the change, then hang for --hang-secs.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub hang: f64,
    /// How long a hung request hangs.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub hang_secs: u64,
    /// The gateway in front of the API: nginx (`limit_req`, plain 429, burst), kong (fixed
    /// one-second windows, `RateLimit-*` headers, 429 with Retry-After) or capacity (nothing
    /// refused; above the limit requests queue and latency grows). Needs --gateway-limit.
    #[arg(long, value_enum, value_name = "MODE")]
    pub gateway: Option<GatewayArg>,
    /// Requests per second the gateway allows (nginx's rate, Kong's per-second limit, the
    /// appliance's capacity).
    #[arg(long, value_name = "N")]
    pub gateway_limit: Option<u32>,
    /// nginx's burst: requests above the rate let through at once [default: 5].
    #[arg(long, value_name = "N")]
    pub gateway_burst: Option<u32>,
    /// Answer Kong 429 above this many API requests per second (the same as --gateway kong
    /// --gateway-limit N).
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,
    /// Seed of the fault and jitter RNG.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed the state from a CSV with header id,kind,active,accessible.
    #[arg(long, value_name = "PATH", conflicts_with = "generate")]
    pub credentials: Option<PathBuf>,
    /// Generate ids 1..=N, all disabled accessible credentials (the default, 1000).
    #[arg(long, value_name = "N")]
    pub generate: Option<u64>,
}

/// `--gateway` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayArg {
    /// nginx `limit_req ... nodelay` with `limit_req_status 429`.
    Nginx,
    /// Kong's rate-limiting plugin.
    Kong,
    /// No refusals; an appliance that serves N requests a second.
    Capacity,
}

/// `--expired-token-answer` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiredAnswerArg {
    #[value(name = "401")]
    Unauthorized,
    #[value(name = "500")]
    NotAuthorized,
    #[value(name = "404")]
    NoRoute,
}

impl SimArgs {
    /// Validates the flags and reads the credentials file.
    pub fn into_config(self) -> Result<SimConfig, SimError> {
        if self.token_lifetime == 0 {
            return Err(invalid(
                "--token-lifetime",
                "0",
                "must be at least 1",
                "give seconds, e.g. 3600",
            ));
        }
        let gateway = gateway(&self)?;
        let token_path = path_flag("--token-path", &self.token_path)?;
        let prefixes = self
            .prefixes
            .iter()
            .map(|p| path_flag("--prefixes", p.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let faults = Faults {
            server_error: rate("--fail-500", self.fail_500)?,
            gateway_timeout: rate("--fail-504", self.fail_504)?,
            unavailable: rate("--fail-503", self.fail_503)?,
            html: rate("--fail-html", self.fail_html)?,
            lost: rate("--lose", self.lose)?,
            hang: rate("--hang", self.hang)?,
            hang_for: Duration::from_secs(self.hang_secs),
        };
        let credentials = match self.credentials {
            Some(path) => Credentials::from_csv_path(path)?,
            None => Credentials::generate(self.generate.unwrap_or(1000)),
        };
        Ok(SimConfig {
            listen: self.listen,
            client_id: self.client_id,
            client_secret: self.client_secret,
            token_lifetime: Duration::from_secs(self.token_lifetime),
            token_path,
            prefixes,
            expired_token_answer: match self.expired_token_answer {
                ExpiredAnswerArg::Unauthorized => ExpiredTokenAnswer::Unauthorized401,
                ExpiredAnswerArg::NotAuthorized => ExpiredTokenAnswer::NotAuthorized500,
                ExpiredAnswerArg::NoRoute => ExpiredTokenAnswer::KongNoRoute404,
            },
            read_only: self.read_only,
            latency: Duration::from_millis(self.latency_ms),
            jitter: Duration::from_millis(self.jitter_ms),
            faults,
            gateway,
            rate_limit: None,
            record_timeline: false,
            seed: self.seed,
            credentials,
        })
    }
}

/// Runs the simulator until `stop` resolves (the CLI passes its SIGINT/SIGTERM handling). The
/// first stdout line is `listening on http://ADDR`.
pub async fn run(
    args: SimArgs,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), SimError> {
    let config = args.into_config()?;
    let addr = config.listen;
    let credentials = config.credentials.len();
    let sim = super::spawn(config)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", sim.url()).map_err(SimError::Io)?;
        stdout.flush().map_err(SimError::Io)?;
    }
    tracing::info!(addr = %sim.addr, credentials, "simulator running; Ctrl-C or SIGTERM stops it");
    stop.await;
    let stats = sim.stats();
    sim.shutdown().await;
    tracing::info!(
        token_fetches = stats.token_fetches,
        api_requests = stats.api_requests,
        max_requests_per_second = stats.max_requests_per_second,
        "simulator stopped"
    );
    Ok(())
}

/// `--gateway`, `--gateway-limit`, `--gateway-burst` and the older `--rate-limit`, checked
/// against each other.
fn gateway(args: &SimArgs) -> Result<Gateway, SimError> {
    if let Some(limit) = args.rate_limit {
        if let Some(mode) = args.gateway {
            return Err(invalid(
                "--rate-limit",
                limit.to_string(),
                "says the same as --gateway kong --gateway-limit N",
                match mode {
                    GatewayArg::Kong => "drop --rate-limit and keep --gateway-limit",
                    _ => "give --gateway with --gateway-limit, or --rate-limit alone",
                },
            ));
        }
        return Gateway::kong(limit).ok_or_else(|| {
            invalid(
                "--rate-limit",
                "0",
                "would refuse every request",
                "give 1 or more, or leave it out for no limit",
            )
        });
    }
    let Some(mode) = args.gateway else {
        if let Some(limit) = args.gateway_limit {
            return Err(invalid(
                "--gateway-limit",
                limit.to_string(),
                "needs a gateway to apply to",
                "add --gateway nginx, --gateway kong or --gateway capacity",
            ));
        }
        if let Some(burst) = args.gateway_burst {
            return Err(invalid(
                "--gateway-burst",
                burst.to_string(),
                "is nginx's burst and no gateway was chosen",
                "add --gateway nginx --gateway-limit N",
            ));
        }
        return Ok(Gateway::Open);
    };
    let name = match mode {
        GatewayArg::Nginx => "nginx",
        GatewayArg::Kong => "kong",
        GatewayArg::Capacity => "capacity",
    };
    let Some(limit) = args.gateway_limit else {
        return Err(invalid(
            "--gateway",
            name,
            "needs a limit",
            "add --gateway-limit N, requests per second, e.g. --gateway-limit 40",
        ));
    };
    if let (Some(burst), false) = (args.gateway_burst, mode == GatewayArg::Nginx) {
        return Err(invalid(
            "--gateway-burst",
            burst.to_string(),
            "only nginx has a burst",
            "drop --gateway-burst, or use --gateway nginx",
        ));
    }
    let chosen = match mode {
        GatewayArg::Nginx => {
            Gateway::nginx(limit, args.gateway_burst.unwrap_or(NGINX_DEFAULT_BURST))
        }
        GatewayArg::Kong => Gateway::kong(limit),
        GatewayArg::Capacity => Gateway::capacity(limit),
    };
    chosen.ok_or_else(|| {
        invalid(
            "--gateway-limit",
            "0",
            "would let nothing through",
            "give requests per second, 1 or more, or leave out --gateway for no limit",
        )
    })
}

fn invalid(
    flag: &'static str,
    value: impl Into<String>,
    reason: &'static str,
    hint: &'static str,
) -> SimError {
    SimError::InvalidOption {
        flag,
        value: value.into(),
        reason,
        hint,
    }
}

fn rate(flag: &'static str, value: f64) -> Result<f64, SimError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            flag,
            value.to_string(),
            "is not a rate between 0 and 1",
            "0.05 means one request in twenty",
        ))
    }
}

/// A URL path: starts with `/`, no trailing `/` (unless it is `/` alone), no spaces or `?`.
fn path_flag(flag: &'static str, value: &str) -> Result<String, SimError> {
    let ok = value.starts_with('/') && !value.contains(['?', '#', ' ']);
    if !ok {
        return Err(invalid(
            flag,
            value,
            "is not a path",
            "paths start with / like /api or /iso/oauth2/token",
        ));
    }
    let trimmed = value.trim_end_matches('/');
    Ok(if trimmed.is_empty() { "/" } else { trimmed }.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    fn parse(args: &[&str]) -> Result<SimConfig, SimError> {
        let cli = Cli::try_parse_from(std::iter::once("sim").chain(args.iter().copied()))
            .expect("flags parse");
        cli.sim.into_config()
    }

    #[test]
    fn defaults_give_a_thousand_disabled_credentials_on_port_8080() {
        let config = parse(&[]).expect("defaults are valid");
        assert_eq!(config.listen.port(), 8080);
        assert_eq!(config.credentials.len(), 1000);
        assert_eq!(config.prefixes, ["/api", "/iso"]);
        assert_eq!(
            config.expired_token_answer,
            ExpiredTokenAnswer::Unauthorized401
        );
        assert_eq!(config.faults.hang_for, Duration::from_secs(120));
    }

    #[test]
    fn flags_map_onto_the_config() {
        let config = parse(&[
            "--listen=127.0.0.1:0",
            "--prefixes=/iso/",
            "--expired-token-answer=404",
            "--fail-500=0.25",
            "--lose=1",
            "--rate-limit=5",
            "--latency-ms=7",
            "--generate=3",
            "--read-only",
        ])
        .expect("valid flags");
        assert_eq!(config.prefixes, ["/iso"]);
        assert_eq!(
            config.expired_token_answer,
            ExpiredTokenAnswer::KongNoRoute404
        );
        assert!((config.faults.server_error - 0.25).abs() < f64::EPSILON);
        assert!((config.faults.lost - 1.0).abs() < f64::EPSILON);
        assert_eq!(config.effective_gateway(), Gateway::kong(5).expect("limit"));
        assert_eq!(config.latency, Duration::from_millis(7));
        assert_eq!(config.credentials.len(), 3);
        assert!(config.read_only);
    }

    #[test]
    fn each_gateway_mode_takes_its_limit_and_nginx_its_burst() {
        let gateway = |args: &[&str]| parse(args).expect("valid flags").effective_gateway();
        assert_eq!(gateway(&[]), Gateway::Open);
        assert_eq!(
            gateway(&["--gateway=nginx", "--gateway-limit=40"]),
            Gateway::nginx(40, 5).expect("rate")
        );
        assert_eq!(
            gateway(&[
                "--gateway",
                "nginx",
                "--gateway-limit",
                "40",
                "--gateway-burst",
                "0"
            ]),
            Gateway::nginx(40, 0).expect("rate")
        );
        assert_eq!(
            gateway(&["--gateway=kong", "--gateway-limit=200"]),
            Gateway::kong(200).expect("limit")
        );
        assert_eq!(
            gateway(&["--gateway=capacity", "--gateway-limit=200"]),
            Gateway::capacity(200).expect("rate")
        );
    }

    #[test]
    fn gateway_flags_that_do_not_fit_together_say_what_to_change() {
        for (args, hint) in [
            (&["--gateway=nginx"][..], "add --gateway-limit"),
            (&["--gateway-limit=40"], "add --gateway nginx"),
            (&["--gateway-burst=5"], "add --gateway nginx"),
            (
                &["--gateway=kong", "--gateway-limit=40", "--gateway-burst=5"],
                "only nginx has a burst",
            ),
            (&["--gateway=capacity", "--gateway-limit=0"], "1 or more"),
            (
                &["--gateway=kong", "--gateway-limit=40", "--rate-limit=40"],
                "drop --rate-limit",
            ),
            (
                &["--gateway=nginx", "--gateway-limit=40", "--rate-limit=40"],
                "or --rate-limit alone",
            ),
        ] {
            let err = parse(args).expect_err("invalid").to_string();
            assert!(err.contains(hint), "{args:?}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn bad_values_are_errors_with_hints() {
        for args in [
            &["--fail-504=1.5"][..],
            &["--hang=-0.1"],
            &["--prefixes=api"],
            &["--token-lifetime=0"],
            &["--rate-limit=0"],
            &["--credentials=/nonexistent.csv"],
        ] {
            let err = parse(args).expect_err("invalid");
            assert!(err.to_string().contains("hint"), "{err}");
        }
    }
}
