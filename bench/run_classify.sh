#!/usr/bin/env bash
# `classify` end to end over a folder of photographs against timm + PIL (tools/bench_classify_peer.py), in
# alternating rounds (this VM's speed drifts), and its peak memory: --batch 8 against --batch 64 on
# 12-megapixel photographs, and the resident size of a CPU run of a CUDA-enabled build.
#
#   bench/run_classify.sh OUT_DIR [ROUNDS=3]
#     env: BUILD=build (a Release build with examples/classify), VENV=/work/venv-bench, THREADS=$(nproc),
#          PHOTOS=folder of photographs (default: made by bench/make_photo_set.py from ../shared/images),
#          SHARED=../shared
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/run_classify.sh OUT_DIR [ROUNDS]}
rounds=${2:-3}
build=${BUILD:-build}
venv=${VENV:-/work/venv-bench}
threads=${THREADS:-$(nproc)}
shared=${SHARED:-../shared}
model=$shared/models/deit_tiny_patch16_224.safetensors
classify=$build/examples/classify
[ -x "$venv/bin/python" ] || { echo "no virtualenv at $venv (see tools/requirements-bench.txt)" >&2; exit 2; }
[ -x "$classify" ] || { echo "no $classify: build the examples first" >&2; exit 2; }
[ -f "$model" ] || { echo "no $model" >&2; exit 2; }
mkdir -p "$out"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
photos=${PHOTOS:-$scratch/photos}
[ -n "${PHOTOS:-}" ] || "$venv/bin/python" bench/make_photo_set.py "$shared/images" "$photos" | tee "$out/photos.txt"
python3 tools/bench_meta.py "$out/classify_meta.json" "$threads"

# seconds and peak KB of one command, appended as a JSON line to $out/classify_runs.jsonl
measure() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o "$scratch/time" "$@" >"$scratch/stdout"
  read -r seconds kb <"$scratch/time"
  printf '{"name":"%s","seconds":%s,"peak_kb":%s}\n' "$name" "$seconds" "$kb" >>"$out/classify_runs.jsonl"
  echo "$name: $seconds s, $kb KB"
}

rm -f "$out/classify_runs.jsonl"
for round in $(seq "$rounds"); do
  echo "== round $round"
  measure "vit classify" "$classify" --model "$model" --threads "$threads" --batch 8 --top 1 --json "$photos"
  cp "$scratch/stdout" "$scratch/ours.jsonl"
  measure "vit classify --no-decode-ahead" "$classify" --model "$model" --threads "$threads" --batch 8 --top 1 \
    --json --no-decode-ahead "$photos"
  for loader in serial dataloader; do
    measure "timm+PIL $loader" "$venv/bin/python" tools/bench_classify_peer.py --weights "$model" --images "$photos" \
      --threads "$threads" --batch 8 --loader "$loader" --out "$scratch/peer_$loader.json"
  done
done

# Memory: 64 links to one 4032x3024 photograph, at --batch 8 and 64, one thread; and `classify --help`.
"$venv/bin/python" - "$shared/images/cheetah.jpg" "$scratch/big.jpg" <<'EOF'
import sys
from PIL import Image
Image.open(sys.argv[1]).convert("RGB").resize((4032, 3024), Image.BICUBIC).save(sys.argv[2], quality=90)
EOF
mkdir "$scratch/links"
for i in $(seq 64); do ln -s ../big.jpg "$scratch/links/p$i.jpg"; done
for batch in 8 64; do
  measure "memory --batch $batch, 64 x 12 MP" "$classify" --model "$model" --threads 1 --batch "$batch" "$scratch/links"
done
measure "memory classify --help" "$classify" --help
ldd "$classify" | grep -q libcudart && cuda_build=yes || cuda_build=no

python3 - "$out" "$scratch" "$cuda_build" <<'EOF' | tee "$out/classify.md"
import json, statistics, sys, pathlib
out, scratch, cuda_build = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
runs = [json.loads(line) for line in open(out / "classify_runs.jsonl")]
by = {}
for r in runs:
    by.setdefault(r["name"], []).append(r)
meta = json.load(open(out / "classify_meta.json"))
ours = {}
for line in open(scratch / "ours.jsonl"):
    o = json.loads(line)
    ours[o["image"]] = o["top"][0]["index"]
peer = json.load(open(scratch / "peer_serial.json"))
agree = sum(ours.get(p) == i for p, i in peer["top1"].items())
print(f"# classify over {peer['images']} photographs, batch 8, {peer['threads']} threads\n")
print(f"Machine: {meta.get('cpu', '?')} ({', '.join(meta.get('isa', []))}), commit {meta.get('commit')}, {meta.get('date')}; {peer['peer']}, torch {peer['torch']}; CUDA-enabled build: {cuda_build}\n")
print(f"Top-1 agreement with the peer: {agree}/{peer['images']}\n")
print("| run | median s | rounds (s) | peak RSS MB | vit classify is faster by |")
print("|---|---|---|---|---|")
median = {name: statistics.median(r["seconds"] for r in rs) for name, rs in by.items()}
for name, rs in by.items():
    ratio = f"{median[name] / median['vit classify']:.2f}x" if name.startswith("timm") else ""
    print(f"| {name} | {median[name]:.2f} | {', '.join(str(r['seconds']) for r in rs)} | "
          f"{max(r['peak_kb'] for r in rs) / 1024:.0f} | {ratio} |")
b8, b64 = by["memory --batch 8, 64 x 12 MP"][0]["peak_kb"], by["memory --batch 64, 64 x 12 MP"][0]["peak_kb"]
print(f"\nPeak RSS at --batch 64 / --batch 8 on 12-MP photographs: {b64 / 1024:.0f} / {b8 / 1024:.0f} MB = {b64 / b8:.2f}x")
EOF
