#!/usr/bin/env python3
"""Turns one bench/run_cpu.sh output directory into a Markdown report (report.md: machine, our numbers,
the peers', the ratios and each issue-6 target as met or not) and a plot (speed.png, when matplotlib is
available).

  tools/bench_report.py OUT_DIR

Only medians are reported; the JSON files keep the minima too.
"""
import json
import os
import sys

SPEED_MODELS = ["deit_tiny_patch16_224", "vit_base_patch16_224"]  # the models the targets name
TARGET_BATCHES = [1, 8]
# The CPU speed issue II targets (fp32, 2 threads, batch 1 and 8); the first CPU issue asked 1.5x / 1.0x / 60%.
TARGET_VS_TORCH, TARGET_VS_ORT, TARGET_GEMM_PERCENT = 1.25, 1.1, 80.0


def medians(path):
    """Google Benchmark JSON → {run name: median row}, with the name's key:value parts parsed."""
    if not os.path.exists(path):
        return {}
    rows = {}
    for row in json.load(open(path))["benchmarks"]:
        if row.get("aggregate_name", "median") != "median":
            continue
        parts = [part for part in row["run_name"].split("/") if not part.startswith(("repeats:", "iterations:", "real_time"))]
        row["parts"] = parts
        row["fields"] = dict(part.split(":", 1) for part in parts if ":" in part)
        rows["/".join(parts)] = row
    return rows


def load(out):
    results = {name: medians(os.path.join(out, name + ".json"))
               for name in ["bench_cpu_peak", "bench_gemm", "bench_attention", "bench_layer_norm", "bench_forward"]}
    meta = json.load(open(os.path.join(out, "meta.json")))
    peers_path = os.path.join(out, "peers.json")
    peers = json.load(open(peers_path)) if os.path.exists(peers_path) else {"peers": []}
    return meta, results, peers


def peer_ms(peers, peer, model, batch):
    for entry in peers["peers"]:
        if entry["peer"] == peer:
            for row in entry["results"]:
                if row["model"] == model and row["batch"] == batch:
                    return row["ms_per_image_median"]
    return None


def forward_rows(results, peers):
    rows = []
    for row in results["bench_forward"].values():
        model, batch, maps = row["parts"][1], int(row["fields"]["batch"]), row["fields"]["maps"]
        ours = row["ms/image"]
        torch_ms = peer_ms(peers, "torch", model, batch) if maps == "off" else None
        ort_ms = peer_ms(peers, "onnxruntime", model, batch) if maps == "off" else None
        rows.append({"model": model, "batch": batch, "maps": maps, "ours": ours, "images_per_s": row["images/s"],
                     "peak_mib": row["peak_MiB"], "torch": torch_ms, "ort": ort_ms})
    return rows


