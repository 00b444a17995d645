#!/usr/bin/env python3
"""PyTorch reference for `train --fashion-mnist` (examples/train.cpp): the identical model, data order,
augmentation and hyperparameters, trained with timm + torch, logged in the same CSV columns.

1. Run the C++ tool; it writes the new model's initial weights to CPP_OUT/initial (a timm checkpoint folder):
       build/examples/train --fashion-mnist --patch 4 --width 64 --depth 6 --heads 4 --epochs 10 \\
           --batch 128 --lr 1e-3 --seed 0 --threads 2 --out runs/vit
2. Train the same model from the same weights in PyTorch, with the same options:
       python3 tools/train_reference.py --initial runs/vit/initial --epochs 10 --batch 128 --lr 1e-3 \\
           --seed 0 --threads 2 --out runs/torch
3. Plot both: python3 tools/plot_training.py runs/vit runs/torch --out curves.png

What it does, as the C++ tool does:
- model: timm's VisionTransformer(**model_args, num_classes=N) from INITIAL/config.json,
  load_state_dict(strict=True) from INITIAL/model.safetensors; model.train() (no dropout in either);
- data: Fashion-MNIST's gzip IDX files; --train-limit/--val-limit take the first N images; each epoch's
  batches are tools/data_order.py's epoch_batches(seed, epoch, drop_last=True); sample i of epoch e is
  augmented from augmentation_stream(seed, e, i) as vit's random_crop_transform(28, padding 2) draws it:
  top = below(5), left = below(5) in the zero-padded 32x32 image, then a flip when uniform() < 0.5; then
  (pixel * float32(1/255) - 0.2860) / 0.3530 in float32, the multiply-subtract fused as a vit built with
  -march=native computes it (--no-fma: not fused). Evaluation: in order, no augmentation;
- optimisation: torch.optim.AdamW(betas 0.9/0.999, eps 1e-8) over timm's
  param_groups_weight_decay(model, wd, model.no_weight_decay()); before step t the learning rate of
  lr_schedule.hpp (linear warm-up over int(warmup * steps_per_epoch) steps, cosine to min(min_lr, lr));
  F.cross_entropy with label smoothing; clip_grad_norm_ when --clip > 0;
- log: OUT/log.csv with the C++ tool's columns; train loss/top-1 are those of each batch before its update,
  validation is the mean cross-entropy without smoothing, top-1 and top-5 after each epoch.

--check-batches N compares the first N training batches (epoch --check-epoch) and the first N evaluation
batches with what vit's DataLoader makes, dumped by tools/dump_batches.cpp (its header says how to build it):
    python3 tools/train_reference.py --check-batches 4 --dumper build/dump_batches --seed 7 --check-epoch 2
(checked: --check-batches 469 --check-epoch 5 --seed 12345, the whole epoch's 59,904 training images and the
10,000 test images, bit-identical; so were runs with --train-limit/--val-limit and batch 100.)
--make-initial writes OUT/initial with timm's own initialisation (torch.manual_seed(seed)) in the same format,
for when no C++ run is at hand; those are not vit's initial weights.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from timm.models.vision_transformer import VisionTransformer
from timm.optim import param_groups_weight_decay

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_order import augmentation_stream, epoch_batches  # noqa: E402

MEAN, STD, PADDING, SIZE = np.float32(0.2860), np.float32(0.3530), 2, 28  # vit::kFashionMnistMean/Std
COLUMNS = "epoch,steps,lr,train_loss,train_top1,val_loss,val_top1,val_top5,epoch_seconds,images_per_second"


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or raw) of unsigned bytes as a numpy array of its shape."""
    data = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    assert data[:2] == b"\0\0" and data[2] == 0x08, f"{path}: not an IDX file of unsigned bytes"
    rank = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(shape)


def load_split(directory: Path, prefix: str, limit: int) -> tuple[np.ndarray, np.ndarray]:
    def find(stem):
        for name in (stem + ".gz", stem):
            if (directory / name).exists():
                return directory / name
        raise SystemExit(f"{directory}: no {stem} (nor {stem}.gz)")
    images, labels = read_idx(find(f"{prefix}-images-idx3-ubyte")), read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    return (images[:limit], labels[:limit]) if limit > 0 else (images, labels)


def normalization_table(fused: bool) -> np.ndarray:
    """The float32 value of each pixel value: (p * float(1/255) - mean) / std in float32, as vit's
    Transform::normalize. Built with -march=native (the project's default), GCC contracts p * scale - mean into
    one fused multiply-add (one rounding instead of two); in double that product and difference are exact,
    so rounding them once to float32 is the FMA's result."""
    p = np.arange(256, dtype=np.float64)
    if fused:
        shifted = (p * np.float64(np.float32(1.0 / 255.0)) - np.float64(MEAN)).astype(np.float32)
    else:
        shifted = p.astype(np.float32) * np.float32(1.0 / 255.0) - MEAN
    return shifted / STD


