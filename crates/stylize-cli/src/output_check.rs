//! Whether a run may write the files it is asked to, checked before any
//! work: no output, snapshot or side file (`--loss-log`, `--plot`,
//! `--report`) replaces an input, the weights or the fast models, or
//! another of the run's outputs; each can be written where it is named.
//! Files are compared where the bytes go (links followed) and by identity
//! ([`stylize_frames::FileIdentity`]), so that another spelling of a name
//! on a case-insensitive disk is seen through.

use std::path::{Path, PathBuf};

use stylize::Error;
use stylize_frames::{case_folded, FileIdentity};

use crate::args::CommonArgs;
use crate::progress::snapshot_path;

/// The files a run reads besides its pictures, which a side file
/// (`--report`, `--loss-log`) must not replace: the weights (`--weights`,
/// else `$STYLIZE_WEIGHTS`) and the fast network's model files (in
/// `--models`, else the default folder).
fn program_files(common: &CommonArgs) -> Vec<PathBuf> {
    program_files_with(common.weights.as_deref(), common.models.as_deref())
}

/// [`program_files`] from `--weights` and `--models` as given.
fn program_files_with(weights: Option<&Path>, models: Option<&Path>) -> Vec<PathBuf> {
    let weights = weights
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("STYLIZE_WEIGHTS").map(PathBuf::from));
    let models = models
        .map(Path::to_path_buf)
        .unwrap_or_else(stylize_feedforward::default_models_dir);
    weights
        .into_iter()
        .chain(
            stylize_feedforward::MODEL_FILES
                .iter()
                .map(|f| models.join(f)),
        )
        .collect()
}

/// Refuses a side file `file` (given as `--flag`) that is one of
/// [`program_files`], or an existing file in the download cache (the
/// default weights), whatever `--overwrite` says.
///
/// # Errors
/// [`Error::Parameter`] naming the file.
pub fn check_not_a_program_file(flag: &str, file: &Path, common: &CommonArgs) -> Result<(), Error> {
    refuse_program_files(flag, &[file], &program_files(common))
}

/// [`check_not_a_program_file`] for `stylize fast`'s outputs, which has
/// no [`CommonArgs`]: the model files in `models` (else the default
/// folder) and the weights of `$STYLIZE_WEIGHTS`.
///
/// # Errors
/// [`Error::Parameter`] naming the first such file.
pub fn check_not_model_files<P: AsRef<Path>>(
    flag: &str,
    files: &[P],
    models: Option<&Path>,
) -> Result<(), Error> {
    refuse_program_files(flag, files, &program_files_with(None, models))
}

/// Refuses any of `files` that is (or leads to) one of `programs` or a
/// file in the download cache (those looked up once for all of them).
fn refuse_program_files<P: AsRef<Path>>(
    flag: &str,
    files: &[P],
    programs: &[PathBuf],
) -> Result<(), Error> {
    // The download cache holds the default weights (and the clips and
    // models the scripts fetch): nothing a side file should replace.
    // By identity: another spelling of a name on a case-insensitive disk
    // is the file (another hard link to it is not: a rename onto it leaves
    // the file as it was).
    let cache = stylize::default_cache_dir().and_then(|c| FileIdentity::of(&c));
    let programs: Vec<(FileIdentity, &PathBuf)> = programs
        .iter()
        .filter_map(|p| Some((FileIdentity::of(p)?, p)))
        .collect();
    for file in files {
        let file = file.as_ref();
        let Ok(written) = std::fs::canonicalize(file) else {
            continue; // does not exist yet
        };
        let in_cache = cache.is_some()
            && written
                .parent()
                .is_some_and(|folder| FileIdentity::of(folder) == cache);
        let identity = FileIdentity::of(&written);
        let program = programs
            .iter()
            .any(|(id, p)| Some(id) == identity.as_ref() && stylize_frames::replaces(&written, p));
        if !in_cache && !program {
            continue;
        }
        return Err(Error::parameter(
            flag,
            format!(
                "{} is a weights or model file stylize reads (--weights, $STYLIZE_WEIGHTS, \
                 the fast models, or a file in its download cache); choose another file",
                file.display()
            ),
        ));
    }
    Ok(())
}

