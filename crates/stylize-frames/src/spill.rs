//! Frames kept in an anonymous temporary file until a sink can encode
//! them (GIF needs all frames for its palette, APNG the frame count up
//! front), so memory stays at one frame whatever the clip's length.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{FramesError, Result};
use crate::frame::Frame;
use crate::staging::parent_dir;
use crate::stop_signal::StopSignal;

/// Raw RGB frames of one size, appended to an unnamed temporary file
/// (removed by the system when closed).
pub(crate) struct Spill {
    writer: BufWriter<File>,
    size: (u32, u32),
    count: u64,
    /// The output, for errors.
    output: PathBuf,
    /// Checked before each frame of [`Spill::for_each`].
    stop: Option<StopSignal>,
}

impl Spill {
    /// An empty spill for `size` frames of `output`, in the output's
    /// folder (so that it uses the output's disk rather than a small
    /// `/tmp`).
    pub(crate) fn beside(
        output: &Path,
        size: (u32, u32),
        stop: Option<StopSignal>,
    ) -> Result<Self> {
        let dir = parent_dir(output);
        let file = tempfile::tempfile_in(&dir)
            .map_err(FramesError::io("creating a temporary file in", &dir))?;
        Ok(Spill {
            writer: BufWriter::new(file),
            size,
            count: 0,
            output: output.to_path_buf(),
            stop,
        })
    }

    /// Appends a frame of the spill's size.
    pub(crate) fn push(&mut self, frame: &Frame) -> Result<()> {
        self.writer
            .write_all(frame.as_raw())
            .map_err(FramesError::io(
                "writing a temporary file for",
                &self.output,
            ))?;
        self.count += 1;
        Ok(())
    }

    /// How many frames it holds.
    pub(crate) fn len(&self) -> u64 {
        self.count
    }

    /// Frame size.
    pub(crate) fn size(&self) -> (u32, u32) {
        self.size
    }

    /// Calls `f` on every frame in order; [`FramesError::Stopped`] when
    /// the stop signal is set before a frame.
    pub(crate) fn for_each(&mut self, mut f: impl FnMut(u64, &Frame) -> Result<()>) -> Result<()> {
        let io = || FramesError::io("reading a temporary file for", &self.output);
        self.writer.flush().map_err(io())?;
        let file = self.writer.get_mut();
        file.seek(SeekFrom::Start(0)).map_err(io())?;
        let mut reader = BufReader::new(&*file);
        let (w, h) = self.size;
        let bytes = w as usize * h as usize * 3;
        let mut frame = Frame::new(w, h);
        for k in 0..self.count {
            if self.stop.as_ref().is_some_and(StopSignal::is_set) {
                return Err(FramesError::Stopped {
                    path: self.output.clone(),
                });
            }
            let mut raw = std::mem::take(&mut frame).into_raw();
            raw.resize(bytes, 0);
            reader.read_exact(&mut raw).map_err(io())?;
            // `raw` holds exactly w * h * 3 bytes.
            frame = Frame::from_raw(w, h, raw).unwrap_or_else(|| Frame::new(w, h));
            f(k, &frame)?;
        }
        let file = self.writer.get_mut();
        file.seek(SeekFrom::End(0)).map_err(io())?;
        Ok(())
    }
}
