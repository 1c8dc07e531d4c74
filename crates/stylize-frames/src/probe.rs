//! What ffmpeg says about an input (`ffmpeg -i`, no output): its
//! duration, its sound, and its video streams, of which the clip is read.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::error::{FramesError, Result};
use crate::ffmpeg::{file_arg, FfmpegChild, STDERR_TAIL};

/// The most of ffmpeg's description of an input read (a few KB for a
/// film with chapters and tags).
const PROBE_TEXT: usize = 1 << 20;

/// What ffmpeg says about an input's streams.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Probe {
    /// The container's duration, when it has one.
    pub duration: Option<Duration>,
    /// The codec of the first audio stream (`aac`, `opus`, `pcm_s16le`,
    /// ...), `None` without audio.
    pub audio_codec: Option<String>,
    /// How many audio streams it has (a film's languages, a commentary).
    pub audio_streams: usize,
    /// The video streams, in the file's order (cover pictures included).
    pub video: Vec<VideoStream>,
}

/// What ffmpeg says about one video stream of an input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VideoStream {
    /// Its index in the input (`N` of ffmpeg's `#0:N`, for `-map 0:N`).
    pub index: u32,
    /// Coded width and height in pixels, when stated.
    pub size: Option<(u32, u32)>,
    /// Its average frame rate (ffmpeg's `fps`), when stated: below or
    /// above the rate it is read at for a clip whose rate changes.
    pub average_fps: Option<f64>,
    /// Marked as the default stream.
    pub default: bool,
    /// A still picture attached to the file (an album's or a film's
    /// cover), not a clip.
    pub cover: bool,
    /// Its pixels have an alpha channel (`yuva420p`, `rgba`, `argb`, ...,
    /// or a VP8/VP9 stream marked `alpha_mode: 1`), which ffmpeg's
    /// decoding to Y4M leaves out.
    pub alpha: bool,
}

impl Probe {
    /// Whether the input has an audio stream.
    pub fn has_audio(&self) -> bool {
        self.audio_codec.is_some()
    }

    /// The video stream a clip is read from: of the streams that are not
    /// cover pictures, the default one where only some are marked so
    /// (ffmpeg's own choice prefers it too), else the largest, else the
    /// first. `None` when there is none (an audio file, perhaps with a
    /// cover).
    pub fn clip_stream(&self) -> Option<&VideoStream> {
        let clips: Vec<&VideoStream> = self.video.iter().filter(|v| !v.cover).collect();
        let defaults = clips.iter().filter(|v| v.default).count();
        if defaults > 0 && defaults < clips.len() {
            return clips.into_iter().find(|v| v.default);
        }
        let area = |v: &VideoStream| v.size.map_or(0, |(w, h)| u64::from(w) * u64::from(h));
        // The first of the largest: `max_by_key` keeps the last.
        clips.into_iter().rev().max_by_key(|v| area(v))
    }
}

/// How many packets (for a video stream: frames, more where an MP4's edit
/// list trims some) stream `index` of the file `input` holds, and the time
/// ffmpeg reached with them (about the last frame's start, less a B-frame
/// delay), from ffmpeg copying the stream to nothing: the file is read,
/// nothing decoded (0.06 s for 10 s of video, 0.11 s for 464 MB cached).
/// `None` where ffmpeg fails or does not say.
pub(crate) fn count_packets(input: &Path, ffmpeg: &Path, index: u32) -> Option<(u64, Duration)> {
    let args: Vec<OsString> = vec![
        "-hide_banner".into(),
        "-nostdin".into(),
        "-v".into(),
        "error".into(),
        "-stats".into(),
        "-i".into(),
        file_arg(input),
        "-map".into(),
        format!("0:{index}").into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "null".into(),
        "-".into(),
    ];
    let mut child =
        FfmpegChild::spawn_keeping(ffmpeg, &args, (Stdio::null(), Stdio::null()), input, 4096)
            .ok()?;
    last_frame_count(&child.wait().ok()?)
}

/// The `frame=  N` and `time=HH:MM:SS.ss` of the last of ffmpeg's
/// progress lines (separated by `\r`).
fn last_frame_count(stats: &str) -> Option<(u64, Duration)> {
    let line = stats
        .rsplit(['\r', '\n'])
        .find(|line| line.trim_start().starts_with("frame="))?;
    let value = |key: &str| {
        let at = line.find(key)? + key.len();
        line[at..].split_whitespace().next()
    };
    let frames = value("frame=")?.parse().ok()?;
    let mut parts = value("time=")?.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    let seconds =
        h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?;
    Some((frames, Duration::try_from_secs_f64(seconds).ok()?))
}

