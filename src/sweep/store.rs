//! A sweep's output directory: `sweep.json` (what sweep this is), `points/NNNNNN.csv` (one
//! file per finished point, written atomically), and the assembled outputs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Sweep;
use crate::report::write_atomic;
use crate::scenario::Overrides;
use crate::scenario::ScenarioError;
use crate::workload::seeds::hash_str;
use crate::{Error, Result};

/// The manifest's file name.
pub const MANIFEST: &str = "sweep.json";
/// The directory of per-point files.
pub const POINTS: &str = "points";
/// Files a finished sweep writes next to the manifest (removed when a new sweep starts).
pub const OUTPUTS: &[&str] = &["sweep.csv", "sweep_p99.png", "sweep_mean.png"];
/// Version of the directory layout and manifest.
pub const FORMAT: u32 = 1;

/// `--shard K/N`: points K, K+N, K+2N, ... (K from 0, like Slurm array and Kubernetes
/// job indices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// K, from 0 to N − 1.
    pub index: usize,
    /// N.
    pub count: usize,
}

impl Shard {
    /// Parses `K/N`. `0/1` is the whole sweep (`None`).
    pub fn parse(text: &str) -> Result<Option<Shard>, ScenarioError> {
        let err = |why: String| ScenarioError::at("--shard", format!("`{text}`: {why}"));
        let (k, n) = text.split_once('/').ok_or_else(|| err("expected K/N, e.g. 3/16".into()))?;
        let k: usize = k.trim().parse().map_err(|_| err(format!("K must be a whole number, got `{k}`")))?;
        let n: usize = n.trim().parse().map_err(|_| err(format!("N must be a whole number, got `{n}`")))?;
        if n == 0 {
            return Err(err("N must be at least 1".into()));
        }
        if k >= n {
            return Err(err(format!(
                "K must be from 0 to {} (shards are numbered from 0, like Slurm `--array=0-{}` and Kubernetes' \
                 JOB_COMPLETION_INDEX)",
                n - 1,
                n - 1
            )));
        }
        Ok((n > 1).then_some(Shard { index: k, count: n }))
    }

    /// Whether point `i` belongs to this shard.
    pub fn owns(&self, i: usize) -> bool {
        i % self.count == self.index
    }

    /// `K/N`, or `0/1` for the whole sweep.
    pub fn describe(shard: Option<Shard>) -> String {
        shard.map(|s| s.to_string()).unwrap_or_else(|| "0/1".into())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A varied key as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaryInfo {
    /// The key as written.
    pub key: String,
    /// Its canonical path.
    pub canonical: String,
    /// VALUES as written.
    pub spec: String,
    /// Its column in sweep.csv.
    pub column: String,
    /// Values as they appear in sweep.csv.
    pub values: Vec<String>,
    /// Log-spaced (charts use a log axis).
    pub log: bool,
}

/// What a sweep directory holds: enough to check that shards belong together and that a
/// `--resume` continues the same sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepManifest {
    /// Layout version.
    pub format: u32,
    /// Version of lbsim that ran it (results may differ between versions).
    pub lbsim_version: String,
    /// Scenario name.
    pub scenario: String,
    /// The scenario file, as given (informative; not compared).
    pub scenario_file: Option<String>,
    /// FNV-1a hash of the scenario text.
    pub scenario_hash: String,
    /// Overrides given on the command line.
    pub overrides: Overrides,
    /// The varied keys, outermost first.
    pub vary: Vec<VaryInfo>,
    /// Number of points of the whole sweep.
    pub points: usize,
    /// The shard this directory holds (`None`: all points).
    pub shard: Option<Shard>,
    /// Whether every point of the shard is done and the outputs written.
    pub complete: bool,
}

impl SweepManifest {
    /// The command that runs this sweep (all its points) again: `lbsim sweep FILE --vary
    /// KEY=VALUES… ` with the overrides it was given, shell-quoted.
    pub fn command(&self) -> String {
        let mut words = vec!["lbsim".to_string(), "sweep".to_string()];
        words.push(self.scenario_file.clone().unwrap_or_else(|| "SCENARIO.toml".to_string()));
        for v in &self.vary {
            words.extend(["--vary".to_string(), format!("{}={}", v.key, v.spec)]);
        }
        words.extend(self.overrides.arguments());
        words.iter().map(|w| crate::report::html::shell_word(w)).collect::<Vec<_>>().join(" ")
    }

