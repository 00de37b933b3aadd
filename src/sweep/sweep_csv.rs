//! `sweep.csv`, the sweep's storage format: one row per point × strategy, written point by
//! point to `points/NNNNNN.csv`, assembled in point order, and read back into the typed
//! points the report renders ([`SweepTable::view`]).
//!
//! Columns: `point`, one column per varied key (durations as `KEY_ms`), `seed` (the point's
//! derived seed: `lbsim run --seed` with the same values reproduces the row), every column
//! of summary.csv from `strategy` to `open_model_p99_ms`, then `drop_rate`, `drop_rate_ci95`,
//! `arrival_rate_rps` and `capacity_rps`, then the columns summary.csv appended since
//! (from `balancers` on), so sweep.csv's columns too are only ever appended.
//! Numbers have fixed precision, so the file is
//! byte-identical however the sweep was split into shards.

use super::{Sweep, SweepManifest, Vary};
use crate::report::format::fixed;
use crate::report::metric::{
    self, BALANCERS, DROP_RATE, MEAN, OFFERED_LOAD, OPEN_MODEL_RATE, P99, REPLICATIONS, STRATEGY, THROUGHPUT, UNSTABLE,
};
use crate::report::run::summary_csv::encode;
use crate::report::sweep::{Axis, PointRow, StrategyCells, SweepView};
use crate::runner::ScenarioResults;
use crate::{Error, Result};

/// The file name.
pub const SWEEP_CSV: &str = "sweep.csv";

/// The scenario's arrival rate column.
const ARRIVAL_RATE: &str = "arrival_rate_rps";
/// The scenario's capacity column.
const CAPACITY: &str = "capacity_rps";

/// Columns after the summary columns: [`DROP_RATE`] and its interval, then these.
pub const SWEEP_EXTRA: &[&str] = &[ARRIVAL_RATE, CAPACITY];

/// The first summary.csv column appended after [`SWEEP_EXTRA`] was: it and the summary
/// columns after it follow [`SWEEP_EXTRA`].
const SUMMARY_LATER: &str = BALANCERS.name;

/// Where summary.csv's columns split around [`SWEEP_EXTRA`].
fn summary_split() -> usize {
    let header = metric::header();
    header.iter().position(|c| c == SUMMARY_LATER).unwrap_or(header.len())
}

/// The header of sweep.csv for these varied keys.
pub fn header(vary: &[Vary]) -> Vec<String> {
    let mut h = vec!["point".to_string()];
    h.extend(vary.iter().map(Vary::column));
    h.push("seed".into());
    let summary = metric::header();
    let (before, after) = summary.split_at(summary_split());
    h.extend_from_slice(before);
    h.extend(DROP_RATE.names());
    h.extend(SWEEP_EXTRA.iter().map(|s| s.to_string()));
    h.extend_from_slice(after);
    h
}

/// The rows of point `index` (with the header), as written to `points/NNNNNN.csv`.
pub fn point_csv(header: &[String], sweep: &Sweep, index: usize, result: &ScenarioResults) -> Result<Vec<u8>> {
    let sc = sweep.scenario(index);
    let values = sweep.values(index);
    let split = summary_split();
    // The point's recovery from its fault windows and flash crowds (`recovery_s`,
    // `recovered`), measured as a run measures it.
    let with_phases = !sc.faults.is_empty() || !sc.arrivals.spikes().is_empty();
    let report =
        with_phases.then(|| crate::report::run::Report::bare(sc.clone(), result.strategies.clone(), 0.0, None));
    let strategies = report.as_ref().map_or(result.strategies.as_slice(), |r| r.strategies.as_slice());
    let rows: Vec<Vec<String>> = strategies
        .iter()
        .zip(&result.drop_rate)
        .map(|(s, drop)| {
            let mut row = vec![index.to_string()];
            row.extend(sweep.vary.iter().zip(&values).map(|(v, &x)| v.cell(x)));
            row.push(sc.seed.to_string());
            let mut summary = metric::row(s, sc);
            let later = summary.split_off(split);
            row.extend(summary);
            row.extend(DROP_RATE.cells(Some(*drop)));
            row.push(fixed(sc.arrival_rate(), 3));
            row.push(fixed(sc.capacity(), 3));
            row.extend(later);
            row
        })
        .collect();
    encode(header, &rows)
}

/// The header line alone (a shard with no points).
pub fn header_csv(header: &[String]) -> Result<Vec<u8>> {
    encode(header, &[])
}

/// sweep.csv from point files in point order: one header, then every point's rows.
pub fn assemble<'a>(points: impl Iterator<Item = &'a [u8]>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut head: Option<&[u8]> = None;
    for p in points {
        let cut = p.iter().position(|&b| b == b'\n').map_or(p.len(), |i| i + 1);
        let (h, body) = p.split_at(cut);
        match head {
            None => {
                out.extend_from_slice(h);
                head = Some(h);
            }
            Some(first) if first != h => {
                return Err(Error::Other(
                    "point files have different columns (made by different versions of lbsim?)".into(),
                ));
            }
            Some(_) => {}
        }
        out.extend_from_slice(body);
    }
    Ok(out)
}

/// sweep.csv read back: a header and rows of text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepTable {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, in file order.
    pub rows: Vec<Vec<String>>,
}

