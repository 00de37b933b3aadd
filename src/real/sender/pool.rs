//! The shared pool of keep-alive connections (no `[clients]`), on an event loop of the
//! sender's own: `epoll` with an exact timeout (`epoll_pwait2`), non-blocking sockets, no
//! async runtime. Per request it costs a `write` and a `read` and a share of one
//! `epoll_pwait2` (several responses and the next send's deadline per wake-up), no task,
//! timer or allocation: the sender's CPU per request was what capped `lbsim load`'s rate.
//!
//! The rules are the pool's of [`super`] (pre-opened connections, growth bounded by
//! [`MAX_CONNECTING`] and [`MAX_UNPROVEN`], first come first served waiting, a keep-alive
//! race resent once, a closed connection replaced off the send path); in addition an idle
//! connection the target closes (or sends unasked-for bytes on) is dropped when that
//! happens, not when the next request finds it closed. A request's timeout (and a
//! connect's) is checked every [`SCAN`].

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::sockets::{Poller, open_socket, peek};
use super::{
    BATCH, Job, MAX_CONNECTING, MAX_UNPROVEN, Opened, PRE_OPEN, PRE_OPENING, Plan, SLICE, Step, admit, record,
};
use crate::real::client::{Failure, Progress, Reading, read_size};
use crate::real::record::LateCause;

/// How often requests and connects are checked against their timeout.
const SCAN: Duration = Duration::from_millis(10);

/// Bytes read at once at most (the client's read chunk).
const CHUNK: usize = 16 * 1024;

/// How a connect was started (the pool's counts differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    /// Ahead of the requests: before the schedule, or replacing a connection the target closed.
    Ahead,
    /// For the requests waiting: unproven until its first response.
    Grown,
    /// Again, for the slot's own request or the requests waiting.
    Again,
}

/// A request on a connection.
#[derive(Debug)]
struct Req {
    job: Job,
    at: Instant,
    cause: LateCause,
    /// Its lateness is recorded (at its first write).
    sent: bool,
    /// Sent again after a keep-alive race.
    resent: bool,
    deadline: Instant,
}

#[derive(Debug)]
enum State {
    /// Connecting to address `addr` since `since` (the first address since `started`),
    /// with the request to send once open, if any (a resend).
    Connecting {
        opening: Opening,
        addr: usize,
        tried: usize,
        started: Instant,
        since: Instant,
        carry: Option<Req>,
    },
    Idle,
    /// A request written (`written` bytes of `out` so far) and its response being read.
    Busy(Req),
}

/// One connection slot.
#[derive(Debug)]
struct Link {
    stream: TcpStream,
    state: State,
    /// Requests it carried.
    used: u64,
    /// Grown for waiting requests and not yet through a request.
    unproven: bool,
    out: Vec<u8>,
    written: usize,
    buf: Vec<u8>,
    reading: Reading,
    cap: usize,
    nothing: bool,
}

/// A slot of the table: its link, and a generation that makes stale events harmless.
#[derive(Debug, Default)]
struct Slot {
    link: Option<Link>,
    generation: u32,
}

/// The pool and its event loop.
struct Pool<'a> {
    p: &'a Plan,
    poller: Poller,
    slots: Vec<Slot>,
    free: Vec<usize>,
    idle: Vec<usize>,
    waiting: VecDeque<(Job, Instant, LateCause)>,
    /// Slots holding or opening a connection.
    held: usize,
    connecting: usize,
    unproven: usize,
    /// Requests of this sender not yet done.
    open: u64,
    /// The address that last accepted.
    addr: usize,
    chunk: Box<[u8]>,
    next_scan: Instant,
    /// Connects that failed at once, handled at the end of the turn.
    failed: VecDeque<(usize, State, Failure, Option<Link>)>,
    end: Opened,
}

