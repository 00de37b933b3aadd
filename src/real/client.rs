//! The load generator's HTTP/1.1 client: one keep-alive connection, one request at a time
//! (no pipelining), every peer-controlled size bounded.
//!
//! A response is read into a buffer of at most [`PeerLimits::max_header`] bytes for its
//! status line and headers; its body (`Content-Length`, chunked, or until close) is counted
//! and discarded, never stored, and fails the request beyond [`PeerLimits::max_body`]. The
//! caller bounds the time ([`PeerLimits::timeout`]). So a connection holds at most
//! `max_header` bytes whatever the peer sends, and `load`'s memory is bounded by the number
//! of connections times that. Every way a request can fail has its [`Failure`] cause.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::headers;
use super::record::BackendView;

/// Default bound on a response's status line and headers.
pub const DEFAULT_MAX_HEADER: usize = 64 * 1024;

/// Default bound on a response body.
pub const DEFAULT_MAX_BODY: u64 = 1 << 20;

/// Headers parsed per response at most (more: [`Failure::HeaderTooLarge`]).
const MAX_HEADERS: usize = 64;

/// Bytes read at once at most.
const READ_CHUNK: usize = 16 * 1024;

/// Longest chunk-size or trailer line of a chunked body.
const MAX_LINE: usize = 1024;

/// Bounds on what a target may send back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerLimits {
    /// Status line and headers, bytes.
    pub max_header: usize,
    /// Body, bytes (counted and discarded).
    pub max_body: u64,
    /// Time from the scheduled send to the last byte of the response.
    pub timeout: Duration,
}

/// Why a request failed: the causes `measurement.json` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Failure {
    /// The target refused the connection.
    Refused,
    /// No local port left to connect from (`EADDRNOTAVAIL`): too many connections.
    EphemeralPorts,
    /// Another error while connecting.
    Connect,
    /// The connection was reset.
    Reset,
    /// The connection closed before the response was complete.
    Closed,
    /// No complete response within the timeout.
    Timeout,
    /// The status line and headers exceed `max_header` (or more than 64 headers).
    HeaderTooLarge,
    /// The body exceeds `max_body`.
    BodyTooLarge,
    /// Not an HTTP/1.x response.
    Malformed,
    /// A 4xx response.
    Status4xx,
    /// A 5xx response (other than a backend's full-queue 503).
    Status5xx,
    /// Any other non-2xx status.
    StatusOther,
    /// Too many requests already open: not sent.
    Overloaded,
}

impl Failure {
    /// Every cause, in report order.
    pub const ALL: [Failure; 13] = [
        Failure::Refused,
        Failure::EphemeralPorts,
        Failure::Connect,
        Failure::Reset,
        Failure::Closed,
        Failure::Timeout,
        Failure::HeaderTooLarge,
        Failure::BodyTooLarge,
        Failure::Malformed,
        Failure::Status4xx,
        Failure::Status5xx,
        Failure::StatusOther,
        Failure::Overloaded,
    ];

    /// Its key in `measurement.json`.
    pub fn key(self) -> &'static str {
        match self {
            Failure::Refused => "connect_refused",
            Failure::EphemeralPorts => "ephemeral_ports",
            Failure::Connect => "connect_error",
            Failure::Reset => "reset",
            Failure::Closed => "closed_early",
            Failure::Timeout => "timeout",
            Failure::HeaderTooLarge => "header_too_large",
            Failure::BodyTooLarge => "body_too_large",
            Failure::Malformed => "malformed_response",
            Failure::Status4xx => "status_4xx",
            Failure::Status5xx => "status_5xx",
            Failure::StatusOther => "status_other",
            Failure::Overloaded => "too_many_open",
        }
    }

    pub(crate) fn of_connect(e: &std::io::Error) -> Failure {
        match e.raw_os_error() {
            #[cfg(unix)]
            Some(libc::EADDRNOTAVAIL) => Failure::EphemeralPorts,
            _ if e.kind() == std::io::ErrorKind::ConnectionRefused => Failure::Refused,
            _ => Failure::Connect,
        }
    }

    /// The cause of an I/O error on an open connection.
    pub fn of_io(e: &std::io::Error) -> Failure {
        use std::io::ErrorKind::*;
        match e.kind() {
            ConnectionReset | ConnectionAborted | BrokenPipe => Failure::Reset,
            UnexpectedEof => Failure::Closed,
            _ => Failure::Reset,
        }
    }
}

