#!/usr/bin/env python3
"""Builds bench/compare's markdown report from its raw results.

    report.py RESULTS.jsonl [--meta META.json]
    report.py flops --width W --height H [--arch VGG16] [--content LAYER] [--style LAYER,...]

RESULTS.jsonl holds one JSON object a line: the lines printed by
bench_step (impl "stylize") and torch_step.py step (impl "pytorch"), each
with "round" added by the driver, and torch_step.py sgemm's lines with
"impl": "sgemm". META.json holds the run's description (command, date, CPU,
...). Standard library only.

FLOPs of one step (a forward and a backward pass of the objective), counted
as multiply-adds x 2 and only for the work the objective needs:
  - convolutions: every 3x3 convolution from block1_conv1 to the deepest
    tap runs forward, 2 * H_l * W_l * C_in * C_out * 9 FLOPs at its
    resolution (H_l = floor(H / 2^(b-1)) in block b); the gradient flows
    back from the deepest tap to the pixels through all of them, and since
    the weights are constants only the input gradient is computed (a
    transposed convolution, the same FLOPs again): conv FLOPs = 2 x forward.
  - Gram matrices: each style layer's G = A A^T (A is C x M, M = H_l W_l)
    costs 2 C^2 M forward and 2 C^2 M backward (dA = (dG + dG^T) A).
  - ReLU, pooling, the cost sums and the bias additions are not counted
    (under 1% of the total).
"""
import argparse
import json
import statistics
import sys

CONVS_PER_BLOCK = {"VGG16": [2, 2, 3, 3, 3], "VGG19": [2, 2, 4, 4, 4]}
BLOCK_WIDTHS = [64, 128, 256, 512, 512]


def parse_tap(name):
    """(block, conv) of a tap: blockB_convK / reluB_K / convB_K; pools give
    (B, conv count of the block), the last conv before them."""
    import re

    s = name.strip().lower()
    m = re.fullmatch(r"block(\d+)_conv(\d+)", s) or re.fullmatch(r"(?:relu|conv)(\d+)_(\d+)", s)
    if m:
        return int(m.group(1)), int(m.group(2)), False
    m = re.fullmatch(r"block(\d+)_pool", s) or re.fullmatch(r"pool(\d+)", s)
    if m:
        return int(m.group(1)), None, True
    raise SystemExit(f"unknown layer {name!r}")


def step_flops(width, height, arch, content_layer, style_layers):
    """{"conv_forward", "conv_backward", "gram", "total"} FLOPs of one step."""
    per_block = CONVS_PER_BLOCK[arch]
    taps = [parse_tap(content_layer)] + [parse_tap(n) for n in style_layers]
    # The deepest tap as a conv index (pools count as their block's last conv).
    order = []
    for b, n in enumerate(per_block, start=1):
        for c in range(1, n + 1):
            order.append((b, c))

    def conv_index(t):
        b, c, pool = t
        return order.index((b, per_block[b - 1] if pool else c))

    deepest = max(conv_index(t) for t in taps)
    fwd = 0
    h, w = height, width
    prev = 3
    res = {}
    for i, (b, c) in enumerate(order):
        if c == 1 and b > 1:
            h, w = h // 2, w // 2
        res[b] = (h, w)
        if i > deepest:
            break
        cout = BLOCK_WIDTHS[b - 1]
        fwd += 2 * h * w * prev * cout * 9
        prev = cout
    gram = 0
    for name in style_layers:
        b, _, pool = parse_tap(name)
        hh, ww = res[b]
        if pool:
            hh, ww = hh // 2, ww // 2
        c = BLOCK_WIDTHS[b - 1]
        gram += 2 * (2 * c * c * hh * ww)
    return {"conv_forward": fwd, "conv_backward": fwd, "gram": gram, "total": 2 * fwd + gram}


def median(v):
    return statistics.median(v) if v else None


def fmt_bytes(b):
    return "-" if b is None else f"{b / 2**20:.0f} MiB"


