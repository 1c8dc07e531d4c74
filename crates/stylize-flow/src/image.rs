//! Grey images and the image pyramid DIS works on.

use crate::error::{check_len, FlowError};
use crate::workspace::Workspace;

/// Luma weights (ITU-R BT.601, the weights of OpenCV's RGB to grey).
const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

/// A single-channel `f32` image, row-major, values on a 0..255 scale.
///
/// The scale matters: DIS' intensity-dependent constants (see
/// [`DisParams`](crate::DisParams)) are tuned for 8-bit grey levels. Use
/// [`GrayImage::from_unit`] for values in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct GrayImage {
    width: usize,
    height: usize,
    data: Vec<f32>,
}

impl GrayImage {
    /// An image from row-major values on a 0..255 scale.
    ///
    /// # Errors
    /// [`FlowError::BufferLength`] when `data` does not hold
    /// `width * height` values; [`FlowError::InvalidParams`] when
    /// `width * height` overflows.
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Result<Self, FlowError> {
        check_len(data.len(), width, height, 1)?;
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// An image from row-major values in [0, 1] (scaled by 255).
    ///
    /// # Errors
    /// As [`GrayImage::new`].
    pub fn from_unit(width: usize, height: usize, mut data: Vec<f32>) -> Result<Self, FlowError> {
        check_len(data.len(), width, height, 1)?;
        data.iter_mut().for_each(|v| *v *= 255.0);
        Self::new(width, height, data)
    }

    /// The luma of a planar RGB image with values in [0, 1] (three
    /// `width * height` planes, R then G then B: stylize's layout).
    ///
    /// # Errors
    /// [`FlowError::BufferLength`] when `rgb` does not hold
    /// `3 * width * height` values; [`FlowError::InvalidParams`] when that
    /// product overflows.
    pub fn from_rgb_planar(width: usize, height: usize, rgb: &[f32]) -> Result<Self, FlowError> {
        check_len(rgb.len(), width, height, 3)?;
        let n = width * height;
        let (r, gb) = rgb.split_at(n);
        let (g, b) = gb.split_at(n);
        let data = r
            .iter()
            .zip(g)
            .zip(b)
            .map(|((r, g), b)| 255.0 * (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b))
            .collect();
        Self::new(width, height, data)
    }

    /// The luma of an interleaved 8-bit RGB image (`RGBRGB...`).
    ///
    /// # Errors
    /// As [`GrayImage::from_rgb_planar`].
    pub fn from_rgb8(width: usize, height: usize, rgb: &[u8]) -> Result<Self, FlowError> {
        check_len(rgb.len(), width, height, 3)?;
        let data = rgb
            .chunks_exact(3)
            .map(|p| {
                LUMA[0] * f32::from(p[0]) + LUMA[1] * f32::from(p[1]) + LUMA[2] * f32::from(p[2])
            })
            .collect();
        Self::new(width, height, data)
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The row-major values.
    pub fn data(&self) -> &[f32] {
        &self.data
    }
}

/// One pyramid level: both frames and the first frame's gradient.
pub(crate) struct Level {
    pub w: usize,
    pub h: usize,
    /// First frame.
    pub i0: Vec<f32>,
    /// Second frame.
    pub i1: Vec<f32>,
    /// x derivative of the first frame (3x3 Sobel / 8).
    pub gx: Vec<f32>,
    /// y derivative of the first frame (3x3 Sobel / 8).
    pub gy: Vec<f32>,
    /// Second frame with replicated borders, for patch sampling.
    pub i1p: Padded,
}

/// An image with `pad` replicated pixels on every side: bilinear samples
/// of a whole patch need no per-pixel clamping.
pub(crate) struct Padded {
    pub data: Vec<f32>,
    /// Padded width.
    pub pw: usize,
    pub pad: usize,
}

impl Padded {
    pub fn new(img: &[f32], w: usize, h: usize, pad: usize, ws: &mut Workspace) -> Self {
        let pw = w + 2 * pad;
        let mut data = ws.zeroed(pw * (h + 2 * pad));
        for (y, row) in data.chunks_exact_mut(pw).enumerate() {
            let src = &img[y.saturating_sub(pad).min(h - 1) * w..][..w];
            row[..pad].fill(src[0]);
            row[pad..pad + w].copy_from_slice(src);
            row[pad + w..].fill(src[w - 1]);
        }
        Self { data, pw, pad }
    }

    /// Index of the top-left bilinear tap of image position `(px, py)`
    /// (which must lie at least `-pad` from the image) and the four
    /// bilinear weights (top-left, top-right, bottom-left, bottom-right).
    #[inline(always)]
    pub fn taps(&self, px: f32, py: f32) -> (usize, [f32; 4]) {
        let (fx0, fy0) = (px.floor(), py.floor());
        let (fx, fy) = (px - fx0, py - fy0);
        let ix = (fx0 as isize + self.pad as isize) as usize;
        let iy = (fy0 as isize + self.pad as isize) as usize;
        let wts = [
            (1.0 - fx) * (1.0 - fy),
            fx * (1.0 - fy),
            (1.0 - fx) * fy,
            fx * fy,
        ];
        (iy * self.pw + ix, wts)
    }
}

/// Levels `finest..=coarsest` (index 0 is `finest`) of the pyramids of `a`
/// and `b`; `pad` is the border of [`Level::i1p`].
pub(crate) fn pyramid(
    a: &GrayImage,
    b: &GrayImage,
    finest: usize,
    coarsest: usize,
    pad: usize,
    ws: &mut Workspace,
) -> Vec<Level> {
    let mut levels: Vec<Level> = Vec::with_capacity(coarsest + 1 - finest);
    // The current scale's images (scale 0 borrowed from the inputs).
    let (mut cur_a, mut cur_b) = (None::<Vec<f32>>, None::<Vec<f32>>);
    let (mut w, mut h) = (a.width, a.height);
    for s in 0..=coarsest {
        if s > 0 {
            let (src_a, src_b) = match (&cur_a, &cur_b) {
                (Some(x), Some(y)) => (&x[..], &y[..]),
                _ => (&a.data[..], &b.data[..]),
            };
            let (nw, nh) = (w / 2, h / 2);
            let (mut ha, mut hb) = (ws.zeroed(nw * nh), ws.zeroed(nh * nw));
            rayon::join(
                || half(src_a, w, &mut ha, nw),
                || half(src_b, w, &mut hb, nw),
            );
            ws.recycle(cur_a.replace(ha).into_iter().chain(cur_b.replace(hb)));
            (w, h) = (nw, nh);
        }
        if s >= finest {
            let (i0, i1) = match (&cur_a, &cur_b) {
                (Some(x), Some(y)) => (ws.copy_of(x), ws.copy_of(y)),
                _ => (ws.copy_of(&a.data), ws.copy_of(&b.data)),
            };
            let (mut gx, mut gy) = (ws.zeroed(w * h), ws.zeroed(w * h));
            sobel(&i0, w, h, &mut gx, &mut gy);
            let i1p = Padded::new(&i1, w, h, pad, ws);
            levels.push(Level {
                w,
                h,
                i0,
                i1,
                gx,
                gy,
                i1p,
            });
        }
    }
    ws.recycle(cur_a.into_iter().chain(cur_b));
    levels
}

/// `dst` (`dw` wide) = `src` (`sw` wide) halved: each pixel the mean of a
/// 2x2 block.
fn half(src: &[f32], sw: usize, dst: &mut [f32], dw: usize) {
    if dw == 0 {
        return;
    }
    for (y, row) in dst.chunks_exact_mut(dw).enumerate() {
        let r0 = &src[2 * y * sw..][..2 * dw];
        let r1 = &src[(2 * y + 1) * sw..][..2 * dw];
        for ((o, a), b) in row
            .iter_mut()
            .zip(r0.chunks_exact(2))
            .zip(r1.chunks_exact(2))
        {
            *o = 0.25 * (a[0] + a[1] + b[0] + b[1]);
        }
    }
}

/// 3x3 Sobel derivatives divided by 8 (so a unit ramp has derivative 1),
/// borders replicated.
pub(crate) fn sobel(img: &[f32], w: usize, h: usize, gx: &mut [f32], gy: &mut [f32]) {
    let mut s = vec![0.0; w];
    let mut d = vec![0.0; w];
    for y in 0..h {
        let up = &img[y.saturating_sub(1) * w..][..w];
        let mid = &img[y * w..][..w];
        let down = &img[(y + 1).min(h - 1) * w..][..w];
        for x in 0..w {
            s[x] = up[x] + 2.0 * mid[x] + down[x];
            d[x] = down[x] - up[x];
        }
        let (rx, ry) = (&mut gx[y * w..][..w], &mut gy[y * w..][..w]);
        for x in 0..w {
            let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
            rx[x] = 0.125 * (s[r] - s[l]);
            ry[x] = 0.125 * (d[l] + 2.0 * d[x] + d[r]);
        }
    }
}

/// Bilinear sample of `img` at `(x, y)`, the position clamped to the image
/// (so outside samples repeat the border).
#[inline(always)]
pub(crate) fn sample_clamped(img: &[f32], w: usize, h: usize, x: f32, y: f32) -> f32 {
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let x1 = (x0 + 1).min(w - 1);
    let y1 = (y0 + 1).min(h - 1);
    let r0 = &img[y0 * w..];
    let r1 = &img[y1 * w..];
    let top = r0[x0] + fx * (r0[x1] - r0[x0]);
    let bottom = r1[x0] + fx * (r1[x1] - r1[x0]);
    top + fy * (bottom - top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sobel_of_a_ramp_is_its_slope() {
        let (w, h) = (7, 5);
        let img: Vec<f32> = (0..w * h)
            .map(|i| 3.0 * (i % w) as f32 - 2.0 * (i / w) as f32)
            .collect();
        let (mut gx, mut gy) = (vec![0.0; w * h], vec![0.0; w * h]);
        sobel(&img, w, h, &mut gx, &mut gy);
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                assert!((gx[y * w + x] - 3.0).abs() < 1e-5);
                assert!((gy[y * w + x] + 2.0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn half_averages_blocks_and_rounds_down() {
        let img: Vec<f32> = (0..15).map(|v| v as f32).collect();
        let mut out = [0.0; 2];
        half(&img, 5, &mut out, 2);
        assert_eq!(out, [3.0, 5.0]);
    }

    #[test]
    fn rgb_conversions_agree() {
        let rgb8 = [255u8, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128];
        let planar: Vec<f32> = (0..3)
            .flat_map(|c| (0..4).map(move |p| f32::from(rgb8[3 * p + c]) / 255.0))
            .collect();
        let a = GrayImage::from_rgb8(2, 2, &rgb8).unwrap();
        let b = GrayImage::from_rgb_planar(2, 2, &planar).unwrap();
        for (x, y) in a.data().iter().zip(b.data()) {
            assert!((x - y).abs() < 1e-3);
        }
        assert!((a.data()[3] - 128.0).abs() < 1e-3);
        // BT.601 luma (OpenCV's `COLOR_RGB2GRAY`): 0.299 R + 0.587 G +
        // 0.114 B.
        for (got, want) in a.data()[..3].iter().zip([76.245, 149.685, 29.07]) {
            assert!((got - want).abs() < 1e-3, "{got} against {want}");
        }
    }

    #[test]
    fn wrong_lengths_are_errors() {
        assert!(matches!(
            GrayImage::new(3, 3, vec![0.0; 8]),
            Err(FlowError::BufferLength {
                expected: 9,
                actual: 8
            })
        ));
        assert!(GrayImage::from_rgb8(2, 2, &[0; 11]).is_err());
        assert!(GrayImage::from_rgb_planar(2, 2, &[0.0; 13]).is_err());
    }

    #[test]
    fn clamped_sampling_interpolates_and_repeats_borders() {
        let img = [0.0, 10.0, 20.0, 30.0];
        assert!((sample_clamped(&img, 2, 2, 0.5, 0.5) - 15.0).abs() < 1e-6);
        assert_eq!(sample_clamped(&img, 2, 2, -3.0, 7.0), 20.0);
    }
}