    /// The manifest of `sweep` (or one shard of it), not yet complete.
    pub fn new(sweep: &Sweep, shard: Option<Shard>) -> SweepManifest {
        SweepManifest {
            format: FORMAT,
            lbsim_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: sweep.scenario(0).name.clone(),
            scenario_file: sweep.text.file().map(|f| f.display().to_string()),
            scenario_hash: format!("{:016x}", hash_str(sweep.text.text())),
            overrides: sweep.overrides.clone(),
            vary: sweep
                .vary
                .iter()
                .map(|v| VaryInfo {
                    key: v.key.written.clone(),
                    canonical: v.key.canonical.clone(),
                    spec: v.spec.clone(),
                    column: v.column(),
                    values: v.values.iter().map(|&x| v.cell(x)).collect(),
                    log: v.log,
                })
                .collect(),
            points: sweep.len(),
            shard,
            complete: false,
        }
    }

    /// How `other` is a different sweep (empty when it is the same, whatever the shard).
    pub fn differences(&self, other: &SweepManifest) -> Vec<String> {
        let mut d = Vec::new();
        if self.format != other.format || self.lbsim_version != other.lbsim_version {
            d.push(format!(
                "made by lbsim {} and lbsim {} (results may differ between versions)",
                self.lbsim_version, other.lbsim_version
            ));
        }
        if self.scenario_hash != other.scenario_hash {
            d.push(format!(
                "the scenario text differs ({} vs {})",
                self.scenario_file.as_deref().unwrap_or(&self.scenario),
                other.scenario_file.as_deref().unwrap_or(&other.scenario)
            ));
        }
        if self.overrides != other.overrides {
            d.push(format!("the options differ ({:?} vs {:?})", self.overrides, other.overrides));
        }
        if self.vary != other.vary || self.points != other.points {
            d.push(vary_difference(&self.vary, &other.vary, self.points, other.points));
        }
        d
    }
}

/// What differs between two sweeps' `--vary`: the keys and values as written when they
/// differ, else the first field that does (the values they expand to, the points).
fn vary_difference(a: &[VaryInfo], b: &[VaryInfo], points_a: usize, points_b: usize) -> String {
    let show = |v: &[VaryInfo]| v.iter().map(|v| format!("{}={}", v.key, v.spec)).collect::<Vec<_>>();
    if show(a) != show(b) {
        return format!("--vary differs ({:?} vs {:?})", show(a), show(b));
    }
    for (x, y) in a.iter().zip(b) {
        let what = if x.values != y.values {
            format!("its values differ ({:?} vs {:?})", x.values, y.values)
        } else if x.canonical != y.canonical {
            format!("it names another key ({} vs {})", x.canonical, y.canonical)
        } else if x.column != y.column {
            format!("its column differs ({} vs {})", x.column, y.column)
        } else if x.log != y.log {
            format!("its axis differs (log {} vs {})", x.log, y.log)
        } else {
            continue;
        };
        return format!("--vary {}={}: {what}", x.key, x.spec);
    }
    format!("the number of points differs ({points_a} vs {points_b})")
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { action, path: path.to_path_buf(), source }
}

/// The manifest in `dir`, if there is one: read as every input is (at most
/// [`crate::scenario::MAX_SCENARIO_BYTES`], a FIFO timed out), and checked against the caps
/// a sweep is written under (at most [`super::MAX_POINTS`] points, as many as its `--vary`
/// values make, a shard inside them, a scenario name that can name a directory). A damaged
/// manifest is bad input (exit 2) located in the file.
pub fn read_manifest(dir: &Path) -> Result<Option<SweepManifest>> {
    let path = dir.join(MANIFEST);
    if !dir.exists() {
        return Ok(None);
    }
    if !dir.is_dir() {
        return Err(bad(dir, None, "not a directory: give a directory `lbsim sweep` wrote".into()));
    }
    let text = match crate::scenario::read_capped(&path, crate::scenario::MAX_SCENARIO_BYTES, "sweep manifest") {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| bad(&path, None, "not UTF-8 text".into()))?,
        Err(_) if !path.exists() => return Ok(None),
        Err(m) => return Err(bad(&path, None, m)),
    };
    let m: SweepManifest = serde_json::from_str(&text).map_err(|e| {
        let at = Some((e.line(), e.column())).filter(|&(l, _)| l > 0);
        bad(&path, at, format!("not a valid sweep manifest: {e}"))
    })?;
    let key = |k: &str, msg: String| bad(&path, locate_json(&text, k), format!("`{k}`: {msg}"));
    if m.points > super::MAX_POINTS {
        return Err(key("points", format!("{} points; a sweep has at most {}", m.points, super::MAX_POINTS)));
    }
    let grid = m.vary.iter().try_fold(1usize, |n, v| n.checked_mul(v.values.len()));
    if grid != Some(m.points) {
        return Err(key(
            "points",
            format!(
                "{} points, but the values of `vary` make {}",
                m.points,
                grid.map_or("more".into(), |g| g.to_string())
            ),
        ));
    }
    if let Some(sh) = m.shard
        && (sh.count < 2 || sh.index >= sh.count)
    {
        return Err(key("shard", format!("shard {}/{} does not exist", sh.index, sh.count)));
    }
    if let Some(problem) = crate::scenario::name::problem(&m.scenario) {
        return Err(key("scenario", problem));
    }
    Ok(Some(m))
}

