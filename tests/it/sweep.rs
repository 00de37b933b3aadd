//! `lbsim sweep` and `lbsim merge`: points reproduce single runs, sharding and merging give
//! the unsharded files byte for byte (run through the committed Slurm and Kubernetes
//! specs), bad `--vary` input is a clear error, and Ctrl-C + `--resume` lose nothing.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::{mm_pool, repo, shipped};
use lbsim::report::metric::header as summary_header;
use lbsim::run::{self, RunOptions};
use lbsim::scenario::Overrides;
use lbsim::scenario::Scenario;
use lbsim::scenario::edit::ScenarioText;
use lbsim::sweep::{self, Sweep, SweepOptions};
use lbsim::workload::seeds::point_seed;

const BIN: &str = env!("CARGO_BIN_EXE_lbsim");

fn lbsim(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("lbsim runs")
}

/// `PATH` with the directory of the `lbsim` under test first, as the deploy scripts call
/// plain `lbsim`.
fn path_with_lbsim() -> String {
    let bin_dir = Path::new(BIN).parent().unwrap();
    format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const TOP: &str = r#"name = "small"
seed = 11
requests = 20000
warmup_requests = 2000
replications = 2
strategies = ["round-robin", "random", { name = "p2c", choices = 3 }]"#;

#[test]
fn sweep_points_reproduce_single_runs() {
    let dir = tempfile::tempdir().unwrap();
    let text = ScenarioText::new(mm_pool(TOP, 300.0, "app", 4, ""), None).unwrap();
    let sw = Sweep::new(text, Overrides::default(), &["arrivals.rate=150,250.5,390".to_string()]).unwrap();
    let out = sweep::execute(&sw, dir.path(), &SweepOptions::default()).unwrap();
    assert!(out.complete && out.ran == 3);
    let data = out.data.unwrap();
    let t = &data.table;
    let (seed_col, strat_col) = (t.col("seed").unwrap(), t.col("strategy").unwrap());
    let summary = summary_header();
    for (rate, rows) in [150.0, 250.5, 390.0].iter().zip(t.rows.chunks(3)) {
        // The point's seed derives from the base seed and its value, nothing else.
        let seed: u64 = rows[0][seed_col].parse().unwrap();
        assert_eq!(seed, point_seed(11, &format!("arrivals.rate={rate}")));
        // A single run of the scenario at that rate with that seed gives the same rows.
        let single_text = mm_pool(TOP, 300.0, "app", 4, "").replace("rate = 300.0", &format!("rate = {rate:?}"));
        let mut sc = Scenario::parse(&single_text, None).unwrap();
        sc.seed = seed;
        let report = run::run(&sc, &RunOptions::default()).unwrap();
        let csv = String::from_utf8(
            lbsim::report::Exporter::render(&lbsim::report::run::summary_csv::SummaryCsv, &report).unwrap(),
        )
        .unwrap();
        let single: Vec<Vec<String>> =
            csv.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect();
        for (row, s) in rows.iter().zip(&single) {
            assert_eq!(row[strat_col], s[0]);
            // Every summary.csv column, found by name (sweep.csv's own columns sit between
            // the older and the newer summary columns).
            for (k, name) in summary.iter().enumerate() {
                assert_eq!(row[t.col(name).unwrap()], s[k], "rate {rate}, {name}");
            }
        }
    }
}

#[test]
fn sweep_points_with_a_fault_carry_the_runs_recovery() {
    // Issue 25: sweep.csv's `recovery_s` and `recovered` were empty (a sweep measured no
    // phases); each point's are now those a run of it writes in summary.csv.
    let dir = tempfile::tempdir().unwrap();
    let fault = "[[faults]]\nserver = \"app-1\"\ndown_at = \"10s\"\nup_at = \"20s\"\n";
    let top = TOP.replace("requests = 20000", "requests = 12000");
    let text = ScenarioText::new(mm_pool(&top, 300.0, "app", 4, fault), None).unwrap();
    let sw = Sweep::new(text, Overrides::default(), &["arrivals.rate=200,300".to_string()]).unwrap();
    let data = sweep::execute(&sw, dir.path(), &SweepOptions::default()).unwrap().data.unwrap();
    let t = &data.table;
    let (seed_col, rec_col, ok_col) =
        (t.col("seed").unwrap(), t.col("recovery_s").unwrap(), t.col("recovered").unwrap());
    for (rate, rows) in [200.0, 300.0].iter().zip(t.rows.chunks(3)) {
        let single_text = mm_pool(&top, 300.0, "app", 4, fault).replace("rate = 300.0", &format!("rate = {rate:?}"));
        let mut sc = Scenario::parse(&single_text, None).unwrap();
        sc.seed = rows[0][seed_col].parse().unwrap();
        let report = run::run(&sc, &RunOptions::default()).unwrap();
        for (row, s) in rows.iter().zip(&report.strategies) {
            let r = s.recovery.expect("a fault window is assessed");
            assert_eq!(row[ok_col], if r.all { "1" } else { "0" }, "rate {rate}");
            let want = if r.longest.is_finite() { format!("{:.3}", r.longest) } else { String::new() };
            assert_eq!(row[rec_col], want, "rate {rate}");
        }
    }
}

#[test]
fn a_sweep_varies_the_subset_kind() {
    // `--vary balancers.subset.kind=…` (issue 25): each point runs its kind (the clients per
    // backend of Google's deterministic subsets of 3 of 6 servers over 4 instances are
    // exactly 2; random ones differ), sweep.csv names it, and a bad name is an input error.
    let top =
        TOP.replace("requests = 20000", "requests = 3000").replace("warmup_requests = 2000", "warmup_requests = 300");
    let extra = "[balancers]\ncount = 4\nview = \"local\"\nsubset = { size = 3, kind = \"random\" }\n";
    let text = mm_pool(&top, 300.0, "app", 6, extra);
    let (tmp, path) = crate::common::case(&text);
    let out = tmp.path().join("out");
    let o = lbsim(&[
        "sweep",
        path.to_str().unwrap(),
        "--vary",
        "balancers.subset.kind=deterministic,random",
        "--replications",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap_or_else(|| panic!("no {n}"));
    let (kind, lo, hi) = (col("balancers.subset.kind"), col("clients_per_backend_min"), col("clients_per_backend_max"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6, "two kinds × three strategies");
    for r in &rows[..3] {
        assert_eq!((r[kind], r[lo], r[hi]), ("deterministic", "2", "2"));
    }
    assert!(rows[3..].iter().all(|r| r[kind] == "random"));
    assert!(out.join("sweep_p99.png").exists());
    let bad = lbsim(&["sweep", path.to_str().unwrap(), "--vary", "balancers.subset.kind=random,determinstic"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("did you mean `deterministic`?"), "{}", stderr(&bad));
}

/// `#SBATCH --array=0-15` → 16.
fn slurm_array_size(script: &str) -> usize {
    let line = script.lines().find_map(|l| l.strip_prefix("#SBATCH --array=")).expect("an --array line");
    let (a, b) = line.trim().split_once('-').expect("a range 0-N");
    assert_eq!(a, "0", "shards are numbered from 0, so the array must start at 0");
    b.split('%').next().unwrap().parse::<usize>().unwrap() + 1
}

fn run_slurm_task(script: &Path, k: usize, n: usize, results: &Path) -> Output {
    Command::new("bash")
        .arg(script)
        .current_dir(repo())
        .env("PATH", path_with_lbsim())
        .env("SLURM_ARRAY_TASK_ID", k.to_string())
        .env("SLURM_ARRAY_TASK_COUNT", n.to_string())
        .env("RESULTS", results)
        .env("REQUESTS", "3000")
        .output()
        .unwrap()
}

fn same_files(a: &Path, b: &Path) {
    for f in ["sweep.csv", "sweep_p99.png", "sweep_mean.png"] {
        let (x, y) = (fs::read(a.join(f)).unwrap(), fs::read(b.join(f)).unwrap());
        assert!(x == y, "{f} differs between {} and {}", a.display(), b.display());
    }
}

#[test]
fn shards_merged_equal_the_unsharded_sweep_via_the_slurm_and_kubernetes_specs() {
    let tmp = tempfile::tempdir().unwrap();
    let script = repo().join("deploy/slurm-sweep.sh");
    let n = slurm_array_size(&fs::read_to_string(&script).unwrap());

    // The same script as one task of one: the unsharded reference.
    let whole = tmp.path().join("whole");
    let o = run_slurm_task(&script, 0, 1, &whole);
    assert!(o.status.success(), "{}", stderr(&o));
    let reference = whole.join("shard-0");
    assert!(reference.join("sweep_p99.png").exists());

    // Slurm: every array task, then merge.
    let slurm = tmp.path().join("slurm");
    for k in 0..n {
        let o = run_slurm_task(&script, k, n, &slurm);
        assert!(o.status.success(), "task {k}: {}", stderr(&o));
    }
    let mut args: Vec<String> = vec!["merge".into()];
    args.extend((0..n).map(|k| slurm.join(format!("shard-{k}")).display().to_string()));
    args.extend(["--out".into(), slurm.join("sweep").display().to_string()]);
    let o = lbsim(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    same_files(&reference, &slurm.join("sweep"));
    // The same sweep (same command): the same report.html.
    let html = |d: &Path| fs::read(d.join("report.html")).unwrap();
    assert!(html(&reference) == html(&slurm.join("sweep")), "report.html of the merge differs");

    // Kubernetes: the Indexed Job's pods, then the merge Job's shell command.
    let docs = fs::read_to_string(repo().join("deploy/k8s-sweep-job.yaml")).unwrap();
    let job: serde_norway::Value = serde_norway::from_str(&docs).unwrap();
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(job["kind"].as_str(), Some("Job"));
    assert_eq!(job["spec"]["completionMode"].as_str(), Some("Indexed"));
    let completions = job["spec"]["completions"].as_u64().unwrap() as usize;
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["command"][0].as_str(), Some("lbsim"));
    let env = &c["env"][0];
    assert_eq!(env["name"].as_str(), Some("SHARD"));
    assert_eq!(
        env["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("metadata.annotations['batch.kubernetes.io/job-completion-index']")
    );
    let pod_args: Vec<String> =
        c["args"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
    let shard = &pod_args[pod_args.iter().position(|a| a == "--shard").unwrap() + 1];
    assert_eq!(shard, &format!("$(SHARD)/{completions}"), "completions must equal the shard count");
    let mounts = c["volumeMounts"].as_sequence().unwrap();
    assert!(mounts.iter().any(|m| m["mountPath"].as_str() == Some("/results")));
    let k8s = tmp.path().join("k8s");
    let local = |a: &str, k: usize| {
        a.replace("$(SHARD)", &k.to_string())
            .replace("/scenarios/", &format!("{}/scenarios/", repo().display()))
            .replace("/results", &k8s.display().to_string())
    };
    for k in 0..completions {
        let mut args: Vec<String> = pod_args.iter().map(|a| local(a, k)).collect();
        let r = args.iter().position(|a| a == "--requests").unwrap();
        args[r + 1] = "3000".into();
        let o = lbsim(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(o.status.success(), "index {k}: {}", stderr(&o));
    }
    let merge: serde_norway::Value =
        serde_norway::from_str(&fs::read_to_string(repo().join("deploy/k8s-merge-job.yaml")).unwrap()).unwrap();
    let mc = &merge["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(mc["command"][0].as_str(), Some("sh"));
    let shell = local(mc["args"][0].as_str().unwrap(), 0);
    let o = Command::new("sh").args(["-c", &shell]).env("PATH", path_with_lbsim()).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    same_files(&reference, &k8s.join("web-peak/sweep"));

    // An incomplete set of shards is refused, naming what is missing.
    let o = lbsim(&[
        "merge",
        &slurm.join("shard-0").display().to_string(),
        &slurm.join("shard-2").display().to_string(),
        "--out",
        &tmp.path().join("partial").display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(&format!("shard(s) 1/{n}, 3/{n}")), "{}", stderr(&o));
    // Shards of different sweeps are refused.
    let o = lbsim(&[
        "merge",
        &slurm.join("shard-0").display().to_string(),
        &reference.display().to_string(),
        "--out",
        &tmp.path().join("mixed").display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_vary_is_a_clear_input_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = shipped("web-peak.toml");
    let file = file.to_str().unwrap();
    let o_s = out.to_str().unwrap();
    for (vary, expect) in [
        ("arrivals.raet=100:900:5", "did you mean `arrivals.rate`?"),
        ("servers.wbe.count=4,8", "the groups are [0] web"),
        ("arrivals.rate=100:900", "a range is a:b:n"),
        ("servers.web.count=1:10:5", "takes integers"),
        ("arrivals.process=1,2", "not a number"),
        ("arrivals.rate=100,-5", "must be a positive number"),
        ("strategies[99].choices=2", "no strategy [99]"),
        ("arrivals.rate", "KEY=VALUES"),
        ("balancers.subset.kind=random", "unknown key `subset` in [balancers]"),
    ] {
        let o = lbsim(&["sweep", file, "--vary", vary, "--out", o_s]);
        assert_eq!(o.status.code(), Some(2), "{vary}: {}", stderr(&o));
        assert!(stderr(&o).contains(expect), "{vary}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
    let o = lbsim(&["sweep", file, "--vary", "arrivals.rate=1,2", "--shard", "4/4", "--out", o_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("from 0 to 3"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing is written on bad input");
}

#[cfg(unix)]
#[test]
fn ctrl_c_keeps_finished_points_and_resume_completes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let file = shipped("web-peak.toml");
    let base = |out: &Path| -> Vec<String> {
        [
            "sweep",
            file.to_str().unwrap(),
            "--vary",
            "arrivals.rate=300:890:30",
            "--strategies",
            "p2c",
            "--requests",
            "300000",
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let cut = tmp.path().join("cut");
    let child = Command::new(BIN)
        .args(base(&cut))
        .args(["--threads", "1"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let points = cut.join("points");
    let t0 = std::time::Instant::now();
    while fs::read_dir(&points)
        .map(|d| d.filter_map(Result::ok).filter(|e| !e.file_name().to_string_lossy().ends_with(".tmp")).count())
        .unwrap_or(0)
        == 0
    {
        assert!(t0.elapsed().as_secs() < 60, "no point finished");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    let kept = fs::read_dir(&points).unwrap().count();
    assert!((1..30).contains(&kept), "{kept} points kept");
    assert!(!cut.join("sweep.csv").exists());

    // Without --resume the unfinished sweep is protected.
    let o = lbsim(&base(&cut).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unfinished sweep"), "{}", stderr(&o));

    let mut args = base(&cut);
    args.push("--resume".into());
    let o = lbsim(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("{kept} resumed")), "{}", stderr(&o));

    let whole = tmp.path().join("whole");
    let o = lbsim(&base(&whole).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    same_files(&cut, &whole);
}
