//! YUV4MPEG2 (Y4M): header, reader and writer.
//!
//! A stream is a header line `YUV4MPEG2 W<w> H<h> F<n>:<d> I<i> A<n>:<d>
//! C<colourspace> X<ext>...` then, per frame, a line starting `FRAME` and
//! the planes (Y', then Cb and Cr, 8 bits per sample).
//!
//! Read: `C420jpeg`, `C420paldv`, `C420mpeg2`, `C420` (4:2:0), `C422`,
//! `C444`, `C444alpha` (alpha ignored) and `Cmono`; 8 bits only. No `C`
//! means `C420jpeg`, as the format says. Values are BT.601, limited range
//! unless the header says `XCOLORRANGE=FULL` (ffmpeg writes this
//! extension). Interlacing (`I`) and pixel aspect (`A`) are ignored.
//! See [`YuvRange`] for the conversion and chroma upsampling.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{FramesError, Result};
use crate::frame::{checked_fps, Fps, Frame, VideoInfo};
use crate::frame_source::FrameSource;
use crate::warning::{warn, WarningHook};
use crate::yuv::{planes_to_rgb, rgb_to_planes, Planes, YuvRange};

/// The longest header or `FRAME` line read before giving up.
const MAX_LINE: u64 = 4096;
/// The largest frame accepted (bytes of one frame's planes).
const MAX_FRAME_BYTES: usize = 1 << 31;

/// Chroma layout of the Y4M written by [`crate::create_sink`] for `.y4m`
/// and for ffmpeg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Y4mChroma {
    /// `C444`: full-resolution chroma (no loss but rounding).
    #[default]
    C444,
    /// `C420jpeg`: chroma averaged over 2x2 blocks (centred siting), half
    /// the size of 4:4:4.
    C420Jpeg,
}

/// Sampling of a stream being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sampling {
    /// Chroma subsampled by (sx, sy); `alpha` when a fourth plane follows.
    Yuv {
        sx: usize,
        sy: usize,
        alpha: bool,
    },
    Mono,
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    width: usize,
    height: usize,
    fps: Option<Fps>,
    sampling: Sampling,
    range: YuvRange,
}

impl Header {
    /// Its warnings (interlacing, pixels not square) go to the log and
    /// `hook` when `tell`.
    fn parse(line: &[u8], path: &Path, hook: Option<&WarningHook>, tell: bool) -> Result<Header> {
        let bad = |reason: String| FramesError::y4m(path, reason);
        if !line.starts_with(MAGIC) {
            return Err(not_y4m(path));
        }
        let text =
            std::str::from_utf8(line).map_err(|_| bad("the header is not ASCII text".into()))?;
        let mut words = text.split(' ').filter(|w| !w.is_empty());
        if words.next().map(str::as_bytes) != Some(MAGIC) {
            return Err(not_y4m(path));
        }
        let (mut width, mut height, mut fps) = (None, None, None);
        let mut colourspace = "420jpeg";
        let mut range = YuvRange::Limited;
        for word in words {
            // A tag is one ASCII letter; a word that starts with anything
            // else is ignored like any unknown parameter.
            let (tag, value) = word.split_at_checked(1).unwrap_or(("?", word));
            match tag {
                "W" => {
                    width =
                        Some(parse_dim(value).ok_or_else(|| bad(format!("bad width `{word}`")))?)
                }
                "H" => {
                    height =
                        Some(parse_dim(value).ok_or_else(|| bad(format!("bad height `{word}`")))?)
                }
                "F" => {
                    let rate = parse_ratio(value)
                        .ok_or_else(|| bad(format!("bad frame rate `{word}`")))?;
                    fps = checked_fps(rate);
                }
                "C" => colourspace = value,
                "X" => match value {
                    "COLORRANGE=FULL" => range = YuvRange::Full,
                    "COLORRANGE=LIMITED" => range = YuvRange::Limited,
                    _ => {}
                },
                // Read as whole pictures, but said: a field pair read as
                // one picture combs wherever something moves.
                "I" => {
                    let order = match value {
                        "t" => Some("top field first"),
                        "b" => Some("bottom field first"),
                        "m" => Some("mixed fields"),
                        _ => None,
                    };
                    if let Some(order) = order.filter(|_| tell) {
                        warn(
                            hook,
                            path,
                            format!(
                                "the stream is interlaced ({order}); each frame is read as one \
                                 picture, so moving edges will comb: deinterlace it first \
                                 (ffmpeg's `-vf yadif`)"
                            ),
                        );
                    }
                }
                // Pixels that are not square are read as square, said.
                "A" => {
                    if let Some((n, d)) = parse_ratio(value).filter(|&(n, d)| n > 0 && d > 0) {
                        if n != d && tell {
                            warn(
                                hook,
                                path,
                                format!(
                                    "its pixels are not square (aspect {n}:{d}); the frames are \
                                     read and written with square pixels, so they look {} than \
                                     meant",
                                    if n > d { "narrower" } else { "wider" }
                                ),
                            );
                        }
                    }
                }
                // Unknown parameters are ignored.
                _ => {}
            }
        }
        let width = width.ok_or_else(|| bad("no width (W) in the header".into()))?;
        let height = height.ok_or_else(|| bad("no height (H) in the header".into()))?;
        let sampling = match colourspace {
            "420jpeg" | "420paldv" | "420mpeg2" | "420" => Sampling::Yuv {
                sx: 2,
                sy: 2,
                alpha: false,
            },
            "422" => Sampling::Yuv {
                sx: 2,
                sy: 1,
                alpha: false,
            },
            "444" => Sampling::Yuv {
                sx: 1,
                sy: 1,
                alpha: false,
            },
            "444alpha" => Sampling::Yuv {
                sx: 1,
                sy: 1,
                alpha: true,
            },
            "mono" => Sampling::Mono,
            other => {
                return Err(FramesError::UnsupportedColourspace {
                    path: path.to_path_buf(),
                    colourspace: other.to_string(),
                })
            }
        };
        Ok(Header {
            width,
            height,
            fps,
            sampling,
            range,
        })
    }

