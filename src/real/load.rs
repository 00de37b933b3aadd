//! `lbsim load`: an open-loop generator replaying the scenario's request stream.
//!
//! Request `n` of replication 0's [`RequestStream`] — the stream `lbsim run` feeds every
//! strategy, regenerated from the same seed (common random numbers) — is sent at
//! `t0 + arrival` as `GET TARGET?id=n&d=DEMAND` (the demand at speed 1, in seconds, written
//! so that it parses back to the same `f64`), whatever the earlier responses did. The
//! [`sender`](super::sender)s (one thread by default) each own a share of the stream, an exact
//! timer and a pool of keep-alive connections, and speak HTTP/1.1 through lbsim's own bounded
//! [`client`](super::client) (`TCP_NODELAY`, no pipelining).
//!
//! The response time runs from the *scheduled* send, so a late send adds to it instead of
//! hiding a stall (no coordinated omission); the lateness itself (actual − scheduled send)
//! is reported, and the run is marked invalid when its 99th percentile exceeds a threshold,
//! with what limited it (the sender's CPU, preemption, the connection pool, the target's
//! accepts, local ports). Before the run, a calibration pass sends the same arrivals with
//! zero demand: its response time is the fixed overhead of generator, network, balancer and
//! backend.
//!
//! With [`LoadOptions::replications`] > 1 the measured pass is repeated, pass `r` on
//! replication `r`'s stream (the one `lbsim run` simulates as replication `r`); the report
//! then holds the passes as replications, and `measurement.json` each pass's figures
//! ([`Replication`]). A balancer's `x-worker` header is recorded as [`Instances`].
//!
//! Bounded: the schedule's request count; one wall-clock limit for both passes (default:
//! both schedules, plus [`CALIBRATION_WAIT`], plus the timeout, plus 10 s); a per-request
//! timeout; response headers and bodies ([`PeerLimits`]); at most [`MAX_OUTSTANDING`]
//! requests open at once, so memory stays below that many connection buffers. The first
//! Ctrl-C stops sending and waits [`GRACE`] for what is in flight, the second stops at once;
//! what was measured is reported either way.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use super::client::PeerLimits;
use super::client::{DEFAULT_MAX_BODY, DEFAULT_MAX_HEADER, Failure};
use super::diagnose::{self, Limited};
use super::measurement::{Calibration, Connections, DurationSummary, Instances, Measurement, Replication, SenderStats};
use super::record::{LateCause, Recorder};
use super::sender::{ClientDraw, ClientPlan, Job, Plan, SenderEnd, Stop, run_sender};
pub use super::sender::{GRACE, MAX_OUTSTANDING};
pub use super::target::Target;
use super::timer::ThreadPolicy;
use crate::analysis::{self, Preflight};
use crate::report::Report;
use crate::scenario::{Clients, Overrides, Scenario, ScenarioError};
use crate::stats::{KeyCounter, RunStats};
use crate::workload::RequestStream;
use crate::{Error, Result};

/// Time between every sender being ready (its first connections open) and the first
/// scheduled send.
const LEAD: Duration = Duration::from_millis(100);

/// Longest the calibration pass waits for its responses after its last send.
pub const CALIBRATION_WAIT: Duration = Duration::from_secs(5);

/// Memory a connection may hold beyond its header buffer (socket, read chunk, task), bytes.
pub const CONNECTION_OVERHEAD: u64 = 32 * 1024;

/// Connections at most: `o.connections`, or as many as [`MAX_OUTSTANDING`] and half the
/// memory budget (`--max-memory`) allow at `max_header` bytes each. An explicit cap whose
/// worst case exceeds the budget is refused.
pub fn connection_cap(o: &LoadOptions) -> std::result::Result<usize, ScenarioError> {
    let per = o.limits.max_header as u64 + CONNECTION_OVERHEAD;
    let budget = crate::memory::memory_limit();
    match o.connections {
        Some(n) if (n as u64).saturating_mul(per) > budget => Err(ScenarioError::at(
            "--connections",
            format!(
                "{n} connections may hold {} with --max-header {}, over the memory budget {} (--max-memory): use fewer \
                 connections or a smaller --max-header",
                crate::memory::format_bytes((n as u64).saturating_mul(per)),
                crate::memory::format_bytes(o.limits.max_header as u64),
                crate::memory::format_bytes(budget)
            ),
        )),
        Some(n) => Ok(n.max(1)),
        None => Ok((budget / 2 / per).clamp(1, MAX_OUTSTANDING) as usize),
    }
}

