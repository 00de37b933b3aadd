//! The `network` stage, on loopback only: hostile clients against `lbsim backends` and
//! hostile targets for `lbsim load`.
//!
//! - **backends**: one `lbsim backends` process (small limits: 64 connections a port, 1 s
//!   header timeout, 2 s idle timeout) takes an attack per input — random bytes, a header
//!   left unfinished, a slowloris drip, hundreds of idle connections, a huge header, odd
//!   methods and bodies, invalid `d` and `id` values, pipelined garbage — and then a
//!   well-formed request on a random port must be answered (200, or 503 from a full waiting
//!   room) within 5 s, while the attack's connections are still open, and the process must
//!   still run. The first backends input of every run holds [`MASS`] idle connections to one
//!   port (raising the fuzzer's limit of open files as far as its hard limit allows) and a
//!   well-formed request to *every* port must be answered meanwhile (issue 29: 10,050 idle
//!   connections to one port used to lock every port out).
//! - **load**: a target written here misbehaves in one of [`Target`]'s ways (closes at once,
//!   answers garbage, an endless chunked body, an endless fixed-length one, a 1 MB header,
//!   silence, a byte every 100 ms, endless `100 Continue`s, …) and `lbsim load` sends 30
//!   requests with `--timeout 1s --time-limit 4s`: it must end by its time limit (plus
//!   [`SLACK`]), with exit 0, 1 or 2 and no panic, its resident memory under
//!   `--max-memory 512M`.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Wall time `load` may take beyond its `--time-limit` (a busy machine, the exit).
const SLACK: Duration = Duration::from_secs(10);

/// Idle connections the first backends attack of a run holds open at once.
const MASS: usize = 10_000;

/// How a hostile target answers every connection.
#[derive(Debug, Clone, Copy)]
enum Target {
    CloseAtOnce,
    Garbage,
    EndlessChunked,
    EndlessLength,
    HugeHeader,
    ManyHeaders,
    Silent,
    Drip,
    EndlessContinue,
    ShortBody,
    BadStatus,
    Http09,
    ValidThenReset,
}

const TARGETS: &[Target] = &[
    Target::CloseAtOnce,
    Target::Garbage,
    Target::EndlessChunked,
    Target::EndlessLength,
    Target::HugeHeader,
    Target::ManyHeaders,
    Target::Silent,
    Target::Drip,
    Target::EndlessContinue,
    Target::ShortBody,
    Target::BadStatus,
    Target::Http09,
    Target::ValidThenReset,
];

/// The stage's state: the backends process and its ports.
pub(crate) struct Network {
    bin: PathBuf,
    scenario: PathBuf,
    dir: PathBuf,
    backends: Child,
    ports: Vec<SocketAddr>,
    /// Whether the [`MASS`] attack has been made.
    mass_done: bool,
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = self.backends.kill();
        let _ = self.backends.wait();
    }
}

