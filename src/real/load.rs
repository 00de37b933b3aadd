//! `lbsim load`: an open-loop generator replaying the scenario's request stream.
//!
//! Request `n` of replication 0's [`RequestStream`] — the stream `lbsim run` feeds every
//! strategy, regenerated from the same seed (common random numbers) — is sent at
//! `t0 + arrival` as `GET TARGET?id=n&d=DEMAND` (the demand at speed 1, in seconds, written
//! so that it parses back to the same `f64`), whatever the earlier responses did. A
//! dedicated sender thread sleeps coarsely and spins the last `spin` (200 µs by default) to each send
//! time ([`timer`](super::timer)), then hands the request to a single-threaded tokio
//! runtime running hyper's pooled HTTP/1.1 client (keep-alive, `TCP_NODELAY`, no retries
//! beyond hyper's resend of a request that never left on a closed idle connection).
//!
//! The response time runs from the *scheduled* send, so a late send adds to it instead of
//! hiding a stall (no coordinated omission); the lateness itself (actual − scheduled send)
//! is reported, and the run is marked invalid when its 99th percentile exceeds a threshold.
//! Before the run, a calibration pass sends the same arrivals with zero demand: its
//! response time is the fixed overhead of generator, network, balancer and backend.
//!
//! Bounded: the schedule's request count, a wall-clock limit (default: the schedule, plus
//! the timeout, plus 10 s), a per-request timeout and at most [`MAX_OUTSTANDING`] requests
//! open at once. The first Ctrl-C stops sending and waits [`GRACE`] for what is in flight,
//! the second stops at once; what was measured is reported either way.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{HeaderMap, Request, StatusCode, Uri};

pub use super::target::Target;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::Notify;

use super::headers;
use super::measurement::{Calibration, DurationSummary, Measurement};
use super::record::{BackendView, Outcome, Recorder};
use super::timer::{ThreadPolicy, sleep_until_blocking, tune_thread, untune_thread};
use crate::report::Report;
use crate::scenario::{Overrides, Scenario, ScenarioError};
use crate::stats::{KeyCounter, StrategySummary};
use crate::workload::RequestStream;
use crate::workload::arrivals::Arrivals;
use crate::{Error, Result};

/// Requests open at once beyond which the sender counts new ones as failed without sending.
pub const MAX_OUTSTANDING: u64 = 10_000;

/// How long the first Ctrl-C waits for the requests in flight.
pub const GRACE: Duration = Duration::from_secs(2);

/// Time between starting the runtime and the first scheduled send.
const LEAD: Duration = Duration::from_millis(100);

