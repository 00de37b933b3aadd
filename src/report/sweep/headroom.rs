//! Headroom at an SLO (`lbsim sweep … --slo 'p99<=100ms'`): per strategy (and per value of
//! the other varied keys), the highest value of the first varied key whose point meets the
//! objective, and where the metric crosses the limit.
//!
//! A point meets the objective as a plan's candidate does ([`Slo`]): the upper end of the
//! metric's 95% confidence interval is within the limit, and the strategy is not unstable
//! there. Walking the points in increasing x, the answer is the last point before the first
//! that does not meet it (latency grows with load: a later point that meets it again is
//! noise, not headroom). The crossing is where the estimate first exceeds the limit,
//! interpolated between that point and the one before, linearly in x on the logarithm of the
//! metric (latency grows roughly exponentially towards capacity, so a straight line in log
//! space follows it better than one in the metric itself); its interval runs from where the
//! 95% band's upper edge first exceeds the limit (the same interpolation) to where its lower
//! edge does. An unstable point exceeds every limit (a crossing there is placed on it, its
//! interval starting at the point before). A crossing beyond the last swept value
//! is unknown (`None`). ρ at the crossing is interpolated linearly (ρ is linear in the
//! arrival rate, and nearly so in the server count between two close points).

use super::{PointRow, SweepView, series_labels};
use crate::plan::slo::{Metric, Slo};

/// The metrics a sweep can judge (sweep.csv's view carries these two).
pub fn supported(metric: Metric) -> bool {
    matches!(metric, Metric::P99 | Metric::Mean)
}

/// One strategy's headroom (in one panel: one combination of the other varied keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Headroom {
    /// Strategy label (as the sweep's legend shows it).
    pub label: String,
    /// Position of the strategy in the points' cells.
    pub series: usize,
    /// The other varied keys' values (`key = value`, in order), empty with one key.
    pub panel: Vec<String>,
    /// What was found.
    pub verdict: Verdict,
}

/// Where the SLO stops being met.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The lowest swept value already misses it.
    NeverMet {
        /// That value.
        x: f64,
    },
    /// Every swept value meets it: the limit lies beyond the sweep.
    Everywhere {
        /// The highest swept value, and its ρ.
        highest: (f64, f64),
    },
    /// Met up to `highest`; missed at the next swept value.
    UpTo {
        /// The highest value meeting it, and its ρ.
        highest: (f64, f64),
        /// The next swept value (missing it), and its ρ.
        next: (f64, f64),
        /// The interpolated crossing: the estimate's, the band's upper edge's (low end of
        /// the interval) and lower edge's (high end), in x; `None` beyond the sweep.
        crossing: (Option<f64>, f64, Option<f64>),
        /// ρ at the estimate's crossing.
        crossing_rho: Option<f64>,
    },
}

/// The x value of a point (its first varied key).
fn x_of(p: &PointRow) -> f64 {
    p.values[0].parse().unwrap_or(f64::NAN)
}

/// The metric of strategy `k` at `p`, ms, with its 95% half-width.
fn metric_of(p: &PointRow, k: usize, metric: Metric) -> Option<(f64, Option<f64>, bool)> {
    let s = p.strategies.get(k)?;
    let v = if metric == Metric::Mean { s.mean } else { s.p99 };
    Some((v.0, v.1, s.unstable || p.rho >= 1.0))
}

/// Where the curve `y` (one value per point; `None` = unstable, above every limit) first
/// exceeds `limit`: the x, interpolated straight in log y from the point before, and the
/// fraction of the way between the two points; `None` when it never does.
fn first_crossing(xs: &[f64], y: &[Option<f64>], limit: f64) -> Option<(f64, usize, f64)> {
    let above = |v: Option<f64>| v.is_none_or(|v| v.is_nan() || v > limit);
    let i = (0..xs.len()).find(|&i| above(y[i]))?;
    if i == 0 {
        return Some((xs[0], 0, 0.0));
    }
    let (y0, y1) = (y[i - 1].unwrap_or(f64::NAN), y[i].unwrap_or(f64::INFINITY));
    let t = if y0 > 0.0 && y1.is_finite() && y1 > y0 {
        ((limit.ln() - y0.ln()) / (y1.ln() - y0.ln())).clamp(0.0, 1.0)
    } else {
        1.0
    };
    Some((xs[i - 1] + t * (xs[i] - xs[i - 1]), i, t))
}

