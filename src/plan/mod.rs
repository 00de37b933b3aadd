//! `lbsim plan`: for each strategy, the smallest server count of a group that meets the SLOs.
//!
//! # Search
//! The search assumes the metrics are monotone in the group's server count S (more
//! servers, same load: latency, drops and utilisation do not rise), which holds for every
//! strategy lbsim models up to simulation noise. Below the smallest S with offered load
//! ρ < 1 nothing is simulated: the system is unstable and fails by definition. From there
//! the search brackets the answer by galloping (S₀, S₀+2, S₀+6, S₀+14, ...: steps doubling)
//! and then bisects between the largest failing and the smallest passing count, so an
//! answer A costs about 2·log₂(A − S₀) evaluations. Strategies are searched side by side;
//! each round's candidates run in one call of the runner ([`runner::run_scenarios`]).
//!
//! # Judging a candidate
//! A candidate passes when, for every SLO, the upper end of the metric's 95% confidence
//! interval over replications is within the limit ([`Slo::met_by`]). So a lucky seed cannot
//! pass a count whose true metric is above the limit; the price is that a count whose true
//! metric sits just under the limit (within the interval's half-width) may be judged failing
//! and the answer be one server more than the exact one. Plans need at least 2 replications
//! (5 are used when the scenario has 1). With a precision (`--precision`), a candidate whose
//! interval straddles a limit is run longer until its verdict is clear, or says it stays
//! uncertain (`settle`).
//!
//! Each candidate is a scenario with `servers[G].count = S` set in its text, seeded like a
//! sweep point with that value ([`crate::point`]), so `lbsim sweep --vary servers[G].count=S`
//! reproduces its numbers.

pub mod autoscaled;
pub mod rates;
mod search;
mod settle;
pub mod slo;

use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::runner::progress::Spinner;
use crate::runner::{self, Completion, RunnerOptions, ScenarioResults};
use crate::scenario::Overrides;
use crate::scenario::edit::{KeyPath, KeyValue, ScenarioText};
use crate::scenario::{Precision, Scenario, ScenarioError};
use crate::stats::{Estimate, StrategySummary};
use crate::{Result, budget, memory, point};
use autoscaled::Autoscaled;
use search::Search;
pub use slo::{Metric, Slo};

/// Replications used when the scenario has only one (a plan needs confidence intervals).
pub const DEFAULT_REPLICATIONS: u32 = 5;

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// Objectives; all must be met.
    pub slos: Vec<Slo>,
    /// Arrival rate to plan for (default: the scenario's).
    pub rate: Option<f64>,
    /// The group to size, by name (default: the only group).
    pub group: Option<String>,
    /// Largest count to consider.
    pub max_servers: u32,
    /// Cost of one server of the group, if given.
    pub cost: Option<f64>,
    /// `--requests`, `--seed`, `--replications`, `--strategies`.
    pub overrides: Overrides,
}

/// How to run a plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions<'a> {
    /// Worker threads; `None` = one per core.
    pub threads: Option<usize>,
    /// Show progress (only on a terminal).
    pub progress: bool,
    /// Ctrl-C: stop after the running round.
    pub stop: Option<&'a AtomicBool>,
}

/// The judgement of one candidate count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every SLO met (upper confidence bounds within the limits).
    Pass,
    /// Some SLO not met.
    Fail,
    /// With a precision: an interval still straddles its limit (counted as not met).
    Uncertain,
    /// ρ ≥ 1: not simulated.
    Unstable,
    /// The scenario is invalid with this count (e.g. a strategy samples more servers than there are).
    Invalid(String),
}

impl Verdict {
    /// Short text for tables and CSV.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Uncertain => "uncertain",
            Verdict::Unstable => "unstable",
            Verdict::Invalid(_) => "invalid",
        }
    }
}

