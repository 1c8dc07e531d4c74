//! A depthwise convolution (one filter per channel, ONNX `group` equal to
//! the channels) with zero padding, on planar data: MobileNet's 3x3
//! layers.

use pulp::{Simd, WithSimd};
use rayon::prelude::*;

use crate::conv::{Planes, Scratch};

/// `channels` filters of `k x k`, stride `stride`, padding `[top, left,
/// bottom, right]` of zeros, and a bias per channel.
#[derive(Debug, Clone)]
pub(crate) struct Depthwise {
    pub channels: usize,
    pub k: usize,
    pub stride: usize,
    pub pads: [usize; 4],
    /// `[channel][k][k]`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
}

impl Depthwise {
    /// The output size for an input of `height x width`.
    pub fn output_size(&self, height: usize, width: usize) -> (usize, usize) {
        let [top, left, bottom, right] = self.pads;
        (
            (height + top + bottom - self.k) / self.stride + 1,
            (width + left + right - self.k) / self.stride + 1,
        )
    }

    /// The convolution of `x` (compact planes), on the current rayon pool.
    pub fn forward(&self, x: &Planes, scratch: &Scratch) -> Planes {
        debug_assert_eq!(x.channels, self.channels);
        let (oh, ow) = self.output_size(x.height, x.width);
        let mut out = scratch.planes(self.channels, oh, ow);
        let kk = self.k * self.k;
        out.data
            .par_chunks_mut(oh * ow)
            .enumerate()
            .for_each(|(c, dst)| {
                scratch.isa.arch().dispatch(Channel {
                    d: self,
                    src: &x.data[c * x.plane()..(c + 1) * x.plane()],
                    h: x.height,
                    w: x.width,
                    pitch: x.pitch,
                    weights: &self.weights[c * kk..(c + 1) * kk],
                    bias: self.bias[c],
                    dst,
                    ow,
                })
            });
        out
    }
}

/// One channel of [`Depthwise::forward`], compiled for the CPU's
/// instruction set.
struct Channel<'a> {
    d: &'a Depthwise,
    src: &'a [f32],
    h: usize,
    w: usize,
    pitch: usize,
    weights: &'a [f32],
    bias: f32,
    dst: &'a mut [f32],
    ow: usize,
}

impl WithSimd for Channel<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Channel {
            d,
            src,
            h,
            w,
            pitch,
            weights,
            bias,
            dst,
            ow,
        } = self;
        let (k, s) = (d.k, d.stride);
        let [top, left, _, _] = d.pads;
        for (oy, row) in dst.chunks_exact_mut(ow).enumerate() {
            row.fill(bias);
            for ky in 0..k {
                // Input row `oy * s + ky - top`; zero padding outside.
                let Some(iy) = (oy * s + ky).checked_sub(top).filter(|&y| y < h) else {
                    continue;
                };
                let srow = &src[iy * pitch..iy * pitch + w];
                for kx in 0..k {
                    let wgt = weights[ky * k + kx];
                    // Output columns whose input column `ox * s + kx -
                    // left` is inside the row.
                    let first = left.saturating_sub(kx).div_ceil(s);
                    let Some(last) = (w - 1 + left).checked_sub(kx).map(|v| (v / s).min(ow - 1))
                    else {
                        continue;
                    };
                    if first > last {
                        continue;
                    }
                    let i0 = first * s + kx - left;
                    let out = &mut row[first..=last];
                    if s == 1 {
                        for (o, v) in out.iter_mut().zip(&srow[i0..]) {
                            *o += wgt * v;
                        }
                    } else {
                        for (o, v) in out.iter_mut().zip(srow[i0..].iter().step_by(s)) {
                            *o += wgt * v;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::noise;

    /// The direct sum with explicit zero padding.
    fn direct(d: &Depthwise, x: &Planes) -> Vec<f32> {
        let (oh, ow) = d.output_size(x.height, x.width);
        let [top, left, _, _] = d.pads;
        let mut out = Vec::new();
        for c in 0..d.channels {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut sum = f64::from(d.bias[c]);
                    for ky in 0..d.k {
                        for kx in 0..d.k {
                            let iy = (oy * d.stride + ky) as isize - top as isize;
                            let ix = (ox * d.stride + kx) as isize - left as isize;
                            if iy >= 0
                                && ix >= 0
                                && (iy as usize) < x.height
                                && (ix as usize) < x.width
                            {
                                let v = x.data[c * x.plane() + iy as usize * x.width + ix as usize];
                                sum +=
                                    f64::from(d.weights[(c * d.k + ky) * d.k + kx]) * f64::from(v);
                            }
                        }
                    }
                    out.push(sum as f32);
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_direct_sum() {
        for (stride, pads, h, w) in [
            (1, [1, 1, 1, 1], 9, 13),
            (2, [0, 0, 1, 1], 10, 14),
            (2, [1, 1, 1, 1], 9, 7),
        ] {
            let d = Depthwise {
                channels: 3,
                k: 3,
                stride,
                pads,
                weights: noise(27, 1),
                bias: noise(3, 2),
            };
            let x = Planes::packed(3, h, w, noise(3 * h * w, 3));
            let got = d.forward(&x, &Scratch::default());
            let want = direct(&d, &x);
            assert_eq!(got.data.len(), want.len());
            let err = got
                .data
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(err < 1e-5, "stride {stride} pads {pads:?}: {err}");
        }
    }
}