/// A response as far as `load` needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `x-lbsim-server`.
    pub server: Option<String>,
    /// `x-lbsim-dropped` is set.
    pub dropped: bool,
    /// Every `x-lbsim-*` figure, when all are there.
    pub backend: Option<BackendView>,
    /// The connection may carry another request.
    pub keep_alive: bool,
    /// `x-worker`: the balancer instance (worker, process, thread) that carried it, where
    /// the balancer says (nginx `add_header X-Worker $pid always`).
    pub worker: Option<String>,
}

/// One connection to the target.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Where reads land before `buf` takes what came: zeroed once, not at every read.
    chunk: Box<[u8]>,
    /// Requests it carried.
    pub used: u64,
}

/// How the body of a response is delimited.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Where a [`Reading`] is in the response.
#[derive(Debug)]
enum Stage {
    /// The status line and headers (an interim 1xx response starts them again).
    Head,
    /// `n` more body bytes (`Content-Length`).
    Body(u64),
    /// A chunk-size line; `total` data bytes so far.
    ChunkSize { total: u64 },
    /// `left` more bytes of a chunk's data, then its CRLF.
    ChunkData { left: u64, total: u64 },
    /// The empty line after a chunk's data.
    ChunkEnd { total: u64 },
    /// Trailer lines up to an empty one; `seen` bytes of them so far.
    Trailers { seen: usize },
    /// The body runs to the end of the stream; `seen` bytes so far.
    UntilClose { seen: u64 },
}

/// What [`Reading::advance`] needs next.
#[derive(Debug)]
pub enum Progress {
    /// The whole response.
    Done(Response),
    /// More bytes: read at most until the buffer holds `cap` bytes.
    More(usize),
}

/// One response being read: a state machine over the bytes received and not yet consumed,
/// so that a blocking-style reader ([`Conn::exchange`]) and an event loop (the senders'
/// pool) read responses the same way. Body bytes are consumed as they come, never kept.
#[derive(Debug)]
pub struct Reading {
    stage: Stage,
    response: Option<Response>,
}

impl Default for Reading {
    fn default() -> Self {
        Reading { stage: Stage::Head, response: None }
    }
}

