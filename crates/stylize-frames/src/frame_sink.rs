//! Where a video's frames go: the trait every output implements, and the
//! options for creating one.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{FramesError, Result};
use crate::frame::{checked_fps, Fps, Frame};
use crate::stop_signal::StopSignal;
use crate::y4m::Y4mChroma;
use crate::yuv::YuvRange;

/// The frame rate used when [`SinkOptions::fps`] is `None`.
pub const DEFAULT_FPS: Fps = (25, 1);

/// Where frames go, one after another.
///
/// Nothing appears at the output path before [`FrameSink::finish`]
/// returns `Ok`; a sink dropped without `finish`, or whose `finish` fails,
/// leaves nothing behind. `Send`, so that a program can write frames on
/// another thread than the one that paints them.
pub trait FrameSink: Send {
    /// Adds a frame. Every frame must have the first one's size.
    ///
    /// # Errors
    ///
    /// [`FramesError::SizeMismatch`] for a frame of another size,
    /// [`FramesError::TooLarge`] for frames the format cannot hold, and the
    /// output's own failures ([`FramesError::Io`], [`FramesError::Encode`],
    /// [`FramesError::FfmpegFailed`], [`FramesError::Stopped`]).
    fn write_frame(&mut self, frame: &Frame) -> Result<()>;

    /// Completes the output and moves it into place.
    ///
    /// # Errors
    ///
    /// [`FramesError::NoFrames`] when no frame was written; otherwise the
    /// output's failures as for [`Self::write_frame`]. Either way nothing
    /// is left at the output path.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// How [`create_sink`](crate::create_sink) writes outputs.
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
    /// A frame-folder output may replace a folder that holds only
    /// `frame_NNNNNN.png` files (an earlier output): its frames are
    /// removed once the new ones are in place. A folder with any other
    /// file is still refused. Default `false`: any non-empty folder is
    /// refused.
    pub replace_frames: bool,
    /// Each frame's display time, for animations (GIF, APNG, WebP): frame
    /// `k` is shown `frame_times[k]` (rounded to the format's unit without
    /// drift: hundredths of a second in GIFs, milliseconds in the others),
    /// frames past the list at [`SinkOptions::fps`]. Pass the source's
    /// [`FrameSource::frame_times`](crate::FrameSource::frame_times)
    /// (sliced to the frames kept) to keep an animation's own timing.
    /// Video outputs, Y4M and folders have one rate: they take `fps` only.
    /// Default `None`: every frame at `fps`.
    pub frame_times: Option<Vec<Duration>>,
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
            replace_frames: false,
            frame_times: None,
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
                    "frame rate {}/{} must be positive and at most {} fps",
                    fps.0,
                    fps.1,
                    crate::frame::MAX_FPS
                ))
            }),
        }
    }
}
