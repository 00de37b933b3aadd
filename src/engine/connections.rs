//! `[clients]`: every request belongs to a client, and travels on one of its client's
//! connections.
//!
//! Each client owns `connections` slots. A request takes a usable connection of its client
//! — HTTP/1.1: an idle one (one request at a time); HTTP/2: the one with the fewest streams
//! below `max_streams` — or opens one in a closed slot, or waits at its client, first come
//! first served, until one is free (that wait is part of its response time). Connections
//! open lazily, when a request needs one, as HTTP clients and gRPC channels do.
//!
//! With `balance = "connection"` the strategy chooses a server when a connection opens,
//! through the balancer instance of the client's node (client `c` sits on node
//! `c mod [balancers] count`), and every request on it goes to that server; the balancer
//! counts *connections* per server (what an L4 balancer such as IPVS sees) and hears
//! nothing of requests or responses. With `balance = "request"` the connections end at an
//! L7 proxy that balances each request on its own (today's model); they only bound how
//! many requests a client has in flight.
//!
//! A connection's life ends when the server closes it: after `max_requests` requests
//! (nginx `keepalive_requests`: the connection closes after that response), at
//! `max_age` ± jitter (gRPC `MAX_CONNECTION_AGE`: GOAWAY, the streams in flight finish,
//! new requests go on a new connection; grpc-go `internal/transport/http2_server.go`,
//! `keepalive` and `getJitter`), after `idle_timeout` without a request in flight (gRPC
//! `MAX_CONNECTION_IDLE`), or when its server leaves the pool (a crash resets it; the
//! client reconnects on its next request). A server in a crash window is no endpoint: new
//! connections never go to it (Kubernetes lists ready pods only; kube-proxy's and IPVS's
//! rules are modelled as updated at once) — so a server that is down from the start and
//! comes up mid-run is a scale-out, and it receives only new connections.
//!
//! A new connection costs `handshake` round trips before its first request goes (TCP: 1;
//! TLS 1.3 over TCP: 2), each round trip one draw of `[network] to_server` and one of
//! `from_server`. Every request sent on the connection before it is established waits for
//! it (HTTP/2 streams opened meanwhile too); that time is part of its response time. With
//! `balance = "connection"` the balancer chooses, and counts the connection, at its first
//! packet (the SYN), as an L4 balancer does; with `"request"` the L7 proxy chooses once the
//! request has come through.
//!
//! Every draw is common to all strategies: a request's client comes from its own stream
//! in request order, a connection's age and handshake from a hash of (slot, how many
//! connections the slot has opened).

use std::collections::VecDeque;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::Simulation;
use super::balancer::Absence;
use super::events::{AttemptGen, CallId, EventKind};
use crate::scenario::{Clients, Delay, Network, Protocol};
use crate::strategy::RequestView;
use crate::workload::clients::ClientPick;
use crate::workload::keys::key_hash;
use crate::workload::seeds::{Seeds, mix64};

/// A call travelling on no connection.
pub(super) const NO_CONN: u32 = u32::MAX;

/// The server of a closed slot.
const CLOSED: u32 = u32::MAX;

/// The "server" of an open connection that ends at an L7 proxy (`balance = "request"`).
const PROXY: u32 = u32::MAX - 1;

/// One connection slot.
#[derive(Debug, Clone, Copy)]
struct Conn {
    /// Its server ([`CLOSED`], or [`PROXY`] per request).
    server: u32,
    /// Requests in flight on it.
    in_flight: u32,
    /// Requests sent on it since it opened.
    served: u32,
    /// Bumped at every close: makes pending age and idle events stale.
    conn_gen: u32,
    /// Connections this slot has opened (keys its age draw).
    opens: u32,
    /// No new requests (GOAWAY received, `max_requests` reached, its server left).
    draining: bool,
    /// An idle check is pending.
    idle_armed: bool,
    /// When it last became idle, s.
    idle_since: f64,
}

/// Connections held by one server: what `servers.csv` reports.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Held {
    /// Connections open to it now.
    now: u32,
    /// Since when `now` holds, s.
    since: f64,
    /// Connections opened to it (whole run).
    opened: u64,
    /// Requests sent to it on them (whole run).
    requests: u64,
}

/// How close a server that joined the endpoints must come to its fair share of the
/// connections (connections held ÷ endpoints) to count as carrying it: 90% of it, or the
/// whole connections a fair split gives every server (⌊share⌋), whichever is fewer —
/// connections are whole, so 100 over 15 servers leave some with 6.
const FAIR_SHARE_WITHIN: f64 = 0.9;

