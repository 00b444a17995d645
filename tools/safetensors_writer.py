"""The fixture scripts' safetensors writer: deterministic bytes, so that regenerating a fixture with the same
inputs and package versions gives the same file (safetensors' own save_file orders `__metadata__` through a
Rust HashMap, which is not stable across processes).

    from safetensors_writer import write_safetensors   # tools/ on sys.path (the scripts there have it)
"""
from pathlib import Path
import json
import struct

import numpy as np
from safetensors import safe_open


def write_safetensors(path: Path, tensors: dict, metadata: dict, keep_float64: bool = False) -> None:
    """Write tensors (torch tensors or NumPy arrays) in the safetensors format with a deterministic header:
    `__metadata__` first, then tensors sorted by name, data laid out in that order, header padded
    with spaces to a multiple of 8 bytes (like the reference implementation). Everything is stored as
    float32 (F32), except float64 arrays when keep_float64 is set (F64). Read back with the official reader."""
    header = {"__metadata__": {k: str(metadata[k]) for k in sorted(metadata)}}
    arrays, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        value = tensors[name]
        a = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)  # torch or NumPy
        code, dtype = ("F64", "<f8") if keep_float64 and a.dtype == np.float64 else ("F32", "<f4")
        arrays[name] = np.ascontiguousarray(a, dtype=dtype)
        b = arrays[name].tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    with safe_open(str(path), "np") as f:
        assert f.metadata() == header["__metadata__"]
        assert sorted(f.keys()) == sorted(tensors)
        for name in tensors:
            got = f.get_tensor(name)
            assert got.dtype == arrays[name].dtype and np.array_equal(got, arrays[name]), name
