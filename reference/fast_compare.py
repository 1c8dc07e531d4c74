"""stylize's arbitrary-style fast mode against onnxruntime, end to end, on
every content/style pair of the repository's images (each of the six as
content, with each of the three paintings as style, 15 pairs), at one size:
onnxruntime (default session, the models of scripts/fetch-fast-models) and
`stylize fast` get the same PNGs (cropped and resized by Pillow to W x H
and 256 x 256, so neither resizes), and the script prints the mean and
largest difference of each pair's outputs (pixels in [0, 1]) and how many
are identical. A side that is not a multiple of 4 is reflected on the
right and bottom up to one, and the output cut back, as stylize does
(`stylize-feedforward/src/planar.rs`, `pad_to_multiple`): onnxruntime
would pad it its own way and answer at the larger size.

    python3 reference/fast_compare.py target/release/stylize [--size 512x340] [--threads 2]

Exits non-zero if a pair's mean difference is above 0.002 (the PNGs'
rounding). Needs numpy, Pillow, onnx and onnxruntime (pip).
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ASSETS = os.path.join(HERE, "..", "assets", "images")
IMAGES = ["chelsea", "balloon", "coffee", "starry_night", "great_wave", "udnie"]
STYLES = ["starry_night", "great_wave", "udnie"]


def crop_resize(img, w, h):
    iw, ih = img.size
    if iw * h > ih * w:
        nw = round(ih * w / h)
        img = img.crop(((iw - nw) // 2, 0, (iw - nw) // 2 + nw, ih))
    else:
        nh = round(iw * h / w)
        img = img.crop((0, (ih - nh) // 2, iw, (ih - nh) // 2 + nh))
    return img.resize((w, h), Image.LANCZOS)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("stylize")
    p.add_argument("--size", default="512x340")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", default=os.environ.get(
        "STYLIZE_FAST_MODELS", os.path.expanduser("~/.cache/stylize/fast-models")))
    args = p.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    cpu = ["CPUExecutionProvider"]
    predict = ort.InferenceSession(os.path.join(args.models, "arbitrary_predict.onnx"), so, providers=cpu)
    model = onnx.load(os.path.join(args.models, "arbitrary_transform.onnx"))
    for t in list(model.graph.input) + list(model.graph.output):
        d = t.type.tensor_type.shape.dim
        if len(d) == 4 and d[1].dim_value == 384:
            d[1].dim_param, d[2].dim_param = "H", "W"
    transform = ort.InferenceSession(model.SerializeToString(), so, providers=cpu)
    env = dict(os.environ, STYLIZE_FAST_MODELS=args.models)
    worst, same, rows = 0.0, 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for name in IMAGES:
            img = Image.open(os.path.join(ASSETS, f"{name}.jpg")).convert("RGB")
            crop_resize(img, w, h).save(os.path.join(tmp, f"c_{name}.png"))
            crop_resize(img, 256, 256).save(os.path.join(tmp, f"s_{name}.png"))
        for style in STYLES:
            s = np.asarray(Image.open(os.path.join(tmp, f"s_{style}.png")), np.float32)[None] / 255
            vector = predict.run(None, {predict.get_inputs()[0].name: s})[0]
            for content in IMAGES:
                if content == style:
                    continue
                c = np.asarray(Image.open(os.path.join(tmp, f"c_{content}.png")), np.float32)[None] / 255
                ph, pw = -h % 4, -w % 4
                c = np.pad(c, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="reflect")
                feeds = {i.name: (c if i.shape[-1] == 3 else vector.reshape(1, 1, 1, -1))
                         for i in transform.get_inputs()}
                y = transform.run(None, feeds)[0][0][:h, :w]
                theirs = np.floor(np.clip(y, 0, 1) * 255 + 0.5) / 255
                out = os.path.join(tmp, f"ours_{content}_{style}.png")
                subprocess.run([args.stylize, "fast", "-q", "-c", os.path.join(tmp, f"c_{content}.png"),
                                "-s", os.path.join(tmp, f"s_{style}.png"), "-o", out,
                                "--size", str(max(w, h)), "--threads", str(args.threads)],
                               check=True, env=env)
                ours = np.asarray(Image.open(out), np.float32) / 255
                d = np.abs(ours - theirs)
                same += int(d.max() == 0)
                worst = max(worst, float(d.mean()))
                rows.append(f"| {content} | {style} | {d.mean():.4f} | {d.max():.3f} |")
    print(f"{w}x{h}, {args.threads} threads, onnxruntime {ort.__version__}")
    print("| content | style | mean difference | largest |\n|---|---|---|---|")
    print("\n".join(rows))
    print(f"{same} of {len(rows)} identical; largest mean difference {worst:.4f}")
    sys.exit(1 if worst > 0.002 else 0)


if __name__ == "__main__":
    main()
