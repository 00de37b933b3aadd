//! The operating system side of the pool's event loop ([`super::pool`]): `epoll` with
//! nanosecond timeouts and non-blocking connects (Linux).

use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::real::client::Failure;

/// Events taken per wait at most.
const EVENTS: usize = 256;

/// `epoll` with nanosecond timeouts (`epoll_pwait2`; `epoll_wait` in whole milliseconds
/// where the kernel lacks it, the callers then polling out the rest).
pub(super) struct Poller {
    fd: OwnedFd,
    pub(super) events: Vec<libc::epoll_event>,
    pwait2: bool,
}

impl Poller {
    pub(super) fn new() -> std::io::Result<Poller> {
        // SAFETY: epoll_create1 returns a new descriptor we own, or -1.
        let raw = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a valid descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Poller { fd, events: vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS], pwait2: true })
    }

    /// Watches `fd` (edge-triggered, in and out), its events tagged `data`.
    pub(super) fn add(&self, fd: i32, data: u64) -> std::io::Result<()> {
        let flags = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
        let mut ev = libc::epoll_event { events: flags as u32, u64: data };
        // SAFETY: both descriptors are open; `ev` is a local the kernel copies.
        if unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits at most `timeout` for events; how many are in `self.events`.
    pub(super) fn wait(&mut self, timeout: Duration) -> usize {
        let epfd = self.fd.as_raw_fd();
        let max = self.events.len() as libc::c_int;
        let n = if self.pwait2 {
            let ts = libc::timespec { tv_sec: timeout.as_secs() as libc::time_t, tv_nsec: timeout.subsec_nanos() as _ };
            // SAFETY: a valid epoll descriptor, an events array of `max` entries, a local
            // timespec, and no signal mask.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_epoll_pwait2,
                    epfd,
                    self.events.as_mut_ptr(),
                    max,
                    &ts as *const libc::timespec,
                    std::ptr::null::<libc::sigset_t>(),
                    0usize,
                )
            };
            let unavailable = [Some(libc::ENOSYS), Some(libc::EPERM)]; // an old kernel, a seccomp filter
            if n < 0 && unavailable.contains(&std::io::Error::last_os_error().raw_os_error()) {
                self.pwait2 = false;
                return 0;
            }
            n as i32
        } else {
            let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
            // SAFETY: a valid epoll descriptor and an events array of `max` entries.
            unsafe { libc::epoll_wait(epfd, self.events.as_mut_ptr(), max, ms) }
        };
        n.max(0) as usize
    }
}

/// A byte waiting on an idle connection, without taking it (0: closed).
pub(super) fn peek(s: &TcpStream) -> std::io::Result<usize> {
    let mut b = [0u8; 1];
    s.peek(&mut b)
}

/// A non-blocking socket connecting to `a` (`TCP_NODELAY`).
pub(super) fn open_socket(a: SocketAddr) -> Result<TcpStream, Failure> {
    let domain = if a.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: socket() returns a new descriptor we own, or -1.
    let raw = unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(Failure::of_connect(&std::io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a valid socket nobody else owns.
    let stream = unsafe { TcpStream::from_raw_fd(raw) };
    let _ = stream.set_nodelay(true);
    // SAFETY: all-zero sockaddr_storage is valid; the address is written into it below.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match a {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in.
            let sin = unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr = libc::in_addr { s_addr: u32::from_ne_bytes(v4.ip().octets()) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_flowinfo = v6.flowinfo();
            sin6.sin6_addr = libc::in6_addr { s6_addr: v6.ip().octets() };
            sin6.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    // SAFETY: a valid socket and an address of `len` bytes in a local.
    let r = unsafe {
        libc::connect(stream.as_raw_fd(), (&storage as *const libc::sockaddr_storage).cast(), len as libc::socklen_t)
    };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(Failure::of_connect(&e));
        }
    }
    Ok(stream)
}
