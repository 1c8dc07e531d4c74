//! Winograd convolution `F(m x m, 3 x 3)` (Lavin and Gray, 2015): a 3x3,
//! stride-1, zero-padded convolution computed on tiles of `m + 2` input
//! pixels, each giving `m x m` outputs, with `(m + 2)^2` multiplications per
//! tile and channel pair instead of `9 m^2`.
//!
//! `Y = A^T [ (G g G^T) . (B^T d B) ] A` for a kernel `g` and an input tile
//! `d`. The kernel transforms `U = G g G^T` are computed once
//! ([`WinogradKernel`]); a convolution ([`conv3x3`]) transforms input tiles,
//! multiplies for each of the `(m + 2)^2` tile positions a `cout x cin`
//! matrix by a `cin x tiles` one (faer's matrix product), and transforms the
//! products back, fusing bias and ReLU. The backward pass's convolution,
//! the adjoint ([`conv3x3_adjoint`]), runs on the same transformed kernels.
//!
//! Tiles are processed in groups small enough for their transforms to stay
//! in the last-level cache (its size read at run time); within a group each
//! phase runs in parallel on the current rayon pool (over channels, over
//! tile positions, over output channels).
//!
//! The transforms of `F(4x4, 3x3)`, the one the engine runs, have their own
//! code ([`input_tiles_f4`], [`output_tiles_f4`]): chunks of 64 tiles of a
//! tile row, each image row read once and split into 4 phases so that every
//! pass works on whole SIMD registers (pulp: AVX-512, AVX2, NEON), with the
//! same sums in the same order as the generic transforms (the same values:
//! a test checks it). The generic ones serve other `m` (`F(2x2, 3x3)` in
//! the tests and the convolution benchmark).

use faer::{Accum, MatMut, MatRef};
use pulp::WithSimd;
use rayon::prelude::*;

use super::activation::Activation;
use super::buffers::Buffers;
use super::simd::Simd;

/// One Winograd algorithm `F(m x m, 3 x 3)`.
#[derive(Debug, PartialEq)]
pub struct Transform {
    /// Outputs per tile side.
    pub m: usize,
    /// Input tile side, `m + 2`.
    pub alpha: usize,
    /// `B^T`, `alpha x alpha`, row-major.
    bt: &'static [f32],
    /// `G`, `alpha x 3`, row-major.
    g: &'static [f64],
    /// `A^T`, `m x alpha`, row-major.
    at: &'static [f32],
}

impl Transform {
    /// Whether this is `F(4x4, 3x3)`, whose transforms have their own
    /// chunked code ([`input_tiles_f4`], [`output_tiles_f4`]).
    fn chunked(&self) -> bool {
        self.m == 4
    }

    /// Scratch floats one task of the input transform needs for `n` tiles.
    fn input_scratch(&self, n: usize) -> usize {
        if self.chunked() {
            F4_SCRATCH
        } else {
            2 * self.alpha * self.alpha * n
        }
    }

    /// Scratch floats one task of the output transform needs for `n` tiles.
    fn output_scratch(&self, n: usize) -> usize {
        if self.chunked() {
            F4_SCRATCH
        } else {
            (self.m * self.alpha + self.m * self.m) * n
        }
    }
}

/// `F(2x2, 3x3)`: 16 multiplications for 4 outputs (2.25x fewer than
/// direct), exact up to rounding like direct convolution.
#[cfg_attr(not(test), allow(dead_code))] // the tests and the benchmark compare it
pub const F2X2: Transform = Transform {
    m: 2,
    alpha: 4,
    bt: &[
        1.0, 0.0, -1.0, 0.0, //
        0.0, 1.0, 1.0, 0.0, //
        0.0, -1.0, 1.0, 0.0, //
        0.0, 1.0, 0.0, -1.0,
    ],
    g: &[
        1.0, 0.0, 0.0, //
        0.5, 0.5, 0.5, //
        0.5, -0.5, 0.5, //
        0.0, 0.0, 1.0,
    ],
    at: &[
        1.0, 1.0, 1.0, 0.0, //
        0.0, 1.0, -1.0, -1.0,
    ],
};

/// `F(4x4, 3x3)` with interpolation points `0, +-1, +-2`: 36
/// multiplications for 16 outputs (4x fewer than direct); rounding errors
/// a few times those of direct convolution.
pub const F4X4: Transform = Transform {
    m: 4,
    alpha: 6,
    bt: &[
        4.0, 0.0, -5.0, 0.0, 1.0, 0.0, //
        0.0, -4.0, -4.0, 1.0, 1.0, 0.0, //
        0.0, 4.0, -4.0, -1.0, 1.0, 0.0, //
        0.0, -2.0, -1.0, 2.0, 1.0, 0.0, //
        0.0, 2.0, -1.0, -2.0, 1.0, 0.0, //
        0.0, 4.0, 0.0, -5.0, 0.0, 1.0,
    ],
    g: &[
        1.0 / 4.0,
        0.0,
        0.0,
        -1.0 / 6.0,
        -1.0 / 6.0,
        -1.0 / 6.0,
        -1.0 / 6.0,
        1.0 / 6.0,
        -1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 12.0,
        1.0 / 6.0,
        1.0 / 24.0,
        -1.0 / 12.0,
        1.0 / 6.0,
        0.0,
        0.0,
        1.0,
    ],
    at: &[
        1.0, 1.0, 1.0, 1.0, 1.0, 0.0, //
        0.0, 1.0, -1.0, 2.0, -2.0, 0.0, //
        0.0, 1.0, 1.0, 4.0, 4.0, 0.0, //
        0.0, 1.0, -1.0, 8.0, -8.0, 1.0,
    ],
};

/// A 3x3 kernel bank transformed for one [`Transform`]: `U = G g G^T` for
/// every `(cout, cin)` pair, stored `[position][cout][cin]` so that each
/// tile position is one row-major `cout x cin` matrix.
#[derive(Debug, Clone)]
pub struct WinogradKernel {
    /// Output channels.
    pub cout: usize,
    /// Input channels.
    pub cin: usize,
    transform: &'static Transform,
    u: Vec<f32>,
}

impl WinogradKernel {
    /// Transforms `kernel`, `[cout, cin, 3, 3]` row-major, for a forward
    /// convolution.
    ///
    /// # Panics
    /// If `kernel.len() != cout * cin * 9`.
    pub fn new(kernel: &[f32], cout: usize, cin: usize, transform: &'static Transform) -> Self {
        assert_eq!(kernel.len(), cout * cin * 9, "kernel shape");
        Self::build(cout, cin, transform, |o, i, ky, kx| {
            kernel[((o * cin + i) * 3 + ky) * 3 + kx]
        })
    }

