#!/usr/bin/env bash
# The issue's speed targets, measured in alternation: ROUNDS times, vit's forward and then the peers'
# (PyTorch, ONNX Runtime) on deit_tiny and vit_base at batch 1 and 8, maps off. On a shared VM whose speed
# drifts over minutes, one long run of ours followed by one of theirs can put the two sides in different
# phases; each round here pairs measurements taken a minute or two apart, and the report gives every
# round's ratio and their median.
#
#   bench/run_targets.sh OUT_DIR [ROUNDS=3]     (env: BUILD=build-bench, VENV=/work/venv-bench, THREADS=$(nproc))
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/run_targets.sh OUT_DIR [ROUNDS]}
rounds=${2:-3}
build=${BUILD:-build-bench}
venv=${VENV:-/work/venv-bench}
threads=${THREADS:-$(nproc)}
[ -x "$venv/bin/python" ] || { echo "no virtualenv at $venv (see tools/requirements-bench.txt)" >&2; exit 2; }
mkdir -p "$out"
weights=$(mktemp -d)
trap 'rm -rf "$weights"' EXIT

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DVIT_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_forward
python3 tools/bench_meta.py "$out/targets_meta.json" "$threads"

for round in $(seq "$rounds"); do
  echo "== round $round: vit"
  "$build/bench/bench_forward" --threads="$threads" --export-dir="$weights" \
    --benchmark_filter='(deit_tiny|vit_base).*/batch:(1|8)/maps:off' \
    --benchmark_out="$out/targets_vit_$round.json" --benchmark_out_format=json >/dev/null
  echo "== round $round: peers"
  "$venv/bin/python" tools/bench_peers.py --weights-dir "$weights" --threads "$threads" \
    --models deit_tiny_patch16_224 vit_base_patch16_224 --batches 1 8 --out "$out/targets_peers_$round.json"
done
python3 tools/bench_targets_report.py "$out" > "$out/targets.md"
cat "$out/targets.md"