/// With `[clients]`, the connections the clients may hold together (`count × connections`),
/// within the memory budget and [`MAX_OUTSTANDING`]; `--connections` and `--no-keep-alive`
/// are the scenario's to say then.
fn client_connection_cap(sc: &Scenario, c: &Clients, o: &LoadOptions) -> std::result::Result<usize, ScenarioError> {
    let at = |key: &str, what: String| ScenarioError { file: sc.file.clone(), ..ScenarioError::at(key, what) };
    if o.connections.is_some() {
        return Err(ScenarioError::at(
            "--connections",
            "the scenario's [clients] sets the connections (count × connections): remove --connections, or change \
             clients.count or clients.connections"
                .to_string(),
        ));
    }
    if !o.keep_alive {
        return Err(ScenarioError::at(
            "--no-keep-alive",
            "the scenario's [clients] holds its connections: set clients.max_requests = 1 for a connection per \
             request instead"
                .to_string(),
        ));
    }
    let n = u64::from(c.count) * u64::from(c.connections);
    let per = o.limits.max_header as u64 + CONNECTION_OVERHEAD;
    let budget = crate::memory::memory_limit();
    if n > MAX_OUTSTANDING || n.saturating_mul(per) > budget {
        return Err(at(
            "clients.count",
            format!(
                "lbsim load holds every client's connections: {} clients × {} = {n} connections, more than it opens \
                 at most ({} within --max-memory {} at --max-header {}); use fewer clients or connections",
                c.count,
                c.connections,
                MAX_OUTSTANDING.min(budget / per),
                crate::memory::format_bytes(budget),
                crate::memory::format_bytes(o.limits.max_header as u64),
            ),
        ));
    }
    Ok(n as usize)
}

/// Default bounds on a target's responses (`--max-header`, `--max-body`, `--timeout`).
pub const DEFAULT_LIMITS: PeerLimits =
    PeerLimits { max_header: DEFAULT_MAX_HEADER, max_body: DEFAULT_MAX_BODY, timeout: Duration::from_secs(30) };

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Where to send.
    pub target: Target,
    /// Label of the measured row.
    pub label: String,
    /// Bounds on each response: time (from its send), header and body size.
    pub limits: PeerLimits,
    /// Wall-clock limit of the whole run, calibration included (`None`: both schedules +
    /// [`CALIBRATION_WAIT`] + the timeout + 10 s).
    pub time_limit: Option<Duration>,
    /// Validity threshold on the 99th percentile of send lateness.
    pub max_lateness: Duration,
    /// Requests of the zero-demand calibration pass (0: none).
    pub calibration: u64,
    /// Ask for `SCHED_FIFO` on the sender threads.
    pub realtime: bool,
    /// Busy-wait tail before an isolated send.
    pub spin: Duration,
    /// Sender threads (≥ 1).
    pub senders: usize,
    /// Connections at most, all senders together (`None`: as many as the offered
    /// concurrency needs, up to [`MAX_OUTSTANDING`]).
    pub connections: Option<usize>,
    /// Reuse connections (HTTP/1.1 keep-alive); off: one connection per request.
    pub keep_alive: bool,
    /// Handle Ctrl-C (the command line); off in tests.
    pub handle_signals: bool,
    /// Show a progress bar and a live line on a terminal.
    pub progress: bool,
    /// Measured passes, one per replication's request stream (replication `r` is the
    /// stream `lbsim run` simulates as its replication `r`), one after another (≥ 1).
    pub replications: u32,
}

impl LoadOptions {
    /// Options with the command line's defaults for `target`.
    pub fn new(target: Target) -> LoadOptions {
        LoadOptions {
            target,
            label: "measured".into(),
            limits: DEFAULT_LIMITS,
            time_limit: None,
            max_lateness: Duration::from_millis(1),
            calibration: 500,
            realtime: false,
            spin: super::timer::DEFAULT_SPIN,
            senders: 1,
            connections: None,
            keep_alive: true,
            handle_signals: false,
            progress: false,
            replications: 1,
        }
    }
}

