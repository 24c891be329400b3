//! Shell integration: completion scripts (`clap_complete`) and the man pages (`clap_mangen`),
//! generated from the same clap definition as `--help`, so they never drift from the flags. A
//! man page exists for `credbulk` and for each command (`credbulk man enable` is
//! `credbulk-enable(1)`, which the top page's COMMANDS section refers to); each ends with the
//! reference sections of `manual`: EXIT STATUS, OUTCOMES, ENVIRONMENT and FILES.

use std::fmt::Write as _;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::Error;
use crate::manual::{self, Page};
use crate::model::OutcomeKind;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The completion script for `shell`.
#[must_use]
pub fn completions(shell: Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "credbulk", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The commands that have a man page of their own, in `--help` order.
#[must_use]
pub fn man_commands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
        .map(|c| c.get_name().to_owned())
        .collect()
}

/// The man page of `credbulk` (`None`) or of one of its commands, in roff.
pub fn man_page(command: Option<&str>) -> Result<String, Error> {
    let mut top = Cli::command();
    // Building gives each command its display name (`credbulk-enable`) and the global flags.
    top.build();
    let (cmd, page) = match command {
        // `credbulk help` has no page of its own: the top page must not refer to one.
        None => (top.mut_subcommand("help", |c| c.hide(true)), Page::Top),
        Some(name) => {
            let Some(sub) = top.find_subcommand(name).filter(|c| c.get_name() != "help") else {
                return Err(Error::usage(
                    format!("no man page for {name:?}"),
                    format!(
                        "run credbulk man, or credbulk man COMMAND with one of: {}",
                        man_commands().join(", ")
                    ),
                ));
            };
            (sub.clone(), page_of(name))
        }
    };
    render(cmd, page).map_err(|e| {
        Error::usage(
            format!("cannot render the man page ({e})"),
            "report this as a bug",
        )
    })
}

/// Which reference sections a command's page carries.
fn page_of(command: &str) -> Page {
    match command {
        "enable" | "disable" => Page::Run,
        "check" => Page::Check,
        _ => Page::Other,
    }
}

fn render(cmd: clap::Command, page: Page) -> std::io::Result<String> {
    let has_subcommands = cmd.has_subcommands();
    // Commands carry no version of their own: every page names the program's.
    let man = clap_mangen::Man::new(cmd)
        .source(format!("credbulk {VERSION}"))
        .manual("credbulk manual");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if has_subcommands {
        man.render_subcommands_section(&mut out)?;
    }
    let mut roff = String::from_utf8_lossy(&out).into_owned();
    reference_sections(&mut roff, page);
    section(&mut roff, "VERSION");
    paragraph(&mut roff, &format!("v{VERSION}"));
    Ok(roff)
}

/// Appends EXIT STATUS, OUTCOMES (pages of runs), ENVIRONMENT, FILES and SEE ALSO.
fn reference_sections(roff: &mut String, page: Page) {
    section(roff, "EXIT STATUS");
    for (code, meaning) in manual::exit_codes(page) {
        item(roff, &code.to_string(), meaning);
    }
    if matches!(page, Page::Top | Page::Run) {
        section(roff, "OUTCOMES");
        paragraph(
            roff,
            "Every input record gets exactly one report row; its outcome is one of these. Settled failures are skipped by --resume; the others are retried by it.",
        );
        for kind in OutcomeKind::ALL {
            item(roff, kind.as_str(), manual::outcome_meaning(kind));
        }
    }
    section(roff, "ENVIRONMENT");
    for (name, meaning) in manual::environment(page) {
        item(roff, name, meaning);
    }
    if page != Page::Other {
        section(roff, "FILES");
        item(roff, "config.toml", manual::CONFIG_FILE);
        if page != Page::Check {
            for (name, meaning) in manual::RUN_FILES {
                item(roff, name, meaning);
            }
        }
    }
    section(roff, "SEE ALSO");
    let pages: Vec<String> = std::iter::once("credbulk(1)".to_owned())
        .chain(man_commands().iter().map(|c| format!("credbulk-{c}(1)")))
        .collect();
    paragraph(roff, &pages.join(", "));
}

fn section(roff: &mut String, title: &str) {
    let _ = writeln!(roff, ".SH \"{title}\"");
}

/// A tagged paragraph: the tag in bold, its meaning indented below it.
fn item(roff: &mut String, tag: &str, text: &str) {
    let _ = write!(roff, ".TP\n\\fB{}\\fR\n{}\n", escape(tag), escape(text));
}

fn paragraph(roff: &mut String, text: &str) {
    let _ = write!(roff, ".PP\n{}\n", escape(text));
}

/// Escapes text for roff: backslashes, dashes (so they copy as ASCII `-`), and a leading `.`
/// or `'`, which would make the line a request.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with(['.', '\'']) {
        format!("\\&{text}")
    } else {
        text
    }
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
    fn every_command_has_a_page_with_the_reference_sections() {
        let mut pages = vec![(None, Page::Top)];
        pages.extend(man_commands().into_iter().map(|c| {
            let page = page_of(&c);
            (Some(c), page)
        }));
        assert!(pages.len() >= 8, "{pages:?}");
        for (command, page) in pages {
            let roff = man_page(command.as_deref()).unwrap();
            let title = command
                .as_deref()
                .map_or("credbulk".to_owned(), |c| format!("credbulk-{c}"));
            assert!(
                roff.contains(&format!("\n.TH {title} 1 ")),
                "{}",
                &roff[..80]
            );
            for wanted in ["NAME", "SYNOPSIS", "EXIT STATUS", "ENVIRONMENT", "SEE ALSO"] {
                assert!(
                    roff.contains(&format!(".SH \"{wanted}\""))
                        || roff.contains(&format!(".SH {wanted}")),
                    "{command:?}: {wanted}"
                );
            }
            let runs = matches!(page, Page::Top | Page::Run);
            assert_eq!(roff.contains(".SH \"OUTCOMES\""), runs, "{command:?}");
            assert_eq!(
                roff.contains(".SH \"FILES\""),
                page != Page::Other,
                "{command:?}"
            );
            if runs {
                assert!(roff.contains("already\\_enabled") || roff.contains("already_enabled"));
                assert!(roff.contains("\\fB130\\fR"), "{command:?}");
            }
        }
    }

    #[test]
    fn an_unknown_page_is_a_usage_error_listing_the_pages() {
        let err = man_page(Some("enabel")).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::USAGE);
        assert!(err.to_string().contains("enable, disable"), "{err}");
    }

    #[test]
    fn roff_escaping_neutralises_requests_and_backslashes() {
        assert_eq!(escape(".SH x"), "\\&.SH x");
        assert_eq!(escape("a\\b --c"), "a\\eb \\-\\-c");
    }
}
