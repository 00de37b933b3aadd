//! Precise waits on a busy machine: a coarse sleep, then a busy-wait tail.
//!
//! Tokio's timer wheel has a 1 ms resolution, and a plain `nanosleep` overshoots by the
//! kernel's timer slack (50 µs by default) plus whatever scheduling delay the machine adds.
//! Both would bias a 20 ms service time by a few per cent. Here a waiting thread sleeps until
//! [`spin`](Timer::spin) before its deadline with a 1 ns timer slack (`PR_SET_TIMERSLACK`),
//! then spins on the clock. Optionally (`realtime`) the waiting thread asks for `SCHED_FIFO`
//! so that a busy machine does not preempt it in the tail; that needs root or
//! `CAP_SYS_NICE` and falls back to the normal policy (reported) when refused.
//!
//! Two forms:
//! - [`sleep_until_blocking`]: for a dedicated OS thread (the load generator's dispatcher);
//! - [`Timer`]: one OS thread serving the deadlines of many async tasks (the backends'
//!   requests): a min-heap of deadlines; each due deadline completes a oneshot channel.
//!
//! The caller measures the *overshoot* (wake-up time − deadline) after it resumes, so what
//! is reported includes the async runtime's wake-up delay, not only the timer's.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// Default busy-wait tail before a deadline.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(200);

/// Longest a [`Timer`] thread sleeps with nothing to do before it checks for shutdown.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// Scheduling of the calling thread: what [`tune_thread`] obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadPolicy {
    /// The normal time-sharing policy (with a 1 ns timer slack).
    Normal,
    /// `SCHED_FIFO` was requested and granted.
    Realtime,
    /// `SCHED_FIFO` was requested and refused (no privilege): normal policy.
    RealtimeRefused,
}

impl ThreadPolicy {
    /// A few words for the terminal.
    pub fn describe(self) -> &'static str {
        match self {
            ThreadPolicy::Normal => "normal scheduling",
            ThreadPolicy::Realtime => "SCHED_FIFO",
            ThreadPolicy::RealtimeRefused => "SCHED_FIFO refused (needs root or CAP_SYS_NICE): normal scheduling",
        }
    }
}

/// Sets a 1 ns timer slack on the calling thread and, with `realtime`, asks for
/// `SCHED_FIFO` at a low real-time priority. Linux only; elsewhere nothing changes.
pub fn tune_thread(realtime: bool) -> ThreadPolicy {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_TIMERSLACK) and sched_setscheduler(0, ...) act on the calling
        // thread only and take plain integers / a pointer to a local struct.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
            if realtime {
                let param = libc::sched_param { sched_priority: 10 };
                if libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0 {
                    return ThreadPolicy::Realtime;
                }
                return ThreadPolicy::RealtimeRefused;
            }
        }
    }
    if realtime { ThreadPolicy::RealtimeRefused } else { ThreadPolicy::Normal }
}

/// Puts the calling thread back under the normal time-sharing policy (after
/// [`tune_thread`] with `realtime`).
pub fn untune_thread() {
    #[cfg(target_os = "linux")]
    // SAFETY: sched_setscheduler(0, ...) acts on the calling thread; the parameter is local.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_OTHER, &param);
    }
}

/// Blocks the calling thread until `deadline`: sleeps until `spin` before it, then spins.
/// Returns the time it woke (≥ `deadline`).
pub fn sleep_until_blocking(deadline: Instant, spin: Duration) -> Instant {
    let now = Instant::now();
    if deadline > now + spin {
        std::thread::sleep(deadline - now - spin);
    }
    loop {
        let now = Instant::now();
        if now >= deadline {
            return now;
        }
        std::hint::spin_loop();
    }
}

/// A precise wake-up for one async task on a current-thread runtime: a `timerfd` (exact,
/// no timer slack) registered with the runtime's I/O driver, so that the task waits without
/// blocking the thread and other tasks (responses) are served meanwhile. Tokio's own timer
/// rounds to whole milliseconds. Off Linux it falls back to tokio's timer.
#[derive(Debug)]
pub struct AsyncDeadline {
    #[cfg(target_os = "linux")]
    fd: tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
}

impl AsyncDeadline {
    /// A new timer; must be called inside a tokio runtime with I/O enabled.
    pub fn new() -> std::io::Result<AsyncDeadline> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::FromRawFd;
            // SAFETY: timerfd_create returns a new descriptor we own (or -1).
            let raw = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
            if raw < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: `raw` is a valid descriptor nobody else owns.
            let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) };
            // SAFETY: the `OwnedFd` keeps its descriptor open and unchanged while registered.
            Ok(AsyncDeadline { fd: unsafe { tokio::io::unix::AsyncFd::register(owned)? } })
        }
        #[cfg(not(target_os = "linux"))]
        Ok(AsyncDeadline {})
    }

    /// Completes at `deadline` or a little after (never before).
    pub async fn sleep_until(&self, deadline: Instant) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let now = Instant::now();
            if deadline <= now {
                return;
            }
            let d = deadline - now;
            let spec = libc::itimerspec {
                it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
                it_value: libc::timespec { tv_sec: d.as_secs() as libc::time_t, tv_nsec: d.subsec_nanos() as _ },
            };
            let fd = self.fd.as_raw_fd();
            // SAFETY: a valid timerfd and a local itimerspec; a relative, one-shot setting.
            if unsafe { libc::timerfd_settime(fd, 0, &spec, std::ptr::null_mut()) } != 0 {
                return tokio::time::sleep_until(deadline.into()).await;
            }
            while Instant::now() < deadline {
                let Ok(mut guard) = self.fd.readable().await else {
                    return tokio::time::sleep_until(deadline.into()).await;
                };
                let mut expirations = [0u8; 8];
                // SAFETY: reads at most 8 bytes into a local buffer from our descriptor.
                unsafe { libc::read(fd, expirations.as_mut_ptr().cast(), 8) };
                guard.clear_ready();
            }
        }
        #[cfg(not(target_os = "linux"))]
        tokio::time::sleep_until(deadline.into()).await
    }
}

