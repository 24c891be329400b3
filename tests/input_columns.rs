//! The real binary against the simulator: which column the ids come from (`--no-header`,
//! `--id-column NAME|N`), checked from the server's side (which ids were touched), and the hints
//! given when the column cannot be found, followed to the letter.

mod common;

use std::path::Path;

use credbulk::sim::{Credentials, SimConfig};

/// A simulator holding disabled credentials `1..=n`.
fn start_sim(n: u64) -> common::BlockingSim {
    common::BlockingSim::start(SimConfig {
        credentials: Credentials::generate(n),
        ..SimConfig::default()
    })
}

/// `credbulk enable INPUT --rate 500 --no-progress EXTRA…` as the real binary.
fn enable(sim: &common::BlockingSim, input: &Path, extra: &[&str]) -> std::process::Output {
    common::binary(&sim.handle().url())
        .args([
            "enable",
            input.to_str().unwrap(),
            "--rate",
            "500",
            "--no-progress",
        ])
        .args(["--no-config"])
        .args(extra)
        .output()
        .expect("the binary runs")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The ids the simulator activated, in order.
fn activated(sim: &common::BlockingSim) -> Vec<u64> {
    sim.handle().stats().activations.keys().copied().collect()
}

#[test]
fn a_column_number_on_a_headerless_file_picks_that_column() {
    let sim = start_sim(60_000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("f.csv");
    std::fs::write(&input, "58001;58101\n58002;58102\n").unwrap();

    let out = enable(&sim, &input, &["--id-column", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        activated(&sim),
        vec![58101, 58102],
        "column 2, not column 1"
    );
    let rows = common::rows(&dir.path().join("f.enable.report.csv"));
    let mut lines: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.id.as_str())).collect();
    lines.sort_unstable();
    assert_eq!(lines, vec![(1, "58101"), (2, "58102")], "line 1 is data");
}

#[test]
fn a_column_name_on_a_headerless_file_is_refused_and_nothing_is_sent() {
    let sim = start_sim(60_000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("f.csv");
    std::fs::write(&input, "58001;58101\n58002;58102\n").unwrap();

    for extra in [
        &["--id-column", "Credential ID"][..],
        &["--id-column", "id"],
        &[],
        &["--no-header", "--id-column", "Credential ID"],
    ] {
        let out = enable(&sim, &input, extra);
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {text}");
        assert!(text.contains("--no-header"), "{extra:?}: {text}");
        assert!(
            text.contains("--id-column 1") || text.contains("--id-column 2"),
            "{extra:?}: {text}"
        );
        assert!(!text.contains("panicked"), "{text}");
    }
    assert_eq!(sim.handle().stats().api_requests, 0, "nothing is sent");
    assert!(!dir.path().join("f.enable.report.csv").exists());
}

#[test]
fn following_the_hint_gives_every_line_a_row() {
    let sim = start_sim(100);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    std::fs::write(&input, "web01;11\nweb02;12\n\nweb03;x\nweb04;14\n").unwrap();

    let out = enable(&sim, &input, &["--id-column", "Credential ID"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let at = text
        .find("--no-header --id-column ")
        .expect("the hint offers the flags");
    let rest = &text[at + "--no-header --id-column ".len()..];
    let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(number, "2", "the column that holds numbers: {text}");
    assert_eq!(sim.handle().stats().api_requests, 0);

    let out = enable(&sim, &input, &["--no-header", "--id-column", &number]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "one invalid line: {}",
        stderr(&out)
    );
    let rows = common::rows(&dir.path().join("export.enable.report.csv"));
    let mut lines: Vec<(u64, String, String)> = rows
        .iter()
        .map(|r| (r.line, r.id.clone(), r.outcome.clone()))
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            (1, "11".into(), "enabled".into()),
            (2, "12".into(), "enabled".into()),
            (4, "x".into(), "invalid_input".into()),
            (5, "14".into(), "enabled".into()),
        ]
    );
    assert_eq!(activated(&sim), vec![11, 12, 14]);
}

#[test]
fn a_header_matches_across_unicode_case_and_spaces_and_the_choice_is_logged() {
    let sim = start_sim(100);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pt.csv");
    std::fs::write(
        &input,
        "Host;  Código  ;Usuário\nweb01;21;root\nweb02;22;admin\n",
    )
    .unwrap();

    let out = enable(&sim, &input, &["--id-column", "CÓDIGO"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(activated(&sim), vec![21, 22]);
    assert!(
        text.contains("Código"),
        "the chosen column is printed: {text}"
    );
    assert!(
        text.contains("delimiter"),
        "the delimiter is printed: {text}"
    );
}

#[test]
fn a_column_number_with_a_header_skips_the_header() {
    let sim = start_sim(100);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("h.csv");
    std::fs::write(&input, "host,cred\nweb01,31\nweb02,32\n").unwrap();

    let out = enable(&sim, &input, &["--id-column", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(activated(&sim), vec![31, 32]);
    let rows = common::rows(&dir.path().join("h.enable.report.csv"));
    assert_eq!(rows.len(), 2, "the header line gets no row");
}
