//! A folder of photos painted into an output folder: which files are
//! photos, where each painting goes, and the output folder made for the
//! run (and removed again when nothing was painted into it).

use std::path::{Path, PathBuf};

use stylize::{output_format, Error};

use crate::setup::check_not_an_input;

/// The photos of a folder run, each with its output's path.
pub struct PhotoFolder {
    /// (photo, output) pairs, by file name.
    pub jobs: Vec<(PathBuf, PathBuf)>,
    /// The output folder as given.
    output: PathBuf,
    /// The folder this run made, if it made one.
    made: Option<PathBuf>,
}

impl PhotoFolder {
    /// Every photo directly in `content` that can also be written (PNG,
    /// JPEG, WebP, TIFF), by name, each to the same name in `output` (not
    /// made yet: [`Self::make_output`]). Other entries are skipped with a
    /// warning.
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
    ) -> Result<PhotoFolder, Error> {
        Ok(PhotoFolder {
            jobs: list(content, output, others, overwrite)?,
            output: output.to_path_buf(),
            made: None,
        })
    }

    /// Makes the output folder if it is not there. A link to a folder not
    /// yet made is followed, as a file's link is: the folder is made where
    /// it points.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be made.
    pub fn make_output(&mut self) -> Result<(), Error> {
        if self.output.is_dir() {
            return Ok(());
        }
        let at = stylize::OutputFile::target_of(&self.output)
            .ok()
            .flatten()
            .unwrap_or_else(|| self.output.clone());
        std::fs::create_dir_all(&at).map_err(|e| Error::io(&self.output, e))?;
        self.made = Some(at);
        Ok(())
    }

    /// Removes the output folder this run made if it is empty: a run that
    /// painted nothing leaves nothing behind.
    pub fn remove_output_if_empty(&self) {
        if let Some(made) = &self.made {
            // Only an empty folder is removed.
            let _ = std::fs::remove_dir(made);
        }
    }
}

/// The (input, output) pairs of a folder run: every image file directly in
/// `content` that can also be written (PNG, JPEG, WebP, TIFF), by name,
/// each to the same name in `output`; none may be one of `others` (the
/// paintings) unless `overwrite`.
fn list(
    content: &Path,
    output: &Path,
    others: &[PathBuf],
    overwrite: bool,
) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    if output.is_file() {
        return Err(Error::parameter(
            "output",
            format!(
                "{} is a file; with a folder as --content, --output is a folder",
                output.display()
            ),
        ));
    }
    // A folder to be made, named like an image: the user most likely
    // meant a file, which a folder of photos cannot give.
    if !output.exists() && output_format(output).is_ok() {
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
    let same = std::fs::canonicalize(content).ok() == std::fs::canonicalize(output).ok();
    if same && !overwrite {
        return Err(Error::parameter(
            "output",
            format!(
                "{} is also the input folder: its photos would be replaced; choose another folder, or pass --overwrite",
                output.display()
            ),
        ));
    }
    let entries = std::fs::read_dir(content).map_err(|e| Error::io(content, e))?;
    // Hidden files are not photos: a Mac's `._photo.jpg` (resource
    // forks copied to another disk), an editor's back-up.
    let hidden = |p: &Path| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    };
    let (mut inputs, skipped): (Vec<PathBuf>, Vec<PathBuf>) = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .partition(|p| p.is_file() && !hidden(p) && output_format(p).is_ok());
    inputs.sort();
    if inputs.is_empty() {
        return Err(Error::parameter(
            "content",
            format!(
                "{} holds no PNG, JPEG, WebP or TIFF images (each painting keeps its photo's name \
                 and format; a GIF or BMP photo can be painted on its own: --content FILE)",
                content.display()
            ),
        ));
    }
    if !skipped.is_empty() {
        log::warn!(
            "{}: skipping {} entr{} that {} not a PNG, JPEG, WebP or TIFF file (folders, links to \
             nothing, hidden and other files): {}",
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
            let name = p.file_name()?.to_owned();
            Some((p, output.join(name)))
        })
        .collect();
    // A painting (or, through a link, another photo) may sit in the
    // output folder under a photo's name.
    for (input, output) in &jobs {
        check_not_an_input(
            output,
            std::iter::once(input.as_path()).chain(others.iter().map(PathBuf::as_path)),
            overwrite,
        )?;
    }
    Ok(jobs)
}
