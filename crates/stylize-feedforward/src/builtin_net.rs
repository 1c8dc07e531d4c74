//! The 26-style network (Dumoulin, Shlens & Kudlur 2017: conditional
//! instance normalisation) run by stylize's own code instead of tract.
//!
//! The network is small and regular, and its ONNX graph spells each
//! instance normalisation out in ten elementwise operators; here every
//! layer is one reflection pad, one convolution as matrix products
//! ([`Conv`]), and one pass that normalises, scales by the style mix's
//! `gamma` and `beta`, and applies the activation:
//!
//! ```text
//! contract: 9x9 3->32, 3x3/2 32->32, 3x3/2 32->32     (ReLU)
//! residual: 6 x [3x3 32->32 (ReLU), 3x3 32->32] + x
//! expand:   x2 nearest, 3x3 32->8 (ReLU); x2, 3x3 8->4 (ReLU); 9x9 4->3 (sigmoid)
//! ```
//!
//! The weights come from the ONNX file (checked by SHA-256 before this
//! reads it); each tensor's name and shape are checked.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;
use tract_onnx::pb::{ModelProto, TensorProto};
use tract_onnx::prelude::Framework;

use crate::conv::{Conv, Planes, Scratch};
use crate::error::{Error, Result};
use crate::models::ModelFile;
use crate::style_mix::BUILTIN_STYLES;

/// The normalisation's epsilon (the graph's constant).
const EPSILON: f64 = 1e-5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activation {
    Relu,
    Identity,
    Sigmoid,
}

/// A convolution and its conditional instance normalisation.
#[derive(Debug)]
struct Layer {
    conv: Conv,
    /// `[style][channel]`, 26 rows.
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// The 26-style network, loaded.
pub(crate) struct BuiltinNet {
    contract: [Layer; 3],
    residual: Vec<[Layer; 2]>,
    expand: [Layer; 3],
    pool: Arc<rayon::ThreadPool>,
    scratch: Scratch,
}

impl std::fmt::Debug for BuiltinNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinNet").finish_non_exhaustive()
    }
}

impl BuiltinNet {
    /// Reads the weights of `file` (the 26-style ONNX model, `bytes`).
    pub fn parse(file: ModelFile, bytes: &[u8], pool: Arc<rayon::ThreadPool>) -> Result<Self> {
        let proto: ModelProto = tract_onnx::onnx()
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| Error::network(file.name, "cannot parse the ONNX model", e))?;
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| Error::network(file.name, "no graph", "the model is empty"))?;
        let tensors: HashMap<&str, &TensorProto> = graph
            .initializer
            .iter()
            .map(|t| (t.name.as_str(), t))
            .collect();
        let layer = |name: &str, cin, cout, k, stride| -> Result<Layer> {
            let get = |suffix: &str, dims: &[usize]| -> Result<Vec<f32>> {
                let key = format!("{name}.{suffix}");
                let t = tensors.get(key.as_str()).ok_or_else(|| {
                    Error::network(file.name, "missing weights", format!("no tensor {key}"))
                })?;
                floats(file, &key, t, dims)
            };
            Ok(Layer {
                conv: Conv {
                    cin,
                    cout,
                    k,
                    stride,
                    weights: get("w", &[cout, cin, k, k])?,
                },
                gamma: get("norm.gamma", &[BUILTIN_STYLES, cout])?,
                beta: get("norm.beta", &[BUILTIN_STYLES, cout])?,
            })
        };
        let residual = (0..6)
            .map(|r| {
                Ok([
                    layer(&format!("res.{r}.0"), 32, 32, 3, 1)?,
                    layer(&format!("res.{r}.1"), 32, 32, 3, 1)?,
                ])
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(BuiltinNet {
            contract: [
                layer("contract.0", 3, 32, 9, 1)?,
                layer("contract.1", 32, 32, 3, 2)?,
                layer("contract.2", 32, 32, 3, 2)?,
            ],
            residual,
            expand: [
                layer("expand.0", 32, 8, 3, 1)?,
                layer("expand.1", 8, 4, 3, 1)?,
                layer("expand.2", 4, 3, 9, 1)?,
            ],
            pool,
            scratch: Scratch::default(),
        })
    }

    /// `image` (3 planes in [0, 1], sides multiples of 4, at least 16)
    /// painted with the style `mix` (26 weights): 3 planes in [0, 1].
    pub fn run(&self, image: Planes, mix: &[f32]) -> Planes {
        self.pool.install(|| self.forward(image, mix))
    }

    fn forward(&self, image: Planes, mix: &[f32]) -> Planes {
        let s = &self.scratch;
        // Each step consumes its input (its buffer goes back to the
        // scratch pool).
        let step = |layer: &Layer, x: Planes, act| {
            let y = apply(layer, &x, mix, act, s);
            s.give(x.data);
            y
        };
        let [c0, c1, c2] = &self.contract;
        let mut x = step(c0, image, Activation::Relu);
        x = step(c1, x, Activation::Relu);
        x = step(c2, x, Activation::Relu);
        for [a, b] in &self.residual {
            let y = apply(a, &x, mix, Activation::Relu, s);
            let y = step(b, y, Activation::Identity);
            x.data
                .par_iter_mut()
                .zip(&y.data)
                .for_each(|(v, r)| *v += r);
            s.give(y.data);
        }
        let [e0, e1, e2] = &self.expand;
        let up = upsample2(&x, s);
        s.give(x.data);
        x = step(e0, up, Activation::Relu);
        let up = upsample2(&x, s);
        s.give(x.data);
        x = step(e1, up, Activation::Relu);
        step(e2, x, Activation::Sigmoid)
    }
}

