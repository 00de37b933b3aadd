//! Times every exporter (render only, in memory) on a scenario: the cost of each chart and file.
//!
//!     cargo run --release --example export_timings -- scenarios/web-peak.toml [repeats]

use std::path::PathBuf;
use std::time::Instant;

use lbsim::report::run::EXPORTERS;
use lbsim::run::{self, RunOptions};
use lbsim::scenario::Scenario;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = PathBuf::from(args.next().ok_or("usage: export_timings SCENARIO [repeats]")?);
    let repeats: u32 = args.next().map(|r| r.parse()).transpose()?.unwrap_or(5);
    let scenario = Scenario::load(&file)?;
    let report = run::run(&scenario, &RunOptions::default())?;
    println!("{}: simulation {:.3} s; render times, best of {repeats}:", scenario.name, report.wall_time);
    for e in EXPORTERS {
        let mut best = f64::INFINITY;
        let mut size = 0;
        for _ in 0..repeats {
            let t = Instant::now();
            size = e.render(&report)?.len();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("  {:<24} {:>8.1} ms  {:>9} bytes", e.file_name(), best * 1e3, size);
    }
    Ok(())
}
