//! Errors by cause, each naming the file it is about.
//!
//! A variant either says its cause in its message (then it gives no
//! [`source`](std::error::Error::source)) or leaves the cause to `source`,
//! never both, so that a printer of the chain says each cause once.

use std::path::PathBuf;

/// Shorthand for results of this crate.
pub type Result<T, E = FramesError> = std::result::Result<T, E>;

/// How to get an ffmpeg executable; part of [`FramesError::FfmpegMissing`].
pub const FFMPEG_HELP: &str = "install one (Debian/Ubuntu: `apt-get install ffmpeg`; macOS: \
`brew install ffmpeg`; Windows: `winget install ffmpeg`, then open a new terminal), \
or `python3 -m pip install imageio-ffmpeg` and set STYLIZE_FFMPEG to the path printed by \
`python3 -c \"import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())\"`; \
frame folders, GIF, APNG, WebP and Y4M need no ffmpeg";

/// Why reading or writing frames failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FramesError {
    /// A file or folder could not be read, written, created or renamed.
    #[error("{action} {}: {error}", path.display())]
    Io {
        /// What was being done ("reading", "writing", "creating", ...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error (said in the message, so not
        /// also the [`source`](std::error::Error::source)).
        error: std::io::Error,
    },
    /// An image (a frame file, an animation or one of its frames) could not
    /// be decoded.
    #[error("cannot decode {}: {error}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's error (its message said in this one's).
        error: image::ImageError,
    },
    /// A floating-point image (a float TIFF) holds a value that is not a
    /// finite number, which would be read as black or white.
    #[error("cannot use {}: the pixel at ({x}, {y}) is {value}; a frame's values must be finite numbers", path.display())]
    NotFinite {
        /// The file.
        path: PathBuf,
        /// The pixel's column.
        x: u32,
        /// The pixel's row.
        y: u32,
        /// The value (NaN or an infinity).
        value: f32,
    },
    /// A GIF has an empty (zero-width or zero-height) frame, which its
    /// decoder cannot read.
    #[error("cannot decode {}: frame {frame} is empty ({width}x{height} px)", path.display())]
    EmptyGifFrame {
        /// The file.
        path: PathBuf,
        /// The frame, from 1.
        frame: u64,
        /// Its width.
        width: u16,
        /// Its height.
        height: u16,
        /// The decoder's error.
        #[source]
        source: image::ImageError,
    },
    /// An output could not be encoded.
    #[error("cannot encode {}: {error}", path.display())]
    Encode {
        /// The output.
        path: PathBuf,
        /// The encoder's error (which may hold an I/O error: a full disk;
        /// said in the message).
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An input file (or a frame in a folder) of 0 bytes.
    #[error("cannot read {}: the file is empty (0 bytes)", path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// An input that is a pipe (a FIFO, `<(...)`) through which nothing
    /// came: the program writing into it sent nothing, failing, say.
    #[error(
        "cannot read {}: nothing came through it (did the program writing into it fail?)",
        path.display()
    )]
    EmptyStream {
        /// The pipe.
        path: PathBuf,
    },
    /// An input that is a pipe or a device (a FIFO, `<(...)`, `/dev/zero`)
    /// and not a Y4M stream: ffmpeg would open it again after its first
    /// bytes were read, and wait for a writer that has gone.
    #[error(
        "{} is a pipe or a device, not a file: a video is read from a file (ffmpeg opens it \
         again), so save it to a file first; a Y4M stream may come through a pipe or on \
         standard input (`-i -`)",
        path.display()
    )]
    NotAFile {
        /// The input.
        path: PathBuf,
    },
    /// An input with no video stream (an audio file, say).
    #[error("{} has no video stream: there are no frames to read", path.display())]
    NoVideoStream {
        /// The input.
        path: PathBuf,
    },
    /// A frame folder holds no image files.
    #[error("no frames in {}: the folder holds no .png, .jpg (.jpeg, .jfif, .jpe, .jif), .webp, .bmp, .gif, .tif or .tiff files", path.display())]
    EmptyFolder {
        /// The folder.
        path: PathBuf,
    },
    /// A frame differs in size from the first one.
    #[error(
        "{} is {found_width}x{found_height}, but the first frame is {width}x{height}: all frames must have the same size",
        path.display()
    )]
    SizeMismatch {
        /// The first frame file (or output) that differs.
        path: PathBuf,
        /// Width of the first frame.
        width: u32,
        /// Height of the first frame.
        height: u32,
        /// Width of the frame that differs.
        found_width: u32,
        /// Height of the frame that differs.
        found_height: u32,
    },
    /// A Y4M stream is malformed (bad header or frame marker, truncated
    /// frame).
    #[error("invalid Y4M in {}: {reason}", path.display())]
    Y4m {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A Y4M stream uses a colourspace this crate does not read.
    #[error(
        "{}: unsupported Y4M colourspace C{colourspace} (supported: 420jpeg, 420paldv, 420mpeg2, 420, 422, 444, 444alpha, mono; 8 bits); convert it with `ffmpeg -i IN -pix_fmt yuv444p OUT.y4m`, or give the original video, which is read through ffmpeg",
        path.display()
    )]
    UnsupportedColourspace {
        /// The file.
        path: PathBuf,
        /// The `C` parameter as written, without the `C`.
        colourspace: String,
    },
    /// The ffmpeg executable could not be started.
    #[error("ffmpeg not found at `{}` (needed for {}): {FFMPEG_HELP}", ffmpeg.display(), needed_for.display())]
    FfmpegMissing {
        /// The executable that was tried.
        ffmpeg: PathBuf,
        /// The input or output that needed it.
        needed_for: PathBuf,
    },
    /// ffmpeg ran but failed.
    #[error("ffmpeg failed on {} ({status}): {stderr}", path.display())]
    FfmpegFailed {
        /// The input or output it was working on.
        path: PathBuf,
        /// Its exit status, as text.
        status: String,
        /// The end of what it wrote to standard error.
        stderr: String,
    },
    /// The output's extension names no supported format.
    #[error(
        "unsupported output {}: use a folder (no extension, or a trailing `/`) for PNG frames, or one of .gif, .apng, .png, .webp, .y4m, .mp4, .webm, .mov, .mkv",
        path.display()
    )]
    UnsupportedOutput {
        /// The output path.
        path: PathBuf,
    },
    /// A frame folder (a trailing `/`) named like one of the files a
    /// sink writes (`out.mp4/`), which is not there.
    #[error(
        "output {} ends in `/`, which names a folder of PNG frames, but is named like a .{ext} \
         file: drop the `/` to write the .{ext}, or name the folder without .{ext}",
        path.display()
    )]
    FolderNamedLikeAFile {
        /// The output path.
        path: PathBuf,
        /// Its extension, in lower case.
        ext: String,
    },
    /// The output folder exists and is not empty.
    #[error(
        "output folder {} already exists and {}",
        path.display(),
        if *only_frames {
            "holds an earlier run's frames: remove it, choose another, or let them be \
             replaced (SinkOptions::replace_frames)"
        } else {
            "is not empty: remove it or choose another"
        }
    )]
    OutputFolderNotEmpty {
        /// The folder.
        path: PathBuf,
        /// Whether it holds frames only (`frame_NNNNNN.png`), which
        /// [`SinkOptions::replace_frames`](crate::SinkOptions::replace_frames)
        /// lets a new clip replace.
        only_frames: bool,
    },
    /// The output would be written inside the input folder.
    #[error("output {} is inside the input folder {}: choose an output elsewhere", output.display(), input.display())]
    OutputInsideInput {
        /// The input folder.
        input: PathBuf,
        /// The output.
        output: PathBuf,
    },
    /// The output's name is only a clip's extension (`.gif`), which would
    /// otherwise be a hidden folder of frames.
    #[error("{}: the name is only an extension; name the file before it, such as out.{ext}", path.display())]
    OnlyAnExtension {
        /// The output.
        path: PathBuf,
        /// The extension, lower case.
        ext: String,
    },
    /// The output cannot hold frames this large (GIF: 65535 pixels a side;
    /// WebP: 16384).
    #[error("{}: {width}x{height} frames are too large for this format (at most {max} pixels a side)", path.display())]
    TooLarge {
        /// The output.
        path: PathBuf,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// The format's limit.
        max: u32,
    },
    /// Frames one pixel high or wide leave no video: H.264 and VP9 in
    /// 4:2:0 need even sizes, so an odd last row or column is cropped.
    #[error("{}: {width}x{height} frames leave a {}x{} video, since H.264 and VP9 in 4:2:0 need even sizes; write a folder of frames, .png, .webp or .y4m instead", path.display(), width & !1, height & !1)]
    NoPixelsLeft {
        /// The output.
        path: PathBuf,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
    },
    /// An input's frames are larger than [`SourceOptions::max_frame_pixels`]
    /// (read from its header, before any frame is decoded).
    ///
    /// [`SourceOptions::max_frame_pixels`]: crate::SourceOptions::max_frame_pixels
    #[error("{}: its frames are {width}x{height} px, more than the {max} pixels a frame this reader takes; scale the clip down", path.display())]
    FrameTooLarge {
        /// The input.
        path: PathBuf,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// The limit, pixels a frame.
        max: u64,
    },
    /// `finish` was called on a sink that received no frame.
    #[error("no frames were written to {}", path.display())]
    NoFrames {
        /// The output.
        path: PathBuf,
    },
    /// A [`StopSignal`](crate::StopSignal) stopped a sink's `finish`;
    /// nothing was written.
    #[error("writing {} was stopped; nothing was written", path.display())]
    Stopped {
        /// The output.
        path: PathBuf,
    },
    /// A parameter is out of range (for example a frame rate of 0).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
}

