//! Ctrl-C (SIGINT) and SIGTERM: the first asks the run to stop after the
//! current iteration, keeping the work done; a second one quits at once.
//!
//! Signals reach a process, so the flag lives here in the binary and goes
//! to the observers; the library only sees an observer that says stop.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Exit code of a run stopped by a signal (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// Whether a stop was asked for.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    /// Folders of temporary files that quitting at once removes (the
    /// orderly stop removes them itself).
    scratch: Arc<Mutex<Vec<PathBuf>>>,
}

impl Interrupt {
    /// Installs the handler. Where that fails (a handler already set), runs
    /// go on without one, and a signal ends the process as it would anyway.
    pub fn install() -> Self {
        let interrupt = Interrupt::default();
        let flag = Arc::clone(&interrupt.flag);
        let scratch = Arc::clone(&interrupt.scratch);
        let installed = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                note!("\ninterrupted again: quitting now");
                if let Ok(folders) = scratch.lock() {
                    for folder in folders.iter() {
                        // Best effort: the process ends either way.
                        let _ = std::fs::remove_dir_all(folder);
                    }
                }
                std::process::exit(i32::from(INTERRUPTED));
            }
            note!(
                "\ninterrupted: stopping after the current step (press Ctrl-C again to quit at once)"
            );
        });
        if let Err(e) = installed {
            log::warn!("cannot catch Ctrl-C ({e}); it will end the run without saving");
        }
        interrupt
    }

    /// Has a second signal, which quits at once, remove `folder` first: a
    /// folder of temporary files (the web page's uploads) that the
    /// orderly stop would have removed.
    pub fn remove_on_quit(&self, folder: PathBuf) {
        if let Ok(mut folders) = self.scratch.lock() {
            folders.push(folder);
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
