//! `lbsim backends`, `lbsim load` and `lbsim compare`: real traffic (the `real` feature).
//! Thin: parsing and printing; the work is in `lbsim::real`.

use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lbsim::duration::parse_duration;
use lbsim::real::backend::{self, BackendOptions, BackendsReport};
use lbsim::real::compare::{self, Check};
use lbsim::real::load::{self, LoadOptions, PeerLimits, Target};
use lbsim::real::measurement::{self, DurationSummary, Measurement};
use lbsim::real::record::Durations;
use lbsim::report;
use lbsim::scenario::Overrides;
use lbsim::scenario::{Scenario, ScenarioError};
use lbsim::{Error, Result};

use crate::out::{errln, out, outln};

/// Examples for `lbsim backends --help`.
pub(crate) const BACKENDS_HELP: &str =
    "Each server answers GET /?id=N&d=SECONDS after holding a worker for d / speed (d drawn
from the scenario's service distribution when absent); a full waiting room answers 503.
Responses carry x-lbsim-server, -wait, -service, -in-system and -overshoot headers.

Examples:
  lbsim backends scenarios/web-peak.toml --port-base 9001
  lbsim backends validation.toml --port-base 0 --log backends.csv --time-limit 10m";

/// Examples for `lbsim load --help`.
pub(crate) const LOAD_HELP: &str =
    "Sends request n of the scenario's stream (replication 0: what `lbsim run` simulates) at
its scheduled time, whatever the responses; response times run from the scheduled send.

Examples:
  lbsim load validation.toml --target http://127.0.0.1:8080 --out output/v/haproxy-rr --label round-robin
  lbsim load scenarios/web-peak.toml --target http://127.0.0.1:9001 --requests 5000";

/// Examples for `lbsim compare --help`.
pub(crate) const COMPARE_HELP: &str =
    "FIGURE is one of mean p50 p90 p99 p999 max wait throughput utilization max_over_mean cv
jain busiest_share completed dropped failed timed_out.

Examples:
  lbsim run validation.toml --requests 20000 --out output/v/sim
  lbsim compare output/v/sim output/v/haproxy-rr --check mean=5% --check p90=5%";

/// `lbsim backends`.
#[derive(clap::Args, Debug)]
pub(crate) struct BackendsArgs {
    /// Scenario file (TOML): its [[servers]] are served.
    file: PathBuf,
    /// Port of the first server; the others follow in scenario order (0: ports the system picks).
    #[arg(long, value_name = "N", default_value_t = 9001)]
    port_base: u16,
    /// Address to listen on.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Override the seed (of demands the backends draw themselves).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Write one CSV row per request (server, id, demand, arrival, start, end, responded, status).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Stop by itself after this long.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration)]
    time_limit: Duration,
    /// Ask for SCHED_FIFO on the timer thread (needs root or CAP_SYS_NICE).
    #[arg(long)]
    realtime: bool,
    /// Busy-wait tail of each wait.
    #[arg(long, value_name = "DURATION", default_value = "200us", value_parser = duration)]
    spin: Duration,
    /// Connections per port held at once; beyond it the longest-idle one is closed to make
    /// room (a new one is refused only when every one is inside a request).
    #[arg(long, value_name = "N", default_value_t = backend::DEFAULT_MAX_CONNECTIONS as u64,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Close a connection whose request header is incomplete this long after its first byte.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    header_timeout: Duration,
    /// Close a connection with no request in progress after this long.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    idle_timeout: Duration,
}

