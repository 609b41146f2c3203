//! Where a dataset's files may be: below its root, and nowhere else. Every reader builds its
//! media paths through [`within`], so a CSV row cannot make mer open `/etc/passwd` or a clip of
//! another dataset.

use std::path::{Component, Path, PathBuf};

/// `relative` joined to `root`, or why it would leave the root: an absolute path, or one that
/// climbs out with `..`. Links placed inside the root are the user's own and are followed.
pub fn within(root: &Path, relative: &str) -> Result<PathBuf, String> {
    let path = Path::new(relative);
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "\"{relative}\" climbs out of the dataset root with `..`: media paths stay \
                     below data.root"
                ));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "\"{relative}\" is absolute: media paths are relative to data.root ({})",
                    root.display()
                ));
            }
        }
    }
    Ok(root.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_below_the_root() {
        let root = Path::new("/data/iemocap");
        assert_eq!(
            within(root, "./Session1/a.wav").unwrap(),
            root.join("./Session1/a.wav")
        );
        assert_eq!(within(root, "s/b.wav").unwrap(), root.join("s/b.wav"));
        for bad in ["../../../../etc/passwd", "s/../../x.wav", "/etc/passwd"] {
            assert!(within(root, bad).is_err(), "{bad}");
        }
    }
}
