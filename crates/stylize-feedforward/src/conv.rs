//! A 2-D convolution on planar (NCHW, batch 1) data, as matrix products:
//! each block of output rows gathers its receptive fields into a patch
//! matrix (im2col) and multiplies it by the kernel with faer, on the
//! calling rayon pool.
//!
//! The input comes already padded (the networks pad by reflection), so the
//! convolution itself is "valid".

use std::sync::Mutex;

use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Large buffers kept between layers and runs, so that a run does not
/// fault in fresh pages for every tensor (a 512 px run's activations are
/// tens of MB).
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    free: Mutex<Vec<Vec<f32>>>,
}

impl Scratch {
    /// A buffer of `n` values, contents unspecified (callers overwrite
    /// all of it).
    pub fn take(&self, n: usize) -> Vec<f32> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        // The smallest buffer that is large enough; else a new one, with
        // room for the slightly larger padded tensors of the same size.
        let best = (0..free.len())
            .filter(|&i| free[i].capacity() >= n)
            .min_by_key(|&i| free[i].capacity());
        let mut v = match best {
            Some(i) => free.swap_remove(i),
            None => Vec::with_capacity(n + n / 8),
        };
        drop(free);
        if v.len() < n {
            v.resize(n, 0.0);
        } else {
            v.truncate(n);
        }
        v
    }

    /// Gives a buffer back.
    pub fn give(&self, v: Vec<f32>) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        free.push(v);
    }

    /// Planes of the given size, contents unspecified.
    pub fn planes(&self, channels: usize, height: usize, width: usize) -> Planes {
        Planes {
            channels,
            height,
            width,
            data: self.take(channels * height * width),
        }
    }
}

/// Patch-matrix entries a block of output rows aims at (its `f32`s stay
/// in a core's L2 cache with the product's panels).
const BLOCK_ENTRIES: usize = 96 * 1024;

/// A convolution without bias: `cout` filters of `cin x k x k`, stride
/// `stride`.
#[derive(Debug, Clone)]
pub(crate) struct Conv {
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    /// ONNX's `[cout][cin][k][k]` order: filter `o` is the `o`-th run of
    /// `cin * k * k` values, which is the column-major `(cin k k) x cout`
    /// matrix the product needs.
    pub weights: Vec<f32>,
}

/// A planar image: `channels` planes of `height x width`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Planes {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

impl Planes {
    #[cfg(test)]
    pub fn zeros(channels: usize, height: usize, width: usize) -> Self {
        Planes {
            channels,
            height,
            width,
            data: vec![0.0; channels * height * width],
        }
    }

    pub fn plane(&self) -> usize {
        self.height * self.width
    }

    /// This image with `pad` pixels reflected on every side (the edge
    /// pixel not repeated, as ONNX's `reflect` and PyTorch's
    /// `ReflectionPad2d`). Needs `pad < height, width`.
    pub fn reflect_pad(&self, pad: usize, scratch: &Scratch) -> Planes {
        let (h, w) = (self.height, self.width);
        let (ph, pw) = (h + 2 * pad, w + 2 * pad);
        let mut out = scratch.planes(self.channels, ph, pw);
        let reflect = |i: isize, n: usize| -> usize {
            let n = n as isize;
            let r = if i < 0 {
                -i
            } else if i >= n {
                2 * (n - 1) - i
            } else {
                i
            };
            r.clamp(0, n - 1) as usize
        };
        out.data
            .par_chunks_mut(ph * pw)
            .zip(self.data.par_chunks(h * w))
            .for_each(|(dst, src)| {
                for (y, row) in dst.chunks_mut(pw).enumerate() {
                    let sy = reflect(y as isize - pad as isize, h);
                    let srow = &src[sy * w..(sy + 1) * w];
                    for x in 0..pad {
                        row[x] = srow[reflect(x as isize - pad as isize, w)];
                        row[pad + w + x] = srow[reflect((w + x) as isize, w)];
                    }
                    row[pad..pad + w].copy_from_slice(srow);
                }
            });
        out
    }
}

impl Conv {
    /// The output size for a padded input of `height x width`.
    pub fn output_size(&self, height: usize, width: usize) -> (usize, usize) {
        (
            (height - self.k) / self.stride + 1,
            (width - self.k) / self.stride + 1,
        )
    }

