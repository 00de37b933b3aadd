//! `[clients]` in `lbsim load`: every request belongs to the client of the scenario the
//! simulator gives it, and travels on one of that client's own connections, held as the
//! simulator holds them (`src/engine/connections.rs`), so that a balancer that chooses per
//! connection (HAProxy `mode tcp`, IPVS, a network load balancer) sees the scenario's
//! connections.
//!
//! - **Which client**: the simulator's draw ([`ClientPick`]: uniform, by `weights` or by
//!   `zipf` over `count` clients) from the stream `clients/request` of replication 0, one
//!   draw per request in request order ([`ClientDraw`]). Client `c` belongs to sender `c mod senders`.
//! - **Its connections**: `connections` slots per client, opened lazily when a request finds
//!   none usable (HTTP clients and gRPC channels do the same; the simulator too), so the
//!   first request on a connection waits for its connect (a late send counted as
//!   `waited_for_connect`). HTTP/1.1 (`protocol = "http1"`): one request at a time per
//!   connection; HTTP/2 (`"http2"`, h2c with prior knowledge): up to `max_streams` streams,
//!   a request going to the connection with the fewest. A request finding every connection
//!   of its client busy waits at its client, first come first served (`waited_for_connection`).
//! - **A connection's life**: in the model the server ends it; here the client does, so that
//!   any target sees the scenario's connections whatever its own settings. `max_requests`:
//!   the last request goes with `Connection: close` (HTTP/1.1: what nginx's
//!   `keepalive_requests` does) and the connection is closed after it; `max_age`: from its
//!   age on (the simulator's draw: the same slot and open count give the same age, jitter
//!   included) it takes no new request and closes once the ones in flight are done, as after
//!   a GOAWAY; `idle_timeout`: closed after that long with nothing in flight. A connection
//!   the target closes or breaks is reopened by the next request that needs it.
//! - **A keep-alive race** (the target closed an idle HTTP/1.1 connection just as a request
//!   went out on it, and the request is resent on a new connection): the new connection
//!   takes the old one's place in the slot, with the old one's age timer. The simulator has
//!   no such race (its connections end only by `max_requests`, `max_age` or
//!   `idle_timeout`), and keeping the timer keeps the slot expiring when the simulator's
//!   connection does; counting the resend as a new open would shift every later age draw
//!   of the slot against the simulator's.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{Job, Local, connect, finished, one, record};
use crate::real::client::{Conn, Failure};
use crate::real::h2;
use crate::real::record::LateCause;
use crate::scenario::{Clients, Protocol};
use crate::workload::clients::ClientPick;
use crate::workload::seeds::{Seeds, mix64};

/// How the senders hold the clients' connections: the scenario's `[clients]`.
#[derive(Debug, Clone, Copy)]
pub struct ClientPlan {
    /// Connections per client.
    pub connections: u32,
    /// HTTP/1.1, or HTTP/2 with its streams per connection.
    pub protocol: Protocol,
    /// Requests per connection (the last goes with `Connection: close`).
    pub max_requests: Option<u32>,
    /// A connection's age and its relative jitter, s.
    pub max_age: Option<(f64, f64)>,
    /// Seed of the age draws (the simulator's).
    pub age_seed: u64,
    /// A connection idle this long is closed.
    pub idle_timeout: Option<Duration>,
}

impl ClientPlan {
    /// The plan of `c` for the replication whose seeds are `seeds`.
    pub fn of(c: &Clients, seeds: &Seeds) -> ClientPlan {
        ClientPlan {
            connections: c.connections,
            protocol: c.protocol,
            max_requests: c.max_requests,
            max_age: c.max_age.map(|a| (a, c.age_jitter)),
            age_seed: seeds.stream("clients/age"),
            idle_timeout: c.idle_timeout.map(Duration::from_secs_f64),
        }
    }

