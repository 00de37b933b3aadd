//! Issue 29's reproductions outside the scenario front door, one test per item: output
//! devices, names and paths, exit codes, and the consistency of every command's readers.
//! Each runs the exact input the issue gives and checks the documented outcome: exit 0, 1
//! (a failed check or the environment) or 2 (bad input, located), never a panic.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::common::{case, lbsim, shipped};

/// Anything here that takes longer is a hang.
const HANG: Duration = Duration::from_secs(60);

/// A small valid scenario with `top` at its top (before any table).
fn small(top: &str) -> String {
    format!(
        "{top}\nrequests = 1000\nstrategies = [\"round-robin\", \"p2c\"]\n[arrivals]\nprocess = \"poisson\"\n\
         rate = 100.0\n[service]\ndistribution = \"exponential\"\nmean = \"1ms\"\n[[servers]]\nname = \"s\"\ncount = 2\n"
    )
}

/// Runs `cmd` in `dir`; returns (exit code, stderr), asserting no panic.
fn outcome(cmd: &mut assert_cmd::Command, dir: &Path) -> (Option<i32>, String) {
    let out = cmd.current_dir(dir).timeout(HANG).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code(), stderr)
}

#[cfg(target_os = "linux")]
#[test]
fn stdout_on_a_full_device_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let web = shipped("web-peak.toml");
    let cache = shipped("cache-tier.toml");
    let w = web.to_str().unwrap();
    let c = cache.to_str().unwrap();
    let out = dir.path().join("o");
    let o = out.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["strategies"],
        &["validate", w],
        &["run", w, "--requests", "2000", "--no-charts", "--quiet", "--format", "csv", "--out", o],
        &["run", w, "--requests", "2000", "--no-charts", "--quiet", "--format", "json", "--out", o],
        &["run", w, "--requests", "2000", "--no-charts", "--quiet", "--out", o],
        &["remap", c, "--out", o],
    ];
    for args in cases {
        let full = fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("lbsim"))
            .args(*args)
            .current_dir(dir.path())
            .stdout(full)
            .output()
            .unwrap();
        let (code, stderr) = (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned());
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            "error: cannot write to stdout: No space left on device (os error 28)",
            "{args:?}"
        );
    }
}

