//! Running ffmpeg: finding it, and its child process.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use crate::error::{FramesError, Result};

/// The executable used when nothing else is said: `ffmpeg` on `PATH`.
pub(crate) const DEFAULT_FFMPEG: &str = "ffmpeg";

/// The environment variable naming the ffmpeg executable.
pub const FFMPEG_ENV: &str = "STYLIZE_FFMPEG";

/// How much of ffmpeg's standard error is kept for error messages.
pub(crate) const STDERR_TAIL: usize = 2000;

/// The ffmpeg executable named by `STYLIZE_FFMPEG`, else `ffmpeg` (looked
/// up on `PATH` when run). For the command line; the library only uses the
/// paths it is given in [`SourceOptions`](crate::SourceOptions) and
/// [`SinkOptions`](crate::SinkOptions).
pub fn ffmpeg_from_env() -> PathBuf {
    match std::env::var_os(FFMPEG_ENV) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(DEFAULT_FFMPEG),
    }
}

/// A running ffmpeg. Killed and reaped when dropped before
/// [`FfmpegChild::wait`].
pub(crate) struct FfmpegChild {
    child: Option<Child>,
    stderr: Option<JoinHandle<String>>,
    /// The input or output it works on, for errors.
    path: PathBuf,
}

impl FfmpegChild {
    /// Starts `ffmpeg args...` with the last [`STDERR_TAIL`] bytes of its
    /// standard error kept; `stdin` and `stdout` as given.
    pub(crate) fn spawn(
        ffmpeg: &Path,
        args: &[OsString],
        stdin: Stdio,
        stdout: Stdio,
        path: &Path,
    ) -> Result<Self> {
        Self::spawn_keeping(ffmpeg, args, (stdin, stdout), path, STDERR_TAIL)
    }

    /// [`Self::spawn`], keeping the last `keep` bytes of its standard
    /// error (an input's whole description, for a probe).
    pub(crate) fn spawn_keeping(
        ffmpeg: &Path,
        args: &[OsString],
        (stdin, stdout): (Stdio, Stdio),
        path: &Path,
        keep: usize,
    ) -> Result<Self> {
        let mut command = Command::new(ffmpeg);
        command
            .args(args)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped());
        // Its own process group: a Ctrl-C at the terminal reaches this
        // process only, which stops between frames and then ends ffmpeg
        // itself (on drop); in the terminal's group ffmpeg would die
        // mid-frame and turn the stop into an ffmpeg error.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                FramesError::FfmpegMissing {
                    ffmpeg: ffmpeg.to_path_buf(),
                    needed_for: path.to_path_buf(),
                }
            }
            _ => FramesError::io("starting ffmpeg", ffmpeg)(e),
        })?;
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut tail = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > 2 * keep {
                        tail.drain(..tail.len() - keep);
                    }
                }
                let start = tail.len().saturating_sub(keep);
                String::from_utf8_lossy(&tail[start..]).trim().to_string()
            })
        });
        Ok(FfmpegChild {
            child: Some(child),
            stderr,
            path: path.to_path_buf(),
        })
    }

    /// Its standard output, once.
    pub(crate) fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.as_mut().and_then(|c| c.stdout.take())
    }

    /// Its standard input, once.
    pub(crate) fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.as_mut().and_then(|c| c.stdin.take())
    }

    /// Waits for it to exit: `Ok` with its standard error when it
    /// succeeded, [`FramesError::FfmpegFailed`] otherwise.
    pub(crate) fn wait(&mut self) -> Result<String> {
        let Some(mut child) = self.child.take() else {
            return Ok(String::new());
        };
        let status = child
            .wait()
            .map_err(FramesError::io("waiting for ffmpeg on", &self.path));
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let status = status?;
        if status.success() {
            Ok(stderr)
        } else {
            let status = match status.code() {
                Some(code) => format!("exit status {code}"),
                None => status.to_string(),
            };
            Err(FramesError::FfmpegFailed {
                path: self.path.clone(),
                stderr: failure_words(&status, &stderr),
                status,
            })
        }
    }
}

