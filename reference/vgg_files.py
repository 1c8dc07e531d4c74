"""Reading VGG convolutions from weights files, and writing them as f16
safetensors, with h5py and numpy only (no torch), so that tools which do not
run the network can share the reference's reading of a file.

    read_h5_convs(path)           Keras HDF5 (Keras 1/2 or Keras 3 layout)
    read_safetensors_convs(path)  torchvision names (features.N.weight/bias)
    read_safetensors_metadata(path)  the header's __metadata__ (stylize.preprocess)
    write_safetensors(path, convs, dtype, metadata)

Each reader returns the convolutions in forward order as (kernel OIHW,
bias) numpy pairs.
"""
import json
import re
import struct

import numpy as np


def natural_key(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def read_h5_convs(path):
    """The VGG convolutions of a Keras weights file, in forward order."""
    import h5py

    convs = []
    with h5py.File(path, "r") as f:
        blocks = sorted((k for k in f.keys() if re.fullmatch(r"block\d+", k)), key=natural_key)
        if blocks and "layers" in f[blocks[0]]:
            # Keras 3: block1/layers/conv2d/vars/0 (kernel), .../vars/1 (bias).
            for b in blocks:
                layers = f[b]["layers"]
                for name in sorted(layers.keys(), key=natural_key):
                    # Pooling layers (HED's blocks 2-5 start with one) hold
                    # no weights.
                    v = layers[name].get("vars")
                    if v is None or "0" not in v or v["0"].ndim != 4:
                        continue
                    convs.append((v["0"][()], v["1"][()]))
        else:
            # Keras 1/2: blockB_convK/blockB_convK/kernel:0 (or _W_1:0, _b_1:0).
            root = f["model_weights"] if "model_weights" in f else f
            names = sorted(
                (k for k in root.keys() if re.fullmatch(r"block\d+_conv\d+", k)), key=natural_key
            )
            for name in names:
                ds = []
                root[name].visititems(lambda n, o: ds.append((n, o)) if isinstance(o, h5py.Dataset) else None)
                kernel = [o[()] for n, o in ds if o.ndim == 4]
                bias = [o[()] for n, o in ds if o.ndim == 1]
                if len(kernel) != 1 or len(bias) != 1:
                    raise SystemExit(f"{path}: cannot find kernel and bias of {name}")
                convs.append((kernel[0], bias[0]))
    if not convs:
        raise SystemExit(f"{path}: no VGG convolutions found")
    # Keras kernels are HWIO; torch wants OIHW.
    return [(np.transpose(np.asarray(k), (3, 2, 0, 1)), np.asarray(b)) for k, b in convs]


_DTYPES = {"F16": np.float16, "BF16": None, "F32": np.float32, "F64": np.float64}


def read_safetensors_metadata(path):
    """The `__metadata__` map of a safetensors file's header ({} if none)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return dict(json.loads(f.read(n)).get("__metadata__") or {})


def read_safetensors_convs(path):
    """`features.N.weight`/`features.N.bias` of a safetensors file (F16, F32
    or F64), in the order of N, as float64 arrays."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)

    def tensor(key):
        t = header[key]
        dt = _DTYPES.get(t["dtype"])
        if dt is None:
            raise SystemExit(f"{path}: {key} has dtype {t['dtype']}, which this reader does not take")
        a, b = t["data_offsets"]
        return np.frombuffer(data[a:b], dtype=dt).reshape(t["shape"]).astype(np.float64)

    idx = sorted(
        {int(m.group(1)) for k in header for m in [re.fullmatch(r"(?:.*\.)?features\.(\d+)\.weight", k)] if m}
    )
    out = []
    for i in idx:
        wk = next(k for k in header if k.endswith(f"features.{i}.weight"))
        out.append((tensor(wk), tensor(wk[: -len("weight")] + "bias")))
    if not out:
        raise SystemExit(f"{path}: no features.N.weight tensors")
    return out


VGG_CONVS = {13: [2, 2, 3, 3, 3], 16: [2, 2, 4, 4, 4]}


def write_safetensors(path, convs, dtype=np.float16, metadata=None):
    """Writes a VGG16 or VGG19's OIHW convolutions under torchvision's names
    (`features.N`, counting a ReLU after each convolution and a pooling
    layer after each block, as torchvision does)."""
    if len(convs) not in VGG_CONVS:
        raise SystemExit(f"{len(convs)} convolutions, neither VGG16 (13) nor VGG19 (16)")
    name = {np.float16: "F16", np.float32: "F32"}[dtype]
    indices = []
    index = 0
    for count in VGG_CONVS[len(convs)]:
        for _ in range(count):
            indices.append(index)
            index += 2  # the convolution and its ReLU
        index += 1  # the block's pooling layer
    header, blobs, offset = {}, [], 0
    for i, (k, b) in zip(indices, convs):
        for suffix, a in (("weight", k), ("bias", b)):
            raw = np.ascontiguousarray(a, dtype=dtype).tobytes()
            header[f"features.{i}.{suffix}"] = {
                "dtype": name,
                "shape": list(np.shape(a)),
                "data_offsets": [offset, offset + len(raw)],
            }
            blobs.append(raw)
            offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(a): str(b) for a, b in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
