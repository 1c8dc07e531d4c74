//! What the command line shows and writes while a run goes on: the progress
//! bars, the loss log and the periodic snapshots.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use stylize::weights::download::DownloadProgress;
use stylize::{save_image, Error, Iteration, Observer, RunInfo};

/// The optimisation's observer: progress bar, `--loss-log`, `--save-every`.
pub struct CliObserver {
    bar: Option<ProgressBar>,
    show: bool,
    log: Option<(tempfile::NamedTempFile, PathBuf)>,
    save_every: Option<(usize, PathBuf)>,
    error: Option<Error>,
}

impl CliObserver {
    /// `log`: the CSV's final path (written to a temporary file beside it
    /// and moved there by [`Self::finish`]).
    pub fn new(
        show: bool,
        log: Option<&Path>,
        save_every: Option<(usize, PathBuf)>,
    ) -> Result<Self, Error> {
        let log = match log {
            Some(path) => {
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let mut tmp = tempfile::Builder::new()
                    .prefix(".stylize-log-")
                    .tempfile_in(dir)
                    .map_err(|e| Error::io(path, e))?;
                writeln!(tmp, "iteration,content,style,total,seconds")
                    .map_err(|e| Error::io(path, e))?;
                Some((tmp, path.to_path_buf()))
            }
            None => None,
        };
        Ok(CliObserver {
            bar: None,
            show,
            log,
            save_every,
            error: None,
        })
    }

    /// Ends the bar and moves the loss log into place.
    pub fn finish(self) -> Result<(), Error> {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
        if let Some(e) = self.error {
            return Err(e);
        }
        if let Some((tmp, path)) = self.log {
            tmp.as_file().sync_all().map_err(|e| Error::io(&path, e))?;
            tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        }
        Ok(())
    }

    fn record(&mut self, it: &Iteration<'_>) -> Result<(), Error> {
        if let Some((tmp, path)) = &mut self.log {
            writeln!(
                tmp.as_file_mut(),
                "{},{:e},{:e},{:e},{:.6}",
                it.iteration,
                it.content,
                it.style,
                it.total,
                it.elapsed.as_secs_f64()
            )
            .map_err(|e| Error::io(path.as_path(), e))?;
        }
        if let Some((every, output)) = &self.save_every {
            if it.iteration.is_multiple_of(*every) {
                save_image(&it.image()?, &snapshot_path(output, it.iteration))?;
            }
        }
        Ok(())
    }
}

/// `out/result.png`, 120 -> `out/result.0120.png`.
fn snapshot_path(output: &Path, iteration: usize) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = output
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!("{stem}.{iteration:04}.{ext}"))
}

impl Observer for CliObserver {
    fn started(&mut self, info: &RunInfo) {
        if !self.show {
            return;
        }
        let bar = ProgressBar::new(info.iterations as u64);
        let style = ProgressStyle::with_template(
            "{bar:30.cyan/blue} {pos}/{len} | {msg} | {per_sec} | ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.println(format!(
            "working at {}x{} (style {}x{}), output {}x{}",
            info.working_size.0,
            info.working_size.1,
            info.style_size.0,
            info.style_size.1,
            info.output_size.0,
            info.output_size.1
        ));
        self.bar = Some(bar);
    }

    fn iteration(&mut self, it: &Iteration<'_>) -> ControlFlow<()> {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "total {:.3e} content {:.3e} style {:.3e}",
                it.total, it.content, it.style
            ));
            bar.set_position(it.iteration as u64);
        }
        match self.record(it) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

/// A byte-counting bar for the first download of the default weights.
pub struct DownloadBar {
    show: bool,
    bar: Option<ProgressBar>,
}

impl DownloadBar {
    pub fn new(show: bool) -> Self {
        DownloadBar { show, bar: None }
    }
}

impl DownloadProgress for DownloadBar {
    fn start(&mut self, url: &str, total: Option<u64>) {
        eprintln!("downloading {url}");
        if !self.show {
            return;
        }
        let bar = match total {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::no_length(),
        };
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names() {
        assert_eq!(
            snapshot_path(Path::new("out/result.png"), 120),
            PathBuf::from("out/result.0120.png")
        );
    }
}
