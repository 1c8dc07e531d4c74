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
///   `.gif`, `.tif`, `.tiff`; other files are skipped) in natural order (`frame2.png`
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
        return y4m_source(std::io::stdin().lock(), input, None, options);
    }
    let meta = std::fs::metadata(input).map_err(FramesError::io("reading", input))?;
    if meta.is_dir() {
        return Ok(Box::new(FolderSource::open(input, options)?));
    }
    // A pipe or a device can be read once: a Y4M stream is read as it
    // comes, as standard input is; anything else is refused before ffmpeg
    // would open it a second time and wait.
    if !meta.is_file() {
        let mut file = File::open(input).map_err(FramesError::io("reading", input))?;
        // Its first bytes, however the writer cut them, then the rest.
        let mut head = Vec::new();
        (&mut file)
            .take(crate::y4m::MAGIC.len() as u64)
            .read_to_end(&mut head)
            .map_err(FramesError::io("reading", input))?;
        if head.is_empty() {
            return Err(FramesError::EmptyStream {
                path: input.to_path_buf(),
            });
        }
        if head != crate::y4m::MAGIC {
            return Err(FramesError::NotAFile {
                path: input.to_path_buf(),
            });
        }
        return y4m_source(std::io::Cursor::new(head).chain(file), input, None, options);
    }
    // Said plainly, not as a decoder's "unexpected end of file" or
    // ffmpeg's complaint about a header.
    if meta.len() == 0 {
        return Err(FramesError::EmptyFile {
            path: input.to_path_buf(),
        });
    }
    match own_format(input)? {
        Some(OwnFormat::Y4m) => {
            let file = File::open(input).map_err(FramesError::io("reading", input))?;
            y4m_source(file, input, Some(meta.len()), options)
        }
        Some(OwnFormat::Image(format)) => open_image(input, format, options),
        None => Ok(Box::new(FfmpegSource::open(input, options)?)),
    }
}

/// The Y4M stream `read` gives (from `input`, of `len` bytes where known).
fn y4m_source(
    read: impl Read + 'static,
    input: &Path,
    len: Option<u64>,
    options: &SourceOptions,
) -> Result<Box<dyn FrameSource>> {
    let reader = Y4mReader::new(
        BufReader::new(read),
        input,
        len,
        options.on_warning.clone(),
        options.tell_streams,
    )?;
    Ok(Box::new(Y4mSource::new(reader)))
}

/// A file kind `stylize-frames` decodes itself.
enum OwnFormat {
    Y4m,
    Image(image::ImageFormat),
}

/// What the first bytes of the file `input` say it is, when it is a kind
/// read here rather than through ffmpeg.
fn own_format(input: &Path) -> Result<Option<OwnFormat>> {
    let mut magic = [0u8; 16];
    let n = read_prefix(input, &mut magic)?;
    let magic = &magic[..n];
    if magic.starts_with(crate::y4m::MAGIC) {
        return Ok(Some(OwnFormat::Y4m));
    }
    use image::ImageFormat as F;
    Ok(match image::guess_format(magic) {
        Ok(format @ (F::Gif | F::Png | F::WebP | F::Jpeg | F::Bmp)) => {
            Some(OwnFormat::Image(format))
        }
        _ => None,
    })
}

/// Whether [`open_source`] reads `input` through ffmpeg: a file that is
/// not Y4M or an image `stylize-frames` decodes itself, so a container
/// that may carry sound. `false` for standard input (`-`), folders and
/// files that cannot be read.
pub fn reads_through_ffmpeg(input: &Path) -> bool {
    input.as_os_str() != "-" && input.is_file() && matches!(own_format(input), Ok(None))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_containers_are_read_through_ffmpeg() {
        let d = tempfile::tempdir().unwrap();
        let y4m = d.path().join("a.y4m");
        std::fs::write(&y4m, b"YUV4MPEG2 W2 H2 F25:1 C444\nFRAME\n000000000000").unwrap();
        let gif = d.path().join("a.gif");
        std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap();
        // An MP4's first box, as far as the guess goes.
        let mp4 = d.path().join("a.mp4");
        std::fs::write(&mp4, b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2").unwrap();
        assert!(!reads_through_ffmpeg(&y4m));
        assert!(!reads_through_ffmpeg(&gif));
        assert!(!reads_through_ffmpeg(d.path()));
        assert!(!reads_through_ffmpeg(Path::new("-")));
        assert!(!reads_through_ffmpeg(&d.path().join("missing.mp4")));
        assert!(reads_through_ffmpeg(&mp4));
    }
}
