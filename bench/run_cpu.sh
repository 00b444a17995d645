#!/usr/bin/env bash
# The full CPU measurement, in one go (about 10 minutes on a 2-core machine): builds the benchmarks,
# measures the machine's fp32 peak, the kernels, the end-to-end forward, and the peers (PyTorch and
# ONNX Runtime on the same weights and thread count), then writes the Markdown table and the plot.
#
#   bench/run_cpu.sh OUT_DIR            (env: BUILD=build-bench, VENV=/work/venv-bench, THREADS=$(nproc))
#
# The peers need a virtualenv with tools/requirements-bench.txt; without it they are skipped and the
# report has our numbers only. Run on a quiet machine: the load average is recorded before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/run_cpu.sh OUT_DIR}
build=${BUILD:-build-bench}
venv=${VENV:-/work/venv-bench}
threads=${THREADS:-$(nproc)}
mkdir -p "$out"
trap 'rm -rf "$out/weights"' EXIT  # bench_forward's exported random weights, up to 330 MB each: not results

echo "== build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DVIT_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_cpu_peak bench_gemm bench_attention bench_layer_norm bench_forward

# Wait (up to 3 minutes) for the 1-minute load average to settle below a quarter of the cores, so that a
# build that has just finished does not count as load; the report says "busy" when it did not settle.
for _ in $(seq 18); do
  python3 -c 'import os, sys; sys.exit(os.getloadavg()[0] > 0.25 * os.cpu_count())' && break
  sleep 10
done

python3 tools/bench_meta.py "$out/meta.json" "$threads"

run() {  # run NAME [ARGS...]: one benchmark binary, JSON to $out/NAME.json
  local name=$1
  shift
  echo "== $name"
  "$build/bench/$name" --threads="$threads" --benchmark_out="$out/$name.json" --benchmark_out_format=json "$@"
}

run bench_cpu_peak
# The all-threads median is "the peak" every other result is a percentage of.
VIT_PEAK_GFLOPS=$(python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))["benchmarks"]
print(max(r["GFLOP/s"] for r in rows if r.get("aggregate_name") == "median"))' "$out/bench_cpu_peak.json")
export VIT_PEAK_GFLOPS
echo "measured fp32 peak: $VIT_PEAK_GFLOPS GFLOP/s"
run bench_gemm
run bench_attention
run bench_layer_norm
run bench_forward --export-dir="$out/weights"

if [ -x "$venv/bin/python" ]; then
  echo "== peers (PyTorch, ONNX Runtime)"
  "$venv/bin/python" tools/bench_peers.py --weights-dir "$out/weights" --threads "$threads" --out "$out/peers.json"
else
  echo "== peers skipped: no virtualenv at $venv (see tools/requirements-bench.txt)"
fi

python3 - "$out/meta.json" <<'EOF'
import json, os, sys
meta = json.load(open(sys.argv[1]))
meta["load_after"] = os.getloadavg()
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF
report_python=python3  # the virtualenv's has matplotlib for the plot
[ -x "$venv/bin/python" ] && report_python="$venv/bin/python"
"$report_python" tools/bench_report.py "$out"
echo "== done: $out/report.md, $out/speed.png"
