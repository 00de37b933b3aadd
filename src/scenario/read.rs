//! Reading a scenario file: at most [`MAX_SCENARIO_BYTES`] bytes, and UTF-8 checked with the
//! line and column of the first bad byte.

use std::io::Read;
use std::path::Path;

use super::ScenarioError;

/// The largest scenario file lbsim reads (16 MiB; the shipped ones are about 2 KiB). A
/// larger input is refused after reading this much, so `lbsim run /dev/zero` stops at once.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// Reads at most `limit` bytes of `path`; more is an error naming the limit.
pub(crate) fn read_capped(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the {what}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read the {what}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "the {what} is larger than {} (lbsim reads at most that much of it); is this the right file?",
            crate::budget::format_bytes(limit)
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
}
