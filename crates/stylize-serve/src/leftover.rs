//! Jobs folders left by servers that did not stop: killed (`kill -9`, the
//! out-of-memory killer) or taken down with the machine, so that nothing
//! removed them. Each server writes its process id into its folder
//! ([`PID_FILE`]); a later server finds the folders whose process is gone
//! and says where they are and how much they hold. It does not remove
//! them: their results may be all that is left of a day's work.

use std::path::{Path, PathBuf};

/// The file in a server's jobs folder that holds its process id.
pub(crate) const PID_FILE: &str = "server.pid";

/// The jobs folders' names begin with this.
pub(crate) const PREFIX: &str = "stylize-serve-";

/// A jobs folder whose server is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// The folder.
    pub path: PathBuf,
    /// The bytes of the files in it.
    pub bytes: u64,
}

/// The jobs folders in `parent` (the servers' temporary folder,
/// [`std::env::temp_dir`]) whose server's process no longer runs, largest
/// first. Folders this user cannot read, with no process id (made before
/// servers wrote one), or whose process may still run are left out; so is
/// everything where whether a process runs cannot be told (no `/proc`).
pub fn leftover_folders(parent: &Path) -> Vec<Leftover> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<Leftover> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(PREFIX))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let pid = std::fs::read_to_string(e.path().join(PID_FILE)).ok()?;
            let pid: u32 = pid.trim().parse().ok()?;
            (process_runs(pid) == Some(false)).then(|| Leftover {
                bytes: folder_bytes(&e.path()),
                path: e.path(),
            })
        })
        .collect();
    found.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    found
}

/// Whether process `pid` runs, where the system tells (Linux's `/proc`).
fn process_runs(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    proc.join("self")
        .exists()
        .then(|| proc.join(pid.to_string()).exists())
}

/// The bytes of the files under `dir`, links not followed.
fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => folder_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The id of a process that has ended.
    fn ended_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn folders_whose_server_is_gone_are_found_with_their_size() {
        if process_runs(std::process::id()) != Some(true) {
            println!("SKIPPED: no /proc here to tell whether a process runs");
            return;
        }
        let parent = tempfile::tempdir().unwrap();
        let folder = |name: &str, pid: Option<u32>| {
            let dir = parent.path().join(name);
            std::fs::create_dir_all(dir.join("job-1")).unwrap();
            if let Some(pid) = pid {
                std::fs::write(dir.join(PID_FILE), pid.to_string()).unwrap();
            }
            dir
        };
        let gone = ended_pid();
        let left = folder("stylize-serve-gone", Some(gone));
        std::fs::write(left.join("job-1").join("result.png"), vec![0u8; 1000]).unwrap();
        folder("stylize-serve-running", Some(std::process::id()));
        folder("stylize-serve-unknown", None);
        folder("something-else", Some(gone));
        let found = leftover_folders(parent.path());
        let pid_bytes = gone.to_string().len() as u64;
        assert_eq!(
            found,
            [Leftover {
                path: left,
                bytes: 1000 + pid_bytes
            }]
        );
        assert!(leftover_folders(&parent.path().join("none")).is_empty());
    }
}
