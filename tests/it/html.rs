//! report.html: written by every run, sweep and plan (not with `--no-html`, which removes
//! an earlier one), self-contained (every image a data URI of the chart file's own bytes,
//! no external reference), holding the command that reproduces it, the warnings and the
//! table's figures; composed from the drawn charts it equals what rendering it alone gives.
//! (That it renders in a browser, every image loading and nothing overflowing at 1280 px,
//! is checked by `scripts/html-check.sh` in headless Chromium, run by .ci/run.)

use std::fs;
use std::path::Path;

use crate::common::{case, lbsim, shipped};
use lbsim::report::html::{FILE, base64};
use lbsim::report::run::{EXPORTERS, terminal};

const SCENARIO: &str = r#"
name = "html"
seed = 11
requests = 6_000
strategies = ["round-robin", "least-work-left"]
[arrivals]
process = "poisson"
rate = 1150.0
[service]
distribution = "exponential"
mean = "10ms"
[[servers]]
name = "app"
count = 12
# After the run's end (≈ 5 s): a warning to show.
[[faults]]
server = "app-1"
down_at = "100s"
up_at = "110s"
"#;

/// The page's text outside its style sheet.
fn body(dir: &Path) -> String {
    let html = fs::read_to_string(dir.join(FILE)).unwrap();
    html.split("</style>").nth(1).unwrap().to_string()
}

/// Every `src="…"` and `href="…"` of the page is a data URI: nothing is fetched.
fn self_contained(body: &str) {
    for attr in ["src=\"", "href=\""] {
        for (i, _) in body.match_indices(attr) {
            assert!(body[i + attr.len()..].starts_with("data:image/png;base64,"), "external reference at {i}");
        }
    }
    assert!(!body.contains("<script") && !body.contains("<link") && !body.contains("url("), "fetches something");
}

#[test]
fn a_run_writes_a_self_contained_report_with_its_charts_table_warnings_and_command() {
    let (dir, file) = case(SCENARIO);
    let out = dir.path().join("out");
    lbsim().args(["run", "-q", "--out"]).arg(&out).arg(&file).assert().success();
    let page = body(&out);
    self_contained(&page);
    let sc = lbsim::scenario::Scenario::load(&file).unwrap();
    let rep = lbsim::run::run(&sc, &lbsim::run::RunOptions { threads: None, progress: false }).unwrap();
    // Every chart the run drew, embedded byte for byte, in the registry's order.
    let mut at = 0;
    for e in EXPORTERS.iter().filter(|e| e.is_chart() && e.wanted(&rep)) {
        let uri = base64(&fs::read(out.join(e.file_name())).unwrap());
        let found = page[at..].find(&uri).unwrap_or_else(|| panic!("{} not embedded (or out of order)", e.file_name()));
        at += found + uri.len();
    }
    // The table's cells as the terminal computes them, the warnings, the command.
    let view = terminal::view(&rep, &terminal::Layout::Fit);
    for ((label, _), cells) in &view.rows {
        assert!(page.contains(&format!(">{label}</td>")), "{label}");
        for (text, _) in cells {
            assert!(page.contains(&format!(">{text}</td>")), "{label}: {text}");
        }
    }
    assert!(!rep.warnings.is_empty(), "the fault after the run's end: a warning to show");
    for w in &rep.warnings {
        let text = lbsim::report::html::escape(&w.to_string());
        assert!(page.contains(&text), "warning missing: {text}");
    }
    let command = format!(
        "lbsim run {} --seed 11 --requests 6000 --replications 1 --strategies round-robin,least-work-left",
        file.display()
    );
    assert!(page.contains(&lbsim::report::html::escape(&command)), "{command}");
    // Composed from the charts drawn beside it, it equals rendering it alone.
    let html = EXPORTERS.iter().find(|e| e.file_name() == FILE).unwrap();
    assert!(html.render(&rep).unwrap() == fs::read(out.join(FILE)).unwrap(), "compose differs from render");

    // --no-html removes it; --no-charts keeps it, without images.
    lbsim().args(["run", "-q", "--no-html", "--out"]).arg(&out).arg(&file).assert().success();
    assert!(!out.join(FILE).exists());
    lbsim().args(["run", "-q", "--no-charts", "--out"]).arg(&out).arg(&file).assert().success();
    let page = body(&out);
    assert!(!page.contains("<img") && page.contains("--no-charts"), "a page without charts says why");
}

