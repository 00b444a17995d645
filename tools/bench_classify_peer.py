#!/usr/bin/env python3
"""The peer of `classify` over a folder, for bench/run_classify.sh: timm + PIL in PyTorch, as a timm user
would write it: create_model, timm's eval transform (resolve_data_config + create_transform, PIL decoding
and resizing; crop_pct as classify uses it), batches of --batch images, torch.inference_mode, softmax, top-1.

Two loaders: "serial" decodes in the main process, like `classify --threads N`; "dataloader" uses a
torch DataLoader with --threads worker processes decoding ahead (torch itself still gets --threads threads).

Prints one JSON object: wall seconds (model load excluded, as in classify's timing of the folder), images,
and every image's top-1 index (to check that both sides agree) to --out.

usage: bench_classify_peer.py --weights W.safetensors --model deit_tiny_patch16_224 --images DIR
                              --threads 2 --batch 8 --loader serial|dataloader --out OUT.json
"""
import argparse
import json
import pathlib
import time

import timm
import torch
from PIL import Image
from safetensors.torch import load_file

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}


class Files(torch.utils.data.Dataset):
    def __init__(self, paths, transform):
        self.paths, self.transform = paths, transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as image:
            return self.transform(image.convert("RGB"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True)
    parser.add_argument("--model", default="deit_tiny_patch16_224")
    parser.add_argument("--images", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--loader", choices=["serial", "dataloader"], default="serial")
    parser.add_argument("--out", required=True)
    # classify's preprocessing of a bare timm DeiT file: Resize(256) = 224 / 0.875, as the DeiT authors and
    # ../shared/models/README.md say (timm's own pretrained cfg for deit_tiny says 0.9).
    parser.add_argument("--crop-pct", type=float, default=0.875)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model = timm.create_model(args.model, pretrained=False)
    model.load_state_dict(load_file(args.weights))
    model.eval()
    transform = timm.data.create_transform(**timm.data.resolve_data_config({"crop_pct": args.crop_pct}, model=model))
    paths = sorted(str(p) for p in pathlib.Path(args.images).rglob("*") if p.suffix.lower() in EXTENSIONS)

    top1 = []
    start = time.perf_counter()
    with torch.inference_mode():
        if args.loader == "serial":
            for begin in range(0, len(paths), args.batch):
                batch = []
                for path in paths[begin:begin + args.batch]:
                    with Image.open(path) as image:
                        batch.append(transform(image.convert("RGB")))
                top1 += model(torch.stack(batch)).softmax(-1).argmax(-1).tolist()
        else:
            loader = torch.utils.data.DataLoader(Files(paths, transform), batch_size=args.batch,
                                                 num_workers=args.threads)
            for batch in loader:
                top1 += model(batch).softmax(-1).argmax(-1).tolist()
    seconds = time.perf_counter() - start
    result = {"peer": f"timm {timm.__version__} + PIL, {args.loader}", "torch": torch.__version__,
              "threads": args.threads, "batch": args.batch, "images": len(paths), "seconds": seconds,
              "top1": dict(zip(paths, top1))}
    pathlib.Path(args.out).write_text(json.dumps(result))
    print(json.dumps({k: v for k, v in result.items() if k != "top1"}))


if __name__ == "__main__":
    main()
