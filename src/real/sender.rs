//! The senders of `lbsim load`: one OS thread per sender, each owning every `senders`-th
//! request of the stream and its own connections; nothing is shared between senders but the
//! recorder and a count of the requests open. Without `[clients]` a sender holds one pool of
//! keep-alive connections on an event loop of its own (`sender::pool`: `epoll`, non-blocking
//! sockets, no async runtime); with `[clients]` each client's connections (HTTP/1.1 or
//! HTTP/2) on a current-thread async runtime (`sender::clients`).
//!
//! A sender waits for each scheduled send with an exact timeout (the pool: `epoll_pwait2`;
//! the clients: a `timerfd` registered with the runtime, [`AsyncDeadline`]), so responses
//! are read while it waits, and busy-waits the last `spin` only before a send that follows
//! a gap of at least twice `spin` (isolated sends at low rates get microsecond precision; at
//! high rates, where sends are dense, spinning would hold the core all the time, starve the
//! target on a small machine and, under `SCHED_FIFO`, hit the kernel's real-time
//! throttling). A request due within [`AHEAD_US`] µs of the one before it goes out with
//! it, up to that much early, instead of after a wake-up of its own (counted in
//! measurement.json); requests already due go out in one pass, the sender reading the
//! responses in every `BATCH` of them.
//!
//! Connections: each sender first opens its share of the offered concurrency, and the
//! schedule starts (`lead` later) once every sender has (within 3 s), so the first
//! sends find open connections and no burst of connects meets the target's accept queue
//! mid-run. A request takes an idle connection of the sender's pool, or opens a new one
//! while the pool holds fewer than its cap, or waits (first come, first served) for the next
//! connection to come free. The pool grows by at most `MAX_UNPROVEN` connections that have
//! not yet carried a response, so a target slow to accept sees its accept queue fill with
//! waiting requests' connections no faster than it serves them; a connection the target
//! closes (nginx's `keepalive_requests`) is replaced at once, off the send path, while the
//! pool holds fewer than its first connections. A connection carries one request at a time
//! (no pipelining) and is reused until the target closes it or a request on it fails; a
//! reused connection the target had closed before a byte of response came (a keep-alive
//! race) is replaced and the request sent again, once. Without keep-alive every request opens its own connection.
//! Every send is timed from its scheduled time; a late one is attributed to the sender, the
//! pool (it waited for a connection) or the target (it waited for a new connection).

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use tokio::sync::Notify;

use super::client::{Conn, Failure, PeerLimits, Response};
use super::record::{Durations, LateCause, Outcome, Recorder};
use super::target::Target;
use super::timer::{AsyncDeadline, ThreadPolicy, tune_thread, untune_thread};

/// Requests open at once beyond which the senders count new ones as failed without sending.
pub const MAX_OUTSTANDING: u64 = 10_000;

/// How long the first Ctrl-C waits for the requests in flight.
pub const GRACE: Duration = Duration::from_secs(2);

/// Longest single wait of a sender, so that it notices a stop.
const SLICE: Duration = Duration::from_millis(50);

/// Longest a sender waits for its first connections before the schedule starts (a SYN the
/// target dropped is sent again after 1 s).
const PRE_OPEN: Duration = Duration::from_secs(3);

/// First connections being opened at once, per sender.
const PRE_OPENING: usize = 64;

/// Connections a sender opens at once at most: a burst of requests waits for the pool
/// rather than flooding the target's accept queue (whose overflow costs a 1 s SYN retry).
const MAX_CONNECTING: usize = 8;

/// Connections a sender grew the pool by that have not yet carried a response, at most. On
/// loopback a connect completes in the kernel whether or not the target accepts, so a target
/// slow to accept (or starved of CPU) would otherwise see the pool grow by hundreds of
/// connections that only fill its accept queue (nginx's is 511 by default) until it drops
/// SYNs, each costing a 1 s retry: the growth is paced by the target's first responses.
const MAX_UNPROVEN: usize = 64;

/// A request due within this many µs of the send before it goes out with that one, without
/// a wake-up of its own: a timer wake-up costs a timer setting, a context switch and
/// a few µs of lateness itself, so at tens of thousands of requests per second sleeping for
/// every gap would spend the sender's CPU on wake-ups (each sent early is counted, with the
/// most early, in measurement.json's `sender`).
pub const AHEAD_US: u64 = 20;