/// A server that joined the endpoints during the run, until it carries its fair share.
#[derive(Debug, Clone, Copy)]
struct Join {
    server: u32,
    at: f64,
}

/// `[clients] handshake`: the round trips a new connection costs, on the `[network]` legs.
struct Handshake {
    round_trips: u32,
    to_server: Option<(Delay, u64)>,
    from_server: Option<(Delay, u64)>,
}

impl Handshake {
    /// How long the `opens`-th connection of slot `k` takes to establish: the same for
    /// every strategy.
    fn duration(&self, k: usize, opens: u32) -> f64 {
        let id = mix64(((k as u64) << 24) ^ u64::from(opens));
        (0..self.round_trips)
            .map(|i| super::Transit::draw(self.to_server, id, i) + super::Transit::draw(self.from_server, id, i))
            .sum()
    }
}

/// The clients' connection pools.
pub(super) struct Pools {
    /// The strategy chooses per connection.
    pub(super) l4: bool,
    /// Requests a connection carries at once.
    streams: u32,
    per_client: u32,
    clients: u32,
    nodes: u32,
    max_requests: u32,
    max_age: Option<(f64, f64)>,
    idle_timeout: Option<f64>,
    conns: Vec<Conn>,
    /// Requests waiting at each client for a connection.
    waiting: Vec<VecDeque<CallId>>,
    /// Which client each request belongs to.
    client_rng: Xoshiro256PlusPlus,
    /// How that client is drawn.
    client_draw: ClientPick,
    /// Seed of the age draws.
    age_seed: u64,
    /// The cost of a new connection (`None`: none).
    handshake: Option<Handshake>,
    /// Per slot with a handshake: when its connection is established, s (empty without).
    ready: Vec<f64>,
    /// Salt of the clients' hashes (what a hash strategy hashes per connection).
    salt: u64,
    /// Per server.
    held: Vec<Held>,
    /// Clients whose waiting requests must be looked at once the current one is done.
    to_pump: Vec<u32>,
    pumping: bool,
    /// Connections held in all, whichever server.
    held_total: u64,
    /// Servers that joined and do not carry their fair share yet.
    joining: Vec<Join>,
    /// The longest a join took to carry its fair share so far, s (`None`: no join yet).
    fair_share: Option<f64>,
}

impl Pools {
    /// The pools of `c` over `servers` servers and `nodes` balancer instances, their
    /// handshakes on `network`.
    pub(super) fn new(c: &Clients, servers: usize, nodes: u32, network: &Network, seeds: &Seeds) -> Self {
        let closed = Conn {
            server: CLOSED,
            in_flight: 0,
            served: 0,
            conn_gen: 0,
            opens: 0,
            draining: false,
            idle_armed: false,
            idle_since: 0.0,
        };
        Pools {
            l4: c.per_connection(),
            streams: match c.protocol {
                Protocol::Http1 => 1,
                Protocol::Http2 { max_streams } => max_streams,
            },
            per_client: c.connections,
            clients: c.count,
            nodes,
            max_requests: c.max_requests.unwrap_or(u32::MAX),
            max_age: c.max_age.map(|a| (a, c.age_jitter)),
            idle_timeout: c.idle_timeout,
            conns: vec![closed; c.count as usize * c.connections as usize],
            waiting: (0..c.count).map(|_| VecDeque::new()).collect(),
            client_rng: Xoshiro256PlusPlus::seed_from_u64(seeds.stream("clients/request")),
            client_draw: c.rates.pick(c.count),
            age_seed: seeds.stream("clients/age"),
            handshake: (c.handshake.0 > 0).then(|| Handshake {
                round_trips: c.handshake.0,
                to_server: network.to_server.map(|d| (d, seeds.stream("clients/handshake/to_server"))),
                from_server: network.from_server.map(|d| (d, seeds.stream("clients/handshake/from_server"))),
            }),
            ready: if c.handshake.0 > 0 { vec![0.0; c.count as usize * c.connections as usize] } else { Vec::new() },
            salt: seeds.key_hash(),
            held: vec![Held::default(); servers],
            to_pump: Vec::new(),
            pumping: false,
            held_total: 0,
            joining: Vec::new(),
            fair_share: None,
        }
    }

