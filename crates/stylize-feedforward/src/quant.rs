//! Fake quantisation: the int8 networks' QuantizeLinear/DequantizeLinear
//! pairs, computed in `f32` as onnxruntime's operators define them, and
//! the row loops that use it, compiled for the CPU's best instruction set
//! (pulp's dispatch, as in `elementwise.rs`).

use pulp::{Simd, WithSimd};
use stylize_matmul::Isa;

use crate::elementwise::sigmoid;

/// One quantisation point of the graph: `scale`, `zero` point and the
/// integer type's range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quant {
    pub scale: f32,
    pub zero: f32,
    pub lo: f32,
    pub hi: f32,
}

impl Quant {
    /// An `int8` (`signed`) or `uint8` point.
    pub fn new(scale: f32, zero: i32, signed: bool) -> Quant {
        let (lo, hi) = if signed {
            (-128.0, 127.0)
        } else {
            (0.0, 255.0)
        };
        Quant {
            scale,
            zero: zero as f32,
            lo,
            hi,
        }
    }

    /// `x` quantised and dequantised: `(clamp(round(x / scale) + zero) -
    /// zero) * scale`, rounding half to even (as QuantizeLinear).
    #[inline(always)]
    pub fn fake(self, x: f32) -> f32 {
        self.steps(x) * self.scale
    }

    /// `x` quantised, as steps from the zero point: `clamp(round(x /
    /// scale) + zero) - zero`.
    #[inline(always)]
    pub fn steps(self, x: f32) -> f32 {
        // Far outside the range the clamp decides anyway; bounding first
        // keeps the rounding trick valid.
        self.clamped(x / self.scale)
    }

    /// `steps` rounded half to even and clamped to the integer type's
    /// range (relative to the zero point).
    #[inline(always)]
    fn clamped(self, steps: f32) -> f32 {
        let steps = steps.clamp(-LARGE, LARGE);
        (round_even(steps) + self.zero).clamp(self.lo, self.hi) - self.zero
    }

    /// An integer `sum` (exact in `f64`) requantised into this point as
    /// MLAS does after an integer kernel (`MlasRequantizeOutput`): the sum
    /// converted to `f32`, times `scale`, rounded half to even, clamped;
    /// here dequantised.
    pub fn requant(self, sum: f64, scale: f32) -> f32 {
        self.clamped(sum as f32 * scale) * self.scale
    }
}

/// A bound on quantisation steps, well past any range.
const LARGE: f32 = 1_048_576.0;

/// `x` (`|x| <= 2^22`) rounded to the nearest integer, halves to even,
/// without a library call (so loops of it vectorise): adding and
/// subtracting 1.5 * 2^23 rounds in the default mode.
#[inline(always)]
pub(crate) fn round_even(x: f32) -> f32 {
    const SHIFTER: f32 = 12_582_912.0;
    (x + SHIFTER) - SHIFTER
}

/// `row[i] = round(row[i] / scale)`: dequantised values back to their
/// integer steps from the zero point (exact: each is a whole number of
/// steps times `scale`, rounded once).
pub(crate) fn steps_row(isa: Isa, row: &mut [f32], scale: f32) {
    struct Op<'a>(&'a mut [f32], f32);
    impl WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            let Op(row, scale) = self;
            row.iter_mut()
                .for_each(|v| *v = round_even((*v / scale).clamp(-LARGE, LARGE)));
        }
    }
    isa.arch().dispatch(Op(row, scale))
}

/// `row[i]` (an integer sum, exact in `f32`) requantised as onnxruntime's
/// QLinearConv does (MLAS's `MlasRequantizeOutput`): `(sum + bias) *
/// scale` rounded half to even, clamped to `out`'s integer range, here
/// dequantised again.
pub(crate) fn requant_row(isa: Isa, row: &mut [f32], bias: f32, scale: f32, out: Quant) {
    struct Op<'a>(&'a mut [f32], f32, f32, Quant);
    impl WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            let Op(row, bias, scale, q) = self;
            row.iter_mut()
                .for_each(|v| *v = q.clamped((*v + bias) * scale) * q.scale);
        }
    }
    isa.arch().dispatch(Op(row, bias, scale, out))
}

