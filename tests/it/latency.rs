//! Latency over time: latency_timeseries.csv and phases.csv agree with the other files and
//! with the fault they describe; memory is recorded for the first replication only.

use std::collections::HashMap;

use lbsim::report::Exporter;
use lbsim::report::run::EXPORTERS;
use lbsim::run::{self, RunOptions};

fn table(report: &lbsim::report::Report, name: &str) -> Vec<HashMap<String, String>> {
    let e: &dyn Exporter = *EXPORTERS.iter().find(|e| e.file_name() == name).unwrap();
    let bytes = e.render(report).unwrap();
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records().map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(str::to_string)).collect()).collect()
}

/// Four servers at ρ = 0.7; one slowed 10× from 20 s to 40 s; two replications.
fn slowed() -> lbsim::scenario::Scenario {
    let text = "name = \"slowed\"\nseed = 5\nrequests = 40000\nwarmup_requests = 1000\nreplications = 2\n\
                strategies = [\"round-robin\", \"least-connections\"]\n\
                [arrivals]\nprocess = \"poisson\"\nrate = 560.0\n\
                [service]\ndistribution = \"exponential\"\nmean = \"5ms\"\n\
                [[servers]]\nname = \"s\"\ncount = 4\n\
                [[faults]]\nserver = \"s-2\"\nslow_at = \"20s\"\nslow_until = \"40s\"\nslowdown = 10.0\n";
    lbsim::scenario::Scenario::parse(text, None).expect("valid")
}

#[test]
fn windows_agree_with_timeseries_and_phases_with_the_fault() {
    let sc = slowed();
    let report = run::run(&sc, &RunOptions { threads: Some(2), progress: false }).unwrap();
    let series = table(&report, "timeseries.csv");
    let latency = table(&report, "latency_timeseries.csv");
    // Same windows; completions at the servers (no network) equal responses per window.
    for s in &report.strategies {
        let mut at_servers: HashMap<String, u64> = HashMap::new();
        for r in series.iter().filter(|r| r["strategy"] == s.label) {
            *at_servers.entry(r["time_s"].clone()).or_default() += r["completed"].parse::<u64>().unwrap();
        }
        let rows: Vec<_> = latency.iter().filter(|r| r["strategy"] == s.label).collect();
        assert_eq!(rows.len(), s.timeline.len() - 1);
        for r in rows {
            assert_eq!(
                r["completed"].parse::<u64>().unwrap(),
                at_servers[&r["time_s"]],
                "{} at {}",
                s.label,
                r["time_s"]
            );
        }
        // Arrivals up to the last sample: every generated request but those after it.
        let arrived: u64 =
            latency.iter().filter(|r| r["strategy"] == s.label).map(|r| r["arrived"].parse::<u64>().unwrap()).sum();
        let generated = sc.requests;
        let tail = generated - arrived;
        assert!(tail as f64 <= 560.0 * s.timeline.interval() * 3.0, "{tail} arrivals after the last sample");
    }
    let phases = table(&report, "phases.csv");
    assert_eq!(phases.len(), 2, "one fault × two strategies");
    let p99 = |label: &str| phases.iter().find(|r| r["strategy"] == label).unwrap()["p99_ms"].parse::<f64>().unwrap();
    let before =
        |label: &str| phases.iter().find(|r| r["strategy"] == label).unwrap()["before_p99_ms"].parse::<f64>().unwrap();
    // Round-robin keeps a quarter of the traffic on a server now at ρ = 7: its p99 there is
    // many times its p99 before; least-connections routes around it.
    assert!(p99("round-robin") > 10.0 * before("round-robin"), "{} vs {}", p99("round-robin"), before("round-robin"));
    assert!(p99("least-connections") < p99("round-robin") / 5.0);
    for r in &phases {
        assert_eq!((r["start_s"].as_str(), r["end_s"].as_str()), ("20.000000", "40.000000"));
    }
    // Least-connections is back to normal soon after; round-robin's backlog on s-2
    // (≈ (140 − 20 req/s) × 20 s) drains at 200 − 140 = 60 req/s: about 40 s, longer than
    // the 31 s left in the run, so it did not recover.
    let recovered = |label: &str| phases.iter().find(|r| r["strategy"] == label).unwrap()["recovered"].clone();
    assert_eq!(recovered("least-connections"), "1");
    assert_eq!(recovered("round-robin"), "0");
    // Only the first replication records latency windows: memory does not grow with R.
    for rep in 0..2 {
        let run = lbsim::engine::simulate(&sc, &sc.strategies[0], rep, &|_| {});
        assert_eq!(run.timeline.has_latency(), rep == 0);
    }
}

