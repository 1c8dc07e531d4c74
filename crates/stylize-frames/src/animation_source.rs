//! Images as videos: GIF, APNG and animated WebP, and still images.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use image::{AnimationDecoder, ImageDecoder, ImageFormat};

use crate::error::{FramesError, Result};
use crate::folder_source::decode_upright;
use crate::frame::{checked_fps, flatten_onto, Frame, VideoInfo};
use crate::frame_count::{empty_gif_frame, frame_delays, typical_delay};
use crate::frame_source::{FrameSource, SourceOptions};
use crate::source::check_frame_size;
use crate::warning::{warn, WarningHook};

/// Opens an image file of a known `format`: animated GIF, APNG and WebP
/// frame by frame, anything else as one frame.
pub(crate) fn open_image(
    path: &Path,
    format: ImageFormat,
    options: &SourceOptions,
) -> Result<Box<dyn FrameSource>> {
    let reader = || -> Result<BufReader<File>> {
        Ok(BufReader::new(
            File::open(path).map_err(FramesError::io("reading", path))?,
        ))
    };
    // The size the header claims, before a single frame is decoded.
    let check = |size: (u32, u32)| check_frame_size(path, size, options.max_frame_pixels);
    let frames = match format {
        ImageFormat::Gif => {
            let mut decoder =
                image::codecs::gif::GifDecoder::new(reader()?).map_err(decode_error(path, 1))?;
            let (w, h) = decoder.dimensions();
            check((w, h))?;
            // Each frame's own size is read only as it is decoded, and the
            // decoder allocates what the frame claims (65535x65535 from a
            // few bytes): its buffers are held to a few screens' worth (the
            // screen, the composited frame and the frame itself, which may
            // be larger than the screen). A frame past that fails to decode.
            let mut limits = image::Limits::default();
            limits.max_alloc = Some((16 * u64::from(w) * u64::from(h)).max(1 << 20));
            decoder
                .set_limits(limits)
                .map_err(FramesError::decode(path))?;
            Some(decoder.into_frames())
        }
        ImageFormat::Png => {
            let decoder = image::codecs::png::PngDecoder::new(reader()?)
                .map_err(FramesError::decode(path))?;
            check(decoder.dimensions())?;
            if decoder.is_apng().map_err(FramesError::decode(path))? {
                Some(
                    decoder
                        .apng()
                        .map_err(FramesError::decode(path))?
                        .into_frames(),
                )
            } else {
                None
            }
        }
        ImageFormat::WebP => {
            let mut decoder = image::codecs::webp::WebPDecoder::new(reader()?)
                .map_err(FramesError::decode(path))?;
            check(decoder.dimensions())?;
            if decoder.has_animation() {
                // Without a background colour the decoder never clears a
                // frame marked "dispose to background", and a moving shape
                // leaves a trail. Browsers and libwebp clear to
                // transparent (the ANIM chunk's colour is only a hint),
                // which is then flattened onto `options.background`.
                decoder
                    .set_background_color(image::Rgba([0, 0, 0, 0]))
                    .map_err(FramesError::decode(path))?;
                Some(decoder.into_frames())
            } else {
                None
            }
        }
        // A still JPEG or BMP: its header read on its own.
        _ => {
            check(
                image::ImageReader::with_format(reader()?, format)
                    .into_dimensions()
                    .map_err(FramesError::decode(path))?,
            )?;
            None
        }
    };
    match frames {
        Some(frames) => {
            let mut source = AnimationSource::new(path, frames, options)?;
            // The count, and the rate of the typical frame, not the first
            // one's (a title frame, or a 30 fps GIF's 30 and 40 ms), when
            // the file's delays can be read without decoding it.
            let delays = frame_delays(path, format).unwrap_or_default();
            source.info.frames = (!delays.is_empty()).then_some(delays.len() as u64);
            if let Some((ms, varied)) = typical_delay(&delays) {
                let fps = common_rate(1000.0 / ms)
                    .or_else(|| checked_fps(((1_000_000.0 / ms).round() as u32, 1000)));
                // Frames shown for longer than 100 s (a GIF's may be, to
                // 655 s): read at the slowest rate taken, a frame every
                // 100 s, each frame's own time kept where the output can
                // (before: read at 25 fps, unsaid).
                let slow = fps.is_none() && ms > 100_000.0;
                let fps = fps.or_else(|| slow.then_some((1, 100)));
                if slow {
                    warn(
                        source.hook.as_ref(),
                        path,
                        format!(
                            "its frames are shown for {:.0} s, longer than the 100 s a clip's \
                             rate allows: read at a frame every 100 s (an animation output keeps each \
                             frame's own time, to its format's longest)",
                            ms / 1000.0
                        ),
                    );
                }
                if fps.is_some() {
                    source.info.fps = fps;
                    source.told_delays = true;
                    // Frames shown for really different times: theirs,
                    // for a sink to keep (the caller says where it cannot).
                    source.times = (varied || slow).then(|| {
                        delays
                            .iter()
                            .map(|&d| Duration::try_from_secs_f64(d / 1000.0).unwrap_or_default())
                            .collect()
                    });
                }
            }
            Ok(Box::new(source))
        }
        None => {
            // A still image: upright and in sRGB, as a frame folder's are.
            let (image, failed) = decode_upright(path)?;
            if let Some(why) = failed {
                warn(options.on_warning.as_ref(), path, why);
            }
            let frame = flatten_onto(image, options.background);
            Ok(Box::new(StillSource {
                info: VideoInfo {
                    width: frame.width(),
                    height: frame.height(),
                    fps: None,
                    frames: Some(1),
                },
                frame: Some(frame),
            }))
        }
    }
}

