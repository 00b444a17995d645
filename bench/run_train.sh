#!/usr/bin/env bash
# Training throughput, vit against PyTorch eager (bench/bench_train.cpp, tools/bench_train_peers.py), in
# ROUNDS alternating rounds (vit, then PyTorch) because this VM's speed drifts; the report gives each round's
# ratio and their median, and vit's share of the machine's fp32 peak (bench_cpu_peak, all threads).
#
#   bench/run_train.sh OUT_DIR [ROUNDS=3]   (env: BUILD=build, VENV=/work/venv, THREADS=$(nproc))
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/run_train.sh OUT_DIR [ROUNDS]}
rounds=${2:-3}
build=${BUILD:-build}
venv=${VENV:-/work/venv}
threads=${THREADS:-$(nproc)}
[ -x "$venv/bin/python" ] || { echo "no virtualenv at $venv (see tools/requirements-bench.txt)" >&2; exit 2; }
mkdir -p "$out"
exported=$(mktemp -d)
trap 'rm -rf "$exported"' EXIT
cmake --build "$build" -j"$(nproc)" --target bench_train bench_cpu_peak
python3 tools/bench_meta.py "$out/train_meta.json" "$threads"
"$build/bench/bench_cpu_peak" --benchmark_out="$out/train_peak.json" --benchmark_out_format=json >/dev/null
for round in $(seq "$rounds"); do
  echo "== round $round: vit"
  "$build/bench/bench_train" --export-dir "$exported" --threads "$threads" | tee "$out/train_vit_$round.jsonl"
  echo "== round $round: PyTorch eager"
  "$venv/bin/python" tools/bench_train_peers.py --export-dir "$exported" --threads "$threads" \
    --vit-json "$out/train_vit_$round.jsonl" | tee "$out/train_peers_$round.jsonl"
done
python3 - "$out" "$rounds" > "$out/train.md" <<'PY'
import json, statistics, sys
from pathlib import Path
out, rounds = Path(sys.argv[1]), int(sys.argv[2])
meta = json.loads((out / "train_meta.json").read_text())
peak = next(b["GFLOP/s"] for b in json.loads((out / "train_peak.json").read_text())["benchmarks"]
            if b["name"].startswith(f"cpu_peak/threads:{meta['threads']}/") and b["name"].endswith("_median"))
rows = {}
for r in range(1, rounds + 1):
    for kind in ("vit", "peers"):
        for line in (out / f"train_{kind}_{r}.jsonl").read_text().splitlines():
            rec = json.loads(line)
            rows.setdefault(rec["case"], {}).setdefault(kind, []).append(rec)
print(f"Training step throughput, {meta['cpu']}, {meta['threads']} threads, {meta['date']}, commit {meta['commit']}; "
      f"fp32 peak {peak:.0f} GFLOP/s\n")
print("| case | vit img/s (median) | PyTorch eager img/s | ratio per round | median ratio | vit GFLOP/s (% peak) |")
print("|---|---|---|---|---|---|")
for case, kinds in rows.items():
    ratios = [v["images_per_s"] / p["images_per_s"] for v, p in zip(kinds["vit"], kinds["peers"])]
    vit_ips = statistics.median(v["images_per_s"] for v in kinds["vit"])
    torch_ips = statistics.median(p["images_per_s"] for p in kinds["peers"])
    gflops = statistics.median(v["gflops_per_s"] for v in kinds["vit"])
    print(f"| {case} | {vit_ips:.1f} | {torch_ips:.1f} | {', '.join(f'{r:.2f}' for r in ratios)} | "
          f"{statistics.median(ratios):.2f}x | {gflops:.0f} ({100 * gflops / peak:.0f}%) |")
PY
cat "$out/train.md"
