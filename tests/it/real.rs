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

/// `lbsim load FILE --no-charts --quiet --calibration 0 EXTRA --target
/// http://127.0.0.1:PORT --out OUT`, bounded to 60 s.
pub(crate) fn load_at(file: &Path, port: u16, out: &Path, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = lbsim();
    cmd.args(["load", file.to_str().unwrap(), "--no-charts", "--quiet", "--calibration", "0"])
        .args(extra)
        .args(["--target", &format!("http://127.0.0.1:{port}"), "--out"])
        .arg(out)
        .timeout(Duration::from_secs(60));
    cmd
}

pub(crate) fn summary(dir: &Path, column: &str) -> String {
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
    load_at(&file, port, &out, &["--requests", "100"]).assert().success();
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
        .stderr(predicates::str::contains("same request stream"))
        // Both files, either may be the damaged one (the fuzzer's files stage).
        .stderr(predicates::str::contains(meas.join("measurement.json").to_str().unwrap()));
    lbsim().arg("compare").arg(&sim).arg(dir.path()).assert().code(2);
}

/// 20 requests at 200 req/s, no warm-up: for targets that misbehave.
pub(crate) const HOSTILE: &str = r#"name = "hostile"
seed = 3
requests = 20
warmup_requests = 0
strategies = ["round-robin"]

[arrivals]
process = "poisson"
rate = 200.0

[service]
distribution = "exponential"
mean = "1ms"

[[servers]]
name = "solo"
"#;

/// A target on loopback answering every request with `answer` (then nothing more; `None`:
/// never answering), for at most `seconds`; returns its port.
fn hostile_target(answer: Option<&'static [u8]>, endless_chunks: bool, seconds: u64) -> u16 {
    loopback_target(seconds, move |mut s, _, until| {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let Some(a) = answer else {
            std::thread::sleep(Duration::from_secs(seconds));
            return;
        };
        if s.write_all(a).is_err() {
            return;
        }
        // An endless chunked body: 64 KiB chunks until the client hangs up.
        let chunk = [b'x'; 65536];
        while endless_chunks && std::time::Instant::now() < until {
            if s.write_all(b"10000\r\n").and_then(|()| s.write_all(&chunk)).and_then(|()| s.write_all(b"\r\n")).is_err()
            {
                return;
            }
        }
    })
}

/// A target on loopback for `seconds`: each connection it accepts is served by `serve` on a
/// thread of its own, given the connection (blocking, read timeout `seconds`), its index in
/// accept order and the deadline; returns its port.
pub(crate) fn loopback_target(
    seconds: u64,
    serve: impl Fn(std::net::TcpStream, usize, std::time::Instant) + Send + Sync + 'static,
) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let serve = std::sync::Arc::new(serve);
    std::thread::spawn(move || {
        let until = std::time::Instant::now() + Duration::from_secs(seconds);
        let mut conns = 0;
        while std::time::Instant::now() < until {
            let Ok((s, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            };
            let (k, serve) = (conns, std::sync::Arc::clone(&serve));
            conns += 1;
            std::thread::spawn(move || {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(seconds))).unwrap();
                serve(s, k, until);
            });
        }
    });
    port
}

pub(crate) fn measurement(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("measurement.json")).unwrap()).unwrap()
}

#[test]
fn load_bounds_bodies_headers_and_time_of_hostile_targets() {
    let (dir, file) = case(HOSTILE);
    let f = file.to_str().unwrap();
    let huge_header: &'static [u8] = Box::leak(
        format!("HTTP/1.1 200 OK\r\nx-junk: {}\r\ncontent-length: 0\r\n\r\n", "y".repeat(100_000))
            .into_bytes()
            .into_boxed_slice(),
    );
    let cases: [(&str, Option<&'static [u8]>, bool, &str); 3] = [
        ("body", Some(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), true, "body_too_large"),
        ("header", Some(huge_header), false, "header_too_large"),
        ("silent", None, false, "timeout"),
    ];
    for (name, answer, endless, cause) in cases {
        let port = hostile_target(answer, endless, 20);
        let out = dir.path().join(name);
        let started = std::time::Instant::now();
        lbsim()
            .args(["load", f, "--no-charts", "--quiet", "--calibration", "0", "--timeout", "1s"])
            .args([
                "--max-body",
                "256K",
                "--max-memory",
                "256M",
                "--target",
                &format!("http://127.0.0.1:{port}"),
                "--out",
            ])
            .arg(&out)
            .timeout(Duration::from_secs(30))
            .assert()
            .success();
        assert!(started.elapsed() < Duration::from_secs(10), "{name}: {:?}", started.elapsed());
        let m = measurement(&out);
        assert_eq!(m["failures"][cause], 20, "{name}: {m}");
        assert_eq!(summary(&out, "completed"), "0", "{name}");
    }
}

