//! `lbsim backends`: the scenario's servers as real HTTP servers on loopback: HTTP/1.1
//! with keep-alive, and HTTP/2 cleartext with prior knowledge (h2c: a connection that opens
//! with the HTTP/2 preface) on the same port, its streams unlimited (grpc-go's default).
//!
//! Server `i` of the scenario listens on `port_base + i` (or a port the system picks when
//! `port_base` is 0). Each holds a request for its demand ÷ the server's speed, with
//! `workers` slots and a FIFO waiting room of `queue_capacity` in front of them (full → 503),
//! scheduled by [`FifoServer`] and timed by the precise [`Timer`]. The demand is the
//! request's (`GET /?id=N&d=SECONDS`, what `lbsim load` sends); without `d`, it is drawn from
//! the server group's service distribution (for a group with its own `service`, keyed by
//! `id` exactly as the simulator draws it). Every response carries what the backend saw in
//! `x-lbsim-*` headers (see [`super::headers`]); a CSV log of every request is kept
//! on request.

use std::convert::Infallible;
use std::fs::File;
use std::io::BufWriter;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use tokio::net::TcpListener;

use super::headers;
use super::queue::FifoServer;
use super::timer::{ThreadPolicy, Timer, tune_thread, untune_thread};
use crate::scenario::Scenario;
use crate::stats::LatencyHistogram;
use crate::workload::PerRequestSampler;
use crate::workload::seeds::Seeds;
use crate::workload::service::ServiceDist;
use crate::{Error, Result};

mod conn;
use conn::accept_loop;

/// Largest demand a request may ask for, s (a guard against typos in hand-made URLs).
pub const MAX_DEMAND: f64 = 3600.0;

/// Default connections per port held at once; beyond it the longest-idle connection is
/// closed to make room, and a new one is refused only when every one is inside a request.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Default time a client has to send a complete request header from its first byte.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time a connection may stay idle (no request in progress, no byte received).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How to serve.
#[derive(Debug, Clone)]
pub struct BackendOptions {
    /// Address to listen on (loopback unless told otherwise).
    pub bind: IpAddr,
    /// Port of the first server; the others follow in scenario order. 0: ports the system picks.
    pub port_base: u16,
    /// Per-request CSV log.
    pub log: Option<PathBuf>,
    /// Stop by itself after this long.
    pub time_limit: Duration,
    /// Ask for `SCHED_FIFO` on the timer thread.
    pub realtime: bool,
    /// Busy-wait tail of each wait.
    pub spin: Duration,
    /// Stop on Ctrl-C and SIGTERM (the command line); off in tests.
    pub handle_signals: bool,
    /// Connections per port held at once (see [`DEFAULT_MAX_CONNECTIONS`]).
    pub max_connections: usize,
    /// A connection that started a request must complete its header within this.
    pub header_timeout: Duration,
    /// A connection with no request in progress is closed after this long.
    pub idle_timeout: Duration,
}

