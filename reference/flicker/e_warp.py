#!/usr/bin/env python3
"""Warping error E_warp (Lai et al. 2018) with OpenCV: the reference for
stylize-flow's WarpReference and examples/flicker.rs.

    python3 reference/flicker/e_warp.py ORIG_DIR [STYLISED_DIR] [--json]
        [--frames N] [--cut-threshold 0.25] [--no-long-term] [--per-pair]
        [--threads 2]

Same definitions as crates/stylize-flow/src/warp_error.rs:

- frames: the PNG/JPEG files of each folder in name order, RGB in [0, 1];
  the stylised frames must have the originals' size and count;
- w_t: DIS flow (cv2.DISOpticalFlow_create(PRESET_MEDIUM)) from original
  frame t to t+1 on the 8-bit grey frames (cv2.COLOR_RGB2GRAY: BT.601
  luma, rounded; stylize-flow uses the unrounded luma);
- M_t: Ruder et al.'s forward/backward consistency of w_t and the flow
  t+1 -> t, exactly as stylize_flow::consistency (0 where x + w leaves the
  frame, where |w + w~|^2 > 0.01 (|w|^2 + |w~|^2) + 0.5 with w~ the
  backward flow bilinearly sampled at x + w, or where
  |grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002, central differences,
  one-sided at the border);
- E_t(V) = sum_x M_t(x) sum_c (V_t(x)_c - V_{t+1}(x + w_t(x))_c)^2
  / sum_x M_t(x)  (0 for an empty mask), the warp by cv2.remap,
  INTER_LINEAR, BORDER_REPLICATE;
- E_warp = mean of E_t over the T-1 pairs; e_warp_within_shots: over the
  pairs that are not cuts;
- a cut: fewer than --cut-threshold of M_t's pixels are consistent; frame
  t+1 starts a new shot;
- long-term: for each shot starting at s and each later t of the shot,
  the same masked error with the flow s -> t and its mask; the mean over
  all (s, t).

Prints the same JSON fields as examples/flicker.rs with --json.
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np


def read_frames(folder, limit):
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if limit is not None:
        paths = paths[:limit]
    if not paths:
        sys.exit(f"{folder}: no PNG or JPEG frames")
    frames = []
    for p in paths:
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is None:
            sys.exit(f"{p}: cannot read")
        if frames and bgr.shape != frames[0].shape:
            sys.exit(f"{p}: {bgr.shape[1]}x{bgr.shape[0]}, the first frame is "
                     f"{frames[0].shape[1]}x{frames[0].shape[0]}")
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return frames  # uint8 RGB, H x W x 3


def sample_clamped(img, x, y):
    """Bilinear sample of a 2-D float array at (x, y), positions clamped to
    the image (stylize-flow's sample_clamped)."""
    h, w = img.shape
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 1)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bot = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bot * fy


def consistency(fwd, bwd):
    h, w = fwd.shape[:2]
    u, v = fwd[..., 0].astype(np.float64), fwd[..., 1].astype(np.float64)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    tx, ty = xs + u, ys + v
    inside = (tx >= 0) & (ty >= 0) & (tx <= w - 1) & (ty <= h - 1)
    bu = sample_clamped(bwd[..., 0].astype(np.float64), tx, ty)
    bv = sample_clamped(bwd[..., 1].astype(np.float64), tx, ty)
    sum2 = (u + bu) ** 2 + (v + bv) ** 2
    occluded = sum2 > 0.01 * (u * u + v * v + bu * bu + bv * bv) + 0.5
    grad = 0.0
    for comp in (u, v):
        for axis in (0, 1):
            if comp.shape[axis] > 1:
                grad = grad + np.gradient(comp, axis=axis) ** 2
    boundary = grad > 0.01 * (u * u + v * v) + 0.002
    return (inside & ~occluded & ~boundary).astype(np.float64)