    fn build(
        cout: usize,
        cin: usize,
        transform: &'static Transform,
        k: impl Fn(usize, usize, usize, usize) -> f32 + Sync,
    ) -> Self {
        let a = transform.alpha;
        let g = transform.g;
        let positions = a * a;
        // `G k G^T` in two products, `G k` (alpha x 3) and then that times
        // `G^T`, in f64 and rounded once: 54 + 108 multiplications a pair
        // for F(4x4), where summing the nine terms at each of the 36
        // positions takes 648. Every loop runs along the input channels,
        // so the compiler vectorises it. Laid out `[cout][position][cin]`
        // first, so that each output channel is one task's contiguous
        // block, then moved to `[position][cout][cin]`.
        let mut by_channel = vec![0.0f32; positions * cout * cin];
        by_channel
            .par_chunks_mut(positions * cin)
            .enumerate()
            .for_each(|(o, block)| {
                // taps[ky][kx][i] and gk[p][kx][i].
                let mut taps = vec![0.0f64; 9 * cin];
                for (tap, row) in taps.chunks_exact_mut(cin).enumerate() {
                    for (i, v) in row.iter_mut().enumerate() {
                        *v = f64::from(k(o, i, tap / 3, tap % 3));
                    }
                }
                let mut gk = vec![0.0f64; a * 3 * cin];
                for (pk, row) in gk.chunks_exact_mut(cin).enumerate() {
                    let (p, kx) = (pk / 3, pk % 3);
                    for ky in 0..3 {
                        let w = g[p * 3 + ky];
                        let tap = &taps[(ky * 3 + kx) * cin..][..cin];
                        for (v, t) in row.iter_mut().zip(tap) {
                            *v += w * t;
                        }
                    }
                }
                let mut sum = vec![0.0f64; cin];
                for (xi, out) in block.chunks_exact_mut(cin).enumerate() {
                    let (p, q) = (xi / a, xi % a);
                    sum.fill(0.0);
                    for kx in 0..3 {
                        let w = g[q * 3 + kx];
                        let row = &gk[(p * 3 + kx) * cin..][..cin];
                        for (s, r) in sum.iter_mut().zip(row) {
                            *s += r * w;
                        }
                    }
                    for (d, s) in out.iter_mut().zip(&sum) {
                        *d = *s as f32;
                    }
                }
            });
        let mut u = vec![0.0f32; positions * cout * cin];
        u.par_chunks_mut(cout * cin)
            .enumerate()
            .for_each(|(xi, plane)| {
                for (o, row) in plane.chunks_exact_mut(cin).enumerate() {
                    let from = (o * positions + xi) * cin;
                    row.copy_from_slice(&by_channel[from..from + cin]);
                }
            });
        WinogradKernel {
            cout,
            cin,
            transform,
            u,
        }
    }
}

/// What happens to each output value after the convolution.
#[derive(Debug)]
pub enum Epilogue<'a> {
    /// Nothing (the gradient pass).
    None,
    /// Add the per-channel bias.
    Bias(&'a [f32]),
    /// Add the bias and apply ReLU.
    BiasRelu(&'a [f32]),
    /// Add the bias, apply ReLU and record where the input to the ReLU was
    /// positive (`[cout, h, w]`, 1 or 0), for the backward pass.
    BiasReluMask(&'a [f32], &'a mut [u8]),
}

/// Floats of transformed inputs and products one group of tiles may hold:
/// half the last-level cache, as the CPU reports it at run time (16 MiB on
/// the AMD EPYC with 32 MiB of L3 where this was tuned), within 2-64 MiB ...
fn group_floats() -> usize {
    (super::cache::last_level_bytes() / 2).clamp(2 << 20, 64 << 20) / 4
}

/// ... unless that is fewer tiles than this: each group streams all the
/// transformed weights (36 MiB for 512 channels) through the matrix
/// products, which need enough tiles (columns) to pay for that.
/// Measured on the 512 px step (`bench_step`): 1M floats / 16 tiles took
/// 0.58 s, 4M / 512 0.55 s.
const MIN_GROUP_TILES: usize = 512;

/// The 3x3, stride-1, zero-padding-1 correlation of `input` (`cin`
/// channels) with `kernel`, then `epilogue`.
///
/// # Panics
/// If `input.channels != kernel.cin`, or a mask or bias has the wrong size.
pub fn conv3x3(
    input: &Activation,
    kernel: &WinogradKernel,
    epilogue: Epilogue<'_>,
    simd: Simd,
    buffers: &Buffers,
) -> Activation {
    conv3x3_grouped(
        input,
        None,
        kernel,
        Direction::Forward,
        epilogue,
        group_floats(),
        simd,
        buffers,
    )
}

/// The adjoint (transpose) of the convolution by `kernel`: from the
/// gradient of a cost with respect to its output (`kernel.cout` channels),
/// the gradient with respect to its input (`kernel.cin` channels). With
/// `mask`, `input`'s values where it is 0 are taken as 0 (the backward
/// pass's ReLU).
///
/// That gradient is the correlation with the kernel rotated by 180 degrees
/// and its channels swapped. It runs on the forward kernel's transforms:
/// for every tile, `corr(d, rot180 g) = R A^T [U . (B^T R d R B)] A R`
/// with `R` the reversal of a tile's rows or columns, so the input and
/// output transforms take their values in reverse order, and each tile
/// position's `cout x cin` matrix is used transposed. No second set of
/// transformed kernels (36/9 the size of the raw weights) is made.
///
/// # Panics
/// If `input.channels != kernel.cout`, or `mask` has the wrong size.
pub fn conv3x3_adjoint(
    input: &Activation,
    mask: Option<&[u8]>,
    kernel: &WinogradKernel,
    simd: Simd,
    buffers: &Buffers,
) -> Activation {
    if let Some(mask) = mask {
        assert_eq!(mask.len(), input.data.len(), "input mask size");
    }
    conv3x3_grouped(
        input,
        mask,
        kernel,
        Direction::Adjoint,
        Epilogue::None,
        group_floats(),
        simd,
        buffers,
    )
}

/// Which of the two convolutions a kernel gives [`conv3x3_grouped`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// The correlation with the kernel, `cin` channels to `cout`.
    Forward,
    /// Its adjoint, `cout` channels to `cin` ([`conv3x3_adjoint`]).
    Adjoint,
}

