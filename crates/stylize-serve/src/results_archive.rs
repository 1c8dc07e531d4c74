//! Every result so far in one ZIP file, for "download all": each under
//! the name `--output-dir` would keep it under, stored (PNG and GIF are
//! compressed already), written to an unnamed temporary file (not held in
//! memory) that goes when it has been sent.

use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The most bytes of results one archive holds.
pub(crate) const MAX_ARCHIVE_BYTES: u64 = 2 << 30;

/// Why an archive was not made.
#[derive(Debug)]
pub(crate) enum ArchiveError {
    /// The results pass [`MAX_ARCHIVE_BYTES`]: their bytes.
    TooLarge(u64),
    /// A result could not be read, or the archive written.
    Io(std::io::Error),
}

/// The ZIP of `results` (file, name), each name made unique as
/// `stem-2.ext`, `stem-3.ext`, ... in the order given, in an unnamed
/// temporary file in `dir`, read from its start. A result removed
/// meanwhile (its job deleted) is left out.
///
/// # Errors
/// [`ArchiveError::TooLarge`] past [`MAX_ARCHIVE_BYTES`];
/// [`ArchiveError::Io`] when a result that is there cannot be read, or
/// the archive cannot be written.
pub(crate) fn archive(
    results: &[(PathBuf, String)],
    dir: &Path,
) -> Result<std::fs::File, ArchiveError> {
    let total: u64 = results
        .iter()
        .filter_map(|(f, _)| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    if total > MAX_ARCHIVE_BYTES {
        return Err(ArchiveError::TooLarge(total));
    }
    let zip_error = |e: zip::result::ZipError| ArchiveError::Io(e.into());
    let file = tempfile::tempfile_in(dir).map_err(ArchiveError::Io)?;
    let mut zip = ZipWriter::new(file);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(total > u64::from(u32::MAX) / 2);
    let mut taken = std::collections::HashSet::new();
    for (file, name) in results {
        let mut result = match std::fs::File::open(file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ArchiveError::Io(e)),
        };
        let unique = unique_name(name, &taken);
        taken.insert(unique.clone());
        zip.start_file(unique, options).map_err(zip_error)?;
        std::io::copy(&mut result, &mut zip).map_err(ArchiveError::Io)?;
    }
    let mut file = zip.finish().map_err(zip_error)?;
    file.seek(SeekFrom::Start(0)).map_err(ArchiveError::Io)?;
    Ok(file)
}

/// `name`, or `stem-2.ext`, `stem-3.ext`, ... when it is in `taken` (as
/// the output folder numbers them, [`crate::kept_result::numbered`]).
fn unique_name(name: &str, taken: &std::collections::HashSet<String>) -> String {
    (1..)
        .map(|n| crate::kept_result::numbered(name, n))
        .find(|n| !taken.contains(n))
        .unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_unique_in_order() {
        let mut taken = std::collections::HashSet::new();
        for want in ["a-b.png", "a-b-2.png", "a-b-3.png"] {
            let got = unique_name("a-b.png", &taken);
            assert_eq!(got, want);
            taken.insert(got);
        }
        assert_eq!(
            unique_name("noext", &["noext".to_string()].into()),
            "noext-2"
        );
    }
}
