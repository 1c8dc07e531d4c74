//! Jobs folders left by servers that did not stop: killed (`kill -9`, the
//! out-of-memory killer) or taken down with the machine, so that nothing
//! removed them. Each server holds a lock on a file in its folder
//! ([`LOCK_FILE`], which also says its process id) for as long as it
//! runs; the system lets go of it when the process ends, however it ends,
//! on every system. A later server finds the folders whose lock it can
//! take and says where they are and how much they hold. It does not remove
//! them: their results may be all that is left of a day's work.

use std::fs::File;
use std::path::{Path, PathBuf};

/// The file in a server's jobs folder that it keeps locked while it runs,
/// holding its process id.
const LOCK_FILE: &str = "server.lock";

/// The file in which servers before [`LOCK_FILE`] wrote their process id,
/// unlocked: a folder with only this is judged by whether that process
/// runs, where the system tells (Linux's `/proc`).
const PID_FILE: &str = "server.pid";

/// The lock of a running server on its jobs folder: held until dropped
/// (which must come before the folder is removed, for Windows).
#[derive(Debug)]
pub(crate) struct ServerLock(#[allow(dead_code)] File);

impl ServerLock {
    /// Makes the lock file in the jobs folder `dir`, writes this process's
    /// id into it and locks it: locked under another name, then renamed,
    /// so that another server never finds it there unlocked (and takes
    /// the folder for a killed server's).
    pub(crate) fn take(dir: &Path) -> std::io::Result<Self> {
        use std::io::Write;
        let making = dir.join(format!("{LOCK_FILE}.new"));
        let mut file = File::create(&making)?;
        file.lock()?;
        file.write_all(std::process::id().to_string().as_bytes())?;
        std::fs::rename(&making, dir.join(LOCK_FILE))?;
        Ok(Self(file))
    }
}

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

impl Leftover {
    /// The command that removes the folder, for this system's shell
    /// (`rm -r`, or PowerShell's `Remove-Item -Recurse` on Windows), its
    /// path quoted where the shell needs it.
    #[must_use]
    pub fn removal_command(&self) -> String {
        let path = crate::settings::shell_quote(&self.path.to_string_lossy());
        if cfg!(windows) {
            format!("Remove-Item -Recurse {path}")
        } else {
            format!("rm -r {path}")
        }
    }
}

/// The jobs folders in `parent` (the servers' temporary folder,
/// [`std::env::temp_dir`]) whose server no longer runs, largest first:
/// those whose lock file no process holds. Folders this user cannot read,
/// with no lock file or process id (made before servers wrote one), or
/// whose server may still run are left out; so are the folders of servers
/// older than the lock file wherever whether a process runs cannot be told
/// (no `/proc`).
pub fn leftover_folders(parent: &Path) -> Vec<Leftover> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<Leftover> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(PREFIX))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| server_gone(&e.path()))
        // One that holds nothing but its server's lock or process id (a
        // server killed before its first job) holds no results: removed,
        // not pointed out.
        .filter(|e| !remove_if_empty(&e.path()))
        .map(|e| Leftover {
            bytes: folder_bytes(&e.path()),
            path: e.path(),
        })
        .collect();
    found.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    found
}

/// Whether the server of the jobs folder `dir` is known to be gone: its
/// lock file is there and no process holds the lock, or (a server from
/// before the lock file) the process its id names does not run.
fn server_gone(dir: &Path) -> bool {
    match File::open(dir.join(LOCK_FILE)) {
        // Taken here, it is let go of when `file` is dropped.
        Ok(file) => matches!(file.try_lock(), Ok(())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::read_to_string(dir.join(PID_FILE))
                .ok()
                .and_then(|pid| pid.trim().parse().ok())
                .and_then(process_runs)
                == Some(false)
        }
        Err(_) => false,
    }
}

/// Removes the jobs folder `dir` of a server that is gone if it holds
/// nothing but that server's lock or process id; whether it did.
fn remove_if_empty(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let only_ours = entries
        .map(|e| e.map(|e| e.file_name()))
        .all(|name| name.is_ok_and(|n| n == LOCK_FILE || n == PID_FILE));
    only_ours && std::fs::remove_dir_all(dir).is_ok()
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
        let parent = tempfile::tempdir().unwrap();
        let folder = |name: &str| {
            let dir = parent.path().join(name);
            std::fs::create_dir_all(dir.join("job-1")).unwrap();
            dir
        };
        let lock_bytes = std::process::id().to_string().len() as u64;
        // A server that was killed: its lock file is there, unlocked.
        let left = folder("stylize-serve-gone");
        drop(ServerLock::take(&left).unwrap());
        std::fs::write(left.join("job-1").join("result.png"), vec![0u8; 1000]).unwrap();
        // A running server holds its lock.
        let running = folder("stylize-serve-running");
        let lock = ServerLock::take(&running).unwrap();
        folder("stylize-serve-unknown");
        // A server killed before its first job: nothing to point out, and
        // its folder goes.
        let empty = parent.path().join("stylize-serve-empty");
        std::fs::create_dir(&empty).unwrap();
        drop(ServerLock::take(&empty).unwrap());
        let other = folder("something-else");
        drop(ServerLock::take(&other).unwrap());
        // An older server's process id, of a process that has ended and of
        // one that runs.
        let old_gone = folder("stylize-serve-old-gone");
        std::fs::write(old_gone.join(PID_FILE), ended_pid().to_string()).unwrap();
        let old_running = folder("stylize-serve-old-running");
        std::fs::write(old_running.join(PID_FILE), std::process::id().to_string()).unwrap();

        let found = leftover_folders(parent.path());
        let mut expected = vec![Leftover {
            path: left.clone(),
            bytes: 1000 + lock_bytes,
        }];
        if process_runs(std::process::id()) == Some(true) {
            let bytes = std::fs::metadata(old_gone.join(PID_FILE)).unwrap().len();
            expected.push(Leftover {
                path: old_gone,
                bytes,
            });
        } else {
            println!("SKIPPED: no /proc here to tell whether an older server's process runs");
        }
        assert_eq!(found, expected);
        assert!(!empty.exists());
        // Once the running server is gone, its folder is found too.
        drop(lock);
        assert!(leftover_folders(parent.path())
            .iter()
            .any(|l| l.path == running));
        assert!(leftover_folders(&parent.path().join("none")).is_empty());
    }

    #[test]
    fn the_removal_command_quotes_the_path_for_the_shell() {
        let left = |path: &str| Leftover {
            path: PathBuf::from(path),
            bytes: 0,
        };
        if cfg!(windows) {
            assert_eq!(
                left(r"C:\Users\A B\Temp\stylize-serve-x").removal_command(),
                r#"Remove-Item -Recurse "C:\Users\A B\Temp\stylize-serve-x""#
            );
        } else {
            assert_eq!(
                left("/tmp/stylize-serve-x").removal_command(),
                "rm -r /tmp/stylize-serve-x"
            );
            assert_eq!(
                left("/tmp/my temp/stylize-serve-x").removal_command(),
                "rm -r '/tmp/my temp/stylize-serve-x'"
            );
        }
    }
}