impl Reading {
    /// Consumes what it can of `buf`; `eof`: the peer closed the stream after those bytes.
    pub fn advance(&mut self, buf: &mut Vec<u8>, limits: &PeerLimits, eof: bool) -> Result<Progress, Failure> {
        loop {
            match self.stage {
                Stage::Head => {
                    let Some((head_len, response, framing)) = parse_head(buf)? else {
                        if buf.len() >= limits.max_header {
                            return Err(Failure::HeaderTooLarge);
                        }
                        return if eof { Err(Failure::Closed) } else { Ok(Progress::More(limits.max_header)) };
                    };
                    buf.drain(..head_len);
                    if (100..200).contains(&response.status) {
                        continue; // an interim response (100 Continue): the real one follows
                    }
                    self.stage = match framing {
                        Framing::None => return Ok(Progress::Done(finish(response, buf))),
                        Framing::Length(n) if n > limits.max_body => return Err(Failure::BodyTooLarge),
                        Framing::Length(n) => Stage::Body(n),
                        Framing::Chunked => Stage::ChunkSize { total: 0 },
                        Framing::UntilClose => Stage::UntilClose { seen: 0 },
                    };
                    self.response = Some(response);
                }
                Stage::Body(n) => {
                    let have = (buf.len() as u64).min(n);
                    buf.drain(..have as usize);
                    if have == n {
                        return Ok(Progress::Done(self.take(buf)));
                    }
                    self.stage = Stage::Body(n - have);
                    return if eof {
                        Err(Failure::Closed)
                    } else {
                        Ok(Progress::More(((n - have) as usize).min(READ_CHUNK)))
                    };
                }
                Stage::ChunkSize { total } => {
                    let Some(line) = line(buf, eof)? else { return Ok(Progress::More(MAX_LINE)) };
                    let digits = line.split(|&b| b == b';').next().unwrap_or(&[]);
                    let size = std::str::from_utf8(digits)
                        .ok()
                        .and_then(|s| u64::from_str_radix(s.trim(), 16).ok())
                        .ok_or(Failure::Malformed)?;
                    if size == 0 {
                        self.stage = Stage::Trailers { seen: 0 };
                        continue;
                    }
                    let total = total.saturating_add(size);
                    if total > limits.max_body {
                        return Err(Failure::BodyTooLarge);
                    }
                    self.stage = Stage::ChunkData { left: size, total };
                }
                Stage::ChunkData { left, total } => {
                    let have = (buf.len() as u64).min(left);
                    buf.drain(..have as usize);
                    if have < left {
                        self.stage = Stage::ChunkData { left: left - have, total };
                        return if eof {
                            Err(Failure::Closed)
                        } else {
                            Ok(Progress::More(((left - have) as usize).min(READ_CHUNK)))
                        };
                    }
                    self.stage = Stage::ChunkEnd { total };
                }
                Stage::ChunkEnd { total } => {
                    let Some(line) = line(buf, eof)? else { return Ok(Progress::More(MAX_LINE)) };
                    if !line.is_empty() {
                        return Err(Failure::Malformed);
                    }
                    self.stage = Stage::ChunkSize { total };
                }
                Stage::Trailers { seen } => {
                    // Bounded like the headers.
                    let Some(line) = line(buf, eof)? else { return Ok(Progress::More(MAX_LINE)) };
                    if line.is_empty() {
                        return Ok(Progress::Done(self.take(buf)));
                    }
                    let seen = seen + line.len();
                    if seen > MAX_LINE * 16 {
                        return Err(Failure::HeaderTooLarge);
                    }
                    self.stage = Stage::Trailers { seen };
                }
                Stage::UntilClose { seen } => {
                    let seen = seen + buf.len() as u64;
                    buf.clear();
                    if seen > limits.max_body {
                        return Err(Failure::BodyTooLarge);
                    }
                    if eof {
                        let mut r = self.take(buf);
                        r.keep_alive = false;
                        return Ok(Progress::Done(r));
                    }
                    self.stage = Stage::UntilClose { seen };
                    return Ok(Progress::More(MAX_LINE * 16));
                }
            }
        }
    }

    fn take(&mut self, buf: &[u8]) -> Response {
        self.stage = Stage::Head;
        finish(self.response.take().expect("a head was read"), buf)
    }
}

/// The response, not to be reused when bytes we never asked for follow it.
fn finish(mut response: Response, rest: &[u8]) -> Response {
    if !rest.is_empty() {
        response.keep_alive = false;
    }
    response
}

/// A CRLF-terminated line (at most [`MAX_LINE`] bytes) at the start of `buf`, consumed and
/// returned without its end; `None` while incomplete.
fn line(buf: &mut Vec<u8>, eof: bool) -> Result<Option<Vec<u8>>, Failure> {
    if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
        let line = buf[..i].to_vec();
        buf.drain(..i + 2);
        return Ok(Some(line));
    }
    if buf.len() >= MAX_LINE {
        return Err(Failure::Malformed);
    }
    if eof { Err(Failure::Closed) } else { Ok(None) }
}

/// Bytes to read next for a buffer holding `have` of at most `cap` (at least 1).
pub fn read_size(cap: usize, have: usize) -> usize {
    cap.saturating_sub(have).clamp(1, READ_CHUNK)
}

impl Conn {
    /// Opens a connection (`TCP_NODELAY`).
    pub async fn connect(addr: SocketAddr) -> Result<Conn, Failure> {
        let stream = TcpStream::connect(addr).await.map_err(|e| Failure::of_connect(&e))?;
        let _ = stream.set_nodelay(true);
        Ok(Conn { stream, buf: Vec::with_capacity(1024), chunk: vec![0; READ_CHUNK].into_boxed_slice(), used: 0 })
    }

