//! Memory sizes: the process's memory limit (`--max-memory`, by default
//! [`DEFAULT_MEMORY_FRACTION`] of the machine's physical memory, one value per process),
//! parsing a size as the user writes it, and printing one in binary units.
//!
//! Shared by every layer (the scenario reader stops a trace at the limit, the budget checks
//! runs against it, reports print sizes), so it depends on nothing else in the crate.

use std::sync::atomic::{AtomicU64, Ordering};

/// Share of physical memory a run may use unless `--max-memory` says otherwise.
pub const DEFAULT_MEMORY_FRACTION: f64 = 0.5;

/// The limit used when the machine's memory cannot be read (8 GiB).
pub const FALLBACK_MEMORY_LIMIT: u64 = 8 << 30;

/// The process's memory limit in bytes; 0 = not set (the default applies).
static MEMORY_LIMIT: AtomicU64 = AtomicU64::new(0);

/// Sets the process's memory limit (`--max-memory`), bytes.
pub fn set_memory_limit(bytes: u64) {
    MEMORY_LIMIT.store(bytes.max(1), Ordering::Relaxed);
}

/// The process's memory limit, bytes: the one set, or [`default_memory_limit`].
pub fn memory_limit() -> u64 {
    match MEMORY_LIMIT.load(Ordering::Relaxed) {
        0 => default_memory_limit(),
        set => set,
    }
}

/// [`DEFAULT_MEMORY_FRACTION`] of the physical memory, or [`FALLBACK_MEMORY_LIMIT`].
pub fn default_memory_limit() -> u64 {
    physical_memory().map_or(FALLBACK_MEMORY_LIMIT, |m| (m as f64 * DEFAULT_MEMORY_FRACTION) as u64)
}

/// The machine's physical memory (`MemTotal` of `/proc/meminfo`), bytes; `None` where there
/// is no such file.
pub fn physical_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.trim_start_matches("MemTotal:").trim().trim_end_matches("kB").trim().parse().ok()?;
    kib.checked_mul(1024)
}

/// Parses a memory size: bytes with an optional binary unit (`K`/`KiB`, `M`/`MiB`, `G`/`GiB`,
/// `T`/`TiB`, `B`; `KB`, `MB`, … are taken as the binary ones too), or a percentage of
/// the physical memory (`75%`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || format!("`{text}` is not a memory size: write e.g. 4G, 512M, 2GiB or 75% (of physical memory)");
    if let Some(p) = t.strip_suffix('%') {
        let p: f64 = p.trim().parse().map_err(|_| bad())?;
        if !(p > 0.0 && p <= 100.0) {
            return Err(format!("`{text}`: a percentage of physical memory must be in (0, 100]"));
        }
        let total = physical_memory().ok_or_else(|| format!("`{text}`: the physical memory is unknown here"))?;
        return Ok((total as f64 * p / 100.0) as u64);
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    let bytes = value * scale as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{text}`: must be at least 1 byte"));
    }
    Ok(bytes as u64)
}

/// A byte count in binary units, 3 significant digits: `512 B`, `1.50 KiB`, `12.3 GiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else if v >= 100.0 {
        format!("{v:.0} {}", UNITS[u])
    } else if v >= 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("4G").unwrap(), 4 << 30);
        assert_eq!(parse_size("512 MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("4 parsecs").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("-1G").is_err());
        assert!(parse_size("150%").is_err());
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.50 KiB");
        assert_eq!(format_bytes(12_900_000_000), "12.0 GiB");
    }

    #[test]
    fn physical_memory_is_read_where_there_is_proc() {
        if std::path::Path::new("/proc/meminfo").exists() {
            assert!(physical_memory().is_some_and(|m| m > 1 << 20));
        }
        assert!(default_memory_limit() > 0);
    }
}