/// A fault window from the run's start (servers that join later, as in grpc-k8s) has no
/// "before" level: its phase note says nothing of one, rather than "(before NaN)".
#[test]
fn a_phase_from_the_start_has_no_before_level_in_its_note() {
    let text = crate::common::mm_pool(
        "seed = 4\nrequests = 4_000\nwarmup_requests = 0\nstrategies = [\"round-robin\"]",
        300.0,
        "s",
        5,
        "[[faults]]\nserver = \"s-5\"\ndown_at = \"0s\"\nup_at = \"5s\"\n",
    );
    let sc = crate::common::scenario(&text);
    let report = run::run(&sc, &RunOptions { threads: None, progress: false }).unwrap();
    let notes = lbsim::report::run::phases::notes(&report);
    assert!(notes.iter().any(|n| n.starts_with("phase: s-5")), "{notes:?}");
    assert!(notes.iter().all(|n| !n.contains("NaN") && !n.contains("before")), "{notes:?}");
}

/// Servers that join together (a scale-out's pods, down from the start) make one phase and
/// one fault note naming them, not one each with the same figures; fault notes whose lines
/// differ (requests refused by each server) stay apart.
#[test]
fn servers_joining_together_make_one_phase_and_one_fault_note() {
    let base = crate::common::mm_pool(
        "seed = 4\nrequests = 4_000\nwarmup_requests = 0\nstrategies = [\"round-robin\", \"random\"]",
        300.0,
        "s",
        5,
        "[[servers]]\nname = \"new\"\ncount = 4\n\
         [[faults]]\ngroup = \"new\"\ncount = 4\ndown_at = \"0s\"\nup_at = \"5s\"\n\
         [[faults]]\nserver = \"s-2\"\ndown_at = \"8s\"\nup_at = \"9s\"\n",
    );
    // Per connection, a server in a crash window is no endpoint: none refuses anything.
    let text = format!("{base}[clients]\ncount = 20\nprotocol = \"http2\"\nbalance = \"connection\"\n");
    let sc = crate::common::scenario(&text);
    let report = run::run(&sc, &RunOptions { threads: None, progress: false }).unwrap();
    let notes = lbsim::report::run::phases::notes(&report);
    let heads: Vec<&String> = notes.iter().filter(|n| n.starts_with("phase:")).collect();
    assert_eq!(heads.len(), 2, "{notes:?}");
    assert!(heads[0].starts_with("phase: new-1 to new-4 (4 servers) down 0s–5s"), "{notes:?}");
    assert!(heads[1].starts_with("phase: s-2 down"), "{notes:?}");
    let table = lbsim::report::run::terminal::render(&report, false);
    let faults: Vec<&str> = table.lines().filter(|l| l.starts_with("fault:")).collect();
    assert_eq!(faults.len(), 2, "{table}");
    assert!(faults[0].starts_with("fault: new-1 to new-4 (4 servers) down at 0s until 5s"), "{table}");
    // Per request, each new server refused its own count of requests: a note each.
    let report = run::run(&crate::common::scenario(&base), &RunOptions { threads: None, progress: false }).unwrap();
    let table = lbsim::report::run::terminal::render(&report, false);
    assert_eq!(table.lines().filter(|l| l.starts_with("fault:")).count(), 5, "{table}");
}

/// A known recovery time (issue 25): one server, arrivals every 10 ms, service 5 ms, slowed
/// 4× from 10 s to 20 s. The 10 s at 50 req/s of capacity leave 500 requests queued, which
/// drain at 200 − 100 = 100 req/s: the p99 is back under 2 × its before level when the queue
/// is gone, 5 s after the slowdown, while the goodput (twice the arrivals while draining)
/// never falls below its band. Recovery is at 5 s, to a window.
#[test]
fn a_clean_slowdown_recovers_when_its_backlog_has_drained() {
    let text = "seed = 3\nrequests = 4000\nwarmup_requests = 0\nstrategies = [\"round-robin\"]\n\
                [arrivals]\nprocess = \"deterministic\"\nrate = 100.0\n\
                [service]\ndistribution = \"deterministic\"\nmean = \"5ms\"\n\
                [[servers]]\nname = \"s\"\ncount = 1\nworkers = 1\n\
                [[faults]]\nserver = \"s\"\nslow_at = \"10s\"\nslow_until = \"20s\"\nslowdown = 4.0\n";
    let sc = lbsim::scenario::Scenario::parse(text, None).expect("valid");
    let report = run::run(&sc, &RunOptions::default()).unwrap();
    let s = &report.strategies[0];
    let dt = s.timeline.interval();
    let r = s.recovery.expect("the slowdown is assessed");
    assert!(r.all, "recovered");
    assert!((r.longest - 5.0).abs() <= dt + 1e-9, "recovery {} s vs 5 s (windows of {dt} s)", r.longest);
    let phases = table(&report, "phases.csv");
    assert_eq!(phases[0]["recovered"], "1");
}
