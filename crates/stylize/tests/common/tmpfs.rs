//! A small tmpfs mounted for one test (a full disk made on purpose).

use std::path::{Path, PathBuf};

/// A tmpfs mounted on a folder, unmounted when dropped.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`64k`) on the folder `at`; `None` where
    /// that cannot be done (it needs root), said as the test `test`
    /// skipped.
    pub fn mount(at: &Path, size: &str, test: &str) -> Option<Tmpfs> {
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("SKIPPED {test}: cannot mount a tmpfs here (needs root)");
        }
        mounted.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.0)
            .stderr(std::process::Stdio::null())
            .status();
    }
}