    /// The slot to use for a request of `client`: an open connection with room (HTTP/2: the
    /// fewest streams), else a closed slot to open (`true`), else none.
    fn find(&self, client: u32) -> Option<(usize, bool)> {
        let base = client as usize * self.per_client as usize;
        let mut best: Option<usize> = None;
        let mut closed = None;
        for k in base..base + self.per_client as usize {
            let c = &self.conns[k];
            if c.server == CLOSED {
                closed = closed.or(Some(k));
            } else if !c.draining
                && c.in_flight < self.streams
                && best.is_none_or(|b| c.in_flight < self.conns[b].in_flight)
            {
                best = Some(k);
                if c.in_flight == 0 {
                    break;
                }
            }
        }
        best.map(|k| (k, false)).or(closed.map(|k| (k, true)))
    }
}

impl<const FULL: bool> Simulation<FULL> {
    /// Whether the balancer counts requests (everything but `balance = "connection"`).
    #[inline(always)]
    pub(super) fn counts_requests(&self) -> bool {
        !FULL || !self.l4
    }

    /// A new request (call `c`) with `[clients]`: drawn a client, it takes a connection of
    /// its client or waits for one.
    pub(super) fn client_request(&mut self, c: CallId) {
        let p = self.pools.as_mut().expect("[clients]");
        let client = p.client_draw.draw(&mut p.client_rng, p.clients);
        if p.l4 {
            // Every connection of a client goes through its node's balancer.
            self.calls.get_mut(c).balancer = client % p.nodes;
        }
        p.waiting[client as usize].push_back(c);
        self.pump(client);
    }

    /// Sends `client`'s waiting requests, first come first served, while it has a usable
    /// connection. Re-entrant calls (a request that fails at once settles and frees its
    /// connection) only note the client; the outer call handles it.
    fn pump(&mut self, client: u32) {
        let p = self.pools.as_mut().expect("[clients]");
        if p.pumping {
            p.to_pump.push(client);
            return;
        }
        p.pumping = true;
        let mut next = Some(client);
        while let Some(client) = next {
            loop {
                let p = self.pools.as_mut().expect("[clients]");
                let Some(&c) = p.waiting[client as usize].front() else { break };
                let Some((k, open)) = p.find(client) else { break };
                p.waiting[client as usize].pop_front();
                if open {
                    self.open(k, c);
                }
                self.send_on(k, c);
            }
            next = self.pools.as_mut().expect("[clients]").to_pump.pop();
        }
        self.pools.as_mut().expect("[clients]").pumping = false;
    }

    /// Opens a connection in slot `k` for call `c`: per connection, the strategy chooses its
    /// server now.
    fn open(&mut self, k: usize, c: CallId) {
        let now = self.now;
        let call = *self.calls.get(c);
        let p = self.pools.as_mut().expect("[clients]");
        let client = (k / p.per_client as usize) as u64;
        let server = if p.l4 {
            let view = RequestView {
                id: call.req.id,
                arrival: now,
                key: client,
                hash: key_hash(client, p.salt),
                balancer: call.balancer,
            };
            let s = self.balancer.pick::<true>(&view);
            self.balancer.inc::<true>(s, call.balancer, now);
            self.held_change(s, 1);
            self.pools.as_mut().expect("[clients]").held[s].opened += 1;
            s as u32
        } else {
            PROXY
        };
        let p = self.pools.as_mut().expect("[clients]");
        let conn = &mut p.conns[k];
        conn.server = server;
        conn.served = 0;
        conn.in_flight = 0;
        conn.draining = false;
        conn.opens = conn.opens.wrapping_add(1);
        if let Some(h) = &p.handshake {
            p.ready[k] = now + h.duration(k, conn.opens);
        }
        if let Some((age, jitter)) = p.max_age {
            // Uniform in age × [1 − jitter, 1 + jitter), as grpc-go's getJitter.
            let u = (mix64(p.age_seed ^ ((k as u64) << 20) ^ u64::from(conn.opens)) >> 11) as f64 / (1u64 << 53) as f64;
            let life = age * (1.0 + jitter * (2.0 * u - 1.0));
            let conn_gen = conn.conn_gen;
            self.events.push(now + life, EventKind::ConnAge { conn: k as u32, conn_gen });
        }
    }

    /// Sends call `c` on the open connection in slot `k`: at once, or when its handshake
    /// is over.
    fn send_on(&mut self, k: usize, c: CallId) {
        let now = self.now;
        let p = self.pools.as_mut().expect("[clients]");
        let conn = &mut p.conns[k];
        conn.in_flight += 1;
        conn.served += 1;
        if conn.served >= p.max_requests {
            conn.draining = true; // closed after this response
        }
        let call = self.calls.get_mut(c);
        call.conn = k as u32;
        if let Some(&ready) = p.ready.get(k)
            && ready > now
        {
            call.handshake = ready - now;
            let attempt_gen = call.attempt_gen;
            self.events.push(ready, EventKind::Handshake { call: c, attempt_gen });
            return;
        }
        self.transmit(k, c);
    }

