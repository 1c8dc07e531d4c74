//! A convolution summed straight from its input's rows, without a patch
//! matrix or a matrix product: every convolution of both networks.
//!
//! As a matrix product, a layer with few input channels (the 26-style
//! network's 9x9 layers: 3 in, 4 in) copies its taps into a patch matrix
//! `k x k` times larger than the image for only `cout` multiply-adds per
//! value, and with 3 filters the product's kernel is mostly empty; with
//! 32 channels, one product per tap (its `cin` channels the product's
//! depth) loads and stores the output `k x k` times. Here a tile of
//! consecutive output pixels and a group of filters are summed in vector
//! registers over all the taps: each tap is one run of the input (a
//! [`Source`](crate::conv::Source) lays the taps out so) times one
//! broadcast weight per filter. Every output value is one chain of fused
//! multiply-adds from zero in `(channel, row, column)` tap order, or such
//! chains over runs of taps added in turn (MLAS's order,
//! [`Conv::in_runs`](crate::conv::Conv::in_runs)), so the sums do not
//! depend on the tile, the block or the number of threads.
//!
//! Written with pulp's vector types for the network's instruction set:
//! the tile and group sizes fit the registers of AVX-512 (48 pixels by 8
//! filters: 24 of its 32 registers accumulate, 3 hold the tap's pixels),
//! of AVX2 (24 by 4: 12 of its 16), and of NEON and the baseline (16 by
//! 4).
//!
//! Measured on an Intel Xeon (family 6 model 207, 2 threads, the 26-style
//! network at 512x340): the 9x9 4->3 layer 7.1 ms as a product, 2.6-2.9 ms
//! here; the 3x3 8->4 layer 2.0 and 1.0 ms. The 3x3 32->32 layers with
//! 32 by 8 tiles were about as fast as per-tap products; with 48 by 8
//! tiles the whole network takes 10-30% less time than with the
//! products (`bench/fast`, README).

use std::ops::Range;

use faer::reborrow::ReborrowMut;
use faer::MatMut;
use pulp::{Simd, WithSimd};
use stylize_matmul::Isa;

/// The longest tile of pixels: AVX-512's, 3 vectors of 16 (no instruction
/// set pulp dispatches to has wider vectors).
const MAX_TILE: usize = 48;

/// One block of a convolution's output pixels, summed directly.
pub(crate) struct DirectBlock<'a, 'd> {
    /// The laid-out input ([`Source`](crate::conv::Source)'s values).
    pub src: &'a [f32],
    /// Where tap `t` of output pixel 0 reads, in `src`.
    pub offsets: &'a [usize],
    /// `[tap][filter]`: the filters' weights tap by tap.
    pub weights: &'a [f32],
    /// Taps summed from zero before being added to the output (MLAS's K
    /// stride, see [`Conv::in_runs`](crate::conv::Conv::in_runs)); all of
    /// them for one chain.
    pub run: usize,
    /// The block's first output pixel.
    pub first_pixel: usize,
    /// The block's output: pixels by filters, each filter's column
    /// contiguous.
    pub dst: MatMut<'d, f32>,
}

impl DirectBlock<'_, '_> {
    /// Sums the block at `isa`'s instruction set.
    pub fn run(self, isa: Isa) {
        isa.arch().dispatch(self)
    }
}

impl WithSimd for DirectBlock<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        match S::F32_LANES {
            // AVX-512: 48 pixels by 8 filters, 24 vector accumulators.
            16.. => self.sum::<S, 3, 8>(s),
            // AVX2: 24 by 4, 12 of its 16 registers.
            8 => self.sum::<S, 3, 4>(s),
            // NEON (32 registers) and the baseline.
            _ => self.sum::<S, 4, 4>(s),
        }
    }
}