    /// The socket, for another protocol (HTTP/2) over the same connection.
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// Writes `request` and reads the whole response. After an error the connection must
    /// be dropped; after a response without `keep_alive` too. `Err((failure, nothing))`:
    /// `nothing` is true when not a byte of response arrived (a reused connection the peer
    /// had closed: the request may be sent again on a fresh one).
    pub async fn exchange(&mut self, request: &[u8], limits: &PeerLimits) -> Result<Response, (Failure, bool)> {
        self.used += 1;
        self.stream.write_all(request).await.map_err(|e| (Failure::of_io(&e), true))?;
        self.buf.clear();
        let mut reading = Reading::default();
        let (mut eof, mut nothing) = (false, true);
        loop {
            match reading.advance(&mut self.buf, limits, eof).map_err(|f| (f, nothing))? {
                Progress::Done(r) => return Ok(r),
                Progress::More(cap) => {
                    let want = read_size(cap, self.buf.len());
                    let n =
                        self.stream.read(&mut self.chunk[..want]).await.map_err(|e| (Failure::of_io(&e), nothing))?;
                    self.buf.extend_from_slice(&self.chunk[..n]);
                    nothing &= n == 0;
                    eof = n == 0;
                }
            }
        }
    }
}

/// Parses a complete status line and headers at the start of `buf`: its length, the
/// response and how its body is delimited; `None` while incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Response, Framing)>, Failure> {
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut r = httparse::Response::new(&mut hs);
    let len = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Failure::HeaderTooLarge),
        Err(_) => return Err(Failure::Malformed),
    };
    let status = r.code.ok_or(Failure::Malformed)?;
    let mut keep_alive = r.version == Some(1);
    let (mut length, mut chunked) = (None, false);
    let mut marks = Marks::default();
    for h in r.headers.iter() {
        let value = std::str::from_utf8(h.value).ok().map(str::trim);
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = value.and_then(|v| v.parse::<u64>().ok()).ok_or(Failure::Malformed)?;
            if length.is_some_and(|l| l != n) {
                return Err(Failure::Malformed);
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked =
                value.is_some_and(|v| v.rsplit(',').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked")));
            if !chunked {
                return Err(Failure::Malformed); // an encoding we cannot delimit
            }
        } else if name.eq_ignore_ascii_case("connection") {
            let v = value.unwrap_or("");
            if v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")) {
                keep_alive = false;
            } else if v.split(',').any(|t| t.trim().eq_ignore_ascii_case("keep-alive")) {
                keep_alive = true;
            }
        } else {
            marks.header(name, value);
        }
    }
    let framing = if status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::None
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        if n == 0 { Framing::None } else { Framing::Length(n) }
    } else {
        Framing::UntilClose
    };
    Ok(Some((len, marks.response(status, keep_alive), framing)))
}

/// What the `x-lbsim-*` headers of a response say, gathered header by header (HTTP/1.1 and
/// HTTP/2 alike).
#[derive(Debug, Default)]
pub struct Marks {
    server: Option<String>,
    dropped: bool,
    wait: Option<f64>,
    service: Option<f64>,
    in_system: Option<u32>,
    overshoot: Option<f64>,
    worker: Option<String>,
}

impl Marks {
    /// Notes header `name` (any case) with its trimmed `value`, if it is one of lbsim's.
    pub fn header(&mut self, name: &str, value: Option<&str>) {
        let num = || value.and_then(|v| v.parse::<f64>().ok()).filter(|x| x.is_finite());
        if name.eq_ignore_ascii_case(headers::SERVER) {
            self.server = value.map(str::to_string);
        } else if name.eq_ignore_ascii_case(headers::DROPPED) {
            self.dropped = true;
        } else if name.eq_ignore_ascii_case(headers::WAIT) {
            self.wait = num();
        } else if name.eq_ignore_ascii_case(headers::SERVICE) {
            self.service = num();
        } else if name.eq_ignore_ascii_case(headers::IN_SYSTEM) {
            self.in_system = value.and_then(|v| v.parse::<u32>().ok());
        } else if name.eq_ignore_ascii_case(headers::OVERSHOOT) {
            self.overshoot = num();
        } else if name.eq_ignore_ascii_case(headers::WORKER) {
            self.worker = value.map(str::to_string);
        }
    }