def masked_error(a, b, flow, mask):
    """sum_x M(x) ||a(x) - b(x + w(x))||^2 / sum_x M(x); a, b float RGB."""
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    warped = cv2.remap(b, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    d2 = ((a.astype(np.float64) - warped.astype(np.float64)) ** 2).sum(axis=2)
    den = mask.sum()
    return float((mask * d2).sum() / den) if den > 0 else 0.0


class Reference:
    def __init__(self, frames, cut_threshold, long_term):
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
        self.pairs = [self.masked_flow(grey[t], grey[t + 1]) for t in range(len(frames) - 1)]
        self.fractions = [float((m >= 0.5).mean()) for _, m in self.pairs]
        self.cut = [f < cut_threshold for f in self.fractions]
        self.shots, start = [], 0
        for t, c in enumerate(self.cut):
            if c:
                self.shots.append((start, t + 1))
                start = t + 1
        self.shots.append((start, len(frames)))
        self.long = None
        if long_term:
            self.long = []
            for s, e in self.shots:
                for t in range(s + 1, e):
                    m = self.pairs[s] if t == s + 1 else self.masked_flow(grey[s], grey[t])
                    self.long.append((s, t, m))

    def masked_flow(self, a, b):
        fwd = self.dis.calc(a, b, None)
        bwd = self.dis.calc(b, a, None)
        return fwd, consistency(fwd, bwd)

    def cuts(self):
        # The frames that start a shot, counted from 1 as stylize does.
        return [t + 2 for t, c in enumerate(self.cut) if c]

    def measure(self, frames, per_pair):
        f = [x.astype(np.float32) / 255.0 for x in frames]
        e = [masked_error(f[t], f[t + 1], flow, m) for t, (flow, m) in enumerate(self.pairs)]
        within = [x for x, c in zip(e, self.cut) if not c]
        out = {
            "e_warp": sum(e) / len(e),
            "e_warp_within_shots": sum(within) / len(within) if within else None,
        }
        if self.long is not None:
            terms = [masked_error(f[s], f[t], flow, m) for s, t, (flow, m) in self.long]
            out["long_term"] = sum(terms) / len(terms) if terms else None
        if per_pair:
            out["per_pair"] = e
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("orig")
    ap.add_argument("stylised", nargs="?")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--frames", type=int)
    ap.add_argument("--cut-threshold", type=float, default=0.25)
    ap.add_argument("--no-long-term", action="store_true")
    ap.add_argument("--per-pair", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    orig = read_frames(args.orig, args.frames)
    if len(orig) < 2:
        sys.exit("the warping error needs at least two frames")
    styl = read_frames(args.stylised, args.frames) if args.stylised else None
    if styl is not None and (len(styl) != len(orig) or styl[0].shape != orig[0].shape):
        sys.exit("the stylised clip must have the original's size and frame count")
    t0 = time.perf_counter()
    ref = Reference(orig, args.cut_threshold, not args.no_long_term)
    flow_s = time.perf_counter() - t0
    h, w = orig[0].shape[:2]
    out = {
        "frames": len(orig),
        "width": w,
        "height": h,
        "cut_threshold": args.cut_threshold,
        "cuts": ref.cuts(),
        "shots": [list(s) for s in ref.shots],
        "original": ref.measure(orig, args.per_pair),
        "flow_seconds": flow_s,
    }
    if args.per_pair:
        out["consistent_fractions"] = ref.fractions
    if styl is not None:
        out["stylised"] = ref.measure(styl, args.per_pair)

        def ratio(k):
            a, b = out["stylised"].get(k), out["original"].get(k)
            return a / b if a is not None and b else None

        out["ratio"] = ratio("e_warp")
        if not args.no_long_term:
            out["long_term_ratio"] = ratio("long_term")
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True))
        return
    print(f"{len(orig)} frames {w}x{h}, flows and masks in {flow_s:.2f} s; cuts before frames {ref.cuts()}")
    for name in ("original", "stylised"):
        if name in out:
            o = out[name]
            line = f"{name:9} E_warp {o['e_warp']:.6f}  (within shots {o['e_warp_within_shots'] or math.nan:.6f})"
            if o.get("long_term") is not None:
                line += f"  long-term {o['long_term']:.6f}"
            print(line)
    if styl is not None:
        line = f"ratio     E_warp {out['ratio'] or math.nan:.3f}"
        if out.get("long_term_ratio") is not None:
            line += f"  long-term {out['long_term_ratio']:.3f}"
        print(line)


if __name__ == "__main__":
    main()