#[test]
fn the_command_it_shows_reproduces_the_run() {
    let (dir, file) = case(SCENARIO);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    lbsim().args(["run", "-q", "--seed", "5", "--requests", "4000", "--out"]).arg(&a).arg(&file).assert().success();
    let page = fs::read_to_string(a.join(FILE)).unwrap();
    let line = page.lines().find(|l| l.starts_with("<pre><code>lbsim run ")).unwrap();
    let command = line.trim_start_matches("<pre><code>").trim_end_matches("</code></pre>");
    let words: Vec<&str> = command.split(' ').skip(1).collect();
    lbsim().args(&words).args(["-q", "--out"]).arg(&b).assert().success();
    for f in ["summary.csv", "servers.csv", FILE] {
        assert!(fs::read(a.join(f)).unwrap() == fs::read(b.join(f)).unwrap(), "{f} differs");
    }
}

#[test]
fn sweeps_and_plans_write_one_too() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("sweep");
    let web = shipped("web-peak.toml");
    let args = ["--vary", "arrivals.rate=600,900", "--requests", "3000", "--strategies", "random,p2c", "-q"];
    lbsim().arg("sweep").arg(&web).args(args).arg("--out").arg(&sweep).assert().success();
    let page = body(&sweep);
    self_contained(&page);
    for chart in ["sweep_p99.png", "sweep_mean.png"] {
        assert!(page.contains(&base64(&fs::read(sweep.join(chart)).unwrap())), "{chart}");
    }
    let command =
        format!("lbsim sweep {} --vary arrivals.rate=600,900 --requests 3000 --strategies random,p2c", web.display());
    assert!(page.contains(&command), "{command}");
    lbsim().arg("sweep").arg(&web).args(args).args(["--no-html", "--out"]).arg(&sweep).assert().success();
    assert!(!sweep.join(FILE).exists());

    let plan = tmp.path().join("plan");
    lbsim()
        .arg("plan")
        .arg(&web)
        .args(["--slo", "p99<=100ms", "--rate", "1500", "--requests", "4000", "--strategies", "random", "-q"])
        .arg("--out")
        .arg(&plan)
        .assert()
        .success();
    let page = body(&plan);
    self_contained(&page);
    assert!(page.contains(&base64(&fs::read(plan.join("plan.png")).unwrap())));
    assert!(page.contains("--slo &#39;p99&lt;=100ms&#39; --rate 1500 --group web --seed"), "the plan's command");
}

#[test]
fn a_sweep_with_an_slo_reports_each_strategys_headroom() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let web = shipped("web-peak.toml");
    let args =
        ["--vary", "arrivals.rate=600,800,950,990", "--requests", "8000", "--strategies", "random,least-work-left"];
    let o = lbsim()
        .arg("sweep")
        .arg(&web)
        .args(args)
        .args(["--slo", "p99<=150ms", "-q", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8(o.stdout).unwrap();
    let csv = fs::read_to_string(out.join("headroom.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("strategy,slo,verdict,highest_met_arrivals.rate,highest_met_rho,"), "{csv}");
    assert_eq!(lines.len(), 3, "{csv}");
    // The terminal and report.html say what headroom.csv says.
    let page = body(&out);
    assert!(page.contains("Headroom at p99 ≤ 150ms") && page.contains("--slo &#39;p99&lt;=150ms&#39;"));
    for line in &lines[1..] {
        let cells: Vec<&str> = line.split(',').collect();
        let (label, verdict, highest) = (cells[0], cells[2], cells[3]);
        let text = table.lines().find(|l| l.trim_start().starts_with(&format!("{label} ")));
        let text = text.unwrap_or_else(|| panic!("{label} not in the terminal's headroom: {table}"));
        match verdict {
            "up_to" | "everywhere" => assert!(text.contains(&format!("= {highest} ")), "{text} vs {line}"),
            v => assert_eq!(v, "never", "{line}"),
        }
        assert!(page.contains(&format!(">{label}</td>")), "{label}");
    }
    // Random (an M/M/1 per server) misses 150 ms before least-work-left (M/M/10) does.
    let highest = |l: &str| lines.iter().find(|r| r.starts_with(l)).unwrap().split(',').nth(3).unwrap().to_string();
    let parse = |s: String| s.parse::<f64>().unwrap_or(0.0);
    assert!(parse(highest("random,")) < parse(highest("least-work-left,")), "{csv}");
    // Without --slo the file goes; a metric the sweep does not chart is refused.
    lbsim().arg("sweep").arg(&web).args(args).args(["-q", "--out"]).arg(&out).assert().success();
    assert!(!out.join("headroom.csv").exists());
    lbsim()
        .arg("sweep")
        .arg(&web)
        .args(args)
        .args(["--slo", "drop_rate<=1%", "-q", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("p99 or mean"));
}
