//! `--report-dialect excel` (UTF-8 byte order mark, `;`, CRLF), through the real binary against
//! the simulator: the bytes written, resume and rollback reading either dialect without the
//! flag, a resumed report appended in the dialect it already has, `credbulk report` reading
//! it, the flag refused for a JSON-lines report, and the config file's `report-dialect`.

mod common;

use std::path::Path;
use std::process::Output;

use common::{BlockingSim, binary};
use credbulk::sim::{Credentials, SimConfig};

fn sim() -> BlockingSim {
    BlockingSim::start(SimConfig {
        credentials: Credentials::generate(20),
        ..SimConfig::default()
    })
}

/// Runs `credbulk ARGS --rate 500 --no-progress` against `sim`.
fn run(sim: &BlockingSim, args: &[&str]) -> Output {
    binary(&sim.handle().url())
        .args(args)
        .args(["--rate", "500", "--no-progress"])
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that every line of `path` is in the excel dialect: a byte order mark before the
/// header, `;` between cells, CRLF after each line. Returns the lines (without their ends).
fn excel_lines(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").expect("a BOM")).unwrap();
    assert!(text.ends_with("\r\n"), "{text:?}");
    let lines: Vec<String> = text
        .strip_suffix("\r\n")
        .unwrap()
        .split("\r\n")
        .map(str::to_owned)
        .collect();
    assert!(
        lines.iter().all(|l| !l.contains('\n')),
        "LF alone: {text:?}"
    );
    assert!(lines[0].starts_with("line;id;outcome;"), "{}", lines[0]);
    for line in &lines[1..] {
        // Ten fixed cells at least: nine separators outside quotes, or more.
        let unquoted: String = line.split('"').step_by(2).collect();
        assert!(unquoted.matches(';').count() >= 9, "{line}");
        assert!(!unquoted.contains(','), "a comma separator: {line}");
    }
    lines
}

#[test]
fn an_excel_report_is_resumed_rendered_and_rolled_back_in_its_own_dialect() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, "id,Device\n1,\"rack 1; slot 2\"\n2,web01\n").unwrap();
    let input = input.to_str().unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    let out = run(
        &sim,
        &[
            "enable",
            input,
            "--report-dialect",
            "excel",
            "--keep-columns",
            "Device",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = excel_lines(&report);
    assert!(lines[0].ends_with(";run_id;Device"), "{}", lines[0]);
    let line_2 = lines.iter().find(|l| l.starts_with("2;1;")).unwrap();
    assert!(
        line_2.ends_with(";\"rack 1; slot 2\""),
        "a ; in a cell is quoted: {line_2}"
    );

    // Resumed without the flag: the file's dialect, never a mix.
    std::fs::write(
        dir.path().join("ids.csv"),
        "id,Device\n1,x\n2,web01\n3,db01\n",
    )
    .unwrap();
    let out = run(
        &sim,
        &["enable", input, "--resume", "--keep-columns", "Device"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(excel_lines(&report).len(), 4);
    // Resumed asking for the other dialect: still the file's, and the log says so.
    std::fs::write(
        dir.path().join("ids.csv"),
        "id,Device\n1,x\n2,web01\n3,db01\n4,db02\n",
    )
    .unwrap();
    let out = run(
        &sim,
        &[
            "enable",
            input,
            "--resume",
            "--keep-columns",
            "Device",
            "--report-dialect",
            "standard",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("the report is written in the excel dialect: rows are appended in it"),
        "{}",
        stderr(&out)
    );
    let lines = excel_lines(&report);
    assert_eq!(lines.len(), 5);
    assert!(lines[4].starts_with("5;4;enabled;"), "{}", lines[4]);
    assert!(lines[4].ends_with(";db02"), "{}", lines[4]);
    assert_eq!(sim.handle().stats().api_requests, 4, "each id once");

    let page = binary(&sim.handle().url())
        .args(["report", report.to_str().unwrap(), "--format", "md"])
        .output()
        .unwrap();
    assert_eq!(page.status.code(), Some(0), "{}", stderr(&page));
    assert!(
        String::from_utf8_lossy(&page.stdout).contains("**4 records: 4 succeeded, 0 failed**"),
        "{}",
        String::from_utf8_lossy(&page.stdout)
    );

    let out = run(
        &sim,
        &["disable", "--from-report", report.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        sim.handle()
            .stats()
            .deactivations
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn a_standard_report_resumed_with_the_excel_flag_stays_standard() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, "id\n1\n").unwrap();
    let input_arg = input.to_str().unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    assert_eq!(run(&sim, &["enable", input_arg]).status.code(), Some(0));
    std::fs::write(&input, "id\n1\n2\n").unwrap();
    let out = run(
        &sim,
        &["enable", input_arg, "--resume", "--report-dialect", "excel"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.starts_with("line,id,outcome,"), "{text}");
    assert!(!text.contains('\r') && !text.contains(';'), "{text:?}");
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn the_flag_is_refused_for_json_lines_and_the_config_file_may_set_it() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, "id\n1\n").unwrap();
    let input = input.to_str().unwrap();
    let jsonl = dir.path().join("r.jsonl");
    let out = run(
        &sim,
        &[
            "enable",
            input,
            "--no-config",
            "--report-dialect",
            "excel",
            "--report",
            jsonl.to_str().unwrap(),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--report-dialect excel is for CSV reports"),
        "{err}"
    );
    assert!(err.contains("hint: drop --report-dialect"), "{err}");
    assert!(!jsonl.exists());

    let config = dir.path().join("config.toml");
    std::fs::write(&config, "report-dialect = \"excel\"\n").unwrap();
    let report = dir.path().join("from-config.csv");
    let out = run(
        &sim,
        &[
            "enable",
            input,
            "--config",
            config.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(excel_lines(&report).len(), 2);
    // The file's standing choice is for CSV: a JSON-lines report still works.
    let out = run(
        &sim,
        &[
            "enable",
            input,
            "--config",
            config.to_str().unwrap(),
            "--report",
            jsonl.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    std::fs::write(&config, "report-dialect = \"lotus\"\n").unwrap();
    let out = run(
        &sim,
        &["enable", input, "--config", config.to_str().unwrap()],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`report-dialect` in") && err.contains("hint: give standard or excel"),
        "{err}"
    );
    assert!(
        err.contains(": \"lotus\" is not a report dialect") && !err.contains("--report-dialect"),
        "the file's key is named, not a flag that was not given: {err}"
    );

    std::fs::write(&config, "keep-columns = \"Username\"\n").unwrap();
    let out = run(
        &sim,
        &["enable", input, "--config", config.to_str().unwrap()],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("key `keep-columns` describes one run"),
        "{err}"
    );
}
