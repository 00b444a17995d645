#!/usr/bin/env python3
"""Markdown tables from the GPU benchmark results that tools/gpu_check.sh writes into RESULTS_DIR:
bench_cuda_kernels.jsonl, bench_cuda_forward.jsonl (our binaries, bench/cuda/) and bench_gpu_peers.jsonl
(tools/bench_gpu_peers.py). Each result is our time, PyTorch's and the ratio, plus the issue-6 GPU targets:
  - ViT-B/16 bf16 at batch 256: ≥ 1.3x PyTorch eager (SDPA) and ≥ 1.0x torch.compile (whole forward calls:
    host images in, logits on the host, as bench_cuda_forward times CudaModel::forward);
  - fused attention at N = 197, d = 64 at least as fast as PyTorch's best SDPA backend (every H and B);
  - attention maps on cost ≤ 15% end to end.
A missing file or record gives "not measured", never a number.

usage: tools/bench_gpu_report.py RESULTS_DIR [--out FILE]
"""
import argparse
import json
import os
import sys


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def kind(records, name):
    return [r for r in records if r.get("kind") == name]


def fmt(value, digits=3):
    return "n/a" if value is None else f"{value:.{digits}f}"


def verdict(ratio, target):
    if ratio is None:
        return "not measured"
    return "met" if ratio >= target else "**not met**"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def best_sdpa(peers, dtype, tokens, heads, batch):
    """(ms, backend) of PyTorch's fastest SDPA backend for the shape, or (None, None)."""
    candidates = [r for r in kind(peers, "peer_sdpa") if "median_ms" in r and r["dtype"] == dtype
                  and r["tokens"] == tokens and r["heads"] == heads and r["batch"] == batch]
    if not candidates:
        return None, None
    best = min(candidates, key=lambda r: r["median_ms"])
    return best["median_ms"], best["backend"]


def peer_model(peers, mode, model, dtype, batch):
    for r in kind(peers, "peer_model"):
        if (r.get("mode"), r.get("model"), r.get("dtype"), r.get("batch")) == (mode, model, dtype, batch) \
                and "error" not in r:
            return r
    return None


def ours_forward(forward, model, dtype, batch, maps):
    for r in kind(forward, "forward"):
        if (r["model"], r["dtype"], r["batch"], r["maps"]) == (model, dtype, batch, maps):
            return r
    return None


