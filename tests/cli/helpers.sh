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
