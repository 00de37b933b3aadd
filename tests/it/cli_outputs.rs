//! `lbsim run` on the command line: what it prints with each `--format`, and the files it
//! writes with and without `--no-charts`.

use crate::common::{case, file_names as files, lbsim};
use predicates::prelude::*;

const SCENARIO: &str = r#"
name = "cli-outputs"
seed = 3
requests = 8_000
strategies = ["round-robin", { name = "p2c", choices = 3 }]
[arrivals]
process = "poisson"
rate = 250.0
[service]
distribution = "exponential"
mean = "10ms"
[[servers]]
name = "app"
count = 3
"#;

/// The files `lbsim run` writes for the scenario in `file`, sorted: those of the run's
/// exporters (with the charts when `charts`) that the run wants.
fn wanted(file: &std::path::Path, charts: bool) -> Vec<String> {
    let sc = lbsim::scenario::Scenario::load(file).unwrap();
    let report = lbsim::run::run(&sc, &lbsim::run::RunOptions { threads: None, progress: false }).unwrap();
    let mut names: Vec<String> = lbsim::report::run::exporters(charts)
        .iter()
        .filter(|e| e.wanted(&report))
        .map(|e| e.file_name().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn format_json_prints_parseable_json_and_writes_every_file() {
    let (dir, file) = case(SCENARIO);
    let out = dir.path().join("out");
    let assert = lbsim().args(["run", "--quiet", "--format", "json", "--out"]).arg(&out).arg(&file).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).expect("stdout is JSON");
    assert_eq!(v["strategies"][1]["strategy"], "p2c(choices=3)");
    assert!(v["strategies"][0]["p99_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(files(&out), wanted(&file, true));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["scenario"]["file"], file.display().to_string());
    assert_eq!(manifest["scenario"]["sha256"], lbsim::report::manifest::sha256_hex(SCENARIO.as_bytes()));
}

#[test]
fn format_csv_prints_summary_csv() {
    let (dir, file) = case(SCENARIO);
    let out = dir.path().join("out");
    let assert = lbsim().args(["run", "-q", "--format", "csv", "--out"]).arg(&out).arg(&file).assert().success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout, std::fs::read_to_string(out.join("summary.csv")).unwrap());
    assert!(stdout.starts_with("strategy,requests,completed,dropped,mean_ms,"));
}

#[test]
fn default_format_is_the_table_and_no_charts_leaves_no_png() {
    let (dir, file) = case(SCENARIO);
    let out = dir.path().join("out");
    lbsim().args(["run", "-q", "--out"]).arg(&out).arg(&file).assert().success();
    assert!(out.join("server_load.png").exists());
    lbsim()
        .args(["run", "-q", "--no-charts", "--format", "table", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("p99 ms").and(predicate::str::contains("round-robin")));
    assert!(files(&out).iter().all(|f| !f.ends_with(".png")), "{:?}", files(&out));
    assert_eq!(files(&out), wanted(&file, false));
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    let (_dir, file) = case(SCENARIO);
    lbsim()
        .args(["run", "--format", "yaml"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("possible values: table, csv, json"));
}

#[test]
fn wide_tables_clipped_intervals_have_their_warning_and_no_hottest_key_without_keys() {
    // Issue 26, item 10: `--wide` printed "(see the warning)" for max/mean clipped at 1 with
    // no warning printed; hottest_key_share was 1 ÷ requests without `[keys]`.
    let (dir, file) = case(SCENARIO);
    let out = dir.path().join("out");
    let o = lbsim().args(["run", "--wide", "--no-charts", "--no-html", "--out"]).arg(&out).arg(&file).output().unwrap();
    assert!(o.status.success());
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(all.contains("clipped at a physical bound"), "the case no longer clips an interval: {all}");
    // The note points to no warning the run may not print.
    assert!(!all.contains("see the warning") || all.contains("shown clipped to it"), "{all}");
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut r = csv::Reader::from_reader(summary.as_bytes());
    let at = r.headers().unwrap().iter().position(|h| h == "hottest_key_share").unwrap();
    for rec in r.records() {
        assert_eq!(&rec.unwrap()[at], "", "hottest_key_share without [keys]");
    }
}

#[test]
fn drops_at_full_queues_get_a_warning_naming_each_strategy_and_its_count() {
    // Issue 26, item 10: near-saturation's random dropped 97 requests with no word.
    let (dir, file) = case(
        r#"
name = "drops"
seed = 5
requests = 4_000
strategies = ["random", "least-connections"]
[arrivals]
process = "poisson"
rate = 240.0
[service]
distribution = "exponential"
mean = "10ms"
[[servers]]
name = "app"
count = 3
queue_capacity = 1
"#,
    );
    let out = dir.path().join("out");
    let o = lbsim().args(["run", "--no-charts", "--no-html", "--out"]).arg(&out).arg(&file).output().unwrap();
    assert!(o.status.success());
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let err = all.replace("\n         ", " ");
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut r = csv::Reader::from_reader(summary.as_bytes());
    let at = r.headers().unwrap().iter().position(|h| h == "dropped").unwrap();
    let mut any = false;
    for rec in r.records() {
        let rec = rec.unwrap();
        let dropped: u64 = rec[at].parse().unwrap();
        let named = err.contains(&format!(" {} {dropped} (", &rec[0]));
        assert_eq!(named, dropped > 0, "{} dropped {dropped}: {err}", &rec[0]);
        any |= dropped > 0;
    }
    assert!(any, "the case drops nothing: {err}");
    assert!(err.contains("requests dropped at full queues (queue_capacity = 1): "), "{err}");
}

#[test]
fn servers_csv_counts_the_requests_still_on_the_network() {
    // Issue 26, item 10: k8s-ingress's servers.csv added up to 719,997 of 720,000 requests;
    // the 3 missing ones were travelling to their servers when the run ended.
    let (dir, file) = case(&format!("{SCENARIO}\n[network]\nto_server = \"40ms\"\n"));
    let out = dir.path().join("out");
    let o = lbsim().args(["run", "--no-charts", "--no-html", "--out"]).arg(&out).arg(&file).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut r = csv::Reader::from_reader(summary.as_bytes());
    let at = r.headers().unwrap().iter().position(|h| h == "requests").unwrap();
    let measured: Vec<(String, u64)> =
        r.records().map(|rec| rec.unwrap()).map(|rec| (rec[0].to_string(), rec[at].parse().unwrap())).collect();
    let servers = std::fs::read_to_string(out.join("servers.csv")).unwrap();
    let mut r = csv::Reader::from_reader(servers.as_bytes());
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (req, transit) = (col("requests"), col("in_transit"));
    assert_eq!(transit, h.len() - 1, "in_transit is the last column");
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    for (label, requests) in measured {
        let sum = |c: usize| rows.iter().filter(|x| x[0] == label).map(|x| x[c].parse::<u64>().unwrap()).sum::<u64>();
        // 250 req/s × 40 ms: about 10 requests on the way at any time.
        assert!(sum(transit) > 0, "{label}: nothing in transit");
        assert_eq!(sum(req) + sum(transit), requests, "{label}");
    }
    // Without [network] the column is absent.
    let (dir, file) = case(SCENARIO);
    let out = dir.path().join("out");
    lbsim().args(["run", "--no-charts", "--no-html", "--out"]).arg(&out).arg(&file).assert().success();
    assert!(!std::fs::read_to_string(out.join("servers.csv")).unwrap().contains("in_transit"));
}
