//! The estimate of what a run of a scenario needs: memory at its peak and work, from the
//! scenario's settings alone (no simulation; microseconds even for a million servers).
//!
//! **Memory** is the sum of [`Part`]s, each a count times the size of what is counted
//! (the engine's own structures sized by [`crate::engine::footprint`]):
//! - the scenario (its servers and text) and a loaded trace (8 bytes per row per column);
//! - per simulation running at once (one per thread): the servers with their worker slots,
//!   the event queue (reserved for every worker), the strategy's view and tables (hash rings,
//!   Maglev tables), the closed loop's clients, the requests waiting when the offered load is
//!   ≥ 1, the key counter and the sampled timeline;
//! - the results of every strategy × replication, held until the scenario's last one is done:
//!   latency histograms overall (sized by [`hist_bytes`] for the response times expected: at
//!   most 1000 mean service times in a stable run, the whole run otherwise, the timeout with
//!   a client policy) and per server (a list of the first values, counts only for servers
//!   that saw more: [`latency_hist_bytes`]), and the timeline;
//! - the summaries and the output files (charts included);
//! - the process itself (binary, font, allocator).
//!
//! **Work** counts events (an arrival and a departure per request, timeouts, client sends,
//! health checks and the other timers) plus the engine's per-request scan of a server's
//! workers (worth about 1/50 of an event per worker) and the setup of servers and workers,
//! over every simulation. Above [`SLOW_WORK`] a run is reported as slow. (Measured with
//! callgrind: a request costs about 1000 instructions, two events; one worker of a scan about
//! 10, a fiftieth of an event.)

use crate::scenario::Scenario;
use crate::stats::timeline::{DETAIL_MAX_SERVERS, MAX_SAMPLES};
use crate::stats::{LatencyHistogram, MAX_COUNTED_KEYS, RunStats, ServerStats, StrategySummary};
use crate::strategy::ServerInfo;
use crate::workload::Request;

/// Work (in events) beyond which a run is reported as slow: half a minute of one core or more
/// (an event costs about 500 instructions).
pub const SLOW_WORK: f64 = 1e8;

/// Resident memory of the process before any scenario (binary, font, allocator, threads), bytes
/// (measured: `lbsim validate` peaks at 6 MiB).
const BASE: u64 = 8 << 20;

/// Memory of rendering the output files (charts drawn in parallel), bytes (measured: 6 MiB
/// on two threads).
const OUTPUTS: u64 = 16 << 20;

/// Per server, the strategy's own state besides its tables (loads, weights, EWMAs), bytes.
const STRATEGY_PER_SERVER: u64 = 48;

/// Per server of an instance's subset, its copy of its view (24 bytes), the servers it
/// uses (8) and its subset (4), bytes.
const SUBSET_CLIENT: u64 = 36;

/// Per server of an instance's subset under the local view, its own count and the subset's
/// copy it is kept by, bytes.
const OWN_COUNT: u64 = 8;

/// A call of the engine's call table (a request followed across attempts), bytes.
const CALL: u64 = std::mem::size_of::<Request>() as u64 + 40;

/// One part of a memory estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// What it is ("10 servers with 10 workers (2 simulation(s) at once)").
    pub what: String,
    /// The scenario key that sets its size, if one does (`servers[0].workers`).
    pub key: Option<String>,
    /// Its size, bytes.
    pub bytes: u64,
}

/// What a run needs, estimated before it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// Peak memory, bytes (the sum of `parts`).
    pub memory: u64,
    /// Its parts.
    pub parts: Vec<Part>,
    /// Simulations (strategies × replications, twice for a closed loop's open models).
    pub simulations: u64,
    /// Events of one simulation (arrivals, departures, timeouts, timers).
    pub events: f64,
    /// Events per simulated second from timers alone (health checks, diurnal pieces, ...).
    pub timer_events_per_second: f64,
    /// Work of the whole run in events (events, worker scans and setup of every simulation).
    pub work: f64,
    /// Bytes of one copy of the parsed scenario, trace aside ([`scenario_bytes`]).
    pub scenario: u64,
}

