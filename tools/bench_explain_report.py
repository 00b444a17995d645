#!/usr/bin/env python3
"""Turns bench/run_explain.sh's rounds into a table: for each model and explanation method, vit's and PyTorch's
ms per explanation in every round, the round's ratio (PyTorch's time / vit's), and the median ratio over the
rounds, against the issue's goal (>= 1.5x).

    python3 tools/bench_explain_report.py RESULTS_DIR > RESULTS_DIR/explain.md
"""
import glob
import json
import os
import statistics
import sys

from bench_report import medians

GOAL = 1.5


def vit_round(path):
    """One round's bench_explain JSON → {(model, method): median ms per explanation}."""
    return {(row["parts"][1], row["parts"][2]): row["ms/image"] for row in medians(path).values()}


def peer_round(path):
    return {(row["model"], row["method"]): row["ms_median"] for row in json.load(open(path))["results"]}


def main():
    directory = sys.argv[1]
    meta = json.load(open(os.path.join(directory, "explain_meta.json")))
    rounds = sorted(glob.glob(os.path.join(directory, "explain_vit_*.json")))
    ours = [vit_round(path) for path in rounds]
    peers = [json.load(open(path.replace("explain_vit_", "explain_peers_"))) for path in rounds]
    theirs = [peer_round(path.replace("explain_vit_", "explain_peers_")) for path in rounds]
    print(f"Explanation speed: {len(rounds)} alternating rounds (vit, then PyTorch), {meta['threads']} threads, "
          f"{meta['date']}, commit {meta['commit']}, load before {meta['load_before'][0]:.2f}. "
          f"PyTorch {peers[0]['version']}: {peers[0]['configuration']}.\n")
    print("| model | method | vit ms per round | PyTorch ms per round | ratio per round | median ratio | goal |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted(ours[0]):
        model, method = key
        mine = [round_[key] for round_ in ours]
        if method == "gradients":
            print(f"| {model} | forward + backward only | {' / '.join(f'{t:.1f}' for t in mine)} | | | | |")
            continue
        if key not in theirs[0]:
            continue
        other = [round_[key] for round_ in theirs]
        ratios = [o / m for o, m in zip(other, mine)]
        median = statistics.median(ratios)
        print(f"| {model} | {method} | {' / '.join(f'{t:.1f}' for t in mine)} | {' / '.join(f'{t:.1f}' for t in other)} "
              f"| {' / '.join(f'{r:.2f}' for r in ratios)} | {median:.2f} | {'met' if median >= GOAL else 'not met'} |")


if __name__ == "__main__":
    main()