/// What `load` measured.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    /// The measured run as a one-strategy report: what `lbsim run`'s exporters render.
    pub report: Report,
    /// What only a measurement has (measurement.json).
    pub measurement: Measurement,
}

/// Whether `lbsim load` can replay `sc`: an open arrival process without `[[faults]]`
/// (backends do not crash) or `[client]` (the generator does not retry).
pub fn check_scenario(sc: &Scenario) -> std::result::Result<(), ScenarioError> {
    let err = |key: &str, what: &str| {
        Err(ScenarioError { file: sc.file.clone(), ..ScenarioError::at(key, what.to_string()) })
    };
    if sc.is_closed() {
        return err("arrivals.process", "lbsim load replays open arrival processes only, not a closed loop");
    }
    if !sc.faults.is_empty() {
        return err("faults", "lbsim backends do not emulate [[faults]]: remove them to compare with a real balancer");
    }
    if sc.client.is_some() {
        return err("client", "lbsim load sends each request once: remove [client] (timeouts, retries) to compare");
    }
    Ok(())
}

/// Scheduled send of the first measured request and of the last request of replication
/// `replication`'s stream, s.
fn schedule(sc: &Scenario, replication: u32) -> (f64, f64) {
    let mut window_start = 0.0;
    let mut end = 0.0;
    for r in RequestStream::new(&sc.workload(), replication) {
        if r.id == sc.warmup {
            window_start = r.arrival;
        }
        end = r.arrival;
    }
    (window_start, end)
}

