//! Frame sinks, and picking one for an output path.

use std::path::{Path, PathBuf};

use crate::apng_sink::ApngSink;
use crate::error::{FramesError, Result};
use crate::ffmpeg_sink::{FfmpegSink, VideoContainer};
use crate::folder_sink::FolderSink;
use crate::frame::{checked_fps, Fps, Frame};
use crate::gif_sink::GifSink;
use crate::stop_signal::StopSignal;
use crate::webp_sink::WebpSink;
use crate::y4m::Y4mChroma;
use crate::y4m_sink::Y4mSink;
use crate::yuv::YuvRange;

/// The frame rate used when [`SinkOptions::fps`] is `None`.
pub const DEFAULT_FPS: Fps = (25, 1);

/// Where frames go, one after another.
///
/// Nothing appears at the output path before [`FrameSink::finish`]
/// returns `Ok`; a sink dropped without `finish`, or whose `finish` fails,
/// leaves nothing behind.
pub trait FrameSink {
    /// Adds a frame. Every frame must have the first one's size.
    fn write_frame(&mut self, frame: &Frame) -> Result<()>;

    /// Completes the output and moves it into place.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// How [`create_sink`] writes outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkOptions {
    /// Frames per second. Default `None`: [`DEFAULT_FPS`] (25). Pass the
    /// source's [`VideoInfo::fps`](crate::VideoInfo::fps).
    pub fps: Option<Fps>,
    /// A file whose audio (first audio stream) goes into video outputs
    /// (`.mp4`, `.webm`, `.mov`, `.mkv`; others have no audio), cut to the
    /// video's length. Copied when the container takes its codec, else
    /// re-encoded (AAC for mp4/mov, Opus for webm). Nothing is added when
    /// it has no audio. Default `None`.
    pub audio_from: Option<PathBuf>,
    /// Animations (GIF, APNG, WebP) loop forever; else they play once.
    /// Default `true`.
    pub loop_forever: bool,
    /// The ffmpeg executable for `.mp4`, `.webm`, `.mov`, `.mkv`. Default
    /// `ffmpeg` (on `PATH`); see [`ffmpeg_from_env`](crate::ffmpeg_from_env).
    pub ffmpeg: PathBuf,
    /// Ordered (8x8 Bayer) dithering in GIFs. Default `true`.
    pub gif_dither: bool,
    /// Chroma of `.y4m` outputs. Default [`Y4mChroma::C444`].
    pub y4m_chroma: Y4mChroma,
    /// Range of `.y4m` outputs (written as `XCOLORRANGE`). Default
    /// [`YuvRange::Limited`], what readers assume without the tag.
    pub y4m_range: YuvRange,
    /// Constant-quality setting of ffmpeg's encoder (`-crf`; lower is
    /// better). Default `None`: 18 for H.264, 31 for VP9.
    pub crf: Option<u8>,
    /// Stops a GIF's or APNG's `finish`, which encodes the whole clip,
    /// between frames ([`StopSignal`]). The other sinks write each frame
    /// as it comes and finish at once. Default `None`.
    pub stop: Option<StopSignal>,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            fps: None,
            audio_from: None,
            loop_forever: true,
            ffmpeg: PathBuf::from(crate::ffmpeg::DEFAULT_FFMPEG),
            gif_dither: true,
            y4m_chroma: Y4mChroma::C444,
            y4m_range: YuvRange::Limited,
            crf: None,
            stop: None,
        }
    }
}

impl SinkOptions {
    /// The frame rate to write: [`SinkOptions::fps`] reduced, or
    /// [`DEFAULT_FPS`].
    pub(crate) fn frame_rate(&self) -> Result<Fps> {
        match self.fps {
            None => Ok(DEFAULT_FPS),
            Some(fps) => checked_fps(fps).ok_or_else(|| {
                FramesError::InvalidParameter(format!(
                    "frame rate {}/{} must be positive",
                    fps.0, fps.1
                ))
            }),
        }
    }
}

/// What an output path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputKind {
    Folder,
    Gif,
    /// `.apng`: always animated; `.png`: animated when more than one frame.
    Png {
        always_animated: bool,
    },
    Webp,
    Y4m,
    Video(VideoContainer),
}

