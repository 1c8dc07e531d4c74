//! A 2-D convolution on planar (NCHW, batch 1) data, over blocks of
//! output pixels, on the calling rayon pool.
//!
//! The input is first reflection-padded and split into phases
//! ([`Source`]), so that every kernel tap of a block is one run of
//! consecutive values, which the block sums directly in vector registers
//! ([`DirectBlock`]). Each block's output is summed per channel while it
//! is in cache, for the normalisation that follows.

use std::borrow::Cow;
use std::sync::Mutex;

use faer::reborrow::ReborrowMut;
use faer::MatMut;
use rayon::prelude::*;

use stylize_matmul::Isa;

use crate::direct::DirectBlock;
use crate::elementwise::{deinterleave, sums as run_sums};

/// Large buffers kept between layers and runs, so that a run does not
/// fault in fresh pages for every tensor (a 512 px run's activations are
/// tens of MB). After a run, [`Scratch::trim`] lets go of all but
/// [`Scratch::KEEP_BYTES`], so one huge image does not leave a
/// long-lived stylizer holding gigabytes.
///
/// It also carries the instruction set the network's kernels run at
/// (given to [`FastStylizer::load_with_isa`](crate::FastStylizer::load_with_isa),
/// or `STYLIZE_SIMD` read by `load`).
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    free: Mutex<Vec<Vec<f32>>>,
    pub(crate) isa: Isa,
}

impl Scratch {
    /// No buffers yet; kernels at `isa`.
    pub fn new(isa: Isa) -> Self {
        Scratch {
            free: Mutex::default(),
            isa,
        }
    }

    /// What [`Scratch::trim`] keeps: every buffer of a 1024x680 frame
    /// (225 MB for the 26-style network, 165 MB for the arbitrary one),
    /// so video at that size reuses them; a 2048 px run's 900 MB is cut
    /// back.
    pub const KEEP_BYTES: usize = 512 << 20;

    /// Frees the largest buffers until those kept hold at most
    /// `keep_bytes`, smallest kept first.
    pub fn trim(&self, keep_bytes: usize) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        free.sort_by_key(Vec::capacity);
        let mut total = 0usize;
        let kept = free
            .iter()
            .take_while(|v| {
                total += v.capacity() * std::mem::size_of::<f32>();
                total <= keep_bytes
            })
            .count();
        free.truncate(kept);
    }

    /// Bytes held in buffers not in use.
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        let free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        free.iter()
            .map(|v| v.capacity() * std::mem::size_of::<f32>())
            .sum()
    }

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
            pitch: width,
            data: self.take(channels * height * width),
        }
    }
}

/// Taps times pixels a block of output pixels aims at (its input stays in
/// a core's L2 cache).
const BLOCK_ENTRIES: usize = 96 * 1024;

/// A convolution without bias: `cout` filters of `cin x k x k`, stride
/// `stride`.
#[derive(Debug, Clone)]
pub(crate) struct Conv {
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    /// ONNX's `[cout][cin][k][k]` order (what [`Conv::weights`] gives).
    weights: Vec<f32>,
    /// `[tap][filter]`, taps in `(channel, row, column)` order: what
    /// [`DirectBlock`] reads.
    direct_weights: Vec<f32>,
    /// Sum in onnxruntime's (MLAS's) order, runs of this many taps (see
    /// [`Conv::in_runs`]); `None`: every value one chain over all taps.
    runs: Option<usize>,
}

/// A planar image: `channels` planes of `height` rows, each row `width`
/// values followed by `pitch - width` unused ones (a convolution writes
/// its rows that way, see [`Source`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Planes {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub pitch: usize,
    pub data: Vec<f32>,
}

impl Planes {
    #[cfg(test)]
    pub fn zeros(channels: usize, height: usize, width: usize) -> Self {
        Self::packed(
            channels,
            height,
            width,
            vec![0.0; channels * height * width],
        )
    }

