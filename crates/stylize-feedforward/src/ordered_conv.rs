//! A dense convolution whose sums run in one fixed order: the order of
//! onnxruntime's float convolution (MLAS), so that a quantisation after it
//! rounds every value to the same side.
//!
//! An int8 network's float layers end in a rounding to the next layer's
//! steps; a sum that lands within float rounding of a step boundary goes
//! either way depending on the order of its additions, and one such value
//! changes everything downstream (the style predictor's vector moved by a
//! step in about 30 of its 100 numbers when our faer products summed in
//! their own order). MLAS computes a convolution as a matrix product of
//! the filters (`cout x K`, `K = cin * k * k` in `(channel, row, column)`
//! order) and the patch matrix (`K x pixels`): every output value is the
//! taps summed in runs of `block` (its K stride), each run by fused
//! multiply-adds from zero in tap order, the runs added in turn, and the
//! bias added last. [`OrderedConv`] sums exactly so.

use pulp::{Simd, WithSimd};
use rayon::prelude::*;

use crate::conv::{Planes, Scratch};

/// `cout` filters of `cin x k x k`, stride `stride`, zero padding `[top,
/// left, bottom, right]`, a bias per filter, summed in runs of `block`
/// taps.
#[derive(Debug, Clone)]
pub(crate) struct OrderedConv {
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    pub pads: [usize; 4],
    /// ONNX's `[cout][cin][k][k]`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
}

/// Output pixels one task sums at a time (per filter, in registers or L1).
const TILE: usize = 64;
/// Filters one task sums together (each patch row is loaded once for all).
const FILTERS: usize = 4;

impl OrderedConv {
    /// The output size for an input of `height x width`.
    pub fn output_size(&self, height: usize, width: usize) -> (usize, usize) {
        let [top, left, bottom, right] = self.pads;
        (
            (height + top + bottom - self.k) / self.stride + 1,
            (width + left + right - self.k) / self.stride + 1,
        )
    }

    /// MLAS's K stride for a product with `n` output pixels on one thread:
    /// 128 taps, doubled for every halving of its N stride (128, at least
    /// 16) that still covers `n` when `n` is below the tap count. With
    /// one or two threads each thread's `n` gives the same stride for
    /// every layer of the style predictor (at 256 x 256).
    pub fn block(&self, n: usize) -> usize {
        let taps = self.cin * self.k * self.k;
        let (mut stride_n, mut stride_k) = (128usize, 128usize);
        if n >= taps {
            // (MLAS widens its N stride as much; only the K stride counts.)
            while stride_k / 2 >= taps {
                stride_k /= 2;
            }
        } else {
            while stride_n > 16 && stride_n / 2 >= n {
                stride_k *= 2;
                stride_n /= 2;
            }
        }
        stride_k
    }

    /// The convolution of `x` (compact planes), on the current rayon pool.
    pub fn forward(&self, x: &Planes, scratch: &Scratch) -> Planes {
        debug_assert_eq!(x.channels, self.cin);
        let (oh, ow) = self.output_size(x.height, x.width);
        let n = oh * ow;
        let taps = self.cin * self.k * self.k;
        // The patch matrix (`taps x n`); a 1x1 stride-1 layer's is the input.
        let direct = self.k == 1 && self.stride == 1 && self.pads == [0; 4] && x.pitch == x.width;
        let patches = if direct {
            None
        } else {
            let mut p = scratch.take(taps * n);
            p.par_chunks_mut(n).enumerate().for_each(|(t, row)| {
                let (c, ky, kx) = (t / (self.k * self.k), t / self.k % self.k, t % self.k);
                let [top, left, _, _] = self.pads;
                for oy in 0..oh {
                    let iy = (oy * self.stride + ky).checked_sub(top);
                    for ox in 0..ow {
                        let ix = (ox * self.stride + kx).checked_sub(left);
                        row[oy * ow + ox] = match (iy, ix) {
                            (Some(iy), Some(ix)) if iy < x.height && ix < x.width => {
                                x.data[c * x.plane() + iy * x.pitch + ix]
                            }
                            _ => 0.0,
                        };
                    }
                }
            });
            Some(p)
        };
        let matrix: &[f32] = match &patches {
            Some(p) => p,
            None => &x.data[..taps * n],
        };
        let block = self.block(n);
        let mut out = scratch.planes(self.cout, oh, ow);
        let tiles = n.div_ceil(TILE);
        out.data
            .par_chunks_mut(n * FILTERS)
            .enumerate()
            .for_each(|(g, dst)| {
                let first = g * FILTERS;
                for t in 0..tiles {
                    let (from, to) = (t * TILE, ((t + 1) * TILE).min(n));
                    scratch.isa.arch().dispatch(Tile {
                        conv: self,
                        matrix,
                        n,
                        first,
                        from,
                        to,
                        block,
                        dst: &mut *dst,
                    });
                }
            });
        if let Some(p) = patches {
            scratch.give(p);
        }
        out
    }
}