impl Usage {
    /// The `n` largest parts, largest first.
    pub fn largest_parts(&self, n: usize) -> Vec<&Part> {
        let mut parts: Vec<&Part> = self.parts.iter().collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.bytes));
        parts.truncate(n);
        parts
    }

    /// Whether the run is slow (its work above [`SLOW_WORK`]).
    pub fn is_slow(&self) -> bool {
        self.work > SLOW_WORK
    }
}

/// Work of choosing a server for one request beyond the event it costs, in events (an event
/// is about 0.3 µs): a strategy that reads every server (rendezvous: one hash each, measured
/// 6–12 ns) or `choices` of them (10–15 ns each).
fn pick_work(st: &crate::scenario::StrategySpec, servers: u64) -> f64 {
    let looked_at = crate::strategy::lookup(st.name).map_or(1, |i| (i.reads)(&st.params, servers)) as f64;
    if looked_at <= 64.0 { 0.0 } else { looked_at / 25.0 }
}

/// Bytes of an auto-resizing HDR histogram of `sigfig` significant digits (2 or 3) that has
/// recorded values up to `max_ns` nanoseconds: (buckets + 1) × half a sub-bucket count of
/// `u64` counters, as `hdrhistogram` allocates them.
pub fn hist_bytes(sigfig: u8, max_ns: f64) -> u64 {
    let sub: u64 = if sigfig <= 2 { 256 } else { 2048 };
    let mut buckets = 1u64;
    let mut top = sub as f64;
    while top <= max_ns && buckets < 64 {
        top *= 2.0;
        buckets += 1;
    }
    (buckets + 1) * (sub / 2) * 8
}

/// Bytes held by `count` [`LatencyHistogram`]s of `sigfig` digits that record `values` values
/// in all, each at most `max_ns`: a histogram keeps its first
/// [`LatencyHistogram::LISTED_MAX`] values as a list (4 bytes each, the list's capacity at
/// most twice its length), then counts (4 bytes, 8 once a total could pass a `u32`) over the
/// buckets used — at most every bucket up to `max_ns` — and only a histogram with more
/// values than the list holds has counts.
pub(super) fn latency_hist_bytes(sigfig: u8, count: u64, values: u64, max_ns: f64) -> u64 {
    let listed = LatencyHistogram::LISTED_MAX;
    let lists = values.saturating_mul(2).min(listed.saturating_mul(count)) * 4;
    let per_count = if values > u64::from(u32::MAX) / 2 { 8 } else { 4 };
    let counted = count.min(values / (listed + 1)).saturating_mul(hist_bytes(sigfig, max_ns) / 8 * per_count);
    lists.saturating_add(counted)
}

/// Estimates what running `sc` on `threads` threads needs (see the module documentation):
/// the memory of the scenario, of the simulations running at once and of the results, and
/// the work.
pub fn estimate(sc: &Scenario, threads: usize) -> Usage {
    let cx = Context::new(sc, threads);
    let mut parts: Vec<Part> = Vec::new();
    let mut part = |what: String, key: Option<String>, bytes: f64| {
        if bytes >= 1.0 {
            parts.push(Part { what, key, bytes: bytes.min(u64::MAX as f64 / 4.0) as u64 });
        }
    };
    part("lbsim itself".into(), None, BASE as f64);
    let scenario = scenario_parts(&cx, &mut part);
    simulation_parts(&cx, &mut part);
    result_parts(&cx, &mut part);
    let (events, timer_events_per_second, work) = work(&cx);
    let memory = parts.iter().map(|p| p.bytes).fold(0u64, u64::saturating_add);
    Usage { memory, parts, simulations: cx.simulations, events, timer_events_per_second, work, scenario }
}

/// Adds a part: what it is, the key that sets its size, bytes (parts under a byte are left out).
type AddPart<'a> = dyn FnMut(String, Option<String>, f64) + 'a;

