//! The work folder of a video run: every finished frame, written
//! atomically, so that a stopped or killed run loses at most the frame in
//! progress, and a manifest of the settings, so that the same command run
//! again continues where it stopped and a changed one starts over.
//!
//! Per frame `N` (1-based, six digits): `frame_N.png`, the result at the
//! output size; `state_N.png`, the result at the working size (what the
//! next frame is warped from); `state_N.json`, its final cost and whether
//! it began a shot. A frame counts as finished when its `frame_N.png`
//! exists, which is written last. With a closed loop, `loop_frame_N.png`
//! (and its state) is the second pass over one of the first frames, and
//! replaces `frame_N.png` in the output.
//!
//! `state_N.json` also holds a digest of the source frame it painted, so
//! that a run continued on another clip (standard input, a file replaced
//! under the same name and time) paints again from the first frame that
//! differs. A file `lock`, locked while a run holds the folder, keeps a
//! second run on the same output out.

use std::path::{Path, PathBuf};

use image::{DynamicImage, RgbImage};
use serde_json::json;

use crate::error::{Error, Result};
use crate::image_io::{load_image, save_image, write_atomic};
use crate::output_file::{is_output_temporary, sweep_output_temporaries, OUTPUT_PREFIX};

const MANIFEST: &str = "manifest.json";
/// The largest final cost a frame record may hold ([`WorkDir::load`]).
const MAX_COST: f64 = 1e32;
const LOCK: &str = "lock";

/// A video run's work folder (see the module docs).
#[derive(Debug)]
pub struct WorkDir {
    dir: PathBuf,
    finished: usize,
    restarted: bool,
    /// Held locked for as long as the run has the folder.
    _lock: std::fs::File,
}

/// What the work folder holds of one finished frame.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) state: RgbImage,
    pub(crate) cost: f64,
    pub(crate) fresh: bool,
    /// The digest of the source frame it painted ([`source_digest`]);
    /// `None` in a record written before digests were kept.
    pub(crate) source: Option<String>,
}

/// `ENOLCK`, "no locks available": 37 on Linux, 77 on the BSDs and macOS
/// (where `Unsupported` is the usual answer anyway).
const ENOLCK: i32 = if cfg!(target_os = "linux") { 37 } else { 77 };

/// A digest of a source frame as decoded: its size and RGB bytes.
pub(crate) fn source_digest(frame: &DynamicImage) -> String {
    use sha2::{Digest, Sha256};
    let rgb = frame.to_rgb8();
    let mut hash = Sha256::new();
    hash.update(rgb.width().to_le_bytes());
    hash.update(rgb.height().to_le_bytes());
    hash.update(rgb.as_raw());
    format!("{:x}", hash.finalize())
}

/// Whether a frame's file failed to read because of what it holds (it
/// does not decode, is cut short, or is gone), not because of the disk
/// or its permissions.
fn damaged(e: &Error) -> bool {
    use std::io::ErrorKind as K;
    match e {
        Error::ImageDecode { .. } => true,
        Error::Io { error, .. } => {
            matches!(
                error.kind(),
                K::NotFound | K::InvalidData | K::UnexpectedEof
            )
        }
        _ => false,
    }
}

/// Whether `name` is one of the files a work folder holds; `made` when
/// the folder has this tool's manifest (it made the folder).
fn is_work_file(name: &str, made: bool) -> bool {
    name == MANIFEST
        || name == LOCK
        || is_frame_file(name)
        // `write_atomic`'s temporary files, also under the name one has
        // for a moment before it is locked, which a run killed in that
        // moment leaves (`.stylize-XXXXXXXXXXXX.part.unclaimed`).
        || is_output_temporary(name)
        // An earlier version's (six random characters before 2026-12-07),
        // which the sweep no longer takes, so they are left to go with the
        // folder; only in a folder this tool made, since that shape may be
        // a user's own file (`.stylize-backup.part`).
        || (made
            && name.starts_with(OUTPUT_PREFIX)
            && (name.ends_with(".part") || name.ends_with(".part.unclaimed")))
}

/// Whether `name` is a frame's file, as [`frame_name`] makes them:
/// `frame_N.png`, `state_N.png` or `state_N.json` (N at least six
/// digits), or the same with a `loop_` prefix.
fn is_frame_file(name: &str) -> bool {
    let name = name.strip_prefix("loop_").unwrap_or(name);
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let number = match (stem.split_once('_'), ext) {
        (Some(("frame", n)), "png") | (Some(("state", n)), "png" | "json") => n,
        _ => return false,
    };
    number.len() >= 6 && number.bytes().all(|b| b.is_ascii_digit())
}

/// Whether the manifest at `path` is a work folder's (JSON with the
/// `stylize` key this module writes), not a file of the same name that
/// happens to be there.
fn is_our_manifest(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("stylize").is_some_and(serde_json::Value::is_string))
}

