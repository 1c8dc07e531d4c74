//! Whether two paths name one file or folder, however each is spelled.
//!
//! Comparing canonical paths is not enough: on a case-insensitive disk (a
//! camera's SD card, a Mac's or a Windows laptop's) `IMG_0001.JPG` and
//! `img_0001.jpg` are one file, and Linux's `realpath` keeps the case it is
//! given. A file's identity is what the system says it is: the device and
//! inode on Unix (links followed, so a symlink, a hard link and another
//! spelling of the name all count as the file); elsewhere the canonical
//! path, which Windows and macOS give in the case stored on disk.

use std::path::{Path, PathBuf};

/// What makes an existing file or folder itself, whatever its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileIdentity(Inner);

#[cfg(unix)]
type Inner = (u64, u64);
#[cfg(not(unix))]
type Inner = PathBuf;

impl FileIdentity {
    /// The identity of the file or folder at `path`, links followed;
    /// `None` when there is none (or it cannot be looked at).
    #[must_use]
    pub fn of(path: &Path) -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::metadata(path).ok()?;
            Some(Self((meta.dev(), meta.ino())))
        }
        #[cfg(not(unix))]
        {
            std::fs::canonicalize(path).ok().map(Self)
        }
    }
}

/// Whether `a` and `b` are one existing file or folder (`false` when
/// either does not exist).
#[must_use]
pub fn same_file(a: &Path, b: &Path) -> bool {
    FileIdentity::of(a).is_some_and(|a| Some(a) == FileIdentity::of(b))
}

/// Whether `inner` is the folder `outer` or lies inside it, at any depth:
/// the nearest part of `inner` that exists (`inner` itself, or the folder
/// it would be made in), or any folder above that, is `outer`. Nothing
/// lies inside an `outer` that does not exist.
#[must_use]
pub fn lies_within(inner: &Path, outer: &Path) -> bool {
    let Some(outer) = FileIdentity::of(outer) else {
        return false;
    };
    let Some(existing) = nearest_existing(inner) else {
        return false;
    };
    // The canonical path, so that `..` and links go where the system
    // takes them; each folder above it compared by identity.
    let Ok(existing) = std::fs::canonicalize(existing) else {
        return false;
    };
    existing
        .ancestors()
        .any(|folder| FileIdentity::of(folder).as_ref() == Some(&outer))
}

/// `path` itself when it exists, else the nearest folder above it that
/// does (relative paths against the working folder).
fn nearest_existing(path: &Path) -> Option<PathBuf> {
    let mut at = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    loop {
        if at.exists() {
            return Some(at);
        }
        if !at.pop() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hard_link_and_a_symlink_are_the_file_and_a_copy_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        std::fs::write(&a, b"x").unwrap();
        let hard = dir.path().join("A.PNG");
        std::fs::hard_link(&a, &hard).unwrap();
        let copy = dir.path().join("copy.png");
        std::fs::copy(&a, &copy).unwrap();
        assert!(same_file(&a, &hard));
        assert!(!same_file(&a, &copy));
        assert!(!same_file(&a, &dir.path().join("missing.png")));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.png");
            std::os::unix::fs::symlink(&a, &link).unwrap();
            assert!(same_file(&link, &a));
        }
    }

    #[test]
    fn lies_within_by_identity_through_missing_parts_and_dot_dot() {
        let dir = tempfile::tempdir().unwrap();
        let photos = dir.path().join("DCIM");
        std::fs::create_dir_all(photos.join("2024")).unwrap();
        let elsewhere = dir.path().join("paintings");
        std::fs::create_dir(&elsewhere).unwrap();
        assert!(lies_within(&photos, &photos));
        assert!(lies_within(&photos.join("2024"), &photos));
        assert!(lies_within(&photos.join("2024/new/deeper"), &photos));
        assert!(lies_within(&photos.join("2024/../new"), &photos));
        assert!(!lies_within(&photos.join("../paintings/new"), &photos));
        assert!(!lies_within(&elsewhere, &photos));
        assert!(!lies_within(&photos, &photos.join("2024")));
        assert!(!lies_within(&photos, &dir.path().join("missing")));
        #[cfg(unix)]
        {
            // Another name for the folder: a link to it.
            let alias = dir.path().join("dcim");
            std::os::unix::fs::symlink(&photos, &alias).unwrap();
            assert!(lies_within(&photos.join("new"), &alias));
            assert!(lies_within(&alias.join("2024"), &photos));
        }
    }
}
