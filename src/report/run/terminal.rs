//! The side-by-side table printed by `lbsim run`, with its notes and warnings.
//!
//! The default table fits a [`TABLE_WIDTH`]-column terminal: a chosen set of columns (the
//! response time, the busiest server's load, the imbalance, what the scenario makes
//! relevant), dropping the least important ones while it is too wide, with long strategy
//! labels shortened ([`short_label`]). `--wide` shows every column, `--columns a,b,…` the
//! ones named (summary.csv's names). A strategy whose queues grow without bound is marked
//! UNSTABLE and never gets a best mark; nor does one that completed nothing.

use comfy_table::{Attribute, Cell, CellAlignment, Color};

use super::Report;
use super::columns::{Ci, Column, Mark, applies, columns, marks, rankable, relevant, shown, value};
use crate::duration::format_duration;
use crate::report::format::TABLE_WIDTH;
use crate::report::{format, table};
use crate::scenario::arrivals::Shape;
use crate::scenario::{Scenario, ScenarioError};
use crate::stats::StrategySummary;

/// Longest strategy label the default table shows as it is.
pub const LABEL_MAX: usize = 22;

/// Which columns the table shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Layout {
    /// The default columns, as many as fit [`TABLE_WIDTH`], labels shortened.
    #[default]
    Fit,
    /// Every column that applies to the scenario, full labels.
    Wide,
    /// These columns (summary.csv names), in this order, full labels.
    Columns(Vec<&'static str>),
}

impl Layout {
    /// The layout of `--columns LIST`: comma-separated summary.csv column names of table
    /// columns (`strategy` is always shown and may be left out).
    pub fn columns(list: &str) -> Result<Layout, ScenarioError> {
        let mut keys = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty() && *n != "strategy") {
            let col = columns().find(|c| c.name == name).ok_or_else(|| {
                ScenarioError::at("--columns", format!("no table column `{name}`"))
                    .with_help(format!("the columns are {}", columns().map(|c| c.name).collect::<Vec<_>>().join(", ")))
                    .suggest(name, columns().map(|c| c.name))
            })?;
            keys.push(col.name);
        }
        if keys.is_empty() {
            return Err(
                ScenarioError::at("--columns", "no column named").with_help("e.g. --columns mean_ms,p99_ms,rho_max")
            );
        }
        Ok(Layout::Columns(keys))
    }
}

/// `label` shortened to at most [`LABEL_MAX`] characters, in steps, each only while it is
/// still too long: parameters by value (`p2c(3)`), `connections` → `conn` and `response` →
/// `resp`, `weighted-` → `w-`, then cut with `…`.
pub fn short_label(label: &str) -> String {
    let fits = |s: &str| s.chars().count() <= LABEL_MAX;
    let mut s = label.to_string();
    if !fits(&s)
        && let Some((name, params)) = s.split_once('(')
    {
        let values: Vec<String> = params
            .trim_end_matches(')')
            .split(',')
            .map(|p| p.split_once('=').map_or(p, |(_, v)| v).trim().trim_matches('"').to_string())
            .collect();
        s = format!("{name}({})", values.join(","));
    }
    for (long, short) in [("connections", "conn"), ("response", "resp"), ("weighted-", "w-")] {
        if !fits(&s) {
            s = s.replace(long, short);
        }
    }
    if !fits(&s) {
        s = s.chars().take(LABEL_MAX - 1).collect::<String>() + "…";
    }
    s
}

/// The labels shown for the strategies: shortened ([`short_label`]) when `shorten`, unless
/// that makes two the same.
fn labels(report: &Report, shorten: bool) -> Vec<String> {
    let full: Vec<String> = report.strategies.iter().map(|s| s.label.clone()).collect();
    if !shorten {
        return full;
    }
    let short: Vec<String> = full.iter().map(|l| short_label(l)).collect();
    let mut distinct = short.clone();
    distinct.sort();
    distinct.dedup();
    if distinct.len() == short.len() { short } else { full }
}

/// A row of [`TableView`]: the label (with ` UNSTABLE` when the strategy's queues grow
/// without bound) and whether it is unstable, then each cell's text (`*` or `≈` as in the
/// terminal) and whether it is the column's best.
pub type Row = ((String, bool), Vec<(String, bool)>);