/// Replays `scenario`'s request stream against the target; see the module docs.
pub fn load(scenario: &Scenario, o: &LoadOptions) -> Result<LoadOutcome> {
    check_scenario(scenario)?;
    let cap = match &scenario.clients {
        Some(c) => client_connection_cap(scenario, c, o)?,
        None => connection_cap(o)?,
    };
    // A small runtime on this thread for Ctrl-C and the live line; the senders run their own.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?;
    let addrs = o
        .target
        .socket_addrs()
        .ok()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Error::Other(format!("cannot resolve the target {}", o.target.as_str())))?;
    let stop = Arc::new(Stop::default());
    if o.handle_signals {
        let s = Arc::clone(&stop);
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "\ninterrupted: sending stopped, waiting {}s for responses (Ctrl-C again: now)",
                    GRACE.as_secs()
                );
                s.requested.store(true, Ordering::SeqCst);
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                s.quit.store(true, Ordering::SeqCst);
            }
        });
    }
    let started = Instant::now();
    let names: Vec<String> = scenario.servers.iter().map(|s| s.name.clone()).collect();
    let cal = if o.calibration > 0 {
        let mut cal = scenario.clone();
        Overrides { requests: Some(o.calibration.min(scenario.requests)), ..Overrides::default() }.apply(&mut cal)?;
        let (_, cal_end) = schedule(&cal, 0);
        Some((cal, cal_end))
    } else {
        None
    };
    let replications = o.replications.max(1);
    let schedules: Vec<(f64, f64)> = (0..replications).map(|r| schedule(scenario, r)).collect();
    let limit = o.time_limit.unwrap_or_else(|| {
        let calibration = cal.as_ref().map_or(0.0, |c| LEAD.as_secs_f64() + c.1 + CALIBRATION_WAIT.as_secs_f64());
        // Each replication but the last also waits for its responses (at most the timeout).
        let passes: f64 = schedules.iter().map(|s| LEAD.as_secs_f64() + s.1).sum::<f64>()
            + f64::from(replications - 1) * o.limits.timeout.as_secs_f64();
        Duration::from_secs_f64(calibration + passes) + o.limits.timeout + Duration::from_secs(10)
    });
    let deadline = started + limit;
    let pass = |sc: &Scenario, rec: Recorder, demand: bool, hard_after: Option<Duration>, replication: u32| {
        let rec = Arc::new(Mutex::new(rec));
        let ends = run_pass(&rt, sc, o, (&addrs, cap), &stop, &rec, (deadline, hard_after), (demand, replication));
        let rec = Arc::try_unwrap(rec)
            .map(|m| m.into_inner().expect("recorder lock"))
            .unwrap_or_else(|a| a.lock().expect("recorder lock").clone());
        (rec, ends)
    };

    let calibration = if let Some((cal, cal_end)) = &cal {
        let (cal, cal_end) = (cal, *cal_end);
        let wait = Duration::from_secs_f64(cal_end) + CALIBRATION_WAIT;
        let (r, ends) = pass(cal, Recorder::new(&names, 0, 0.0, cal_end, KeyCounter::new(None)), false, Some(wait), 0);
        if ends.iter().any(|e| e.stopped_by == Some("Ctrl-C")) {
            return Err(Error::Other("stopped during the calibration pass: nothing measured".into()));
        }
        let failed = r.finish("calibration").total.generated - r.responses().count();
        Calibration::of(r.responses(), failed)
    } else {
        None
    };

    // The measured passes, one per replication, one after another.
    let mut passes: Vec<(Recorder, Vec<SenderEnd>)> = Vec::new();
    let measured_from = Instant::now();
    for (r, &(window_start, end)) in (0..replications).zip(&schedules) {
        let keys = KeyCounter::new(scenario.keys.as_ref());
        let mut rec = Recorder::new(&names, scenario.warmup, window_start, end, keys);
        rec.late_threshold = o.max_lateness.as_secs_f64();
        let (rec, ends) = pass(scenario, rec, true, None, r);
        let stopped = ends.is_empty() || ends.iter().any(|e| e.stopped_by.is_some());
        passes.push((rec, ends));
        if stopped {
            break;
        }
    }
    let wall_time = measured_from.elapsed().as_secs_f64();

    let runs: Vec<RunStats> = passes.iter().map(|(r, _)| r.finish(&o.label)).collect();
    let summary = analysis::summarize(&runs, scenario, None);
    let mut sc = scenario.clone();
    sc.strategies.clear();
    sc.replications = runs.len() as u32;
    let (preflight, stream) = (Preflight::of(&sc), analysis::stream_sha256(&sc));
    let report = Report::new(sc, vec![summary], wall_time, &preflight, stream);

    // Every pass's counters together; the diagnosis from the pass that sent latest.
    let mut r = passes[0].0.clone();
    for (p, _) in &passes[1..] {
        r.absorb(p);
    }
    let ends: Vec<SenderEnd> = passes.iter().flat_map(|(_, e)| e.iter().cloned()).collect();
    let lateness = DurationSummary::of(&r.lateness);
    let max_p99_ms = o.max_lateness.as_secs_f64() * 1e3;
    let stopped_by = passes.iter().find_map(|(_, ends)| {
        ends.iter().find_map(|e| e.stopped_by).or_else(|| ends.is_empty().then_some("time limit"))
    });
    let sender = sender_stats(&ends, o);
    let mut connections = connection_stats(&ends, o, scenario.clients.as_ref());
    // Held at once: the largest of the passes, which follow one another.
    connections.peak = passes.iter().map(|(_, e)| e.iter().map(|x| x.peak).sum()).max().unwrap_or(0);
    let mut problems = Vec::new();
    let mut limited_by = None;
    if let Some(l) = lateness.filter(|l| l.p99_ms > max_p99_ms) {
        let worst = passes
            .iter()
            .map(|(p, _)| p)
            .max_by(|a, b| a.lateness.hist.quantile(0.99).total_cmp(&b.lateness.hist.quantile(0.99)))
            .expect("at least one pass");
        let why = diagnose::limited_by(&Limited {
            recorder: worst,
            sender: &sender,
            connections: &connections,
            realtime: o.realtime,
        });
        problems.push(format!(
            "send lateness p99 {:.3} ms exceeds {max_p99_ms:.3} ms: the arrivals were not the scenario's; limited by {why}",
            l.p99_ms
        ));
        limited_by = Some(why);
    }
    let generated: u64 = runs.iter().map(|run| run.total.generated).sum();
    if let Some(why) = stopped_by {
        problems.push(format!(
            "stopped early ({why}) after {generated} of {} requests",
            scenario.requests * u64::from(replications)
        ));
    }
    if runs.iter().any(|run| run.measured.completed == 0) {
        problems.push("no measured request completed".into());
    }
    let failures =
        Failure::ALL.iter().zip(r.failures).filter(|&(_, n)| n > 0).map(|(f, n)| (f.key().to_string(), n)).collect();
    let per_replication =
        passes.iter().zip(&runs).enumerate().map(|(i, ((p, _), run))| Replication::of(i as u32, p, run)).collect();
    let instances = Instances::of(passes.iter().map(|(p, _)| p.instances()));
    let measurement = Measurement {
        lbsim_version: env!("CARGO_PKG_VERSION").into(),
        label: o.label.clone(),
        target: o.target.as_str().to_string(),
        scenario: scenario.name.clone(),
        scenario_sha256: scenario.source.as_ref().map(|t| crate::report::manifest::sha256_hex(t.as_bytes())),
        stream_sha256: analysis::stream_sha256(scenario),
        seed: scenario.seed,
        requests: scenario.requests,
        warmup: scenario.warmup,
        sent: generated,
        lateness,
        max_lateness_p99_ms: max_p99_ms,
        valid: problems.is_empty(),
        problems,
        backend_overshoot: DurationSummary::of(&r.overshoot),
        calibration,
        stopped_by: stopped_by.map(str::to_string),
        unattributed: r.unattributed,
        status_4xx: r.bad_status[0],
        status_5xx: r.bad_status[1],
        sender_policy: sender.policy.clone(),
        wall_time_s: wall_time,
        limited_by,
        failures,
        late_sends: LateCause::ALL.iter().zip(r.late).map(|(c, n)| (c.key().to_string(), n)).collect(),
        sender: Some(sender),
        connections: Some(connections),
        replications: per_replication,
        instances,
    };
    Ok(LoadOutcome { report, measurement })
}

