//! The files `lbsim run` writes: charts decode, have the stated size and show the data;
//! CSV files parse with the documented columns and consistent contents; JSON parses;
//! every file but the manifest is byte-identical from run to run.

use std::collections::HashMap;

use lbsim::report::charts::{HEIGHT, WIDTH, style};
use lbsim::report::run::EXPORTERS;
use lbsim::report::{self, Exporter, Report};
use lbsim::run::{self, RunOptions};
use lbsim::scenario::Scenario;

fn scenario(strategies: &str, servers: u32, requests: u64, replications: u32) -> Scenario {
    let top = format!(
        "name = \"test\"\nseed = 7\nrequests = {requests}\nreplications = {replications}\nstrategies = [{strategies}]"
    );
    crate::common::scenario(&crate::common::mm_pool(&top, 85.0 * f64::from(servers), "s", servers, ""))
}

/// The leading columns of summary.csv: a contract with users' scripts (written out here, so
/// a change to the metrics' records that moves one fails this test).
const SUMMARY_CONTRACT: [&str; 16] = [
    "strategy",
    "requests",
    "completed",
    "dropped",
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "mean_wait_ms",
    "throughput_rps",
    "utilization",
    "load_max_over_mean",
    "load_cv",
    "jain_index",
];

fn run(sc: &Scenario, threads: usize) -> Report {
    run::run(sc, &RunOptions { threads: Some(threads), progress: false }).expect("run")
}

fn exporter(name: &str) -> &'static dyn Exporter {
    *EXPORTERS.iter().find(|e| e.file_name() == name).unwrap_or_else(|| panic!("no exporter {name}"))
}

/// Decodes a PNG: (width, height, RGB bytes).
fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Pixels of exactly `rgb`.
fn count_colour(rgb: &[u8], c: (u8, u8, u8)) -> usize {
    rgb.chunks_exact(3).filter(|p| (p[0], p[1], p[2]) == c).count()
}

/// Checks every chart of `report`: decodes, 1280×800, not blank, and each strategy's own
/// colour is drawn (its data is on the chart, in the colour it has everywhere).
fn check_charts(report: &Report) {
    let labels: Vec<&str> = report.strategies.iter().map(|s| s.label.as_str()).collect();
    let colours = style::colours(&labels);
    for e in EXPORTERS.iter().filter(|e| e.is_chart() && e.wanted(report)) {
        let bytes = e.render(report).unwrap_or_else(|err| panic!("{}: {err}", e.file_name()));
        let (w, h, rgb) = decode(&bytes);
        assert_eq!((w, h), (WIDTH, HEIGHT), "{}", e.file_name());
        assert_eq!((w, h), (1280, 800));
        let white = count_colour(&rgb, (255, 255, 255));
        let total = (w * h) as usize;
        assert!(white < total * 99 / 100, "{} is (nearly) blank: {white} of {total} white", e.file_name());
        let distinct: std::collections::HashSet<&[u8]> = rgb.chunks_exact(3).collect();
        assert!(distinct.len() > 20, "{}: only {} colours", e.file_name(), distinct.len());
        for (label, c) in labels.iter().zip(&colours) {
            let n = count_colour(&rgb, (c.0, c.1, c.2));
            assert!(n >= 20, "{}: strategy {label}'s colour drawn on {n} pixels only", e.file_name());
        }
    }
}

fn parse_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().expect("header").iter().map(str::to_string).collect();
    let rows = r.records().map(|rec| rec.expect("record").iter().map(str::to_string).collect()).collect();
    (header, rows)
}