impl WorkDir {
    /// Opens (or makes) `dir` for a run with `settings` (any text that
    /// changes when the result would: the settings and the inputs'
    /// identities). A folder holding another run's frames is emptied of
    /// them, and [`Self::restarted`] says so. The folder stays locked
    /// until the `WorkDir` is dropped.
    ///
    /// The key is the caller's because only the caller knows its inputs: a
    /// constant would continue frames painted from another clip or with
    /// other settings. Key on [`VideoConfig::work_key`](crate::video::VideoConfig::work_key)
    /// (the settings that decide the frames; not `format!("{config:?}")`,
    /// whose memory limit moves from run to run and would start every
    /// rerun over, and whose start image would be megabytes of manifest),
    /// then what decides them besides: each input file's path, size and
    /// modification time (every frame file's, for a folder), the weights
    /// file's, the frame selection, [`Stylizer::device_description`](crate::Stylizer::device_description)
    /// and [`Stylizer::threads`](crate::Stylizer::threads), as `stylize
    /// video` does.
    ///
    /// # Errors
    /// [`Error::Io`] naming the folder or file; [`Error::Parameter`]
    /// (`output`) when another run holds the folder, or when `dir` exists
    /// and holds files of its own (it is not a work folder: it would be
    /// removed with them at the end of the run).
    pub fn open(dir: &Path, settings: &str) -> Result<Self> {
        Self::open_with(dir, settings, || {})
    }

