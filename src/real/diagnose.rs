//! What limited a measurement whose sends were late: the answer `measurement.json` gives in
//! `limited_by`, from the causes the senders recorded for every late send, the failures and
//! the sender threads' CPU accounting.

use super::client::Failure;
use super::measurement::{Connections, SenderStats};
use super::record::{LateCause, Recorder};

/// Busy share of the sender threads above which they count as CPU-bound, %.
const CPU_BOUND_PERCENT: f64 = 90.0;

/// What [`limited_by`] looks at.
#[derive(Debug)]
pub struct Limited<'a> {
    /// The measured pass.
    pub recorder: &'a Recorder,
    /// Its sender threads.
    pub sender: &'a SenderStats,
    /// Its connections.
    pub connections: &'a Connections,
    /// `SCHED_FIFO` was asked for.
    pub realtime: bool,
}

/// One sentence: the main reason sends were late, with its evidence and what to try.
pub fn limited_by(x: &Limited<'_>) -> String {
    let r = x.recorder;
    let late = |c: LateCause| r.late[c as usize];
    let ports = r.failures[Failure::ALL.iter().position(|&f| f == Failure::EphemeralPorts).expect("listed")];
    if ports > 0 {
        return format!(
            "ephemeral ports: {ports} connections found no free local port (sockets in TIME_WAIT; keep connections \
             alive or cap them with --connections)"
        );
    }
    let (pool, connect, sender) = (late(LateCause::Pool), late(LateCause::Connect), late(LateCause::Sender));
    if pool > 0 && pool >= connect && pool >= sender {
        let cap = x.connections.max.map_or("every".to_string(), |m| format!("all {m}"));
        return format!(
            "the connection pool: {pool} late sends waited for a free connection ({cap} busy; raise --connections)"
        );
    }
    if connect > 0 && connect >= sender {
        let p99 = x.connections.connect.map_or(String::new(), |c| format!(", connect p99 {:.3} ms", c.p99_ms));
        return format!("the target's accepts: {connect} late sends waited for a new connection{p99}");
    }
    let s = x.sender;
    if s.busy_percent >= CPU_BOUND_PERCENT {
        return format!(
            "sender CPU: the {} sender thread(s) were busy {:.0}% of the time (add --senders, or fewer requests per second)",
            s.threads, s.busy_percent
        );
    }
    if s.policy == super::timer::ThreadPolicy::Realtime.describe() {
        return format!(
            "sender wake-ups: under SCHED_FIFO, {:.0}% busy and preempted {} times, the sender still woke late \
             (interrupts or other real-time work on the machine)",
            s.busy_percent, s.involuntary_switches
        );
    }
    let hint = if x.realtime { "SCHED_FIFO was refused: run as root" } else { "try --realtime" };
    format!(
        "sender preemption: the sender thread(s), {:.0}% busy, were preempted {} times (the machine is busy; {hint})",
        s.busy_percent, s.involuntary_switches
    )
}
