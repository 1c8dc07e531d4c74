//! Videos decoded by ffmpeg into Y4M.

use std::ffi::OsString;
use std::io::BufReader;
use std::path::Path;
use std::process::{ChildStdout, Stdio};
use std::time::Duration;

use crate::error::{FramesError, Result};
use crate::ffmpeg::FfmpegChild;
use crate::frame::{Frame, VideoInfo};
use crate::frame_source::{FrameSource, SourceOptions};
use crate::probe::{count_packets, probe, Probe, VideoStream};
use crate::warning::{warn, WarningHook};
use crate::y4m::Y4mReader;

/// Frames of any video ffmpeg reads: its first video stream, converted by
/// ffmpeg to full-range BT.601 4:4:4 (from the matrix the stream is
/// tagged with; untagged streams are taken as BT.601) at the stream's
/// frame rate.
pub(crate) struct FfmpegSource {
    // Dropped first: the reader's pipe closes before the child is reaped.
    reader: Y4mReader<BufReader<ChildStdout>>,
    child: FfmpegChild,
    /// The frames it is read as (its length for a progress bar).
    estimate: Option<u64>,
    /// The frames the container's duration would hold at the rate read:
    /// what a file cut short falls short of (its pictures' count, where
    /// they end before the sound, says only what is left).
    by_duration: Option<u64>,
    done: bool,
    /// The input, for the warning of a file cut short.
    path: std::path::PathBuf,
    /// Frames read so far.
    read: u64,
    /// Where its warnings go besides the log.
    hook: Option<WarningHook>,
}

impl FfmpegSource {
    pub(crate) fn open(input: &Path, options: &SourceOptions) -> Result<Self> {
        let ffmpeg = options.ffmpeg.as_path();
        // What the file holds, first (a regular file only: a pipe read
        // twice would lose what the probe read).
        let probed = if input.is_file() {
            probe(input, ffmpeg).ok()
        } else {
            None
        };
        let stream = probed
            .as_ref()
            .map(|p| {
                p.clip_stream().ok_or_else(|| FramesError::NoVideoStream {
                    path: input.to_path_buf(),
                })
            })
            .transpose()?;
        if let (Some(p), Some(stream)) = (&probed, stream) {
            if options.tell_streams {
                tell_of_stream(input, p, stream, options.on_warning.as_ref());
            }
        }
        // Without a probe, ffmpeg's first stream that is not a cover.
        let map = stream.map_or_else(|| "0:V:0".to_string(), |v| format!("0:{}", v.index));
        let args: Vec<OsString> = ["-hide_banner", "-nostdin", "-v", "error", "-i"]
            .iter()
            .map(OsString::from)
            .chain([crate::ffmpeg::file_arg(input), "-map".into(), map.into()])
            .chain(
                [
                    "-an",
                    "-sn",
                    "-dn",
                    "-vf",
                    "scale=out_color_matrix=bt601:out_range=full",
                    "-pix_fmt",
                    "yuv444p",
                    "-f",
                    "yuv4mpegpipe",
                    "-",
                ]
                .iter()
                .map(OsString::from),
            )
            .collect();
        let mut child = FfmpegChild::spawn(ffmpeg, &args, Stdio::null(), Stdio::piped(), input)?;
        let stdout = child.take_stdout().ok_or_else(|| {
            FramesError::io("reading ffmpeg's output for", input)(
                std::io::ErrorKind::BrokenPipe.into(),
            )
        })?;
        let reader = match Y4mReader::new(
            BufReader::new(stdout),
            input,
            None,
            options.on_warning.clone(),
            options.tell_streams,
        ) {
            Ok(reader) => reader,
            // ffmpeg's own error says more than an empty stream; its
            // advice on a `-map` that matches nothing is not the user's.
            Err(e) => {
                return Err(match child.wait().err().unwrap_or(e) {
                    FramesError::FfmpegFailed { stderr, .. }
                        if stderr.contains("matches no streams") =>
                    {
                        FramesError::NoVideoStream {
                            path: input.to_path_buf(),
                        }
                    }
                    e => e,
                })
            }
        };
        let rate = reader.info().fps.map(|(n, d)| f64::from(n) / f64::from(d));
        let duration = probed.as_ref().and_then(|p| p.duration);
        let frames_at = |fps: f64| {
            let frames = (duration?.as_secs_f64() * fps).round();
            // A float in u64's range rounds to an integer that fits.
            (0.0..1e15).contains(&frames).then_some(frames as u64)
        };
        let average_fps = stream.and_then(|v| v.average_fps);
        // From the container's duration: what the clip is read as, and
        // what it holds.
        let by_duration = (rate.and_then(frames_at), average_fps.and_then(frames_at));
        // With sound, that duration is the longer of the two: where the
        // pictures end well before it (half a second and 5%), the clip's
        // length is its frames, counted (the file read once more, nothing
        // decoded), read at `rate` for ones it holds at `average_fps`.
        // (Counted packets include those an MP4's edit list trims: not
        // used where the pictures run to the end.)
        let counted = match (&probed, stream, duration) {
            (Some(p), Some(v), Some(duration)) if p.audio_streams > 0 => {
                count_packets(input, ffmpeg, v.index).filter(|&(_, end)| {
                    let short = duration.saturating_sub(end);
                    short > Duration::from_millis(500) && short > duration / 20
                })
            }
            _ => None,
        };
        let (estimate, holds) = match (counted, rate, average_fps) {
            (Some((n, _)), Some(rate), Some(average)) if average > 0.0 => {
                let read = (n as f64 * rate / average).round();
                ((0.0..1e15).contains(&read).then_some(read as u64), Some(n))
            }
            (Some((n, _)), _, _) => (Some(n), None),
            (None, _, _) => by_duration,
        };
        // A clip whose rate changes is read at one constant rate, which
        // keeps its timing: ffmpeg repeats or leaves out frames for it.
        let change = match (estimate, holds) {
            (Some(read), Some(has)) if options.tell_streams => rate_change(read, has),
            _ => None,
        };
        if let (Some(note), Some(average), Some(rate)) = (change, average_fps, rate) {
            warn(
                options.on_warning.as_ref(),
                input,
                format!(
                    "its frame rate changes ({average:.2} fps on average); it is read at a \
                     constant {rate:.3} fps, which keeps its timing, so {note}"
                ),
            );
        }
        Ok(FfmpegSource {
            reader,
            child,
            estimate,
            by_duration: by_duration.0,
            done: false,
            path: input.to_path_buf(),
            read: 0,
            hook: options.on_warning.clone(),
        })
    }
}

