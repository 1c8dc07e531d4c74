//! A video's frames in order: the trait every input implements, and the
//! options for opening one.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::Result;
use crate::frame::{Frame, VideoInfo};
use crate::warning::WarningHook;

/// Frames of a video, one after another.
///
/// A source is not `Send` (the `image` crate's animation decoders are
/// not): to read frames on a thread of its own, open the source on that
/// thread ([`open_source`](crate::open_source) takes a path, which is
/// `Send`) and pass the frames ([`Frame`] is `Send`) through a channel.
pub trait FrameSource {
    /// Size, frame rate and (when known) frame count.
    fn info(&self) -> &VideoInfo;

    /// The next frame, or `None` after the last one.
    ///
    /// # Errors
    ///
    /// The source's failures: [`FramesError::Io`](crate::FramesError::Io)
    /// or [`FramesError::Decode`](crate::FramesError::Decode) for a file
    /// that cannot be read, [`FramesError::Y4m`](crate::FramesError::Y4m)
    /// for a truncated or malformed stream,
    /// [`FramesError::SizeMismatch`](crate::FramesError::SizeMismatch) for
    /// a frame of another size, and
    /// [`FramesError::FfmpegFailed`](crate::FramesError::FfmpegFailed) when
    /// ffmpeg stops with an error.
    fn next_frame(&mut self) -> Result<Option<Frame>>;

    /// Passes over the next frame, which the caller does not want: whether
    /// there was one. A stream decodes it to get past it (the default); a
    /// folder of frames does not read the file at all, so a damaged frame
    /// outside the frames painted does not stop the run.
    ///
    /// # Errors
    /// As [`Self::next_frame`].
    fn skip_frame(&mut self) -> Result<bool> {
        Ok(self.next_frame()?.is_some())
    }

    /// The number of frames, for progress: [`VideoInfo::frames`] when
    /// known, else an estimate where the source has one (ffmpeg inputs:
    /// duration times frame rate), else `None`.
    fn total_frames(&self) -> Option<u64> {
        self.info().frames
    }

    /// Each frame's display time, where the input is an animation whose
    /// frames are shown for really different times (a title frame held
    /// for a second, a pause before the loop starts again), which one
    /// rate does not describe: [`VideoInfo::fps`] is then its typical
    /// frame's. `None` where the rate describes every frame. Give them
    /// (sliced to the frames kept) to
    /// [`SinkOptions::frame_times`](crate::SinkOptions::frame_times) to keep
    /// the timing in an animation; a video output can only have the rate.
    fn frame_times(&self) -> Option<&[Duration]> {
        None
    }

    /// The frames not read yet, as an iterator (see [`FrameIter`]).
    fn frames(&mut self) -> FrameIter<'_>
    where
        Self: Sized,
    {
        FrameIter::new(self)
    }
}

/// What [`open_source`](crate::open_source) returns is a source too, so
/// that `source.frames()` works on it.
impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn info(&self) -> &VideoInfo {
        (**self).info()
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        (**self).next_frame()
    }

    fn skip_frame(&mut self) -> Result<bool> {
        (**self).skip_frame()
    }

    fn total_frames(&self) -> Option<u64> {
        (**self).total_frames()
    }

    fn frame_times(&self) -> Option<&[Duration]> {
        (**self).frame_times()
    }
}

/// A source's remaining frames as an iterator of results: it ends after
/// the last frame, or after the first error (a source is not read past
/// one). For `stylize::video::stylize_video`, which takes frames as
/// `stylize::Result<DynamicImage>`:
///
/// ```text
/// let mut frames = source
///     .frames()
///     .map(|f| f.map(DynamicImage::ImageRgb8).map_err(stylize::Error::from));
/// stylize_video(&stylizer, &mut frames, total, &styles, &config, &mut work, &mut observer)?;
/// ```
pub struct FrameIter<'a> {
    source: Option<&'a mut dyn FrameSource>,
}

impl<'a> FrameIter<'a> {
    /// Iterates over `source`'s frames from where it is.
    pub fn new(source: &'a mut dyn FrameSource) -> Self {
        FrameIter {
            source: Some(source),
        }
    }
}

