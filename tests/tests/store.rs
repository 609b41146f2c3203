//! The checkpoint store: deduplicated weights, loading back, gc, and crash safety.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use burn::backend::NdArray;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use mer_core::architecture::ArchitectureConfig;
use mer_core::config::{RawConfig, Source};
use mer_core::nn::ClassifierHeadConfig;
use mer_core::run::RunConfig;
use mer_core::store::{Manifest, Store, StoreError};
use mer_core::util::atomic;
use models::unimodal::DEMO_CONFIG;
use models::{Unimodal, UnimodalConfig};

type B = NdArray<f32>;

fn demo_run() -> RunConfig<UnimodalConfig> {
    RawConfig::from_sources(&[Source::new("demo.toml", DEMO_CONFIG)], &[] as &[&str])
        .and_then(|raw| raw.resolve())
        .unwrap()
}

fn manifest(run: &RunConfig<UnimodalConfig>) -> Manifest {
    Manifest {
        architecture: "unimodal".into(),
        summary: run.model.summary().to_string(),
        hash: run.identity().to_string(),
        seed: run.training.seed,
        parts: Default::default(),
        metrics: None,
    }
}

fn blobs(store: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = fs::read_dir(store.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    all.sort();
    all
}

/// Two runs that share the encoder and projector but have their own heads.
fn two_checkpoints(root: &Path) -> (Store, Unimodal<B>, PathBuf, PathBuf) {
    let run = demo_run();
    let device = Default::default();
    let first: Unimodal<B> = run.model.init(&device);
    let head = ClassifierHeadConfig {
        input: 128,
        num_classes: 3,
        dropout: 0.1,
    }
    .init(&device);
    mer_core::nn::weights::materialize(&head);
    let second = Unimodal {
        head,
        ..first.clone()
    };
    let store = Store::new(root);
    let dir_a = PathBuf::from("training/demo--E/trainable--8/1xE--T/aaaa0000--1");
    let dir_b = PathBuf::from("training/demo--S/trainable--8/1xE--T/bbbb0000--2");
    store
        .save(&dir_a, &first, "config = 1\n", manifest(&run))
        .unwrap();
    store
        .save(&dir_b, &second, "config = 2\n", manifest(&run))
        .unwrap();
    (store, first, dir_a, dir_b)
}

#[test]
fn a_shared_encoder_is_on_disk_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, dir_a, dir_b) = two_checkpoints(tmp.path());
    let a = tmp.path().join(&dir_a);
    let b = tmp.path().join(&dir_b);

    for part in ["text", "projector", "head"] {
        let link = a.join(format!("{part}.safetensors"));
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(fs::read_link(&link).unwrap().is_relative());
    }
    let resolve =
        |dir: &Path, part: &str| fs::canonicalize(dir.join(format!("{part}.safetensors"))).unwrap();
    assert_eq!(
        resolve(&a, "text"),
        resolve(&b, "text"),
        "one blob for the encoder"
    );
    assert_eq!(resolve(&a, "projector"), resolve(&b, "projector"));
    assert_ne!(resolve(&a, "head"), resolve(&b, "head"));

    // text + projector once, two heads: four blobs, and the encoder's bytes appear once.
    let blobs = blobs(tmp.path());
    assert_eq!(blobs.len(), 4, "{blobs:?}");
    let encoder_bytes = fs::read(resolve(&a, "text")).unwrap();
    let copies = blobs
        .iter()
        .filter(|p| fs::read(p).unwrap() == encoder_bytes)
        .count();
    assert_eq!(copies, 1);
    let total: u64 = blobs.iter().map(|p| fs::metadata(p).unwrap().len()).sum();
    assert!(total < 2 * encoder_bytes.len() as u64);
}

#[test]
fn a_checkpoint_loads_back_into_a_fresh_network() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, saved, dir_a, _) = two_checkpoints(tmp.path());
    let device = Default::default();
    // Another seed's initialisation, then the checkpoint's weights over it.
    B::seed(&device, 999);
    let fresh: Unimodal<B> = demo_run().model.init(&device);
    let loaded = store.load(&dir_a, fresh.clone()).unwrap();

    let tokens = Tensor::<B, 2, Int>::from_ints([[5, 17, 42, 0], [7, 7, 9, 3]], &device);
    let mask = Tensor::<B, 2, Int>::from_ints([[1, 1, 1, 0], [1, 1, 1, 1]], &device);
    let infer = |net: &Unimodal<B>| {
        // Inference: no dropout on the plain backend.
        net.logits(tokens.clone(), mask.clone()).into_data()
    };
    infer(&saved).assert_eq(&infer(&loaded), true);
    assert_ne!(
        infer(&fresh),
        infer(&saved),
        "the fresh network really differed"
    );
}