/// Fails early, before any painting, when a file cannot be written where
/// `output` names it: its folder missing, not a folder, or not writable
/// (a trial temporary file there, removed at once). `output` itself may be
/// a folder still to be made (a video's frames).
///
/// # Errors
/// [`Error::Io`] naming the folder and what is wrong with it.
pub fn check_output_dir(output: &Path) -> Result<(), Error> {
    // (The main outputs are refused first with what they take instead.)
    refuse_dash(output, "")?;
    // This process's own standard output or error: whatever the shell
    // connected, written through it.
    if stylize::OutputFile::is_own_standard_stream(output) {
        return Ok(());
    }
    if cfg!(windows) {
        let name = output.file_name().map(|n| n.to_string_lossy());
        if let Some(why) = name.as_deref().and_then(windows_name_problem) {
            return Err(Error::io(
                output,
                std::io::Error::other(format!("{why}; choose another name")),
            ));
        }
    }
    // Where the bytes will go ([`stylize::OutputFile`]): a link is
    // followed; a device or a pipe is written into, not beside. A folder
    // here is a video's frame folder.
    let target = if output.is_dir() {
        output.to_path_buf()
    } else {
        match stylize::OutputFile::target_of(output).map_err(|e| Error::io(output, e))? {
            Some(target) => target,
            None => return check_special_file(output),
        }
    };
    if std::fs::metadata(&target).is_ok_and(|m| m.is_file() && m.permissions().readonly()) {
        return Err(Error::io(
            output,
            std::io::Error::other("the file is read-only; make it writable or name another"),
        ));
    }
    let dir = folder_of(&target);
    let refuse = |why: &str| Error::io(dir, std::io::Error::other(why.to_string()));
    if !dir.exists() {
        return Err(refuse(
            "the folder to write into does not exist (it is not made for one file): make it, \
             or name another",
        ));
    }
    if !dir.is_dir() {
        return Err(refuse("not a folder"));
    }
    // The trial file's name is as long as the output's (when that is
    // longer than its prefix and suffix), so a name the file system
    // cannot hold is found out now.
    let name_len = target.file_name().map_or(0, |n| n.len());
    let (prefix, suffix) = (".stylize-check-", ".part");
    let random = name_len.saturating_sub(prefix.len() + suffix.len()).max(6);
    tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .rand_bytes(random)
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidFilename {
                // ENAMETOOLONG (wrapped by tempfile with the path): the
                // name, or, for a short name, the whole path the trial
                // file's took (PATH_MAX, 4096 bytes on Linux).
                let whole = std::path::absolute(dir).map_or(0, |d| {
                    d.as_os_str().len() + 1 + name_len.max(prefix.len() + 6 + suffix.len())
                });
                // The whole path past the system's limit (PATH_MAX: 4096
                // bytes on Linux, 1024 on macOS), else the name past the
                // file system's (255 bytes; fewer on some, such as
                // eCryptfs's 143).
                let path_max = if cfg!(target_os = "linux") {
                    4096
                } else {
                    1024
                };
                let why = if !cfg!(unix) {
                    // (Windows says the same of a character it refuses.)
                    "the file system does not take this name (too long, or a character it \
                     refuses)"
                        .to_string()
                } else if whole >= path_max {
                    format!(
                        "its path is too long for the system ({whole} bytes from the root, with \
                         the temporary name written first): write it in a folder nearer the root"
                    )
                } else {
                    format!("its name is too long for the file system ({name_len} bytes)")
                };
                Error::io(output, std::io::Error::other(why))
            } else {
                // The system's reason, without the trial file's own name
                // (tempfile appends ` at path "..."`), of no use to the user.
                let text = e.to_string();
                let reason = text.split(" at path \"").next().unwrap_or(&text);
                // A folder that is there and still "not found" for a new
                // file: a file system that makes none (`/proc`, `/sys`).
                let reason = if e.kind() == std::io::ErrorKind::NotFound {
                    format!("no file can be made in this folder ({reason})")
                } else {
                    // (`rot: Read-only file system` said which file.)
                    let name = target.file_name().map_or_else(
                        || target.display().to_string(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                    format!("cannot write {name} into this folder: {reason}")
                };
                Error::io(dir, std::io::Error::new(e.kind(), reason))
            }
        })
}

/// A socket named as an output is refused; a named pipe is written into,
/// with a warning that the run waits for its reader.
///
/// # Errors
/// [`Error::Io`] for a socket.
#[cfg(unix)]
fn check_special_file(output: &Path) -> Result<(), Error> {
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::metadata(output).map(|m| m.file_type());
    if kind.as_ref().is_ok_and(|k| k.is_socket()) {
        return Err(Error::io(
            output,
            std::io::Error::other("a socket is there; name a file"),
        ));
    }
    if kind.is_ok_and(|k| k.is_fifo()) {
        log::warn!(
            "{} is a named pipe: writing to it waits until something reads it",
            output.display()
        );
    }
    Ok(())
}

