//! What the command line shows and writes while a run goes on: the progress
//! bars, the loss log and the periodic snapshots.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use image::DynamicImage;
use indicatif::{ProgressBar, ProgressStyle};
use stylize::DownloadProgress;
use stylize::{save_image_with, Error, Iteration, Observer, RunInfo, SaveOptions};

use crate::console::Console;
use crate::interrupt::Interrupt;
use crate::plot::{write_plot, Point};

/// The optimisation's observer: progress bar, `--loss-log`, `--save-every`,
/// `--plot`.
pub struct CliObserver {
    bar: Option<ProgressBar>,
    show: bool,
    /// Where the bar is drawn, with the log's lines above it.
    console: Console,
    /// Without a terminal (a log file, `nohup`): a plain line at the
    /// first iteration and then every [`PLAIN_EVERY`].
    plain: Option<PlainLines>,
    log: Option<LossLog>,
    save_every: Option<(usize, PathBuf)>,
    /// Whether to say at the start that no snapshot is reached
    /// ([`Self::with_unreached_snapshots_said`]).
    say_unreached: bool,
    /// How the snapshots are encoded (as the output).
    save_options: SaveOptions,
    plot: Option<(PathBuf, String)>,
    history: Vec<Point>,
    /// Work per iteration at each scale (its pixel count), for a progress
    /// bar whose ETA holds when coarse scales run faster than fine ones.
    work: Vec<u64>,
    iterations_per_scale: usize,
    /// The first side output (log, snapshot) that could not be written:
    /// the run goes on, and [`Self::finish`] gives it after the painting.
    error: Option<Error>,
    /// Snapshots not written: the first is said as it fails, the others
    /// counted and said once at the end (a folder gone or a full disk
    /// would fail every one).
    snapshots_missed: usize,
    interrupt: Option<Interrupt>,
    /// The run's time, iteration and work done when the first iteration
    /// ended: it holds the set-up (the first evaluation's allocations, the
    /// style targets), several iterations' worth, so the pace (the bar's
    /// time left, the plain lines') is measured from there.
    pace_from: Option<(std::time::Duration, usize, u64)>,
}

/// Whether a progress bar on standard error is drawn: a terminal whose
/// `TERM` is set and not `dumb` (indicatif's rule). Where it is not, the
/// plain progress lines stand in for it.
pub fn bars_drawn() -> bool {
    !indicatif::ProgressDrawTarget::stderr().is_hidden()
}

