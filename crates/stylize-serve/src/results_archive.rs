//! Every result so far in one ZIP file, for "download all": each under
//! the name `--output-dir` would keep it under, stored (PNG and GIF are
//! compressed already).

use std::io::Write;
use std::path::PathBuf;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The most bytes of results one archive holds (it is made in memory).
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
/// `stem-2.ext`, `stem-3.ext`, ... in the order given. A result removed
/// meanwhile (its job deleted) is left out.
///
/// # Errors
/// [`ArchiveError::TooLarge`] past [`MAX_ARCHIVE_BYTES`];
/// [`ArchiveError::Io`] when a result that is there cannot be read.
pub(crate) fn archive(results: &[(PathBuf, String)]) -> Result<Vec<u8>, ArchiveError> {
    let total: u64 = results
        .iter()
        .filter_map(|(f, _)| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    if total > MAX_ARCHIVE_BYTES {
        return Err(ArchiveError::TooLarge(total));
    }
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(total > u64::from(u32::MAX) / 2);
    let mut taken = std::collections::HashSet::new();
    for (file, name) in results {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ArchiveError::Io(e)),
        };
        let unique = unique_name(name, &taken);
        taken.insert(unique.clone());
        zip.start_file(unique, options)
            .map_err(|e| ArchiveError::Io(e.into()))?;
        zip.write_all(&bytes).map_err(ArchiveError::Io)?;
    }
    let cursor = zip.finish().map_err(|e| ArchiveError::Io(e.into()))?;
    Ok(cursor.into_inner())
}

/// `name`, or `stem-2.ext`, `stem-3.ext`, ... when it is in `taken`.
fn unique_name(name: &str, taken: &std::collections::HashSet<String>) -> String {
    if !taken.contains(name) {
        return name.to_string();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) => (stem, format!(".{ext}")),
        None => (name, String::new()),
    };
    (2..)
        .map(|n| format!("{stem}-{n}{ext}"))
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
