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
    if args.shell == clap_complete::Shell::Zsh {
        script = zsh_colons_escaped(&command, script);
    }
    write_stdout(&script)?;
    Ok(Outcome::Done)
}

/// The zsh script with the colons of value names (`fast:N`, `N:W,...`)
/// escaped: zsh's `_arguments` splits a spec at each colon, and ran the
/// rest as a command (`command not found: W,...`), offering nothing.
fn zsh_colons_escaped(command: &clap::Command, script: Vec<u8>) -> Vec<u8> {
    let Ok(mut text) = String::from_utf8(script) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let mut jobs = vec![command];
    while let Some(job) = jobs.pop() {
        jobs.extend(job.get_subcommands());
        for arg in job.get_arguments() {
            for name in arg.get_value_names().into_iter().flatten() {
                if name.contains(':') && !names.contains(&name.to_string()) {
                    names.push(name.to_string());
                }
            }
        }
    }
    for name in names {
        text = text.replace(
            &format!("]:{name}:"),
            &format!("]:{}:", name.replace(':', "\\:")),
        );
    }
    text.into_bytes()
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

#[cfg(test)]
mod tests {
    use super::zsh_colons_escaped;

    #[test]
    fn zsh_value_names_keep_their_colons_escaped() {
        let mut command = <crate::args::Cli as clap::CommandFactory>::command();
        let mut script = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Zsh,
            &mut command,
            "stylize",
            &mut script,
        );
        let text = String::from_utf8(zsh_colons_escaped(&command, script)).unwrap();
        for (escaped, raw) in [
            (
                "]:content|noise|style|fast|fast\\:N|FILE:(content noise style fast)",
                "|fast:N|FILE:",
            ),
            ("]:NAME\\:W,...:_default", "]:NAME:W,"),
            ("]:N|N\\:W,...:_default", "]:N|N:W,"),
            ("]:NAME[\\:PORT]:_default", "]:NAME[:PORT]"),
        ] {
            assert!(text.contains(escaped), "{escaped}");
            assert!(!text.contains(raw), "{raw}");
        }
    }
}
