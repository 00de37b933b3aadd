//! Real traffic on loopback: `lbsim backends`, `lbsim load`, `lbsim compare` (feature `real`).
//!
//! The smoke test is CI's check of the whole loop: backends plus the load generator straight
//! at one backend, 500 requests; the measured mean must be within 15% of the simulated one.
//! Common random numbers (the same arrivals and demands) make that hold on a busy machine:
//! what differs is only timing error and the fixed overhead the calibration measures.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{case, lbsim};

/// One server, exponential 10 ms at 50 req/s (ρ = 0.5), 500 requests: about 10 s.
const ONE: &str = r#"name = "one"
seed = 7
requests = 500
warmup_requests = 50
strategies = ["round-robin"]

[arrivals]
process = "poisson"
rate = 50.0

[service]
distribution = "exponential"
mean = "10ms"

[[servers]]
name = "solo"
workers = 1
queue_capacity = 1
"#;

/// `lbsim backends` in the background; stopped with SIGINT (or killed) when dropped.
struct Backends {
    child: Child,
    /// (server name, port) in scenario order.
    ports: Vec<(String, u16)>,
}

impl Backends {
    fn start(scenario: &Path, extra: &[&str]) -> Backends {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("lbsim"))
            .arg("backends")
            .arg(scenario)
            .args(["--port-base", "0", "--time-limit", "3m"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut ports = Vec::new();
        loop {
            let line = rx.recv_timeout(Duration::from_secs(60)).expect("backends print a ready line within 60 s");
            if line.starts_with("ready:") {
                break;
            }
            let (name, url) = line.split_once(' ').unwrap();
            let port = url.rsplit(':').next().unwrap().parse().unwrap();
            ports.push((name.to_string(), port));
        }
        Backends { child, ports }
    }

    /// Stops with Ctrl-C (SIGINT) and returns (success, stderr).
    fn stop(mut self) -> (bool, String) {
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        let mut err = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let ok = self.child.wait().unwrap().success();
        (ok, err)
    }
}

impl Drop for Backends {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw HTTP/1.0 GET (what nginx sends upstream); returns the response head.
fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp
}

fn summary(dir: &Path, column: &str) -> String {
    let text = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    row[head.iter().position(|h| *h == column).unwrap()].to_string()
}

#[test]
fn smoke_backends_and_load_match_the_simulation() {
    let (dir, file) = case(ONE);
    let log = dir.path().join("backends.csv");
    let backends = Backends::start(&file, &["--realtime", "--log", log.to_str().unwrap()]);
    let port = backends.ports[0].1;
    let (sim, meas) = (dir.path().join("sim"), dir.path().join("meas"));
    lbsim().args(["run", file.to_str().unwrap(), "--no-charts", "--quiet", "--out"]).arg(&sim).assert().success();
    lbsim()
        .args(["load", file.to_str().unwrap(), "--no-charts", "--quiet", "--realtime", "--calibration", "100"])
        .args(["--target", &format!("http://127.0.0.1:{port}"), "--out"])
        .arg(&meas)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    // Every request answered (a waiting room of 1 may drop a few, as in the simulation).
    let requests: u64 = summary(&meas, "requests").parse().unwrap();
    let completed: u64 = summary(&meas, "completed").parse().unwrap();
    let dropped: u64 = summary(&meas, "dropped").parse().unwrap();
    assert_eq!(requests, 450);
    assert_eq!(completed + dropped, requests);
    assert_eq!(summary(&meas, "strategy"), "measured");
    assert!(meas.join("measurement.json").exists() && meas.join("percentiles.csv").exists());
    let out = lbsim()
        .args(["compare"])
        .arg(&sim)
        .arg(&meas)
        .args(["--check", "mean=15%"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("ADDED to the simulated"), "{out}");
    let (ok, err) = backends.stop();
    assert!(ok, "backends exit 0 on Ctrl-C: {err}");
    assert!(err.contains("wait overshoot: mean"), "{err}");
    same_demands_as_the_simulation(&file, &log);
}

/// Common random numbers: the backends received request n with the demand `lbsim run`
/// simulates for request n (replication 0's stream), every request once.
fn same_demands_as_the_simulation(file: &Path, log: &Path) {
    let sc = lbsim::scenario::Scenario::load(file).unwrap();
    let stream: Vec<_> = lbsim::workload::RequestStream::new(&sc.workload(), 0).collect();
    let text = std::fs::read_to_string(log).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "server,id,demand_s,arrival_s,start_s,end_s,responded_s,status");
    let mut seen = vec![false; stream.len()];
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let Ok(id) = f[1].parse::<usize>() else { continue }; // calibration: no id
        let demand: f64 = f[2].parse().unwrap();
        assert!(!seen[id], "request {id} twice");
        seen[id] = true;
        assert!((demand - stream[id].demand).abs() < 1e-9, "request {id}: {demand} vs {}", stream[id].demand);
    }
    assert!(seen.iter().all(|&s| s), "every request reached the backend");
}

