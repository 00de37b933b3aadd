//! `[clients]`: the clients that send the requests, the connections each keeps to the
//! balancer or to the servers, and where the balancing choice is made (per request or per
//! connection); and its validation.

use serde::Serialize;

use super::ScenarioError;
use super::schema::RawClients;
use crate::duration::format_duration;

/// The most clients a scenario may have (each keeps its connection slots).
pub const MAX_CLIENTS: u32 = 10_000_000;

/// Bound on clients × connections (one slot of a few bytes each).
pub const MAX_CONNECTION_SLOTS: u64 = 50_000_000;

/// gRPC's jitter on `MAX_CONNECTION_AGE`: ±10% (grpc-go `internal/transport/http2_server.go`,
/// `getJitter`: a uniform draw in [−v/10, v/10) per server transport, i.e. per connection).
pub const GRPC_AGE_JITTER: f64 = 0.1;

/// The accepted values of `protocol`.
pub const PROTOCOLS: &[&str] = &["http1", "http2"];

/// The accepted values of `balance`.
pub const BALANCE: &[&str] = &["request", "connection"];

/// The named handshakes of `handshake` and the round trips each costs before a new
/// connection carries its first request: TCP's three-way handshake (the request follows the
/// final ACK), TLS 1.3's full handshake on top (RFC 8446 §2: one more round trip; the
/// client's Finished travels with the request), TLS 1.2's (RFC 5246 §7.3: two more).
pub const HANDSHAKES: &[(&str, u32)] = &[("none", 0), ("tcp", 1), ("tls", 2), ("tls1.2", 3)];

/// The most round trips `handshake` may name as a number.
pub const MAX_HANDSHAKE_ROUND_TRIPS: u32 = 10;

/// How requests share a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 keep-alive: one request in flight per connection; a request waits at its
    /// client for a free connection of the pool.
    Http1,
    /// HTTP/2 (gRPC): requests multiplexed as streams, at most `max_streams` at once per
    /// connection (`SETTINGS_MAX_CONCURRENT_STREAMS`).
    Http2 {
        /// Concurrent streams per connection.
        max_streams: u32,
    },
}

impl Protocol {
    /// `http1` or `http2`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http1 => "http1",
            Protocol::Http2 { .. } => "http2",
        }
    }

    /// Requests one connection carries at once.
    pub fn streams(self) -> u32 {
        match self {
            Protocol::Http1 => 1,
            Protocol::Http2 { max_streams } => max_streams,
        }
    }
}

/// Where the balancing choice is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    /// Per request (an L7 proxy pooling its own connections to the servers): today's model;
    /// the clients' connections only limit how many requests each has in flight.
    Request,
    /// Per new connection (an L4 balancer: kube-proxy, IPVS, a network load balancer,
    /// HAProxy `mode tcp`): every request on the connection goes to its server, and the
    /// strategy counts connections, not requests.
    Connection,
}

impl Balance {
    /// `request` or `connection`.
    pub fn name(self) -> &'static str {
        match self {
            Balance::Request => "request",
            Balance::Connection => "connection",
        }
    }
}

/// How the requests are shared among the clients.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientRates {
    /// Every client equally often (the default).
    Uniform,
    /// Client `i` with probability ∝ `weights[i]` (`weights`, one per client).
    Weights(Vec<f64>),
    /// Client `i` (0-based) with probability ∝ 1/(i + 1)^exponent (`zipf`).
    Zipf(f64),
}

impl ClientRates {
    /// The draw of each request's client among `count` at these rates (the engine's and
    /// `lbsim load`'s).
    pub fn pick(&self, count: u32) -> crate::workload::clients::ClientPick {
        use crate::workload::clients::ClientPick;
        match self {
            ClientRates::Uniform => ClientPick::uniform(),
            ClientRates::Weights(w) => ClientPick::weighted(w),
            ClientRates::Zipf(s) => ClientPick::zipf(count, *s),
        }
    }

    /// The share of the requests of client `i` of `count` (O(count)).
    pub fn share(&self, i: u32, count: u32) -> f64 {
        match self {
            ClientRates::Uniform => 1.0 / f64::from(count),
            ClientRates::Weights(w) => w[i as usize] / w.iter().sum::<f64>(),
            ClientRates::Zipf(s) => {
                let norm: f64 = (1..=count).map(|r| f64::from(r).powf(-s)).sum();
                f64::from(i + 1).powf(-s) / norm
            }
        }
    }

