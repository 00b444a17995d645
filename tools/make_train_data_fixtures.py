#!/usr/bin/env python3
"""Fixtures for the data pipeline's transforms (tests/test_train_data.cpp), from PIL and torchvision.

Usage:  python3 tools/make_train_data_fixtures.py [--fashion-mnist /usr/share/datasets/fashion-mnist]

Writes tests/data/train/:
  fashion_mnist_train_0.png              training image 0 of Fashion-MNIST (28x28, mode L), the input
  fashion_mnist_train_0.bicubic_224.png  PIL's Image.resize((224, 224), BICUBIC) of it: the transfer-
                                         learning upsampling onto DeiT-tiny (checked here to equal the
                                         resize of convert("RGB"), and torchvision's Resize(224, BICUBIC))
  fashion_mnist_train_0.random_crop_*.png torchvision's RandomCrop(28, padding=2) windows (F.pad fill 0 +
                                         F.crop) at the (top, left) given in the manifest
  baseline_120x90.resized_crop_*.png     torchvision's F.resized_crop(img, top, left, h, w, [48, 48], mode) of
                                         tests/data/images/baseline_120x90.jpg: what RandomResizedCrop does
                                         once it has drawn its box
  transforms.json                        the boxes and modes above, and float references:
                                         - "small": ToTensor + Normalize((0.2860,), (0.3530,)) of the 28x28
                                           image, [1, 28, 28];
                                         - "transfer_window": ToTensor + Normalize(ImageNet) of the 224x224
                                           RGB image, rows/columns [100, 108), [3, 8, 8];
                                         - "grey_photo": a 1-channel model's eval input for the colour photo
                                           tests/data/images/baseline_120x90.jpg as timm makes it: opened in
                                           mode "L" (timm's input_img_mode for in_chans 1), Resize(32,
                                           BICUBIC), CenterCrop(28), ToTensor, Normalize((0.2860,),
                                           (0.3530,)), [1, 28, 28].

Needs numpy, Pillow, torch and torchvision (tools/requirements.txt), and the Fashion-MNIST files.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "data" / "train"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def first_training_image(folder: Path) -> np.ndarray:
    data = gzip.open(folder / "train-images-idx3-ubyte.gz").read()
    assert data[:4] == b"\x00\x00\x08\x03", "not an IDX file of unsigned bytes, rank 3"
    return np.frombuffer(data, np.uint8, 28 * 28, 16).reshape(28, 28).copy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fashion-mnist", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"generator": "tools/make_train_data_fixtures.py",
                      "versions": {"Pillow": PIL.__version__, "torch": torch.__version__,
                                   "torchvision": torchvision.__version__, "numpy": np.__version__}}

    # Transfer learning: 28x28 grey -> 224x224 bicubic, grey -> RGB.
    grey = first_training_image(Path(args.fashion_mnist))
    small = Image.fromarray(grey, mode="L")
    small.save(OUT / "fashion_mnist_train_0.png")
    upsampled = small.resize((224, 224), Image.Resampling.BICUBIC)
    rgb_upsampled = small.convert("RGB").resize((224, 224), Image.Resampling.BICUBIC)
    assert np.array_equal(np.asarray(rgb_upsampled), np.repeat(np.asarray(upsampled)[:, :, None], 3, axis=2)), \
        "resizing grey then replicating differs from resizing RGB"
    torchvision_upsampled = T.Compose([T.Resize(224, interpolation=T.InterpolationMode.BICUBIC),
                                       T.Grayscale(num_output_channels=3)])(small)
    assert np.array_equal(np.asarray(torchvision_upsampled), np.asarray(rgb_upsampled))
    upsampled.save(OUT / "fashion_mnist_train_0.bicubic_224.png")

    normalised = T.Compose([T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])(rgb_upsampled)
    manifest["transfer_window"] = {"top": 100, "left": 100, "size": 8, "mean": IMAGENET_MEAN, "std": IMAGENET_STD,
                                   "values": normalised[:, 100:108, 100:108].numpy().astype(float).tolist()}
    small_normalised = T.Compose([T.ToTensor(), T.Normalize((0.2860,), (0.3530,))])(small)
    manifest["small"] = {"mean": 0.2860, "std": 0.3530, "values": small_normalised.numpy().astype(float).tolist()}

    # RandomCrop(28, padding=2): pad with zeros, then the window at (top, left) of the padded image.
    manifest["random_crops"] = []
    for k, (top, left) in enumerate([(0, 0), (4, 1), (2, 2), (3, 4)]):
        window = F.crop(F.pad(small, 2, fill=0), top, left, 28, 28)
        name = f"fashion_mnist_train_0.random_crop_{k}.png"
        window.save(OUT / name)
        manifest["random_crops"].append({"file": name, "padding": 2, "top": top, "left": left})

    # RandomResizedCrop once the box is drawn: crop, then resize with the checkpoint's interpolation.
    photo = Image.open(REPO / "tests" / "data" / "images" / "baseline_120x90.jpg").convert("RGB")
    manifest["resized_crops"] = []
    boxes = [((0, 0, 90, 120), "bicubic"), ((10, 20, 40, 60), "bicubic"), ((45, 100, 45, 20), "bicubic"),
             ((7, 3, 83, 61), "bilinear"), ((30, 50, 1, 1), "bicubic")]
    for k, ((top, left, height, width), mode) in enumerate(boxes):
        interpolation = {"bicubic": T.InterpolationMode.BICUBIC, "bilinear": T.InterpolationMode.BILINEAR}[mode]
        out = F.resized_crop(photo, top, left, height, width, [48, 48], interpolation)
        name = f"baseline_120x90.resized_crop_{k}.png"
        out.save(OUT / name)
        manifest["resized_crops"].append({"file": name, "top": top, "left": left, "height": height, "width": width,
                                          "interpolation": mode, "size": 48})

    # A 1-channel model on a colour photo: timm opens it in mode "L", then its eval transform (crop_pct 0.875).
    grey_photo = Image.open(REPO / "tests" / "data" / "images" / "baseline_120x90.jpg").convert("L")
    grey_eval = T.Compose([T.Resize(32, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(28), T.ToTensor(),
                           T.Normalize((0.2860,), (0.3530,))])(grey_photo)
    manifest["grey_photo"] = {"image_size": 28, "crop_pct": 0.875, "mean": 0.2860, "std": 0.3530,
                              "values": grey_eval.numpy().astype(float).tolist()}

    (OUT / "transforms.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
