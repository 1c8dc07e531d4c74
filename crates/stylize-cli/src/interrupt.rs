//! Ctrl-C (SIGINT), SIGTERM and SIGHUP: the first asks the run to stop
//! after the current iteration, keeping the work done; a second Ctrl-C
//! quits at once (another SIGTERM or SIGHUP is let be, as a closing
//! terminal sends SIGHUP twice). Either way the process then ends by the
//! signal it heard (its
//! default action, given back), not by a plain exit status: a shell tells
//! the two apart, and stops its loop or script only for the first, as it
//! would had the program not caught the signal (the shell still shows
//! `$?` as 130 for Ctrl-C).
//!
//! Signals reach a process, so the flag lives here in the binary and goes
//! to the observers; the library only sees an observer that says stop.
//!
//! SIGXFSZ (a write past `ulimit -f`) is caught too, only so that it no
//! longer ends the process: the write fails instead, as an error the run
//! reports.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use crate::console::Console;

/// Exit code of a run stopped by a signal where the process cannot end by
/// the signal itself (128 + SIGINT, as a shell reports it).
pub const INTERRUPTED: u8 = 130;

/// The signal whose second coming quits at once: Ctrl-C's (where there
/// are no signal numbers, Ctrl-C is 0).
#[cfg(unix)]
const QUITS: i32 = signal_hook::consts::SIGINT;
#[cfg(not(unix))]
const QUITS: i32 = 0;

/// Removes the temporary files this process has open for writing (an
/// output's staged copy, a `.part` being written: its own, since it has
/// them open), so that quitting at once leaves none beside the outputs;
/// on Linux, where `/proc/self/fd` says which they are (elsewhere they
/// stay, hidden, until the next run of the same output sweeps them). Best
/// effort.
fn remove_open_temporaries() {
    #[cfg(target_os = "linux")]
    {
        let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
            return;
        };
        // Open for writing (`flags` in `/proc/self/fdinfo/N`, octal: the
        // access mode's two low bits not 0): an input read under a name of
        // that shape is never taken for one.
        let written = |fd: &std::ffi::OsStr| {
            std::fs::read_to_string(std::path::Path::new("/proc/self/fdinfo").join(fd))
                .ok()
                .and_then(|info| {
                    info.lines()
                        .find_map(|l| l.strip_prefix("flags:"))
                        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
                })
                .is_some_and(|flags| flags & 0o3 != 0)
        };
        let open: Vec<PathBuf> = fds
            .flatten()
            .filter(|fd| written(&fd.file_name()))
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter(|path| {
                path.is_absolute()
                    && path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(stylize_frames::has_temporary_shape)
            })
            .collect();
        for path in open {
            let _ = std::fs::remove_file(path);
        }
        // A staged folder of frames (`.OUT.XXXX.tmp/`): open in it is its
        // lock, whose own name has no temporary's shape (before: the
        // folder was left).
        let staged: Vec<PathBuf> = std::fs::read_dir("/proc/self/fd")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter(|path| {
                path.is_absolute()
                    && path
                        .file_name()
                        .is_some_and(|n| n == stylize_frames::DIR_LOCK)
            })
            .filter_map(|lock| lock.parent().map(PathBuf::from))
            .filter(|dir| {
                dir.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(stylize_frames::has_temporary_shape)
            })
            .collect();
        for dir in staged {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The signals this process was started with ignored, as a mask (bit
/// `n - 1` for signal `n`), as Linux tells in `/proc/self/status`; none
/// where that cannot be read (other systems: every signal is caught).
#[cfg(unix)]
fn ignored_at_start() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
            u64::from_str_radix(mask.trim(), 16).ok()
        })
        .unwrap_or(0)
}

/// Whether `signal` is in the `mask` of [`ignored_at_start`].
#[cfg(unix)]
fn is_in(mask: u64, signal: i32) -> bool {
    (1..=64).contains(&signal) && mask & (1u64 << (signal - 1)) != 0
}