/// Starts `lbsim backends` on `scenario` with small limits; its addresses.
fn start_backends(bin: &Path, scenario: &Path) -> (Child, Vec<SocketAddr>) {
    use std::io::BufRead;
    let s = scenario.to_str().expect("UTF-8 path");
    let args = ["backends", s, "--port-base", "0", "--time-limit", "24h", "--max-connections", "64"];
    let mut child = Command::new(bin)
        .args(args)
        .args(["--header-timeout", "1s", "--idle-timeout", "2s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("lbsim backends");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut ports = Vec::new();
    // The small scenario has four servers: a line `NAME http://ADDR` each.
    for _ in 0..4 {
        let mut line = String::new();
        out.read_line(&mut line).expect("a backend's address");
        let url = line.split_whitespace().nth(1).expect("NAME URL");
        ports.push(url.trim_start_matches("http://").parse().expect("an address"));
    }
    // Keep draining its stdout so that it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (child, ports)
}

impl Network {
    /// Starts the backends of `scenario`.
    pub(crate) fn new(bin: &Path, scenario: &Path, dir: &Path) -> Network {
        let (backends, ports) = start_backends(bin, scenario);
        let (bin, scenario, dir) = (bin.to_path_buf(), scenario.to_path_buf(), dir.to_path_buf());
        Network { bin, scenario, dir, backends, ports, mass_done: false }
    }

    /// One input: an attack on the backends (even `seed`) or a hostile target for `load`.
    pub(crate) fn check(&mut self, seed: u64) -> Result<String, String> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        if rng.random_bool(0.5) {
            if !self.mass_done {
                self.mass_done = true;
                return self.mass_idle();
            }
            self.attack(&mut rng)
        } else {
            self.hostile_target(&mut rng)
        }
    }

    /// [`MASS`] idle connections to one port (fewer if the limit of open files is lower:
    /// said in the answer), then a well-formed request to every port, each answered while
    /// they are held.
    fn mass_idle(&mut self) -> Result<String, String> {
        // SAFETY: getrlimit writes only into the struct we pass.
        let soft = unsafe {
            let mut l: libc::rlimit = std::mem::zeroed();
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
            l.rlim_cur
        };
        let want = MASS.min((soft as usize).saturating_sub(256));
        let started = Instant::now();
        let mut held = Vec::with_capacity(want);
        let mut failed = 0usize;
        while held.len() < want && failed < 100 && started.elapsed() < Duration::from_secs(180) {
            match TcpStream::connect_timeout(&self.ports[0], Duration::from_secs(2)) {
                Ok(s) => held.push(s),
                Err(_) => failed += 1,
            }
        }
        let opened = started.elapsed();
        let mut answers = Vec::new();
        for &probe in &self.ports {
            match well_formed(probe) {
                Ok(code) if code == 200 || code == 503 => answers.push(code),
                Ok(code) => {
                    return Err(format!(
                        "{} idle connections: a well-formed request to {probe} got {code}",
                        held.len()
                    ));
                }
                Err(e) => {
                    return Err(format!("{} idle connections: a well-formed request to {probe}: {e}", held.len()));
                }
            }
        }
        if let Ok(Some(status)) = self.backends.try_wait() {
            return Err(format!("{} idle connections: lbsim backends ended ({status})", held.len()));
        }
        let n = held.len();
        drop(held);
        if n < want {
            return Err(format!("only {n} of {want} idle connections could be opened ({failed} failed)"));
        }
        let short =
            if want < MASS { format!(" (the limit of open files, {soft}, allows no more)") } else { String::new() };
        let said = format!(
            "backends: {n} idle connections to one port{short} opened in {:.1}s, every port answered {answers:?}",
            opened.as_secs_f64()
        );
        eprintln!("fuzz: {said}");
        Ok(said)
    }

    /// An attack on the backends, then a well-formed request.
    fn attack(&mut self, rng: &mut impl Rng) -> Result<String, String> {
        let addr = self.ports[rng.random_range(0..self.ports.len())];
        let kind = rng.random_range(0..8);
        let mut held: Vec<TcpStream> = Vec::new();
        let connect = || TcpStream::connect_timeout(&addr, Duration::from_secs(2));
        match kind {
            0 => {
                let n = rng.random_range(1..4096);
                let junk: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                if let Ok(mut s) = connect() {
                    let _ = s.write_all(&junk);
                    held.push(s);
                }
            }
            1 => {
                if let Ok(mut s) = connect() {
                    let _ = s.write_all(b"GET /?id=1&d=0.001 HTTP/1.1\r\nHost: x\r\nX-Half: ");
                    held.push(s);
                }
            }
            2 => {
                if let Ok(mut s) = connect() {
                    for b in b"GET /?id=2 HTTP/1.1\r\nHost: x\r\n".iter().take(rng.random_range(1..12)) {
                        let _ = s.write_all(&[*b]);
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    held.push(s);
                }
            }
            3 => {
                for _ in 0..rng.random_range(65..400) {
                    if let Ok(s) = connect() {
                        held.push(s);
                    }
                }
            }
            4 => {
                if let Ok(mut s) = connect() {
                    let line = format!("X-Big: {}\r\n", "a".repeat(1000));
                    let _ = s.write_all(b"GET / HTTP/1.1\r\n");
                    for _ in 0..rng.random_range(10..300) {
                        if s.write_all(line.as_bytes()).is_err() {
                            break;
                        }
                    }
                    held.push(s);
                }
            }
            5 => {
                let methods = ["POST", "CONNECT", "OPTIONS", "DELETE", "PUT", "\0", "GET GET"];
                let m = methods[rng.random_range(0..methods.len())];
                let body = match rng.random_range(0..3) {
                    0 => "Content-Length: 5\r\n\r\nhello".to_string(),
                    1 => "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n".to_string(),
                    _ => "Content-Length: 99999999999999999999\r\n\r\nx".to_string(),
                };
                if let Ok(mut s) = connect() {
                    let _ = s.write_all(format!("{m} / HTTP/1.1\r\nHost: x\r\n{body}").as_bytes());
                    held.push(s);
                }
            }
            6 => {
                let ds = ["-1", "NaN", "inf", "x", "", "1e-400", "0x10", "%00", "0.001&d=0.002"];
                let ids = ["-1", "18446744073709551616", "x", "", "1.5"];
                let d = ds[rng.random_range(0..ds.len())];
                let id = ids[rng.random_range(0..ids.len())];
                if let Ok(mut s) = connect() {
                    let _ = s.write_all(format!("GET /?id={id}&d={d} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
                    held.push(s);
                }
            }
            _ => {
                if let Ok(mut s) = connect() {
                    let _ = s.write_all(b"GET /?id=3&d=0.001 HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01garbage\r\n\r\n");
                    held.push(s);
                }
            }
        }
        // A well-formed request on any port, while the attack's connections are open.
        let probe = self.ports[rng.random_range(0..self.ports.len())];
        let answer = well_formed(probe);
        if let Ok(Some(status)) = self.backends.try_wait() {
            return Err(format!("backends attack {kind}: lbsim backends ended ({status})"));
        }
        drop(held);
        match answer {
            Ok(code) if code == 200 || code == 503 => Ok(format!("backends attack {kind}: {code}")),
            Ok(code) => Err(format!("backends attack {kind}: a well-formed request got {code}")),
            Err(e) => Err(format!("backends attack {kind}: a well-formed request to {probe}: {e}")),
        }
    }

    /// A hostile target, and `lbsim load` against it.
    fn hostile_target(&mut self, rng: &mut impl Rng) -> Result<String, String> {
        let behaviour = TARGETS[rng.random_range(0..TARGETS.len())];
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let server = serve(listener, behaviour, Arc::clone(&stop));
        let out = self.dir.join("load-out");
        let _ = std::fs::remove_dir_all(&out);
        let target = format!("http://{addr}");
        let s = self.scenario.to_str().expect("UTF-8 path");
        let o = out.to_str().expect("UTF-8 path");
        let keep = if rng.random_bool(0.3) { "--no-keep-alive" } else { "--quiet" };
        let args = [
            "--max-memory",
            "512M",
            "load",
            s,
            "--target",
            &target,
            "--requests",
            "30",
            "--timeout",
            "1s",
            "--time-limit",
            "4s",
            "--calibration",
            "0",
            "--quiet",
            keep,
            "--no-charts",
            "--max-body",
            "64K",
            "--out",
            o,
        ];
        let result = run_watched(&self.bin, &args, Duration::from_secs(4) + SLACK, 512 << 20);
        stop.store(true, Ordering::Relaxed);
        let _ = server.join();
        let (code, err, peak) = result.map_err(|e| format!("load against {behaviour:?}: {e}"))?;
        if err.contains("panicked") {
            return Err(format!("load against {behaviour:?}: a panic: {err}"));
        }
        if !matches!(code, 0..=2) {
            return Err(format!("load against {behaviour:?}: exit {code}: {err}"));
        }
        Ok(format!("load against {behaviour:?}: exit {code}, peak {} MiB", peak >> 20))
    }
}

/// Sends a well-formed request to `addr` and reads the status code (5 s at most).
fn well_formed(addr: SocketAddr) -> Result<u16, String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    s.write_all(b"GET /?id=7&d=0.001 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        match s.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let head = String::from_utf8_lossy(&buf[..got]).into_owned();
    head.strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {head:?}"))
}

/// Accepts connections on `listener` until `stop`, answering each as `behaviour` says, each on
/// its own thread (at most 10 s of it).
fn serve(listener: TcpListener, behaviour: Target, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    listener.set_nonblocking(true).expect("a non-blocking listener");
    std::thread::spawn(move || {
        let mut handlers = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((s, _)) => {
                    let stop = Arc::clone(&stop);
                    handlers.push(std::thread::spawn(move || answer(s, behaviour, &stop)));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        for h in handlers {
            let _ = h.join();
        }
    })
}

/// Answers one connection of a hostile target.
fn answer(mut s: TcpStream, behaviour: Target, stop: &AtomicBool) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = s.set_write_timeout(Some(Duration::from_millis(500)));
    let mut req = [0u8; 4096];
    let _ = s.read(&mut req);
    let started = Instant::now();
    let live = || !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(10);
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    match behaviour {
        Target::CloseAtOnce => {}
        Target::Garbage => {
            let junk: Vec<u8> = (0..2000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
            let _ = s.write_all(&junk);
        }
        Target::EndlessChunked => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            let chunk = format!("4000\r\n{}\r\n", "z".repeat(0x4000));
            while live() && s.write_all(chunk.as_bytes()).is_ok() {}
        }
        Target::EndlessLength => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n");
            let zeros = vec![0u8; 1 << 16];
            while live() && s.write_all(&zeros).is_ok() {}
        }
        Target::HugeHeader => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
            let line = format!("X-A: {}\r\n", "b".repeat(8000));
            while live() && s.write_all(line.as_bytes()).is_ok() {}
        }
        Target::ManyHeaders => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
            while live() && s.write_all(b"X: y\r\n").is_ok() {}
        }
        Target::Silent => {
            while live() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Target::Drip => {
            for b in ok.iter().cycle() {
                if !live() || s.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Target::EndlessContinue => {
            while live() && s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_ok() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Target::ShortBody => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
        }
        Target::BadStatus => {
            let _ = s.write_all(b"HTTP/1.1 999 \xff\xfe\r\nContent-Length: -5\r\n\r\n");
        }
        Target::Http09 => {
            let _ = s.write_all(b"<html>no status line</html>");
        }
        Target::ValidThenReset => {
            while live() {
                if s.write_all(ok).is_err() {
                    break;
                }
                let n = s.read(&mut req).unwrap_or(0);
                if n == 0 {
                    break;
                }
            }
        }
    }
    let _ = s.shutdown(Shutdown::Both);
}

/// Runs `bin` with `args`, watching its resident memory; its exit code, stderr and peak
/// resident bytes. `Err` when it runs past `limit` of wall time (killed) or above
/// `max_rss` bytes.
fn run_watched(bin: &Path, args: &[&str], limit: Duration, max_rss: u64) -> Result<(i32, String, u64), String> {
    let (mut child, reader) = crate::check::spawn(bin, args, Stdio::null(), Path::new("."))?;
    let started = Instant::now();
    let mut peak = 0u64;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok((crate::check::exit_code(status), reader.join().unwrap_or_default(), peak));
        }
        peak = peak.max(rss_bytes(child.id()).unwrap_or(0));
        let over = if started.elapsed() > limit {
            Some(format!("still running after {limit:?} (its --time-limit is 4s)"))
        } else if peak > max_rss {
            Some(format!("resident memory {} MiB above its --max-memory", peak >> 20))
        } else {
            None
        };
        if let Some(why) = over {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("`lbsim {}`: {why}", args.join(" ")));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Resident memory of process `pid`, bytes (`VmRSS` of /proc/PID/status).
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