#[test]
fn load_calibration_counts_against_the_time_limit() {
    let (dir, file) = case(HOSTILE);
    let port = hostile_target(None, false, 20);
    let out = dir.path().join("m");
    let started = std::time::Instant::now();
    // 500 calibration requests at 200 req/s (2.5 s) against a silent target, 2 s for all.
    lbsim()
        .args(["load", file.to_str().unwrap(), "--no-charts", "--quiet", "--time-limit", "2s"])
        .args(["--target", &format!("http://127.0.0.1:{port}"), "--out"])
        .arg(&out)
        .timeout(Duration::from_secs(30))
        .assert()
        .success();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(3500), "took {took:?} for --time-limit 2s");
    let m = measurement(&out);
    assert_eq!(m["valid"], false);
    assert_eq!(m["stopped_by"], "time limit", "{m}");
}

#[test]
fn load_reuses_a_fixed_pool_of_connections() {
    let fast = crate::common::edit(HOSTILE, "requests = 20", "requests = 2000");
    let fast = crate::common::edit(&fast, "rate = 200.0", "rate = 5000.0");
    let (dir, file) = case(&fast);
    let backends = Backends::start(&file, &[]);
    let port = backends.ports[0].1;
    let out = dir.path().join("m");
    load_at(&file, port, &out, &["--connections", "8"]).assert().success();
    let m = measurement(&out);
    assert_eq!(summary(&out, "completed"), "2000", "{m}");
    let opened = m["connections"]["opened"].as_u64().unwrap();
    assert!((1..=8).contains(&opened), "{m}");
    assert!(m["connections"]["peak"].as_u64().unwrap() <= 8, "{m}");
    drop(backends);
}

#[test]
fn backends_close_slow_and_idle_connections_and_serve_beyond_the_cap() {
    let (_dir, file) = case(ONE);
    let limits = ["--max-connections", "40", "--header-timeout", "300ms", "--idle-timeout", "600ms"];
    let backends = Backends::start(&file, &limits);
    let port = backends.ports[0].1;
    // A slowloris: half a request line, then silence; and an idle connection.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"GET /?d=0 HT").unwrap();
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for s in [&mut slow, &mut idle] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let started = std::time::Instant::now();
        let mut b = [0u8; 64];
        assert!(matches!(s.read(&mut b), Ok(0) | Err(_)), "closed by the server");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    // Far more idle connections than the cap: the oldest idle ones make room, and
    // well-formed requests are served meanwhile.
    let held: Vec<TcpStream> = (0..300).map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
    for _ in 0..5 {
        let ok = get(port, "/?d=0");
        assert!(ok.contains(" 200 "), "{ok}");
    }
    drop(held);
    let (ok, err) = backends.stop();
    assert!(ok, "{err}");
    // "N connections: A closed for a slow header, B idle, C evicted for room, D refused (all busy)"
    let line = err.lines().find(|l| l.contains("closed for a slow header")).unwrap_or_else(|| panic!("{err}"));
    let n: Vec<u64> = line.split([' ', ',', ':']).filter_map(|w| w.parse().ok()).collect();
    let [_, slow, idle, evicted, refused] = n[..] else { panic!("{line}") };
    // 300 held against a cap of 40: all but 40 were evicted or (on a slow machine) idled out.
    assert!(slow >= 1 && idle >= 1 && evicted >= 1 && evicted + idle >= 250 && refused == 0, "{line}");
}

/// 600 requests at 1,000 req/s from 5 clients of one HTTP/1.1 connection each, 25
/// requests per connection; 0.2 ms demands on 4 workers.
const POOLS: &str = r#"name = "pools"
seed = 11
requests = 600
warmup_requests = 0
strategies = ["round-robin"]

