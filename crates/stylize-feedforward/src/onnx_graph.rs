//! An ONNX graph's initializers and quantisation nodes, by name: what the
//! networks run by our own code read their weights and quantisation
//! points from (the file is checked by SHA-256 first). A missing or
//! malformed tensor is an error that names it.

use std::collections::HashMap;

use crate::conv::Conv;
use crate::error::{Error, Result};
use crate::models::ModelFile;
use crate::onnx_proto::{GraphProto, ModelProto, NodeProto, TensorProto};
use crate::quant::Quant;

/// ONNX data types.
const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const INT32: i32 = 6;

/// The graph of an ONNX model file (`bytes`, checked by SHA-256).
pub(crate) fn parse_graph(file: ModelFile, bytes: &[u8]) -> Result<GraphProto> {
    use prost::Message;
    ModelProto::decode(bytes)
        .map_err(|e| Error::network(file.name, "cannot parse the ONNX model", e))?
        .graph
        .ok_or_else(|| Error::network(file.name, "no graph", "the model is empty"))
}

/// A convolution with its bias.
#[derive(Debug)]
pub(crate) struct BiasedConv {
    pub conv: Conv,
    pub bias: Vec<f32>,
}

/// An integer convolution's weights, bias and requantisation scales
/// ([`Graph::integer_parts`]).
#[derive(Debug)]
pub(crate) struct IntegerParts {
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub requant: Vec<f32>,
}

/// The graph's tensors and quantisation nodes, by name.
pub(crate) struct Graph<'a> {
    file: ModelFile,
    tensors: HashMap<&'a str, &'a TensorProto>,
    /// QuantizeLinear nodes by output.
    quants: HashMap<&'a str, &'a NodeProto>,
    /// DequantizeLinear nodes by their (initializer) input.
    dequants_of: HashMap<&'a str, &'a NodeProto>,
    /// DequantizeLinear nodes by output.
    pub dequants: HashMap<&'a str, &'a NodeProto>,
    /// Conv nodes by their weights' input.
    convs: HashMap<&'a str, &'a NodeProto>,
}

impl<'a> Graph<'a> {
    pub fn new(file: ModelFile, graph: &'a GraphProto) -> Self {
        let by_output = |op: &str| -> HashMap<&'a str, &'a NodeProto> {
            graph
                .node
                .iter()
                .filter(|n| n.op_type == op)
                .filter_map(|n| n.output.first().map(|o| (o.as_str(), n)))
                .collect()
        };
        let by_input = |op: &str, i: usize| -> HashMap<&'a str, &'a NodeProto> {
            graph
                .node
                .iter()
                .filter(|n| n.op_type == op)
                .filter_map(|n| n.input.get(i).map(|o| (o.as_str(), n)))
                .collect()
        };
        Graph {
            file,
            tensors: graph
                .initializer
                .iter()
                .map(|t| (t.name.as_str(), t))
                .collect(),
            quants: by_output("QuantizeLinear"),
            dequants_of: by_input("DequantizeLinear", 0),
            dequants: by_output("DequantizeLinear"),
            convs: by_input("Conv", 1),
        }
    }

    pub fn bad(&self, what: &str, why: impl std::fmt::Display) -> Error {
        Error::network(self.file.name, "unexpected graph", format!("{what}: {why}"))
    }

