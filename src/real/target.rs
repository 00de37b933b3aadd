//! The target of `lbsim load`: a plain-HTTP URL on this machine (unless told otherwise),
//! and the request URIs built from it.

use std::net::IpAddr;

use hyper::Uri;

/// Where requests go: `http://HOST:PORT[/PATH]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    base: String,
}

impl Target {
    /// Parses a target URL. Only plain `http` without a query; the host must be a loopback
    /// address or `localhost` unless `allow_remote`.
    pub fn parse(url: &str, allow_remote: bool) -> std::result::Result<Target, String> {
        let uri: Uri = url.parse().map_err(|e| format!("not a URL ({e}): {url:?}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("only http:// targets are supported, got {url:?}"));
        }
        let Some(auth) = uri.authority() else { return Err(format!("no host in {url:?}")) };
        if uri.query().is_some() {
            return Err(format!("the target must not have a query (lbsim adds ?id=N&d=SECONDS): {url:?}"));
        }
        let host = auth.host().trim_start_matches('[').trim_end_matches(']');
        let loopback =
            host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback && !allow_remote {
            return Err(format!(
                "{host} is not a loopback address: lbsim only loads this machine unless given --allow-remote"
            ));
        }
        let path = uri.path().trim_end_matches('/');
        Ok(Target { base: format!("http://{auth}{path}/") })
    }

    /// The URL requests go to.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The `host:port` of the URL (what the `Host` header carries).
    pub fn authority(&self) -> &str {
        let rest = &self.base["http://".len()..];
        &rest[..rest.find('/').unwrap_or(rest.len())]
    }

    /// The addresses the host resolves to (`localhost`: through the system's resolver).
    pub fn socket_addrs(&self) -> std::io::Result<Vec<std::net::SocketAddr>> {
        use std::net::ToSocketAddrs;
        let auth = self.authority();
        let has_port = auth
            .rsplit_once(':')
            .is_some_and(|(h, p)| p.parse::<u16>().is_ok() && (!h.contains(':') || h.ends_with(']')));
        let with_port = if has_port { auth.to_string() } else { format!("{auth}:80") };
        Ok(with_port.to_socket_addrs()?.collect())
    }

    /// Appends the bytes of an HTTP/1.1 `GET` of `?id=N&d=D` (`?d=D` without an id) to
    /// `out`; with `close`, asks the server to close the connection after it.
    pub fn write_request(&self, id: Option<u64>, demand: f64, close: bool, out: &mut Vec<u8>) {
        use std::io::Write;
        let auth = self.authority();
        let path = &self.base["http://".len() + auth.len()..];
        let _ = match id {
            Some(id) => write!(out, "GET {path}?id={id}&d={demand} HTTP/1.1\r\nHost: {auth}\r\n"),
            None => write!(out, "GET {path}?d={demand} HTTP/1.1\r\nHost: {auth}\r\n"),
        };
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The URI of a request: `?id=N&d=D`, or `?d=D` without an id.
    pub fn request_uri(&self, id: Option<u64>, demand: f64) -> Uri {
        let s = match id {
            Some(id) => format!("{}?id={id}&d={demand}", self.base),
            None => format!("{}?d={demand}", self.base),
        };
        s.parse().expect("a valid target plus a query is a valid URI")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Target::parse("http://127.0.0.1:8080", false).unwrap();
        assert_eq!(t.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(t.request_uri(Some(3), 0.125).to_string(), "http://127.0.0.1:8080/?id=3&d=0.125");
        assert_eq!(t.request_uri(None, 0.0).to_string(), "http://127.0.0.1:8080/?d=0");
        assert!(Target::parse("http://localhost:1/api/", false).is_ok());
        assert!(Target::parse("http://[::1]:9000", false).is_ok());
        assert!(Target::parse("http://10.0.0.1:80", false).unwrap_err().contains("--allow-remote"));
        assert!(Target::parse("http://10.0.0.1:80", true).is_ok());
        assert!(Target::parse("https://127.0.0.1", false).is_err());
        assert!(Target::parse("http://127.0.0.1/?x=1", false).is_err());
        assert!(Target::parse("127.0.0.1:80", false).is_err());
    }

    #[test]
    fn requests_on_the_wire() {
        let t = Target::parse("http://127.0.0.1:8080/api", false).unwrap();
        assert_eq!(t.authority(), "127.0.0.1:8080");
        let mut b = Vec::new();
        t.write_request(Some(3), 0.125, false, &mut b);
        assert_eq!(b, b"GET /api/?id=3&d=0.125 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
        b.clear();
        t.write_request(None, 0.0, true, &mut b);
        assert_eq!(b, b"GET /api/?d=0 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n");
        assert_eq!(t.socket_addrs().unwrap(), vec!["127.0.0.1:8080".parse().unwrap()]);
        let t = Target::parse("http://[::1]", false).unwrap();
        assert_eq!(t.socket_addrs().unwrap(), vec!["[::1]:80".parse().unwrap()]);
    }

    #[test]
    fn demands_round_trip_through_the_url() {
        let t = Target::parse("http://127.0.0.1:1", false).unwrap();
        for d in [0.020_123_456_789_012_34, 1e-9, 3.0, 0.1 + 0.2] {
            let uri = t.request_uri(Some(1), d);
            let (_, back) = super::super::backend::parse_query(uri.query()).unwrap();
            assert_eq!(back, Some(d));
        }
    }
}