#[test]
fn backends_serve_demands_drop_when_full_and_reject_bad_requests() {
    let (_dir, file) = case(ONE);
    let backends = Backends::start(&file, &[]);
    let port = backends.ports[0].1;
    assert_eq!(backends.ports[0].0, "solo");
    let ok = get(port, "/?id=3&d=0.001");
    assert!(ok.starts_with("HTTP/1.0 200") || ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("x-lbsim-server: solo") && ok.contains("x-lbsim-service: 0.001"), "{ok}");
    // Three at once: one in service and one waiting fill the waiting room of 1, so exactly
    // one of them is refused, whichever arrives last.
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let t = std::thread::spawn(move || get(port, "/?d=1.5"));
            std::thread::sleep(Duration::from_millis(50));
            t
        })
        .collect();
    let answers: Vec<String> = calls.into_iter().map(|t| t.join().unwrap()).collect();
    let refused: Vec<&String> = answers.iter().filter(|a| a.contains(" 503 ")).collect();
    assert_eq!(refused.len(), 1, "{answers:?}");
    assert!(refused[0].contains("x-lbsim-dropped: 1"), "{}", refused[0]);
    assert_eq!(answers.iter().filter(|a| a.contains(" 200 ")).count(), 2, "{answers:?}");
    let bad = get(port, "/?d=-1");
    assert!(bad.contains(" 400 "), "{bad}");
    let (ok, err) = backends.stop();
    assert!(ok, "{err}");
    assert!(err.contains("solo: 5 requests, 3 completed, 1 dropped, 1 bad"), "{err}");
}

#[test]
fn load_counts_connection_failures_and_conserves_requests() {
    let fast = crate::common::edit(ONE, "rate = 50.0", "rate = 2000.0");
    let (dir, file) = case(&fast);
    // A port nothing listens on: bind one, read its number, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = dir.path().join("m");
    lbsim()
        .args(["load", file.to_str().unwrap(), "--no-charts", "--quiet", "--calibration", "0", "--requests", "100"])
        .args(["--target", &format!("http://127.0.0.1:{port}"), "--out"])
        .arg(&out)
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    assert_eq!(summary(&out, "requests"), "50"); // 100 minus the warm-up of 50
    assert_eq!(summary(&out, "failed"), "50");
    assert_eq!(summary(&out, "completed"), "0");
    let m = std::fs::read_to_string(out.join("measurement.json")).unwrap();
    assert!(m.contains("\"valid\": false") && m.contains("no measured request completed"), "{m}");
}

#[test]
fn load_refuses_remote_targets_and_unreplayable_scenarios() {
    let (_dir, file) = case(ONE);
    let f = file.to_str().unwrap();
    lbsim()
        .args(["load", f, "--target", "http://192.0.2.1:80"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--allow-remote"));
    lbsim().args(["load", f, "--target", "https://127.0.0.1:1"]).assert().code(2);
    let closed = crate::common::edit(
        ONE,
        "process = \"poisson\"\nrate = 50.0",
        "process = \"closed\"\nclients = 4\nthink_time = \"10ms\"",
    );
    let (_d2, closed) = case(&closed);
    lbsim()
        .args(["load", closed.to_str().unwrap(), "--target", "http://127.0.0.1:1"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("closed loop"));
}

#[test]
fn compare_refuses_different_streams() {
    let (dir, file) = case(ONE);
    let f = file.to_str().unwrap();
    let (sim, meas) = (dir.path().join("sim"), dir.path().join("meas"));
    lbsim().args(["run", f, "--no-charts", "--quiet", "--seed", "8", "--out"]).arg(&sim).assert().success();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    lbsim()
        .args(["load", f, "--no-charts", "--quiet", "--calibration", "0", "--requests", "20", "--out"])
        .arg(&meas)
        .args(["--target", &format!("http://127.0.0.1:{port}"), "--time-limit", "30s"])
        .assert()
        .success();
    lbsim()
        .arg("compare")
        .arg(&sim)
        .arg(&meas)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("same request stream"));
    lbsim().arg("compare").arg(&sim).arg(dir.path()).assert().code(2);
}