/// Whether a stop was asked for.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    /// The last signal heard (0: none, or one without a number).
    signal: Arc<AtomicI32>,
    /// Temporary files and folders of them that quitting at once removes
    /// (the orderly stop removes them itself).
    scratch: Arc<Mutex<Vec<PathBuf>>>,
    /// Folders a run made that quitting at once removes where empty, the
    /// last made first (a folder run's outputs' folders).
    made: Arc<Mutex<Vec<PathBuf>>>,
}

impl Interrupt {
    /// Installs the handler, which says what a first signal does unless
    /// `quiet` (a second one's quitting is said always: it explains the
    /// exit status and what was not written), on `console`, above its bar.
    /// Where that fails, runs go on without one, and a signal ends the
    /// process as it would anyway.
    pub fn install(quiet: bool, console: &Console) -> Self {
        let interrupt = Interrupt::default();
        let heard = {
            let interrupt = interrupt.clone();
            let console = console.clone();
            move |signal: i32| interrupt.heard(signal, quiet, &console)
        };
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            // SIGHUP ignored at the start stays so: `nohup stylize ... &`
            // goes on after the terminal closes. (SIGINT and SIGTERM are
            // caught whatever the start: a script's background job starts
            // with SIGINT ignored, and a stop asked for by a signal sent
            // to it on purpose keeps the work.)
            let caught = if is_in(ignored_at_start(), SIGHUP) {
                vec![SIGINT, SIGTERM]
            } else {
                vec![SIGINT, SIGTERM, SIGHUP]
            };
            match signal_hook::iterator::Signals::new(caught) {
                Ok(mut signals) => {
                    std::thread::spawn(move || {
                        for signal in signals.forever() {
                            heard(signal);
                        }
                    });
                }
                Err(e) => {
                    log::warn!("cannot catch Ctrl-C ({e}); it will end the run without saving")
                }
            }
            // Past a file-size limit (`ulimit -f`), SIGXFSZ's default
            // action ends the process at once, with no message and a
            // `.part` file left; with a handler (its flag is never read:
            // having one is what counts) the write fails instead (EFBIG),
            // and the run says so and removes what it was writing. An
            // ffmpeg it starts gets the default action back, and its
            // failure is reported as ffmpeg's.
            let heard_xfsz = Arc::new(AtomicBool::new(false));
            if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGXFSZ, heard_xfsz) {
                log::debug!("cannot catch SIGXFSZ ({e})");
            }
        }
        #[cfg(not(unix))]
        if let Err(e) = ctrlc::set_handler(move || heard(0)) {
            log::warn!("cannot catch Ctrl-C ({e}); it will end the run without saving");
        }
        interrupt
    }

    /// A signal came: the first asks for the stop, a second Ctrl-C quits
    /// now. (Called from one thread only.)
    fn heard(&self, signal: i32, quiet: bool, console: &Console) {
        // On a terminal, off the line the `^C` and the bar are on.
        let newline = if std::io::stderr().is_terminal() {
            "\n"
        } else {
            ""
        };
        if self.flag.load(Ordering::SeqCst) {
            // Another SIGTERM or SIGHUP does not cut the orderly stop
            // short: a terminal that hangs up sends SIGHUP twice (the
            // shell's, then the kernel's), and the painting would be lost.
            if signal != QUITS {
                return;
            }
            self.signal.store(signal, Ordering::SeqCst);
            // Straight to standard error, not through the bar: what holds
            // the bar (a loss log written to a reader that has stopped)
            // must not hold up quitting.
            note!("{newline}interrupted again: quitting now");
            if let Ok(paths) = self.scratch.lock() {
                for path in paths.iter() {
                    // Best effort: the process ends either way.
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(path)
                    } else {
                        std::fs::remove_file(path)
                    };
                }
            }
            remove_open_temporaries();
            if let Ok(made) = self.made.lock() {
                for folder in made.iter().rev() {
                    // Only an empty one (before: left, as an orderly stop
                    // would not).
                    let _ = std::fs::remove_dir(folder);
                }
            }
            // No flush: the lock on standard output may be held by a
            // write that a stopped reader blocks.
            self.raise();
            std::process::exit(i32::from(INTERRUPTED));
        }
        self.signal.store(signal, Ordering::SeqCst);
        self.flag.store(true, Ordering::SeqCst);
        if !quiet {
            // Said above the bar from a thread of its own, so that the
            // signals' thread, which takes the second signal too, never
            // waits for the bar.
            let console = console.clone();
            std::thread::spawn(move || {
                console.line(format_args!(
                    "{newline}interrupted: stopping after the current step (press Ctrl-C again \
                     to quit at once)"
                ));
            });
        }
    }

    /// Ends a run that a signal stopped: standard output flushed, then the
    /// process ends by the last signal heard, its default action given
    /// back. Returns only where it cannot: then with the status a shell
    /// gives a process that signal ended, 128 + its number (a container's
    /// first process: 143 for SIGTERM, as `docker stop` sends), or
    /// [`INTERRUPTED`] where no signal was heard (the tests' stops).
    pub fn end(&self) -> ExitCode {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        self.raise();
        let signal = self.signal.load(Ordering::SeqCst);
        match u8::try_from(signal) {
            Ok(n @ 1..=127) => ExitCode::from(128 + n),
            _ => ExitCode::from(INTERRUPTED),
        }
    }

    /// Ends the process by the last signal heard, if any and where it can.
    fn raise(&self) {
        #[cfg(unix)]
        {
            let signal = self.signal.load(Ordering::SeqCst);
            // The first process of a container (`docker run` without
            // `--init`) is not ended by a signal it sends itself at its
            // default action: it exits with the status instead.
            if signal != 0 && std::process::id() != 1 {
                // Does not return for a signal that ends the process.
                let _ = signal_hook::low_level::emulate_default_handler(signal);
            }
        }
    }

    /// Has a second signal, which quits at once, remove `path` first: a
    /// temporary file (a loss log being written) or a folder of them (the
    /// web page's uploads) that the orderly stop would have removed.
    pub fn remove_on_quit(&self, path: PathBuf) {
        if let Ok(mut paths) = self.scratch.lock() {
            paths.push(path);
        }
    }

    /// Removes `folders` (made by the run, parents first) where they are
    /// empty when a second signal quits at once.
    pub fn remove_if_empty_on_quit(&self, folders: &[PathBuf]) {
        if let Ok(mut made) = self.made.lock() {
            made.extend_from_slice(folders);
        }
    }

    /// The flag as a sink's [`StopSignal`](stylize_frames::StopSignal).
    pub fn stop_signal(&self) -> stylize_frames::StopSignal {
        stylize_frames::StopSignal::new(Arc::clone(&self.flag))
    }

    /// Whether a signal asked the run to stop.
    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Asks for a stop, as a signal does (for tests of the runs that hear it).
    #[cfg(test)]
    pub fn request(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn signals_ignored_at_start_are_read_from_their_mask() {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        // `nohup`'s mask: SIGHUP (1) ignored.
        assert!(is_in(0x1, SIGHUP));
        assert!(!is_in(0x1, SIGINT));
        // A background job's: SIGINT (2) and SIGQUIT (3).
        assert!(is_in(0x6, SIGINT));
        assert!(!is_in(0x6, SIGTERM));
        assert!(!is_in(u64::MAX, 0) && !is_in(u64::MAX, 65));
        // This process's own mask, as /proc/self/status gives it (what it
        // holds depends on how the tests were started).
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if let Some(line) = status.lines().find(|l| l.starts_with("SigIgn:")) {
            assert_eq!(
                format!("SigIgn:\t{:016x}", ignored_at_start()),
                line,
                "{status}"
            );
        }
    }
}