/// One evaluated (or ruled out) candidate count for one strategy.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Servers in the group.
    pub servers: u32,
    /// Judgement.
    pub verdict: Verdict,
    /// Offered load at this count.
    pub rho: f64,
    /// The candidate's seed.
    pub seed: u64,
    /// Results, when simulated.
    pub summary: Option<StrategySummary>,
    /// Drop rate estimate, when simulated.
    pub drop_rate: Option<Estimate>,
    /// One estimate per SLO, when simulated.
    pub measures: Vec<Estimate>,
    /// Requests per replication it was judged at (more than the scenario's when a precision
    /// ran it longer).
    pub requests: u64,
    /// Why its verdict stayed uncertain.
    pub uncertain: Option<String>,
}

/// The plan for one strategy.
#[derive(Debug, Clone)]
pub struct StrategyPlan {
    /// Strategy label.
    pub label: String,
    /// The smallest passing count, when found within the limit.
    pub servers: Option<u32>,
    /// Why there is no answer.
    pub reason: Option<String>,
    /// Candidates evaluated, ascending by count.
    pub candidates: Vec<Candidate>,
}

impl StrategyPlan {
    /// The candidate of the answer.
    pub fn answer(&self) -> Option<&Candidate> {
        self.servers.and_then(|s| self.candidates.iter().find(|c| c.servers == s))
    }

    /// Candidates that were simulated.
    pub fn simulated(&self) -> usize {
        self.candidates.iter().filter(|c| c.summary.is_some()).count()
    }
}

/// The outcome of `lbsim plan`.
#[derive(Debug, Clone)]
pub struct PlanReport {
    /// The scenario as planned (overrides and rate applied; the group's count as written).
    pub scenario: Scenario,
    /// Name of the group sized.
    pub group: String,
    /// Its index.
    pub group_index: usize,
    /// Objectives.
    pub slos: Vec<Slo>,
    /// Arrival rate planned for.
    pub rate: f64,
    /// Largest count considered.
    pub max_servers: u32,
    /// Cost of one server of the group.
    pub cost: Option<f64>,
    /// Smallest stable count.
    pub min_stable: u32,
    /// One plan per strategy, in the scenario's order.
    pub strategies: Vec<StrategyPlan>,
    /// Notes for the reader (e.g. replications raised).
    pub notes: Vec<String>,
    /// Whether every search finished (false after Ctrl-C).
    pub complete: bool,
    /// Wall-clock time, s.
    pub wall_time: f64,
    /// The precision that settled unclear verdicts, if any.
    pub precision: Option<Precision>,
    /// When the group sized has an `[autoscaler]`: the autoscaled pool as written, beside
    /// the fixed pools the search sized ([`autoscaled`]).
    pub autoscaled: Option<Autoscaled>,
}

