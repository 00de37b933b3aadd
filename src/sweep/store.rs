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
            let show = |m: &SweepManifest| m.vary.iter().map(|v| format!("{}={}", v.key, v.spec)).collect::<Vec<_>>();
            d.push(format!("--vary differs ({:?} vs {:?})", show(self), show(other)));
        }
        d
    }
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { action, path: path.to_path_buf(), source }
}

/// The manifest in `dir`, if there is one.
pub fn read_manifest(dir: &Path) -> Result<Option<SweepManifest>> {
    let path = dir.join(MANIFEST);
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ScenarioError::general(format!("{}: not a valid sweep manifest: {e}", path.display())).into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("cannot read", &path)(e)),
    }
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
            out.push(i.parse().map_err(|_| Error::Other(format!("bad point file name {name}")))?);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Reads the files of points `indices`.
pub fn read_points(dir: &Path, indices: &[usize]) -> Result<BTreeMap<usize, Vec<u8>>> {
    indices
        .iter()
        .map(|&i| {
            let p = point_path(dir, i);
            fs::read(&p).map(|b| (i, b)).map_err(io("cannot read", &p))
        })
        .collect()
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
}