/// [`conv3x3`] or [`conv3x3_adjoint`] with groups of tiles sized for
/// `group_floats`.
#[allow(clippy::too_many_arguments)]
fn conv3x3_grouped(
    input: &Activation,
    input_mask: Option<&[u8]>,
    kernel: &WinogradKernel,
    direction: Direction,
    epilogue: Epilogue<'_>,
    group_floats: usize,
    simd: Simd,
    buffers: &Buffers,
) -> Activation {
    let (h, w) = (input.h, input.w);
    let flip = direction == Direction::Adjoint;
    let (cin, cout) = if flip {
        (kernel.cout, kernel.cin)
    } else {
        (kernel.cin, kernel.cout)
    };
    assert_eq!(input.channels, cin, "input channels");
    let t = kernel.transform;
    let (m, a) = (t.m, t.alpha);
    let aa = a * a;
    let hw = h * w;
    let mut out = Activation::uninit(cout, h, w, buffers);
    if hw == 0 {
        return out;
    }
    let tiles_x = w.div_ceil(m);
    let tiles = tiles_x * h.div_ceil(m);
    let per_tile = aa * (cin + cout);
    let want = (group_floats / per_tile).clamp(MIN_GROUP_TILES, tiles.max(MIN_GROUP_TILES));
    let groups = tiles.div_ceil(want);
    let group = tiles.div_ceil(groups);
    let (bias, relu, mut mask) = match epilogue {
        Epilogue::None => (None, false, None),
        Epilogue::Bias(b) => (Some(b), false, None),
        Epilogue::BiasRelu(b) => (Some(b), true, None),
        Epilogue::BiasReluMask(b, mask) => {
            assert_eq!(mask.len(), cout * hw, "mask size");
            (Some(b), true, Some(mask))
        }
    };
    if let Some(b) = bias {
        assert_eq!(b.len(), cout, "bias size");
    }
    // The transforms' loops are compiled for each instruction set pulp
    // knows (AVX-512, AVX2 with FMA, NEON) and run at `simd`'s.
    let arch = simd.arch;
    let mut v = buffers.take(cin * aa * group);
    let mut prod = buffers.take(aa * cout * group);
    let mut first = 0;
    while first < tiles {
        let n = group.min(tiles - first);
        let geo = Geometry {
            h,
            w,
            tiles_x,
            first,
            n,
        };
        let v = &mut v[..cin * aa * n];
        let prod = &mut prod[..aa * cout * n];
        v.par_chunks_mut(aa * n)
            .zip(input.data.par_chunks(hw))
            .enumerate()
            .for_each_init(
                || vec![0.0f32; t.input_scratch(n)],
                |scratch, (c, (vc, plane))| {
                    arch.dispatch(InputTiles {
                        t,
                        geo: &geo,
                        flip,
                        plane,
                        mask: input_mask.map(|k| &k[c * hw..(c + 1) * hw]),
                        out: vc,
                        scratch,
                    })
                },
            );
        let v: &[f32] = v;
        prod.par_chunks_mut(cout * n)
            .enumerate()
            .for_each(|(xi, dst)| {
                let u = MatRef::from_row_major_slice(
                    &kernel.u[xi * cout * cin..(xi + 1) * cout * cin],
                    kernel.cout,
                    kernel.cin,
                );
                let lhs = if flip { u.transpose() } else { u };
                let rhs = MatRef::from_row_major_slice_with_stride(&v[xi * n..], cin, n, aa * n);
                let dst = MatMut::from_row_major_slice_mut(dst, cout, n);
                stylize_matmul::matmul(dst, Accum::Replace, lhs, rhs, 1.0f32, simd.products);
            });
        let prod: &[f32] = prod;
        let scratch = || vec![0.0f32; t.output_scratch(n)];
        // One optional mask plane per output channel, beside its plane.
        let masks: Vec<Option<&mut [u8]>> = match mask.as_deref_mut() {
            Some(mask) => mask.chunks_mut(hw).map(Some).collect(),
            None => (0..cout).map(|_| None).collect(),
        };
        out.data
            .par_chunks_mut(hw)
            .zip(masks)
            .enumerate()
            .for_each_init(scratch, |s, (o, (plane, mask))| {
                arch.dispatch(OutputTiles {
                    t,
                    geo: &geo,
                    flip,
                    prod,
                    o,
                    cout,
                    scratch: s,
                    plane,
                    bias: bias.map_or(0.0, |b| b[o]),
                    relu,
                    mask,
                });
            });
        first += n;
    }
    buffers.give(v);
    buffers.give(prod);
    out
}

/// Where a group of tiles lies.
struct Geometry {
    h: usize,
    w: usize,
    tiles_x: usize,
    first: usize,
    n: usize,
}

/// [`input_tile_transform`] as a SIMD-dispatched operation.
struct InputTiles<'a> {
    t: &'a Transform,
    geo: &'a Geometry,
    /// Each tile's values taken in reverse order, `B^T R d R B` (the
    /// adjoint, [`conv3x3_adjoint`]).
    flip: bool,
    plane: &'a [f32],
    mask: Option<&'a [u8]>,
    out: &'a mut [f32],
    scratch: &'a mut [f32],
}

impl WithSimd for InputTiles<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        if self.t.chunked() {
            input_tiles_f4(simd, self)
        } else {
            input_tile_transform(self)
        }
    }
}

/// [`output_tile_transform`] as a SIMD-dispatched operation.
struct OutputTiles<'a> {
    t: &'a Transform,
    geo: &'a Geometry,
    /// Each tile's outputs written in reverse order, `R A^T M A R` (the
    /// adjoint).
    flip: bool,
    prod: &'a [f32],
    o: usize,
    cout: usize,
    scratch: &'a mut [f32],
    plane: &'a mut [f32],
    bias: f32,
    relu: bool,
    mask: Option<&'a mut [u8]>,
}

impl WithSimd for OutputTiles<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        if self.t.chunked() {
            output_tiles_f4(simd, self)
        } else {
            output_tile_transform(self)
        }
    }
}

/// `dst = sum_t coefs[t] * srcs[t]`, one pass over `dst` (`K` known at
/// compile time so the sum unrolls and the loop vectorises).
#[inline(always)]
fn combine_k<const K: usize>(dst: &mut [f32], coefs: [f32; K], srcs: [&[f32]; K]) {
    let n = dst.len();
    let srcs = srcs.map(|s| &s[..n]);
    for (j, d) in dst.iter_mut().enumerate() {
        let mut acc = 0.0f32;
        for t in 0..K {
            acc += coefs[t] * srcs[t][j];
        }
        *d = acc;
    }
}

