#!/usr/bin/env python3
"""Prove that checkpoint folders written by vit load in timm and Hugging Face, and record what they compute.

What it does
------------
1. Runs the C++ program `checkpoint_fixture_writer` (tests/checkpoint_fixture_writer.cpp, built with the
   tests), which saves three small models with `vit::train::save_checkpoint` as folders
   (model.safetensors, config.json, preprocessor_config.json; cases in tests/checkpoint_cases.hpp: a ViT
   with a class token, a distilled DeiT with two heads, a mean-pooled ViT with fc_norm, a one-channel ViT
   as a Fashion-MNIST model is) and writes, per
   folder, vit's logits of the model reloaded from it (`logits`, on the `input` batch of the timm fixture
   the model comes from) and vit's preprocessing of one test image (`pixels`).
2. Loads every folder
   - with the official safetensors reader (metadata {"format": "pt"}, every tensor F32);
   - in timm, twice: `timm.create_model('local-dir:FOLDER', pretrained=True)`, and
     `timm.create_model(architecture, num_classes=N, **model_args)` + `load_state_dict(strict=True)`;
   - in transformers: `AutoModelForImageClassification.from_pretrained(FOLDER)` (a
     TimmWrapperForImageClassification), `AutoImageProcessor.from_pretrained(FOLDER)` (from config.json,
     and from preprocessor_config.json), and `pipeline("image-classification", model=FOLDER)`;
   and checks: both timm models and the HF model give the same float32 logits; vit's logits agree with
   timm's to <= 1e-5 relative (max |difference| / max |logit|); HF's id2label is the saved label list and
   the pipeline's top-1 is timm's; timm's eval transform of the image equals vit's preprocessing (RGB
   cases: transformers' image processor makes 3 channels only; vit's 1-channel preprocessing, PIL's
   convert("L") first, is checked against torchvision by tools/make_train_data_fixtures.py).
3. Writes tests/data/checkpoint/interop.expected.safetensors (what the C++ test compares against) and
   tests/data/checkpoint/README.md (what was measured).

The fixture holds, per case NAME: `NAME.timm_logits` (timm, float32), `NAME.timm_logits_f64` (timm run
in float64, rounded), `NAME.hf_logits`, `NAME.timm_pixels` [1, 3, 32, 32] (RGB cases); metadata `NAME.crc32.FILE`
(zlib CRC-32 of each file vit wrote: the C++ test checks that vit still writes exactly the bytes that were
loaded here), `NAME.pipeline` (the pipeline's top-3, JSON; RGB cases), `NAME.timm_config` (the config.json timm's own
save_for_hf writes for the same model, labels and preprocessing: the C++ test reads it too), and versions.

Usage
-----
    cmake --build build --target checkpoint_fixture_writer
    python3 tools/make_checkpoint_fixtures.py --writer build/tests/checkpoint_fixture_writer

Needs torch, timm, transformers, safetensors, numpy, Pillow (versions in tools/requirements.txt).
"""
import argparse
import copy
import json
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import safetensors
import safetensors.torch
import timm
import torch
import transformers
from PIL import Image
from safetensors import safe_open
from transformers import AutoImageProcessor, AutoModelForImageClassification, pipeline

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from safetensors_writer import write_safetensors  # noqa: E402

# Folder name -> the timm fixture whose `input` batch the writer used (tests/checkpoint_cases.hpp); the
# one-channel case takes its first channel.
CASES = {
    "vit": "vit_timm.expected.safetensors",
    "deit_distilled": "deit_distilled_timm.expected.safetensors",
    "vit_meanpool": "vit_timm_meanpool.expected.safetensors",
    "vit_grey": "vit_timm.expected.safetensors",
}
GREY = {"vit_grey"}
IMAGE = "pil/baseline_120x90.decoded.png"  # kCheckpointImage
FILES = ("model.safetensors", "config.json", "preprocessor_config.json")
RELATIVE_TOLERANCE = 1e-5


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def timm_save_for_hf_config(model, cfg: dict) -> str:
    """The config.json timm's own save_for_hf writes for this model, labels and preprocessing."""
    with tempfile.TemporaryDirectory() as tmp:
        pretrained = cfg["pretrained_cfg"]
        data_config = {k: pretrained[k] for k in ("input_size", "interpolation", "mean", "std", "crop_pct", "crop_mode")}
        timm.models.save_for_hf(model, tmp, model_config={"label_names": cfg["label_names"]}, data_config=data_config)
        return (Path(tmp) / "config.json").read_text(encoding="utf-8")


