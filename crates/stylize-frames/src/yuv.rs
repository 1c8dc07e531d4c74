//! BT.601 Y'CbCr <-> RGB, and chroma resampling.

use crate::Frame;

const KR: f32 = 0.299;
const KB: f32 = 0.114;
const KG: f32 = 1.0 - KR - KB;

/// The range of Y'CbCr values.
///
/// All conversions use the BT.601 matrix (`Kr = 0.299`, `Kb = 0.114`), in
/// either range:
///
/// - limited ("TV", [`YuvRange::Limited`]): Y' in 16..=235, Cb/Cr in
///   16..=240;
/// - full ("PC"/JPEG, [`YuvRange::Full`]): all three in 0..=255.
///
/// Chroma is upsampled bilinearly assuming centred siting (JPEG / MPEG-1
/// style, `C420jpeg`): chroma sample `i` sits between luma samples `2i` and
/// `2i + 1`, so luma `2i` takes `3/4` of chroma `i` and `1/4` of chroma
/// `i - 1`. MPEG-2 (`C420mpeg2`, left-sited) and DV (`C420paldv`) chroma is
/// read the same way, a quarter chroma sample off. Downsampling (writing
/// 4:2:0) averages each 2x2 block, which matches centred siting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum YuvRange {
    /// Y' 16..=235, Cb/Cr 16..=240: what video codecs and players assume
    /// unless told otherwise, and what Y4M means without `XCOLORRANGE`.
    #[default]
    Limited,
    /// All 0..=255 (JPEG).
    Full,
}

impl YuvRange {
    /// `(luma scale, luma offset, chroma scale)` mapping `[0, 255]` values
    /// onto the coded range.
    fn scales(self) -> (f32, f32, f32) {
        match self {
            YuvRange::Limited => (219.0 / 255.0, 16.0, 224.0 / 255.0),
            YuvRange::Full => (1.0, 0.0, 1.0),
        }
    }
}

/// `[Y', Cb - 128, Cr - 128]` of an RGB pixel, in the coded range, not
/// rounded (chroma centred on 0).
#[inline]
pub(crate) fn rgb_to_yuv(rgb: [u8; 3], range: YuvRange) -> [f32; 3] {
    let (ys, yo, cs) = range.scales();
    let [r, g, b] = rgb.map(f32::from);
    let y = KR * r + KG * g + KB * b;
    let cb = (b - y) / (2.0 * (1.0 - KB));
    let cr = (r - y) / (2.0 * (1.0 - KR));
    [y * ys + yo, cb * cs, cr * cs]
}

/// The RGB pixel of coded `y`, `cb`, `cr` (chroma still offset by 128).
#[inline]
pub(crate) fn yuv_to_rgb(y: f32, cb: f32, cr: f32, range: YuvRange) -> [u8; 3] {
    let (ys, yo, cs) = range.scales();
    let y = (y - yo) / ys;
    let cb = (cb - 128.0) / cs;
    let cr = (cr - 128.0) / cs;
    let r = y + 2.0 * (1.0 - KR) * cr;
    let b = y + 2.0 * (1.0 - KB) * cb;
    let g = (y - KR * r - KB * b) / KG;
    [r, g, b].map(to_u8)
}

/// Rounds and clamps to `0..=255`.
#[inline]
pub(crate) fn to_u8(v: f32) -> u8 {
    // The clamp makes the cast exact.
    v.round().clamp(0.0, 255.0) as u8
}

/// For each of `n` full-resolution positions, the two chroma samples and
/// the weight of the second, for subsampling factor `s` (1 or 2) over a
/// chroma line of `cn` samples.
fn taps(n: usize, s: usize, cn: usize) -> Vec<(usize, usize, f32)> {
    let last = cn.saturating_sub(1);
    (0..n)
        .map(|x| {
            if s == 1 {
                return (x.min(last), x.min(last), 0.0);
            }
            let i = (x / 2).min(last);
            if x % 2 == 0 {
                (i, i.saturating_sub(1), 0.25)
            } else {
                (i, (i + 1).min(last), 0.25)
            }
        })
        .collect()
}

/// Planar 8-bit Y'CbCr to RGB. `cb`/`cr` are `cw x ch` planes subsampled by
/// `sx`, `sy` (1 or 2); `None` for monochrome.
pub(crate) struct Planes<'a> {
    pub width: usize,
    pub height: usize,
    pub y: &'a [u8],
    pub chroma: Option<(&'a [u8], &'a [u8])>,
    pub sx: usize,
    pub sy: usize,
}

