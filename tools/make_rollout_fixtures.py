#!/usr/bin/env python3
"""Generate attention-rollout reference fixtures in tests/data/rollout/ for the C++ `vit` library.

What it makes
-------------
For each model fixture written by tools/make_fixtures.py it reads the stored per-layer attention
probabilities (`attention.L`, float32 [B, heads, N, N]), the `input` batch (only its shape, for the
image size) and the `config` metadata (patch_size, distillation_token), and writes

  tests/data/rollout/<name>.rollout.safetensors

for <name> in vit_timm (B=3, grid 4x4, 1 prefix token), deit_distilled_timm (B=2, grid 4x4,
2 prefix tokens: class + distillation) and vit_timm_resized (B=2, grid 6x5 from a 48x40 input).
Each file holds float32 tensors

  rollout.<fusion>.<discard>.<start>.<token>   [B, grid_h, grid_w]
      fusion  in mean | max | min
      discard in 0 | 0.5 | 0.9          (the discard ratio, written like that)
      start   in 0 | 1                  (first layer used)
      token   in cls (| dist for models with a distillation token)
  raw                                   [B, heads, grid_h, grid_w]

and string metadata `source` (the expected file read), `source_sha256`, `semantics`, `numpy`,
`generator`, `all_zero_maps`.

Semantics (attention rollout, Abnar & Zuidema 2020, as implemented by jacobgil/vit-explain but
WITHOUT that repo's bug of renormalising with `a.sum(dim=-1)` without keepdim)
-------------------------------------------------------------------------------------------------
All in float64, per image b, with A_l = attention.l[b] ([H, N, N]), l = start .. L-1:
  1. fuse heads: F = mean / max / min over the H axis                          -> [N, N]
  2. discard (ratio r): k = int(N*N*r); sel = np.argsort(F.ravel(), kind='stable')[:k]
     (k smallest values, ties broken by lower flat index); drop flat index 0 (the class token's
     attention to itself, vit-explain's `indices = indices[indices != 0]`) from sel; F.flat[sel] = 0
  3. a = (F + I) / 2;  a = a / a.sum(axis=-1, keepdims=True)                  (rows sum to 1)
  4. R = I;  for l in start .. L-1:  R = a_l @ R                              (R = a_{L-1} ... a_start)
  5. map = R[t, P:] with P = number of prefix tokens, t = 0 (cls) or 1 (dist); reshape row-major to
     (H_img / patch, W_img / patch); map /= map.max()  (so its max is exactly 1)
     -- except when map.max() == 0 (every path from token t to a patch was discarded; vit-explain
     would give NaN): then the map is stored as all zeros and its name is listed in the metadata
     key `all_zero_maps` (comma-separated "tensor[b]" entries; empty when there are none).
Stored as float32.
`raw` = attention.{L-1}[b, h, 0, P:] reshaped to [H, grid_h, grid_w] (the class-token row of the
last layer per head, not normalised).

Checks (run every time; the script fails if one does not hold)
--------------------------------------------------------------
  * every rollout map is finite, has min >= 0 and max exactly 1.0 (or is one of the all-zero
    degenerate maps, which are counted and listed);
  * every renormalised `a` has rows summing to 1 (1e-12);
  * an independent torch float64 implementation (torch.eye / torch.matmul, discard done the
    vit-explain way with torch.topk(largest=False) + keepdim renormalisation) agrees to 1e-12 on
    every case whose discard selection is tie-free, in particular all mean / discard-0 cases;
  * the written files are read back with the official safetensors reader.
It also reports ties among the fused values at the discard cut (where the tie-break matters),
how close the nearest competitor to the cut is (relative gap, i.e. how robust the selection is
to float rounding in another implementation) and how often flat index 0 was selected.

Reproducibility
---------------
No randomness; files are written by a small deterministic safetensors writer (sorted header,
`__metadata__` first), so re-running with the same inputs and numpy version gives identical bytes.

Usage
-----
    python3 tools/make_rollout_fixtures.py [--data-dir tests/data] [--out-dir tests/data/rollout]
Needs numpy, safetensors (and torch for the cross-check).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np
from safetensors import safe_open

sys.path.insert(0, str(Path(__file__).resolve().parent))
from safetensors_writer import write_safetensors  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

CASES = ["vit_timm", "deit_distilled_timm", "vit_timm_resized"]
FUSIONS = ["mean", "max", "min"]
DISCARDS = [("0", 0.0), ("0.5", 0.5), ("0.9", 0.9)]
STARTS = [0, 1]

SEMANTICS = (
    "attention rollout (Abnar & Zuidema; jacobgil/vit-explain without its sum-without-keepdim bug), "
    "float64, per image: for layers l=start..L-1: F=fuse_heads(attention.l[b]) (mean|max|min over heads); "
    "k=int(N*N*ratio); sel=argsort(F.flat, stable)[:k] minus flat index 0; F.flat[sel]=0; "
    "a=(F+I)/2; a/=a.sum(-1,keepdims); R=a@R (R=I initially). "
    "map=R[t,P:] (t=0 cls, 1 dist; P=prefix tokens) reshaped row-major to (H/patch, W/patch), divided by its max; "
    "stored float32; if that max is 0 (all paths discarded) the map is all zeros (see all_zero_maps). raw=attention.{L-1}[b,h,0,P:] reshaped to [heads,grid_h,grid_w], not normalised."
)


# ---------------------------------------------------------------------------------------------
# I/O
# ---------------------------------------------------------------------------------------------
def read_expected(path: Path):
    with safe_open(str(path), "np") as f:
        md = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return tensors, md



# ---------------------------------------------------------------------------------------------
# NumPy reference
# ---------------------------------------------------------------------------------------------
def fuse(A: np.ndarray, fusion: str) -> np.ndarray:
    """A: [H, N, N] float64 -> [N, N]."""
    if fusion == "mean":
        return A.mean(axis=0)
    if fusion == "max":
        return A.max(axis=0)
    if fusion == "min":
        return A.min(axis=0)
    raise ValueError(fusion)


def discard_selection(F: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Return (flat indices to zero, full stable order, k)."""
    n = F.shape[0]
    k = int(n * n * ratio)
    order = np.argsort(F.ravel(), kind="stable")
    sel = order[:k]
    sel = sel[sel != 0]
    return sel, order, k