    /// Bytes of (Y, each chroma plane, alpha plane) of one frame.
    fn plane_sizes(&self) -> Option<(usize, usize, usize)> {
        let luma = self.width.checked_mul(self.height)?;
        Some(match self.sampling {
            Sampling::Mono => (luma, 0, 0),
            Sampling::Yuv { sx, sy, alpha } => {
                let chroma = self
                    .width
                    .div_ceil(sx)
                    .checked_mul(self.height.div_ceil(sy))?;
                (luma, chroma, if alpha { luma } else { 0 })
            }
        })
    }
}

fn parse_dim(s: &str) -> Option<usize> {
    let v: usize = s.parse().ok()?;
    (v > 0 && v <= u32::MAX as usize).then_some(v)
}

fn parse_ratio(s: &str) -> Option<(u32, u32)> {
    let (n, d) = s.split_once(':')?;
    Some((n.parse().ok()?, d.parse().ok()?))
}

/// How a Y4M stream starts.
pub(crate) const MAGIC: &[u8] = b"YUV4MPEG2";

/// The error for data that is not Y4M; for standard input, how to pipe a
/// clip as Y4M.
fn not_y4m(path: &Path) -> FramesError {
    let piped = if path.as_os_str() == "-" {
        "; standard input is read as Y4M: pipe a clip as \
         `ffmpeg -i CLIP -f yuv4mpegpipe - | stylize video -i - ...`, or give the file"
    } else {
        ""
    };
    FramesError::y4m(path, format!("does not start with `YUV4MPEG2`{piped}"))
}

/// Reads one line (without its `\n`) of at most [`MAX_LINE`] bytes;
/// `None` at a clean end of stream.
fn read_line<R: BufRead>(r: &mut R, path: &Path, what: &str) -> Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    r.by_ref()
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)
        .map_err(FramesError::io("reading", path))?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(FramesError::y4m(
            path,
            format!("{what} line is truncated or longer than {MAX_LINE} bytes"),
        ));
    }
    Ok(Some(line))
}

/// Frames from a Y4M stream.
pub(crate) struct Y4mReader<R> {
    reader: R,
    path: PathBuf,
    header: Header,
    hook: Option<WarningHook>,
    info: VideoInfo,
    buffer: Vec<u8>,
    sizes: (usize, usize, usize),
}

