//! The layering of settings: a flag wins over the environment, the environment over the config
//! file, the file over the default. Each value taken is recorded with where it came from, so
//! that `check` can show an operator why a setting has the value it has. Knows nothing about
//! what any setting means.

use std::fmt;
use std::path::{Path, PathBuf};

use super::file::FileSettings;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Typed on the command line.
    Flag,
    /// The named environment variable.
    Env(&'static str),
    /// The config file at this path.
    File(PathBuf),
    /// Nobody set it.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => f.write_str("flag"),
            Self::Env(name) => write!(f, "env {name}"),
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Default => f.write_str("default"),
        }
    }
}

/// One effective setting, as `check` shows it. `value` is never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The long flag's name without dashes (the config file key).
    pub key: &'static str,
    pub value: String,
    pub source: Source,
}

/// How a value is shown in `check` (paths and numbers alike).
pub trait Shown {
    fn shown(&self) -> String;
}

impl Shown for String {
    fn shown(&self) -> String {
        self.clone()
    }
}

impl Shown for PathBuf {
    fn shown(&self) -> String {
        self.display().to_string()
    }
}

macro_rules! shown_by_display {
    ($($t:ty),*) => {$(
        impl Shown for $t {
            fn shown(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
shown_by_display!(f64, u32, u64, usize, bool);

impl Shown for crate::cli::RateArg {
    fn shown(&self) -> String {
        match self {
            Self::PerSecond(rate) => rate.to_string(),
            Self::Auto => "auto".to_owned(),
        }
    }
}

/// The layers one command resolves its settings from, and the record of what it took.
pub struct Layers<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    /// The config file read, if any, with its settings.
    file: Option<(PathBuf, FileSettings)>,
    /// Every setting resolved so far, in resolution order.
    pub settings: Vec<Setting>,
}

impl<'a> Layers<'a> {
    /// Layers over `env` and an optional config file that was already read.
    #[must_use]
    pub fn new(
        env: &'a dyn Fn(&str) -> Option<String>,
        file: Option<(PathBuf, FileSettings)>,
    ) -> Self {
        Self {
            env,
            file,
            settings: Vec::new(),
        }
    }

    /// The config file's settings (all `None` when there is no file).
    #[must_use]
    pub fn file(&self) -> Option<&FileSettings> {
        self.file.as_ref().map(|(_, f)| f)
    }

    /// The config file's path, if one was read.
    #[must_use]
    pub fn file_path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(p, _)| p.as_path())
    }

    /// Looks up an environment variable; empty counts as unset.
    #[must_use]
    pub fn env(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.trim().is_empty())
    }

    /// The source to record for a value the config file gave.
    #[must_use]
    pub fn file_source(&self) -> Source {
        self.file_path()
            .map_or(Source::Default, |p| Source::File(p.to_owned()))
    }

    /// Flag, else `env_name`, else the file's value; `None` when none of them set it.
    pub fn pick_text(
        &mut self,
        key: &'static str,
        flag: Option<String>,
        env_name: &'static str,
        file: impl FnOnce(&FileSettings) -> Option<String>,
    ) -> Option<String> {
        let flag = flag.filter(|v| !v.trim().is_empty());
        let (value, source) = if let Some(v) = flag {
            (v, Source::Flag)
        } else if let Some(v) = self.env(env_name) {
            (v, Source::Env(env_name))
        } else if let Some(v) = self.file().and_then(file) {
            (v, self.file_source())
        } else {
            return None;
        };
        self.record(key, value.shown(), source);
        Some(value)
    }

    /// Flag, else the file's value, else `default` (settings without a variable).
    pub fn pick<T: Shown>(
        &mut self,
        key: &'static str,
        flag: Option<T>,
        file: impl FnOnce(&FileSettings) -> Option<T>,
        default: T,
    ) -> T {
        let (value, source) = match flag {
            Some(v) => (v, Source::Flag),
            None => match self.file().and_then(file) {
                Some(v) => (v, self.file_source()),
                None => (default, Source::Default),
            },
        };
        self.record(key, value.shown(), source);
        value
    }

    /// Flag, else the file's value; nothing recorded when neither set it.
    pub fn pick_opt<T: Shown>(
        &mut self,
        key: &'static str,
        flag: Option<T>,
        file: impl FnOnce(&FileSettings) -> Option<T>,
    ) -> Option<T> {
        let (value, source) = match flag {
            Some(v) => (v, Source::Flag),
            None => (self.file().and_then(file)?, self.file_source()),
        };
        self.record(key, value.shown(), source);
        Some(value)
    }

    /// How to name a setting in an error: `--rate` when typed or defaulted, the variable when
    /// the environment set it, `` `rate` in FILE `` when the config file did, so the operator
    /// edits the right place.
    #[must_use]
    pub fn name_of(&self, key: &str) -> String {
        match self.settings.iter().rev().find(|s| s.key == key) {
            Some(Setting {
                source: Source::File(path),
                ..
            }) => format!("`{key}` in {}", path.display()),
            Some(Setting {
                source: Source::Env(name),
                ..
            }) => (*name).to_owned(),
            _ => format!("--{key}"),
        }
    }

    /// Records a setting resolved by hand (the secret, shown redacted).
    pub fn record(&mut self, key: &'static str, value: String, source: Source) {
        self.settings.push(Setting { key, value, source });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::RateArg;

    fn file(rate: f64) -> (PathBuf, FileSettings) {
        (
            PathBuf::from("/etc/credbulk.toml"),
            FileSettings {
                rate: Some(crate::cli::RateArg::PerSecond(rate)),
                url: Some("https://from-file".into()),
                ..FileSettings::default()
            },
        )
    }

    #[test]
    fn a_flag_wins_over_the_environment_which_wins_over_the_file() {
        let env = |name: &str| (name == "URL_VAR").then(|| "https://from-env".to_owned());
        let mut layers = Layers::new(&env, Some(file(2.0)));
        let flagged = layers.pick_text("url", Some("https://flag".into()), "URL_VAR", |f| {
            f.url.clone()
        });
        assert_eq!(flagged.as_deref(), Some("https://flag"));
        let from_env = layers.pick_text("url", None, "URL_VAR", |f| f.url.clone());
        assert_eq!(from_env.as_deref(), Some("https://from-env"));
        let from_file = layers.pick_text("url", None, "OTHER", |f| f.url.clone());
        assert_eq!(from_file.as_deref(), Some("https://from-file"));
        let sources: Vec<String> = layers
            .settings
            .iter()
            .map(|s| s.source.to_string())
            .collect();
        assert_eq!(sources, ["flag", "env URL_VAR", "file /etc/credbulk.toml"]);
    }

    #[test]
    fn the_file_wins_over_the_default_and_the_default_fills_the_rest() {
        let env = |_: &str| None;
        let mut layers = Layers::new(&env, Some(file(2.5)));
        assert_eq!(
            layers.pick("rate", None, |f| f.rate, RateArg::PerSecond(10.0)),
            RateArg::PerSecond(2.5)
        );
        assert_eq!(layers.pick("burst", None, |f| f.burst, 1), 1);
        assert_eq!(layers.pick("burst", Some(3), |f| f.burst, 1), 3);
        assert_eq!(layers.settings[1].source, Source::Default);
        assert_eq!(
            layers.pick_opt::<PathBuf>("ca-cert", None, |f| f.ca_cert.clone()),
            None
        );
        assert_eq!(layers.settings.len(), 3, "an unset optional is not listed");
    }
}
