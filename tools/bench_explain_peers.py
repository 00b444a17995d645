#!/usr/bin/env python3
"""The PyTorch peer of bench_explain: the same explanation methods as a PyTorch user runs them, on the same
models (the weights bench_explain exported with --export-dir), input and thread count.

Per model, timm's model is loaded strictly from vit's exported weights, with its attention modules on the
explicit (non-fused) path so that a forward hook on `attn_drop` sees the attention probabilities A of every
block and keeps their gradient (retain_grad), as the explainability notebooks do. One explanation is: the
forward, the backward of the top-1 logit, and the method on (A, ∂y/∂A) as its authors write it:
- generic-attention: Chefer et al.'s ViT example (R = I; R += mean_h clamp(G ⊙ A) @ R, full N×N products);
- grad-rollout: vit-explain's loop with its two bugs fixed (discard ratio 0, as bench_explain);
- attention-gradcam: Chefer et al.'s generate_cam_attn without the min-max normalisation.
Parameters are frozen (requires_grad False) and the input requires a gradient, so that autograd computes
only activation gradients, like vit::explain (a notebook that leaves the parameters trainable is slower).
Each map is checked against the one vit exported before anything is timed. Timing as tools/bench_peers.py:
a warm-up, then 5 repetitions of at least --min-time seconds; median and minimum.

  tools/bench_explain_peers.py --weights-dir DIR --out peers.json [--threads 2]
"""
import argparse
import json
import os
import platform
import sys

import safetensors.torch
import timm
import torch

from bench_peers import time_batches

MODELS = ["deit_tiny_patch16_224", "vit_base_patch16_224"]
METHODS = ["attention-gradcam", "generic-attention", "grad-rollout"]
MAP_TOLERANCE = 1e-3  # relative to the map's maximum; float32 on both sides, different summation orders


class AttentionRecorder:
    """Keeps every block's attention probabilities (with their gradient after backward)."""

    def __init__(self, model):
        self.maps = []
        for block in model.blocks:
            block.attn.fused_attn = False
            block.attn.attn_drop.register_forward_hook(self.keep)

    def keep(self, module, inputs, output):
        output.retain_grad()
        self.maps.append(output)


def generic_attention(maps, tokens, prefix):
    relevance = torch.eye(tokens)
    for attention in maps:
        cam = (attention.grad[0] * attention[0]).clamp(min=0).mean(dim=0)
        relevance = relevance + cam @ relevance
    return relevance[0, prefix:]


def grad_rollout(maps, tokens, prefix):
    result = torch.eye(tokens)
    for attention in maps:
        fused = (attention[0] * attention.grad[0]).mean(dim=0).clamp(min=0)
        a = (fused + torch.eye(tokens)) / 2
        a = a / a.sum(dim=-1, keepdim=True)
        result = a @ result
    mask = result[0, prefix:]
    return mask / mask.max()


def attention_gradcam(maps, tokens, prefix):
    cam, grad = maps[-1][0, :, 0, prefix:], maps[-1].grad[0, :, 0, prefix:]
    weights = grad.mean(dim=1, keepdim=True)
    return (cam * weights).mean(dim=0).clamp(min=0)


FORMULAS = {"generic-attention": generic_attention, "grad-rollout": grad_rollout, "attention-gradcam": attention_gradcam}


def explainer(model, recorder, method, prefix):
    def explain(images):
        recorder.maps.clear()
        images = images.detach().requires_grad_(True)
        logits = model(images)
        target = int(logits[0].argmax())
        logits[0, target].backward()
        with torch.no_grad():
            tokens = recorder.maps[0].shape[-1]
            return FORMULAS[method](recorder.maps, tokens, prefix).detach(), target

    return explain


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights-dir", required=True, help="bench_explain --export-dir output")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads")
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds per repetition (at least one call)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    results, checks = [], {}
    for name in args.models:
        model = timm.create_model(name, pretrained=False).eval()
        model.load_state_dict(safetensors.torch.load_file(os.path.join(args.weights_dir, name + ".safetensors")))
        model.requires_grad_(False)
        recorder = AttentionRecorder(model)
        check = safetensors.torch.load_file(os.path.join(args.weights_dir, name + ".check.safetensors"))
        for method in METHODS:
            exported = safetensors.torch.load_file(os.path.join(args.weights_dir, f"{name}.{method}.map.safetensors"))
            explain = explainer(model, recorder, method, model.num_prefix_tokens)
            ours, target = explain(check["input"])
            theirs = exported["map"].reshape(-1)
            error = float((ours - theirs).abs().max() / theirs.abs().max().clamp(min=1e-30))
            if target != int(exported["target"][0]) or not error <= MAP_TOLERANCE:
                sys.exit(f"validation failed: {name} {method}: class {target} vs vit's {int(exported['target'][0])}, "
                         f"map error {error:g} relative (> {MAP_TOLERANCE:g})")
            checks[f"{name} {method}"] = error
            median, minimum, iterations = time_batches(lambda: explain(check["input"]), args.min_time)
            results.append({"model": name, "method": method, "ms_median": median * 1e3, "ms_min": minimum * 1e3,
                            "iterations_per_repetition": iterations})
            print(f"{name} {method}: torch {median * 1e3:.2f} ms/explanation (map vs vit: {error:.1e})", flush=True)

    out = {
        "machine": {"processor": platform.processor(), "cpu_count": os.cpu_count(), "python": platform.python_version()},
        "threads": args.threads,
        "peer": "torch",
        "version": torch.__version__,
        "configuration": f"eager autograd, set_num_threads({args.threads}), interop 1, timm {timm.__version__} "
                         f"(non-fused attention, attn_drop hooks), parameters frozen",
        "map_checks_against_vit": checks,
        "results": results,
    }
    with open(args.out, "w") as file:
        json.dump(out, file, indent=1)


if __name__ == "__main__":
    main()