def fmt_s(s):
    """Seconds, 3 significant digits."""
    return "-" if s is None else f"{s:.3g}"


def report(rows, meta):
    sgemm = [r["gflops"] for r in rows if r.get("impl") == "sgemm"]
    faer = [r["gflops"] for r in rows if r.get("impl") == "sgemm-faer"]
    ran = sorted({r["simd"] for r in rows if r.get("impl") == "stylize" and r.get("simd")})
    if ran:
        meta = dict(meta, simd_ran=", ".join(ran))
    # The percentages are of the best float32 matrix product measured on
    # this machine, whichever library gave it.
    peak = max(sgemm + faer) if sgemm or faer else None
    sizes = sorted({r["size"] for r in rows if r.get("impl") in ("stylize", "pytorch")})
    out = []
    out.append("# stylize vs PyTorch: one style-transfer step (forward + backward)")
    out.append("")
    for k, label in (
        ("command", "Command"),
        ("date", "Date"),
        ("cpu", "CPU"),
        ("nproc", "nproc"),
        ("threads", "Threads"),
        ("preset", "Preset"),
        ("engine", "stylize engine"),
        ("simd", "SIMD (--simd)"),
        ("simd_ran", "stylize's kernels ran"),
        ("shape", "Image shape"),
        ("load", "Load average at start"),
        ("git", "Commit"),
        ("rustc", "rustc"),
        ("torch", "PyTorch"),
        ("weights", "Weights"),
    ):
        if meta.get(k) not in (None, ""):
            v = meta[k]
            out.append(f"- {label}: `{v}`" if k in ("command", "git", "weights") else f"- {label}: {v}")
    if sgemm:
        out.append(
            f"- sgemm, torch.mm: {max(sgemm):.1f} GFLOP/s (2048x2048 float32, best of "
            f"{len(sgemm)} measurements: {', '.join(f'{g:.1f}' for g in sgemm)})"
        )
    if faer:
        out.append(
            f"- sgemm, faer (the fast engine's products): {max(faer):.1f} GFLOP/s (2048x2048 "
            f"float32, best of {len(faer)} measurements: {', '.join(f'{g:.1f}' for g in faer)})"
        )
    if peak:
        out.append(f"- sgemm peak used for the percentages: {peak:.1f} GFLOP/s")
    out.append("")
    out.append(
        "| size | working size | stylize s/step | PyTorch s/step | stylize/PyTorch "
        "(median of rounds) | stylize/PyTorch (overall) | stylize peak RSS | PyTorch peak RSS "
        "| GFLOP/step | stylize GFLOP/s (% sgemm) | PyTorch GFLOP/s (% sgemm) |"
    )
    out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    details = []
    for size in sizes:
        st = [r for r in rows if r.get("impl") == "stylize" and r["size"] == size]
        pt = [r for r in rows if r.get("impl") == "pytorch" and r["size"] == size]
        s_all = [t for r in st for t in r["seconds_per_step"]]
        p_all = [t for r in pt for t in r["seconds_per_step"]]
        s_med, p_med = median(s_all), median(p_all)
        rounds = sorted({r["round"] for r in st} & {r["round"] for r in pt})
        per_round = []
        for k in rounds:
            s = median([t for r in st if r["round"] == k for t in r["seconds_per_step"]])
            p = median([t for r in pt if r["round"] == k for t in r["seconds_per_step"]])
            if s and p:
                per_round.append(s / p)
        ratio_rounds = median(per_round)
        ratio_all = s_med / p_med if s_med and p_med else None
        ref = st[0] if st else pt[0]
        w, h = ref["width"], ref["height"]
        fl = step_flops(
            w, h, ref.get("architecture", meta.get("architecture", "VGG16")),
            ref["content_layer"], [n for n, _ in ref["style_layers"]],
        )
        gf = fl["total"] / 1e9

        def rate(sec):
            if not sec:
                return "-"
            g = gf / sec
            return f"{g:.1f} ({100 * g / peak:.0f}%)" if peak else f"{g:.1f}"

        s_rss = max((r["peak_rss_bytes"] for r in st if r.get("peak_rss_bytes")), default=None)
        p_rss = max((r["peak_rss_bytes"] for r in pt if r.get("peak_rss_bytes")), default=None)
        out.append(
            f"| {size} | {w}x{h} | {fmt_s(s_med)} | {fmt_s(p_med)} | "
            f"{'-' if ratio_rounds is None else f'{ratio_rounds:.2f}'} | "
            f"{'-' if ratio_all is None else f'{ratio_all:.2f}'} | {fmt_bytes(s_rss)} | "
            f"{fmt_bytes(p_rss)} | {gf:.2f} | {rate(s_med)} | {rate(p_med)} |"
        )
        s_base = max((r["rss_before_steps_bytes"] for r in st if r.get("rss_before_steps_bytes")), default=None)
        p_base = max((r["rss_before_steps_bytes"] for r in pt if r.get("rss_before_steps_bytes")), default=None)
        costs = [(r["impl"], r.get("cost_total")) for r in st[:1] + pt[:1]]
        cost_note = "-"
        if len(costs) == 2 and all(c is not None for _, c in costs):
            a, b = costs[0][1], costs[1][1]
            cost_note = f"{abs(a - b) / abs(b):.1e}" if b else "-"
        details.append(
            f"| {size} | {len(rounds)} | {', '.join(f'{x:.2f}' for x in per_round) or '-'} | "
            f"{len(s_all)} | {len(p_all)} | "
            f"{fmt_s(min(s_all) if s_all else None)}..{fmt_s(max(s_all) if s_all else None)} | "
            f"{fmt_s(min(p_all) if p_all else None)}..{fmt_s(max(p_all) if p_all else None)} | "
            f"{fl['conv_forward'] / 1e9:.2f} + {fl['conv_backward'] / 1e9:.2f} + {fl['gram'] / 1e9:.2f} | "
            f"{fmt_bytes(s_base)} / {fmt_bytes(p_base)} | {cost_note} |"
        )
    out.append("")
    out.append(
        "Ratios below 1 mean stylize is faster. \"median of rounds\": the median over rounds of "
        "(stylize's median step / PyTorch's median step) within a round; \"overall\": the median of "
        "all stylize steps over the median of all PyTorch steps."
    )
    out.append("")
    out.append(
        "| size | rounds | per-round ratios | stylize steps | PyTorch steps | stylize min..max s | "
        "PyTorch min..max s | GFLOP: conv fwd + conv bwd + Gram | RSS before the steps: stylize / PyTorch "
        "| total cost rel. diff |"
    )
    out.append("|---:|---:|---|---:|---:|---|---|---|---|---:|")
    out.extend(details)
    out.append("")
    out.append(
        "FLOPs per step: 2 x (sum over the convolutions up to the deepest tap of "
        "2 H_l W_l C_in C_out 9) + sum over the style layers of 4 C^2 H_l W_l "
        "(forward and input-gradient convolutions; Gram forward and backward). "
        "See bench/README.md."
    )
    return "\n".join(out) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "flops":
        p = argparse.ArgumentParser()
        p.add_argument("--width", type=int, required=True)
        p.add_argument("--height", type=int, required=True)
        p.add_argument("--arch", default="VGG16")
        p.add_argument("--content", default="block4_conv2")
        p.add_argument("--style", default="block1_conv1,block2_conv1,block3_conv1,block4_conv1,block5_conv1")
        a = p.parse_args(argv[1:])
        print(json.dumps(step_flops(a.width, a.height, a.arch, a.content, a.style.split(","))))
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--meta")
    a = p.parse_args(argv)
    rows = []
    with open(a.results) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    meta = {}
    if a.meta:
        with open(a.meta) as f:
            meta = json.load(f)
    sys.stdout.write(report(rows, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
