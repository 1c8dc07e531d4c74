//! Magenta's style predictor (a MobileNetV2 that maps a 256x256 painting
//! to the 100-number style vector), the int8 TFLite network converted to
//! ONNX, run by stylize's own code instead of tract.
//!
//! The graph is read node by node into a list of steps: convolutions
//! (dense, and depthwise through [`Depthwise`]), ReLU6 clips, residual
//! additions, one global average, and the quantisation points, emulated
//! in `f32` by [`Quant::fake`] (a DequantizeLinear after its
//! QuantizeLinear, a Reshape or the input's Transpose change nothing in
//! that representation). An operator outside that set is an error that
//! names it.
//!
//! The arithmetic is onnxruntime's (its default, optimised session), to
//! the bit, because this network rounds to int8 steps after every layer
//! and a sum that lands near a step boundary tips one way or the other
//! with the order of its additions:
//!
//! - a convolution between two quantisation points that onnxruntime fuses
//!   into an integer `QLinearConv` (its rule: the input's and the
//!   output's QuantizeLinear each feed one DequantizeLinear read by one
//!   node, so both become `uint8`; [`Links::fused`]) sums integer steps (exact in `f32`: a
//!   load-time check bounds every sum below 2^24) and requantises them as
//!   MLAS does ([`requant_row`]);
//! - the other (float) dense convolutions sum in MLAS's order
//!   ([`OrderedConv`]);
//! - the global average sums as MLAS's pooling kernel: four lanes, then
//!   the lanes in pairs.

use std::collections::HashMap;

use rayon::prelude::*;
use stylize_matmul::Isa;

use crate::conv::{Conv, Planes, Scratch, Source};
use crate::depthwise::Depthwise;
use crate::error::Result;
use crate::links::Links;
use crate::models::ModelFile;
use crate::onnx_graph::{parse_graph, Graph};
use crate::onnx_proto::NodeProto;
use crate::ordered_conv::OrderedConv;
use crate::quant::{bias_row, requant_row, steps_row, Quant};
use crate::runner::Runner;

#[derive(Debug)]
enum Op {
    Quant(Quant),
    Clip(f32, f32),
    /// A dense `QLinearConv`: integer weights and bias.
    Integer {
        conv: Conv,
        bias: Vec<f32>,
        pads: [usize; 4],
        requant: Requant,
        then: Vec<Op>,
    },
    /// A dense float convolution.
    Ordered(OrderedConv, Vec<Op>),
    /// Integer weights and bias where `Some` (a `QLinearConv`).
    Depthwise(Depthwise, Option<Requant>, Vec<Op>),
    Add,
    Mean,
}

/// How a `QLinearConv` turns its input into integer steps and its sums
/// back into its output's steps.
#[derive(Debug)]
struct Requant {
    /// The input's step.
    input: f32,
    /// Per output channel: input step x weight step / output step, in
    /// `f32` in that order (onnxruntime's `ComputeOutputScale`).
    scales: Vec<f32>,
    out: Quant,
}

/// One operation: reads value slots, writes one.
#[derive(Debug)]
struct Step {
    op: Op,
    inputs: Vec<usize>,
    output: usize,
}

/// The style predictor, loaded.
pub(crate) struct StylePredictor {
    steps: Vec<Step>,
    slots: usize,
    input: usize,
    output: usize,
    /// How many steps read each slot (the output counts once more).
    uses: Vec<usize>,
    runner: Runner,
}

impl std::fmt::Debug for StylePredictor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StylePredictor")
            .field("steps", &self.steps.len())
            .finish_non_exhaustive()
    }
}

/// An integer attribute list of `node`.
fn ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.ints.clone())
}