/// Longest single sleep of the sender, so that it notices a stop.
const SLICE: Duration = Duration::from_millis(50);

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Where to send.
    pub target: Target,
    /// Label of the measured row.
    pub label: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Wall-clock limit of the measured pass (`None`: the schedule + timeout + 10 s).
    pub time_limit: Option<Duration>,
    /// Validity threshold on the 99th percentile of send lateness.
    pub max_lateness: Duration,
    /// Requests of the zero-demand calibration pass (0: none).
    pub calibration: u64,
    /// Ask for `SCHED_FIFO` on the sender thread.
    pub realtime: bool,
    /// Busy-wait tail before each send.
    pub spin: Duration,
    /// Handle Ctrl-C (the command line); off in tests.
    pub handle_signals: bool,
    /// Show a progress bar on a terminal.
    pub progress: bool,
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
    if matches!(sc.arrivals, Arrivals::Closed(_)) {
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

/// Scheduled send of the first measured request and of the last request, s.
fn schedule(sc: &Scenario) -> (f64, f64) {
    let mut window_start = 0.0;
    let mut end = 0.0;
    for r in RequestStream::new(&sc.workload(), 0) {
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?;
    // The runtime's thread sends the requests: with `realtime` it gets SCHED_FIFO too, for
    // the duration (the sender thread asks for its own).
    let runtime_policy = tune_thread(o.realtime);
    let result = load_on(scenario, o, &rt);
    if o.realtime {
        untune_thread();
    }
    drop(rt); // cancels anything still in flight
    result.map(|mut r| {
        if runtime_policy != ThreadPolicy::Realtime && o.realtime {
            r.measurement.sender_policy = runtime_policy.describe().into();
        }
        r
    })
}

fn load_on(scenario: &Scenario, o: &LoadOptions, rt: &tokio::runtime::Runtime) -> Result<LoadOutcome> {
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
                s.notify.notify_waiters();
            }
        });
    }
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(o.timeout));
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(http);
    let names: Vec<String> = scenario.servers.iter().map(|s| s.name.clone()).collect();

    let calibration = if o.calibration > 0 {
        let mut cal = scenario.clone();
        Overrides { requests: Some(o.calibration.min(scenario.requests)), ..Overrides::default() }.apply(&mut cal)?;
        let (_, end) = schedule(&cal);
        let rec = Arc::new(Mutex::new(Recorder::new(&names, 0, 0.0, end, KeyCounter::new(None))));
        let limit = Duration::from_secs_f64(end) + o.timeout + Duration::from_secs(10);
        let requests = RequestStream::new(&cal.workload(), 0).map(|r| Job {
            id: r.id,
            key: r.key,
            arrival: r.arrival,
            demand: None,
        });
        let pass = Pass { client: &client, options: o, stop: &stop, recorder: &rec, limit, total: cal.requests };
        let end = pass.run(rt, requests);
        if end.stopped_by.is_some() {
            return Err(Error::Other("stopped during the calibration pass: nothing measured".into()));
        }
        let r = rec.lock().expect("recorder lock");
        let failed = r.finish("calibration").total.generated - r.responses().count();
        Calibration::of(r.responses(), failed)
    } else {
        None
    };

    let (window_start, end) = schedule(scenario);
    let keys = KeyCounter::new(scenario.keys.as_ref());
    let rec = Arc::new(Mutex::new(Recorder::new(&names, scenario.warmup, window_start, end, keys)));
    let limit = o.time_limit.unwrap_or_else(|| Duration::from_secs_f64(end) + o.timeout + Duration::from_secs(10));
    let requests = RequestStream::new(&scenario.workload(), 0).map(|r| Job {
        id: r.id,
        key: r.key,
        arrival: r.arrival,
        demand: Some(r.demand),
    });
    let started = Instant::now();
    let pass = Pass { client: &client, options: o, stop: &stop, recorder: &rec, limit, total: scenario.requests };
    let pass_end = pass.run(rt, requests);
    let wall_time = started.elapsed().as_secs_f64();

    let r = rec.lock().expect("recorder lock");
    let run = r.finish(&o.label);
    let summary = StrategySummary::from_runs(std::slice::from_ref(&run), scenario, None);
    let mut sc = scenario.clone();
    sc.strategies.clear();
    sc.replications = 1;
    let report = Report::new(sc, vec![summary], wall_time);

    let lateness = DurationSummary::of(&r.lateness);
    let max_p99_ms = o.max_lateness.as_secs_f64() * 1e3;
    let mut problems = Vec::new();
    if let Some(l) = lateness.filter(|l| l.p99_ms > max_p99_ms) {
        problems.push(format!(
            "send lateness p99 {:.3} ms exceeds {max_p99_ms:.3} ms: the arrivals were not the scenario's ({})",
            l.p99_ms,
            super::measurement::lateness_advice(pass_end.policy)
        ));
    }
    if let Some(why) = pass_end.stopped_by {
        problems.push(format!("stopped early ({why}) after {} of {} requests", run.total.generated, scenario.requests));
    }
    if run.measured.completed == 0 {
        problems.push("no measured request completed".into());
    }
    let measurement = Measurement {
        lbsim_version: env!("CARGO_PKG_VERSION").into(),
        label: o.label.clone(),
        target: o.target.as_str().to_string(),
        scenario: scenario.name.clone(),
        scenario_sha256: scenario.source.as_ref().map(|t| crate::report::manifest::sha256_hex(t.as_bytes())),
        stream_sha256: super::compare::stream_sha256(scenario),
        seed: scenario.seed,
        requests: scenario.requests,
        warmup: scenario.warmup,
        sent: run.total.generated,
        lateness,
        max_lateness_p99_ms: max_p99_ms,
        valid: problems.is_empty(),
        problems,
        backend_overshoot: DurationSummary::of(&r.overshoot),
        calibration,
        stopped_by: pass_end.stopped_by.map(str::to_string),
        unattributed: r.unattributed,
        status_4xx: r.bad_status[0],
        status_5xx: r.bad_status[1],
        sender_policy: pass_end.policy.describe().into(),
        wall_time_s: wall_time,
    };
    Ok(LoadOutcome { report, measurement })
}

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// One request to send; `demand: None` sends zero demand without an id (calibration).
struct Job {
    id: u64,
    key: u64,
    arrival: f64,
    demand: Option<f64>,
}

