#!/usr/bin/env python3
"""A folder of JPEG photographs of varied sizes for bench/run_classify.sh, cut from the shared photographs.

This machine has no large photo collection, so each output is a random crop (at least half of each side) of
one of ../shared/images, resized so that its long side is between 320 and 4032 pixels (a 12-megapixel phone
photo is 4032x3024) and saved at JPEG quality 75-95, some progressive. The set is written outside the
repository and is reproducible from the seed.

usage: make_photo_set.py SHARED_IMAGES_DIR OUT_DIR [COUNT=504] [SEED=0]
"""
import pathlib
import random
import sys

from PIL import Image


def main() -> None:
    source, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 504
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    photos = sorted(p for p in source.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not photos:
        sys.exit(f"no photographs in {source}")
    out.mkdir(parents=True, exist_ok=True)
    pixels = 0
    for i in range(count):
        image = Image.open(photos[i % len(photos)]).convert("RGB")
        w, h = image.size
        cw, ch = rng.randint(w // 2, w), rng.randint(h // 2, h)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        crop = image.crop((x, y, x + cw, y + ch))
        long_side = rng.choice([320, 480, 640, 800, 1024, 1600, 2048, 3000, 4032])
        scale = long_side / max(cw, ch)
        size = (max(16, round(cw * scale)), max(16, round(ch * scale)))
        crop = crop.resize(size, Image.BICUBIC)
        pixels += size[0] * size[1]
        crop.save(out / f"photo_{i:04d}.jpg", quality=rng.randint(75, 95), progressive=rng.random() < 0.3)
    print(f"{count} JPEGs in {out}, {pixels / count / 1e6:.2f} megapixels on average")


if __name__ == "__main__":
    main()
