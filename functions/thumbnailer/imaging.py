"""Untrusted image bytes in, metadata-free sRGB thumbnails out.

Pure Pillow: no AWS, no environment. The work is planned around one decode:
JPEGs are decoded by libjpeg at the smallest DCT scale that still serves the
largest thumbnail (``draft``), other formats are box-reduced once (``reduce``).
The base is converted to sRGB (ICC transforms are cached per profile), the largest
size is resized from it and turned upright, and each smaller size is resized from
the next larger one. docs/benchmarks.md has the measurements behind each choice.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

# Registers exactly the decoders below, without Image.init() importing every plugin.
from PIL import GifImagePlugin, JpegImagePlugin, PngImagePlugin, WebPImagePlugin  # noqa: F401

# The web formats the upload bucket is meant to receive. Limiting Pillow's plugin
# search keeps hostile uploads away from decoders we never need (EPS hands files to
# Ghostscript, for example). JPEG includes the multi-picture (MPO) files phones make.
INPUT_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")

CONTENT_TYPES = {"JPEG": "image/jpeg", "WEBP": "image/webp"}

# JPEGs are decoded by libjpeg at the smallest DCT scale that leaves this margin over the
# largest thumbnail. DCT scaling alone aliases: where it lands within 1.3x of the target
# (a 2048x1536 photo at 1/4 is exactly 512x384), the delivered 512 measured 0.3-0.6 dB
# PSNR and up to 0.005 SSIM below a full-resolution LANCZOS; sharp keeps a 2x margin and
# does not lose that. A margin of 1.4 recovers it but costs those images the next scale
# up (3 MP: 1.04x sharp's CPU instead of 0.6x). 1.0 keeps today's speed; the choice
# is docs/benchmarks.md's "open decision".
DRAFT_MARGIN = 1.0
# reduce() is a plain box filter, so other formats keep a 2x margin for LANCZOS
# (Pillow's thumbnail() default); their full decode costs far more.
REDUCE_GAP = 2.0

# Steps that shrink by at most this much use BICUBIC instead of LANCZOS: every step
# from a DCT-scaled JPEG base, and each smaller size from the next larger one. At
# those ratios it costs ~30% less with the delivered JPEGs within 0.1 dB PSNR and
# 0.001 SSIM of all-LANCZOS (measured against full-resolution references).
CHEAP_STEP_MAX_RATIO = 2.0

# What transparent pixels become in a JPEG, which has no alpha channel.
JPEG_BACKGROUND = (255, 255, 255)

# libwebp's default effort; Pillow's default (0) makes noticeably larger files.
WEBP_METHOD = 4

_EXIF_ORIENTATION_TAG = 0x0112
_ORIENTATION_FIX = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = {5, 6, 7, 8}

# Errors Pillow raises while parsing bytes it cannot make sense of.
_UNDECODABLE = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)

_STRIP_ROWS_OUT = 64

if TYPE_CHECKING:
    from PIL import ImageCms

_ICC_SPACE_TO_MODE = {"RGB": "RGB", "CMYK": "CMYK", "GRAY": "L"}
# Building a transform costs more than applying it to a thumbnail (~40 ms for a CMYK
# profile), and uploads from one camera or press workflow share a profile.
ICC_TRANSFORM_CACHE_SIZE = 16
_icc_transforms: OrderedDict[tuple[int, int, int, str], ImageCms.ImageCmsTransform | None] = OrderedDict()


class RejectedImage(Exception):
    """The bytes can never become thumbnails: retrying will not help."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Thumbnail:
    """One encoded thumbnail. (A docstring also spares Python 3.13's dataclass an
    inspect.signature() call at import, which is cold-start time.)"""

    size: int
    """The bounding box it was made for (the configured size)."""
    width: int
    height: int
    content_type: str
    body: bytes


def fit_within(width: int, height: int, box: int) -> tuple[int, int]:
    """Dimensions of a width x height image scaled to fit a box x box square, never enlarged."""
    if width <= box and height <= box:
        return width, height
    if width >= height:
        return box, max(1, round(height * box / width))
    return max(1, round(width * box / height)), box


