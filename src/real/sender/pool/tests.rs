//! The pool's event loop against small targets on loopback.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::super::{Job, Plan, Stop};
use super::run;
use crate::real::client::{Failure, PeerLimits};
use crate::real::record::Recorder;
use crate::real::target::Target;
use crate::stats::KeyCounter;

/// A target answering `204` to every request, closing each connection after `per`
/// responses without a word (as a server's idle timeout would, racing the next request).
fn target(per: usize) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { return };
            std::thread::spawn(move || {
                let (mut r, mut w) = (BufReader::new(s.try_clone().unwrap()), s);
                let mut line = String::new();
                for _ in 0..per {
                    // One request: its lines up to the empty one (no body).
                    while line != "\r\n" {
                        line.clear();
                        if r.read_line(&mut line).map_or(true, |n| n == 0) {
                            return;
                        }
                    }
                    line.clear();
                    if w.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A loopback address nothing listens on.
fn closed() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Sends `n` requests 1 ms apart to `addrs` (the first that accepts): the recorder and the
/// connections opened.
fn send(addrs: Vec<SocketAddr>, n: u64) -> (Recorder, u64) {
    let url = format!("http://{}", addrs[addrs.len() - 1]);
    let rec = Arc::new(Mutex::new(Recorder::new(&["b".into()], 0, 0.0, n as f64 * 1e-3, KeyCounter::new(None))));
    let plan = Plan {
        target: Target::parse(&url, false).unwrap(),
        addrs,
        limits: PeerLimits { max_header: 4096, max_body: 4096, timeout: Duration::from_secs(5) },
        spin: Duration::from_micros(50),
        realtime: false,
        keep_alive: true,
        clients: None,
        connections: 8,
        initial: 2,
        lead: Duration::from_millis(10),
        deadline: Instant::now() + Duration::from_secs(30),
        hard_after: None,
        senders: 1,
        ready: AtomicUsize::new(0),
        start: OnceLock::new(),
        timeout: Duration::from_secs(5),
        rec: Arc::clone(&rec),
        stop: Arc::new(Stop::default()),
        outstanding: AtomicU64::new(0),
        bar: indicatif::ProgressBar::hidden(),
    };
    let jobs = (0..n).map(|id| Job { id, client: 0, key: 0, arrival: id as f64 * 1e-3, demand: Some(0.0) });
    let (why, _, _, end) = run(&plan, jobs);
    assert_eq!(why, None);
    let rec = rec.lock().unwrap().clone();
    (rec, end.opened)
}

fn failed(r: &Recorder, f: Failure) -> u64 {
    r.failures[Failure::ALL.iter().position(|&g| g == f).unwrap()]
}

#[test]
fn every_request_completes_on_reused_connections() {
    let (r, opened) = send(vec![target(usize::MAX)], 200);
    assert_eq!(r.responses().count(), 200);
    assert_eq!(r.failures.iter().sum::<u64>(), 0);
    assert!((1..=8).contains(&opened), "{opened}");
    assert_eq!(r.lateness.count(), 200);
}

#[test]
fn connections_the_target_drops_are_replaced_and_lose_no_request() {
    // Every connection carries 3 requests, then the target closes it silently.
    let (r, opened) = send(vec![target(3)], 60);
    assert_eq!(r.responses().count(), 60, "failures {:?}", r.failures);
    assert!(opened >= 20, "{opened}");
}

#[test]
fn the_first_address_that_accepts_is_used_and_a_refusing_target_fails_each_request() {
    let (r, opened) = send(vec![closed(), target(usize::MAX)], 50);
    assert_eq!(r.responses().count(), 50);
    assert!(opened >= 1);
    let (r, opened) = send(vec![closed()], 20);
    assert_eq!((r.responses().count(), opened), (0, 0));
    assert_eq!(failed(&r, Failure::Refused), 20, "{:?}", r.failures);
}
