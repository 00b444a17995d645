#!/usr/bin/env bash
# The README's first quick-start command: install dependencies, build everything into build/, and
# classify a sample image with the shared DeiT-tiny (when ../shared is there).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"

shared=../shared
if [ -f "$shared/models/deit_tiny_patch16_224.safetensors" ]; then
  echo
  echo "\$ build/examples/classify --model $shared/models/deit_tiny_patch16_224.safetensors --labels $shared/labels/imagenet_classes.txt $shared/images/both.png"
  build/examples/classify --model "$shared/models/deit_tiny_patch16_224.safetensors" \
    --labels "$shared/labels/imagenet_classes.txt" "$shared/images/both.png"
else
  echo "note: $shared/models is not here, so the classify demo is skipped"
fi
echo
echo "run the tests with: ctest --test-dir build --output-on-failure"
