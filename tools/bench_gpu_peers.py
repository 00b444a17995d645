#!/usr/bin/env python3
"""PyTorch peers of the GPU benchmarks (bench/cuda/), on the same machine, as JSON lines.

Measures, with random weights (timm, pretrained=False; no network needed):
  model   timm deit_tiny_patch16_224, vit_small_patch16_224, vit_base_patch16_224, eval + inference_mode,
          the model cast to fp32/fp16/bf16 (no autocast), batch 1/8/64/256, eager (timm calls
          F.scaled_dot_product_attention when its fused_attn is on; the SDPA backend that ran is read off
          a profiler trace) and torch.compile (mode "default": max-autotune takes longer than the GPU
          session has; compile time recorded, excluded from the timing) for the targets' configuration.
          Two times per configuration: `device_ms`, the model call alone (input already on the GPU, CUDA
          events), and `whole_call_ms`, as our bench_cuda_forward times CudaModel::forward: a pageable host
          tensor in, the logits copied back to the host, synchronised (host clock).
  sdpa    F.scaled_dot_product_attention alone on q, k, v viewed out of one packed [B, N, 3, H, d] tensor
          (as timm and our fused kernel read them) at N = 197/577, d = 64, H = 3/6/12/16, batch 1/8/64/256,
          per dtype and per backend (flash, efficient, cudnn where present, math) via sdpa_kernel.
Repetitions: warm-up, then 3-20 timed calls (as many as fit in about 2 s per configuration; 20 for SDPA);
median and min, in milliseconds.

usage: tools/bench_gpu_peers.py --out FILE [--smoke] [--no-compile]
"""
import argparse
import json
import platform
import statistics
import sys
import time

MODELS = ["deit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224"]
BATCHES = [1, 8, 64, 256]
DTYPES = ["fp32", "fp16", "bf16"]
# torch.compile only where a target needs it (issue 6: ViT-B/16 bf16 at batch 256); each compile is ~1 min.
COMPILE = [("vit_base_patch16_224", "bf16", 256)]
COMPILE_MODE = "default"
SDPA_TOKENS = [197, 577]
SDPA_HEADS = [3, 6, 12, 16]
HEAD_DIM = 64
TIME_BUDGET_S = 2.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="JSON lines file to write")
    parser.add_argument("--smoke", action="store_true", help="deit_tiny batch 1, one SDPA shape, one call each")
    parser.add_argument("--no-compile", action="store_true", help="leave out torch.compile")
    args = parser.parse_args()

    import torch
    import timm

    if not torch.cuda.is_available():
        print("SKIPPED: no CUDA device")
        return 0
    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    with open(args.out, "w") as out:

        def write(record):
            out.write(json.dumps(record) + "\n")
            out.flush()

        write({
            "kind": "peer_versions",
            "torch": torch.__version__,
            "timm": timm.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
            "gpu": torch.cuda.get_device_name(0),
            "python": platform.python_version(),
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,  # ours: no TF32 in fp32
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,  # the fp32 patch-embedding convolution
            "compile_mode": COMPILE_MODE,
        })
        print(f"torch {torch.__version__}, timm {timm.__version__}, CUDA {torch.version.cuda}, "
              f"{torch.cuda.get_device_name(0)}")
        models = MODELS[:1] if args.smoke else MODELS
        batches = BATCHES[:1] if args.smoke else BATCHES
        for name in models:
            for dtype_name in DTYPES:
                bench_model(torch, timm, name, dtype_name, dtypes[dtype_name], batches, args.smoke, write)
        if not args.no_compile and not args.smoke:
            for name, dtype_name, batch in COMPILE:
                bench_compiled(torch, timm, name, dtype_name, dtypes[dtype_name], batch, write)
        bench_sdpa(torch, dtypes, args.smoke, write)
    return 0


def cuda_times(torch, call, smoke, fixed_reps=None):
    """Median and min ms of call() between CUDA events, after a warm-up; 3-20 reps within the budget."""
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    call()
    torch.cuda.synchronize()
    if smoke:
        reps = 1
    elif fixed_reps is not None:
        call()  # a second warm-up: SDPA backends pick their kernels on first use
        reps = fixed_reps
    else:
        begin = time.perf_counter()
        call()
        torch.cuda.synchronize()
        reps = min(20, max(3, int(TIME_BUDGET_S / max(time.perf_counter() - begin, 1e-6))))
    times = []
    for _ in range(reps):
        start.record()
        call()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return {"median_ms": statistics.median(times), "min_ms": min(times), "reps": reps}


def host_times(torch, call, reps):
    """Median and min ms of call() (which synchronises) on the host clock."""
    times = []
    for _ in range(reps):
        begin = time.perf_counter()
        call()
        times.append((time.perf_counter() - begin) * 1e3)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "reps": reps}