    /// Planes with no unused values (`pitch == width`).
    #[cfg(test)]
    pub fn packed(channels: usize, height: usize, width: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), channels * height * width);
        Planes {
            channels,
            height,
            width,
            pitch: width,
            data,
        }
    }

    /// Values per plane, unused ones included.
    pub fn plane(&self) -> usize {
        self.height * self.pitch
    }

    /// Row `y` of channel `c`.
    pub fn row(&self, c: usize, y: usize) -> &[f32] {
        let at = c * self.plane() + y * self.pitch;
        &self.data[at..at + self.width]
    }

    /// Nearest-neighbour upsampling by 2 (ONNX `Resize`, `asymmetric`,
    /// `floor`), every source row of channel `c` passed through `map(c,
    /// row)` first.
    pub fn upsample2(&self, map: impl Fn(usize, &mut [f32]) + Sync, scratch: &Scratch) -> Planes {
        let (h, w) = (self.height, self.width);
        let mut out = scratch.planes(self.channels, 2 * h, 2 * w);
        out.data
            .par_chunks_mut(4 * w)
            .enumerate()
            .for_each_init(Vec::new, |row, (i, dst)| {
                let c = i / h;
                row.clear();
                row.extend_from_slice(self.row(c, i % h));
                map(c, row);
                let (top, bottom) = dst.split_at_mut(2 * w);
                for (pair, v) in top.chunks_exact_mut(2).zip(row.iter()) {
                    pair[0] = *v;
                    pair[1] = *v;
                }
                bottom.copy_from_slice(top);
            });
        out
    }

    /// `f(c, values)` on every run of values of channel `c` (unused ones
    /// included), in parallel: a pointwise step applied in place.
    pub fn map_each(&mut self, f: impl Fn(usize, &mut [f32]) + Sync) {
        const CHUNK: usize = 4096;
        let plane = self.plane();
        self.data
            .par_chunks_mut(plane)
            .enumerate()
            .flat_map(|(c, p)| p.par_chunks_mut(CHUNK).map(move |chunk| (c, chunk)))
            .for_each(|(c, chunk)| f(c, chunk));
    }

    /// The same image without unused values (`pitch == width`).
    pub fn compact(self, scratch: &Scratch) -> Planes {
        if self.pitch == self.width {
            return self;
        }
        let mut out = scratch.planes(self.channels, self.height, self.width);
        out.data
            .par_chunks_mut(self.width)
            .enumerate()
            .for_each(|(i, row)| row.copy_from_slice(self.row(i / self.height, i % self.height)));
        scratch.give(self.data);
        out
    }
}

/// A convolution's input, laid out so that each kernel tap reads one
/// contiguous run of values: the image reflection-padded, then split into
/// `stride x stride` phases (phase `(py, px)` holds rows `py, py + stride,
/// ...` and the same columns), each phase a plane of `rows x cols`.
///
/// For output pixel `(oy, ox)`, tap `(ky, kx)` reads phase `(ky % s, kx %
/// s)` at `(oy + ky / s, ox + kx / s)`. Numbering output pixels as
/// `oy * cols + ox` ("wide" pixels, `cols >= ow`, the surplus columns
/// computed and never read) makes that one offset per tap for every
/// pixel; the output keeps that numbering (its rows' pitch is `cols`).
#[derive(Debug)]
pub(crate) struct Source<'a> {
    pub channels: usize,
    pub stride: usize,
    /// The padded image's size.
    pub height: usize,
    pub width: usize,
    /// One phase's size: the padded size divided by the stride, rounded up.
    rows: usize,
    cols: usize,
    /// `[channel][phase][row][col]`: a scratch buffer, or the planes
    /// themselves ([`Source::view`]).
    data: Cow<'a, [f32]>,
}

/// Phase rows one parallel task of [`Source::reflect`] fills.
const ROWS_PER_TASK: usize = 8;