/// The sum of `round(row[i] / step)`: the integer steps of quantised
/// values, exactly (each chunk's sum stays below 2^24 in `f32`).
pub(crate) fn step_sum(isa: Isa, row: &[f32], step: f32) -> f64 {
    struct Op<'a>(&'a [f32], f32);
    impl WithSimd for Op<'_> {
        type Output = f64;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> f64 {
            let Op(row, step) = self;
            row.chunks(CHUNK)
                .map(|c| f64::from(lane_sum(c, |v| round_even((v / step).clamp(-LARGE, LARGE)))))
                .sum()
        }
    }
    isa.arch().dispatch(Op(row, step))
}

/// Values a chunk of an exact integer sum holds: 255 steps each stay
/// below 2^24.
const CHUNK: usize = 32768;

/// The sum of `f(v)` over `values` in 16 lanes (vectorised), then the
/// lanes.
#[inline(always)]
fn lane_sum(values: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; 16];
    let mut it = values.chunks_exact(16);
    for c in it.by_ref() {
        for l in 0..16 {
            lanes[l] += f(c[l]);
        }
    }
    let rest: f32 = it.remainder().iter().map(|v| f(*v)).sum();
    lanes.iter().sum::<f32>() + rest
}

/// What follows a quantised normalisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum QuantAct {
    Relu,
    Identity,
    /// The sigmoid, its result quantised again.
    Sigmoid(Quant),
}

/// `row[i] = q(act(row[i] + bias))`, `act` a ReLU or nothing.
pub(crate) fn bias_row(isa: Isa, row: &mut [f32], bias: f32, relu: bool, q: Quant) {
    struct Op<'a>(&'a mut [f32], f32, bool, Quant);
    impl WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            let Op(row, b, relu, q) = self;
            if relu {
                row.iter_mut().for_each(|v| *v = q.fake((*v + b).max(0.0)));
            } else {
                row.iter_mut().for_each(|v| *v = q.fake(*v + b));
            }
        }
    }
    isa.arch().dispatch(Op(row, bias, relu, q))
}

/// The per-value part of [`norm_row`]'s addition.
#[derive(Clone, Copy)]
struct AddKernel {
    scale: f32,
    partial: f32,
    ratio: f32,
    scaled: Quant,
    out: Quant,
}

impl AddKernel {
    #[inline(always)]
    fn apply(self, v: f32) -> f32 {
        let a = self.scaled.steps(v * self.scale) + self.scaled.zero - self.scaled.lo;
        let y = round_even(a.mul_add(self.ratio, self.partial).clamp(-LARGE, LARGE));
        // Saturated to the output's raw range, back to its steps.
        let out = self.out;
        (y.clamp(0.0, out.hi - out.lo) + out.lo - out.zero) * out.scale
    }
}

/// `row[i] = out(act(scaled(row[i] * scale) + shift))`: a quantised
/// normalisation's last steps. The addition is onnxruntime's integer
/// `QLinearAdd` (the kernel it ran on the AVX-512 CPU where this was
/// checked, its AVX2 one with float multiplies): on the raw `uint8`
/// values `a` and `b`, `fma(a, sa / sc, fma(b, sb / sc, zc - fma(sa / sc,
/// za, sb / sc * zb)))`, rounded half to even and saturated; all 13 of the
/// transformer's additions were checked against it on every pair of
/// inputs (`reference/fast_qlinear_add.py`). The ReLU it drops is the
/// saturation at an output zero point of 0.
pub(crate) fn norm_row(
    isa: Isa,
    row: &mut [f32],
    (scale, shift): (f32, f32),
    (scaled, shifted): (Quant, Quant),
    out: Quant,
    act: QuantAct,
) {
    /// The row, `scale`, the per-row part of the sum, `sa / sc`, the
    /// points `scaled` and `out`, and what follows.
    struct Op<'a>(&'a mut [f32], f32, f32, f32, Quant, Quant, QuantAct);
    impl WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            let Op(row, scale, partial, ratio, scaled, out, act) = self;
            let k = AddKernel {
                scale,
                partial,
                ratio,
                scaled,
                out,
            };
            // One loop per activation, each inlined here (so that its
            // `mul_add` is the CPU's fused instruction, not a call).
            match act {
                QuantAct::Relu => row.iter_mut().for_each(|v| *v = k.apply(*v).max(0.0)),
                QuantAct::Identity => row.iter_mut().for_each(|v| *v = k.apply(*v)),
                QuantAct::Sigmoid(q) => row
                    .iter_mut()
                    .for_each(|v| *v = q.fake(sigmoid(k.apply(*v)))),
            }
        }
    }
    let (ratio_a, ratio_b) = (scaled.scale / out.scale, shifted.scale / out.scale);
    let raw_zero = |q: Quant| q.zero - q.lo;
    let (za, zb, zc) = (raw_zero(scaled), raw_zero(shifted), raw_zero(out));
    let constant = zc - ratio_a.mul_add(za, ratio_b * zb);
    let b = shifted.steps(shift) + zb;
    let partial = b.mul_add(ratio_b, constant);
    isa.arch()
        .dispatch(Op(row, scale, partial, ratio_a, scaled, out, act))
}

