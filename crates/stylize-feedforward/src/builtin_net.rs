//! The 26-style network (Dumoulin, Shlens & Kudlur 2017: conditional
//! instance normalisation) run by stylize's own code.
//!
//! The network is small and regular, and its ONNX graph spells each
//! instance normalisation out in ten elementwise operators; here every
//! layer is one reflection pad ([`Source`]), one convolution ([`Conv`],
//! which also sums each channel for the normalisation), and the
//! normalisation (scaled by the style mix's `gamma` and `beta`) with the
//! activation, applied where the output is next read: while padding for
//! the next layer, upsampling, or adding the residual. So each large
//! tensor is written once and read once.
//!
//! ```text
//! contract: 9x9 3->32, 3x3/2 32->32, 3x3/2 32->32     (ReLU)
//! residual: 6 x [3x3 32->32 (ReLU), 3x3 32->32] + x
//! expand:   x2 nearest, 3x3 32->8 (ReLU); x2, 3x3 8->4 (ReLU); 9x9 4->3 (sigmoid)
//! ```
//!
//! The weights come from the ONNX file (checked by SHA-256 before this
//! reads it); each tensor's name and shape are checked.

use rayon::prelude::*;
use stylize_frames::StopSignal;
use stylize_matmul::Isa;

use crate::conv::{Conv, Planes, Scratch, Source};
use crate::elementwise::{add_mapped, map_row, Activation};
use crate::error::Result;
use crate::models::ModelFile;
use crate::onnx_graph::{parse_graph, Graph};
use crate::runner::Runner;
use crate::style_mix::BUILTIN_STYLES;

/// The normalisation's epsilon (the graph's constant).
const EPSILON: f64 = 1e-5;

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
    runner: Runner,
}

impl std::fmt::Debug for BuiltinNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinNet").finish_non_exhaustive()
    }
}

impl BuiltinNet {
    /// Reads the weights of `file` (the 26-style ONNX model, `bytes`).
    pub fn parse(file: ModelFile, bytes: &[u8], runner: Runner) -> Result<Self> {
        let graph = parse_graph(file, bytes)?;
        let g = Graph::new(file, &graph);
        let layer = |name: &str, cin, cout, k, stride| -> Result<Layer> {
            let get = |suffix: &str, dims: &[usize]| g.floats(&format!("{name}.{suffix}"), dims);
            Ok(Layer {
                conv: Conv::new(cin, cout, k, stride, get("w", &[cout, cin, k, k])?),
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
            runner,
        })
    }

    /// `image` (3 planes in [0, 1], sides multiples of 4, at least 16)
    /// painted with the style `mix` (26 weights): 3 planes in [0, 1];
    /// `None` when `stop` was set, looked at between the stages.
    pub fn run(&self, image: Planes, mix: &[f32], stop: Option<&StopSignal>) -> Option<Planes> {
        self.runner.run(|s| self.forward(image, mix, stop, s))
    }

    fn forward(
        &self,
        image: Planes,
        mix: &[f32],
        stop: Option<&StopSignal>,
        s: &Scratch,
    ) -> Option<Planes> {
        let stopped = || stop.is_some_and(StopSignal::is_set);
        let none = |_: usize, _: &mut [f32]| {};
        let [c0, c1, c2] = &self.contract;
        let y = c0.run(&image, 4, 1, &none, mix, Activation::Relu, s);
        s.give(image.data);
        let y = c1.run_after(y, 1, 2, mix, Activation::Relu, s);
        let y = c2.run_after(y, 1, 2, mix, Activation::Relu, s);
        let mut x = y.finish().compact(s);
        for [a, b] in &self.residual {
            if stopped() {
                return None;
            }
            let y = a.run(&x, 1, 1, &none, mix, Activation::Relu, s);
            let y = b.run_after(y, 1, 1, mix, Activation::Identity, s);
            let (width, height) = (x.width, x.height);
            x.data
                .par_chunks_mut(width)
                .enumerate()
                .for_each(|(i, row)| {
                    let (c, r) = (i / height, i % height);
                    let (scale, shift) = y.affine[c];
                    add_mapped(s.isa, row, y.raw.row(c, r), scale, shift);
                });
            s.give(y.raw.data);
        }
        let [e0, e1, e2] = &self.expand;
        if stopped() {
            return None;
        }
        let up = x.upsample2(none, s);
        s.give(x.data);
        let y = e0.run(&up, 1, 1, &none, mix, Activation::Relu, s);
        s.give(up.data);
        if stopped() {
            return None;
        }
        let up = y.raw.upsample2(|c, r| y.map(c, r), s);
        s.give(y.raw.data);
        let y = e1.run(&up, 1, 1, &none, mix, Activation::Relu, s);
        s.give(up.data);
        if stopped() {
            return None;
        }
        Some(
            e2.run_after(y, 4, 1, mix, Activation::Sigmoid, s)
                .finish()
                .compact(s),
        )
    }
}

/// A layer's convolution output and the per-channel `(scale, shift)` of
/// its normalisation, with its activation: not yet applied.
struct Pending {
    raw: Planes,
    affine: Vec<(f32, f32)>,
    act: Activation,
    isa: Isa,
}

impl Pending {
    /// Normalises `row` of channel `c` and applies the activation.
    fn map(&self, c: usize, row: &mut [f32]) {
        let (scale, shift) = self.affine[c];
        map_row(self.isa, row, scale, shift, self.act);
    }

    /// The layer's output: the normalisation applied in place.
    fn finish(mut self) -> Planes {
        let mut out = std::mem::take(&mut self.raw);
        out.map_each(|c, values| self.map(c, values));
        out
    }
}

impl Layer {
    /// Reflection pad (`map` applied to the input's rows), convolution,
    /// and the normalisation's statistics.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        x: &Planes,
        pad: usize,
        stride: usize,
        map: &(dyn Fn(usize, &mut [f32]) + Sync),
        mix: &[f32],
        act: Activation,
        s: &Scratch,
    ) -> Pending {
        let src = Source::reflect(x, pad, stride, map, s);
        let out = self.conv.forward(&src, None, true, s);
        src.recycle(s);
        let cout = self.conv.cout;
        // Row `s` of a table belongs to style `s`.
        let mixed = |table: &[f32], c: usize| -> f64 {
            let v: f32 = mix
                .iter()
                .zip(table.chunks_exact(cout))
                .map(|(m, row)| m * row[c])
                .sum();
            f64::from(v)
        };
        let n = (out.planes.height * out.planes.width).max(1) as f64;
        let affine = out
            .sums
            .iter()
            .enumerate()
            .map(|(c, [sum, squares])| {
                let mean = sum / n;
                let var = (squares / n - mean * mean).max(0.0);
                let scale = mixed(&self.gamma, c) / (var + EPSILON).sqrt();
                let shift = mixed(&self.beta, c) - mean * scale;
                (scale as f32, shift as f32)
            })
            .collect();
        Pending {
            raw: out.planes,
            affine,
            act,
            isa: s.isa,
        }
    }

    /// [`Layer::run`] on the output of the previous layer, its
    /// normalisation applied while padding.
    fn run_after(
        &self,
        prev: Pending,
        pad: usize,
        stride: usize,
        mix: &[f32],
        act: Activation,
        s: &Scratch,
    ) -> Pending {
        let y = self.run(&prev.raw, pad, stride, &|c, r| prev.map(c, r), mix, act, s);
        s.give(prev.raw.data);
        y
    }
}