    /// The busiest client's share of the requests.
    pub fn busiest(&self, count: u32) -> f64 {
        match self {
            ClientRates::Uniform | ClientRates::Zipf(_) => self.share(0, count),
            ClientRates::Weights(w) => w.iter().copied().fold(0.0, f64::max) / w.iter().sum::<f64>(),
        }
    }
}

/// The most zipf exponent accepted.
pub const MAX_ZIPF: f64 = 10.0;

/// `[clients]`: who sends the requests and over which connections.
#[derive(Debug, Clone, PartialEq)]
pub struct Clients {
    /// Clients; each request belongs to one, drawn from the workload's own stream.
    pub count: u32,
    /// How the requests are shared among them (`weights`, `zipf`; uniform by default).
    pub rates: ClientRates,
    /// Connections each client may hold (its pool).
    pub connections: u32,
    /// HTTP/1.1 or HTTP/2.
    pub protocol: Protocol,
    /// Per request or per connection.
    pub balance: Balance,
    /// Requests after which the server closes the connection (nginx `keepalive_requests`).
    pub max_requests: Option<u32>,
    /// Age after which the server drains the connection (gRPC `MAX_CONNECTION_AGE`): it
    /// sends GOAWAY, the requests in flight finish, new ones go on a new connection, s.
    pub max_age: Option<f64>,
    /// Relative jitter of the age: each connection's age is drawn uniformly in
    /// `max_age × [1 − jitter, 1 + jitter)` (gRPC: 0.1).
    pub age_jitter: f64,
    /// A connection idle this long is closed (gRPC `MAX_CONNECTION_IDLE`, nginx
    /// `keepalive_timeout`), s.
    pub idle_timeout: Option<f64>,
    /// Round trips on the `[network]` legs a new connection costs before its first request
    /// goes (0: none), and the name it was given (`tcp`, `tls`...; `None`: a number).
    pub handshake: (u32, Option<&'static str>),
}

impl Clients {
    /// Whether the strategy chooses per connection.
    pub fn per_connection(&self) -> bool {
        self.balance == Balance::Connection
    }

    /// The setup in a few words, e.g. `20 clients × 1 http2 connection, balanced per
    /// connection, max age 30s ±10%`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} clients × {} {} connection{}, balanced per {}",
            self.count,
            self.connections,
            self.protocol.name(),
            if self.connections == 1 { "" } else { "s" },
            self.balance.name()
        );
        if let Protocol::Http2 { max_streams } = self.protocol
            && max_streams != u32::MAX
        {
            s += &format!(", {max_streams} streams each");
        }
        if let Some(n) = self.max_requests {
            s += &format!(", max {n} requests");
        }
        if let Some(a) = self.max_age {
            s += &format!(", max age {} ±{}%", format_duration(a), self.age_jitter * 100.0);
        }
        if let Some(t) = self.idle_timeout {
            s += &format!(", idle timeout {}", format_duration(t));
        }
        match self.rates {
            ClientRates::Uniform => {}
            ClientRates::Weights(_) => {
                s += &format!(", weighted rates (busiest {:.1}%)", 100.0 * self.rates.busiest(self.count));
            }
            ClientRates::Zipf(e) => {
                s += &format!(", zipf rates exponent {e} (busiest {:.1}%)", 100.0 * self.rates.busiest(self.count));
            }
        }
        match self.handshake {
            (0, _) => {}
            (n, name) => {
                let trips = format!("{n} round trip{}", if n == 1 { "" } else { "s" });
                match name {
                    Some(name) => s += &format!(", {name} handshake ({trips})"),
                    None => s += &format!(", handshake {trips}"),
                }
            }
        }
        s
    }
}