TABLE = normalization_table(fused=True)


def normalize(pixels: np.ndarray) -> torch.Tensor:
    """uint8 [B, H, W] -> float32 [B, 1, H, W], normalised as vit does (TABLE)."""
    return torch.from_numpy(TABLE[pixels][:, None])


def train_batch(padded: np.ndarray, indices: list[int], seed: int, epoch: int) -> np.ndarray:
    """The augmented uint8 [B, 28, 28] of one training batch; padded: all images with their zero border."""
    out = np.empty((len(indices), SIZE, SIZE), np.uint8)
    room = padded.shape[1] - SIZE + 1
    for row, index in enumerate(indices):
        random = augmentation_stream(seed, epoch, index)
        top = random.below(room)  # torchvision's RandomCrop.get_params: top, then left
        left = random.below(room)
        crop = padded[index, top: top + SIZE, left: left + SIZE]
        out[row] = crop[:, ::-1] if random.uniform() < 0.5 else crop  # RandomHorizontalFlip(0.5)
    return out


def lr_at(step: int, base: float, warmup_steps: int, total_steps: int, floor: float) -> float:
    """include/vit/train/lr_schedule.hpp"""
    if step < warmup_steps:
        return base * (step + 1) / warmup_steps
    progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
    return floor + (base - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def load_model(initial: Path) -> VisionTransformer:
    config = json.loads((initial / "config.json").read_text())
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in config["model_args"].items()}
    model = VisionTransformer(**args, num_classes=config["num_classes"])
    model.load_state_dict(load_file(str(initial / "model.safetensors")), strict=True)
    return model


def make_initial(out: Path, a) -> None:
    """OUT/initial in the C++ tool's format, with timm's initialisation: a stand-in, not vit's weights."""
    torch.manual_seed(a.seed)
    args = dict(img_size=[SIZE, SIZE], patch_size=a.patch, in_chans=1, global_pool=a.pool, embed_dim=a.width,
                depth=a.depth, num_heads=a.heads, mlp_ratio=a.mlp_ratio, qkv_bias=True, class_token=True,
                fc_norm=a.pool == "avg")
    model = VisionTransformer(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}, num_classes=10)
    (out / "initial").mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "initial/model.safetensors"),
              metadata={"format": "pt"})
    config = {"architecture": "vit_tiny_patch16_224", "num_classes": 10, "num_features": a.width,
              "global_pool": a.pool, "model_args": args}
    (out / "initial/config.json").write_text(json.dumps(config, indent=2) + "\n")


@torch.no_grad()
def evaluate(model, images: np.ndarray, labels: np.ndarray, batch: int) -> tuple[float, float, float]:
    model.eval()
    loss_sum, top1, top5 = 0.0, 0, 0
    for begin in range(0, len(images), batch):
        x, y = normalize(images[begin: begin + batch]), torch.from_numpy(labels[begin: begin + batch].astype(np.int64))
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y).item() * len(y)
        best = logits.topk(min(5, logits.shape[1]), dim=1).indices
        top1 += (best[:, 0] == y).sum().item()
        top5 += (best == y[:, None]).any(dim=1).sum().item()
    model.train()
    return loss_sum / len(images), top1 / len(images), top5 / len(images)


