# Helpers shared by the end-to-end tests of the command-line tools; sourced, not run.
# The sourcing script sets TOOL (the binary), TOOL_NAME (for messages) and WORK (a temporary directory).
# Runs happen inside $WORK, so that default output files land there.

pass() { echo "ok: $*"; }

fail() {
  echo "FAIL: $*"
  echo "--- stdout of the last run:"; cat "$WORK/out" 2>/dev/null
  echo "--- stderr of the last run:"; cat "$WORK/err" 2>/dev/null
  exit 1
}

# run ARGS...: runs the tool in $WORK; sets rc, and leaves stdout and stderr in $WORK/out and $WORK/err.
run() {
  (cd "$WORK" && "$TOOL" "$@") >"$WORK/out" 2>"$WORK/err"
  rc=$?
}

# expect_rc CODE ARGS...: runs the tool and checks its exit code.
expect_rc() {
  local want=$1
  shift
  run "$@"
  [[ $rc == "$want" ]] || fail "$TOOL_NAME $* exited $rc, expected $want"
  pass "exit $want: $TOOL_NAME $*"
}

# expect_grep FILE PATTERN WHAT: the file has a line matching the extended regex.
expect_grep() {
  grep -Eq -- "$2" "$1" || fail "$3 (no line matches /$2/ in $(basename "$1"))"
  pass "$3"
}

# absolute PATH: the path made absolute, since runs happen in $WORK.
absolute() { [[ $1 == /* ]] && echo "$1" || echo "$PWD/$1"; }

# check_device_cuda ARGS...: runs the tool with ARGS (which ask for --device cuda) and checks the answer this
# build owes. VIT_CUDA_BUILT=1 (set by CTest) means the binary has the CUDA backend: then it either runs
# (exit 0, a GPU is there: sets cuda_device=1) or fails in one line saying there is no CUDA device (exit 1).
# Without the backend it is a usage error (exit 2) that says so.
check_device_cuda() {
  cuda_device=0
  run "$@"
  if [[ ${VIT_CUDA_BUILT:-0} != 1 ]]; then
    [[ $rc == 2 ]] || fail "$TOOL_NAME $* exited $rc in a build without CUDA, expected 2"
    expect_grep "$WORK/err" 'CUDA backend is not built' "--device cuda without the backend says why (exit 2)"
  elif [[ $rc == 1 ]]; then
    expect_grep "$WORK/err" "^$TOOL_NAME: error: no CUDA device" "--device cuda without a GPU says so (exit 1)"
    [[ $(wc -l <"$WORK/err") == 1 ]] || fail "the no-device error is not a single line"
    pass "the no-device error is one line"
  else
    [[ $rc == 0 ]] || fail "$TOOL_NAME $* exited $rc with the CUDA backend, expected 0 (GPU) or 1 (no GPU)"
    pass "exit 0 on a GPU: $TOOL_NAME $*"
    cuda_device=1
  fi
}

# check_no_cublas_on_cpu ARGS...: a run on the CPU (ARGS) must not load cuBLAS, even from a CUDA-enabled build
# (vit::cuda loads it on first use; mapping it costs ~215 MB). The dynamic loader's own log (LD_DEBUG=libs)
# lists every library it opens, dlopen'd ones included; libstdc++ being listed shows the log works.
check_no_cublas_on_cpu() {
  rm -f "$WORK"/ld_debug.*
  LD_DEBUG=libs LD_DEBUG_OUTPUT="$WORK/ld_debug" "$TOOL" "$@" >/dev/null 2>&1 ||
    fail "$TOOL_NAME $* failed on the CPU"
  cat "$WORK"/ld_debug.* >"$WORK/ld_debug" 2>/dev/null
  grep -q 'libstdc++' "$WORK/ld_debug" || fail "LD_DEBUG=libs logged nothing, so the check cannot see"
  if grep -q 'libcublas' "$WORK/ld_debug"; then
    fail "$TOOL_NAME $* on the CPU loaded cuBLAS: $(grep -m1 'libcublas' "$WORK/ld_debug")"
  fi
  pass "a CPU run loads no cuBLAS: $TOOL_NAME $*"
}
