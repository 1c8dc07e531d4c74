//! Standard error as a run shares it: its progress bar, and the lines
//! written while the bar is drawn (log records, the Ctrl-C message). Such
//! a line takes the bar away first and has it drawn again below itself,
//! so no stale copy of the bar is left above the line (and no line is
//! drawn over by the bar).

use std::io::Write as _;

use indicatif::{MultiProgress, ProgressBar};

/// The bars a run draws and the lines it writes between them. Made once by
/// `main` and handed to the jobs; clones share the same bars.
#[derive(Clone, Default)]
pub struct Console {
    bars: MultiProgress,
}

impl Console {
    /// A console on standard error (bars drawn only on a terminal).
    pub fn new() -> Self {
        Console::default()
    }

    /// `bar`, drawn through this console, so that lines written meanwhile
    /// go above it; a hidden bar stays hidden.
    pub fn draw(&self, bar: ProgressBar) -> ProgressBar {
        if bar.is_hidden() {
            bar
        } else {
            self.bars.add(bar)
        }
    }

    /// Writes `line` to standard error above the bar that is drawn, if
    /// any. A line that cannot be written (standard error closed) is
    /// dropped, as `note!` does.
    pub fn line(&self, line: std::fmt::Arguments<'_>) {
        self.bars.suspend(|| {
            let _ = writeln!(std::io::stderr(), "{line}");
        });
    }

    /// `logger`, its records written as this console's lines.
    pub fn logger(&self, logger: env_logger::Logger) -> ConsoleLogger {
        ConsoleLogger {
            logger,
            bars: self.bars.clone(),
        }
    }
}

/// A logger whose records are written with the bar taken away
/// ([`Console::logger`]).
pub struct ConsoleLogger {
    logger: env_logger::Logger,
    bars: MultiProgress,
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
            self.bars.suspend(|| self.logger.log(record));
        }
    }

    fn flush(&self) {
        self.logger.flush();
    }
}
