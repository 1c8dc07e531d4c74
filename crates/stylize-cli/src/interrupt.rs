//! Ctrl-C (SIGINT) and SIGTERM: the first asks the run to stop after the
//! current iteration, keeping the work done; a second one quits at once.
//!
//! Signals reach a process, so the flag lives here in the binary and goes
//! to the observers; the library only sees an observer that says stop.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::console::Console;

/// Exit code of a run stopped by a signal (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// Whether a stop was asked for.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    /// Temporary files and folders of them that quitting at once removes
    /// (the orderly stop removes them itself).
    scratch: Arc<Mutex<Vec<PathBuf>>>,
}

impl Interrupt {
    /// Installs the handler, which says what a first signal does unless
    /// `quiet` (a second one's quitting is said always: it explains the
    /// exit status and what was not written), on `console`, above its bar.
    /// Where that fails (a handler already set), runs go on without one,
    /// and a signal ends the process as it would anyway.
    pub fn install(quiet: bool, console: &Console) -> Self {
        let interrupt = Interrupt::default();
        let flag = Arc::clone(&interrupt.flag);
        let scratch = Arc::clone(&interrupt.scratch);
        let console = console.clone();
        // On a terminal, off the line the `^C` and the bar are on.
        let newline = if std::io::stderr().is_terminal() {
            "\n"
        } else {
            ""
        };
        let installed = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                // Straight to standard error, not through the bar: what
                // holds the bar (a loss log written to a reader that has
                // stopped) must not hold up quitting.
                note!("{newline}interrupted again: quitting now");
                if let Ok(paths) = scratch.lock() {
                    for path in paths.iter() {
                        // Best effort: the process ends either way.
                        let _ = if path.is_dir() {
                            std::fs::remove_dir_all(path)
                        } else {
                            std::fs::remove_file(path)
                        };
                    }
                }
                std::process::exit(i32::from(INTERRUPTED));
            }
            if !quiet {
                // Said above the bar from a thread of its own, so that this
                // handler, which takes the second signal too, never waits
                // for the bar.
                let console = console.clone();
                std::thread::spawn(move || {
                    console.line(format_args!(
                        "{newline}interrupted: stopping after the current step (press Ctrl-C \
                         again to quit at once)"
                    ));
                });
            }
        });
        if let Err(e) = installed {
            log::warn!("cannot catch Ctrl-C ({e}); it will end the run without saving");
        }
        interrupt
    }

    /// Has a second signal, which quits at once, remove `path` first: a
    /// temporary file (a loss log being written) or a folder of them (the
    /// web page's uploads) that the orderly stop would have removed.
    pub fn remove_on_quit(&self, path: PathBuf) {
        if let Ok(mut paths) = self.scratch.lock() {
            paths.push(path);
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
