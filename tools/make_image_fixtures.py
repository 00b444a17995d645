#!/usr/bin/env python3
"""Generate the image-preprocessing fixtures in tests/data/images/ and tests/data/pil/.

Usage:  python3 tools/make_image_fixtures.py [--shared-dir ../shared]

What it makes
-------------
tests/data/images/    small deterministic synthetic test images in many formats/modes
                      (PNG 8/16-bit, L/LA/RGB/RGBA/P/P+tRNS, JPEG baseline/progressive/grey,
                      BMP, GIF, extreme aspect ratios).
tests/data/pil/       for every (image, pipeline) the expected uint8 RGB result of the
                      resize + centre-crop stage, as PNG: <stem>.<pipeline>.png
                      plus <stem>.decoded.png = PIL's full decoded RGB image of the three
                      synthetic JPEGs and the GIF (to separate decoder differences from
                      resize differences), and manifest.json (entries + verified notes).

The shared photographs (<shared-dir>/images/*) are NOT copied: only their expected outputs
are written (timm for all, hf_vit for both.png and tench.jpg), referenced in the manifest as
"shared:images/NAME".  If the shared directory is missing those entries are skipped.

Pipelines (each starts from ``Image.open(path).convert("RGB")``)
---------------------------------------------------------------
timm     timm eval transform of deit_tiny_patch16_224 (timm 1.0.31 pretrained_cfg:
         crop_pct=0.9, interpolation=bicubic, crop_mode=center):
           torchvision Resize(248) with 248 = floor(224 / 0.9)  [NOT 256: deit's crop_pct is 0.9]
             short side -> 248, long side -> int(248 * long / short)   (Python float division)
             PIL resize with BICUBIC (torchvision passes PIL images straight to Image.resize)
           torchvision CenterCrop(224):
             top  = int(round((H - 224) / 2.0)),  left = int(round((W - 224) / 2.0))
             round() is Python's round-half-to-EVEN (61.5 -> 62, 14.5 -> 14).
hf_vit   transformers ViTImageProcessorPil defaults: resize to exactly 224x224, BILINEAR, no crop.
hf_deit  transformers DeiTImageProcessorPil defaults: resize to exactly 256x256, BICUBIC, then
         center_crop 224: top = (H - 224) // 2, left = (W - 224) // 2  (=16, 16).

Everything is verified against the real libraries at generation time (timm's transform,
transformers' PIL-backend processors), and the pure-numpy port of Pillow's resampler below
(`pil_resize_numpy`) is asserted to be bit-exact against PIL.Image.resize.

Pillow's resampler (src/libImaging/Resample.c of the Pillow sdist 13.0.0 from PyPI)
---------------------------------------------------------------------------------
See the comments of `precompute_coeffs`, `normalize_coeffs_8bpc`, `resample_pass_8bpc` and
`pil_resize_numpy`; they are written to be ported line by line to C++.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import struct
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, features

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
IMG_DIR = DATA / "images"
PIL_DIR = DATA / "pil"

# =============================================================================================
# Pure-numpy port of Pillow's 8-bit two-pass convolution resampler (Resample.c, Pillow 13.0.0)
# =============================================================================================
#
# Facts taken from Pillow 13.0.0's src/libImaging/Resample.c (sdist `pillow-13.0.0.tar.gz`):
#   * PRECISION_BITS = 32 - 8 - 2 = 22: coefficients are fixed point with 22 fractional bits.
#   * Coefficients are computed in double, normalised so that each output's taps sum to 1
#     (division by the sequential sum), then converted with round-half-away-from-zero:
#         k >= 0: (int)(0.5 + k * 2^22)      k < 0: (int)(-0.5 + k * 2^22)   (C truncation)
#   * Accumulation: int32 ss = 1 << 21 (i.e. +0.5 for rounding); ss += pixel * coeff_int;
#     output = clip8(ss) = clamp(ss >> 22, 0, 255)  (arithmetic shift = floor division).
#   * Two separable passes; the intermediate image is uint8 (rounded+clamped as above).
#     Pass order (NEW in Pillow 13; earlier Pillow always ran horizontal first):
#         horizontal_first = !((inH - outH) > 0 && (inH - outH) > (inW - outW) * 2)
#     i.e. if the height shrinks by more than twice as many pixels as the width does,
#     the vertical pass runs first.  A pass is skipped when that dimension is unchanged
#     (need_horizontal = outW != inW, need_vertical = outH != inH, for the default box).
#   * Image.resize returns a plain copy when the size is unchanged.
#   * Filters: bilinear (support 1): 1 - |x| for |x| < 1.
#              bicubic (support 2), Keys cubic with a = -0.5:
#                |x| < 1: ((a + 2) |x| - (a + 3)) |x|^2 + 1
#                |x| < 2: (((|x| - 5) |x| + 8) |x| - 4) a
#   * Per axis (precompute_coeffs, box = (0, in_size)):
#         scale       = in_size / out_size                   (double)
#         filterscale = max(scale, 1.0)                      (antialias: widen when shrinking)
#         support     = filter_support * filterscale
#         ksize       = (int)ceil(support) * 2 + 1           (max taps per output)
#         for each output xx:
#             center = (xx + 0.5) * scale
#             xmin   = max((int)(center - support + 0.5), 0)          (C truncation)
#             xmax   = min((int)(center + support + 0.5), in_size)    ; count = xmax - xmin
#             w[x]   = filter((x + xmin - center + 0.5) * (1.0 / filterscale)), x in [0,count)
#             w     /= sum(w)  (sum accumulated sequentially, skipped if the sum is 0)
#
# The arithmetic below reproduces the C expression order exactly (IEEE double, no FMA), so the
# integer coefficients are bit-identical.  A C++ port should compile these few lines without
# floating-point contraction (-ffp-contract=off) to be safe.

PRECISION_BITS = 32 - 8 - 2  # = 22

NEAREST, BILINEAR, BICUBIC = 0, 2, 3  # PIL.Image.Resampling values


def bilinear_filter(x: np.ndarray) -> np.ndarray:
    """Resample.c bilinear_filter: triangle, support 1."""
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


def bicubic_filter(x: np.ndarray) -> np.ndarray:
    """Resample.c bicubic_filter with a = -0.5 (same operation order as the C code)."""
    a = -0.5
    x = np.abs(x)
    inner = ((a + 2.0) * x - (a + 3.0)) * x * x + 1  # |x| < 1
    outer = (((x - 5) * x + 8) * x - 4) * a  # 1 <= |x| < 2
    return np.where(x < 1.0, inner, np.where(x < 2.0, outer, 0.0))


FILTERS = {
    BILINEAR: (bilinear_filter, 1.0),
    BICUBIC: (bicubic_filter, 2.0),
}


def precompute_coeffs(in_size: int, out_size: int, resample: int):
    """Port of Resample.c precompute_coeffs() for box = (0, in_size).

    Returns (xmin[out_size] int, count[out_size] int, kk[out_size, ksize] float64): output
    pixel xx reads input pixels xmin[xx] .. xmin[xx] + count[xx] - 1 with weights
    kk[xx, 0:count[xx]]; kk[xx, count[xx]:] is 0.
    """
    filt, filter_support = FILTERS[resample]
    in0, in1 = 0.0, float(in_size)  # the C code takes the box as float32; exact here
    scale = (in1 - in0) / out_size
    filterscale = max(scale, 1.0)
    support = filter_support * filterscale
    ksize = int(math.ceil(support)) * 2 + 1
    inv_filterscale = 1.0 / filterscale  # the C code multiplies by the reciprocal

    xx = np.arange(out_size, dtype=np.float64)
    center = in0 + (xx + 0.5) * scale
    # (int)(v) in C truncates toward zero; negative values are clamped to 0 right after.
    xmin = np.trunc(center - support + 0.5).astype(np.int64)
    xmin = np.maximum(xmin, 0)
    xmax = np.trunc(center + support + 0.5).astype(np.int64)
    xmax = np.minimum(xmax, in_size)
    count = xmax - xmin

    taps = np.arange(ksize, dtype=np.int64)
    # (x + xmin - center + 0.5): int + int, then - double, then + 0.5 (left to right)
    arg = ((taps[None, :] + xmin[:, None]).astype(np.float64) - center[:, None]) + 0.5
    w = filt(arg * inv_filterscale)
    w = np.where(taps[None, :] < count[:, None], w, 0.0)

    # Sequential sum (the C loop order).  np.sum would use pairwise summation.
    ww = np.zeros(out_size, dtype=np.float64)
    for t in range(ksize):
        ww = ww + w[:, t]
    safe = np.where(ww != 0.0, ww, 1.0)
    kk = np.where((ww != 0.0)[:, None], w / safe[:, None], w)
    return xmin, count, kk


def normalize_coeffs_8bpc(kk: np.ndarray) -> np.ndarray:
    """Resample.c normalize_coeffs_8bpc(): double -> int32 with 22 fractional bits,
    rounding half away from zero ((int) truncates toward zero in C)."""
    scaled = kk * float(1 << PRECISION_BITS)  # exact (power of two)
    return np.trunc(np.where(kk < 0, scaled - 0.5, scaled + 0.5)).astype(np.int64)


def resample_pass_8bpc(img: np.ndarray, axis: int, xmin, count, kk_int) -> np.ndarray:
    """One pass of _ImagingResampleHorizontal_8bpc (axis=1) or _Vertical_8bpc (axis=0).

    img: uint8 [H, W, C].  For every output index o along `axis`:
        ss  = 1 << 21 + sum_{t < count[o]} img[.., xmin[o] + t, ..] * kk_int[o, t]
        out = clamp(ss >> 22, 0, 255)           (>> = arithmetic shift, floor)
    """
    in_size = img.shape[axis]
    out_size, ksize = kk_int.shape
    shape = list(img.shape)
    shape[axis] = out_size
    ss = np.full(shape, 1 << (PRECISION_BITS - 1), dtype=np.int64)
    coeff_shape = [1] * img.ndim
    coeff_shape[axis] = out_size
    for t in range(ksize):
        # taps beyond count have coefficient 0; clamp the index so the read stays in range
        src = np.minimum(xmin + t, in_size - 1)
        k = np.where(t < count, kk_int[:, t], 0).reshape(coeff_shape)
        ss += np.take(img, src, axis=axis).astype(np.int64) * k
    return np.clip(ss >> PRECISION_BITS, 0, 255).astype(np.uint8)


def pil_horizontal_first(in_w: int, in_h: int, out_w: int, out_h: int) -> bool:
    """Pillow 13 pass-order rule (ImagingResampleInner)."""
    return not ((in_h - out_h) > 0 and (in_h - out_h) > (in_w - out_w) * 2)


def pil_resize_numpy(img: np.ndarray, out_w: int, out_h: int, resample: int,
                     pillow13_pass_order: bool = True) -> np.ndarray:
    """Bit-exact numpy equivalent of PIL.Image.resize((out_w, out_h), resample) for an 8-bit
    image given as uint8 [H, W] or [H, W, C] (modes L / RGB; box=None, reducing_gap=None).

    pillow13_pass_order=False gives the pre-13 behaviour (always horizontal first)."""
    squeeze = img.ndim == 2
    if squeeze:
        img = img[:, :, None]
    in_h, in_w = img.shape[:2]
    if (in_w, in_h) == (out_w, out_h):
        out = img.copy()  # Image.resize returns a copy: no filtering at all
        return out[:, :, 0] if squeeze else out
    need_h = out_w != in_w
    need_v = out_h != in_h
    h_first = pil_horizontal_first(in_w, in_h, out_w, out_h) if pillow13_pass_order else True

    def horizontal(x):
        xmin, count, kk = precompute_coeffs(in_w, out_w, resample)
        return resample_pass_8bpc(x, 1, xmin, count, normalize_coeffs_8bpc(kk))

    def vertical(x):
        ymin, count, kk = precompute_coeffs(in_h, out_h, resample)
        return resample_pass_8bpc(x, 0, ymin, count, normalize_coeffs_8bpc(kk))

    out = img
    if h_first:
        if need_h:
            out = horizontal(out)  # uint8 intermediate
        if need_v:
            out = vertical(out)
    else:
        if need_v:
            out = vertical(out)
        if need_h:
            out = horizontal(out)
    return out[:, :, 0] if squeeze else out


# =============================================================================================
# Pipelines: sizes and crop arithmetic (PIL reference implementation)
# =============================================================================================

TIMM_IMG_SIZE = 224
TIMM_CROP_PCT = 0.9  # deit_tiny_patch16_224 pretrained_cfg (verified below against timm)
TIMM_SCALE = math.floor(TIMM_IMG_SIZE / TIMM_CROP_PCT)  # 248

PIPELINES = {
    # name: (resample, description)
    "timm": (BICUBIC, "shortest side -> 248 (int(248*long/short)), BICUBIC; torchvision CenterCrop(224) "
                      "top=int(round((H-224)/2.0)) (round half to even)"),
    "hf_vit": (BILINEAR, "resize to exactly 224x224, BILINEAR, no crop"),
    "hf_deit": (BICUBIC, "resize to exactly 256x256, BICUBIC, center_crop 224 top=(H-224)//2"),
}


def pipeline_geometry(name: str, w: int, h: int):
    """Return ((resized_w, resized_h), (left, top, right, bottom)) for a w x h source."""
    if name == "timm":
        s = TIMM_SCALE
        # torchvision _compute_resized_output_size with size=[s], max_size=None
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = s, int(s * long / short)
        rw, rh = (new_short, new_long) if w <= h else (new_long, new_short)
        c = TIMM_IMG_SIZE
        if rw < c or rh < c:
            raise AssertionError("cannot happen: the short side becomes 248 >= 224")
        top = int(round((rh - c) / 2.0))  # Python round(): half to even
        left = int(round((rw - c) / 2.0))
        return (rw, rh), (left, top, left + c, top + c)
    if name == "hf_vit":
        return (224, 224), (0, 0, 224, 224)
    if name == "hf_deit":
        rw, rh, c = 256, 256, 224
        top = (rh - c) // 2
        left = (rw - c) // 2
        return (rw, rh), (left, top, left + c, top + c)
    raise KeyError(name)


def run_pipeline_pil(name: str, rgb: Image.Image):
    resample = PIPELINES[name][0]
    (rw, rh), box = pipeline_geometry(name, *rgb.size)
    resized = rgb.resize((rw, rh), resample)
    return resized, resized.crop(box), (rw, rh), box


# =============================================================================================
# Synthetic images
# =============================================================================================


def rgb_pattern(w, h, seed, noise=24, noise_frac=0.12, hard_edges=True, centered_noise=False):
    """Deterministic RGB test pattern, uint8 [h, w, 3]:
      R, G: linear gradients along x and y; B: a smooth quadratic (x*y) surface;
      a seeded uniform noise patch (+-noise) over `noise_frac` of the area, at the bottom-right
      (or at the centre with centered_noise=True, so that timm's centre crop of the very wide
      and very tall images sees it);
      a saturated 0/255 checkerboard block near the top-left corner that makes bicubic
      overshoot and exercises the 0..255 clamping.
    The noise is kept to a patch so that the expected 224x224 PNGs stay small."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    fx = x / max(w - 1, 1)
    fy = y / max(h - 1, 1)
    img = np.stack([30 + 200 * fx, 220 - 190 * fy, 40 + 60 * fx + 150 * fx * fy], axis=-1)
    ph = max(1, int(round(h * math.sqrt(noise_frac))))
    pw = max(1, int(round(w * math.sqrt(noise_frac))))
    y0, x0 = ((h - ph) // 2, (w - pw) // 2) if centered_noise else (h - ph, w - pw)
    img[y0:y0 + ph, x0:x0 + pw, :] += rng.integers(-noise, noise + 1, size=(ph, pw, 3))
    if hard_edges and w >= 6 and h >= 6:
        bh, bw = max(2, h // 4), max(2, w // 4)
        cy, cx = np.mgrid[0:bh, 0:bw]
        checker = ((cy + cx) % 2) * 255
        img[1:1 + bh, 1:1 + bw, :] = checker[:, :, None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def grey_pattern(w, h, seed):
    p = rgb_pattern(w, h, seed)
    return ((p[:, :, 0].astype(np.uint16) + p[:, :, 1]) // 2).astype(np.uint8)


def palette_pattern(w, h, seed, ncolors):
    """Index image for P-mode tests: a diagonal index ramp (neighbouring indices have
    neighbouring colours in `smooth_palette`) plus +-1 index jitter in a bottom-right patch."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    idx = (xx + yy) * (ncolors - 2) // max(w + h - 2, 1) + 1
    ph, pw = h // 3, w // 3
    idx[h - ph:, w - pw:] += rng.integers(-1, 2, size=(ph, pw))
    return np.clip(idx, 0, ncolors - 1).astype(np.uint8)


def smooth_palette(ncolors):
    """A palette whose neighbouring entries are close colours (R up, G down, B a bump);
    entry order is not identity-like, so an index/colour mix-up is visible."""
    pal = []
    for i in range(ncolors):
        t = i / max(ncolors - 1, 1)
        pal += [int(20 + 220 * t), int(235 - 200 * t), int(60 + 160 * math.sin(math.pi * t))]
    return pal


def write_png16(path: Path, arr: np.ndarray):
    """Minimal PNG writer for 16-bit greyscale ([H, W]) or RGB ([H, W, 3]) uint16 data.
    Filter type 0 on every row, one IDAT, zlib level 9, big-endian samples."""
    if arr.ndim == 2:
        h, w = arr.shape
        color_type = 0
    else:
        h, w, c = arr.shape
        assert c == 3
        color_type = 2
    raw = b"".join(b"\x00" + arr[row].astype(">u2").tobytes() for row in range(h))

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9))
           + chunk(b"IEND", b""))
    path.write_bytes(png)


def make_synthetic_images():
    """Write tests/data/images/*.  Returns {file name: dict(info)}."""
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    info = {}
    png = dict(optimize=False, compress_level=9)

    def save(name, im, **kw):
        im.save(IMG_DIR / name, **kw)
        info[name] = {}

    save("rgb_37x23.png", Image.fromarray(rgb_pattern(37, 23, 1), "RGB"), **png)
    # 50x49: timm resize -> 253x248, left = round(14.5) = 14 (half-to-even; half-up would give 15)
    save("rgb_50x49.png", Image.fromarray(rgb_pattern(50, 49, 17), "RGB"), **png)
    save("grey_50x70.png", Image.fromarray(grey_pattern(50, 70, 2), "L"), **png)

    la = np.stack([grey_pattern(40, 30, 3),
                   np.tile(np.linspace(0, 255, 40).round().astype(np.uint8), (30, 1))], -1)
    save("grey_alpha_40x30.png", Image.fromarray(la, "LA"), **png)

    rgba = rgb_pattern(64, 48, 4)
    yy, xx = np.mgrid[0:48, 0:64]
    alpha = ((xx * 4 + yy * 2) % 256).astype(np.uint8)  # varying alpha, includes 0 and 255
    alpha[0, 0] = 0
    alpha[-1, -1] = 255
    save("rgba_64x48.png", Image.fromarray(np.dstack([rgba, alpha]), "RGBA"), **png)

    # P without transparency: 64-colour palette
    p = Image.fromarray(palette_pattern(33, 33, 5, 64), "P")
    p.putpalette(smooth_palette(64))
    save("palette_33x33.png", p, **png)

    # P with a tRNS chunk (per-index alpha bytes: 0, partial 128, opaque 255)
    p = Image.fromarray(palette_pattern(20, 20, 6, 32), "P")
    p.putpalette(smooth_palette(32))
    trns = bytes([0 if i % 4 == 0 else (128 if i % 4 == 1 else 255) for i in range(32)])
    save("palette_transparent_20x20.png", p, transparency=trns, **png)

    # 16-bit RGB: high bytes = a normal pattern, low bytes = independent noise (so that keeping
    # the high byte, rounding and scaling give different answers)
    rng = np.random.default_rng(7)
    hi = rgb_pattern(20, 30, 7).astype(np.uint16)
    lo = rng.integers(0, 256, size=hi.shape).astype(np.uint16)
    lo[0, 0] = 0xFF  # 0x..FF would round up
    write_png16(IMG_DIR / "rgb16_20x30.png", (hi << 8) | lo)
    info["rgb16_20x30.png"] = {}

    # 16-bit grey: values spread over 0..65535 along a power ramp (so a good share of the
    # pixels is < 256: PIL clips at 255 where stb_image would take v >> 8) + seeded noise
    rng = np.random.default_rng(8)
    t = np.arange(25 * 25, dtype=np.float64).reshape(25, 25) / (25 * 25 - 1)
    g16 = np.round(65535 * t ** 4) + rng.integers(0, 64, size=(25, 25))
    g16 = np.clip(g16, 0, 65535).astype(np.uint16)
    g16[0, 0], g16[-1, -1], g16[0, 1] = 0, 65535, 255
    g16[0, 2] = 256
    write_png16(IMG_DIR / "grey16_25x25.png", g16)
    info["grey16_25x25.png"] = {}

    save("tiny_1x1.png", Image.new("RGB", (1, 1), (200, 30, 90)), **png)
    save("wide_1000x10.png", Image.fromarray(rgb_pattern(1000, 10, 9, centered_noise=True), "RGB"), **png)
    save("tall_9x700.png", Image.fromarray(rgb_pattern(9, 700, 10, centered_noise=True), "RGB"), **png)

    save("baseline_120x90.jpg", Image.fromarray(rgb_pattern(120, 90, 11, noise_frac=0.06), "RGB"),
         quality=90, subsampling=2, progressive=False, optimize=False)  # 4:2:0
    save("progressive_130x97.jpg", Image.fromarray(rgb_pattern(130, 97, 12, noise_frac=0.06), "RGB"),
         quality=90, subsampling=1, progressive=True, optimize=False)  # 4:2:2, progressive
    save("grey_64x64.jpg", Image.fromarray(grey_pattern(64, 64, 13), "L"), quality=90)
    save("bmp_31x17.bmp", Image.fromarray(rgb_pattern(31, 17, 14), "RGB"))  # 24-bit BMP

    gif = Image.fromarray(palette_pattern(20, 20, 15, 16), "P")
    pal = smooth_palette(16)
    gif.putpalette([c for i in reversed(range(16)) for c in pal[3 * i:3 * i + 3]])
    save("gif_20x20.gif", gif, optimize=False)
    return info


SYNTHETIC_ORDER = [
    "rgb_37x23.png", "rgb_50x49.png", "grey_50x70.png", "grey_alpha_40x30.png", "rgba_64x48.png",
    "palette_33x33.png", "palette_transparent_20x20.png", "rgb16_20x30.png", "grey16_25x25.png",
    "tiny_1x1.png", "wide_1000x10.png", "tall_9x700.png", "baseline_120x90.jpg",
    "progressive_130x97.jpg", "grey_64x64.jpg", "bmp_31x17.bmp", "gif_20x20.gif",
]
DECODED = ["baseline_120x90.jpg", "progressive_130x97.jpg", "grey_64x64.jpg", "gif_20x20.gif"]
SHARED_TIMM = ["tench.jpg", "magpie.jpeg", "cheetah.jpg", "panda.jpeg", "apple.jpg", "both.png",
               "dogbird.png", "plane.png"]
SHARED_HF_VIT = ["both.png", "tench.jpg"]


def open_rgb(path: Path):
    """Image.open + convert("RGB"), as timm/HF users do.  Returns (rgb, mode, size, im)."""
    im = Image.open(path)
    mode, size = im.mode, im.size
    with warnings.catch_warnings():
        # P + tRNS bytes -> RGB warns ("should be converted to RGBA"); the result is well defined
        warnings.simplefilter("ignore", UserWarning)
        rgb = im.convert("RGB")
    return rgb, mode, size, im


def save_png(im: Image.Image, path: Path):
    im.save(path, optimize=True)


# =============================================================================================
# Verification against the real libraries
# =============================================================================================


def check_numpy_resize(rgb: Image.Image, w: int, h: int, resample: int, tag: str, stats: dict):
    arr = np.asarray(rgb)
    ref = np.asarray(rgb.resize((w, h), resample))
    got = pil_resize_numpy(arr, w, h, resample)
    if not np.array_equal(ref, got):
        diff = np.abs(ref.astype(int) - got.astype(int))
        raise AssertionError(f"numpy resize != PIL for {tag} -> {w}x{h} r={resample}: "
                             f"{(diff > 0).sum()} px differ, max {diff.max()}")
    stats["cases"] += 1
    stats["pixels"] += ref.size
    stats["vertical_first"] += int(not pil_horizontal_first(arr.shape[1], arr.shape[0], w, h))


def random_resize_checks(stats: dict):
    """Random sizes, up and down, both filters, RGB and L, incl. vertical-first cases."""
    rng = np.random.default_rng(1234)
    shapes = [(int(rng.integers(1, 120)), int(rng.integers(1, 120))) for _ in range(24)]
    shapes += [(300, 17), (13, 400), (640, 480), (97, 1203), (5, 5), (2, 1)]
    order_matters = 0
    for i, (w, h) in enumerate(shapes):
        arr = rng.integers(0, 256, size=(h, w, 3)).astype(np.uint8)
        # smooth half of the cases so both noise and gradients are covered
        if i % 2:
            arr = rgb_pattern(w, h, 100 + i)
        im = Image.fromarray(arr, "RGB")
        for _ in range(3):
            ow = int(rng.integers(1, 2 * w + 40))
            oh = int(rng.integers(1, 2 * h + 40))
            for resample in (BILINEAR, BICUBIC):
                check_numpy_resize(im, ow, oh, resample, f"random {w}x{h}", stats)
        # explicit vertical-first shapes: height shrinks a lot, width grows or stays
        for (ow, oh) in [(w + 3, max(1, h // 5)), (w, max(1, h // 3)), (max(1, w // 2), max(1, h // 7))]:
            for resample in (BILINEAR, BICUBIC):
                check_numpy_resize(im, ow, oh, resample, f"vfirst {w}x{h}", stats)
                a = pil_resize_numpy(arr, ow, oh, resample)
                b = pil_resize_numpy(arr, ow, oh, resample, pillow13_pass_order=False)
                order_matters += int(not np.array_equal(a, b))
        # grey (mode L)
        g = Image.fromarray(arr[:, :, 1], "L")
        for resample in (BILINEAR, BICUBIC):
            ow, oh = int(rng.integers(1, 2 * w + 40)), int(rng.integers(1, 2 * h + 40))
            ref = np.asarray(g.resize((ow, oh), resample))
            assert np.array_equal(ref, pil_resize_numpy(arr[:, :, 1], ow, oh, resample)), "L mode"
            stats["cases"] += 1
    stats["pass_order_changed_result"] = order_matters


def verify_timm(rgb_images: dict, notes: dict):
    import timm
    import timm.data
    import torch
    from torchvision.transforms import functional as TF

    model = timm.create_model("deit_tiny_patch16_224", pretrained=False)
    cfg = timm.data.resolve_data_config({}, model=model)
    tf = timm.data.create_transform(**cfg)
    assert abs(cfg["crop_pct"] - TIMM_CROP_PCT) < 1e-12, cfg
    assert cfg["interpolation"] == "bicubic" and cfg["crop_mode"] == "center", cfg
    resize_t, crop_t = tf.transforms[0], tf.transforms[1]
    assert type(resize_t).__name__ == "Resize" and resize_t.size == TIMM_SCALE, resize_t
    assert type(crop_t).__name__ == "CenterCrop" and tuple(crop_t.size) == (224, 224), crop_t
    mean = torch.tensor(cfg["mean"]).view(3, 1, 1)
    std = torch.tensor(cfg["std"]).view(3, 1, 1)
    n = 0
    for key, (rgb, expected) in rgb_images.items():
        u8 = crop_t(resize_t(rgb))  # the uint8 (PIL) stage of timm's transform
        assert np.array_equal(np.asarray(u8), expected), f"timm uint8 stage differs for {key}"
        full = tf(rgb)
        mine = (TF.to_tensor(Image.fromarray(expected)) - mean) / std
        assert torch.equal(full, mine), f"timm tensor differs for {key}"
        n += 1
    # what torchvision CenterCrop does when the image is smaller than the crop (cannot happen
    # for timm's eval transform here, since the short side is resized to 248 first)
    small = Image.fromarray(np.full((100, 201, 3), 200, np.uint8))
    out = np.asarray(crop_t(small))
    rows = np.where(out[:, 100, 0] == 200)[0]
    cols = np.where(out[100, :, 0] == 200)[0]
    notes["timm"] = {
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
        "transform": repr(tf).replace("\n", " "),
        "semantics": (
            "timm.data.create_transform(**resolve_data_config({}, model=deit_tiny_patch16_224)) = "
            "Compose(Resize(248, bicubic), CenterCrop(224), MaybeToTensor, Normalize(mean, std)). "
            "crop_pct is 0.9 for deit_tiny_patch16_224 (timm/models/deit.py _cfg), so the resize "
            "target is floor(224/0.9) = 248, not 256 (timm's DEFAULT_CROP_PCT 0.875 would give 256). "
            "torchvision Resize(int) on a PIL image: short side -> 248, long side -> "
            "int(248 * long / short) (Python true division, truncation); if the size is unchanged "
            "the image is returned as is; otherwise PIL Image.resize(size, BICUBIC) (antialias is "
            "implicit for PIL). CenterCrop: top = int(round((H - 224) / 2.0)), left = "
            "int(round((W - 224) / 2.0)) with Python's round-half-to-even (61.5 -> 62, 14.5 -> 14, "
            "19.5 -> 20). Then to_tensor (uint8 / 255 in float32) and (x - mean) / std."),
        "image_smaller_than_crop": (
            "torchvision CenterCrop pads first with zeros: left = (224 - W) // 2, top = (224 - H) // 2, "
            "right = (224 - W + 1) // 2, bottom = (224 - H + 1) // 2 (only on the too-small axis), "
            "then crops with the rounding above. Checked: a 201x100 image gives content at rows "
            f"{int(rows.min())}..{int(rows.max())} and columns {int(cols.min())}..{int(cols.max())} "
            "of the 224x224 output. Cannot happen in this pipeline (short side becomes 248)."),
        "verified_images": n,
        "verified": "uint8 stage (Resize+CenterCrop) identical and final tensor torch.equal to "
                    "(to_tensor(expected png) - mean) / std, for every timm entry",
    }
    assert rows.min() == 62 and rows.max() == 161 and cols.min() == 11 and cols.max() == 211


def verify_hf(hf_images: dict, notes: dict):
    import transformers
    from transformers import DeiTImageProcessorPil, ViTImageProcessorPil
    from transformers.image_transforms import center_crop
    from transformers.image_utils import ChannelDimension

    # center_crop offsets: an odd margin tells floor division from any rounding of x.5
    probe = np.arange(257 * 255, dtype=np.float32).reshape(1, 257, 255)
    cropped = center_crop(probe, (224, 224), data_format=ChannelDimension.FIRST,
                          input_data_format=ChannelDimension.FIRST)
    top, left = divmod(int(cropped[0, 0, 0]), 255)
    assert (top, left) == ((257 - 224) // 2, (255 - 224) // 2) == (16, 15), (top, left)

    vit = ViTImageProcessorPil()
    deit = DeiTImageProcessorPil()
    assert vit.resample == BILINEAR and (vit.size.height, vit.size.width) == (224, 224)
    assert not getattr(vit, "do_center_crop", False)
    assert deit.resample == BICUBIC and (deit.size.height, deit.size.width) == (256, 256)
    assert (deit.crop_size.height, deit.crop_size.width) == (224, 224) and deit.do_center_crop
    maxdiff = {"hf_vit": 0.0, "hf_deit": 0.0}
    n = {"hf_vit": 0, "hf_deit": 0}
    for (key, pipe), (rgb, expected) in hf_images.items():
        proc = vit if pipe == "hf_vit" else deit
        got = proc(rgb, return_tensors="np")["pixel_values"][0]  # [3, 224, 224] float32
        mean = np.array(proc.image_mean, np.float32).reshape(3, 1, 1)
        std = np.array(proc.image_std, np.float32).reshape(3, 1, 1)
        ref = (np.transpose(expected, (2, 0, 1)).astype(np.float64) / 255.0 - mean) / std
        d = float(np.abs(got.astype(np.float64) - ref).max())
        assert d < 2e-6, f"{pipe} {key}: {d}"
        maxdiff[pipe] = max(maxdiff[pipe], d)
        n[pipe] += 1
    # informative: the default ViTImageProcessor in transformers 5 is the torchvision backend
    fast_diff = None
    try:
        from transformers import ViTImageProcessor
        any_key = next(k for k in hf_images if k[1] == "hf_vit")
        rgb, expected = hf_images[any_key]
        fast = ViTImageProcessor()(rgb, return_tensors="np")["pixel_values"][0]
        ref = (np.transpose(expected, (2, 0, 1)).astype(np.float64) / 255.0 - 0.5) / 0.5
        fast_diff = [any_key[0], float(np.abs(fast - ref).max()) * 127.5]
    except Exception as e:  # pragma: no cover - informative only
        fast_diff = f"not checked: {e!r}"
    notes["hf"] = {
        "transformers": transformers.__version__,
        "processors": "transformers 5.x: ViTImageProcessor / DeiTImageProcessor are the torchvision "
                      "backend; the PIL ('slow') ones are ViTImageProcessorPil / DeiTImageProcessorPil "
                      "(used here).",
        "hf_vit": "ViTImageProcessorPil: image -> np.array -> PIL.Image.resize((224, 224), BILINEAR, "
                  "reducing_gap=None) -> x * (1/255) in float64 -> float32 -> (x - 0.5) / 0.5. No crop.",
        "hf_deit": "DeiTImageProcessorPil: PIL.Image.resize((256, 256), BICUBIC) -> "
                   "transformers.image_transforms.center_crop: top = (H - 224) // 2, "
                   "left = (W - 224) // 2, floor division (checked on a 255x257 array: top 16, "
                   "left 15, where torchvision's round(15.5) would give 16); = 16, 16 for the "
                   "256x256 resize. If the image is smaller it zero-pads with ceil((224 - H) / 2) "
                   "in front (torchvision pads (224 - H) // 2). -> rescale -> normalize.",
        "do_convert_rgb": "None by default: the processors do NOT convert; an RGBA input would keep 4 "
                          "channels. If do_convert_rgb=True, transformers' convert_to_rgb COMPOSITES "
                          "alpha (and P/L transparency) onto a white background, unlike "
                          "PIL convert('RGB') which drops alpha. load_image() applies "
                          "ImageOps.exif_transpose then convert('RGB').",
        "max_abs_diff_vs_(png/255-mean)/std": maxdiff,
        "verified_images": n,
        "torchvision_backend_ViTImageProcessor_max_diff_in_uint8_units": fast_diff,
    }


# =============================================================================================
# PIL behaviour notes (measured)
# =============================================================================================


def pil_behaviour_notes(shared_dir: Path | None):
    out = {}
    # LA / RGBA
    la = Image.fromarray(np.array([[[10, 0], [200, 128]]], np.uint8), "LA").convert("RGB")
    rgba = Image.fromarray(np.array([[[10, 20, 30, 0], [200, 100, 50, 128]]], np.uint8), "RGBA")
    assert np.asarray(la).tolist() == [[[10, 10, 10], [200, 200, 200]]]
    assert np.asarray(rgba.convert("RGB")).tolist() == [[[10, 20, 30], [200, 100, 50]]]
    out["LA->RGB"] = "R = G = B = L; alpha dropped (no compositing). Tested: (10, a=0) -> (10,10,10)."
    out["RGBA->RGB"] = ("R, G, B copied, alpha dropped (no compositing, no premultiplication). "
                        "Tested: (10,20,30,a=0) -> (10,20,30).")
    out["L->RGB"] = "R = G = B = L."
    # P with tRNS
    im = Image.open(IMG_DIR / "palette_transparent_20x20.png")
    assert im.mode == "P" and isinstance(im.info.get("transparency"), bytes)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        rgb = np.asarray(im.convert("RGB"))
    pal = np.array(im.getpalette(), np.uint8).reshape(-1, 3)
    assert np.array_equal(rgb, pal[np.asarray(im)])
    out["P+tRNS->RGB"] = ("RGB = palette[index]; the tRNS alpha is ignored (no compositing). "
                          "Pillow emits UserWarning '" + (str(w[0].message) if w else "") + "'.")
    out["P->RGB"] = "RGB = palette[index]."
    # 16-bit RGB
    im = Image.open(IMG_DIR / "rgb16_20x30.png")
    args = im.tile[0].args
    rawmode = args if isinstance(args, str) else args[0]
    raw = _read_png16(IMG_DIR / "rgb16_20x30.png")
    assert im.mode == "RGB", im.mode
    assert np.array_equal(np.asarray(im), (raw >> 8).astype(np.uint8))
    out["RGB16"] = (f"Image.open gives mode 'RGB' (8-bit; tile rawmode {rawmode!r}): "
                    "each sample is v16 >> 8, the HIGH (first, big-endian) byte; no rounding "
                    "(0x12FF -> 0x12). stb_image's 8-bit load also does v >> 8: same result.")
    # 16-bit grey
    im = Image.open(IMG_DIR / "grey16_25x25.png")
    raw = _read_png16(IMG_DIR / "grey16_25x25.png")
    assert im.mode == "I;16", im.mode
    assert np.array_equal(np.asarray(im), raw)
    rgb = np.asarray(im.convert("RGB"))
    assert np.array_equal(rgb[..., 0], np.minimum(raw, 255).astype(np.uint8))
    probe = Image.fromarray(np.array([[0, 1, 200, 255, 256, 257, 511, 4660, 65535]], np.uint16))
    probe_rgb = np.asarray(probe.convert("RGB"))[0, :, 0].tolist()
    frac = float((raw < 256).mean())
    out["GREY16"] = (
        "Image.open gives mode 'I;16' (values 0..65535 kept). convert('RGB') CLIPS: "
        "R = G = B = min(v, 255) (libImaging Convert.c I16_RGB: high byte != 0 -> 255), it does NOT "
        f"scale by 1/256. Tested [0,1,200,255,256,257,511,4660,65535] -> {probe_rgb}. "
        f"In grey16_25x25.png {frac:.0%} of the pixels are < 256; the rest become 255. "
        "stb_image's 8-bit load gives v >> 8 instead: the C++ side must clip the 16-bit value "
        "(stbi_load_16 + min(v, 255)) to match PIL, or document the difference.")
    # EXIF
    exif_note = "Image.open never applies EXIF orientation (only ImageOps.exif_transpose does; "
    exif_note += "timm does not call it, HF load_image() does)."
    if shared_dir is not None and (shared_dir / "images" / "tench.jpg").exists():
        t = Image.open(shared_dir / "images" / "tench.jpg")
        ex = t.getexif()
        exif_note += (f" tench.jpg: has an EXIF block ({len(t.info.get('exif', b''))} bytes), "
                      f"Orientation tag (0x0112) = {ex.get(0x0112)!r} (absent), so exif_transpose "
                      f"is a no-op for it; size {t.size}.")
        assert ex.get(0x0112) in (None, 1)
        assert ImageOps.exif_transpose(t).size == t.size
    # EXIF orientation is ignored by open: build a tiny JPEG with orientation 6 and check
    exif = Image.Exif()
    exif[0x0112] = 6
    b = io.BytesIO()
    Image.new("RGB", (8, 4), (10, 20, 30)).save(b, "JPEG", exif=exif.tobytes())
    b.seek(0)
    o = Image.open(b)
    assert o.size == (8, 4) and o.getexif().get(0x0112) == 6
    assert ImageOps.exif_transpose(o).size == (4, 8)
    out["EXIF"] = exif_note + " Tested: an 8x4 JPEG with Orientation=6 opens as 8x4."
    # draft / DCT scaling
    for name in ("baseline_120x90.jpg", "progressive_130x97.jpg", "grey_64x64.jpg"):
        j = Image.open(IMG_DIR / name)
        size = j.size
        j.load()
        assert j.size == size and not j.decoderconfig, (name, j.decoderconfig)
    out["JPEG_draft"] = (
        "No draft mode / DCT scaling: Image.open + convert + resize decode at full size "
        "(decoderconfig stays empty; only Image.draft() and Image.thumbnail() use it). "
        "torchvision Resize calls Image.resize(size, filter) with reducing_gap=None, HF's resize "
        "passes reducing_gap=None, so no Image.reduce() step either.")
    return out


def _read_png16(path: Path) -> np.ndarray:
    """Tiny reader for the files written by write_png16 (filter 0, one IDAT)."""
    data = path.read_bytes()
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        tag = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if tag == b"IHDR":
            w, h, depth, ct = struct.unpack(">IIBB", body[:10])
            ch = 3 if ct == 2 else 1
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = 1 + w * ch * 2
    rows = [np.frombuffer(raw[r * stride + 1:(r + 1) * stride], ">u2") for r in range(h)]
    arr = np.stack(rows).astype(np.uint16)
    return arr.reshape(h, w, ch) if ch == 3 else arr.reshape(h, w)


# =============================================================================================
# Main
# =============================================================================================


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared-dir", default=str(REPO.parent / "shared"),
                    help="directory holding images/ with the sample photographs (default ../shared)")
    ap.add_argument("--skip-shared", action="store_true",
                    help="run without the shared photographs: their existing expected PNGs and "
                         "manifest entries are kept as they are")
    args = ap.parse_args()
    shared_dir = Path(args.shared_dir)
    kept_entries = []
    if not (shared_dir / "images").is_dir():
        if not args.skip_shared:
            sys.exit(f"error: {shared_dir}/images not found (pass --shared-dir, or --skip-shared to "
                     "keep the existing shared-photo outputs)")
        shared_dir = None
    if shared_dir is None or args.skip_shared:
        shared_dir = None
        old = PIL_DIR / "manifest.json"
        if old.exists():
            kept_entries = [e for e in json.loads(old.read_text())["entries"]
                            if e["image"].startswith("shared:")]

    make_synthetic_images()
    PIL_DIR.mkdir(parents=True, exist_ok=True)
    # remove stale outputs of this script (only files it owns)
    keep = {e["expected"] for e in kept_entries}
    for f in PIL_DIR.glob("*.png"):
        if str(f.relative_to(DATA)) not in keep:
            f.unlink()

    entries = []
    timm_inputs = {}
    hf_inputs = {}
    stats = {"cases": 0, "pixels": 0, "vertical_first": 0}

    def process(key, path, pipelines, rel_image):
        rgb, mode, size, _ = open_rgb(path)
        stem = Path(key).stem
        for pipe in pipelines:
            resized, cropped, rsize, box = run_pipeline_pil(pipe, rgb)
            expected = np.asarray(cropped)
            assert expected.shape == (224, 224, 3)
            # numpy port must agree bit-exactly with PIL on the resize stage
            check_numpy_resize(rgb, rsize[0], rsize[1], PIPELINES[pipe][0], key, stats)
            out = PIL_DIR / f"{stem}.{pipe}.png"
            save_png(cropped, out)
            entries.append({
                "image": rel_image, "pipeline": pipe,
                "expected": str(out.relative_to(DATA)),
                "source_mode": mode, "source_size": list(size),
                "resized_size": list(rsize),
                "crop_box": list(box),  # [left, top, right, bottom] in the resized image
                "resample": "bicubic" if PIPELINES[pipe][0] == BICUBIC else "bilinear",
                "horizontal_pass_first": pil_horizontal_first(size[0], size[1], *rsize),
            })
            if pipe == "timm":
                timm_inputs[key] = (rgb, expected)
            else:
                hf_inputs[(key, pipe)] = (rgb, expected)
        return rgb, mode, size

    for name in SYNTHETIC_ORDER:
        rgb, mode, size = process(name, IMG_DIR / name, ["timm", "hf_vit", "hf_deit"],
                                  f"images/{name}")
        if name in DECODED:
            out = PIL_DIR / f"{Path(name).stem}.decoded.png"
            save_png(rgb, out)
            entries.append({
                "image": f"images/{name}", "pipeline": "decoded",
                "expected": str(out.relative_to(DATA)),
                "source_mode": mode, "source_size": list(size), "resized_size": list(size),
                "crop_box": [0, 0, size[0], size[1]], "resample": None,
                "horizontal_pass_first": None,
            })
    if shared_dir is not None:
        for name in SHARED_TIMM:
            pipes = ["timm"] + (["hf_vit"] if name in SHARED_HF_VIT else [])
            process(name, shared_dir / "images" / name, pipes, f"shared:images/{name}")
    else:
        entries.extend(kept_entries)

    # the numpy port also on random sizes (upscaling, downscaling, vertical-first, L mode)
    random_resize_checks(stats)
    # and on every synthetic image to a few odd sizes (both filters)
    for name in SYNTHETIC_ORDER:
        rgb, _, _, _ = open_rgb(IMG_DIR / name)
        w, h = rgb.size
        for ow, oh in [(max(1, w // 3), max(1, h // 2)), (w * 3 + 1, h * 2 + 3), (17, 29)]:
            for r in (BILINEAR, BICUBIC):
                check_numpy_resize(rgb, ow, oh, r, name, stats)

    notes = {}
    verify_timm(timm_inputs, notes)
    verify_hf(hf_inputs, notes)
    notes["pil"] = pil_behaviour_notes(shared_dir)

    import timm
    import torch
    import torchvision
    import transformers
    notes["versions"] = {
        "python": sys.version.split()[0], "Pillow": Image.__version__, "numpy": np.__version__,
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "timm": timm.__version__, "transformers": transformers.__version__,
        "libjpeg": (("libjpeg-turbo " if features.check_feature("libjpeg_turbo") else "libjpeg ")
                    + str(features.version("jpg"))),
        "zlib": features.version("zlib"),
    }
    notes["pil_resize"] = {
        "source": "Pillow 13.0.0 sdist from PyPI (pillow-13.0.0.tar.gz), src/libImaging/Resample.c "
                  "and src/PIL/Image.py (Image.resize). Pre-13 pass order checked against "
                  "python-pillow/Pillow's older Resample.c (always horizontal first).",
        "precision_bits": PRECISION_BITS,
        "coefficients": "double weights w = filter((x + xmin - center + 0.5) * (1/filterscale)), "
                        "divided by their sequential sum, then int32 = round half away from zero "
                        "(k*2^22 + 0.5 truncated, or k*2^22 - 0.5 truncated if k < 0)",
        "accumulate": "int32 ss = (1 << 21) + sum(pixel_u8 * coeff); out = clamp(ss >> 22, 0, 255)",
        "passes": "two separable passes with a uint8 intermediate. Pillow 13: horizontal first unless "
                  "(inH - outH) > 0 && (inH - outH) > 2 * (inW - outW); a pass is skipped when that "
                  "dimension is unchanged; same size -> plain copy. Pillow < 13 always horizontal first.",
        "per_axis": "scale = in/out; filterscale = max(scale, 1); support = filter_support * filterscale; "
                    "ksize = ceil(support) * 2 + 1; center = (i + 0.5) * scale; "
                    "xmin = max(int(center - support + 0.5), 0); xmax = min(int(center + support + 0.5), in) "
                    "(C truncation)",
        "filters": "bilinear: 1 - |x| on |x| < 1 (support 1); bicubic: a = -0.5, "
                   "|x|<1: ((a+2)|x| - (a+3))|x|^2 + 1, |x|<2: (((|x|-5)|x| + 8)|x| - 4) a (support 2)",
        "numpy_port_agreement": {
            "resize_cases_checked": stats["cases"],
            "output_samples_compared": stats["pixels"],
            "vertical_first_cases": stats["vertical_first"],
            "random_cases_where_pre13_pass_order_gives_a_different_result":
                stats["pass_order_changed_result"],
            "result": "bit-exact (every case np.array_equal to PIL.Image.resize)",
        },
    }
    notes["pipelines"] = {k: v[1] for k, v in PIPELINES.items()}
    notes["stb_image_vs_pil"] = (
        "Measured once by hand (not by this script) with Debian libstb-dev 0.0~git20220908 "
        "(stb_image v2.27), stbi_load(path, &w, &h, &n, 3) vs np.asarray(Image.open(p).convert('RGB')): "
        "identical for every PNG (8-bit L/LA/RGB/RGBA/P/P+tRNS, 16-bit RGB), the BMP and the GIF; "
        "grey16_25x25.png differs (stb v >> 8, PIL min(v, 255)); JPEGs differ slightly "
        "(libjpeg-turbo vs stb IDCT/chroma upsampling): baseline 4:2:0 max 3, grey max 1, "
        "progressive 4:2:2 max 19 at the saturated checker edges (mean 0.16); shared photos max 2-3. "
        "After the timm resize the JPEG differences are max 1-3 uint8 levels.")
    notes["decoded"] = ("<stem>.decoded.png = np.asarray(Image.open(p).convert('RGB')) at full size for "
                        "the synthetic JPEGs and the GIF (PIL uses libjpeg-turbo; stb_image's JPEG "
                        "IDCT/upsampling differ by small amounts).")
    notes["rgb_50x49"] = ("extra image (not in the original list): timm resize gives 253x248, "
                          "left = int(round(14.5)) = 14 (half to even), pinning the rounding; "
                          "grey_50x70 (61.5 -> 62), magpie (19.5 -> 20), panda (89.5 -> 90) cover "
                          "the other parity.")

    manifest = {"notes": notes, "entries": entries}
    # notes pretty-printed, one line per entry (keeps the file small and diff-friendly)
    text = ('{\n "notes": ' + json.dumps(notes, indent=1).replace("\n", "\n ") + ',\n "entries": [\n  '
            + ",\n  ".join(json.dumps(e) for e in entries) + "\n ]\n}\n")
    assert json.loads(text) == manifest
    (PIL_DIR / "manifest.json").write_text(text)

    total = sum(f.stat().st_size for d in (IMG_DIR, PIL_DIR) for f in d.iterdir())
    print(f"{len(entries)} entries; numpy resize bit-exact on {stats['cases']} cases; "
          f"images + pil = {total} bytes")
    assert total < 1.8e6, total


if __name__ == "__main__":
    main()