/// Asks `ffmpeg -i input` about `input`'s duration and audio.
///
/// # Errors
///
/// [`FramesError::FfmpegMissing`] when `ffmpeg` cannot be started;
/// [`FramesError::FfmpegFailed`] when it fails without describing the
/// input (a file it cannot open or does not recognise).
pub fn probe(input: &Path, ffmpeg: &Path) -> Result<Probe> {
    let args: Vec<OsString> = vec![
        "-hide_banner".into(),
        "-nostdin".into(),
        "-i".into(),
        file_arg(input),
    ];
    // The whole description: a film's streams, chapters and tags run
    // past an error message's tail.
    let mut child = FfmpegChild::spawn_keeping(
        ffmpeg,
        &args,
        (Stdio::null(), Stdio::null()),
        input,
        PROBE_TEXT,
    )?;
    // Without an output ffmpeg always exits 1; what it printed is the probe.
    let text = match child.wait() {
        Ok(text) => text,
        Err(FramesError::FfmpegFailed {
            stderr,
            status,
            path,
        }) => {
            if !stderr.contains("Input #0") {
                // Its error, as any ffmpeg error is said: the tail.
                let mut start = stderr.len().saturating_sub(STDERR_TAIL);
                while !stderr.is_char_boundary(start) {
                    start += 1;
                }
                return Err(FramesError::FfmpegFailed {
                    path,
                    status,
                    stderr: stderr[start..].to_string(),
                });
            }
            stderr
        }
        Err(e) => return Err(e),
    };
    Ok(parse_probe(&text))
}

/// Whether a pixel format (as ffmpeg names it) has an alpha channel.
fn has_alpha(pix_fmt: &str) -> bool {
    const ALPHA: [&str; 8] = [
        "yuva", "rgba", "bgra", "argb", "abgr", "gbrap", "ya8", "ya16",
    ];
    ALPHA.iter().any(|a| pix_fmt.starts_with(a))
}

/// A video stream from ffmpeg's line for it: `#0:N[0x1](und): Video:
/// h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 96x64 [SAR 1:1
/// DAR 3:2], 30 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)` after
/// `Stream `. `None` for another kind of stream.
fn parse_video_stream(line: &str) -> Option<VideoStream> {
    let (head, rest) = line.split_once(": Video: ")?;
    let digits: String = head
        .strip_prefix("#0:")?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let mut stream = VideoStream {
        index: digits.parse().ok()?,
        default: rest.contains("(default)"),
        cover: rest.contains("(attached pic)"),
        ..VideoStream::default()
    };
    // Comma-separated parts (the pixel format's own parenthesised list
    // splits too, harmlessly): the codec, the pixel format, the size, ...
    let parts: Vec<&str> = rest.split(',').map(str::trim).collect();
    stream.alpha = parts.get(1).is_some_and(|p| has_alpha(p));
    for part in &parts {
        let token = part.split_whitespace().next().unwrap_or("");
        if let Some((w, h)) = token.split_once('x') {
            // `0x31637661` is a codec tag, not a size.
            if let (Ok(w @ 1..), Ok(h @ 1..)) = (w.parse::<u32>(), h.parse::<u32>()) {
                stream.size = stream.size.or(Some((w, h)));
            }
        }
        if let Some(fps) = part.strip_suffix(" fps") {
            stream.average_fps = fps.parse().ok().filter(|f: &f64| f.is_finite() && *f > 0.0);
        }
    }
    Some(stream)
}

