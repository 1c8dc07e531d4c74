//! Videos encoded by ffmpeg from Y4M on its standard input.

use std::ffi::OsString;
use std::io::BufWriter;
use std::path::Path;
use std::process::{ChildStdin, Stdio};

use crate::error::{FramesError, Result};
use crate::ffmpeg::FfmpegChild;
use crate::frame::{Fps, Frame};
use crate::frame_sink::{FrameSink, SinkOptions};
use crate::probe::probe;
use crate::staging::StagedFile;
use crate::y4m::{Y4mChroma, Y4mWriter};
use crate::yuv::YuvRange;

/// `list` as owned arguments.
fn os(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

/// Video containers written through ffmpeg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VideoContainer {
    Mp4,
    Mov,
    Mkv,
    Webm,
}

impl VideoContainer {
    fn extension(self) -> &'static str {
        match self {
            VideoContainer::Mp4 => ".mp4",
            VideoContainer::Mov => ".mov",
            VideoContainer::Mkv => ".mkv",
            VideoContainer::Webm => ".webm",
        }
    }

    fn muxer(self) -> &'static str {
        match self {
            VideoContainer::Mp4 => "mp4",
            VideoContainer::Mov => "mov",
            VideoContainer::Mkv => "matroska",
            VideoContainer::Webm => "webm",
        }
    }

    /// ffmpeg arguments for the audio of a stream coded with `codec`:
    /// copied when the container takes it, else re-encoded.
    fn audio_args(self, codec: &str) -> &'static [&'static str] {
        let copy = match self {
            VideoContainer::Mkv => true,
            VideoContainer::Mp4 | VideoContainer::Mov => {
                matches!(codec, "aac" | "mp3" | "ac3" | "eac3" | "alac")
            }
            VideoContainer::Webm => matches!(codec, "opus" | "vorbis"),
        };
        match (copy, self) {
            (true, _) => &["-c:a", "copy"],
            (false, VideoContainer::Webm) => &["-c:a", "libopus", "-b:a", "128k"],
            (false, _) => &["-c:a", "aac", "-b:a", "192k"],
        }
    }
}

/// Pipes limited-range BT.601 4:4:4 Y4M into ffmpeg, which writes a staged
/// file renamed onto the output by `finish`.
pub(crate) struct FfmpegSink {
    // Dropped before the child: closing the pipe lets ffmpeg exit.
    writer: Option<Y4mWriter<BufWriter<ChildStdin>>>,
    stdin: Option<ChildStdin>,
    child: FfmpegChild,
    staged: StagedFile,
    fps: Fps,
}

impl FfmpegSink {
    pub(crate) fn new(
        output: &Path,
        container: VideoContainer,
        fps: Fps,
        options: &SinkOptions,
    ) -> Result<Self> {
        let staged = StagedFile::new(output, container.extension())?;
        let audio = match &options.audio_from {
            Some(path) if path.as_os_str() != "-" && !path.is_dir() => {
                let probed = probe(path, &options.ffmpeg)?;
                if probed.audio_streams > 1 {
                    log::warn!(
                        "{}: it has {} sound tracks; only the first goes along with the \
                         frames (to keep them all: ffmpeg -i {} -i {} -map 0:v -map 1:a -c copy \
                         all.mkv)",
                        path.display(),
                        probed.audio_streams,
                        output.display(),
                        path.display()
                    );
                }
                probed.audio_codec.map(|codec| (path.clone(), codec))
            }
            _ => None,
        };
        let mut args: Vec<OsString> = os(&[
            "-y",
            "-hide_banner",
            "-v",
            "error",
            "-f",
            "yuv4mpegpipe",
            "-i",
            "-",
        ]);
        match &audio {
            Some((path, codec)) => {
                log::info!(
                    "{}: its sound ({codec}) goes along with the frames",
                    path.display()
                );
                args.push("-i".into());
                args.push(crate::ffmpeg::file_arg(path));
                args.extend(os(&["-map", "0:v:0", "-map", "1:a:0"]));
                args.extend(os(container.audio_args(codec)));
                args.push("-shortest".into());
            }
            None => args.extend(os(&["-map", "0:v:0"])),
        }
        // 4:2:0 needs even sizes: an odd last row or column is cropped.
        args.extend(os(&[
            "-vf",
            "crop=trunc(iw/2)*2:trunc(ih/2)*2",
            "-pix_fmt",
            "yuv420p",
            "-colorspace",
            "smpte170m",
            "-color_range",
            "tv",
        ]));
        let crf_default = if container == VideoContainer::Webm {
            31
        } else {
            18
        };
        let crf = options.crf.unwrap_or(crf_default).to_string();
        match container {
            VideoContainer::Webm => {
                args.extend(os(&["-c:v", "libvpx-vp9", "-b:v", "0", "-row-mt", "1"]))
            }
            _ => args.extend(os(&["-c:v", "libx264", "-preset", "medium"])),
        }
        args.push("-crf".into());
        args.push(crf.into());
        if matches!(container, VideoContainer::Mp4 | VideoContainer::Mov) {
            args.extend(os(&["-movflags", "+faststart"]));
        }
        args.extend(os(&["-f", container.muxer()]));
        args.push(crate::ffmpeg::file_arg(staged.path()));
        let mut child = FfmpegChild::spawn(
            &options.ffmpeg,
            &args,
            Stdio::piped(),
            Stdio::null(),
            output,
        )?;
        let stdin = child.take_stdin();
        Ok(FfmpegSink {
            writer: None,
            stdin,
            child,
            staged,
            fps,
        })
    }

