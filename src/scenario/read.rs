//! Reading a scenario file: at most [`MAX_SCENARIO_BYTES`] bytes, and UTF-8 checked with the
//! line and column of the first bad byte.

use std::io::Read;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use super::ScenarioError;

/// The largest scenario file lbsim reads (16 MiB; the shipped ones are about 2 KiB). A
/// larger input is refused after reading this much, so `lbsim run /dev/zero` stops at once.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// How long a file that is not a regular file (a FIFO, a device) may keep lbsim waiting for
/// its first or next bytes: a FIFO without a writer would otherwise block forever.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens `path` for reading. A regular file is read directly; anything else (a FIFO, a
/// character device, `/dev/stdin`) is opened and read by a helper thread, and a wait of more
/// than [`READ_TIMEOUT`] for its next bytes is an error (`TimedOut`).
pub(crate) fn open(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    // `metadata` does not open the file, so it never blocks on a FIFO.
    if std::fs::metadata(path)?.is_file() {
        return Ok(Box::new(std::fs::File::open(path)?));
    }
    let (tx, rx) = mpsc::sync_channel::<std::io::Result<Vec<u8>>>(4);
    let owned = path.to_path_buf();
    std::thread::Builder::new().name("lbsim-read".into()).spawn(move || {
        let mut file = match std::fs::File::open(&owned) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        loop {
            let mut buf = vec![0u8; 64 << 10];
            match file.read(&mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    // The reader gave up (an error, a timeout, enough read): stop.
                    if tx.send(Ok(buf)).is_err() || n == 0 {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    })?;
    Ok(Box::new(Timed { rx, pending: Vec::new(), at: 0, done: false }))
}

/// The reading end of [`open`]'s helper thread.
struct Timed {
    rx: mpsc::Receiver<std::io::Result<Vec<u8>>>,
    pending: Vec<u8>,
    at: usize,
    done: bool,
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.pending.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv_timeout(READ_TIMEOUT) {
                Ok(Ok(chunk)) => {
                    self.done = chunk.is_empty();
                    (self.pending, self.at) = (chunk, 0);
                }
                Ok(Err(e)) => return Err(e),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!(
                            "not a regular file, and nothing came from it for {} s (a FIFO without a writer?)",
                            READ_TIMEOUT.as_secs()
                        ),
                    ));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Reads at most `limit` bytes of `path` (a FIFO or device is read with a timeout of 5 s
/// between its bytes); more is an error naming the limit.
pub fn read_capped(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let file = open(path).map_err(|e| format!("cannot read the {what}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read the {what}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "the {what} is larger than {} (lbsim reads at most that much of it); is this the right file?",
            crate::memory::format_bytes(limit)
        ));
    }
    Ok(bytes)
}

/// Reads a scenario file (at most [`MAX_SCENARIO_BYTES`]) as UTF-8 text.
pub(super) fn read_scenario(path: &Path) -> Result<String, ScenarioError> {
    let bytes = read_capped(path, MAX_SCENARIO_BYTES, "scenario file")
        .map_err(|m| ScenarioError { file: Some(path.to_path_buf()), ..ScenarioError::general(m) })?;
    text_from_bytes(bytes, Some(path))
}

/// The bytes of a scenario as text; invalid UTF-8 is an error at the line and column
/// (1-based, in bytes) of the first bad byte.
pub fn text_from_bytes(bytes: Vec<u8>, file: Option<&Path>) -> Result<String, ScenarioError> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let bad = e.utf8_error().valid_up_to();
        let before = &bytes[..bad];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = bad - line_start + 1;
        ScenarioError {
            file: file.map(Path::to_path_buf),
            line: Some(line),
            column: Some(column),
            ..ScenarioError::general(format!(
                "the file is not valid UTF-8 text (byte 0x{:02x} at byte {} of the file)",
                bytes[bad],
                bad + 1
            ))
            .with_help("a scenario is TOML text: save it as UTF-8")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_located_at_its_first_bad_byte() {
        let e = text_from_bytes(b"seed = 1\nname = \"a\xffb\"\n".to_vec(), Some(Path::new("x.toml"))).unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(10)), "{e}");
        assert!(e.to_string().starts_with("x.toml:2:10: the file is not valid UTF-8 text (byte 0xff"), "{e}");
        assert_eq!(text_from_bytes(b"a = 1".to_vec(), None).unwrap(), "a = 1");
    }

    #[test]
    fn reading_stops_after_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.toml");
        std::fs::write(&p, vec![b'#'; 100]).unwrap();
        assert_eq!(read_capped(&p, 100, "file").unwrap().len(), 100);
        let e = read_capped(&p, 99, "scenario file").unwrap_err();
        assert!(e.starts_with("the scenario file is larger than 99 B"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_read_and_a_silent_one_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo.toml");
        assert!(std::process::Command::new("mkfifo").arg(&p).status().unwrap().success());
        let writer = {
            let p = p.clone();
            std::thread::spawn(move || std::fs::write(p, b"seed = 1\n").unwrap())
        };
        assert_eq!(read_capped(&p, 100, "file").unwrap(), b"seed = 1\n");
        writer.join().unwrap();
        let start = std::time::Instant::now();
        let e = read_capped(&p, 100, "scenario file").unwrap_err();
        assert!(e.contains("not a regular file") && e.contains("FIFO"), "{e}");
        assert!(start.elapsed() < READ_TIMEOUT * 2, "{:?}", start.elapsed());
    }
}