/// Plans `request` for the scenario `text`: the set-up (`Setup::new`), the smallest stable
/// count, then rounds of candidates (each strategy's next count, built and budgeted by
/// `next_candidates`, all run at once by `run_round`) until every search is done, and
/// each strategy's answer or the reason there is none (`conclude`).
pub fn plan(text: &ScenarioText, request: &PlanRequest, options: &PlanOptions) -> Result<PlanReport> {
    let started = Instant::now();
    let setup = Setup::new(text, request)?;
    let (group_index, rate) = (setup.group_index, setup.rate);
    let group = setup.base.groups[group_index].clone();
    let min_stable = min_stable_count(&setup.base, group_index, rate);

    let mut plans: Vec<StrategyPlan> = setup
        .base
        .strategies
        .iter()
        .map(|s| StrategyPlan { label: s.label.clone(), servers: None, reason: None, candidates: Vec::new() })
        .collect();
    let mut searches: Vec<Search> = plans.iter().map(|_| Search::above(min_stable - 1)).collect();
    if min_stable > request.max_servers {
        for (p, s) in plans.iter_mut().zip(&mut searches) {
            s.give_up();
            p.reason = Some(format!(
                "{} servers cannot carry {rate} req/s (ρ ≥ 1 up to {} servers); raise --max-servers",
                request.max_servers,
                min_stable - 1
            ));
        }
    }
    let bar = Spinner::new(options.progress);
    let mut complete = true;
    let mut autoscaled = None;
    if let Some(sc) = &setup.autoscaled {
        bar.say("the autoscaled pool, as written".to_string());
        let threads = budget::threads_or_cores(options.threads);
        budget::check(sc, threads, memory::memory_limit(), "the autoscaled pool")?;
        match run_jobs(std::slice::from_ref(sc), &[0], options)?.pop().flatten() {
            Some(r) => {
                let hpa = sc.autoscaler.clone().expect("an autoscaled scenario");
                autoscaled = Some(Autoscaled::judge(hpa, sc.seed, &request.slos, r));
            }
            None => complete = false,
        }
    }
    let mut round = 0;
    while complete {
        let (jobs, any) = next_candidates(&setup, request, options, &mut plans, &mut searches);
        if jobs.is_empty() {
            if !any {
                break;
            }
            continue;
        }
        round += 1;
        let what: Vec<String> = jobs.iter().map(|(i, s, _)| format!("{} @ {s}", plans[*i].label)).collect();
        bar.say(format!("round {round}: {}", what.join(", ")));
        let settle = setup.settle.as_ref();
        if run_round(jobs, request, options, settle, &mut plans, &mut searches)? == Completion::Stopped {
            complete = false;
            break;
        }
    }
    bar.finish();
    conclude(&mut plans, &searches, complete, request.max_servers);
    let Setup { mut base, notes, settle, .. } = setup;
    if let Some(r) = request.rate {
        // `--rate` edits `arrivals.rate`, which only the constant-rate processes take.
        if let Some(a) = base.arrivals.with_rate(r) {
            base.arrivals = a;
        }
    }
    Ok(PlanReport {
        scenario: base,
        group: group.name,
        group_index,
        slos: request.slos.clone(),
        rate,
        max_servers: request.max_servers,
        cost: request.cost,
        min_stable,
        strategies: plans,
        notes,
        complete,
        wall_time: started.elapsed().as_secs_f64(),
        precision: settle,
        autoscaled,
    })
}

/// What a plan works from, checked before anything runs.
struct Setup {
    /// The scenario with the overrides applied (and replications raised to 2 or more).
    base: Scenario,
    /// The overrides every candidate gets (replications included).
    overrides: Overrides,
    /// Notes for the reader.
    notes: Vec<String>,
    /// The group sized.
    group_index: usize,
    /// The count key of that group and the rate key, resolved in the text.
    count_key: KeyPath,
    rate_key: KeyPath,
    /// The rate planned for.
    rate: f64,
    /// `--rate`, as the value set in each candidate's text.
    rate_set: Option<KeyValue>,
    /// The text of each strategy alone.
    texts: Vec<ScenarioText>,
    /// The precision asked (taken off the candidates: it settles their verdicts instead).
    settle: Option<Precision>,
    /// When the group has an `[autoscaler]`: the scenario as written (overrides and rate
    /// applied), run beside the fixed pools (`base` and the texts are then without it).
    autoscaled: Option<Scenario>,
}

