//! Request traces for replay: a CSV file with a header row.
//!
//! Columns: `timestamp` (required; seconds, or the scenario's `time_unit`), `service_time`
//! (optional; same unit; an empty cell falls back to `[service]`), `key` (optional; any
//! text; distinct keys are numbered 0, 1, … in order of first appearance). Other columns are ignored, unless their name looks like a misspelling of
//! one of these. Lines starting with `#` are comments. Timestamps must not decrease; the
//! first one is time 0 of the replay, and `speed` divides every gap (2.0 replays twice as
//! fast; service times are not scaled).
//!
//! The trace is read once, when the scenario is loaded, into 8 bytes per row per column
//! present; every strategy and replication replays the same rows.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::ScenarioError;
use crate::suggest::did_you_mean;
use crate::workload::trace_rows::Trace;

/// Memory of one distinct key besides its text (its `String` and map entry), bytes.
const KEY_OVERHEAD: u64 = 64;

/// The columns a trace may have.
pub const COLUMNS: &[&str] = &["timestamp", "service_time", "key"];

fn err(file: &Path, line: u64, key: Option<&str>, message: String) -> ScenarioError {
    ScenarioError {
        file: Some(file.to_path_buf()),
        line: Some(line as usize),
        column: None,
        key: key.map(str::to_string),
        message,
        help: None,
    }
}

/// Reads and checks a trace. `unit` is the length in seconds of one unit of the
/// timestamp and service_time columns; `speed` the replay factor.
///
/// The file is read as a stream, and reading stops with an error once the rows kept (8
/// bytes per row per column, and the text of each distinct key) or the bytes read exceed
/// the memory limit ([`crate::memory::memory_limit`]). Errors about the file as a whole
/// (it cannot be opened) are at the scenario's `arrivals.file` key; errors in a row are at
/// that row of the trace.
pub fn load(path: &Path, unit: f64, speed: f64) -> Result<Trace, ScenarioError> {
    let file = super::read::open(path).map_err(|e| {
        ScenarioError::at("arrivals.file", format!("cannot read the trace {}: {e}", path.display()))
            .with_help("`arrivals.file` is relative to the scenario file's directory")
    })?;
    let limit = crate::memory::memory_limit();
    let data = LineCap { inner: std::io::BufReader::new(file.take(limit)), run: 0 };
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).comment(Some(b'#')).from_reader(data);
    let col = columns(path, &mut rdr)?;
    let mut rows = Rows::new(col, unit, speed);
    let mut record = csv::StringRecord::new();
    loop {
        let line = rdr.position().line();
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(row_error(path, line, &e)),
        }
        let line = record.position().map_or(line, |p| p.line());
        if rows.times.len().is_multiple_of(4096) {
            rows.check_size(path, line, rdr.position().byte(), limit)?;
        }
        rows.push(path, line, &record)?;
    }
    if rows.times.is_empty() {
        return Err(err(path, HEADER_LINE, None, "the trace has a header but no rows".to_string()));
    }
    if rdr.position().byte() >= limit {
        return Err(err(
            path,
            rdr.position().line(),
            None,
            format!("the trace is larger than the memory limit ({})", crate::memory::format_bytes(limit)),
        )
        .with_help("raise the limit with --max-memory, or replay a part of the trace"));
    }
    let bytes = rdr.position().byte();
    let Rows { times, service, keys, key_ids, .. } = rows;
    let given_service = service.as_deref().map_or((0, 0.0), Trace::given_of);
    let distinct_keys = key_ids.len() as u64;
    Ok(Trace { file: path.to_path_buf(), bytes, times, service, keys, distinct_keys, speed, given_service })
}

/// The line of the header row.
const HEADER_LINE: u64 = 1;

/// The index of each of [`COLUMNS`] in the header row (the timestamp's always present).
fn columns<R: Read>(path: &Path, rdr: &mut csv::Reader<R>) -> Result<Columns, ScenarioError> {
    let headers = rdr.headers().map_err(|e| err(path, HEADER_LINE, None, format!("bad header row: {e}")))?.clone();
    let mut col = [None::<usize>; 3];
    for (i, h) in headers.iter().enumerate() {
        if let Some(k) = COLUMNS.iter().position(|c| *c == h) {
            if col[k].is_some() {
                return Err(err(path, HEADER_LINE, Some(h), format!("column `{h}` appears twice")));
            }
            col[k] = Some(i);
        } else if let Some(s) = did_you_mean(h, COLUMNS.iter().copied()) {
            return Err(err(
                path,
                HEADER_LINE,
                Some(h),
                format!("unknown column `{h}`; trace columns: {}", COLUMNS.join(", ")),
            )
            .with_help(format!("did you mean `{s}`?")));
        }
    }
    let Some(timestamp) = col[0] else {
        return Err(err(
            path,
            HEADER_LINE,
            None,
            // The header is not quoted: the file may be anything (issue 29: a trace pointed
            // at /etc/shadow printed its first entry).
            format!(
                "the header row has no `timestamp` column ({} columns, none named so): is this a trace? trace \
                 columns: timestamp, service_time (optional), key (optional)",
                headers.len()
            ),
        ));
    };
    Ok(Columns { timestamp, service: col[1], key: col[2] })
}

