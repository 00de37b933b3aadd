//! One backend's connections: the accept loop, each connection's read/idle timers (`Track`,
//! `Tracked`), HTTP/1.1 or h2c by the connection preface, and their expiry.

use super::*;

pub(super) async fn accept_loop(listener: TcpListener, srv: Arc<ServerState>, shared: Arc<Shared>) {
    let mut conns = tokio::task::JoinSet::new();
    let open = Arc::new(Mutex::new(Vec::<Arc<Track>>::new()));
    loop {
        // Reap finished connections so the set only holds open ones.
        while conns.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            // Accept errors (e.g. out of file descriptors) are transient: back off a little.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let track = Arc::new(Track::new(shared.origin));
        {
            let mut list = open.lock().expect("connections lock");
            list.retain(|t| !t.closed.load(Ordering::Relaxed));
            if list.len() >= shared.limits.max {
                // Make room: close the connection idle the longest; refuse if all are busy.
                let victim = list
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.busy.load(Ordering::Relaxed) == 0)
                    .min_by_key(|(_, t)| t.since.load(Ordering::Relaxed))
                    .map(|(i, _)| i);
                let mut counts = srv.counts.lock().expect("counts lock");
                match victim {
                    Some(i) => {
                        let t = list.swap_remove(i);
                        t.closed.store(true, Ordering::Relaxed);
                        t.evict.notify_one();
                        counts.evicted += 1;
                    }
                    None => {
                        counts.refused += 1;
                        drop(stream);
                        continue;
                    }
                }
            }
            list.push(Arc::clone(&track));
        }
        srv.counts.lock().expect("counts lock").connections += 1;
        let _ = stream.set_nodelay(true);
        let (srv, shared) = (Arc::clone(&srv), Arc::clone(&shared));
        conns.spawn(serve_connection(stream, track, srv, shared));
    }
}

/// What the accept loop and the watchdog know of one connection.
#[derive(Debug)]
struct Track {
    origin: Instant,
    /// Requests inside the handler.
    busy: AtomicUsize,
    /// When the connection last became idle (accepted, or a response left), ns from origin.
    since: AtomicU64,
    /// When the first byte of the next request came, ns from origin (0: none yet).
    first_byte: AtomicU64,
    /// Closed, or chosen for eviction.
    closed: AtomicBool,
    evict: tokio::sync::Notify,
}

impl Track {
    fn new(origin: Instant) -> Track {
        let t = Track {
            origin,
            busy: AtomicUsize::new(0),
            since: AtomicU64::new(0),
            first_byte: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            evict: tokio::sync::Notify::new(),
        };
        t.since.store(t.now(), Ordering::Relaxed);
        t
    }

    fn now(&self) -> u64 {
        (self.origin.elapsed().as_nanos() as u64).max(1)
    }

    /// A request entered the handler.
    fn enter(&self) {
        self.busy.fetch_add(1, Ordering::Relaxed);
        self.first_byte.store(0, Ordering::Relaxed);
    }

    /// Its response is ready.
    fn leave(&self) {
        self.since.store(self.now(), Ordering::Relaxed);
        self.busy.fetch_sub(1, Ordering::Relaxed);
    }

    /// Why the watchdog should close the connection now, if it should (`header`: a
    /// request's first bytes start the header timeout; off for HTTP/2, whose control frames
    /// come between requests).
    fn expired(&self, limits: &ConnLimits, header: bool) -> Option<Expiry> {
        if self.busy.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let now = self.now();
        let first = if header { self.first_byte.load(Ordering::Relaxed) } else { 0 };
        match first {
            0 if now.saturating_sub(self.since.load(Ordering::Relaxed)) > limits.idle.as_nanos() as u64 => {
                Some(Expiry::Idle)
            }
            0 => None,
            first if now.saturating_sub(first) > limits.header.as_nanos() as u64 => Some(Expiry::Header),
            _ => None,
        }
    }
}

enum Expiry {
    Idle,
    Header,
}

/// A socket that tells its [`Track`] when request bytes arrive.
struct Tracked {
    stream: tokio::net::TcpStream,
    track: Arc<Track>,
}

impl tokio::io::AsyncRead for Tracked {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before && self.track.first_byte.load(Ordering::Relaxed) == 0 {
            self.track.first_byte.store(self.track.now(), Ordering::Relaxed);
        }
        r
    }
}

impl tokio::io::AsyncWrite for Tracked {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The HTTP/2 connection preface (RFC 9113 §3.4): a client that opens with it speaks h2c
/// with prior knowledge.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the connection opens with the HTTP/2 preface (`None`: it closed or failed first).
/// Peeks, so the bytes stay for the protocol's parser; the caller bounds the time.
async fn opens_with_h2_preface(stream: &tokio::net::TcpStream) -> Option<bool> {
    let mut buf = [0u8; H2_PREFACE.len()];
    loop {
        let n = stream.peek(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        if buf[..n] != H2_PREFACE[..n] {
            return Some(false);
        }
        if n == H2_PREFACE.len() {
            return Some(true);
        }
        // A partial preface (rare: it is 24 bytes): the peek would return the same bytes.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Serves one connection until the client closes it, it is evicted, or it stays idle or
/// keeps a header incomplete too long (checked a few times per timeout). HTTP/1.1 or h2c,
/// told apart by the first bytes.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    track: Arc<Track>,
    srv: Arc<ServerState>,
    shared: Arc<Shared>,
) {
    let limits = shared.limits;
    let h2 = tokio::select! {
        p = opens_with_h2_preface(&stream) => p,
        _ = track.evict.notified() => None,
        _ = tokio::time::sleep(limits.idle) => {
            srv.counts.lock().expect("counts lock").idle_timeouts += 1;
            None
        }
    };
    let Some(h2) = h2 else {
        track.closed.store(true, Ordering::Relaxed);
        return;
    };
    let io = TokioIo::new(Tracked { stream, track: Arc::clone(&track) });
    let service = {
        let (srv, shared, track) = (Arc::clone(&srv), Arc::clone(&shared), Arc::clone(&track));
        hyper::service::service_fn(move |req| {
            let (srv, shared, track) = (Arc::clone(&srv), Arc::clone(&shared), Arc::clone(&track));
            async move {
                track.enter();
                let r = handle(req, srv, shared).await;
                track.leave();
                r
            }
        })
    };
    if h2 {
        srv.counts.lock().expect("counts lock").h2c += 1;
        let conn = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
            .max_concurrent_streams(None)
            .serve_connection(io, service);
        // Control frames (SETTINGS, WINDOW_UPDATE, PING) come between requests: only idleness
        // is watched.
        watch(conn, &track, &srv, &limits, false).await;
    } else {
        let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
        watch(conn, &track, &srv, &limits, true).await;
    }
    track.closed.store(true, Ordering::Relaxed);
}

/// Drives `conn` until it ends, is evicted or expires (`header`: the header timeout applies).
async fn watch<F: std::future::Future>(conn: F, track: &Track, srv: &ServerState, limits: &ConnLimits, header: bool) {
    tokio::pin!(conn);
    let check = (limits.header.min(limits.idle) / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = &mut conn => break,
            _ = track.evict.notified() => break,
            _ = tokio::time::sleep(check) => match track.expired(limits, header) {
                Some(Expiry::Idle) => {
                    srv.counts.lock().expect("counts lock").idle_timeouts += 1;
                    break;
                }
                Some(Expiry::Header) => {
                    srv.counts.lock().expect("counts lock").header_timeouts += 1;
                    break;
                }
                None => {}
            },
        }
    }
}