    /// The response with status `status`.
    pub fn response(self, status: u16, keep_alive: bool) -> Response {
        let backend = match (self.wait, self.service, self.in_system, self.overshoot) {
            (Some(wait), Some(service), Some(in_system), Some(overshoot)) => {
                Some(BackendView { wait, service, in_system, overshoot })
            }
            _ => None,
        };
        Response { status, server: self.server, dropped: self.dropped, backend, keep_alive, worker: self.worker }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_parsed_and_framed() {
        let (n, r, f) = parse_head(b"HTTP/1.1 204 No Content\r\nServer: nginx\r\n\r\nrest").unwrap().unwrap();
        assert_eq!(n, 42);
        assert_eq!(r.status, 204);
        assert!(r.keep_alive && r.backend.is_none());
        assert!(matches!(f, Framing::None));
        let text = b"HTTP/1.1 200 OK\r\nx-lbsim-server: a\r\nx-lbsim-wait: 0.5\r\nx-lbsim-service: 0.25\r\n\
            x-lbsim-in-system: 3\r\nx-lbsim-overshoot: 1e-5\r\ncontent-length: 0\r\n\r\n";
        let (_, r, f) = parse_head(text).unwrap().unwrap();
        assert_eq!(r.server.as_deref(), Some("a"));
        assert_eq!(r.backend, Some(BackendView { wait: 0.5, service: 0.25, in_system: 3, overshoot: 1e-5 }));
        assert!(matches!(f, Framing::None));
        let (_, r, f) = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert!(!r.keep_alive && matches!(f, Framing::UntilClose));
        let (_, r, f) =
            parse_head(b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap().unwrap();
        assert!(!r.keep_alive && matches!(f, Framing::Chunked));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-").unwrap().is_none());
        assert_eq!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").err(), Some(Failure::Malformed));
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").err(),
            Some(Failure::Malformed)
        );
        let many: String = (0..100).map(|i| format!("h{i}: x\r\n")).collect();
        let text = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
        assert_eq!(parse_head(text.as_bytes()).err(), Some(Failure::HeaderTooLarge));
    }

    /// Feeds `text` to a [`Reading`] `step` bytes at a time (then the end of the stream when
    /// `eof`): the response, and the bytes left after it.
    fn read_in_steps(text: &[u8], step: usize, eof: bool) -> (Result<Response, Failure>, Vec<u8>) {
        let limits = PeerLimits { max_header: 1024, max_body: 64, timeout: Duration::from_secs(1) };
        let (mut reading, mut buf) = (Reading::default(), Vec::new());
        let mut chunks = text.chunks(step);
        loop {
            let end = match chunks.next() {
                Some(c) => {
                    buf.extend_from_slice(c);
                    false
                }
                None if eof => true,
                None => return (Err(Failure::Timeout), buf),
            };
            match reading.advance(&mut buf, &limits, end) {
                Ok(Progress::Done(r)) => return (Ok(r), buf),
                Ok(Progress::More(cap)) => assert!(cap > 0),
                Err(f) => return (Err(f), buf),
            }
        }
    }

    #[test]
    fn responses_are_read_whatever_the_split() {
        let chunked = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            5;x=1\r\nhello\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n";
        for step in [1, 2, 7, 1000] {
            let (r, rest) = read_in_steps(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody", step, false);
            assert!(r.unwrap().keep_alive && rest.is_empty());
            let (r, _) = read_in_steps(chunked, step, false);
            assert_eq!(r.unwrap().status, 200);
            let (r, _) = read_in_steps(b"HTTP/1.0 200 OK\r\n\r\nuntil the end", step, true);
            assert!(!r.unwrap().keep_alive);
            // Failures: too long a body, a cut response, a bad chunk end.
            let (r, _) = read_in_steps(b"HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", step, false);
            assert_eq!(r.err(), Some(Failure::BodyTooLarge));
            let (r, _) = read_in_steps(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nbody", step, true);
            assert_eq!(r.err(), Some(Failure::Closed));
            let (r, _) = read_in_steps(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n",
                step,
                false,
            );
            assert_eq!(r.err(), Some(Failure::Malformed));
            let big: Vec<u8> = [&b"HTTP/1.0 200 OK\r\n\r\n"[..], &[b'x'; 100]].concat();
            assert_eq!(read_in_steps(&big, step, true).0.err(), Some(Failure::BodyTooLarge));
        }
        // Bytes after a whole response: the connection is not reused.
        let (r, rest) = read_in_steps(b"HTTP/1.1 204 No Content\r\n\r\nextra", 1000, false);
        assert!(!r.unwrap().keep_alive && rest == b"extra");
    }
}
