//! GIF files with one global palette.

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::path::Path;

use rayon::prelude::*;

use crate::error::{FramesError, Result};
use crate::frame::Frame;
use crate::frame_sink::FrameSink;
use crate::palette::Palette;
use crate::spill::Spill;
use crate::staging::StagedFile;
use crate::stop_signal::StopSignal;
use crate::timing::Timing;

/// The largest GIF side.
pub(crate) const MAX_SIDE: u32 = u16::MAX as u32;

/// Spills frames, then in `finish` builds the clip's palette (one pass)
/// and encodes (a second pass).
pub(crate) struct GifSink {
    staged: StagedFile,
    spill: Option<Spill>,
    stop: Option<StopSignal>,
    timing: Timing,
    loop_forever: bool,
    dither: bool,
}

impl GifSink {
    pub(crate) fn new(
        output: &Path,
        timing: Timing,
        loop_forever: bool,
        dither: bool,
        stop: Option<StopSignal>,
    ) -> Result<Self> {
        Ok(GifSink {
            staged: StagedFile::new(output, ".tmp")?,
            spill: None,
            stop,
            timing,
            loop_forever,
            dither,
        })
    }
}

impl FrameSink for GifSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<()> {
        let spill = match &mut self.spill {
            Some(s) => s,
            None => {
                let output = self.staged.output();
                let (width, height) = frame.dimensions();
                if width > MAX_SIDE || height > MAX_SIDE {
                    return Err(FramesError::TooLarge {
                        path: output.to_path_buf(),
                        width,
                        height,
                        max: MAX_SIDE,
                    });
                }
                self.spill.insert(Spill::beside(
                    output,
                    frame.dimensions(),
                    self.stop.clone(),
                )?)
            }
        };
        spill.push(frame)
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let this = *self;
        let output = this.staged.output().to_path_buf();
        let Some(mut spill) = this.spill else {
            return Err(FramesError::NoFrames { path: output });
        };
        let enc = FramesError::encode::<gif::EncodingError>;
        let palette = Palette::build(&mut spill)?;
        let mut rgb = palette.rgb();
        // The colour table holds a power of two (at least 2) of entries.
        let entries = (rgb.len() / 3).max(2).next_power_of_two();
        rgb.resize(entries * 3, 0);
        let (w, h) = spill.size();
        // Checked against MAX_SIDE in write_frame.
        let (w16, h16) = (w as u16, h as u16);
        let delays = this.timing.durations(100, spill.len());
        let mut encoder = gif::Encoder::new(BufWriter::new(this.staged.file()), w16, h16, &rgb)
            .map_err(enc(&output))?;
        if this.loop_forever {
            encoder
                .set_repeat(gif::Repeat::Infinite)
                .map_err(enc(&output))?;
        }
        // Frames are mapped onto the palette and LZW-compressed a batch at
        // a time on the current rayon pool, then written in order: the
        // same bytes as one frame after another (LZW is what takes the
        // time).
        let batch = rayon::current_num_threads().max(1) * 2;
        let mut pending: Vec<(u64, Frame)> = Vec::with_capacity(batch);
        let mut write = |pending: &mut Vec<(u64, Frame)>| -> Result<()> {
            let encoded: Vec<gif::Frame<'static>> = pending
                .par_iter()
                .map(|(k, frame)| {
                    let delay = delays.get(*k as usize).copied().unwrap_or(0);
                    let mut frame = gif::Frame {
                        delay: u16::try_from(delay).unwrap_or(u16::MAX),
                        width: w16,
                        height: h16,
                        buffer: Cow::Owned(palette.map(frame, this.dither)),
                        ..gif::Frame::default()
                    };
                    frame.make_lzw_pre_encoded();
                    frame
                })
                .collect();
            pending.clear();
            for frame in &encoded {
                encoder
                    .write_lzw_pre_encoded_frame(frame)
                    .map_err(enc(&output))?;
            }
            Ok(())
        };
        spill.for_each(|k, frame| {
            pending.push((k, frame.clone()));
            if pending.len() == batch {
                write(&mut pending)?;
            }
            Ok(())
        })?;
        write(&mut pending)?;
        let mut writer = encoder.into_inner().map_err(enc(&output))?;
        writer
            .flush()
            .map_err(FramesError::io("writing", &output))?;
        drop(writer);
        this.staged.commit()
    }
}

#[cfg(test)]
mod tests {
    use crate::{create_sink, SinkOptions};

    /// Frames compressed a batch at a time on several threads give the
    /// bytes that one thread gives (a last batch part full included), and
    /// every frame decodes back.
    #[test]
    fn the_file_is_the_same_on_any_number_of_threads() {
        let dir = tempfile::tempdir().expect("a folder");
        let frames: Vec<crate::Frame> = (0..7u32)
            .map(|k| {
                crate::Frame::from_fn(40, 24, |x, y| {
                    let v = x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ k;
                    image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
                })
            })
            .collect();
        let write = |threads: usize| {
            let path = dir.path().join(format!("{threads}.gif"));
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a pool");
            pool.install(|| {
                let mut sink = create_sink(&path, &SinkOptions::default()).expect("a sink");
                for f in &frames {
                    sink.write_frame(f).expect("a frame");
                }
                sink.finish().expect("written");
            });
            std::fs::read(&path).expect("the file")
        };
        let one = write(1);
        assert_eq!(write(3), one);
        let decoder =
            image::codecs::gif::GifDecoder::new(std::io::Cursor::new(one)).expect("a GIF");
        let decoded = image::AnimationDecoder::into_frames(decoder)
            .collect_frames()
            .expect("frames");
        assert_eq!(decoded.len(), 7);
    }
}
