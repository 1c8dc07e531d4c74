//! A folder of photos painted into an output folder: which files are
//! photos (its subfolders' too, when recursive), where each painting goes,
//! and the output folders made for the run (and removed again when
//! nothing was painted into them).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use stylize::{output_format, Error};

use crate::output_check::{check_not_an_input, written_at};
use stylize_frames::{case_folded, lies_within, replaces, resolved, same_file, FileIdentity};

/// How a folder run's output folder and photos' folder nest.
enum Nesting {
    /// The output folder lies inside the photos' folder.
    OutputInPhotos,
    /// The photos' folder lies inside the output folder.
    PhotosInOutput,
}

/// The photos of a folder run, each with its output's path.
pub struct PhotoFolder {
    /// (photo, output) pairs, in natural order of their paths.
    pub jobs: Vec<(PathBuf, PathBuf)>,
    /// The entries skipped (and said so): files that are not PNG, JPEG,
    /// WebP or TIFF images (a phone's HEIC photo, a BMP, a text file),
    /// links to folders or to nothing, hidden files.
    pub skipped: usize,
    /// The output folder as given.
    output: PathBuf,
    /// The folders this run made, parents first.
    made: Vec<PathBuf>,
}

impl PhotoFolder {
    /// Every photo directly in `content` (and in its subfolders when
    /// `recursive`) that can also be written (PNG, JPEG, WebP, TIFF), by
    /// path, each to the same path under `output` (not made yet:
    /// [`Self::make_output`]). Other entries are skipped with a warning.
    ///
    /// # Errors
    /// [`Error::Parameter`] when `output` is a file or named like an
    /// image, is `content` itself (unless `overwrite`), when `content`
    /// holds no photos, or when an output would replace a photo or one of
    /// `others` (the paintings; unless `overwrite`); [`Error::Io`] when
    /// `content` cannot be listed.
    pub fn list(
        content: &Path,
        output: &Path,
        others: &[PathBuf],
        overwrite: bool,
        recursive: bool,
    ) -> Result<PhotoFolder, Error> {
        let (jobs, skipped) = list(content, output, others, overwrite, recursive)?;
        Ok(PhotoFolder {
            jobs,
            skipped,
            output: output.to_path_buf(),
            made: Vec::new(),
        })
    }

    /// Refuses, unless `overwrite`, to replace a file already in an output
    /// folder that lies inside the input folder `content`, or that holds
    /// it (`-c DCIM/2024 -o DCIM`): such a file may be one of the user's
    /// photos (one `--recursive` would paint had the folder not been the
    /// output, or one beside the photos' folder), not an earlier painting.
    /// (An output folder elsewhere is the user's to reuse: its files are
    /// replaced by a new run's paintings.)
    ///
    /// # Errors
    /// [`Error::Parameter`] (`output`) naming the first such file.
    pub fn check_replaced_inside(&self, content: &Path, overwrite: bool) -> Result<(), Error> {
        let how = match self.nesting(content) {
            Some(_) if overwrite => return Ok(()),
            None => return Ok(()),
            Some(Nesting::OutputInPhotos) => format!(
                "the output folder {} lies inside the photos' folder {}",
                self.output.display(),
                content.display()
            ),
            Some(Nesting::PhotosInOutput) => format!(
                "the photos' folder {} lies inside the output folder {}",
                content.display(),
                self.output.display()
            ),
        };
        match self.jobs.iter().find(|(_, o)| o.symlink_metadata().is_ok()) {
            Some((_, there)) => Err(Error::parameter(
                "output",
                format!(
                    "{} is already there, and {}: it may be a photo, not an earlier painting; \
                     choose an output folder that neither holds the photos' folder nor lies \
                     inside it, or pass --overwrite to replace its files",
                    there.display(),
                    how
                ),
            )),
            None => Ok(()),
        }
    }

