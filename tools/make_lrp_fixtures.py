#!/usr/bin/env python3
"""Generate transformer-attribution reference fixtures in tests/data/lrp/ by running the authors' own code.

The method is Chefer, Gur & Wolf, CVPR 2021, "Transformer Interpretability Beyond Attention
Visualization": LRP relevance propagated through every layer with the rules of their reference code,
combined with the attention gradients.  The reference here IS their code: `baselines/ViT/ViT_LRP.py`,
`baselines/ViT/ViT_explanation_generator.py` and `modules/layers_ours.py` of
github.com/hila-chefer/Transformer-Explainability, imported from a checkout you make yourself (it is
never copied into this repository):

    git clone https://github.com/hila-chefer/Transformer-Explainability /tmp/Transformer-Explainability
    git -C /tmp/Transformer-Explainability checkout c3e578f76b954e8528afeaaee26de3f07e3fe559
    python3 tools/make_lrp_fixtures.py --chefer-dir /tmp/Transformer-Explainability [--shared-dir ../shared]

What it makes
-------------
  tests/data/lrp/vit_timm.lrp.safetensors              vit_timm weights + input (B=3), their ViT_LRP model
  tests/data/lrp/deit_distilled_timm.lrp.safetensors   distilled DeiT (B=2), extension (see below)
  tests/data/lrp/vit_timm_meanpool.lrp.safetensors     mean pooling + fc_norm (B=2), extension
  tests/data/lrp/vit_timm_meanpool_prenorm.lrp.safetensors
                                                       the meanpool weights with fc_norm.* renamed norm.*:
                                                       final norm on every token, then the mean (B=2)
  tests/data/lrp/deit_tiny_real.lrp.safetensors        real DeiT-tiny on the 8 images of <shared>/images
                                                       (only when <shared>/models and images exist), timm's
                                                       eval transform with crop_pct 0.875 (Resize(256)), the
                                                       library's DeiT default, not timm's deit_tiny 0.9
  tests/data/lrp/README.md                             what is in each file (generated)

Small cases (weights tests/data/NAME.safetensors, input `input` of tests/data/NAME.expected.safetensors):
  map.<slot>.start<s>.<token>        F64 [B, grid_h, grid_w]  the method's raw output (their generate_LRP)
  attention_gradient.<slot>.<l>      F64 [B, H, N, N]  dy_c/dA_l (their attn.get_attn_gradients())
  attention_relevance.<slot>.<l>     F64 [B, H, N, N]  R_A_l (their attn.get_attn_cam(), after cam1 /= 2)
  logits                             F64 [B, classes]  their model's float64 output
  features (, features_dist)         F64 [B, D]        the head input(s) (check of the activations)
  slot in top1 | top2 (target = highest | second-highest float64 logit of each image), s in 0 | 1,
  token in cls (| dist for the distilled model).
Real model (maps only, the C++ test preprocesses the images itself):
  map.top1.start0.cls, map.top2.start0.cls, map.top1.start1.cls    F64 [8, 14, 14]
  map32.top1.start0.cls, map32.top2.start0.cls                     F32 [8, 14, 14]: their code in float32
Metadata (strings): `targets` (JSON [[top1, top2] per image]), `images` (real model), `semantics`,
`extension` (what was added to their code, when anything), `chefer_commit`, versions, `generator`,
`weights`, `weights_sha256`, `input_source`.

How their code is run
---------------------
Their `VisionTransformer` (baselines/ViT/ViT_LRP.py) is built with the fixture's shape, the timm
state_dict is loaded strictly (the names are timm's), the model is put in eval mode and cast to
float64 together with the input (float32 weights and inputs are exact in float64), and their
`LRP(model).generate_LRP(x, index=c, method="transformer_attribution", start_layer=s)` is called per
image (their code handles batch 1 only: one-hot of shape [1, classes], `cam[0]`).  Two adjustments:
`torch.Tensor.cuda` is made the identity while it runs (generate_LRP moves its one-hot to the GPU),
and the final LayerNorm's eps is set to the checkpoint's 1e-6 (their `self.norm = LayerNorm(embed_dim)`
uses PyTorch's default 1e-5 while their blocks hard-code 1e-6 and timm uses 1e-6 everywhere; without
this their logits differ from timm's).  With that their float64 logits equal timm's float64 logits to
<= 1e-12 (checked).  LayerNorm's relprop is the identity, so eps only enters through the activations.

Extensions (their model knows class-token pooling without a distillation token only).  Each is built
from their modules; nothing of their code is copied:
  * distilled DeiT: logits = Add([head(x_cls), head_dist(x_dist)]) / 2 with their `Add` module; the
    pooling is their `IndexSelect` with indices [0, 1]; the two heads are their `Linear`.  Their parent
    `relprop` runs unchanged: `head` is a small module holding both heads whose relprop is
    Add.relprop -> (head.relprop, head_dist.relprop) -> stacked [B, 2, D]; `pool` is an IndexSelect
    whose relprop drops the [B, 1, ...] axis the parent adds.  The "/ 2" passes relevance unchanged
    (it is a constant factor, conservative LRP).  The distillation-token map (token = dist) is row 1
    of their `compute_rollout_attention` applied to the same per-layer matrices their relprop builds
    (row 0 reproduces their own output, checked) with the two prefix columns dropped.
  * mean pooling + fc_norm (timm global_pool='avg'): `pool` is a `RelPropSimple` module computing the
    mean of the patch tokens (their rule for average pooling: R_in = X * grad(Z, X, R / Z), i.e.
    R_in[t] = X[t] * safe_divide(R, Z) / G for patch tokens, 0 for prefix tokens); the final `norm` is
    an identity (timm's norm is Identity with fc_norm), `fc_norm` is their LayerNorm (relprop
    identity) between pooling and head.
  * mean pooling without fc_norm (prenorm): their LayerNorm on every token, then the same mean.

Checks (the script fails when one does not hold)
------------------------------------------------
  * their float64 logits equal timm's float64 logits (<= 1e-12; real model <= 1e-10) and the stored
    fixture logits (rounded to float32);
  * a NumPy float64 re-computation of their final step from the recorded gradients and relevances
    (A_l = mean_h clamp(G * R, 0) + I, no row normalisation, joint = A_l @ joint) reproduces their map
    to 1e-13 relative;
  * for the distilled extension, row 0 of the recomputed product equals their returned map;
  * every written file is read back with the official safetensors reader.

Reproducibility
---------------
Everything runs on the CPU in float64 with one thread; there is no randomness.  Files are written by
a deterministic safetensors writer (sorted header, `__metadata__` first), so re-running with the same
package versions (torch 2.15.0, timm 1.0.31, safetensors 0.8.0, numpy 2.4.6, einops 0.8.2 -- their
code needs einops) and the same checkout gives byte-identical files.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import make_fixtures as mf  # noqa: E402  (shared helpers: sizes, timm reference, logging)

GENERATOR = "tools/make_lrp_fixtures.py"
CHEFER_COMMIT = "c3e578f76b954e8528afeaaee26de3f07e3fe559"
REAL_IMAGES = ["tench.jpg", "magpie.jpeg", "cheetah.jpg", "panda.jpeg", "apple.jpg", "both.png", "dogbird.png",
               "plane.png"]
SLOTS = ("top1", "top2")
REAL_CROP_PCT = 0.875  # vit::preprocessing_for_checkpoint's DeiT default (timm's deit_tiny cfg says 0.9)
log = mf.log

SEMANTICS = (
    "transformer attribution (Chefer, Gur & Wolf, CVPR 2021), their generate_LRP(method='transformer_attribution') "
    "per image in float64: relprop from the one-hot of the target through head, pooling, final norm and every block "
    "with their layers_ours rules (Linear alpha=1 beta=0, Add with renormalisation, einsum RelPropSimple, "
    "IndexSelect, Clone; LayerNorm/GELU/Softmax/Dropout identity; cam1/=2, cam_v/=2, cam_q/=2, cam_k/=2); "
    "A_l = mean_h clamp(grad_l * attn_cam_l, min=0) + I; joint = A_start; joint = A_l @ joint for l > start "
    "(ViT_LRP.compute_rollout_attention: the row normalisation is commented out); map = joint[token, K:] "
    "(K prefix tokens) reshaped row-major to the patch grid; raw values, not normalised."
)


# ---------------------------------------------------------------------------------------------
# Deterministic safetensors writer with F64 support (make_fixtures.write_safetensors is F32 only)
# ---------------------------------------------------------------------------------------------
def write_safetensors(path: Path, tensors: dict, metadata: dict) -> None:
    """`__metadata__` first, tensors sorted by name, data in that order, header padded with spaces to a
    multiple of 8 bytes. float64 arrays are stored F64, float32 arrays F32. Read back with safe_open."""
    header = {"__metadata__": {k: str(metadata[k]) for k in sorted(metadata)}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        code, dtype = {np.dtype(np.float64): ("F64", "<f8"), np.dtype(np.float32): ("F32", "<f4")}[a.dtype]
        b = np.ascontiguousarray(a, dtype=dtype).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    with safe_open(str(path), "np") as f:
        assert f.metadata() == header["__metadata__"]
        assert sorted(f.keys()) == sorted(tensors)
        for name in tensors:
            assert np.array_equal(f.get_tensor(name), np.asarray(tensors[name])), name


# ---------------------------------------------------------------------------------------------
# Their code, and the extensions built from their modules
# ---------------------------------------------------------------------------------------------
class Chefer:
    """The authors' modules, imported from a checkout (sys.path), plus the extensions."""

    def __init__(self, root: Path):
        sys.path.insert(0, str(root))
        from baselines.ViT import ViT_LRP, ViT_explanation_generator
        from modules import layers_ours

        self.root = root
        self.ViT_LRP, self.generator, self.layers = ViT_LRP, ViT_explanation_generator, layers_ours
        L = layers_ours
        VisionTransformer = ViT_LRP.VisionTransformer

        class Identity(nn.Identity, L.RelProp):
            """timm's `norm = Identity()` of fc_norm models, with the RelProp pass-through rule."""

        class TwoHeads(nn.Module):
            """Distilled heads as their modules would write them: Add([head(x[:,0]), head_dist(x[:,1])]) / 2."""

            def __init__(self, dim, classes):
                super().__init__()
                self.cls, self.dist, self.add = L.Linear(dim, classes), L.Linear(dim, classes), L.Add()

            def forward(self, x):  # x: [B, 2, D] (class and distillation tokens after the final norm)
                return self.add([self.cls(x[:, 0]), self.dist(x[:, 1])]) / 2

            def relprop(self, cam, **kwargs):  # the "/ 2" is a constant factor: relevance passes unchanged
                r_cls, r_dist = self.add.relprop(cam, **kwargs)
                return torch.stack([self.cls.relprop(r_cls, **kwargs), self.dist.relprop(r_dist, **kwargs)], dim=1)

        class TokensSelect(L.IndexSelect):
            """IndexSelect of several tokens; the parent relprop hands it [B, 1, T, D] (its unsqueeze(1))."""

            def relprop(self, R, alpha):
                return super().relprop(R.squeeze(1), alpha)

        class MeanTokens(L.RelPropSimple):
            """Mean of the patch tokens, [B, 1, D] (the parent relprop unsqueezes the head relevance to that)."""

            def __init__(self, prefix):
                super().__init__()
                self.prefix = prefix

            def forward(self, x):
                return x[:, self.prefix:].mean(dim=1, keepdim=True)

        class DistilledViT(VisionTransformer):
            def __init__(self, **kw):
                super().__init__(**kw)
                dim, classes = self.embed_dim, self.num_classes
                self.dist_token = nn.Parameter(torch.zeros(1, 1, dim))
                self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches + 2, dim))
                self.head = TwoHeads(dim, classes)
                self.pool = TokensSelect()

            def forward(self, x):
                B = x.shape[0]
                x = self.patch_embed(x)
                x = torch.cat((self.cls_token.expand(B, -1, -1), self.dist_token.expand(B, -1, -1), x), dim=1)
                x = self.add([x, self.pos_embed])
                x.register_hook(self.save_inp_grad)
                for blk in self.blocks:
                    x = blk(x)
                x = self.norm(x)
                x = self.pool(x, dim=1, indices=torch.tensor([0, 1], device=x.device))
                return self.head(x)

        class MeanPoolViT(VisionTransformer):
            def __init__(self, fc_norm: bool, eps: float, **kw):
                super().__init__(**kw)
                self.pool = MeanTokens(1)
                if fc_norm:  # timm global_pool='avg': norm is Identity, fc_norm after the mean
                    self.norm, self.fc_norm = Identity(), L.LayerNorm(self.embed_dim, eps=eps)
                else:
                    self.fc_norm = Identity()

            def forward(self, x):
                B = x.shape[0]
                x = self.patch_embed(x)
                x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
                x = self.add([x, self.pos_embed])
                x.register_hook(self.save_inp_grad)
                for blk in self.blocks:
                    x = blk(x)
                x = self.norm(x)
                x = self.pool(x).squeeze(1)
                x = self.fc_norm(x)  # relprop: identity (their LayerNorm), so the parent's relprop may skip it
                return self.head(x)

        self.VisionTransformer, self.DistilledViT, self.MeanPoolViT = VisionTransformer, DistilledViT, MeanPoolViT

    def commit(self) -> str:
        try:
            return subprocess.run(["git", "-C", str(self.root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown (not a git checkout)"


@contextlib.contextmanager
def cuda_is_identity():
    """generate_LRP calls one_hot.cuda(); on this CPU-only run that is the identity."""
    saved = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *a, **k: self
    try:
        yield
    finally:
        torch.Tensor.cuda = saved


def build(chefer: Chefer, kind: str, sd: dict, img: int, patch: int, dim: int, depth: int, heads: int, mlp: int,
          classes: int, eps: float) -> nn.Module:
    kw = dict(img_size=img, patch_size=patch, num_classes=classes, embed_dim=dim, depth=depth, num_heads=heads,
              mlp_ratio=mlp / dim, qkv_bias=True)
    sd = dict(sd)
    if kind == "token":
        model = chefer.VisionTransformer(**kw)
    elif kind == "distilled":
        model = chefer.DistilledViT(**kw)
        for a, b in (("head", "head.cls"), ("head_dist", "head.dist")):
            for p in ("weight", "bias"):
                sd[f"{b}.{p}"] = sd.pop(f"{a}.{p}")
    elif kind in ("mean_fc_norm", "mean_prenorm"):
        model = chefer.MeanPoolViT(fc_norm=kind == "mean_fc_norm", eps=eps, **kw)
    else:
        raise ValueError(kind)
    model.load_state_dict(sd, strict=True)
    for blk in model.blocks:
        assert blk.norm1.eps == eps and blk.norm2.eps == eps, "their blocks hard-code LayerNorm eps 1e-6"
    if isinstance(model.norm, nn.LayerNorm):
        model.norm.eps = eps  # their default is 1e-5; the checkpoint's is 1e-6 (see the docstring)
    return model.eval()


def run_theirs(chefer: Chefer, model: nn.Module, x: torch.Tensor, target: int, start: int):
    """Their generate_LRP on one image: (map [N-1], per-layer gradients [H,N,N], per-layer attn_cam [H,N,N])."""
    lrp = chefer.generator.LRP(model)
    with cuda_is_identity():
        out = lrp.generate_LRP(x, index=target, method="transformer_attribution", start_layer=start).detach()
    grads = [blk.attn.get_attn_gradients()[0].detach().clone() for blk in model.blocks]
    cams = [blk.attn.get_attn_cam()[0].detach().clone() for blk in model.blocks]
    return out[0], grads, cams


def rollout_rows(chefer: Chefer, grads, cams, start: int):
    """Their final step (the tail of VisionTransformer.relprop) with their compute_rollout_attention, all rows."""
    mats = [(g * c).clamp(min=0).mean(dim=0).unsqueeze(0) for g, c in zip(grads, cams)]
    return chefer.ViT_LRP.compute_rollout_attention(mats, start_layer=start)[0]


def numpy_tail(grads, cams, start: int) -> np.ndarray:
    """Independent NumPy statement of the final step, for the check: no row normalisation."""
    mats = [np.maximum(g.numpy() * c.numpy(), 0).mean(axis=0) + np.eye(g.shape[-1]) for g, c in zip(grads, cams)]
    joint = mats[start]
    for m in mats[start + 1:]:
        joint = m @ joint
    return joint


def rel_err(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def pearson(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


# ---------------------------------------------------------------------------------------------
# Small cases
# ---------------------------------------------------------------------------------------------
SMALL_CASES = [
    # name, kind, weights file, expected file (input), prefix tokens, description
    ("vit_timm", "token", "vit_timm.safetensors", "vit_timm.expected.safetensors", 1,
     "their ViT_LRP.VisionTransformer, unchanged"),
    ("deit_distilled_timm", "distilled", "deit_distilled_timm.safetensors", "deit_distilled_timm.expected.safetensors",
     2, "distilled extension: IndexSelect of tokens [0, 1], Add of the two heads, / 2"),
    ("vit_timm_meanpool", "mean_fc_norm", "vit_timm_meanpool.safetensors", "vit_timm_meanpool.expected.safetensors", 1,
     "mean-pooling extension: RelPropSimple mean of the patch tokens, norm Identity, fc_norm before the head"),
    ("vit_timm_meanpool_prenorm", "mean_prenorm", "vit_timm_meanpool.safetensors",
     "vit_timm_meanpool.expected.safetensors", 1,
     "mean-pooling extension without fc_norm: the meanpool weights with fc_norm.* renamed norm.*, "
     "final LayerNorm on every token, then the RelPropSimple mean of the patch tokens"),
]


def timm_reference_logits(kind: str, sd: dict, x: torch.Tensor) -> torch.Tensor:
    """The same weights in timm (float64), for the check that their model is the same network."""
    from timm.models.deit import VisionTransformerDistilled
    from timm.models.vision_transformer import VisionTransformer

    if kind == "token":
        model = VisionTransformer(**mf.small_timm_kwargs())
    elif kind == "distilled":
        model = VisionTransformerDistilled(**mf.small_timm_kwargs())
    elif kind == "mean_fc_norm":
        model = VisionTransformer(**mf.small_timm_kwargs(global_pool="avg"))
    else:  # mean_prenorm: timm's global_pool='avg' with fc_norm=False keeps `norm` on every token
        model = VisionTransformer(**mf.small_timm_kwargs(global_pool="avg", fc_norm=False))
    model.load_state_dict(sd, strict=True)
    with torch.no_grad():
        return model.eval().double()(x)


def small_case(chefer: Chefer, name, kind, weights, expected, prefix, desc, data: Path, out: Path, failures, info):
    log(f"\n[{name}] {desc}")
    sd = load_file(str(data / weights))
    if kind == "mean_prenorm":
        sd = {k.replace("fc_norm.", "norm."): v for k, v in sd.items()}
    with safe_open(str(data / expected), "pt") as f:
        x_all = f.get_tensor("input").double()
        stored_logits = f.get_tensor("logits")
    B, _, H_img, W_img = x_all.shape
    grid = (H_img // mf.PATCH, W_img // mf.PATCH)
    model = build(chefer, kind, sd, mf.IMG, mf.PATCH, mf.DIM, mf.DEPTH, mf.HEADS, mf.MLP, mf.NCLS, mf.TIMM_EPS)
    model = model.double()

    logits = model(x_all).detach()
    timm_logits = timm_reference_logits(kind, sd, x_all)
    d_timm = float((logits - timm_logits).abs().max())
    log(f"  their float64 logits vs timm float64: {d_timm:.2e}")
    if d_timm > 1e-12:
        failures.append(f"{name}: their logits differ from timm's by {d_timm:g}")
    if kind != "mean_prenorm":
        d_stored = float((logits.float() - stored_logits).abs().max())
        log(f"  vs the stored fixture logits (float32): {d_stored:.2e}")
        if d_stored > 1e-6:
            failures.append(f"{name}: their logits differ from {expected} by {d_stored:g}")

    order = logits.argsort(dim=-1, descending=True)
    targets = [[int(order[b, 0]), int(order[b, 1])] for b in range(B)]
    margins = [float(logits[b, order[b, 1]] - logits[b, order[b, 2]]) for b in range(B)]
    log(f"  targets (top1, top2) per image: {targets}; gap between 2nd and 3rd logit >= {min(margins):.3f}")

    tokens = [("cls", 0)] + ([("dist", 1)] if kind == "distilled" else [])
    tensors = {"logits": logits.numpy()}
    feats = {}
    hook = model.head.register_forward_hook(lambda m, a, o: feats.__setitem__("x", a[0].detach()))
    model(x_all)
    hook.remove()
    if kind == "distilled":
        tensors["features"], tensors["features_dist"] = feats["x"][:, 0].numpy(), feats["x"][:, 1].numpy()
    else:
        tensors["features"] = feats["x"].numpy()

    worst_tail = 0.0
    for k, slot in enumerate(SLOTS):
        maps = {(s, t): [] for s in (0, 1) for t, _ in tokens}
        grads_all, cams_all = [], []
        for b in range(B):
            xb = x_all[b:b + 1]
            for s in (0, 1):
                theirs, grads, cams = run_theirs(chefer, model, xb, targets[b][k], s)
                joint = numpy_tail(grads, cams, s)
                rows = rollout_rows(chefer, grads, cams, s)
                # their map is joint[0, 1:]; with a distillation token column 1 is that token: drop it
                check = rows[0, 1:].numpy()
                worst_tail = max(worst_tail, rel_err(check, theirs.numpy()), rel_err(joint[0, 1:], theirs.numpy()))
                for tname, t in tokens:
                    maps[(s, tname)].append(rows[t, prefix:].numpy().reshape(grid))
                if s == 0:
                    grads_all.append(torch.stack(grads).numpy())
                    cams_all.append(torch.stack(cams).numpy())
        for (s, tname), m in maps.items():
            tensors[f"map.{slot}.start{s}.{tname}"] = np.stack(m)
        g, c = np.stack(grads_all), np.stack(cams_all)  # [B, L, H, N, N]
        for l in range(g.shape[1]):
            tensors[f"attention_gradient.{slot}.{l}"] = np.ascontiguousarray(g[:, l])
            tensors[f"attention_relevance.{slot}.{l}"] = np.ascontiguousarray(c[:, l])
    log(f"  NumPy/compute_rollout_attention re-computation of their final step: max rel. diff {worst_tail:.2e}")
    if worst_tail > 1e-13:
        failures.append(f"{name}: the final step does not reproduce their map ({worst_tail:g})")

    # How far plausible misreadings of their code move the maps (reported; the C++ tests must tell them apart)
    sens = sensitivity(tensors, prefix, grid, len(model.blocks))
    for k_, v in sens.items():
        log(f"  sensitivity {k_:58s} max rel. change {v:.3g}")
    info[name] = {"targets": targets, "sens": sens, "B": B, "grid": grid, "prefix": prefix, "desc": desc,
                  "tensors": sorted(tensors), "weights": weights, "input": expected}

    md = {
        "generator": GENERATOR, "semantics": SEMANTICS, "extension": desc, "targets": json.dumps(targets),
        "chefer_commit": chefer.commit(), "weights": weights,
        "weights_sha256": hashlib.sha256((data / weights).read_bytes()).hexdigest(),
        "input_source": expected, "torch": torch.__version__, "numpy": np.__version__,
        "einops": __import__("einops").__version__,
    }
    if kind == "mean_prenorm":
        md["weights_renamed"] = "fc_norm.weight -> norm.weight, fc_norm.bias -> norm.bias"
    path = out / f"{name}.lrp.safetensors"
    write_safetensors(path, tensors, md)
    log(f"  wrote {path.relative_to(REPO)} ({path.stat().st_size} bytes, {len(tensors)} tensors)")


def sensitivity(tensors: dict, prefix: int, grid, depth: int) -> dict:
    """Max relative change of the stored cls maps (start 0) under misreadings of their final step."""
    out = {}
    B = tensors["logits"].shape[0]
    variants = {
        "rows renormalised (the generator's compute_rollout_attention)": "renorm",
        "attention relevance not halved (no cam1 /= 2)": "nohalf",
        "clamp after the head mean instead of before": "clamplate",
        "product in the other order (joint = joint @ A_l)": "order",
    }
    for label, v in variants.items():
        worst = 0.0
        for slot in SLOTS:
            ref = tensors[f"map.{slot}.start0.cls"]
            for b in range(B):
                mats = []
                for l in range(depth):
                    g = tensors[f"attention_gradient.{slot}.{l}"][b]
                    c = tensors[f"attention_relevance.{slot}.{l}"][b] * (2 if v == "nohalf" else 1)
                    a = (np.maximum((g * c).mean(0), 0) if v == "clamplate" else np.maximum(g * c, 0).mean(0))
                    a = a + np.eye(a.shape[-1])
                    if v == "renorm":
                        a = a / a.sum(-1, keepdims=True)
                    mats.append(a)
                joint = mats[0]
                for m in mats[1:]:
                    joint = joint @ m if v == "order" else m @ joint
                worst = max(worst, rel_err(joint[0, prefix:].reshape(grid), ref[b]))
        out[label] = worst
    return out


# ---------------------------------------------------------------------------------------------
# The real DeiT-tiny on the shared images
# ---------------------------------------------------------------------------------------------
def real_case(chefer: Chefer, shared: Path, out: Path, failures, info):
    import timm
    import timm.data

    log("\n[deit_tiny_real] real DeiT-tiny, their ViT_LRP.VisionTransformer, 8 shared images")
    weights = shared / "models" / "deit_tiny_patch16_224.safetensors"
    images = shared / "images"
    if not weights.exists() or not images.exists():
        log(f"  skipped: {weights} or {images} not found (an existing fixture is left alone)")
        existing = out / "deit_tiny_real.lrp.safetensors"
        info["real"] = None
        if existing.exists():  # keep its README row
            with safe_open(str(existing), "np") as f:
                info["real"] = {"targets": json.loads(f.metadata()["targets"]), "stats": None}
        return
    sd = load_file(str(weights))
    timm_model = timm.create_model("deit_tiny_patch16_224", pretrained=False).eval()
    timm_model.load_state_dict(sd, strict=True)
    # timm's eval transform with the crop_pct this library uses for DeiT (0.875, as the DeiT paper and HF:
    # Resize(256)); timm's own pretrained cfg for deit_tiny says 0.9 (Resize(248)). The C++ test preprocesses
    # with vit::preprocessing_for_checkpoint, so both sides see the same pixels.
    data_config = timm.data.resolve_data_config({"crop_pct": REAL_CROP_PCT}, model=timm_model)
    transform = timm.data.create_transform(**data_config)
    assert data_config["crop_pct"] == REAL_CROP_PCT and data_config["interpolation"] == "bicubic"
    assert type(transform.transforms[0]).__name__ == "Resize" and transform.transforms[0].size == 256, transform
    x = torch.stack([transform(Image.open(images / n).convert("RGB")) for n in REAL_IMAGES])  # float32 [8,3,224,224]

    model = build(chefer, "token", sd, 224, 16, 192, 12, 3, 768, 1000, 1e-6).double()
    logits = model(x.double()).detach()
    with torch.no_grad():
        d_timm = float((logits - timm_model.double()(x.double())).abs().max())
    log(f"  their float64 logits vs timm float64: {d_timm:.2e}")
    if d_timm > 1e-10:
        failures.append(f"deit_tiny_real: their logits differ from timm's by {d_timm:g}")
    order = logits.argsort(dim=-1, descending=True)
    targets = [[int(order[b, 0]), int(order[b, 1])] for b in range(len(REAL_IMAGES))]
    log(f"  targets (top1, top2): {dict(zip(REAL_IMAGES, targets))}")

    model32 = build(chefer, "token", sd, 224, 16, 192, 12, 3, 768, 1000, 1e-6).float()
    tensors, worst_tail, stats = {}, 0.0, []
    for k, slot in enumerate(SLOTS):
        for s in ((0, 1) if slot == "top1" else (0,)):
            maps, maps32 = [], []
            for b in range(len(REAL_IMAGES)):
                theirs, grads, cams = run_theirs(chefer, model, x[b:b + 1].double(), targets[b][k], s)
                worst_tail = max(worst_tail, rel_err(numpy_tail(grads, cams, s)[0, 1:], theirs.numpy()))
                maps.append(theirs.numpy().reshape(14, 14))
                if s == 0:
                    m32, _, _ = run_theirs(chefer, model32, x[b:b + 1], targets[b][k], 0)
                    maps32.append(m32.numpy().reshape(14, 14))
                    stats.append((REAL_IMAGES[b], slot, pearson(maps32[-1], maps[-1]),
                                  top_overlap(maps32[-1], maps[-1]), rel_err(maps32[-1], maps[-1])))
            tensors[f"map.{slot}.start{s}.cls"] = np.stack(maps)
            if s == 0:
                tensors[f"map32.{slot}.start0.cls"] = np.stack(maps32).astype(np.float32)
    log(f"  NumPy re-computation of their final step: max rel. diff {worst_tail:.2e}")
    if worst_tail > 1e-12:
        failures.append(f"deit_tiny_real: the final step does not reproduce their map ({worst_tail:g})")
    log("  their own float32 run vs their float64 run (Pearson r, top-10% overlap, max rel. error):")
    for name, slot, r, ov, e in stats:
        log(f"    {name:12s} {slot}: r = {r:.6f}, overlap = {ov:.2f}, max rel. error {e:.2e}")
    info["real"] = {"targets": targets, "stats": stats}
    md = {
        "generator": GENERATOR, "semantics": SEMANTICS, "targets": json.dumps(targets), "images": json.dumps(REAL_IMAGES),
        "chefer_commit": chefer.commit(), "weights": "<shared>/models/deit_tiny_patch16_224.safetensors (not in the repo)",
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "preprocessing": "timm.data.create_transform(**resolve_data_config({'crop_pct': 0.875}, "
                         "model=deit_tiny_patch16_224)) on Image.open(path).convert('RGB'): Resize(256, bicubic), "
                         "CenterCrop(224), ImageNet mean/std (the crop_pct of vit::preprocessing_for_checkpoint for "
                         "DeiT; timm's own pretrained cfg says 0.9)",
        "torch": torch.__version__, "timm": timm.__version__, "numpy": np.__version__,
        "einops": __import__("einops").__version__,
    }
    path = out / "deit_tiny_real.lrp.safetensors"
    write_safetensors(path, tensors, md)
    log(f"  wrote {path.relative_to(REPO)} ({path.stat().st_size} bytes, {len(tensors)} tensors)")


def top_overlap(a, b, share=0.1) -> float:
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    k = max(1, int(round(share * a.size)))
    return len(set(np.argsort(-a, kind="stable")[:k]) & set(np.argsort(-b, kind="stable")[:k])) / k


# ---------------------------------------------------------------------------------------------
def write_readme(out: Path, info: dict, chefer_commit: str) -> None:
    lines = []
    a = lines.append
    a("# Transformer-attribution reference fixtures (generated)")
    a("")
    a("Generated by `tools/make_lrp_fixtures.py` by running the authors' own code "
      "([hila-chefer/Transformer-Explainability](https://github.com/hila-chefer/Transformer-Explainability) at "
      f"`{chefer_commit}`, imported from a temporary checkout, never copied here) on the weights and inputs of "
      "`tests/data`. Do not edit by hand; re-run `python3 tools/make_lrp_fixtures.py --chefer-dir CHECKOUT "
      "[--shared-dir ../shared]` (float64 on the CPU, deterministic writer: byte-identical with torch 2.15.0, "
      "timm 1.0.31, safetensors 0.8.0, numpy 2.4.6, einops 0.8.2). The script's docstring states how their code is "
      "run and what the extensions for distilled and mean-pooled models are.")
    a("")
    a("Method: " + SEMANTICS)
    a("")
    a("| file | model | B | prefix tokens | grid | targets (top1, top2) per image |")
    a("|---|---|---|---|---|---|")
    for name, case in info.items():
        if name == "real" or case is None:
            continue
        a(f"| `{name}.lrp.safetensors` | {case['desc']} (weights `{case['weights']}`, input from `{case['input']}`) "
          f"| {case['B']} | {case['prefix']} | {case['grid'][0]}x{case['grid'][1]} | {case['targets']} |")
    if info.get("real"):
        a("| `deit_tiny_real.lrp.safetensors` | their ViT_LRP.VisionTransformer with the real DeiT-tiny "
          "(`<shared>/models`, not in the repo) on the 8 images of `<shared>/images` (" + ", ".join(REAL_IMAGES) +
          "), preprocessed by timm's eval transform with crop_pct 0.875 (Resize(256) bicubic, CenterCrop(224), "
          "ImageNet mean/std: what `vit::preprocessing_for_checkpoint` does for DeiT; timm's own deit_tiny cfg "
          f"says 0.9) | 8 | 1 | 14x14 | {info['real']['targets']} |")
    a("")
    a("Tensors of the small cases (all F64): `map.<top1|top2>.start<0|1>.<cls|dist>` [B, grid_h, grid_w] (the "
      "method's raw output: their `generate_LRP(..., method='transformer_attribution', start_layer=s)`; `dist`, "
      "distilled model only, is row 1 of the same product); `attention_gradient.<slot>.<layer>` and "
      "`attention_relevance.<slot>.<layer>` [B, heads, N, N] (their `get_attn_gradients()` and `get_attn_cam()`); "
      "`logits` [B, classes]; `features` (and `features_dist`) [B, D], the head inputs. Real model: "
      "`map.top1.start0.cls`, `map.top2.start0.cls`, `map.top1.start1.cls` (F64 [8, 14, 14]) and "
      "`map32.<slot>.start0.cls` (F32: their code run in float32, for comparison). Metadata: `targets`, "
      "`semantics`, `extension`, `chefer_commit`, `weights_sha256`, versions.")
    a("")
    a("Sensitivity of the stored maps to misreadings of their final step (max relative change):")
    a("")
    names = [n for n in info if n != "real" and info[n]]
    a("| variant | " + " | ".join(names) + " |")
    a("|---|" + "---|" * len(names))
    for v in info[names[0]]["sens"]:
        a(f"| {v} | " + " | ".join(f"{info[n]['sens'][v]:.3g}" for n in names) + " |")
    if info.get("real") and info["real"]["stats"]:
        a("")
        a("LRP in float32 is unstable (tiny denominators): their own code run in float32 against the same code in "
          "float64 on the real model (Pearson r / top-10% patch overlap): "
          + "; ".join(f"{n} {s}: {r:.4f} / {o:.2f}" for n, s, r, o, _ in info["real"]["stats"]) + ".")
    (out / "README.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chefer-dir", required=True, help="checkout of hila-chefer/Transformer-Explainability")
    ap.add_argument("--shared-dir", default="../shared", help="relative paths: to the repository root")
    ap.add_argument("--data-dir", default="tests/data")
    ap.add_argument("--out-dir", default="tests/data/lrp")
    args = ap.parse_args()
    data = (REPO / args.data_dir).resolve()
    out = (REPO / args.out_dir).resolve()
    shared = (REPO / args.shared_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(0)

    chefer = Chefer(Path(args.chefer_dir).resolve())
    commit = chefer.commit()
    log(f"their code: {chefer.root} at {commit}")
    if commit != CHEFER_COMMIT:
        log(f"  WARNING: the committed fixtures were made at {CHEFER_COMMIT}")

    failures, info = [], {}
    for case in SMALL_CASES:
        small_case(chefer, *case, data, out, failures, info)
    real_case(chefer, shared, out, failures, info)
    write_readme(out, info, commit)
    total = sum(p.stat().st_size for p in out.iterdir())
    log(f"\ntests/data/lrp: {total} bytes in all")
    if failures:
        log("CHECK FAILURES:\n  " + "\n  ".join(failures))
        return 1
    log("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
