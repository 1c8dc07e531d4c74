//! An output file being written: whole or not at all where the path names
//! a file, straight through where it names a device or a pipe.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// An output being written to `path`.
///
/// - A regular file, or nothing yet: the bytes go to a temporary file
///   beside it, renamed onto it by [`Self::commit`], so a failure leaves
///   the earlier file or none, never half of one. A symbolic link is
///   followed: the file it points to is replaced (keeping its permission
///   bits; not its owner, group or other hard links) and the link kept.
/// - Something else that can be written, such as `/dev/null`, a terminal
///   or a named pipe: written into directly, since renaming onto it would
///   replace the device or the pipe with a file (as root, even
///   `/dev/null`). Opening a named pipe waits for a reader.
/// - A name that reaches a file through this process's standard output or
///   error (`/dev/stdout`, `/dev/fd/2`, `/proc/self/fd/1`, however
///   spelled): written through a copy of that descriptor, sharing its
///   position with everything else written there, as the shell's `>` or
///   `>>` opened it. Through another descriptor: appended to in place.
/// - A folder: refused.
#[derive(Debug)]
pub struct OutputFile {
    target: Target,
}

#[derive(Debug)]
enum Target {
    Staged {
        tmp: tempfile::NamedTempFile,
        /// The file renamed onto: `path`, links followed.
        at: PathBuf,
        /// The temporary's prefix, for the sweep once it is renamed.
        prefix: String,
    },
    Direct(File),
}

/// Where [`OutputFile`] puts the bytes for a path.
enum Place {
    /// Beside this file (the path, links followed), then renamed onto it.
    Staged(PathBuf),
    /// Into the path itself.
    Direct,
    /// Into this process's own standard output (1) or error (2), shared
    /// with everything else written there (`/dev/stdout` when it is a
    /// file the shell opened).
    Inherited(u32),
}

fn place(path: &Path) -> io::Result<Place> {
    // The kernel's own resolution first: it knows what `/dev/stdout`
    // is, which reading the links by hand does not (`pipe:[N]`).
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "a folder is there; name a file",
        )),
        Ok(m) if !m.is_file() => Ok(Place::Direct),
        _ => {
            Ok(match follow_links(path)? {
                (_, Some(Descriptor::Own(fd @ (1 | 2)))) => Place::Inherited(fd),
                (_, Some(_)) => Place::Direct,
                // An entry of a descriptor folder that is not there: no file
                // can be made in it.
                (at, None) if descriptor_folder(&at).is_some() => return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "no such descriptor is open in this process (a shell opens one with `N>FILE`)",
                )),
                (at, None) => Place::Staged(at),
            })
        }
    }
}

/// The folder `path` is in, resolved as the kernel resolves it (however it
/// is spelled: `/dev/fd/1`, `../proc/self/fd/1`), when that is a
/// process's descriptor folder (`/proc/PID/fd`).
fn descriptor_folder(path: &Path) -> Option<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::canonicalize(dir)
        .ok()
        .filter(|d| d.starts_with("/proc") && d.ends_with("fd"))
}

/// A name reached through a process's open descriptors (`/proc/PID/fd/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Descriptor {
    /// This process's descriptor N.
    Own(u32),
    /// Another process's, or one that is not a number.
    Other,
}

