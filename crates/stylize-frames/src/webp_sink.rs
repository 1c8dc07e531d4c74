//! Animated lossless WebP, container written here.
//!
//! The layout (WebP container specification, "Extended file format"):
//!
//! ```text
//! RIFF <size> WEBP
//!   VP8X  flags (animation bit), canvas width - 1, height - 1 (24 bits each)
//!   ANIM  background colour (BGRA), loop count (u16, 0 = forever)
//!   ANMF  x / 2, y / 2, width - 1, height - 1, duration ms (24 bits each),
//!         flags (no blending, no disposal), then the frame's VP8L chunk
//!   ANMF  ...
//! ```
//!
//! Each frame's `VP8L` chunk is the one `image`'s lossless WebP encoder
//! writes for it. Frames are written as they come; `finish` patches the
//! RIFF size.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{FramesError, Result};
use crate::frame::Frame;
use crate::frame_sink::FrameSink;
use crate::staging::StagedFile;
use crate::timing::Timing;

/// The largest WebP side.
pub(crate) const MAX_SIDE: u32 = 16384;
/// The longest frame duration ANMF holds (24 bits of milliseconds).
const MAX_DURATION: u64 = (1 << 24) - 1;

/// Streams frames into a staged animated WebP.
pub(crate) struct WebpSink {
    staged: StagedFile,
    writer: Option<BufWriter<File>>,
    timing: Timing,
    loop_forever: bool,
    count: u64,
}

impl WebpSink {
    pub(crate) fn new(output: &Path, timing: Timing, loop_forever: bool) -> Result<Self> {
        Ok(WebpSink {
            staged: StagedFile::new(output, ".tmp")?,
            writer: None,
            timing,
            loop_forever,
            count: 0,
        })
    }
}

fn u24(v: u32) -> [u8; 3] {
    let b = v.to_le_bytes();
    [b[0], b[1], b[2]]
}

fn chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], payload: &[u8]) {
    out.extend_from_slice(fourcc);
    // Callers keep payloads far below 4 GiB (frames of at most 16384^2).
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        out.push(0);
    }
}

/// The `VP8L` chunk (header included) of `frame` encoded losslessly.
fn vp8l_chunk(frame: &Frame, output: &Path) -> Result<Vec<u8>> {
    let mut file = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut file)
        .encode(
            frame.as_raw(),
            frame.width(),
            frame.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(FramesError::encode(output))?;
    // RIFF <size> WEBP, then chunks: find VP8L.
    let mut at = 12;
    while at + 8 <= file.len() {
        let size =
            u32::from_le_bytes([file[at + 4], file[at + 5], file[at + 6], file[at + 7]]) as usize;
        let end = (at + 8).saturating_add(size).min(file.len());
        if &file[at..at + 4] == b"VP8L" {
            let mut out = file[at..end].to_vec();
            if size % 2 == 1 {
                out.push(0);
            }
            return Ok(out);
        }
        at = end + size % 2;
    }
    Err(FramesError::Encode {
        path: output.to_path_buf(),
        error: "the WebP encoder wrote no VP8L chunk".into(),
    })
}

impl FrameSink for WebpSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<()> {
        let output = self.staged.output().to_path_buf();
        let (w, h) = frame.dimensions();
        if self.writer.is_none() {
            if w > MAX_SIDE || h > MAX_SIDE {
                return Err(FramesError::TooLarge {
                    path: output,
                    width: w,
                    height: h,
                    max: MAX_SIDE,
                });
            }
            let file = self
                .staged
                .file()
                .try_clone()
                .map_err(FramesError::io("writing", &output))?;
            let mut head = Vec::new();
            head.extend_from_slice(b"RIFF\0\0\0\0WEBP");
            let mut vp8x = vec![0x02, 0, 0, 0];
            vp8x.extend_from_slice(&u24(w - 1));
            vp8x.extend_from_slice(&u24(h - 1));
            chunk(&mut head, b"VP8X", &vp8x);
            let loops: u16 = if self.loop_forever { 0 } else { 1 };
            let mut anim = vec![255, 255, 255, 255];
            anim.extend_from_slice(&loops.to_le_bytes());
            chunk(&mut head, b"ANIM", &anim);
            let mut writer = BufWriter::new(file);
            writer
                .write_all(&head)
                .map_err(FramesError::io("writing", &output))?;
            self.writer = Some(writer);
        }
        let k = self.count;
        let duration = self.timing.duration(k, 1000).min(MAX_DURATION);
        let mut anmf = Vec::new();
        anmf.extend_from_slice(&[0; 6]); // x / 2, y / 2
        anmf.extend_from_slice(&u24(w - 1));
        anmf.extend_from_slice(&u24(h - 1));
        anmf.extend_from_slice(&u24(duration as u32));
        anmf.push(0x02); // do not blend, do not dispose
        anmf.extend_from_slice(&vp8l_chunk(frame, &output)?);
        let mut bytes = Vec::with_capacity(anmf.len() + 9);
        chunk(&mut bytes, b"ANMF", &anmf);
        if let Some(writer) = &mut self.writer {
            writer
                .write_all(&bytes)
                .map_err(FramesError::io("writing", &output))?;
        }
        self.count += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let output = self.staged.output().to_path_buf();
        let io = || FramesError::io("writing", &output);
        let Some(writer) = self.writer else {
            return Err(FramesError::NoFrames { path: output });
        };
        let mut file = writer.into_inner().map_err(|e| io()(e.into_error()))?;
        let len = file.seek(SeekFrom::End(0)).map_err(io())?;
        let riff = u32::try_from(len - 8).map_err(|_| FramesError::Encode {
            path: output.clone(),
            error: "the animation is larger than WebP's 4 GiB".into(),
        })?;
        file.seek(SeekFrom::Start(4)).map_err(io())?;
        file.write_all(&riff.to_le_bytes()).map_err(io())?;
        drop(file);
        self.staged.commit()
    }
}
