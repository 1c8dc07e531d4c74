//! GIF files with one global palette.

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{FramesError, Result};
use crate::frame::{frame_durations, Fps, Frame};
use crate::frame_sink::FrameSink;
use crate::palette::Palette;
use crate::spill::Spill;
use crate::staging::StagedFile;
use crate::stop_signal::StopSignal;

/// The largest GIF side.
const MAX_SIDE: u32 = u16::MAX as u32;

/// Spills frames, then in `finish` builds the clip's palette (one pass)
/// and encodes (a second pass).
pub(crate) struct GifSink {
    staged: StagedFile,
    spill: Option<Spill>,
    stop: Option<StopSignal>,
    fps: Fps,
    loop_forever: bool,
    dither: bool,
}

impl GifSink {
    pub(crate) fn new(
        output: &Path,
        fps: Fps,
        loop_forever: bool,
        dither: bool,
        stop: Option<StopSignal>,
    ) -> Result<Self> {
        Ok(GifSink {
            staged: StagedFile::new(output, ".tmp")?,
            spill: None,
            stop,
            fps,
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
        let delays = frame_durations(this.fps, 100, spill.len());
        let mut encoder = gif::Encoder::new(BufWriter::new(this.staged.file()), w16, h16, &rgb)
            .map_err(enc(&output))?;
        if this.loop_forever {
            encoder
                .set_repeat(gif::Repeat::Infinite)
                .map_err(enc(&output))?;
        }
        spill.for_each(|k, frame| {
            let indices = palette.map(frame, this.dither);
            let delay = delays.get(k as usize).copied().unwrap_or(0);
            let frame = gif::Frame {
                delay: u16::try_from(delay).unwrap_or(u16::MAX),
                width: w16,
                height: h16,
                buffer: Cow::Owned(indices),
                ..gif::Frame::default()
            };
            encoder.write_frame(&frame).map_err(enc(&output))
        })?;
        let mut writer = encoder.into_inner().map_err(enc(&output))?;
        writer
            .flush()
            .map_err(FramesError::io("writing", &output))?;
        drop(writer);
        this.staged.commit()
    }
}
