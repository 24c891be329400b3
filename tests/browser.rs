//! The rendered HTML report as a real browser sees it: a demo run (the real pipeline against
//! the embedded simulator on loopback), rendered, opened in headless Chromium, and the DOM the
//! browser built checked for the counts and the SVG timeline. Needs Debian's `chromium`
//! (`.ci/run` installs it); without it this test fails and says how to install it.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use clap::Parser;
use common::{exit_code, last_rows};
use credbulk::app::execute;
use credbulk::cli::Cli;

const CHROMIUM: &str = "/usr/bin/chromium";

async fn credbulk(words: &[&str]) -> u8 {
    let cli = Cli::try_parse_from(words).expect("arguments parse");
    exit_code(&execute(cli.command, Arc::default()).await)
}

/// Runs headless Chromium on `page` with a fresh profile and no network chatter; returns what
/// it printed on stdout.
fn chromium(profile: &Path, page: &Path, extra: &[&str]) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install it with `apt-get update && apt-get install -y chromium` (.ci/run does)"
    );
    // coreutils' timeout: a Chromium that hangs fails the test (exit 124) instead of CI.
    let output = Command::new("timeout")
        .args(["--kill-after=10", "180", CHROMIUM])
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed (exit status 124 means it ran past 180 s): {output:?}"
    );
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

#[tokio::test]
async fn a_rendered_demo_run_shows_its_counts_and_timeline_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("demo.report.csv");
    let page = dir.path().join("demo.html");
    let (report_arg, page_arg) = (report.display().to_string(), page.display().to_string());
    let demo = ["credbulk", "demo", "--no-progress", "--report", &report_arg];
    assert_eq!(credbulk(&demo).await, 0);
    let render = [
        "credbulk",
        "report",
        &report_arg,
        "--format",
        "html",
        "-o",
        &page_arg,
    ];
    assert_eq!(credbulk(&render).await, 0);

    let dom = chromium(&dir.path().join("profile"), &page, &["--dump-dom"]);
    let last = last_rows(&report);
    let succeeded = last
        .values()
        .filter(|r| r.outcome == "enabled" || r.outcome == "already_enabled")
        .count();
    let lines = common::rows(&report).len();
    assert!(
        dom.contains(&format!(r#"id="count-records"><b>{lines}</b>"#)),
        "the browser shows {lines} records:\n{dom}"
    );
    assert!(dom.contains(&format!(r#"id="count-succeeded"><b>{succeeded}</b>"#)));
    let not_found = last.values().filter(|r| r.outcome == "not_found").count();
    assert!(dom.contains(&format!(
        r#"<tr id="outcome-not_found"><td>not_found</td><td class="n">{not_found}</td>"#
    )));
    assert!(dom.contains("<svg"), "the timeline is in the DOM");
    assert!(dom.contains("<rect"), "the timeline has bars");
    assert!(dom.contains("1007: Credential not found"));
}
