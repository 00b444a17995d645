#!/usr/bin/env python3
"""Generate the PyTorch training-parity fixtures for the C++ `vit` library (tests/data/training/).

Each fixture is 20 optimizer steps of a small timm model trained by PyTorch, from the same initial
weights and on the same batches that the C++ test feeds `vit::train`:

  NAME.initial.safetensors   the weights before the first step, timm names (timm's own initialisation,
                             torch seed): the checkpoint the C++ test loads
  NAME.training.safetensors
    final.<timm name>     the weights after the last step
    final64.<timm name>   the weights after the same steps in float64 (stored as float32)
    images                [steps, B, C, H, W] float32, N(0, 1)
    labels                [steps, B] class indices (stored as float32, exact)
    loss                  [steps] the cross-entropy of each batch before its update (float64)
    grad_norm             [steps] the global 2-norm of the trainable gradients before clipping (float64)
    lr                    [steps] the base learning rate of each step (float64)
    __metadata__          the architecture and every hyperparameter (see CONFIGS)

What PyTorch does per step (torch 2.15, float32, one thread, model.train(); no dropout anywhere):
  loss = F.cross_entropy(model(images[t]), labels[t], label_smoothing=ε)
  loss.backward(); clip_grad_norm_(trainable, max_norm) when clipping; optimizer.step()
with torch.optim.AdamW or torch.optim.SGD over timm's own parameter groups
(timm.optim.param_groups_weight_decay with model.no_weight_decay(): no decay for 1-D parameters,
biases, pos_embed, cls_token, dist_token), the head's groups at lr · head_lr_scale, frozen parameters
(requires_grad=False) left out, and the learning rate of step t set before the step to
  t < W: base·(t+1)/W;  else floor + (base - floor)·½(1 + cos(π (t - W)/(T - W)))
(written here from its definition in include/vit/train/lr_schedule.hpp's comment, not from its code).

Usage:  /work/venv/bin/python tools/make_training_fixtures.py [--out tests/data/training]
Reproducible: seeded, one thread, deterministic writer (byte-identical files on a rerun).
"""
import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
import timm
from timm.models.deit import VisionTransformerDistilled
from timm.models.vision_transformer import VisionTransformer
from timm.optim import param_groups_weight_decay

sys.path.insert(0, str(Path(__file__).resolve().parent))
from safetensors_writer import write_safetensors  # noqa: E402

STEPS = 20

# Each: architecture, data, optimizer, schedule and freezing. trainable_blocks < 0: everything trains;
# 0: the head only; k: the head, the final norm and the last k blocks.
CONFIGS = {
    "vit_adamw": dict(arch="vit", img=16, patch=4, chans=3, dim=48, depth=3, heads=3, mlp_ratio=2.0, classes=7,
                      pool="token", batch=6, optimizer="adamw", lr=3e-3, weight_decay=0.05, warmup=4, min_lr=1e-5,
                      clip=1.0, label_smoothing=0.1, trainable_blocks=-1, head_lr_scale=1.0, seed=11),
    "deit_distilled_sgd_last_block": dict(arch="deit_distilled", img=16, patch=4, chans=3, dim=32, depth=3, heads=2,
                                          mlp_ratio=4.0, classes=5, pool="token", batch=5, optimizer="sgd", lr=0.05,
                                          momentum=0.9, nesterov=False, weight_decay=1e-4, warmup=0, min_lr=0.0,
                                          clip=0.5, label_smoothing=0.0, trainable_blocks=1, head_lr_scale=10.0,
                                          seed=12),
    "vit_meanpool_grey_adamw": dict(arch="vit", img=28, patch=7, chans=1, dim=32, depth=2, heads=4, mlp_ratio=4.0,
                                    classes=10, pool="avg", batch=8, optimizer="adamw", lr=1e-3, weight_decay=0.05,
                                    warmup=5, min_lr=0.0, clip=0.0, label_smoothing=0.1, trainable_blocks=-1,
                                    head_lr_scale=1.0, seed=13),
    "vit_linear_probe_nesterov": dict(arch="vit", img=16, patch=4, chans=3, dim=48, depth=3, heads=3, mlp_ratio=2.0,
                                      classes=4, pool="token", batch=6, optimizer="sgd", lr=0.1, momentum=0.9,
                                      nesterov=True, weight_decay=0.05, warmup=2, min_lr=0.0, clip=2.0,
                                      label_smoothing=0.2, trainable_blocks=0, head_lr_scale=1.0, seed=14),
}


def build_model(c):
    kwargs = dict(img_size=c["img"], patch_size=c["patch"], in_chans=c["chans"], num_classes=c["classes"],
                  embed_dim=c["dim"], depth=c["depth"], num_heads=c["heads"], mlp_ratio=c["mlp_ratio"],
                  qkv_bias=True, global_pool=c["pool"])
    if c["arch"] == "deit_distilled":
        return VisionTransformerDistilled(**kwargs)
    return VisionTransformer(**kwargs)


def is_head(name):
    return name.startswith("head.") or name.startswith("head_dist.")


def trainable(name, c):
    k = c["trainable_blocks"]
    if k < 0 or is_head(name):
        return True
    if k == 0:
        return False
    if name.startswith("norm.") or name.startswith("fc_norm."):
        return True
    if name.startswith("blocks."):
        return int(name.split(".")[1]) >= c["depth"] - k
    return False


