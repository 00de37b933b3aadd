//! A run's headroom at its SLO (`[slo]`, `run --slo`): the known answer of random routing
//! (an M/M/1 queue per server), what a factor scales, and the outputs agreeing with one
//! another (headroom.csv, summary.csv, report.html, the table's notes).

use std::fs;

use lbsim::headroom::{self, MAX_RUNS};
use lbsim::plan::slo::Slo;
use lbsim::report::sweep::headroom::Verdict;
use lbsim::run::{RunOptions, run};
use lbsim::scenario::Scenario;

use crate::common::{case, lbsim, run_quiet};

/// `S` servers of exponential 10 ms service, Poisson arrivals at `rate`, random routing.
fn mm1s(rate: f64, requests: u64, slo: &str) -> String {
    format!(
        "seed = 5\nrequests = {requests}\nstrategies = [\"random\"]\n[arrivals]\nprocess = \"poisson\"\nrate = \
         {rate}\n[service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"s\"\ncount = \
         4\n{slo}"
    )
}

#[test]
fn random_routing_crosses_where_the_mm1_p99_reaches_the_limit() {
    // Random routing splits Poisson arrivals into four M/M/1 queues at λ/4 each, whose p99
    // response is ln(100)/(μ − λ/4): 100 ms at λ = 4 (100 − 10 ln 100) = 215.79 req/s,
    // ×1.0790 of 200 req/s.
    let sc = Scenario::parse(&mm1s(200.0, 200_000, ""), None).unwrap();
    let report = run(&sc, &RunOptions { threads: Some(2), progress: false }).unwrap();
    let slo = Slo::parse("p99<=100ms").unwrap();
    let h = headroom::search(&sc, &report.strategies, report.offered_load(), &slo, Some(2)).unwrap().unwrap();
    let expected = 4.0 * (100.0 - 10.0 * 100f64.ln()) / 200.0;
    let s = &h.strategies[0];
    assert!(s.runs() <= MAX_RUNS, "{s:?}");
    let Verdict::UpTo { highest, next, crossing, .. } = s.verdict else { panic!("{s:?}") };
    // The interval is where the 95% band's edges cross the limit: it holds the true
    // crossing; the estimate lies above the highest factor met (a factor missing the
    // objective by its interval only may lie below it).
    let (x, lo, hi) = (crossing.0.unwrap(), crossing.1, crossing.2.unwrap());
    assert!(lo <= expected && expected <= hi, "×{expected:.4} outside [{lo:.4}, {hi:.4}] (estimate {x:.4})");
    assert!(highest.0 <= x && highest.0 < next.0 && highest.0 >= 1.0, "{s:?}");
    // ×1.00 is the run itself: its p99 is summary.csv's.
    let one = s.points.iter().find(|p| p.factor == 1.0).unwrap();
    assert_eq!(one.value.0, (report.strategies[0].p99.value * 1e3 * 1e4).round() / 1e4);
    // The rate it means is the scenario's rate times the factor.
    assert!((h.rate_at(x) - 200.0 * x).abs() < 1e-9);
}

#[test]
fn a_factor_scales_the_arrivals_and_keeps_the_span_of_time() {
    let diurnal = "seed = 1\nrequests = 20000\nstrategies = [\"p2c\"]\n[arrivals]\nprocess = \"poisson\"\n\
                   [arrivals.diurnal]\nbase = 100.0\namplitude = 50.0\nperiod = \"100s\"\n\
                   [[arrivals.spike]]\nat = \"50s\"\nduration = \"10s\"\nmultiplier = 2.0\n\
                   [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"s\"\ncount = 4\n\
                   [[faults]]\nserver = \"s-1\"\ndown_at = \"20s\"\nup_at = \"30s\"\n";
    let sc = Scenario::parse(diurnal, None).unwrap();
    let x2 = headroom::scaled(&sc, 2.0).unwrap();
    assert_eq!(x2.requests, 40_000);
    assert_eq!(x2.warmup, 2 * sc.warmup);
    // Twice the requests at twice every rate: the same span, the same faults and spike.
    assert!((x2.arrival_rate() / sc.arrival_rate() - 2.0).abs() < 1e-3, "{} {}", x2.arrival_rate(), sc.arrival_rate());
    assert!((x2.expected_duration() / sc.expected_duration() - 1.0).abs() < 1e-3);
    assert_eq!(x2.arrivals.spikes(), sc.arrivals.spikes());
    assert_eq!(x2.fault_windows(0), sc.fault_windows(0));
    assert!((x2.offered_load() / sc.offered_load() - 2.0).abs() < 1e-3);
    // A closed loop's clients set their own rate: no headroom.
    let closed = "requests = 1000\nstrategies = [\"p2c\"]\n[arrivals]\nprocess = \"closed\"\nclients = 10\nthink_time = \"100ms\"\n\
                  [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"s\"\ncount = 2\n";
    assert!(headroom::scaled(&Scenario::parse(closed, None).unwrap(), 2.0).is_none());
}

