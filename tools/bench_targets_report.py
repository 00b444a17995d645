#!/usr/bin/env python3
"""Turns bench/run_targets.sh's rounds into a table: for each model and batch, vit's and each peer's median
ms/image in every round, the round's ratio (their time / ours), and the median ratio over the rounds,
checked against the issue's targets (>= 1.5x PyTorch, >= 1.0x ONNX Runtime).

    python3 tools/bench_targets_report.py RESULTS_DIR > RESULTS_DIR/targets.md
"""
import glob
import json
import os
import statistics
import sys

TARGETS = {"torch": 1.5, "onnxruntime": 1.0}
NAMES = {"torch": "PyTorch", "onnxruntime": "ONNX Runtime"}


def vit_round(path):
    rows = json.load(open(path))["benchmarks"]
    times = {}
    for row in rows:
        if row.get("aggregate_name") != "median":
            continue
        model, batch = row["name"].split("/")[1], int(row["name"].split("/")[2].split(":")[1])
        times[(model, batch)] = row["ms/image"]
    return times


def peers_round(path):
    times = {}
    for peer in json.load(open(path))["peers"]:
        for row in peer["results"]:
            times[(peer["peer"], row["model"], row["batch"])] = row["ms_per_image_median"]
    return times


def main():
    directory = sys.argv[1]
    meta = json.load(open(os.path.join(directory, "targets_meta.json")))
    rounds = sorted(glob.glob(os.path.join(directory, "targets_vit_*.json")))
    ours = [vit_round(path) for path in rounds]
    theirs = [peers_round(path.replace("targets_vit_", "targets_peers_")) for path in rounds]
    print(f"Targets run: {len(rounds)} alternating rounds (vit, then the peers), {meta['threads']} threads, "
          f"{meta['date']}, commit {meta['commit']}, load before {meta['load_before'][0]:.2f}.\n")
    print("| model | batch | peer | vit ms/image per round | peer ms/image per round | ratio per round | median ratio | target |")
    print("|---|---|---|---|---|---|---|---|")
    verdicts = []
    for model, batch in sorted(ours[0]):
        for peer in ("torch", "onnxruntime"):
            mine = [round_[(model, batch)] for round_ in ours]
            other = [round_[(peer, model, batch)] for round_ in theirs]
            ratios = [o / m for o, m in zip(other, mine)]
            median = statistics.median(ratios)
            met = median >= TARGETS[peer]
            verdicts.append(f"- {model} batch {batch}: {median:.2f}x {NAMES[peer]} (target >= {TARGETS[peer]}x): "
                            + ("met" if met else "**not met**"))
            print(f"| {model} | {batch} | {NAMES[peer]} | {' / '.join(f'{t:.2f}' for t in mine)} | "
                  f"{' / '.join(f'{t:.2f}' for t in other)} | {' / '.join(f'{r:.2f}' for r in ratios)} | "
                  f"{median:.2f} | {'met' if met else 'not met'} |")
    print()
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