impl CliObserver {
    /// Stops the run after the iteration in which `interrupt` fires; a
    /// second signal, which quits at once, removes the loss log's
    /// temporary file first.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Self {
        if let Some(LossLog::File { out, .. }) = &self.log {
            if let Some(tmp) = out.staged_path() {
                interrupt.remove_on_quit(tmp.to_path_buf());
            }
        }
        self.interrupt = Some(interrupt);
        self
    }

    /// `log`: the CSV's final path (written to a temporary file beside it
    /// and moved there by [`Self::finish`]), or `-` for standard output,
    /// a line as each iteration ends. The bar, when `show`, is drawn on
    /// `console`.
    pub fn new(
        show: bool,
        console: &Console,
        log: Option<&Path>,
        save_every: Option<(usize, PathBuf)>,
        save_options: SaveOptions,
    ) -> Result<Self, Error> {
        let log = log.map(LossLog::create).transpose()?;
        Ok(CliObserver {
            bar: None,
            show,
            console: console.clone(),
            plain: None,
            log,
            save_every,
            save_options,
            plot: None,
            history: Vec::new(),
            work: Vec::new(),
            iterations_per_scale: 0,
            interrupt: None,
            error: None,
            snapshots_missed: 0,
            pace_from: None,
            say_unreached: false,
        })
    }

    /// Without a bar (standard error is no terminal), says the progress in
    /// a plain line at the first iteration and then every half minute.
    pub fn with_plain_lines(mut self, on: bool) -> Self {
        self.plain = on.then_some(PlainLines::default());
        self
    }

    /// Also draws the costs to `path` (PNG) at the end, titled `title`.
    /// Says, once the run's scales are planned, that `--save-every` saves
    /// nothing when the run has fewer iterations (for automatic scales,
    /// which skip the coarse ones an image is too small for: said before
    /// the run otherwise).
    pub fn with_unreached_snapshots_said(mut self, on: bool) -> Self {
        self.say_unreached = on;
        self
    }

    pub fn with_plot(mut self, path: Option<&Path>, title: String) -> Self {
        self.plot = path.map(|p| (p.to_path_buf(), title));
        self
    }

    /// Ends the bar and moves the loss log into place and draws the plot.
    /// Call it after the painting is written: a side output that fails
    /// costs only itself.
    ///
    /// Every side output is tried, whatever failed before.
    ///
    /// # Errors
    /// The first side output that could not be written, during the run
    /// (the log then stopped, a snapshot was skipped) or now; later ones
    /// are warned about.
    pub fn finish(self) -> Result<(), Error> {
        if let Some(bar) = &self.bar {
            // A stopped run's bar stays where it stood, not at 100% (also
            // one stopped while a later scale set up, which reported no
            // iteration).
            if self.interrupt.as_ref().is_some_and(Interrupt::requested) {
                bar.abandon();
            } else {
                bar.finish();
            }
        }
        if self.snapshots_missed > 1 {
            note!(
                "warning: {} snapshots in all were not written",
                self.snapshots_missed
            );
        }
        let mut first = self.error;
        let mut failed = |e: Error| match &first {
            None => first = Some(e),
            Some(_) => note!("warning: {e}"),
        };
        if let Some(log) = self.log {
            if let Err(e) = log.finish() {
                failed(e);
            }
        }
        if let Some((path, title)) = &self.plot {
            if let Err(e) = write_plot(path, &self.history, title) {
                failed(Error::ImageEncode {
                    path: path.clone(),
                    source: Box::new(e),
                });
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// For a stopped run whose image so far goes beside an earlier run's
    /// painting: the loss log and the plot whose files hold something
    /// (that run's) go beside them too, where `beside` says, and are not
    /// written over; the places they go, for the message.
    pub fn beside_earlier(&mut self, mut beside: impl FnMut(&Path) -> PathBuf) -> Vec<PathBuf> {
        // A file written through a rename (not a device, a pipe or a
        // descriptor's file: `--loss-log /dev/stdout > costs.csv` was said
        // to go to `/dev/stdout-stopped`).
        let earlier = |p: &Path| {
            matches!(stylize::OutputFile::target_of(p), Ok(Some(_)))
                && !stylize::OutputFile::is_own_standard_stream(p)
                && p.metadata().is_ok_and(|m| m.is_file())
        };
        let mut moved = Vec::new();
        if let Some(LossLog::File {
            path, beside: to, ..
        }) = &mut self.log
        {
            if earlier(path) {
                let at = beside(path);
                moved.push(at.clone());
                *to = Some(at);
            }
        }
        if let Some((path, _)) = &mut self.plot {
            if earlier(path) {
                *path = beside(path);
                moved.push(path.clone());
            }
        }
        moved
    }

    /// Ends a run stopped before its first iteration: the bar stays where
    /// it stood, and the loss log's temporary file goes (nothing was
    /// logged); no plot.
    pub fn abandon(self) {
        if let Some(bar) = &self.bar {
            bar.abandon();
        }
    }

    /// Says `msg` above the bar when one is drawn, else on standard error.
    fn warn(&self, msg: String) {
        match &self.bar {
            Some(bar) => bar.println(crate::console::printable(&msg)),
            None => note!("{msg}"),
        }
    }

    /// The run's work (pixels times iterations, summed over the scales).
    fn work_total(&self) -> u64 {
        self.work.iter().sum::<u64>() * self.iterations_per_scale as u64
    }

    /// The work done once iteration `it` ends: coarse scales' iterations
    /// count less than fine ones', so a time left computed from it holds
    /// across scales.
    fn work_done(&self, it: &Iteration<'_>) -> u64 {
        let per = self.iterations_per_scale.max(1);
        let scale_index = it.scale.saturating_sub(1);
        let done_before: u64 = self.work.iter().take(scale_index).sum::<u64>() * per as u64;
        let in_scale = it.iteration.saturating_sub(scale_index * per) as u64;
        let here = self.work.get(scale_index).copied().unwrap_or(1);
        done_before + in_scale * here
    }

    fn record(&mut self, it: &Iteration<'_>) {
        if self.plot.is_some() {
            self.history.push(Point {
                iteration: it.iteration,
                content: it.content,
                style: it.style,
                total: it.total,
            });
        }
        if let Some(log) = &mut self.log {
            let line = format!(
                "{},{:e},{:e},{:e},{:.6},{}",
                it.iteration,
                it.content,
                it.style,
                it.total,
                it.elapsed.as_secs_f64(),
                it.evaluations
            );
            // Standard output may be the bar's terminal too: the bar is
            // lifted for the line, not left drawn above it (a file needs
            // no lifting, which redraws the bar each time).
            let written = match (&self.bar, &log) {
                (Some(bar), LossLog::Stdout) => bar.suspend(|| log.line(format_args!("{line}"))),
                _ => log.line(format_args!("{line}")),
            };
            if let Err(e) = written {
                // A log that cannot be written stops; the painting goes on.
                // Standard output or a pipe whose reader has gone.
                let reader_left = matches!(&e, Error::Io { error, .. }
                        if error.kind() == std::io::ErrorKind::BrokenPipe);
                self.log = None;
                if reader_left {
                    // `--loss-log - | head`: the reader has what it wanted.
                    self.warn(format!(
                        "note: the loss log's reader closed it; the log stops at iteration {}",
                        it.iteration
                    ));
                } else {
                    self.warn(format!(
                        "warning: the loss log stops at iteration {}: {e}; the run goes on",
                        it.iteration
                    ));
                    self.error.get_or_insert(e);
                }
            }
        }
        if let Some((every, output)) = &self.save_every {
            if it.iteration.is_multiple_of(*every) {
                let path = snapshot_path(output, it.iteration);
                if let Err(e) = it.image().and_then(|image| {
                    save_image_with(&flattened_for(&path, image), &path, &self.save_options)
                }) {
                    let mut why = e.to_string();
                    let mut cause = std::error::Error::source(&e);
                    while let Some(c) = cause {
                        why = format!("{why}: {c}");
                        cause = c.source();
                    }
                    if self.snapshots_missed == 0 {
                        self.warn(format!(
                            "warning: snapshot {} not written: {why}; the run goes on (later \
                             snapshots that fail are counted at the end)",
                            path.display()
                        ));
                    }
                    self.snapshots_missed += 1;
                    self.error.get_or_insert(e);
                }
            }
        }
    }
}

/// Where `--loss-log` goes.
enum LossLog {
    /// A temporary file beside the final path, moved there at the end,
    /// so that a failed run leaves no half log (or a device or a pipe,
    /// written into as the run goes: [`stylize::OutputFile`]).
    File {
        out: stylize::OutputFile,
        path: PathBuf,
        /// Where it goes instead, as a new file (see
        /// [`CliObserver::beside_earlier`]).
        beside: Option<PathBuf>,
    },
    /// `-`: standard output, a line as each iteration ends (the image
    /// goes to its file, messages to standard error).
    Stdout,
}

impl LossLog {
    const HEADER: &'static str = "iteration,content,style,total,seconds,evaluations";

    fn create(path: &Path) -> Result<Self, Error> {
        let mut log = if path.as_os_str() == "-" {
            LossLog::Stdout
        } else {
            let out = stylize::OutputFile::create(path, ".stylize-log-")
                .map_err(|e| Error::io(path, e))?;
            LossLog::File {
                out,
                path: path.to_path_buf(),
                beside: None,
            }
        };
        log.line(format_args!("{}", Self::HEADER))?;
        Ok(log)
    }

    fn line(&mut self, line: std::fmt::Arguments<'_>) -> Result<(), Error> {
        match self {
            LossLog::File { out, path, .. } => {
                writeln!(out.file(), "{line}").map_err(|e| Error::io(path.as_path(), e))
            }
            LossLog::Stdout => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}")
                    .and_then(|()| out.flush())
                    .map_err(|e| Error::io("standard output", e))
            }
        }
    }

    fn finish(self) -> Result<(), Error> {
        match self {
            LossLog::File {
                out,
                beside: Some(at),
                ..
            } => out.commit_new_at(&at).map_err(|e| Error::io(&at, e)),
            LossLog::File { out, path, .. } => out.commit().map_err(|e| Error::io(&path, e)),
            LossLog::Stdout => Ok(()),
        }
    }
}