/// `lbsim load`.
#[derive(clap::Args, Debug)]
pub(crate) struct LoadArgs {
    /// Scenario file (TOML): its arrivals and demands are replayed.
    file: PathBuf,
    /// URL to send to: http://HOST:PORT[/PATH] (loopback unless --allow-remote).
    #[arg(long, value_name = "URL")]
    target: String,
    /// Override the number of requests (as `lbsim run --requests`: the same stream, cut short).
    #[arg(long, value_name = "N")]
    requests: Option<u64>,
    /// Override the seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Output directory [default: output/<scenario name>/load-<label>/].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Label of the measured row (use the simulated strategy's label to share its colour).
    #[arg(long, value_name = "NAME", default_value = "measured")]
    label: String,
    /// Per-request timeout, from its send to the last byte of the response (counted as timed out).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    timeout: Duration,
    /// Largest response status line and headers accepted (more: the request fails, header_too_large).
    #[arg(long, value_name = "SIZE", default_value = "64K", value_parser = size)]
    max_header: u64,
    /// Largest response body accepted; bodies are counted, not kept (more: body_too_large).
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = size)]
    max_body: u64,
    /// Wall-clock limit of the whole run, calibration included [default: both schedules + 5s + the timeout + 10s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    time_limit: Option<Duration>,
    /// Sender threads, each sending every N-th request over its own connections.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    senders: u64,
    /// Connections at most, all senders together; a request finding all busy waits for one
    /// [default: as many as the offered concurrency needs, up to 10000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    connections: Option<u64>,
    /// Open a new connection for every request (Connection: close) instead of reusing them.
    #[arg(long)]
    no_keep_alive: bool,
    /// The run is invalid when the 99th percentile of send lateness exceeds this.
    #[arg(long, value_name = "DURATION", default_value = "1ms", value_parser = duration)]
    max_lateness: Duration,
    /// Requests of the zero-demand calibration pass (0: none).
    #[arg(long, value_name = "N", default_value_t = 500)]
    calibration: u64,
    /// Ask for SCHED_FIFO on the sending thread (needs root or CAP_SYS_NICE).
    #[arg(long)]
    realtime: bool,
    /// Busy-wait tail before a send that follows a gap of at least twice this.
    #[arg(long, value_name = "DURATION", default_value = "200us", value_parser = duration)]
    spin: Duration,
    /// Allow a target that is not on this machine.
    #[arg(long)]
    allow_remote: bool,
    /// Exit 1 when the measurement is invalid.
    #[arg(long)]
    strict: bool,
    /// Do not draw the PNG charts.
    #[arg(long)]
    no_charts: bool,
    /// No progress bar, no table.
    #[arg(long, short)]
    quiet: bool,
    /// Measured passes, one after another, each replaying the stream `lbsim run` simulates
    /// as that replication (0, 1, …); summary.csv holds their mean and 95% interval, and
    /// `lbsim compare` the interval of the difference (run the simulation with as many).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    replications: u32,
}

/// `lbsim compare`.
#[derive(clap::Args, Debug)]
pub(crate) struct CompareArgs {
    /// Output directory of `lbsim run` (the simulation).
    sim_dir: PathBuf,
    /// Output directory of `lbsim load` (the measurement).
    measured_dir: PathBuf,
    /// The simulated strategy to compare [default: the measured label, or the only one].
    #[arg(long, value_name = "LABEL")]
    strategy: Option<String>,
    /// Fail (exit 1) unless |deviation| ≤ PERCENT for FIGURE, e.g. mean=5% (repeatable).
    #[arg(long, value_name = "FIGURE=PERCENT")]
    check: Vec<String>,
    /// Print comparison.csv's columns instead of the table.
    #[arg(long)]
    csv: bool,
}

fn duration(s: &str) -> std::result::Result<Duration, String> {
    let secs = parse_duration(s)?;
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s}: {e}"))
}

fn size(s: &str) -> std::result::Result<u64, String> {
    if s.trim().ends_with('%') {
        return Err(format!("`{s}` is not a size in bytes: write e.g. 64K, 1M or 4096"));
    }
    lbsim::memory::parse_size(s)
}