impl OutputFile {
    /// Starts writing `path`; `prefix` names the temporary file
    /// (`{prefix}XXXX.part`).
    ///
    /// # Errors
    /// The I/O error of resolving `path`, of creating the temporary file in
    /// its folder, or of opening the device; [`io::ErrorKind::IsADirectory`]
    /// for a folder.
    pub fn create(path: &Path, prefix: &str) -> io::Result<Self> {
        let target = match place(path)? {
            Place::Direct => Target::Direct(File::options().append(true).open(path)?),
            // A copy of the descriptor, not the file opened again: the two
            // then share one position, so nothing written through either
            // is written over.
            Place::Inherited(fd) => Target::Direct(standard_stream(fd)?),
            Place::Staged(at) => {
                let dir = match at.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                // A file replaced keeps its permission bits (a private
                // log stays private); a read-only one is not replaced, as
                // the shell's `>` would not write it.
                let existing = std::fs::metadata(&at).ok().map(|m| m.permissions());
                if existing
                    .as_ref()
                    .is_some_and(std::fs::Permissions::readonly)
                {
                    return Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        "the file is read-only",
                    ));
                }
                let tmp = output_tempfile(dir, prefix)?;
                if let Some(permissions) = existing {
                    tmp.as_file().set_permissions(permissions)?;
                }
                Target::Staged {
                    tmp,
                    at,
                    prefix: prefix.to_string(),
                }
            }
        };
        Ok(OutputFile { target })
    }

    /// The file `path` names once its symbolic links are followed, which
    /// [`Self::create`] writes beside and renames onto; `None` when it
    /// writes into `path` directly (a device, a pipe, `/dev/stdout`).
    ///
    /// # Errors
    /// A folder ([`io::ErrorKind::IsADirectory`]); a link that cannot be
    /// read, or links that lead in a loop.
    pub fn target_of(path: &Path) -> io::Result<Option<PathBuf>> {
        Ok(match place(path)? {
            Place::Staged(at) => Some(at),
            Place::Direct | Place::Inherited(_) => None,
        })
    }

    /// Whether writing `path` goes through this process's own standard
    /// output or error (`/dev/stdout`, `/dev/fd/2`, ...).
    pub fn is_own_standard_stream(path: &Path) -> bool {
        matches!(place(path), Ok(Place::Inherited(_)))
            || std::fs::metadata(path).is_ok_and(|m| !m.is_file())
                && matches!(follow_links(path), Ok((_, Some(Descriptor::Own(1 | 2)))))
    }

    /// The temporary file the bytes go to before [`Self::commit`] renames
    /// it; `None` when they go straight into the output.
    pub fn staged_path(&self) -> Option<&Path> {
        match &self.target {
            Target::Staged { tmp, .. } => Some(tmp.path()),
            Target::Direct(_) => None,
        }
    }

    /// Where the bytes go.
    pub fn file(&mut self) -> &mut File {
        match &mut self.target {
            Target::Staged { tmp, .. } => tmp.as_file_mut(),
            Target::Direct(f) => f,
        }
    }

    /// Finishes: the temporary file is flushed to disk and renamed onto
    /// the output; a device is flushed.
    ///
    /// # Errors
    /// The I/O error of syncing or renaming.
    pub fn commit(self) -> io::Result<()> {
        self.finish(true)
    }

    /// As [`Self::commit`], but a file that appeared at the output since
    /// (another program's) is left as it is: the error is then of kind
    /// [`io::ErrorKind::AlreadyExists`], and the temporary file is removed.
    /// A device is written to as by [`Self::commit`].
    ///
    /// # Errors
    /// As [`Self::commit`]; [`io::ErrorKind::AlreadyExists`].
    pub fn commit_new(self) -> io::Result<()> {
        self.finish(false)
    }

    /// As [`Self::commit_new`], onto `at` instead, a name in the output's
    /// folder (a stopped run's log beside an earlier run's). A device is
    /// written to as by [`Self::commit`].
    ///
    /// # Errors
    /// As [`Self::commit_new`].
    pub fn commit_new_at(mut self, at: &Path) -> io::Result<()> {
        if let Target::Staged { at: to, .. } = &mut self.target {
            *to = at.to_path_buf();
        }
        self.finish(false)
    }

    /// [`Self::commit`] (`replace`) or [`Self::commit_new`].
    fn finish(self, replace: bool) -> io::Result<()> {
        match self.target {
            Target::Staged { tmp, at, prefix } => {
                tmp.as_file().sync_all()?;
                if replace {
                    tmp.persist(&at).map_err(|e| e.error)?;
                } else {
                    stylize_frames::persist_new(tmp, &at).map_err(|e| e.error)?;
                }
                // A killed run's, left beside it since this one began.
                let dir = at.parent().unwrap_or(Path::new("."));
                stylize_frames::sweep_temporaries(dir, &prefix, ".part");
                Ok(())
            }
            Target::Direct(mut f) => io::Write::flush(&mut f),
        }
    }
}

/// The prefix of the temporaries [`crate::save_image`] and the other
/// image outputs write through (`.stylize-XXXXXXXXXXXX.part`).
pub(crate) const OUTPUT_PREFIX: &str = ".stylize-";

/// Removes from `dir` the image outputs' temporaries that killed runs
/// left there (`.stylize-XXXXXXXXXXXX.part`, unlocked),
/// as writing an output there does: for a run that writes nothing (a
/// folder whose photos are all painted).
pub fn sweep_output_temporaries(dir: &Path) {
    stylize_frames::sweep_temporaries(dir, OUTPUT_PREFIX, ".part");
}

/// Whether `name` is one of the image outputs' temporaries
/// (`.stylize-XXXXXXXXXXXX.part`, or `.stylize-XXXXXXXXXXXX.part.unclaimed` for the
/// moment before it is locked), live or a killed run's.
pub(crate) fn is_output_temporary(name: &str) -> bool {
    stylize_frames::is_temporary_name(name, OUTPUT_PREFIX, ".part")
}