/// The plain lines' state.
#[derive(Default)]
struct PlainLines {
    /// When the last line was written.
    last: Option<std::time::Instant>,
}

/// A bar over `length` steps drawn with `bar_template`; where the length
/// is not known (a clip from a pipe), a spinner drawn with
/// `spinner_template`: no bar to fill and no time left. Drawn on
/// `console`.
pub(crate) fn bar_or_spinner(
    console: &Console,
    length: Option<u64>,
    bar_template: &str,
    spinner_template: &str,
) -> ProgressBar {
    let (bar, template) = match length {
        Some(n) => (ProgressBar::new(n), bar_template),
        None => (ProgressBar::new_spinner(), spinner_template),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    console.draw(bar)
}

/// Seconds left for the work from `done` to `total`, at the pace of the
/// `done - from` units that took `seconds`.
pub(crate) fn time_left(total: u64, done: u64, from: u64, seconds: f64) -> f64 {
    let rate = done.saturating_sub(from) as f64 / seconds.max(1e-9);
    total.saturating_sub(done) as f64 / rate.max(1e-9)
}

/// Like [`human_duration`], with tenths under ten seconds.
fn human_duration_fine(seconds: f64) -> String {
    if seconds < 9.95 {
        format!("{seconds:.1} s")
    } else {
        human_duration(seconds)
    }
}

/// How often a run without a terminal says its progress.
pub(crate) const PLAIN_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Seconds as `1 h 02 min`, `3 min 05 s` or `42 s`.
pub(crate) fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s:02} s"),
        (h, m, _) => format!("{h} h {m:02} min"),
    }
}

