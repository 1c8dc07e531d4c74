//! One job: what was uploaded, its settings, its progress and what it
//! produced; and the view of it the page reads.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use image::DynamicImage;
use serde::Serialize;
use stylize::StyleConfig;

pub(crate) use crate::job_kind::JobKind;
use crate::settings::Settings;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

/// The weighted costs of one iteration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Costs {
    pub(crate) total: f64,
    pub(crate) content: f64,
    pub(crate) style: f64,
    pub(crate) tv: f64,
}

/// One row of the costs CSV.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CostRow {
    pub(crate) iteration: usize,
    pub(crate) scale: usize,
    pub(crate) costs: Costs,
    pub(crate) elapsed_s: f64,
}

/// Where a job's style image can be read again (for "run again").
#[derive(Debug, Clone)]
pub(crate) enum StyleSource {
    /// Uploaded: the stored file and its media type.
    File(PathBuf, &'static str),
    /// A bundled painting.
    Builtin(&'static crate::assets::BuiltinStyle),
}

/// A style as the page sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StyleView {
    pub(crate) name: String,
    /// The bundled style's name, or `None` for an upload.
    pub(crate) builtin: Option<&'static str>,
    /// Where its bytes are.
    pub(crate) url: String,
}

/// A job's paint mask as uploaded (`stylize image --mask`).
#[derive(Debug, Clone)]
pub(crate) struct MaskSource {
    /// The name the browser gave.
    pub(crate) name: String,
    /// The stored file and its media type.
    pub(crate) file: PathBuf,
    pub(crate) media_type: &'static str,
}

/// The mask as the page sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MaskView {
    pub(crate) name: String,
    /// Where its bytes are.
    pub(crate) url: String,
}

/// What a job paints: the decoded photo, or the stored clip (read frame
/// by frame when it runs).
#[derive(Debug)]
pub(crate) enum Painting {
    Image(DynamicImage),
    /// `frames`: how many are painted, where the clip's header says (at
    /// most the server's limit); `None` where it does not, cut at the limit.
    Video {
        file: PathBuf,
        frames: Option<usize>,
    },
}

/// The decoded inputs, held until the job runs.
#[derive(Debug)]
pub(crate) struct Inputs {
    pub(crate) painting: Painting,
    pub(crate) styles: Vec<DynamicImage>,
    /// Where the result keeps the photo (or each of a clip's frames).
    pub(crate) mask: Option<stylize::PaintMask>,
}

impl Inputs {
    /// The bytes its decoded images hold.
    pub(crate) fn bytes(&self) -> u64 {
        let photo = match &self.painting {
            Painting::Image(img) => img.as_bytes().len(),
            Painting::Video { .. } => 0,
        };
        // A byte a pixel.
        let mask = self.mask.as_ref().map_or(0, |m| {
            let (w, h) = m.dimensions();
            u64::from(w) * u64::from(h)
        });
        self.styles.iter().fold(photo as u64 + mask, |sum, s| {
            sum + s.as_bytes().len() as u64
        })
    }
}

/// A job as the server keeps it.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) id: u64,
    pub(crate) kind: JobKind,
    pub(crate) state: JobState,
    pub(crate) settings: Settings,
    pub(crate) config: StyleConfig,
    pub(crate) content_name: String,
    pub(crate) style_names: Vec<String>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) estimate_bytes: u64,
    /// The folder of its files (uploads, result), inside the server's.
    pub(crate) dir: PathBuf,
    /// The uploaded photo as sent, and its media type.
    pub(crate) content_file: PathBuf,
    pub(crate) content_type: &'static str,
    /// The styles, in the order of `style_names`.
    pub(crate) style_sources: Vec<StyleSource>,
    pub(crate) mask: Option<MaskSource>,
    /// Taken by the worker when the job starts.
    pub(crate) inputs: Option<Inputs>,
    /// Set to stop the run after its current iteration.
    pub(crate) cancel: Arc<AtomicBool>,
    pub(crate) iteration: usize,
    pub(crate) iterations: usize,
    pub(crate) rows: Vec<CostRow>,
    pub(crate) its_per_s: Option<f64>,
    pub(crate) eta_s: Option<f64>,
    pub(crate) elapsed_s: f64,
    pub(crate) preview: Option<Arc<Vec<u8>>>,
    pub(crate) preview_seq: u64,
    /// A video job's finished frames, and how many it has.
    pub(crate) frames_done: usize,
    pub(crate) frames: Option<usize>,
    /// A clip's frame rate, for the result.
    pub(crate) fps: Option<(u32, u32)>,
    pub(crate) result_file: Option<PathBuf>,
    /// Where the result was also written
    /// ([`ServeConfig::output_dir`](crate::ServeConfig::output_dir)).
    pub(crate) kept_file: Option<PathBuf>,
    pub(crate) error: Option<String>,
    /// What decoding its uploads warned about (a JPEG cut short), in the
    /// user's words.
    pub(crate) warnings: Vec<String>,
    /// The end of its command line: the threads and files the server
    /// paints with ([`Settings::server_flags`]).
    pub(crate) server_flags: String,
}