fn scenario(file: &Path, requests: Option<u64>, seed: Option<u64>) -> Result<Scenario> {
    let mut sc = Scenario::load(file)?;
    Overrides { requests, seed, ..Overrides::default() }.apply(&mut sc)?;
    Ok(sc)
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// Runs `lbsim backends`.
pub(crate) fn cmd_backends(args: BackendsArgs) -> Result<()> {
    let sc = scenario(&args.file, None, args.seed)?;
    if !sc.faults.is_empty() {
        errln!("warning: [[faults]] are not emulated: the backends never crash or slow down")?;
    }
    if !args.bind.is_loopback() {
        errln!("warning: listening on {} (not loopback): reachable from other machines", args.bind)?;
    }
    // Server i listens on port_base + i: every port must exist (bad input, exit 2).
    if args.port_base != 0 && u32::from(args.port_base) + sc.server_count() as u32 - 1 > u32::from(u16::MAX) {
        return Err(ScenarioError::at(
            "--port-base",
            format!(
                "{} servers from port {} would need ports up to {}; the last port is 65535",
                sc.server_count(),
                args.port_base,
                u32::from(args.port_base) + sc.server_count() as u32 - 1
            ),
        )
        .into());
    }
    let options = BackendOptions {
        bind: args.bind,
        port_base: args.port_base,
        log: args.log.clone(),
        time_limit: args.time_limit,
        realtime: args.realtime,
        spin: args.spin,
        handle_signals: true,
        max_connections: args.max_connections as usize,
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
    };
    let report = backend::serve(&sc, &options, |listening| {
        let mut out = std::io::stdout().lock();
        for l in listening {
            let _ = writeln!(out, "{} http://{}", l.name, l.addr);
        }
        let ports: Vec<String> = listening.iter().map(|l| l.addr.port().to_string()).collect();
        let _ = writeln!(
            out,
            "ready: {} backends of {} on {} ports {} (stop with Ctrl-C; time limit {})",
            listening.len(),
            sc.name,
            args.bind,
            ports.join(","),
            lbsim::duration::format_duration(args.time_limit.as_secs_f64())
        );
        let _ = out.flush();
    })?;
    print_backends(&report, args.spin)?;
    Ok(())
}

fn print_backends(r: &BackendsReport, spin: Duration) -> Result<()> {
    errln!("stopped ({}) after {:.1}s", r.stopped_by, r.wall_time)?;
    for s in &r.servers {
        errln!(
            "  {}: {} requests, {} completed, {} dropped, {} bad",
            s.name,
            s.requests,
            s.completed,
            s.dropped,
            s.bad
        )?;
        if s.h2c > 0 {
            errln!("    {} of {} connections spoke HTTP/2 (h2c)", s.h2c, s.connections)?;
        }
        if s.header_timeouts + s.idle_timeouts + s.evicted + s.refused > 0 {
            errln!(
                "    {} connections: {} closed for a slow header, {} idle, {} evicted for room, {} refused (all busy)",
                s.connections,
                s.header_timeouts,
                s.idle_timeouts,
                s.evicted,
                s.refused
            )?;
        }
    }
    let d = Durations { hist: r.overshoot.clone(), sum: r.overshoot_sum };
    match DurationSummary::of(&d) {
        Some(o) => errln!("wait overshoot: {} ({}, spin {})", o.brief(), r.policy.describe(), micros(spin))?,
        None => errln!("wait overshoot: no request served")?,
    }
    Ok(())
}

/// Runs `lbsim load`.
pub(crate) fn cmd_load(args: LoadArgs) -> Result<()> {
    let sc = scenario(&args.file, args.requests, args.seed)?;
    load::check_scenario(&sc)?;
    let target = Target::parse(&args.target, args.allow_remote).map_err(|m| ScenarioError::at("--target", m))?;
    if args.label.trim().is_empty() || args.label.contains([',', '"', '\n']) {
        return Err(ScenarioError::at("--label", "must be a non-empty name without commas or quotes").into());
    }
    let out =
        args.out.clone().unwrap_or_else(|| Path::new("output").join(&sc.name).join(format!("load-{}", args.label)));
    let options = LoadOptions {
        target,
        label: args.label.clone(),
        limits: PeerLimits {
            max_header: usize::try_from(args.max_header).unwrap_or(usize::MAX),
            max_body: args.max_body,
            timeout: args.timeout,
        },
        time_limit: args.time_limit,
        max_lateness: args.max_lateness,
        calibration: args.calibration,
        realtime: args.realtime,
        spin: args.spin,
        senders: args.senders as usize,
        connections: args.connections.map(|n| n as usize),
        keep_alive: !args.no_keep_alive,
        handle_signals: true,
        progress: !args.quiet,
        replications: args.replications,
    };
    if !args.quiet {
        errln!(
            "{}: {} requests to {} (warm-up {}), {}",
            sc.name,
            sc.requests,
            options.target.as_str(),
            sc.warmup,
            lbsim::report::validate_text::arrivals(&sc)
        )?;
    }
    let outcome = load::load(&sc, &options)?;
    // No report.html: its command to reproduce is a simulation's.
    let exporters: Vec<_> =
        report::run::selected(!args.no_charts, false).into_iter().filter(|e| e.wanted(&outcome.report)).collect();
    let mut written = report::write_outputs(&outcome.report, &out, &exporters)?;
    report::run::remove_stale(&out, &exporters)?;
    let m = &outcome.measurement;
    written.push(report::write_atomic(&out.join(measurement::FILE_NAME), &m.to_json()?)?);
    if !args.quiet {
        out!("{}", report::run::terminal::render(&outcome.report, std::io::stdout().is_terminal()))?;
        print_measurement(m)?;
        let names: Vec<String> =
            written.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
        errln!("wrote {} in {}/ ({:.1}s)", names.join(", "), out.display(), m.wall_time_s)?;
    }
    let _ = std::io::stdout().flush();
    if m.stopped_by.as_deref() == Some("Ctrl-C") {
        std::process::exit(130);
    }
    if args.strict && !m.valid {
        return Err(Error::Other(format!("the measurement is invalid: {}", m.problems.join("; "))));
    }
    Ok(())
}

fn print_measurement(m: &Measurement) -> Result<()> {
    if let Some(l) = m.lateness {
        outln!("send lateness: {} (threshold p99 ≤ {:.3} ms; {})", l.brief(), m.max_lateness_p99_ms, m.sender_policy)?;
    }
    if let Some(o) = m.backend_overshoot {
        outln!("backend wait overshoot: {}", o.brief())?;
    }
    if let Some(c) = &m.calibration {
        outln!(
            "calibration: {} zero-demand requests, overhead mean {:.3} ms, p50 {:.3} ms, p99 {:.3} ms{}",
            c.response.count,
            c.response.mean_ms,
            c.response.p50_ms,
            c.response.p99_ms,
            if c.failed > 0 { format!(", {} failed", c.failed) } else { String::new() }
        )?;
    }
    if m.unattributed > 0 {
        outln!("note: {} responses named no server of the scenario", m.unattributed)?;
    }
    if !m.failures.is_empty() {
        let causes: Vec<String> = m.failures.iter().map(|(k, n)| format!("{k} {n}")).collect();
        outln!("failures by cause: {}", causes.join(", "))?;
    }
    if let (Some(s), Some(c)) = (&m.sender, &m.connections) {
        outln!(
            "senders: {} thread(s), {:.0}% busy, {} preemptions; connections: {} opened, at most {} open{}{}",
            s.threads,
            s.busy_percent,
            s.involuntary_switches,
            c.opened,
            c.peak,
            if c.keep_alive { "" } else { " (no keep-alive)" },
            if c.resent > 0 {
                format!(", {} requests resent after a keep-alive race", c.resent)
            } else {
                String::new()
            }
        )?;
        if let Some(clients) = &c.clients {
            outln!("connections held as the scenario's clients: {clients}")?;
        }
    }
    if m.replications.len() > 1 {
        for r in &m.replications {
            outln!(
                "replication {}: {} completed, mean {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, lateness p99 {:.3} ms",
                r.replication,
                r.completed,
                r.mean_ms,
                r.p90_ms,
                r.p99_ms,
                r.lateness_p99_ms
            )?;
        }
    }
    if let Some(i) = &m.instances {
        let shares: Vec<String> = i.shares.iter().map(|s| format!("{} {:.1}%", s.instance, s.share * 100.0)).collect();
        outln!(
            "balancer instances ({}): {} ({} requests; mean run {:.2} requests in a row)",
            i.header,
            shares.join(", "),
            i.requests,
            i.mean_run
        )?;
    }
    if m.valid {
        outln!("measurement: valid")?;
    } else {
        for p in &m.problems {
            outln!("measurement INVALID: {p}")?;
        }
    }
    Ok(())
}

/// Runs `lbsim compare`.
pub(crate) fn cmd_compare(args: CompareArgs) -> Result<()> {
    let checks = args.check.iter().map(|c| Check::parse(c)).collect::<std::result::Result<Vec<_>, _>>()?;
    let c = compare::compare(&args.sim_dir, &args.measured_dir, args.strategy.as_deref(), &checks)?;
    if args.csv {
        out!("{}", String::from_utf8_lossy(&compare::to_csv(&c)?))?;
    } else {
        out!("{}", compare::render(&c))?;
    }
    if !c.passed() {
        let failed: Vec<&str> = c.rows.iter().filter(|r| r.check.is_some_and(|k| !k.1)).map(|r| r.figure).collect();
        return Err(Error::Other(format!("outside tolerance: {}", failed.join(", "))));
    }
    Ok(())
}
