#!/usr/bin/env python3
"""The peers of bench_forward, on the same machine and the same models: PyTorch (eager, the PyPI wheel,
torch.inference_mode) and ONNX Runtime (the same model exported to ONNX), at the same thread count.

The weights are the very ones bench_forward used (its --export-dir output): each model is built in timm
from the preset name, loaded strictly from that file, and its logits for the exported input are checked
against vit's before anything is timed. Timing mirrors bench_forward: a warm-up, then 5 repetitions of
at least --min-time seconds each; the median and the minimum time per batch are reported.

  tools/bench_peers.py --weights-dir OUT/weights --out OUT/peers.json [--threads 2]

Needs the packages in tools/requirements-bench.txt (in a virtualenv outside the repository).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np
import onnxruntime
import safetensors.torch
import timm
import torch

# The models and batch sizes bench_forward runs (vit_base at batch 64 is left out there too).
CONFIGS = {
    "deit_tiny_patch16_224": [1, 8, 64],
    "vit_small_patch16_224": [1, 8, 64],
    "vit_base_patch16_224": [1, 8],
}
REPETITIONS = 5
LOGITS_TOLERANCE = 1e-3  # fp32, different summation orders; a wrong weight or layout is off by O(1)


def time_batches(run, min_time):
    """Median and minimum seconds per call over REPETITIONS repetitions of >= min_time each."""
    run()  # warm-up (first-call allocations, ORT's graph setup)
    start = time.perf_counter()
    run()
    once = time.perf_counter() - start
    iterations = max(1, int(min_time / max(once, 1e-9)))
    per_call = []
    for _ in range(REPETITIONS):
        start = time.perf_counter()
        for _ in range(iterations):
            run()
        per_call.append((time.perf_counter() - start) / iterations)
    return statistics.median(per_call), min(per_call), iterations


def result(model, batch, seconds_median, seconds_min, iterations):
    return {
        "model": model,
        "batch": batch,
        "ms_per_batch_median": seconds_median * 1e3,
        "ms_per_batch_min": seconds_min * 1e3,
        "ms_per_image_median": seconds_median * 1e3 / batch,
        "images_per_s_median": batch / seconds_median,
        "iterations_per_repetition": iterations,
        "repetitions": REPETITIONS,
    }


def check_logits(name, peer, actual, expected):
    error = float(np.abs(actual - expected).max())
    if not error <= LOGITS_TOLERANCE:
        sys.exit(f"validation failed: {peer} {name}: logits differ from vit's by {error:g} > {LOGITS_TOLERANCE:g}")
    return error


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights-dir", required=True, help="bench_forward --export-dir output")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads for both peers")
    parser.add_argument("--models", nargs="+", default=list(CONFIGS), choices=list(CONFIGS), help="a subset")
    parser.add_argument("--batches", nargs="+", type=int, help="a subset of each model's batch sizes")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds per repetition (at least one call)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    session_options = onnxruntime.SessionOptions()
    session_options.intra_op_num_threads = args.threads
    session_options.inter_op_num_threads = 1
    session_options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    session_options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL

    torch_results, ort_results, checks = [], [], {}
    for name in args.models:
        batches = [batch for batch in CONFIGS[name] if not args.batches or batch in args.batches]
        model = timm.create_model(name, pretrained=False).eval()
        model.load_state_dict(safetensors.torch.load_file(os.path.join(args.weights_dir, name + ".safetensors")))
        check = safetensors.torch.load_file(os.path.join(args.weights_dir, name + ".check.safetensors"))
        with torch.inference_mode():
            torch_error = check_logits(name, "torch", model(check["input"]).numpy(), check["logits"].numpy())

        # ONNX: exported once per model with a dynamic batch dimension.
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, name + ".onnx")
            torch.onnx.export(model, (check["input"],), path, input_names=["images"], output_names=["logits"],
                              dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1, max=256)}},
                              opset_version=18, dynamo=True, external_data=False)
            session = onnxruntime.InferenceSession(path, session_options, providers=["CPUExecutionProvider"])
        ort_error = check_logits(name, "onnxruntime", session.run(None, {"images": check["input"].numpy()})[0],
                                 check["logits"].numpy())
        checks[name] = {"torch_max_abs_logit_error": torch_error, "onnxruntime_max_abs_logit_error": ort_error}

        for batch in batches:
            images = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(8))
            with torch.inference_mode():
                torch_results.append(result(name, batch, *time_batches(lambda: model(images), args.min_time)))
            feed = {"images": images.numpy()}
            ort_results.append(result(name, batch, *time_batches(lambda: session.run(None, feed), args.min_time)))
            print(f"{name} batch {batch}: torch {torch_results[-1]['ms_per_image_median']:.2f} ms/image, "
                  f"onnxruntime {ort_results[-1]['ms_per_image_median']:.2f} ms/image", flush=True)

    out = {
        "machine": {"processor": platform.processor(), "cpu_count": os.cpu_count(), "python": platform.python_version()},
        "threads": args.threads,
        "logit_checks_against_vit": checks,
        "peers": [
            {
                "peer": "torch",
                "version": torch.__version__,
                "configuration": f"eager, torch.inference_mode, set_num_threads({args.threads}), interop 1, "
                                 f"timm {timm.__version__} (F.scaled_dot_product_attention), "
                                 f"mkldnn {torch.backends.mkldnn.is_available()}, "
                                 f"cpu capability {torch.backends.cpu.get_cpu_capability()}",
                "parallel_info": torch.__config__.parallel_info(),
                "results": torch_results,
            },
            {
                "peer": "onnxruntime",
                "version": onnxruntime.__version__,
                "configuration": f"CPUExecutionProvider, intra_op_num_threads={args.threads}, inter_op 1, sequential, "
                                 f"ORT_ENABLE_ALL, torch.onnx.export(dynamo=True, opset 18) from torch {torch.__version__}",
                "results": ort_results,
            },
        ],
    }
    with open(args.out, "w") as file:
        json.dump(out, file, indent=1)


if __name__ == "__main__":
    main()