#[test]
fn gc_removes_only_unreferenced_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _, dir_a, dir_b) = two_checkpoints(tmp.path());
    let head_b = fs::canonicalize(tmp.path().join(&dir_b).join("head.safetensors")).unwrap();
    // Not blobs: gc leaves them alone.
    fs::write(tmp.path().join("blobs/NOTES.txt"), "keep me").unwrap();
    fs::write(
        tmp.path().join("blobs/.x.safetensors.tmp-1-0"),
        "crash leftover",
    )
    .unwrap();

    let report = store.gc().unwrap();
    assert!(
        report.removed.is_empty(),
        "everything is referenced: {report:?}"
    );
    assert_eq!(report.kept, 4);

    fs::remove_dir_all(tmp.path().join(&dir_b)).unwrap();
    let report = store.gc().unwrap();
    let removed_name = head_b.file_stem().unwrap().to_str().unwrap();
    assert_eq!(report.removed, vec![removed_name.to_owned()]);
    assert_eq!(report.kept, 3);
    assert!(report.freed_bytes > 0);
    assert!(!head_b.exists());
    assert!(tmp.path().join("blobs/NOTES.txt").exists());
    assert!(tmp.path().join("blobs/.x.safetensors.tmp-1-0").exists());

    // The surviving checkpoint is whole.
    let fresh: Unimodal<B> = demo_run().model.init(&Default::default());
    store.load(&dir_a, fresh).unwrap();
    assert_eq!(store.list().unwrap().entries.len(), 1);
}

#[test]
fn export_resolves_links_into_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _, dir_a, _) = two_checkpoints(tmp.path());
    let dest = tmp.path().join("exported");
    store.export(&dir_a, &dest).unwrap();
    for part in ["text", "projector", "head"] {
        let file = dest.join(format!("{part}.safetensors"));
        assert!(fs::symlink_metadata(&file).unwrap().is_file());
        assert_eq!(
            fs::read(&file).unwrap(),
            fs::read(tmp.path().join(&dir_a).join(format!("{part}.safetensors"))).unwrap()
        );
    }
    assert!(dest.join("checkpoint.json").is_file());
    assert!(store.export(&dir_a, &dest).is_err(), "never overwrites");

    // The export loads from where it is, named relative to the working folder (as
    // `unimodal eval ./exported` names it), not from below the store's root.
    let cwd = std::env::current_dir().unwrap();
    let relative = PathBuf::from("../".repeat(cwd.components().count() - 1))
        .join(dest.strip_prefix("/").unwrap());
    assert!(relative.is_relative() && relative.join("checkpoint.json").is_file());
    let network: Unimodal<B> = demo_run().model.init(&Default::default());
    let deeper = Store::new(tmp.path().join("a/b/c/d/store"));
    deeper.load(&relative, network).unwrap();
}

const CRASH_TARGET: &str = "MER_TEST_CRASH_TARGET";

/// A process that dies between writing and renaming leaves no file under the final name.
#[test]
fn a_write_killed_before_rename_leaves_no_final_file() {
    if let Some(target) = std::env::var_os(CRASH_TARGET) {
        // The child: write half a blob, then die as a crash would, before the rename.
        let _ = atomic::write_with(Path::new(&target), |file| {
            file.write_all(&[7u8; 1 << 20])?;
            file.sync_all()?;
            std::process::abort()
        });
        unreachable!("the child aborts inside the write");
    }
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("blobs").join("abc.safetensors");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_write_killed_before_rename_leaves_no_final_file",
            "--test-threads=1",
        ])
        .env(CRASH_TARGET, &target)
        .status()
        .unwrap();
    assert!(!status.success(), "the child was meant to crash");
    assert!(!target.exists(), "no partial file under the final name");
    let leftovers: Vec<String> = fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "the crash happened mid-write: {leftovers:?}"
    );
    assert!(atomic::is_temp(&leftovers[0]));
    atomic::write(&target, b"whole").unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"whole");
}

