#!/usr/bin/env bash
# End-to-end tests of the train tool: usage errors, bad data, a short run on Fashion-MNIST with its log and
# checkpoint, exact resumption, Ctrl-C, and a corrupt resume file that must not damage what was saved.
#
# usage: train_test.sh TRAIN [CLASSIFY ROLLOUT]
# With CLASSIFY and ROLLOUT, the model trained from scratch (one input channel) is then classified and
# explained on a colour photo, as a user does next. The runs need Fashion-MNIST (Debian's dataset-fashion-mnist, installed by tools/install-deps.sh); without
# it they print SKIPPED and only the usage and bad-data checks run.
set -u

if (( $# != 1 && $# != 3 )); then
  echo "usage: $0 TRAIN [CLASSIFY ROLLOUT]" >&2
  exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"
TRAIN=$(absolute "$1")
CLASSIFY=${2:+$(absolute "$2")} ROLLOUT=${3:+$(absolute "$3")}
PHOTO=$(absolute "$(dirname "${BASH_SOURCE[0]}")/../data/images/baseline_120x90.jpg")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TOOL=$TRAIN TOOL_NAME=train

# A tiny model on a few hundred images: seconds per run.
SMALL=(--fashion-mnist --train-limit 256 --val-limit 128 --patch 7 --width 16 --depth 1 --heads 2
       --threads 1 --warmup 0.5)
B64=(--batch 64)

# ---------------------------------------------------------------------------------------------------
# Usage errors (exit 2) and bad data (exit 1), each with its reason.

expect_rc 2 --epochs 1
expect_grep "$WORK/err" "--out" "the output folder is required"
expect_rc 2 --out "$WORK/run" --epochs 1
expect_grep "$WORK/err" "give the training data" "no data is a usage error"
mkdir -p "$WORK/folder/train/cat" "$WORK/folder/train/dog" "$WORK/folder/val/cat" "$WORK/folder/val/dog"
expect_rc 2 --data "$WORK/folder/train" --out "$WORK/run"
expect_grep "$WORK/err" "needs --val" "--data without --val is a usage error"
expect_rc 1 --data "$WORK/folder/train" --val "$WORK/folder/val" --out "$WORK/run"
expect_grep "$WORK/err" "cat" "an empty class folder is an error naming it"

if ! ls /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte* >/dev/null 2>&1; then
  echo "SKIPPED: the training runs (no Fashion-MNIST in /usr/share/datasets/fashion-mnist)"
  exit 0
fi

expect_rc 2 "${SMALL[@]}" "${B64[@]}" --freeze last:5 --out "$WORK/run"
expect_grep "$WORK/err" "last:K" "--freeze beyond the model's depth is a usage error"
expect_rc 2 "${SMALL[@]}" --batch 1000 --out "$WORK/run"
expect_grep "$WORK/err" "larger than the training data" "a batch larger than the data is refused"

expect_rc 1 --fashion-mnist --patch 1 --width 256 --depth 4 --heads 4 --batch 60000 --epochs 1 --out "$WORK/run"
expect_grep "$WORK/err" "GB of activations" "a batch too large for the machine's memory is refused before allocating"

# ---------------------------------------------------------------------------------------------------
# A short run: log, checkpoint, loss going down.

expect_rc 0 "${SMALL[@]}" "${B64[@]}" --epochs 2 --out "$WORK/straight"
expect_grep "$WORK/out" "^epoch 2/2: train loss" "each epoch prints its losses and accuracies"
[[ $(wc -l <"$WORK/straight/log.csv") == 3 ]] || fail "log.csv should hold a header and 2 epochs"
pass "log.csv holds a header and one line per epoch"
# The plot of the curves (built with cairo, as tools/install-deps.sh sets up): a 1100x460 PNG.
if [[ ${VIT_TRAIN_PLOT:-OFF} == ON ]]; then
  header=$(head -c 24 "$WORK/straight/curves.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
  [[ ${header:0:16} == 89504e470d0a1a0a ]] || fail "curves.png is missing or not a PNG"
  [[ ${header:32:16} == 0000044c000001cc ]] || fail "curves.png is not 1100x460 (IHDR ${header:32:16})"
  pass "curves.png is drawn from the log"
else
  expect_grep "$WORK/out" "no curves.png: built without cairo" "a build without cairo says it writes no plot"
fi
for file in model/model.safetensors model/config.json training_state.safetensors; do
  [[ -s $WORK/straight/$file ]] || fail "$file was not written"
done
pass "the checkpoint folder and the training state are written"
expect_grep "$WORK/straight/model/config.json" "T-shirt/top" "the checkpoint names Fashion-MNIST's classes"
first_loss=$(sed -n 2p "$WORK/straight/log.csv" | cut -d, -f4)
second_loss=$(sed -n 3p "$WORK/straight/log.csv" | cut -d, -f4)
awk -v a="$first_loss" -v b="$second_loss" 'BEGIN { exit !(b < a) }' || fail "the training loss did not go down ($first_loss, $second_loss)"
pass "the training loss goes down ($first_loss -> $second_loss)"

# What was trained is used next: classify and explain a colour photo with it (one channel: the photo as PIL's
# convert("L") makes it, as timm loads images for such a model), with the saved class names.
if [[ -n $CLASSIFY ]]; then
  TOOL=$CLASSIFY TOOL_NAME=classify
  expect_rc 0 --model "$WORK/straight/model" --json --top 3 "$PHOTO"
  grep -Eq '"label":"(T-shirt/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot)"' "$WORK/out" ||
    fail "classify on the trained model printed no Fashion-MNIST label"
  pass "classify runs the 1-channel model trained here and names its classes"
  TOOL=$ROLLOUT TOOL_NAME=rollout
  expect_rc 0 --model "$WORK/straight/model" --method rollout,transformer-attribution --out "$WORK/explained.png" "$PHOTO"
  [[ -s $WORK/explained.png ]] || fail "rollout wrote no figure"
  pass "rollout explains the 1-channel model's prediction"
  TOOL=$TRAIN TOOL_NAME=train
fi

# Resumption is exact, also in the middle of an epoch: stopping after 5 steps (4 per epoch) and resuming gives
# the weights of a run that never stopped.
expect_rc 0 "${SMALL[@]}" "${B64[@]}" --epochs 3 --out "$WORK/straight"
expect_rc 130 "${SMALL[@]}" "${B64[@]}" --epochs 3 --out "$WORK/resumed" --stop-after-steps 5
expect_grep "$WORK/err" "stopped: saved" "--stop-after-steps saves a resumable state"
expect_rc 0 "${SMALL[@]}" "${B64[@]}" --epochs 3 --out "$WORK/resumed" --resume
expect_grep "$WORK/err" "resuming at epoch 2, batch 1" "--resume continues where the run stopped"
cmp -s "$WORK/straight/model/model.safetensors" "$WORK/resumed/model/model.safetensors" ||
  fail "a resumed run differs from a straight one"
pass "a run stopped mid-epoch and resumed ends bit-identical to a straight run"

# Ctrl-C: saves a resumable checkpoint and exits 130; --resume then finishes.
(cd "$WORK" && timeout --preserve-status -s INT 6 "$TRAIN" "${SMALL[@]}" "${B64[@]}" --epochs 100000 --out "$WORK/interrupted") >"$WORK/out" 2>"$WORK/err"
rc=$?
[[ $rc == 130 ]] || fail "an interrupted run exited $rc, expected 130"
expect_grep "$WORK/err" "interrupted: saved" "Ctrl-C saves and says so"
[[ -s $WORK/interrupted/training_state.safetensors ]] || fail "no training state after Ctrl-C"
pass "Ctrl-C leaves a training state"

# A corrupt resume file: a clear error, and the saved model untouched.
cp "$WORK/straight/model/model.safetensors" "$WORK/before.safetensors"
printf 'garbage' | dd of="$WORK/straight/training_state.safetensors" bs=1 seek=200 conv=notrunc status=none
expect_rc 1 "${SMALL[@]}" "${B64[@]}" --epochs 4 --out "$WORK/straight" --resume
expect_grep "$WORK/err" "training_state.safetensors" "a corrupt resume file is an error naming it"
cmp -s "$WORK/before.safetensors" "$WORK/straight/model/model.safetensors" || fail "a failed resume changed the saved model"
pass "a failed resume leaves the saved model as it was"
echo "all train checks passed"
