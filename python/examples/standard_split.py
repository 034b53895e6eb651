#!/usr/bin/env python3
"""The standard MovieLens split from a notebook's point of view: load it with pandas, train recodb's
`ease`, `als` and `dsiml` inside the database, evaluate them, recommend for every user in one call, and
compare with the `implicit` library's ALS on the same data, with the same metrics.

    pip install ./python pandas implicit      # implicit is optional: its row is skipped without it
    python python/examples/standard_split.py [--split ../shared/data/splits/ml-1m-r4] [--db DIR]

Metrics are those of recodb's EVALUATE (docs/evaluation.md): full ranking over all items, each user's
training items excluded, NDCG@10 with binary relevance, Recall@20 = hits / |test items|. The example
computes them twice for recodb's models, with EVALUATE and from `db.recommend`'s arrays, and the second
way also for implicit, so the figures are comparable row by row.

When the release build of the Rust example `recommend_many` exists (`cargo build --release --example
recommend_many`), the script also times the same batch through the Rust API on the same database and
prints the ratio.
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit asks for it; set before NumPy loads

import numpy as np
import pandas as pd

import recodb

REPO = pathlib.Path(__file__).resolve().parents[2]
MODELS = {"ease": {"lambda": 500}, "als": {}, "dsiml": {"bits": 64}}


def read_split(split):
    names = ["user", "item"]
    train = pd.read_csv(split / "train.tsv", sep="\t", names=names, usecols=[0, 1])
    test = pd.read_csv(split / "test.tsv", sep="\t", names=names, usecols=[0, 1])
    return train, test


def metrics(users, tops, test):
    """Mean NDCG@10 and Recall@20 over the test users. `tops[r]` is the ranked list of `users[r]`
    (at least 20 item keys, -1 where the list ends); a test user missing from `users` scores 0."""
    relevant = test.groupby("user")["item"].apply(set).to_dict()
    discounts = 1.0 / np.log2(np.arange(2, 12))
    row_of = {u: r for r, u in enumerate(users.tolist())}
    ndcg = recall = 0.0
    for user, items in relevant.items():
        r = row_of.get(user)
        if r is None:
            continue
        hits = np.fromiter((i in items for i in tops[r, :20].tolist()), dtype=bool, count=20)
        ndcg += (hits[:10] * discounts).sum() / discounts[: min(10, len(items))].sum()
        recall += hits.sum() / len(items)
    return ndcg / len(relevant), recall / len(relevant)


def median_seconds(run, times=5):
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def implicit_row(train, test, users):
    """implicit's ALS with recodb's `als` defaults (128 factors, 15 iterations, regularization 100;
    implicit's confidence is alpha · weight, so alpha 10 against recodb's 1 + 9 · weight)."""
    try:
        import scipy.sparse as sp
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError:
        print("implicit is not installed: its row is skipped (pip install implicit)")
        return None
    user_codes, user_keys = pd.factorize(train["user"])
    item_codes, item_keys = pd.factorize(train["item"])
    matrix = sp.csr_matrix(
        (np.ones(len(train), dtype=np.float32), (user_codes, item_codes)),
        shape=(len(user_keys), len(item_keys)),
    )
    model = AlternatingLeastSquares(factors=128, regularization=100.0, alpha=10.0, iterations=15, random_state=42)
    started = time.perf_counter()
    model.fit(matrix, show_progress=False)
    fit_s = time.perf_counter() - started
    rows = pd.Index(user_keys).get_indexer(users)
    started = time.perf_counter()
    ids, _ = model.recommend(rows, matrix[rows], N=20, filter_already_liked_items=True)
    recommend_s = time.perf_counter() - started
    tops = np.where(ids >= 0, np.asarray(item_keys)[np.maximum(ids, 0)], -1)
    ndcg, recall = metrics(users, tops, test)
    return ("implicit als", ndcg, recall, None, fit_s, recommend_s)


def rust_batch_seconds(path, model, k):
    """The median time of the same batch through the Rust API, or None without the release binary."""
    binary = REPO / "target" / "release" / "examples" / "recommend_many"
    if not binary.exists():
        print(f"{binary} is absent (cargo build --release --example recommend_many): no Rust comparison")
        return None
    out = subprocess.run([binary, path, model, str(k)], check=True, capture_output=True, text=True).stdout
    fields = dict(field.split("=") for field in out.split())
    return float(fields["median_s"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", type=pathlib.Path, default=REPO.parent / "shared/data/splits/ml-1m-r4")
    parser.add_argument("--db", help="database directory (default: a temporary one)")
    args = parser.parse_args()
    if not (args.split / "train.tsv").exists():
        raise SystemExit(f"{args.split} has no train.tsv: pass --split DIR")
    train, test = read_split(args.split)
    path = args.db or tempfile.mkdtemp(prefix="recodb-example-")

    rows = []
    with recodb.connect(path) as db:
        started = time.perf_counter()
        db.insert_interactions(train["user"].to_numpy(), train["item"].to_numpy())
        took = time.perf_counter() - started
        print(f"insert_interactions: {len(train):,} pairs in {took:.3f} s ({len(train) / took / 1e6:.2f} M rows/s)")
        users = train["user"].unique()
        for algorithm, params in MODELS.items():
            trained = db.train(algorithm, **params).to_dicts()[0]
            started = time.perf_counter()
            evaluated = db.query(f"EVALUATE {algorithm} AGAINST ? AT 10, 20", [str(args.split / "test.tsv")])
            evaluate_s = time.perf_counter() - started
            figures = {(m, k): v for m, k, v in evaluated.fetchall()}
            items, _ = db.recommend(algorithm, users, k=20)
            batch_s = median_seconds(lambda: db.recommend(algorithm, users, k=10))
            ndcg, recall = metrics(users, items, test)
            assert abs(ndcg - figures[("ndcg", 10)]) < 1e-3, "batch recommend and EVALUATE disagree"
            rows.append((algorithm, ndcg, recall, evaluate_s, trained["seconds"], batch_s))
    rows.append(implicit_row(train, test, users))

    print()
    print("| model | NDCG@10 | Recall@20 | train s | EVALUATE s | batch recommend s (all users, top 10) |")
    print("|---|---|---|---|---|---|")
    for row in filter(None, rows):
        name, ndcg, recall, evaluate_s, train_s, batch_s = row
        evaluate = "-" if evaluate_s is None else f"{evaluate_s:.2f}"
        print(f"| {name} | {ndcg:.4f} | {recall:.4f} | {train_s:.2f} | {evaluate} | {batch_s:.3f} |")

    rust_s = rust_batch_seconds(path, "dsiml", 10)
    if rust_s is not None:
        python_s = next(row[5] for row in rows if row and row[0] == "dsiml")
        print(
            f"\ndsiml batch for {len(users):,} users, top 10: Python {python_s * 1e3:.1f} ms, "
            f"Rust recommend_many {rust_s * 1e3:.1f} ms, ratio {python_s / rust_s:.2f}"
        )


if __name__ == "__main__":
    main()