/// The senders together.
fn sender_stats(ends: &[SenderEnd], o: &LoadOptions) -> SenderStats {
    let wall: f64 = ends.iter().map(|e| e.wall).sum::<f64>().max(1e-9);
    let cpu: f64 = ends.iter().map(|e| e.cpu).sum();
    let spun: f64 = ends.iter().map(|e| e.spun).sum();
    let policy =
        ends.first().map_or(if o.realtime { ThreadPolicy::Realtime } else { ThreadPolicy::Normal }, |e| e.policy);
    SenderStats {
        threads: ends.len(),
        policy: policy.describe().into(),
        cpu_percent: 100.0 * cpu / wall,
        busy_percent: 100.0 * (cpu - spun).max(0.0) / wall,
        involuntary_switches: ends.iter().map(|e| e.involuntary_switches).sum(),
        sent_early: ends.iter().map(|e| e.sent_early).sum(),
        max_early_us: ends.iter().map(|e| e.max_early).fold(0.0, f64::max) * 1e6,
    }
}

/// The pools together.
fn connection_stats(ends: &[SenderEnd], o: &LoadOptions, clients: Option<&Clients>) -> Connections {
    let mut connect = super::record::Durations::new();
    for e in ends {
        connect.hist.merge(&e.connect.hist);
        connect.sum += e.connect.sum;
    }
    Connections {
        keep_alive: o.keep_alive,
        max: o.connections,
        opened: ends.iter().map(|e| e.opened).sum(),
        peak: ends.iter().map(|e| e.peak).sum(),
        resent: ends.iter().map(|e| e.resent).sum(),
        connect: DurationSummary::of(&connect),
        clients: clients.map(Clients::describe),
    }
}

/// Connections to open before the first send: twice the offered concurrency by Little's
/// law, the arrival rate times (the mean service time at the slowest server + 1 ms of
/// overhead), plus 2. More are opened as needed (a few at a time), up to the cap.
pub fn offered_concurrency(sc: &Scenario) -> usize {
    let rate = sc.peak_rate();
    let speed = sc.servers.iter().map(|s| s.speed).fold(f64::INFINITY, f64::min);
    let hold = sc.service.mean() / speed + 1e-3;
    let c = 2.0 * rate * hold;
    if c.is_finite() { (c.ceil() as usize).min(MAX_OUTSTANDING as usize) + 2 } else { 2 }
}