impl Setup {
    /// Checks `request` against `text` (objectives, limits, replications, the group, the
    /// rate), in the order the errors are reported.
    fn new(text: &ScenarioText, request: &PlanRequest) -> Result<Setup> {
        if request.slos.is_empty() {
            return Err(ScenarioError::at("--slo", "give at least one objective, e.g. --slo \"p99<=200ms\"").into());
        }
        if request.max_servers == 0 {
            return Err(ScenarioError::at("--max-servers", "must be at least 1").into());
        }
        let mut notes = Vec::new();
        let mut overrides = request.overrides.clone();
        let text = match overrides.strategies.take() {
            Some(names) => text.with_strategy_names(&names)?,
            None => text.clone(),
        };
        let mut base = text.scenario()?;
        overrides.apply(&mut base)?;
        if overrides.replications == Some(1) {
            return Err(ScenarioError::at(
                "--replications",
                "a plan judges each candidate with a confidence interval: it needs at least 2 replications",
            )
            .into());
        }
        if base.replications < 2 {
            overrides.replications = Some(DEFAULT_REPLICATIONS);
            base.replications = DEFAULT_REPLICATIONS;
            notes.push(format!(
                "the scenario has 1 replication; the plan uses {DEFAULT_REPLICATIONS} to judge each candidate with a \
                 confidence interval (set `replications` or --replications)"
            ));
        }
        if request.slos.iter().any(|s| s.metric == Metric::Mean)
            && let Some((alpha, source)) = base.heavy_tails().into_iter().find(|(a, _)| *a <= 2.0)
        {
            return Err(ScenarioError::at(
                "--slo",
                format!(
                    "the mean response time does not exist here: {source} is Pareto with alpha = {alpha} ≤ 2 \
                     (infinite variance), so the mean wait is infinite and no server count can meet a bound on it"
                ),
            )
            .with_help("plan on a percentile instead, e.g. --slo 'p99<=200ms'")
            .into());
        }
        let group_index = group_to_size(&base, request.group.as_deref())?;
        // An autoscaled group is sized as a fixed pool, the autoscaled one run beside it.
        let (written, text) = if base.autoscaler.as_ref().is_some_and(|a| a.group == group_index) {
            let fixed = text.without_autoscaler()?;
            base = fixed.scenario()?;
            overrides.apply(&mut base)?;
            (Some(text), fixed)
        } else {
            (None, text)
        };
        let count_key = text.resolve(&format!("servers[{group_index}].count"))?;
        let rate_key = text.resolve("arrivals.rate")?;
        if let Some(r) = request.rate
            && !(r.is_finite() && r > 0.0)
        {
            return Err(ScenarioError::at(
                "--rate",
                format!("must be a positive number of requests per second, got {r}"),
            )
            .into());
        }
        let rate = request.rate.unwrap_or(base.arrival_rate());
        let rate_set = request.rate.map(KeyValue::Float);
        let texts: Vec<ScenarioText> = (0..base.strategies.len()).map(|i| text.only_strategy(i)).collect();
        let settle = base.precision.take();
        let autoscaled = match written {
            Some(w) => {
                let sets: Vec<(&KeyPath, KeyValue)> = rate_set.iter().map(|&r| (&rate_key, r)).collect();
                let mut sc = w.with(&sets)?;
                overrides.apply(&mut sc)?;
                Some(Autoscaled::scenario(&sc))
            }
            None => None,
        };
        Ok(Setup {
            base,
            overrides,
            notes,
            group_index,
            count_key,
            rate_key,
            rate,
            rate_set,
            texts,
            settle,
            autoscaled,
        })
    }

    /// The candidate of strategy `i` with `s` servers in the group, seeded by the count
    /// alone: the sweep point `--vary servers[G].count=S`.
    fn build(&self, i: usize, s: u32) -> std::result::Result<Scenario, String> {
        let mut sets = vec![(&self.count_key, KeyValue::Integer(i64::from(s)))];
        if let Some(r) = self.rate_set {
            sets.push((&self.rate_key, r));
        }
        let mut sc = point::build(&self.texts[i], &sets, &self.overrides, &sets[..1]).map_err(|e| e.to_string())?;
        sc.precision = None;
        Ok(sc)
    }
}

/// The index of the group `--group` names, or of the only group.
fn group_to_size(base: &Scenario, group: Option<&str>) -> Result<usize> {
    let names = || base.groups.iter().map(|x| x.name.as_str()).collect::<Vec<&str>>();
    match group {
        Some(g) => Ok(base.groups.iter().position(|x| x.name == g).ok_or_else(|| {
            let names = names();
            ScenarioError::at("--group", format!("no server group is named `{g}`; the groups are {}", names.join(", ")))
                .suggest(g, names.iter().copied())
        })?),
        None if base.groups.len() == 1 => Ok(0),
        None => {
            let names = names();
            Err(ScenarioError::at(
                "--group",
                format!("the scenario has {} server groups ({}); say which to size", names.len(), names.join(", ")),
            )
            .into())
        }
    }
}