def sdpa_backends_used(torch, call):
    """The aten SDPA kernels one call runs, from a profiler trace (e.g. _scaled_dot_product_flash_attention)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as trace:
        call()
        torch.cuda.synchronize()
    names = {event.key for event in trace.key_averages()}
    return sorted(name for name in names if "scaled_dot_product" in name or "attention_forward" in name)


def make_model(torch, timm, name, dtype):
    model = timm.create_model(name, pretrained=False).to(device="cuda", dtype=dtype).eval()
    return model


def bench_model(torch, timm, name, dtype_name, dtype, batches, smoke, write):
    try:
        model = make_model(torch, timm, name, dtype)
    except Exception as error:  # noqa: BLE001: recorded, the other models still run
        write({"kind": "peer_model", "mode": "eager", "model": name, "dtype": dtype_name,
               "error": f"{type(error).__name__}: {error}"})
        return
    fused = [getattr(block.attn, "fused_attn", None) for block in getattr(model, "blocks", [])]
    for batch in batches:
        record = {"kind": "peer_model", "mode": "eager", "model": name, "dtype": dtype_name, "batch": batch,
                  "timm_fused_attn": all(fused) if fused else None}
        try:
            host = torch.randn(batch, 3, 224, 224)  # pageable, as the images our benchmark hands to forward
            x = host.to("cuda", dtype)
            torch.cuda.reset_peak_memory_stats()
            with torch.inference_mode():
                device = cuda_times(torch, lambda: model(x), smoke)
                record["sdpa_ops"] = sdpa_backends_used(torch, lambda: model(x))

                def whole_call():
                    model(host.to("cuda", dtype)).float().cpu()  # .cpu() synchronises

                whole = host_times(torch, whole_call, 1 if smoke else device["reps"])
            record.update({
                "device_median_ms": device["median_ms"], "device_min_ms": device["min_ms"],
                "whole_call_median_ms": whole["median_ms"], "whole_call_min_ms": whole["min_ms"],
                "reps": device["reps"], "images_per_s": 1000.0 * batch / whole["median_ms"],
                "max_memory_allocated": torch.cuda.max_memory_allocated(),
            })
        except Exception as error:  # noqa: BLE001: an OOM or unsupported case is a result, not a crash
            record["error"] = f"{type(error).__name__}: {error}"
        write(record)
        print(json.dumps(record))
    del model
    torch.cuda.empty_cache()


def bench_compiled(torch, timm, name, dtype_name, dtype, batch, write):
    record = {"kind": "peer_model", "mode": "compile", "compile_mode": COMPILE_MODE, "model": name,
              "dtype": dtype_name, "batch": batch}
    try:
        model = make_model(torch, timm, name, dtype)
        compiled = torch.compile(model, mode=COMPILE_MODE, dynamic=False)
        host = torch.randn(batch, 3, 224, 224)
        x = host.to("cuda", dtype)
        with torch.inference_mode():
            begin = time.perf_counter()
            compiled(x)
            torch.cuda.synchronize()
            record["compile_s"] = time.perf_counter() - begin  # the first call compiles; not in the timing
            device = cuda_times(torch, lambda: compiled(x), False)

            def whole_call():
                compiled(host.to("cuda", dtype)).float().cpu()

            whole = host_times(torch, whole_call, device["reps"])
        record.update({
            "device_median_ms": device["median_ms"], "device_min_ms": device["min_ms"],
            "whole_call_median_ms": whole["median_ms"], "whole_call_min_ms": whole["min_ms"],
            "reps": device["reps"], "images_per_s": 1000.0 * batch / whole["median_ms"],
        })
        del compiled, model
    except Exception as error:  # noqa: BLE001
        record["error"] = f"{type(error).__name__}: {error}"
    write(record)
    print(json.dumps(record))
    torch.cuda.empty_cache()


def sdpa_backend_contexts(torch):
    """(name, context factory) per SDPA backend this torch has."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:  # torch < 2.3: the older, boolean-flag context
        flags = {"flash": "enable_flash", "efficient": "enable_mem_efficient", "math": "enable_math"}

        def only(flag):
            return lambda: torch.backends.cuda.sdp_kernel(**{f: f == flag for f in flags.values()})

        return [(label, only(flag)) for label, flag in flags.items()]
    names = [("flash", "FLASH_ATTENTION"), ("efficient", "EFFICIENT_ATTENTION"), ("cudnn", "CUDNN_ATTENTION"),
             ("math", "MATH")]
    return [(label, (lambda backend: lambda: sdpa_kernel(backend))(getattr(SDPBackend, member)))
            for label, member in names if hasattr(SDPBackend, member)]


def bench_sdpa(torch, dtypes, smoke, write):
    import torch.nn.functional as F
    backends = sdpa_backend_contexts(torch)
    shapes = [(197, 3, 1)] if smoke else [(n, h, b) for n in SDPA_TOKENS for h in SDPA_HEADS for b in BATCHES]
    for dtype_name, dtype in dtypes.items():
        for tokens, heads, batch in shapes:
            flops = 4.0 * batch * heads * tokens * tokens * HEAD_DIM
            try:
                qkv = torch.randn(batch, tokens, 3, heads, HEAD_DIM, device="cuda", dtype=dtype)
            except torch.cuda.OutOfMemoryError as error:
                write({"kind": "peer_sdpa", "dtype": dtype_name, "tokens": tokens, "heads": heads, "batch": batch,
                       "error": f"OutOfMemoryError: {error}"})
                continue
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # [B, H, N, d] views, as timm makes them
            for label, context in backends:
                record = {"kind": "peer_sdpa", "backend": label, "dtype": dtype_name, "tokens": tokens,
                          "heads": heads, "head_dim": HEAD_DIM, "batch": batch, "flops": flops}
                try:
                    with torch.inference_mode(), context():
                        times = cuda_times(torch, lambda: F.scaled_dot_product_attention(q, k, v), smoke,
                                           fixed_reps=20)
                    record.update(times)
                    record["tflops"] = flops / times["median_ms"] * 1e-9
                except Exception as error:  # noqa: BLE001: e.g. flash has no fp32 kernel
                    record["error"] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
                write(record)
            del q, k, v, qkv
            torch.cuda.empty_cache()
        print(f"sdpa {dtype_name}: done")


if __name__ == "__main__":
    sys.exit(main())
