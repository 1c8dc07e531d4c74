#!/usr/bin/env python3
"""Times one style-transfer step in PyTorch: a forward and backward pass of
the whole objective at the working size, the same step that
crates/stylize/examples/bench_step.rs times in stylize. The network and the
costs are those of reference/torch_nst.py (imported, not copied).

    torch_step.py step --inputs DIR [--weights W] [--steps 3] [--warmup 1] [--threads 2]
                       [--device cpu|cuda]
    torch_step.py step --preset gatys|seed --size N [--width W --height H]
                       [--content IMG] [--style IMG] [--weights W] ...
    torch_step.py sgemm [--threads 2] [--n 2048] [--repeats 5]

`step --inputs DIR` reads what `bench_step --save-inputs DIR` wrote (the
working-size content, style and initial image as .npy, the layers, weights
and preprocessing in start.json): the very same pixels and settings as
stylize's step. Without --inputs the images are read with PIL and resized
(Lanczos) to the working size (--width/--height, default: the longer side
scaled to --size as stylize does), and the layers come from --preset.

`step` prints one JSON line: impl, size, width, height, seconds_per_step
(each timed step), median, peak_rss_bytes (ru_maxrss), rss_before_steps_bytes
(VmRSS once the objective is built), plus the costs of
the first evaluation. With `--device cuda` the network and images live on
the GPU; each timed step still ends with the gradient copied to the host,
as stylize's does. `sgemm` prints {"gflops": best single-precision
N x N matmul rate, ...}.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "reference"))
import torch_nst  # noqa: E402

HED_MEAN_BGR = [104.00699, 116.66877, 122.67892]
KERAS_CAFFE_MEAN_BGR = [103.939, 116.779, 123.68]
TORCH_PREPROCESS = {"kind": "torch", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def set_threads(n):
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def working_size(w, h, longer):
    """stylize's image_io::working_size: the longer side scaled to `longer`."""
    scale = longer / max(w, h, 1)
    return max(int(np.floor(w * scale + 0.5)), 1), max(int(np.floor(h * scale + 0.5)), 1)


def preset_config(preset, n_convs):
    """The layers and weights of stylize's presets (StyleConfig::gatys/seed)."""
    style = [[f"block{b}_conv1", 0.2] for b in range(1, 6)]
    if preset == "gatys":
        return {"alpha": 4194.304, "beta": 1.0, "tv_weight": 0.0, "content_layer": "block4_conv2",
                "style_layers": style, "style_blend": [1.0], "pooling": "max", "init_noise": 0.0}
    last = torch_nst.VGG_CONVS[n_convs][4]
    return {"alpha": 10.0, "beta": 30.0, "tv_weight": 0.0, "content_layer": f"block5_conv{last}",
            "style_layers": style, "style_blend": [1.0], "pooling": "max", "init_noise": 0.25}


def default_preprocess(weights):
    if weights.endswith(".safetensors"):
        # As stylize: the file's own word first (bench/half-weights writes it).
        from vgg_files import read_safetensors_metadata

        said = read_safetensors_metadata(weights).get("stylize.preprocess")
        if said == "hed":
            return {"kind": "caffe", "mean_bgr": HED_MEAN_BGR}
        if said == "caffe":
            return {"kind": "caffe", "mean_bgr": KERAS_CAFFE_MEAN_BGR}
        return TORCH_PREPROCESS
    if weights.endswith((".pth", ".pt")):
        return TORCH_PREPROCESS
    mean = HED_MEAN_BGR if "hed" in os.path.basename(weights).lower() else KERAS_CAFFE_MEAN_BGR
    return {"kind": "caffe", "mean_bgr": mean}


def read_image(path, w, h, dtype):
    from PIL import Image

    img = Image.open(path).convert("RGB")
    if img.size != (w, h):
        img = img.resize((w, h), Image.LANCZOS)
    a = np.asarray(img, dtype=np.float32).transpose(2, 0, 1)[None] / 255.0
    return torch.tensor(a, dtype=dtype)


def load_inputs(args, dtype):
    """(cfg, weights path, content, style, init) from --inputs or --preset."""
    if args.inputs:
        with open(os.path.join(args.inputs, "start.json")) as f:
            cfg = json.load(f)
        weights = os.path.expanduser(args.weights or cfg["weights"])
        convs = torch_nst.read_convs(weights)
        content = torch_nst.load_npy(os.path.join(args.inputs, "content.npy"), dtype)
        style = torch_nst.load_npy(os.path.join(args.inputs, "style_0.npy"), dtype)
        init = torch_nst.load_npy(os.path.join(args.inputs, "init.npy"), dtype)
        return cfg, convs, content, style, init
    if not args.weights or not args.size:
        raise SystemExit("without --inputs, --weights and --size are required")
    weights = os.path.expanduser(args.weights)
    convs = torch_nst.read_convs(weights)
    cfg = preset_config(args.preset, len(convs))
    cfg["preprocess"] = default_preprocess(weights)
    images = os.path.join(ROOT, "assets", "images")
    content_path = args.content or os.path.join(images, "chelsea.jpg")
    style_path = args.style or os.path.join(images, "starry_night.jpg")
    from PIL import Image

    with Image.open(content_path) as im:
        cw, ch = im.size
    with Image.open(style_path) as im:
        sw, sh = im.size
    w, h = (args.width, args.height) if args.width and args.height else working_size(cw, ch, args.size)
    content = read_image(content_path, w, h, dtype)
    style = read_image(style_path, *working_size(sw, sh, args.size), dtype)
    init = content
    if cfg["init_noise"] > 0:
        g = torch.Generator().manual_seed(0)
        noise = (torch.rand(content.shape, generator=g, dtype=dtype) * 2 - 1) * cfg["init_noise"]
        init = (content + noise).clamp(0, 1)
    return cfg, convs, content, style, init