def schedule(c, t):
    base, warmup, floor = c["lr"], c["warmup"], c["min_lr"]
    if t < warmup:
        return base * (t + 1) / warmup
    progress = (t - warmup) / (STEPS - warmup)
    return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def run(c, initial, images, labels, dtype):
    """STEPS optimizer steps from `initial` on (images, labels) in `dtype`; returns (final state, losses,
    gradient norms, learning rates)."""
    model = build_model(c).to(dtype)
    model.load_state_dict({k: v.to(dtype) for k, v in initial.items()})
    model.train()
    for pname, p in model.named_parameters():
        p.requires_grad_(trainable(pname, c))
    groups = []
    head_ids = {id(p) for n, p in model.named_parameters() if is_head(n)}
    for group in param_groups_weight_decay(model, c["weight_decay"], no_weight_decay_list=model.no_weight_decay()):
        params = group["params"]
        for scale, members in ((c["head_lr_scale"], [p for p in params if id(p) in head_ids]),
                               (1.0, [p for p in params if id(p) not in head_ids])):
            if members:
                groups.append(dict(params=members, weight_decay=group["weight_decay"], lr_scale=scale))
    if c["optimizer"] == "adamw":
        optimizer = torch.optim.AdamW(groups, lr=c["lr"], betas=(0.9, 0.999), eps=1e-8)
    else:
        optimizer = torch.optim.SGD(groups, lr=c["lr"], momentum=c["momentum"], nesterov=c["nesterov"])
    trainable_params = [p for p in model.parameters() if p.requires_grad]
    losses, norms, lrs = [], [], []
    for t in range(STEPS):
        lr = schedule(c, t)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(images[t].to(dtype)), labels[t], label_smoothing=c["label_smoothing"])
        loss.backward()
        if c["clip"] > 0:
            norm = torch.nn.utils.clip_grad_norm_(trainable_params, c["clip"])
        else:
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in trainable_params]))
        optimizer.step()
        losses.append(loss.item())
        norms.append(norm.item())
        lrs.append(lr)
    return {k: v.detach() for k, v in model.state_dict().items()}, losses, norms, lrs


def parameter_error(final, reference):
    """max over tensors of max|Δθ| / max|θ_reference|, key biases left out (their gradient is rounding noise:
    tests/training_parity.hpp)."""
    worst, worst_name = 0.0, ""
    for k, want in reference.items():
        got = final[k]
        if k.endswith("attn.qkv.bias"):
            d = want.shape[0] // 3
            got, want = torch.cat([got[:d], got[2 * d:]]), torch.cat([want[:d], want[2 * d:]])
        error = ((got.double() - want.double()).abs().max() / want.double().abs().max().clamp_min(1e-30)).item()
        if error > worst:
            worst, worst_name = error, k
    return worst, worst_name


def make(name, c, out):
    torch.manual_seed(c["seed"])
    initial = {k: v.detach().clone() for k, v in build_model(c).state_dict().items()}
    generator = torch.Generator().manual_seed(1000 + c["seed"])
    images = torch.randn(STEPS, c["batch"], c["chans"], c["img"], c["img"], generator=generator)
    labels = torch.randint(0, c["classes"], (STEPS, c["batch"]), generator=generator)
    final, losses, norms, lrs = run(c, initial, images, labels, torch.float32)
    # The same steps in float64: how far PyTorch's own float32 run lands from exact arithmetic (the noise floor
    # of a 20-step comparison; Adam's first steps are sign descent, which amplifies rounding in tiny gradients).
    final64, losses64, _, _ = run(c, initial, images, labels, torch.float64)
    noise, noise_name = parameter_error(final, final64)
    loss_noise = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(losses, losses64))

    write_safetensors(out / f"{name}.initial.safetensors", initial, {"format": "pt"})
    tensors = {f"final.{k}": v for k, v in final.items()}
    # float64 results stored as float32: the rounding (6e-8 relative) is far below the differences compared
    tensors.update({f"final64.{k}": v.to(torch.float32) for k, v in final64.items()})
    tensors["images"] = images
    tensors["labels"] = labels.to(torch.float32)
    tensors["loss"] = torch.tensor(losses, dtype=torch.float64)
    tensors["grad_norm"] = torch.tensor(norms, dtype=torch.float64)
    tensors["lr"] = torch.tensor(lrs, dtype=torch.float64)
    metadata = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in c.items()}
    metadata.update(steps=STEPS, torch=torch.__version__, timm=timm.__version__,
                    torch_float32_parameter_error=f"{noise:.3e}", torch_float32_loss_error=f"{loss_noise:.3e}")
    write_safetensors(out / f"{name}.training.safetensors", tensors, metadata, keep_float64=True)
    moved = max((final[k] - initial[k]).abs().max().item() for k in final)
    line = (f"{name}: loss {losses[0]:.4f} -> {losses[-1]:.4f}, largest weight change {moved:.3g}; "
            f"PyTorch float32 vs float64: parameters {noise:.2e} ({noise_name}), loss {loss_noise:.2e}")
    print(line)
    return line


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "tests/data/training")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    lines = [make(name, c, args.out) for name, c in CONFIGS.items()]
    readme = ["# Training-parity fixtures", "",
              "Written by `tools/make_training_fixtures.py` (its docstring describes every tensor); read by",
              "`tests/training_parity.hpp`. Per case: 20 optimizer steps of PyTorch from the same initial weights, and",
              "how far PyTorch's own float32 run lands from the same steps in float64 (relative to each tensor's",
              "largest value, key biases left out):", ""]
    readme += [f"- {line}" for line in lines]
    (args.out / "README.md").write_text("\n".join(readme) + "\n")


if __name__ == "__main__":
    main()
