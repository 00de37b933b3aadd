//! A run's headroom at its SLO, as the search of [`crate::headroom`] found it
//! ([`RunHeadroom`]): `headroom.csv`, the table's notes and report.html's section, all from
//! the same cells ([`cells`]), so every figure is written once and reads the same everywhere.

use super::Report;
use crate::Result;
use crate::plan::slo::Slo;
use crate::report::Exporter;
use crate::report::html::{Cell, CellKind, Page};
use crate::report::run::summary_csv::encode;
use crate::report::sweep::headroom::Verdict;

/// The headroom of every strategy of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunHeadroom {
    /// The objective, judged over the whole run as `sweep --slo` and `plan` judge it.
    pub slo: Slo,
    /// The run's mean arrival rate (×1.00), req/s.
    pub rate: f64,
    /// Its highest rate (a time-varying rate's peak), req/s, when above the mean.
    pub peak: Option<f64>,
    /// The offered load ρ at ×1.00.
    pub rho: f64,
    /// What a factor scales, in words.
    pub scaled: &'static str,
    /// The lowest and highest factors the search may look at.
    pub searched: (f64, f64),
    /// Per strategy, in the run's order.
    pub strategies: Vec<StrategyHeadroom>,
}

/// One strategy's search and answer.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyHeadroom {
    /// Its label.
    pub label: String,
    /// The factors looked at, ascending (×1.00 among them).
    pub points: Vec<FactorPoint>,
    /// The answer, in factors.
    pub verdict: Verdict,
}

/// A factor looked at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FactorPoint {
    /// The factor.
    pub factor: f64,
    /// Offered load ρ there.
    pub rho: f64,
    /// The objective's metric, ms (as summary.csv writes it), and its 95% half-width;
    /// NaN when not simulated (ρ ≥ 1).
    pub value: (f64, Option<f64>),
    /// Whether the strategy is unstable there (ρ ≥ 1, or its queues grow).
    pub unstable: bool,
    /// Whether it was simulated (a factor with ρ ≥ 1 is not).
    pub simulated: bool,
}

impl StrategyHeadroom {
    /// Runs simulated for it (×1.00, the run itself, not counted).
    pub fn runs(&self) -> usize {
        self.points.iter().filter(|p| p.simulated && p.factor != 1.0).count()
    }
}

impl RunHeadroom {
    /// The rate a factor means, req/s.
    pub fn rate_at(&self, factor: f64) -> f64 {
        self.rate * factor
    }
}

/// The file's name.
pub const FILE: &str = "headroom.csv";

/// `headroom.csv`: one row per strategy (written when the run has an SLO and its headroom
/// was searched).
#[derive(Debug)]
pub struct HeadroomCsv;

/// A factor as every output writes it: at most 3 decimals, trailing zeros dropped.
pub fn factor(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A rate, req/s, as every output writes it.
fn rate(x: f64) -> String {
    format!("{x:.1}")
}

/// ρ as every output writes it.
fn rho(x: f64) -> String {
    format!("{x:.3}")
}

/// A metric value or half-width, ms (already as summary.csv writes it); empty for NaN.
fn ms(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite()).map_or_else(String::new, |v| format!("{v}"))
}

/// One strategy's cells, named as headroom.csv's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    /// `strategy`.
    pub strategy: String,
    /// `verdict`: `up_to` (met up to a factor, not above), `everywhere` (met up to the
    /// highest factor searched), `never` (not met even at the lowest).
    pub verdict: &'static str,
    /// The metric at ×1.00 (summary.csv's) and its half-width, ms.
    pub at_one: (String, String),
    /// Whether the objective is met at ×1.00.
    pub met_at_one: bool,
    /// Whether the estimate itself breaks the objective at ×1.00 (above the limit, or the
    /// strategy unstable): not met and `broken_at_one` is false when only the 95% upper
    /// bound is above the limit.
    pub broken_at_one: bool,
    /// Likewise at `factor_next`: the estimate there is above the limit (or unstable).
    pub broken_at_next: bool,
    /// `factor_met`, `rate_met_rps`, `rho_met`, `METRIC_met_ms`: the highest factor
    /// meeting it (empty with `never`).
    pub met: [String; 4],
    /// `factor_next`, `METRIC_next_ms`: the first factor above that does not meet it.
    pub next: [String; 2],
    /// `crossing_factor`, `crossing_factor_lo`, `crossing_factor_hi`: where the estimate
    /// crosses the limit and its interval (`hi` empty when beyond the factors searched).
    pub crossing: [String; 3],
    /// `crossing_rate_rps`, `crossing_rho`.
    pub crossing_load: [String; 2],
    /// `runs`: simulations of the search (×1.00 is the run itself).
    pub runs: usize,
}