impl<R: BufRead> Y4mReader<R> {
    /// Reads the header. `path` names the stream in errors; `len` is the
    /// stream's size in bytes when known (a file), to count frames; the
    /// header's warnings, and the stream's, go to `hook` too. The header's
    /// are said only when `tell_header` (not on a second read of an input
    /// already opened, which would say them again).
    pub(crate) fn new(
        mut reader: R,
        path: &Path,
        len: Option<u64>,
        hook: Option<WarningHook>,
        tell_header: bool,
    ) -> Result<Self> {
        // Another kind of data (an MP4 piped in) is said as such, not as a
        // header line too long.
        let head = reader
            .fill_buf()
            .map_err(FramesError::io("reading", path))?;
        let k = head.len().min(MAGIC.len());
        if head[..k] != MAGIC[..k] {
            return Err(not_y4m(path));
        }
        let line = read_line(&mut reader, path, "header")?
            .ok_or_else(|| FramesError::y4m(path, "empty stream, no header"))?;
        let header = Header::parse(&line, path, hook.as_ref(), tell_header)?;
        let sizes = header
            .plane_sizes()
            .filter(|&(y, c, a)| {
                c.checked_mul(2)
                    .and_then(|c2| c2.checked_add(y))
                    .and_then(|yc| yc.checked_add(a))
                    .is_some_and(|total| total <= MAX_FRAME_BYTES)
            })
            .ok_or_else(|| {
                FramesError::y4m(
                    path,
                    format!("frames of {}x{} are too large", header.width, header.height),
                )
            })?;
        let frame_bytes = (sizes.0 + 2 * sizes.1 + sizes.2) as u64;
        // With bare `FRAME` lines, the size says how many frames there are.
        let frames = len.and_then(|len| {
            let body = len.checked_sub(line.len() as u64 + 1)?;
            let per = frame_bytes + 6;
            (body % per == 0).then_some(body / per)
        });
        let info = VideoInfo {
            // parse_dim keeps both within u32.
            width: header.width as u32,
            height: header.height as u32,
            fps: header.fps,
            frames,
        };
        Ok(Y4mReader {
            reader,
            path: path.to_path_buf(),
            header,
            info,
            buffer: Vec::new(),
            sizes,
            hook,
        })
    }

    /// The next frame, `None` at the end of the stream; a stream that ends
    /// inside a frame is an error.
    pub(crate) fn read_frame(&mut self) -> Result<Option<Frame>> {
        match self.read()? {
            FrameRead::Frame(frame) => Ok(Some(frame)),
            FrameRead::End => Ok(None),
            FrameRead::Truncated => {
                Err(FramesError::y4m(&self.path, "the last frame is truncated"))
            }
        }
    }

    /// The next frame, the end, or the end inside a frame.
    fn read(&mut self) -> Result<FrameRead> {
        let mut line = Vec::new();
        (&mut self.reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .map_err(FramesError::io("reading", &self.path))?;
        if line.is_empty() {
            return Ok(FrameRead::End);
        }
        if line.last() != Some(&b'\n') {
            // Cut within the frame's own line (`FRA`, `FRAME Ixx`): the
            // end inside a frame, as a cut within its pixels is. (Not a
            // line the limit cut, nor one that is no frame's.)
            let cut = line.len() < MAX_LINE as usize
                && (b"FRAME".starts_with(&line) || line.starts_with(b"FRAME "));
            if cut {
                return Ok(FrameRead::Truncated);
            }
            return Err(FramesError::y4m(
                &self.path,
                format!("FRAME line is truncated or longer than {MAX_LINE} bytes"),
            ));
        }
        line.pop();
        if !line.starts_with(b"FRAME") {
            return Err(FramesError::y4m(&self.path, "expected a `FRAME` line"));
        }
        let (luma, chroma, alpha) = self.sizes;
        self.buffer.resize(luma + 2 * chroma + alpha, 0);
        match self.reader.read_exact(&mut self.buffer) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(FrameRead::Truncated)
            }
            Err(e) => return Err(FramesError::io("reading", &self.path)(e)),
        }
        let (y, rest) = self.buffer.split_at(luma);
        let (chroma_planes, sx, sy) = match self.header.sampling {
            Sampling::Mono => (None, 1, 1),
            Sampling::Yuv { sx, sy, .. } => {
                let (cb, rest) = rest.split_at(chroma);
                (Some((cb, &rest[..chroma])), sx, sy)
            }
        };
        let planes = Planes {
            width: self.header.width,
            height: self.header.height,
            y,
            chroma: chroma_planes,
            sx,
            sy,
        };
        Ok(FrameRead::Frame(planes_to_rgb(&planes, self.header.range)))
    }

    /// What the header says (and the frame count, for files).
    pub(crate) fn info(&self) -> &VideoInfo {
        &self.info
    }
}

