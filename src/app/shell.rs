//! Shell integration: completion scripts (`clap_complete`) and the man page (`clap_mangen`), both
//! generated from the same clap definition as `--help`, so they never drift from the flags.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::Error;

/// The completion script for `shell`.
#[must_use]
pub fn completions(shell: Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "credbulk", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page, in roff.
pub fn man_page() -> Result<String, Error> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| {
            Error::usage(
                format!("cannot render the man page ({e})"),
                "report this as a bug",
            )
        })?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_shell_gets_a_non_empty_script_naming_the_commands() {
        for shell in Shell::value_variants() {
            let script = completions(*shell);
            assert!(script.len() > 500, "{shell}: {} bytes", script.len());
            assert!(script.contains("disable"), "{shell} completes the commands");
        }
    }

    #[test]
    fn the_man_page_is_roff_with_the_name_section() {
        let page = man_page().unwrap();
        assert!(
            page.starts_with(".ie") || page.contains(".TH credbulk"),
            "{}",
            &page[..80]
        );
        assert!(page.contains("credbulk"));
    }
}
