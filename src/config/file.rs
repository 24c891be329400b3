//! The config file: where it is (`--config`, else `CREDBULK_CONFIG`, else the first default
//! location of this OS that holds one, see `location`), and
//! what it may say. Keys are named like the long flags. A key credbulk does not know is an error
//! that names it, so a typo never silently falls back to a default; the secret itself is never
//! a key (only `client-secret-file`, a path), and settings that describe one run (input,
//! report, resume, …) stay on the command line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::location::{Platform, candidates};
use crate::cli::RateArg;
use crate::error::Error;

/// The variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "CREDBULK_CONFIG";

/// Every key the file may hold, as it does: one per long flag.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileSettings {
    pub url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub token_path: Option<String>,
    pub api_prefix: Option<String>,
    pub timeout: Option<f64>,
    pub ca_cert: Option<PathBuf>,
    pub insecure: Option<bool>,
    pub allow_http: Option<bool>,
    pub probe_id: Option<u64>,
    pub rate: Option<RateArg>,
    pub rate_max: Option<f64>,
    pub burst: Option<u32>,
    pub concurrency: Option<usize>,
    pub max_attempts: Option<u32>,
    pub max_outage: Option<f64>,
    pub id_column: Option<String>,
    pub encoding: Option<String>,
    pub no_progress: Option<bool>,
    pub summary_json: Option<PathBuf>,
    pub metrics_file: Option<PathBuf>,
    /// `standard` or `excel`; applies to CSV reports (a JSON-lines report has no dialect).
    pub report_dialect: Option<String>,
}

/// The keys of [`FileSettings`], for the "unknown key" message.
const KEYS: &[&str] = &[
    "url",
    "client-id",
    "client-secret-file",
    "token-path",
    "api-prefix",
    "timeout",
    "ca-cert",
    "insecure",
    "allow-http",
    "probe-id",
    "rate",
    "rate-max",
    "burst",
    "concurrency",
    "max-attempts",
    "max-outage",
    "id-column",
    "encoding",
    "no-progress",
    "summary-json",
    "metrics-file",
    "report-dialect",
];

/// Flags that describe one run, not a standing setting: a `resume = true` in a file would
/// silently change every later run.
const PER_RUN: &[&str] = &[
    "input",
    "from-report",
    "report",
    "resume",
    "dry-run",
    "shard",
    "note",
    "no-header",
    "sheet",
    // The columns an input has are a fact of that input, and a report keeps its first run's.
    "keep-columns",
];

/// Flags that decide how the file itself is found or how its errors are printed.
const FLAG_ONLY: &[&str] = &["config", "no-config", "log-format", "quiet", "verbose"];

/// Finds the config file to read, if any. An explicit `--config` or `CREDBULK_CONFIG` must
/// exist; a default location is read only when present.
pub fn locate(
    flag: Option<&Path>,
    no_config: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    locate_on(Platform::current(), flag, no_config, env)
}

/// [`locate`] by the rule of `platform`.
fn locate_on(
    platform: Platform,
    flag: Option<&Path>,
    no_config: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if no_config {
        return None;
    }
    if let Some(path) = flag {
        return Some(path.to_owned());
    }
    if let Some(path) = env(CONFIG_ENV) {
        return Some(PathBuf::from(path));
    }
    candidates(platform, &env)
        .into_iter()
        .find(|path| path.is_file())
}

/// Reads and checks the file at `path`. Relative paths in it are taken from the file's folder,
/// so the file means the same whichever directory cron starts in.
pub fn load(path: &Path) -> Result<FileSettings, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::usage(
            format!("cannot read config file {} ({e})", path.display()),
            format!("check --config or {CONFIG_ENV}, or pass --no-config to read no file"),
        )
    })?;
    let mut settings = parse(&text).map_err(|(message, hint)| {
        Error::usage(format!("config file {}: {message}", path.display()), hint)
    })?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    for p in [
        &mut settings.client_secret_file,
        &mut settings.ca_cert,
        &mut settings.summary_json,
        &mut settings.metrics_file,
    ]
    .into_iter()
    .flatten()
    {
        if p.is_relative() {
            *p = dir.join(&*p);
        }
    }
    Ok(settings)
}