    /// `[clients] handshake`: call `c`'s connection is established; the call goes on.
    pub(super) fn handshake_done(&mut self, c: CallId, attempt_gen: AttemptGen) {
        let call = self.calls.get(c);
        debug_assert_eq!(call.attempt_gen, attempt_gen, "nothing ends a call during its handshake");
        let k = call.conn as usize;
        self.transmit(k, c);
    }

    /// Call `c`, on slot `k`'s established connection, goes to the L7 proxy or to the
    /// connection's server.
    fn transmit(&mut self, k: usize, c: CallId) {
        let p = self.pools.as_mut().expect("[clients]");
        let server = p.conns[k].server;
        let call = self.calls.get(c);
        let (req, attempt_gen) = (call.req, call.attempt_gen);
        if server == PROXY {
            self.send(req, Some(c), attempt_gen);
        } else {
            p.held[server as usize].requests += 1;
            self.dispatch(server as usize, req, Some(c), attempt_gen);
        }
    }

    /// A request on slot `k` has its outcome: the connection has room again, closes if it
    /// was draining, and the client's waiting requests may go.
    pub(super) fn release(&mut self, k: u32) {
        let k = k as usize;
        let now = self.now;
        let p = self.pools.as_mut().expect("[clients]");
        let conn = &mut p.conns[k];
        conn.in_flight -= 1;
        let client = (k / p.per_client as usize) as u32;
        if conn.in_flight == 0 {
            if conn.draining {
                self.close(k);
            } else if let Some(t) = p.idle_timeout {
                conn.idle_since = now;
                if !conn.idle_armed {
                    conn.idle_armed = true;
                    let conn_gen = conn.conn_gen;
                    self.events.push(now + t, EventKind::ConnIdle { conn: k as u32, conn_gen });
                }
            }
        }
        self.pump(client);
    }

    /// Closes the connection in slot `k` (nothing in flight on it).
    fn close(&mut self, k: usize) {
        let now = self.now;
        let p = self.pools.as_mut().expect("[clients]");
        let client = (k / p.per_client as usize) as u32;
        let node = client % p.nodes;
        let conn = &mut p.conns[k];
        debug_assert_eq!(conn.in_flight, 0, "a connection closes empty");
        let s = conn.server;
        conn.server = CLOSED;
        conn.draining = false;
        conn.idle_armed = false;
        conn.conn_gen = conn.conn_gen.wrapping_add(1);
        if s != PROXY {
            self.balancer.dec::<true>(s as usize, node, now);
            self.held_change(s as usize, -1);
        }
    }

    /// `max_age`: the server sends GOAWAY on slot `k`'s connection (unless it already
    /// closed): no new requests on it, closed once the ones in flight finish.
    pub(super) fn conn_age(&mut self, k: u32, conn_gen: u32) {
        let p = self.pools.as_mut().expect("[clients]");
        let conn = &mut p.conns[k as usize];
        if conn.conn_gen != conn_gen || conn.server == CLOSED {
            return;
        }
        conn.draining = true;
        if conn.in_flight == 0 {
            let client = k / p.per_client;
            self.close(k as usize);
            self.pump(client);
        }
    }

    /// `idle_timeout`: closes slot `k`'s connection if it has been idle that long, else
    /// checks again when it would have.
    pub(super) fn conn_idle(&mut self, k: u32, conn_gen: u32) {
        let now = self.now;
        let p = self.pools.as_mut().expect("[clients]");
        let t = p.idle_timeout.expect("idle checks only with idle_timeout");
        let conn = &mut p.conns[k as usize];
        if conn.conn_gen != conn_gen {
            return;
        }
        conn.idle_armed = false;
        if conn.in_flight > 0 || conn.server == CLOSED {
            return; // armed again when it next becomes idle
        }
        let due = conn.idle_since + t;
        if now >= due {
            self.close(k as usize);
        } else {
            conn.idle_armed = true;
            self.events.push(due, EventKind::ConnIdle { conn: k, conn_gen });
        }
    }

    /// `balance = "connection"`: server `s` leaves the endpoints (its crash window starts):
    /// no new connections go to it, and its connections drain.
    pub(super) fn server_leaves(&mut self, s: usize) {
        let eligible = self.balancer.set_absent(s, Absence::CrashWindow, true);
        debug_assert!(!eligible);
        self.after_eligibility(s, false, "endpoints");
        self.drain_connections(s);
    }

