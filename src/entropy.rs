//! Whether the operating system can supply random numbers, asked once at start-up before
//! anything draws on them. Hash maps (std's keys, in the log filter), TLS key exchange and the
//! run id all need them, and each would otherwise fail its own way (std and aws-lc panic or
//! abort) somewhere in the middle of a run. Asking first turns a chroot or container without a
//! working `getrandom` system call (or, on older kernels, without `/dev/urandom`) into one error
//! with a hint. Depends on nothing but the error type.

use std::fmt::Display;

use crate::error::Error;

/// Draws a few bytes from the OS the way rand and rustls do (the `getrandom` crate), or says
/// why it cannot.
pub fn check() -> Result<(), Error> {
    let mut probe = [0u8; 16];
    getrandom::fill(&mut probe).map_err(|e| refusal(&e))
}

/// What to do about it. The static build (dist/build.sh) asks the system call only, so there
/// a /dev/urandom would not help and the hint must not suggest one.
const HINT: &str = if cfg!(getrandom_backend = "linux_raw") {
    "this static build of credbulk needs the getrandom system call (Linux 3.17 or later): \
     allow getrandom in a seccomp profile, or run a newer kernel"
} else {
    "credbulk needs the getrandom system call (Linux 3.17 or later) or a readable \
     /dev/random and /dev/urandom: in a chroot create them with `mknod -m 444 dev/random c 1 8` \
     and `mknod -m 444 dev/urandom c 1 9`, and allow getrandom in a seccomp profile"
};

/// The refusal for a source of randomness that failed with `cause`.
fn refusal(cause: &dyn Display) -> Error {
    Error::usage(
        format!("the operating system gives no random numbers ({cause}); nothing was sent"),
        HINT,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit;

    #[test]
    fn this_machine_gives_random_numbers() {
        check().unwrap();
    }

    #[test]
    fn a_failing_source_is_a_usage_error_naming_the_cause_with_a_hint() {
        let cause = std::io::Error::from_raw_os_error(38);
        let error = refusal(&cause);
        assert_eq!(error.exit_code(), exit::USAGE);
        let text = error.to_string();
        let (message, hint) = text.split_once("\n  hint: ").expect("a hint line");
        assert!(!message.contains('\n'), "one line: {message}");
        assert!(message.contains(&cause.to_string()), "{message}");
        assert!(
            hint.contains("getrandom")
                && (cfg!(getrandom_backend = "linux_raw") || hint.contains("/dev/urandom")),
            "{hint}"
        );
    }
}