/// `dst = bias + sum over the nonzero coefficients of coef * src(index)`.
#[inline(always)]
fn combine<'s>(dst: &mut [f32], bias: f32, coefs: &[f32], src: impl Fn(usize) -> &'s [f32]) {
    let mut c = [0.0f32; 8];
    let mut s: [&[f32]; 8] = [&[]; 8];
    let mut k = 0;
    for (i, &v) in coefs.iter().enumerate() {
        if v != 0.0 {
            c[k] = v;
            s[k] = src(i);
            k += 1;
        }
    }
    match k {
        0 => dst.fill(0.0),
        1 => combine_k(dst, [c[0]], [s[0]]),
        2 => combine_k(dst, [c[0], c[1]], [s[0], s[1]]),
        3 => combine_k(dst, [c[0], c[1], c[2]], [s[0], s[1], s[2]]),
        4 => combine_k(dst, [c[0], c[1], c[2], c[3]], [s[0], s[1], s[2], s[3]]),
        5 => combine_k(
            dst,
            [c[0], c[1], c[2], c[3], c[4]],
            [s[0], s[1], s[2], s[3], s[4]],
        ),
        _ => {
            combine_k(
                dst,
                [c[0], c[1], c[2], c[3], c[4], c[5]],
                [s[0], s[1], s[2], s[3], s[4], s[5]],
            );
            for t in 6..k {
                for (d, v) in dst.iter_mut().zip(s[t]) {
                    *d += c[t] * v;
                }
            }
        }
    }
    if bias != 0.0 {
        for d in dst.iter_mut() {
            *d += bias;
        }
    }
}

/// The group's tiles as runs within one tile row: `(ty, first tx, count,
/// index of the first in the group)`.
fn row_runs(geo: &Geometry) -> impl Iterator<Item = (usize, usize, usize, usize)> + '_ {
    let mut j = 0;
    std::iter::from_fn(move || {
        if j >= geo.n {
            return None;
        }
        let tile = geo.first + j;
        let (ty, tx) = (tile / geo.tiles_x, tile % geo.tiles_x);
        let len = (geo.tiles_x - tx).min(geo.n - j);
        let run = (ty, tx, len, j);
        j += len;
        Some(run)
    })
}

/// Gathers the group's `alpha x alpha` input tiles of one channel (zero
/// outside the image, and where `mask` is 0) and writes `B^T d B` as
/// `[position][tile]`.
#[inline(always)]
fn input_tile_transform(op: InputTiles<'_>) {
    let InputTiles {
        t,
        geo,
        flip,
        plane,
        mask,
        out,
        scratch,
    } = op;
    let (m, a, n) = (t.m, t.alpha, geo.n);
    // Row or column `k` of the tile as `B^T` reads it.
    let at = |k: usize| if flip { a - 1 - k } else { k };
    let (h, w) = (geo.h, geo.w);
    let (d, t1) = scratch.split_at_mut(a * a * n);
    // d[ky][kx][tile], written a tile row at a time (contiguous stores,
    // loads strided by m).
    for (ty, tx0, len, j0) in row_runs(geo) {
        for ky in 0..a {
            let y = (ty * m + ky) as isize - 1;
            if y < 0 || y as usize >= h {
                for kx in 0..a {
                    d[(ky * a + kx) * n + j0..][..len].fill(0.0);
                }
                continue;
            }
            let row = &plane[y as usize * w..][..w];
            let mrow = mask.map(|k| &k[y as usize * w..][..w]);
            for kx in 0..a {
                let dst = &mut d[(ky * a + kx) * n + j0..][..len];
                // Tile q reads column x(q) = (tx0 + q) m + kx - 1: the
                // tiles q0..q1 read inside the row, the others padding.
                let q0 = usize::from(tx0 == 0 && kx == 0).min(len);
                let q1 = (w + 1)
                    .saturating_sub(kx)
                    .div_ceil(m)
                    .saturating_sub(tx0)
                    .min(len)
                    .max(q0);
                dst[..q0].fill(0.0);
                dst[q1..].fill(0.0);
                if q1 > q0 {
                    let start = (tx0 + q0) * m + kx - 1;
                    let src = row[start..].iter().step_by(m);
                    match mrow {
                        Some(k) => {
                            let keep = k[start..].iter().step_by(m);
                            for ((v, &r), &k) in dst[q0..q1].iter_mut().zip(src).zip(keep) {
                                *v = if k != 0 { r } else { 0.0 };
                            }
                        }
                        None => {
                            for (v, &r) in dst[q0..q1].iter_mut().zip(src) {
                                *v = r;
                            }
                        }
                    }
                }
            }
        }
    }
    // t1[i][kx] = sum_ky BT[i][ky] d[ky][kx] (d[a - 1 - ky] flipped)
    for i in 0..a {
        for kx in 0..a {
            let coefs = &t.bt[i * a..(i + 1) * a];
            let dst = &mut t1[(i * a + kx) * n..][..n];
            combine(dst, 0.0, coefs, |ky| &d[(at(ky) * a + kx) * n..][..n]);
        }
    }
    // out[i][l] = sum_kx t1[i][kx] BT[l][kx]
    for i in 0..a {
        for l in 0..a {
            let coefs = &t.bt[l * a..(l + 1) * a];
            let dst = &mut out[(i * a + l) * n..][..n];
            combine(dst, 0.0, coefs, |kx| &t1[(i * a + at(kx)) * n..][..n]);
        }
    }
}

/// Transforms output channel `o`'s products of the group back, `A^T M A`,
/// and writes the `m x m` outputs of each tile (those inside the image)
/// into `plane`, with bias, ReLU and mask.
#[inline(always)]
fn output_tile_transform(op: OutputTiles<'_>) {
    let OutputTiles {
        t,
        geo,
        flip,
        prod,
        o,
        cout,
        scratch,
        plane,
        bias,
        relu,
        mut mask,
    } = op;
    let (m, a, n) = (t.m, t.alpha, geo.n);
    // The row of `A^T` that gives the tile's output row or column `i`.
    let row = |i: usize| if flip { m - 1 - i } else { i };
    let (h, w) = (geo.h, geo.w);
    let (t1, y) = scratch.split_at_mut(m * a * n);
    // t1[i][l] = sum_k AT[i][k] M[k][l]
    for i in 0..m {
        for l in 0..a {
            let coefs = &t.at[row(i) * a..(row(i) + 1) * a];
            let dst = &mut t1[(i * a + l) * n..][..n];
            combine(dst, 0.0, coefs, |k| {
                &prod[((k * a + l) * cout + o) * n..][..n]
            });
        }
    }
    // y[i][jj] = bias + sum_l t1[i][l] AT[jj][l], then ReLU.
    for i in 0..m {
        for jj in 0..m {
            let coefs = &t.at[row(jj) * a..(row(jj) + 1) * a];
            let dst = &mut y[(i * m + jj) * n..][..n];
            combine(dst, bias, coefs, |l| &t1[(i * a + l) * n..][..n]);
        }
    }
    if relu && mask.is_none() {
        for v in y.iter_mut() {
            *v = v.max(0.0);
        }
    }
    for (ty, tx0, len, j0) in row_runs(geo) {
        for i in 0..m {
            let yy = ty * m + i;
            if yy >= h {
                break;
            }
            let row = &mut plane[yy * w..][..w];
            let mut mrow = mask.as_deref_mut().map(|k| &mut k[yy * w..][..w]);
            for jj in 0..m {
                let src = &y[(i * m + jj) * n + j0..][..len];
                // Full tiles: x = (tx0 + q) * m + jj < w.
                let full = w
                    .saturating_sub(jj)
                    .div_ceil(m)
                    .saturating_sub(tx0)
                    .min(len);
                if full == 0 {
                    continue;
                }
                let x0 = tx0 * m + jj;
                let dst = row[x0..].iter_mut().step_by(m);
                match mrow.as_deref_mut() {
                    Some(k) => {
                        for ((r, k), &v) in dst.zip(k[x0..].iter_mut().step_by(m)).zip(&src[..full])
                        {
                            *k = u8::from(v > 0.0);
                            *r = v.max(0.0);
                        }
                    }
                    None => {
                        for (r, &v) in dst.zip(&src[..full]) {
                            *r = v;
                        }
                    }
                }
            }
        }
    }
}

