//! The files operators actually have, against the simulator: UTF-8 with and without BOM,
//! UTF-16 LE/BE with BOM, Windows-1252, `--encoding`, Excel's `sep=` line, workbooks (.xlsx,
//! .ods, .xls generated here, never checked in), files that are neither CSV nor workbook, an
//! empty input and a header-only one, and `-` on a terminal.

mod common;

use std::fmt::Write as _;
use std::io::{Cursor, Write};
use std::path::Path;

use common::{Harness, exit_code, rows};
use credbulk::sim::{Credentials, SimConfig};

async fn harness() -> Harness {
    Harness::start(SimConfig {
        credentials: Credentials::generate(100),
        ..SimConfig::default()
    })
    .await
}

/// `(line, id, outcome)` of every report row, sorted by line.
fn report(path: &Path) -> Vec<(u64, String, String)> {
    let mut rows: Vec<_> = rows(path)
        .into_iter()
        .map(|r| (r.line, r.id, r.outcome))
        .collect();
    rows.sort();
    rows
}

fn row(line: u64, id: &str, outcome: &str) -> (u64, String, String) {
    (line, id.to_owned(), outcome.to_owned())
}

/// Text encoded as UTF-16 with its BOM.
fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut out = if little_endian {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for unit in text.encode_utf16() {
        let bytes = if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        };
        out.extend(bytes);
    }
    out
}

/// The activated ids, in order.
fn activated(h: &Harness) -> Vec<u64> {
    h.sim.stats().activations.keys().copied().collect()
}

#[tokio::test]
async fn utf16_with_bom_and_windows_1252_headers_are_read_by_name() {
    let h = harness().await;
    // Excel's "Unicode text": UTF-16 LE with BOM, tab-separated, CRLF.
    let le = h.file(
        "le.txt",
        utf16("Nome\tCódigo\r\nweb\t1\r\n\r\nweb\t2\r\n", true),
    );
    let result = h
        .run("enable", &le, &["--rate", "500", "--id-column", "código"])
        .await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
    assert_eq!(
        report(&h.dir.path().join("le.enable.report.csv")),
        vec![row(2, "1", "enabled"), row(4, "2", "enabled")]
    );

    let be = h.file("be.csv", utf16("ID;x\n3;y\n", false));
    assert_eq!(
        exit_code(&h.run("enable", &be, &["--rate", "500"]).await),
        0
    );

    // A pt-BR export in Windows-1252: "Código" is not valid UTF-8.
    let latin = h.file("latin.csv", b"Host;C\xf3digo\nweb;4\nweb;5\n");
    let result = h
        .run(
            "enable",
            &latin,
            &["--rate", "500", "--id-column", "CÓDIGO"],
        )
        .await;
    assert_eq!(exit_code(&result), 0, "{result:?}");

    // UTF-8 with and without BOM.
    let bom = h.file("bom.csv", "\u{feff}Código\n6\n");
    assert_eq!(
        exit_code(
            &h.run("enable", &bom, &["--rate", "500", "--id-column", "CÓDIGO"])
                .await
        ),
        0
    );
    let plain = h.file("plain.csv", "Código\n7\n");
    assert_eq!(
        exit_code(
            &h.run(
                "enable",
                &plain,
                &["--rate", "500", "--id-column", "CÓDIGO"]
            )
            .await
        ),
        0
    );
    assert_eq!(activated(&h), vec![1, 2, 3, 4, 5, 6, 7]);
}

#[tokio::test]
async fn encoding_forces_a_reading_even_without_a_bom() {
    let h = harness().await;
    let mut bytes = Vec::new();
    for unit in "id\n8\n".encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    let input = h.file("nobom.csv", bytes);
    let err = h
        .run("enable", &input, &["--rate", "500"])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("not a CSV or a workbook") && text.contains("--encoding utf-16le"),
        "{text}"
    );
    assert_eq!(err.exit_code(), 2);
    let result = h
        .run(
            "enable",
            &input,
            &["--rate", "500", "--encoding", "utf-16le"],
        )
        .await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
    // Forcing Windows-1252 on UTF-8 text reads "Ã³" for "ó": the header no longer matches.
    let utf8 = h.file("utf8.csv", "Código\n9\n");
    let err = h
        .run(
            "enable",
            &utf8,
            &[
                "--rate",
                "500",
                "--id-column",
                "código",
                "--encoding",
                "windows-1252",
            ],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CÃ³digo"), "{err}");
    assert_eq!(activated(&h), vec![8]);
}