impl StylePredictor {
    /// Reads `file` (the predictor's ONNX model, `bytes`).
    pub fn parse(file: ModelFile, bytes: &[u8], runner: Runner) -> Result<Self> {
        let graph = parse_graph(file, bytes)?;
        let g = Graph::new(file, &graph);
        let (Some(input), Some(output)) = (graph.input.first(), graph.output.first()) else {
            return Err(g.bad("the graph", "no input or output"));
        };
        let mut slots: HashMap<String, usize> = HashMap::new();
        let mut count = 0;
        let mut slot = |name: &str, slots: &mut HashMap<String, usize>| -> usize {
            *slots.entry(name.to_string()).or_insert_with(|| {
                count += 1;
                count - 1
            })
        };
        let input_slot = slot(&input.name, &mut slots);
        let links = Links::new(&graph.node);
        // Names computed from initializers alone (the weights' dequantisation).
        let mut constant: std::collections::HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        // The quantisation each slot's values carry.
        let mut quant_of: HashMap<usize, Quant> = HashMap::new();
        // Slots holding the input in its NHWC layout (the input and its
        // quantisation), until the transpose to NCHW; planes hold either.
        let mut nhwc = std::collections::HashSet::from([input_slot]);
        let mut steps = Vec::new();
        for node in &graph.node {
            let what = node.output.first().map_or("a node", |o| o.as_str());
            if node
                .input
                .iter()
                .all(|i| i.is_empty() || constant.contains(i.as_str()))
            {
                constant.extend(node.output.iter().map(|o| o.as_str()));
                continue;
            }
            let first = node.input.first().map_or("", |s| s.as_str());
            let out_name = node.output.first().map_or("", |s| s.as_str());
            let layout_kept = matches!(
                node.op_type.as_str(),
                "QuantizeLinear" | "DequantizeLinear" | "Transpose"
            );
            if !layout_kept && nhwc.contains(&slot(first, &mut slots)) {
                return Err(g.bad(what, "reads the input before its transpose to NCHW"));
            }
            match node.op_type.as_str() {
                "QuantizeLinear" => {
                    let q = g.quant_of(node, what)?;
                    let (i, o) = (slot(first, &mut slots), slot(out_name, &mut slots));
                    quant_of.insert(o, q);
                    if nhwc.contains(&i) {
                        nhwc.insert(o);
                    }
                    steps.push(Step {
                        op: Op::Quant(q),
                        inputs: vec![i],
                        output: o,
                    });
                }
                "DequantizeLinear" | "Reshape" | "Transpose" => {
                    let i = slot(first, &mut slots);
                    if node.op_type == "DequantizeLinear"
                        && quant_of.get(&i) != Some(&g.quant_of(node, what)?)
                    {
                        return Err(g.bad(
                            what,
                            "dequantises with other parameters than its quantisation",
                        ));
                    }
                    if node.op_type == "Transpose" {
                        if !nhwc.contains(&i) || ints(node, "perm") != Some(vec![0, 3, 1, 2]) {
                            return Err(
                                g.bad(what, "a transpose other than the input's NHWC to NCHW")
                            );
                        }
                        nhwc.clear();
                    }
                    // The same values under another name.
                    slots.insert(out_name.to_string(), i);
                }
                "Clip" => {
                    let bound = |k: usize| -> Result<f32> {
                        let name = node.input.get(k).map_or("", |s| s.as_str());
                        Ok(g.scalar(name)? as f32)
                    };
                    let op = Op::Clip(bound(1)?, bound(2)?);
                    steps.push(Step {
                        op,
                        inputs: vec![slot(first, &mut slots)],
                        output: slot(out_name, &mut slots),
                    });
                }
                "Add" => {
                    let b = node.input.get(1).map_or("", |s| s.as_str());
                    let inputs = vec![slot(first, &mut slots), slot(b, &mut slots)];
                    steps.push(Step {
                        op: Op::Add,
                        inputs,
                        output: slot(out_name, &mut slots),
                    });
                }
                "GlobalAveragePool" => steps.push(Step {
                    op: Op::Mean,
                    inputs: vec![slot(first, &mut slots)],
                    output: slot(out_name, &mut slots),
                }),
                "Conv" => {
                    let op = conv_op(&g, &links, node, what)?;
                    steps.push(Step {
                        op,
                        inputs: vec![slot(first, &mut slots)],
                        output: slot(out_name, &mut slots),
                    });
                }
                other => return Err(g.bad(what, format!("operator {other} is not supported"))),
            }
        }
        let output_slot = *slots
            .get(&output.name)
            .ok_or_else(|| g.bad(&output.name, "no node computes the output"))?;
        let mut uses = vec![0; count];
        for s in &steps {
            for &i in &s.inputs {
                uses[i] += 1;
            }
        }
        uses[output_slot] += 1;
        // A clip or quantisation right after a convolution, on a value
        // nothing else reads, runs on each block of the convolution's
        // output while it is in cache.
        let mut fused: Vec<Step> = Vec::with_capacity(steps.len());
        for step in steps {
            if let Some(prev) = fused.last_mut() {
                let elementwise = matches!(step.op, Op::Clip(..) | Op::Quant(_));
                let only_reader = step.inputs == [prev.output] && uses[prev.output] == 1;
                if let (
                    true,
                    true,
                    Op::Integer { then, .. } | Op::Ordered(_, then) | Op::Depthwise(_, _, then),
                ) = (elementwise, only_reader, &mut prev.op)
                {
                    then.push(step.op);
                    prev.output = step.output;
                    continue;
                }
            }
            fused.push(step);
        }
        let steps = fused;
        Ok(StylePredictor {
            steps,
            slots: count,
            input: input_slot,
            output: output_slot,
            uses,
            runner,
        })
    }

