//! Magenta's arbitrary-style transformer (Ghiasi et al. 2017), the int8
//! TFLite network converted to ONNX, run by stylize's own code.
//!
//! The graph keeps the int8 network's QuantizeLinear/DequantizeLinear
//! pairs: every convolution output, every step of every instance
//! normalisation and every activation is rounded to an 8-bit grid with its
//! own scale. This runs the same arithmetic in `f32` ([`Quant::fake`] at
//! each of those points), with the convolutions of [`Conv`](crate::conv::Conv) on the
//! dequantised weights, and where onnxruntime's optimised session uses
//! integer kernels it does what they do, so that every value rounds to
//! the same step (README, "Fast mode"): the float convolutions sum in
//! MLAS's order ([`Conv::in_runs`](crate::conv::Conv::in_runs)), `contract/conv2` is a `QLinearConv`,
//! the normalisations' means and variances are `QLinearGlobalAveragePool`s,
//! `mean * scale` a `QLinearMul`, and the last addition a `QLinearAdd`
//! ([`norm_row`]):
//!
//! ```text
//! contract: 9x9 3->8, 3x3/2 8->16, 3x3/2 16->32        (bias, ReLU)
//! residual: 5 x [3x3 32->32 (norm, ReLU), 3x3 32->32 (norm)] + x
//! expand:   x2 nearest, 3x3 32->16 (norm, ReLU); x2, 3x3 16->8 (norm, ReLU);
//!           9x9 8->3 (norm, sigmoid)
//! ```
//!
//! Each normalisation's `gamma` and `beta` come from the 100-number style
//! vector through a 1x1 convolution (also quantised). Quantisation points
//! and weights are found by their tensor names in the graph (the file is
//! checked by SHA-256 first); a missing or malformed one is an error that
//! names it.

use rayon::prelude::*;
use stylize_frames::StopSignal;
use stylize_matmul::Isa;

use crate::conv::{Planes, Scratch, Source};
use crate::error::Result;
use crate::links::Links;
use crate::models::ModelFile;
use crate::onnx_graph::{parse_graph, BiasedConv, Graph};
use crate::quant::{
    add_row, bias_row, norm_row, requant_row, square_steps, step_sum, steps_row, Quant, QuantAct,
};
use crate::runner::Runner;
use crate::style_vector::STYLE_VECTOR_LEN;

/// A contracting layer: convolution, bias, ReLU, quantised.
#[derive(Debug)]
struct Plain {
    conv: BiasedConv,
    out: Quant,
    /// Where onnxruntime runs the layer as an integer `QLinearConv`: the
    /// input's step (the weights and bias are then integer steps) and per
    /// channel the requantisation scale.
    integer: Option<(f32, Vec<f32>)>,
}

impl Plain {
    /// The layer on `x` padded by `pad` (`map` applied to its rows
    /// first).
    fn run(
        &self,
        x: &Planes,
        pad: usize,
        map: &(dyn Fn(usize, &mut [f32]) + Sync),
        s: &Scratch,
    ) -> Planes {
        let (bias, out, integer) = (&self.conv.bias, self.out, &self.integer);
        let isa = s.isa;
        // An integer layer reads its input in steps.
        let read = |c: usize, row: &mut [f32]| {
            map(c, row);
            if let Some((step, _)) = integer {
                steps_row(isa, row, *step);
            }
        };
        let src = Source::reflect(x, pad, self.conv.conv.stride, read, s);
        let post = move |c: usize, vals: &mut [f32]| match integer {
            None => bias_row(isa, vals, bias[c], true, out),
            // The ReLU onnxruntime drops is the clamp at the output's
            // zero point.
            Some((_, scales)) => {
                requant_row(isa, vals, bias[c], scales[c], out);
                vals.iter_mut().for_each(|v| *v = v.max(0.0));
            }
        };
        let y = self.conv.conv.forward(&src, Some(&post), false, s).planes;
        src.recycle(s);
        y
    }
}

/// A 1x1 convolution of the style vector: one `gamma` or `beta` per
/// channel.
#[derive(Debug)]
struct StyleParam {
    /// `[channel][100]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
    out: Quant,
}

impl StyleParam {
    fn values(&self, vector: &[f32]) -> Vec<f32> {
        self.weights
            .chunks_exact(STYLE_VECTOR_LEN)
            .zip(&self.bias)
            .map(|(w, b)| {
                // MLAS's order: one chain of fused multiply-adds (100 taps
                // are one run), then the bias.
                let dot = w
                    .iter()
                    .zip(vector)
                    .fold(0.0f32, |acc, (a, v)| a.mul_add(*v, acc));
                self.out.fake(dot + b)
            })
            .collect()
    }
}

