//! What the runner shows on stderr while it works: one bar per strategy for `lbsim run`, one
//! bar for the points of a sweep, a spinner naming the candidates of a plan's round.
//!
//! Every display is drawn only when asked for and stderr is a terminal; otherwise it is
//! hidden and costs nothing but the counting.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Tick;
use crate::scenario::Scenario;

/// Runs shorter than this many requests in all get no progress bars.
pub const PROGRESS_MIN_REQUESTS: u64 = 2_000_000;

/// stderr when `show` and it is a terminal, else nowhere.
fn target(show: bool) -> ProgressDrawTarget {
    if show && std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() }
}

/// Requests one scenario simulates in all (every strategy and replication).
fn requests(sc: &Scenario) -> u64 {
    sc.requests * u64::from(sc.replications) * sc.strategies.len() as u64
}

/// `lbsim run`: one bar per strategy, for runs of at least [`PROGRESS_MIN_REQUESTS`].
#[derive(Debug)]
pub struct StrategyBars {
    bars: Vec<ProgressBar>,
}

impl StrategyBars {
    /// The bars of `scenario`'s strategies; drawn when `show`.
    pub fn new(scenario: &Scenario, show: bool) -> StrategyBars {
        let per_strategy = scenario.requests * u64::from(scenario.replications);
        let multi = MultiProgress::with_draw_target(target(show && requests(scenario) >= PROGRESS_MIN_REQUESTS));
        let width = scenario.strategies.iter().map(|s| s.label.len()).max().unwrap_or(0);
        let style = ProgressStyle::with_template(&format!(
            "{{prefix:<{width}}} [{{bar:40}}] {{percent:>3}}% {{human_pos}}/{{human_len}} eta {{eta}}"
        ))
        .expect("valid template")
        .progress_chars("=> ");
        let bars = scenario
            .strategies
            .iter()
            .map(|s| {
                let b = multi.add(ProgressBar::new(per_strategy));
                b.set_style(style.clone());
                b.set_prefix(s.label.clone());
                b
            })
            .collect();
        StrategyBars { bars }
    }

    /// Counts a tick on its strategy's bar.
    pub fn tick(&self, t: Tick) {
        self.bars[t.strategy].inc(t.requests);
    }

    /// Removes the bars.
    pub fn finish(&self) {
        for b in &self.bars {
            b.finish_and_clear();
        }
    }
}

/// `lbsim sweep`: one bar over the requests of every point to run, with "done/total points".
#[derive(Debug)]
pub struct PointsBar {
    bar: ProgressBar,
    total: usize,
}

impl PointsBar {
    /// A bar over the simulations of `todo`, out of `total` points of which `done` are done.
    pub fn new(todo: &[Scenario], done: usize, total: usize, show: bool) -> PointsBar {
        let requests: u64 = todo.iter().map(requests).sum();
        let bar = ProgressBar::with_draw_target(Some(requests), target(show));
        bar.set_style(
            ProgressStyle::with_template("[{bar:30}] {percent:>3}%  {msg}  {elapsed} elapsed, eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        let this = PointsBar { bar, total };
        this.points_done(done);
        this
    }

    /// Counts a tick.
    pub fn tick(&self, t: Tick) {
        self.bar.inc(t.requests);
    }

    /// Shows that `done` points are done.
    pub fn points_done(&self, done: usize) {
        self.bar.set_message(format!("{done}/{} points", self.total));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `lbsim plan`: a spinner with the elapsed time and what the current round runs.
#[derive(Debug)]
pub struct Spinner {
    bar: ProgressBar,
}

impl Spinner {
    /// A spinner, drawn when `show`.
    pub fn new(show: bool) -> Spinner {
        if !(show && std::io::stderr().is_terminal()) {
            return Spinner { bar: ProgressBar::hidden() };
        }
        let bar = ProgressBar::new_spinner();
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {wide_msg}").expect("valid template"));
        bar.enable_steady_tick(Duration::from_millis(200));
        Spinner { bar }
    }

    /// Shows `message` next to the spinner.
    pub fn say(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