def layer_matrix(A: np.ndarray, fusion: str, ratio: float, stats: dict | None = None) -> np.ndarray:
    F = fuse(A, fusion).copy()
    n = F.shape[0]
    if ratio > 0:
        sel, order, k = discard_selection(F, ratio)
        if stats is not None:
            tie_stats(F.ravel(), order, k, stats)
        F.ravel()[sel] = 0.0  # F is contiguous, ravel() is a view
    a = (F + np.eye(n)) / 2.0
    a = a / a.sum(axis=-1, keepdims=True)
    assert np.all(np.abs(a.sum(axis=-1) - 1.0) < 1e-12), "rows of a do not sum to 1"
    assert np.all(a >= 0)
    return a


def rollout_numpy(attn: list[np.ndarray], fusion: str, ratio: float, start: int, token: int,
                  prefix: int, grid: tuple[int, int], stats: dict | None = None) -> np.ndarray:
    """attn: list over layers of [H, N, N] float64 (one image). Returns [grid_h, grid_w] float64."""
    n = attn[0].shape[-1]
    R = np.eye(n)
    for l in range(start, len(attn)):
        R = layer_matrix(attn[l], fusion, ratio, stats) @ R
    m = R[token, prefix:].reshape(grid)
    mx = m.max()
    if mx <= 0:  # degenerate: every path from `token` to a patch was discarded -> all-zero map
        return np.zeros_like(m)
    return m / mx


def tie_stats(flat: np.ndarray, order: np.ndarray, k: int, st: dict) -> None:
    """Record ties among the k smallest values and the tie/closeness at the cut (k-1 | k)."""
    st["layers"] += 1
    if k == 0:
        return
    small = flat[order[:k]]
    if len(np.unique(small)) < k:
        st["ties_within_k"] += 1
    if 0 in order[:k]:
        st["index0_selected"] += 1
    if k < flat.size:
        lo, hi = flat[order[k - 1]], flat[order[k]]
        if lo == hi:
            st["ties_straddling_cut"] += 1
        rel = (hi - lo) / max(abs(hi), 1e-300)
        st["min_rel_gap_at_cut"] = min(st["min_rel_gap_at_cut"], rel)
        st["min_abs_gap_at_cut"] = min(st["min_abs_gap_at_cut"], hi - lo)


def new_stats() -> dict:
    return {"layers": 0, "ties_within_k": 0, "ties_straddling_cut": 0, "index0_selected": 0,
            "min_rel_gap_at_cut": float("inf"), "min_abs_gap_at_cut": float("inf")}


