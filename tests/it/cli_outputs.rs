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