impl BackendOptions {
    /// The command line's defaults: loopback, ports the system picks, one hour.
    pub fn new() -> BackendOptions {
        BackendOptions {
            bind: IpAddr::from([127, 0, 0, 1]),
            port_base: 0,
            log: None,
            time_limit: Duration::from_secs(3600),
            realtime: false,
            spin: super::timer::DEFAULT_SPIN,
            handle_signals: false,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

impl Default for BackendOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// One server listening.
#[derive(Debug, Clone)]
pub struct Listening {
    /// Server name.
    pub name: String,
    /// Its address.
    pub addr: SocketAddr,
}

/// What one server did.
#[derive(Debug, Clone, Default)]
pub struct ServerCounts {
    /// Server name.
    pub name: String,
    /// Requests received.
    pub requests: u64,
    /// Requests answered 200 after their service.
    pub completed: u64,
    /// Requests refused with 503 because the waiting room was full.
    pub dropped: u64,
    /// Requests refused with 400 (a bad `id` or `d`).
    pub bad: u64,
    /// Connections accepted.
    pub connections: u64,
    /// Connections closed for an incomplete header past the header timeout.
    pub header_timeouts: u64,
    /// Connections closed after the idle timeout.
    pub idle_timeouts: u64,
    /// Idle connections closed to make room for a new one (the per-port cap).
    pub evicted: u64,
    /// New connections refused: the cap reached and every connection inside a request.
    pub refused: u64,
    /// Of the connections accepted, those that spoke HTTP/2 (h2c, prior knowledge).
    pub h2c: u64,
}

/// What the backends did, reported when they stop.
#[derive(Debug, Clone)]
pub struct BackendsReport {
    /// Per server, in scenario order.
    pub servers: Vec<ServerCounts>,
    /// Overshoot of every service wait (wake-up − scheduled end), s.
    pub overshoot: LatencyHistogram,
    /// Sum of the overshoots, s (for an exact mean).
    pub overshoot_sum: f64,
    /// Scheduling the timer thread obtained.
    pub policy: ThreadPolicy,
    /// Seconds served.
    pub wall_time: f64,
    /// Why they stopped.
    pub stopped_by: &'static str,
}

struct ServerState {
    name: String,
    speed: f64,
    sampler: ServiceDist,
    keyed: Option<PerRequestSampler>,
    rng: Mutex<Xoshiro256PlusPlus>,
    queue: Mutex<FifoServer>,
    counts: Mutex<ServerCounts>,
}

struct Shared {
    origin: Instant,
    timer: Timer,
    log: Option<Mutex<csv::Writer<BufWriter<File>>>>,
    overshoot: Mutex<(LatencyHistogram, f64)>,
    limits: ConnLimits,
}

#[derive(Debug, Clone, Copy)]
struct ConnLimits {
    max: usize,
    header: Duration,
    idle: Duration,
}

impl ServerState {
    fn new(sc: &Scenario, i: usize, seeds: &Seeds) -> ServerState {
        let info = &sc.servers[i];
        let group = sc.group_of(i);
        let dist = group.service.as_ref().unwrap_or(&sc.service);
        let sampler = *dist;
        // Exactly the engine's draw for a group with its own service distribution.
        let keyed = group
            .service
            .as_ref()
            .map(|_| PerRequestSampler::new(sampler, seeds.stream(&format!("service/{}", group.name))));
        ServerState {
            name: info.name.clone(),
            speed: info.speed,
            sampler,
            keyed,
            rng: Mutex::new(Xoshiro256PlusPlus::seed_from_u64(seeds.stream(&format!("backend/{}", info.name)))),
            queue: Mutex::new(FifoServer::new(info.workers, info.queue_capacity)),
            counts: Mutex::new(ServerCounts { name: info.name.clone(), ..ServerCounts::default() }),
        }
    }

    /// The demand of a request: the group's keyed draw, the request's `d`, or a fresh draw.
    fn demand(&self, id: Option<u64>, d: Option<f64>) -> f64 {
        match (&self.keyed, id, d) {
            (Some(k), Some(id), _) => k.sample(id),
            (_, _, Some(d)) => d,
            _ => self.sampler.sample(&mut *self.rng.lock().expect("rng lock")),
        }
    }
}

/// Parses `id` and `d` from a query string; unknown parameters are ignored.
pub fn parse_query(query: Option<&str>) -> std::result::Result<(Option<u64>, Option<f64>), String> {
    let mut id = None;
    let mut d = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "id" => id = Some(v.parse::<u64>().map_err(|_| format!("id must be an integer ≥ 0, got {v:?}"))?),
            "d" => {
                let x: f64 = v.parse().map_err(|_| format!("d must be a number of seconds, got {v:?}"))?;
                if !(x.is_finite() && (0.0..=MAX_DEMAND).contains(&x)) {
                    return Err(format!("d must be between 0 and {MAX_DEMAND} seconds, got {v}"));
                }
                d = Some(x);
            }
            _ => {}
        }
    }
    Ok((id, d))
}

fn respond(status: StatusCode, server: &str, extra: &[(&'static str, String)], body: &str) -> Response<Full<Bytes>> {
    let mut b = Response::builder().status(status).header(headers::SERVER, server);
    for (k, v) in extra {
        b = b.header(*k, v.as_str());
    }
    b.body(Full::new(Bytes::from(body.to_string()))).expect("valid response")
}

async fn handle(
    req: Request<Incoming>,
    srv: Arc<ServerState>,
    shared: Arc<Shared>,
) -> std::result::Result<Response<Full<Bytes>>, Infallible> {
    let arrived = Instant::now();
    let now = (arrived - shared.origin).as_secs_f64();
    srv.counts.lock().expect("counts lock").requests += 1;
    let (id, d) = match parse_query(req.uri().query()) {
        Ok(q) => q,
        Err(msg) => {
            srv.counts.lock().expect("counts lock").bad += 1;
            return Ok(respond(StatusCode::BAD_REQUEST, &srv.name, &[], &format!("{msg}\n")));
        }
    };
    let demand = srv.demand(id, d);
    let admission = srv.queue.lock().expect("queue lock").admit(now, demand / srv.speed);
    let Some(adm) = admission else {
        srv.counts.lock().expect("counts lock").dropped += 1;
        log(&shared, &srv.name, id, demand, now, None, now, 503);
        return Ok(respond(
            StatusCode::SERVICE_UNAVAILABLE,
            &srv.name,
            &[(headers::DROPPED, "1".into())],
            "queue full\n",
        ));
    };
    let deadline = shared.origin + Duration::from_secs_f64(adm.end);
    if deadline > Instant::now() {
        shared.timer.sleep_until(deadline).await;
    }
    let woke = Instant::now();
    let overshoot = woke.saturating_duration_since(deadline).as_secs_f64();
    {
        let mut o = shared.overshoot.lock().expect("overshoot lock");
        o.0.record(overshoot);
        o.1 += overshoot;
    }
    srv.counts.lock().expect("counts lock").completed += 1;
    let responded = (woke - shared.origin).as_secs_f64();
    log(&shared, &srv.name, id, demand, now, Some((adm.start, adm.end)), responded, 200);
    let extra = [
        (headers::WAIT, format!("{}", adm.start - now)),
        (headers::SERVICE, format!("{}", adm.end - adm.start)),
        (headers::IN_SYSTEM, adm.in_system.to_string()),
        (headers::OVERSHOOT, format!("{overshoot}")),
    ];
    Ok(respond(StatusCode::OK, &srv.name, &extra, ""))
}

/// Columns of the per-request log.
pub const LOG_COLUMNS: &[&str] =
    &["server", "id", "demand_s", "arrival_s", "start_s", "end_s", "responded_s", "status"];

#[allow(clippy::too_many_arguments)]
fn log(
    shared: &Shared,
    server: &str,
    id: Option<u64>,
    demand: f64,
    arrival: f64,
    service: Option<(f64, f64)>,
    responded: f64,
    status: u16,
) {
    let Some(w) = &shared.log else { return };
    let opt = |x: Option<f64>| x.map(|v| format!("{v:.9}")).unwrap_or_default();
    let row = [
        server.to_string(),
        id.map(|i| i.to_string()).unwrap_or_default(),
        format!("{demand:.9}"),
        format!("{arrival:.9}"),
        opt(service.map(|s| s.0)),
        opt(service.map(|s| s.1)),
        format!("{responded:.9}"),
        status.to_string(),
    ];
    let _ = w.lock().expect("log lock").write_record(&row);
}

/// Serves every server of `scenario` until Ctrl-C/SIGTERM (with `handle_signals`) or the
/// time limit; `ready` is called once every port listens. Replication 0's seeds are used for
/// demands the backends draw themselves.
pub fn serve(
    scenario: &Scenario,
    options: &BackendOptions,
    ready: impl FnOnce(&[Listening]),
) -> Result<BackendsReport> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?;
    // The runtime's thread wakes the handlers and writes the responses: with `realtime` it
    // gets SCHED_FIFO too, for the duration.
    let policy = tune_thread(options.realtime);
    let result = rt.block_on(serve_async(scenario, options, ready));
    if options.realtime {
        untune_thread();
    }
    // Report a refusal on either thread.
    result.map(|r| BackendsReport { policy: if policy == ThreadPolicy::Realtime { r.policy } else { policy }, ..r })
}

async fn serve_async(
    scenario: &Scenario,
    options: &BackendOptions,
    ready: impl FnOnce(&[Listening]),
) -> Result<BackendsReport> {
    let seeds = Seeds::new(scenario.seed, 0);
    let log = match &options.log {
        Some(path) => {
            let f =
                File::create(path).map_err(|e| Error::Io { action: "cannot write", path: path.clone(), source: e })?;
            let mut w = csv::Writer::from_writer(BufWriter::new(f));
            w.write_record(LOG_COLUMNS).map_err(|e| Error::Other(format!("cannot write the log: {e}")))?;
            Some(Mutex::new(w))
        }
        None => None,
    };
    let timer = Timer::start(options.spin, options.realtime)
        .map_err(|e| Error::Other(format!("cannot start the timer thread: {e}")))?;
    let policy = timer.policy();
    let mut listeners = Vec::new();
    let mut listening = Vec::new();
    for (i, s) in scenario.servers.iter().enumerate() {
        let port = if options.port_base == 0 {
            0
        } else {
            u16::try_from(u32::from(options.port_base) + i as u32).map_err(|_| {
                Error::Other(format!(
                    "--port-base {} leaves no port for server {} ({})",
                    options.port_base,
                    i + 1,
                    s.name
                ))
            })?
        };
        let addr = SocketAddr::new(options.bind, port);
        let l = TcpListener::bind(addr).await.map_err(|e| Error::Other(format!("cannot listen on {addr}: {e}")))?;
        let addr = l.local_addr().map_err(|e| Error::Other(format!("cannot read the address of {addr}: {e}")))?;
        listening.push(Listening { name: s.name.clone(), addr });
        listeners.push(l);
    }
    let shared = Arc::new(Shared {
        origin: Instant::now(),
        timer,
        log,
        overshoot: Mutex::new((LatencyHistogram::new(3), 0.0)),
        limits: ConnLimits {
            max: options.max_connections.max(1),
            header: options.header_timeout,
            idle: options.idle_timeout,
        },
    });
    let states: Vec<Arc<ServerState>> =
        (0..scenario.servers.len()).map(|i| Arc::new(ServerState::new(scenario, i, &seeds))).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (l, st) in listeners.into_iter().zip(&states) {
        tasks.spawn(accept_loop(l, Arc::clone(st), Arc::clone(&shared)));
    }
    ready(&listening);
    let stopped_by = wait_for_stop(options).await;
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    let wall_time = shared.origin.elapsed().as_secs_f64();
    if let Some(w) = &shared.log {
        w.lock().expect("log lock").flush().map_err(|e| Error::Other(format!("cannot write the log: {e}")))?;
    }
    let (overshoot, overshoot_sum) = shared.overshoot.lock().expect("overshoot lock").clone();
    Ok(BackendsReport {
        servers: states.iter().map(|s| s.counts.lock().expect("counts lock").clone()).collect(),
        overshoot,
        overshoot_sum,
        policy,
        wall_time,
        stopped_by,
    })
}

async fn wait_for_stop(options: &BackendOptions) -> &'static str {
    let limit = tokio::time::sleep(options.time_limit);
    if !options.handle_signals {
        limit.await;
        return "time limit";
    }
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = limit => "time limit",
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term => "SIGTERM",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        assert_eq!(parse_query(Some("id=7&d=0.02")), Ok((Some(7), Some(0.02))));
        assert_eq!(parse_query(Some("d=0")), Ok((None, Some(0.0))));
        assert_eq!(parse_query(None), Ok((None, None)));
        assert_eq!(parse_query(Some("x=1&&id=3")), Ok((Some(3), None)));
        assert!(parse_query(Some("d=-1")).is_err());
        assert!(parse_query(Some("d=nan")).is_err());
        assert!(parse_query(Some("d=1e9")).is_err());
        assert!(parse_query(Some("id=x")).is_err());
    }
}