/// Runs the pool sender of `p` over `jobs`: the first connections, the schedule, the drain.
/// Returns why it stopped early, the time spun, the requests sent early (with the most
/// early, s), and the pool's counts.
pub(super) fn run(p: &Plan, jobs: impl Iterator<Item = Job>) -> (Option<&'static str>, f64, (u64, f64), Opened) {
    let Ok(poller) = Poller::new() else {
        p.mark_ready();
        return (Some("cannot create a poller"), 0.0, (0, 0.0), Opened::default());
    };
    let mut pool = Pool {
        p,
        poller,
        slots: Vec::new(),
        free: Vec::new(),
        idle: Vec::new(),
        waiting: VecDeque::new(),
        held: 0,
        connecting: 0,
        unproven: 0,
        open: 0,
        addr: 0,
        chunk: vec![0; CHUNK].into_boxed_slice(),
        next_scan: Instant::now() + SCAN,
        failed: VecDeque::new(),
        end: Opened::default(),
    };
    let (why, spun, early) = pool.send_all(jobs);
    (why, spun, early, pool.end)
}

impl Pool<'_> {
    fn send_all(&mut self, jobs: impl Iterator<Item = Job>) -> (Option<&'static str>, f64, (u64, f64)) {
        let p = self.p;
        // The first connections, opened before the schedule starts (see `super::send_all`).
        let initial = p.initial.min(p.connections);
        let open_by = (Instant::now() + PRE_OPEN).min(p.deadline);
        let mut started = 0;
        loop {
            while started < initial && self.connecting < PRE_OPENING {
                self.open_slot(Opening::Ahead, None);
                started += 1;
            }
            let now = Instant::now();
            if (started == initial && self.connecting == 0) || now >= open_by {
                break;
            }
            self.turn(now + Duration::from_millis(1));
        }
        p.mark_ready();
        let mut pace = loop {
            match p.pace() {
                Ok(Some(pace)) => break pace,
                Ok(None) => self.turn(Instant::now() + Duration::from_millis(1)),
                Err(why) => return (Some(why), 0.0, (0, 0.0)),
            }
        };
        let (mut why, mut since_turn) = (None, 0);
        'jobs: for job in jobs {
            let at = loop {
                match pace.step(p, &job) {
                    Step::Go(at) => break at,
                    Step::Wait(until) => self.turn(until),
                    Step::Stop(stop) => {
                        why = Some(stop);
                        break 'jobs;
                    }
                }
            };
            if let Some(wake) = pace.wake_for(at) {
                while Instant::now() < wake {
                    self.turn(wake);
                    since_turn = 0;
                }
                let s = Instant::now();
                if s < at {
                    while Instant::now() < at {
                        self.turn(s); // polls the sockets meanwhile, without waiting
                    }
                    pace.spun += s.elapsed();
                }
            }
            if !admit(p, &job) {
                continue;
            }
            self.open += 1;
            self.dispatch(job, at);
            // Requests already due go out in one pass; every [`BATCH`] of them the
            // responses in are read, even when the sender is behind schedule.
            since_turn += 1;
            if since_turn >= BATCH {
                since_turn = 0;
                self.turn(Instant::now());
            }
        }
        let drain_until = p.drain_until(why.is_some(), pace.hard);
        while self.open > 0 && !p.stop.quit.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= drain_until {
                break;
            }
            self.turn(drain_until.min(now + SLICE));
        }
        (why, pace.spun.as_secs_f64(), pace.early)
    }

    /// Waits for events until `until` at most (not at all if it has passed), handles them,
    /// and checks the timeouts when due.
    fn turn(&mut self, until: Instant) {
        self.settle_failed();
        let now = Instant::now();
        let n = self.poller.wait(until.min(self.next_scan).saturating_duration_since(now));
        for i in 0..n {
            let ev = self.poller.events[i];
            let (data, bits) = (ev.u64, ev.events);
            self.event((data & 0xffff_ffff) as usize, (data >> 32) as u32, bits);
        }
        let now = Instant::now();
        if now >= self.next_scan {
            self.next_scan = now + SCAN;
            self.scan(now);
        }
        self.settle_failed();
    }

    /// Handles the connects that failed at once.
    fn settle_failed(&mut self) {
        while let Some((k, state, f, link)) = self.failed.pop_front() {
            self.connect_failed(k, state, f, link);
        }
    }

    /// Starts `job`, scheduled at `at`, on an idle connection, or queues it (growing the pool).
    fn dispatch(&mut self, job: Job, at: Instant) {
        if let Some(k) = self.idle.pop() {
            return self.send(k, Req::new(job, at, LateCause::Sender));
        }
        let cause = if self.held < self.p.connections { LateCause::Connect } else { LateCause::Pool };
        self.waiting.push_back((job, at, cause));
        self.grow();
    }

    /// Opens connections for the requests waiting (see `super`'s rules).
    fn grow(&mut self) {
        while self.connecting < self.waiting.len().min(MAX_CONNECTING)
            && self.connecting + self.unproven < MAX_UNPROVEN
            && self.held < self.p.connections
        {
            self.open_slot(Opening::Grown, None);
        }
    }

    /// Takes a free slot and starts a connect on it.
    fn open_slot(&mut self, opening: Opening, carry: Option<Req>) {
        let k = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            self.slots.len() - 1
        });
        self.held += 1;
        self.end.peak = self.end.peak.max(self.held);
        self.connect(k, opening, carry, None);
    }

    /// Starts a connect on slot `k` (held), from the address that last accepted; `link`:
    /// the slot's buffers to keep.
    fn connect(&mut self, k: usize, opening: Opening, carry: Option<Req>, link: Option<Link>) {
        self.connecting += 1;
        let now = Instant::now();
        let first = self.addr;
        self.attempt(k, State::Connecting { opening, addr: first, tried: 0, started: now, since: now, carry }, link);
    }

    /// Tries the connect that `state` describes, moving on to the next address while they
    /// fail at once; a failure of the last fails the connect.
    fn attempt(&mut self, k: usize, mut state: State, mut link: Option<Link>) {
        let State::Connecting { addr, tried, since, .. } = &mut state else { unreachable!("a connect") };
        loop {
            let a = self.p.addrs[*addr % self.p.addrs.len()];
            *since = Instant::now();
            match open_socket(a) {
                Ok(stream) => {
                    let slot = &mut self.slots[k];
                    slot.generation = slot.generation.wrapping_add(1);
                    let data = (u64::from(slot.generation) << 32) | k as u64;
                    if let Err(e) = self.poller.add(stream.as_raw_fd(), data) {
                        return self.failed.push_back((k, state, Failure::of_connect(&e), link));
                    }
                    let link = match link.take() {
                        Some(mut l) => {
                            l.stream = stream;
                            l.state = state;
                            l.used = 0;
                            l
                        }
                        None => Link::new(stream, state),
                    };
                    self.slots[k].link = Some(link);
                    return;
                }
                Err(f) => {
                    *tried += 1;
                    *addr += 1;
                    if *tried >= self.p.addrs.len() {
                        // Handled by the next turn: no recursion through the requests waiting.
                        return self.failed.push_back((k, state, f, link));
                    }
                }
            }
        }
    }

    /// An event on slot `k`'s connection of generation `generation`.
    fn event(&mut self, k: usize, generation: u32, bits: u32) {
        let Some(link) = self.slots.get(k).filter(|s| s.generation == generation).and_then(|s| s.link.as_ref()) else {
            return;
        };
        let readable = bits & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0;
        match link.state {
            State::Connecting { .. } => {
                if bits & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
                    self.connected(k);
                }
            }
            State::Idle => {
                // The target closed it (or sent what nobody asked for): not to be reused.
                if readable && !matches!(peek(&link.stream), Err(ref e) if e.kind() == ErrorKind::WouldBlock) {
                    self.slots[k].link = None;
                    self.idle.retain(|&i| i != k);
                    self.release(k, true);
                }
            }
            State::Busy(_) => {
                if link.written < link.out.len() {
                    self.write(k);
                }
                let writing = self.slots[k]
                    .link
                    .as_ref()
                    .is_none_or(|l| !matches!(l.state, State::Busy(_)) || l.written < l.out.len());
                if readable && !writing {
                    self.read(k, bits & (libc::EPOLLRDHUP | libc::EPOLLHUP) as u32 != 0);
                }
            }
        }
    }

    /// Slot `k`'s connect completed, or failed.
    fn connected(&mut self, k: usize) {
        let link = self.slots[k].link.as_mut().expect("a connecting link");
        let err = match link.stream.take_error() {
            Ok(None) => match link.stream.peer_addr() {
                Ok(_) => None,
                Err(e) if e.kind() == ErrorKind::NotConnected => return, // still connecting
                Err(e) => Some(e),
            },
            Ok(Some(e)) | Err(e) => Some(e),
        };
        let mut link = self.slots[k].link.take().expect("a connecting link");
        let state = std::mem::replace(&mut link.state, State::Idle);
        if let Some(e) = err {
            let State::Connecting { mut addr, mut tried, opening, started, since, carry } = state else { return };
            tried += 1;
            addr += 1;
            let state = State::Connecting { opening, addr, tried, started, since, carry };
            if tried >= self.p.addrs.len() {
                return self.failed.push_back((k, state, Failure::of_connect(&e), Some(link)));
            }
            return self.attempt(k, state, Some(link));
        }
        let State::Connecting { opening, addr, started, carry, .. } = state else { return };
        self.connecting -= 1;
        self.addr = addr % self.p.addrs.len();
        self.end.opened += 1;
        self.end.connect.record(started.elapsed().as_secs_f64());
        if opening == Opening::Grown {
            link.unproven = true;
            self.unproven += 1;
        }
        self.slots[k].link = Some(link);
        match carry {
            Some(req) => self.write_start(k, req),
            None => self.next(k),
        }
    }

    /// A connect of slot `k` failed with `f`: its request, or the first waiting, fails
    /// with it; the slot connects again while requests wait, else is freed.
    fn connect_failed(&mut self, k: usize, state: State, f: Failure, link: Option<Link>) {
        self.connecting -= 1;
        let State::Connecting { carry, .. } = state else { unreachable!("a connect") };
        let failed = carry.map(|r| r.job).or_else(|| self.waiting.pop_front().map(|w| w.0));
        if let Some(job) = failed {
            self.p.rec.lock().expect("recorder lock").fail(job.id, None, f);
            self.finished();
        }
        if self.waiting.is_empty() {
            drop(link);
            self.release(k, false);
        } else {
            self.connect(k, Opening::Again, None, link);
        }
    }

    /// Slot `k`'s connection is free: it takes the first request waiting, or parks.
    fn next(&mut self, k: usize) {
        let link = self.slots[k].link.as_mut().expect("an open link");
        if let Some((job, at, cause)) = self.waiting.pop_front() {
            return self.send(k, Req::new(job, at, cause));
        }
        link.state = State::Idle;
        if link.unproven {
            link.unproven = false;
            self.unproven -= 1;
        }
        self.idle.push(k);
    }

    /// Sends `req` on slot `k`'s open connection.
    fn send(&mut self, k: usize, req: Req) {
        let p = self.p;
        let link = self.slots[k].link.as_mut().expect("an open link");
        link.out.clear();
        p.target.write_request(
            req.job.demand.map(|_| req.job.id),
            req.job.demand.unwrap_or(0.0),
            !p.keep_alive,
            &mut link.out,
        );
        self.write_start(k, req);
    }

    /// Starts writing slot `k`'s request (`out`) and reading its response.
    fn write_start(&mut self, k: usize, mut req: Req) {
        let started = Instant::now();
        if !req.sent {
            req.sent = true;
            self.p
                .rec
                .lock()
                .expect("recorder lock")
                .sent_because(started.saturating_duration_since(req.at).as_secs_f64(), req.cause);
        }
        req.deadline = started + self.p.limits.timeout;
        let link = self.slots[k].link.as_mut().expect("an open link");
        link.used += 1;
        link.written = 0;
        link.buf.clear();
        link.reading = Reading::default();
        link.cap = self.p.limits.max_header;
        link.nothing = true;
        link.state = State::Busy(req);
        self.write(k);
    }

    /// Writes what is left of slot `k`'s request.
    fn write(&mut self, k: usize) {
        let link = self.slots[k].link.as_mut().expect("an open link");
        while link.written < link.out.len() {
            match link.stream.write(&link.out[link.written..]) {
                Ok(0) => return self.broke(k, Failure::Reset),
                Ok(n) => link.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.broke(k, Failure::of_io(&e)),
            }
        }
    }

    /// Reads what came on slot `k`'s connection, until its response is whole or nothing is
    /// left; `closing`: the target has closed its side (the connection is not reused).
    fn read(&mut self, k: usize, closing: bool) {
        let limits = self.p.limits;
        loop {
            let link = self.slots[k].link.as_mut().expect("an open link");
            let want = read_size(link.cap, link.buf.len());
            let n = match link.stream.read(&mut self.chunk[..want]) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return self.broke(k, Failure::of_io(&e)),
            };
            link.buf.extend_from_slice(&self.chunk[..n]);
            link.nothing &= n == 0;
            match link.reading.advance(&mut link.buf, &limits, n == 0) {
                Ok(Progress::Done(r)) => {
                    let finished = Instant::now();
                    let State::Busy(req) = std::mem::replace(&mut link.state, State::Idle) else { return };
                    let keep = self.p.keep_alive && r.keep_alive && !closing;
                    record(self.p, req.job.id, req.at, finished, r);
                    return self.done(k, keep);
                }
                Ok(Progress::More(_)) if n == 0 => return self.broke(k, Failure::Closed),
                Ok(Progress::More(cap)) => {
                    link.cap = cap;
                    if n < want {
                        return; // drained: the next bytes come with an event
                    }
                }
                Err(f) => return self.broke(k, f),
            }
        }
    }

    /// Slot `k`'s exchange failed with `f`: the connection is dropped, and the request is
    /// sent again on a new one after a keep-alive race (once), else fails.
    fn broke(&mut self, k: usize, f: Failure) {
        let mut link = self.slots[k].link.take().expect("an open link");
        let State::Busy(mut req) = std::mem::replace(&mut link.state, State::Idle) else { return };
        if link.nothing && link.used > 1 && !req.resent {
            req.resent = true;
            self.end.resent += 1;
            return self.connect(k, Opening::Again, Some(req), Some(link));
        }
        self.p.rec.lock().expect("recorder lock").fail(req.job.id, None, f);
        self.slots[k].link = Some(link);
        self.done(k, false);
    }

    /// Slot `k`'s request has its outcome; `keep`: its connection carries another.
    fn done(&mut self, k: usize, keep: bool) {
        self.finished();
        let link = self.slots[k].link.as_mut().expect("a link");
        if link.unproven {
            link.unproven = false;
            self.unproven -= 1;
        }
        if keep {
            return self.next(k);
        }
        let link = self.slots[k].link.take();
        if self.waiting.is_empty() {
            drop(link);
            self.release(k, true);
        } else {
            self.connect(k, Opening::Again, None, link);
        }
    }

    /// Frees slot `k` (its connection dropped); `replace`: open a replacement ahead of the
    /// next requests while the pool holds fewer than its first connections (not after a
    /// connect failed: no retry loop against a target that refuses).
    fn release(&mut self, k: usize, replace: bool) {
        self.slots[k].generation = self.slots[k].generation.wrapping_add(1);
        self.free.push(k);
        self.held -= 1;
        let first = self.p.initial.min(self.p.connections);
        if replace && self.p.keep_alive && self.held < first && !self.p.stop.requested.load(Ordering::Relaxed) {
            self.open_slot(Opening::Ahead, None);
        }
    }

    /// A request of this sender has its outcome.
    fn finished(&mut self) {
        self.p.outstanding.fetch_sub(1, Ordering::Relaxed);
        self.open -= 1;
    }

    /// Fails the requests and connects past their timeout.
    fn scan(&mut self, now: Instant) {
        let timeout = self.p.limits.timeout;
        for k in 0..self.slots.len() {
            let expired = match self.slots[k].link.as_ref().map(|l| &l.state) {
                Some(State::Busy(req)) => now >= req.deadline,
                Some(State::Connecting { since, .. }) => now >= *since + timeout,
                _ => false,
            };
            if !expired {
                continue;
            }
            let mut link = self.slots[k].link.take().expect("a link");
            match std::mem::replace(&mut link.state, State::Idle) {
                State::Busy(req) => {
                    self.p.rec.lock().expect("recorder lock").fail(req.job.id, None, Failure::Timeout);
                    self.slots[k].link = Some(link);
                    self.done(k, false);
                }
                state @ State::Connecting { .. } => self.connect_failed(k, state, Failure::Timeout, Some(link)),
                State::Idle => {}
            }
        }
    }
}

impl Req {
    fn new(job: Job, at: Instant, cause: LateCause) -> Req {
        Req { job, at, cause, sent: false, resent: false, deadline: at }
    }
}

impl Link {
    fn new(stream: TcpStream, state: State) -> Link {
        Link {
            stream,
            state,
            used: 0,
            unproven: false,
            out: Vec::with_capacity(256),
            written: 0,
            buf: Vec::with_capacity(1024),
            reading: Reading::default(),
            cap: 0,
            nothing: true,
        }
    }
}

#[cfg(test)]
mod tests;