/// Tiles per chunk of the `F(4x4, 3x3)` transforms: their scratch (about
/// 12 KiB) stays in the L1 cache.
const CHUNK: usize = 64;

/// Scratch floats of [`input_tiles_f4`] and [`output_tiles_f4`].
const F4_SCRATCH: usize = 13 * 4 * (CHUNK + 1);

/// `B^T d` for one 6-value column or row `d` of an `F(4x4, 3x3)` input
/// tile: [`F4X4`]'s `B^T`, its nonzero terms summed in the order
/// [`combine`] sums them (so the same values; sharing common subexpressions
/// would save 10 of the 22 operations but move rounding errors, and with
/// them which ReLUs of the network switch).
#[inline(always)]
fn bt6(d: [f32; 6]) -> [f32; 6] {
    [
        4.0 * d[0] + -5.0 * d[2] + d[4],
        -4.0 * d[1] + -4.0 * d[2] + d[3] + d[4],
        4.0 * d[1] + -4.0 * d[2] + -d[3] + d[4],
        -2.0 * d[1] + -d[2] + 2.0 * d[3] + d[4],
        2.0 * d[1] + -d[2] + -2.0 * d[3] + d[4],
        4.0 * d[1] + -5.0 * d[3] + d[5],
    ]
}

/// `A^T m` for one 6-value column or row `m` of an `F(4x4, 3x3)` product
/// tile, summed as [`combine`] sums it.
#[inline(always)]
fn at6(m: [f32; 6]) -> [f32; 4] {
    [
        m[0] + m[1] + m[2] + m[3] + m[4],
        m[1] + -m[2] + 2.0 * m[3] + -2.0 * m[4],
        m[1] + m[2] + 4.0 * m[3] + 4.0 * m[4],
        m[1] + -m[2] + 8.0 * m[3] + -8.0 * m[4] + m[5],
    ]
}

/// [`bt6`] on SIMD registers, the same operations in the same order.
#[inline(always)]
fn bt6s<S: pulp::Simd>(s: S, d: [S::f32s; 6]) -> [S::f32s; 6] {
    let k = |c: f32| s.splat_f32s(c);
    let add = |a, b| s.add_f32s(a, b);
    let sub = |a, b| s.sub_f32s(a, b);
    let mul = |c: f32, a| s.mul_f32s(k(c), a);
    [
        add(add(mul(4.0, d[0]), mul(-5.0, d[2])), d[4]),
        add(add(add(mul(-4.0, d[1]), mul(-4.0, d[2])), d[3]), d[4]),
        add(sub(add(mul(4.0, d[1]), mul(-4.0, d[2])), d[3]), d[4]),
        add(add(sub(mul(-2.0, d[1]), d[2]), mul(2.0, d[3])), d[4]),
        add(add(sub(mul(2.0, d[1]), d[2]), mul(-2.0, d[3])), d[4]),
        add(add(mul(4.0, d[1]), mul(-5.0, d[3])), d[5]),
    ]
}

/// [`at6`] on SIMD registers, the same operations in the same order.
#[inline(always)]
fn at6s<S: pulp::Simd>(s: S, m: [S::f32s; 6]) -> [S::f32s; 4] {
    let add = |a, b| s.add_f32s(a, b);
    let sub = |a, b| s.sub_f32s(a, b);
    let mul = |c: f32, a| s.mul_f32s(s.splat_f32s(c), a);
    [
        add(add(add(add(m[0], m[1]), m[2]), m[3]), m[4]),
        add(add(sub(m[1], m[2]), mul(2.0, m[3])), mul(-2.0, m[4])),
        add(add(add(m[1], m[2]), mul(4.0, m[3])), mul(4.0, m[4])),
        add(
            add(add(sub(m[1], m[2]), mul(8.0, m[3])), mul(-8.0, m[4])),
            m[5],
        ),
    ]
}

/// `dst[..][x] = f(src[..][x])` for every `x`, a SIMD register at a time
/// with `fs`, the rest one value at a time with `f` (the same sums).
/// Every slice has the same length.
#[inline(always)]
fn map6<S: pulp::Simd, const N: usize>(
    src: [&[f32]; 6],
    dst: [&mut [f32]; N],
    fs: impl Fn([S::f32s; 6]) -> [S::f32s; N],
    f: impl Fn([f32; 6]) -> [f32; N],
) {
    let len = src[0].len();
    let heads = src.map(|v| S::as_simd_f32s(&v[..len]));
    let mut outs = dst.map(|v| S::as_mut_simd_f32s(&mut v[..len]));
    for r in 0..heads[0].0.len() {
        let y = fs(std::array::from_fn(|t| heads[t].0[r]));
        for (o, v) in outs.iter_mut().zip(y) {
            o.0[r] = v;
        }
    }
    for x in 0..heads[0].1.len() {
        let y = f(std::array::from_fn(|t| heads[t].1[x]));
        for (o, v) in outs.iter_mut().zip(y) {
            o.1[x] = v;
        }
    }
}

/// Floats of one row of a chunk as 4 phases of `CHUNK + 1` tiles each.
const PHASED: usize = 4 * (CHUNK + 1);

