#!/usr/bin/env bash
# End-to-end: classify and rollout on checkpoint folders saved by vit::train::save_checkpoint print the saved
# class names with no extra flags.
#
# usage: checkpoint_test.sh CLASSIFY ROLLOUT WRITER TEST_DATA_DIR
#   CLASSIFY, ROLLOUT  the built tools
#   WRITER             the built checkpoint_fixture_writer (saves the folders of tests/checkpoint_cases.hpp)
#   TEST_DATA_DIR      tests/data
set -u

if (( $# != 4 )); then
  echo "usage: $0 CLASSIFY ROLLOUT WRITER TEST_DATA_DIR" >&2
  exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"
CLASSIFY=$(absolute "$1") ROLLOUT=$(absolute "$2") WRITER=$(absolute "$3") DATA=$(absolute "$4")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$WRITER" "$DATA" "$WORK/saved" >"$WORK/out" 2>"$WORK/err" || fail "checkpoint_fixture_writer failed"
FOLDER=$WORK/saved/vit                      # Fashion-MNIST's class names
UNICODE_FOLDER=$WORK/saved/vit_meanpool     # names beyond ASCII
IMAGE=$DATA/pil/baseline_120x90.decoded.png
FASHION=("T-shirt/top" "Trouser" "Pullover" "Dress" "Coat" "Sandal" "Shirt" "Sneaker" "Bag" "Ankle boot")

echo "== classify --model FOLDER prints the saved labels"
TOOL=$CLASSIFY TOOL_NAME=classify
expect_rc 0 --model "$FOLDER" --top 10 "$IMAGE"
for label in "${FASHION[@]}"; do
  grep -Eq "^ +[0-9.]+%  [0-9]  $(printf '%s' "$label" | sed 's/[][\.*^$/]/\\&/g')\$" "$WORK/out" ||
    fail "label '$label' is not printed"
done
pass "all ten saved labels are printed, one per class"

# Each printed label is the one saved for that index.
while read -r index label; do
  [[ $label == "${FASHION[$index]}" ]] || fail "class $index is printed as '$label', saved as '${FASHION[$index]}'"
done < <(sed -n 's/^ *[0-9.]*%  \([0-9]\)  \(.*\)$/\1 \2/p' "$WORK/out")
pass "every label sits beside its own class index"

expect_rc 0 --model "$FOLDER" --json --top 1 "$IMAGE"
cp "$WORK/out" "$WORK/folder.json"
index=$(sed -n 's/.*"top":\[{"index":\([0-9]*\),.*/\1/p' "$WORK/folder.json")
expect_grep "$WORK/folder.json" "\"label\":\"${FASHION[$index]}\"" "--json names the top class by its saved label"
expect_rc 0 --model "$FOLDER/model.safetensors" --json --top 1 "$IMAGE"
cmp -s "$WORK/out" "$WORK/folder.json" || fail "the folder and its model.safetensors classify differently"
pass "--model FOLDER/model.safetensors reads the same config.json"

printf 'c%d\n' 0 1 2 3 4 5 6 7 8 9 >"$WORK/labels.txt"
expect_rc 0 --model "$FOLDER" --labels "$WORK/labels.txt" --top 1 "$IMAGE"
expect_grep "$WORK/out" "  c$index\$" "--labels still takes precedence over the saved names"
printf 'a\nb\n' >"$WORK/two_labels.txt"
expect_rc 2 --model "$FOLDER" --labels "$WORK/two_labels.txt" "$IMAGE"

expect_rc 0 --model "$UNICODE_FOLDER" --top 10 "$IMAGE"
expect_grep "$WORK/out" '  один$' "UTF-8 labels come through"
expect_grep "$WORK/out" '  drei "3"$' "labels with quotes come through"

echo "== rollout --model FOLDER prints the saved labels"
TOOL=$ROLLOUT TOOL_NAME=rollout
expect_rc 0 --model "$FOLDER" --out "$WORK/rollout.png" "$IMAGE"
[[ -s $WORK/rollout.png ]] || fail "rollout wrote no PNG"
expect_grep "$WORK/out" "  ${FASHION[$index]}\$" "rollout names the top class by its saved label"
expect_rc 0 --model "$FOLDER" --class Trouser --method transformer-attribution --out "$WORK/trouser.png" "$IMAGE"
expect_grep "$WORK/out" "Trouser" "rollout --class takes a saved label"

echo "PASS"
