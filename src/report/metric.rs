//! One record per figure lbsim reports about a strategy's run: the columns of summary.csv,
//! in the style of hyperfine's `Metric::ALL`.
//!
//! A [`Metric`] says once what a figure is called (its summary.csv column, which the JSON,
//! sweep.csv, `--columns` and the chart tests use too), how it is written ([`Format`]), how
//! it is read from a [`StrategySummary`] (or the scenario), whether it has a 95% confidence
//! half-width (then its `NAME_ci95` column follows from the name), which way it improves,
//! the [`Figure`] its paired comparisons rest on, the legend line that explains it and its
//! terminal column ([`Shown`]). Everything else is derived: summary.csv's header and row
//! ([`header`], [`row`]), the JSON summary, sweep.csv, the terminal table and its legend,
//! the chart measures, the metric columns of plan.csv and phases.csv, and `lbsim compare`'s
//! figures.
//!
//! Adding a metric is one record in `metric/records.rs` and its place in [`SUMMARY`] (new columns are appended:
//! the value, then its interval) and, if the terminal shows it, in [`TABLE`] — plus
//! computing it in `stats`. Tests check that every record is in summary.csv, the JSON and
//! docs/outputs.md, and that every terminal column is a summary.csv column.

use crate::report::format::{fixed, ms};
use crate::scenario::Scenario;
use crate::stats::batch::Figure;
use crate::stats::{Estimate, StrategySummary};

/// How a metric's cells are written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    /// Seconds written as milliseconds with 4 decimals ([`ms`]).
    Ms,
    /// A number with this many decimals ([`fixed`]).
    Fixed(usize),
    /// A whole number.
    Count,
    /// Text (a JSON string).
    Text,
    /// A 0/1 flag (a JSON boolean).
    Flag,
}

/// A metric's value for one strategy (or scenario).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An estimate over replications or batches, with its interval.
    Estimate(Estimate),
    /// A number without an interval.
    Number(f64),
    /// A count.
    Count(u64),
    /// Text.
    Text(String),
    /// A flag.
    Flag(bool),
    /// Not defined here (an empty cell, JSON `null`).
    Missing,
}

/// Where a metric's value comes from.
#[derive(Debug, Clone, Copy)]
pub enum Get {
    /// An estimate of the strategy's summary.
    Estimate(fn(&StrategySummary) -> Estimate),
    /// Another value of the strategy's summary.
    Summary(fn(&StrategySummary) -> Value),
    /// A fact of the scenario, the same for every strategy.
    Scenario(fn(&Scenario) -> Value),
    /// Not part of a strategy's summary: the file that writes it computes it (the drop rate
    /// of a sweep point or plan candidate).
    Elsewhere,
}

/// Which way a figure improves (where the terminal's best mark goes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Better {
    /// Lower is better.
    Lower,
    /// Higher is better.
    Higher,
    /// Neither: no best mark.
    Neither,
}

/// When a terminal column applies to a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// Always.
    Always,
    /// With `[keys]` (or a trace's keys).
    Keyed,
    /// When requests can fail (faults, timeouts, retries).
    Failures,
    /// When the client retries.
    Retries,
}

/// When a terminal column is in the default table (besides applying).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Relevant {
    /// Always.
    Always,
    /// When drops are possible (a bounded waiting room) or happened.
    Drops,
    /// In a closed loop.
    Closed,
}

/// A metric's terminal column.
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    /// Its title.
    pub title: &'static str,
    /// Decimals shown.
    pub digits: usize,
    /// Shown as a percentage (× 100).
    pub percent: bool,
    /// When it applies.
    pub when: When,
    /// In the default table: 0 = no; otherwise the higher, the longer it stays when the
    /// table is too wide.
    pub keep: u8,
    /// In the default table only where this holds.
    pub relevant: Relevant,
}

/// The usual terminal column: always applies and is relevant, not in the default table.
const SHOWN: Shown =
    Shown { title: "", digits: 3, percent: false, when: When::Always, keep: 0, relevant: Relevant::Always };

/// One figure of a strategy's run: a column of summary.csv.
#[derive(Clone, Copy)]
pub struct Metric {
    /// Its summary.csv column (and JSON key, and `--columns` name).
    pub name: &'static str,
    /// How its cells are written.
    pub format: Format,
    /// Where its value comes from.
    pub get: Get,
    /// Whether it has a 95% confidence half-width column, [`Metric::ci_name`].
    pub ci: bool,
    /// Which way it improves.
    pub better: Better,
    /// The figure whose per-replication (or per-batch) units its paired comparisons rest on.
    pub figure: Option<Figure>,
    /// What it means, for the terminal's legend (one clause; metrics sharing one clause
    /// share the text).
    pub legend: Option<&'static str>,
    /// Its terminal column, if the table has one.
    pub shown: Option<Shown>,
}

/// The defaults the records start from.
const BASE: Metric = Metric {
    name: "",
    format: Format::Count,
    get: Get::Elsewhere,
    ci: false,
    better: Better::Neither,
    figure: None,
    legend: None,
    shown: None,
};

