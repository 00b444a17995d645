#!/usr/bin/env bash
# End-to-end tests of the classify tool: usage errors, bad inputs, answers of the real model, HF layout.
#
# usage: classify_test.sh CLASSIFY SHARED_DIR TEST_DATA_DIR
#   CLASSIFY       the built examples/classify binary
#   SHARED_DIR     ../shared (real model, images, labels); the checks that need it are skipped without it
#   TEST_DATA_DIR  tests/data (the small vit_hf checkpoint)
#
# Every assertion prints what it checked; the script stops with exit 1 at the first failure. Bad input
# files are built here at run time with printf, so no broken images live in the repository.
set -u

if (( $# != 3 )); then
  echo "usage: $0 CLASSIFY SHARED_DIR TEST_DATA_DIR" >&2
  exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"
CLASSIFY=$(absolute "$1") SHARED=$(absolute "$2") DATA=$(absolute "$3")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

REAL_MODEL=$SHARED/models/deit_tiny_patch16_224.safetensors
LABELS=$SHARED/labels/imagenet_classes.txt
HF_MODEL=$DATA/vit_hf/model.safetensors
HAVE_SHARED=0
[[ -f $REAL_MODEL ]] && HAVE_SHARED=1

# ---------------------------------------------------------------------------------------------------
# Helpers

TOOL=$CLASSIFY TOOL_NAME=classify

# json_line NAME: the JSON line of the image whose path ends in /NAME (or is NAME).
json_line() { grep -E "^\{\"image\":\"([^\"]*/)?$1\"" "$WORK/out"; }
# top1_index NAME / top1_label NAME: fields of the first entry of that image's "top" list.
top1_index() { json_line "$1" | sed -n 's/.*"top":\[{"index":\([0-9]*\),.*/\1/p'; }
top1_label() { json_line "$1" | sed -n 's/.*"top":\[{"index":[0-9]*,"label":"\([^"]*\)".*/\1/p'; }
# all_top1: "path index" for every classified image, in output order.
all_top1() { sed -n 's/^{"image":"\([^"]*\)","top":\[{"index":\([0-9]*\),.*/\1 \2/p' "$WORK/out"; }

# Writes a big-endian 32-bit / little-endian 16-bit integer as raw bytes.
be32() { printf '%b' "$(printf '%08x' "$1" | sed 's/../\\x&/g')"; }
le16() { printf '%b' "$(printf '%04x' "$1" | sed 's/\(..\)\(..\)/\\x\2\\x\1/')"; }

# png_header W H: a PNG signature and an IHDR chunk claiming a W×H 8-bit RGB image, and nothing else.
# The CRC is left as zero: stb_image does not check it.
png_header() {
  printf '\x89PNG\r\n\x1a\n'
  be32 13; printf 'IHDR'; be32 "$1"; be32 "$2"; printf '\x08\x02\x00\x00\x00'; be32 0
}

# black_png W H: a complete, decodable W×H black PNG. Its zlib stream uses stored (uncompressed)
# blocks so that no compressor is needed; CRCs and the Adler-32 are zero (stb_image checks neither).
black_png() {
  local raw=$(( $2 * (1 + 3 * $1) ))  # each row: a filter byte, then RGB
  local blocks=$(( (raw + 65534) / 65535 )) left=$raw n
  png_header "$1" "$2"
  be32 $(( 2 + 5 * blocks + raw + 4 )); printf 'IDAT\x78\x01'
  while (( left > 0 )); do
    n=$(( left > 65535 ? 65535 : left ))
    left=$(( left - n ))
    if (( left == 0 )); then printf '\x01'; else printf '\x00'; fi  # BFINAL on the last block
    le16 "$n"; le16 $(( 65535 - n )); head -c "$n" /dev/zero
  done
  be32 0; be32 0
  be32 0; printf 'IEND'; be32 0
}

# ---------------------------------------------------------------------------------------------------
echo "== usage and exit codes"

expect_rc 0 --help
expect_grep "$WORK/out" '--model' "--help mentions --model"
expect_grep "$WORK/out" 'Examples' "--help shows examples"
expect_rc 2
expect_rc 2 --model "$HF_MODEL"                                  # no inputs
expect_rc 2 --model "$HF_MODEL" --no-such-option x.png
expect_rc 2 --model "$HF_MODEL" --top 0 x.png
expect_rc 2 --model "$HF_MODEL" --batch 0 x.png
expect_rc 2 --model "$HF_MODEL" --arch nonsense x.png
expect_grep "$WORK/err" 'unknown model preset' "--arch nonsense names the problem"
expect_rc 2 --model "$HF_MODEL" --arch vit_tiny_patch16_224 --config "$DATA/vit_hf/config.json" x.png
expect_rc 2 --model "$HF_MODEL" --dtype bf16 x.png
expect_grep "$WORK/err" 'CPU backend computes in fp32' "--dtype bf16 on the CPU says why"
expect_rc 2 --model "$HF_MODEL" --device cuda --dtype fp64 x.png
black_png 1 1 >"$WORK/black.png"
check_device_cuda --model "$HF_MODEL" --device cuda --dtype bf16 --top 1 "$WORK/black.png"
check_no_cublas_on_cpu --model "$HF_MODEL" --top 1 "$WORK/black.png"
expect_rc 1 --model "$WORK/no_such_model.safetensors" x.png
expect_grep "$WORK/err" '^classify: error: .*no_such_model\.safetensors' "a missing model is named"
printf 'a\nb\nc\n' >"$WORK/three_labels.txt"
expect_rc 2 --model "$HF_MODEL" --labels "$WORK/three_labels.txt" x.png
expect_grep "$WORK/err" 'has 3 labels but the model has 10 classes' "a label count mismatch names both numbers"
mkdir -p "$WORK/empty_dir"
expect_rc 1 --model "$HF_MODEL" "$WORK/empty_dir"
expect_grep "$WORK/err" 'empty_dir: no image files' "a directory without images is reported"

# ---------------------------------------------------------------------------------------------------
echo "== bad inputs in one run"

# With the real model the timm preprocessing (short-side resize) applies, which makes a thin strip a
# bad input too; the small HF model resizes to an exact 32x32 and takes it.
if (( HAVE_SHARED )); then MODEL=$REAL_MODEL; else MODEL=$HF_MODEL; fi
BAD=$WORK/bad
mkdir -p "$BAD/dir/sub"
black_png 1 1 >"$BAD/one.png"                        # valid 1x1 PNG, named explicitly
: >"$BAD/empty.jpg"                                  # zero bytes
echo "not an image" >"$BAD/notes.jpg"                # text with an image extension
png_header 60000 60000 >"$BAD/huge.png"              # header only, no pixel data: must not be decoded
png_header 15000 15000 >"$BAD/big.png"               # header only; a size stb would accept
echo "skip me" >"$BAD/dir/notes.txt"                 # not an image extension: skipped silently
cp "$BAD/one.png" "$BAD/dir/good.png"
cp "$BAD/one.png" "$BAD/dir/sub/nested.png"          # found recursively
ln -s "$BAD/dir/gone.png" "$BAD/dir/dangling.png"    # a link to nothing: reported, never skipped silently
ln -s loop.png "$BAD/dir/loop.png"                   # a link to itself
ln -s .. "$BAD/dir/sub/up"                           # a cycle back to dir: searched once, not an error
bad_files=(missing.png empty.jpg notes.jpg huge.png big.png dir/dangling.png dir/loop.png)
if (( EUID != 0 )); then                             # root reads any folder: this case needs another user
  mkdir "$BAD/dir/locked" && cp "$BAD/one.png" "$BAD/dir/locked/hidden.png" && chmod 000 "$BAD/dir/locked"
  trap 'chmod 700 "$BAD/dir/locked"; rm -rf "$WORK"' EXIT
  bad_files+=(dir/locked)
else
  echo "SKIPPED: a folder without read permission (running as root, who can read it)"
fi
inputs=("$BAD/missing.png" "$BAD/one.png" "$BAD/empty.jpg" "$BAD/notes.jpg" "$BAD/huge.png" "$BAD/big.png")

jpeg_source=""
if (( HAVE_SHARED )); then
  jpeg_source=$SHARED/images/tench.jpg
  cp "$jpeg_source" "$BAD/dir/tench.jpg"
else
  jpegs=("$DATA"/images/*.jpg)
  [[ -f ${jpegs[0]} ]] && jpeg_source=${jpegs[0]}
fi
if [[ -n $jpeg_source ]]; then
  head -c 300 "$jpeg_source" >"$BAD/trunc.jpg"       # a real JPEG cut after 300 bytes
  bad_files+=(trunc.jpg)
  inputs+=("$BAD/trunc.jpg")
else
  echo "SKIPPED: truncated JPEG (no JPEG to cut: ../shared and tests/data/images absent)"
fi
if (( HAVE_SHARED )); then
  black_png 1 100000 >"$BAD/strip.png"               # 1x100000: would resize to 256x25600000
  bad_files+=(strip.png)
  inputs+=("$BAD/strip.png")
fi
inputs+=("$BAD/dir")

expect_rc 1 --model "$MODEL" --top 1 "${inputs[@]}"
errors=$(grep -c '^classify: error: ' "$WORK/err")
[[ $errors == "${#bad_files[@]}" ]] || fail "expected ${#bad_files[@]} error lines, got $errors"
pass "one 'classify: error:' line per bad file (${#bad_files[@]})"
[[ $(wc -l <"$WORK/err") == "${#bad_files[@]}" ]] || fail "stderr has lines besides the error lines"
pass "stderr holds nothing else (no progress bar when stderr is not a terminal)"
for name in "${bad_files[@]}"; do
  [[ $(grep -c "^classify: error: $BAD/$name: " "$WORK/err") == 1 ]] || fail "no single error line names $name"
  pass "the error line names $name: $(grep "$BAD/$name: " "$WORK/err" | sed "s|$BAD/||")"
done
expect_grep "$WORK/err" "/huge\.png: image is 60000x60000 pixels, more than the limit" \
  "the 60000x60000 header is refused by the pixel limit, before decoding"
expect_grep "$WORK/err" "/big\.png: image is 15000x15000 pixels, more than the limit" \
  "the 15000x15000 header is refused by the pixel limit"
if (( HAVE_SHARED )); then
  expect_grep "$WORK/err" "/strip\.png: .*too elongated" "the 1x100000 strip is refused before resizing"
fi
expect_grep "$WORK/err" "/dir/dangling\.png: a symbolic link that cannot be followed" "a dangling link is reported"
expect_grep "$WORK/err" "/dir/loop\.png: a symbolic link that cannot be followed" "a looping link is reported"
if (( EUID != 0 )); then
  expect_grep "$WORK/err" "/dir/locked: cannot list the directory" "an unreadable folder is reported"
fi
grep -q 'notes\.txt' "$WORK/err" "$WORK/out" && fail "dir/notes.txt was not skipped silently"
pass "dir/notes.txt is skipped silently"

# Text output: each good image's path line, then its top-1 line ("  PP.PP%  INDEX[  LABEL]").
expected_good=("$BAD/one.png" "$BAD/dir/good.png" "$BAD/dir/sub/nested.png")
(( HAVE_SHARED )) && expected_good+=("$BAD/dir/tench.jpg")
paths=$(grep -v '^ ' "$WORK/out")
[[ $paths == "$(printf '%s\n' "${expected_good[@]}")" ]] || fail "classified images differ from: ${expected_good[*]}"
pass "the good images are classified, in input order, directory entries sorted: ${expected_good[*]#$BAD/}"
for path in "${expected_good[@]}"; do
  grep -A1 -Fx "$path" "$WORK/out" | tail -n 1 | grep -Eq '^ +[0-9]+\.[0-9]{2}%  +[0-9]+' ||
    fail "no top-1 line after $path"
done
pass "each good image has a top-1 line"
if (( HAVE_SHARED )); then
  grep -A1 -Fx "$BAD/dir/tench.jpg" "$WORK/out" | tail -n 1 | grep -Eq '%  +0$' || fail "tench.jpg top-1 is not 0"
  pass "tench.jpg among the bad files still has top-1 class 0"
fi

# The same run as JSON: one object per input, failures as {"image", "error"} lines.
run --model "$MODEL" --top 1 --json "${inputs[@]}"
[[ $rc == 1 ]] || fail "--json bad-input run exited $rc, expected 1"
[[ $(grep -c '^{"image":"[^"]*","error":"' "$WORK/out") == "${#bad_files[@]}" ]] ||
  fail "expected ${#bad_files[@]} JSON error lines"
pass "--json prints one {\"image\", \"error\"} line per bad file"
[[ $(grep -c '^{"image":"[^"]*","top":\[{"index":[0-9]*,"label":"[^"]*","prob":[0-9.e-]*,"logit":[-0-9.e]*}\]}$' \
  "$WORK/out") == "${#expected_good[@]}" ]] || fail "expected ${#expected_good[@]} well-formed JSON result lines"
pass "--json prints one {\"image\", \"top\": [{index, label, prob, logit}]} line per good image"
mixed_one=$(top1_index one.png)
run --model "$MODEL" --top 1 --json --threads 1 "$BAD/one.png"
[[ $rc == 0 && $(top1_index one.png) == "$mixed_one" ]] || fail "one.png alone gives another answer"
pass "one.png gets the same top-1 ($mixed_one) alone as among bad files"

# --exif-orientation turns a photo upright first (as Hugging Face's pipeline does): the result is that of
# PIL's ImageOps.exif_transpose of the same file. Off by default: the stored pixels.
run --model "$MODEL" --top 1 --json "$DATA/decode/exif_orientation_6.jpg"
stored=$(sed 's/"image":"[^"]*"//' "$WORK/out")
run --model "$MODEL" --top 1 --json --exif-orientation "$DATA/decode/exif_orientation_6.jpg"
[[ $rc == 0 ]] || fail "--exif-orientation run exited $rc"
upright=$(sed 's/"image":"[^"]*"//' "$WORK/out")
run --model "$MODEL" --top 1 --json "$DATA/decode/exif_orientation_6.expected.png"
[[ $(sed 's/"image":"[^"]*"//' "$WORK/out") == "$upright" ]] || fail "--exif-orientation differs from PIL's upright image"
[[ $stored != "$upright" ]] || fail "--exif-orientation changed nothing on orientation 6"
pass "--exif-orientation classifies the upright picture, and is off by default"

# ---------------------------------------------------------------------------------------------------
echo "== the real model on ../shared/images"

if (( HAVE_SHARED )); then
  expect_rc 0 --model "$REAL_MODEL" --labels "$LABELS" --json --top 1 "$SHARED/images"
  for expected in tench.jpg:0 magpie.jpeg:18 cheetah.jpg:293 panda.jpeg:388 apple.jpg:948 both.png:243 \
                  dogbird.png:161 plane.png:404; do
    name=${expected%%:*} want=${expected##*:}
    got=$(top1_index "$name")
    [[ $got == "$want" ]] || fail "$name: top-1 $got, expected $want"
    pass "$name: top-1 $want ($(top1_label "$name"))"
  done
  [[ $(wc -l <"$WORK/out") == 8 ]] || fail "expected 8 JSON lines (LICENSE and README files skipped)"
  pass "exactly the 8 images are classified; LICENSE and README files are skipped by extension"
  all_top1 >"$WORK/batch8"
  run --model "$REAL_MODEL" --labels "$LABELS" --json --top 1 --batch 3 "$SHARED/images"
  [[ $rc == 0 ]] || fail "--batch 3 run exited $rc"
  all_top1 >"$WORK/batch3"
  cmp -s "$WORK/batch8" "$WORK/batch3" || fail "--batch 3 and --batch 8 disagree: $(diff "$WORK/batch8" "$WORK/batch3")"
  pass "--batch 3 gives the same top-1 indices as --batch 8"
  cp "$WORK/out" "$WORK/batch3_full"
  run --model "$REAL_MODEL" --labels "$LABELS" --json --top 1 --batch 3 --no-decode-ahead "$SHARED/images"
  [[ $rc == 0 ]] || fail "--no-decode-ahead run exited $rc"
  cmp -s "$WORK/batch3_full" "$WORK/out" || fail "--no-decode-ahead changes the output: $(diff "$WORK/batch3_full" "$WORK/out")"
  pass "--no-decode-ahead gives the same output, byte for byte (decoding ahead changes no result)"
  expect_rc 0 --model "$REAL_MODEL" --arch deit_tiny_patch16_224 --top 1 --json "$SHARED/images/tench.jpg"
  [[ $(top1_index tench.jpg) == 0 && $(top1_label tench.jpg) == 0 ]] || fail "--arch without labels: tench.jpg"
  pass "--arch deit_tiny_patch16_224 loads the model; without labels the label is the index"
  if (( cuda_device )); then
    for dtype in fp32 fp16 bf16; do
      expect_rc 0 --model "$REAL_MODEL" --labels "$LABELS" --json --top 1 --device cuda --dtype $dtype "$SHARED/images"
      all_top1 >"$WORK/cuda_$dtype"
      cmp -s "$WORK/batch8" "$WORK/cuda_$dtype" || fail "--device cuda --dtype $dtype disagrees with the CPU: $(diff "$WORK/batch8" "$WORK/cuda_$dtype")"
      pass "--device cuda --dtype $dtype: the same top-1 as the CPU on the 8 images"
    done
  else
    echo "SKIPPED: classify --device cuda on ../shared/images (no CUDA backend or no GPU)"
  fi
  expect_rc 1 --model "$REAL_MODEL" --arch deit_small_patch16_224 "$SHARED/images/tench.jpg"
  expect_grep "$WORK/err" '^classify: error: .*shape' "a preset that does not fit the weights is a load error"
else
  echo "SKIPPED: ../shared not present ($REAL_MODEL)"
fi

# ---------------------------------------------------------------------------------------------------
echo "== a Hugging Face layout model (labels from config.json)"

if (( HAVE_SHARED )); then image=$SHARED/images/cheetah.jpg; else image=$BAD/one.png; fi
expect_rc 0 --model "$HF_MODEL" --json --top 3 "$image"
[[ $(json_line "$(basename "$image")" | grep -o '"label":"class_[0-9]"' | wc -l) == 3 ]] ||
  fail "labels are not class_N"
pass "labels come from config.json's id2label: $(json_line "$(basename "$image")" | grep -o '"label":"[^"]*"' | tr '\n' ' ')"
expected_label=$(top1_label "$(basename "$image")")
expect_rc 0 --model "$HF_MODEL" --config "$DATA/vit_hf/config.json" --json --top 1 "$image"
[[ $(top1_label "$(basename "$image")") == "$expected_label" ]] || fail "--config gives another answer"
pass "--config FILE gives the same top-1 ($expected_label)"
expect_rc 0 --model "$DATA/vit_hf" --json --top 1 "$image"
[[ $(top1_label "$(basename "$image")") == "$expected_label" ]] || fail "--model FOLDER gives another answer"
pass "--model on the HF folder (as HF users name models) gives the same top-1 ($expected_label)"

echo "all classify tests passed"
