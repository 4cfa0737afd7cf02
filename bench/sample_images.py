"""Deterministic, photo-like test images for the thumbnail benchmarks.

Flat colour would flatter every engine (it compresses to nothing and decodes in no time), so
each image is smooth gradients and soft shapes, a few hard-edged shapes (edges are where
resampling filters differ), and sensor-like grain, all from a seed: the same arguments give
the same bytes on every run, in any order.
"""

from __future__ import annotations

import random
import statistics
import struct
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

GRAIN_SIGMA = 10.0
EXIF_ORIENTATION_TAG = 0x0112


def photographic(width: int, height: int, seed: int, mode: str = "RGB") -> Image.Image:
    """Gradients, soft and hard shapes under gaussian grain: compresses and decodes like a photo."""
    rng = random.Random(seed)
    small = (max(1, width // 8), max(1, height // 8))
    channels = [
        Image.linear_gradient("L").rotate(rng.uniform(0, 360)).resize(small, Image.Resampling.BILINEAR)
        for _ in range(3)
    ]
    scene = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(scene)
    for _ in range(60):
        x, y = rng.randrange(small[0]), rng.randrange(small[1])
        r = rng.randrange(4, max(5, small[0] // 6))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=_colour(rng))
    scene = scene.filter(ImageFilter.GaussianBlur(2)).resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(scene)
    for _ in range(12):  # hard edges at full resolution: text, window frames, horizons
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(1, max(2, width // 5)), y0 + rng.randrange(1, max(2, height // 5))
        draw.rectangle((x0, y0, x1, y1), outline=_colour(rng), width=max(1, width // 800))
        draw.line((x0, y1, x1, y0), fill=_colour(rng), width=max(1, width // 1000))
    photo = ImageChops.add(scene, grain(width, height, rng), scale=1.0, offset=-128)
    if mode == "RGBA":
        photo.putalpha(Image.linear_gradient("L").resize((width, height)))
    return photo


def grain(width: int, height: int, rng: random.Random) -> Image.Image:
    """Gaussian noise around 128, from the seeded generator (Image.effect_noise is not seedable)."""
    normal = statistics.NormalDist(128, GRAIN_SIGMA)
    # Uniform bytes through the inverse normal CDF: gaussian grain at C speed.
    table = [max(0, min(255, round(normal.inv_cdf((i + 0.5) / 256)))) for i in range(256)]
    bands = [Image.frombytes("L", (width, height), rng.randbytes(width * height)).point(table) for _ in range(3)]
    return Image.merge("RGB", bands)


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randrange(256) for _ in range(3))


def write_sample(path: Path, kind: str, size: tuple[int, int], seed: int) -> None:
    """One benchmark input. `size` is the upright picture's; kinds:
    JPEG, PNG, CMYK-JPEG (with an embedded CMYK ICC profile), ROTATED-JPEG (stored sideways,
    EXIF orientation 6, as a phone held upright writes it)."""
    photo = photographic(*size, seed)
    if kind == "JPEG":
        photo.save(path, "JPEG", quality=90)
    elif kind == "PNG":
        photo.save(path, "PNG", compress_level=1)
    elif kind == "CMYK-JPEG":
        photo.convert("CMYK").save(path, "JPEG", quality=90, icc_profile=cmyk_icc_profile())
    elif kind == "ROTATED-JPEG":
        exif = Image.Exif()
        exif[EXIF_ORIENTATION_TAG] = 6  # stored rotated 90 degrees anticlockwise; viewers turn it back
        photo.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=90, exif=exif.tobytes())
    else:
        raise ValueError(f"unknown sample kind {kind!r}")


def cmyk_icc_profile(grid: int = 9) -> bytes:
    """A small ICC v2 CMYK output profile (an A2B0 lookup table to XYZ), written here.

    No CMYK profile ships with Pillow or Debian's base image, and press profiles are not ours
    to redistribute. This one models ink simply (subtractive, with some dot gain), which is
    enough to make every engine run a real 4-channel CLUT transform, as a press profile would.
    """
    srgb_to_xyz_d50 = ((0.4361, 0.3851, 0.1431), (0.2225, 0.7169, 0.0606), (0.0139, 0.0971, 0.7141))
    steps = [i / (grid - 1) for i in range(grid)]
    clut = bytearray()
    for c in steps:
        for m in steps:
            for y in steps:
                for k in steps:
                    # Ink coverage to reflectance, with dot gain (mid-tones print darker).
                    rgb = [(1 - ink**0.8) * (1 - k**0.9) for ink in (c, m, y)]
                    for row in srgb_to_xyz_d50:
                        value = sum(a * b for a, b in zip(row, rgb))
                        clut += struct.pack(">H", min(0xFFFF, round(value * 0x8000)))
    identity = struct.pack(">HH", 0, 0xFFFF)
    a2b0 = (
        b"mft2\0\0\0\0"
        + struct.pack(">BBBB", 4, 3, grid, 0)
        + b"".join(_s15(1.0 if i % 4 == 0 else 0.0) for i in range(9))
        + struct.pack(">HH", 2, 2)
        + identity * 4
        + bytes(clut)
        + identity * 3
    )
    description = b"serverless-blueprints bench CMYK\0"
    tags = {
        b"desc": b"desc\0\0\0\0" + struct.pack(">I", len(description)) + description + bytes(12 + 67),
        b"wtpt": _xyz(0.9642, 1.0, 0.8249),
        b"cprt": b"text\0\0\0\0" + b"No copyright\0",
        b"A2B0": a2b0,
    }
    return _icc("prtr", "CMYK", "XYZ ", tags)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _icc(device_class: str, colour_space: str, pcs: str, tags: dict[bytes, bytes]) -> bytes:
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for signature, payload in tags.items():
        payload += bytes(-len(payload) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(payload))
        data += payload
    header = (
        struct.pack(">I", offset + len(data))
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + device_class.encode()
        + colour_space.encode()
        + pcs.encode()
        + bytes(12)
        + b"acsp"
    )
    header += bytes(68 - len(header)) + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    header += bytes(128 - len(header))
    return header + table + data