    /// The style vector of `image` (3 planes in [0, 1]; the network was
    /// made for 256 x 256).
    pub fn run(&self, image: Planes) -> Vec<f32> {
        self.runner.run(|s| self.forward(image, s))
    }

    fn forward(&self, image: Planes, s: &Scratch) -> Vec<f32> {
        let mut values: Vec<Option<Planes>> = (0..self.slots).map(|_| None).collect();
        let mut left = self.uses.clone();
        values[self.input] = Some(image);
        for step in &self.steps {
            // The first input: taken if this is its last use (in-place
            // operations), else read.
            let a = step.inputs[0];
            let last = left[a] == 1;
            let y = match &step.op {
                Op::Quant(q) => in_place(&mut values[a], last, s, |p| {
                    p.data
                        .par_chunks_mut(4096)
                        .for_each(|c| bias_row(s.isa, c, 0.0, false, *q))
                }),
                Op::Clip(lo, hi) => in_place(&mut values[a], last, s, |p| {
                    p.data
                        .par_chunks_mut(4096)
                        .for_each(|c| c.iter_mut().for_each(|v| *v = v.clamp(*lo, *hi)))
                }),
                Op::Add => {
                    let b = step.inputs[1];
                    let other = values[b].take();
                    let y = in_place(&mut values[a], last, s, |p| {
                        if let Some(o) = &other {
                            p.data
                                .par_chunks_mut(4096)
                                .zip(o.data.par_chunks(4096))
                                .for_each(|(x, y)| x.iter_mut().zip(y).for_each(|(u, v)| *u += v))
                        }
                    });
                    values[b] = other;
                    y
                }
                Op::Mean => {
                    let x = values[a].as_ref();
                    let mut out = s.planes(x.map_or(0, |x| x.channels), 1, 1);
                    if let Some(x) = x {
                        for (c, o) in out.data.iter_mut().enumerate() {
                            *o = mlas_mean((0..x.height).flat_map(|y| x.row(c, y).iter().copied()));
                        }
                    }
                    out
                }
                Op::Integer {
                    conv,
                    bias,
                    pads,
                    requant,
                    then,
                } => match values[a].as_ref() {
                    Some(x) => {
                        let x = steps(x, requant.input, s);
                        let post = |c: usize, v: &mut [f32]| {
                            requant_row(s.isa, v, bias[c], requant.scales[c], requant.out);
                            elementwise(s.isa, v, 0.0, then);
                        };
                        let y = dense(conv, *pads, &post, &x, s);
                        s.give(x.data);
                        y
                    }
                    None => s.planes(0, 0, 0),
                },
                Op::Ordered(conv, then) => match values[a].as_ref() {
                    Some(x) => {
                        let mut y = conv.forward(x, s);
                        y.map_each(|_, values| elementwise(s.isa, values, 0.0, then));
                        y
                    }
                    None => s.planes(0, 0, 0),
                },
                Op::Depthwise(d, requant, then) => match values[a].as_ref() {
                    Some(x) => match requant {
                        Some(r) => {
                            let x = steps(x, r.input, s);
                            let mut y = d.forward(&x, s);
                            s.give(x.data);
                            y.map_each(|c, v| {
                                requant_row(s.isa, v, 0.0, r.scales[c], r.out);
                                elementwise(s.isa, v, 0.0, then);
                            });
                            y
                        }
                        None => {
                            let mut y = d.forward(x, s);
                            y.map_each(|_, values| elementwise(s.isa, values, 0.0, then));
                            y
                        }
                    },
                    None => s.planes(0, 0, 0),
                },
            };
            for &i in &step.inputs {
                left[i] -= 1;
                if left[i] == 0 {
                    if let Some(p) = values[i].take() {
                        s.give(p.data);
                    }
                }
            }
            values[step.output] = Some(y);
        }
        values[self.output]
            .take()
            .map(|p| p.data)
            .unwrap_or_default()
    }
}

