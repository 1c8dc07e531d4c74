//! Standard error as a run shares it: its progress bar, and the lines
//! written while the bar is drawn (log records, the Ctrl-C message). Such
//! a line takes the bar away first and has it drawn again below itself,
//! so no stale copy of the bar is left above the line (and no line is
//! drawn over by the bar).
//!
//! Only a bar still running is taken away: a finished one stays where it
//! is, with the lines written after it below, and is left alone (taking
//! it away would clear what was written since).

use std::borrow::Cow;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, WeakProgressBar};

/// `text` as it may go to a terminal: control characters other than the
/// line feed and the tab (an escape sequence, a carriage return, a bell in
/// a file's name, as any program can create) written as Rust escapes
/// (`\u{1b}`), so a name cannot recolour, move or clear what is on the
/// screen. Text without them is passed through as it is.
pub fn printable(text: &str) -> Cow<'_, str> {
    // Also the bidirectional overrides and isolates, which show a name's
    // letters in another order (`cod.exe` as `exe.doc`).
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

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
            let _ = writeln!(std::io::stderr(), "{}", printable(&line.to_string()));
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

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_written_escaped() {
        assert!(matches!(
            printable("wrote out/a b.jpg\n\tok"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            printable("wrote out/a\u{1b}[31mred\r\u{7}.jpg"),
            "wrote out/a\\u{1b}[31mred\\r\\u{7}.jpg"
        );
        // C1 controls too (CSI), and the bidirectional overrides; letters
        // beyond ASCII stay.
        assert_eq!(printable("caf\u{e9} \u{9b}2J"), "caf\u{e9} \\u{9b}2J");
        assert_eq!(printable("a\u{202e}gpj.exe"), "a\\u{202e}gpj.exe");
    }
}
