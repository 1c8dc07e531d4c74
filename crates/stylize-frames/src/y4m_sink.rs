//! A Y4M file.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use crate::error::{FramesError, Result};
use crate::frame::{Fps, Frame};
use crate::frame_sink::FrameSink;
use crate::staging::StagedFile;
use crate::y4m::{Y4mChroma, Y4mWriter};
use crate::yuv::YuvRange;

/// Streams frames into a staged `.y4m`.
pub(crate) struct Y4mSink {
    staged: StagedFile,
    writer: Option<Y4mWriter<BufWriter<File>>>,
    fps: Fps,
    chroma: Y4mChroma,
    range: YuvRange,
}

impl Y4mSink {
    pub(crate) fn new(output: &Path, fps: Fps, chroma: Y4mChroma, range: YuvRange) -> Result<Self> {
        Ok(Y4mSink {
            staged: StagedFile::new(output, ".tmp")?,
            writer: None,
            fps,
            chroma,
            range,
        })
    }
}

impl FrameSink for Y4mSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<()> {
        let io = FramesError::io("writing", self.staged.output());
        let writer = match &mut self.writer {
            Some(w) => w,
            None => {
                let file = self
                    .staged
                    .file()
                    .try_clone()
                    .map_err(FramesError::io("writing", self.staged.output()))?;
                let w = Y4mWriter::new(
                    BufWriter::new(file),
                    frame.dimensions(),
                    self.fps,
                    self.chroma,
                    self.range,
                )
                .map_err(FramesError::io("writing", self.staged.output()))?;
                self.writer.insert(w)
            }
        };
        writer.write_frame(frame).map_err(io)
    }

    fn finish(self: Box<Self>) -> Result<()> {
        if let Some(w) = self.writer {
            w.into_inner()
                .map_err(FramesError::io("writing", self.staged.output()))?;
        }
        self.staged.commit()
    }
}
