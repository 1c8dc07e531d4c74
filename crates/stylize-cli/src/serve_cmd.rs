//! The `serve` job: the local web page (the `stylize-serve` crate) with
//! the weights loaded once, until Ctrl-C.

use std::path::{Path, PathBuf};
use std::time::Duration;

use stylize::{load_vgg_weights, resolve_weights, Stylizer};
use stylize_serve::{ServeConfig, Server};

use crate::args::ServeArgs;
use crate::console::Console;
use crate::interrupt::Interrupt;
use crate::progress::DownloadBar;
use crate::setup::Workers;
use crate::{JobResult, Outcome};

/// Runs the server until interrupted.
///
/// # Errors
/// Weights that cannot be read, an address that cannot be bound.
pub fn run(cli: &ServeArgs, quiet: bool, interrupt: &Interrupt, console: &Console) -> JobResult {
    // A port already taken is said before the weights are loaded (seconds,
    // or a first download); the server binds it again once they are.
    if cli.port != 0 {
        let addr = std::net::SocketAddr::new(cli.bind, cli.port);
        std::net::TcpListener::bind(addr)
            .map_err(|source| stylize_serve::Error::Bind { addr, source })?;
    }
    // A folder: `-` would be made as one, and a file there said as such
    // (before: a folder `-`; "cannot create ...: File exists").
    if let Some(dir) = &cli.output_dir {
        let why = if dir.as_os_str() == "-" {
            Some("the results are files in a folder, not standard output: name a folder")
        } else if dir.metadata().is_ok_and(|m| !m.is_dir()) {
            Some("a file is there; name a folder")
        } else {
            None
        };
        if let Some(why) = why {
            let msg = format!("{}: {why}", dir.display());
            return Err(stylize::Error::parameter("output_dir", msg).into());
        }
        // A link to a folder not made yet is followed, as a folder run's
        // output is: the folder is made where it points (before: "File
        // exists").
        let dangling = dir
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
            && !dir.exists();
        if dangling {
            if let Ok(Some(at)) = stylize::OutputFile::target_of(dir) {
                std::fs::create_dir_all(&at).map_err(|e| stylize::Error::io(&at, e))?;
            }
        }
    }
    let show_bars = !quiet && crate::progress::bars_drawn();
    let (path, _) = resolve_weights(
        cli.weights.as_deref(),
        &mut DownloadBar::new(show_bars, console, interrupt),
    )?;
    let weights = load_vgg_weights(&path, None)?;
    let mut stylizer = Stylizer::new(&weights);
    // The optimiser's threads and the networks' (loaded below), as many
    // of each, fitted together where reserving memory is limited.
    let threads = crate::setup::worker_threads(cli.threads, Workers::Both, |m| {
        if !quiet {
            note!("note: {m} (for the optimiser and again for the fast networks)");
        }
    });
    // The engine keeps its own copy of the kernels: the file's copy (about
    // 60 MB for VGG16) is not held while the server runs.
    let arch = weights.arch;
    drop(weights);
    if let Some(t) = threads {
        stylizer = stylizer.with_threads(t)?;
    }
    let device = crate::setup::device_line(&stylizer, threads);
    let threads = threads.map_or(cli.threads, |t| u32::try_from(t).ok());
    let description = format!(
        "{}: {}",
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned()
        ),
        arch
    );
    let mut config = ServeConfig {
        bind: cli.bind,
        port: cli.port,
        allowed_hosts: cli.allow_host.clone(),
        max_upload_bytes: usize::try_from(cli.max_upload).unwrap_or(usize::MAX),
        max_queue: cli.max_queue as usize,
        max_queued_bytes: cli.max_queued_memory,
        max_video_frames: cli.max_video_frames as usize,
        preview_interval: Duration::from_millis(cli.preview_interval_ms),
        max_memory: crate::setup::memory_limit_said(cli.max_memory, threads, Workers::Both)?,
        ffmpeg: stylize_frames::ffmpeg_from_env(),
        // Named in each job's command line, so that it runs as the job did
        // (absolute: the command may be run from another folder), also
        // when found through STYLIZE_WEIGHTS or the cache: the shell the
        // command is run in may set another, or none.
        weights_file: Some(absolute(&path)),
        // Set once the networks are read (below).
        models_dir: None,
        output_dir: cli.output_dir.clone(),
        ..ServeConfig::default()
    };
    if !cli.bind.is_loopback() {
        note!(
            "warning: serving {} to the network: anyone who can reach this machine can use it (no login); \
             only Host names of this server are answered (add --allow-host NAME for the one people use)",
            cli.bind
        );
    }
    if !quiet {
        note!("device: {device}; weights: {description}");
    }
    // The fast network is optional: without its files the page offers the
    // optimiser only, and says how to get them.
    let fast = match crate::fast_cmd::load_fast(
        cli.models.as_deref(),
        threads,
        stylize_feedforward::FastNetworks::All,
    ) {
        Ok(fast) => {
            // Named in each job's command line as the weights are, also
            // when found through STYLIZE_FAST_MODELS or the cache.
            let dir = cli
                .models
                .clone()
                .unwrap_or_else(stylize_feedforward::default_models_dir);
            config.models_dir = Some(absolute(&dir));
            Some(fast)
        }
        Err(e) => {
            if !quiet {
                note!("note: no fast network on the page ({e})");
            }
            None
        }
    };
    let server = Server::with_fast(stylizer, fast, description, config)?;
    if !quiet {
        // Once the folder is taken (before: said, then refused).
        match &cli.output_dir {
            Some(dir) => note!(
                "results are also written to {} (never replacing a file)",
                dir.display()
            ),
            None => note!(
                "results live in a temporary folder until the server stops: download them from \
                 the page, or add --output-dir FOLDER to keep each one"
            ),
        }
        say_leftovers(&stylize_serve::leftover_folders(&std::env::temp_dir()));
    }
    // A second Ctrl-C quits without the orderly stop: the photos go too.
    interrupt.remove_on_quit(server.jobs_dir().to_path_buf());
    let stop = interrupt.clone();
    let open = cli.open;
    server.run(
        1,
        |addr| {
            let host = if addr.ip().is_unspecified() {
                std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
            } else {
                addr
            };
            // The first line on stdout, for scripts (and the browser tests).
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // Nobody reading it is no reason to stop serving; a line lost
            // otherwise (a full disk) is said, a script waiting for it.
            let line = format!("stylize serve: listening on http://{host}/\n");
            match out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    note!(
                        "warning: standard output: {e}: the line `{}` was not written",
                        line.trim()
                    );
                }
                _ => {}
            }
            if !quiet {
                note!("open http://{host}/ in a browser; Ctrl-C stops the server");
            }
            if open {
                open_in_browser(format!("http://{host}/"), quiet);
            }
        },
        move || stop.requested(),
    )?;
    if !quiet {
        note!("stopped; the jobs' files were removed");
    }
    // Ctrl-C is how a server ends normally.
    Ok(Outcome::Done)
}