def report(results_dir):
    kernels = load(os.path.join(results_dir, "bench_cuda_kernels.jsonl"))
    forward = load(os.path.join(results_dir, "bench_cuda_forward.jsonl"))
    peers = load(os.path.join(results_dir, "bench_gpu_peers.jsonl"))
    out = ["# vit on the GPU: benchmarks against PyTorch", ""]
    for r in kind(kernels, "device")[:1]:
        out.append(f"- device: {r['device']}")
    for r in kind(peers, "peer_versions")[:1]:
        out.append(f"- PyTorch {r['torch']}, timm {r['timm']}, CUDA {r['cuda']}, cuDNN {r['cudnn']}, "
                   f"torch.compile mode \"{r['compile_mode']}\", TF32 matmul {r['tf32_matmul']}")
    out += ["- ratios: PyTorch time / our time (> 1: we are faster), except maps on/off (our time ratio)", ""]

    # Targets.
    out += ["## Issue 6 GPU targets", ""]
    rows = []
    ours = ours_forward(forward, "vit_base_patch16_224", "bf16", 256, False)
    for mode, target in (("eager", 1.3), ("compile", 1.0)):
        peer = peer_model(peers, mode, "vit_base_patch16_224", "bf16", 256)
        ratio = peer["whole_call_median_ms"] / ours["median_ms"] if ours and peer else None
        rows.append([f"ViT-B/16 bf16 B=256 vs PyTorch {mode}", fmt(ours and ours["median_ms"]),
                     fmt(peer and peer["whole_call_median_ms"]), fmt(ratio), f"≥ {target}", verdict(ratio, target)])
    attention_ratios = []
    for r in kind(kernels, "attention"):
        if r["tokens"] == 197 and r["head_dim"] == 64 and not r["maps"]:
            best, _ = best_sdpa(peers, r["dtype"], 197, r["heads"], r["batch"])
            if best is not None:
                attention_ratios.append((best / r["fused_median_ms"], r))
    worst = min(attention_ratios, key=lambda pair: pair[0]) if attention_ratios else None
    rows.append(["fused attention N=197 d=64 vs best SDPA (worst shape" +
                 (f": {worst[1]['dtype']} H={worst[1]['heads']} B={worst[1]['batch']})" if worst else ")"),
                 fmt(worst and worst[1]["fused_median_ms"], 4), "", fmt(worst and worst[0]), "≥ 1.0",
                 verdict(worst and worst[0], 1.0)])
    maps = [r for r in kind(forward, "forward") if r["maps"]]
    worst_maps = max(maps, key=lambda r: r["maps_on_over_off"]) if maps else None
    cost = worst_maps["maps_on_over_off"] - 1 if worst_maps else None
    rows.append(["maps on, end to end (worst: " + (f"{worst_maps['model']} {worst_maps['dtype']} "
                                                    f"B={worst_maps['batch']})" if worst_maps else ")"),
                 "", "", fmt(cost and cost * 100, 1) + " % extra", "≤ 15 %",
                 "not measured" if cost is None else ("met" if cost <= 0.15 else "**not met**")])
    out += [table(["target", "ours ms", "PyTorch ms", "ratio", "target", ""], rows), ""]

    # End to end.
    out += ["## End to end (whole forward calls: host images in, logits on the host)", ""]
    rows = []
    for r in kind(forward, "forward"):
        if r["maps"]:
            continue
        on = ours_forward(forward, r["model"], r["dtype"], r["batch"], True)
        eager = peer_model(peers, "eager", r["model"], r["dtype"], r["batch"])
        compiled = peer_model(peers, "compile", r["model"], r["dtype"], r["batch"])
        rows.append([r["model"], r["dtype"], r["batch"], fmt(r["median_ms"]), fmt(r["images_per_s"], 1),
                     fmt(on and on["maps_on_over_off"]), f"{r['device_bytes_used'] / 2**20:.0f}",
                     fmt(eager and eager["whole_call_median_ms"]),
                     fmt(eager and eager["whole_call_median_ms"] / r["median_ms"]),
                     fmt(compiled and compiled["whole_call_median_ms"] / r["median_ms"]),
                     ", ".join(eager["sdpa_ops"]) if eager and eager.get("sdpa_ops") else ""])
    out += [table(["model", "dtype", "B", "ours ms", "ours img/s", "maps on/off", "device MiB", "eager ms",
                   "eager/ours", "compile/ours", "PyTorch SDPA op"], rows), ""]

    # Attention.
    out += ["## Attention (d = 64): fused vs our unfused path vs PyTorch SDPA", ""]
    rows = []
    for r in kind(kernels, "attention"):
        best, backend = best_sdpa(peers, r["dtype"], r["tokens"], r["heads"], r["batch"])
        rows.append([r["dtype"], r["tokens"], r["heads"], r["batch"], "on" if r["maps"] else "off",
                     fmt(r["fused_median_ms"], 4), fmt(r["fused_tflops"], 1), fmt(r["unfused_median_ms"], 4),
                     fmt(r["fused_over_unfused"]), fmt(best, 4), backend or "",
                     "" if r["maps"] else fmt(best and best / r["fused_median_ms"])])
    out += [table(["dtype", "N", "H", "B", "maps", "fused ms", "TFLOP/s", "unfused ms", "fused/unfused",
                   "best SDPA ms", "backend", "SDPA/fused"], rows), ""]

    # Memory-bound kernels and GEMM.
    for r in kind(kernels, "bandwidth")[:1]:
        out += [f"## Memory-bound kernels (peak {r['peak_gbs']:.0f} GB/s from {r['peak_source']}; "
                f"device-to-device copy {r['memcpy_gbs']:.0f} GB/s)", ""]
    rows = [[r["kernel"], r["dtype"], f"{r['rows']}x{r['cols']}", fmt(r["median_ms"], 4), fmt(r["gbs"], 0),
             fmt(r["percent_of_peak"], 1), fmt(r["percent_of_memcpy"], 1)] for r in kind(kernels, "memory")]
    out += [table(["kernel", "dtype", "shape", "ms", "GB/s", "% peak", "% copy"], rows), ""]
    out += ["## GEMM at ViT-B shapes: our Blas::linear vs cuBLASLt's best heuristic algorithm", ""]
    rows = [[r["dtype"], r["layer"], f"{r['m']}x{r['k']}x{r['n']}", fmt(r["ours_tflops"], 1), fmt(r["lt_tflops"], 1),
             r["lt_algorithms_tried"], fmt(r["ours_speed_over_lt"])] for r in kind(kernels, "gemm")]
    out += [table(["dtype", "layer", "MxKxN", "ours TFLOP/s", "cuBLASLt TFLOP/s", "algos", "Lt ms / ours ms"], rows),
            ""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results_dir")
    parser.add_argument("--out", help="write the Markdown here (default: stdout)")
    args = parser.parse_args()
    text = report(args.results_dir)
    if args.out:
        with open(args.out, "w") as file:
            file.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