fn output_kind(output: &Path) -> Result<OutputKind> {
    let text = output.as_os_str().to_string_lossy();
    if text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) || output.is_dir() {
        return Ok(OutputKind::Folder);
    }
    let Some(ext) = output.extension() else {
        return Ok(OutputKind::Folder);
    };
    let ext = ext.to_string_lossy().to_ascii_lowercase();
    Ok(match ext.as_str() {
        "gif" => OutputKind::Gif,
        "apng" => OutputKind::Png {
            always_animated: true,
        },
        "png" => OutputKind::Png {
            always_animated: false,
        },
        "webp" => OutputKind::Webp,
        "y4m" => OutputKind::Y4m,
        "mp4" => OutputKind::Video(VideoContainer::Mp4),
        "mov" => OutputKind::Video(VideoContainer::Mov),
        "mkv" => OutputKind::Video(VideoContainer::Mkv),
        "webm" => OutputKind::Video(VideoContainer::Webm),
        _ => {
            return Err(FramesError::UnsupportedOutput {
                path: output.to_path_buf(),
            })
        }
    })
}

/// Opens a sink for `output`, chosen by its extension:
///
/// - no extension, a trailing `/`, or an existing folder: a folder of PNG
///   frames `frame_000001.png`, `frame_000002.png`, ... (the folder must
///   not exist, or be empty);
/// - `.gif`: one global palette for the whole clip (see [the crate
///   docs](crate#gif));
/// - `.apng`, `.png`: APNG (a `.png` of one frame is a plain PNG);
/// - `.webp`: animated lossless WebP;
/// - `.y4m`: Y4M ([`SinkOptions::y4m_chroma`], [`SinkOptions::y4m_range`]);
/// - `.mp4`, `.mov`, `.mkv` (H.264), `.webm` (VP9): encoded by ffmpeg,
///   which is started here, so a missing ffmpeg is reported before any
///   frame is made.
pub fn create_sink(output: &Path, options: &SinkOptions) -> Result<Box<dyn FrameSink>> {
    let kind = output_kind(output)?;
    let fps = options.frame_rate()?;
    let inner: Box<dyn FrameSink> = match kind {
        OutputKind::Folder => Box::new(FolderSink::new(output)?),
        OutputKind::Gif => Box::new(GifSink::new(
            output,
            fps,
            options.loop_forever,
            options.gif_dither,
            options.stop.clone(),
        )?),
        OutputKind::Png { always_animated } => Box::new(ApngSink::new(
            output,
            fps,
            options.loop_forever,
            always_animated,
            options.stop.clone(),
        )?),
        OutputKind::Webp => Box::new(WebpSink::new(output, fps, options.loop_forever)?),
        OutputKind::Y4m => Box::new(Y4mSink::new(
            output,
            fps,
            options.y4m_chroma,
            options.y4m_range,
        )?),
        OutputKind::Video(container) => Box::new(FfmpegSink::new(output, container, fps, options)?),
    };
    Ok(Box::new(CheckedSink {
        inner,
        size: None,
        output: output.to_path_buf(),
    }))
}

/// Checks that frames keep one size and that there is at least one.
struct CheckedSink {
    inner: Box<dyn FrameSink>,
    size: Option<(u32, u32)>,
    output: PathBuf,
}

impl FrameSink for CheckedSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<()> {
        let (w, h) = frame.dimensions();
        if w == 0 || h == 0 {
            return Err(FramesError::InvalidParameter(format!(
                "a {w}x{h} frame for {}",
                self.output.display()
            )));
        }
        match self.size {
            None => self.size = Some((w, h)),
            Some((width, height)) if (width, height) != (w, h) => {
                return Err(FramesError::SizeMismatch {
                    path: self.output.clone(),
                    width,
                    height,
                    found_width: w,
                    found_height: h,
                })
            }
            Some(_) => {}
        }
        self.inner.write_frame(frame)
    }

    fn finish(self: Box<Self>) -> Result<()> {
        if self.size.is_none() {
            return Err(FramesError::NoFrames { path: self.output });
        }
        self.inner.finish()
    }
}