    /// [`Self::open`], calling `before_lock` between opening the lock file
    /// and locking it: the seam where the tests put another run's end.
    fn open_with(dir: &Path, settings: &str, mut before_lock: impl FnMut()) -> Result<Self> {
        // A link there could lead to any folder, whose frames would be
        // taken for this run's and removed: a work folder is made here.
        if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::parameter(
                "output",
                format!(
                    "{} is where this run keeps its finished frames, and a symbolic link is \
                     there: remove the link or choose another output (the run makes that folder \
                     itself)",
                    dir.display()
                ),
            ));
        }
        if dir.exists() && !dir.is_dir() {
            return Err(Error::parameter(
                "output",
                format!(
                    "{} is where this run keeps its finished frames, and a file is there: \
                     move it away or choose another output",
                    dir.display()
                ),
            ));
        }
        // Made here, it is removed again if it cannot be opened (a full
        // disk): a folder holding only a lock file is no work to continue.
        let created = !dir.exists();
        // The lock first, then what the folder holds: while another run
        // holds it, its temporary files would read as strangers'.
        let (lock, made) = take_lock(dir, &mut before_lock).inspect_err(|_| {
            if created {
                let _ = std::fs::remove_dir(dir);
            }
        })?;
        // No lock file of this run's is left behind by a failure from here
        // (in a folder that is not a work folder, or one this run made).
        let give_up = |e: Error| {
            if made {
                let _ = std::fs::remove_file(dir.join(LOCK));
            }
            if created {
                let _ = std::fs::remove_dir(dir);
            }
            e
        };
        check_contents(dir).map_err(give_up)?;
        // Under the lock no other run writes here: an unlocked temporary
        // is a killed run's.
        sweep_output_temporaries(dir);
        let manifest = dir.join(MANIFEST);
        let want = json!({ "stylize": env!("CARGO_PKG_VERSION"), "settings": settings });
        let same = std::fs::read_to_string(&manifest)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| v == want);
        let mut restarted = false;
        if !same {
            restarted = clear_frames(dir).map_err(give_up)?;
            write_atomic(&manifest, want.to_string().as_bytes())
                .map_err(|e| give_up(writing("the work folder's manifest", e)))?;
        }
        let mut finished = 0;
        while dir.join(frame_name("frame", finished + 1, "png")).is_file()
            && dir.join(frame_name("state", finished + 1, "png")).is_file()
            && dir
                .join(frame_name("state", finished + 1, "json"))
                .is_file()
        {
            finished += 1;
        }
        Ok(WorkDir {
            dir: dir.to_path_buf(),
            finished,
            restarted,
            _lock: lock,
        })
    }

    /// Removes the folder and what it holds, releasing the lock last: its
    /// files first, then the lock file, then the folder if it is empty.
    /// A run that opened the folder between those steps made a new lock
    /// file and holds it; its files are left to it (a plain recursive
    /// removal would take them). Only the work folder's own files are
    /// removed: anything else put there during the run stays, and so does
    /// the folder.
    ///
    /// # Errors
    /// [`Error::Io`] naming a file that cannot be removed.
    pub fn remove(self) -> Result<()> {
        for entry in std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))? {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let file = entry.file_type().is_ok_and(|t| t.is_file());
            if name == LOCK || !file || !is_work_file(&name, true) {
                continue;
            }
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        let lock = self.dir.join(LOCK);
        match std::fs::remove_file(&lock) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(&lock, e));
            }
            _ => {}
        }
        // Still locked until `self` drops: a run that opened the old lock
        // file meanwhile is refused, or, locking it once `self` drops,
        // finds it gone and opens the new one ([`take_lock`]); one that
        // made a new one keeps its folder.
        let _ = std::fs::remove_dir(&self.dir);
        Ok(())
    }

    /// Forgets frame `index` and every later one (their files removed,
    /// and the loop's second pass, which starts from the first frames):
    /// they are painted again.
    ///
    /// # Errors
    /// [`Error::Io`] naming a file that cannot be removed.
    pub(crate) fn truncate(&mut self, index: usize) -> Result<()> {
        for entry in std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))? {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let number = name
                .strip_prefix("frame_")
                .or_else(|| name.strip_prefix("state_"))
                .and_then(|rest| rest.get(..6))
                .and_then(|n| n.parse::<usize>().ok());
            let stale = is_frame_file(&name)
                && (name.starts_with("loop_") || number.is_some_and(|n| n > index));
            if stale {
                std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            }
        }
        self.finished = self.finished.min(index);
        Ok(())
    }

    /// Frame `index` of an earlier run, if it can be continued from: its
    /// files read, the state of `state_size` and the result of the source
    /// frame's size, painted from a source frame whose digest is
    /// `source` (a record without one is taken as it is). `Ok(Err(why))`
    /// when its files are damaged or another picture's, so that it is
    /// painted again.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be read for another reason than
    /// its content (permissions, a failing disk): the frames are kept.
    pub(crate) fn resume(
        &self,
        index: usize,
        state_size: (u32, u32),
        source: &DynamicImage,
        digest: &str,
    ) -> Result<std::result::Result<Stored, String>> {
        let read = self
            .load(index)
            .and_then(|stored| Ok((stored, self.load_result(index, false)?)));
        let (stored, result) = match read {
            Ok(r) => r,
            Err(e) if damaged(&e) => return Ok(Err(e.to_string())),
            Err(e) => return Err(e),
        };
        if stored.state.dimensions() != state_size
            || (result.width(), result.height()) != (source.width(), source.height())
        {
            return Ok(Err("its files are not of this clip's size".into()));
        }
        if stored.source.as_deref().is_some_and(|d| d != digest) {
            return Ok(Err(
                "it was painted from another picture (the input changed)".into(),
            ));
        }
        Ok(Ok(stored))
    }

    /// Forgets the loop's second pass: its frames start from the clip's
    /// last one, which this run paints again.
    ///
    /// # Errors
    /// [`Error::Io`] naming a file that cannot be removed.
    pub(crate) fn clear_loop(&self) -> Result<()> {
        for entry in std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))? {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("loop_") && is_frame_file(&name) {
                std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            }
        }
        Ok(())
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Frames finished by earlier runs (0-based indices `0..finished`).
    pub fn finished(&self) -> usize {
        self.finished
    }

    /// Whether the folder held frames of a run with other settings, which
    /// were removed.
    pub fn restarted(&self) -> bool {
        self.restarted
    }

    /// The finished frames' result files, in order.
    pub fn frame_files(&self) -> Vec<PathBuf> {
        (1..=self.finished)
            .map(|n| {
                let looped = self.dir.join(frame_name("loop_frame", n, "png"));
                if looped.is_file() {
                    looped
                } else {
                    self.dir.join(frame_name("frame", n, "png"))
                }
            })
            .collect()
    }

    pub(crate) fn load(&self, index: usize) -> Result<Stored> {
        self.load_kind(index, "")
    }

    /// Frame `index` as the loop's second pass made it, if it did.
    pub(crate) fn load_loop(&self, index: usize) -> Result<Option<Stored>> {
        let done = self
            .dir
            .join(frame_name("loop_frame", index + 1, "png"))
            .is_file();
        done.then(|| self.load_kind(index, "loop_")).transpose()
    }

    /// Frame `index` as the loop's second pass made it; an I/O error
    /// naming the file when it did not.
    pub(crate) fn load_looped(&self, index: usize) -> Result<Stored> {
        self.load_kind(index, "loop_")
    }

    /// The result image (at the frame's size) of frame `index`: the
    /// first pass's, or the loop pass's with `looped`.
    pub(crate) fn load_result(&self, index: usize, looped: bool) -> Result<DynamicImage> {
        let kind = if looped { "loop_frame" } else { "frame" };
        load_image(&self.dir.join(frame_name(kind, index + 1, "png")))
    }

    fn load_kind(&self, index: usize, prefix: &str) -> Result<Stored> {
        let n = index + 1;
        let state_path = self
            .dir
            .join(frame_name(&format!("{prefix}state"), n, "png"));
        let state = load_image(&state_path)?.to_rgb8();
        let json_path = self
            .dir
            .join(frame_name(&format!("{prefix}state"), n, "json"));
        let text = std::fs::read_to_string(&json_path).map_err(|e| Error::io(&json_path, e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::io(
                &json_path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })?;
        let bad = || {
            Error::io(
                &json_path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, "not a frame record"),
            )
        };
        // The record's cost weighs the next frame's temporal cost
        // (`temporal_weight` times it, then in single precision, where
        // 1e38 overflows): a negative one, or one past 1e32 (the presets'
        // final costs are under 1e10; `--beta 3e16` gives 3e21, which a
        // run continues from: before, past 1e20 was refused, and such a
        // run's frames were all painted again), is taken as a damaged or
        // edited record.
        let cost = v["cost"]
            .as_f64()
            .filter(|c| (0.0..=MAX_COST).contains(c))
            .ok_or_else(bad)?;
        Ok(Stored {
            state,
            cost,
            fresh: v["fresh"].as_bool().ok_or_else(bad)?,
            source: v["source"].as_str().map(str::to_string),
        })
    }

    /// Records frame `index` (0-based) as finished: the state files first,
    /// the result last, each atomically.
    pub(crate) fn store(&mut self, index: usize, image: &DynamicImage, s: &Stored) -> Result<()> {
        self.store_kind(index, image, s, "")?;
        self.finished = self.finished.max(index + 1);
        Ok(())
    }

    /// Records the loop's second pass over frame `index`, which replaces
    /// the first pass's result in [`Self::frame_files`].
    pub(crate) fn store_loop(&self, index: usize, image: &DynamicImage, s: &Stored) -> Result<()> {
        self.store_kind(index, image, s, "loop_")
    }

    fn store_kind(
        &self,
        index: usize,
        image: &DynamicImage,
        s: &Stored,
        prefix: &str,
    ) -> Result<()> {
        let n = index + 1;
        save_image(
            &DynamicImage::ImageRgb8(s.state.clone()),
            &self
                .dir
                .join(frame_name(&format!("{prefix}state"), n, "png")),
        )?;
        let record = json!({ "cost": s.cost, "fresh": s.fresh, "source": s.source });
        let json_path = self
            .dir
            .join(frame_name(&format!("{prefix}state"), n, "json"));
        write_atomic(&json_path, record.to_string().as_bytes())?;
        save_image(
            image,
            &self
                .dir
                .join(frame_name(&format!("{prefix}frame"), n, "png")),
        )?;
        Ok(())
    }
}