impl std::fmt::Debug for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metric").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Metric {
    /// The name of its confidence half-width column: `NAME_ci95`.
    pub fn ci_name(&self) -> String {
        format!("{}_ci95", self.name)
    }

    /// Its value for strategy `s` in scenario `sc`.
    pub fn value(&self, s: &StrategySummary, sc: &Scenario) -> Value {
        match self.get {
            Get::Estimate(f) => Value::Estimate(f(s)),
            Get::Summary(f) => f(s),
            Get::Scenario(f) => f(sc),
            Get::Elsewhere => Value::Missing,
        }
    }

    /// Its estimate for strategy `s`, when it is one.
    pub fn estimate(&self, s: &StrategySummary) -> Option<Estimate> {
        match self.get {
            Get::Estimate(f) => Some(f(s)),
            Get::Summary(f) => match f(s) {
                Value::Estimate(e) => Some(e),
                _ => None,
            },
            Get::Scenario(_) | Get::Elsewhere => None,
        }
    }

    /// A number in its format (empty for NaN).
    pub fn number(&self, x: f64) -> String {
        match self.format {
            Format::Ms => ms(x),
            Format::Fixed(d) => fixed(x, d),
            Format::Count | Format::Text | Format::Flag => x.to_string(),
        }
    }

    /// The cell of `v` in its column.
    pub fn cell(&self, v: &Value) -> String {
        match v {
            Value::Estimate(e) => self.number(e.value),
            Value::Number(x) => self.number(*x),
            Value::Count(n) => n.to_string(),
            Value::Text(t) => t.clone(),
            Value::Flag(b) => u8::from(*b).to_string(),
            Value::Missing => String::new(),
        }
    }

    /// The cell of `v`'s confidence half-width (empty without one).
    pub fn ci_cell(&self, v: &Value) -> String {
        match v {
            Value::Estimate(e) => e.ci95.map(|c| self.number(c)).unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// The value and interval cells of an estimate (both empty without one).
    pub fn cells(&self, e: Option<Estimate>) -> [String; 2] {
        let v = e.map_or(Value::Missing, Value::Estimate);
        [self.cell(&v), self.ci_cell(&v)]
    }

    /// Its column and its interval's column.
    pub fn names(&self) -> [String; 2] {
        [self.name.to_string(), self.ci_name()]
    }
}

pub mod cost;
mod records;
pub mod subset;
pub use records::*;

/// A column of summary.csv: a metric's value or its confidence half-width.
#[derive(Debug, Clone, Copy)]
pub enum Column {
    /// The metric's value.
    Value(&'static Metric),
    /// Its 95% confidence half-width, `NAME_ci95`.
    Ci(&'static Metric),
}

impl Column {
    /// The column's name.
    pub fn name(&self) -> String {
        match self {
            Column::Value(m) => m.name.to_string(),
            Column::Ci(m) => m.ci_name(),
        }
    }

    /// Its metric.
    pub fn metric(&self) -> &'static Metric {
        match self {
            Column::Value(m) | Column::Ci(m) => m,
        }
    }
}

/// Every metric of summary.csv, in the order of its value column.
pub fn all() -> impl Iterator<Item = &'static Metric> {
    SUMMARY.iter().filter_map(|c| match c {
        Column::Value(m) => Some(*m),
        Column::Ci(_) => None,
    })
}

/// The header of summary.csv.
pub fn header() -> Vec<String> {
    SUMMARY.iter().map(Column::name).collect()
}

/// One strategy's row of summary.csv (also the summary part of a sweep.csv row) in
/// scenario `sc`.
pub fn row(s: &StrategySummary, sc: &Scenario) -> Vec<String> {
    SUMMARY
        .iter()
        .map(|c| match c {
            Column::Value(m) => m.cell(&m.value(s, sc)),
            Column::Ci(m) => m.ci_cell(&m.value(s, sc)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_one_value_column_and_its_interval_iff_it_has_one() {
        let names = header();
        for m in all() {
            assert_eq!(names.iter().filter(|n| **n == m.name).count(), 1, "{}", m.name);
            assert_eq!(names.iter().filter(|n| **n == m.ci_name()).count(), usize::from(m.ci), "{}", m.name);
            assert!(!matches!(m.get, Get::Elsewhere), "{} has no value in a summary", m.name);
        }
        for c in SUMMARY {
            assert!(all().any(|m| m.name == c.metric().name), "{} has no value column", c.name());
        }
    }

    #[test]
    fn a_figure_is_named_by_its_metric() {
        // `precision` names figures by these columns (Figure::column).
        for m in all() {
            if let Some(f) = m.figure {
                assert_eq!(f.column(), m.name);
            }
        }
    }

    #[test]
    fn the_table_shows_each_metric_with_a_terminal_column_once() {
        for m in all() {
            let shown = TABLE.iter().filter(|t| t.name == m.name).count();
            assert_eq!(shown, usize::from(m.shown.is_some()), "{}", m.name);
        }
        for t in TABLE {
            assert!(all().any(|m| m.name == t.name), "{} is not a summary.csv column", t.name);
        }
    }
}
