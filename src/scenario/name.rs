//! The scenario's name, which names its default output directory (`output/<name>/`): it
//! must be one safe path component, so that no output ever lands outside `output/` (or
//! `--out`), and one every file system can create.

/// The longest name, in bytes: the usual file-name limit (`NAME_MAX`, ext4, XFS, APFS, NTFS).
pub const MAX_NAME_BYTES: usize = 255;

/// Why `name` cannot name an output directory, or `None` when it can.
///
/// A name is non-empty, at most [`MAX_NAME_BYTES`] bytes of UTF-8, not `.` or `..`, and
/// contains no path separator (`/`, `\`) and no control character (NUL, newline, ...).
pub fn problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("must not be empty (it names the output directory, output/<name>/)".into());
    }
    if name == "." || name == ".." {
        return Some(format!("`{name}` cannot name an output directory (it is a path, not a name)"));
    }
    if name.contains(['/', '\\']) {
        return Some("must contain no path separator (`/` or `\\`): it names the output directory".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Some(format!("must contain no control character (found U+{:04X})", u32::from(c)));
    }
    if name.len() > MAX_NAME_BYTES {
        return Some(format!(
            "is {} bytes long; at most {MAX_NAME_BYTES} (the file-name limit: it names the output directory)",
            name.len()
        ));
    }
    None
}

/// `name` as quoted in a message: at most 40 characters, control characters escaped.
pub fn shown(name: &str) -> String {
    let mut s: String = name.chars().take(40).flat_map(char::escape_debug).collect();
    if name.chars().count() > 40 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_safe_path_component_is_a_name() {
        for ok in ["web-peak", "a b", "ünïcode", "...", ".hidden", &"x".repeat(255)] {
            assert_eq!(problem(ok), None, "{ok}");
        }
        for bad in ["", "  ", ".", "..", "a/b", "a\\b", "a\0b", "a\nb", &"x".repeat(256), &"é".repeat(128)] {
            assert!(problem(bad).is_some(), "{bad:?}");
        }
    }
}