/// How many times [`take_lock`] opens the lock file again when it was
/// removed or replaced before it was locked: each time means a run ended
/// (and removed the folder) meanwhile, which does not go on for long.
const LOCK_TRIES: usize = 10;

/// Makes `dir` if need be, and opens and locks its lock file; the file,
/// and whether this run made it. `before_lock` runs between the opening
/// and the locking ([`WorkDir::open_with`]).
///
/// A run ending removes the lock file while it holds it
/// ([`WorkDir::remove`]): a run that opened that file just before then
/// gets its lock once it is released, on a file no longer in the folder,
/// while a third run makes a new one. So the lock counts only once the
/// path still names the file locked; otherwise the file is opened again.
///
/// # Errors
/// [`Error::Io`] naming the folder or the lock file; [`Error::Parameter`]
/// (`output`) when another run holds the lock, or when `lock` is not a
/// file.
fn take_lock(dir: &Path, before_lock: &mut impl FnMut()) -> Result<(std::fs::File, bool)> {
    let lock_path = dir.join(LOCK);
    for _ in 0..LOCK_TRIES {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        // Said as any stranger's file would be, rather than opened (it
        // might be a link to some other file).
        if std::fs::symlink_metadata(&lock_path).is_ok_and(|m| !m.is_file()) {
            return Err(not_a_work_folder(
                dir,
                &format!("{LOCK}, which is not one of them"),
            ));
        }
        let (lock, made) = match open_lock_file(&lock_path) {
            Ok(opened) => opened,
            // Removed with its folder since: made again.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&lock_path, e)),
        };
        before_lock();
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::parameter(
                    "output",
                    format!(
                        "another stylize run is painting into {} (the same output): wait for it \
                         to finish, or choose another output",
                        dir.display()
                    ),
                ))
            }
            // A filesystem without locks (NFS without lockd, some FUSE
            // mounts): the run goes on unguarded, as before locks.
            Err(std::fs::TryLockError::Error(e))
                if e.kind() == std::io::ErrorKind::Unsupported
                    || e.raw_os_error() == Some(ENOLCK) =>
            {
                log::warn!(
                    "{}: cannot lock the work folder ({e}); a second run on the same output \
                     would not be kept out",
                    dir.display()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }
        if still_named(&lock, &lock_path).map_err(|e| Error::io(&lock_path, e))? {
            return Ok((lock, made));
        }
    }
    Err(Error::io(
        &lock_path,
        std::io::Error::other(format!(
            "the lock file was removed or replaced {LOCK_TRIES} times while this run was taking \
             it (other runs on the same output starting and ending)"
        )),
    ))
}