/// The headroom of every strategy in every panel of `view` at `slo` (a [`supported`]
/// metric), in panel order then strategy order.
pub fn headroom(view: &SweepView, slo: &Slo) -> Vec<Headroom> {
    let limit = slo.limit * 1e3;
    let labels = series_labels(&view.points);
    let columns: Vec<&str> = view.axes.iter().map(|a| a.column.as_str()).collect();
    let mut panels: Vec<(Vec<String>, Vec<&PointRow>)> = Vec::new();
    for p in &view.points {
        let key: Vec<String> = columns[1..].iter().zip(&p.values[1..]).map(|(c, v)| format!("{c} = {v}")).collect();
        match panels.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(p),
            None => panels.push((key, vec![p])),
        }
    }
    let mut out = Vec::new();
    for (panel, points) in &panels {
        let mut points: Vec<&PointRow> = points.iter().copied().filter(|p| x_of(p).is_finite()).collect();
        points.sort_by(|a, b| x_of(a).total_cmp(&x_of(b)));
        for (k, label) in labels.iter().enumerate() {
            // (x, ρ, value, half-width, meets, unstable)
            let pts: Vec<(f64, f64, f64, f64, bool, bool)> = points
                .iter()
                .filter_map(|p| {
                    let (v, ci, unstable) = metric_of(p, k, slo.metric)?;
                    let ci = ci.unwrap_or(0.0);
                    let meets = !unstable && v.is_finite() && v + ci <= limit;
                    Some((x_of(p), p.rho, v, ci, meets, unstable || !v.is_finite()))
                })
                .collect();
            let Some(first) = pts.first() else { continue };
            let verdict = match pts.iter().position(|p| !p.4) {
                Some(0) => Verdict::NeverMet { x: first.0 },
                None => {
                    let last = pts[pts.len() - 1];
                    Verdict::Everywhere { highest: (last.0, last.1) }
                }
                Some(f) => {
                    let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
                    // A value, or None where the strategy is unstable (above every limit).
                    let curve = |edge: f64| -> Vec<Option<f64>> {
                        pts.iter().map(|p| (!p.5).then_some((p.2 + edge * p.3).max(p.2 * 1e-3))).collect()
                    };
                    let est = first_crossing(&xs, &curve(0.0), limit);
                    let mut lo = first_crossing(&xs, &curve(1.0), limit).map_or(pts[f].0, |c| c.0);
                    // An unstable point has no value to interpolate to: the estimate crosses
                    // somewhere after the point before it, which the interval says.
                    if let Some((_, i, _)) = est
                        && i > 0
                        && pts[i].5
                    {
                        lo = lo.min(xs[i - 1]);
                    }
                    let hi = first_crossing(&xs, &curve(-1.0), limit).map(|c| c.0);
                    let rho = est.map(|(_, i, t)| {
                        let i0 = i.saturating_sub(1);
                        pts[i0].1 + t * (pts[i].1 - pts[i0].1)
                    });
                    let x = est.map(|c| c.0);
                    Verdict::UpTo {
                        highest: (pts[f - 1].0, pts[f - 1].1),
                        next: (pts[f].0, pts[f].1),
                        crossing: (x, x.map_or(lo, |x| lo.min(x)), hi.map(|h| x.map_or(h, |x| h.max(x)))),
                        crossing_rho: rho,
                    }
                }
            };
            out.push(Headroom { label: label.clone(), series: k, panel: panel.clone(), verdict });
        }
    }
    out
}

/// A value of x for text: as the sweep wrote it when whole, else 4 significant digits.
pub fn show_x(x: f64) -> String {
    if x == x.round() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
        format!("{x:.digits$}")
    }
}

/// One line of text for `h`, the first varied key being `key`.
pub fn describe(h: &Headroom, key: &str) -> String {
    match &h.verdict {
        Verdict::NeverMet { x } => format!("not met even at the lowest swept {key} = {}", show_x(*x)),
        Verdict::Everywhere { highest } => format!(
            "met at every swept value, up to {key} = {} (ρ {:.3}): the limit lies beyond the sweep",
            show_x(highest.0),
            highest.1
        ),
        Verdict::UpTo { highest, next, crossing, crossing_rho } => {
            let beyond = |x: Option<f64>| x.map_or_else(|| "beyond the sweep".to_string(), show_x);
            let rho = crossing_rho.map(|r| format!(" (ρ {r:.3})")).unwrap_or_default();
            format!(
                "met up to {key} = {} (ρ {:.3}), not at {}; crosses the limit at ≈ {} [{}, {}]{rho}",
                show_x(highest.0),
                highest.1,
                show_x(next.0),
                beyond(crossing.0),
                show_x(crossing.1),
                beyond(crossing.2),
            )
        }
    }
}