/// Converts planar Y'CbCr to an RGB frame (bilinear chroma upsampling).
pub(crate) fn planes_to_rgb(p: &Planes<'_>, range: YuvRange) -> Frame {
    let (w, h) = (p.width, p.height);
    let mut out = vec![0u8; w * h * 3];
    match p.chroma {
        None => {
            for (o, &y) in out.chunks_exact_mut(3).zip(p.y) {
                let v = yuv_to_rgb(f32::from(y), 128.0, 128.0, range);
                o.copy_from_slice(&v);
            }
        }
        Some((cb, cr)) => {
            let cw = w.div_ceil(p.sx);
            let ch = h.div_ceil(p.sy);
            let xt = taps(w, p.sx, cw);
            let yt = taps(h, p.sy, ch);
            let at = |plane: &[u8], cx: usize, cy: usize| -> f32 {
                plane.get(cy * cw + cx).copied().map_or(128.0, f32::from)
            };
            for (row, &(y0, y1, wy)) in yt.iter().enumerate() {
                for (col, &(x0, x1, wx)) in xt.iter().enumerate() {
                    let sample = |plane: &[u8]| -> f32 {
                        let top = at(plane, x0, y0) * (1.0 - wx) + at(plane, x1, y0) * wx;
                        let bottom = at(plane, x0, y1) * (1.0 - wx) + at(plane, x1, y1) * wx;
                        top * (1.0 - wy) + bottom * wy
                    };
                    let i = row * w + col;
                    let luma = p.y.get(i).copied().map_or(0.0, f32::from);
                    let rgb = yuv_to_rgb(luma, sample(cb), sample(cr), range);
                    out[i * 3..i * 3 + 3].copy_from_slice(&rgb);
                }
            }
        }
    }
    // The buffer has exactly w * h * 3 bytes.
    Frame::from_raw(w as u32, h as u32, out).unwrap_or_default()
}

/// Planar 8-bit Y'CbCr of `frame`: `(Y, Cb, Cr)` with chroma subsampled by
/// `s` (1: 4:4:4; 2: 4:2:0 by 2x2 averages).
pub(crate) fn rgb_to_planes(frame: &Frame, s: usize, range: YuvRange) -> [Vec<u8>; 3] {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let mut y = Vec::with_capacity(w * h);
    let mut cb = vec![0f32; w * h];
    let mut cr = vec![0f32; w * h];
    for (i, p) in frame.pixels().enumerate() {
        let [py, pb, pr] = rgb_to_yuv(p.0, range);
        y.push(to_u8(py));
        cb[i] = pb;
        cr[i] = pr;
    }
    if s == 1 {
        let q = |v: Vec<f32>| v.into_iter().map(|c| to_u8(c + 128.0)).collect();
        return [y, q(cb), q(cr)];
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let down = |plane: &[f32]| -> Vec<u8> {
        let mut out = Vec::with_capacity(cw * ch);
        for cy in 0..ch {
            for cx in 0..cw {
                let (mut sum, mut n) = (0.0, 0.0);
                for yy in 2 * cy..(2 * cy + 2).min(h) {
                    for xx in 2 * cx..(2 * cx + 2).min(w) {
                        sum += plane[yy * w + xx];
                        n += 1.0;
                    }
                }
                out.push(to_u8(sum / n + 128.0));
            }
        }
        out
    };
    let (b, r) = (down(&cb), down(&cr));
    [y, b, r]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // White and black in limited range.
        let [y, cb, cr] = rgb_to_yuv([255, 255, 255], YuvRange::Limited);
        assert!((y - 235.0).abs() < 0.01 && cb.abs() < 0.01 && cr.abs() < 0.01);
        let [y, ..] = rgb_to_yuv([0, 0, 0], YuvRange::Limited);
        assert!((y - 16.0).abs() < 0.01);
        // Pure red: Cr at its maximum (240 limited, 255.5 full).
        let [_, _, cr] = rgb_to_yuv([255, 0, 0], YuvRange::Limited);
        assert!((cr + 128.0 - 240.0).abs() < 0.01);
        assert_eq!(yuv_to_rgb(235.0, 128.0, 128.0, YuvRange::Limited), [255; 3]);
        assert_eq!(yuv_to_rgb(16.0, 128.0, 128.0, YuvRange::Limited), [0; 3]);
    }

    #[test]
    fn round_trip_every_grey_and_primaries() {
        for range in [YuvRange::Limited, YuvRange::Full] {
            for rgb in [[255, 0, 0], [0, 255, 0], [0, 0, 255], [12, 200, 99]] {
                let [y, cb, cr] = rgb_to_yuv(rgb, range);
                let back = yuv_to_rgb(y.round(), cb.round() + 128.0, cr.round() + 128.0, range);
                for c in 0..3 {
                    assert!(
                        (i32::from(back[c]) - i32::from(rgb[c])).abs() <= 2,
                        "{rgb:?} {back:?}"
                    );
                }
            }
        }
    }
}
