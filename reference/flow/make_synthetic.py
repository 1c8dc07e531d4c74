#!/usr/bin/env python3
"""Make synthetic optical-flow test pairs with exact ground truth.

Each pair is a real photo (frame A) and the same photo warped by a smooth
random flow field (frame B), so that A(x) == B(x + w(x)) for the written
ground-truth flow w (A -> B, the convention stylize-flow uses).

The photo is centre-cropped to 16:9 and rendered at twice the output size;
both frames are sampled at that size and area-downscaled to the output size,
so neither frame is blurrier than the other.

Usage: make_synthetic.py OUT_DIR [--images a.jpg b.jpg ...] [--seeds N]
       [--width 640 --height 360] [--mean-px 5]

Writes OUT_DIR/<name>_<seed>_a.png, ..._b.png (RGB), ..._gt.flo
(Middlebury .flo: b"PIEH", int32 width, int32 height, then float32 u,v
interleaved, row-major) and OUT_DIR/pairs.json listing them.
"""
import argparse
import glob
import json
import os

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_IMAGES = [
    os.path.join(HERE, "..", "..", "assets", "images", n)
    for n in ("chelsea.jpg", "balloon.jpg", "coffee.jpg")
]


def write_flo(path, u, v):
    h, w = u.shape
    with open(path, "wb") as f:
        f.write(b"PIEH")
        np.array([w, h], dtype="<i4").tofile(f)
        np.stack([u, v], axis=-1).astype("<f4").tofile(f)


def smooth_field(rng, w, h, n_waves=4):
    """Sum of a few low-frequency plane waves per component, plus a
    constant translation. Returned in units of output pixels."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    comps = []
    for _ in range(2):
        f = np.full((h, w), rng.normal(0.0, 1.0))
        for _ in range(n_waves):
            # 0.3 .. 2 cycles across the frame, random direction and phase
            cyc = rng.uniform(0.3, 2.0)
            ang = rng.uniform(0, 2 * np.pi)
            kx = cyc * np.cos(ang) / w
            ky = cyc * np.sin(ang) / h
            f += rng.normal(0.0, 1.0) * np.sin(2 * np.pi * (kx * xs + ky * ys) + rng.uniform(0, 2 * np.pi))
        comps.append(f)
    return comps[0], comps[1]


def crop_16_9(img):
    h, w = img.shape[:2]
    if w * 9 > h * 16:
        cw, ch = h * 16 // 9, h
    else:
        cw, ch = w, w * 9 // 16
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return img[y0:y0 + ch, x0:x0 + cw]


def make_pair(img_bgr, rng, w, h, mean_px):
    s = 2  # render scale
    hi = cv2.resize(crop_16_9(img_bgr), (w * s, h * s), interpolation=cv2.INTER_CUBIC)
    # Backward map v on frame B's grid: B(y) = A(y + v(y)).
    vu, vv = smooth_field(rng, w, h)
    mag = np.sqrt(vu ** 2 + vv ** 2).mean()
    vu *= mean_px / mag
    vv *= mean_px / mag
    # Render B at the high resolution (v upsampled, in high-res pixels).
    vu_hi = cv2.resize(vu.astype(np.float32), (w * s, h * s), interpolation=cv2.INTER_LINEAR) * s
    vv_hi = cv2.resize(vv.astype(np.float32), (w * s, h * s), interpolation=cv2.INTER_LINEAR) * s
    ys, xs = np.mgrid[0:h * s, 0:w * s].astype(np.float32)
    b_hi = cv2.remap(hi, xs + vu_hi, ys + vv_hi, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)
    a = cv2.resize(hi, (w, h), interpolation=cv2.INTER_AREA)
    b = cv2.resize(b_hi, (w, h), interpolation=cv2.INTER_AREA)
    # Forward flow w on A's grid: x + w(x) = y with x = y + v(y), so
    # w(x) = -v(x + w(x)); solved by fixed-point iteration (v is smooth,
    # |grad v| << 1, so this contracts quickly).
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    vu32, vv32 = vu.astype(np.float32), vv.astype(np.float32)
    wu, wv = -vu32.copy(), -vv32.copy()
    for _ in range(30):
        mx, my = xs + wu, ys + wv
        wu = -cv2.remap(vu32, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        wv = -cv2.remap(vv32, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return a, b, wu, wv


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--images", nargs="*", default=DEFAULT_IMAGES)
    ap.add_argument("--seeds", type=int, default=2, help="flow fields per image")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--mean-px", type=float, default=5.0, help="mean flow magnitude")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    pairs = []
    for path in args.images:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f"cannot read {path}")
        name = os.path.splitext(os.path.basename(path))[0]
        for seed in range(args.seeds):
            rng = np.random.default_rng([seed, sum(name.encode())])
            a, b, wu, wv = make_pair(img, rng, args.width, args.height, args.mean_px)
            stem = f"{name}_{seed}"
            cv2.imwrite(os.path.join(args.out_dir, stem + "_a.png"), a)
            cv2.imwrite(os.path.join(args.out_dir, stem + "_b.png"), b)
            write_flo(os.path.join(args.out_dir, stem + "_gt.flo"), wu, wv)
            mag = float(np.sqrt(wu ** 2 + wv ** 2).mean())
            pairs.append({"name": stem, "a": stem + "_a.png", "b": stem + "_b.png",
                          "gt": stem + "_gt.flo", "mean_gt_px": mag})
            print(f"{stem}: mean |w| = {mag:.2f} px, max = {float(np.sqrt(wu**2+wv**2).max()):.2f} px")
    with open(os.path.join(args.out_dir, "pairs.json"), "w") as f:
        json.dump({"width": args.width, "height": args.height, "pairs": pairs}, f, indent=1)


if __name__ == "__main__":
    main()