/// Elsewhere (Windows) nothing more: device names (`NUL`) are refused
/// before, by [`windows_name_problem`].
#[cfg(not(unix))]
fn check_special_file(_output: &Path) -> Result<(), Error> {
    Ok(())
}

/// Why Windows cannot hold a file or folder named `name` as given, if it
/// cannot:
/// - a device's name (`CON`, `NUL`, `COM1`, ...; before Windows 11 with
///   any extension too, `con.png`): the bytes would go to the device, or
///   fail only once the work is done;
/// - a character it refuses (`< > : " | ? *`, control characters);
/// - a trailing dot or space, which it drops, so that `photo.jpg.` would
///   replace `photo.jpg` unseen by the checks that compare names.
fn windows_name_problem(name: &str) -> Option<&'static str> {
    if name.ends_with(['.', ' ']) && name != "." && name != ".." {
        return Some(
            "Windows drops a name's trailing dots and spaces: it would write the name without them",
        );
    }
    if name
        .chars()
        .any(|c| c.is_control() || "<>:\"|?*".contains(c))
    {
        return Some(
            "the name has a character Windows refuses (< > : \" | ? * or a control character)",
        );
    }
    let device = name.split('.').next().unwrap_or(name).trim_end();
    let upper = device.to_ascii_uppercase();
    // COM1-COM9 and LPT1-LPT9, and with a superscript 1, 2 or 3.
    let numbered = |prefix: &str| {
        upper.strip_prefix(prefix).is_some_and(|n| {
            let mut digits = n.chars();
            matches!(
                (digits.next(), digits.next()),
                (Some('1'..='9' | '¹' | '²' | '³'), None)
            )
        })
    };
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || numbered("COM")
        || numbered("LPT")
    {
        return Some("the name is a device's on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9, also with an extension)");
    }
    None
}

/// Refuses `-` as an output: `-` reads standard input where an input is
/// named, but every output here is a file (or a video's frame folder,
/// which a run continues from its work folder next to it), so a `-`
/// would otherwise become a file or folder of that name.
///
/// # Errors
/// [`Error::Io`] naming `-`.
pub fn refuse_standard_output(output: &Path) -> Result<(), Error> {
    refuse_dash(
        output,
        " (for a video, a file such as out.y4m or out.mp4, or a folder of frames)",
    )
}

/// Refuses `-` as an output, saying to name a file, then `more`.
fn refuse_dash(output: &Path, more: &str) -> Result<(), Error> {
    if output.as_os_str() == "-" {
        return Err(Error::io(
            output,
            std::io::Error::other(format!(
                "standard output cannot take this output: name a file{more}"
            )),
        ));
    }
    Ok(())
}

/// [`check_output_dir`] for an output that is a file: one that is an
/// existing folder is refused too.
///
/// # Errors
/// [`Error::Io`] naming the file or its folder.
pub fn check_output_file(output: &Path) -> Result<(), Error> {
    let refuse = |why: &str| Err(Error::io(output, std::io::Error::other(why.to_string())));
    if output.is_dir() {
        return refuse("a folder is there; name a file");
    }
    let last = output.as_os_str().as_encoded_bytes().last().copied();
    if let Some(sep) = last.map(char::from).filter(|&c| std::path::is_separator(c)) {
        return refuse(&format!(
            "a name ending in `{sep}` is a folder's; name a file"
        ));
    }
    check_output_dir(output)
}

/// Refuses an `output` that is one of `inputs` (the same file, whatever
/// the spelling), unless `overwrite`: a user's photo is never replaced by
/// accident.
///
/// # Errors
/// [`Error::Parameter`] naming the file.
pub fn check_not_an_input<'a>(
    output: &Path,
    inputs: impl IntoIterator<Item = &'a Path>,
    overwrite: bool,
) -> Result<(), Error> {
    check_written_file("output", "an input", output, inputs, overwrite)
}