    /// The convolution of `input` (already padded), on the current rayon
    /// pool.
    pub fn forward(&self, input: &Planes, scratch: &Scratch) -> Planes {
        debug_assert_eq!(input.channels, self.cin);
        let (oh, ow) = self.output_size(input.height, input.width);
        let mut out = scratch.planes(self.cout, oh, ow);
        let depth = self.cin * self.k * self.k;
        let plane = oh * ow;
        // Blocks of consecutive output pixels (not whole rows: a 1024 px
        // row of a 9x9 layer's patches would not fit in L2).
        let block = (BLOCK_ENTRIES / depth).clamp(64, plane.max(64));
        let rhs = MatRef::from_column_major_slice(&self.weights, depth, self.cout);
        let dst = MatMut::from_column_major_slice_mut(&mut out.data, plane, self.cout);
        let mut blocks = Vec::with_capacity(plane.div_ceil(block));
        let mut rest = dst;
        let mut p0 = 0;
        while p0 < plane {
            let m = block.min(plane - p0);
            let (head, tail) = rest.split_at_row_mut(m);
            blocks.push((p0, head));
            rest = tail;
            p0 += m;
        }
        blocks
            .into_par_iter()
            .for_each_init(Vec::<f32>::new, |patches, (p0, dst)| {
                let m = dst.nrows();
                // No clearing: the gather overwrites every entry.
                patches.resize(m * depth, 0.0);
                self.gather(input, p0, m, ow, patches);
                let lhs = MatRef::from_column_major_slice(patches, m, depth);
                faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs, 1.0, Par::Seq);
            });
        out
    }

    /// The patch matrix of output pixels `p0..p0 + m` (row-major pixel
    /// order, `ow` per row): column-major, one column per `(ci, ky, kx)`.
    fn gather(&self, input: &Planes, p0: usize, m: usize, ow: usize, patches: &mut [f32]) {
        let (k, s) = (self.k, self.stride);
        let (iw, plane) = (input.width, input.plane());
        for ci in 0..self.cin {
            let src = &input.data[ci * plane..(ci + 1) * plane];
            for ky in 0..k {
                for kx in 0..k {
                    let col = (ci * k + ky) * k + kx;
                    let dst = &mut patches[col * m..(col + 1) * m];
                    // Row segments of the pixel range.
                    let mut p = p0;
                    let mut d = 0;
                    while d < m {
                        let (oy, ox) = (p / ow, p % ow);
                        let n = (ow - ox).min(m - d);
                        let drow = &mut dst[d..d + n];
                        let srow = &src[(oy * s + ky) * iw + ox * s + kx..];
                        match s {
                            1 => drow.copy_from_slice(&srow[..n]),
                            // Every other value, in a form that vectorises.
                            2 => {
                                for (dv, pair) in drow.iter_mut().zip(srow.chunks_exact(2)) {
                                    *dv = pair[0];
                                }
                                if srow.len() < 2 * n {
                                    drow[n - 1] = srow[2 * (n - 1)];
                                }
                            }
                            _ => {
                                for (dv, v) in drow.iter_mut().zip(srow.iter().step_by(s)) {
                                    *dv = *v;
                                }
                            }
                        }
                        p += n;
                        d += n;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct sum, for checking.
    fn direct(conv: &Conv, input: &Planes) -> Planes {
        let (oh, ow) = conv.output_size(input.height, input.width);
        let mut out = Planes::zeros(conv.cout, oh, ow);
        let k = conv.k;
        for o in 0..conv.cout {
            for y in 0..oh {
                for x in 0..ow {
                    let mut sum = 0.0f64;
                    for ci in 0..conv.cin {
                        for ky in 0..k {
                            for kx in 0..k {
                                let w = conv.weights[((o * conv.cin + ci) * k + ky) * k + kx];
                                let v = input.data[ci * input.plane()
                                    + (y * conv.stride + ky) * input.width
                                    + x * conv.stride
                                    + kx];
                                sum += f64::from(w) * f64::from(v);
                            }
                        }
                    }
                    out.data[o * oh * ow + y * ow + x] = sum as f32;
                }
            }
        }
        out
    }

    fn noise(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn products_match_the_direct_sum() {
        for (cin, cout, k, stride, h, w) in [
            (3, 5, 9, 1, 21, 17),
            (4, 3, 3, 2, 12, 15),
            (2, 8, 3, 1, 40, 70),
        ] {
            let conv = Conv {
                cin,
                cout,
                k,
                stride,
                weights: noise(cout * cin * k * k, 1),
            };
            let input = Planes {
                channels: cin,
                height: h,
                width: w,
                data: noise(cin * h * w, 2),
            };
            let got = conv.forward(&input, &Scratch::default());
            let want = direct(&conv, &input);
            assert_eq!((got.height, got.width), (want.height, want.width));
            let err = got
                .data
                .iter()
                .zip(&want.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(err < 1e-4, "{cin}->{cout} k{k} s{stride}: max error {err}");
        }
    }

    #[test]
    fn reflection_skips_the_edge_pixel() {
        let row = [1.0, 2.0, 3.0, 4.0];
        let img3 = Planes {
            channels: 1,
            height: 3,
            width: 4,
            data: [row, row, row].concat(),
        };
        let p = img3.reflect_pad(2, &Scratch::default());
        assert_eq!(&p.data[..8], &[3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]);
    }
}
