//! sweep.csv (one row per point × strategy) and the sweep's terminal table.
//!
//! Columns: `point`, one column per varied key (durations as `KEY_ms`), `seed` (the point's
//! derived seed: `lbsim run --seed` with the same values reproduces the row), every column
//! of summary.csv from `strategy` on, then `drop_rate`, `drop_rate_ci95`,
//! `arrival_rate_rps` and `capacity_rps`. Numbers have fixed precision, so the file is
//! byte-identical however the sweep was split into shards.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use super::Exporter;
use super::csv::{encode, summary_header, summary_row};
use super::format::fixed;
use crate::runner::ScenarioResults;
use crate::sweep::{Manifest, Sweep, Vary};
use crate::{Error, Result};

/// Columns after the summary columns.
pub const SWEEP_EXTRA: &[&str] = &["drop_rate", "drop_rate_ci95", "arrival_rate_rps", "capacity_rps"];

/// The header of sweep.csv for these varied keys.
pub fn header(vary: &[Vary]) -> Vec<String> {
    let mut h = vec!["point".to_string()];
    h.extend(vary.iter().map(Vary::column));
    h.push("seed".into());
    h.extend(summary_header().iter().map(|s| s.to_string()));
    h.extend(SWEEP_EXTRA.iter().map(|s| s.to_string()));
    h
}

/// The rows of point `index` (with the header), as written to `points/NNNNNN.csv`.
pub fn point_csv(header: &[String], sweep: &Sweep, index: usize, result: &ScenarioResults) -> Result<Vec<u8>> {
    let sc = sweep.scenario(index);
    let values = sweep.values(index);
    let rho = sc.offered_load();
    let rows: Vec<Vec<String>> = result
        .strategies
        .iter()
        .zip(&result.drop_rate)
        .map(|(s, drop)| {
            let mut row = vec![index.to_string()];
            row.extend(sweep.vary.iter().zip(&values).map(|(v, &x)| v.cell(x)));
            row.push(sc.seed.to_string());
            row.extend(summary_row(s, rho));
            row.push(fixed(drop.value, 8));
            row.push(drop.ci95.map(|c| fixed(c, 8)).unwrap_or_default());
            row.push(fixed(sc.arrival_rate(), 3));
            row.push(fixed(sc.capacity(), 3));
            row
        })
        .collect();
    encode(header, &rows)
}

/// The header line alone (a shard with no points).
pub fn point_csv_header(header: &[String]) -> Result<Vec<u8>> {
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

/// One strategy at one point, as charts and tables use it (times in ms).
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyCells {
    /// Label.
    pub label: String,
    /// Mean response, ms, and its 95% half-width.
    pub mean: (f64, Option<f64>),
    /// p99 response, ms, and its 95% half-width.
    pub p99: (f64, Option<f64>),
}

/// One point of a sweep table.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRow {
    /// Point index.
    pub point: usize,
    /// Cells of the varied keys, as in the CSV.
    pub values: Vec<String>,
    /// Offered load.
    pub rho: f64,
    /// Arrival rate, req/s.
    pub rate: f64,
    /// Capacity, req/s.
    pub capacity: f64,
    /// Replications behind each estimate.
    pub replications: u32,
    /// Per strategy, in the scenario's order.
    pub strategies: Vec<StrategyCells>,
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

    /// The rows grouped by point; `vary_columns` are the varied keys' columns.
    pub fn points(&self, vary_columns: &[String]) -> Result<Vec<PointRow>> {
        let c = |n: &str| self.col(n);
        let (point, label, rho, rate, cap, reps) = (
            c("point")?,
            c("strategy")?,
            c("offered_load")?,
            c("arrival_rate_rps")?,
            c("capacity_rps")?,
            c("replications")?,
        );
        let (mean, mean_ci, p99, p99_ci) = (c("mean_ms")?, c("mean_ms_ci95")?, c("p99_ms")?, c("p99_ms_ci95")?);
        let vcols: Vec<usize> = vary_columns.iter().map(|n| c(n)).collect::<Result<_>>()?;
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
            });
        }
        Ok(out)
    }
}

/// The legend label of each strategy position: its label, or `name(…)` when a varied
/// parameter changes the label from point to point.
pub fn series_labels(points: &[PointRow]) -> Vec<String> {
    let n = points.iter().map(|p| p.strategies.len()).max().unwrap_or(0);
    (0..n)
        .map(|k| {
            let mut labels = points.iter().filter_map(|p| p.strategies.get(k)).map(|s| s.label.as_str());
            let first = labels.next().unwrap_or("");
            if labels.all(|l| l == first) {
                first.to_string()
            } else {
                format!("{}(…)", first.split('(').next().unwrap_or(first))
            }
        })
        .collect()
}