/// What a clip read as `read` frames of the `has` it holds loses or
/// repeats, when that is more than an average's rounding (a jittery
/// phone clip's 30.5 fps on average at 30): at least 3 frames and 3%.
fn rate_change(read: u64, has: u64) -> Option<String> {
    let off = read.abs_diff(has);
    if off < 3 || off * 100 < has * 3 {
        return None;
    }
    Some(if read < has {
        format!("about {off} of its {has} frames are left out")
    } else {
        format!("about {off} of its {has} frames are painted twice")
    })
}

/// Says which video stream is painted where the input has several clips,
/// and that a stream's transparency is not read.
fn tell_of_stream(input: &Path, probe: &Probe, stream: &VideoStream, hook: Option<&WarningHook>) {
    let clips = probe.video.iter().filter(|v| !v.cover).count();
    if clips > 1 {
        let mut about: Vec<String> = stream
            .size
            .iter()
            .map(|(w, h)| format!("{w}x{h}"))
            .collect();
        if stream.default {
            about.push("the default".into());
        }
        let about = if about.is_empty() {
            String::new()
        } else {
            format!(" ({})", about.join(", "))
        };
        warn(
            hook,
            input,
            format!(
                "it has {clips} video streams; stream #0:{}{about} is painted: to paint stream \
                 #0:N instead, copy it out first: ffmpeg -i {} -map 0:N -c copy one.mkv",
                stream.index,
                input.display()
            ),
        );
    }
    if stream.alpha {
        warn(
            hook,
            input,
            "its transparency is not read through ffmpeg: transparent parts are painted as the \
             colours under them; an APNG, WebP, GIF or folder of PNG frames is flattened onto \
             white instead"
                .into(),
        );
    }
}

/// What ffmpeg's log (at `-v error`) says of an input it read to its end
/// and exited 0 on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Damage {
    /// Nothing wrong.
    None,
    /// The data ran out: an MP4 or MOV whose samples lie past the file's
    /// end (`partial file`), a Matroska or WebM file that stops inside an
    /// element (`File ended prematurely`) with frames missing, or fewer
    /// frames than its duration holds ending in data that does not
    /// decode.
    CutShort,
    /// Data that does not decode, the clip read to its length: frames
    /// may show glitches.
    Damaged,
}

