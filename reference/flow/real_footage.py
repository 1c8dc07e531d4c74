#!/usr/bin/env python3
"""stylize-flow against OpenCV's DIS on real footage, where no ground truth
exists: how far apart the two flows are, and which explains the frames
better.

Usage: real_footage.py CLIP OUT_DIR [--pairs 7] [--start 1] [--preset medium]

Decodes frames START..START+PAIRS of CLIP (any file OpenCV's bundled ffmpeg
reads, e.g. scripts/fetch-video-clips' bikes.mp4), computes OpenCV's DIS
flow on each consecutive pair and writes it as the pair's "gt" in
OUT_DIR/pairs.json, runs `examples/flow_bench.rs --save-flow` on that
folder (so stylize's EPE there is its distance from OpenCV's flow), and
prints per pair, for both flows:

- photo: mean |A(x) - B(x + w(x))| in grey levels (0-255), B sampled
  bilinearly: how well the flow explains the frames;
- |grad w|^2: the flow's mean squared gradient (its roughness);
- motion boundaries: the share of pixels the consistency check of
  stylize-flow (and of issue 10) would flag as motion boundaries,
  |grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002;

and their distance in flat pixels (the 30% with the smallest Laplacian of
the blurred frame) and elsewhere. Needs opencv-python-headless and numpy.
"""
import argparse
import json
import os
import subprocess
import sys

import cv2
import numpy as np

# The .flo readers and writers of the synthetic benchmark, beside this file.
from make_synthetic import write_flo
from opencv_dis import PRESETS, read_flo


def stats(a, b, flow):
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    warped = cv2.remap(b, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    photo = float(np.abs(a - warped).mean())
    gu, gv = np.gradient(flow[..., 0]), np.gradient(flow[..., 1])
    g2 = gu[0] ** 2 + gu[1] ** 2 + gv[0] ** 2 + gv[1] ** 2
    boundary = float((g2 > 0.01 * (flow ** 2).sum(-1) + 0.002).mean())
    return photo, float(g2.mean()), boundary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clip")
    ap.add_argument("out_dir")
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--start", type=int, default=1, help="first frame, 1-based")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="medium")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    cap = cv2.VideoCapture(args.clip)
    frames = []
    index = 0
    while len(frames) < args.pairs + 1:
        ok, frame = cap.read()
        if not ok:
            sys.exit(f"{args.clip}: only {len(frames)} frames from frame {args.start}")
        index += 1
        if index >= args.start:
            frames.append(frame)
    names = []
    for k, frame in enumerate(frames):
        names.append(f"frame_{args.start + k:04d}.png")
        cv2.imwrite(os.path.join(args.out_dir, names[-1]), frame)

    dis = cv2.DISOpticalFlow_create(PRESETS[args.preset])
    greys = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    pairs = []
    opencv_flows = []
    for k in range(args.pairs):
        flow = dis.calc(greys[k], greys[k + 1], None)
        opencv_flows.append(flow)
        gt = f"opencv_{k + 1}.flo"
        write_flo(os.path.join(args.out_dir, gt), flow[..., 0], flow[..., 1])
        pairs.append({"name": f"pair{k + 1}", "a": names[k], "b": names[k + 1], "gt": gt})
    with open(os.path.join(args.out_dir, "pairs.json"), "w") as f:
        json.dump({"pairs": pairs}, f, indent=1)

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run(
        ["cargo", "run", "-q", "--release", "-p", "stylize-flow", "--example", "flow_bench", "--",
         args.out_dir, "--threads", "2", "--rounds", "1", "--warmup", "0",
         "--preset", args.preset, "--save-flow"],
        cwd=repo, check=True, stdout=subprocess.DEVNULL)

    print("| pair | photo (levels): OpenCV / stylize | squared flow gradient: OpenCV / stylize "
          "| motion boundaries: OpenCV / stylize | distance, flat / textured (px) |")
    print("|---|---|---|---|---|")
    for k, theirs in enumerate(opencv_flows):
        a = greys[k].astype(np.float32)
        b = greys[k + 1].astype(np.float32)
        ours = np.stack(read_flo(os.path.join(args.out_dir, f"pair{k + 1}_stylize.flo")), -1)
        (p0, g0, m0), (p1, g1, m1) = stats(a, b, theirs), stats(a, b, ours)
        lap = np.abs(cv2.Laplacian(cv2.GaussianBlur(a / 255, (5, 5), 1), cv2.CV_32F))
        flat = lap < np.percentile(lap, 30)
        d = np.sqrt(((theirs - ours) ** 2).sum(-1))
        print(f"| {k + 1} | {p0:.2f} / {p1:.2f} | {g0:.3f} / {g1:.3f} | {100 * m0:.1f}% / {100 * m1:.1f}% "
              f"| {d[flat].mean():.2f} / {d[~flat].mean():.2f} |")


if __name__ == "__main__":
    main()
