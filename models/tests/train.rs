//! Training through the `unimodal` binary: reproducibility, resuming after a kill, eval, infer.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNIMODAL: &str = env!("CARGO_BIN_EXE_unimodal");
const MER: &str = env!("CARGO_BIN_EXE_mer");

/// A short demo run into `root`; `extra` adds overrides.
fn train(root: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut unimodal = Command::new(UNIMODAL);
    unimodal.arg("train");
    train_with(unimodal, root, extra, env)
}

/// [`train`] with `command` (a binary, `train` and any config files).
fn train_with(mut command: Command, root: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let checkpoints = format!("output.checkpoints={}", root.display());
    let cache = format!("output.cache={}", root.join("cache").display());
    let mut args = vec![
        "--set",
        "training.epochs=3",
        "--set",
        &checkpoints,
        "--set",
        &cache,
    ];
    for o in extra {
        args.extend(["--set", o]);
    }
    command.args(&args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn checkpoint_dir(output: &Output) -> PathBuf {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("checkpoint: "))
        .unwrap_or_else(|| {
            panic!(
                "no checkpoint line in {stdout} / {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    PathBuf::from(line)
}

fn metrics(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap()
}

#[test]
fn same_seed_same_metrics_and_a_killed_run_resumes_to_the_same_end() {
    let tmp = tempfile::tempdir().unwrap();
    let first = train(&tmp.path().join("a"), &[], &[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = train(&tmp.path().join("b"), &[], &[]);
    let (a, b) = (checkpoint_dir(&first), checkpoint_dir(&second));
    assert_eq!(metrics(&a).lines().count(), 3);
    assert_eq!(metrics(&a), metrics(&b), "byte-identical metrics.jsonl");
    assert!(a.join("timings.jsonl").exists(), "timings live apart");

    // `mer train CONFIG` trains through the registry exactly as the architecture's binary does.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/unimodal/demo.toml");
    let mut mer = Command::new(MER);
    mer.args(["train", demo.to_str().unwrap()]);
    let through_mer = train_with(mer, &tmp.path().join("c"), &[], &[]);
    assert!(
        through_mer.status.success(),
        "{}",
        String::from_utf8_lossy(&through_mer.stderr)
    );
    let c = checkpoint_dir(&through_mer);
    assert_eq!(
        c.strip_prefix(tmp.path().join("c")).unwrap(),
        a.strip_prefix(tmp.path().join("a")).unwrap()
    );
    assert_eq!(
        metrics(&c),
        metrics(&a),
        "mer train and unimodal train agree"
    );

    // 540 demo train utterances in batches of 8: 68 steps an epoch. Die 5 steps into epoch 2.
    let killed_root = tmp.path().join("killed");
    let killed = train(&killed_root, &[], &[("MER_ABORT_AFTER_STEPS", "73")]);
    assert!(!killed.status.success(), "the run was meant to die");
    let dir = killed_root.join(a.strip_prefix(tmp.path().join("a")).unwrap());
    let partial = metrics(&dir);
    assert_eq!(
        partial.lines().count(),
        1,
        "only epoch 1 completed: {partial}"
    );

    let resumed = train(&killed_root, &[], &[]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(String::from_utf8_lossy(&resumed.stdout).contains("resumed after epoch 1"));
    assert_eq!(
        metrics(&dir),
        metrics(&a),
        "the resumed run ends as the uninterrupted one"
    );
    let states: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("state-"))
        .collect();
    assert_eq!(
        states,
        vec!["state-3".to_owned()],
        "older states are removed"
    );

    // A setting that changes the weights makes its own folder (tests/tests/identity.rs); one
    // that does not (the evaluation batch) leaves the folder, and a run started with other
    // settings under it is refused, not mixed in.
    let other = train(&killed_root, &["training.eval_batch_size=4"], &[]);
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("another config"));

    // eval reproduces the best epoch's dev figures; infer gives a distribution.
    let best_dev = {
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(a.join("checkpoint.json")).unwrap()).unwrap();
        assert!(manifest["metrics"]["test"]["accuracy"].is_number());
        manifest["metrics"]["dev"]["accuracy"].as_f64().unwrap()
    };
    let eval = Command::new(UNIMODAL)
        .args(["eval", a.to_str().unwrap(), "--split", "dev"])
        .output()
        .unwrap();
    let eval_out = String::from_utf8_lossy(&eval.stdout);
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    assert!(
        eval_out.contains(&format!("dev: accuracy {best_dev:.2}")),
        "{eval_out}"
    );
    assert!(eval_out.contains("confusion (rows gold, columns predicted)"));

    let infer = Command::new(UNIMODAL)
        .args([
            "infer",
            a.to_str().unwrap(),
            "--text",
            "I am so happy about the concert!",
            "--speaker",
            "Mara",
            "--context",
            "Theo: Did you take the bags to the garden?",
        ])
        .output()
        .unwrap();
    assert!(
        infer.status.success(),
        "{}",
        String::from_utf8_lossy(&infer.stderr)
    );
    let lines: Vec<(String, f64)> = String::from_utf8_lossy(&infer.stdout)
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace();
            (
                parts.next().unwrap().to_owned(),
                parts.next().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(lines.len(), 7);
    let total: f64 = lines.iter().map(|(_, p)| p).sum();
    assert!((total - 1.0).abs() < 1e-3, "probabilities sum to {total}");
    assert!(lines.windows(2).all(|w| w[0].1 >= w[1].1), "ranked");
}

#[test]
fn a_head_that_does_not_fit_the_labels_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = train(
        tmp.path(),
        &["data.label=sentiment", "model.head.num_classes=7"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "model.head.num_classes: is 7, which disagrees with data.dataset and data.label (3)"
        ),
        "{stderr}"
    );
}
