//! Where each operating system keeps a user's config file, as candidate paths in the order they
//! are tried: `$XDG_CONFIG_HOME/credbulk/config.toml` (else `~/.config/…`) on Linux and the other
//! Unixes, `%APPDATA%\credbulk\config.toml` on Windows, and on macOS
//! `~/Library/Application Support/credbulk/config.toml` (where macOS programs keep theirs)
//! followed by the XDG path (where command-line users of Linux habits put it). Pure: the
//! environment is passed in and nothing is read from disk, so every platform's rule is tested on
//! any platform. Depends on nothing in the crate.

use std::path::PathBuf;

/// The rule a platform follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Linux and the other Unixes: the XDG base directory rule.
    Xdg,
    /// `%APPDATA%` (the roaming profile, which follows the user between machines).
    Windows,
    /// `~/Library/Application Support`, then the XDG rule.
    MacOs,
}

impl Platform {
    /// The rule of the platform this was built for.
    #[must_use]
    pub fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "macos") {
            Self::MacOs
        } else {
            Self::Xdg
        }
    }
}

/// The default config files of `platform`, first choice first. Empty or unset variables are
/// skipped; with none of them set the list is empty (no default file).
#[must_use]
pub fn candidates(platform: Platform, env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let env = |name: &str| {
        env(name)
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from)
    };
    let in_dir = |dir: PathBuf| dir.join("credbulk").join("config.toml");
    let xdg = || {
        env("XDG_CONFIG_HOME")
            .or_else(|| env("HOME").map(|home| home.join(".config")))
            .map(in_dir)
    };
    match platform {
        Platform::Xdg => xdg().into_iter().collect(),
        Platform::Windows => env("APPDATA").map(in_dir).into_iter().collect(),
        Platform::MacOs => env("HOME")
            .map(|home| in_dir(home.join("Library").join("Application Support")))
            .into_iter()
            .chain(xdg())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn path(parts: &[&str]) -> PathBuf {
        parts.iter().collect()
    }

    #[test]
    fn linux_takes_xdg_config_home_else_home_dot_config() {
        let env = env_of(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(
            candidates(Platform::Xdg, &env),
            [path(&["/x", "credbulk", "config.toml"])]
        );
        let env = env_of(&[("XDG_CONFIG_HOME", " "), ("HOME", "/h")]);
        assert_eq!(
            candidates(Platform::Xdg, &env),
            [path(&["/h", ".config", "credbulk", "config.toml"])],
            "an empty XDG_CONFIG_HOME counts as unset"
        );
        assert!(candidates(Platform::Xdg, &env_of(&[])).is_empty());
    }

    #[test]
    fn windows_takes_appdata_and_ignores_the_unix_variables() {
        let env = env_of(&[
            ("APPDATA", r"C:\Users\op\AppData\Roaming"),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(
            candidates(Platform::Windows, &env),
            [path(&[
                r"C:\Users\op\AppData\Roaming",
                "credbulk",
                "config.toml"
            ])]
        );
        let env = env_of(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]);
        assert!(candidates(Platform::Windows, &env).is_empty());
    }

    #[test]
    fn macos_takes_application_support_then_the_xdg_path() {
        let env = env_of(&[("HOME", "/Users/op")]);
        assert_eq!(
            candidates(Platform::MacOs, &env),
            [
                path(&[
                    "/Users/op",
                    "Library",
                    "Application Support",
                    "credbulk",
                    "config.toml"
                ]),
                path(&["/Users/op", ".config", "credbulk", "config.toml"]),
            ]
        );
        let env = env_of(&[("HOME", "/Users/op"), ("XDG_CONFIG_HOME", "/x")]);
        assert_eq!(
            candidates(Platform::MacOs, &env)[1],
            path(&["/x", "credbulk", "config.toml"])
        );
    }

    #[test]
    fn this_build_follows_its_platform() {
        let expected = if cfg!(windows) {
            Platform::Windows
        } else if cfg!(target_os = "macos") {
            Platform::MacOs
        } else {
            Platform::Xdg
        };
        assert_eq!(Platform::current(), expected);
    }
}
