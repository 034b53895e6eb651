#!/usr/bin/env python3
"""What the Python binding costs on top of the engine, for BENCHMARKS.md: bulk insert speed from NumPy
columns and the cost of turning a million-row result into arrays.

    pip install ./python pandas     # a release build of the binding
    python bench/python_binding.py [--split ../shared/data/splits/ml-1m-r4] [--rows 1000000]

1. `insert_interactions` of the standard split's training pairs into a fresh on-disk database (durable:
   the write is flushed before the call returns), median of 5.
2. `SHOW ITEMS` over a database of `--rows` items, then `.to_numpy()`: its time, the bytes Python's
   allocator handed out meanwhile (tracemalloc: a Python object per row would show here) and the growth
   of the process's resident memory while the output is held, beside `.fetchall()` (a tuple per row)
   for scale.
"""

import argparse
import pathlib
import resource
import statistics
import tempfile
import time
import tracemalloc

import numpy as np
import pandas as pd

import recodb

REPO = pathlib.Path(__file__).resolve().parents[1]


def insert_rate(split):
    train = pd.read_csv(split / "train.tsv", sep="\t", names=["user", "item"], usecols=[0, 1])
    users, items = train["user"].to_numpy(), train["item"].to_numpy()
    seconds = []
    for _ in range(5):
        with recodb.connect(tempfile.mkdtemp(prefix="recodb-bench-")) as db:
            started = time.perf_counter()
            db.insert_interactions(users, items)
            seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    print(f"insert_interactions: {len(users):,} pairs, median {median:.3f} s of 5 "
          f"({len(users) / median / 1e6:.2f} M rows/s); runs {', '.join(f'{s:.3f}' for s in seconds)}")


def rss_mib():
    """The process's resident memory now (Linux), in MiB."""
    pages = int(pathlib.Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def result_to_arrays(rows):
    path = tempfile.mkdtemp(prefix="recodb-bench-")
    with recodb.connect(path) as db:
        db.insert_interactions(np.arange(rows) % 97, np.arange(rows))
    with recodb.connect(path) as db:
        result = db.query("SHOW ITEMS LIMIT ?", [rows])
        for method in ("to_numpy", "fetchall"):
            rss_before = rss_mib()
            tracemalloc.start()
            started = time.perf_counter()
            out = getattr(result, method)()
            took = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"{method} of {len(result):,} rows: {took:.3f} s, Python allocations peak {peak / 2**20:.2f} MiB, "
                  f"resident memory +{rss_mib() - rss_before:.0f} MiB while the result is held")
            del out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", type=pathlib.Path, default=REPO.parent / "shared/data/splits/ml-1m-r4")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    if (args.split / "train.tsv").exists():
        insert_rate(args.split)
    else:
        print(f"{args.split} has no train.tsv: insert figure skipped")
    result_to_arrays(args.rows)


if __name__ == "__main__":
    main()