/// Parses the file's text; errors are (message, hint), one line each.
fn parse(text: &str) -> Result<FileSettings, (String, String)> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| {
            (
            format!("is not valid TOML{} ({})", at_line(text, &e), one_line(e.message())),
            "write one `key = value` per line, e.g. rate = 5 or url = \"https://pam.example.com\""
                .to_owned(),
        )
        })?;
    for key in table.keys() {
        check_key(key)?;
    }
    toml::Value::Table(table)
        .try_into::<FileSettings>()
        .map_err(|e| {
            (
                one_line(e.message()),
                "give numbers unquoted (rate = 5), text and paths quoted, switches as true/false"
                    .to_owned(),
            )
        })
}

/// Refuses a key the file may not hold, naming it and saying where it belongs instead.
fn check_key(key: &str) -> Result<(), (String, String)> {
    if KEYS.contains(&key) {
        return Ok(());
    }
    let err = |message: String, hint: String| Err((message, hint));
    if key.replace('_', "-") == "client-secret" || key == "secret" {
        // The value is never echoed: it may be the secret itself.
        return err(
            format!("key `{key}`: the client secret never goes in the config file"),
            "put the secret alone in a file readable only by you and set client-secret-file = \"PATH\", or set SENHASEGURA_CLIENT_SECRET".to_owned(),
        );
    }
    if PER_RUN.contains(&key) {
        return err(
            format!("key `{key}` describes one run, not a standing setting"),
            format!("pass --{key} on the command line"),
        );
    }
    if FLAG_ONLY.contains(&key) {
        return err(
            format!("key `{key}` cannot be set in the config file"),
            format!("pass --{key} on the command line"),
        );
    }
    let kebab = key.replace('_', "-");
    if KEYS.contains(&kebab.as_str()) {
        return err(
            format!("unknown key `{key}`"),
            format!("keys are spelled like the long flags: `{kebab}`"),
        );
    }
    if let Some(near) = closest_key(&kebab) {
        return err(
            format!("unknown key `{key}`"),
            format!("did you mean `{near}`? (keys are named like the long flags)"),
        );
    }
    err(
        format!("unknown key `{key}`"),
        format!("known keys: {}", KEYS.join(", ")),
    )
}