/// Requests due at once sent before the sender yields to write them and read responses (a
/// sender behind schedule sends its backlog in batches of this many, one driver poll each).
const BATCH: usize = 32;

mod clients;
#[cfg(target_os = "linux")]
mod pool;
#[cfg(target_os = "linux")]
mod sockets;
pub use clients::{ClientDraw, ClientPlan};

/// One request to send; `demand: None` sends zero demand without an id (calibration).
#[derive(Debug, Clone, Copy)]
pub struct Job {
    /// Request number in the stream.
    pub id: u64,
    /// Its client of the scenario's `[clients]` (0 without).
    pub client: u32,
    /// Its key.
    pub key: u64,
    /// Scheduled send, s from the start of the schedule.
    pub arrival: f64,
    /// Demand at speed 1, s.
    pub demand: Option<f64>,
}

/// Ctrl-C requests, shared by the senders.
#[derive(Debug, Default)]
pub struct Stop {
    /// Stop sending (first Ctrl-C).
    pub requested: AtomicBool,
    /// Stop waiting for responses too (second Ctrl-C).
    pub quit: AtomicBool,
}

/// What every sender of a pass shares.
#[derive(Debug)]
pub struct Plan {
    /// Where to send.
    pub target: Target,
    /// Its addresses (the first that accepts is used).
    pub addrs: Vec<SocketAddr>,
    /// Bounds on the target's responses.
    pub limits: PeerLimits,
    /// Busy-wait tail before an isolated send.
    pub spin: Duration,
    /// Ask for `SCHED_FIFO`.
    pub realtime: bool,
    /// Reuse connections.
    pub keep_alive: bool,
    /// The scenario's `[clients]`: each client its own connections (`None`: one pool).
    pub clients: Option<ClientPlan>,
    /// Connections per sender at most.
    pub connections: usize,
    /// Connections each sender opens before the schedule starts (the offered concurrency).
    pub initial: usize,
    /// Time from every sender being ready (its first connections open) to the first send.
    pub lead: Duration,
    /// Nothing is sent or waited for after this, whatever the start.
    pub deadline: Instant,
    /// Nor after the origin plus this (the calibration pass's bound).
    pub hard_after: Option<Duration>,
    /// Sender threads: the schedule starts when all are ready.
    pub senders: usize,
    /// Senders ready so far.
    pub ready: AtomicUsize,
    /// The schedule's origin and the pass's hard end, fixed by the last sender ready.
    pub start: OnceLock<(Instant, Instant)>,
    /// Per-request timeout of the drain after the last send.
    pub timeout: Duration,
    /// The recorder.
    pub rec: Arc<Mutex<Recorder>>,
    /// Ctrl-C.
    pub stop: Arc<Stop>,
    /// Requests open, all senders.
    pub outstanding: AtomicU64,
    /// Progress (hidden unless on a terminal).
    pub bar: ProgressBar,
}

impl Plan {
    /// One sender is ready (its first connections open, or it gave up); the last one fixes
    /// the origin `lead` from now, so the schedule starts on open connections.
    pub fn mark_ready(&self) {
        if self.ready.fetch_add(1, Ordering::SeqCst) + 1 >= self.senders {
            let t0 = Instant::now() + self.lead;
            let hard = self.hard_after.map_or(self.deadline, |d| self.deadline.min(t0 + d));
            let _ = self.start.set((t0, hard));
        }
    }

    /// The pacing of the schedule once every sender is ready (`None` before); why not to
    /// wait any longer (the time limit, Ctrl-C).
    fn pace(&self) -> Result<Option<Pace>, &'static str> {
        if let Some(&(t0, hard)) = self.start.get() {
            return Ok(Some(Pace::new(t0, hard, self.spin)));
        }
        if Instant::now() >= self.deadline {
            return Err("time limit");
        }
        if self.stop.requested.load(Ordering::Relaxed) {
            return Err("Ctrl-C");
        }
        Ok(None)
    }

    /// Until when a sender waits for its responses after its last send (`stopped`: early,
    /// then [`GRACE`]).
    fn drain_until(&self, stopped: bool, hard: Instant) -> Instant {
        let now = Instant::now();
        if stopped { now + GRACE } else { hard.min(now + self.timeout + Duration::from_secs(1)) }
    }

    /// The schedule's origin (now, before it is fixed).
    pub fn t0(&self) -> Instant {
        self.start.get().map_or_else(Instant::now, |s| s.0)
    }
}

