#!/usr/bin/env python3
"""Turns bench/run_targets.sh's rounds into a table: for each model and batch, vit's and each peer's median
ms/image in every round, the round's ratio (their time / ours), and the median ratio over the rounds,
checked against the issue's targets (bench_report.TARGET_VS_TORCH and TARGET_VS_ORT).

    python3 tools/bench_targets_report.py RESULTS_DIR > RESULTS_DIR/targets.md
"""
import glob
import json
import os
import statistics
import sys

from bench_report import TARGET_VS_ORT, TARGET_VS_TORCH, medians, peer_ms

TARGETS = {"torch": TARGET_VS_TORCH, "onnxruntime": TARGET_VS_ORT}
NAMES = {"torch": "PyTorch", "onnxruntime": "ONNX Runtime"}


def vit_round(path):
    """One round's bench_forward JSON → {(model, batch): median ms/image}."""
    return {(row["parts"][1], int(row["fields"]["batch"])): row["ms/image"] for row in medians(path).values()}


def main():
    directory = sys.argv[1]
    meta = json.load(open(os.path.join(directory, "targets_meta.json")))
    rounds = sorted(glob.glob(os.path.join(directory, "targets_vit_*.json")))
    ours = [vit_round(path) for path in rounds]
    theirs = [json.load(open(path.replace("targets_vit_", "targets_peers_"))) for path in rounds]
    print(f"Targets run: {len(rounds)} alternating rounds (vit, then the peers), {meta['threads']} threads, "
          f"{meta['date']}, commit {meta['commit']}, load before {meta['load_before'][0]:.2f}; "
          f"{meta['cpu']}, ISA {', '.join(meta.get('isa', [])) or 'not recorded'}.\n")
    print("| model | batch | peer | vit ms/image per round | peer ms/image per round | ratio per round | median ratio | target |")
    print("|---|---|---|---|---|---|---|---|")
    verdicts = []
    for model, batch in sorted(ours[0]):
        for peer in ("torch", "onnxruntime"):
            mine = [round_[(model, batch)] for round_ in ours]
            other = [peer_ms(peers, peer, model, batch) for peers in theirs]
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