/// Says where earlier servers that were killed left their jobs' files
/// (results among them), and how much they hold: not removed, since they
/// may be all that is left of the results.
fn say_leftovers(leftovers: &[stylize_serve::Leftover]) {
    let Some(largest) = leftovers.first() else {
        return;
    };
    let total: u64 = leftovers.iter().map(|l| l.bytes).sum();
    let (n, listed) = (leftovers.len(), leftovers.len().min(3));
    let names: Vec<String> = leftovers[..listed]
        .iter()
        .map(|l| format!("{} ({})", l.path.display(), stylize::memory::human(l.bytes)))
        .collect();
    let more = if n > listed {
        format!(" and {} more", n - listed)
    } else {
        String::new()
    };
    note!(
        "note: {n} folder{} left by servers that were killed before they could remove {} \
         ({} in all): {}{more}; their results are in job-*/result.*; remove {} when done \
         (e.g. {})",
        if n == 1 { "" } else { "s" },
        if n == 1 { "it" } else { "them" },
        stylize::memory::human(total),
        names.join(", "),
        if n == 1 { "it" } else { "them" },
        largest.removal_command()
    );
}

/// The commands that may open `url` in the user's browser, to be tried in
/// turn, each a program and its arguments: `$BROWSER`'s where set, by the
/// convention Python's `webbrowser` follows (commands apart by the path
/// separator, `:`, or `;` on Windows; each its words apart by spaces
/// unless it names a file as a whole; `%s` stands for the URL, else it
/// goes last), else the system's opener.
fn browser_commands(browser: Option<&std::ffi::OsStr>, url: &str) -> Vec<(String, Vec<String>)> {
    if let Some(browser) = browser.filter(|b| !b.is_empty()) {
        let separator = if cfg!(windows) { ';' } else { ':' };
        return browser
            .to_string_lossy()
            .split(separator)
            .filter(|entry| !entry.trim().is_empty())
            .filter_map(|entry| {
                let mut words: Vec<String> = if Path::new(entry).is_file() {
                    vec![entry.to_string()]
                } else {
                    entry.split_whitespace().map(str::to_string).collect()
                };
                if words.iter().any(|w| w.contains("%s")) {
                    for w in &mut words {
                        *w = w.replace("%s", url);
                    }
                } else {
                    words.push(url.to_string());
                }
                let program = words.remove(0);
                (!program.is_empty()).then_some((program, words))
            })
            .collect();
    }
    let (program, mut args): (&str, Vec<String>) = if cfg!(target_os = "macos") {
        ("open", Vec::new())
    } else if cfg!(windows) {
        // `start`'s first quoted argument is a window title.
        ("cmd", vec!["/C".into(), "start".into(), String::new()])
    } else {
        ("xdg-open", Vec::new())
    };
    args.push(url.to_string());
    vec![(program.to_string(), args)]
}

