//! Outputs written beside their final path and renamed into place.
//!
//! Nothing appears at the output path until [`StagedFile::commit`] /
//! [`StagedDir::commit`]; a staged output dropped uncommitted is removed.
//!
//! A killed run cannot remove its temporary, so each one is locked while
//! it is written (a staged folder through a lock file inside), and the
//! next output staged beside it removes those left unlocked, when it
//! starts and again once it is in place. A temporary gets its name only
//! once it is locked, so an unlocked one is always a killed run's.
//! (On NFS, where Linux emulates these locks with POSIX ones, a process
//! does not conflict with itself: a long-lived one writing two outputs in
//! one folder could take its own older temporary for a killed run's.)

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tempfile::{NamedTempFile, PersistError, TempDir, TempPath};

use crate::error::{FramesError, Result};

/// The folder an output lives in (`.` for a bare file name).
pub(crate) fn parent_dir(output: &Path) -> PathBuf {
    match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.name.` for hidden temporary names beside `output`, the name cut to
/// [`MAX_NAME_PART`] bytes: with the random part, the extension and
/// `.unclaimed`, a temporary's name stays within the 255 bytes file
/// systems hold wherever the output's does.
fn temp_prefix(output: &Path) -> String {
    let mut name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.len() > MAX_NAME_PART {
        let mut end = MAX_NAME_PART;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    format!(".{name}.")
}

/// The most bytes of the output's name in a temporary's.
const MAX_NAME_PART: usize = 200;

/// Random characters in a temporary's name: twice `tempfile`'s default,
/// so that a user's own file is never taken for one (`.stylize-backup.part`
/// has six letters where a temporary of ours has its random part).
const RANDOM_CHARS: usize = 12;

/// The lock file inside a staged folder.
pub const DIR_LOCK: &str = ".stylize-lock";

/// How old a temporary under its unclaimed name must be to count as left
/// behind: a live run locks and names its own right after making it
/// (microseconds).
const STALE_AFTER: Duration = Duration::from_secs(2);

/// A new temporary file `PREFIX` + 6 random characters + `suffix` in
/// `dir`, created with the unix permission bits `mode` (`None`: tempfile's
/// private 0600) and locked for as long as it stays open; the ones of that
/// name a killed run left there (unlocked) are
/// removed first ([`sweep_temporaries`], which the caller runs again once
/// its own is in place). For any output written beside its place and
/// renamed into it: video's, an image's, a download's.
///
/// # Errors
/// The system's error creating it.
pub fn locked_temporary(
    dir: &Path,
    prefix: &str,
    suffix: &str,
    mode: Option<u32>,
) -> std::io::Result<NamedTempFile> {
    sweep_temporaries(dir, prefix, suffix);
    create_locked(dir, prefix, suffix, mode)
}

/// [`locked_temporary`] without the sweep.
fn create_locked(
    dir: &Path,
    prefix: &str,
    suffix: &str,
    mode: Option<u32>,
) -> std::io::Result<NamedTempFile> {
    // Made under a name the sweep leaves alone, locked, then given its
    // own (never replacing one there): so that an unlocked temporary of
    // that name is always a killed run's, however young.
    let unclaimed_suffix = format!("{suffix}{UNCLAIMED}");
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(prefix)
        .suffix(&unclaimed_suffix)
        .rand_bytes(RANDOM_CHARS);
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    loop {
        let unclaimed = builder.tempfile_in(dir)?;
        hold_lock(unclaimed.as_file());
        let claimed = claimed_name(unclaimed.path());
        match persist_new(unclaimed, &claimed) {
            Ok(file) => {
                return Ok(NamedTempFile::from_parts(
                    file,
                    TempPath::try_from_path(claimed)?,
                ))
            }
            // Taken (a killed run's of the same random name): another.
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => drop(e.file),
            Err(e) => return Err(e.error),
        }
    }
}

/// Renames the temporary file `tmp` to `at` unless a file is there: then
/// an error of kind [`AlreadyExists`](std::io::ErrorKind::AlreadyExists)
/// that gives `tmp` back. On a file system that can neither rename
/// without replacing nor link (an SMB share, some NFS and FUSE mounts),
/// `at` is looked for, then renamed onto: the same where no other program
/// makes that name in between.
///
/// # Errors
/// The system's, with `tmp` given back.
pub fn persist_new(tmp: NamedTempFile, at: &Path) -> std::result::Result<File, PersistError> {
    match tmp.persist_noclobber(at) {
        Err(e) if e.error.kind() != std::io::ErrorKind::AlreadyExists => {
            if at.symlink_metadata().is_ok() {
                return Err(PersistError {
                    error: std::io::ErrorKind::AlreadyExists.into(),
                    file: e.file,
                });
            }
            e.file.persist(at)
        }
        done => done,
    }
}

/// The suffix a temporary has between its making and its locking.
const UNCLAIMED: &str = ".unclaimed";

/// `path` without [`UNCLAIMED`] (its file name is text: a prefix and a
/// suffix given as `&str`, random letters between; the folder need not
/// be).
fn claimed_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    path.with_file_name(name.strip_suffix(UNCLAIMED).unwrap_or(name))
}

/// The lock file of a staged folder `dir`, locked before it has its name
/// ([`DIR_LOCK`]), as [`create_locked`]'s temporaries are.
fn dir_lock(dir: &Path) -> std::io::Result<File> {
    let unclaimed = dir.join(format!("{DIR_LOCK}{UNCLAIMED}"));
    let file = File::create(&unclaimed)?;
    hold_lock(&file);
    std::fs::rename(&unclaimed, dir.join(DIR_LOCK))?;
    Ok(file)
}

/// Removes the temporaries `PREFIX` + 6 random characters + `suffix` in
/// `parent` that no live run holds locked ([`locked_temporary`] names
/// them only once locked): what killed runs left. Best effort:
/// anything unreadable, or on a file system without locks, stays.
pub fn sweep_temporaries(parent: &Path, prefix: &str, suffix: &str) {
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(unclaimed) = name
            .to_str()
            .and_then(|n| temporary_name(n, prefix, suffix))
        else {
            continue;
        };
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let lock_path = if kind.is_dir() {
            path.join(DIR_LOCK)
        } else if kind.is_file() {
            path.clone()
        } else {
            continue;
        };
        // A folder without its lock file is being made.
        let Ok(lock) = File::open(&lock_path) else {
            continue;
        };
        let old = || {
            lock.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age >= STALE_AFTER)
        };
        // Its name comes once it is locked: unlocked, a killed run's. One
        // killed between its making and its locking (microseconds) keeps
        // its unclaimed name: taken once it is old.
        if (unclaimed && !old()) || lock.try_lock().is_err() {
            continue;
        }
        let removed = if kind.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if removed.is_ok() {
            log::info!("removed {}, left by an interrupted run", path.display());
        }
    }
}

/// Whether `name` is one of [`locked_temporary`]'s temporaries made with
/// `prefix` and `suffix` (under its own name, or under the unclaimed one
/// it has for a moment before it is locked), for a folder that must tell
/// them from files of its own. A killed run may have left it; only
/// [`sweep_temporaries`] can tell.
pub fn is_temporary_name(name: &str, prefix: &str, suffix: &str) -> bool {
    temporary_name(name, prefix, suffix).is_some()
}

/// Whether `name` has the shape of this crate's temporary files and
/// folders, whatever output they are for: hidden, then a name, a `.` or
/// `-`, 12 random letters or digits and an extension
/// (`.out.gif.Ab12Cd34Ef56.tmp`, `.stylize-Ab12Cd34Ef56.part`), perhaps
/// followed by `.unclaimed`. For a process that quits at once to remove
/// the ones it has open (which are its own).
#[must_use]
pub fn has_temporary_shape(name: &str) -> bool {
    let name = name.strip_suffix(UNCLAIMED).unwrap_or(name);
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let Some((head, random)) = stem
        .len()
        .checked_sub(RANDOM_CHARS)
        .and_then(|at| stem.split_at_checked(at))
    else {
        return false;
    };
    name.starts_with('.')
        && !ext.is_empty()
        && ext.bytes().all(|b| b.is_ascii_alphanumeric())
        && random.bytes().all(|b| b.is_ascii_alphanumeric())
        && (head.ends_with('.') || head.ends_with('-'))
        && head.len() > 1
}

/// A builder of a staged (`.tmp`) or set-aside (`.old`) folder beside the
/// output: `prefix`, [`RANDOM_CHARS`] random characters and `suffix`, the
/// shape [`sweep_temporaries`] takes for a killed run's.
fn hidden_dir<'a>(prefix: &'a str, suffix: &'a str) -> tempfile::Builder<'a, 'a> {
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(prefix)
        .suffix(suffix)
        .rand_bytes(RANDOM_CHARS);
    builder
}

/// `Some(unclaimed)` when `name` is `prefix` + [`RANDOM_CHARS`] random characters +
/// `suffix`, followed by [`UNCLAIMED`] when `unclaimed`; `None` for any
/// other name.
fn temporary_name(name: &str, prefix: &str, suffix: &str) -> Option<bool> {
    let rest = name.strip_prefix(prefix)?;
    let unclaimed = rest
        .strip_suffix(UNCLAIMED)
        .and_then(|r| r.strip_suffix(suffix));
    let random = unclaimed.or_else(|| rest.strip_suffix(suffix))?;
    let ours = random.len() == RANDOM_CHARS && random.bytes().all(|b| b.is_ascii_alphanumeric());
    ours.then_some(unclaimed.is_some())
}

/// Locks `file` for as long as it stays open, so [`sweep_temporaries`] leaves
/// it alone. Where the file system has no locks, it goes unlocked, and
/// [`sweep_temporaries`] cannot lock anything there either.
fn hold_lock(file: &File) {
    let _ = file.try_lock();
}

fn check_parent(output: &Path) -> Result<PathBuf> {
    let parent = parent_dir(output);
    if !parent.is_dir() {
        return Err(FramesError::io("writing", output)(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("the folder {} does not exist", parent.display()),
        )));
    }
    Ok(parent)
}

/// A file being written beside its output.
pub(crate) struct StagedFile {
    temp: NamedTempFile,
    output: PathBuf,
    /// Its suffix, for the sweep after the commit; `None` in a folder
    /// that is itself staged (a frame folder's frames), where no killed
    /// run's can be.
    sweep: Option<String>,
}

impl StagedFile {
    /// Creates `.NAME.XXXXXXXXXXXX.tmpSUFFIX` in `output`'s folder; `suffix` (an
    /// extension such as `.mp4`) lets tools that go by extension write it.
    pub(crate) fn new(output: &Path, suffix: &str) -> Result<Self> {
        Self::stage(output, suffix, true)
    }

    /// [`Self::new`] inside a [`StagedDir`]: nothing to sweep (a frame
    /// folder of thousands of frames would be listed for each).
    pub(crate) fn in_staged_dir(output: &Path, suffix: &str) -> Result<Self> {
        Self::stage(output, suffix, false)
    }

    fn stage(output: &Path, suffix: &str, sweep: bool) -> Result<Self> {
        let parent = check_parent(output)?;
        let prefix = temp_prefix(output);
        if sweep {
            sweep_temporaries(&parent, &prefix, suffix);
        }
        let temp = create_locked(&parent, &prefix, suffix, Some(0o644))
            .map_err(FramesError::io("creating a file in", &parent))?;
        Ok(StagedFile {
            temp,
            output: output.to_path_buf(),
            sweep: sweep.then(|| suffix.to_string()),
        })
    }

    /// The temporary file.
    pub(crate) fn file(&self) -> &File {
        self.temp.as_file()
    }

    /// The temporary file's path.
    pub(crate) fn path(&self) -> &Path {
        self.temp.path()
    }

    /// The final path.
    pub(crate) fn output(&self) -> &Path {
        &self.output
    }

    /// Flushes to disk and renames onto the output (replacing a file there).
    pub(crate) fn commit(self) -> Result<()> {
        self.temp
            .as_file()
            .sync_all()
            .map_err(FramesError::io("writing", &self.output))?;
        let output = self.output;
        self.temp
            .persist(&output)
            .map_err(|e| FramesError::io("renaming a temporary file onto", &output)(e.error))?;
        if let Some(suffix) = &self.sweep {
            sweep_temporaries(&parent_dir(&output), &temp_prefix(&output), suffix);
        }
        Ok(())
    }
}

/// A folder being filled beside its output.
pub(crate) struct StagedDir {
    temp: TempDir,
    output: PathBuf,
    /// The open, locked `DIR_LOCK` inside.
    lock: File,
    /// Whether a folder of earlier frames at `output` is replaced.
    replace: bool,
}

impl StagedDir {
    /// Creates `.NAME.XXXXXXXXXXXX.tmp/` in `output`'s folder; refuses an output
    /// that is an existing non-empty folder (unless `replace` and it holds
    /// only frames) or a file.
    pub(crate) fn new(output: &Path, replace: bool) -> Result<Self> {
        check_output_free(output, replace)?;
        let parent = check_parent(output)?;
        let prefix = temp_prefix(output);
        sweep_temporaries(&parent, &prefix, ".tmp");
        sweep_temporaries(&parent, &prefix, ".old");
        #[cfg_attr(not(unix), allow(unused_mut))]
        let mut builder = hidden_dir(&prefix, ".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o755));
        }
        let temp = builder
            .tempdir_in(&parent)
            .map_err(FramesError::io("creating a folder in", &parent))?;
        let lock =
            dir_lock(temp.path()).map_err(FramesError::io("creating a file in", temp.path()))?;
        Ok(StagedDir {
            temp,
            output: output.to_path_buf(),
            lock,
            replace,
        })
    }

    /// The temporary folder.
    pub(crate) fn path(&self) -> &Path {
        self.temp.path()
    }

    /// The final path.
    pub(crate) fn output(&self) -> &Path {
        &self.output
    }

    /// Renames the folder onto the output (an empty folder there is
    /// replaced; with `replace`, a folder of earlier frames too: moved
    /// aside first, removed once the new folder is in place, and put back
    /// if that rename fails).
    pub(crate) fn commit(self) -> Result<()> {
        check_output_free(&self.output, self.replace)?;
        // A folder of earlier frames (checked above) goes inside a
        // temporary folder, removed with it once the new one is in place.
        let mut aside = None;
        let parent = parent_dir(&self.output);
        let prefix = temp_prefix(&self.output);
        if self.output.is_dir() && std::fs::remove_dir(&self.output).is_err() {
            let old = hidden_dir(&prefix, ".old")
                .tempdir_in(&parent)
                .map_err(FramesError::io("creating a folder in", &parent))?;
            // Locked as a staged folder is, so that a kill before it is
            // removed leaves it for the next run's sweep.
            let old_lock =
                dir_lock(old.path()).map_err(FramesError::io("creating a file in", old.path()))?;
            let frames = old.path().join("frames");
            std::fs::rename(&self.output, &frames)
                .map_err(FramesError::io("replacing", &self.output))?;
            aside = Some((old, frames, old_lock));
        }
        // Renamed with its lock file, still open and locked, so that it is
        // never an unlocked folder without one (which the sweep skips as
        // one being renamed); the lock file is removed from the output
        // after. (A kill in between leaves it there, a hidden file that
        // `check_output_free` takes for a frame folder's.)
        let renamed = std::fs::rename(self.temp.path(), &self.output).map_err(FramesError::io(
            "renaming a temporary folder onto",
            &self.output,
        ));
        if let Err(e) = renamed {
            if let Some((_, frames, _)) = &aside {
                let _ = std::fs::rename(frames, &self.output);
            }
            return Err(e);
        }
        // Renamed: nothing left to clean up.
        let _ = self.temp.keep();
        let lock_path = self.output.join(DIR_LOCK);
        std::fs::remove_file(&lock_path).map_err(FramesError::io("removing", &lock_path))?;
        drop(self.lock);
        if let Some((old, _, old_lock)) = aside {
            let path = old.path().to_path_buf();
            drop(old_lock);
            old.close().map_err(FramesError::io("removing", &path))?;
        }
        sweep_temporaries(&parent, &prefix, ".tmp");
        sweep_temporaries(&parent, &prefix, ".old");
        Ok(())
    }
}

/// `Ok` when `output` does not exist or is an empty folder, or, with
/// `replace`, a folder of frames only (`frame_NNNNNN.png`).
fn check_output_free(output: &Path, replace: bool) -> Result<()> {
    match std::fs::read_dir(output) {
        Ok(entries) => {
            // (The lock file of a commit killed before removing it is
            // taken for one of the frames'.)
            let frame = |e: &std::fs::DirEntry| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                e.file_type().is_ok_and(|t| t.is_file())
                    && (name == DIR_LOCK
                        || name
                            .strip_prefix("frame_")
                            .and_then(|n| n.strip_suffix(".png"))
                            .is_some_and(|n| {
                                !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                            }))
            };
            // An entry that cannot be read is not known to be a frame.
            let entries: Vec<_> = entries.collect();
            let only_frames = entries.iter().all(|e| e.as_ref().is_ok_and(frame));
            let free = entries.is_empty() || (replace && only_frames);
            if !free {
                Err(FramesError::OutputFolderNotEmpty {
                    path: output.to_path_buf(),
                    only_frames,
                })
            } else {
                Ok(())
            }
        }
        Err(_) if !output.exists() => Ok(()),
        // A file named as a frame folder (no extension): said as such.
        Err(_) if output.is_file() => {
            Err(FramesError::io("writing", output)(std::io::Error::other(
                "a file is there, and an output without an extension is a folder of frames: \
                 name a .gif, .apng, .webp, .mp4 (...) output, or a folder",
            )))
        }
        Err(e) => Err(FramesError::io("writing", output)(e)),
    }
}

/// Refuses an `output` inside (or equal to) the `input` folder: frames
/// written there would be read back as input on the next run. Where the
/// output would be made ([`crate::resolved`]: links followed, `..` as
/// `mkdir -p` takes it) and each folder above it are compared with the
/// input folder by identity ([`crate::FileIdentity`]), so another spelling
/// of a name on a case-insensitive disk is seen through too.
///
/// # Errors
///
/// [`FramesError::OutputInsideInput`] when it is inside; [`FramesError::Io`]
/// when the working directory cannot be read (for a relative `output`).
pub fn check_output_not_inside(input: &Path, output: &Path) -> Result<()> {
    if !input.is_dir() {
        return Ok(());
    }
    if output.is_relative() {
        std::env::current_dir().map_err(FramesError::io("reading", "."))?;
    }
    // By identity, folder by folder: on a case-insensitive disk `Clip/` and
    // `clip/` are one folder though their paths differ.
    if crate::file_identity::lies_within(output, input) {
        return Err(FramesError::OutputInsideInput {
            input: input.to_path_buf(),
            output: output.to_path_buf(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_have_their_shape_and_other_names_do_not() {
        for ours in [
            ".out.gif.Ab12Cd34Ef56.tmp",
            ".fl.mp4.Ab12Cd34Ef56.mp4",
            ".stylize-Ab12Cd34Ef56.part",
            ".stylize-Ab12Cd34Ef56.part.unclaimed",
            ".frames.Ab12Cd34Ef56.old",
        ] {
            assert!(has_temporary_shape(ours), "{ours}");
        }
        for theirs in [
            "out.gif.Ab12Cd34Ef56.tmp",
            ".stylize-backup.part",
            ".stylize-Ab12Cd.part",
            ".Ab12Cd34Ef56.tmp",
            ".notes.txt",
            "photo.jpg",
            ".stylize-Ab12Cd34Ef5!.part",
            ".x.Ab12Cd34Ef56.",
        ] {
            assert!(!has_temporary_shape(theirs), "{theirs}");
        }
    }

    /// Backdates `path`'s modification time past `STALE_AFTER`.
    fn age(path: &Path) {
        let file = File::options().write(true).open(path).expect("open");
        let then = SystemTime::now() - STALE_AFTER - Duration::from_secs(5);
        file.set_modified(then).expect("set_modified");
    }

    fn hidden(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        names.sort();
        names
    }

    /// An output whose name is as long as a file system holds (here 250
    /// bytes, letters of two bytes among them) is staged under a name that
    /// fits too. (Before: 234 to 241 bytes failed with "File name too
    /// long" at the temporary's own name.)
    #[test]
    fn a_long_name_is_staged_under_a_name_that_fits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let name = format!("{}{}.mp4", "é".repeat(100), "c".repeat(46));
        assert_eq!(name.len(), 250);
        let output = dir.path().join(&name);
        let staged = StagedFile::new(&output, ".mp4").expect("staged");
        let temp = staged.path().file_name().expect("name").len();
        assert!(temp <= 255, "{temp}");
        std::fs::write(staged.path(), b"video").expect("write");
        staged.commit().expect("commit");
        assert_eq!(std::fs::read(&output).expect("read"), b"video");
        assert!(hidden(dir.path()).is_empty(), "{:?}", hidden(dir.path()));
    }

    /// The names the sweep takes, and no others.
    #[test]
    fn temporary_names_are_told_from_others() {
        let cases = [
            (".clip.gif.AbC123AbC123.tmp", true),
            (".clip.gif.AbC123AbC123.tmp.unclaimed", true),
            (".clip.gif.AbC12.tmp", false),
            // Six letters, tempfile's default length: a user's name.
            (".clip.gif.backup.tmp", false),
            (".clip.gif.AbC123AbC12-.tmp", false),
            (".clip.gif.AbC123AbC123.tmp.unclaimed.x", false),
            (".clip.gif.AbC123AbC123.unclaimed", false),
            (".other.gif.AbC123AbC123.tmp", false),
        ];
        for (name, ours) in cases {
            assert_eq!(
                is_temporary_name(name, ".clip.gif.", ".tmp"),
                ours,
                "{name}"
            );
        }
    }

    #[test]
    fn a_killed_runs_file_is_removed_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let output = dir.path().join("clip.gif");
        // What a killed run leaves: an unlocked temporary, written a while ago.
        let left = dir.path().join(".clip.gif.AbC123AbC123.tmp");
        std::fs::write(&left, b"partial").expect("write");
        age(&left);
        // Not ours: another output's, another pattern, or too recent.
        let others = [
            ".other.gif.AbC123AbC123.tmp",
            ".clip.gif.AbC1234.tmp",
            "clip.gif.AbC123AbC123.tmp",
        ];
        for name in others {
            std::fs::write(dir.path().join(name), b"x").expect("write");
            age(&dir.path().join(name));
        }
        // A temporary is named once locked: unlocked, however young (and
        // empty: killed before writing), it is a killed run's. Under its
        // unclaimed name it may be a live run's between making and
        // locking it: taken only once old.
        let killed_young = dir.path().join(".clip.gif.KiLl12KiLl12.tmp");
        std::fs::write(&killed_young, b"").expect("write");
        let young = dir.path().join(".clip.gif.Young1Young1.tmp.unclaimed");
        std::fs::write(&young, b"").expect("write");
        let old_unclaimed = dir.path().join(".clip.gif.OlDun1OlDun1.tmp.unclaimed");
        std::fs::write(&old_unclaimed, b"").expect("write");
        age(&old_unclaimed);

        let live = StagedFile::new(&output, ".tmp").expect("stage");
        assert!(!left.exists(), "the killed run's temporary is removed");
        assert!(
            !killed_young.exists(),
            "a killed run's temporary is removed, however young"
        );
        assert!(
            young.exists(),
            "an unclaimed temporary just made may be a live run's"
        );
        assert!(!old_unclaimed.exists(), "an old unclaimed one is removed");
        // Ours has its name, none other.
        assert!(live.path().is_file() && !live.path().to_string_lossy().contains("unclaimed"));
        for name in others {
            assert!(dir.path().join(name).exists(), "{name} is kept");
        }
        // A second run staging the same output while the first is alive
        // leaves the first's temporary alone, however old.
        age(live.path());
        let second = StagedFile::new(&output, ".tmp").expect("stage");
        assert!(live.path().exists(), "a live run's temporary is kept");
        drop(second);
        live.commit().expect("commit");
        assert!(output.is_file());
    }

    #[test]
    fn a_killed_runs_folder_is_removed_and_a_committed_one_has_no_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let output = dir.path().join("frames");
        let first = StagedDir::new(&output, false).expect("stage");
        std::fs::write(first.path().join("frame_000001.png"), b"x").expect("write");
        let first_path = first.path().to_path_buf();
        age(&first_path.join(DIR_LOCK));
        // While its run is alive, another leaves it alone.
        drop(StagedDir::new(&output, false).expect("stage"));
        assert!(first_path.is_dir());
        // Killed: nothing removes it, and the lock is released.
        std::mem::forget(first.temp);
        drop(first.lock);
        let next = StagedDir::new(&output, false).expect("stage");
        assert!(!first_path.exists(), "the killed run's folder is removed");
        std::fs::write(next.path().join("frame_000001.png"), b"y").expect("write");
        next.commit().expect("commit");
        assert!(output.join("frame_000001.png").is_file());
        assert!(!output.join(DIR_LOCK).exists());
        assert_eq!(hidden(dir.path()), Vec::<String>::new());

        // A commit killed between its rename and removing the lock file
        // leaves that in the output: still a frame folder to replace. And
        // an earlier output moved aside (`.old`, locked) by a commit killed
        // before removing it goes with the next commit, as does a staged
        // folder left while this one was written.
        std::fs::write(output.join(DIR_LOCK), b"").expect("lock file");
        // (Named as a commit names it.)
        let old = hidden_dir(&temp_prefix(&output), ".old")
            .tempdir_in(dir.path())
            .expect("old")
            .keep();
        std::fs::create_dir_all(old.join("frames")).expect("old");
        std::fs::write(old.join(DIR_LOCK), b"").expect("old lock");
        age(&old.join(DIR_LOCK));
        let again = StagedDir::new(&output, true).expect("stage over a frame folder");
        assert!(
            !old.exists(),
            "the killed commit's earlier frames are removed"
        );
        let left = dir.path().join(".frames.LeFt12LeFt12.tmp");
        std::fs::create_dir(&left).expect("left");
        std::fs::write(left.join(DIR_LOCK), b"").expect("left lock");
        age(&left.join(DIR_LOCK));
        std::fs::write(again.path().join("frame_000001.png"), b"z").expect("write");
        again.commit().expect("commit over frames and a lock file");
        assert_eq!(
            std::fs::read(output.join("frame_000001.png")).expect("read"),
            b"z"
        );
        assert_eq!(hidden(dir.path()), Vec::<String>::new());
        assert!(!output.join(DIR_LOCK).exists());
    }
}
