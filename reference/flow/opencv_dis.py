#!/usr/bin/env python3
"""Run OpenCV's DIS optical flow (MEDIUM preset by default) on the pairs
written by make_synthetic.py and report end-point error (EPE) against the
ground truth and the time per pair.

Usage: opencv_dis.py DATA_DIR [--threads 2] [--rounds 5] [--preset medium] [--finest-scale N]
       [--json OUT.json] [--save-flow]

EPE is averaged over the pixels whose ground-truth target x + w(x) lies
inside frame B ("valid"), and also reported over all pixels. The time is
the median over rounds of cv2 DIS calc() alone (grey conversion excluded,
as on the Rust side), per pair; --warmup untimed passes over all pairs
come first, then --rounds timed passes over all pairs. One DIS object
serves all pairs (buffers reused, like the Rust side's DisFlow).
"""
import argparse
import json
import os
import time

import cv2
import numpy as np

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def read_flo(path):
    with open(path, "rb") as f:
        if f.read(4) != b"PIEH":
            raise ValueError(f"{path}: not a .flo file")
        w, h = np.fromfile(f, dtype="<i4", count=2)
        data = np.fromfile(f, dtype="<f4", count=int(w) * int(h) * 2)
    data = data.reshape(int(h), int(w), 2)
    return data[..., 0], data[..., 1]


def write_flo(path, u, v):
    h, w = u.shape
    with open(path, "wb") as f:
        f.write(b"PIEH")
        np.array([w, h], dtype="<i4").tofile(f)
        np.stack([u, v], axis=-1).astype("<f4").tofile(f)


def epe(fu, fv, gu, gv):
    h, w = gu.shape
    ys, xs = np.mgrid[0:h, 0:w]
    tx, ty = xs + gu, ys + gv
    valid = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
    e = np.sqrt((fu - gu) ** 2 + (fv - gv) ** 2)
    return float(e[valid].mean()), float(e.mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3, help="untimed passes over all pairs first")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="medium")
    ap.add_argument("--finest-scale", type=int, help="override the preset's finest pyramid level (0: full resolution)")
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--save-flow", action="store_true", help="write <name>_opencv.flo next to the pairs")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    with open(os.path.join(args.data_dir, "pairs.json")) as f:
        pairs = json.load(f)["pairs"]
    dis = cv2.DISOpticalFlow_create(PRESETS[args.preset])
    if args.finest_scale is not None:
        dis.setFinestScale(args.finest_scale)
    data = []
    for p in pairs:
        a = cv2.cvtColor(cv2.imread(os.path.join(args.data_dir, p["a"])), cv2.COLOR_BGR2GRAY)
        b = cv2.cvtColor(cv2.imread(os.path.join(args.data_dir, p["b"])), cv2.COLOR_BGR2GRAY)
        data.append((p, a, b, read_flo(os.path.join(args.data_dir, p["gt"]))))
    # Warm-up over all pairs, then timed rounds over all pairs.
    flows = {}
    for _ in range(max(1, args.warmup)):
        for p, a, b, _gt in data:
            flows[p["name"]] = dis.calc(a, b, None)
    times = {p["name"]: [] for p in pairs}
    for _ in range(args.rounds):
        for p, a, b, _gt in data:
            t0 = time.perf_counter()
            flows[p["name"]] = dis.calc(a, b, None)
            times[p["name"]].append(time.perf_counter() - t0)
    results = []
    for p, _a, _b, (gu, gv) in data:
        flow = flows[p["name"]]
        e_valid, e_all = epe(flow[..., 0], flow[..., 1], gu, gv)
        if args.save_flow:
            write_flo(os.path.join(args.data_dir, p["name"] + "_opencv.flo"), flow[..., 0], flow[..., 1])
        ms = 1e3 * float(np.median(times[p["name"]])) if args.rounds else float("nan")
        r = {"name": p["name"], "epe": e_valid, "epe_all": e_all, "ms": ms}
        results.append(r)
        print(f"{p['name']:12s} EPE {e_valid:.3f} px (all {e_all:.3f})  {r['ms']:.2f} ms")
    out = {"impl": "opencv", "version": cv2.__version__, "preset": args.preset,
           "finest_scale": dis.getFinestScale(), "threads": args.threads,
           "pairs": results,
           "mean_epe": float(np.mean([r["epe"] for r in results])),
           "median_ms": float(np.median([r["ms"] for r in results]))}
    print(f"mean EPE {out['mean_epe']:.3f} px, median {out['median_ms']:.2f} ms/pair")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