/// A temporary file in `dir` (named `{prefix}XXXXXXXXXXXX.part`) to write an
/// output into and then rename over the final name, so that a failure
/// never leaves a partial file. It is created with the permissions an
/// ordinary new file gets (`0666` less the umask), not `tempfile`'s private
/// `0600`, since renaming keeps them, and locked while it is open; those
/// of the same prefix that a killed run left in `dir` (unlocked, 2
/// seconds old or more) are removed first, and again by
/// [`OutputFile::commit`].
///
/// # Errors
/// When the file cannot be created: the system's reason, without the
/// temporary file's own name (of no use to whoever reads it), and for a
/// folder that is not there, that it is not.
pub fn output_tempfile(dir: &Path, prefix: &str) -> std::io::Result<tempfile::NamedTempFile> {
    stylize_frames::locked_temporary(dir, prefix, ".part", Some(0o666)).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound && !dir.is_dir() {
            let shown = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            return io::Error::new(
                e.kind(),
                format!("the folder {} does not exist", shown.display()),
            );
        }
        let text = e.to_string();
        match text.split_once(" at path \"") {
            Some((reason, _)) => io::Error::new(e.kind(), reason.to_string()),
            None => e,
        }
    })
}

/// A copy of this process's standard output (`fd` 1) or error (2), as a
/// file: the two then share one position, so nothing written through
/// either is written over.
#[cfg(unix)]
fn standard_stream(fd: u32) -> io::Result<File> {
    use std::os::fd::AsFd;
    let owned = if fd == 1 {
        io::stdout().as_fd().try_clone_to_owned()?
    } else {
        io::stderr().as_fd().try_clone_to_owned()?
    };
    Ok(File::from(owned))
}

/// The same through the standard streams' handles.
#[cfg(windows)]
fn standard_stream(fd: u32) -> io::Result<File> {
    use std::os::windows::io::AsHandle;
    let owned = if fd == 1 {
        io::stdout().as_handle().try_clone_to_owned()?
    } else {
        io::stderr().as_handle().try_clone_to_owned()?
    };
    Ok(File::from(owned))
}