/// [`Damage`] from ffmpeg's `log`, `read` frames read of an `estimate`d
/// count (its duration times its rate, when known).
fn damage(log: &str, read: u64, estimate: Option<u64>) -> Damage {
    let undecodable = log.contains("Invalid data found when processing input")
        || log.contains("Error while decoding");
    // (An estimate from the duration may be a frame or two off.)
    let short = estimate.is_some_and(|n| read + 2 < n);
    // Matroska's reader says so of a file that stops inside an element,
    // also of a whole one followed by the first bytes of another cluster
    // (a recorder stopped as it began one): believed when frames are
    // missing, or when the count is unknown.
    let matroska_cut = log.contains("File ended prematurely") && (short || estimate.is_none());
    if log.contains("partial file") || matroska_cut || (undecodable && short) {
        Damage::CutShort
    } else if undecodable {
        Damage::Damaged
    } else {
        Damage::None
    }
}

impl FrameSource for FfmpegSource {
    fn info(&self) -> &VideoInfo {
        self.reader.info()
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.done {
            return Ok(None);
        }
        match self.reader.read_frame() {
            Ok(Some(frame)) => {
                self.read += 1;
                Ok(Some(frame))
            }
            Ok(None) => {
                self.done = true;
                let said = self.child.wait()?;
                // ffmpeg reads a file cut short (or damaged) to its end
                // and exits 0, saying only in its log what was wrong.
                match damage(&said, self.read, self.by_duration) {
                    Damage::CutShort => warn(
                        self.hook.as_ref(),
                        &self.path,
                        format!(
                            "the file ends early (cut short in a copy or download?): its clip \
                             ends at the last whole frame, after {} frame(s){}",
                            self.read,
                            self.by_duration
                                .map_or(String::new(), |n| format!(" of about {n}"))
                        ),
                    ),
                    Damage::Damaged => warn(
                        self.hook.as_ref(),
                        &self.path,
                        format!(
                            "ffmpeg found data it could not decode: some of its {} frame(s) \
                             may show glitches",
                            self.read
                        ),
                    ),
                    Damage::None => {}
                }
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(self.child.wait().err().unwrap_or(e))
            }
        }
    }

    fn total_frames(&self) -> Option<u64> {
        self.info().frames.or(self.estimate)
    }
}

#[cfg(test)]
mod tests {
    use super::{damage, rate_change, Damage};

    #[test]
    fn a_changing_rate_is_told_beyond_rounding() {
        // A jittery 30 fps phone clip (30.51 on average): nothing.
        assert_eq!(rate_change(60, 61), None);
        assert_eq!(rate_change(1000, 1020), None);
        // 24 then 60 fps read at 24; 30 then 15 read at 30.
        assert_eq!(
            rate_change(48, 82).as_deref(),
            Some("about 34 of its 82 frames are left out")
        );
        assert_eq!(
            rate_change(59, 47).as_deref(),
            Some("about 12 of its 47 frames are painted twice")
        );
    }

    #[test]
    fn a_log_says_a_file_cut_short_or_damaged() {
        let partial = "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x5] stream 0, offset 0x32286: partial file\n";
        let invalid =
            "Error while decoding stream #0:0: Invalid data found when processing input\n";
        assert_eq!(damage(partial, 37, Some(120)), Damage::CutShort);
        assert_eq!(damage(partial, 37, None), Damage::CutShort);
        let matroska = "[matroska,webm @ 0x5] File ended prematurely\n";
        assert_eq!(damage(matroska, 35, None), Damage::CutShort);
        assert_eq!(damage(matroska, 35, Some(50)), Damage::CutShort);
        // A whole clip with a cluster's first bytes after it.
        assert_eq!(damage(matroska, 50, Some(50)), Damage::None);
        // Undecodable data: cut short only when frames are missing.
        assert_eq!(damage(invalid, 37, Some(120)), Damage::CutShort);
        assert_eq!(damage(invalid, 30, Some(30)), Damage::Damaged);
        assert_eq!(damage(invalid, 30, None), Damage::Damaged);
        assert_eq!(damage("", 30, Some(30)), Damage::None);
        assert_eq!(damage("", 10, Some(30)), Damage::None);
    }
}