impl Serialize for Clients {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("count", &self.count)?;
        m.serialize_entry("connections", &self.connections)?;
        m.serialize_entry("protocol", self.protocol.name())?;
        if let Protocol::Http2 { max_streams } = self.protocol {
            m.serialize_entry("max_streams", &max_streams)?;
        }
        m.serialize_entry("balance", self.balance.name())?;
        m.serialize_entry("max_requests", &self.max_requests)?;
        m.serialize_entry("max_age_s", &self.max_age)?;
        m.serialize_entry("age_jitter", &self.age_jitter)?;
        m.serialize_entry("idle_timeout_s", &self.idle_timeout)?;
        if self.handshake.0 > 0 {
            m.serialize_entry("handshake", &self.handshake.1)?;
            m.serialize_entry("handshake_round_trips", &self.handshake.0)?;
        }
        match &self.rates {
            ClientRates::Uniform => {}
            ClientRates::Weights(w) => m.serialize_entry("weights", w)?,
            ClientRates::Zipf(e) => m.serialize_entry("zipf", e)?,
        }
        m.end()
    }
}

/// Validates `[clients]`.
pub(super) fn validate_clients(c: &RawClients) -> Result<Clients, ScenarioError> {
    let count = c.count;
    if count == 0 || count > MAX_CLIENTS {
        return Err(ScenarioError::at(
            "clients.count",
            format!("must be from 1 to {MAX_CLIENTS} clients, got {count}"),
        ));
    }
    let connections = c.connections.unwrap_or(1);
    if connections == 0 {
        return Err(ScenarioError::at("clients.connections", "must be at least 1 connection per client")
            .with_help("a client needs a connection to send anything"));
    }
    if u64::from(count) * u64::from(connections) > MAX_CONNECTION_SLOTS {
        return Err(ScenarioError::at(
            "clients.connections",
            format!(
                "{count} clients × {connections} connections is more than {MAX_CONNECTION_SLOTS} connection slots; \
                 use fewer clients or connections"
            ),
        ));
    }
    let protocol = match c.protocol.as_deref().unwrap_or("http1") {
        "http1" => {
            if c.max_streams.is_some() {
                return Err(ScenarioError::at(
                    "clients.max_streams",
                    "`max_streams` applies only to protocol = \"http2\" (HTTP/1.1 carries one request at a time)",
                ));
            }
            Protocol::Http1
        }
        "http2" => {
            let max_streams = c.max_streams.unwrap_or(u32::MAX);
            if max_streams == 0 {
                return Err(ScenarioError::at("clients.max_streams", "must be at least 1 stream per connection"));
            }
            Protocol::Http2 { max_streams }
        }
        other => {
            return Err(ScenarioError::at(
                "clients.protocol",
                format!("unknown protocol `{other}`; allowed: {}", PROTOCOLS.join(", ")),
            )
            .suggest(other, PROTOCOLS.iter().copied()));
        }
    };
    let balance = match c.balance.as_deref().unwrap_or("request") {
        "request" => Balance::Request,
        "connection" => Balance::Connection,
        other => {
            return Err(ScenarioError::at(
                "clients.balance",
                format!("unknown balance `{other}`; allowed: {}", BALANCE.join(", ")),
            )
            .suggest(other, BALANCE.iter().copied()));
        }
    };
    if c.max_requests == Some(0) {
        return Err(ScenarioError::at("clients.max_requests", "must be at least 1 request per connection"));
    }
    let positive = |key: &str, d: Option<crate::duration::Duration>| -> Result<Option<f64>, ScenarioError> {
        match d.map(|d| d.secs()) {
            Some(x) if !(x.is_finite() && x > 0.0) => Err(ScenarioError::at(
                format!("clients.{key}"),
                format!("must be a positive duration, got {}", format_duration(x)),
            )),
            other => Ok(other),
        }
    };
    let max_age = positive("max_age", c.max_age)?;
    let idle_timeout = positive("idle_timeout", c.idle_timeout)?;
    let age_jitter = match (c.age_jitter, max_age) {
        (Some(_), None) => {
            return Err(ScenarioError::at("clients.age_jitter", "`age_jitter` applies only with `max_age`"));
        }
        (Some(j), _) if !(0.0..1.0).contains(&j) => {
            return Err(ScenarioError::at(
                "clients.age_jitter",
                format!("must be a fraction from 0 to below 1 (gRPC: 0.1), got {j}"),
            ));
        }
        (Some(j), _) => j,
        (None, _) => GRPC_AGE_JITTER,
    };
    let handshake = match &c.handshake {
        None => (0, None),
        Some(v) => handshake(v)?,
    };
    let rates = rates(c, count)?;
    Ok(Clients {
        count,
        rates,
        connections,
        protocol,
        balance,
        max_requests: c.max_requests,
        max_age,
        age_jitter,
        idle_timeout,
        handshake,
    })
}

