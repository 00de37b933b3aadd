//! What `lbsim validate` prints: a valid scenario's size, load and settings, one line each,
//! and the warnings about it.

use std::path::Path;

use super::Warning;
use crate::analysis::Preflight;
use crate::budget::Usage;
use crate::duration::format_duration as d;
use crate::memory;
use crate::scenario::{FaultTarget, Scenario};
use crate::stats::saturation;
use crate::workload::keys::{KeyPopularity, KeySpace};

/// The whole text `lbsim validate FILE` prints for the valid scenario `sc`, whose run needs
/// `usage` (`budget::check`) and of which `preflight` (`Preflight::with_static_loads`) is
/// known before it runs.
pub fn render(sc: &Scenario, file: &Path, usage: &Usage, preflight: &Preflight) -> String {
    let mut out = String::new();
    let o = &mut out;
    let rho = sc.offered_load();
    let mut line = |label: &str, value: String| {
        // Labels are padded to one column, values wrapped to the terminal table's width
        // and continued under themselves.
        let label = if label.is_empty() { String::new() } else { format!("{label}:") };
        o.push_str(&crate::report::format::hanging(&format!("  {label:<17}"), &value, 19));
    };
    line("servers (S)", format!("{} in {} group(s)", sc.server_count(), sc.groups.len()));
    line("capacity", format!("{:.1} req/s", sc.capacity()));
    line("arrivals", arrivals(sc));
    line("arrival rate", format!("{:.1} req/s mean, peak {:.1}", sc.arrival_rate(), sc.peak_rate()));
    line("offered load ρ", format!("{rho:.3}"));
    line("expected length", format!("{} of simulated time", d(sc.expected_duration())));
    for (label, value) in failures(sc) {
        line(label, value);
    }
    line("service", format!("{} mean {}, cv {:.3}", sc.service.name(), d(sc.service.mean()), sc.service.cv()));
    line("keys", keys(sc));
    line(
        "requests",
        format!(
            "{} (warm-up {}), {} replication(s), seed {}",
            sc.requests,
            if sc.warmup_explicit || !sc.is_stationary() {
                sc.warmup.to_string()
            } else {
                format!("auto: MSER-5, at least {}", sc.warmup)
            },
            sc.replications,
            sc.seed
        ),
    );
    let labels: Vec<&str> = sc.strategies.iter().map(|s| s.label.as_str()).collect();
    line("strategies", labels.join(", "));
    if !sc.balancers.is_default() {
        line("balancers", sc.balancers.describe());
    }
    if sc.network.is_some() {
        let leg = |d: Option<crate::scenario::Delay>| d.map_or("none".to_string(), |d| d.describe());
        line("network", format!("to server {}, back {}", leg(sc.network.to_server), leg(sc.network.from_server)));
    }
    if let Some(c) = &sc.clients {
        line("clients", c.describe());
    }
    for (i, text) in offered_loads(sc, preflight).into_iter().enumerate() {
        line(if i == 0 { "offered ρ" } else { "" }, text);
    }
    line("resources", resources(usage));
    let mut text = format!("{}: valid\n{out}", file.display());
    for w in Warning::of_scenario(sc, preflight) {
        text.push_str(&crate::report::format::labelled("warning", &w.to_string()));
    }
    text
}