#[test]
fn charts_render_for_one_strategy_twenty_strategies_and_a_thousand_servers() {
    check_charts(&run(&scenario("\"p2c\"", 4, 20_000, 1), 2));

    let twenty: Vec<String> =
        ["\"round-robin\"", "\"random\"", "\"least-connections\"", "\"p2c\"", "\"least-work-left\""]
            .iter()
            .map(|s| s.to_string())
            .chain((3..=17).map(|c| format!("{{ name = \"p2c\", choices = {c} }}")))
            .collect();
    assert_eq!(twenty.len(), 20);
    check_charts(&run(&scenario(&twenty.join(", "), 20, 20_000, 2), 2));

    let big = run(&scenario("\"random\", \"p2c\"", 1000, 60_000, 1), 2);
    assert!(!big.strategies[0].timeline.has_detail(), "1,000 servers: aggregate timeline");
    check_charts(&big);
}

#[test]
fn csv_files_parse_with_their_documented_columns() {
    let sc = scenario("\"round-robin\", \"p2c\", { name = \"p2c\", choices = 3 }", 5, 30_000, 2);
    let report = run(&sc, 2);
    let labels: Vec<&str> = report.strategies.iter().map(|s| s.label.as_str()).collect();

    // percentiles.csv: every strategy × the 14 documented percentiles, non-decreasing.
    let (h, rows) = parse_csv(&exporter("percentiles.csv").render(&report).unwrap());
    assert_eq!(h, ["strategy", "percentile", "response_ms", "response_ms_ci95"]);
    let pcts = ["0", "1", "5", "10", "25", "50", "75", "90", "95", "99", "99.5", "99.9", "99.99", "100"];
    assert_eq!(rows.len(), labels.len() * pcts.len());
    for (k, chunk) in rows.chunks(pcts.len()).enumerate() {
        let values: Vec<f64> = chunk.iter().map(|r| r[2].parse().unwrap()).collect();
        assert!(values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");
        assert!(chunk.iter().all(|r| r[0] == labels[k]));
        assert_eq!(chunk.iter().map(|r| r[1].as_str()).collect::<Vec<_>>(), pcts);
        // The same figures as summary.csv (mean over replications); printed with 4
        // decimals: within half the last digit.
        let s = &report.strategies[k];
        for (row, e) in [(5, s.p50), (7, s.p90), (9, s.p99), (11, s.p999)] {
            let v: f64 = chunk[row][2].parse().unwrap();
            assert!((v - e.value * 1e3).abs() <= 0.5e-4 + 1e-12, "{}: {v} vs {}", chunk[row][1], e.value * 1e3);
        }
        // Its interval is the table's (replications: 2).
        let ci: f64 = chunk[9][3].parse().unwrap();
        assert!((ci - s.p99.ci95.unwrap() * 1e3).abs() <= 0.5e-4 + 1e-12, "p99 ci {ci}");
        assert!(chunk[0][3].is_empty() && chunk[13][3].is_empty(), "no interval for the extremes");
        // The hot spot is kept across replications: rank 1 of the rank profile is rho_max.
        let busiest = s.servers.iter().find(|v| v.load_rank == 1).unwrap();
        assert_eq!(busiest.rho_at_rank.to_bits(), s.rho_max.value.to_bits(), "rank profile's top = rho_max");
        let mut ranks: Vec<usize> = s.servers.iter().map(|v| v.load_rank).collect();
        ranks.sort_unstable();
        assert_eq!(ranks, (1..=s.servers.len()).collect::<Vec<_>>());
        let max: f64 = chunk[13][2].parse().unwrap();
        assert!((max - s.max * 1e3).abs() <= 0.5e-4 + 1e-12, "100th percentile = max_ms");
    }

    // histogram.csv: the same log-spaced buckets for every strategy, counts add up.
    let (h, rows) = parse_csv(&exporter("histogram.csv").render(&report).unwrap());
    assert_eq!(h, ["strategy", "bucket_low_ms", "bucket_high_ms", "count"]);
    // Per strategy: total count and the (low, high) edges in file order.
    type Buckets = (u64, Vec<(f64, f64)>);
    let mut per: HashMap<&str, Buckets> = HashMap::new();
    for r in &rows {
        let e = per.entry(labels.iter().find(|l| **l == r[0]).unwrap()).or_default();
        e.0 += r[3].parse::<u64>().unwrap();
        e.1.push((r[1].parse().unwrap(), r[2].parse().unwrap()));
    }
    let edges = &per[labels[0]].1;
    for (k, s) in report.strategies.iter().enumerate() {
        assert_eq!(per[labels[k]].0, s.measured.completed, "{}: counts add up", s.label);
        assert_eq!(&per[labels[k]].1, edges, "same buckets for every strategy");
    }
    for w in edges.windows(2) {
        assert_eq!(w[0].1, w[1].0, "contiguous buckets");
        // Edges are printed to 6 significant digits (relative error ≤ 5·10⁻⁶ each); the
        // ratio of ratios involves four of them.
        let ratio = (w[1].1 / w[1].0) / (w[0].1 / w[0].0);
        assert!((ratio - 1.0).abs() <= 4.0 * 5e-6 + 1e-12, "log-spaced: constant high/low ratio");
    }

    // timeseries.csv: per-server rows at a fixed interval; columns as documented.
    let (h, rows) = parse_csv(&exporter("timeseries.csv").render(&report).unwrap());
    assert_eq!(h[..5], ["strategy", "time_s", "server", "in_system", "completed"]);
    assert_eq!(h[5..], ["mean_in_system", "mean_in_system_min", "mean_in_system_max"]);
    let t = &report.strategies[0].timeline;
    assert_eq!(rows.len(), labels.len() * t.len() * 5);
    let servers: Vec<&str> = rows.iter().take(5).map(|r| r[2].as_str()).collect();
    assert_eq!(servers, ["s-1", "s-2", "s-3", "s-4", "s-5"]);
    let times: Vec<f64> = rows.iter().step_by(5).take(t.len()).map(|r| r[1].parse().unwrap()).collect();
    for (k, &time) in times.iter().enumerate() {
        assert!((time - k as f64 * t.interval()).abs() <= 0.5e-9 + 1e-12, "fixed interval (printed to the ns)");
    }
    for r in &rows {
        let _: u64 = r[3].parse().unwrap();
        let _: u64 = r[4].parse().unwrap();
        let mean: f64 = r[5].parse().unwrap();
        assert!(mean >= 0.0);
        assert_eq!((r[6].as_str(), r[7].as_str()), (r[5].as_str(), r[5].as_str()));
    }

    // summary.csv and servers.csv keep their contract.
    let (h, rows) = parse_csv(&exporter("summary.csv").render(&report).unwrap());
    assert_eq!(h[..SUMMARY_CONTRACT.len()], SUMMARY_CONTRACT);
    assert_eq!(report::metric::CONTRACT, SUMMARY_CONTRACT.len());
    assert_eq!(h, report::metric::header());
    assert_eq!(rows.len(), 3);
    let (h, rows) = parse_csv(&exporter("servers.csv").render(&report).unwrap());
    assert_eq!(h[..report::run::summary_csv::SERVERS_COLUMNS.len()], *report::run::summary_csv::SERVERS_COLUMNS);
    assert_eq!(rows.len(), 15);
}

#[test]
fn large_pools_write_one_timeseries_row_per_sample() {
    let report = run(&scenario("\"random\"", 150, 20_000, 1), 1);
    let (_, rows) = parse_csv(&exporter("timeseries.csv").render(&report).unwrap());
    let t = &report.strategies[0].timeline;
    assert_eq!(rows.len(), t.len());
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r[2], "all");
        let p = t.pool(k);
        assert_eq!(r[3].parse::<u64>().unwrap(), p.in_system);
        let (lo, hi): (f64, f64) = (r[6].parse().unwrap(), r[7].parse().unwrap());
        // Printed with 4 decimals: each within 0.5·10⁻⁴, so 150 × lo within 150 times that.
        const HALF_DIGIT: f64 = 0.5e-4 + 1e-12;
        assert!((lo - p.min).abs() <= HALF_DIGIT && (hi - p.max).abs() <= HALF_DIGIT);
        let total: f64 = r[5].parse().unwrap();
        assert!(lo * 150.0 <= total + 151.0 * HALF_DIGIT && total <= hi * 150.0 + 151.0 * HALF_DIGIT);
    }
}

