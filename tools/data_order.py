#!/usr/bin/env python3
"""The data order of vit's DataLoader, reproduced in Python (include/vit/train/random.hpp).

Import it to feed PyTorch exactly the batches vit trains on:

    from data_order import epoch_batches
    for indices in epoch_batches(count=60000, batch_size=128, seed=0, epoch=3, shuffle=True, drop_last=False):
        images, labels = dataset[indices] ...   # the same samples, in the same order, as vit's batch

or run it to write the test fixture tests/data/train/data_order.json that CTest compares the C++ with:

    python3 tools/data_order.py [--out tests/data/train/data_order.json]

Pure Python, no packages: the generator is SplitMix64, all arithmetic modulo 2^64.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z: int) -> int:
    z &= MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def derive(key: int, value: int) -> int:
    return mix64(key ^ mix64(value + GOLDEN))


class SplitMix64:
    def __init__(self, state: int):
        self.state = state & MASK

    def next(self) -> int:
        self.state = (self.state + GOLDEN) & MASK
        return mix64(self.state)

    def uniform(self) -> float:
        return (self.next() >> 11) * 2.0**-53

    def below(self, count: int) -> int:
        limit = (1 << 64) - ((1 << 64) % count)  # reject the top 2^64 mod count values: no bias
        while True:
            x = self.next()
            if x < limit:
                return x % count


def shuffle_stream(seed: int, epoch: int) -> SplitMix64:
    return SplitMix64(derive(derive(seed, 1), epoch))


def augmentation_stream(seed: int, epoch: int, index: int) -> SplitMix64:
    return SplitMix64(derive(derive(derive(seed, 2), epoch), index))


def epoch_permutation(count: int, seed: int, epoch: int) -> list[int]:
    order = list(range(count))
    random = shuffle_stream(seed, epoch)
    for i in range(count - 1, 0, -1):
        j = random.below(i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def epoch_batches(count: int, batch_size: int, seed: int, epoch: int, shuffle: bool = True, drop_last: bool = False):
    """The dataset indices of each batch of one epoch, as vit::DataLoader makes them (before any
    unreadable sample is left out)."""
    order = epoch_permutation(count, seed, epoch) if shuffle else list(range(count))
    end = count - count % batch_size if drop_last else count
    return [order[begin : min(begin + batch_size, end)] for begin in range(0, end, batch_size)]


def fnv1a64_of_indices(indices: list[int]) -> int:
    """FNV-1a (64-bit) of the indices as little-endian int64s, so large permutations need not be stored."""
    digest = 0xCBF29CE484222325
    for index in indices:
        for byte in index.to_bytes(8, "little"):
            digest = ((digest ^ byte) * 0x100000001B3) & MASK
    return digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "tests/data/train/data_order.json"))
    args = parser.parse_args()

    streams = []
    for seed, epoch, index in [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (12345, 7, 59999), (MASK, 3, 2)]:
        random = augmentation_stream(seed, epoch, index)
        draws = [str(random.next()) for _ in range(4)]  # as strings: JSON readers may lose 64-bit integers
        random = augmentation_stream(seed, epoch, index)
        streams.append({"seed": str(seed), "epoch": epoch, "index": index, "next": draws,
                        "uniform": [random.uniform() for _ in range(3)],
                        "below": [random.below(n) for n in (1, 2, 3, 10, 1000, 2**63 + 1)]})
    permutations = []
    for count, seed, epoch in [(1, 0, 0), (2, 0, 0), (10, 0, 0), (10, 0, 1), (10, 1, 0), (100, 42, 5)]:
        permutations.append({"count": count, "seed": str(seed), "epoch": epoch,
                             "order": epoch_permutation(count, seed, epoch)})
    digests = []
    for count, seed, epoch in [(60000, 0, 0), (60000, 0, 1), (5000, 7, 2)]:
        order = epoch_permutation(count, seed, epoch)
        digests.append({"count": count, "seed": str(seed), "epoch": epoch, "first": order[:16],
                        "fnv1a64": str(fnv1a64_of_indices(order))})
    batches = [{"count": 10, "batch_size": 4, "seed": "3", "epoch": 1, "shuffle": True, "drop_last": drop_last,
                "batches": epoch_batches(10, 4, 3, 1, True, drop_last)} for drop_last in (False, True)]

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {"generator": "tools/data_order.py", "streams": streams, "permutations": permutations,
                "digests": digests, "batches": batches}
    out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
