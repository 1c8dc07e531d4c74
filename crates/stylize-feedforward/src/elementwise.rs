//! The layers' activations, and the elementwise loops of the 26-style
//! network compiled for the instruction set of the network's level (pulp's
//! dispatch: AVX-512, AVX2 with FMA, NEON, else the baseline; held at
//! AVX2 by `STYLIZE_SIMD=avx2`), as the `stylize` crate's Winograd
//! transforms are: the loops are plain Rust that the compiler vectorises
//! for that set, so their results do not depend on it.

use pulp::{Simd, WithSimd};
use stylize_matmul::Isa;

/// What follows a layer's normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    Relu,
    Identity,
    Sigmoid,
}

impl Activation {
    #[inline(always)]
    fn apply(self, v: f32) -> f32 {
        match self {
            Activation::Relu => v.max(0.0),
            Activation::Identity => v,
            Activation::Sigmoid => sigmoid(v),
        }
    }
}

/// `row[i] = act(row[i] * scale + shift)`.
pub(crate) fn map_row(isa: Isa, row: &mut [f32], scale: f32, shift: f32, act: Activation) {
    struct Op<'a>(&'a mut [f32], f32, f32, Activation);
    impl WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            let Op(row, scale, shift, act) = self;
            // One loop per activation, so each vectorises on its own.
            match act {
                Activation::Relu => row
                    .iter_mut()
                    .for_each(|v| *v = Activation::Relu.apply(*v * scale + shift)),
                Activation::Identity => row.iter_mut().for_each(|v| *v = *v * scale + shift),
                Activation::Sigmoid => row
                    .iter_mut()
                    .for_each(|v| *v = Activation::Sigmoid.apply(*v * scale + shift)),
            }
        }
    }
    isa.arch().dispatch(Op(row, scale, shift, act))
}

/// `dst[i] += src[i] * scale + shift` (a residual connection).
pub(crate) fn add_mapped(isa: Isa, dst: &mut [f32], src: &[f32], scale: f32, shift: f32) {
    struct Op<'a>(&'a mut [f32], &'a [f32], f32, f32);
    impl WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            let Op(dst, src, scale, shift) = self;
            for (v, r) in dst.iter_mut().zip(src) {
                *v += *r * scale + shift;
            }
        }
    }
    isa.arch().dispatch(Op(dst, src, scale, shift))
}

/// The even values of `row` into `even` and the odd ones into `odd`
/// (`even` at least as long as `odd`, each covering its share of `row`).
pub(crate) fn deinterleave(isa: Isa, row: &[f32], even: &mut [f32], odd: &mut [f32]) {
    struct Op<'a>(&'a [f32], &'a mut [f32], &'a mut [f32]);
    impl WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            let Op(row, even, odd) = self;
            let pairs = row.chunks_exact(2);
            if let [last] = pairs.remainder() {
                even[row.len() / 2] = *last;
            }
            for ((pair, e), o) in pairs.zip(even.iter_mut()).zip(odd.iter_mut()) {
                *e = pair[0];
                *o = pair[1];
            }
        }
    }
    isa.arch().dispatch(Op(row, even, odd))
}

/// The sum and the sum of squares of `run`, in 16 lanes of `f32` (runs
/// are at most an output row long), added up in `f64`.
pub(crate) fn sums(isa: Isa, run: &[f32]) -> [f64; 2] {
    struct Op<'a>(&'a [f32]);
    impl WithSimd for Op<'_> {
        type Output = [f64; 2];
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> [f64; 2] {
            let (mut s, mut q) = ([0.0f32; 16], [0.0f32; 16]);
            let mut it = self.0.chunks_exact(16);
            for c in it.by_ref() {
                let Ok(c) = <&[f32; 16]>::try_from(c) else {
                    continue;
                };
                for l in 0..16 {
                    s[l] += c[l];
                    q[l] += c[l] * c[l];
                }
            }
            let rest = it.remainder();
            let wide = |lanes: [f32; 16]| lanes.iter().map(|v| f64::from(*v)).sum::<f64>();
            [
                wide(s) + rest.iter().map(|v| f64::from(*v)).sum::<f64>(),
                wide(q) + rest.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>(),
            ]
        }
    }
    isa.arch().dispatch(Op(run))
}

/// The logistic function, through [`exp`]: within 1e-7 of `1 / (1 +
/// e^-z)` and branch-free, so a loop of it vectorises.
#[inline(always)]
pub(crate) fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + exp(-z))
}

/// `e^x` for `x` clamped to [-87, 88] (Cephes' `expf`: `x = n ln 2 + r`,
/// `|r| <= ln 2 / 2`, a degree-6 polynomial for `e^r`, `2^n` from the
/// exponent bits): relative error about 2e-7.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    // Round to nearest by adding and subtracting 1.5 * 2^23 (no `round`
    // call, which would not vectorise on baseline x86-64).
    const SHIFTER: f32 = 12_582_912.0;
    let n = (x * LOG2E + SHIFTER) - SHIFTER;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    e_r * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_polynomial_exp_and_sigmoid_match_the_library() {
        let mut worst = (0.0f64, 0.0f64);
        for i in -20_000..=20_000 {
            let x = i as f32 * 0.0043;
            let e = (f64::from(exp(x)) - f64::from(x).exp()).abs() / f64::from(x).exp();
            let s = (f64::from(sigmoid(x)) - 1.0 / (1.0 + (-f64::from(x)).exp())).abs();
            worst = (worst.0.max(e), worst.1.max(s));
        }
        assert!(
            worst.0 < 5e-7 && worst.1 < 2e-7,
            "relative exp error {}, sigmoid error {}",
            worst.0,
            worst.1
        );
        assert_eq!(sigmoid(-200.0), 1.0 / (1.0 + 88f32.exp()));
        assert!(sigmoid(200.0) == 1.0);
    }
}
