#!/usr/bin/env bash
# The CUDA tests on a machine whose driver the CUDA runtime cannot use (the emulator's VIT_EMU_INIT_ERROR):
# they must skip saying why (the CUDA error), the no-device errors must carry it too, and VIT_REQUIRE_GPU=1 must
# turn the skip into a failure, so that tools/gpu_check.sh on such a host fails instead of passing by skipping.
# (Catch2's compact reporter keeps each message on one line for grep.)
# usage: no_device_test.sh VIT_CUDA_EMU_TESTS
set -u
tests=$1
unset VIT_REQUIRE_GPU  # set below where wanted (tools/gpu_check.sh exports it)
export VIT_EMU_INIT_ERROR=cudaErrorInsufficientDriver
reason="cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version"
failed=0
check() {  # check WHAT CONDITION...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failed=1; fi
}

out=$("$tests" -r compact "CUDA dtype conversion rounds exactly as the host does" 2>&1)
status=$?
check "a GPU test passes by skipping without a usable driver" test $status -eq 0
check "its skip names the CUDA error" grep -qF "SKIPPED: no CUDA device: $reason" <<<"$out"

out=$(VIT_REQUIRE_GPU=1 "$tests" -r compact "CUDA dtype conversion rounds exactly as the host does" 2>&1)
status=$?
check "with VIT_REQUIRE_GPU=1 the same test fails" test $status -ne 0
check "and says why" grep -qF "no CUDA device: $reason (VIT_REQUIRE_GPU=1 makes this a failure)" <<<"$out"

out=$("$tests" -r compact "[host]" 2>&1)
status=$?
check "the host tests pass: no-device errors carry the CUDA error" test $status -eq 0
check "the no-device errors were provoked, not skipped" bash -c '! grep -q "a CUDA device is present" <<<"$0"' "$out"
[ $failed -eq 0 ] || echo "$out"
exit $failed
