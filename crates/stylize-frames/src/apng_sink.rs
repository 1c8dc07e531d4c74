//! APNG (and single-frame PNG) files.

use std::io::BufWriter;
use std::path::Path;

use crate::error::{FramesError, Result};
use crate::frame::Frame;
use crate::frame_sink::FrameSink;
use crate::spill::Spill;
use crate::staging::StagedFile;
use crate::stop_signal::StopSignal;
use crate::timing::Timing;

/// Spills frames (APNG needs the frame count before the first frame) and
/// encodes them in `finish`.
pub(crate) struct ApngSink {
    staged: StagedFile,
    spill: Option<Spill>,
    stop: Option<StopSignal>,
    timing: Timing,
    loop_forever: bool,
    always_animated: bool,
}

impl ApngSink {
    pub(crate) fn new(
        output: &Path,
        timing: Timing,
        loop_forever: bool,
        always_animated: bool,
        stop: Option<StopSignal>,
    ) -> Result<Self> {
        Ok(ApngSink {
            staged: StagedFile::new(output, ".tmp")?,
            spill: None,
            stop,
            timing,
            loop_forever,
            always_animated,
        })
    }
}

/// `ms` milliseconds as an `fcTL` delay (u16 terms): in milliseconds
/// up to 65.5 s, then hundredths, then tenths of a second (a GIF's
/// longest delay, 655.35 s, kept), at most 6553.5 s.
fn ms_delay(ms: u64) -> (u16, u16) {
    for (per, den) in [(1, 1000), (10, 100), (100, 10)] {
        if let Ok(num) = u16::try_from(ms.saturating_add(per / 2) / per) {
            return (num, den);
        }
    }
    (u16::MAX, 10)
}

impl FrameSink for ApngSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<()> {
        let spill = match &mut self.spill {
            Some(s) => s,
            None => {
                let output = self.staged.output();
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
        let Some(mut spill) = this.spill else {
            return Err(FramesError::NoFrames {
                path: this.staged.output().to_path_buf(),
            });
        };
        let output = this.staged.output().to_path_buf();
        let enc = FramesError::encode::<png::EncodingError>;
        let (w, h) = spill.size();
        let count = spill.len();
        let mut encoder = png::Encoder::new(BufWriter::new(this.staged.file()), w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let animated = count > 1 || this.always_animated;
        // Constant frame delay when every frame is at the rate and its
        // fraction fits APNG's u16 terms, else per-frame milliseconds that
        // keep the total right.
        let (n, d) = this.timing.fps();
        let exact = match (u16::try_from(d), u16::try_from(n)) {
            (Ok(num), Ok(den)) if this.timing.is_constant() => Some((num, den)),
            _ => None,
        };
        let ms = if exact.is_none() {
            this.timing.durations(1000, count)
        } else {
            Vec::new()
        };
        if animated {
            let frames = u32::try_from(count).map_err(|_| {
                FramesError::InvalidParameter(format!("{count} frames are too many for APNG"))
            })?;
            let plays = if this.loop_forever { 0 } else { 1 };
            encoder.set_animated(frames, plays).map_err(enc(&output))?;
        }
        let mut writer = encoder.write_header().map_err(enc(&output))?;
        spill.for_each(|k, frame| {
            if animated {
                let (num, den) = match exact {
                    Some(d) => d,
                    None => ms_delay(ms.get(k as usize).copied().unwrap_or(0)),
                };
                writer.set_frame_delay(num, den).map_err(enc(&output))?;
            }
            writer
                .write_image_data(frame.as_raw())
                .map_err(enc(&output))
        })?;
        writer.finish().map_err(enc(&output))?;
        this.staged.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::ms_delay;

    #[test]
    fn long_delays_keep_their_length() {
        assert_eq!(ms_delay(40), (40, 1000));
        assert_eq!(ms_delay(65_535), (65_535, 1000));
        assert_eq!(ms_delay(655_350), (65_535, 100)); // a GIF's longest
        assert_eq!(ms_delay(1_000_000), (10_000, 10));
        assert_eq!(ms_delay(u64::MAX), (u16::MAX, 10));
    }
}