/// What the page sees of a job (`JOB` in API.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct JobView {
    pub(crate) id: u64,
    pub(crate) kind: JobKind,
    pub(crate) state: JobState,
    pub(crate) settings: Settings,
    pub(crate) content_name: String,
    pub(crate) style_names: Vec<String>,
    pub(crate) styles: Vec<StyleView>,
    /// The paint mask, or `None` (the whole picture painted).
    pub(crate) mask: Option<MaskView>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) iteration: usize,
    pub(crate) iterations: usize,
    pub(crate) costs: Option<Costs>,
    pub(crate) its_per_s: Option<f64>,
    pub(crate) eta_s: Option<f64>,
    pub(crate) elapsed_s: f64,
    pub(crate) queue_position: Option<usize>,
    pub(crate) preview_seq: u64,
    pub(crate) frames_done: usize,
    pub(crate) frames: Option<usize>,
    pub(crate) has_result: bool,
    /// The file name the result was also written under in the server's
    /// output folder (the folder itself is not shown: the page may be
    /// served to other machines).
    pub(crate) kept_as: Option<String>,
    /// The name the result downloads under, `--output-dir`'s for it
    /// ([`Job::result_name`]).
    pub(crate) result_name: String,
    pub(crate) error: Option<String>,
    pub(crate) warnings: Vec<String>,
    pub(crate) estimate_bytes: u64,
    pub(crate) command: String,
}

impl Job {
    /// `message` (a failed run's) with the server's private paths of the
    /// job's files replaced by the names the user gave them: the uploaded
    /// file by its name, the job's folder by nothing.
    pub(crate) fn in_users_words(&self, message: &str) -> String {
        let folder = format!("{}{}", self.dir.display(), std::path::MAIN_SEPARATOR);
        message
            .replace(
                &self.content_file.display().to_string(),
                &format!("`{}`", self.content_name),
            )
            .replace(&folder, "")
    }

    /// The page's view, given the job's place in the queue (1 = next).
    pub(crate) fn view(&self, queue_position: Option<usize>) -> JobView {
        JobView {
            id: self.id,
            kind: self.kind,
            state: self.state,
            settings: self.settings.clone(),
            content_name: self.content_name.clone(),
            style_names: self.style_names.clone(),
            styles: self
                .style_names
                .iter()
                .zip(&self.style_sources)
                .enumerate()
                .map(|(k, (name, source))| StyleView {
                    name: name.clone(),
                    builtin: match source {
                        StyleSource::Builtin(b) => Some(b.name),
                        StyleSource::File(..) => None,
                    },
                    url: format!("/api/jobs/{}/styles/{k}", self.id),
                })
                .collect(),
            mask: self.mask.as_ref().map(|m| MaskView {
                name: m.name.clone(),
                url: format!("/api/jobs/{}/mask", self.id),
            }),
            width: self.width,
            height: self.height,
            iteration: self.iteration,
            iterations: self.iterations,
            costs: self.rows.last().map(|r| r.costs),
            its_per_s: self.its_per_s,
            eta_s: self.eta_s,
            elapsed_s: self.elapsed_s,
            queue_position,
            preview_seq: self.preview_seq,
            frames_done: self.frames_done,
            frames: self.frames,
            has_result: self.result_file.is_some(),
            kept_as: self
                .kept_file
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
            result_name: self.result_name(),
            error: self.error.clone(),
            warnings: self.warnings.clone(),
            estimate_bytes: self.estimate_bytes,
            command: self.settings.command(
                self.kind,
                &self.content_name,
                &self
                    .style_names
                    .iter()
                    .zip(&self.style_sources)
                    .map(|(name, source)| match source {
                        // The command line takes a bundled painting's name.
                        StyleSource::Builtin(b) => b.name.to_string(),
                        StyleSource::File(..) => name.clone(),
                    })
                    .collect::<Vec<_>>(),
                self.mask.as_ref().map(|m| m.name.as_str()),
            ) + &self.server_flags,
        }
    }

    /// Its photo's name and its paintings' (a bundled one's by its name),
    /// with the network's built-in style mix as `builtin 3_0,5` (no `.`,
    /// which would read as an extension) and `sheet` for a contact sheet:
    /// what its result is named after.
    pub(crate) fn names(&self) -> (String, Vec<String>) {
        let mut styles = self.style_names.clone();
        if let Some(mix) = &self.settings.network_style {
            styles.push(format!("builtin {}", mix.replace('.', "_")));
        }
        if self.settings.sheet {
            styles.push("sheet".into());
        }
        (self.content_name.clone(), styles)
    }

    /// The file name of the result: the photo's and the paintings' names
    /// ([`crate::kept_result::kept_name`]), as the output folder keeps it
    /// (which numbers it where the name is taken), the page downloads it
    /// and the results ZIP holds it.
    pub(crate) fn result_name(&self) -> String {
        let (photo, paintings) = self.names();
        let stopped = self.state == JobState::Cancelled;
        crate::kept_result::kept_name(&photo, &paintings, stopped, self.result_type().1)
    }

    /// The result's media type and file extension.
    pub(crate) fn result_type(&self) -> (&'static str, &'static str) {
        match self.kind {
            JobKind::Image => ("image/png", "png"),
            JobKind::Video => ("image/gif", "gif"),
        }
    }

    /// The costs CSV: a header and one row per iteration so far.
    pub(crate) fn costs_csv(&self) -> String {
        let mut out = String::from("iteration,scale,total,content,style,tv,elapsed_s\n");
        for r in &self.rows {
            let c = r.costs;
            out.push_str(&format!(
                "{},{},{:e},{:e},{:e},{:e},{:.3}\n",
                r.iteration, r.scale, c.total, c.content, c.style, c.tv, r.elapsed_s
            ));
        }
        out
    }
}
