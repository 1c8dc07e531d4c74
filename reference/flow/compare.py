#!/usr/bin/env python3
"""Compare stylize-flow's DIS with OpenCV's on the pairs written by
make_synthetic.py: EPE against ground truth and time per pair, the two
implementations run interleaved (alternating order) over several rounds in
one run, so both see the same machine load; times are medians.

Usage: compare.py DATA_DIR [--threads 2] [--rounds 5] [--inner 3]
       [--preset medium] [--bench PATH]

--bench is the flow_bench example binary (default: build it with cargo
into $CARGO_TARGET_DIR or target/, release profile).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def build_bench():
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "stylize-flow", "--example", "flow_bench"],
                   cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "examples", "flow_bench")


def run(cmd, out_json):
    subprocess.run(cmd + ["--json", out_json], check=True, stdout=subprocess.DEVNULL)
    with open(out_json) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5, help="alternations of the two programs")
    ap.add_argument("--inner", type=int, default=3, help="timed runs per pair inside each program run")
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--bench", help="flow_bench binary")
    args = ap.parse_args()
    bench = args.bench or build_bench()
    common = [args.data_dir, "--threads", str(args.threads), "--rounds", str(args.inner), "--preset", args.preset]
    cmds = {
        "opencv": [sys.executable, os.path.join(HERE, "opencv_dis.py")] + common,
        "stylize": [bench] + common,
    }
    times = {k: {} for k in cmds}
    epes = {k: {} for k in cmds}
    version = None
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ["opencv", "stylize"] if r % 2 == 0 else ["stylize", "opencv"]
            for k in order:
                res = run(cmds[k], os.path.join(tmp, k + ".json"))
                version = res.get("version", version)
                for p in res["pairs"]:
                    times[k].setdefault(p["name"], []).append(p["ms"])
                    epes[k][p["name"]] = p["epe"]
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    names = list(epes["opencv"])
    print(f"OpenCV {version}, preset {args.preset}, {args.threads} threads, "
          f"{args.rounds} rounds x {args.inner} runs, medians")
    print(f"{'pair':12s} {'EPE ocv':>8s} {'EPE sty':>8s} {'diff':>7s} {'ms ocv':>8s} {'ms sty':>8s} {'ratio':>6s}")
    rows = []
    for n in names:
        eo, es = epes["opencv"][n], epes["stylize"][n]
        to, ts = float(np.median(times["opencv"][n])), float(np.median(times["stylize"][n]))
        rows.append((eo, es, to, ts))
        print(f"{n:12s} {eo:8.3f} {es:8.3f} {es - eo:+7.3f} {to:8.2f} {ts:8.2f} {ts / to:6.2f}")
    eo, es, to, ts = (float(np.mean([r[i] for r in rows])) for i in range(4))
    print(f"{'mean':12s} {eo:8.3f} {es:8.3f} {es - eo:+7.3f} {to:8.2f} {ts:8.2f} {ts / to:6.2f}")
    print(f"EPE stylize - OpenCV: {es - eo:+.3f} px; time stylize / OpenCV: {ts / to:.2f}x "
          f"(mean of per-pair medians)")


if __name__ == "__main__":
    main()
