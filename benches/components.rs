//! Criterion benches of credbulk's own per-id work, apart from the network: reading ids from
//! CSV (1M ids per iteration), writing report rows (to a real file, flushed per row as a run
//! does, and encoding alone), and classifying answers. `cargo bench --bench components`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use credbulk::api::classify;
use credbulk::input::{InputItem, InputReader};
use credbulk::model::{Operation, Outcome, OutcomeKind};
use credbulk::report::{ReportFormat, ReportWriter, Row};
use credbulk::wire::{Envelope, code, text};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const INPUT_IDS: u64 = 1_000_000;
const REPORT_ROWS: u64 = 100_000;

/// `id` then `1..=n`.
fn ids_only(n: u64) -> Arc<[u8]> {
    let mut text = String::from("id\n");
    for id in 1..=n {
        text.push_str(&id.to_string());
        text.push('\n');
    }
    text.into_bytes().into()
}

/// An audit export: five columns, `;`-separated, the id third, some cells quoted.
fn audit_export(n: u64) -> Arc<[u8]> {
    let mut text = String::from("Host;User;Credential ID;Last change;Note\n");
    for id in 1..=n {
        let _ = writeln!(
            text,
            "web{};\"svc_{}\";{id};2026-11-26 12:00:00;\"rotated, ok\"",
            id % 97,
            id % 13
        );
    }
    text.into_bytes().into()
}

fn read_all(bytes: &Arc<[u8]>, column: &str) -> u64 {
    let reader = InputReader::from_reader(
        Box::new(Cursor::new(Arc::clone(bytes))),
        "bench".into(),
        column,
    )
    .expect("input opens");
    let mut ids = 0;
    for item in reader {
        if let Ok(InputItem::Id(record, _)) = item {
            ids += black_box(record.id) & 1 | 1;
        }
    }
    ids
}

fn input(c: &mut Criterion) {
    let mut group = c.benchmark_group("input");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(INPUT_IDS));
    let plain = ids_only(INPUT_IDS);
    group.bench_function("1M ids, one column", |b| {
        b.iter(|| assert_eq!(read_all(&plain, "id"), INPUT_IDS));
    });
    let export = audit_export(INPUT_IDS);
    group.bench_function("1M ids, audit export (5 columns, ;)", |b| {
        b.iter(|| assert_eq!(read_all(&export, "credential id"), INPUT_IDS));
    });
    group.finish();
}

fn outcome(id: u64) -> Outcome {
    Outcome {
        line: id + 1,
        id: id.to_string(),
        kind: OutcomeKind::Enabled,
        http_status: Some(200),
        api_code: None,
        message: text::ACTIVATED.to_owned(),
        attempts: 1,
        elapsed: Duration::from_millis(3),
        kept: Box::default(),
    }
}

fn report(c: &mut Criterion) {
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.throughput(Throughput::Elements(REPORT_ROWS));
    let outcomes: Vec<Outcome> = (1..=REPORT_ROWS).map(outcome).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, format, file) in [
        ("100k rows to a CSV file", ReportFormat::Csv, "r.csv"),
        ("100k rows to a JSONL file", ReportFormat::Jsonl, "r.jsonl"),
    ] {
        let path = dir.path().join(file);
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let _ = std::fs::remove_file(&path);
                    ReportWriter::open(
                        &path,
                        format,
                        "enable-20261126T120000Z-abcdef",
                        Operation::Enable,
                        false,
                        &credbulk::report::Columns::default(),
                    )
                    .expect("report opens")
                    .0
                },
                |mut writer| {
                    for o in &outcomes {
                        writer.write(o).expect("row written");
                    }
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.bench_function("100k rows encoded as CSV (no I/O)", |b| {
        let mut buf = Vec::with_capacity(256);
        b.iter(|| {
            for o in &outcomes {
                buf.clear();
                Row::new(o, "2026-11-26T12:00:00.000Z".to_owned(), "run")
                    .write_csv(&mut buf, credbulk::report::Dialect::Standard);
                black_box(&buf);
            }
        });
    });
    group.finish();
}

fn classification(c: &mut Criterion) {
    let json = |e: &Envelope| serde_json::to_vec(e).expect("envelope");
    let kong = |m: &str| {
        format!(r#"{{"message":"{m}","request_id":"0123456789abcdef0123456789abcdef"}}"#)
            .into_bytes()
    };
    let answers: Vec<(&str, u16, Vec<u8>)> = vec![
        (
            "200 activated",
            200,
            json(&Envelope::success(text::ACTIVATED)),
        ),
        (
            "400 1043 already enabled",
            400,
            json(&Envelope::app_error(
                400,
                Some(code::ALREADY_ENABLED),
                text::ALREADY_ENABLED,
            )),
        ),
        (
            "400 1007 not found",
            400,
            json(&Envelope::app_error(
                400,
                Some(code::NOT_FOUND),
                text::NOT_FOUND,
            )),
        ),
        ("503 kong", 503, kong(text::KONG_UNAVAILABLE)),
        (
            "502 html",
            502,
            b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>".to_vec(),
        ),
    ];
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(1));
    for (name, status, body) in &answers {
        group.bench_function(*name, |b| {
            b.iter(|| classify(Operation::Enable, *status, None, black_box(body)));
        });
    }
    group.finish();
}

criterion_group!(benches, input, report, classification);
criterion_main!(benches);