/// [`input_tile_transform`] for `F(4x4, 3x3)`, by chunks of tiles within a
/// tile row. The 6 image rows a chunk reads are copied once each
/// (contiguously, zero-padded, masked) and split into 4 phases (column
/// `4 q + k` of the chunk goes to phase `k`, place `q`), transformed
/// vertically, then horizontally into `out`: tile `q` reads places `q` of
/// all 4 phases and `q + 1` of the first 2, so every pass runs on whole
/// SIMD registers. The sums are those of [`input_tile_transform`], in the
/// same order: the same values.
#[inline(always)]
fn input_tiles_f4<S: pulp::Simd>(simd: S, op: InputTiles<'_>) {
    let InputTiles {
        geo,
        flip,
        plane,
        mask,
        out,
        scratch,
        ..
    } = op;
    let (n, h, w) = (geo.n, geo.h, geo.w);
    let (seg, rest) = scratch[..F4_SCRATCH].split_at_mut(PHASED);
    let (rows, ver) = rest.split_at_mut(6 * PHASED);
    for (ty, tx0, len, j0) in row_runs(geo) {
        let mut done = 0;
        while done < len {
            let cl = CHUNK.min(len - done);
            let (tx, j) = (tx0 + done, j0 + done);
            // Image columns x0 .. x0 + 4 (cl + 1) (the last 2 unused).
            let x0 = (4 * tx) as isize - 1;
            let places = cl + 1;
            let seg = &mut seg[..4 * places];
            for ky in 0..6 {
                let phases = &mut rows[ky * PHASED..][..PHASED];
                let y = (4 * ty + ky) as isize - 1;
                if y < 0 || y as usize >= h {
                    phases.fill(0.0);
                    continue;
                }
                let y = y as usize;
                // seg[k] = row[x0 + k] inside the row, else 0.
                let k0 = usize::from(x0 < 0);
                let k1 = (w as isize - x0).clamp(k0 as isize, seg.len() as isize) as usize;
                seg[..k0].fill(0.0);
                seg[k1..].fill(0.0);
                let xs = (x0 + k0 as isize) as usize;
                let src = &plane[y * w + xs..][..k1 - k0];
                match mask {
                    Some(mask) => {
                        let keep = &mask[y * w + xs..][..k1 - k0];
                        for ((d, &v), &k) in seg[k0..k1].iter_mut().zip(src).zip(keep) {
                            *d = if k != 0 { v } else { 0.0 };
                        }
                    }
                    None => seg[k0..k1].copy_from_slice(src),
                }
                deinterleave4(seg, split::<4>(phases, CHUNK + 1, 0, places));
            }
            // ver[i][x] = sum_ky BT[i][ky] rows[ky][x], x over all phases.
            for k in 0..4 {
                let r = |ky: usize| &rows[ky * PHASED + k * (CHUNK + 1)..][..places];
                let mut d: [&[f32]; 6] = std::array::from_fn(r);
                if flip {
                    d.reverse();
                }
                map6::<S, 6>(
                    d,
                    split::<6>(ver, PHASED, k * (CHUNK + 1), places),
                    |d| bt6s(simd, d),
                    bt6,
                );
            }
            // out[i][l][tile] = sum_kx BT[l][kx] ver[i][4 tile + kx]
            for i in 0..6 {
                let e = |k: usize| &ver[i * PHASED + k * (CHUNK + 1)..][..places];
                let (e0, e1, e2, e3) = (e(0), e(1), e(2), e(3));
                let mut d = [
                    &e0[..cl],
                    &e1[..cl],
                    &e2[..cl],
                    &e3[..cl],
                    &e0[1..],
                    &e1[1..],
                ];
                if flip {
                    d.reverse();
                }
                map6::<S, 6>(
                    d,
                    split::<6>(&mut out[i * 6 * n..], n, j, cl),
                    |d| bt6s(simd, d),
                    bt6,
                );
            }
            done += cl;
        }
    }
}

/// `phases[k][q] = seg[4 q + k]` (`seg` is 4 times as long as each phase).
#[inline(always)]
fn deinterleave4(seg: &[f32], phases: [&mut [f32]; 4]) {
    let [p0, p1, p2, p3] = phases;
    let places = p0.len();
    let (p1, p2, p3) = (&mut p1[..places], &mut p2[..places], &mut p3[..places]);
    for (q, c) in seg[..4 * places].chunks_exact(4).enumerate() {
        p0[q] = c[0];
        p1[q] = c[1];
        p2[q] = c[2];
        p3[q] = c[3];
    }
}

/// `buf[r * stride + at..][..len]` for `r` in `0..N`, as disjoint slices.
#[inline(always)]
fn split<const N: usize>(buf: &mut [f32], stride: usize, at: usize, len: usize) -> [&mut [f32]; N] {
    let mut parts: [&mut [f32]; N] = std::array::from_fn(|_| Default::default());
    let mut rest = buf;
    for (r, part) in parts.iter_mut().enumerate() {
        let (head, tail) = rest.split_at_mut(if r + 1 < N { stride } else { rest.len() });
        *part = &mut head[at..at + len];
        rest = tail;
    }
    parts
}