impl<'a> Source<'a> {
    /// `x` itself as the input of a stride-1 convolution without padding
    /// (no copy).
    pub fn view(x: &'a Planes) -> Source<'a> {
        Source {
            channels: x.channels,
            stride: 1,
            height: x.height,
            width: x.width,
            rows: x.height,
            cols: x.pitch,
            data: Cow::Borrowed(&x.data),
        }
    }

    /// Gives a copied layout's buffer back to `scratch`.
    pub fn recycle(self, scratch: &Scratch) {
        if let Cow::Owned(v) = self.data {
            scratch.give(v);
        }
    }

    /// `x` with `pad` pixels reflected on every side (the edge pixel not
    /// repeated, as ONNX's `reflect` and PyTorch's `ReflectionPad2d`),
    /// split for `stride`. Every padded row of channel `c` passes through
    /// `map(c, row)` first: a pointwise function per channel (the previous
    /// layer's normalisation), so it need not be a pass of its own. Needs
    /// `pad < height, width`.
    pub fn reflect(
        x: &Planes,
        pad: usize,
        stride: usize,
        map: impl Fn(usize, &mut [f32]) + Sync,
        scratch: &Scratch,
    ) -> Source<'static> {
        let (h, w) = (x.height, x.width);
        let (height, width) = (h + 2 * pad, w + 2 * pad);
        let s = stride;
        let (rows, cols) = (height.div_ceil(s), width.div_ceil(s));
        let phase = rows * cols;
        let mut data = scratch.take(x.channels * s * s * phase);
        // Tasks: (channel, group of phase rows), each with its rows of
        // every phase.
        let mut tasks = Vec::new();
        for (c, channel) in data.chunks_mut(s * s * phase).enumerate() {
            let mut groups: Vec<Vec<&mut [f32]>> = Vec::new();
            for plane in channel.chunks_mut(phase) {
                for (g, rows) in plane.chunks_mut(ROWS_PER_TASK * cols).enumerate() {
                    if g == groups.len() {
                        groups.push(Vec::with_capacity(s * s));
                    }
                    groups[g].push(rows);
                }
            }
            tasks.extend(groups.into_iter().enumerate().map(|(g, p)| (c, g, p)));
        }
        tasks
            .into_par_iter()
            .for_each_init(Vec::<f32>::new, |row, (c, g, mut phases)| {
                row.resize(width, 0.0);
                let first = g * ROWS_PER_TASK;
                let last = (first + ROWS_PER_TASK).min(rows);
                for r in first..last {
                    for py in 0..s {
                        let y = r * s + py;
                        if y >= height {
                            continue;
                        }
                        let sy = reflect(y as isize - pad as isize, h);
                        let srow = x.row(c, sy);
                        for i in 0..pad {
                            row[i] = srow[reflect(i as isize - pad as isize, w)];
                            row[pad + w + i] = srow[reflect((w + i) as isize, w)];
                        }
                        row[pad..pad + w].copy_from_slice(srow);
                        map(c, row);
                        let at = (r - first) * cols;
                        match &mut phases[py * s..(py + 1) * s] {
                            [one] => one[at..at + cols].copy_from_slice(row),
                            [even, odd] => deinterleave(
                                scratch.isa,
                                row,
                                &mut even[at..at + cols],
                                &mut odd[at..at + cols],
                            ),
                            more => {
                                for (px, dst) in more.iter_mut().enumerate() {
                                    let dst = &mut dst[at..at + cols];
                                    for (d, v) in dst.iter_mut().zip(row[px..].iter().step_by(s)) {
                                        *d = *v;
                                    }
                                }
                            }
                        }
                    }
                }
            });
        Source {
            channels: x.channels,
            stride,
            height,
            width,
            rows,
            cols,
            data: Cow::Owned(data),
        }
    }
}

/// Index `i` reflected into `0..n` (one reflection, the edge not
/// repeated).
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let r = if i < 0 {
        -i
    } else if i >= n {
        2 * (n - 1) - i
    } else {
        i
    };
    r.clamp(0, n - 1) as usize
}

/// A step applied to each output block of a convolution: `f(channel,
/// values)`, or none.
pub(crate) type Post<'a> = Option<&'a (dyn Fn(usize, &mut [f32]) + Sync)>;

/// A convolution's output and, if asked for, per channel the sum and the
/// sum of squares of its values (computed while each block is in cache,
/// for the normalisation that follows; empty otherwise).
#[derive(Debug)]
pub(crate) struct ConvOutput {
    pub planes: Planes,
    pub sums: Vec<[f64; 2]>,
}