/// A convolution followed by conditional instance normalisation, each
/// step quantised as in the graph.
#[derive(Debug)]
struct Normed {
    conv: BiasedConv,
    /// The convolution's output.
    conv_q: Quant,
    mean: Quant,
    squares: Quant,
    variance: Quant,
    plus_epsilon: Quant,
    rsqrt: Quant,
    /// `gamma / std`.
    scale: Quant,
    /// `mean * scale`.
    mean_scaled: Quant,
    /// `beta - mean * scale`.
    shift: Quant,
    /// `x * scale`.
    scaled: Quant,
    /// The layer's output (after the activation).
    out: Quant,
    then: QuantAct,
    gamma: StyleParam,
    beta: StyleParam,
}

/// A normalised layer's output before its normalisation is applied: the
/// quantised convolution output and, per channel, `scale` and `shift`.
struct Pending<'a> {
    raw: Planes,
    scale: Vec<f32>,
    shift: Vec<f32>,
    layer: &'a Normed,
    isa: Isa,
}

impl Pending<'_> {
    /// Normalises `row` of channel `c` and applies the activation.
    fn map(&self, c: usize, row: &mut [f32]) {
        let l = self.layer;
        let (scale, shift) = (self.scale[c], self.shift[c]);
        norm_row(
            self.isa,
            row,
            (scale, shift),
            (l.scaled, l.shift),
            l.out,
            l.then,
        );
    }
}

/// The arbitrary-style transformer, loaded.
pub(crate) struct ArbitraryNet {
    input: Quant,
    vector: Quant,
    contract: [Plain; 3],
    residual: Vec<([Normed; 2], Quant)>,
    expand: [Normed; 3],
    epsilon: f32,
    runner: Runner,
}

impl std::fmt::Debug for ArbitraryNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArbitraryNet").finish_non_exhaustive()
    }
}

/// MLAS's K stride for these layers: 128 taps wherever onnxruntime's
/// threads each take more than 64 output pixels (see `ordered_conv.rs`).
const MLAS_RUN: usize = 128;

/// `c` summing in onnxruntime's order.
fn in_runs(c: BiasedConv) -> BiasedConv {
    BiasedConv {
        conv: c.conv.in_runs(MLAS_RUN),
        bias: c.bias,
    }
}

fn style_param(g: &Graph<'_>, prefix: &str, which: &str, channels: usize) -> Result<StyleParam> {
    let base = format!("style_params/{prefix}/StyleNorm/{which}");
    let c = g.conv(&format!("{base}/weights"), STYLE_VECTOR_LEN, channels, 1, 1)?;
    Ok(StyleParam {
        // 1x1 filters: `[channel][100]` already.
        weights: c.conv.weights().to_vec(),
        bias: c.bias,
        out: g.quant(&format!("{base}/BiasAdd"))?,
    })
}

fn normed(
    g: &Graph<'_>,
    links: &Links<'_>,
    prefix: &str,
    weights: &str,
    (cin, cout, k): (usize, usize, usize),
    then: &str,
) -> Result<Normed> {
    if links.fused(g.conv_node(weights)?).is_some() {
        return Err(g.bad(
            weights,
            "onnxruntime runs it as an integer QLinearConv, which a normalised layer here does not",
        ));
    }
    let q = |suffix: &str| g.quant(&format!("{prefix}/{suffix}"));
    let then_q = match then {
        "relu" => QuantAct::Relu,
        "sigmoid" => QuantAct::Sigmoid(q("Sigmoid_int8")?),
        _ => QuantAct::Identity,
    };
    let out = match then {
        "relu" => q("Relu")?,
        _ => q("StyleNorm/batchnorm/add_1")?,
    };
    Ok(Normed {
        conv: in_runs(g.conv(weights, cin, cout, k, 1)?),
        conv_q: q("Conv2D")?,
        mean: q("StyleNorm/moments/mean")?,
        squares: q("StyleNorm/moments/SquaredDifference_int8")?,
        variance: q("StyleNorm/moments/variance")?,
        plus_epsilon: q("StyleNorm/batchnorm/add")?,
        rsqrt: q("StyleNorm/batchnorm/Rsqrt_int8")?,
        scale: q("StyleNorm/batchnorm/mul")?,
        mean_scaled: q("StyleNorm/batchnorm/mul_2")?,
        shift: q("StyleNorm/batchnorm/sub")?,
        scaled: q("StyleNorm/batchnorm/mul_1")?,
        out,
        then: then_q,
        gamma: style_param(g, prefix, "Conv_1", cout)?,
        beta: style_param(g, prefix, "Conv", cout)?,
    })
}