/// The table of `layout` as cells, for renderings other than the terminal's (report.html):
/// the same columns, figures, marks and notes as [`render_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct TableView {
    /// The header: the pool line, then the run's size.
    pub heading: [String; 2],
    /// Column titles, `strategy` first.
    pub header: Vec<String>,
    /// One [`Row`] per strategy.
    pub rows: Vec<Row>,
    /// The notes under the table (markers, intervals, legend, hidden columns), then the
    /// notes on faults, phases, closed loops and pods.
    pub notes: Vec<String>,
}

/// The [`TableView`] of `report` in `layout`.
pub fn view(report: &Report, layout: &Layout) -> TableView {
    let (cols, labels, hidden) = layout_columns(report, layout);
    let (header, rows, clipped) = cells(report, &cols, &labels);
    let mut notes = notes(report, &cols, &labels, hidden, clipped);
    notes.extend(more_notes(report));
    TableView { heading: heading(report), header, rows, notes }
}

/// The table's header, rows and whether some interval in it is shown clipped at a
/// physical bound (see [`TableView`]).
fn cells(report: &Report, cols: &[&Column], labels: &[String]) -> (Vec<String>, Vec<Row>, bool) {
    let mut header = vec!["strategy".to_string()];
    header.extend(cols.iter().map(|c| shown(c).title.to_string()));
    let marks: Vec<Vec<Option<Mark>>> = cols.iter().map(|c| marks(report, c, rankable)).collect();
    let mut clipped = false;
    let mut rows = Vec::with_capacity(report.strategies.len());
    for (row_index, (s, label)) in report.strategies.iter().zip(labels).enumerate() {
        let first = if s.is_unstable() { format!("{label} UNSTABLE") } else { label.clone() };
        let mut row = Vec::with_capacity(cols.len());
        for (c, m) in cols.iter().zip(&marks) {
            let (v, ci) = value(c, s, &report.scenario);
            let digits = shown(c).digits;
            let mut text = if v.is_finite() { format!("{v:.digits$}") } else { "–".to_string() };
            match ci {
                Some(Ci { clipped: Some((lo, hi)), .. }) => {
                    clipped = true;
                    text.push_str(&format!(" [{lo:.digits$}, {hi:.digits$}]"));
                }
                Some(Ci { half, .. }) => text.push_str(&format!(" ±{half:.digits$}")),
                None => {}
            }
            let mark = m[row_index];
            match mark {
                Some(Mark::Best) => text.push('*'),
                Some(Mark::Tied) => text.push('≈'),
                None => {}
            }
            row.push((text, mark == Some(Mark::Best)));
        }
        rows.push(((first, s.is_unstable()), row));
    }
    (header, rows, clipped)
}

/// The table itself (strategies as rows), with the columns `cols` and the row labels
/// `labels`, and whether some interval in it is shown clipped at a physical bound.
fn table(report: &Report, cols: &[&Column], labels: &[String], color: bool) -> (String, bool) {
    let (header, rows, clipped) = cells(report, cols, labels);
    let mut table = table::new(color);
    table.set_header(header.iter().map(Cell::new).collect::<Vec<_>>());
    for ((label, unstable), cells) in rows {
        let mut first = Cell::new(label);
        if unstable && color {
            first = first.fg(Color::Red);
        }
        let mut row = vec![first];
        for (text, is_best) in cells {
            let mut cell = Cell::new(text).set_alignment(CellAlignment::Right);
            if is_best && color {
                cell = cell.add_attribute(Attribute::Bold);
            }
            row.push(cell);
        }
        table.add_row(row);
    }
    (table.to_string(), clipped)
}

/// The columns of `layout` for `report`, the labels, and how many applicable columns the
/// table leaves out.
fn layout_columns(report: &Report, layout: &Layout) -> (Vec<&'static Column>, Vec<String>, usize) {
    let applicable: Vec<&Column> = columns().filter(|c| applies(c, report)).collect();
    match layout {
        Layout::Wide => (applicable, labels(report, false), 0),
        Layout::Columns(keys) => {
            let cols: Vec<&Column> = keys.iter().filter_map(|k| columns().find(|c| c.name == *k)).collect();
            let hidden = applicable.iter().filter(|c| !keys.contains(&c.name)).count();
            (cols, labels(report, false), hidden)
        }
        Layout::Fit => {
            let labels = labels(report, true);
            let mut cols: Vec<&Column> =
                applicable.iter().copied().filter(|c| shown(c).keep > 0 && relevant(c, report)).collect();
            // Drop the least important column while the table is too wide.
            while cols.len() > 1 && format::width(&table(report, &cols, &labels, false).0) > TABLE_WIDTH {
                let least =
                    cols.iter().enumerate().min_by_key(|(_, c)| shown(c).keep).map(|(i, _)| i).expect("non-empty");
                cols.remove(least);
            }
            let hidden = applicable.len() - cols.len();
            (cols, labels, hidden)
        }
    }
}

