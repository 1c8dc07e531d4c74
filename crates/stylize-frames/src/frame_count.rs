//! Frame counts and delays of GIF, APNG and animated WebP files, by
//! walking their blocks or chunks without decoding pixels (for progress
//! bars, and the rate a clip is read at).

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use image::ImageFormat;

/// Each frame's delay in milliseconds, in order, as the file states it
/// (a GIF's 0 stays 0), so also the number of frames; `None` when the walk
/// fails (the decoder then reports what is wrong) or the format is not an
/// animation.
pub(crate) fn frame_delays(path: &Path, format: ImageFormat) -> Option<Vec<f64>> {
    let mut r = BufReader::new(File::open(path).ok()?);
    match format {
        ImageFormat::Gif => gif_delays(&mut r),
        ImageFormat::Png => apng_delays(&mut r),
        ImageFormat::WebP => webp_delays(&mut r),
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

/// The delays `walk` gathered: all of them, or, where it stopped early (a
/// file cut short), those of the whole frames before the cut, which the
/// decoder gives too (before: none, and every frame took the first one's
/// time).
fn whole_frames<R>(
    r: &mut R,
    walk: impl FnOnce(&mut R, &mut Vec<f64>) -> Option<()>,
) -> Option<Vec<f64>> {
    let mut delays = Vec::new();
    let walked = walk(r, &mut delays);
    (walked.is_some() || !delays.is_empty()).then_some(delays)
}

/// A GIF's frames' delays: each image's from the Graphic Control
/// Extension before it (0 without one).
fn gif_delays<R: Read + Seek>(r: &mut R) -> Option<Vec<f64>> {
    whole_frames(r, gif_walk)
}

fn gif_walk<R: Read + Seek>(r: &mut R, delays: &mut Vec<f64>) -> Option<()> {
    let header: [u8; 13] = array(r)?;
    let packed = header[10];
    if packed & 0x80 != 0 {
        skip(r, 3 << ((packed & 7) + 1))?;
    }
    let mut delay_cs = 0u16;
    loop {
        match byte(r)? {
            0x21 => {
                if byte(r)? == 0xF9 {
                    // Size 4: packed fields, delay (centiseconds), index.
                    let gce: [u8; 5] = array(r)?;
                    if gce[0] != 4 {
                        return None;
                    }
                    delay_cs = u16::from_le_bytes([gce[2], gce[3]]);
                }
                skip_sub_blocks(r)?;
            }
            0x2C => {
                let desc: [u8; 9] = array(r)?;
                if desc[8] & 0x80 != 0 {
                    skip(r, 3 << ((desc[8] & 7) + 1))?;
                }
                byte(r)?; // LZW minimum code size
                skip_sub_blocks(r)?;
                // A delay of 0 or 1 hundredth (unset, or "as fast as it
                // can") is shown for a tenth by browsers and read so by
                // ffmpeg: read the same (before: at 25 or 100 fps, and a
                // clip made of it played 2.5 or 10 times too fast).
                let shown = if delay_cs <= 1 { 10 } else { delay_cs };
                delays.push(f64::from(shown) * 10.0);
                delay_cs = 0;
            }
            0x3B => return Some(()),
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

/// Each `fcTL` chunk's delay (`delay_num / delay_den` s, a
/// denominator of 0 meaning 100), `None` for a still PNG.
fn apng_delays<R: Read + Seek>(r: &mut R) -> Option<Vec<f64>> {
    whole_frames(r, apng_walk).filter(|d| !d.is_empty())
}

fn apng_walk<R: Read + Seek>(r: &mut R, delays: &mut Vec<f64>) -> Option<()> {
    skip(r, 8)?;
    // A frame's fcTL comes before its data: its delay counts once the
    // next chunk after that data is read (the frame is whole).
    let mut pending = None;
    loop {
        let head: [u8; 8] = array(r)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        match &head[4..] {
            b"fcTL" if len == 26 => {
                delays.extend(pending.take());
                let fctl: [u8; 26] = array(r)?;
                let num = u16::from_be_bytes([fctl[20], fctl[21]]);
                let den = match u16::from_be_bytes([fctl[22], fctl[23]]) {
                    0 => 100,
                    d => d,
                };
                pending = Some(1000.0 * f64::from(num) / f64::from(den));
                skip(r, 4)?; // CRC
            }
            b"IEND" => {
                delays.extend(pending.take());
                return Some(());
            }
            _ => skip(r, i64::from(len) + 4)?,
        }
    }
}

/// Each `ANMF` chunk's duration, `None` without any.
fn webp_delays<R: Read + Seek>(r: &mut R) -> Option<Vec<f64>> {
    let head: [u8; 12] = array(r)?;
    if &head[..4] != b"RIFF" || &head[8..] != b"WEBP" {
        return None;
    }
    let mut delays = Vec::new();
    loop {
        let Some(chunk) = array::<8, _>(r) else {
            return (!delays.is_empty()).then_some(delays);
        };
        let len = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        let mut rest = i64::from(len) + i64::from(len % 2);
        if &chunk[..4] == b"ANMF" && len >= 16 {
            // x, y, width - 1, height - 1, then the duration (24 bits each).
            let anmf: [u8; 15] = array(r)?;
            delays.push(f64::from(u32::from_le_bytes([
                anmf[12], anmf[13], anmf[14], 0,
            ])));
            rest -= 15;
        }
        skip(r, rest)?;
    }
}

/// The delay a clip of these frame delays (ms) is read at, and whether
/// some frames are shown for really different times: the mean of the
/// delays within half and twice their median, so that an encoder's
/// rounding (a 30 fps GIF's 30 and 40 ms) averages out to the true rate
/// and a long title frame does not set it. `None` when the median is 0
/// (delays a GIF leaves unset).
pub(crate) fn typical_delay(delays: &[f64]) -> Option<(f64, bool)> {
    let mut sorted: Vec<f64> = delays.iter().copied().filter(|d| d.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let median = *sorted.get(sorted.len() / 2)?;
    if median <= 0.0 {
        return None;
    }
    let near = |d: f64| (0.5 * median..=2.0 * median).contains(&d);
    let kept: Vec<f64> = sorted.iter().copied().filter(|&d| near(d)).collect();
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    Some((mean, kept.len() < sorted.len()))
}

#[cfg(test)]
mod tests {
    use super::{apng_delays, gif_delays, typical_delay};
    use std::io::Cursor;

    /// Frames of 16x16 noise (so that each takes some room), shown for
    /// `delays` ms.
    fn frames(n: usize) -> Vec<image::RgbaImage> {
        (0..n)
            .map(|k| {
                image::RgbaImage::from_fn(16, 16, |x, y| {
                    let v = (x * 37 + y * 101 + k as u32 * 59).wrapping_mul(2_654_435_761) >> 24;
                    image::Rgba([v as u8, (v >> 1) as u8, k as u8, 255])
                })
            })
            .collect()
    }

    fn gif(delays: &[u32]) -> Vec<u8> {
        let mut bytes = Vec::new();
        {
            let mut e = image::codecs::gif::GifEncoder::new(&mut bytes);
            for (f, &ms) in frames(delays.len()).into_iter().zip(delays) {
                let d = image::Delay::from_numer_denom_ms(ms, 1);
                e.encode_frame(image::Frame::from_parts(f, 0, 0, d))
                    .unwrap();
            }
        }
        bytes
    }

    fn apng(delays: &[u16]) -> Vec<u8> {
        let mut bytes = Vec::new();
        {
            let mut e = png::Encoder::new(&mut bytes, 16, 16);
            e.set_color(png::ColorType::Rgba);
            e.set_animated(delays.len() as u32, 0).unwrap();
            let mut w = e.write_header().unwrap();
            for (f, &ms) in frames(delays.len()).iter().zip(delays) {
                w.set_frame_delay(ms, 1000).unwrap();
                w.write_image_data(f.as_raw()).unwrap();
            }
            w.finish().unwrap();
        }
        bytes
    }

    /// A file cut short keeps its whole frames' own delays (before: none,
    /// and every frame was shown for the first one's time), and only the
    /// whole frames'.
    #[test]
    fn delays_of_0_or_1_hundredth_are_read_as_browsers_show_them() {
        for ms in [0, 10] {
            let bytes = gif(&[ms, ms, ms, 50]);
            let got = gif_delays(&mut Cursor::new(&bytes)).unwrap();
            assert_eq!(got, [100.0, 100.0, 100.0, 50.0], "{ms} ms");
        }
        assert_eq!(typical_delay(&[100.0, 100.0, 100.0]), Some((100.0, false)));
    }

    #[test]
    fn a_file_cut_short_keeps_its_whole_frames_delays() {
        let full = gif(&[1000, 40, 40, 40, 40, 40]);
        let want = [1000.0, 40.0, 40.0, 40.0, 40.0, 40.0];
        assert_eq!(gif_delays(&mut Cursor::new(&full)).unwrap(), want);
        let full_png = apng(&[1000, 40, 40, 40, 40, 40]);
        assert_eq!(apng_delays(&mut Cursor::new(&full_png)).unwrap(), want);
        for (bytes, is_gif) in [(&full, true), (&full_png, false)] {
            let mut seen = Vec::new();
            for cut in (bytes.len() / 3..bytes.len()).step_by(97) {
                let mut r = Cursor::new(&bytes[..cut]);
                let got = if is_gif {
                    gif_delays(&mut r)
                } else {
                    apng_delays(&mut r)
                }
                .unwrap_or_default();
                // (All six where only the GIF's trailer is cut.)
                assert!(got.len() <= want.len(), "{cut}: {got:?}");
                assert_eq!(got[..], want[..got.len()], "{cut}");
                seen.push(got.len());
            }
            // Cuts after the first frame and before the last keep some.
            assert!(seen.iter().any(|&n| (2..6).contains(&n)), "{seen:?}");
        }
    }

    #[test]
    fn the_typical_delay_ignores_rounding_and_title_frames() {
        // A 30 fps GIF in centiseconds: 30, 30, 40 ms.
        let (d, varied) = typical_delay(&[30.0, 30.0, 40.0, 30.0, 30.0, 40.0]).unwrap();
        assert!((d - 1000.0 / 30.0).abs() < 0.01 && !varied, "{d}");
        // A title frame shown for a second, then 25 fps.
        let (d, varied) = typical_delay(&[1000.0, 40.0, 40.0, 40.0, 40.0]).unwrap();
        assert!((d - 40.0).abs() < 1e-9 && varied, "{d}");
        assert_eq!(typical_delay(&[0.0, 0.0, 40.0]), None);
        assert_eq!(typical_delay(&[]), None);
    }
}