/// What one sender did.
#[derive(Debug, Clone)]
pub struct SenderEnd {
    /// Why it stopped before the end of its share, if it did.
    pub stopped_by: Option<&'static str>,
    /// Scheduling it obtained.
    pub policy: ThreadPolicy,
    /// Connections opened.
    pub opened: u64,
    /// Most connections held at once.
    pub peak: usize,
    /// Requests sent again on a fresh connection after a keep-alive race.
    pub resent: u64,
    /// Time to open a connection.
    pub connect: Durations,
    /// CPU time of the thread, s.
    pub cpu: f64,
    /// Of which busy-waiting, s.
    pub spun: f64,
    /// Times the thread was preempted.
    pub involuntary_switches: u64,
    /// Wall-clock time of the thread, s.
    pub wall: f64,
    /// Requests sent ahead of their time ([`AHEAD_US`]).
    pub sent_early: u64,
    /// The most one went early, s.
    pub max_early: f64,
}

/// What a sender's connections did.
#[derive(Debug, Default)]
struct Opened {
    opened: u64,
    peak: usize,
    resent: u64,
    connect: Durations,
}

/// The counts of the `[clients]` connections (the shared pool keeps its own).
struct Pool {
    slots: usize,
    addr: usize,
    end: Opened,
}

/// A sender's state, shared by its tasks (one thread: `Rc`).
struct Local {
    plan: Arc<Plan>,
    pool: RefCell<Pool>,
    groups: RefCell<clients::Groups>,
    open: Cell<u64>,
    done: Notify,
}

/// Runs sender `index` of `plan` over `jobs` (its share), on the calling thread.
pub fn run_sender(plan: Arc<Plan>, jobs: impl Iterator<Item = Job>) -> SenderEnd {
    let policy = tune_thread(plan.realtime);
    let (cpu0, switches0, wall0) = (thread_cpu(), involuntary_switches(), Instant::now());
    let local = Rc::new(Local {
        plan: Arc::clone(&plan),
        pool: RefCell::new(Pool { slots: 0, addr: 0, end: Opened::default() }),
        groups: RefCell::new(clients::Groups::default()),
        open: Cell::new(0),
        done: Notify::new(),
    });
    let (stopped_by, spun, early, end) = if plan.clients.is_none() {
        #[cfg(target_os = "linux")]
        let r = pool::run(&plan, jobs);
        #[cfg(not(target_os = "linux"))]
        let r = {
            plan.mark_ready();
            (Some("the shared connection pool needs Linux (epoll)"), 0.0, (0, 0.0), Opened::default())
        };
        r
    } else {
        let r = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => {
                let set = tokio::task::LocalSet::new();
                let r = set.block_on(&rt, send_all(Rc::clone(&local), jobs));
                drop(set); // cancels what is still in flight
                r
            }
            Err(_) => {
                plan.mark_ready();
                (Some("cannot start the async runtime"), 0.0, (0, 0.0))
            }
        };
        (r.0, r.1, r.2, std::mem::take(&mut local.pool.borrow_mut().end))
    };
    if plan.realtime {
        untune_thread();
    }
    SenderEnd {
        stopped_by,
        policy,
        opened: end.opened,
        peak: end.peak,
        resent: end.resent,
        connect: end.connect,
        cpu: thread_cpu() - cpu0,
        spun,
        involuntary_switches: involuntary_switches().saturating_sub(switches0),
        wall: wall0.elapsed().as_secs_f64(),
        sent_early: early.0,
        max_early: early.1,
    }
}

/// The pacing of the schedule, both loops': whether a request goes with the send before
/// it, or after a wake-up of its own (then spinning its last `spin`).
struct Pace {
    t0: Instant,
    /// Nothing is sent after this.
    hard: Instant,
    previous: Instant,
    spin: Duration,
    /// Time spun.
    spun: Duration,
    /// Requests sent ahead of their time, and the most early, s.
    early: (u64, f64),
}

impl Pace {
    fn new(t0: Instant, hard: Instant, spin: Duration) -> Pace {
        Pace { t0, hard, previous: t0, spin, spun: Duration::ZERO, early: (0, 0.0) }
    }

    /// What to do for `job`: send it (it is due within a [`SLICE`]), wait until the end of
    /// the next slice (so that a stop is noticed), or stop (past the pass's hard end, Ctrl-C).
    fn step(&self, p: &Plan, job: &Job) -> Step {
        let at = self.t0 + Duration::from_secs_f64(job.arrival);
        if at > self.hard {
            return Step::Stop("time limit");
        }
        if p.stop.requested.load(Ordering::Relaxed) {
            return Step::Stop("Ctrl-C");
        }
        let now = Instant::now();
        if at > now + SLICE { Step::Wait(now + SLICE) } else { Step::Go(at) }
    }