/// Where a trace's columns are.
#[derive(Debug, Clone, Copy)]
struct Columns {
    timestamp: usize,
    service: Option<usize>,
    key: Option<usize>,
}

/// A row that cannot be read: located at its line, a short field count said so.
fn row_error(path: &Path, line: u64, e: &csv::Error) -> ScenarioError {
    let line = e.position().map_or(line, |p| p.line());
    let msg = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("this row has {len} fields, the header has {expected_len}")
        }
        _ => e.to_string(),
    };
    err(path, line, None, msg)
}

/// The rows read so far, column by column.
struct Rows {
    col: Columns,
    /// Seconds per unit of the timestamp and service_time columns.
    unit: f64,
    /// The replay factor, dividing every gap.
    speed: f64,
    times: Vec<f64>,
    service: Option<Vec<f64>>,
    keys: Option<Vec<u64>>,
    key_ids: HashMap<String, u64>,
    key_bytes: u64,
    first: f64,
    /// The previous timestamp and its line.
    prev: (f64, u64),
}

impl Rows {
    fn new(col: Columns, unit: f64, speed: f64) -> Rows {
        Rows {
            col,
            unit,
            speed,
            times: Vec::new(),
            service: col.service.map(|_| Vec::new()),
            keys: col.key.map(|_| Vec::new()),
            key_ids: HashMap::new(),
            key_bytes: 0,
            first: f64::NAN,
            prev: (f64::NEG_INFINITY, 0),
        }
    }

    /// Refuses a trace that, by `line`, has had `read` bytes read or keeps more than `limit`.
    fn check_size(&self, path: &Path, line: u64, read: u64, limit: u64) -> Result<(), ScenarioError> {
        let columns = 1 + u64::from(self.col.service.is_some()) + u64::from(self.col.key.is_some());
        let kept = self.times.len() as u64 * 8 * columns;
        if kept + self.key_bytes > limit || read >= limit {
            return Err(err(
                path,
                line,
                None,
                format!(
                    "the trace is too large: by this row lbsim has read {} of it and keeps {} in memory; the memory \
                     limit is {}",
                    crate::memory::format_bytes(read),
                    crate::memory::format_bytes(kept + self.key_bytes),
                    crate::memory::format_bytes(limit)
                ),
            )
            .with_help("raise the limit with --max-memory, or replay a part of the trace"));
        }
        Ok(())
    }

    /// Checks and keeps the row `record`, at `line`.
    fn push(&mut self, path: &Path, line: u64, record: &csv::StringRecord) -> Result<(), ScenarioError> {
        let cell = |i: usize| record.get(i).unwrap_or("");
        let number = |name: &str, text: &str| -> Result<f64, ScenarioError> {
            let x: f64 = text.parse().map_err(|_| {
                err(
                    path,
                    line,
                    Some(name),
                    format!("`{}` is not a number (a plain number in the time unit)", quote(text)),
                )
            })?;
            if !x.is_finite() {
                return Err(err(path, line, Some(name), format!("`{}` is not a finite number", quote(text))));
            }
            Ok(x)
        };
        let t = number("timestamp", cell(self.col.timestamp))?;
        if t < self.prev.0 {
            return Err(err(
                path,
                line,
                Some("timestamp"),
                format!("timestamps must not decrease: {t} comes after {} (line {})", self.prev.0, self.prev.1),
            )
            .with_help("sort the trace by time, e.g. `sort -t, -k1,1g`"));
        }
        self.prev = (t, line);
        if self.first.is_nan() {
            self.first = t;
        }
        self.times.push((t - self.first) * self.unit / self.speed);
        if let (Some(v), Some(i)) = (self.service.as_mut(), self.col.service) {
            let text = cell(i);
            if text.is_empty() {
                v.push(f64::NAN);
            } else {
                let s = number("service_time", text)?;
                if s < 0.0 {
                    return Err(err(path, line, Some("service_time"), format!("must not be negative, got {s}")));
                }
                v.push(s * self.unit);
            }
        }
        if let (Some(v), Some(i)) = (self.keys.as_mut(), self.col.key) {
            let next = self.key_ids.len() as u64;
            let id = match self.key_ids.get(cell(i)) {
                Some(&id) => id,
                None => {
                    self.key_bytes += KEY_OVERHEAD + cell(i).len() as u64;
                    *self.key_ids.entry(cell(i).to_string()).or_insert(next)
                }
            };
            v.push(id);
        }
        Ok(())
    }
}

