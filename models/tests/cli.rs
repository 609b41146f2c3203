//! The binaries as a user runs them: plans, exit codes, located errors, store tools.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;

const UNIMODAL: &str = env!("CARGO_BIN_EXE_unimodal");
const MER: &str = env!("CARGO_BIN_EXE_mer");
const MDN: &str = env!("CARGO_BIN_EXE_mdn");
const MULTIMODAL: &str = env!("CARGO_BIN_EXE_multimodal");

fn run(bin: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn json(output: &Output) -> Json {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn bench_encoders_times_a_case_and_refuses_an_unknown_one() {
    let out = run(
        MER,
        &[
            "bench",
            "encoders",
            "--case",
            "video-demo",
            "--steps",
            "1",
            "--no-torch",
            "--json",
        ],
        &workspace(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let figures: Json = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let case = &figures["cases"][0];
    assert_eq!(case["name"], "video-demo");
    assert!(case["forward_ms"].as_f64().unwrap() > 0.0);
    assert!(case["train_step_ms"].as_f64().unwrap() > 0.0);
    assert!(case["torch_forward_ms"].is_null());
    let bad = run(MER, &["bench", "encoders", "--case", "nope"], &workspace());
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn plan_json_has_the_documented_keys() {
    let plan = json(&run(UNIMODAL, &["plan", "--json"], &workspace()));
    assert_eq!(plan["summary"], "1xE--T");
    let hash = plan["hash"].as_str().unwrap();
    assert_eq!(hash.len(), 8);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    let training = plan["training_hash"].as_str().unwrap();
    assert_eq!(training.len(), 8);
    assert_eq!(
        plan["checkpoint_dir"],
        format!("checkpoints/training/demo--E/trainable--8/1xE--T/{hash}-{training}--42")
    );
    let total = plan["params"]["total"].as_u64().unwrap();
    assert!(total > 50_000);
    assert_eq!(plan["params"]["trainable"].as_u64().unwrap(), total);
    assert_eq!(plan["config"]["training"]["seed"], 42);
    assert_eq!(plan["config"]["training"]["batch_size"], 8);
    let model = plan["config"]["model"].as_object().unwrap();
    let mut keys: Vec<&str> = model.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["dropout", "head", "projector", "text"]);
    let rows = plan["params"]["rows"].as_array().unwrap();
    let row_sum: u64 = rows.iter().map(|r| r["params"].as_u64().unwrap()).sum();
    assert_eq!(row_sum, total);
}

#[test]
fn mer_plan_matches_the_architecture_binary() {
    let config = "experiments/unimodal/demo.toml";
    let args = ["plan", config, "--set", "training.seed=3", "--json"];
    let from_mer = json(&run(MER, &args, &workspace()));
    let from_unimodal = json(&run(UNIMODAL, &args, &workspace()));
    assert_eq!(from_mer, from_unimodal);
    assert_eq!(from_mer["config"]["training"]["seed"], 3);
    // No config: the demo default, which is that same file.
    let builtin = json(&run(
        UNIMODAL,
        &["plan", "--set", "training.seed=3", "--json"],
        &workspace(),
    ));
    assert_eq!(builtin["hash"], from_mer["hash"]);
}

#[test]
fn frozen_encoder_counts_as_frozen() {
    let plan = json(&run(
        UNIMODAL,
        &["plan", "--set", "model.text.mode=frozen", "--json"],
        &workspace(),
    ));
    let rows = plan["params"]["rows"].as_array().unwrap();
    let text = rows.iter().find(|r| r["name"] == "text").unwrap();
    assert_eq!(text["trainable"], 0);
    assert_eq!(plan["params"]["frozen"], text["params"]);
    assert!(
        plan["checkpoint_dir"]
            .as_str()
            .unwrap()
            .contains("/frozen--8/")
    );
}

#[test]
fn lora_counts_adapters_as_the_only_trainable_encoder_weights() {
    let trainable_of = |extra: &[&str]| {
        let mut args = vec!["plan", "--json", "--set", "model.text.mode=lora"];
        args.extend(extra.iter().flat_map(|e| ["--set", *e]));
        let plan = json(&run(UNIMODAL, &args, &workspace()));
        let rows = plan["params"]["rows"].as_array().unwrap().clone();
        let text = rows.iter().find(|r| r["name"] == "text").unwrap().clone();
        assert!(
            plan["checkpoint_dir"]
                .as_str()
                .unwrap()
                .contains("/lora--8/")
        );
        (
            text["params"].as_u64().unwrap(),
            text["trainable"].as_u64().unwrap(),
        )
    };
    // The demo encoder: 2 layers of width 64, feed-forward 128. Rank 8 on query and value:
    // 2 layers × 2 × (64·8 + 8·64).
    let (params, trainable) = trainable_of(&[]);
    assert_eq!(trainable, 2 * 2 * (64 * 8 + 8 * 64));
    // Every linear layer: q, k, v, attention output (64→64), intermediate (64→128), output
    // (128→64).
    let (all_params, all) = trainable_of(&["model.text.lora.targets=[\"all-linear\"]"]);
    assert_eq!(all, 2 * (4 * 1024 + 2 * (64 * 8 + 8 * 128)));
    assert_eq!(all_params - all, params - trainable, "the base is the same");
    // A regex over the whole path: the first layer's query only.
    let (_, first) = trainable_of(&[r"model.text.lora.targets=['.*layer\.0\..*query']"]);
    assert_eq!(first, 64 * 8 + 8 * 64);

    // Targets that match nothing are bad input, named by key.
    let out = run(
        UNIMODAL,
        &[
            "plan",
            "--set",
            "model.text.mode=lora",
            "--set",
            "model.text.lora.targets=[\"nothing_here\"]",
        ],
        &workspace(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("model.text.lora.targets") && stderr.contains("match none"),
        "{stderr}"
    );
    // LoRA settings without lora mode are refused.
    let out = run(
        UNIMODAL,
        &["plan", "--set", "model.text.lora.r=4"],
        &workspace(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("set mode = \"lora\""));
}

#[test]
fn mode_overlays_apply_to_the_demo() {
    for (overlay, dir) in [("frozen", "/frozen--8/"), ("lora", "/lora--8/")] {
        let file = format!("experiments/unimodal/{overlay}.toml");
        let plan = json(&run(
            UNIMODAL,
            &["plan", "experiments/unimodal/demo.toml", &file, "--json"],
            &workspace(),
        ));
        assert!(plan["checkpoint_dir"].as_str().unwrap().contains(dir));
    }
}

/// Each kind of bad input exits 2 and says where.
#[test]
fn bad_configs_exit_2_with_their_location() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
        name.to_owned()
    };
    let cases = [
        (
            write("unknown.toml", b"architecture = \"unimodal\"\n[model.head]\nnum_classes = 7\nwidth = 3\n"),
            "unknown.toml:4:1: model.head.width: unknown key (expected one of: input, num_classes, dropout)",
        ),
        (
            write("type.toml", b"architecture = \"unimodal\"\n[model.head]\nnum_classes = 7\n[model]\ndropout = \"lots\"\n"),
            "type.toml:5:11: model.dropout: expected a float, found a string",
        ),
        (
            write("missing.toml", b"architecture = \"unimodal\"\n[model.text]\nmax_len = 64\n"),
            "missing.toml:2:1: model.text.shape: missing: set `shape` (a randomly initialised encoder) or `pretrained` (a Hugging Face folder)",
        ),
        (
            write("utf8.toml", b"architecture = \"unimodal\"\n# caf\xe9\n"),
            "utf8.toml:2:6: not valid UTF-8",
        ),
        ("absent.toml".to_owned(), "absent.toml: cannot read: No such file or directory"),
        (
            write("widths.toml", b"architecture = \"unimodal\"\n[model.text.shape]\nhidden = 64\n[model.head]\nnum_classes = 7\n[model.projector]\ninput = 32\n"),
            "widths.toml:7:9: model.projector.input: is 32, which disagrees with the outputs of model.text (64): leave it out, it is derived",
        ),
    ];
    for (file, expected) in cases {
        for bin in [UNIMODAL, MER] {
            let out = run(bin, &["plan", &file], tmp.path());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
            assert!(
                stderr.contains(expected),
                "{file}: expected {expected:?} in {stderr:?}"
            );
            assert!(out.stdout.is_empty(), "nothing printed before the error");
        }
    }
    let out = run(UNIMODAL, &["plan", "--set", "training.seed=-1"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "--set training.seed=-1: training.seed: expected a non-negative integer, found -1"
    ));
}

#[test]
fn mer_needs_the_architecture_key() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.toml"), "[model.head]\nnum_classes = 7\n").unwrap();
    let out = run(MER, &["plan", "a.toml"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "a.toml:1:1: architecture: missing required key (one of: makd, mdn, multimodal, telme, telme-audio, telme-video, unimodal)"
    ));
    std::fs::write(tmp.path().join("b.toml"), "architecture = \"fusion\"\n").unwrap();
    let out = run(MER, &["plan", "b.toml"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("b.toml:1:16: architecture: unknown architecture \"fusion\"")
    );
}

#[test]
fn docs_check_fails_on_stale_files_and_passes_on_fresh_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    assert!(
        run(MER, &["docs", "--dir", dir], tmp.path())
            .status
            .success()
    );
    let md = tmp.path().join("unimodal.md");
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains(
        "| `num_classes` | a non-negative integer | *(derived from the label set of `data.dataset` and `data.label`)* |"
    ));
    let schema: Json = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("unimodal.schema.json")).unwrap(),
    )
    .unwrap();
    let head = &schema["properties"]["model"]["properties"]["head"];
    assert!(
        head.get("required").is_none(),
        "derived keys are not required"
    );
    assert!(
        head["properties"]["num_classes"]["description"]
            .as_str()
            .unwrap()
            .contains("Derived from the label set")
    );
    assert!(
        run(MER, &["docs", "--dir", dir, "--check"], tmp.path())
            .status
            .success()
    );
    std::fs::write(&md, text.replace("Dropout", "Drop-out")).unwrap();
    let out = run(MER, &["docs", "--dir", dir, "--check"], tmp.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unimodal.md"));
}

#[test]
fn committed_docs_are_current() {
    let out = run(MER, &["docs", "--check"], &workspace());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn store_tools_list_collect_and_export() {
    use burn::backend::NdArray;
    use mer_core::config::{RawConfig, Source};
    use mer_core::run::RunConfig;
    use mer_core::store::{Manifest, Store};
    use models::unimodal::DEMO_CONFIG;
    use models::{Unimodal, UnimodalConfig};

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("checkpoints");
    let store = Store::new(&root);
    let run_config: RunConfig<UnimodalConfig> =
        RawConfig::from_sources(&[Source::new("demo", DEMO_CONFIG)], &["training.seed=5"])
            .and_then(|raw| raw.resolve())
            .unwrap();
    let id = run_config.checkpoint_id();
    let network: Unimodal<NdArray<f32>> = run_config.model.init(&Default::default());
    let manifest = Manifest {
        architecture: "unimodal".into(),
        summary: id.summary.clone(),
        hash: id.hash.to_string(),
        seed: id.seed,
        parts: Default::default(),
        metrics: None,
    };
    store
        .save(&id.relative_dir(), &network, "", manifest)
        .unwrap();

    let root_arg = root.to_str().unwrap();
    let out = run(MER, &["ls", "--root", root_arg], tmp.path());
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        listing.contains("1xE--T") && listing.contains(id.hash.as_str()) && listing.contains("--5"),
        "{listing}"
    );

    let ckpt = root.join(id.relative_dir());
    let out = run(
        MER,
        &[
            "export",
            ckpt.to_str().unwrap(),
            "exported",
            "--root",
            root_arg,
        ],
        tmp.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::symlink_metadata(tmp.path().join("exported/text.safetensors"))
            .unwrap()
            .is_file()
    );

    let out = run(
        MER,
        &[
            "export",
            "not/a/checkpoint",
            "elsewhere",
            "--root",
            root_arg,
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));

    let out = run(MER, &["gc", "--root", root_arg], tmp.path());
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 blobs removed"));
    std::fs::remove_dir_all(&ckpt).unwrap();
    let out = run(MER, &["gc", "--root", root_arg], tmp.path());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 blobs removed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn report_gives_mean_and_std_over_seeds() {
    use mer_core::run::metrics::Metrics;
    use mer_core::store::Manifest;
    use mer_core::train::BestEpoch;

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("checkpoints");
    // Dev accuracy 50, 75, 100 over three seeds of one configuration; 25 for another.
    let write = |dir: &str, seed: u64, correct: usize| {
        let gold = [0, 1, 2, 0];
        let predicted: Vec<usize> = (0..4)
            .map(|i| {
                if i < correct {
                    gold[i]
                } else {
                    (gold[i] + 1) % 3
                }
            })
            .collect();
        let metrics = Metrics::compute(&gold, &predicted, 3);
        let best = BestEpoch {
            epoch: 1,
            dev: metrics.clone(),
            test: Some(metrics),
        };
        let manifest = Manifest {
            architecture: "unimodal".into(),
            summary: "1xE--T".into(),
            hash: "abcd1234".into(),
            seed,
            parts: Default::default(),
            metrics: Some(serde_json::to_value(best).unwrap()),
        };
        let path = root.join(format!("{dir}--{seed}"));
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(
            path.join("checkpoint.json"),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
    };
    write("training/demo--E/trainable--8/1xE--T/abcd1234", 1, 2);
    write("training/demo--E/trainable--8/1xE--T/abcd1234", 2, 3);
    write("training/demo--E/trainable--8/1xE--T/abcd1234", 3, 4);
    write("training/demo--E/frozen--8/1xE--T/abcd1234", 1, 1);

    let out = run(MER, &["report", root.to_str().unwrap()], tmp.path());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = table.lines().find(|l| l.contains("trainable--8")).unwrap();
    assert!(line.contains("| 3 | 75.00 ± 25.00 |"), "{line}");
    let line = table.lines().find(|l| l.contains("frozen--8")).unwrap();
    assert!(line.contains("| 1 | 25.00 ± 0.00 |"), "{line}");

    let out = run(
        MER,
        &["report", root.to_str().unwrap(), "--format", "csv"],
        tmp.path(),
    );
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .starts_with("configuration,seeds,dev_accuracy,dev_accuracy_std")
    );
    assert!(csv.contains(",3,75.0000,25.0000,"), "{csv}");

    // Checkpoint folders named one by one group as the store's listing does.
    let seeds: Vec<String> = (1..=3)
        .map(|seed| {
            root.join(format!(
                "training/demo--E/trainable--8/1xE--T/abcd1234--{seed}"
            ))
            .display()
            .to_string()
        })
        .collect();
    let mut args = vec!["report"];
    args.extend(seeds.iter().map(String::as_str));
    let out = run(MER, &args, tmp.path());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("| 3 | 75.00 ± 25.00 |"), "{table}");

    let out = run(MER, &["report", "nowhere"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cache_ls_verify_and_prune() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A frozen demo run fills the cache in `dir/cache`.
    let config = dir.join("frozen.toml");
    std::fs::write(
        &config,
        unimodal_demo().replace("[model.text]\n", "[model.text]\nmode = \"frozen\"\n"),
    )
    .unwrap();
    let trained = run(
        UNIMODAL,
        &[
            "train",
            config.to_str().unwrap(),
            "--set",
            "training.epochs=1",
        ],
        dir,
    );
    assert!(
        trained.status.success(),
        "{}",
        String::from_utf8_lossy(&trained.stderr)
    );
    assert!(String::from_utf8_lossy(&trained.stdout).contains("features read, "));

    let ls = run(MER, &["cache", "ls"], dir);
    let listing = String::from_utf8_lossy(&ls.stdout);
    assert!(
        listing.contains("demo--E-train") && listing.contains("3 entries"),
        "{listing}"
    );
    let verify = run(MER, &["cache", "verify"], dir);
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("3 shards checked, 0 bad"));

    // The config that made the features keeps them; the trainable demo uses none.
    let keep = run(MER, &["cache", "prune", config.to_str().unwrap()], dir);
    assert!(String::from_utf8_lossy(&keep.stdout).contains("0 identities removed"));
    let demo = dir.join("demo.toml");
    std::fs::write(&demo, unimodal_demo()).unwrap();
    let prune = run(MER, &["cache", "prune", demo.to_str().unwrap()], dir);
    assert!(
        String::from_utf8_lossy(&prune.stdout).contains("1 identities removed"),
        "{}",
        String::from_utf8_lossy(&prune.stdout)
    );
    let ls = run(MER, &["cache", "ls"], dir);
    assert!(String::from_utf8_lossy(&ls.stdout).contains("0 entries"));

    // A config that does not exist is bad input.
    let missing = run(MER, &["cache", "prune", "nope.toml"], dir);
    assert_eq!(missing.status.code(), Some(2));
}

fn unimodal_demo() -> String {
    std::fs::read_to_string(workspace().join("experiments/unimodal/demo.toml")).unwrap()
}

#[test]
fn mdn_plan_shows_its_label_and_the_fusion_parts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(MDN, &["plan"], tmp.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("summary         1xE--A+T+V"), "{stdout}");
    assert!(stdout.contains("--disentangle/1xE--A+T+V/"), "{stdout}");
    for part in [
        ".private",
        ".shared",
        ".cross",
        ".reconstruction",
        ".combine",
    ] {
        assert!(
            stdout.contains(&format!("  {part} ")),
            "{part} missing:\n{stdout}"
        );
    }
    // The expert count is the head's and the label's.
    let experts = run(MDN, &["plan", "--set", "model.experts=4"], tmp.path());
    let stdout = String::from_utf8_lossy(&experts.stdout);
    assert!(stdout.contains("summary         4xE--A+T+V"), "{stdout}");
    // Heads that do not divide the width they read are refused, naming the key.
    let bad = run(
        MDN,
        &["plan", "--set", "model.fusion.combine_heads=5"],
        tmp.path(),
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("model.fusion.combine_heads"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn multimodal_fusion_block_is_chosen_by_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let mut hashes = std::collections::BTreeSet::new();
    for kind in ["concat", "tfn", "lmf", "attention-shift"] {
        let kind_set = format!("model.fusion.kind=\"{kind}\"");
        let out = run(MULTIMODAL, &["plan", "--set", &kind_set], tmp.path());
        assert!(
            out.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let hash = stdout
            .lines()
            .find_map(|l| l.strip_prefix("hash"))
            .unwrap()
            .trim()
            .to_owned();
        hashes.insert(hash);
    }
    assert_eq!(hashes.len(), 4, "each block its own identity: {hashes:?}");
    let bad = run(
        MULTIMODAL,
        &["plan", "--set", "model.fusion.rank=4"],
        tmp.path(),
    );
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("model.fusion.rank: is set, but kind \"concat\" does not use it"),
        "{stderr}"
    );
}

/// `tensor` of a safetensors file as f32 values.
fn f32_tensor(path: &Path, name: &str) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = tensors.tensor(name).unwrap();
    view.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn mer_encode_runs_audio_and_video_folders_on_files_and_on_given_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    for (model, flag, file) in [
        ("tiny-data2vec-audio", "--audio", "media/speech.wav"),
        ("tiny-timesformer", "--video", "media/clip.mp4"),
    ] {
        let folder = fixtures.join(model);
        let reference = folder.join("reference.safetensors");
        // Model-only: the reference's own inputs.
        let out = tmp.path().join(format!("{model}-inputs.safetensors"));
        let given = Command::new(MER)
            .args(["encode", "--model", folder.to_str().unwrap(), "--inputs"])
            .args([reference.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            given.status.success(),
            "{}",
            String::from_utf8_lossy(&given.stderr)
        );
        // From the file, end to end.
        let from_file = tmp.path().join(format!("{model}-file.safetensors"));
        let run = Command::new(MER)
            .args(["encode", "--model", folder.to_str().unwrap(), flag])
            .args([
                fixtures.join(file).to_str().unwrap(),
                "--out",
                from_file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        for (written, expected) in [
            (&out, "last_hidden_state"),
            (&from_file, "file_last_hidden_state"),
        ] {
            let got = f32_tensor(written, "last_hidden_state");
            let want = f32_tensor(&reference, expected);
            assert_eq!(got.len(), want.len(), "{model}");
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-4, "{model} {expected}: {worst}");
        }
    }
    // A folder of the other modality is refused by name, exit 2.
    let wrong = Command::new(MER)
        .args([
            "encode",
            "--model",
            fixtures.join("tiny-hubert").to_str().unwrap(),
        ])
        .args(["--video", fixtures.join("media/clip.mp4").to_str().unwrap()])
        .args(["--out", tmp.path().join("x.safetensors").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("is not a video encoder"));
}