/// `f` applied to the value in `slot`: in place if `last` (its last
/// use), else to a copy.
fn in_place(
    slot: &mut Option<Planes>,
    last: bool,
    s: &Scratch,
    f: impl FnOnce(&mut Planes),
) -> Planes {
    let mut p = if last {
        slot.take()
    } else {
        slot.as_ref().map(|x| {
            let mut c = s.planes(x.channels, x.height, x.width);
            c.pitch = x.pitch;
            c.data.resize(x.data.len(), 0.0);
            c.data.copy_from_slice(&x.data);
            c
        })
    }
    .unwrap_or_else(|| s.planes(0, 0, 0));
    f(&mut p);
    p
}

/// `values + bias`, then the clips and quantisations of `then` in order.
fn elementwise(isa: Isa, values: &mut [f32], bias: f32, then: &[Op]) {
    let mut bias = Some(bias);
    for op in then {
        match op {
            Op::Quant(q) => bias_row(isa, values, bias.take().unwrap_or(0.0), false, *q),
            Op::Clip(lo, hi) => {
                let b = bias.take().unwrap_or(0.0);
                values
                    .iter_mut()
                    .for_each(|v| *v = (*v + b).clamp(*lo, *hi));
            }
            _ => {}
        }
    }
    if let Some(b) = bias.filter(|b| *b != 0.0) {
        values.iter_mut().for_each(|v| *v += b);
    }
}

/// The mean of `values` as MLAS's global average pooling sums them: four
/// running sums over every fourth value, added as `(0 + 2) + (1 + 3)`,
/// the values left over added one by one, then divided by the count.
fn mlas_mean(values: impl Iterator<Item = f32>) -> f32 {
    let values: Vec<f32> = values.collect();
    let mut lanes = [0.0f32; 4];
    let mut quads = values.chunks_exact(4);
    for q in quads.by_ref() {
        lanes.iter_mut().zip(q).for_each(|(l, v)| *l += v);
    }
    let mut sum = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
    for v in quads.remainder() {
        sum += v;
    }
    sum / values.len().max(1) as f32
}

/// `x` in integer steps of `step` (a copy).
fn steps(x: &Planes, step: f32, s: &Scratch) -> Planes {
    let mut p = s.planes(x.channels, x.height, x.width);
    p.pitch = x.pitch;
    p.data.resize(x.data.len(), 0.0);
    p.data.copy_from_slice(&x.data);
    p.data
        .par_chunks_mut(4096)
        .for_each(|c| steps_row(s.isa, c, step));
    p
}

/// A dense convolution with zero padding `[top, left, bottom, right]`,
/// `post` applied to each output channel's values.
fn dense(
    conv: &Conv,
    pads: [usize; 4],
    post: &(dyn Fn(usize, &mut [f32]) + Sync),
    x: &Planes,
    s: &Scratch,
) -> Planes {
    let [top, left, bottom, right] = pads;
    let src = if pads != [0; 4] {
        let (h, w) = (x.height + top + bottom, x.width + left + right);
        let mut p = s.planes(x.channels, h, w);
        p.data.fill(0.0);
        for c in 0..x.channels {
            for y in 0..x.height {
                let at = (c * h + y + top) * w + left;
                p.data[at..at + x.width].copy_from_slice(x.row(c, y));
            }
        }
        let src = Source::reflect(&p, 0, conv.stride, |_, _| {}, s);
        s.give(p.data);
        src
    } else if conv.stride == 1 {
        // The 1x1 layers: the planes as they are.
        Source::view(x)
    } else {
        Source::reflect(x, 0, conv.stride, |_, _| {}, s)
    };
    let out = conv.forward(&src, Some(post), false, s).planes;
    src.recycle(s);
    out.compact(s)
}