/// Per strategy whose split is static (round-robin, weighted and random draws, hashing:
/// `strategy::registry::Split`), each server group's offered load ρ = λ·p/c (a range when
/// it differs within the group), saturated groups marked; hashing by the key hashes of
/// replication 0; with subsets, each instance's share split over its own subset
/// ([`crate::analysis::offered::static_shares`]). Only for workloads that can overload a server (not a closed loop or a
/// trace: `preflight` then has none).
fn offered_loads(sc: &Scenario, preflight: &Preflight) -> Vec<String> {
    let mut out = Vec::new();
    for load in &preflight.static_loads {
        let rho = &load.rho;
        let groups: Vec<String> = sc
            .groups
            .iter()
            .map(|g| {
                let r = &rho[g.first..g.first + g.count];
                let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let value = if format!("{lo:.3}") == format!("{hi:.3}") {
                    format!("{lo:.3}")
                } else {
                    format!("{lo:.3}–{hi:.3}")
                };
                let bounded = sc.servers[g.first..g.first + g.count].iter().all(|s| s.queue_capacity > 0);
                let mark = if saturation::is_saturated(hi) && !bounded { " (saturated)" } else { "" };
                format!("{} {value}{mark}", g.name)
            })
            .collect();
        let subsets = sc.balancers.subset.is_some();
        let rep = match (load.keyed, subsets) {
            (true, false) => " (key hashes of replication 0)",
            (true, true) => " (key hashes of replication 0, each instance over its subset)",
            (false, true) => " (each instance over its subset)",
            (false, false) => "",
        };
        out.push(format!("{}{rep}: {}", load.label, groups.join(", ")));
    }
    out
}

/// The arrival process in a few words.
pub fn arrivals(sc: &Scenario) -> String {
    sc.arrivals.describe()
}

/// The faults, detection and client policy: a label and a line each.
fn failures(sc: &Scenario) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for f in &sc.faults {
        let who = match &f.target {
            FaultTarget::Server(s) => sc.servers[*s].name.clone(),
            FaultTarget::Group { group, count } => {
                format!("{count} random server(s) of group {}", sc.groups[*group].name)
            }
        };
        let until = f.end.map_or(" for good".to_string(), |e| format!(" until {}", d(e)));
        out.push(("fault", format!("{who} {} at {}{until}", f.kind.describe(), d(f.start))));
    }
    if let Some(h) = &sc.health_check {
        out.push((
            "health checks",
            format!(
                "every {}, timeout {}, fall {}, rise {} (a crash is seen after {}–{})",
                d(h.interval),
                d(h.timeout),
                h.fall,
                h.rise,
                d(f64::from(h.fall - 1) * h.interval),
                d(f64::from(h.fall) * h.interval)
            ),
        ));
    } else if !sc.faults.is_empty() {
        out.push(("health checks", "none (no [health_check]: probes never notice a dead server)".to_string()));
    }
    if let Some(o) = &sc.outlier_detection {
        out.push((
            "ejection",
            format!(
                "after {} consecutive errors, {} × ejections (max {}), at most {}% ejected, sweep every {}",
                o.consecutive_errors,
                d(o.base_ejection_time),
                d(o.max_ejection_time),
                o.max_ejection_percent,
                d(o.interval)
            ),
        ));
    }
    if let Some(c) = &sc.client {
        let timeout = c.timeout.map_or("no timeout".to_string(), |t| format!("timeout {}", d(t)));
        let budget = c.retry_budget.map_or(String::new(), |b| format!(", budget {b}% of active requests"));
        out.push((
            "client",
            format!(
                "{timeout}, {} retries, backoff {}..{} (jittered){budget}",
                c.max_retries,
                d(c.backoff),
                d(c.max_backoff)
            ),
        ));
    }
    out
}

/// What a run needs, in a few words: `~25.0 MiB of memory at peak, 4 simulation(s) of ~2.0e6
/// events`, and the timers' events per simulated second when there are any.
pub fn resources(u: &Usage) -> String {
    let t = u.timer_events_per_second;
    let timers = if t > 0.0 {
        let rate = if t < 1e4 { format!("{t:.1}") } else { format!("{t:.1e}") };
        format!(", {rate} of them per simulated second from timers")
    } else {
        String::new()
    };
    format!(
        "~{} of memory at peak, {} simulation(s) of ~{:.1e} events{timers}",
        memory::format_bytes(u.memory),
        u.simulations,
        u.events
    )
}

/// Where request keys come from, in a few words.
fn keys(sc: &Scenario) -> String {
    match (&sc.keys, sc.arrivals.trace()) {
        (Some(k), _) => key_space(k),
        (None, Some(t)) if t.keys.is_some() => {
            format!("the trace's key column ({} distinct)", t.distinct_keys)
        }
        (None, _) => "one per request (no [keys] section)".to_string(),
    }
}

