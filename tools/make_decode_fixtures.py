#!/usr/bin/env python3
"""Generate the decoder fixtures in tests/data/decode/: CMYK / YCCK JPEGs and EXIF orientation.

Usage:  python3 tools/make_decode_fixtures.py [--out-dir tests/data/decode]

Needs Pillow and numpy (see manifest.json for the versions used) and the TurboJPEG shared library
(libturbojpeg.so.0, Debian/Ubuntu package libturbojpeg0; override the path with $TURBOJPEG_LIB), used
through ctypes to write the YCCK file (Pillow cannot write YCCK) and to cross-check the expected
images. No C compiler is needed. Every claim below is asserted while generating.

What it makes (all images synthetic and deterministic; every expected image is an 8-bit RGB PNG)
----------------------------------------------------------------------------------------------
cmyk_adobe_40x30.jpg      CMYK image (C: x gradient, M: y gradient, Y: gradient + 4x4 checker,
                          K: 0 | y ramp | 200 | 255/128 in four 10-column bands) saved by Pillow as
                          JPEG quality 95. Pillow writes 4-component CMYK (not YCCK), 1x1 sampling, with an
                          Adobe APP14 marker, transform 0, storing inverted ("Adobe") CMYK bytes.
cmyk_noadobe_40x30.jpg    the same file with the APP14 segment removed. Pillow still inverts (see below),
                          so its expected image is cmyk_adobe_40x30.expected.png (asserted identical).
ycck_40x30.jpg            the same CMYK image, inverted to Adobe polarity, written by TurboJPEG
                          tjCompress2(TJPF_CMYK, TJSAMP_420, quality 95): a YCCK JPEG (Adobe transform 2,
                          sampling Y 2x2, Cb/Cr 1x1, K 2x2). Pillow opens it as mode CMYK.
*.expected.png            Image.open(p).convert("RGB").

exif_orientation_N.jpg    N = 1..8: one asymmetric 24x16 RGB image (R rises with x, G with y, a red 6x4
                          patch at the top-left, a white dot near the top-right), JPEG quality 100,
                          subsampling 4:4:4, with an EXIF APP1 holding only Orientation=N (Pillow's
                          Image.Exif() writes a big-endian "MM" TIFF header). Only the APP1 differs
                          between the eight files (asserted), so the un-oriented decode is the same for
                          all: exif_orientation.plain.png = Image.open(p).convert("RGB") (what PIL and
                          timm give by default: neither open() nor convert() applies the orientation).
exif_orientation_N.expected.png = ImageOps.exif_transpose(Image.open(p)).convert("RGB"). Sizes: 24x16
                          for N = 1..4, 16x24 for N = 5..8.
exif_orientation_6_le.jpg the orientation-6 image with a little-endian ("II") EXIF header (extra).
exif_orientation_9.jpg    an invalid orientation value 9 (extra): exif_transpose leaves it unchanged.
exif_orientation_6.png    the 24x16 image itself (lossless) as PNG with an eXIf chunk (before IDAT) holding
                          Orientation=6. Pillow's exif_transpose DOES honour PNG eXIf (PngImagePlugin
                          chunk_eXIf -> info["exif"]); its plain decode is exif_orientation_png.plain.png.
manifest.json             every file, its expected (and plain) PNG, versions, verified notes.

Pillow semantics (read in the Pillow 13.0.0 sdist; see manifest "notes")
------------------------------------------------------------------------
* JpegImagePlugin: 4 components -> mode "CMYK", rawmode ALWAYS "CMYK;I" ("assume adobe conventions");
  the Adobe APP14 marker and its transform flag are only recorded in info, never consulted. libjpeg
  is asked for out_color_space JCS_CMYK and itself converts YCCK (Adobe transform 2) to CMYK.
  "CMYK;I" inverts all four bytes: PIL's C = 255 - c, ..., K = 255 - k for the decoder's bytes c,m,y,k.
* Convert.c cmyk2rgb: nk = 255 - K; R = CLIP8(nk - MULDIV255(C, nk)) (G, B likewise with M, Y), with
  MULDIV255(a, b) = (t = a*b + 128, ((t >> 8) + t) >> 8). In the decoder's raw bytes this is exactly
  R = MULDIV255(c, k) (asserted for all 256x256 pairs); the system TurboJPEG's tjDecompress2(TJPF_CMYK)
  bytes run through that formula are asserted to equal every CMYK expected PNG.
* ImageOps.exif_transpose: orientation = getexif().get(0x0112, 1); 2 FLIP_LEFT_RIGHT, 3 ROTATE_180,
  4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270 (= 90 degrees clockwise), 7 TRANSVERSE, 8 ROTATE_90
  (counter-clockwise); any other value (1, missing, 0, 9, ...) -> unchanged copy. The numpy equivalents
  in ORIENTATION_NUMPY are asserted.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import hashlib
import io
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageOps, features

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "data" / "decode"

ORIENTATION_TAG = 0x0112

# Orientation -> (Pillow Image.Transpose used by exif_transpose, numpy equivalent on a[y, x, c]).
ORIENTATION_NUMPY = {
    1: ("none", lambda a: a),
    2: ("FLIP_LEFT_RIGHT", lambda a: a[:, ::-1]),
    3: ("ROTATE_180", lambda a: a[::-1, ::-1]),
    4: ("FLIP_TOP_BOTTOM", lambda a: a[::-1, :]),
    5: ("TRANSPOSE", lambda a: a.transpose(1, 0, 2)),  # out[i, j] = a[j, i]
    6: ("ROTATE_270", lambda a: np.rot90(a, -1)),  # 90 deg clockwise: out[i, j] = a[H-1-j, i]
    7: ("TRANSVERSE", lambda a: np.rot90(a, 2).transpose(1, 0, 2)),  # out[i, j] = a[H-1-j, W-1-i]
    8: ("ROTATE_90", lambda a: np.rot90(a, 1)),  # 90 deg counter-clockwise: out[i, j] = a[j, W-1-i]
}

# ---------------------------------------------------------------------------------------------
# Minimal JPEG / PNG structure readers (to assert what the files contain)
# ---------------------------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of every marker segment from SOI up to and including SOS; start..end
    spans the whole segment (0xFF, marker, length, payload)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    out = []
    pos = 2
    while True:
        assert data[pos] == 0xFF, f"marker expected at {pos}"
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        out.append((marker, pos, pos + 2 + length))
        pos += 2 + length
        if marker == 0xDA:
            return out


def jpeg_payloads(data: bytes, marker: int) -> list[bytes]:
    return [data[s + 4 : e] for m, s, e in jpeg_segments(data) if m == marker]


def jpeg_without(data: bytes, marker: int, prefix: bytes) -> bytes:
    """data with every `marker` segment whose payload starts with `prefix` removed."""
    keep = bytearray(data[:2])
    segs = jpeg_segments(data)
    for m, s, e in segs:
        if not (m == marker and data[s + 4 : e].startswith(prefix)):
            keep += data[s:e]
    keep += data[segs[-1][2] :]
    return bytes(keep)


def adobe_transform(data: bytes) -> int | None:
    apps = [p for p in jpeg_payloads(data, 0xEE) if p.startswith(b"Adobe")]
    assert len(apps) <= 1
    return apps[0][11] if apps else None


def sof_sampling(data: bytes) -> list[tuple[int, int, int]]:
    """(component id, h, v) from the SOF0/1/2 segment."""
    sofs = [p for m in (0xC0, 0xC1, 0xC2) for p in jpeg_payloads(data, m)]
    assert len(sofs) == 1
    p = sofs[0]
    n = p[5]
    return [(p[6 + 3 * i], p[7 + 3 * i] >> 4, p[7 + 3 * i] & 15) for i in range(n)]


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, out = 8, []
    while pos < len(data):
        n = struct.unpack(">I", data[pos : pos + 4])[0]
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0] == zlib.crc32(ctype + body)
        out.append((ctype, body))
        pos += 12 + n
    return out


def tiff_orientation(tiff: bytes) -> int | None:
    """Orientation from IFD0 of a TIFF/EXIF blob (no "Exif\\0\\0" prefix)."""
    e = {b"II": "<", b"MM": ">"}[tiff[:2]]
    assert struct.unpack(e + "H", tiff[2:4])[0] == 42
    ifd = struct.unpack(e + "I", tiff[4:8])[0]
    (count,) = struct.unpack(e + "H", tiff[ifd : ifd + 2])
    for i in range(count):
        tag, typ, cnt = struct.unpack(e + "HHI", tiff[ifd + 2 + 12 * i : ifd + 10 + 12 * i])
        if tag == ORIENTATION_TAG:
            assert typ == 3 and cnt == 1  # SHORT, value in the first 2 bytes of the value field
            return struct.unpack(e + "H", tiff[ifd + 10 + 12 * i : ifd + 12 + 12 * i])[0]
    return None


# ---------------------------------------------------------------------------------------------
# TurboJPEG through ctypes (TurboJPEG 2.x API, also exported by 3.x)
# ---------------------------------------------------------------------------------------------

TJPF_RGB, TJPF_CMYK = 0, 11
TJSAMP_420 = 2
TJCS_CMYK, TJCS_YCCK = 3, 4


class TurboJPEG:
    def __init__(self) -> None:
        path = os.environ.get("TURBOJPEG_LIB") or ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0"
        self.path = path
        lib = ctypes.CDLL(path)
        lib.tjInitCompress.restype = ctypes.c_void_p
        lib.tjInitDecompress.restype = ctypes.c_void_p
        lib.tjDestroy.argtypes = [ctypes.c_void_p]
        lib.tjGetErrorStr2.argtypes = [ctypes.c_void_p]
        lib.tjGetErrorStr2.restype = ctypes.c_char_p
        lib.tjFree.argtypes = [ctypes.c_void_p]
        lib.tjCompress2.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_ulong), ctypes.c_int, ctypes.c_int,
            ctypes.c_int,
        ]  # fmt: skip
        lib.tjDecompressHeader3.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong,
            *([ctypes.POINTER(ctypes.c_int)] * 4),
        ]  # fmt: skip
        lib.tjDecompress2.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
            ctypes.c_int, ctypes.c_int, ctypes.c_int,
        ]  # fmt: skip
        self.lib = lib

    def _check(self, handle: int, rc: int, what: str) -> None:
        if rc != 0:
            raise RuntimeError(f"{what}: {self.lib.tjGetErrorStr2(handle).decode()}")

    def compress(self, pixels: np.ndarray, pixel_format: int, subsamp: int, quality: int) -> bytes:
        h, w, _ = pixels.shape
        src = np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
        handle = self.lib.tjInitCompress()
        buf, size = ctypes.c_void_p(), ctypes.c_ulong(0)
        try:
            rc = self.lib.tjCompress2(handle, src, w, 0, h, pixel_format, ctypes.byref(buf), ctypes.byref(size),
                                      subsamp, quality, 0)  # fmt: skip
            self._check(handle, rc, "tjCompress2")
            return ctypes.string_at(buf, size.value)
        finally:
            if buf:
                self.lib.tjFree(buf)
            self.lib.tjDestroy(handle)

    def decompress(self, data: bytes, pixel_format: int) -> tuple[np.ndarray, int]:
        """Default flags: accurate integer IDCT, fancy upsampling (what PIL gets from libjpeg)."""
        handle = self.lib.tjInitDecompress()
        try:
            w, h, ss, cs = (ctypes.c_int() for _ in range(4))
            rc = self.lib.tjDecompressHeader3(handle, data, len(data), ctypes.byref(w), ctypes.byref(h),
                                              ctypes.byref(ss), ctypes.byref(cs))  # fmt: skip
            self._check(handle, rc, "tjDecompressHeader3")
            channels = 4 if pixel_format == TJPF_CMYK else 3
            dst = ctypes.create_string_buffer(w.value * h.value * channels)
            rc = self.lib.tjDecompress2(handle, data, len(data), dst, w.value, 0, h.value, pixel_format, 0)
            self._check(handle, rc, "tjDecompress2")
            arr = np.frombuffer(dst.raw, dtype=np.uint8).reshape(h.value, w.value, channels)
            return arr, cs.value
        finally:
            self.lib.tjDestroy(handle)


# ---------------------------------------------------------------------------------------------
# Pillow's CMYK -> RGB in numpy
# ---------------------------------------------------------------------------------------------


def muldiv255(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    t = a.astype(np.int32) * b.astype(np.int32) + 128
    return ((t >> 8) + t) >> 8


def pil_cmyk2rgb(cmyk: np.ndarray) -> np.ndarray:
    """Convert.c cmyk2rgb on PIL's (already inverted) CMYK pixels."""
    nk = 255 - cmyk[..., 3:4].astype(np.int32)
    return np.clip(nk - muldiv255(cmyk[..., :3], nk), 0, 255).astype(np.uint8)


