"""Checks stylize's formula for onnxruntime's QLinearAdd (quant.rs,
`norm_row`) against onnxruntime itself on every pair of uint8 inputs, for
each of the 13 QLinearAdd nodes onnxruntime makes when it optimises the
arbitrary-style transformer (the addition that ends each instance
normalisation).

    python3 reference/fast_qlinear_add.py "$(scripts/fetch-fast-models)"

The formula (onnxruntime's AVX2 kernel with float multiplies, as compiled,
with its fused multiply-adds), on raw uint8 values a and b:

    ra = sa / sc, rb = sb / sc                       (float32)
    c  = zc - fma(ra, za, rb * zb)
    y  = fma(a, ra, fma(b, rb, c)), rounded half to even, saturated to uint8

An fma is computed exactly in float64 and rounded once to float32 (exact
here: the product of an 8-bit integer and a float32 and the sum fit in 53
bits). Prints the mismatches per node and exits non-zero if there are any.
Needs numpy, onnx and onnxruntime (pip).
"""

import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def main():
    models = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/stylize/fast-models")
    model = onnx.load(os.path.join(models, "arbitrary_transform.onnx"))
    for t in list(model.graph.input) + list(model.graph.output):
        d = t.type.tensor_type.shape.dim
        if len(d) == 4 and d[1].dim_value == 384:
            d[1].dim_param, d[2].dim_param = "H", "W"
    with tempfile.TemporaryDirectory() as tmp:
        so = ort.SessionOptions()
        so.optimized_model_filepath = os.path.join(tmp, "optimised.onnx")
        ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        opt = onnx.load(so.optimized_model_filepath)
    init = {t.name: numpy_helper.to_array(t) for t in opt.graph.initializer}
    a = np.repeat(np.arange(256), 256)
    b = np.tile(np.arange(256), 256)
    f32, f64 = np.float32, np.float64
    total, nodes = 0, 0
    for n in opt.graph.node:
        if n.op_type != "QLinearAdd":
            continue
        names = list(n.input[1:3]) + list(n.input[4:8])
        sa, za, sb, zb, sc, zc = (init[x] for x in names)
        graph = helper.make_graph(
            [helper.make_node("QLinearAdd", ["A", "sa", "za", "B", "sb", "zb", "sc", "zc"], ["C"],
                              domain="com.microsoft")],
            "qladd",
            [helper.make_tensor_value_info(x, TensorProto.UINT8, [65536]) for x in "AB"],
            [helper.make_tensor_value_info("C", TensorProto.UINT8, [65536])],
            [numpy_helper.from_array(np.array(init[x]), k)
             for k, x in zip(["sa", "za", "sb", "zb", "sc", "zc"], names)],
        )
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("com.microsoft", 1)])
        want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
            None, {"A": a.astype(np.uint8), "B": b.astype(np.uint8)})[0].astype(np.int64)
        za, zb, zc = int(za), int(zb), int(zc)
        ra, rb = f32(f32(sa) / f32(sc)), f32(f32(sb) / f32(sc))
        c = f32(f32(zc) - f32(f64(ra) * za + f64(f32(rb * f32(zb)))))
        t = (b * f64(rb) + f64(c)).astype(f32)
        t = (a * f64(ra) + f64(t)).astype(f32)
        got = np.clip(np.rint(t), 0, 255).astype(np.int64)
        bad = int((got != want).sum())
        total += bad
        nodes += 1
        print(f"{n.output[0]}: {bad} of 65536 input pairs differ")
    print(f"{nodes} QLinearAdd nodes, {total} mismatches")
    sys.exit(1 if total or not nodes else 0)


if __name__ == "__main__":
    main()