/// Sends replication `replication`'s stream of `sc` from `o.senders` threads (sender `w` sends requests `w`, `w + n`, …)
/// and waits for them, showing the live line meanwhile.
#[allow(clippy::too_many_arguments)]
fn run_pass(
    rt: &tokio::runtime::Runtime,
    sc: &Scenario,
    o: &LoadOptions,
    (addrs, cap): (&[std::net::SocketAddr], usize),
    stop: &Arc<Stop>,
    rec: &Arc<Mutex<Recorder>>,
    (deadline, hard_after): (Instant, Option<Duration>),
    (demand, replication): (bool, u32),
) -> Vec<SenderEnd> {
    if Instant::now() + LEAD >= deadline {
        return Vec::new();
    }
    let n = o.senders.max(1);
    let bar = progress_bar(o.progress, sc.requests);
    let seeds = crate::workload::seeds::Seeds::new(sc.seed, replication);
    let clients = sc.clients.as_ref().map(|c| ClientPlan::of(c, &seeds));
    // With [clients] each client's connections open when it needs them, as simulated.
    let initial = if clients.is_some() { 0 } else { offered_concurrency(sc).div_ceil(n).min(cap.div_ceil(n).max(1)) };
    let plan = Arc::new(Plan {
        target: o.target.clone(),
        addrs: addrs.to_vec(),
        limits: o.limits,
        spin: o.spin,
        realtime: o.realtime,
        keep_alive: o.keep_alive,
        clients,
        connections: cap.div_ceil(n).max(1),
        initial,
        lead: LEAD,
        deadline,
        hard_after,
        senders: n,
        ready: std::sync::atomic::AtomicUsize::new(0),
        start: std::sync::OnceLock::new(),
        timeout: o.limits.timeout,
        rec: Arc::clone(rec),
        stop: Arc::clone(stop),
        outstanding: AtomicU64::new(0),
        bar: bar.clone(),
    });
    let ends = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|w| {
                let plan = Arc::clone(&plan);
                let workload = sc.workload();
                // Sender w sends every n-th request, or with [clients] its clients' (client
                // c's requests go to sender c mod n), each request's client drawn as the
                // simulator draws it.
                let mut draw = sc.clients.as_ref().map(|c| ClientDraw::new(c, &seeds));
                let jobs = RequestStream::new(&workload, replication)
                    .map(move |r| (draw.as_mut().map_or(0, ClientDraw::next_client), r))
                    .filter(move |(client, r)| {
                        let by = if clients.is_some() { u64::from(*client) } else { r.id };
                        by % n as u64 == w as u64
                    })
                    .map(move |(client, r)| Job {
                        id: r.id,
                        client,
                        key: r.key,
                        arrival: r.arrival,
                        demand: demand.then_some(r.demand),
                    });
                std::thread::Builder::new()
                    .name(format!("lbsim-sender-{w}"))
                    .spawn_scoped(scope, move || run_sender(plan, jobs))
            })
            .collect();
        // A sender that could not start is never ready: the others must not wait for it.
        for _ in handles.iter().filter(|h| h.is_err()) {
            plan.mark_ready();
        }
        rt.block_on(live(&plan, &handles));
        handles.into_iter().filter_map(|h| h.ok()).filter_map(|h| h.join().ok()).collect::<Vec<_>>()
    });
    bar.finish_and_clear();
    ends
}

/// Updates the live line every second until every sender thread has finished.
async fn live<T>(plan: &Plan, handles: &[std::io::Result<std::thread::ScopedJoinHandle<'_, T>>]) {
    let mut last = (Instant::now(), 0u64);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if handles.iter().all(|h| h.as_ref().map_or(true, |h| h.is_finished())) {
            return;
        }
        if plan.bar.is_hidden() || last.0.elapsed() < Duration::from_secs(1) {
            continue;
        }
        let (sent, failed, recent) = {
            let mut r = plan.rec.lock().expect("recorder lock");
            (r.generated_so_far(), r.failures.iter().sum::<u64>(), r.take_recent())
        };
        let now = Instant::now();
        let rate = (sent - last.1) as f64 / (now - last.0).as_secs_f64();
        last = (now, sent);
        let p99 = if recent.count() > 0 { format!("{:.3} ms", recent.hist.quantile(0.99) * 1e3) } else { "-".into() };
        plan.bar.set_message(format!(
            "t {:.0}s  {rate:.0} req/s  in flight {}  lateness p99 {p99}  failed {failed}",
            now.saturating_duration_since(plan.t0()).as_secs_f64(),
            plan.outstanding.load(Ordering::Relaxed),
        ));
    }
}

fn progress_bar(show: bool, total: u64) -> ProgressBar {
    let target = if show && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        ProgressStyle::with_template("sending [{bar:30}] {human_pos}/{human_len} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}
