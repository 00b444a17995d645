#!/usr/bin/env python3
"""The PyTorch peer of bench_explain: the same explanation methods as a PyTorch user runs them, on the same
models (the weights bench_explain exported with --export-dir), input and thread count.

Per model, timm's model is loaded strictly from vit's exported weights, with its attention modules on the
explicit (non-fused) path so that a forward hook on `attn_drop` sees the attention probabilities A of every
block and keeps their gradient (retain_grad), as the explainability notebooks do. One explanation is: the
forward, the backward of the top-1 logit, and the method on (A, ∂y/∂A) as its authors write it:
- generic-attention: Chefer et al.'s ViT example (R = I; R += mean_h clamp(G ⊙ A) @ R, full N×N products);
- grad-rollout: vit-explain's loop with its two bugs fixed (discard ratio 0, as bench_explain);
- attention-gradcam: Chefer et al.'s generate_cam_attn without the min-max normalisation;
- transformer-attribution (with --refs-dir): the authors' own code (Transformer-Explainability's ViT_LRP model
  loaded with the same weights, its LRP.generate_LRP), run from a checkout, never copied; its float32 map is
  checked against vit's by correlation (LRP's float32 maps differ more than a forward pass's, see
  vit/explain/transformer_attribution.hpp).
Parameters are frozen (requires_grad False) and the input requires a gradient, so that autograd computes
only activation gradients, like vit::explain (a notebook that leaves the parameters trainable is slower).
Each map is checked against the one vit exported before anything is timed. Timing as tools/bench_peers.py:
a warm-up, then 5 repetitions of at least --min-time seconds; median and minimum.

  tools/bench_explain_peers.py --weights-dir DIR --out peers.json [--threads 2] [--refs-dir /tmp/refs]
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
LRP_CORRELATION = 0.95  # float32 LRP against float32 LRP, two implementations (vit's: r >= 0.967 to float64)


def chefer_explainer(refs_dir, name, weights):
    """The authors' transformer attribution on their ViT_LRP model with vit's exported weights."""
    import make_lrp_fixtures as lrp  # their modules from the checkout, and the loader the fixtures use

    chefer = lrp.Chefer(os.path.join(refs_dir, "Transformer-Explainability"))
    config = timm.create_model(name, pretrained=False)
    dim, depth, heads = config.embed_dim, len(config.blocks), config.blocks[0].attn.num_heads
    model = lrp.build(chefer, "token", weights, 224, 16, dim, depth, heads, 4 * dim, config.num_classes, 1e-6)
    model.requires_grad_(False)
    generator = chefer.generator.LRP(model)

    def explain(images):
        images = images.detach().requires_grad_(True)
        with lrp.cuda_is_identity():  # index=None: their code explains the top-1 class
            relevance = generator.generate_LRP(images, index=None, method="transformer_attribution", start_layer=0)
        return relevance.detach().reshape(-1)

    def top1(images):
        return int(model(images.detach().requires_grad_(True))[0].argmax())

    return explain, top1


def explainer(model, recorder, method, prefix):
    def explain(images):
        recorder.maps.clear()
        images = images.detach().requires_grad_(True)
        logits = model(images)
        target = int(logits[0].argmax())
        logits[0, target].backward()
        explain.target = target
        with torch.no_grad():
            tokens = recorder.maps[0].shape[-1]
            return FORMULAS[method](recorder.maps, tokens, prefix).detach()

    return explain, lambda images: explain.target


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights-dir", required=True, help="bench_explain --export-dir output")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads")
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds per repetition (at least one call)")
    parser.add_argument("--refs-dir", help="folder with a Transformer-Explainability checkout (transformer-attribution)")
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
        methods = METHODS + (["transformer-attribution"] if args.refs_dir else [])
        for method in methods:
            exported = safetensors.torch.load_file(os.path.join(args.weights_dir, f"{name}.{method}.map.safetensors"))
            vit_map = exported["map"].reshape(-1)
            if method == "transformer-attribution":
                weights = safetensors.torch.load_file(os.path.join(args.weights_dir, name + ".safetensors"))
                explain, top1 = chefer_explainer(args.refs_dir, name, weights)
                ours, target = explain(check["input"]), top1(check["input"])
                error = float(torch.corrcoef(torch.stack([ours.double(), vit_map.double()]))[0, 1])
                good = error >= LRP_CORRELATION
            else:
                explain, top1 = explainer(model, recorder, method, model.num_prefix_tokens)
                ours = explain(check["input"])
                target = top1(check["input"])
                error = float((ours - vit_map).abs().max() / vit_map.abs().max().clamp(min=1e-30))
                good = error <= MAP_TOLERANCE
            if target != int(exported["target"][0]) or not good:
                sys.exit(f"validation failed: {name} {method}: class {target} vs vit's {int(exported['target'][0])}, "
                         f"map {'correlation' if method == 'transformer-attribution' else 'error'} {error:g}")
            checks[f"{name} {method}"] = error
            median, minimum, iterations = time_batches(lambda: explain(check["input"]), args.min_time)
            results.append({"model": name, "method": method, "ms_median": median * 1e3, "ms_min": minimum * 1e3,
                            "iterations_per_repetition": iterations})
            print(f"{name} {method}: torch {median * 1e3:.2f} ms/explanation (map vs vit: {error:.3g})", flush=True)

    out = {
        "machine": {"processor": platform.processor(), "cpu_count": os.cpu_count(), "python": platform.python_version()},
        "threads": args.threads,
        "peer": "torch",
        "version": torch.__version__,
        "configuration": f"eager autograd, set_num_threads({args.threads}), interop 1, timm {timm.__version__} "
                         f"(non-fused attention, attn_drop hooks), parameters frozen",
        "map_checks_against_vit": checks,  # max error relative to the map's maximum; correlation for LRP
        "results": results,
    }
    with open(args.out, "w") as file:
        json.dump(out, file, indent=1)


if __name__ == "__main__":
    main()