/// The cells of `csv` (a header and rows) as (header, rows).
fn table(csv: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = csv.lines().map(|l| l.split(',').map(String::from).collect::<Vec<_>>());
    (lines.next().unwrap(), lines.collect())
}

#[test]
fn every_output_shows_the_same_headroom_and_the_flag_overrides_the_file() {
    let text = mm1s(250.0, 20_000, "[slo]\nobjective = \"p99<=150ms\"\nwindow = \"10s\"\n")
        .replace("[\"random\"]", "[\"random\", \"least-work-left\"]");
    let (dir, path) = case(&text);
    let out = dir.path().join("out");
    let table_text = String::from_utf8(run_quiet(&path, &out, &[]).get_output().stdout.clone()).unwrap();
    let csv = fs::read_to_string(out.join("headroom.csv")).unwrap();
    let (head, rows) = table(&csv);
    let col = |n: &str| head.iter().position(|h| h == n).unwrap_or_else(|| panic!("{n} in {head:?}"));
    assert_eq!(rows.len(), 2);
    let (summary_head, summary) = table(&fs::read_to_string(out.join("summary.csv")).unwrap());
    let p99 = summary_head.iter().position(|h| h == "p99_ms").unwrap();
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Headroom at the SLO"), "a section of its own");
    for (r, s) in rows.iter().zip(&summary) {
        assert_eq!(r[col("slo")], "p99<=150ms");
        // ×1.00 is the run: summary.csv's figure.
        assert_eq!(r[col("p99_ms")], s[p99]);
        assert_eq!(r[col("verdict")], "up_to", "{csv}");
        // The crossing, its interval and the rate it means, as the page and the notes show them.
        let (x, lo, rate) = (&r[col("crossing_factor")], &r[col("crossing_factor_lo")], &r[col("crossing_rate_rps")]);
        for shown in [format!("×{x}"), format!("[×{lo}, "), rate.clone()] {
            assert!(html.contains(&shown), "{shown} not in report.html");
            assert!(table_text.contains(&shown), "{shown} not in the table's notes:\n{table_text}");
        }
        let f: f64 = x.parse().unwrap();
        assert!(rate.parse::<f64>().unwrap() - 250.0 * f < 0.051, "{rate} = 250 × {f}");
    }
    // The flag overrides the file's objective (its window kept) ...
    run_quiet(&path, &out, &["--slo", "p99<=200ms"]);
    let csv = fs::read_to_string(out.join("headroom.csv")).unwrap();
    assert!(csv.contains("p99<=200ms") && !csv.contains("p99<=150ms"), "{csv}");
    // ... is read as plan and sweep read theirs, and judges a percentile only.
    let e = lbsim().arg("run").arg(&path).args(["--out"]).arg(&out).args(["--slo", "mean<=50ms"]).assert().code(2);
    let err = String::from_utf8_lossy(&e.get_output().stderr).to_string();
    assert!(err.contains("--slo") && err.contains("allowed: p50, p90, p99, p999"), "{err}");
    let e = lbsim().arg("run").arg(&path).args(["--out"]).arg(&out).args(["--slo", "p98<=50ms"]).assert().code(2);
    assert!(String::from_utf8_lossy(&e.get_output().stderr).contains("did you mean"), "a suggestion");
    // --no-headroom: no search, and the headroom.csv of the run before is removed.
    run_quiet(&path, &out, &["--no-headroom"]);
    assert!(!out.join("headroom.csv").exists());
    assert!(!fs::read_to_string(out.join("report.html")).unwrap().contains("Headroom at the SLO"));
}