/// Why ffmpeg failed with `status`, from what it wrote to standard error
/// (`stderr`); where it wrote nothing (killed by a signal), what the
/// signal says: past a file-size limit (`ulimit -f`) the system ends it
/// with SIGXFSZ.
fn failure_words(status: &str, stderr: &str) -> String {
    let words = plain_words(stderr);
    if !words.trim().is_empty() {
        words
    } else if status.contains("SIGXFSZ") {
        "the file it wrote grew past this process's file-size limit (`ulimit -f`)".to_string()
    } else {
        "it wrote nothing to say why".to_string()
    }
}

/// ffmpeg's error text as a user reads it: without the decoder's address
/// in front of a line (`[mjpeg @ 0x5562b09f70c0] No JPEG data found`, the
/// name kept: `mjpeg: No JPEG data found`), and a line said again at once
/// said once.
pub(crate) fn plain_words(stderr: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in stderr.lines() {
        let line = match line.strip_prefix('[').and_then(|l| l.split_once(" @ 0x")) {
            Some((name, rest)) => match rest.split_once("] ") {
                Some((_, said)) => format!("{name}: {said}"),
                None => line.to_string(),
            },
            None => line.to_string(),
        };
        if lines.last() != Some(&line) {
            lines.push(line);
        }
    }
    lines.join("\n")
}

impl Drop for FfmpegChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Closing our ends first lets it exit on its own; kill in case
            // it does not. Errors: it has already exited.
            drop(child.stdin.take());
            drop(child.stdout.take());
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
    }
}

/// `path` as an argument ffmpeg reads as a file: a relative path that
/// starts like a URL scheme (`2024-01-01T12:30.mp4`, `clip:2.mp4`) would
/// be taken for a protocol, so relative paths get a leading `./`.
pub(crate) fn file_arg(path: &Path) -> OsString {
    if path.is_absolute() || path.starts_with(".") || path.starts_with("..") {
        return path.as_os_str().to_owned();
    }
    let mut arg = OsString::from("./");
    arg.push(path.as_os_str());
    arg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_without_words_says_what_the_signal_means() {
        assert_eq!(
            failure_words("signal: 25 (SIGXFSZ)", ""),
            "the file it wrote grew past this process's file-size limit (`ulimit -f`)"
        );
        assert_eq!(
            failure_words("signal: 9 (SIGKILL)", "\n"),
            "it wrote nothing to say why"
        );
        assert_eq!(
            failure_words("exit status 1", "out.mp4: No space left on device\n"),
            "out.mp4: No space left on device"
        );
    }

    #[test]
    fn ffmpegs_words_lose_the_decoders_address_and_repeats() {
        let said = "[mjpeg @ 0x5562b09f70c0] No JPEG data found in image\n\
                    [mjpeg @ 0x5562b09fe8c0] No JPEG data found in image\n\
                    Error while decoding stream #0:0: Invalid data\n\
                    [in#0 @ 0x1] Error opening input: x\n";
        assert_eq!(
            plain_words(said),
            "mjpeg: No JPEG data found in image\n\
             Error while decoding stream #0:0: Invalid data\n\
             in#0: Error opening input: x"
        );
    }

    #[test]
    fn relative_paths_cannot_be_taken_for_a_protocol() {
        let arg = |p: &str| file_arg(Path::new(p)).into_string().unwrap();
        assert_eq!(arg("2024-01-01T12:30.mp4"), "./2024-01-01T12:30.mp4");
        assert_eq!(arg("clips/a:b.mp4"), "./clips/a:b.mp4");
        assert_eq!(arg("/tmp/x:1.mp4"), "/tmp/x:1.mp4");
        assert_eq!(arg("./a.mp4"), "./a.mp4");
        assert_eq!(arg("../a.mp4"), "../a.mp4");
    }
}
