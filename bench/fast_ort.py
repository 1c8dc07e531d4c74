"""Times onnxruntime on the feed-forward networks of scripts/fetch-fast-models,
the baseline for stylize-feedforward's speed.

    python3 bench/fast_ort.py --kind arbitrary|builtin --size S [--reps N]
        [--threads 2] [--models DIR]

The content is assets/images/chelsea.jpg resized (Pillow LANCZOS) so that its
longer side is S, both sides rounded to a multiple of 4 (the networks
downsample twice by 2); the style of `arbitrary` is
assets/images/starry_night.jpg, centre square resized to 256x256; `builtin`
uses multistyle26 with style 0. Pixels are RGB u8/255.

One onnxruntime session per network (CPU execution provider,
intra_op_num_threads = --threads, inter_op_num_threads = 1, everything else
default), created once; one warm-up run, then N timed runs. A run is what a
user waits for per image: `arbitrary` times predict(style) + transform(content)
(the style vector is not cached), `builtin` one multistyle26 run.
arbitrary_transform.onnx declares a fixed 384x384 input; its H and W are made
symbolic in memory (the file is unchanged) so other sizes run.

Prints one JSON object on stdout:
{"kind": ..., "size": [w, h], "threads": T, "times": [seconds, ...],
 "median": seconds, "onnxruntime": version}
(for `arbitrary` also "predict_times" and "transform_times").
"""

import argparse
import json
import os
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ASSETS = os.path.join(HERE, "..", "assets", "images")
TRANSFORM_OUT = "transformer/expand/conv3/conv/Sigmoid"


def default_models():
    cache = os.environ.get("STYLIZE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "stylize")
    return os.path.join(cache, "fast-models")


def content_image(size):
    im = Image.open(os.path.join(ASSETS, "chelsea.jpg")).convert("RGB")
    w, h = im.size
    scale = size / max(w, h)
    nw, nh = (max(4, round(w * scale / 4) * 4), max(4, round(h * scale / 4) * 4))
    im = im.resize((nw, nh), Image.Resampling.LANCZOS)
    return np.asarray(im).astype(np.float32) / np.float32(255.0)


def style_image():
    im = Image.open(os.path.join(ASSETS, "starry_night.jpg")).convert("RGB")
    w, h = im.size
    s = min(w, h)
    im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    im = im.resize((256, 256), Image.Resampling.LANCZOS)
    return np.asarray(im).astype(np.float32) / np.float32(255.0)


def session(model, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def relaxed_transform(path):
    m = onnx.load(path)
    for vi in list(m.graph.input) + list(m.graph.output):
        if vi.name in ("content_image", TRANSFORM_OUT):
            dims = vi.type.tensor_type.shape.dim
            dims[1].dim_param = "h"
            dims[2].dim_param = "w"
    return m.SerializeToString()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=["arbitrary", "builtin"], required=True)
    ap.add_argument("--size", type=int, required=True, help="longer side of the content, px")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default=default_models(), help="default: the cache of scripts/fetch-fast-models")
    args = ap.parse_args()

    content = content_image(args.size)
    h, w, _ = content.shape
    result = {"kind": args.kind, "size": [w, h], "threads": args.threads}

    if args.kind == "builtin":
        s = session(os.path.join(args.models, "multistyle26.onnx"), args.threads)
        weights = np.zeros(26, np.float32)
        weights[0] = 1.0
        feed = {"image": np.ascontiguousarray(content.transpose(2, 0, 1)[None]), "style_weights": weights}
        s.run(None, feed)  # warm-up
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            s.run(None, feed)
            times.append(time.perf_counter() - t0)
    else:
        p = session(os.path.join(args.models, "arbitrary_predict.onnx"), args.threads)
        t = session(relaxed_transform(os.path.join(args.models, "arbitrary_transform.onnx")), args.threads)
        style = style_image()[None]

        def once():
            t0 = time.perf_counter()
            vec = p.run(None, {"style_image": style})[0]
            t1 = time.perf_counter()
            t.run(None, {"content_image": content[None], "mobilenet_conv/Conv/BiasAdd": vec})
            t2 = time.perf_counter()
            return t1 - t0, t2 - t1

        once()  # warm-up
        pt, tt = zip(*(once() for _ in range(args.reps)))
        times = [a + b for a, b in zip(pt, tt)]
        result["predict_times"] = [round(x, 6) for x in pt]
        result["transform_times"] = [round(x, 6) for x in tt]

    result["times"] = [round(x, 6) for x in times]
    result["median"] = round(statistics.median(times), 6)
    result["onnxruntime"] = ort.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