/// The figures of a scenario every part of the estimate reads.
struct Context<'a> {
    sc: &'a Scenario,
    /// Requests.
    n: f64,
    /// Servers.
    s: u64,
    /// Workers of all servers.
    workers: u64,
    reps: u64,
    strategies: u64,
    closed: bool,
    /// Simulations of the whole run.
    simulations: u64,
    /// Simulations running at once.
    live: u64,
    /// Expected simulated time, s.
    span: f64,
    /// Offered load.
    rho: f64,
    /// Arrivals that go on at their own rate (not a closed loop or a trace).
    steady: bool,
    /// The largest response time the histograms must cover, ns.
    max_ns: f64,
    /// Measured requests.
    measured: u64,
    hist2_grown: u64,
    hist3: u64,
    timeline_bytes: u64,
    /// The group that weighs most: where to point when servers or workers dominate.
    heaviest: usize,
    many_workers: bool,
}

impl<'a> Context<'a> {
    fn new(sc: &'a Scenario, threads: usize) -> Context<'a> {
        let n = sc.requests as f64;
        let s = sc.server_count() as u64;
        let workers: u64 = sc.servers.iter().map(|x| u64::from(x.workers)).sum();
        let reps = u64::from(sc.replications);
        let strategies = sc.strategies.len() as u64;
        let closed = sc.is_closed();
        let simulations = strategies * reps * if closed { 2 } else { 1 };
        let live = (threads as u64).clamp(1, (strategies * reps).max(1));
        let span = sc.expected_duration();
        let rho = sc.offered_load();
        let longest = (0..sc.server_count()).map(|i| sc.mean_service_of(i)).fold(0.0, f64::max);

        // The response times the histograms must cover.
        let steady = sc.arrivals.open_ended();
        let stable = steady && rho < 1.0 && sc.peak_rate() < sc.capacity();
        let r_max = match sc.client.as_ref().and_then(|c| c.timeout.map(|t| (c, t))) {
            Some((c, t)) => (t + c.max_backoff) * f64::from(c.max_retries + 1),
            None if stable => (1000.0 * longest).min(span + longest),
            None => span + 1000.0 * longest,
        };
        let max_ns = r_max * 1e9;
        let measured = sc.requests - sc.warmup;
        let hist2_grown = hist_bytes(2, max_ns);
        let hist3 = hist_bytes(3, max_ns);
        let timeline_bytes = MAX_SAMPLES as u64 * (8 * 5 + if s as usize <= DETAIL_MAX_SERVERS { s * 16 } else { 0 });

        let heaviest = (0..sc.groups.len())
            .max_by_key(|&g| {
                let gr = &sc.groups[g];
                gr.count as u64 * (1 + u64::from(sc.servers[gr.first].workers) / 64)
            })
            .unwrap_or(0);
        let many_workers = sc.groups.get(heaviest).is_some_and(|g| sc.servers[g.first].workers > 64);
        Context {
            sc,
            n,
            s,
            workers,
            reps,
            strategies,
            closed,
            simulations,
            live,
            span,
            rho,
            steady,
            max_ns,
            measured,
            hist2_grown,
            hist3,
            timeline_bytes,
            heaviest,
            many_workers,
        }
    }

    /// The key `k` of the heaviest group.
    fn group_key(&self, k: &str) -> Option<String> {
        Some(format!("servers[{}].{k}", self.heaviest))
    }
}

/// The scenario's parts; returns the bytes of one copy of it, trace aside.
fn scenario_parts(cx: &Context, part: &mut AddPart) -> u64 {
    let (sc, s) = (cx.sc, cx.s);
    let group_key = |k: &str| cx.group_key(k);
    // The scenario: twice (the one run and the report's copy); a trace once (shared).
    let scenario = scenario_bytes(sc);
    let trace = trace_bytes(sc);
    part(format!("the scenario ({s} servers)"), group_key("count"), 2.0 * scenario as f64);
    part("the trace".into(), Some("arrivals.file".into()), trace as f64);
    scenario
}

/// One simulation's state, times the simulations running at once.
fn simulation_parts(cx: &Context, part: &mut AddPart) {
    let Context { sc, n, s, workers, live, rho, steady, timeline_bytes, many_workers, .. } = *cx;
    let group_key = |k: &str| cx.group_key(k);
    let at_once = |what: &str| format!("{what} ({live} simulation(s) at once)");
    let lf = live as f64;
    let engine = crate::engine::footprint();
    let event = engine.event;
    // (The servers' histograms are counted with the results they become.)
    let server_state = s * (engine.server + STRATEGY_PER_SERVER + 24)
        + workers * (engine.job + 16 + 4 + 8 + event)
        + if sc.health_check.is_some() { 2 * s * event } else { 0 };
    part(
        at_once(&format!("{s} servers with {workers} workers")),
        group_key(if many_workers { "workers" } else { "count" }),
        lf * server_state as f64,
    );
    if let Some(c) = sc.arrivals.closed() {
        part(
            at_once(&format!("{} clients", c.clients)),
            Some("arrivals.clients".into()),
            lf * f64::from(c.clients) * (CALL + event) as f64,
        );
    }
    // `[clients]`: a slot per connection (32 bytes, 8 more with a handshake), a waiting line
    // per client (32 bytes empty), an age or idle event per open connection.
    if let Some(c) = &sc.clients {
        let slots = f64::from(c.count) * f64::from(c.connections);
        let slot = 32 + if c.handshake.0 > 0 { 8 } else { 0 };
        part(
            at_once(&format!("{} clients × {} connections", c.count, c.connections)),
            Some("clients.count".into()),
            lf * (slots * (slot + 2 * event) as f64 + f64::from(c.count) * 32.0),
        );
    }
    // Requests piling up in the queues of an overloaded open system.
    let queued = if steady && rho >= 1.0 { n * (1.0 - 1.0 / rho) } else { 0.0 };
    let per_queued = 2 * engine.job + if sc.client.is_some() { CALL + event } else { 0 };
    part(
        at_once(&format!("{queued:.0} requests queued at offered load {rho:.2}")),
        Some(Scenario::rate_key(sc).into()),
        lf * queued * per_queued as f64,
    );
    // `[balancers]`: each further instance owns a strategy state and its own counts; a
    // delayed view keeps the changes of the last `delay` (two per request); `[network]`
    // follows every request in transit in the call table.
    let b = &sc.balancers;
    if let Some(sub) = b.subset {
        // With subsets every instance's state, its copy of its view and (local view) its own
        // counts span its subset only (an aperture's up to size + 2 servers).
        let size = u64::from(sub.size) + 2;
        let own = if matches!(b.view, crate::scenario::View::Local) { OWN_COUNT } else { 0 };
        part(
            at_once(&format!("{} balancer instances over subsets of {}", b.count, sub.size)),
            Some("balancers.subset".into()),
            lf * f64::from(b.count) * (size * (STRATEGY_PER_SERVER + SUBSET_CLIENT + own)) as f64,
        );
    } else if b.count > 1 {
        part(
            at_once(&format!("{} balancer instances over {s} servers", b.count)),
            Some("balancers.count".into()),
            lf * f64::from(b.count - 1) * (s * (STRATEGY_PER_SERVER + 8)) as f64,
        );
    }
    if let Some(delay) = b.view.delay() {
        let changes = (2.0 * sc.peak_rate() * delay).min(2.0 * n);
        part(at_once("the delayed view's changes"), Some("balancers.delay".into()), lf * changes * 24.0);
    }
    if sc.network.is_some() {
        let leg = |d: Option<crate::scenario::Delay>| d.map_or(0.0, |d| d.mean());
        let transit = leg(sc.network.to_server) + leg(sc.network.from_server);
        let calls = (sc.peak_rate() * transit).min(n);
        part(at_once("requests in transit"), Some("network.to_server".into()), lf * calls * (CALL + event) as f64);
    }
    let keys = match (&sc.keys, sc.arrivals.trace()) {
        (Some(k), _) => k.count.min(MAX_COUNTED_KEYS) * 4,
        (None, Some(t)) if t.keys.is_some() => t.distinct_keys.min(MAX_COUNTED_KEYS) * 4,
        _ => 0,
    };
    // (With subsets no table is built over the whole pool.)
    let whole = sc.balancers.subset.is_none();
    let tables = sc.strategies.iter().filter(|_| whole).map(|st| strategy_tables(st, &sc.servers)).max().unwrap_or(0);
    let detection = u64::from(sc.health_check.is_some() || sc.outlier_detection.is_some());
    part(at_once("hash tables"), Some("strategies".into()), lf * (tables * (1 + detection)) as f64);
    // `[balancers] subset`: a hash-based strategy's instances each hold a table over their
    // subset (one per distinct subset), and as many again while detection rebuilds them.
    let per_instance = sc.strategies.iter().map(|st| subset_tables(sc, st)).map(|(k, b)| k * b).max().unwrap_or(0);
    part(
        at_once(&format!("hash tables of {} balancer instances' subsets", b.count)),
        Some("balancers.subset".into()),
        lf * (per_instance * (1 + detection)) as f64,
    );
    part(at_once("key counts and timeline"), None, lf * (keys + s * 24 + timeline_bytes) as f64);
}

/// The results of every strategy × replication, and the summaries.
fn result_parts(cx: &Context, part: &mut AddPart) {
    let Context { sc, s, reps, strategies, max_ns, measured, hist2_grown, hist3, timeline_bytes, .. } = *cx;
    let group_key = |k: &str| cx.group_key(k);
    // Results held until the scenario's last simulation is done, then the summaries.
    let run_stats = std::mem::size_of::<RunStats>() as u64
        + hist3
        + s * std::mem::size_of::<ServerStats>() as u64
        + latency_hist_bytes(2, s, measured, max_ns)
        + timeline_bytes
        + sc.faults.len() as u64 * 32;
    let runs_key = if reps > 1 { "replications" } else { "strategies" };
    part(
        format!("results of {strategies} strategies × {reps} replication(s), {s} servers each"),
        Some(runs_key.into()),
        (strategies * reps * run_stats) as f64,
    );
    // A summary keeps one merged histogram and a line per server (their histograms are merged
    // one server at a time); the CSV and JSON files hold a row per server and strategy.
    let summary = std::mem::size_of::<StrategySummary>() as u64 + hist3 + s * 160 + hist2_grown + timeline_bytes;
    // timeseries.csv is held whole before it is written: a row per sample and server (one
    // per sample above DETAIL_MAX_SERVERS) of about 48 bytes besides the two names
    // (stale-board: 500,000 rows, 23 MB).
    let rows = strategies * MAX_SAMPLES as u64 * if s as usize <= DETAIL_MAX_SERVERS { s } else { 1 };
    let names = sc.servers.iter().map(|x| x.name.len() as u64).sum::<u64>() / s.max(1);
    let labels = sc.strategies.iter().map(|x| x.label.len() as u64).max().unwrap_or(0);
    let timeseries = rows * (48 + names + labels);
    part(
        "summaries and output files".into(),
        group_key("count"),
        (strategies * summary + OUTPUTS + strategies * s * 200 + timeseries) as f64,
    );
}

/// The work of the run in events: (events of one simulation, timer events per simulated
/// second, work of the whole run).
fn work(cx: &Context) -> (f64, f64, f64) {
    let Context { sc, n, s, workers, strategies, closed, simulations, span, .. } = *cx;
    let per_request = 2.0
        + if sc.client.as_ref().is_some_and(|c| c.timeout.is_some()) { 1.0 } else { 0.0 }
        + if closed { 1.0 } else { 0.0 };
    let timer_events_per_second: f64 = sc.timers().iter().map(|t| t.rate).sum();
    let events = n * per_request + timer_events_per_second * span;
    let scans = n * workers as f64 / s.max(1) as f64 / 50.0;
    let samples = 400.0_f64.min(1.6e7 / s.max(1) as f64).max(50.0);
    // Per server and simulation: its timeline samples (~0.16 events each), the batch
    // boundaries' totals (~0.4 events each), and its summary and output rows (~40 events,
    // JSON's included). Measured on 100,000 servers × 2 strategies, 2,000 requests, `perf`:
    // 4.7 s of CPU as CSV, 5.3 s as JSON (timeline sampling 33%, batch totals 31%), about
    // 80–90 events a server where this said 18 (issue 29: that run took 5× its estimate).
    let batches = crate::stats::batch::BATCHES as f64 + 1.0;
    let setup = s as f64 * (40.0 + 0.2 * samples + 0.4 * batches) + workers as f64 / 64.0;
    // Choosing a server costs about one event, except where a strategy looks at many servers
    // per request: rendezvous hashes every one, `choices = d` samples d (issue 29: 100,000
    // servers took 25 s for 20,000 requests, estimated as 4·10⁴ events).
    let picks: f64 = sc.strategies.iter().map(|st| pick_work(st, s) + shared_view_work(sc, st)).sum();
    let per_strategy = simulations as f64 / strategies.max(1) as f64;
    let work = simulations as f64 * (events + scans + setup + balancer_setup(sc))
        + per_strategy * (n * picks + subset_table_work(sc));
    (events, timer_events_per_second, work)
}

/// Work per request of `[balancers]` instances that each own a state tracking the pool under
/// the shared view (an oracle's always), in events: a request's two in-flight changes (sent, answered) reach every
/// instance's index (measured: 10,000 instances over 1,000 servers with least-connections,
/// 4,000 requests in 12.9 s, about 160 ns, half an event, an instance and change). Strategies
/// that do not track the pool, or whose instances share one state, cost nothing here.
fn shared_view_work(sc: &Scenario, st: &crate::scenario::StrategySpec) -> f64 {
    let b = &sc.balancers;
    let Some(info) = crate::strategy::lookup(st.name) else { return 0.0 };
    // An oracle always reads the shared view.
    let shared = info.oracle || matches!(b.view, crate::scenario::View::Shared);
    if b.count <= 1 || !shared || info.keyed || info.cooperative {
        return 0.0;
    }
    let tracks = (info.build)(&st.params, &sc.servers).is_ok_and(|s| s.tracks_pool());
    if tracks { 2.0 * f64::from(b.count - 1) * 0.5 } else { 0.0 }
}

/// `[balancers] subset` with a hash-based strategy: (tables held, bytes of each). Each
/// instance's state is a table over its `size` servers (the heaviest, for the bound), shared
/// by instances with the same servers: one when every subset is the whole pool, else up to
/// one per instance. (0, 0) otherwise.
fn subset_tables(sc: &Scenario, st: &crate::scenario::StrategySpec) -> (u64, u64) {
    let (Some(sub), Some(info)) = (sc.balancers.subset, crate::strategy::lookup(st.name)) else { return (0, 0) };
    if !info.keyed {
        return (0, 0);
    }
    let mut heaviest: Vec<&ServerInfo> = sc.servers.iter().collect();
    heaviest.sort_by_key(|x| std::cmp::Reverse(x.weight));
    let subset: Vec<ServerInfo> = heaviest.into_iter().take(sub.size as usize).cloned().collect();
    let tables = if sub.size as usize >= sc.servers.len() { 1 } else { u64::from(sc.balancers.count) };
    (tables, (info.table_bytes)(&st.params, &subset))
}

/// Work of building the hash tables of `[balancers]` instances' subsets, in events: about
/// 16 bytes of table an event (measured: Maglev's 65537 entries over 10 servers, 74 KiB
/// built and filled, take 1.6 ms).
fn subset_table_work(sc: &Scenario) -> f64 {
    sc.strategies.iter().map(|st| subset_tables(sc, st)).map(|(k, b)| (k * b) as f64 / 16.0).sum()
}

/// Work of setting up `[balancers]`' further instances, in events: each builds a strategy
/// state over the pool (measured: 10,000 instances over 1,000 servers take 1.1 s, about 0.4
/// event a server) and, with unequal weights, is staggered by up to min(Σw, 10⁶/S) smooth
/// round-robin steps over S servers (measured: 1,000 instances over 2,000 servers of weights
/// 1 and 2, 10⁹ server-steps in 0.8 s, about 1/400 event each; equal weights take one pass).
fn balancer_setup(sc: &Scenario) -> f64 {
    let instances = f64::from(sc.balancers.count.saturating_sub(1));
    let s = sc.servers.len() as f64;
    let weights = sc.servers.iter().map(|x| f64::from(x.weight));
    let (total, equal) = (weights.clone().sum::<f64>(), weights.clone().all(|w| w == f64::from(sc.servers[0].weight)));
    let stagger = if equal { 0.0 } else { total.min((1e6 / s.max(1.0)).floor().max(1.0)) * s / 400.0 };
    instances * (0.4 * s + stagger)
}

/// Bytes of a parsed scenario besides its trace: its servers, their names and its text.
pub fn scenario_bytes(sc: &Scenario) -> u64 {
    let names: u64 = sc.servers.iter().map(|x| x.name.len() as u64).sum();
    let text = sc.source.as_ref().map_or(0, |t| t.len() as u64);
    sc.server_count() as u64 * std::mem::size_of::<ServerInfo>() as u64 + names + text
}

/// Bytes the scenario's arrival process holds (a trace's rows and keys; [`Process::memory`]).
///
/// [`Process::memory`]: crate::scenario::arrivals::Process::memory
pub fn trace_bytes(sc: &Scenario) -> u64 {
    sc.arrivals.memory()
}

/// Bytes of the tables a strategy builds over the whole pool (hash rings, Maglev tables),
/// at their peak while being built.
fn strategy_tables(st: &crate::scenario::StrategySpec, servers: &[ServerInfo]) -> u64 {
    crate::strategy::lookup(st.name).map_or(0, |i| (i.table_bytes)(&st.params, servers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_sizes_follow_hdrhistogram() {
        // A fresh auto-resizing histogram covers values up to 2: one bucket.
        assert_eq!(hist_bytes(2, 2.0), 2 * 128 * 8);
        assert_eq!(hist_bytes(3, 2.0), 2 * 1024 * 8);
        for (sigfig, max) in [(2u8, 1e7), (3, 1e9), (3, 3e12)] {
            let mut h = hdrhistogram::Histogram::<u64>::new(sigfig).unwrap();
            h.auto(true);
            h.record(max as u64).unwrap();
            assert_eq!(hist_bytes(sigfig, max), h.distinct_values() as u64 * 8, "sigfig {sigfig}, max {max}");
        }
    }

    /// The bound holds for histograms that see very different numbers of values (a skewed
    /// split: some stay lists, some switch to counts), values spread over a wide range.
    #[test]
    fn latency_histogram_bound_holds() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(4);
        for (count, values) in [(1u64, 10u64), (1, 100_000), (50, 3_000), (500, 20_000), (200, 200)] {
            let mut hs: Vec<LatencyHistogram> = (0..count).map(|_| LatencyHistogram::new(2)).collect();
            let max = 10.0;
            for _ in 0..values {
                // Histogram i with probability ∝ 1/(i+1); values log-uniform in 1 µs .. 10 s.
                let u: f64 = rng.random();
                let i = ((count as f64 + 1.0).powf(u) - 1.0) as usize;
                let v = 1e-6 * (max / 1e-6f64).powf(rng.random::<f64>());
                hs[i.min(count as usize - 1)].record(v);
            }
            let held: u64 = hs.iter().map(|h| h.heap_bytes() as u64).sum();
            let bound = latency_hist_bytes(2, count, values, max * 1e9);
            assert!(held <= bound, "{count} histograms, {values} values: {held} > {bound}");
        }
    }

    #[test]
    fn a_million_workers_are_counted() {
        let text = "requests = 20000\nstrategies = [\"random\", \"p2c\"]\n[arrivals]\nprocess = \"poisson\"\n\
                    rate = 900.0\n[service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\n\
                    name = \"s\"\ncount = 10\nworkers = 4294967295\n";
        let sc = Scenario::parse(text, None).unwrap();
        let u = estimate(&sc, 2);
        // 4.3e10 worker slots of ≥ 48 bytes each (slot, finish time, free list, reserved event).
        assert!(u.memory > 2_000_000_000_000, "{}", crate::memory::format_bytes(u.memory));
        assert!(u.largest_parts(1)[0].what.contains("simulation(s) at once"), "{:?}", u.parts);
        assert!(u.is_slow());
    }

    /// Issue 29: strategies that read many servers per request are slow runs at 10⁵ servers
    /// (measured: 20,000 requests took 25 s with rendezvous, 30 s with `choices = 100000`).
    #[test]
    fn reading_many_servers_per_request_is_work() {
        let text = |strategy: &str, requests: u64| {
            format!(
                "requests = {requests}\nstrategies = [{strategy}]\n[arrivals]\nprocess = \"poisson\"\nrate = 9e5\n\
                 [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"s\"\ncount = 100000\n"
            )
        };
        for strategy in ["\"rendezvous\"", "{ name = \"p2c\", choices = 100000 }"] {
            let short = estimate(&Scenario::parse(&text(strategy, 20_000), None).unwrap(), 2);
            // 25-30 s measured; an event is about 0.3 µs: 0.8-1.0 × 10⁸ events.
            assert!(short.work > 7e7 && short.work < 1.5e8, "{strategy}: {:e}", short.work);
            assert!(estimate(&Scenario::parse(&text(strategy, 100_000), None).unwrap(), 2).is_slow(), "{strategy}");
            let cheap = estimate(&Scenario::parse(&text("\"p2c\"", 100_000), None).unwrap(), 2);
            assert!(!cheap.is_slow(), "{:e}", cheap.work);
        }
    }

    /// Issue 25: with subsets each hash-based instance holds a table over its subset (a byte
    /// an entry for Maglev over 10 servers), one for all when every subset is the pool.
    #[test]
    fn subsets_count_a_hash_table_per_instance() {
        let text = |count: u32, size: u32, strategy: &str| {
            format!(
                "requests = 20000\nstrategies = [\"{strategy}\"]\n[balancers]\ncount = {count}\n\
                 subset = {{ size = {size}, kind = \"random\" }}\n[arrivals]\nprocess = \"poisson\"\nrate = 2e4\n\
                 [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"s\"\ncount = 300\n"
            )
        };
        let part = |u: &Usage| u.parts.iter().find(|p| p.what.starts_with("hash tables of")).map_or(0, |p| p.bytes);
        let many = estimate(&Scenario::parse(&text(10_000, 10, "maglev"), None).unwrap(), 1);
        // 10,000 tables of 65537 one-byte entries, a bit each while filled, 10 servers' state.
        assert_eq!(part(&many), 10_000 * (65537 + 65537 / 8 + 480));
        assert!(!many.parts.iter().any(|p| p.what == "hash tables (1 simulation(s) at once)"), "{:?}", many.parts);
        let one = estimate(&Scenario::parse(&text(10_000, 300, "maglev"), None).unwrap(), 1);
        assert_eq!(part(&one), 2 * 65537 + 65537 / 8 + 300 * 48);
        let unkeyed = estimate(&Scenario::parse(&text(10_000, 10, "p2c"), None).unwrap(), 1);
        assert_eq!(part(&unkeyed), 0);
    }
}