    /// Age of the connection that global slot `slot` opens for the `opens`-th time, s: as
    /// the simulator draws it, uniform in `max_age × [1 − jitter, 1 + jitter)`.
    fn age(&self, slot: u64, opens: u32) -> Option<f64> {
        let (age, jitter) = self.max_age?;
        let u = (mix64(self.age_seed ^ (slot << 20) ^ u64::from(opens)) >> 11) as f64 / (1u64 << 53) as f64;
        Some(age * (1.0 + jitter * (2.0 * u - 1.0)))
    }
}

/// The client of each request, in request order: the simulator's draw.
#[derive(Debug, Clone)]
pub struct ClientDraw {
    rng: Xoshiro256PlusPlus,
    pick: ClientPick,
    count: u32,
}

impl ClientDraw {
    /// The draw of `c` for the replication whose seeds are `seeds`.
    pub fn new(c: &Clients, seeds: &Seeds) -> ClientDraw {
        ClientDraw {
            rng: Xoshiro256PlusPlus::seed_from_u64(seeds.stream("clients/request")),
            pick: c.rates.pick(c.count),
            count: c.count,
        }
    }

    /// The next request's client.
    pub fn next_client(&mut self) -> u32 {
        self.pick.draw(&mut self.rng, self.count)
    }
}

/// A connection slot's connection.
enum Link {
    Closed,
    Connecting,
    /// An HTTP/1.1 connection, `None` while a request is on it.
    H1(Option<Conn>),
    H2(h2::Sender),
}

struct Slot {
    link: Link,
    /// Bumped at every close: makes pending age and idle timers stale.
    generation: u64,
    /// Connections this slot has opened (keys its age).
    opens: u32,
    in_flight: u32,
    served: u32,
    /// Takes no new request (its last request sent, its age reached, or broken).
    draining: bool,
    /// Bumped whenever a request starts: makes a pending idle timer stale.
    idle_epoch: u64,
}

/// One client's connections and the requests waiting for one.
pub(super) struct Group {
    slots: Vec<Slot>,
    waiting: VecDeque<(Job, Instant, LateCause)>,
}

/// The clients of one sender.
pub(super) type Groups = HashMap<u32, Group>;

fn streams(l: &Local) -> u32 {
    l.plan.clients.as_ref().map_or(1, |c| c.protocol.streams())
}

/// Hands `job`, scheduled at `at`, to its client: on a connection at once, or it waits.
pub(super) fn dispatch(l: &Rc<Local>, job: Job, at: Instant) {
    let per = l.plan.clients.as_ref().expect("[clients]").connections;
    l.groups.borrow_mut().entry(job.client).or_insert_with(|| Group {
        slots: (0..per)
            .map(|_| Slot {
                link: Link::Closed,
                generation: 0,
                opens: 0,
                in_flight: 0,
                served: 0,
                draining: false,
                idle_epoch: 0,
            })
            .collect(),
        waiting: VecDeque::new(),
    });
    l.groups.borrow_mut().get_mut(&job.client).expect("just made").waiting.push_back((job, at, LateCause::Sender));
    pump(l, job.client);
    // Still waiting: for the connection it is opening, or for one of its client's to free.
    let mut groups = l.groups.borrow_mut();
    let g = groups.get_mut(&job.client).expect("the client's connections");
    let connecting = g.slots.iter().any(|s| matches!(s.link, Link::Connecting));
    if let Some(w) = g.waiting.back_mut().filter(|w| w.0.id == job.id) {
        w.2 = if connecting { LateCause::Connect } else { LateCause::Pool };
    }
}

