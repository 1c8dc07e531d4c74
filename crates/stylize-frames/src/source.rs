//! Picking a frame source for an input path.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::animation_source::open_image;
use crate::error::{FramesError, Result};
use crate::ffmpeg_source::FfmpegSource;
use crate::folder_source::FolderSource;
use crate::frame_source::{FrameSource, SourceOptions};
use crate::y4m::{Y4mReader, Y4mSource};

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
///
/// Every kind of input is held to [`SourceOptions::max_frame_pixels`],
/// checked against its header before a frame is read.
///
/// # Errors
///
/// [`FramesError::FrameTooLarge`] over that limit; otherwise the source's
/// own errors: an unreadable file or folder, an empty folder, frames of
/// different sizes, a bad Y4M header, an image that does not decode, or
/// ffmpeg missing or failing to probe the input.
pub fn open_source(input: &Path, options: &SourceOptions) -> Result<Box<dyn FrameSource>> {
    let source = open_unchecked(input, options)?;
    let info = source.info();
    check_frame_size(input, (info.width, info.height), options.max_frame_pixels)?;
    Ok(source)
}

/// [`FramesError::FrameTooLarge`] when a `width` x `height` frame of
/// `path` has more than `max` pixels.
pub(crate) fn check_frame_size(path: &Path, (width, height): (u32, u32), max: u64) -> Result<()> {
    if u64::from(width) * u64::from(height) > max {
        return Err(FramesError::FrameTooLarge {
            path: path.to_path_buf(),
            width,
            height,
            max,
        });
    }
    Ok(())
}

/// [`open_source`] before its size check.
fn open_unchecked(input: &Path, options: &SourceOptions) -> Result<Box<dyn FrameSource>> {
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