#[test]
fn names_that_cannot_name_a_directory_are_refused_at_the_key() {
    for (name, needle) in [
        ("\"..\"", "`..` cannot name an output directory"),
        ("\".\"", "`.` cannot name an output directory"),
        ("\"a\\u0000b\"", "no control character (found U+0000)"),
        (&format!("\"{}\"", "x".repeat(256)), "is 256 bytes long; at most 255"),
    ] {
        let (dir, path) = case(&small(&format!("name = {name}")));
        for cmd in ["validate", "run"] {
            let (code, stderr) = outcome(lbsim().arg(cmd).arg(&path), dir.path());
            assert_eq!(code, Some(2), "{name}: {stderr}");
            assert!(stderr.starts_with(&format!("error: {}:1:1: `name`: ", path.display())), "{stderr}");
            assert!(stderr.contains(needle) && !stderr.contains('\0'), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
        // Nothing written anywhere: not in output/, not beside it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "{name}");
    }
    // The longest name is fine, and names its directory.
    let long = "y".repeat(255);
    let (dir, path) = case(&small(&format!("name = \"{long}\"")));
    let (code, stderr) = outcome(lbsim().args(["run", "--quiet", "--no-charts"]).arg(&path), dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(dir.path().join("output").join(&long).join("summary.csv").is_file());
    // A name from the file name is checked too, and says so.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("...toml");
    fs::write(&path, small("")).unwrap();
    let (code, stderr) = outcome(lbsim().arg("validate").arg(&path), dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("the name comes from the file name"), "{stderr}");
    // A server group's name labels every server in the table, the CSVs and the charts: the
    // same cap (a 12,000-byte one took 600 MB to draw).
    let text = small("").replace("name = \"s\"", &format!("name = \"{}\"", "s".repeat(256)));
    let (dir, path) = case(&text);
    let (code, stderr) = outcome(lbsim().arg("validate").arg(&path), dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`servers[0].name`: is 256 bytes long; at most 255"), "{stderr}");
}

#[test]
fn degenerate_traces_and_their_speed_are_refused_at_the_key() {
    let scenario = |speed: &str| {
        small("name = \"t\"")
            .replace("process = \"poisson\"\nrate = 100.0", &format!("process = \"trace\"\nfile = \"t.csv\"\n{speed}"))
    };
    let cases = [
        ("timestamp\n5\n", "", "arrivals.file", "1 row(s) all arrive at one instant"),
        ("timestamp\n5\n5\n5\n", "", "arrivals.file", "3 row(s) all arrive at one instant"),
        ("timestamp\n1\n2\n3\n", "speed = 1e300", "arrivals.speed", "at most 1e12 req/s"),
    ];
    for (rows, speed, key, needle) in cases {
        let text = scenario(speed).replace("requests = 1000\n", "");
        let (dir, path) = case(&text);
        fs::write(dir.path().join("t.csv"), rows).unwrap();
        let (code, stderr) = outcome(lbsim().arg("validate").arg(&path), dir.path());
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("case.toml:") && stderr.contains(&format!("`{key}`: ")), "{stderr}");
        assert!(stderr.contains(needle) && !stderr.contains("inf"), "{stderr}");
    }
    // A replay cut to rows at one instant is refused at the option that cut it.
    let (dir, path) = case(&scenario("").replace("requests = 1000\n", ""));
    fs::write(dir.path().join("t.csv"), "timestamp\n1\n1\n2\n").unwrap();
    let (code, stderr) = outcome(lbsim().args(["run", "--requests", "2"]).arg(&path), dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`--requests`: the trace's first 2 row(s) all arrive at one instant"), "{stderr}");
}

#[test]
fn a_trace_with_rows_at_one_instant_gets_no_infinite_interval_and_its_charts_drawn() {
    // 2,000 rows 10 ms apart but for 600 that share one instant: batches of the run that
    // span no time had their time averages divided by the smallest float, an infinite
    // interval, and imbalance.png's axis at ±inf kept plotters looping (found by the fuzzer).
    let mut rows = String::from("timestamp\n");
    let mut t = 0.0;
    for i in 0..2000 {
        if !(800..1400).contains(&i) {
            t += 0.01;
        }
        rows.push_str(&format!("{t:.3}\n"));
    }
    let text = small("name = \"t\"")
        .replace("requests = 1000\n", "")
        .replace("process = \"poisson\"\nrate = 100.0", "process = \"trace\"\nfile = \"t.csv\"");
    let (dir, path) = case(&text);
    fs::write(dir.path().join("t.csv"), rows).unwrap();
    let out = dir.path().join("out");
    let (code, stderr) = outcome(lbsim().arg("run").arg(&path).arg("--quiet").arg("--out").arg(&out), dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(out.join("imbalance.png").exists());
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(!summary.contains("inf") && !summary.contains("NaN"), "{summary}");
}

#[test]
fn sweep_and_plan_accept_what_validate_and_run_accept() {
    // A seed past TOML's 2^63 − 1 (read as u64) runs, sweeps and plans alike.
    let (dir, path) = case(&small("name = \"big\"\nseed = 9223372036854775808"));
    for args in [
        vec!["validate"],
        vec!["run", "--quiet", "--no-charts"],
        vec!["sweep", "--vary", "arrivals.rate=50,60", "--quiet", "--strategies", "p2c"],
        vec!["plan", "--slo", "p99<=100ms", "--quiet", "--requests", "500", "--strategies", "p2c"],
    ] {
        let (code, stderr) = outcome(lbsim().args(&args[..1]).arg(&path).args(&args[1..]), dir.path());
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
    let sweep = fs::read_to_string(dir.path().join("output/big/sweep/sweep.json")).unwrap();
    assert!(sweep.contains("\"scenario\": \"big\""), "{sweep}");
    // A date-time is called one.
    let (dir, path) = case(&small("name = \"dt\"\nseed = 1979-05-27T07:32:00Z"));
    let (code, stderr) = outcome(lbsim().arg("validate").arg(&path), dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`seed`: a TOML date-time is not allowed here; expected a whole number"), "{stderr}");
}

#[test]
fn remap_locates_a_strategy_the_added_server_does_not_fit() {
    let text = small("name = \"m\"").replace(
        "strategies = [\"round-robin\", \"p2c\"]",
        "strategies = [\"hash\", { name = \"maglev\", table_size = 2 }]",
    );
    let (dir, path) = case(&text);
    let (code, stderr) = outcome(lbsim().arg("remap").arg(&path), dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.starts_with(&format!("error: {}:3:", path.display())), "{stderr}");
    assert!(
        stderr.contains("`strategies[1]`: maglev(table_size=2): cannot be built for a pool of 3 servers"),
        "{stderr}"
    );
}

/// A finished two-point sweep in `dir/sw`.
fn finished_sweep(dir: &Path) -> std::path::PathBuf {
    let (_, path) = (0, dir.join("s.toml"));
    fs::write(&path, small("name = \"sw\"")).unwrap();
    let (code, stderr) =
        outcome(lbsim().arg("sweep").arg(&path).args(["--vary", "arrivals.rate=50,60", "--quiet", "--out", "sw"]), dir);
    assert_eq!(code, Some(0), "{stderr}");
    dir.join("sw")
}

#[test]
fn merge_reads_a_sweep_directory_as_bad_input_when_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let sw = finished_sweep(dir.path());
    let copy = |name: &str| {
        let to = dir.path().join(name);
        fs::create_dir_all(to.join("points")).unwrap();
        for f in ["sweep.json", "points/000000.csv", "points/000001.csv"] {
            fs::copy(sw.join(f), to.join(f)).unwrap();
        }
        to
    };
    let manifest = fs::read_to_string(sw.join("sweep.json")).unwrap();
    let corrupt = copy("corrupt");
    fs::write(corrupt.join("points/000001.csv"), "garbage\n").unwrap();
    let huge = copy("huge");
    fs::write(huge.join("sweep.json"), manifest.replace("\"points\": 2", "\"points\": 10000000000")).unwrap();
    let escape = copy("escape");
    fs::write(escape.join("sweep.json"), manifest.replace("\"scenario\": \"sw\"", "\"scenario\": \"..\"")).unwrap();
    let broken = copy("broken");
    fs::write(broken.join("sweep.json"), &manifest[..manifest.len() / 2]).unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["sw/sweep.json"], "sw/sweep.json: not a directory"),
        (&["corrupt"], "corrupt/points/000001.csv: a damaged point file"),
        (&["huge"], "huge/sweep.json:"),
        (&["escape"], "escape/sweep.json:"),
        (&["broken"], "broken/sweep.json:"),
    ];
    for (args, needle) in cases {
        let (code, stderr) = outcome(lbsim().arg("merge").args(args).args(["--quiet"]), dir.path());
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(&format!("error: {needle}")), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("output").exists() && !dir.path().join("sweep").exists());
}

#[cfg(feature = "real")]
#[test]
fn real_traffic_commands_call_bad_input_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    // A damaged measurement.json is bad input, located, like a damaged summary.csv.
    let measured = dir.path().join("m");
    fs::create_dir(&measured).unwrap();
    fs::write(measured.join("measurement.json"), "{\n  \"label\": ").unwrap();
    fs::write(measured.join("summary.csv"), "strategy\nx\n").unwrap();
    let (code, stderr) = outcome(lbsim().args(["compare", "m", "m"]), dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.starts_with("error: m/measurement.json:2:"), "{stderr}");
    // Ports past 65535 are bad input too.
    let (_, path) = (0, dir.path().join("b.toml"));
    fs::write(&path, small("name = \"b\"")).unwrap();
    let (code, stderr) = outcome(lbsim().args(["backends", "b.toml", "--port-base", "65535"]), dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`--port-base`: 2 servers from port 65535 would need ports up to 65536"), "{stderr}");
}
