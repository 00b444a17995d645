#!/usr/bin/env python3
"""Training curves of several runs in one figure: validation top-1 and train loss against epoch, and
validation top-1 against wall time (the cumulative epoch_seconds).

    python3 tools/plot_training.py runs/vit runs/torch --out curves.png [--labels vit PyTorch] [--title ...]

Each RUN is an output folder holding log.csv (examples/train or tools/train_reference.py; both write the
columns epoch,steps,lr,train_loss,train_top1,val_loss,val_top1,val_top5,epoch_seconds,images_per_second),
or a log.csv itself. Prints each run's last line. Needs matplotlib (tools/requirements-bench.txt).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_log(run: Path) -> dict[str, list[float]]:
    path = run / "log.csv" if run.is_dir() else run
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{path}: no epoch logged yet")
    return {key: [float(row[key]) for row in rows] for key in rows[0]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="run folders (or their log.csv)")
    p.add_argument("--labels", nargs="+", help="one legend entry per run (default: the folder names)")
    p.add_argument("--title", default="")
    p.add_argument("--out", type=Path, required=True, help="the PNG to write")
    a = p.parse_args()
    labels = a.labels or [str(run if run.is_dir() else run.parent) for run in a.runs]
    if len(labels) != len(a.runs):
        p.error(f"{len(labels)} labels for {len(a.runs)} runs")

    fig, (top1, loss, wall) = plt.subplots(1, 3, figsize=(15, 4.5))
    for run, label in zip(a.runs, labels):
        log = read_log(run)
        top1.plot(log["epoch"], [100 * v for v in log["val_top1"]], marker="o", label=label)
        loss.plot(log["epoch"], log["train_loss"], marker="o", label=label)
        minutes, elapsed = [], 0.0
        for seconds in log["epoch_seconds"]:
            elapsed += seconds
            minutes.append(elapsed / 60)
        wall.plot(minutes, [100 * v for v in log["val_top1"]], marker="o", label=label)
        print(f"{label}: epoch {log['epoch'][-1]:g}, val top-1 {100 * log['val_top1'][-1]:.2f}%, "
              f"top-5 {100 * log['val_top5'][-1]:.2f}%, train loss {log['train_loss'][-1]:.4f}, {elapsed:.0f} s")
    for axes, x, y in ((top1, "epoch", "validation top-1 (%)"), (loss, "epoch", "train loss (label-smoothed)"),
                       (wall, "wall time (min, training + evaluation)", "validation top-1 (%)")):
        axes.set_xlabel(x)
        axes.set_ylabel(y)
        axes.grid(alpha=0.3)
        axes.legend()
    if a.title:
        fig.suptitle(a.title)
    fig.tight_layout()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=120)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
