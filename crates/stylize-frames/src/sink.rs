//! Picking a frame sink for an output path.

use std::path::{Path, PathBuf};

use crate::apng_sink::ApngSink;
use crate::error::{FramesError, Result};
use crate::ffmpeg_sink::{FfmpegSink, VideoContainer};
use crate::folder_sink::FolderSink;
use crate::frame::Frame;
use crate::frame_sink::{FrameSink, SinkOptions};
use crate::gif_sink::GifSink;
use crate::timing::Timing;
use crate::webp_sink::WebpSink;
use crate::y4m_sink::Y4mSink;

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

/// Whether [`create_sink`] makes `output` a video with a sound track
/// (`.mp4`, `.webm`, `.mov`, `.mkv`), the outputs that copy
/// [`SinkOptions::audio_from`]. `false` for an unsupported output too.
pub fn takes_audio(output: &Path) -> bool {
    matches!(output_kind(output), Ok(OutputKind::Video(_)))
}

/// Whether [`create_sink`] makes `output` a folder of frames (a folder
/// that is there, a name without extension, or one ending in `/` that is
/// not named like a clip: `out.mp4/` is refused), which has no timing.
pub fn writes_frame_folder(output: &Path) -> bool {
    matches!(output_kind(output), Ok(OutputKind::Folder))
}

/// Whether [`create_sink`] makes `output` an animation (`.gif`, `.apng`,
/// `.png`, `.webp`), the outputs that keep [`SinkOptions::frame_times`].
/// `false` for an unsupported output too.
pub fn takes_frame_times(output: &Path) -> bool {
    matches!(
        output_kind(output),
        Ok(OutputKind::Gif | OutputKind::Png { .. } | OutputKind::Webp)
    )
}

fn output_kind(output: &Path) -> Result<OutputKind> {
    let text = output.as_os_str().to_string_lossy();
    let slash = text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR);
    if output.is_dir() {
        return Ok(OutputKind::Folder);
    }
    let Some(ext) = output.extension() else {
        // `.gif` alone: a clip's extension with no name before it, not a
        // hidden folder of frames (before: written as one).
        let bare = output
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase());
        if let Some(ext) = bare.as_deref().and_then(|n| n.strip_prefix('.')) {
            if file_kind(output, ext).is_ok() {
                return Err(FramesError::OnlyAnExtension {
                    path: output.to_path_buf(),
                    ext: ext.to_string(),
                });
            }
        }
        return Ok(OutputKind::Folder);
    };
    let ext = ext.to_string_lossy().to_ascii_lowercase();
    if slash {
        // `out.mp4/`: a folder of frames named like a clip is more likely
        // a slip than a wish; a folder already there is taken as asked.
        return match file_kind(output, &ext) {
            Ok(_) => Err(FramesError::FolderNamedLikeAFile {
                path: output.to_path_buf(),
                ext,
            }),
            Err(_) => Ok(OutputKind::Folder),
        };
    }
    file_kind(output, &ext)
}

/// The file an `output` with the extension `ext` (lower case) is written as.
fn file_kind(output: &Path, ext: &str) -> Result<OutputKind> {
    Ok(match ext {
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
///
/// # Errors
///
/// [`FramesError::UnsupportedOutput`] for an unknown extension;
/// [`FramesError::FolderNamedLikeAFile`] for a trailing `/` after one of
/// those extensions (`out.mp4/`) where no such folder is there;
/// [`FramesError::InvalidParameter`] for a frame rate that is not positive;
/// [`FramesError::OutputFolderNotEmpty`] for a frame folder that has files;
/// [`FramesError::Io`] when the output's folder cannot be written;
/// [`FramesError::FfmpegMissing`] for a video output without ffmpeg.
pub fn create_sink(output: &Path, options: &SinkOptions) -> Result<Box<dyn FrameSink>> {
    let kind = output_kind(output)?;
    let fps = options.frame_rate()?;
    let timing = || Timing::new(fps, options.frame_times.as_deref());
    let inner: Box<dyn FrameSink> = match kind {
        OutputKind::Folder => Box::new(FolderSink::new(output, options.replace_frames)?),
        OutputKind::Gif => Box::new(GifSink::new(
            output,
            timing(),
            options.loop_forever,
            options.gif_dither,
            options.stop.clone(),
        )?),
        OutputKind::Png { always_animated } => Box::new(ApngSink::new(
            output,
            timing(),
            options.loop_forever,
            always_animated,
            options.stop.clone(),
        )?),
        OutputKind::Webp => Box::new(WebpSink::new(output, timing(), options.loop_forever)?),
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

/// Whether `output` can hold frames of `width` x `height`: said before
/// any frame is painted, not when the first is written.
///
/// # Errors
/// [`FramesError::TooLarge`] past a GIF's 65535 or a WebP's 16384 pixels
/// a side, [`FramesError::NoPixelsLeft`] for a video (mp4, webm, mov,
/// mkv) one pixel high or wide, and [`create_sink`]'s errors about the
/// output's name.
pub fn check_frame_size(output: &Path, width: u32, height: u32) -> Result<()> {
    let too_large = |max: u32| {
        if width > max || height > max {
            Err(FramesError::TooLarge {
                path: output.to_path_buf(),
                width,
                height,
                max,
            })
        } else {
            Ok(())
        }
    };
    match output_kind(output)? {
        OutputKind::Gif => too_large(crate::gif_sink::MAX_SIDE),
        OutputKind::Webp => too_large(crate::webp_sink::MAX_SIDE),
        OutputKind::Video(_) if width < 2 || height < 2 => Err(FramesError::NoPixelsLeft {
            path: output.to_path_buf(),
            width,
            height,
        }),
        _ => Ok(()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_video_containers_take_audio() {
        for (output, expected) in [
            ("out.mp4", true),
            ("out.WEBM", true),
            ("out.mov", true),
            ("out.mkv", true),
            ("out.gif", false),
            ("out.apng", false),
            ("out.y4m", false),
            ("frames/", false),
            ("out.xyz", false),
        ] {
            assert_eq!(takes_audio(Path::new(output)), expected, "{output}");
        }
    }
}