/// What one read of a Y4M stream found.
enum FrameRead {
    Frame(Frame),
    /// The stream ended between frames.
    End,
    /// The stream ended inside a frame's pixels.
    Truncated,
}

/// A [`FrameSource`] over a Y4M file or standard input.
pub(crate) struct Y4mSource<R> {
    reader: Y4mReader<R>,
    ended: bool,
}

impl<R: BufRead> Y4mSource<R> {
    pub(crate) fn new(reader: Y4mReader<R>) -> Self {
        Y4mSource {
            reader,
            ended: false,
        }
    }
}

impl<R: BufRead> FrameSource for Y4mSource<R> {
    fn info(&self) -> &VideoInfo {
        self.reader.info()
    }

    /// A stream cut inside a frame (a copy stopped short, a producer
    /// killed) ends at its last whole frame with a warning, as an animated
    /// GIF that ends early does, rather than failing after every frame
    /// before it has been painted.
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.ended {
            return Ok(None);
        }
        match self.reader.read()? {
            FrameRead::Frame(frame) => Ok(Some(frame)),
            FrameRead::End => Ok(None),
            FrameRead::Truncated => {
                warn(
                    self.reader.hook.as_ref(),
                    &self.reader.path,
                    "the stream ends inside a frame; its clip ends at the last whole frame".into(),
                );
                self.ended = true;
                Ok(None)
            }
        }
    }
}

/// Writes frames as Y4M.
pub(crate) struct Y4mWriter<W> {
    writer: W,
    chroma: Y4mChroma,
    range: YuvRange,
    size: (u32, u32),
}

impl<W: Write> Y4mWriter<W> {
    /// Writes the header: `C444` or `C420jpeg`, `Ip A1:1`, and
    /// `XCOLORRANGE=FULL`/`LIMITED`.
    pub(crate) fn new(
        mut writer: W,
        size: (u32, u32),
        fps: Fps,
        chroma: Y4mChroma,
        range: YuvRange,
    ) -> std::io::Result<Self> {
        let c = match chroma {
            Y4mChroma::C444 => "444",
            Y4mChroma::C420Jpeg => "420jpeg",
        };
        let r = match range {
            YuvRange::Full => "FULL",
            YuvRange::Limited => "LIMITED",
        };
        writeln!(
            writer,
            "YUV4MPEG2 W{} H{} F{}:{} Ip A1:1 C{c} XCOLORRANGE={r}",
            size.0, size.1, fps.0, fps.1
        )?;
        Ok(Y4mWriter {
            writer,
            chroma,
            range,
            size,
        })
    }

    /// Writes one frame; it must have the size given to
    /// [`Y4mWriter::new`] (the sinks check).
    pub(crate) fn write_frame(&mut self, frame: &Frame) -> std::io::Result<()> {
        debug_assert_eq!(frame.dimensions(), self.size);
        let s = match self.chroma {
            Y4mChroma::C444 => 1,
            Y4mChroma::C420Jpeg => 2,
        };
        let [y, cb, cr] = rgb_to_planes(frame, s, self.range);
        self.writer.write_all(b"FRAME\n")?;
        self.writer.write_all(&y)?;
        self.writer.write_all(&cb)?;
        self.writer.write_all(&cr)?;
        Ok(())
    }

