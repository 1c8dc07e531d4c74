//! `stylize`: paint a photo in the style of a painting. A thin shell over
//! the `stylize` library: it parses flags, draws progress and prints
//! errors; each job (subcommand) is one file.

/// `eprintln!` that does not panic when standard error is closed or full
/// (`stylize ... 2>&1 | head -1`): a message that cannot be shown is
/// dropped, and the run goes on. Control characters in it (from a file's
/// name) are written escaped ([`console::printable`]).
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        let _ = writeln!(std::io::stderr(), "{}", $crate::console::printable(&text));
    }};
}

mod args;
mod completions_cmd;
mod console;
mod fast_cmd;
mod fast_video;
mod flicker_cmd;
mod image_cmd;
mod image_folder;
mod info_cmd;
mod interrupt;
mod json_file;
mod output_check;
mod photo_folder;
mod plot;
mod progress;
mod rescue;
mod selection;
mod serve_cmd;
mod setup;
mod video_cmd;

use std::process::ExitCode;

use crate::args::Command;
use crate::console::Console;
use crate::interrupt::Interrupt;

/// What a job returns: how it ended, or the error to print with its
/// causes.
pub type JobResult = Result<Outcome, Box<dyn std::error::Error + Send + Sync>>;

/// How a job ended, when it did not fail.
pub enum Outcome {
    /// It ran to the end.
    Done,
    /// A signal stopped it; what it had done was kept.
    Interrupted,
}

/// The warning for `--threads` above the threads this machine runs at
/// once: the extra ones only wait their turn, and the run gets slower.
fn oversubscribed(threads: Option<u32>) -> Option<String> {
    let asked = threads? as usize;
    let cores = std::thread::available_parallelism().ok()?.get();
    (asked > cores).then(|| {
        format!(
            "--threads {asked} is more than the {cores} thread(s) this machine runs at once: \
             the extra ones only wait their turn, which makes the run slower, not faster"
        )
    })
}

