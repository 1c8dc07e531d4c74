"""Writes the expected costs and gradient of the committed objective fixture
(crates/stylize/tests/reference/torch_objective/) with the PyTorch reference,
in float64. The Rust test `tests/torch_reference.rs` compares against them.

    PY=$(reference/setup | tail -n 1)
    $PY reference/golden.py WEIGHTS.h5 [FIXTURE_DIR]

The fixture's inputs (content.npy, style_K.npy, init.npy, config.json) were
written by `stylize --dump` (64 px, chelsea + starry_night/udnie blended
0.6/0.4, gatys layers, avg pooling, TV 2000, init noise 0.1); this script
only reads them.
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_nst  # noqa: E402


def main():
    weights = sys.argv[1]
    fixture = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..",
        "crates", "stylize", "tests", "reference", "torch_objective")
    with open(os.path.join(fixture, "config.json")) as f:
        cfg = json.load(f)
    dtype = torch.float64
    torch.set_num_threads(2)
    vgg = torch_nst.Vgg(torch_nst.read_convs(weights), cfg["preprocess"], cfg["pooling"], dtype)
    content = torch_nst.load_npy(os.path.join(fixture, "content.npy"), dtype)
    styles = [torch_nst.load_npy(p, dtype) for p in torch_nst.style_paths(fixture)]
    obj = torch_nst.Objective(vgg, content, styles, cfg)
    init = torch_nst.load_npy(os.path.join(fixture, "init.npy"), dtype)
    costs, grad = torch_nst.costs_and_grad(obj, init)
    np.save(os.path.join(fixture, "expected_grad.npy"), grad.numpy().astype("<f8"))
    out = dict(costs)
    out["torch"] = torch.__version__
    out["weights_sha256"] = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"
    with open(os.path.join(fixture, "expected.json"), "w") as f:
        json.dump(out, f, indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