/// The smallest count of group `group_index` with offered load ρ < 1 at `rate` (capacity is
/// linear in the group's count).
fn min_stable_count(base: &Scenario, group_index: usize, rate: f64) -> u32 {
    let group = &base.groups[group_index];
    let server = &base.servers[group.first];
    let per_server = f64::from(server.workers) / base.mean_service_of(group.first);
    let others = base.capacity() - group.count as f64 * per_server;
    let mut min_stable = (((rate - others) / per_server).floor() + 1.0).max(1.0).min(f64::from(u32::MAX)) as u32;
    while min_stable > 1 && rate < others + f64::from(min_stable - 1) * per_server {
        min_stable -= 1;
    }
    while rate >= others + f64::from(min_stable) * per_server {
        min_stable += 1;
    }
    min_stable
}

/// This round's candidates, (strategy, count, scenario): each search's next count that can
/// run; counts that cannot (unstable, invalid, over the memory budget) are recorded as failing
/// without running. Also whether any search asked for a count.
fn next_candidates(
    setup: &Setup,
    request: &PlanRequest,
    options: &PlanOptions,
    plans: &mut [StrategyPlan],
    searches: &mut [Search],
) -> (Vec<(usize, u32, Scenario)>, bool) {
    let (threads, limit) = (budget::threads_or_cores(options.threads), memory::memory_limit());
    let mut jobs: Vec<(usize, u32, Scenario)> = Vec::new();
    let mut any = false;
    for (i, search) in searches.iter_mut().enumerate() {
        while let Some(s) = search.next(request.max_servers) {
            any = true;
            match setup.build(i, s) {
                Ok(sc) if sc.offered_load() >= 1.0 => {
                    plans[i].candidates.push(unrun(s, Verdict::Unstable, &sc));
                    search.record(s, false);
                }
                Ok(sc) => match budget::check(&sc, threads, limit, &format!("{s} servers")) {
                    Ok(_) => {
                        jobs.push((i, s, sc));
                        break;
                    }
                    Err(e) => {
                        plans[i].candidates.push(unrun(s, Verdict::Invalid(e.message), &sc));
                        search.record(s, false);
                    }
                },
                Err(why) => {
                    plans[i].candidates.push(Candidate {
                        servers: s,
                        verdict: Verdict::Invalid(why),
                        rho: f64::NAN,
                        seed: 0,
                        summary: None,
                        drop_rate: None,
                        measures: Vec::new(),
                        requests: 0,
                        uncertain: None,
                    });
                    search.record(s, false);
                }
            }
        }
    }
    (jobs, any)
}