/// The cells of strategy `s`.
pub fn cells(h: &RunHeadroom, s: &StrategyHeadroom) -> Cells {
    let at = |f: f64| s.points.iter().find(|p| p.factor == f);
    let value = |f: f64| at(f).map_or_else(String::new, |p| ms(Some(p.value.0)));
    let one = at(1.0);
    let met_at_one = match &s.verdict {
        Verdict::UpTo { highest, .. } | Verdict::Everywhere { highest } => highest.0 >= 1.0,
        Verdict::NeverMet { .. } => false,
    };
    let broken = |f: f64| at(f).is_some_and(|p| p.unstable || p.value.0.is_nan() || p.value.0 > h.slo.limit * 1e3);
    let none = || [String::new(), String::new(), String::new(), String::new()];
    let met_cells = |(f, r): (f64, f64)| [factor(f), rate(h.rate_at(f)), rho(r), value(f)];
    let (verdict, met, next, crossing, crossing_load) = match &s.verdict {
        Verdict::NeverMet { x } => ("never", none(), [factor(*x), value(*x)], Default::default(), Default::default()),
        Verdict::Everywhere { highest } => {
            ("everywhere", met_cells(*highest), Default::default(), Default::default(), Default::default())
        }
        Verdict::UpTo { highest, next, crossing, crossing_rho } => (
            "up_to",
            met_cells(*highest),
            [factor(next.0), value(next.0)],
            [
                crossing.0.map(factor).unwrap_or_default(),
                factor(crossing.1),
                crossing.2.map(factor).unwrap_or_default(),
            ],
            [crossing.0.map(|x| rate(h.rate_at(x))).unwrap_or_default(), crossing_rho.map(rho).unwrap_or_default()],
        ),
    };
    let next_factor = match &s.verdict {
        Verdict::NeverMet { x } => Some(*x),
        Verdict::UpTo { next, .. } => Some(next.0),
        Verdict::Everywhere { .. } => None,
    };
    Cells {
        strategy: s.label.clone(),
        broken_at_one: broken(1.0),
        broken_at_next: next_factor.is_some_and(broken),
        verdict,
        at_one: (ms(one.map(|p| p.value.0)), ms(one.and_then(|p| p.value.1))),
        met_at_one,
        met,
        next,
        crossing,
        crossing_load,
        runs: s.runs(),
    }
}

/// headroom.csv's header; `metric` names the objective's metric (`p99`).
pub fn header(metric: &str) -> Vec<String> {
    let mut h: Vec<String> = ["strategy", "slo", "verdict"].map(String::from).to_vec();
    h.extend([format!("{metric}_ms"), format!("{metric}_ms_ci95"), "met_at_1".into()]);
    h.extend(["factor_met", "rate_met_rps", "rho_met"].map(String::from));
    h.push(format!("{metric}_met_ms"));
    h.push("factor_next".into());
    h.push(format!("{metric}_next_ms"));
    h.extend(
        ["crossing_factor", "crossing_factor_lo", "crossing_factor_hi", "crossing_rate_rps", "crossing_rho", "runs"]
            .map(String::from),
    );
    h
}

/// The objective as headroom.csv writes it (`p99<=100ms`).
fn slo_cell(h: &RunHeadroom) -> String {
    format!("{}<={}", h.slo.metric.name(), h.slo.metric.show(h.slo.limit))
}

impl Exporter for HeadroomCsv {
    fn file_name(&self) -> &'static str {
        FILE
    }

    fn wanted(&self, report: &Report) -> bool {
        report.headroom.is_some()
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let Some(h) = &report.headroom else { return encode(&header("p99"), &[]) };
        let rows: Vec<Vec<String>> = h
            .strategies
            .iter()
            .map(|s| {
                let c = cells(h, s);
                let mut row = vec![c.strategy, slo_cell(h), c.verdict.to_string(), c.at_one.0, c.at_one.1];
                row.push(u8::from(c.met_at_one).to_string());
                row.extend(c.met);
                row.extend(c.next);
                row.extend(c.crossing);
                row.extend(c.crossing_load);
                row.push(c.runs.to_string());
                row
            })
            .collect();
        encode(&header(h.slo.metric.name()), &rows)
    }
}