/// A cell as quoted in an error: its first 24 characters, control characters escaped (what
/// locates the error, not the file's content).
fn quote(text: &str) -> String {
    let mut s: String = text.chars().take(24).flat_map(char::escape_debug).collect();
    if text.chars().count() > 24 {
        s.push('…');
    }
    s
}

/// The longest line of a trace, bytes: a trace row is a few numbers and a key.
pub const MAX_LINE: usize = 1 << 20;

/// A reader that fails on a line longer than [`MAX_LINE`] (a binary file, `/dev/zero`), which
/// the CSV reader would otherwise buffer whole.
struct LineCap<R> {
    inner: R,
    /// Bytes since the last newline.
    run: usize,
}

impl<R: Read> Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = &buf[..n];
        // Lines inside one read are shorter than the read; only the ones across reads can be long.
        let longest = match (read.iter().position(|&b| b == b'\n'), read.iter().rposition(|&b| b == b'\n')) {
            (Some(first), Some(last)) => {
                let head = self.run + first;
                self.run = n - last - 1;
                head.max(self.run)
            }
            _ => {
                self.run += n;
                self.run
            }
        };
        if longest > MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a line longer than {MAX_LINE} bytes: is this a CSV file?"),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str, unit: f64, speed: f64) -> Result<Trace, ScenarioError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, text).unwrap();
        load(&p, unit, speed)
    }

    #[test]
    fn reads_rows_relative_to_the_first_and_applies_speed() {
        let t = load_text("# a comment\ntimestamp,service_time,key,extra\n100,5,a,x\n102,,b,y\n104,7,a,z\n", 1e-3, 2.0)
            .unwrap();
        assert_eq!(t.times, vec![0.0, 1e-3, 2e-3]);
        let s = t.service.unwrap();
        assert_eq!(s[0], 5e-3);
        assert!(s[1].is_nan());
        assert_eq!(t.keys.unwrap(), vec![0, 1, 0]);
        assert_eq!(t.distinct_keys, 2);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let e = load_text("timestamp,service_time\n1,2\n2,abc\n", 1.0, 1.0).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.to_string().contains("`abc` is not a number"), "{e}");
        let e = load_text("timestamp\n# c\n5\n4\n", 1.0, 1.0).unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.to_string().contains("must not decrease"), "{e}");
        let e = load_text("timestamp,key\n1,a\n2,b,c\n", 1.0, 1.0).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = load_text("when,key\n1,a\n", 1.0, 1.0).unwrap_err();
        assert!(e.to_string().contains("no `timestamp` column"), "{e}");
        // What the file holds is not echoed (issue 29: a trace pointed at /etc/shadow).
        let e = load_text("root:$6$secret:19000:0:99999:7:::\nx\n", 1.0, 1.0).unwrap_err();
        assert!(!e.to_string().contains("secret") && e.to_string().contains("is this a trace?"), "{e}");
        let e = load_text(&format!("timestamp\n1\n{}\n", "s".repeat(100)), 1.0, 1.0).unwrap_err();
        assert!(e.to_string().contains(&format!("`{}…` is not a number", "s".repeat(24))), "{e}");
        let e = load_text("time,key\n1,a\n", 1.0, 1.0).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `timestamp`?"), "{e}");
        let e = load_text("timestamp,service_tme\n1,2\n", 1.0, 1.0).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `service_time`?"));
        let e = load_text("timestamp,service_time\n1,-2\n", 1.0, 1.0).unwrap_err();
        assert!(e.to_string().contains(":2: `service_time`: must not be negative"), "{e}");
        assert!(load_text("timestamp\n", 1.0, 1.0).unwrap_err().to_string().contains("no rows"));
        let e = load_text(&"0".repeat(MAX_LINE + 10), 1.0, 1.0).unwrap_err();
        assert!(e.to_string().contains("a line longer than"), "{e}");
    }
}