/// Reads `Duration: HH:MM:SS.ss`, the first `Stream #...: Audio: codec`
/// and each video stream from ffmpeg's description of an input.
fn parse_probe(text: &str) -> Probe {
    let mut probe = Probe::default();
    // The stream whose metadata lines follow, when a video stream.
    let mut in_video = false;
    // A stream in several programs (MPEG-TS) is described in each.
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        let line = line.trim();
        let stream = line.strip_prefix("Stream ");
        let id = stream.and_then(|s| s.split([':', '[', '(']).nth(1));
        if id.is_some_and(|id| !seen.insert(id.to_string())) {
            in_video = false;
            continue;
        }
        if let Some(stream) = stream {
            in_video = false;
            if let Some(video) = parse_video_stream(stream) {
                probe.video.push(video);
                in_video = true;
            }
        }
        // VP8/VP9 keep alpha in a side stream, said in their metadata.
        if in_video && line.starts_with("alpha_mode") && line.ends_with(": 1") {
            if let Some(v) = probe.video.last_mut() {
                v.alpha = true;
            }
        }
        if let Some(rest) = line.strip_prefix("Duration: ") {
            let hms = rest.split(',').next().unwrap_or("");
            let parts: Vec<f64> = hms
                .split(':')
                .filter_map(|p| p.trim().parse().ok())
                .collect();
            if let [h, m, s] = parts[..] {
                let secs = h * 3600.0 + m * 60.0 + s;
                // A duration past `Duration`'s range is no duration.
                if let Ok(duration) = Duration::try_from_secs_f64(secs) {
                    probe.duration = Some(duration);
                }
            }
        }
        if line.starts_with("Stream #") {
            if let Some((_, rest)) = line.split_once(": Audio: ") {
                probe.audio_streams += 1;
                if probe.audio_codec.is_none() {
                    let codec = rest.split([' ', ',']).next().unwrap_or("").to_string();
                    probe.audio_codec = Some(codec);
                }
            }
        }
    }
    probe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_progress_line_gives_the_count() {
        let stats = "frame=    5 fps=0.0 q=-1.0 size=N/A time=00:00:00.40\r\
                     frame=   20 fps=0.0 q=-1.0 Lsize=N/A time=00:00:01.70 speed=1e4x    \n";
        assert_eq!(
            last_frame_count(stats),
            Some((20, Duration::from_millis(1700)))
        );
        assert_eq!(last_frame_count("no stats"), None);
    }

    /// Video streams as ffmpeg 5.1 describes them, and the one a clip is
    /// read from: not a cover; the default where only some are marked;
    /// else the largest, else the first.
    #[test]
    fn finds_each_video_stream_and_the_clips() {
        let text = "\
  Duration: 00:00:02.00, start: 0.000000, bitrate: 40 kb/s
  Stream #0:0: Video: mjpeg (Baseline), yuvj444p(pc, bt470bg/unknown/unknown, progressive), 200x200 [SAR 1:1 DAR 1:1], 25 fps, 25 tbr, 1k tbn
  Stream #0:1[0x2](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 96x64 [SAR 1:1 DAR 3:2], 21 kb/s, 40.98 fps, 120 tbr, 19200 tbn (default)
  Stream #0:2: Audio: aac (LC), 44100 Hz, mono, fltp (default)
  Stream #0:3: Video: vp9 (Profile 0), yuv420p(tv, progressive), 128x96, SAR 1:1 DAR 4:3, 10 fps, 10 tbr, 1k tbn
    Metadata:
      alpha_mode      : 1
  Stream #0:4[0x0]: Video: mjpeg (Baseline), yuvj444p(pc), 300x300 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)
  Stream #0:5: Video: qtrle (rle  / 0x20656C72), argb(progressive), 64x48, 10 fps (default)";
        let p = parse_probe(text);
        let got: Vec<_> = p
            .video
            .iter()
            .map(|v| (v.index, v.size, v.default, v.cover, v.alpha))
            .collect();
        assert_eq!(
            got,
            [
                (0, Some((200, 200)), false, false, false),
                (1, Some((96, 64)), true, false, false),
                (3, Some((128, 96)), false, false, true),
                (4, Some((300, 300)), false, true, false),
                (5, Some((64, 48)), true, false, true),
            ]
        );
        assert_eq!(p.video[1].average_fps, Some(40.98));
        assert_eq!(
            (p.audio_codec.as_deref(), p.audio_streams),
            (Some("aac"), 1)
        );
        assert_eq!(p.video[4].average_fps, None);
        // Two of four clips marked default: the first of them.
        assert_eq!(p.clip_stream().map(|v| v.index), Some(1));
        // None marked: the largest clip (the 300x300 cover is not one).
        let mut none = p.clone();
        none.video.iter_mut().for_each(|v| v.default = false);
        assert_eq!(none.clip_stream().map(|v| v.index), Some(0));
        // All marked: the largest too; the first of equals.
        let mut all = p.clone();
        all.video.iter_mut().for_each(|v| v.default = true);
        all.video[3].size = Some((200, 200));
        assert_eq!(all.clip_stream().map(|v| v.index), Some(0));
        // A song with its album's cover: no clip.
        let song = parse_probe(
            "  Stream #0:0: Audio: mp3, 44100 Hz, mono, fltp, 64 kb/s\n  \
             Stream #0:1: Video: mjpeg (Baseline), yuvj444p(pc), 200x200, 90k tbr, 90k tbn (attached pic)",
        );
        assert_eq!(song.video.len(), 1);
        assert!(song.clip_stream().is_none());
        // MPEG-TS describes a stream in each program it is in: once here.
        let ts = parse_probe(
            "  Program 1\n    Stream #0:0[0x100]: Video: h264 (High), yuv420p, 128x96, 25 fps\n    \
             Stream #0:1[0x101](und): Audio: aac (LC), 44100 Hz, mono\n  Program 2\n    \
             Stream #0:0[0x100]: Video: h264 (High), yuv420p, 128x96, 25 fps\n    \
             Stream #0:1[0x101](und): Audio: aac (LC), 44100 Hz, mono",
        );
        assert_eq!((ts.video.len(), ts.audio_streams), (1, 1));
    }

    #[test]
    fn parses_ffmpeg_input_description() {
        let text = "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 't.mp4':\n  Duration: 00:01:02.50, start: 0.000000, bitrate: 84 kb/s\n  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 64x48, 30 fps\n  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 70 kb/s (default)\nAt least one output file must be specified";
        let p = parse_probe(text);
        assert_eq!(p.duration, Some(Duration::from_millis(62_500)));
        assert_eq!(p.audio_codec.as_deref(), Some("aac"));
        let p = parse_probe("  Duration: N/A, bitrate: N/A\n    Stream #0:0: Video: rawvideo");
        let rawvideo = VideoStream {
            index: 0,
            ..VideoStream::default()
        };
        assert_eq!(
            p,
            Probe {
                video: vec![rawvideo],
                ..Probe::default()
            }
        );
        // Out of `Duration`'s range, or negative: no duration, no panic.
        for hours in ["1e300", "-1", "inf"] {
            let p = parse_probe(&format!("  Duration: {hours}:00:00.00, start: 0"));
            assert_eq!(p.duration, None, "{hours}");
        }
    }
}