/// [`output_tile_transform`] for `F(4x4, 3x3)`, by chunks of tiles within a
/// tile row: the vertical pass over the products, the horizontal one into
/// 4 arrays (output column `4 q + c` of the chunk in array `c`, place `q`),
/// then interleaved into the image row with bias, ReLU and mask. The same
/// sums in the same order as [`output_tile_transform`].
#[inline(always)]
fn output_tiles_f4<S: pulp::Simd>(simd: S, op: OutputTiles<'_>) {
    let OutputTiles {
        geo,
        flip,
        prod,
        o,
        cout,
        scratch,
        plane,
        bias,
        relu,
        mut mask,
        ..
    } = op;
    let (n, h, w) = (geo.n, geo.h, geo.w);
    let (ver, cols) = scratch[..28 * CHUNK].split_at_mut(24 * CHUNK);
    let b = simd.splat_f32s(bias);
    for (ty, tx0, len, j0) in row_runs(geo) {
        let mut done = 0;
        while done < len {
            let cl = CHUNK.min(len - done);
            let (tx, j) = (tx0 + done, j0 + done);
            // ver[i][l][tile] = sum_k AT[i][k] M[k][l][tile]
            for l in 0..6 {
                let m = |k: usize| &prod[((k * 6 + l) * cout + o) * n + j..][..cl];
                let mut rows = split::<4>(ver, 6 * CHUNK, l * CHUNK, cl);
                if flip {
                    rows.reverse();
                }
                map6::<S, 4>(std::array::from_fn(m), rows, |m| at6s(simd, m), at6);
            }
            // Tiles whose 4 columns all lie inside the image; the last one
            // may be cut by the right edge.
            let x0 = 4 * tx;
            let full = (w.saturating_sub(x0) / 4).min(cl);
            let width = (w - x0).min(4 * cl);
            for i in 0..4 {
                let yy = 4 * ty + i;
                if yy >= h {
                    break;
                }
                let row = |l: usize| &ver[(i * 6 + l) * CHUNK..][..cl];
                let mut columns = split::<4>(cols, CHUNK, 0, cl);
                if flip {
                    columns.reverse();
                }
                map6::<S, 4>(
                    std::array::from_fn(row),
                    columns,
                    |m| at6s(simd, m).map(|v| simd.add_f32s(v, b)),
                    |m| at6(m).map(|v| v + bias),
                );
                let c = |k: usize| &cols[k * CHUNK..][..cl];
                let (c0, c1, c2, c3) = (c(0), c(1), c(2), c(3));
                let relu = relu || mask.is_some();
                let dst = &mut plane[yy * w + x0..][..width];
                let (body, edge) = dst.split_at_mut(4 * full);
                let tile = |q: usize| {
                    [c0[q], c1[q], c2[q], c3[q]].map(|v| if relu { v.max(0.0) } else { v })
                };
                for (q, d) in body.chunks_exact_mut(4).enumerate() {
                    d.copy_from_slice(&tile(q));
                }
                if full < cl {
                    for (d, v) in edge.iter_mut().zip(tile(full)) {
                        *d = v;
                    }
                }
                if let Some(mask) = mask.as_deref_mut() {
                    let keep = &mut mask[yy * w + x0..][..width];
                    for (k, v) in keep.iter_mut().zip(&*dst) {
                        *k = u8::from(*v > 0.0);
                    }
                }
            }
            done += cl;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Direct 3x3 correlation with zero padding, in f64.
    fn direct(input: &Activation, kernel: &[f32], cout: usize, bias: &[f32]) -> Vec<f64> {
        let (cin, h, w) = (input.channels, input.h, input.w);
        let mut out = vec![0.0f64; cout * h * w];
        for o in 0..cout {
            for y in 0..h {
                for x in 0..w {
                    let mut s = f64::from(bias[o]);
                    for i in 0..cin {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (yy, xx) = (y as isize + ky - 1, x as isize + kx - 1);
                                if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
                                    continue;
                                }
                                s += f64::from(input.data[(i * h + yy as usize) * w + xx as usize])
                                    * f64::from(
                                        kernel[((o * cin + i) * 3 + ky as usize) * 3 + kx as usize],
                                    );
                            }
                        }
                    }
                    out[(o * h + y) * w + x] = s;
                }
            }
        }
        out
    }

    fn random(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
        (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    fn max_rel(got: &[f32], want: &[f64]) -> f64 {
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        got.iter()
            .zip(want)
            .fold(0.0f64, |m, (g, w)| m.max((f64::from(*g) - w).abs()))
            / scale
    }

    #[test]
    fn matches_direct_convolution_on_odd_sizes() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for t in [&F2X2, &F4X4] {
            for &(cin, cout, h, w) in &[(3, 5, 7, 9), (4, 3, 1, 1), (6, 7, 13, 5), (2, 2, 4, 8)] {
                let input = Activation {
                    channels: cin,
                    h,
                    w,
                    data: random(cin * h * w, &mut rng),
                };
                let kernel = random(cout * cin * 9, &mut rng);
                let bias = random(cout, &mut rng);
                let want = direct(&input, &kernel, cout, &bias);
                let wk = WinogradKernel::new(&kernel, cout, cin, t);
                let got = conv3x3(
                    &input,
                    &wk,
                    Epilogue::Bias(&bias),
                    Simd::from_env(),
                    &Buffers::new(),
                );
                let err = max_rel(&got.data, &want);
                assert!(err < 2e-6, "m={} {cin}x{cout} {h}x{w}: {err}", t.m);
                let mut mask = vec![9u8; cout * h * w];
                let got = conv3x3(
                    &input,
                    &wk,
                    Epilogue::BiasReluMask(&bias, &mut mask),
                    Simd::from_env(),
                    &Buffers::new(),
                );
                // Relative to the largest output before the ReLU, as above
                // (an absolute bound would depend on the sizes; with faer's
                // NEON kernels, which fuse multiply and add, an error of
                // 1.04e-5 on an output of 1.53 was seen under qemu-aarch64).
                let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for ((g, w), k) in got.data.iter().zip(&want).zip(&mask) {
                    let err = (f64::from(*g) - w.max(0.0)).abs() / scale;
                    assert!(err < 2e-6, "m={} {cin}x{cout} {h}x{w}: {err}", t.m);
                    assert_eq!(*k, u8::from(*w > 0.0));
                }
            }
        }
    }

    #[test]
    fn kernels_are_g_k_g_transposed() {
        // The separable transform against the nine terms summed at each
        // position, in f64 and rounded once: equal up to that rounding.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (cin, cout) = (5, 7);
        let kernel = random(cout * cin * 9, &mut rng);
        for t in [&F2X2, &F4X4] {
            let a = t.alpha;
            let made = WinogradKernel::new(&kernel, cout, cin, t);
            for xi in 0..a * a {
                let (p, q) = (xi / a, xi % a);
                for o in 0..cout {
                    for i in 0..cin {
                        let mut s = 0.0f64;
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let w = kernel[((o * cin + i) * 3 + ky) * 3 + kx];
                                s += t.g[p * 3 + ky] * f64::from(w) * t.g[q * 3 + kx];
                            }
                        }
                        let got = made.u[(xi * cout + o) * cin + i];
                        let want = s as f32;
                        assert!(
                            (got - want).abs() <= f32::EPSILON * want.abs(),
                            "{xi} {o} {i}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    /// The kernel of the gradient with respect to the input of the
    /// correlation by `kernel` (`[cout, cin, 3, 3]`): rotated by 180
    /// degrees, channels swapped (`[cin, cout, 3, 3]`).
    fn rotated_swapped(kernel: &[f32], cout: usize, cin: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; kernel.len()];
        for o in 0..cout {
            for i in 0..cin {
                for tap in 0..9 {
                    out[(i * cout + o) * 9 + tap] = kernel[(o * cin + i) * 9 + 8 - tap];
                }
            }
        }
        out
    }

    #[test]
    fn the_adjoint_is_the_input_gradient() {
        // Against the direct correlation with the rotated, channel-swapped
        // kernel in f64, on odd sizes, with and without a mask; and
        // <conv(x), y> == <x, adjoint(y)>.
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for t in [&F2X2, &F4X4] {
            for &(cin, cout, h, w) in &[(3, 4, 11, 6), (4, 3, 1, 1), (6, 7, 13, 5), (2, 5, 9, 70)] {
                let kernel = random(cout * cin * 9, &mut rng);
                let wk = WinogradKernel::new(&kernel, cout, cin, t);
                let x = Activation {
                    channels: cin,
                    h,
                    w,
                    data: random(cin * h * w, &mut rng),
                };
                let mut y = Activation {
                    channels: cout,
                    h,
                    w,
                    data: random(cout * h * w, &mut rng),
                };
                let (simd, buffers) = (Simd::from_env(), Buffers::new());
                let gy = conv3x3_adjoint(&y, None, &wk, simd, &buffers);
                assert_eq!((gy.channels, gy.h, gy.w), (cin, h, w));
                let back = rotated_swapped(&kernel, cout, cin);
                let want = direct(&y, &back, cin, &vec![0.0; cin]);
                let err = max_rel(&gy.data, &want);
                assert!(err < 2e-6, "m={} {cin}x{cout} {h}x{w}: {err}", t.m);

                let fx = conv3x3(&x, &wk, Epilogue::None, simd, &buffers);
                let dot = |a: &[f32], b: &[f32]| -> f64 {
                    a.iter()
                        .zip(b)
                        .map(|(p, q)| f64::from(*p) * f64::from(*q))
                        .sum()
                };
                let (l, r) = (dot(&fx.data, &y.data), dot(&x.data, &gy.data));
                assert!((l - r).abs() < 1e-4 * l.abs().max(1.0), "{l} vs {r}");

                let mask: Vec<u8> = (0..y.data.len()).map(|i| u8::from(i % 3 != 1)).collect();
                let masked = conv3x3_adjoint(&y, Some(&mask), &wk, simd, &buffers);
                for (v, k) in y.data.iter_mut().zip(&mask) {
                    if *k == 0 {
                        *v = 0.0;
                    }
                }
                let want = direct(&y, &back, cin, &vec![0.0; cin]);
                let err = max_rel(&masked.data, &want);
                // (A third of the values zero: the largest output, the
                // scale, is smaller against the same rounding.)
                assert!(err < 1e-5, "masked m={} {cin}x{cout} {h}x{w}: {err}", t.m);
            }
        }
    }

    /// Runs the `F(4x4, 3x3)` transforms both ways on one channel and one
    /// group: the specialised chunked ones and the generic ones.
    fn both_transforms(
        h: usize,
        w: usize,
        first: usize,
        n: usize,
        masked: bool,
        flip: bool,
        seed: u64,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let t = &F4X4;
        let tiles_x = w.div_ceil(4);
        let geo = Geometry {
            h,
            w,
            tiles_x,
            first,
            n,
        };
        let plane = random(h * w, &mut rng);
        let mask: Vec<u8> = (0..h * w).map(|i| u8::from(i % 7 != 3)).collect();
        let mask = masked.then_some(&mask[..]);
        let scratch = |len: usize| vec![f32::NAN; len];
        let (mut fast, mut generic) = (vec![f32::NAN; 36 * n], vec![f32::NAN; 36 * n]);
        let arch = Simd::from_env().arch;
        arch.dispatch(InputTiles {
            t,
            geo: &geo,
            flip,
            plane: &plane,
            mask,
            out: &mut fast,
            scratch: &mut scratch(t.input_scratch(n)),
        });
        input_tile_transform(InputTiles {
            t,
            geo: &geo,
            flip,
            plane: &plane,
            mask,
            out: &mut generic,
            scratch: &mut scratch(72 * n),
        });
        assert_same(
            &values(&fast),
            &values(&generic),
            "input {h}x{w} tiles {first}+{n} flip {flip}",
        );
        // One output channel of two (`o = 1`): products `[36][2][n]`.
        let prod = random(36 * 2 * n, &mut rng);
        for (bias, relu, with_mask) in [(0.0, false, false), (0.3, true, false), (-0.2, true, true)]
        {
            let mut planes = [vec![7.0f32; h * w], vec![7.0f32; h * w]];
            let mut masks = [vec![9u8; h * w], vec![9u8; h * w]];
            let [p0, p1] = &mut planes;
            let [m0, m1] = &mut masks;
            arch.dispatch(OutputTiles {
                t,
                geo: &geo,
                flip,
                prod: &prod,
                o: 1,
                cout: 2,
                scratch: &mut scratch(t.output_scratch(n)),
                plane: p0,
                bias,
                relu,
                mask: with_mask.then_some(&mut m0[..]),
            });
            output_tile_transform(OutputTiles {
                t,
                geo: &geo,
                flip,
                prod: &prod,
                o: 1,
                cout: 2,
                scratch: &mut scratch(40 * n),
                plane: p1,
                bias,
                relu,
                mask: with_mask.then_some(&mut m1[..]),
            });
            assert_same(
                &values(p0),
                &values(p1),
                "output {h}x{w} tiles {first}+{n} {bias} {relu} flip {flip}",
            );
            assert_eq!(m0, m1);
        }
    }

    fn assert_same(a: &[u32], b: &[u32], what: &str) {
        assert_eq!(a.len(), b.len());
        if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
            panic!("{what}: first difference at {i} of {}", a.len());
        }
    }

    /// The exact values (bits, with -0 taken as 0: the sign of a zero is
    /// the one thing the SIMD and scalar ReLUs may choose differently).
    fn values(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| (x + 0.0).to_bits()).collect()
    }

    #[test]
    fn the_chunked_transforms_give_the_generic_ones_bits() {
        // Whole images (odd, 1 px, wider than a chunk of tiles), and groups
        // starting and ending mid tile row.
        for (i, &(h, w, first, n)) in [
            (13, 5, 0, 8),
            (1, 1, 0, 1),
            (9, 14, 0, 12),
            (6, 301, 0, 152),
            (45, 67, 0, 204),
            (45, 67, 5, 40),
            (23, 290, 60, 100),
        ]
        .iter()
        .enumerate()
        {
            for masked in [false, true] {
                for flip in [false, true] {
                    both_transforms(h, w, first, n, masked, flip, 40 + i as u64);
                }
            }
        }
    }

    #[test]
    fn groups_split_large_images() {
        // 38 x 30 = 1140 tiles of 4x4; 36 * 16 floats per tile.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (cin, cout, h, w) = (8, 8, 150, 118);
        let input = Activation {
            channels: cin,
            h,
            w,
            data: random(cin * h * w, &mut rng),
        };
        let kernel = random(cout * cin * 9, &mut rng);
        let bias = vec![0.0; cout];
        let want = direct(&input, &kernel, cout, &bias);
        // Groups of 512 tiles (the minimum): 3 groups, the last one short
        // and starting mid tile row.
        let got = conv3x3_grouped(
            &input,
            None,
            &WinogradKernel::new(&kernel, cout, cin, &F4X4),
            Direction::Forward,
            Epilogue::None,
            36 * 16 * 512,
            Simd::from_env(),
            &Buffers::new(),
        );
        let whole = conv3x3(
            &input,
            &WinogradKernel::new(&kernel, cout, cin, &F4X4),
            Epilogue::None,
            Simd::from_env(),
            &Buffers::new(),
        );
        let (e_groups, e_whole) = (max_rel(&got.data, &want), max_rel(&whole.data, &want));
        assert!(e_groups < 1e-5 && e_whole < 1e-5, "{e_groups} {e_whole}");
        // The adjoint in the same groups.
        let back = conv3x3_grouped(
            &input,
            None,
            &WinogradKernel::new(&kernel, cout, cin, &F4X4),
            Direction::Adjoint,
            Epilogue::None,
            36 * 16 * 512,
            Simd::from_env(),
            &Buffers::new(),
        );
        let want = direct(&input, &rotated_swapped(&kernel, cout, cin), cin, &bias);
        let e_back = max_rel(&back.data, &want);
        assert!(e_back < 1e-5, "{e_back}");
    }
}
