//! Magenta's style predictor (a MobileNetV2 that maps a 256x256 painting
//! to the 100-number style vector), the int8 TFLite network converted to
//! ONNX, run by stylize's own code instead of tract.
//!
//! The graph is read node by node into a list of steps: convolutions
//! (dense through [`Conv`], depthwise through [`Depthwise`]), ReLU6
//! clips, residual additions, one global average, and the quantisation
//! points, emulated in `f32` by [`Quant::fake`] (a DequantizeLinear after
//! its QuantizeLinear, a Reshape or the input's Transpose change nothing
//! in that representation). An operator outside that set is an error that
//! names it.

use std::collections::HashMap;

use rayon::prelude::*;
use stylize_matmul::Isa;

use crate::conv::{Conv, Planes, Scratch, Source};
use crate::depthwise::Depthwise;
use crate::error::Result;
use crate::models::ModelFile;
use crate::onnx_graph::{parse_graph, Graph};
use crate::onnx_proto::NodeProto;
use crate::quant::{bias_row, Quant};
use crate::runner::Runner;

#[derive(Debug)]
enum Op {
    Quant(Quant),
    Clip(f32, f32),
    Dense {
        conv: Conv,
        bias: Vec<f32>,
        pads: [usize; 4],
        then: Vec<Op>,
    },
    Depthwise(Depthwise, Vec<Op>),
    Add,
    Mean,
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
                    let op = conv_op(&g, node, what)?;
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
                if let (true, true, Op::Dense { then, .. } | Op::Depthwise(_, then)) =
                    (elementwise, only_reader, &mut prev.op)
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
                        let n = (x.height * x.width).max(1) as f64;
                        for (c, o) in out.data.iter_mut().enumerate() {
                            let sum: f64 = (0..x.height)
                                .map(|y| x.row(c, y).iter().map(|v| f64::from(*v)).sum::<f64>())
                                .sum();
                            *o = (sum / n) as f32;
                        }
                    }
                    out
                }
                Op::Dense {
                    conv,
                    bias,
                    pads,
                    then,
                } => match values[a].as_ref() {
                    Some(x) => dense(conv, bias, *pads, then, x, s),
                    None => s.planes(0, 0, 0),
                },
                Op::Depthwise(d, then) => match values[a].as_ref() {
                    Some(x) => {
                        let mut y = d.forward(x, s);
                        y.map_each(|_, values| elementwise(s.isa, values, 0.0, then));
                        y
                    }
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

/// A dense convolution with zero padding `[top, left, bottom, right]`,
/// its bias and the elementwise steps `then`.
fn dense(
    conv: &Conv,
    bias: &[f32],
    pads: [usize; 4],
    then: &[Op],
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
    let post = |c: usize, v: &mut [f32]| elementwise(s.isa, v, bias[c], then);
    let out = conv.forward(&src, Some(&post), false, s).planes;
    src.recycle(s);
    out.compact(s)
}

/// The step of a Conv node: dense or depthwise, with its weights and bias.
fn conv_op(g: &Graph<'_>, node: &NodeProto, what: &str) -> Result<Op> {
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
    let weights = g.dequant_node(dq, src, Some(&dims))?;
    let bias = match node.input.get(2).filter(|b| !b.is_empty()) {
        None => vec![0.0; cout],
        Some(b) => {
            let dq = g
                .dequants
                .get(b.as_str())
                .ok_or_else(|| g.bad(b, "the bias is not dequantised"))?;
            let v = g.dequant_node(dq, dq.input.first().map_or("", |s| s.as_str()), None)?;
            if v.len() != cout {
                return Err(g.bad(b, format!("{} biases for {cout} channels", v.len())));
            }
            v
        }
    };
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
    if group == 1 {
        Ok(Op::Dense {
            conv: Conv::new(cin_per_group, cout, k, stride, weights),
            bias,
            pads,
            then: Vec::new(),
        })
    } else if group == cout as i64 && cin_per_group == 1 {
        Ok(Op::Depthwise(
            Depthwise {
                channels: cout,
                k,
                stride,
                pads,
                weights,
                bias,
            },
            Vec::new(),
        ))
    } else {
        Err(g.bad(what, format!("a grouped convolution ({group} groups)")))
    }
}