/// The common frame rate within 1% of `fps`, the nearest: delays in
/// whole milliseconds or centiseconds only come near a rate (a 30 fps
/// WebP's 33 and 34 ms).
fn common_rate(fps: f64) -> Option<(u32, u32)> {
    const RATES: [(u32, u32); 12] = [
        (10, 1),
        (12, 1),
        (15, 1),
        (20, 1),
        (24000, 1001),
        (24, 1),
        (25, 1),
        (30000, 1001),
        (30, 1),
        (50, 1),
        (60000, 1001),
        (60, 1),
    ];
    let off = |(n, d): (u32, u32)| (f64::from(n) / f64::from(d) / fps - 1.0).abs();
    RATES
        .into_iter()
        .filter(|&r| off(r) < 0.01)
        .min_by(|&a, &b| off(a).total_cmp(&off(b)))
}

/// The frames of an animation.
struct AnimationSource {
    path: PathBuf,
    frames: image::Frames<'static>,
    first: Option<Frame>,
    info: VideoInfo,
    background: [u8; 3],
    /// The file ended early: no more frames.
    ended: bool,
    /// The first frame's delay, which sets the rate.
    delay: image::Delay,
    /// Whether a frame of another delay was warned about.
    told_delays: bool,
    /// Each frame's display time, where they differ (see
    /// [`FrameSource::frame_times`]).
    times: Option<Vec<Duration>>,
    /// Frames decoded so far.
    decoded: u64,
    /// Where its warnings go besides the log.
    hook: Option<WarningHook>,
}

/// [`FramesError::Decode`] for frame `number` (from 1), or when that frame
/// of a GIF is empty (whose decoder's own words are "odd-sized buffer"),
/// [`FramesError::EmptyGifFrame`].
fn decode_error(path: &Path, number: u64) -> impl FnOnce(image::ImageError) -> FramesError + '_ {
    move |source| match empty_gif_frame(path).filter(|(frame, ..)| *frame == number) {
        Some((frame, width, height)) => FramesError::EmptyGifFrame {
            path: path.to_path_buf(),
            frame,
            width,
            height,
            source,
        },
        None => FramesError::decode(path)(source),
    }
}

/// Whether a decoding error says only that the data stopped too soon.
fn ends_early(e: &image::ImageError) -> bool {
    match e {
        image::ImageError::IoError(io) => io.kind() == std::io::ErrorKind::UnexpectedEof,
        image::ImageError::Decoding(d) => std::error::Error::source(d)
            .and_then(|s| s.downcast_ref::<gif::DecodingError>())
            .is_some_and(|g| matches!(g, gif::DecodingError::UnexpectedEof)),
        _ => false,
    }
}

impl AnimationSource {
    /// Decodes the first frame for the size and frame rate.
    fn new(
        path: &Path,
        mut frames: image::Frames<'static>,
        options: &SourceOptions,
    ) -> Result<Self> {
        let background = options.background;
        let first = match frames.next() {
            Some(frame) => frame.map_err(decode_error(path, 1))?,
            None => {
                let empty = std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the animation has no frames",
                );
                return Err(FramesError::decode(path)(image::ImageError::IoError(empty)));
            }
        };
        let delay = first.delay();
        let (n, d) = delay.numer_denom_ms();
        // A delay of n/d ms is 1000 d / n frames per second.
        let fps = u32::try_from(u64::from(d) * 1000)
            .ok()
            .and_then(|num| checked_fps((num, n)));
        let frame = flatten_onto(
            image::DynamicImage::ImageRgba8(first.into_buffer()),
            background,
        );
        let info = VideoInfo {
            width: frame.width(),
            height: frame.height(),
            fps,
            frames: None,
        };
        Ok(AnimationSource {
            path: path.to_path_buf(),
            frames,
            first: Some(frame),
            info,
            background,
            ended: false,
            delay,
            told_delays: false,
            times: None,
            decoded: 1,
            hook: options.on_warning.clone(),
        })
    }
}

impl FrameSource for AnimationSource {
    fn info(&self) -> &VideoInfo {
        &self.info
    }

    fn frame_times(&self) -> Option<&[Duration]> {
        self.times.as_deref()
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if let Some(first) = self.first.take() {
            return Ok(Some(first));
        }
        if self.ended {
            return Ok(None);
        }
        match self.frames.next() {
            None => Ok(None),
            // A file that ends early (a GIF without its trailer byte, or
            // cut inside its last frame) ends the clip at its last whole
            // frame, as players and ffmpeg do, rather than failing after
            // every frame before it has been painted.
            Some(Err(e)) if ends_early(&e) => {
                warn(
                    self.hook.as_ref(),
                    &self.path,
                    format!("the file ends early ({e}); its clip ends at the last whole frame"),
                );
                self.ended = true;
                Ok(None)
            }
            Some(frame) => {
                let frame = frame.map_err(decode_error(&self.path, self.decoded + 1))?;
                self.decoded += 1;
                if !self.told_delays && frame.delay() != self.delay {
                    self.told_delays = true;
                    let ms = |d: image::Delay| {
                        let (n, d) = d.numer_denom_ms();
                        f64::from(n) / f64::from(d.max(1))
                    };
                    warn(
                        self.hook.as_ref(),
                        &self.path,
                        format!(
                            "its frames are shown for different times ({:.0} ms, then {:.0} \
                             ms); the clip is read at one rate, the first frame's",
                            ms(self.delay),
                            ms(frame.delay())
                        ),
                    );
                }
                let buffer = image::DynamicImage::ImageRgba8(frame.into_buffer());
                Ok(Some(flatten_onto(buffer, self.background)))
            }
        }
    }
}

/// A still image: one frame.
struct StillSource {
    info: VideoInfo,
    frame: Option<Frame>,
}

impl FrameSource for StillSource {
    fn info(&self) -> &VideoInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        Ok(self.frame.take())
    }
}