/// What the non-obvious columns shown mean, in one line (their metrics' legends).
fn legend(cols: &[&Column]) -> Option<String> {
    let mut parts: Vec<&str> = cols.iter().filter_map(|c| c.legend).collect();
    parts.dedup();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The header's description of the arrivals.
fn arrivals_line(sc: &Scenario) -> String {
    match sc.arrivals.shape() {
        Shape::Closed(c) => {
            let think = match &c.think {
                None => "no think time".to_string(),
                Some(d) => format!("think {} {}", d.name(), format_duration(d.mean())),
            };
            format!("closed loop of {} clients ({think}), at most {:.1} req/s", c.clients, sc.arrival_rate())
        }
        Shape::Replay(t) => format!(
            "trace {} ({} of {} rows, speed ×{}), {:.1} req/s mean",
            t.file.display(),
            sc.requests,
            t.len(),
            t.speed,
            sc.arrival_rate()
        ),
        Shape::Peaked => format!("{:.1} req/s mean (peak {:.1})", sc.arrival_rate(), sc.peak_rate()),
        Shape::Constant => format!("{:.1} req/s offered", sc.arrival_rate()),
    }
}

/// Renders the report as the default table (see [`render_with`]).
pub fn render(report: &Report, color: bool) -> String {
    render_with(report, color, &Layout::Fit)
}

/// The header's two parts: the pool (servers, arrivals, capacity, ρ, service) and the
/// run's size.
fn heading(report: &Report) -> [String; 2] {
    let sc = &report.scenario;
    // A deployed group's room for its deploys is not in the capacity: say so.
    let servers = match sc.deploy_room() {
        0 => format!("{} servers", sc.server_count()),
        r => format!("{} servers (+{r} places for deploys)", sc.server_count() - r),
    };
    // What explains a result beside the load: a trace's burst, the balancers and their view.
    let peak = super::charts::trace_peak(sc).map_or(String::new(), |(r, w, at)| {
        format!(
            " (peak {r:.1} req/s over {} from {}: ρ = {:.3})",
            format_duration(w),
            format_duration(at),
            r / sc.capacity()
        )
    });
    let balancers =
        if sc.balancers.is_default() { String::new() } else { format!(" balancers: {},", sc.balancers.describe()) };
    let pool = format!(
        "{}: {servers}, {}, capacity {:.1} req/s, ρ = {:.3}{peak}, mean service {},{balancers}",
        sc.name,
        arrivals_line(sc),
        sc.capacity(),
        report.offered_load(),
        format_duration(sc.mean_demand())
            + if sc.groups.iter().any(|g| g.service.is_some()) { " (some groups their own)" } else { "" },
    );
    let run = format!(
        "{} requests × {} replication{} (warm-up {}{})",
        sc.requests,
        sc.replications,
        if sc.replications == 1 { "" } else { "s" },
        sc.warmup,
        if sc.warmup_explicit { "" } else { " auto" },
    );
    [pool, run]
}

/// The notes printed right under the table, one paragraph each.
fn notes(report: &Report, cols: &[&Column], labels: &[String], hidden: usize, clipped: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    if report.strategies.iter().filter(|s| rankable(s)).count() > 1 {
        notes.push(
            "* best in column: its paired 95% difference with every other row excludes 0; ≈ = leaders not told \
             apart (never on an UNSTABLE row or one that completed nothing)"
                .to_string(),
        );
    }
    if report.scenario.replications > 1 {
        notes.push("± = 95% confidence half-width over replications".to_string());
    } else if let Some(k) = report.strategies.iter().filter_map(|s| s.batch_count).min() {
        notes.push(format!("± = 95% confidence half-width from batch means within the run (≥ {k} batches)"));
    }
    if clipped {
        // The note explains itself: the warning lists only the figures of the default table,
        // and a `--wide` or `--columns` table may clip others (max/mean at 1).
        notes.push(
            "[a, b] = a 95% confidence interval clipped at a physical bound (value ± half-width would reach past \
             it; more replications narrow it)"
                .to_string(),
        );
    }
    if !notes.is_empty() {
        out.push(notes.join("; "));
    }
    out.extend(precision_note(report));
    if report.strategies.iter().any(StrategySummary::is_unstable) {
        out.push(
            "UNSTABLE = queues grow without bound under that strategy (see the warnings): its figures describe a \
             transient and depend on the run length"
                .to_string(),
        );
    }
    out.extend(legend(cols));
    let renamed: Vec<String> = report
        .strategies
        .iter()
        .zip(labels)
        .filter(|(s, l)| s.label != **l)
        .map(|(s, l)| format!("{l} = {}", s.label))
        .collect();
    if !renamed.is_empty() {
        out.push(format!("labels shortened: {}", renamed.join(", ")));
    }
    if hidden > 0 {
        out.push(format!(
            "{hidden} more column{} with --wide, or choose with --columns (summary.csv names, e.g. --columns \
             mean_ms,p99_ms,rho_max,queue_spread)",
            if hidden == 1 { "" } else { "s" }
        ));
    }
    out
}

/// The notes on faults, phases, closed loops and pods, one line each.
fn more_notes(report: &Report) -> Vec<String> {
    fault_notes(report)
        .into_iter()
        .chain(super::phases::notes(report))
        .chain(closed_loop_notes(report))
        .chain(pod_notes(report))
        .chain(fair_share_notes(report))
        .chain(hedge_notes(report))
        .chain(super::subsets::notes(report))
        .chain(super::slo::notes(report))
        .chain(super::headroom::notes(report))
        .collect()
}

/// Renders the report as a table in `layout` (strategies as rows, best value per column
/// marked with `*`), preceded by a header line and followed by notes and warnings.
pub fn render_with(report: &Report, color: bool, layout: &Layout) -> String {
    let mut out = String::new();
    let [pool, run] = heading(report);
    // One line if it fits the table's width; else the run's size on a line of its own.
    if pool.chars().count() + 1 + run.chars().count() <= TABLE_WIDTH {
        out.push_str(&format!("{pool} {run}\n"));
    } else {
        out.push_str(&format::to_width(&pool));
        out.push_str(&format::to_width(&run));
    }
    let (cols, labels, hidden) = layout_columns(report, layout);
    let (text, clipped) = table(report, &cols, &labels, color);
    out.push_str(&text);
    out.push('\n');
    for n in notes(report, &cols, &labels, hidden, clipped) {
        out.push_str(&format::to_width(&n));
    }
    for line in more_notes(report) {
        out.push_str(&format::terminal_line(&line));
    }
    for w in &report.warnings {
        out.push_str(&format::labelled("warning", &w.to_string()));
    }
    out
}

/// With `precision`: which figures reached their target ([`crate::stats::Reached::met`]), and
/// which strategies' did not.
fn precision_note(report: &Report) -> Option<String> {
    let p = report.scenario.precision.as_ref()?;
    let items: Vec<String> = p
        .targets
        .iter()
        .map(|&(measure, target)| {
            let missed: Vec<String> = report
                .strategies
                .iter()
                .filter_map(|s| s.precision.iter().find(|r| r.measure == measure).map(|r| (s, r)))
                .filter(|(_, r)| !r.met())
                .map(|(s, r)| match r.relative {
                    Some(x) if !r.independent => format!("{} ({:.1}%, batches correlated)", s.label, 100.0 * x),
                    Some(x) => format!("{} ({:.1}%)", s.label, 100.0 * x),
                    None => format!("{} (no interval)", s.label),
                })
                .collect();
            let goal = format!("{measure} ≤ {}%", fmt_percent(target));
            if missed.is_empty() {
                format!("{goal} reached by every strategy")
            } else {
                format!("{goal} NOT reached by {}", missed.join(", "))
            }
        })
        .collect();
    let short = report.strategies.iter().any(|s| !s.is_unstable() && s.precision.iter().any(|r| !r.met()));
    Some(format!(
        "precision at {} requests (95% half-width ≤ target/(1 + target) of the value: within the target of the truth): {}{}",
        report.scenario.requests,
        items.join("; "),
        if short { " — the cap was reached: raise --max-requests (max_requests)" } else { "" }
    ))
}

/// A share as a percentage without trailing zeros (0.02 → 2, 0.025 → 2.5).
fn fmt_percent(share: f64) -> String {
    let text = format!("{:.3}", 100.0 * share);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Per fault of the first replication: when each strategy stopped using the server.
fn fault_notes(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let width = report.strategies.iter().map(|s| s.label.len()).max().unwrap_or(0);
    // Windows alike but for their server whose lines are the same (the pods a scale-out
    // adds) make one note naming them all: (what and when, servers, lines).
    let mut notes: Vec<(String, Vec<&str>, Vec<String>)> = Vec::new();
    for (i, win) in report.fault_windows_of(0).enumerate() {
        let what = win.kind.describe();
        let until = win.end.map_or(String::new(), |e| format!(" until {}", format_duration(e)));
        let when = format!("{what} at {}{until}", format_duration(win.start));
        let mut lines = Vec::new();
        if win.kind.deploy().is_some() {
            lines.extend(deploy_notes(report, win.fault, width));
        }
        for s in report.strategies.iter().filter(|_| win.kind.deploy().is_none()) {
            let Some(o) = s.faults.first().and_then(|f| f.get(i)) else { continue };
            let mut detected = match (o.detected_at, o.detected_by) {
                (Some(t), Some(by)) => format!("out of rotation after {} ({by})", format_duration(t - win.start)),
                _ => "never taken out of rotation".to_string(),
            };
            // Every removal counts: a slowed server a health check fails again and again is
            // out, back, out…; and when it came back (or that it did not).
            let n = o.removals();
            if n > 1 {
                detected.push_str(&format!(", {n} times"));
            }
            match o.rotation.last() {
                Some(c) if !c.out => detected.push_str(&format!(", back at {}", format_duration(c.at))),
                Some(_) => detected.push_str(", still out at the end"),
                None => {}
            }
            if let Some(rho) = o.rho {
                detected.push_str(&format!("; ρ {} in the window", format::fixed(rho, 3)));
            }
            let herd = if win.kind.crashes() {
                format!(", {} request(s) refused before", o.refused_before_detection)
            } else {
                String::new()
            };
            lines.push(format!("  {:width$}  {detected}{herd}", s.label));
        }
        match notes.iter_mut().find(|n| n.0 == when && n.2 == lines) {
            Some(n) => n.1.push(&win.server_name),
            None => notes.push((when, vec![&win.server_name], lines)),
        }
    }
    for (when, names, lines) in notes {
        out.push(format!("fault: {} {when} (replication 0):", super::phases::server_list(&names)));
        out.extend(lines);
    }
    for s in &report.strategies {
        let (panics, fallbacks) = (s.panics, s.fallbacks);
        if panics > 0 {
            out.push(format!("{}: no server was eligible {panics} time(s); the balancer then used them all", s.label));
        }
        if fallbacks > 0 {
            out.push(format!(
                "{}: could not be rebuilt over the eligible servers {fallbacks} time(s); picks of ineligible servers were redirected at random",
                s.label
            ));
        }
    }
    out
}

/// A rolling deploy in replication 0, per strategy: how long it took, the pods it replaced,
/// the fewest available and the most pods during it (deploys.csv has every replication).
fn deploy_notes(report: &Report, fault: usize, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for s in &report.strategies {
        let Some(d) = s.pods.first().and_then(|p| p.deploys.iter().find(|d| d.fault == fault)) else { continue };
        let took = d.end.map_or_else(
            || "not complete at the end".to_string(),
            |e| format!("complete after {}", format_duration(e - d.start)),
        );
        out.push(format!(
            "  {:width$}  {took}: {} of {} pods replaced, at least {} available, at most {} pods",
            s.label, d.replaced, d.replicas, d.min_available, d.max_pods
        ));
    }
    out
}

/// With `[autoscaler]`: each strategy's cost (pod-seconds) and scale events.
fn pod_notes(report: &Report) -> Vec<String> {
    let Some(a) = &report.scenario.autoscaler else { return Vec::new() };
    let target = match a.metric {
        crate::scenario::autoscaler::Metric::Utilization => format!("{}%", crate::duration::format_number(a.target)),
        _ => format!("{} per pod", crate::duration::format_number(a.target)),
    };
    let mut out = vec![format!(
        "autoscaler ({} target {target}, {}–{} pods): pod-seconds over the whole run (mean over replications, ± 95%), \
         scale events per run; pods.csv and scale_events.csv have the timelines:",
        a.metric_name(),
        a.min_replicas,
        a.max_replicas
    )];
    let width = report.strategies.iter().map(|s| s.label.len()).max().unwrap_or(0);
    for s in &report.strategies {
        let Some(cost) = s.pod_seconds else { continue };
        let ci = cost.ci95.map_or(String::new(), |h| format!(" ±{h:.0}"));
        let events = s.pods.iter().map(|p| p.events.len()).sum::<usize>() as f64 / s.pods.len().max(1) as f64;
        let peak = s.pods.iter().flat_map(|p| p.timeline.iter().map(|c| c.ready)).max().unwrap_or(0);
        out.push(format!(
            "  {:width$}  {:.0}{ci} pod-s, {events:.1} scale events, at most {peak} ready pods",
            s.label, cost.value
        ));
    }
    out
}

/// With `balance = "connection"`: how long servers that joined took to carry their share.
fn fair_share_notes(report: &Report) -> Vec<String> {
    if !report.strategies.iter().any(|s| s.fair_share.is_some()) {
        return Vec::new();
    }
    let mut out = vec![
        "servers that joined (a crash window's end, a new pod): the longest any took to hold 90% of its fair share \
         of the connections (connections ÷ endpoints), over replications (summary.csv `fair_share_s`):"
            .to_string(),
    ];
    let width = report.strategies.iter().map(|s| s.label.len()).max().unwrap_or(0);
    for s in &report.strategies {
        let Some(t) = s.fair_share else { continue };
        let when = if t.is_finite() { format_duration(t) } else { "never, within the run".to_string() };
        out.push(format!("  {:width$}  {when}", s.label));
    }
    out
}

/// `[client] hedge_after`: the copies each strategy sent, won and their cost (summary.csv
/// `hedges_sent`, `hedges_won`, `hedge_extra_load`).
fn hedge_notes(report: &Report) -> Vec<String> {
    let Some(h) = report.scenario.client.and_then(|c| c.hedge) else { return Vec::new() };
    let after = match h.after {
        crate::scenario::HedgeAfter::Fixed(d) => format_duration(d),
        crate::scenario::HedgeAfter::Percentile(p) => format!("the p{p} of the last 1000 successes"),
    };
    let cancel = if h.cancel_on_first { "the first answer cancels the others" } else { "copies are not cancelled" };
    let mut out = vec![format!(
        "hedged requests (up to {} cop{} per attempt after {after}; {cancel}), measured requests pooled over \
         replications (summary.csv `hedges_sent`, `hedges_won`, `hedge_extra_load`):",
        h.max_hedges,
        if h.max_hedges == 1 { "y" } else { "ies" }
    )];
    let width = report.strategies.iter().map(|s| s.label.len()).max().unwrap_or(0);
    for s in &report.strategies {
        let Some(c) = s.hedges else { continue };
        let requests = s.measured.generated.max(1) as f64;
        let won = if c.sent == 0 { 0.0 } else { 100.0 * c.won as f64 / c.sent as f64 };
        out.push(format!(
            "  {:width$}  {} copies ({:.1}% of requests), {} answered first ({won:.0}% of copies), extra load {:.1}%",
            s.label,
            c.sent,
            100.0 * c.sent as f64 / requests,
            c.won,
            100.0 * c.extra_load()
        ));
    }
    out
}

/// For a closed loop: what an open workload at the same throughput would see.
fn closed_loop_notes(report: &Report) -> Vec<String> {
    if !report.scenario.is_closed() {
        return Vec::new();
    }
    let mut out = vec![
        "closed loop: clients wait for each response, so they send less exactly when the system is slow and the \
         percentiles above omit the delays the missing requests would have seen (coordinated omission). An open \
         workload at the same throughput sees:"
            .to_string(),
    ];
    for s in &report.strategies {
        if let Some(o) = s.open_model {
            out.push(format!(
                "  {}: {:.1} req/s → mean {:.3} ms, p99 {:.3} ms (closed loop: mean {:.3} ms, p99 {:.3} ms)",
                s.label,
                o.rate.value,
                o.mean.value * 1e3,
                o.p99.value * 1e3,
                s.mean.value * 1e3,
                s.p99.value * 1e3
            ));
        }
    }
    out
}