impl DirectBlock<'_, '_> {
    /// Tiles of `V` vectors of pixels by groups of at most `G` filters.
    #[inline(always)]
    fn sum<S: Simd, const V: usize, const G: usize>(mut self, s: S) {
        let tile = V * S::F32_LANES;
        let (m, cout, depth) = (self.dst.nrows(), self.dst.ncols(), self.offsets.len());
        let mut from = 0;
        while from < m {
            let len = tile.min(m - from);
            let mut first = 0;
            while first < cout {
                let filters = G.min(cout - first);
                let at = self.first_pixel + from;
                let mut start = 0;
                while start < depth {
                    let end = (start + self.run).min(depth);
                    let add = start > 0;
                    let taps = start..end;
                    macro_rules! group {
                        ($f:literal) => {{
                            let sums = self.tile::<S, V, $f>(s, at, first, taps);
                            self.store::<S, V, $f>(s, &sums, from, first, add)
                        }};
                    }
                    match (len == tile, filters) {
                        (true, 8) => group!(8),
                        (true, 4) => group!(4),
                        (true, 3) => group!(3),
                        (true, 2) => group!(2),
                        (true, 1) => group!(1),
                        _ => self.partial(at, from, len, first, filters, taps),
                    }
                    start = end;
                }
                first += filters;
            }
            from += len;
        }
    }

    /// `V` vectors of pixels from `at` by filters `first..first + F`,
    /// over `taps`: each value's chain in a register.
    #[inline(always)]
    fn tile<S: Simd, const V: usize, const F: usize>(
        &self,
        s: S,
        at: usize,
        first: usize,
        taps: Range<usize>,
    ) -> [[S::f32s; V]; F] {
        let cout = self.dst.ncols();
        let len = V * S::F32_LANES;
        let mut sums = [[s.splat_f32s(0.0); V]; F];
        let weights = self.weights[taps.start * cout..taps.end * cout].chunks_exact(cout);
        for (&off, w) in self.offsets[taps].iter().zip(weights) {
            let start = off + at;
            let Some(row) = self.src.get(start..start + len) else {
                unreachable!("a tap of a real pixel lies within the input")
            };
            let (row, _) = S::as_simd_f32s(row);
            for (sum, &w) in sums.iter_mut().zip(&w[first..first + F]) {
                let w = s.splat_f32s(w);
                for (acc, &v) in sum.iter_mut().zip(row) {
                    *acc = s.mul_add_f32s(w, v, *acc);
                }
            }
        }
        sums
    }

    /// Writes a tile's sums to its filters' columns from pixel `from`,
    /// or adds them (a later run).
    #[inline(always)]
    fn store<S: Simd, const V: usize, const F: usize>(
        &mut self,
        s: S,
        sums: &[[S::f32s; V]; F],
        from: usize,
        first: usize,
        add: bool,
    ) {
        let len = V * S::F32_LANES;
        for (f, values) in sums.iter().enumerate() {
            let col = column(&mut self.dst, first + f);
            let (out, _) = S::as_mut_simd_f32s(&mut col[from..from + len]);
            if add {
                for (o, &v) in out.iter_mut().zip(values) {
                    *o = s.add_f32s(*o, v);
                }
            } else {
                out.copy_from_slice(values);
            }
        }
    }

    /// A short tile or an odd group (the image's last pixels), one
    /// filter at a time, the same chains (`f32::mul_add` is the same
    /// fused multiply-add, one lane wide).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn partial(
        &mut self,
        at: usize,
        from: usize,
        len: usize,
        first: usize,
        filters: usize,
        taps: Range<usize>,
    ) {
        let cout = self.dst.ncols();
        for f in first..first + filters {
            let mut values = [0.0f32; MAX_TILE];
            let values = &mut values[..len];
            let weights = self.weights[taps.start * cout..taps.end * cout].chunks_exact(cout);
            for (&off, w) in self.offsets[taps.clone()].iter().zip(weights) {
                let row = &self.src[off + at..off + at + len];
                for (acc, &v) in values.iter_mut().zip(row) {
                    *acc = w[f].mul_add(v, *acc);
                }
            }
            let col = &mut column(&mut self.dst, f)[from..from + len];
            if taps.start > 0 {
                col.iter_mut().zip(values.iter()).for_each(|(o, v)| *o += v);
            } else {
                col.copy_from_slice(values);
            }
        }
    }
}

/// Column `c` of `dst` as a slice.
fn column<'m>(dst: &'m mut MatMut<'_, f32>, c: usize) -> &'m mut [f32] {
    let Some(col) = dst.rb_mut().col_mut(c).try_as_col_major_mut() else {
        unreachable!("the output's columns are contiguous")
    };
    col.as_slice_mut()
}
