"""PSNR and SSIM of a thumbnail against a full-resolution reference (numpy; bench-only)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def full_resolution_reference(path: Path, size: tuple[int, int]) -> Image.Image:
    """The whole image decoded at full size, through its ICC profile to sRGB, upright, then one
    LANCZOS resize to `size`: what a thumbnail would be with no shortcut taken."""
    with Image.open(path) as image:
        image.load()
        orientation = image.getexif().get(0x0112, 1)
        profile = image.info.get("icc_profile")
        if profile:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
        else:
            converted = image.convert("RGB")
    upright = converted.transpose(_TRANSPOSE[orientation]) if orientation in _TRANSPOSE else converted
    return upright.resize(size, Image.Resampling.LANCZOS)


def psnr(image: Image.Image, reference: Image.Image) -> float:
    a, b = _array(image), _array(reference)
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def ssim(image: Image.Image, reference: Image.Image) -> float:
    """Mean SSIM on luma (BT.601), 11x11 gaussian window with sigma 1.5 (Wang et al. 2004)."""
    x, y = _luma(image), _luma(reference)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_x, mu_y = _blur(x), _blur(y)
    var_x = _blur(x * x) - mu_x**2
    var_y = _blur(y * y) - mu_y**2
    cov = _blur(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())


def _array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float64)


def _luma(image: Image.Image) -> np.ndarray:
    rgb = _array(image)
    return rgb @ np.array([0.299, 0.587, 0.114])


def _blur(plane: np.ndarray, radius: int = 5, sigma: float = 1.5) -> np.ndarray:
    """Separable gaussian, 'valid' region only (no padding to bias the edges)."""
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    width = 2 * radius + 1
    rows = sum(t * plane[:, i : plane.shape[1] - width + 1 + i] for i, t in enumerate(taps))
    return sum(t * rows[i : rows.shape[0] - width + 1 + i, :] for i, t in enumerate(taps))
