//! A JSON report written whole or not at all.

use std::path::Path;

/// Writes `value` to `path` through a temporary file beside it, so a
/// failed write leaves the old file (or none); a device or a pipe is
/// written into ([`stylize::OutputFile`]). I/O errors name `path`.
pub(crate) fn write_json(
    path: &Path,
    value: &serde_json::Value,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use std::io::Write;
    let io = |e| stylize::Error::io(path, e);
    let mut out = stylize::OutputFile::create(path, ".stylize-report-").map_err(io)?;
    out.file()
        .write_all(serde_json::to_string_pretty(value)?.as_bytes())
        .map_err(io)?;
    out.commit().map_err(io)?;
    Ok(())
}