/// The step of a Conv node: dense or depthwise, float or integer (see
/// the module's notes), with its weights and bias.
fn conv_op(g: &Graph<'_>, links: &Links<'_>, node: &NodeProto, what: &str) -> Result<Op> {
    let wname = node.input.get(1).map_or("", |s| s.as_str());
    let dq = g
        .dequants
        .get(wname)
        .ok_or_else(|| g.bad(what, "weights without a DequantizeLinear"))?;
    let src = dq.input.first().map_or("", |s| s.as_str());
    let dims: Vec<usize> = g.tensor(src)?.dims.iter().map(|d| *d as usize).collect();
    let [cout, cin_per_group, k, k2] = dims[..] else {
        return Err(g.bad(src, format!("weights of shape {dims:?}")));
    };
    if k != k2
        || node
            .attribute
            .iter()
            .any(|a| a.name == "auto_pad" && !a.s.is_empty() && a.s != b"NOTSET")
    {
        return Err(g.bad(what, "a non-square kernel or automatic padding"));
    }
    let bias_dq = g.bias_of(node)?.map(|(_, dq)| dq);
    let strides = ints(node, "strides").unwrap_or_else(|| vec![1, 1]);
    let stride = match strides[..] {
        [a, b] if a == b && a >= 1 => a as usize,
        _ => return Err(g.bad(what, format!("strides {strides:?}"))),
    };
    let pads = match ints(node, "pads").unwrap_or_else(|| vec![0; 4])[..] {
        [t, l, b, r] if [t, l, b, r].iter().all(|p| (0..k as i64).contains(p)) => {
            [t as usize, l as usize, b as usize, r as usize]
        }
        ref p => return Err(g.bad(what, format!("pads {p:?}"))),
    };
    let group = node
        .attribute
        .iter()
        .find(|a| a.name == "group")
        .map_or(1, |a| a.i);
    let depthwise = group == cout as i64 && cin_per_group == 1;
    if group != 1 && !depthwise {
        return Err(g.bad(what, format!("a grouped convolution ({group} groups)")));
    }
    // Float weights and bias, or the integers and the requantisation.
    let (weights, bias, requant) = match links.fused(node) {
        None => {
            let weights = g.dequant_node(dq, src, Some(&dims))?;
            let bias = match bias_dq {
                None => vec![0.0; cout],
                Some(dq) => {
                    g.dequant_node(dq, dq.input.first().map_or("", |s| s.as_str()), None)?
                }
            };
            (weights, bias, None)
        }
        Some((q_in, q_out)) => {
            let (input, out) = (g.quant_of(q_in, what)?, g.quant_of(q_out, what)?);
            let parts = g.integer_parts(node, cout, input, out)?;
            let requant = Requant {
                input: input.scale,
                scales: parts.requant,
                out,
            };
            (parts.weights, parts.bias, Some(requant))
        }
    };
    if bias.len() != cout {
        return Err(g.bad(what, format!("{} biases for {cout} channels", bias.len())));
    }
    Ok(match (depthwise, requant) {
        (true, requant) => Op::Depthwise(
            Depthwise {
                channels: cout,
                k,
                stride,
                pads,
                weights,
                bias,
            },
            requant,
            Vec::new(),
        ),
        (false, Some(requant)) => Op::Integer {
            conv: Conv::new(cin_per_group, cout, k, stride, weights),
            bias,
            pads,
            requant,
            then: Vec::new(),
        },
        (false, None) => Op::Ordered(
            OrderedConv {
                cin: cin_per_group,
                cout,
                k,
                stride,
                pads,
                weights,
                bias,
            },
            Vec::new(),
        ),
    })
}
