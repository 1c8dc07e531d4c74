//! Standard error as a run shares it: its progress bar, and the lines
//! written while the bar is drawn (log records, the Ctrl-C message). Such
//! a line takes the bar away first and has it drawn again below itself,
//! so no stale copy of the bar is left above the line (and no line is
//! drawn over by the bar).
//!
//! Only a bar still running is taken away: a finished one stays where it
//! is, with the lines written after it below, and is left alone (taking
//! it away would clear what was written since).

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, WeakProgressBar};

/// The bar a run draws and the lines it writes meanwhile. Made once by
/// `main` and handed to the jobs; clones share the same bar.
#[derive(Clone, Default)]
pub struct Console {
    /// The last bar drawn (not kept alive by this: the job owns it).
    current: Arc<Mutex<Option<WeakProgressBar>>>,
}

impl Console {
    /// A console on standard error (bars drawn only on a terminal).
    pub fn new() -> Self {
        Console::default()
    }

    /// `bar`, drawn through this console, so that lines written while it
    /// runs go above it; a hidden bar stays hidden.
    pub fn draw(&self, bar: ProgressBar) -> ProgressBar {
        if !bar.is_hidden() {
            if let Ok(mut current) = self.current.lock() {
                *current = Some(bar.downgrade());
            }
        }
        bar
    }

    /// The bar to take away for a line: the last one drawn, while it runs.
    fn running(&self) -> Option<ProgressBar> {
        let current = self.current.lock().ok()?;
        current
            .as_ref()
            .and_then(WeakProgressBar::upgrade)
            .filter(|bar| !bar.is_finished())
    }

    /// Runs `write` with the running bar, if any, taken away.
    fn above(&self, write: impl FnOnce()) {
        match self.running() {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Writes `line` to standard error above the running bar, if any. A
    /// line that cannot be written (standard error closed) is dropped, as
    /// `note!` does.
    pub fn line(&self, line: std::fmt::Arguments<'_>) {
        self.above(|| {
            let _ = writeln!(std::io::stderr(), "{line}");
        });
    }

    /// `logger`, its records written as this console's lines.
    pub fn logger(&self, logger: env_logger::Logger) -> ConsoleLogger {
        ConsoleLogger {
            logger,
            console: self.clone(),
        }
    }
}

/// A logger whose records are written with the bar taken away
/// ([`Console::logger`]).
pub struct ConsoleLogger {
    logger: env_logger::Logger,
    console: Console,
}

impl ConsoleLogger {
    /// The most detailed level the wrapped logger writes.
    pub fn filter(&self) -> log::LevelFilter {
        self.logger.filter()
    }
}

impl log::Log for ConsoleLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.logger.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        // Only a record that is written takes the bar away.
        if self.logger.matches(record) {
            self.console.above(|| self.logger.log(record));
        }
    }

    fn flush(&self) {
        self.logger.flush();
    }
}