/// One layer: reflection pad, convolution, conditional instance
/// normalisation, activation.
fn apply(layer: &Layer, x: &Planes, mix: &[f32], act: Activation, s: &Scratch) -> Planes {
    let conv = &layer.conv;
    let padded = x.reflect_pad(conv.k / 2, s);
    let mut y = conv.forward(&padded, s);
    s.give(padded.data);
    let cout = conv.cout;
    // Row `s` of a table belongs to style `s`.
    let mixed = |table: &[f32], c: usize| -> f32 {
        mix.iter()
            .zip(table.chunks_exact(cout))
            .map(|(m, row)| m * row[c])
            .sum()
    };
    let plane = y.plane();
    let stats: Vec<(f32, f32)> = y
        .data
        .par_chunks(plane)
        .enumerate()
        .map(|(c, p)| {
            let (mean, var) = mean_var(p);
            let scale = (f64::from(mixed(&layer.gamma, c)) / (var + EPSILON).sqrt()) as f32;
            let shift = (f64::from(mixed(&layer.beta, c)) - mean * f64::from(scale)) as f32;
            (scale, shift)
        })
        .collect();
    const CHUNK: usize = 4096;
    y.data
        .par_chunks_mut(plane)
        .zip(&stats)
        .flat_map(|(p, st)| p.par_chunks_mut(CHUNK).map(move |c| (c, *st)))
        .for_each(|(chunk, (scale, shift))| match act {
            Activation::Relu => chunk
                .iter_mut()
                .for_each(|v| *v = (*v * scale + shift).max(0.0)),
            Activation::Identity => chunk.iter_mut().for_each(|v| *v = *v * scale + shift),
            Activation::Sigmoid => chunk
                .iter_mut()
                .for_each(|v| *v = sigmoid(*v * scale + shift)),
        });
    y
}

/// The mean and (biased) variance of `p`, in one pass: sums and sums of
/// squares in 16 lanes of `f32` per block of 1024 values (so they
/// vectorise), blocks added in `f64`.
fn mean_var(p: &[f32]) -> (f64, f64) {
    let n = p.len().max(1) as f64;
    let (sum, squares) = p
        .chunks(1024)
        .map(|block| {
            let (mut s, mut q) = ([0.0f32; 16], [0.0f32; 16]);
            let mut it = block.chunks_exact(16);
            for c in it.by_ref() {
                for ((a, b), v) in s.iter_mut().zip(q.iter_mut()).zip(c) {
                    *a += *v;
                    *b += *v * *v;
                }
            }
            let rest = it.remainder();
            let wide = |lanes: [f32; 16]| lanes.iter().map(|v| f64::from(*v)).sum::<f64>();
            (
                wide(s) + rest.iter().map(|v| f64::from(*v)).sum::<f64>(),
                wide(q) + rest.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>(),
            )
        })
        .fold((0.0, 0.0), |(a, b), (c, d)| (a + c, b + d));
    let mean = sum / n;
    (mean, (squares / n - mean * mean).max(0.0))
}

/// The logistic function, through [`exp`]: within 1e-7 of `1 / (1 +
/// e^-z)` and branch-free, so a loop of it vectorises.
fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + exp(-z))
}

/// `e^x` for `x` clamped to [-87, 88] (Cephes' `expf`: `x = n ln 2 + r`,
/// `|r| <= ln 2 / 2`, a degree-6 polynomial for `e^r`, `2^n` from the
/// exponent bits): relative error about 2e-7.
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

/// Nearest-neighbour upsampling by 2 (ONNX `Resize`, `asymmetric`,
/// `floor`).
fn upsample2(x: &Planes, s: &Scratch) -> Planes {
    let (h, w) = (x.height, x.width);
    let mut out = s.planes(x.channels, 2 * h, 2 * w);
    out.data
        .par_chunks_mut(4 * h * w)
        .zip(x.data.par_chunks(h * w))
        .for_each(|(dst, src)| {
            for (y, row) in dst.chunks_mut(2 * w).enumerate() {
                let srow = &src[(y / 2) * w..(y / 2 + 1) * w];
                for (pair, v) in row.chunks_exact_mut(2).zip(srow) {
                    pair[0] = *v;
                    pair[1] = *v;
                }
            }
        });
    out
}

/// The `f32` values of tensor `name`, checked to have shape `dims`.
fn floats(file: ModelFile, name: &str, t: &TensorProto, dims: &[usize]) -> Result<Vec<f32>> {
    let shape: Vec<usize> = t.dims.iter().map(|d| *d as usize).collect();
    let bad =
        |why: String| Error::network(file.name, "unexpected weights", format!("{name}: {why}"));
    if shape != dims {
        return Err(bad(format!("shape {shape:?}, expected {dims:?}")));
    }
    // ONNX's FLOAT.
    if t.data_type != 1 {
        return Err(bad(format!("data type {}, expected float", t.data_type)));
    }
    let n: usize = dims.iter().product();
    let values: Vec<f32> = if t.raw_data.is_empty() {
        t.float_data.clone()
    } else {
        t.raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    if values.len() != n {
        return Err(bad(format!("{} values, expected {n}", values.len())));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad("a value is not finite".into()));
    }
    Ok(values)
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