impl SweepTable {
    /// Parses CSV bytes.
    pub fn parse(bytes: &[u8]) -> Result<SweepTable> {
        let err = |e: csv::Error| Error::Other(format!("cannot read sweep CSV: {e}"));
        let mut r = csv::Reader::from_reader(bytes);
        let header = r.headers().map_err(err)?.iter().map(str::to_string).collect();
        let rows = r
            .records()
            .map(|rec| rec.map(|r| r.iter().map(str::to_string).collect()))
            .collect::<Result<_, _>>()
            .map_err(err)?;
        Ok(SweepTable { header, rows })
    }

    /// Index of column `name`.
    pub fn col(&self, name: &str) -> Result<usize> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::Other(format!("sweep CSV has no column `{name}`")))
    }

    /// The sweep of `manifest` as the report shows it: its varied keys and the rows grouped
    /// by point.
    pub fn view(&self, manifest: &SweepManifest) -> Result<SweepView> {
        let axes: Vec<Axis> = manifest
            .vary
            .iter()
            .map(|v| {
                let named = v.values.iter().any(|x| x.parse::<f64>().is_err());
                Axis { column: v.column.clone(), log: v.log, names: named.then(|| v.values.clone()) }
            })
            .collect();
        let columns: Vec<&str> = axes.iter().map(|a| a.column.as_str()).collect();
        // A closed loop's rows carry its open model (`open_model_rate_rps`); an open
        // workload's never do.
        let closed = self.col(OPEN_MODEL_RATE.name).is_ok_and(|c| self.rows.iter().any(|r| !r[c].is_empty()));
        Ok(SweepView {
            scenario: manifest.scenario.clone(),
            points: self.points(&columns)?,
            axes,
            closed,
            command: manifest.command(),
            slo: None,
        })
    }

    /// The rows grouped by point; `vary_columns` are the varied keys' columns.
    pub fn points(&self, vary_columns: &[&str]) -> Result<Vec<PointRow>> {
        let c = |n: &str| self.col(n);
        let (point, label, rho, rate, cap, reps) = (
            c("point")?,
            c(STRATEGY.name)?,
            c(OFFERED_LOAD.name)?,
            c(ARRIVAL_RATE)?,
            c(CAPACITY)?,
            c(REPLICATIONS.name)?,
        );
        let (mean, mean_ci, p99, p99_ci) = (c(MEAN.name)?, c(&MEAN.ci_name())?, c(P99.name)?, c(&P99.ci_name())?);
        let vcols: Vec<usize> = vary_columns.iter().map(|n| c(n)).collect::<Result<_>>()?;
        // Columns added later (absent from sweeps written by older versions).
        let (throughput, unstable) = (self.col(THROUGHPUT.name).ok(), self.col(UNSTABLE.name).ok());
        let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
        let opt = |s: &str| s.parse::<f64>().ok();
        let mut out: Vec<PointRow> = Vec::new();
        for r in &self.rows {
            let p: usize = r[point].parse().map_err(|_| Error::Other(format!("bad point index `{}`", r[point])))?;
            if out.last().is_none_or(|l| l.point != p) {
                out.push(PointRow {
                    point: p,
                    values: vcols.iter().map(|&i| r[i].clone()).collect(),
                    rho: num(&r[rho]),
                    rate: num(&r[rate]),
                    capacity: num(&r[cap]),
                    replications: r[reps].parse().unwrap_or(1),
                    strategies: Vec::new(),
                });
            }
            out.last_mut().expect("pushed").strategies.push(StrategyCells {
                label: r[label].clone(),
                mean: (num(&r[mean]), opt(&r[mean_ci])),
                p99: (num(&r[p99]), opt(&r[p99_ci])),
                throughput: throughput.map_or(f64::NAN, |i| num(&r[i])),
                unstable: unstable.is_some_and(|i| r[i] == "1"),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sweep::series_labels;

    const HEAD: &str = "point,x,strategy,offered_load,arrival_rate_rps,capacity_rps,replications,mean_ms,mean_ms_ci95,p99_ms,p99_ms_ci95\n";

    #[test]
    fn assembles_points_with_one_header() {
        let a = format!("{HEAD}0,1,rr,0.1,1,10,2,1.0,0.1,2.0,0.2\n0,1,p2c(choices=2),0.1,1,10,2,1.0,,2.0,\n");
        let b = format!("{HEAD}1,2,rr,0.2,2,10,2,1.5,0.1,3.0,0.2\n1,2,p2c(choices=3),0.2,2,10,2,1.1,,2.1,\n");
        let csv = assemble([a.as_bytes(), b.as_bytes()].into_iter()).unwrap();
        assert_eq!(String::from_utf8(csv.clone()).unwrap().matches("point,").count(), 1);
        let t = SweepTable::parse(&csv).unwrap();
        let points = t.points(&["x"]).unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[1].values, vec!["2"]);
        assert_eq!(points[1].strategies[0].p99, (3.0, Some(0.2)));
        assert_eq!(points[0].strategies[1].mean, (1.0, None));
        // a varied parameter changes a label from point to point
        assert_eq!(series_labels(&points), vec!["rr", "p2c(…)"]);
        let other = "point,y\n2,3\n";
        assert!(assemble([a.as_bytes(), other.as_bytes()].into_iter()).is_err());
    }
}