#[derive(Default)]
struct Stop {
    requested: AtomicBool,
    quit: AtomicBool,
    notify: Notify,
}

struct PassEnd {
    stopped_by: Option<&'static str>,
    policy: ThreadPolicy,
}

struct Pass<'a> {
    client: &'a HttpClient,
    options: &'a LoadOptions,
    stop: &'a Arc<Stop>,
    recorder: &'a Arc<Mutex<Recorder>>,
    limit: Duration,
    total: u64,
}

impl Pass<'_> {
    /// Sends `jobs` on schedule from a sender thread, then waits for the responses.
    fn run(&self, rt: &tokio::runtime::Runtime, jobs: impl Iterator<Item = Job> + Send + 'static) -> PassEnd {
        let o = self.options;
        let t0 = Instant::now() + LEAD;
        let hard = t0 + self.limit;
        let outstanding = Arc::new(AtomicU64::new(0));
        let done = Arc::new(Notify::new());
        let bar = progress_bar(o.progress, self.total);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sender = {
            let (handle, stop, rec) = (rt.handle().clone(), Arc::clone(self.stop), Arc::clone(self.recorder));
            let (client, target, outstanding, done) =
                (self.client.clone(), o.target.clone(), Arc::clone(&outstanding), Arc::clone(&done));
            let (realtime, spin, timeout, bar) = (o.realtime, o.spin, o.timeout, bar.clone());
            std::thread::spawn(move || {
                let policy = tune_thread(realtime);
                let mut why = None;
                'jobs: for job in jobs {
                    let at = t0 + Duration::from_secs_f64(job.arrival);
                    if at > hard {
                        why = Some("time limit");
                        break;
                    }
                    while at.saturating_duration_since(Instant::now()) > SLICE + spin {
                        if stop.requested.load(Ordering::SeqCst) {
                            break 'jobs;
                        }
                        std::thread::sleep(SLICE);
                    }
                    if stop.requested.load(Ordering::SeqCst) {
                        why = Some("Ctrl-C");
                        break;
                    }
                    sleep_until_blocking(at, spin);
                    rec.lock().expect("recorder lock").generated(job.id, job.key);
                    bar.inc(1);
                    if outstanding.load(Ordering::SeqCst) >= MAX_OUTSTANDING {
                        rec.lock().expect("recorder lock").record(job.id, None, Outcome::Failed);
                        continue;
                    }
                    outstanding.fetch_add(1, Ordering::SeqCst);
                    let uri = match job.demand {
                        Some(d) => target.request_uri(Some(job.id), d),
                        None => target.request_uri(None, 0.0),
                    };
                    let ctx = SendCtx {
                        client: client.clone(),
                        rec: Arc::clone(&rec),
                        outstanding: Arc::clone(&outstanding),
                        done: Arc::clone(&done),
                        t0,
                        timeout,
                    };
                    handle.spawn(ctx.send(uri, job.id, at));
                }
                if why.is_none() && stop.requested.load(Ordering::SeqCst) {
                    why = Some("Ctrl-C");
                }
                let _ = tx.send((policy, why));
            })
        };
        let stop = Arc::clone(self.stop);
        let (policy, stopped_by) = rt.block_on(async move {
            let (policy, why) = rx.await.unwrap_or((ThreadPolicy::Normal, Some("sender thread failed")));
            let now = tokio::time::Instant::now();
            let hard = tokio::time::Instant::from_std(hard);
            let drain_until =
                if why.is_some() { now + GRACE } else { hard.min(now + o.timeout + Duration::from_secs(1)) };
            while outstanding.load(Ordering::SeqCst) > 0 && !stop.quit.load(Ordering::SeqCst) {
                tokio::select! {
                    _ = done.notified() => {}
                    _ = stop.notify.notified() => {}
                    _ = tokio::time::sleep_until(drain_until) => break,
                }
            }
            (policy, why)
        });
        let _ = sender.join();
        bar.finish_and_clear();
        PassEnd { stopped_by, policy }
    }
}

