"""Independent reference values for stylize's costs, written with numpy
straight from the seed program's formulas (float64).

    python3 losses.py > losses.json

Content cost  J_c = 1/(4 nH nW nC) * sum((aC - aG)^2)
Gram          G = A A^T, A = activations unrolled to (nC, nH*nW)
Layer style   J_l = 1/(2 nC nH nW)^2 * sum((G_S - G_G)^2)
Style cost    J_s = sum_l lambda_l J_l
Total         J = alpha J_c + beta J_s
"""
import json

import numpy as np

rng = np.random.RandomState(20151002)


def unroll(a):
    # a: (1, nC, nH, nW) as stylize stores it (NCHW); the seed unrolls its
    # NHWC tensor to (nH*nW, nC) and transposes; the result is the same.
    _, c, h, w = a.shape
    nhwc = np.transpose(a, (0, 2, 3, 1))
    return nhwc.reshape(h * w, c).T


def content_cost(a_c, a_g):
    _, c, h, w = a_g.shape
    return float(np.sum((a_c - a_g) ** 2) / (4 * h * w * c))


def gram(a):
    u = unroll(a)
    return u @ u.T


def layer_style_cost(a_s, a_g):
    _, c, h, w = a_g.shape
    return float(np.sum((gram(a_s) - gram(a_g)) ** 2) / (2 * c * h * w) ** 2)


def t(shape, scale=1.0):
    return rng.uniform(0.0, scale, size=shape)


cases = {}
a_c, a_g = t((1, 3, 4, 5)), t((1, 3, 4, 5))
cases["content"] = {"a_c": a_c, "a_g": a_g, "cost": content_cost(a_c, a_g)}
a = t((1, 4, 3, 2), 2.0)
cases["gram"] = {"a": a, "gram": gram(a)}
a_s, a_g = t((1, 5, 6, 7)), t((1, 5, 6, 7))
cases["layer_style"] = {"a_s": a_s, "a_g": a_g, "cost": layer_style_cost(a_s, a_g)}

# The three presets over five layers of growing depth, alpha 10, beta 30.
presets = {
    "content": [0.02, 0.08, 0.2, 0.3, 0.4],
    "balanced": [0.2, 0.2, 0.2, 0.2, 0.2],
    "style": [0.4, 0.3, 0.2, 0.08, 0.02],
}
shapes = [(1, 2, 8, 8), (1, 3, 4, 4), (1, 4, 4, 2), (1, 5, 2, 2), (1, 6, 1, 2)]
layers = [(t(s, 3.0), t(s, 3.0)) for s in shapes]
a_c, a_gc = t((1, 6, 1, 2), 3.0), t((1, 6, 1, 2), 3.0)
total = {"layers": [{"a_s": s, "a_g": g} for s, g in layers], "a_c": a_c, "a_g_content": a_gc}
for name, lambdas in presets.items():
    j_s = sum(l * layer_style_cost(s, g) for l, (s, g) in zip(lambdas, layers))
    j_c = content_cost(a_c, a_gc)
    total[name] = {"lambdas": lambdas, "style": j_s, "content": j_c, "total": 10 * j_c + 30 * j_s}
cases["total"] = total


def to_json(v):
    if isinstance(v, np.ndarray):
        return {"shape": list(v.shape), "data": v.ravel().tolist()}
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_json(x) for x in v]
    return v


print(json.dumps(to_json(cases), indent=1))