[arrivals]
process = "poisson"
rate = 1000.0

[service]
distribution = "exponential"
mean = "0.2ms"

[[servers]]
name = "solo"
workers = 4

[clients]
count = 5
connections = 1
max_requests = 25
"#;

/// Requests of each client of `file`'s `[clients]`, as the simulator draws them.
fn requests_per_client(file: &Path) -> Vec<u64> {
    let sc = lbsim::scenario::Scenario::load(file).unwrap();
    let c = sc.clients.unwrap();
    let mut draw = lbsim::real::sender::ClientDraw::new(&c, &lbsim::workload::seeds::Seeds::new(sc.seed, 0));
    let mut n = vec![0u64; c.count as usize];
    for _ in 0..sc.requests {
        n[draw.next_client() as usize] += 1;
    }
    n
}

#[test]
fn load_holds_each_clients_connections_and_closes_them_after_max_requests() {
    let (dir, file) = case(POOLS);
    let backends = Backends::start(&file, &[]);
    let port = backends.ports[0].1;
    let out = dir.path().join("m");
    load_at(&file, port, &out, &[]).assert().success();
    let m = measurement(&out);
    assert_eq!(summary(&out, "completed"), "600", "{m}");
    // Each client's one connection carries 25 requests, then closes (Connection: close on
    // the 25th); its next request opens another: ⌈n_c / 25⌉ connections for client c.
    let expected: u64 = requests_per_client(&file).iter().map(|n| n.div_ceil(25)).sum();
    assert_eq!(m["connections"]["opened"].as_u64().unwrap(), expected, "{m}");
    assert!(m["connections"]["peak"].as_u64().unwrap() <= 5, "{m}");
    assert_eq!(m["connections"]["clients"], "5 clients × 1 http1 connection, balanced per request, max 25 requests");
    // The scenario says the connections: --connections and --no-keep-alive are refused.
    for extra in [["--connections", "8"].as_slice(), ["--no-keep-alive"].as_slice()] {
        load_at(&file, port, &dir.path().join("refused"), extra)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("[clients]"));
    }
    drop(backends);
}

#[test]
fn load_multiplexes_http2_streams_and_backends_serve_h2c() {
    let h2 = crate::common::edit(POOLS, "max_requests = 25", "protocol = \"http2\"");
    let h2 = crate::common::edit(&h2, "count = 5", "count = 2");
    let h2 = crate::common::edit(&h2, "requests = 600", "requests = 300");
    let h2 = crate::common::edit(&h2, "rate = 1000.0", "rate = 200.0");
    let h2 = crate::common::edit(&h2, "mean = \"0.2ms\"", "mean = \"20ms\"");
    let h2 = crate::common::edit(&h2, "workers = 4", "workers = 16");
    let (dir, file) = case(&h2);
    let backends = Backends::start(&file, &["--realtime"]);
    let port = backends.ports[0].1;
    let (sim, meas) = (dir.path().join("sim"), dir.path().join("meas"));
    lbsim().args(["run", file.to_str().unwrap(), "--no-charts", "--quiet", "--out"]).arg(&sim).assert().success();
    lbsim()
        .args(["load", file.to_str().unwrap(), "--no-charts", "--quiet", "--realtime", "--calibration", "100"])
        .args(["--target", &format!("http://127.0.0.1:{port}"), "--out"])
        .arg(&meas)
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    let m = measurement(&meas);
    assert_eq!(summary(&meas, "completed"), "300", "{m}");
    // Two connections, one per client, each carrying its client's requests at once (about
    // 2 in flight each: over HTTP/1.1 they would wait for the connection).
    assert_eq!(m["connections"]["opened"].as_u64().unwrap(), 2, "{m}");
    assert_eq!(m["late_sends"]["waited_for_connection"], 0, "{m}");
    lbsim().args(["compare"]).arg(&sim).arg(&meas).args(["--check", "mean=15%"]).assert().success();
    let (ok, err) = backends.stop();
    assert!(ok, "{err}");
    assert!(err.contains("4 of 4 connections spoke HTTP/2 (h2c)"), "calibration's 2 and the run's 2: {err}");
}
