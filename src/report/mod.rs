//! Everything lbsim shows or writes: terminal tables, warnings and output files.
//!
//! Organised by what is reported: [`run`] (`lbsim run`: the [`Report`], its table, CSV, JSON
//! and charts), [`sweep`], [`plan`] and [`remap`](remap_out); shared pieces are the number formats
//! ([`format`](mod@format)), the table style ([`table`]), the [`warnings`] and the chart plumbing
//! ([`charts`]). Presentation lives here, and data flows one way: this module renders typed
//! results ([`Report`], [`sweep::SweepView`], the plan's and remap's reports) and never
//! calls what produced them, while `lbsim sweep` writes its files through it as it goes
//! (its storage, [`crate::sweep::sweep_csv`], reuses summary.csv's cells from [`run::summary_csv`]).
//!
//! Every output file is an [`Exporter`]: it renders its input to bytes in memory.
//! [`write_outputs`] renders all of them first (in parallel) and only then writes each
//! through a temporary file and a rename, so a failure never leaves a partial or corrupt
//! file. Adding a format is one new file and one line in the list of its command (e.g.
//! [`run::EXPORTERS`]).
//!
//! Every file except `manifest.json` is a pure function of the scenario and its seed:
//! byte-identical from run to run whatever the thread count. The manifest also records the
//! wall time.

pub mod charts;
pub mod format;
pub mod html;
pub mod manifest;
pub mod metric;
pub mod plan;
pub mod remap_out;
pub mod run;
pub mod sweep;
pub mod table;
pub mod validate_text;
pub mod warnings;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::{Error, Result};
pub use run::Report;
pub use warnings::Warning;

/// A file written into the output directory, rendered from `T` (a run's [`Report`] by
/// default; sweeps and plans have exporters of their own results).
pub trait Exporter<T: ?Sized = Report>: Sync {
    /// File name inside the output directory, e.g. `summary.csv`.
    fn file_name(&self) -> &'static str;
    /// Renders the report.
    fn render(&self, report: &T) -> Result<Vec<u8>>;
    /// Whether the file is a chart (left out by `--no-charts`).
    fn is_chart(&self) -> bool {
        false
    }
    /// Whether the file is a pure function of the scenario and seed (byte-identical from run
    /// to run whatever the thread count); false for the manifest, which records wall time.
    fn is_reproducible(&self) -> bool {
        true
    }
    /// Whether this file is written for `report` (e.g. `faults.csv` only when the
    /// scenario has faults).
    fn wanted(&self, _report: &T) -> bool {
        true
    }
    /// Whether the file is put together from the other files of the same
    /// [`write_outputs`] call (`report.html` embeds the charts): it is then rendered after
    /// them, by [`Exporter::compose`], so nothing is drawn twice.
    fn composes(&self) -> bool {
        false
    }
    /// Renders the file given the files rendered before it in the same call (name, bytes);
    /// by default [`Exporter::render`]. Must equal `render(report)` whenever `files` holds
    /// what `render` would have drawn itself.
    fn compose(&self, report: &T, _files: &[(&str, Vec<u8>)]) -> Result<Vec<u8>> {
        self.render(report)
    }
}

/// Renders every exporter (in parallel; those that [compose](Exporter::composes) the others
/// after them), then writes them atomically into `dir` (created if needed). Returns the
/// paths written, in the exporters' order, composed files last.
pub fn write_outputs<T: ?Sized + Sync>(report: &T, dir: &Path, exporters: &[&dyn Exporter<T>]) -> Result<Vec<PathBuf>> {
    let mut rendered: Vec<(&str, Vec<u8>)> = exporters
        .par_iter()
        .filter(|e| e.wanted(report) && !e.composes())
        .map(|e| Ok((e.file_name(), e.render(report)?)))
        .collect::<Result<_>>()?;
    for e in exporters.iter().filter(|e| e.wanted(report) && e.composes()) {
        let bytes = e.compose(report, &rendered)?;
        rendered.push((e.file_name(), bytes));
    }
    fs::create_dir_all(dir).map_err(|e| Error::Io { action: "cannot create", path: dir.to_path_buf(), source: e })?;
    rendered.into_iter().map(|(name, bytes)| write_atomic(&dir.join(name), &bytes)).collect()
}

/// Removes `path` if it exists (a file an earlier command left that this one does not write).
pub fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Io { action: "cannot remove", path: path.to_path_buf(), source: e }),
    }
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
