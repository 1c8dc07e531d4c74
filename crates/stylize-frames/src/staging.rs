//! Outputs written beside their final path and renamed into place.
//!
//! Nothing appears at the output path until [`StagedFile::commit`] /
//! [`StagedDir::commit`]; a staged output dropped uncommitted is removed.

use std::fs::File;
use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, TempDir};

use crate::error::{FramesError, Result};

/// The folder an output lives in (`.` for a bare file name).
pub(crate) fn parent_dir(output: &Path) -> PathBuf {
    match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.name.` for hidden temporary names beside `output`.
fn temp_prefix(output: &Path) -> String {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.")
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
}

impl StagedFile {
    /// Creates `.NAME.XXXXXX.tmpSUFFIX` in `output`'s folder; `suffix` (an
    /// extension such as `.mp4`) lets tools that go by extension write it.
    pub(crate) fn new(output: &Path, suffix: &str) -> Result<Self> {
        let parent = check_parent(output)?;
        let prefix = temp_prefix(output);
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(suffix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let temp = builder
            .tempfile_in(&parent)
            .map_err(FramesError::io("creating a file in", &parent))?;
        Ok(StagedFile {
            temp,
            output: output.to_path_buf(),
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
            .map(drop)
            .map_err(|e| FramesError::io("renaming a temporary file onto", &output)(e.error))
    }
}

/// A folder being filled beside its output.
pub(crate) struct StagedDir {
    temp: TempDir,
    output: PathBuf,
}

impl StagedDir {
    /// Creates `.NAME.XXXXXX.tmp/` in `output`'s folder; refuses an output
    /// that is an existing non-empty folder or a file.
    pub(crate) fn new(output: &Path) -> Result<Self> {
        check_output_free(output)?;
        let parent = check_parent(output)?;
        let prefix = temp_prefix(output);
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o755));
        }
        let temp = builder
            .tempdir_in(&parent)
            .map_err(FramesError::io("creating a folder in", &parent))?;
        Ok(StagedDir {
            temp,
            output: output.to_path_buf(),
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
    /// replaced).
    pub(crate) fn commit(self) -> Result<()> {
        check_output_free(&self.output)?;
        if self.output.is_dir() {
            std::fs::remove_dir(&self.output)
                .map_err(FramesError::io("replacing", &self.output))?;
        }
        std::fs::rename(self.temp.path(), &self.output).map_err(FramesError::io(
            "renaming a temporary folder onto",
            &self.output,
        ))?;
        // Renamed: nothing left to clean up.
        let _ = self.temp.keep();
        Ok(())
    }
}

/// `Ok` when `output` does not exist or is an empty folder.
fn check_output_free(output: &Path) -> Result<()> {
    match std::fs::read_dir(output) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                Err(FramesError::OutputFolderNotEmpty {
                    path: output.to_path_buf(),
                })
            } else {
                Ok(())
            }
        }
        Err(_) if !output.exists() => Ok(()),
        Err(e) => Err(FramesError::io("writing", output)(e)),
    }
}

/// Refuses an `output` inside (or equal to) the `input` folder: frames
/// written there would be read back as input on the next run. Paths are
/// compared after resolving symlinks and `..` (the output's missing
/// components are taken literally).
pub fn check_output_not_inside(input: &Path, output: &Path) -> Result<()> {
    let Ok(input_abs) = input.canonicalize() else {
        return Ok(());
    };
    if !input_abs.is_dir() {
        return Ok(());
    }
    // Resolve the longest existing ancestor of the output.
    let mut existing = if output.is_absolute() {
        output.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(FramesError::io("reading", "."))?
            .join(output)
    };
    let mut rest = Vec::new();
    let resolved = loop {
        if let Ok(p) = existing.canonicalize() {
            break p;
        }
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return Ok(()),
        }
    };
    let mut output_abs = resolved;
    for name in rest.into_iter().rev() {
        output_abs.push(name);
    }
    if output_abs.starts_with(&input_abs) {
        return Err(FramesError::OutputInsideInput {
            input: input.to_path_buf(),
            output: output.to_path_buf(),
        });
    }
    Ok(())
}