def fmt(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def ratio(theirs, ours):
    """Their time over ours: > 1 means vit is faster."""
    return None if theirs is None else theirs / ours


def report(meta, results, peers):
    peak = {row["fields"]["threads"]: row["GFLOP/s"] for row in results["bench_cpu_peak"].values()}
    # Busy: other work on the machine. Before the run that is the 1-minute load average itself (run_cpu.sh
    # waits for it to settle first); after it, the average includes the benchmark's own threads, so only the
    # excess over them counts.
    quiet = 0.25 * meta["cores"]
    before = meta["load_before"][0]
    after = meta.get("load_after", [0])[0] - meta["threads"]
    busiest = max(before, after)
    busy = busiest > quiet
    lines = [
        f"Machine: {meta['cpu']}, {meta['cores']} cores, {meta['threads']} threads used. Date: {meta['date']}. "
        f"Commit: {meta['commit']}. Load average (1/5/15 min) before: "
        f"{' '.join(f'{v:.2f}' for v in meta['load_before'])}, after: "
        f"{' '.join(f'{v:.2f}' for v in meta.get('load_after', [])) or 'not recorded'}.",
        "",
        *([f"**The machine was busy (1-minute load average {busiest:.2f} above what the benchmark itself explains, on {meta['cores']} cores): threads were "
           "preempted, so these numbers (ours and the peers', measured minutes apart) are not a valid comparison "
           "and the verdicts below are indicative only.**", ""] if busy else []),
        "Measured fp32 FMA peak: " + ", ".join(f"{fmt(v, 1)} GFLOP/s on {t} thread(s)" for t, v in sorted(peak.items())) + ".",
        "",
    ]
    for entry in peers["peers"]:
        lines.append(f"- **{entry['peer']} {entry['version']}**: {entry['configuration']}")
    if peers["peers"]:
        checks = peers["logit_checks_against_vit"]
        lines.append("- Same weights on every side; largest logit difference from vit: " + ", ".join(
            f"{model} torch {c['torch_max_abs_logit_error']:.1e} / ORT {c['onnxruntime_max_abs_logit_error']:.1e}"
            for model, c in checks.items()) + ".")
    lines += ["", "### End to end (median ms per image; ratio = their time / ours, > 1 means vit is faster)", "",
              "| model | batch | maps | vit ms/image | vit images/s | peak MiB | PyTorch ms/image | ratio | ORT ms/image | ratio |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    rows = forward_rows(results, peers)
    for r in rows:
        lines.append(f"| {r['model']} | {r['batch']} | {r['maps']} | {fmt(r['ours'])} | {fmt(r['images_per_s'], 1)} | "
                     f"{fmt(r['peak_mib'], 0)} | {fmt(r['torch'])} | {fmt(ratio(r['torch'], r['ours']))} | "
                     f"{fmt(r['ort'])} | {fmt(ratio(r['ort'], r['ours']))} |")

    lines += ["", "### GEMM (cpu::linear, M = 197 × batch rows)", "", "| shape | batch | GFLOP/s | % of peak |", "|---|---|---|---|"]
    gemm_percent = []
    for row in results["bench_gemm"].values():
        gemm_percent.append(row.get("%peak"))
        lines.append(f"| {row['parts'][1]} | {row['fields'].get('batch', '–')} | {fmt(row['GFLOP/s'], 1)} | "
                     f"{fmt(row.get('%peak'), 1)} |")
    lines += ["", "### Attention (cpu::attention, head dim 64)", "", "| N | heads | batch | maps | ms | GFLOP/s |",
              "|---|---|---|---|---|---|"]
    for row in results["bench_attention"].values():
        f = row["fields"]
        lines.append(f"| {f['N']} | {f['heads']} | {f['batch']} | {f['maps']} | {fmt(row['real_time'], 3)} | "
                     f"{fmt(row['GFLOP/s'], 1)} |")
    lines += ["", "### LayerNorm (cpu::layer_norm, 197 × batch rows)", "", "| D | batch | µs | GB/s |", "|---|---|---|---|"]
    for row in results["bench_layer_norm"].values():
        lines.append(f"| {row['fields']['D']} | {row['fields']['batch']} | {fmt(row['real_time'] * 1e3, 1)} | "
                     f"{fmt(row['GB/s'], 1)} |")

    lines += ["", "### Targets (issue 6), from this single pass", "",
              "All of vit runs before all of the peers here; on a machine whose speed drifts, bench/run_targets.sh's",
              "alternating rounds (targets.md) are the measurement to trust for the ratios.", ""]
    for model in SPEED_MODELS:
        for batch in TARGET_BATCHES:
            r = next((r for r in rows if r["model"] == model and r["batch"] == batch and r["maps"] == "off"), None)
            if r is None:
                continue
            for peer, key, target in [("PyTorch", "torch", TARGET_VS_TORCH), ("ONNX Runtime", "ort", TARGET_VS_ORT)]:
                value = ratio(r[key], r["ours"])
                verdict = "not measured" if value is None else ("met" if value >= target else "**not met**")
                lines.append(f"- {model} batch {batch}: {fmt(value)}× {peer} (target ≥ {target}×): {verdict}")
    known = [p for p in gemm_percent if p is not None]
    if known:
        verdict = "met" if min(known) >= TARGET_GEMM_PERCENT else "**not met**"
        lines.append(f"- GEMM: {min(known):.1f}–{max(known):.1f}% of the measured peak across the ViT shapes "
                     f"(target ≥ {TARGET_GEMM_PERCENT:.0f}%): {verdict}")
    return "\n".join(lines) + "\n", rows


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not available: no plot")
        return
    configs = [r for r in rows if r["maps"] == "off"]
    labels = [f"{r['model'].split('_patch')[0]}\nbatch {r['batch']}" for r in configs]
    series = [("vit", [1e3 / r["ours"] for r in configs]),
              ("PyTorch", [1e3 / r["torch"] if r["torch"] else 0 for r in configs]),
              ("ONNX Runtime", [1e3 / r["ort"] if r["ort"] else 0 for r in configs])]
    figure, axes = plt.subplots(figsize=(10, 4.5))
    width = 0.27
    for i, (name, values) in enumerate(series):
        axes.bar([x + (i - 1) * width for x in range(len(configs))], values, width, label=name)
    axes.set_xticks(range(len(configs)), labels, fontsize=8)
    axes.set_yscale("log")
    axes.set_ylabel("images/s (median, log scale)")
    axes.set_title("CPU forward throughput, maps off")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    meta, results, peers = load(out)
    text, rows = report(meta, results, peers)
    with open(os.path.join(out, "report.md"), "w") as file:
        file.write(text)
    plot(rows, os.path.join(out, "speed.png"))
    print(text)


if __name__ == "__main__":
    main()
