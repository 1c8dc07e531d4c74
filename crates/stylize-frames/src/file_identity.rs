//! Whether two paths name one file or folder, however each is spelled.
//!
//! Comparing canonical paths is not enough: on a case-insensitive disk (a
//! camera's SD card, a Mac's or a Windows laptop's) `IMG_0001.JPG` and
//! `img_0001.jpg` are one file, and Linux's `realpath` keeps the case it is
//! given. A file's identity is what the system says it is: the device and
//! inode on Unix, macOS included (links followed, so a symlink and another
//! spelling of the name count as the file; a hard link too, which
//! [`replaces`] tells apart); elsewhere (Windows) the canonical path, which
//! Windows gives in the case stored on disk.

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

/// Whether writing the file `written` (its links already followed) through
/// a temporary file renamed onto it would replace the existing file
/// `other`: they are one file, and not two hard links to it in different
/// places or under names that differ in more than letter case (a rename
/// replaces one name, and the file stays under the other). Names in one
/// folder that differ only in case count as one, as a case-insensitive
/// disk takes them.
#[must_use]
pub fn replaces(written: &Path, other: &Path) -> bool {
    if !same_file(written, other) {
        return false;
    }
    if links(written) <= 1 {
        return true;
    }
    let other = std::fs::canonicalize(other).unwrap_or_else(|_| other.to_path_buf());
    let folders = match (written.parent(), other.parent()) {
        (Some(a), Some(b)) => same_file(a, b),
        _ => false,
    };
    let name = |p: &Path| p.file_name().map(case_folded);
    folders && name(written) == name(&other)
}

/// `text` (a name or a path) as names that differ only in letter case, or
/// in how an accented letter is spelled, compare: in lower case and
/// decomposed (Unicode's NFD: `é` as `e` and its accent, the form a Mac's
/// disk takes both spellings as), or as its bytes where it is not UTF-8
/// (which no lossy conversion merges with another).
#[must_use]
pub fn case_folded(text: &std::ffi::OsStr) -> Vec<u8> {
    use unicode_normalization::UnicodeNormalization;
    text.to_str().map_or_else(
        || text.as_encoded_bytes().to_vec(),
        |t| t.to_lowercase().nfd().collect::<String>().into_bytes(),
    )
}

/// How many names (hard links) the file at `path` has; 1 where the system
/// does not say.
fn links(path: &Path) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).map_or(1, |m| if m.is_file() { m.nlink() } else { 1 })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        1
    }
}

/// Whether `inner` is the folder `outer` or lies inside it, at any depth,
/// once made: where [`resolved`] puts it, each folder above compared with
/// `outer` by identity. Nothing lies inside an `outer` that does not exist.
#[must_use]
pub fn lies_within(inner: &Path, outer: &Path) -> bool {
    let Some(outer) = FileIdentity::of(outer) else {
        return false;
    };
    let Some(at) = resolved(inner) else {
        return false;
    };
    at.ancestors()
        .any(|folder| FileIdentity::of(folder).as_ref() == Some(&outer))
}

/// Where `path` is or would be made, as an absolute path: each part that
/// exists resolved (its links followed, as the system will), each that
/// does not yet taken as written, `..` after it going back up as `mkdir -p`
/// would. `None` when the working folder cannot be read.
#[must_use]
pub fn resolved(path: &Path) -> Option<PathBuf> {
    let mut at = std::env::current_dir().ok()?;
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if at.exists() {
                    at = std::fs::canonicalize(at.join("..")).ok()?;
                } else {
                    at.pop();
                }
            }
            // The root, a prefix, or a name.
            other => {
                at.push(other.as_os_str());
                if at.exists() {
                    at = std::fs::canonicalize(&at).ok()?;
                }
            }
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hard_link_and_a_symlink_are_the_file_and_a_copy_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        std::fs::write(&a, b"x").unwrap();
        let hard = dir.path().join("b.png");
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

    /// A rename onto one hard link leaves the file under the others, so
    /// only a link under the same name in other case (as a
    /// case-insensitive disk takes it) is replaced; a symlink leads to the
    /// file itself.
    #[test]
    fn only_the_file_or_its_name_in_other_case_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let photo = dir.path().join("photo.jpg");
        std::fs::write(&photo, b"x").unwrap();
        assert!(replaces(&photo, &photo));
        assert!(replaces(&photo, &dir.path().join(".").join("photo.jpg")));
        assert!(!replaces(&dir.path().join("missing.jpg"), &photo));
        let elsewhere = sub.join("photo.jpg");
        std::fs::hard_link(&photo, &elsewhere).unwrap();
        let renamed = dir.path().join("backup.jpg");
        std::fs::hard_link(&photo, &renamed).unwrap();
        assert!(!replaces(&elsewhere, &photo));
        assert!(!replaces(&renamed, &photo));
        // On a case-sensitive disk a stand-in for the other spelling (a
        // case-insensitive one already takes the name for the file).
        let upper = dir.path().join("PHOTO.JPG");
        if let Err(e) = std::fs::hard_link(&photo, &upper) {
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
        }
        assert!(replaces(&upper, &photo));
        assert!(replaces(&photo, &upper));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.jpg");
            std::os::unix::fs::symlink(&photo, &link).unwrap();
            assert!(replaces(&photo, &link));
        }
    }

    #[test]
    fn case_folding_joins_case_and_accent_spellings_and_keeps_names_that_are_not_utf8_apart() {
        use std::ffi::OsStr;
        assert_eq!(
            case_folded(OsStr::new("IMG.JPG")),
            case_folded(OsStr::new("img.jpg"))
        );
        assert_ne!(
            case_folded(OsStr::new("a.jpg")),
            case_folded(OsStr::new("b.jpg"))
        );
        // One name on a Mac's disk: é composed (U+00E9) and decomposed
        // (e, U+0301), in either case.
        let composed = case_folded(OsStr::new("caf\u{e9}.jpg"));
        assert_eq!(composed, case_folded(OsStr::new("cafe\u{301}.jpg")));
        assert_eq!(composed, case_folded(OsStr::new("CAFE\u{301}.JPG")));
        assert_eq!(composed, case_folded(OsStr::new("CAF\u{c9}.JPG")));
        assert_ne!(composed, case_folded(OsStr::new("cafe.jpg")));
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let (e_acute, e_grave) = (
                OsStr::from_bytes(b"r\xe9.jpg"),
                OsStr::from_bytes(b"r\xe8.jpg"),
            );
            assert_ne!(case_folded(e_acute), case_folded(e_grave));
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
        // `..` after a folder not made yet goes back up as `mkdir -p` does.
        assert!(lies_within(
            &elsewhere.join("missing/../../DCIM/new"),
            &photos
        ));
        assert!(!lies_within(&photos.join("missing/../../x"), &photos));
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