/// A key space, e.g. `100000 keys, zipf exponent 1.1 (hottest key 9.5% of requests)`.
fn key_space(k: &KeySpace) -> String {
    match k.popularity {
        KeyPopularity::Uniform => format!("{} keys, uniform", k.count),
        KeyPopularity::Zipf { exponent } => {
            let hottest = if k.count <= 10_000_000 {
                format!(" (hottest key {:.2}% of requests)", 100.0 * k.probability(0))
            } else {
                String::new()
            };
            format!("{} keys, zipf exponent {exponent}{hottest}", k.count)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"requests = 2000
strategies = ["p2c", "ring-hash"]
[arrivals]
process = "poisson"
rate = 250.0
[service]
distribution = "pareto"
mean = "10ms"
alpha = 1.8
[keys]
count = 1000
distribution = "zipf"
exponent = 1.1
[[servers]]
name = "web"
count = 2
[[faults]]
group = "web"
slow_at = "2s"
slowdown = 3.0
[[faults]]
server = "web-2"
down_at = "30s"
up_at = "40s"
[health_check]
interval = "1s"
"#;

    /// What `lbsim validate` prints for this scenario: its lines, then the same warnings a
    /// run of it shows (one text per warning, [`Warning`]).
    const EXPECTED: &str = r#"v.toml: valid
  servers (S):     2 in 1 group(s)
  capacity:        200.0 req/s
  arrivals:        poisson, 250 req/s
  arrival rate:    250.0 req/s mean, peak 250.0
  offered load ρ:  1.250
  expected length: 8s of simulated time
  fault:           1 random server(s) of group web 3× slower at 2s for good
  fault:           web-2 down at 30s until 40s
  health checks:   every 1s, timeout 1s, fall 3, rise 2 (a crash is seen after 2s–3s)
  service:         pareto mean 10ms, cv inf
  keys:            1000 keys, zipf exponent 1.1 (hottest key 17.94% of requests)
  requests:        2000 (warm-up 200), 1 replication(s), seed 1
  strategies:      p2c, ring-hash
  offered ρ:       ring-hash (key hashes of replication 0): web 1.089–1.411 (saturated)
  resources:       ~25.7 MiB of memory at peak, 2 simulation(s) of ~4.0e3 events, 4.0 of them per simulated second from
                   timers
warning: UNSTABLE: offered load ρ = 1.250 ≥ 1 — the servers cannot keep up, queues grow without bound and response times
         depend on the run length, not on the strategy's steady state
warning: MEAN DOES NOT EXIST: [service] is Pareto with alpha = 1.8 ≤ 2, whose variance is infinite; a request that waits
         meets a residual service time of infinite mean, so the mean wait and mean response time are infinite: the means
         reported are finite-run values that grow with the run and their intervals mean nothing — compare percentiles
         (which exist)
warning: fault 1 starts at 30s but the run is expected to end near 8s: raise `requests` to see it
"#;

    #[test]
    fn describes_the_balancer_setup_when_it_is_not_the_default() {
        let text = format!(
            "{SCENARIO}[balancers]\ncount = 2\nassign = \"runs\"\nrun_length = 13.0\nview = \"local\"\n\
             [network]\nto_server = \"1.7ms\"\n"
        );
        let sc = Scenario::parse(&text, None).unwrap();
        let out =
            render(&sc, Path::new("v.toml"), &crate::budget::estimate(&sc, 2), &Preflight::with_static_loads(&sc));
        assert!(
            out.contains(
                "  balancers:       2 instances (runs of 13 requests on average), local view (each instance's own \
                 outstanding requests)\n  network:         to server 1.7ms, back none\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn renders_every_line_and_warning() {
        let sc = Scenario::parse(SCENARIO, None).unwrap();
        assert_eq!(
            render(&sc, Path::new("v.toml"), &crate::budget::estimate(&sc, 2), &Preflight::with_static_loads(&sc)),
            EXPECTED
        );
    }
}