#[test]
fn json_summary_and_manifest_parse() {
    let sc = scenario("\"random\", \"least-work-left\"", 3, 10_000, 1);
    let report = run(&sc, 1);
    let v: serde_json::Value = serde_json::from_str(&report::run::json::render(&report)).expect("summary JSON");
    let strategies = v["strategies"].as_array().unwrap();
    assert_eq!(strategies.len(), 2);
    assert_eq!(strategies[1]["strategy"], "least-work-left");
    for col in report::metric::header() {
        assert!(strategies[0].get(&col).is_some(), "JSON lacks {col}");
    }
    assert!(strategies[0]["p99_ms"].as_f64().unwrap() > 0.0);
    // One replication: intervals from batch means, for every figure the table shows with ±.
    assert!(strategies[0]["mean_ms_ci95"].as_f64().unwrap() > 0.0, "one replication: batch-means interval");
    for col in ["p50_ms_ci95", "p90_ms_ci95", "p999_ms_ci95", "mean_wait_ms_ci95", "rho_max_ci95", "utilization_ci95"] {
        assert!(strategies[0][col].as_f64().is_some_and(|c| c >= 0.0), "{col}: {}", strategies[0][col]);
    }
    assert!(strategies[0]["ci_batches"].as_u64().is_some_and(|k| (8..=64).contains(&k)));
    assert!(strategies[0]["hottest_key_share_ci95"].is_null(), "the workload's figure: over replications only");
    assert_eq!(strategies[0]["servers"].as_array().unwrap().len(), 3);
    assert_eq!(strategies[0]["servers"][0]["server"], "s-1");
    assert_eq!(v["scenario"]["seed"], 7);

    let m: serde_json::Value = serde_json::from_slice(&exporter("manifest.json").render(&report).unwrap()).unwrap();
    assert_eq!(m["lbsim_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["seed"], 7);
    assert_eq!(m["parameters"]["requests"], 10_000);
    assert_eq!(m["parameters"]["strategies"][1]["label"], "least-work-left");
    let text = sc.source.as_deref().unwrap();
    assert_eq!(m["scenario"]["text"], text);
    assert_eq!(m["scenario"]["sha256"], report::manifest::sha256_hex(text.as_bytes()));
    assert!(m["wall_time_s"].as_f64().unwrap() >= 0.0);
}

#[test]
fn outputs_are_byte_identical_across_runs_and_thread_counts() {
    let sc = scenario("\"round-robin\", \"p2c\"", 4, 20_000, 2);
    let a = run(&sc, 1);
    let b = run(&sc, 2);
    assert_eq!(EXPORTERS.iter().filter(|e| !e.is_reproducible()).count(), 1, "only the manifest varies");
    for e in EXPORTERS.iter().filter(|e| e.is_reproducible()) {
        assert!(e.render(&a).unwrap() == e.render(&b).unwrap(), "{} differs between runs", e.file_name());
    }
}

#[test]
fn write_outputs_writes_every_file_and_no_charts_removes_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(&scenario("\"p2c\"", 2, 5_000, 1), 1);
    let all = report::run::exporters(true);
    let written = report::write_outputs(&report, dir.path(), &all).unwrap();
    // Every file it wants; not faults.csv, pods.csv, scale_events.csv, policies.csv or
    // phases.csv (no faults, no autoscaler, no balancer queue, no phases here).
    let skipped = ["faults.csv", "pods.csv", "scale_events.csv", "policies.csv", "phases.csv"];
    let names: Vec<_> = written.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_string()).collect();
    let mut wanted: Vec<_> = EXPORTERS.iter().filter(|e| e.wanted(&report)).map(|e| e.file_name()).collect();
    wanted.sort_unstable();
    assert_eq!(crate::common::file_names(dir.path()), wanted, "{names:?}");
    assert_eq!(written.len(), wanted.len(), "{names:?}");
    assert!(skipped.iter().all(|f| !names.iter().any(|n| n == f)), "{names:?}");
    // Every chart it wants (pods_timeline.png only with [autoscaler]).
    let charts: Vec<_> =
        EXPORTERS.iter().filter(|e| e.is_chart() && e.wanted(&report)).map(|e| e.file_name()).collect();
    assert!(charts.iter().all(|c| dir.path().join(c).exists()), "{charts:?}");
    let data = report::run::exporters(false);
    let all_charts = EXPORTERS.iter().filter(|e| e.is_chart()).count();
    assert!(data.iter().all(|e| !e.is_chart()) && data.len() == EXPORTERS.len() - all_charts);
    report::write_outputs(&report, dir.path(), &data).unwrap();
    let removed = report::run::remove_stale(dir.path(), &data).unwrap();
    let mut removed: Vec<_> = removed.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    removed.sort_unstable();
    let mut charts_sorted = charts.clone();
    charts_sorted.sort_unstable();
    assert_eq!(removed, charts_sorted, "every chart, and nothing else");
    let left = crate::common::file_names(dir.path());
    assert!(left.iter().all(|f| !f.ends_with(".png")), "{left:?}");
    assert_eq!(left.len(), wanted.len() - charts.len(), "{left:?}");
}