/// `weights` or `zipf`: how the requests are shared among the `count` clients.
fn rates(c: &RawClients, count: u32) -> Result<ClientRates, ScenarioError> {
    match (&c.weights, c.zipf) {
        (Some(_), Some(_)) => Err(ScenarioError::at(
            "clients.zipf",
            "give the clients' rates either as `weights` (one per client) or as `zipf` (an exponent), not both",
        )),
        (Some(w), None) => {
            if w.len() != count as usize {
                return Err(ScenarioError::at(
                    "clients.weights",
                    format!("must have one weight per client: {} given for count = {count}", w.len()),
                )
                .with_help(format!("list {count} weights, or use `zipf = 1.0` for a skew that needs no list")));
            }
            if let Some((i, x)) = w.iter().enumerate().find(|(_, x)| !(x.is_finite() && **x >= 0.0)) {
                return Err(ScenarioError::at(
                    "clients.weights",
                    format!("weights must be finite numbers ≥ 0; weight {} is {x}", i + 1),
                ));
            }
            if w.iter().sum::<f64>() <= 0.0 {
                return Err(ScenarioError::at("clients.weights", "at least one weight must be positive"));
            }
            Ok(ClientRates::Weights(w.clone()))
        }
        (None, Some(e)) if !(e.is_finite() && (0.0..=MAX_ZIPF).contains(&e)) => Err(ScenarioError::at(
            "clients.zipf",
            format!("must be an exponent from 0 (every client alike) to {MAX_ZIPF}, got {e}"),
        )),
        (None, Some(0.0)) => Ok(ClientRates::Uniform),
        (None, Some(e)) => Ok(ClientRates::Zipf(e)),
        (None, None) => Ok(ClientRates::Uniform),
    }
}

/// `handshake`: a name of [`HANDSHAKES`] or a whole number of round trips.
fn handshake(v: &toml::Value) -> Result<(u32, Option<&'static str>), ScenarioError> {
    let names = || HANDSHAKES.iter().map(|(n, _)| *n);
    let allowed = || {
        format!(
            "allowed: {} (TCP and TLS 1.3: 2 round trips), or a number of round trips from 0 to \
             {MAX_HANDSHAKE_ROUND_TRIPS}",
            names().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
        )
    };
    match v {
        toml::Value::String(s) => match HANDSHAKES.iter().find(|(n, _)| n == s) {
            Some(&(name, trips)) => Ok((trips, Some(name))),
            None => Err(ScenarioError::at("clients.handshake", format!("unknown handshake `{s}`; {}", allowed()))
                .suggest(s, names())),
        },
        toml::Value::Integer(n) => match u32::try_from(*n) {
            Ok(n) if n <= MAX_HANDSHAKE_ROUND_TRIPS => Ok((n, None)),
            _ => Err(ScenarioError::at("clients.handshake", format!("{n} round trips is out of range; {}", allowed()))),
        },
        other => Err(ScenarioError::at(
            "clients.handshake",
            format!("must be a name or a whole number of round trips, got {}; {}", other.type_str(), allowed()),
        )),
    }
}

/// What `[clients]` does not combine with (yet): a closed loop has clients of its own, and
/// a `[client]` timeout or retry would have to say what becomes of the connection of an
/// abandoned request.
pub(super) fn check_combination(
    c: &Clients,
    arrivals: &super::Arrivals,
    has_client_policy: bool,
    network: &super::Network,
) -> Result<(), ScenarioError> {
    if c.handshake.0 > 0 && !network.is_some() {
        return Err(ScenarioError::at(
            "clients.handshake",
            "a handshake's round trips are taken on the [network] legs, and the scenario has none",
        )
        .with_help(
            "add [network] with to_server and from_server (a round trip is one of each, e.g. \
             to_server = \"1ms\", from_server = \"1ms\"), or remove `handshake`",
        ));
    }
    if arrivals.closed().is_some() {
        return Err(ScenarioError::at(
            "clients",
            "[clients] describes the clients of an open workload; a closed loop (process = \"closed\") has its own \
             `clients`: remove one of the two",
        ));
    }
    if has_client_policy {
        return Err(ScenarioError::at(
            "clients",
            "[clients] does not combine with [client] timeouts and retries yet (an abandoned request's connection \
             has no model): remove one of the two",
        ));
    }
    Ok(())
}
