//! The command line for keys and hashing: `lbsim remap`, `[keys]` and `max_connections`
//! errors, the hash-strategy warning.

use std::fs;

use crate::common::{case, lbsim, rejects, run_quiet};
use predicates::prelude::*;

const BASE: &str = r#"seed = 1
requests = 2000
strategies = ["ring-hash", "maglev", "p2c"]

[arrivals]
process = "poisson"
rate = 100.0

[service]
distribution = "exponential"
mean = "10ms"

[keys]
count = 5000
distribution = "zipf"
exponent = 0.9

[[servers]]
name = "cache"
count = 4
"#;

fn edit(from: &str, to: &str) -> String {
    crate::common::edit(BASE, from, to)
}

#[test]
fn remap_prints_a_table_and_writes_remap_csv() {
    let (dir, path) = case(BASE);
    let out = dir.path().join("out");
    lbsim()
        .arg("remap")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("ring-hash").and(predicate::str::contains("maglev")))
        .stdout(predicate::str::contains("p2c").not());
    let csv = fs::read_to_string(out.join("remap.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "strategy,servers,keys,removal_moved,removal_ideal,removal_worst,addition_moved,addition_ideal"
    );
    let ring: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&ring[..3], &["ring-hash", "4", "5000"]);
    // Every server removed in turn: the ring moves exactly 1/4 of the keys on average.
    assert_eq!(ring[3], "0.250000");
    // --strategies overrides; an unknown one is an input error.
    lbsim().args(["remap"]).arg(&path).args(["--out"]).arg(&out).args(["--strategies", "hash"]).assert().success();
    lbsim()
        .args(["remap"])
        .arg(&path)
        .args(["--strategies", "maglevv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `maglev`"));
}

#[test]
fn run_reports_busiest_server_and_hottest_key_shares() {
    let (dir, path) = case(BASE);
    let out = dir.path().join("out");
    run_quiet(&path, &out, &[])
        .stdout(predicate::str::contains("busiest %").and(predicate::str::contains("hot key %")));
    let csv = fs::read_to_string(out.join("summary.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    // Appended after the contract columns.
    assert_eq!(header[0], "strategy");
    let at = header.iter().position(|&h| h == "offered_load").unwrap() + 1;
    assert_eq!(&header[at..at + 2], &["busiest_server_share", "hottest_key_share"]);
}

#[test]
fn bad_keys_sections_are_located() {
    rejects(
        &edit("distribution = \"zipf\"", "distribution = \"zipff\""),
        15,
        &["keys.distribution", "did you mean `zipf`"],
    );
    rejects(&edit("count = 5000", "count = 0"), 14, &["keys.count", "from 1"]);
    rejects(&edit("exponent = 0.9", "exponent = -1.0"), 16, &["keys.exponent"]);
    rejects(&edit("distribution = \"zipf\"", "distribution = \"uniform\""), 16, &["only to distribution = \"zipf\""]);
    rejects(&edit("exponent = 0.9", "exponnent = 0.9"), 16, &["did you mean `exponent`"]);
    rejects(&edit("count = 4\n", "count = 4\nmax_connections = 0\n"), 21, &["max_connections", "at least 1"]);
    rejects(&edit("\"maglev\"", "{ name = \"maglev\", table_size = 1000 }"), 3, &["must be a prime", "1009"]);
    rejects(&edit("\"ring-hash\"", "{ name = \"ring-hash\", vnodes = 0 }"), 3, &["vnodes"]);
}

#[test]
fn hash_strategies_without_keys_are_warned_about() {
    let start = BASE.find("[keys]").unwrap();
    let end = BASE.find("[[servers]]").unwrap();
    let text = format!("{}{}", &BASE[..start], &BASE[end..]);
    let (_dir, path) = case(&text);
    lbsim()
        .arg("validate")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("warning: ring-hash, maglev route by request key"));
    // Without [keys] the table has the busiest-server column but no hot-key column.
    let (dir, path) = case(&text);
    run_quiet(&path, &dir.path().join("o"), &[])
        .stdout(predicate::str::contains("busiest %").and(predicate::str::contains("hot key %").not()));
}

#[test]
fn remap_fits_120_columns_and_says_how_to_read_below_ideal() {
    // Issue 26, defect 9: the header was 148 columns and the table 149; "× ideal 0.79×" read
    // as better than ideal when the new server gets too little.
    let out = tempfile::tempdir().unwrap();
    let o = lbsim()
        .arg("remap")
        .arg(crate::common::shipped("cache-tier.toml"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    for l in text.lines() {
        assert!(l.chars().count() <= 120, "{} columns: {l}", l.chars().count());
    }
    assert!(!text.contains("× ideal"), "{text}");
    let joined = text.replace('\n', " ");
    assert!(joined.contains("below 1.00× the new server takes less than its fair share"), "{text}");
}
