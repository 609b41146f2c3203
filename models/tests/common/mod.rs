//! What several test binaries build: a small copy of the demo dataset, and copies of the demo
//! configs that read it.

use std::fs;
use std::path::{Path, PathBuf};

pub fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/demo")
}

/// A copy of the demo with its first dialogues only (`dialogues` per split), media linked.
pub fn small_demo(dir: &Path, dialogues: u32) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    for split in ["train", "dev", "test"] {
        let name = format!("{split}_sent_emo.csv");
        let text = fs::read_to_string(demo().join(&name)).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut writer = csv::Writer::from_path(dir.join(&name)).unwrap();
        writer.write_record(reader.headers().unwrap()).unwrap();
        for record in reader.records() {
            let record = record.unwrap();
            if record[5].parse::<u32>().unwrap() < dialogues {
                writer.write_record(&record).unwrap();
            }
        }
        writer.flush().unwrap();
    }
    for media in ["audios", "videos"] {
        std::os::unix::fs::symlink(
            fs::canonicalize(demo().join(media)).unwrap(),
            dir.join(media),
        )
        .unwrap();
    }
    dir.to_owned()
}

/// Copies of the demo configs of `unimodal`, `telme` and `makd` in `dir/experiments`, training
/// `epochs` epochs on `data`: `dir` is where the binaries run, so every checkpoint and cache
/// lands below it.
#[allow(dead_code)] // not every test binary uses it
pub fn experiments(dir: &Path, data: &Path, epochs: usize) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for name in [
        "unimodal/demo.toml",
        "telme/demo.toml",
        "telme/audio.toml",
        "telme/video.toml",
        "makd/demo.toml",
    ] {
        let text = fs::read_to_string(workspace.join("experiments").join(name)).unwrap();
        let text = text
            .lines()
            .map(|line| match line {
                l if l.starts_with("epochs = ") => format!("epochs = {epochs}"),
                "dataset = \"demo\"" => format!("dataset = \"demo\"\nroot = {:?}", data.display()),
                l => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let to = dir.join("experiments").join(name);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::write(to, text).unwrap();
    }
}