/// What a finished sweep's exporters render.
#[derive(Debug, Clone)]
pub struct SweepData {
    /// The sweep's manifest.
    pub manifest: Manifest,
    /// sweep.csv, as assembled from the point files.
    pub csv: Vec<u8>,
    /// The same, parsed.
    pub table: SweepTable,
}

impl SweepData {
    /// The varied keys' columns.
    pub fn vary_columns(&self) -> Vec<String> {
        self.manifest.vary.iter().map(|v| v.column.clone()).collect()
    }
}

/// `sweep.csv`.
pub struct SweepCsv;

impl Exporter<SweepData> for SweepCsv {
    fn file_name(&self) -> &'static str {
        "sweep.csv"
    }

    fn render(&self, data: &SweepData) -> Result<Vec<u8>> {
        Ok(data.csv.clone())
    }
}

/// The terminal summary: p99 (ms, ± 95% half-width) per point and strategy, best per row
/// marked, points at or beyond capacity flagged.
pub fn render(data: &SweepData, color: bool) -> Result<String> {
    let points = data.table.points(&data.vary_columns())?;
    let labels = series_labels(&points);
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
    if !color {
        table.force_no_tty();
    }
    let mut header: Vec<Cell> = data.vary_columns().into_iter().map(Cell::new).collect();
    header.push(Cell::new("ρ"));
    header.extend(labels.iter().map(Cell::new));
    table.set_header(header);
    let mut unstable = false;
    for p in &points {
        let mut row: Vec<Cell> = p.values.iter().map(|v| Cell::new(v).set_alignment(CellAlignment::Right)).collect();
        let flag = if p.rho >= 1.0 {
            unstable = true;
            " !"
        } else {
            ""
        };
        row.push(Cell::new(format!("{:.3}{flag}", p.rho)).set_alignment(CellAlignment::Right));
        let best = p.strategies.iter().map(|s| s.p99.0).filter(|v| v.is_finite()).reduce(f64::min);
        for s in &p.strategies {
            let (v, ci) = s.p99;
            let mut text = if v.is_finite() { format!("{v:.3}") } else { "–".into() };
            if let Some(ci) = ci {
                text.push_str(&format!(" ±{ci:.3}"));
            }
            if labels.len() > 1 && Some(v) == best {
                text.push('*');
            }
            row.push(Cell::new(text).set_alignment(CellAlignment::Right));
        }
        table.add_row(row);
    }
    let m = &data.manifest;
    let mut out = format!(
        "{}: sweep of {} point(s) × {} strateg{} — p99 response time (ms)\n",
        m.scenario,
        points.len(),
        labels.len(),
        if labels.len() == 1 { "y" } else { "ies" }
    );
    out.push_str(&table.to_string());
    out.push('\n');
    let mut notes = vec!["* lowest p99 of the point".to_string()];
    if points.iter().any(|p| p.replications > 1) {
        notes.push("± = 95% confidence half-width over replications".into());
    }
    out.push_str(&notes.join("; "));
    out.push('\n');
    if unstable {
        out.push_str(
            "warning: points marked ! have offered load ρ ≥ 1: queues grow without bound there and their latencies \
             depend on the run length\n",
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "point,x,strategy,offered_load,arrival_rate_rps,capacity_rps,replications,mean_ms,mean_ms_ci95,p99_ms,p99_ms_ci95\n";

    #[test]
    fn assembles_points_with_one_header() {
        let a = format!("{HEAD}0,1,rr,0.1,1,10,2,1.0,0.1,2.0,0.2\n0,1,p2c(choices=2),0.1,1,10,2,1.0,,2.0,\n");
        let b = format!("{HEAD}1,2,rr,0.2,2,10,2,1.5,0.1,3.0,0.2\n1,2,p2c(choices=3),0.2,2,10,2,1.1,,2.1,\n");
        let csv = assemble([a.as_bytes(), b.as_bytes()].into_iter()).unwrap();
        assert_eq!(String::from_utf8(csv.clone()).unwrap().matches("point,").count(), 1);
        let t = SweepTable::parse(&csv).unwrap();
        let points = t.points(&["x".to_string()]).unwrap();
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
