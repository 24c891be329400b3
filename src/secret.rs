//! A string that must never be printed: the client secret and access tokens.
//! `Debug` and `Display` both print `(redacted)`, so a stray `{:?}` in a log cannot leak it, and
//! every value is registered with [`crate::redact`] when it is wrapped, so that the output sinks
//! scrub it in any encoding even if it reaches them some other way (an echoing server).

use std::fmt;

/// A secret value; read it only with [`Secret::expose`], at the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::redact::register(&value);
        Self(value)
    }

    /// Wraps an issued access token: scrubbed from the output like a secret while it is one of
    /// the newest few (see [`crate::redact::RECENT_TOKENS`]).
    #[must_use]
    pub fn token(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::redact::register_token(&value);
        Self(value)
    }

    /// The value, for the request that must carry it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "(redacted) (redacted)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn a_wrapped_value_is_scrubbed_from_any_output() {
        let _s = Secret::new("Koala-9f3e-secret");
        assert_eq!(
            crate::redact::text("echo: Koala-9f3e-secret"),
            "echo: (redacted)"
        );
    }
}
