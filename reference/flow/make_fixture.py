#!/usr/bin/env python3
"""Write the small OpenCV regression fixture used by
crates/stylize-flow/tests/opencv_fixture.rs: a 96x64 pair cut from
chelsea.jpg and warped by a smooth flow (as make_synthetic.py does), its
ground truth, and OpenCV DIS (medium preset, 1 thread) on it.

Usage: make_fixture.py [OUT_DIR]   (default: crates/stylize-flow/tests/fixtures)

Files: a.pgm, b.pgm (8-bit grey, binary PGM: exactly OpenCV's input),
gt.flo, opencv.flo (Middlebury .flo), opencv.json (EPEs, OpenCV version).
"""
import json
import os
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_synthetic import DEFAULT_IMAGES, make_pair, write_flo  # noqa: E402
from opencv_dis import epe  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "crates", "stylize-flow",
                                                              "tests", "fixtures")
    os.makedirs(out, exist_ok=True)
    img = cv2.imread(DEFAULT_IMAGES[0], cv2.IMREAD_COLOR)  # chelsea.jpg
    rng = np.random.default_rng(7)
    a, b, wu, wv = make_pair(img, rng, 96, 64, 3.0)
    a = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)
    b = cv2.cvtColor(b, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(os.path.join(out, "a.pgm"), a)
    cv2.imwrite(os.path.join(out, "b.pgm"), b)
    write_flo(os.path.join(out, "gt.flo"), wu, wv)
    cv2.setNumThreads(1)
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(a, b, None)
    write_flo(os.path.join(out, "opencv.flo"), flow[..., 0], flow[..., 1])
    e_valid, e_all = epe(flow[..., 0], flow[..., 1], wu, wv)
    info = {"opencv": cv2.__version__, "preset": "medium", "epe_valid": e_valid, "epe_all": e_all,
            "mean_gt_px": float(np.sqrt(wu ** 2 + wv ** 2).mean())}
    with open(os.path.join(out, "opencv.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(info)


if __name__ == "__main__":
    main()