/// The sum of the integer steps of `q((row[i] - mean)^2)`, exactly.
pub(crate) fn square_steps(isa: Isa, row: &[f32], mean: f32, q: Quant) -> f64 {
    struct Op<'a>(&'a [f32], f32, Quant);
    impl WithSimd for Op<'_> {
        type Output = f64;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> f64 {
            let Op(row, mean, q) = self;
            row.chunks(CHUNK)
                .map(|c| {
                    f64::from(lane_sum(c, |v| {
                        let d = v - mean;
                        q.steps(d * d)
                    }))
                })
                .sum()
        }
    }
    isa.arch().dispatch(Op(row, mean, q))
}

/// `dst[i] = q(dst[i] + src[i])` (a quantised residual connection).
pub(crate) fn add_row(isa: Isa, dst: &mut [f32], src: &[f32], q: Quant) {
    struct Op<'a>(&'a mut [f32], &'a [f32], Quant);
    impl WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            let Op(dst, src, q) = self;
            for (d, s) in dst.iter_mut().zip(src) {
                *d = q.fake(*d + s);
            }
        }
    }
    isa.arch().dispatch(Op(dst, src, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integer sums stay exact past 2^24 (a 1024 px layer's), and
    /// requantise as MLAS: the sum as `f32`, times the scale, rounded half
    /// to even, clamped.
    #[test]
    fn step_sums_are_exact_and_requantise_as_mlas() {
        let step = 0.1f32;
        let q = Quant::new(step, 0, false);
        // 200,000 values of 255 steps (stored as the dequantised f32s).
        let row = vec![q.fake(255.0 * step); 200_000];
        let want = 255.0 * 200_000.0;
        assert!(want > f64::from(1u32 << 24));
        assert_eq!(step_sum(Isa::Best, &row, step), want);
        // Squares: (3 steps)^2 = 0.09, in steps of 0.01 -> 9 each.
        let sq = Quant::new(0.01, -128, true);
        let row = vec![0.3f32; 70_001];
        assert_eq!(square_steps(Isa::Best, &row, 0.0, sq), 9.0 * 70_001.0);
        // 5 * 0.5 = 2.5 -> 2 (half to even), 7 * 0.5 = 3.5 -> 4; clamped.
        let out = Quant::new(1.0, 0, false);
        assert_eq!(out.requant(5.0, 0.5), 2.0);
        assert_eq!(out.requant(7.0, 0.5), 4.0);
        assert_eq!(out.requant(-7.0, 0.5), 0.0);
        assert_eq!(out.requant(1e6, 0.5), 255.0);
    }

    #[test]
    fn rounds_half_to_even_and_clamps() {
        for (x, want) in [
            (0.5, 0.0),
            (1.5, 2.0),
            (2.5, 2.0),
            (-0.5, 0.0),
            (-1.5, -2.0),
            (2.4, 2.0),
            (-2.6, -3.0),
            (1e7, 1e7),
        ] {
            assert_eq!(round_even(x), want, "{x}");
        }
        let q = Quant::new(0.5, -128, true);
        // 3.3 / 0.5 = 6.6 -> 7 (+ -128 = -121), back: 3.5.
        assert_eq!(q.fake(3.3), 3.5);
        // Below the range: -128 -> 0.
        assert_eq!(q.fake(-4.0), 0.0);
        // Above: 127 - -128 = 255 steps -> 127.5.
        assert_eq!(q.fake(1000.0), 127.5);
        let u = Quant::new(0.25, 10, false);
        assert_eq!(u.fake(-10.0), -2.5);
    }
}
