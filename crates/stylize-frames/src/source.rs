//! Frame sources, and picking one for an input path.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::animation_source::open_image;
use crate::error::{FramesError, Result};
use crate::ffmpeg_source::FfmpegSource;
use crate::folder_source::FolderSource;
use crate::frame::{Frame, VideoInfo};
use crate::y4m::{Y4mReader, Y4mSource};

/// Frames of a video, one after another.
pub trait FrameSource {
    /// Size, frame rate and (when known) frame count.
    fn info(&self) -> &VideoInfo;

    /// The next frame, or `None` after the last one.
    fn next_frame(&mut self) -> Result<Option<Frame>>;

    /// The number of frames, for progress: [`VideoInfo::frames`] when
    /// known, else an estimate where the source has one (ffmpeg inputs:
    /// duration times frame rate), else `None`.
    fn total_frames(&self) -> Option<u64> {
        self.info().frames
    }
}

/// How [`open_source`] reads inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOptions {
    /// The ffmpeg executable used for inputs that are not frame folders,
    /// images, GIF/APNG/WebP animations or Y4M. Default `ffmpeg` (looked
    /// up on `PATH`); [`ffmpeg_from_env`](crate::ffmpeg_from_env) reads
    /// `STYLIZE_FFMPEG`.
    pub ffmpeg: PathBuf,
    /// The colour transparent pixels are flattened onto. Default white.
    pub background: [u8; 3],
    /// The most pixels a frame of a GIF, APNG, WebP or still image may have,
    /// checked against its header before anything is decoded: a file of a
    /// few bytes can claim 65535x65535. Default [`MAX_FRAME_PIXELS`]
    /// (8192x8192).
    pub max_frame_pixels: u64,
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
        }
    }
}

/// Opens `input` as a video, choosing by what it is:
///
/// - `-`: Y4M on standard input;
/// - a folder: its image files (`.png`, `.jpg`, `.jpeg`, `.webp`, `.bmp`,
///   `.gif`; other files are skipped) in natural order (`frame2.png`
///   before `frame10.png`), all of one size; no frame rate;
/// - by content: Y4M; GIF, PNG/APNG or WebP (animated or not: a still image
///   is a one-frame video; frame rate from the first frame's delay);
///   JPEG or BMP (one frame);
/// - anything else (mp4, mov, mkv, webm, avi, ...): decoded by ffmpeg
///   ([`SourceOptions::ffmpeg`]) into Y4M, converted to full-range BT.601
///   by ffmpeg (from the matrix the video is tagged with), 4:4:4.
pub fn open_source(input: &Path, options: &SourceOptions) -> Result<Box<dyn FrameSource>> {
    if input.as_os_str() == "-" {
        let stdin = std::io::stdin().lock();
        let reader = Y4mReader::new(BufReader::new(stdin), input, None)?;
        return Ok(Box::new(Y4mSource::new(reader)));
    }
    let meta = std::fs::metadata(input).map_err(FramesError::io("reading", input))?;
    if meta.is_dir() {
        return Ok(Box::new(FolderSource::open(input, options)?));
    }
    let mut magic = [0u8; 16];
    let n = read_prefix(input, &mut magic)?;
    let magic = &magic[..n];
    if magic.starts_with(b"YUV4MPEG2") {
        let file = File::open(input).map_err(FramesError::io("reading", input))?;
        let reader = Y4mReader::new(BufReader::new(file), input, Some(meta.len()))?;
        return Ok(Box::new(Y4mSource::new(reader)));
    }
    if let Ok(format) = image::guess_format(magic) {
        use image::ImageFormat as F;
        if matches!(format, F::Gif | F::Png | F::WebP | F::Jpeg | F::Bmp) {
            return open_image(input, format, options);
        }
    }
    Ok(Box::new(FfmpegSource::open(input, &options.ffmpeg)?))
}

/// Reads up to `buf.len()` bytes from the start of `path`.
fn read_prefix(path: &Path, buf: &mut [u8]) -> Result<usize> {
    let mut file = File::open(path).map_err(FramesError::io("reading", path))?;
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FramesError::io("reading", path)(e)),
        }
    }
    Ok(n)
}
