#!/usr/bin/env python3
"""Writes the record of where and when a benchmark run happened: CPU model, cores, threads used, UTC date,
vector ISA, commit (git describe, "-dirty" when the tree has changes) and the load average before the run.

    python3 tools/bench_meta.py OUT.json THREADS
"""
import datetime
import json
import os
import subprocess
import sys


def main():
    path, threads = sys.argv[1], int(sys.argv[2])
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lscpu if line.startswith("Model name")), "unknown")
    # The vector ISA the CPU offers (vit's kernels and oneDNN choose their code by it).
    flags = next((line.split(":", 1)[1].split() for line in open("/proc/cpuinfo") if line.startswith("flags")), [])
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile") if f in flags]
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    json.dump({"cpu": cpu, "isa": isa, "cores": os.cpu_count(), "threads": threads,
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "commit": commit, "load_before": os.getloadavg()}, open(path, "w"), indent=1)


if __name__ == "__main__":
    main()