    /// Refuses an output of `jobs` (some of this folder's) that, through a
    /// link among the output folder's subfolders (`out/sub -> ../DCIM`)
    /// or a link that is the output itself, would be written outside the
    /// output folder: over a photo this run does not paint, say. (The
    /// output folder itself may be a link: its paintings go where it
    /// leads.)
    ///
    /// # Errors
    /// [`Error::Parameter`] (`output`) naming the first such output and
    /// where it would be written.
    pub fn check_outputs_stay_inside(&self, jobs: &[(PathBuf, PathBuf)]) -> Result<(), Error> {
        // Where the output folder is (its links followed; spelt `.` or
        // `x/..` too), or will be made.
        let Some(root) = resolved(&self.output) else {
            return Ok(());
        };
        for (_, output) in jobs {
            if let Some(at) = resolved(output).filter(|at| !at.starts_with(&root)) {
                let link = std::fs::symlink_metadata(output).is_ok_and(|m| m.is_symlink());
                return Err(Error::parameter(
                    "output",
                    format!(
                        "{} would be written at {}, outside the output folder {} ({}); remove \
                         the link, or pass --overwrite to write through it",
                        output.display(),
                        at.display(),
                        self.output.display(),
                        if link {
                            "it is a link that leads there"
                        } else {
                            "a link among its subfolders leads there"
                        }
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether the output folder holds the photos' folder `content` (`-c
    /// DCIM/2024 -o DCIM`) or lies inside it (`-c DCIM -o DCIM/2024`), not
    /// when they are the same folder: then a file already in it may be one
    /// of the user's photos (one the walk does not paint).
    pub fn folders_nested(&self, content: &Path) -> bool {
        self.nesting(content).is_some()
    }

    /// How the output folder and the photos' folder `content` nest, when
    /// one lies inside the other (not when they are the same folder).
    /// (Folder by folder by identity: on a case-insensitive disk `DCIM`
    /// and `dcim` are one folder.)
    fn nesting(&self, content: &Path) -> Option<Nesting> {
        if !self.output.exists() || same_file(&self.output, content) {
            None
        } else if lies_within(&self.output, content) {
            Some(Nesting::OutputInPhotos)
        } else if lies_within(content, &self.output) {
            Some(Nesting::PhotosInOutput)
        } else {
            None
        }
    }

    /// Makes the output folder if it is not there, and the subfolders the
    /// photos' paintings go into (those left empty are removed when this
    /// is dropped, or by a second signal's quitting at once, told through
    /// `interrupt`). A link to a folder not yet made is
    /// followed, as a file's link is: the folder is made where it points.
    ///
    /// # Errors
    /// [`Error::Io`] when one cannot be made.
    pub fn make_output(&mut self, interrupt: &crate::interrupt::Interrupt) -> Result<(), Error> {
        let made = self.make_output_folders();
        // A second signal quits without the drop: it removes them itself.
        interrupt.remove_if_empty_on_quit(&self.made);
        made
    }

    /// [`Self::make_output`]'s work.
    fn make_output_folders(&mut self) -> Result<(), Error> {
        if !self.output.is_dir() {
            let at = stylize::OutputFile::target_of(&self.output)
                .ok()
                .flatten()
                .unwrap_or_else(|| self.output.clone());
            // Each missing folder on the way, parents first, so that each
            // can be removed again (`-o new/paintings`).
            let missing: Vec<&Path> = at
                .ancestors()
                .take_while(|f| !f.as_os_str().is_empty() && !f.is_dir())
                .collect();
            for f in missing.into_iter().rev() {
                match std::fs::create_dir(f) {
                    Ok(()) => self.made.push(f.to_path_buf()),
                    // A `..` step (`new/..`), or a folder made meanwhile.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && f.is_dir() => {}
                    Err(e) => return Err(Error::io(&self.output, e)),
                }
            }
        }
        let mut folders: Vec<&Path> = self.jobs.iter().filter_map(|(_, o)| o.parent()).collect();
        folders.dedup();
        for folder in folders {
            // Each missing folder on the way, parents first, so that each
            // can be removed again.
            let missing: Vec<&Path> = folder.ancestors().take_while(|f| !f.is_dir()).collect();
            for f in missing.into_iter().rev() {
                std::fs::create_dir(f).map_err(|e| Error::io(f, e))?;
                self.made.push(f.to_path_buf());
            }
        }
        Ok(())
    }
}

/// The output folders the run made and left empty are removed when it
/// ends, however it ends: a run that painted nothing leaves nothing
/// behind, nor does a subfolder whose photos were not painted (stopped,
/// or failed).
impl Drop for PhotoFolder {
    fn drop(&mut self) {
        for made in self.made.iter().rev() {
            // Only an empty folder is removed.
            let _ = std::fs::remove_dir(made);
        }
    }
}

/// The (input, output) pairs of a folder run: every image file directly in
/// `content` (and in its subfolders when `recursive`) that can also be
/// written (PNG, JPEG, WebP, TIFF), by path, each to the same path under
/// `output`; none may be one of `others` (the paintings) unless
/// `overwrite`. With the number of other entries, skipped.
fn list(
    content: &Path,
    output: &Path,
    others: &[PathBuf],
    overwrite: bool,
    recursive: bool,
) -> Result<(Vec<(PathBuf, PathBuf)>, usize), Error> {
    // Looked at without a trailing `/` (`out.png/` where `out.png` is a
    // file: the system says "not a folder", not that the file is there).
    let bare: PathBuf = output.components().collect();
    if bare.is_file() {
        return Err(Error::parameter(
            "output",
            format!(
                "{} is a file; with a folder as --content, --output is a folder",
                output.display()
            ),
        ));
    }
    // What else may be there, said before the networks load (before:
    // "File exists (os error 17)" once they had, naming the output even
    // where a file on the way was the trouble).
    let not_a_folder = |what: String| {
        Err(Error::parameter(
            "output",
            format!("{what}; with a folder as --content, --output is a folder"),
        ))
    };
    match std::fs::metadata(&bare) {
        Ok(m) if !m.is_dir() => {
            return not_a_folder(format!("{} is a pipe or a device", output.display()))
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound && bare.is_symlink() => {
            return not_a_folder(format!(
                "{} is a symbolic link that cannot be followed ({e})",
                output.display()
            ))
        }
        _ => {}
    }
    let blocked = bare
        .ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| a.exists())
        .filter(|a| !a.is_dir());
    if let Some(file) = blocked {
        return not_a_folder(format!(
            "{} cannot be made: {} is a file, not a folder",
            output.display(),
            file.display()
        ));
    }
    // A folder to be made, named like an image: the user most likely
    // meant a file, which a folder of photos cannot give (unless the name
    // ends with a `/`, which says a folder is meant).
    let said_folder = output
        .as_os_str()
        .to_string_lossy()
        .ends_with(std::path::is_separator);
    if !bare.exists() && output_format(output).is_ok() && !said_folder {
        return Err(Error::parameter(
            "output",
            format!(
                "{} is named like an image, but --content {} is a folder: its paintings go \
                 into a folder; name one (such as {}), or give one photo as --content",
                output.display(),
                content.display(),
                output.with_extension("").display()
            ),
        ));
    }
    let same = same_file(content, output);
    if same && !overwrite {
        return Err(Error::parameter(
            "output",
            format!(
                "{} is also the input folder: its photos would be replaced; choose another folder, or pass --overwrite",
                output.display()
            ),
        ));
    }
    let mut walk = Walk {
        inputs: Vec::new(),
        skipped: Vec::new(),
        folders: 0,
        // The output folder inside the input one is not entered: its
        // paintings are not photos to paint.
        output: FileIdentity::of(output),
        recursive,
    };
    walk.folder(content, 0)
        .map_err(|(folder, e)| Error::io(folder, e))?;
    let Walk {
        mut inputs,
        skipped,
        folders,
        ..
    } = walk;
    // In the order a frame folder and a sheet's paintings are read:
    // `photo2` before `photo10`.
    inputs.sort_by(|a, b| stylize_frames::natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    if inputs.is_empty() {
        // --recursive offered only where it would find photos.
        let deeper = !recursive && folders > 0 && {
            let mut all = Walk {
                inputs: Vec::new(),
                skipped: Vec::new(),
                folders: 0,
                output: FileIdentity::of(output),
                recursive: true,
            };
            all.folder(content, 0).is_ok() && !all.inputs.is_empty()
        };
        return Err(Error::parameter(
            "content",
            format!(
                "{} holds no PNG, JPEG, WebP or TIFF images{} (each painting keeps its photo's \
                 name and format; a GIF or BMP photo can be painted on its own: --content FILE){}",
                content.display(),
                if recursive {
                    " in it or its subfolders"
                } else {
                    ""
                },
                if deeper {
                    "; --recursive paints its subfolders' photos"
                } else {
                    ""
                }
            ),
        ));
    }
    if folders > 0 && !recursive {
        log::warn!(
            "{}: its {folders} subfolder(s) are not painted (--recursive paints their photos too)",
            content.display()
        );
    }
    // Photos stylize reads but cannot write under their own name (a BMP,
    // a GIF): said apart, with how to paint them, not lost among the
    // first five names of the other entries.
    let skipped_count = skipped.len();
    let (unwritable, skipped): (Vec<PathBuf>, Vec<PathBuf>) = skipped.into_iter().partition(|p| {
        p.is_file()
            && matches!(
                image::ImageFormat::from_path(p),
                Ok(image::ImageFormat::Bmp | image::ImageFormat::Gif)
            )
    });
    if !unwritable.is_empty() {
        log::warn!(
            "{}: skipping {} BMP or GIF photo(s), which a painting cannot be written as under \
             the photo's name: {}; paint each on its own (--content PHOTO --output NAME.png), \
             or convert them to PNG first",
            content.display(),
            unwritable.len(),
            unwritable
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !skipped.is_empty() {
        log::warn!(
            "{}: skipping {} entr{} that {} not a PNG, JPEG, WebP or TIFF file (links to folders \
             or to nothing, hidden and other files): {}",
            content.display(),
            skipped.len(),
            if skipped.len() == 1 { "y" } else { "ies" },
            if skipped.len() == 1 { "is" } else { "are" },
            skipped
                .iter()
                .take(5)
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect::<Vec<_>>()
                .join(", ")
                + if skipped.len() > 5 { ", ..." } else { "" }
        );
    }
    let jobs: Vec<(PathBuf, PathBuf)> = inputs
        .into_iter()
        .filter_map(|p| {
            let under = p.strip_prefix(content).ok()?.to_owned();
            Some((p, output.join(under)))
        })
        .collect();
    // A subfolder's paintings need a folder where the output folder may
    // hold a file or a link to nothing: said before the long part (before:
    // "File exists", after the weights were read).
    for (input, painting) in &jobs {
        let blocked = painting
            .ancestors()
            .skip(1)
            .take_while(|f| *f != output && f.starts_with(output))
            .find(|f| f.symlink_metadata().is_ok() && !f.is_dir());
        if let Some(blocked) = blocked {
            return Err(Error::parameter(
                "output",
                format!(
                    "{} is not a folder, and {}'s painting goes into a folder by that name: \
                     move it away, or choose another --output",
                    blocked.display(),
                    input.display()
                ),
            ));
        }
    }
    // Two photos whose paintings' names differ only in letter case
    // (`IMG.jpg` and `img.jpg`), or in an accent's spelling (`café` composed
    // and decomposed: one name on a Mac's disk), would be painted into one
    // file on a case-insensitive disk: refused on any, as two outputs are.
    // (Not when the photos are painted over in place: both names there
    // show that disk tells them apart. A name that is not UTF-8 is
    // compared as its bytes.)
    let mut painted: HashMap<Vec<u8>, &Path> = HashMap::new();
    for (input, output) in jobs.iter().filter(|_| !same) {
        if let Some(first) = painted.insert(case_folded(output.as_os_str()), input) {
            return Err(Error::parameter(
                "content",
                format!(
                    "{} and {} are painted to names that differ only in letter case (or in \
                     how an accented letter is spelled), one file on a case-insensitive disk \
                     (an SD card, a Mac's, Windows'): rename one",
                    first.display(),
                    input.display()
                ),
            ));
        }
    }
    // A painting (or, through a link, another photo) may sit in the
    // output folder under a photo's name.
    for (input, output) in &jobs {
        check_not_an_input(
            output,
            std::iter::once(input.as_path()).chain(others.iter().map(PathBuf::as_path)),
            overwrite,
        )?;
    }
    // A pipe or a device under a photo's output name: writing would wait
    // for a reader (before: the run hung there, and one Ctrl-C did not end
    // it) or go nowhere.
    for (input, output) in &jobs {
        if std::fs::metadata(output).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            return Err(Error::parameter(
                "output",
                format!(
                    "{} is a pipe or a device: the painting of {} would wait for a reader \
                     or be lost; remove it, or choose another output folder",
                    output.display(),
                    input.display()
                ),
            ));
        }
    }
    if !overwrite {
        check_no_output_is_a_link(&jobs)?;
        check_no_output_is_a_photo(&jobs)?;
    }
    Ok((jobs, skipped_count))
}

/// Refuses a run in which an output is a symbolic link already in the
/// output folder: it leads to some other file (a photo this run does not
/// paint, a BMP beside them, anything), which the painting would replace.
///
/// # Errors
/// [`Error::Parameter`] (`output`) naming the link and where it leads.
pub(crate) fn check_no_output_is_a_link(jobs: &[(PathBuf, PathBuf)]) -> Result<(), Error> {
    for (input, output) in jobs {
        if let Ok(target) = std::fs::read_link(output) {
            let what = if output.exists() {
                "would replace the file it leads to"
            } else {
                "would be written where it leads"
            };
            return Err(Error::parameter(
                "output",
                format!(
                    "{} is a symbolic link (to {}): the painting of {} {what}; remove the \
                     link, choose another output folder, or pass --overwrite to write through \
                     it",
                    output.display(),
                    target.display(),
                    input.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a run in which an output is another of the run's photos: a link
/// in the output folder under one photo's name that leads to another. The
/// painting would replace that photo, and the run would then paint the
/// painting. (Compared as one set, not photo by photo: a folder of
/// thousands.)
///
/// # Errors
/// [`Error::Parameter`] (`output`) naming the output, the photo it would
/// replace and the photo whose painting it is.
fn check_no_output_is_a_photo(jobs: &[(PathBuf, PathBuf)]) -> Result<(), Error> {
    // By identity: on a case-insensitive disk a link's target may be
    // spelled in another case than the photo's name.
    // (Every photo of one identity: two may be hard links to one file.)
    let mut photos: HashMap<FileIdentity, Vec<&Path>> = HashMap::new();
    for (photo, _) in jobs {
        if let Some(id) = FileIdentity::of(photo) {
            photos.entry(id).or_default().push(photo);
        }
    }
    for (input, output) in jobs {
        let Some(at) = written_at(output) else {
            continue;
        };
        let same = FileIdentity::of(&at).and_then(|id| photos.get(&id));
        let photo = same.and_then(|all| all.iter().find(|photo| replaces(&at, photo)));
        if let Some(photo) = photo {
            return Err(Error::parameter(
                "output",
                format!(
                    "{} leads to the photo {}: the painting of {} would replace it; remove the \
                     link, choose another output folder, or pass --overwrite to replace it",
                    output.display(),
                    photo.display(),
                    input.display()
                ),
            ));
        }
    }
    Ok(())
}

/// The deepest subfolder a recursive run enters.
const MAX_DEPTH: usize = 32;

/// What a walk over the input folder found.
struct Walk {
    /// The photos.
    inputs: Vec<PathBuf>,
    /// Entries that are neither photos nor folders.
    skipped: Vec<PathBuf>,
    /// Subfolders seen (entered when `recursive`).
    folders: usize,
    /// The output folder, when it exists.
    output: Option<FileIdentity>,
    recursive: bool,
}

impl Walk {
    /// Lists `dir`, `depth` folders below the input folder.
    ///
    /// # Errors
    /// The folder and the error of one that cannot be listed.
    fn folder(&mut self, dir: &Path, depth: usize) -> Result<(), (PathBuf, std::io::Error)> {
        let entries = std::fs::read_dir(dir).map_err(|e| (dir.to_path_buf(), e))?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            // Hidden files are not photos: a Mac's `._photo.jpg` (resource
            // forks copied to another disk), an editor's back-up; nor are
            // hidden folders' (`.git`, `.thumbnails`).
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            // A link to a folder is not followed (it may loop).
            let real_folder = entry.file_type().is_ok_and(|t| t.is_dir());
            if real_folder && !hidden {
                let is_output = self.output.is_some() && FileIdentity::of(&path) == self.output;
                if is_output {
                    continue;
                }
                // Counted; entered when recursive.
                self.folders += 1;
                if !self.recursive {
                    continue;
                }
                if depth == MAX_DEPTH {
                    log::warn!(
                        "skipping {}: more than {MAX_DEPTH} folders deep",
                        path.display()
                    );
                } else if let Err((folder, e)) = self.folder(&path, depth + 1) {
                    // A subfolder that cannot be listed is said and passed.
                    log::warn!("skipping {}: {e}", folder.display());
                }
                continue;
            }
            if path.is_file() && !hidden && output_format(&path).is_ok() {
                self.inputs.push(path);
            } else {
                self.skipped.push(path);
            }
        }
        Ok(())
    }
}
