//! What several test binaries build: a small copy of the demo dataset.

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
