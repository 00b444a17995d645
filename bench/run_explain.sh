#!/usr/bin/env bash
# One explanation end to end (forward + backward + method, batch 1, DeiT-tiny and ViT-B/16), vit against the
# same method in PyTorch, in ROUNDS alternating rounds (vit, then PyTorch), as bench/run_targets.sh does for the
# forward pass; the report gives each round's ratio and their median.
#
#   bench/run_explain.sh OUT_DIR [ROUNDS=3]   (env: BUILD=build-bench, VENV=/work/venv-bench, THREADS=$(nproc),
#                                              REFS=/tmp/refs: a folder with a Transformer-Explainability checkout,
#                                              for the authors' transformer attribution; left out without it)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/run_explain.sh OUT_DIR [ROUNDS]}
rounds=${2:-3}
build=${BUILD:-build-bench}
venv=${VENV:-/work/venv-bench}
threads=${THREADS:-$(nproc)}
refs=${REFS:-/tmp/refs}
[ -x "$venv/bin/python" ] || { echo "no virtualenv at $venv (see tools/requirements-bench.txt)" >&2; exit 2; }
refs_option=()
[ -d "$refs/Transformer-Explainability" ] && refs_option=(--refs-dir "$refs")
mkdir -p "$out"
weights=$(mktemp -d)
trap 'rm -rf "$weights"' EXIT

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DVIT_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_explain
python3 tools/bench_meta.py "$out/explain_meta.json" "$threads"

for round in $(seq "$rounds"); do
  echo "== round $round: vit"
  "$build/bench/bench_explain" --threads="$threads" --export-dir="$weights" \
    --benchmark_out="$out/explain_vit_$round.json" --benchmark_out_format=json >/dev/null
  echo "== round $round: PyTorch"
  "$venv/bin/python" tools/bench_explain_peers.py --weights-dir "$weights" --threads "$threads" \
    "${refs_option[@]}" --out "$out/explain_peers_$round.json"
done
python3 tools/bench_explain_report.py "$out" > "$out/explain.md"
cat "$out/explain.md"