fn main() -> ExitCode {
    let cli = args::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    // wgpu logs its failed probes of graphics APIs it then does not use
    // (EGL on a machine without a GPU) as errors: only with -v.
    let level = match cli.verbose {
        0 => format!("{level},wgpu_hal=off"),
        _ => level.to_string(),
    };
    let console = Console::new();
    let logger =
        env_logger::Builder::from_env(env_logger::Env::new().filter_or("STYLIZE_LOG", level))
            .format(|out, record| {
                use std::io::Write as _;
                writeln!(out, "{}", log_line(record))
            })
            .build();
    let logger = console.logger(logger);
    log::set_max_level(logger.filter());
    // Set only here, so it cannot fail; were it set, records would go to
    // that logger.
    let _ = log::set_boxed_logger(Box::new(logger));
    let interrupt = Interrupt::install(cli.quiet, &console);
    if let Some(note) = oversubscribed(cli.command.threads()) {
        log::warn!("{note}");
    }
    let result: JobResult = match &cli.command {
        // A folder of photos is painted one photo at a time.
        Command::Image(args) if args.content.is_dir() => {
            image_folder::run(args, cli.quiet, &interrupt, &console)
        }
        Command::Image(args) => image_cmd::run(args, cli.quiet, &interrupt, &console),
        Command::Video(args) => video_cmd::run(args, cli.quiet, &interrupt, &console),
        Command::Flicker(args) => flicker_cmd::run(args, cli.quiet, &interrupt, &console),
        Command::Fast(args) => fast_cmd::run(args, cli.quiet, &interrupt, &console),
        Command::Serve(args) => serve_cmd::run(args, cli.quiet, &interrupt, &console),
        Command::Completions(args) => completions_cmd::run(args),
        Command::Info(args) => info_cmd::run(args, cli.quiet),
    };
    let job = match &cli.command {
        Command::Image(_) => "image",
        Command::Video(_) => "video",
        Command::Flicker(_) => "flicker",
        Command::Fast(_) => "fast",
        Command::Serve(_) => "serve",
        Command::Completions(_) => "completions",
        Command::Info(_) => "info",
    };
    match result {
        // A stop asked for after the last step (while the result was
        // written): the work is done, and the process still ends by the
        // signal, so that a shell's loop stops. The server's normal end
        // is Ctrl-C.
        Ok(Outcome::Done) if interrupt.requested() && !matches!(cli.command, Command::Serve(_)) => {
            interrupt.end()
        }
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted) => interrupt.end(),
        Err(e) => {
            note!("error: {}", in_flags(&with_causes(&*e), &*e, job));
            // What a stop ended early (the weights' download) is an error
            // to print, and still a stop.
            if interrupt.requested() {
                interrupt.end()
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// A log record as the user reads it: `warning: ...` and `error: ...` like
/// the tool's own messages, `-v`'s detail as it is, and with `-vv` the
/// module it comes from. Another crate's record (a GPU driver's) names
/// that crate, so it is not taken for stylize's.
fn log_line(record: &log::Record) -> String {
    let level = match record.level() {
        log::Level::Error => "error: ",
        log::Level::Warn => "warning: ",
        log::Level::Info => "",
        log::Level::Debug => "debug: ",
        log::Level::Trace => "trace: ",
    };
    let target = record.target();
    let ours =
        target == "stylize" || target.starts_with("stylize_") || target.starts_with("stylize::");
    let line = if ours && record.level() <= log::Level::Info {
        format!("{level}{}", record.args())
    } else {
        format!("{level}[{target}] {}", record.args())
    };
    console::printable(&line).into_owned()
}

/// `text` (the message of `e`) with a library setting's name, `invalid
/// style_blend: ...`, put as the flag that sets it, `invalid
/// --style-blend: ...`, where the job has that flag.
fn in_flags(text: &str, e: &(dyn std::error::Error + 'static), job: &str) -> String {
    let name = match (
        e.downcast_ref::<stylize::Error>(),
        e.downcast_ref::<stylize_feedforward::Error>(),
    ) {
        (Some(stylize::Error::Parameter { name, .. }), _) => name.as_str(),
        (_, Some(stylize_feedforward::Error::Parameter { name, .. })) => name,
        _ => return text.to_string(),
    };
    let flag = name.replace('_', "-");
    let command = <args::Cli as clap::CommandFactory>::command();
    let has_flag = command.find_subcommand(job).is_some_and(|c| {
        c.get_arguments()
            .any(|a| a.get_long() == Some(flag.as_str()))
    });
    match text.strip_prefix(&format!("invalid {name}: ")) {
        Some(rest) if has_flag => format!("invalid --{flag}: {rest}"),
        _ => text.to_string(),
    }
}

/// `e`'s message, then a `  caused by: ...` line for each cause that the
/// message above it does not already say.
pub fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut said = text.clone();
    let mut source = e.source();
    while let Some(s) = source {
        let line = s.to_string();
        if !said.contains(&line) {
            text = format!("{text}\n  caused by: {line}");
        }
        said = line;
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::log_line;

    fn line(level: log::Level, target: &str) -> String {
        log_line(
            &log::Record::builder()
                .level(level)
                .target(target)
                .args(format_args!("the message"))
                .build(),
        )
    }

    #[test]
    fn log_lines_read_like_the_tools_messages() {
        assert_eq!(
            line(log::Level::Warn, "stylize_cli::fast_cmd"),
            "warning: the message"
        );
        assert_eq!(
            line(log::Level::Warn, "stylize::video::driver"),
            "warning: the message"
        );
        assert_eq!(
            line(log::Level::Error, "stylize_frames::y4m"),
            "error: the message"
        );
        assert_eq!(line(log::Level::Info, "stylize"), "the message");
        // -vv's detail, and another crate's records, name where they come from.
        assert_eq!(
            line(log::Level::Debug, "stylize::fast::winograd"),
            "debug: [stylize::fast::winograd] the message"
        );
        assert_eq!(
            line(log::Level::Warn, "wgpu_hal::vulkan"),
            "warning: [wgpu_hal::vulkan] the message"
        );
        assert_eq!(
            line(log::Level::Info, "stylizer_other"),
            "[stylizer_other] the message"
        );
    }
}