/// What a point meeting the objective means and how the crossing is found, for notes.
pub const METHOD: &str = "a point meets it when the 95% upper bound of the metric is within the limit and the \
                          strategy is stable there; crossing: where the estimate first exceeds the limit, interpolated \
                          on the log of the metric; [a, b]: where the 95% band's upper and lower edges do";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sweep::{Axis, StrategyCells};

    fn view(p99: &[(f64, f64)]) -> SweepView {
        let points = p99
            .iter()
            .enumerate()
            .map(|(i, &(v, ci))| {
                let rate = 500.0 + 100.0 * i as f64;
                PointRow {
                    point: i,
                    values: vec![format!("{rate}")],
                    rho: rate / 1000.0,
                    rate,
                    capacity: 1000.0,
                    replications: 3,
                    strategies: vec![StrategyCells {
                        label: "p2c".into(),
                        mean: (v / 4.0, Some(ci / 4.0)),
                        p99: (v, Some(ci)),
                        throughput: rate,
                        unstable: false,
                    }],
                }
            })
            .collect();
        SweepView {
            scenario: "t".into(),
            axes: vec![Axis { column: "arrivals.rate".into(), log: false, names: None }],
            points,
            closed: false,
            command: String::new(),
            slo: None,
        }
    }

    fn slo(text: &str) -> Slo {
        Slo::parse(text).unwrap()
    }

    #[test]
    fn the_crossing_is_interpolated_on_the_log_of_the_metric() {
        // p99 50 ms at 600 req/s, 200 ms at 700: log-linear reaches 100 ms half-way, at 650.
        let v = view(&[(25.0, 1.0), (50.0, 1.0), (200.0, 1.0), (400.0, 2.0)]);
        let h = headroom(&v, &slo("p99<=100ms"));
        assert_eq!(h.len(), 1);
        let Verdict::UpTo { highest, next, crossing, crossing_rho } = h[0].verdict else { panic!("{h:?}") };
        assert_eq!((highest.0, next.0), (600.0, 700.0));
        let x = crossing.0.unwrap();
        assert!((x - 650.0).abs() < 1e-9, "{crossing:?}");
        assert!((crossing_rho.unwrap() - 0.65).abs() < 1e-9);
        // The upper edge: 51 → 201 ms crosses 100 ms at ln(100/51)/ln(201/51) of the way;
        // the lower edge 49 → 199 ms at ln(100/49)/ln(199/49).
        let up = (100f64 / 51.0).ln() / (201f64 / 51.0).ln();
        let down = (100f64 / 49.0).ln() / (199f64 / 49.0).ln();
        assert!((crossing.1 - (600.0 + 100.0 * up)).abs() < 1e-9, "{crossing:?}");
        assert!((crossing.2.unwrap() - (600.0 + 100.0 * down)).abs() < 1e-9, "{crossing:?}");
    }

    #[test]
    fn a_noisy_point_ends_the_headroom_but_the_estimate_crosses_later() {
        // 95 ± 10 ms at 600: its upper bound misses 100 ms, its estimate does not; the
        // estimate crosses between 700 (98) and 800 (300), the lower edge never.
        let v = view(&[(50.0, 1.0), (95.0, 10.0), (98.0, 1.0), (300.0, 250.0)]);
        let h = headroom(&v, &slo("p99<=100ms"));
        let Verdict::UpTo { highest, next, crossing, .. } = h[0].verdict else { panic!("{h:?}") };
        assert_eq!((highest.0, next.0), (500.0, 600.0));
        assert!(crossing.1 > 500.0 && crossing.1 < 600.0, "{crossing:?}");
        let x = crossing.0.unwrap();
        assert!(x > 700.0 && x < 710.0, "{crossing:?}");
        assert_eq!(crossing.2, None, "the lower edge stays within the limit: beyond the sweep");
        assert!(describe(&h[0], "arrivals.rate").contains(", beyond the sweep]"), "{}", describe(&h[0], "r"));
    }

    #[test]
    fn a_point_meets_it_on_its_upper_bound_and_the_first_miss_ends_the_headroom() {
        // 95 ± 10 ms: its upper bound 105 misses 100 ms, although the estimate is within.
        let v = view(&[(50.0, 1.0), (95.0, 10.0), (60.0, 1.0)]);
        let h = headroom(&v, &slo("p99<=100ms"));
        let Verdict::UpTo { highest, next, crossing, .. } = h[0].verdict else { panic!("{h:?}") };
        assert_eq!((highest.0, next.0), (500.0, 600.0), "the later point meeting it again does not count");
        assert_eq!(crossing.0, None, "the estimate never exceeds the limit");
        assert_eq!(headroom(&v, &slo("p99<=40ms"))[0].verdict, Verdict::NeverMet { x: 500.0 });
        let all = headroom(&v, &slo("p99<=1s"));
        assert_eq!(all[0].verdict, Verdict::Everywhere { highest: (700.0, 0.7) });
        // The mean is judged on the mean's cells.
        let mean = headroom(&v, &slo("mean<=20ms"));
        assert!(matches!(mean[0].verdict, Verdict::UpTo { highest: (500.0, _), .. }), "{mean:?}");
    }

    #[test]
    fn an_unstable_point_never_meets_it() {
        let mut v = view(&[(20.0, 1.0), (30.0, 1.0)]);
        v.points[1].strategies[0].unstable = true;
        let h = headroom(&v, &slo("p99<=100ms"));
        assert!(matches!(h[0].verdict, Verdict::UpTo { highest: (500.0, _), next: (600.0, _), .. }), "{h:?}");
        assert!(describe(&h[0], "arrivals.rate").starts_with("met up to arrivals.rate = 500 (ρ 0.500), not at 600"));
    }
}