impl FramesError {
    /// An [`FramesError::Io`] error.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |error| FramesError::Io {
            action,
            path,
            error,
        }
    }

    /// An [`FramesError::Decode`] error.
    pub(crate) fn decode(path: impl Into<PathBuf>) -> impl FnOnce(image::ImageError) -> Self {
        let path = path.into();
        move |error| FramesError::Decode { path, error }
    }

    /// An [`FramesError::Encode`] error.
    pub(crate) fn encode<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(E) -> Self {
        let path = path.into();
        move |e| FramesError::Encode {
            path,
            error: e.into(),
        }
    }

    /// An [`FramesError::Y4m`] error.
    pub(crate) fn y4m(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        FramesError::Y4m {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FramesError;

    /// The file's, the decoder's and the encoder's errors are said in the
    /// message, once: not also given as the source (which a printer of the
    /// chain would say again).
    #[test]
    fn no_cause_is_said_twice_in_a_chain() {
        let dir = tempfile::tempdir().unwrap();
        let io = FramesError::io("reading", dir.path().join("clip.y4m"))(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        ));
        assert!(io.to_string().ends_with("clip.y4m: no such file"), "{io}");
        assert!(std::error::Error::source(&io).is_none());
        // A GIF cut short: the decoder's error has causes of its own.
        let cut = dir.path().join("cut.gif");
        std::fs::write(&cut, b"GIF89a\x02\x00\x02\x00\x80\x00\x00").unwrap();
        let decode = match crate::open_source(&cut, &crate::SourceOptions::default()) {
            Err(e) => e,
            Ok(mut source) => source.next_frame().expect_err("a cut GIF was read"),
        };
        assert!(decode.to_string().contains("cut.gif"), "{decode}");
        // Said whole, with the decoder's own causes, in one message.
        assert!(std::error::Error::source(&decode).is_none(), "{decode}");
        let encode = FramesError::encode::<&str>("out.webp")("the encoder failed");
        assert_eq!(
            encode.to_string(),
            "cannot encode out.webp: the encoder failed"
        );
        assert!(std::error::Error::source(&encode).is_none());
    }
}