/// Sends `client`'s waiting requests, first come first served, while a connection has room
/// (HTTP/2: the one with the fewest streams); then opens a closed slot for each request still
/// waiting beyond those already connecting.
fn pump(l: &Rc<Local>, client: u32) {
    let streams = streams(l);
    let max_requests = l.plan.clients.as_ref().and_then(|c| c.max_requests);
    loop {
        let mut groups = l.groups.borrow_mut();
        let Some(g) = groups.get_mut(&client) else { return };
        if g.waiting.is_empty() {
            return;
        }
        // An HTTP/2 connection the target closed (GOAWAY, idle timeout) takes no new stream:
        // its slot is reopened once its streams are done.
        for s in &mut g.slots {
            if matches!(&s.link, Link::H2(send) if send.is_closed()) {
                s.draining = true;
                if s.in_flight == 0 {
                    close(l, s);
                }
            }
        }
        let usable = |s: &Slot| {
            !s.draining
                && match &s.link {
                    Link::H1(c) => c.is_some(),
                    Link::H2(send) => s.in_flight < streams && !send.is_closed(),
                    _ => false,
                }
        };
        let best = (0..g.slots.len()).filter(|&k| usable(&g.slots[k])).min_by_key(|&k| g.slots[k].in_flight);
        if let Some(k) = best {
            let (job, at, cause) = g.waiting.pop_front().expect("a request waits");
            let s = &mut g.slots[k];
            s.in_flight += 1;
            s.served += 1;
            s.idle_epoch += 1;
            let last = max_requests.is_some_and(|m| s.served >= m);
            s.draining |= last;
            let generation = s.generation;
            let at_slot = (client, k, generation);
            match &mut s.link {
                Link::H1(conn) => {
                    let conn = conn.take();
                    tokio::task::spawn_local(h1_request(Rc::clone(l), at_slot, conn, (job, at, cause), last));
                }
                Link::H2(send) => {
                    let send = send.clone();
                    tokio::task::spawn_local(h2_request(Rc::clone(l), at_slot, send, (job, at, cause)));
                }
                _ => unreachable!("a usable slot is open"),
            }
            continue;
        }
        let connecting = g.slots.iter().filter(|s| matches!(s.link, Link::Connecting)).count();
        let closed = g.slots.iter().position(|s| matches!(s.link, Link::Closed));
        let Some(k) = closed.filter(|_| connecting < g.waiting.len()) else { return };
        let s = &mut g.slots[k];
        s.link = Link::Connecting;
        s.opens = s.opens.wrapping_add(1);
        s.in_flight = 0;
        s.served = 0;
        s.draining = false;
        let (generation, opens) = (s.generation, s.opens);
        drop(groups);
        let mut pool = l.pool.borrow_mut();
        pool.slots += 1;
        pool.end.peak = pool.end.peak.max(pool.slots);
        drop(pool);
        tokio::task::spawn_local(open(Rc::clone(l), (client, k, generation), opens));
    }
}

/// Runs `f` on slot `k` of `client` if it is still of generation `generation`.
fn with_slot<R>(l: &Local, (client, k, generation): (u32, usize, u64), f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
    let mut groups = l.groups.borrow_mut();
    let s = groups.get_mut(&client)?.slots.get_mut(k)?;
    (s.generation == generation).then(|| f(s))
}

/// Closes the connection of slot `s` (drops it: FIN for HTTP/1.1; HTTP/2 ends once its
/// streams are done).
fn close(l: &Local, s: &mut Slot) {
    if !matches!(s.link, Link::Closed) {
        s.link = Link::Closed;
        s.generation += 1;
        s.draining = false;
        s.in_flight = 0;
        l.pool.borrow_mut().slots -= 1;
    }
}

/// Opens the connection of a slot; on failure, the first request waiting fails with the cause.
async fn open(l: Rc<Local>, at_slot: (u32, usize, u64), opens: u32) {
    let plan = *l.plan.clients.as_ref().expect("[clients]");
    let link = match connect(&l).await {
        Ok(c) => match plan.protocol {
            Protocol::Http1 => Ok(Link::H1(Some(c))),
            Protocol::Http2 { .. } => h2::handshake(c.into_stream(), &l.plan.limits).await.map(Link::H2),
        },
        Err(f) => Err(f),
    };
    let (client, k, _) = at_slot;
    match link {
        Ok(link) => {
            let opened = Instant::now();
            with_slot(&l, at_slot, |s| s.link = link);
            let global = u64::from(client) * u64::from(plan.connections) + k as u64;
            if let Some(age) = plan.age(global, opens) {
                let until = opened + Duration::from_secs_f64(age);
                tokio::task::spawn_local(expire(Rc::clone(&l), at_slot, until));
            }
            pump(&l, client);
            idle(&l, at_slot);
        }
        Err(f) => {
            let failed = with_slot(&l, at_slot, |s| close(&l, s))
                .and_then(|_| l.groups.borrow_mut().get_mut(&client).and_then(|g| g.waiting.pop_front()));
            if let Some((job, _, _)) = failed {
                l.plan.rec.lock().expect("recorder lock").fail(job.id, None, f);
                finished(&l);
            }
            pump(&l, client);
        }
    }
}