def make_thumbnails(
    data: bytes,
    sizes: Sequence[int],
    *,
    output_format: str = "JPEG",
    quality: int = 82,
    max_pixels: int = 50_000_000,
) -> list[Thumbnail]:
    """One thumbnail per bounding-box size, in the order given.

    Raises RejectedImage for empty, unidentifiable, corrupt or truncated data, and for
    images over max_pixels (checked from the header, before any pixel is decoded).
    """
    if output_format not in CONTENT_TYPES:
        raise ValueError(f"output_format must be one of {sorted(CONTENT_TYPES)}, got {output_format!r}")
    if not sizes or min(sizes) < 1:
        raise ValueError(f"sizes must be positive integers, got {list(sizes)!r}")
    if not data:
        raise RejectedImage("empty", "the object is zero bytes")

    decoded = decode_first_frame(data, max(sizes), max_pixels)
    # Colour is converted before any resize: after it, a CMYK profile's non-linear
    # transform measured 0.3 dB PSNR worse (the cached transform keeps it cheap).
    base = _to_srgb(decoded.base, decoded.icc_profile)
    swaps = decoded.orientation in _SWAPS_AXES
    upright_size = decoded.full_size[::-1] if swaps else decoded.full_size

    rendered: dict[int, Thumbnail] = {}
    previous = None
    for size in sorted(set(sizes), reverse=True):
        # Dimensions come from the full-resolution size so the aspect ratio is exact,
        # not from the decoded base, whose sides were rounded by the DCT scale or reduce.
        width, height = fit_within(*upright_size, size)
        if previous is None:
            stored = (height, width) if swaps else (width, height)
            previous = _finish(_shrink(base, stored), decoded.orientation, output_format)
        else:
            previous = _shrink(previous, (width, height))
        rendered[size] = _encode(previous, size, output_format, quality)
    return [rendered[size] for size in sizes]


def _finish(image: Image.Image, orientation: int | None, output_format: str) -> Image.Image:
    """The largest thumbnail made presentable: upright, flattened for JPEG, without metadata.
    Both steps are per pixel, so they cost least here, on the fewest pixels."""
    if orientation in _ORIENTATION_FIX:
        image = image.transpose(_ORIENTATION_FIX[orientation])
    if output_format == "JPEG" and image.mode == "RGBA":
        image = _flatten(image)
    # Nothing of the original's EXIF, GPS, XMP, ICC or comments may reach an output.
    image.info = {}
    return image


