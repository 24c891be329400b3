//! `--keep-columns`: the input's own columns in every report row, through the real binary
//! against the simulator. CSV and JSONL reports, text, workbook and stdin inputs, the errors
//! for columns that are not there, resume (same columns, other columns refused with the flag
//! that continues), and a rollback from a report with kept columns.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Output, Stdio};

use common::{BlockingSim, binary};
use credbulk::sim::{Credentials, SimConfig};

fn sim() -> BlockingSim {
    BlockingSim::start(SimConfig {
        credentials: Credentials::generate(50),
        ..SimConfig::default()
    })
}

/// Runs `credbulk ARGS --rate 500 --no-progress --no-config` against `sim`.
fn run(sim: &BlockingSim, args: &[&str]) -> Output {
    binary(&sim.handle().url())
        .args(args)
        .args(["--rate", "500", "--no-progress", "--no-config"])
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The report's rows as cells (header first), read with the csv crate.
fn csv_cells(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// `(line, outcome, kept cells)` of every row, by line.
fn kept_by_line(path: &Path) -> Vec<(String, String, Vec<String>)> {
    let mut rows: Vec<_> = csv_cells(path)
        .into_iter()
        .skip(1)
        .map(|r| (r[0].clone(), r[2].clone(), r[10..].to_vec()))
        .collect();
    rows.sort_by_key(|r| r.0.parse::<u64>().unwrap());
    rows
}

fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

const EXPORT: &str = "Username;Device;Credential ID\n\
                      ana;web01;1\n\
                      =cmd|'/c calc'!A1;db01;2\n\
                      bob;web02;1\n\
                      zed;x;abc\n";

#[test]
fn every_row_carries_its_own_lines_cells_formula_safe_after_the_fixed_columns() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    std::fs::write(&input, EXPORT).unwrap();
    let report = dir.path().join("r.csv");
    let out = run(
        &sim,
        &[
            "enable",
            input.to_str().unwrap(),
            "--id-column",
            "credential id",
            "--keep-columns",
            "username, DEVICE",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let header = &csv_cells(&report)[0];
    assert_eq!(header.len(), 12);
    assert_eq!(
        header[10..],
        strings(&["Username", "Device"]),
        "named as in the input"
    );
    assert_eq!(
        kept_by_line(&report),
        vec![
            ("2".into(), "enabled".into(), strings(&["ana", "web01"])),
            (
                "3".into(),
                "enabled".into(),
                strings(&["'=cmd|'/c calc'!A1", "db01"])
            ),
            // A repeat carries the cells of its own line, not those of the first.
            ("4".into(), "duplicate".into(), strings(&["bob", "web02"])),
            ("5".into(), "invalid_input".into(), strings(&["zed", "x"])),
        ]
    );
    assert!(
        stderr(&out).contains("kept_columns"),
        "the choice is logged: {}",
        stderr(&out)
    );
}

#[test]
fn jsonl_rows_carry_one_kept_object_and_the_id_column_may_be_kept_too() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    std::fs::write(&input, "Id,Username\n 0042 ,ana\n").unwrap();
    let report = dir.path().join("r.jsonl");
    let out = run(
        &sim,
        &[
            "enable",
            input.to_str().unwrap(),
            "--keep-columns",
            "Username,1",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&report).unwrap();
    let row: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(row["id"], "42");
    assert_eq!(
        row["kept"],
        serde_json::json!({"Username": "ana", "Id": "0042"}),
        "the id cell as the input wrote it"
    );
    assert!(
        text.find("\"Username\"") < text.find("\"Id\":\"0042\""),
        "in the order asked: {text}"
    );
}

#[test]
fn a_workbook_and_stdin_keep_their_columns_too() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "Host").unwrap();
    sheet.write_string(0, 1, "ID").unwrap();
    sheet.write_string(1, 0, "web01").unwrap();
    sheet.write_number(1, 1, 7).unwrap();
    let input = dir.path().join("book.xlsx");
    std::fs::write(&input, book.save_to_buffer().unwrap()).unwrap();
    let report = dir.path().join("book.csv");
    let out = run(
        &sim,
        &[
            "enable",
            input.to_str().unwrap(),
            "--keep-columns",
            "host",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        kept_by_line(&report),
        vec![("2".into(), "enabled".into(), strings(&["web01"]))]
    );

    let report = dir.path().join("stdin.csv");
    let mut child = binary(&sim.handle().url())
        .args(["enable", "-", "--no-header", "--keep-columns", "2"])
        .args(["--report", report.to_str().unwrap()])
        .args(["--rate", "500", "--no-progress", "--no-config"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"8;db01\n9;db02\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        csv_cells(&report)[0][10],
        "column 2",
        "no header: named by position"
    );
    assert_eq!(
        kept_by_line(&report),
        vec![
            ("1".into(), "enabled".into(), strings(&["db01"])),
            ("2".into(), "enabled".into(), strings(&["db02"])),
        ]
    );
}

#[test]
fn columns_that_are_not_there_are_one_line_errors_with_hints_and_nothing_is_sent() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    std::fs::write(&input, EXPORT).unwrap();
    let headerless = dir.path().join("ids.csv");
    std::fs::write(&headerless, "1;web01\n2;db01\n").unwrap();
    let cases: [(&Path, &[&str], &str, &str); 4] = [
        (
            &input,
            &["--id-column", "Credential ID", "--keep-columns", "Usernme"],
            "has no column \"Usernme\" for --keep-columns; columns found: \"Username\", \"Device\", \"Credential ID\"",
            "hint: pass --keep-columns with names from those",
        ),
        (
            &input,
            &["--id-column", "Credential ID", "--keep-columns", "4"],
            "has 3 column(s) on line 1; --keep-columns 4 is past the last one",
            "hint: give column numbers from 1 to 3",
        ),
        (
            &headerless,
            &["--no-header", "--keep-columns", "Device"],
            "--keep-columns \"Device\" is a header name, but line 1 is data",
            "hint: give the columns' numbers instead",
        ),
        (
            &input,
            &[
                "--id-column",
                "Credential ID",
                "--keep-columns",
                "Username,,Device",
            ],
            "has an empty column between its commas",
            "hint: give header names or column numbers",
        ),
    ];
    for (file, flags, message, hint) in cases {
        let mut args = vec!["enable", file.to_str().unwrap()];
        args.extend(flags);
        let out = run(&sim, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(message), "{flags:?}: {err}");
        assert!(err.contains(hint), "{flags:?}: {err}");
        assert_eq!(err.lines().count(), 2, "one line and its hint: {err}");
    }
    assert_eq!(sim.handle().stats().api_requests, 0);
    assert!(!dir.path().join("export.enable.report.csv").exists());
    // The hint's way works: the header's own names, or numbers on a headerless file.
    let out = run(
        &sim,
        &[
            "enable",
            headerless.to_str().unwrap(),
            "--no-header",
            "--keep-columns",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn resume_takes_the_same_columns_and_refuses_others_with_the_flag_that_continues() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    std::fs::write(&input, "Username;Device;ID\nana;web01;1\nbob;web02;2\n").unwrap();
    let input_arg = input.to_str().unwrap();
    let report = dir.path().join("export.enable.report.csv");
    let first = run(
        &sim,
        &["enable", input_arg, "--keep-columns", "Username,Device"],
    );
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    // The export grows; the operator resumes.
    std::fs::write(
        &input,
        "Username;Device;ID\nana;web01;1\nbob;web02;2\ncid;db01;3\n",
    )
    .unwrap();
    let before = std::fs::read(&report).unwrap();
    for flags in [&["--keep-columns", "Device"][..], &[][..]] {
        let mut args = vec!["enable", input_arg, "--resume"];
        args.extend(flags);
        let out = run(&sim, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(
            err.contains("keeps \"Username\", \"Device\" from the input, but this run keeps"),
            "{err}"
        );
        assert!(
            err.contains("hint: resume it with the columns its first run kept: --keep-columns Username,Device"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&report).unwrap(),
            before,
            "the report is untouched"
        );
    }
    // A dry run refuses it the same way.
    let out = run(
        &sim,
        &[
            "enable",
            input_arg,
            "--resume",
            "--dry-run",
            "--keep-columns",
            "Device",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--keep-columns Username,Device"),
        "{}",
        stderr(&out)
    );
    // The hint, as given.
    let out = run(
        &sim,
        &[
            "enable",
            input_arg,
            "--resume",
            "--keep-columns",
            "Username,Device",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        kept_by_line(&report),
        vec![
            ("2".into(), "enabled".into(), strings(&["ana", "web01"])),
            ("3".into(), "enabled".into(), strings(&["bob", "web02"])),
            ("4".into(), "enabled".into(), strings(&["cid", "db01"])),
        ]
    );
    assert_eq!(sim.handle().stats().api_requests, 3, "each id sent once");

    // A report without kept columns refuses a resume that asks for some.
    let plain = dir.path().join("plain.csv");
    let out = run(
        &sim,
        &["enable", input_arg, "--report", plain.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(
        &sim,
        &[
            "enable",
            input_arg,
            "--report",
            plain.to_str().unwrap(),
            "--resume",
            "--keep-columns",
            "Username",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("keeps no input columns"), "{err}");
    assert!(err.contains("resume it without --keep-columns"), "{err}");
}

#[test]
fn a_report_with_kept_columns_is_rolled_back_and_the_render_shows_it() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    std::fs::write(&input, "Username,ID\nana,1\n\"=evil()\",2\nbob,99\n").unwrap();
    let report = dir.path().join("export.enable.report.csv");
    let out = run(
        &sim,
        &[
            "enable",
            input.to_str().unwrap(),
            "--keep-columns",
            "Username",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "99 does not exist: {}",
        stderr(&out)
    );
    let out = run(
        &sim,
        &["disable", "--from-report", report.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.handle().stats();
    assert_eq!(
        stats.deactivations.keys().copied().collect::<Vec<_>>(),
        vec![1, 2]
    );

    let page = binary(&sim.handle().url())
        .args(["report", report.to_str().unwrap(), "--format", "md"])
        .output()
        .unwrap();
    assert_eq!(page.status.code(), Some(0), "{}", stderr(&page));
    let page = String::from_utf8(page.stdout).unwrap();
    assert!(
        page.contains("| run | Username |") && page.contains("| bob |"),
        "the failed row shows whose it is: {page}"
    );
    let html = binary(&sim.handle().url())
        .args(["report", report.to_str().unwrap(), "--format", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(
        html.contains("<th>Username</th>") && html.contains("<td>bob</td>"),
        "{html}"
    );
}

#[test]
fn a_header_broken_across_lines_resumes_with_the_flag_first_given_or_the_one_the_hint_gives() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    let input_arg = input.to_str().unwrap();
    for name in ["r.csv", "r.jsonl"] {
        let report = dir.path().join(name);
        let report_arg = report.to_str().unwrap();
        std::fs::write(&input, "ID,\"User\nname\"\n1,ana\n").unwrap();
        let out = run(
            &sim,
            &[
                "enable",
                input_arg,
                "--report",
                report_arg,
                "--keep-columns",
                "2",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        // The flag the first run was given, then the name the report's header shows.
        for (keep, more) in [("2", "2,bob\n"), ("User name", "2,bob\n3,cid\n")] {
            std::fs::write(&input, format!("ID,\"User\nname\"\n1,ana\n{more}")).unwrap();
            let out = run(
                &sim,
                &[
                    "enable",
                    input_arg,
                    "--report",
                    report_arg,
                    "--resume",
                    "--keep-columns",
                    keep,
                ],
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} {keep}: {}",
                stderr(&out)
            );
        }
        let text = std::fs::read_to_string(&report).unwrap();
        for cell in ["ana", "bob", "cid"] {
            let rows = text.lines().filter(|l| l.contains(cell)).count();
            assert_eq!(rows, 1, "{name}: {text}");
        }
        assert!(text.contains("User name"), "{text}");
    }
}

#[test]
fn a_resumed_export_whose_header_changed_case_keeps_the_reports_names() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    let input_arg = input.to_str().unwrap();
    for name in ["r.csv", "r.jsonl"] {
        let report = dir.path().join(name);
        let report_arg = report.to_str().unwrap();
        std::fs::write(&input, "ID;Username\n1;ana\n").unwrap();
        let args = |extra: &[&'static str]| {
            let mut a = vec!["enable", input_arg, "--report", report_arg];
            a.extend(["--keep-columns", "username"]);
            a.extend(extra);
            a
        };
        let out = run(&sim, &args(&[]));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        // A later export of the same columns spells the header in capitals.
        std::fs::write(&input, "ID;USERNAME\n1;ana\n2;bob\n").unwrap();
        let out = run(&sim, &args(&["--resume"]));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        // And the report reads back whole for the next resume.
        std::fs::write(&input, "ID;USERNAME\n1;ana\n2;bob\n3;cid\n").unwrap();
        let out = run(&sim, &args(&["--resume"]));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let text = std::fs::read_to_string(&report).unwrap();
        assert!(!text.contains("USERNAME"), "one spelling per file: {text}");
        assert_eq!(
            text.matches("Username").count(),
            if name.ends_with("csv") { 1 } else { 3 },
            "{text}"
        );
    }
}
