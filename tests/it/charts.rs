//! The rules every chart follows, pinned on every shipped scenario (cut to a few thousand
//! requests), not on pixels: what the chart drew is recorded while it renders
//! ([`lbsim::report::charts::inspect`]) and checked —
//!
//! - a figure printed on a chart is the CSV's (same value, printed as [`style::figure`], a
//!   load ρ as [`style::rho`]);
//! - every chart marks an UNSTABLE strategy;
//! - an axis over values spanning more than two decades is logarithmic;
//! - a linear axis that does not start at zero spans at least [`axis::MIN_REL_SPAN`] of its
//!   largest magnitude;
//! - no text leaves the image, overlaps another text or is shortened with "…".

use std::collections::HashMap;

use lbsim::report::charts::inspect::{self, Drawn};
use lbsim::report::charts::{axis, style};
use lbsim::report::run::EXPORTERS;
use lbsim::report::{Exporter, Report};
use lbsim::run::{self, RunOptions};
use lbsim::scenario::Overrides;
use lbsim::scenario::Scenario;

/// Every shipped scenario, cut to `requests` per replication.
fn shipped(requests: u64) -> Vec<(String, Report)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(crate::common::repo().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for path in files {
        let mut sc = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        // A trace or a closed loop may refuse a count; then it runs as shipped.
        let cut = Overrides { requests: Some(requests.min(sc.requests)), ..Overrides::default() };
        let _ = cut.apply(&mut sc);
        let report = run::run(&sc, &RunOptions { threads: None, progress: false }).expect("run");
        out.push((path.file_stem().unwrap().to_string_lossy().into_owned(), report));
    }
    out
}

/// One CSV as a table: rows of (column → cell).
fn table(bytes: &[u8]) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(bytes);
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records().map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(str::to_string)).collect()).collect()
}

fn render(report: &Report, name: &str) -> (Vec<u8>, Drawn) {
    let e: &dyn Exporter = *EXPORTERS.iter().find(|e| e.file_name() == name).unwrap();
    let (bytes, drawn) = inspect::capture(|| e.render(report));
    (bytes.unwrap_or_else(|err| panic!("{name}: {err}")), drawn)
}

/// The CSVs a chart's figures come from.
struct Csvs {
    summary: Vec<HashMap<String, String>>,
    servers: Vec<HashMap<String, String>>,
    latency: Vec<HashMap<String, String>>,
    phases: Vec<HashMap<String, String>>,
    faults: Vec<HashMap<String, String>>,
}

/// The CSV's value for a figure a chart printed (None when the CSV has no such figure).
/// (`what_value`: the chart's value, to find it among several rows of one strategy.)
fn csv_value(what: &str, what_value: f64, owner: &str, csvs: &Csvs, server_count: f64) -> Option<f64> {
    let Csvs { summary, servers, latency, phases, faults } = csvs;
    let row = summary.iter().find(|r| r["strategy"] == owner)?;
    let num = |c: &str| row.get(c).and_then(|v| v.parse::<f64>().ok());
    if let Some(phase) = what.strip_prefix("phase p99 ") {
        let row = phases.iter().find(|r| r["strategy"] == owner && r["phase"] == phase)?;
        return row["p99_ms"].parse().ok();
    }
    match what {
        "windowed_p99_max" => latency
            .iter()
            .filter(|r| r["strategy"] == owner)
            .filter_map(|r| r["p99_ms"].parse::<f64>().ok())
            .reduce(f64::max),
        "rho_in_window" => faults
            .iter()
            .filter(|r| r["strategy"] == owner)
            .filter_map(|r| r["rho_in_window"].parse::<f64>().ok())
            .find(|v| (v - what_value).abs() <= 5e-7 * v.abs().max(1.0)),
        "p99" => num("p99_ms"),
        "open_model_p99" => num("open_model_p99_ms"),
        "mean_in_system_per_server" => num("mean_in_system").map(|v| v / server_count),
        "idle_while_waiting_percent" => num("idle_while_waiting").map(|v| v * 100.0),
        "max_in_system" => servers
            .iter()
            .filter(|r| r["strategy"] == owner)
            .filter_map(|r| r["max_in_system"].parse::<f64>().ok())
            .reduce(f64::max),
        column => num(column),
    }
}