/// Runs one round's candidates on the runner and judges each against the SLOs; with a
/// precision, runs those whose verdict is unclear longer until it is clear or cannot be made
/// so ([`settle`]).
fn run_round(
    jobs: Vec<(usize, u32, Scenario)>,
    request: &PlanRequest,
    options: &PlanOptions,
    settle: Option<&Precision>,
    plans: &mut [StrategyPlan],
    searches: &mut [Search],
) -> Result<Completion> {
    let mut scenarios: Vec<Scenario> = jobs.iter().map(|j| j.2.clone()).collect();
    let mut results = run_jobs(&scenarios, &(0..jobs.len()).collect::<Vec<_>>(), options)?;
    let mut end = if results.iter().all(Option::is_some) { Completion::Complete } else { Completion::Stopped };
    let measure = |r: &ScenarioResults| -> Vec<Estimate> { request.slos.iter().map(|slo| slo.measure(r, 0)).collect() };
    if let Some(p) = settle {
        let caps: Vec<u64> = scenarios.iter().map(|sc| p.cap(sc.requests)).collect();
        while end == Completion::Complete {
            let mut grown: Vec<usize> = Vec::new();
            for (j, r) in results.iter().enumerate() {
                let Some(r) = r else { continue };
                let next = settle::growth(&request.slos, &measure(r), p)
                    .and_then(|f| settle::longer(&scenarios[j], f, caps[j]));
                if let Some(longer) = next {
                    scenarios[j] = longer;
                    grown.push(j);
                }
            }
            if grown.is_empty() {
                break;
            }
            let again = run_jobs(&scenarios, &grown, options)?;
            for (j, r) in grown.into_iter().zip(again) {
                match r {
                    Some(r) => results[j] = Some(r),
                    None => end = Completion::Stopped,
                }
            }
        }
    }
    for ((j, (i, s, sc)), r) in jobs.into_iter().enumerate().zip(results) {
        let Some(r) = r else { continue };
        let measures = measure(&r);
        let verdict = match settle {
            None if request.slos.iter().zip(&measures).all(|(slo, &e)| slo.met_by(e)) => Verdict::Pass,
            None => Verdict::Fail,
            Some(_) => match settle::judge(&request.slos, &measures) {
                settle::Judged::Pass => Verdict::Pass,
                settle::Judged::Fail => Verdict::Fail,
                settle::Judged::Uncertain => Verdict::Uncertain,
            },
        };
        let uncertain = match (settle, &verdict) {
            (Some(p), Verdict::Uncertain) => {
                let at_cap = scenarios[j].requests >= p.cap(sc.requests);
                Some(settle::why_uncertain(&request.slos, &measures, p, at_cap))
            }
            _ => None,
        };
        searches[i].record(s, verdict == Verdict::Pass);
        plans[i].candidates.push(Candidate {
            servers: s,
            verdict,
            rho: sc.offered_load(),
            seed: sc.seed,
            summary: r.strategies.into_iter().next(),
            drop_rate: r.drop_rate.first().copied(),
            measures,
            requests: r.requests,
            uncertain,
        });
    }
    Ok(end)
}

/// Runs `scenarios[j]` for each `j` of `which` on the runner: their results, in that order
/// (`None` for one not run after a stop).
fn run_jobs(scenarios: &[Scenario], which: &[usize], options: &PlanOptions) -> Result<Vec<Option<ScenarioResults>>> {
    let batch: Vec<Scenario> = which.iter().map(|&j| scenarios[j].clone()).collect();
    let results: Mutex<Vec<Option<ScenarioResults>>> = Mutex::new(vec![None; batch.len()]);
    let runner = RunnerOptions { threads: options.threads, stop: options.stop, progress: None, open_models: false };
    runner::run_scenarios(&batch, &runner, &|j, r| {
        results.lock().expect("no panic while held")[j] = Some(r);
        Ok(())
    })?;
    Ok(results.into_inner().expect("no panic while held"))
}

/// Each strategy's answer, or why it has none.
fn conclude(plans: &mut [StrategyPlan], searches: &[Search], complete: bool, max_servers: u32) {
    for (p, s) in plans.iter_mut().zip(searches) {
        p.candidates.sort_by_key(|c| c.servers);
        if let Some(h) = s.answer() {
            p.servers = Some(h);
        } else if complete && p.reason.is_none() {
            let why = p.candidates.iter().rev().find_map(|c| match &c.verdict {
                Verdict::Invalid(w) => Some(w.clone()),
                _ => None,
            });
            p.reason = Some(match why {
                Some(w) if p.candidates.iter().all(|c| c.summary.is_none()) => w,
                _ => format!("not met with up to {max_servers} servers; raise --max-servers"),
            });
        } else if !complete {
            p.reason = Some("interrupted".into());
        }
    }
}

fn unrun(servers: u32, verdict: Verdict, sc: &Scenario) -> Candidate {
    Candidate {
        servers,
        verdict,
        rho: sc.offered_load(),
        seed: sc.seed,
        summary: None,
        drop_rate: None,
        measures: Vec::new(),
        requests: sc.requests,
        uncertain: None,
    }
}
