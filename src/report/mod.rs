//! Reports: the terminal table and file exporters.
//!
//! Every output file is an [`Exporter`]: it renders the whole report to bytes in memory.
//! [`write_outputs`] renders all of them first and only then writes each through a
//! temporary file and a rename, so a failure never leaves a partial or corrupt file.
//! Adding a format is one new file and one line in [`EXPORTERS`].

pub mod csv;
pub mod format;
pub mod plan;
pub mod plan_chart;
pub mod plot;
pub mod remap;
pub mod sweep;
pub mod sweep_charts;
pub mod terminal;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::run::Report;
use crate::{Error, Result};

/// A file written into the output directory, rendered from `T` (a run's [`Report`] by
/// default; sweeps and plans have exporters of their own results).
pub trait Exporter<T: ?Sized = Report>: Sync {
    /// File name inside the output directory, e.g. `summary.csv`.
    fn file_name(&self) -> &'static str;
    /// Renders the report.
    fn render(&self, report: &T) -> Result<Vec<u8>>;
}

/// The exporters `lbsim run` writes, in order.
pub static EXPORTERS: &[&dyn Exporter] = &[&csv::SummaryCsv, &csv::ServersCsv];

/// Renders every exporter, then writes them atomically into `dir` (created if needed).
/// Returns the paths written.
pub fn write_outputs<T: ?Sized>(report: &T, dir: &Path, exporters: &[&dyn Exporter<T>]) -> Result<Vec<PathBuf>> {
    let rendered: Vec<(&str, Vec<u8>)> =
        exporters.iter().map(|e| Ok((e.file_name(), e.render(report)?))).collect::<Result<_>>()?;
    fs::create_dir_all(dir).map_err(|e| Error::Io { action: "cannot create", path: dir.to_path_buf(), source: e })?;
    rendered.into_iter().map(|(name, bytes)| write_atomic(&dir.join(name), &bytes)).collect()
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |action, e| Error::Io { action, path: path.to_path_buf(), source: e };
    let mut tmp = tempfile_in(dir, path).map_err(|e| io("cannot write", e))?;
    let result = tmp.1.write_all(bytes).and_then(|_| tmp.1.sync_all());
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp.0);
        return Err(io("cannot write", e));
    }
    drop(tmp.1);
    fs::rename(&tmp.0, path).map_err(|e| {
        let _ = fs::remove_file(&tmp.0);
        io("cannot write", e)
    })?;
    Ok(path.to_path_buf())
}

fn tempfile_in(dir: &Path, target: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    let base = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for i in 0..1000u32 {
        let p = dir.join(format!(".{base}.{}.{i}.tmp", std::process::id()));
        match fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary file name"))
}