/// A damaged file of a sweep directory: bad input at `path` (and a line and column).
fn bad(path: &Path, at: Option<(usize, usize)>, message: String) -> Error {
    ScenarioError {
        file: Some(path.to_path_buf()),
        line: at.map(|a| a.0),
        column: at.map(|a| a.1),
        ..ScenarioError::general(message)
    }
    .into()
}

/// The line and column of the first `"key":` in JSON `text`.
fn locate_json(text: &str, key: &str) -> Option<(usize, usize)> {
    let at = text.find(&format!("\"{key}\":"))?;
    let line = text[..at].matches('\n').count() + 1;
    let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    Some((line, column))
}

/// Writes the manifest atomically.
pub fn write_manifest(dir: &Path, m: &SweepManifest) -> Result<PathBuf> {
    let mut text = serde_json::to_string_pretty(m).map_err(|e| Error::Other(format!("manifest encoding: {e}")))?;
    text.push('\n');
    write_atomic(&dir.join(MANIFEST), text.as_bytes())
}

/// The file of point `i`.
pub fn point_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(POINTS).join(format!("{i:06}.csv"))
}

/// Indices of the point files in `dir`, ascending.
pub fn list_points(dir: &Path) -> Result<Vec<usize>> {
    let pdir = dir.join(POINTS);
    let entries = match fs::read_dir(&pdir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("cannot read", &pdir)(e)),
    };
    let mut out = Vec::new();
    for e in entries {
        let name = e.map_err(io("cannot read", &pdir))?.file_name();
        let name = name.to_string_lossy();
        if let Some(i) = name.strip_suffix(".csv").filter(|s| s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty()) {
            let path = pdir.join(&*name);
            out.push(
                i.parse().map_err(|_| bad(&path, None, "not a point of a sweep (its number is too large)".into()))?,
            );
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The largest point file read back (a point is one row per strategy, about 1 KiB each).
pub const MAX_POINT_BYTES: u64 = 16 << 20;

/// Reads the files of points `indices`, each checked: at most [`MAX_POINT_BYTES`], CSV with
/// a `point` column whose every row is that point. A damaged one is bad input naming it.
pub fn read_points(dir: &Path, indices: &[usize]) -> Result<BTreeMap<usize, Vec<u8>>> {
    indices
        .iter()
        .map(|&i| {
            let p = point_path(dir, i);
            let bytes =
                crate::scenario::read_capped(&p, MAX_POINT_BYTES, "point file").map_err(|m| bad(&p, None, m))?;
            check_point(&bytes, i).map_err(|m| bad(&p, None, format!("a damaged point file: {m}")))?;
            Ok((i, bytes))
        })
        .collect()
}

/// Why `bytes` is not the file of point `i`, if it is not.
fn check_point(bytes: &[u8], i: usize) -> Result<(), String> {
    let table = super::sweep_csv::SweepTable::parse(bytes).map_err(|e| e.to_string())?;
    let col = table.header.iter().position(|h| h == "point").ok_or("it has no `point` column")?;
    if table.rows.is_empty() {
        return Err("it has no rows".into());
    }
    match table.rows.iter().find(|r| r.get(col).and_then(|c| c.parse::<usize>().ok()) != Some(i)) {
        Some(r) => Err(format!("a row of point `{}`, not {i}", r.get(col).map_or("", String::as_str))),
        None => Ok(()),
    }
}

/// Writes point `i`'s rows atomically.
pub fn write_point(dir: &Path, i: usize, bytes: &[u8]) -> Result<PathBuf> {
    write_atomic(&point_path(dir, i), bytes)
}

/// Makes `dir` ready for `manifest`'s points and returns those already done.
///
/// With `resume`, a directory holding a sweep must hold the same sweep and shard; its
/// finished points are kept (a directory without a sweep is started afresh, so a batch job
/// can always pass `--resume` and be re-queued). Without, a finished earlier sweep's files
/// are replaced, but an unfinished one is an error (its points would be lost): the user
/// chooses `--resume` or deletes them.
pub fn prepare(dir: &Path, manifest: &SweepManifest, resume: bool) -> Result<BTreeSet<usize>> {
    let existing = read_manifest(dir)?;
    let present = list_points(dir)?;
    let pdir = dir.join(POINTS);
    let mut done = BTreeSet::new();
    if let (true, Some(old)) = (resume, &existing) {
        let mut diff = old.differences(manifest);
        if old.shard != manifest.shard {
            diff.push(format!("it is shard {}, not {}", Shard::describe(old.shard), Shard::describe(manifest.shard)));
        }
        if !diff.is_empty() {
            return Err(ScenarioError::general(format!(
                "--resume: {} holds a different sweep: {}",
                dir.display(),
                diff.join("; ")
            ))
            .into());
        }
        done.extend(present.into_iter().filter(|&i| i < manifest.points && manifest.shard.is_none_or(|s| s.owns(i))));
    } else {
        if resume && !present.is_empty() {
            return Err(ScenarioError::general(format!(
                "--resume: {} holds point files but no {MANIFEST}; choose another --out",
                pdir.display()
            ))
            .into());
        }
        match &existing {
            Some(old) if !old.complete && !present.is_empty() => {
                return Err(ScenarioError::general(format!(
                    "{} holds an unfinished sweep ({} point(s) done); continue it with --resume, or delete {} to \
                     start over",
                    dir.display(),
                    present.len(),
                    pdir.display()
                ))
                .into());
            }
            None if !present.is_empty() => {
                return Err(ScenarioError::general(format!(
                    "{} holds point files but no {MANIFEST}; choose another --out",
                    pdir.display()
                ))
                .into());
            }
            _ => {}
        }
        for i in present {
            let p = point_path(dir, i);
            fs::remove_file(&p).map_err(io("cannot remove", &p))?;
        }
        if existing.is_some() {
            for f in OUTPUTS {
                let p = dir.join(f);
                if p.exists() {
                    fs::remove_file(&p).map_err(io("cannot remove", &p))?;
                }
            }
        }
    }
    fs::create_dir_all(&pdir).map_err(io("cannot create", &pdir))?;
    // Temporary files of writes cut short by a kill.
    for e in fs::read_dir(&pdir).map_err(io("cannot read", &pdir))?.flatten() {
        if e.file_name().to_string_lossy().ends_with(".tmp") {
            let _ = fs::remove_file(e.path());
        }
    }
    write_manifest(dir, &SweepManifest { complete: false, ..manifest.clone() })?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_from_zero() {
        assert_eq!(Shard::parse("3/16").unwrap(), Some(Shard { index: 3, count: 16 }));
        assert_eq!(Shard::parse("0/1").unwrap(), None);
        assert!(Shard::parse("16/16").unwrap_err().message.contains("from 0 to 15"));
        assert!(Shard::parse("1/0").is_err());
        assert!(Shard::parse("3").is_err());
        let s = Shard { index: 3, count: 16 };
        assert!(s.owns(3) && s.owns(19) && !s.owns(4));
    }

    #[test]
    fn a_vary_difference_shows_what_differs() {
        let v = |values: &[&str]| VaryInfo {
            key: "arrivals.rate".into(),
            canonical: "arrivals.rate".into(),
            spec: "100:300:3".into(),
            column: "arrivals.rate".into(),
            values: values.iter().map(|s| s.to_string()).collect(),
            log: false,
        };
        let (a, b) = (vec![v(&["100", "200", "300"])], vec![v(&["100", "250", "300"])]);
        let d = vary_difference(&a, &b, 3, 3);
        assert_eq!(
            d,
            r#"--vary arrivals.rate=100:300:3: its values differ (["100", "200", "300"] vs ["100", "250", "300"])"#
        );
        assert_eq!(vary_difference(&a, &a, 3, 4), "the number of points differs (3 vs 4)");
    }
}