/// [`check_not_an_input`] for a file the run writes beside its output
/// (`--report`, `--loss-log`, `--plot`), named by its flag: it may be
/// neither an input nor the output, whatever `--overwrite` says (that
/// lets the output replace an input; a log or report written over the
/// user's photo or clip is never what was meant).
///
/// # Errors
/// [`Error::Parameter`] naming the flag and the file.
pub fn check_side_file<'a>(
    flag: &str,
    file: &Path,
    output: &'a Path,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<(), Error> {
    if one_written_file(file, output) {
        return Err(Error::parameter(
            flag,
            format!("{} is also the output; choose another file", file.display()),
        ));
    }
    if writes_over(file, inputs) {
        return Err(Error::parameter(
            flag,
            format!(
                "{} is also an input; choose another file (--overwrite lets only the output \
                 replace an input)",
                file.display()
            ),
        ));
    }
    Ok(())
}

/// Refuses a `--save-every` run whose snapshots (`OUT-stem.NNNN.ext`, every
/// `every` iterations; [`snapshot_path`]) would replace one of `inputs`,
/// unless `overwrite`. An input is at risk when its name (as given, or
/// after following links) has a snapshot's shape with a number that is a
/// multiple of `every`, and that snapshot is the same file; the run's
/// length is not consulted, so a number it never reaches is refused too.
/// A snapshot already there is refused as well when it is (or leads to)
/// a weights or model file of `common`'s, whatever `--overwrite` says;
/// and, unless `overwrite`, when it is a symbolic link (it leads to some
/// other file), or at all when `strangers` (the output folder holds the
/// photos' folder or lies inside it: a file of a snapshot's name there
/// may be a photo, or this command's own from a run that stopped).
///
/// # Errors
/// [`Error::Parameter`] naming `--save-every` and the file.
pub fn check_snapshots<'a, I>(
    output: &Path,
    every: usize,
    inputs: I,
    overwrite: bool,
    common: &CommonArgs,
    strangers: bool,
) -> Result<(), Error>
where
    I: IntoIterator<Item = &'a Path> + Clone,
{
    let there = existing_snapshots(output, every);
    refuse_program_files("save-every", &there, &program_files(common))?;
    for snapshot in &there {
        // One already there (a link, say) that leads to an input.
        check_written_file(
            "save-every",
            "an input",
            snapshot,
            inputs.clone(),
            overwrite,
        )?;
        if overwrite {
            continue;
        }
        let link = std::fs::symlink_metadata(snapshot).is_ok_and(|m| m.file_type().is_symlink());
        let why = if link {
            "is a symbolic link: the snapshot would replace the file it leads to"
        } else if strangers {
            "is already there, and the output folder holds the photos' folder or lies \
             inside it: it may be a photo (if it is a snapshot of this command's, from a run \
             that stopped, --overwrite lets the run continue)"
        } else {
            continue;
        };
        return Err(Error::parameter(
            "save-every",
            format!(
                "{} {why}; remove it, choose another output, or pass --overwrite to replace it",
                snapshot.display()
            ),
        ));
    }
    for input in inputs.clone() {
        let resolved = std::fs::canonicalize(input).ok();
        let names = [
            input.file_name(),
            resolved.as_deref().and_then(Path::file_name),
        ];
        for n in names.into_iter().filter_map(snapshot_number) {
            if n > 0 && n.is_multiple_of(every.max(1)) {
                check_written_file(
                    "save-every",
                    "an input",
                    &snapshot_path(output, n),
                    inputs.clone(),
                    overwrite,
                )?;
            }
        }
    }
    Ok(())
}

/// The snapshots of `output` (every `every` iterations) already there,
/// whatever they are (a file, a link, a folder).
fn existing_snapshots(output: &Path, every: usize) -> Vec<PathBuf> {
    let dir = folder_of(output);
    let (Some(stem), Ok(entries)) = (output.file_stem(), std::fs::read_dir(dir)) else {
        return Vec::new();
    };
    // Names compared in lower case: on a case-insensitive disk a link
    // `OUT.0100.PNG` is the snapshot `out.0100.png` (which is returned,
    // spelled as the run writes it, if under that spelling there is a
    // file: on a disk that tells case apart, `OUT.0100.PNG` is not it).
    let mut prefix = case_folded(stem);
    prefix.push(b'.');
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let ours = case_folded(&name).starts_with(&prefix);
            let n = snapshot_number(Some(&name))
                .filter(|&n| ours && n > 0 && n.is_multiple_of(every.max(1)))?;
            let snapshot = snapshot_path(output, n);
            (snapshot.file_name().map(case_folded) == Some(case_folded(&name))
                && std::fs::symlink_metadata(&snapshot).is_ok())
            .then_some(snapshot)
        })
        .collect()
}

