//! Atomic writes: a temp file beside the target, fsync, rename, fsync the folder. A crash at
//! any point leaves either the old file or the new one under the final name, never a part.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` atomically, creating missing folders.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |file| file.write_all(bytes))
}

/// Writes `path` atomically with `fill`, which writes the content into a fresh file. If `fill`
/// fails, nothing is left behind.
pub fn write_with(path: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    let dir = parent(path);
    fs::create_dir_all(dir)?;
    let temp = temp_path(path);
    let result = (|| {
        let mut file = File::create_new(&temp)?;
        fill(&mut file)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Like [`write_with`] for writers that create the file themselves (FFmpeg's muxers): `fill`
/// gets a temporary path beside `path`, which is synced and renamed to `path` when it succeeds
/// and removed when it fails.
pub fn write_via<E>(
    path: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), WriteViaError<E>> {
    let dir = parent(path);
    fs::create_dir_all(dir).map_err(WriteViaError::Io)?;
    let temp = temp_path(path);
    let result = fill(&temp).map_err(WriteViaError::Fill).and_then(|()| {
        (|| {
            File::open(&temp)?.sync_all()?;
            fs::rename(&temp, path)?;
            sync_dir(dir)
        })()
        .map_err(WriteViaError::Io)
    });
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Why [`write_via`] failed: the writer, or the sync and rename after it.
#[derive(Debug)]
pub enum WriteViaError<E> {
    Fill(E),
    Io(io::Error),
}

/// Points `link` at `target` (a relative path, as a symlink stores it), replacing any old link
/// atomically.
pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    let dir = parent(link);
    fs::create_dir_all(dir)?;
    let temp = temp_path(link);
    let result = (|| {
        std::os::unix::fs::symlink(target, &temp)?;
        fs::rename(&temp, link)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Whether a file name is one of our temp files (left behind only by a crash).
pub fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `.name.tmp-{pid}-{n}` beside `path`: unique per process and call, so concurrent writers of
/// the same target never share a temp file.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    parent(path).join(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_fill_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weights.safetensors");
        let err = write_with(&path, |file| {
            file.write_all(b"half of it")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert!(!path.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn replaces_existing_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write(&path, b"old").unwrap();
        write(&path, b"new content").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn symlink_replaces_old_link() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        symlink(Path::new("one"), &link).unwrap();
        symlink(Path::new("two"), &link).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("two"));
    }
}
