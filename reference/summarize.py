#!/usr/bin/env python3
"""Builds the quality table of reference/compare from its output directory.

    summarize.py OUT --pairs chelsea:starry_night,... [--lbfgs-at 100]
                 [--adam-at 300] [--max-ratio 1.05]

Reads, per OUT/CONTENT_STYLE/OPTIMIZER/: stylize.csv, dump/start.json,
dump/final.json, check.json, eval_stylize_final.json, reference.csv,
reference_final.json, reference_run.json. Writes OUT/quality.md and
OUT/quality.json and prints the markdown. Exit status 1 when a number is
missing or stylize/reference exceeds --max-ratio.

Logs hold the cost *before* each iteration's step, so the cost after n steps
is row n+1, or final.json when n is the last iteration.
"""
import argparse
import csv
import datetime
import json
import os
import subprocess
import sys


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_log(path):
    """{iteration: (total, seconds)} from a CSV with a header naming at least
    iteration and total (seconds optional); None when unreadable."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return None
    out = {}
    for r in rows:
        try:
            sec = float(r["seconds"]) if r.get("seconds") not in (None, "") else None
            out[int(r["iteration"])] = (float(r["total"]), sec)
        except (KeyError, ValueError):
            continue
    return out or None


def cost_after(log, final, n):
    """The total cost after n steps."""
    if log and (n + 1) in log:
        return log[n + 1][0]
    if final and final.get("iterations") == n and final.get("total") is not None:
        return float(final["total"])
    return None


def last_iteration(log, final):
    if final and final.get("iterations") is not None:
        return int(final["iterations"])
    return max(log) if log else None


def steps_to_reach(log, final, target):
    """The fewest steps after which the total cost is <= target."""
    if target is None or not log:
        return None
    n_max = last_iteration(log, final)
    for n in range(0, n_max + 1):
        c = cost_after(log, final, n)
        if c is not None and c <= target:
            return n
    return None


def seconds_per_iteration(log):
    if not log or len(log) < 2:
        return None
    its = sorted(log)
    a, b = log[its[0]][1], log[its[-1]][1]
    if a is None or b is None:
        return None
    return (b - a) / (its[-1] - its[0])


def fmt(v, spec=".5g"):
    if v is None:
        return "n/a"
    return format(v, spec)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--pairs", required=True)
    p.add_argument("--lbfgs-at", type=int, default=100)
    p.add_argument("--adam-at", type=int, default=300)
    p.add_argument("--max-ratio", type=float, default=1.05)
    p.add_argument("--size", default="?")
    p.add_argument("--preset", default="?")
    p.add_argument("--threads", default="?")
    p.add_argument("--dtype", default="float32")
    a = p.parse_args()

    results = []
    ok = True
    for pair in a.pairs.replace(",", " ").split():
        content, style = (n[: -len(".jpg")] if n.endswith(".jpg") else n for n in pair.split(":", 1))
        base = os.path.join(a.out, f"{content}_{style}")
        runs = {}
        for opt in ("lbfgs", "adam"):
            d = os.path.join(base, opt)
            if not os.path.isdir(d):
                continue
            runs[opt] = {
                "start": load_json(os.path.join(d, "dump", "start.json")),
                "s_log": read_log(os.path.join(d, "stylize.csv")),
                "s_final": load_json(os.path.join(d, "dump", "final.json")),
                "check": load_json(os.path.join(d, "check.json")),
                "eval": load_json(os.path.join(d, "eval_stylize_final.json")),
                "r_log": read_log(os.path.join(d, "reference.csv")),
                "r_final": load_json(os.path.join(d, "reference_final.json")),
                "r_run": load_json(os.path.join(d, "reference_run.json")),
            }
        adam = runs.get("adam")
        adam_target_s = adam_target_r = None
        adam_n = None
        if adam:
            adam_n = last_iteration(adam["s_log"], adam["s_final"])
            if adam_n is not None:
                adam_target_s = cost_after(adam["s_log"], adam["s_final"], adam_n)
            rn = last_iteration(adam["r_log"], adam["r_final"])
            if rn is not None:
                adam_target_r = cost_after(adam["r_log"], adam["r_final"], rn)
        for opt, r in runs.items():
            at = a.lbfgs_at if opt == "lbfgs" else a.adam_at
            start = r["start"] or {}
            check = r["check"] or {}
            costs = check.get("costs") or {}
            total = costs.get("total") or {}
            grad = check.get("grad") or {}
            term_errs = [v.get("rel_err") for k, v in costs.items() if v.get("stylize") is not None]
            s_at = cost_after(r["s_log"], r["s_final"], at)
            r_at = cost_after(r["r_log"], r["r_final"], at)
            ratio = s_at / r_at if s_at is not None and r_at not in (None, 0) else None
            row_ok = ratio is not None and ratio <= a.max_ratio
            ok = ok and row_ok
            cross = None
            ev = (r["eval"] or {}).get("vs_final_json") or {}
            if ev.get("total"):
                cross = ev["total"].get("rel_err")
            if opt == "lbfgs":
                reach_s = steps_to_reach(r["s_log"], r["s_final"], adam_target_s)
                reach_r = steps_to_reach(r["r_log"], r["r_final"], adam_target_r)
                n_lbfgs = last_iteration(r["s_log"], r["s_final"])
                settings = (
                    f"ls {start.get('line_search', '?')}, m {start.get('lbfgs_history', '?')}, "
                    f"lr {start.get('learning_rate', '?')}"
                )
            else:
                reach_s = reach_r = n_lbfgs = None
                settings = f"lr {start.get('learning_rate', '?')}"
            results.append(
                {
                    "pair": f"{content} + {style}",
                    "optimizer": opt,
                    "iterations": last_iteration(r["s_log"], r["s_final"]),
                    "settings": settings,
                    "init_total_stylize": total.get("stylize"),
                    "init_total_reference": total.get("reference"),
                    "init_total_rel_err": total.get("rel_err"),
                    "init_worst_term_rel_err": max((e for e in term_errs if e is not None), default=None)
                    if term_errs and None not in term_errs
                    else None,
                    "grad_l2_rel_err": grad.get("l2_rel_err"),
                    "grad_max_rel_err": grad.get("max_rel_err"),
                    "at": at,
                    "stylize_total_at": s_at,
                    "reference_total_at": r_at,
                    "ratio": ratio,
                    "ok": row_ok,
                    "final_cross_eval_rel_err": cross,
                    "adam_target_stylize": adam_target_s if opt == "lbfgs" else None,
                    "adam_target_reference": adam_target_r if opt == "lbfgs" else None,
                    "adam_iterations": adam_n if opt == "lbfgs" else None,
                    "lbfgs_steps_to_adam_stylize": reach_s,
                    "lbfgs_steps_to_adam_reference": reach_r,
                    "lbfgs_iterations": n_lbfgs,
                    "stylize_s_per_iter": seconds_per_iteration(r["s_log"]),
                    "reference_s_per_iter": seconds_per_iteration(r["r_log"]),
                }
            )

    def reach(v, n):
        if v is not None:
            return str(v)
        return f"not in {n}" if n is not None else "n/a"

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = "?"
    lines = [
        "# stylize vs PyTorch reference",
        "",
        f"{datetime.datetime.now().isoformat(timespec='seconds')}, commit {commit or '?'}; "
        f"size {a.size}, preset {a.preset}, {a.threads} threads, reference in {a.dtype}. "
        f"Costs are weighted totals (content + style + tv). \"@k\": after k steps "
        f"(L-BFGS {a.lbfgs_at}, Adam {a.adam_at}); ratio = stylize / reference, must be <= {a.max_ratio}. "
        "Init: both at stylize's initial image. Grad: ||gs-gt||/||gt|| (max|gs-gt|/max|gt|). "
        "Cross-eval: stylize's final image costed by the reference vs stylize's own final cost. "
        "Reach: fewest L-BFGS steps after which the total is <= that implementation's own Adam total "
        "after its last Adam step.",
        "",
        "| pair | optimizer | iterations | settings | init total stylize | init total reference | init rel err "
        "(worst term) | grad rel err | @k | stylize total @k | reference total @k | ratio | ok | "
        "cross-eval rel err | L-BFGS steps to reach Adam: stylize | reference | s/iter stylize | reference |",
        "|" + "---|" * 18,
    ]
    for r in results:
        lines.append(
            "| "
            + " | ".join(
                [
                    r["pair"],
                    r["optimizer"],
                    fmt(r["iterations"], "d"),
                    r["settings"],
                    fmt(r["init_total_stylize"]),
                    fmt(r["init_total_reference"]),
                    f"{fmt(r['init_total_rel_err'], '.1e')} ({fmt(r['init_worst_term_rel_err'], '.1e')})",
                    f"{fmt(r['grad_l2_rel_err'], '.1e')} ({fmt(r['grad_max_rel_err'], '.1e')})",
                    str(r["at"]),
                    fmt(r["stylize_total_at"]),
                    fmt(r["reference_total_at"]),
                    fmt(r["ratio"], ".4f"),
                    "yes" if r["ok"] else "**NO**",
                    fmt(r["final_cross_eval_rel_err"], ".1e"),
                    reach(r["lbfgs_steps_to_adam_stylize"], r["lbfgs_iterations"]) if r["optimizer"] == "lbfgs" else "",
                    reach(r["lbfgs_steps_to_adam_reference"], r["lbfgs_iterations"]) if r["optimizer"] == "lbfgs" else "",
                    fmt(r["stylize_s_per_iter"], ".3f"),
                    fmt(r["reference_s_per_iter"], ".3f"),
                ]
            )
            + " |"
        )
    if not results:
        lines.append("")
        lines.append("No runs found.")
        ok = False
    md = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "quality.md"), "w") as f:
        f.write(md)
    with open(os.path.join(a.out, "quality.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(md)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