struct Entry {
    at: Instant,
    seq: u64,
    tx: oneshot::Sender<()>,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    cv: Condvar,
    /// Set when a deadline earlier than the one being spun for arrives.
    earlier: AtomicBool,
    spin: Duration,
}

/// A timer thread completing the deadlines of async tasks precisely (see the module docs).
/// Dropping it stops the thread; pending waits then complete at once.
pub struct Timer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    policy: ThreadPolicy,
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer").field("spin", &self.shared.spin).field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Timer {
    /// Starts the timer thread with a busy-wait tail of `spin`, `SCHED_FIFO` if `realtime`.
    pub fn start(spin: Duration, realtime: bool) -> std::io::Result<Timer> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
            earlier: AtomicBool::new(false),
            spin,
        });
        let (ptx, prx) = std::sync::mpsc::channel();
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("lbsim-timer".into()).spawn(move || {
            let _ = ptx.send(tune_thread(realtime));
            run(&s);
        })?;
        let policy = prx.recv().unwrap_or(ThreadPolicy::Normal);
        Ok(Timer { shared, thread: Some(thread), policy })
    }

    /// The scheduling policy the timer thread obtained.
    pub fn policy(&self) -> ThreadPolicy {
        self.policy
    }

    /// The busy-wait tail.
    pub fn spin(&self) -> Duration {
        self.shared.spin
    }

    /// A future that completes at `deadline` (at once if it has passed or the timer stopped).
    pub fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        {
            let mut st = self.shared.state.lock().expect("timer lock");
            if !st.closed {
                let seq = st.seq;
                st.seq += 1;
                let first = st.heap.peek().is_none_or(|Reverse(e)| deadline < e.at);
                st.heap.push(Reverse(Entry { at: deadline, seq, tx }));
                if first {
                    self.shared.earlier.store(true, Ordering::Release);
                    self.shared.cv.notify_one();
                }
            }
        }
        async move {
            let _ = rx.await;
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Ok(mut st) = self.shared.state.lock() {
            st.closed = true;
        }
        self.shared.cv.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The timer thread: fire what is due, sleep until `spin` before the next deadline, spin.
fn run(s: &Shared) {
    let mut st = s.state.lock().expect("timer lock");
    loop {
        if st.closed {
            st.heap.clear(); // dropping the senders completes every pending wait
            return;
        }
        let Some(Reverse(next)) = st.heap.peek() else {
            st = s.cv.wait_timeout(st, IDLE_WAIT).expect("timer lock").0;
            continue;
        };
        let at = next.at;
        let now = Instant::now();
        if at <= now {
            while st.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
                let Reverse(e) = st.heap.pop().expect("peeked");
                let _ = e.tx.send(());
            }
            continue;
        }
        if at - now > s.spin {
            s.earlier.store(false, Ordering::Release);
            st = s.cv.wait_timeout(st, at - now - s.spin).expect("timer lock").0;
            continue;
        }
        // The tail: spin without the lock, so that tasks can still add deadlines; an
        // earlier one interrupts the spin.
        s.earlier.store(false, Ordering::Release);
        drop(st);
        while Instant::now() < at && !s.earlier.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        st = s.state.lock().expect("timer lock");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_sleep_never_wakes_early() {
        for us in [0u64, 50, 300, 2000] {
            let deadline = Instant::now() + Duration::from_micros(us);
            let woke = sleep_until_blocking(deadline, DEFAULT_SPIN);
            assert!(woke >= deadline);
        }
    }

    #[test]
    fn timer_fires_in_deadline_order_and_never_early() {
        let timer = Timer::start(DEFAULT_SPIN, false).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let base = Instant::now() + Duration::from_millis(5);
            let mut handles = Vec::new();
            // Registered out of order.
            for k in [7u64, 1, 4, 0, 9, 3] {
                let at = base + Duration::from_millis(k);
                let f = timer.sleep_until(at);
                handles.push(tokio::spawn(async move {
                    f.await;
                    let now = Instant::now();
                    assert!(now >= at, "woke before its deadline");
                    (k, now)
                }));
            }
            let mut woke = Vec::new();
            for h in handles {
                woke.push(h.await.unwrap());
            }
            woke.sort_by_key(|&(_, t)| t);
            let order: Vec<u64> = woke.iter().map(|&(k, _)| k).collect();
            assert_eq!(order, vec![0, 1, 3, 4, 7, 9]);
        });
    }

    #[test]
    fn async_deadline_never_wakes_early() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let t = AsyncDeadline::new().unwrap();
            for us in [0u64, 30, 300, 3000] {
                let deadline = Instant::now() + Duration::from_micros(us);
                t.sleep_until(deadline).await;
                assert!(Instant::now() >= deadline);
            }
        });
    }

    #[test]
    fn dropping_the_timer_releases_waiters() {
        let timer = Timer::start(DEFAULT_SPIN, false).unwrap();
        let f = timer.sleep_until(Instant::now() + Duration::from_secs(3600));
        drop(timer);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(f);
    }
}
