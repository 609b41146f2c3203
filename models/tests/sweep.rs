//! `mer run` as a user runs it: an experiment file's cells trained in dependency order, a
//! second run doing nothing, a killed sweep resumed to the same figures, failed cells reported
//! beside the ones that go on, Slurm (where it can start here), and the report's files.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{experiments, small_demo};

const MER: &str = env!("CARGO_BIN_EXE_mer");

/// A text teacher over two seeds, then a MAKD student of seed 1 learning from the teacher of
/// seed 1: three cells, the student waiting for one of them (and long enough to be killed
/// half-way).
fn sweep_file(store: &str) -> String {
    format!(
        r#"description = "teacher and student"
checkpoints = "{store}"
[[stage]]
name = "teacher"
config = ["experiments/unimodal/demo.toml"]
[stage.matrix]
"training.seed" = [1, 2]
[[stage]]
name = "student"
config = ["experiments/makd/demo.toml"]
set = ["model.teacher.seed=1", "training.epochs=12", "training.patience=12"]
after = ["teacher"]
[stage.matrix]
"training.seed" = [1]
"#
    )
}

fn mer(dir: &Path, args: &[&str]) -> Output {
    Command::new(MER)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every `metrics.jsonl` below `store` (none while it does not exist), by its path relative
/// to it.
fn metrics(store: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut stack = vec![store.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "metrics.jsonl") {
                let relative = path.strip_prefix(store).unwrap().to_owned();
                found.push((relative, fs::read_to_string(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

/// Whether any process's command line mentions `needle` (a cell left running).
fn process_mentions(needle: &str) -> bool {
    fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        fs::read(entry.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(needle))
            .unwrap_or(false)
    })
}

#[test]
fn a_sweep_trains_in_order_does_nothing_twice_resumes_after_a_kill_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = small_demo(&dir.join("data"), 3);
    experiments(dir, &data, 3);
    fs::write(dir.join("sweep.toml"), sweep_file("store")).unwrap();

    let plan = mer(dir, &["run", "sweep.toml", "--dry-run"]);
    let plan_text = text(&plan);
    assert!(plan.status.success(), "{plan_text}");
    assert!(plan_text.contains("sweep: 3 cells"), "{plan_text}");
    let student = plan_text
        .lines()
        .find(|l| l.contains("student seed=1"))
        .unwrap();
    // It waits for the teacher of seed 1 only (cell 1), which its identity names.
    assert!(student.contains("to train   1 "), "{student}");
    assert!(plan_text.contains("0 done, 0 started"), "{plan_text}");

    let first = mer(dir, &["run", "sweep.toml", "--jobs", "2"]);
    let first_text = text(&first);
    assert!(first.status.success(), "{first_text}");
    assert!(
        first_text.contains("3 trained, 0 done before, 0 failed"),
        "{first_text}"
    );
    assert!(dir.join("logs/sweep/student-seed=1.log").is_file());

    let started = Instant::now();
    let again = mer(dir, &["run", "sweep.toml"]);
    let again_text = text(&again);
    assert!(again.status.success(), "{again_text}");
    assert!(
        again_text.contains("all 3 cells are done; nothing to run"),
        "{again_text}"
    );
    eprintln!("second run: {:.2} s", started.elapsed().as_secs_f64());

    // The same sweep into another store, killed while the student trains, then run again.
    fs::write(dir.join("killed.toml"), sweep_file("store2")).unwrap();
    let mut runner = Command::new(MER)
        .args(["run", "killed.toml"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let student_started = metrics(&dir.join("store2").join("distillation"))
            .iter()
            .any(|(_, m)| !m.is_empty());
        if student_started || Instant::now() > deadline {
            break;
        }
        if let Ok(Some(status)) = runner.try_wait() {
            panic!("the sweep ended before it could be killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    runner.kill().unwrap();
    runner.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !process_mentions("store2"),
        "a cell kept training after its sweep was killed"
    );
    let status = text(&mer(dir, &["run", "killed.toml", "--status"]));
    assert!(status.contains("2 done, 1 started"), "{status}");
    let resumed = mer(dir, &["run", "killed.toml"]);
    let resumed_text = text(&resumed);
    assert!(resumed.status.success(), "{resumed_text}");
    assert!(
        resumed_text.contains("1 trained, 2 done before"),
        "{resumed_text}"
    );
    let uninterrupted = metrics(&dir.join("store"));
    assert_eq!(uninterrupted.len(), 3);
    assert_eq!(metrics(&dir.join("store2")), uninterrupted);

    // The report: the table, a row per configuration, the pictures and the page.
    let report = mer(dir, &["report", "sweep.toml", "--out", "report", "--html"]);
    let report_text = text(&report);
    assert!(report.status.success(), "{report_text}");
    let teacher_row = report_text
        .lines()
        .find(|l| l.starts_with("| teacher |"))
        .unwrap_or_else(|| panic!("{report_text}"));
    assert!(teacher_row.starts_with("| teacher | 2 |"), "{teacher_row}");
    assert!(report_text.contains("| student | 1 |"), "{report_text}");
    for file in [
        "report.md",
        "report.html",
        "table.svg",
        "curves-1.svg",
        "curves-2.svg",
        "confusion-1.svg",
    ] {
        assert!(dir.join("report").join(file).is_file(), "{file} missing");
    }
    let curves = fs::read_to_string(dir.join("report/curves-2.svg")).unwrap();
    for term in ["classification", "distillation", "seed 1"] {
        assert!(curves.contains(term), "the student's curves lack {term}");
    }
    let page = fs::read_to_string(dir.join("report/report.html")).unwrap();
    assert_eq!(page.matches("<svg").count(), 5);
    let md = fs::read_to_string(dir.join("report/report.md")).unwrap();
    assert!(
        md.contains("## F1 per class") && md.contains("neutral"),
        "{md}"
    );
}

#[test]
fn a_failed_cell_names_its_log_and_the_cells_that_do_not_wait_for_it_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = small_demo(&dir.join("data"), 2);
    experiments(dir, &data, 1);
    fs::write(
        dir.join("broken.toml"),
        r#"checkpoints = "store"
[[stage]]
name = "broken"
config = ["experiments/unimodal/demo.toml"]
set = ["data.root=\"no-such-folder\""]
[[stage]]
name = "later"
config = ["experiments/unimodal/demo.toml"]
set = ["training.seed=5"]
after = ["broken"]
[[stage]]
name = "fine"
config = ["experiments/unimodal/demo.toml"]
set = ["training.seed=6"]
"#,
    )
    .unwrap();
    let out = mer(dir, &["run", "broken.toml"]);
    let out_text = text(&out);
    assert_eq!(out.status.code(), Some(1), "{out_text}");
    assert!(
        out_text.contains("failed: broken (exit status: 2); log: logs/broken/broken.log"),
        "{out_text}"
    );
    assert!(
        out_text.contains("skipped: later (waits for broken"),
        "{out_text}"
    );
    assert!(
        out_text.contains("1 trained, 0 done before, 1 failed, 1 skipped"),
        "{out_text}"
    );
    let log = fs::read_to_string(dir.join("logs/broken/broken.log")).unwrap();
    assert!(log.contains("no-such-folder"), "{log}");

    // A mistake in the file itself: exit 2, naming the file and the stage.
    fs::write(
        dir.join("typo.toml"),
        "[[stage]]\nname = \"a\"\nconfig = [\"experiments/unimodal/demo.toml\"]\nafter = [\"b\"]\n",
    )
    .unwrap();
    let typo = mer(dir, &["run", "typo.toml", "--dry-run"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        text(&typo).contains("typo.toml: stage \"a\".after"),
        "{}",
        text(&typo)
    );
}

/// A Slurm cluster on this machine for the test's length: started by `scripts/slurm-local`,
/// stopped on drop.
struct LocalSlurm {
    dir: PathBuf,
    conf: String,
}

impl LocalSlurm {
    fn start(dir: &Path) -> Result<Self, String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm-local");
        let out = Command::new("bash")
            .arg(&script)
            .args(["start", dir.to_str().unwrap()])
            .output()
            .map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        match stdout.trim().strip_prefix("export SLURM_CONF=") {
            Some(conf) if out.status.success() => Ok(LocalSlurm {
                dir: dir.to_owned(),
                conf: conf.to_owned(),
            }),
            _ => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        }
    }
}

impl Drop for LocalSlurm {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm-local");
        let _ = Command::new("bash")
            .arg(script)
            .args(["stop", self.dir.to_str().unwrap()])
            .status();
    }
}

#[test]
fn slurm_runs_the_sweep_as_job_arrays_after_one_another() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let slurm = match LocalSlurm::start(&dir.join("slurm")) {
        Ok(slurm) => slurm,
        Err(why) => {
            eprintln!("skipped: a local Slurm cluster cannot start here: {why}");
            return;
        }
    };
    let data = small_demo(&dir.join("data"), 2);
    experiments(dir, &data, 1);
    fs::write(dir.join("sweep.toml"), sweep_file("store")).unwrap();
    let with_slurm = |args: &[&str]| {
        Command::new(MER)
            .args(args)
            .current_dir(dir)
            .env("SLURM_CONF", &slurm.conf)
            .output()
            .unwrap()
    };
    let submitted = with_slurm(&["run", "sweep.toml", "--slurm", "--cpus-per-task", "1"]);
    let submitted_text = text(&submitted);
    assert!(submitted.status.success(), "{submitted_text}");
    assert!(
        submitted_text.contains("submitted teacher: job"),
        "{submitted_text}"
    );
    assert!(
        submitted_text.contains("submitted student: job"),
        "{submitted_text}"
    );
    let script = fs::read_to_string(dir.join("logs/sweep/slurm/teacher.sh")).unwrap();
    assert!(script.contains("#SBATCH --array=0-1"), "{script}");

    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        let status = text(&with_slurm(&["run", "sweep.toml", "--status"]));
        if status.contains("3 done") || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    let logs: Vec<String> = fs::read_dir(dir.join("logs/sweep"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(status.contains("3 done"), "{status}\n{}", logs.join("\n"));
    let again = with_slurm(&["run", "sweep.toml", "--slurm"]);
    assert!(text(&again).contains("nothing to run"), "{}", text(&again));
}

#[test]
fn the_shipped_experiments_resolve_every_cell() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (file, cells) in [
        ("experiments/demo-sweep.toml", 6),
        ("experiments/mdn.toml", 12),
        ("experiments/makd.toml", 14),
    ] {
        let out = mer(&workspace, &["run", file, "--dry-run"]);
        let out_text = text(&out);
        assert!(out.status.success(), "{file}: {out_text}");
        assert!(out_text.contains(&format!(": {cells} cells")), "{out_text}");
    }
}
