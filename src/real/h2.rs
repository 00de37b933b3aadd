//! HTTP/2 cleartext for `lbsim load`: h2c with prior knowledge (RFC 9113 §3.3) — the client
//! opens with the HTTP/2 preface on a plain TCP connection, and every request is a stream
//! of it, several at once (multiplexed) — through hyper's HTTP/2 client.
//!
//! Bounded as the HTTP/1.1 [`client`](super::client) is: the response's header list at
//! most [`PeerLimits::max_header`] bytes (`SETTINGS_MAX_HEADER_LIST_SIZE`), its body counted
//! and discarded up to [`PeerLimits::max_body`]; the caller bounds the time.

use http_body_util::{BodyExt, Empty};
use hyper::Uri;
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::client::{Failure, Marks, PeerLimits, Response};

/// Where a connection's streams are opened (cheap to clone: one per request).
pub type Sender = hyper::client::conn::http2::SendRequest<Empty<Bytes>>;

/// Starts HTTP/2 on `stream`; the connection itself runs on a task of the current runtime
/// and ends when every [`Sender`] of it is dropped and its streams are done.
pub async fn handshake(stream: TcpStream, limits: &PeerLimits) -> Result<Sender, Failure> {
    let mut b = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
    b.max_header_list_size(u32::try_from(limits.max_header).unwrap_or(u32::MAX));
    let (send, conn) = b.handshake(TokioIo::new(stream)).await.map_err(|e| failure_of(&e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// Sends `GET uri` as a new stream and reads the whole response.
pub async fn exchange(send: &mut Sender, uri: Uri, limits: &PeerLimits) -> Result<Response, Failure> {
    let request = hyper::Request::get(uri).body(Empty::new()).map_err(|_| Failure::Malformed)?;
    let response = send.send_request(request).await.map_err(|e| failure_of(&e))?;
    let status = response.status().as_u16();
    let mut marks = Marks::default();
    for (name, value) in response.headers() {
        marks.header(name.as_str(), value.to_str().ok().map(str::trim));
    }
    let mut body = response.into_body();
    let mut seen = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| failure_of(&e))?;
        if let Some(data) = frame.data_ref() {
            seen += data.len() as u64;
            if seen > limits.max_body {
                return Err(Failure::BodyTooLarge);
            }
        }
    }
    Ok(marks.response(status, true))
}

/// The cause of a failed exchange: an I/O error's own, a timeout, a malformed response; a
/// connection that ended first is `Closed`; a stream or connection the peer reset (RST_STREAM,
/// GOAWAY with an error) is `Reset`.
fn failure_of(e: &hyper::Error) -> Failure {
    if e.is_timeout() {
        return Failure::Timeout;
    }
    if e.is_parse() || e.is_parse_status() || e.is_user() {
        return Failure::Malformed;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Failure::of_io(io);
        }
        source = s.source();
    }
    if e.is_closed() || e.is_canceled() || e.is_incomplete_message() { Failure::Closed } else { Failure::Reset }
}