/// Opens the lock file at `path` for locking, made if it is not there;
/// the file, and whether it was made.
fn open_lock_file(path: &Path) -> std::io::Result<(std::fs::File, bool)> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    match options.clone().create_new(true).open(path) {
        Ok(file) => Ok((file, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            options.open(path).map(|file| (file, false))
        }
        Err(e) => Err(e),
    }
}

/// Whether `path` still names the file `lock` (the same device and inode):
/// not removed, or replaced by another run's, since it was opened.
///
/// # Errors
/// The system's error reading either's metadata, other than `path` not
/// being there (`false`).
#[cfg(unix)]
fn still_named(lock: &std::fs::File, path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let held = lock.metadata()?;
    match std::fs::metadata(path) {
        Ok(named) => Ok(named.dev() == held.dev() && named.ino() == held.ino()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Elsewhere a file's identity is not at hand: the lock is taken as it is.
#[cfg(not(unix))]
fn still_named(_lock: &std::fs::File, _path: &Path) -> std::io::Result<bool> {
    Ok(true)
}

/// Refuses `dir` unless every entry in it is a file of a work folder
/// ([`is_work_file`]; a `manifest.json` only if it is this tool's). Every
/// name is checked, whether or not a manifest is there: a folder of the
/// user's own that has a `manifest.json` is still not this run's to empty.
/// Frames without this tool's manifest are refused too.
///
/// # Errors
/// [`Error::Io`] naming the folder; [`Error::Parameter`] (`output`)
/// naming the first entry that is not a work folder's.
fn check_contents(dir: &Path) -> Result<()> {
    let manifest = dir.join(MANIFEST);
    let has_manifest = is_our_manifest(&manifest);
    let ours = |name: &str| {
        if name == MANIFEST {
            has_manifest
        } else {
            is_work_file(name, has_manifest)
        }
    };
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let file = entry.file_type().is_ok_and(|t| t.is_file());
        if !(file && ours(&name)) {
            // A manifest.json that is not ours may be ours damaged: said
            // as what it is, since the frames beside it cannot be matched
            // to these settings without it.
            let what = if name == MANIFEST && file {
                format!("{MANIFEST}, which is not this tool's (or is damaged)")
            } else {
                format!("{name}, which is not one of them")
            };
            return Err(not_a_work_folder(dir, &what));
        }
        // A work folder's frames are written after its manifest: frames
        // without it are someone else's (a folder of frames extracted by
        // ffmpeg, say), which would be taken for stale ones and removed.
        if !has_manifest && is_frame_file(&name) {
            return Err(not_a_work_folder(
                dir,
                &format!(
                    "{name} without this tool's {MANIFEST} (it is not a work folder this tool \
                     made)"
                ),
            ));
        }
    }
    Ok(())
}

/// `e`, from writing `what`, saying so: the system's words alone (`No
/// space left on device`) do not say what was being written. Its kind is
/// kept (a full disk is told by it).
fn writing(what: &str, e: Error) -> Error {
    match e {
        Error::Io { path, error } => Error::io(
            path,
            std::io::Error::new(error.kind(), format!("cannot write {what}: {error}")),
        ),
        e => e,
    }
}

/// The refusal of a folder at the work folder's place that holds `what`.
fn not_a_work_folder(dir: &Path, what: &str) -> Error {
    Error::parameter(
        "output",
        format!(
            "{} is where this run keeps its finished frames, and it holds {what}: \
             move that folder away or choose another output",
            dir.display()
        ),
    )
}

fn frame_name(kind: &str, n: usize, ext: &str) -> String {
    format!("{kind}_{n:06}.{ext}")
}

/// Removes every frame file of an earlier run; whether there were any.
fn clear_frames(dir: &Path) -> Result<bool> {
    let mut any = false;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_frame_file(&name) {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            any = true;
        }
    }
    Ok(any)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn stored(source: &DynamicImage) -> Stored {
        Stored {
            state: RgbImage::from_pixel(4, 3, image::Rgb([9, 8, 7])),
            cost: 12.5,
            fresh: true,
            source: Some(source_digest(source)),
        }
    }

    /// A disk with no room for the manifest (a 64 KiB tmpfs, filled;
    /// mounting needs root: skipped, and saying so, elsewhere): the error
    /// says what was being written, and the folder this open made is
    /// removed, not left holding only its lock file.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_work_folder_whose_manifest_cannot_be_written_is_not_left_behind() {
        let d = tempfile::tempdir().unwrap();
        let test = "a_work_folder_whose_manifest_cannot_be_written_is_not_left_behind";
        let Some(_tmpfs) = crate::tests::common::Tmpfs::mount(d.path(), "64k", test) else {
            return;
        };
        // Every block taken (folders and empty files need none).
        let mut filler = std::fs::File::create(d.path().join("filler")).unwrap();
        while std::io::Write::write_all(&mut filler, &[0u8; 4096]).is_ok() {}
        drop(filler);
        let dir = d.path().join("v.gif.stylize-work");
        let err = WorkDir::open(&dir, &"settings ".repeat(1000)).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Io { .. }), "{text}");
        assert!(
            text.contains("manifest.json: cannot write the work folder's manifest: No space"),
            "{text}"
        );
        let Error::Io { error, .. } = &err else {
            unreachable!()
        };
        assert_eq!(error.kind(), std::io::ErrorKind::StorageFull, "{text}");
        assert!(
            !dir.exists(),
            "{:?}",
            std::fs::read_dir(&dir).map(|r| r.count())
        );
        // A folder that was there already stays (without a lock file of
        // this open's).
        std::fs::create_dir(&dir).unwrap();
        assert!(WorkDir::open(&dir, "settings").is_err());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn a_second_run_on_the_same_folder_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out.gif.stylize-work");
        let first = WorkDir::open(&dir, "a").unwrap();
        let e = WorkDir::open(&dir, "b").unwrap_err().to_string();
        assert!(e.contains("another stylize run"), "{e}");
        // Refused before anything changed: the manifest is still the first's.
        let manifest = std::fs::read_to_string(dir.join(MANIFEST)).unwrap();
        assert!(manifest.contains("\"a\""), "{manifest}");
        drop(first);
        WorkDir::open(&dir, "a").unwrap();
    }

    /// A temporary a killed run left in the folder (here under the name it
    /// has for a moment before it is locked) is taken as the folder's own
    /// and removed. Before, every later run was refused: "holds
    /// .stylize-Ab12CdAb12Cd.part.unclaimed, which is not one of them".
    #[test]
    fn a_killed_runs_temporary_is_removed_not_refused() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out.gif.stylize-work");
        drop(WorkDir::open(&dir, "a").unwrap());
        // Made `age` seconds ago.
        let left = |name: &str, age: u64| {
            let path = dir.join(name);
            let file = std::fs::File::create(&path).unwrap();
            let then = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
            file.set_modified(then).unwrap();
            (path, file)
        };
        let (unclaimed, _) = left(".stylize-Ab12CdAb12Cd.part.unclaimed", 3600);
        let (part, _) = left(".stylize-Ef34GhEf34Gh.part", 3600);
        // Locked: a live writer's, however old (none can be, with the
        // folder locked, but it is not for this run to take).
        let (held, held_file) = left(".stylize-Ij56KlIj56Kl.part", 3600);
        held_file.try_lock().unwrap();
        // Under its unclaimed name and young, it may be about to be
        // locked: it stays until it is old, and keeps no run out.
        let (young, _) = left(".stylize-Mn78OpMn78Op.part.unclaimed", 0);
        drop(WorkDir::open(&dir, "a").unwrap());
        assert!(!unclaimed.exists() && !part.exists());
        assert!(held.exists() && young.exists());
        // An earlier version's (six random characters): not swept, and
        // not a reason to refuse the run either.
        let (legacy, _) = left(".stylize-Ab12Cd.part.unclaimed", 3600);
        drop(WorkDir::open(&dir, "a").unwrap());
        assert!(legacy.exists());
        // The tool's names only: another `.unclaimed` is a stranger's.
        std::fs::write(dir.join(".notes.unclaimed"), b"mine").unwrap();
        let e = WorkDir::open(&dir, "a").unwrap_err().to_string();
        assert!(
            e.contains(".notes.unclaimed, which is not one of them"),
            "{e}"
        );
    }

    /// A second run is told that the folder is in use, not that it holds
    /// a stranger's file, whatever the live run has there. Before, the
    /// folder was looked at before the lock was tried.
    #[test]
    fn a_live_runs_folder_is_said_in_use_whatever_it_holds() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out.gif.stylize-work");
        let first = WorkDir::open(&dir, "a").unwrap();
        std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
        let e = WorkDir::open(&dir, "a").unwrap_err().to_string();
        assert!(e.contains("another stylize run"), "{e}");
        drop(first);
        let e = WorkDir::open(&dir, "a").unwrap_err().to_string();
        assert!(e.contains("notes.txt, which is not one of them"), "{e}");
    }

    /// A run that opened the lock file just before the run holding it
    /// removed the folder gets its lock on a file no longer there: it
    /// opens the folder's new one instead. Before, it went on beside the
    /// run that made the new one.
    #[test]
    fn a_lock_file_removed_before_it_is_locked_is_opened_again() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out.gif.stylize-work");
        // In between, the first run ends and a third one starts.
        let mut first = Some(WorkDir::open(&dir, "a").unwrap());
        let mut third = None;
        let second = WorkDir::open_with(&dir, "b", || {
            if let Some(w) = first.take() {
                w.remove().unwrap();
                third = Some(WorkDir::open(&dir, "c").unwrap());
            }
        });
        let e = second.unwrap_err().to_string();
        assert!(e.contains("another stylize run"), "{e}");
        assert!(third.is_some(), "the third run started in between");
        // The first run ends in between, and no other starts: the second
        // makes the folder again and holds it.
        let mut third = third;
        let second = WorkDir::open_with(&dir, "b", || {
            if let Some(w) = third.take() {
                w.remove().unwrap();
            }
        })
        .unwrap();
        let e = WorkDir::open(&dir, "d").unwrap_err().to_string();
        assert!(e.contains("another stylize run"), "{e}");
        drop(second);
        WorkDir::open(&dir, "d").unwrap();
    }

    #[test]
    fn removing_the_folder_takes_all_it_holds() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out.gif.stylize-work");
        let mut w = WorkDir::open(&dir, "a").unwrap();
        let img = DynamicImage::ImageRgb8(RgbImage::new(6, 5));
        w.store(0, &img, &stored(&img)).unwrap();
        w.store_loop(0, &img, &stored(&img)).unwrap();
        w.remove().unwrap();
        assert!(!dir.exists());
        // And the next run starts afresh.
        assert_eq!(WorkDir::open(&dir, "a").unwrap().finished(), 0);
    }

    /// A folder of frames someone else made (named as a work folder's, but
    /// without its manifest), or a link at the work folder's place, is
    /// refused: its frames would have been removed as stale ones.
    #[test]
    fn frames_without_the_manifest_or_through_a_link_are_not_taken() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out.gif.stylize-work");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("frame_000001.png"), b"mine").unwrap();
        let e = WorkDir::open(&dir, "a").unwrap_err().to_string();
        assert!(
            e.contains("frame_000001.png without this tool's manifest.json"),
            "{e}"
        );
        assert_eq!(
            std::fs::read(dir.join("frame_000001.png")).unwrap(),
            b"mine"
        );
        assert!(!dir.join(LOCK).exists());
        // A stray `lock` file beside them changes nothing.
        std::fs::write(dir.join(LOCK), b"").unwrap();
        let e = WorkDir::open(&dir, "a").unwrap_err().to_string();
        assert!(e.contains("without this tool's manifest.json"), "{e}");
        assert_eq!(
            std::fs::read(dir.join("frame_000001.png")).unwrap(),
            b"mine"
        );
        // Hidden files named like an earlier version's temporaries, or
        // any `.part`, without the manifest: a user's, refused, kept.
        for name in [".stylize-backup.part", ".notes.part.unclaimed", ".x.part"] {
            let folder = d.path().join(format!("{name}.stylize-work"));
            std::fs::create_dir(&folder).unwrap();
            std::fs::write(folder.join(name), b"mine").unwrap();
            let e = WorkDir::open(&folder, "a").unwrap_err().to_string();
            assert!(
                e.contains(&format!("{name}, which is not one of them")),
                "{e}"
            );
            assert_eq!(std::fs::read(folder.join(name)).unwrap(), b"mine");
        }
        // A link to a folder, even an empty one: refused, nothing made.
        #[cfg(unix)]
        {
            let elsewhere = d.path().join("elsewhere");
            std::fs::create_dir(&elsewhere).unwrap();
            let link = d.path().join("link.stylize-work");
            std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
            let e = WorkDir::open(&link, "a").unwrap_err().to_string();
            assert!(e.contains("a symbolic link is there"), "{e}");
            assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        }
    }

    #[test]
    fn a_folder_of_other_files_is_not_taken() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out.gif.stylize-work");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("important.txt"), b"mine").unwrap();
        let e = WorkDir::open(&dir, "a").unwrap_err().to_string();
        assert!(e.contains("important.txt"), "{e}");
        assert_eq!(std::fs::read(dir.join("important.txt")).unwrap(), b"mine");
        // Looked at under the lock, and no lock file left behind.
        assert!(!dir.join(LOCK).exists());
        // A `lock` that is not a file is said, not opened.
        std::fs::remove_file(dir.join("important.txt")).unwrap();
        std::fs::create_dir(dir.join(LOCK)).unwrap();
        let e = WorkDir::open(&dir, "a").unwrap_err().to_string();
        assert!(e.contains("holds lock, which is not one of them"), "{e}");
        std::fs::remove_dir(dir.join(LOCK)).unwrap();
        // A file at the folder's name: said as such (before: "File
        // exists (os error 17)").
        let file = d.path().join("file.stylize-work");
        std::fs::write(&file, b"hello").unwrap();
        let e = WorkDir::open(&file, "a").unwrap_err().to_string();
        assert!(e.contains("and a file is there: move it away"), "{e}");
        assert_eq!(std::fs::read(&file).unwrap(), b"hello");
        // An empty folder, or one of an earlier run, is.
        let empty = d.path().join("empty.stylize-work");
        std::fs::create_dir(&empty).unwrap();
        WorkDir::open(&empty, "a").unwrap();
    }

    #[test]
    fn a_manifest_of_the_users_own_does_not_make_a_work_folder() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("site");
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join(MANIFEST), br#"{"name": "my site"}"#).unwrap();
        std::fs::write(dir.join("frame_1.png"), b"mine").unwrap();
        let e = WorkDir::open(&dir, "a").unwrap_err().to_string();
        assert!(
            e.contains("which is not one of them")
                || e.contains("manifest.json, which is not this tool's (or is damaged)"),
            "{e}"
        );
        assert_eq!(
            std::fs::read(dir.join(MANIFEST)).unwrap(),
            br#"{"name": "my site"}"#
        );
        assert_eq!(std::fs::read(dir.join("frame_1.png")).unwrap(), b"mine");
        // The manifest alone is refused too, said as not this tool's (or
        // damaged), and a name only like a frame's is not one.
        std::fs::remove_dir(dir.join("src")).unwrap();
        std::fs::remove_file(dir.join("frame_1.png")).unwrap();
        let e = WorkDir::open(&dir, "a").unwrap_err().to_string();
        assert!(
            e.contains("manifest.json, which is not this tool's (or is damaged)"),
            "{e}"
        );
        assert!(!is_frame_file("frame_1.png"));
        assert!(!is_frame_file("state_000001.txt"));
        assert!(!is_frame_file("loop_notes_000001.png"));
        assert!(is_frame_file("loop_state_000001.json"));
        assert!(is_frame_file("frame_1234567.png"));
    }

    #[test]
    fn removing_the_folder_leaves_what_others_put_there() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out.gif.stylize-work");
        let mut w = WorkDir::open(&dir, "a").unwrap();
        let img = DynamicImage::ImageRgb8(RgbImage::new(6, 5));
        w.store(0, &img, &stored(&img)).unwrap();
        std::fs::create_dir(dir.join("notes")).unwrap();
        std::fs::write(dir.join("notes").join("a.txt"), b"mine").unwrap();
        std::fs::write(dir.join("b.txt"), b"mine too").unwrap();
        w.remove().unwrap();
        assert_eq!(
            std::fs::read(dir.join("notes").join("a.txt")).unwrap(),
            b"mine"
        );
        assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), b"mine too");
        assert!(!dir.join(frame_name("frame", 1, "png")).exists());
        assert!(!dir.join(MANIFEST).exists());
    }

    #[test]
    fn frames_are_resumed_only_when_whole_and_from_the_same_picture() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("w");
        let source = DynamicImage::ImageRgb8(RgbImage::from_pixel(6, 5, image::Rgb([1, 2, 3])));
        let other = DynamicImage::ImageRgb8(RgbImage::from_pixel(6, 5, image::Rgb([1, 2, 4])));
        let result = DynamicImage::ImageRgb8(RgbImage::new(6, 5));
        {
            let mut w = WorkDir::open(&dir, "s").unwrap();
            for i in 0..3 {
                w.store(i, &result, &stored(&source)).unwrap();
            }
            w.store_loop(0, &result, &stored(&source)).unwrap();
        }
        let mut w = WorkDir::open(&dir, "s").unwrap();
        assert_eq!(w.finished(), 3);
        let digest = source_digest(&source);
        let s = w.resume(0, (4, 3), &source, &digest).unwrap().unwrap();
        assert_eq!((s.cost, s.fresh), (12.5, true));
        let e = w
            .resume(0, (4, 3), &other, &source_digest(&other))
            .unwrap()
            .unwrap_err();
        assert!(e.contains("another picture"), "{e}");
        let e = w.resume(0, (5, 3), &source, &digest).unwrap().unwrap_err();
        assert!(e.contains("size"), "{e}");
        // A record whose cost no run could have given (it would weigh the
        // next frame's temporal cost), kept aside to restore.
        let record = dir.join(frame_name("state", 1, "json"));
        let kept = std::fs::read(&record).unwrap();
        // A large cost a run with far-off weights gives is continued from.
        std::fs::write(&record, r#"{"cost":2.93e21,"fresh":true,"source":null}"#).unwrap();
        let s = w.resume(0, (4, 3), &source, &digest).unwrap().unwrap();
        assert_eq!(s.cost, 2.93e21);
        for cost in ["1e308", "1e38", "-1", "null"] {
            std::fs::write(
                &record,
                format!(r#"{{"cost":{cost},"fresh":true,"source":null}}"#),
            )
            .unwrap();
            let e = w.resume(0, (4, 3), &source, &digest).unwrap().unwrap_err();
            assert!(e.contains("not a frame record"), "{cost}: {e}");
        }
        std::fs::write(&record, kept).unwrap();
        // A result file that does not decode.
        std::fs::write(dir.join(frame_name("frame", 2, "png")), b"garbage").unwrap();
        assert!(w.resume(1, (4, 3), &source, &digest).unwrap().is_err());
        w.truncate(1).unwrap();
        assert_eq!(w.finished(), 1);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "frame_000001.png",
                "lock",
                "manifest.json",
                "state_000001.json",
                "state_000001.png"
            ]
        );
        drop(w);
        assert_eq!(WorkDir::open(&dir, "s").unwrap().finished(), 1);
    }
}