#[test]
fn every_chart_of_every_shipped_scenario_follows_the_rules() {
    let mut problems: Vec<String> = Vec::new();
    let mut figures_checked = 0;
    let mut logs = 0;
    for (name, report) in shipped(6_000) {
        let csv = |f: &str| {
            let e: &dyn Exporter = *EXPORTERS.iter().find(|e| e.file_name() == f).unwrap();
            table(&e.render(&report).unwrap())
        };
        let csvs = Csvs {
            summary: csv("summary.csv"),
            servers: csv("servers.csv"),
            latency: csv("latency_timeseries.csv"),
            phases: csv("phases.csv"),
            faults: csv("faults.csv"),
        };
        let unstable = report.strategies.iter().any(|s| s.is_unstable());
        let n_servers = report.scenario.server_count() as f64;
        for e in EXPORTERS.iter().filter(|e| e.is_chart() && e.wanted(&report)) {
            let chart = e.file_name();
            let (_, drawn) = render(&report, chart);
            let at = |what: String| format!("{name}/{chart}: {what}");
            // Figures: the CSV's value, printed as `figure` prints it.
            for f in &drawn.figures {
                let Some(v) = csv_value(&f.what, f.value, &f.owner, &csvs, n_servers) else {
                    problems.push(at(format!("{} of {} is in no CSV", f.what, f.owner)));
                    continue;
                };
                // CSV cells carry 4 decimals; imbalance.png shows below half the table's last
                // digit as 0, as the table does.
                let shown_as_zero = f.value == 0.0
                    && table_decimals(&f.what)
                        .is_some_and(|d| chart == "imbalance.png" && v.abs() < 0.5 * 10f64.powi(-(d as i32)));
                if (f.value - v).abs() > 5e-5 * v.abs().max(1.0) && !shown_as_zero {
                    problems.push(at(format!("{} of {}: chart {} but CSV {v}", f.what, f.owner, f.value)));
                }
                // Loads with the table's 3 decimals; imbalance's figures with the table's
                // decimals or 3 significant digits, whichever shows more; counts whole;
                // everything else as `figure` prints it.
                let printed = if f.what.starts_with("rho") {
                    style::rho(f.value)
                } else if let Some(d) = table_decimals(&f.what).filter(|_| chart == "imbalance.png") {
                    style::figure_at(f.value, d)
                } else if f.what == "max_in_system" {
                    style::thousands(f.value as u64)
                } else {
                    style::figure(f.value)
                };
                if f.text != printed {
                    problems.push(at(format!("{} of {} printed {:?}", f.what, f.owner, f.text)));
                }
                // Never fewer than 3 significant digits (issue 26, defect 6: "1" for 1.005).
                if significant_digits(&f.text) < 3 && f.value.abs() >= 0.5 && f.value.fract().abs() > 1e-9 {
                    problems.push(at(format!("{} of {}: {:?} has fewer than 3 digits", f.what, f.owner, f.text)));
                }
                figures_checked += 1;
            }
            // Axes.
            for a in &drawn.axes {
                let (lo, hi) = a.data;
                if lo > 0.0 && hi / lo > 100.0 && !a.log {
                    problems.push(at(format!("{}: values {lo}..{hi} on a linear axis", a.name)));
                }
                logs += usize::from(a.log);
                // No log axis stretched over decades by a value the table prints as 0 (issue
                // 26, defect 7: gray-failure's idle-while-waiting axis spanned 0.0001–100%).
                if let Some(d) =
                    a.name.strip_prefix("imbalance ").and_then(|n| table_decimals(n.trim_end_matches(" x")))
                    && a.log
                    && a.data.0 < 0.5 * 10f64.powi(-(d as i32))
                {
                    problems
                        .push(at(format!("{}: log axis down to {}, below the table's resolution", a.name, a.data.0)));
                }
                let (r0, r1) = a.range;
                if !a.log && r0 != 0.0 && r1 - r0 < axis::MIN_REL_SPAN * r0.abs().max(r1.abs()) * (1.0 - 1e-9) {
                    problems.push(at(format!("{}: span {r0}..{r1} below the minimum", a.name)));
                }
            }
            // No bar on a log axis: its length from an arbitrary decade means nothing (issue 26,
            // defect 7: heterogeneous's percentiles.png).
            for a in drawn.axes.iter().filter(|a| a.log) {
                if let Some(panel) = a.name.strip_prefix("percentiles ").and_then(|n| n.strip_suffix(" x"))
                    && drawn.levels.iter().any(|l| l.what == format!("bar {panel}"))
                {
                    problems.push(at(format!("bars on the log axis {}", a.name)));
                }
            }
            // The busiest server drawn is summary.csv's rho_max, with replications too (issue
            // 22: bars average the hot spot away; the rank profile's ticks keep it).
            if chart == "server_load.png" {
                for row in &csvs.summary {
                    let owner = &row["strategy"];
                    let top =
                        drawn.levels.iter().filter(|l| &l.owner == owner).map(|l| l.value).fold(f64::NAN, f64::max);
                    let rho_max: f64 = row["rho_max"].parse().unwrap_or(f64::NAN);
                    if rho_max.is_finite() && (top.is_nan() || (top - rho_max).abs() > 5e-5 * rho_max.max(1.0)) {
                        problems.push(at(format!("{owner}: highest load drawn {top}, rho_max {rho_max}")));
                    }
                }
            }
            // A strategy whose queues grow is marked on every chart (issue 26, defect 5).
            if unstable && !drawn.texts.iter().any(|t| t.text.contains("UNSTABLE")) {
                problems.push(at("an UNSTABLE strategy is not marked".to_string()));
            }
            // Every chart's text layout (each chart of the registry).
            check_text(&drawn, &mut |what| problems.push(at(what)));
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    assert!(figures_checked > 200, "only {figures_checked} figures recorded");
    assert!(logs > 0, "no log axis anywhere: heterogeneous's percentiles need one");
}

/// The decimals the table prints an imbalance.png figure with (None: not one of them).
fn table_decimals(what: &str) -> Option<usize> {
    match what {
        "queue_spread" => Some(2),
        "idle_while_waiting_percent" => Some(1),
        "load_max_over_mean" => Some(3),
        _ => None,
    }
}

/// Significant digits of a printed number ("1,656" 4, "62" 2, "0.0123" 3, "1.00" 3).
fn significant_digits(text: &str) -> usize {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let trimmed = digits.trim_start_matches('0');
    trimmed.len()
}

/// No text outside the image, shortened, or overlapping another.
fn check_text(drawn: &Drawn, problem: &mut dyn FnMut(String)) {
    let (w, h) = (drawn.size.0 as i32, drawn.size.1 as i32);
    let texts: Vec<_> = drawn.texts.iter().filter(|t| !t.text.trim().is_empty()).collect();
    for (i, t) in texts.iter().enumerate() {
        let (l, top, r, b) = t.bounds;
        if l < 0 || top < 0 || r > w || b > h {
            problem(format!("{:?} at {:?} leaves the {w}×{h} image", t.text, t.bounds));
        }
        if t.text.contains('…') {
            problem(format!("{:?} is shortened", t.text));
        }
        for u in &texts[..i] {
            if t.overlaps(u) {
                problem(format!("{:?} {:?} overlaps {:?} {:?}", t.text, t.bounds, u.text, u.bounds));
            }
        }
    }
}

#[test]
fn the_rules_catch_what_they_are_meant_to() {
    use inspect::{AxisRecord, TextBox};
    let text = |s: &str, bounds| TextBox { text: s.into(), px: 16.0, bounds };
    let drawn = Drawn {
        size: (100, 100),
        texts: vec![text("a", (0, 0, 20, 10)), text("b", (15, 5, 30, 15)), text("c…", (90, 90, 110, 100))],
        axes: vec![AxisRecord { name: "x".into(), range: (0.0, 1.0), log: false, data: (1.0, 1.0) }],
        figures: vec![],
        levels: vec![],
        markers: vec![],
    };
    let mut found = Vec::new();
    check_text(&drawn, &mut |p| found.push(p));
    assert_eq!(found.len(), 3, "{found:?}");
}

/// Round robin twice (the second starting where the first does: the same picks, the same
/// figures) and random, clearly worse at ρ = 0.9: the ranks are =1, =1, 3.
fn two_round_robins_and_random() -> lbsim::report::run::Report {
    let sc = crate::common::scenario(
        "seed = 3\nrequests = 20_000\nstrategies = [\"round-robin\", \"random\", { name = \"round-robin\", offset = 0 }]\n\
         [arrivals]\nprocess = \"poisson\"\nrate = 360.0\n[service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
         [[servers]]\nname = \"s\"\ncount = 4\n",
    );
    run::run(&sc, &RunOptions { threads: None, progress: false }).expect("run")
}

#[test]
fn percentiles_ranks_share_a_rank_no_paired_comparison_tells_apart() {
    // Round robin twice (the second starting where the first does: the same picks, the same
    // p99) and random, clearly worse at ρ = 0.9: ranks =1, =1, 3.
    let report = two_round_robins_and_random();
    let order = lbsim::report::run::charts::percentiles::ranking(&report);
    assert_eq!(order, vec![0, 2, 1]);
    let ranks = lbsim::report::run::charts::percentiles::ranks(&report, &order);
    assert_eq!(ranks, vec![(1, true), (1, true), (3, false)]);
}

#[test]
fn imbalance_ranks_share_a_rank_no_paired_comparison_tells_apart() {
    // As percentiles.png (and the table's ≈): round robin twice, the same picks, tie at 1;
    // random, clearly worse, third.
    let report = two_round_robins_and_random();
    let (_, drawn) = render(&report, "imbalance.png");
    let count = |t: &str| drawn.texts.iter().filter(|x| x.text.starts_with(t)).count();
    assert_eq!(count("=1. round-robin"), 2, "{:?}", drawn.texts.iter().map(|t| &t.text).collect::<Vec<_>>());
    assert_eq!(count("3. random"), 1);
}

/// Markers hidden under a later one (its disc covers theirs), as "owner under owner".
pub(crate) fn hidden_markers(drawn: &Drawn) -> Vec<String> {
    let m = &drawn.markers;
    let mut out = Vec::new();
    for (i, (a, pa, ra)) in m.iter().enumerate() {
        for (b, pb, rb) in &m[i + 1..] {
            let d = f64::from((pa.0 - pb.0).pow(2) + (pa.1 - pb.1).pow(2)).sqrt();
            if d + f64::from(*ra) <= f64::from(*rb) {
                out.push(format!("{a} at {pa:?} under {b} at {pb:?}"));
            }
        }
    }
    out
}

/// Values above a chart's value axis (`axis`, by name) that are not written as a figure,
/// and intervals drawn for them (issue 26, defect 4: an off-axis value is an arrow with its
/// value, never a whisker pinned to the edge).
pub(crate) fn off_axis_problems(drawn: &Drawn, axis: &str, values: &[(String, f64)]) -> Vec<String> {
    let top = drawn.axes.iter().find(|a| a.name == axis).unwrap_or_else(|| panic!("no axis {axis}")).range.1;
    let mut out = Vec::new();
    for (owner, v) in values.iter().filter(|(_, v)| *v > top) {
        let written = drawn.figures.iter().any(|f| &f.owner == owner && f.value == *v && f.text == style::figure(*v));
        if !written {
            out.push(format!("{owner}'s {v} above the axis ({top}) is not written"));
        }
    }
    for l in drawn.levels.iter().filter(|l| l.what == "interval" && l.value > top) {
        out.push(format!("{}'s {} above the axis ({top}) has an interval", l.owner, l.value));
    }
    out
}

#[test]
fn sweep_values_off_the_axis_are_arrows_with_their_values_and_no_marker_hides_another() {
    use lbsim::report::sweep::charts::P99_CHART;
    use lbsim::report::sweep::{Axis, PointRow, StrategyCells, SweepView};
    // Three strategies over a rate sweep through capacity (1,000 req/s): the two beyond it
    // far above the stable points' axis; two strategies equal at 500 req/s.
    let cells = |label: &str, p99: f64, unstable: bool| StrategyCells {
        label: label.into(),
        mean: (p99 / 4.0, None),
        p99: (p99, Some(p99 * 0.05)),
        throughput: f64::NAN,
        unstable,
    };
    let point = |i: usize, rate: f64, p: [f64; 3]| PointRow {
        point: i,
        values: vec![rate.to_string()],
        rho: rate / 1000.0,
        rate,
        capacity: 1000.0,
        replications: 3,
        strategies: vec![
            cells("random", p[0], rate >= 1000.0),
            cells("round-robin", p[1], rate >= 1000.0),
            cells("least-work-left", p[2], rate >= 1000.0),
        ],
    };
    let view = SweepView {
        scenario: "t".into(),
        axes: vec![Axis { column: "arrivals.rate".into(), log: false, names: None }],
        points: vec![
            point(0, 500.0, [40.0, 40.0, 25.0]),
            point(1, 800.0, [120.0, 60.0, 30.0]),
            point(2, 1100.0, [81_671.0, 95_000.0, 120_000.0]),
            point(3, 1200.0, [286_528.0, 200_000.0, 150_000.0]),
        ],
        closed: false,
        command: String::new(),
        slo: None,
    };
    let (bytes, drawn) = inspect::capture(|| lbsim::report::Exporter::render(&P99_CHART, &view));
    bytes.unwrap();
    let values: Vec<(String, f64)> =
        view.points.iter().flat_map(|p| p.strategies.iter().map(|s| (s.label.clone(), s.p99.0))).collect();
    let mut problems = off_axis_problems(&drawn, "p99 response time y", &values);
    problems.extend(hidden_markers(&drawn));
    assert!(problems.is_empty(), "{problems:#?}");
    // Six values off the axis, each written; the stable points all drawn as markers.
    assert_eq!(drawn.figures.len(), 6, "{:?}", drawn.figures);
    assert_eq!(drawn.markers.len(), 6);
}

/// Issue 26, defect 8: the fact that explains a result is in the run's header (terminal and
/// report.html) and in every run chart's facts line: the balancers and their view (a board
/// 5 s stale, instances counting only their own requests) and a trace's burst (its busiest
/// span's rate and ρ, which the mean hides).
#[test]
fn the_header_and_subtitles_say_what_explains_a_result() {
    let cases: [(&str, &[&str], &[&str]); 5] = [
        (
            "stale-board",
            &["balancers: 1 instance, periodic view (a snapshot every 5s)"],
            &["1 balancer, view a snapshot every 5s"],
        ),
        (
            "k8s-ingress",
            &["balancers: 12 instances (each request to a random one), local view"],
            &["12 balancers, local view"],
        ),
        (
            "sidecars",
            &["balancers: 50 instances (each request to a random one), local view"],
            &["50 balancers, local view"],
        ),
        (
            "nginx-workers",
            &["balancers: 2 instances (runs of 13 requests on average), local view"],
            &["2 balancers, local view"],
        ),
        (
            "trace-replay",
            &["ρ = 0.722 (peak 927.1 req/s over 1.406s from 4.005s: ρ = 1.567)"],
            &["peak 927 req/s over 1.406s (ρ 1.57)"],
        ),
    ];
    for (name, header, subtitle) in cases {
        let mut sc = Scenario::load(&crate::common::shipped(&format!("{name}.toml"))).unwrap();
        if name != "trace-replay" {
            Overrides { requests: Some(3000), replications: Some(1), ..Default::default() }.apply(&mut sc).unwrap();
        }
        let report = run::run(&sc, &RunOptions::default()).unwrap();
        let table = lbsim::report::run::terminal::render(&report, false);
        let head: String = table.lines().take_while(|l| !l.starts_with('┌')).collect::<Vec<_>>().join(" ");
        for l in table.lines().take_while(|l| !l.starts_with('┌')) {
            assert!(l.chars().count() <= 120, "{name}: {l}");
        }
        for fact in header {
            assert!(head.contains(fact), "{name}: the header lacks `{fact}`:\n{head}");
        }
        let facts = lbsim::report::run::charts::facts(&report);
        for fact in subtitle {
            assert!(facts.contains(fact), "{name}: the charts' facts lack `{fact}`: {facts}");
        }
        // Drawn on the charts, not just composed.
        let (_, drawn) = render(&report, "queue_timeline.png");
        let text: String = drawn.texts.iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" ");
        assert!(text.contains(subtitle[0].split(' ').next_back().unwrap()), "{name}: {text}");
    }
}