def raw_cmyk_to_rgb(raw: np.ndarray) -> np.ndarray:
    """The same on the decoder's bytes (libjpeg/TurboJPEG JCS_CMYK output): R = MULDIV255(c, k)."""
    return muldiv255(raw[..., :3], raw[..., 3:4]).astype(np.uint8)


def check_cmyk_formula() -> None:
    a, b = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    assert np.array_equal(muldiv255(a, b), np.floor(a * b / 255 + 0.5).astype(np.int32))
    raw = np.stack([a, a, a, b], axis=-1).astype(np.uint8)
    assert np.array_equal(pil_cmyk2rgb(255 - raw), raw_cmyk_to_rgb(raw))
    # Pillow's own conversion agrees with the port on all 65536 (C, K) pairs.
    im = Image.frombytes("CMYK", (256, 256), (255 - raw).tobytes())
    assert np.array_equal(np.asarray(im.convert("RGB")), raw_cmyk_to_rgb(raw))


# ---------------------------------------------------------------------------------------------
# Synthetic images
# ---------------------------------------------------------------------------------------------


def synthetic_cmyk(w: int = 40, h: int = 30) -> np.ndarray:
    """PIL-convention CMYK (0 = no ink) with varied values in every channel."""
    y, x = np.mgrid[0:h, 0:w]
    c = x * 255 // (w - 1)
    m = y * 255 // (h - 1)
    yy = np.where(((x // 4) + (y // 4)) % 2 == 0, 40, 220) + ((x + 2 * y) % 17) - 8
    band = x // 10
    k = np.select(
        [band == 0, band == 1, band == 2],
        [np.zeros_like(x), y * 255 // (h - 1), np.full_like(x, 200)],
        np.where(y < h // 2, 255, 128),
    )
    return np.stack([c, m, yy, k], axis=-1).clip(0, 255).astype(np.uint8)


def synthetic_rgb(w: int = 24, h: int = 16) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    r = 20 + x * 9
    g = 30 + y * 13
    b = np.full_like(x, 90) + ((x // 3) % 2) * 40
    img = np.stack([r, g, b], axis=-1)
    img[0:4, 0:6] = (255, 0, 0)  # red patch, top-left
    img[1:3, w - 3 : w - 1] = (255, 255, 255)  # white dot, top-right
    return img.clip(0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------


def rgb_of(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("RGB"))


def save_png(arr: np.ndarray, path: Path) -> None:
    Image.fromarray(arr, "RGB").save(path, compress_level=9)
    assert np.array_equal(rgb_of(Image.open(path)), arr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    tj = TurboJPEG()
    check_cmyk_formula()
    cases = []

    def write(name: str, data: bytes) -> Path:
        p = out / name
        p.write_bytes(data)
        return p

    # --- (a) CMYK written by Pillow --------------------------------------------------------------
    cmyk = synthetic_cmyk()
    buf = io.BytesIO()
    Image.frombytes("CMYK", (40, 30), cmyk.tobytes()).save(buf, "JPEG", quality=95)
    adobe = buf.getvalue()
    assert adobe_transform(adobe) == 0, "Pillow's CMYK JPEG should carry an Adobe APP14, transform 0"
    assert [s[1:] for s in sof_sampling(adobe)] == [(1, 1)] * 4
    p = write("cmyk_adobe_40x30.jpg", adobe)
    im = Image.open(p)
    assert im.mode == "CMYK" and im.tile[0].args[0] == "CMYK;I"
    assert im.info.get("adobe_transform") == 0 and "adobe" in im.info
    cmyk_decoded = np.asarray(im)
    assert np.abs(cmyk_decoded.astype(int) - cmyk).max() <= 12, "round trip should be close"
    cmyk_expected = rgb_of(im)
    assert np.array_equal(cmyk_expected, pil_cmyk2rgb(cmyk_decoded))
    raw, cs = tj.decompress(adobe, TJPF_CMYK)
    assert cs == TJCS_CMYK and np.array_equal(raw, 255 - cmyk_decoded)
    assert np.array_equal(raw_cmyk_to_rgb(raw), cmyk_expected)
    save_png(cmyk_expected, out / "cmyk_adobe_40x30.expected.png")
    cases.append({
        "file": "cmyk_adobe_40x30.jpg", "expected": "cmyk_adobe_40x30.expected.png", "kind": "cmyk",
        "size": [40, 30], "pil_mode": "CMYK", "adobe_transform": 0, "turbojpeg_colorspace": "TJCS_CMYK",
        "notes": "written by Pillow (quality 95): 4-component CMYK, 1x1 sampling, Adobe APP14 transform 0, "
                 "inverted CMYK bytes. Expected = Image.open(p).convert('RGB').",
    })  # fmt: skip

    # --- (a') the same without the Adobe marker: Pillow inverts anyway ----------------------------
    noadobe = jpeg_without(adobe, 0xEE, b"Adobe")
    assert adobe_transform(noadobe) is None and len(noadobe) == len(adobe) - 16
    p = write("cmyk_noadobe_40x30.jpg", noadobe)
    im = Image.open(p)
    assert im.mode == "CMYK" and im.tile[0].args[0] == "CMYK;I" and "adobe" not in im.info
    assert np.array_equal(rgb_of(im), cmyk_expected), "Pillow must ignore the (missing) Adobe marker"
    raw2, cs = tj.decompress(noadobe, TJPF_CMYK)
    assert cs == TJCS_CMYK and np.array_equal(raw2, raw)
    cases.append({
        "file": "cmyk_noadobe_40x30.jpg", "expected": "cmyk_adobe_40x30.expected.png", "kind": "cmyk",
        "size": [40, 30], "pil_mode": "CMYK", "adobe_transform": None, "turbojpeg_colorspace": "TJCS_CMYK",
        "notes": "cmyk_adobe_40x30.jpg with its APP14 segment removed; Pillow still uses rawmode CMYK;I "
                 "(inverts), so the expected image is identical to the Adobe file's.",
    })  # fmt: skip

    # --- (b) YCCK written by TurboJPEG ------------------------------------------------------------
    ycck = tj.compress(255 - cmyk, TJPF_CMYK, TJSAMP_420, 95)  # Adobe polarity, as Photoshop stores it
    assert adobe_transform(ycck) == 2, "TurboJPEG CMYK + subsampling should write YCCK (transform 2)"
    assert [s[1:] for s in sof_sampling(ycck)] == [(2, 2), (1, 1), (1, 1), (2, 2)]
    p = write("ycck_40x30.jpg", ycck)
    im = Image.open(p)
    assert im.mode == "CMYK" and im.tile[0].args[0] == "CMYK;I" and im.info.get("adobe_transform") == 2
    ycck_cmyk = np.asarray(im)
    ycck_expected = rgb_of(im)
    assert np.array_equal(ycck_expected, pil_cmyk2rgb(ycck_cmyk))
    raw, cs = tj.decompress(ycck, TJPF_CMYK)
    assert cs == TJCS_YCCK and np.array_equal(raw, 255 - ycck_cmyk)
    assert np.array_equal(raw_cmyk_to_rgb(raw), ycck_expected)
    assert np.abs(ycck_expected.astype(int) - cmyk_expected).mean() < 8, "same picture as the CMYK file"
    save_png(ycck_expected, out / "ycck_40x30.expected.png")
    cases.append({
        "file": "ycck_40x30.jpg", "expected": "ycck_40x30.expected.png", "kind": "ycck", "size": [40, 30],
        "pil_mode": "CMYK", "adobe_transform": 2, "turbojpeg_colorspace": "TJCS_YCCK",
        "notes": "the cmyk_adobe source image inverted (Adobe polarity) and written by TurboJPEG tjCompress2"
                 "(TJPF_CMYK, TJSAMP_420, quality 95): YCCK, sampling Y/K 2x2, Cb/Cr 1x1. libjpeg converts "
                 "YCCK->CMYK; then the same inversion and cmyk2rgb. Expected = Image.open(p).convert('RGB').",
    })  # fmt: skip

    # --- (c) EXIF orientation ----------------------------------------------------------------------
    rgb = synthetic_rgb()
    src = Image.fromarray(rgb, "RGB")

    def exif_jpeg(n: int, endian: str | None = None) -> bytes:
        exif = Image.Exif()
        if endian:
            exif.endian = endian
        exif[ORIENTATION_TAG] = n
        b = io.BytesIO()
        src.save(b, "JPEG", quality=100, subsampling=0, exif=exif.tobytes())
        return b.getvalue()

    jpegs = {n: exif_jpeg(n) for n in range(1, 10)}
    jpegs["6_le"] = exif_jpeg(6, "<")
    scan = jpeg_without(jpegs[1], 0xE1, b"Exif\0\0")
    plain = None
    expected_by_n = {}
    for key, data in jpegs.items():
        n = 6 if key == "6_le" else key
        (app1,) = [q for q in jpeg_payloads(data, 0xE1) if q.startswith(b"Exif\0\0")]
        assert app1[6:8] == (b"II" if key == "6_le" else b"MM") and tiff_orientation(app1[6:]) == n
        assert jpeg_without(data, 0xE1, b"Exif\0\0") == scan, "only the EXIF APP1 may differ"
        assert [s[1:] for s in sof_sampling(data)] == [(1, 1)] * 3
        name = f"exif_orientation_{key}.jpg"
        p = write(name, data)
        im = Image.open(p)
        assert im.getexif().get(ORIENTATION_TAG) == n
        this_plain = rgb_of(im)
        if plain is None:
            plain = this_plain
            assert np.abs(plain.astype(int) - rgb).max() <= 8
            tj_rgb, _ = tj.decompress(data, TJPF_RGB)
            assert np.array_equal(tj_rgb, plain), "system TurboJPEG should decode like Pillow's libjpeg"
        assert np.array_equal(this_plain, plain)
        expected = rgb_of(ImageOps.exif_transpose(Image.open(p)))
        method, np_fn = ORIENTATION_NUMPY.get(n, ("none", lambda a: a))
        assert np.array_equal(expected, np_fn(plain)), (key, method)
        if method != "none":
            assert np.array_equal(expected, rgb_of(Image.open(p).transpose(getattr(Image.Transpose, method))))
        expected_by_n[key] = expected
        exp_name = f"exif_orientation_{key}.expected.png"
        save_png(expected, out / exp_name)
        cases.append({
            "file": name, "expected": exp_name, "plain": "exif_orientation.plain.png", "kind": "exif",
            "size": [24, 16], "expected_size": [expected.shape[1], expected.shape[0]], "orientation": n,
            "exif_byte_order": "II" if key == "6_le" else "MM", "transpose": method,
            "notes": ("invalid orientation value: exif_transpose leaves the image unchanged" if n == 9 else
                      f"orientation {n} -> Image.Transpose.{method}" if method != "none" else
                      "orientation 1: unchanged") + "; JPEG quality 100, 4:4:4, EXIF APP1 holds only 0x0112.",
        })  # fmt: skip
    save_png(plain, out / "exif_orientation.plain.png")
    assert np.array_equal(expected_by_n[1], plain) and np.array_equal(expected_by_n[9], plain)
    assert np.array_equal(expected_by_n["6_le"], expected_by_n[6])
    distinct = {hashlib.sha256(expected_by_n[n].tobytes() + bytes(expected_by_n[n].shape)).hexdigest()
                for n in range(1, 9)}  # fmt: skip
    assert len(distinct) == 8, "orientations 1..8 must give 8 different images"

    # PNG with an eXIf chunk
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6
    b = io.BytesIO()
    src.save(b, "PNG", exif=exif, compress_level=9)
    png = b.getvalue()
    kinds = [c for c, _ in png_chunks(png)]
    assert b"eXIf" in kinds and kinds.index(b"eXIf") < kinds.index(b"IDAT")
    (body,) = [d for c, d in png_chunks(png) if c == b"eXIf"]
    assert body[:2] == b"MM" and tiff_orientation(body) == 6
    p = write("exif_orientation_6.png", png)
    assert np.array_equal(rgb_of(Image.open(p)), rgb)
    assert Image.open(p).getexif().get(ORIENTATION_TAG) == 6
    expected = rgb_of(ImageOps.exif_transpose(Image.open(p)))
    assert np.array_equal(expected, np.rot90(rgb, -1)), "Pillow honours PNG eXIf orientation"
    save_png(rgb, out / "exif_orientation_png.plain.png")
    save_png(expected, out / "exif_orientation_6_png.expected.png")
    cases.append({
        "file": "exif_orientation_6.png", "expected": "exif_orientation_6_png.expected.png",
        "plain": "exif_orientation_png.plain.png", "kind": "exif", "size": [24, 16], "expected_size": [16, 24],
        "orientation": 6, "exif_byte_order": "MM", "transpose": "ROTATE_270",
        "notes": "lossless PNG of the exif_orientation source image with an eXIf chunk (before IDAT) holding "
                 "Orientation=6; Pillow's exif_transpose honours it (PngImagePlugin chunk_eXIf -> info['exif']).",
    })  # fmt: skip

    manifest = {
        "generator": "tools/make_decode_fixtures.py",
        "pillow": PIL.__version__,
        "pillow_libjpeg_turbo": features.version("libjpeg_turbo"),
        "numpy": np.__version__,
        "turbojpeg_library": tj.path,
        "reference": "Image.open(p).convert('RGB') (CMYK/YCCK); "
                     "ImageOps.exif_transpose(Image.open(p)).convert('RGB') (exif)",
        "cases": cases,
        "notes": {
            "cmyk_rawmode": "JpegImagePlugin: 4 components -> mode CMYK, rawmode ALWAYS 'CMYK;I' (inverted), "
                            "whether or not an Adobe APP14 marker is present and whatever its transform; "
                            "PIL C,M,Y,K = 255 - the decoder's (libjpeg JCS_CMYK output) bytes c,m,y,k.",
            "ycck": "libjpeg itself converts YCCK (Adobe transform 2) to CMYK (out_color_space JCS_CMYK); "
                    "TurboJPEG tjDecompress2(TJPF_CMYK) gives the same bytes. Nothing YCCK-specific in Pillow.",
            "cmyk_to_rgb": "Convert.c cmyk2rgb: nk = 255 - K; R = CLIP8(nk - MULDIV255(C, nk)) (G/M, B/Y alike), "
                           "MULDIV255(a,b) = (t = a*b + 128, ((t >> 8) + t) >> 8) = round(a*b/255). On the decoder's "
                           "bytes: R = MULDIV255(c, k), G = MULDIV255(m, k), B = MULDIV255(y, k) (exact).",
            "decoder": "JPEG decoded with libjpeg defaults: accurate integer IDCT (JDCT_ISLOW), fancy upsampling; "
                       "the system TurboJPEG with default flags reproduced every expected image here.",
            "exif_transpose": "orientation = getexif().get(0x0112, 1): 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, "
                              "4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270 (90 deg clockwise), 7 TRANSVERSE, "
                              "8 ROTATE_90 (counter-clockwise); any other value or no tag: unchanged.",
            "exif_sources": "JPEG: APP1 'Exif\\0\\0' (TIFF header II or MM, IFD0). PNG: eXIf chunk (honoured), also "
                            "'Raw profile type exif' text. Only if the EXIF has no 0x0112: XMP "
                            "tiff:Orientation (JPEG APP1 xmp, PNG iTXt XML:com.adobe.xmp). "
                            "Image.open/convert never apply it (PIL and timm default = the plain PNGs).",
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = 0
    for f in sorted(out.iterdir()):
        total += f.stat().st_size
        print(f"{f.stat().st_size:7d}  {f.relative_to(REPO) if f.is_relative_to(REPO) else f}")
    print(f"{total:7d}  total")


if __name__ == "__main__":
    main()