impl Conv {
    /// The convolution with `weights` in ONNX's `[cout][cin][k][k]`
    /// order.
    pub fn new(cin: usize, cout: usize, k: usize, stride: usize, weights: Vec<f32>) -> Conv {
        debug_assert_eq!(weights.len(), cout * cin * k * k);
        let taps = cin * k * k;
        let mut direct_weights = vec![0.0; weights.len()];
        for o in 0..cout {
            for t in 0..taps {
                direct_weights[t * cout + o] = weights[o * taps + t];
            }
        }
        Conv {
            cin,
            cout,
            k,
            stride,
            weights,
            direct_weights,
            runs: None,
        }
    }

    /// The same convolution summed in MLAS's order: the taps in `(input
    /// channel, row, column)` order in runs of `taps` (its K stride), each
    /// run a chain of fused multiply-adds from zero, the runs added in
    /// turn (as MLAS's kernels sum). An int8 network needs this to round
    /// every value to the same step as onnxruntime (see
    /// `ordered_conv.rs`).
    pub fn in_runs(mut self, taps: usize) -> Self {
        self.runs = Some(taps.max(1));
        self
    }

    /// The weights, in ONNX's `[cout][cin][k][k]` order.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// The output size for a padded input of `height x width`.
    pub fn output_size(&self, height: usize, width: usize) -> (usize, usize) {
        (
            (height - self.k) / self.stride + 1,
            (width - self.k) / self.stride + 1,
        )
    }

    /// The convolution of `src` (laid out for this stride), on the
    /// current rayon pool. `post(c, values)` runs on each block's values
    /// of output channel `c` as soon as they are summed, before the
    /// per-channel sums are taken (a bias, an activation, a quantisation
    /// step); the values may include the unused tail of a row. With
    /// `sums`, the output's per-channel sums come too.
    pub fn forward(&self, src: &Source, post: Post, sums: bool, scratch: &Scratch) -> ConvOutput {
        debug_assert_eq!((src.channels, src.stride), (self.cin, self.stride));
        let (k, s) = (self.k, self.stride);
        let (oh, ow) = self.output_size(src.height, src.width);
        let cols = src.cols;
        let phase = src.rows * cols;
        let offsets: Vec<usize> = (0..self.cin)
            .flat_map(|ci| (0..k).flat_map(move |ky| (0..k).map(move |kx| (ci, ky, kx))))
            .map(|(ci, ky, kx)| {
                (ci * s * s + (ky % s) * s + kx % s) * phase + (ky / s) * cols + kx / s
            })
            .collect();
        let depth = offsets.len();
        // Wide pixels up to the last real one (no tap reads past its
        // phase plane).
        let wide = (oh - 1) * cols + ow;
        // A multiple of the direct sums' tiles, so only the last block
        // has a short one; a small image still gives every thread a block.
        let threads = rayon::current_num_threads().max(1);
        let block = (BLOCK_ENTRIES / depth)
            .min(wide.div_ceil(threads))
            .max(64)
            .next_multiple_of(96);
        // The output's rows have the source's pitch: output pixel `q`
        // is value `q` of its plane, and the sums write the planes
        // directly.
        let plane = oh * cols;
        let mut out = Planes {
            channels: self.cout,
            height: oh,
            width: ow,
            pitch: cols,
            data: scratch.take(self.cout * plane),
        };
        let dst =
            MatMut::from_column_major_slice_with_stride_mut(&mut out.data, wide, self.cout, plane);
        let mut blocks = Vec::with_capacity(wide.div_ceil(block));
        let mut rest = dst;
        let mut q0 = 0;
        while q0 < wide {
            let m = block.min(wide - q0);
            let (head, tail) = rest.split_at_row_mut(m);
            blocks.push((q0, head));
            rest = tail;
            q0 += m;
        }
        let block_sums: Vec<Vec<[f64; 2]>> = blocks
            .into_par_iter()
            .map(|(q0, mut dst)| {
                let m = dst.nrows();
                DirectBlock {
                    src: &src.data,
                    offsets: &offsets,
                    weights: &self.direct_weights,
                    run: self.runs.unwrap_or(depth),
                    first_pixel: q0,
                    dst: dst.rb_mut(),
                }
                .run(scratch.isa);
                // The post step, and the real pixels' sums, while the
                // block is in cache.
                let mut all = Vec::with_capacity(if sums { self.cout } else { 0 });
                for c in 0..self.cout {
                    let col = dst.rb_mut().col_mut(c);
                    let values = match col.try_as_col_major_mut() {
                        Some(v) => v.as_slice_mut(),
                        None => unreachable!("the planes are column-major"),
                    };
                    if let Some(post) = post {
                        post(c, values);
                    }
                    if !sums {
                        continue;
                    }
                    let mut totals = [0.0f64; 2];
                    let mut i = 0;
                    while i < m {
                        let x = (q0 + i) % cols;
                        if x < ow {
                            let n = (ow - x).min(m - i);
                            let [a, b] = run_sums(scratch.isa, &values[i..i + n]);
                            totals[0] += a;
                            totals[1] += b;
                            i += n;
                        } else {
                            i += (cols - x).min(m - i);
                        }
                    }
                    all.push(totals);
                }
                all
            })
            .collect();
        // Blocks added in order: the result does not depend on the
        // number of threads.
        let mut totals = vec![[0.0f64; 2]; if sums { self.cout } else { 0 }];
        for b in &block_sums {
            for (t, v) in totals.iter_mut().zip(b) {
                t[0] += v[0];
                t[1] += v[1];
            }
        }
        ConvOutput {
            planes: out,
            sums: totals,
        }
    }
}