def vm_rss_bytes():
    """VmRSS of /proc/self/status in bytes (None where there is none)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def cmd_step(args):
    set_threads(args.threads)
    dtype = torch.float32
    dev = torch.device(args.device)
    if args.no_tf32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    t0 = time.perf_counter()
    cfg, convs, content, style, init = load_inputs(args, dtype)
    content, style, init = (t.to(dev) for t in (content, style, init))
    if dev.type != "cpu":
        # torch_nst builds its weights and means with torch.tensor: there.
        torch.set_default_device(dev)
    vgg = torch_nst.Vgg(convs, cfg["preprocess"], cfg.get("pooling", "max"), dtype)
    obj = torch_nst.Objective(vgg, content, [style], cfg)
    setup_seconds = time.perf_counter() - t0
    rss_before_steps = vm_rss_bytes()
    times = []
    first = None
    for i in range(args.warmup + args.steps):
        t = time.perf_counter()
        costs, grad = torch_nst.costs_and_grad(obj, init)
        grad = grad.cpu()
        dt = time.perf_counter() - t
        if first is None:
            first = (costs["total"], float(grad.double().norm()))
        if i >= args.warmup:
            times.append(dt)
    _, _, h, w = init.shape
    out = {
        "impl": "pytorch",
        "torch": torch.__version__,
        "device": str(dev) if dev.type == "cpu" else torch.cuda.get_device_name(dev),
        "preset": args.preset,
        "size": args.size or max(w, h),
        "width": w,
        "height": h,
        "style_width": style.shape[3],
        "style_height": style.shape[2],
        "threads": torch.get_num_threads(),
        # Whether cuDNN's convolutions and cuBLAS's products may use TF32
        # (GPU only; PyTorch's defaults are True and False).
        "tf32": None if dev.type == "cpu" else {
            "cudnn": torch.backends.cudnn.allow_tf32,
            "matmul": torch.backends.cuda.matmul.allow_tf32,
        },
        "warmup": args.warmup,
        "steps": args.steps,
        "seconds_per_step": times,
        "median": statistics.median(times) if times else None,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "rss_before_steps_bytes": rss_before_steps,
        "setup_seconds": setup_seconds,
        "content_layer": cfg["content_layer"],
        "style_layers": cfg["style_layers"],
        "cost_total": first[0] if first else None,
        "grad_l2": first[1] if first else None,
    }
    print(json.dumps(out))
    return 0


def cmd_sgemm(args):
    set_threads(args.threads)
    n = args.n
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=g, dtype=torch.float32)
    b = torch.rand(n, n, generator=g, dtype=torch.float32)
    c = torch.empty(n, n, dtype=torch.float32)
    torch.mm(a, b, out=c)  # warm-up
    best = float("inf")
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        torch.mm(a, b, out=c)
        dt = time.perf_counter() - t
        times.append(dt)
        best = min(best, dt)
    flops = 2.0 * n * n * n
    print(json.dumps({"n": n, "threads": torch.get_num_threads(), "seconds": times,
                      "gflops": flops / best / 1e9, "torch": torch.__version__}))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("step", help="time forward+backward of the objective")
    s.add_argument("--inputs", help="directory written by bench_step --save-inputs")
    s.add_argument("--weights", help="weights file (default: start.json's)")
    s.add_argument("--preset", choices=["gatys", "seed"], default="gatys",
                   help="layers and weights without --inputs; with --inputs only a label")
    s.add_argument("--size", type=int, help="working size (longer side)")
    s.add_argument("--width", type=int)
    s.add_argument("--height", type=int)
    s.add_argument("--content")
    s.add_argument("--style")
    s.add_argument("--steps", type=int, default=3)
    s.add_argument("--warmup", type=int, default=1)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--device", default="cpu", help="cpu, or cuda (cuda:N) for a GPU")
    s.add_argument("--no-tf32", action="store_true",
                   help="full f32 on a GPU: PyTorch lets cuDNN convolutions use TF32 tensor cores "
                        "by default (10 mantissa bits), where stylize computes in f32")
    s.set_defaults(fn=cmd_step)
    m = sub.add_parser("sgemm", help="single-precision matmul GFLOP/s")
    m.add_argument("--threads", type=int, default=2)
    m.add_argument("--n", type=int, default=2048)
    m.add_argument("--repeats", type=int, default=5)
    m.set_defaults(fn=cmd_sgemm)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