/// The known key nearest to a mistyped one, if it is near enough to be a typo: at most two
/// edits, and fewer than a third of the key's length (so `url` never suggests `rate`).
fn closest_key(key: &str) -> Option<&'static str> {
    KEYS.iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2 && *d * 3 <= k.len().max(key.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance over chars, a swap of two neighbours counting as one edit (the commonest
/// typo); keys are short, so the quadratic table costs nothing.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

fn at_line(text: &str, error: &toml::de::Error) -> String {
    error.span().map_or_else(String::new, |span| {
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        format!(" at line {line}")
    })
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_named_like_the_long_flags_are_read() {
        let s = parse("url = \"https://pam\"\nclient-id = \"app\"\nrate = 5\nconcurrency = 2\ninsecure = false\n").unwrap();
        assert_eq!(s.url.as_deref(), Some("https://pam"));
        assert_eq!(s.client_id.as_deref(), Some("app"));
        assert_eq!(
            s.rate,
            Some(RateArg::PerSecond(5.0)),
            "an integer is fine for a decimal setting"
        );
        assert_eq!(s.concurrency, Some(2));
    }

    #[test]
    fn an_unknown_key_is_an_error_that_names_it() {
        let (message, hint) = parse("rate = 5\nconcurency = 2\n").unwrap_err();
        assert!(message.contains("`concurency`"), "{message}");
        assert!(hint.contains("concurrency"), "{hint}");
        let (message, hint) = parse("client_id = \"x\"\n").unwrap_err();
        assert!(message.contains("`client_id`"), "{message}");
        assert!(hint.contains("`client-id`"), "{hint}");
    }

    #[test]
    fn a_typo_of_a_key_gets_did_you_mean() {
        for (typo, meant) in [
            ("concurency", "concurrency"),
            ("max-atempts", "max-attempts"),
            ("ca_certs", "ca-cert"),
            ("client-idd", "client-id"),
            ("raet", "rate"),
        ] {
            let (message, hint) = parse(&format!("{typo} = 1\n")).unwrap_err();
            assert!(message.contains(&format!("`{typo}`")), "{message}");
            assert!(
                hint.contains(&format!("did you mean `{meant}`?")),
                "{typo}: {hint}"
            );
        }
        let (_, hint) = parse("colour = 1\n").unwrap_err();
        assert!(
            !hint.contains("did you mean") && hint.contains("known keys"),
            "{hint}"
        );
    }

    #[test]
    fn the_secret_itself_is_refused_without_echoing_it() {
        let (message, hint) = parse("client-secret = \"hunter2\"\n").unwrap_err();
        assert!(message.contains("client-secret"), "{message}");
        assert!(hint.contains("client-secret-file"), "{hint}");
        assert!(!message.contains("hunter2") && !hint.contains("hunter2"));
    }

    #[test]
    fn per_run_keys_and_bad_values_are_refused_with_a_hint() {
        let (message, hint) = parse("resume = true\n").unwrap_err();
        assert!(message.contains("one run"), "{message}");
        assert!(hint.contains("--resume"), "{hint}");
        let (message, _) = parse("rate = \"fast\"\n").unwrap_err();
        assert!(
            message.contains("rate") || message.contains("f64"),
            "{message}"
        );
        let (message, _) = parse("rate = \n").unwrap_err();
        assert!(message.contains("line 1"), "{message}");
    }

    #[test]
    fn the_default_location_follows_xdg_then_home() {
        let dir = tempfile::tempdir().unwrap();
        let xdg = dir.path().join("xdg");
        std::fs::create_dir_all(xdg.join("credbulk")).unwrap();
        std::fs::write(xdg.join("credbulk/config.toml"), "").unwrap();
        let xdg_str = xdg.display().to_string();
        let env = |name: &str| (name == "XDG_CONFIG_HOME").then(|| xdg_str.clone());
        assert_eq!(
            locate_on(Platform::Xdg, None, false, &env),
            Some(xdg.join("credbulk/config.toml"))
        );
        assert_eq!(
            locate_on(Platform::Xdg, None, true, &env),
            None,
            "--no-config reads nothing"
        );
        let home = dir.path().display().to_string();
        let env = |name: &str| (name == "HOME").then(|| home.clone());
        assert_eq!(
            locate_on(Platform::Xdg, None, false, &env),
            None,
            "absent is fine"
        );
        let env = |name: &str| (name == CONFIG_ENV).then(|| "/x.toml".to_owned());
        assert_eq!(
            locate(Some(Path::new("/y.toml")), false, &env),
            Some(PathBuf::from("/y.toml")),
            "--config wins over CREDBULK_CONFIG"
        );
        assert_eq!(locate(None, false, &env), Some(PathBuf::from("/x.toml")));
    }

    #[test]
    fn windows_reads_the_file_under_appdata() {
        let dir = tempfile::tempdir().unwrap();
        let appdata = dir.path().join("Roaming");
        std::fs::create_dir_all(appdata.join("credbulk")).unwrap();
        std::fs::write(appdata.join("credbulk").join("config.toml"), "").unwrap();
        let appdata_str = appdata.display().to_string();
        let env = |name: &str| (name == "APPDATA").then(|| appdata_str.clone());
        assert_eq!(
            locate_on(Platform::Windows, None, false, &env),
            Some(appdata.join("credbulk").join("config.toml"))
        );
    }

    #[test]
    fn macos_prefers_application_support_and_accepts_the_xdg_path() {
        let home = tempfile::tempdir().unwrap();
        let support = home.path().join("Library/Application Support/credbulk");
        let dot_config = home.path().join(".config/credbulk");
        std::fs::create_dir_all(&dot_config).unwrap();
        std::fs::write(dot_config.join("config.toml"), "").unwrap();
        let home_str = home.path().display().to_string();
        let env = |name: &str| (name == "HOME").then(|| home_str.clone());
        assert_eq!(
            locate_on(Platform::MacOs, None, false, &env),
            Some(dot_config.join("config.toml")),
            "the XDG path is read when Application Support has none"
        );
        std::fs::create_dir_all(&support).unwrap();
        std::fs::write(support.join("config.toml"), "").unwrap();
        assert_eq!(
            locate_on(Platform::MacOs, None, false, &env),
            Some(support.join("config.toml"))
        );
    }

    #[test]
    fn relative_paths_in_the_file_are_taken_from_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "client-secret-file = \"secret\"\nca-cert = \"/abs/ca.pem\"\n",
        )
        .unwrap();
        let s = load(&path).unwrap();
        assert_eq!(s.client_secret_file, Some(dir.path().join("secret")));
        assert_eq!(s.ca_cert, Some(PathBuf::from("/abs/ca.pem")));
    }
}