/// `path` with its symbolic links followed, as far as they lead (a link
/// to a file that does not exist yet gives that file's path), and the
/// process descriptor the way passed through, if any (`/proc/*/fd`,
/// `/dev/fd`), whose links name what is open, not a path to replace.
fn follow_links(path: &Path) -> io::Result<(PathBuf, Option<Descriptor>)> {
    let mut at = path.to_path_buf();
    let mut descriptor = None;
    let own_fds = std::fs::canonicalize("/proc/self/fd").ok();
    // As many hops as the kernel follows (Linux: 40) before ELOOP.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                if let Some(dir) = descriptor_folder(&at) {
                    let n = at.file_name().and_then(|n| n.to_str()?.parse().ok());
                    descriptor = Some(match n {
                        Some(n) if own_fds.as_deref() == Some(dir.as_path()) => Descriptor::Own(n),
                        _ => Descriptor::Other,
                    });
                }
                let link = std::fs::read_link(&at)?;
                at = match at.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok((at, descriptor)),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut out = OutputFile::create(path, ".t-")?;
        io::Write::write_all(out.file(), bytes)?;
        out.commit()
    }

    /// A temporary a killed run left (unlocked, old) goes when the next
    /// output of its kind is written there; a live run's (locked), a new
    /// one's and another kind's stay.
    #[test]
    fn a_killed_runs_temporary_goes_with_the_next_output() {
        let d = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let make = |name: &str, age: Option<std::time::SystemTime>| {
            let path = d.path().join(name);
            let f = File::create(&path).unwrap();
            if let Some(t) = age {
                f.set_modified(t).unwrap();
            }
            (path, f)
        };
        let (killed, _) = make(".t-AbC123AbC123.part", Some(old));
        let (live, live_file) = make(".t-LiVe12LiVe12.part", Some(old));
        live_file.try_lock().unwrap();
        // Under its unclaimed name, young: maybe a live run's about to
        // lock it. Named, unlocked and young: a killed run's.
        let (young, _) = make(".t-NeW123NeW123.part.unclaimed", None);
        let (killed_young, _) = make(".t-KiL123KiL123.part", None);
        let (other, _) = make(".u-AbC123AbC123.part", Some(old));
        write(&d.path().join("out.csv"), b"x").unwrap();
        assert!(!killed.exists(), "the killed run's temporary stayed");
        assert!(
            !killed_young.exists(),
            "the young killed run's temporary stayed"
        );
        for kept in [&live, &young, &other] {
            assert!(kept.exists(), "{} went", kept.display());
        }
        drop(live_file);
        // One that shows up while an output is written (a run killed and
        // this one started at once: too young at the start) goes when this
        // one is in place.
        let out = OutputFile::create(&d.path().join("late.csv"), ".t-").unwrap();
        let (late, _) = make(".t-LaTe12LaTe12.part", Some(old));
        out.commit().unwrap();
        assert!(
            !late.exists(),
            "the killed run's temporary stayed after the commit"
        );
    }

    /// A missing folder is said as such, without the temporary's name.
    #[test]
    fn a_missing_folder_is_said_without_the_temporary_name() {
        let d = tempfile::tempdir().unwrap();
        let err = write(&d.path().join("gone/out.png"), b"x").unwrap_err();
        let text = err.to_string();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(text.ends_with("gone does not exist"), "{text}");
        assert!(!text.contains(".part"), "{text}");
    }

    /// A device, a pipe and a link are written through, never replaced; a
    /// file is replaced whole; a folder is refused; nothing is left over.
    #[test]
    fn devices_pipes_and_links_are_written_through_not_replaced() {
        let d = tempfile::tempdir().unwrap();
        // A file, replaced.
        let file = d.path().join("a.csv");
        std::fs::write(&file, "old").unwrap();
        write(&file, b"new").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        // A link to it: the file changes, the link stays a link.
        let link = d.path().join("link.csv");
        std::os::unix::fs::symlink("a.csv", &link).unwrap();
        write(&link, b"through the link").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&file).unwrap(), b"through the link");
        // A dangling link: the file it names is made.
        let dangling = d.path().join("dangling.csv");
        std::os::unix::fs::symlink("made.csv", &dangling).unwrap();
        write(&dangling, b"made").unwrap();
        assert_eq!(std::fs::read(d.path().join("made.csv")).unwrap(), b"made");
        // A descriptor that is not open: said, not "no such folder".
        if Path::new("/dev/fd").exists() {
            let err = write(Path::new("/dev/fd/987"), b"x").unwrap_err();
            assert!(err.to_string().contains("descriptor"), "{err}");
        }
        // A link loop: an error, not a hang.
        std::os::unix::fs::symlink("loop2", d.path().join("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", d.path().join("loop2")).unwrap();
        assert!(write(&d.path().join("loop1"), b"x").is_err());
        // /dev/null stays a device; /dev/full says the disk is full.
        write(Path::new("/dev/null"), b"into nothing").unwrap();
        let null = std::fs::metadata("/dev/null").unwrap();
        assert!(!null.is_file(), "/dev/null became a file");
        if Path::new("/dev/full").exists() {
            let err = write(Path::new("/dev/full"), &[0; 100_000]).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(28), "{err}"); // ENOSPC
        }
        // A named pipe: read on the other end, and still a pipe after.
        let fifo = d.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let reader = {
                let fifo = fifo.clone();
                std::thread::spawn(move || std::fs::read(fifo).unwrap())
            };
            write(&fifo, b"piped").unwrap();
            assert_eq!(reader.join().unwrap(), b"piped");
            use std::os::unix::fs::FileTypeExt;
            assert!(std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo());
        }
        // A file reached through a process's descriptor (what
        // `--loss-log /dev/stdout > shell.log` names): appended to in
        // place, the same file after, not replaced.
        let shell = d.path().join("shell.log");
        std::fs::write(&shell, "before\n").unwrap();
        let open = File::options().append(true).open(&shell).unwrap();
        let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
        let before = inode(&shell);
        let via = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&open));
        if Path::new(&via).exists() {
            write(Path::new(&via), b"after\n").unwrap();
            assert_eq!(std::fs::read_to_string(&shell).unwrap(), "before\nafter\n");
            assert_eq!(inode(&shell), before, "replaced, not written into");
        }
        // The same through a relative link (`../../proc/self/fd/N`).
        if Path::new(&via).exists() {
            let up = "../".repeat(d.path().components().count() - 1);
            let relative = d.path().join("relative.log");
            std::os::unix::fs::symlink(format!("{up}{}", &via[1..]), &relative).unwrap();
            write(&relative, b"again\n").unwrap();
            assert_eq!(
                std::fs::read_to_string(&shell).unwrap(),
                "before\nafter\nagain\n"
            );
            assert_eq!(
                inode(&shell),
                before,
                "replaced through a relative spelling"
            );
        }
        drop(open);
        // A file replaced keeps its permission bits.
        use std::os::unix::fs::PermissionsExt;
        let private = d.path().join("private.csv");
        std::fs::write(&private, "old").unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
        write(&private, b"new").unwrap();
        let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A folder: refused.
        let err = write(d.path(), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::IsADirectory);
        // No temporary file left anywhere.
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".part"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