#[tokio::test]
async fn an_excel_sep_line_sets_the_delimiter_and_counts_as_a_line() {
    let h = harness().await;
    let input = h.file("sep.csv", "sep=;\r\nhost;id\r\nweb,1;10\r\nweb,2;11\r\n");
    let result = h.run("enable", &input, &["--rate", "500"]).await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
    assert_eq!(
        report(&h.dir.path().join("sep.enable.report.csv")),
        vec![row(3, "10", "enabled"), row(4, "11", "enabled")]
    );
}

#[tokio::test]
async fn an_xlsx_workbook_is_read_by_sheet_with_sheet_row_numbers() {
    let h = harness().await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let first = book.add_worksheet();
    first.set_name("Other").unwrap();
    first.write_string(0, 0, "nothing here").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("Ids").unwrap();
    sheet.write_string(1, 1, "Host").unwrap();
    sheet.write_string(1, 2, "Código").unwrap();
    sheet.write_string(2, 1, "web").unwrap();
    sheet.write_number(2, 2, 21.0).unwrap();
    sheet.write_number(3, 2, 22.5).unwrap();
    sheet.write_string(5, 2, "23").unwrap();
    sheet.write_boolean(6, 2, true).unwrap();
    sheet.write_number(7, 2, 21).unwrap();
    let input = h.file("book.xlsx", book.save_to_buffer().unwrap());

    let err = h
        .run(
            "enable",
            &input,
            &["--rate", "500", "--id-column", "código"],
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no column \"código\""),
        "the first sheet is read by default: {err}"
    );
    let err = h
        .run("enable", &input, &["--rate", "500", "--sheet", "Nope"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("\"Other\", \"Ids\""), "{err}");
    assert_eq!(err.exit_code(), 2);

    let result = h
        .run(
            "enable",
            &input,
            &["--rate", "500", "--sheet", "ids", "--id-column", "CÓDIGO"],
        )
        .await;
    assert_eq!(exit_code(&result), 1, "{result:?}");
    assert_eq!(
        report(&h.dir.path().join("book.enable.report.csv")),
        vec![
            row(3, "21", "enabled"),
            row(4, "22.5", "invalid_input"),
            row(6, "23", "enabled"),
            row(7, "true", "invalid_input"),
            row(8, "21", "duplicate"),
        ]
    );
    assert_eq!(activated(&h), vec![21, 23]);
}

#[tokio::test]
async fn a_workbook_column_number_is_the_sheet_column_even_when_column_a_is_empty() {
    let h = harness().await;
    // Column A is empty: the ids are in C (column 3), another number in D.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 1, "web01").unwrap();
    sheet.write_number(0, 2, 51).unwrap();
    sheet.write_number(0, 3, 61).unwrap();
    sheet.write_string(1, 1, "web02").unwrap();
    sheet.write_number(1, 2, 52).unwrap();
    sheet.write_number(1, 3, 62).unwrap();
    let input = h.file("offset.xlsx", book.save_to_buffer().unwrap());
    let result = h
        .run(
            "enable",
            &input,
            &["--rate", "500", "--no-header", "--id-column", "3"],
        )
        .await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
    assert_eq!(
        activated(&h),
        vec![51, 52],
        "column C, as the sheet shows it"
    );

    // The hint names sheet columns too, so following it reads column C.
    let input = h.file(
        "offset-c.xls",
        xls(&[(0, 2, Err(53.0)), (0, 3, Ok("x")), (1, 2, Err(54.0))]),
    );
    let err = h
        .run("enable", &input, &["--rate", "500", "--id-column", "Id"])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("--no-header --id-column 3"),
        "{err}"
    );
    let result = h
        .run(
            "enable",
            &input,
            &["--rate", "500", "--no-header", "--id-column", "3"],
        )
        .await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
    assert_eq!(activated(&h), vec![51, 52, 53, 54]);
}