def _shrink(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    ratio = max(image.width / size[0], image.height / size[1])
    # Pillow's BICUBIC (Keys, a = -0.5) is close to LANCZOS at <= 2x; beyond that, LANCZOS's
    # wider window matters.
    cheap = ratio <= CHEAP_STEP_MAX_RATIO
    return image.resize(size, Image.Resampling.BICUBIC if cheap else Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class Decoded:
    """The first frame, decoded small, and what the rest of the plan needs from the original."""

    base: Image.Image
    """The first frame at the smallest scale that serves the largest size, in a mode that averages correctly."""
    full_size: tuple[int, int]
    """Width and height as stored, before any EXIF orientation."""
    orientation: int | None
    icc_profile: bytes | None


def decode_first_frame(data: bytes, largest: int, max_pixels: int) -> Decoded:
    """Decode once, at the smallest scale that still serves a `largest` x `largest` thumbnail."""
    try:
        with warnings.catch_warnings():
            # MAX_PIXELS is the policy, enforced below; Pillow's own warning is noise.
            # (Its hard DecompressionBombError, at ~179 MP, still applies.)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=INPUT_FORMATS)
    except UnidentifiedImageError as exc:
        raise RejectedImage("not_an_image", f"not a {'/'.join(INPUT_FORMATS)} image") from exc
    except Image.DecompressionBombError as exc:
        raise RejectedImage("too_many_pixels", str(exc)) from exc
    except _UNDECODABLE as exc:
        raise RejectedImage("corrupt", f"{type(exc).__name__}: {exc}") from exc

    try:
        full_size = image.size
        pixels = full_size[0] * full_size[1]
        if pixels > max_pixels:
            raise RejectedImage(
                "too_many_pixels", f"{full_size[0]}x{full_size[1]} is {pixels} pixels, over MAX_PIXELS {max_pixels}"
            )
        target = fit_within(*full_size, largest)
        # JPEG only: libjpeg scales by 1/2, 1/4 or 1/8 while decoding. A no-op elsewhere.
        image.draft(None, (math.ceil(target[0] * DRAFT_MARGIN), math.ceil(target[1] * DRAFT_MARGIN)))
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            raise RejectedImage("too_many_pixels", str(exc)) from exc
        except _UNDECODABLE as exc:
            raise RejectedImage("corrupt", f"{type(exc).__name__}: {exc}") from exc

        orientation = _orientation(image)
        icc_profile = image.info.get("icc_profile")
        factor = min(image.width // math.ceil(target[0] * REDUCE_GAP), image.height // math.ceil(target[1] * REDUCE_GAP))
        base = reduce_in_strips(image, factor) if factor >= 2 else _reducible(image)
    except BaseException:
        image.close()
        raise
    if base is not image:
        image.close()  # frees the full-size pixels now rather than at garbage collection
    # Otherwise the loaded image is the base itself, not a copy (~3 ms at 1000x750): after
    # load() Pillow holds no file, only, for multi-frame formats, the in-memory BytesIO.
    return Decoded(base, full_size, orientation, icc_profile)


def reduce_in_strips(image: Image.Image, factor: int) -> Image.Image:
    """image.reduce(factor), in a mode that averages correctly, a band of rows at a time.

    Whole-image mode conversions (palette to RGBA, RGBA to premultiplied RGBa inside
    reduce) would each need another full-size copy: 200 MB apiece at 50 MP RGBA.
    """
    rows = factor * _STRIP_ROWS_OUT
    reduced = None
    for top in range(0, image.height, rows):
        strip = _reducible(image.crop((0, top, image.width, min(image.height, top + rows)))).reduce(factor)
        if reduced is None:
            reduced = Image.new(strip.mode, (-(-image.width // factor), -(-image.height // factor)))
        reduced.paste(strip, (0, top // factor))
    assert reduced is not None, "an image with no rows"  # decode() reduces only images of `factor` rows or more
    return reduced


def _orientation(image: Image.Image) -> int | None:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION_TAG)
    except _UNDECODABLE:
        return None  # a broken EXIF block should not cost the user their thumbnail
    return value if isinstance(value, int) else None


def _reducible(image: Image.Image) -> Image.Image:
    """A mode whose pixels can be averaged: palette indices and 16-bit samples cannot."""
    if image.mode in ("P", "PA") or (image.mode in ("1", "L", "RGB") and image.has_transparency_data):
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I;16") and image.mode != "I;16":
        image = image.convert("I")
    if image.mode in ("I", "I;16"):
        # 16-bit samples to 8-bit by scaling: convert("L") alone would clip at 255.
        return image.point(lambda value: value * (1 / 256)).convert("L")
    return image


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """RGB or RGBA in sRGB, whatever the input's mode and embedded profile."""
    alpha = image.getchannel("A") if image.mode in ("LA", "RGBA") else None
    colour = image.convert({"LA": "L", "RGBA": "RGB"}[image.mode]) if alpha else image
    transform = _srgb_transform(icc_profile, colour.mode) if icc_profile else None
    if transform is not None:
        srgb = transform.apply(colour)
    else:
        srgb = colour if colour.mode == "RGB" else colour.convert("RGB")
    if alpha is not None:
        srgb.putalpha(alpha)
    return srgb


def _srgb_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform from an embedded profile to sRGB, kept per profile digest (a digest, not the
    bytes, so the cache never holds on to uploads' profiles); None if the profile is unusable or for
    another colour space, and then sRGB is assumed. The digest is Python's own 64-bit bytes hash with
    the length and a CRC-32: hashlib would load OpenSSL (~4 MB of RSS) for an in-process cache key."""
    key = (hash(icc_profile), len(icc_profile), zlib.crc32(icc_profile), mode)
    if key in _icc_transforms:
        _icc_transforms.move_to_end(key)
        return _icc_transforms[key]
    transform = _build_srgb_transform(icc_profile, mode)
    _icc_transforms[key] = transform
    if len(_icc_transforms) > ICC_TRANSFORM_CACHE_SIZE:
        _icc_transforms.popitem(last=False)
    return transform


def _build_srgb_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    # Imported here: most uploads carry no profile, and every cold start would pay for LittleCMS.
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if _ICC_SPACE_TO_MODE.get(source.profile.xcolor_space.strip()) != mode:
            return None
        return ImageCms.buildTransform(source, _srgb(), mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL)
    except (ImageCms.PyCMSError, *_UNDECODABLE):
        return None


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _flatten(image: Image.Image) -> Image.Image:
    flat = Image.new("RGB", image.size, JPEG_BACKGROUND)
    flat.paste(image, mask=image.getchannel("A"))
    return flat


def _encode(image: Image.Image, size: int, output_format: str, quality: int) -> Thumbnail:
    out = io.BytesIO()
    if output_format == "JPEG":
        image.save(out, "JPEG", quality=quality, optimize=True)
    else:
        image.save(out, "WEBP", quality=quality, method=WEBP_METHOD)
    return Thumbnail(size, image.width, image.height, CONTENT_TYPES[output_format], out.getvalue())