def check_case(name: str, folder: Path, data_dir: Path, image: Image.Image) -> dict:
    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    labels = cfg["label_names"]
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        assert f.metadata() == {"format": "pt"}, f.metadata()
        assert all(f.get_slice(k).get_dtype() == "F32" for k in f.keys())
    with safe_open(str(data_dir / CASES[name]), "pt") as f:
        x = f.get_tensor("input")
    if name in GREY:
        x = x[:, :1].contiguous()
    with safe_open(str(folder.parent / f"{name}.vit.safetensors"), "pt") as f:
        vit_logits = f.get_tensor("logits")
        vit_pixels = None if name in GREY else f.get_tensor("pixels")

    # timm, both ways users load a folder.
    local = timm.create_model(f"local-dir:{folder}", pretrained=True).eval()
    explicit = timm.create_model(cfg["architecture"], num_classes=cfg["num_classes"], **cfg["model_args"]).eval()
    explicit.load_state_dict(safetensors.torch.load_file(str(folder / "model.safetensors")), strict=True)
    with torch.no_grad():
        timm_logits = local(x)
        assert torch.equal(timm_logits, explicit(x)), "local-dir and create_model+load_state_dict differ"
        timm_f64 = copy.deepcopy(explicit).double()(x.double())
    rel_vit_timm = relative_difference(vit_logits, timm_logits)
    rel_vit_f64 = relative_difference(vit_logits, timm_f64)
    assert rel_vit_timm <= RELATIVE_TOLERANCE, f"{name}: vit vs timm logits differ by {rel_vit_timm:.2e} relative"

    # transformers: the model, both processor files, the pipeline.
    hf = AutoModelForImageClassification.from_pretrained(str(folder)).eval()
    assert type(hf).__name__ == "TimmWrapperForImageClassification", type(hf).__name__
    assert hf.config.id2label == dict(enumerate(labels)), hf.config.id2label
    with torch.no_grad():
        hf_logits = hf(pixel_values=x).logits
    assert torch.equal(hf_logits, timm_logits), "transformers and timm logits differ"
    tensors = {f"{name}.timm_logits": timm_logits, f"{name}.timm_logits_f64": timm_f64.float(),
               f"{name}.hf_logits": hf_logits}
    metadata = {f"{name}.crc32.{file}": f"{zlib.crc32((folder / file).read_bytes()):08x}" for file in FILES}
    metadata[f"{name}.timm_config"] = timm_save_for_hf_config(explicit, cfg)
    if name in GREY:
        # Images: vit's preprocessing is RGB only, and transformers' processor broadcasts the one-value mean
        # over an RGB image, which the one-channel model then refuses; only tensors are compared here.
        print(f"{name}: {cfg['architecture']} in_chans 1, vit vs timm float32 {rel_vit_timm:.2e} relative "
              f"(max abs {float((vit_logits - timm_logits).abs().max()):.2e}), vs timm float64 {rel_vit_f64:.2e}; "
              f"HF = timm exactly")
        return {"tensors": tensors, "metadata": metadata,
                "report": (name, cfg["architecture"] + " (1 channel)", rel_vit_timm,
                           float((vit_logits - timm_logits).abs().max()), rel_vit_f64, "n/a (RGB images)")}
    processor = AutoImageProcessor.from_pretrained(str(folder))
    from_file = AutoImageProcessor.from_pretrained(str(folder), image_processor_filename="preprocessor_config.json")
    assert type(processor).__name__ == type(from_file).__name__ == "TimmWrapperImageProcessor"
    assert processor.data_config == from_file.data_config, (processor.data_config, from_file.data_config)
    hf_pixels = processor(image)["pixel_values"]
    timm_transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=local))
    timm_pixels = timm_transform(image).unsqueeze(0)
    assert torch.equal(hf_pixels, timm_pixels)
    pixel_difference = float((vit_pixels - timm_pixels).abs().max())
    assert pixel_difference <= 1e-6, f"{name}: vit's preprocessing differs from timm's by {pixel_difference}"
    with torch.no_grad():
        image_logits = local(timm_pixels)[0]
    top = pipeline("image-classification", model=str(folder))(image, top_k=3)
    assert top[0]["label"] == labels[int(image_logits.argmax())], (top, image_logits)

    print(f"{name}: {cfg['architecture']}, vit vs timm float32 {rel_vit_timm:.2e} relative "
          f"(max abs {float((vit_logits - timm_logits).abs().max()):.2e}), vs timm float64 {rel_vit_f64:.2e}; "
          f"HF = timm exactly; pixels {pixel_difference:.1e}; pipeline top-1 {top[0]['label']!r}")
    tensors[f"{name}.timm_pixels"] = timm_pixels
    metadata[f"{name}.pipeline"] = json.dumps(top, ensure_ascii=False)
    return {
        "tensors": tensors,
        "metadata": metadata,
        "pixels": pixel_difference,
        "report": (name, cfg["architecture"], rel_vit_timm, float((vit_logits - timm_logits).abs().max()), rel_vit_f64,
                   top[0]["label"]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--writer", required=True, help="the built checkpoint_fixture_writer program")
    ap.add_argument("--out-dir", default="tests/data/checkpoint", help="relative paths: to the repo root")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data_dir = ROOT / "tests" / "data"
    out_dir = ROOT / args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    image = Image.open(data_dir / IMAGE).convert("RGB")

    tensors, metadata, reports, pixel_differences = {}, {}, [], []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(Path(args.writer).resolve()), str(data_dir), tmp], check=True, stdout=subprocess.DEVNULL)
        for name in CASES:
            result = check_case(name, Path(tmp) / name, data_dir, image)
            tensors.update(result["tensors"])
            metadata.update(result["metadata"])
            reports.append(result["report"])
            if "pixels" in result:
                pixel_differences.append(result["pixels"])
    versions = {"torch": torch.__version__, "timm": timm.__version__, "transformers": transformers.__version__,
                "safetensors": safetensors.__version__, "numpy": np.__version__}
    metadata.update(versions)
    metadata["generator"] = "tools/make_checkpoint_fixtures.py"
    write_safetensors(out_dir / "interop.expected.safetensors", tensors, metadata)

    rows = "\n".join(f"| `{n}` | `{a}` | {r:.2e} | {m:.2e} | {f:.2e} | 0 | {t} |" for n, a, r, m, f, t in reports)
    (out_dir / "README.md").write_text(f"""# Checkpoint interop fixture (generated)

Generated by `tools/make_checkpoint_fixtures.py` (do not edit by hand) with
{", ".join(f"{k} {v}" for k, v in versions.items())}.

The script runs `checkpoint_fixture_writer`, which saves the three models of `tests/checkpoint_cases.hpp`
(the `vit_timm`, `deit_distilled_timm` and `vit_timm_meanpool` fixtures of `tests/data`, and `vit_timm` made
one-channel as timm's `adapt_input_conv` does, each with its own labels and preprocessing) as checkpoint folders with `vit::train::save_checkpoint`, then loads each folder in timm
(`create_model('local-dir:FOLDER')`, and `create_model(architecture, num_classes=N, **model_args)` +
`load_state_dict(strict=True)`) and transformers (`AutoModelForImageClassification`, `AutoImageProcessor`,
`pipeline("image-classification")`). `interop.expected.safetensors` keeps what they computed; the C++ test
(`test_checkpoint.cpp`, "checkpoint interop") saves the same folders again, checks that the bytes are the ones
loaded here (CRC-32 per file) and compares vit's logits and preprocessing with these.

Measured when generated (logits on each fixture's `input` batch; relative = max |difference| / max |logit|):

| case | timm architecture | vit vs timm float32, relative | max abs | vit vs timm float64, relative | transformers vs timm | pipeline top-1 on the test image |
|---|---|---|---|---|---|---|
{rows}

vit's preprocessing of `{IMAGE}` through each RGB folder's pretrained_cfg equals timm's eval transform (and
transformers' TimmWrapperImageProcessor) to 1e-6 (measured: {max(pixel_differences):.1e}).
""", encoding="utf-8")
    print(f"wrote {out_dir / 'interop.expected.safetensors'} and README.md")


if __name__ == "__main__":
    main()