    /// `balance = "connection"`: server `s` left the endpoints (a crash window, a pod
    /// terminating): its connections close — now if idle, else once their requests end (as
    /// they finish, or as a crash resets them).
    pub(super) fn drain_connections(&mut self, s: usize) {
        let p = self.pools.as_mut().expect("[clients]");
        let idle: Vec<usize> = p
            .conns
            .iter_mut()
            .enumerate()
            .filter(|(_, c)| c.server == s as u32)
            .filter_map(|(k, c)| {
                c.draining = true;
                (c.in_flight == 0).then_some(k)
            })
            .collect();
        for k in idle {
            self.close(k);
        }
    }

    /// `balance = "connection"`: server `s` is an endpoint again (its crash window ended).
    pub(super) fn server_joins(&mut self, s: usize) {
        let eligible = self.balancer.set_absent(s, Absence::CrashWindow, false);
        self.after_eligibility(s, eligible, "endpoints");
        if eligible {
            self.joined(s);
        }
    }

    /// `balance = "connection"`: server `s` has just joined the endpoints (a crash window
    /// ended, a pod became ready): from now on it is timed until it carries its fair share.
    pub(super) fn joined(&mut self, s: usize) {
        let now = self.now;
        let p = self.pools.as_mut().expect("[clients]");
        p.joining.retain(|j| j.server != s as u32);
        p.joining.push(Join { server: s as u32, at: now });
        self.check_fair_share();
    }

    /// Notes the joins whose server now carries its fair share of the connections (see
    /// [`FAIR_SHARE_WITHIN`]); a server no longer an endpoint stops being timed.
    fn check_fair_share(&mut self) {
        let now = self.now;
        let endpoints = self.balancer.eligible_count();
        let Some(p) = self.pools.as_mut() else { return };
        if p.joining.is_empty() || endpoints == 0 {
            return;
        }
        let fair = p.held_total as f64 / endpoints as f64;
        let needed = (FAIR_SHARE_WITHIN * fair).min(fair.floor());
        let (held, balancer) = (&p.held, &self.balancer);
        let mut longest = p.fair_share;
        p.joining.retain(|j| {
            if !balancer.is_eligible(j.server as usize) {
                return false;
            }
            let carries = f64::from(held[j.server as usize].now) >= needed;
            if carries {
                longest = Some(longest.map_or(now - j.at, |l: f64| l.max(now - j.at)));
            }
            !carries
        });
        p.fair_share = longest;
    }

    /// The run's answer: the longest time a join took to carry its fair share, infinite if
    /// one never did (`None`: no server joined).
    pub(super) fn fair_share(&self) -> Option<f64> {
        let p = self.pools.as_ref()?;
        if p.joining.is_empty() { p.fair_share } else { Some(f64::INFINITY) }
    }

    /// One connection more (`+1`) or fewer at server `s`: its time-average and maximum.
    fn held_change(&mut self, s: usize, delta: i32) {
        let now = self.now;
        let measuring = self.rec.measuring;
        let p = self.pools.as_mut().expect("[clients]");
        let h = &mut p.held[s];
        let st = &mut self.servers[s].stats;
        if measuring {
            st.connections_area += f64::from(h.now) * (now - h.since);
        }
        h.since = now;
        h.now = h.now.checked_add_signed(delta).expect("connections held never go negative");
        if measuring && h.now > st.connections_max {
            st.connections_max = h.now;
        }
        p.held_total = p.held_total.checked_add_signed(i64::from(delta)).expect("held connections");
        if !p.joining.is_empty() {
            self.check_fair_share();
        }
    }

    /// The measured window starts: connection integrals from now.
    pub(super) fn pools_start_window(&mut self) {
        let now = self.now;
        if let Some(p) = &mut self.pools {
            for (h, s) in p.held.iter_mut().zip(&mut self.servers) {
                h.since = now;
                s.stats.connections_max = h.now;
            }
        }
    }

    /// The run ends: connection integrals up to now.
    pub(super) fn pools_finish(&mut self) {
        let now = self.now;
        if let Some(p) = &mut self.pools {
            for (h, s) in p.held.iter_mut().zip(&mut self.servers) {
                s.stats.connections_area += f64::from(h.now) * (now - h.since);
                h.since = now;
                s.stats.connections_opened = h.opened;
                s.stats.connection_requests = h.requests;
            }
        }
    }
}