    /// Flushes and returns the writer.
    pub(crate) fn into_inner(mut self) -> std::io::Result<W> {
        self.writer.flush()?;
        Ok(self.writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Header> {
        Header::parse(s.as_bytes(), Path::new("t.y4m"), None, true)
    }

    #[test]
    fn parses_ffmpeg_headers() -> Result<()> {
        let h = parse("YUV4MPEG2 W64 H48 F30000:1001 Ip A1:1 C444 XYSCSS=444 XCOLORRANGE=FULL")?;
        assert_eq!((h.width, h.height, h.fps), (64, 48, Some((30000, 1001))));
        assert_eq!(
            h.sampling,
            Sampling::Yuv {
                sx: 1,
                sy: 1,
                alpha: false
            }
        );
        assert_eq!(h.range, YuvRange::Full);
        let h = parse("YUV4MPEG2 W3 H3 F25:1")?;
        assert_eq!(
            h.sampling,
            Sampling::Yuv {
                sx: 2,
                sy: 2,
                alpha: false
            }
        );
        assert_eq!(h.range, YuvRange::Limited);
        assert_eq!(h.plane_sizes(), Some((9, 4, 0)));
        assert_eq!(parse("YUV4MPEG2 W3 H3 F0:0 Cmono")?.fps, None);
        Ok(())
    }

    #[test]
    fn bad_headers_are_errors() {
        for (header, needle) in [
            ("YUV4MPEG W3 H3", "YUV4MPEG2"),
            ("YUV4MPEG2 H3", "no width"),
            ("YUV4MPEG2 W3 H0", "bad height"),
            ("YUV4MPEG2 Wx H3", "bad width"),
            ("YUV4MPEG2 W3 H3 F25", "bad frame rate"),
            ("YUV4MPEG2 W3 H3 C420p10", "420p10"),
        ] {
            match parse(header) {
                Err(e) => assert!(e.to_string().contains(needle), "{header}: {e}"),
                Ok(h) => panic!("{header} parsed as {h:?}"),
            }
        }
    }

    /// Crafted headers once panicked: a word starting with a multi-byte
    /// character (split inside it), and sizes whose frame length wrapped
    /// around to 0 and passed the size check.
    #[test]
    fn crafted_headers_do_not_panic() {
        let h = parse("YUV4MPEG2 W2 H2 F25:1 C444 \u{e9}x").unwrap();
        assert_eq!((h.width, h.height), (2, 2));
        let huge = b"YUV4MPEG2 W2147483648 H2147483648 C444alpha\n";
        match Y4mReader::new(&huge[..], Path::new("t.y4m"), None, None, true) {
            Err(e) => assert!(e.to_string().contains("too large"), "{e}"),
            Ok(_) => panic!("a 2^31 x 2^31 frame was accepted"),
        }
    }

    /// The header's warnings are said on a first read, not on a second
    /// one of the same input (the web page reads a clip's header when it
    /// is uploaded, then the job reads it again).
    #[test]
    fn the_headers_warnings_are_said_once() {
        let header = b"YUV4MPEG2 W4 H4 F25:1 A2:1 It C444\n";
        for (tell, expected) in [(true, 2), (false, 0)] {
            let said = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let hook = {
                let said = std::sync::Arc::clone(&said);
                WarningHook::new(move |w| said.lock().unwrap().push(w.to_string()))
            };
            Y4mReader::new(&header[..], Path::new("t.y4m"), None, Some(hook), tell).unwrap();
            let said = said.lock().unwrap();
            assert_eq!(said.len(), expected, "{said:?}");
            if tell {
                assert!(said.iter().any(|m| m.contains("interlaced")), "{said:?}");
                assert!(said.iter().any(|m| m.contains("not square")), "{said:?}");
            }
        }
    }

    /// ffmpeg's pipe is read with `read_frame`: there a frame cut short
    /// means ffmpeg died, an error (a file or standard input ends at its
    /// last whole frame instead: `tests/frames/y4m.rs`).
    #[test]
    fn a_pipe_cut_inside_a_frame_is_an_error() {
        let mut bytes = b"YUV4MPEG2 W4 H2 F25:1 C444\nFRAME\n".to_vec();
        bytes.extend([16u8; 24]);
        bytes.extend(b"FRAME\n");
        bytes.extend([16u8; 20]);
        let mut reader = Y4mReader::new(&bytes[..], Path::new("pipe"), None, None, true).unwrap();
        assert!(reader.read_frame().unwrap().is_some());
        let e = reader.read_frame().unwrap_err().to_string();
        assert!(
            e.contains("the last frame is truncated") && e.contains("pipe"),
            "{e}"
        );
    }
}