/// Refuses a folder run in which a photo's `--save-every` snapshot would
/// be named like another photo's painting (`a.jpg`'s snapshot after
/// iteration 1, `a.0001.jpg`, and the painting of the photo
/// `a.0001.jpg`): one would replace the other, and the next run would take
/// the snapshot for a finished painting. `todo` are the (photo, painting)
/// pairs this run paints (only they take snapshots, every `every`
/// iterations up to `last`), `all` every pair of the folder (painted
/// before or not). Both files are the run's own, so `--overwrite` does not
/// change this.
///
/// # Errors
/// [`Error::Parameter`] naming both photos and the file.
pub fn check_snapshots_apart(
    todo: &[(PathBuf, PathBuf)],
    all: &[(PathBuf, PathBuf)],
    every: usize,
    last: usize,
) -> Result<(), Error> {
    // In lower case: names that differ only in case are one file on a
    // case-insensitive disk.
    let folded = |p: &Path| case_folded(p.as_os_str());
    let painting_of: std::collections::HashMap<Vec<u8>, &Path> = todo
        .iter()
        .map(|(photo, painting)| (folded(painting), photo.as_path()))
        .collect();
    for (photo, painting) in all {
        let Some(n) = snapshot_number(painting.file_name()) else {
            continue;
        };
        if n == 0 || n > last || !n.is_multiple_of(every.max(1)) {
            continue;
        }
        // The painting whose snapshot would have this name: the name
        // without its number.
        let (Some(stem), Some(ext)) = (painting.file_stem(), painting.extension()) else {
            continue;
        };
        let stem = stem.to_string_lossy();
        let Some((base, _number)) = stem.rsplit_once('.') else {
            continue;
        };
        let other = painting.with_file_name(format!("{base}.{}", ext.to_string_lossy()));
        let Some(other_photo) = painting_of.get(&folded(&other)) else {
            continue;
        };
        if folded(&snapshot_path(&other, n)) == folded(painting) {
            return Err(Error::parameter(
                "save-every",
                format!(
                    "the snapshot of {}'s painting after iteration {n} would be {}, the \
                     painting of {}: rename one of the photos, or leave out --save-every",
                    other_photo.display(),
                    painting.display(),
                    photo.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a side file (`--loss-log`, `--plot`, named by `flag`) that one
/// of the run's `--save-every` snapshots (up to iteration `last`) would
/// replace, or that would replace one: both are written by the run, so
/// `--overwrite` does not change this.
///
/// # Errors
/// [`Error::Parameter`] naming the flag and the file.
pub fn check_not_a_snapshot(
    flag: &str,
    file: &Path,
    output: &Path,
    every: usize,
    last: usize,
) -> Result<(), Error> {
    let Some(n) = snapshot_number(file.file_name())
        .filter(|&n| n > 0 && n <= last && n.is_multiple_of(every.max(1)))
    else {
        return Ok(());
    };
    if one_written_file(file, &snapshot_path(output, n)) {
        return Err(Error::parameter(
            flag,
            format!(
                "{} is also the snapshot --save-every writes after iteration {n}; choose another file",
                file.display()
            ),
        ));
    }
    Ok(())
}

/// The number in a snapshot-shaped name (`stem.NNNN.ext`).
fn snapshot_number(name: Option<&std::ffi::OsStr>) -> Option<usize> {
    let name = name?.to_str()?;
    let (rest, _ext) = name.rsplit_once('.')?;
    let (_stem, digits) = rest.rsplit_once('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Refuses `written` (named `name` in the message) when it is one of
/// `others` (described as `what`), unless `overwrite`.
fn check_written_file<'a>(
    name: &str,
    what: &str,
    written: &Path,
    others: impl IntoIterator<Item = &'a Path>,
    overwrite: bool,
) -> Result<(), Error> {
    if overwrite || !writes_over(written, others) {
        return Ok(());
    }
    Err(Error::parameter(
        name,
        format!(
            "{} is also {what}; choose another file, or pass --overwrite to replace it",
            written.display(),
        ),
    ))
}

/// Whether writing `written` would replace one of `others` (the same
/// file, however either is spelled; links followed; by identity where the
/// file is already there, so that `img.jpg` is `IMG.JPG` on a
/// case-insensitive disk, but not another hard link to it, which the
/// rename leaves as it was: [`stylize_frames::replaces`]).
fn writes_over<'a>(written: &Path, others: impl IntoIterator<Item = &'a Path>) -> bool {
    let Some(out) = written_at(written) else {
        return false;
    };
    others
        .into_iter()
        .any(|other| stylize_frames::replaces(&out, other))
}

/// Whether writing `a` and writing `b` would write one file, neither need
/// exist yet: compared where the bytes go (links followed), and names in
/// one folder that differ only in letter case (`r.png`, `R.PNG`) count as
/// one, since on a case-insensitive disk (an SD card, a Mac's, a Windows
/// laptop's) they are, and one output would replace the other.
pub fn one_written_file(a: &Path, b: &Path) -> bool {
    let (Some(a), Some(b)) = (written_at(a), written_at(b)) else {
        return false;
    };
    if a == b {
        return true;
    }
    let folders = match (a.parent(), b.parent()) {
        (Some(x), Some(y)) => x == y || stylize_frames::same_file(x, y),
        _ => false,
    };
    folders && a.file_name().map(case_folded) == b.file_name().map(case_folded)
}

/// `path` as the system will find it once the folders it names are made
/// (`create_dir_all`): the longest part of it that is there resolved
/// (links followed), the rest taken word by word, a `..` undoing the
/// folder before it (one not there yet is a plain folder once made). As
/// given where even its start cannot be resolved.
pub fn resolved_beyond(path: &Path) -> PathBuf {
    use std::path::Component;
    let parts: Vec<Component> = path.components().collect();
    let there = (0..=parts.len())
        .rev()
        .find(|&k| {
            let prefix: PathBuf = parts[..k].iter().collect();
            k == 0 || prefix.exists()
        })
        .unwrap_or(0);
    let prefix: PathBuf = parts[..there].iter().collect();
    let start = if there == 0 {
        Path::new(".")
    } else {
        prefix.as_path()
    };
    let Ok(mut at) = std::fs::canonicalize(start) else {
        return path.to_path_buf();
    };
    for part in &parts[there..] {
        match part {
            Component::ParentDir => {
                at.pop();
            }
            Component::CurDir => {}
            other => at.push(other.as_os_str()),
        }
    }
    at
}

/// Where writing `path` puts the bytes, as one spelling (absolute, the
/// folder's links resolved), for telling whether two names are one file:
/// links are followed as [`stylize::OutputFile`] follows them, and the
/// file need not exist yet. `None` when it cannot be told.
pub fn written_at(path: &Path) -> Option<PathBuf> {
    let at = match stylize::OutputFile::target_of(path) {
        Ok(Some(at)) => at,
        // A device or a descriptor: what it is, if anything.
        Ok(None) => return std::fs::canonicalize(path).ok(),
        Err(_) => path.to_path_buf(),
    };
    let name = at.file_name()?;
    let dir = folder_of(&at);
    Some(std::fs::canonicalize(dir).ok()?.join(name))
}

/// The folder a file `path` is in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_path_is_resolved_as_making_its_folders_will_find_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(d.join("dd")).unwrap();
        assert_eq!(super::resolved_beyond(&d.join("new/../dd")), d.join("dd"));
        assert_eq!(
            super::resolved_beyond(&d.join("dd/x/y/../z")),
            d.join("dd/x/z")
        );
        assert_eq!(
            super::resolved_beyond(&d.join("out.png/x/..")),
            d.join("out.png")
        );
        assert!(!d.join("new").exists());
    }

    use super::windows_name_problem;

    #[test]
    fn names_windows_cannot_hold_as_given_are_told_apart() {
        for bad in [
            "con.png",
            "NUL",
            "nul.csv",
            "Aux.gif.stylize-work",
            "COM1.png",
            "lpt9",
            "COM¹.png",
            "lpt³",
            "prn.jpg",
            "CONOUT$",
            "con .png",
            "photo.jpg.",
            "photo.jpg ",
            "photo.jpg. . .",
            "a?.png",
            "b*.png",
            "c<d>.png",
            "e|f.png",
            "g\"h.png",
            "photo.jpg:stream.png",
            "tab\t.png",
        ] {
            assert!(windows_name_problem(bad).is_some(), "{bad}");
        }
        for good in [
            "painted.png",
            "console.png",
            "com10.png",
            "com0.png",
            "lpt.png",
            "nully.csv",
            ".hidden.png",
            "a b.png",
            "café.png",
            ".",
            "..",
        ] {
            assert_eq!(windows_name_problem(good), None, "{good}");
        }
    }
}
