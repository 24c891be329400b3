//! The offline docs of the real binary: `credbulk man` and `credbulk man COMMAND` for every
//! command, each with the reference sections, rendered by `man -l` where the machine has it
//! (its warnings are failures), and `--help` ending with the exit codes and variables.

use std::io::Write;
use std::process::{Command as Process, Stdio};

use assert_cmd::Command;
use clap::CommandFactory;

fn credbulk() -> Command {
    let mut cmd = Command::cargo_bin("credbulk").unwrap();
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Every page: the top one and one per command (`help` excepted), from the clap definition.
fn pages() -> Vec<Option<String>> {
    std::iter::once(None)
        .chain(
            credbulk::cli::Cli::command()
                .get_subcommands()
                .map(|c| c.get_name().to_owned())
                .filter(|name| name != "help")
                .map(Some),
        )
        .collect()
}

fn roff_of(page: Option<&str>) -> String {
    let out = credbulk().arg("man").args(page).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// `man -l -` renders roff from stdin; `None` when this machine has no `man`.
fn render_with_man(roff: &str) -> Option<(String, String)> {
    let mut child = Process::new("man")
        .args(["-l", "-"])
        .env("MANWIDTH", "80")
        .env("MAN_KEEP_FORMATTING", "0")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(roff.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "man -l failed: {out:?}");
    Some((
        plain(&String::from_utf8_lossy(&out.stdout)),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Text without the overstrike (`X\bX` bold, `_\bX` underline) that groff uses in a pipe.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn every_command_has_a_man_page_with_exit_status_environment_and_its_reference() {
    let pages = pages();
    assert_eq!(pages.len(), 9, "credbulk and its 8 commands: {pages:?}");
    for page in &pages {
        let roff = roff_of(page.as_deref());
        let name = page
            .as_deref()
            .map_or("credbulk".to_owned(), |c| format!("credbulk-{c}"));
        assert!(
            roff.contains(&format!("\n.TH {name} 1 ")),
            "{page:?}: {}",
            &roff[..80]
        );
        let runs = matches!(page.as_deref(), None | Some("enable" | "disable"));
        let settings = runs || page.as_deref() == Some("check");
        let mut wanted = vec!["NAME", "SYNOPSIS", "EXIT STATUS", "ENVIRONMENT", "SEE ALSO"];
        if runs {
            wanted.push("OUTCOMES");
        }
        if settings {
            wanted.push("FILES");
        }
        for section in wanted {
            assert!(
                roff.contains(&format!(".SH \"{section}\""))
                    || roff.contains(&format!(".SH {section}\n")),
                "{page:?} lacks {section}"
            );
        }
        if let Some((text, warnings)) = render_with_man(&roff) {
            assert!(
                warnings.trim().is_empty(),
                "{page:?}: man warns: {warnings}"
            );
            assert!(text.contains("EXIT STATUS"), "{page:?}:\n{text}");
            if runs {
                for outcome in [
                    "already_enabled",
                    "not_found",
                    "network_error",
                    "misconfigured",
                ] {
                    assert!(text.contains(outcome), "{page:?}: {outcome}");
                }
                assert!(text.contains("130"), "{page:?}");
            }
            if settings {
                assert!(text.contains("SENHASEGURA_CLIENT_SECRET") && text.contains("config.toml"));
            }
        }
    }
}

#[test]
fn the_top_page_refers_only_to_pages_that_exist() {
    let top = roff_of(None);
    let existing: Vec<String> = pages()
        .into_iter()
        .flatten()
        .map(|c| format!("credbulk\\-{c}(1)"))
        .collect();
    let mut referred = 0;
    for word in top.split([' ', '\n', ',']) {
        let word = word.trim_start_matches("\\fR").trim_start_matches("\\fB");
        if word.starts_with("credbulk\\-") && word.ends_with("(1)") {
            referred += 1;
            assert!(existing.iter().any(|e| e == word), "{word} has no page");
        }
    }
    assert!(referred >= 7, "the top page lists the commands' pages");
}

#[test]
fn man_of_an_unknown_command_is_a_usage_error_naming_the_pages() {
    let out = credbulk().args(["man", "enabel"]).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("enabel") && stderr.contains("enable, disable"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn help_ends_with_the_exit_codes_and_the_environment_variables() {
    for args in [&["--help"][..], &["enable", "--help"], &["check", "-h"]] {
        let out = credbulk().args(args).assert().success();
        let help = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        let tail = &help[help
            .find("Exit status:")
            .unwrap_or_else(|| panic!("{args:?}:\n{help}"))..];
        for code in ["  0 ", "  2 ", "  3 "] {
            assert!(tail.contains(code), "{args:?}: {code}");
        }
        let env = &tail[tail
            .find("Environment:")
            .expect("variables after the codes")..];
        for var in [
            "SENHASEGURA_URL",
            "SENHASEGURA_CLIENT_ID",
            "SENHASEGURA_CLIENT_SECRET",
            "CREDBULK_CONFIG",
        ] {
            assert!(env.contains(var), "{args:?}: {var}");
        }
    }
}

#[test]
fn every_code_block_of_the_readme_is_closed_on_a_line_of_its_own() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut open: Option<usize> = None;
    for (n, line) in readme.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        // A fence is ``` plus at most an info word when it opens, nothing when it closes: text
        // after a closing fence keeps the block open and swallows the rest of the README.
        match open {
            None if rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => open = Some(n),
            None => panic!("README line {}: bad opening fence {line:?}", n + 1),
            Some(_) if rest.trim().is_empty() => open = None,
            Some(start) => panic!(
                "README line {}: the block opened on line {} is closed by {line:?}, which has text after it",
                n + 1,
                start + 1
            ),
        }
    }
    assert_eq!(open, None, "a code block is never closed");
}