impl Iterator for FrameIter<'_> {
    type Item = Result<Frame>;

    fn next(&mut self) -> Option<Self::Item> {
        let frame = self.source.as_mut()?.next_frame();
        if !matches!(frame, Ok(Some(_))) {
            self.source = None;
        }
        frame.transpose()
    }
}

/// How [`open_source`](crate::open_source) reads inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOptions {
    /// The ffmpeg executable used for inputs that are not frame folders,
    /// images, GIF/APNG/WebP animations or Y4M. Default `ffmpeg` (looked
    /// up on `PATH`); [`ffmpeg_from_env`](crate::ffmpeg_from_env) reads
    /// `STYLIZE_FFMPEG`.
    pub ffmpeg: PathBuf,
    /// The colour transparent pixels are flattened onto. Default white.
    pub background: [u8; 3],
    /// The most pixels a frame of any input may have (a folder's images, a
    /// GIF, APNG, WebP or still image, Y4M, a video through ffmpeg),
    /// checked against its header before anything is decoded: a file of a
    /// few bytes can claim 65535x65535. Default [`MAX_FRAME_PIXELS`]
    /// (8192x8192).
    pub max_frame_pixels: u64,
    /// Say (as log warnings) what opening an input through ffmpeg finds
    /// of its streams: which of several video streams is read, a frame
    /// rate that changes (frames repeated or left out), transparency that
    /// is not read. Default `true`; `false` for a second read of an input
    /// already opened, so that they are said once.
    pub tell_streams: bool,
    /// Where the source's warnings go besides the log (a clip cut short,
    /// a rate that changes, another stream left out, a frame's colour
    /// profile that cannot be used). Default `None`: the log only.
    pub on_warning: Option<WarningHook>,
    /// The frames the caller reads, 1-based, the last included (`None`: to
    /// the end); it passes over the others with
    /// [`FrameSource::skip_frame`]. A folder of frames reads only their
    /// headers, and takes its size from the first of them: a damaged or
    /// odd-sized frame outside them is no error. Default `(1, None)`.
    pub frames: (usize, Option<usize>),
}

/// The default [`SourceOptions::max_frame_pixels`]: 8192x8192, twice the
/// pixels of an 8K UHD frame.
pub const MAX_FRAME_PIXELS: u64 = 8192 * 8192;

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            ffmpeg: PathBuf::from(crate::ffmpeg::DEFAULT_FFMPEG),
            background: [255, 255, 255],
            max_frame_pixels: MAX_FRAME_PIXELS,
            tell_streams: true,
            on_warning: None,
            frames: (1, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FramesError;

    /// Two frames, then an error, then (if asked) a third frame.
    struct Flaky {
        info: VideoInfo,
        reads: usize,
    }

    impl FrameSource for Flaky {
        fn info(&self) -> &VideoInfo {
            &self.info
        }

        fn next_frame(&mut self) -> Result<Option<Frame>> {
            self.reads += 1;
            match self.reads {
                1 | 2 | 4 => Ok(Some(Frame::new(2, 2))),
                _ => Err(FramesError::Io {
                    action: "reading",
                    path: "clip".into(),
                    error: std::io::Error::other("cut"),
                }),
            }
        }
    }

    #[test]
    fn the_iterator_stops_after_the_first_error() {
        let mut source = Flaky {
            info: VideoInfo {
                width: 2,
                height: 2,
                fps: None,
                frames: None,
            },
            reads: 0,
        };
        let got: Vec<_> = source.frames().map(|f| f.is_ok()).collect();
        assert_eq!(got, [true, true, false]);
        assert_eq!(source.reads, 3, "read past the error");
    }

    #[test]
    fn sinks_and_frames_can_move_to_another_thread() {
        fn movable<T: Send>() {}
        movable::<Box<dyn crate::FrameSink>>();
        movable::<Frame>();
    }

    #[test]
    fn a_boxed_source_iterates_too() {
        let mut source: Box<dyn FrameSource> = Box::new(Flaky {
            info: VideoInfo {
                width: 2,
                height: 2,
                fps: None,
                frames: Some(2),
            },
            reads: 0,
        });
        assert_eq!(source.total_frames(), Some(2));
        let got: Vec<_> = source.frames().map(|f| f.is_ok()).collect();
        assert_eq!(got, [true, true, false]);
    }
}