# ---------------------------------------------------------------------------------------------
# Sensitivity: plausible implementation mistakes and how far they move the stored maps
# ---------------------------------------------------------------------------------------------
VARIANTS = {
    "vit-explain renorm bug (a / a.sum(-1) without keepdim)": "colnorm",
    "index 0 not exempt from discard": "discard0",
    "k = ceil(N*N*r) instead of int()": "ceil",
    "R = R @ a (wrong multiplication order)": "order",
    "no identity (a = F, row-normalised)": "noid",
    "discard per row instead of over the flat map": "rowwise",
}


def rollout_variant(attn, fusion, ratio, start, token, prefix, grid, variant):
    n = attn[0].shape[-1]
    R = np.eye(n)
    for l in range(start, len(attn)):
        F = fuse(attn[l], fusion).copy()
        k = (int(np.ceil(n * n * ratio)) if variant == "ceil" else int(n * n * ratio))
        if k > 0:
            if variant == "rowwise":
                kr = int(n * ratio)
                for i in range(n):
                    sel = np.argsort(F[i], kind="stable")[:kr]
                    sel = sel[(sel != 0) | (i != 0)]
                    F[i, sel] = 0.0
            else:
                sel = np.argsort(F.ravel(), kind="stable")[:k]
                if variant != "discard0":
                    sel = sel[sel != 0]
                F.ravel()[sel] = 0.0
        a = (F if variant == "noid" else (F + np.eye(n)) / 2.0)
        a = a / (a.sum(axis=-1) if variant == "colnorm" else a.sum(axis=-1, keepdims=True))
        R = R @ a if variant == "order" else a @ R
    m = R[token, prefix:].reshape(grid)
    return np.zeros_like(m) if m.max() <= 0 else m / m.max()


# ---------------------------------------------------------------------------------------------
# Independent torch cross-check (vit-explain style, fixed renormalisation)
# ---------------------------------------------------------------------------------------------
def rollout_torch(attn: list, fusion: str, ratio: float, start: int, token: int, prefix: int, grid):
    import torch

    n = attn[0].shape[-1]
    result = torch.eye(n, dtype=torch.float64)
    with torch.no_grad():
        for l in range(start, len(attn)):
            A = torch.from_numpy(attn[l]).to(torch.float64).unsqueeze(0)  # [1, H, N, N]
            if fusion == "mean":
                fused = A.mean(dim=1)
            elif fusion == "max":
                fused = A.max(dim=1)[0]
            else:
                fused = A.min(dim=1)[0]
            flat = fused.view(fused.size(0), -1)
            k = int(flat.size(-1) * ratio)
            if k > 0:
                _, indices = flat.topk(k, -1, False)
                indices = indices[indices != 0]
                flat[0, indices] = 0
            I = torch.eye(n, dtype=torch.float64)
            a = (fused + 1.0 * I) / 2
            a = a / a.sum(dim=-1, keepdim=True)
            result = torch.matmul(a, result)
    mask = result[0, token, prefix:].reshape(grid)
    if mask.max() <= 0:  # vit-explain would produce NaN (0/0) here
        return torch.zeros_like(mask).numpy()
    mask = mask / mask.max()
    return mask.numpy()


