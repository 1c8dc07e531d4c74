//! Which node makes and which nodes read each value of an ONNX graph,
//! and from that onnxruntime's rule for fusing a quantised convolution
//! into an integer `QLinearConv` (which the int8 networks follow, to
//! round as it does).

use std::collections::HashMap;

use crate::onnx_proto::NodeProto;

/// Which node makes and which nodes read each value.
pub(crate) struct Links<'a> {
    producer: HashMap<&'a str, &'a NodeProto>,
    consumers: HashMap<&'a str, Vec<&'a NodeProto>>,
}

impl<'a> Links<'a> {
    pub fn new(nodes: &'a [NodeProto]) -> Self {
        let mut links = Links {
            producer: HashMap::new(),
            consumers: HashMap::new(),
        };
        for n in nodes {
            for o in &n.output {
                links.producer.insert(o.as_str(), n);
            }
            for i in &n.input {
                links.consumers.entry(i.as_str()).or_default().push(n);
            }
        }
        links
    }

    fn readers(&self, name: &str) -> &[&'a NodeProto] {
        self.consumers.get(name).map_or(&[], |v| v.as_slice())
    }

    /// The one node reading `name`, if exactly one does.
    fn only_reader(&self, name: &str) -> Option<&'a NodeProto> {
        match self.readers(name) {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Whether QuantizeLinear `q` feeds one DequantizeLinear read by one
    /// node: onnxruntime then turns the pair to `uint8`.
    fn lone_pair(&self, q: &NodeProto) -> bool {
        q.op_type == "QuantizeLinear"
            && q.output
                .first()
                .and_then(|o| self.only_reader(o))
                .is_some_and(|dq| {
                    dq.op_type == "DequantizeLinear"
                        && dq
                            .output
                            .first()
                            .is_some_and(|o| self.readers(o).len() == 1)
                })
    }

    /// The input's and the output's QuantizeLinear of `conv` if
    /// onnxruntime fuses it into a `QLinearConv` (on x86 only `uint8`
    /// activations fuse, see [`Links::lone_pair`]; a Clip or Relu between
    /// the convolution and its quantisation is dropped, the quantisation's
    /// range doing its work).
    pub fn fused(&self, conv: &NodeProto) -> Option<(&'a NodeProto, &'a NodeProto)> {
        let dq = self.producer.get(conv.input.first()?.as_str())?;
        if dq.op_type != "DequantizeLinear" {
            return None;
        }
        let q_in = self.producer.get(dq.input.first()?.as_str())?;
        let mut next = self.only_reader(conv.output.first()?)?;
        if matches!(next.op_type.as_str(), "Clip" | "Relu") {
            next = self.only_reader(next.output.first()?)?;
        }
        (self.lone_pair(q_in) && self.lone_pair(next)).then_some((*q_in, next))
    }
}
