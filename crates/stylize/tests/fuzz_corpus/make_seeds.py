"""Writes the fuzz seeds that the committed fixtures do not cover: small
images (PNG, JPEG, WebP, TIFF, GIF and BMP in several pixel layouts) and safetensors files.

    python3 crates/stylize/tests/fuzz_corpus/make_seeds.py   (needs Pillow)
"""
import json
import struct
from pathlib import Path

from PIL import Image

here = Path(__file__).parent


def image(w, h, mode):
    im = Image.new("RGBA", (w, h))
    im.putdata([((x * 37) % 256, (y * 59) % 256, ((x + y) * 23) % 256, (x * y * 11) % 256)
                for y in range(h) for x in range(w)])
    return im.convert(mode)


def images():
    d = here / "image"
    image(8, 8, "RGB").save(d / "rgb.png")
    image(5, 3, "LA").save(d / "gray_alpha.png")
    image(6, 4, "P").save(d / "palette.png")
    image(4, 4, "I;16").save(d / "gray16.png")
    image(8, 8, "RGB").save(d / "rgb.jpg", quality=70)
    image(16, 8, "RGB").save(d / "progressive.jpg", quality=60, progressive=True)
    image(8, 8, "L").save(d / "gray.jpg", quality=60)
    image(8, 8, "CMYK").save(d / "cmyk.jpg", quality=60)
    image(8, 8, "RGBA").save(d / "alpha_lossless.webp", lossless=True)
    image(8, 8, "RGB").save(d / "lossy.webp", quality=50)
    # EXIF orientation 6 (rotated 90 degrees).
    exif = Image.Exif()
    exif[0x0112] = 6
    image(6, 4, "RGB").save(d / "exif_rotated.jpg", quality=60, exif=exif)
    tiff_gif_bmp(d)


def tiff_gif_bmp(d):
    """TIFF (raw, LZW, deflate, 16-bit grey, RGBA), GIF and BMP seeds."""
    image(8, 8, "RGB").save(d / "rgb.tiff")
    image(8, 6, "RGB").save(d / "lzw.tiff", compression="tiff_lzw")
    image(6, 8, "RGBA").save(d / "deflate_alpha.tiff", compression="tiff_adobe_deflate")
    image(4, 4, "I;16").save(d / "gray16.tiff")
    image(8, 8, "P").save(d / "palette.gif")
    image(6, 4, "RGB").save(d / "rgb.bmp")


def safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def safetensors_seeds():
    d = here / "safetensors"
    f32 = lambda n: struct.pack(f"<{n}f", *[i * 0.25 - 1 for i in range(n)])
    safetensors(d / "conv.safetensors", {
        "features.0.weight": ("F32", [2, 3, 3, 3], f32(54)),
        "features.0.bias": ("F32", [2], f32(2)),
    }, {"stylize.preprocess": "caffe"})
    safetensors(d / "dtypes.safetensors", {
        "a": ("F16", [2, 2], struct.pack("<4H", 0x3C00, 0xC000, 0x7C00, 0x0001)),
        "b": ("BF16", [3], struct.pack("<3H", 0x3F80, 0xFF80, 0x7FC0)),
        "c": ("F64", [1], struct.pack("<d", 2.5)),
        "d": ("I64", [1], struct.pack("<q", 7)),
        "e": ("F32", [0], b""),
    })
    safetensors(d / "keras_names.safetensors", {
        "block1_conv1/kernel": ("F32", [3, 3, 3, 1], f32(27)),
        "block1_conv1/bias": ("F32", [1], f32(1)),
    })


images()
safetensors_seeds()
