//! Setting keys of a scenario file from the command line (`lbsim sweep --vary`, the server
//! count and rate of `lbsim plan`).
//!
//! Keys are set in the scenario *text* with `toml_edit` (comments and line numbers kept),
//! which is then parsed and validated exactly like a file: range checks and error messages
//! live in one place ([`Scenario::parse`]), and an edited scenario is indistinguishable from
//! one written by hand. (The options that change a scenario as a whole, `--requests` and
//! the like, are applied to the parsed scenario instead: [`super::Overrides`].)
//!
//! A key is a dotted path: `arrivals.rate`, `service.mean`, `servers[0].count` or
//! `servers.web.count` (a group by name), `strategies[3].choices` or `strategies.p2c.choices`.
//! [`ScenarioText::resolve`] checks it against the scenario and lbsim's schema, finds the
//! kind of number it holds ([`ValueKind`](super::ValueKind)) and its canonical form
//! (indices, not names), and explains a bad key with the keys allowed at that level and a
//! "did you mean".

mod path;
mod rewrite;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item};

use super::{Scenario, ScenarioError};
pub use path::{KeyPath, KeyValue};
use rewrite::set_in_table;

/// `text` parsed by `toml_edit`, which holds integers up to 2⁶³ − 1 only (TOML's range):
/// each larger one — a u64 seed that `Scenario::parse` accepted (issue 29: `sweep` refused
/// `seed = 9223372036854775808`, which `run` ran) — is replaced by a marker integer,
/// returned with its literal for [`ScenarioText::restore`]. Any other error is located.
fn editable(text: &str, file: Option<&Path>) -> Result<(DocumentMut, Vec<(String, String)>), ScenarioError> {
    let mut edited = text.to_string();
    let mut big = Vec::new();
    loop {
        let e = match edited.parse::<DocumentMut>() {
            Ok(doc) => return Ok((doc, big)),
            Err(e) => e,
        };
        let literal = e.span().and_then(|s| edited.get(s.clone()).map(|t| (s, t.to_string())));
        match literal {
            Some((span, lit))
                if big.len() < 64
                    && lit
                        .trim_start_matches('+')
                        .replace('_', "")
                        .parse::<u64>()
                        .is_ok_and(|v| v > i64::MAX as u64) =>
            {
                // `+7_7_…` with underscores between digits: valid, and written by no one.
                let digits: String = format!("77{:04}", big.len()).chars().map(|c| format!("_{c}")).collect();
                let marker = format!("+7{digits}");
                edited.replace_range(span, &marker);
                big.push((marker, lit));
            }
            _ => {
                let locator = super::Locator::new(text);
                let at = e.span().map(|s| locator.line_col(s.start));
                return Err(ScenarioError {
                    file: file.map(Path::to_path_buf),
                    line: at.map(|a| a.0),
                    column: at.map(|a| a.1),
                    ..ScenarioError::general(e.message().trim().to_string())
                });
            }
        }
    }
}

/// A scenario's text, parsed for editing.
#[derive(Debug, Clone)]
pub struct ScenarioText {
    text: String,
    file: Option<PathBuf>,
    doc: DocumentMut,
    /// Integers past 2⁶³ − 1 (which `Scenario::parse` takes as u64 but `toml_edit` refuses):
    /// (marker written in `doc` instead, the literal as written).
    big: Vec<(String, String)>,
}

