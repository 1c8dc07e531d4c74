//! A folder of PNG frames.

use std::path::Path;

use crate::error::{FramesError, Result};
use crate::frame::Frame;
use crate::frame_sink::FrameSink;
use crate::staging::{StagedDir, StagedFile};

/// Writes `frame_000001.png`, ... into a staged folder renamed onto the
/// output by `finish`.
pub(crate) struct FolderSink {
    dir: StagedDir,
    count: u64,
}

impl FolderSink {
    /// `replace`: see [`SinkOptions::replace_frames`](crate::SinkOptions::replace_frames).
    pub(crate) fn new(output: &Path, replace: bool) -> Result<Self> {
        Ok(FolderSink {
            dir: StagedDir::new(output, replace)?,
            count: 0,
        })
    }
}

impl FrameSink for FolderSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<()> {
        self.count += 1;
        let path = self.dir.path().join(format!("frame_{:06}.png", self.count));
        // Each file is complete or absent, even inside the staged folder.
        let staged = StagedFile::in_staged_dir(&path, ".tmp")?;
        let mut writer = std::io::BufWriter::new(staged.file());
        frame
            .write_to(&mut writer, image::ImageFormat::Png)
            .map_err(FramesError::encode(
                self.dir
                    .output()
                    .join(format!("frame_{:06}.png", self.count)),
            ))?;
        std::io::Write::flush(&mut writer).map_err(FramesError::io("writing", &path))?;
        drop(writer);
        staged.commit()
    }

    fn finish(self: Box<Self>) -> Result<()> {
        self.dir.commit()
    }
}
