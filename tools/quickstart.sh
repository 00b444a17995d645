#!/usr/bin/env bash
# The README's first quick-start command: install dependencies, build everything into build/, and
# classify a sample image with the shared DeiT-tiny and explain it with attention rollout (when ../shared
# is there).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"

shared=../shared
model=$shared/models/deit_tiny_patch16_224.safetensors
labels=$shared/labels/imagenet_classes.txt
if [ -f "$model" ]; then
  echo
  echo "\$ build/examples/classify --model $model --labels $labels $shared/images/both.png"
  build/examples/classify --model "$model" --labels "$labels" "$shared/images/both.png"
  echo
  echo "\$ build/examples/rollout --model $model --labels $labels --out build/both-rollout.png $shared/images/both.png"
  build/examples/rollout --model "$model" --labels "$labels" --out build/both-rollout.png "$shared/images/both.png"
  echo "(open build/both-rollout.png: the heat sits on the bulldog's face)"
else
  echo "note: $shared/models is not here, so the classify and rollout demos are skipped"
fi
echo
echo "run the tests with: ctest --test-dir build --output-on-failure"
