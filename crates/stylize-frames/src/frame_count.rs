//! Frame counts of GIF, APNG and animated WebP files, by walking their
//! blocks or chunks without decoding pixels (for progress bars).

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use image::ImageFormat;

/// The number of frames in `path`, `None` when the walk fails (the decoder
/// then reports what is wrong) or the format is not an animation.
pub(crate) fn count_frames(path: &Path, format: ImageFormat) -> Option<u64> {
    let mut r = BufReader::new(File::open(path).ok()?);
    match format {
        ImageFormat::Gif => gif_frames(&mut r),
        ImageFormat::Png => apng_frames(&mut r),
        ImageFormat::WebP => webp_frames(&mut r),
        _ => None,
    }
}

fn byte<R: Read>(r: &mut R) -> Option<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b).ok()?;
    Some(b[0])
}

fn array<const N: usize, R: Read>(r: &mut R) -> Option<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b).ok()?;
    Some(b)
}

fn skip<R: Seek>(r: &mut R, n: i64) -> Option<()> {
    r.seek_relative(n).ok()
}

/// Skips GIF data sub-blocks up to the terminator.
fn skip_sub_blocks<R: Read + Seek>(r: &mut R) -> Option<()> {
    loop {
        let size = byte(r)?;
        if size == 0 {
            return Some(());
        }
        skip(r, i64::from(size))?;
    }
}

fn gif_frames<R: Read + Seek>(r: &mut R) -> Option<u64> {
    let header: [u8; 13] = array(r)?;
    let packed = header[10];
    if packed & 0x80 != 0 {
        skip(r, 3 << ((packed & 7) + 1))?;
    }
    let mut frames = 0;
    loop {
        match byte(r)? {
            0x21 => {
                byte(r)?;
                skip_sub_blocks(r)?;
            }
            0x2C => {
                let desc: [u8; 9] = array(r)?;
                if desc[8] & 0x80 != 0 {
                    skip(r, 3 << ((desc[8] & 7) + 1))?;
                }
                byte(r)?; // LZW minimum code size
                skip_sub_blocks(r)?;
                frames += 1;
            }
            0x3B => return Some(frames),
            _ => return None,
        }
    }
}

/// The first empty frame of a GIF: `(n, w, h)` for frame `n` (from 1)
/// with no area; `None` when all have an area, the walk fails or the file
/// is not a GIF. (An empty logical screen is no obstacle to the decoder.)
pub(crate) fn empty_gif_frame(path: &Path) -> Option<(u64, u16, u16)> {
    let mut r = BufReader::new(File::open(path).ok()?);
    let header: [u8; 13] = array(&mut r)?;
    if !header.starts_with(b"GIF") {
        return None;
    }
    let size = |b: &[u8]| {
        (
            u16::from_le_bytes([b[0], b[1]]),
            u16::from_le_bytes([b[2], b[3]]),
        )
    };
    let packed = header[10];
    if packed & 0x80 != 0 {
        skip(&mut r, 3 << ((packed & 7) + 1))?;
    }
    let mut frame = 0;
    loop {
        match byte(&mut r)? {
            0x21 => {
                byte(&mut r)?;
                skip_sub_blocks(&mut r)?;
            }
            0x2C => {
                let desc: [u8; 9] = array(&mut r)?;
                frame += 1;
                let (w, h) = size(&desc[4..8]);
                if w == 0 || h == 0 {
                    return Some((frame, w, h));
                }
                if desc[8] & 0x80 != 0 {
                    skip(&mut r, 3 << ((desc[8] & 7) + 1))?;
                }
                byte(&mut r)?;
                skip_sub_blocks(&mut r)?;
            }
            _ => return None,
        }
    }
}

/// `acTL`'s frame count, `None` for a still PNG.
fn apng_frames<R: Read + Seek>(r: &mut R) -> Option<u64> {
    skip(r, 8)?;
    loop {
        let head: [u8; 8] = array(r)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        match &head[4..] {
            b"acTL" => {
                let frames: [u8; 4] = array(r)?;
                return Some(u64::from(u32::from_be_bytes(frames)));
            }
            b"IDAT" | b"IEND" => return None,
            _ => skip(r, i64::from(len) + 4)?,
        }
    }
}

/// The number of `ANMF` chunks, `None` without any.
fn webp_frames<R: Read + Seek>(r: &mut R) -> Option<u64> {
    let head: [u8; 12] = array(r)?;
    if &head[..4] != b"RIFF" || &head[8..] != b"WEBP" {
        return None;
    }
    let mut frames = 0;
    loop {
        let Some(chunk) = array::<8, _>(r) else {
            return (frames > 0).then_some(frames);
        };
        if &chunk[..4] == b"ANMF" {
            frames += 1;
        }
        let len = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        skip(r, i64::from(len) + i64::from(len % 2))?;
    }
}