    /// For the request scheduled at `at`: `None` if it goes now with the previous one (at
    /// most [`AHEAD_US`] early, counted), else when to wake for it (its time less the spin
    /// tail, which follows only a gap of at least twice the tail).
    fn wake_for(&mut self, at: Instant) -> Option<Instant> {
        let ahead = Duration::from_micros(AHEAD_US);
        let gap = at.saturating_duration_since(self.previous);
        let tail = if gap >= 2 * self.spin { self.spin } else { Duration::ZERO };
        // Never more than `ahead` early, however many such gaps follow one another.
        let with_previous = gap < ahead && self.previous > self.t0 && at <= Instant::now() + ahead;
        self.previous = at;
        if !with_previous {
            return Some(at - tail);
        }
        let now = Instant::now();
        if at > now {
            self.early = (self.early.0 + 1, self.early.1.max((at - now).as_secs_f64()));
        }
        None
    }
}

/// What [`Pace::step`] says.
enum Step {
    /// Send it: it is due at this instant.
    Go(Instant),
    /// Wait until then, and ask again.
    Wait(Instant),
    /// Stop sending, for this reason.
    Stop(&'static str),
}

/// Counts `job` as generated; false when too many requests are open (it fails as
/// overloaded, unsent), else it is open.
fn admit(p: &Plan, job: &Job) -> bool {
    p.rec.lock().expect("recorder lock").generated(job.id, job.key);
    p.bar.inc(1);
    if p.outstanding.load(Ordering::Relaxed) >= MAX_OUTSTANDING {
        p.rec.lock().expect("recorder lock").fail(job.id, None, Failure::Overloaded);
        return false;
    }
    p.outstanding.fetch_add(1, Ordering::Relaxed);
    true
}

/// The sending loop of the `[clients]` connections, then the drain; returns why it
/// stopped early, the time spun, and the requests sent ahead of their time with the most
/// early (s). (Each client opens its connections when it needs them: none before the start.)
async fn send_all(l: Rc<Local>, jobs: impl Iterator<Item = Job>) -> (Option<&'static str>, f64, (u64, f64)) {
    let p = &*l.plan;
    let Ok(timer) = AsyncDeadline::new() else {
        p.mark_ready();
        return (Some("cannot create a timer"), 0.0, (0, 0.0));
    };
    p.mark_ready();
    let mut pace = loop {
        match p.pace() {
            Ok(Some(pace)) => break pace,
            Ok(None) => timer.sleep_until(Instant::now() + Duration::from_millis(1)).await,
            Err(why) => return (Some(why), 0.0, (0, 0.0)),
        }
    };
    let (mut why, mut since_yield) = (None, 0);
    'jobs: for job in jobs {
        let at = loop {
            match pace.step(p, &job) {
                Step::Go(at) => break at,
                Step::Wait(until) => timer.sleep_until(until).await,
                Step::Stop(stop) => {
                    why = Some(stop);
                    break 'jobs;
                }
            }
        };
        if let Some(wake) = pace.wake_for(at) {
            if wake > Instant::now() {
                since_yield = 0; // the wait lets the requests sent be written and responses read
            }
            timer.sleep_until(wake).await;
            if Instant::now() < at {
                let s = Instant::now();
                while Instant::now() < at {
                    tokio::task::yield_now().await; // the runtime polls the sockets meanwhile
                }
                pace.spun += s.elapsed();
            }
        }
        if !admit(p, &job) {
            continue;
        }
        l.open.set(l.open.get() + 1);
        clients::dispatch(&l, job, at);
        // Requests already due go out in one pass (a wake-up, then a batch of dispatches);
        // every [`BATCH`] of them the sender yields so that their tasks write them and the
        // responses in are read, even when it is behind schedule.
        since_yield += 1;
        if since_yield >= BATCH {
            since_yield = 0;
            tokio::task::yield_now().await;
        }
    }
    let drain_until = p.drain_until(why.is_some(), pace.hard);
    while l.open.get() > 0 && !p.stop.quit.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= drain_until {
            break;
        }
        tokio::select! {
            _ = l.done.notified() => {}
            _ = timer.sleep_until(drain_until.min(now + SLICE)) => {}
        }
    }
    (why, pace.spun.as_secs_f64(), pace.early)
}