fn progress_bar(show: bool, total: u64) -> ProgressBar {
    use std::io::IsTerminal;
    let target = if show && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        ProgressStyle::with_template("sending [{bar:40}] {human_pos}/{human_len} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

struct SendCtx {
    client: HttpClient,
    rec: Arc<Mutex<Recorder>>,
    outstanding: Arc<AtomicU64>,
    done: Arc<Notify>,
    t0: Instant,
    timeout: Duration,
}

impl SendCtx {
    async fn send(self, uri: Uri, id: u64, scheduled: Instant) {
        let started = Instant::now();
        self.rec.lock().expect("recorder lock").sent(started.saturating_duration_since(scheduled).as_secs_f64());
        let req = Request::get(uri).body(Empty::new()).expect("valid request");
        let result = tokio::time::timeout(self.timeout, exchange(&self.client, req)).await;
        let finished = Instant::now();
        let mut rec = self.rec.lock().expect("recorder lock");
        let (server, outcome) = match result {
            Err(_) => (None, Outcome::TimedOut),
            Ok(Err(())) => (None, Outcome::Failed),
            Ok(Ok((status, h))) => {
                let server = header(&h, headers::SERVER).and_then(|n| rec.server_index(n));
                let outcome = if status.is_success() {
                    let response = (finished - scheduled).as_secs_f64();
                    Outcome::Completed { response, done: (finished - self.t0).as_secs_f64(), backend: backend_view(&h) }
                } else if status == StatusCode::SERVICE_UNAVAILABLE && header(&h, headers::DROPPED).is_some() {
                    Outcome::Dropped
                } else {
                    rec.bad_status(status.as_u16());
                    Outcome::Failed
                };
                (server, outcome)
            }
        };
        rec.record(id, server, outcome);
        drop(rec);
        if self.outstanding.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.done.notify_one();
        }
    }
}

/// Sends one request and reads the whole response.
async fn exchange(client: &HttpClient, req: Request<Empty<Bytes>>) -> std::result::Result<(StatusCode, HeaderMap), ()> {
    let resp = client.request(req).await.map_err(|_| ())?;
    let (parts, body) = resp.into_parts();
    body.collect().await.map_err(|_| ())?;
    Ok((parts.status, parts.headers))
}

fn header<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// What an lbsim backend reported, when every header is there.
fn backend_view(h: &HeaderMap) -> Option<BackendView> {
    let num = |name| header(h, name).and_then(|v| v.parse::<f64>().ok()).filter(|x| x.is_finite());
    Some(BackendView {
        wait: num(headers::WAIT)?,
        service: num(headers::SERVICE)?,
        in_system: header(h, headers::IN_SYSTEM).and_then(|v| v.parse().ok())?,
        overshoot: num(headers::OVERSHOOT)?,
    })
}