/// Up to [`FILTERS`] filters over output pixels `from..to`, compiled for
/// the CPU's instruction set (`f32::mul_add` is one fused instruction
/// there, and a correctly rounded library call without FMA hardware: the
/// same result either way).
struct Tile<'a> {
    conv: &'a OrderedConv,
    matrix: &'a [f32],
    n: usize,
    first: usize,
    from: usize,
    to: usize,
    block: usize,
    /// The filters' output planes from `first` on.
    dst: &'a mut [f32],
}

impl WithSimd for Tile<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Tile {
            conv,
            matrix,
            n,
            first,
            from,
            to,
            block,
            dst,
        } = self;
        let taps = conv.cin * conv.k * conv.k;
        let filters = (conv.cout - first).min(FILTERS);
        let len = to - from;
        let mut total = [[0.0f32; TILE]; FILTERS];
        let mut run = [[0.0f32; TILE]; FILTERS];
        let mut start = 0;
        while start < taps {
            let end = (start + block).min(taps);
            for r in run.iter_mut() {
                r.fill(0.0);
            }
            for tap in start..end {
                let row = &matrix[tap * n + from..tap * n + to];
                for (f, r) in run.iter_mut().enumerate().take(filters) {
                    let w = conv.weights[(first + f) * taps + tap];
                    for (acc, v) in r[..len].iter_mut().zip(row) {
                        *acc = w.mul_add(*v, *acc);
                    }
                }
            }
            for (t, r) in total.iter_mut().zip(&run).take(filters) {
                if start == 0 {
                    t[..len].copy_from_slice(&r[..len]);
                } else {
                    t[..len]
                        .iter_mut()
                        .zip(&r[..len])
                        .for_each(|(a, b)| *a += b);
                }
            }
            start = end;
        }
        for (f, t) in total.iter().enumerate().take(filters) {
            let b = conv.bias[first + f];
            let out = &mut dst[f * n + from..f * n + to];
            out.iter_mut().zip(&t[..len]).for_each(|(o, v)| *o = v + b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::noise;

    /// The order spelled out one value at a time.
    fn reference(c: &OrderedConv, x: &Planes) -> Vec<f32> {
        let (oh, ow) = c.output_size(x.height, x.width);
        let taps = c.cin * c.k * c.k;
        let block = c.block(oh * ow);
        let [top, left, _, _] = c.pads;
        let mut out = Vec::new();
        for o in 0..c.cout {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut total = 0.0f32;
                    for (b, chunk) in (0..taps).collect::<Vec<_>>().chunks(block).enumerate() {
                        let mut run = 0.0f32;
                        for &t in chunk {
                            let (ci, ky, kx) = (t / (c.k * c.k), t / c.k % c.k, t % c.k);
                            let iy = (oy * c.stride + ky) as isize - top as isize;
                            let ix = (ox * c.stride + kx) as isize - left as isize;
                            let v = if iy >= 0
                                && ix >= 0
                                && (iy as usize) < x.height
                                && (ix as usize) < x.width
                            {
                                x.data[ci * x.plane() + iy as usize * x.width + ix as usize]
                            } else {
                                0.0
                            };
                            run = c.weights[o * taps + t].mul_add(v, run);
                        }
                        total = if b == 0 { run } else { total + run };
                    }
                    out.push(total + c.bias[o]);
                }
            }
        }
        out
    }

    #[test]
    fn sums_in_runs_of_the_k_stride_bit_for_bit() {
        // A 3x3 stride-2 layer padded at the bottom right (the predictor's
        // first), a 1x1 layer with more taps than one run, and one whose
        // few pixels lengthen the run.
        for (cin, cout, k, stride, pads, h, w) in [
            (3, 6, 3, 2, [0, 0, 1, 1], 10, 14),
            (300, 5, 1, 1, [0; 4], 9, 21),
            (600, 3, 1, 1, [0; 4], 3, 3),
        ] {
            let conv = OrderedConv {
                cin,
                cout,
                k,
                stride,
                pads,
                weights: noise(cout * cin * k * k, 1),
                bias: noise(cout, 2),
            };
            let x = Planes::packed(cin, h, w, noise(cin * h * w, 3));
            let got = conv.forward(&x, &Scratch::default());
            let want = reference(&conv, &x);
            assert_eq!(got.data.len(), want.len());
            for (i, (a, b)) in got.data.iter().zip(&want).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "{cin}x{k}x{k}: value {i}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn the_k_stride_follows_the_pixel_count() {
        let conv = |cin| OrderedConv {
            cin,
            cout: 1,
            k: 1,
            stride: 1,
            pads: [0; 4],
            weights: vec![],
            bias: vec![],
        };
        // Enough pixels: 128 taps a run.
        assert_eq!(conv(576).block(128), 128);
        assert_eq!(conv(960).block(1024), 128);
        // An 8x8 layer: 256; the 1x1 vector: 1024.
        assert_eq!(conv(960).block(64), 256);
        assert_eq!(conv(1280).block(1), 1024);
        // Few taps: one run.
        assert_eq!(conv(27).block(16384), 32);
    }
}