/// `image` flattened onto white when `path` is a JPEG, which cannot keep
/// its transparency ([`stylize_frames::flatten_onto`], as the library's
/// save does): the run said so once before it began, and the library's
/// warning on each save would repeat it for every snapshot.
pub(crate) fn flattened_for(path: &Path, image: DynamicImage) -> DynamicImage {
    let jpeg = stylize::output_format(path).ok() == Some(image::ImageFormat::Jpeg);
    if jpeg && image.color().has_alpha() {
        DynamicImage::ImageRgb8(stylize_frames::flatten_onto(image, [255; 3]))
    } else {
        image
    }
}

/// `out/result.png`, 120 -> `out/result.0120.png`.
pub(crate) fn snapshot_path(output: &Path, iteration: usize) -> PathBuf {
    // As bytes, not text: a name that is not UTF-8 keeps its bytes (before:
    // `out\xe9.png`'s snapshots were `out\u{fffd}.0001.png`).
    let mut name = output.file_stem().unwrap_or_default().to_os_string();
    name.push(format!(".{iteration:04}."));
    name.push(output.extension().unwrap_or_default());
    output.with_file_name(name)
}

impl Observer for CliObserver {
    fn started(&mut self, info: &RunInfo) {
        self.work = info
            .scales
            .iter()
            .map(|&(w, h)| u64::from(w) * u64::from(h))
            .collect();
        self.iterations_per_scale = info.iterations / info.scales.len().max(1);
        if let Some((every, _)) = self.save_every.as_ref().filter(|_| self.say_unreached) {
            if *every > info.iterations {
                note!(
                    "warning: this run ignores --save-every {every} (the run has {} iterations, \
                     so no snapshot is saved)",
                    info.iterations
                );
            }
        }
        if !self.show {
            return;
        }
        let total = self.work_total();
        let bar = self.console.draw(ProgressBar::new(total.max(1)));
        // The time left is the pace since the first iteration (see
        // `pace_from`), in the message: indicatif's own counts the set-up.
        let style = ProgressStyle::with_template("{bar:30.cyan/blue} {percent:>3}% | {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message("setting up (the painting's and the photo's features)");
        let styles: Vec<String> = info
            .style_sizes
            .iter()
            .map(|(w, h)| format!("{w}x{h}"))
            .collect();
        let scales: Vec<String> = info
            .scales
            .iter()
            .map(|(w, h)| format!("{w}x{h}"))
            .collect();
        bar.println(format!(
            "working at {} (style {}), output {}x{}",
            scales.join(" -> "),
            styles.join(", "),
            info.output_size.0,
            info.output_size.1
        ));
        self.bar = Some(bar);
    }

    fn iteration(&mut self, it: &Iteration<'_>) -> ControlFlow<()> {
        let done = self.work_done(it);
        let total = self.work_total();
        let pace_from = *self
            .pace_from
            .get_or_insert((it.elapsed, it.iteration, done));
        // Iterations a second and seconds left, from the second iteration.
        let pace = match pace_from {
            (at, iteration, work) if it.iteration > iteration => {
                let since = it.elapsed.saturating_sub(at).as_secs_f64();
                let rate = (it.iteration - iteration) as f64 / since.max(1e-9);
                Some((rate, time_left(total, done, work, since)))
            }
            _ => None,
        };
        if let Some(bar) = &self.bar {
            let scale = if it.scales > 1 {
                format!("scale {}/{} ", it.scale, it.scales)
            } else {
                String::new()
            };
            let left = pace.map_or_else(|| "–".to_string(), |(_, left)| human_duration(left));
            bar.set_position(done);
            bar.set_message(format!(
                "{scale}it {}/{} | total {:.3e} content {:.3e} style {:.3e} | ETA {left}",
                it.iteration, it.iterations, it.total, it.content, it.style
            ));
        }
        if let Some(plain) = &mut self.plain {
            let now = std::time::Instant::now();
            if plain
                .last
                .is_none_or(|t| now.duration_since(t) >= PLAIN_EVERY)
            {
                plain.last = Some(now);
                let pace = match pace {
                    Some((rate, left)) => {
                        format!("{rate:.2} it/s | about {} left", human_duration(left))
                    }
                    _ => format!(
                        "the first took {} with the set-up",
                        human_duration_fine(it.elapsed.as_secs_f64())
                    ),
                };
                note!(
                    "it {}/{} | total {:.3e} content {:.3e} style {:.3e} | {pace}",
                    it.iteration,
                    it.iterations,
                    it.total,
                    it.content,
                    it.style,
                );
            }
        }
        self.record(it);
        if self.interrupt.as_ref().is_some_and(Interrupt::requested) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Ctrl-C during the set-up stops it there (seconds at a large size).
    fn stop_signal(&self) -> Option<stylize::StopSignal> {
        self.interrupt.as_ref().map(Interrupt::stop_signal)
    }
}

/// A byte-counting bar for the first download of the default weights,
/// which Ctrl-C stops.
pub struct DownloadBar {
    show: bool,
    console: Console,
    bar: Option<ProgressBar>,
    interrupt: Interrupt,
}

impl DownloadBar {
    /// A bar for the download, drawn on `console` when `show`.
    pub fn new(show: bool, console: &Console, interrupt: &Interrupt) -> Self {
        DownloadBar {
            show,
            console: console.clone(),
            bar: None,
            interrupt: interrupt.clone(),
        }
    }
}

impl DownloadProgress for DownloadBar {
    fn start(&mut self, url: &str, total: Option<u64>) {
        note!("downloading {url}");
        if !self.show {
            return;
        }
        let bar = self.console.draw(match total {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::no_length(),
        });
        let style = ProgressStyle::with_template(
            "{bar:30.cyan/blue} {bytes}/{total_bytes} | {bytes_per_sec} | ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        self.bar = Some(bar);
    }

    fn advance(&mut self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn stop(&mut self) -> bool {
        self.interrupt.requested()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_is_paced_from_the_first_iteration() {
        // 100 units done in 10 s: 400 left at 10 a second.
        assert_eq!(time_left(500, 100, 0, 10.0), 40.0);
        // 20 units done by the end of the first iteration, 100 more in
        // the 10 s since: 380 left at 10 a second.
        assert_eq!(time_left(500, 120, 20, 10.0), 38.0);
        assert_eq!(time_left(500, 500, 20, 10.0), 0.0);
        // No progress measured yet: a long time, not a division by zero.
        assert!(time_left(500, 20, 20, 0.0) > 1e9);
        assert_eq!(human_duration_fine(1.04), "1.0 s");
        assert_eq!(human_duration_fine(75.0), "1 min 15 s");
    }

    #[test]
    fn snapshot_names() {
        assert_eq!(
            snapshot_path(Path::new("out/result.png"), 120),
            PathBuf::from("out/result.0120.png")
        );
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let name = |b: &[u8]| PathBuf::from(std::ffi::OsStr::from_bytes(b));
            assert_eq!(
                snapshot_path(&name(b"out\xe9.png"), 1),
                name(b"out\xe9.0001.png")
            );
        }
    }
}