/// The metric names of docs/outputs.md's summary.csv table: every `name` in the first cell
/// of its rows.
fn documented_summary_columns() -> Vec<String> {
    let docs = std::fs::read_to_string(crate::common::repo().join("docs/outputs.md")).unwrap();
    let section = docs.split("\n### summary.csv\n").nth(1).expect("a summary.csv section");
    let section = section.split("\n### ").next().unwrap();
    let mut names = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let first = line.split(" | ").next().unwrap();
        names.extend(first.split('`').skip(1).step_by(2).map(str::to_string));
    }
    names
}

#[test]
fn every_metric_is_in_summary_csv_json_and_the_docs() {
    let report = run(&scenario("\"random\", \"p2c\"", 3, 4_000, 2), 1);
    let (h, _) = parse_csv(&exporter("summary.csv").render(&report).unwrap());
    let v: serde_json::Value = serde_json::from_str(&report::run::json::render(&report)).unwrap();
    let documented = documented_summary_columns();
    let mut names = 0;
    for m in report::metric::all() {
        let mut columns = vec![m.name.to_string()];
        if m.ci {
            columns.push(m.ci_name());
        }
        for c in columns {
            assert_eq!(h.iter().filter(|x| **x == c).count(), 1, "summary.csv has {c} once");
            assert!(v["strategies"][0].get(&c).is_some(), "the JSON summary lacks {c}");
            assert!(documented.contains(&c), "docs/outputs.md's summary.csv table lacks {c}");
            names += 1;
        }
    }
    assert_eq!(names, h.len(), "every summary.csv column is a metric or its interval");
    for d in &documented {
        assert!(h.contains(d), "docs/outputs.md documents {d}, which summary.csv does not have");
    }
}

#[test]
fn every_terminal_column_is_a_summary_csv_column_and_takes_columns() {
    let header = report::metric::header();
    for m in report::metric::TABLE {
        assert!(header.iter().any(|h| h == m.name), "table column {} is not in summary.csv", m.name);
        assert!(m.shown.is_some(), "{} has no terminal column", m.name);
        let layout = report::run::terminal::Layout::columns(m.name).expect("--columns takes it");
        assert_eq!(layout, report::run::terminal::Layout::Columns(vec![m.name]));
    }
}