# ---------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default="tests/data")
    ap.add_argument("--out-dir", default="tests/data/rollout")
    ap.add_argument("--no-torch", action="store_true", help="skip the torch cross-check")
    args = ap.parse_args()
    data = (REPO / args.data_dir).resolve()
    out = (REPO / args.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)

    failures = []
    for name in CASES:
        src = data / f"{name}.expected.safetensors"
        tensors, md = read_expected(src)
        cfg = json.loads(md["config"])
        patch = int(cfg["patch_size"])
        distilled = bool(cfg.get("distillation_token", False))
        prefix = (1 if cfg.get("class_token", True) else 0) + (1 if distilled else 0)
        B, _, Himg, Wimg = tensors["input"].shape
        assert Himg % patch == 0 and Wimg % patch == 0
        grid = (Himg // patch, Wimg // patch)
        layers = sorted(int(k.split(".")[1]) for k in tensors if k.startswith("attention."))
        assert layers == list(range(len(layers))), f"{name}: attention layers {layers} not contiguous"
        L = len(layers)
        H, N = tensors["attention.0"].shape[1], tensors["attention.0"].shape[-1]
        assert N == prefix + grid[0] * grid[1], (name, N, prefix, grid)
        tokens = [("cls", 0)] + ([("dist", 1)] if distilled else [])
        print(f"{name}: B={B} heads={H} N={N} layers={L} prefix={prefix} grid={grid} input={Himg}x{Wimg}")

        result = {}
        stats = {}
        zero_maps = []
        sens = {}
        torch_maxdiff = {"tie_free": 0.0, "with_ties": 0.0}
        for fusion in FUSIONS:
            for dname, ratio in DISCARDS:
                k = int(N * N * ratio)
                st = stats.setdefault((fusion, dname), new_stats())
                case_ties = new_stats()
                if k > 0:  # ties in any used layer of any image decide which torch bucket a case goes to
                    for b in range(B):
                        for l in range(L):
                            F = fuse(tensors[f"attention.{l}"][b].astype(np.float64), fusion)
                            tie_stats(F.ravel(), np.argsort(F.ravel(), kind="stable"), k, case_ties)
                st["k"] = k
                st["N*N*r"] = N * N * ratio
                for start in STARTS:
                    for tname, t in tokens:
                        maps = []
                        for b in range(B):
                            attn = [tensors[f"attention.{l}"][b].astype(np.float64) for l in range(L)]
                            # tie statistics: count each (layer, image) once, on the cls/start-0 pass
                            s = st if (start == 0 and t == 0) else None
                            m = rollout_numpy(attn, fusion, ratio, start, t, prefix, grid, s)
                            maps.append(m)
                            for vname, v in VARIANTS.items():
                                with np.errstate(invalid="ignore", divide="ignore"):
                                    mv = rollout_variant(attn, fusion, ratio, start, t, prefix, grid, v)
                                d = float(np.abs(mv - m).max())
                                sens[vname] = max(sens.get(vname, 0.0), d if np.isfinite(d) else float("inf"))
                            if not args.no_torch:
                                mt = rollout_torch(attn, fusion, ratio, start, t, prefix, grid)
                                d = float(np.abs(mt - m).max())
                                key = "with_ties" if case_ties["ties_within_k"] else "tie_free"
                                torch_maxdiff[key] = max(torch_maxdiff[key], d)
                                if fusion == "mean" and ratio == 0 and d > 1e-12:
                                    failures.append(f"{name} mean/0/{start}/{tname} b={b}: torch diff {d:g}")
                        arr = np.stack(maps).astype(np.float32)
                        tn = f"rollout.{fusion}.{dname}.{start}.{tname}"
                        for b in range(B):
                            mb = arr[b]
                            if not (np.all(np.isfinite(mb)) and mb.min() >= 0):
                                failures.append(f"{name} {tn}[{b}]: negative or non-finite")
                            elif mb.max() == 0:
                                zero_maps.append(f"{tn}[{b}]")
                            elif mb.max() != np.float32(1.0):
                                failures.append(f"{name} {tn}[{b}]: max {mb.max()!r} != 1")
                        result[tn] = arr
        last = tensors[f"attention.{L - 1}"]
        result["raw"] = np.ascontiguousarray(last[:, :, 0, prefix:].reshape(B, H, *grid), dtype=np.float32)

        if torch_maxdiff["tie_free"] > 1e-12:
            failures.append(f"{name}: torch cross-check differs by {torch_maxdiff['tie_free']:g} on tie-free cases")
        if not args.no_torch:
            print(f"  torch cross-check max |diff|: tie-free cases {torch_maxdiff['tie_free']:.3g}, "
                  f"cases with ties among the k smallest {torch_maxdiff['with_ties']:.3g}")
        for (fusion, dname), st in stats.items():
            if st["k"] == 0:
                continue
            print(f"  {fusion:4s} discard {dname:3s}: k={st['k']} (N*N*r={st['N*N*r']:.6f}), "
                  f"layer-images={st['layers']}, ties within k={st['ties_within_k']}, "
                  f"ties straddling cut={st['ties_straddling_cut']}, index0 selected={st['index0_selected']}, "
                  f"min gap at cut rel={st['min_rel_gap_at_cut']:.3g} abs={st['min_abs_gap_at_cut']:.3g}")

        print("  sensitivity (max |diff| over all stored maps; inf = the variant produces NaN):")
        for vname, d in sens.items():
            print(f"    {d:9.3g}  {vname}")

        path = out / f"{name}.rollout.safetensors"
        meta = {
            "source": f"{src.name}",
            "source_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
            "semantics": SEMANTICS,
            "numpy": np.__version__,
            "generator": "tools/make_rollout_fixtures.py",
            "all_zero_maps": ",".join(zero_maps),
        }
        if zero_maps:
            print(f"  all-zero (degenerate) maps: {', '.join(zero_maps)}")
        write_safetensors(path, result, meta)
        print(f"  wrote {path.relative_to(REPO)} ({path.stat().st_size} bytes, {len(result)} tensors)")

    if failures:
        print("CHECK FAILURES:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
