//! A JSON report written whole or not at all.

use std::path::Path;

/// Writes `value` to `path` through a temporary file beside it, so a
/// failed write leaves the old file (or none). I/O errors name `path`.
pub(crate) fn write_json(
    path: &Path,
    value: &serde_json::Value,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let io = |e| stylize::Error::io(path, e);
    let mut tmp = stylize::output_tempfile(dir, ".stylize-report-").map_err(io)?;
    tmp.write_all(serde_json::to_string_pretty(value)?.as_bytes())
        .map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