/// Deterministic values in [-0.5, 0.5] (xorshift), for tests.
#[cfg(test)]
pub(crate) fn noise(n: usize, seed: u32) -> Vec<f32> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_keeps_the_smallest_buffers_within_the_cap() {
        let s = Scratch::default();
        for n in [1000, 10, 100_000, 100] {
            s.give(Vec::with_capacity(n));
        }
        let all = s.held_bytes();
        assert!(all >= 4 * 101_110);
        s.trim(4 * 2000);
        // 10, 100 and 1000 values fit in 8000 bytes; 100 000 does not.
        let held = s.held_bytes();
        assert!((4 * 1110..=4 * 2000).contains(&held), "{held}");
        let v = s.take(500);
        assert!(v.capacity() >= 1000 && v.capacity() < 100_000);
        s.trim(0);
        assert_eq!(s.held_bytes(), 0);
    }

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

    /// At both instruction-set levels (`Avx2` runs the AVX2 kernels on an
    /// AVX-512 CPU; elsewhere it is the same as `Best`).
    #[test]
    fn values_and_sums_match_a_double_precision_sum() {
        let shapes = [
            (3, 5, 9, 1, 21, 17),
            (4, 3, 3, 2, 12, 15),
            (3, 4, 3, 2, 13, 16),
            (2, 8, 3, 1, 40, 70),
            (32, 32, 3, 1, 30, 200),
            (16, 8, 3, 2, 21, 30),
        ];
        let levels = [Isa::Best, Isa::Avx2];
        for (isa, (cin, cout, k, stride, h, w)) in levels
            .into_iter()
            .flat_map(|isa| shapes.map(|shape| (isa, shape)))
        {
            let conv = Conv::new(cin, cout, k, stride, noise(cout * cin * k * k, 1));
            let input = Planes::packed(cin, h, w, noise(cin * h * w, 2));
            let scratch = Scratch::new(isa);
            let src = Source::reflect(&input, 0, stride, |_, _| {}, &scratch);
            let got = conv.forward(&src, None, true, &scratch);
            let want = direct(&conv, &input);
            let got_planes = &got.planes.compact(&scratch);
            assert_eq!(
                (got_planes.height, got_planes.width),
                (want.height, want.width)
            );
            let err = got_planes
                .data
                .iter()
                .zip(&want.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                err < 1e-4,
                "{isa:?} {cin}->{cout} k{k} s{stride}: max error {err}"
            );
            for (c, plane) in want.data.chunks(want.plane()).enumerate() {
                let sum: f64 = plane.iter().map(|v| f64::from(*v)).sum();
                let squares: f64 = plane.iter().map(|v| f64::from(*v).powi(2)).sum();
                let [s, q] = got.sums[c];
                assert!(
                    (s - sum).abs() < 1e-3 && (q - squares).abs() < 1e-3 * squares,
                    "channel {c}: sums {s} {q}, expected {sum} {squares}"
                );
            }
        }
    }

    /// [`Conv::in_runs`] sums as MLAS: `(channel, row, column)` taps in
    /// runs from zero, the runs added; and without runs every value is one
    /// such chain over all its taps. Both instruction-set levels, shapes that take every
    /// path of the direct sums (full tiles, a group of 3, short tiles and
    /// odd groups).
    #[test]
    fn runs_sum_in_mlas_order_bit_for_bit() {
        for isa in [Isa::Best, Isa::Avx2] {
            for (cin, cout, k, stride, h, w, run) in [
                (32, 5, 3, 1, 11, 40, Some(128)),
                (3, 8, 9, 1, 30, 70, Some(128)),
                (8, 16, 3, 2, 25, 66, Some(32)),
                (8, 3, 9, 1, 20, 50, Some(128)),
                (3, 32, 9, 1, 30, 70, None),
                (4, 3, 9, 1, 21, 47, None),
                (8, 4, 3, 1, 12, 33, None),
                (32, 32, 3, 1, 14, 40, None),
                (32, 32, 3, 2, 15, 41, None),
            ] {
                let weights = noise(cout * cin * k * k, 1);
                let mut conv = Conv::new(cin, cout, k, stride, weights.clone());
                if let Some(r) = run {
                    conv = conv.in_runs(r);
                }
                let x = Planes::packed(cin, h, w, noise(cin * h * w, 2));
                let scratch = Scratch::new(isa);
                let src = Source::reflect(&x, 0, stride, |_, _| {}, &scratch);
                let got = conv
                    .forward(&src, None, false, &scratch)
                    .planes
                    .compact(&scratch);
                let taps = cin * k * k;
                let run = run.unwrap_or(taps);
                let (oh, ow) = conv.output_size(h, w);
                for o in 0..cout {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut total = 0.0f32;
                            for start in (0..taps).step_by(run) {
                                let chain =
                                    (start..(start + run).min(taps)).fold(0.0f32, |acc, t| {
                                        let (c, ky, kx) = (t / (k * k), t / k % k, t % k);
                                        let (y, x0) = (oy * stride + ky, ox * stride + kx);
                                        let v = x.data[(c * h + y) * w + x0];
                                        weights[o * taps + t].mul_add(v, acc)
                                    });
                                total = if start == 0 { chain } else { total + chain };
                            }
                            let g = got.data[(o * oh + oy) * ow + ox];
                            assert_eq!(
                                g.to_bits(),
                                total.to_bits(),
                                "{isa:?} {cin}->{cout} k{k}: filter {o} at ({oy}, {ox})"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn upsampling_repeats_each_mapped_pixel_twice_each_way() {
        let img = Planes {
            channels: 2,
            height: 1,
            width: 2,
            pitch: 2,
            data: vec![1.0, 2.0, 3.0, 4.0],
        };
        let up = img.upsample2(
            |c, r| r.iter_mut().for_each(|v| *v *= (c + 1) as f32),
            &Scratch::default(),
        );
        assert_eq!((up.height, up.width), (2, 4));
        assert_eq!(
            up.data,
            [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0, 6.0, 6.0, 8.0, 8.0, 6.0, 6.0, 8.0, 8.0]
        );
    }

    #[test]
    fn reflection_skips_the_edge_pixel_and_maps_every_row() {
        let row = [1.0, 2.0, 3.0, 4.0];
        let img3 = Planes {
            channels: 1,
            height: 3,
            width: 4,
            pitch: 4,
            data: [row, row, row].concat(),
        };
        let scratch = Scratch::default();
        let p = Source::reflect(&img3, 2, 1, |_, _| {}, &scratch);
        assert_eq!(&p.data[..8], &[3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]);
        // Stride 2: phase (0, 0) holds the even columns, (0, 1) the odd.
        let add_ten = |_: usize, r: &mut [f32]| r.iter_mut().for_each(|v| *v += 10.0);
        let p = Source::reflect(&img3, 2, 2, add_ten, &scratch);
        let phase = p.rows * p.cols;
        assert_eq!((p.rows, p.cols), (4, 4));
        assert_eq!(&p.data[..4], &[13.0, 11.0, 13.0, 13.0]);
        assert_eq!(&p.data[phase..phase + 4], &[12.0, 12.0, 14.0, 12.0]);
    }
}
