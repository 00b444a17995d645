#!/usr/bin/env python3
"""PyTorch eager's side of bench/bench_train.cpp: the same optimizer step on the same model and batch.

For each case folder that bench_train exported (DIR/CASE/model: a timm checkpoint folder; DIR/CASE/batch.safetensors),
builds timm's VisionTransformer from the folder's config.json, loads the weights strictly, and times
    loss = F.cross_entropy(model(images), labels, label_smoothing=0.1); loss.backward();
    clip_grad_norm_(params, 1.0); AdamW(timm's weight-decay groups, lr 1e-4, wd 0.05).step(); zero_grad
First validates: the first step's loss must equal vit's (given with --vit-json) within 1e-4, or the case fails.

    python tools/bench_train_peers.py --export-dir DIR --threads T [--steps N] [--vit-json vit.jsonl] > peers.jsonl
"""
import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from timm.models.vision_transformer import VisionTransformer
from timm.optim import param_groups_weight_decay


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export-dir", type=Path, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--vit-json", type=Path, help="bench_train's output, to check the first losses against")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    vit_loss = {}
    if args.vit_json:
        for line in args.vit_json.read_text().splitlines():
            record = json.loads(line)
            vit_loss[record["case"]] = record["first_loss"]
    for case in sorted(p for p in args.export_dir.iterdir() if (p / "model").is_dir()):
        config = json.loads((case / "model" / "config.json").read_text())
        model = VisionTransformer(**config["model_args"], num_classes=config["num_classes"])
        model.load_state_dict(load_file(str(case / "model" / "model.safetensors")), strict=True)
        model.train()
        batch = load_file(str(case / "batch.safetensors"))
        images, labels = batch["images"], batch["labels"].long()
        optimizer = torch.optim.AdamW(param_groups_weight_decay(model, 0.05, model.no_weight_decay()), lr=1e-4)
        params = list(model.parameters())
        timed = max(3, args.steps // 3) if images.shape[-1] >= 224 else args.steps
        seconds, first_loss = [], None
        for step in range(2 + timed):
            start = time.perf_counter()
            loss = F.cross_entropy(model(images), labels, label_smoothing=0.1)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            elapsed = time.perf_counter() - start
            if step == 0:
                first_loss = loss.item()
            if step >= 2:
                seconds.append(elapsed)
        if case.name in vit_loss and abs(vit_loss[case.name] - first_loss) > 1e-4 * max(1.0, abs(first_loss)):
            raise SystemExit(f"{case.name}: PyTorch's first loss {first_loss} differs from vit's {vit_loss[case.name]}")
        median = statistics.median(seconds)
        print(json.dumps({"case": case.name, "framework": "pytorch-eager", "threads": args.threads,
                          "batch": int(images.shape[0]), "steps": len(seconds), "median_s": median,
                          "min_s": min(seconds), "images_per_s": images.shape[0] / median, "first_loss": first_loss,
                          "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