    /// ffmpeg's error if it has failed, else `e`.
    fn failure(&mut self, e: std::io::Error) -> FramesError {
        self.writer = None;
        self.stdin = None;
        match self.child.wait() {
            Err(failed) => failed,
            Ok(_) => FramesError::io("writing frames to ffmpeg for", self.staged.output())(e),
        }
    }
}

impl FrameSink for FfmpegSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<()> {
        if self.writer.is_none() {
            let (w, h) = frame.dimensions();
            crate::sink::check_frame_size(self.staged.output(), w, h)?;
            if w % 2 == 1 || h % 2 == 1 {
                log::warn!(
                    "{}: the frames are {w}x{h}; the video is {}x{}, since H.264 and VP9 in \
                     4:2:0 need even sizes (a folder of frames, .png, .webp or .y4m keeps \
                     every pixel)",
                    self.staged.output().display(),
                    w & !1,
                    h & !1
                );
            }
            let Some(stdin) = self.stdin.take() else {
                return Err(self.failure(std::io::ErrorKind::BrokenPipe.into()));
            };
            match Y4mWriter::new(
                BufWriter::new(stdin),
                frame.dimensions(),
                self.fps,
                Y4mChroma::C444,
                YuvRange::Limited,
            ) {
                Ok(w) => self.writer = Some(w),
                Err(e) => return Err(self.failure(e)),
            }
        }
        let result = match &mut self.writer {
            Some(w) => w.write_frame(frame),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        result.map_err(|e| self.failure(e))
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        if let Some(w) = self.writer.take() {
            if let Err(e) = w.into_inner() {
                return Err(self.failure(e));
            }
        }
        self.stdin = None;
        let said = self.child.wait()?;
        // ffmpeg (5.1 at least) exits 0 when it cannot write the file's
        // end, a full disk at `+faststart`'s rewrite or the trailer: the
        // file is then a few KiB that no player reads. Its own words for
        // that are a failure, so that nothing replaces the output and the
        // frames painted are kept for the next run.
        if let Some(line) = said.lines().find(|l| write_failed(l)) {
            return Err(FramesError::FfmpegFailed {
                path: self.staged.output().to_path_buf(),
                status: "exit status 0, but it could not write the whole file".to_string(),
                // The file it wrote is the output's staged copy: named as
                // the output.
                stderr: crate::ffmpeg::plain_words(line).replace(
                    &self.staged.path().display().to_string(),
                    &self.staged.output().display().to_string(),
                ),
            });
        }
        let this = *self;
        this.staged.commit()
    }
}

/// Whether a line of ffmpeg's errors says the output file was not
/// written whole: what it prints when a write, the trailer or the
/// closing fails (`Error writing trailer of x.mp4: No space left on
/// device`, `Error closing file x.mp4: ...`, `av_interleaved_write_frame():
/// ...`).
fn write_failed(line: &str) -> bool {
    [
        "Error writing trailer",
        "Error closing file",
        "av_interleaved_write_frame()",
        "No space left on device",
        "Disk quota exceeded",
        "File too large",
    ]
    .iter()
    .any(|words| line.contains(words))
}