/// A request has its outcome: it is no longer open.
fn finished(l: &Local) {
    l.plan.outstanding.fetch_sub(1, Ordering::Relaxed);
    l.open.set(l.open.get() - 1);
    if l.open.get() == 0 {
        l.done.notify_one();
    }
}

/// Opens a connection to the first of the target's addresses that accepts.
async fn connect(l: &Local) -> Result<Conn, Failure> {
    let p = &*l.plan;
    let first = l.pool.borrow().addr;
    let started = Instant::now();
    let mut last = Failure::Connect;
    for k in 0..p.addrs.len() {
        let i = (first + k) % p.addrs.len();
        match tokio::time::timeout(p.limits.timeout, Conn::connect(p.addrs[i])).await {
            Err(_) => return Err(Failure::Timeout),
            Ok(Ok(c)) => {
                let mut pool = l.pool.borrow_mut();
                pool.addr = i;
                pool.end.opened += 1;
                pool.end.connect.record(started.elapsed().as_secs_f64());
                return Ok(c);
            }
            Ok(Err(f)) => last = f,
        }
    }
    Err(last)
}

/// Sends one request and records its outcome (`close`: with `Connection: close`).
async fn one(
    l: &Local,
    conn: &mut Option<Conn>,
    job: Job,
    at: Instant,
    mut cause: LateCause,
    request: &mut Vec<u8>,
    close: bool,
) {
    let p = &*l.plan;
    request.clear();
    p.target.write_request(job.demand.map(|_| job.id), job.demand.unwrap_or(0.0), close, request);
    let mut sent = false;
    let mut resent = false;
    loop {
        if conn.is_none() {
            if cause == LateCause::Sender {
                cause = LateCause::Connect;
            }
            match connect(l).await {
                Ok(c) => *conn = Some(c),
                Err(f) => return p.rec.lock().expect("recorder lock").fail(job.id, None, f),
            }
        }
        let Some(c) = conn.as_mut() else { return };
        let started = Instant::now();
        if !sent {
            sent = true;
            p.rec
                .lock()
                .expect("recorder lock")
                .sent_because(started.saturating_duration_since(at).as_secs_f64(), cause);
        }
        let reused = c.used > 0;
        let deadline = tokio::time::Instant::from_std(started + p.limits.timeout);
        let result = tokio::time::timeout_at(deadline, c.exchange(request, &p.limits)).await;
        let finished = Instant::now();
        match result {
            Err(_) => {
                *conn = None;
                return p.rec.lock().expect("recorder lock").fail(job.id, None, Failure::Timeout);
            }
            Ok(Err((failure, nothing))) => {
                *conn = None;
                if nothing && reused && !resent {
                    resent = true;
                    l.pool.borrow_mut().end.resent += 1;
                    continue;
                }
                return p.rec.lock().expect("recorder lock").fail(job.id, None, failure);
            }
            Ok(Ok(r)) => {
                if close || !(p.keep_alive && r.keep_alive) {
                    *conn = None;
                }
                return record(p, job.id, at, finished, r);
            }
        }
    }
}

fn record(p: &Plan, id: u64, at: Instant, finished: Instant, r: Response) {
    let mut rec = p.rec.lock().expect("recorder lock");
    let server = r.server.as_deref().and_then(|n| rec.server_index(n));
    if let Some(w) = &r.worker {
        rec.instance(id, w);
    }
    match r.status {
        200..=299 => {
            let response = (finished - at).as_secs_f64();
            let done = finished.saturating_duration_since(p.t0()).as_secs_f64();
            rec.record(id, server, Outcome::Completed { response, done, backend: r.backend });
        }
        503 if r.dropped => rec.record(id, server, Outcome::Dropped),
        400..=499 => rec.fail(id, server, Failure::Status4xx),
        500..=599 => rec.fail(id, server, Failure::Status5xx),
        _ => rec.fail(id, server, Failure::StatusOther),
    }
}

/// CPU time of the calling thread, s (0 off Linux).
fn thread_cpu() -> f64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: writes into a local timespec.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    0.0
}

/// Involuntary context switches of the calling thread so far (0 off Linux).
fn involuntary_switches() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: an all-zero rusage is valid; getrusage writes into it.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: RUSAGE_THREAD on the calling thread, into a local struct.
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) } == 0 {
            return ru.ru_nivcsw as u64;
        }
    }
    0
}
