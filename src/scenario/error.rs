//! Errors in a scenario, located at a file, line and key.

use std::fmt;
use std::path::PathBuf;

use crate::suggest::did_you_mean;

/// An invalid scenario: where it is wrong, what is wrong, and what would be allowed.
///
/// Displayed as `FILE:LINE:COL: KEY: MESSAGE` followed by an optional `help:` line,
/// the format compilers use so that editors can jump to the place.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The scenario file, when the scenario came from one.
    pub file: Option<PathBuf>,
    /// 1-based line of the offending key (or value), when it can be located.
    pub line: Option<usize>,
    /// 1-based column on that line.
    pub column: Option<usize>,
    /// The dotted key path, e.g. `servers[1].speed`.
    pub key: Option<String>,
    /// What is wrong, and what is allowed.
    pub message: String,
    /// A suggestion (e.g. the likely intended spelling).
    pub help: Option<String>,
}

impl ScenarioError {
    /// An error about `key` (a dotted path such as `arrivals.rate`), not yet located.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError {
            file: None,
            line: None,
            column: None,
            key: Some(key.into()),
            message: message.into(),
            help: None,
        }
    }

    /// An error about the scenario as a whole.
    pub fn general(message: impl Into<String>) -> Self {
        ScenarioError { file: None, line: None, column: None, key: None, message: message.into(), help: None }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a "did you mean" help line when `given` is close to one of `allowed`.
    pub fn suggest<'a>(self, given: &str, allowed: impl IntoIterator<Item = &'a str>) -> Self {
        match did_you_mean(given, allowed) {
            Some(s) => self.with_help(format!("did you mean `{s}`?")),
            None => self,
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.column {
                    write!(f, ":{col}")?;
                }
            }
            write!(f, ": ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_file_line_col_key() {
        let mut e = ScenarioError::at("arrivals.rate", "must be > 0").with_help("try 100.0");
        e.file = Some("a.toml".into());
        e.line = Some(3);
        e.column = Some(1);
        assert_eq!(e.to_string(), "a.toml:3:1: `arrivals.rate`: must be > 0\n  help: try 100.0");
    }
}