/// A minimal `OpenDocument` spreadsheet: the three members calamine needs.
fn ods(rows: &[&[(&str, Option<f64>)]]) -> Vec<u8> {
    let mut table = String::new();
    for cells in rows {
        table.push_str("<table:table-row>");
        for (text, number) in *cells {
            match number {
                Some(n) => write!(
                    table,
                    "<table:table-cell office:value-type=\"float\" office:value=\"{n}\"><text:p>{text}</text:p></table:table-cell>"
                )
                .unwrap(),
                None => write!(
                    table,
                    "<table:table-cell office:value-type=\"string\"><text:p>{text}</text:p></table:table-cell>"
                )
                .unwrap(),
            }
        }
        table.push_str("</table:table-row>");
    }
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" office:version=\"1.2\">\
<office:body><office:spreadsheet><table:table table:name=\"Ids\">{table}</table:table>\
</office:spreadsheet></office:body></office:document-content>"
    );
    let manifest = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\">\
<manifest:file-entry manifest:full-path=\"/\" manifest:media-type=\"application/vnd.oasis.opendocument.spreadsheet\"/>\
<manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>\
</manifest:manifest>";
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, body) in [
        ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
        ("META-INF/manifest.xml", manifest),
        ("content.xml", content.as_str()),
    ] {
        zip.start_file(name, stored).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A minimal BIFF8 `.xls`: a compound file whose `Workbook` stream holds one sheet of
/// LABEL (text) and NUMBER cells.
fn xls(cells: &[(u16, u16, Result<&str, f64>)]) -> Vec<u8> {
    fn record(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
        out.extend(kind.to_le_bytes());
        out.extend(u16::try_from(body.len()).unwrap().to_le_bytes());
        out.extend(body);
    }
    let bof = |dt: u16| {
        let mut b = vec![0x00, 0x06];
        b.extend(dt.to_le_bytes());
        b.extend([0u8; 12]);
        b
    };
    let name = b"Ids";
    let mut globals = Vec::new();
    record(&mut globals, 0x0809, &bof(0x0005));
    let bound_len = 4 + 4 + 2 + 2 + name.len();
    let eof_len = 4;
    let sheet_at = u32::try_from(globals.len() + bound_len + eof_len).unwrap();
    let mut bound = sheet_at.to_le_bytes().to_vec();
    bound.extend([0, 0, u8::try_from(name.len()).unwrap(), 0]);
    bound.extend(name);
    record(&mut globals, 0x0085, &bound);
    record(&mut globals, 0x000A, &[]);
    assert_eq!(globals.len(), sheet_at as usize);
    record(&mut globals, 0x0809, &bof(0x0010));
    for (r, c, value) in cells {
        let mut body = r.to_le_bytes().to_vec();
        body.extend(c.to_le_bytes());
        body.extend(0u16.to_le_bytes());
        match value {
            Ok(text) => {
                body.extend(u16::try_from(text.len()).unwrap().to_le_bytes());
                body.push(0);
                body.extend(text.as_bytes());
                record(&mut globals, 0x0204, &body);
            }
            Err(number) => {
                body.extend(number.to_le_bytes());
                record(&mut globals, 0x0203, &body);
            }
        }
    }
    record(&mut globals, 0x000A, &[]);
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    file.create_stream("Workbook")
        .unwrap()
        .write_all(&globals)
        .unwrap();
    file.flush().unwrap();
    file.into_inner().into_inner()
}

#[tokio::test]
async fn ods_and_xls_workbooks_follow_the_same_rules() {
    let h = harness().await;
    let input = h.file(
        "book.ods",
        ods(&[
            &[("ID", None)],
            &[("31", Some(31.0))],
            &[("31.5", Some(31.5))],
            &[("32", Some(32.0))],
        ]),
    );
    let result = h.run("enable", &input, &["--rate", "500"]).await;
    assert_eq!(exit_code(&result), 1, "{result:?}");
    assert_eq!(
        report(&h.dir.path().join("book.enable.report.csv")),
        vec![
            row(2, "31", "enabled"),
            row(3, "31.5", "invalid_input"),
            row(4, "32", "enabled")
        ]
    );

    let input = h.file(
        "old.xls",
        xls(&[
            (0, 0, Ok("host")),
            (0, 1, Ok("Id")),
            (1, 1, Err(41.0)),
            (2, 1, Err(-1.0)),
            (3, 1, Ok("42")),
        ]),
    );
    let result = h.run("enable", &input, &["--rate", "500"]).await;
    assert_eq!(exit_code(&result), 1, "{result:?}");
    assert_eq!(
        report(&h.dir.path().join("old.enable.report.csv")),
        vec![
            row(2, "41", "enabled"),
            // The CSV cell is formula-safe: a leading `-` gets a quote (resume reads it back).
            row(3, "'-1", "invalid_input"),
            row(4, "42", "enabled")
        ]
    );
    // The same workbook headerless, by column number.
    let input = h.file("nohead.xls", xls(&[(0, 0, Ok("web")), (0, 1, Err(43.0))]));
    let result = h
        .run(
            "enable",
            &input,
            &["--rate", "500", "--no-header", "--id-column", "2"],
        )
        .await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
    assert_eq!(activated(&h), vec![31, 32, 41, 42, 43]);
}

#[tokio::test]
async fn a_zip_or_a_pdf_is_not_a_csv_or_a_workbook() {
    let h = harness().await;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("notes.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"id\n1\n").unwrap();
    let zip = zip.finish().unwrap().into_inner();
    for (name, bytes) in [
        ("archive.xlsx", zip),
        ("doc.csv", b"%PDF-1.7\n1 0 obj\n".to_vec()),
        (
            "ole.xls",
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1garbage".to_vec(),
        ),
    ] {
        let input = h.file(name, bytes);
        let err = h
            .run("enable", &input, &["--rate", "500"])
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 2, "{name}");
        let text = err.to_string();
        assert!(
            text.contains("not a CSV or a workbook") && text.contains("hint:"),
            "{name}: {text}"
        );
    }
    assert_eq!(
        h.sim.stats().total_requests,
        0,
        "nothing is sent, not even a token request"
    );
}

#[tokio::test]
async fn an_empty_input_and_a_header_only_input_end_the_same_way() {
    let h = harness().await;
    for (name, text) in [
        ("empty.csv", ""),
        ("blank.csv", "\n;;\n  \n"),
        ("header.csv", "id;host\n"),
        ("header-blank.csv", "\u{feff}sep=;\nid;host\n\n;\n"),
    ] {
        let input = h.file(name, text);
        let err = h
            .run("enable", &input, &["--rate", "500"])
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 2, "{name}");
        let message = err.to_string();
        assert!(
            message.contains("is empty") && message.contains("no ids to process"),
            "{name}: {message}"
        );
        let report = h
            .dir
            .path()
            .join(name.replace(".csv", ".enable.report.csv"));
        assert!(!report.exists(), "{name}: no report");
    }
    assert_eq!(h.sim.stats().total_requests, 0);
}

/// A pseudo-terminal is POSIX.
#[cfg(unix)]
#[test]
fn stdin_on_a_terminal_is_refused_instead_of_waiting() {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let sim = common::BlockingSim::start(SimConfig::default());
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = common::binary(&sim.handle().url())
        .current_dir(dir.path())
        .args(["disable", "-", "--no-config", "--no-progress"])
        .stdin(terminal)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("stdin is a terminal") && stderr.contains("hint:"),
        "{stderr}"
    );
    // Followed during a rollback, the hint must not turn it into `enable`.
    assert!(!stderr.contains("credbulk enable"), "{stderr}");
    assert_eq!(sim.handle().stats().total_requests, 0);
    drop(master);
}