def check_batches(a, train, val) -> int:
    """Compares the first a.check_batches batches with tools/dump_batches.cpp's; returns the exit status."""
    with tempfile.TemporaryDirectory() as temp:
        dump = Path(a.dump) if a.dump else Path(temp)
        if not a.dump:
            subprocess.run([a.dumper, temp, str(a.seed), str(a.check_epoch), str(a.batch), str(a.check_batches),
                            str(a.train_limit), str(a.val_limit), str(a.fashion_mnist_dir)], check=True)
        vit = {k: np.load(dump / f"{k}.npy") for k in ("train.images", "train.labels", "train.indices",
                                                      "val.images", "val.labels", "val.indices")}
    padded = np.pad(train[0], ((0, 0), (PADDING, PADDING), (PADDING, PADDING)))
    order = [i for b in epoch_batches(len(train[0]), a.batch, a.seed, a.check_epoch, True, True)[:a.check_batches]
             for i in b]
    ours = {"train.images": normalize(train_batch(padded, order, a.seed, a.check_epoch)).numpy(),
            "train.labels": train[1][order].astype(np.float32), "train.indices": np.array(order, np.float32)}
    val_order = list(range(min(len(val[0]), a.check_batches * a.batch)))
    ours.update({"val.images": normalize(val[0][val_order]).numpy(), "val.labels": val[1][val_order].astype(np.float32),
                 "val.indices": np.array(val_order, np.float32)})
    failed = False
    for key, want in vit.items():
        got = ours[key]
        if got.shape != want.shape:
            print(f"{key}: shape {got.shape}, vit's {want.shape}: DIFFERENT")
            failed = True
            continue
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        ok = diff.max(initial=0) <= 1e-7
        failed |= not ok
        print(f"{key}: {want.shape}, {np.count_nonzero(got != want)} values differ, max |diff| {diff.max(initial=0):.3g}"
              f" ({'ok' if ok else 'DIFFERENT'})")
    return 1 if failed else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--initial", type=Path, help="the C++ run's OUT/initial folder (default: OUT/initial)")
    p.add_argument("--out", type=Path, help="output folder: log.csv, model.safetensors")
    p.add_argument("--fashion-mnist-dir", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    p.add_argument("--train-limit", type=int, default=0, help="train on the first N images only")
    p.add_argument("--val-limit", type=int, default=0, help="validate on the first N images only")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup", type=float, default=1, help="warm-up epochs (linear), then cosine decay")
    p.add_argument("--min-lr", type=float, default=1e-6)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--clip", type=float, default=0, help="clip gradients to this global norm (0: off)")
    p.add_argument("--no-augment", action="store_true", help="no training augmentation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--check-batches", type=int, default=0, metavar="N", help="compare the first N batches with vit's")
    p.add_argument("--check-epoch", type=int, default=0)
    p.add_argument("--dumper", default="build/dump_batches", help="tools/dump_batches.cpp built")
    p.add_argument("--dump", help="a folder dump_batches already wrote (instead of running --dumper)")
    p.add_argument("--make-initial", action="store_true", help="write OUT/initial with timm's init and stop")
    for name, default in (("patch", 4), ("width", 64), ("depth", 6), ("heads", 4), ("mlp-ratio", 4.0), ("pool", "token")):
        p.add_argument(f"--{name}", type=type(default), default=default, help="with --make-initial")
    p.add_argument("--no-fma", action="store_true",
                   help="normalise as a vit built without -march=native does (two roundings, no FMA)")
    a = p.parse_args()
    if a.no_fma:
        TABLE[:] = normalization_table(fused=False)
    torch.set_num_threads(a.threads)

    train = load_split(a.fashion_mnist_dir, "train", a.train_limit)
    val = load_split(a.fashion_mnist_dir, "t10k", a.val_limit)
    if a.check_batches:
        return check_batches(a, train, val)
    if a.out is None:
        p.error("--out is required")
    if a.make_initial:
        make_initial(a.out, a)
        return 0

    model = load_model(a.initial or a.out / "initial")
    model.train()
    groups = param_groups_weight_decay(model, a.weight_decay, model.no_weight_decay())
    optimizer = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = len(train[0]) // a.batch
    if steps_per_epoch == 0:
        p.error(f"--batch {a.batch} is larger than the training data")
    warmup_steps, total_steps = int(a.warmup * steps_per_epoch), a.epochs * steps_per_epoch
    floor = min(a.min_lr, a.lr)
    if not 0 <= warmup_steps < total_steps:
        p.error(f"{warmup_steps} warm-up steps for {total_steps} steps in all (warm-up must end before the last step)")
    padded = np.pad(train[0], ((0, 0), (PADDING, PADDING), (PADDING, PADDING)))
    labels = torch.from_numpy(train[1].astype(np.int64))
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "log.csv").write_text(COLUMNS + "\n")
    print(f"{sum(p.numel() for p in model.parameters())} parameters; {len(train[0])} training, {len(val[0])} "
          f"validation images; {steps_per_epoch} steps per epoch")
    step = 0
    for epoch in range(a.epochs):
        start = time.perf_counter()
        loss_sum, correct, seen = 0.0, 0, 0
        for indices in epoch_batches(len(train[0]), a.batch, a.seed, epoch, shuffle=True, drop_last=True):
            pixels = train[0][indices] if a.no_augment else train_batch(padded, indices, a.seed, epoch)
            x, y = normalize(pixels), labels[indices]
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, a.lr, warmup_steps, total_steps, floor)
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=a.label_smoothing)
            loss.backward()
            if a.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            optimizer.step()
            step += 1
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(dim=1) == y).sum().item()
            seen += len(y)
        train_seconds = time.perf_counter() - start
        val_loss, val_top1, val_top5 = evaluate(model, val[0], val[1], a.batch)
        epoch_seconds = time.perf_counter() - start
        row = [epoch + 1, step, lr_at(step - 1, a.lr, warmup_steps, total_steps, floor), loss_sum / seen,
               correct / seen, val_loss, val_top1, val_top5, epoch_seconds, seen / train_seconds]
        with open(a.out / "log.csv", "a") as log:
            log.write(",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in row) + "\n")
        print(f"epoch {epoch + 1}/{a.epochs}: train loss {loss_sum / seen:.4f} top-1 {100 * correct / seen:.2f}% | "
              f"val loss {val_loss:.4f} top-1 {100 * val_top1:.2f}% top-5 {100 * val_top5:.2f}% | "
              f"{epoch_seconds:.0f} s, {seen / train_seconds:.0f} img/s", flush=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(a.out / "model.safetensors"),
              metadata={"format": "pt"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
