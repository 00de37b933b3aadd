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

    fn of_connect(e: &std::io::Error) -> Failure {
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
        loop {
            let (head_len, mut response, framing) = loop {
                if let Some(parsed) = parse_head(&self.buf).map_err(|f| (f, false))? {
                    break parsed;
                }
                if self.buf.len() >= limits.max_header {
                    return Err((Failure::HeaderTooLarge, false));
                }
                let nothing = self.buf.is_empty();
                if self.fill(limits.max_header).await.map_err(|f| (f, nothing))? == 0 {
                    return Err((Failure::Closed, nothing));
                }
            };
            self.buf.drain(..head_len);
            if (100..200).contains(&response.status) {
                continue; // an interim response (100 Continue): the real one follows
            }
            match framing {
                Framing::None => {}
                Framing::Length(n) if n > limits.max_body => return Err((Failure::BodyTooLarge, false)),
                Framing::Length(n) => self.skip(n).await.map_err(|f| (f, false))?,
                Framing::Chunked => self.skip_chunked(limits.max_body).await.map_err(|f| (f, false))?,
                Framing::UntilClose => {
                    response.keep_alive = false;
                    let mut seen = self.buf.len() as u64;
                    self.buf.clear();
                    loop {
                        if seen > limits.max_body {
                            return Err((Failure::BodyTooLarge, false));
                        }
                        let n = self.fill(MAX_LINE * 16).await.map_err(|f| (f, false))?;
                        if n == 0 {
                            break;
                        }
                        seen += n as u64;
                        self.buf.clear();
                    }
                }
            }
            if !self.buf.is_empty() {
                // Bytes after the response we never asked for: do not reuse the connection.
                response.keep_alive = false;
            }
            return Ok(response);
        }
    }

    /// Reads more bytes into the buffer, which stays within `cap`; 0 at end of stream.
    async fn fill(&mut self, cap: usize) -> Result<usize, Failure> {
        let want = (cap.saturating_sub(self.buf.len())).clamp(1, READ_CHUNK);
        let n = self.stream.read(&mut self.chunk[..want]).await.map_err(|e| Failure::of_io(&e))?;
        self.buf.extend_from_slice(&self.chunk[..n]);
        Ok(n)
    }

    /// Consumes `n` body bytes (buffered first).
    async fn skip(&mut self, mut n: u64) -> Result<(), Failure> {
        loop {
            let have = (self.buf.len() as u64).min(n);
            self.buf.drain(..have as usize);
            n -= have;
            if n == 0 {
                return Ok(());
            }
            if self.fill((n as usize).min(16 * 1024)).await? == 0 {
                return Err(Failure::Closed);
            }
        }
    }

    /// Reads a CRLF-terminated line (at most [`MAX_LINE`] bytes), without its end.
    async fn line(&mut self) -> Result<Vec<u8>, Failure> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..i].to_vec();
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            if self.buf.len() >= MAX_LINE {
                return Err(Failure::Malformed);
            }
            if self.fill(MAX_LINE).await? == 0 {
                return Err(Failure::Closed);
            }
        }
    }

    /// Consumes a chunked body of at most `max` bytes of data, and its trailers.
    async fn skip_chunked(&mut self, max: u64) -> Result<(), Failure> {
        let mut total = 0u64;
        loop {
            let line = self.line().await?;
            let digits = line.split(|&b| b == b';').next().unwrap_or(&[]);
            let size = std::str::from_utf8(digits)
                .ok()
                .and_then(|s| u64::from_str_radix(s.trim(), 16).ok())
                .ok_or(Failure::Malformed)?;
            if size == 0 {
                // Trailers, up to an empty line; bounded like the headers.
                let mut trailer = 0;
                loop {
                    let l = self.line().await?;
                    if l.is_empty() {
                        return Ok(());
                    }
                    trailer += l.len();
                    if trailer > MAX_LINE * 16 {
                        return Err(Failure::HeaderTooLarge);
                    }
                }
            }
            total = total.saturating_add(size);
            if total > max {
                return Err(Failure::BodyTooLarge);
            }
            self.skip(size).await?;
            if !self.line().await?.is_empty() {
                return Err(Failure::Malformed);
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
}