impl ScenarioText {
    /// Reads a scenario file (as [`Scenario::load`] does) and checks that it is a valid
    /// scenario as written.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        Self::new(super::read::read_scenario(path)?, Some(path))
    }

    /// Wraps scenario text, checking that it is a valid scenario as written (so that its
    /// own mistakes are reported as such, not as mistakes of an override).
    pub fn new(text: String, file: Option<&Path>) -> Result<Self, ScenarioError> {
        Scenario::parse(&text, file)?;
        let (doc, big) = editable(&text, file)?;
        Ok(ScenarioText { text, file: file.map(Path::to_path_buf), doc, big })
    }

    /// `doc`'s text with the integers past 2⁶³ − 1 written back as they were.
    fn restore(&self, doc: &DocumentMut) -> String {
        let mut text = doc.to_string();
        for (marker, literal) in &self.big {
            text = text.replacen(marker.as_str(), literal, 1);
        }
        text
    }

    /// The text as read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file it came from.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The scenario as written (parsed again: an error only if a file it reads, its trace,
    /// changed since [`ScenarioText::new`]).
    pub fn scenario(&self) -> Result<Scenario, ScenarioError> {
        Scenario::parse(&self.text, self.file.as_deref())
    }

    /// The scenario with `sets` applied; errors are those of [`Scenario::parse`], with a
    /// help line naming the overrides.
    pub fn with(&self, sets: &[(&KeyPath, KeyValue)]) -> Result<Scenario, ScenarioError> {
        if sets.is_empty() {
            return self.scenario();
        }
        let mut doc = self.doc.clone();
        for (key, value) in sets {
            set_in_table(doc.as_table_mut(), &key.steps, value.to_toml());
        }
        Scenario::parse(&self.restore(&doc), self.file.as_deref()).map_err(|mut e| {
            let what: Vec<String> = sets.iter().map(|(k, v)| format!("{} = {v}", k.written)).collect();
            let note = format!("with {} (from the command line)", what.join(", "));
            e.help = Some(match e.help.take() {
                Some(h) => format!("{h}; {note}"),
                None => note,
            });
            e
        })
    }

    /// The same text with only strategy `index` of its list (so that each strategy can be
    /// sized on its own: a parameter invalid for some server count then fails only it).
    /// Results are unchanged: every stream is seeded independently of the list.
    pub fn only_strategy(&self, index: usize) -> ScenarioText {
        let mut doc = self.doc.clone();
        let list = doc.get_mut("strategies").and_then(Item::as_array_mut).expect("validated scenario");
        let keep = list.get(index).expect("strategy index in range").clone();
        list.clear();
        list.push_formatted(keep);
        ScenarioText { text: self.restore(&doc), file: self.file.clone(), doc, big: self.big.clone() }
    }

    /// The same text with the strategy list replaced by `names` (`--strategies`).
    pub fn with_strategy_names(&self, names: &[String]) -> Result<ScenarioText, ScenarioError> {
        let mut doc = self.doc.clone();
        let mut list = toml_edit::Array::new();
        for n in names {
            list.push(n.as_str());
        }
        doc["strategies"] = toml_edit::value(list);
        let text = self.restore(&doc);
        Scenario::parse(&text, self.file.as_deref()).map_err(|mut e| {
            if e.key.as_deref().is_some_and(|k| k.starts_with("strategies")) {
                e.key = Some("--strategies".into());
                e.line = None;
                e.column = None;
                e.file = None;
            }
            e
        })?;
        Ok(ScenarioText { text, file: self.file.clone(), doc, big: self.big.clone() })
    }

    /// The same text without `[autoscaler]` (and without `[pods]` unless a rolling deploy
    /// needs it): the autoscaled group becomes a fixed pool of its `count` servers, which
    /// `lbsim plan` sizes beside the autoscaled pool.
    pub fn without_autoscaler(&self) -> Result<ScenarioText, ScenarioError> {
        let mut doc = self.doc.clone();
        doc.remove("autoscaler");
        // `[pods]` stays where a rolling deploy uses it (validate refuses it otherwise).
        if doc.contains_key("pods") && Scenario::parse(&self.restore(&doc), self.file.as_deref()).is_err() {
            doc.remove("pods");
        }
        let text = self.restore(&doc);
        Scenario::parse(&text, self.file.as_deref())?;
        Ok(ScenarioText { text, file: self.file.clone(), doc, big: self.big.clone() })
    }

    /// Checks `key` against the scenario: it must lead to a numeric key (an integer, a
    /// number or a duration) that exists or that lbsim knows.
    pub fn resolve(&self, key: &str) -> Result<KeyPath, ScenarioError> {
        path::resolve(&self.doc, key)
    }
}