/// The answer for one strategy in words (the notes and report.html).
pub fn answer(h: &RunHeadroom, c: &Cells) -> String {
    let peak = |f: &str| {
        h.peak.zip(f.parse::<f64>().ok()).map(|(p, f)| format!(", peak {} req/s", rate(p * f))).unwrap_or_default()
    };
    let crossing = || {
        let [x, lo, hi] = &c.crossing;
        let hi = if hi.is_empty() { "beyond".to_string() } else { format!("×{hi}") };
        if x.is_empty() {
            format!("the estimate crosses the limit beyond ×{} (interval from ×{lo})", c.next[0])
        } else {
            let [r, rho] = &c.crossing_load;
            format!("the estimate crosses it at ×{x} [×{lo}, {hi}] = {r} req/s{} (ρ {rho})", peak(x))
        }
    };
    // A factor is met when the 95% upper bound is within the limit (the judge of `sweep
    // --slo`); where the estimate itself is within it, say "not shown met" rather than
    // "broken", and the estimate's crossing can then lie beyond that factor.
    let at_one = if c.broken_at_one {
        "SLO broken at the scenario's load (×1.00)"
    } else {
        "SLO not shown met at the scenario's load (×1.00: the estimate is within the limit, its 95% upper bound is not)"
    };
    let not_at = if c.broken_at_next { "not at" } else { "not shown met at" };
    match c.verdict {
        "never" => format!("{at_one}; {not_at} ×{} either (the lowest searched)", c.next[0]),
        "everywhere" => format!(
            "≥ ×{} (searched up to ×{}): met at ×{} = {} req/s{} (ρ {})",
            c.met[0],
            factor(h.searched.1),
            c.met[0],
            c.met[1],
            peak(&c.met[0]),
            c.met[2]
        ),
        _ if !c.met_at_one => format!(
            "{at_one}; met up to ×{} = {} req/s (ρ {}), {not_at} ×{}; {}",
            c.met[0],
            c.met[1],
            c.met[2],
            c.next[0],
            crossing()
        ),
        _ => format!("met up to ×{} (ρ {}), {not_at} ×{}; {}", c.met[0], c.met[2], c.next[0], crossing()),
    }
}

/// What the search did and how it judges, for the notes and the page.
fn method(h: &RunHeadroom) -> String {
    let runs: usize = h.strategies.iter().map(StrategyHeadroom::runs).sum();
    format!(
        "headroom at {} over the whole run (as `sweep --slo` judges a point: the 95% upper bound within the limit, the \
         strategy stable) as the load grows by a factor of the scenario's ({} req/s{}, ρ {}); scaled: {}; each strategy \
         simulated alone on the run's seed ({runs} runs); crossing interpolated on the log of the metric, [a, b] where \
         the 95% band's edges cross (headroom.csv)",
        h.slo,
        rate(h.rate),
        h.peak.map(|p| format!(", peak {}", rate(p))).unwrap_or_default(),
        rho(h.rho),
        h.scaled,
    )
}

/// The table's notes (none without a headroom search).
pub fn notes(report: &Report) -> Vec<String> {
    let Some(h) = &report.headroom else { return Vec::new() };
    let mut out = vec![format!("{}:", method(h))];
    let width = h.strategies.iter().map(|s| s.label.len()).max().unwrap_or(0);
    for s in &h.strategies {
        out.push(format!("  {:width$}  {}", s.label, answer(h, &cells(h, s))));
    }
    out
}

/// report.html's section (nothing without a headroom search).
pub fn section(report: &Report, page: &mut Page) {
    let Some(h) = &report.headroom else { return };
    page.section("Headroom at the SLO");
    let metric = h.slo.metric.name();
    let header: Vec<String> = vec![
        "strategy".into(),
        format!("{metric} at ×1.00, ms"),
        "headroom (crossing)".into(),
        "interval".into(),
        "rate there, req/s".into(),
        "ρ there".into(),
        "met up to".into(),
        "not at".into(),
    ];
    let rows: Vec<Vec<Cell>> = h
        .strategies
        .iter()
        .map(|s| {
            let c = cells(h, s);
            let at_one =
                if c.at_one.1.is_empty() { c.at_one.0.clone() } else { format!("{} ± {}", c.at_one.0, c.at_one.1) };
            let x = |t: &str| if t.is_empty() { "–".to_string() } else { format!("×{t}") };
            let headroom = match c.verdict {
                "everywhere" => format!("≥ ×{}", c.met[0]),
                "never" => "not met".to_string(),
                _ => x(&c.crossing[0]),
            };
            let interval = if c.verdict == "up_to" {
                format!(
                    "[×{}, {}]",
                    c.crossing[1],
                    if c.crossing[2].is_empty() { "beyond".into() } else { x(&c.crossing[2]) }
                )
            } else {
                "–".into()
            };
            let kind = if c.met_at_one { CellKind::Number } else { CellKind::Bad };
            vec![
                Cell::text(c.strategy.clone()),
                Cell::of(at_one, kind),
                Cell::of(headroom, kind),
                Cell::number(interval),
                Cell::number(if c.crossing_load[0].is_empty() { "–".into() } else { c.crossing_load[0].clone() }),
                Cell::number(if c.crossing_load[1].is_empty() { "–".into() } else { c.crossing_load[1].clone() }),
                Cell::number(x(&c.met[0])),
                Cell::number(x(&c.next[0])),
            ]
        })
        .collect();
    page.table(&header, &rows);
    page.paragraph(
        "Factors of the scenario's load; red: the SLO is not met at ×1.00 (its estimate or its 95% upper bound is \
         above the limit). How the factors are searched and \
         judged: the headroom note under Results. The same figures are in headroom.csv.",
    );
}