/// The age of the slot's connection is reached: no new request on it; closed once the
/// requests in flight are done.
async fn expire(l: Rc<Local>, at_slot: (u32, usize, u64), until: Instant) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
    with_slot(&l, at_slot, |s| {
        s.draining = true;
        if s.in_flight == 0 {
            close(&l, s);
        }
    });
    pump(&l, at_slot.0);
}

/// With an `idle_timeout`, closes the slot's connection if nothing starts on it that long.
fn idle(l: &Rc<Local>, at_slot: (u32, usize, u64)) {
    let Some(timeout) = l.plan.clients.as_ref().and_then(|c| c.idle_timeout) else { return };
    let epoch = with_slot(l, at_slot, |s| {
        (s.in_flight == 0 && !s.draining && !matches!(s.link, Link::Closed | Link::Connecting)).then_some(s.idle_epoch)
    })
    .flatten();
    let Some(epoch) = epoch else { return };
    let l = Rc::clone(l);
    tokio::task::spawn_local(async move {
        tokio::time::sleep(timeout).await;
        with_slot(&l, at_slot, |s| {
            if s.idle_epoch == epoch && s.in_flight == 0 {
                close(&l, s);
            }
        });
    });
}

/// A request on the slot is done: its connection takes the next (or parks, or closes when
/// draining or broken).
fn settle(l: &Rc<Local>, at_slot: (u32, usize, u64), back: Option<Conn>, broken: bool) {
    with_slot(l, at_slot, |s| {
        s.in_flight = s.in_flight.saturating_sub(1);
        s.draining |= broken;
        if let (Link::H1(slot), Some(c)) = (&mut s.link, back) {
            *slot = Some(c);
        }
        if s.in_flight == 0 && (s.draining || matches!(s.link, Link::H1(None))) {
            close(l, s);
        }
    });
    pump(l, at_slot.0);
    idle(l, at_slot);
}

/// One HTTP/1.1 request on the slot's connection (the last of its life with `close`).
async fn h1_request(
    l: Rc<Local>,
    at_slot: (u32, usize, u64),
    mut conn: Option<Conn>,
    (job, at, cause): (Job, Instant, LateCause),
    close: bool,
) {
    let mut request = Vec::with_capacity(160);
    one(&l, &mut conn, job, at, cause, &mut request, close).await;
    finished(&l);
    settle(&l, at_slot, conn, false);
}

/// One HTTP/2 request: a stream of the slot's connection.
async fn h2_request(
    l: Rc<Local>,
    at_slot: (u32, usize, u64),
    mut send: h2::Sender,
    (job, at, cause): (Job, Instant, LateCause),
) {
    let p = &*l.plan;
    let started = Instant::now();
    p.rec.lock().expect("recorder lock").sent_because(started.saturating_duration_since(at).as_secs_f64(), cause);
    let uri = p.target.request_uri(job.demand.map(|_| job.id), job.demand.unwrap_or(0.0));
    let deadline = tokio::time::Instant::from_std(started + p.limits.timeout);
    let result = tokio::time::timeout_at(deadline, h2::exchange(&mut send, uri, &p.limits)).await;
    let done = Instant::now();
    let broken = match result {
        Err(_) => {
            p.rec.lock().expect("recorder lock").fail(job.id, None, Failure::Timeout);
            false
        }
        Ok(Err(f)) => {
            p.rec.lock().expect("recorder lock").fail(job.id, None, f);
            send.is_closed()
        }
        Ok(Ok(r)) => {
            record(p, job.id, at, done, r);
            send.is_closed()
        }
    };
    drop(send);
    finished(&l);
    settle(&l, at_slot, None, broken);
}
