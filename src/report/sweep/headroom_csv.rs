//! `headroom.csv` (`lbsim sweep … --slo`): one row per strategy (and per value of the other
//! varied keys) — the highest swept value meeting the objective and the interpolated
//! crossing ([`super::headroom`]). Written only with `--slo`.

use super::SweepView;
use super::headroom::{Verdict, headroom};
use crate::Result;
use crate::report::Exporter;
use crate::report::run::summary_csv::encode;

/// The file's name.
pub const FILE: &str = "headroom.csv";

/// `headroom.csv`.
#[derive(Debug)]
pub struct HeadroomCsv;

/// The header: the strategy, the other varied keys' columns, then the objective and what
/// was found.
pub fn header(view: &SweepView) -> Vec<String> {
    let mut h = vec!["strategy".to_string()];
    h.extend(view.axes.iter().skip(1).map(|a| a.column.clone()));
    let x = &view.axes[0].column;
    h.extend([
        "slo".to_string(),
        "verdict".to_string(),
        format!("highest_met_{x}"),
        "highest_met_rho".to_string(),
        format!("next_{x}"),
        format!("crossing_{x}"),
        format!("crossing_{x}_lo"),
        format!("crossing_{x}_hi"),
        "crossing_rho".to_string(),
    ]);
    h
}

impl Exporter<SweepView> for HeadroomCsv {
    fn file_name(&self) -> &'static str {
        FILE
    }

    fn wanted(&self, view: &SweepView) -> bool {
        view.slo.is_some()
    }

    fn render(&self, view: &SweepView) -> Result<Vec<u8>> {
        let Some(slo) = &view.slo else { return encode(&header(view), &[]) };
        let num = |x: f64| format!("{x}");
        let rho = |x: f64| format!("{x:.6}");
        let opt = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or_else(String::new, f);
        let rows: Vec<Vec<String>> = headroom(view, slo)
            .iter()
            .map(|h| {
                let mut row = vec![h.label.clone()];
                row.extend(h.panel.iter().map(|p| p.split_once(" = ").map_or(p.clone(), |(_, v)| v.to_string())));
                row.push(format!("{}<={}", slo.metric.name(), slo.metric.show(slo.limit)));
                let cells: [String; 8] = match &h.verdict {
                    Verdict::NeverMet { x } => [
                        "never".into(),
                        String::new(),
                        String::new(),
                        num(*x),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ],
                    Verdict::Everywhere { highest } => [
                        "everywhere".into(),
                        num(highest.0),
                        rho(highest.1),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ],
                    Verdict::UpTo { highest, next, crossing, crossing_rho } => [
                        "up_to".into(),
                        num(highest.0),
                        rho(highest.1),
                        num(next.0),
                        opt(crossing.0, &num),
                        num(crossing.1),
                        opt(crossing.2, &num),
                        opt(*crossing_rho, &rho),
                    ],
                };
                row.extend(cells);
                row
            })
            .collect();
        encode(&header(view), &rows)
    }
}
