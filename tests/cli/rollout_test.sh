#!/usr/bin/env bash
# End-to-end tests of the rollout tool: usage errors, unreadable inputs, the files it writes, and the real
# model's answer on both.png.
#
# usage: rollout_test.sh ROLLOUT SHARED_DIR TEST_DATA_DIR
#   ROLLOUT        the built examples/rollout binary
#   SHARED_DIR     ../shared (real model, images, labels); the checks that need it are skipped without it
#   TEST_DATA_DIR  tests/data (the small vit_hf and deit_distilled_hf checkpoints, small images)
#
# Every assertion prints what it checked; the script stops with exit 1 at the first failure. Outputs go to
# a temporary directory that is removed at exit.
set -u

if (( $# != 3 )); then
  echo "usage: $0 ROLLOUT SHARED_DIR TEST_DATA_DIR" >&2
  exit 2
fi
# Absolute paths: runs happen inside the temporary directory (so that the default rollout.png lands there).
source "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"
ROLLOUT=$(absolute "$1") SHARED=$(absolute "$2") DATA=$(absolute "$3")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

REAL_MODEL=$SHARED/models/deit_tiny_patch16_224.safetensors
LABELS=$SHARED/labels/imagenet_classes.txt
HF_MODEL=$DATA/vit_hf/model.safetensors                    # ViT, 32x32 input, 4x4 patch grid, no distillation token
DISTILLED=$DATA/deit_distilled_hf/model.safetensors        # DeiT with a distillation token
SMALL_IMAGE=$DATA/images/rgb_50x49.png
HAVE_SHARED=0
[[ -f $REAL_MODEL ]] && HAVE_SHARED=1

# ---------------------------------------------------------------------------------------------------
# Helpers

TOOL=$ROLLOUT TOOL_NAME=rollout

size_of() { wc -c <"$1" | tr -d ' '; }

# png_size FILE: "WIDTHxHEIGHT" from the PNG's IHDR chunk.
png_size() {
  local fields
  read -r -a fields <<<"$(od -An -tu1 -j16 -N8 "$1")"
  echo "$(( fields[0] << 24 | fields[1] << 16 | fields[2] << 8 | fields[3] ))x$(( fields[4] << 24 | fields[5] << 16 | fields[6] << 8 | fields[7] ))"
}

# expect_png FILE MIN_BYTES [WxH]: a PNG at least MIN_BYTES long (not blank), of the given size if given.
expect_png() {
  [[ -f $1 ]] || fail "$1 was not written"
  [[ $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$1 is not a PNG"
  local bytes
  bytes=$(size_of "$1")
  (( bytes >= $2 )) || fail "$1 is only $bytes bytes (expected at least $2)"
  if (( $# == 3 )); then
    [[ $(png_size "$1") == "$3" ]] || fail "$1 is $(png_size "$1"), expected $3"
  fi
  pass "$(basename "$1"): a PNG of $bytes bytes${3:+, $3}"
}

# expect_npy FILE GRID_H GRID_W: a NumPy 1.0 '<f4' file of that shape, header padded to 64 bytes.
expect_npy() {
  [[ -f $1 ]] || fail "$1 was not written"
  [[ $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 934e554d50590100 ]] || fail "$1 lacks the .npy 1.0 magic"
  local header=$(( $(od -An -tu2 -j8 -N2 --endian=little "$1") ))
  (( (10 + header) % 64 == 0 )) || fail "$1: header length $header + 10 is not a multiple of 64"
  head -c $(( 10 + header )) "$1" | grep -aqF "{'descr': '<f4', 'fortran_order': False, 'shape': ($2, $3), }" ||
    fail "$1: the header does not describe a ($2, $3) float32 array"
  local want=$(( 10 + header + $2 * $3 * 4 ))
  [[ $(size_of "$1") == "$want" ]] || fail "$1 is $(size_of "$1") bytes, expected $want"
  pass "$(basename "$1"): .npy of float32 ($2, $3), $(( 10 + header ))-byte header, $want bytes"
}

# ---------------------------------------------------------------------------------------------------
echo "== usage and exit codes"

expect_rc 0 --help
expect_grep "$WORK/out" '--model' "--help mentions --model"
expect_grep "$WORK/out" '--fusion' "--help mentions --fusion"
expect_grep "$WORK/out" 'Examples' "--help shows examples"
expect_rc 2
expect_rc 2 --model "$HF_MODEL"                                  # no image
expect_rc 2 --model "$HF_MODEL" --no-such-option "$SMALL_IMAGE"
expect_rc 2 --model "$HF_MODEL" "$SMALL_IMAGE" "$SMALL_IMAGE"    # one image only
expect_rc 2 --model "$HF_MODEL" --fusion average "$SMALL_IMAGE"
expect_grep "$WORK/err" 'fusion.*mean' "a bad --fusion lists the valid names"
expect_rc 2 --model "$HF_MODEL" --discard 1.0 "$SMALL_IMAGE"
expect_grep "$WORK/err" 'outside \[0, 1\)' "--discard 1.0 says the range"
expect_rc 2 --model "$HF_MODEL" --discard -0.1 "$SMALL_IMAGE"
expect_rc 2 --model "$HF_MODEL" --discard lots "$SMALL_IMAGE"
expect_rc 2 --model "$HF_MODEL" --colormap rainbow "$SMALL_IMAGE"
expect_grep "$WORK/err" 'jet.*viridis.*turbo|jet,viridis,turbo' "an unknown colormap lists the valid names"
expect_rc 2 --model "$HF_MODEL" --token patch "$SMALL_IMAGE"
expect_rc 2 --model "$HF_MODEL" --alpha 1.5 "$SMALL_IMAGE"
expect_rc 2 --model "$HF_MODEL" --on screen "$SMALL_IMAGE"
expect_rc 2 --model "$HF_MODEL" --start-layer -1 "$SMALL_IMAGE"
expect_rc 2 --model "$HF_MODEL" --start-layer 2 "$SMALL_IMAGE"   # the small model has 2 layers
expect_grep "$WORK/err" 'only 2 layers' "a start layer past the depth names the depth"
expect_rc 2 --model "$HF_MODEL" --token dist "$SMALL_IMAGE"
expect_grep "$WORK/err" 'no distillation token' "--token dist on a model without one says so"
expect_rc 2 --model "$HF_MODEL" --method lime "$SMALL_IMAGE"
expect_grep "$WORK/err" "unknown explanation method 'lime'.*generic-attention" "an unknown method lists the valid names"
expect_rc 2 --model "$HF_MODEL" --method generic-attention --class 10 "$SMALL_IMAGE"
expect_grep "$WORK/err" 'class 10 is out of range' "a class past the head is a usage error"
expect_rc 2 --model "$HF_MODEL" --method generic-attention --class no_such_class "$SMALL_IMAGE"
expect_grep "$WORK/err" "class 'no_such_class' is not one of the labels" "an unknown label is a usage error"
expect_rc 2 --model "$HF_MODEL" --method grad-rollout --start-layer 2 "$SMALL_IMAGE"
expect_grep "$WORK/err" 'only 2 layers' "a start layer past the depth is a usage error for the gradient methods too"
expect_rc 2 --model "$HF_MODEL" --dtype fp16 "$SMALL_IMAGE"
expect_grep "$WORK/err" 'CPU backend computes in fp32' "--dtype fp16 on the CPU says why"
check_device_cuda --model "$HF_MODEL" --device cuda --out "$WORK/cuda.png" "$SMALL_IMAGE"
check_no_cublas_on_cpu --model "$HF_MODEL" --out "$WORK/cpu_only.png" "$SMALL_IMAGE"
printf 'a\nb\nc\n' >"$WORK/three_labels.txt"
expect_rc 2 --model "$HF_MODEL" --labels "$WORK/three_labels.txt" "$SMALL_IMAGE"
expect_grep "$WORK/err" 'has 3 labels but the model has 10 classes' "a label count mismatch names both numbers"

expect_rc 1 --model "$WORK/no_such_model.safetensors" "$SMALL_IMAGE"
expect_grep "$WORK/err" '^rollout: error: .*no_such_model\.safetensors' "a missing model is named"
expect_rc 1 --model "$HF_MODEL" "$WORK/missing.png"
expect_grep "$WORK/err" '^rollout: error: .*missing\.png' "a missing image is named"
echo "not an image" >"$WORK/notes.png"
expect_rc 1 --model "$HF_MODEL" "$WORK/notes.png"
expect_grep "$WORK/err" 'notes\.png: not a readable image' "an unreadable image is named"
expect_rc 1 --model "$HF_MODEL" --labels "$WORK/no_labels.txt" "$SMALL_IMAGE"
expect_rc 1 --model "$HF_MODEL" --out "$WORK/no_such_dir/heat.png" "$SMALL_IMAGE"
expect_grep "$WORK/err" 'no_such_dir/heat\.png: cannot create' "an output that cannot be written is named"

# ---------------------------------------------------------------------------------------------------
echo "== outputs of the small models"

expect_rc 0 --model "$HF_MODEL" "$SMALL_IMAGE"
expect_png "$WORK/rollout.png" 100 50x49                     # default --out, drawn on the 50x49 original
expect_grep "$WORK/out" '^ +[0-9]+\.[0-9]{2}%  +[0-9]+  class_[0-9]$' "top classes with labels from config.json"
[[ $(grep -c '%' "$WORK/out") == 5 ]] || fail "expected 5 class lines"
pass "five class lines"
expect_rc 0 --model "$HF_MODEL" --on crop --colormap viridis --fusion max --discard 0.5 --start-layer 1 \
  --out "$WORK/small_crop.png" --heads "$WORK/small_heads.png" --raw "$WORK/small.npy" "$SMALL_IMAGE"
expect_png "$WORK/small_crop.png" 100 32x32                  # the model's 32x32 input
expect_png "$WORK/small_heads.png" 100 104x32                # 3 heads side by side, 4-pixel gaps
expect_npy "$WORK/small.npy" 4 4
expect_rc 0 --model "$HF_MODEL" --method generic-attention --class class_3 --raw "$WORK/generic.npy" \
  --out "$WORK/generic.png" "$SMALL_IMAGE"
expect_grep "$WORK/out" '^generic-attention explains class 3 class_3$' "the explained class is printed, label included"
expect_png "$WORK/generic.png" 100 50x49
expect_npy "$WORK/generic.npy" 4 4
expect_rc 0 --model "$HF_MODEL" --method rollout,grad-rollout,attention-gradcam --class 1 --class 2 --on crop \
  --out "$WORK/figure.png" --raw "$WORK/figure.npy" "$SMALL_IMAGE"
expect_png "$WORK/figure.png" 100 104x124                   # 3 x 2 tiles of 32x32 under 28-pixel titles, 4-pixel gaps
head -c 128 "$WORK/figure.npy" | grep -aqF "'shape': (6, 4, 4)" || fail "the figure's .npy is not [6, 4, 4]"
pass "figure.npy: the six maps, [6, 4, 4]"
expect_rc 0 --model "$HF_MODEL" --method grad-rollout --vit-explain --out "$WORK/vit_explain.png" "$SMALL_IMAGE"
expect_png "$WORK/vit_explain.png" 100 50x49
expect_rc 0 --model "$DISTILLED" --token dist --raw "$WORK/dist.npy" --out "$WORK/dist.png" "$SMALL_IMAGE"
expect_png "$WORK/dist.png" 100 50x49
expect_npy "$WORK/dist.npy" 28 28
if command -v cmp >/dev/null; then
  run --model "$DISTILLED" --token cls --raw "$WORK/cls.npy" --out "$WORK/cls.png" "$SMALL_IMAGE"
  [[ $rc == 0 ]] || fail "--token cls on the distilled model exited $rc"
  cmp -s "$WORK/cls.npy" "$WORK/dist.npy" && fail "--token cls and --token dist give the same map"
  pass "--token cls and --token dist give different maps"
fi

# ---------------------------------------------------------------------------------------------------
echo "== the real model on ../shared/images/both.png"

if (( HAVE_SHARED )); then
  expect_rc 2 --model "$REAL_MODEL" --token dist "$SHARED/images/both.png"
  expect_grep "$WORK/err" 'no distillation token' "--token dist on deit_tiny is a usage error"
  BOTH=$SHARED/images/both.png
  expect_rc 0 --model "$REAL_MODEL" --labels "$LABELS" --out "$WORK/both.png" --heads "$WORK/both_heads.png" \
    --raw "$WORK/both.npy" "$BOTH"
  [[ $(head -n 1 "$WORK/out") == "$BOTH" ]] || fail "the first line is not the image path"
  top1=$(sed -n 2p "$WORK/out")
  [[ $top1 == *" 243  bull mastiff"* ]] || fail "top-1 line '$top1' is not 243 bull mastiff"
  pass "top-1: $top1"
  expect_png "$WORK/both.png" 20000 224x224                  # over the 224x224 original
  expect_png "$WORK/both_heads.png" 50000 680x224            # deit_tiny has 3 heads
  expect_npy "$WORK/both.npy" 14 14
  expect_rc 0 --model "$REAL_MODEL" --on crop --fusion max --colormap turbo --out "$WORK/tench_crop.png" \
    "$SHARED/images/tench.jpg"
  expect_png "$WORK/tench_crop.png" 20000 224x224
  sed -n 2p "$WORK/out" | grep -Eq '^ +[0-9.]+%  +0$' || fail "tench.jpg: the top-1 line is not class 0"
  pass "tench.jpg: top-1 class 0, printed as the index alone without labels"
  expect_rc 0 --model "$REAL_MODEL" --out "$WORK/tench.png" "$SHARED/images/tench.jpg"
  expect_png "$WORK/tench.png" 50000 612x408                 # --on original keeps the original's size
  # Class-specific maps: the basset and the macaw of dogbird.png, named by label, land on different patches.
  expect_rc 0 --model "$REAL_MODEL" --labels "$LABELS" --method generic-attention --class basset --class macaw \
    --raw "$WORK/dogbird.npy" --out "$WORK/dogbird.png" "$SHARED/images/dogbird.png"
  expect_grep "$WORK/out" '^generic-attention explains class 88 macaw$' "--class macaw resolves to class 88"
  expect_png "$WORK/dogbird.png" 20000 224x508
  cmp -s <(tail -c 784 "$WORK/dogbird.npy") <(tail -c 1568 "$WORK/dogbird.npy" | head -c 784) &&
    fail "the basset and macaw maps are identical"
  pass "the basset and macaw maps differ"
else
  echo "SKIPPED: ../shared not present ($REAL_MODEL)"
fi

echo "all rollout tests passed"
