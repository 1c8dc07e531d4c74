//! The `completions` job: a shell's completion script for every job and
//! flag, generated from the same definition the command line is parsed
//! with, so it cannot fall behind it.

use std::io::Write;

use crate::args::CompletionsArgs;
use crate::{JobResult, Outcome};

/// Writes the script for `args.shell` to standard output. It is made in
/// memory first: a closed pipe or a full disk is an error to print, not a
/// panic halfway through the script.
pub(crate) fn run(args: &CompletionsArgs) -> JobResult {
    let mut command = <crate::args::Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "stylize", &mut script);
    write_stdout(&script)?;
    Ok(Outcome::Done)
}

/// Writes `bytes` to standard output and flushes it: a full disk is an
/// error naming standard output, not a panic. A reader that has gone (a
/// closed pipe: `stylize info | head -3`) wants no more, and is not an
/// error, as for other tools that write to a pipe.
///
/// # Errors
/// [`stylize::Error::Io`] naming standard output.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), stylize::Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| stylize::Error::io("standard output", e)),
    }
}