/// Opens `url` in the browser (`serve --open`), on a thread of its own so
/// that a slow opener does not hold the server; a failure is a warning,
/// not an error: the page is still there to open by hand.
fn open_in_browser(url: String, quiet: bool) {
    let commands = browser_commands(std::env::var_os("BROWSER").as_deref(), &url);
    let spawned = std::thread::Builder::new()
        .name("open-browser".into())
        .spawn(move || {
            let mut failures = Vec::new();
            for (program, args) in &commands {
                let status = std::process::Command::new(program)
                    .args(args)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .status();
                let failure = match status {
                    Ok(s) if s.success() => return,
                    Ok(s) => format!("it ended with {s}"),
                    Err(e) => e.to_string(),
                };
                failures.push(format!("`{program}` ({failure})"));
            }
            if !quiet {
                note!(
                    "warning: could not open a browser with {}; open {url} yourself",
                    if failures.is_empty() {
                        "$BROWSER, which names no program".to_string()
                    } else {
                        failures.join(", ")
                    }
                );
            }
        });
    if let Err(e) = spawned {
        if !quiet {
            note!("warning: could not open a browser ({e})");
        }
    }
}

/// `path` made absolute (its links resolved) for a command line a person
/// may paste: on Windows without the `\\?\` prefix that resolving adds,
/// which a shell shows as is. `path` itself where it cannot be resolved.
fn absolute(path: &Path) -> PathBuf {
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if cfg!(windows) {
        without_verbatim_prefix(&resolved)
    } else {
        resolved
    }
}

/// `\\?\C:\x` as `C:\x`, and `\\?\UNC\server\share` as
/// `\\server\share`; any other path as it is.
fn without_verbatim_prefix(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    if let Some(rest) = text.strip_prefix(r"\\?\UNC\") {
        return PathBuf::from(format!(r"\\{rest}"));
    }
    match text.strip_prefix(r"\\?\") {
        Some(rest) if rest.as_bytes().get(1) == Some(&b':') => PathBuf::from(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `$BROWSER` as Python's `webbrowser` reads it: commands apart by the
    /// path separator, `%s` for the URL (else last), words apart by spaces
    /// unless the whole names a file.
    #[cfg(unix)]
    #[test]
    fn browser_names_commands_tried_in_turn() {
        let url = "http://127.0.0.1:8/";
        let of = |b: &str| browser_commands(Some(std::ffi::OsStr::new(b)), url);
        let cmd = |p: &str, a: &[&str]| (p.to_string(), a.iter().map(|s| s.to_string()).collect());
        assert_eq!(of("firefox"), [cmd("firefox", &[url])]);
        assert_eq!(
            of("lynx -dump %s:w3m"),
            [cmd("lynx", &["-dump", url]), cmd("w3m", &[url])]
        );
        assert_eq!(
            of("x --open=%s"),
            [cmd("x", &["--open=http://127.0.0.1:8/"])]
        );
        let dir = tempfile::tempdir().unwrap();
        let spaced = dir.path().join("my browser");
        std::fs::write(&spaced, b"").unwrap();
        let spaced = spaced.to_str().unwrap();
        assert_eq!(of(spaced), [cmd(spaced, &[url])]);
        assert!(of(":").is_empty());
        assert_eq!(
            browser_commands(None, url),
            [cmd(
                if cfg!(target_os = "macos") {
                    "open"
                } else {
                    "xdg-open"
                },
                &[url]
            )]
        );
    }

    #[test]
    fn the_verbatim_prefix_is_left_out_where_a_plain_path_says_the_same() {
        let plain = |p: &str| without_verbatim_prefix(Path::new(p));
        assert_eq!(plain(r"\\?\C:\w.h5"), PathBuf::from(r"C:\w.h5"));
        assert_eq!(
            plain(r"\\?\UNC\server\share\w.h5"),
            PathBuf::from(r"\\server\share\w.h5")
        );
        assert_eq!(
            plain(r"\\?\GLOBALROOT\x"),
            PathBuf::from(r"\\?\GLOBALROOT\x")
        );
        assert_eq!(plain("/home/u/w.h5"), PathBuf::from("/home/u/w.h5"));
    }
}