    pub fn tensor(&self, name: &str) -> Result<&'a TensorProto> {
        self.tensors
            .get(name)
            .copied()
            .ok_or_else(|| self.bad(name, "no such tensor"))
    }

    /// The values of an initializer as `f64`, for float and integer types.
    pub fn values(&self, name: &str) -> Result<Vec<f64>> {
        let t = self.tensor(name)?;
        let raw = &t.raw_data;
        let v: Vec<f64> = match t.data_type {
            FLOAT if raw.is_empty() => t.float_data.iter().map(|v| f64::from(*v)).collect(),
            FLOAT => raw
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect(),
            INT32 if raw.is_empty() => t.int32_data.iter().map(|v| f64::from(*v)).collect(),
            INT32 => raw
                .chunks_exact(4)
                .map(|b| f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect(),
            INT8 if raw.is_empty() => t.int32_data.iter().map(|v| f64::from(*v)).collect(),
            INT8 => raw.iter().map(|b| f64::from(*b as i8)).collect(),
            UINT8 if raw.is_empty() => t.int32_data.iter().map(|v| f64::from(*v)).collect(),
            UINT8 => raw.iter().map(|b| f64::from(*b)).collect(),
            other => return Err(self.bad(name, format!("data type {other}"))),
        };
        let n: i64 = t.dims.iter().product();
        if v.len() as i64 != n.max(1) || v.iter().any(|x| !x.is_finite()) {
            return Err(self.bad(name, format!("{} values for shape {:?}", v.len(), t.dims)));
        }
        Ok(v)
    }

    /// The `f32` values of float initializer `name`, checked to have shape
    /// `dims`.
    pub fn floats(&self, name: &str, dims: &[usize]) -> Result<Vec<f32>> {
        let t = self.tensor(name)?;
        let shape: Vec<usize> = t.dims.iter().map(|d| *d as usize).collect();
        if shape != dims {
            return Err(self.bad(name, format!("shape {shape:?}, expected {dims:?}")));
        }
        if t.data_type != FLOAT {
            return Err(self.bad(name, format!("data type {}, expected float", t.data_type)));
        }
        Ok(self.values(name)?.into_iter().map(|v| v as f32).collect())
    }

    pub fn scalar(&self, name: &str) -> Result<f64> {
        match self.values(name)?.as_slice() {
            [v] => Ok(*v),
            v => Err(self.bad(name, format!("{} values, expected one", v.len()))),
        }
    }

    /// The quantisation of the QuantizeLinear node that outputs `name`.
    pub fn quant(&self, name: &str) -> Result<Quant> {
        let node = self
            .quants
            .get(name)
            .ok_or_else(|| self.bad(name, "no QuantizeLinear node gives it"))?;
        self.quant_of(node, name)
    }

    pub fn quant_of(&self, node: &NodeProto, what: &str) -> Result<Quant> {
        let [_, scale, zero] = node.input.as_slice() else {
            return Err(self.bad(what, "needs a scale and a zero point"));
        };
        let signed = match self.tensor(zero)?.data_type {
            INT8 => true,
            UINT8 => false,
            other => return Err(self.bad(zero, format!("zero point of type {other}"))),
        };
        let scale = self.scalar(scale)? as f32;
        if scale <= 0.0 || !scale.is_finite() {
            return Err(self.bad(what, format!("scale {scale}")));
        }
        Ok(Quant::new(scale, self.scalar(zero)? as i32, signed))
    }

    /// The dequantised values of initializer `name` (per-channel scales
    /// along axis 0 of `dims`, or one scale).
    pub fn dequantised(&self, name: &str, dims: &[usize]) -> Result<Vec<f32>> {
        let node = self
            .dequants_of
            .get(name)
            .ok_or_else(|| self.bad(name, "no DequantizeLinear node reads it"))?;
        self.dequant_node(node, name, Some(dims))
    }

    /// The values `node` dequantises, checked to have shape `dims` if
    /// given.
    pub fn dequant_node(
        &self,
        node: &NodeProto,
        name: &str,
        dims: Option<&[usize]>,
    ) -> Result<Vec<f32>> {
        let [src, scale, zero] = node.input.as_slice() else {
            return Err(self.bad(name, "DequantizeLinear needs a scale and a zero point"));
        };
        let shape: Vec<usize> = self.tensor(src)?.dims.iter().map(|d| *d as usize).collect();
        let dims = dims.unwrap_or(&shape);
        if shape != dims {
            return Err(self.bad(name, format!("shape {shape:?}, expected {dims:?}")));
        }
        let q = self.values(src)?;
        let (scales, zeros) = (self.values(scale)?, self.values(zero)?);
        let channels = dims.first().copied().unwrap_or(1);
        let per = q.len() / channels.max(1);
        let axis = node
            .attribute
            .iter()
            .find(|a| a.name == "axis")
            .map_or(1, |a| a.i);
        if scales.len() != 1 && (scales.len() != channels || axis != 0 || zeros.len() != channels) {
            return Err(self.bad(name, format!("{} scales on axis {axis}", scales.len())));
        }
        Ok(q.iter()
            .enumerate()
            .map(|(i, v)| {
                let c = if scales.len() == 1 { 0 } else { i / per };
                let z = zeros.get(c).or(zeros.first()).copied().unwrap_or(0.0);
                ((v - z) * scales[c]) as f32
            })
            .collect())
    }

    /// The Conv node whose weights are initializer `weights` (through
    /// their DequantizeLinear).
    pub fn conv_node(&self, weights: &str) -> Result<&'a NodeProto> {
        self.dequants_of
            .get(weights)
            .and_then(|n| n.output.first())
            .and_then(|o| self.convs.get(o.as_str()).copied())
            .ok_or_else(|| self.bad(weights, "no Conv node reads them (dequantised)"))
    }

    /// The bias input of Conv node `conv` (none if it has none) and the
    /// DequantizeLinear node that gives it.
    pub fn bias_of(&self, conv: &'a NodeProto) -> Result<Option<(&'a str, &'a NodeProto)>> {
        match conv.input.get(2).filter(|b| !b.is_empty()) {
            None => Ok(None),
            Some(b) => match self.dequants.get(b.as_str()) {
                Some(dq) => Ok(Some((b.as_str(), *dq))),
                None => Err(self.bad(b, "the bias is not dequantised")),
            },
        }
    }

    /// The convolution of [`Graph::conv`] as onnxruntime's integer
    /// `QLinearConv` runs it (see [`Graph::integer_parts`]).
    pub fn integer_conv(
        &self,
        weights: &str,
        (cin, cout, k, stride): (usize, usize, usize, usize),
        input: Quant,
        output: Quant,
    ) -> Result<(BiasedConv, Vec<f32>)> {
        // The float form checks the shape and the attributes.
        self.conv(weights, cin, cout, k, stride)?;
        let parts = self.integer_parts(self.conv_node(weights)?, cout, input, output)?;
        Ok((
            BiasedConv {
                conv: Conv::new(cin, cout, k, stride, parts.weights),
                bias: parts.bias,
            },
            parts.requant,
        ))
    }

    /// Conv node `conv`'s weights and bias as integer steps (exact in
    /// `f32`: every sum, at most 255 input steps a tap, is checked to stay
    /// below 2^24), and per output channel the requantisation scale
    /// `(input step * weight step) / output step` (in `f32`, in that
    /// order), as onnxruntime's integer `QLinearConv` uses them, its input
    /// quantised by `input` and its output by `output`.
    pub fn integer_parts(
        &self,
        conv: &'a NodeProto,
        cout: usize,
        input: Quant,
        output: Quant,
    ) -> Result<IntegerParts> {
        let wname = conv.input.get(1).map_or("", |s| s.as_str());
        let dq = self
            .dequants
            .get(wname)
            .ok_or_else(|| self.bad(wname, "weights without a DequantizeLinear"))?;
        let [src, scale, zero] = dq.input.as_slice() else {
            return Err(self.bad(wname, "DequantizeLinear needs a scale and a zero point"));
        };
        let (scales, zeros, raw) = (self.values(scale)?, self.values(zero)?, self.values(src)?);
        if (scales.len() != 1 && scales.len() != cout) || (zeros.len() != 1 && zeros.len() != cout)
        {
            return Err(self.bad(src, format!("{} scales for {cout} filters", scales.len())));
        }
        let at = |v: &[f64], c: usize| if v.len() == 1 { v[0] } else { v[c] };
        let per = raw.len() / cout.max(1);
        let weights: Vec<f32> = raw
            .iter()
            .enumerate()
            .map(|(i, w)| (w - at(&zeros, i / per)) as f32)
            .collect();
        // The bias as onnxruntime adds it to the sums: its int32 values.
        let bias: Vec<f32> = match self.bias_of(conv)? {
            None => vec![0.0; cout],
            Some((b, dq)) => {
                let v = self.values(dq.input.first().map_or("", |s| s.as_str()))?;
                if v.len() != cout {
                    return Err(self.bad(b, format!("{} biases for {cout} channels", v.len())));
                }
                v.into_iter().map(|b| b as f32).collect()
            }
        };
        for (c, b) in bias.iter().enumerate() {
            let l1: f64 = weights[c * per..(c + 1) * per]
                .iter()
                .map(|w| f64::from(w.abs()))
                .sum();
            if 255.0 * l1 + f64::from(b.abs()) >= f64::from(1u32 << 24) {
                return Err(self.bad(wname, "integer sums could pass 2^24, beyond f32's integers"));
            }
        }
        let requant = (0..cout)
            .map(|c| (input.scale * at(&scales, c) as f32) / output.scale)
            .collect();
        Ok(IntegerParts {
            weights,
            bias,
            requant,
        })
    }

    /// The convolution whose weights are initializer `weights`, and its
    /// bias (zero where it has none).
    pub fn conv(
        &self,
        weights: &str,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
    ) -> Result<BiasedConv> {
        let w = self.dequantised(weights, &[cout, cin, k, k])?;
        let node = self.conv_node(weights)?;
        let ints = |name: &str| -> Vec<i64> {
            node.attribute
                .iter()
                .find(|a| a.name == name)
                .map(|a| a.ints.clone())
                .unwrap_or_default()
        };
        if ints("strides").iter().any(|s| *s != stride as i64)
            || ints("pads").iter().any(|p| *p != 0)
            || node.attribute.iter().any(|a| a.name == "group" && a.i != 1)
        {
            return Err(self.bad(weights, "unexpected Conv attributes"));
        }
        let bias = match self.bias_of(node)? {
            None => vec![0.0; cout],
            Some((b, dq)) => {
                let src = dq.input.first().map_or("", |s| s.as_str());
                let values = self.dequant_node(dq, src, None)?;
                match values.len() {
                    1 => vec![values[0]; cout],
                    n if n == cout => values,
                    n => return Err(self.bad(b, format!("{n} biases for {cout} channels"))),
                }
            }
        };
        Ok(BiasedConv {
            conv: Conv::new(cin, cout, k, stride, w),
            bias,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::BUILTIN;

    #[test]
    fn bad_bytes_and_missing_names_are_errors_that_say_so() {
        // A graph field (7) whose length runs past the end.
        let err = parse_graph(BUILTIN, &[0x3a, 0x10, 0x0a]).unwrap_err();
        assert!(err.to_string().contains("cannot parse"), "{err}");
        let err = parse_graph(BUILTIN, &[]).unwrap_err();
        assert!(err.to_string().contains("no graph"), "{err}");
        let empty = GraphProto::default();
        let g = Graph::new(BUILTIN, &empty);
        let err = g.quant("a/b").unwrap_err();
        assert!(format!("{err:?}").contains("a/b"), "{err:?}");
    }
}