#[test]
fn checkpoint_folders_stay_inside_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    let run = demo_run();
    let net: Unimodal<B> = run.model.init(&Default::default());
    for bad in ["../outside", "/abs/path", "blobs/x", ""] {
        assert!(
            store
                .save(Path::new(bad), &net, "", manifest(&run))
                .is_err(),
            "{bad:?} must be refused"
        );
    }
}

#[test]
fn a_corrupt_manifest_hides_only_its_own_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _, dir_a, dir_b) = two_checkpoints(tmp.path());
    let manifest = tmp.path().join(&dir_b).join("checkpoint.json");
    std::fs::write(&manifest, b"{ not json").unwrap();
    let listing = store.list().unwrap();
    assert_eq!(listing.entries.len(), 1);
    assert_eq!(listing.entries[0].dir, dir_a);
    assert_eq!(listing.unreadable.len(), 1);
    let message = listing.unreadable[0].to_string();
    assert!(
        message.contains(&manifest.display().to_string()),
        "{message}"
    );
}

#[test]
fn a_changed_blob_is_refused_on_load_and_found_by_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, network, dir, _) = two_checkpoints(tmp.path());
    assert!(store.verify().unwrap().is_empty());
    let blob = fs::canonicalize(store.root().join(&dir).join("head.safetensors")).unwrap();
    let mut bytes = fs::read(&blob).unwrap();
    let at = bytes.len() - 8;
    for b in &mut bytes[at..] {
        *b ^= 0xff;
    }
    fs::write(&blob, &bytes).unwrap();

    let error = store.load(&dir, network).unwrap_err();
    assert!(
        matches!(error, StoreError::Corrupt { .. }) && error.to_string().contains("corrupt"),
        "{error}"
    );
    let found = store.verify().unwrap();
    assert_eq!(found.len(), 1);
    assert!(
        found[0]
            .to_string()
            .contains(&*blob.file_name().unwrap().to_string_lossy()),
        "{}",
        found[0]
    );
}

#[test]
fn export_refuses_links_out_of_the_store_missing_weights_and_changed_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _, dir_a, dir_b) = two_checkpoints(tmp.path());
    let folder = tmp.path().join(&dir_a);

    // The training state's link is left out, as the state is.
    fs::create_dir(folder.join("state-1")).unwrap();
    std::os::unix::fs::symlink("state-1", folder.join("state")).unwrap();
    store
        .export(&dir_a, &tmp.path().join("with-state"))
        .unwrap();
    assert!(!tmp.path().join("with-state/state").exists());

    let outside = tmp.path().join("secret.txt");
    fs::write(&outside, "not a weight").unwrap();
    std::os::unix::fs::symlink(&outside, folder.join("passwd.txt")).unwrap();
    let error = store.export(&dir_a, &tmp.path().join("a")).unwrap_err();
    assert!(error.to_string().contains("outside the store"), "{error}");
    assert!(!tmp.path().join("a").exists());
    fs::remove_file(folder.join("passwd.txt")).unwrap();

    // A part whose weight file is gone: the export fails naming it.
    fs::remove_file(folder.join("head.safetensors")).unwrap();
    let error = store.export(&dir_a, &tmp.path().join("b")).unwrap_err();
    assert!(error.to_string().contains("part `head`"), "{error}");
    assert!(!tmp.path().join("b").exists());

    // A blob changed on disk is not copied.
    let blob = fs::canonicalize(tmp.path().join(&dir_b).join("head.safetensors")).unwrap();
    let mut bytes = fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&blob, bytes).unwrap();
    let error = store.export(&dir_b, &tmp.path().join("c")).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    assert!(!tmp.path().join("c").exists());
}

#[test]
fn gc_refuses_a_blobs_folder_that_is_a_link() {
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::write(elsewhere.join("precious.safetensors"), "x").unwrap();
    let root = tmp.path().join("store");
    fs::create_dir_all(&root).unwrap();
    std::os::unix::fs::symlink(&elsewhere, root.join("blobs")).unwrap();
    let error = Store::new(&root).gc().unwrap_err();
    assert!(error.to_string().contains("is a link"), "{error}");
    assert!(elsewhere.join("precious.safetensors").exists());
}
