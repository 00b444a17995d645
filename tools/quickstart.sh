#!/usr/bin/env bash
# The README's first quick-start command: install dependencies, configure and build everything
# into build/. (The classify/rollout demo joins here when those tools land.)
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo
echo "built. run the tests with: ctest --test-dir build --output-on-failure"