impl ArbitraryNet {
    /// Reads `file` (the transformer's ONNX model, `bytes`).
    pub fn parse(file: ModelFile, bytes: &[u8], runner: Runner) -> Result<Self> {
        let graph = parse_graph(file, bytes)?;
        let g = Graph::new(file, &graph);
        let t = "transformer";
        let links = Links::new(&graph.node);
        // Where onnxruntime fuses a layer into an integer `QLinearConv`:
        // of this network's, the second contracting layer alone.
        let plain = |i: usize, cin, cout, k, stride| -> Result<Plain> {
            let weights = format!("{t}/contract/conv{i}/weights");
            let out = g.quant(&format!("{t}/contract/conv{i}/Relu"))?;
            let Some((q_in, q_out)) = links.fused(g.conv_node(&weights)?) else {
                return Ok(Plain {
                    conv: in_runs(g.conv(&weights, cin, cout, k, stride)?),
                    out,
                    integer: None,
                });
            };
            let (input, fused_out) = (g.quant_of(q_in, &weights)?, g.quant_of(q_out, &weights)?);
            if fused_out != out {
                return Err(g.bad(
                    &weights,
                    "the fused convolution's output is not the layer's",
                ));
            }
            let (conv, requant) = g.integer_conv(&weights, (cin, cout, k, stride), input, out)?;
            Ok(Plain {
                conv,
                out,
                integer: Some((input.scale, requant)),
            })
        };
        let residual = (1..=5)
            .map(|r| {
                let conv = |j: usize, act: &str| {
                    let p = format!("{t}/residual/residual{r}/conv{j}");
                    normed(&g, &links, &p, &format!("{p}/weights"), (32, 32, 3), act)
                };
                Ok((
                    [conv(1, "relu")?, conv(2, "none")?],
                    g.quant(&format!("{t}/residual/residual{r}/add"))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let expand = |i: usize, cin, cout, k, then| {
            let p = format!("{t}/expand/conv{i}/conv");
            normed(
                &g,
                &links,
                &p,
                &format!("{p}/weights"),
                (cin, cout, k),
                then,
            )
        };
        // The graph adds one constant epsilon (dequantised) in every
        // normalisation.
        let eps = g.dequantised(
            &format!("{t}/residual/residual1/conv1/StyleNorm/batchnorm/add/y"),
            &[1, 1, 1, 1],
        )?;
        Ok(ArbitraryNet {
            input: g.quant(&format!("{t}/contract/MirrorPad_int8"))?,
            vector: g.quant("mobilenet_conv/Conv/BiasAdd_int8")?,
            contract: [
                plain(1, 3, 8, 9, 1)?,
                plain(2, 8, 16, 3, 2)?,
                plain(3, 16, 32, 3, 2)?,
            ],
            residual,
            expand: [
                expand(1, 32, 16, 3, "relu")?,
                expand(2, 16, 8, 3, "relu")?,
                expand(3, 8, 3, 9, "sigmoid")?,
            ],
            epsilon: eps[0],
            runner,
        })
    }

    /// `image` (3 planes in [0, 1], sides multiples of 4, at least 16)
    /// painted with the style `vector`: 3 planes in [0, 1]; `None` when
    /// `stop` was set, looked at between the stages.
    pub fn run(&self, image: Planes, vector: &[f32], stop: Option<&StopSignal>) -> Option<Planes> {
        self.runner.run(|s| self.forward(image, vector, stop, s))
    }

    fn forward(
        &self,
        image: Planes,
        vector: &[f32],
        stop: Option<&StopSignal>,
        s: &Scratch,
    ) -> Option<Planes> {
        let stopped = || stop.is_some_and(StopSignal::is_set);
        let v: Vec<f32> = vector.iter().map(|x| self.vector.fake(*x)).collect();
        let input = self.input;
        let isa = s.isa;
        let quantise_input = move |_: usize, row: &mut [f32]| bias_row(isa, row, 0.0, false, input);
        let [c0, c1, c2] = &self.contract;
        let x = c0.run(&image, 4, &quantise_input, s);
        s.give(image.data);
        let y = c1.run(&x, 1, &|_, _| {}, s);
        s.give(x.data);
        let x = c2.run(&y, 1, &|_, _| {}, s);
        s.give(y.data);
        let mut x = x.compact(s);
        for ([a, b], add) in &self.residual {
            if stopped() {
                return None;
            }
            let y = self.normed(a, &x, 1, &|_, _| {}, &v, s);
            let y2 = self.normed(b, &y.raw, 1, &|c, r| y.map(c, r), &v, s);
            s.give(y.raw.data);
            let (width, height) = (x.width, x.height);
            x.data
                .par_chunks_mut(width)
                .enumerate()
                .for_each_init(Vec::new, |row, (i, xs)| {
                    let (c, r) = (i / height, i % height);
                    row.clear();
                    row.extend_from_slice(y2.raw.row(c, r));
                    y2.map(c, row);
                    add_row(isa, xs, row, *add);
                });
            s.give(y2.raw.data);
        }
        let [e0, e1, e2] = &self.expand;
        if stopped() {
            return None;
        }
        let up = x.upsample2(|_, _| {}, s);
        s.give(x.data);
        let y = self.normed(e0, &up, 1, &|_, _| {}, &v, s);
        s.give(up.data);
        if stopped() {
            return None;
        }
        let up = y.raw.upsample2(|c, r| y.map(c, r), s);
        s.give(y.raw.data);
        let y = self.normed(e1, &up, 1, &|_, _| {}, &v, s);
        s.give(up.data);
        if stopped() {
            return None;
        }
        let mut z = self.normed(e2, &y.raw, 4, &|c, r| y.map(c, r), &v, s);
        s.give(y.raw.data);
        let mut out = std::mem::take(&mut z.raw);
        out.map_each(|c, values| z.map(c, values));
        Some(out.compact(s))
    }

    /// One normalised layer on `x` (padded by `pad`, `map` applied to its
    /// rows first): the convolution and the normalisation's `scale` and
    /// `shift`, computed as the graph's quantised steps.
    #[allow(clippy::too_many_arguments)]
    fn normed<'a>(
        &self,
        layer: &'a Normed,
        x: &Planes,
        pad: usize,
        map: &(dyn Fn(usize, &mut [f32]) + Sync),
        vector: &[f32],
        s: &Scratch,
    ) -> Pending<'a> {
        let src = Source::reflect(x, pad, 1, map, s);
        let (bias, q) = (&layer.conv.bias, layer.conv_q);
        let isa = s.isa;
        let post = move |c: usize, vals: &mut [f32]| bias_row(isa, vals, bias[c], false, q);
        let raw = layer.conv.conv.forward(&src, Some(&post), false, s).planes;
        src.recycle(s);
        // The mean and the variance as onnxruntime's
        // QLinearGlobalAveragePool: integer sums of steps, requantised
        // with `in step / (out step * pixels)`.
        let n = raw.width * raw.height;
        let per = |q_in: Quant, q_out: Quant| q_in.scale / (q_out.scale * n as f32);
        let step = layer.conv_q.scale;
        let means: Vec<f32> = (0..raw.channels)
            .into_par_iter()
            .map(|c| {
                let sum: f64 = (0..raw.height)
                    .map(|y| step_sum(isa, raw.row(c, y), step))
                    .sum();
                layer.mean.requant(sum, per(layer.conv_q, layer.mean))
            })
            .collect();
        // The variance is the mean of quantised squares: a second pass.
        let variances: Vec<f32> = (0..raw.channels)
            .into_par_iter()
            .map(|c| {
                let m = means[c];
                let sum: f64 = (0..raw.height)
                    .map(|y| square_steps(isa, raw.row(c, y), m, layer.squares))
                    .sum();
                layer
                    .variance
                    .requant(sum, per(layer.squares, layer.variance))
            })
            .collect();
        let gamma = layer.gamma.values(vector);
        let beta = layer.beta.values(vector);
        let (mut scale, mut shift) = (Vec::new(), Vec::new());
        // `mean * scale` as onnxruntime's QLinearMul: the product of the
        // steps, times `(mean step * scale step) / out step`.
        let ratio = (layer.mean.scale * layer.scale.scale) / layer.mean_scaled.scale;
        for c in 0..raw.channels {
            let ve = layer.plus_epsilon.fake(variances[c] + self.epsilon);
            let rs = layer.rsqrt.fake(1.0 / ve.sqrt());
            let sc = layer.scale.fake(rs * gamma[c]);
            let product = layer.mean.steps(means[c]) * layer.scale.steps(sc);
            let ms = layer.mean_scaled.requant(f64::from(product), ratio);
            scale.push(sc);
            shift.push(layer.shift.fake(beta[c] - ms));
        }
        Pending {
            raw,
            scale,
            shift,
            layer,
            isa,
        }
    }
}
